/* lt_delivery: the delivery actor (see lt_delivery.h). One thread, one
 * loop, one non-blocking connection that runs one statement at a time, and
 * one leg per destination. A leg has delivery.inflight send slots, each
 * with its own driver (the drivers send one call at a time), so several
 * dossiers are on their way to one destination at once while each dossier
 * still has at most one row in flight (lt_claim's rule). The portal and
 * the webhook legs come from configuration; the unit:<code> (liên thông)
 * and ward:<code> (results back down) legs from the destinations table,
 * listed again every other tick after lt_route_unrouted() (which copies
 * units.url into them), so that a unit given a URL by `units import` gets
 * its waiting rows delivered without a restart. Each leg claims only its
 * own destination's rows, so a slow or failing receiver holds up no other.
 *
 * Statements are per round, not per row: one claim fills every free slot
 * of a leg (lt_claim_due), and the outcomes that came back meanwhile are
 * recorded in one statement per leg (lt_settle), which also keeps the
 * destination's health and circuit breaker in its destinations row
 * (0010, 0011), where every gateway on the database obeys it. The session
 * runs with synchronous_commit off after registering: a claim or an
 * outcome lost with a database crash only means a row is sent again under
 * the same idempotency key, which the contract already allows.
 *
 * The loop is a priority list walked after every event (drive): set the
 * connection up (register the instance, upsert the fixed destinations,
 * LISTEN, take back stale claims), record outcomes, refresh the heartbeat
 * and reclaim, route new events, and claim for legs with free slots.
 * NOTIFY lt_events (sent by the writer's commit) asks for routing; a 1 s
 * tick asks for a claim (retrying rows come due with time; an open circuit
 * is asked once a second whether its probe is due) and every other tick
 * for a heartbeat, a reclaim and a routing pass, so that a lost
 * notification costs at most two seconds.
 *
 * Outcomes wait in memory until recorded: when the database goes away
 * mid-send they are recorded once it is back (lt_settle only touches rows
 * still inflight, or retrying for a success). Nothing here blocks ingest:
 * the writer never waits for delivery. */
#include "lt_delivery.h"
#include "lt_actor.h"
#include "lt_log.h"
#include "lt_pgconn.h"

#include <inttypes.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TICK_MS          1000
#define QUERY_TIMEOUT_MS 10000
/* Claims of an instance whose heartbeat is older than this are taken back:
 * five missed heartbeats (two seconds apart). */
#define STALE_MS 10000
/* After $TERM, how long the sends in flight and their outcomes may take. */
#define TERM_GRACE_MS 10000
#define ROUTE_MAX     "1000"
/* Outbox statistics are refreshed once a burst of this many routed events
 * has been routed: the claim's "delivered here before?" lookup is planned
 * from them, and with statistics from before a backlog of 100,000 rows the
 * planner walked every delivered row of the destination per claimed row
 * until autovacuum's next ANALYZE (tests/bench/RESULTS.md, Drain). */
#define ANALYZE_AFTER 20000
/* A leg stops claiming while this many outcomes wait to be recorded (the
 * database is slow or away): memory stays bounded. */
#define PEND_MAX 4096
/* How long an outcome may wait for the other sends of its leg before it is
 * recorded alone. A round's statements cost about the same for one row as
 * for dozens, so outcomes are recorded, and free slots filled, when half a
 * leg's slots are back, when none is out, or after this. */
#define LINGER_MS 5

typedef enum {
    Q_NONE,
    Q_SETUP,
    Q_SETTLE,
    Q_HEARTBEAT,
    Q_ROUTE,
    Q_CLAIM,
    Q_SYNC,
    Q_LIST,
    Q_ANALYZE,
    Q_LEAVE
} query;

/* Setup steps, in order; a reconnection starts again at S_UPSERT. */
enum { S_REGISTER, S_UPSERT, S_LISTEN, S_ASYNC, S_RECLAIM, S_DONE };

/* What the actor remembers of a row at a driver. */
typedef struct {
    int64_t id;
    int attempts;
    char code[64]; /* dossier code, for the log */
} sent_row;

