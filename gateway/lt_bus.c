/* lt_bus: stored events out on ZeroMQ (see lt_bus.h).
 *
 * Why the database drives it and not the writers: an event exists once it
 * is committed, and several gateways (and `lienthong catalog sync` in
 * another process) write to one database. Reading "seq > last published"
 * after each NOTIFY makes every gateway publish the same gap-free stream
 * whoever wrote it. Writers take numbers from event_counter under its row
 * lock, held until commit, so sequences commit in order and a reader never
 * sees seq N+1 without N: the stream has no gaps to fill. The timer poll
 * covers a notification lost with a connection.
 *
 * One connection serves publishing and replay, one query at a time;
 * publishing goes first so the live stream never waits behind a replay. */
#include "lt_bus.h"
#include "lt_actor.h"
#include "lt_catalog.h"
#include "lt_log.h"
#include "lt_loop.h"
#include "lt_mask.h"
#include "lt_pgconn.h"
#include "lt_replay.h"
#include "lt_zap.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define PAGE_ROWS        1000
#define SAFETY_POLL_MS   2000
#define QUERY_TIMEOUT_MS 30000
/* Per subscriber: a catalog sync publishes a few thousand events at once;
 * beyond this a slow subscriber loses messages, sees the gap in the
 * sequence and replays. */
#define PUB_HWM 20000
/* How long a NOTIFY waits for the writer's own copy of the events before
 * the bus reads them from the database instead. */
#define LOCAL_GRACE_MS 20
/* Local batches kept while the bus is behind; beyond, the oldest go and the
 * database provides. */
#define LOCAL_MAX  256
#define NOTICE_HWM 10000
#define REPLAY_HWM 1000

typedef enum { Q_NONE, Q_LISTEN, Q_HEAD, Q_PAGE } bus_query;

typedef struct {
    void *pipe;    /* to our creator */
    void *pub;     /* zmq.events */
    void *router;  /* zmq.replay */
    void *notices; /* LT_BUS_NOTICE_ENDPOINT, PULL */
    lt_loop *loop;
    lt_config cfg; /* our copy */
    lt_pgconn *pg; /* publishing and replay queries */
    lt_replay *replay;
    lt_zap_revoked *revoked; /* CURVE on replay: keys replaced since start; NULL = plain */
    bool listening;          /* LISTEN done on the current connection */
    bool started;            /* last is known (read once, at the first connection) */
    int64_t last;            /* last sequence published */
    bool poll;               /* a read of new events is wanted */
    bool gap_logged;         /* a missing sequence was reported */
    bus_query q;             /* which of our queries runs */
    int sched_timer;         /* pending scheduler run, 0 = none */
    void *local;             /* LT_BUS_LOCAL_ENDPOINT, PULL */
    lt_bus_local *local_head, *local_tail; /* this process's committed events, in order */
    size_t local_count;
    int64_t notified; /* highest sequence a NOTIFY announced */
    int grace_timer;  /* pending database read after a NOTIFY, 0 = none */
} bus;

static void kick(void *arg);

/* ---- public view ---------------------------------------------------------- */

void lt_bus_strip_personal(json_t *value)
{
    if (json_is_object(value)) {
        const char *key;
        json_t *v;
        void *tmp;
        json_object_foreach_safe(value, tmp, key, v)
        {
            if (lt_mask_is_personal_field(key))
                json_object_del(value, key);
            else
                lt_bus_strip_personal(v);
        }
    } else if (json_is_array(value)) {
        for (size_t i = 0; i < json_array_size(value); i++)
            lt_bus_strip_personal(json_array_get(value, i));
    }
}

char *lt_bus_event_text(const char *kind, const char *record)
{
    json_t *j = json_loads(record, 0, NULL);
    if (!j)
        return NULL;
    /* Catalog records hold no personal data; dossier records do. */
    if (strcmp(kind, "catalog") != 0)
        lt_bus_strip_personal(j);
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return text;
}

/* ---- notices -------------------------------------------------------------- */

