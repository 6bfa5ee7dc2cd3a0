/* lt_token_cli: `lienthong token create|list|revoke`. Tokens live in the
 * credentials table of the shared database, so a token created or revoked
 * here takes effect in every running gateway at its next lookup; nothing is
 * cached in a gateway's memory. The token is printed once and never logged:
 * only its prefix appears anywhere afterwards. */
#include "lt_token_cli.h"
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
    "usage: lienthong token create --unit CODE --role ROLE [--json]\n"
    "       lienthong token list [--unit CODE] [--all] [--json]\n"
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
    "  list    shows id, prefix, role, unit, created, last used and revoked\n"
    "          (revoked ones only with --all); never the token.\n"
    "  revoke  by id or by prefix (the 10 hex digits after \"lt_\"); a revoked\n"
    "          token gets 401 at once in every gateway on this database.\n"
    "\n"
    "Uses the same database as serve and applies pending migrations first.\n"
    "Exit status: 0 done, 1 refused (unknown unit, nothing to revoke) or\n"
    "database failure, 2 usage error.\n"
    "\n"
    "Example: lienthong token create --unit 00001 --role ward\n";

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

static int create(PGconn *c, const char *unit, const char *role, bool json)
{
    char token[LT_TOKEN_MAX], prefix[LT_TOKEN_PREFIX_LEN + 1], hash[LT_TOKEN_HASH_MAX];
    char err[512] = "";
    int rc = EXIT_FAILED;
    PGresult *r = NULL;
    if (lt_token_generate(token, sizeof(token), prefix) < 0 ||
        lt_token_hash(token, hash, sizeof(hash)) < 0) {
        fprintf(stderr, "lienthong token create: cannot make a token\n");
        goto out;
    }
    if (unit) {
        const char *p[1] = {unit};
        r = lt_db_exec(c, "SELECT name FROM units WHERE code = $1", 1, p, err, sizeof(err));
        if (!r)
            goto fail;
        if (PQntuples(r) == 0) {
            fprintf(stderr,
                    "lienthong token create: unit %s is not in the unit tree; load it with "
                    "lienthong units import\n",
                    unit);
            goto out;
        }
        PQclear(r);
    }
    const char *p[4] = {unit, role, hash, prefix};
    r = lt_db_exec(c,
                   "INSERT INTO credentials (unit_code, role, token_hash, token_prefix) "
                   "VALUES ($1, $2, $3, $4) RETURNING id",
                   4, p, err, sizeof(err));
    if (!r)
        goto fail;
    if (json) {
        json_t *j = json_pack("{s:s, s:I, s:s, s:s, s:s?}", "token", token, "id",
                              (json_int_t)strtoll(PQgetvalue(r, 0, 0), NULL, 10), "prefix", prefix,
                              "role", role, "unit", unit);
        json_dumpf(j, stdout, JSON_COMPACT);
        putchar('\n');
        json_decref(j);
    } else {
        printf("token %s created: role %s%s%s, prefix %s\n", PQgetvalue(r, 0, 0), role,
               unit ? ", unit " : "", unit ? unit : "", prefix);
        printf("store it now; it is not shown again:\n%s\n", token);
    }
    rc = 0;
    goto out;
fail:
    fprintf(stderr, "lienthong token create: %s\n", err);
out:
    PQclear(r);
    sodium_memzero(token, sizeof(token));
    return rc;
}

