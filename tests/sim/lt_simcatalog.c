/* lt_simcatalog: the national procedure catalog API, simulated for tests
 * (see tests/sim/README.md for the protocol and every option). Real HTTP on
 * loopback with libmicrohttpd, one thread per connection so that latency is
 * a sleep and requests really overlap; the records come from lt_catgen, so a
 * seed gives the same catalog as lt_gencatalog's export. Faults are injected
 * on command (a 500, a dropped connection, an answer that never comes, a
 * malformed record), and every request is logged as a JSON line on stderr
 * with the number of requests in flight at that moment, which is how a test
 * proves that its client ran requests concurrently without timing anything.
 *
 * Bounded: exits after --max-seconds, or on SIGTERM/SIGINT. Not installed;
 * built with the tests. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>

#include "lt_simutil.h"
#include "lt_catgen.h"

/* The list's per-procedure "last modified" (yyyyMMddHHmmss): one stamp for
 * the original content, a later one for changed records, so a client can
 * skip detail calls for procedures whose stamp it already has. */
#define STAMP_ORIGINAL "20250701080000"
#define STAMP_CHANGED  "20260301080000"

typedef struct {
    char *code;   /* MATTHC */
    char *detail; /* the LayThuTuc answer, compact JSON */
} procedure;

typedef struct {
    uint64_t count, seed, change_seed;
    double changed_pct;
    const char *province, *list_file, *malformed_code;
    long latency_ms, max_seconds, port;
    int64_t fault_500_at, fault_timeout_at, fault_drop_at; /* 0 = off */
    bool fault_always; /* a fault sticks to the procedure of the K-th call */
} options;

static options opt = {
    .count = 2000, .seed = 1, .change_seed = 7, .province = "H56", .max_seconds = 300};
static procedure *procs;
static char *list_body;
static atomic_int in_flight, max_in_flight;
static atomic_llong detail_calls, list_calls;
static atomic_bool stopping;
/* With --fault-always: the index of the procedure each fault stuck to, -1
 * until its K-th call happens. */
static atomic_llong sticky_500 = -1, sticky_timeout = -1, sticky_drop = -1;

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static void log_request(const char *path, const char *code, long long n, unsigned status,
                        int flight, const char *fault)
{
    json_t *j = json_pack("{s:s, s:s, s:s?, s:I, s:i, s:i, s:s?}", "msg", "request", "path", path,
                          "code", code, "n", (json_int_t)n, "status", (int)status, "in_flight",
                          flight, "fault", fault);
    char *line = j ? json_dumps(j, JSON_COMPACT) : NULL;
    if (line)
        fprintf(stderr, "%s\n", line);
    free(line);
    json_decref(j);
}

static long find(const char *code)
{
    for (uint64_t i = 0; code && i < opt.count; i++)
        if (procs[i].code && strcmp(procs[i].code, code) == 0)
            return (long)i;
    return -1;
}

