/* Unit tests for lt_units' pure half: parsing a unit file and validating the
 * tree, alone and merged with stored units. Each refusal names the entry
 * (index and code) and the rule, because that is what an operator fixing a
 * file of hundreds of communes needs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lt_units.h"

/* A two-tier province with one commune carrying an old code. */
static const char two_tier[] =
    "[{\"code\":\"25\",\"name\":\"Tỉnh Phú Thọ\",\"level\":\"province\",\"parent\":null,"
    "\"agency_id\":\"000.00.00.H56\"},"
    "{\"code\":\"08866\",\"name\":\"Phường Phúc Yên\",\"level\":3,\"parent\":\"25\","
    "\"agency_id\":\"000.06.00.H56\",\"aliases\":[{\"code\":\"08869\",\"valid_to\":\"2025-06-30\"}]"
    "}]";

static lt_units *parse(const char *text, lt_units_error *err)
{
    return lt_units_parse(text, strlen(text), err);
}

/* Parses and validates text alone; returns the rule broken, "" when valid.
 * The error must name want_index. */
static void refused(const char *text, const char *rule, long want_index, const char *needle)
{
    lt_units_error err;
    lt_units *u = parse(text, &err);
    if (u) {
        int rc = lt_units_validate(u, NULL, &err);
        lt_units_destroy(&u);
        if (rc == 0)
            fail_msg("accepted: %s", text);
    }
    assert_string_equal(err.rule, rule);
    assert_int_equal(err.index, want_index);
    if (needle && !strstr(err.message, needle))
        fail_msg("message [%s] lacks [%s]", err.message, needle);
}

static void test_two_tier(void **state)
{
    (void)state;
    lt_units_error err;
    lt_units *u = parse(two_tier, &err);
    assert_non_null(u);
    assert_int_equal(lt_units_validate(u, NULL, &err), 0);
    assert_int_equal(lt_units_count(u), 2);
    const lt_unit *c = lt_units_find(u, "08866");
    assert_non_null(c);
    assert_int_equal(c->level, LT_UNIT_COMMUNE);
    assert_string_equal(c->parent, "25");
    assert_string_equal(c->code_system, "gso");
    assert_int_equal(c->naliases, 1);
    assert_string_equal(c->aliases[0].code, "08869");
    assert_null(c->aliases[0].agency_id);
    assert_null(c->aliases[0].valid_from);
    assert_string_equal(c->aliases[0].valid_to, "2025-06-30");
    lt_units_destroy(&u);
    assert_null(u);
    lt_units_destroy(&u); /* NULL is fine */
}

static void test_parents_first(void **state)
{
    (void)state;
    /* Children listed before their parents: written parents first. */
    const char *t =
        "[{\"code\":\"00001\",\"name\":\"Phường Phúc Xá\",\"level\":\"commune\","
        "\"parent\":\"001\"},"
        "{\"code\":\"001\",\"name\":\"Quận Ba Đình\",\"level\":\"2\",\"parent\":\"01\"},"
        "{\"code\":\"01\",\"name\":\"Thành phố Hà Nội\",\"level\":1}]";
    lt_units_error err;
    lt_units *u = parse(t, &err);
    assert_non_null(u);
    assert_int_equal(lt_units_validate(u, NULL, &err), 0);
    assert_string_equal(lt_units_at(u, 0)->code, "01");
    assert_string_equal(lt_units_at(u, 1)->code, "001");
    assert_string_equal(lt_units_at(u, 2)->code, "00001");
    assert_int_equal(lt_units_at(u, 2)->index, 0); /* file position kept */
    assert_non_null(lt_units_find(u, "001"));
    assert_null(lt_units_find(u, "002"));
    lt_units_destroy(&u);
}

