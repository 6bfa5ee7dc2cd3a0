/* lt_callq: a queue of front requests served one at a time on one
 * PostgreSQL connection, the part the query actors (lt_reader, lt_reportd)
 * share. It binds the actor's ROUTER, reads lt_httpcall's envelope
 * [routing id, id, verb, JSON params], keeps a bounded FIFO of requests
 * (one beyond it gets 503 "busy" at once), owns the actor's lt_pgconn and
 * pumps: the head request runs its steps, one query each, and the next one
 * starts when it is answered. While the database is down each request is
 * answered at once (503 "not_ready" unless the actor says otherwise).
 *
 * What a request means stays with the actor, through lt_callq_ops: how its
 * params parse into the actor's own request struct, which query each step
 * sends, and what a result answers. All answers go to the head request;
 * the params text and each request slot are wiped once done with, since
 * they may hold a bearer token. */
#ifndef LT_CALLQ_H
#define LT_CALLQ_H

#include "lt_config.h"
#include "lt_loop.h"

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct lt_callq lt_callq;

typedef struct lt_callq_ops {
    /* Fills req (req_size bytes, zeroed) from the request's verb and params
     * (borrowed). Returns 0, or -1 for a malformed request, which is
     * answered 500 with spec.malformed. */
    int (*parse)(void *actor, const char *verb, const json_t *params, void *req);
    /* Starts the head request's next step. Returns 1 when a query went out
     * (lt_callq_query), 0 when the request was answered without one, -1 when
     * the connection would not take the query (busy, or lost: the state
     * change pumps the queue again). */
    int (*step)(void *actor, lt_callq *q, void *req);
    /* The head's query finished: r is its result (borrowed; lt_callq clears
     * it), or NULL when the connection was lost or the query timed out (err
     * says why). Returns true when the request is answered, false when it
     * goes on to its next step. */
    bool (*result)(void *actor, lt_callq *q, void *req, const PGresult *r, const char *err);
    /* May be NULL. Answers the head request while the database is down
     * (reason says why); NULL answers 503 "not_ready" with the reason. */
    void (*down)(void *actor, lt_callq *q, void *req, const char *reason);
} lt_callq_ops;

typedef struct lt_callq_spec {
    const char *name;           /* the connection's name in log lines; borrowed */
    const char *endpoint;       /* where the ROUTER binds; borrowed */
    const char *conninfo;       /* borrowed; outlives the queue */
    int64_t connect_timeout_ms; /* lt_pgconn's (lt_callq_serve takes the configuration's) */
    size_t cap;                 /* requests held at once, the running one included */
    size_t req_size;            /* bytes of the actor's request struct */
    const char *malformed;      /* the 500's message for a request parse refused; borrowed */
    const char *busy;           /* the 503 "busy" message for a full queue; borrowed */
    lt_callq_ops ops;
    void *actor; /* passed to every op */
} lt_callq_spec;

/* Binds spec->endpoint, starts connecting and watches the ROUTER in loop
 * (borrowed; it must outlive the queue). spec is copied, its strings are
 * borrowed. NULL on error (zmq_errno() may say why). */
lt_callq *lt_callq_new(void *zmq_ctx, lt_loop *loop, const lt_callq_spec *spec)
    __attribute__((warn_unused_result));
/* Drops the connection (no op is called), closes the ROUTER, wipes the
 * queue, sets *self_p to NULL. Accepts NULL. */
void lt_callq_destroy(lt_callq **self_p);

/* Runs a whole query actor in the calling actor thread (an lt_actor_fn's
 * body): copies cfg, makes a loop and a queue with spec on it, signals
 * readiness on pipe (-1, logged, when it cannot start) and serves until
 * "$TERM"; "$RELOAD" updates the copy, which the ops read through
 * lt_callq_config. conninfo in spec must outlive the actor. */
void lt_callq_serve(void *pipe, void *zmq_ctx, const lt_config *cfg, const lt_callq_spec *spec);
/* The served actor's configuration (borrowed; reloads show in it), or NULL
 * for a queue made with lt_callq_new. */
const lt_config *lt_callq_config(const lt_callq *self);

/* Sends the head request's query (lt_pgconn_query); its result goes to
 * ops.result. Returns 0, or -1 when the connection would not take it. */
int lt_callq_query(lt_callq *self, const char *sql, int nparams, const char *const *params,
                   int64_t timeout_ms) __attribute__((warn_unused_result));

/* Answers the head request: status and the whole JSON body. */
void lt_callq_answer(lt_callq *self, int status, const char *body);
/* Answers the head request with {"error": {"code": code, "message": message}}. */
void lt_callq_answer_error(lt_callq *self, int status, const char *code, const char *message);

#endif
