/* lt_push: pushes realistic dossier records to a running gateway and records
 * what it acknowledged (test and benchmark tool, built with the tests, never
 * installed). It plays N ward systems at once:
 *
 *   lt_push --http http://127.0.0.1:PORT | --zmq tcp://127.0.0.1:PORT
 *           [--token TOKEN] --unit-agency AGENCYID --procedure CODE [--procedure CODE...]
 *           [--senders N] [--batch B] (--count N | --seconds S) [--ack-log FILE]
 *           [--seed S] [--run-id R] [--rate R] [--updates P] [--retry]
 *           [--timeout-ms MS] [--deadline S] [--json] [--dry-run]
 *           [--curve-server KEY --curve-public KEY --curve-secret KEY] (with --zmq)
 *
 * Records come from lt_dossiergen (whole canonical records, a new dossier
 * code each, or with --updates P, P % of the pushes the next status of a
 * dossier this run already got accepted). Each sender has one request in
 * flight and sends its next one when the answer arrives: over HTTP, N easy
 * handles in one libcurl multi posting to /v1/dossiers; over ZeroMQ, N
 * DEALER sockets sending [token, JSON] to the ingress ROUTER. B = 1 sends one
 * JSON object, B > 1 an array of B records.
 *
 * It counts results by kind (accepted / duplicate / stale / rejected), HTTP
 * statuses and transport errors, and the acknowledgement latency of every
 * request answered with results (send → answer) in a log-linear histogram.
 * --ack-log FILE appends "MaHoSo sequence" for each record answered
 * `accepted`, written with one write(2) per answer as it arrives, so that a
 * test may kill the gateway at any moment and then check that every line is
 * in the database exactly once. A 503, 429 or transport error leaves its
 * records unacknowledged; --retry resends the same bytes after a short pause
 * until they are answered (then `accepted`, or `duplicate` when the lost
 * answer had in fact been committed).
 *
 * Bounded: it stops taking new work at --count records or after --seconds,
 * waits for what is in flight (each request times out after --timeout-ms),
 * and exits at --deadline whatever happens. --dry-run prints the request
 * bodies it would send, one per line, as if every push were accepted.
 *
 * Exit: 0 when the run finished, 3 when the deadline cut it short, 2 on bad
 * usage, 1 when it could not start. */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "lt_toolcurve.h"

#include "lt_dossiergen.h"

#define MAX_SENDERS     1024
#define MAX_BATCH       1000        /* the contract's array limit */
#define MAX_ANSWER      (64u << 20) /* bytes of one answer we read */
#define POOL_MAX        2000000     /* accepted dossiers remembered for --updates */
#define RETRY_PAUSE     200         /* ms before a --retry resend */
#define FAIL_PAUSE      50          /* ms before a sender goes on after a failure */
#define RETRY_AFTER_MAX 2           /* s: we honour Retry-After up to this */

enum { R_ACCEPTED, R_DUPLICATE, R_STALE, R_REJECTED, R_KINDS };
static const char *const result_names[R_KINDS] = {"accepted", "duplicate", "stale", "rejected"};

/* ---- options ---------------------------------------------------------------- */

typedef struct opts {
    bool zmq;                /* ZeroMQ ingress instead of HTTP */
    const char *endpoint;    /* base URL or tcp:// endpoint */
    const char *token;       /* bearer token; NULL = none */
    const char *agency;      /* dossier code prefix */
    const char **procedures; /* MaTTHC to choose from */
    size_t n_procedures;
    unsigned senders;    /* concurrent senders */
    unsigned batch;      /* records per request */
    uint64_t count;      /* records to push (updates included); 0 = by time */
    double seconds;      /* how long to push; 0 = by count */
    const char *ack_log; /* where accepted records are appended */
    uint64_t seed;       /* record content */
    uint64_t run_id;     /* dossier codes */
    double rate;         /* records per second in total; 0 = as fast as answers come */
    unsigned updates;    /* percent of pushes that are a newer status */
    bool retry;          /* resend after 503, 429 and transport errors */
    long timeout_ms;     /* per request */
    double deadline;     /* seconds: hard end of the run */
    bool json;           /* one JSON object as the report */
    bool dry_run;        /* print bodies, send nothing */
    lt_tool_curve curve; /* --zmq: CURVE client keys; none = plain text */
} opts;

/* ---- latency histogram: 32 sub-buckets per power of two (≤ 3 % error) ------- */

#define H_SUB     32
#define H_BUCKETS (2 * H_SUB + 40 * H_SUB)