/* An outcome decided by a driver, waiting for lt_settle. */
typedef struct {
    int64_t id;
    char verdict; /* 'o' delivered, 'r' retry, 'd' dead */
    int status;   /* HTTP status, 0 = none */
    int64_t delay_ms;
    char *err;    /* the row's last_error (owned) */
    char *health; /* the destination's last_error: HTTP status or transport text (owned) */
    char *answer; /* owned, or NULL */
} outcome;

struct delivery;
struct leg;

/* One send slot of a leg: a driver and the rows it has. */
typedef struct slot {
    struct leg *leg;
    lt_delivery_driver drv; /* drv.impl NULL: not set up */
    sent_row *rows;         /* drv batch entries */
    size_t nrows;
    bool sending;
    int64_t send_start;
} slot;

/* One destination and its slots. */
typedef struct leg {
    struct delivery *owner;
    bool fixed;  /* from configuration (portal, webhook) */
    bool listed; /* in the last destinations listing */
    bool usable; /* every slot's driver is set up */
    char name[128], kind[16], unit[64];
    char url[1024], dialect[64];
    size_t batch; /* rows per send */
    slot *slots;
    size_t nslots;
    lt_curlm *curl; /* the slots' drivers share it */
    bool need_claim;
    outcome *pend; /* decided, not yet recorded; [0, nsettling) are being recorded */
    size_t npend, cap_pend, nsettling;
    int linger_timer; /* > 0: armed (see LINGER_MS) */
    bool lingered;    /* it fired: record and claim whatever there is */
} leg;

typedef struct delivery {
    lt_config cfg;
    const lt_dialects *dialects;
    lt_loop *loop;
    lt_pgconn *pg;
    leg **legs;
    size_t nlegs, cap_legs;
    size_t next_claim; /* round robin over the legs */
    size_t next_settle;
    leg *claiming; /* the leg whose claim runs */
    leg *settling; /* the leg whose outcomes are being recorded */
    size_t upsert_i;
    char instance[24]; /* gateway_instances.id, "" until registered */
    int setup_step;
    bool setup_failed; /* a setup statement failed: the next tick tries again */
    query q;           /* the statement running */
    bool need_heartbeat, need_route, need_sync, need_list;
    int64_t routed; /* events routed since the last ANALYZE of the outbox */
    bool term, left;
    unsigned ticks;
    uint64_t delivered, retried, dead;          /* for the stop line */
    uint64_t claims, claimed, settles, settled; /* statements and rows, for the stop line */
} delivery;

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

static void outcome_free(outcome *o)
{
    free(o->err);
    free(o->health);
    free(o->answer);
}

static void drive(delivery *self);

/* Keeps one decided outcome. Out of memory drops it: the row stays
 * inflight and is reclaimed, a resend under the same key. */
static void keep_outcome(leg *lg, const sent_row *row, const lt_delivery_result *r)
{
    if (lg->npend == lg->cap_pend) {
        size_t cap = lg->cap_pend ? 2 * lg->cap_pend : 64;
        outcome *p = realloc(lg->pend, cap * sizeof(*p));
        if (!p)
            goto oom;
        lg->pend = p;
        lg->cap_pend = cap;
    }
    outcome o = {.id = row->id, .status = r->http_status > 0 ? r->http_status : 0};
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
    LT_ERROR("delivery %s: out of memory recording an outcome; the row will be reclaimed",
             lg->name);
}

static size_t free_slots(const leg *lg);
static bool leg_sending(const leg *lg);

/* Whether lg's outcomes should be recorded now (see LINGER_MS). */
static bool settle_ready(const leg *lg)
{
    if (!lg->npend)
        return false;
    return lg->lingered || lg->owner->term || !leg_sending(lg) ||
           2 * lg->npend >= lg->nslots * lg->batch;
}

/* Whether lg should claim now: slots are free and it is worth a statement. */
static bool claim_ready(const leg *lg)
{
    size_t f = free_slots(lg);
    return f > 0 && (lg->lingered || 2 * f >= lg->nslots || !leg_sending(lg));
}

