/* lt_civil: civil-date arithmetic and digit fields (see lt_civil.h).
 *
 * Why one module: the calendar and the dialect engine each carried the same
 * day-number algorithms and the same digit reader, and two copies of a date
 * rule drift apart (a leap-year fix made in one is missed in the other). */
#include "lt_civil.h"

#include <string.h>

int64_t lt_civil_days(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void lt_civil_from_days(int64_t z, int *ret_y, int *ret_m, int *ret_d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int d = (int)(doy - (153 * mp + 2) / 5 + 1);
    int m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *ret_y = (int)(yoe + era * 400 + (m <= 2));
    *ret_m = m;
    *ret_d = d;
}

int lt_civil_month_days(int y, int m)
{
    static const int n[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : n[m - 1];
}

bool lt_civil_valid(const lt_civil_time *t)
{
    return t->mo >= 1 && t->mo <= 12 && t->d >= 1 && t->d <= lt_civil_month_days(t->y, t->mo) &&
           t->h >= 0 && t->h <= 23 && t->mi >= 0 && t->mi <= 59 && t->s >= 0 && t->s <= 59;
}

bool lt_civil_digits(const char *s, size_t width, int *ret)
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

void lt_civil_put_digits(char *out, int v, size_t width)
{
    for (size_t i = width; i-- > 0;) {
        out[i] = (char)('0' + v % 10);
        v /= 10;
    }
}

bool lt_civil_parse_stamp(const char *s, lt_civil_time *ret)
{
    lt_civil_time t;
    if (!s || strlen(s) != 14 || !lt_civil_digits(s, 4, &t.y) ||
        !lt_civil_digits(s + 4, 2, &t.mo) || !lt_civil_digits(s + 6, 2, &t.d) ||
        !lt_civil_digits(s + 8, 2, &t.h) || !lt_civil_digits(s + 10, 2, &t.mi) ||
        !lt_civil_digits(s + 12, 2, &t.s) || !lt_civil_valid(&t))
        return false;
    *ret = t;
    return true;
}
