/* Unit tests for lt_outbox, the delivery outbox's pure parts: batch
 * idempotency keys (stable under reordering, different for different rows,
 * a single row keeps its own key, bad input refused), the id array and
 * delay parameters, and the claim row parser on results built in memory
 * (every field read, wrong shapes and values refused). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lt_outbox.h"
#include "lt_portal.h"

static void batch_key_single_row_is_the_row_key(void **state)
{
    (void)state;
    char key[LT_OUTBOX_KEY_MAX];
    int64_t one[] = {4711};
    assert_int_equal(lt_outbox_batch_key(one, 1, key, sizeof(key)), 0);
    assert_string_equal(key, "lt-4711");
}

static void batch_key_is_stable_and_distinct(void **state)
{
    (void)state;
    char a[LT_OUTBOX_KEY_MAX], b[LT_OUTBOX_KEY_MAX], c[LT_OUTBOX_KEY_MAX], d[LT_OUTBOX_KEY_MAX];
    int64_t s1[] = {10, 12, 11}, s2[] = {12, 11, 10}, s3[] = {10, 13, 12}, s4[] = {10, 1112};
    assert_int_equal(lt_outbox_batch_key(s1, 3, a, sizeof(a)), 0);
    assert_int_equal(lt_outbox_batch_key(s2, 3, b, sizeof(b)), 0);
    assert_int_equal(lt_outbox_batch_key(s3, 3, c, sizeof(c)), 0);
    assert_string_equal(a, b); /* a retry repeats the key whatever the order */
    assert_string_not_equal(a, c);
    assert_int_equal(strncmp(a, "lt-b-", 5), 0);
    assert_int_equal(strlen(a), 5 + 32);
    /* "10,1112" and "101,112" must not meet: the separator is hashed. */
    int64_t s5[] = {101, 112};
    assert_int_equal(lt_outbox_batch_key(s4, 2, c, sizeof(c)), 0);
    assert_int_equal(lt_outbox_batch_key(s5, 2, d, sizeof(d)), 0);
    assert_string_not_equal(c + strlen(c) - 16, d + strlen(d) - 16);
}

/* The delivery actor may key a portal batch with either: they must agree. */
static void batch_key_agrees_with_the_portal_client(void **state)
{
    (void)state;
    int64_t seqs[] = {907, 12, 5000, 13};
    lt_portal_item items[4];
    memset(items, 0, sizeof(items));
    for (size_t n = 1; n <= 4; n++) {
        for (size_t i = 0; i < n; i++)
            items[i].event_seq = seqs[i];
        char mine[LT_OUTBOX_KEY_MAX], theirs[LT_OUTBOX_KEY_MAX];
        assert_int_equal(lt_outbox_batch_key(seqs, n, mine, sizeof(mine)), 0);
        lt_portal_key(items, n, theirs, sizeof(theirs));
        assert_string_equal(mine, theirs);
    }
}

static void batch_key_refuses_bad_input(void **state)
{
    (void)state;
    char key[LT_OUTBOX_KEY_MAX];
    int64_t dup[] = {5, 6, 5}, neg[] = {5, -1}, ok[] = {5, 6};
    assert_int_equal(lt_outbox_batch_key(ok, 0, key, sizeof(key)), -1);
    assert_int_equal(lt_outbox_batch_key(dup, 3, key, sizeof(key)), -1);
    assert_int_equal(lt_outbox_batch_key(neg, 2, key, sizeof(key)), -1);
    assert_int_equal(lt_outbox_batch_key(ok, 2, key, 20), -1);
    assert_int_equal(lt_outbox_batch_key(ok, 1, key, 4), -1);
}

