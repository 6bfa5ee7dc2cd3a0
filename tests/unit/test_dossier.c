/* Unit tests for lt_dossier: the decoder's request-level refusals (bytes,
 * surrogates, depth, size, shape), every validation rule of DOMAIN.md with
 * the field and path it reports, that all errors of a record are collected,
 * and that a personal field's value never appears in an error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "lt_dossier.h"

/* A valid record at status 10 with every kind of field, history and lists. */
static const char base_text[] =
    "{\"MaHoSo\": \"000.00.06.H56-231027-0361\", \"MaTTHC\": \"2.000908\","
    " \"TenTTHC\": \"Cấp bản sao trích lục hộ tịch\", \"TrangThaiHoSo\": \"10\","
    " \"KenhThucHien\": \"2\", \"LoaiDoiTuong\": \"1\", \"ChuHoSo\": \"Nguyễn Văn An\","
    " \"SoGiayToChuHoSo\": \"001203004567\", \"DinhDanhCHS\": [\"001203004567\"],"
    " \"Email\": \"an.nguyen@example.vn\", \"SoDienThoai\": \"0912345678\","
    " \"TrichYeuHoSo\": \"Đề nghị cấp bản sao\", \"NgayNopHoSo\": \"20231027080000\","
    " \"NgayTiepNhan\": \"20231027083000\", \"NgayHenTra\": \"20231031170000\","
    " \"NgayKetThucXuLy\": \"20231030100000\", \"NgayTra\": \"20231031090000\","
    " \"NgayTuChoi\": \"\", \"HinhThuc\": \"0\", \"NoiNopHoSo\": \"1\","
    " \"HoSoCoThanhPhanSoHoa\": \"1\", \"TaiKhoanDuocXacThucVoiVNeID\": \"1\","
    " \"DuocThanhToanTrucTuyen\": \"2\", \"VendorExtra\": {\"x\": 1},"
    " \"TaiLieuNop\": [{\"TepDinhKemId\": \"1\", \"TenTepDinhKem\": \"to-khai.pdf\"}],"
    " \"DanhSachLePhi\": [{\"TenPhiLePhi\": \"Lệ phí\", \"Gia\": \"8000\"}],"
    " \"DanhSachHoSoBoSung\": [], \"DanhSachGiayToKetQua\": [{\"TenGiayTo\": \"Bản sao\"}],"
    " \"QuaTrinhXuLy\": ["
    "  {\"TrangThai\": \"2\", \"ThoiDiemXuLy\": \"20231027083000\", \"NguoiXuLy\": \"Trần B\"},"
    "  {\"TrangThai\": \"4\", \"ThoiDiemXuLy\": \"20231027090000\"},"
    "  {\"TrangThai\": \"9\", \"ThoiDiemXuLy\": \"20231030100000\"},"
    "  {\"TrangThai\": \"10\", \"ThoiDiemXuLy\": \"20231031090000\"}]}";

static json_t *base(void)
{
    json_error_t e;
    json_t *r = json_loads(base_text, 0, &e);
    assert_non_null(r);
    return r;
}

/* Validates record (stealing it) and returns the error list. */
static lt_verrors *judge(json_t *record, int want_rc)
{
    lt_verrors *errs = lt_verrors_new();
    assert_non_null(errs);
    assert_int_equal(lt_dossier_validate(record, errs), want_rc);
    json_decref(record);
    return errs;
}

/* The base record with key set to value (NULL: removed) must be rejected
 * with exactly one error at path, naming field. */
static void expect_one(const char *key, json_t *value, const char *field, const char *path)
{
    json_t *r = base();
    if (value)
        json_object_set_new(r, key, value);
    else
        json_object_del(r, key);
    lt_verrors *errs = judge(r, 1);
    if (lt_verrors_count(errs) != 1) {
        for (size_t i = 0; i < lt_verrors_count(errs); i++)
            fprintf(stderr, "  %s\n", lt_verrors_message(errs, i));
    }
    assert_int_equal(lt_verrors_count(errs), 1);
    assert_string_equal(lt_verrors_field(errs, 0), field);
    assert_string_equal(lt_verrors_path(errs, 0), path);
    lt_verrors_destroy(&errs);
    assert_null(errs);
}