void *lt_bus_notice_socket(void *zmq_ctx)
{
    void *s = zmq_socket(zmq_ctx, ZMQ_PUSH);
    int linger = 0, hwm = NOTICE_HWM;
    if (!s)
        return NULL;
    if (zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger)) < 0 ||
        zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof(hwm)) < 0 ||
        zmq_connect(s, LT_BUS_NOTICE_ENDPOINT) < 0) {
        zmq_close(s);
        return NULL;
    }
    return s;
}

int lt_bus_notice_send(void *socket, const char *destination, const char *json)
{
    char topic[256];
    if (!destination || !destination[0] || !json) {
        errno = EINVAL;
        return -1;
    }
    int n = snprintf(topic, sizeof(topic), "delivery.%s", destination);
    if (n < 0 || (size_t)n >= sizeof(topic)) {
        errno = EINVAL;
        return -1;
    }
    if (zmq_send(socket, topic, (size_t)n, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
        return -1;
    return zmq_send(socket, json, strlen(json), 0) < 0 ? -1 : 0;
}

static int on_notice(lt_loop *loop, void *sock, void *arg)
{
    (void)loop;
    bus *self = arg;
    int more = 0;
    char *topic = lt_msg_recv_str(sock, &more);
    char *json = topic && more ? lt_msg_recv_str(sock, &more) : NULL;
    if (json && strncmp(topic, "delivery.", strlen("delivery.")) == 0)
        lt_msg_send(self->pub, topic, "", json, NULL); /* transient: empty sequence */
    else
        LT_WARN("bus: a malformed notice was dropped");
    free(topic);
    free(json);
    lt_msg_drain(sock);
    return 0;
}

/* ---- events committed by this process ---------------------------------- */

lt_bus_local *lt_bus_local_new(int64_t first, size_t n)
{
    lt_bus_local *b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    b->first = first;
    b->n = n;
    b->topics = calloc(n ? n : 1, sizeof(char *));
    b->texts = calloc(n ? n : 1, sizeof(char *));
    if (!b->topics || !b->texts)
        lt_bus_local_free(&b);
    return b;
}

void lt_bus_local_free(lt_bus_local **self_p)
{
    if (!self_p || !*self_p)
        return;
    lt_bus_local *b = *self_p;
    for (size_t i = 0; i < b->n; i++) {
        if (b->topics)
            free(b->topics[i]);
        if (b->texts)
            free(b->texts[i]);
    }
    free(b->topics);
    free(b->texts);
    free(b);
    *self_p = NULL;
}

void *lt_bus_local_socket(void *zmq_ctx)
{
    void *s = zmq_socket(zmq_ctx, ZMQ_PUSH);
    /* Linger: a batch sent just before the writer stops must reach the bus
     * (which stops after it and frees what it received), not vanish with
     * the socket and leak. */
    int linger = 2000, hwm = LOCAL_MAX;
    if (!s)
        return NULL;
    if (zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger)) < 0 ||
        zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof(hwm)) < 0 ||
        zmq_connect(s, LT_BUS_LOCAL_ENDPOINT) < 0) {
        zmq_close(s);
        return NULL;
    }
    return s;
}

int lt_bus_local_send(void *socket, lt_bus_local *b)
{
    if (!socket || !b || zmq_send(socket, &b, sizeof(b), ZMQ_DONTWAIT) < 0) {
        lt_bus_local_free(&b);
        return -1;
    }
    return 0;
}

static void local_pop(bus *self)
{
    lt_bus_local *b = self->local_head;
    self->local_head = b->next;
    if (!self->local_head)
        self->local_tail = NULL;
    self->local_count--;
    lt_bus_local_free(&b);
}

/* Publishes what the local batches hold from the next sequence on, and
 * drops what was already published (from the database). Stops at a batch
 * that starts beyond the next sequence: the events in between are another
 * process's, and the database read brings them. */
static void publish_local(bus *self)
{
    while (self->local_head && self->started) {
        lt_bus_local *b = self->local_head;
        if (b->first + (int64_t)b->n - 1 <= self->last) {
            local_pop(self);
            continue;
        }
        if (b->first > self->last + 1)
            return;
        for (size_t i = (size_t)(self->last + 1 - b->first); i < b->n; i++) {
            char seq[24];
            snprintf(seq, sizeof(seq), "%" PRId64, b->first + (int64_t)i);
            if (lt_msg_send(self->pub, b->topics[i], seq, b->texts[i], NULL) < 0) {
                LT_ERROR("bus: publishing failed: %s", zmq_strerror(zmq_errno()));
                return;
            }
            self->last = b->first + (int64_t)i;
        }
        local_pop(self);
    }
}

