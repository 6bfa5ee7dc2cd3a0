/* lt_loop: a zmq_poll loop with fd watches and timers (see lt_loop.h).
 *
 * Why not libuv or libevent: ZeroMQ sockets are not file descriptors one can
 * wait on directly (their ZMQ_FD is edge-triggered and needs ZMQ_EVENTS
 * rechecks), and zmq_poll already handles them beside raw fds. A handful of
 * items per thread makes a linear scan cheaper than any structure. */
#include "lt_loop.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

/* Each thread watches a few sockets and descriptors; libcurl may add some
 * per transfer. The limits bound memory and make overflow an error. */
#define LT_LOOP_MAX_ITEMS  256
#define LT_LOOP_MAX_TIMERS 64

typedef struct {
    bool is_socket;         /* dispatch through socket_fn or fd_fn */
    bool removed;           /* removed during dispatch; compacted after */
    lt_loop_socket_fn *sfn; /* handler for a ZeroMQ socket */
    lt_loop_fd_fn *ffn;     /* handler for a raw descriptor */
    void *arg;              /* passed back to the handler */
} lt_loop_handler;

typedef struct {
    int id;           /* 0 = free slot */
    int64_t when;     /* next expiry, lt_loop_now_ms clock */
    int64_t interval; /* 0 = one-shot */
    lt_loop_timer_fn *fn;
    void *arg;
} lt_loop_timer;

struct lt_loop {
    zmq_pollitem_t items[LT_LOOP_MAX_ITEMS];     /* what zmq_poll waits on */
    lt_loop_handler handlers[LT_LOOP_MAX_ITEMS]; /* parallel to items */
    int nitems;                                  /* used slots in items */
    bool dirty;                                  /* some handler removed */
    lt_loop_timer timers[LT_LOOP_MAX_TIMERS];
    int next_timer_id; /* ids are never reused */
    bool stop;         /* set by lt_loop_stop */
};

int64_t lt_loop_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

lt_loop *lt_loop_new(void)
{
    lt_loop *self = calloc(1, sizeof(*self));
    if (self)
        self->next_timer_id = 1;
    return self;
}

void lt_loop_destroy(lt_loop **self_p)
{
    if (!self_p || !*self_p)
        return;
    free(*self_p);
    *self_p = NULL;
}

static int add_item(lt_loop *self, void *socket, int fd, short events, lt_loop_socket_fn *sfn,
                    lt_loop_fd_fn *ffn, void *arg)
{
    if (self->nitems >= LT_LOOP_MAX_ITEMS)
        return -1;
    int i = self->nitems++;
    self->items[i] = (zmq_pollitem_t){.socket = socket, .fd = fd, .events = events};
    self->handlers[i] =
        (lt_loop_handler){.is_socket = socket != NULL, .sfn = sfn, .ffn = ffn, .arg = arg};
    return 0;
}

int lt_loop_add_socket(lt_loop *self, void *socket, lt_loop_socket_fn *fn, void *arg)
{
    return add_item(self, socket, -1, ZMQ_POLLIN, fn, NULL, arg);
}

int lt_loop_add_fd(lt_loop *self, int fd, short events, lt_loop_fd_fn *fn, void *arg)
{
    return add_item(self, NULL, fd, events, NULL, fn, arg);
}

static int find_fd(const lt_loop *self, int fd)
{
    for (int i = 0; i < self->nitems; i++)
        if (!self->items[i].socket && self->items[i].fd == fd && !self->handlers[i].removed)
            return i;
    return -1;
}

void lt_loop_set_fd_events(lt_loop *self, int fd, short events)
{
    int i = find_fd(self, fd);
    if (i >= 0)
        self->items[i].events = events;
}

/* Removal only marks the slot: a handler may remove items while the loop is
 * walking the array, so compaction waits until the walk is over. */
static void mark_removed(lt_loop *self, int i)
{
    self->handlers[i].removed = true;
    self->items[i].events = 0;
    self->dirty = true;
}

void lt_loop_remove_fd(lt_loop *self, int fd)
{
    int i = find_fd(self, fd);
    if (i >= 0)
        mark_removed(self, i);
}

