/* Unit tests for lt_status: the status table, the legal-move rule and the
 * recency judgement, case by case as DOMAIN.md and DESIGN.md state them.
 * Records are built from a small template so each case shows only what
 * differs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lt_status.h"

/* A record with status st, received at recv ("" = unknown) and n history
 * entries, the i-th processed at 2024103108000i (two minutes apart). */
static json_t *rec(const char *st, const char *recv, size_t n)
{
    json_t *r =
        json_pack("{s:s, s:s, s:s, s:s, s:s}", "MaHoSo", "000.00.06.H56-231027-0361", "MaTTHC",
                  "2.000908", "TrangThaiHoSo", st, "KenhThucHien", "2", "NgayTiepNhan", recv);
    assert_non_null(r);
    json_t *h = json_array();
    for (size_t i = 0; i < n; i++) {
        char t[16];
        snprintf(t, sizeof(t), "202410310%d%02d00", 8, (int)(2 * i));
        json_array_append_new(h, json_pack("{s:s, s:s}", "ThoiDiemXuLy", t, "TrangThai", st));
    }
    json_object_set_new(r, "QuaTrinhXuLy", h);
    return r;
}

static lt_status_judgement judge(const json_t *stored, const json_t *incoming)
{
    lt_status_judgement j;
    assert_int_equal(lt_status_judge(stored, incoming, &j), 0);
    return j;
}

static void test_table(void **state)
{
    (void)state;
    int terminals[] = {3, 7, 8, 10};
    size_t nt = 0;
    for (int c = LT_STATUS_MIN; c <= LT_STATUS_MAX; c++) {
        const lt_status_info *s = lt_status_get(c);
        assert_non_null(s);
        assert_int_equal(s->code, c);
        assert_true(strlen(s->label) > 0);
        if (s->terminal) {
            assert_true(nt < 4);
            assert_int_equal(terminals[nt++], c);
        }
    }
    assert_int_equal(nt, 4);
    assert_null(lt_status_get(0));
    assert_null(lt_status_get(11));
    assert_string_equal(lt_status_label(10), "Đã trả kết quả");
    assert_string_equal(lt_status_label(42), "?");
}

static void test_parse(void **state)
{
    (void)state;
    const char *good[] = {"1", "2", "3", "4", "5", "6", "7", "8", "9", "10"};
    for (int i = 0; i < 10; i++) {
        json_t *v = json_string(good[i]);
        assert_int_equal(lt_status_parse(v), i + 1);
        json_decref(v);
    }
    const char *bad[] = {"", "0", "11", "01", " 1", "+1", "1 ", "-1", "1a", "100"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *v = json_string(bad[i]);
        assert_int_equal(lt_status_parse(v), 0);
        json_decref(v);
    }
    json_t *num = json_integer(4);
    assert_int_equal(lt_status_parse(num), 0); /* numbers travel as strings */
    json_decref(num);
    assert_int_equal(lt_status_parse(NULL), 0);
}

static void test_seen_moves_legal(void **state)
{
    (void)state;
    size_t n;
    const lt_status_move *m = lt_status_seen_moves(&n);
    assert_int_equal(n, 17);
    for (size_t i = 0; i < n; i++) {
        char why[160] = "";
        if (!lt_status_move_legal(m[i].from, m[i].to, why, sizeof(why)))
            fail_msg("seen move %d -> %d refused: %s", m[i].from, m[i].to, why);
    }
}

static void test_move_rule_whole_grid(void **state)
{
    (void)state;
    for (int from = 1; from <= 10; from++) {
        for (int to = 1; to <= 10; to++) {
            char why[192] = "";
            bool legal = lt_status_move_legal(from, to, why, sizeof(why));
            bool terminal = from == 3 || from == 7 || from == 8 || from == 10;
            assert_int_equal(legal, !terminal || from == to);
            if (!legal) {
                char a[8], b[8];
                snprintf(a, sizeof(a), "%d", from);
                snprintf(b, sizeof(b), "%d", to);
                assert_non_null(strstr(why, a));
                assert_non_null(strstr(why, b));
                assert_non_null(strstr(why, "terminal"));
            }
        }
        /* First record: any status. */
        assert_true(lt_status_move_legal(0, from, NULL, 0));
    }
    char why[128];
    assert_false(lt_status_move_legal(4, 11, why, sizeof(why)));
    assert_non_null(strstr(why, "11"));
    assert_false(lt_status_move_legal(0, 0, NULL, 0));
}

