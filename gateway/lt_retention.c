/* lt_retention: the purge job and the reload audit row (see lt_retention.h).
 *
 * Why a loop actor with a non-blocking connection and not a thread that
 * sleeps: it must stop at once on $TERM and take new keys on SIGHUP, like
 * every other actor. Why batches one after another with a pause between:
 * each batch is one short transaction (lt_retention_run), so the writer's
 * inserts into rejects and audit_log never wait behind a long delete; the
 * pause leaves the database to the work that matters while a backlog of
 * months drains. */
#include "lt_retention.h"
#include "lt_actor.h"
#include "lt_log.h"
#include "lt_loop.h"
#include "lt_pgconn.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIRST_DELAY_MS   2000  /* after start-up: the watcher applies migrations first */
#define BATCH_PAUSE_MS   50    /* between two full batches */
#define RETRY_MS         60000 /* after a failed run, at most */
#define QUERY_TIMEOUT_MS 30000
#define MAX_AUDITS       8 /* reload rows waiting for the connection */

typedef struct {
    lt_loop *loop;
    lt_config cfg;
    lt_pgconn *pg;
    int timer;                /* the next purge batch, 0 = none scheduled */
    bool due;                 /* a purge batch should run when the connection is free */
    bool running;             /* a query of ours is in flight */
    bool running_audit;       /* ...and it is audits[0] */
    char *audits[MAX_AUDITS]; /* config.reload details to write, oldest first */
    int naudits;
    int64_t purged_audit, purged; /* rows deleted in this run, for the log */
} retention;

static void step(retention *self);

static int on_timer(lt_loop *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    retention *self = arg;
    self->timer = 0;
    self->due = true;
    step(self);
    return 0;
}

static void schedule(retention *self, int64_t delay_ms)
{
    if (self->timer)
        lt_loop_cancel_timer(self->loop, self->timer);
    self->timer = 0;
    if (delay_ms <= 0 && self->cfg.retention.interval_ms == 0)
        return;
    self->timer = lt_loop_add_timer(self->loop, delay_ms, 0, on_timer, self);
    if (self->timer < 0) {
        LT_ERROR("retention: no free timer; the purge stops");
        self->timer = 0;
    }
}

static void on_result(lt_pgconn *pg, PGresult *r, const char *err, void *arg)
{
    (void)pg;
    retention *self = arg;
    self->running = false;
    bool ok = r && PQresultStatus(r) == PGRES_TUPLES_OK;
    if (self->running_audit) {
        self->running_audit = false;
        if (!ok)
            LT_WARN("retention: the config.reload audit row was not written: %s",
                    r ? PQresultErrorMessage(r) : err);
        free(self->audits[0]);
        memmove(self->audits, self->audits + 1, (size_t)(self->naudits - 1) * sizeof(char *));
        self->audits[--self->naudits] = NULL;
    } else if (!ok || PQntuples(r) != 1) {
        LT_WARN("retention: purge failed: %s", r ? PQresultErrorMessage(r) : err);
        int64_t iv = self->cfg.retention.interval_ms;
        schedule(self, iv < RETRY_MS ? iv : RETRY_MS);
    } else if (strcmp(PQgetvalue(r, 0, 0), "t") != 0) {
        LT_INFO("retention: another gateway is purging; skipping this run");
        schedule(self, self->cfg.retention.interval_ms);
    } else {
        int64_t a = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
        int64_t j = strtoll(PQgetvalue(r, 0, 2), NULL, 10);
        self->purged_audit += a;
        self->purged += j;
        if (a >= self->cfg.retention.batch || j >= self->cfg.retention.batch) {
            schedule(self, BATCH_PAUSE_MS); /* more to do: the next batch, after a breath */
        } else {
            if (self->purged_audit + self->purged > 0)
                LT_INFO("retention: purged %" PRId64 " audit row(s) and %" PRId64
                        " reject(s) older than %" PRId64 " day(s)",
                        self->purged_audit, self->purged, self->cfg.retention.days);
            self->purged_audit = self->purged = 0;
            schedule(self, self->cfg.retention.interval_ms);
        }
    }
    PQclear(r);
    step(self);
}