static void params(void **state)
{
    (void)state;
    int64_t ids[] = {1, 22, 9223372036854775807LL};
    char *p = lt_outbox_ids_param(ids, 3);
    assert_non_null(p);
    assert_string_equal(p, "{1,22,9223372036854775807}");
    free(p);
    p = lt_outbox_ids_param(ids, 0);
    assert_string_equal(p, "{}");
    free(p);
    char buf[32];
    assert_int_equal(lt_outbox_delay_param(1500, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "1500 milliseconds");
    assert_int_equal(lt_outbox_delay_param(-1, buf, sizeof(buf)), -1);
    assert_int_equal(lt_outbox_delay_param(1500, buf, 8), -1);
}

/* A result with the claim's nine columns and one row of the given values
 * (NULL = SQL NULL). */
static PGresult *claim_result(const char *const v[9], int nfields)
{
    PGresult *r = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
    PGresAttDesc att[9];
    static const char *names[9] = {"id",        "event_seq",   "dossier_code",    "record",
                                   "status",    "is_updating", "idempotency_key", "attempts",
                                   "superseded"};
    memset(att, 0, sizeof(att));
    for (int i = 0; i < nfields; i++)
        att[i].name = (char *)names[i];
    assert_true(PQsetResultAttrs(r, nfields, att));
    for (int i = 0; i < nfields; i++)
        assert_true(PQsetvalue(r, 0, i, (char *)v[i], v[i] ? (int)strlen(v[i]) : -1));
    return r;
}

static void parse_claim_row(void **state)
{
    (void)state;
    const char *v[9] = {
        "7", "42", "000.01.22.H56-250101-0002", "{\"MaHoSo\": \"x\"}", "4", "t", "lt-42", "2", "3"};
    PGresult *r = claim_result(v, 9);
    lt_outbox_item it;
    assert_int_equal(lt_outbox_parse_claim(r, 0, &it), 0);
    assert_int_equal(it.id, 7);
    assert_int_equal(it.event_seq, 42);
    assert_string_equal(it.dossier_code, "000.01.22.H56-250101-0002");
    assert_string_equal(it.record, "{\"MaHoSo\": \"x\"}");
    assert_int_equal(it.status, 4);
    assert_true(it.is_updating);
    assert_string_equal(it.idempotency_key, "lt-42");
    assert_int_equal(it.attempts, 2);
    assert_int_equal(it.superseded, 3);
    assert_int_equal(lt_outbox_parse_claim(r, 1, &it), -1); /* no such row */
    PQclear(r);
}

static void parse_claim_refuses(void **state)
{
    (void)state;
    const char *good[9] = {"7", "42", "D", "{}", "4", "f", "lt-42", "0", "0"};
    lt_outbox_item it = {.id = -5};
    /* A wrong shape: eight columns. */
    PGresult *r = claim_result(good, 8);
    assert_int_equal(lt_outbox_parse_claim(r, 0, &it), -1);
    PQclear(r);
    struct {
        int col;
        const char *value;
    } bad[] = {{0, "0"}, {0, "x"},   {1, "-3"}, {2, ""},   {3, NULL}, {4, "11"},
               {4, "0"}, {5, "yes"}, {6, ""},   {7, "-1"}, {8, "2x"}, {8, NULL}};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *v[9];
        memcpy(v, good, sizeof(v));
        v[bad[i].col] = bad[i].value;
        r = claim_result(v, 9);
        assert_int_equal(lt_outbox_parse_claim(r, 0, &it), -1);
        assert_int_equal(it.id, -5); /* untouched on failure */
        PQclear(r);
    }
    r = claim_result(good, 9);
    assert_int_equal(lt_outbox_parse_claim(r, 0, &it), 0);
    assert_false(it.is_updating);
    PQclear(r);
    assert_int_equal(lt_outbox_parse_claim(NULL, 0, &it), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(batch_key_single_row_is_the_row_key),
        cmocka_unit_test(batch_key_is_stable_and_distinct),
        cmocka_unit_test(batch_key_agrees_with_the_portal_client),
        cmocka_unit_test(batch_key_refuses_bad_input),
        cmocka_unit_test(params),
        cmocka_unit_test(parse_claim_row),
        cmocka_unit_test(parse_claim_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
