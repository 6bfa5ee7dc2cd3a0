/* lt_outbox: statement texts, parameters and result parsing for the
 * delivery outbox (schemas/sql/0009_delivery.sql). Kept apart from I/O the
 * way lt_wbatch_sql.c is, so the delivery actor (non-blocking connection)
 * and the operator commands (blocking one) share them and the unit tests
 * can check them without a server. */
#include "lt_outbox.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char LT_OUTBOX_ROUTE_SQL[] = "SELECT lt_route_events($1::integer)";
const char LT_OUTBOX_ROUTE_UNROUTED_SQL[] = "SELECT lt_route_unrouted()";
const char LT_OUTBOX_CLAIM_SQL[] =
    "SELECT id, event_seq, dossier_code, record::text, status, is_updating, idempotency_key,"
    " attempts, superseded FROM lt_claim($1::text, $2::bigint, $3::integer)";
const char LT_OUTBOX_CLAIM_DUE_SQL[] =
    "SELECT id, event_seq, dossier_code, record::text, status, is_updating, idempotency_key,"
    " attempts, superseded FROM lt_claim_due($1::text, $2::bigint, $3::integer, $4::interval)";
const char LT_OUTBOX_SETTLE_SQL[] =
    "SELECT delivered, retried, dead, expired, circuit_was, circuit_now, failures"
    " FROM lt_settle($1::text, $2::jsonb, $3::interval, $4::integer, $5::interval)";
const char LT_OUTBOX_DELIVERED_SQL[] = "SELECT lt_delivered($1::bigint[])";
const char LT_OUTBOX_RETRY_SQL[] =
    "SELECT lt_retry($1::bigint, $2::interval, $3::text, $4::integer)";
const char LT_OUTBOX_DEAD_SQL[] = "SELECT lt_dead($1::bigint, $2::text, $3::integer, $4::text)";
const char LT_OUTBOX_RECLAIM_SQL[] = "SELECT lt_reclaim($1::interval)";
const char LT_OUTBOX_REPLAY_SQL[] =
    "SELECT replayed, superseded FROM lt_replay_dead($1::text, $2::bigint)";

enum { C_ID, C_SEQ, C_CODE, C_RECORD, C_STATUS, C_UPDATING, C_KEY, C_ATTEMPTS, C_SUP, C_N };

static int parse_i64(const PGresult *res, int row, int c, int64_t min, int64_t *ret)
{
    if (PQgetisnull(res, row, c))
        return -1;
    const char *s = PQgetvalue(res, row, c);
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end != '\0' || v < min)
        return -1;
    *ret = v;
    return 0;
}

int lt_outbox_parse_claim(const PGresult *res, int row, lt_outbox_item *ret)
{
    if (!res || PQnfields(res) != C_N || row < 0 || row >= PQntuples(res))
        return -1;
    for (int c = 0; c < C_N; c++)
        if (PQgetisnull(res, row, c))
            return -1;
    lt_outbox_item it = {0};
    int64_t status = 0, attempts = 0, sup = 0;
    const char *upd = PQgetvalue(res, row, C_UPDATING);
    if (parse_i64(res, row, C_ID, 1, &it.id) < 0 ||
        parse_i64(res, row, C_SEQ, 1, &it.event_seq) < 0 ||
        parse_i64(res, row, C_STATUS, 1, &status) < 0 || status > 10 ||
        parse_i64(res, row, C_ATTEMPTS, 0, &attempts) < 0 || attempts > INT32_MAX ||
        parse_i64(res, row, C_SUP, 0, &sup) < 0 || sup > INT32_MAX ||
        (strcmp(upd, "t") != 0 && strcmp(upd, "f") != 0))
        return -1;
    it.dossier_code = PQgetvalue(res, row, C_CODE);
    it.record = PQgetvalue(res, row, C_RECORD);
    it.idempotency_key = PQgetvalue(res, row, C_KEY);
    if (!it.dossier_code[0] || !it.record[0] || !it.idempotency_key[0])
        return -1;
    it.status = (int)status;
    it.attempts = (int)attempts;
    it.superseded = (int)sup;
    it.is_updating = upd[0] == 't';
    *ret = it;
    return 0;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int lt_outbox_batch_key(const int64_t *seqs, size_t n, char *buf, size_t cap)
{
    if (n == 0 || !seqs)
        return -1;
    int64_t *s = malloc(n * sizeof(*s));
    if (!s)
        return -1;
    memcpy(s, seqs, n * sizeof(*s));
    qsort(s, n, sizeof(*s), cmp_i64);
    int rc = -1;
    for (size_t i = 0; i < n; i++)
        if (s[i] <= 0 || (i > 0 && s[i] == s[i - 1]))
            goto out;
    int w;
    if (n == 1) {
        w = snprintf(buf, cap, "lt-%" PRId64, s[0]);
    } else {
        /* The same bytes as lt_portal_key: one definition of a batch's key
         * whichever client sends it. */
        crypto_hash_sha256_state st;
        unsigned char h[crypto_hash_sha256_BYTES];
        char hex[2 * crypto_hash_sha256_BYTES + 1];
        if (sodium_init() < 0 || crypto_hash_sha256_init(&st) != 0)
            goto out;
        for (size_t i = 0; i < n; i++) {
            char num[24];
            int k = snprintf(num, sizeof(num), i ? ",%" PRId64 : "%" PRId64, s[i]);
            crypto_hash_sha256_update(&st, (const unsigned char *)num, (unsigned long long)k);
        }
        crypto_hash_sha256_final(&st, h);
        sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
        w = snprintf(buf, cap, "lt-b-%.32s", hex);
    }
    if (w > 0 && (size_t)w < cap)
        rc = 0;
out:
    free(s);
    return rc;
}

char *lt_outbox_ids_param(const int64_t *ids, size_t n)
{
    size_t cap = 3 + n * 21;
    char *b = malloc(cap);
    if (!b)
        return NULL;
    size_t len = 0;
    b[len++] = '{';
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(b + len, cap - len, i ? ",%" PRId64 : "%" PRId64, ids[i]);
    b[len++] = '}';
    b[len] = '\0';
    return b;
}

int lt_outbox_delay_param(int64_t ms, char *buf, size_t cap)
{
    if (ms < 0)
        return -1;
    int w = snprintf(buf, cap, "%" PRId64 " milliseconds", ms);
    return w > 0 && (size_t)w < cap ? 0 : -1;
}
