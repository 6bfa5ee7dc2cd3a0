/* Unit tests for the report actor's pure parts: what is left of a report's
 * time (its wait in the queue counts), the answer to a failed statement (504
 * naming report.timeout for a cancelled one, 503 for a lost connection, 500
 * otherwise), and the report.timeout key (default, environment, range). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <jansson.h>

#include "lt_config.h"
#include "lt_reportd.h"

static void test_remaining(void **state)
{
    (void)state;
    /* Arrived at 1000 with 60 s: at once, all of it; after a wait, less. */
    assert_int_equal(lt_reportd_remaining(1000, 1000, 60000), 60000);
    assert_int_equal(lt_reportd_remaining(1000, 21000, 60000), 40000);
    assert_int_equal(lt_reportd_remaining(1000, 60999, 60000), 1);
    /* Spent in the queue: nothing left, never negative. */
    assert_int_equal(lt_reportd_remaining(1000, 61000, 60000), 0);
    assert_int_equal(lt_reportd_remaining(1000, 900000, 60000), 0);
}

/* The body's error.code and error.message, or fails. */
static void body_error(const char *body, const char *code, const char *part)
{
    json_t *j = json_loads(body, 0, NULL);
    if (!j)
        fail_msg("not JSON: %s", body);
    const char *c = json_string_value(json_object_get(json_object_get(j, "error"), "code"));
    const char *m = json_string_value(json_object_get(json_object_get(j, "error"), "message"));
    assert_non_null(c);
    assert_non_null(m);
    assert_string_equal(c, code);
    if (!strstr(m, part))
        fail_msg("message \"%s\" lacks \"%s\"", m, part);
    json_decref(j);
}

static void test_failure_timeout_names_the_limit(void **state)
{
    (void)state;
    char body[512];
    assert_int_equal(lt_reportd_failure("57014", 60000, body, sizeof(body)), 504);
    body_error(body, "timeout", "report.timeout (60 s)");
    assert_int_equal(lt_reportd_failure("57014", 2500, body, sizeof(body)), 504);
    body_error(body, "timeout", "report.timeout (2500 ms)");
}

static void test_failure_lost_and_other(void **state)
{
    (void)state;
    char body[512];
    assert_int_equal(lt_reportd_failure(NULL, 60000, body, sizeof(body)), 503);
    body_error(body, "not_ready", "connection was lost");
    /* Any other SQLSTATE (here a division by zero) is ours to fix: 500, and
     * nothing of the database's message reaches the caller. */
    assert_int_equal(lt_reportd_failure("22012", 60000, body, sizeof(body)), 500);
    body_error(body, "internal", "could not be read");
    /* A short buffer still holds a string (truncated, not overrun). */
    char tiny[8];
    assert_int_equal(lt_reportd_failure("57014", 60000, tiny, sizeof(tiny)), 504);
    assert_true(strlen(tiny) < sizeof(tiny));
}

static int load_env(const char *assignment, lt_config *cfg, lt_config_error *err)
{
    char path[] = "/tmp/test_reportd.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "{}", 2), 2);
    close(fd);
    char *envp[] = {(char *)assignment, NULL};
    int rc = lt_config_load(cfg, path, assignment ? envp : (char *const[]){NULL}, err, NULL, 0);
    unlink(path);
    return rc;
}

static void test_config_key(void **state)
{
    (void)state;
    lt_config cfg;
    lt_config_error err;
    assert_int_equal(load_env(NULL, &cfg, &err), 0);
    assert_int_equal(cfg.report.timeout_ms, 60000);
    lt_config_free(&cfg);
    assert_int_equal(load_env("LIENTHONG_REPORT_TIMEOUT=2m", &cfg, &err), 0);
    assert_int_equal(cfg.report.timeout_ms, 120000);
    lt_config_free(&cfg);
    /* Below a second is refused, naming the key. */
    assert_int_equal(load_env("LIENTHONG_REPORT_TIMEOUT=500ms", &cfg, &err), -1);
    assert_string_equal(err.key, "report.timeout");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_remaining),
        cmocka_unit_test(test_failure_timeout_names_the_limit),
        cmocka_unit_test(test_failure_lost_and_other),
        cmocka_unit_test(test_config_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
