/* lt_deliv_leg: one destination of the delivery actor (lt_delivery_int.h).
 * A leg has delivery.inflight send slots, each with its own driver (the
 * drivers send one call at a time), so several dossiers are on their way
 * to one destination at once while each dossier still has at most one row
 * in flight (lt_claim's rule). It keeps the rows claimed ahead of its free
 * slots in a queue, so that a slot whose call came back is given its next
 * rows at once instead of after a claim's round trip to the database
 * (tests/bench/RESULTS.md, "Drain": slots waited on the claim and the
 * settle in turn); and it keeps the outcomes its drivers decided until the
 * actor records them (lt_settle), a round at a time.
 *
 * Rows wait in the queue only while the circuit is closed: when a settle
 * finds it open, the queued rows are given back (lt_unclaim, 0017) rather
 * than sent to a receiver that fails, and the probes that follow come one
 * claim at a time. Which statement runs when is the actor's business
 * (lt_delivery.c); this module only says what it needs. */
#include "lt_delivery_int.h"
#include "lt_log.h"
#include "lt_outbox.h"

#include <inttypes.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The queue: a claim is made when fewer than QUEUE_LOW rounds (a round:
 * every slot, a batch each), and at least QUEUE_MIN rows, are queued, for
 * as many rows again. A claim takes a few milliseconds before its first
 * row and longer on a busy machine (9 ms for 39 rows, 100 ms for 345, at
 * load 5 on two cores): the low mark is what the slots live on meanwhile.
 * With claims made when half the slots were free the slots found the queue
 * empty at a third of their sends; with two rounds at batch 1 (32 rows,
 * 16 ms at 2,000 rows/s) still at a quarter. Higher marks only hold rows
 * away from other gateways sharing the backlog. */
#define QUEUE_LOW 2
#define QUEUE_MIN 128

int64_t lt_delivery_backoff(int attempts, int64_t first_ms, int64_t max_ms)
{
    if (first_ms < 1)
        first_ms = 1;
    if (max_ms < first_ms)
        max_ms = first_ms;
    int64_t base = first_ms;
    for (int i = 0; i < attempts && base < max_ms; i++)
        base *= 2;
    if (base > max_ms)
        base = max_ms;
    /* Jitter spreads the retries of rows that failed together. */
    uint32_t spread = base / 4 + 1 > UINT32_MAX ? UINT32_MAX : (uint32_t)(base / 4 + 1);
    int64_t d = base + (int64_t)randombytes_uniform(spread);
    return d > max_ms ? max_ms : d;
}

int64_t lt_delivery_backoff_ms(int attempts)
{
    return lt_delivery_backoff(attempts, 1000, 30000);
}

static void outcome_free(lt_deliv_outcome *o)
{
    free(o->err);
    free(o->health);
    free(o->answer);
}

/* Keeps one decided lt_deliv_outcome. Out of memory drops it: the row stays
 * inflight and is reclaimed, a resend under the same key. */
