/* lt_civil: proleptic Gregorian dates as day numbers and fixed-width digit
 * fields, the arithmetic under every date the gateway reads or writes (the
 * working-time calendar, the dialect engine's date formats, the record's
 * date checks). Pure functions over integers and bytes. */
#ifndef LT_CIVIL_H
#define LT_CIVIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A broken-down time, as the canonical record's yyyyMMddHHmmss spells it. */
typedef struct lt_civil_time {
    int y, mo, d; /* year, month 1-12, day 1-31 */
    int h, mi, s; /* hour 0-23, minute and second 0-59 */
} lt_civil_time;

/* Days since 1970-01-01 of a civil date (H. Hinnant's algorithm). */
int64_t lt_civil_days(int y, int m, int d);

/* The civil date of a day number (the inverse of lt_civil_days). */
void lt_civil_from_days(int64_t days, int *ret_y, int *ret_m, int *ret_d);

/* Days in month m (1-12) of year y. */
int lt_civil_month_days(int y, int m);

/* Whether the fields name a real date and time of day (any year). */
bool lt_civil_valid(const lt_civil_time *t);

/* Reads width ASCII digits at s into *ret; false (ret untouched) when any
 * byte is not a digit. */
bool lt_civil_digits(const char *s, size_t width, int *ret);

/* Writes v as width digits, zero-padded, at out (no terminator). */
void lt_civil_put_digits(char *out, int v, size_t width);

/* Reads exactly 14 digits yyyyMMddHHmmss naming a real date and time into
 * *ret; false when s is NULL, another length, or not a real time. */
bool lt_civil_parse_stamp(const char *s, lt_civil_time *ret);

#endif
