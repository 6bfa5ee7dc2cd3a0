/* lt_ingress: the ZeroMQ front for pushes (DESIGN.md, "Contract: ZeroMQ",
 * ingress). A ROUTER on zmq.ingress takes [token, JSON] (or [JSON] when
 * auth.required is false) from DEALER or REQ peers, decodes the JSON in this
 * thread, hands the records to the writer (lt_ingest) and, after the
 * commit, answers with the same document the HTTP front would send:
 * {"results": [...]} (plus "error" for a refused single record), or
 * {"error": {...}} when the whole message was refused. REQ peers get their
 * envelope back, so both socket types work. */
#ifndef LT_INGRESS_H
#define LT_INGRESS_H

#include "lt_config.h"

typedef struct lt_ingress_args {
    const lt_config *cfg; /* copied at start */
    void *zmq_ctx;
    const char *curve_secret; /* the server's CURVE secret key (Z85); NULL = plain text */
} lt_ingress_args;

/* lt_actor_fn: run with lt_actor_new(ctx, "ingress", lt_ingress_actor, &args).
 * Signals failure (after logging the key zmq.ingress) when it cannot bind;
 * logs the bound endpoint as {"zmq_ingress": "tcp://127.0.0.1:PORT"}. */
void lt_ingress_actor(void *pipe, void *args);

#endif
