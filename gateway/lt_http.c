/* lt_http: the HTTP front (see lt_http.h).
 *
 * Requests go through one access handler that collects the body under the
 * http.max_body limit (413 before reading when Content-Length already says
 * too much), then one route table decides. Routes answer with JSON through
 * reply_json/reply_error so every answer has the contract's shape. */
#include "lt_http.h"
#include "lt_http_int.h"
#include "lt_actor.h"
#include "lt_dbwatch.h"
#include "lt_auth.h"
#include "lt_dossier.h"
#include "lt_http_tls.h"
#include "lt_httpcall.h"
#include "lt_ingest.h"
#include "lt_log.h"
#include "lt_loop.h"
#include "lt_read_query.h"
#include "lt_reader.h"
#include "lt_reportd.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netdb.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zmq.h>

#define DRAIN_LIMIT_MS   10000
#define KICK_MAX_MS      1000 /* longest sleep between MHD housekeeping runs */
#define RETRY_AFTER_SECS "5"
/* Senders remembered by the rate limiter at once; beyond it the fullest
 * bucket is forgotten (lt_limits.c says why that is safe). */
#define RATE_KEYS 4096
/* Requests waiting for another actor: how many at once, and how long each
 * may wait (well inside DRAIN_LIMIT_MS, so a stop never strands one). */
#define CALL_LIMIT      256
#define CALL_TIMEOUT_MS 5000
#define CALL_EXPIRE_MS  250
/* Reports waiting for the report actor, which runs one and queues
 * LT_REPORTD_MAX_WAITING: a few more here only reach its own 503. They wait
 * report.timeout + LT_REPORTD_FRONT_MARGIN_MS, past DRAIN_LIMIT_MS: a stop
 * answers them 503 when the drain ends. */
#define REPORT_CALL_LIMIT 16
/* Pushes wait for the writer's commit; the writer gives up on a statement
 * after 10 s (and answers 503), so this only catches a writer that died. */
#define PUSH_TIMEOUT_MS 15000

typedef struct {
    const char *method;
    const char *path; /* the whole path; one ending in '/' takes one more segment */
    route_fn fn;
} route;

/* Every answer is JSON text; header (may be NULL) adds one header such as
 * Retry-After or Allow. Takes ownership of text (NULL: out of memory). */
enum MHD_Result lt_http_reply_text(struct MHD_Connection *c, unsigned status, char *text,
                                   const char *header, const char *value)
{
    if (!text)
        return MHD_NO;
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json; charset=utf-8");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (header)
        MHD_add_response_header(r, header, value);
    enum MHD_Result rc = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return rc;
}

/* The same from a jansson value; takes ownership of body. */
enum MHD_Result lt_http_reply_json(struct MHD_Connection *c, unsigned status, json_t *body,
                                   const char *header, const char *value)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    return lt_http_reply_text(c, status, text, header, value);
}

enum MHD_Result lt_http_reply_error_h(struct MHD_Connection *c, unsigned status, const char *code,
                                      const char *message, const char *field, const char *header,
                                      const char *value)
{
    json_t *err = json_pack("{s:s, s:s}", "code", code, "message", message);
    if (err && field)
        json_object_set_new(err, "field", json_string(field));
    return lt_http_reply_json(c, status, json_pack("{s:o}", "error", err), header, value);
}

enum MHD_Result lt_http_reply_error(struct MHD_Connection *c, unsigned status, const char *code,
                                    const char *message, const char *field)
{
    return lt_http_reply_error_h(c, status, code, message, field, NULL, NULL);
}

/* 503 always says when to come back (DESIGN.md, HTTP errors). */
enum MHD_Result lt_http_reply_unavailable(struct MHD_Connection *c, const char *message)
{
    return lt_http_reply_error_h(c, MHD_HTTP_SERVICE_UNAVAILABLE, "not_ready", message, NULL,
                                 MHD_HTTP_HEADER_RETRY_AFTER, RETRY_AFTER_SECS);
}

/* ---- the per-sender rate (limits.rate, limits.burst) ---------------------- */

