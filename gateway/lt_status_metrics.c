/* lt_status_metrics: the status document in the Prometheus text exposition
 * format 0.0.4 (GET /metrics), part of lt_status_doc (see lt_status_doc.h).
 *
 * Metrics are rendered from the document itself, so /metrics and
 * /v1/status never disagree, plus the latency histogram, which the document
 * only summarises. Conventions: every name starts with lienthong_, values
 * are in base units (seconds), counters end in _total, and labels are only
 * destination, kind, state, unit, result and le: never a dossier code or
 * personal data (unit codes are administrative, not personal). */
#include "lt_status_doc.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lt_sbuf.h"

static void addf(lt_sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void addf(lt_sbuf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n > 0)
        lt_sbuf_add(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* A label value as the format wants it: backslash, quote and newline
 * escaped. */
static void add_label_value(lt_sbuf *b, const char *v)
{
    for (const char *p = v ? v : ""; *p; p++) {
        if (*p == '\\')
            lt_sbuf_adds(b, "\\\\");
        else if (*p == '"')
            lt_sbuf_adds(b, "\\\"");
        else if (*p == '\n')
            lt_sbuf_adds(b, "\\n");
        else
            lt_sbuf_addc(b, *p);
    }
}

static void head(lt_sbuf *b, const char *name, const char *type, const char *help)
{
    addf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A value: integers as integers, others with enough digits; NaN never
 * appears (absent values are left out by the callers). */
static void add_value(lt_sbuf *b, double v)
{
    if (v == (double)(long long)v && v < 9e15 && v > -9e15)
        addf(b, " %lld\n", (long long)v);
    else
        addf(b, " %.6g\n", v);
}

static void sample(lt_sbuf *b, const char *name, const char *k1, const char *v1, const char *k2,
                   const char *v2, const char *k3, const char *v3, double value)
{
    lt_sbuf_adds(b, name);
    const char *keys[3] = {k1, k2, k3}, *vals[3] = {v1, v2, v3};
    bool any = false;
    for (int i = 0; i < 3; i++) {
        if (!keys[i])
            continue;
        lt_sbuf_addc(b, any ? ',' : '{');
        any = true;
        lt_sbuf_adds(b, keys[i]);
        lt_sbuf_adds(b, "=\"");
        add_label_value(b, vals[i]);
        lt_sbuf_addc(b, '"');
    }
    if (any)
        lt_sbuf_addc(b, '}');
    add_value(b, value);
}

static double num(const json_t *o, const char *key)
{
    return json_number_value(json_object_get(o, key));
}

/* RFC 3339 text from the database or ourselves → Unix seconds; -1 when
 * absent or unreadable. */
static double unix_seconds(const char *t)
{
    if (!t)
        return -1;
    struct tm tm = {0};
    const char *rest = strptime(t, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!rest)
        return -1;
    double frac = 0;
    if (*rest == '.') {
        char *end = NULL;
        frac = strtod(rest, &end);
        rest = end;
    }
    long off = 0;
    if (*rest == '+' || *rest == '-') {
        int hh = 0, mm = 0;
        if (sscanf(rest + 1, "%2d:%2d", &hh, &mm) >= 1)
            off = (long)(hh * 3600 + mm * 60) * (*rest == '-' ? -1 : 1);
    }
    return (double)timegm(&tm) - (double)off + frac;
}

static const char *const dest_states[] = {"up", "degraded", "down", "circuit_open", "unconfigured"};

static void destinations(lt_sbuf *b, const json_t *dests)
{
    static const struct {
        const char *name, *key, *help;
    } gauges[] = {
        {"lienthong_destination_backlog", "backlog",
         "Deliveries not yet made (pending, inflight, retrying)."},
        {"lienthong_destination_retrying", "retrying", "Deliveries waiting to be retried."},
        {"lienthong_destination_unrouted", "unrouted",
         "Deliveries waiting for the unit's address to be configured."},
        {"lienthong_destination_dead_letters", "dead_letters",
         "Deliveries refused or out of retries (dead letters)."},
        {"lienthong_destination_consecutive_failures", "failures",
         "Failed calls since the last success."},
    };
    size_t i;
    json_t *d;
    for (size_t g = 0; g < sizeof(gauges) / sizeof(gauges[0]); g++) {
        head(b, gauges[g].name, "gauge", gauges[g].help);
        json_array_foreach(dests, i, d)
        {
            sample(b, gauges[g].name, "destination", json_string_value(json_object_get(d, "name")),
                   "kind", json_string_value(json_object_get(d, "kind")), NULL, NULL,
                   num(d, gauges[g].key));
        }
    }
    head(b, "lienthong_destination_oldest_pending_age_seconds", "gauge",
         "Age of the oldest undelivered row (0 when none waits).");
    json_array_foreach(dests, i, d)
    {
        sample(b, "lienthong_destination_oldest_pending_age_seconds", "destination",
               json_string_value(json_object_get(d, "name")), "kind",
               json_string_value(json_object_get(d, "kind")), NULL, NULL,
               num(d, "oldest_pending_age_s"));
    }
    head(b, "lienthong_destination_deliveries_per_second", "gauge",
         "Deliveries per second over the last five minutes, all gateways.");
    json_array_foreach(dests, i, d)
    {
        sample(b, "lienthong_destination_deliveries_per_second", "destination",
               json_string_value(json_object_get(d, "name")), "kind",
               json_string_value(json_object_get(d, "kind")), NULL, NULL,
               num(d, "delivered_per_min") / 60.0);
    }
    head(b, "lienthong_destination_last_success_timestamp_seconds", "gauge",
         "Unix time of the last delivery (absent before the first).");
    json_array_foreach(dests, i, d)
    {
        double t = unix_seconds(json_string_value(json_object_get(d, "last_success_at")));
        if (t >= 0)
            sample(b, "lienthong_destination_last_success_timestamp_seconds", "destination",
                   json_string_value(json_object_get(d, "name")), "kind",
                   json_string_value(json_object_get(d, "kind")), NULL, NULL, t);
    }
    head(b, "lienthong_destination_state", "gauge",
         "1 for the destination's current state, 0 for the others.");
    json_array_foreach(dests, i, d)
    {
        const char *st = json_string_value(json_object_get(d, "state"));
        for (size_t s = 0; s < sizeof(dest_states) / sizeof(dest_states[0]); s++)
            sample(b, "lienthong_destination_state", "destination",
                   json_string_value(json_object_get(d, "name")), "kind",
                   json_string_value(json_object_get(d, "kind")), "state", dest_states[s],
                   st && strcmp(st, dest_states[s]) == 0 ? 1 : 0);
    }
}

static void senders(lt_sbuf *b, const json_t *list)
{
    size_t i;
    json_t *s;
    head(b, "lienthong_sender_records_today", "gauge",
         "Records stored today (Asia/Ho_Chi_Minh) per sending unit, all gateways.");
    json_array_foreach(list, i, s)
    {
        sample(b, "lienthong_sender_records_today", "unit",
               json_string_value(json_object_get(s, "unit")), NULL, NULL, NULL, NULL,
               num(s, "records_today"));
    }
    head(b, "lienthong_sender_rejects_today", "gauge",
         "Records refused today (Asia/Ho_Chi_Minh) per sending unit, all gateways.");
    json_array_foreach(list, i, s)
    {
        sample(b, "lienthong_sender_rejects_today", "unit",
               json_string_value(json_object_get(s, "unit")), NULL, NULL, NULL, NULL,
               num(s, "rejects_today"));
    }
}

static void catalog(lt_sbuf *b, const json_t *c)
{
    const json_t *procs = json_object_get(c, "procedures");
    head(b, "lienthong_catalog_version", "gauge", "The newest catalog version (0 before any).");
    sample(b, "lienthong_catalog_version", NULL, NULL, NULL, NULL, NULL, NULL, num(c, "version"));
    head(b, "lienthong_catalog_procedures", "gauge", "Procedures in the catalog by state.");
    static const char *const states[] = {"published", "abolished", "unpublished"};
    for (size_t s = 0; s < 3; s++)
        sample(b, "lienthong_catalog_procedures", "state", states[s], NULL, NULL, NULL, NULL,
               num(procs, states[s]));
    const json_t *run = json_object_get(c, "last_run");
    double t = unix_seconds(json_string_value(json_object_get(run, "finished_at")));
    if (t >= 0) {
        head(b, "lienthong_catalog_last_sync_timestamp_seconds", "gauge",
             "Unix time the last catalog sync run finished.");
        sample(b, "lienthong_catalog_last_sync_timestamp_seconds", NULL, NULL, NULL, NULL, NULL,
               NULL, t);
    }
    if (json_is_object(run)) {
        head(b, "lienthong_catalog_last_sync_ok", "gauge",
             "1 when the last catalog sync run ended ok (or is running), 0 otherwise.");
        const char *o = json_string_value(json_object_get(run, "outcome"));
        sample(b, "lienthong_catalog_last_sync_ok", NULL, NULL, NULL, NULL, NULL, NULL,
               o && (strcmp(o, "ok") == 0 || strcmp(o, "running") == 0) ? 1 : 0);
    }
}

static void process(lt_sbuf *b, const json_t *doc, const lt_stats_snap *s)
{
    const json_t *inst = json_object_get(doc, "instance");
    if (!s || !s->serving || !json_is_object(inst))
        return;
    head(b, "lienthong_process_start_time_seconds", "gauge", "Unix time this gateway started.");
    sample(b, "lienthong_process_start_time_seconds", NULL, NULL, NULL, NULL, NULL, NULL,
           (double)s->started_unix_ms / 1000.0);
    static const char *const words[LT_STATS_NRESULTS] = {"accepted", "duplicate", "stale",
                                                         "rejected"};
    head(b, "lienthong_ingest_records_total", "counter",
         "Records answered by this process, by result.");
    for (size_t r = 0; r < LT_STATS_NRESULTS; r++)
        sample(b, "lienthong_ingest_records_total", "result", words[r], NULL, NULL, NULL, NULL,
               (double)s->results[r]);
    head(b, "lienthong_ingest_requests_total", "counter",
         "Ingest requests (HTTP and ZeroMQ) this process handed to the writer and answered.");
    sample(b, "lienthong_ingest_requests_total", NULL, NULL, NULL, NULL, NULL, NULL,
           (double)s->requests);
    head(b, "lienthong_ingest_request_duration_seconds", "histogram",
         "From hand-off to the writer to the answer after commit (millisecond resolution).");
    for (size_t k = 0; k < LT_STATS_NBUCKETS; k++) {
        char le[32];
        snprintf(le, sizeof(le), "%g", (double)lt_stats_bucket_ms[k] / 1000.0);
        sample(b, "lienthong_ingest_request_duration_seconds_bucket", "le", le, NULL, NULL, NULL,
               NULL, (double)s->buckets[k]);
    }
    sample(b, "lienthong_ingest_request_duration_seconds_bucket", "le", "+Inf", NULL, NULL, NULL,
           NULL, (double)s->latency_count);
    sample(b, "lienthong_ingest_request_duration_seconds_sum", NULL, NULL, NULL, NULL, NULL, NULL,
           (double)s->latency_sum_ms / 1000.0);
    sample(b, "lienthong_ingest_request_duration_seconds_count", NULL, NULL, NULL, NULL, NULL, NULL,
           (double)s->latency_count);
    head(b, "lienthong_writer_lag_seconds", "gauge",
         "How long the writer's current group commit has run (0 when idle).");
    sample(b, "lienthong_writer_lag_seconds", NULL, NULL, NULL, NULL, NULL, NULL,
           (double)s->writer_lag_ms / 1000.0);
}

char *lt_statusdoc_metrics(const json_t *doc, const lt_stats_snap *snap)
{
    lt_sbuf b = {0};
    const json_t *db = json_object_get(doc, "database");
    head(&b, "lienthong_healthy", "gauge", "1 when no status threshold is crossed.");
    sample(&b, "lienthong_healthy", NULL, NULL, NULL, NULL, NULL, NULL,
           json_is_true(json_object_get(doc, "healthy")) ? 1 : 0);
    head(&b, "lienthong_problems", "gauge", "Status problems found (see GET /v1/status).");
    sample(&b, "lienthong_problems", NULL, NULL, NULL, NULL, NULL, NULL,
           (double)json_array_size(json_object_get(doc, "problems")));
    head(&b, "lienthong_database_up", "gauge", "1 when the database answered the status query.");
    sample(&b, "lienthong_database_up", NULL, NULL, NULL, NULL, NULL, NULL,
           json_is_true(json_object_get(db, "reachable")) ? 1 : 0);
    if (json_is_integer(json_object_get(db, "last_sequence"))) {
        head(&b, "lienthong_events_last_sequence", "gauge", "The newest stored event's sequence.");
        sample(&b, "lienthong_events_last_sequence", NULL, NULL, NULL, NULL, NULL, NULL,
               num(db, "last_sequence"));
    }
    if (json_is_integer(json_object_get(db, "routing_lag_events"))) {
        head(&b, "lienthong_routing_lag_events", "gauge",
             "Stored events not yet routed to destinations.");
        sample(&b, "lienthong_routing_lag_events", NULL, NULL, NULL, NULL, NULL, NULL,
               num(db, "routing_lag_events"));
    }
    head(&b, "lienthong_gateways_live", "gauge",
         "Gateway processes on this database with a fresh heartbeat.");
    sample(&b, "lienthong_gateways_live", NULL, NULL, NULL, NULL, NULL, NULL,
           num(json_object_get(doc, "gateways"), "live"));
    destinations(&b, json_object_get(doc, "destinations"));
    senders(&b, json_object_get(doc, "senders"));
    catalog(&b, json_object_get(doc, "catalog"));
    process(&b, doc, snap);
    if (lt_sbuf_failed(&b) || !b.data) {
        lt_sbuf_free(&b);
        return NULL;
    }
    return b.data; /* the buffer's memory is the caller's now */
}