/* Sends what is waiting, reload rows first (they are few and say what
 * happened now), when the connection is free. */
static void step(retention *self)
{
    if (self->running || !lt_pgconn_up(self->pg))
        return;
    if (self->naudits > 0) {
        const char *p[1] = {self->audits[0]};
        if (lt_pgconn_query(self->pg,
                            "INSERT INTO audit_log (actor, action, detail)"
                            " VALUES ('gateway', 'config.reload', $1::jsonb) RETURNING id",
                            1, p, QUERY_TIMEOUT_MS, on_result, self) == 0) {
            self->running = self->running_audit = true;
        }
        return;
    }
    if (!self->due)
        return;
    char keep[32], batch[24];
    snprintf(keep, sizeof(keep), "%" PRId64 " days", self->cfg.retention.days);
    snprintf(batch, sizeof(batch), "%" PRId64, self->cfg.retention.batch);
    const char *p[2] = {keep, batch};
    if (lt_pgconn_query(self->pg,
                        "SELECT ran, audit_rows, reject_rows FROM lt_retention_run($1::interval,"
                        " $2::integer)",
                        2, p, QUERY_TIMEOUT_MS, on_result, self) == 0) {
        self->running = true;
        self->due = false;
    }
}

static void on_pg_state(lt_pgconn *pg, bool up, const char *reason, void *arg)
{
    (void)pg;
    (void)reason;
    (void)up; /* a query lost with the connection gets its result callback (NULL) */
    step(arg);
}

static int on_pipe(lt_loop *loop, void *pipe, void *arg)
{
    (void)loop;
    retention *self = arg;
    int more = 0, rc = 0;
    char *cmd = lt_msg_recv_str(pipe, &more);
    if (!cmd || strcmp(cmd, "$TERM") == 0) {
        rc = -1;
    } else if (strcmp(cmd, "$RELOAD") == 0 && more) {
        lt_config *next = lt_msg_recv_ptr(pipe);
        int64_t before = self->cfg.retention.interval_ms;
        if (next && lt_config_apply_reload(&self->cfg, next, NULL, 0) < 0)
            LT_ERROR("retention: reload ran out of memory; some keys kept their old value");
        if (next) {
            lt_config_free(next);
            free(next);
        }
        if (self->cfg.retention.interval_ms != before && !self->running)
            schedule(self, self->cfg.retention.interval_ms);
    } else if (strcmp(cmd, LT_RETENTION_AUDIT_CMD) == 0 && more) {
        char *detail = lt_msg_recv_str(pipe, &more);
        if (detail && self->naudits < MAX_AUDITS)
            self->audits[self->naudits++] = detail;
        else {
            LT_WARN("retention: too many config.reload audit rows waiting; one is dropped");
            free(detail);
        }
        step(self);
    }
    lt_msg_drain(pipe);
    free(cmd);
    return rc;
}

void lt_retention_actor(void *pipe, void *args)
{
    const lt_retention_args *a = args;
    retention *self = calloc(1, sizeof(*self));
    if (!self) {
        lt_actor_signal(pipe, -1);
        return;
    }
    lt_pgconn_callbacks cb = {.state = on_pg_state, .arg = self};
    self->loop = lt_loop_new();
    if (!self->loop || lt_config_copy(&self->cfg, a->cfg) < 0 ||
        !(self->pg = lt_pgconn_new(self->loop, a->conninfo, self->cfg.database.connect_timeout_ms,
                                   "retention", &cb)) ||
        lt_loop_add_socket(self->loop, pipe, on_pipe, self) < 0) {
        LT_ERROR("retention cannot start");
        lt_actor_signal(pipe, -1);
        goto out;
    }
    if (self->cfg.retention.interval_ms > 0)
        schedule(self, FIRST_DELAY_MS);
    lt_actor_signal(pipe, 0);
    lt_loop_run(self->loop);
out:
    lt_pgconn_destroy(&self->pg);
    lt_loop_destroy(&self->loop);
    lt_config_free(&self->cfg);
    for (int i = 0; i < self->naudits; i++)
        free(self->audits[i]);
    free(self);
}
