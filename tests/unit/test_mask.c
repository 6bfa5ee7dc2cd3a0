/* Unit tests for lt_mask: the masking rules are a privacy promise, so both
 * directions are pinned down here: what must be hidden (IDs, phones in every
 * written form, e-mails, names) and what must survive (dossier and procedure
 * codes, agency ids, timestamps, Vietnamese text). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lt_mask.h"

static void check_text(const char *in, const char *want)
{
    char *got = lt_mask_text(in);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

static void check_unchanged(const char *in)
{
    check_text(in, in);
}

static void test_citizen_id_12(void **state)
{
    (void)state;
    check_text("001203004567", "**********67");
}

static void test_old_id_9(void **state)
{
    (void)state;
    check_text("123456789", "*******89");
}

static void test_run_lengths(void **state)
{
    (void)state;
    check_unchanged("12345678");
    check_text("0912345678", "********78");
    check_text("09123456789", "*********89");
    check_unchanged("20241031143000");
    check_unchanged("1234567890123");
}

static void test_id_in_sentence(void **state)
{
    (void)state;
    check_text("Ông An, CCCD số 001203004567, nộp lúc 20241031143000.",
               "Ông An, CCCD số **********67, nộp lúc 20241031143000.");
    check_text("CMND123456789;", "CMND*******89;");
}

static void test_phone_forms(void **state)
{
    (void)state;
    check_text("0912345678", "********78");
    check_text("+84912345678", "+*********78");
    check_text("84912345678", "*********78");
    check_text("0912 345 678", "**** *** *78");
    check_text("0912.345.678", "****.***.*78");
    check_text("+84 912 345 678", "+** *** *** *78");
    check_text("+84.912.345.678", "+**.***.***.*78");
    check_text("091 234 5678", "*** *** **78");
    check_text("ĐT: 0912.345.678.", "ĐT: ****.***.*78.");
    check_text("gọi 0912 345 678 trước 17h", "gọi **** *** *78 trước 17h");
}

static void test_spaced_id(void **state)
{
    (void)state;
    check_text("001 203 004 567", "*** *** *** *67");
    /* A year after the phone is not swallowed into a 14-digit run that would
     * then escape masking. */
    check_text("0912 345 678 2024", "**** *** *78 2024");
    check_text("ID 001203004567 2024", "ID **********67 2024");
}

static void test_codes_not_masked(void **state)
{
    (void)state;
    check_unchanged("1.003560.000.00.00.H56");
    check_unchanged("2.000908");
    check_unchanged("2.002621.H56");
    check_unchanged("000.00.06.H56");
    check_unchanged("000.17.22.H56");
    check_unchanged("000.00.06.H56-231027-0361");
    check_unchanged("G09.20-20260609-0092637");
    check_unchanged("H56.14");
    check_unchanged("G03-GD10");
    check_unchanged("hồ sơ 000.00.06.H56-231027-0361 thủ tục 1.003560.000.00.00.H56");
    check_unchanged("thủ tục 2.000908 0912 và 2.002621.H56");
    check_unchanged("phí 1.500.000 đồng, 20241031143000");
    /* Dotted digits that start like a phone but continue a code. */
    check_unchanged("0123.456.789.H56");
    check_unchanged("012.345.67");
}

static void test_email(void **state)
{
    (void)state;
    check_text("nguyenvanan@gmail.com", "n***@gmail.com");
    check_text("liên hệ a.b-c@so.hanoi.gov.vn.", "liên hệ a***@so.hanoi.gov.vn.");
    check_text("x@y.vn", "x***@y.vn");
    check_text("0912345678@gmail.com", "0***@gmail.com");
    check_unchanged("not an address: a@b, @home, user@localhost");
    /* Chained: the first domain is the second address's local part. */
    check_text("an@so.vn@gmail.com", "a***@gmail.com");
    check_text("uHoSod@examkhanh.vSoGiayToChuHoSod@example.nTh.vd@x", "u***@example.nTh.vd@x");
}

static void test_vietnamese_intact(void **state)
{
    (void)state;
    check_unchanged("Đăng ký khai sinh cho trẻ em — Ủy ban nhân dân phường Phúc Xá");
    check_unchanged("Nguyễn Văn An, Trần Thị Bích Ngọc: ưu tiên giải quyết");
    check_unchanged("");
}

static void test_personal_fields(void **state)
{
    (void)state;
    const char *yes[] = {"ChuHoSo",     "MaDoiTuong", "SoGiayToChuHoSo", "DinhDanhCHS", "Email",
                         "SoDienThoai", "Fax",        "ThongTinKhac",    "GhiChu"};
    for (size_t k = 0; k < sizeof(yes) / sizeof(yes[0]); k++)
        assert_true(lt_mask_is_personal_field(yes[k]));
    assert_false(lt_mask_is_personal_field("chuhoso"));
    assert_false(lt_mask_is_personal_field("EMAIL"));
    assert_false(lt_mask_is_personal_field("MaHoSo"));
    assert_false(lt_mask_is_personal_field("TrichYeuHoSo"));
    assert_false(lt_mask_is_personal_field(""));
    assert_false(lt_mask_is_personal_field(NULL));
}