static void client_address(struct MHD_Connection *c, char *ret, size_t cap)
{
    ret[0] = '\0';
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (!ci || !ci->client_addr)
        return;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, ret,
                  (socklen_t)cap);
    else if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, ret,
                  (socklen_t)cap);
}

int lt_http_rate_check(http_server *srv, struct MHD_Connection *c, const char *token, int64_t cost)
{
    if (srv->cfg.limits.rate <= 0)
        return 0;
    char addr[INET6_ADDRSTRLEN] = "", key[80];
    if (!token || !token[0])
        client_address(c, addr, sizeof(addr));
    lt_limits_key(token, addr, key, sizeof(key));
    int64_t now = lt_loop_now_ms();
    int wait =
        lt_limits_take(srv->rate, key, srv->cfg.limits.rate, srv->cfg.limits.burst, cost, now);
    if (wait > 0 && now - srv->refused_logged >= 1000) {
        /* At most one line a second: a flood must not become a log flood.
         * The key is a token's public prefix, never the token. */
        srv->refused_logged = now;
        LT_WARN("http: %s over limits.rate (%lld records/s, burst %lld); answering 429",
                key[0] == 't' ? key : "a sender without a token", (long long)srv->cfg.limits.rate,
                (long long)srv->cfg.limits.burst);
    }
    return wait;
}

enum MHD_Result lt_http_reply_rate_limited(http_server *srv, struct MHD_Connection *c, int seconds)
{
    char msg[200], after[16];
    snprintf(msg, sizeof(msg),
             "more than limits.rate (%lld records/s, burst %lld) from this sender; nothing was "
             "stored; retry after %d s",
             (long long)srv->cfg.limits.rate, (long long)srv->cfg.limits.burst, seconds);
    snprintf(after, sizeof(after), "%d", seconds);
    return lt_http_reply_error_h(c, MHD_HTTP_TOO_MANY_REQUESTS, "rate_limited", msg, NULL,
                                 MHD_HTTP_HEADER_RETRY_AFTER, after);
}

/* ---- calls to other actors ------------------------------------------------
 * A route that needs another actor sends the request through lt_httpcall and
 * suspends the connection; the answer (or the timeout) stores itself in the
 * request and resumes the connection; MHD then calls the access handler
 * again, and the route replies with what came back. */

/* Sends verb+params (stolen) and suspends; or answers 503 when the actor's
 * queue or our table is full. */
enum MHD_Result lt_http_call_actor(http_server *srv, struct MHD_Connection *c, http_req *req,
                                   lt_httpcall *to, const char *verb, json_t *params)
{
    char *text = params ? json_dumps(params, JSON_COMPACT) : NULL;
    json_decref(params);
    if (!text)
        return MHD_NO;
    int rc = lt_httpcall_send(to, verb, text, req);
    sodium_memzero(text, strlen(text)); /* a read's params hold the caller's token */
    free(text);
    if (rc < 0)
        return lt_http_reply_unavailable(c, "too many requests waiting; try again shortly");
    req->conn = c;
    req->waiting = true;
    (void)srv;
    MHD_suspend_connection(c);
    return MHD_YES;
}

/* RFC 6750: a 401 names the scheme, and says invalid_token when a token
 * came and was refused. */
const char *lt_http_bearer_challenge(const http_req *req)
{
    return req->sent_token ? "Bearer error=\"invalid_token\"" : "Bearer";
}

/* Replies with an actor's answer; 503s keep their Retry-After, 401s get
 * their challenge. */
enum MHD_Result lt_http_reply_answer(struct MHD_Connection *c, http_req *req)
{
    char *text = req->answer_body;
    req->answer_body = NULL;
    bool busy = req->answer_status == MHD_HTTP_SERVICE_UNAVAILABLE;
    if (req->answer_challenge || req->answer_status == MHD_HTTP_UNAUTHORIZED)
        return lt_http_reply_text(c, (unsigned)req->answer_status, text,
                                  MHD_HTTP_HEADER_WWW_AUTHENTICATE, lt_http_bearer_challenge(req));
    return lt_http_reply_text(c, (unsigned)req->answer_status, text,
                              busy ? MHD_HTTP_HEADER_RETRY_AFTER : NULL,
                              busy ? RETRY_AFTER_SECS : NULL);
}

