/* lt_audit: the audit log's rows for commands (see lt_audit.h). The actor
 * is the OS user, not a token: a command runs with the database's own
 * credentials, and the person at the terminal is who answers for it. */
#include "lt_audit.h"
#include "lt_db.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

void lt_audit_cli_actor(char *buf, size_t cap)
{
    const struct passwd *pw = getpwuid(geteuid());
    if (pw && pw->pw_name)
        snprintf(buf, cap, "cli:%s", pw->pw_name);
    else
        snprintf(buf, cap, "cli:uid%ld", (long)geteuid());
}

int lt_audit_record(PGconn *conn, const char *actor, const char *action, const char *target,
                    const json_t *detail, char *err, size_t cap)
{
    char *d = detail ? json_dumps(detail, JSON_COMPACT) : NULL;
    const char *p[4] = {actor, action, target, d};
    PGresult *r = lt_db_exec(conn,
                             "INSERT INTO audit_log (actor, action, target, detail) "
                             "VALUES ($1, $2, $3, $4::jsonb)",
                             4, p, err, cap);
    free(d);
    if (!r)
        return -1;
    PQclear(r);
    return 0;
}