static int list(PGconn *c, const char *unit, bool all, bool json)
{
    char err[512] = "";
    const char *p[2] = {unit, all ? "t" : "f"};
    PGresult *r =
        lt_db_exec(c,
                   "SELECT id, token_prefix, role, coalesce(unit_code, ''), "
                   " to_char(created_at, 'YYYY-MM-DD HH24:MI'), "
                   " coalesce(to_char(last_used_at, 'YYYY-MM-DD HH24:MI'), ''), "
                   " coalesce(to_char(revoked_at, 'YYYY-MM-DD HH24:MI'), '') "
                   "FROM credentials "
                   "WHERE ($1::text IS NULL OR unit_code = $1) AND ($2 OR revoked_at IS NULL) "
                   "ORDER BY id",
                   2, p, err, sizeof(err));
    if (!r) {
        fprintf(stderr, "lienthong token list: %s\n", err);
        return EXIT_FAILED;
    }
    json_t *arr = json ? json_array() : NULL;
    if (!json)
        printf("%-6s %-10s %-8s %-12s %-16s %-16s %s\n", "id", "prefix", "role", "unit", "created",
               "last used", "revoked");
    for (int i = 0; i < PQntuples(r); i++) {
        const char *v[7];
        for (int k = 0; k < 7; k++)
            v[k] = PQgetvalue(r, i, k);
        if (json)
            json_array_append_new(arr, json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s}", "id",
                                                 (json_int_t)strtoll(v[0], NULL, 10), "prefix",
                                                 v[1], "role", v[2], "unit", v[3], "created", v[4],
                                                 "last_used", v[5], "revoked", v[6]));
        else
            printf("%-6s %-10s %-8s %-12s %-16s %-16s %s\n", v[0], v[1], v[2], v[3], v[4],
                   v[5][0] ? v[5] : "-", v[6][0] ? v[6] : "-");
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

static int revoke(PGconn *c, const char *which, bool json)
{
    char err[512] = "";
    const char *p[1] = {which};
    /* An id is all digits; a prefix is 10 hex digits. Both are tried, so a
     * prefix that happens to be all digits still works. */
    PGresult *r = lt_db_exec(c,
                             "UPDATE credentials SET revoked_at = now() "
                             "WHERE revoked_at IS NULL AND (token_prefix = $1 OR "
                             " ($1 ~ '^[0-9]{1,18}$' AND id = $1::bigint)) "
                             "RETURNING id, token_prefix",
                             1, p, err, sizeof(err));
    if (!r) {
        fprintf(stderr, "lienthong token revoke: %s\n", err);
        return EXIT_FAILED;
    }
    int n = PQntuples(r);
    if (n == 0)
        fprintf(stderr, "lienthong token revoke: no active token with id or prefix %s\n", which);
    for (int i = 0; i < n; i++) {
        if (json)
            printf("{\"revoked\":%s,\"prefix\":\"%s\"}\n", PQgetvalue(r, i, 0),
                   PQgetvalue(r, i, 1));
        else
            printf("token %s (prefix %s) revoked\n", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1));
    }
    PQclear(r);
    return n > 0 ? 0 : EXIT_FAILED;
}

int lt_token_main(const lt_config *cfg, int argc, char **argv, bool json)
{
    const char *sub = argc > 1 ? argv[1] : NULL, *unit = NULL, *role = NULL, *target = NULL;
    bool all = false;
    if (!sub ||
        (strcmp(sub, "create") != 0 && strcmp(sub, "list") != 0 && strcmp(sub, "revoke") != 0))
        return usage("which action? create, list or revoke", NULL);
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--unit") == 0 && i + 1 < argc)
            unit = argv[++i];
        else if (strcmp(a, "--role") == 0 && i + 1 < argc)
            role = argv[++i];
        else if (strcmp(a, "--all") == 0)
            all = true;
        else if (strcmp(a, "--json") == 0)
            json = true;
        else if (a[0] != '-' && !target)
            target = a;
        else
            return usage("unexpected argument ", a);
    }
    if (strcmp(sub, "create") == 0) {
        if (!role || !known_role(role))
            return usage("--role must be ward, parent, operator or reader", NULL);
        if (!unit && (strcmp(role, "ward") == 0 || strcmp(role, "parent") == 0))
            return usage("--unit CODE is needed for the role ", role);
        if (target || all)
            return usage("create takes --unit and --role only", NULL);
    } else if (strcmp(sub, "revoke") == 0 && (!target || unit || role || all)) {
        return usage("revoke takes one id or prefix", NULL);
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
    int rc = strcmp(sub, "create") == 0 ? create(c, unit, role, json)
             : strcmp(sub, "list") == 0 ? list(c, unit, all, json)
                                        : revoke(c, target, json);
    lt_dbsession_close(&db);
    return rc;
}
