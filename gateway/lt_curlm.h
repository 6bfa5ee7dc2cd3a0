/* lt_curlm: outbound HTTP for an actor's loop. A libcurl multi handle whose
 * sockets and timer live in an lt_loop (CURLMOPT_SOCKETFUNCTION and
 * CURLMOPT_TIMERFUNCTION; Debian 12's libcurl 7.88 has no
 * curl_multi_waitfds), so many transfers run at once in one thread without
 * blocking it. Requests wait in a queue and at most max_in_flight run at a
 * time; each ends with one completion callback carrying the HTTP status,
 * the buffered body (bounded) or curl's error. Not thread-safe: one loop,
 * one thread, like lt_loop. */
#ifndef LT_CURLM_H
#define LT_CURLM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lt_loop.h"

typedef struct lt_curlm lt_curlm;

/* Settings fixed at creation. Zero fields take the defaults in brackets. */
typedef struct lt_curlm_opts {
    int max_in_flight;      /* transfers running at once [32] */
    int64_t timeout_ms;     /* whole transfer, per request [30 s] */
    size_t max_body;        /* bytes buffered per answer; more fails the request [4 MiB] */
    const char *ca_file;    /* PEM bundle to verify servers with; NULL = the system store */
    const char *user_agent; /* NULL = "lienthong" */
} lt_curlm_opts;

/* How one request ended. Everything is borrowed for the callback's
 * duration; copy what you keep. */
typedef struct lt_curlm_response {
    int curl_code;      /* CURLcode; 0 = an HTTP answer arrived (any status) */
    const char *error;  /* curl_code != 0: what went wrong, a sentence */
    long status;        /* HTTP status, 0 when no answer came */
    const char *body;   /* the answer's body, NUL-terminated; "" when none */
    size_t body_len;    /* bytes in body (not counting the NUL) */
    bool too_large;     /* the body passed max_body (curl_code is then non-zero) */
    bool timed_out;     /* the request hit timeout_ms */
    const char *url;    /* the URL requested */
    int64_t elapsed_ms; /* from leaving the queue to completion */
} lt_curlm_response;

/* Called once per request from inside lt_loop dispatch. It may queue new
 * requests (lt_curlm_get) but must not destroy the lt_curlm. */
typedef void(lt_curlm_done_fn)(lt_curlm *m, const lt_curlm_response *resp, void *arg);

/* Counters kept here, rendered elsewhere. */
typedef struct lt_curlm_stats {
    int64_t started;   /* requests that left the queue */
    int64_t completed; /* callbacks called */
    int in_flight;     /* running now */
    int max_in_flight; /* most ever running at once */
    size_t queued;     /* waiting for a slot */
} lt_curlm_stats;

/* Creates a multi handle driven by loop (borrowed; must outlive it). NULL
 * when out of memory or curl cannot start. Call curl_global_init once per
 * process before (lt_curlm_global_init does it). */
lt_curlm *lt_curlm_new(lt_loop *loop, const lt_curlm_opts *opts)
    __attribute__((warn_unused_result));

/* Aborts queued and running requests without calling their callbacks,
 * removes every descriptor and timer from the loop, sets *self_p to NULL.
 * Accepts NULL. */
void lt_curlm_destroy(lt_curlm **self_p);

/* Queues GET url. fn(arg) is called exactly once, later, from the loop
 * (never from inside this call). Returns 0, or -1 when out of memory. */
int lt_curlm_get(lt_curlm *self, const char *url, lt_curlm_done_fn *fn, void *arg)
    __attribute__((warn_unused_result));

/* Queues POST url with body (len bytes, copied) sent as application/json,
 * plus extra request headers ("Name: value", a NULL-terminated list,
 * copied; NULL = none): the outbound deliveries' Idempotency-Key. Same
 * callback contract as lt_curlm_get. Returns 0, or -1 when out of memory. */
int lt_curlm_post(lt_curlm *self, const char *url, const char *body, size_t len,
                  const char *const *headers, lt_curlm_done_fn *fn, void *arg)
    __attribute__((warn_unused_result));

/* Drops every queued and running request without calling callbacks: for an
 * owner that has given up (a failed sync). Safe inside a callback. */
void lt_curlm_cancel_all(lt_curlm *self);

void lt_curlm_get_stats(const lt_curlm *self, lt_curlm_stats *ret_stats);

/* curl_global_init(CURL_GLOBAL_DEFAULT), once; call before starting threads.
 * Returns 0 or -1. */
int lt_curlm_global_init(void) __attribute__((warn_unused_result));

#endif
