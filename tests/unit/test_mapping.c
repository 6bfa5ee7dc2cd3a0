/* Unit tests for lt_mapping: the shipped dialects against their example
 * payloads (each vendor example maps to exactly its canonical twin, and the
 * twin maps back), every kind of mapping error naming the vendor's own field,
 * refused dialect files, the portal quirks, and the acceptance item of the
 * issue: a dialect defined only here, in JSON, works without any C change. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <unistd.h>
#include <cmocka.h>

#include "lt_mapping.h"

#define DIALECTS LT_SOURCE_DIR "/adapters/dialects"

static lt_dialect *load_shipped(const char *name)
{
    char path[512], err[512] = "";
    snprintf(path, sizeof(path), "%s/%s.json", DIALECTS, name);
    lt_dialect *d = lt_dialect_load_file(path, err, sizeof(err));
    if (!d)
        fail_msg("%s", err);
    return d;
}

static lt_dialect *load_text(const char *text, char *err, size_t cap)
{
    json_error_t jerr;
    json_t *spec = json_loads(text, 0, &jerr);
    if (!spec)
        fail_msg("test spec is not JSON: %s", jerr.text);
    lt_dialect *d = lt_dialect_load_json(spec, "test", err, cap);
    json_decref(spec);
    return d;
}

static json_t *load_json(const char *path)
{
    json_error_t jerr;
    json_t *v = json_load_file(path, 0, &jerr);
    if (!v)
        fail_msg("%s: %s", path, jerr.text);
    return v;
}

static json_t *parse(const char *text)
{
    json_error_t jerr;
    json_t *v = json_loads(text, 0, &jerr);
    if (!v)
        fail_msg("bad test JSON: %s", jerr.text);
    return v;
}

/* Byte equality of the canonical dumps, the criterion. */
static void assert_same(const json_t *got, const json_t *want, const char *what)
{
    char *g = json_dumps(got, JSON_SORT_KEYS | JSON_COMPACT);
    char *w = json_dumps(want, JSON_SORT_KEYS | JSON_COMPACT);
    if (!g || !w || strcmp(g, w) != 0) {
        print_error("%s differs\n got: %s\nwant: %s\n", what, g ? g : "(null)", w ? w : "(null)");
        free(g);
        free(w);
        fail();
    }
    free(g);
    free(w);
}

static void print_errors(const lt_map_errors *e)
{
    for (size_t i = 0; i < e->count; i++)
        print_error("  %s\n", e->items[i].message);
}

static json_t *to_canonical_ok(const lt_dialect *d, const json_t *rec)
{
    lt_map_errors errs;
    json_t *out = lt_dialect_to_canonical(d, rec, &errs);
    if (!out) {
        print_errors(&errs);
        fail_msg("%s: to_canonical failed with %zu errors", lt_dialect_name(d), errs.total);
    }
    return out;
}

static json_t *from_canonical_ok(const lt_dialect *d, const json_t *rec, const char *now)
{
    lt_map_errors errs;
    json_t *out = lt_dialect_from_canonical(d, rec, now, &errs);
    if (!out) {
        print_errors(&errs);
        fail_msg("%s: from_canonical failed with %zu errors", lt_dialect_name(d), errs.total);
    }
    return out;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every example of a dialect: vendor -> canonical is exactly the twin, and
 * twin -> vendor -> canonical comes back to the twin. */
static void check_examples(const char *dialect, size_t want_at_least)
{
    lt_dialect *d = load_shipped(dialect);
    char dir[512];
    snprintf(dir, sizeof(dir), "%s/examples/%s", DIALECTS, dialect);
    DIR *dp = opendir(dir);
    assert_non_null(dp);
    char *names[64];
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(dp)) && n < 64) {
        size_t len = strlen(de->d_name);
        if (len > 5 && strcmp(de->d_name + len - 5, ".json") == 0 &&
            !strstr(de->d_name, ".canonical.json"))
            names[n++] = strdup(de->d_name);
    }
    closedir(dp);
    qsort(names, n, sizeof(names[0]), cmp_names);
    assert_true(n >= want_at_least);
    for (size_t i = 0; i < n; i++) {
        char path[1024], twin[1024];
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        snprintf(twin, sizeof(twin), "%s/%.*s.canonical.json", dir, (int)(strlen(names[i]) - 5),
                 names[i]);
        json_t *vendor = load_json(path);
        json_t *want = load_json(twin);
        json_t *got = to_canonical_ok(d, vendor);
        assert_same(got, want, path);
        json_t *back = from_canonical_ok(d, want, "20240101000000");
        json_t *again = to_canonical_ok(d, back);
        assert_same(again, want, twin);
        json_decref(again);
        json_decref(back);
        json_decref(got);
        json_decref(want);
        json_decref(vendor);
        free(names[i]);
    }
    lt_dialect_destroy(&d);
    assert_null(d);
}

