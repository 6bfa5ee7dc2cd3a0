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
 * usage, 1 when it could not start.
 *
 * The parts: this file is the run (what each sender sends next, what an
 * answer means, the retries, the deadline) and main; lt_push_options.c
 * reads the command line, lt_push_http.c and lt_push_zmq.c are the two
 * transports' senders and loops, lt_push_report.c the ack log, the latency
 * histogram and the report. */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "lt_push.h"

const char *const lt_push_result_names[R_KINDS] = {"accepted", "duplicate", "stale", "rejected"};

int64_t lt_push_now_ns(void)
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
            if (strcmp(kind, lt_push_result_names[q]) == 0)
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
    lt_push_ack_write(p, lines.data, lines.len);
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
void lt_push_on_answer(push *p, sender *s, long status, int64_t now)
{
    p->last_ns = now;
    if (status > 0 && status < 600)
        p->st.http_status[status]++;
    json_error_t err;
    json_t *doc = s->answer.len ? json_loadb(s->answer.data, s->answer.len, 0, &err) : NULL;
    if (doc && take_results(p, s, doc) == 0) {
        p->st.answered++;
        lt_push_hist_add(&p->st.lat, (uint64_t)((now - s->sent_ns) / 1000));
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

void lt_push_on_transport_error(push *p, sender *s, bool timeout, int64_t now)
{
    p->last_ns = now;
    p->st.transport_errors++;
    if (timeout)
        p->st.timeouts++;
    after_failure(p, s, true, now);
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
        if ((p->o.zmq ? lt_push_zmq_send(p, s, now) : lt_push_http_send(p, s, now)) < 0)
            return -1;
    }
    return 0;
}

bool lt_push_all_done(const push *p)
{
    for (unsigned k = 0; k < p->o.senders; k++)
        if (p->s[k].state != S_DONE)
            return false;
    return true;
}

/* Milliseconds until the nearest thing to do (a due sender, a ZeroMQ
 * request's time-out, the deadline), at most 100. */
long lt_push_wait_ms(const push *p, int64_t now)
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

int lt_push_turn(push *p, int64_t *ret_now)
{
    int64_t now = lt_push_now_ns();
    *ret_now = now;
    if (now >= p->deadline_ns) {
        cut_short(p);
        return 1;
    }
    return dispatch(p, now) < 0 ? -1 : 0;
}

/* --dry-run: the bodies the senders would send, one per line, each record
 * taken as accepted (so that --updates shows the newer statuses too). */
static int run_dry(push *p)
{
    sender *s = &p->s[0];
    int64_t now = lt_push_now_ns();
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

int main(int argc, char **argv)
{
    push p = {.ack_fd = -1};
    int rc = 1;
    if (lt_push_parse_args(argc, argv, &p.o) < 0) {
        free(p.o.procedures);
        return lt_push_usage();
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
    p.t0_ns = lt_push_now_ns();
    p.stop_ns = p.o.seconds ? p.t0_ns + (int64_t)(p.o.seconds * 1e9) : 0;
    p.deadline_ns = p.t0_ns + (int64_t)(p.o.deadline * 1e9);
    p.slot_ns = (double)p.t0_ns;
    if (p.o.dry_run) {
        rc = run_dry(&p) < 0 ? 1 : 0;
        goto out;
    }
    if ((p.o.zmq ? lt_push_zmq_run(&p) : lt_push_http_run(&p)) < 0)
        goto out;
    lt_push_report(&p);
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
