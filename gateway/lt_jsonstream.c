/* lt_jsonstream: a national catalog export is one JSON array of a few
 * thousand records, and bulk files can be far larger than memory we want to
 * spend; json_loadf would hold all of it, and one bad record would be
 * reported as a byte offset into megabytes. This scanner cuts the array into
 * its elements with a buffer bounded by the largest record allowed, so each
 * record is parsed alone and every error names the record's index and the
 * byte where it went wrong. It is a state machine fed byte by byte, so a
 * read may end anywhere (inside a string, after a backslash) and the tests
 * prove it with one-byte reads. */
#include "lt_jsonstream.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef enum {
    S_START,      /* before '[' (whitespace and a UTF-8 BOM allowed) */
    S_FIRST,      /* after '[': an element or ']' */
    S_ELEMENT,    /* after ',': an element must come */
    S_IN_ELEMENT, /* inside an element, outside strings */
    S_IN_STRING,  /* inside a string in an element */
    S_ESCAPE,     /* after a backslash in a string */
    S_AFTER,      /* after an element: ',' or ']' */
    S_TRAILER,    /* after ']': only whitespace */
    S_DONE,       /* end reached, next() returns 0 */
    S_FAILED,     /* error reported, next() returns -1 */
} scan_state;

struct lt_jsonstream {
    lt_jsonstream_read_fn read_fn; /* where bytes come from */
    void *ctx;                     /* read_fn's argument, borrowed */
    int fd;                        /* for the fd reader */
    char *buf;                     /* max_record + read_size bytes */
    size_t cap;                    /* size of buf */
    size_t max_record;             /* largest element accepted */
    size_t read_size;              /* bytes asked for per read */
    size_t len;                    /* bytes of buf holding data */
    size_t pos;                    /* next byte to scan in buf */
    int64_t base;                  /* input offset of buf[0] */
    scan_state state;              /* where the scanner is */
    size_t depth;                  /* nesting inside the element */
    size_t elem_start;             /* buf index of the element's '{' */
    int64_t index;                 /* index of the current/next element */
    bool eof;                      /* read_fn returned 0 */
    size_t bom;                    /* BOM bytes matched at the very start */
    lt_jsonstream_error error;     /* kept for repeated calls after failure */
};

static ssize_t fd_read(void *ctx, void *buf, size_t cap)
{
    const lt_jsonstream *self = ctx;
    ssize_t n;
    do {
        n = read(self->fd, buf, cap);
    } while (n < 0 && errno == EINTR);
    return n;
}

lt_jsonstream *lt_jsonstream_new(lt_jsonstream_read_fn read_fn, void *ctx, size_t max_record,
                                 size_t read_size)
{
    if (!read_fn || max_record == 0 || read_size == 0 || max_record > SIZE_MAX / 2 ||
        read_size > SIZE_MAX / 2)
        return NULL;
    lt_jsonstream *self = calloc(1, sizeof(*self));
    if (!self)
        return NULL;
    self->read_fn = read_fn;
    self->ctx = ctx;
    self->fd = -1;
    self->max_record = max_record;
    self->read_size = read_size;
    /* One whole record may be held while the next read lands behind it. */
    self->cap = max_record + read_size;
    self->buf = malloc(self->cap);
    if (!self->buf) {
        free(self);
        return NULL;
    }
    self->state = S_START;
    return self;
}

lt_jsonstream *lt_jsonstream_new_fd(int fd, size_t max_record, size_t read_size)
{
    lt_jsonstream *self = lt_jsonstream_new(fd_read, NULL, max_record, read_size);
    if (self) {
        self->ctx = self;
        self->fd = fd;
    }
    return self;
}

void lt_jsonstream_destroy(lt_jsonstream **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->buf);
    free(*self_p);
    *self_p = NULL;
}

int64_t lt_jsonstream_consumed(const lt_jsonstream *self)
{
    return self->base + (int64_t)self->pos;
}

