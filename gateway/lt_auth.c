/* lt_auth: bearer tokens to principals (see lt_auth.h). No state and no
 * cache: the database answers every lookup, which is what makes a
 * revocation take effect at once in every gateway sharing it. */
#include "lt_auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char LT_AUTH_LOOKUP_SQL[] = LT_AUTH_LOOKUP_SELECT;

int lt_auth_bearer(const char *header, char *ret_token, size_t cap)
{
    if (!header || strncasecmp(header, "Bearer ", 7) != 0)
        return -1;
    const char *t = header + 7;
    while (*t == ' ')
        t++;
    size_t n = strlen(t);
    while (n > 0 && (t[n - 1] == ' ' || t[n - 1] == '\t'))
        n--;
    if (n == 0 || n >= cap)
        return -1;
    memcpy(ret_token, t, n);
    ret_token[n] = '\0';
    return 0;
}

char *lt_auth_prefix_array(const char *const *tokens, size_t n)
{
    /* Prefixes are 10 hex digits: nothing in them needs quoting. */
    char *s = malloc(2 + n * (LT_TOKEN_PREFIX_LEN + 1) + 1);
    if (!s)
        return NULL;
    size_t len = 0;
    s[len++] = '{';
    for (size_t i = 0; i < n; i++) {
        char p[LT_TOKEN_PREFIX_LEN + 1];
        if (!tokens[i] || lt_token_prefix(tokens[i], p) < 0)
            continue;
        if (len > 1)
            s[len++] = ',';
        memcpy(s + len, p, LT_TOKEN_PREFIX_LEN);
        len += LT_TOKEN_PREFIX_LEN;
    }
    s[len++] = '}';
    s[len] = '\0';
    return s;
}

static void copy_field(char *dst, size_t cap, const PGresult *r, int row, int col)
{
    dst[0] = '\0';
    if (!PQgetisnull(r, row, col))
        snprintf(dst, cap, "%s", PQgetvalue(r, row, col));
}

lt_auth_rc lt_auth_match(const char *token, const PGresult *rows, lt_principal *ret)
{
    if (!token || !token[0])
        return LT_AUTH_MISSING;
    char prefix[LT_TOKEN_PREFIX_LEN + 1];
    if (lt_token_prefix(token, prefix) < 0 || !rows)
        return LT_AUTH_INVALID;
    int n = PQntuples(rows);
    for (int i = 0; i < n; i++) {
        if (strcmp(PQgetvalue(rows, i, 0), prefix) != 0)
            continue;
        /* Prefixes are random, not unique by constraint: try every row. */
        if (!lt_token_verify(token, PQgetvalue(rows, i, 1)))
            continue;
        lt_role role = lt_auth_role_parse(PQgetvalue(rows, i, 2));
        if (role == LT_ROLE_NONE)
            continue;
        memset(ret, 0, sizeof(*ret));
        ret->role = role;
        ret->credential_id = strtoll(PQgetvalue(rows, i, 5), NULL, 10);
        copy_field(ret->unit, sizeof(ret->unit), rows, i, 3);
        copy_field(ret->dialect, sizeof(ret->dialect), rows, i, 4);
        snprintf(ret->prefix, sizeof(ret->prefix), "%s", prefix);
        return LT_AUTH_OK;
    }
    return LT_AUTH_INVALID;
}

static const char *const role_names[] = {
    [LT_ROLE_NONE] = "none",         [LT_ROLE_WARD] = "ward",     [LT_ROLE_PARENT] = "parent",
    [LT_ROLE_OPERATOR] = "operator", [LT_ROLE_READER] = "reader",
};

lt_role lt_auth_role_parse(const char *name)
{
    for (size_t i = LT_ROLE_WARD; i < sizeof(role_names) / sizeof(role_names[0]); i++)
        if (name && strcmp(name, role_names[i]) == 0)
            return (lt_role)i;
    return LT_ROLE_NONE;
}

const char *lt_auth_role_name(lt_role role)
{
    return (size_t)role < sizeof(role_names) / sizeof(role_names[0]) ? role_names[role] : "none";
}

bool lt_auth_may_write(lt_role role)
{
    return role == LT_ROLE_WARD || role == LT_ROLE_PARENT || role == LT_ROLE_NONE;
}

char *lt_auth_refusal_text(lt_auth_rc rc)
{
    /* One message for unknown, wrong, revoked and expired: telling them
     * apart would help whoever is guessing. */
    const char *msg = rc == LT_AUTH_MISSING
                          ? "a bearer token is required (Authorization: Bearer <token>)"
                          : "the bearer token is not valid (unknown, revoked, expired or mistyped)";
    char *s = malloc(160);
    if (s)
        snprintf(s, 160, "{\"error\":{\"code\":\"unauthorized\",\"message\":\"%s\"}}", msg);
    return s;
}
