/* lt_pgconn: one non-blocking PostgreSQL connection living in an actor's
 * loop, for actors that query (the bus, the reader; the writer later). It
 * connects with PQconnectPoll, reconnects with back-off (0.25 s to 5 s, as
 * the database watcher does), runs one query at a time with
 * PQsendQueryParams, hands LISTEN notifications to a callback, and notices a
 * lost connection from its socket. The database watcher uses it too, with
 * blocking calls (migrations) on the raw connection between queries. */
#ifndef LT_PGCONN_H
#define LT_PGCONN_H

#include "lt_loop.h"

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct lt_pgconn lt_pgconn;

/* The connection came up (up = true, reason "") or went down (reason says
 * why). After "up" the owner may send queries (LISTEN, a first read). */
typedef void(lt_pgconn_state_fn)(lt_pgconn *pc, bool up, const char *reason, void *arg);
/* A query finished: r is its last result (the callee owns it and must
 * PQclear it), or NULL when the connection was lost or the query timed out
 * (err says why). */
typedef void(lt_pgconn_result_fn)(lt_pgconn *pc, PGresult *r, const char *err, void *arg);
/* A NOTIFY arrived on a channel this connection LISTENs to. */
typedef void(lt_pgconn_notify_fn)(lt_pgconn *pc, const char *channel, const char *payload,
                                  void *arg);

typedef struct lt_pgconn_callbacks {
    lt_pgconn_state_fn *state;   /* may be NULL */
    lt_pgconn_notify_fn *notify; /* may be NULL */
    void *arg;                   /* passed to both */
} lt_pgconn_callbacks;

/* Starts connecting at once (from the loop's first turn). conninfo is
 * borrowed and must outlive the object; name goes into log lines. */
lt_pgconn *lt_pgconn_new(lt_loop *loop, const char *conninfo, int64_t connect_timeout_ms,
                         const char *name, const lt_pgconn_callbacks *cb)
    __attribute__((warn_unused_result));
void lt_pgconn_destroy(lt_pgconn **self_p);

/* Connected (queries may be sent, possibly queued behind a running one). */
bool lt_pgconn_up(const lt_pgconn *self);
/* Connected and no query running. */
bool lt_pgconn_idle(const lt_pgconn *self);
/* Why the connection is down, or "" when up. */
const char *lt_pgconn_reason(const lt_pgconn *self);

/* Sends one query with text parameters (NULL entries are SQL NULL); fn is
 * called exactly once with its result, unless this returns -1 (not
 * connected, a query already running, or the send failed). timeout_ms > 0
 * bounds the wait: a late query drops the connection (a cancel would block
 * the loop), which reconnects. */
int lt_pgconn_query(lt_pgconn *self, const char *sql, int nparams, const char *const *params,
                    int64_t timeout_ms, lt_pgconn_result_fn *fn, void *arg)
    __attribute__((warn_unused_result));

/* The connection itself while idle (NULL otherwise), for the rare blocking
 * call an owner must make between queries (migrations at connect): it
 * blocks the owner's loop for its duration. */
PGconn *lt_pgconn_conn(lt_pgconn *self);
/* Drops the connection as if it had been lost (state callback, reconnect
 * with back-off): for an owner whose blocking call found it broken. */
void lt_pgconn_drop(lt_pgconn *self, const char *why);

#endif
