/* lt_catalog: keeping the procedure catalog current is a bulk job (a
 * province publishes ~2,000 procedures, the nation ~6,400) that must be
 * all-or-nothing: a dossier validated against half a catalog is judged by
 * rules nobody published. So a sync stages every record first (COPY into a
 * temp table, outside any transaction, so a slow source holds no locks) and
 * decides everything in one short transaction with set-based SQL: added,
 * changed (by content hash), restored, abolished; history rows; a version;
 * one stored event per change numbered from event_counter. Bad input is
 * found before that transaction starts, and the failure is recorded in its
 * own. A file source parses only records whose raw bytes changed since the
 * last sync (procedures.source_hash), and those in one pass over their
 * bytes when it can (lt_procedure_from_bytes); a re-sync in which every
 * record's bytes are unchanged stages nothing at all. See lt_catalog.h for
 * the contract, tests/bench/RESULTS.md for what each step costs. */
#include "lt_catalog.h"
#include "lt_catalog_int.h"
#include "lt_fmt.h"
#include "lt_jsonstream.h"
#include "lt_log.h"
#include "lt_pgcopy.h"
#include "lt_procedure.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* pg_try_advisory_lock keys: "lien" and "cat", recognisable in pg_locks and
 * distinct from the migration lock's. */
#define LOCK_SQL_ARGS "1818846574, 6513012"
/* Stages of fewer records are not analyzed (index_stage). */
#define ANALYZE_FROM 10000

struct lt_catalog_sync {
    PGconn *conn;    /* borrowed */
    int64_t run_id;  /* catalog_sync_runs.id of this run */
    bool full;       /* missing procedures are abolished at commit */
    bool locked;     /* we hold the catalog advisory lock */
    bool copying;    /* COPY FROM STDIN is open */
    bool done;       /* committed or failed: nothing left to record */
    bool stage_made; /* lt_catalog_stage exists (ensure_stage) */
    int64_t records; /* records staged */
    lt_pgcopy *copy; /* COPY data not yet sent */
};

int lt_catalog_err_set(lt_catalog_error *err, const char *position, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    snprintf(err->position, sizeof(err->position), "%s", position ? position : "");
    return -1;
}

/* The server's message, first line only. */
static const char *pq_message(PGconn *conn, const PGresult *r, char *buf, size_t cap)
{
    const char *m = r ? PQresultErrorMessage(r) : NULL;
    if (!m || !*m)
        m = PQerrorMessage(conn);
    snprintf(buf, cap, "%s", m);
    buf[strcspn(buf, "\n")] = '\0';
    return buf;
}

/* Runs sql with text parameters; NULL (and err) unless the result is a
 * command or rows. */
PGresult *lt_catalog_run(PGconn *conn, const char *sql, int n, const char *const *params,
                         lt_catalog_error *err, const char *what)
{
    /* PQexec for parameterless calls: it also takes several statements. */
    PGresult *r = n ? PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0) : PQexec(conn, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return r;
    char msg[512];
    if (err)
        lt_catalog_err_set(err, NULL, "%s: %s", what, pq_message(conn, r, msg, sizeof(msg)));
    PQclear(r);
    return NULL;
}

static int run_ok(PGconn *conn, const char *sql, int n, const char *const *params,
                  lt_catalog_error *err, const char *what)
{
    PGresult *r = lt_catalog_run(conn, sql, n, params, err, what);
    PQclear(r);
    return r ? 0 : -1;
}

int64_t lt_catalog_int_at(const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col))
        return 0;
    return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

/* ---- COPY ---------------------------------------------------------------- */

static int flush(lt_catalog_sync *self, lt_catalog_error *err)
{
    if (lt_pgcopy_send(self->copy, self->conn) == 0)
        return 0;
    char msg[512];
    return lt_catalog_err_set(err, NULL, "cannot send records to the database: %s",
                              pq_message(self->conn, NULL, msg, sizeof(msg)));
}

static int flush_some(lt_catalog_sync *self, lt_catalog_error *err)
{
    return lt_pgcopy_pending(self->copy) >= LT_PGCOPY_CHUNK ? flush(self, err) : 0;
}

/* ---- begin / add --------------------------------------------------------- */

int lt_catalog_sync_begin(PGconn *conn, const char *source, bool full, lt_catalog_sync **ret_self,
                          lt_catalog_error *err)
{
    memset(err, 0, sizeof(*err));
    lt_catalog_sync *self = calloc(1, sizeof(*self));
    if (!self)
        return lt_catalog_err_set(err, NULL, "out of memory");
    self->conn = conn;
    self->full = full;
    self->copy = lt_pgcopy_create();
    if (!self->copy) {
        free(self);
        return lt_catalog_err_set(err, NULL, "out of memory");
    }
    PGresult *r = NULL;
    if (PQsetClientEncoding(conn, "UTF8") != 0) {
        lt_catalog_err_set(err, NULL, "cannot set the client encoding to UTF8");
        goto bad;
    }
    r = lt_catalog_run(conn, "SELECT pg_try_advisory_lock(" LOCK_SQL_ARGS ")", 0, NULL, err,
                       "cannot take the catalog lock");
    if (!r)
        goto bad;
    self->locked = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    if (!self->locked) {
        err->busy = true;
        lt_catalog_err_set(
            err, NULL,
            "another catalog sync is running (it holds the catalog lock); wait for it to "
            "finish, then run this one again");
        goto bad;
    }
    /* Only the lock holder runs syncs, so a run still 'running' now belongs
     * to a process that died: say so instead of showing it as in progress. */
    if (run_ok(conn,
               "UPDATE catalog_sync_runs SET outcome = 'failed', finished_at = now(), "
               "error = 'interrupted: the process running this sync ended before it finished' "
               "WHERE outcome = 'running'",
               0, NULL, err, "cannot read catalog_sync_runs") < 0)
        goto bad;
    /* The month's event partition, as the gateway would have made it at
     * start-up: a CLI sync may run on a database no gateway has touched for
     * months (rows would land in the default partition, which is legal but
     * slower to move later). */
    if (run_ok(conn, "SELECT lt_ensure_event_partitions(1)", 0, NULL, err,
               "cannot prepare the event partitions") < 0)
        goto bad;
    const char *params[2] = {source, full ? "true" : "false"};
    r = lt_catalog_run(
        conn, "INSERT INTO catalog_sync_runs (source, full_list) VALUES ($1, $2) RETURNING id", 2,
        params, err, "cannot record the sync run");
    if (!r)
        goto bad;
    self->run_id = lt_catalog_int_at(r, 0, 0);
    PQclear(r);
    *ret_self = self;
    return 0;
bad:
    lt_catalog_sync_destroy(&self);
    return -1;
}

