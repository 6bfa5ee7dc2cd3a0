/* lt_reader: the actor that answers the fronts' read requests from the
 * database (fronts never call libpq). It binds LT_READER_ENDPOINT (ROUTER),
 * holds its own non-blocking connection (lt_pgconn), queues requests (at
 * most LT_READER_MAX_QUEUE; beyond that, and while its database is down, it
 * answers 503 at once) and runs them one at a time. The wire format is
 * lt_httpcall's: [id, verb, JSON params] in, [id, status, JSON body] out.
 *
 * Verbs: "catalog" — GET /v1/catalog, params as lt_catalog_query_json
 * writes them (public: no token); "status" and "metrics" — GET /v1/status
 * and GET /metrics, params {} (public: LT_STATUSDOC_SQL, answered 200 by
 * lt_status_doc even when the database is down); "dossier", "dossiers", "events",
 * "rejects", "deadletters" — the dossier reads, and "replay" — the
 * operator's dead-letter replay (a small write through LT_OUTBOX_REPLAY_SQL),
 * params as lt_read_query_json writes them,
 * the caller's bearer token among them. For those the reader first runs
 * LT_AUTH_LOOKUP_SQL (401 for a missing token when auth.required, or for an
 * unknown, wrong or revoked one; no cache, so a revocation counts at the
 * next call), then lt_dossier_read's role check (403) and statement. */
#ifndef LT_READER_H
#define LT_READER_H

#include "lt_config.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LT_READER_ENDPOINT  "inproc://lt-reader"
#define LT_READER_MAX_QUEUE 64

#define LT_CATALOG_DEFAULT_LIMIT 1000
#define LT_CATALOG_MAX_LIMIT     5000
#define LT_CATALOG_MAX_CODE      100 /* bytes of a procedure code in after= */

typedef struct lt_reader_args {
    const char *conninfo; /* borrowed; outlives the actor */
    const lt_config *cfg; /* copied at start */
    void *zmq_ctx;
} lt_reader_args;

/* lt_actor_fn: run with lt_actor_new(ctx, "reader", lt_reader_actor, &args). */
void lt_reader_actor(void *pipe, void *args);

/* GET /v1/catalog's parameters. */
typedef struct lt_catalog_query {
    int64_t since;                       /* catalog version held; -1 = absent (everything) */
    int level;                           /* 0..3; -1 = any */
    int64_t limit;                       /* page size, 1..LT_CATALOG_MAX_LIMIT */
    char after[LT_CATALOG_MAX_CODE + 1]; /* paging: codes after this one; "" = from the start */
} lt_catalog_query;

/* Parses n query-string pairs (already URL-decoded). Unknown and repeated
 * parameters are refused. Returns 0, or -1 with the parameter's name in
 * field and a sentence in msg. Pure. */
int lt_catalog_query_parse(const char *const *keys, const char *const *values, size_t n,
                           lt_catalog_query *ret, char *field, size_t fcap, char *msg, size_t mcap)
    __attribute__((warn_unused_result));

/* The query as the reader's JSON params (a new reference), and back. */
json_t *lt_catalog_query_json(const lt_catalog_query *q) __attribute__((warn_unused_result));
int lt_catalog_query_from_json(const json_t *j, lt_catalog_query *ret)
    __attribute__((warn_unused_result));

#endif
