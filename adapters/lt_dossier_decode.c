/* lt_dossier_decode: a request body to records (lt_dossier.h). A request
 * is refused whole only for what makes it unreadable: bytes that are not
 * UTF-8, a lone surrogate escape, duplicate keys, nesting deeper than the
 * depth limit (jansson has none of its own: the pre-scan counts brackets
 * before any tree is built), not JSON, not a record or an array of at most
 * the record limit; everything else is judged record by record by
 * lt_dossier_validate. The messages name the gateway's configuration keys
 * (limits.depth, limits.records) so a sender's operator knows what to ask
 * for. */
#include "lt_dossier.h"
#include "lt_utf8.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- UTF-8 and the byte-level pre-scan ---------------------------------- */

static int hex4(const char *s, size_t n, size_t at, unsigned *ret)
{
    if (at + 4 > n)
        return -1;
    unsigned v = 0;
    for (size_t k = at; k < at + 4; k++) {
        char c = s[k];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *ret = v;
    return 0;
}

static int decode_fail(lt_dossier_error *err, lt_dossier_rc rc, size_t offset, const char *what)
{
    err->rc = rc;
    err->offset = offset;
    snprintf(err->message, sizeof(err->message), "%s", what);
    return rc;
}

/* One pass over the raw bytes before jansson sees them: the reasons a body
 * is malformed get their own answers (the contract names invalid UTF-8 and
 * lone surrogate escapes), whatever the jansson version does with them, and
 * nesting is bounded before any tree is built. Malformed JSON as such is
 * left to jansson. */
static int prescan(const char *s, size_t n, int max_depth, lt_dossier_error *err)
{
    size_t bad = lt_utf8_invalid_at(s, n);
    if (bad < n) {
        char msg[96];
        snprintf(msg, sizeof(msg), "invalid UTF-8 at byte %zu", bad);
        return decode_fail(err, LT_DOSSIER_EUTF8, bad, msg);
    }
    bool in_string = false;
    int depth = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!in_string) {
            if (c == '"') {
                in_string = true;
            } else if (c == '[' || c == '{') {
                if (++depth > max_depth) {
                    char msg[128];
                    snprintf(msg, sizeof(msg),
                             "JSON nested deeper than %d levels (limits.depth) at byte %zu",
                             max_depth, i);
                    return decode_fail(err, LT_DOSSIER_EDEPTH, i, msg);
                }
            } else if (c == ']' || c == '}') {
                depth--;
            }
            continue;
        }
        if (c == '"') {
            in_string = false;
        } else if (c == '\\' && i + 1 < n) {
            i++;
            unsigned cp;
            if (s[i] != 'u' || hex4(s, n, i + 1, &cp) < 0)
                continue;
            size_t at = i - 1;
            i += 4;
            bool paired = false;
            unsigned lo;
            if (cp >= 0xD800 && cp <= 0xDBFF && i + 2 < n && s[i + 1] == '\\' && s[i + 2] == 'u' &&
                hex4(s, n, i + 3, &lo) == 0 && lo >= 0xDC00 && lo <= 0xDFFF) {
                paired = true;
                i += 6;
            }
            if (cp >= 0xD800 && cp <= 0xDFFF && !paired) {
                char msg[96];
                snprintf(msg, sizeof(msg), "lone surrogate escape \\u%04X at byte %zu", cp, at);
                return decode_fail(err, LT_DOSSIER_ESURROGATE, at, msg);
            }
        }
    }
    return LT_DOSSIER_OK;
}

int lt_dossier_decode(const char *bytes, size_t len, json_t **ret_records, bool *ret_single,
                      lt_dossier_error *err)
{
    return lt_dossier_decode_limited(bytes, len, NULL, ret_records, ret_single, err);
}

int lt_dossier_decode_limited(const char *bytes, size_t len, const lt_dossier_limits *limits,
                              json_t **ret_records, bool *ret_single, lt_dossier_error *err)
{
    int max_depth = limits && limits->max_depth > 0 ? limits->max_depth : LT_DOSSIER_MAX_DEPTH;
    size_t max_records =
        limits && limits->max_records > 0 ? limits->max_records : LT_DOSSIER_MAX_RECORDS;
    if (!bytes)
        len = 0;
    int rc = prescan(bytes ? bytes : "", len, max_depth, err);
    if (rc < 0)
        return rc;
    json_error_t jerr;
    json_t *top =
        json_loadb(bytes ? bytes : "", len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!top) {
        enum json_error_code code = json_error_code(&jerr);
        char msg[200];
        snprintf(msg, sizeof(msg), "not JSON: %s at byte %d", jerr.text, jerr.position);
        if (code == json_error_out_of_memory)
            return decode_fail(err, LT_DOSSIER_ENOMEM, 0, "out of memory");
        if (code == json_error_duplicate_key) {
            snprintf(msg, sizeof(msg), "duplicate key at byte %d (%s)", jerr.position, jerr.text);
            return decode_fail(err, LT_DOSSIER_EDUPKEY, (size_t)jerr.position, msg);
        }
        return decode_fail(err, LT_DOSSIER_ENOTJSON, jerr.position > 0 ? (size_t)jerr.position : 0,
                           msg);
    }
    if (json_is_object(top)) {
        json_t *arr = json_array();
        if (!arr || json_array_append_new(arr, top) < 0) {
            json_decref(arr);
            return decode_fail(err, LT_DOSSIER_ENOMEM, 0, "out of memory");
        }
        *ret_records = arr;
        *ret_single = true;
        return LT_DOSSIER_OK;
    }
    if (!json_is_array(top)) {
        json_decref(top);
        return decode_fail(err, LT_DOSSIER_ESHAPE, 0,
                           "expected a dossier record (a JSON object) or an array of them");
    }
    if (json_array_size(top) > max_records) {
        char msg[128];
        snprintf(msg, sizeof(msg), "%zu records in one request; at most %zu (limits.records)",
                 json_array_size(top), max_records);
        json_decref(top);
        return decode_fail(err, LT_DOSSIER_ETOOMANY, 0, msg);
    }
    *ret_records = top;
    *ret_single = false;
    return LT_DOSSIER_OK;
}

int lt_dossier_rc_status(int rc)
{
    switch (rc) {
    case LT_DOSSIER_OK:
        return 200;
    case LT_DOSSIER_ETOOMANY:
        return 413;
    case LT_DOSSIER_ENOMEM:
        return 500;
    default:
        return 400;
    }
}

const char *lt_dossier_rc_code(int rc)
{
    switch (rc) {
    case LT_DOSSIER_OK:
        return "ok";
    case LT_DOSSIER_ETOOMANY:
        return "too_large";
    case LT_DOSSIER_ENOMEM:
        return "internal";
    default:
        return "malformed";
    }
}
