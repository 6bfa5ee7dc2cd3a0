/* bench_ceiling: how fast PostgreSQL takes the rows the gateway's writer
 * writes for accepted dossiers, written the fastest way libpq can (the
 * ceiling) and the way a naive peer would (one transaction per record), so
 * that the ingest benchmark can state lienthong's rate as a ratio of both.
 *
 *   bench_ceiling --db CONNINFO --unit CODE --agency AGENCYID --procedure CODE...
 *                 --count N [--batch B] [--conns 1|2] [--method pipeline|copy|naive]
 *                 [--seed S] [--run-id R]
 *
 * Per record, as the writer does: one `dossiers` row (an upsert: INSERT ...
 * ON CONFLICT (code) DO UPDATE), one `dossier_events` row in the global
 * gap-free sequence with its SHA-256 chained to the previous event exactly
 * as lt_event_hash defines it (so `lienthong verify` would pass), and per
 * transaction the event_counter row moved to the last sequence and hash.
 * The records are lt_dossiergen's (the ones lt_push sends), all new dossiers.
 *
 * Everything the client can compute is computed before the clock starts
 * (jsonb's canonical text of each record, content and chain hashes, the
 * recency key): the ceiling measures the database, not this program.
 * Methods, each in transactions of --batch records:
 *   pipeline  libpq pipeline mode, multi-row INSERT ... VALUES with prepared
 *             statements, one round trip per batch; with --conns 2 the next
 *             batch's inserts run while the previous one commits (it is
 *             sent once that one holds the event_counter row lock, and its
 *             own counter update, last in its transaction, waits for the
 *             commit — so sequences commit in order);
 *   copy      COPY into dossier_events and into a temporary stage, then one
 *             INSERT ... SELECT ... ON CONFLICT into dossiers (one connection);
 *   naive     one transaction per record, one statement per round trip.
 * Prints one JSON line: {"method", "conns", "batch", "count", "seconds",
 * "events_per_s", "bytes_per_record"}. Exit 0, 1 on a database error, 2 on
 * bad usage. */
#include <errno.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lt_dossiergen.h"

#define MAX_BATCH 1000
#define EV_COLS   9  /* parameters per dossier_events row */
#define DO_COLS   11 /* parameters per dossiers row */

/* One record's row values, as text parameters. */
typedef struct row {
    char *code;       /* MaHoSo */
    char *record;     /* the record as sent (compact JSON) */
    char status[4];   /* TrangThaiHoSo */
    char *procedure;  /* MaTTHC */
    char *processing; /* DonViXuLy */
    char *topic;      /* dossier.<unit>.<status> */
    char recency[32]; /* timestamptz text, or "" = NULL */
    char history[12]; /* QuaTrinhXuLy entries */
    char content[67]; /* \x + SHA-256 hex of the sorted compact record */
    char seq[24];     /* event sequence */
    char hash[67];    /* \x + chain hash hex */
    char prev[67];    /* \x + previous chain hash hex */
} row;

typedef struct bench {
    const char *db;
    const char *unit;
    const char *method;
    unsigned conns;
    size_t batch;
    size_t count;
    row *rows;
    size_t total_bytes;
    char first_prev[67]; /* counter before the run */
    char first_last[24];
} bench;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void hex32(const unsigned char h[32], char out[67])
{
    static const char digits[] = "0123456789abcdef";
    out[0] = '\\';
    out[1] = 'x';
    for (int k = 0; k < 32; k++) {
        out[2 + 2 * k] = digits[h[k] >> 4];
        out[3 + 2 * k] = digits[h[k] & 15];
    }
    out[66] = '\0';
}

static int unhex32(const char *s, unsigned char out[32])
{
    if (strncmp(s, "\\x", 2) != 0 || strlen(s) != 66)
        return -1;
    for (int k = 0; k < 32; k++) {
        unsigned v;
        if (sscanf(s + 2 + 2 * k, "%2x", &v) != 1)
            return -1;
        out[k] = (unsigned char)v;
    }
    return 0;
}

/* ---- jsonb's canonical text (what record::text gives, hence what
 * lt_event_hash hashes): object keys shorter first, then bytewise; ", " and
 * ": " separators; strings escaped as PostgreSQL's escape_json does. ---- */

