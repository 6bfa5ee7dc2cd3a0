/* lt_utf8: RFC 3629's well-formed sequences are accepted, and each kind of
 * ill-formed one (overlong, surrogate, above U+10FFFF, stray continuation,
 * truncated) is refused at the right offset. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "lt_utf8.h"

static void test_well_formed(void **state)
{
    (void)state;
    const char *vi = "Nguyễn Văn An, phường Phúc Xá, Hà Nội"; /* 2- and 3-byte letters */
    assert_true(lt_utf8_valid(vi));
    assert_true(lt_utf8_valid(""));
    assert_true(lt_utf8_valid("\xF0\x9F\x93\x84")); /* U+1F4C4, four bytes */
    assert_true(lt_utf8_valid("\xF4\x8F\xBF\xBF")); /* U+10FFFF, the last */
    assert_int_equal(lt_utf8_seq_len((const unsigned char *)"\xE1\xBB\x85", 3), 3);
}

static void test_ill_formed_refused_at_offset(void **state)
{
    (void)state;
    static const struct {
        const char *bytes;
        size_t bad_at;
    } cases[] = {
        {"ab\xC0\x80", 2},         /* overlong NUL */
        {"a\xE0\x80\x80", 1},      /* overlong three-byte */
        {"\xED\xA0\x80", 0},       /* UTF-16 surrogate D800 */
        {"xy\xF4\x90\x80\x80", 2}, /* above U+10FFFF */
        {"abc\x80", 3},            /* stray continuation byte */
        {"\xE1\xBB", 0},           /* truncated sequence */
        {"ok\xFF", 2},             /* never valid */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t n = strlen(cases[i].bytes);
        assert_int_equal(lt_utf8_invalid_at(cases[i].bytes, n), cases[i].bad_at);
        assert_false(lt_utf8_valid(cases[i].bytes));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_well_formed),
        cmocka_unit_test(test_ill_formed_refused_at_offset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