static void keep_outcome(lt_deliv_leg *lg, const lt_deliv_row *row, const lt_delivery_result *r)
{
    if (lg->npend == lg->cap_pend) {
        size_t cap = lg->cap_pend ? 2 * lg->cap_pend : 64;
        lt_deliv_outcome *p = realloc(lg->pend, cap * sizeof(*p));
        if (!p)
            goto oom;
        lg->pend = p;
        lg->cap_pend = cap;
    }
    lt_deliv_outcome o = {.id = row->id, .status = r->http_status > 0 ? r->http_status : 0};
    const lt_config *cfg = &lg->owner->cfg;
    char health[160];
    if (r->verdict == LT_DELIVERY_OK) {
        o.verdict = 'o';
    } else {
        o.verdict = r->verdict == LT_DELIVERY_DEAD ? 'd' : 'r';
        const char *e = r->error && r->error[0] ? r->error
                        : o.verdict == 'd'      ? "refused"
                                                : "failed";
        /* The destination's last_error is read by status and operators of
         * every unit: only what the wire said, never a record's content. */
        if (o.status > 0)
            snprintf(health, sizeof(health), "%sHTTP %d", o.verdict == 'd' ? "refused: " : "",
                     o.status);
        else
            snprintf(health, sizeof(health), "%s", e);
        if (o.verdict == 'r')
            o.delay_ms = lt_delivery_backoff(row->attempts, cfg->delivery.retry_first_ms,
                                             cfg->delivery.retry_max_ms);
        if (!(o.err = strdup(e)) || !(o.health = strdup(health)) ||
            (r->answer && !(o.answer = strdup(r->answer)))) {
            outcome_free(&o);
            goto oom;
        }
    }
    lg->pend[lg->npend++] = o;
    return;
oom:
    LT_ERROR("delivery %s: out of memory recording an lt_deliv_outcome; the row will be reclaimed",
             lg->name);
}

bool lt_deliv_settle_ready(const lt_deliv_leg *lg)
{
    if (!lg->npend)
        return false;
    return lg->lingered || lg->owner->term || !lt_deliv_leg_sending(lg) ||
           lg->npend >= lg->nslots * lg->batch;
}

size_t lt_deliv_claim_want(const lt_deliv_leg *lg)
{
    size_t round = lg->nslots * lg->batch;
    if (!lg->usable || lg->ngiveback || lg->owner->term)
        return 0;
    /* The same size with the circuit open: lt_claim_due then claims one
     * row (the probe) or none. A smaller claim would look at fewer
     * candidates, all of them locked by another gateway's larger claim
     * running at the same time (t_delivery_multi: one gateway never
     * claimed again after its circuit had opened). */
    size_t low = QUEUE_LOW * round > QUEUE_MIN ? QUEUE_LOW * round : QUEUE_MIN;
    size_t have = lg->queued + lg->asked;
    /* Up to the high mark (twice the low one), a claim at most low rows
     * so that another claimer can take the next ones at the same time,
     * and at least half of that: a claim costs a statement. */
    if (have >= 2 * low || 2 * low - have < low / 2)
        return 0;
    return 2 * low - have < low ? 2 * low - have : low;
}

static void on_done(const lt_delivery_result *res, size_t n, void *arg);

/* Hands up to lg->batch queued rows to sl, in claim order, and sends
 * them. A batch may take rows from several claims: they stay in the queue
 * (the items point into them) until queue_trim. */
static void send_from_queue(lt_deliv_leg *lg, lt_deliv_slot *sl, lt_outbox_item *items)
{
    size_t k = 0;
    for (size_t q = 0; q < lg->nqueue && k < lg->batch; q++) {
        lt_deliv_claimed *c = &lg->queue[q];
        while (c->next < c->n && k < lg->batch) {
            lt_outbox_item it;
            int row = c->next++;
            lg->queued--;
            if (lt_outbox_parse_claim(c->res, row, &it) < 0) {
                /* Never seen; the row stays inflight and is reclaimed. */
                LT_ERROR("delivery %s: a claimed row has an unexpected shape", lg->name);
                continue;
            }
            items[k] = it;
            sl->rows[k].id = it.id;
            sl->rows[k].attempts = it.attempts;
            snprintf(sl->rows[k].code, sizeof(sl->rows[k].code), "%s", it.dossier_code);
            k++;
        }
    }
    if (k == 0)
        return;
    sl->nrows = k;
    sl->sending = true;
    sl->send_start = lt_loop_now_ms();
    if (sl->drv.send(sl->drv.impl, items, k, on_done, sl) < 0) {
        sl->sending = false;
        /* Record them as retries (with no results). */
        on_done(NULL, 0, sl);
    }
}

