/* lt_audit: rows of the audit log (schemas/sql/0014_credentials_audit.sql)
 * from the commands an operator runs: who (the OS user), what, on what. The
 * serving process writes its rows inside the statements that do the work
 * (see lt_dossier_read.c), not through here. */
#ifndef LT_AUDIT_H
#define LT_AUDIT_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stddef.h>

/* "cli:<user name>" for the user running this command. */
void lt_audit_cli_actor(char *buf, size_t cap);

/* Appends one row; detail is borrowed and may be NULL. Returns 0, or -1
 * with a sentence in err. Meant for the same transaction as the action, so
 * an action is never done without its row. */
int lt_audit_record(PGconn *conn, const char *actor, const char *action, const char *target,
                    const json_t *detail, char *err, size_t cap)
    __attribute__((warn_unused_result));

#endif