typedef struct hist {
    uint64_t b[H_BUCKETS]; /* requests per bucket */
    uint64_t n;            /* requests */
    double sum_us;         /* for the mean */
    uint64_t max_us;       /* exact maximum */
} hist;

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

static void h_add(hist *h, uint64_t us)
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

/* ---- the run ---------------------------------------------------------------- */

/* One record of a request: dossier i at step. */
typedef struct item {
    uint64_t i;
    unsigned step;
    bool update;
} item;

typedef enum { S_IDLE, S_WAIT, S_INFLIGHT, S_DONE } sender_state;

typedef struct sender {
    unsigned idx;        /* 0..senders-1 */
    sender_state state;  /* what it does now */
    int64_t due_ns;      /* S_WAIT: when to send (retry pause, rate) */
    bool resend;         /* S_WAIT: resend the body when due (--retry) */
    int64_t sent_ns;     /* S_INFLIGHT: when the request left */
    item *items;         /* the request's records (batch slots) */
    size_t n_items;      /* how many are used */
    lt_dgen_buf body;    /* the request body */
    lt_dgen_buf answer;  /* what came back */
    bool answer_too_big; /* the answer passed MAX_ANSWER */
    long retry_after;    /* seconds, from a Retry-After header; 0 = none */
    CURL *easy;          /* HTTP */
    void *sock;          /* ZeroMQ DEALER */
} sender;

/* Counters of the whole run. */
typedef struct stats {
    uint64_t results[R_KINDS]; /* records by answer */
    uint64_t requests;         /* attempts sent, retries included */
    uint64_t answered;         /* requests answered with results */
    uint64_t records_sent;     /* records taken into requests (once each) */
    uint64_t updates_sent;     /* of which newer statuses of known dossiers */
    uint64_t unacked;          /* records given up on (no result) */
    uint64_t retries;          /* resends */
    uint64_t transport_errors; /* no HTTP answer / ZeroMQ send failed */
    uint64_t timeouts;         /* of which: no answer within --timeout-ms */
    uint64_t protocol_errors;  /* answers we could not read or match */
    uint64_t http_status[600]; /* HTTP answers by status */
    uint64_t zmq_errors;       /* ZeroMQ answers without results */
    uint64_t ack_lines;        /* lines written to the ack log */
    unsigned shown;            /* rejections printed on stderr */
    hist lat;                  /* acknowledgement latency */
} stats;