/* The staging table, made on first use (an unchanged file stages
 * nothing). A session temp table: it lives across the COPY and the
 * transaction after it, and vanishes with the connection if we die. Only
 * ord and code are NOT NULL: a file record whose raw bytes match a live
 * procedure's source_hash is staged as (ord, code, source_hash) alone, and
 * content_hash NULL classifies it as unchanged. */
static int ensure_stage(lt_catalog_sync *self, lt_catalog_error *err)
{
    if (self->stage_made)
        return 0;
    if (run_ok(self->conn,
               "DROP TABLE IF EXISTS pg_temp.lt_catalog_stage; "
               "CREATE TEMP TABLE lt_catalog_stage ("
               " ord bigint NOT NULL, code text NOT NULL, base_code text,"
               " name text, levels smallint[], status text,"
               " field_code text, content_hash bytea, record jsonb, source_hash bytea)",
               0, NULL, err, "cannot create the staging table") < 0)
        return -1;
    self->stage_made = true;
    return 0;
}

static const char copy_stage_sql[] = "COPY lt_catalog_stage (ord, code, base_code, name, levels, "
                                     "status, field_code, content_hash, record, source_hash) "
                                     "FROM STDIN (FORMAT binary)";

/* COPY opens with the first record, not in begin: until then the caller
 * may query on the connection under the lock (the API source reads the
 * stored NGAYCAPNHAT there). The file source closes and reopens it between
 * batches, to fetch which records to parse next. sql ends with
 * "FROM STDIN (FORMAT binary)"; the header goes first. */
static int start_copy(lt_catalog_sync *self, const char *sql, lt_catalog_error *err)
{
    if (self->copying)
        return 0;
    PGresult *r = PQexec(self->conn, sql);
    if (PQresultStatus(r) != PGRES_COPY_IN) {
        char msg[512];
        lt_catalog_err_set(err, NULL, "cannot start staging: %s",
                           pq_message(self->conn, r, msg, sizeof(msg)));
        PQclear(r);
        return -1;
    }
    PQclear(r);
    self->copying = true;
    if (lt_pgcopy_header(self->copy) < 0)
        return lt_catalog_err_set(err, NULL, "out of memory");
    return 0;
}

/* Stages p (NULL: the record was refused as perr says, record being what
 * was parsed; both are read only then) and destroys it. source_hash: the
 * hash of the record's raw bytes, NULL when unknown. */
static int stage(lt_catalog_sync *self, lt_procedure *p, const lt_procedure_error *perr,
                 const json_t *record, int64_t index, int64_t offset,
                 const unsigned char *source_hash, lt_catalog_error *err)
{
    if (ensure_stage(self, err) < 0 || start_copy(self, copy_stage_sql, err) < 0) {
        lt_procedure_destroy(&p);
        return -1;
    }
    if (!p) {
        const char *code = json_string_value(json_object_get(record, "MATTHC"));
        char pos[320];
        snprintf(pos, sizeof(pos), "[%" PRId64 "]%s%s", index, perr->path[0] ? "." : "",
                 perr->path);
        /* " (at byte 1234, MATTHC 2.000908)"; a source without offsets
         * (the API) passes offset -1. */
        char where[160] = "";
        if (offset >= 0 && code)
            snprintf(where, sizeof(where), " (at byte %" PRId64 ", MATTHC %.64s)", offset, code);
        else if (offset >= 0)
            snprintf(where, sizeof(where), " (at byte %" PRId64 ")", offset);
        else if (code)
            snprintf(where, sizeof(where), " (MATTHC %.64s)", code);
        return lt_catalog_err_set(
            err, pos, "record [%" PRId64 "]%s is refused: %s%sexpected %s, got %s", index, where,
            perr->path, perr->path[0] ? ": " : "", perr->expected, perr->got);
    }
    const int *lv;
    size_t nl = lt_procedure_levels(p, &lv);
    int rc = -1;
    lt_pgcopy *c = self->copy;
    if (lt_pgcopy_tuple(c, 10) < 0 || lt_pgcopy_int8(c, index) < 0 ||
        lt_pgcopy_text(c, lt_procedure_code(p)) < 0 ||
        lt_pgcopy_text(c, lt_procedure_base_code(p)) < 0 ||
        lt_pgcopy_text(c, lt_procedure_name(p)) < 0 || lt_pgcopy_int2_array(c, lv, nl) < 0 ||
        lt_pgcopy_text(c, lt_procedure_status(p)) < 0 ||
        lt_pgcopy_text(c, lt_procedure_field_code(p)) < 0 ||
        lt_pgcopy_field(c, lt_procedure_hash(p), LT_PROCEDURE_HASH_BYTES) < 0 ||
        lt_pgcopy_jsonb(c, lt_procedure_canonical(p), lt_procedure_canonical_len(p)) < 0 ||
        lt_pgcopy_field(c, source_hash, LT_PROCEDURE_HASH_BYTES) < 0)
        goto oom;
    self->records++;
    rc = flush_some(self, err);
    goto out;
oom:
    lt_catalog_err_set(err, NULL, "out of memory staging record [%" PRId64 "]", index);
out:
    lt_procedure_destroy(&p);
    return rc;
}