static int add(lt_dgen_buf *b, const char *s)
{
    return lt_dgen_buf_add(b, s, strlen(s));
}

static int jsonb_string(lt_dgen_buf *b, const char *s, size_t n)
{
    if (add(b, "\"") < 0)
        return -1;
    for (size_t k = 0; k < n; k++) {
        unsigned char c = (unsigned char)s[k];
        const char *esc = NULL;
        char u[8];
        switch (c) {
        case '\b':
            esc = "\\b";
            break;
        case '\f':
            esc = "\\f";
            break;
        case '\n':
            esc = "\\n";
            break;
        case '\r':
            esc = "\\r";
            break;
        case '\t':
            esc = "\\t";
            break;
        case '"':
            esc = "\\\"";
            break;
        case '\\':
            esc = "\\\\";
            break;
        default:
            if (c < 0x20) {
                snprintf(u, sizeof(u), "\\u%04x", c);
                esc = u;
            }
        }
        if (esc ? add(b, esc) < 0 : lt_dgen_buf_add(b, (const char *)&s[k], 1) < 0)
            return -1;
    }
    return add(b, "\"");
}

static int key_order(const void *a, const void *b)
{
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    size_t lx = strlen(x), ly = strlen(y);
    if (lx != ly)
        return lx < ly ? -1 : 1;
    return memcmp(x, y, lx);
}

static int jsonb_text(lt_dgen_buf *b, const json_t *v)
{
    if (json_is_string(v))
        return jsonb_string(b, json_string_value(v), json_string_length(v));
    if (json_is_array(v)) {
        if (add(b, "[") < 0)
            return -1;
        for (size_t k = 0; k < json_array_size(v); k++)
            if ((k && add(b, ", ") < 0) || jsonb_text(b, json_array_get(v, k)) < 0)
                return -1;
        return add(b, "]");
    }
    if (json_is_object(v)) {
        size_t n = json_object_size(v), k = 0;
        const char **keys = calloc(n ? n : 1, sizeof(char *));
        const char *key;
        const json_t *val;
        if (!keys)
            return -1;
        json_object_foreach((json_t *)v, key, val) keys[k++] = key;
        qsort(keys, n, sizeof(char *), key_order);
        int rc = add(b, "{");
        for (k = 0; k < n && rc == 0; k++)
            rc = (k && add(b, ", ") < 0) || jsonb_string(b, keys[k], strlen(keys[k])) < 0 ||
                         add(b, ": ") < 0 || jsonb_text(b, json_object_get(v, keys[k])) < 0
                     ? -1
                     : 0;
        free(keys);
        return rc < 0 ? -1 : add(b, "}");
    }
    /* The canonical record holds only strings, arrays and objects. */
    return -1;
}

/* ---- preparing the rows (untimed) ------------------------------------------ */

/* "yyyyMMddHHmmss" later than best? (equal-length digit strings compare as text) */
static void latest(const char *d, char best[15])
{
    if (d && strlen(d) == 14 && strcmp(d, best) > 0)
        memcpy(best, d, 15);
}

