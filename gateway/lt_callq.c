/* lt_callq: the request queue the query actors share (see lt_callq.h).
 *
 * Why one module: the reader and the report actor had each written the same
 * envelope reading, ring, error answer and pump, and a fix to one (the
 * wiping of a token, the ROUTER's options, what a lost connection answers)
 * had to be remembered in the other. Here is the one copy; an actor keeps
 * only what its requests mean. One query at a time on one connection keeps
 * the load a front can put on the database to one statement per actor, and
 * the bounded queue keeps a burst from turning into a row of timeouts.
 *
 * The ring holds two parallel arrays: the envelopes (routing id, request
 * id), which only this module reads, and the actors' request structs, of a
 * size only the actor knows. */
#include "lt_callq.h"
#include "lt_actor.h"
#include "lt_log.h"
#include "lt_pgconn.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define MAX_FRAME 64 /* bytes of a routing id or request id */
#define MAX_VERB  32

typedef struct {
    char route[MAX_FRAME]; /* the DEALER's routing id */
    size_t route_len;
    char id[MAX_FRAME]; /* the caller's request id */
} envelope;

struct lt_callq {
    lt_callq_spec spec;   /* copied; its strings borrowed */
    lt_loop *loop;        /* borrowed: the actor's */
    const lt_config *cfg; /* lt_callq_serve's copy, NULL without it */
    void *router;         /* bound to spec.endpoint */
    lt_pgconn *pg;        /* the one connection the requests share */
    envelope *env;        /* FIFO ring of spec.cap; the head runs */
    unsigned char *reqs;  /* the actors' requests, spec.req_size each, same ring,
                           * and one spare after it that a request is parsed into */
    size_t head, count;
    bool running; /* the head has a query out */
};

static void *slot(lt_callq *self, size_t i)
{
    return self->reqs + i * self->spec.req_size;
}

