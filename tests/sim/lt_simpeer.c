/* lt_simpeer: one outside system that delivery talks to, simulated for the
 * delivery tests and benchmark (tests/sim/README.md has the protocol and
 * every option). One role per process: the provincial portal (national
 * dossier-sync protocol), a parent unit (our own POST /v1/dossiers), a
 * ward's callback receiver or a notification webhook.
 *
 * Two HTTP listeners on loopback: the service port the gateway calls, and a
 * control port where a test injects faults and reads what the service saw.
 * They are apart so that "down" can really refuse connections (the service
 * listener closes) while the test still talks to the simulator.
 *
 * The service runs libmicrohttpd with epoll and a small thread pool and
 * keeps connections alive, so a benchmark's drain is not limited by it.
 * Latency and "never answer" are not sleeps: the request is suspended and a
 * waiter thread resumes it when its time comes (or closes it once the
 * client gave up), so a thousand slow calls cost no threads.
 *
 * Bounded: lists stop growing at --max-stored, bodies at --max-body,
 * connections at --max-connections; it exits after --max-seconds or on
 * SIGTERM/SIGINT, closing whatever it was holding. */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lt_simutil.h"
#include "lt_simpeer.h"

#define HANG_CHECK_MS 50 /* how often a hanging call looks for its client */

/* One HTTP request on the service port, from its headers to its end. */
typedef struct request {
    struct MHD_Connection *conn;
    char *body; /* what arrived, NUL-terminated; owned */
    size_t len, cap;
    bool too_big; /* more than --max-body arrived: answered 413 */
    bool counted; /* counted in in_flight */
    enum { READING, WAITING, HANGING } phase;
    unsigned status;      /* the answer kept for after the wait */
    char *answer;         /* owned */
    bool drop, hang;      /* the fault to play after the wait */
    bool close_now;       /* the waiter says: close unanswered */
    long long due_ms;     /* when the waiter resumes it (monotonic) */
    struct request *next; /* in the waiter's list */
} request;

static lt_simpeer_options opt;

static pthread_mutex_t ctl_mu = PTHREAD_MUTEX_INITIALIZER; /* guards flt, conf */
static lt_simpeer_faults flt, flt_start; /* now, and as the command line set them */
static lt_simpeer_conf conf, conf_start;
static lt_simpeer_store *store;
static struct MHD_Daemon *svc, *ctl; /* svc is NULL while "down" */
static bool is_down;                 /* only the control thread and main touch it */
static atomic_llong connections;
static atomic_int in_flight, max_in_flight, open_connections;
static FILE *log_fp;
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    request *head; /* suspended requests */
    bool refuse;   /* the service is stopping: suspend nothing more */
    bool quit;
    pthread_t thread;
} waiter = {.mu = PTHREAD_MUTEX_INITIALIZER};

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void now_iso(char *buf, size_t size)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t k = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + k, size - k, ".%03ldZ", ts.tv_nsec / 1000000);
}

/* Writes one JSON line (taken) to the --log file, if any. */
static void log_line(json_t *j)
{
    char *line = log_fp && j ? json_dumps(j, JSON_COMPACT) : NULL;
    if (line) {
        pthread_mutex_lock(&log_mu);
        fprintf(log_fp, "%s\n", line);
        pthread_mutex_unlock(&log_mu);
    }
    free(line);
    json_decref(j);
}

/* Whether error_ratio picks call n: splitmix64 of (seed, n), so the same
 * seed fails the same call numbers in every run. */
static bool ratio_hit(double ratio, uint64_t seed, long long n)
{
    if (ratio <= 0)
        return false;
    uint64_t z = seed + (uint64_t)n * 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    return (double)(z >> 11) / 9007199254740992.0 < ratio;
}

/* ---- the waiter: suspended requests and their wake-up -------------------- */

/* Suspends a request until due (called from its handler); false when the
 * service is stopping, and the request must be closed at once. */
