/* lt_token_cli: `lienthong token create|list|rotate|revoke`. Tokens live in
 * the credentials table of the shared database, so a token created, rotated
 * or revoked here takes effect in every running gateway at its next lookup;
 * nothing is cached in a gateway's memory. The token is printed once and
 * never logged: only its prefix appears anywhere afterwards. Each change is
 * one transaction with its audit_log row: no change without its record.
 *
 * Why rotation keeps the old token for a grace period instead of revoking
 * it: the ward's system is another vendor's, changed on its own schedule;
 * a token that stops at the moment its replacement is made would stop that
 * ward's dossiers until someone edits its configuration. */
#include "lt_token_cli.h"
#include "lt_audit.h"
#include "lt_db.h"
#include "lt_dbsession.h"
#include "lt_token.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXIT_FAILED 1
#define EXIT_USAGE  2

const char lt_token_help[] =
    "usage: lienthong token create --unit CODE --role ROLE [--expires WHEN] [--json]\n"
    "       lienthong token list [--unit CODE] [--all] [--json]\n"
    "       lienthong token rotate ID|PREFIX [--grace DURATION] [--expires WHEN] [--json]\n"
    "       lienthong token revoke ID|PREFIX [--json]\n"
    "\n"
    "Bearer tokens for the systems that call the gateway (Authorization: Bearer\n"
    "TOKEN on HTTP, the first frame on ZeroMQ ingress).\n"
    "\n"
    "  create  makes a token and prints it ONCE, alone on the last line (with\n"
    "          --json: {\"token\", \"id\", \"prefix\", \"role\", \"unit\"}). Only a\n"
    "          salted hash is stored; a lost token cannot be recovered, create\n"
    "          another and revoke the old one.\n"
    "          ROLE: ward (writes its own unit's dossiers), parent (a district\n"
    "          office or federated gateway: its whole subtree), operator (all,\n"
    "          plus rejects and dead letters), reader (all, personal data\n"
    "          masked). ward and parent need --unit, a code from the unit tree\n"
    "          (lienthong units import); operator and reader may name one.\n"
    "  list    shows id, prefix, role, unit, created, last used, expires and\n"
    "          revoked (revoked and expired ones only with --all); never the\n"
    "          token.\n"
    "  rotate  makes a new token for the same unit and role, prints it once,\n"
    "          and lets the old one work for --grace more (default 7d), so the\n"
    "          caller's system can switch without an outage; after that the old\n"
    "          token is refused like a revoked one.\n"
    "  revoke  by id or by prefix (the 10 hex digits after \"lt_\"); a revoked\n"
    "          token gets 401 at once in every gateway on this database.\n"
    "\n"
    "  --expires WHEN   the token stops working then: a duration from now\n"
    "                   (90d, 12h, 30m) or a day (YYYY-MM-DD, midnight in\n"
    "                   Asia/Ho_Chi_Minh); default: no expiry\n"
    "  --grace DURATION rotate: how long the old token keeps working (7d;\n"
    "                   0m ends it at once)\n"
    "\n"
    "Every create, rotate and revoke is written to the audit log with the\n"
    "OS user who ran it.\n"
    "\n"
    "Uses the same database as serve and applies pending migrations first.\n"
    "Exit status: 0 done, 1 refused (unknown unit, nothing to revoke) or\n"
    "database failure, 2 usage error.\n"
    "\n"
    "Example: lienthong token create --unit 00001 --role ward --expires 365d\n";

static const char *const roles[] = {"ward", "parent", "operator", "reader", NULL};

static bool known_role(const char *role)
{
    for (const char *const *r = roles; *r; r++)
        if (strcmp(*r, role) == 0)
            return true;
    return false;
}

static int usage(const char *what, const char *arg)
{
    fprintf(stderr, "lienthong token: %s%s (see lienthong token --help)\n", what, arg ? arg : "");
    return EXIT_USAGE;
}

/* A duration (90d, 12h, 30m) as a PostgreSQL interval text, into buf.
 * Returns 0, or -1 when s is not one. */
