/* lt_ingest: the push a front hands to the writer, and the front's side of
 * that conversation (see lt_ingest.h). The pending table is indexed by the
 * low bits of each push's id, so an answer finds its waiter in O(1) and a
 * late answer (its waiter timed out, the slot reused) is told apart by the
 * rest of the id. */
#include "lt_ingest.h"

#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "lt_loop.h"
#include "lt_stats.h"

#define SLOT_BITS 16
#define SLOT_MASK ((1u << SLOT_BITS) - 1)

lt_ingest_req *lt_ingest_req_new(lt_channel channel)
{
    lt_ingest_req *self = calloc(1, sizeof(*self));
    if (self)
        self->channel = channel;
    return self;
}

void lt_ingest_req_destroy(lt_ingest_req **self_p)
{
    if (!self_p || !*self_p)
        return;
    lt_ingest_req *self = *self_p;
    json_decref(self->records);
    free(self->body);
    free(self->answer);
    /* The token is a secret: do not leave it in freed memory. */
    memset(self->token, 0, sizeof(self->token));
    free(self);
    *self_p = NULL;
}

int lt_ingest_req_answer(lt_ingest_req *self, int status, const char *json, int retry_after)
{
    char *copy = strdup(json);
    if (!copy)
        return -1;
    free(self->answer);
    self->answer = copy;
    self->status = status;
    self->retry_after = retry_after;
    return 0;
}

typedef struct {
    uint64_t id; /* 0 = free */
    void *cookie;
    int64_t deadline;
} pending;

struct lt_ingest_client {
    void *dealer;
    pending *slots;
    size_t cap, used;
    uint64_t generation; /* high bits of the next id */
    int64_t timeout_ms;
};

lt_ingest_client *lt_ingest_client_new(void *zmq_ctx, size_t max_pending, int64_t timeout_ms)
{
    if (max_pending == 0 || max_pending > SLOT_MASK)
        return NULL;
    lt_ingest_client *self = calloc(1, sizeof(*self));
    if (!self)
        return NULL;
    self->cap = max_pending;
    self->timeout_ms = timeout_ms;
    self->generation = 1;
    self->slots = calloc(max_pending, sizeof(*self->slots));
    self->dealer = zmq_socket(zmq_ctx, ZMQ_DEALER);
    int linger = 0;
    if (!self->slots || !self->dealer ||
        zmq_setsockopt(self->dealer, ZMQ_LINGER, &linger, sizeof(linger)) < 0 ||
        zmq_connect(self->dealer, LT_WRITER_ENDPOINT) < 0) {
        lt_ingest_client_destroy(&self);
        return NULL;
    }
    return self;
}

void lt_ingest_client_destroy(lt_ingest_client **self_p)
{
    if (!self_p || !*self_p)
        return;
    lt_ingest_client *self = *self_p;
    if (self->dealer)
        zmq_close(self->dealer);
    free(self->slots);
    free(self);
    *self_p = NULL;
}

void *lt_ingest_client_socket(lt_ingest_client *self)
{
    return self->dealer;
}

int lt_ingest_client_send(lt_ingest_client *self, lt_ingest_req *req, void *cookie)
{
    if (self->used == self->cap)
        return -1;
    size_t slot = 0;
    while (self->slots[slot].id != 0)
        slot++;
    uint64_t id = (self->generation++ << SLOT_BITS) | slot;
    req->id = id;
    void *ptr = req;
    if (zmq_send(self->dealer, &ptr, sizeof(ptr), ZMQ_DONTWAIT) < 0)
        return -1;
    self->slots[slot] =
        (pending){.id = id, .cookie = cookie, .deadline = lt_loop_now_ms() + self->timeout_ms};
    self->used++;
    return 0;
}

void *lt_ingest_client_recv(lt_ingest_client *self, lt_ingest_req **ret_req)
{
    lt_ingest_req *req = NULL;
    if (zmq_recv(self->dealer, &req, sizeof(req), ZMQ_DONTWAIT) != (int)sizeof(req) || !req)
        return NULL;
    size_t slot = req->id & SLOT_MASK;
    if (slot >= self->cap || self->slots[slot].id != req->id) {
        lt_ingest_req_destroy(&req);
        return NULL;
    }
    pending *p = &self->slots[slot];
    void *cookie = p->cookie;
    lt_stats_request(lt_loop_now_ms() - (p->deadline - self->timeout_ms));
    *p = (pending){0};
    self->used--;
    *ret_req = req;
    return cookie;
}

void lt_ingest_client_expire(lt_ingest_client *self, int64_t now_ms,
                             void (*fn)(void *cookie, void *arg), void *arg)
{
    for (size_t i = 0; i < self->cap && self->used > 0; i++) {
        pending *p = &self->slots[i];
        if (p->id == 0 || p->deadline > now_ms)
            continue;
        void *cookie = p->cookie;
        *p = (pending){0};
        self->used--;
        fn(cookie, arg);
    }
}

size_t lt_ingest_client_pending(const lt_ingest_client *self)
{
    return self->used;
}
