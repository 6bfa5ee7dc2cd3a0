/* lt_writer: the writer actor (see lt_writer.h). Its loop does three things:
 * takes pushes from the fronts' DEALERs into a FIFO, runs one batch at a
 * time on its own connection (lt_wbatch decides what to ask), and sends
 * each push back to its front once the batch is committed.
 *
 * Why one writer: group commit needs one place where pushes meet, and one
 * connection keeps the event sequence's row lock held by one transaction at
 * a time per process. The CPU work between queries (mapping, validation,
 * judging) is the writer thread's; decoding the bytes stays in the fronts. */
#include "lt_writer.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "lt_actor.h"
#include "lt_bus.h"
#include "lt_log.h"
#include "lt_loop.h"
#include "lt_pgconn.h"
#include "lt_stats.h"
#include "lt_wbatch.h"

/* Longest a statement may run before the connection is dropped (and every
 * push of the batch answered 503). The fronts wait longer than this. */
#define QUERY_TIMEOUT_MS 10000
/* Quiet time after which freed memory goes back to the system. */
#define TRIM_AFTER_MS 2000
/* After $TERM, how long a batch in flight may take to finish. */
#define TERM_GRACE_MS 12000

typedef struct {
    lt_config cfg;
    lt_loop *loop;
    void *pipe;
    void *router;
    lt_pgconn *pg;
    lt_wbatch *batch;               /* the group commit in the database */
    lt_wbatch *next;                /* the next one, collecting and preparing meanwhile */
    bool next_sealed;               /* next holds a push that must go alone */
    lt_wbatch_dialect_cache *cache; /* each token's dialect, for preparing early */
    void *local;                    /* PUSH to the bus: our committed events, public form */
    lt_ingest_req *head, *tail;     /* the FIFO of pushes not yet in a batch */
    size_t queued_records;
    bool busy; /* a query of the batch is running */
    bool term; /* $TERM received: finish the batch in flight, then leave */
    int term_timer;
    int64_t batch_start; /* when the batch in progress started (ms) */
    int64_t query_start; /* when its current query was sent */
    int64_t phase_ms[4]; /* time in each query phase of the batch (by lt_wbatch_phase) */
    int64_t last_batch;  /* when the last batch ended (ms) */
    bool trimmed;        /* memory handed back since the last batch */
} writer;

static size_t records_of(const lt_ingest_req *req)
{
    return req->records ? json_array_size(req->records) : 0;
}

/* Hands a push back to its front; a front that is gone (it stopped) can no
 * longer free it, so it is freed here. */