static void test_levels(void **state)
{
    (void)state;
    const char *ok[] = {"\"ministry\"", "\"province\"", "\"district\"", "\"commune\"", "0", "3",
                        "\"0\"",        "\"3\""};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        char t[128];
        snprintf(t, sizeof(t), "[{\"code\":\"01\",\"name\":\"X\",\"level\":%s}]", ok[i]);
        lt_units_error err;
        lt_units *u = parse(t, &err);
        if (!u)
            fail_msg("%s refused: %s", ok[i], err.message);
        lt_units_destroy(&u);
    }
    const char *bad[] = {"\"huyen\"", "4", "-1", "\"4\"", "\"03\"", "1.0", "null", "true"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char t[128];
        snprintf(t, sizeof(t), "[{\"code\":\"01\",\"name\":\"X\",\"level\":%s}]", bad[i]);
        refused(t, "level", 0, "entry [0] (code 01)");
    }
    refused("[{\"code\":\"01\",\"name\":\"X\"}]", "level", 0, NULL);
}

static void test_shapes(void **state)
{
    (void)state;
    refused("{}", "shape", -1, "JSON array");
    refused("[1", "json", -1, "line 1");
    refused("[\"01\"]", "shape", 0, "entry [0]:");
    refused("[{\"name\":\"X\",\"level\":1}]", "shape", 0, "code");
    refused("[{\"code\":\"\",\"name\":\"X\",\"level\":1}]", "shape", 0, NULL);
    refused("[{\"code\":\"01\",\"level\":1}]", "shape", 0, "name");
    refused("[{\"code\":\"01\",\"name\":\"X\",\"level\":1,\"agency_id\":\"\"}]", "shape", 0,
            "agency_id");
    refused("[{\"code\":\"01\",\"name\":\"X\",\"level\":1,\"parent\":1}]", "shape", 0, "parent");
    refused("[{\"code\":\"01\",\"name\":\"X\",\"level\":1,\"agencyid\":\"x\"}]", "shape", 0,
            "unknown key agencyid");
    refused("[{\"code\":\"01\",\"name\":\"X\",\"level\":1,\"aliases\":{}}]", "shape", 0, NULL);
    refused("[{\"code\":\"01\",\"name\":\"X\",\"level\":1,\"code\":\"02\"}]", "json", -1, NULL);
    /* Comments are allowed, as in the configuration file. */
    lt_units_error err;
    lt_units *u = parse("[{\"#\":\"note\",\"code\":\"01\",\"name\":\"X\",\"level\":1}]", &err);
    assert_non_null(u);
    lt_units_destroy(&u);
    u = parse("[]", &err);
    assert_non_null(u);
    assert_int_equal(lt_units_validate(u, NULL, &err), 0);
    lt_units_destroy(&u);
}

static void test_duplicate_code(void **state)
{
    (void)state;
    refused("[{\"code\":\"01\",\"name\":\"A\",\"level\":1},{\"code\":\"02\",\"name\":\"B\","
            "\"level\":1},{\"code\":\"01\",\"name\":\"C\",\"level\":1}]",
            "duplicate-code", 2, "entry [2] (code 01): code already used by entry [0]");
}

static void test_unknown_parent(void **state)
{
    (void)state;
    refused("[{\"code\":\"01\",\"name\":\"A\",\"level\":1},{\"code\":\"001\",\"name\":\"B\","
            "\"level\":2,\"parent\":\"02\"}]",
            "unknown-parent", 1, "entry [1] (code 001): parent 02");
}

static void test_cycle(void **state)
{
    (void)state;
    refused("[{\"code\":\"001\",\"name\":\"A\",\"level\":2,\"parent\":\"001\"}]", "cycle", 0, NULL);
    refused("[{\"code\":\"01\",\"name\":\"P\",\"level\":1},"
            "{\"code\":\"001\",\"name\":\"A\",\"level\":2,\"parent\":\"003\"},"
            "{\"code\":\"002\",\"name\":\"B\",\"level\":2,\"parent\":\"001\"},"
            "{\"code\":\"003\",\"name\":\"C\",\"level\":2,\"parent\":\"002\"}]",
            "cycle", 1, "comes back");
}

