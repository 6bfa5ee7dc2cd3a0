/* lt_delivery: the delivery actor (see lt_delivery.h). One thread, one
 * loop, one non-blocking connection that runs one statement at a time
 * (claims run beside it on connections of their own, lt_deliv_claim.c), and
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
#include "lt_delivery_int.h"
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
/* After $TERM, how long the sends in flight and their outcomes may take. */
#define TERM_GRACE_MS 10000
#define ROUTE_MAX     "1000"
/* Outbox statistics are refreshed once a burst of this many routed events
 * has been routed: the claim's "delivered here before?" lookup is planned
 * from them, and with statistics from before a backlog of 100,000 rows the
 * planner walked every delivered row of the destination per claimed row
 * until autovacuum's next ANALYZE (tests/bench/RESULTS.md, Drain). */
#define ANALYZE_AFTER 20000

typedef enum {
    Q_NONE,
    Q_SETUP,
    Q_SETTLE,
    Q_HEARTBEAT,
    Q_ROUTE,
    Q_SYNC,
    Q_LIST,
    Q_ANALYZE,
    Q_UNCLAIM,
    Q_LEAVE
} query;

/* Setup steps, in order; a reconnection starts again at S_UPSERT. */
enum { S_REGISTER, S_UPSERT, S_LISTEN, S_ASYNC, S_RECLAIM, S_DONE };

/* lt_settle's answer: drop what was recorded, say what changed. */
static void settled(lt_deliv *self, lt_deliv_leg *lg, PGresult *r, bool ok)
{
    lt_deliv_leg_settled(lg);
    if (!ok || PQntuples(r) != 1 || PQnfields(r) != 7)
        return;
    const char *expired = PQgetvalue(r, 0, 3), *was = PQgetvalue(r, 0, 4),
               *now = PQgetvalue(r, 0, 5), *failures = PQgetvalue(r, 0, 6);
    /* Every time, not only on a change: another gateway may have opened it. */
    lt_deliv_leg_circuit(lg, strcmp(now, "closed") != 0);
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

/* lt_unclaim's answer: the rows given back are no longer ours. */
static void unclaimed(lt_deliv *self, lt_deliv_leg *lg, size_t n, PGresult *r, bool ok)
{
    if (!ok || PQntuples(r) != 1) {
        /* Kept: the next round tries again; when stopping, leaving the
         * instance row releases them too (claimed_by NULL). */
        if (self->term)
            lg->ngiveback = 0;
        return;
    }
    memmove(lg->giveback, lg->giveback + n, (lg->ngiveback - n) * sizeof(*lg->giveback));
    lg->ngiveback -= n;
    LT_DEBUG("delivery %s: %s queued row(s) given back unsent", lg->name, PQgetvalue(r, 0, 0));
}

static void on_result(lt_pgconn *pg, PGresult *r, const char *err, void *arg)
{
    (void)pg;
    lt_deliv *self = arg;
    query q = self->q;
    self->q = Q_NONE;
    lt_deliv_leg *settling = self->settling, *unclaiming = self->unclaiming;
    self->settling = self->unclaiming = NULL;
    ExecStatusType es = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    bool ok = es == PGRES_TUPLES_OK || es == PGRES_COMMAND_OK;
    if (!r) {
        /* Connection lost: lt_deliv_drive() sets it up again once it is back; the
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
            break; /* lt_deliv_drive() moves on when every fixed leg is upserted */
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
            lt_deliv_apply_listing(self, r);
        break;
    case Q_UNCLAIM:
        if (unclaiming)
            unclaimed(self, unclaiming, self->nunclaiming, r, ok);
        break;
    case Q_LEAVE:
        self->left = true;
        break;
    default:
        break;
    }
next:
    PQclear(r);
    lt_deliv_drive(self);
}

static void drive_main(lt_deliv *self);

static bool run(lt_deliv *self, query q, const char *sql, int n, const char *const *p)
{
    if (lt_pgconn_query(self->pg, sql, n, p, QUERY_TIMEOUT_MS, on_result, self) < 0)
        return false;
    self->q = q;
    return true;
}

/* Records the waiting outcomes of the next leg that has some. */
static bool settle_next(lt_deliv *self)
{
    for (size_t k = 0; k < self->nlegs; k++) {
        size_t i = (self->next_settle + k) % self->nlegs;
        lt_deliv_leg *lg = self->legs[i];
        if (!lt_deliv_settle_ready(lg))
            continue;
        self->next_settle = i + 1;
        char *js = lt_deliv_outcomes_json(lg);
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
            lg->lingered = false; /* the next outcomes wait their own while */
            self->settling = lg;
        }
        return sent;
    }
    return false;
}

/* Gives back the queued rows of the next leg whose circuit opened. */
static bool unclaim_next(lt_deliv *self)
{
    for (size_t i = 0; i < self->nlegs; i++) {
        lt_deliv_leg *lg = self->legs[i];
        if (!lg->ngiveback)
            continue;
        char *ids = lt_outbox_ids_param(lg->giveback, lg->ngiveback);
        if (!ids)
            return false; /* out of memory: the next event tries again */
        const char *p[3] = {lg->name, self->instance, ids};
        bool sent = run(self, Q_UNCLAIM, "SELECT lt_unclaim($1, $2::bigint, $3::bigint[])", 3, p);
        free(ids);
        if (sent) {
            self->unclaiming = lg;
            self->nunclaiming = lg->ngiveback;
        }
        return sent;
    }
    return false;
}