static void resume_with(http_req *req, int status, char *body)
{
    req->answer_status = status;
    req->answer_body = body;
    req->waiting = false;
    MHD_resume_connection(req->conn);
}

static void on_call_expired(void *cookie, void *arg)
{
    (void)arg;
    resume_with(cookie, MHD_HTTP_SERVICE_UNAVAILABLE,
                strdup("{\"error\":{\"code\":\"timeout\",\"message\":\"the database did not "
                       "answer in time; try again shortly\"}}"));
}

/* The report actor answers 504 itself when report.timeout runs out; this is
 * for a report whose build outlasted the margin, or an actor that died. */
static void on_report_expired(void *cookie, void *arg)
{
    http_server *srv = arg;
    char body[256];
    snprintf(body, sizeof(body),
             "{\"error\":{\"code\":\"timeout\",\"message\":\"the report took longer than "
             "report.timeout (%lld ms) and its margin; ask for a shorter period or one unit\"}}",
             (long long)srv->cfg.report.timeout_ms);
    resume_with(cookie, MHD_HTTP_GATEWAY_TIMEOUT, strdup(body));
}

enum MHD_Result lt_http_collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                    const char *value)
{
    (void)kind;
    query_args *qa = cls;
    if (qa->n == MAX_QUERY_ARGS) {
        qa->overflow = true;
        return MHD_NO;
    }
    qa->keys[qa->n] = key;
    qa->values[qa->n++] = value;
    return MHD_YES;
}

static const route routes[] = {
    {"POST", "/v1/dossiers", lt_http_route_dossiers_post},
    {"GET", "/healthz", lt_http_route_healthz},
    {"GET", "/readyz", lt_http_route_readyz},
    {"GET", "/v1/catalog", lt_http_route_catalog},
    {"GET", "/v1/dossiers", lt_http_route_dossiers},
    {"GET", "/v1/dossiers/", lt_http_route_dossier},
    {"GET", "/v1/events", lt_http_route_events},
    {"GET", "/v1/rejects", lt_http_route_rejects},
    {"GET", "/v1/deadletters", lt_http_route_deadletters},
    {"POST", "/v1/deadletters/replay", lt_http_route_replay},
    {"GET", "/v1/reports/ontime", lt_http_route_report},
    {"GET", "/", lt_http_route_web},
    {"GET", "/assets/", lt_http_route_web},
    {"GET", "/v1/status", lt_http_route_status},
    {"GET", "/metrics", lt_http_route_metrics},
};

/* "/v1/dossiers/" matches "/v1/dossiers/X" (the route checks X); other
 * paths, the root "/" among them, match themselves only. */
static bool route_matches(const route *r, const char *url)
{
    size_t n = strlen(r->path);
    if (n <= 1 || r->path[n - 1] != '/')
        return strcmp(r->path, url) == 0;
    return strncmp(r->path, url, n) == 0 && url[n] != '\0';
}

static enum MHD_Result dispatch(http_server *srv, struct MHD_Connection *c, const char *method,
                                const char *url, http_req *req)
{
    bool path_known = false;
    char allow[64] = "";
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        if (!route_matches(&routes[i], url))
            continue;
        path_known = true;
        if (strcmp(routes[i].method, method) == 0 ||
            (strcmp(method, "HEAD") == 0 && strcmp(routes[i].method, "GET") == 0))
            return routes[i].fn(srv, c, req);
        size_t n = strlen(allow);
        snprintf(allow + n, sizeof(allow) - n, "%s%s", n ? ", " : "", routes[i].method);
    }
    char msg[256];
    if (path_known) {
        /* RFC 9110: a 405 names the methods the resource takes. */
        snprintf(msg, sizeof(msg), "%.16s is not allowed here; use %s", method, allow);
        return lt_http_reply_error_h(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed", msg,
                                     NULL, MHD_HTTP_HEADER_ALLOW, allow);
    }
    snprintf(msg, sizeof(msg), "no such resource: %.200s", url);
    return lt_http_reply_error(c, MHD_HTTP_NOT_FOUND, "not_found", msg, NULL);
}

