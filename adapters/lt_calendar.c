/* lt_calendar: the working-time calendar (see lt_calendar.h).
 *
 * Why walk days instead of a closed formula: holidays and compensatory
 * Saturdays make the working week irregular, and the spans the report asks
 * about are days to months, so a walk over days and their few segments is
 * both exact and cheap. Holidays are kept as two sorted arrays of day
 * numbers searched by bisection. */
#include "lt_calendar.h"
#include "lt_civil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY           86400
#define MAX_WALK_DAYS 36600 /* a hundred years: no calendar is that full of holidays */

typedef struct {
    int32_t start, end; /* seconds from midnight, start < end */
} segment;

struct lt_calendar {
    segment seg[LT_CAL_MAX_SEGMENTS]; /* the working hours of a working day, ascending */
    size_t nseg;
    int64_t *off, *work; /* sorted day numbers: days off, compensatory working days */
    size_t noff, nwork, capoff, capwork;
};

lt_calendar *lt_calendar_new(void)
{
    lt_calendar *self = calloc(1, sizeof(*self));
    if (!self)
        return NULL;
    self->seg[0] = (segment){7 * 3600, 11 * 3600 + 1800};
    self->seg[1] = (segment){13 * 3600 + 1800, 17 * 3600};
    self->nseg = 2;
    return self;
}

void lt_calendar_destroy(lt_calendar **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->off);
    free((*self_p)->work);
    free(*self_p);
    *self_p = NULL;
}

/* ---- civil dates ---------------------------------------------------------- */

int64_t lt_calendar_days(int y, int m, int d)
{
    return lt_civil_days(y, m, d);
}

void lt_calendar_civil(int64_t z, int *ret_y, int *ret_m, int *ret_d)
{
    lt_civil_from_days(z, ret_y, ret_m, ret_d);
}

