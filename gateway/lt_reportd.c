/* lt_reportd: the on-time report's own actor (see lt_reportd.h).
 *
 * Why not the reader: a province's year takes seconds (2-10 s on a loaded
 * machine, tests/bench/RESULTS.md), and the reader runs one query at a time
 * on one connection, so every dossier read, status and catalog page waited
 * behind it; and the reads' 5 s limit made a long report fail. Here
 * reports have their own connection and their own limit (report.timeout),
 * and the reader never sees one. One report at a time keeps the load a
 * public route can put on the database to one statement; a few more wait
 * (their wait counts against their own limit) and the rest are refused at
 * once, since a long queue would only turn into a row of 504s.
 *
 * A report is two steps on the connection: set statement_timeout to what
 * is left of its time (so the database, not a dropped connection, ends an
 * overlong statement, and the answer can say which limit), then
 * LT_REPORT_SQL; lt_report_build turns the rows into the answer. */
#include "lt_reportd.h"
#include "lt_actor.h"
#include "lt_log.h"
#include "lt_loop.h"
#include "lt_pgconn.h"
#include "lt_report.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define MAX_FRAME 64 /* bytes of a routing id or request id */
/* The client-side deadline beyond the statement_timeout: only for a server
 * that does not answer its own cancel (lt_pgconn then drops the link). */
#define BACKSTOP_MS 2000
#define QUEUE_CAP   (LT_REPORTD_MAX_WAITING + 1) /* the running one and those waiting */

/* SQLSTATE query_canceled: what statement_timeout raises. */
#define SQLSTATE_CANCELED "57014"

/* ---- pure parts ------------------------------------------------------------ */

int64_t lt_reportd_remaining(int64_t arrived_ms, int64_t now_ms, int64_t limit_ms)
{
    int64_t left = arrived_ms + limit_ms - now_ms;
    return left > 0 ? left : 0;
}

static void error_body(const char *code, const char *message, char *body, size_t cap)
{
    json_t *j = json_pack("{s:{s:s, s:s}}", "error", "code", code, "message", message);
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    snprintf(body, cap, "%s", text ? text : "{}");
    free(text);
    json_decref(j);
}

int lt_reportd_failure(const char *sqlstate, int64_t limit_ms, char *body, size_t cap)
{
    char msg[256];
    if (sqlstate && strcmp(sqlstate, SQLSTATE_CANCELED) == 0) {
        bool whole = limit_ms % 1000 == 0;
        snprintf(msg, sizeof(msg),
                 "the report took longer than report.timeout (%" PRId64
                 " %s); ask for a shorter period or one unit, or raise report.timeout",
                 whole ? limit_ms / 1000 : limit_ms, whole ? "s" : "ms");
        error_body("timeout", msg, body, cap);
        return 504;
    }
    if (!sqlstate) {
        error_body("not_ready", "the database connection was lost during the report; try again",
                   body, cap);
        return 503;
    }
    error_body("internal", "the database could not be read", body, cap);
    return 500;
}

/* ---- the actor ------------------------------------------------------------- */

typedef struct {
    char route[MAX_FRAME]; /* the DEALER's routing id */
    size_t route_len;
    char id[MAX_FRAME]; /* the caller's request id */
    lt_report_query q;  /* the report asked for */
    int64_t arrived;    /* lt_loop_now_ms when it came: its time counts from here */
    int64_t now;        /* the report's clock, the same for statement and build */
    bool timeout_set;   /* step one (statement_timeout) is done */
} request;

typedef struct {
    void *pipe;
    void *router; /* LT_REPORTD_ENDPOINT */
    lt_loop *loop;
    lt_config cfg;
    lt_pgconn *pg;
    request queue[QUEUE_CAP]; /* FIFO ring; the head runs */
    size_t head, count;
    bool running; /* queue[head] has a statement out */
} reportd;