static bool park(request *rq, long long due)
{
    pthread_mutex_lock(&waiter.mu);
    if (waiter.refuse) {
        pthread_mutex_unlock(&waiter.mu);
        return false;
    }
    MHD_suspend_connection(rq->conn);
    rq->due_ms = due;
    rq->next = waiter.head;
    waiter.head = rq;
    pthread_cond_signal(&waiter.cv);
    pthread_mutex_unlock(&waiter.mu);
    return true;
}

/* Whether the client of a hanging request closed its end. */
static bool client_gone(request *rq)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(rq->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!ci)
        return true;
    char c;
    ssize_t n = recv(ci->connect_fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

/* Resumes every suspended request to be closed; with refuse, nothing more
 * is suspended until unrefuse (the service listener is about to stop, and
 * libmicrohttpd must not be stopped with suspended connections). */
static void waiter_flush(bool refuse)
{
    pthread_mutex_lock(&waiter.mu);
    waiter.refuse = refuse;
    while (waiter.head) {
        request *rq = waiter.head;
        waiter.head = rq->next;
        rq->close_now = true;
        MHD_resume_connection(rq->conn);
    }
    pthread_mutex_unlock(&waiter.mu);
}

static void *waiter_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&waiter.mu);
    while (!waiter.quit) {
        long long now = now_ms(), next = now + 1000;
        for (request **p = &waiter.head; *p;) {
            request *rq = *p;
            bool wake = false;
            if (rq->due_ms <= now) {
                if (rq->phase != HANGING)
                    wake = true;
                else if (client_gone(rq))
                    wake = rq->close_now = true;
                else
                    rq->due_ms = now + HANG_CHECK_MS;
            }
            if (wake) {
                *p = rq->next;
                MHD_resume_connection(rq->conn);
                continue;
            }
            if (rq->due_ms < next)
                next = rq->due_ms;
            p = &rq->next;
        }
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        long long wait = next - now_ms();
        if (wait > 0) {
            until.tv_sec += wait / 1000;
            until.tv_nsec += (wait % 1000) * 1000000L;
            if (until.tv_nsec >= 1000000000L) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&waiter.cv, &waiter.mu, &until);
        }
    }
    pthread_mutex_unlock(&waiter.mu);
    return NULL;
}

/* ---- the service port ------------------------------------------------------- */

static enum MHD_Result send_json(struct MHD_Connection *c, unsigned status, char *text)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(text ? strlen(text) : 2, text ? text : (void *)"{}",
                                        text ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!r) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", "application/json; charset=utf-8");
    if (status == 401)
        MHD_add_response_header(r, "WWW-Authenticate", "Bearer");
    if (status == 429 || status == 503)
        MHD_add_response_header(r, "Retry-After", "1");
    enum MHD_Result rc = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return rc;
}

/* Answers what was decided for a request, or plays its fault. */
static enum MHD_Result respond(request *rq)
{
    if (rq->drop)
        return MHD_NO; /* libmicrohttpd closes the connection unanswered */
    if (rq->hang) {
        rq->phase = HANGING;
        return park(rq, now_ms() + HANG_CHECK_MS) ? MHD_YES : MHD_NO;
    }
    char *answer = rq->answer;
    rq->answer = NULL;
    return send_json(rq->conn, rq->status, answer);
}

/* Takes the faults that apply to a call to path (and counts it against
 * for_calls); the configuration too, as one consistent snapshot. */
static void snapshot(const char *path, lt_simpeer_faults *ret_f, lt_simpeer_conf *ret_conf)
{
    pthread_mutex_lock(&ctl_mu);
    *ret_f = flt;
    *ret_conf = conf;
    bool applies = !flt.only_path[0] || strcmp(path, flt.only_path) == 0;
    if (applies && flt.for_calls > 0 && --flt.for_calls == 0) {
        flt = (lt_simpeer_faults){.seed = flt.seed};
        conf.forced_code[0] = '\0';
    }
    pthread_mutex_unlock(&ctl_mu);
    if (!applies) {
        *ret_f = (lt_simpeer_faults){0};
        ret_conf->forced_code[0] = '\0';
    }
}

