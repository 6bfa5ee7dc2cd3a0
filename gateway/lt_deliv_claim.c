/* lt_deliv_claim: the delivery actor's claims, on a connection of their
 * own (lt_delivery_int.h). With one connection, a claim waited for the
 * outcomes being recorded and the other way round, and the slots waited
 * for both (tests/bench/RESULTS.md, "Drain"); on a second one the next
 * claim runs while the actor's main connection records outcomes, routes or
 * beats the heart, and PostgreSQL can run both at once.
 *
 * The claim connection only claims: lt_claim_due for the next leg that
 * wants rows (round robin), one at a time, its rows going to that leg's
 * queue. It claims once the main connection has registered the instance
 * and finished its setup (so stale claims are taken back first), never
 * after $TERM. Concurrent claim and settle on two connections are the case
 * of two gateways sharing a backlog, which lt_claim_set already handles:
 * a dossier whose row is being recorded is locked, so it is skipped, and
 * claimed by a later round. */
#include "lt_delivery_int.h"
#include "lt_log.h"
#include "lt_outbox.h"

#include <stdio.h>

#define QUERY_TIMEOUT_MS 10000

static void on_claimed(lt_pgconn *pg, PGresult *r, const char *err, void *arg)
{
    (void)pg;
    lt_deliv *self = arg;
    lt_deliv_leg *lg = self->claiming;
    self->claiming = NULL;
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
    lt_deliv *self = arg;
    self->claim_async = r && PQresultStatus(r) == PGRES_COMMAND_OK;
    self->claim_setting = false;
    PQclear(r);
    lt_deliv_drive(self);
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

void lt_deliv_claim_next(lt_deliv *self)
{
    if (!self->pgc || !lt_pgconn_idle(self->pgc) || self->claiming || self->claim_setting ||
        self->term || !self->instance[0] || !self->ready)
        return;
    if (!self->claim_async) {
        /* As on the main connection: a lost claim is a resend under the
         * same key (see lt_delivery.c), so no commit waits for the disk. */
        if (lt_pgconn_query(self->pgc, "SET synchronous_commit = off", 0, NULL, QUERY_TIMEOUT_MS,
                            on_async, self) == 0)
            self->claim_setting = true;
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
    if (lt_pgconn_query(self->pgc, LT_OUTBOX_CLAIM_DUE_SQL, 4, p, QUERY_TIMEOUT_MS, on_claimed,
                        self) < 0)
        return;
    self->claims++;
    self->claiming = lg;
}

static void on_claim_state(lt_pgconn *pg, bool up, const char *reason, void *arg)
{
    (void)pg;
    lt_deliv *self = arg;
    if (!up) {
        LT_WARN("delivery: claim connection down (%s); claims wait until it is back", reason);
        self->claiming = NULL;
        self->claim_async = self->claim_setting = false;
    }
    lt_deliv_drive(self);
}

int lt_deliv_claim_start(lt_deliv *self, const char *conninfo)
{
    lt_pgconn_callbacks cb = {.state = on_claim_state, .arg = self};
    self->pgc = lt_pgconn_new(self->loop, conninfo, self->cfg.database.connect_timeout_ms,
                              "delivery claims", &cb);
    return self->pgc ? 0 : -1;
}
