/* lt_delivery: the delivery actor (issue 7, README "The delivery
 * outbox"). Inside `lienthong serve` it turns stored events into outbox rows
 * (lt_route_events), claims due rows of a destination (lt_claim), hands them
 * to that destination's driver, and records each outcome (delivered, retry
 * with back-off, dead letter). It registers the process in
 * gateway_instances and keeps its heartbeat, so that rows claimed by a
 * process that died are taken back (lt_reclaim) by whoever runs next.
 *
 * Each destination kind is a driver behind lt_delivery_driver: the actor
 * knows the outbox, the driver knows the wire. The provincial portal is the
 * first driver (lt_delivery_portal.c); the parent, ward and webhook legs
 * will be others. The actor runs only when a driver is configured. */
#ifndef LT_DELIVERY_H
#define LT_DELIVERY_H

#include <stdbool.h>
#include <stddef.h>

#include "lt_config.h"
#include "lt_curlm.h"
#include "lt_dialects.h"
#include "lt_loop.h"
#include "lt_outbox.h"

typedef enum {
    LT_DELIVERY_OK,    /* the receiver has it (or does not take it: nothing to send) */
    LT_DELIVERY_RETRY, /* send again later */
    LT_DELIVERY_DEAD,  /* refused: a dead letter, the answer kept */
} lt_delivery_verdict;

/* One item's outcome. Borrowed for the done callback's duration. */
typedef struct lt_delivery_result {
    lt_delivery_verdict verdict;
    int http_status;    /* 0 when no HTTP answer decided */
    const char *error;  /* one sentence for operators, no personal data; "" when none */
    const char *answer; /* the receiver's answer body, or NULL */
} lt_delivery_result;

/* Called once per send, from the loop, with one result per item in order. */
typedef void(lt_delivery_done_fn)(const lt_delivery_result *res, size_t n, void *arg);

/* A destination kind. impl is the driver's; the rest is fixed at creation. */
typedef struct lt_delivery_driver {
    const char *destination; /* outbox destination claimed for ("portal") */
    const char *kind;        /* destinations.kind */
    const char *url;         /* destinations.url (upserted at start) */
    const char *dialect;     /* destinations.dialect */
    size_t batch;            /* most rows per send */
    void *impl;
    /* Sends items (borrowed for the call only); done is called later, never
     * from inside. Returns 0, or -1 (nothing sent, done not called). */
    int (*send)(void *impl, const lt_outbox_item *items, size_t n, lt_delivery_done_fn *done,
                void *arg);
    /* Cancels a send in flight without calling done, frees impl. */
    void (*destroy)(void *impl);
} lt_delivery_driver;

/* Every driver calls through curl when it is given one (borrowed, shared by
 * the send slots of one destination; it must outlive the driver, and
 * destroying a portal driver cancels every request on it: destroy the
 * slots of a destination together), else through an lt_curlm of its own.
 * One shared lt_curlm keeps one loop timer per destination, not per slot. */

/* The portal driver for cfg->portal (borrowed; must outlive the driver),
 * mapping with its dialect from dialects, on loop. Returns 0 with *ret
 * filled, or -1 (portal.url empty, unknown dialect, out of memory). */
int lt_delivery_portal_new(lt_loop *loop, lt_curlm *curl, const lt_config *cfg,
                           const lt_dialects *dialects, lt_delivery_driver *ret)
    __attribute__((warn_unused_result));

/* The liên thông driver for unit (its gateway at url, POST {url}/v1/dossiers
 * with units.tokens' token for it). The caller fills the names. Returns 0
 * or -1. */
int lt_delivery_parent_new(lt_loop *loop, lt_curlm *curl, const lt_config *cfg, const char *unit,
                           const char *url, lt_delivery_driver *ret)
    __attribute__((warn_unused_result));

/* The ward-callback driver: POST the record in dialect (NULL or "" =
 * canonical) to url. The caller fills the names. Returns 0 or -1 (unknown
 * dialect, empty url, out of memory). */
int lt_delivery_ward_new(lt_loop *loop, lt_curlm *curl, const lt_config *cfg,
                         const lt_dialects *dialects, const char *url, const char *dialect,
                         lt_delivery_driver *ret) __attribute__((warn_unused_result));

/* The webhook driver for cfg->webhook.url (borrowed). Fills every field.
 * Returns 0, or -1 (no url, out of memory). */
int lt_delivery_webhook_new(lt_loop *loop, lt_curlm *curl, const lt_config *cfg,
                            lt_delivery_driver *ret) __attribute__((warn_unused_result));

typedef struct lt_delivery_args {
    const char *conninfo;        /* borrowed; outlives the actor */
    const lt_config *cfg;        /* copied at start */
    const lt_dialects *dialects; /* borrowed, read-only; outlives the actor */
} lt_delivery_args;

/* lt_actor_fn: run with lt_actor_new(ctx, "delivery", lt_delivery_actor,
 * &args) when portal.url is set. */
void lt_delivery_actor(void *pipe, void *args);

/* The back-off before retry number attempts + 1 (attempts = failures so
 * far): 1 s doubling up to 30 s, plus up to a quarter more of jitter, never
 * more than 30 s. */
int64_t lt_delivery_backoff_ms(int attempts);

/* The same with delivery.retry_first / retry_max: first_ms doubling per
 * attempt up to max_ms, plus up to a quarter more of jitter, never more than
 * max_ms. */
int64_t lt_delivery_backoff(int attempts, int64_t first_ms, int64_t max_ms);

#endif