static void test_examples_canonical(void **state)
{
    (void)state;
    check_examples("canonical", 3);
}

static void test_examples_vendor_a(void **state)
{
    (void)state;
    check_examples("vendor-a", 3);
}

static void test_examples_vendor_b(void **state)
{
    (void)state;
    check_examples("vendor-b", 3);
}

static void test_examples_portal(void **state)
{
    (void)state;
    check_examples("portal-national", 3);
}

/* Outbound to vendor A gives back the vendor's own record, minus the field
 * the dialect drops: numbers stay numbers, words stay words, unknown dates
 * stay left out. */
static void test_vendor_a_outbound_exact(void **state)
{
    (void)state;
    lt_dialect *d = load_shipped("vendor-a");
    const char *names[] = {"01-dang-xu-ly", "02-da-tra-ket-qua", "03-khong-tiep-nhan"};
    for (size_t i = 0; i < 3; i++) {
        char path[512], twin[512];
        snprintf(path, sizeof(path), "%s/examples/vendor-a/%s.json", DIALECTS, names[i]);
        snprintf(twin, sizeof(twin), "%s/examples/vendor-a/%s.canonical.json", DIALECTS, names[i]);
        json_t *vendor = load_json(path);
        json_t *canon = load_json(twin);
        json_object_del(vendor, "phienBan");
        json_t *out = from_canonical_ok(d, canon, NULL);
        assert_same(out, vendor, path);
        json_decref(out);
        json_decref(canon);
        json_decref(vendor);
    }
    lt_dialect_destroy(&d);
}

static const lt_map_error *find_error(const lt_map_errors *e, const char *vendor_path)
{
    for (size_t i = 0; i < e->count; i++) {
        if (strcmp(e->items[i].vendor_path, vendor_path) == 0)
            return &e->items[i];
    }
    print_errors(e);
    fail_msg("no error for %s", vendor_path);
    return NULL;
}

/* Several errors in one record, all reported, each naming the vendor field. */
static void test_errors_collected(void **state)
{
    (void)state;
    lt_dialect *d = load_shipped("vendor-a");
    json_t *rec = parse("{\"maTTHC\": 1003560, \"ngayHenTra\": \"2024-10-31\","
                        " \"trangThai\": \"DANG_XULY\", \"kenhThucHien\": 1.5,"
                        " \"loaiDoiTuong\": 7,"
                        " \"quaTrinhXuLy\": [{\"thoiDiemXuLy\": \"2024-10-31 08:00:00\","
                        "   \"trangThai\": \"DANG_XU_LY\"},"
                        "  {\"thoiDiemXuLy\": \"31/10/2024 08:00:00\", \"trangThai\": \"MOI\"},"
                        "  \"not an object\"],"
                        " \"lePhi\": {\"soTien\": 2000}}");
    lt_map_errors e;
    json_t *out = lt_dialect_to_canonical(d, rec, &e);
    assert_null(out);
    assert_int_equal(e.total, 10);
    assert_int_equal(e.count, 10);

    const lt_map_error *x = find_error(&e, "ngayHenTra");
    assert_string_equal(x->canonical, "NgayHenTra");
    assert_string_equal(x->expected, "yyyy-MM-dd HH:mm:ss");
    assert_string_equal(x->got, "\"2024-10-31\"");
    assert_string_equal(x->message, "field ngayHenTra (\xe2\x86\x92 NgayHenTra): expected "
                                    "yyyy-MM-dd HH:mm:ss, got \"2024-10-31\"");
    x = find_error(&e, "maHoSo");
    assert_string_equal(x->expected, "a value");
    assert_string_equal(x->got, "nothing");
    x = find_error(&e, "maTTHC");
    assert_string_equal(x->expected, "a string");
    assert_string_equal(x->got, "1003560");
    x = find_error(&e, "trangThai");
    assert_non_null(strstr(x->expected, "DANG_XU_LY"));
    assert_string_equal(x->got, "\"DANG_XULY\"");
    x = find_error(&e, "kenhThucHien");
    assert_string_equal(x->expected, "an integer");
    x = find_error(&e, "loaiDoiTuong");
    assert_string_equal(x->expected, "one of 0, 1, 2, 3");
    assert_string_equal(x->got, "7");
    x = find_error(&e, "quaTrinhXuLy[1].thoiDiemXuLy");
    assert_string_equal(x->canonical, "QuaTrinhXuLy[1].ThoiDiemXuLy");
    x = find_error(&e, "quaTrinhXuLy[1].trangThai");
    assert_string_equal(x->canonical, "QuaTrinhXuLy[1].TrangThai");
    x = find_error(&e, "quaTrinhXuLy[2]");
    assert_string_equal(x->expected, "an object");
    x = find_error(&e, "lePhi");
    assert_string_equal(x->expected, "an array");
    json_decref(rec);
    lt_dialect_destroy(&d);
}