static int duration(const char *s, char *buf, size_t cap)
{
    char *end;
    long long n = strtoll(s, &end, 10);
    if (end == s || n < 0 || n > 36500 * 24 * 60 || end[0] == '\0' || end[1] != '\0')
        return -1;
    const char *unit = end[0] == 'd'   ? "days"
                       : end[0] == 'h' ? "hours"
                       : end[0] == 'm' ? "mins"
                                       : NULL;
    if (!unit)
        return -1;
    snprintf(buf, cap, "%lld %s", n, unit);
    return 0;
}

/* --expires: a duration from now, or a day. The SQL expression's parameter
 * goes into buf; *ret_is_day says which form. */
static int expiry(const char *s, char *buf, size_t cap, bool *ret_is_day)
{
    int y, m, d;
    char tail;
    if (sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) == 3 && strlen(s) == 10 && m >= 1 &&
        m <= 12 && d >= 1 && d <= 31) {
        snprintf(buf, cap, "%s", s);
        *ret_is_day = true;
        return 0;
    }
    *ret_is_day = false;
    return duration(s, buf, cap);
}

/* The SQL for an expiry parameter ($N): NULL stays NULL. */
#define EXPIRY_SQL(n, day)                                                                         \
    ((day) ? "($" n "::date::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh')"                           \
           : "(now() + $" n "::interval)")

static int begin(PGconn *c, char *err, size_t cap)
{
    return lt_db_exec_ok(c, "BEGIN", 0, NULL, err, cap);
}

static int commit(PGconn *c, char *err, size_t cap)
{
    return lt_db_exec_ok(c, "COMMIT", 0, NULL, err, cap);
}

static void rollback(PGconn *c)
{
    PQclear(PQexec(c, "ROLLBACK"));
}

typedef struct {
    char token[LT_TOKEN_MAX];
    char id[24];
    char prefix[LT_TOKEN_PREFIX_LEN + 1];
    char until[32]; /* expiry in Asia/Ho_Chi_Minh, "" = none */
} new_token;

/* Makes a token and its row (in the caller's transaction). */
static int insert_token(PGconn *c, const char *unit, const char *role, const char *expires,
                        bool day, new_token *t, char *err, size_t cap)
{
    char hash[LT_TOKEN_HASH_MAX], sql[512];
    if (lt_token_generate(t->token, sizeof(t->token), t->prefix) < 0 ||
        lt_token_hash(t->token, hash, sizeof(hash)) < 0) {
        snprintf(err, cap, "cannot make a token");
        return -1;
    }
    snprintf(sql, sizeof(sql),
             "INSERT INTO credentials (unit_code, role, token_hash, token_prefix, expires_at) "
             "VALUES ($1, $2, $3, $4, %s) RETURNING id, "
             "coalesce(to_char(expires_at AT TIME ZONE 'Asia/Ho_Chi_Minh', "
             "'YYYY-MM-DD HH24:MI'), '')",
             EXPIRY_SQL("5", day));
    const char *p[5] = {unit, role, hash, t->prefix, expires};
    PGresult *r = lt_db_exec(c, sql, 5, p, err, cap);
    if (!r)
        return -1;
    snprintf(t->id, sizeof(t->id), "%s", PQgetvalue(r, 0, 0));
    snprintf(t->until, sizeof(t->until), "%s", PQgetvalue(r, 0, 1));
    PQclear(r);
    return 0;
}

/* The token alone on the last line (or {"token", ...}): scripts take it
 * from there. Then it is wiped. */
static void print_token(new_token *t, const char *unit, const char *role, bool json)
{
    if (json) {
        json_t *j = json_pack("{s:s, s:I, s:s, s:s, s:s?, s:s?}", "token", t->token, "id",
                              (json_int_t)strtoll(t->id, NULL, 10), "prefix", t->prefix, "role",
                              role, "unit", unit, "expires", t->until[0] ? t->until : NULL);
        json_dumpf(j, stdout, JSON_COMPACT);
        putchar('\n');
        json_decref(j);
    } else {
        printf("token %s created: role %s%s%s, prefix %s%s%s\n", t->id, role, unit ? ", unit " : "",
               unit ? unit : "", t->prefix, t->until[0] ? ", expires " : "", t->until);
        printf("store it now; it is not shown again:\n%s\n", t->token);
    }
    sodium_memzero(t->token, sizeof(t->token));
}

