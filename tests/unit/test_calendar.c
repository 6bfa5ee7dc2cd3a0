/* Unit tests for lt_calendar: due dates in each unit, receipt after hours,
 * weekends, holidays and compensatory Saturdays from the shipped table,
 * the supplement pause, elapsed working time, and the refusals of bad
 * configuration. Every expected instant is worked out by hand in the
 * comment beside it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lt_calendar.h"

static int64_t T(const char *s)
{
    int64_t t = lt_calendar_parse(s);
    assert_true(t >= 0);
    return t;
}

static void assert_instant(int64_t got, const char *want)
{
    char buf[16];
    lt_calendar_format(got, buf, sizeof(buf));
    assert_string_equal(buf, want);
}

/* A due date worked out by hand: received + amount unit ends at due. */
typedef struct due_case {
    const char *received; /* yyyyMMddHHmmss */
    double amount;        /* in unit */
    lt_calendar_unit unit;
    const char *due; /* yyyyMMddHHmmss */
    const char *why; /* the working-out, named when the case fails */
} due_case;

static void expect_due(const lt_calendar *c, const due_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char got[16];
        lt_calendar_format(lt_calendar_due(c, T(cases[i].received), cases[i].amount, cases[i].unit),
                           got, sizeof(got));
        if (strcmp(got, cases[i].due) != 0)
            fail_msg("%s: %s + %g ends %s, want %s", cases[i].why, cases[i].received,
                     cases[i].amount, got, cases[i].due);
    }
}

static lt_calendar *shipped(void)
{
    lt_calendar *c = lt_calendar_new();
    char err[256];
    assert_non_null(c);
    assert_int_equal(
        lt_calendar_load_file(c, LT_SOURCE_DIR "/schemas/holidays/vn.json", err, sizeof(err)), 0);
    return c;
}

static void test_parse_format(void **state)
{
    (void)state;
    assert_instant(T("20240229235959"), "20240229235959");
    assert_int_equal(lt_calendar_parse("20250229000000"), -1); /* not a leap year */
    assert_int_equal(lt_calendar_parse("2025030309000"), -1);
    assert_int_equal(lt_calendar_parse(""), -1);
    assert_int_equal(lt_calendar_parse("20250303246000"), -1);
}

static void test_working_days(void **state)
{
    (void)state;
    static const due_case cases[] = {
        {"20250303090000", 1, LT_CAL_WORKING_DAY, "20250304090000",
         "Mon 09:00 + 1 day: 2.5 h + 3.5 h on Monday, 2 h on Tuesday"},
        {"20250303070000", 1, LT_CAL_WORKING_DAY, "20250303170000",
         "Mon 07:00 + 1 day ends at Monday's 17:00, not Tuesday morning"},
        {"20250303173000", 1, LT_CAL_WORKING_DAY, "20250304170000",
         "received Mon 17:30: the clock starts Tue 07:00, so 8 h end Tue 17:00"},
        {"20250303120000", 1, LT_CAL_WORKING_DAY, "20250304113000",
         "received at lunch (12:00): starts 13:30; 3.5 h Monday, 4.5 h Tuesday -> 11:30"},
        {"20250307140000", 1, LT_CAL_WORKING_DAY, "20250310140000",
         "Fri 14:00 + 1 day skips the weekend: Mon 14:00"},
        {"20250303090000", 0.5, LT_CAL_WORKING_DAY, "20250303150000",
         "half a day: 4 h from Mon 09:00 -> 2.5 h to 11:30, 1.5 h from 13:30 -> 15:00"},
    };
    lt_calendar *c = lt_calendar_new();
    assert_int_equal(lt_calendar_day_length(c), 8 * 3600);
    expect_due(c, cases, sizeof(cases) / sizeof(cases[0]));
    lt_calendar_destroy(&c);
    assert_null(c);
}

static void test_hours_and_days(void **state)
{
    (void)state;
    static const due_case cases[] = {
        {"20250303100000", 4, LT_CAL_HOUR, "20250303160000",
         "4 working hours from Mon 10:00: 1.5 h to 11:30, 2.5 h from 13:30 -> 16:00"},
        {"20250303090000", 7, LT_CAL_DAY, "20250310090000",
         "7 calendar days from Mon 09:00: Mon 09:00 a week later"},
        {"20250306090000", 2, LT_CAL_DAY, "20250310070000",
         "2 calendar days from Thu 09:00 end on Saturday: rolled to Mon 07:00"},
    };
    lt_calendar *c = lt_calendar_new();
    expect_due(c, cases, sizeof(cases) / sizeof(cases[0]));
    lt_calendar_destroy(&c);
}