/* Drops used-up claim results from the head of the queue. */
static void queue_trim(lt_deliv_leg *lg)
{
    size_t used = 0;
    while (used < lg->nqueue && lg->queue[used].next >= lg->queue[used].n)
        PQclear(lg->queue[used++].res);
    memmove(lg->queue, lg->queue + used, (lg->nqueue - used) * sizeof(*lg->queue));
    lg->nqueue -= used;
}

void lt_deliv_leg_fill(lt_deliv_leg *lg)
{
    /* filling: a send that fails at once calls on_done, which fills. */
    if (lg->open || lg->filling || lg->owner->term || !lg->queued)
        return;
    lt_outbox_item *items = calloc(lg->batch, sizeof(*items));
    if (!items) {
        LT_ERROR("delivery %s: out of memory; queued rows wait", lg->name);
        return;
    }
    lg->filling = true;
    for (size_t s = 0; s < lg->nslots && lg->queued; s++) {
        lt_deliv_slot *sl = &lg->slots[s];
        if (!sl->sending && sl->drv.impl)
            send_from_queue(lg, sl, items);
    }
    lg->filling = false;
    free(items);
    queue_trim(lg);
}

void lt_deliv_leg_claimed(lt_deliv_leg *lg, PGresult *r)
{
    int n = PQntuples(r);
    lg->owner->claimed += n > 0 ? (uint64_t)n : 0;
    if (n <= 0) {
        /* Nothing due (or the circuit is open): the tick, a notification
         * or an outcome asks again. */
        lg->need_claim = false;
        PQclear(r);
        return;
    }
    /* Rows came: the circuit is closed, or this is its probe. */
    lg->open = false;
    if (lg->nqueue == lg->cap_queue) {
        size_t cap = lg->cap_queue ? 2 * lg->cap_queue : 4;
        lt_deliv_claimed *q = realloc(lg->queue, cap * sizeof(*q));
        if (!q) {
            LT_ERROR("delivery %s: out of memory; the claimed rows will be reclaimed", lg->name);
            PQclear(r);
            return;
        }
        lg->queue = q;
        lg->cap_queue = cap;
    }
    lg->queue[lg->nqueue++] = (lt_deliv_claimed){.res = r, .next = 0, .n = n};
    lg->queued += (size_t)n;
    lg->need_claim = true;
    lt_deliv_leg_fill(lg);
}

void lt_deliv_leg_circuit(lt_deliv_leg *lg, bool open)
{
    lg->open = open;
    if (open)
        lt_deliv_leg_release(lg);
}

void lt_deliv_leg_release(lt_deliv_leg *lg)
{
    if (!lg->queued)
        return;
    int64_t *g = realloc(lg->giveback, (lg->ngiveback + lg->queued) * sizeof(*g));
    if (!g) {
        /* They stay queued (unsent while the circuit is open; after a
         * stop, taken back by the next start). */
        LT_ERROR("delivery %s: out of memory giving back queued rows", lg->name);
        return;
    }
    lg->giveback = g;
    for (size_t i = 0; i < lg->nqueue; i++) {
        lt_deliv_claimed *c = &lg->queue[i];
        for (; c->next < c->n; c->next++) {
            const char *v = PQgetvalue(c->res, c->next, 0);
            char *end = NULL;
            long long id = strtoll(v, &end, 10);
            if (end != v && *end == '\0' && id > 0)
                lg->giveback[lg->ngiveback++] = id;
        }
    }
    lg->queued = 0;
    queue_trim(lg);
}

void lt_deliv_leg_settled(lt_deliv_leg *lg)
{
    for (size_t i = 0; i < lg->nsettling; i++)
        outcome_free(&lg->pend[i]);
    memmove(lg->pend, lg->pend + lg->nsettling, (lg->npend - lg->nsettling) * sizeof(*lg->pend));
    lg->npend -= lg->nsettling;
    lg->nsettling = 0;
    lg->need_claim = true; /* dossiers held by those rows may go on */
}