static int prepare_row(bench *bn, const lt_dgen *g, uint64_t i, row *r)
{
    lt_dgen_buf text = {0}, canon = {0};
    json_t *rec = NULL;
    char *sorted = NULL;
    int rc = -1;
    if (lt_dgen_record(g, i, lt_dgen_first_step(g, i), &text) < 0)
        goto out;
    rec = json_loadb(text.data, text.len, 0, NULL);
    if (!rec || jsonb_text(&canon, rec) < 0)
        goto out;
    sorted = json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS);
    if (!sorted)
        goto out;
    unsigned char h[32];
    crypto_hash_sha256(h, (const unsigned char *)sorted, strlen(sorted));
    hex32(h, r->content);
    r->code = strdup(json_string_value(json_object_get(rec, "MaHoSo")));
    r->procedure = strdup(json_string_value(json_object_get(rec, "MaTTHC")));
    const char *dv = json_string_value(json_object_get(rec, "DonViXuLy"));
    r->processing = strdup(dv ? dv : "");
    snprintf(r->status, sizeof(r->status), "%s",
             json_string_value(json_object_get(rec, "TrangThaiHoSo")));
    size_t tl = strlen(bn->unit) + 16;
    r->topic = malloc(tl);
    if (!r->code || !r->procedure || !r->processing || !r->topic)
        goto out;
    snprintf(r->topic, tl, "dossier.%s.%s", bn->unit, r->status);
    /* The recency key, as the README defines it. */
    char best[15] = "";
    const json_t *hist = json_object_get(rec, "QuaTrinhXuLy");
    for (size_t k = 0; k < json_array_size(hist); k++)
        latest(json_string_value(json_object_get(json_array_get(hist, k), "ThoiDiemXuLy")), best);
    static const char *const dates[] = {"NgayTiepNhan", "NgayKetThucXuLy", "NgayTra", "NgayTuChoi"};
    for (size_t k = 0; k < 4; k++)
        latest(json_string_value(json_object_get(rec, dates[k])), best);
    if (best[0])
        snprintf(r->recency, sizeof(r->recency), "%.4s-%.2s-%.2s %.2s:%.2s:%.2s+07", best, best + 4,
                 best + 6, best + 8, best + 10, best + 12);
    snprintf(r->history, sizeof(r->history), "%zu", json_array_size(hist));
    r->record = strdup(canon.data);
    if (!r->record)
        goto out;
    bn->total_bytes += text.len;
    rc = 0;
out:
    free(sorted);
    json_decref(rec);
    lt_dgen_buf_free(&text);
    lt_dgen_buf_free(&canon);
    return rc;
}

/* Sequences and chain hashes from the counter's state: the layout of
 * lt_event_hash (0002_catalog.sql). */
static int chain(bench *bn, long long last_seq, const char *last_hash)
{
    unsigned char h[32];
    if (unhex32(last_hash, h) < 0)
        return -1;
    for (size_t k = 0; k < bn->count; k++) {
        row *r = &bn->rows[k];
        long long seq = last_seq + 1 + (long long)k;
        unsigned char be[8];
        for (int b = 0; b < 8; b++)
            be[b] = (unsigned char)((unsigned long long)seq >> (56 - 8 * b));
        crypto_hash_sha256_state st;
        crypto_hash_sha256_init(&st);
        crypto_hash_sha256_update(&st, h, 32);
        crypto_hash_sha256_update(&st, be, 8);
        crypto_hash_sha256_update(&st, (const unsigned char *)"dossier", 8); /* with its NUL */
        crypto_hash_sha256_update(&st, (const unsigned char *)r->topic, strlen(r->topic) + 1);
        crypto_hash_sha256_update(&st, (const unsigned char *)r->record, strlen(r->record));
        hex32(h, r->prev);
        crypto_hash_sha256_final(&st, h);
        hex32(h, r->hash);
        snprintf(r->seq, sizeof(r->seq), "%lld", seq);
    }
    return 0;
}

/* ---- SQL ---------------------------------------------------------------------- */

static const char *const upsert_tail =
    " ON CONFLICT (code) DO UPDATE SET record = EXCLUDED.record, status = EXCLUDED.status,"
    " procedure_code = EXCLUDED.procedure_code, processing_unit = EXCLUDED.processing_unit,"
    " recency_at = EXCLUDED.recency_at, history_len = EXCLUDED.history_len,"
    " content_hash = EXCLUDED.content_hash, last_seq = EXCLUDED.last_seq, updated_at = now()";

static const char *const counter_sql =
    "UPDATE event_counter SET last_seq = $1, last_hash = $2, updated_at = now()"
    " WHERE last_seq = $3";

/* "INSERT ... VALUES ($1, ...), (...)" for n rows of cols parameters. */
static char *values_sql(const char *head, size_t n, int cols, const char *const *casts,
                        const char *tail)
{
    lt_dgen_buf b = {0};
    if (add(&b, head) < 0)
        return NULL;
    int p = 1;
    for (size_t k = 0; k < n; k++) {
        if (add(&b, k ? ",(" : "(") < 0)
            goto fail;
        for (int c = 0; c < cols; c++)
            if (lt_dgen_buf_printf(&b, "%s$%d%s", c ? "," : "", p++, casts[c]) < 0)
                goto fail;
        if (add(&b, ")") < 0)
            goto fail;
    }
    if (tail && add(&b, tail) < 0)
        goto fail;
    return b.data;
fail:
    lt_dgen_buf_free(&b);
    return NULL;
}

