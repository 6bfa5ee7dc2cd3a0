/* lt_curlm against a real HTTP server on loopback: a libmicrohttpd daemon
 * started inside the test on 127.0.0.1:0. Bounded concurrency that is real
 * (the server counts requests in its handler at once), statuses, the body
 * limit, the per-request timeout, a refused connection, and cancelling. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lt_curlm.h"
#include "lt_loop.h"

static atomic_int in_handler, max_in_handler;
static atomic_bool stopping;

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **req_cls)
{
    (void)cls, (void)method, (void)version, (void)upload, (void)upload_size;
    if (!*req_cls) { /* first call: headers only */
        *req_cls = c;
        return MHD_YES;
    }
    int now = atomic_fetch_add(&in_handler, 1) + 1;
    int seen = atomic_load(&max_in_handler);
    while (now > seen && !atomic_compare_exchange_weak(&max_in_handler, &seen, now))
        ;
    char body[64];
    unsigned status = MHD_HTTP_OK;
    char *big = NULL;
    struct MHD_Response *r;
    if (strcmp(url, "/slow") == 0) {
        for (int i = 0; i < 200 && !atomic_load(&stopping); i++)
            sleep_ms(10);
    }
    if (strcmp(url, "/big") == 0) {
        big = malloc(100000);
        memset(big, 'x', 100000);
        r = MHD_create_response_from_buffer(100000, big, MHD_RESPMEM_MUST_FREE);
    } else {
        if (strncmp(url, "/status/", 8) == 0)
            status = (unsigned)strtoul(url + 8, NULL, 10);
        else
            sleep_ms(20); /* long enough for requests to overlap */
        const char *n = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "n");
        snprintf(body, sizeof(body), "body-%s", n ? n : "");
        r = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_COPY);
    }
    atomic_fetch_sub(&in_handler, 1);
    enum MHD_Result rc = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return rc;
}

typedef struct {
    struct MHD_Daemon *d;
    int port;
} server;

static int setup(void **state)
{
    static server s;
    atomic_store(&in_handler, 0);
    atomic_store(&max_in_handler, 0);
    atomic_store(&stopping, false);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    s.d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL,
                           NULL, answer, NULL, MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_END);
    if (!s.d)
        return -1;
    s.port = MHD_get_daemon_info(s.d, MHD_DAEMON_INFO_BIND_PORT)->port;
    *state = &s;
    return 0;
}

static int teardown(void **state)
{
    server *s = *state;
    atomic_store(&stopping, true);
    MHD_stop_daemon(s->d);
    return 0;
}

/* What a test saw. */
typedef struct {
    int want;       /* stop the loop after this many completions */
    int done;       /* completions */
    int ok;         /* status 200 with the expected body */
    long status[8]; /* per request, for small tests */
    int curl_code[8];
    bool too_large[8], timed_out[8];
    bool cancel_in_callback;
    lt_loop *loop;
} seen;

typedef struct {
    seen *s;
    int i;
} req_arg;

static void on_done(lt_curlm *m, const lt_curlm_response *resp, void *arg)
{
    req_arg *a = arg;
    seen *s = a->s;
    char want[64];
    snprintf(want, sizeof(want), "body-%d", a->i);
    if (resp->curl_code == 0 && resp->status == 200 && strcmp(resp->body, want) == 0)
        s->ok++;
    if (a->i < 8) {
        s->status[a->i] = resp->status;
        s->curl_code[a->i] = resp->curl_code;
        s->too_large[a->i] = resp->too_large;
        s->timed_out[a->i] = resp->timed_out;
    }
    s->done++;
    if (s->cancel_in_callback)
        lt_curlm_cancel_all(m);
    if (s->done >= s->want || s->cancel_in_callback)
        lt_loop_stop(s->loop);
}

static int give_up(lt_loop *loop, int id, void *arg)
{
    (void)id, (void)arg;
    lt_loop_stop(loop);
    return 0;
}

static void run_loop(lt_loop *loop)
{
    int guard = lt_loop_add_timer(loop, 15000, 0, give_up, NULL);
    assert_true(guard > 0);
    assert_int_equal(lt_loop_run(loop), 0);
    lt_loop_cancel_timer(loop, guard);
}

static void url_of(char *buf, size_t cap, const server *srv, const char *path, int n)
{
    snprintf(buf, cap, "http://127.0.0.1:%d%s?n=%d", srv->port, path, n);
}

