/* lt_dossier_read: the SQL and the answers of the dossier reads (GET
 * /v1/dossiers/{code}, /v1/dossiers, /v1/events, /v1/rejects,
 * /v1/deadletters) and of POST /v1/deadletters/replay for a caller
 * the reader has already authenticated. Who sees what (DESIGN.md, the auth
 * table) lives here, in one place:
 *   - ward: dossiers whose receiving or competent unit is its unit;
 *   - parent: dossiers whose receiving or competent unit is in its subtree
 *     (units.parent);
 *   - operator, and nobody when auth.required = false: everything;
 *   - reader: everything, each dossier record through lt_mask_json.
 * Events: a ward or parent gets the dossier events whose unit (the
 * receiving unit, dossier_events.unit_code) is in its scope, and every
 * catalog event (public); rejects and dead letters (list and replay) are
 * operator-only.
 * Audit (Decree 13/2023): the statements that return dossier records
 * (one dossier, events) write one `dossier.read` row in audit_log per
 * dossier returned, in the same statement, unless the caller is a reader
 * (masked records). The reconciliation list returns no record.
 * No I/O: the reader runs the statement and hands back the result. */
#ifndef LT_DOSSIER_READ_H
#define LT_DOSSIER_READ_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "lt_auth.h"
#include "lt_read_query.h"

#define LT_READ_STMT_MAX_PARAMS 8

/* One statement ready for lt_pgconn_query. params point into the query, the
 * principal and num: keep all three alive (and this struct unmoved) until
 * the query is sent. */
typedef struct lt_read_stmt {
    const char *sql;
    int nparams;
    const char *params[LT_READ_STMT_MAX_PARAMS];
    char num[3][24];  /* numeric parameters as text */
    char actor[32];   /* the audit row's actor (lt_audit_read_params) */
    char detail[256]; /* the audit row's detail, JSON */
} lt_read_stmt;

/* Whether role may make this call at all; the reader answers 403 when not.
 * (Scope within a call is the statement's business.) */
bool lt_dossier_read_allowed(lt_read_verb verb, lt_role role);

/* The statement answering q for who. */
void lt_dossier_read_stmt(const lt_read_query *q, const lt_principal *who, lt_read_stmt *ret);

/* The HTTP answer to q from its statement's result (PGRES_TUPLES_OK): 200
 * with the page, 404 for a dossier that is unknown or outside the caller's
 * scope (the same answer: a foreign ward learns nothing), 403 for a unit
 * outside it. *ret_body is the caller's to free. Returns 0, or -1 when out
 * of memory or a stored value cannot be read (the reader answers 500). */
int lt_dossier_read_answer(const lt_read_query *q, const lt_principal *who, const PGresult *r,
                           int *ret_status, char **ret_body) __attribute__((warn_unused_result));

#endif