static void send_back(writer *self, lt_ingest_req *req)
{
    void *ptr = req;
    if (zmq_send(self->router, req->reply_to, req->reply_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(self->router, &ptr, sizeof(ptr), ZMQ_DONTWAIT) < 0)
        lt_ingest_req_destroy(&req);
}

static void refuse(writer *self, lt_ingest_req *req, const char *code, const char *message)
{
    char text[320];
    snprintf(text, sizeof(text), "{\"error\":{\"code\":\"%s\",\"message\":\"%s\"}}", code, message);
    if (lt_ingest_req_answer(req, 503, text, 1) < 0)
        req->status = 503;
    send_back(self, req);
}

static void refuse_queue(writer *self, const char *code, const char *message)
{
    while (self->head) {
        lt_ingest_req *req = self->head;
        self->head = req->next;
        req->next = NULL;
        refuse(self, req, code, message);
    }
    self->tail = NULL;
    self->queued_records = 0;
}

/* Answers every push of the batch being collected with a refusal. */
static void refuse_next(writer *self, const char *message)
{
    if (lt_wbatch_count(self->next) == 0)
        return;
    lt_wbatch_fail(self->next, 503, "not_ready", message);
    lt_ingest_req *req;
    while ((req = lt_wbatch_pop(self->next)))
        send_back(self, req);
    self->next_sealed = false;
}

/* Moves queued pushes into the next batch as far as it takes them, and maps
 * and validates what it can already: this runs while the database works on
 * the current batch, so that work and the commit overlap. */
static void feed_next(writer *self)
{
    while (self->head && !self->next_sealed) {
        lt_ingest_req *req = self->head;
        /* A push that failed in company goes in a batch of its own. */
        if (req->alone && lt_wbatch_count(self->next) > 0)
            break;
        if (lt_wbatch_add(self->next, req) < 0)
            break;
        self->head = req->next;
        req->next = NULL;
        self->queued_records -= records_of(req);
        if (req->alone)
            self->next_sealed = true;
    }
    if (!self->head)
        self->tail = NULL;
    lt_wbatch_prepare_early(self->next);
}

static void drive(writer *self);

static void on_result(lt_pgconn *pg, PGresult *r, const char *err, void *arg)
{
    (void)pg;
    writer *self = arg;
    self->busy = false;
    lt_wbatch_phase ph = lt_wbatch_phase_now(self->batch);
    if (ph > 0 && ph < 4)
        self->phase_ms[ph] += lt_loop_now_ms() - self->query_start;
    lt_wbatch_result(self->batch, r, err);
    PQclear(r);
    drive(self);
}

/* Sends the batch's next query, or hands its answers back when it is done,
 * then starts the next batch from the queue. */
static void drive(writer *self)
{
    for (;;) {
        if (self->busy) {
            feed_next(self);
            return;
        }
        lt_wbatch_phase ph = lt_wbatch_phase_now(self->batch);
        if (ph == LT_WB_AUTH || ph == LT_WB_READ || ph == LT_WB_APPLY) {
            const char *sql;
            int n;
            const char *const *params;
            lt_wbatch_query(self->batch, &sql, &n, &params);
            if (lt_pgconn_query(self->pg, sql, n, params, QUERY_TIMEOUT_MS, on_result, self) < 0) {
                lt_wbatch_fail(self->batch, 503, "not_ready",
                               "the database is not reachable; nothing was stored");
                continue;
            }
            self->busy = true;
            self->query_start = lt_loop_now_ms();
            feed_next(self);
            return;
        }
        if (ph == LT_WB_DONE) {
            lt_bus_local *pub = lt_wbatch_take_public(self->batch);
            if (pub)
                (void)lt_bus_local_send(self->local, pub);
            /* One line per group commit at debug level: its size and where
             * its time went (database phases; the rest is our CPU). */
            LT_DEBUG("writer: batch of %zu push(es) in %lld ms (auth %lld, read %lld, write %lld)",
                     lt_wbatch_count(self->batch),
                     (long long)(lt_loop_now_ms() - self->batch_start),
                     (long long)self->phase_ms[LT_WB_AUTH], (long long)self->phase_ms[LT_WB_READ],
                     (long long)self->phase_ms[LT_WB_APPLY]);
            lt_ingest_req *req, *again = NULL, **tailp = &again;
            while ((req = lt_wbatch_pop(self->batch))) {
                if (req->status == 0) {
                    /* Failed in company: each goes again, alone. */
                    req->alone = true;
                    *tailp = req;
                    tailp = &req->next;
                } else {
                    send_back(self, req);
                }
            }
            /* Back to the queue's head, in their order. */
            if (again) {
                lt_ingest_req *rest = self->head;
                size_t n = 0;
                for (req = again; req; req = req->next)
                    n += records_of(req);
                *tailp = rest;
                self->head = again;
                if (!rest)
                    for (self->tail = again; self->tail->next;)
                        self->tail = self->tail->next;
                self->queued_records += n;
            }
            continue;
        }
        /* IDLE: the next batch, collected (and partly prepared) while this
         * one was in the database, becomes the current one. */
        feed_next(self);
        if (lt_wbatch_count(self->next) == 0) {
            lt_stats_writer_busy(0);
            self->last_batch = lt_loop_now_ms();
            return;
        }
        self->trimmed = false;
        if (!lt_pgconn_up(self->pg)) {
            refuse_next(self, "the database is not reachable; try again shortly");
            refuse_queue(self, "not_ready", "the database is not reachable; try again shortly");
            return;
        }
        lt_wbatch *t = self->batch;
        self->batch = self->next;
        self->next = t;
        self->next_sealed = false;
        self->batch_start = lt_loop_now_ms();
        lt_stats_writer_busy(self->batch_start);
        memset(self->phase_ms, 0, sizeof(self->phase_ms));
        lt_wbatch_start(self->batch);
    }
}

static int on_push(lt_loop *loop, void *sock, void *arg)
{
    (void)loop;
    writer *self = arg;
    for (;;) {
        unsigned char rid[32];
        int n = zmq_recv(sock, rid, sizeof(rid), ZMQ_DONTWAIT);
        if (n < 0)
            break;
        lt_ingest_req *req = NULL;
        int more = 0;
        size_t ml = sizeof(more);
        zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &ml);
        if (!more || zmq_recv(sock, &req, sizeof(req), ZMQ_DONTWAIT) != (int)sizeof(req) || !req) {
            lt_msg_drain(sock);
            continue;
        }
        lt_msg_drain(sock);
        if ((size_t)n > sizeof(rid))
            n = (int)sizeof(rid); /* ROUTER ids are 5 bytes; longer ones cannot come from us */
        memcpy(req->reply_to, rid, (size_t)n);
        req->reply_len = (size_t)n;
        req->next = NULL;
        req->alone = false;
        if (self->term) {
            refuse(self, req, "not_ready", "the gateway is stopping; try again shortly");
        } else if (!lt_pgconn_up(self->pg)) {
            refuse(self, req, "not_ready", "the database is not reachable; try again shortly");
        } else if (self->queued_records + records_of(req) > LT_WRITER_MAX_QUEUE) {
            refuse(self, req, "busy", "the writer's queue is full; try again shortly");
        } else {
            if (self->tail)
                self->tail->next = req;
            else
                self->head = req;
            self->tail = req;
            self->queued_records += records_of(req);
        }
    }
    drive(self);
    return self->term && !self->busy ? -1 : 0;
}