static int fail(lt_jsonstream *self, lt_jsonstream_error *err, int64_t offset, int64_t index,
                const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int fail(lt_jsonstream *self, lt_jsonstream_error *err, int64_t offset, int64_t index,
                const char *fmt, ...)
{
    self->error.offset = offset;
    self->error.index = index;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(self->error.message, sizeof(self->error.message), fmt, ap);
    va_end(ap);
    self->state = S_FAILED;
    if (err)
        *err = self->error;
    return -1;
}

/* A byte as it reads in a message. */
static const char *show(unsigned char c, char *buf, size_t cap)
{
    if (c >= 0x21 && c < 0x7f)
        snprintf(buf, cap, "'%c'", c);
    else
        snprintf(buf, cap, "byte 0x%02x", c);
    return buf;
}

static bool is_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Makes room and reads more: keeps the element being scanned (or nothing,
 * between elements). Returns 1 read, 0 end of input, -1 error. */
static int refill(lt_jsonstream *self, lt_jsonstream_error *err)
{
    bool inside =
        self->state == S_IN_ELEMENT || self->state == S_IN_STRING || self->state == S_ESCAPE;
    size_t keep_from = inside ? self->elem_start : self->pos;
    if (keep_from > 0) {
        memmove(self->buf, self->buf + keep_from, self->len - keep_from);
        self->len -= keep_from;
        self->pos -= keep_from;
        if (inside)
            self->elem_start = 0;
        self->base += (int64_t)keep_from;
    }
    if (inside && self->len > self->max_record)
        return fail(self, err, self->base, self->index,
                    "record [%lld] starting at byte %lld is larger than %zu bytes",
                    (long long)self->index, (long long)self->base, self->max_record);
    size_t room = self->cap - self->len;
    if (room > self->read_size)
        room = self->read_size;
    ssize_t n = self->read_fn(self->ctx, self->buf + self->len, room);
    if (n < 0)
        return fail(self, err, self->base + (int64_t)self->len, self->index,
                    "cannot read the input: %s", strerror(errno));
    if (n == 0) {
        self->eof = true;
        return 0;
    }
    self->len += (size_t)n;
    return 1;
}

static int at_eof(lt_jsonstream *self, lt_jsonstream_error *err)
{
    int64_t off = self->base + (int64_t)self->len;
    switch (self->state) {
    case S_START:
        return fail(self, err, off, -1,
                    off == (int64_t)self->bom ? "the input is empty: expected a JSON array of "
                                                "procedure records"
                                              : "the input ends before the JSON array starts");
    case S_FIRST:
    case S_ELEMENT:
    case S_AFTER:
        return fail(self, err, off, self->index,
                    "the input ends after %lld record(s) without the closing ']' (truncated "
                    "file?)",
                    (long long)self->index);
    case S_IN_ELEMENT:
    case S_IN_STRING:
    case S_ESCAPE:
        return fail(self, err, off, self->index,
                    "the input ends inside record [%lld], which starts at byte %lld (truncated "
                    "file?)",
                    (long long)self->index, (long long)(self->base + (int64_t)self->elem_start));
    case S_TRAILER:
        self->state = S_DONE;
        return 0;
    case S_DONE:
    case S_FAILED:
        break;
    }
    return 0;
}

/* The first '"' or '\\' in [p, end), or end. String contents are most of
 * a record, so eight bytes are tested at a time: a byte equal to c makes
 * v ^ (c * 0x01..01) have a zero byte, and the lowest zero byte is found
 * exactly by the classic haszero expression (carries only disturb the bytes
 * above it). */
static const char *string_stop(const char *p, const char *end)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    while (end - p >= 8) {
        uint64_t v;
        memcpy(&v, p, sizeof(v));
        uint64_t q = v ^ (ones * '"'), b = v ^ (ones * '\\');
        uint64_t hit = (((q - ones) & ~q) | ((b - ones) & ~b)) & highs;
        if (hit)
            return p + (__builtin_ctzll(hit) >> 3);
        p += 8;
    }
#endif
    while (p < end && *p != '"' && *p != '\\')
        p++;
    return p;
}

/* Scans the element being read from pos: 1 when its closing brace was
 * consumed (pos just after it), 0 when the buffer ended first (the state
 * and depth say where to resume after the next read). */
static int element_scan(lt_jsonstream *self)
{
    const char *p = self->buf + self->pos, *end = self->buf + self->len;
    scan_state st = self->state;
    size_t depth = self->depth;
    int done = 0;
    while (p < end) {
        if (st == S_ESCAPE) {
            st = S_IN_STRING;
            p++;
            continue;
        }
        if (st == S_IN_STRING) {
            p = string_stop(p, end);
            if (p == end)
                break;
            st = *p == '"' ? S_IN_ELEMENT : S_ESCAPE;
            p++;
            continue;
        }
        char c = *p++;
        if (c == '"') {
            st = S_IN_STRING;
        } else if (c == '{' || c == '[') {
            depth++;
        } else if ((c == '}' || c == ']') && --depth == 0) {
            done = 1;
            break;
        }
    }
    self->pos = (size_t)(p - self->buf);
    self->state = st;
    self->depth = depth;
    return done;
}