typedef struct push {
    opts o;
    lt_dgen *gen;
    stats st;
    item *pool; /* accepted dossiers that have a newer status to send */
    size_t pool_n, pool_cap;
    uint64_t rng;        /* choice of updates */
    uint64_t next_new;   /* next new dossier index */
    int64_t t0_ns;       /* start */
    int64_t first_ns;    /* first request sent */
    int64_t last_ns;     /* last answer */
    int64_t stop_ns;     /* no new records after this (--seconds) */
    int64_t deadline_ns; /* hard end */
    double slot_ns;      /* --rate: when the next record may leave */
    int ack_fd;          /* -1 = no ack log */
    sender *s;
    CURLM *multi;
    struct curl_slist *headers;
    char *url;
    void *zctx;
    bool cut_short; /* the deadline ended the run */
} push;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static uint64_t next_rand(push *p)
{
    uint64_t z = (p->rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void pool_put(push *p, uint64_t i, unsigned step)
{
    if (step >= lt_dgen_last_step(p->gen, i) || p->pool_n >= POOL_MAX)
        return;
    if (p->pool_n == p->pool_cap) {
        size_t cap = p->pool_cap ? p->pool_cap * 2 : 4096;
        item *v = realloc(p->pool, cap * sizeof(*v));
        if (!v)
            return; /* forgetting a dossier only means fewer updates */
        p->pool = v;
        p->pool_cap = cap;
    }
    p->pool[p->pool_n++] = (item){i, step, false};
}

/* Takes a random remembered dossier out of the pool: while its update is in
 * flight nobody else sends one, so updates never overtake each other. */
static bool pool_take(push *p, item *ret)
{
    if (p->pool_n == 0)
        return false;
    size_t k = (size_t)(next_rand(p) % p->pool_n);
    *ret = p->pool[k];
    p->pool[k] = p->pool[--p->pool_n];
    return true;
}

/* Records still to take under --count (UINT64_MAX when by time). */
static uint64_t budget(const push *p)
{
    if (!p->o.count)
        return UINT64_MAX;
    return p->o.count > p->st.records_sent ? p->o.count - p->st.records_sent : 0;
}

/* Fills s with its next request. Returns 1 when there is one, 0 when the run
 * has no more work for it, -1 on error. */
static int fill_request(push *p, sender *s, int64_t now)
{
    uint64_t left = budget(p);
    if (left == 0 || (p->stop_ns && now >= p->stop_ns))
        return 0;
    size_t n = p->o.batch < left ? p->o.batch : (size_t)left;
    lt_dgen_buf_reset(&s->body);
    if (p->o.batch > 1 && lt_dgen_buf_add(&s->body, "[", 1) < 0)
        return -1;
    for (size_t k = 0; k < n; k++) {
        item it;
        if (p->o.updates && next_rand(p) % 100 < p->o.updates && pool_take(p, &it)) {
            it.step++;
            it.update = true;
            p->st.updates_sent++;
        } else {
            it.i = p->next_new++;
            it.step = lt_dgen_first_step(p->gen, it.i);
            it.update = false;
        }
        s->items[k] = it;
        if ((k && lt_dgen_buf_add(&s->body, ",", 1) < 0) ||
            lt_dgen_record(p->gen, it.i, it.step, &s->body) < 0)
            return -1;
    }
    if (p->o.batch > 1 && lt_dgen_buf_add(&s->body, "]", 1) < 0)
        return -1;
    s->n_items = n;
    p->st.records_sent += n;
    return 1;
}

/* The request's records will never be acknowledged: count and forget them
 * (an update's dossier leaves the pool, since its state is now unknown). */
static void give_up(push *p, sender *s)
{
    p->st.unacked += s->n_items;
    s->n_items = 0;
}

/* Appends "MaHoSo sequence" lines for the accepted records of one answer,
 * in one write so that a line is never half there. */
static void ack_write(push *p, const char *text, size_t len)
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

static void show_rejection(push *p, const json_t *res)
{
    if (p->st.shown >= 5)
        return;
    p->st.shown++;
    char *text = json_dumps(res, JSON_COMPACT);
    fprintf(stderr, "lt_push: rejected: %s\n", text ? text : "?");
    free(text);
}

/* Reads {"results": [...]} for s's request. Returns 0 when the answer carried
 * one result per record, -1 when it carried none (a whole-request failure). */
static int take_results(push *p, sender *s, const json_t *doc)
{
    const json_t *results = json_object_get(doc, "results");
    if (!json_is_array(results))
        return -1;
    if (json_array_size(results) != s->n_items) {
        p->st.protocol_errors++;
        give_up(p, s);
        return 0;
    }
    lt_dgen_buf lines = {0};
    for (size_t k = 0; k < s->n_items; k++) {
        const json_t *res = json_array_get(results, k);
        const char *kind = json_string_value(json_object_get(res, "result"));
        const char *code = json_string_value(json_object_get(res, "MaHoSo"));
        char want[160];
        if (lt_dgen_code(p->gen, s->items[k].i, want, sizeof(want)) < 0 || !kind || !code ||
            strcmp(code, want) != 0) {
            p->st.protocol_errors++;
            p->st.unacked++;
            continue;
        }
        int r = R_KINDS;
        for (int q = 0; q < R_KINDS; q++)
            if (strcmp(kind, result_names[q]) == 0)
                r = q;
        if (r == R_KINDS) {
            p->st.protocol_errors++;
            p->st.unacked++;
            continue;
        }
        p->st.results[r]++;
        if (r == R_ACCEPTED) {
            json_int_t seq = json_integer_value(json_object_get(res, "sequence"));
            if (lt_dgen_buf_printf(&lines, "%s %lld\n", code, (long long)seq) == 0)
                p->st.ack_lines++;
        }
        if (r == R_ACCEPTED || r == R_DUPLICATE)
            pool_put(p, s->items[k].i, s->items[k].step);
        else if (r == R_REJECTED)
            show_rejection(p, res);
    }
    ack_write(p, lines.data, lines.len);
    lt_dgen_buf_free(&lines);
    s->n_items = 0;
    return 0;
}

/* After a failed attempt: resend later (--retry, when it may help) or give
 * up on the records; either way the sender pauses so that a dead gateway is
 * not hammered in a tight loop. */
static void after_failure(push *p, sender *s, bool retryable, int64_t now)
{
    if (p->o.retry && retryable && now < p->deadline_ns) {
        long pause_ms = RETRY_PAUSE;
        if (s->retry_after > 0)
            pause_ms = (s->retry_after < RETRY_AFTER_MAX ? s->retry_after : RETRY_AFTER_MAX) * 1000;
        s->state = S_WAIT;
        s->resend = true;
        s->due_ns = now + (int64_t)pause_ms * 1000000;
        return;
    }
    give_up(p, s);
    s->state = S_WAIT;
    s->resend = false;
    s->due_ns = now + (int64_t)FAIL_PAUSE * 1000000;
}

/* An answer came: status is the HTTP status (0 for ZeroMQ). */
static void on_answer(push *p, sender *s, long status, int64_t now)
{
    p->last_ns = now;
    if (status > 0 && status < 600)
        p->st.http_status[status]++;
    json_error_t err;
    json_t *doc = s->answer.len ? json_loadb(s->answer.data, s->answer.len, 0, &err) : NULL;
    if (doc && take_results(p, s, doc) == 0) {
        p->st.answered++;
        h_add(&p->st.lat, (uint64_t)((now - s->sent_ns) / 1000));
        json_decref(doc);
        s->state = S_IDLE;
        return;
    }
    /* A whole-request failure: 503 and 429 may pass; a ZeroMQ error answer
     * says so in its code. */
    bool retryable = status == 503 || status == 429 || status == 502 || status == 504;
    if (status == 0) {
        p->st.zmq_errors++;
        const char *code =
            json_string_value(json_object_get(json_object_get(doc, "error"), "code"));
        json_int_t zs = json_integer_value(json_object_get(doc, "status"));
        retryable = zs == 503 || zs == 429 ||
                    (code && (strstr(code, "unavailable") || strstr(code, "busy") ||
                              strstr(code, "rate") || strstr(code, "timeout")));
    }
    if (!doc)
        p->st.protocol_errors += status == 0 || status == 200;
    json_decref(doc);
    after_failure(p, s, retryable, now);
}

static void on_transport_error(push *p, sender *s, bool timeout, int64_t now)
{
    p->last_ns = now;
    p->st.transport_errors++;
    if (timeout)
        p->st.timeouts++;
    after_failure(p, s, true, now);
}

/* ---- HTTP ------------------------------------------------------------------- */

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
    sender *s = arg;
    size_t n = size * nmemb;
    if (s->answer.len + n > MAX_ANSWER || lt_dgen_buf_add(&s->answer, data, n) < 0) {
        s->answer_too_big = true;
        return 0;
    }
    return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *arg)
{
    sender *s = arg;
    size_t n = size * nmemb;
    if (n > 12 && strncasecmp(data, "Retry-After:", 12) == 0)
        s->retry_after = strtol(data + 12, NULL, 10);
    return n;
}

static int http_setup(push *p)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return -1;
    p->multi = curl_multi_init();
    if (!p->multi)
        return -1;
    curl_multi_setopt(p->multi, CURLMOPT_MAXCONNECTS, (long)p->o.senders + 4);
    const char *e = p->o.endpoint;
    size_t el = strlen(e);
    while (el && e[el - 1] == '/')
        el--;
    bool has_path = strstr(e, "/v1/") != NULL;
    size_t ul = el + 32;
    p->url = malloc(ul);
    if (!p->url)
        return -1;
    snprintf(p->url, ul, "%.*s%s", (int)el, e, has_path ? "" : "/v1/dossiers");
    char auth[4096];
    p->headers = curl_slist_append(NULL, "Content-Type: application/json");
    /* No "Expect: 100-continue": curl would wait for it before every body
     * over 1 KiB. */
    p->headers = curl_slist_append(p->headers, "Expect:");
    if (p->o.token) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", p->o.token);
        p->headers = curl_slist_append(p->headers, auth);
    }
    for (unsigned k = 0; k < p->o.senders; k++) {
        sender *s = &p->s[k];
        s->easy = curl_easy_init();
        if (!s->easy)
            return -1;
        curl_easy_setopt(s->easy, CURLOPT_URL, p->url);
        curl_easy_setopt(s->easy, CURLOPT_HTTPHEADER, p->headers);
        curl_easy_setopt(s->easy, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(s->easy, CURLOPT_WRITEDATA, s);
        curl_easy_setopt(s->easy, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(s->easy, CURLOPT_HEADERDATA, s);
        curl_easy_setopt(s->easy, CURLOPT_TIMEOUT_MS, p->o.timeout_ms);
        curl_easy_setopt(s->easy, CURLOPT_CONNECTTIMEOUT_MS,
                         p->o.timeout_ms < 5000 ? p->o.timeout_ms : 5000L);
        curl_easy_setopt(s->easy, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(s->easy, CURLOPT_TCP_NODELAY, 1L);
        curl_easy_setopt(s->easy, CURLOPT_PRIVATE, s);
    }
    return 0;
}

static int http_send(push *p, sender *s, int64_t now)
{
    lt_dgen_buf_reset(&s->answer);
    s->answer_too_big = false;
    s->retry_after = 0;
    curl_easy_setopt(s->easy, CURLOPT_POSTFIELDS, s->body.data);
    curl_easy_setopt(s->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)s->body.len);
    if (curl_multi_add_handle(p->multi, s->easy) != CURLM_OK)
        return -1;
    s->state = S_INFLIGHT;
    s->sent_ns = now;
    return 0;
}

static void http_done(push *p, CURL *easy, CURLcode rc, int64_t now)
{
    char *priv = NULL;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
    sender *s = (sender *)priv;
    curl_multi_remove_handle(p->multi, easy);
    if (!s)
        return;
    if (rc != CURLE_OK) {
        if (s->answer_too_big)
            p->st.protocol_errors++;
        on_transport_error(p, s, rc == CURLE_OPERATION_TIMEDOUT, now);
        return;
    }
    long status = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    on_answer(p, s, status, now);
}

/* ---- ZeroMQ ----------------------------------------------------------------- */

static int zmq_open(push *p, sender *s)
{
    s->sock = zmq_socket(p->zctx, ZMQ_DEALER);
    if (!s->sock)
        return -1;
    int zero = 0;
    zmq_setsockopt(s->sock, ZMQ_LINGER, &zero, sizeof(zero));
    if (lt_tool_curve_apply(&p->o.curve, s->sock) < 0)
        return -1;
    return zmq_connect(s->sock, p->o.endpoint);
}

/* A request that timed out: its answer may still come, so the socket goes
 * and a fresh one takes its place (a late answer must never be read as the
 * next request's). */
static int zmq_reopen(push *p, sender *s)
{
    zmq_close(s->sock);
    s->sock = NULL;
    return zmq_open(p, s);
}

static int zmq_send_req(push *p, sender *s, int64_t now)
{
    int rc = 0;
    if (p->o.token)
        rc = zmq_send(s->sock, p->o.token, strlen(p->o.token), ZMQ_SNDMORE | ZMQ_DONTWAIT);
    if (rc >= 0)
        rc = zmq_send(s->sock, s->body.data, s->body.len, ZMQ_DONTWAIT);
    s->sent_ns = now;
    if (rc < 0) {
        on_transport_error(p, s, false, now);
        return zmq_reopen(p, s);
    }
    s->state = S_INFLIGHT;
    return 0;
}

/* Reads one answer; its last frame is the JSON (a REQ-style empty delimiter
 * or any envelope before it is skipped). */
static void zmq_read(push *p, sender *s, int64_t now)
{
    lt_dgen_buf_reset(&s->answer);
    int more = 1;
    size_t ml = sizeof(more);
    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, s->sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            return;
        }
        if (zmq_msg_size(&m) > 0) {
            lt_dgen_buf_reset(&s->answer);
            if (lt_dgen_buf_add(&s->answer, zmq_msg_data(&m), zmq_msg_size(&m)) < 0)
                p->st.protocol_errors++;
        }
        zmq_msg_close(&m);
        zmq_getsockopt(s->sock, ZMQ_RCVMORE, &more, &ml);
    }
    if (s->state == S_INFLIGHT)
        on_answer(p, s, 0, now);
}

