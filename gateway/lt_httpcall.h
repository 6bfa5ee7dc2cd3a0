/* lt_httpcall: how a front asks another actor and waits without blocking.
 * A DEALER socket to the actor's inproc ROUTER carries requests
 * [id, verb, JSON] and answers [id, status, JSON]; a bounded table maps
 * each id to the waiting request's cookie (the HTTP front's per-request
 * state, whose connection it suspended) with a deadline. The reader uses it
 * now; the writer will use the same piece for POST /v1/dossiers.
 *
 * The answering side (lt_reader) reads [routing id, id, verb, JSON] on its
 * ROUTER and answers [routing id, id, status, JSON]; status is an HTTP
 * status as decimal text and JSON the whole response body. */
#ifndef LT_HTTPCALL_H
#define LT_HTTPCALL_H

#include <stddef.h>
#include <stdint.h>

typedef struct lt_httpcall lt_httpcall;

/* Connects a DEALER to endpoint. max_pending bounds the requests waiting at
 * once; timeout_ms is how long one may wait. NULL on error. */
lt_httpcall *lt_httpcall_new(void *zmq_ctx, const char *endpoint, size_t max_pending,
                             int64_t timeout_ms) __attribute__((warn_unused_result));
void lt_httpcall_destroy(lt_httpcall **self_p);

/* The socket to watch for answers (ZMQ_POLLIN). */
void *lt_httpcall_socket(lt_httpcall *self);

/* Sends a request and remembers cookie until its answer arrives or
 * it expires. Returns 0, or -1 when the table is full or the
 * actor's queue is (the caller answers 503). */
int lt_httpcall_send(lt_httpcall *self, const char *verb, const char *json, void *cookie)
    __attribute__((warn_unused_result));

/* Reads one answer. Returns its cookie with *ret_status and *ret_body (the
 * caller's to free), or NULL for an answer nobody waits for any more (it
 * timed out) or a malformed one. */
void *lt_httpcall_recv(lt_httpcall *self, int *ret_status, char **ret_body);

/* Calls fn(cookie, arg) for, and forgets, every request whose deadline is
 * before now_ms (every request with now_ms = INT64_MAX). */
void lt_httpcall_expire(lt_httpcall *self, int64_t now_ms, void (*fn)(void *cookie, void *arg),
                        void *arg);

/* Requests waiting. */
size_t lt_httpcall_pending(const lt_httpcall *self);

#endif