void lt_loop_remove_socket(lt_loop *self, void *socket)
{
    for (int i = 0; i < self->nitems; i++)
        if (self->items[i].socket == socket && !self->handlers[i].removed)
            mark_removed(self, i);
}

static void compact(lt_loop *self)
{
    int j = 0;
    for (int i = 0; i < self->nitems; i++) {
        if (self->handlers[i].removed)
            continue;
        if (i != j) {
            self->items[j] = self->items[i];
            self->handlers[j] = self->handlers[i];
        }
        j++;
    }
    self->nitems = j;
    self->dirty = false;
}

int lt_loop_add_timer(lt_loop *self, int64_t delay_ms, int64_t interval_ms, lt_loop_timer_fn *fn,
                      void *arg)
{
    for (int i = 0; i < LT_LOOP_MAX_TIMERS; i++) {
        lt_loop_timer *t = &self->timers[i];
        if (t->id)
            continue;
        *t = (lt_loop_timer){.id = self->next_timer_id++,
                             .when = lt_loop_now_ms() + (delay_ms > 0 ? delay_ms : 0),
                             .interval = interval_ms > 0 ? interval_ms : 0,
                             .fn = fn,
                             .arg = arg};
        return t->id;
    }
    return -1;
}

void lt_loop_cancel_timer(lt_loop *self, int timer_id)
{
    for (int i = 0; i < LT_LOOP_MAX_TIMERS; i++)
        if (timer_id > 0 && self->timers[i].id == timer_id)
            self->timers[i].id = 0;
}

void lt_loop_stop(lt_loop *self)
{
    self->stop = true;
}

static long next_timeout(const lt_loop *self, int64_t now)
{
    int64_t best = -1;
    for (int i = 0; i < LT_LOOP_MAX_TIMERS; i++) {
        const lt_loop_timer *t = &self->timers[i];
        if (!t->id)
            continue;
        int64_t left = t->when > now ? t->when - now : 0;
        if (best < 0 || left < best)
            best = left;
    }
    return (long)best; /* -1: wait for I/O only */
}

/* Fires expired timers earliest-due first, so a late wake-up (a busy
 * machine) keeps their order. Each round fires at most one table's worth, so
 * a timer re-armed for "now" cannot starve the sockets. */
static int fire_timers(lt_loop *self)
{
    int64_t now = lt_loop_now_ms();
    for (int round = 0; round < LT_LOOP_MAX_TIMERS && !self->stop; round++) {
        lt_loop_timer *next = NULL;
        for (int i = 0; i < LT_LOOP_MAX_TIMERS; i++) {
            lt_loop_timer *t = &self->timers[i];
            if (t->id && t->when <= now && (!next || t->when < next->when))
                next = t;
        }
        if (!next)
            break;
        int id = next->id;
        lt_loop_timer_fn *fn = next->fn;
        void *arg = next->arg;
        if (next->interval)
            next->when = now + next->interval;
        else
            next->id = 0;
        if (fn(self, id, arg) < 0)
            return -1;
    }
    return 0;
}

static int dispatch(lt_loop *self)
{
    /* Items added by a handler land past n and wait for the next poll. */
    int n = self->nitems;
    for (int i = 0; i < n && !self->stop; i++) {
        zmq_pollitem_t *it = &self->items[i];
        lt_loop_handler *h = &self->handlers[i];
        if (!it->revents || h->removed)
            continue;
        short revents = it->revents;
        it->revents = 0;
        int rc =
            h->is_socket ? h->sfn(self, it->socket, h->arg) : h->ffn(self, it->fd, revents, h->arg);
        if (rc < 0)
            return -1;
    }
    return 0;
}

int lt_loop_run(lt_loop *self)
{
    self->stop = false;
    while (!self->stop) {
        if (self->dirty)
            compact(self);
        long timeout = next_timeout(self, lt_loop_now_ms());
        int rc = zmq_poll(self->items, self->nitems, timeout);
        if (rc < 0) {
            if (errno == EINTR)
                continue;
            return errno == ETERM ? 0 : -1;
        }
        if (rc > 0 && dispatch(self) < 0)
            break;
        if (fire_timers(self) < 0)
            break;
    }
    return 0;
}