/* ---- the loop ---------------------------------------------------------------- */

/* Moves senders on: a due resend leaves; an idle sender takes its next
 * request and sends it now, later (--rate) or never (done). Returns -1 on
 * error. */
static int dispatch(push *p, int64_t now)
{
    for (unsigned k = 0; k < p->o.senders; k++) {
        sender *s = &p->s[k];
        bool send = false;
        if (s->state == S_WAIT) {
            if (now < s->due_ns)
                continue;
            if (s->resend) {
                s->resend = false;
                send = true;
                p->st.retries++;
            } else {
                s->state = S_IDLE;
            }
        }
        if (s->state == S_IDLE) {
            /* --rate: a request leaves only once its slot has come, and
             * takes its records then (booking slots ahead would send after
             * --seconds and measure a queue of our own making). */
            if (p->o.rate > 0 && p->slot_ns > (double)now) {
                s->state = S_WAIT;
                s->due_ns = (int64_t)p->slot_ns;
                s->resend = false;
                continue;
            }
            int rc = fill_request(p, s, now);
            if (rc < 0)
                return -1;
            if (rc == 0) {
                s->state = S_DONE;
                continue;
            }
            if (p->o.rate > 0) {
                if (p->slot_ns < (double)now - 1e8)
                    p->slot_ns = (double)now - 1e8; /* at most 0.1 s of catch-up burst */
                p->slot_ns += (double)s->n_items / p->o.rate * 1e9;
            }
            send = true;
        }
        if (!send)
            continue;
        if (!p->first_ns)
            p->first_ns = now;
        p->st.requests++;
        if ((p->o.zmq ? zmq_send_req(p, s, now) : http_send(p, s, now)) < 0)
            return -1;
    }
    return 0;
}

