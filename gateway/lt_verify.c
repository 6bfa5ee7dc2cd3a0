/* lt_verify: `lienthong verify`, the check behind the tamper-evident
 * history (DESIGN.md). Every stored event carries SHA-256(prev_hash || seq
 * || kind || 0 || topic || 0 || record::text) (lt_event_hash, 0002), chained
 * in sequence order from 32 zero bytes, and event_counter holds the head.
 * This recomputes the chain here, in C, from what PostgreSQL returns, so a
 * database that was edited cannot vouch for itself by recomputing with its
 * own functions: an edited record breaks its own hash, a deleted event
 * leaves a gap in the gap-free sequence, a reordered or inserted one breaks
 * the next link, and a deletion at the end disagrees with the head.
 *
 * Why one REPEATABLE READ transaction: gateways keep appending while this
 * runs, and the head must be read in the same snapshot as the events, or a
 * commit between the two reads would look like a broken head. The snapshot
 * holds back vacuum for as long as the check runs (about a second per
 * 100,000 events), which a read-only check can afford.
 *
 * Why keyset pages in binary format: the log grows without bound; a page of
 * PAGE events at a time keeps memory flat, and binary results hand over the
 * hashes as 32 raw bytes, the sequence as the 8 big-endian bytes the hash
 * takes, and the record text without escaping. */
#include "lt_verify.h"
#include "lt_dbsession.h"

#include <inttypes.h>
#include <jansson.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define EXIT_BROKEN 1
#define EXIT_USAGE  2
#define HASH_BYTES  32

const char lt_verify_help[] =
    "usage: lienthong verify [--from SEQ] [--json]\n"
    "\n"
    "Checks the tamper-evident history: every stored event (dossier changes\n"
    "and catalog changes, one sequence) carries the SHA-256 of its content\n"
    "chained to the previous event's hash. verify reads the events in\n"
    "sequence order, recomputes each hash from the stored content, and names\n"
    "the first broken link:\n"
    "  edited      an event's content no longer matches its hash\n"
    "  missing     sequence numbers are absent (events deleted)\n"
    "  duplicate   a sequence number appears twice\n"
    "  relinked    an event does not chain to the one before it (events\n"
    "              reordered, replaced or inserted)\n"
    "  head        the chain's head (event_counter) disagrees with the last\n"
    "              stored event (events deleted at the end, or the head rewritten)\n"
    "It reads one consistent snapshot, so gateways may keep running.\n"
    "\n"
    "  --from SEQ  start at event SEQ, trusting the stored hash of SEQ-1\n"
    "              (default 1: the whole history, from the zero hash)\n"
    "  --json      print {\"intact\", \"checked\", \"first_seq\", \"last_seq\",\n"
    "              \"head\": {\"seq\", \"hash\"}, \"broken\": null or {\"seq\",\n"
    "              \"problem\", \"message\"}}\n"
    "\n"
    "Exit status: 0 the chain holds, 1 it is broken (or the database could\n"
    "not be read), 2 usage error.\n"
    "\n"
    "Example: lienthong verify\n";

typedef struct {
    int64_t from;
    bool json;
} verify_opts;

typedef struct {
    int64_t checked;   /* events whose hash was recomputed */
    int64_t first_seq; /* of the events checked; 0 = none */
    int64_t last_seq;
    int64_t head_seq; /* event_counter */
    unsigned char head_hash[HASH_BYTES];
    int64_t broken_seq; /* 0 = intact */
    const char *problem;
    char message[512];
} verify_result;

static int usage(const char *msg, const char *arg)
{
    fprintf(stderr, "lienthong verify: %s%s\n%s", msg, arg, lt_verify_help);
    return EXIT_USAGE;
}

