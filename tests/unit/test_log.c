/* Unit tests for lt_log: the lines are read back from a file or pipe and
 * parsed with jansson, because what matters is what a log shipper receives:
 * one valid JSON object per line, the fixed keys first and not overridable,
 * personal data masked, nothing below the threshold, and whole lines even
 * when four threads log at once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lt_log.h"

/* Each test logs into its own unlinked temporary file. */
static int setup_capture(void **state)
{
    char path[] = "/tmp/lt_log_test_XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    unlink(path);
    lt_log_set_fd(fd);
    lt_log_set_level(LT_LOG_INFO);
    lt_log_set_thread_name("main");
    int *boxed = malloc(sizeof(*boxed));
    if (!boxed) {
        close(fd);
        return -1;
    }
    *boxed = fd;
    *state = boxed;
    return 0;
}

static int teardown_capture(void **state)
{
    int *boxed = *state;
    lt_log_set_fd(2);
    lt_log_set_level(LT_LOG_INFO);
    lt_log_set_thread_name("main");
    close(*boxed);
    free(boxed);
    return 0;
}

static char *read_capture(int fd, size_t *ret_len)
{
    off_t size = lseek(fd, 0, SEEK_END);
    assert_true(size >= 0);
    char *buf = malloc((size_t)size + 1);
    assert_non_null(buf);
    assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
    size_t got = 0;
    while (got < (size_t)size) {
        ssize_t n = read(fd, buf + got, (size_t)size - got);
        assert_true(n > 0);
        got += (size_t)n;
    }
    buf[got] = '\0';
    *ret_len = got;
    return buf;
}

/* Splits the capture into lines; every line must end with '\n'. */
static size_t parse_lines(const char *text, size_t len, json_t **lines, size_t max)
{
    size_t count = 0;
    size_t start = 0;
    for (size_t k = 0; k < len; k++) {
        if (text[k] != '\n')
            continue;
        assert_true(count < max);
        json_error_t err;
        lines[count] = json_loadb(text + start, k - start, 0, &err);
        if (!lines[count])
            fail_msg("line %zu is not JSON: %s", count, err.text);
        assert_true(json_is_object(lines[count]));
        count++;
        start = k + 1;
    }
    assert_int_equal(start, len);
    return count;
}

static json_t *only_line(void **state)
{
    size_t len;
    char *text = read_capture(*(int *)*state, &len);
    json_t *lines[2];
    assert_int_equal(parse_lines(text, len, lines, 2), 1);
    free(text);
    return lines[0];
}

static const char *str_at(json_t *object, const char *key)
{
    json_t *value = json_object_get(object, key);
    if (!json_is_string(value))
        fail_msg("key %s is not a string", key);
    return json_string_value(value);
}

static void test_line_shape(void **state)
{
    lt_log_json(LT_LOG_INFO,
                json_pack("{s:s, s:i}", "dossier", "000.00.06.H56-231027-0361", "count", 3),
                "hồ sơ đã tiếp nhận: %d bản ghi", 10);

    size_t len;
    char *raw = read_capture(*(int *)*state, &len);
    /* Readable UTF-8, not \u escapes. */
    assert_non_null(strstr(raw, "hồ sơ đã tiếp nhận"));
    assert_null(strstr(raw, "\\u"));
    free(raw);

    json_t *line = only_line(state);
    const char *ts = str_at(line, "ts");
    assert_int_equal(strlen(ts), 24);
    assert_int_equal(ts[10], 'T');
    assert_int_equal(ts[19], '.');
    assert_int_equal(ts[23], 'Z');
    assert_string_equal(str_at(line, "level"), "info");
    assert_string_equal(str_at(line, "thread"), "main");
    assert_string_equal(str_at(line, "msg"), "hồ sơ đã tiếp nhận: 10 bản ghi");
    assert_string_equal(str_at(line, "dossier"), "000.00.06.H56-231027-0361");
    assert_int_equal(json_integer_value(json_object_get(line, "count")), 3);

    /* The fixed keys come first, in this order. */
    const char *order[] = {"ts", "level", "thread", "msg", "dossier", "count"};
    size_t k = 0;
    const char *key;
    json_t *value;
    json_object_foreach(line, key, value)
    {
        (void)value;
        assert_true(k < 6);
        assert_string_equal(key, order[k]);
        k++;
    }
    assert_int_equal(k, 6);
    json_decref(line);
}

