/* lt_delivery: the delivery actor (see lt_delivery.h). One thread, one
 * loop, one non-blocking connection that runs one statement at a time, and
 * one leg per destination: a driver with at most one send in flight. The
 * portal and the webhook legs come from configuration; the unit:<code>
 * (liên thông) and ward:<code> (results back down) legs from the
 * destinations table, listed again every other tick after
 * lt_route_unrouted() (which copies units.url into them), so that a unit
 * given a URL by `units import` gets its waiting rows delivered without a
 * restart. Each leg claims only its own destination's rows, so a slow or
 * failing receiver holds up no other.
 *
 * The loop is a priority list walked after every event (drive): set the
 * connection up (register the instance, upsert the destination, LISTEN,
 * take back stale claims), record outcomes, refresh the heartbeat and
 * reclaim, route new events, and claim the next batch when the driver is
 * free. NOTIFY lt_events (sent by the writer's commit) asks for routing; a
 * 1 s tick asks for a claim (retrying rows come due with time) and every
 * other tick for a heartbeat, a reclaim and a routing pass, so that a lost
 * notification costs at most two seconds.
 *
 * Outcomes wait in a queue until recorded: when the database goes away
 * mid-send they are recorded once it is back (the statements are
 * idempotent enough: lt_retry and lt_dead only touch inflight rows).
 * Nothing here blocks ingest: the writer never waits for delivery. */
#include "lt_delivery.h"
#include "lt_actor.h"
#include "lt_log.h"
#include "lt_pgconn.h"

#include <inttypes.h>
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
/* After $TERM, how long a send in flight and its outcomes may take. */
#define TERM_GRACE_MS  10000
#define ROUTE_MAX      "1000"
#define BACKOFF_MAX_MS 30000

typedef enum {
    Q_NONE,
    Q_SETUP,
    Q_OUTCOME,
    Q_HEARTBEAT,
    Q_RECLAIM,
    Q_ROUTE,
    Q_CLAIM,
    Q_SYNC,
    Q_LIST,
    Q_LEAVE
} query;

/* One outcome statement waiting to run; params owned (NULL = SQL NULL). */
typedef struct stmt {
    struct stmt *next;
    const char *sql;
    int n;
    char *p[4];
} stmt;

/* What the actor remembers of a row at the driver. */
typedef struct {
    int64_t id;
    int attempts;
    char code[64]; /* dossier code, for the log */
} sent_row;

struct delivery;

/* One destination and its driver. */
typedef struct leg {
    struct delivery *owner;
    lt_delivery_driver drv; /* drv.impl NULL: could not be set up (logged) */
    bool fixed;             /* from configuration (portal, webhook) */
    bool listed;            /* in the last destinations listing */
    char name[128];         /* the destination; drv.destination points here for listed legs */
    char url[1024], dialect[64];
    char batch[24]; /* drv.batch as text, lt_claim's max_rows */
    sent_row *rows; /* at the driver, drv.batch entries */
    size_t nrows;
    bool sending;
    int64_t send_start;
    bool need_claim;
} leg;

typedef struct delivery {
    lt_config cfg;
    const lt_dialects *dialects;
    lt_loop *loop;
    lt_pgconn *pg;
    leg **legs;
    size_t nlegs, cap_legs;
    size_t next_claim; /* round robin over the legs */
    leg *claiming;     /* the leg whose claim runs */
    size_t upsert_i;   /* setup step 1: the next fixed leg to upsert */
    char instance[24]; /* gateway_instances.id, "" until registered */
    int setup_step;    /* 0 register, 1 upsert, 2 LISTEN, 3 reclaim, 4 done */
    query q;           /* the statement running */
    stmt *out_head, *out_tail;
    bool need_heartbeat, need_route, need_sync, need_list;
    bool term, left;
    unsigned ticks;
    uint64_t delivered, retried, dead; /* for the stop line */
} delivery;

int64_t lt_delivery_backoff_ms(int attempts)
{
    int shift = attempts < 0 ? 0 : attempts > 5 ? 5 : attempts;
    int64_t base = (int64_t)1000 << shift;
    if (base > BACKOFF_MAX_MS)
        base = BACKOFF_MAX_MS;
    /* Jitter spreads the retries of rows that failed together. */
    int64_t d = base + (int64_t)randombytes_uniform((uint32_t)(base / 4 + 1));
    return d > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : d;
}

static void stmt_free(stmt *s)
{
    for (int i = 0; i < 4; i++)
        free(s->p[i]);
    free(s);
}

/* Queues an outcome statement; values are copied. Out of memory drops it:
 * the row stays inflight and is reclaimed, a resend under the same key. */
