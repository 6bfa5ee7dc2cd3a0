/* lt_ingest: how a front (HTTP, ZeroMQ ingress) hands a push to the writer
 * and gets the answer back without blocking. A push travels as a pointer
 * over inproc (lt_msg_send_ptr): the body is parsed once, in the front's
 * thread, and never serialized again on its way to the writer. Ownership of
 * the lt_ingest_req passes with the pointer, front → writer → front; a front
 * that stopped waiting (timeout) frees the answer when it comes back.
 *
 * The writer binds LT_WRITER_ENDPOINT as a ROUTER and each client is a
 * DEALER; frames are [ptr] in and [ptr] out, so any number of fronts share
 * one writer. */
#ifndef LT_INGEST_H
#define LT_INGEST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lt_dossier.h"
#include "lt_token.h"

#define LT_WRITER_ENDPOINT "inproc://lt-writer"

typedef enum {
    LT_CHANNEL_HTTP = 0,
    LT_CHANNEL_ZMQ,
    LT_CHANNEL_CLI, /* `lienthong rejects resubmit` */
} lt_channel;

/* One push: what the front decoded, then what the writer answered. */
typedef struct lt_ingest_req {
    /* ---- filled by the front ---- */
    uint64_t id;                /* set by lt_ingest_client_send */
    lt_channel channel;         /* where it came in */
    char token[LT_TOKEN_MAX];   /* bearer token as sent; "" = none */
    json_t *records;            /* decoded records (an array), owned; NULL when malformed */
    bool single;                /* the body was one object (the answer's status follows it) */
    char *body;                 /* the raw body, owned, NUL-terminated: the reject payload */
    size_t body_len;            /* its length in bytes */
    lt_dossier_error malformed; /* why the body was refused, when records is NULL */
    /* Resubmission only (channel LT_CHANNEL_CLI): act for this unit with
     * this dialect instead of a token's; an operator's own decision. */
    char act_for_unit[64];
    char act_dialect[64];
    /* ZeroMQ with CURVE: the unit the connection's key belongs to (lt_zap);
     * a token sent along must be of this unit. "" = no CURVE. */
    char curve_unit[64];
    /* And the key (Z85): without a token, the writer looks up whom it
     * stands for (curve_keys.role, the unit's dialect). */
    char curve_key[41];
    /* ---- filled by the writer ---- */
    int status;      /* HTTP status of the answer (200, 400, 401, 403, 409, 422, 503...) */
    char *answer;    /* the JSON body, owned: {"results": [...]} and/or {"error": {...}} */
    bool challenge;  /* a 401: add WWW-Authenticate: Bearer */
    int retry_after; /* seconds for a Retry-After header; 0 = none */
    /* ---- the writer's own bookkeeping ---- */
    unsigned char reply_to[32]; /* the front's routing id */
    size_t reply_len;           /* its length */
    bool alone;                 /* failed in company: write it in a batch of its own */
    struct lt_ingest_req *next; /* the writer's queue */
} lt_ingest_req;

/* A new, empty request (channel set, everything else zero). NULL when out
 * of memory. */
lt_ingest_req *lt_ingest_req_new(lt_channel channel) __attribute__((warn_unused_result));
/* Frees the request and everything it owns; sets *self_p NULL; accepts NULL. */
void lt_ingest_req_destroy(lt_ingest_req **self_p);

/* Sets status, answer (a copy of json) and retry_after in one call: the
 * writer's and the fronts' own refusals (503 while the database is down). */
int lt_ingest_req_answer(lt_ingest_req *self, int status, const char *json, int retry_after);

/* ---- the front's side ---- */
typedef struct lt_ingest_client lt_ingest_client;

/* Connects to LT_WRITER_ENDPOINT. max_pending bounds the pushes waiting at
 * once, timeout_ms how long one may wait before the front answers 503
 * itself (the writer may still commit it later: the sender's retry is then
 * a duplicate, never a loss). NULL on error. */
lt_ingest_client *lt_ingest_client_new(void *zmq_ctx, size_t max_pending, int64_t timeout_ms)
    __attribute__((warn_unused_result));
void lt_ingest_client_destroy(lt_ingest_client **self_p);

/* The socket to watch for answers (ZMQ_POLLIN). */
void *lt_ingest_client_socket(lt_ingest_client *self);

/* Sends req (ownership passes) and remembers cookie. Returns 0; or -1 when
 * the table or the writer's queue is full, and then req is still the
 * caller's. */
int lt_ingest_client_send(lt_ingest_client *self, lt_ingest_req *req, void *cookie)
    __attribute__((warn_unused_result));

/* Reads one answer: returns its cookie and hands the request back in
 * *ret_req (the caller's to destroy). Returns NULL when nobody waits for it
 * any more (timed out; the request is freed here). */
void *lt_ingest_client_recv(lt_ingest_client *self, lt_ingest_req **ret_req);

/* Calls fn(cookie, arg) for, and forgets, every push waiting past its
 * deadline (every one with now_ms = INT64_MAX). */
void lt_ingest_client_expire(lt_ingest_client *self, int64_t now_ms,
                             void (*fn)(void *cookie, void *arg), void *arg);

/* Pushes waiting. */
size_t lt_ingest_client_pending(const lt_ingest_client *self);

#endif
