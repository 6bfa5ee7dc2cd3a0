/* lt_reportd: the on-time report's own actor (see lt_reportd.h).
 *
 * Why not the reader: a province's year takes seconds (2-10 s on a loaded
 * machine, tests/bench/RESULTS.md), and the reader runs one query at a time
 * on one connection, so every dossier read, status and catalog page waited
 * behind it; and the reads' 5 s limit made a long report fail. Here
 * reports have their own connection and their own limit (report.timeout),
 * and the reader never sees one. One report at a time keeps the load a
 * public route can put on the database to one statement; a few more wait
 * (their wait counts against their own limit) and the rest are refused at
 * once, since a long queue would only turn into a row of 504s.
 *
 * A report is two steps on the connection: set statement_timeout to what
 * is left of its time (so the database, not a dropped connection, ends an
 * overlong statement, and the answer can say which limit), then
 * LT_REPORT_SQL; lt_report_build turns the rows into the answer. The
 * queue, the connection and the actor's loop are lt_callq's. */
#include "lt_reportd.h"
#include "lt_callq.h"
#include "lt_log.h"
#include "lt_loop.h"
#include "lt_report.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The client-side deadline beyond the statement_timeout: only for a server
 * that does not answer its own cancel (lt_pgconn then drops the link). */
#define BACKSTOP_MS 2000

/* SQLSTATE query_canceled: what statement_timeout raises. */
#define SQLSTATE_CANCELED "57014"

/* ---- pure parts ------------------------------------------------------------ */

int64_t lt_reportd_remaining(int64_t arrived_ms, int64_t now_ms, int64_t limit_ms)
{
    int64_t left = arrived_ms + limit_ms - now_ms;
    return left > 0 ? left : 0;
}

static void error_body(const char *code, const char *message, char *body, size_t cap)
{
    json_t *j = json_pack("{s:{s:s, s:s}}", "error", "code", code, "message", message);
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    snprintf(body, cap, "%s", text ? text : "{}");
    free(text);
    json_decref(j);
}

int lt_reportd_failure(const char *sqlstate, int64_t limit_ms, char *body, size_t cap)
{
    char msg[256];
    if (sqlstate && strcmp(sqlstate, SQLSTATE_CANCELED) == 0) {
        bool whole = limit_ms % 1000 == 0;
        snprintf(msg, sizeof(msg),
                 "the report took longer than report.timeout (%" PRId64
                 " %s); ask for a shorter period or one unit, or raise report.timeout",
                 whole ? limit_ms / 1000 : limit_ms, whole ? "s" : "ms");
        error_body("timeout", msg, body, cap);
        return 504;
    }
    if (!sqlstate) {
        error_body("not_ready", "the database connection was lost during the report; try again",
                   body, cap);
        return 503;
    }
    error_body("internal", "the database could not be read", body, cap);
    return 500;
}

/* ---- the actor ------------------------------------------------------------- */

typedef struct {
    lt_report_query q; /* the report asked for */
    int64_t arrived;   /* lt_loop_now_ms when it came: its time counts from here */
    int64_t now;       /* the report's clock, the same for statement and build */
    bool timeout_set;  /* step one (statement_timeout) is done */
} request;

static void answer_failure(lt_callq *q, const char *sqlstate)
{
    char body[512];
    int status =
        lt_reportd_failure(sqlstate, lt_callq_config(q)->report.timeout_ms, body, sizeof(body));
    lt_callq_answer(q, status, body);
}

/* The calendar is read for each report (a small file), so an edited
 * holiday table counts at the next call. */
static void answer_report(lt_callq *q, const request *req, const PGresult *r)
{
    char err[512] = "";
    if (lt_report_unknown_unit(r)) {
        lt_callq_answer_error(q, 404, "not_found", "no such unit");
        return;
    }
    lt_calendar *cal = lt_report_calendar(lt_callq_config(q), err, sizeof(err));
    json_t *doc = cal ? lt_report_build(&req->q, r, cal, req->now, NULL, err, sizeof(err)) : NULL;
    lt_calendar_destroy(&cal);
    char *text = doc ? lt_report_dumps(doc) : NULL;
    json_decref(doc);
    if (!text) {
        LT_WARN("reportd: %s", err[0] ? err : "out of memory");
        lt_callq_answer_error(q, 500, "internal", "the report could not be built");
        return;
    }
    lt_callq_answer(q, 200, text);
    free(text);
}

