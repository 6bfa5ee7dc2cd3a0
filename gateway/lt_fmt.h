/* lt_fmt: bounded formatting helpers shared by modules that fill caller
 * buffers. Both report truncation instead of hiding it. */
#ifndef LT_FMT_H
#define LT_FMT_H

#include <stddef.h>

/* vsnprintf into buf; 0 when it fit, -1 when truncated or on error. */
int lt_fmt(char *buf, size_t cap, const char *format, ...) __attribute__((format(printf, 3, 4)));

/* Writes a sentence into err (truncated if need be) and returns -1, so an
 * error path reads `return lt_errf(err, cap, "cannot open %s", path);`. */
int lt_errf(char *err, size_t cap, const char *format, ...) __attribute__((format(printf, 3, 4)));

#endif
