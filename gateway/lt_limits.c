/* lt_limits: token buckets per sender (see lt_limits.h).
 *
 * Buckets live in an open-addressing table of fixed size, so a peer that
 * invents keys (random tokens) cannot grow it: when the table is full, the
 * bucket holding the most records is forgotten, since a forgotten bucket
 * comes back full and so loses the least. Records are counted in
 * thousandths so that a slow rate still refills between two calls. */
#include "lt_limits.h"
#include "lt_token.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_MAX 72 /* "a:" + an IPv6 address, or "t:" + a token prefix */
#define MILLI   1000

typedef struct {
    char key[KEY_MAX]; /* "" = free */
    int64_t milli;     /* records left, in thousandths, at `at` */
    int64_t at;        /* lt_loop_now_ms of the last refill */
} bucket;

struct lt_limits {
    bucket *slots;
    size_t cap;  /* slots: a power of two, twice max_keys */
    size_t max;  /* keys held at most */
    size_t used; /* keys held */
};

lt_limits *lt_limits_new(size_t max_keys)
{
    if (max_keys == 0 || max_keys > (SIZE_MAX / 4) / sizeof(bucket))
        return NULL;
    lt_limits *self = calloc(1, sizeof(*self));
    if (!self)
        return NULL;
    self->cap = 1;
    while (self->cap < max_keys * 2)
        self->cap <<= 1;
    self->max = max_keys;
    self->slots = calloc(self->cap, sizeof(*self->slots));
    if (!self->slots)
        lt_limits_destroy(&self);
    return self;
}

void lt_limits_destroy(lt_limits **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->slots);
    free(*self_p);
    *self_p = NULL;
}

size_t lt_limits_size(const lt_limits *self)
{
    return self->used;
}

void lt_limits_key(const char *token, const char *addr, char *ret_key, size_t cap)
{
    char prefix[LT_TOKEN_PREFIX_LEN + 1];
    if (token && token[0] && lt_token_prefix(token, prefix) == 0)
        snprintf(ret_key, cap, "t:%s", prefix);
    else
        snprintf(ret_key, cap, "a:%.64s", addr ? addr : "");
}

static size_t hash(const char *s)
{
    size_t h = 1469598103934665603u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return h;
}

static int64_t refilled(const bucket *b, int64_t rate, int64_t burst, int64_t now_ms)
{
    int64_t full = burst * MILLI;
    int64_t dt = now_ms > b->at ? now_ms - b->at : 0;
    /* rate records/s = rate thousandths/ms; stop at full before overflowing */
    if (dt > 0 && rate > 0 && dt >= (full - b->milli) / rate + 1)
        return full;
    int64_t m = b->milli + dt * rate;
    return m > full ? full : m;
}

/* Linear probing with backward-shift deletion keeps lookups correct
 * without tombstones. */
static void remove_at(lt_limits *self, size_t i)
{
    size_t mask = self->cap - 1;
    self->slots[i].key[0] = '\0';
    self->used--;
    for (size_t j = (i + 1) & mask; self->slots[j].key[0]; j = (j + 1) & mask) {
        size_t home = hash(self->slots[j].key) & mask;
        /* j's entry may move to i when i lies cyclically in [home, j) */
        bool movable = i <= j ? (home <= i || home > j) : (home <= i && home > j);
        if (movable) {
            self->slots[i] = self->slots[j];
            self->slots[j].key[0] = '\0';
            i = j;
        }
    }
}

static void evict_fullest(lt_limits *self, int64_t rate, int64_t burst, int64_t now_ms)
{
    size_t best = 0;
    int64_t best_milli = -1;
    for (size_t i = 0; i < self->cap; i++) {
        if (!self->slots[i].key[0])
            continue;
        int64_t m = refilled(&self->slots[i], rate, burst, now_ms);
        if (m > best_milli) {
            best_milli = m;
            best = i;
        }
    }
    if (best_milli >= 0)
        remove_at(self, best);
}

static bucket *find_or_add(lt_limits *self, const char *key, int64_t rate, int64_t burst,
                           int64_t now_ms)
{
    size_t mask = self->cap - 1;
    size_t i = hash(key) & mask;
    for (; self->slots[i].key[0]; i = (i + 1) & mask)
        if (strcmp(self->slots[i].key, key) == 0)
            return &self->slots[i];
    if (self->used == self->max) {
        evict_fullest(self, rate, burst, now_ms);
        for (i = hash(key) & mask; self->slots[i].key[0]; i = (i + 1) & mask)
            ;
    }
    bucket *b = &self->slots[i];
    snprintf(b->key, sizeof(b->key), "%s", key);
    b->milli = burst * MILLI;
    b->at = now_ms;
    self->used++;
    return b;
}

int lt_limits_take(lt_limits *self, const char *key, int64_t rate, int64_t burst, int64_t cost,
                   int64_t now_ms)
{
    if (rate <= 0)
        return 0;
    if (burst < 1)
        burst = 1;
    if (cost < 1)
        cost = 1;
    if (cost > burst)
        cost = burst;
    bucket *b = find_or_add(self, key, rate, burst, now_ms);
    b->milli = refilled(b, rate, burst, now_ms);
    b->at = now_ms;
    int64_t need = cost * MILLI;
    if (b->milli >= need) {
        b->milli -= need;
        return 0;
    }
    /* whole seconds, rounded up: (need - have) thousandths at rate per ms */
    int64_t ms = (need - b->milli + rate - 1) / rate;
    int64_t secs = (ms + 999) / 1000;
    return secs < 1 ? 1 : secs > 3600 ? 3600 : (int)secs;
}
