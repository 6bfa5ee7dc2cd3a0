/* lt_status_doc: the status document (see lt_status_doc.h; its
 * Prometheus form is lt_status_metrics.c, its table lt_status_cli.c).
 *
 * Why the shared part is one statement that answers JSON: the reader actor
 * and the CLI run it the same way, one round trip, one snapshot, and the
 * counts all come from indexes that skip the delivered history (0012). Why
 * the classification is here and not in SQL: thresholds are configuration,
 * and the same rules must give the same answer to /v1/status, /metrics and
 * `lienthong status`. */
#include "lt_status_doc.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lt_sbuf.h"

#ifndef LT_VERSION
#define LT_VERSION "0"
#endif

/* The statement lives in the schema (0012_status.sql) as a function, so it
 * can run with jit off. */
const char LT_STATUSDOC_SQL[] = "SELECT lt_status_doc()";

void lt_statusdoc_limits_from_config(const lt_config *cfg, lt_statusdoc_limits *ret)
{
    *ret = (lt_statusdoc_limits){
        .max_backlog_age_ms = cfg->status.max_backlog_age_ms,
        .max_dead_letters = cfg->status.max_dead_letters,
        .down_failures = cfg->status.down_failures,
    };
}

char *lt_statusdoc_safe_url(const char *url)
{
    if (!url)
        return NULL;
    const char *scheme = strstr(url, "://");
    const char *host = scheme ? scheme + 3 : url;
    size_t hostlen = strcspn(host, "/?#");
    /* user:password@ ends at the last '@' of the authority. */
    const char *at = NULL;
    for (const char *p = host; p < host + hostlen; p++)
        if (*p == '@')
            at = p;
    const char *auth = at ? at + 1 : host;
    size_t keep_path = strcspn(auth, "?#");
    size_t n = (size_t)(host - url) + keep_path;
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    memcpy(out, url, (size_t)(host - url));
    memcpy(out + (host - url), auth, keep_path);
    out[n] = '\0';
    return out;
}

/* ---- building the document ------------------------------------------------ */

static void format_time(int64_t unix_ms, char *buf, size_t cap)
{
    time_t t = (time_t)(unix_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    char base[32];
    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, cap, "%s.%03dZ", base, (int)(unix_ms % 1000));
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static json_int_t int_of(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_integer(v) ? json_integer_value(v)
                              : (json_is_real(v) ? (json_int_t)json_real_value(v) : 0);
}

static bool str_is(const json_t *o, const char *key, const char *want)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s && strcmp(s, want) == 0;
}

