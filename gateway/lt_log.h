/* lt_log: the one way the gateway writes logs. JSON lines on stderr (or the
 * fd set by lt_log_set_fd), one write per line, personal data masked by
 * lt_mask before it is written. Safe to call from every thread. */
#ifndef LT_LOG_H
#define LT_LOG_H

#include <stdbool.h>
#include <jansson.h>

typedef enum {
    LT_LOG_DEBUG = 0,
    LT_LOG_INFO = 1,
    LT_LOG_WARN = 2,
    LT_LOG_ERROR = 3,
} lt_log_level;

/* Parses "debug", "info", "warn" (or "warning") or "error". Returns 0, or -1
 * with *ret_level untouched. */
int lt_log_level_parse(const char *name, lt_log_level *ret_level)
    __attribute__((warn_unused_result));
const char *lt_log_level_name(lt_log_level level);

/* The threshold is process-wide and may change at any time (SIGHUP reload). */
void lt_log_set_level(lt_log_level level);
lt_log_level lt_log_get_level(void);
bool lt_log_enabled(lt_log_level level);

/* Names the calling thread in its log lines ("main", "http", "db"...). The
 * string is copied; at most 15 bytes are kept. */
void lt_log_set_thread_name(const char *name);

/* Where lines go; 2 (stderr) by default. Tests point it at a pipe or file. */
void lt_log_set_fd(int fd);

/* Writes {"ts","level","thread","msg", ...fields}. fields is an object whose
 * members are added to the line; the reference is stolen (NULL allowed).
 * Every string in msg and fields goes through the masking helper. */
void lt_log_json(lt_log_level level, json_t *fields, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void lt_logf(lt_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define LT_DEBUG(...) lt_logf(LT_LOG_DEBUG, __VA_ARGS__)
#define LT_INFO(...)  lt_logf(LT_LOG_INFO, __VA_ARGS__)
#define LT_WARN(...)  lt_logf(LT_LOG_WARN, __VA_ARGS__)
#define LT_ERROR(...) lt_logf(LT_LOG_ERROR, __VA_ARGS__)

#endif