static const char *const ev_head = "INSERT INTO dossier_events (seq, kind, topic, dossier_code,"
                                   " procedure_code, unit_code, status, record, hash, prev_hash)"
                                   " VALUES ";
static const char *const do_head =
    "INSERT INTO dossiers (code, record, status, procedure_code, receiving_unit,"
    " competent_unit, processing_unit, recency_at, history_len, content_hash, last_seq) VALUES ";
static const char *const do_casts[DO_COLS] = {"",          "::jsonb", "::smallint", "",
                                              "",          "",        "",           "::timestamptz",
                                              "::integer", "::bytea", "::bigint"};

/* The events INSERT for n rows: the kind is the literal 'dossier', the
 * parameters of a row are (seq, topic, code, procedure, unit, status,
 * record, hash, prev). */
static char *events_sql(size_t n)
{
    lt_dgen_buf b = {0};
    if (add(&b, ev_head) < 0)
        return NULL;
    int p = 1;
    for (size_t k = 0; k < n; k++) {
        if (lt_dgen_buf_printf(&b,
                               "%s($%d::bigint,'dossier',$%d,$%d,$%d,$%d,$%d::smallint,"
                               "$%d::jsonb,$%d::bytea,$%d::bytea)",
                               k ? "," : "", p, p + 1, p + 2, p + 3, p + 4, p + 5, p + 6, p + 7,
                               p + 8) < 0) {
            lt_dgen_buf_free(&b);
            return NULL;
        }
        p += EV_COLS;
    }
    return b.data;
}

static void ev_params(const bench *bn, const row *r, const char **v)
{
    v[0] = r->seq;
    v[1] = r->topic;
    v[2] = r->code;
    v[3] = r->procedure;
    v[4] = bn->unit;
    v[5] = r->status;
    v[6] = r->record;
    v[7] = r->hash;
    v[8] = r->prev;
}

static void do_params(const bench *bn, const row *r, const char **v)
{
    v[0] = r->code;
    v[1] = r->record;
    v[2] = r->status;
    v[3] = r->procedure;
    v[4] = bn->unit;
    v[5] = bn->unit;
    v[6] = r->processing;
    v[7] = r->recency[0] ? r->recency : NULL;
    v[8] = r->history;
    v[9] = r->content;
    v[10] = r->seq;
}

static int expect(PGresult *res, ExecStatusType want, const char *what)
{
    if (!res || PQresultStatus(res) != want) {
        fprintf(stderr, "bench_ceiling: %s: %s", what,
                res ? PQresultErrorMessage(res) : "no result\n");
        PQclear(res);
        return -1;
    }
    PQclear(res);
    return 0;
}

/* Reads one statement's result in pipeline mode (and the NULL after it). */
static int pipe_result(PGconn *c, ExecStatusType want, const char *what, bool one_row)
{
    PGresult *res = PQgetResult(c);
    if (one_row && res && PQresultStatus(res) == PGRES_COMMAND_OK &&
        strcmp(PQcmdTuples(res), "1") != 0) {
        fprintf(stderr, "bench_ceiling: %s: the counter moved under us\n", what);
        PQclear(res);
        return -1;
    }
    if (expect(res, want, what) < 0)
        return -1;
    PGresult *end = PQgetResult(c);
    if (end) {
        fprintf(stderr, "bench_ceiling: %s: unexpected extra result\n", what);
        PQclear(end);
        return -1;
    }
    return 0;
}

/* ---- pipeline ---------------------------------------------------------------- */

typedef struct stmts {
    size_t n;    /* rows per statement */
    char ev[16]; /* prepared names */
    char dos[16];
} stmts;

static int prepare_stmts(PGconn *c, size_t n, stmts *s)
{
    s->n = n;
    snprintf(s->ev, sizeof(s->ev), "ev_%zu", n);
    snprintf(s->dos, sizeof(s->dos), "do_%zu", n);
    char *ev = events_sql(n);
    char *dos = values_sql(do_head, n, DO_COLS, do_casts, upsert_tail);
    int rc = -1;
    if (ev && dos && expect(PQprepare(c, s->ev, ev, 0, NULL), PGRES_COMMAND_OK, "prepare") == 0 &&
        expect(PQprepare(c, s->dos, dos, 0, NULL), PGRES_COMMAND_OK, "prepare") == 0)
        rc = 0;
    free(ev);
    free(dos);
    return rc;
}

