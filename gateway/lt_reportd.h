/* lt_reportd: the actor that answers GET /v1/reports/ontime (fronts never
 * call libpq). It binds LT_REPORTD_ENDPOINT (ROUTER), holds its own
 * non-blocking connection (lt_pgconn), separate from the reader's, and runs
 * one report at a time; up to LT_REPORTD_MAX_WAITING more wait their turn
 * and a report beyond that gets 503 (busy) at once. The wire format is
 * lt_httpcall's: [id, "report", JSON params as lt_report_query_json writes
 * them] in, [id, status, JSON body] out.
 *
 * Each report may take report.timeout from its arrival, its wait in the
 * queue included: the statement runs under a statement_timeout of what is
 * left, and a report that runs out gets 504 naming report.timeout. The
 * front waits LT_REPORTD_FRONT_MARGIN_MS longer than that for the answer
 * (the C part of the report runs after the statement). */
#ifndef LT_REPORTD_H
#define LT_REPORTD_H

#include "lt_config.h"

#include <stddef.h>
#include <stdint.h>

#define LT_REPORTD_ENDPOINT    "inproc://lt-reportd"
#define LT_REPORTD_MAX_WAITING 4
/* The front's own limit is report.timeout plus this. */
#define LT_REPORTD_FRONT_MARGIN_MS 5000

typedef struct lt_reportd_args {
    const char *conninfo; /* borrowed; outlives the actor */
    const lt_config *cfg; /* copied at start */
    void *zmq_ctx;
} lt_reportd_args;

/* lt_actor_fn: run with lt_actor_new(ctx, "reportd", lt_reportd_actor, &args). */
void lt_reportd_actor(void *pipe, void *args);

/* What is left of a report's time at now_ms when it arrived at arrived_ms
 * and may take limit_ms: 0 when nothing is left. Pure. */
int64_t lt_reportd_remaining(int64_t arrived_ms, int64_t now_ms, int64_t limit_ms);

/* The answer to a failed report statement, from its SQLSTATE (NULL when the
 * connection was lost or the client-side deadline hit): 504 for a
 * cancelled statement (statement_timeout: the body names report.timeout
 * and its value), 503 for a lost connection, 500 otherwise. Returns the
 * status and writes the JSON error body into body. Pure. */
int lt_reportd_failure(const char *sqlstate, int64_t limit_ms, char *body, size_t cap);

#endif