/* Whether fault kind applies to detail call n for procedure idx. */
static bool fault_hits(int64_t at, atomic_llong *sticky, long long n, long idx)
{
    if (!at)
        return false;
    if (n == at) {
        atomic_store(sticky, idx);
        return true;
    }
    return opt.fault_always && idx >= 0 && atomic_load(sticky) == idx;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *body)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", "application/json; charset=utf-8");
    enum MHD_Result rc = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **req_cls)
{
    (void)cls, (void)version, (void)upload, (void)upload_size;
    if (!*req_cls) { /* headers only: answer on the second call */
        *req_cls = c;
        return MHD_YES;
    }
    int now = atomic_fetch_add(&in_flight, 1) + 1;
    int seen = atomic_load(&max_in_flight);
    while (now > seen && !atomic_compare_exchange_weak(&max_in_flight, &seen, now))
        ;
    if (opt.latency_ms > 0)
        sleep_ms(opt.latency_ms);
    enum MHD_Result rc;
    if (strcmp(method, "GET") != 0) {
        log_request(url, NULL, 0, 405, now, NULL);
        rc = reply(c, 405, "{\"error\": \"GET only\"}");
    } else if (strcmp(url, "/LayDanhSachTTHC") == 0) {
        long long n = atomic_fetch_add(&list_calls, 1) + 1;
        log_request(url, NULL, n, 200, now, NULL);
        rc = reply(c, 200, list_body);
    } else if (strcmp(url, "/LayThuTuc") == 0) {
        const char *code = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "maTTHC");
        long long n = atomic_fetch_add(&detail_calls, 1) + 1;
        long idx = find(code);
        if (fault_hits(opt.fault_drop_at, &sticky_drop, n, idx)) {
            log_request(url, code, n, 0, now, "drop");
            rc = MHD_NO; /* libmicrohttpd closes the connection unanswered */
        } else if (fault_hits(opt.fault_timeout_at, &sticky_timeout, n, idx)) {
            log_request(url, code, n, 0, now, "timeout");
            while (!atomic_load(&stopping))
                sleep_ms(10);
            rc = MHD_NO;
        } else if (fault_hits(opt.fault_500_at, &sticky_500, n, idx)) {
            log_request(url, code, n, 500, now, "500");
            rc = reply(c, 500, "{\"error\": \"simulated internal error\"}");
        } else if (idx < 0) {
            log_request(url, code, n, 404, now, NULL);
            rc = reply(c, 404, "{\"error\": \"no such procedure\"}");
        } else {
            log_request(url, code, n, 200, now, NULL);
            rc = reply(c, 200, procs[idx].detail);
        }
    } else {
        log_request(url, NULL, 0, 404, now, NULL);
        rc = reply(c, 404, "{\"error\": \"unknown call\"}");
    }
    atomic_fetch_sub(&in_flight, 1);
    return rc;
}

/* Builds every answer once, before listening. */
static int build(void)
{
    uint64_t n_change = (uint64_t)(opt.count * opt.changed_pct / 100 + 0.5);
    unsigned char *fate = lt_catgen_fates(opt.count, n_change, 0, opt.change_seed);
    procs = calloc(opt.count ? opt.count : 1, sizeof(*procs));
    json_t *list = json_array();
    FILE *lf = opt.list_file ? fopen(opt.list_file, "w") : NULL;
    if (!fate || !procs || !list || (opt.list_file && !lf))
        return -1;
    for (uint64_t i = 0; i < opt.count; i++) {
        json_t *rec = lt_catgen_procedure(opt.seed, i, opt.province);
        const char *code = json_string_value(json_object_get(rec, "MATTHC"));
        bool changed = fate[i] == LT_CATGEN_CHANGED;
        if (changed) {
            lt_catgen_change(rec, opt.change_seed, i);
            if (lf)
                fprintf(lf, "changed %s\n", code);
        }
        const char *stamp = changed ? STAMP_CHANGED : STAMP_ORIGINAL;
        json_object_set_new(rec, "NGAYCAPNHAT", json_string(stamp));
        if (opt.malformed_code && strcmp(code, opt.malformed_code) == 0)
            json_object_set_new(json_array_get(json_object_get(rec, "CAPTHUCHIEN"), 0),
                                "CAPTHUCHIEN", json_string("7"));
        json_array_append_new(list,
                              json_pack("{s:s, s:O, s:s}", "MATTHC", code, "TENTTHC",
                                        json_object_get(rec, "TENTTHC"), "NGAYCAPNHAT", stamp));
        procs[i].code = strdup(code);
        procs[i].detail = json_dumps(rec, JSON_COMPACT);
        json_decref(rec);
        if (!procs[i].code || !procs[i].detail)
            return -1;
    }
    json_t *doc = json_pack("{s:s, s:I, s:o}", "error_code", "0", "total", (json_int_t)opt.count,
                            "data", list);
    list_body = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    free(fate);
    if (lf)
        fclose(lf);
    return list_body ? 0 : -1;
}

static int usage(void)
{
    fputs("usage: lt_simcatalog [--port P] [--count N] [--seed S] [--province H56]\n"
          "         [--changed PCT] [--change-seed S] [--list FILE] [--latency-ms N]\n"
          "         [--fault-500-at K] [--fault-timeout-at K] [--fault-drop-at K]\n"
          "         [--fault-always] [--fault-malformed CODE] [--max-seconds N]\n"
          "See tests/sim/README.md.\n",
          stderr);
    return 2;
}

