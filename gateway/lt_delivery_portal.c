/* lt_delivery_portal: the provincial portal as a delivery driver (see
 * lt_delivery.h). A thin adapter: outbox rows become lt_portal items
 * (is_updating is the portal's "known"), the portal's verdicts become the
 * actor's (SKIPPED, a record this portal does not take, counts as
 * delivered). lt_portal_destroy cancels everything on the lt_curlm it is
 * given, so a shared one (the send slots of the portal) is only shared by
 * drivers destroyed together. */
#include "lt_delivery.h"
#include "lt_curlm.h"
#include "lt_portal.h"

#include <stdbool.h>
#include <stdlib.h>

typedef struct {
    lt_curlm *curl; /* owned when own */
    bool own;
    lt_portal *portal;
    lt_delivery_done_fn *done;
    void *arg;
} portal_driver;

static void on_portal_done(const lt_portal_result *r, size_t n, void *arg)
{
    portal_driver *p = arg;
    lt_delivery_result *res = calloc(n ? n : 1, sizeof(*res));
    if (!res) {
        /* Out of memory: no result at all, which the actor takes as
         * "retry every row" (a resend under the same key costs nothing). */
        p->done(NULL, 0, p->arg);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        res[i].verdict = r[i].verdict == LT_PORTAL_DELIVERED || r[i].verdict == LT_PORTAL_SKIPPED
                             ? LT_DELIVERY_OK
                         : r[i].verdict == LT_PORTAL_DEAD ? LT_DELIVERY_DEAD
                                                          : LT_DELIVERY_RETRY;
        res[i].http_status = r[i].http_status;
        res[i].error = r[i].message;
        res[i].answer = r[i].answer;
    }
    p->done(res, n, p->arg);
    free(res);
}

static int portal_send(void *impl, const lt_outbox_item *items, size_t n, lt_delivery_done_fn *done,
                       void *arg)
{
    portal_driver *p = impl;
    lt_portal_item *pi = calloc(n ? n : 1, sizeof(*pi));
    if (!pi)
        return -1;
    for (size_t i = 0; i < n; i++)
        pi[i] = (lt_portal_item){.event_seq = items[i].event_seq,
                                 .dossier_code = items[i].dossier_code,
                                 .record = items[i].record,
                                 .known = items[i].is_updating};
    p->done = done;
    p->arg = arg;
    int rc = lt_portal_send(p->portal, pi, n, on_portal_done, p);
    free(pi);
    return rc;
}

static void portal_destroy(void *impl)
{
    portal_driver *p = impl;
    if (!p)
        return;
    lt_portal_destroy(&p->portal);
    if (p->own)
        lt_curlm_destroy(&p->curl);
    free(p);
}

int lt_delivery_portal_new(lt_loop *loop, lt_curlm *curl, const lt_config *cfg,
                           const lt_dialects *dialects, lt_delivery_driver *ret)
{
    const lt_dialect *d = lt_dialects_find(dialects, cfg->portal.dialect);
    if (!cfg->portal.url[0] || !d)
        return -1;
    portal_driver *p = calloc(1, sizeof(*p));
    if (!p)
        return -1;
    lt_curlm_opts o = {.max_in_flight = 2,
                       .timeout_ms = cfg->portal.timeout_ms,
                       .ca_file = cfg->portal.ca_file[0] ? cfg->portal.ca_file : NULL};
    p->own = !curl;
    if (!(p->curl = curl ? curl : lt_curlm_new(loop, &o)) ||
        !(p->portal = lt_portal_new(loop, p->curl, cfg, d))) {
        portal_destroy(p);
        return -1;
    }
    *ret = (lt_delivery_driver){.destination = "portal",
                                .kind = "portal",
                                .url = cfg->portal.url,
                                .dialect = cfg->portal.dialect,
                                .batch = (size_t)cfg->portal.batch_size,
                                .impl = p,
                                .send = portal_send,
                                .destroy = portal_destroy};
    return 0;
}