static const char *record_json =
    "{\"MaHoSo\":\"000.00.06.H56-231027-0361\","
    "\"MaTTHC\":\"1.003560.000.00.00.H56\","
    "\"ChuHoSo\":\"Nguyễn Văn An\","
    "\"DinhDanhCHS\":[\"001203004567\",\"123456789\"],"
    "\"SoGiayToChuHoSo\":\"001203004567\","
    "\"Email\":\"nguyenvanan@gmail.com\","
    "\"SoDienThoai\":\"0912 345 678\","
    "\"Fax\":\"024\","
    "\"GhiChu\":\"Nộp bổ sung\","
    "\"MaDoiTuong\":912345678,"
    "\"ThongTinKhac\":{\"DiaChi\":\"Số 5 Phúc Xá\",\"ChuHoSo\":\"Lê Bình\"},"
    "\"TrichYeuHoSo\":\"Khai sinh, liên hệ 0912345678 hoặc an@gmail.com\","
    "\"NgayTiepNhan\":\"20241031143000\","
    "\"TrangThaiHoSo\":\"2\","
    "\"QuaTrinhXuLy\":[{\"NguoiXuLy\":\"Cán bộ\",\"NoiDungXuLy\":\"gọi 0912.345.678\"}]}";

static json_t *load(const char *text)
{
    json_error_t err;
    json_t *value = json_loads(text, 0, &err);
    assert_non_null(value);
    return value;
}

static const char *str_at(json_t *object, const char *key)
{
    json_t *value = json_object_get(object, key);
    assert_true(json_is_string(value));
    return json_string_value(value);
}

static void test_json_record(void **state)
{
    (void)state;
    json_t *rec = load(record_json);
    assert_int_equal(lt_mask_json(rec), 0);

    assert_string_equal(str_at(rec, "MaHoSo"), "000.00.06.H56-231027-0361");
    assert_string_equal(str_at(rec, "MaTTHC"), "1.003560.000.00.00.H56");
    assert_string_equal(str_at(rec, "ChuHoSo"), "N*** V*** A***");
    json_t *ids = json_object_get(rec, "DinhDanhCHS");
    assert_int_equal(json_array_size(ids), 2);
    assert_string_equal(json_string_value(json_array_get(ids, 0)), "**********67");
    assert_string_equal(json_string_value(json_array_get(ids, 1)), "*******89");
    assert_string_equal(str_at(rec, "SoGiayToChuHoSo"), "**********67");
    assert_string_equal(str_at(rec, "Email"), "n***@gmail.com");
    assert_string_equal(str_at(rec, "SoDienThoai"), "**********78");
    assert_string_equal(str_at(rec, "Fax"), "***");
    /* 11 characters, not 15 bytes: the tail is two whole characters. */
    assert_string_equal(str_at(rec, "GhiChu"), "*********ng");
    /* A number under a personal field would leak its digits; it becomes a
     * masked string. */
    assert_string_equal(str_at(rec, "MaDoiTuong"), "*******78");
    json_t *other = json_object_get(rec, "ThongTinKhac");
    assert_string_equal(str_at(other, "DiaChi"), "**********Xá");
    assert_string_equal(str_at(other, "ChuHoSo"), "L*** B***");
    assert_string_equal(str_at(rec, "TrichYeuHoSo"),
                        "Khai sinh, liên hệ ********78 hoặc a***@gmail.com");
    assert_string_equal(str_at(rec, "NgayTiepNhan"), "20241031143000");
    assert_string_equal(str_at(rec, "TrangThaiHoSo"), "2");
    json_t *step = json_array_get(json_object_get(rec, "QuaTrinhXuLy"), 0);
    assert_string_equal(str_at(step, "NguoiXuLy"), "Cán bộ");
    assert_string_equal(str_at(step, "NoiDungXuLy"), "gọi ****.***.*78");

    /* Keys are never changed. */
    assert_int_equal(json_object_size(rec), 15);
    json_decref(rec);
}

static void test_json_edge_values(void **state)
{
    (void)state;
    json_t *v = load("{\"ChuHoSo\":\"  Đỗ   Ánh  \",\"GhiChu\":\"ab\",\"Email\":\"\","
                     "\"SoDienThoai\":null,\"Fax\":true,\"x\":[1,\"0912345678\"]}");
    assert_int_equal(lt_mask_json(v), 0);
    assert_string_equal(str_at(v, "ChuHoSo"), "Đ*** Á***");
    assert_string_equal(str_at(v, "GhiChu"), "**");
    assert_string_equal(str_at(v, "Email"), "");
    assert_true(json_is_null(json_object_get(v, "SoDienThoai")));
    assert_true(json_is_true(json_object_get(v, "Fax")));
    json_t *x = json_object_get(v, "x");
    assert_int_equal(json_integer_value(json_array_get(x, 0)), 1);
    assert_string_equal(json_string_value(json_array_get(x, 1)), "********78");
    json_decref(v);

    json_t *s = json_string("CCCD 001203004567");
    assert_int_equal(lt_mask_json(s), 0);
    assert_string_equal(json_string_value(s), "CCCD **********67");
    json_decref(s);

    /* Embedded NULs survive: the string is masked by length, not as a C
     * string. */
    json_t *n = json_stringn("a\0 0912345678", 13);
    assert_int_equal(lt_mask_json(n), 0);
    assert_int_equal(json_string_length(n), 13);
    assert_memory_equal(json_string_value(n), "a\0 ********78", 13);
    json_decref(n);

    assert_int_equal(lt_mask_json(NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_citizen_id_12),     cmocka_unit_test(test_old_id_9),
        cmocka_unit_test(test_run_lengths),       cmocka_unit_test(test_id_in_sentence),
        cmocka_unit_test(test_phone_forms),       cmocka_unit_test(test_spaced_id),
        cmocka_unit_test(test_codes_not_masked),  cmocka_unit_test(test_email),
        cmocka_unit_test(test_vietnamese_intact), cmocka_unit_test(test_personal_fields),
        cmocka_unit_test(test_json_record),       cmocka_unit_test(test_json_edge_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
