/* Unit tests for lt_procedure: the normalized form decides what a catalog
 * sync calls "changed", so the tests pin down both sides: spellings that must
 * hash alike (numbers for strings, null for empty), and records that must be
 * refused with the path, the expectation and what came. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <sodium.h>

#include "lt_procedure.h"

static json_t *parse(const char *text)
{
    json_error_t jerr;
    json_t *j = json_loads(text, 0, &jerr);
    if (!j)
        fail_msg("test JSON does not parse: %s at %d", jerr.text, jerr.position);
    return j;
}

static lt_procedure *norm_ok(const char *text)
{
    json_t *j = parse(text);
    lt_procedure_error err;
    lt_procedure *p = lt_procedure_normalize(j, &err);
    json_decref(j);
    if (!p)
        fail_msg("refused: %s: expected %s, got %s", err.path, err.expected, err.got);
    /* In place (what a file sync uses) must give the same record and hash. */
    j = parse(text);
    lt_procedure *q = lt_procedure_normalize_inplace(j, &err);
    json_decref(j);
    assert_non_null(q);
    assert_string_equal(lt_procedure_canonical(q), lt_procedure_canonical(p));
    assert_memory_equal(lt_procedure_hash(q), lt_procedure_hash(p), LT_PROCEDURE_HASH_BYTES);
    lt_procedure_destroy(&q);
    return p;
}

static void norm_bad(const char *text, const char *path, const char *field, const char *got)
{
    json_t *j = parse(text);
    lt_procedure_error err;
    for (int inplace = 0; inplace < 2; inplace++) {
        lt_procedure *p =
            inplace ? lt_procedure_normalize_inplace(j, &err) : lt_procedure_normalize(j, &err);
        assert_null(p);
        assert_string_equal(err.path, path);
        assert_string_equal(err.field, field);
        assert_true(err.expected[0] != '\0');
        if (got)
            assert_string_equal(err.got, got);
    }
    json_decref(j);
}

static void test_minimal(void **state)
{
    (void)state;
    lt_procedure *p = norm_ok("{\"MATTHC\": \"2.000908\", \"TENTTHC\": \"Đăng ký khai sinh\"}");
    assert_string_equal(lt_procedure_code(p), "2.000908");
    assert_string_equal(lt_procedure_base_code(p), "2.000908");
    assert_string_equal(lt_procedure_name(p), "Đăng ký khai sinh");
    assert_string_equal(lt_procedure_status(p), "");
    assert_false(lt_procedure_published(p));
    assert_null(lt_procedure_field_code(p));
    const int *levels;
    assert_int_equal(lt_procedure_levels(p, &levels), 0);
    assert_string_equal(lt_procedure_canonical(p),
                        "{\"MATTHC\":\"2.000908\",\"TENTTHC\":\"Đăng ký khai sinh\"}");
    lt_procedure_destroy(&p);
    assert_null(p);
    lt_procedure_destroy(&p); /* NULL is fine */
}

static void test_columns(void **state)
{
    (void)state;
    lt_procedure *p = norm_ok(
        "{\"MATTHC\": \"1.003560.000.00.00.H56\", \"TENTTHC\": \"Cấp giấy phép\", "
        "\"TRANGTHAI\": \"1\", \"CAPTHUCHIEN\": [{\"CAPTHUCHIEN\": \"3\"}, {\"CAPTHUCHIEN\": 1}, "
        "{\"CAPTHUCHIEN\": \"3\", \"TENCAP\": \"Cấp Xã\"}], \"LINHVUCTHUCHIEN\": [{\"MALINHVUC\": "
        "\"\"}, {\"MALINHVUC\": \"G09-TP02\", \"TENLINHVUC\": \"Hộ tịch\"}]}");
    assert_string_equal(lt_procedure_base_code(p), "1.003560");
    assert_true(lt_procedure_published(p));
    assert_string_equal(lt_procedure_field_code(p), "G09-TP02");
    const int *levels;
    assert_int_equal(lt_procedure_levels(p, &levels), 2);
    assert_int_equal(levels[0], 1);
    assert_int_equal(levels[1], 3);
    lt_procedure_destroy(&p);
}

