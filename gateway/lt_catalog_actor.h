/* lt_catalog_actor: the periodic catalog sync of `lienthong serve`. When
 * catalog.url is set and catalog.interval is not 0, this actor syncs from
 * the national API every catalog.interval (the first round shortly after
 * start-up) — or, when catalog.url ends in /v1/catalog, from a parent
 * gateway's feed (lt_catalog_feed: a federated gateway follows its
 * province) — with its own database connection (opened per round) and the
 * round's libcurl transfers in its own loop. Several gateways on one
 * database: the catalog lock (pg_try_advisory_lock) lets one of them sync and
 * the others skip that round. A failed round is retried after
 * min(catalog.interval, 1 min). */
#ifndef LT_CATALOG_ACTOR_H
#define LT_CATALOG_ACTOR_H

#include "lt_config.h"

typedef struct lt_catalog_actor_args {
    const char *conninfo; /* borrowed; outlives the actor */
    const lt_config *cfg; /* copied at start (its catalog keys need a restart) */
} lt_catalog_actor_args;

/* lt_actor_fn: run with lt_actor_new(ctx, "catalog", lt_catalog_actor, &args). */
void lt_catalog_actor(void *pipe, void *args);

#endif
