/* lt_delivery_http: what the parent, ward and webhook drivers share (see
 * lt_delivery.h): one outbox row per call, POSTed as JSON to one URL with
 * the row's Idempotency-Key and an optional bearer token, the answer judged
 * by the driver. Only the body and the judgement differ between them. */
#ifndef LT_DELIVERY_HTTP_H
#define LT_DELIVERY_HTTP_H

#include "lt_curlm.h"
#include "lt_delivery.h"

/* The body to send for it (malloc'd JSON text), or NULL with *ret_skip set
 * when the row has nothing to send (counted as delivered), or NULL with
 * *ret_skip clear when it cannot be built (a dead letter, err filled). */
typedef char *(lt_delivery_body_fn)(void *ctx, const lt_outbox_item *it, bool *ret_skip, char *err,
                                    size_t cap);

/* Judges an answer that arrived (resp->curl_code == 0) into a verdict; err
 * gets a sentence for operators when it is not OK. */
typedef lt_delivery_verdict(lt_delivery_judge_fn)(const lt_curlm_response *resp, char *err,
                                                  size_t cap);

typedef struct lt_delivery_http_opts {
    const char *url;   /* where every call goes (copied) */
    const char *token; /* bearer token or NULL (copied) */
    int64_t timeout_ms;
    const char *ca_file; /* NULL = the system store */
    lt_curlm *curl;      /* shared and borrowed (see lt_delivery.h); NULL = its own */
    lt_delivery_body_fn *body;
    lt_delivery_judge_fn *judge;
    void *ctx;                /* for body; owned by the caller of lt_delivery_http_new */
    void (*ctx_free)(void *); /* frees ctx with the driver, or NULL */
} lt_delivery_http_opts;

/* Fills drv's impl, send, destroy and batch (1); the caller fills the
 * names. Returns 0, or -1 (out of memory; ctx not freed). */
int lt_delivery_http_new(lt_loop *loop, const lt_delivery_http_opts *o, lt_delivery_driver *drv)
    __attribute__((warn_unused_result));

/* The verdict of a status by the outbound contract: 2xx OK; 408, 429, 5xx
 * retry; any other status dead. */
lt_delivery_verdict lt_delivery_http_verdict(long status);

#endif
