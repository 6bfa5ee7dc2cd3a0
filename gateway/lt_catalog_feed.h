/* lt_catalog_feed: a parent gateway's catalog as a source for lt_catalog's
 * sync, for federated gateways (a ward or district gateway following its
 * province). The source speaks our own contract, GET {url}?since=V&limit=
 * &after= (DESIGN.md, "Contract: HTTP"), instead of the national API: when
 * catalog.url's path ends in /v1/catalog, the periodic sync in serve uses
 * this module (lt_catalog_feed_url).
 *
 * A round fetches every page first, then stages and commits in one sync
 * (taking the catalog lock only then, so the lock is never held across
 * network waits):
 *   - since < 0 (the first round of a process): the parent's whole catalog,
 *     a full sync, so procedures the parent no longer serves are
 *     soft-abolished here too; an empty catalog is refused, like an empty
 *     national list;
 *   - since >= 0: the procedures changed since that parent version, staged
 *     without abolishing anything; when the parent reports removed codes,
 *     the round starts again as a full one (our sync abolishes by absence
 *     from a full list; there is no "abolish these" call, and two pages are
 *     a small price for the rare abolition); so too when the parent's
 *     version is below since (the parent was restored from a backup).
 * The parent's catalog version of the round is returned for the next
 * round's since. Any failed call, non-200 answer or malformed page fails
 * the round; nothing changes and the run is recorded failed when it had
 * started. */
#ifndef LT_CATALOG_FEED_H
#define LT_CATALOG_FEED_H

#include <stdbool.h>
#include <stdint.h>
#include <libpq-fe.h>

#include "lt_catalog_api.h"
#include "lt_loop.h"

/* Whether url names a parent gateway's catalog (its path ends in
 * /v1/catalog, a trailing / ignored). */
bool lt_catalog_feed_url(const char *url);

typedef struct lt_catalog_feed lt_catalog_feed;

/* Starts a round on loop (borrowed) with conn (borrowed, blocking, the
 * caller's own): opts->url is the feed's URL, opts->timeout_ms and
 * opts->ca_file apply; since is the parent version of the last good round,
 * or -1. done is called once from the loop (with stats->listed = records
 * fetched); it may destroy the feed. -1 with err when it cannot start. */
int lt_catalog_feed_start(lt_loop *loop, PGconn *conn, const lt_catalog_api_opts *opts,
                          int64_t since, lt_catalog_api_done_fn *done, void *arg,
                          lt_catalog_feed **ret_self, lt_catalog_error *err)
    __attribute__((warn_unused_result));

/* The parent's catalog version the round read (valid once done said 0). */
int64_t lt_catalog_feed_version(const lt_catalog_feed *self);

/* Stops what runs, releases the lock, sets *self_p to NULL. Accepts NULL. */
void lt_catalog_feed_destroy(lt_catalog_feed **self_p);

/* A whole full round on a loop of its own, for `lienthong catalog sync`.
 * Returns 0 or -1 with err; stats (may be NULL) filled either way. */
int lt_catalog_sync_feed(PGconn *conn, const lt_catalog_api_opts *opts,
                         lt_catalog_result *ret_result, lt_catalog_api_stats *ret_stats,
                         lt_catalog_error *err) __attribute__((warn_unused_result));

#endif
