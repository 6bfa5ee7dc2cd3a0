/* lt_zap: CurveZMQ on the ingress and replay sockets (DESIGN.md, "Contract:
 * ZeroMQ"; schemas/zmq.md, "CURVE").
 *
 * - The ZAP handler actor (RFC 27) answers libzmq's authentication requests
 *   on inproc://zeromq.zap.01: a CURVE client whose public key is a unit's
 *   (table curve_keys, `lienthong keygen --unit`) gets status 200, User-Id
 *   = the unit code and the metadata property X-Curve-Key = its key (Z85);
 *   any other gets 400. It keeps the table in memory and reloads it on
 *   NOTIFY lt_curve_keys and at least every LT_ZAP_RELOAD_MS.
 * - A key that disappears on a reload is announced on LT_ZAP_REVOKED_ENDPOINT,
 *   so the fronts refuse messages from connections that authenticated with
 *   it before (lt_zap_revoked): a replaced key stops working at once, not at
 *   the peer's next reconnection.
 * - The server's key pair lives in a file (zmq.curve_key, default
 *   data_dir/curve/server.key, mode 0600), written by `lienthong keygen`. */
#ifndef LT_ZAP_H
#define LT_ZAP_H

#include <stdbool.h>
#include <stddef.h>
#include <zmq.h>

#include "lt_auth.h"
#include "lt_config.h"

#define LT_ZAP_ENDPOINT         "inproc://zeromq.zap.01" /* fixed by libzmq */
#define LT_ZAP_REVOKED_ENDPOINT "inproc://lt-curve-revoked"
#define LT_ZAP_DOMAIN           "lienthong"
#define LT_ZAP_KEY_LEN          40   /* a Z85 key, without its NUL */
#define LT_ZAP_RELOAD_MS        5000 /* the longest a lost NOTIFY can delay a key change */
#define LT_ZAP_MAX_UNIT         64

typedef struct lt_zap_args {
    const char *conninfo; /* borrowed; outlives the actor */
    const lt_config *cfg; /* copied at start */
    void *zmq_ctx;
} lt_zap_args;

/* lt_actor_fn: run with lt_actor_new(ctx, "zap", lt_zap_actor, &args)
 * before any socket that uses CURVE is bound: libzmq lets every CURVE
 * client in while no handler is bound. */
void lt_zap_actor(void *pipe, void *args);

/* ---- key files ---- */

/* Makes a key pair (Z85, NUL-terminated). Returns 0 or -1. */
int lt_zap_keypair(char ret_public[LT_ZAP_KEY_LEN + 1], char ret_secret[LT_ZAP_KEY_LEN + 1])
    __attribute__((warn_unused_result));

/* Writes secret (its first line) to path with mode 0600, through a
 * temporary file renamed over the old one, creating the directory (0700)
 * when missing; and the public key to path with ".pub" for ".key" (or
 * appended), mode 0644. Returns 0, or -1 with err. */
int lt_zap_key_write(const char *path, const char *public_key, const char *secret_key, char *err,
                     size_t cap) __attribute__((warn_unused_result));

/* Reads the secret key file at path and derives its public key. Refuses a
 * file that others may read (like ssh). Returns 0, or -1 with err. */
int lt_zap_key_read(const char *path, char ret_secret[LT_ZAP_KEY_LEN + 1],
                    char ret_public[LT_ZAP_KEY_LEN + 1], char *err, size_t cap)
    __attribute__((warn_unused_result));

/* Makes sock a CURVE server with secret_key (Z85) in the ZAP domain
 * LT_ZAP_DOMAIN. Before bind. Returns 0 or -1 (errno from ZeroMQ). */
int lt_zap_server_setup(void *sock, const char *secret_key) __attribute__((warn_unused_result));

/* The unit and key the ZAP handler gave the connection a received frame came
 * on. Returns 0, or -1 when the frame carries none (not a CURVE socket). */
int lt_zap_peer(zmq_msg_t *frame, char ret_unit[LT_ZAP_MAX_UNIT], char ret_key[LT_ZAP_KEY_LEN + 1])
    __attribute__((warn_unused_result));

/* ---- who a key stands for ---- */

/* A key acts, without a token, as its unit's ward or parent (curve_keys.role,
 * 0018). Looked up when a message or replay arrives rather than carried from
 * the handshake, because the unit's dialect can change under an open
 * connection (units import). The rows have LT_AUTH_LOOKUP_SQL's columns (0
 * "curve:<key>", 1 NULL, 2 role, 3 unit, 4 the unit's dialect or NULL, 5 0),
 * so that one statement can look tokens and keys up together with UNION ALL.
 * PARAM names the text[] parameter of the keys ("$2"), whose literal holds
 * each key double-quoted (Z85 has "{}" but no quote or backslash). */
#define LT_ZAP_PRINCIPAL_SQL(PARAM)                                                                \
    "SELECT 'curve:' || k.public_key, NULL, k.role, k.unit_code, u.dialect, 0"                     \
    " FROM curve_keys k LEFT JOIN units u ON u.code = k.unit_code"                                 \
    " WHERE k.public_key = ANY(" PARAM "::text[])"

/* The principal of key among rows of LT_ZAP_PRINCIPAL_SQL (other rows may be
 * there: tokens', other keys'): role and unit from curve_keys, dialect from
 * the unit, no credential id and no token prefix. Returns 0, or -1 when the
 * key has no row (replaced or removed since the handshake). */
int lt_zap_principal(const char *key, const PGresult *rows, lt_principal *ret)
    __attribute__((warn_unused_result));

/* ---- keys revoked while their connections may still be open ---- */

typedef struct lt_zap_revoked lt_zap_revoked;

/* Subscribes to LT_ZAP_REVOKED_ENDPOINT (the ZAP actor must be running).
 * NULL on error. */
lt_zap_revoked *lt_zap_revoked_new(void *zmq_ctx) __attribute__((warn_unused_result));
void lt_zap_revoked_destroy(lt_zap_revoked **self_p);

/* The socket to watch (ZMQ_POLLIN); call lt_zap_revoked_read when readable. */
void *lt_zap_revoked_socket(lt_zap_revoked *self);
void lt_zap_revoked_read(lt_zap_revoked *self);

/* True when key was replaced or removed since this gateway started. Keeps the
 * last LT_ZAP_REVOKED_MAX keys: a connection would have to survive that many
 * key changes to slip through. */
#define LT_ZAP_REVOKED_MAX 4096
bool lt_zap_revoked_has(const lt_zap_revoked *self, const char *key);

#endif
