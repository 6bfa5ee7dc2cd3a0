/* lt_delivery_http: one-row-per-call JSON POST shared by the parent, ward
 * and webhook drivers (see lt_delivery_http.h). Rows go one per call so
 * that each keeps its own key and verdict: these receivers take one record
 * at a time and answer for it. A transport error or timeout is a retry:
 * the receiver may have applied the call, which the key makes harmless. */
#include "lt_delivery_http.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An answer kept for a dead letter is cut here (as the portal's): enough
 * for any refusal, bounded whatever the receiver sends. */
#define ANSWER_MAX 4096

typedef struct {
    lt_curlm *curl; /* owned when own */
    bool own;
    char *url;
    char *auth; /* "Authorization: Bearer ..." or NULL */
    lt_delivery_http_opts o;
    lt_loop *loop;
    lt_delivery_done_fn *done;
    void *arg;
    int defer_timer; /* > 0: a skipped or unbuildable row waits to be answered */
    lt_delivery_verdict defer_verdict;
    char defer_err[256];
} http_driver;

lt_delivery_verdict lt_delivery_http_verdict(long status)
{
    if (status >= 200 && status < 300)
        return LT_DELIVERY_OK;
    if (status == 408 || status == 429 || status >= 500 || status < 100)
        return LT_DELIVERY_RETRY;
    return LT_DELIVERY_DEAD;
}

/* What an operator does about a TLS failure of these legs, or "". */
static const char *tls_hint(int curl_code)
{
    if (curl_code == CURLE_PEER_FAILED_VERIFICATION)
        return " (a private CA belongs in delivery.ca_file)";
    if (curl_code == CURLE_SSL_CACERT_BADFILE)
        return " (delivery.ca_file is not a usable CA bundle)";
    return "";
}

static void on_post(lt_curlm *m, const lt_curlm_response *resp, void *arg)
{
    (void)m;
    http_driver *h = arg;
    char err[256] = "", answer[ANSWER_MAX + 1];
    lt_delivery_result r = {.http_status = (int)resp->status, .error = err};
    if (resp->curl_code != 0) {
        /* Retried like any transport error: once the operator fixes the CA
         * (or the receiver its certificate) the backlog goes by itself. The
         * hint names the key, as curl's sentence does not. */
        r.verdict = LT_DELIVERY_RETRY;
        r.http_status = 0;
        snprintf(err, sizeof(err), "%s%s", resp->error ? resp->error : "transport error",
                 tls_hint(resp->curl_code));
    } else {
        r.verdict = h->o.judge(resp, err, sizeof(err));
        if (r.verdict != LT_DELIVERY_OK) {
            /* Cut on a byte count: the column is text, so a cut inside a
             * UTF-8 sequence is trimmed back to a whole character. */
            size_t len = resp->body_len < ANSWER_MAX ? resp->body_len : ANSWER_MAX;
            if (len < resp->body_len)
                while (len > 0 && ((unsigned char)resp->body[len] & 0xC0) == 0x80)
                    len--;
            memcpy(answer, resp->body, len);
            answer[len] = '\0';
            r.answer = answer;
            if (!err[0])
                snprintf(err, sizeof(err), "answered HTTP %ld", resp->status);
        }
    }
    h->done(&r, 1, h->arg);
}

/* Skipped or unbuildable rows are answered from the loop, never from inside
 * send (the actor's contract). */
static int on_deferred(lt_loop *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    http_driver *h = arg;
    h->defer_timer = 0;
    lt_delivery_result r = {.verdict = h->defer_verdict, .error = h->defer_err};
    h->done(&r, 1, h->arg);
    return 0;
}

static int http_send(void *impl, const lt_outbox_item *items, size_t n, lt_delivery_done_fn *done,
                     void *arg)
{
    http_driver *h = impl;
    if (n != 1)
        return -1; /* batch is 1 */
    h->done = done;
    h->arg = arg;
    bool skip = false;
    h->defer_err[0] = '\0';
    char *body = h->o.body(h->o.ctx, &items[0], &skip, h->defer_err, sizeof(h->defer_err));
    if (!body) {
        h->defer_verdict = skip ? LT_DELIVERY_OK : LT_DELIVERY_DEAD;
        int id = lt_loop_add_timer(h->loop, 0, 0, on_deferred, h);
        if (id < 0)
            return -1;
        h->defer_timer = id;
        return 0;
    }
    char key[LT_OUTBOX_KEY_MAX + 32];
    snprintf(key, sizeof(key), "Idempotency-Key: %s", items[0].idempotency_key);
    const char *headers[3] = {key, h->auth, NULL};
    int rc = lt_curlm_post(h->curl, h->url, body, strlen(body), headers, on_post, h);
    free(body);
    return rc;
}

static void http_destroy(void *impl)
{
    http_driver *h = impl;
    if (!h)
        return;
    if (h->defer_timer > 0)
        lt_loop_cancel_timer(h->loop, h->defer_timer);
    if (h->own)
        lt_curlm_destroy(&h->curl);
    if (h->o.ctx_free)
        h->o.ctx_free(h->o.ctx);
    free(h->url);
    free(h->auth);
    free(h);
}

int lt_delivery_http_new(lt_loop *loop, const lt_delivery_http_opts *o, lt_delivery_driver *drv)
{
    http_driver *h = calloc(1, sizeof(*h));
    if (!h)
        return -1;
    h->loop = loop;
    h->o = *o;
    h->o.ctx_free = NULL; /* the caller keeps ctx until we succeed */
    h->own = !o->curl;
    lt_curlm_opts co = {.max_in_flight = 1, .timeout_ms = o->timeout_ms, .ca_file = o->ca_file};
    size_t alen = o->token && o->token[0] ? strlen(o->token) + 32 : 0;
    if (!(h->url = strdup(o->url)) || (alen && !(h->auth = malloc(alen))) ||
        !(h->curl = o->curl ? o->curl : lt_curlm_new(loop, &co))) {
        http_destroy(h);
        return -1;
    }
    if (alen)
        snprintf(h->auth, alen, "Authorization: Bearer %s", o->token);
    h->o.ctx_free = o->ctx_free;
    drv->impl = h;
    drv->batch = 1;
    drv->send = http_send;
    drv->destroy = http_destroy;
    return 0;
}
