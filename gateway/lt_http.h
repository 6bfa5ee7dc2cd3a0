/* lt_http: the HTTP front, an actor around libmicrohttpd. The server runs in
 * external-poll epoll mode, so its one epoll descriptor joins this actor's
 * zmq_poll beside the inproc sockets: no extra threads, and a request that
 * must wait for another actor (the writer, later) is suspended and resumed
 * from the same loop. Fronts never call libpq: readiness comes from the
 * database watcher's state messages. Errors use the contract's shape
 * {"error": {"code", "message", "field"}}. */
#ifndef LT_HTTP_H
#define LT_HTTP_H

#include "lt_config.h"

typedef struct lt_http_args {
    const lt_config *cfg; /* copied at start; reloads come by message */
    void *zmq_ctx;
} lt_http_args;

/* lt_actor_fn: run with lt_actor_new(ctx, "http", lt_http_actor, &args).
 * Signals failure when it cannot listen on http.listen. On "$TERM" it stops
 * accepting, lets requests in progress finish (at most 10 s), then leaves. */
void lt_http_actor(void *pipe, void *args);

#endif
