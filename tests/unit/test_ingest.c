/* Unit tests for the pieces of ingest that need no database: the parameter
 * builder (lt_sbuf), bearer parsing and roles (lt_auth), the front-to-writer
 * pointer protocol (lt_ingest, over a real inproc ROUTER standing in for the
 * writer), and the summary-based judge agreeing with the record-based one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "lt_auth.h"
#include "lt_ingest.h"
#include "lt_sbuf.h"
#include "lt_status.h"

static void sbuf_escapes_json(void **state)
{
    (void)state;
    lt_sbuf b = {0};
    lt_sbuf_json_str(&b, "a\"b\\c\n\x01 Việt");
    lt_sbuf_addc(&b, ',');
    lt_sbuf_json_str(&b, NULL);
    assert_false(lt_sbuf_failed(&b));
    assert_string_equal(b.data, "\"a\\\"b\\\\c\\u000a\\u0001 Việt\",null");
    /* What we wrote is JSON that reads back to the same string. */
    lt_sbuf_reset(&b);
    lt_sbuf_json_str(&b, "x\"\t\x1fy");
    json_t *v = json_loads(b.data, JSON_DECODE_ANY, NULL);
    assert_non_null(v);
    assert_string_equal(json_string_value(v), "x\"\t\x1fy");
    json_decref(v);
    lt_sbuf_free(&b);
}

static void sbuf_grows_and_hexes(void **state)
{
    (void)state;
    lt_sbuf b = {0};
    for (int i = 0; i < 100000; i++)
        lt_sbuf_addi(&b, i % 10);
    assert_int_equal(b.len, 100000);
    assert_int_equal(strlen(b.data), 100000);
    lt_sbuf_reset(&b);
    lt_sbuf_hex(&b, "\x00\xff\x10", 3);
    assert_string_equal(b.data, "00ff10");
    lt_sbuf_free(&b);
    assert_null(b.data);
}

static void auth_bearer(void **state)
{
    (void)state;
    char t[LT_TOKEN_MAX];
    assert_int_equal(lt_auth_bearer("Bearer abc", t, sizeof(t)), 0);
    assert_string_equal(t, "abc");
    assert_int_equal(lt_auth_bearer("bearer   abc  ", t, sizeof(t)), 0);
    assert_string_equal(t, "abc");
    assert_int_equal(lt_auth_bearer("Basic abc", t, sizeof(t)), -1);
    assert_int_equal(lt_auth_bearer("Bearer ", t, sizeof(t)), -1);
    assert_int_equal(lt_auth_bearer(NULL, t, sizeof(t)), -1);
    char small[4];
    assert_int_equal(lt_auth_bearer("Bearer abcdef", small, sizeof(small)), -1);
}

static void auth_prefixes_and_roles(void **state)
{
    (void)state;
    char tok[LT_TOKEN_MAX], prefix[LT_TOKEN_PREFIX_LEN + 1];
    assert_int_equal(lt_token_generate(tok, sizeof(tok), prefix), 0);
    const char *tokens[3] = {tok, "not-a-token", NULL};
    char *arr = lt_auth_prefix_array(tokens, 3);
    char want[32];
    snprintf(want, sizeof(want), "{%s}", prefix);
    assert_string_equal(arr, want);
    free(arr);
    assert_int_equal(lt_auth_role_parse("parent"), LT_ROLE_PARENT);
    assert_int_equal(lt_auth_role_parse("admin"), LT_ROLE_NONE);
    assert_string_equal(lt_auth_role_name(LT_ROLE_OPERATOR), "operator");
    assert_true(lt_auth_may_write(LT_ROLE_WARD));
    assert_false(lt_auth_may_write(LT_ROLE_READER));
    assert_int_equal(lt_auth_match("", NULL, NULL), LT_AUTH_MISSING);
    assert_int_equal(lt_auth_match("garbage", NULL, NULL), LT_AUTH_INVALID);
}

static int expired;
static void on_expired(void *cookie, void *arg)
{
    (void)arg;
    assert_ptr_equal(cookie, &expired);
    expired++;
}

/* A ROUTER in the test's thread plays the writer: it sends each pointer
 * straight back, answered. */
