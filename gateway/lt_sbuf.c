/* lt_sbuf: growable byte buffer (see lt_sbuf.h). */
#include "lt_sbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool reserve(lt_sbuf *self, size_t more)
{
    if (self->failed)
        return false;
    if (self->len + more + 1 <= self->cap)
        return true;
    size_t cap = self->cap ? self->cap : 4096;
    while (cap < self->len + more + 1)
        cap *= 2;
    char *d = realloc(self->data, cap);
    if (!d) {
        self->failed = true;
        return false;
    }
    self->data = d;
    self->cap = cap;
    return true;
}

void lt_sbuf_reset(lt_sbuf *self)
{
    self->len = 0;
    self->failed = false;
    if (self->data)
        self->data[0] = '\0';
}

void lt_sbuf_free(lt_sbuf *self)
{
    free(self->data);
    *self = (lt_sbuf){0};
}

void lt_sbuf_add(lt_sbuf *self, const char *bytes, size_t n)
{
    if (!reserve(self, n))
        return;
    memcpy(self->data + self->len, bytes, n);
    self->len += n;
    self->data[self->len] = '\0';
}

void lt_sbuf_adds(lt_sbuf *self, const char *s)
{
    lt_sbuf_add(self, s, strlen(s));
}

void lt_sbuf_addc(lt_sbuf *self, char c)
{
    lt_sbuf_add(self, &c, 1);
}

void lt_sbuf_addi(lt_sbuf *self, long long v)
{
    char tmp[24];
    int n = snprintf(tmp, sizeof(tmp), "%lld", v);
    lt_sbuf_add(self, tmp, (size_t)n);
}

void lt_sbuf_json_str(lt_sbuf *self, const char *s)
{
    if (!s) {
        lt_sbuf_add(self, "null", 4);
        return;
    }
    static const char hexd[] = "0123456789abcdef";
    lt_sbuf_addc(self, '"');
    const char *run = s;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        lt_sbuf_add(self, run, (size_t)(s - run));
        char esc[6] = {'\\', 'u', '0', '0', hexd[c >> 4], hexd[c & 15]};
        if (c == '"' || c == '\\') {
            esc[1] = (char)c;
            lt_sbuf_add(self, esc, 2);
        } else {
            lt_sbuf_add(self, esc, 6);
        }
        run = s + 1;
    }
    lt_sbuf_add(self, run, (size_t)(s - run));
    lt_sbuf_addc(self, '"');
}

void lt_sbuf_hex(lt_sbuf *self, const void *bytes, size_t n)
{
    static const char hexd[] = "0123456789abcdef";
    if (!reserve(self, 2 * n))
        return;
    const unsigned char *b = bytes;
    char *o = self->data + self->len;
    for (size_t i = 0; i < n; i++) {
        o[2 * i] = hexd[b[i] >> 4];
        o[2 * i + 1] = hexd[b[i] & 15];
    }
    self->len += 2 * n;
    self->data[self->len] = '\0';
}

bool lt_sbuf_failed(const lt_sbuf *self)
{
    return self->failed;
}
