/* lt_status_doc: the status document of GET /v1/status and `lienthong status`
 * (schemas/status.schema.json), its Prometheus form for GET /metrics, and
 * its table for people.
 *
 * Two sources, neither computed here: the numbers every gateway on the
 * database shares come from ONE statement (LT_STATUSDOC_SQL: indexed counts,
 * see schemas/sql/0012_status.sql) run by whoever owns a connection (the
 * reader actor, or the CLI's own session); this process's counters come from
 * an lt_stats snapshot. This module only joins them, classifies each
 * destination against the configured thresholds (status.*) and formats. No
 * I/O but the FILE the table goes to. */
#ifndef LT_STATUS_DOC_H
#define LT_STATUS_DOC_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "lt_config.h"
#include "lt_stats.h"

/* No parameters; one row, one column: a JSON object with the shared part
 * (now, destinations, senders, catalog, last_sequence, routed_sequence,
 * gateways_live). */
extern const char LT_STATUSDOC_SQL[];

/* The thresholds that decide `healthy` (config keys status.*). */
typedef struct lt_statusdoc_limits {
    int64_t max_backlog_age_ms; /* oldest undelivered row older than this: a problem */
    int64_t max_dead_letters;   /* more dead letters at one destination: a problem */
    int64_t down_failures;      /* consecutive failures that make a destination down */
} lt_statusdoc_limits;

void lt_statusdoc_limits_from_config(const lt_config *cfg, lt_statusdoc_limits *ret);

/* Builds the document (a new reference; NULL when out of memory).
 * db_text: LT_STATUSDOC_SQL's value, or NULL when the database could not be
 * read, and then db_error says why (may be NULL). snap: this process's
 * counters, or NULL when no gateway process answers (the CLI alone). */
json_t *lt_statusdoc_build(const char *db_text, const char *db_error, const lt_stats_snap *snap,
                           const lt_statusdoc_limits *lim) __attribute__((warn_unused_result));

/* The document as Prometheus text exposition 0.0.4 (a new string, the
 * caller's to free; NULL when out of memory). snap adds the latency
 * histogram and the process counters (NULL: left out). */
char *lt_statusdoc_metrics(const json_t *doc, const lt_stats_snap *snap)
    __attribute__((warn_unused_result));

/* The document for people: one line per destination and sender, then the
 * catalog, ingress and problems. */
void lt_statusdoc_print(FILE *out, const json_t *doc);

/* A URL without user information, query or fragment (credentials never
 * leave in a status document). A new string; NULL for NULL. */
char *lt_statusdoc_safe_url(const char *url) __attribute__((warn_unused_result));

/* For the reader actor: the answer body of verb "status" (the document as
 * JSON text) or "metrics" (the Prometheus text) from LT_STATUSDOC_SQL's value
 * or the error; this process's counters are taken here. A new string. */
char *lt_statusdoc_answer(const char *db_text, const char *db_error, const lt_config *cfg,
                          bool metrics) __attribute__((warn_unused_result));

#endif