static void client_round_trip(void **state)
{
    (void)state;
    void *ctx = zmq_ctx_new();
    void *writer = zmq_socket(ctx, ZMQ_ROUTER);
    assert_int_equal(zmq_bind(writer, LT_WRITER_ENDPOINT), 0);
    lt_ingest_client *c = lt_ingest_client_new(ctx, 2, 60000);
    assert_non_null(c);

    int cookie1 = 0;
    lt_ingest_req *req = lt_ingest_req_new(LT_CHANNEL_HTTP);
    assert_int_equal(lt_ingest_client_send(c, req, &cookie1), 0);
    assert_int_equal(lt_ingest_client_pending(c), 1);
    unsigned char rid[32];
    int rl = zmq_recv(writer, rid, sizeof(rid), 0);
    lt_ingest_req *got = NULL;
    assert_int_equal(zmq_recv(writer, &got, sizeof(got), 0), (int)sizeof(got));
    assert_ptr_equal(got, req);
    assert_int_equal(lt_ingest_req_answer(got, 200, "{\"results\":[]}", 0), 0);
    zmq_send(writer, rid, (size_t)rl, ZMQ_SNDMORE);
    zmq_send(writer, &got, sizeof(got), 0);
    zmq_pollitem_t it = {lt_ingest_client_socket(c), 0, ZMQ_POLLIN, 0};
    assert_int_equal(zmq_poll(&it, 1, 5000), 1);
    lt_ingest_req *back = NULL;
    assert_ptr_equal(lt_ingest_client_recv(c, &back), &cookie1);
    assert_int_equal(back->status, 200);
    assert_string_equal(back->answer, "{\"results\":[]}");
    lt_ingest_req_destroy(&back);
    assert_int_equal(lt_ingest_client_pending(c), 0);

    /* A waiter that gave up: the late answer is freed by the client (the
     * sanitizer build would report a leak otherwise). */
    req = lt_ingest_req_new(LT_CHANNEL_ZMQ);
    req->body = strdup("{}");
    assert_int_equal(lt_ingest_client_send(c, req, &expired), 0);
    lt_ingest_client_expire(c, INT64_MAX, on_expired, NULL);
    assert_int_equal(expired, 1);
    rl = zmq_recv(writer, rid, sizeof(rid), 0);
    assert_int_equal(zmq_recv(writer, &got, sizeof(got), 0), (int)sizeof(got));
    zmq_send(writer, rid, (size_t)rl, ZMQ_SNDMORE);
    zmq_send(writer, &got, sizeof(got), 0);
    assert_int_equal(zmq_poll(&it, 1, 5000), 1);
    back = NULL;
    assert_null(lt_ingest_client_recv(c, &back));
    assert_null(back);

    /* The table is bounded. */
    lt_ingest_req *a = lt_ingest_req_new(LT_CHANNEL_HTTP), *b = lt_ingest_req_new(LT_CHANNEL_HTTP),
                  *d = lt_ingest_req_new(LT_CHANNEL_HTTP);
    assert_int_equal(lt_ingest_client_send(c, a, &cookie1), 0);
    assert_int_equal(lt_ingest_client_send(c, b, &cookie1), 0);
    assert_int_equal(lt_ingest_client_send(c, d, &cookie1), -1);
    lt_ingest_req_destroy(&d);
    for (int i = 0; i < 2; i++) {
        zmq_recv(writer, rid, sizeof(rid), 0);
        zmq_recv(writer, &got, sizeof(got), 0);
        lt_ingest_req_destroy(&got);
    }
    lt_ingest_client_destroy(&c);
    zmq_close(writer);
    zmq_ctx_term(ctx);
}

/* The writer judges against stored columns; `check` and the tests against
 * whole records. Both must give the same verdicts. */
static void judge_stored_agrees(void **state)
{
    (void)state;
    const char *stored_text =
        "{\"MaHoSo\":\"X\",\"TrangThaiHoSo\":\"4\",\"NgayTiepNhan\":\"20240101080000\","
        "\"QuaTrinhXuLy\":[{\"ThoiDiemXuLy\":\"20240102080000\"}]}";
    const char *incoming[] = {
        stored_text,
        "{\"MaHoSo\":\"X\",\"TrangThaiHoSo\":\"2\",\"NgayTiepNhan\":\"20240101080000\"}",
        "{\"MaHoSo\":\"X\",\"TrangThaiHoSo\":\"9\",\"NgayTiepNhan\":\"20240101080000\","
        "\"QuaTrinhXuLy\":[{\"ThoiDiemXuLy\":\"20240102080000\"},{\"ThoiDiemXuLy\":"
        "\"20240103080000\"}]}",
        "{\"MaHoSo\":\"X\",\"TrangThaiHoSo\":\"4\",\"NgayTiepNhan\":\"20240101080000\","
        "\"QuaTrinhXuLy\":[{\"ThoiDiemXuLy\":\"20240102080000\"}],\"Extra\":1}",
    };
    json_t *stored = json_loads(stored_text, 0, NULL);
    lt_status_stored st = {.status = 4};
    lt_status_recency_of(stored, &st.recency);
    char *canon_stored = lt_status_canonical(stored);
    for (size_t i = 0; i < sizeof(incoming) / sizeof(incoming[0]); i++) {
        json_t *in = json_loads(incoming[i], 0, NULL);
        char *canon_in = lt_status_canonical(in);
        st.same_content = strcmp(canon_in, canon_stored) == 0;
        lt_status_judgement a, b;
        assert_int_equal(lt_status_judge(stored, in, &a), 0);
        assert_int_equal(lt_status_judge_stored(&st, in, &b), 0);
        assert_int_equal(a.verdict, b.verdict);
        assert_int_equal(a.correction, b.correction);
        free(canon_in);
        json_decref(in);
    }
    free(canon_stored);
    json_decref(stored);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sbuf_escapes_json), cmocka_unit_test(sbuf_grows_and_hexes),
        cmocka_unit_test(auth_bearer),       cmocka_unit_test(auth_prefixes_and_roles),
        cmocka_unit_test(client_round_trip), cmocka_unit_test(judge_stored_agrees),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