/* A whole request has arrived: judge it, record it, answer or wait. */
static enum MHD_Result arrive(request *rq, const char *url, const char *method)
{
    struct MHD_Connection *c = rq->conn;
    int now = atomic_fetch_add(&in_flight, 1) + 1;
    rq->counted = true;
    for (int seen = atomic_load(&max_in_flight);
         now > seen && !atomic_compare_exchange_weak(&max_in_flight, &seen, now);)
        ;
    char at[40];
    now_iso(at, sizeof(at));
    lt_simpeer_req req = {
        .method = method,
        .path = url,
        .key = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Idempotency-Key"),
        .content_type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type"),
        .authorization = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization"),
        .body = rq->len && !rq->too_big ? lt_simpeer_json_project(rq->body, rq->len) : NULL,
        .body_len = rq->len,
        .at = at,
    };
    /* Numbered, and faults decided, under the store's lock: the call
     * numbers error_ratio draws from are the order calls are recorded in,
     * and start again from 1 after a reset. */
    lt_simpeer_store_lock(store);
    long long n = req.n = lt_simpeer_store_next_call(store);
    lt_simpeer_faults f;
    lt_simpeer_conf cf;
    snapshot(url, &f, &cf);
    const char *fault = f.drop                                ? "drop"
                        : f.timeout                           ? "timeout"
                        : f.status                            ? "status"
                        : ratio_hit(f.error_ratio, f.seed, n) ? "error_ratio"
                                                              : NULL;
    if (!fault && cf.forced_code[0] && cf.role == LT_SIMPEER_PORTAL &&
        strcmp(url, cf.sync_path) == 0)
        fault = "error_code";
    json_t *entry = json_pack("{s:I, s:s, s:s, s:s, s:s?, s:s?, s:s?, s:I}", "n", (json_int_t)n,
                              "at", at, "method", method, "path", url, "idempotency_key", req.key,
                              "content_type", req.content_type, "authorization", req.authorization,
                              "bytes", (json_int_t)rq->len);
    unsigned status = 500;
    json_t *answer = NULL;
    bool play = fault && strcmp(fault, "error_code") != 0; /* faults this file plays */
    int rc = entry ? lt_simpeer_role_describe(&cf, &req, entry) : -1;
    if (rc == 0 && rq->too_big) {
        status = 413;
        answer = json_pack("{s:s}", "error", "body too large");
    } else if (rc == 0 && (!play || f.after_apply)) {
        rc = lt_simpeer_role_handle(&cf, store, &req, entry, &status, &answer);
    }
    if (rc < 0) {
        json_decref(answer);
        status = 500, answer = json_pack("{s:s}", "error", "simulator out of memory");
    }
    if (play) {
        json_decref(answer);
        answer = NULL;
        rq->hang = strcmp(fault, "timeout") == 0;
        rq->drop = strcmp(fault, "drop") == 0;
        if (rq->drop || rq->hang) {
            status = 0; /* no answer */
        } else {
            status = f.status ? f.status : 500;
            char msg[64];
            snprintf(msg, sizeof(msg), "simulated status %u", status);
            answer = json_pack("{s:{s:s, s:s}}", "error", "code", "simulated", "message", msg);
        }
    }
    if (entry) {
        if (!json_object_get(entry, "applied"))
            json_object_set_new(entry, "applied", json_false());
        json_object_set_new(entry, "status", json_integer(status));
        json_object_set_new(entry, "fault", fault ? json_string(fault) : json_null());
    }
    json_t *logged =
        log_fp && entry
            ? json_pack("{s:s, s:I, s:s, s:i, s:O, s:O, s:s?, s:i}", "msg", "request", "n",
                        (json_int_t)n, "path", url, "status", (int)status, "fault",
                        json_object_get(entry, "fault"), "applied",
                        json_object_get(entry, "applied"), "key", req.key, "in_flight", now)
            : NULL;
    /* The receivers keep what they were sent, whole. */
    bool keep_body =
        req.body && !cf.lean && (cf.role == LT_SIMPEER_WARD || cf.role == LT_SIMPEER_WEBHOOK);
    if (entry && lt_simpeer_store_add_call(store, entry, keep_body ? rq->body : NULL, rq->len) < 0)
        fprintf(stderr, "lt_simpeer: out of memory recording call %lld\n", n);
    lt_simpeer_store_unlock(store);
    json_decref(req.body);
    log_line(logged);
    rq->status = status;
    rq->answer = answer ? json_dumps(answer, JSON_COMPACT) : NULL;
    json_decref(answer);
    if (f.latency_ms > 0) {
        rq->phase = WAITING;
        return park(rq, now_ms() + f.latency_ms) ? MHD_YES : MHD_NO;
    }
    return respond(rq);
}