/* Nested vendor paths are named in full, and a section of the wrong shape
 * is reported on the way to the field. */
static void test_errors_nested_vendor_b(void **state)
{
    (void)state;
    lt_dialect *d = load_shipped("vendor-b");
    json_t *rec = parse("{\"hoSo\": {\"thongTin\": {\"ma\": \"000.00.06.H56-231027-0361\","
                        " \"trangThai\": \"4\", \"kenh\": \"1\"}, \"thuTuc\": \"1.003560\","
                        " \"thoiGian\": {\"henTra\": \"2023-10-30 17:00:00\"}},"
                        " \"tienDo\": [{\"luc\": null, \"trangThaiSau\": \"4\"}]}");
    lt_map_errors e;
    assert_null(lt_dialect_to_canonical(d, rec, &e));
    const lt_map_error *x = find_error(&e, "hoSo.thoiGian.henTra");
    assert_string_equal(x->message, "field hoSo.thoiGian.henTra (\xe2\x86\x92 NgayHenTra): "
                                    "expected dd/MM/yyyy HH:mm:ss, got \"2023-10-30 17:00:00\"");
    x = find_error(&e, "hoSo.thuTuc.ma");
    assert_string_equal(x->canonical, "MaTTHC");
    x = find_error(&e, "tienDo[0].luc");
    assert_string_equal(x->expected, "a value");
    json_decref(rec);
    lt_dialect_destroy(&d);
}

/* Calendar-invalid dates are refused even when the shape is right. */
static void test_errors_impossible_date(void **state)
{
    (void)state;
    lt_dialect *d = load_shipped("vendor-b");
    json_t *rec =
        parse("{\"hoSo\": {\"thongTin\": {\"ma\": \"X-231027-0361\","
              " \"trangThai\": \"4\", \"kenh\": \"1\"}, \"thuTuc\": {\"ma\": \"2.000908\"},"
              " \"thoiGian\": {\"nop\": \"30/02/2024 08:00:00\","
              " \"henTra\": \"31/10/2024 24:00:00\"}}}");
    lt_map_errors e;
    assert_null(lt_dialect_to_canonical(d, rec, &e));
    assert_int_equal(e.total, 2);
    find_error(&e, "hoSo.thoiGian.nop");
    find_error(&e, "hoSo.thoiGian.henTra");
    json_decref(rec);
    lt_dialect_destroy(&d);
}

/* Outbound errors name the canonical field first, then the dialect's. */
static void test_errors_outbound(void **state)
{
    (void)state;
    lt_dialect *d = load_shipped("vendor-a");
    json_t *rec = parse("{\"MaHoSo\": \"A-231027-0001\", \"MaTTHC\": \"2.000908\","
                        " \"TrangThaiHoSo\": \"11\", \"KenhThucHien\": \"hai\","
                        " \"NgayHenTra\": \"2024-10-31\"}");
    lt_map_errors e;
    assert_null(lt_dialect_from_canonical(d, rec, NULL, &e));
    assert_int_equal(e.total, 3);
    const lt_map_error *x = find_error(&e, "ngayHenTra");
    assert_string_equal(x->message, "field NgayHenTra (\xe2\x86\x92 ngayHenTra): expected "
                                    "yyyyMMddHHmmss, got \"2024-10-31\"");
    x = find_error(&e, "trangThai");
    assert_string_equal(x->expected, "one of 1, 2, 3, 4, 5, 6, 7, 8, 9, 10");
    find_error(&e, "kenhThucHien");
    json_decref(rec);
    lt_dialect_destroy(&d);
}