int lt_catalog_sync_add(lt_catalog_sync *self, const json_t *record, int64_t index, int64_t offset,
                        lt_catalog_error *err)
{
    lt_procedure_error perr;
    lt_procedure *p = lt_procedure_normalize(record, &perr);
    return stage(self, p, &perr, record, index, offset, NULL, err);
}

/* ---- commit -------------------------------------------------------------- */

static int end_copy(lt_catalog_sync *self, const char *abort_reason, lt_catalog_error *err)
{
    if (!self->copying)
        return 0;
    int rc = 0;
    if (abort_reason)
        lt_pgcopy_discard(self->copy);
    else if (lt_pgcopy_trailer(self->copy) < 0)
        rc = -1;
    if ((!abort_reason && (rc < 0 || flush(self, err) < 0)) ||
        PQputCopyEnd(self->conn, abort_reason) != 1) {
        if (err && !abort_reason && !err->message[0])
            lt_catalog_err_set(err, NULL, "cannot finish staging");
        rc = -1;
    }
    self->copying = false;
    PGresult *r;
    while ((r = PQgetResult(self->conn))) {
        if (PQresultStatus(r) != PGRES_COMMAND_OK && !abort_reason && rc == 0 && err) {
            char msg[512];
            lt_catalog_err_set(err, NULL, "staging failed: %s",
                               pq_message(self->conn, r, msg, sizeof(msg)));
            rc = -1;
        }
        PQclear(r);
    }
    return rc;
}

/* Two records with one MATTHC: the file contradicts itself. */
static int check_duplicates(lt_catalog_sync *self, lt_catalog_error *err)
{
    PGresult *r = lt_catalog_run(self->conn,
                                 "SELECT code, ord, first FROM (SELECT code, ord,"
                                 " min(ord) OVER (PARTITION BY code) AS first,"
                                 " row_number() OVER (PARTITION BY code ORDER BY ord) AS n"
                                 " FROM lt_catalog_stage) d WHERE n = 2 ORDER BY ord LIMIT 1",
                                 0, NULL, err, "cannot check the staged records");
    if (!r)
        return -1;
    int rc = 0;
    if (PQntuples(r) == 1) {
        char pos[64];
        snprintf(pos, sizeof(pos), "[%s].MATTHC", PQgetvalue(r, 0, 1));
        rc =
            lt_catalog_err_set(err, pos,
                               "record [%s] repeats MATTHC %s of record [%s]; a catalog lists each "
                               "procedure once",
                               PQgetvalue(r, 0, 1), PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 2));
    }
    PQclear(r);
    return rc;
}

/* The stage's index on code is unique: building it is the duplicate check
 * (a separate pass over the stage cost as much as the index), and only a
 * file that repeats a MATTHC pays for finding the first repetition. */
static int index_stage(lt_catalog_sync *self, lt_catalog_error *err)
{
    PGresult *r = PQexec(self->conn, "CREATE UNIQUE INDEX ON lt_catalog_stage (code)");
    ExecStatusType st = PQresultStatus(r);
    const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    bool repeated = st != PGRES_COMMAND_OK && state && strcmp(state, "23505") == 0;
    if (st != PGRES_COMMAND_OK && !repeated) {
        char msg[512];
        lt_catalog_err_set(err, NULL, "cannot index the staged records: %s",
                           pq_message(self->conn, r, msg, sizeof(msg)));
        PQclear(r);
        return -1;
    }
    PQclear(r);
    if (repeated) {
        if (check_duplicates(self, err) == 0)
            lt_catalog_err_set(err, NULL, "the staged records repeat a MATTHC");
        return -1;
    }
    /* Statistics for the joins that follow, once there are enough rows for
     * a plan to go wrong without them (a province's 2,000 plan well from
     * the table's size alone, and the ANALYZE was a tenth of their
     * transaction); not of the records, whose sample would be
     * decompressed for nothing. */
    if (self->records < ANALYZE_FROM)
        return 0;
    return run_ok(self->conn, "ANALYZE lt_catalog_stage (ord, code, content_hash, source_hash)", 0,
                  NULL, err, "cannot index the staged records");
}

static const char classify_sql[] =
    "CREATE TEMP TABLE lt_catalog_changes ON COMMIT DROP AS "
    "SELECT s.code, s.ord, CASE WHEN p.code IS NULL THEN 'added'"
    " WHEN p.abolished_at IS NOT NULL THEN 'restored' ELSE 'changed' END AS change"
    " FROM lt_catalog_stage s LEFT JOIN procedures p ON p.code = s.code"
    " WHERE p.code IS NULL OR p.abolished_at IS NOT NULL OR p.content_hash <> s.content_hash "
    "UNION ALL "
    "SELECT p.code, NULL::bigint, 'abolished' FROM procedures p"
    " WHERE %s AND p.abolished_at IS NULL"
    " AND NOT EXISTS (SELECT 1 FROM lt_catalog_stage s WHERE s.code = p.code)";

