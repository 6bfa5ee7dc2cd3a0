/* lt_stats: this process's counters (see lt_stats.h).
 *
 * The one-minute rate is a ring of 60 one-second slots: each slot remembers
 * which second it counts, and a bump into a slot still holding an older
 * second starts it afresh. Two threads meeting on a slot's turn of second
 * may lose a count between them; the rate is an indicator, the totals (plain
 * atomic adds) are exact. */
#include "lt_stats.h"

#include <stdatomic.h>
#include <string.h>
#include <time.h>

#define RATE_SLOTS 60

const int64_t lt_stats_bucket_ms[LT_STATS_NBUCKETS] = {1,   2,   5,    10,   25,   50,    100,
                                                       250, 500, 1000, 2500, 5000, 10000, 30000};

typedef struct {
    _Atomic int64_t second; /* monotonic second this slot counts */
    _Atomic uint64_t n;
} rate_slot;

static struct {
    atomic_bool serving;
    _Atomic int64_t started_unix_ms;
    _Atomic int64_t started_mono_ms;
    _Atomic uint64_t results[LT_STATS_NRESULTS];
    _Atomic uint64_t requests;
    _Atomic uint64_t buckets[LT_STATS_NBUCKETS + 1]; /* per bucket, not cumulative */
    _Atomic uint64_t latency_sum_ms;
    _Atomic int64_t writer_since_ms;
    rate_slot rate[RATE_SLOTS];
} g;

static int64_t now_ms(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void lt_stats_start(void)
{
    atomic_store(&g.started_unix_ms, now_ms(CLOCK_REALTIME));
    atomic_store(&g.started_mono_ms, now_ms(CLOCK_MONOTONIC));
    atomic_store(&g.serving, true);
}

void lt_stats_record(lt_stats_result result)
{
    if ((unsigned)result >= LT_STATS_NRESULTS)
        result = LT_STATS_REJECTED;
    atomic_fetch_add_explicit(&g.results[result], 1, memory_order_relaxed);
    int64_t sec = now_ms(CLOCK_MONOTONIC) / 1000;
    rate_slot *s = &g.rate[sec % RATE_SLOTS];
    int64_t was = atomic_load_explicit(&s->second, memory_order_relaxed);
    if (was != sec && atomic_compare_exchange_strong(&s->second, &was, sec))
        atomic_store_explicit(&s->n, 0, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->n, 1, memory_order_relaxed);
}

void lt_stats_record_word(const char *word)
{
    lt_stats_result r = LT_STATS_REJECTED;
    if (word && strcmp(word, "accepted") == 0)
        r = LT_STATS_ACCEPTED;
    else if (word && strcmp(word, "duplicate") == 0)
        r = LT_STATS_DUPLICATE;
    else if (word && strcmp(word, "stale") == 0)
        r = LT_STATS_STALE;
    lt_stats_record(r);
}

void lt_stats_request(int64_t latency_ms)
{
    if (latency_ms < 0)
        latency_ms = 0;
    size_t b = 0;
    while (b < LT_STATS_NBUCKETS && latency_ms > lt_stats_bucket_ms[b])
        b++;
    atomic_fetch_add_explicit(&g.buckets[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&g.latency_sum_ms, (uint64_t)latency_ms, memory_order_relaxed);
    atomic_fetch_add_explicit(&g.requests, 1, memory_order_relaxed);
}

void lt_stats_writer_busy(int64_t since_ms)
{
    atomic_store_explicit(&g.writer_since_ms, since_ms, memory_order_relaxed);
}

void lt_stats_snapshot(lt_stats_snap *ret)
{
    lt_stats_snap s = {0};
    int64_t mono = now_ms(CLOCK_MONOTONIC);
    s.serving = atomic_load(&g.serving);
    s.started_unix_ms = atomic_load(&g.started_unix_ms);
    s.uptime_ms = s.serving ? mono - atomic_load(&g.started_mono_ms) : 0;
    for (size_t i = 0; i < LT_STATS_NRESULTS; i++)
        s.results[i] = atomic_load_explicit(&g.results[i], memory_order_relaxed);
    s.requests = atomic_load_explicit(&g.requests, memory_order_relaxed);
    uint64_t cum = 0;
    for (size_t b = 0; b <= LT_STATS_NBUCKETS; b++) {
        cum += atomic_load_explicit(&g.buckets[b], memory_order_relaxed);
        s.buckets[b] = cum;
    }
    s.latency_count = cum;
    s.latency_sum_ms = atomic_load_explicit(&g.latency_sum_ms, memory_order_relaxed);
    /* The last 60 whole seconds: the current, still counting, second is
     * left out so the rate does not dip at each turn of the second. */
    int64_t sec = mono / 1000;
    for (size_t i = 0; i < RATE_SLOTS; i++) {
        int64_t at = atomic_load_explicit(&g.rate[i].second, memory_order_relaxed);
        if (at < sec && at >= sec - RATE_SLOTS)
            s.records_last_60s += atomic_load_explicit(&g.rate[i].n, memory_order_relaxed);
    }
    int64_t since = atomic_load_explicit(&g.writer_since_ms, memory_order_relaxed);
    s.writer_lag_ms = since > 0 && mono > since ? mono - since : 0;
    *ret = s;
}

int64_t lt_stats_quantile_ms(const lt_stats_snap *snap, double q)
{
    if (snap->latency_count == 0)
        return -1;
    /* The rank of the quantile, rounded up: p50 of 3 is the 2nd. */
    double want = q * (double)snap->latency_count;
    for (size_t b = 0; b < LT_STATS_NBUCKETS; b++)
        if ((double)snap->buckets[b] >= want)
            return lt_stats_bucket_ms[b];
    return lt_stats_bucket_ms[LT_STATS_NBUCKETS - 1];
}

void lt_stats_reset(void)
{
    atomic_store(&g.serving, false);
    atomic_store(&g.started_unix_ms, 0);
    atomic_store(&g.started_mono_ms, 0);
    for (size_t i = 0; i < LT_STATS_NRESULTS; i++)
        atomic_store(&g.results[i], 0);
    atomic_store(&g.requests, 0);
    for (size_t b = 0; b <= LT_STATS_NBUCKETS; b++)
        atomic_store(&g.buckets[b], 0);
    atomic_store(&g.latency_sum_ms, 0);
    atomic_store(&g.writer_since_ms, 0);
    for (size_t i = 0; i < RATE_SLOTS; i++) {
        atomic_store(&g.rate[i].second, 0);
        atomic_store(&g.rate[i].n, 0);
    }
}
