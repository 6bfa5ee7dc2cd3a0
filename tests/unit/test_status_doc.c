/* Unit tests for the status model: lt_stats (counters, histogram,
 * quantiles) and lt_status_doc (a destination's state from its numbers, the
 * thresholds that decide `healthy`, the document without a database or a
 * process part, URLs without credentials, and the Prometheus text). The
 * database part is written by hand in the shape lt_status_doc() answers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lt_stats.h"
#include "lt_status_doc.h"

static const lt_statusdoc_limits limits = {
    .max_backlog_age_ms = 600000, .max_dead_letters = 100, .down_failures = 2};

/* One destination row as lt_status_doc() writes it; extra is spliced in
 * last and overrides. */
static char *dest_row(const char *name, const char *url, const char *extra)
{
    char *out = NULL;
    const char *fmt =
        "{\"name\":\"%s\",\"kind\":\"portal\",\"unit\":null,\"url\":%s,\"circuit\":\"closed\","
        "\"pending\":0,\"inflight\":0,\"retrying\":0,\"unrouted\":0,\"dead_letters\":0,"
        "\"failures\":0,\"oldest_pending_age_s\":null,\"last_success_at\":null,"
        "\"last_error\":null,\"last_error_at\":null,\"failing\":false,\"delivered_per_min\":0%s%s}";
    size_t n = strlen(fmt) + strlen(name) + strlen(url) + strlen(extra) + 2;
    out = malloc(n);
    assert_non_null(out);
    snprintf(out, n, fmt, name, url, *extra ? "," : "", extra);
    return out;
}

static json_t *state_doc(const char *rows)
{
    char db[8192];
    snprintf(db, sizeof(db),
             "{\"now\":\"2026-11-27T14:00:00.5+07:00\",\"destinations\":[%s],\"senders\":"
             "[{\"unit\":\"244\",\"last_record_at\":\"2026-11-27T13:59:00+07:00\","
             "\"records_today\":20,\"rejects_today\":1}],"
             "\"catalog\":{\"version\":7,\"published\":4,\"abolished\":1,\"total\":6,"
             "\"last_run\":{\"id\":3,\"source\":\"https://u:pw@catalog.example/api?key=k\","
             "\"started_at\":\"2026-11-27T13:00:00+07:00\",\"finished_at\":null,"
             "\"outcome\":\"ok\"}},\"last_sequence\":40,\"routed_sequence\":35,"
             "\"gateways_live\":2}",
             rows);
    json_t *doc = lt_statusdoc_build(db, NULL, NULL, &limits);
    assert_non_null(doc);
    return doc;
}

static const char *state_of(const json_t *doc, const char *name)
{
    size_t i;
    json_t *d;
    json_array_foreach(json_object_get(doc, "destinations"), i, d)
    {
        if (strcmp(json_string_value(json_object_get(d, "name")), name) == 0)
            return json_string_value(json_object_get(d, "state"));
    }
    return NULL;
}

static bool has_problem(const json_t *doc, const char *what, const char *dest)
{
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(doc, "problems"), i, p)
    {
        const char *d = json_string_value(json_object_get(p, "destination"));
        if (strcmp(json_string_value(json_object_get(p, "what")), what) == 0 &&
            (!dest || (d && strcmp(d, dest) == 0)))
            return true;
    }
    return false;
}