static int on_linger(lt_loop *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    leg *lg = arg;
    lg->linger_timer = 0;
    lg->lingered = true;
    drive(lg->owner);
    return 0;
}

static void on_done(const lt_delivery_result *res, size_t n, void *arg)
{
    slot *sl = arg;
    leg *lg = sl->leg;
    delivery *self = lg->owner;
    size_t nok = 0, nretry = 0, ndead = 0;
    for (size_t i = 0; i < sl->nrows; i++) {
        const sent_row *row = &sl->rows[i];
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
    if (!settle_ready(lg) && lg->linger_timer <= 0 && !lg->lingered) {
        int id = lt_loop_add_timer(self->loop, LINGER_MS, 0, on_linger, lg);
        if (id > 0)
            lg->linger_timer = id;
        else
            lg->lingered = true; /* no timer: no waiting either */
    }
    drive(self);
}

static size_t free_slots(const leg *lg)
{
    size_t n = 0;
    for (size_t i = 0; i < lg->nslots; i++)
        n += !lg->slots[i].sending && lg->slots[i].drv.impl;
    return n;
}

static bool leg_sending(const leg *lg)
{
    for (size_t i = 0; i < lg->nslots; i++)
        if (lg->slots[i].sending)
            return true;
    return false;
}

/* Hands a claim's rows to the free slots, lg->batch at a time, in the
 * order claimed. */
static void send_claimed(leg *lg, PGresult *r)
{
    int n = PQntuples(r);
    lg->owner->claimed += n > 0 ? (uint64_t)n : 0;
    if (n <= 0) {
        /* Nothing due (or the circuit is open): the tick, a notification
         * or an outcome asks again. */
        lg->need_claim = false;
        return;
    }
    lt_outbox_item *items = calloc(lg->batch, sizeof(*items));
    if (!items) {
        LT_ERROR("delivery %s: out of memory; the claimed rows will be reclaimed", lg->name);
        return;
    }
    int row = 0;
    for (size_t s = 0; s < lg->nslots && row < n; s++) {
        slot *sl = &lg->slots[s];
        if (sl->sending || !sl->drv.impl)
            continue;
        size_t k = 0;
        for (; row < n && k < lg->batch; row++) {
            lt_outbox_item it;
            if (lt_outbox_parse_claim(r, row, &it) < 0) {
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
        if (k == 0)
            continue;
        sl->nrows = k;
        sl->sending = true;
        sl->send_start = lt_loop_now_ms();
        if (sl->drv.send(sl->drv.impl, items, k, on_done, sl) < 0) {
            sl->sending = false;
            /* Record them as retries (with no results). */
            on_done(NULL, 0, sl);
        }
    }
    if (row < n)
        LT_ERROR("delivery %s: claimed more rows than free slots; they will be reclaimed",
                 lg->name);
    free(items);
    lg->need_claim = true;
}

static void slots_destroy(leg *lg)
{
    for (size_t i = 0; i < lg->nslots; i++) {
        slot *sl = &lg->slots[i];
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

/* Frees a leg (nothing may be in flight) with its waiting outcomes. */
static void leg_free(leg *lg)
{
    if (!lg)
        return;
    slots_destroy(lg);
    if (lg->linger_timer > 0)
        lt_loop_cancel_timer(lg->owner->loop, lg->linger_timer);
    for (size_t i = 0; i < lg->npend; i++)
        outcome_free(&lg->pend[i]);
    free(lg->pend);
    free(lg);
}

/* One driver for lg by its kind. */
static int make_driver(delivery *self, const leg *lg, lt_delivery_driver *d)
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

/* (Re)creates the slots of lg (none sending) from its kind, url, dialect.
 * Returns 0, or -1 with the leg unusable (its rows wait). */
static int leg_setup(delivery *self, leg *lg)
{
    slots_destroy(lg);
    size_t n = (size_t)(self->cfg.delivery.inflight > 0 ? self->cfg.delivery.inflight : 1);
    bool portal = !strcmp(lg->kind, "portal");
    /* Each slot has one call at a time (a portal's login, then its sync
     * calls, one after the other). */
    lt_curlm_opts co = {
        .max_in_flight = (int)n,
        .timeout_ms = portal ? self->cfg.portal.timeout_ms : self->cfg.units.timeout_ms,
        .ca_file = portal && self->cfg.portal.ca_file[0] ? self->cfg.portal.ca_file : NULL};
    if (!(lg->curl = lt_curlm_new(self->loop, &co)) ||
        !(lg->slots = calloc(n, sizeof(*lg->slots)))) {
        lt_curlm_destroy(&lg->curl);
        return -1;
    }
    lg->nslots = n;
    for (size_t i = 0; i < n; i++) {
        slot *sl = &lg->slots[i];
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
static leg *leg_add(delivery *self, const char *name, const char *kind, bool fixed)
{
    if (self->nlegs == self->cap_legs) {
        size_t cap = self->cap_legs ? 2 * self->cap_legs : 8;
        leg **l = realloc(self->legs, cap * sizeof(*l));
        if (!l)
            return NULL;
        self->legs = l;
        self->cap_legs = cap;
    }
    leg *lg = calloc(1, sizeof(*lg));
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
static bool leg_idle(const delivery *self, const leg *lg)
{
    return !leg_sending(lg) && lg->npend == 0 && lg != self->claiming && lg != self->settling;
}

/* The destinations listing: legs for new unit:/ward: destinations, set up
 * again when their URL or dialect changed, dropped when gone. */
static void apply_listing(delivery *self, PGresult *r)
{
    for (size_t i = 0; i < self->nlegs; i++)
        self->legs[i]->listed = self->legs[i]->fixed;
    for (int row = 0; row < PQntuples(r); row++) {
        const char *name = PQgetvalue(r, row, 0), *kind = PQgetvalue(r, row, 1),
                   *url = PQgetvalue(r, row, 2), *dialect = PQgetvalue(r, row, 3),
                   *unit = PQgetvalue(r, row, 4);
        leg *lg = NULL;
        for (size_t i = 0; i < self->nlegs && !lg; i++)
            if (!strcmp(self->legs[i]->name, name))
                lg = self->legs[i];
        if (!lg) {
            if (!(lg = leg_add(self, name, strcmp(kind, "parent") ? "ward" : "parent", false)))
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
        if (leg_setup(self, lg) < 0)
            LT_WARN("delivery %s: cannot deliver there (dialect %s unknown, or out of memory); "
                    "its rows wait",
                    lg->name, lg->dialect[0] ? lg->dialect : "canonical");
        else
            LT_INFO("delivery: delivering to %s", lg->name);
    }
    for (size_t i = 0; i < self->nlegs;) {
        leg *lg = self->legs[i];
        if (lg->listed || !leg_idle(self, lg)) {
            i++;
            continue;
        }
        LT_INFO("delivery: %s has no address any more; its rows wait", lg->name);
        self->legs[i] = self->legs[--self->nlegs];
        leg_free(lg);
    }
}

static bool any_sending(const delivery *self)
{
    for (size_t i = 0; i < self->nlegs; i++)
        if (leg_sending(self->legs[i]))
            return true;
    return false;
}

static bool any_pending(const delivery *self)
{
    for (size_t i = 0; i < self->nlegs; i++)
        if (self->legs[i]->npend)
            return true;
    return false;
}

/* lt_settle's answer: drop what was recorded, say what changed. */
static void settled(delivery *self, leg *lg, PGresult *r, bool ok)
{
    for (size_t i = 0; i < lg->nsettling; i++)
        outcome_free(&lg->pend[i]);
    memmove(lg->pend, lg->pend + lg->nsettling, (lg->npend - lg->nsettling) * sizeof(*lg->pend));
    lg->npend -= lg->nsettling;
    lg->nsettling = 0;
    lg->need_claim = true; /* dossiers held by those rows may go on */
    if (!ok || PQntuples(r) != 1 || PQnfields(r) != 7)
        return;
    const char *expired = PQgetvalue(r, 0, 3), *was = PQgetvalue(r, 0, 4),
               *now = PQgetvalue(r, 0, 5), *failures = PQgetvalue(r, 0, 6);
    self->dead += strtoull(expired, NULL, 10);
    if (strcmp(expired, "0") != 0)
        LT_WARN("delivery %s: %s row(s) still failing after delivery.retry_horizon became dead "
                "letters",
                lg->name, expired);
    if (!strcmp(was, now))
        return;
    if (!strcmp(now, "open"))
        LT_WARN("delivery %s: circuit open after %s failure(s) in a row; one probe every %" PRId64
                " ms until it answers",
                lg->name, failures, self->cfg.delivery.probe_interval_ms);
    else if (!strcmp(now, "closed"))
        LT_INFO("delivery %s: circuit closed, the destination answers again", lg->name);
}

static void on_result(lt_pgconn *pg, PGresult *r, const char *err, void *arg)
{
    (void)pg;
    delivery *self = arg;
    query q = self->q;
    self->q = Q_NONE;
    leg *claiming = self->claiming, *settling = self->settling;
    self->claiming = self->settling = NULL;
    ExecStatusType es = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    bool ok = es == PGRES_TUPLES_OK || es == PGRES_COMMAND_OK;
    if (!r) {
        /* Connection lost: drive() sets it up again once it is back; the
         * outcomes being recorded stay and are recorded then. */
        LT_DEBUG("delivery: statement lost: %s", err ? err : "");
        if (settling)
            settling->nsettling = 0;
        goto next;
    }
    if (!ok)
        LT_WARN("delivery: statement failed: %s", PQresultErrorMessage(r));
    switch (q) {
    case Q_SETUP:
        if (!ok) {
            /* Retried on the next tick, not at once: on a new database
             * the schema comes with the watcher's migrations, and an
             * immediate retry spun thousands of times before they ran. */
            self->setup_failed = true;
            break;
        }
        if (self->setup_step == S_REGISTER) {
            snprintf(self->instance, sizeof(self->instance), "%s", PQgetvalue(r, 0, 0));
            LT_INFO("delivery: registered as gateway instance %s", self->instance);
        } else if (self->setup_step == S_UPSERT) {
            self->upsert_i++;
            break; /* drive() moves on when every fixed leg is upserted */
        } else if (self->setup_step == S_RECLAIM && strcmp(PQgetvalue(r, 0, 0), "0") != 0) {
            LT_INFO("delivery: took back %s row(s) claimed by a gateway that stopped",
                    PQgetvalue(r, 0, 0));
        }
        self->setup_step++;
        break;
    case Q_SETTLE:
        /* Done, or failed for a reason a retry would not change (the rows
         * stay inflight and are reclaimed). */
        if (settling)
            settled(self, settling, r, ok);
        break;
    case Q_ROUTE:
        if (ok && strtoll(PQgetvalue(r, 0, 0), NULL, 10) > 0) {
            self->routed += strtoll(PQgetvalue(r, 0, 0), NULL, 10);
            self->need_route = true; /* there may be more */
            for (size_t i = 0; i < self->nlegs; i++)
                self->legs[i]->need_claim = true;
            self->need_list = true; /* routing may have made unit destinations */
        }
        break;
    case Q_SYNC:
        if (ok && strtoll(PQgetvalue(r, 0, 0), NULL, 10) > 0)
            LT_INFO("delivery: %s unrouted row(s) now have an address", PQgetvalue(r, 0, 0));
        self->need_list = true;
        break;
    case Q_LIST:
        if (ok)
            apply_listing(self, r);
        break;
    case Q_CLAIM:
        if (claiming && ok)
            send_claimed(claiming, r);
        else if (claiming)
            claiming->need_claim = false;
        break;
    case Q_LEAVE:
        self->left = true;
        break;
    default:
        break;
    }
next:
    PQclear(r);
    drive(self);
}

static bool run(delivery *self, query q, const char *sql, int n, const char *const *p)
{
    if (lt_pgconn_query(self->pg, sql, n, p, QUERY_TIMEOUT_MS, on_result, self) < 0)
        return false;
    self->q = q;
    return true;
}

/* The outcomes of lg as lt_settle's JSON (caller frees), or NULL. */
static char *outcomes_json(const leg *lg)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < lg->npend; i++) {
        const outcome *o = &lg->pend[i];
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

/* Records the waiting outcomes of the next leg that has some. */
static bool settle_next(delivery *self)
{
    for (size_t k = 0; k < self->nlegs; k++) {
        size_t i = (self->next_settle + k) % self->nlegs;
        leg *lg = self->legs[i];
        if (!settle_ready(lg))
            continue;
        self->next_settle = i + 1;
        char *js = outcomes_json(lg);
        char horizon[48], probe[48], threshold[24];
        if (!js ||
            lt_outbox_delay_param(self->cfg.delivery.retry_horizon_ms, horizon, sizeof(horizon)) <
                0 ||
            lt_outbox_delay_param(self->cfg.delivery.probe_interval_ms, probe, sizeof(probe)) < 0) {
            free(js);
            return false; /* out of memory: the next event tries again */
        }
        snprintf(threshold, sizeof(threshold), "%" PRId64, self->cfg.delivery.circuit_failures);
        const char *p[5] = {lg->name, js, horizon, threshold, probe};
        size_t n = lg->npend;
        bool sent = run(self, Q_SETTLE, LT_OUTBOX_SETTLE_SQL, 5, p);
        free(js);
        if (sent) {
            self->settles++;
            self->settled += n;
            lg->nsettling = n;
            self->settling = lg;
        }
        return sent;
    }
    return false;
}

/* The next leg that may claim, round robin so that no leg starves. */
static leg *next_claimer(delivery *self)
{
    for (size_t k = 0; k < self->nlegs; k++) {
        size_t i = (self->next_claim + k) % self->nlegs;
        leg *lg = self->legs[i];
        if (lg->need_claim && lg->usable && lg->npend < PEND_MAX && claim_ready(lg)) {
            self->next_claim = i + 1;
            return lg;
        }
    }
    return NULL;
}

static void drive(delivery *self)
{
    if (self->q != Q_NONE || !self->pg || !lt_pgconn_up(self->pg)) {
        if (self->term && !any_sending(self) && (!self->pg || !lt_pgconn_up(self->pg)))
            lt_loop_stop(self->loop); /* nothing more can be recorded */
        return;
    }
    char stale[48];
    if (self->setup_step < S_DONE && self->setup_failed)
        return;
    while (self->setup_step < S_DONE) {
        char pid[16], host[256] = "";
        if (self->setup_step == S_REGISTER && self->instance[0])
            self->setup_step = S_UPSERT; /* a reconnection: still the same instance */
        switch (self->setup_step) {
        case S_REGISTER: {
            snprintf(pid, sizeof(pid), "%d", (int)getpid());
            if (gethostname(host, sizeof(host) - 1) < 0)
                snprintf(host, sizeof(host), "unknown");
            const char *p[3] = {host, pid, LT_VERSION};
            (void)run(self, Q_SETUP,
                      "INSERT INTO gateway_instances (hostname, pid, version)"
                      " VALUES ($1, $2::integer, $3) RETURNING id",
                      3, p);
            return;
        }
        case S_UPSERT: {
            while (self->upsert_i < self->nlegs && !self->legs[self->upsert_i]->fixed)
                self->upsert_i++;
            if (self->upsert_i >= self->nlegs) {
                self->setup_step = S_LISTEN;
                continue;
            }
            const leg *lg = self->legs[self->upsert_i];
            const char *p[5] = {lg->name, lg->kind, lg->url, lg->dialect[0] ? lg->dialect : NULL,
                                NULL};
            (void)run(self, Q_SETUP, "SELECT lt_destination_upsert($1, $2, $3, $4, $5)", 5, p);
            return;
        }
        case S_LISTEN:
            (void)run(self, Q_SETUP, "LISTEN lt_events", 0, NULL);
            return;
        case S_ASYNC:
            /* After the registration, which must survive a database crash
             * (claims refer to it); see the top of the file. */
            (void)run(self, Q_SETUP, "SET synchronous_commit = off", 0, NULL);
            return;
        default:
            if (lt_outbox_delay_param(STALE_MS, stale, sizeof(stale)) < 0)
                return;
            const char *p[1] = {stale};
            (void)run(self, Q_SETUP, LT_OUTBOX_RECLAIM_SQL, 1, p);
            return;
        }
    }
    if (settle_next(self))
        return;
    if (self->term) {
        if (any_sending(self) || any_pending(self))
            return;
        if (!self->left) {
            /* Our claims become claimed_by NULL, which the next start (or
             * another gateway) takes back at once. */
            const char *p[1] = {self->instance};
            if (run(self, Q_LEAVE, "DELETE FROM gateway_instances WHERE id = $1::bigint", 1, p))
                return;
        }
        lt_loop_stop(self->loop);
        return;
    }
    if (self->need_heartbeat) {
        self->need_heartbeat = false;
        const char *p[1] = {self->instance};
        (void)run(self, Q_HEARTBEAT,
                  "UPDATE gateway_instances SET heartbeat_at = now() WHERE id = $1::bigint", 1, p);
        return;
    }
    if (self->need_route) {
        self->need_route = false;
        const char *p[1] = {ROUTE_MAX};
        (void)run(self, Q_ROUTE, LT_OUTBOX_ROUTE_SQL, 1, p);
        return;
    }
    if (self->routed >= ANALYZE_AFTER) {
        /* The burst is routed (need_route is false): its rows are in. */
        self->routed = 0;
        (void)run(self, Q_ANALYZE, "ANALYZE outbox", 0, NULL);
        return;
    }
    if (self->need_sync) {
        self->need_sync = false;
        (void)run(self, Q_SYNC, LT_OUTBOX_ROUTE_UNROUTED_SQL, 0, NULL);
        return;
    }
    if (self->need_list) {
        self->need_list = false;
        (void)run(self, Q_LIST,
                  "SELECT name, kind, url, coalesce(dialect, ''), coalesce(unit_code, '')"
                  " FROM destinations WHERE kind IN ('parent', 'ward') AND url IS NOT NULL",
                  0, NULL);
        return;
    }
    leg *lg = next_claimer(self);
    if (lg) {
        char max[24], probe[48];
        snprintf(max, sizeof(max), "%zu", free_slots(lg) * lg->batch);
        if (lt_outbox_delay_param(self->cfg.delivery.probe_interval_ms, probe, sizeof(probe)) < 0)
            return;
        const char *p[4] = {lg->name, self->instance, max, probe};
        if (run(self, Q_CLAIM, LT_OUTBOX_CLAIM_DUE_SQL, 4, p)) {
            self->claims++;
            self->claiming = lg;
            lg->lingered = false;
        }
        return;
    }
}

/* The heartbeat's answer is not needed; a reclaim follows it. */
static int on_tick(lt_loop *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    delivery *self = arg;
    self->ticks++;
    self->setup_failed = false;
    for (size_t i = 0; i < self->nlegs; i++)
        self->legs[i]->need_claim = true;
    if (self->ticks % 2 == 0) {
        self->need_heartbeat = true;
        self->need_route = true;
        self->need_sync = true;
        if (self->setup_step >= S_DONE)
            self->setup_step = S_RECLAIM; /* a reclaim pass */
    }
    drive(self);
    return 0;
}

static void on_pg_state(lt_pgconn *pg, bool up, const char *reason, void *arg)
{
    (void)pg;
    delivery *self = arg;
    if (!up) {
        LT_WARN("delivery: database connection down (%s); delivery pauses until it is back",
                reason);
        self->setup_step = S_REGISTER; /* LISTEN and the upsert again on the next one */
        self->upsert_i = 0;
        self->claiming = NULL;
        if (self->settling)
            self->settling->nsettling = 0;
        self->settling = NULL;
    }
    drive(self);
}

static void on_pg_notify(lt_pgconn *pg, const char *channel, const char *payload, void *arg)
{
    (void)pg;
    (void)channel;
    (void)payload;
    delivery *self = arg;
    self->need_route = true;
    drive(self);
}

static int on_term_timer(lt_loop *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    (void)arg;
    LT_WARN("delivery: still busy %d ms after the stop; leaving (the rows in flight are taken "
            "back by the next start)",
            TERM_GRACE_MS);
    return -1;
}

static int on_pipe(lt_loop *loop, void *pipe, void *arg)
{
    delivery *self = arg;
    if (lt_actor_read_pipe(pipe, &self->cfg) >= 0)
        return 0;
    self->term = true;
    if (lt_loop_add_timer(loop, TERM_GRACE_MS, 0, on_term_timer, self) < 0)
        return -1;
    drive(self);
    return 0;
}

/* The legs configuration asks for: the portal and the webhook. */
static int add_fixed_legs(delivery *self)
{
    leg *lg = NULL;
    if (self->cfg.portal.url[0]) {
        if (!(lg = leg_add(self, "portal", "portal", true)))
            goto oom;
        snprintf(lg->url, sizeof(lg->url), "%s", self->cfg.portal.url);
        snprintf(lg->dialect, sizeof(lg->dialect), "%s", self->cfg.portal.dialect);
        if (leg_setup(self, lg) < 0) {
            LT_ERROR("delivery: cannot set up the portal (portal.dialect %s unknown, or out of "
                     "memory)",
                     self->cfg.portal.dialect);
            return -1;
        }
    }
    if (self->cfg.webhook.url[0]) {
        if (!(lg = leg_add(self, "webhook", "webhook", true)))
            goto oom;
        snprintf(lg->url, sizeof(lg->url), "%s", self->cfg.webhook.url);
        if (leg_setup(self, lg) < 0)
            goto oom;
    }
    return 0;
oom:
    LT_ERROR("delivery: out of memory setting up its destinations");
    return -1;
}

void lt_delivery_actor(void *pipe, void *args)
{
    const lt_delivery_args *a = args;
    delivery self = {0};
    lt_pgconn_callbacks cb = {.state = on_pg_state, .notify = on_pg_notify, .arg = &self};
    self.dialects = a->dialects;
    self.loop = lt_loop_new();
    if (!self.loop || lt_config_copy(&self.cfg, a->cfg) < 0 || sodium_init() < 0 ||
        add_fixed_legs(&self) < 0 ||
        !(self.pg = lt_pgconn_new(self.loop, a->conninfo, self.cfg.database.connect_timeout_ms,
                                  "delivery", &cb)) ||
        lt_loop_add_socket(self.loop, pipe, on_pipe, &self) < 0 ||
        lt_loop_add_timer(self.loop, TICK_MS, TICK_MS, on_tick, &self) < 0) {
        LT_ERROR("delivery cannot start");
        lt_actor_signal(pipe, -1);
        goto out;
    }
    self.need_route = self.need_sync = true;
    LT_INFO("delivery: %" PRId64 " send(s) in flight per destination at most",
            self.cfg.delivery.inflight);
    lt_actor_signal(pipe, 0);
    lt_loop_run(self.loop);
    LT_INFO("delivery stopped: %" PRIu64 " delivered, %" PRIu64 " retries, %" PRIu64
            " dead letters; %" PRIu64 " rows in %" PRIu64 " claims, %" PRIu64
            " outcomes in %" PRIu64 " statements",
            self.delivered, self.retried, self.dead, self.claimed, self.claims, self.settled,
            self.settles);
out:
    for (size_t i = 0; i < self.nlegs; i++)
        leg_free(self.legs[i]);
    free(self.legs);
    lt_pgconn_destroy(&self.pg);
    lt_loop_destroy(&self.loop);
    lt_config_free(&self.cfg);
}
