/* Unit tests for lt_pgcopy, the binary COPY encoder: the bytes of the
 * header, a tuple of every field kind and the trailer, as PostgreSQL's
 * copy.c and the *_recv functions read them (the catalog tests then load
 * such data into a real server). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lt_pgcopy.h"

static void expect_bytes(const lt_pgcopy *c, size_t from, const void *want, size_t n)
{
    assert_true(lt_pgcopy_pending(c) >= from + n);
    assert_memory_equal(lt_pgcopy_data(c) + from, want, n);
}

static void header_and_trailer(void **state)
{
    (void)state;
    lt_pgcopy *c = lt_pgcopy_create();
    assert_non_null(c);
    assert_int_equal(lt_pgcopy_header(c), 0);
    static const unsigned char head[] = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', 0xff, '\r', '\n',
                                         0,   0,   0,   0,   0,   0,   0,    0,    0};
    assert_int_equal(lt_pgcopy_pending(c), sizeof(head));
    expect_bytes(c, 0, head, sizeof(head));
    assert_int_equal(lt_pgcopy_trailer(c), 0);
    static const unsigned char tail[] = {0xff, 0xff};
    expect_bytes(c, sizeof(head), tail, 2);
    lt_pgcopy_discard(c);
    assert_int_equal(lt_pgcopy_pending(c), 0);
    lt_pgcopy_destroy(&c);
    assert_null(c);
    lt_pgcopy_destroy(&c); /* twice is harmless */
}

static void fields_in_network_order(void **state)
{
    (void)state;
    lt_pgcopy *c = lt_pgcopy_create();
    assert_non_null(c);
    assert_int_equal(lt_pgcopy_tuple(c, 5), 0);
    assert_int_equal(lt_pgcopy_int8(c, 0x0102030405060708LL), 0);
    assert_int_equal(lt_pgcopy_text(c, "ab"), 0);
    assert_int_equal(lt_pgcopy_text(c, NULL), 0);
    assert_int_equal(lt_pgcopy_jsonb(c, "{}", 2), 0);
    int lv[] = {2, 3};
    assert_int_equal(lt_pgcopy_int2_array(c, lv, 2), 0);
    static const unsigned char want[] = {
        0,    5,                                              /* fields */
        0,    0,    0,    8,    1,   2,   3,   4, 5, 6, 7, 8, /* int8 */
        0,    0,    0,    2,    'a', 'b',                     /* text */
        0xff, 0xff, 0xff, 0xff,                               /* NULL */
        0,    0,    0,    3,    1,   '{', '}',                /* jsonb: version 1, then text */
        0,    0,    0,    32, /* smallint[2]: 12 + 8 + 2 * 6 bytes */
        0,    0,    0,    1,    0,   0,   0,   0, 0, 0, 0, 21, /* 1 dimension, no NULLs, INT2OID */
        0,    0,    0,    2,    0,   0,   0,   1,              /* length 2, lower bound 1 */
        0,    0,    0,    2,    0,   2,   0,   0, 0, 2, 0, 3}; /* 2, 3 */
    assert_int_equal(lt_pgcopy_pending(c), sizeof(want));
    expect_bytes(c, 0, want, sizeof(want));
    lt_pgcopy_destroy(&c);
}

static void empty_array_has_no_dimension(void **state)
{
    (void)state;
    lt_pgcopy *c = lt_pgcopy_create();
    assert_non_null(c);
    assert_int_equal(lt_pgcopy_int2_array(c, NULL, 0), 0);
    static const unsigned char want[] = {0, 0, 0, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 21};
    assert_int_equal(lt_pgcopy_pending(c), sizeof(want));
    expect_bytes(c, 0, want, sizeof(want));
    lt_pgcopy_destroy(&c);
}

static void grows_past_one_piece(void **state)
{
    (void)state;
    lt_pgcopy *c = lt_pgcopy_create();
    assert_non_null(c);
    size_t n = 3 * LT_PGCOPY_CHUNK;
    char *big = malloc(n);
    assert_non_null(big);
    memset(big, 'x', n);
    assert_int_equal(lt_pgcopy_field(c, big, n), 0);
    assert_int_equal(lt_pgcopy_pending(c), 4 + n);
    expect_bytes(c, 4, big, n);
    free(big);
    lt_pgcopy_destroy(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(header_and_trailer),
        cmocka_unit_test(fields_in_network_order),
        cmocka_unit_test(empty_array_has_no_dimension),
        cmocka_unit_test(grows_past_one_piece),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