static void test_states_and_thresholds(void **state)
{
    (void)state;
    char *r[8];
    r[0] = dest_row("a-up", "\"http://a\"", "\"pending\":3,\"oldest_pending_age_s\":2.5");
    r[1] = dest_row("b-unconfigured", "null", "\"unrouted\":4");
    r[2] = dest_row("c-circuit", "\"http://c\"", "\"circuit\":\"open\"");
    r[3] = dest_row("d-down", "\"http://d\"",
                    "\"failing\":true,\"failures\":2,\"retrying\":5,\"last_error\":\"HTTP 503\"");
    r[4] = dest_row("e-one-failure", "\"http://e\"", "\"failing\":true,\"failures\":1");
    r[5] = dest_row("f-old-backlog", "\"http://f\"", "\"pending\":1,\"oldest_pending_age_s\":601");
    r[6] = dest_row("g-dead", "\"http://g\"", "\"dead_letters\":101");
    r[7] = dest_row("h-retrying-recovered", "\"http://h\"", "\"retrying\":2,\"failures\":9");
    char rows[6000] = "";
    for (int i = 0; i < 8; i++) {
        strncat(rows, r[i], sizeof(rows) - strlen(rows) - 2);
        if (i < 7)
            strncat(rows, ",", sizeof(rows) - strlen(rows) - 1);
        free(r[i]);
    }
    json_t *doc = state_doc(rows);
    assert_string_equal(state_of(doc, "a-up"), "up");
    assert_string_equal(state_of(doc, "b-unconfigured"), "unconfigured");
    assert_string_equal(state_of(doc, "c-circuit"), "circuit_open");
    assert_string_equal(state_of(doc, "d-down"), "down");
    assert_string_equal(state_of(doc, "e-one-failure"), "degraded");
    assert_string_equal(state_of(doc, "f-old-backlog"), "degraded");
    assert_string_equal(state_of(doc, "g-dead"), "up");
    /* Retries waiting, but the newest outcome is a success: degraded, not down. */
    assert_string_equal(state_of(doc, "h-retrying-recovered"), "degraded");
    assert_false(json_is_true(json_object_get(doc, "healthy")));
    assert_true(has_problem(doc, "destination_down", "d-down"));
    assert_true(has_problem(doc, "circuit_open", "c-circuit"));
    assert_true(has_problem(doc, "backlog_age", "f-old-backlog"));
    assert_true(has_problem(doc, "dead_letters", "g-dead"));
    assert_false(has_problem(doc, "destination_down", "e-one-failure"));
    assert_int_equal(json_array_size(json_object_get(doc, "problems")), 4);
    /* Backlog = pending + inflight + retrying; unrouted apart. */
    json_t *d = json_array_get(json_object_get(doc, "destinations"), 3);
    assert_int_equal(json_integer_value(json_object_get(d, "backlog")), 5);
    json_t *b = json_array_get(json_object_get(doc, "destinations"), 1);
    assert_int_equal(json_integer_value(json_object_get(b, "backlog")), 0);
    assert_int_equal(json_integer_value(json_object_get(b, "unrouted")), 4);
    assert_true(json_is_null(json_object_get(b, "url")));
    /* Shared numbers pass through; the catalog source loses its credentials. */
    json_t *cat = json_object_get(doc, "catalog");
    assert_int_equal(json_integer_value(json_object_get(cat, "version")), 7);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(cat, "procedures"), "unpublished")), 1);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(cat, "last_run"), "source")),
        "https://catalog.example/api");
    json_t *db = json_object_get(doc, "database");
    assert_int_equal(json_integer_value(json_object_get(db, "routing_lag_events")), 5);
    assert_true(json_is_null(json_object_get(db, "writer_lag_s")));
    assert_string_equal(json_string_value(json_object_get(doc, "generated_at")),
                        "2026-11-27T14:00:00.5+07:00");
    json_decref(doc);
}

static void test_healthy_when_all_up(void **state)
{
    (void)state;
    char *r = dest_row("portal", "\"http://p\"", "\"failing\":false,\"failures\":0");
    json_t *doc = state_doc(r);
    free(r);
    assert_true(json_is_true(json_object_get(doc, "healthy")));
    assert_int_equal(json_array_size(json_object_get(doc, "problems")), 0);
    json_decref(doc);
}

static void test_without_database_or_process(void **state)
{
    (void)state;
    json_t *doc = lt_statusdoc_build(NULL, "connection refused", NULL, &limits);
    assert_non_null(doc);
    assert_false(json_is_true(json_object_get(doc, "healthy")));
    assert_true(has_problem(doc, "database_unreachable", NULL));
    assert_true(json_is_null(json_object_get(doc, "instance")));
    json_t *db = json_object_get(doc, "database");
    assert_false(json_is_true(json_object_get(db, "reachable")));
    assert_string_equal(json_string_value(json_object_get(db, "error")), "connection refused");
    json_t *in = json_object_get(doc, "ingress");
    assert_string_equal(json_string_value(json_object_get(in, "scope")), "none");
    assert_int_equal(json_integer_value(json_object_get(in, "records_total")), 0);
    assert_true(json_is_null(json_object_get(json_object_get(in, "latency_ms"), "p50")));
    assert_int_equal(json_array_size(json_object_get(doc, "destinations")), 0);
    assert_true(json_is_null(json_object_get(json_object_get(doc, "catalog"), "last_run")));
    /* Metrics of such a document still parse as samples, without process ones. */
    char *m = lt_statusdoc_metrics(doc, NULL);
    assert_non_null(m);
    assert_non_null(strstr(m, "\nlienthong_database_up 0\n"));
    assert_non_null(strstr(m, "\nlienthong_healthy 0\n"));
    assert_null(strstr(m, "lienthong_ingest_records_total"));
    free(m);
    json_decref(doc);
}

static void test_safe_url(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"https://user:pa@ss@portal.example:8443/api/v1?token=x#f",
         "https://portal.example:8443/api/v1"},
        {"http://127.0.0.1:8080", "http://127.0.0.1:8080"},
        {"http://h/p?q", "http://h/p"},
        {"file:/var/export.json", "file:/var/export.json"},
        {"", ""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *s = lt_statusdoc_safe_url(cases[i][0]);
        assert_non_null(s);
        assert_string_equal(s, cases[i][1]);
        free(s);
    }
    assert_null(lt_statusdoc_safe_url(NULL));
}