/* Queues batch [lo, hi) on c: BEGIN, events, dossiers, counter, COMMIT, sync. */
static int send_batch(PGconn *c, const bench *bn, const stmts *s, size_t lo, size_t hi,
                      const char **vals)
{
    size_t n = hi - lo;
    if (n != s->n)
        return -1;
    const char *prev_last = lo == 0 ? bn->first_last : bn->rows[lo - 1].seq;
    const char *cv[3] = {bn->rows[hi - 1].seq, bn->rows[hi - 1].hash, prev_last};
    if (!PQsendQueryParams(c, "BEGIN", 0, NULL, NULL, NULL, NULL, 0))
        return -1;
    for (size_t k = 0; k < n; k++)
        ev_params(bn, &bn->rows[lo + k], vals + k * EV_COLS);
    if (!PQsendQueryPrepared(c, s->ev, (int)(n * EV_COLS), vals, NULL, NULL, 0))
        return -1;
    for (size_t k = 0; k < n; k++)
        do_params(bn, &bn->rows[lo + k], vals + k * DO_COLS);
    if (!PQsendQueryPrepared(c, s->dos, (int)(n * DO_COLS), vals, NULL, NULL, 0) ||
        !PQsendQueryPrepared(c, "counter", 3, cv, NULL, NULL, 0) ||
        !PQsendQueryParams(c, "COMMIT", 0, NULL, NULL, NULL, NULL, 0) || !PQpipelineSync(c))
        return -1;
    return 0;
}

/* Up to the counter update: the batch then holds the counter's row lock. */
static int read_until_counter(PGconn *c)
{
    return pipe_result(c, PGRES_COMMAND_OK, "BEGIN", false) < 0 ||
                   pipe_result(c, PGRES_COMMAND_OK, "INSERT dossier_events", false) < 0 ||
                   pipe_result(c, PGRES_COMMAND_OK, "INSERT dossiers", false) < 0 ||
                   pipe_result(c, PGRES_COMMAND_OK, "UPDATE event_counter", true) < 0
               ? -1
               : 0;
}

static int read_commit(PGconn *c)
{
    if (pipe_result(c, PGRES_COMMAND_OK, "COMMIT", false) < 0)
        return -1;
    PGresult *sync = PQgetResult(c);
    return expect(sync, PGRES_PIPELINE_SYNC, "sync");
}

static int run_pipeline(bench *bn, PGconn **conns, double *ret_seconds)
{
    size_t nb = (bn->count + bn->batch - 1) / bn->batch;
    size_t tail = bn->count - (nb - 1) * bn->batch;
    stmts full[2], last[2];
    const char **vals = calloc(bn->batch * DO_COLS, sizeof(char *));
    if (!vals)
        return -1;
    int rc = -1;
    for (unsigned c = 0; c < bn->conns; c++)
        if (expect(PQprepare(conns[c], "counter", counter_sql, 0, NULL), PGRES_COMMAND_OK,
                   "prepare") < 0 ||
            prepare_stmts(conns[c], bn->batch, &full[c]) < 0 ||
            (tail != bn->batch && prepare_stmts(conns[c], tail, &last[c]) < 0) ||
            !PQenterPipelineMode(conns[c]))
            goto out;
    double t0 = now_s();
#define BATCH_SEND(k)                                                                              \
    send_batch(conns[(k) % bn->conns], bn,                                                         \
               (k) == nb - 1 && tail != bn->batch ? &last[(k) % bn->conns]                         \
                                                  : &full[(k) % bn->conns],                        \
               (k)*bn->batch, (k) == nb - 1 ? bn->count : ((k) + 1) * bn->batch, vals)
    if (BATCH_SEND(0) < 0)
        goto out;
    for (size_t k = 0; k < nb; k++) {
        PGconn *c = conns[k % bn->conns];
        if (read_until_counter(c) < 0)
            goto out;
        /* Batch k holds the counter: k+1's update queues behind it, and
         * with two connections k+1's inserts overlap k's commit. */
        if (k + 1 < nb && BATCH_SEND(k + 1) < 0)
            goto out;
        if (read_commit(c) < 0)
            goto out;
    }
#undef BATCH_SEND
    *ret_seconds = now_s() - t0;
    rc = 0;
out:
    if (rc < 0)
        for (unsigned c = 0; c < bn->conns; c++)
            fprintf(stderr, "bench_ceiling: connection %u: %s", c, PQerrorMessage(conns[c]));
    free(vals);
    return rc;
}

