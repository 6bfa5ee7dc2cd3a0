/* The delivery actor's back-off (DESIGN.md "Contract: outbound calls"):
 * the first retry after 1 s (plus jitter), doubling, never more than 30 s
 * apart, and jittered so rows that failed together spread out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <sodium.h>

#include "lt_delivery.h"
#include "lt_delivery_http.h"

static void test_backoff_bounds(void **state)
{
    (void)state;
    for (int i = 0; i < 200; i++) {
        int64_t first = lt_delivery_backoff_ms(0);
        assert_true(first >= 1000 && first <= 1250);
        int64_t second = lt_delivery_backoff_ms(1);
        assert_true(second >= 2000 && second <= 2500);
        for (int a = 0; a < 40; a++) {
            int64_t d = lt_delivery_backoff_ms(a);
            assert_true(d >= 1000 && d <= 30000);
        }
        assert_true(lt_delivery_backoff_ms(-3) >= 1000);
        assert_true(lt_delivery_backoff_ms(1000) >= 16000);
    }
}

static void test_backoff_jitter(void **state)
{
    (void)state;
    int64_t first = lt_delivery_backoff_ms(2);
    int differ = 0;
    for (int i = 0; i < 50; i++)
        differ += lt_delivery_backoff_ms(2) != first;
    assert_true(differ > 0);
}

/* delivery.retry_first / retry_max: the first retry after first_ms (plus at
 * most a quarter), doubling, never past max_ms; nonsense settings stay sane. */
static void test_backoff_configured(void **state)
{
    (void)state;
    for (int i = 0; i < 200; i++) {
        int64_t d = lt_delivery_backoff(0, 200, 5000);
        assert_true(d >= 200 && d <= 250);
        d = lt_delivery_backoff(3, 200, 5000);
        assert_true(d >= 1600 && d <= 2000);
        for (int a = 0; a < 70; a++) {
            d = lt_delivery_backoff(a, 200, 5000);
            assert_true(d >= 200 && d <= 5000);
        }
        assert_int_equal(lt_delivery_backoff(1000, 200, 5000) >= 5000, 1);
        /* max below first: first it is. */
        assert_int_equal(lt_delivery_backoff(4, 3000, 1000), 3000);
        d = lt_delivery_backoff(2, 0, 10);
        assert_true(d >= 1 && d <= 10);
        /* 72 h of back-off cap does not overflow the doubling. */
        d = lt_delivery_backoff(200, 1000, 72LL * 3600 * 1000);
        assert_true(d >= 72LL * 3600 * 1000 / 2 && d <= 72LL * 3600 * 1000);
    }
}

/* The outbound contract's verdict on a status, shared by the parent, ward
 * and webhook legs. */
static void test_http_verdict(void **state)
{
    (void)state;
    assert_int_equal(lt_delivery_http_verdict(200), LT_DELIVERY_OK);
    assert_int_equal(lt_delivery_http_verdict(204), LT_DELIVERY_OK);
    assert_int_equal(lt_delivery_http_verdict(408), LT_DELIVERY_RETRY);
    assert_int_equal(lt_delivery_http_verdict(429), LT_DELIVERY_RETRY);
    assert_int_equal(lt_delivery_http_verdict(500), LT_DELIVERY_RETRY);
    assert_int_equal(lt_delivery_http_verdict(503), LT_DELIVERY_RETRY);
    assert_int_equal(lt_delivery_http_verdict(400), LT_DELIVERY_DEAD);
    assert_int_equal(lt_delivery_http_verdict(401), LT_DELIVERY_DEAD);
    assert_int_equal(lt_delivery_http_verdict(409), LT_DELIVERY_DEAD);
    assert_int_equal(lt_delivery_http_verdict(422), LT_DELIVERY_DEAD);
    assert_int_equal(lt_delivery_http_verdict(301), LT_DELIVERY_DEAD);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backoff_bounds),
        cmocka_unit_test(test_backoff_jitter),
        cmocka_unit_test(test_backoff_configured),
        cmocka_unit_test(test_http_verdict),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
