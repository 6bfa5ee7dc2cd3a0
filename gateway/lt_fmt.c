/* lt_fmt: bounded formatting (see lt_fmt.h). */
#include "lt_fmt.h"

#include <stdarg.h>
#include <stdio.h>

int lt_fmt(char *buf, size_t cap, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    int n = vsnprintf(buf, cap, format, ap);
    va_end(ap);
    return n >= 0 && (size_t)n < cap ? 0 : -1;
}

int lt_errf(char *err, size_t cap, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    vsnprintf(err, cap, format, ap);
    va_end(ap);
    return -1;
}