static int audit(PGconn *c, const char *action, const char *target, json_t *detail, char *err,
                 size_t cap)
{
    char actor[96];
    lt_audit_cli_actor(actor, sizeof(actor));
    int rc = lt_audit_record(c, actor, action, target, detail, err, cap);
    json_decref(detail);
    return rc;
}

static int create(PGconn *c, const char *unit, const char *role, const char *expires, bool day,
                  bool json)
{
    char err[512] = "";
    new_token t;
    PGresult *r = NULL;
    if (begin(c, err, sizeof(err)) < 0)
        goto fail;
    if (unit) {
        const char *p[1] = {unit};
        r = lt_db_exec(c, "SELECT name FROM units WHERE code = $1", 1, p, err, sizeof(err));
        if (!r)
            goto fail;
        if (PQntuples(r) == 0) {
            snprintf(err, sizeof(err),
                     "unit %s is not in the unit tree; load it with lienthong units import", unit);
            goto fail;
        }
        PQclear(r);
        r = NULL;
    }
    if (insert_token(c, unit, role, expires, day, &t, err, sizeof(err)) < 0 ||
        audit(c, "token.create", t.prefix,
              json_pack("{s:s, s:s?, s:s?}", "role", role, "unit", unit, "expires", expires), err,
              sizeof(err)) < 0 ||
        commit(c, err, sizeof(err)) < 0)
        goto fail;
    print_token(&t, unit, role, json);
    return 0;
fail:
    PQclear(r);
    rollback(c);
    sodium_memzero(t.token, sizeof(t.token));
    fprintf(stderr, "lienthong token create: %s\n", err);
    return EXIT_FAILED;
}

static int list(PGconn *c, const char *unit, bool all, bool json)
{
    char err[512] = "";
    const char *p[2] = {unit, all ? "t" : "f"};
    PGresult *r = lt_db_exec(
        c,
        "SELECT id, token_prefix, role, coalesce(unit_code, ''), "
        " to_char(created_at, 'YYYY-MM-DD HH24:MI'), "
        " coalesce(to_char(last_used_at, 'YYYY-MM-DD HH24:MI'), ''), "
        " coalesce(to_char(expires_at AT TIME ZONE 'Asia/Ho_Chi_Minh', 'YYYY-MM-DD HH24:MI'), ''), "
        " coalesce(to_char(revoked_at, 'YYYY-MM-DD HH24:MI'), '') "
        "FROM credentials "
        "WHERE ($1::text IS NULL OR unit_code = $1) "
        " AND ($2 OR (revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now()))) "
        "ORDER BY id",
        2, p, err, sizeof(err));
    if (!r) {
        fprintf(stderr, "lienthong token list: %s\n", err);
        return EXIT_FAILED;
    }
    json_t *arr = json ? json_array() : NULL;
    if (!json)
        printf("%-6s %-10s %-8s %-12s %-16s %-16s %-16s %s\n", "id", "prefix", "role", "unit",
               "created", "last used", "expires", "revoked");
    for (int i = 0; i < PQntuples(r); i++) {
        const char *v[8];
        for (int k = 0; k < 8; k++)
            v[k] = PQgetvalue(r, i, k);
        if (json)
            json_array_append_new(arr,
                                  json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "id",
                                            (json_int_t)strtoll(v[0], NULL, 10), "prefix", v[1],
                                            "role", v[2], "unit", v[3], "created", v[4],
                                            "last_used", v[5], "expires", v[6], "revoked", v[7]));
        else
            printf("%-6s %-10s %-8s %-12s %-16s %-16s %-16s %s\n", v[0], v[1], v[2], v[3], v[4],
                   v[5][0] ? v[5] : "-", v[6][0] ? v[6] : "-", v[7][0] ? v[7] : "-");
    }
    if (json) {
        json_t *doc = json_pack("{s:o}", "tokens", arr);
        json_dumpf(doc, stdout, JSON_COMPACT);
        putchar('\n');
        json_decref(doc);
    }
    PQclear(r);
    return 0;
}

