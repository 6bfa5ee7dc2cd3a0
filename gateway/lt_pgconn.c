/* lt_pgconn: a non-blocking PostgreSQL connection inside a loop (see
 * lt_pgconn.h).
 *
 * Why a shared piece: every actor that reads or writes the database needs
 * the same states (down, connecting, up), the same back-off and the same
 * care never to block its loop; writing that once keeps the bus and the
 * reader (and the writer later) short and alike. One query at a time is
 * enough: each actor serialises its own work, and PostgreSQL runs one
 * statement per connection anyway. */
#include "lt_pgconn.h"
#include "lt_db.h"
#include "lt_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define BACKOFF_MIN_MS 250
#define BACKOFF_MAX_MS 5000

typedef enum {
    PC_DOWN,       /* waiting for the reconnect timer */
    PC_CONNECTING, /* PQconnectPoll in progress */
    PC_UP,         /* connected */
} pc_phase;

struct lt_pgconn {
    lt_loop *loop;          /* borrowed: the owner's loop */
    const char *conninfo;   /* borrowed */
    int64_t connect_ms;     /* one connection attempt */
    char name[32];          /* for log lines: "bus", "reader" */
    lt_pgconn_callbacks cb; /* the owner's callbacks */
    PGconn *conn;           /* NULL while down */
    int fd;                 /* PQsocket while watched, else -1 */
    pc_phase phase;
    int64_t backoff_ms;       /* next reconnect delay */
    int reconnect_timer;      /* pending reconnect, 0 = none */
    int deadline_timer;       /* connect or query timeout, 0 = none */
    lt_pgconn_result_fn *qfn; /* the running query's callback, NULL = idle */
    void *qarg;               /* its argument */
    PGresult *last;           /* the running query's last result so far */
    char reason[512];         /* why down */
};

static int on_socket(lt_loop *loop, int fd, short revents, void *arg);
static int on_reconnect(lt_loop *loop, int timer_id, void *arg);

static void watch_fd(lt_pgconn *self, short events)
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

static void cancel_deadline(lt_pgconn *self)
{
    lt_loop_cancel_timer(self->loop, self->deadline_timer);
    self->deadline_timer = 0;
}

/* Ends the running query, if any, by calling its callback once. The state
 * is cleared first: the callback may start the next query. */
static void finish_query(lt_pgconn *self, PGresult *r, const char *err)
{
    lt_pgconn_result_fn *fn = self->qfn;
    void *arg = self->qarg;
    self->qfn = NULL;
    self->qarg = NULL;
    self->last = NULL;
    cancel_deadline(self);
    if (fn)
        fn(self, r, err, arg);
    else
        PQclear(r);
}

static void lose(lt_pgconn *self, const char *why)
{
    bool was_up = self->phase == PC_UP;
    snprintf(self->reason, sizeof(self->reason), "database unreachable: %s", why);
    cancel_deadline(self);
    if (self->fd >= 0)
        lt_loop_remove_fd(self->loop, self->fd);
    self->fd = -1;
    PQfinish(self->conn);
    self->conn = NULL;
    self->phase = PC_DOWN;
    PQclear(self->last);
    self->last = NULL;
    if (was_up)
        LT_WARN("%s: %s", self->name, self->reason);
    self->reconnect_timer = lt_loop_add_timer(self->loop, self->backoff_ms, 0, on_reconnect, self);
    if (self->reconnect_timer < 0)
        LT_ERROR("%s: timer table full; database reconnect not scheduled", self->name);
    self->backoff_ms =
        self->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : self->backoff_ms * 2;
    finish_query(self, NULL, self->reason);
    if (self->cb.state)
        self->cb.state(self, false, self->reason, self->cb.arg);
}

static void lose_conn_error(lt_pgconn *self)
{
    char buf[400];
    lose(self, lt_db_error(self->conn, buf, sizeof(buf)));
}

static int on_deadline(lt_loop *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    lt_pgconn *self = arg;
    self->deadline_timer = 0;
    lose(self, self->phase == PC_CONNECTING ? "connection attempt timed out" : "query timed out");
    return 0;
}

static void on_connected(lt_pgconn *self)
{
    cancel_deadline(self);
    if (PQsetnonblocking(self->conn, 1) != 0) {
        lose_conn_error(self);
        return;
    }
    self->phase = PC_UP;
    self->backoff_ms = BACKOFF_MIN_MS;
    self->reason[0] = '\0';
    watch_fd(self, ZMQ_POLLIN);
    LT_INFO("%s: connected to the database", self->name);
    if (self->cb.state)
        self->cb.state(self, true, "", self->cb.arg);
}

