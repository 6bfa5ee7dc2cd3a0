/* lt_push's record of what the gateway acknowledged: the ack log ("MaHoSo
 * sequence" lines a test checks against the database after killing the
 * gateway at any moment), the latency histogram, and the report printed at
 * the end (text, or one JSON object for the benchmarks to read). */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lt_push.h"

static unsigned h_index(uint64_t us)
{
    if (us < 2 * H_SUB)
        return (unsigned)us;
    unsigned e = 63u - (unsigned)__builtin_clzll(us); /* us >= 2^6 */
    unsigned sub = (unsigned)(us >> (e - 5)) & (H_SUB - 1);
    unsigned idx = 2 * H_SUB + (e - 6) * H_SUB + sub;
    return idx < H_BUCKETS ? idx : H_BUCKETS - 1;
}

/* The middle of bucket idx, in µs. */
static double h_value(unsigned idx)
{
    if (idx < 2 * H_SUB)
        return idx;
    unsigned e = (idx - 2 * H_SUB) / H_SUB + 6, sub = (idx - 2 * H_SUB) % H_SUB;
    double lo = ldexp(1.0, (int)e) + sub * ldexp(1.0, (int)e - 5);
    return lo + ldexp(1.0, (int)e - 6);
}

void lt_push_hist_add(hist *h, uint64_t us)
{
    h->b[h_index(us)]++;
    h->n++;
    h->sum_us += (double)us;
    if (us > h->max_us)
        h->max_us = us;
}

/* The q-quantile in ms (0 when empty), never above the exact maximum. */
static double h_quantile_ms(const hist *h, double q)
{
    if (h->n == 0)
        return 0;
    uint64_t rank = (uint64_t)ceil(q * (double)h->n), seen = 0;
    if (rank < 1)
        rank = 1;
    for (unsigned k = 0; k < H_BUCKETS; k++) {
        seen += h->b[k];
        if (seen >= rank) {
            double v = h_value(k);
            return (v < (double)h->max_us ? v : (double)h->max_us) / 1000.0;
        }
    }
    return (double)h->max_us / 1000.0;
}

/* Appends "MaHoSo sequence" lines for the accepted records of one answer,
 * in one write so that a line is never half there. */
void lt_push_ack_write(push *p, const char *text, size_t len)
{
    if (p->ack_fd < 0 || len == 0)
        return;
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(p->ack_fd, text + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            fprintf(stderr, "lt_push: ack log write failed: %s\n", strerror(errno));
            close(p->ack_fd);
            p->ack_fd = -1;
            return;
        }
        off += (size_t)w;
    }
}