void lt_deliv_drive(lt_deliv *self)
{
    lt_deliv_claim_next(self);
    drive_main(self);
    lt_deliv_claim_next(self); /* drive_main may have made the instance ready */
}

static void drive_main(lt_deliv *self)
{
    if (self->q != Q_NONE || !self->pg || !lt_pgconn_up(self->pg)) {
        if (self->term && !lt_deliv_any_sending(self) && (!self->pg || !lt_pgconn_up(self->pg)))
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
            const lt_deliv_leg *lg = self->legs[self->upsert_i];
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
    self->ready = true; /* registered, stale claims taken back: claims may run */
    lt_deliv_claim_next(self);
    if (settle_next(self) || unclaim_next(self))
        return;
    if (self->term) {
        if (lt_deliv_any_sending(self) || lt_deliv_any_pending(self) ||
            lt_deliv_claiming(self, NULL))
            return; /* a claim running would be ours after we left */
        /* Rows queued and never sent go back as they were (no attempt, no
         * "reclaimed" error for the next start to write on them). */
        for (size_t i = 0; i < self->nlegs; i++)
            lt_deliv_leg_release(self->legs[i]);
        if (unclaim_next(self))
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
}

/* The heartbeat's answer is not needed; a reclaim follows it. */
static int on_tick(lt_loop *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    lt_deliv *self = arg;
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
    lt_deliv_drive(self);
    return 0;
}

static void on_pg_state(lt_pgconn *pg, bool up, const char *reason, void *arg)
{
    (void)pg;
    lt_deliv *self = arg;
    if (!up) {
        LT_WARN("delivery: database connection down (%s); delivery pauses until it is back",
                reason);
        self->setup_step = S_REGISTER; /* LISTEN and the upsert again on the next one */
        self->upsert_i = 0;
        self->unclaiming = NULL;
        self->ready = false;
        if (self->settling)
            self->settling->nsettling = 0;
        self->settling = NULL;
    }
    lt_deliv_drive(self);
}

static void on_pg_notify(lt_pgconn *pg, const char *channel, const char *payload, void *arg)
{
    (void)pg;
    (void)channel;
    (void)payload;
    lt_deliv *self = arg;
    self->need_route = true;
    lt_deliv_drive(self);
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
    lt_deliv *self = arg;
    if (lt_actor_read_pipe(pipe, &self->cfg) >= 0)
        return 0;
    self->term = true;
    if (lt_loop_add_timer(loop, TERM_GRACE_MS, 0, on_term_timer, self) < 0)
        return -1;
    lt_deliv_drive(self);
    return 0;
}

/* The legs configuration asks for: the portal and the webhook. */
static int add_fixed_legs(lt_deliv *self)
{
    lt_deliv_leg *lg = NULL;
    if (self->cfg.portal.url[0]) {
        if (!(lg = lt_deliv_leg_add(self, "portal", "portal", true)))
            goto oom;
        snprintf(lg->url, sizeof(lg->url), "%s", self->cfg.portal.url);
        snprintf(lg->dialect, sizeof(lg->dialect), "%s", self->cfg.portal.dialect);
        if (lt_deliv_leg_setup(self, lg) < 0) {
            LT_ERROR("delivery: cannot set up the portal (portal.dialect %s unknown, or out of "
                     "memory)",
                     self->cfg.portal.dialect);
            return -1;
        }
    }
    if (self->cfg.webhook.url[0]) {
        if (!(lg = lt_deliv_leg_add(self, "webhook", "webhook", true)))
            goto oom;
        snprintf(lg->url, sizeof(lg->url), "%s", self->cfg.webhook.url);
        if (lt_deliv_leg_setup(self, lg) < 0)
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
    lt_deliv self = {0};
    lt_pgconn_callbacks cb = {.state = on_pg_state, .notify = on_pg_notify, .arg = &self};
    self.dialects = a->dialects;
    self.loop = lt_loop_new();
    if (!self.loop || lt_config_copy(&self.cfg, a->cfg) < 0 || sodium_init() < 0 ||
        add_fixed_legs(&self) < 0 ||
        !(self.pg = lt_pgconn_new(self.loop, a->conninfo, self.cfg.database.connect_timeout_ms,
                                  "delivery", &cb)) ||
        lt_deliv_claim_start(&self, a->conninfo) < 0 ||
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
            " outcomes in %" PRIu64 " statements; a slot found nothing queued %" PRIu64 " time(s)",
            self.delivered, self.retried, self.dead, self.claimed, self.claims, self.settled,
            self.settles, self.starved);
out:
    for (size_t i = 0; i < self.nlegs; i++)
        lt_deliv_leg_free(self.legs[i]);
    free(self.legs);
    lt_deliv_claim_stop(&self);
    lt_pgconn_destroy(&self.pg);
    lt_loop_destroy(&self.loop);
    lt_config_free(&self.cfg);
}
