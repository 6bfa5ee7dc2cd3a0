/* Unit tests for lt_jsonstream: every input is read with every read size
 * from 1 byte up, so each boundary (inside a string, right after a
 * backslash, between elements) falls on a read edge at least once, and the
 * record limit is hit with buffers a few bytes long. */
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

#include "lt_jsonstream.h"

/* Hands out text chunk bytes at a time. */
typedef struct {
    const char *text;
    size_t len;
    size_t pos;
    size_t chunk;
} mem_reader;

static ssize_t mem_read(void *ctx, void *buf, size_t cap)
{
    mem_reader *m = ctx;
    size_t n = m->len - m->pos;
    if (n > cap)
        n = cap;
    if (n > m->chunk)
        n = m->chunk;
    memcpy(buf, m->text + m->pos, n);
    m->pos += n;
    return (ssize_t)n;
}

/* Reads all elements of text with chunk-sized reads; returns the elements
 * joined by '|', or "ERR@offset#index: message" on failure. */
static char *scan(const char *text, size_t chunk, size_t max_record)
{
    mem_reader m = {text, strlen(text), 0, chunk};
    lt_jsonstream *s = lt_jsonstream_new(mem_read, &m, max_record, chunk);
    assert_non_null(s);
    char *out = calloc(1, 4096);
    size_t used = 0;
    lt_jsonstream_item it;
    lt_jsonstream_error err;
    int r;
    int64_t expect_index = 0;
    while ((r = lt_jsonstream_next(s, &it, &err)) == 1) {
        assert_int_equal(it.index, expect_index++);
        /* The offset points at the element's bytes in the input. */
        assert_memory_equal(text + it.offset, it.bytes, it.len);
        json_error_t jerr;
        json_t *j = json_loadb(it.bytes, it.len, 0, &jerr);
        assert_non_null(j);
        json_decref(j);
        used += (size_t)snprintf(out + used, 4096 - used, "%s%.*s", used ? "|" : "", (int)it.len,
                                 it.bytes);
    }
    if (r < 0)
        snprintf(out, 4096, "ERR@%lld#%lld: %s", (long long)err.offset, (long long)err.index,
                 err.message);
    /* The end (or the error) is sticky. */
    assert_int_equal(lt_jsonstream_next(s, &it, &err), r);
    lt_jsonstream_destroy(&s);
    assert_null(s);
    return out;
}

static void expect_all_chunks(const char *text, size_t max_record, const char *want)
{
    for (size_t chunk = 1; chunk <= strlen(text) + 1; chunk++) {
        char *got = scan(text, chunk, max_record);
        if (strcmp(got, want) != 0)
            fail_msg("chunk %zu: got [%s], want [%s]", chunk, got, want);
        free(got);
    }
}

static void expect_error(const char *text, size_t max_record, const char *prefix)
{
    for (size_t chunk = 1; chunk <= strlen(text) + 1; chunk++) {
        char *got = scan(text, chunk, max_record);
        if (strncmp(got, prefix, strlen(prefix)) != 0)
            fail_msg("chunk %zu: got [%s], want prefix [%s]", chunk, got, prefix);
        free(got);
    }
}

static void test_elements(void **state)
{
    (void)state;
    expect_all_chunks("[{\"a\":1},{\"b\":[1,{\"c\":2}]}]", 64, "{\"a\":1}|{\"b\":[1,{\"c\":2}]}");
    expect_all_chunks(" \n[ ]\n ", 64, "");
    expect_all_chunks("\xEF\xBB\xBF[{}]", 64, "{}");
}

static void test_strings_and_escapes(void **state)
{
    (void)state;
    /* Brackets, braces and escaped quotes inside strings are text. */
    expect_all_chunks("[{\"x\":\"}]\\\",{\"},{\"y\":\"\\\\\"}, {\"z\":\"Đăng ký [khai] {sinh}\"}]",
                      64,
                      "{\"x\":\"}]\\\",{\"}|{\"y\":\"\\\\\"}|{\"z\":\"Đăng ký [khai] {sinh}\"}");
}

/* Strings are crossed eight bytes at a time: an escaped quote, an escaped
 * backslash or the closing quote at every offset of a long string, among
 * multi-byte characters and bytes with the high bit set, must still end
 * the string exactly there. */