void lt_push_report(const push *p)
{
    const stats *st = &p->st;
    int64_t end = p->last_ns ? p->last_ns : lt_push_now_ns();
    double elapsed = p->first_ns ? (double)(end - p->first_ns) / 1e9 : 0;
    uint64_t answered = 0;
    for (int r = 0; r < R_KINDS; r++)
        answered += st->results[r];
    double rps = elapsed > 0 ? (double)answered / elapsed : 0;
    double aps = elapsed > 0 ? (double)st->results[R_ACCEPTED] / elapsed : 0;
    const char *transport = p->o.zmq ? "zmq" : "http";
    if (p->o.json) {
        json_t *doc = json_object(), *res = json_object(), *codes = json_object();
        json_t *lat = json_object(), *hist_a = json_array();
#define SET(obj, key, val)  json_object_set_new((obj), (key), (val))
#define SETI(obj, key, val) SET((obj), (key), json_integer((json_int_t)(val)))
        for (int r = 0; r < R_KINDS; r++)
            SETI(res, lt_push_result_names[r], st->results[r]);
        for (int c = 0; c < 600; c++)
            if (st->http_status[c]) {
                char k[8];
                snprintf(k, sizeof(k), "%d", c);
                SETI(codes, k, st->http_status[c]);
            }
        for (unsigned k = 0; k < H_BUCKETS; k++)
            if (st->lat.b[k])
                json_array_append_new(
                    hist_a, json_pack("[f, I]", h_value(k) / 1000.0, (json_int_t)st->lat.b[k]));
        SET(lat, "p50", json_real(h_quantile_ms(&st->lat, 0.50)));
        SET(lat, "p90", json_real(h_quantile_ms(&st->lat, 0.90)));
        SET(lat, "p99", json_real(h_quantile_ms(&st->lat, 0.99)));
        SET(lat, "p999", json_real(h_quantile_ms(&st->lat, 0.999)));
        SET(lat, "max", json_real((double)st->lat.max_us / 1000.0));
        SET(lat, "mean", json_real(st->lat.n ? st->lat.sum_us / (double)st->lat.n / 1000.0 : 0.0));
        SET(lat, "histogram", hist_a);
        SET(doc, "transport", json_string(transport));
        SET(doc, "endpoint", json_string(p->o.endpoint));
        SETI(doc, "senders", p->o.senders);
        SETI(doc, "batch", p->o.batch);
        SETI(doc, "run_id", p->o.run_id);
        SETI(doc, "seed", p->o.seed);
        SET(doc, "rate_limit", json_real(p->o.rate));
        SET(doc, "elapsed_s", json_real(elapsed));
        SET(doc, "records_per_s", json_real(rps));
        SET(doc, "accepted_per_s", json_real(aps));
        SET(doc, "results", res);
        SETI(doc, "records_sent", st->records_sent);
        SETI(doc, "updates_sent", st->updates_sent);
        SETI(doc, "unacknowledged", st->unacked);
        SETI(doc, "requests", st->requests);
        SETI(doc, "answered_requests", st->answered);
        SETI(doc, "retries", st->retries);
        SETI(doc, "transport_errors", st->transport_errors);
        SETI(doc, "timeouts", st->timeouts);
        SET(doc, "http_status", codes);
        SETI(doc, "zmq_errors", st->zmq_errors);
        SETI(doc, "protocol_errors", st->protocol_errors);
        SETI(doc, "ack_lines", st->ack_lines);
        SET(doc, "latency_ms", lat);
        SET(doc, "cut_short", json_boolean(p->cut_short));
#undef SET
#undef SETI
        char *text = json_dumps(doc, JSON_COMPACT);
        printf("%s\n", text ? text : "{}");
        free(text);
        json_decref(doc);
        return;
    }
    printf("lt_push: %s %s, %u senders, batch %u, run id %llu\n", transport, p->o.endpoint,
           p->o.senders, p->o.batch, (unsigned long long)p->o.run_id);
    printf("  %llu records answered in %.3f s: %.0f records/s (accepted %.0f/s)%s\n",
           (unsigned long long)answered, elapsed, rps, aps,
           p->cut_short ? " -- cut short by the deadline" : "");
    printf("  results: accepted %llu, duplicate %llu, stale %llu, rejected %llu; "
           "unacknowledged %llu (updates sent %llu)\n",
           (unsigned long long)st->results[R_ACCEPTED],
           (unsigned long long)st->results[R_DUPLICATE], (unsigned long long)st->results[R_STALE],
           (unsigned long long)st->results[R_REJECTED], (unsigned long long)st->unacked,
           (unsigned long long)st->updates_sent);
    printf("  requests %llu (answered %llu, retries %llu); transport errors %llu (timeouts "
           "%llu); protocol errors %llu",
           (unsigned long long)st->requests, (unsigned long long)st->answered,
           (unsigned long long)st->retries, (unsigned long long)st->transport_errors,
           (unsigned long long)st->timeouts, (unsigned long long)st->protocol_errors);
    if (p->o.zmq)
        printf("; error answers %llu", (unsigned long long)st->zmq_errors);
    for (int c = 0; c < 600; c++)
        if (st->http_status[c])
            printf("; HTTP %d: %llu", c, (unsigned long long)st->http_status[c]);
    printf("\n  ack latency (ms): p50 %.2f, p90 %.2f, p99 %.2f, max %.2f\n",
           h_quantile_ms(&st->lat, 0.5), h_quantile_ms(&st->lat, 0.9),
           h_quantile_ms(&st->lat, 0.99), (double)st->lat.max_us / 1000.0);
}