/* Personal data never appears in clear in an error. */
static void test_errors_masked(void **state)
{
    (void)state;
    lt_dialect *d = load_shipped("vendor-a");
    json_t *rec = parse("{\"maHoSo\": \"A-231027-0001\", \"maTTHC\": \"2.000908\","
                        " \"trangThai\": \"MOI_DANG_KY\", \"kenhThucHien\": 2,"
                        " \"chuHoSo\": {\"ten\": \"Nguyễn Văn An\"}, \"soGiayTo\": 1203004567,"
                        " \"soDienThoai\": [\"0912345678\"], \"email\": 5}");
    lt_map_errors e;
    assert_null(lt_dialect_to_canonical(d, rec, &e));
    assert_int_equal(e.total, 4);
    for (size_t i = 0; i < e.count; i++) {
        assert_null(strstr(e.items[i].message, "Nguy"));
        assert_null(strstr(e.items[i].message, "Văn An"));
        assert_null(strstr(e.items[i].message, "1203004567"));
        assert_null(strstr(e.items[i].message, "0912345678"));
    }
    assert_string_equal(find_error(&e, "chuHoSo")->expected, "a string");
    assert_string_equal(find_error(&e, "soGiayTo")->expected, "a string");
    json_decref(rec);
    lt_dialect_destroy(&d);
}

/* More errors than the list holds: the first are kept, all are counted. */
static void test_errors_bounded(void **state)
{
    (void)state;
    lt_dialect *d = load_shipped("vendor-a");
    json_t *items = json_array();
    for (int i = 0; i < 40; i++)
        json_array_append_new(
            items, json_pack("{s:s, s:s}", "thoiDiemXuLy", "x", "trangThai", "DANG_XU_LY"));
    json_t *rec =
        json_pack("{s:s, s:s, s:s, s:i, s:o}", "maHoSo", "A-231027-0001", "maTTHC", "2.000908",
                  "trangThai", "DANG_XU_LY", "kenhThucHien", 1, "quaTrinhXuLy", items);
    lt_map_errors e;
    assert_null(lt_dialect_to_canonical(d, rec, &e));
    assert_int_equal(e.total, 40);
    assert_int_equal(e.count, LT_MAP_ERRORS_MAX);
    assert_string_equal(e.items[15].vendor_path, "quaTrinhXuLy[15].thoiDiemXuLy");
    json_decref(rec);
    lt_dialect_destroy(&d);
}