static void step_connect(lt_pgconn *self)
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
    (void)timer_id;
    lt_pgconn *self = arg;
    self->reconnect_timer = 0;
    if (self->phase != PC_DOWN)
        return 0;
    self->conn = lt_db_connect_start(self->conninfo, self->connect_ms);
    if (!self->conn || PQstatus(self->conn) == CONNECTION_BAD) {
        if (self->conn)
            lose_conn_error(self);
        else
            lose(self, "out of memory");
        return 0;
    }
    self->phase = PC_CONNECTING;
    self->deadline_timer = lt_loop_add_timer(loop, self->connect_ms, 0, on_deadline, self);
    step_connect(self);
    return 0;
}

/* Sends what libpq still buffers; write interest only while it has some. */
static int flush(lt_pgconn *self)
{
    int f = PQflush(self->conn);
    if (f < 0)
        return -1;
    watch_fd(self, f == 1 ? (short)(ZMQ_POLLIN | ZMQ_POLLOUT) : (short)ZMQ_POLLIN);
    return 0;
}

static void read_results(lt_pgconn *self)
{
    while (self->qfn && !PQisBusy(self->conn)) {
        PGresult *r = PQgetResult(self->conn);
        if (!r) {
            finish_query(self, self->last, NULL);
            return;
        }
        PQclear(self->last);
        self->last = r;
    }
}

static void deliver_notifies(lt_pgconn *self)
{
    PGnotify *n;
    while (self->conn && (n = PQnotifies(self->conn))) {
        if (self->cb.notify)
            self->cb.notify(self, n->relname, n->extra, self->cb.arg);
        PQfreemem(n);
    }
}

static int on_socket(lt_loop *loop, int fd, short revents, void *arg)
{
    (void)loop;
    (void)fd;
    lt_pgconn *self = arg;
    if (self->phase == PC_CONNECTING) {
        step_connect(self);
        return 0;
    }
    if (self->phase != PC_UP)
        return 0;
    if ((revents & ZMQ_POLLOUT) && flush(self) < 0) {
        lose_conn_error(self);
        return 0;
    }
    if (!PQconsumeInput(self->conn) || PQstatus(self->conn) == CONNECTION_BAD) {
        lose_conn_error(self);
        return 0;
    }
    read_results(self);
    deliver_notifies(self);
    return 0;
}

lt_pgconn *lt_pgconn_new(lt_loop *loop, const char *conninfo, int64_t connect_timeout_ms,
                         const char *name, const lt_pgconn_callbacks *cb)
{
    lt_pgconn *self = calloc(1, sizeof(*self));
    if (!self)
        return NULL;
    self->loop = loop;
    self->conninfo = conninfo;
    self->connect_ms = connect_timeout_ms;
    snprintf(self->name, sizeof(self->name), "%s", name);
    if (cb)
        self->cb = *cb;
    self->fd = -1;
    self->backoff_ms = BACKOFF_MIN_MS;
    snprintf(self->reason, sizeof(self->reason), "database not yet connected");
    self->reconnect_timer = lt_loop_add_timer(loop, 0, 0, on_reconnect, self);
    if (self->reconnect_timer < 0) {
        free(self);
        return NULL;
    }
    return self;
}

void lt_pgconn_destroy(lt_pgconn **self_p)
{
    if (!self_p || !*self_p)
        return;
    lt_pgconn *self = *self_p;
    lt_loop_cancel_timer(self->loop, self->reconnect_timer);
    lt_loop_cancel_timer(self->loop, self->deadline_timer);
    if (self->fd >= 0)
        lt_loop_remove_fd(self->loop, self->fd);
    PQclear(self->last);
    PQfinish(self->conn);
    free(self);
    *self_p = NULL;
}

bool lt_pgconn_up(const lt_pgconn *self)
{
    return self->phase == PC_UP;
}

bool lt_pgconn_idle(const lt_pgconn *self)
{
    return self->phase == PC_UP && !self->qfn;
}

const char *lt_pgconn_reason(const lt_pgconn *self)
{
    return self->reason;
}

PGconn *lt_pgconn_conn(lt_pgconn *self)
{
    return lt_pgconn_idle(self) ? self->conn : NULL;
}

void lt_pgconn_drop(lt_pgconn *self, const char *why)
{
    if (self->phase != PC_DOWN)
        lose(self, why);
}

int lt_pgconn_query(lt_pgconn *self, const char *sql, int nparams, const char *const *params,
                    int64_t timeout_ms, lt_pgconn_result_fn *fn, void *arg)
{
    if (!lt_pgconn_idle(self) || !fn)
        return -1;
    if (!PQsendQueryParams(self->conn, sql, nparams, NULL, params, NULL, NULL, 0) ||
        flush(self) < 0) {
        lose_conn_error(self);
        return -1;
    }
    self->qfn = fn;
    self->qarg = arg;
    if (timeout_ms > 0)
        self->deadline_timer = lt_loop_add_timer(self->loop, timeout_ms, 0, on_deadline, self);
    return 0;
}
