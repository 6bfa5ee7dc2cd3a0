/* lt_loop: timers fire in order and repeat, descriptors and ZeroMQ sockets
 * dispatch, removal during dispatch is safe, a handler's -1 stops the loop. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "lt_loop.h"

typedef struct {
    int fired[16];
    int n;
} trace;

static int record_timer(lt_loop *loop, int id, void *arg)
{
    (void)loop;
    trace *t = arg;
    t->fired[t->n++] = id;
    return t->n >= 4 ? -1 : 0;
}

static int stop_timer(lt_loop *loop, int id, void *arg)
{
    (void)id;
    (void)arg;
    lt_loop_stop(loop);
    return 0;
}

static void test_expired_timers_fire_in_due_order(void **state)
{
    (void)state;
    lt_loop *loop = lt_loop_new();
    trace t = {0};
    int late = lt_loop_add_timer(loop, 30, 0, record_timer, &t);
    int early = lt_loop_add_timer(loop, 10, 0, record_timer, &t);
    int middle = lt_loop_add_timer(loop, 20, 0, record_timer, &t);
    int stop = lt_loop_add_timer(loop, 40, 0, stop_timer, NULL);
    assert_true(late > 0 && early > 0 && middle > 0 && stop > 0);
    /* All are overdue when the loop first looks: as after a stalled wake-up. */
    struct timespec ts = {.tv_nsec = 60 * 1000000L};
    nanosleep(&ts, NULL);
    assert_int_equal(lt_loop_run(loop), 0);
    assert_int_equal(t.n, 3);
    assert_int_equal(t.fired[0], early);
    assert_int_equal(t.fired[1], middle);
    assert_int_equal(t.fired[2], late);
    lt_loop_destroy(&loop);
    assert_null(loop);
}

static void test_interval_timer_repeats(void **state)
{
    (void)state;
    lt_loop *loop = lt_loop_new();
    trace t = {0};
    int every = lt_loop_add_timer(loop, 0, 20, record_timer, &t);
    int64_t start = lt_loop_now_ms();
    assert_int_equal(lt_loop_run(loop), 0); /* record_timer stops at the 4th */
    assert_int_equal(t.n, 4);
    for (int i = 0; i < 4; i++)
        assert_int_equal(t.fired[i], every);
    assert_true(lt_loop_now_ms() - start >= 60); /* three intervals at least */
    lt_loop_destroy(&loop);
}

static int never(lt_loop *loop, int id, void *arg)
{
    (void)loop;
    (void)id;
    *(int *)arg = 1;
    return 0;
}

static void test_cancelled_timer_does_not_fire(void **state)
{
    (void)state;
    lt_loop *loop = lt_loop_new();
    int hit = 0;
    int id = lt_loop_add_timer(loop, 5, 0, never, &hit);
    assert_true(lt_loop_add_timer(loop, 30, 0, stop_timer, NULL) > 0);
    lt_loop_cancel_timer(loop, id);
    lt_loop_cancel_timer(loop, 9999); /* unknown ids are a no-op */
    assert_int_equal(lt_loop_run(loop), 0);
    assert_int_equal(hit, 0);
    lt_loop_destroy(&loop);
}

typedef struct {
    int fds[2];
    int reads;
    int other_fd; /* removed by the first handler */
    int other_hits;
} fdctx;

static int on_other(lt_loop *loop, int fd, short revents, void *arg)
{
    (void)loop;
    (void)fd;
    (void)revents;
    ((fdctx *)arg)->other_hits++;
    return 0;
}

static int on_read(lt_loop *loop, int fd, short revents, void *arg)
{
    fdctx *c = arg;
    char buf[8];
    assert_true(revents & ZMQ_POLLIN);
    assert_int_equal(read(fd, buf, 1), 1); /* one event per byte */
    c->reads++;
    lt_loop_remove_fd(loop, c->other_fd);
    return c->reads == 2 ? -1 : 0;
}

static void test_fd_dispatch_and_removal_during_dispatch(void **state)
{
    (void)state;
    lt_loop *loop = lt_loop_new();
    fdctx c = {0};
    int other[2];
    assert_int_equal(pipe(c.fds), 0);
    assert_int_equal(pipe(other), 0);
    c.other_fd = other[0];
    assert_int_equal(lt_loop_add_fd(loop, c.fds[0], ZMQ_POLLIN, on_read, &c), 0);
    assert_int_equal(lt_loop_add_fd(loop, other[0], ZMQ_POLLIN, on_other, &c), 0);
    /* Both readable in the same poll: the first handler removes the second,
     * which must then not be called. */
    assert_int_equal(write(c.fds[1], "a", 1), 1);
    assert_int_equal(write(other[1], "b", 1), 1);
    assert_int_equal(write(c.fds[1], "c", 1), 1);
    assert_int_equal(lt_loop_run(loop), 0);
    assert_int_equal(c.reads, 2);
    assert_int_equal(c.other_hits, 0);
    lt_loop_destroy(&loop);
    close(c.fds[0]);
    close(c.fds[1]);
    close(other[0]);
    close(other[1]);
}

static int on_sock(lt_loop *loop, void *sock, void *arg)
{
    (void)loop;
    char buf[16] = {0};
    int n = zmq_recv(sock, buf, sizeof(buf) - 1, 0);
    assert_int_equal(n, 5);
    assert_string_equal(buf, "hello");
    (*(int *)arg)++;
    return -1;
}

static void test_zmq_socket_dispatch(void **state)
{
    (void)state;
    void *ctx = zmq_ctx_new();
    void *a = zmq_socket(ctx, ZMQ_PAIR), *b = zmq_socket(ctx, ZMQ_PAIR);
    assert_int_equal(zmq_bind(a, "inproc://test-loop"), 0);
    assert_int_equal(zmq_connect(b, "inproc://test-loop"), 0);
    lt_loop *loop = lt_loop_new();
    int hits = 0;
    assert_int_equal(lt_loop_add_socket(loop, a, on_sock, &hits), 0);
    assert_int_equal(zmq_send(b, "hello", 5, 0), 5);
    assert_int_equal(lt_loop_run(loop), 0);
    assert_int_equal(hits, 1);
    lt_loop_destroy(&loop);
    zmq_close(a);
    zmq_close(b);
    zmq_ctx_term(ctx);
}

static void test_tables_are_bounded(void **state)
{
    (void)state;
    lt_loop *loop = lt_loop_new();
    int ok = 0;
    for (int i = 0; i < 1000; i++)
        if (lt_loop_add_timer(loop, 1000, 0, never, NULL) > 0)
            ok++;
    assert_true(ok > 0 && ok < 1000);
    lt_loop_destroy(&loop);
    lt_loop_destroy(&loop); /* NULL-safe */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expired_timers_fire_in_due_order),
        cmocka_unit_test(test_interval_timer_repeats),
        cmocka_unit_test(test_cancelled_timer_does_not_fire),
        cmocka_unit_test(test_fd_dispatch_and_removal_during_dispatch),
        cmocka_unit_test(test_zmq_socket_dispatch),
        cmocka_unit_test(test_tables_are_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
