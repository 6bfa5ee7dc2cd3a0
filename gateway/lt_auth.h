/* lt_auth: who is calling, from a bearer token (DESIGN.md, the auth table).
 * A token's prefix finds its credential rows (LT_AUTH_LOOKUP_SQL); the
 * secret is checked against the stored hash in constant time (lt_token).
 * The roles: ward and parent are unit-scoped senders and readers of their
 * own units' dossiers; operator reads everything and acts on rejects and
 * dead letters; reader reads everything with personal data masked. Every
 * lookup goes to the database, so a created or revoked token takes effect in
 * running gateways at once. */
#ifndef LT_AUTH_H
#define LT_AUTH_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lt_token.h"

#define LT_AUTH_MAX_UNIT    64 /* bytes of a unit code, with room to spare */
#define LT_AUTH_MAX_DIALECT 64

typedef enum {
    LT_ROLE_NONE = 0, /* auth.required = false and no token: development only */
    LT_ROLE_WARD,
    LT_ROLE_PARENT,
    LT_ROLE_OPERATOR,
    LT_ROLE_READER,
} lt_role;

/* The caller a token names. */
typedef struct lt_principal {
    int64_t credential_id;             /* credentials.id; 0 for LT_ROLE_NONE */
    lt_role role;                      /* what it may do */
    char unit[LT_AUTH_MAX_UNIT];       /* its unit code; "" for operator, reader and none */
    char dialect[LT_AUTH_MAX_DIALECT]; /* the unit's dialect (units.dialect); "" = canonical */
    char prefix[16];                   /* the token's public prefix (audit actor); "" for none */
} lt_principal;

/* Why a token was refused. */
typedef enum {
    LT_AUTH_OK = 0,
    LT_AUTH_MISSING = -1, /* no token where one is required: 401 */
    LT_AUTH_INVALID =
        -2, /* malformed, unknown, wrong, revoked or expired: 401 (never says which) */
} lt_auth_rc;

/* The live credential rows for a set of token prefixes. $1 is a text[] of
 * prefixes; columns: 0 token_prefix, 1 token_hash, 2 role, 3 unit_code (may
 * be NULL), 4 the unit's dialect (may be NULL), 5 id. Revoked and expired
 * rows are left out. */
extern const char LT_AUTH_LOOKUP_SQL[];
/* The same text as a literal, for statements that extend it (the writer adds
 * the CURVE keys' rows, lt_zap.h). */
#define LT_AUTH_LOOKUP_SELECT                                                                      \
    "SELECT c.token_prefix, c.token_hash, c.role, c.unit_code, u.dialect, c.id"                    \
    " FROM credentials c LEFT JOIN units u ON u.code = c.unit_code"                                \
    " WHERE c.token_prefix = ANY($1::text[]) AND c.revoked_at IS NULL"                             \
    " AND (c.expires_at IS NULL OR c.expires_at > now())"

/* The Bearer token of an Authorization header value, copied into ret_token
 * (cap >= LT_TOKEN_MAX). Returns 0, or -1 when header is NULL or not
 * "Bearer <token>" with a token that fits. */
int lt_auth_bearer(const char *header, char *ret_token, size_t cap)
    __attribute__((warn_unused_result));

/* Writes the text[] literal of the prefixes of n tokens ("{p1,p2}"), for
 * LT_AUTH_LOOKUP_SQL's $1; tokens without a well-formed prefix are left out.
 * Returns a new string (caller frees), NULL when out of memory. */
char *lt_auth_prefix_array(const char *const *tokens, size_t n) __attribute__((warn_unused_result));

/* Checks token against the rows of LT_AUTH_LOOKUP_SQL (rows may hold other
 * tokens' rows too). On LT_AUTH_OK *ret is filled. token "" is
 * LT_AUTH_MISSING. */
lt_auth_rc lt_auth_match(const char *token, const PGresult *rows, lt_principal *ret)
    __attribute__((warn_unused_result));

/* The role named by credentials.role ("ward", ...), LT_ROLE_NONE when none. */
lt_role lt_auth_role_parse(const char *name);
const char *lt_auth_role_name(lt_role role);

/* Whether role may push dossiers (ward, parent; and none when auth is off). */
bool lt_auth_may_write(lt_role role);

/* The 401 body, {"error": {"code": "unauthorized", "message": ...}}, for rc;
 * the caller adds WWW-Authenticate: Bearer. Caller frees. */
char *lt_auth_refusal_text(lt_auth_rc rc) __attribute__((warn_unused_result));

#endif