static void add_problem(json_t *problems, const char *what, const char *destination,
                        const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void add_problem(json_t *problems, const char *what, const char *destination,
                        const char *fmt, ...)
{
    char detail[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    json_t *p = json_pack("{s:s, s:s}", "what", what, "detail", detail);
    if (p && destination)
        json_object_set_new(p, "destination", json_string(destination));
    json_array_append_new(problems, p);
}

/* The destination's state from its numbers (status.schema.json says what
 * each word means). failing: the newest outcome is a failure. */
static const char *dest_state(const json_t *d, const lt_statusdoc_limits *lim)
{
    const char *url = json_string_value(json_object_get(d, "url"));
    if (!url || !*url)
        return "unconfigured";
    if (str_is(d, "circuit", "open") || str_is(d, "circuit", "half_open"))
        return "circuit_open";
    /* The query compares the times: the newest outcome is a failure. */
    bool failing = json_is_true(json_object_get(d, "failing"));
    json_int_t failures = int_of(d, "failures");
    if (failing && failures >= lim->down_failures)
        return "down";
    double age = json_number_value(json_object_get(d, "oldest_pending_age_s"));
    if (failing || int_of(d, "retrying") > 0 ||
        (json_is_number(json_object_get(d, "oldest_pending_age_s")) &&
         age * 1000.0 > (double)lim->max_backlog_age_ms))
        return "degraded";
    return "up";
}

/* One destination as the schema wants it, from the query's row. */
static json_t *destination_doc(const json_t *row, const lt_statusdoc_limits *lim, json_t *problems)
{
    const char *name = json_string_value(json_object_get(row, "name"));
    char *url = lt_statusdoc_safe_url(json_string_value(json_object_get(row, "url")));
    const char *state = dest_state(row, lim);
    json_int_t pending = int_of(row, "pending"), inflight = int_of(row, "inflight"),
               retrying = int_of(row, "retrying"), dead = int_of(row, "dead_letters");
    json_t *age = json_object_get(row, "oldest_pending_age_s");
    json_t *d = json_pack(
        "{s:s?, s:s?, s:O?, s:s?, s:s, s:s?, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:O?, s:O?, s:O?, "
        "s:O?, s:f}",
        "name", name, "kind", json_string_value(json_object_get(row, "kind")), "unit",
        json_object_get(row, "unit"), "url", url, "state", state, "circuit",
        json_string_value(json_object_get(row, "circuit")), "failures", int_of(row, "failures"),
        "backlog", pending + inflight + retrying, "pending", pending, "inflight", inflight,
        "retrying", retrying, "unrouted", int_of(row, "unrouted"), "dead_letters", dead,
        "oldest_pending_age_s", json_is_number(age) ? age : NULL, "last_success_at",
        json_object_get(row, "last_success_at"), "last_error", json_object_get(row, "last_error"),
        "last_error_at", json_object_get(row, "last_error_at"), "delivered_per_min",
        json_number_value(json_object_get(row, "delivered_per_min")));
    free(url);
    if (!d)
        return NULL;
    /* json_pack's O? leaves a JSON null out; the schema wants the keys. */
    static const char *const nullable[] = {
        "unit", "url", "oldest_pending_age_s", "last_success_at", "last_error", "last_error_at"};
    for (size_t i = 0; i < sizeof(nullable) / sizeof(nullable[0]); i++)
        if (!json_object_get(d, nullable[i]))
            json_object_set_new(d, nullable[i], json_null());
    if (!json_string_value(json_object_get(d, "circuit")))
        json_object_set_new(d, "circuit", json_string("closed"));
    if (!json_string_value(json_object_get(d, "kind")))
        json_object_set_new(d, "kind", json_string("portal"));
    if (strcmp(state, "down") == 0)
        add_problem(problems, "destination_down", name,
                    "%s is down: %lld consecutive failure(s), nothing delivered since (last error: "
                    "%.200s)",
                    name, (long long)int_of(row, "failures"),
                    json_string_value(json_object_get(row, "last_error"))
                        ? json_string_value(json_object_get(row, "last_error"))
                        : "unknown");
    else if (strcmp(state, "circuit_open") == 0)
        add_problem(problems, "circuit_open", name,
                    "%s: the circuit is open after repeated failures; deliveries are paused", name);
    if (json_is_number(age) && json_number_value(age) * 1000.0 > (double)lim->max_backlog_age_ms)
        add_problem(problems, "backlog_age", name,
                    "%s: the oldest undelivered event waits %.0f s (status.max_backlog_age is "
                    "%lld s); %lld waiting",
                    name, json_number_value(age), (long long)(lim->max_backlog_age_ms / 1000),
                    (long long)(pending + inflight + retrying));
    if (dead > lim->max_dead_letters)
        add_problem(problems, "dead_letters", name,
                    "%s: %lld dead letter(s) (status.max_dead_letters is %lld); see lienthong "
                    "deadletters",
                    name, (long long)dead, (long long)lim->max_dead_letters);
    return d;
}

static json_t *catalog_doc(const json_t *c, json_t *problems)
{
    json_int_t published = int_of(c, "published"), abolished = int_of(c, "abolished"),
               total = int_of(c, "total");
    json_t *run = json_object_get(c, "last_run");
    json_t *run_doc = json_null();
    if (json_is_object(run)) {
        run_doc = json_deep_copy(run);
        char *src = lt_statusdoc_safe_url(json_string_value(json_object_get(run, "source")));
        if (run_doc && src)
            json_object_set_new(run_doc, "source", json_string(src));
        free(src);
        if (str_is(run, "outcome", "failed"))
            add_problem(problems, "catalog_sync_failed", NULL,
                        "the last catalog sync (run %lld) failed: %.300s",
                        (long long)int_of(run, "id"),
                        json_string_value(json_object_get(run, "error"))
                            ? json_string_value(json_object_get(run, "error"))
                            : "no reason kept");
    }
    json_t *version = json_object_get(c, "version");
    return json_pack("{s:O, s:{s:I, s:I, s:I, s:I}, s:o}", "version",
                     json_is_integer(version) ? version : json_null(), "procedures", "published",
                     published, "abolished", abolished, "unpublished",
                     total - published - abolished > 0 ? total - published - abolished : 0, "total",
                     total, "last_run", run_doc ? run_doc : json_null());
}

static json_t *instance_doc(const lt_stats_snap *snap)
{
    if (!snap || !snap->serving)
        return json_null();
    char host[256] = "unknown", started[40];
    if (gethostname(host, sizeof(host) - 1) < 0)
        snprintf(host, sizeof(host), "unknown");
    host[sizeof(host) - 1] = '\0';
    format_time(snap->started_unix_ms, started, sizeof(started));
    return json_pack("{s:s, s:i, s:s, s:s, s:f}", "hostname", host, "pid", (int)getpid(), "version",
                     LT_VERSION, "started_at", started, "uptime_s",
                     (double)snap->uptime_ms / 1000.0);
}

static json_t *quantile(const lt_stats_snap *s, double q)
{
    int64_t ms = s ? lt_stats_quantile_ms(s, q) : -1;
    return ms < 0 ? json_null() : json_real((double)ms);
}

static json_t *ingress_doc(const lt_stats_snap *snap)
{
    const lt_stats_snap *s = snap && snap->serving ? snap : NULL;
    lt_stats_snap zero = {0};
    const lt_stats_snap *z = s ? s : &zero;
    uint64_t total = 0;
    for (size_t i = 0; i < LT_STATS_NRESULTS; i++)
        total += z->results[i];
    return json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:{s:o, s:o, s:o}}", "scope",
                     s ? "process" : "none", "records_total", (json_int_t)total, "accepted_total",
                     (json_int_t)z->results[LT_STATS_ACCEPTED], "duplicate_total",
                     (json_int_t)z->results[LT_STATS_DUPLICATE], "stale_total",
                     (json_int_t)z->results[LT_STATS_STALE], "rejected_total",
                     (json_int_t)z->results[LT_STATS_REJECTED], "requests_total",
                     (json_int_t)z->requests, "records_per_s_1m",
                     (double)z->records_last_60s / 60.0, "latency_ms", "p50", quantile(s, 0.5),
                     "p90", quantile(s, 0.9), "p99", quantile(s, 0.99));
}