/* Malformed dialects are refused at load, naming the source and the rule. */
static void test_bad_dialects(void **state)
{
    (void)state;
    static const struct {
        const char *spec;
        const char *want;
    } cases[] = {
        {"{\"fields\": []}", "test: \"dialect\""},
        {"{\"dialect\": \"x\", \"feilds\": []}", "unknown key \"feilds\""},
        {"{\"dialect\": \"x\", \"fields\": [{\"vendor\": \"a\", \"canonical\": \"MaHoSo\","
         " \"type\": \"dat\"}]}",
         "test: fields[0] (a): unknown type \"dat\""},
        {"{\"dialect\": \"x\", \"fields\": [{\"vendor\": \"a\", \"canonical\": \"NgayHenTra\","
         " \"type\": \"date\", \"format\": \"yyyy-MM-dd hh:mm\"}]}",
         "fields[0] (a): bad date format \"yyyy-MM-dd hh:mm\": unknown pattern letter 'h'"},
        {"{\"dialect\": \"x\", \"fields\": [{\"vendor\": \"a\", \"canonical\": \"NgayHenTra\","
         " \"type\": \"date\", \"format\": \"yy-MM-dd\"}]}",
         "bad date format \"yy-MM-dd\": \"yy\""},
        {"{\"dialect\": \"x\", \"fields\": [{\"vendor\": \"a\", \"canonical\": \"NgayHenTra\","
         " \"type\": \"date\"}]}",
         "needs \"format\""},
        {"{\"dialect\": \"x\", \"fields\": [{\"vendor\": \"s\", \"canonical\": \"TrangThaiHoSo\","
         " \"type\": \"enum\", \"map\": {\"XONG\": \"9\", \"HOAN_THANH\": \"9\"}}]}",
         "fields[0] (s): map is not a bijection: \"XONG\" and \"HOAN_THANH\" both give \"9\""},
        {"{\"dialect\": \"x\", \"fields\": [{\"vendor\": \"a\", \"canonical\": \"NgayHentra\"}]}",
         "unknown canonical field \"NgayHentra\""},
        {"{\"dialect\": \"x\", \"fields\": [{\"vendor\": \"h[]\", \"canonical\": "
         "\"QuaTrinhXuLy[]\", \"type\": \"list\", \"items\": [{\"vendor\": \"t\", \"canonical\": "
         "\"ThoiDiem\"}]}]}",
         "fields[0].items[0] (t): unknown canonical field \"ThoiDiem\""},
        {"{\"dialect\": \"x\", \"fields\": [{\"vendor\": \"a\", \"canonical\": \"MaHoSo\","
         " \"requird\": true}]}",
         "fields[0]: unknown key \"requird\""},
        {"{\"dialect\": \"x\", \"fields\": [{\"vendor\": \"a\", \"canonical\": \"MaHoSo\","
         " \"const\": \"1\"}]}",
         "\"const\" takes vendor (sent out) or canonical (set in), not both"},
        {"{\"dialect\": \"x\", \"fields\": [{\"vendor\": \"a[]\", \"canonical\": "
         "\"QuaTrinhXuLy\", \"type\": \"list\"}]}",
         "\"[]\" must mark both sides or neither"},
        {"{\"dialect\": \"x\", \"fields\": [{\"vendor\": \"a\", \"canonical\": \"MaHoSo\"},"
         " {\"vendor\": \"b\", \"canonical\": \"MaHoSo\"}]}",
         "canonical field \"MaHoSo\" is also named by rule 0"},
        {"{\"dialect\": \"x\", \"fields\": [{\"vendor\": \"a..b\", \"canonical\": \"MaHoSo\"}]}",
         "empty segment"},
        {"{\"dialect\": \"x\", \"fields\": [{\"vendor\": \"a\"}]}", "needs both"},
        {"{\"dialect\": \"x\", \"fields\": [{\"vendor\": \"a\", \"canonical\": \"LoaiDoiTuong\","
         " \"type\": \"enum\", \"as\": \"number\", \"map\": {\"mot\": \"1\"}}]}",
         "map key \"mot\" is not an integer"},
        {"{\"dialect\": \"x\", \"filter\": [{\"procedures\": [\"2.001226\"], \"statuses\": "
         "[\"11\"]}]}",
         "test: filter[0]: status \"11\" is not a TrangThaiHoSo code"},
        {"{\"dialect\": \"x\", \"directions\": [\"inbound\"]}", "directions"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char err[512] = "";
        lt_dialect *d = load_text(cases[i].spec, err, sizeof(err));
        if (d || !strstr(err, cases[i].want)) {
            lt_dialect_destroy(&d);
            fail_msg("case %zu: want \"%s\" in \"%s\"", i, cases[i].want, err);
        }
    }
}

/* A non-bijective map is fine for a dialect that only comes in. */
static void test_one_way_dialect(void **state)
{
    (void)state;
    char err[512] = "";
    lt_dialect *d = load_text("{\"dialect\": \"in-only\", \"directions\": [\"to_canonical\"],"
                              " \"fields\": [{\"vendor\": \"s\", \"canonical\": \"TrangThaiHoSo\","
                              " \"type\": \"enum\", \"map\": {\"XONG\": \"9\", \"HOAN_THANH\": "
                              "\"9\"}}]}",
                              err, sizeof(err));
    assert_non_null(d);
    json_t *rec = parse("{\"s\": \"HOAN_THANH\"}");
    json_t *out = to_canonical_ok(d, rec);
    assert_string_equal(json_string_value(json_object_get(out, "TrangThaiHoSo")), "9");
    lt_map_errors e;
    assert_null(lt_dialect_from_canonical(d, out, NULL, &e));
    assert_int_equal(e.total, 1);
    assert_non_null(strstr(e.items[0].message, "from_canonical"));
    json_decref(out);
    json_decref(rec);
    lt_dialect_destroy(&d);
}

static void test_load_file_errors(void **state)
{
    (void)state;
    char err[512] = "";
    assert_null(lt_dialect_load_file("/nonexistent/vendor-z.json", err, sizeof(err)));
    assert_non_null(strstr(err, "/nonexistent/vendor-z.json"));
    char path[] = "/tmp/lt_mapping_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *text = "{\"dialect\": \"z\", \"fields\": [{\"vendor\": \"a\", \"canonical\": "
                       "\"MaHoSo\", \"type\": \"date\", \"format\": \"dd/MM/yyyy\"},]}";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    assert_null(lt_dialect_load_file(path, err, sizeof(err)));
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "line 1"));
    unlink(path);
}

/* The acceptance item: a vendor this code base has never seen, with ISO and
 * epoch dates, numeric enums, nested output, a list of nested items, a
 * constant it requires, defaults and dropped extras, works from JSON alone,
 * in a temporary file as an operator would ship it. */
