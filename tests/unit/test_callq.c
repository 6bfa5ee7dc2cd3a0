/* lt_callq served as an actor without a database (the connection points
 * at a closed loopback port): the envelope is read and answered to the right caller with its
 * request id; a request the actor's parse refuses, or whose params are not
 * JSON or missing, gets 500 with the actor's message; while the database
 * is down every request gets 503 "not_ready", or the actor's own answer
 * when it has a down hook; each request is parsed into wiped memory (the
 * previous one's token is gone); a bad spec or a taken endpoint yields
 * NULL. The queue's running path (steps, busy) needs PostgreSQL and is
 * covered through the actors by t_report_actor and the reader's tests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>
#include <zmq.h>

#include "lt_actor.h"
#include "lt_callq.h"

#define ENDPOINT "inproc://test-callq"
/* A closed port on loopback: the connection is refused at once. */
#define CONNINFO "host=127.0.0.1 port=1 connect_timeout=2"

typedef struct {
    char token[32]; /* what parse copied from params.token */
    int n;          /* params.n */
} request;

typedef struct {
    bool with_down;  /* install the down hook */
    int dirty_slots; /* parse found a slot that was not wiped (read after the actor left) */
    int parsed;      /* requests parse accepted */
    lt_config cfg;   /* what the actor is served with */
    void *ctx;       /* the test's ZeroMQ context */
    lt_actor *actor; /* the queue's thread */
    void *dealer;    /* the front's side */
} fixture;

static int parse(void *actor, const char *verb, const json_t *params, void *r_req)
{
    fixture *fx = actor;
    request *req = r_req;
    const unsigned char *b = r_req;
    for (size_t i = 0; i < sizeof(*req); i++)
        if (b[i]) {
            fx->dirty_slots++;
            break;
        }
    const char *token = NULL;
    int n = 0;
    if (strcmp(verb, "echo") != 0 ||
        json_unpack((json_t *)params, "{s:s, s:i}", "token", &token, "n", &n) < 0)
        return -1;
    snprintf(req->token, sizeof(req->token), "%s", token);
    req->n = n;
    fx->parsed++;
    return 0;
}

/* Never reached while the database is down. */
static int step(void *actor, lt_callq *q, void *req)
{
    (void)actor;
    (void)req;
    lt_callq_answer_error(q, 500, "internal", "step ran without a database");
    return 0;
}

static bool result(void *actor, lt_callq *q, void *req, const PGresult *r, const char *err)
{
    (void)actor;
    (void)q;
    (void)req;
    (void)r;
    (void)err;
    return true;
}

static void down(void *actor, lt_callq *q, void *r_req, const char *reason)
{
    (void)actor;
    (void)reason;
    const request *req = r_req;
    char body[64];
    snprintf(body, sizeof(body), "{\"n\":%d}", req->n);
    /* A served queue hands its ops the actor's configuration. */
    lt_callq_answer(q, lt_callq_config(q) ? 200 : 500, body);
}

static void queue_actor(void *pipe, void *args)
{
    fixture *fx = args;
    lt_callq_spec spec = {
        .name = "test",
        .endpoint = ENDPOINT,
        .conninfo = CONNINFO,
        .cap = 2,
        .req_size = sizeof(request),
        .malformed = "malformed request to the test actor",
        .busy = "busy",
        .ops = {.parse = parse,
                .step = step,
                .result = result,
                .down = fx->with_down ? down : NULL},
        .actor = fx,
    };
    lt_callq_serve(pipe, fx->ctx, &fx->cfg, &spec);
}

/* An answer as the front reads it: [id, status, body]. */
typedef struct {
    char id[64];
    int status;
    char code[32];     /* error.code, "" when none */
    char message[256]; /* error.message */
    int n;             /* the down hook's n, -1 when none */
} reply;

static void *dealer_to(void *ctx)
{
    void *d = zmq_socket(ctx, ZMQ_DEALER);
    int linger = 0, wait_ms = 10000; /* a bound, not a timing assertion */
    assert_non_null(d);
    assert_int_equal(zmq_setsockopt(d, ZMQ_LINGER, &linger, sizeof(linger)), 0);
    assert_int_equal(zmq_setsockopt(d, ZMQ_RCVTIMEO, &wait_ms, sizeof(wait_ms)), 0);
    assert_int_equal(zmq_connect(d, ENDPOINT), 0);
    return d;
}

static void recv_reply(void *d, reply *ret)
{
    int more = 0;
    char *id = lt_msg_recv_str(d, &more);
    assert_non_null(id);
    assert_true(more);
    char *st = lt_msg_recv_str(d, &more);
    assert_non_null(st);
    assert_true(more);
    char *body = lt_msg_recv_str(d, &more);
    assert_non_null(body);
    assert_false(more);
    *ret = (reply){.status = (int)strtol(st, NULL, 10), .n = -1};
    snprintf(ret->id, sizeof(ret->id), "%s", id);
    json_t *j = json_loads(body, 0, NULL);
    assert_non_null(j);
    json_t *err = json_object_get(j, "error");
    const char *code = json_string_value(json_object_get(err, "code"));
    const char *msg = json_string_value(json_object_get(err, "message"));
    snprintf(ret->code, sizeof(ret->code), "%s", code ? code : "");
    snprintf(ret->message, sizeof(ret->message), "%s", msg ? msg : "");
    if (json_is_integer(json_object_get(j, "n")))
        ret->n = (int)json_integer_value(json_object_get(j, "n"));
    json_decref(j);
    free(id);
    free(st);
    free(body);
}

