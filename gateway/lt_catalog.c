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
 * the contract, tests/bench/RESULTS.md for what each step costs.
 *
 * This file is the sync object: begin, staging by COPY, fail, destroy. The
 * commit's set-based SQL is lt_catalog_commit.c, the file source
 * lt_catalog_file.c; they share the object through lt_catalog_int.h. */
#include "lt_catalog.h"
#include "lt_catalog_int.h"
#include "lt_log.h"
#include "lt_pgcopy.h"
#include "lt_procedure.h"

#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* pg_try_advisory_lock keys: "lien" and "cat", recognisable in pg_locks and
 * distinct from the migration lock's. */
#define LOCK_SQL_ARGS "1818846574, 6513012"

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
const char *lt_catalog_pq_message(PGconn *conn, const PGresult *r, char *buf, size_t cap)
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
        lt_catalog_err_set(err, NULL, "%s: %s", what,
                           lt_catalog_pq_message(conn, r, msg, sizeof(msg)));
    PQclear(r);
    return NULL;
}

int lt_catalog_run_ok(PGconn *conn, const char *sql, int n, const char *const *params,
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
                              lt_catalog_pq_message(self->conn, NULL, msg, sizeof(msg)));
}

int lt_catalog_flush_some(lt_catalog_sync *self, lt_catalog_error *err)
{
    return lt_pgcopy_pending(self->copy) >= LT_PGCOPY_CHUNK ? flush(self, err) : 0;
}

int lt_catalog_end_copy(lt_catalog_sync *self, const char *abort_reason, lt_catalog_error *err)
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
                               lt_catalog_pq_message(self->conn, r, msg, sizeof(msg)));
            rc = -1;
        }
        PQclear(r);
    }
    return rc;
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
    if (lt_catalog_run_ok(
            conn,
            "UPDATE catalog_sync_runs SET outcome = 'failed', finished_at = now(), "
            "error = 'interrupted: the process running this sync ended before it finished' "
            "WHERE outcome = 'running'",
            0, NULL, err, "cannot read catalog_sync_runs") < 0)
        goto bad;
    /* The month's event partition, as the gateway would have made it at
     * start-up: a CLI sync may run on a database no gateway has touched for
     * months (rows would land in the default partition, which is legal but
     * slower to move later). */
    if (lt_catalog_run_ok(conn, "SELECT lt_ensure_event_partitions(1)", 0, NULL, err,
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
int lt_catalog_ensure_stage(lt_catalog_sync *self, lt_catalog_error *err)
{
    if (self->stage_made)
        return 0;
    if (lt_catalog_run_ok(self->conn,
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
int lt_catalog_start_copy(lt_catalog_sync *self, const char *sql, lt_catalog_error *err)
{
    if (self->copying)
        return 0;
    PGresult *r = PQexec(self->conn, sql);
    if (PQresultStatus(r) != PGRES_COPY_IN) {
        char msg[512];
        lt_catalog_err_set(err, NULL, "cannot start staging: %s",
                           lt_catalog_pq_message(self->conn, r, msg, sizeof(msg)));
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
int lt_catalog_stage(lt_catalog_sync *self, lt_procedure *p, const lt_procedure_error *perr,
                     const json_t *record, int64_t index, int64_t offset,
                     const unsigned char *source_hash, lt_catalog_error *err)
{
    if (lt_catalog_ensure_stage(self, err) < 0 ||
        lt_catalog_start_copy(self, copy_stage_sql, err) < 0) {
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
    rc = lt_catalog_flush_some(self, err);
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
    return lt_catalog_stage(self, p, &perr, record, index, offset, NULL, err);
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
    lt_catalog_end_copy(self, "catalog sync failed", NULL);
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
    if (lt_catalog_run_ok(
            self->conn,
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