static void test_recency_key(void **state)
{
    (void)state;
    json_t *r = rec("4", "20241030100000", 3);
    lt_status_recency k;
    lt_status_recency_of(r, &k);
    assert_string_equal(k.latest, "20241031080400");
    assert_int_equal(k.history_len, 3);
    /* A status date later than the history wins. */
    json_object_set_new(r, "NgayTuChoi", json_string("20241101090000"));
    lt_status_recency_of(r, &k);
    assert_string_equal(k.latest, "20241101090000");
    /* NgayHenTra (a promise) and NgayNopHoSo do not count; "" is unknown. */
    json_object_set_new(r, "NgayHenTra", json_string("20251231170000"));
    json_object_set_new(r, "NgayTra", json_string(""));
    lt_status_recency_of(r, &k);
    assert_string_equal(k.latest, "20241101090000");
    json_decref(r);

    r = json_pack("{s:s}", "TrangThaiHoSo", "1");
    lt_status_recency_of(r, &k);
    assert_string_equal(k.latest, "");
    assert_int_equal(k.history_len, 0);
    json_decref(r);
}

static void test_same_record_duplicate(void **state)
{
    (void)state;
    json_t *a = rec("4", "20241030100000", 2);
    /* The same content with its keys in another order is the same record. */
    json_t *b = json_object();
    const char *keys[] = {"QuaTrinhXuLy",  "NgayTiepNhan", "KenhThucHien",
                          "TrangThaiHoSo", "MaTTHC",       "MaHoSo"};
    for (size_t i = 0; i < 6; i++)
        json_object_set(b, keys[i], json_object_get(a, keys[i]));
    lt_status_judgement j = judge(a, b);
    assert_int_equal(j.verdict, LT_JUDGE_DUPLICATE);
    assert_string_equal(lt_status_verdict_name(j.verdict), "duplicate");
    json_decref(a);
    json_decref(b);
}

static void test_older_stale(void **state)
{
    (void)state;
    json_t *stored = rec("4", "20241030100000", 3);
    json_t *older = rec("4", "20241030100000", 2);
    lt_status_judgement j = judge(stored, older);
    assert_int_equal(j.verdict, LT_JUDGE_STALE);
    assert_string_equal(lt_status_verdict_name(j.verdict), "stale");
    json_decref(older);
    /* Older by date, even with a longer history. */
    older = rec("4", "20241029100000", 0);
    json_t *st2 = rec("2", "20241030100000", 0);
    j = judge(st2, older);
    assert_int_equal(j.verdict, LT_JUDGE_STALE);
    json_decref(st2);
    json_decref(older);
    json_decref(stored);
}

static void test_correction_same_point(void **state)
{
    (void)state;
    json_t *stored = rec("4", "20241030100000", 2);
    json_t *fixed = rec("4", "20241030100000", 2);
    json_object_set_new(fixed, "TrichYeuHoSo", json_string("Đăng ký khai sinh (sửa)"));
    lt_status_judgement j = judge(stored, fixed);
    assert_int_equal(j.verdict, LT_JUDGE_ACCEPT);
    assert_true(j.correction);
    assert_int_equal(j.from, 4);
    assert_int_equal(j.to, 4);
    json_decref(fixed);
    /* A correction that changes the status meets the machine too. */
    fixed = rec("5", "20241030100000", 2);
    j = judge(stored, fixed);
    assert_int_equal(j.verdict, LT_JUDGE_ACCEPT);
    assert_true(j.correction);
    json_decref(fixed);
    json_decref(stored);
}

