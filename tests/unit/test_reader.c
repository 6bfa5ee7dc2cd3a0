/* Unit tests for GET /v1/catalog's parameters: defaults, every accepted
 * form, and every refusal naming its parameter (the 400's "field"). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lt_test_query.h"

#include "lt_reader.h"

/* Parses "k=v&k=v" (no URL decoding: the HTTP layer does that). */
static int parse(const char *qs, lt_catalog_query *q, char *field, char *msg)
{
    lt_test_query s;
    lt_test_query_split(&s, qs);
    return lt_catalog_query_parse((const char *const *)s.keys, (const char *const *)s.values, s.n,
                                  q, field, 80, msg, 256);
}

static void test_defaults(void **state)
{
    (void)state;
    lt_catalog_query q;
    char field[80], msg[256];
    assert_int_equal(parse("", &q, field, msg), 0);
    assert_int_equal(q.since, -1);
    assert_int_equal(q.level, -1);
    assert_int_equal(q.limit, LT_CATALOG_DEFAULT_LIMIT);
    assert_string_equal(q.after, "");
}

static void test_accepted(void **state)
{
    (void)state;
    lt_catalog_query q;
    char field[80], msg[256];
    assert_int_equal(
        parse("since=0&level=3&limit=5000&after=2.001234.000.00.00.H56", &q, field, msg), 0);
    assert_int_equal(q.since, 0);
    assert_int_equal(q.level, 3);
    assert_int_equal(q.limit, 5000);
    assert_string_equal(q.after, "2.001234.000.00.00.H56");
    assert_int_equal(parse("limit=1&since=9223372036854775807", &q, field, msg), 0);
    assert_int_equal(q.since, INT64_MAX);
    /* The reader gets it as JSON and reads back the same. */
    json_t *j = lt_catalog_query_json(&q);
    lt_catalog_query back;
    assert_int_equal(lt_catalog_query_from_json(j, &back), 0);
    assert_memory_equal(&q, &back, sizeof(q));
    json_decref(j);
}

static void test_refused(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"since=", "since"},
        {"since=abc", "since"},
        {"since=-1", "since"},
        {"since=1x", "since"},
        {"since=+1", "since"},
        {"since= 1", "since"},
        {"since=99999999999999999999", "since"},
        {"level=4", "level"},
        {"level=-1", "level"},
        {"level=", "level"},
        {"limit=0", "limit"},
        {"limit=5001", "limit"},
        {"limit=ten", "limit"},
        {"after=", "after"},
        {"sinse=1", "sinse"},
        {"limit=5&limit=6", "limit"},
        {"since", "since"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        lt_catalog_query q;
        char field[80] = "", msg[256] = "";
        assert_int_equal(parse(cases[i][0], &q, field, msg), -1);
        if (strcmp(field, cases[i][1]) != 0)
            fail_msg("case %s: field [%s], want [%s] (%s)", cases[i][0], field, cases[i][1], msg);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_accepted),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
