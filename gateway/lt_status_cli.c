/* lt_status_cli: `lienthong status` (see lt_status_cli.h).
 *
 * Where the document comes from: a gateway serving on http.listen answers
 * GET /v1/status with its own counters in it, so the command asks it first
 * (one short loopback call). Without one (or with --local) the command reads
 * the database itself with the same statement and renders the same
 * document, whose process part then says scope "none": the shared numbers
 * (destinations, senders, catalog) do not depend on a gateway running. */
#include "lt_status_cli.h"

#include <curl/curl.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lt_dbsession.h"
#include "lt_sbuf.h"
#include "lt_status_doc.h"

#define EXIT_OK        0
#define EXIT_FAILED    1
#define EXIT_USAGE     2
#define EXIT_UNHEALTHY 3
#define ASK_TIMEOUT_MS 2000
#define MAX_ANSWER     (8 * 1024 * 1024)

const char lt_status_help[] =
    "usage: lienthong status [--json] [--local]\n"
    "\n"
    "The gateway's status: per destination (state, backlog, retrying, unrouted,\n"
    "dead letters, oldest pending age, last success and error, deliveries per\n"
    "minute), per sending unit (records and refusals today), the catalog (version,\n"
    "procedures, last sync run), ingress counters and the database.\n"
    "\n"
    "  --json   the same document as GET /v1/status (schemas/status.schema.json)\n"
    "  --local  do not ask a gateway serving on http.listen; read the database\n"
    "           alone (the process counters are then absent: ingress scope none)\n"
    "\n"
    "Thresholds (config status.*): status.max_backlog_age, status.max_dead_letters,\n"
    "status.down_failures. Exit 0 healthy, 3 unhealthy (a threshold crossed, a\n"
    "destination down, the database unreachable), 1 failure, 2 usage error.\n";

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    lt_sbuf *b = arg;
    if (b->len + size * n > MAX_ANSWER)
        return 0;
    lt_sbuf_add(b, data, size * n);
    return size * n;
}

/* The running gateway's document, or NULL when none answers. */
static json_t *ask_gateway(const lt_config *cfg)
{
    char host[256], url[320];
    int port = 0;
    if (lt_config_split_listen(cfg->http.listen, host, sizeof(host), &port) < 0 || port == 0)
        return NULL;
    /* A wildcard listen address is reached on loopback. */
    const char *h = strcmp(host, "0.0.0.0") == 0 || !*host ? "127.0.0.1"
                    : strcmp(host, "::") == 0              ? "[::1]"
                                                           : host;
    bool v6 = strchr(h, ':') && h[0] != '[';
    snprintf(url, sizeof(url), "http://%s%s%s:%d/v1/status", v6 ? "[" : "", h, v6 ? "]" : "", port);
    CURL *e = curl_easy_init();
    lt_sbuf body = {0};
    json_t *doc = NULL;
    long code = 0;
    if (!e)
        return NULL;
    if (curl_easy_setopt(e, CURLOPT_URL, url) == CURLE_OK &&
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)ASK_TIMEOUT_MS) == CURLE_OK &&
        curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
        curl_easy_setopt(e, CURLOPT_NOPROXY, "*") == CURLE_OK &&
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body) == CURLE_OK &&
        curl_easy_setopt(e, CURLOPT_WRITEDATA, &body) == CURLE_OK &&
        curl_easy_perform(e) == CURLE_OK &&
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK && code == 200 &&
        !lt_sbuf_failed(&body) && body.data) {
        doc = json_loads(body.data, 0, NULL);
        /* Only a status document counts (another service may hold the port). */
        if (!json_is_object(doc) || !json_is_boolean(json_object_get(doc, "healthy"))) {
            json_decref(doc);
            doc = NULL;
        }
    }
    curl_easy_cleanup(e);
    lt_sbuf_free(&body);
    return doc;
}