static void test_long_strings(void **state)
{
    (void)state;
    static const char *const marks[] = {"\\\"", "\\\\", "}]{[",
                                        "\xc3\xa9\xe1\xba\xa5\xf0\x9f\x98\x80"};
    for (size_t m = 0; m < sizeof(marks) / sizeof(marks[0]); m++) {
        for (size_t at = 0; at < 40; at++) {
            char text[256], want[256];
            char body[128];
            size_t n = 0;
            for (size_t i = 0; i < at; i++)
                body[n++] = (char)('a' + i % 26);
            n += (size_t)snprintf(body + n, sizeof(body) - n, "%s", marks[m]);
            for (size_t i = 0; i < 40 - at; i++)
                body[n++] = (char)('A' + i % 26);
            body[n] = '\0';
            snprintf(want, sizeof(want), "{\"s\":\"%s\",\"t\":[\"\"]}|{}", body);
            snprintf(text, sizeof(text), "[%.*s,{}]", (int)(strlen(want) - 3), want);
            expect_all_chunks(text, 256, want);
        }
    }
}

static void test_truncated(void **state)
{
    (void)state;
    expect_error("[{\"a\":1},{\"b\":\"x", 64, "ERR@16#1: the input ends inside record [1]");
    expect_error("[{\"a\":1},{\"b\":\"x\\", 64, "ERR@17#1: the input ends inside record [1]");
    expect_error("[{\"a\":1}", 64, "ERR@8#1: the input ends after 1 record(s)");
    expect_error("[{\"a\":1},", 64, "ERR@9#1: the input ends after 1 record(s)");
    expect_error("", 64, "ERR@0#-1: the input is empty");
    expect_error("   ", 64, "ERR@3#-1: the input ends before");
}

static void test_not_an_array(void **state)
{
    (void)state;
    expect_error("{\"a\":1}", 64, "ERR@0#-1: expected a JSON array");
    expect_error("[1,2]", 64, "ERR@1#0: record [0] at byte 1 is not an object");
    expect_error("[{},[]]", 64, "ERR@4#1: record [1] at byte 4 is not an object");
    expect_error("[{},]", 64, "ERR@4#1: record [1] at byte 4 is not an object");
}

static void test_garbage(void **state)
{
    (void)state;
    expect_error("[{} x {}]", 64, "ERR@4#1: expected ',' or ']' after record [0], got 'x'");
    expect_error("[{}{}]", 64, "ERR@3#1: expected ',' or ']' after record [0]");
    expect_error("[{}] []", 64, "ERR@5#-1: unexpected '[' at byte 5 after the end");
    /* An object closed by a bracket is not handed out as an element. */
    expect_error("[{},{\"a\":0]}]", 64,
                 "ERR@10#1: record [1] starting at byte 4 is closed by ']' at byte 10");
}

static void test_too_large(void **state)
{
    (void)state;
    /* 8 bytes allowed: {"a":12} is exactly 8, {"a":123} is 9. */
    expect_all_chunks("[{\"a\":12},{\"b\":34}]", 8, "{\"a\":12}|{\"b\":34}");
    expect_error("[{\"a\":12},{\"a\":123}]", 8,
                 "ERR@10#1: record [1] starting at byte 10 is larger than 8");
    /* A huge record never makes the buffer grow past its bound. */
    char big[3000];
    snprintf(big, sizeof(big), "[{\"a\":\"%2000d\"}]", 7);
    expect_error(big, 100, "ERR@1#0: record [0] starting at byte 1 is larger than 100 bytes");
}

static void test_fd(void **state)
{
    (void)state;
    char path[] = "/tmp/lt-jsonstream-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    const char *text = "[{\"MATTHC\":\"1\"},\n{\"MATTHC\":\"2\"}]\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
    lt_jsonstream *s = lt_jsonstream_new_fd(fd, 1024, 3);
    lt_jsonstream_item it;
    lt_jsonstream_error err;
    assert_int_equal(lt_jsonstream_next(s, &it, &err), 1);
    assert_int_equal(it.offset, 1);
    assert_int_equal(lt_jsonstream_next(s, &it, &err), 1);
    assert_int_equal(it.offset, 17);
    assert_int_equal(it.index, 1);
    assert_int_equal(lt_jsonstream_next(s, &it, &err), 0);
    assert_int_equal(lt_jsonstream_consumed(s), (int64_t)strlen(text));
    lt_jsonstream_destroy(&s);
    close(fd);
    assert_null(lt_jsonstream_new_fd(0, 0, 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_elements),     cmocka_unit_test(test_strings_and_escapes),
        cmocka_unit_test(test_long_strings), cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_not_an_array), cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_too_large),    cmocka_unit_test(test_fd),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
