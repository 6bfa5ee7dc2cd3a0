/* lt_token: tokens have the documented shape, hashes are salted (two hashes
 * of one token differ) and verify only the token they were made from. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <string.h>

#include "lt_token.h"

static void test_shape_and_prefix(void **state)
{
    (void)state;
    char token[LT_TOKEN_MAX], prefix[LT_TOKEN_PREFIX_LEN + 1], parsed[LT_TOKEN_PREFIX_LEN + 1];
    assert_int_equal(lt_token_generate(token, sizeof(token), prefix), 0);
    assert_int_equal(strncmp(token, "lt_", 3), 0);
    assert_int_equal(strlen(prefix), LT_TOKEN_PREFIX_LEN);
    assert_int_equal(lt_token_prefix(token, parsed), 0);
    assert_string_equal(parsed, prefix);
    char other[LT_TOKEN_MAX], prefix2[LT_TOKEN_PREFIX_LEN + 1];
    assert_int_equal(lt_token_generate(other, sizeof(other), prefix2), 0);
    assert_string_not_equal(token, other); /* random, not a counter */
    char tiny[8];
    assert_int_equal(lt_token_generate(tiny, sizeof(tiny), prefix2), -1);
}

static void test_malformed_tokens_have_no_prefix(void **state)
{
    (void)state;
    char token[LT_TOKEN_MAX], prefix[LT_TOKEN_PREFIX_LEN + 1];
    assert_int_equal(lt_token_generate(token, sizeof(token), prefix), 0);
    const char *bad[] = {"", "Bearer", "lt_", "xx_0123456789_abc"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(lt_token_prefix(bad[i], prefix), -1);
    token[5] = 'Z'; /* not a lower-case hex digit */
    assert_int_equal(lt_token_prefix(token, prefix), -1);
    token[5] = 'a';
    token[strlen(token) - 1] = '\0'; /* one character short */
    assert_int_equal(lt_token_prefix(token, prefix), -1);
}

static void test_hash_is_salted_and_verifies(void **state)
{
    (void)state;
    char token[LT_TOKEN_MAX], prefix[LT_TOKEN_PREFIX_LEN + 1];
    char h1[LT_TOKEN_HASH_MAX], h2[LT_TOKEN_HASH_MAX];
    assert_int_equal(lt_token_generate(token, sizeof(token), prefix), 0);
    assert_int_equal(lt_token_hash(token, h1, sizeof(h1)), 0);
    assert_int_equal(lt_token_hash(token, h2, sizeof(h2)), 0);
    assert_string_not_equal(h1, h2);
    assert_null(strstr(h1, token + 3)); /* the secret is not in the stored form */
    assert_true(lt_token_verify(token, h1));
    assert_true(lt_token_verify(token, h2));

    char wrong[LT_TOKEN_MAX];
    memcpy(wrong, token, strlen(token) + 1);
    wrong[strlen(wrong) - 1] ^= 1;
    assert_false(lt_token_verify(wrong, h1));

    char tampered[LT_TOKEN_HASH_MAX];
    memcpy(tampered, h1, strlen(h1) + 1);
    tampered[strlen(tampered) - 2] = tampered[strlen(tampered) - 2] == 'A' ? 'B' : 'A';
    assert_false(lt_token_verify(token, tampered));
    assert_false(lt_token_verify(token, ""));
    assert_false(lt_token_verify(token, "b2k$$"));
    assert_false(lt_token_verify(token, "sha256$abc$def"));
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shape_and_prefix),
        cmocka_unit_test(test_malformed_tokens_have_no_prefix),
        cmocka_unit_test(test_hash_is_salted_and_verifies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