static void on_pg_state(lt_pgconn *pg, bool up, const char *reason, void *arg)
{
    (void)pg;
    writer *self = arg;
    if (!up) {
        LT_WARN("writer: database connection down (%s); pushes are answered 503 until it is back",
                reason);
        refuse_next(self, "the database is not reachable; try again shortly");
        refuse_queue(self, "not_ready", "the database is not reachable; try again shortly");
    }
    drive(self);
}

static int on_term_timer(lt_loop *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    (void)arg;
    LT_WARN("writer: a batch was still running %d ms after the stop; leaving without its answer",
            TERM_GRACE_MS);
    return -1;
}

static int on_pipe(lt_loop *loop, void *pipe, void *arg)
{
    (void)loop;
    writer *self = arg;
    if (lt_actor_read_pipe(pipe, &self->cfg) >= 0)
        return 0;
    /* The fronts stopped before us: nobody is left to send new pushes.
     * What is queued is refused; a batch in flight finishes (its commit
     * decides; nobody hears the answer, and the senders' retries are
     * duplicates). */
    self->term = true;
    refuse_next(self, "the gateway is stopping; try again shortly");
    refuse_queue(self, "not_ready", "the gateway is stopping; try again shortly");
    if (!self->busy)
        return -1;
    self->term_timer = lt_loop_add_timer(loop, TERM_GRACE_MS, 0, on_term_timer, self);
    return 0;
}

static int on_idle_check(lt_loop *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    writer *self = arg;
    if (self->term && !self->busy)
        return -1;
    /* A burst leaves megabytes of freed records in the allocator's arenas
     * (every front thread has its own); once the writer has been idle a
     * while, give them back, so RSS follows the load instead of its peak. */
    if (!self->trimmed && !self->busy && !self->head &&
        lt_loop_now_ms() - self->last_batch > TRIM_AFTER_MS) {
        malloc_trim(0);
        self->trimmed = true;
    }
    return 0;
}