static bool all_done(const push *p)
{
    for (unsigned k = 0; k < p->o.senders; k++)
        if (p->s[k].state != S_DONE)
            return false;
    return true;
}

/* Milliseconds until the nearest thing to do (a due sender, a ZeroMQ
 * request's time-out, the deadline), at most 100. */
static long wait_ms(const push *p, int64_t now)
{
    int64_t next = now + 100000000;
    for (unsigned k = 0; k < p->o.senders; k++) {
        const sender *s = &p->s[k];
        if (s->state == S_IDLE)
            return 0; /* its answer just came: the next request leaves now */
        if (s->state == S_WAIT && s->due_ns < next)
            next = s->due_ns;
        if (p->o.zmq && s->state == S_INFLIGHT && s->sent_ns + p->o.timeout_ms * 1000000 < next)
            next = s->sent_ns + p->o.timeout_ms * 1000000;
    }
    if (p->deadline_ns < next)
        next = p->deadline_ns;
    return next <= now ? 0 : (long)((next - now + 999999) / 1000000);
}

/* The deadline: whatever is still in flight is abandoned. */
static void cut_short(push *p)
{
    p->cut_short = true;
    for (unsigned k = 0; k < p->o.senders; k++) {
        sender *s = &p->s[k];
        if (s->state == S_INFLIGHT) {
            p->st.timeouts++;
            p->st.transport_errors++;
            if (!p->o.zmq)
                curl_multi_remove_handle(p->multi, s->easy);
        }
        if (s->state != S_DONE)
            give_up(p, s);
        s->state = S_DONE;
    }
}