static int on_linger(lt_loop *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    lt_deliv_leg *lg = arg;
    lg->linger_timer = 0;
    lg->lingered = true;
    lt_deliv_drive(lg->owner);
    return 0;
}

static void on_done(const lt_delivery_result *res, size_t n, void *arg)
{
    lt_deliv_slot *sl = arg;
    lt_deliv_leg *lg = sl->leg;
    lt_deliv *self = lg->owner;
    size_t nok = 0, nretry = 0, ndead = 0;
    for (size_t i = 0; i < sl->nrows; i++) {
        const lt_deliv_row *row = &sl->rows[i];
        /* No result for a row (the driver ran out of memory): retry it. */
        lt_delivery_result none = {.verdict = LT_DELIVERY_RETRY, .error = "no result"};
        const lt_delivery_result *r = i < n && res ? &res[i] : &none;
        if (r->verdict == LT_DELIVERY_OK)
            nok++;
        else if (r->verdict == LT_DELIVERY_DEAD) {
            LT_WARN("delivery %s: dead letter for dossier %s (row %" PRId64 "): %s", lg->name,
                    row->code, row->id, r->error ? r->error : "");
            ndead++;
        } else
            nretry++;
        keep_outcome(lg, row, r);
    }
    LT_DEBUG("delivery %s: %zu row(s) in %lld ms: %zu delivered, %zu to retry, %zu dead", lg->name,
             sl->nrows, (long long)(lt_loop_now_ms() - sl->send_start), nok, nretry, ndead);
    self->delivered += nok;
    self->retried += nretry;
    self->dead += ndead;
    sl->nrows = 0;
    sl->sending = false;
    lg->need_claim = true;
    lt_deliv_leg_fill(lg); /* the next queued rows go at once */
    if (!sl->sending && !lg->open && !self->term)
        self->starved++; /* nothing queued: the slot waits for a claim */
    if (!lt_deliv_settle_ready(lg) && lg->linger_timer <= 0 && !lg->lingered) {
        int id = lt_loop_add_timer(self->loop, LT_DELIV_LINGER_MS, 0, on_linger, lg);
        if (id > 0)
            lg->linger_timer = id;
        else
            lg->lingered = true; /* no timer: no waiting either */
    }
    lt_deliv_drive(self);
}

bool lt_deliv_leg_sending(const lt_deliv_leg *lg)
{
    for (size_t i = 0; i < lg->nslots; i++)
        if (lg->slots[i].sending)
            return true;
    return false;
}

/* Hands a claim's rows to the free slots, lg->batch at a time, in the
 * order claimed. */
static void slots_destroy(lt_deliv_leg *lg)
{
    for (size_t i = 0; i < lg->nslots; i++) {
        lt_deliv_slot *sl = &lg->slots[i];
        if (sl->drv.destroy && sl->drv.impl)
            sl->drv.destroy(sl->drv.impl);
        sl->drv = (lt_delivery_driver){0};
        free(sl->rows);
        sl->rows = NULL;
    }
    free(lg->slots);
    lg->slots = NULL;
    lg->nslots = 0;
    lg->usable = false;
    lt_curlm_destroy(&lg->curl); /* after the drivers: they may still name it */
}

void lt_deliv_leg_free(lt_deliv_leg *lg)
{
    if (!lg)
        return;
    slots_destroy(lg);
    if (lg->linger_timer > 0)
        lt_loop_cancel_timer(lg->owner->loop, lg->linger_timer);
    for (size_t i = 0; i < lg->npend; i++)
        outcome_free(&lg->pend[i]);
    free(lg->pend);
    for (size_t i = 0; i < lg->nqueue; i++)
        PQclear(lg->queue[i].res);
    free(lg->queue);
    free(lg->giveback);
    free(lg);
}

