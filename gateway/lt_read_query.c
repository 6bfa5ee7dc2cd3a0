/* lt_read_query: the dossier reads' parameters (see lt_read_query.h).
 *
 * Why apart from the reader: the HTTP front must refuse a bad parameter with
 * 400 naming it before anything is queued, and the reader must trust only
 * what this module would have produced; both sides link the same rules, and
 * a unit test walks them without a database. */
#include "lt_read_query.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The parameters each verb takes, in the order its 400 lists them. */
static const char *const verb_params[LT_READ_NVERBS][5] = {
    [LT_READ_DOSSIER] = {NULL},
    [LT_READ_DOSSIERS] = {"unit", "status", "since", "limit", NULL},
    [LT_READ_EVENTS] = {"since", "prefix", "limit", NULL},
    [LT_READ_REJECTS] = {"since", "limit", "unit", NULL},
    [LT_READ_DEADLETTERS] = {"destination", "since", "limit", NULL},
    [LT_READ_REPLAY] = {NULL}, /* its choice comes in the body */
};

static const char *const verb_names[LT_READ_NVERBS] = {
    [LT_READ_DOSSIER] = "dossier",         [LT_READ_DOSSIERS] = "dossiers",
    [LT_READ_EVENTS] = "events",           [LT_READ_REJECTS] = "rejects",
    [LT_READ_DEADLETTERS] = "deadletters", [LT_READ_REPLAY] = "replay",
};

const char *lt_read_verb_name(lt_read_verb verb)
{
    return (unsigned)verb < LT_READ_NVERBS ? verb_names[verb] : "?";
}

int lt_read_verb_parse(const char *name, lt_read_verb *ret)
{
    for (int i = 0; i < LT_READ_NVERBS; i++)
        if (name && strcmp(name, verb_names[i]) == 0) {
            *ret = (lt_read_verb)i;
            return 0;
        }
    return -1;
}

bool lt_read_parse_count(const char *s, int64_t min, int64_t max, int64_t *ret)
{
    if (!s || !*s || strlen(s) > 19 || strspn(s, "0123456789") != strlen(s))
        return false;
    errno = 0;
    long long v = strtoll(s, NULL, 10);
    if (errno || v < min || v > max)
        return false;
    *ret = v;
    return true;
}

/* Text that fits cap bytes (NUL included) and holds no control character:
 * unit codes and topic prefixes go into SQL parameters and error messages. */