static int run_http(push *p)
{
    if (http_setup(p) < 0) {
        fprintf(stderr, "lt_push: cannot set up libcurl\n");
        return -1;
    }
    while (!all_done(p)) {
        int64_t now = now_ns();
        if (now >= p->deadline_ns) {
            cut_short(p);
            break;
        }
        if (dispatch(p, now) < 0)
            return -1;
        int running = 0;
        curl_multi_perform(p->multi, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(p->multi, &left)))
            if (msg->msg == CURLMSG_DONE)
                http_done(p, msg->easy_handle, msg->data.result, now_ns());
        if (all_done(p))
            break;
        curl_multi_poll(p->multi, NULL, 0, (int)wait_ms(p, now_ns()), NULL);
    }
    return 0;
}

static int run_zmq(push *p)
{
    p->zctx = zmq_ctx_new();
    if (!p->zctx)
        return -1;
    for (unsigned k = 0; k < p->o.senders; k++)
        if (zmq_open(p, &p->s[k]) < 0) {
            fprintf(stderr, "lt_push: cannot connect to %s: %s\n", p->o.endpoint,
                    zmq_strerror(errno));
            return -1;
        }
    zmq_pollitem_t *items = calloc(p->o.senders, sizeof(*items));
    sender **owner = calloc(p->o.senders, sizeof(*owner));
    int rc = -1;
    if (!items || !owner)
        goto out;
    while (!all_done(p)) {
        int64_t now = now_ns();
        if (now >= p->deadline_ns) {
            cut_short(p);
            break;
        }
        if (dispatch(p, now) < 0)
            goto out;
        int n = 0;
        for (unsigned k = 0; k < p->o.senders; k++) {
            sender *s = &p->s[k];
            if (s->state != S_INFLIGHT)
                continue;
            if (now - s->sent_ns >= p->o.timeout_ms * 1000000) {
                on_transport_error(p, s, true, now);
                if (zmq_reopen(p, s) < 0)
                    goto out;
                continue;
            }
            items[n] = (zmq_pollitem_t){.socket = s->sock, .events = ZMQ_POLLIN};
            owner[n++] = s;
        }
        if (all_done(p))
            break;
        long ms = wait_ms(p, now_ns());
        if (n == 0) {
            if (ms > 0)
                usleep((useconds_t)ms * 1000);
            continue;
        }
        if (zmq_poll(items, n, ms) < 0 && errno != EINTR)
            goto out;
        for (int k = 0; k < n; k++)
            if (items[k].revents & ZMQ_POLLIN)
                zmq_read(p, owner[k], now_ns());
    }
    rc = 0;
out:
    free(items);
    free(owner);
    return rc;
}