static void test_every_seen_transition_accepted(void **state)
{
    (void)state;
    size_t n;
    const lt_status_move *m = lt_status_seen_moves(&n);
    for (size_t i = 0; i < n; i++) {
        char f[4], t[4];
        snprintf(f, sizeof(f), "%d", m[i].from);
        snprintf(t, sizeof(t), "%d", m[i].to);
        json_t *stored = rec(f, "20241030100000", 1);
        json_t *next = rec(t, "20241030100000", 2);
        lt_status_judgement j = judge(stored, next);
        if (j.verdict != LT_JUDGE_ACCEPT)
            fail_msg("%d -> %d: %s", m[i].from, m[i].to, j.reason);
        assert_false(j.correction);
        assert_int_equal(j.from, m[i].from);
        assert_int_equal(j.to, m[i].to);
        json_decref(stored);
        json_decref(next);
    }
}

static void test_skipping_forward(void **state)
{
    (void)state;
    int pairs[][2] = {{1, 4}, {1, 9}, {1, 10}, {2, 10}, {1, 8}, {2, 5}, {5, 9}};
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        char f[4], t[4];
        snprintf(f, sizeof(f), "%d", pairs[i][0]);
        snprintf(t, sizeof(t), "%d", pairs[i][1]);
        json_t *stored = rec(f, "", 0);
        json_t *next = rec(t, "20241030100000", 0);
        assert_int_equal(judge(stored, next).verdict, LT_JUDGE_ACCEPT);
        json_decref(stored);
        json_decref(next);
    }
}

static void test_newer_same_status(void **state)
{
    (void)state;
    json_t *stored = rec("4", "20241030100000", 1);
    json_t *next = rec("4", "20241030100000", 2);
    lt_status_judgement j = judge(stored, next);
    assert_int_equal(j.verdict, LT_JUDGE_ACCEPT);
    assert_false(j.correction);
    json_decref(stored);
    json_decref(next);
    /* Staying in a terminal status is not leaving it. */
    stored = rec("10", "20241030100000", 1);
    next = rec("10", "20241030100000", 2);
    assert_int_equal(judge(stored, next).verdict, LT_JUDGE_ACCEPT);
    json_decref(stored);
    json_decref(next);
}

static void test_first_record_any_status(void **state)
{
    (void)state;
    for (int s = 1; s <= 10; s++) {
        char t[4];
        snprintf(t, sizeof(t), "%d", s);
        json_t *r = rec(t, "", 0);
        lt_status_judgement j = judge(NULL, r);
        assert_int_equal(j.verdict, LT_JUDGE_ACCEPT);
        assert_int_equal(j.from, 0);
        assert_int_equal(j.to, s);
        json_decref(r);
    }
}

static void test_leaving_terminal_refused(void **state)
{
    (void)state;
    int terminals[] = {3, 7, 8, 10};
    for (size_t i = 0; i < 4; i++) {
        for (int to = 1; to <= 10; to++) {
            if (to == terminals[i])
                continue;
            char f[4], t[4];
            snprintf(f, sizeof(f), "%d", terminals[i]);
            snprintf(t, sizeof(t), "%d", to);
            json_t *stored = rec(f, "20241030100000", 1);
            json_t *next = rec(t, "20241030100000", 2);
            lt_status_judgement j = judge(stored, next);
            assert_int_equal(j.verdict, LT_JUDGE_ILLEGAL);
            assert_string_equal(lt_status_verdict_name(j.verdict), "rejected");
            assert_int_equal(j.from, terminals[i]);
            assert_int_equal(j.to, to);
            char want[32];
            snprintf(want, sizeof(want), "%s → %s", f, t);
            assert_non_null(strstr(j.reason, want));
            /* The same move as a correction at the same point: still 409. */
            json_decref(next);
            next = rec(t, "20241030100000", 1);
            j = judge(stored, next);
            assert_int_equal(j.verdict, LT_JUDGE_ILLEGAL);
            assert_true(j.correction);
            json_decref(stored);
            json_decref(next);
        }
    }
}

