/* lt_catalog_api: the national catalog API as a source for lt_catalog's
 * sync. GET {url}/LayDanhSachTTHC gives the list, then GET
 * {url}/LayThuTuc?maTTHC=CODE each record, many in flight at once through
 * lt_curlm on the caller's lt_loop; every record is fed to
 * lt_catalog_sync_add as it arrives. The shapes accepted are documented in
 * tests/sim/README.md and parsed in one place (parse_list, unwrap_detail).
 *
 * All or nothing, like a file: a call that still fails after its retries
 * (transport error, timeout, 408, 429 or 5xx), any other non-200 answer,
 * a malformed list or record fails the whole sync; nothing changes and the
 * failed run is recorded with the reason and the procedure code.
 *
 * The list is the whole catalog of the unit, so a sync is always a full
 * one: procedures missing from it are soft-abolished. An empty list is
 * refused (an upstream fault must not abolish the province's catalog).
 *
 * Incremental: when a list item carries NGAYCAPNHAT (last modified) and the
 * stored record of that procedure carries the same value, its detail call is
 * skipped and the stored record is staged again (so it counts as
 * unchanged); fetch_all turns this off. */
#ifndef LT_CATALOG_API_H
#define LT_CATALOG_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <libpq-fe.h>

#include "lt_catalog.h"
#include "lt_loop.h"

/* The list item key compared with the stored record to skip detail calls. */
#define LT_CATALOG_API_STAMP_KEY "NGAYCAPNHAT"

typedef struct lt_catalog_api_opts {
    const char *url;        /* base URL (catalog.url); a trailing / is ignored */
    int concurrency;        /* detail calls in flight [32] */
    int64_t timeout_ms;     /* per call [30 s] */
    int retries;            /* retries per call after a retryable failure [0 = none] */
    int64_t retry_delay_ms; /* first back-off, doubled per retry [1 s] */
    const char *ca_file;    /* PEM bundle; NULL or "" = the system store */
    bool fetch_all;         /* call LayThuTuc for every procedure (--full) */
} lt_catalog_api_opts;

/* What the API side of a sync did (lt_catalog_result has the catalog side). */
typedef struct lt_catalog_api_stats {
    int64_t listed;    /* procedures in the list */
    int64_t fetched;   /* records fetched with LayThuTuc and staged */
    int64_t skipped;   /* detail calls skipped: same NGAYCAPNHAT as stored */
    int64_t retried;   /* calls retried */
    int max_in_flight; /* most calls running at once */
} lt_catalog_api_stats;

typedef struct lt_catalog_api lt_catalog_api;

/* Called once from the loop when the sync has ended: rc 0 with res, or -1
 * with err (err->busy: another sync holds the lock). The callback may
 * destroy the lt_catalog_api. */
typedef void(lt_catalog_api_done_fn)(int rc, const lt_catalog_result *res,
                                     const lt_catalog_api_stats *stats, const lt_catalog_error *err,
                                     void *arg);

/* Starts a sync on loop (borrowed) with conn (borrowed; used from the loop
 * thread only, blocking: it is the caller's own connection). Takes the
 * catalog lock at once: -1 with err when it cannot (done is then never
 * called). */
int lt_catalog_api_start(lt_loop *loop, PGconn *conn, const lt_catalog_api_opts *opts,
                         lt_catalog_api_done_fn *done, void *arg, lt_catalog_api **ret_self,
                         lt_catalog_error *err) __attribute__((warn_unused_result));

/* Stops what runs (a sync not yet ended is recorded as failed, "abandoned"),
 * releases the lock, sets *self_p to NULL. Accepts NULL. */
void lt_catalog_api_destroy(lt_catalog_api **self_p);

/* Runs an asynchronous catalog sync (the national API's, a parent
 * gateway's feed) to its end on a loop of its own, for the CLI: start
 * starts it on loop with done and arg (as lt_catalog_api_start does, ctx
 * being the caller's), stop destroys what start made. Returns 0 or -1 with
 * err; stats (may be NULL) filled either way. */
typedef int(lt_catalog_start_fn)(lt_loop *loop, void *ctx, lt_catalog_api_done_fn *done, void *arg,
                                 lt_catalog_error *err);
typedef void(lt_catalog_stop_fn)(void *ctx);
int lt_catalog_run_blocking(lt_catalog_start_fn *start, lt_catalog_stop_fn *stop, void *ctx,
                            lt_catalog_result *ret_result, lt_catalog_api_stats *ret_stats,
                            lt_catalog_error *err) __attribute__((warn_unused_result));

/* The whole sync on a loop of its own, for the CLI. Returns 0 or -1 with
 * err; stats (may be NULL) filled either way. */
int lt_catalog_sync_api(PGconn *conn, const lt_catalog_api_opts *opts,
                        lt_catalog_result *ret_result, lt_catalog_api_stats *ret_stats,
                        lt_catalog_error *err) __attribute__((warn_unused_result));

#endif