static void test_threshold(void **state)
{
    lt_log_set_level(LT_LOG_WARN);
    assert_int_equal(lt_log_get_level(), LT_LOG_WARN);
    assert_false(lt_log_enabled(LT_LOG_DEBUG));
    assert_false(lt_log_enabled(LT_LOG_INFO));
    assert_true(lt_log_enabled(LT_LOG_WARN));
    assert_true(lt_log_enabled(LT_LOG_ERROR));

    LT_DEBUG("hidden debug %d", 1);
    LT_INFO("hidden info %d", 2);
    /* The stolen fields are released even when nothing is written (the
     * sanitizer build would report a leak otherwise). */
    lt_log_json(LT_LOG_INFO, json_pack("{s:s}", "k", "v"), "hidden json");
    LT_WARN("shown warn %d", 3);
    LT_ERROR("shown error %d", 4);

    size_t len;
    char *text = read_capture(*(int *)*state, &len);
    json_t *lines[4];
    assert_int_equal(parse_lines(text, len, lines, 4), 2);
    assert_string_equal(str_at(lines[0], "level"), "warn");
    assert_string_equal(str_at(lines[0], "msg"), "shown warn 3");
    assert_string_equal(str_at(lines[1], "level"), "error");
    assert_string_equal(str_at(lines[1], "msg"), "shown error 4");
    json_decref(lines[0]);
    json_decref(lines[1]);
    free(text);

    /* An invalid level leaves the threshold alone. */
    lt_log_set_level((lt_log_level)42);
    assert_int_equal(lt_log_get_level(), LT_LOG_WARN);
}

static void test_masking(void **state)
{
    json_t *fields =
        json_pack("{s:s, s:s, s:[s], s:s, s:s}", "ChuHoSo", "Nguyễn Văn An", "note",
                  "email an@gmail.com, 0912.345.678", "DinhDanhCHS", "001203004567", "Email",
                  "nguyenvanan@gmail.com", "MaTTHC", "1.003560.000.00.00.H56");
    lt_log_json(LT_LOG_INFO, fields, "CCCD %s, phone %s, at %s", "001203004567", "+84 912 345 678",
                "20241031143000");
    json_t *line = only_line(state);
    assert_string_equal(str_at(line, "msg"),
                        "CCCD **********67, phone +** *** *** *78, at 20241031143000");
    assert_string_equal(str_at(line, "ChuHoSo"), "N*** V*** A***");
    assert_string_equal(str_at(line, "note"), "email a***@gmail.com, ****.***.*78");
    assert_string_equal(json_string_value(json_array_get(json_object_get(line, "DinhDanhCHS"), 0)),
                        "**********67");
    assert_string_equal(str_at(line, "Email"), "n***@gmail.com");
    assert_string_equal(str_at(line, "MaTTHC"), "1.003560.000.00.00.H56");
    json_decref(line);
}

static void test_reserved_fields(void **state)
{
    json_t *fields = json_pack("{s:s, s:s, s:s, s:s, s:s}", "ts", "fake", "level", "debug",
                               "thread", "intruder", "msg", "override", "extra", "kept");
    lt_log_json(LT_LOG_ERROR, fields, "real");
    json_t *line = only_line(state);
    assert_string_not_equal(str_at(line, "ts"), "fake");
    assert_string_equal(str_at(line, "level"), "error");
    assert_string_equal(str_at(line, "thread"), "main");
    assert_string_equal(str_at(line, "msg"), "real");
    assert_string_equal(str_at(line, "extra"), "kept");
    assert_int_equal(json_object_size(line), 5);
    json_decref(line);
}