static int on_local(lt_loop *loop, void *sock, void *arg)
{
    (void)loop;
    bus *self = arg;
    lt_bus_local *b = NULL;
    while (zmq_recv(sock, &b, sizeof(b), ZMQ_DONTWAIT) == (int)sizeof(b)) {
        if (!b)
            continue;
        if (self->local_count == LOCAL_MAX)
            local_pop(self);
        if (self->local_tail)
            self->local_tail->next = b;
        else
            self->local_head = b;
        self->local_tail = b;
        self->local_count++;
    }
    publish_local(self);
    return 0;
}

/* ---- publishing ----------------------------------------------------------- */

/* Publishes rows in order while each is the next sequence. Returns false
 * when it had to stop (a gap, or no memory), to be retried later. */
static bool publish_rows(bus *self, const PGresult *r)
{
    for (int i = 0; i < PQntuples(r); i++) {
        int64_t seq = strtoll(PQgetvalue(r, i, 0), NULL, 10);
        if (seq <= self->last)
            continue;
        if (seq != self->last + 1) {
            /* Cannot happen while writers use event_counter; if it does, a
             * subscriber must not be told that the missing ones never were. */
            if (!self->gap_logged)
                LT_ERROR("bus: stored event %" PRId64 " is missing (next found: %" PRId64
                         "); publishing waits for it",
                         self->last + 1, seq);
            self->gap_logged = true;
            return false;
        }
        char *json = lt_bus_event_text(PQgetvalue(r, i, 2), PQgetvalue(r, i, 3));
        if (!json) {
            LT_ERROR("bus: event %" PRId64 " cannot be encoded; publishing waits", seq);
            return false;
        }
        if (lt_msg_send(self->pub, PQgetvalue(r, i, 1), PQgetvalue(r, i, 0), json, NULL) < 0) {
            free(json);
            LT_ERROR("bus: publishing failed: %s", zmq_strerror(zmq_errno()));
            return false;
        }
        free(json);
        self->last = seq;
        self->gap_logged = false;
    }
    return true;
}

static void on_result(lt_pgconn *pg, PGresult *r, const char *err, void *arg)
{
    (void)pg;
    bus *self = arg;
    bus_query q = self->q;
    self->q = Q_NONE;
    if (!r) {
        kick(self); /* the connection is gone; the state callback follows */
        return;
    }
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        LT_WARN("bus: query failed: %s", err ? err : PQresultErrorMessage(r));
        PQclear(r);
        return; /* retried by the safety poll */
    }
    if (q == Q_LISTEN) {
        self->listening = true;
    } else if (q == Q_HEAD) {
        self->last = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        self->started = true;
        LT_INFO("bus: publishing events after sequence %" PRId64, self->last);
    } else if (q == Q_PAGE) {
        /* A full page means more may follow at once. */
        if (publish_rows(self, r) && PQntuples(r) == PAGE_ROWS)
            self->poll = true;
        publish_local(self);
    }
    PQclear(r);
    kick(self);
}

static bool start_pub_query(bus *self)
{
    int rc;
    if (!self->listening) {
        self->q = Q_LISTEN;
        rc = lt_pgconn_query(self->pg, "LISTEN " LT_CATALOG_NOTIFY_CHANNEL, 0, NULL,
                             QUERY_TIMEOUT_MS, on_result, self);
    } else if (!self->started) {
        self->q = Q_HEAD;
        rc = lt_pgconn_query(self->pg, "SELECT last_seq FROM event_counter", 0, NULL,
                             QUERY_TIMEOUT_MS, on_result, self);
    } else if (self->poll) {
        char after[24];
        snprintf(after, sizeof(after), "%" PRId64, self->last);
        const char *p[1] = {after};
        self->q = Q_PAGE;
        self->poll = false;
        rc = lt_pgconn_query(self->pg,
                             "SELECT seq, topic, kind, record::text FROM dossier_events"
                             " WHERE seq > $1 ORDER BY seq LIMIT 1000",
                             1, p, QUERY_TIMEOUT_MS, on_result, self);
    } else {
        return false;
    }
    if (rc < 0)
        self->q = Q_NONE;
    return rc == 0;
}