static void expect_field(const char *key, json_t *value)
{
    expect_one(key, value, key, key);
}

static void expect_ok(const char *key, json_t *value)
{
    json_t *r = base();
    if (value)
        json_object_set_new(r, key, value);
    else
        json_object_del(r, key);
    lt_verrors *errs = judge(r, 0);
    assert_int_equal(lt_verrors_count(errs), 0);
    lt_verrors_destroy(&errs);
}

/* errs holds exactly n errors, at paths[] in order; each names the field
 * its path ends with (an index stripped: "L[0].F" names F, "L[0]" names L). */
static void expect_paths(const lt_verrors *errs, size_t n, const char *const paths[])
{
    assert_int_equal(lt_verrors_count(errs), n);
    for (size_t i = 0; i < n; i++) {
        const char *last = strrchr(paths[i], '.');
        char field[64];
        snprintf(field, sizeof(field), "%s", last ? last + 1 : paths[i]);
        field[strcspn(field, "[")] = '\0';
        assert_string_equal(lt_verrors_path(errs, i), paths[i]);
        assert_string_equal(lt_verrors_field(errs, i), field);
    }
}

static void test_base_valid(void **state)
{
    (void)state;
    lt_verrors *errs = judge(base(), 0);
    lt_verrors_destroy(&errs);
    lt_verrors_destroy(&errs); /* a second destroy is harmless */
}

static void test_required(void **state)
{
    (void)state;
    const char *required[] = {"MaHoSo", "MaTTHC", "TrangThaiHoSo", "KenhThucHien"};
    for (size_t i = 0; i < 4; i++) {
        expect_field(required[i], NULL);
        expect_field(required[i], json_string(""));
    }
}

static void test_required_dates_by_status(void **state)
{
    (void)state;
    for (int st = 1; st <= 10; st++) {
        char code[4];
        snprintf(code, sizeof(code), "%d", st);
        bool need_received = st == 2 || (st >= 4 && st <= 6) || st >= 8;
        bool need_finished = st >= 9;
        json_t *r = base();
        json_object_set_new(r, "TrangThaiHoSo", json_string(code));
        json_object_set_new(r, "NgayTiepNhan", json_string(""));
        json_object_set_new(r, "NgayKetThucXuLy", json_string(""));
        lt_verrors *errs = judge(r, (need_received || need_finished) ? 1 : 0);
        size_t k = 0;
        if (need_received)
            assert_string_equal(lt_verrors_field(errs, k++), "NgayTiepNhan");
        if (need_finished)
            assert_string_equal(lt_verrors_field(errs, k++), "NgayKetThucXuLy");
        assert_int_equal(lt_verrors_count(errs), k);
        lt_verrors_destroy(&errs);
    }
    /* Absent counts as empty. */
    expect_field("NgayTiepNhan", NULL);
}

static void test_not_a_string(void **state)
{
    (void)state;
    expect_field("MaTTHC", json_integer(2000908));
    expect_field("KenhThucHien", json_integer(1));
    expect_field("TenTTHC", json_null());
    expect_field("NgayHenTra", json_object());
    expect_field("TrichYeuHoSo", json_array());
    expect_field("HinhThuc", json_true());
}

static void test_lists(void **state)
{
    (void)state;
    const char *lists[] = {"TaiLieuNop", "DanhSachLePhi", "DanhSachHoSoBoSung",
                           "DanhSachGiayToKetQua", "QuaTrinhXuLy"};
    for (size_t i = 0; i < 5; i++) {
        expect_field(lists[i], json_string("[]"));
        expect_field(lists[i], json_object());
        char path[64];
        snprintf(path, sizeof(path), "%s[0]", lists[i]);
        expect_one(lists[i], json_pack("[s]", "x"), lists[i], path);
        expect_ok(lists[i], json_array());
    }
    expect_one("DanhSachLePhi", json_pack("[{s:i}]", "Gia", 8000), "Gia", "DanhSachLePhi[0].Gia");
    expect_one("DanhSachHoSoBoSung", json_pack("[{s:s}]", "NgayHenTraMoi", "2023-11-01"),
               "NgayHenTraMoi", "DanhSachHoSoBoSung[0].NgayHenTraMoi");
    expect_ok("TaiLieuNop", json_pack("[{s:s, s:{}}]", "DuocSoHoa", "1", "Vendor"));
    expect_one("TaiLieuNop", json_pack("[{s:s}]", "DuocSoHoa", "2"), "DuocSoHoa",
               "TaiLieuNop[0].DuocSoHoa");
}