static void test_stale_beats_illegal(void **state)
{
    (void)state;
    /* Stored: handed over (10). A late 4 from before is stale, not 409. */
    json_t *stored = rec("10", "20241030100000", 3);
    json_t *late = rec("4", "20241030100000", 1);
    lt_status_judgement j = judge(stored, late);
    assert_int_equal(j.verdict, LT_JUDGE_STALE);
    json_decref(late);
    /* And a record identical to a terminal one is a duplicate. */
    late = json_deep_copy(stored);
    assert_int_equal(judge(stored, late).verdict, LT_JUDGE_DUPLICATE);
    json_decref(late);
    json_decref(stored);
}

static void test_no_dates_at_all(void **state)
{
    (void)state;
    json_t *a = rec("1", "", 0);
    /* First record without any date. */
    assert_int_equal(judge(NULL, a).verdict, LT_JUDGE_ACCEPT);
    /* Same key (none, 0 entries), other content: a correction. */
    json_t *b = rec("1", "", 0);
    json_object_set_new(b, "TenTTHC", json_string("Đăng ký khai sinh"));
    lt_status_judgement j = judge(a, b);
    assert_int_equal(j.verdict, LT_JUDGE_ACCEPT);
    assert_true(j.correction);
    /* Any dated record is newer than an undated one, and not the reverse. */
    json_t *c = rec("2", "20241030100000", 0);
    assert_int_equal(judge(a, c).verdict, LT_JUDGE_ACCEPT);
    assert_int_equal(judge(c, a).verdict, LT_JUDGE_STALE);
    json_decref(a);
    json_decref(b);
    json_decref(c);
}

static void test_history_length_tie_breaker(void **state)
{
    (void)state;
    /* Same latest time (a status date later than every entry), one more
     * entry: newer. One fewer: stale. */
    json_t *a = rec("4", "20241101100000", 2);
    json_t *b = rec("4", "20241101100000", 3);
    lt_status_recency ka, kb;
    lt_status_recency_of(a, &ka);
    lt_status_recency_of(b, &kb);
    assert_string_equal(ka.latest, kb.latest);
    assert_true(lt_status_recency_cmp(&ka, &kb) < 0);
    assert_int_equal(judge(a, b).verdict, LT_JUDGE_ACCEPT);
    assert_int_equal(judge(b, a).verdict, LT_JUDGE_STALE);
    json_decref(a);
    json_decref(b);
}

static void test_unreadable_status(void **state)
{
    (void)state;
    json_t *stored = rec("4", "20241030100000", 1);
    json_t *bad = rec("4", "20241030100000", 2);
    json_object_set_new(bad, "TrangThaiHoSo", json_integer(5));
    lt_status_judgement j;
    assert_int_equal(lt_status_judge(stored, bad, &j), -1);
    assert_non_null(strstr(j.reason, "TrangThaiHoSo"));
    assert_int_equal(lt_status_judge(NULL, bad, &j), -1);
    json_t *arr = json_array();
    assert_int_equal(lt_status_judge(stored, arr, &j), -1);
    json_decref(arr);
    json_decref(bad);
    json_decref(stored);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_seen_moves_legal),
        cmocka_unit_test(test_move_rule_whole_grid),
        cmocka_unit_test(test_recency_key),
        cmocka_unit_test(test_same_record_duplicate),
        cmocka_unit_test(test_older_stale),
        cmocka_unit_test(test_correction_same_point),
        cmocka_unit_test(test_every_seen_transition_accepted),
        cmocka_unit_test(test_skipping_forward),
        cmocka_unit_test(test_newer_same_status),
        cmocka_unit_test(test_first_record_any_status),
        cmocka_unit_test(test_leaving_terminal_refused),
        cmocka_unit_test(test_stale_beats_illegal),
        cmocka_unit_test(test_no_dates_at_all),
        cmocka_unit_test(test_history_length_tie_breaker),
        cmocka_unit_test(test_unreadable_status),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
