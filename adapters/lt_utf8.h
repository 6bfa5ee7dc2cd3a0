/* lt_utf8: one definition of well-formed UTF-8 (RFC 3629: no overlong forms,
 * no UTF-16 surrogates, nothing above U+10FFFF) for everything that must
 * refuse or repair bad bytes: the record decoder, the configuration, the
 * logger. Pure functions. */
#ifndef LT_UTF8_H
#define LT_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* Length (1-4) of the well-formed sequence at s, reading at most n bytes;
 * 0 when the bytes there are not well-formed UTF-8. n must be at least 1. */
size_t lt_utf8_seq_len(const unsigned char *s, size_t n);

/* Offset of the first byte that is not well-formed UTF-8, or n. */
size_t lt_utf8_invalid_at(const char *s, size_t n);

/* True when the NUL-terminated s is well-formed UTF-8. */
bool lt_utf8_valid(const char *s);

#endif
