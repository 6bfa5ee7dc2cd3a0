/* lt_stats: this process's own numbers (Redis INFO style). The modules that
 * own an event bump its counter where it happens, with relaxed atomics, from
 * whatever thread they run in; status and metrics take a snapshot and only
 * format it. Nothing here is shared between processes: what must hold across
 * several gateways on one database is read from the database (lt_status).
 *
 * Process-wide on purpose: a counter bump is one atomic add, with no actor,
 * socket or lock between the hot path and the count. */
#ifndef LT_STATS_H
#define LT_STATS_H

#include <stdbool.h>
#include <stdint.h>

/* What the writer answered for one record. */
typedef enum {
    LT_STATS_ACCEPTED = 0,
    LT_STATS_DUPLICATE,
    LT_STATS_STALE,
    LT_STATS_REJECTED,
    LT_STATS_NRESULTS
} lt_stats_result;

/* Upper bounds, in milliseconds, of the ingest latency histogram's finite
 * buckets (Prometheus `le`, in seconds, is these / 1000). */
#define LT_STATS_NBUCKETS 14
extern const int64_t lt_stats_bucket_ms[LT_STATS_NBUCKETS];

/* A consistent-enough copy of the counters (each value read atomically; the
 * set is not one transaction, which a status page does not need). */
typedef struct lt_stats_snap {
    bool serving;            /* lt_stats_start was called: this is a gateway */
    int64_t started_unix_ms; /* wall clock at lt_stats_start */
    int64_t uptime_ms;       /* monotonic since lt_stats_start */
    uint64_t results[LT_STATS_NRESULTS];
    uint64_t requests;         /* ingest requests answered by the writer or timed out */
    uint64_t records_last_60s; /* records answered in the last 60 whole seconds */
    uint64_t buckets[LT_STATS_NBUCKETS + 1]; /* cumulative counts; the last is +Inf */
    uint64_t latency_count;                  /* = buckets[LT_STATS_NBUCKETS] */
    uint64_t latency_sum_ms;                 /* sum of the measured latencies */
    int64_t writer_lag_ms; /* how long the writer's current group commit has run; 0 idle */
} lt_stats_snap;

/* Marks this process as a serving gateway and records its start. */
void lt_stats_start(void);

/* One record answered by the writer (any thread). */
void lt_stats_record(lt_stats_result result);
/* The same from the result word of an answer ("accepted", "duplicate",
 * "stale", anything else = rejected). */
void lt_stats_record_word(const char *word);

/* One ingest request answered, latency_ms after the front handed it to the
 * writer (any thread; negative values count as 0). */
void lt_stats_request(int64_t latency_ms);

/* The writer started a group commit at since_ms (lt_loop_now_ms clock), or
 * is idle (0). */
void lt_stats_writer_busy(int64_t since_ms);

/* Copies the counters. */
void lt_stats_snapshot(lt_stats_snap *ret);

/* The upper bound (ms) of the bucket holding quantile q (0 < q <= 1) of a
 * snapshot's latencies; -1 when nothing was measured; the last finite bound
 * when q falls in +Inf. */
int64_t lt_stats_quantile_ms(const lt_stats_snap *snap, double q);

/* Zeroes everything (unit tests). */
void lt_stats_reset(void);

#endif