/* ---- COPY ----------------------------------------------------------------------- */

/* A value in COPY's text format: backslash, tab, newline and CR escaped;
 * NULL as \N. */
static int copy_field(lt_dgen_buf *b, const char *v, bool last)
{
    if (!v) {
        if (add(b, "\\N") < 0)
            return -1;
    } else {
        for (const char *p = v; *p; p++) {
            const char *esc = *p == '\\'   ? "\\\\"
                              : *p == '\t' ? "\\t"
                              : *p == '\n' ? "\\n"
                              : *p == '\r' ? "\\r"
                                           : NULL;
            if (esc ? add(b, esc) < 0 : lt_dgen_buf_add(b, p, 1) < 0)
                return -1;
        }
    }
    return add(b, last ? "\n" : "\t");
}

static int copy_rows(PGconn *c, const char *sql, const lt_dgen_buf *data)
{
    if (expect(PQexec(c, sql), PGRES_COPY_IN, "COPY") < 0)
        return -1;
    if (PQputCopyData(c, data->data, (int)data->len) != 1 || PQputCopyEnd(c, NULL) != 1)
        return -1;
    return expect(PQgetResult(c), PGRES_COMMAND_OK, "COPY end");
}

static int run_copy(bench *bn, PGconn *c, double *ret_seconds)
{
    if (expect(PQexec(c, "CREATE TEMP TABLE stage (LIKE dossiers INCLUDING DEFAULTS)"
                         " ON COMMIT DELETE ROWS"),
               PGRES_COMMAND_OK, "stage") < 0 ||
        expect(PQprepare(c, "counter", counter_sql, 0, NULL), PGRES_COMMAND_OK, "prepare") < 0)
        return -1;
    /* The COPY text of every batch, built before the clock starts. */
    size_t nb = (bn->count + bn->batch - 1) / bn->batch;
    lt_dgen_buf *ev = calloc(nb, sizeof(*ev)), *dos = calloc(nb, sizeof(*dos));
    int rc = -1;
    if (!ev || !dos)
        goto out;
    for (size_t k = 0; k < bn->count; k++) {
        const row *r = &bn->rows[k];
        lt_dgen_buf *e = &ev[k / bn->batch], *d = &dos[k / bn->batch];
        const char *evv[10] = {r->seq,   "dossier", r->topic,  r->code, r->procedure,
                               bn->unit, r->status, r->record, r->hash, r->prev};
        for (int f = 0; f < 10; f++)
            if (copy_field(e, evv[f], f == 9) < 0)
                goto out;
        const char *dov[DO_COLS];
        do_params(bn, r, dov);
        for (int f = 0; f < DO_COLS; f++)
            if (copy_field(d, dov[f], f == DO_COLS - 1) < 0)
                goto out;
    }
    static const char *const ev_copy =
        "COPY dossier_events (seq, kind, topic, dossier_code, procedure_code, unit_code,"
        " status, record, hash, prev_hash) FROM STDIN";
    static const char *const do_copy =
        "COPY stage (code, record, status, procedure_code, receiving_unit, competent_unit,"
        " processing_unit, recency_at, history_len, content_hash, last_seq) FROM STDIN";
    char *merge = NULL;
    lt_dgen_buf mb = {0};
    if (add(&mb,
            "INSERT INTO dossiers (code, record, status, procedure_code, receiving_unit,"
            " competent_unit, processing_unit, recency_at, history_len, content_hash, last_seq)"
            " SELECT code, record, status, procedure_code, receiving_unit, competent_unit,"
            " processing_unit, recency_at, history_len, content_hash, last_seq FROM stage") < 0 ||
        add(&mb, upsert_tail) < 0)
        goto out;
    merge = mb.data;
    double t0 = now_s();
    for (size_t k = 0; k < nb; k++) {
        size_t lo = k * bn->batch, hi = lo + bn->batch < bn->count ? lo + bn->batch : bn->count;
        const char *cv[3] = {bn->rows[hi - 1].seq, bn->rows[hi - 1].hash,
                             lo == 0 ? bn->first_last : bn->rows[lo - 1].seq};
        PGresult *cr;
        if (expect(PQexec(c, "BEGIN"), PGRES_COMMAND_OK, "BEGIN") < 0 ||
            copy_rows(c, ev_copy, &ev[k]) < 0 || copy_rows(c, do_copy, &dos[k]) < 0 ||
            expect(PQexec(c, merge), PGRES_COMMAND_OK, "merge") < 0)
            goto out_merge;
        cr = PQexecPrepared(c, "counter", 3, cv, NULL, NULL, 0);
        if (cr && strcmp(PQcmdTuples(cr), "1") != 0) {
            fprintf(stderr, "bench_ceiling: the counter moved under us\n");
            PQclear(cr);
            goto out_merge;
        }
        if (expect(cr, PGRES_COMMAND_OK, "counter") < 0 ||
            expect(PQexec(c, "COMMIT"), PGRES_COMMAND_OK, "COMMIT") < 0)
            goto out_merge;
    }
    *ret_seconds = now_s() - t0;
    rc = 0;
out_merge:
    free(merge);
out:
    for (size_t k = 0; ev && dos && k < nb; k++) {
        lt_dgen_buf_free(&ev[k]);
        lt_dgen_buf_free(&dos[k]);
    }
    free(ev);
    free(dos);
    return rc;
}

