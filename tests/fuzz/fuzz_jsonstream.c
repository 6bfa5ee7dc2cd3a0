/* Fuzz target: the streaming scanner of large JSON arrays (catalog exports).
 * It runs over peer-supplied files of any size through a bounded buffer,
 * so it must never read outside what it was given, loop, or hand out an
 * element that is not where it says. Each input is read in pieces whose
 * size comes from the first byte (1 to 256 bytes: records cross reads), and
 * every element handed out must be an object's bytes ('{' to '}') found at
 * its stated offset in the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lt_jsonstream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
    const uint8_t *data;
    size_t size, at, piece;
} source;

static ssize_t read_piece(void *ctx, void *buf, size_t cap)
{
    source *s = ctx;
    size_t n = s->size - s->at;
    if (n > s->piece)
        n = s->piece;
    if (n > cap)
        n = cap;
    memcpy(buf, s->data + s->at, n);
    s->at += n;
    return (ssize_t)n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    source s = {.data = data + 1, .size = size - 1, .piece = (size_t)data[0] + 1};
    /* A small record bound, so "too large" is reached as well. */
    lt_jsonstream *st = lt_jsonstream_new(read_piece, &s, 512, s.piece);
    if (!st)
        return 0;
    lt_jsonstream_item it;
    lt_jsonstream_error err;
    int64_t last = -1;
    while (lt_jsonstream_next(st, &it, &err) == 1) {
        if (it.len < 2 || it.bytes[0] != '{' || it.bytes[it.len - 1] != '}')
            abort();
        if (it.offset < 0 || (size_t)it.offset + it.len > s.size ||
            memcmp(s.data + it.offset, it.bytes, it.len) != 0)
            abort(); /* not the input's bytes at the stated offset */
        if (it.index != last + 1)
            abort();
        last = it.index;
    }
    lt_jsonstream_destroy(&st);
    return 0;
}