static enum MHD_Result serve(void *cls, struct MHD_Connection *c, const char *url,
                             const char *method, const char *version, const char *upload,
                             size_t *upload_size, void **req_cls)
{
    (void)cls, (void)version;
    request *rq = *req_cls;
    if (!rq) { /* headers only */
        rq = calloc(1, sizeof(*rq));
        if (!rq)
            return MHD_NO;
        rq->conn = c;
        *req_cls = rq;
        return MHD_YES;
    }
    if (rq->phase == READING && *upload_size) {
        size_t n = *upload_size;
        *upload_size = 0;
        if (rq->too_big || rq->len + n > opt.max_body) {
            rq->too_big = true;
            return MHD_YES; /* read and dropped: answered 413 at the end */
        }
        if (rq->len + n + 1 > rq->cap) {
            size_t want = rq->cap ? rq->cap : 4096;
            while (rq->len + n + 1 > want)
                want *= 2;
            char *p = realloc(rq->body, want);
            if (!p)
                return MHD_NO;
            rq->body = p;
            rq->cap = want;
        }
        memcpy(rq->body + rq->len, upload, n);
        rq->len += n;
        rq->body[rq->len] = '\0';
        return MHD_YES;
    }
    if (rq->close_now)
        return MHD_NO;
    if (rq->phase == READING)
        return arrive(rq, url, method);
    return respond(rq); /* the waiter woke it */
}

static void completed(void *cls, struct MHD_Connection *c, void **req_cls,
                      enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)c, (void)toe;
    request *rq = *req_cls;
    if (!rq)
        return;
    if (rq->counted)
        atomic_fetch_sub(&in_flight, 1);
    free(rq->body);
    free(rq->answer);
    free(rq);
    *req_cls = NULL;
}

static void connection_event(void *cls, struct MHD_Connection *c, void **socket_context,
                             enum MHD_ConnectionNotificationCode toe)
{
    (void)cls, (void)c, (void)socket_context;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        atomic_fetch_add(&connections, 1);
        atomic_fetch_add(&open_connections, 1);
    } else {
        atomic_fetch_sub(&open_connections, 1);
    }
}

/* --tls-cert/--tls-key as PEM text (MHD takes memory, not file names, as
 * in gateway/lt_http_tls.c); NULL when the service speaks plain HTTP. */
static char *tls_cert_pem, *tls_key_pem;