/* The statements that apply a classified sync, $1 = the new version. Order
 * matters: history copies the rows before they are updated. */
static const char *const apply_sql[][2] = {
    {"INSERT INTO procedure_history (code, catalog_version, superseded_in, base_code, name,"
     " levels, status, abolished_at, content_hash, record, field_code)"
     " SELECT p.code, p.catalog_version, $1, p.base_code, p.name, p.levels, p.status,"
     " p.abolished_at, p.content_hash, p.record, p.field_code"
     " FROM procedures p JOIN lt_catalog_changes c ON c.code = p.code WHERE c.change <> 'added'",
     "cannot keep the previous versions in procedure_history"},
    {"UPDATE procedures p SET base_code = s.base_code, name = s.name, levels = s.levels,"
     " status = s.status, field_code = s.field_code, content_hash = s.content_hash,"
     " record = s.record, source_hash = s.source_hash, abolished_at = NULL,"
     " catalog_version = $1, updated_at = now()"
     " FROM lt_catalog_stage s JOIN lt_catalog_changes c ON c.code = s.code"
     " WHERE p.code = s.code AND c.change IN ('changed', 'restored')",
     "cannot update changed procedures"},
    {"UPDATE procedures p SET abolished_at = now(), catalog_version = $1, updated_at = now()"
     " FROM lt_catalog_changes c WHERE c.code = p.code AND c.change = 'abolished'",
     "cannot abolish procedures missing from the list"},
    {"INSERT INTO procedures (code, base_code, name, levels, status, field_code, content_hash,"
     " record, source_hash, catalog_version)"
     " SELECT s.code, s.base_code, s.name, s.levels, s.status, s.field_code, s.content_hash,"
     " s.record, s.source_hash, $1 FROM lt_catalog_stage s JOIN lt_catalog_changes c ON c.code = "
     "s.code"
     " WHERE c.change = 'added'",
     "cannot insert new procedures"},
};

/* A record parsed and found unchanged still teaches us its raw bytes (the
 * first file sync after 0004, or whitespace that moved), so the next sync
 * skips it. Not a change: no version, no event, updated_at kept. A NULL
 * hash (the API source) leaves a known one alone: it still describes bytes
 * that normalize to the unchanged record. */
static const char learn_hashes_sql[] =
    "UPDATE procedures p SET source_hash = s.source_hash FROM lt_catalog_stage s"
    " WHERE p.code = s.code AND s.source_hash IS NOT NULL AND s.content_hash IS NOT NULL"
    " AND p.source_hash IS DISTINCT FROM s.source_hash";

/* One stored event per change, in file order (abolitions last, by code),
 * numbered from $1 (the first sequence taken from event_counter) and
 * chained after $2 (event_counter.last_hash before them). The event's record
 * is an envelope: what happened and the procedure as it now stands, so a
 * subscriber needs no second call.
 *
 * One statement streams the events: the changes are sorted (narrow rows),
 * each envelope is built by a per-row subquery on procedures' primary key,
 * so the order survives without sorting envelopes, and the windows number
 * and chain them in that order (lt_event_chain_agg, 0008). Nothing goes
 * through arrays: passing 100,000 envelopes to lt_append_events meant
 * sorting ~250 MB seven times. The statement also moves the chain's head;
 * it returns how many events it inserted, which the caller checks against
 * the numbers it took. */
static const char events_sql[] =
    "WITH ins AS ("
    " INSERT INTO dossier_events (seq, kind, topic, procedure_code, record, hash, prev_hash)"
    " SELECT $1::bigint + i - 1, 'catalog', topic, code, rec, hash,"
    "  coalesce(lag(hash) OVER w, $2::bytea)"
    " FROM (SELECT e.*, lt_event_chain_agg($2::bytea, $1::bigint + i - 1, 'catalog', topic, rec)"
    "        OVER (w ROWS UNBOUNDED PRECEDING) AS hash"
    "  FROM (SELECT c.ord, c.code, 'catalog.' || c.code AS topic, row_number() OVER w AS i,"
    "         (SELECT jsonb_build_object('change', c.change, 'code', p.code,"
    "           'base_code', p.base_code, 'name', p.name, 'levels', to_jsonb(p.levels),"
    "           'status', p.status, 'published', p.published, 'field_code', p.field_code,"
    "           'abolished_at', p.abolished_at, 'catalog_version', p.catalog_version,"
    "           'procedure', p.record) FROM procedures p WHERE p.code = c.code) AS rec"
    "        FROM lt_catalog_changes c WINDOW w AS (ORDER BY c.ord NULLS LAST, c.code)) e"
    "  WINDOW w AS (ORDER BY ord NULLS LAST, code)) x"
    " WINDOW w AS (ORDER BY ord NULLS LAST, code)"
    " RETURNING seq, hash) "
    "UPDATE event_counter SET last_hash = (SELECT hash FROM ins ORDER BY seq DESC LIMIT 1)"
    " RETURNING (SELECT count(*) FROM ins)";

/* Takes n numbers from event_counter (its row lock orders concurrent
 * writers until commit; a rollback returns them): the first and the
 * chain's head, as text parameters for events_sql. */
static const char take_numbers_sql[] =
    "UPDATE event_counter SET last_seq = last_seq + $1, updated_at = now()"
    " RETURNING last_seq - $1 + 1, '\\x' || encode(last_hash, 'hex')";

/* Records what the run did in its catalog_sync_runs row (outcome "ok" or
 * "partial") and sets res->duration_s. */
