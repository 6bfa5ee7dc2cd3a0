/* lt_read_query: the parameters of the dossier reads (GET /v1/dossiers/{code},
 * GET /v1/dossiers, GET /v1/events, GET /v1/rejects) and of the operator's
 * dead-letter calls (GET /v1/deadletters, POST /v1/deadletters/replay) as the
 * HTTP front checks them and the reader receives them. Pure: parsing, and the JSON the front
 * sends to the reader (with the caller's bearer token, which goes no further
 * than the reader and is never logged). */
#ifndef LT_READ_QUERY_H
#define LT_READ_QUERY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lt_auth.h"
#include "lt_token.h"

#define LT_READ_DEFAULT_LIMIT 1000
#define LT_READ_MAX_LIMIT     5000
#define LT_READ_MAX_CODE      64  /* bytes of a dossier code (dossier.schema.json's maxLength) */
#define LT_READ_MAX_PREFIX    128 /* bytes of an event topic prefix */
#define LT_READ_MAX_DEST      128 /* bytes of a destination name (portal, unit:<code>...) */

typedef enum {
    LT_READ_DOSSIER = 0, /* GET /v1/dossiers/{code} */
    LT_READ_DOSSIERS,    /* GET /v1/dossiers: reconciliation */
    LT_READ_EVENTS,      /* GET /v1/events */
    LT_READ_REJECTS,     /* GET /v1/rejects */
    LT_READ_DEADLETTERS, /* GET /v1/deadletters */
    LT_READ_REPLAY,      /* POST /v1/deadletters/replay (a small write) */
    LT_READ_NVERBS,
} lt_read_verb;

/* One read request. Fields a verb does not take keep their defaults. */
typedef struct lt_read_query {
    lt_read_verb verb;
    char code[LT_READ_MAX_CODE + 1]; /* DOSSIER: the dossier code */
    char unit[LT_AUTH_MAX_UNIT];     /* DOSSIERS, REJECTS: one unit; "" = the whole scope */
    int status;                      /* DOSSIERS: 1..10; 0 = any */
    int64_t since;                   /* DOSSIERS, EVENTS: a sequence; REJECTS, DEADLETTERS: an id */
    int64_t limit;                   /* page size, 1..LT_READ_MAX_LIMIT */
    char prefix[LT_READ_MAX_PREFIX + 1];    /* EVENTS: topic prefix; "" = every topic */
    char destination[LT_READ_MAX_DEST + 1]; /* DEADLETTERS: "" = all; REPLAY: required */
    int64_t id;                             /* REPLAY: one dead letter; 0 = all of destination */
} lt_read_query;

/* The verb's name on the reader's wire ("dossier", "dossiers", "events",
 * "rejects", "deadletters", "replay"), and back (-1 for an unknown name). */
const char *lt_read_verb_name(lt_read_verb verb);
int lt_read_verb_parse(const char *name, lt_read_verb *ret) __attribute__((warn_unused_result));

/* A whole decimal number in [min, max]: digits only, no sign, no spaces.
 * Shared with the catalog's parameters. */
bool lt_read_parse_count(const char *s, int64_t min, int64_t max, int64_t *ret)
    __attribute__((warn_unused_result));

/* The i-th of n query parameters, checked against known (NULL-terminated;
 * may be empty): its index in known, or -1 with msg naming the problem (an
 * unknown name, with the ones expected; or a name given twice). field gets
 * the parameter's name either way, for the 400's "field". Every read that
 * takes query parameters (dossiers, catalog, report) answers alike. */
int lt_query_key(const char *const *keys, size_t i, const char *const *known, char *field,
                 size_t fcap, char *msg, size_t mcap) __attribute__((warn_unused_result));

/* Parses n query-string pairs (already URL-decoded) for verb. Unknown,
 * repeated and malformed parameters are refused: returns -1 with the
 * parameter's name in field and a sentence in msg; 0 with *ret filled. */
int lt_read_query_parse(lt_read_verb verb, const char *const *keys, const char *const *values,
                        size_t n, lt_read_query *ret, char *field, size_t fcap, char *msg,
                        size_t mcap) __attribute__((warn_unused_result));

/* Sets the dossier code of a DOSSIER query from the path segment. -1 when
 * it cannot be a dossier code (empty, too long, or a further '/'): the
 * front answers 404 without asking anyone. */
int lt_read_query_set_code(lt_read_query *q, const char *code) __attribute__((warn_unused_result));

/* The body of POST /v1/deadletters/replay: {"destination": D, "id": N} or
 * {"destination": D, "all": true}, nothing else. Returns 0 with *ret a
 * REPLAY query, or -1 with the offending member's name in field ("body"
 * when the body is not a JSON object) and a sentence in msg. */
int lt_read_replay_parse(const char *body, size_t len, lt_read_query *ret, char *field, size_t fcap,
                         char *msg, size_t mcap) __attribute__((warn_unused_result));

/* The query and the caller's bearer token ("" = none) as the reader's JSON
 * params (a new reference; the verb travels in its own frame), and back:
 * ret_token gets the token (tcap >= LT_TOKEN_MAX). from_json refuses
 * anything parse would not produce. */
json_t *lt_read_query_json(const lt_read_query *q, const char *token)
    __attribute__((warn_unused_result));
int lt_read_query_from_json(lt_read_verb verb, const json_t *j, lt_read_query *ret, char *ret_token,
                            size_t tcap) __attribute__((warn_unused_result));

#endif