static int on_schedule(lt_loop *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    bus *self = arg;
    self->sched_timer = 0;
    if (lt_pgconn_idle(self->pg))
        (void)start_pub_query(self);
    (void)lt_replay_step(self->replay);
    return 0;
}

/* Runs the scheduler from the loop, never from inside a callback. */
static void kick(void *arg)
{
    bus *self = arg;
    if (self->sched_timer)
        return;
    self->sched_timer = lt_loop_add_timer(self->loop, 0, 0, on_schedule, self);
    if (self->sched_timer < 0)
        self->sched_timer = 0;
}

static void on_pg_state(lt_pgconn *pg, bool up, const char *reason, void *arg)
{
    (void)pg;
    bus *self = arg;
    self->listening = false;
    if (up) {
        self->poll = true; /* catch up on what was committed while we were away */
        kick(self);
    } else {
        lt_replay_abort_all(self->replay, "the database became unavailable; try again later");
        (void)reason;
    }
}

static int on_grace(lt_loop *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    bus *self = arg;
    self->grace_timer = 0;
    publish_local(self);
    if (self->last < self->notified) {
        self->poll = true;
        kick(self);
    }
    return 0;
}

static void on_pg_notify(lt_pgconn *pg, const char *channel, const char *payload, void *arg)
{
    (void)pg;
    (void)channel;
    bus *self = arg;
    /* The payload is the last sequence committed. Our own writer's events
     * arrive by inproc about when the NOTIFY does: give them a moment,
     * then read from the database whatever is still missing. */
    int64_t seq = payload ? strtoll(payload, NULL, 10) : 0;
    if (seq <= 0 || !self->started) {
        self->poll = true;
        kick(self);
        return;
    }
    if (seq > self->notified)
        self->notified = seq;
    publish_local(self);
    if (self->last >= self->notified || self->grace_timer)
        return;
    self->grace_timer = lt_loop_add_timer(self->loop, LOCAL_GRACE_MS, 0, on_grace, self);
    if (self->grace_timer < 0) {
        self->grace_timer = 0;
        self->poll = true;
        kick(self);
    }
}

static int on_safety_poll(lt_loop *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    bus *self = arg;
    self->poll = true;
    kick(self);
    return 0;
}

/* ---- the actor ------------------------------------------------------------ */

static int on_replay(lt_loop *loop, void *sock, void *arg)
{
    (void)loop;
    (void)sock;
    bus *self = arg;
    lt_replay_on_request(self->replay);
    return 0;
}

static int on_pipe(lt_loop *loop, void *pipe, void *arg)
{
    (void)loop;
    bus *self = arg;
    return lt_actor_read_pipe(pipe, &self->cfg) < 0 ? -1 : 0;
}

static int on_revoked(lt_loop *loop, void *sock, void *arg)
{
    (void)loop;
    (void)sock;
    lt_zap_revoked_read(((bus *)arg)->revoked);
    return 0;
}

/* zmq.curve: replay carries whole records, so it is a CURVE server; PUB
 * stays plain (public, no personal data). */