static int record_run(lt_catalog_sync *self, bool partial, lt_catalog_result *res,
                      lt_catalog_error *err)
{
    char id[24], added[24], changed[24], abolished[24], unchanged[24], records[24], first[24],
        lastseq[24];
    snprintf(id, sizeof(id), "%" PRId64, self->run_id);
    snprintf(added, sizeof(added), "%" PRId64, res->added);
    snprintf(changed, sizeof(changed), "%" PRId64, res->changed);
    snprintf(abolished, sizeof(abolished), "%" PRId64, res->abolished);
    snprintf(unchanged, sizeof(unchanged), "%" PRId64, res->unchanged);
    snprintf(records, sizeof(records), "%" PRId64, res->records);
    snprintf(first, sizeof(first), "%" PRId64, res->first_seq);
    snprintf(lastseq, sizeof(lastseq), "%" PRId64, res->last_seq);
    const char *pr[9] = {id,
                         partial ? "partial" : "ok",
                         added,
                         changed,
                         abolished,
                         unchanged,
                         records,
                         res->first_seq ? first : NULL,
                         res->first_seq ? lastseq : NULL};
    PGresult *r =
        lt_catalog_run(self->conn,
                       "UPDATE catalog_sync_runs SET outcome = $2, finished_at = clock_timestamp(),"
                       " added = $3, changed = $4, abolished = $5, unchanged = $6, records = $7,"
                       " first_seq = $8, last_seq = $9 WHERE id = $1"
                       " RETURNING extract(epoch FROM finished_at - started_at)",
                       9, pr, err, "cannot record the sync run");
    if (!r)
        return -1;
    res->duration_s = strtod(PQgetvalue(r, 0, 0), NULL);
    PQclear(r);
    return 0;
}

/* Every record of the file is byte for byte what a distinct live procedure
 * was last read from (and, for a full list, every live procedure is in
 * it): nothing can change, so the staging, the duplicate check and the
 * classification are skipped and only the run is recorded. Two records with
 * one MATTHC cannot hide here: the caller counted as many distinct matched
 * procedures as records. */
static int commit_unchanged(lt_catalog_sync *self, int64_t records, lt_catalog_result *ret_result,
                            lt_catalog_error *err)
{
    lt_catalog_result res = {.run_id = self->run_id, .records = records, .unchanged = records};
    if (end_copy(self, NULL, err) < 0 || record_run(self, false, &res, err) < 0)
        return -1;
    self->records = records;
    self->done = true;
    *ret_result = res;
    return 0;
}

int lt_catalog_sync_commit(lt_catalog_sync *self, bool partial, lt_catalog_result *ret_result,
                           lt_catalog_error *err)
{
    PGconn *c = self->conn;
    lt_catalog_result res = {.run_id = self->run_id, .records = self->records};
    PGresult *r = NULL;
    char sql[sizeof(classify_sql) + 16];
    if (end_copy(self, NULL, err) < 0 || ensure_stage(self, err) < 0 ||
        index_stage(self, err) < 0 ||
        run_ok(c, "BEGIN", 0, NULL, err, "cannot start the catalog transaction") < 0)
        return -1;
    /* A partial list (some records could not be fetched) abolishes nothing. */
    snprintf(sql, sizeof(sql), classify_sql, self->full && !partial ? "true" : "false");
    if (run_ok(c, sql, 0, NULL, err, "cannot compare the records with the catalog") < 0)
        goto rollback;
    r = lt_catalog_run(c,
                       "SELECT count(*) FILTER (WHERE change = 'added'),"
                       " count(*) FILTER (WHERE change IN ('changed', 'restored')),"
                       " count(*) FILTER (WHERE change = 'restored'),"
                       " count(*) FILTER (WHERE change = 'abolished') FROM lt_catalog_changes",
                       0, NULL, err, "cannot count the changes");
    if (!r)
        goto rollback;
    res.added = lt_catalog_int_at(r, 0, 0);
    res.changed = lt_catalog_int_at(r, 0, 1);
    res.restored = lt_catalog_int_at(r, 0, 2);
    res.abolished = lt_catalog_int_at(r, 0, 3);
    res.unchanged = res.records - res.added - res.changed;
    PQclear(r);
    r = NULL;
    if (res.added + res.changed + res.abolished > 0) {
        char run_id[24], version[24];
        snprintf(run_id, sizeof(run_id), "%" PRId64, self->run_id);
        const char *p1[1] = {run_id};
        r = lt_catalog_run(
            c, "INSERT INTO catalog_versions (sync_run_id) VALUES ($1) RETURNING version", 1, p1,
            err, "cannot create a catalog version");
        if (!r)
            goto rollback;
        res.version = lt_catalog_int_at(r, 0, 0);
        PQclear(r);
        r = NULL;
        snprintf(version, sizeof(version), "%" PRId64, res.version);
        const char *pv[1] = {version};
        for (size_t i = 0; i < sizeof(apply_sql) / sizeof(apply_sql[0]); i++)
            if (run_ok(c, apply_sql[i][0], 1, pv, err, apply_sql[i][1]) < 0)
                goto rollback;
        char nev[24], first[24], head[2 + 2 * LT_PROCEDURE_HASH_BYTES + 1];
        int64_t n = res.added + res.changed + res.abolished;
        snprintf(nev, sizeof(nev), "%" PRId64, n);
        const char *pn1[1] = {nev};
        r = lt_catalog_run(c, take_numbers_sql, 1, pn1, err, "cannot number the catalog events");
        if (!r)
            goto rollback;
        res.first_seq = lt_catalog_int_at(r, 0, 0);
        res.last_seq = res.first_seq + n - 1;
        snprintf(first, sizeof(first), "%" PRId64, res.first_seq);
        snprintf(head, sizeof(head), "%s", PQgetvalue(r, 0, 1));
        PQclear(r);
        const char *pe[2] = {first, head};
        r = lt_catalog_run(c, events_sql, 2, pe, err, "cannot append the catalog events");
        if (!r)
            goto rollback;
        int64_t appended = lt_catalog_int_at(r, 0, 0);
        PQclear(r);
        r = NULL;
        if (appended != n) {
            lt_catalog_err_set(err, NULL,
                               "cannot append the catalog events: %" PRId64 " of %" PRId64
                               " were written",
                               appended, n);
            goto rollback;
        }
        /* Delivered at commit: a running gateway publishes from its stored
         * events up to this sequence (the publisher is later work). */
        char last[24];
        snprintf(last, sizeof(last), "%" PRId64, res.last_seq);
        const char *pn[2] = {LT_CATALOG_NOTIFY_CHANNEL, last};
        if (run_ok(c, "SELECT pg_notify($1, $2)", 2, pn, err, "cannot notify gateways") < 0)
            goto rollback;
    }
    /* Added, changed and restored rows got their source_hash above; only
     * unchanged ones can have bytes to learn (none in a first sync). */
    if (res.unchanged > 0 &&
        run_ok(c, learn_hashes_sql, 0, NULL, err, "cannot record the records' source hashes") < 0)
        goto rollback;
    if (record_run(self, partial, &res, err) < 0)
        goto rollback;
    if (run_ok(c, "COMMIT", 0, NULL, err, "cannot commit the catalog transaction") < 0)
        goto rollback;
    self->done = true;
    *ret_result = res;
    return 0;
rollback:
    PQclear(PQexec(c, "ROLLBACK"));
    return -1;
}

