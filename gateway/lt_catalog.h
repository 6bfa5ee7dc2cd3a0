/* lt_catalog: the national procedure catalog in PostgreSQL. A sync reads
 * procedure records from a source (today an export file; later the national
 * API through libcurl, which feeds the same lt_catalog_sync_add), stages
 * them with COPY and applies them in one transaction: new procedures
 * inserted, changed ones updated with the previous row kept in
 * procedure_history, with a full list the missing ones soft-abolished, a new
 * catalog version, and one stored catalog event per change in the global
 * sequence. A running gateway learns of it from NOTIFY lt_events (payload:
 * the last sequence) and publishes after commit (that publisher is later
 * work). `show` and `diff` read what syncs wrote. */
#ifndef LT_CATALOG_H
#define LT_CATALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include <libpq-fe.h>

/* The channel a sync NOTIFYs after commit, payload the last event sequence. */
#define LT_CATALOG_NOTIFY_CHANNEL "lt_events"

/* Why a sync (or a read) failed. */
typedef struct lt_catalog_error {
    char message[768];  /* a sentence an operator can act on */
    char position[256]; /* where in the input: "[17].CAPTHUCHIEN[0].CAPTHUCHIEN", "byte 1234" */
    bool busy;          /* another sync holds the lock */
    int64_t run_id;     /* the failed run's catalog_sync_runs.id; 0 when none was recorded */
} lt_catalog_error;

/* What a finished sync did. */
typedef struct lt_catalog_result {
    int64_t run_id;    /* catalog_sync_runs.id */
    int64_t version;   /* catalog version created, 0 when nothing changed */
    int64_t records;   /* records read */
    int64_t added;     /* new procedures */
    int64_t changed;   /* content changed, or restored after an abolition */
    int64_t restored;  /* of changed: abolished before, back in the list */
    int64_t abolished; /* soft-abolished (full list only) */
    int64_t unchanged; /* same content hash, not abolished */
    int64_t first_seq; /* first catalog event appended, 0 when none */
    int64_t last_seq;  /* last catalog event appended, 0 when none */
    double duration_s; /* finished_at - started_at */
} lt_catalog_result;

typedef struct lt_catalog_sync lt_catalog_sync;

/* Starts a sync on conn (borrowed; must stay open until destroy): takes the
 * catalog lock (pg_try_advisory_lock: a second sync fails at once with
 * err->busy), marks runs left 'running' by a dead process as failed,
 * records this run (source: "file:<path>" or a URL). The session temp
 * table for staging is made, and the COPY into it opened, with the first
 * lt_catalog_sync_add, so until then conn is free for the caller's own
 * queries under the lock (the API source reads what is stored). full: the
 * source is the whole catalog, so missing procedures get soft-abolished at
 * commit. */
int lt_catalog_sync_begin(PGconn *conn, const char *source, bool full, lt_catalog_sync **ret_self,
                          lt_catalog_error *err) __attribute__((warn_unused_result));

/* Normalizes one record (lt_procedure) and stages it. index/offset say where
 * it came from, for error messages (offset -1: the source has no byte
 * offsets). -1 with err naming "[index].path". */
int lt_catalog_sync_add(lt_catalog_sync *self, const json_t *record, int64_t index, int64_t offset,
                        lt_catalog_error *err) __attribute__((warn_unused_result));

/* Applies everything staged in one transaction (see the top of this file)
 * and records the run as ok. partial: some records could not be fetched, so
 * nothing is abolished even with full, and the run is recorded 'partial'.
 * -1 with err: nothing changed (the caller then calls lt_catalog_sync_fail). */
int lt_catalog_sync_commit(lt_catalog_sync *self, bool partial, lt_catalog_result *ret_result,
                           lt_catalog_error *err) __attribute__((warn_unused_result));

/* This run's catalog_sync_runs.id (for lt_catalog_error.run_id). */
int64_t lt_catalog_sync_run_id(const lt_catalog_sync *self);

/* Gives up: rolls back what is open and records the run as failed with
 * err's message and position, in its own committed transaction. */
void lt_catalog_sync_fail(lt_catalog_sync *self, const lt_catalog_error *err);

/* Releases the lock and the staging table; a sync neither committed nor
 * failed is recorded as failed ("abandoned"). */
void lt_catalog_sync_destroy(lt_catalog_sync **self_p);

/* Progress callback: records read so far, bytes read of total (total 0 when
 * unknown). */
typedef void (*lt_catalog_progress_fn)(void *ctx, int64_t records, int64_t bytes, int64_t total);

/* The whole file path, streamed with lt_jsonstream (a record of at most
 * max_record bytes; 0 = 4 MiB). Any malformed input fails the whole sync,
 * the run is recorded as failed, and nothing else changes. A regular file
 * is read twice: first to hash each record's raw bytes, then to parse only
 * the records whose bytes no live procedure was last read from (results,
 * errors and their positions are those of parsing every record). */
int lt_catalog_sync_file(PGconn *conn, const char *path, bool full, size_t max_record,
                         lt_catalog_progress_fn progress, void *progress_ctx,
                         lt_catalog_result *ret_result, lt_catalog_error *err)
    __attribute__((warn_unused_result));

/* One procedure as `catalog show --json` prints it: the columns, the stored
 * record, the overlay row (or null) and the effective record with the
 * overlay applied (lt_procedure_apply_overlay) plus what it changed.
 * Times are rendered in the session's TimeZone (the CLI sets
 * Asia/Ho_Chi_Minh).
 * Returns 1 and *ret_doc (caller's), 0 when there is no such code, -1 with
 * err. */
int lt_catalog_show(PGconn *conn, const char *code, json_t **ret_doc, lt_catalog_error *err)
    __attribute__((warn_unused_result));

/* Codes whose state differs between catalog versions v1 and v2 (0 = the
 * empty catalog before the first sync): {"from", "to", "added": [...],
 * "changed": [...], "abolished": [...]}, each sorted by code. A procedure
 * abolished at v1 and live at v2 counts as added. -1 with err (unknown
 * version included). */
int lt_catalog_diff(PGconn *conn, int64_t v1, int64_t v2, json_t **ret_doc, lt_catalog_error *err)
    __attribute__((warn_unused_result));

/* The `lienthong catalog` command: sync, show, diff. Returns the exit status. */
int lt_catalog_main(int argc, char **argv, bool json, const char *config_path);
/* Its --help text. */
extern const char lt_catalog_help[];

#endif
