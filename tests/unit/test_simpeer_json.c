/* lt_simpeer_json (the simulator's body reader, tests/sim): a portal call
 * and a parent array are projected to the fields the roles read, each
 * record with its exact raw text; escapes are decoded; every kind of
 * malformed document is refused, as jansson refuses it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "lt_simpeer.h"

static json_t *project(const char *text)
{
    return lt_simpeer_json_project(text, strlen(text));
}

static const char *str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

static void assert_raw(const json_t *obj, const char *want)
{
    size_t len;
    const char *raw = lt_simpeer_json_raw(obj, &len);
    assert_non_null(raw);
    assert_int_equal(len, strlen(want));
    assert_memory_equal(raw, want, len);
}

static void test_portal_call(void **state)
{
    (void)state;
    const char *r1 = "{\"MaHoSo\": \"000.00.06.H56-231027-0361\", \"MaTTHC\": \"2.000908\", "
                     "\"TrangThaiHoSo\": \"4\", \"ChuHoSo\": \"Nguyễn Văn An\", "
                     "\"QuaTrinhXuLy\": [{\"TrangThai\": \"2\"}], \"Gia\": 15000}";
    const char *r2 = "{\"MaHoSo\":\"B-2\",\"MaTTHC\":7}";
    char doc[1024];
    snprintf(doc, sizeof(doc),
             " {\"session\": \"ses-1\", \"madonvi\": \"000.00.00.H56\", \"service\": "
             "\"DongBoHoSoMC\", \"isUpdating\": true, \"data\": [%s, %s, 5, [1]]} \n",
             r1, r2);
    json_t *p = project(doc);
    assert_non_null(p);
    assert_string_equal(str(p, "session"), "ses-1");
    assert_string_equal(str(p, "service"), "DongBoHoSoMC");
    assert_string_equal(str(p, "madonvi"), "000.00.00.H56");
    /* Not a string: left out, so a role sees it missing. */
    assert_null(json_object_get(p, "isUpdating"));
    json_t *data = json_object_get(p, "data");
    assert_int_equal(json_array_size(data), 4);
    json_t *a = json_array_get(data, 0), *b = json_array_get(data, 1);
    assert_string_equal(str(a, "MaHoSo"), "000.00.06.H56-231027-0361");
    assert_string_equal(str(a, "TrangThaiHoSo"), "4");
    /* Personal data and lists are not projected; the raw text has them. */
    assert_null(json_object_get(a, "ChuHoSo"));
    assert_null(json_object_get(a, "QuaTrinhXuLy"));
    assert_raw(a, r1);
    assert_raw(b, r2);
    assert_null(json_object_get(b, "MaTTHC"));
    /* Scalars and arrays where a record belongs stand as null. */
    assert_true(json_is_null(json_array_get(data, 2)));
    assert_true(json_is_null(json_array_get(data, 3)));
    /* The whole document's raw text, without the surrounding blanks. */
    size_t len;
    const char *raw = lt_simpeer_json_raw(p, &len);
    assert_int_equal(len, strlen(doc) - 3);
    assert_memory_equal(raw, doc + 1, len);
    json_decref(p);
}

static void test_parent_array_and_scalars(void **state)
{
    (void)state;
    json_t *p = project("[{\"MaHoSo\": \"P-1\"}, {\"records\": [{\"MaHoSo\": \"deep\"}]}]");
    assert_int_equal(json_array_size(p), 2);
    assert_string_equal(str(json_array_get(p, 0), "MaHoSo"), "P-1");
    /* Only the top level's "data" / "records" hold records. */
    assert_null(json_object_get(json_array_get(p, 1), "records"));
    assert_raw(json_array_get(p, 1), "{\"records\": [{\"MaHoSo\": \"deep\"}]}");
    json_decref(p);
    p = project("{\"event\": \"status\", \"records\": [{\"MaHoSo\": \"W-1\"}]}");
    assert_string_equal(str(json_array_get(json_object_get(p, "records"), 0), "MaHoSo"), "W-1");
    json_decref(p);
    /* Any JSON value is a document; a scalar one projects to null. */
    const char *scalars[] = {"\"x\"", "-0.5e+3", "true", "false", "null", "0"};
    for (size_t i = 0; i < sizeof(scalars) / sizeof(*scalars); i++) {
        p = project(scalars[i]);
        assert_non_null(p);
        assert_true(json_is_null(p));
    }
    p = project("{}");
    assert_true(json_is_object(p));
    assert_raw(p, "{}");
    json_decref(p);
}

static void test_escapes_decoded(void **state)
{
    (void)state;
    json_t *p = project("{\"MaHoSo\": \"A\\\"1\\\\\\/\\n\", \"TrangThaiHoSo\": "
                        "\"Nguy\\u1ec5n \\ud83d\\udcc4\", \"m\\u0061donvi\": \"x\"}");
    assert_non_null(p);
    assert_string_equal(str(p, "MaHoSo"), "A\"1\\/\n");
    assert_string_equal(str(p, "TrangThaiHoSo"), "Nguyễn \xF0\x9F\x93\x84");
    /* Keys are compared decoded. */
    assert_string_equal(str(p, "madonvi"), "x");
    json_decref(p);
}

static void test_malformed_refused(void **state)
{
    (void)state;
    const char *bad[] = {
        "",
        "   ",
        "{",
        "{\"a\": 1,}",
        "[1 2]",
        "[1,]",
        "{\"a\" 1}",
        "{a: 1}",
        "{\"a\": 1} x",
        "01",
        "1.",
        "-",
        ".5",
        "1e",
        "tru",
        "nul",
        "\"unterminated",
        "\"tab\there\"",
        "\"\\x\"",
        "\"\\u12\"",
        "\"\\ud800\"",          /* lone high surrogate */
        "\"\\udc00\"",          /* lone low surrogate */
        "\"\\ud800\\u0041\"",   /* high surrogate, no low one */
        "\"\\u0000\"",          /* NUL, as jansson refuses it */
        "\"\xC0\x80\"",         /* overlong */
        "\"\xED\xA0\x80\"",     /* an encoded surrogate */
        "\"\xF5\x80\x80\x80\"", /* above U+10FFFF */
        "\"\xE1\xBB\"",         /* truncated */
        "{\"a\": \"\x80\"}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        json_t *p = project(bad[i]);
        if (p)
            fail_msg("accepted: [%s]", bad[i]);
    }
    /* An embedded NUL byte ends nothing: it is refused. */
    static const char nul[] = "{\"a\": \"b\0\"}";
    assert_null(lt_simpeer_json_project(nul, sizeof(nul) - 1));
    /* Nesting: deep is fine, too deep is refused. */
    char deep[600];
    memset(deep, '[', 300);
    memset(deep + 300, ']', 300);
    assert_null(lt_simpeer_json_project(deep, 600));
    json_t *p = lt_simpeer_json_project(deep + 200, 200);
    assert_non_null(p);
    json_decref(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_portal_call),
        cmocka_unit_test(test_parent_array_and_scalars),
        cmocka_unit_test(test_escapes_decoded),
        cmocka_unit_test(test_malformed_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
