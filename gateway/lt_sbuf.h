/* lt_sbuf: a growable byte buffer for building large query parameters (the
 * writer's JSON batches) without a jansson tree per value: appending is a
 * memcpy, and an allocation failure is remembered and reported once at the
 * end (lt_sbuf_failed), so builders need no error check per append. */
#ifndef LT_SBUF_H
#define LT_SBUF_H

#include <stdbool.h>
#include <stddef.h>

typedef struct lt_sbuf {
    char *data;  /* NUL-terminated while not failed */
    size_t len;  /* bytes used, without the NUL */
    size_t cap;  /* bytes allocated */
    bool failed; /* an allocation failed: the content is incomplete */
} lt_sbuf;

/* Empties the buffer, keeping its memory for the next use. */
void lt_sbuf_reset(lt_sbuf *self);
/* Frees the memory; the buffer may be used again (it starts empty). */
void lt_sbuf_free(lt_sbuf *self);
void lt_sbuf_add(lt_sbuf *self, const char *bytes, size_t n);
void lt_sbuf_adds(lt_sbuf *self, const char *s);
void lt_sbuf_addc(lt_sbuf *self, char c);
void lt_sbuf_addi(lt_sbuf *self, long long v);
/* s as a JSON string literal (quotes included); NULL writes null. s must be
 * valid UTF-8 (it is passed through; only quotes, backslashes and control
 * characters are escaped). */
void lt_sbuf_json_str(lt_sbuf *self, const char *s);
/* n bytes as lower-case hex digits. */
void lt_sbuf_hex(lt_sbuf *self, const void *bytes, size_t n);
bool lt_sbuf_failed(const lt_sbuf *self);

#endif