static const char *vendor_c_spec =
    "{\"dialect\": \"vendor-c\", \"unknown_fields\": \"drop\", \"fields\": ["
    " {\"vendor\": \"record.id\", \"canonical\": \"MaHoSo\", \"required\": true},"
    " {\"vendor\": \"record.procedure\", \"canonical\": \"MaTTHC\", \"required\": true},"
    " {\"vendor\": \"record.state\", \"canonical\": \"TrangThaiHoSo\", \"type\": \"enum\","
    "  \"as\": \"number\", \"map\": {\"10\": \"1\", \"20\": \"2\", \"40\": \"4\", \"90\": \"9\"}},"
    " {\"vendor\": \"channel\", \"canonical\": \"KenhThucHien\", \"default\": \"2\"},"
    " {\"vendor\": \"applicant.kind\", \"canonical\": \"LoaiDoiTuong\", \"type\": \"enum\","
    "  \"map\": {\"PERSON\": \"1\", \"COMPANY\": \"2\"}},"
    " {\"vendor\": \"dates.received\", \"canonical\": \"NgayTiepNhan\", \"type\": \"date\","
    "  \"format\": \"yyyy-MM-ddTHH:mm:ss\"},"
    " {\"vendor\": \"dates.due\", \"canonical\": \"NgayHenTra\", \"type\": \"date\","
    "  \"format\": \"epoch_ms\", \"empty\": \"null\"},"
    " {\"vendor\": \"source\", \"const\": \"lienthong\"},"
    " {\"canonical\": \"NoiNopHoSo\", \"const\": \"1\"},"
    " {\"vendor\": \"version\", \"type\": \"number\", \"const\": \"3\"},"
    " {\"vendor\": \"steps[]\", \"canonical\": \"QuaTrinhXuLy[]\", \"type\": \"list\","
    "  \"unknown_fields\": \"keep\", \"items\": ["
    "   {\"vendor\": \"at\", \"canonical\": \"ThoiDiemXuLy\", \"type\": \"date\","
    "    \"format\": \"yyyy-MM-ddTHH:mm:ss\"},"
    "   {\"vendor\": \"by.name\", \"canonical\": \"NguoiXuLy\"},"
    "   {\"vendor\": \"state\", \"canonical\": \"TrangThai\", \"type\": \"enum\","
    "    \"as\": \"number\", \"map\": {\"10\": \"1\", \"20\": \"2\", \"40\": \"4\", \"90\": \"9\"}}"
    " ]}"
    "]}";

static void test_new_dialect_without_code(void **state)
{
    (void)state;
    char path[] = "/tmp/lt_vendor_c_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, vendor_c_spec, strlen(vendor_c_spec)),
                     (ssize_t)strlen(vendor_c_spec));
    close(fd);
    char err[512] = "";
    lt_dialect *d = lt_dialect_load_file(path, err, sizeof(err));
    unlink(path);
    if (!d)
        fail_msg("%s", err);
    assert_string_equal(lt_dialect_name(d), "vendor-c");

    /* 1698370200000 ms = 2023-10-27 01:30:00 UTC = 08:30:00 in Hà Nội. */
    json_t *rec = parse("{\"record\": {\"id\": \"000.00.06.H56-231027-0361\","
                        "  \"procedure\": \"1.003560.000.00.00.H56\", \"state\": 40},"
                        " \"applicant\": {\"kind\": \"PERSON\"},"
                        " \"dates\": {\"received\": \"2023-10-27T08:30:00\","
                        "  \"due\": 1698370200000},"
                        " \"internal\": {\"row\": 17},"
                        " \"steps\": [{\"at\": \"2023-10-27T08:30:00\", \"by\": {\"name\": "
                        "\"Lê Thị Hoa\"}, \"state\": 20, \"note\": \"giữ nguyên\"}]}");
    json_t *want = parse("{\"MaHoSo\": \"000.00.06.H56-231027-0361\","
                         " \"MaTTHC\": \"1.003560.000.00.00.H56\", \"TrangThaiHoSo\": \"4\","
                         " \"KenhThucHien\": \"2\", \"LoaiDoiTuong\": \"1\","
                         " \"NgayTiepNhan\": \"20231027083000\", \"NgayHenTra\": "
                         "\"20231027083000\", \"NoiNopHoSo\": \"1\","
                         " \"QuaTrinhXuLy\": [{\"ThoiDiemXuLy\": \"20231027083000\","
                         "  \"NguoiXuLy\": \"Lê Thị Hoa\", \"TrangThai\": \"2\","
                         "  \"note\": \"giữ nguyên\"}]}");
    json_t *got = to_canonical_ok(d, rec);
    assert_same(got, want, "vendor-c inbound");

    json_t *back = from_canonical_ok(d, got, NULL);
    json_t *want_back =
        parse("{\"record\": {\"id\": \"000.00.06.H56-231027-0361\","
              "  \"procedure\": \"1.003560.000.00.00.H56\", \"state\": 40},"
              " \"channel\": \"2\", \"applicant\": {\"kind\": \"PERSON\"},"
              " \"dates\": {\"received\": \"2023-10-27T08:30:00\", \"due\": 1698370200000},"
              " \"source\": \"lienthong\", \"version\": 3,"
              " \"steps\": [{\"at\": \"2023-10-27T08:30:00\", \"by\": {\"name\": \"Lê Thị Hoa\"},"
              "  \"state\": 20, \"note\": \"giữ nguyên\"}]}");
    assert_same(back, want_back, "vendor-c outbound");

    /* An unknown date comes back as the dialect's null. */
    json_object_set_new(got, "NgayHenTra", json_string(""));
    json_t *back2 = from_canonical_ok(d, got, NULL);
    assert_true(json_is_null(json_object_get(json_object_get(back2, "dates"), "due")));

    json_decref(back2);
    json_decref(want_back);
    json_decref(back);
    json_decref(got);
    json_decref(want);
    json_decref(rec);
    lt_dialect_destroy(&d);
}