static void test_level_order(void **state)
{
    (void)state;
    refused("[{\"code\":\"00001\",\"name\":\"W\",\"level\":3},"
            "{\"code\":\"001\",\"name\":\"D\",\"level\":2,\"parent\":\"00001\"}]",
            "level-order", 1, "a district cannot hang under 00001, a commune");
}

static void test_dates(void **state)
{
    (void)state;
    const char *fmt = "[{\"code\":\"01\",\"name\":\"X\",\"level\":1,\"aliases\":[{\"code\":\"99\","
                      "\"valid_from\":\"%s\",\"valid_to\":\"%s\"}]}]";
    const char *bad[][2] = {{"2025-13-01", "2025-12-31"}, {"2025-02-29", "2025-12-31"},
                            {"2025-1-01", "2025-12-31"},  {"20250101", "2025-12-31"},
                            {"2025-06-30", "2025-06-29"}, {"2024-04-31", "2025-01-01"}};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char t[256];
        snprintf(t, sizeof(t), fmt, bad[i][0], bad[i][1]);
        refused(t, "date", 0, "entry [0] (code 01)");
    }
    char t[256];
    snprintf(t, sizeof(t), fmt, "2024-02-29", "2024-02-29"); /* leap day, one-day validity */
    lt_units_error err;
    lt_units *u = parse(t, &err);
    assert_non_null(u);
    lt_units_destroy(&u);
}

static void test_alias_form(void **state)
{
    (void)state;
    refused("[{\"code\":\"01\",\"name\":\"X\",\"level\":1,\"aliases\":[{\"code\":\"9\","
            "\"agency_id\":\"H9\"}]}]",
            "alias", 0, "exactly one");
    refused("[{\"code\":\"01\",\"name\":\"X\",\"level\":1,\"aliases\":[{\"valid_to\":"
            "\"2025-06-30\"}]}]",
            "alias", 0, "exactly one");
    refused("[{\"code\":\"01\",\"name\":\"X\",\"level\":1,\"aliases\":[\"9\"]}]", "alias", 0, NULL);
}

static void test_alias_collision(void **state)
{
    (void)state;
    refused("[{\"code\":\"01\",\"name\":\"A\",\"level\":1},{\"code\":\"02\",\"name\":\"B\","
            "\"level\":1,\"aliases\":[{\"code\":\"01\"}]}]",
            "alias-collision", 1, "alias code 01 of unit 02 is the code of live unit 01");
    refused("[{\"code\":\"01\",\"name\":\"A\",\"level\":1,\"agency_id\":\"H01\"},{\"code\":\"02\","
            "\"name\":\"B\",\"level\":1,\"aliases\":[{\"agency_id\":\"H01\"}]}]",
            "alias-collision", 1, "alias agency id H01");
    refused("[{\"code\":\"01\",\"name\":\"A\",\"level\":1,\"agency_id\":\"H01\"},{\"code\":\"02\","
            "\"name\":\"B\",\"level\":1,\"agency_id\":\"H01\"}]",
            "duplicate-agency-id", 1, "agency id H01 is also the agency id of unit 01");
}

