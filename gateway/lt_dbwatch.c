/* lt_dbwatch: database readiness as an actor (see lt_dbwatch.h).
 *
 * Why a separate actor: /readyz must answer within a second of the database
 * going away, whatever the writer is doing, and a front must never block on
 * libpq. This actor's whole job is to hold a connection, watch its socket
 * and publish what it sees. Migrations run here too, because "the database
 * came back" and "the schema may be behind" are the same event when several
 * gateways share one database. */
#include "lt_dbwatch.h"
#include "lt_actor.h"
#include "lt_db.h"
#include "lt_log.h"
#include "lt_loop.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define BACKOFF_MIN_MS 250
#define BACKOFF_MAX_MS 5000

typedef enum {
    DB_DOWN,       /* waiting for the reconnect timer */
    DB_CONNECTING, /* PQconnectPoll in progress */
    DB_UP,         /* connected; probes run */
} db_phase;

typedef struct {
    void *pipe; /* to our creator */
    void *pub;  /* LT_DBSTATE_ENDPOINT */
    lt_loop *loop;
    lt_config cfg;                   /* our copy, reloadable keys updated by $RELOAD */
    const char *conninfo;            /* borrowed */
    const lt_migrations *migrations; /* borrowed */
    PGconn *conn;                    /* NULL when DB_DOWN */
    int fd;                          /* PQsocket while watched, else -1 */
    db_phase phase;
    bool probe_in_flight;   /* a probe query was sent */
    int64_t probe_deadline; /* lt_loop_now_ms when a probe is late */
    int64_t backoff_ms;     /* next reconnect delay */
    int deadline_timer;     /* connect or probe timeout, 0 = none */
    int probe_timer;        /* periodic probe */
    bool ready;             /* last published state */
    lt_migrate_state mig;   /* last known migration state */
    char reason[512];       /* why not ready, for /readyz */
} dbwatch;

static int on_socket(lt_loop *loop, int fd, short revents, void *arg);
static int on_reconnect(lt_loop *loop, int timer_id, void *arg);

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

static void watch_fd(dbwatch *self, short events)
{
    int fd = self->conn ? PQsocket(self->conn) : -1;
    if (fd != self->fd) {
        if (self->fd >= 0)
            lt_loop_remove_fd(self->loop, self->fd);
        self->fd = -1;
        if (fd >= 0 && lt_loop_add_fd(self->loop, fd, events, on_socket, self) == 0)
            self->fd = fd;
    } else if (fd >= 0) {
        lt_loop_set_fd_events(self->loop, fd, events);
    }
}

static void cancel_deadline(dbwatch *self)
{
    lt_loop_cancel_timer(self->loop, self->deadline_timer);
    self->deadline_timer = 0;
}

static void schedule_reconnect(dbwatch *self)
{
    if (lt_loop_add_timer(self->loop, self->backoff_ms, 0, on_reconnect, self) < 0)
        LT_ERROR("timer table full; database reconnect not scheduled");
    self->backoff_ms =
        self->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : self->backoff_ms * 2;
}

/* Drops the connection and says why; the next attempt is on a timer. */
static void lose(dbwatch *self, const char *why)
{
    char reason[600];
    snprintf(reason, sizeof(reason), "database unreachable: %s", why);
    cancel_deadline(self);
    if (self->fd >= 0)
        lt_loop_remove_fd(self->loop, self->fd);
    self->fd = -1;
    PQfinish(self->conn);
    self->conn = NULL;
    self->phase = DB_DOWN;
    self->probe_in_flight = false;
    set_state(self, false, reason);
    schedule_reconnect(self);
}

static void lose_conn_error(dbwatch *self)
{
    char buf[512];
    lose(self, lt_db_error(self->conn, buf, sizeof(buf)));
}

/* Brings the schema up to date, then reports. Blocking on purpose: it runs
 * once per connection, before this gateway calls itself ready, and the only
 * wait is another gateway applying the same migrations. */
static void on_connected(dbwatch *self)
{
    char err[512];
    int applied = 0;
    self->phase = DB_UP;
    self->backoff_ms = BACKOFF_MIN_MS;
    cancel_deadline(self);
    watch_fd(self, ZMQ_POLLIN);
    if (lt_migrate_apply(self->conn, self->migrations, &applied, err, sizeof(err)) < 0 ||
        lt_migrate_check(self->conn, self->migrations, &self->mig, err, sizeof(err)) < 0) {
        if (PQstatus(self->conn) == CONNECTION_BAD) {
            lose(self, err);
            return;
        }
        set_state(self, false, err);
        return;
    }
    char desc[256];
    lt_migrate_describe(&self->mig, desc, sizeof(desc));
    set_state(self, self->mig.applied == self->mig.known, desc);
}