static bool body_too_large_by_header(http_server *srv, struct MHD_Connection *c)
{
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
    if (!cl)
        return false;
    char *end = NULL;
    unsigned long long v = strtoull(cl, &end, 10);
    return end != cl && v > (unsigned long long)srv->cfg.http.max_body;
}

static int append_body(http_server *srv, http_req *req, const char *data, size_t n)
{
    if (req->too_large || req->len + n > (size_t)srv->cfg.http.max_body) {
        req->too_large = true;
        return 0;
    }
    if (req->len + n + 1 > req->cap) {
        size_t cap = req->cap ? req->cap : 4096;
        while (cap < req->len + n + 1)
            cap *= 2;
        char *b = realloc(req->body, cap);
        if (!b)
            return -1;
        req->body = b;
        req->cap = cap;
    }
    memcpy(req->body + req->len, data, n);
    req->len += n;
    req->body[req->len] = '\0';
    return 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    (void)version;
    http_server *srv = cls;
    http_req *req = *con_cls;
    if (!req) {
        req = calloc(1, sizeof(*req));
        if (!req)
            return MHD_NO;
        req->started = lt_loop_now_ms();
        *con_cls = req;
        srv->active++;
        if (body_too_large_by_header(srv, c))
            req->too_large = true;
        return MHD_YES;
    }
    if (*upload_size) {
        /* limits.timeout only catches a silent client; one that sends a
         * byte now and then would hold its connection and buffer for ever.
         * MHD calls us as bytes arrive, so the deadline is checked here. */
        if (lt_loop_now_ms() - req->started > srv->cfg.limits.request_time_ms) {
            LT_WARN("http: a request body was not received within limits.request_time "
                    "(%lld ms): connection closed",
                    (long long)srv->cfg.limits.request_time_ms);
            return MHD_NO;
        }
        if (append_body(srv, req, upload, *upload_size) < 0)
            return MHD_NO;
        *upload_size = 0;
        return MHD_YES;
    }
    if (req->too_large) {
        char msg[128];
        snprintf(msg, sizeof(msg), "request body exceeds http.max_body (%lld bytes)",
                 (long long)srv->cfg.http.max_body);
        return lt_http_reply_error(c, MHD_HTTP_CONTENT_TOO_LARGE, "too_large", msg, NULL);
    }
    req->url = url;
    return dispatch(srv, c, method, url, req);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)c;
    http_server *srv = cls;
    http_req *req = *con_cls;
    if (!req)
        return;
    if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK)
        LT_DEBUG("request ended early (code %d) after %lld ms", (int)toe,
                 (long long)(lt_loop_now_ms() - req->started));
    srv->active--;
    free(req->answer_body);
    free(req->body);
    free(req);
    *con_cls = NULL;
}

/* MHD says the same thing once per refused connection (a connection limit,
 * a header too big): a peer could turn that into a log flood, so a message
 * repeated within a second is counted, not written. */
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    http_server *srv = cls;
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    int64_t now = lt_loop_now_ms();
    if (strcmp(msg, srv->mhd_last) == 0 && now - srv->mhd_logged < 1000) {
        srv->mhd_repeats++;
        return;
    }
    if (srv->mhd_repeats > 0)
        LT_WARN("http: (%d more like the last message)", srv->mhd_repeats);
    LT_WARN("http: %s", msg);
    snprintf(srv->mhd_last, sizeof(srv->mhd_last), "%s", msg);
    srv->mhd_logged = now;
    srv->mhd_repeats = 0;
}

static int on_kick(lt_loop *loop, int timer_id, void *arg);

/* MHD keeps work of its own (timeouts, connections with buffered data) that
 * the epoll descriptor does not announce; MHD_get_timeout says when. */
static void run_mhd(http_server *srv)
{
    MHD_run(srv->mhd);
    MHD_UNSIGNED_LONG_LONG to = KICK_MAX_MS;
    if (MHD_get_timeout(srv->mhd, &to) != MHD_YES || to > KICK_MAX_MS)
        to = KICK_MAX_MS;
    lt_loop_cancel_timer(srv->loop, srv->kick_timer);
    srv->kick_timer = lt_loop_add_timer(srv->loop, (int64_t)to, 0, on_kick, srv);
}