static void queue_stmt(delivery *self, const char *sql, int n, const char *const *vals)
{
    stmt *s = calloc(1, sizeof(*s));
    if (!s)
        goto oom;
    s->sql = sql;
    s->n = n;
    for (int i = 0; i < n; i++)
        if (vals[i] && !(s->p[i] = strdup(vals[i]))) {
            stmt_free(s);
            goto oom;
        }
    if (self->out_tail)
        self->out_tail->next = s;
    else
        self->out_head = s;
    self->out_tail = s;
    return;
oom:
    LT_ERROR("delivery: out of memory recording an outcome; the row will be reclaimed");
}

static void drive(delivery *self);

static void on_done(const lt_delivery_result *res, size_t n, void *arg)
{
    leg *lg = arg;
    delivery *self = lg->owner;
    int64_t *ok = calloc(lg->nrows ? lg->nrows : 1, sizeof(*ok));
    size_t nok = 0, nretry = 0, ndead = 0;
    for (size_t i = 0; i < lg->nrows; i++) {
        const sent_row *row = &lg->rows[i];
        char id[24], status[16], delay[48];
        snprintf(id, sizeof(id), "%" PRId64, row->id);
        /* No result for a row (the driver ran out of memory): retry it. */
        lt_delivery_result none = {.verdict = LT_DELIVERY_RETRY, .error = "no result"};
        const lt_delivery_result *r = i < n && res ? &res[i] : &none;
        snprintf(status, sizeof(status), "%d", r->http_status);
        const char *st = r->http_status > 0 ? status : NULL;
        if (r->verdict == LT_DELIVERY_OK && ok) {
            ok[nok++] = row->id;
        } else if (r->verdict == LT_DELIVERY_DEAD) {
            LT_WARN("delivery %s: dead letter for dossier %s (row %" PRId64 "): %s",
                    lg->drv.destination, row->code, row->id, r->error ? r->error : "");
            const char *v[4] = {id, r->error ? r->error : "refused", st, r->answer};
            queue_stmt(self, LT_OUTBOX_DEAD_SQL, 4, v);
            ndead++;
        } else {
            if (lt_outbox_delay_param(lt_delivery_backoff_ms(row->attempts), delay, sizeof(delay)) <
                0)
                continue;
            const char *v[4] = {id, delay, r->error && r->error[0] ? r->error : "failed", st};
            queue_stmt(self, LT_OUTBOX_RETRY_SQL, 4, v);
            nretry++;
        }
    }
    if (nok) {
        char *ids = lt_outbox_ids_param(ok, nok);
        const char *v[1] = {ids};
        if (ids)
            queue_stmt(self, LT_OUTBOX_DELIVERED_SQL, 1, v);
        free(ids);
    }
    free(ok);
    LT_DEBUG("delivery %s: %zu row(s) in %lld ms: %zu delivered, %zu to retry, %zu dead",
             lg->drv.destination, lg->nrows, (long long)(lt_loop_now_ms() - lg->send_start), nok,
             nretry, ndead);
    self->delivered += nok;
    self->retried += nretry;
    self->dead += ndead;
    lg->nrows = 0;
    lg->sending = false;
    lg->need_claim = true;
    drive(self);
}

/* Hands a claim's rows to the driver. */
static void send_claimed(leg *lg, PGresult *r)
{
    int n = PQntuples(r);
    if (n <= 0) {
        lg->need_claim = false;
        return;
    }
    if ((size_t)n > lg->drv.batch)
        n = (int)lg->drv.batch; /* cannot happen: lt_claim got the same limit */
    lt_outbox_item *items = calloc((size_t)n, sizeof(*items));
    size_t k = 0;
    for (int i = 0; items && i < n; i++) {
        lt_outbox_item it;
        if (lt_outbox_parse_claim(r, i, &it) < 0) {
            /* Never seen; the row stays inflight and is reclaimed. */
            LT_ERROR("delivery %s: a claimed row has an unexpected shape", lg->drv.destination);
            continue;
        }
        items[k] = it;
        lg->rows[k].id = it.id;
        lg->rows[k].attempts = it.attempts;
        snprintf(lg->rows[k].code, sizeof(lg->rows[k].code), "%s", it.dossier_code);
        k++;
    }
    lg->nrows = k;
    lg->need_claim = true;
    if (k > 0) {
        lg->sending = true;
        lg->send_start = lt_loop_now_ms();
        if (lg->drv.send(lg->drv.impl, items, k, on_done, lg) < 0) {
            lg->sending = false;
            /* Record them as retries (with no results). */
            free(items);
            on_done(NULL, 0, lg);
            return;
        }
    }
    free(items);
}

/* Frees a leg's driver (nothing may be in flight) and the leg. */
static void leg_free(leg *lg)
{
    if (!lg)
        return;
    if (lg->drv.destroy && lg->drv.impl)
        lg->drv.destroy(lg->drv.impl);
    free(lg->rows);
    free(lg);
}