static int open_sockets(bus *self, void *ctx, const char *curve_secret)
{
    int linger = 0, one = 1, pub_hwm = PUB_HWM, notice_hwm = NOTICE_HWM, replay_hwm = REPLAY_HWM;
    self->pub = zmq_socket(ctx, ZMQ_PUB);
    self->router = zmq_socket(ctx, ZMQ_ROUTER);
    self->notices = zmq_socket(ctx, ZMQ_PULL);
    self->local = zmq_socket(ctx, ZMQ_PULL);
    if (!self->pub || !self->router || !self->notices || !self->local ||
        zmq_setsockopt(self->local, ZMQ_LINGER, &linger, sizeof(linger)) < 0 ||
        zmq_setsockopt(self->pub, ZMQ_LINGER, &linger, sizeof(linger)) < 0 ||
        zmq_setsockopt(self->pub, ZMQ_SNDHWM, &pub_hwm, sizeof(pub_hwm)) < 0 ||
        zmq_setsockopt(self->router, ZMQ_LINGER, &linger, sizeof(linger)) < 0 ||
        zmq_setsockopt(self->router, ZMQ_ROUTER_MANDATORY, &one, sizeof(one)) < 0 ||
        zmq_setsockopt(self->router, ZMQ_SNDHWM, &replay_hwm, sizeof(replay_hwm)) < 0 ||
        zmq_setsockopt(self->notices, ZMQ_LINGER, &linger, sizeof(linger)) < 0 ||
        zmq_setsockopt(self->notices, ZMQ_RCVHWM, &notice_hwm, sizeof(notice_hwm)) < 0) {
        LT_ERROR("bus: cannot create sockets: %s", zmq_strerror(zmq_errno()));
        return -1;
    }
    if (curve_secret && (lt_zap_server_setup(self->router, curve_secret) < 0 ||
                         !(self->revoked = lt_zap_revoked_new(ctx)))) {
        LT_ERROR("bus: cannot set up CURVE on zmq.replay: %s", zmq_strerror(zmq_errno()));
        return -1;
    }
    if (lt_zmq_bind_logged(self->pub, "zmq.events", self->cfg.zmq.events, "zmq_events") < 0 ||
        lt_zmq_bind_logged(self->router, "zmq.replay", self->cfg.zmq.replay, "zmq_replay") < 0)
        return -1;
    if (zmq_bind(self->notices, LT_BUS_NOTICE_ENDPOINT) < 0 ||
        zmq_bind(self->local, LT_BUS_LOCAL_ENDPOINT) < 0) {
        LT_ERROR("bus: cannot bind its inproc endpoints: %s", zmq_strerror(zmq_errno()));
        return -1;
    }
    return 0;
}

void lt_bus_actor(void *pipe, void *args)
{
    const lt_bus_args *a = args;
    bus self = {.pipe = pipe};
    lt_pgconn_callbacks cb = {.state = on_pg_state, .notify = on_pg_notify, .arg = &self};
    self.loop = lt_loop_new();
    if (!self.loop || lt_config_copy(&self.cfg, a->cfg) < 0 ||
        open_sockets(&self, a->zmq_ctx, a->curve_secret) < 0)
        goto fail;
    self.pg =
        lt_pgconn_new(self.loop, a->conninfo, self.cfg.database.connect_timeout_ms, "bus", &cb);
    self.replay =
        self.pg ? lt_replay_new(self.loop, self.router, self.pg, &self.cfg, kick, &self) : NULL;
    if (self.replay && self.revoked) {
        lt_replay_set_curve(self.replay, self.revoked);
        if (lt_loop_add_socket(self.loop, lt_zap_revoked_socket(self.revoked), on_revoked, &self) <
            0)
            goto fail;
    }
    if (!self.replay || lt_loop_add_socket(self.loop, pipe, on_pipe, &self) < 0 ||
        lt_loop_add_socket(self.loop, self.router, on_replay, &self) < 0 ||
        lt_loop_add_socket(self.loop, self.notices, on_notice, &self) < 0 ||
        lt_loop_add_socket(self.loop, self.local, on_local, &self) < 0 ||
        lt_loop_add_timer(self.loop, SAFETY_POLL_MS, SAFETY_POLL_MS, on_safety_poll, &self) < 0)
        goto fail;
    lt_actor_signal(pipe, 0);
    lt_loop_run(self.loop);
    goto out;
fail:
    lt_actor_signal(pipe, -1);
out:
    lt_replay_destroy(&self.replay);
    lt_zap_revoked_destroy(&self.revoked);
    lt_pgconn_destroy(&self.pg);
    if (self.pub)
        zmq_close(self.pub);
    if (self.router)
        zmq_close(self.router);
    if (self.notices)
        zmq_close(self.notices);
    if (self.local) {
        /* Batches still queued in the socket are lost with it (their
         * pointers freed by nobody): drain them first. */
        lt_bus_local *b = NULL;
        while (zmq_recv(self.local, &b, sizeof(b), ZMQ_DONTWAIT) == (int)sizeof(b))
            lt_bus_local_free(&b);
        zmq_close(self.local);
    }
    while (self.local_head)
        local_pop(&self);
    lt_loop_destroy(&self.loop);
    lt_config_free(&self.cfg);
}