/* One driver for lg by its kind. */
static int make_driver(lt_deliv *self, const lt_deliv_leg *lg, lt_delivery_driver *d)
{
    *d = (lt_delivery_driver){0};
    if (!strcmp(lg->kind, "portal"))
        return lt_delivery_portal_new(self->loop, lg->curl, &self->cfg, self->dialects, d);
    if (!strcmp(lg->kind, "webhook"))
        return lt_delivery_webhook_new(self->loop, lg->curl, &self->cfg, d);
    if (!strcmp(lg->kind, "parent"))
        return lt_delivery_parent_new(self->loop, lg->curl, &self->cfg, lg->unit, lg->url, d);
    return lt_delivery_ward_new(self->loop, lg->curl, &self->cfg, self->dialects, lg->url,
                                lg->dialect, d);
}

int lt_deliv_leg_setup(lt_deliv *self, lt_deliv_leg *lg)
{
    slots_destroy(lg);
    size_t n = (size_t)(self->cfg.delivery.inflight > 0 ? self->cfg.delivery.inflight : 1);
    bool portal = !strcmp(lg->kind, "portal");
    /* Each slot has one call at a time (a portal's login, then its sync
     * calls, one after the other). The drivers borrow this handle, so the
     * leg's CA bundle is set here: the portal's own, or the one of every
     * unit, ward and webhook leg. */
    const char *ca = portal ? self->cfg.portal.ca_file : self->cfg.delivery.ca_file;
    lt_curlm_opts co = {.max_in_flight = (int)n,
                        .timeout_ms =
                            portal ? self->cfg.portal.timeout_ms : self->cfg.units.timeout_ms,
                        .ca_file = ca && ca[0] ? ca : NULL};
    if (!(lg->curl = lt_curlm_new(self->loop, &co)) ||
        !(lg->slots = calloc(n, sizeof(*lg->slots)))) {
        lt_curlm_destroy(&lg->curl);
        return -1;
    }
    lg->nslots = n;
    for (size_t i = 0; i < n; i++) {
        lt_deliv_slot *sl = &lg->slots[i];
        sl->leg = lg;
        if (make_driver(self, lg, &sl->drv) < 0) {
            sl->drv = (lt_delivery_driver){0};
            goto fail;
        }
        lg->batch = sl->drv.batch ? sl->drv.batch : 1;
        if (!(sl->rows = calloc(lg->batch, sizeof(*sl->rows))))
            goto fail;
    }
    lg->usable = true;
    lg->need_claim = true;
    return 0;
fail:
    slots_destroy(lg);
    return -1;
}

/* A new leg, added to the actor. NULL when out of memory. */
lt_deliv_leg *lt_deliv_leg_add(lt_deliv *self, const char *name, const char *kind, bool fixed)
{
    if (self->nlegs == self->cap_legs) {
        size_t cap = self->cap_legs ? 2 * self->cap_legs : 8;
        lt_deliv_leg **l = realloc(self->legs, cap * sizeof(*l));
        if (!l)
            return NULL;
        self->legs = l;
        self->cap_legs = cap;
    }
    lt_deliv_leg *lg = calloc(1, sizeof(*lg));
    if (!lg)
        return NULL;
    lg->owner = self;
    lg->fixed = fixed;
    snprintf(lg->name, sizeof(lg->name), "%s", name);
    snprintf(lg->kind, sizeof(lg->kind), "%s", kind);
    self->legs[self->nlegs++] = lg;
    return lg;
}

/* Whether a leg may be dropped or set up again: nothing of it in flight. */
static bool leg_idle(const lt_deliv *self, const lt_deliv_leg *lg)
{
    return !lt_deliv_leg_sending(lg) && lg->npend == 0 && !lg->queued && !lg->ngiveback &&
           !lt_deliv_claiming(self, lg) && lg != self->settling && lg != self->unclaiming;
}

