/* Unit tests for the bus's pure parts: the replay request parser and its
 * refusals (each names the member at fault), who is let in how (catalog.
 * public, a token looked up, everything with auth off) and what each role
 * sees, and the public view of events (personal fields of
 * dossier records never reach PUB; catalog records go out unchanged). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lt_bus.h"
#include "lt_replay.h"

static int parse(const char *text, lt_replay_request *req, char *err, size_t cap)
{
    return lt_replay_parse_request(text, strlen(text), req, err, cap);
}

static void test_request_ok(void **state)
{
    (void)state;
    lt_replay_request req;
    char err[256];
    assert_int_equal(parse("{\"from\": 42, \"prefix\": \"catalog.\", \"token\": \"t0k\"}", &req,
                           err, sizeof(err)),
                     0);
    assert_int_equal(req.from, 42);
    assert_string_equal(req.prefix, "catalog.");
    assert_string_equal(req.token, "t0k");
    /* from 0 means from the start; the token may be absent or null. */
    assert_int_equal(parse("{\"from\": 0, \"prefix\": \"\"}", &req, err, sizeof(err)), 0);
    assert_int_equal(req.from, 1);
    assert_string_equal(req.token, "");
    assert_int_equal(
        parse("{\"prefix\": \"catalog.1\", \"from\": 7, \"token\": null}", &req, err, sizeof(err)),
        0);
    assert_int_equal(req.from, 7);
}

static void test_request_refused(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"", "not JSON"},
        {"not json", "not JSON"},
        {"[1]", "JSON object"},
        {"{\"prefix\": \"catalog.\"}", "from: required"},
        {"{\"from\": -1, \"prefix\": \"catalog.\"}", "from:"},
        {"{\"from\": \"1\", \"prefix\": \"catalog.\"}", "from:"},
        {"{\"from\": 1.5, \"prefix\": \"catalog.\"}", "from:"},
        {"{\"from\": 1}", "prefix: required"},
        {"{\"from\": 1, \"prefix\": 3}", "prefix:"},
        {"{\"from\": 1, \"prefix\": \"catalog.\", \"token\": 5}", "token:"},
        {"{\"from\": 1, \"prefix\": \"catalog.\", \"form\": 5}", "unknown member \"form\""},
        {"{\"from\": 1, \"from\": 2, \"prefix\": \"catalog.\"}", "not JSON"},
        {"{\"from\": 1, \"prefix\": \"a\\u0000b\"}", "not JSON"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        lt_replay_request req;
        char err[256] = "";
        assert_int_equal(parse(cases[i][0], &req, err, sizeof(err)), -1);
        if (!strstr(err, cases[i][1]))
            fail_msg("case %zu (%s): [%s] not in [%s]", i, cases[i][0], cases[i][1], err);
    }
    char big[512];
    int n = snprintf(big, sizeof(big), "{\"from\": 1, \"prefix\": \"%0*d\"}",
                     LT_REPLAY_MAX_PREFIX + 1, 0);
    assert_true(n > 0);
    lt_replay_request req;
    char err[256];
    assert_int_equal(parse(big, &req, err, sizeof(err)), -1);
}

static void test_authorize(void **state)
{
    (void)state;
    lt_replay_request req = {.from = 1};
    lt_replay_access access;
    char err[256];
    /* Catalog prefixes are public whatever the token and the setting. */
    static const char *const public_prefixes[] = {"catalog.", "catalog.2.001"};
    for (size_t i = 0; i < 2; i++) {
        snprintf(req.prefix, sizeof(req.prefix), "%s", public_prefixes[i]);
        assert_int_equal(lt_replay_authorize(&req, true, &access, err, sizeof(err)), 0);
        assert_int_equal(access, LT_REPLAY_PUBLIC);
        snprintf(req.token, sizeof(req.token), "lt_0123456789_whatever");
        assert_int_equal(lt_replay_authorize(&req, true, &access, err, sizeof(err)), 0);
        assert_int_equal(access, LT_REPLAY_PUBLIC);
        req.token[0] = '\0';
    }
    static const char *const refused[] = {"", "catalog", "dossier.", "delivery.", "cat"};
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        snprintf(req.prefix, sizeof(req.prefix), "%s", refused[i]);
        /* No token: refused while auth is required, everything when it is not. */
        assert_int_equal(lt_replay_authorize(&req, true, &access, err, sizeof(err)), -1);
        assert_non_null(strstr(err, "a token is required for prefix"));
        assert_int_equal(lt_replay_authorize(&req, false, &access, err, sizeof(err)), 0);
        assert_int_equal(access, LT_REPLAY_OPEN);
        /* A token is looked up in both cases, and never echoed. */
        snprintf(req.token, sizeof(req.token), "lt_0123456789_secretpart");
        assert_int_equal(lt_replay_authorize(&req, true, &access, err, sizeof(err)), 0);
        assert_int_equal(access, LT_REPLAY_LOOKUP);
        assert_int_equal(lt_replay_authorize(&req, false, &access, err, sizeof(err)), 0);
        assert_int_equal(access, LT_REPLAY_LOOKUP);
        req.token[0] = '\0';
    }
}

