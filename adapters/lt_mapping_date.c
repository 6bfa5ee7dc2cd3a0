/* lt_mapping_date: fixed-width date formats for the dialect engine:
 * canonical yyyyMMddHHmmss <-> a dialect's pattern or epoch milliseconds in
 * Asia/Ho_Chi_Minh time (the day arithmetic is lt_civil's). */
#include "lt_mapping.h"
#include "lt_mapping_plan.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- dates */

/* A real date and time in a year the canonical format can carry (year 0000
 * is no year of the proleptic calendar the dialects use). */
static bool civil_valid(const lt_civil_time *c)
{
    return c->y >= 1 && lt_civil_valid(c);
}

bool lt_mapdate_parse_canonical_date(const char *s, lt_civil_time *c)
{
    return lt_civil_parse_stamp(s, c) && c->y >= 1;
}

void lt_mapdate_write_canonical_date(const lt_civil_time *c, char out[15])
{
    lt_civil_put_digits(out, c->y, 4);
    lt_civil_put_digits(out + 4, c->mo, 2);
    lt_civil_put_digits(out + 6, c->d, 2);
    lt_civil_put_digits(out + 8, c->h, 2);
    lt_civil_put_digits(out + 10, c->mi, 2);
    lt_civil_put_digits(out + 12, c->s, 2);
    out[14] = '\0';
}

/* Parses text in a compiled (non-epoch) format. */
bool lt_mapdate_parse_date(const struct datefmt *f, const char *s, size_t len, lt_civil_time *c)
{
    if (len != f->len)
        return false;
    memset(c, 0, sizeof(*c));
    for (size_t t = 0; t < f->ntok; t++) {
        int *dst = NULL;
        size_t w = 2;
        switch ((enum date_kind)f->kind[t]) {
        case DK_LIT:
            if (*s++ != f->lit[t])
                return false;
            continue;
        case DK_YEAR:
            dst = &c->y;
            w = 4;
            break;
        case DK_MONTH:
            dst = &c->mo;
            break;
        case DK_DAY:
            dst = &c->d;
            break;
        case DK_HOUR:
            dst = &c->h;
            break;
        case DK_MIN:
            dst = &c->mi;
            break;
        case DK_SEC:
            dst = &c->s;
            break;
        }
        if (!lt_civil_digits(s, w, dst))
            return false;
        s += w;
    }
    return civil_valid(c);
}

void lt_mapdate_format_date(const struct datefmt *f, const lt_civil_time *c, char *out)
{
    for (size_t t = 0; t < f->ntok; t++) {
        switch ((enum date_kind)f->kind[t]) {
        case DK_LIT:
            *out++ = f->lit[t];
            break;
        case DK_YEAR:
            lt_civil_put_digits(out, c->y, 4);
            out += 4;
            break;
        case DK_MONTH:
            lt_civil_put_digits(out, c->mo, 2);
            out += 2;
            break;
        case DK_DAY:
            lt_civil_put_digits(out, c->d, 2);
            out += 2;
            break;
        case DK_HOUR:
            lt_civil_put_digits(out, c->h, 2);
            out += 2;
            break;
        case DK_MIN:
            lt_civil_put_digits(out, c->mi, 2);
            out += 2;
            break;
        case DK_SEC:
            lt_civil_put_digits(out, c->s, 2);
            out += 2;
            break;
        }
    }
    *out = '\0';
}
