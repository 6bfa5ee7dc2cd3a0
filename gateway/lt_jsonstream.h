/* lt_jsonstream: the elements of one large JSON array of objects (a catalog
 * export, a bulk file), one at a time, through a bounded buffer: memory is
 * one record (at most max_record bytes) plus one read, never the file. The
 * scanner only finds where each element begins and ends (it follows
 * strings and escapes so a "]" or "}" inside a string is text); the caller
 * parses the element's bytes with json_loadb, whose errors are relative to
 * the element's offset. */
#ifndef LT_JSONSTREAM_H
#define LT_JSONSTREAM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define LT_JSONSTREAM_DEFAULT_MAX_RECORD (4 * 1024 * 1024)
#define LT_JSONSTREAM_DEFAULT_READ       (64 * 1024)

/* Reads up to cap bytes into buf: returns the count, 0 at the end, -1 on
 * error (errno set). read(2) has this shape. */
typedef ssize_t (*lt_jsonstream_read_fn)(void *ctx, void *buf, size_t cap);

typedef struct lt_jsonstream lt_jsonstream;

/* Where and why the stream stopped. */
typedef struct lt_jsonstream_error {
    int64_t offset;    /* byte offset in the input where the problem is */
    int64_t index;     /* element the problem belongs to (0-based), -1 = none (the array itself) */
    char message[256]; /* a sentence naming what was expected and what came */
} lt_jsonstream_error;

/* One element: its bytes are valid until the next call. */
typedef struct lt_jsonstream_item {
    const char *bytes; /* the element's text, from '{' to its '}' */
    size_t len;        /* length of bytes */
    int64_t index;     /* position in the array, 0-based */
    int64_t offset;    /* byte offset of its '{' in the input */
} lt_jsonstream_item;

/* A stream over read_fn(ctx) (ctx is borrowed). max_record bounds one
 * element; read_size is how much one read asks for (tests use tiny ones).
 * NULL when out of memory or a size is 0. */
lt_jsonstream *lt_jsonstream_new(lt_jsonstream_read_fn read_fn, void *ctx, size_t max_record,
                                 size_t read_size) __attribute__((warn_unused_result));
/* The same over a file descriptor (borrowed; not closed). */
lt_jsonstream *lt_jsonstream_new_fd(int fd, size_t max_record, size_t read_size)
    __attribute__((warn_unused_result));
void lt_jsonstream_destroy(lt_jsonstream **self_p);

/* The next element: 1 and *ret_item, 0 at the closing ']' (followed by
 * nothing but whitespace), -1 with *err (truncated input, not an array,
 * an element that is not an object, garbage between elements or after the
 * array, an element larger than max_record, a read error). After 0 or -1
 * every further call returns the same. */
int lt_jsonstream_next(lt_jsonstream *self, lt_jsonstream_item *ret_item, lt_jsonstream_error *err)
    __attribute__((warn_unused_result));

/* Bytes consumed so far (for progress against the file's size). */
int64_t lt_jsonstream_consumed(const lt_jsonstream *self);

#endif