static void test_id_list(void **state)
{
    (void)state;
    expect_ok("DinhDanhCHS", json_pack("[s, {s:s}]", "001203004567", "SoDinhDanh", "123456789"));
    expect_field("DinhDanhCHS", json_string("001203004567"));
    expect_one("DinhDanhCHS", json_pack("[i]", 1), "DinhDanhCHS", "DinhDanhCHS[0]");
}

static void test_history(void **state)
{
    (void)state;
    json_t *r = base();
    json_t *h = json_object_get(r, "QuaTrinhXuLy");
    json_object_set_new(json_array_get(h, 2), "ThoiDiemXuLy", json_string("20230230100000"));
    json_object_set_new(json_array_get(h, 3), "TrangThai", json_string("11"));
    json_object_del(json_array_get(h, 1), "TrangThai");
    json_object_set_new(json_array_get(h, 0), "NgayBatDau", json_string("x"));
    lt_verrors *errs = judge(r, 1);
    static const char *const paths[] = {"QuaTrinhXuLy[0].NgayBatDau", "QuaTrinhXuLy[1].TrangThai",
                                        "QuaTrinhXuLy[2].ThoiDiemXuLy",
                                        "QuaTrinhXuLy[3].TrangThai"};
    expect_paths(errs, 4, paths);
    assert_string_equal(lt_verrors_got(errs, 1), "nothing");
    lt_verrors_destroy(&errs);
    /* An empty ThoiDiemXuLy is not allowed: it is required. */
    r = base();
    json_object_set_new(json_array_get(json_object_get(r, "QuaTrinhXuLy"), 0), "ThoiDiemXuLy",
                        json_string(""));
    errs = judge(r, 1);
    assert_string_equal(lt_verrors_path(errs, 0), "QuaTrinhXuLy[0].ThoiDiemXuLy");
    lt_verrors_destroy(&errs);
}