static bool on_result(void *actor, lt_callq *q, void *r_req, const PGresult *r, const char *err)
{
    (void)actor;
    const lt_config *cfg = lt_callq_config(q);
    request *req = r_req;
    if (!r) {
        /* lt_pgconn's own deadline: the server ignored its statement_timeout. */
        bool late = err && strcmp(err, "query timed out") == 0;
        LT_WARN("reportd: report %s..%s: %s", req->q.from, req->q.to, err ? err : "no result");
        answer_failure(q, late ? SQLSTATE_CANCELED : NULL);
    } else if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        if (state && strcmp(state, SQLSTATE_CANCELED) == 0)
            LT_WARN("reportd: report %s..%s by %s over report.timeout (%" PRId64 " ms)",
                    req->q.from, req->q.to, lt_report_group_name(req->q.group),
                    cfg->report.timeout_ms);
        else
            LT_WARN("reportd: report failed: %s", PQresultErrorMessage(r));
        answer_failure(q, state ? state : "XX000");
    } else if (!req->timeout_set) {
        /* Step one done: the same request goes on to its statement. */
        req->timeout_set = true;
        return false;
    } else {
        answer_report(q, req, r);
    }
    return true;
}

/* Sends the head request's next step (lt_callq_ops.step). */
static int start_step(void *actor, lt_callq *q, void *r_req)
{
    (void)actor;
    const lt_config *cfg = lt_callq_config(q);
    request *req = r_req;
    int64_t left = lt_reportd_remaining(req->arrived, lt_loop_now_ms(), cfg->report.timeout_ms);
    if (left == 0) {
        /* Its time went in the queue; the front has given up on it too. */
        answer_failure(q, SQLSTATE_CANCELED);
        return 0;
    }
    if (!req->timeout_set) {
        char ms[24];
        snprintf(ms, sizeof(ms), "%" PRId64, left);
        const char *p[1] = {ms};
        return lt_callq_query(q, "SELECT set_config('statement_timeout', $1, false)", 1, p,
                              left + BACKSTOP_MS) < 0
                   ? -1
                   : 1;
    }
    lt_report_bufs bufs = {0};
    const char *p[LT_REPORT_NPARAMS];
    req->now = lt_report_now_local();
    lt_report_params(&req->q, req->now, &bufs, p);
    return lt_callq_query(q, LT_REPORT_SQL, LT_REPORT_NPARAMS, p, left + BACKSTOP_MS) < 0 ? -1 : 1;
}

static int parse_request(void *actor, const char *verb, const json_t *j, void *r_req)
{
    (void)actor;
    request *req = r_req;
    req->arrived = lt_loop_now_ms();
    return strcmp(verb, "report") == 0 && lt_report_query_from_json(j, &req->q) == 0 ? 0 : -1;
}

void lt_reportd_actor(void *pipe, void *args)
{
    const lt_reportd_args *a = args;
    char busy[160];
    snprintf(busy, sizeof(busy),
             "a report is running and %d more wait their turn; try again shortly",
             LT_REPORTD_MAX_WAITING);
    lt_callq_spec spec = {
        .name = "reportd",
        .endpoint = LT_REPORTD_ENDPOINT,
        .conninfo = a->conninfo,
        .cap = LT_REPORTD_MAX_WAITING + 1, /* the running one and those waiting */
        .req_size = sizeof(request),
        .malformed = "malformed request to the report actor",
        .busy = busy,
        .ops = {.parse = parse_request, .step = start_step, .result = on_result},
    };
    lt_callq_serve(pipe, a->zmq_ctx, a->cfg, &spec);
}
