/* lt_log: every thread of the gateway logs through here, so that operators
 * get one format (a JSON object per line, ready for journald or a log
 * shipper), lines from different threads never interleave, and personal data
 * is masked in one place before a byte leaves the process. Messages under the
 * threshold cost one atomic load; the threshold can change at any time
 * (SIGHUP) without locking. Out of memory never silences the logger: a
 * minimal fixed line is written instead. */
#include "lt_log.h"
#include "lt_utf8.h"
#include "lt_mask.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* pthread names are limited to 15 bytes too, so the two can match. */
#define THREAD_NAME_MAX 15
/* Most messages fit here; longer ones are formatted a second time into the
 * heap rather than truncated. */
#define MSG_STACK_SIZE 512

static atomic_int log_level = LT_LOG_INFO;
static atomic_int log_fd = 2;
/* Held across the write() calls of one line: a line longer than PIPE_BUF may
 * need several writes, and another thread's line must not land in between. */
static pthread_mutex_t log_write_lock = PTHREAD_MUTEX_INITIALIZER;
static _Thread_local char thread_name[THREAD_NAME_MAX + 1] = "main";

static const char *const level_names[] = {
    [LT_LOG_DEBUG] = "debug",
    [LT_LOG_INFO] = "info",
    [LT_LOG_WARN] = "warn",
    [LT_LOG_ERROR] = "error",
};

static bool level_valid(int level)
{
    return level >= LT_LOG_DEBUG && level <= LT_LOG_ERROR;
}

int lt_log_level_parse(const char *name, lt_log_level *ret_level)
{
    if (!name)
        return -1;
    for (int level = LT_LOG_DEBUG; level <= LT_LOG_ERROR; level++) {
        if (strcasecmp(name, level_names[level]) == 0) {
            *ret_level = (lt_log_level)level;
            return 0;
        }
    }
    if (strcasecmp(name, "warning") == 0) {
        *ret_level = LT_LOG_WARN;
        return 0;
    }
    return -1;
}

const char *lt_log_level_name(lt_log_level level)
{
    return level_valid((int)level) ? level_names[level] : "unknown";
}

void lt_log_set_level(lt_log_level level)
{
    if (level_valid((int)level))
        atomic_store_explicit(&log_level, (int)level, memory_order_relaxed);
}

lt_log_level lt_log_get_level(void)
{
    return (lt_log_level)atomic_load_explicit(&log_level, memory_order_relaxed);
}

bool lt_log_enabled(lt_log_level level)
{
    return (int)level >= atomic_load_explicit(&log_level, memory_order_relaxed);
}

/* The name is restricted to plain ASCII so it can also go into the
 * hand-built out-of-memory line without escaping. */
void lt_log_set_thread_name(const char *name)
{
    if (!name)
        name = "main";
    size_t k = 0;
    for (; k < THREAD_NAME_MAX && name[k] != '\0'; k++) {
        unsigned char c = (unsigned char)name[k];
        bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                     c == '_' || c == '-' || c == '.' || c == ':';
        thread_name[k] = plain ? (char)c : '_';
    }
    thread_name[k] = '\0';
}

void lt_log_set_fd(int fd)
{
    if (fd >= 0)
        atomic_store_explicit(&log_fd, fd, memory_order_relaxed);
}

/* UTC with milliseconds: log shippers sort on it, and local time would be
 * ambiguous at a DST change elsewhere. */
