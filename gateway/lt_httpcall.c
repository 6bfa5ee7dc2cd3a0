/* lt_httpcall: request/answer between a front and an actor (see
 * lt_httpcall.h).
 *
 * Why ids and not REQ/REP: a front has many requests in flight and answers
 * may come back in any order (a slow query does not hold up a fast one once
 * there are several readers), so each request carries an id and the table
 * finds its owner. Ids are never reused within a process, so a late answer
 * to a timed-out request cannot reach a newer one. */
#include "lt_httpcall.h"
#include "lt_loop.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

typedef struct {
    uint64_t id;      /* 0 = free slot */
    void *cookie;     /* the waiting request */
    int64_t deadline; /* lt_loop_now_ms after which it times out */
} pending;

struct lt_httpcall {
    void *dealer;     /* to the actor's ROUTER */
    pending *slots;   /* max slots */
    size_t max;       /* table size */
    size_t used;      /* slots in use */
    uint64_t next_id; /* the next id to hand out */
    int64_t timeout;  /* ms a request may wait */
};

lt_httpcall *lt_httpcall_new(void *zmq_ctx, const char *endpoint, size_t max_pending,
                             int64_t timeout_ms)
{
    lt_httpcall *self = calloc(1, sizeof(*self));
    if (!self)
        return NULL;
    int linger = 0, hwm = (int)max_pending;
    self->slots = calloc(max_pending, sizeof(*self->slots));
    self->dealer = zmq_socket(zmq_ctx, ZMQ_DEALER);
    self->max = max_pending;
    self->next_id = 1;
    self->timeout = timeout_ms;
    if (!self->slots || !self->dealer ||
        zmq_setsockopt(self->dealer, ZMQ_LINGER, &linger, sizeof(linger)) < 0 ||
        zmq_setsockopt(self->dealer, ZMQ_SNDHWM, &hwm, sizeof(hwm)) < 0 ||
        zmq_connect(self->dealer, endpoint) < 0) {
        lt_httpcall_destroy(&self);
        return NULL;
    }
    return self;
}

void lt_httpcall_destroy(lt_httpcall **self_p)
{
    if (!self_p || !*self_p)
        return;
    lt_httpcall *self = *self_p;
    if (self->dealer)
        zmq_close(self->dealer);
    free(self->slots);
    free(self);
    *self_p = NULL;
}

void *lt_httpcall_socket(lt_httpcall *self)
{
    return self->dealer;
}

size_t lt_httpcall_pending(const lt_httpcall *self)
{
    return self->used;
}

int lt_httpcall_send(lt_httpcall *self, const char *verb, const char *json, void *cookie)
{
    pending *slot = NULL;
    for (size_t i = 0; i < self->max && !slot; i++)
        if (!self->slots[i].id)
            slot = &self->slots[i];
    if (!slot)
        return -1;
    char id[24];
    int n = snprintf(id, sizeof(id), "%" PRIu64, self->next_id);
    /* DONTWAIT on the first frame: a full queue means the actor is behind,
     * and the front must answer now rather than wait. */
    if (zmq_send(self->dealer, id, (size_t)n, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
        return -1;
    zmq_send(self->dealer, verb, strlen(verb), ZMQ_SNDMORE);
    zmq_send(self->dealer, json, strlen(json), 0);
    *slot = (pending){
        .id = self->next_id++, .cookie = cookie, .deadline = lt_loop_now_ms() + self->timeout};
    self->used++;
    return 0;
}

static char *recv_frame(void *sock, int *ret_more)
{
    zmq_msg_t m;
    zmq_msg_init(&m);
    if (zmq_msg_recv(&m, sock, ZMQ_DONTWAIT) < 0) {
        *ret_more = 0;
        return NULL;
    }
    *ret_more = zmq_msg_more(&m);
    char *s = malloc(zmq_msg_size(&m) + 1);
    if (s) {
        memcpy(s, zmq_msg_data(&m), zmq_msg_size(&m));
        s[zmq_msg_size(&m)] = '\0';
    }
    zmq_msg_close(&m);
    return s;
}

void *lt_httpcall_recv(lt_httpcall *self, int *ret_status, char **ret_body)
{
    int more = 0;
    char *id = recv_frame(self->dealer, &more);
    char *status = more ? recv_frame(self->dealer, &more) : NULL;
    char *body = more ? recv_frame(self->dealer, &more) : NULL;
    while (more) { /* nothing else belongs to an answer */
        free(recv_frame(self->dealer, &more));
    }
    void *cookie = NULL;
    if (id && status && body) {
        uint64_t want = strtoull(id, NULL, 10);
        for (size_t i = 0; i < self->max; i++) {
            if (self->slots[i].id != want || want == 0)
                continue;
            cookie = self->slots[i].cookie;
            self->slots[i].id = 0;
            self->used--;
            *ret_status = (int)strtol(status, NULL, 10);
            *ret_body = body;
            body = NULL;
            break;
        }
    }
    free(id);
    free(status);
    free(body);
    return cookie;
}

void lt_httpcall_expire(lt_httpcall *self, int64_t now_ms, void (*fn)(void *cookie, void *arg),
                        void *arg)
{
    for (size_t i = 0; i < self->max; i++) {
        if (!self->slots[i].id || self->slots[i].deadline > now_ms)
            continue;
        void *cookie = self->slots[i].cookie;
        self->slots[i].id = 0;
        self->used--;
        fn(cookie, arg);
    }
}