void lt_writer_actor(void *pipe, void *args)
{
    const lt_writer_args *a = args;
    writer self = {.pipe = pipe};
    int linger = 0, one = 1, hwm = 100000;
    lt_pgconn_callbacks cb = {.state = on_pg_state, .arg = &self};
    self.loop = lt_loop_new();
    self.router = zmq_socket(a->zmq_ctx, ZMQ_ROUTER);
    if (!self.loop || !self.router || lt_config_copy(&self.cfg, a->cfg) < 0 ||
        !(self.cache = lt_wbatch_dialect_cache_new()) ||
        !(self.batch = lt_wbatch_new(&self.cfg, a->dialects, self.cache)) ||
        !(self.next = lt_wbatch_new(&self.cfg, a->dialects, self.cache)) ||
        !(self.local = lt_bus_local_socket(a->zmq_ctx)) ||
        zmq_setsockopt(self.router, ZMQ_LINGER, &linger, sizeof(linger)) < 0 ||
        zmq_setsockopt(self.router, ZMQ_RCVHWM, &hwm, sizeof(hwm)) < 0 ||
        zmq_setsockopt(self.router, ZMQ_SNDHWM, &hwm, sizeof(hwm)) < 0 ||
        zmq_setsockopt(self.router, ZMQ_ROUTER_MANDATORY, &one, sizeof(one)) < 0 ||
        zmq_bind(self.router, LT_WRITER_ENDPOINT) < 0 ||
        !(self.pg = lt_pgconn_new(self.loop, a->conninfo, self.cfg.database.connect_timeout_ms,
                                  "writer", &cb)) ||
        lt_loop_add_socket(self.loop, pipe, on_pipe, &self) < 0 ||
        lt_loop_add_socket(self.loop, self.router, on_push, &self) < 0 ||
        lt_loop_add_timer(self.loop, 100, 100, on_idle_check, &self) < 0) {
        LT_ERROR("writer cannot start: %s", zmq_strerror(zmq_errno()));
        lt_actor_signal(pipe, -1);
        goto out;
    }
    lt_actor_signal(pipe, 0);
    lt_loop_run(self.loop);
    const lt_wbatch_stats *st = lt_wbatch_stats_get(self.batch);
    LT_INFO("writer stopped: %llu accepted, %llu duplicate, %llu stale, %llu rejected in %llu "
            "transactions",
            st->accepted, st->duplicate, st->stale, st->rejected, st->transactions);
out:
    if (self.next)
        refuse_next(&self, "the gateway is stopping");
    refuse_queue(&self, "not_ready", "the gateway is stopping");
    lt_pgconn_destroy(&self.pg);
    if (self.batch) {
        /* A batch cut off by the grace timer: free what it holds. */
        lt_ingest_req *req;
        while ((req = lt_wbatch_pop(self.batch)))
            lt_ingest_req_destroy(&req);
    }
    lt_wbatch_destroy(&self.batch);
    lt_wbatch_destroy(&self.next);
    lt_wbatch_dialect_cache_destroy(&self.cache);
    if (self.local)
        zmq_close(self.local);
    if (self.router)
        zmq_close(self.router);
    lt_loop_destroy(&self.loop);
    lt_config_free(&self.cfg);
}

int lt_writer_run_sync(PGconn *db, const lt_config *cfg, const lt_dialects *dialects,
                       lt_ingest_req *req)
{
    lt_wbatch *b = lt_wbatch_new(cfg, dialects, NULL);
    if (!b || lt_wbatch_add(b, req) < 0) {
        lt_wbatch_destroy(&b);
        if (lt_ingest_req_answer(
                req, 500, "{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}", 0) <
            0)
            req->status = 500;
        return -1;
    }
    int rc = 0;
    lt_wbatch_phase ph = lt_wbatch_start(b);
    while (ph == LT_WB_AUTH || ph == LT_WB_READ || ph == LT_WB_APPLY) {
        const char *sql;
        int n;
        const char *const *params;
        lt_wbatch_query(b, &sql, &n, &params);
        PGresult *r = PQexecParams(db, sql, n, NULL, params, NULL, NULL, 0);
        if (PQstatus(db) != CONNECTION_OK) {
            PQclear(r);
            r = NULL;
            rc = -1;
        }
        ph = lt_wbatch_result(b, r, r ? NULL : "the database connection was lost");
        PQclear(r);
    }
    /* The one push comes back answered (a lone push is never requeued). */
    lt_ingest_req *back = lt_wbatch_pop(b);
    while (lt_wbatch_pop(b))
        ;
    if (back != req || req->status == 0)
        rc = -1;
    lt_wbatch_destroy(&b);
    return rc;
}