int lt_jsonstream_next(lt_jsonstream *self, lt_jsonstream_item *ret_item, lt_jsonstream_error *err)
{
    static const unsigned char bom[3] = {0xEF, 0xBB, 0xBF};
    char what[16];
    if (self->state == S_DONE)
        return 0;
    if (self->state == S_FAILED) {
        if (err)
            *err = self->error;
        return -1;
    }
    for (;;) {
        if (self->pos == self->len) {
            if (self->eof)
                return at_eof(self, err);
            int r = refill(self, err);
            if (r < 0)
                return -1;
            if (r == 0)
                return at_eof(self, err);
            continue;
        }
        /* Inside an element nothing but strings and nesting matters until
         * its closing brace: scan it in a tight loop (element_scan) rather
         * than through the state switch byte by byte, which was most of
         * the time a sync spends reading an unchanged file. */
        if (self->state == S_IN_ELEMENT || self->state == S_IN_STRING || self->state == S_ESCAPE) {
            if (element_scan(self) == 0)
                continue; /* the buffer ended inside the element */
            self->state = S_AFTER;
            /* Depth counts braces and brackets alike; an element whose
             * outer brace is closed by a bracket is not an object (found
             * by tests/fuzz/fuzz_jsonstream). Inner mismatches are left to
             * the parser of the element's bytes. */
            if (self->buf[self->pos - 1] != '}') {
                int64_t at = self->base + (int64_t)self->pos - 1;
                return fail(self, err, at, self->index,
                            "record [%lld] starting at byte %lld is closed by ']' at byte %lld: "
                            "expected '}'",
                            (long long)self->index,
                            (long long)(self->base + (int64_t)self->elem_start), (long long)at);
            }
            ret_item->bytes = self->buf + self->elem_start;
            ret_item->len = self->pos - self->elem_start;
            ret_item->index = self->index++;
            ret_item->offset = self->base + (int64_t)self->elem_start;
            if (ret_item->len > self->max_record)
                return fail(self, err, ret_item->offset, ret_item->index,
                            "record [%lld] starting at byte %lld is larger than %zu bytes",
                            (long long)ret_item->index, (long long)ret_item->offset,
                            self->max_record);
            return 1;
        }
        unsigned char c = (unsigned char)self->buf[self->pos];
        int64_t off = self->base + (int64_t)self->pos;
        switch (self->state) {
        case S_START:
            if (off < 3 && off == (int64_t)self->bom && c == bom[off]) {
                self->bom++;
            } else if (c == '[') {
                self->state = S_FIRST;
            } else if (!is_ws(c)) {
                return fail(self, err, off, -1,
                            "expected a JSON array of procedure records ('['), got %s at byte %lld",
                            show(c, what, sizeof(what)), (long long)off);
            }
            break;
        case S_FIRST:
        case S_ELEMENT:
            if (c == '{') {
                self->state = S_IN_ELEMENT;
                self->depth = 1;
                self->elem_start = self->pos;
            } else if (c == ']' && self->state == S_FIRST) {
                self->state = S_TRAILER;
            } else if (!is_ws(c)) {
                return fail(self, err, off, self->index,
                            "record [%lld] at byte %lld is not an object: expected '{', got %s",
                            (long long)self->index, (long long)off, show(c, what, sizeof(what)));
            }
            break;
        case S_IN_ELEMENT:
        case S_IN_STRING:
        case S_ESCAPE:
            break; /* element_scan above */
        case S_AFTER:
            if (c == ',') {
                self->state = S_ELEMENT;
            } else if (c == ']') {
                self->state = S_TRAILER;
            } else if (!is_ws(c)) {
                return fail(self, err, off, self->index,
                            "expected ',' or ']' after record [%lld], got %s at byte %lld",
                            (long long)(self->index - 1), show(c, what, sizeof(what)),
                            (long long)off);
            }
            break;
        case S_TRAILER:
            if (!is_ws(c))
                return fail(self, err, off, -1,
                            "unexpected %s at byte %lld after the end of the array",
                            show(c, what, sizeof(what)), (long long)off);
            break;
        case S_DONE:
        case S_FAILED:
            return self->state == S_DONE ? 0 : -1;
        }
        self->pos++;
    }
}
