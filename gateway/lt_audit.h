/* lt_audit: rows of the audit log (schemas/sql/0014_credentials_audit.sql)
 * from the commands an operator runs: who (the OS user), what, on what. The
 * serving process writes its rows inside the statements that do the work
 * (see lt_dossier_read.c), not through here. */
#ifndef LT_AUDIT_H
#define LT_AUDIT_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "lt_auth.h"

/* A data-modifying CTE (named lt_audit_reads) for a statement that returns
 * dossier records: one `dossier.read` row per dossier among ROWS (an SQL
 * FROM item with the columns kind and dossier_code), written by the same
 * statement as the read, so a read is never answered without its row.
 * ACTOR and DETAIL are parameter references ("$4"); a NULL actor writes
 * nothing (a reader, whose records are masked). */
#define LT_AUDIT_READS_CTE(ACTOR, DETAIL, ROWS)                                                    \
    " lt_audit_reads AS (INSERT INTO audit_log (actor, action, target, detail)"                    \
    " SELECT " ACTOR "::text, 'dossier.read', r.dossier_code, " DETAIL "::jsonb"                   \
    " FROM (SELECT DISTINCT dossier_code FROM " ROWS " WHERE kind = 'dossier') r"                  \
    " WHERE " ACTOR "::text IS NOT NULL)"

/* POST /v1/deadletters/replay and `lienthong replay` in one statement with
 * their `deadletter.replay` row: $1 destination, $2 dead letter id (NULL =
 * all), $3 actor, $4 detail (JSON object, merged with the counts). Columns
 * replayed, superseded, as LT_OUTBOX_REPLAY_SQL. */
extern const char LT_AUDIT_DEADLETTER_REPLAY_SQL[];

/* The actor and detail parameters of LT_AUDIT_READS_CTE for who reading
 * through via ("GET /v1/events"): returns false (nothing to audit, leave
 * the actor NULL) for a reader, whose records are masked; otherwise actor
 * is "token:<prefix>" ("anonymous" with auth.required = false) and detail
 * the JSON {role, unit, via}. */
bool lt_audit_read_params(const lt_principal *who, const char *via, char *actor, size_t acap,
                          char *detail, size_t dcap);

/* "cli:<user name>" for the user running this command. */
void lt_audit_cli_actor(char *buf, size_t cap);

/* Appends one row; detail is borrowed and may be NULL. Returns 0, or -1
 * with a sentence in err. Meant for the same transaction as the action, so
 * an action is never done without its row. */
int lt_audit_record(PGconn *conn, const char *actor, const char *action, const char *target,
                    const json_t *detail, char *err, size_t cap)
    __attribute__((warn_unused_result));

#endif