static int parse(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        long long x = 0;
        bool ok = true, takes = true;
        if (strcmp(a, "--fault-always") == 0) {
            opt.fault_always = true;
            takes = false;
        } else if (strcmp(a, "--port") == 0) {
            ok = lt_sim_num(v, 0, 65535, &x), opt.port = (long)x;
        } else if (strcmp(a, "--count") == 0) {
            ok = lt_sim_num(v, 0, 999000, &x), opt.count = (uint64_t)x;
        } else if (strcmp(a, "--seed") == 0) {
            ok = lt_sim_num(v, 0, INT64_MAX, &x), opt.seed = (uint64_t)x;
        } else if (strcmp(a, "--change-seed") == 0) {
            ok = lt_sim_num(v, 0, INT64_MAX, &x), opt.change_seed = (uint64_t)x;
        } else if (strcmp(a, "--changed") == 0) {
            char *end;
            opt.changed_pct = v ? strtod(v, &end) : -1;
            ok = v && end != v && !*end && opt.changed_pct >= 0 && opt.changed_pct <= 100;
        } else if (strcmp(a, "--latency-ms") == 0) {
            ok = lt_sim_num(v, 0, 60000, &x), opt.latency_ms = (long)x;
        } else if (strcmp(a, "--max-seconds") == 0) {
            ok = lt_sim_num(v, 1, 86400, &x), opt.max_seconds = (long)x;
        } else if (strcmp(a, "--fault-500-at") == 0) {
            ok = lt_sim_num(v, 1, INT64_MAX, &x), opt.fault_500_at = x;
        } else if (strcmp(a, "--fault-timeout-at") == 0) {
            ok = lt_sim_num(v, 1, INT64_MAX, &x), opt.fault_timeout_at = x;
        } else if (strcmp(a, "--fault-drop-at") == 0) {
            ok = lt_sim_num(v, 1, INT64_MAX, &x), opt.fault_drop_at = x;
        } else if (strcmp(a, "--fault-malformed") == 0) {
            ok = v != NULL, opt.malformed_code = v;
        } else if (strcmp(a, "--province") == 0) {
            ok = v != NULL, opt.province = v;
        } else if (strcmp(a, "--list") == 0) {
            ok = v != NULL, opt.list_file = v;
        } else {
            ok = false;
        }
        if (!ok)
            return -1;
        i += takes;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (parse(argc, argv) < 0)
        return usage();
    if (build() < 0) {
        fprintf(stderr, "lt_simcatalog: cannot build the catalog (memory, or --list file)\n");
        return 1;
    }
    /* Stop signals are read by sigtimedwait below; every thread blocks them. */
    sigset_t set;
    lt_sim_block_stop_signals(&set);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)opt.port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct MHD_Daemon *d =
        MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL,
                         NULL, answer, NULL, MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "lt_simcatalog: cannot listen on 127.0.0.1:%ld\n", opt.port);
        return 1;
    }
    int port = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT)->port;
    printf("{\"msg\": \"simcatalog: listening on 127.0.0.1:%d\", \"port\": %d, \"count\": %" PRIu64
           "}\n",
           port, port, opt.count);
    fflush(stdout);
    struct timespec tick = {.tv_sec = 1};
    for (long s = 0; s < opt.max_seconds; s++)
        if (sigtimedwait(&set, NULL, &tick) > 0)
            break;
    atomic_store(&stopping, true);
    MHD_stop_daemon(d);
    fprintf(stderr,
            "{\"msg\": \"simcatalog: stopped\", \"list_calls\": %lld, \"detail_calls\": %lld, "
            "\"max_in_flight\": %d}\n",
            (long long)atomic_load(&list_calls), (long long)atomic_load(&detail_calls),
            atomic_load(&max_in_flight));
    for (uint64_t i = 0; i < opt.count; i++) {
        free(procs[i].code);
        free(procs[i].detail);
    }
    free(procs);
    free(list_body);
    return 0;
}
