/* Unit tests for the dossier reads' parameters (lt_read_query): defaults,
 * every parameter each verb takes, every refusal naming its parameter (the
 * 400's "field"), dossier codes from the path, the dead-letter replay's
 * body, and the JSON sent to the reader (token included) read back the same
 * and refused when tampered with. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lt_test_query.h"

#include "lt_read_query.h"

/* Parses "k=v&k=v" for verb (no URL decoding: the HTTP layer does that). */
static int parse(lt_read_verb verb, const char *qs, lt_read_query *q, char *field, char *msg)
{
    lt_test_query s;
    lt_test_query_split(&s, qs);
    return lt_read_query_parse(verb, (const char *const *)s.keys, (const char *const *)s.values,
                               s.n, q, field, 80, msg, 256);
}

static void test_defaults(void **state)
{
    (void)state;
    char field[80], msg[256];
    for (int v = 0; v < LT_READ_NVERBS; v++) {
        lt_read_query q;
        assert_int_equal(parse((lt_read_verb)v, "", &q, field, msg), 0);
        assert_int_equal(q.verb, v);
        assert_int_equal(q.since, 0);
        assert_int_equal(q.limit, LT_READ_DEFAULT_LIMIT);
        assert_int_equal(q.status, 0);
        assert_string_equal(q.unit, "");
        assert_string_equal(q.prefix, "");
        assert_string_equal(q.code, "");
    }
}

static void test_verb_names(void **state)
{
    (void)state;
    for (int v = 0; v < LT_READ_NVERBS; v++) {
        lt_read_verb back;
        assert_int_equal(lt_read_verb_parse(lt_read_verb_name((lt_read_verb)v), &back), 0);
        assert_int_equal(back, v);
    }
    lt_read_verb back;
    assert_int_equal(lt_read_verb_parse("catalog", &back), -1);
    assert_int_equal(lt_read_verb_parse(NULL, &back), -1);
    assert_string_equal(lt_read_verb_name(LT_READ_DOSSIERS), "dossiers");
}

static void test_accepted(void **state)
{
    (void)state;
    lt_read_query q;
    char field[80], msg[256];
    assert_int_equal(
        parse(LT_READ_DOSSIERS, "unit=08707&status=10&since=42&limit=5000", &q, field, msg), 0);
    assert_string_equal(q.unit, "08707");
    assert_int_equal(q.status, 10);
    assert_int_equal(q.since, 42);
    assert_int_equal(q.limit, 5000);
    assert_int_equal(parse(LT_READ_EVENTS,
                           "prefix=dossier.08707.&since=9223372036854775807&limit=1", &q, field,
                           msg),
                     0);
    assert_string_equal(q.prefix, "dossier.08707.");
    assert_int_equal(q.since, INT64_MAX);
    assert_int_equal(q.limit, 1);
    /* An empty prefix is every topic. */
    assert_int_equal(parse(LT_READ_EVENTS, "prefix=", &q, field, msg), 0);
    assert_string_equal(q.prefix, "");
    assert_int_equal(parse(LT_READ_REJECTS, "since=7&unit=08869&limit=2", &q, field, msg), 0);
    assert_int_equal(q.since, 7);
    assert_string_equal(q.unit, "08869");
    assert_int_equal(
        parse(LT_READ_DEADLETTERS, "destination=ward:26734&since=5&limit=2", &q, field, msg), 0);
    assert_string_equal(q.destination, "ward:26734");
    assert_int_equal(q.since, 5);
    assert_int_equal(q.limit, 2);
}