static int on_deadline(lt_loop *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    dbwatch *self = arg;
    self->deadline_timer = 0;
    lose(self,
         self->phase == DB_CONNECTING ? "connection attempt timed out" : "health probe timed out");
    return 0;
}

static void step_connect(dbwatch *self)
{
    switch (PQconnectPoll(self->conn)) {
    case PGRES_POLLING_READING:
        watch_fd(self, ZMQ_POLLIN);
        break;
    case PGRES_POLLING_WRITING:
        watch_fd(self, ZMQ_POLLOUT);
        break;
    case PGRES_POLLING_OK:
        on_connected(self);
        break;
    default:
        lose_conn_error(self);
        break;
    }
}

static int on_reconnect(lt_loop *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    dbwatch *self = arg;
    if (self->phase != DB_DOWN)
        return 0;
    self->conn = lt_db_connect_start(self->conninfo, self->cfg.database.connect_timeout_ms);
    if (!self->conn || PQstatus(self->conn) == CONNECTION_BAD) {
        if (self->conn)
            lose_conn_error(self);
        else
            lose(self, "out of memory");
        return 0;
    }
    self->phase = DB_CONNECTING;
    self->deadline_timer =
        lt_loop_add_timer(self->loop, self->cfg.database.connect_timeout_ms, 0, on_deadline, self);
    step_connect(self);
    return 0;
}

static void finish_probe(dbwatch *self)
{
    char err[512];
    PGresult *r;
    bool ok = true;
    while ((r = PQgetResult(self->conn))) {
        ok = ok && PQresultStatus(r) == PGRES_TUPLES_OK;
        PQclear(r);
    }
    self->probe_in_flight = false;
    cancel_deadline(self);
    if (!ok) {
        lose_conn_error(self);
        return;
    }
    /* The cheap probe says the server answers; the migration check says
     * whether another gateway moved the schema ahead or an operator rolled
     * something back. Both are readiness. */
    if (lt_migrate_check(self->conn, self->migrations, &self->mig, err, sizeof(err)) < 0) {
        if (PQstatus(self->conn) == CONNECTION_BAD)
            lose(self, err);
        else
            set_state(self, false, err);
        return;
    }
    if (self->mig.applied < self->mig.known) {
        on_connected(self); /* apply what is missing */
        return;
    }
    char desc[256];
    lt_migrate_describe(&self->mig, desc, sizeof(desc));
    set_state(self, true, desc);
}

static int on_socket(lt_loop *loop, int fd, short revents, void *arg)
{
    (void)loop;
    (void)fd;
    (void)revents;
    dbwatch *self = arg;
    if (self->phase == DB_CONNECTING) {
        step_connect(self);
        return 0;
    }
    if (self->phase != DB_UP)
        return 0;
    /* Readable while idle means the server spoke first: usually a FATAL
     * before it closes the connection (shutdown, terminate_backend). */
    if (!PQconsumeInput(self->conn) || PQstatus(self->conn) == CONNECTION_BAD) {
        lose_conn_error(self);
        return 0;
    }
    PGnotify *n;
    while ((n = PQnotifies(self->conn)))
        PQfreemem(n);
    if (self->probe_in_flight && !PQisBusy(self->conn))
        finish_probe(self);
    return 0;
}

static int on_probe(lt_loop *loop, int timer_id, void *arg)
{
    (void)timer_id;
    dbwatch *self = arg;
    if (self->phase != DB_UP) {
        publish(self); /* keep late subscribers informed */
        return 0;
    }
    if (self->probe_in_flight)
        return 0; /* the deadline timer handles a stuck probe */
    if (!PQsendQuery(self->conn, "SELECT 1")) {
        lose_conn_error(self);
        return 0;
    }
    self->probe_in_flight = true;
    int64_t limit = self->cfg.database.health_interval_ms * 3;
    self->deadline_timer =
        lt_loop_add_timer(loop, limit < 2000 ? 2000 : limit, 0, on_deadline, self);
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
    dbwatch self = {.pipe = pipe,
                    .conninfo = a->conninfo,
                    .migrations = a->migrations,
                    .fd = -1,
                    .backoff_ms = BACKOFF_MIN_MS};
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
    self.probe_timer = lt_loop_add_timer(self.loop, self.cfg.database.health_interval_ms,
                                         self.cfg.database.health_interval_ms, on_probe, &self);
    if (lt_loop_add_timer(self.loop, 0, 0, on_reconnect, &self) < 0 || self.probe_timer < 0) {
        lt_actor_signal(pipe, -1);
        goto out;
    }
    lt_actor_signal(pipe, 0);
    lt_loop_run(self.loop);
out:
    PQfinish(self.conn);
    if (self.pub)
        zmq_close(self.pub);
    lt_loop_destroy(&self.loop);
    lt_config_free(&self.cfg);
}