/* ---- fail / destroy ------------------------------------------------------ */

int64_t lt_catalog_sync_run_id(const lt_catalog_sync *self)
{
    return self->run_id;
}

void lt_catalog_sync_fail(lt_catalog_sync *self, const lt_catalog_error *err)
{
    if (!self || self->done)
        return;
    end_copy(self, "catalog sync failed", NULL);
    if (PQtransactionStatus(self->conn) != PQTRANS_IDLE)
        PQclear(PQexec(self->conn, "ROLLBACK"));
    self->done = true;
    if (self->run_id == 0)
        return;
    char id[24], records[24];
    snprintf(id, sizeof(id), "%" PRId64, self->run_id);
    snprintf(records, sizeof(records), "%" PRId64, self->records);
    const char *params[4] = {id, err->message, err->position[0] ? err->position : NULL, records};
    /* Autocommit: its own transaction, after the rollback above. */
    if (run_ok(self->conn,
               "UPDATE catalog_sync_runs SET outcome = 'failed', finished_at = clock_timestamp(),"
               " error = $2, error_position = $3, records = $4 WHERE id = $1",
               4, params, NULL, "") < 0)
        LT_WARN("catalog sync: the failed run %" PRId64 " could not be recorded", self->run_id);
}

void lt_catalog_sync_destroy(lt_catalog_sync **self_p)
{
    if (!self_p || !*self_p)
        return;
    lt_catalog_sync *self = *self_p;
    if (!self->done) {
        lt_catalog_error why = {.message = "abandoned before it finished"};
        lt_catalog_sync_fail(self, &why);
    }
    if (self->stage_made)
        PQclear(PQexec(self->conn, "DROP TABLE IF EXISTS pg_temp.lt_catalog_stage"));
    if (self->locked)
        PQclear(PQexec(self->conn, "SELECT pg_advisory_unlock(" LOCK_SQL_ARGS ")"));
    lt_pgcopy_destroy(&self->copy);
    free(self);
    *self_p = NULL;
}

/* ---- file source --------------------------------------------------------- */

/* Which records of the file need parsing is fetched in pieces this large,
 * so memory stays flat however many changed. */
#define TODO_BATCH     4096
#define TODO_BATCH_SQL "4096"

/* The file as pass 1 saw it: pass 2 must read the same bytes. */
static bool same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* BLAKE2b-256, not SHA-256: it is hashed over every byte of the file on
 * every sync, and libsodium's BLAKE2b is several times faster than its
 * portable SHA-256. The column takes 32 bytes either way. */
_Static_assert(crypto_generichash_BYTES == LT_PROCEDURE_HASH_BYTES, "source_hash is 32 bytes");

static void source_hash(const lt_jsonstream_item *it, unsigned char *h)
{
    crypto_generichash(h, crypto_generichash_BYTES, (const unsigned char *)it->bytes, it->len, NULL,
                       0);
}

static int stream_error(const char *path, const lt_jsonstream_error *serr, lt_catalog_error *err)
{
    char pos[96];
    if (serr->index >= 0)
        snprintf(pos, sizeof(pos), "[%" PRId64 "] byte %" PRId64, serr->index, serr->offset);
    else
        snprintf(pos, sizeof(pos), "byte %" PRId64, serr->offset);
    return lt_catalog_err_set(err, pos, "%s: %s", path, serr->message);
}

/* Pass 1: each record's raw-bytes hash into lt_catalog_raw, no parse.
 * 1 read to the end, 0 the stream failed (pass 2 then parses everything
 * and reports the first error exactly as a single pass would), -1 err. */