static void test_refused(void **state)
{
    (void)state;
    static const struct {
        lt_read_verb verb;
        const char *qs, *field;
    } cases[] = {
        {LT_READ_DOSSIER, "unit=1", "unit"},
        {LT_READ_DOSSIER, "x", "x"},
        {LT_READ_DOSSIERS, "prefix=a", "prefix"},
        {LT_READ_DOSSIERS, "unit=", "unit"},
        {LT_READ_DOSSIERS, "unit", "unit"},
        {LT_READ_DOSSIERS, "unit=0123456789012345678901234567890123456789012345678901234567890123",
         "unit"},
        {LT_READ_DOSSIERS, "unit=a%0Ab", "unit"}, /* decoded below */
        {LT_READ_DOSSIERS, "status=0", "status"},
        {LT_READ_DOSSIERS, "status=11", "status"},
        {LT_READ_DOSSIERS, "status=04x", "status"},
        {LT_READ_DOSSIERS, "since=-1", "since"},
        {LT_READ_DOSSIERS, "since=+1", "since"},
        {LT_READ_DOSSIERS, "since=99999999999999999999", "since"},
        {LT_READ_DOSSIERS, "since=1&since=2", "since"},
        {LT_READ_DOSSIERS, "limit=0", "limit"},
        {LT_READ_DOSSIERS, "limit=5001", "limit"},
        {LT_READ_EVENTS, "unit=08707", "unit"},
        {LT_READ_EVENTS, "status=2", "status"},
        {LT_READ_EVENTS, "prefix=a&prefix=b", "prefix"},
        {LT_READ_EVENTS, "since=", "since"},
        {LT_READ_REJECTS, "prefix=x", "prefix"},
        {LT_READ_REJECTS, "status=1", "status"},
        {LT_READ_REJECTS, "limit=x", "limit"},
        {LT_READ_REJECTS, "destination=portal", "destination"},
        {LT_READ_DEADLETTERS, "destination=", "destination"},
        {LT_READ_DEADLETTERS, "unit=1", "unit"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char qs[128];
        snprintf(qs, sizeof(qs), "%s", cases[i].qs);
        char *esc = strstr(qs, "%0A");
        if (esc) { /* a control character, as the HTTP layer would decode it */
            esc[0] = '\n';
            memmove(esc + 1, esc + 3, strlen(esc + 3) + 1);
        }
        lt_read_query q;
        char field[80] = "", msg[256] = "";
        assert_int_equal(parse(cases[i].verb, qs, &q, field, msg), -1);
        if (strcmp(field, cases[i].field) != 0)
            fail_msg("case %s: field [%s], want [%s] (%s)", cases[i].qs, field, cases[i].field,
                     msg);
        assert_non_null(strstr(msg, cases[i].field));
    }
    /* A prefix one byte too long. */
    char qs[200] = "prefix=";
    memset(qs + 7, 'a', LT_READ_MAX_PREFIX + 1);
    qs[7 + LT_READ_MAX_PREFIX + 1] = '\0';
    lt_read_query q;
    char field[80], msg[256];
    assert_int_equal(parse(LT_READ_EVENTS, qs, &q, field, msg), -1);
    assert_string_equal(field, "prefix");
    qs[7 + LT_READ_MAX_PREFIX] = '\0';
    assert_int_equal(parse(LT_READ_EVENTS, qs, &q, field, msg), 0);
}

static void test_code(void **state)
{
    (void)state;
    lt_read_query q = {.verb = LT_READ_DOSSIER};
    assert_int_equal(lt_read_query_set_code(&q, "000.01.22.H56-240115-0001"), 0);
    assert_string_equal(q.code, "000.01.22.H56-240115-0001");
    assert_int_equal(lt_read_query_set_code(&q, ""), -1);
    assert_int_equal(lt_read_query_set_code(&q, "a/b"), -1);
    assert_int_equal(lt_read_query_set_code(&q, "a\tb"), -1);
    char longc[LT_READ_MAX_CODE + 2];
    memset(longc, '1', sizeof(longc) - 1);
    longc[sizeof(longc) - 1] = '\0';
    assert_int_equal(lt_read_query_set_code(&q, longc), -1);
    longc[LT_READ_MAX_CODE] = '\0';
    assert_int_equal(lt_read_query_set_code(&q, longc), 0);
}

static void test_json(void **state)
{
    (void)state;
    lt_read_query q, back;
    char field[80], msg[256], token[LT_TOKEN_MAX];
    assert_int_equal(
        parse(LT_READ_DOSSIERS, "unit=08707&status=4&since=3&limit=20", &q, field, msg), 0);
    json_t *j = lt_read_query_json(&q, "lt_0123456789_secret");
    assert_non_null(j);
    assert_int_equal(lt_read_query_from_json(LT_READ_DOSSIERS, j, &back, token, sizeof(token)), 0);
    assert_memory_equal(&q, &back, sizeof(q));
    assert_string_equal(token, "lt_0123456789_secret");
    /* The verb comes from its frame: the same params as a rejects read. */
    assert_int_equal(lt_read_query_from_json(LT_READ_REJECTS, j, &back, token, sizeof(token)), 0);
    assert_int_equal(back.verb, LT_READ_REJECTS);
    /* Values parse would never produce are refused. */
    json_object_set_new(j, "limit", json_integer(LT_READ_MAX_LIMIT + 1));
    assert_int_equal(lt_read_query_from_json(LT_READ_DOSSIERS, j, &back, token, sizeof(token)), -1);
    json_object_set_new(j, "limit", json_integer(20));
    json_object_set_new(j, "status", json_integer(11));
    assert_int_equal(lt_read_query_from_json(LT_READ_DOSSIERS, j, &back, token, sizeof(token)), -1);
    json_object_set_new(j, "status", json_integer(4));
    json_object_del(j, "token");
    assert_int_equal(lt_read_query_from_json(LT_READ_DOSSIERS, j, &back, token, sizeof(token)), -1);
    json_decref(j);
    /* A dossier read needs a code that could be one. */
    lt_read_query d = {.verb = LT_READ_DOSSIER, .limit = LT_READ_DEFAULT_LIMIT};
    j = lt_read_query_json(&d, "");
    assert_int_equal(lt_read_query_from_json(LT_READ_DOSSIER, j, &back, token, sizeof(token)), -1);
    json_decref(j);
    assert_int_equal(lt_read_query_set_code(&d, "000.01.22.H56-240115-0001"), 0);
    j = lt_read_query_json(&d, "");
    assert_int_equal(lt_read_query_from_json(LT_READ_DOSSIER, j, &back, token, sizeof(token)), 0);
    assert_string_equal(back.code, "000.01.22.H56-240115-0001");
    assert_string_equal(token, "");
    json_decref(j);
}

/* The replay body: accepted shapes, each refusal naming its member, and
 * the query reaching the reader unchanged. */
static void replay_refused(const char *body, const char *want_field)
{
    lt_read_query q;
    char field[80] = "", msg[256] = "";
    assert_int_equal(lt_read_replay_parse(body, body ? strlen(body) : 0, &q, field, sizeof(field),
                                          msg, sizeof(msg)),
                     -1);
    assert_string_equal(field, want_field);
    assert_true(msg[0] != '\0');
}

static void test_replay_body(void **state)
{
    (void)state;
    lt_read_query q;
    char field[80], msg[256], token[LT_TOKEN_MAX];
    const char *one = "{\"destination\": \"unit:243\", \"id\": 42}";
    assert_int_equal(lt_read_replay_parse(one, strlen(one), &q, field, 80, msg, 256), 0);
    assert_int_equal(q.verb, LT_READ_REPLAY);
    assert_string_equal(q.destination, "unit:243");
    assert_int_equal(q.id, 42);
    json_t *j = lt_read_query_json(&q, "tok");
    lt_read_query back;
    assert_int_equal(lt_read_query_from_json(LT_READ_REPLAY, j, &back, token, sizeof(token)), 0);
    assert_string_equal(back.destination, "unit:243");
    assert_int_equal(back.id, 42);
    json_decref(j);
    const char *all = "{\"all\": true, \"destination\": \"portal\"}";
    assert_int_equal(lt_read_replay_parse(all, strlen(all), &q, field, 80, msg, 256), 0);
    assert_string_equal(q.destination, "portal");
    assert_int_equal(q.id, 0);

    replay_refused(NULL, "body");
    replay_refused("", "body");
    replay_refused("[1]", "body");
    replay_refused("{\"destination\": \"portal\"", "body");
    replay_refused("{\"all\": true}", "destination");
    replay_refused("{\"destination\": \"\", \"all\": true}", "destination");
    replay_refused("{\"destination\": 3, \"all\": true}", "destination");
    replay_refused("{\"destination\": \"portal\"}", "id");
    replay_refused("{\"destination\": \"portal\", \"all\": false}", "all");
    replay_refused("{\"destination\": \"portal\", \"all\": 1}", "all");
    replay_refused("{\"destination\": \"portal\", \"id\": 0}", "id");
    replay_refused("{\"destination\": \"portal\", \"id\": \"7\"}", "id");
    replay_refused("{\"destination\": \"portal\", \"id\": 7, \"all\": true}", "all");
    replay_refused("{\"destination\": \"portal\", \"ids\": [7]}", "ids");

    /* The reader refuses a replay without a destination. */
    lt_read_query none = {.verb = LT_READ_REPLAY, .limit = LT_READ_DEFAULT_LIMIT};
    j = lt_read_query_json(&none, "");
    assert_int_equal(lt_read_query_from_json(LT_READ_REPLAY, j, &back, token, sizeof(token)), -1);
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),    cmocka_unit_test(test_verb_names),
        cmocka_unit_test(test_accepted),    cmocka_unit_test(test_refused),
        cmocka_unit_test(test_code),        cmocka_unit_test(test_json),
        cmocka_unit_test(test_replay_body),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