/* --dry-run: the bodies the senders would send, one per line, each record
 * taken as accepted (so that --updates shows the newer statuses too). */
static int run_dry(push *p)
{
    sender *s = &p->s[0];
    int64_t now = now_ns();
    int rc;
    while ((rc = fill_request(p, s, now)) == 1) {
        fwrite(s->body.data, 1, s->body.len, stdout);
        fputc('\n', stdout);
        for (size_t k = 0; k < s->n_items; k++)
            pool_put(p, s->items[k].i, s->items[k].step);
        p->st.results[R_ACCEPTED] += s->n_items;
        s->n_items = 0;
    }
    return rc < 0 || fflush(stdout) != 0 ? -1 : 0;
}

/* ---- report ------------------------------------------------------------------- */

static void report(const push *p)
{
    const stats *st = &p->st;
    int64_t end = p->last_ns ? p->last_ns : now_ns();
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
            SETI(res, result_names[r], st->results[r]);
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

/* ---- arguments ------------------------------------------------------------------ */

static int usage(void)
{
    fprintf(stderr,
            "usage: lt_push --http URL | --zmq ENDPOINT [--token TOKEN] --unit-agency AGENCYID\n"
            "               --procedure CODE [--procedure CODE...] [--senders N] [--batch B]\n"
            "               (--count N | --seconds S) [--ack-log FILE] [--seed S] [--run-id R]\n"
            "               [--rate R] [--updates P] [--retry] [--timeout-ms MS] [--deadline S]\n"
            "               [--json] [--dry-run]\n"
            "               [--curve-server KEY --curve-public KEY --curve-secret KEY]\n");
    return 2;
}

static bool num_u64(const char *s, uint64_t *ret)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || *s == '-')
        return false;
    *ret = v;
    return true;
}

static bool num_double(const char *s, double *ret)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= 0))
        return false;
    *ret = v;
    return true;
}

static int parse_args(int argc, char **argv, opts *o)
{
    *o = (opts){.senders = 1, .batch = 1, .seed = 1, .timeout_ms = 10000};
    bool run_id_set = false;
    o->procedures = calloc((size_t)argc, sizeof(char *));
    if (!o->procedures)
        return -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--json") == 0) {
            o->json = true;
            continue;
        }
        if (strcmp(a, "--retry") == 0) {
            o->retry = true;
            continue;
        }
        if (strcmp(a, "--dry-run") == 0) {
            o->dry_run = true;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "lt_push: %s needs a value\n", a);
            return -1;
        }
        const char *v = argv[++i];
        uint64_t u = 0;
        bool ok = true;
        if (lt_tool_curve_arg(&o->curve, a, v)) {
            continue;
        } else if (strcmp(a, "--http") == 0 || strcmp(a, "--zmq") == 0) {
            o->zmq = a[2] == 'z';
            ok = !o->endpoint;
            o->endpoint = v;
        } else if (strcmp(a, "--token") == 0) {
            o->token = v;
        } else if (strcmp(a, "--unit-agency") == 0) {
            o->agency = v;
        } else if (strcmp(a, "--procedure") == 0) {
            o->procedures[o->n_procedures++] = v;
        } else if (strcmp(a, "--senders") == 0) {
            ok = num_u64(v, &u) && u >= 1 && u <= MAX_SENDERS;
            o->senders = (unsigned)u;
        } else if (strcmp(a, "--batch") == 0) {
            ok = num_u64(v, &u) && u >= 1 && u <= MAX_BATCH;
            o->batch = (unsigned)u;
        } else if (strcmp(a, "--count") == 0) {
            ok = num_u64(v, &o->count) && o->count > 0;
        } else if (strcmp(a, "--seconds") == 0) {
            ok = num_double(v, &o->seconds) && o->seconds > 0;
        } else if (strcmp(a, "--ack-log") == 0) {
            o->ack_log = v;
        } else if (strcmp(a, "--seed") == 0) {
            ok = num_u64(v, &o->seed);
        } else if (strcmp(a, "--run-id") == 0) {
            ok = num_u64(v, &o->run_id);
            run_id_set = true;
        } else if (strcmp(a, "--rate") == 0) {
            ok = num_double(v, &o->rate) && o->rate > 0;
        } else if (strcmp(a, "--updates") == 0) {
            ok = num_u64(v, &u) && u <= 100;
            o->updates = (unsigned)u;
        } else if (strcmp(a, "--timeout-ms") == 0) {
            ok = num_u64(v, &u) && u >= 10 && u <= 3600000;
            o->timeout_ms = (long)u;
        } else if (strcmp(a, "--deadline") == 0) {
            ok = num_double(v, &o->deadline) && o->deadline > 0;
        } else {
            fprintf(stderr, "lt_push: unknown option %s\n", a);
            return -1;
        }
        if (!ok) {
            fprintf(stderr, "lt_push: bad value for %s: %s\n", a, v);
            return -1;
        }
    }
    if ((!o->endpoint && !o->dry_run) || !o->agency || o->n_procedures == 0) {
        fprintf(stderr, "lt_push: --http or --zmq, --unit-agency and --procedure are required\n");
        return -1;
    }
    if (lt_tool_curve_check(&o->curve) < 0)
        return -1;
    if (!o->count == !o->seconds) {
        fprintf(stderr, "lt_push: give exactly one of --count and --seconds\n");
        return -1;
    }
    if (o->dry_run && !o->count) {
        fprintf(stderr, "lt_push: --dry-run needs --count\n");
        return -1;
    }
    if (!run_id_set) {
        /* Wall-clock seconds: runs started in different seconds get
         * disjoint codes (lt_dossiergen.h). */
        o->run_id = (uint64_t)time(NULL);
    }
    if (!o->deadline)
        o->deadline = o->seconds ? o->seconds + 2.0 * (double)o->timeout_ms / 1000 + 10 : 900;
    return 0;
}