/* The document from the database alone. */
static json_t *read_database(const lt_config *cfg)
{
    lt_statusdoc_limits lim;
    lt_statusdoc_limits_from_config(cfg, &lim);
    char err[1024] = "";
    lt_dbsession *db = lt_dbsession_open(cfg, LT_SCHEMA_CURRENT, err, sizeof(err));
    if (!db)
        return lt_statusdoc_build(NULL, err, NULL, &lim);
    PGresult *r = PQexec(lt_dbsession_conn(db), LT_STATUSDOC_SQL);
    json_t *doc;
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
        doc = lt_statusdoc_build(PQgetvalue(r, 0, 0), NULL, NULL, &lim);
    } else {
        snprintf(err, sizeof(err), "%s", PQresultErrorMessage(r));
        err[strcspn(err, "\n")] = '\0';
        doc = lt_statusdoc_build(NULL, err, NULL, &lim);
    }
    PQclear(r);
    lt_dbsession_close(&db);
    return doc;
}

static const char *str(const json_t *o, const char *key, const char *dflt)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : dflt;
}

/* "2026-11-27T14:03:15.123+07:00" → "2026-11-27 14:03:15" (people read the
 * database's own zone). */
static const char *short_time(const json_t *o, const char *key, char *buf, size_t cap)
{
    const char *t = json_string_value(json_object_get(o, key));
    if (!t)
        return "-";
    snprintf(buf, cap, "%.19s", t);
    char *tee = strchr(buf, 'T');
    if (tee)
        *tee = ' ';
    return buf;
}