static void test_level_round_trip(void **state)
{
    (void)state;
    for (int k = LT_LOG_DEBUG; k <= LT_LOG_ERROR; k++) {
        lt_log_level parsed = LT_LOG_ERROR;
        assert_int_equal(lt_log_level_parse(lt_log_level_name((lt_log_level)k), &parsed), 0);
        assert_int_equal(parsed, k);
    }
    assert_string_equal(lt_log_level_name(LT_LOG_DEBUG), "debug");
    assert_string_equal(lt_log_level_name(LT_LOG_INFO), "info");
    assert_string_equal(lt_log_level_name(LT_LOG_WARN), "warn");
    assert_string_equal(lt_log_level_name(LT_LOG_ERROR), "error");
    assert_string_equal(lt_log_level_name((lt_log_level)9), "unknown");

    lt_log_level level = LT_LOG_DEBUG;
    assert_int_equal(lt_log_level_parse("warning", &level), 0);
    assert_int_equal(level, LT_LOG_WARN);
    assert_int_equal(lt_log_level_parse("ERROR", &level), 0);
    assert_int_equal(level, LT_LOG_ERROR);

    level = LT_LOG_INFO;
    assert_int_equal(lt_log_level_parse("verbose", &level), -1);
    assert_int_equal(level, LT_LOG_INFO);
    assert_int_equal(lt_log_level_parse("", &level), -1);
    assert_int_equal(lt_log_level_parse(NULL, &level), -1);
    assert_int_equal(level, LT_LOG_INFO);
}

static void test_long_message(void **state)
{
    size_t n = 20000;
    char *big = malloc(n + 1);
    assert_non_null(big);
    memset(big, 'x', n);
    big[n] = '\0';
    LT_INFO("%s 0912345678 end", big);
    json_t *line = only_line(state);
    const char *msg = str_at(line, "msg");
    assert_int_equal(strlen(msg), n + strlen(" ********78 end"));
    assert_memory_equal(msg, big, n);
    assert_string_equal(msg + n, " ********78 end");
    json_decref(line);
    free(big);
}

static void test_invalid_utf8_and_thread_name(void **state)
{
    lt_log_set_thread_name("http-worker-with-a-long-name");
    LT_INFO("peer sent %s", "\xff\xc3 ok");
    lt_log_set_thread_name("a\"b\\c");
    LT_INFO("second");
    size_t len;
    char *text = read_capture(*(int *)*state, &len);
    json_t *lines[3];
    assert_int_equal(parse_lines(text, len, lines, 3), 2);
    assert_string_equal(str_at(lines[0], "thread"), "http-worker-wit");
    assert_string_equal(str_at(lines[0], "msg"), "peer sent ?? ok");
    assert_string_equal(str_at(lines[1], "thread"), "a_b_c");
    json_decref(lines[0]);
    json_decref(lines[1]);
    free(text);
}

#define WRITERS          4
#define LINES_PER_WRITER 400

struct writer_arg {
    int id; /* 0..WRITERS-1, also the thread name suffix */
};

/* Some lines exceed PIPE_BUF (4096), where a pipe no longer guarantees an
 * atomic write and only the logger's lock keeps lines whole. */
static void *writer_main(void *p)
{
    const struct writer_arg *arg = p;
    char name[16];
    snprintf(name, sizeof(name), "w%d", arg->id);
    lt_log_set_thread_name(name);
    char pad[6001];
    memset(pad, 'a' + arg->id, sizeof(pad) - 1);
    pad[sizeof(pad) - 1] = '\0';
    for (int k = 0; k < LINES_PER_WRITER; k++) {
        size_t padlen = (size_t)((k * 37) % 6000);
        lt_log_json(LT_LOG_INFO, json_pack("{s:i, s:i}", "writer", arg->id, "seq", k), "%.*s",
                    (int)padlen, pad);
    }
    return NULL;
}