static bool plain_text(const char *s, size_t cap)
{
    size_t n = strlen(s);
    if (n >= cap)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

static lt_read_query defaults(lt_read_verb verb)
{
    return (lt_read_query){.verb = verb, .limit = LT_READ_DEFAULT_LIMIT};
}

/* Checks and stores one parameter the verb takes; -1 with msg. */
static int set_param(lt_read_query *q, const char *k, const char *v, char *msg, size_t mcap)
{
    int64_t num = 0;
    if (strcmp(k, "unit") == 0) {
        if (!*v || !plain_text(v, sizeof(q->unit))) {
            snprintf(msg, mcap, "unit: expected a unit code (at most %zu bytes)",
                     sizeof(q->unit) - 1);
            return -1;
        }
        snprintf(q->unit, sizeof(q->unit), "%s", v);
    } else if (strcmp(k, "status") == 0) {
        if (!lt_read_parse_count(v, 1, 10, &num)) {
            snprintf(msg, mcap, "status: expected a status code from 1 to 10 (TrangThaiHoSo)");
            return -1;
        }
        q->status = (int)num;
    } else if (strcmp(k, "since") == 0) {
        if (!lt_read_parse_count(v, 0, INT64_MAX, &num)) {
            snprintf(msg, mcap, "since: expected %s (a whole number >= 0)",
                     q->verb == LT_READ_REJECTS       ? "a reject id"
                     : q->verb == LT_READ_DEADLETTERS ? "a dead letter id"
                                                      : "an event sequence");
            return -1;
        }
        q->since = num;
    } else if (strcmp(k, "limit") == 0) {
        if (!lt_read_parse_count(v, 1, LT_READ_MAX_LIMIT, &num)) {
            snprintf(msg, mcap, "limit: expected a page size from 1 to %d", LT_READ_MAX_LIMIT);
            return -1;
        }
        q->limit = num;
    } else if (strcmp(k, "destination") == 0) {
        if (!*v || !plain_text(v, sizeof(q->destination))) {
            snprintf(msg, mcap, "destination: expected a destination name (at most %d bytes)",
                     LT_READ_MAX_DEST);
            return -1;
        }
        snprintf(q->destination, sizeof(q->destination), "%s", v);
    } else { /* prefix */
        if (!plain_text(v, sizeof(q->prefix))) {
            snprintf(msg, mcap, "prefix: expected a topic prefix of at most %d bytes",
                     LT_READ_MAX_PREFIX);
            return -1;
        }
        snprintf(q->prefix, sizeof(q->prefix), "%s", v);
    }
    return 0;
}

int lt_query_key(const char *const *keys, size_t i, const char *const *known, char *field,
                 size_t fcap, char *msg, size_t mcap)
{
    const char *k = keys[i];
    snprintf(field, fcap, "%.64s", k);
    int which = -1;
    for (int w = 0; known[w] && which < 0; w++)
        if (strcmp(k, known[w]) == 0)
            which = w;
    if (which < 0) {
        char expected[96];
        size_t len = 0;
        expected[0] = '\0';
        for (const char *const *p = known; *p && len < sizeof(expected); p++)
            len += (size_t)snprintf(expected + len, sizeof(expected) - len, "%s%s", len ? ", " : "",
                                    *p);
        if (expected[0])
            snprintf(msg, mcap, "unknown parameter %.64s (expected %s)", k, expected);
        else
            snprintf(msg, mcap, "unknown parameter %.64s (this call takes none)", k);
        return -1;
    }
    for (size_t j = 0; j < i; j++)
        if (strcmp(keys[j], k) == 0) {
            snprintf(msg, mcap, "%s: given more than once", k);
            return -1;
        }
    return which;
}

int lt_read_query_parse(lt_read_verb verb, const char *const *keys, const char *const *values,
                        size_t n, lt_read_query *ret, char *field, size_t fcap, char *msg,
                        size_t mcap)
{
    if ((unsigned)verb >= LT_READ_NVERBS)
        return -1;
    lt_read_query q = defaults(verb);
    for (size_t i = 0; i < n; i++) {
        const char *k = keys[i], *v = values[i] ? values[i] : "";
        if (lt_query_key(keys, i, verb_params[verb], field, fcap, msg, mcap) < 0)
            return -1;
        if (set_param(&q, k, v, msg, mcap) < 0)
            return -1;
    }
    *ret = q;
    return 0;
}

int lt_read_query_set_code(lt_read_query *q, const char *code)
{
    if (!code || !*code || strchr(code, '/') || !plain_text(code, sizeof(q->code)))
        return -1;
    snprintf(q->code, sizeof(q->code), "%s", code);
    return 0;
}

/* Why a parser of its own and not lt_read_query_parse: the replay's choice
 * is a JSON body (DESIGN.md), and "id" and "all" exclude each other. */
int lt_read_replay_parse(const char *body, size_t len, lt_read_query *ret, char *field, size_t fcap,
                         char *msg, size_t mcap)
{
    lt_read_query q = defaults(LT_READ_REPLAY);
    json_t *j = body ? json_loadb(body, len, 0, NULL) : NULL;
    int rc = -1;
    bool all = false, has_all = false;
    snprintf(field, fcap, "body");
    if (!json_is_object(j)) {
        snprintf(msg, mcap,
                 "expected a JSON object: {\"destination\": D, \"id\": N} or "
                 "{\"destination\": D, \"all\": true}");
        goto out;
    }
    const char *k;
    json_t *v;
    json_object_foreach(j, k, v)
    {
        snprintf(field, fcap, "%.64s", k);
        if (strcmp(k, "destination") == 0) {
            const char *d = json_string_value(v);
            if (!d || !*d || !plain_text(d, sizeof(q.destination))) {
                snprintf(msg, mcap,
                         "destination: expected a destination name (portal, unit:<code>, "
                         "ward:<code>, webhook)");
                goto out;
            }
            snprintf(q.destination, sizeof(q.destination), "%s", d);
        } else if (strcmp(k, "id") == 0) {
            if (!json_is_integer(v) || json_integer_value(v) < 1) {
                snprintf(msg, mcap, "id: expected a dead letter id (a whole number >= 1)");
                goto out;
            }
            q.id = json_integer_value(v);
        } else if (strcmp(k, "all") == 0) {
            if (!json_is_boolean(v)) {
                snprintf(msg, mcap, "all: expected true");
                goto out;
            }
            has_all = true;
            all = json_is_true(v);
        } else {
            snprintf(msg, mcap, "unknown member %.64s (expected destination, and id or all)", k);
            goto out;
        }
    }
    if (!q.destination[0]) {
        snprintf(field, fcap, "destination");
        snprintf(msg, mcap, "destination is required (portal, unit:<code>, ward:<code>, webhook)");
        goto out;
    }
    if (q.id != 0 && has_all) {
        snprintf(field, fcap, "all");
        snprintf(msg, mcap, "give either \"id\": N or \"all\": true, not both");
        goto out;
    }
    if (q.id == 0 && !all) {
        snprintf(field, fcap, has_all ? "all" : "id");
        snprintf(msg, mcap, "give either \"id\": N or \"all\": true");
        goto out;
    }
    *ret = q;
    rc = 0;
out:
    json_decref(j);
    return rc;
}

json_t *lt_read_query_json(const lt_read_query *q, const char *token)
{
    return json_pack("{s:s, s:s, s:i, s:I, s:I, s:s, s:s, s:I, s:s}", "code", q->code, "unit",
                     q->unit, "status", q->status, "since", (json_int_t)q->since, "limit",
                     (json_int_t)q->limit, "prefix", q->prefix, "destination", q->destination, "id",
                     (json_int_t)q->id, "token", token ? token : "");
}

int lt_read_query_from_json(lt_read_verb v, const json_t *j, lt_read_query *ret, char *ret_token,
                            size_t tcap)
{
    const char *code = NULL, *unit = NULL, *prefix = NULL, *token = NULL, *dest = "";
    json_int_t since = 0, limit = 0, id = 0;
    int status = 0;
    if ((unsigned)v >= LT_READ_NVERBS ||
        json_unpack((json_t *)j, "{s:s, s:s, s:i, s:I, s:I, s:s, s?:s, s?:I, s:s}", "code", &code,
                    "unit", &unit, "status", &status, "since", &since, "limit", &limit, "prefix",
                    &prefix, "destination", &dest, "id", &id, "token", &token) < 0 ||
        status < 0 || status > 10 || since < 0 || limit < 1 || limit > LT_READ_MAX_LIMIT ||
        id < 0 || !plain_text(unit, sizeof(ret->unit)) ||
        !plain_text(prefix, sizeof(ret->prefix)) || !plain_text(dest, sizeof(ret->destination)) ||
        strlen(token) >= tcap || (v == LT_READ_REPLAY && !*dest))
        return -1;
    lt_read_query q = defaults(v);
    if (v == LT_READ_DOSSIER && lt_read_query_set_code(&q, code) < 0)
        return -1;
    snprintf(q.unit, sizeof(q.unit), "%s", unit);
    snprintf(q.prefix, sizeof(q.prefix), "%s", prefix);
    snprintf(q.destination, sizeof(q.destination), "%s", dest);
    q.id = id;
    q.status = status;
    q.since = since;
    q.limit = limit;
    *ret = q;
    snprintf(ret_token, tcap, "%s", token);
    return 0;
}