static void call(void *d, const char *id, const char *verb, const char *params, reply *ret)
{
    if (params)
        assert_int_equal(lt_msg_send(d, id, verb, params, NULL), 0);
    else
        assert_int_equal(lt_msg_send(d, id, verb, NULL), 0);
    recv_reply(d, ret);
}

/* Starts the queue's actor and a front connected to it. */
static void start(fixture *fx)
{
    fx->ctx = zmq_ctx_new();
    assert_non_null(fx->ctx);
    assert_int_equal(lt_config_init_defaults(&fx->cfg), 0);
    fx->actor = lt_actor_new(fx->ctx, "callq", queue_actor, fx);
    assert_non_null(fx->actor);
    fx->dealer = dealer_to(fx->ctx);
}

static void stop(fixture *fx)
{
    zmq_close(fx->dealer);
    lt_actor_destroy(&fx->actor);
    assert_null(fx->actor);
    lt_config_free(&fx->cfg);
    zmq_ctx_term(fx->ctx);
}

static void test_malformed_and_down(void **state)
{
    (void)state;
    fixture fx = {0};
    start(&fx);
    void *d = fx.dealer;
    reply r;

    /* A well-formed request: the database is down, so 503 not_ready with
     * the connection's reason, to this caller under its own id. */
    call(d, "req-1", "echo", "{\"token\": \"secret-1\", \"n\": 1}", &r);
    assert_string_equal(r.id, "req-1");
    assert_int_equal(r.status, 503);
    assert_string_equal(r.code, "not_ready");
    assert_non_null(strstr(r.message, "database"));

    /* Refused by parse (unknown verb), not JSON, no params at all: 500
     * with the actor's message, still under the caller's id. */
    call(d, "req-2", "other", "{\"token\": \"x\", \"n\": 2}", &r);
    assert_string_equal(r.id, "req-2");
    assert_int_equal(r.status, 500);
    assert_string_equal(r.code, "internal");
    assert_string_equal(r.message, "malformed request to the test actor");
    call(d, "req-3", "echo", "{not json", &r);
    assert_string_equal(r.id, "req-3");
    assert_int_equal(r.status, 500);
    assert_string_equal(r.message, "malformed request to the test actor");
    call(d, "req-4", "echo", NULL, &r);
    assert_string_equal(r.id, "req-4");
    assert_int_equal(r.status, 500);

    /* More requests than the queue holds, all answered in order. */
    for (int i = 0; i < 5; i++) {
        char id[16];
        snprintf(id, sizeof(id), "more-%d", i);
        assert_int_equal(lt_msg_send(d, id, "echo", "{\"token\": \"secret\", \"n\": 7}", NULL), 0);
    }
    for (int i = 0; i < 5; i++) {
        char id[16];
        snprintf(id, sizeof(id), "more-%d", i);
        recv_reply(d, &r);
        assert_string_equal(r.id, id);
        assert_int_equal(r.status, 503);
    }

    stop(&fx);
    /* Every request was parsed into wiped memory: no token carried over. */
    assert_int_equal(fx.parsed, 6);
    assert_int_equal(fx.dirty_slots, 0);
}

static void test_down_hook_answers(void **state)
{
    (void)state;
    fixture fx = {.with_down = true};
    start(&fx);
    void *d = fx.dealer;
    reply r;
    /* The hook answers from the parsed request itself. */
    call(d, "a", "echo", "{\"token\": \"t\", \"n\": 41}", &r);
    assert_string_equal(r.id, "a");
    assert_int_equal(r.status, 200);
    assert_int_equal(r.n, 41);
    call(d, "b", "echo", "{\"token\": \"t\", \"n\": 42}", &r);
    assert_string_equal(r.id, "b");
    assert_int_equal(r.n, 42);
    stop(&fx);
}

static void test_new_refuses(void **state)
{
    (void)state;
    void *ctx = zmq_ctx_new();
    lt_loop *loop = lt_loop_new();
    assert_non_null(loop);
    lt_callq_spec spec = {
        .name = "test",
        .endpoint = ENDPOINT,
        .conninfo = CONNINFO,
        .connect_timeout_ms = 2000,
        .cap = 0,
        .req_size = sizeof(request),
        .malformed = "m",
        .busy = "b",
        .ops = {.parse = parse, .step = step, .result = result},
    };
    /* No room for a request, or no step: refused. */
    assert_null(lt_callq_new(ctx, loop, &spec));
    spec.cap = 2;
    spec.ops.step = NULL;
    assert_null(lt_callq_new(ctx, loop, &spec));
    spec.ops.step = step;
    /* The endpoint is bound once: a second queue on it is refused. */
    lt_callq *q = lt_callq_new(ctx, loop, &spec);
    assert_non_null(q);
    assert_null(lt_callq_config(q)); /* not served: no configuration */
    assert_null(lt_callq_new(ctx, loop, &spec));
    lt_callq_destroy(&q);
    assert_null(q);
    lt_callq_destroy(&q); /* accepts NULL */
    lt_loop_destroy(&loop);
    zmq_ctx_term(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_malformed_and_down),
        cmocka_unit_test(test_down_hook_answers),
        cmocka_unit_test(test_new_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