static int drained(http_server *srv)
{
    if (!srv->draining)
        return 0;
    if (srv->active > 0 && lt_loop_now_ms() < srv->drain_deadline)
        return 0;
    if (srv->active > 0)
        LT_WARN("http: %d request(s) still running after %d ms; closing them", srv->active,
                DRAIN_LIMIT_MS);
    return -1;
}

static int on_kick(lt_loop *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    http_server *srv = arg;
    srv->kick_timer = 0;
    run_mhd(srv);
    return drained(srv);
}

static int on_epoll(lt_loop *loop, int fd, short revents, void *arg)
{
    (void)loop;
    (void)fd;
    (void)revents;
    http_server *srv = arg;
    run_mhd(srv);
    return drained(srv);
}

static void read_dbstate(http_server *srv)
{
    char *topic = lt_msg_recv_str(srv->dbstate, NULL);
    char *text = lt_msg_recv_str(srv->dbstate, NULL);
    json_t *j = text ? json_loads(text, 0, NULL) : NULL;
    int ready = 0;
    const char *reason = "";
    if (j && json_unpack(j, "{s:b, s:s, s:I, s:I}", "ready", &ready, "reason", &reason, "applied",
                         &srv->db.applied, "known", &srv->db.migrations) == 0) {
        srv->db.ready = ready;
        srv->db.known = true;
        snprintf(srv->db.reason, sizeof(srv->db.reason), "%s", reason);
    }
    json_decref(j);
    free(topic);
    free(text);
    lt_msg_drain(srv->dbstate);
}

static int on_dbstate(lt_loop *loop, void *sock, void *arg)
{
    (void)loop;
    (void)sock;
    read_dbstate(arg);
    return 0;
}

/* One answer from an actor asked through lt_httpcall (the reader or the
 * report actor: the socket says which) resumes its suspended request. */
static int on_call_answer(lt_loop *loop, void *sock, void *arg)
{
    (void)loop;
    http_server *srv = arg;
    lt_httpcall *call = sock == lt_httpcall_socket(srv->reader) ? srv->reader : srv->reports;
    int status = 0;
    char *body = NULL;
    http_req *req = lt_httpcall_recv(call, &status, &body);
    if (!req) {
        free(body);
        return 0; /* late: that request already timed out */
    }
    resume_with(req, status, body);
    run_mhd(srv);
    return 0;
}

static int on_writer(lt_loop *loop, void *sock, void *arg)
{
    (void)loop;
    (void)sock;
    http_server *srv = arg;
    for (;;) {
        lt_ingest_req *push = NULL;
        int events = 0;
        size_t el = sizeof(events);
        if (zmq_getsockopt(lt_ingest_client_socket(srv->writer), ZMQ_EVENTS, &events, &el) < 0 ||
            !(events & ZMQ_POLLIN))
            break;
        http_req *req = lt_ingest_client_recv(srv->writer, &push);
        if (!req)
            continue; /* late: that request already timed out */
        req->answer_challenge = push->challenge;
        resume_with(req, push->status ? push->status : 500, push->answer);
        push->answer = NULL;
        lt_ingest_req_destroy(&push);
    }
    run_mhd(srv);
    return 0;
}

static int on_call_expire(lt_loop *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    http_server *srv = arg;
    if (lt_httpcall_pending(srv->reader) == 0 && lt_ingest_client_pending(srv->writer) == 0 &&
        lt_httpcall_pending(srv->reports) == 0)
        return 0;
    lt_httpcall_expire(srv->reader, lt_loop_now_ms(), on_call_expired, srv);
    lt_httpcall_expire(srv->reports, lt_loop_now_ms(), on_report_expired, srv);
    lt_ingest_client_expire(srv->writer, lt_loop_now_ms(), on_call_expired, srv);
    run_mhd(srv);
    return 0;
}