/* Returns 0, or the usage exit code after saying which argument is wrong. */
static int parse_opts(int argc, char **argv, verify_opts *o)
{
    *o = (verify_opts){.from = 1};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            o->json = true;
        } else if (strcmp(argv[i], "--from") == 0) {
            if (i + 1 >= argc)
                return usage("--from needs a value", "");
            char *end;
            long long v = strtoll(argv[++i], &end, 10);
            if (*end || end == argv[i] || v < 1)
                return usage("--from: expected a sequence number of 1 or more, got ", argv[i]);
            o->from = v;
        } else {
            return usage("unknown option ", argv[i]);
        }
    }
    return 0;
}

static int64_t be64(const char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | (unsigned char)p[i];
    return (int64_t)v;
}

static void hex(const unsigned char *h, char *out)
{
    sodium_bin2hex(out, 2 * HASH_BYTES + 1, h, HASH_BYTES);
}

static bool db_failed(PGconn *conn, PGresult *r, ExecStatusType want, verify_result *res)
{
    if (PQresultStatus(r) == want)
        return false;
    snprintf(res->message, sizeof(res->message), "the database failed: %s",
             PQresultErrorMessage(r)[0] ? PQresultErrorMessage(r) : PQerrorMessage(conn));
    res->message[strcspn(res->message, "\n")] = '\0';
    res->problem = "database";
    return true;
}

static void broken(verify_result *res, int64_t seq, const char *problem, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void broken(verify_result *res, int64_t seq, const char *problem, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->message, sizeof(res->message), fmt, ap);
    va_end(ap);
    res->broken_seq = seq;
    res->problem = problem;
}

/* The hash as lt_event_hash computes it (0002_catalog.sql). */
static void event_hash(const PGresult *r, int row, const char *prev, unsigned char *out)
{
    crypto_hash_sha256_state st;
    static const unsigned char zero = 0;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const unsigned char *)prev, HASH_BYTES);
    crypto_hash_sha256_update(&st, (const unsigned char *)PQgetvalue(r, row, 0), 8); /* int8send */
    crypto_hash_sha256_update(&st, (const unsigned char *)PQgetvalue(r, row, 1),
                              (unsigned long long)PQgetlength(r, row, 1));
    crypto_hash_sha256_update(&st, &zero, 1);
    crypto_hash_sha256_update(&st, (const unsigned char *)PQgetvalue(r, row, 2),
                              (unsigned long long)PQgetlength(r, row, 2));
    crypto_hash_sha256_update(&st, &zero, 1);
    crypto_hash_sha256_update(&st, (const unsigned char *)PQgetvalue(r, row, 3),
                              (unsigned long long)PQgetlength(r, row, 3));
    crypto_hash_sha256_final(&st, out);
}

static const char page_sql[] =
    "SELECT seq, kind, topic, record::text, hash, prev_hash FROM dossier_events"
    " WHERE seq >= $1::bigint AND seq <= $2::bigint ORDER BY seq LIMIT 2000";

/* Checks one page of at most 2,000 events; returns the rows read, or -1
 * when the page ended the check (broken or failed: res says which). */
static int check_page(PGconn *conn, int64_t *next, unsigned char *prev, verify_result *res)
{
    char from[24], to[24];
    snprintf(from, sizeof(from), "%" PRId64, *next);
    snprintf(to, sizeof(to), "%" PRId64, res->head_seq);
    const char *params[2] = {from, to};
    PGresult *r = PQexecParams(conn, page_sql, 2, NULL, params, NULL, NULL, 1);
    if (db_failed(conn, r, PGRES_TUPLES_OK, res)) {
        PQclear(r);
        return -1;
    }
    int n = PQntuples(r), rc = n;
    for (int i = 0; i < n; i++) {
        int64_t seq = be64(PQgetvalue(r, i, 0));
        unsigned char h[HASH_BYTES];
        if (PQgetlength(r, i, 4) != HASH_BYTES || PQgetlength(r, i, 5) != HASH_BYTES) {
            broken(res, seq, "edited", "event %" PRId64 ": its hash is not 32 bytes", seq);
        } else if (seq < *next) {
            broken(res, seq, "duplicate", "event %" PRId64 " is stored twice", seq);
        } else if (seq > *next) {
            broken(res, *next, "missing",
                   "events %" PRId64 "..%" PRId64 " are missing (deleted from the log)", *next,
                   seq - 1);
        } else if (memcmp(PQgetvalue(r, i, 5), prev, HASH_BYTES) != 0) {
            broken(res, seq, "relinked",
                   "event %" PRId64 " does not chain to event %" PRId64
                   ": its prev_hash is not that event's hash (events reordered, replaced or "
                   "inserted)",
                   seq, seq - 1);
        } else {
            event_hash(r, i, PQgetvalue(r, i, 5), h);
            if (memcmp(h, PQgetvalue(r, i, 4), HASH_BYTES) != 0)
                broken(res, seq, "edited",
                       "event %" PRId64
                       ": its content does not match its hash (edited after it was stored)",
                       seq);
        }
        if (res->broken_seq) {
            rc = -1;
            break;
        }
        memcpy(prev, PQgetvalue(r, i, 4), HASH_BYTES);
        if (!res->first_seq)
            res->first_seq = seq;
        res->last_seq = seq;
        res->checked++;
        *next = seq + 1;
    }
    PQclear(r);
    return rc;
}

