/* Unit tests for lt_procedure: the normalized form decides what a catalog
 * sync calls "changed", so the tests pin down both sides: spellings that must
 * hash alike (numbers for strings, null for empty), and records that must be
 * refused with the path, the expectation and what came. The one-pass path
 * from raw bytes (lt_procedure_from_bytes) is held to the jansson path on
 * every input here, on the schema's examples and on thousands of mutations
 * of them: it either declines or gives the same bytes. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
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

/* What lt_procedure_from_bytes makes of text, held to the general path
 * (json_loadb with JSON_REJECT_DUPLICATES, then normalization): NULL is
 * always allowed (the caller then takes the general path); a procedure must
 * be the general path's, byte for byte and column for column. Returns
 * whether the one-pass path took the record. */
static bool bytes_agree(const char *text, size_t len)
{
    lt_procedure *f = lt_procedure_from_bytes(text, len);
    if (!f)
        return false;
    json_error_t jerr;
    json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!j)
        fail_msg("one-pass path accepted what jansson refuses (%s): %.*s", jerr.text, (int)len,
                 text);
    lt_procedure_error err;
    lt_procedure *g = lt_procedure_normalize_inplace(j, &err);
    json_decref(j);
    if (!g)
        fail_msg("one-pass path accepted a record the rules refuse (%s: %s): %.*s", err.path,
                 err.expected, (int)len, text);
    assert_null(lt_procedure_record(f));
    assert_int_equal(lt_procedure_canonical_len(f), lt_procedure_canonical_len(g));
    assert_string_equal(lt_procedure_canonical(f), lt_procedure_canonical(g));
    assert_memory_equal(lt_procedure_hash(f), lt_procedure_hash(g), LT_PROCEDURE_HASH_BYTES);
    assert_string_equal(lt_procedure_code(f), lt_procedure_code(g));
    assert_string_equal(lt_procedure_base_code(f), lt_procedure_base_code(g));
    assert_string_equal(lt_procedure_name(f), lt_procedure_name(g));
    assert_string_equal(lt_procedure_status(f), lt_procedure_status(g));
    if (lt_procedure_field_code(g))
        assert_string_equal(lt_procedure_field_code(f), lt_procedure_field_code(g));
    else
        assert_null(lt_procedure_field_code(f));
    const int *lf, *lg;
    size_t nf = lt_procedure_levels(f, &lf), ng = lt_procedure_levels(g, &lg);
    assert_int_equal(nf, ng);
    if (nf)
        assert_memory_equal(lf, lg, nf * sizeof(*lf));
    lt_procedure_destroy(&f);
    lt_procedure_destroy(&g);
    return true;
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
    bytes_agree(text, strlen(text));
    return p;
}