static void test_bounded_concurrency(void **state)
{
    server *srv = *state;
    lt_loop *loop = lt_loop_new();
    lt_curlm *m = lt_curlm_new(loop, &(lt_curlm_opts){.max_in_flight = 8});
    assert_non_null(m);
    enum { N = 60 };
    seen s = {.want = N, .loop = loop};
    req_arg args[N];
    char url[128];
    for (int i = 0; i < N; i++) {
        args[i] = (req_arg){&s, i};
        url_of(url, sizeof(url), srv, "/echo", i);
        assert_int_equal(lt_curlm_get(m, url, on_done, &args[i]), 0);
    }
    lt_curlm_stats st;
    lt_curlm_get_stats(m, &st);
    assert_int_equal(st.queued, N); /* nothing starts inside lt_curlm_get */
    run_loop(loop);
    assert_int_equal(s.done, N);
    assert_int_equal(s.ok, N);
    lt_curlm_get_stats(m, &st);
    assert_int_equal(st.completed, N);
    assert_int_equal(st.in_flight, 0);
    assert_int_equal(st.max_in_flight, 8);
    /* Overlap seen by the server, and never more than the limit. */
    assert_true(atomic_load(&max_in_handler) > 1);
    assert_true(atomic_load(&max_in_handler) <= 8);
    lt_curlm_destroy(&m);
    assert_null(m);
    lt_loop_destroy(&loop);
}

static void test_status_limit_timeout_refused(void **state)
{
    server *srv = *state;
    lt_loop *loop = lt_loop_new();
    lt_curlm *m = lt_curlm_new(loop, &(lt_curlm_opts){.max_body = 1000, .timeout_ms = 300});
    assert_non_null(m);
    seen s = {.want = 5, .loop = loop};
    req_arg args[5];
    char url[128];
    const char *paths[4] = {"/status/500", "/status/404", "/big", "/slow"};
    for (int i = 0; i < 4; i++) {
        args[i] = (req_arg){&s, i};
        url_of(url, sizeof(url), srv, paths[i], i);
        assert_int_equal(lt_curlm_get(m, url, on_done, &args[i]), 0);
    }
    /* Port 1 on loopback: nothing listens there. */
    args[4] = (req_arg){&s, 4};
    assert_int_equal(lt_curlm_get(m, "http://127.0.0.1:1/", on_done, &args[4]), 0);
    run_loop(loop);
    assert_int_equal(s.done, 5);
    assert_int_equal(s.curl_code[0], 0);
    assert_int_equal(s.status[0], 500);
    assert_int_equal(s.curl_code[1], 0);
    assert_int_equal(s.status[1], 404);
    assert_true(s.too_large[2]);
    assert_int_not_equal(s.curl_code[2], 0);
    assert_true(s.timed_out[3]);
    assert_int_equal(s.status[3], 0);
    assert_int_not_equal(s.curl_code[4], 0);
    assert_int_equal(s.status[4], 0);
    lt_curlm_destroy(&m);
    lt_loop_destroy(&loop);
}

static void test_cancel_and_destroy_with_pending(void **state)
{
    server *srv = *state;
    lt_loop *loop = lt_loop_new();
    lt_curlm *m = lt_curlm_new(loop, &(lt_curlm_opts){.max_in_flight = 2});
    assert_non_null(m);
    seen s = {.want = 1000, .loop = loop, .cancel_in_callback = true};
    req_arg args[10];
    char url[128];
    for (int i = 0; i < 10; i++) {
        args[i] = (req_arg){&s, i};
        url_of(url, sizeof(url), srv, "/echo", i);
        assert_int_equal(lt_curlm_get(m, url, on_done, &args[i]), 0);
    }
    run_loop(loop);
    /* The first completion cancelled everything else: no more callbacks. */
    assert_int_equal(s.done, 1);
    lt_curlm_stats st;
    lt_curlm_get_stats(m, &st);
    assert_int_equal(st.in_flight, 0);
    assert_int_equal(st.queued, 0);
    /* Destroy with work queued: no callback, nothing leaked (ASan). */
    s.cancel_in_callback = false;
    url_of(url, sizeof(url), srv, "/echo", 0);
    assert_int_equal(lt_curlm_get(m, url, on_done, &args[0]), 0);
    lt_curlm_destroy(&m);
    assert_int_equal(s.done, 1);
    lt_loop_destroy(&loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bounded_concurrency),
        cmocka_unit_test(test_status_limit_timeout_refused),
        cmocka_unit_test(test_cancel_and_destroy_with_pending),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