/* The hash the chain starts from: zeros before event 1, else the stored
 * hash of from-1 (trusted: that is what --from means). */
static int start_hash(PGconn *conn, int64_t from, unsigned char *prev, verify_result *res)
{
    memset(prev, 0, HASH_BYTES);
    if (from == 1)
        return 0;
    char s[24];
    snprintf(s, sizeof(s), "%" PRId64, from - 1);
    const char *params[1] = {s};
    PGresult *r = PQexecParams(conn, "SELECT hash FROM dossier_events WHERE seq = $1::bigint", 1,
                               NULL, params, NULL, NULL, 1);
    if (db_failed(conn, r, PGRES_TUPLES_OK, res)) {
        PQclear(r);
        return -1;
    }
    int rc = 0;
    if (PQntuples(r) != 1 || PQgetlength(r, 0, 0) != HASH_BYTES) {
        broken(res, from - 1, "missing",
               "event %" PRId64 " (where --from starts the chain) is not stored once", from - 1);
        rc = -1;
    } else {
        memcpy(prev, PQgetvalue(r, 0, 0), HASH_BYTES);
    }
    PQclear(r);
    return rc;
}

static void progress(const verify_result *res, bool done)
{
    if (!isatty(STDERR_FILENO))
        return;
    fprintf(stderr, "\rverified %" PRId64 " events up to %" PRId64 " of %" PRId64 "%s",
            res->checked, res->last_seq, res->head_seq, done ? "\n" : "");
}