static int hash_records(lt_catalog_sync *sync, int fd, size_t max_record, int64_t *ret_count,
                        lt_catalog_error *err)
{
    lt_jsonstream *stream = lt_jsonstream_new_fd(fd, max_record, LT_JSONSTREAM_DEFAULT_READ);
    if (!stream)
        return lt_catalog_err_set(err, NULL, "out of memory");
    int rc = -1;
    if (start_copy(sync, "COPY lt_catalog_raw (ord, source_hash) FROM STDIN (FORMAT binary)", err) <
        0)
        goto out;
    lt_jsonstream_item it;
    lt_jsonstream_error serr;
    int got;
    int64_t n = 0;
    while ((got = lt_jsonstream_next(stream, &it, &serr)) == 1) {
        unsigned char h[LT_PROCEDURE_HASH_BYTES];
        source_hash(&it, h);
        if (lt_pgcopy_tuple(sync->copy, 2) < 0 || lt_pgcopy_int8(sync->copy, it.index) < 0 ||
            lt_pgcopy_field(sync->copy, h, sizeof(h)) < 0) {
            lt_catalog_err_set(err, NULL, "out of memory");
            goto out;
        }
        if (flush_some(sync, err) < 0)
            goto out;
        n++;
    }
    if (end_copy(sync, NULL, err) < 0)
        goto out;
    *ret_count = n;
    rc = got == 0 ? 1 : 0;
out:
    lt_jsonstream_destroy(&stream);
    return rc;
}

/* The next piece of the ords to parse (ascending) into todo; *n 0 = none
 * left. */
static int fetch_todo(lt_catalog_sync *sync, int64_t *todo, size_t *n, lt_catalog_error *err)
{
    if (end_copy(sync, NULL, err) < 0)
        return -1;
    PGresult *r =
        lt_catalog_run(sync->conn, "FETCH FORWARD " TODO_BATCH_SQL " FROM lt_catalog_todo", 0, NULL,
                       err, "cannot read which records changed");
    if (!r)
        return -1;
    *n = (size_t)PQntuples(r);
    for (size_t i = 0; i < *n; i++)
        todo[i] = lt_catalog_int_at(r, (int)i, 0);
    PQclear(r);
    return 0;
}