static void format_timestamp(char *buf, size_t size)
{
    struct timespec now;
    struct tm tm;
    if (clock_gettime(CLOCK_REALTIME, &now) != 0 || !gmtime_r(&now.tv_sec, &tm)) {
        snprintf(buf, size, "1970-01-01T00:00:00.000Z");
        return;
    }
    char secs[24];
    if (strftime(secs, sizeof(secs), "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
        snprintf(buf, size, "1970-01-01T00:00:00.000Z");
        return;
    }
    snprintf(buf, size, "%s.%03ldZ", secs, now.tv_nsec / 1000000L);
}

/* Loops only on partial writes and EINTR; a broken log fd must not stop the
 * gateway, so errors are dropped. */
static void write_line(const char *line, size_t len)
{
    pthread_mutex_lock(&log_write_lock);
    int fd = atomic_load_explicit(&log_fd, memory_order_relaxed);
    while (len > 0) {
        ssize_t n = write(fd, line, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        line += n;
        len -= (size_t)n;
    }
    pthread_mutex_unlock(&log_write_lock);
}

/* Needs no allocation, so it works when nothing else does. The message is
 * fixed text because the caller's message could not be masked. */
static void write_minimal_line(lt_log_level level)
{
    char ts[40];
    char line[256];
    format_timestamp(ts, sizeof(ts));
    int n = snprintf(line, sizeof(line),
                     "{\"ts\":\"%s\",\"level\":\"%s\",\"thread\":\"%s\","
                     "\"msg\":\"log line lost: out of memory\"}\n",
                     ts, lt_log_level_name(level), thread_name);
    if (n > 0)
        write_line(line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

static char *format_message(const char *fmt, va_list ap)
{
    char stack[MSG_STACK_SIZE];
    const char *format = fmt ? fmt : "";
    va_list copy;
    va_copy(copy, ap);
    int n = vsnprintf(stack, sizeof(stack), format, copy);
    va_end(copy);
    if (n < 0)
        return strdup("(unformattable log message)");
    char *out = malloc((size_t)n + 1);
    if (!out)
        return NULL;
    if ((size_t)n < sizeof(stack))
        memcpy(out, stack, (size_t)n + 1);
    else
        vsnprintf(out, (size_t)n + 1, format, ap);
    return out;
}

/* A message may quote bytes a peer sent; jansson refuses invalid UTF-8, and
 * losing the whole line over one bad byte would hide the event. */
static void replace_invalid_utf8(char *text)
{
    unsigned char *s = (unsigned char *)text;
    size_t left = strlen(text);
    while (left > 0) {
        size_t len = lt_utf8_seq_len(s, left);
        if (len == 0) {
            *s = '?';
            len = 1;
        }
        s += len;
        left -= len;
    }
}

static bool reserved_key(const char *key)
{
    return strcmp(key, "ts") == 0 || strcmp(key, "level") == 0 || strcmp(key, "thread") == 0 ||
           strcmp(key, "msg") == 0;
}

/* Returns 0 or -1 (out of memory). fields is borrowed and masked in place. */
static int add_fields(json_t *line, json_t *fields)
{
    const char *key;
    json_t *value;
    if (!json_is_object(fields))
        return 0;
    /* A partly masked object could still hold personal data, so on failure
     * the fields are dropped rather than written. */
    if (lt_mask_json(fields) < 0)
        return -1;
    json_object_foreach(fields, key, value)
    {
        if (reserved_key(key))
            continue;
        if (json_object_set(line, key, value) < 0)
            return -1;
    }
    return 0;
}

static int set_string(json_t *object, const char *key, const char *value)
{
    return json_object_set_new(object, key, json_string(value));
}

static void log_v(lt_log_level level, json_t *fields, const char *fmt, va_list ap)
{
    char ts[40];
    char *raw = NULL;
    char *msg = NULL;
    char *text = NULL;
    json_t *line = NULL;

    format_timestamp(ts, sizeof(ts));
    raw = format_message(fmt, ap);
    if (!raw)
        goto fail;
    replace_invalid_utf8(raw);
    msg = lt_mask_text(raw);
    if (!msg)
        goto fail;
    line = json_object();
    if (!line)
        goto fail;
    if (set_string(line, "ts", ts) < 0 || set_string(line, "level", lt_log_level_name(level)) < 0 ||
        set_string(line, "thread", thread_name) < 0 || set_string(line, "msg", msg) < 0)
        goto fail;
    if (add_fields(line, fields) < 0)
        goto fail;
    text = json_dumps(line, JSON_COMPACT);
    if (!text)
        goto fail;
    size_t len = strlen(text);
    char *grown = realloc(text, len + 2);
    if (!grown)
        goto fail;
    text = grown;
    text[len] = '\n';
    text[len + 1] = '\0';
    write_line(text, len + 1);
    goto out;
fail:
    write_minimal_line(level);
out:
    free(text);
    json_decref(line);
    free(msg);
    free(raw);
    json_decref(fields);
}

void lt_log_json(lt_log_level level, json_t *fields, const char *fmt, ...)
{
    if (!lt_log_enabled(level)) {
        json_decref(fields);
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    log_v(level, fields, fmt, ap);
    va_end(ap);
}

void lt_logf(lt_log_level level, const char *fmt, ...)
{
    if (!lt_log_enabled(level))
        return;
    va_list ap;
    va_start(ap, fmt);
    log_v(level, NULL, fmt, ap);
    va_end(ap);
}