/* ---- naive: one transaction per record, one round trip per statement --------- */

static int run_naive(bench *bn, PGconn *c, double *ret_seconds)
{
    stmts s;
    if (expect(PQprepare(c, "counter", counter_sql, 0, NULL), PGRES_COMMAND_OK, "prepare") < 0 ||
        prepare_stmts(c, 1, &s) < 0)
        return -1;
    double t0 = now_s();
    for (size_t k = 0; k < bn->count; k++) {
        const row *r = &bn->rows[k];
        const char *ev[EV_COLS], *dv[DO_COLS];
        ev_params(bn, r, ev);
        do_params(bn, r, dv);
        const char *cv[3] = {r->seq, r->hash, k == 0 ? bn->first_last : bn->rows[k - 1].seq};
        if (expect(PQexec(c, "BEGIN"), PGRES_COMMAND_OK, "BEGIN") < 0 ||
            expect(PQexecPrepared(c, s.ev, EV_COLS, ev, NULL, NULL, 0), PGRES_COMMAND_OK,
                   "INSERT dossier_events") < 0 ||
            expect(PQexecPrepared(c, s.dos, DO_COLS, dv, NULL, NULL, 0), PGRES_COMMAND_OK,
                   "INSERT dossiers") < 0 ||
            expect(PQexecPrepared(c, "counter", 3, cv, NULL, NULL, 0), PGRES_COMMAND_OK,
                   "counter") < 0 ||
            expect(PQexec(c, "COMMIT"), PGRES_COMMAND_OK, "COMMIT") < 0)
            return -1;
    }
    *ret_seconds = now_s() - t0;
    return 0;
}

/* ---- main ------------------------------------------------------------------------ */

static int usage(void)
{
    fprintf(stderr,
            "usage: bench_ceiling --db CONNINFO --unit CODE --agency AGENCYID\n"
            "                     --procedure CODE [--procedure CODE...] --count N\n"
            "                     [--batch B] [--conns 1|2] [--method pipeline|copy|naive]\n"
            "                     [--seed S] [--run-id R]\n");
    return 2;
}

static bool num(const char *s, unsigned long long *ret)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || *s == '-')
        return false;
    *ret = v;
    return true;
}

