/* lt_deliv_claim: the delivery actor's claims, on connections of their
 * own (lt_delivery_int.h). With one connection, a claim waited for the
 * outcomes being recorded and the other way round, and the slots waited
 * for both (tests/bench/RESULTS.md, "Drain"); on another one the next
 * claim runs while the actor's main connection records outcomes, routes or
 * beats the heart, and PostgreSQL can run both at once. LT_DELIV_CLAIMERS
 * claim connections (one today, see lt_delivery_int.h) claim at once, for
 * the same leg or others.
 *
 * The claim connections only claim: lt_claim_due for the next leg that
 * wants rows (round robin), one statement at a time each, the rows going
 * to that leg's queue. They claim once the main connection has registered
 * the instance and finished its setup (so stale claims are taken back
 * first), never after $TERM. Concurrent claims, and a claim beside a
 * settle, are the case of gateways sharing a backlog, which lt_claim_set
 * already handles: a dossier another claim or a settle holds is locked,
 * so it is skipped and claimed by a later round; each dossier still has at
 * most one row in flight. */
#include "lt_delivery_int.h"
#include "lt_log.h"
#include "lt_outbox.h"

#include <stdio.h>

#define QUERY_TIMEOUT_MS 10000

/* The claim of c is over: its rows are no longer asked for. */
static lt_deliv_leg *claim_end(lt_deliv_claimer *c)
{
    lt_deliv_leg *lg = c->leg;
    if (lg)
        lg->asked -= c->want <= lg->asked ? c->want : lg->asked;
    c->leg = NULL;
    c->want = 0;
    return lg;
}

static void on_claimed(lt_pgconn *pg, PGresult *r, const char *err, void *arg)
{
    (void)pg;
    lt_deliv_claimer *c = arg;
    lt_deliv *self = c->owner;
    lt_deliv_leg *lg = claim_end(c);
    ExecStatusType es = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (!r) {
        LT_DEBUG("delivery: claim lost: %s", err ? err : "");
    } else if (es != PGRES_TUPLES_OK) {
        LT_WARN("delivery: claim failed: %s", PQresultErrorMessage(r));
        if (lg)
            lg->need_claim = false; /* the tick asks again */
    } else if (lg) {
        lt_deliv_leg_claimed(lg, r); /* takes r */
        r = NULL;
    }
    PQclear(r);
    lt_deliv_drive(self);
}

static void on_async(lt_pgconn *pg, PGresult *r, const char *err, void *arg)
{
    (void)pg;
    (void)err;
    lt_deliv_claimer *c = arg;
    c->async = r && PQresultStatus(r) == PGRES_COMMAND_OK;
    c->setting = false;
    PQclear(r);
    lt_deliv_drive(c->owner);
}

/* The next leg that may claim, round robin so that no leg starves, and
 * how many rows it wants. */
static lt_deliv_leg *next_claimer(lt_deliv *self, size_t *ret_want)
{
    for (size_t k = 0; k < self->nlegs; k++) {
        size_t i = (self->next_claim + k) % self->nlegs;
        lt_deliv_leg *lg = self->legs[i];
        size_t want;
        if (lg->need_claim && lg->npend < LT_DELIV_PEND_MAX &&
            (want = lt_deliv_claim_want(lg)) > 0) {
            self->next_claim = i + 1;
            *ret_want = want;
            return lg;
        }
    }
    return NULL;
}

/* Sends the next claim on c if it is free and a leg wants rows. */
static void claim_on(lt_deliv_claimer *c)
{
    lt_deliv *self = c->owner;
    if (!c->pg || !lt_pgconn_idle(c->pg) || c->leg || c->setting || self->term ||
        !self->instance[0] || !self->ready)
        return;
    if (!c->async) {
        /* As on the main connection: a lost claim is a resend under the
         * same key (see lt_delivery.c), so no commit waits for the disk. */
        if (lt_pgconn_query(c->pg, "SET synchronous_commit = off", 0, NULL, QUERY_TIMEOUT_MS,
                            on_async, c) == 0)
            c->setting = true;
        return;
    }
    size_t want = 0;
    lt_deliv_leg *lg = next_claimer(self, &want);
    if (!lg)
        return;
    char max[24], probe[48];
    snprintf(max, sizeof(max), "%zu", want);
    if (lt_outbox_delay_param(self->cfg.delivery.probe_interval_ms, probe, sizeof(probe)) < 0)
        return;
    const char *p[4] = {lg->name, self->instance, max, probe};
    if (lt_pgconn_query(c->pg, LT_OUTBOX_CLAIM_DUE_SQL, 4, p, QUERY_TIMEOUT_MS, on_claimed, c) < 0)
        return;
    self->claims++;
    c->leg = lg;
    c->want = want;
    lg->asked += want;
}

void lt_deliv_claim_next(lt_deliv *self)
{
    for (size_t i = 0; i < LT_DELIV_CLAIMERS; i++)
        claim_on(&self->claimers[i]);
}

bool lt_deliv_claiming(const lt_deliv *self, const lt_deliv_leg *lg)
{
    for (size_t i = 0; i < LT_DELIV_CLAIMERS; i++)
        if (self->claimers[i].leg && (!lg || self->claimers[i].leg == lg))
            return true;
    return false;
}

static void on_claim_state(lt_pgconn *pg, bool up, const char *reason, void *arg)
{
    (void)pg;
    lt_deliv_claimer *c = arg;
    if (!up) {
        LT_WARN("delivery: claim connection down (%s); its claims wait until it is back", reason);
        claim_end(c);
        c->async = c->setting = false;
    }
    lt_deliv_drive(c->owner);
}

int lt_deliv_claim_start(lt_deliv *self, const char *conninfo)
{
    for (size_t i = 0; i < LT_DELIV_CLAIMERS; i++) {
        lt_deliv_claimer *c = &self->claimers[i];
        char name[32];
        snprintf(name, sizeof(name), "delivery claims %zu", i + 1);
        *c = (lt_deliv_claimer){.owner = self};
        lt_pgconn_callbacks cb = {.state = on_claim_state, .arg = c};
        c->pg =
            lt_pgconn_new(self->loop, conninfo, self->cfg.database.connect_timeout_ms, name, &cb);
        if (!c->pg)
            return -1;
    }
    return 0;
}

void lt_deliv_claim_stop(lt_deliv *self)
{
    /* The legs may be freed already: only forget them. */
    for (size_t i = 0; i < LT_DELIV_CLAIMERS; i++) {
        self->claimers[i].leg = NULL;
        lt_pgconn_destroy(&self->claimers[i].pg);
    }
}
