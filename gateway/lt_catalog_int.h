/* lt_catalog_int: what the catalog's own files share (lt_catalog.c, the
 * sync object and its staging; lt_catalog_commit.c, the deciding
 * transaction; lt_catalog_file.c, the file source; lt_catalog_read.c, show
 * and diff). Not for other modules: to them lt_catalog_sync is opaque. */
#ifndef LT_CATALOG_INT_H
#define LT_CATALOG_INT_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "lt_catalog.h"
#include "lt_pgcopy.h"
#include "lt_procedure.h"

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

/* Writes the message (and position, may be NULL) into err; returns -1. */
int lt_catalog_err_set(lt_catalog_error *err, const char *position, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Runs sql with text parameters; NULL (and err, naming what) unless the
 * result is a command or rows. */
PGresult *lt_catalog_run(PGconn *conn, const char *sql, int n, const char *const *params,
                         lt_catalog_error *err, const char *what);

/* A column as a number; NULL reads as 0. */
int64_t lt_catalog_int_at(const PGresult *r, int row, int col);

/* The server's message (r's, else the connection's), first line only. */
const char *lt_catalog_pq_message(PGconn *conn, const PGresult *r, char *buf, size_t cap);

/* lt_catalog_run for statements whose rows are not wanted: 0 or -1. */
int lt_catalog_run_ok(PGconn *conn, const char *sql, int n, const char *const *params,
                      lt_catalog_error *err, const char *what) __attribute__((warn_unused_result));

/* ---- the sync object's staging (lt_catalog.c) ---- */

/* Sends the pending COPY data once a chunk's worth has gathered. */
int lt_catalog_flush_some(lt_catalog_sync *self, lt_catalog_error *err)
    __attribute__((warn_unused_result));
/* Opens COPY with sql (ending "FROM STDIN (FORMAT binary)") unless open. */
int lt_catalog_start_copy(lt_catalog_sync *self, const char *sql, lt_catalog_error *err)
    __attribute__((warn_unused_result));
/* Ends an open COPY; abort_reason non-NULL abandons it. */
int lt_catalog_end_copy(lt_catalog_sync *self, const char *abort_reason, lt_catalog_error *err);
/* Makes the session's staging table on first use. */
int lt_catalog_ensure_stage(lt_catalog_sync *self, lt_catalog_error *err)
    __attribute__((warn_unused_result));
/* Stages p (NULL: refused as perr says, record being what was parsed) and
 * destroys it; source_hash of the raw bytes, NULL when unknown. */
int lt_catalog_stage(lt_catalog_sync *self, lt_procedure *p, const lt_procedure_error *perr,
                     const json_t *record, int64_t index, int64_t offset,
                     const unsigned char *source_hash, lt_catalog_error *err)
    __attribute__((warn_unused_result));

/* ---- the commit (lt_catalog_commit.c) ---- */

/* Commits a run in which every one of records matched a live procedure's
 * bytes: nothing staged, no version, the run recorded as unchanged. */
int lt_catalog_commit_unchanged(lt_catalog_sync *self, int64_t records,
                                lt_catalog_result *ret_result, lt_catalog_error *err)
    __attribute__((warn_unused_result));

#endif