static void test_scope_of(void **state)
{
    (void)state;
    lt_principal who = {.role = LT_ROLE_WARD, .credential_id = 1};
    lt_replay_scope sc;
    char err[256] = "";
    snprintf(who.unit, sizeof(who.unit), "00001");
    assert_int_equal(lt_replay_scope_of(&who, &sc, err, sizeof(err)), 0);
    assert_int_equal(sc.kind, LT_REPLAY_SCOPE_UNIT);
    assert_string_equal(sc.unit, "00001");
    assert_false(sc.mask);
    who.role = LT_ROLE_PARENT;
    assert_int_equal(lt_replay_scope_of(&who, &sc, err, sizeof(err)), 0);
    assert_int_equal(sc.kind, LT_REPLAY_SCOPE_SUBTREE);
    assert_string_equal(sc.unit, "00001");
    /* Operators and readers see every unit, even when their token names one. */
    who.role = LT_ROLE_OPERATOR;
    assert_int_equal(lt_replay_scope_of(&who, &sc, err, sizeof(err)), 0);
    assert_int_equal(sc.kind, LT_REPLAY_SCOPE_ALL);
    assert_false(sc.mask);
    who.role = LT_ROLE_READER;
    assert_int_equal(lt_replay_scope_of(&who, &sc, err, sizeof(err)), 0);
    assert_int_equal(sc.kind, LT_REPLAY_SCOPE_ALL);
    assert_true(sc.mask);
    /* A unit-scoped credential without its unit sees nothing. */
    who.role = LT_ROLE_WARD;
    who.unit[0] = '\0';
    assert_int_equal(lt_replay_scope_of(&who, &sc, err, sizeof(err)), -1);
    who.role = LT_ROLE_NONE;
    assert_int_equal(lt_replay_scope_of(&who, &sc, err, sizeof(err)), -1);
}

static void test_public_view(void **state)
{
    (void)state;
    const char *dossier =
        "{\"MaHoSo\": \"000.00.06.H56-241031-0001\", \"ChuHoSo\": \"Nguyen Van A\","
        " \"SoDienThoai\": \"0912345678\", \"QuaTrinhXuLy\": [{\"GhiChu\": \"x\","
        " \"ThoiDiemXuLy\": \"20241031143000\"}], \"TrangThaiHoSo\": \"2\"}";
    char *text = lt_bus_event_text("dossier", dossier);
    assert_non_null(text);
    assert_string_equal(text, "{\"MaHoSo\":\"000.00.06.H56-241031-0001\",\"QuaTrinhXuLy\":"
                              "[{\"ThoiDiemXuLy\":\"20241031143000\"}],\"TrangThaiHoSo\":\"2\"}");
    free(text);
    /* Catalog records carry no personal data: only made compact. */
    text = lt_bus_event_text("catalog", "{\"code\": \"1.000001\", \"GhiChu\": \"kept\"}");
    assert_string_equal(text, "{\"code\":\"1.000001\",\"GhiChu\":\"kept\"}");
    free(text);
    assert_null(lt_bus_event_text("catalog", "{"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_ok),  cmocka_unit_test(test_request_refused),
        cmocka_unit_test(test_authorize),   cmocka_unit_test(test_scope_of),
        cmocka_unit_test(test_public_view),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