static void send_answer(lt_callq *self, const envelope *e, int status, const char *body)
{
    char st[8];
    snprintf(st, sizeof(st), "%d", status);
    if (zmq_send(self->router, e->route, e->route_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
        return; /* the front is gone or stuck; its request times out there */
    zmq_send(self->router, e->id, strlen(e->id), ZMQ_SNDMORE);
    zmq_send(self->router, st, strlen(st), ZMQ_SNDMORE);
    zmq_send(self->router, body, strlen(body), 0);
}

static void send_error(lt_callq *self, const envelope *e, int status, const char *code,
                       const char *message)
{
    json_t *j = json_pack("{s:{s:s, s:s}}", "error", "code", code, "message", message);
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    send_answer(self, e, status, text ? text : "{}");
    free(text);
    json_decref(j);
}

void lt_callq_answer(lt_callq *self, int status, const char *body)
{
    send_answer(self, &self->env[self->head], status, body);
}

void lt_callq_answer_error(lt_callq *self, int status, const char *code, const char *message)
{
    send_error(self, &self->env[self->head], status, code, message);
}

/* The head request is answered: the next one may go. */
static void pop(lt_callq *self)
{
    sodium_memzero(&self->env[self->head], sizeof(envelope));
    sodium_memzero(slot(self, self->head), self->spec.req_size); /* it may hold a token */
    self->head = (self->head + 1) % self->spec.cap;
    self->count--;
}

static void pump(lt_callq *self)
{
    const lt_callq_ops *ops = &self->spec.ops;
    while (self->count > 0 && !self->running) {
        void *req = slot(self, self->head);
        if (!lt_pgconn_up(self->pg)) {
            if (ops->down)
                ops->down(self->spec.actor, self, req, lt_pgconn_reason(self->pg));
            else
                lt_callq_answer_error(self, 503, "not_ready", lt_pgconn_reason(self->pg));
            pop(self);
            continue;
        }
        int rc = ops->step(self->spec.actor, self, req);
        if (rc < 0)
            return; /* busy; or lost, and the state callback pumps again */
        if (rc == 0) {
            pop(self);
            continue;
        }
        self->running = true;
    }
}

static void on_result(lt_pgconn *pg, PGresult *r, const char *err, void *arg)
{
    (void)pg;
    lt_callq *self = arg;
    self->running = false;
    bool done = self->spec.ops.result(self->spec.actor, self, slot(self, self->head), r, err);
    PQclear(r);
    if (done)
        pop(self);
    pump(self);
}

int lt_callq_query(lt_callq *self, const char *sql, int nparams, const char *const *params,
                   int64_t timeout_ms)
{
    return lt_pgconn_query(self->pg, sql, nparams, params, timeout_ms, on_result, self);
}

static void on_pg_state(lt_pgconn *pg, bool up, const char *reason, void *arg)
{
    (void)pg;
    (void)up;
    (void)reason;
    pump(arg); /* queued requests go, or are answered as the database is down */
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
    lt_callq *self = arg;
    envelope e = {0};
    int more = 0;
    char verb[MAX_VERB] = "";
    e.route_len = recv_into(sock, e.route, sizeof(e.route), &more);
    if (more)
        recv_into(sock, e.id, sizeof(e.id), &more);
    if (more)
        recv_into(sock, verb, sizeof(verb), &more);
    char *params = more ? lt_msg_recv_str(sock, &more) : NULL;
    lt_msg_drain(sock);
    json_t *j = params ? json_loads(params, 0, NULL) : NULL;
    if (params)
        sodium_memzero(params, strlen(params)); /* it may hold a token */
    free(params);
    /* Parsed into the spare slot first, so that a malformed request gets
     * its 500 even when the queue is full. */
    void *spare = slot(self, self->spec.cap);
    bool ok = j && self->spec.ops.parse(self->spec.actor, verb, j, spare) == 0;
    json_decref(j);
    size_t tail = (self->head + self->count) % self->spec.cap;
    if (ok && self->count < self->spec.cap)
        memcpy(slot(self, tail), spare, self->spec.req_size);
    sodium_memzero(spare, self->spec.req_size); /* it may hold a token */
    if (!ok) {
        send_error(self, &e, 500, "internal", self->spec.malformed);
        return 0;
    }
    if (self->count == self->spec.cap) {
        send_error(self, &e, 503, "busy", self->spec.busy);
        return 0;
    }
    self->env[tail] = e;
    self->count++;
    pump(self);
    return 0;
}

lt_callq *lt_callq_new(void *zmq_ctx, lt_loop *loop, const lt_callq_spec *spec)
{
    if (!spec->cap || !spec->req_size || spec->cap >= SIZE_MAX / spec->req_size ||
        spec->cap > (size_t)INT32_MAX / 4 || !spec->ops.parse || !spec->ops.step ||
        !spec->ops.result)
        return NULL;
    lt_callq *self = calloc(1, sizeof(*self));
    if (!self)
        return NULL;
    self->spec = *spec;
    self->loop = loop;
    int linger = 0, hwm = (int)spec->cap * 4, one = 1;
    lt_pgconn_callbacks cb = {.state = on_pg_state, .arg = self};
    self->env = calloc(spec->cap, sizeof(envelope));
    self->reqs = calloc(spec->cap + 1, spec->req_size);
    self->router = zmq_socket(zmq_ctx, ZMQ_ROUTER);
    if (!self->env || !self->reqs || !self->router ||
        zmq_setsockopt(self->router, ZMQ_LINGER, &linger, sizeof(linger)) < 0 ||
        zmq_setsockopt(self->router, ZMQ_RCVHWM, &hwm, sizeof(hwm)) < 0 ||
        zmq_setsockopt(self->router, ZMQ_ROUTER_MANDATORY, &one, sizeof(one)) < 0 ||
        zmq_bind(self->router, spec->endpoint) < 0 ||
        !(self->pg =
              lt_pgconn_new(loop, spec->conninfo, spec->connect_timeout_ms, spec->name, &cb)) ||
        lt_loop_add_socket(loop, self->router, on_request, self) < 0)
        goto fail;
    return self;
fail:
    lt_callq_destroy(&self);
    return NULL;
}

void lt_callq_destroy(lt_callq **self_p)
{
    if (!self_p || !*self_p)
        return;
    lt_callq *self = *self_p;
    lt_pgconn_destroy(&self->pg);
    if (self->router) {
        lt_loop_remove_socket(self->loop, self->router);
        zmq_close(self->router);
    }
    if (self->reqs) {
        sodium_memzero(self->reqs, (self->spec.cap + 1) * self->spec.req_size);
        free(self->reqs);
    }
    free(self->env);
    free(self);
    *self_p = NULL;
}

const lt_config *lt_callq_config(const lt_callq *self)
{
    return self->cfg;
}

static int on_pipe(lt_loop *loop, void *pipe, void *arg)
{
    (void)loop;
    return lt_actor_read_pipe(pipe, arg) < 0 ? -1 : 0;
}

/* The queue of a served actor, reading its connect timeout and, later,
 * its ops' settings from copy. */
static lt_callq *open_served(void *zmq_ctx, lt_loop *loop, lt_config *copy, const lt_config *cfg,
                             const lt_callq_spec *spec)
{
    if (lt_config_copy(copy, cfg) < 0)
        return NULL;
    lt_callq_spec s = *spec;
    s.connect_timeout_ms = copy->database.connect_timeout_ms;
    lt_callq *q = lt_callq_new(zmq_ctx, loop, &s);
    if (q)
        q->cfg = copy;
    return q;
}

void lt_callq_serve(void *pipe, void *zmq_ctx, const lt_config *cfg, const lt_callq_spec *spec)
{
    lt_config *copy = calloc(1, sizeof(*copy)); /* zeroed, so freeing an uncopied one is safe */
    lt_loop *loop = lt_loop_new();
    lt_callq *q = NULL;
    if (!copy || !loop || !(q = open_served(zmq_ctx, loop, copy, cfg, spec)) ||
        lt_loop_add_socket(loop, pipe, on_pipe, copy) < 0) {
        LT_ERROR("%s cannot start: %s", spec->name, zmq_strerror(zmq_errno()));
        lt_actor_signal(pipe, -1);
        goto out;
    }
    lt_actor_signal(pipe, 0);
    lt_loop_run(loop);
out:
    lt_callq_destroy(&q);
    lt_loop_destroy(&loop);
    if (copy)
        lt_config_free(copy);
    free(copy);
}
