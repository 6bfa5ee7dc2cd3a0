/* lt_catalog_commit: the one short transaction that decides a catalog sync
 * (see lt_catalog.c for the whole): the stage checked for duplicate codes
 * and indexed, every staged record classified against procedures by content
 * hash (added, changed, restored, unchanged; abolished when full), history
 * rows, a catalog version, one stored event per change numbered from
 * event_counter, and the run recorded. Set-based SQL, so the transaction's
 * length does not grow with the rows a province publishes. */
#include "lt_catalog.h"
#include "lt_catalog_int.h"
#include "lt_log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Stages of fewer records are not analyzed (index_stage). */
#define ANALYZE_FROM 10000

/* ---- commit -------------------------------------------------------------- */

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
                           lt_catalog_pq_message(self->conn, r, msg, sizeof(msg)));
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
    return lt_catalog_run_ok(self->conn,
                             "ANALYZE lt_catalog_stage (ord, code, content_hash, source_hash)", 0,
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
int lt_catalog_commit_unchanged(lt_catalog_sync *self, int64_t records,
                                lt_catalog_result *ret_result, lt_catalog_error *err)
{
    lt_catalog_result res = {.run_id = self->run_id, .records = records, .unchanged = records};
    if (lt_catalog_end_copy(self, NULL, err) < 0 || record_run(self, false, &res, err) < 0)
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
    if (lt_catalog_end_copy(self, NULL, err) < 0 || lt_catalog_ensure_stage(self, err) < 0 ||
        index_stage(self, err) < 0 ||
        lt_catalog_run_ok(c, "BEGIN", 0, NULL, err, "cannot start the catalog transaction") < 0)
        return -1;
    /* A partial list (some records could not be fetched) abolishes nothing. */
    snprintf(sql, sizeof(sql), classify_sql, self->full && !partial ? "true" : "false");
    if (lt_catalog_run_ok(c, sql, 0, NULL, err, "cannot compare the records with the catalog") < 0)
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
            if (lt_catalog_run_ok(c, apply_sql[i][0], 1, pv, err, apply_sql[i][1]) < 0)
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
        if (lt_catalog_run_ok(c, "SELECT pg_notify($1, $2)", 2, pn, err, "cannot notify gateways") <
            0)
            goto rollback;
    }
    /* Added, changed and restored rows got their source_hash above; only
     * unchanged ones can have bytes to learn (none in a first sync). */
    if (res.unchanged > 0 && lt_catalog_run_ok(c, learn_hashes_sql, 0, NULL, err,
                                               "cannot record the records' source hashes") < 0)
        goto rollback;
    if (record_run(self, partial, &res, err) < 0)
        goto rollback;
    if (lt_catalog_run_ok(c, "COMMIT", 0, NULL, err, "cannot commit the catalog transaction") < 0)
        goto rollback;
    self->done = true;
    *ret_result = res;
    return 0;
rollback:
    PQclear(PQexec(c, "ROLLBACK"));
    return -1;
}
