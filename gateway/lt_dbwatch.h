/* lt_dbwatch: the actor that knows whether the database is usable. It keeps
 * one connection (non-blocking connect inside its loop), applies pending
 * migrations when it (re)connects, probes every database.health_interval,
 * notices a lost connection as soon as its socket says so, reconnects with
 * back-off, and publishes the state on LT_DBSTATE_ENDPOINT so fronts can
 * answer /readyz without touching libpq. */
#ifndef LT_DBWATCH_H
#define LT_DBWATCH_H

#include "lt_config.h"
#include "lt_migrate.h"

/* inproc PUB; messages are ["dbstate", JSON] with JSON
 * {"ready": bool, "reason": "...", "applied": N, "known": N}. Published on
 * every probe, so a late subscriber learns the state within one interval. */
#define LT_DBSTATE_ENDPOINT "inproc://lt-dbstate"

typedef struct lt_dbwatch_args {
    const char *conninfo;            /* borrowed; outlives the actor */
    const lt_migrations *migrations; /* borrowed; outlives the actor */
    const lt_config *cfg;            /* copied at start; reloads come by message */
    void *zmq_ctx;
} lt_dbwatch_args;

/* lt_actor_fn: run with lt_actor_new(ctx, "db", lt_dbwatch_actor, &args). */
void lt_dbwatch_actor(void *pipe, void *args);

#endif