static void test_base_of(void **state)
{
    (void)state;
    char buf[64];
    assert_int_equal(lt_procedure_base_of("2.002621.H56", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "2.002621");
    assert_int_equal(lt_procedure_base_of("2.000908", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "2.000908");
    assert_int_equal(lt_procedure_base_of("1.0035601", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "1.0035601"); /* not d.dddddd: kept whole */
    assert_int_equal(lt_procedure_base_of("BTP-123", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "BTP-123");
    assert_int_equal(lt_procedure_base_of("1.00", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "1.00");
    assert_int_equal(lt_procedure_base_of("2.000908", buf, 8), -1);
}

/* Numbers where strings travel, null where a string is optional, null where a
 * list is: the same procedure, the same hash. */
static void test_spellings_hash_alike(void **state)
{
    (void)state;
    lt_procedure *a = norm_ok(
        "{\"MATTHC\": \"2.000908\", \"TENTTHC\": \"T\", \"TRANGTHAI\": 1, \"LOAITTHC\": null, "
        "\"THANHPHANHOSO\": null, \"CACHTHUCTHUCHIEN\": [{\"KENH\": 2, \"THOIGIAN\": "
        "[{\"THOIGIANGIAIQUYET\": 0.5, \"DONVITINH\": \"Ngày\"}], \"PHILEPHI\": [{\"SOTIEN\": "
        "50000}]}], \"ID\": 17}");
    lt_procedure *b = norm_ok(
        "{\"ID\": 17, \"CACHTHUCTHUCHIEN\": [{\"PHILEPHI\": [{\"SOTIEN\": \"50000\"}], \"KENH\": "
        "\"2\", \"THOIGIAN\": [{\"DONVITINH\": \"Ngày\", \"THOIGIANGIAIQUYET\": \"0.5\"}]}], "
        "\"THANHPHANHOSO\": [], \"LOAITTHC\": \"\", \"TRANGTHAI\": \"1\", \"TENTTHC\": \"T\", "
        "\"MATTHC\": \"2.000908\"}");
    assert_string_equal(lt_procedure_canonical(a), lt_procedure_canonical(b));
    assert_memory_equal(lt_procedure_hash(a), lt_procedure_hash(b), LT_PROCEDURE_HASH_BYTES);
    /* Unknown keys are kept as they came: ID stays a number. */
    assert_true(json_is_integer(json_object_get(lt_procedure_record(a), "ID")));
    lt_procedure *c = norm_ok("{\"MATTHC\": \"2.000908\", \"TENTTHC\": \"T2\"}");
    assert_memory_not_equal(lt_procedure_hash(a), lt_procedure_hash(c), LT_PROCEDURE_HASH_BYTES);
    /* The hash is SHA-256 of the canonical bytes, nothing else. */
    unsigned char h[32];
    crypto_hash_sha256(h, (const unsigned char *)lt_procedure_canonical(c),
                       lt_procedure_canonical_len(c));
    assert_memory_equal(h, lt_procedure_hash(c), 32);
    lt_procedure_destroy(&a);
    lt_procedure_destroy(&b);
    lt_procedure_destroy(&c);
}

static void test_required(void **state)
{
    (void)state;
    norm_bad("{\"TENTTHC\": \"T\"}", "MATTHC", "MATTHC", "nothing (the key is missing)");
    norm_bad("{\"MATTHC\": \"\", \"TENTTHC\": \"T\"}", "MATTHC", "MATTHC", "\"\"");
    norm_bad("{\"MATTHC\": 2.000908, \"TENTTHC\": \"T\"}", "MATTHC", "MATTHC", "a number 2.000908");
    norm_bad("{\"MATTHC\": null, \"TENTTHC\": \"T\"}", "MATTHC", "MATTHC", "null");
    norm_bad("{\"MATTHC\": \"2.000908\"}", "TENTTHC", "TENTTHC", NULL);
    norm_bad("[1]", "", "", "an array");
}

static void test_wrong_types(void **state)
{
    (void)state;
    norm_bad("{\"MATTHC\": \"1\", \"TENTTHC\": \"T\", \"TRANGTHAI\": true}", "TRANGTHAI",
             "TRANGTHAI", "true");
    norm_bad("{\"MATTHC\": \"1\", \"TENTTHC\": \"T\", \"CAPTHUCHIEN\": \"3\"}", "CAPTHUCHIEN",
             "CAPTHUCHIEN", "\"3\"");
    norm_bad("{\"MATTHC\": \"1\", \"TENTTHC\": \"T\", \"CAPTHUCHIEN\": [\"3\"]}", "CAPTHUCHIEN[0]",
             "CAPTHUCHIEN", "\"3\"");
    norm_bad("{\"MATTHC\": \"1\", \"TENTTHC\": \"T\", \"CAPTHUCHIEN\": [{\"CAPTHUCHIEN\": \"1\"}, "
             "{\"CAPTHUCHIEN\": \"4\"}]}",
             "CAPTHUCHIEN[1].CAPTHUCHIEN", "CAPTHUCHIEN", "\"4\"");
    norm_bad("{\"MATTHC\": \"1\", \"TENTTHC\": \"T\", \"CAPTHUCHIEN\": [{\"TENCAP\": \"x\"}]}",
             "CAPTHUCHIEN[0].CAPTHUCHIEN", "CAPTHUCHIEN", "nothing (the key is missing)");
    norm_bad("{\"MATTHC\": \"1\", \"TENTTHC\": \"T\", \"CACHTHUCTHUCHIEN\": [{\"KENH\": \"1\", "
             "\"THOIGIAN\": [{\"THOIGIANGIAIQUYET\": \"15 ngày\"}]}]}",
             "CACHTHUCTHUCHIEN[0].THOIGIAN[0].THOIGIANGIAIQUYET", "THOIGIANGIAIQUYET",
             "\"15 ngày\"");
    norm_bad("{\"MATTHC\": \"1\", \"TENTTHC\": \"T\", \"CACHTHUCTHUCHIEN\": [{\"PHILEPHI\": "
             "[{\"SOTIEN\": -5}]}]}",
             "CACHTHUCTHUCHIEN[0].PHILEPHI[0].SOTIEN", "SOTIEN", "a number -5");
    norm_bad("{\"MATTHC\": \"1\", \"TENTTHC\": \"T\", \"CACHTHUCTHUCHIEN\": [{\"KENH\": 4}]}",
             "CACHTHUCTHUCHIEN[0].KENH", "KENH", "a number 4");
    norm_bad("{\"MATTHC\": \"1\", \"TENTTHC\": \"T\", \"CANCUPHAPLY\": {}}", "CANCUPHAPLY",
             "CANCUPHAPLY", "an object");
    /* Free-shaped lists take any entry. */
    lt_procedure *p =
        norm_ok("{\"MATTHC\": \"1\", \"TENTTHC\": \"T\", \"DOITUONGTHUCHIEN\": [\"Công dân\", 3]}");
    lt_procedure_destroy(&p);
}

static json_t *channel_times(const json_t *record, size_t ci, size_t ti)
{
    return json_array_get(
        json_object_get(json_array_get(json_object_get(record, "CACHTHUCTHUCHIEN"), ci),
                        "THOIGIAN"),
        ti);
}

static void test_overlay(void **state)
{
    (void)state;
    lt_procedure *p = norm_ok(
        "{\"MATTHC\": \"1.003560.000.00.00.H56\", \"TENTTHC\": \"T\", \"CACHTHUCTHUCHIEN\": ["
        "{\"KENH\": \"1\", \"THOIGIAN\": [{\"THOIGIANGIAIQUYET\": \"15\", \"DONVITINH\": \"Ngày "
        "làm "
        "việc\"}], \"PHILEPHI\": [{\"MAPHILEPHI\": \"LP1\", \"SOTIEN\": \"50000\"}]},"
        "{\"KENH\": \"2\", \"THOIGIAN\": [{\"THOIGIANGIAIQUYET\": \"8\", \"DONVITINH\": "
        "\"Giờ\"}]}]}");
    json_t *fees = parse("[{\"MAPHILEPHI\": \"LOCAL\", \"SOTIEN\": \"20000\"}]");
    lt_procedure_overlay ov = {
        .has_time_limit = true, .time_limit = 10, .time_unit = "working_day", .fees = fees};
    json_t *applied = NULL;
    json_t *out = lt_procedure_apply_overlay(lt_procedure_record(p), &ov, &applied);
    assert_non_null(out);
    /* Channel 1: 15 working days -> 10. Channel 2: 8 hours is already shorter. */
    assert_string_equal(
        json_string_value(json_object_get(channel_times(out, 0, 0), "THOIGIANGIAIQUYET")), "10");
    assert_string_equal(
        json_string_value(json_object_get(channel_times(out, 1, 0), "THOIGIANGIAIQUYET")), "8");
    assert_string_equal(json_string_value(json_object_get(channel_times(out, 1, 0), "DONVITINH")),
                        "Giờ");
    /* Fees replaced on both channels. */
    for (size_t ci = 0; ci < 2; ci++) {
        json_t *c = json_array_get(json_object_get(out, "CACHTHUCTHUCHIEN"), ci);
        assert_true(json_equal(json_object_get(c, "PHILEPHI"), fees));
    }
    assert_int_equal(json_array_size(applied), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(applied, 0), "path")),
                        "CACHTHUCTHUCHIEN[0].THOIGIAN[0]");
    /* The stored record is untouched. */
    assert_string_equal(json_string_value(json_object_get(
                            channel_times(lt_procedure_record(p), 0, 0), "THOIGIANGIAIQUYET")),
                        "15");
    json_decref(out);
    json_decref(applied);

    /* Time only, in hours: 2 hours beats 15 working days and 8 hours. */
    lt_procedure_overlay hours = {.has_time_limit = true, .time_limit = 2.5, .time_unit = "hour"};
    out = lt_procedure_apply_overlay(lt_procedure_record(p), &hours, NULL);
    assert_string_equal(
        json_string_value(json_object_get(channel_times(out, 1, 0), "THOIGIANGIAIQUYET")), "2.5");
    assert_string_equal(json_string_value(json_object_get(channel_times(out, 0, 0), "DONVITINH")),
                        "Giờ");
    json_t *c0 = json_array_get(json_object_get(out, "CACHTHUCTHUCHIEN"), 0);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(c0, "PHILEPHI"), 0), "MAPHILEPHI")),
                        "LP1");
    json_decref(out);
    json_decref(fees);
    lt_procedure_destroy(&p);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_minimal),  cmocka_unit_test(test_columns),
        cmocka_unit_test(test_base_of),  cmocka_unit_test(test_spellings_hash_alike),
        cmocka_unit_test(test_required), cmocka_unit_test(test_wrong_types),
        cmocka_unit_test(test_overlay),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