/* Adds a leg whose driver is set up (or not: drv.impl NULL), taking it. */
static int add_leg(delivery *self, leg *lg)
{
    if (self->nlegs == self->cap_legs) {
        size_t cap = self->cap_legs ? 2 * self->cap_legs : 8;
        leg **l = realloc(self->legs, cap * sizeof(*l));
        if (!l)
            return -1;
        self->legs = l;
        self->cap_legs = cap;
    }
    lg->owner = self;
    lg->need_claim = true;
    self->legs[self->nlegs++] = lg;
    return 0;
}

/* A leg for drv (set up by its _new): rows and the batch text. NULL when
 * out of memory (drv destroyed). */
static leg *leg_new(const lt_delivery_driver *drv, bool fixed)
{
    leg *lg = calloc(1, sizeof(*lg));
    if (lg) {
        lg->drv = *drv;
        lg->fixed = fixed;
        snprintf(lg->batch, sizeof(lg->batch), "%zu", drv->batch ? drv->batch : 1);
        lg->rows = calloc(drv->batch ? drv->batch : 1, sizeof(*lg->rows));
    }
    if (!lg || !lg->rows) {
        if (drv->destroy && drv->impl)
            drv->destroy(drv->impl);
        if (lg)
            lg->drv.impl = NULL;
        leg_free(lg);
        return NULL;
    }
    return lg;
}

