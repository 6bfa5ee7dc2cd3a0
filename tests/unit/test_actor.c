/* lt_actor: an actor starts, answers over its pipe, leaves on $TERM; an
 * actor that signals failure yields NULL and its thread is joined. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "lt_actor.h"
#include "lt_config.h"

static int echo_exited;

/* Answers "PING x" with "PONG x" until $TERM. */
static void echo_actor(void *pipe, void *args)
{
    (void)args;
    lt_actor_signal(pipe, 0);
    for (;;) {
        int more = 0;
        char *cmd = lt_msg_recv_str(pipe, &more);
        if (!cmd || strcmp(cmd, "$TERM") == 0) {
            free(cmd);
            break;
        }
        char *arg = more ? lt_msg_recv_str(pipe, NULL) : NULL;
        lt_msg_send(pipe, "PONG", arg ? arg : "", NULL);
        free(arg);
        free(cmd);
    }
    echo_exited = 1;
}

static void failing_actor(void *pipe, void *args)
{
    *(int *)args = 1;
    lt_actor_signal(pipe, -1);
}

static void test_round_trip_and_term(void **state)
{
    (void)state;
    void *ctx = zmq_ctx_new();
    lt_actor *a = lt_actor_new(ctx, "echo", echo_actor, NULL);
    assert_non_null(a);
    assert_string_equal(lt_actor_name(a), "echo");
    assert_int_equal(lt_msg_send(lt_actor_pipe(a), "PING", "42", NULL), 0);
    int more = 0;
    char *reply = lt_msg_recv_str(lt_actor_pipe(a), &more);
    char *arg = lt_msg_recv_str(lt_actor_pipe(a), NULL);
    assert_string_equal(reply, "PONG");
    assert_true(more);
    assert_string_equal(arg, "42");
    free(reply);
    free(arg);
    lt_actor_destroy(&a);
    assert_null(a);
    assert_int_equal(echo_exited, 1);
    lt_actor_destroy(&a);                   /* NULL-safe */
    assert_int_equal(zmq_ctx_term(ctx), 0); /* no socket left open */
}

static void test_failed_start_returns_null(void **state)
{
    (void)state;
    void *ctx = zmq_ctx_new();
    int ran = 0;
    lt_actor *a = lt_actor_new(ctx, "broken", failing_actor, &ran);
    assert_null(a);
    assert_int_equal(ran, 1);
    assert_int_equal(zmq_ctx_term(ctx), 0);
}

static void test_pointer_messages(void **state)
{
    (void)state;
    void *ctx = zmq_ctx_new();
    void *a = zmq_socket(ctx, ZMQ_PAIR), *b = zmq_socket(ctx, ZMQ_PAIR);
    assert_int_equal(zmq_bind(a, "inproc://ptr"), 0);
    assert_int_equal(zmq_connect(b, "inproc://ptr"), 0);
    int value = 7;
    assert_int_equal(lt_msg_send_ptr(a, "$RELOAD", &value), 0);
    int more = 0;
    char *cmd = lt_msg_recv_str(b, &more);
    assert_string_equal(cmd, "$RELOAD");
    assert_true(more);
    assert_ptr_equal(lt_msg_recv_ptr(b), &value);
    free(cmd);
    /* drain leaves the socket at a message boundary */
    assert_int_equal(lt_msg_send(a, "one", "two", "three", NULL), 0);
    cmd = lt_msg_recv_str(b, NULL);
    lt_msg_drain(b);
    assert_int_equal(lt_msg_send(a, "next", NULL), 0);
    char *next = lt_msg_recv_str(b, &more);
    assert_string_equal(next, "next");
    assert_false(more);
    free(cmd);
    free(next);
    zmq_close(a);
    zmq_close(b);
    zmq_ctx_term(ctx);
}

/* The pipe protocol: $TERM, $RELOAD with a configuration, anything else. */
static void test_read_pipe_protocol(void **state)
{
    (void)state;
    void *ctx = zmq_ctx_new();
    void *a = zmq_socket(ctx, ZMQ_PAIR), *b = zmq_socket(ctx, ZMQ_PAIR);
    assert_int_equal(zmq_bind(a, "inproc://proto"), 0);
    assert_int_equal(zmq_connect(b, "inproc://proto"), 0);
    lt_config cfg;
    assert_int_equal(lt_config_init_defaults(&cfg), 0);
    int level = cfg.log.level;

    lt_config *next = calloc(1, sizeof(*next));
    assert_int_equal(lt_config_copy(next, &cfg), 0);
    next->log.level = level + 1; /* reloadable */
    next->routing.model = 2;     /* needs a restart: must not be copied */
    assert_int_equal(lt_msg_send_ptr(a, "$RELOAD", next), 0);
    assert_int_equal(lt_actor_read_pipe(b, &cfg), 1);
    assert_int_equal(cfg.log.level, level + 1);
    assert_int_equal(cfg.routing.model, 0);

    next = calloc(1, sizeof(*next));
    assert_int_equal(lt_config_copy(next, &cfg), 0);
    assert_int_equal(lt_msg_send_ptr(a, "$RELOAD", next), 0);
    assert_int_equal(lt_actor_read_pipe(b, &cfg), 0); /* nothing changed */

    assert_int_equal(lt_msg_send(a, "SOMETHING", "else", NULL), 0);
    assert_int_equal(lt_actor_read_pipe(b, &cfg), 0);
    assert_int_equal(lt_msg_send(a, "$TERM", NULL), 0);
    assert_int_equal(lt_actor_read_pipe(b, &cfg), -1);
    lt_config_free(&cfg);
    zmq_close(a);
    zmq_close(b);
    zmq_ctx_term(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_and_term),
        cmocka_unit_test(test_failed_start_returns_null),
        cmocka_unit_test(test_pointer_messages),
        cmocka_unit_test(test_read_pipe_protocol),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