static void test_holidays(void **state)
{
    (void)state;
    lt_calendar *c = shipped();
    /* 2024-05-04 is a compensatory Saturday; 2024-04-29 a swapped Monday. */
    assert_true(lt_calendar_is_working_day(c, lt_calendar_days(2024, 5, 4)));
    assert_false(lt_calendar_is_working_day(c, lt_calendar_days(2024, 4, 29)));
    assert_false(lt_calendar_is_working_day(c, lt_calendar_days(2027, 2, 10)));
    assert_true(lt_calendar_is_working_day(c, lt_calendar_days(2025, 4, 29)));
    static const due_case cases[] = {
        {"20250425140000", 1, LT_CAL_WORKING_DAY, "20250426140000",
         "Fri 2025-04-25 14:00 + 1 day: 3 h Friday, then Sat 26/4 is worked (compensatory) -> "
         "5 h more -> Sat 14:00"},
        {"20250429090000", 1, LT_CAL_WORKING_DAY, "20250505090000",
         "Tue 2025-04-29 09:00 + 1 day: 30/4, 1/5, 2/5 off, 3-4/5 weekend -> Mon 5/5 09:00"},
        {"20260213100000", 2, LT_CAL_WORKING_DAY, "20260224100000",
         "Fri 2026-02-13 10:00 + 2 days: 5 h Friday, Tết 16-20/2, 8 h + 3 h from Mon 23/2 -> "
         "Tue 24/2 10:00"},
    };
    expect_due(c, cases, sizeof(cases) / sizeof(cases[0]));
    /* The same receipt without the table ends Tue 17/2 10:00. */
    static const due_case plain_case[] = {
        {"20260213100000", 2, LT_CAL_WORKING_DAY, "20260217100000", "without the holidays"}};
    lt_calendar *plain = lt_calendar_new();
    expect_due(plain, plain_case, 1);
    lt_calendar_destroy(&plain);
    lt_calendar_destroy(&c);
}

static void test_elapsed_and_pause(void **state)
{
    (void)state;
    lt_calendar *c = lt_calendar_new();
    /* Mon 09:00 -> Tue 09:00 is one working day. */
    assert_int_equal(lt_calendar_working_between(c, T("20250303090000"), T("20250304090000")),
                     8 * 3600);
    /* Fri 16:00 -> Mon 08:00: 1 h Friday, 1 h Monday. */
    assert_int_equal(lt_calendar_working_between(c, T("20250307160000"), T("20250310080000")),
                     2 * 3600);
    assert_int_equal(lt_calendar_working_between(c, T("20250310080000"), T("20250307160000")), 0);
    /* A supplement requested Mon 09:00, completed Mon 16:00 (2.5 h + 2.5 h
     * paused): a due date of Tue 10:00 moves by 5 h -> Tue 17:00. */
    assert_instant(
        lt_calendar_pause(c, T("20250304100000"), T("20250303090000"), T("20250303160000")),
        "20250304170000");
    /* Due at 17:00 plus 1 h: next working morning 08:00. */
    assert_instant(lt_calendar_add_working(c, T("20250304170000"), 3600), "20250305080000");
    /* A pause entirely outside working hours moves nothing. */
    assert_instant(
        lt_calendar_pause(c, T("20250304100000"), T("20250308090000"), T("20250309160000")),
        "20250304100000");
    lt_calendar_destroy(&c);
}

static void test_configuration(void **state)
{
    (void)state;
    lt_calendar *c = lt_calendar_new();
    char err[256];
    assert_int_equal(lt_calendar_set_hours(c, "08:00-12:00,13:00-17:00", err, sizeof(err)), 0);
    /* Mon 10:00 + 1 day: 2 h + 4 h Monday, 2 h Tuesday -> 10:00. */
    assert_instant(lt_calendar_due(c, T("20250303100000"), 1, LT_CAL_WORKING_DAY),
                   "20250304100000");
    assert_int_equal(lt_calendar_set_hours(c, "13:00-12:00", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "segment 1"));
    assert_int_equal(lt_calendar_set_hours(c, "08:00-12:00,11:00-17:00", err, sizeof(err)), -1);
    assert_int_equal(lt_calendar_set_hours(c, "8-12", err, sizeof(err)), -1);
    assert_int_equal(lt_calendar_day_length(c), 8 * 3600); /* unchanged by refusals */

    json_t *bad = json_pack("{s:[{s:s}]}", "days_off", "date", "2025-02-30");
    assert_int_equal(lt_calendar_load_json(c, bad, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "days_off[0]"));
    json_decref(bad);
    json_t *good =
        json_pack("{s:[s], s:[s]}", "days_off", "2025-03-04", "working_days", "2025-03-08");
    assert_int_equal(lt_calendar_load_json(c, good, err, sizeof(err)), 0);
    json_decref(good);
    assert_false(lt_calendar_is_working_day(c, lt_calendar_days(2025, 3, 4)));
    assert_true(lt_calendar_is_working_day(c, lt_calendar_days(2025, 3, 8)));

    lt_calendar_unit u;
    assert_int_equal(lt_calendar_unit_parse("Ngày làm việc", &u), 0);
    assert_int_equal(u, LT_CAL_WORKING_DAY);
    assert_int_equal(lt_calendar_unit_parse("Giờ", &u), 0);
    assert_int_equal(u, LT_CAL_HOUR);
    assert_int_equal(lt_calendar_unit_parse("Ngày", &u), 0);
    assert_int_equal(u, LT_CAL_DAY);
    assert_int_equal(lt_calendar_unit_parse("Tháng", &u), -1);
    lt_calendar_destroy(&c);
    lt_calendar_destroy(&c); /* NULL is fine */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_format),      cmocka_unit_test(test_working_days),
        cmocka_unit_test(test_hours_and_days),    cmocka_unit_test(test_holidays),
        cmocka_unit_test(test_elapsed_and_pause), cmocka_unit_test(test_configuration),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
