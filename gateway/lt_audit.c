/* lt_audit: the audit log's rows for commands (see lt_audit.h). The actor
 * is the OS user, not a token: a command runs with the database's own
 * credentials, and the person at the terminal is who answers for it. */
#include "lt_audit.h"
#include "lt_db.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

const char LT_AUDIT_DEADLETTER_REPLAY_SQL[] =
    "WITH r AS (SELECT replayed, superseded FROM lt_replay_dead($1::text, $2::bigint)),"
    " a AS (INSERT INTO audit_log (actor, action, target, detail)"
    " SELECT $3::text, 'deadletter.replay', $1::text, $4::jsonb || jsonb_build_object('id',"
    " $2::bigint, 'replayed', r.replayed, 'superseded', r.superseded) FROM r)"
    " SELECT replayed, superseded FROM r";

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

bool lt_audit_read_params(const lt_principal *who, const char *via, char *actor, size_t acap,
                          char *detail, size_t dcap)
{
    if (who->role == LT_ROLE_READER) {
        /* The detail is still cast to jsonb by the statement: keep it JSON. */
        snprintf(actor, acap, "%s", "");
        snprintf(detail, dcap, "%s", "{}");
        return false;
    }
    if (who->prefix[0])
        snprintf(actor, acap, "token:%s", who->prefix);
    else
        snprintf(actor, acap, "anonymous");
    /* Role names, unit codes and via are ours: no JSON escaping needed, but
     * jansson keeps that true if a unit code ever holds a quote. */
    json_t *d = json_pack("{s:s, s:s?, s:s}", "role", lt_auth_role_name(who->role), "unit",
                          who->unit[0] ? who->unit : NULL, "via", via);
    char *text = d ? json_dumps(d, JSON_COMPACT) : NULL;
    json_decref(d);
    snprintf(detail, dcap, "%s", text ? text : "{}");
    free(text);
    return true;
}
