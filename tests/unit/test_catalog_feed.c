/* lt_catalog_feed_url: which catalog.url is a parent gateway's feed (our
 * own GET /v1/catalog) rather than the national API. The feed itself is
 * exercised end to end by tests/integration/t_federation.sh. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "lt_catalog_feed.h"

static void test_feed_urls(void **state)
{
    (void)state;
    assert_true(lt_catalog_feed_url("http://127.0.0.1:8080/v1/catalog"));
    assert_true(lt_catalog_feed_url("https://lgsp.province.example/v1/catalog/"));
    assert_true(lt_catalog_feed_url("https://gw.example/prefix/v1/catalog//"));
}

static void test_national_urls(void **state)
{
    (void)state;
    assert_false(lt_catalog_feed_url(NULL));
    assert_false(lt_catalog_feed_url(""));
    assert_false(lt_catalog_feed_url("/v1/catalog"));
    assert_false(lt_catalog_feed_url("https://csdl.dichvucong.gov.vn/api"));
    assert_false(lt_catalog_feed_url("https://gw.example/v1/catalogs"));
    assert_false(lt_catalog_feed_url("https://gw.example/v1/catalog/LayDanhSachTTHC"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_feed_urls),
        cmocka_unit_test(test_national_urls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