/* Epoch dates around the day boundary and before 1970 use UTC+7. */
static void test_epoch_boundaries(void **state)
{
    (void)state;
    char err[256];
    lt_dialect *d = load_text("{\"dialect\": \"e\", \"fields\": [{\"vendor\": \"t\", "
                              "\"canonical\": \"NgayNopHoSo\", \"type\": \"date\", \"format\": "
                              "\"epoch_ms\"}]}",
                              err, sizeof(err));
    assert_non_null(d);
    static const struct {
        long long ms;
        const char *want;
    } cases[] = {{0, "19700101070000"},
                 {-25200000, "19700101000000"},
                 {-25200001, "19691231235959"},
                 {1709225999000, "20240229235959"},
                 {1709226000000, "20240301000000"}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *rec = json_pack("{s:I}", "t", (json_int_t)cases[i].ms);
        json_t *out = to_canonical_ok(d, rec);
        assert_string_equal(json_string_value(json_object_get(out, "NgayNopHoSo")), cases[i].want);
        json_t *back = from_canonical_ok(d, out, NULL);
        long long ms = cases[i].ms - ((cases[i].ms % 1000 + 1000) % 1000);
        assert_int_equal(json_integer_value(json_object_get(back, "t")), ms);
        json_decref(back);
        json_decref(out);
        json_decref(rec);
    }
    lt_dialect_destroy(&d);
}

static void test_portal_filter(void **state)
{
    (void)state;
    lt_dialect *d = load_shipped("portal-national");
    static const struct {
        const char *code, *status;
        bool want;
    } cases[] = {
        {"2.001226", "2", true},
        {"2.001226", "5", true},
        {"2.001226", "4", false},
        {"2.001226.000.00.00.H56", "4", false},
        {"2.001226.000.00.00.H56", "5", true},
        {"2.0012260", "4", true},
        {"1.000997", "10", false},
        {"1.003560.000.00.00.H56", "4", true},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *rec =
            json_pack("{s:s, s:s}", "MaTTHC", cases[i].code, "TrangThaiHoSo", cases[i].status);
        if (lt_dialect_accepts(d, rec) != cases[i].want)
            fail_msg("case %zu: %s at %s", i, cases[i].code, cases[i].status);
        json_decref(rec);
    }
    lt_dialect *a = load_shipped("vendor-a");
    json_t *rec = json_pack("{s:s, s:s}", "MaTTHC", "2.001226", "TrangThaiHoSo", "4");
    assert_true(lt_dialect_accepts(a, rec));
    json_decref(rec);
    lt_dialect_destroy(&a);
    lt_dialect_destroy(&d);
}

static void test_portal_fill_now(void **state)
{
    (void)state;
    lt_dialect *d = load_shipped("portal-national");
    json_t *rec = parse("{\"MaHoSo\": \"A-231027-0001\", \"MaTTHC\": \"2.000908\","
                        " \"TrangThaiHoSo\": \"4\", \"KenhThucHien\": \"1\","
                        " \"QuaTrinhXuLy\": [{\"ThoiDiemXuLy\": \"20231027083000\", "
                        "\"TrangThai\": \"2\"}, {\"ThoiDiemXuLy\": \"\", \"TrangThai\": \"4\"},"
                        " {\"TrangThai\": \"4\", \"NguoiXuLy\": \"Lê Thị Hoa\"}]}");
    json_t *out = from_canonical_ok(d, rec, "20231028091500");
    json_t *h = json_object_get(out, "QuaTrinhXuLy");
    assert_string_equal(json_string_value(json_object_get(json_array_get(h, 0), "ThoiDiemXuLy")),
                        "20231027083000");
    assert_string_equal(json_string_value(json_object_get(json_array_get(h, 1), "ThoiDiemXuLy")),
                        "20231028091500");
    assert_string_equal(json_string_value(json_object_get(json_array_get(h, 2), "ThoiDiemXuLy")),
                        "20231028091500");
    assert_string_equal(json_string_value(json_object_get(json_array_get(h, 2), "NguoiXuLy")),
                        "Lê Thị Hoa");
    assert_string_equal(json_string_value(json_object_get(out, "TrangThaiHoSo")), "4");
    json_decref(out);

    /* Without the caller's time the engine cannot fill it, and says so. */
    lt_map_errors e;
    assert_null(lt_dialect_from_canonical(d, rec, NULL, &e));
    assert_int_equal(e.total, 2);
    assert_string_equal(e.items[0].vendor_path, "QuaTrinhXuLy[1].ThoiDiemXuLy");
    json_decref(rec);
    lt_dialect_destroy(&d);
}