static void start_drain(http_server *srv)
{
    srv->draining = true;
    srv->drain_deadline = lt_loop_now_ms() + DRAIN_LIMIT_MS;
    srv->quiesced_fd = MHD_quiesce_daemon(srv->mhd);
    LT_INFO("http: no longer accepting connections; %d request(s) in progress", srv->active);
}

static int on_pipe(lt_loop *loop, void *pipe, void *arg)
{
    (void)loop;
    http_server *srv = arg;
    if (lt_actor_read_pipe(pipe, &srv->cfg) >= 0)
        return 0;
    start_drain(srv);
    return drained(srv);
}

/* Resolves http.listen into a socket address MHD binds to. */
static int resolve_listen(const char *listen, struct sockaddr_storage *ret, bool *ret_v6)
{
    char host[256];
    int port = 0;
    if (lt_config_split_listen(listen, host, sizeof(host), &port) < 0)
        return -1;
    char service[16];
    snprintf(service, sizeof(service), "%d", port);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV | AI_PASSIVE};
    struct addrinfo *res = NULL;
    if (getaddrinfo(host, service, &hints, &res) != 0 || !res)
        return -1;
    memcpy(ret, res->ai_addr, res->ai_addrlen);
    *ret_v6 = res->ai_family == AF_INET6;
    freeaddrinfo(res);
    return 0;
}

static void log_bound_address(http_server *srv)
{
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv->mhd, MHD_DAEMON_INFO_LISTEN_FD);
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    char host[INET6_ADDRSTRLEN] = "?", addr[INET6_ADDRSTRLEN + 16];
    int port = 0;
    if (info && getsockname(info->listen_fd, (struct sockaddr *)&ss, &len) == 0) {
        if (ss.ss_family == AF_INET6) {
            struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
            inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
            port = ntohs(a->sin6_port);
        } else {
            struct sockaddr_in *a = (struct sockaddr_in *)&ss;
            inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
            port = ntohs(a->sin_port);
        }
    }
    snprintf(addr, sizeof(addr), ss.ss_family == AF_INET6 ? "[%s]:%d" : "%s:%d", host, port);
    /* Scripts and tests that ask for port 0 read the real one from here. */
    lt_log_json(LT_LOG_INFO, json_pack("{s:s, s:i}", "http_listen", addr, "port", port),
                "http: listening on %s", addr);
}

static int start_mhd(http_server *srv)
{
    struct sockaddr_storage ss;
    bool v6 = false;
    if (resolve_listen(srv->cfg.http.listen, &ss, &v6) < 0) {
        LT_ERROR("http: cannot resolve http.listen %s", srv->cfg.http.listen);
        return -1;
    }
    unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    if (v6)
        flags |= MHD_USE_IPv6;
    lt_http_tls tls;
    char tls_err[512];
    if (lt_http_tls_load(&srv->cfg, &tls, tls_err, sizeof(tls_err)) < 0) {
        LT_ERROR("http: %s", tls_err);
        return -1;
    }
    if (tls.on)
        flags |= MHD_USE_TLS;
    /* The limits a peer could otherwise push on: MHD enforces them itself.
     * A connection over limits.connections(_per_ip) is closed as accepted
     * (HTTP has no answer before a request); headers that do not fit the
     * connection's pool get MHD's 431; a connection silent for
     * limits.timeout is closed, whatever it had sent. */
    const lt_config *cf = &srv->cfg;
    unsigned timeout_s = (unsigned)((cf->limits.timeout_ms + 999) / 1000);
    srv->mhd = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, srv, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, srv,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
        srv, MHD_OPTION_CONNECTION_LIMIT, (unsigned)cf->limits.connections,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)cf->limits.connections_per_ip,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)cf->limits.header_size,
        MHD_OPTION_CONNECTION_TIMEOUT, timeout_s, MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u,
        MHD_OPTION_ARRAY, tls.opts, MHD_OPTION_END);
    lt_http_tls_free(&tls); /* GnuTLS holds its own copy from here */
    if (!srv->mhd) {
        LT_ERROR("http: cannot listen on %s (address in use or not available)",
                 srv->cfg.http.listen);
        return -1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv->mhd, MHD_DAEMON_INFO_EPOLL_FD);
    if (!info)
        return -1;
    srv->epoll_fd = info->epoll_fd;
    log_bound_address(srv);
    return 0;
}

