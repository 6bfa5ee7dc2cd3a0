/* lt_keygen_cli: CurveZMQ key pairs for the ZeroMQ ingress and replay
 * sockets.
 *
 * Without --unit: the gateway's own key pair, written to zmq.curve_key
 * (default data_dir/curve/server.key, mode 0600, the public key beside it
 * in server.pub). A file and not the configuration: the configuration is
 * printed (`serve -n`), copied and committed to repositories, and a secret
 * there leaks with it; a key file stays where the gateway runs. Every
 * gateway sharing a database may use its own server key.
 *
 * With --unit: a key pair for a unit's system. Only the public key is
 * stored (curve_keys, one per unit, with the role it stands for: ward by
 * default, or parent, like a token's); the secret is printed once and never
 * kept, like a token. Running it again replaces the unit's key: the ZAP
 * handlers of every running gateway reload on the table's NOTIFY and the
 * old key stops working at once (lt_zap.h). Each replacement is one
 * transaction with its audit_log row. */
#include "lt_keygen_cli.h"
#include "lt_audit.h"
#include "lt_db.h"
#include "lt_dbsession.h"
#include "lt_zap.h"

#include <jansson.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#define EXIT_FAILED 1
#define EXIT_USAGE  2

const char lt_keygen_help[] =
    "usage: lienthong keygen [--json]\n"
    "       lienthong keygen --unit CODE [--role ward|parent] [--json]\n"
    "\n"
    "CurveZMQ key pairs for the ZeroMQ ingress and replay sockets (zmq.curve).\n"
    "\n"
    "  (no --unit)  the gateway's own key pair: the secret key is written to\n"
    "               zmq.curve_key (default DATA_DIR/curve/server.key, mode 0600),\n"
    "               the public key beside it (server.pub) and printed: give it\n"
    "               to the units' systems. Running it again replaces the pair;\n"
    "               restart the gateway and hand out the new public key.\n"
    "  --unit CODE  a key pair for that unit's system: the public key is stored\n"
    "               for the unit, the secret key is printed ONCE (alone on the\n"
    "               last line; --json: {\"unit\", \"public\", \"secret\",\n"
    "               \"server_public\"}) and never stored. Running it again\n"
    "               replaces the unit's key: the old one is refused at once by\n"
    "               every gateway on this database, open connections included.\n"
    "  --role R     what the unit's key stands for, like a token of that role\n"
    "               and unit: ward (the default: the unit's own dossiers) or\n"
    "               parent (its subtree too).\n"
    "\n"
    "A CURVE client connects with its key pair and the server's public key.\n"
    "The key is its credential: a message [JSON] on ingress, or a replay\n"
    "without a token, acts as the key's ward or parent. A bearer token may\n"
    "still go along ([token, JSON]); it must then be of the key's unit.\n"
    "See schemas/zmq.md.\n"
    "\n"
    "Exit status: 0 done, 1 refused (unknown unit) or file/database failure,\n"
    "2 usage error.\n"
    "\n"
    "Example: lienthong keygen --unit 00001\n";

static int usage(const char *what, const char *arg)
{
    fprintf(stderr, "lienthong keygen: %s%s (see lienthong keygen --help)\n", what, arg ? arg : "");
    return EXIT_USAGE;
}

static int server_keygen(const lt_config *cfg, bool json)
{
    char path[PATH_MAX], pub[LT_ZAP_KEY_LEN + 1], sec[LT_ZAP_KEY_LEN + 1], err[PATH_MAX + 128];
    if (lt_config_curve_key_path(cfg, path, sizeof(path)) < 0) {
        fprintf(stderr, "lienthong keygen: zmq.curve_key: path too long\n");
        return EXIT_FAILED;
    }
    if (lt_zap_keypair(pub, sec) < 0) {
        fprintf(stderr, "lienthong keygen: cannot make a key pair (libzmq without CURVE?)\n");
        return EXIT_FAILED;
    }
    int rc = lt_zap_key_write(path, pub, sec, err, sizeof(err));
    sodium_memzero(sec, sizeof(sec));
    if (rc < 0) {
        fprintf(stderr, "lienthong keygen: %s\n", err);
        return EXIT_FAILED;
    }
    if (json) {
        json_t *j = json_pack("{s:s, s:s}", "server_public", pub, "secret_file", path);
        json_dumpf(j, stdout, JSON_COMPACT);
        putchar('\n');
        json_decref(j);
    } else {
        printf("server key pair written: secret key in %s (mode 0600)\n", path);
        printf("the units' systems connect with this server public key:\n%s\n", pub);
    }
    return 0;
}