static void test_stats_and_process_part(void **state)
{
    (void)state;
    lt_stats_reset();
    lt_stats_snap s;
    lt_stats_snapshot(&s);
    assert_false(s.serving);
    assert_int_equal(lt_stats_quantile_ms(&s, 0.5), -1);
    lt_stats_start();
    lt_stats_record_word("accepted");
    lt_stats_record_word("accepted");
    lt_stats_record_word("duplicate");
    lt_stats_record_word("stale");
    lt_stats_record_word("rejected");
    lt_stats_record_word(NULL);
    /* 0 and 1 ms in le=0.001; 3 in le=0.005; 40 in le=0.05; 10 s in le=10. */
    lt_stats_request(0);
    lt_stats_request(1);
    lt_stats_request(3);
    lt_stats_request(40);
    lt_stats_request(10000);
    lt_stats_request(-5);
    lt_stats_snapshot(&s);
    assert_true(s.serving);
    assert_int_equal(s.results[LT_STATS_ACCEPTED], 2);
    assert_int_equal(s.results[LT_STATS_DUPLICATE], 1);
    assert_int_equal(s.results[LT_STATS_STALE], 1);
    assert_int_equal(s.results[LT_STATS_REJECTED], 2);
    assert_int_equal(s.requests, 6);
    assert_int_equal(s.latency_count, 6);
    assert_int_equal(s.latency_sum_ms, 10044);
    assert_int_equal(s.buckets[0], 3); /* le 1 ms: -5 (as 0), 0, 1 */
    assert_int_equal(s.buckets[2], 4); /* le 5 ms */
    assert_int_equal(s.buckets[5], 5); /* le 50 ms */
    assert_int_equal(s.buckets[12], 6);
    assert_int_equal(s.buckets[LT_STATS_NBUCKETS], 6);
    assert_int_equal(lt_stats_quantile_ms(&s, 0.5), 1);
    assert_int_equal(lt_stats_quantile_ms(&s, 0.9), 10000);
    lt_stats_writer_busy(1);
    lt_stats_snapshot(&s);
    assert_true(s.writer_lag_ms > 0);
    lt_stats_writer_busy(0);
    lt_stats_snapshot(&s);
    assert_int_equal(s.writer_lag_ms, 0);

    char *r = dest_row("portal", "\"http://p\"",
                       "\"failing\":true,\"failures\":5,\"retrying\":7,\"pending\":1,"
                       "\"oldest_pending_age_s\":12.5");
    char db[4096];
    snprintf(db, sizeof(db),
             "{\"now\":\"2026-11-27T14:00:00+07:00\",\"destinations\":[%s],\"senders\":[{\"unit\":"
             "\"a\\\"b\",\"last_record_at\":null,\"records_today\":3,\"rejects_today\":0}],"
             "\"catalog\":{\"version\":null,\"published\":0,\"abolished\":0,\"total\":0,"
             "\"last_run\":null},\"last_sequence\":0,\"routed_sequence\":0,\"gateways_live\":1}",
             r);
    free(r);
    json_t *doc = lt_statusdoc_build(db, NULL, &s, &limits);
    assert_non_null(doc);
    json_t *inst = json_object_get(doc, "instance");
    assert_true(json_is_object(inst));
    assert_true(json_integer_value(json_object_get(inst, "pid")) > 0);
    json_t *in = json_object_get(doc, "ingress");
    assert_string_equal(json_string_value(json_object_get(in, "scope")), "process");
    assert_int_equal(json_integer_value(json_object_get(in, "records_total")), 6);
    assert_int_equal(json_integer_value(json_object_get(in, "rejected_total")), 2);
    assert_true(json_real_value(json_object_get(json_object_get(in, "latency_ms"), "p50")) == 1.0);

    char *m = lt_statusdoc_metrics(doc, &s);
    assert_non_null(m);
    static const char *const want[] = {
        "\nlienthong_destination_state{destination=\"portal\",kind=\"portal\",state=\"down\"} 1\n",
        "\nlienthong_destination_state{destination=\"portal\",kind=\"portal\",state=\"up\"} 0\n",
        "\nlienthong_destination_backlog{destination=\"portal\",kind=\"portal\"} 8\n",
        "\nlienthong_destination_oldest_pending_age_seconds{destination=\"portal\",kind="
        "\"portal\"} 12.5\n",
        "\nlienthong_sender_records_today{unit=\"a\\\"b\"} 3\n",
        "\nlienthong_ingest_records_total{result=\"accepted\"} 2\n",
        "\nlienthong_ingest_records_total{result=\"rejected\"} 2\n",
        "# TYPE lienthong_ingest_request_duration_seconds histogram\n",
        "\nlienthong_ingest_request_duration_seconds_bucket{le=\"0.001\"} 3\n",
        "\nlienthong_ingest_request_duration_seconds_bucket{le=\"0.005\"} 4\n",
        "\nlienthong_ingest_request_duration_seconds_bucket{le=\"+Inf\"} 6\n",
        "\nlienthong_ingest_request_duration_seconds_sum 10.044\n",
        "\nlienthong_ingest_request_duration_seconds_count 6\n",
        "\nlienthong_healthy 0\n",
        "\nlienthong_catalog_version 0\n",
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        if (!strstr(m, want[i]))
            fail_msg("metrics lack [%s] in:\n%s", want[i], m);
    free(m);
    json_decref(doc);
    lt_stats_reset();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_states_and_thresholds),
        cmocka_unit_test(test_healthy_when_all_up),
        cmocka_unit_test(test_without_database_or_process),
        cmocka_unit_test(test_safe_url),
        cmocka_unit_test(test_stats_and_process_part),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
