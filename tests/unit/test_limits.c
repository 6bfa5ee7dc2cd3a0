/* lt_limits: a bucket lets its burst through at once, then refills at the
 * rate; a refusal takes nothing and says how many whole seconds to wait;
 * senders do not share buckets; a table full of invented keys stays at its
 * size and still answers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "lt_limits.h"

static void test_burst_then_rate(void **state)
{
    (void)state;
    lt_limits *l = lt_limits_new(16);
    assert_non_null(l);
    /* 10 records/s, burst 20: 20 at once, the 21st waits 1 s. */
    for (int i = 0; i < 20; i++)
        assert_int_equal(lt_limits_take(l, "t:a", 10, 20, 1, 1000), 0);
    assert_int_equal(lt_limits_take(l, "t:a", 10, 20, 1, 1000), 1);
    /* 100 ms later one record came back. */
    assert_int_equal(lt_limits_take(l, "t:a", 10, 20, 1, 1100), 0);
    assert_int_equal(lt_limits_take(l, "t:a", 10, 20, 1, 1100), 1);
    /* 15 records need 1.5 s of refill: Retry-After rounds up to 2. */
    assert_int_equal(lt_limits_take(l, "t:a", 10, 20, 15, 1100), 2);
    /* ...and the refusal took nothing: after 1.5 s they fit. */
    assert_int_equal(lt_limits_take(l, "t:a", 10, 20, 15, 2600), 0);
    lt_limits_destroy(&l);
    assert_null(l);
}

static void test_senders_apart_and_off(void **state)
{
    (void)state;
    lt_limits *l = lt_limits_new(16);
    assert_non_null(l);
    assert_int_equal(lt_limits_take(l, "t:a", 1, 5, 5, 0), 0);
    assert_true(lt_limits_take(l, "t:a", 1, 5, 1, 0) > 0);
    assert_int_equal(lt_limits_take(l, "t:b", 1, 5, 5, 0), 0); /* b has its own */
    /* A cost above the burst is the burst: a full bucket lets it through. */
    assert_int_equal(lt_limits_take(l, "t:c", 1, 5, 1000, 0), 0);
    assert_int_equal(lt_limits_take(l, "t:c", 1, 5, 1000, 0), 5);
    /* rate 0: no limit. */
    for (int i = 0; i < 100; i++)
        assert_int_equal(lt_limits_take(l, "t:a", 0, 5, 1000, 0), 0);
    lt_limits_destroy(&l);
}

static void test_table_bounded(void **state)
{
    (void)state;
    lt_limits *l = lt_limits_new(8);
    assert_non_null(l);
    /* A drained sender survives a flood of invented keys: the fullest
     * buckets go first. */
    assert_int_equal(lt_limits_take(l, "t:victim", 1, 100, 100, 0), 0);
    char key[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof(key), "t:%d", i);
        assert_int_equal(lt_limits_take(l, key, 1, 100, 1, 0), 0);
        assert_true(lt_limits_size(l) <= 8);
    }
    assert_true(lt_limits_take(l, "t:victim", 1, 100, 1, 0) > 0);
    lt_limits_destroy(&l);
}

static void test_key(void **state)
{
    (void)state;
    char key[80];
    lt_limits_key("lt_0123456789_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "10.0.0.1", key,
                  sizeof(key));
    assert_string_equal(key, "t:0123456789");
    lt_limits_key("not-a-token", "10.0.0.1", key, sizeof(key));
    assert_string_equal(key, "a:10.0.0.1");
    lt_limits_key("", NULL, key, sizeof(key));
    assert_string_equal(key, "a:");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_burst_then_rate),
        cmocka_unit_test(test_senders_apart_and_off),
        cmocka_unit_test(test_table_bounded),
        cmocka_unit_test(test_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
