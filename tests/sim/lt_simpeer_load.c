/* lt_simpeer_load: the simulator's own ceiling, measured with the plainest
 * client there is: one libcurl multi handle, C requests in flight on C
 * kept-alive connections, each answer followed at once by the next request.
 * The delivery benchmark is only meaningful if the simulator is not what
 * limits it; this is how tests/sim/README.md knows its figure (test tool,
 * built with the tests, never installed).
 *
 *   lt_simpeer_load --url http://127.0.0.1:PORT/PATH [--shape record|portal]
 *                   [--login URL] [--requests N] [--concurrency C] [--pool P]
 *                   [--seed S] [--timeout-ms MS] [--deadline S]
 *
 * Bodies are realistic dossier records from lt_dossiergen, P of them made
 * before the clock starts and sent round-robin: a record alone (--shape
 * record: the parent, ward and webhook roles) or in a portal sync call
 * (--shape portal: DongBoHoSoMC with isUpdating "True", after logging in at
 * --login). Every request has its own Idempotency-Key, load-<i>. It prints
 * one JSON line: requests, ok (2xx, and error_code "0" for the portal),
 * failed, seconds, per_second. Exit 0 when every request was ok, 1 when any
 * failed, 2 on bad usage, 3 when --deadline cut the run short. */
#include <curl/curl.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lt_dossiergen.h"

#define MAX_CONCURRENCY 1024
#define ANSWER_KEEP     256 /* bytes of each answer kept to judge it */

typedef struct {
    CURL *easy;
    struct curl_slist *headers; /* this request's, with its key */
    char answer[ANSWER_KEEP + 1];
    size_t answer_len;
} sender;

static struct {
    const char *url, *login, *shape;
    long requests, concurrency, pool, timeout_ms, deadline;
    unsigned long long seed;
} opt = {.shape = "record",
         .requests = 10000,
         .concurrency = 16,
         .pool = 1000,
         .timeout_ms = 10000,
         .deadline = 300,
         .seed = 1};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
    sender *s = ctx;
    size_t len = size * n, room = ANSWER_KEEP - s->answer_len;
    size_t take = len < room ? len : room;
    memcpy(s->answer + s->answer_len, data, take);
    s->answer_len += take;
    s->answer[s->answer_len] = '\0';
    return len;
}

