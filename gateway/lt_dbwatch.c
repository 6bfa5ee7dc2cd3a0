/* lt_dbwatch: database readiness as an actor (see lt_dbwatch.h).
 *
 * Why a separate actor: /readyz must answer within a second of the database
 * going away, whatever the writer is doing, and a front must never block on
 * libpq. This actor's whole job is to hold a connection (lt_pgconn: it
 * connects without blocking, notices a lost connection from its socket and
 * reconnects with back-off) and publish what it sees. Migrations run here
 * too, because "the database came back" and "the schema may be behind" are
 * the same event when several gateways share one database. */
#include "lt_dbwatch.h"
#include "lt_actor.h"
#include "lt_log.h"
#include "lt_loop.h"
#include "lt_pgconn.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

typedef struct {
    void *pub; /* LT_DBSTATE_ENDPOINT */
    lt_loop *loop;
    lt_pgconn *pg;
    lt_config cfg;                   /* our copy, reloadable keys updated by $RELOAD */
    const lt_migrations *migrations; /* borrowed */
    int probe_timer;                 /* periodic probe */
    bool ready;                      /* last published state */
    lt_migrate_state mig;            /* last known migration state */
    char reason[512];                /* why not ready, for /readyz */
} dbwatch;

static void publish(dbwatch *self)
{
    json_t *j = json_pack("{s:b, s:s, s:i, s:i}", "ready", self->ready, "reason", self->reason,
                          "applied", self->mig.applied, "known", self->mig.known);
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    if (text)
        lt_msg_send(self->pub, "dbstate", text, NULL);
    free(text);
    json_decref(j);
}

static void set_state(dbwatch *self, bool ready, const char *reason)
{
    bool changed = ready != self->ready || strcmp(reason, self->reason) != 0;
    self->ready = ready;
    snprintf(self->reason, sizeof(self->reason), "%s", reason);
    if (changed) {
        if (ready)
            LT_INFO("database ready: %s", reason);
        else
            LT_WARN("database not ready: %s", reason);
    }
    publish(self);
}

/* A blocking migration call failed: a broken connection is dropped (and
 * reconnected); anything else leaves us connected but not ready. */
static void migrate_failed(dbwatch *self, PGconn *conn, const char *err)
{
    if (PQstatus(conn) == CONNECTION_BAD)
        lt_pgconn_drop(self->pg, err);
    else
        set_state(self, false, err);
}

/* Brings the schema up to date (when apply) or checks it, then reports.
 * Blocking on purpose: it runs once per connection and after each probe,
 * before this gateway calls itself ready, and the only long wait is another
 * gateway applying the same migrations. */
static void check_schema(dbwatch *self, bool apply)
{
    PGconn *conn = lt_pgconn_conn(self->pg);
    if (!conn)
        return;
    char err[512];
    int applied = 0;
    if ((apply && lt_migrate_apply(conn, self->migrations, &applied, err, sizeof(err)) < 0) ||
        lt_migrate_check(conn, self->migrations, &self->mig, err, sizeof(err)) < 0) {
        migrate_failed(self, conn, err);
        return;
    }
    /* Another gateway's migration, or an operator's rollback, moved the
     * schema since we connected: apply what is missing. */
    if (!apply && self->mig.applied < self->mig.known) {
        check_schema(self, true);
        return;
    }
    char desc[256];
    lt_migrate_describe(&self->mig, desc, sizeof(desc));
    set_state(self, self->mig.applied == self->mig.known, desc);
}

static void on_state(lt_pgconn *pc, bool up, const char *reason, void *arg)
{
    (void)pc;
    dbwatch *self = arg;
    if (up)
        check_schema(self, true);
    else
        set_state(self, false, reason);
}

/* The cheap probe says the server answers; the schema check after it says
 * whether another gateway moved the schema ahead. Both are readiness. A
 * lost connection or a late probe reaches on_state instead. */
static void on_probe_done(lt_pgconn *pc, PGresult *r, const char *err, void *arg)
{
    (void)pc;
    (void)err;
    dbwatch *self = arg;
    bool ok = r && PQresultStatus(r) == PGRES_TUPLES_OK;
    PQclear(r);
    if (ok)
        check_schema(self, false);
}

static int on_probe(lt_loop *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    dbwatch *self = arg;
    if (!lt_pgconn_idle(self->pg)) {
        publish(self); /* down or busy: keep late subscribers informed */
        return 0;
    }
    int64_t limit = self->cfg.database.health_interval_ms * 3;
    if (lt_pgconn_query(self->pg, "SELECT 1", 0, NULL, limit < 2000 ? 2000 : limit, on_probe_done,
                        self) < 0)
        publish(self);
    return 0;
}

static int on_pipe(lt_loop *loop, void *pipe, void *arg)
{
    dbwatch *self = arg;
    int64_t old = self->cfg.database.health_interval_ms;
    int rc = lt_actor_read_pipe(pipe, &self->cfg);
    if (rc < 0)
        return -1;
    if (rc > 0 && old != self->cfg.database.health_interval_ms) {
        lt_loop_cancel_timer(loop, self->probe_timer);
        self->probe_timer =
            lt_loop_add_timer(loop, 0, self->cfg.database.health_interval_ms, on_probe, self);
    }
    return 0;
}

void lt_dbwatch_actor(void *pipe, void *args)
{
    const lt_dbwatch_args *a = args;
    dbwatch self = {.migrations = a->migrations};
    snprintf(self.reason, sizeof(self.reason), "database not yet connected");
    self.mig.known = (int)lt_migrations_count(a->migrations);
    int linger = 0;
    self.loop = lt_loop_new();
    self.pub = zmq_socket(a->zmq_ctx, ZMQ_PUB);
    if (!self.loop || !self.pub || lt_config_copy(&self.cfg, a->cfg) < 0 ||
        zmq_setsockopt(self.pub, ZMQ_LINGER, &linger, sizeof(linger)) < 0 ||
        zmq_bind(self.pub, LT_DBSTATE_ENDPOINT) < 0 ||
        lt_loop_add_socket(self.loop, pipe, on_pipe, &self) < 0) {
        LT_ERROR("database watcher cannot start: %s", zmq_strerror(zmq_errno()));
        lt_actor_signal(pipe, -1);
        goto out;
    }
    lt_pgconn_callbacks cb = {.state = on_state, .arg = &self};
    self.pg =
        lt_pgconn_new(self.loop, a->conninfo, self.cfg.database.connect_timeout_ms, "db", &cb);
    self.probe_timer = lt_loop_add_timer(self.loop, self.cfg.database.health_interval_ms,
                                         self.cfg.database.health_interval_ms, on_probe, &self);
    if (!self.pg || self.probe_timer < 0) {
        lt_actor_signal(pipe, -1);
        goto out;
    }
    lt_actor_signal(pipe, 0);
    lt_loop_run(self.loop);
out:
    lt_pgconn_destroy(&self.pg);
    if (self.pub)
        zmq_close(self.pub);
    lt_loop_destroy(&self.loop);
    lt_config_free(&self.cfg);
}