int main(int argc, char **argv)
{
    push p = {.ack_fd = -1};
    int rc = 1;
    if (parse_args(argc, argv, &p.o) < 0) {
        free(p.o.procedures);
        return usage();
    }
    p.gen = lt_dgen_new(p.o.seed, p.o.run_id, p.o.agency, p.o.procedures, p.o.n_procedures);
    p.s = calloc(p.o.senders, sizeof(*p.s));
    if (!p.gen || !p.s)
        goto out;
    for (unsigned k = 0; k < p.o.senders; k++) {
        p.s[k].idx = k;
        p.s[k].items = calloc(p.o.batch, sizeof(item));
        if (!p.s[k].items)
            goto out;
    }
    p.rng = p.o.seed * 0x2545f4914f6cdd1dull ^ p.o.run_id;
    if (p.o.ack_log) {
        p.ack_fd = open(p.o.ack_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (p.ack_fd < 0) {
            fprintf(stderr, "lt_push: cannot open %s: %s\n", p.o.ack_log, strerror(errno));
            goto out;
        }
    }
    p.t0_ns = now_ns();
    p.stop_ns = p.o.seconds ? p.t0_ns + (int64_t)(p.o.seconds * 1e9) : 0;
    p.deadline_ns = p.t0_ns + (int64_t)(p.o.deadline * 1e9);
    p.slot_ns = (double)p.t0_ns;
    if (p.o.dry_run) {
        rc = run_dry(&p) < 0 ? 1 : 0;
        goto out;
    }
    if ((p.o.zmq ? run_zmq(&p) : run_http(&p)) < 0)
        goto out;
    report(&p);
    rc = p.cut_short ? 3 : 0;
out:
    for (unsigned k = 0; p.s && k < p.o.senders; k++) {
        if (p.s[k].easy)
            curl_easy_cleanup(p.s[k].easy);
        if (p.s[k].sock)
            zmq_close(p.s[k].sock);
        lt_dgen_buf_free(&p.s[k].body);
        lt_dgen_buf_free(&p.s[k].answer);
        free(p.s[k].items);
    }
    if (p.multi)
        curl_multi_cleanup(p.multi);
    curl_slist_free_all(p.headers);
    free(p.url);
    if (p.zctx)
        zmq_ctx_term(p.zctx);
    if (p.ack_fd >= 0)
        close(p.ack_fd);
    lt_dgen_destroy(&p.gen);
    free(p.pool);
    free(p.s);
    free(p.o.procedures);
    return rc;
}