/* The live token named by an id or a prefix (an id is all digits; a prefix
 * is 10 hex digits; both are tried, so a prefix that happens to be all
 * digits still works). */
#define WHICH_SQL                                                                                  \
    "revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now()) AND "                       \
    "(token_prefix = $1 OR ($1 ~ '^[0-9]{1,18}$' AND id = $1::bigint))"

static int rotate(PGconn *c, const char *which, const char *grace, const char *expires, bool day,
                  bool json)
{
    char err[512] = "";
    new_token t;
    memset(&t, 0, sizeof(t));
    PGresult *r = NULL;
    if (begin(c, err, sizeof(err)) < 0)
        goto fail;
    const char *p[1] = {which};
    r = lt_db_exec(c,
                   "SELECT id, token_prefix, role, unit_code FROM credentials WHERE " WHICH_SQL
                   " FOR UPDATE",
                   1, p, err, sizeof(err));
    if (!r)
        goto fail;
    if (PQntuples(r) != 1) {
        snprintf(err, sizeof(err), "%s",
                 PQntuples(r) ? "that prefix names several tokens; rotate by id"
                              : "no active token with that id or prefix");
        goto fail;
    }
    char old_id[24], old_prefix[LT_TOKEN_PREFIX_LEN + 1], role[16], unit[64];
    snprintf(old_id, sizeof(old_id), "%s", PQgetvalue(r, 0, 0));
    snprintf(old_prefix, sizeof(old_prefix), "%s", PQgetvalue(r, 0, 1));
    snprintf(role, sizeof(role), "%s", PQgetvalue(r, 0, 2));
    snprintf(unit, sizeof(unit), "%s", PQgetvalue(r, 0, 3));
    bool has_unit = !PQgetisnull(r, 0, 3);
    PQclear(r);
    r = NULL;
    if (insert_token(c, has_unit ? unit : NULL, role, expires, day, &t, err, sizeof(err)) < 0)
        goto fail;
    /* The old token ends after the grace period, or sooner if it was
     * already due to. */
    const char *q[3] = {old_id, grace, t.id};
    r = lt_db_exec(c,
                   "UPDATE credentials SET replaced_by = $3::bigint, expires_at = "
                   "least(coalesce(expires_at, 'infinity'), now() + $2::interval) "
                   "WHERE id = $1::bigint RETURNING to_char(expires_at AT TIME ZONE "
                   "'Asia/Ho_Chi_Minh', 'YYYY-MM-DD HH24:MI')",
                   3, q, err, sizeof(err));
    if (!r)
        goto fail;
    if (audit(c, "token.rotate", old_prefix,
              json_pack("{s:s, s:s, s:s}", "new_prefix", t.prefix, "grace", grace, "old_until",
                        PQgetvalue(r, 0, 0)),
              err, sizeof(err)) < 0 ||
        commit(c, err, sizeof(err)) < 0)
        goto fail;
    if (!json)
        printf("token %s (prefix %s) keeps working until %s (Asia/Ho_Chi_Minh)\n", old_id,
               old_prefix, PQgetvalue(r, 0, 0));
    PQclear(r);
    print_token(&t, has_unit ? unit : NULL, role, json);
    return 0;
fail:
    PQclear(r);
    rollback(c);
    sodium_memzero(t.token, sizeof(t.token));
    fprintf(stderr, "lienthong token rotate: %s\n", err);
    return EXIT_FAILED;
}

static int revoke(PGconn *c, const char *which, bool json)
{
    char err[512] = "";
    PGresult *r = NULL;
    if (begin(c, err, sizeof(err)) < 0)
        goto fail;
    const char *p[1] = {which};
    r = lt_db_exec(c,
                   "UPDATE credentials SET revoked_at = now() WHERE " WHICH_SQL
                   " RETURNING id, token_prefix",
                   1, p, err, sizeof(err));
    if (!r)
        goto fail;
    int n = PQntuples(r);
    if (n == 0) {
        snprintf(err, sizeof(err), "no active token with id or prefix %s", which);
        goto fail;
    }
    for (int i = 0; i < n; i++)
        if (audit(c, "token.revoke", PQgetvalue(r, i, 1),
                  json_pack("{s:I}", "id", (json_int_t)strtoll(PQgetvalue(r, i, 0), NULL, 10)), err,
                  sizeof(err)) < 0)
            goto fail;
    if (commit(c, err, sizeof(err)) < 0)
        goto fail;
    for (int i = 0; i < n; i++) {
        if (json)
            printf("{\"revoked\":%s,\"prefix\":\"%s\"}\n", PQgetvalue(r, i, 0),
                   PQgetvalue(r, i, 1));
        else
            printf("token %s (prefix %s) revoked\n", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1));
    }
    PQclear(r);
    return 0;