static void test_dates(void **state)
{
    (void)state;
    expect_ok("NgayNopHoSo", json_string(""));
    expect_ok("NgayNopHoSo", json_string("20240229235959")); /* leap year */
    expect_ok("NgayNopHoSo", json_string("20000229000000")); /* 2000 is leap */
    expect_ok("NgayNopHoSo", json_string("20231231235959"));
    const char *bad[] = {
        "20230229080000", /* not leap */
        "19000229080000", /* 1900 is not leap */
        "20231027240000", /* 24:00:00 is the next day */
        "20231027236000", "20231027235960", "20230431080000",      "20231301080000",
        "20231000080000", "20231027",       "2023-10-27 08:30:00", "31/10/2024",
        "2023102708300a", "18991231080000", "21000101080000",      " 20231027083000",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_field("NgayNopHoSo", json_string(bad[i]));
}

static void test_message_format(void **state)
{
    (void)state;
    json_t *r = base();
    json_object_set_new(r, "NgayHenTra", json_string("31/10/2024"));
    lt_verrors *errs = judge(r, 1);
    assert_string_equal(lt_verrors_message(errs, 0),
                        "field NgayHenTra: expected yyyyMMddHHmmss, got \"31/10/2024\"");
    assert_string_equal(lt_verrors_expected(errs, 0), "yyyyMMddHHmmss");
    assert_string_equal(lt_verrors_got(errs, 0), "\"31/10/2024\"");
    lt_verrors_destroy(&errs);
}

static void test_closed_sets(void **state)
{
    (void)state;
    struct {
        const char *field;
        const char *ok;
        const char *bad;
    } cases[] = {
        {"TrangThaiHoSo", "10", "11"},
        {"TrangThaiHoSo", "10", "0"},
        {"TrangThaiHoSo", "10", "01"},
        {"LoaiDoiTuong", "4", "5"},
        {"LoaiDoiTuong", "1", "0"},
        {"KenhThucHien", "3", "4"},
        {"HinhThuc", "1", "2"},
        {"NoiNopHoSo", "0", "2"},
        {"HoSoCoThanhPhanSoHoa", "0", "x"},
        {"TaiKhoanDuocXacThucVoiVNeID", "0", "true"},
        {"DuocThanhToanTrucTuyen", "0", "3"},
        {"LoaiDoiTuong", "2", ""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        expect_ok(cases[i].field, json_string(cases[i].ok));
        expect_field(cases[i].field, json_string(cases[i].bad));
    }
}

static void test_dossier_codes(void **state)
{
    (void)state;
    const char *good[] = {"000.00.06.H56-231027-0361", "G09.20-20260609-0092637",
                          "H56.14-240229-1234", "000.17.22.H56-20240101-1234567",
                          "000.00.00.G01-000101-0001"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        expect_ok("MaHoSo", json_string(good[i]));
    const char *bad[] = {
        "000.00.06.H56-230229-0361", /* Feb 29 of a common year */
        "000.00.06.H56-231027-036",  /* 3 digits */
        "000.00.06.H56-231027-03612345", "000.00.06.H56-2310270-0361",
        "000.00.06-231027-0361",         "HS-2023-0001",
        "000.00.06.H56-231327-0361",     "000.00.06.h56-231027-0361",
        "000.00.06.H56-20231027-0361-1", "000.00.06.H56231027-0361",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_field("MaHoSo", json_string(bad[i]));
}

static void test_procedure_codes(void **state)
{
    (void)state;
    expect_ok("MaTTHC", json_string("1.003560.000.00.00.H56"));
    expect_ok("MaTTHC", json_string("2.002621.H56"));
    expect_field("MaTTHC", json_string("2.00090"));
    expect_field("MaTTHC", json_string("TTHC-01"));
    expect_field("MaTTHC", json_string("2.000908."));
}

static json_t *repeat(const char *unit, size_t times)
{
    size_t n = strlen(unit);
    char *s = malloc(n * times + 1);
    assert_non_null(s);
    for (size_t i = 0; i < times; i++)
        memcpy(s + i * n, unit, n);
    s[n * times] = '\0';
    json_t *v = json_string(s);
    free(s);
    return v;
}

static void test_lengths_in_characters(void **state)
{
    (void)state;
    /* 1,000 Vietnamese characters are ~3,000 bytes and still fit. */
    expect_ok("TrichYeuHoSo", repeat("ệ", 1000));
    expect_field("TrichYeuHoSo", repeat("ệ", 1001));
    expect_field("TrichYeuHoSo", repeat("a", 1001));
    expect_field("ChuHoSo", repeat("Ă", 256));
}

static void test_cross_field(void **state)
{
    (void)state;
    expect_field("NgayHenTra", json_string("20231027082959"));
    expect_ok("NgayHenTra", json_string("20231027083000")); /* the same moment is not before */
    expect_field("NgayTra", json_string("20231030095959"));
    /* NgayKetThucXuLy before NgayTiepNhan; NgayTra is still after it. */
    expect_field("NgayKetThucXuLy", json_string("20231026100000"));
    /* An invalid date is reported once, not again as out of order. */
    expect_field("NgayHenTra", json_string("20231026"));
    /* Without NgayTiepNhan (status 3) nothing to compare. */
    json_t *r = base();
    json_object_set_new(r, "TrangThaiHoSo", json_string("3"));
    json_object_set_new(r, "NgayTiepNhan", json_string(""));
    lt_verrors *errs = judge(r, 0);
    lt_verrors_destroy(&errs);
}

static void test_many_errors(void **state)
{
    (void)state;
    json_t *r = base();
    json_object_set_new(r, "MaTTHC", json_integer(1));
    json_object_set_new(r, "NgayHenTra", json_string("31/10/2024"));
    json_object_set_new(r, "HinhThuc", json_string("5"));
    json_object_set_new(r, "QuaTrinhXuLy", json_pack("[{s:s}]", "TrangThai", "4"));
    lt_verrors *errs = judge(r, 1);
    static const char *const paths[] = {"MaTTHC", "NgayHenTra", "HinhThuc",
                                        "QuaTrinhXuLy[0].ThoiDiemXuLy"};
    expect_paths(errs, 4, paths);
    lt_verrors_destroy(&errs);
    /* The list is bounded; what is past the bound is counted. */
    r = base();
    json_t *h = json_array();
    for (int i = 0; i < 100; i++)
        json_array_append_new(h, json_string("x"));
    json_object_set_new(r, "QuaTrinhXuLy", h);
    errs = judge(r, 1);
    assert_int_equal(lt_verrors_count(errs), LT_VERRORS_MAX);
    assert_int_equal(lt_verrors_found(errs), 100);
    assert_string_equal(lt_verrors_path(errs, 63), "QuaTrinhXuLy[63]");
    lt_verrors_clear(errs);
    assert_int_equal(lt_verrors_count(errs), 0);
    lt_verrors_destroy(&errs);
}

static void test_masking(void **state)
{
    (void)state;
    json_t *r = base();
    json_object_set_new(r, "SoGiayToChuHoSo", json_integer(1203004567));
    json_object_set_new(r, "ChuHoSo", repeat("Nguyễn Văn An ", 30));
    json_object_set_new(r, "DinhDanhCHS", json_pack("[i, s]", 5, "001203004567"));
    json_object_set_new(r, "Email", json_pack("[s]", "an.nguyen@example.vn"));
    json_object_set_new(r, "TrichYeuHoSo", repeat("gọi 0912345678 ", 80));
    lt_verrors *errs = judge(r, 1);
    for (size_t i = 0; i < lt_verrors_count(errs); i++) {
        const char *got = lt_verrors_got(errs, i), *msg = lt_verrors_message(errs, i);
        assert_null(strstr(got, "1203004567"));
        assert_null(strstr(got, "Nguyễn"));
        assert_null(strstr(got, "Văn"));
        assert_null(strstr(got, "an.nguyen"));
        assert_null(strstr(got, "0912345678"));
        assert_null(strstr(msg, "0912345678"));
        assert_null(strstr(msg, "Nguyễn"));
    }
    assert_string_equal(lt_verrors_field(errs, 0), "ChuHoSo");
    assert_string_equal(lt_verrors_field(errs, 1), "SoGiayToChuHoSo");
    assert_string_equal(lt_verrors_got(errs, 1), "(a number, masked)");
    assert_string_equal(lt_verrors_path(errs, 2), "DinhDanhCHS[0]");
    assert_string_equal(lt_verrors_field(errs, 3), "Email");
    assert_string_equal(lt_verrors_field(errs, 4), "TrichYeuHoSo");
    /* Cut to 80 characters and marked as cut. */
    assert_non_null(strstr(lt_verrors_got(errs, 4), "\xE2\x80\xA6"));
    lt_verrors_destroy(&errs);
}

static void test_rejection_document(void **state)
{
    (void)state;
    json_t *r = base();
    json_object_set_new(r, "NgayHenTra", json_string("31/10/2024"));
    json_t *h = json_object_get(r, "QuaTrinhXuLy");
    json_object_set_new(json_array_get(h, 2), "ThoiDiemXuLy", json_string("20230230120000"));
    lt_verrors *errs = lt_verrors_new();
    assert_int_equal(lt_dossier_validate(r, errs), 1);
    json_t *doc = lt_dossier_rejection(r, errs);
    assert_non_null(doc);
    char *text = lt_dossier_canonical(doc);
    assert_string_equal(
        text,
        "{\"MaHoSo\":\"000.00.06.H56-231027-0361\",\"code\":422,\"errors\":["
        "{\"expected\":\"yyyyMMddHHmmss\",\"field\":\"NgayHenTra\",\"got\":\"\\\"31/10/2024\\\"\","
        "\"path\":\"NgayHenTra\"},"
        "{\"expected\":\"a real date and time yyyyMMddHHmmss\",\"field\":\"ThoiDiemXuLy\","
        "\"got\":\"\\\"20230230120000\\\"\",\"path\":\"QuaTrinhXuLy[2].ThoiDiemXuLy\"}],"
        "\"field\":\"NgayHenTra\",\"message\":\"field NgayHenTra: expected yyyyMMddHHmmss, "
        "got \\\"31/10/2024\\\"\",\"path\":\"NgayHenTra\",\"result\":\"rejected\"}");
    free(text);
    json_decref(doc);
    /* No MaHoSo string: "" in the result. */
    json_object_set_new(r, "MaHoSo", json_integer(7));
    lt_verrors_clear(errs);
    assert_int_equal(lt_dossier_validate(r, errs), 1);
    doc = lt_dossier_rejection(r, errs);
    assert_string_equal(json_string_value(json_object_get(doc, "MaHoSo")), "");
    json_decref(doc);
    json_decref(r);
    lt_verrors_destroy(&errs);
}

static void test_not_a_record(void **state)
{
    (void)state;
    lt_verrors *errs = judge(json_string("x"), 1);
    assert_string_equal(lt_verrors_path(errs, 0), "");
    assert_string_equal(lt_verrors_message(errs, 0),
                        "record: expected a dossier record (a JSON object), got \"x\"");
    lt_verrors_destroy(&errs);
}

static void test_canonical(void **state)
{
    (void)state;
    json_t *a = json_loads("{\"b\": \"1\", \"a\": \"Đ\"}", 0, NULL);
    json_t *b = json_loads("{\"a\":\"Đ\",\"b\":\"1\"}", 0, NULL);
    char *ta = lt_dossier_canonical(a), *tb = lt_dossier_canonical(b);
    assert_string_equal(ta, tb);
    assert_string_equal(ta, "{\"a\":\"Đ\",\"b\":\"1\"}");
    free(ta);
    free(tb);
    json_decref(a);
    json_decref(b);
}

/* ---- decoding ---------------------------------------------------------- */

static int decode(const char *bytes, size_t len, json_t **ret, bool *single, lt_dossier_error *e)
{
    return lt_dossier_decode(bytes, len, ret, single, e);
}

/* Decodes bytes, which must be accepted; returns the records (the
 * caller's), *ret_single when a lone object was sent. */
static json_t *decode_ok(const char *bytes, size_t len, bool *ret_single)
{
    json_t *recs = NULL;
    bool single = false;
    lt_dossier_error e;
    if (decode(bytes, len, &recs, &single, &e) != LT_DOSSIER_OK)
        fail_msg("%.*s refused: %s", (int)(len < 80 ? len : 80), bytes, e.message);
    assert_non_null(recs);
    if (ret_single)
        *ret_single = single;
    return recs;
}

/* depth nested empty arrays into buf; returns the length. */
static size_t nested(char *buf, int depth)
{
    size_t n = 0;
    for (int i = 0; i < depth; i++)
        buf[n++] = '[';
    for (int i = 0; i < depth; i++)
        buf[n++] = ']';
    return n;
}

static void expect_decode_fail(const char *bytes, size_t len, int rc, int status)
{
    json_t *recs = NULL;
    bool single = false;
    lt_dossier_error e;
    assert_int_equal(decode(bytes, len, &recs, &single, &e), rc);
    assert_null(recs);
    assert_int_equal(e.rc, rc);
    assert_true(e.message[0] != '\0');
    assert_int_equal(lt_dossier_rc_status(rc), status);
}

static void test_decode_shapes(void **state)
{
    (void)state;
    bool single = false;
    json_t *recs = decode_ok(base_text, strlen(base_text), &single);
    assert_true(single);
    assert_int_equal(json_array_size(recs), 1);
    json_decref(recs);
    const char arr[] = "[{\"MaHoSo\": \"x\"}, 5]";
    recs = decode_ok(arr, strlen(arr), &single);
    assert_false(single);
    assert_int_equal(json_array_size(recs), 2);
    lt_verrors *errs = lt_verrors_new();
    assert_int_equal(lt_dossier_validate(json_array_get(recs, 1), errs), 1);
    lt_verrors_destroy(&errs);
    json_decref(recs);
    expect_decode_fail("\"x\"", 3, LT_DOSSIER_ESHAPE, 400);
    expect_decode_fail("5", 1, LT_DOSSIER_ESHAPE, 400);
    expect_decode_fail("null", 4, LT_DOSSIER_ESHAPE, 400);
    expect_decode_fail("", 0, LT_DOSSIER_ENOTJSON, 400);
    expect_decode_fail("{\"a\": }", 7, LT_DOSSIER_ENOTJSON, 400);
    expect_decode_fail("{} []", 5, LT_DOSSIER_ENOTJSON, 400);
    expect_decode_fail("{\"a\": \"1\", \"a\": \"2\"}", 20, LT_DOSSIER_EDUPKEY, 400);
    assert_string_equal(lt_dossier_rc_code(LT_DOSSIER_EDUPKEY), "malformed");
    /* A NUL byte in the body is not JSON. */
    expect_decode_fail("{\"a\": \"x\0\"}", 11, LT_DOSSIER_ENOTJSON, 400);
}

static void test_decode_utf8(void **state)
{
    (void)state;
    expect_decode_fail("{\"a\": \"\xC3\"}", 10, LT_DOSSIER_EUTF8, 400);             /* truncated */
    expect_decode_fail("{\"a\": \"\xC0\xAF\"}", 11, LT_DOSSIER_EUTF8, 400);         /* overlong / */
    expect_decode_fail("{\"a\": \"\xE0\x80\xAF\"}", 12, LT_DOSSIER_EUTF8, 400);     /* overlong */
    expect_decode_fail("{\"a\": \"\xED\xA0\x80\"}", 12, LT_DOSSIER_EUTF8, 400);     /* surrogate */
    expect_decode_fail("{\"a\": \"\xF4\x90\x80\x80\"}", 13, LT_DOSSIER_EUTF8, 400); /* > 10FFFF */
    expect_decode_fail("{\"a\": \"\xFF\"}", 10, LT_DOSSIER_EUTF8, 400);
    lt_dossier_error e;
    json_t *recs = NULL;
    bool single;
    assert_int_equal(decode("{\"a\": \"\xC3\"}", 10, &recs, &single, &e), LT_DOSSIER_EUTF8);
    assert_int_equal(e.offset, 7);
    /* Vietnamese and a 4-byte character are fine. */
    const char ok[] = "{\"a\": \"Nguyễn 😀\"}";
    json_decref(decode_ok(ok, strlen(ok), NULL));
}

static void test_decode_surrogates(void **state)
{
    (void)state;
    const char *lone[] = {"{\"a\": \"\\ud800\"}", "{\"a\": \"\\uDC00\"}",
                          "{\"a\": \"\\ud800\\u0041\"}", "{\"a\": \"x\\ud83d\"}",
                          "{\"a\": \"\\ude00\\ud83d\"}"};
    for (size_t i = 0; i < sizeof(lone) / sizeof(lone[0]); i++)
        expect_decode_fail(lone[i], strlen(lone[i]), LT_DOSSIER_ESURROGATE, 400);
    const char pair[] = "{\"a\": \"\\ud83d\\ude00 \\\\ud800\"}"; /* an escaped backslash */
    json_t *recs = decode_ok(pair, strlen(pair), NULL);
    assert_string_equal(json_string_value(json_object_get(json_array_get(recs, 0), "a")),
                        "😀 \\ud800");
    json_decref(recs);
}

static void test_decode_depth(void **state)
{
    (void)state;
    char buf[200];
    size_t n = nested(buf, LT_DOSSIER_MAX_DEPTH);
    json_decref(decode_ok(buf, n, NULL));
    n = nested(buf, LT_DOSSIER_MAX_DEPTH + 1);
    expect_decode_fail(buf, n, LT_DOSSIER_EDEPTH, 400);
    /* Brackets inside strings do not count. */
    const char s[] = "[\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"]";
    json_decref(decode_ok(s, strlen(s), NULL));
}

static void test_decode_batch_size(void **state)
{
    (void)state;
    for (int count = 1000; count <= 1001; count++) {
        size_t cap = (size_t)count * 3 + 2, n = 0;
        char *buf = malloc(cap);
        assert_non_null(buf);
        buf[n++] = '[';
        for (int i = 0; i < count; i++) {
            if (i)
                buf[n++] = ',';
            buf[n++] = '{';
            buf[n++] = '}';
        }
        buf[n++] = ']';
        json_t *recs = NULL;
        bool single;
        lt_dossier_error e;
        int rc = decode(buf, n, &recs, &single, &e);
        if (count == 1000) {
            assert_int_equal(rc, LT_DOSSIER_OK);
            assert_int_equal(json_array_size(recs), 1000);
            json_decref(recs);
        } else {
            assert_int_equal(rc, LT_DOSSIER_ETOOMANY);
            assert_int_equal(lt_dossier_rc_status(rc), 413);
            assert_string_equal(lt_dossier_rc_code(rc), "too_large");
        }
        free(buf);
    }
}

/* The gateway's configured limits (limits.depth, limits.records) replace
 * the defaults, and the refusal names the key. */
static void test_decode_configured_limits(void **state)
{
    (void)state;
    lt_dossier_limits lim = {.max_depth = 3, .max_records = 2};
    json_t *recs = NULL;
    bool single;
    lt_dossier_error e;
    const char ok[] = "[{\"a\": [1]}, {}]";
    assert_int_equal(lt_dossier_decode_limited(ok, strlen(ok), &lim, &recs, &single, &e),
                     LT_DOSSIER_OK);
    json_decref(recs);
    const char deep[] = "[{\"a\": [[1]]}]";
    assert_int_equal(lt_dossier_decode_limited(deep, strlen(deep), &lim, &recs, &single, &e),
                     LT_DOSSIER_EDEPTH);
    assert_non_null(strstr(e.message, "limits.depth"));
    assert_non_null(strstr(e.message, "3 levels"));
    const char three[] = "[{}, {}, {}]";
    assert_int_equal(lt_dossier_decode_limited(three, strlen(three), &lim, &recs, &single, &e),
                     LT_DOSSIER_ETOOMANY);
    assert_non_null(strstr(e.message, "limits.records"));
    /* NULL and zeros are the defaults. */
    assert_int_equal(lt_dossier_decode_limited(three, strlen(three), NULL, &recs, &single, &e),
                     LT_DOSSIER_OK);
    json_decref(recs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base_valid),
        cmocka_unit_test(test_required),
        cmocka_unit_test(test_required_dates_by_status),
        cmocka_unit_test(test_not_a_string),
        cmocka_unit_test(test_lists),
        cmocka_unit_test(test_id_list),
        cmocka_unit_test(test_history),
        cmocka_unit_test(test_dates),
        cmocka_unit_test(test_message_format),
        cmocka_unit_test(test_closed_sets),
        cmocka_unit_test(test_dossier_codes),
        cmocka_unit_test(test_procedure_codes),
        cmocka_unit_test(test_lengths_in_characters),
        cmocka_unit_test(test_cross_field),
        cmocka_unit_test(test_many_errors),
        cmocka_unit_test(test_masking),
        cmocka_unit_test(test_rejection_document),
        cmocka_unit_test(test_not_a_record),
        cmocka_unit_test(test_canonical),
        cmocka_unit_test(test_decode_shapes),
        cmocka_unit_test(test_decode_utf8),
        cmocka_unit_test(test_decode_surrogates),
        cmocka_unit_test(test_decode_depth),
        cmocka_unit_test(test_decode_batch_size),
        cmocka_unit_test(test_decode_configured_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