static void norm_bad(const char *text, const char *path, const char *field, const char *got)
{
    /* A refused record is always left to the general path, which words the
     * error. */
    lt_procedure *f = lt_procedure_from_bytes(text, strlen(text));
    assert_null(f);
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

/* Records the one-pass path takes, each the same as through jansson: what
 * the catalog really sends (escapes of every kind, \u escapes of
 * Vietnamese, a character outside the BMP, numbers and nulls where strings
 * travel, unknown keys of any shape and order, odd whitespace). */
static void test_bytes_taken(void **state)
{
    (void)state;
    static const char *const taken[] = {
        "{\"MATTHC\":\"2.000908\",\"TENTTHC\":\"T\"}",
        " {\r\n\t\"TENTTHC\" : \"T\" ,\"MATTHC\":\"2.000908\" } \n",
        "{\"MATTHC\": \"2.000908\", \"TENTTHC\": \"C\\u1ea5p gi\\u1EA5y \\\"ph\\u00e9p\\\" \\/ "
        "\\\\ \\b\\f\\n\\r\\t \\u001f \\u007f \\ud834\\udd1e \\u2028\", \"TRANGTHAI\": 1, "
        "\"MOTA\": \"a/b \\/ c\"}",
        "{\"MATTHC\": \"1.003560.000.00.00.H56\", \"TENTTHC\": \"\xc4\x90\xc4\x83ng k\xc3\xbd\", "
        "\"TRANGTHAI\": null, \"LOAITTHC\": 2, \"IDQUYETDINHCONGBO\": -17, \"ID\": "
        "123456789012345678, "
        "\"CAPTHUCHIEN\": [{\"CAPTHUCHIEN\": 0}, {\"CAPTHUCHIEN\": \"3\", \"TENCAP\": null}], "
        "\"LINHVUCTHUCHIEN\": [{\"MALINHVUC\": null}, {\"MALINHVUC\": 7, \"X\": [1, {\"b\": 1, "
        "\"a\": "
        "[true, false, null]}]}], \"COQUANTHUCHIEN\": null, \"CACHTHUCTHUCHIEN\": [{\"KENH\": 3, "
        "\"THOIGIAN\": [{\"THOIGIANGIAIQUYET\": 15, \"DONVITINH\": \"Ng\\u00e0y\"}, "
        "{\"THOIGIANGIAIQUYET\": null}], \"PHILEPHI\": [{\"SOTIEN\": \"1.5\", \"MAPHILEPHI\": "
        "0}]}], "
        "\"KETQUATHUCHIEN\": [], \"THANHPHANHOSO\": [\"x\", 1, [], {}], \"\": \"empty key\", "
        "\"Z\\u00e9\": 1, \"\xc3\xa9\": {\"\": [], \"ab\": 0, \"a\": -0.0e0}}",
    };
    /* The last one has a real number (-0.0e0): declined. The others are
     * taken. */
    for (size_t i = 0; i < sizeof(taken) / sizeof(taken[0]); i++)
        assert_int_equal(bytes_agree(taken[i], strlen(taken[i])),
                         i + 1 < sizeof(taken) / sizeof(taken[0]));
}

/* What it leaves to jansson even when jansson accepts it, and what jansson
 * refuses: NULL either way. */
static void test_bytes_declined(void **state)
{
    (void)state;
    static const char *const declined[] = {
        "{\"MATTHC\": \"1\", \"TENTTHC\": \"T\", \"ID\": 1.5}",
        "{\"MATTHC\": \"1\", \"TENTTHC\": \"T\", \"ID\": 1e3}",
        "{\"MATTHC\": \"1\", \"TENTTHC\": \"T\", \"ID\": -0}",
        "{\"MATTHC\": \"1\", \"TENTTHC\": \"T\", \"ID\": 1234567890123456789}",
        "{\"MATTHC\": \"1\", \"TENTTHC\": \"T\", \"ID\": 01}",
        "{\"MATTHC\": \"1\", \"TENTTHC\": \"T\", \"I\\u0044\": 1}",
        "{\"MATTHC\": \"1\", \"TENTTHC\": \"T\", \"ID\": 1, \"ID\": 2}",
        "{\"MATTHC\": \"1\", \"TENTTHC\": \"T\\u0000\"}",
        "{\"MATTHC\": \"1\", \"TENTTHC\": \"\\ud834 lone\"}",
        "{\"MATTHC\": \"1\", \"TENTTHC\": \"\\udd1e lone\"}",
        "{\"MATTHC\": \"1\", \"TENTTHC\": \"\\x41\"}",
        "{\"MATTHC\": \"1\", \"TENTTHC\": \"\xc3\"}",
        "{\"MATTHC\": \"1\", \"TENTTHC\": \"\xed\xa0\x80\"}",
        "{\"MATTHC\": \"1\", \"TENTTHC\": \"tab\there\"}",
        "{\"MATTHC\": \"1\", \"TENTTHC\": \"T\"} x",
        "{\"MATTHC\": \"1\", \"TENTTHC\": \"T\",}",
        "{\"MATTHC\": \"1\", \"TENTTHC\": \"T\", \"ID\": tru}",
        "{\"MATTHC\": \"1\", \"TENTTHC\": \"T\", \"CAPTHUCHIEN\": [{\"CAPTHUCHIEN\": "
        "\"\\u0033\"}]}",
        "{\"MATTHC\": \"1\", \"TENTTHC\": \"T\", \"CAPTHUCHIEN\": [{\"CAPTHUCHIEN\": null}]}",
        "{\"MATTHC\": 1, \"TENTTHC\": \"T\"}",
        "{\"MATTHC\": \"1234567890123456789012345678901234567890123456789012345678901234\", "
        "\"TENTTHC\": \"T\"}",
        "[{\"MATTHC\": \"1\", \"TENTTHC\": \"T\"}]",
        "",
    };
    for (size_t i = 0; i < sizeof(declined) / sizeof(declined[0]); i++) {
        lt_procedure *f = lt_procedure_from_bytes(declined[i], strlen(declined[i]));
        if (f)
            fail_msg("taken, should be declined: %s", declined[i]);
    }
    /* Deeper than 64 levels: declined, though jansson takes it. */
    char deep[512];
    size_t n =
        (size_t)snprintf(deep, sizeof(deep), "{\"MATTHC\": \"1\", \"TENTTHC\": \"T\", \"X\": ");
    for (int i = 0; i < 70; i++)
        deep[n++] = '[';
    for (int i = 0; i < 70; i++)
        deep[n++] = ']';
    deep[n++] = '}';
    assert_null(lt_procedure_from_bytes(deep, n));
}

/* The schema's examples, then thousands of random mutations of them
 * (deterministic): wherever the one-pass path answers, it answers as
 * jansson and the rules do. The valid examples without real numbers are
 * taken, the invalid ones never. */
static char *read_file(const char *path, size_t *ret_len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *buf = malloc(1 << 20);
    assert_non_null(buf);
    size_t n = fread(buf, 1, (1 << 20) - 1, f);
    fclose(f);
    buf[n] = '\0';
    *ret_len = n;
    return buf;
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void mutate_and_compare(const char *text, size_t len, int rounds, int *taken)
{
    static const char alphabet[] = "{}[]\",:\\/0123456789-+.eEtrufalsn u\t\n\x80\xc3\xa9\xed\x01";
    char *buf = malloc(len + 64);
    assert_non_null(buf);
    for (int r = 0; r < rounds; r++) {
        memcpy(buf, text, len);
        size_t n = len;
        int edits = 1 + (int)(rng() % 3);
        for (int e = 0; e < edits && n > 0; e++) {
            size_t at = (size_t)(rng() % n);
            char c = alphabet[rng() % (sizeof(alphabet) - 1)];
            switch (rng() % 3) {
            case 0: /* replace */
                buf[at] = c;
                break;
            case 1: /* insert */
                memmove(buf + at + 1, buf + at, n - at);
                buf[at] = c;
                n++;
                break;
            default: /* delete */
                memmove(buf + at, buf + at + 1, n - at - 1);
                n--;
                break;
            }
        }
        if (bytes_agree(buf, n))
            (*taken)++;
    }
    free(buf);
}

static void test_bytes_examples_and_mutations(void **state)
{
    (void)state;
    static const char *const dirs[] = {"valid", "invalid"};
    int taken = 0, files = 0;
    for (size_t d = 0; d < 2; d++) {
        char dir[512];
        snprintf(dir, sizeof(dir), "%s/schemas/examples/procedure/%s", LT_SOURCE_DIR, dirs[d]);
        DIR *dh = opendir(dir);
        assert_non_null(dh);
        struct dirent *de;
        while ((de = readdir(dh))) {
            size_t nl = strlen(de->d_name);
            if (nl < 5 || strcmp(de->d_name + nl - 5, ".json") != 0 ||
                strcmp(de->d_name, "MANIFEST.json") == 0)
                continue;
            char path[1024];
            snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
            size_t len;
            char *text = read_file(path, &len);
            bool ok = bytes_agree(text, len);
            if (d == 1 && ok)
                fail_msg("an invalid example was taken: %s", path);
            if (d == 0 && !ok && strcmp(de->d_name, "numbers-and-nulls.json") != 0)
                fail_msg("a valid example was declined: %s", path);
            mutate_and_compare(text, len, 400, &taken);
            free(text);
            files++;
        }
        closedir(dh);
    }
    assert_true(files >= 20);
    /* Mutations inside strings keep records valid: some must be taken, or
     * this test would prove nothing. */
    assert_true(taken > 100);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_minimal),        cmocka_unit_test(test_columns),
        cmocka_unit_test(test_base_of),        cmocka_unit_test(test_spellings_hash_alike),
        cmocka_unit_test(test_required),       cmocka_unit_test(test_wrong_types),
        cmocka_unit_test(test_overlay),        cmocka_unit_test(test_bytes_taken),
        cmocka_unit_test(test_bytes_declined), cmocka_unit_test(test_bytes_examples_and_mutations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