static int unit_keygen(const lt_config *cfg, const char *unit, const char *role, bool json)
{
    char err[1024] = "", actor[96], pub[LT_ZAP_KEY_LEN + 1], sec[LT_ZAP_KEY_LEN + 1] = "";
    char path[PATH_MAX], server_sec[LT_ZAP_KEY_LEN + 1], server_pub[LT_ZAP_KEY_LEN + 1] = "";
    int rc = EXIT_FAILED;
    PGresult *r = NULL;
    PGconn *c = NULL;
    lt_dbsession *db = lt_dbsession_open(cfg, LT_SCHEMA_APPLY, err, sizeof(err));
    if (!db)
        goto fail;
    c = lt_dbsession_conn(db);
    if (lt_zap_keypair(pub, sec) < 0) {
        snprintf(err, sizeof(err), "cannot make a key pair (libzmq without CURVE?)");
        goto fail;
    }
    if (lt_db_exec_ok(c, "BEGIN", 0, NULL, err, sizeof(err)) < 0)
        goto fail;
    const char *p[3] = {unit, pub, role};
    r = lt_db_exec(c,
                   "WITH old AS (SELECT public_key FROM curve_keys WHERE unit_code = $1) "
                   "INSERT INTO curve_keys (unit_code, public_key, role) "
                   "SELECT code, $2, $3 FROM units WHERE code = $1 "
                   "ON CONFLICT (unit_code) DO UPDATE SET public_key = EXCLUDED.public_key, "
                   "role = EXCLUDED.role, created_at = now() "
                   "RETURNING (SELECT public_key FROM old)",
                   3, p, err, sizeof(err));
    if (!r)
        goto rollback;
    if (PQntuples(r) == 0) {
        snprintf(err, sizeof(err),
                 "unit %s is not in the unit tree; load it with lienthong units import", unit);
        goto rollback;
    }
    json_t *detail = json_pack("{s:s, s:s, s:s?}", "public_key", pub, "role", role, "replaced",
                               PQgetisnull(r, 0, 0) ? NULL : PQgetvalue(r, 0, 0));
    lt_audit_cli_actor(actor, sizeof(actor));
    int arc = lt_audit_record(c, actor, "curve.keygen", unit, detail, err, sizeof(err));
    json_decref(detail);
    if (arc < 0 || lt_db_exec_ok(c, "COMMIT", 0, NULL, err, sizeof(err)) < 0)
        goto rollback;
    bool replaced = !PQgetisnull(r, 0, 0);
    /* The server's public key, when this machine has it: the unit's system
     * needs both. */
    char kerr[PATH_MAX + 128];
    if (lt_config_curve_key_path(cfg, path, sizeof(path)) < 0 ||
        lt_zap_key_read(path, server_sec, server_pub, kerr, sizeof(kerr)) < 0)
        server_pub[0] = '\0';
    sodium_memzero(server_sec, sizeof(server_sec));
    if (json) {
        json_t *j =
            json_pack("{s:s, s:s, s:s, s:s, s:s?}", "unit", unit, "role", role, "public", pub,
                      "secret", sec, "server_public", server_pub[0] ? server_pub : NULL);
        json_dumpf(j, stdout, JSON_COMPACT);
        putchar('\n');
        json_decref(j);
    } else {
        printf("CURVE key pair for unit %s (%s) %s\npublic key: %s\n", unit, role,
               replaced ? "made; the previous key is refused from now on" : "made", pub);
        if (server_pub[0])
            printf("server public key: %s\n", server_pub);
        printf("store the secret key now; it is not shown again:\n%s\n", sec);
    }
    rc = 0;
    goto out;
rollback:
    PQclear(PQexec(c, "ROLLBACK"));
fail:
    fprintf(stderr, "lienthong keygen: %s\n", err);
out:
    sodium_memzero(sec, sizeof(sec));
    PQclear(r);
    lt_dbsession_close(&db);
    return rc;
}

int lt_keygen_main(const lt_config *cfg, int argc, char **argv, bool json)
{
    const char *unit = NULL, *role = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--unit") == 0 && i + 1 < argc && argv[i + 1][0])
            unit = argv[++i];
        else if (strcmp(argv[i], "--role") == 0 && i + 1 < argc)
            role = argv[++i];
        else if (strcmp(argv[i], "--json") == 0)
            json = true;
        else
            return usage("unexpected argument ", argv[i]);
    }
    if (role && strcmp(role, "ward") != 0 && strcmp(role, "parent") != 0)
        return usage("--role must be ward or parent, not ", role);
    if (role && !unit)
        return usage("--role needs --unit", NULL);
    return unit ? unit_keygen(cfg, unit, role ? role : "ward", json) : server_keygen(cfg, json);
}