json_t *lt_statusdoc_build(const char *db_text, const char *db_error, const lt_stats_snap *snap,
                           const lt_statusdoc_limits *lim)
{
    json_t *db = db_text ? json_loads(db_text, 0, NULL) : NULL;
    json_t *problems = json_array(), *dests = json_array(), *senders = json_array();
    json_t *doc = NULL;
    char now[40];
    format_time(wall_ms(), now, sizeof(now));
    if (!problems || !dests || !senders)
        goto out;
    bool reachable = json_is_object(db);
    if (!reachable)
        add_problem(problems, "database_unreachable", NULL, "the database cannot be read: %.300s",
                    db_error ? db_error : (db_text ? "unreadable answer" : "no connection"));
    size_t i;
    json_t *row;
    json_array_foreach(json_object_get(db, "destinations"), i, row)
    {
        json_t *d = destination_doc(row, lim, problems);
        if (!d || json_array_append_new(dests, d) < 0)
            goto out;
    }
    json_array_foreach(json_object_get(db, "senders"), i, row)
    {
        json_t *s =
            json_pack("{s:O?, s:O?, s:I, s:I}", "unit", json_object_get(row, "unit"),
                      "last_record_at", json_object_get(row, "last_record_at"), "records_today",
                      int_of(row, "records_today"), "rejects_today", int_of(row, "rejects_today"));
        if (!s)
            goto out;
        if (!json_object_get(s, "unit"))
            json_object_set_new(s, "unit", json_null());
        if (!json_object_get(s, "last_record_at"))
            json_object_set_new(s, "last_record_at", json_null());
        json_array_append_new(senders, s);
    }
    json_t *catalog = catalog_doc(reachable ? json_object_get(db, "catalog") : NULL, problems);
    json_t *last_seq = json_object_get(db, "last_sequence");
    json_t *routed = json_object_get(db, "routed_sequence");
    json_t *lag = json_is_integer(last_seq) && json_is_integer(routed)
                      ? json_integer(json_integer_value(last_seq) > json_integer_value(routed)
                                         ? json_integer_value(last_seq) - json_integer_value(routed)
                                         : 0)
                      : json_null();
    json_t *database = json_pack(
        "{s:b, s:o, s:O, s:o}", "reachable", reachable, "writer_lag_s",
        snap && snap->serving ? json_real((double)snap->writer_lag_ms / 1000.0) : json_null(),
        "last_sequence", json_is_integer(last_seq) ? last_seq : json_null(), "routing_lag_events",
        lag);
    if (database && !reachable)
        json_object_set_new(database, "error",
                            json_string(db_error ? db_error : "the database cannot be read"));
    const char *db_now = json_string_value(json_object_get(db, "now"));
    doc = json_pack("{s:s, s:o, s:{s:I}, s:b, s:O, s:O, s:O, s:o, s:o, s:o}", "generated_at",
                    db_now ? db_now : now, "instance", instance_doc(snap), "gateways", "live",
                    int_of(db, "gateways_live"), "healthy", json_array_size(problems) == 0,
                    "problems", problems, "destinations", dests, "senders", senders, "catalog",
                    catalog, "ingress", ingress_doc(snap), "database", database);
out:
    json_decref(problems);
    json_decref(dests);
    json_decref(senders);
    json_decref(db);
    return doc;
}

char *lt_statusdoc_answer(const char *db_text, const char *db_error, const lt_config *cfg,
                          bool metrics)
{
    lt_statusdoc_limits lim;
    lt_stats_snap snap;
    lt_statusdoc_limits_from_config(cfg, &lim);
    lt_stats_snapshot(&snap);
    json_t *doc = lt_statusdoc_build(db_text, db_error, &snap, &lim);
    char *text = NULL;
    if (doc)
        text = metrics ? lt_statusdoc_metrics(doc, &snap) : json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    return text;
}