/* Sets up (again) the driver of a listed leg from its name, url, dialect. */
static void leg_setup(delivery *self, leg *lg, const char *kind, const char *unit)
{
    if (lg->drv.destroy && lg->drv.impl)
        lg->drv.destroy(lg->drv.impl);
    lt_delivery_driver d = {0};
    int rc = !strcmp(kind, "parent")
                 ? lt_delivery_parent_new(self->loop, &self->cfg, unit, lg->url, &d)
                 : lt_delivery_ward_new(self->loop, &self->cfg, self->dialects, lg->url,
                                        lg->dialect, &d);
    if (rc < 0) {
        lg->drv = (lt_delivery_driver){.destination = lg->name};
        LT_WARN("delivery %s: cannot deliver there (dialect %s unknown, or out of memory); its "
                "rows wait",
                lg->name, lg->dialect[0] ? lg->dialect : "canonical");
        return;
    }
    d.destination = lg->name;
    d.kind = !strcmp(kind, "parent") ? "parent" : "ward";
    d.url = lg->url;
    d.dialect = lg->dialect;
    lg->drv = d; /* batch 1, as rows was sized */
    lg->need_claim = true;
    LT_INFO("delivery: delivering to %s", lg->name);
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
            lt_delivery_driver none = {.batch = 1};
            if (!(lg = leg_new(&none, false)) || add_leg(self, lg) < 0) {
                leg_free(lg);
                continue; /* out of memory: the next listing tries again */
            }
            snprintf(lg->name, sizeof(lg->name), "%s", name);
        } else if (lg->sending || (!strcmp(lg->url, url) && !strcmp(lg->dialect, dialect))) {
            lg->listed = true;
            continue;
        }
        lg->listed = true;
        snprintf(lg->url, sizeof(lg->url), "%s", url);
        snprintf(lg->dialect, sizeof(lg->dialect), "%s", dialect);
        leg_setup(self, lg, kind, unit);
    }
    for (size_t i = 0; i < self->nlegs;) {
        leg *lg = self->legs[i];
        if (lg->listed || lg->sending || lg == self->claiming) {
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
        if (self->legs[i]->sending)
            return true;
    return false;
}

static void on_result(lt_pgconn *pg, PGresult *r, const char *err, void *arg)
{
    (void)pg;
    delivery *self = arg;
    query q = self->q;
    self->q = Q_NONE;
    leg *claiming = self->claiming;
    self->claiming = NULL;
    ExecStatusType es = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    bool ok = es == PGRES_TUPLES_OK || es == PGRES_COMMAND_OK;
    if (!r) {
        /* Connection lost: drive() sets it up again once it is back; an
         * outcome statement stays queued. */
        LT_DEBUG("delivery: statement lost: %s", err ? err : "");
        goto next;
    }
    if (!ok)
        LT_WARN("delivery: statement failed: %s", PQresultErrorMessage(r));
    switch (q) {
    case Q_SETUP:
        if (!ok)
            break; /* retried on the next tick */
        if (self->setup_step == 0) {
            snprintf(self->instance, sizeof(self->instance), "%s", PQgetvalue(r, 0, 0));
            LT_INFO("delivery: registered as gateway instance %s", self->instance);
        } else if (self->setup_step == 1) {
            self->upsert_i++;
            break; /* drive() moves on when every fixed leg is upserted */
        } else if (self->setup_step == 3 && strcmp(PQgetvalue(r, 0, 0), "0") != 0) {
            LT_INFO("delivery: took back %s row(s) claimed by a gateway that stopped",
                    PQgetvalue(r, 0, 0));
        }
        self->setup_step++;
        break;
    case Q_OUTCOME: {
        /* Done, or failed for a reason a retry would not change. */
        stmt *s = self->out_head;
        self->out_head = s->next;
        if (!self->out_head)
            self->out_tail = NULL;
        stmt_free(s);
        break;
    }
    case Q_ROUTE:
        if (ok && strtoll(PQgetvalue(r, 0, 0), NULL, 10) > 0) {
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

/* The next leg that may claim, round robin so that no leg starves. */
static leg *next_claimer(delivery *self)
{
    for (size_t k = 0; k < self->nlegs; k++) {
        size_t i = (self->next_claim + k) % self->nlegs;
        leg *lg = self->legs[i];
        if (lg->need_claim && !lg->sending && lg->drv.impl) {
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
    while (self->setup_step < 4) {
        char pid[16], host[256] = "";
        if (self->setup_step == 0 && self->instance[0])
            self->setup_step = 1; /* a reconnection: still the same instance */
        switch (self->setup_step) {
        case 0: {
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
        case 1: {
            while (self->upsert_i < self->nlegs && !self->legs[self->upsert_i]->fixed)
                self->upsert_i++;
            if (self->upsert_i >= self->nlegs) {
                self->setup_step = 2;
                continue;
            }
            const lt_delivery_driver *d = &self->legs[self->upsert_i]->drv;
            const char *p[5] = {d->destination, d->kind, d->url, d->dialect, NULL};
            (void)run(self, Q_SETUP, "SELECT lt_destination_upsert($1, $2, $3, $4, $5)", 5, p);
            return;
        }
        case 2:
            (void)run(self, Q_SETUP, "LISTEN lt_events", 0, NULL);
            return;
        default:
            if (lt_outbox_delay_param(STALE_MS, stale, sizeof(stale)) < 0)
                return;
            const char *p[1] = {stale};
            (void)run(self, Q_SETUP, LT_OUTBOX_RECLAIM_SQL, 1, p);
            return;
        }
    }
    if (self->out_head) {
        stmt *s = self->out_head;
        (void)run(self, Q_OUTCOME, s->sql, s->n, (const char *const *)s->p);
        return;
    }
    if (self->term) {
        if (any_sending(self))
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
        const char *p[3] = {lg->drv.destination, self->instance, lg->batch};
        if (run(self, Q_CLAIM, LT_OUTBOX_CLAIM_SQL, 3, p))
            self->claiming = lg;
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
    for (size_t i = 0; i < self->nlegs; i++)
        self->legs[i]->need_claim = true;
    if (self->ticks % 2 == 0) {
        self->need_heartbeat = true;
        self->need_route = true;
        self->need_sync = true;
        if (self->setup_step >= 4)
            self->setup_step = 3; /* a reclaim pass */
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
        self->setup_step = 0; /* LISTEN and the upsert again on the next one */
        self->upsert_i = 0;
        self->claiming = NULL;
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
    lt_delivery_driver d = {0};
    leg *lg = NULL;
    if (self->cfg.portal.url[0]) {
        if (lt_delivery_portal_new(self->loop, &self->cfg, self->dialects, &d) < 0) {
            LT_ERROR("delivery: cannot set up the portal (portal.dialect %s unknown, or out of "
                     "memory)",
                     self->cfg.portal.dialect);
            return -1;
        }
        if (!(lg = leg_new(&d, true)) || add_leg(self, lg) < 0)
            goto oom;
        snprintf(lg->name, sizeof(lg->name), "%s", d.destination);
    }
    if (self->cfg.webhook.url[0]) {
        if (lt_delivery_webhook_new(self->loop, &self->cfg, &d) < 0 || !(lg = leg_new(&d, true)) ||
            add_leg(self, lg) < 0)
            goto oom;
        snprintf(lg->name, sizeof(lg->name), "%s", d.destination);
    }
    return 0;
oom:
    LT_ERROR("delivery: out of memory setting up its destinations");
    leg_free(lg);
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
    lt_actor_signal(pipe, 0);
    lt_loop_run(self.loop);
    LT_INFO("delivery stopped: %" PRIu64 " delivered, %" PRIu64 " retries, %" PRIu64
            " dead letters",
            self.delivered, self.retried, self.dead);
out:
    for (size_t i = 0; i < self.nlegs; i++)
        leg_free(self.legs[i]);
    free(self.legs);
    lt_pgconn_destroy(&self.pg);
    while (self.out_head) {
        stmt *s = self.out_head;
        self.out_head = s->next;
        stmt_free(s);
    }
    lt_loop_destroy(&self.loop);
    lt_config_free(&self.cfg);
}