int main(int argc, char **argv)
{
    bench bn = {.method = "pipeline", .conns = 1, .batch = 500};
    const char *agency = NULL;
    const char **procs = calloc((size_t)argc, sizeof(char *));
    size_t n_procs = 0;
    unsigned long long seed = 1, run_id = 1, v;
    int rc = 1;
    lt_dgen *g = NULL;
    PGconn *conns[2] = {NULL, NULL};
    if (!procs)
        return 1;
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *a = argv[i], *val = argv[i + 1];
        bool ok = true;
        if (strcmp(a, "--db") == 0)
            bn.db = val;
        else if (strcmp(a, "--unit") == 0)
            bn.unit = val;
        else if (strcmp(a, "--agency") == 0)
            agency = val;
        else if (strcmp(a, "--procedure") == 0)
            procs[n_procs++] = val;
        else if (strcmp(a, "--method") == 0)
            bn.method = val;
        else if (strcmp(a, "--count") == 0)
            ok = num(val, &v) && v > 0 && (bn.count = (size_t)v);
        else if (strcmp(a, "--batch") == 0)
            ok = num(val, &v) && v > 0 && v <= MAX_BATCH && (bn.batch = (size_t)v);
        else if (strcmp(a, "--conns") == 0)
            ok = num(val, &v) && (v == 1 || v == 2) && (bn.conns = (unsigned)v);
        else if (strcmp(a, "--seed") == 0)
            ok = num(val, &seed);
        else if (strcmp(a, "--run-id") == 0)
            ok = num(val, &run_id);
        else
            ok = false;
        if (!ok) {
            free(procs);
            return usage();
        }
    }
    bool naive = strcmp(bn.method, "naive") == 0, copy = strcmp(bn.method, "copy") == 0;
    if (!bn.db || !bn.unit || !agency || !n_procs || !bn.count || argc % 2 == 0 ||
        (!naive && !copy && strcmp(bn.method, "pipeline") != 0) ||
        ((naive || copy) && bn.conns != 1)) {
        free(procs);
        return usage();
    }
    if (naive)
        bn.batch = 1;
    if (sodium_init() < 0)
        goto out;
    g = lt_dgen_new(seed, run_id, agency, procs, n_procs);
    bn.rows = calloc(bn.count, sizeof(row));
    if (!g || !bn.rows)
        goto out;
    for (size_t k = 0; k < bn.count; k++)
        if (prepare_row(&bn, g, k, &bn.rows[k]) < 0) {
            fprintf(stderr, "bench_ceiling: cannot prepare record %zu\n", k);
            goto out;
        }
    for (unsigned c = 0; c < bn.conns; c++) {
        conns[c] = PQconnectdb(bn.db);
        if (PQstatus(conns[c]) != CONNECTION_OK) {
            fprintf(stderr, "bench_ceiling: %s", PQerrorMessage(conns[c]));
            goto out;
        }
    }
    PGresult *res = PQexec(conns[0], "SELECT last_seq, last_hash FROM event_counter");
    if (!res || PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        fprintf(stderr, "bench_ceiling: event_counter: %s", PQerrorMessage(conns[0]));
        PQclear(res);
        goto out;
    }
    snprintf(bn.first_last, sizeof(bn.first_last), "%s", PQgetvalue(res, 0, 0));
    snprintf(bn.first_prev, sizeof(bn.first_prev), "%s", PQgetvalue(res, 0, 1));
    PQclear(res);
    char *end;
    long long last = strtoll(bn.first_last, &end, 10);
    if (chain(&bn, last, bn.first_prev) < 0)
        goto out;
    double seconds = 0;
    int r = naive  ? run_naive(&bn, conns[0], &seconds)
            : copy ? run_copy(&bn, conns[0], &seconds)
                   : run_pipeline(&bn, conns, &seconds);
    if (r < 0)
        goto out;
    printf("{\"method\":\"%s\",\"conns\":%u,\"batch\":%zu,\"count\":%zu,\"seconds\":%.3f,"
           "\"events_per_s\":%.1f,\"bytes_per_record\":%.0f}\n",
           bn.method, bn.conns, bn.batch, bn.count, seconds, (double)bn.count / seconds,
           (double)bn.total_bytes / (double)bn.count);
    rc = 0;
out:
    for (unsigned c = 0; c < 2; c++)
        PQfinish(conns[c]);
    for (size_t k = 0; bn.rows && k < bn.count; k++) {
        free(bn.rows[k].code);
        free(bn.rows[k].record);
        free(bn.rows[k].procedure);
        free(bn.rows[k].processing);
        free(bn.rows[k].topic);
    }
    free(bn.rows);
    lt_dgen_destroy(&g);
    free(procs);
    return rc;
}
