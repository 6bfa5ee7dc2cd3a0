/* lt_report: the on-time report (DOMAIN.md, "Due dates and on-time
 * figures"; DESIGN.md, `lienthong report` and GET /v1/reports/ontime):
 * received, online, resolved early / on time / late, in progress within
 * time, overdue and withdrawn, with both rates, by unit, field, procedure
 * or month for a period of inclusive days, and a total row.
 *
 * One statement (LT_REPORT_SQL) reads the period from the stored records;
 * lt_report_build turns its result into the answer, classifying in C the
 * dossiers that need the working-time calendar. Both the CLI and the reader
 * actor (for the HTTP route) use the same three steps: parse the query,
 * run the statement with lt_report_params, build. */
#ifndef LT_REPORT_H
#define LT_REPORT_H

#include "lt_calendar.h"
#include "lt_config.h"

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    LT_REPORT_BY_UNIT,
    LT_REPORT_BY_FIELD,
    LT_REPORT_BY_PROCEDURE,
    LT_REPORT_BY_MONTH,
} lt_report_group;

#define LT_REPORT_MAX_UNIT 64 /* bytes of a unit code */
/* The longest period one report covers: ten years of months is still a
 * small answer, and bounds the work a public route can ask for. */
#define LT_REPORT_MAX_DAYS 3660

typedef struct lt_report_query {
    char from[11], to[11];             /* YYYY-MM-DD, inclusive, Asia/Ho_Chi_Minh */
    char unit[LT_REPORT_MAX_UNIT + 1]; /* the unit and its subtree; "" = every unit */
    lt_report_group group;
} lt_report_query;

/* Parses n parameters (already URL-decoded): from and to (required), unit
 * and group. Unknown and repeated names are refused. Returns 0, or -1 with
 * the parameter's name in field and a sentence in msg. Pure. */
int lt_report_query_parse(const char *const *keys, const char *const *values, size_t n,
                          lt_report_query *ret, char *field, size_t fcap, char *msg, size_t mcap)
    __attribute__((warn_unused_result));

/* The query as the reader's JSON params (a new reference), and back. */
json_t *lt_report_query_json(const lt_report_query *q) __attribute__((warn_unused_result));
int lt_report_query_from_json(const json_t *j, lt_report_query *ret)
    __attribute__((warn_unused_result));

const char *lt_report_group_name(lt_report_group g);

/* The statement and its parameters: the period's bounds, the unit, the
 * group and now_local (local seconds, lt_calendar's clock: open dossiers are
 * measured at the period's end or now, whichever is earlier). bufs holds the
 * parameter text; params[i] point into it. */
#define LT_REPORT_NPARAMS 5
extern const char LT_REPORT_SQL[];
typedef struct {
    char lo[15], hi[15], now[15], group[16];
} lt_report_bufs;
void lt_report_params(const lt_report_query *q, int64_t now_local, lt_report_bufs *bufs,
                      const char *params[LT_REPORT_NPARAMS]);

/* Local seconds now in Asia/Ho_Chi_Minh (UTC+7, no daylight saving). */
int64_t lt_report_now_local(void);

/* The answer from LT_REPORT_SQL's result: {"from", "to", "group", "rows":
 * [...], "total": {...}} exactly as DESIGN.md gives it. Returns a new
 * reference, or NULL when a stored value cannot be read (ret_err says
 * which). ret_labels (may be NULL) receives {key: name} for the table: unit,
 * procedure or field names. */
json_t *lt_report_build(const lt_report_query *q, const PGresult *r, const lt_calendar *cal,
                        int64_t now_local, json_t **ret_labels, char *ret_err, size_t cap)
    __attribute__((warn_unused_result));

/* Whether the result says the query's unit does not exist (404; the CLI's
 * lt_report_run fails with that sentence). */
bool lt_report_unknown_unit(const PGresult *r);

/* The answer as the route and `--format json` print it (rates with at most
 * two decimals). The caller frees. */
char *lt_report_dumps(const json_t *doc) __attribute__((warn_unused_result));

/* The calendar of cfg: calendar.hours and calendar.holidays (empty = the
 * shipped schemas/holidays/vn.json). NULL with a sentence in err. */
lt_calendar *lt_report_calendar(const lt_config *cfg, char *err, size_t cap)
    __attribute__((warn_unused_result));

/* The whole job on a blocking connection (the CLI). */
json_t *lt_report_run(PGconn *conn, const lt_report_query *q, const lt_calendar *cal,
                      json_t **ret_labels, char *err, size_t cap)
    __attribute__((warn_unused_result));

/* Renderings for people and spreadsheets: an aligned table (widths counted
 * in characters, so Vietnamese names line up) and RFC 4180 CSV with a header
 * row. labels (may be NULL) maps a key to a name shown beside it in the
 * table. The caller frees. */
char *lt_report_table(const json_t *doc, const json_t *labels) __attribute__((warn_unused_result));
char *lt_report_csv(const json_t *doc) __attribute__((warn_unused_result));

/* `lienthong report`: argv[0] is "report". Exit code 0, 1 (database), 2
 * (usage). */
extern const char lt_report_help[];
int lt_report_main(const lt_config *cfg, int argc, char **argv, bool json);

#endif