static void run(PGconn *conn, const verify_opts *o, verify_result *res)
{
    PGresult *r = PQexec(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
    bool bad = db_failed(conn, r, PGRES_COMMAND_OK, res);
    PQclear(r);
    if (bad)
        return;
    r = PQexecParams(conn, "SELECT last_seq, last_hash FROM event_counter", 0, NULL, NULL, NULL,
                     NULL, 1);
    bad = db_failed(conn, r, PGRES_TUPLES_OK, res);
    if (!bad && (PQntuples(r) != 1 || PQgetlength(r, 0, 1) != HASH_BYTES)) {
        broken(res, 0, "head", "event_counter does not hold one head of 32 bytes");
        bad = true;
    }
    if (!bad) {
        res->head_seq = be64(PQgetvalue(r, 0, 0));
        memcpy(res->head_hash, PQgetvalue(r, 0, 1), HASH_BYTES);
    }
    PQclear(r);
    if (bad)
        goto out;
    unsigned char prev[HASH_BYTES];
    int64_t next = o->from;
    if (next <= res->head_seq && start_hash(conn, next, prev, res) < 0)
        goto out;
    int got;
    while (next <= res->head_seq && (got = check_page(conn, &next, prev, res)) > 0)
        progress(res, false);
    if (res->broken_seq || res->problem)
        goto out;
    progress(res, true);
    if (next <= res->head_seq) {
        broken(res, next, "missing",
               "events %" PRId64 "..%" PRId64 " are missing: the head (event_counter) says %" PRId64
               " was stored last",
               next, res->head_seq, res->head_seq);
    } else if (res->checked && memcmp(prev, res->head_hash, HASH_BYTES) != 0) {
        broken(res, res->head_seq, "head",
               "the head (event_counter) holds another hash than event %" PRId64
               " (the head or the last event was rewritten)",
               res->head_seq);
    } else {
        /* Events after the head were written around the counter. */
        char s[24];
        snprintf(s, sizeof(s), "%" PRId64, res->head_seq);
        const char *params[1] = {s};
        r = PQexecParams(conn, "SELECT min(seq) FROM dossier_events WHERE seq > $1::bigint", 1,
                         NULL, params, NULL, NULL, 0);
        if (!db_failed(conn, r, PGRES_TUPLES_OK, res) && !PQgetisnull(r, 0, 0)) {
            int64_t extra = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
            broken(res, extra, "head",
                   "event %" PRId64 " lies beyond the head (event_counter says %" PRId64
                   " was stored last): inserted around the counter",
                   extra, res->head_seq);
        }
        PQclear(r);
    }
out:
    PQclear(PQexec(conn, "ROLLBACK"));
}

static void print(const verify_result *res, double seconds, bool json)
{
    char head[2 * HASH_BYTES + 1];
    hex(res->head_hash, head);
    bool intact = !res->broken_seq && !res->problem;
    if (json) {
        json_t *b = json_null();
        if (!intact)
            b = json_pack("{s:I, s:s, s:s}", "seq", (json_int_t)res->broken_seq, "problem",
                          res->problem, "message", res->message);
        json_t *j =
            json_pack("{s:b, s:I, s:I, s:I, s:{s:I, s:s}, s:o, s:f}", "intact", intact, "checked",
                      (json_int_t)res->checked, "first_seq", (json_int_t)res->first_seq, "last_seq",
                      (json_int_t)res->last_seq, "head", "seq", (json_int_t)res->head_seq, "hash",
                      head, "broken", b, "seconds", seconds);
        char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
        if (s)
            printf("%s\n", s);
        free(s);
        json_decref(j);
        return;
    }
    if (intact) {
        printf("chain intact: %" PRId64 " events verified", res->checked);
        if (res->checked)
            printf(" (%" PRId64 "..%" PRId64 ")", res->first_seq, res->last_seq);
        printf(" in %.1f s\nhead: event %" PRId64 ", hash %s\n", seconds, res->head_seq, head);
        return;
    }
    if (strcmp(res->problem, "database") == 0) {
        fprintf(stderr, "lienthong verify: %s\n", res->message);
        return;
    }
    printf("chain BROKEN at event %" PRId64 " (%s): %s\n", res->broken_seq, res->problem,
           res->message);
    if (res->checked)
        printf("intact before it: events %" PRId64 "..%" PRId64 "\n", res->first_seq,
               res->last_seq);
}

int lt_verify_main(const lt_config *cfg, int argc, char **argv, bool json)
{
    verify_opts o;
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(lt_verify_help, stdout);
        return 0;
    }
    int rc = parse_opts(argc, argv, &o);
    if (rc != 0)
        return rc;
    o.json = o.json || json;
    if (sodium_init() < 0) {
        fprintf(stderr, "lienthong verify: libsodium cannot start\n");
        return EXIT_BROKEN;
    }
    char err[1024];
    lt_dbsession *db = lt_dbsession_open(cfg, LT_SCHEMA_CURRENT, err, sizeof(err));
    if (!db) {
        fprintf(stderr, "lienthong verify: %s\n", err);
        return EXIT_BROKEN;
    }
    verify_result res = {0};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    run(lt_dbsession_conn(db), &o, &res);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    lt_dbsession_close(&db);
    print(&res, (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9, o.json);
    return res.broken_seq || res.problem ? EXIT_BROKEN : 0;
}