static void test_merged_with_stored(void **state)
{
    (void)state;
    lt_units_error err;
    lt_units *stored = parse(two_tier, &err);
    assert_non_null(stored);
    /* A new commune under a stored province. */
    lt_units *file = parse("[{\"code\":\"08890\",\"name\":\"Phường Xuân Hòa\",\"level\":3,"
                           "\"parent\":\"25\"}]",
                           &err);
    assert_non_null(file);
    assert_int_equal(lt_units_validate(file, stored, &err), 0);
    assert_int_equal(lt_units_validate(file, NULL, &err), -1);
    assert_string_equal(err.rule, "unknown-parent");
    lt_units_destroy(&file);
    /* A new unit whose code is a stored unit's alias. */
    file = parse("[{\"code\":\"08869\",\"name\":\"Phường Trưng Trắc\",\"level\":3,"
                 "\"parent\":\"25\"}]",
                 &err);
    assert_non_null(file);
    assert_int_equal(lt_units_validate(file, stored, &err), -1);
    assert_string_equal(err.rule, "alias-collision");
    assert_int_equal(err.index, 0);
    assert_string_equal(err.code, "08869");
    lt_units_destroy(&file);
    /* Taking a stored unit's agency id. */
    file = parse("[{\"code\":\"08890\",\"name\":\"X\",\"level\":3,\"parent\":\"25\","
                 "\"agency_id\":\"000.06.00.H56\"}]",
                 &err);
    assert_non_null(file);
    assert_int_equal(lt_units_validate(file, stored, &err), -1);
    assert_string_equal(err.rule, "duplicate-agency-id");
    lt_units_destroy(&file);
    /* Re-parenting a stored province under its own commune: a cycle through
     * a stored unit, blamed on the file's entry. */
    file = parse("[{\"code\":\"25\",\"name\":\"Tỉnh Phú Thọ\",\"level\":3,\"parent\":\"08866\"}]",
                 &err);
    assert_non_null(file);
    assert_int_equal(lt_units_validate(file, stored, &err), -1);
    assert_string_equal(err.rule, "cycle");
    assert_string_equal(err.code, "25");
    lt_units_destroy(&file);
    lt_units_destroy(&stored);
}

static void test_compare(void **state)
{
    (void)state;
    lt_units_error err;
    lt_units *a = parse(two_tier, &err), *b = parse(two_tier, &err);
    assert_non_null(a);
    assert_non_null(b);
    /* "gso" written out equals the default. */
    lt_units *c = parse("[{\"code\":\"25\",\"name\":\"Tỉnh Phú Thọ\",\"level\":\"1\","
                        "\"agency_id\":\"000.00.00.H56\",\"code_system\":\"gso\",\"url\":null}]",
                        &err);
    assert_non_null(c);
    assert_true(lt_unit_same_fields(lt_units_find(a, "25"), lt_units_find(c, "25")));
    assert_true(lt_unit_same_aliases(lt_units_find(a, "08866"), lt_units_find(b, "08866")));
    assert_false(lt_unit_same_aliases(lt_units_find(a, "08866"), lt_units_find(a, "25")));
    lt_units_destroy(&c);
    c = parse("[{\"code\":\"25\",\"name\":\"Tỉnh Phú Thọ (mới)\",\"level\":1,"
              "\"agency_id\":\"000.00.00.H56\"}]",
              &err);
    assert_non_null(c);
    assert_false(lt_unit_same_fields(lt_units_find(a, "25"), lt_units_find(c, "25")));
    lt_units_destroy(&c);
    lt_units_destroy(&a);
    lt_units_destroy(&b);
}

static void test_example_files(void **state)
{
    (void)state;
    const char *files[] = {LT_SOURCE_DIR "/deploy/units/example-3tier.json",
                           LT_SOURCE_DIR "/deploy/units/example-2tier.json"};
    for (size_t i = 0; i < 2; i++) {
        FILE *f = fopen(files[i], "rb");
        assert_non_null(f);
        static char buf[65536];
        size_t n = fread(buf, 1, sizeof(buf), f);
        fclose(f);
        lt_units_error err;
        lt_units *u = lt_units_parse(buf, n, &err);
        if (!u)
            fail_msg("%s: %s", files[i], err.message);
        if (lt_units_validate(u, NULL, &err) < 0)
            fail_msg("%s: %s", files[i], err.message);
        lt_units_destroy(&u);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_tier),        cmocka_unit_test(test_parents_first),
        cmocka_unit_test(test_levels),          cmocka_unit_test(test_shapes),
        cmocka_unit_test(test_duplicate_code),  cmocka_unit_test(test_unknown_parent),
        cmocka_unit_test(test_cycle),           cmocka_unit_test(test_level_order),
        cmocka_unit_test(test_dates),           cmocka_unit_test(test_alias_form),
        cmocka_unit_test(test_alias_collision), cmocka_unit_test(test_merged_with_stored),
        cmocka_unit_test(test_compare),         cmocka_unit_test(test_example_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