/* The whole of a small file, NUL-terminated; NULL when it cannot be read. */
static char *slurp(const char *path)
{
    enum { MAX_PEM = 1024 * 1024 };
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = malloc(MAX_PEM + 1);
    size_t n = buf ? fread(buf, 1, MAX_PEM + 1, f) : 0;
    bool bad = ferror(f) != 0 || n > MAX_PEM;
    fclose(f);
    if (!buf || bad) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

static struct MHD_Daemon *start_service(void)
{
    struct sockaddr_in sa = {
        .sin_family = AF_INET, .sin_port = htons(opt.port), .sin_addr = opt.host};
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME;
    struct MHD_OptionItem tls[] = {{MHD_OPTION_HTTPS_MEM_KEY, 0, tls_key_pem},
                                   {MHD_OPTION_HTTPS_MEM_CERT, 0, tls_cert_pem},
                                   {MHD_OPTION_END, 0, NULL}};
    if (tls_cert_pem)
        flags |= MHD_USE_TLS;
    else
        tls[0] = tls[2];
    return MHD_start_daemon(flags, 0, NULL, NULL, serve, NULL, MHD_OPTION_SOCK_ADDR, &sa,
                            MHD_OPTION_THREAD_POOL_SIZE, opt.threads, MHD_OPTION_CONNECTION_LIMIT,
                            opt.max_connections, MHD_OPTION_CONNECTION_TIMEOUT, 120u,
                            MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u, MHD_OPTION_NOTIFY_COMPLETED,
                            completed, NULL, MHD_OPTION_NOTIFY_CONNECTION, connection_event, NULL,
                            MHD_OPTION_ARRAY, tls, MHD_OPTION_END);
}

/* Stops the service listener (down = true) or starts it again on the same
 * port; -1 when the port cannot be bound again. Control thread only. */
static int set_down(bool down)
{
    if (down && !is_down) {
        waiter_flush(true);
        MHD_stop_daemon(svc);
        svc = NULL;
    } else if (!down && is_down) {
        waiter_flush(false);
        svc = start_service();
        if (!svc)
            return -1;
    }
    is_down = down;
    return 0;
}

/* ---- what the control port may touch ---------------------------------------------- */

static uint16_t ctl_port_bound;

static void host_get(lt_simpeer_faults *ret_f, lt_simpeer_conf *ret_conf, bool *ret_down)
{
    pthread_mutex_lock(&ctl_mu);
    *ret_f = flt;
    *ret_conf = conf;
    pthread_mutex_unlock(&ctl_mu);
    *ret_down = is_down;
}

static int host_set(const lt_simpeer_faults *f, const lt_simpeer_conf *c, bool down)
{
    pthread_mutex_lock(&ctl_mu);
    flt = *f;
    conf = *c;
    pthread_mutex_unlock(&ctl_mu);
    json_t *j = json_pack("{s:s, s:b, s:I, s:i, s:f, s:b, s:b}", "msg", "control", "down", down,
                          "latency_ms", (json_int_t)f->latency_ms, "status", (int)f->status,
                          "error_ratio", f->error_ratio, "timeout", f->timeout, "drop", f->drop);
    log_line(j);
    return set_down(down);
}

static void host_initial(lt_simpeer_faults *ret_f, lt_simpeer_conf *ret_conf)
{
    *ret_f = flt_start;
    *ret_conf = conf_start;
}

static json_t *host_runtime(void)
{
    return json_pack(
        "{s:s, s:i, s:i, s:b, s:i, s:i, s:I, s:i}", "role", lt_simpeer_role_name(conf.role), "port",
        (int)opt.port, "control_port", (int)ctl_port_bound, "down", is_down, "in_flight",
        atomic_load(&in_flight), "max_in_flight", atomic_load(&max_in_flight), "connections",
        (json_int_t)atomic_load(&connections), "open_connections", atomic_load(&open_connections));
}

/* ---- options and main ----------------------------------------------------------- */

/* Writes the start line to the port file whole (a reader never sees half). */
static int write_port_file(const char *line)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof(tmp), "%s.tmp", opt.port_file) >= (int)sizeof(tmp))
        return -1;
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -1;
    int rc = fprintf(f, "%s\n", line) < 0 ? -1 : 0;
    rc |= fclose(f);
    return rc == 0 && rename(tmp, opt.port_file) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (lt_simpeer_options_parse(argc, argv, &opt) < 0) {
        lt_simpeer_options_usage();
        return 2;
    }
    flt = flt_start = opt.faults;
    conf = conf_start = opt.conf;
    if (opt.log_file && !(log_fp = fopen(opt.log_file, "a"))) {
        fprintf(stderr, "lt_simpeer: cannot open %s\n", opt.log_file);
        return 1;
    }
    if (log_fp)
        setvbuf(log_fp, NULL, _IOLBF, 0);
    if (lt_simpeer_store_create(opt.max_stored, &store) < 0) {
        fprintf(stderr, "lt_simpeer: out of memory\n");
        return 1;
    }
    /* Stop signals are read by sigtimedwait below; every thread blocks them. */
    sigset_t set;
    lt_sim_block_stop_signals(&set);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&waiter.cv, &ca);
    if (pthread_create(&waiter.thread, NULL, waiter_main, NULL) != 0) {
        fprintf(stderr, "lt_simpeer: cannot start a thread\n");
        return 1;
    }
    int rc = 1;
    if (opt.tls_cert &&
        (!(tls_cert_pem = slurp(opt.tls_cert)) || !(tls_key_pem = slurp(opt.tls_key)))) {
        fprintf(stderr, "lt_simpeer: cannot read %s or %s\n", opt.tls_cert, opt.tls_key);
        goto out;
    }
    svc = start_service();
    if (!svc) {
        fprintf(stderr, "lt_simpeer: cannot listen on %s:%u\n", inet_ntoa(opt.host), opt.port);
        goto out;
    }
    opt.port = MHD_get_daemon_info(svc, MHD_DAEMON_INFO_BIND_PORT)->port;
    static const lt_simpeer_host host = {
        .get = host_get, .set = host_set, .initial = host_initial, .runtime = host_runtime};
    lt_simpeer_host h = host;
    h.store = store;
    struct sockaddr_in csa = {
        .sin_family = AF_INET, .sin_port = htons(opt.ctl_port), .sin_addr = opt.ctl_host};
    ctl = lt_simpeer_control_start(&csa, &h);
    if (!ctl) {
        fprintf(stderr, "lt_simpeer: cannot listen on %s:%u\n", inet_ntoa(opt.ctl_host),
                opt.ctl_port);
        goto out;
    }
    ctl_port_bound = MHD_get_daemon_info(ctl, MHD_DAEMON_INFO_BIND_PORT)->port;
    char line[512];
    snprintf(line, sizeof(line),
             "{\"msg\": \"simpeer: listening on 127.0.0.1:%u\", \"role\": \"%s\", \"port\": %u, "
             "\"control_port\": %u, \"pid\": %ld, \"scheme\": \"%s\"}",
             opt.port, lt_simpeer_role_name(conf.role), opt.port, ctl_port_bound, (long)getpid(),
             tls_cert_pem ? "https" : "http");
    printf("%s\n", line);
    fflush(stdout);
    if (log_fp)
        fprintf(log_fp, "%s\n", line);
    if (opt.port_file && write_port_file(line) < 0) {
        fprintf(stderr, "lt_simpeer: cannot write %s\n", opt.port_file);
        goto out;
    }
    struct timespec tick = {.tv_sec = 1};
    for (long s = 0; s < opt.max_seconds; s++)
        if (sigtimedwait(&set, NULL, &tick) > 0)
            break;
    rc = 0;