fail:
    PQclear(r);
    rollback(c);
    fprintf(stderr, "lienthong token revoke: %s\n", err);
    return EXIT_FAILED;
}

int lt_token_main(const lt_config *cfg, int argc, char **argv, bool json)
{
    const char *sub = argc > 1 ? argv[1] : NULL, *unit = NULL, *role = NULL, *target = NULL;
    const char *expires_arg = NULL, *grace_arg = NULL;
    bool all = false, day = false;
    char expires[32] = "", grace[32] = "7 days";
    static const char *const subs[] = {"create", "list", "rotate", "revoke", NULL};
    bool known = false;
    for (const char *const *s = subs; sub && *s; s++)
        known = known || strcmp(*s, sub) == 0;
    if (!known)
        return usage("which action? create, list, rotate or revoke", NULL);
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--unit") == 0 && i + 1 < argc)
            unit = argv[++i];
        else if (strcmp(a, "--role") == 0 && i + 1 < argc)
            role = argv[++i];
        else if (strcmp(a, "--expires") == 0 && i + 1 < argc)
            expires_arg = argv[++i];
        else if (strcmp(a, "--grace") == 0 && i + 1 < argc)
            grace_arg = argv[++i];
        else if (strcmp(a, "--all") == 0)
            all = true;
        else if (strcmp(a, "--json") == 0)
            json = true;
        else if (a[0] != '-' && !target)
            target = a;
        else
            return usage("unexpected argument ", a);
    }
    if (expires_arg && expiry(expires_arg, expires, sizeof(expires), &day) < 0)
        return usage("--expires takes a duration (90d, 12h, 30m) or a day YYYY-MM-DD, not ",
                     expires_arg);
    if (grace_arg && duration(grace_arg, grace, sizeof(grace)) < 0)
        return usage("--grace takes a duration (7d, 12h, 30m), not ", grace_arg);
    bool creates = strcmp(sub, "create") == 0, rotates = strcmp(sub, "rotate") == 0;
    if ((expires_arg && !creates && !rotates) || (grace_arg && !rotates))
        return usage(grace_arg ? "--grace is for rotate" : "--expires is for create and rotate",
                     NULL);
    if (creates) {
        if (!role || !known_role(role))
            return usage("--role must be ward, parent, operator or reader", NULL);
        if (!unit && (strcmp(role, "ward") == 0 || strcmp(role, "parent") == 0))
            return usage("--unit CODE is needed for the role ", role);
        if (target || all)
            return usage("create takes --unit, --role and --expires only", NULL);
    } else if ((strcmp(sub, "revoke") == 0 || rotates) && (!target || unit || role || all)) {
        return usage(rotates ? "rotate takes one id or prefix" : "revoke takes one id or prefix",
                     NULL);
    } else if (strcmp(sub, "list") == 0 && (target || role)) {
        return usage("list takes --unit and --all only", NULL);
    }
    char err[1024];
    lt_dbsession *db = lt_dbsession_open(cfg, LT_SCHEMA_APPLY, err, sizeof(err));
    if (!db) {
        fprintf(stderr, "lienthong token %s: %s\n", sub, err);
        return EXIT_FAILED;
    }
    PGconn *c = lt_dbsession_conn(db);
    const char *exp = expires_arg ? expires : NULL;
    int rc = creates                    ? create(c, unit, role, exp, day, json)
             : rotates                  ? rotate(c, target, grace, exp, day, json)
             : strcmp(sub, "list") == 0 ? list(c, unit, all, json)
                                        : revoke(c, target, json);
    lt_dbsession_close(&db);
    return rc;
}