/* Unknown members pass through under their own names (top level, inside
 * list items, and from inside a vendor section), and can be switched off. */
static void test_passthrough(void **state)
{
    (void)state;
    lt_dialect *d = load_shipped("vendor-b");
    json_t *rec = parse("{\"hoSo\": {\"thongTin\": {\"ma\": \"A-231027-0001\", \"trangThai\": "
                        "\"1\", \"kenh\": \"2\", \"uuTien\": \"cao\"}, \"thuTuc\": {\"ma\": "
                        "\"2.000908\"}}, \"nguon\": {\"app\": \"mobile\"},"
                        " \"tienDo\": [{\"luc\": \"27/10/2023 08:30:00\", \"trangThaiSau\": \"1\","
                        " \"buoc\": 1, \"thietBi\": \"kiosk-2\"}]}");
    json_t *out = to_canonical_ok(d, rec);
    assert_string_equal(json_string_value(json_object_get(out, "uuTien")), "cao");
    assert_string_equal(json_string_value(json_object_get(json_object_get(out, "nguon"), "app")),
                        "mobile");
    json_t *step = json_array_get(json_object_get(out, "QuaTrinhXuLy"), 0);
    assert_string_equal(json_string_value(json_object_get(step, "thietBi")), "kiosk-2");
    assert_null(json_object_get(step, "buoc"));
    assert_null(json_object_get(out, "hoSo"));
    json_decref(out);
    json_decref(rec);
    lt_dialect_destroy(&d);

    char err[256];
    d = load_text("{\"dialect\": \"strict\", \"unknown_fields\": \"drop\", \"fields\": "
                  "[{\"vendor\": \"ma\", \"canonical\": \"MaHoSo\"}]}",
                  err, sizeof(err));
    assert_non_null(d);
    rec = parse("{\"ma\": \"A-231027-0001\", \"khac\": 1}");
    out = to_canonical_ok(d, rec);
    assert_int_equal(json_object_size(out), 1);
    json_decref(out);
    json_decref(rec);
    lt_dialect_destroy(&d);
}

/* The result shares nothing with the input: changing one leaves the other. */
static void test_result_is_independent(void **state)
{
    (void)state;
    lt_dialect *d = load_shipped("canonical");
    json_t *rec = parse("{\"MaHoSo\": \"A\", \"DanhSachLePhi\": [{\"Gia\": \"0\"}]}");
    json_t *out = to_canonical_ok(d, rec);
    json_object_set_new(json_array_get(json_object_get(out, "DanhSachLePhi"), 0), "Gia",
                        json_string("5"));
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(rec, "DanhSachLePhi"), 0), "Gia")),
                        "0");
    json_decref(out);
    json_decref(rec);
    lt_dialect_destroy(&d);
    lt_dialect_destroy(&d); /* destroying NULL is a no-op */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_examples_canonical),
        cmocka_unit_test(test_examples_vendor_a),
        cmocka_unit_test(test_examples_vendor_b),
        cmocka_unit_test(test_examples_portal),
        cmocka_unit_test(test_vendor_a_outbound_exact),
        cmocka_unit_test(test_errors_collected),
        cmocka_unit_test(test_errors_nested_vendor_b),
        cmocka_unit_test(test_errors_impossible_date),
        cmocka_unit_test(test_errors_outbound),
        cmocka_unit_test(test_errors_masked),
        cmocka_unit_test(test_errors_bounded),
        cmocka_unit_test(test_bad_dialects),
        cmocka_unit_test(test_one_way_dialect),
        cmocka_unit_test(test_load_file_errors),
        cmocka_unit_test(test_new_dialect_without_code),
        cmocka_unit_test(test_epoch_boundaries),
        cmocka_unit_test(test_portal_filter),
        cmocka_unit_test(test_portal_fill_now),
        cmocka_unit_test(test_passthrough),
        cmocka_unit_test(test_result_is_independent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