void lt_deliv_apply_listing(lt_deliv *self, PGresult *r)
{
    for (size_t i = 0; i < self->nlegs; i++)
        self->legs[i]->listed = self->legs[i]->fixed;
    for (int row = 0; row < PQntuples(r); row++) {
        const char *name = PQgetvalue(r, row, 0), *kind = PQgetvalue(r, row, 1),
                   *url = PQgetvalue(r, row, 2), *dialect = PQgetvalue(r, row, 3),
                   *unit = PQgetvalue(r, row, 4);
        lt_deliv_leg *lg = NULL;
        for (size_t i = 0; i < self->nlegs && !lg; i++)
            if (!strcmp(self->legs[i]->name, name))
                lg = self->legs[i];
        if (!lg) {
            if (!(lg = lt_deliv_leg_add(self, name, strcmp(kind, "parent") ? "ward" : "parent",
                                        false)))
                continue; /* out of memory: the next listing tries again */
        } else if (!leg_idle(self, lg) ||
                   (lg->usable && !strcmp(lg->url, url) && !strcmp(lg->dialect, dialect))) {
            lg->listed = true;
            continue;
        }
        lg->listed = true;
        snprintf(lg->url, sizeof(lg->url), "%s", url);
        snprintf(lg->dialect, sizeof(lg->dialect), "%s", dialect);
        snprintf(lg->unit, sizeof(lg->unit), "%s", unit);
        if (lt_deliv_leg_setup(self, lg) < 0)
            LT_WARN("delivery %s: cannot deliver there (dialect %s unknown, or out of memory); "
                    "its rows wait",
                    lg->name, lg->dialect[0] ? lg->dialect : "canonical");
        else
            LT_INFO("delivery: delivering to %s", lg->name);
    }
    for (size_t i = 0; i < self->nlegs;) {
        lt_deliv_leg *lg = self->legs[i];
        if (lg->listed || !leg_idle(self, lg)) {
            i++;
            continue;
        }
        LT_INFO("delivery: %s has no address any more; its rows wait", lg->name);
        self->legs[i] = self->legs[--self->nlegs];
        lt_deliv_leg_free(lg);
    }
}

bool lt_deliv_any_sending(const lt_deliv *self)
{
    for (size_t i = 0; i < self->nlegs; i++)
        if (lt_deliv_leg_sending(self->legs[i]))
            return true;
    return false;
}

bool lt_deliv_any_pending(const lt_deliv *self)
{
    for (size_t i = 0; i < self->nlegs; i++)
        if (self->legs[i]->npend)
            return true;
    return false;
}

char *lt_deliv_outcomes_json(const lt_deliv_leg *lg)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < lg->npend; i++) {
        const lt_deliv_outcome *o = &lg->pend[i];
        const char v[2][6] = {"retry", "dead"};
        json_t *x = json_object();
        if (!x || json_array_append_new(a, x) < 0)
            goto fail;
        json_t *ans = o->answer ? json_string(o->answer) : json_null();
        if (!ans) /* not UTF-8: the column is text */
            ans = json_string("(the answer was not UTF-8 text)");
        if (json_object_set_new(x, "id", json_integer(o->id)) < 0 ||
            json_object_set_new(x, "v",
                                json_string(o->verdict == 'o'   ? "ok"
                                            : o->verdict == 'r' ? v[0]
                                                                : v[1])) < 0 ||
            json_object_set_new(x, "delay_ms", json_integer(o->delay_ms)) < 0 ||
            json_object_set_new(x, "st", o->status ? json_integer(o->status) : json_null()) < 0 ||
            json_object_set_new(x, "ans", ans) < 0)
            goto fail;
        if (o->verdict != 'o') {
            json_t *e = json_string(o->err), *h = json_string(o->health);
            if (json_object_set_new(x, "err", e ? e : json_string("failed")) < 0 ||
                json_object_set_new(x, "herr", h ? h : json_string("failed")) < 0)
                goto fail;
        }
    }
    char *s = a ? json_dumps(a, JSON_COMPACT) : NULL;
    json_decref(a);
    return s;
fail:
    json_decref(a);
    return NULL;
}
