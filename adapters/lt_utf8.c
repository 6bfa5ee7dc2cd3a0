/* lt_utf8: well-formed UTF-8 (see lt_utf8.h). The second byte's range does
 * the hard work: it rules out overlongs (after E0, F0), surrogates (after ED)
 * and code points above U+10FFFF (after F4), per RFC 3629's table. */
#include "lt_utf8.h"

#include <string.h>

size_t lt_utf8_seq_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else {
        return 0;
    }
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t k = 2; k < len; k++)
        if ((s[k] & 0xC0) != 0x80)
            return 0;
    return len;
}

size_t lt_utf8_invalid_at(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        size_t k = lt_utf8_seq_len(u + i, n - i);
        if (k == 0)
            return i;
        i += k;
    }
    return n;
}

bool lt_utf8_valid(const char *s)
{
    size_t n = strlen(s);
    return lt_utf8_invalid_at(s, n) == n;
}