int64_t lt_calendar_parse(const char *text)
{
    lt_civil_time t;
    if (!lt_civil_parse_stamp(text, &t))
        return -1;
    return lt_civil_days(t.y, t.mo, t.d) * DAY + t.h * 3600 + t.mi * 60 + t.s;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

void lt_calendar_format(int64_t t, char *buf, size_t cap)
{
    int64_t day = floor_div(t, DAY), sod = t - day * DAY;
    int y, m, d;
    lt_calendar_civil(day, &y, &m, &d);
    snprintf(buf, cap, "%04d%02d%02d%02d%02d%02d", y, m, d, (int)(sod / 3600),
             (int)(sod % 3600 / 60), (int)(sod % 60));
}

/* ---- configuration --------------------------------------------------------- */

static bool parse_hhmm(const char *s, int32_t *ret)
{
    int h, m;
    if (!lt_civil_digits(s, 2, &h) || s[2] != ':' || !lt_civil_digits(s + 3, 2, &m) || h > 24 ||
        m > 59 || (h == 24 && m != 0))
        return false;
    *ret = h * 3600 + m * 60;
    return true;
}

int lt_calendar_set_hours(lt_calendar *self, const char *spec, char *err, size_t cap)
{
    segment seg[LT_CAL_MAX_SEGMENTS];
    size_t n = 0;
    const char *p = spec;
    while (p && *p) {
        if (n == LT_CAL_MAX_SEGMENTS) {
            snprintf(err, cap, "working hours: at most %d segments", LT_CAL_MAX_SEGMENTS);
            return -1;
        }
        if (strlen(p) < 11 || !parse_hhmm(p, &seg[n].start) || p[5] != '-' ||
            !parse_hhmm(p + 6, &seg[n].end) || (p[11] != ',' && p[11] != '\0')) {
            snprintf(err, cap,
                     "working hours: expected HH:MM-HH:MM[,HH:MM-HH:MM...], got \"%.40s\"", spec);
            return -1;
        }
        if (seg[n].start >= seg[n].end || (n > 0 && seg[n].start < seg[n - 1].end)) {
            snprintf(err, cap, "working hours: segment %zu is empty or overlaps the one before",
                     n + 1);
            return -1;
        }
        n++;
        p = p[11] == ',' ? p + 12 : p + 11;
    }
    if (n == 0) {
        snprintf(err, cap, "working hours: no segment given");
        return -1;
    }
    memcpy(self->seg, seg, sizeof(seg));
    self->nseg = n;
    return 0;
}

static int cmp_day(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int push_day(int64_t **arr, size_t *n, size_t *capn, int64_t day)
{
    if (*n == *capn) {
        size_t nc = *capn ? *capn * 2 : 64;
        int64_t *na = realloc(*arr, nc * sizeof(*na));
        if (!na)
            return -1;
        *arr = na;
        *capn = nc;
    }
    (*arr)[(*n)++] = day;
    return 0;
}

static int load_list(const json_t *list, const char *name, int64_t **arr, size_t *n, size_t *capn,
                     char *err, size_t cap)
{
    if (!list)
        return 0;
    if (!json_is_array(list)) {
        snprintf(err, cap, "holidays: %s must be an array", name);
        return -1;
    }
    size_t i;
    const json_t *e;
    json_array_foreach(list, i, e)
    {
        const json_t *d = json_is_object(e) ? json_object_get(e, "date") : e;
        const char *s = json_string_value(d);
        int y, m, dd;
        if (!s || strlen(s) != 10 || !lt_civil_digits(s, 4, &y) || s[4] != '-' ||
            !lt_civil_digits(s + 5, 2, &m) || s[7] != '-' || !lt_civil_digits(s + 8, 2, &dd) ||
            m < 1 || m > 12 || dd < 1 || dd > lt_civil_month_days(y, m)) {
            snprintf(err, cap, "holidays: %s[%zu]: expected a date YYYY-MM-DD", name, i);
            return -1;
        }
        if (push_day(arr, n, capn, lt_calendar_days(y, m, dd)) < 0) {
            snprintf(err, cap, "holidays: out of memory");
            return -1;
        }
    }
    if (*n) /* qsort may not be given NULL, even for nothing */
        qsort(*arr, *n, sizeof(**arr), cmp_day);
    return 0;
}

int lt_calendar_load_json(lt_calendar *self, const json_t *doc, char *err, size_t cap)
{
    if (!json_is_object(doc)) {
        snprintf(err, cap, "holidays: expected an object with days_off and working_days");
        return -1;
    }
    if (load_list(json_object_get(doc, "days_off"), "days_off", &self->off, &self->noff,
                  &self->capoff, err, cap) < 0 ||
        load_list(json_object_get(doc, "working_days"), "working_days", &self->work, &self->nwork,
                  &self->capwork, err, cap) < 0)
        return -1;
    return 0;
}

int lt_calendar_load_file(lt_calendar *self, const char *path, char *err, size_t cap)
{
    json_error_t je;
    json_t *doc = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!doc) {
        snprintf(err, cap, "holidays %s: line %d: %s", path, je.line, je.text);
        return -1;
    }
    int rc = lt_calendar_load_json(self, doc, err, cap);
    json_decref(doc);
    return rc;
}

int lt_calendar_unit_parse(const char *text, lt_calendar_unit *ret)
{
    static const struct {
        const char *name;
        lt_calendar_unit unit;
    } names[] = {
        {"Ngày làm việc", LT_CAL_WORKING_DAY},
        {"ngày làm việc", LT_CAL_WORKING_DAY},
        {"working_day", LT_CAL_WORKING_DAY},
        {"Ngày", LT_CAL_DAY},
        {"ngày", LT_CAL_DAY},
        {"day", LT_CAL_DAY},
        {"Giờ", LT_CAL_HOUR},
        {"giờ", LT_CAL_HOUR},
        {"hour", LT_CAL_HOUR},
    };
    for (size_t i = 0; text && i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(text, names[i].name) == 0) {
            *ret = names[i].unit;
            return 0;
        }
    return -1;
}

/* ---- working time ---------------------------------------------------------- */

static bool has_day(const int64_t *arr, size_t n, int64_t day)
{
    return n > 0 && bsearch(&day, arr, n, sizeof(*arr), cmp_day) != NULL;
}

bool lt_calendar_is_working_day(const lt_calendar *self, int64_t day)
{
    if (has_day(self->work, self->nwork, day))
        return true;
    if (has_day(self->off, self->noff, day))
        return false;
    int64_t wd = ((day % 7) + 7 + 3) % 7; /* 0 = Monday; 1970-01-01 was a Thursday */
    return wd < 5;
}

int64_t lt_calendar_day_length(const lt_calendar *self)
{
    int64_t n = 0;
    for (size_t i = 0; i < self->nseg; i++)
        n += self->seg[i].end - self->seg[i].start;
    return n;
}

int64_t lt_calendar_roll(const lt_calendar *self, int64_t t)
{
    int64_t day = floor_div(t, DAY), sod = t - day * DAY;
    for (int walk = 0; walk < MAX_WALK_DAYS; walk++, day++, sod = 0) {
        if (!lt_calendar_is_working_day(self, day))
            continue;
        for (size_t i = 0; i < self->nseg; i++)
            if (sod < self->seg[i].end)
                return day * DAY + (sod > self->seg[i].start ? sod : self->seg[i].start);
    }
    return t;
}

int64_t lt_calendar_add_working(const lt_calendar *self, int64_t t, int64_t seconds)
{
    t = lt_calendar_roll(self, t);
    if (seconds <= 0)
        return t;
    int64_t day = floor_div(t, DAY), sod = t - day * DAY;
    for (int walk = 0; walk < MAX_WALK_DAYS; walk++, day++, sod = 0) {
        if (!lt_calendar_is_working_day(self, day))
            continue;
        for (size_t i = 0; i < self->nseg; i++) {
            if (sod >= self->seg[i].end)
                continue;
            int64_t from = sod > self->seg[i].start ? sod : self->seg[i].start;
            int64_t avail = self->seg[i].end - from;
            if (seconds <= avail)
                return day * DAY + from + seconds;
            seconds -= avail;
            sod = self->seg[i].end;
        }
    }
    return t;
}

int64_t lt_calendar_working_between(const lt_calendar *self, int64_t a, int64_t b)
{
    if (b <= a)
        return 0;
    int64_t total = 0;
    int64_t first = floor_div(a, DAY), last = floor_div(b, DAY);
    for (int64_t day = first; day <= last && day - first < MAX_WALK_DAYS; day++) {
        if (!lt_calendar_is_working_day(self, day))
            continue;
        int64_t base = day * DAY;
        for (size_t i = 0; i < self->nseg; i++) {
            int64_t s = base + self->seg[i].start, e = base + self->seg[i].end;
            if (s < a)
                s = a;
            if (e > b)
                e = b;
            if (e > s)
                total += e - s;
        }
    }
    return total;
}

int64_t lt_calendar_due(const lt_calendar *self, int64_t received, double amount,
                        lt_calendar_unit unit)
{
    if (!(amount > 0))
        return lt_calendar_roll(self, received);
    switch (unit) {
    case LT_CAL_HOUR:
        return lt_calendar_add_working(self, received, llround(amount * 3600));
    case LT_CAL_DAY:
        return lt_calendar_roll(self,
                                lt_calendar_roll(self, received) + llround(amount * (double)DAY));
    case LT_CAL_WORKING_DAY:
    default:
        return lt_calendar_add_working(self, received,
                                       llround(amount * (double)lt_calendar_day_length(self)));
    }
}

int64_t lt_calendar_pause(const lt_calendar *self, int64_t due, int64_t requested,
                          int64_t completed)
{
    int64_t paused = lt_calendar_working_between(self, requested, completed);
    return paused > 0 ? lt_calendar_add_working(self, due, paused) : due;
}