out:
    /* The control port first: nothing can restart the service after this. */
    if (ctl)
        MHD_stop_daemon(ctl);
    waiter_flush(true);
    if (svc)
        MHD_stop_daemon(svc);
    pthread_mutex_lock(&waiter.mu);
    waiter.quit = true;
    pthread_cond_signal(&waiter.cv);
    pthread_mutex_unlock(&waiter.mu);
    pthread_join(waiter.thread, NULL);
    lt_simpeer_store_lock(store);
    json_t *st = lt_simpeer_store_stats(store);
    lt_simpeer_store_unlock(store);
    json_t *fin = json_pack("{s:s, s:O, s:O, s:O, s:i, s:I}", "msg", "simpeer: stopped", "calls",
                            json_object_get(st, "calls"), "records", json_object_get(st, "records"),
                            "duplicates", json_object_get(st, "duplicates"), "max_in_flight",
                            atomic_load(&max_in_flight), "connections",
                            (json_int_t)atomic_load(&connections));
    char *text = fin ? json_dumps(fin, JSON_COMPACT) : NULL;
    if (text)
        fprintf(stderr, "%s\n", text);
    free(text);
    log_line(fin);
    json_decref(st);
    lt_simpeer_store_destroy(&store);
    if (log_fp)
        fclose(log_fp);
    free(tls_cert_pem);
    free(tls_key_pem);
    return rc;
}