void lt_statusdoc_print(FILE *out, const json_t *doc)
{
    char t1[32], t2[32];
    bool healthy = json_is_true(json_object_get(doc, "healthy"));
    fprintf(out, "lienthong status at %s: %s\n", str(doc, "generated_at", "?"),
            healthy ? "HEALTHY" : "UNHEALTHY");
    const json_t *inst = json_object_get(doc, "instance");
    if (json_is_object(inst))
        fprintf(out, "gateway %s pid %lld, version %s, up %.0f s\n", str(inst, "hostname", "?"),
                (long long)json_integer_value(json_object_get(inst, "pid")),
                str(inst, "version", "?"), json_number_value(json_object_get(inst, "uptime_s")));
    else
        fprintf(out, "no gateway answered: process counters absent (database only)\n");
    fprintf(
        out, "gateways live on this database: %lld\n",
        (long long)json_integer_value(json_object_get(json_object_get(doc, "gateways"), "live")));
    size_t i;
    const json_t *d;
    fprintf(out, "\n%-24s %-8s %-12s %8s %8s %8s %6s %10s %8s  %-19s  %s\n", "DESTINATION", "KIND",
            "STATE", "BACKLOG", "RETRYING", "UNROUTED", "DEAD", "OLDEST(s)", "PER_MIN",
            "LAST_SUCCESS", "LAST_ERROR");
    json_array_foreach(json_object_get(doc, "destinations"), i, d)
    {
        const json_t *age = json_object_get(d, "oldest_pending_age_s");
        char agebuf[24] = "-";
        if (json_is_number(age))
            snprintf(agebuf, sizeof(agebuf), "%.0f", json_number_value(age));
        fprintf(out, "%-24s %-8s %-12s %8lld %8lld %8lld %6lld %10s %8.1f  %-19s  %s%s%.60s\n",
                str(d, "name", "?"), str(d, "kind", "?"), str(d, "state", "?"),
                (long long)json_integer_value(json_object_get(d, "backlog")),
                (long long)json_integer_value(json_object_get(d, "retrying")),
                (long long)json_integer_value(json_object_get(d, "unrouted")),
                (long long)json_integer_value(json_object_get(d, "dead_letters")), agebuf,
                json_number_value(json_object_get(d, "delivered_per_min")),
                short_time(d, "last_success_at", t1, sizeof(t1)),
                short_time(d, "last_error_at", t2, sizeof(t2)),
                json_is_string(json_object_get(d, "last_error")) ? " " : "",
                str(d, "last_error", ""));
    }
    if (json_array_size(json_object_get(doc, "destinations")) == 0)
        fprintf(out, "(no destination configured)\n");
    fprintf(out, "\n%-24s %10s %10s  %s\n", "SENDER (today)", "RECORDS", "REJECTS", "LAST_RECORD");
    json_array_foreach(json_object_get(doc, "senders"), i, d)
    {
        fprintf(out, "%-24s %10lld %10lld  %s\n", str(d, "unit", "(unknown)"),
                (long long)json_integer_value(json_object_get(d, "records_today")),
                (long long)json_integer_value(json_object_get(d, "rejects_today")),
                short_time(d, "last_record_at", t1, sizeof(t1)));
    }
    const json_t *cat = json_object_get(doc, "catalog");
    const json_t *procs = json_object_get(cat, "procedures");
    const json_t *run = json_object_get(cat, "last_run");
    fprintf(out, "\ncatalog version %lld: %lld published, %lld abolished, %lld unpublished",
            (long long)json_integer_value(json_object_get(cat, "version")),
            (long long)json_integer_value(json_object_get(procs, "published")),
            (long long)json_integer_value(json_object_get(procs, "abolished")),
            (long long)json_integer_value(json_object_get(procs, "unpublished")));
    if (json_is_object(run))
        fprintf(out, "; last sync %s at %s (%s)\n", str(run, "outcome", "?"),
                short_time(run, "started_at", t1, sizeof(t1)), str(run, "source", "?"));
    else
        fprintf(out, "; never synced\n");
    const json_t *in = json_object_get(doc, "ingress");
    const json_t *lat = json_object_get(in, "latency_ms");
    if (strcmp(str(in, "scope", "none"), "process") == 0)
        fprintf(out,
                "ingress (this gateway): %lld records (%lld accepted, %lld rejected), %.2f/s over "
                "1 min, latency p50/p90/p99 %.0f/%.0f/%.0f ms\n",
                (long long)json_integer_value(json_object_get(in, "records_total")),
                (long long)json_integer_value(json_object_get(in, "accepted_total")),
                (long long)json_integer_value(json_object_get(in, "rejected_total")),
                json_number_value(json_object_get(in, "records_per_s_1m")),
                json_number_value(json_object_get(lat, "p50")),
                json_number_value(json_object_get(lat, "p90")),
                json_number_value(json_object_get(lat, "p99")));
    else
        fprintf(out, "ingress: no gateway process answered (counters absent)\n");
    const json_t *db = json_object_get(doc, "database");
    fprintf(out, "database: %s, last sequence %lld, routing lag %lld event(s)\n",
            json_is_true(json_object_get(db, "reachable")) ? "reachable" : "UNREACHABLE",
            (long long)json_integer_value(json_object_get(db, "last_sequence")),
            (long long)json_integer_value(json_object_get(db, "routing_lag_events")));
    const json_t *problems = json_object_get(doc, "problems");
    if (json_array_size(problems) > 0) {
        fprintf(out, "\nproblems:\n");
        json_array_foreach(problems, i, d)
        {
            fprintf(out, "  %s: %s\n", str(d, "what", "?"), str(d, "detail", ""));
        }
    }
}

int lt_status_main(const lt_config *cfg, int argc, char **argv, bool json)
{
    bool local = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--local") == 0) {
            local = true;
        } else {
            fprintf(stderr, "lienthong status: unknown argument %s\n\n%s", argv[i], lt_status_help);
            return EXIT_USAGE;
        }
    }
    json_t *doc = local ? NULL : ask_gateway(cfg);
    if (!doc)
        doc = read_database(cfg);
    if (!doc) {
        fprintf(stderr, "lienthong status: out of memory\n");
        return EXIT_FAILED;
    }
    if (json) {
        char *text = json_dumps(doc, JSON_INDENT(2));
        if (!text) {
            json_decref(doc);
            return EXIT_FAILED;
        }
        puts(text);
        free(text);
    } else {
        lt_statusdoc_print(stdout, doc);
    }
    int rc = json_is_true(json_object_get(doc, "healthy")) ? EXIT_OK : EXIT_UNHEALTHY;
    json_decref(doc);
    if (fflush(stdout) != 0)
        return EXIT_FAILED;
    return rc;
}