/* Logs in at --login and returns the session (malloc'd), or NULL. */
static char *login(void)
{
    sender s = {.easy = curl_easy_init()};
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    char *session = NULL;
    if (!s.easy || !h)
        goto out;
    curl_easy_setopt(s.easy, CURLOPT_URL, opt.login);
    curl_easy_setopt(s.easy, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(s.easy, CURLOPT_POSTFIELDS,
                     "{\"username\": \"lienthong\", \"password\": \"lienthong\"}");
    curl_easy_setopt(s.easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(s.easy, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(s.easy, CURLOPT_TIMEOUT_MS, opt.timeout_ms);
    if (curl_easy_perform(s.easy) != CURLE_OK)
        goto out;
    json_error_t err;
    json_t *j = json_loads(s.answer, 0, &err);
    const char *v = json_string_value(json_object_get(j, "session"));
    session = v ? strdup(v) : NULL;
    json_decref(j);
out:
    curl_slist_free_all(h);
    curl_easy_cleanup(s.easy);
    return session;
}

/* The P bodies, made before the clock starts. */
static char **make_bodies(const char *session)
{
    const char *procs[] = {"1.003560.000.00.00.H56"};
    lt_dgen *gen = lt_dgen_new(opt.seed, 1, "000.02.22.H56", procs, 1);
    char **bodies = calloc((size_t)opt.pool, sizeof(*bodies));
    lt_dgen_buf b = {0};
    bool ok = gen && bodies;
    for (long i = 0; ok && i < opt.pool; i++) {
        lt_dgen_buf_reset(&b);
        bool portal = strcmp(opt.shape, "portal") == 0;
        ok = (!portal || lt_dgen_buf_printf(&b,
                                            "{\"session\": \"%s\", \"madonvi\": \"000.00.00.H56\", "
                                            "\"service\": \"DongBoHoSoMC\", \"isUpdating\": "
                                            "\"True\", \"data\": [",
                                            session) == 0) &&
             lt_dgen_record(gen, (uint64_t)i, lt_dgen_first_step(gen, (uint64_t)i), &b) == 0 &&
             (!portal || lt_dgen_buf_add(&b, "]}", 2) == 0) && (bodies[i] = strdup(b.data));
    }
    lt_dgen_buf_free(&b);
    lt_dgen_destroy(&gen);
    if (!ok && bodies) {
        for (long i = 0; i < opt.pool; i++)
            free(bodies[i]);
        free(bodies);
        bodies = NULL;
    }
    return bodies;
}

static int start(CURLM *multi, sender *s, char **bodies, long i)
{
    char key[64];
    snprintf(key, sizeof(key), "Idempotency-Key: load-%ld", i);
    curl_slist_free_all(s->headers);
    s->headers = curl_slist_append(NULL, "Content-Type: application/json");
    if (s->headers)
        s->headers = curl_slist_append(s->headers, key);
    if (!s->headers)
        return -1;
    s->answer_len = 0;
    s->answer[0] = '\0';
    curl_easy_setopt(s->easy, CURLOPT_HTTPHEADER, s->headers);
    curl_easy_setopt(s->easy, CURLOPT_POSTFIELDS, bodies[i % opt.pool]);
    return curl_multi_add_handle(multi, s->easy) == CURLM_OK ? 0 : -1;
}

static bool num(const char *s, long lo, long hi, long *ret)
{
    char *end;
    long v = s ? strtol(s, &end, 10) : 0;
    if (!s || end == s || *end || v < lo || v > hi)
        return false;
    *ret = v;
    return true;
}

static int parse(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        long x = 0;
        bool ok;
        if (strcmp(a, "--url") == 0)
            ok = v != NULL, opt.url = v;
        else if (strcmp(a, "--login") == 0)
            ok = v != NULL, opt.login = v;
        else if (strcmp(a, "--shape") == 0)
            ok = v && (strcmp(v, "record") == 0 || strcmp(v, "portal") == 0), opt.shape = v;
        else if (strcmp(a, "--requests") == 0)
            ok = num(v, 1, 100000000, &opt.requests);
        else if (strcmp(a, "--concurrency") == 0)
            ok = num(v, 1, MAX_CONCURRENCY, &opt.concurrency);
        else if (strcmp(a, "--pool") == 0)
            ok = num(v, 1, 100000, &opt.pool);
        else if (strcmp(a, "--timeout-ms") == 0)
            ok = num(v, 1, 600000, &opt.timeout_ms);
        else if (strcmp(a, "--deadline") == 0)
            ok = num(v, 1, 86400, &opt.deadline);
        else if (strcmp(a, "--seed") == 0)
            ok = num(v, 0, 1L << 62, &x), opt.seed = (unsigned long long)x;
        else
            ok = false;
        if (!ok)
            return -1;
        i++;
    }
    bool portal = strcmp(opt.shape, "portal") == 0;
    return opt.url && (!portal || opt.login) ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (parse(argc, argv) < 0) {
        fputs("usage: lt_simpeer_load --url URL [--shape record|portal] [--login URL]\n"
              "         [--requests N] [--concurrency C] [--pool P] [--seed S]\n"
              "         [--timeout-ms MS] [--deadline S]\n",
              stderr);
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = 1;
    char *session = opt.login ? login() : NULL;
    char **bodies = opt.login && !session ? NULL : make_bodies(session);
    CURLM *multi = curl_multi_init();
    sender *senders = calloc((size_t)opt.concurrency, sizeof(*senders));
    if (!bodies || !multi || !senders) {
        fprintf(stderr, "lt_simpeer_load: cannot start (%s)\n",
                opt.login && !session ? "login failed" : "out of memory");
        goto out;
    }
    curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, opt.concurrency + 4);
    long sent = 0, done = 0, ok = 0;
    double t0 = now_s();
    for (long k = 0; k < opt.concurrency; k++) {
        sender *s = &senders[k];
        if (!(s->easy = curl_easy_init()))
            goto out;
        curl_easy_setopt(s->easy, CURLOPT_URL, opt.url);
        curl_easy_setopt(s->easy, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(s->easy, CURLOPT_WRITEDATA, s);
        curl_easy_setopt(s->easy, CURLOPT_TIMEOUT_MS, opt.timeout_ms);
        curl_easy_setopt(s->easy, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(s->easy, CURLOPT_TCP_NODELAY, 1L);
        curl_easy_setopt(s->easy, CURLOPT_PRIVATE, s);
        if (sent < opt.requests && start(multi, s, bodies, sent++) < 0)
            goto out;
    }
    bool cut = false;
    while (done < sent) {
        int running;
        curl_multi_perform(multi, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(multi, &left))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            sender *s;
            long status = 0;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&s);
            curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
            bool good = msg->data.result == CURLE_OK && status / 100 == 2 &&
                        (!session || strstr(s->answer, "\"error_code\":\"0\""));
            ok += good;
            done++;
            curl_multi_remove_handle(multi, s->easy);
            cut = cut || now_s() - t0 > (double)opt.deadline;
            if (!cut && sent < opt.requests && start(multi, s, bodies, sent++) < 0)
                goto out;
        }
        if (done < sent)
            curl_multi_poll(multi, NULL, 0, 100, NULL);
    }
    double secs = now_s() - t0;
    printf("{\"requests\": %ld, \"ok\": %ld, \"failed\": %ld, \"concurrency\": %ld, "
           "\"seconds\": %.3f, \"per_second\": %.0f}\n",
           done, ok, done - ok, opt.concurrency, secs, secs > 0 ? (double)done / secs : 0);
    rc = cut ? 3 : ok == done ? 0 : 1;
out:
    for (long k = 0; senders && k < opt.concurrency; k++) {
        if (senders[k].easy)
            curl_multi_remove_handle(multi, senders[k].easy);
        curl_easy_cleanup(senders[k].easy);
        curl_slist_free_all(senders[k].headers);
    }
    free(senders);
    curl_multi_cleanup(multi);
    for (long i = 0; bodies && i < opt.pool; i++)
        free(bodies[i]);
    free(bodies);
    free(session);
    curl_global_cleanup();
    return rc;
}
