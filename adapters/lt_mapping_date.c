/* lt_mapping_date: calendar arithmetic and fixed-width date formats for the
 * dialect engine: canonical yyyyMMddHHmmss <-> a dialect's pattern or epoch
 * milliseconds in Asia/Ho_Chi_Minh time. */
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

static const int month_days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

static bool leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static bool civil_valid(const struct civil *c)
{
    if (c->y < 1 || c->mo < 1 || c->mo > 12 || c->d < 1)
        return false;
    int dim = month_days[c->mo - 1] + (c->mo == 2 && leap(c->y));
    return c->d <= dim && c->h <= 23 && c->mi <= 59 && c->s <= 59;
}

/* Days since 1970-01-01 of a civil date (H. Hinnant's algorithm). */
int64_t lt_mapdate_days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void lt_mapdate_civil_from_days(int64_t z, struct civil *c)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    c->d = (int)(doy - (153 * mp + 2) / 5 + 1);
    c->mo = (int)(mp < 10 ? mp + 3 : mp - 9);
    c->y = (int)(yoe + era * 400 + (c->mo <= 2));
}

static bool read_digits(const char *s, size_t width, int *ret)
{
    int v = 0;
    for (size_t i = 0; i < width; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *ret = v;
    return true;
}

static void put_digits(char *out, int v, size_t width)
{
    for (size_t i = width; i-- > 0;) {
        out[i] = (char)('0' + v % 10);
        v /= 10;
    }
}

bool lt_mapdate_parse_canonical_date(const char *s, struct civil *c)
{
    if (strlen(s) != 14)
        return false;
    return read_digits(s, 4, &c->y) && read_digits(s + 4, 2, &c->mo) &&
           read_digits(s + 6, 2, &c->d) && read_digits(s + 8, 2, &c->h) &&
           read_digits(s + 10, 2, &c->mi) && read_digits(s + 12, 2, &c->s) && civil_valid(c);
}

void lt_mapdate_write_canonical_date(const struct civil *c, char out[15])
{
    put_digits(out, c->y, 4);
    put_digits(out + 4, c->mo, 2);
    put_digits(out + 6, c->d, 2);
    put_digits(out + 8, c->h, 2);
    put_digits(out + 10, c->mi, 2);
    put_digits(out + 12, c->s, 2);
    out[14] = '\0';
}

/* Parses text in a compiled (non-epoch) format. */
bool lt_mapdate_parse_date(const struct datefmt *f, const char *s, size_t len, struct civil *c)
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
        if (!read_digits(s, w, dst))
            return false;
        s += w;
    }
    return civil_valid(c);
}

void lt_mapdate_format_date(const struct datefmt *f, const struct civil *c, char *out)
{
    for (size_t t = 0; t < f->ntok; t++) {
        switch ((enum date_kind)f->kind[t]) {
        case DK_LIT:
            *out++ = f->lit[t];
            break;
        case DK_YEAR:
            put_digits(out, c->y, 4);
            out += 4;
            break;
        case DK_MONTH:
            put_digits(out, c->mo, 2);
            out += 2;
            break;
        case DK_DAY:
            put_digits(out, c->d, 2);
            out += 2;
            break;
        case DK_HOUR:
            put_digits(out, c->h, 2);
            out += 2;
            break;
        case DK_MIN:
            put_digits(out, c->mi, 2);
            out += 2;
            break;
        case DK_SEC:
            put_digits(out, c->s, 2);
            out += 2;
            break;
        }
    }
    *out = '\0';
}