void lt_http_actor(void *pipe, void *args)
{
    const lt_http_args *a = args;
    http_server srv = {.pipe = pipe, .epoll_fd = -1, .quiesced_fd = MHD_INVALID_SOCKET};
    int linger = 0;
    srv.loop = lt_loop_new();
    srv.dbstate = zmq_socket(a->zmq_ctx, ZMQ_SUB);
    if (!srv.loop || !srv.dbstate || lt_config_copy(&srv.cfg, a->cfg) < 0 ||
        zmq_setsockopt(srv.dbstate, ZMQ_LINGER, &linger, sizeof(linger)) < 0 ||
        zmq_setsockopt(srv.dbstate, ZMQ_SUBSCRIBE, "dbstate", 7) < 0 ||
        zmq_connect(srv.dbstate, LT_DBSTATE_ENDPOINT) < 0 ||
        !(srv.reader =
              lt_httpcall_new(a->zmq_ctx, LT_READER_ENDPOINT, CALL_LIMIT, CALL_TIMEOUT_MS)) ||
        !(srv.reports = lt_httpcall_new(a->zmq_ctx, LT_REPORTD_ENDPOINT, REPORT_CALL_LIMIT,
                                        srv.cfg.report.timeout_ms + LT_REPORTD_FRONT_MARGIN_MS)) ||
        !(srv.writer =
              lt_ingest_client_new(a->zmq_ctx, (size_t)srv.cfg.limits.queue, PUSH_TIMEOUT_MS)) ||
        !(srv.rate = lt_limits_new(RATE_KEYS)) || start_mhd(&srv) < 0 ||
        lt_loop_add_socket(srv.loop, pipe, on_pipe, &srv) < 0 ||
        lt_loop_add_socket(srv.loop, lt_httpcall_socket(srv.reader), on_call_answer, &srv) < 0 ||
        lt_loop_add_socket(srv.loop, lt_httpcall_socket(srv.reports), on_call_answer, &srv) < 0 ||
        lt_loop_add_socket(srv.loop, lt_ingest_client_socket(srv.writer), on_writer, &srv) < 0 ||
        lt_loop_add_timer(srv.loop, CALL_EXPIRE_MS, CALL_EXPIRE_MS, on_call_expire, &srv) < 0 ||
        lt_loop_add_socket(srv.loop, srv.dbstate, on_dbstate, &srv) < 0 ||
        lt_loop_add_fd(srv.loop, srv.epoll_fd, ZMQ_POLLIN, on_epoll, &srv) < 0) {
        lt_actor_signal(pipe, -1);
        goto out;
    }
    run_mhd(&srv);
    lt_actor_signal(pipe, 0);
    lt_loop_run(srv.loop);
out:
    if (srv.mhd && ((srv.reader && lt_httpcall_pending(srv.reader) > 0) ||
                    (srv.reports && lt_httpcall_pending(srv.reports) > 0) ||
                    (srv.writer && lt_ingest_client_pending(srv.writer) > 0))) {
        /* MHD cannot stop with suspended connections: answer them first. */
        if (srv.reader)
            lt_httpcall_expire(srv.reader, INT64_MAX, on_call_expired, &srv);
        if (srv.reports)
            lt_httpcall_expire(srv.reports, INT64_MAX, on_call_expired, &srv);
        if (srv.writer)
            lt_ingest_client_expire(srv.writer, INT64_MAX, on_call_expired, &srv);
        MHD_run(srv.mhd);
    }
    if (srv.mhd)
        MHD_stop_daemon(srv.mhd);
    lt_httpcall_destroy(&srv.reader);
    lt_httpcall_destroy(&srv.reports);
    lt_ingest_client_destroy(&srv.writer);
    lt_limits_destroy(&srv.rate);
    if (srv.quiesced_fd != MHD_INVALID_SOCKET)
        close(srv.quiesced_fd);
    if (srv.dbstate)
        zmq_close(srv.dbstate);
    lt_loop_destroy(&srv.loop);
    lt_config_free(&srv.cfg);
}