struct reader_state {
    int fd;      /* read end of the pipe */
    char *data;  /* everything read so far */
    size_t len;  /* bytes in data */
    size_t cap;  /* bytes allocated */
    bool failed; /* allocation or read error */
};

static void *reader_main(void *p)
{
    struct reader_state *rs = p;
    for (;;) {
        if (rs->cap - rs->len < 65536) {
            size_t cap = rs->cap ? rs->cap * 2 : 1 << 20;
            char *grown = realloc(rs->data, cap);
            if (!grown) {
                rs->failed = true;
                return NULL;
            }
            rs->data = grown;
            rs->cap = cap;
        }
        ssize_t n = read(rs->fd, rs->data + rs->len, rs->cap - rs->len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            rs->failed = true;
        if (n <= 0)
            return NULL;
        rs->len += (size_t)n;
    }
}

static void test_concurrent_whole_lines(void **state)
{
    (void)state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    lt_log_set_fd(fds[1]);

    struct reader_state rs = {.fd = fds[0]};
    pthread_t reader;
    assert_int_equal(pthread_create(&reader, NULL, reader_main, &rs), 0);

    pthread_t writers[WRITERS];
    struct writer_arg args[WRITERS];
    for (int k = 0; k < WRITERS; k++) {
        args[k].id = k;
        assert_int_equal(pthread_create(&writers[k], NULL, writer_main, &args[k]), 0);
    }
    for (int k = 0; k < WRITERS; k++)
        assert_int_equal(pthread_join(writers[k], NULL), 0);

    lt_log_set_fd(2);
    close(fds[1]);
    assert_int_equal(pthread_join(reader, NULL), 0);
    close(fds[0]);
    assert_false(rs.failed);

    /* Every line parses, carries its writer's thread name and padding only,
     * and every (writer, seq) pair arrives exactly once, in order per
     * writer. */
    int next_seq[WRITERS] = {0};
    size_t count = 0;
    size_t start = 0;
    for (size_t k = 0; k < rs.len; k++) {
        if (rs.data[k] != '\n')
            continue;
        json_error_t err;
        json_t *line = json_loadb(rs.data + start, k - start, 0, &err);
        if (!line)
            fail_msg("line %zu is not JSON: %s", count, err.text);
        int id = (int)json_integer_value(json_object_get(line, "writer"));
        int seq = (int)json_integer_value(json_object_get(line, "seq"));
        assert_in_range(id, 0, WRITERS - 1);
        char name[16];
        snprintf(name, sizeof(name), "w%d", id);
        assert_string_equal(str_at(line, "thread"), name);
        assert_int_equal(seq, next_seq[id]);
        next_seq[id]++;
        const char *msg = str_at(line, "msg");
        for (const char *c = msg; *c; c++)
            assert_int_equal(*c, 'a' + id);
        json_decref(line);
        count++;
        start = k + 1;
    }
    assert_int_equal(start, rs.len);
    assert_int_equal(count, WRITERS * LINES_PER_WRITER);
    for (int k = 0; k < WRITERS; k++)
        assert_int_equal(next_seq[k], LINES_PER_WRITER);
    free(rs.data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_line_shape, setup_capture, teardown_capture),
        cmocka_unit_test_setup_teardown(test_threshold, setup_capture, teardown_capture),
        cmocka_unit_test_setup_teardown(test_masking, setup_capture, teardown_capture),
        cmocka_unit_test_setup_teardown(test_reserved_fields, setup_capture, teardown_capture),
        cmocka_unit_test(test_level_round_trip),
        cmocka_unit_test_setup_teardown(test_long_message, setup_capture, teardown_capture),
        cmocka_unit_test_setup_teardown(test_invalid_utf8_and_thread_name, setup_capture,
                                        teardown_capture),
        cmocka_unit_test_setup_teardown(test_concurrent_whole_lines, setup_capture,
                                        teardown_capture),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