static void answer(reportd *self, const request *r, int status, const char *body)
{
    char st[8];
    snprintf(st, sizeof(st), "%d", status);
    if (zmq_send(self->router, r->route, r->route_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
        return; /* the front is gone or stuck; its request times out there */
    zmq_send(self->router, r->id, strlen(r->id), ZMQ_SNDMORE);
    zmq_send(self->router, st, strlen(st), ZMQ_SNDMORE);
    zmq_send(self->router, body, strlen(body), 0);
}

static void answer_error(reportd *self, const request *r, int status, const char *code,
                         const char *message)
{
    char body[512];
    error_body(code, message, body, sizeof(body));
    answer(self, r, status, body);
}

static void answer_failure(reportd *self, const request *r, const char *sqlstate)
{
    char body[512];
    int status = lt_reportd_failure(sqlstate, self->cfg.report.timeout_ms, body, sizeof(body));
    answer(self, r, status, body);
}

/* The calendar is read for each report (a small file), so an edited
 * holiday table counts at the next call. */
static void answer_report(reportd *self, const request *req, const PGresult *r)
{
    char err[512] = "";
    if (lt_report_unknown_unit(r)) {
        answer_error(self, req, 404, "not_found", "no such unit");
        return;
    }
    lt_calendar *cal = lt_report_calendar(&self->cfg, err, sizeof(err));
    json_t *doc = cal ? lt_report_build(&req->q, r, cal, req->now, NULL, err, sizeof(err)) : NULL;
    lt_calendar_destroy(&cal);
    char *text = doc ? lt_report_dumps(doc) : NULL;
    json_decref(doc);
    if (!text) {
        LT_WARN("reportd: %s", err[0] ? err : "out of memory");
        answer_error(self, req, 500, "internal", "the report could not be built");
        return;
    }
    answer(self, req, 200, text);
    free(text);
}

static void pop(reportd *self)
{
    self->head = (self->head + 1) % QUEUE_CAP;
    self->count--;
}

static void run_next(reportd *self);

static void on_result(lt_pgconn *pg, PGresult *r, const char *err, void *arg)
{
    (void)pg;
    reportd *self = arg;
    request *req = &self->queue[self->head];
    self->running = false;
    if (!r) {
        /* lt_pgconn's own deadline: the server ignored its statement_timeout. */
        bool late = err && strcmp(err, "query timed out") == 0;
        LT_WARN("reportd: report %s..%s: %s", req->q.from, req->q.to, err ? err : "no result");
        answer_failure(self, req, late ? SQLSTATE_CANCELED : NULL);
    } else if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        if (state && strcmp(state, SQLSTATE_CANCELED) == 0)
            LT_WARN("reportd: report %s..%s by %s over report.timeout (%" PRId64 " ms)",
                    req->q.from, req->q.to, lt_report_group_name(req->q.group),
                    self->cfg.report.timeout_ms);
        else
            LT_WARN("reportd: report failed: %s", PQresultErrorMessage(r));
        answer_failure(self, req, state ? state : "XX000");
    } else if (!req->timeout_set) {
        /* Step one done: the same request goes on to its statement. */
        req->timeout_set = true;
        PQclear(r);
        run_next(self);
        return;
    } else {
        answer_report(self, req, r);
    }
    PQclear(r);
    pop(self);
    run_next(self);
}

/* Sends the head request's next step. Returns 1 when a query went out, 0
 * when the request was answered without one, -1 when the connection would
 * not take it (the state callback answers then). */
static int start_step(reportd *self, request *req)
{
    int64_t left =
        lt_reportd_remaining(req->arrived, lt_loop_now_ms(), self->cfg.report.timeout_ms);
    if (left == 0) {
        /* Its time went in the queue; the front has given up on it too. */
        answer_failure(self, req, SQLSTATE_CANCELED);
        return 0;
    }
    if (!req->timeout_set) {
        char ms[24];
        snprintf(ms, sizeof(ms), "%" PRId64, left);
        const char *p[1] = {ms};
        return lt_pgconn_query(self->pg, "SELECT set_config('statement_timeout', $1, false)", 1, p,
                               left + BACKSTOP_MS, on_result, self) < 0
                   ? -1
                   : 1;
    }
    lt_report_bufs bufs = {0};
    const char *p[LT_REPORT_NPARAMS];
    req->now = lt_report_now_local();
    lt_report_params(&req->q, req->now, &bufs, p);
    return lt_pgconn_query(self->pg, LT_REPORT_SQL, LT_REPORT_NPARAMS, p, left + BACKSTOP_MS,
                           on_result, self) < 0
               ? -1
               : 1;
}

static void run_next(reportd *self)
{
    while (self->count > 0 && !self->running) {
        request *req = &self->queue[self->head];
        if (!lt_pgconn_up(self->pg)) {
            answer_error(self, req, 503, "not_ready", lt_pgconn_reason(self->pg));
            pop(self);
            continue;
        }
        int rc = start_step(self, req);
        if (rc < 0)
            return; /* lost: the state callback answers the queue */
        if (rc == 0) {
            pop(self);
            continue;
        }
        self->running = true;
    }
}

static void on_pg_state(lt_pgconn *pg, bool up, const char *reason, void *arg)
{
    (void)pg;
    (void)up;
    (void)reason;
    run_next(arg); /* queued reports go, or get 503 */
}

static size_t recv_into(void *sock, char *buf, size_t cap, int *ret_more)
{
    int n = zmq_recv(sock, buf, cap - 1, 0);
    size_t more_len = sizeof(*ret_more);
    zmq_getsockopt(sock, ZMQ_RCVMORE, ret_more, &more_len);
    if (n < 0)
        n = 0;
    size_t len = (size_t)n < cap - 1 ? (size_t)n : cap - 1;
    buf[len] = '\0';
    return len;
}

static int on_request(lt_loop *loop, void *sock, void *arg)
{
    (void)loop;
    reportd *self = arg;
    request req = {0};
    int more = 0;
    char verb[32] = "";
    req.route_len = recv_into(sock, req.route, sizeof(req.route), &more);
    if (more)
        recv_into(sock, req.id, sizeof(req.id), &more);
    if (more)
        recv_into(sock, verb, sizeof(verb), &more);
    char *params = more ? lt_msg_recv_str(sock, &more) : NULL;
    lt_msg_drain(sock);
    json_t *j = params ? json_loads(params, 0, NULL) : NULL;
    free(params);
    bool ok = j && strcmp(verb, "report") == 0 && lt_report_query_from_json(j, &req.q) == 0;
    json_decref(j);
    req.arrived = lt_loop_now_ms();
    if (!ok) {
        answer_error(self, &req, 500, "internal", "malformed request to the report actor");
    } else if (self->count == QUEUE_CAP) {
        char msg[160];
        snprintf(msg, sizeof(msg),
                 "a report is running and %d more wait their turn; try again shortly",
                 LT_REPORTD_MAX_WAITING);
        answer_error(self, &req, 503, "busy", msg);
    } else {
        self->queue[(self->head + self->count) % QUEUE_CAP] = req;
        self->count++;
        run_next(self);
    }
    return 0;
}

static int on_pipe(lt_loop *loop, void *pipe, void *arg)
{
    (void)loop;
    reportd *self = arg;
    return lt_actor_read_pipe(pipe, &self->cfg) < 0 ? -1 : 0;
}

void lt_reportd_actor(void *pipe, void *args)
{
    const lt_reportd_args *a = args;
    reportd *self = calloc(1, sizeof(*self));
    int linger = 0, hwm = QUEUE_CAP * 4, one = 1;
    if (!self) {
        lt_actor_signal(pipe, -1);
        return;
    }
    self->pipe = pipe;
    lt_pgconn_callbacks cb = {.state = on_pg_state, .arg = self};
    self->loop = lt_loop_new();
    self->router = zmq_socket(a->zmq_ctx, ZMQ_ROUTER);
    if (!self->loop || !self->router || lt_config_copy(&self->cfg, a->cfg) < 0 ||
        zmq_setsockopt(self->router, ZMQ_LINGER, &linger, sizeof(linger)) < 0 ||
        zmq_setsockopt(self->router, ZMQ_RCVHWM, &hwm, sizeof(hwm)) < 0 ||
        zmq_setsockopt(self->router, ZMQ_ROUTER_MANDATORY, &one, sizeof(one)) < 0 ||
        zmq_bind(self->router, LT_REPORTD_ENDPOINT) < 0 ||
        !(self->pg = lt_pgconn_new(self->loop, a->conninfo, self->cfg.database.connect_timeout_ms,
                                   "reportd", &cb)) ||
        lt_loop_add_socket(self->loop, pipe, on_pipe, self) < 0 ||
        lt_loop_add_socket(self->loop, self->router, on_request, self) < 0) {
        LT_ERROR("reportd cannot start: %s", zmq_strerror(zmq_errno()));
        lt_actor_signal(pipe, -1);
        goto out;
    }
    lt_actor_signal(pipe, 0);
    lt_loop_run(self->loop);
out:
    lt_pgconn_destroy(&self->pg);
    if (self->router)
        zmq_close(self->router);
    lt_loop_destroy(&self->loop);
    lt_config_free(&self->cfg);
    free(self);
}