int lt_catalog_sync_file(PGconn *conn, const char *path, bool full, size_t max_record,
                         lt_catalog_progress_fn progress, void *progress_ctx,
                         lt_catalog_result *ret_result, lt_catalog_error *err)
{
    char source[4200];
    snprintf(source, sizeof(source), "file:%s", path);
    lt_catalog_sync *sync = NULL;
    lt_jsonstream *stream = NULL;
    int64_t *todo = NULL;
    bool made_raw = false, cursor = false;
    int fd = -1, rc = -1;
    if (!max_record)
        max_record = LT_JSONSTREAM_DEFAULT_MAX_RECORD;
    if (lt_catalog_sync_begin(conn, source, full, &sync, err) < 0)
        return -1;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st, st2;
    if (fd < 0 || fstat(fd, &st) < 0) {
        lt_catalog_err_set(err, NULL, "cannot read %s: %s", path, strerror(errno));
        goto fail;
    }
    todo = malloc(TODO_BATCH * sizeof(*todo));
    if (!todo) {
        lt_catalog_err_set(err, NULL, "out of memory");
        goto fail;
    }
    int64_t total = S_ISREG(st.st_mode) ? (int64_t)st.st_size : 0;
    /* Two passes need a file that can be read twice; a pipe is parsed in
     * one, every record. */
    bool parse_all = !S_ISREG(st.st_mode);
    int64_t count = 0, matched = 0;
    /* Nothing to match against (a first sync, or the first since 0004):
     * pass 1 would only cost time, so parse everything in one pass. */
    if (!parse_all) {
        PGresult *r = lt_catalog_run(conn,
                                     "SELECT EXISTS (SELECT 1 FROM procedures"
                                     " WHERE source_hash IS NOT NULL AND abolished_at IS NULL)",
                                     0, NULL, err, "cannot read the catalog");
        if (!r)
            goto fail;
        parse_all = strcmp(PQgetvalue(r, 0, 0), "t") != 0;
        PQclear(r);
    }
    if (!parse_all) {
        made_raw = true;
        if (run_ok(conn,
                   "DROP TABLE IF EXISTS pg_temp.lt_catalog_raw; "
                   "CREATE TEMP TABLE lt_catalog_raw (ord bigint NOT NULL, source_hash bytea NOT "
                   "NULL)",
                   0, NULL, err, "cannot create the staging table") < 0)
            goto fail;
        int h = hash_records(sync, fd, max_record, &count, err);
        if (h < 0)
            goto fail;
        parse_all = h == 0;
        if (lseek(fd, 0, SEEK_SET) < 0) {
            lt_catalog_err_set(err, NULL, "cannot read %s again: %s", path, strerror(errno));
            goto fail;
        }
    }
    if (!parse_all) {
        /* The common re-sync: every record's bytes are a live procedure's
         * last ones. One scan of procedures decides it without staging
         * anything: live procedures have distinct source hashes (equal
         * bytes carry one MATTHC, and a code is one row), so when as many
         * of them match as the file has records, every record matched
         * and no two records are the same bytes. */
        PGresult *r = lt_catalog_run(conn,
                                     "SELECT count(*) FILTER (WHERE source_hash IN"
                                     " (SELECT source_hash FROM lt_catalog_raw)), count(*)"
                                     " FROM procedures WHERE abolished_at IS NULL",
                                     0, NULL, err, "cannot compare the records with the catalog");
        if (!r)
            goto fail;
        int64_t same = lt_catalog_int_at(r, 0, 0), live = lt_catalog_int_at(r, 0, 1);
        PQclear(r);
        if (same == count && (!full || live == count)) {
            if (commit_unchanged(sync, count, ret_result, err) < 0)
                goto fail;
            if (progress)
                progress(progress_ctx, count, total, total);
            rc = 0;
            goto out;
        }
    }
    if (!parse_all) {
        /* Raw bytes equal to a live procedure's last ones: unchanged, and
         * the code comes from the join. Abolished ones are parsed, so they
         * are restored as usual. */
        if (ensure_stage(sync, err) < 0)
            goto fail;
        PGresult *r = lt_catalog_run(conn,
                                     "INSERT INTO lt_catalog_stage (ord, code, source_hash)"
                                     " SELECT r.ord, p.code, r.source_hash FROM lt_catalog_raw r"
                                     " JOIN procedures p ON p.source_hash = r.source_hash"
                                     " AND p.abolished_at IS NULL",
                                     0, NULL, err, "cannot compare the records with the catalog");
        if (!r)
            goto fail;
        matched = strtoll(PQcmdTuples(r), NULL, 10);
        PQclear(r);
        if (matched < count) {
            cursor = true;
            if (run_ok(conn,
                       "DECLARE lt_catalog_todo NO SCROLL CURSOR WITH HOLD FOR"
                       " SELECT r.ord FROM lt_catalog_raw r WHERE NOT EXISTS (SELECT 1"
                       " FROM procedures p WHERE p.source_hash = r.source_hash"
                       " AND p.abolished_at IS NULL) ORDER BY r.ord",
                       0, NULL, err, "cannot list the records that changed") < 0)
                goto fail;
        }
    }
    size_t ntodo = 0, next = 0;
    if (cursor && fetch_todo(sync, todo, &ntodo, err) < 0)
        goto fail;
    /* Pass 2: parse, normalize and stage what did not match (or all). */
    if (parse_all || ntodo > 0) {
        stream = lt_jsonstream_new_fd(fd, max_record, LT_JSONSTREAM_DEFAULT_READ);
        if (!stream) {
            lt_catalog_err_set(err, NULL, "out of memory");
            goto fail;
        }
    }
    lt_jsonstream_item it;
    lt_jsonstream_error serr;
    int got = 0;
    while (stream && (got = lt_jsonstream_next(stream, &it, &serr)) == 1) {
        if (progress && (it.index + 1) % 100 == 0)
            progress(progress_ctx, it.index + 1, lt_jsonstream_consumed(stream), total);
        if (!parse_all) {
            if (it.index < todo[next])
                continue;
            if (it.index > todo[next]) {
                lt_catalog_err_set(err, NULL, "%s changed while it was read; run the sync again",
                                   path);
                goto fail;
            }
            next++;
        }
        unsigned char h[LT_PROCEDURE_HASH_BYTES];
        source_hash(&it, h);
        /* Most records take the one-pass path; what it does not vouch for
         * (and every error) goes through jansson and the rules. */
        lt_procedure *p = lt_procedure_from_bytes(it.bytes, it.len);
        int added;
        if (p) {
            added = stage(sync, p, NULL, NULL, it.index, it.offset, h, err);
        } else {
            json_error_t jerr;
            /* Duplicate keys would make the record mean whichever came last. */
            json_t *rec = json_loadb(it.bytes, it.len, JSON_REJECT_DUPLICATES, &jerr);
            if (!rec) {
                char pos[96];
                int64_t at = it.offset + jerr.position;
                snprintf(pos, sizeof(pos), "[%" PRId64 "] byte %" PRId64, it.index, at);
                lt_catalog_err_set(err, pos,
                                   "record [%" PRId64 "] (at byte %" PRId64
                                   ") is not valid JSON: %s (near byte %" PRId64 ")",
                                   it.index, it.offset, jerr.text, at);
                sync->records = it.index;
                goto fail;
            }
            /* The parsed record is ours alone: normalized in place, no copy. */
            lt_procedure_error perr;
            p = lt_procedure_normalize_inplace(rec, &perr);
            added = stage(sync, p, &perr, rec, it.index, it.offset, h, err);
            json_decref(rec);
        }
        if (added < 0) {
            sync->records = it.index;
            goto fail;
        }
        if (!parse_all && next == ntodo) {
            next = 0;
            if (fetch_todo(sync, todo, &ntodo, err) < 0)
                goto fail;
            if (ntodo == 0)
                break; /* the rest matched: pass 1 has read it already */
        }
    }
    if (got < 0) {
        stream_error(path, &serr, err);
        goto fail;
    }
    if (!parse_all) {
        if (next < ntodo) {
            lt_catalog_err_set(err, NULL, "%s changed while it was read; run the sync again", path);
            goto fail;
        }
        if (fstat(fd, &st2) < 0 || !same_file(&st, &st2)) {
            lt_catalog_err_set(err, NULL, "%s changed while it was read; run the sync again", path);
            goto fail;
        }
        sync->records = count;
    }
    if (progress)
        progress(progress_ctx, sync->records,
                 stream && parse_all ? lt_jsonstream_consumed(stream) : total, total);
    if (lt_catalog_sync_commit(sync, false, ret_result, err) < 0)
        goto fail;
    rc = 0;
    goto out;
fail:
    err->run_id = sync->run_id;
    lt_catalog_sync_fail(sync, err);
out:
    /* Session objects: a CLI connection ends soon, the gateway's does not. */
    if (cursor)
        PQclear(PQexec(conn, "CLOSE lt_catalog_todo"));
    if (made_raw)
        PQclear(PQexec(conn, "DROP TABLE IF EXISTS pg_temp.lt_catalog_raw"));
    free(todo);
    lt_jsonstream_destroy(&stream);
    if (fd >= 0)
        close(fd);
    lt_catalog_sync_destroy(&sync);
    return rc;
}
