/* lt_calendar: working time the way Vietnam's one-stop rules count it
 * (DOMAIN.md, "Due dates and on-time figures"): working hours (default
 * 07:00-11:30 and 13:30-17:00, 8 hours a day), Saturdays and Sundays off,
 * a holiday table with days off and compensatory working days (a worked
 * Saturday), due dates for "Ngày làm việc", "Ngày" and "Giờ" and for
 * same-day procedures, the supplement pause and its alternative, the
 * restart, and the working time between two instants.
 *
 * Instants are local wall-clock seconds in Asia/Ho_Chi_Minh counted from
 * 1970-01-01 00:00 (the zone has no daylight saving, so this is a plain
 * count and needs no tz database); lt_calendar_parse reads the records'
 * yyyyMMddHHmmss. Pure: no I/O but lt_calendar_load_file, no logging. */
#ifndef LT_CALENDAR_H
#define LT_CALENDAR_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct lt_calendar lt_calendar;

/* How a procedure's time limit is counted (the catalog's DONVITINH). */
typedef enum {
    LT_CAL_WORKING_DAY, /* "Ngày làm việc": 8 working hours each */
    LT_CAL_DAY,         /* "Ngày": calendar days, the end rolled to working time */
    LT_CAL_HOUR,        /* "Giờ": working hours */
} lt_calendar_unit;

#define LT_CAL_MAX_SEGMENTS 8

/* A calendar with the default hours, the default weekend and no holidays.
 * NULL when out of memory. */
lt_calendar *lt_calendar_new(void) __attribute__((warn_unused_result));
void lt_calendar_destroy(lt_calendar **self_p);

/* Working hours as "HH:MM-HH:MM[,HH:MM-HH:MM...]", ascending and not
 * overlapping, at most LT_CAL_MAX_SEGMENTS. Returns 0, or -1 with a
 * sentence in err (the calendar unchanged). */
int lt_calendar_set_hours(lt_calendar *self, const char *spec, char *err, size_t cap)
    __attribute__((warn_unused_result));

/* Adds a holiday table: {"days_off": [{"date": "YYYY-MM-DD", ...}],
 * "working_days": [{"date": ...}]} (other members ignored; entries may also
 * be bare date strings). Returns 0, or -1 with a sentence in err naming the
 * entry. */
int lt_calendar_load_json(lt_calendar *self, const json_t *doc, char *err, size_t cap)
    __attribute__((warn_unused_result));
/* The same from a file. */
int lt_calendar_load_file(lt_calendar *self, const char *path, char *err, size_t cap)
    __attribute__((warn_unused_result));

/* yyyyMMddHHmmss (a real date) to local seconds; -1 for "" or a malformed
 * value. */
int64_t lt_calendar_parse(const char *text);
/* Local seconds to yyyyMMddHHmmss (buf of at least 15 bytes). */
void lt_calendar_format(int64_t t, char *buf, size_t cap);
/* Days since 1970-01-01 of a civil date, and back. */
int64_t lt_calendar_days(int y, int m, int d);
void lt_calendar_civil(int64_t days, int *ret_y, int *ret_m, int *ret_d);

/* Whether the day (days since 1970-01-01) is worked: a weekday that is not
 * a day off, or a compensatory working day. */
bool lt_calendar_is_working_day(const lt_calendar *self, int64_t day);

/* The first working instant at or after t: t itself inside working hours;
 * the next segment's start otherwise (after 17:00: the next working
 * morning). */
int64_t lt_calendar_roll(const lt_calendar *self, int64_t t);

/* The instant when `seconds` of working time have passed since t (t rolled
 * first). Ending exactly at a segment's end gives that end (17:00), not the
 * next morning. */
int64_t lt_calendar_add_working(const lt_calendar *self, int64_t t, int64_t seconds);

/* Working seconds in [a, b); 0 when b <= a. */
int64_t lt_calendar_working_between(const lt_calendar *self, int64_t a, int64_t b);

/* Seconds of working time in one working day (8 h by default). */
int64_t lt_calendar_day_length(const lt_calendar *self);

/* The due date of a dossier received at `received` with a time limit of
 * amount units: working days and hours are working time added from the
 * receipt (a receipt outside working hours starts at the next working
 * instant); calendar days are amount * 24 h from that start, rolled forward
 * to working time when they end outside it. */
int64_t lt_calendar_due(const lt_calendar *self, int64_t received, double amount,
                        lt_calendar_unit unit);

/* The supplement pause: due moved on by the working time between the
 * request and the completion of a supplement round. */
int64_t lt_calendar_pause(const lt_calendar *self, int64_t due, int64_t requested,
                          int64_t completed);

/* Same-day procedures (DOMAIN.md: "same day, next working day if received
 * after 15:00"): a receipt up to this local time of day is due at the end
 * of its working day. A clock time, not an offset from closing: the rule
 * says 15:00 whatever calendar.hours are. */
#define LT_CAL_SAME_DAY_CUTOFF (15 * 3600)

/* The due date of a same-day procedure received at `received`: the end of
 * that working day when received on a working day at or before
 * LT_CAL_SAME_DAY_CUTOFF (a receipt before opening included), else the end
 * of the next working day. */
int64_t lt_calendar_due_same_day(const lt_calendar *self, int64_t received);

/* The per-procedure alternative to the pause: when a supplement round
 * completes at `completed`, the full duration runs again from there. The
 * duration is the working time from `received` to `due` (the due date the
 * round interrupted), for when the procedure's own limit is unknown;
 * with a known limit use lt_calendar_due(completed, ...) instead. */
int64_t lt_calendar_restart(const lt_calendar *self, int64_t received, int64_t due,
                            int64_t completed);

/* Parses a catalog DONVITINH ("Ngày làm việc", "Ngày", "Giờ", and the
 * overlays' "working_day", "day", "hour"). Returns 0, or -1 for anything
 * else. */
int lt_calendar_unit_parse(const char *text, lt_calendar_unit *ret)
    __attribute__((warn_unused_result));

#endif
