/* lt_config_value: one value of one row of the key table: parsing text
 * (a default, an environment variable, a JSON string) by the row's type and
 * range, storing it into struct lt_config, copying and comparing it, and the
 * phrases that describe what a row accepts. The syntaxes themselves ("5s",
 * "4MiB") are lt_config_text's; which key has which type is lt_config.c's. */
#include "lt_config_int.h"
#include "lt_utf8.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

bool lt_cfval_is_string(cf_type t)
{
    return t == CF_STRING || t == CF_URL || t == CF_PATH || t == CF_LISTEN || t == CF_ZMQ;
}

void *lt_cfval_field(lt_config *cfg, const cf_key *k)
{
    return (char *)cfg + k->offset;
}

const void *lt_cfval_cfield(const lt_config *cfg, const cf_key *k)
{
    return (const char *)cfg + k->offset;
}

void lt_cfval_format_range(const cf_key *k, char *buf, size_t cap)
{
    char lo[32], hi[32];

    if (k->type == CF_COUNT) {
        snprintf(lo, sizeof lo, "%" PRId64, k->min);
        snprintf(hi, sizeof hi, "%" PRId64, k->max);
    } else if (k->type == CF_DURATION) {
        lt_cfgtext_format_duration(k->min, lo, sizeof lo);
        lt_cfgtext_format_duration(k->max, hi, sizeof hi);
    } else {
        lt_cfgtext_format_size(k->min, lo, sizeof lo);
        lt_cfgtext_format_size(k->max, hi, sizeof hi);
    }
    snprintf(buf, cap, "between %s and %s", lo, hi);
}

/* True for the first spelling of a value, the one that is printed. */
static bool is_canonical(const cf_key *k, const cf_enum_name *e)
{
    for (const cf_enum_name *f = k->names; f != e; f++)
        if (f->value == e->value)
            return false;
    return true;
}

/* "debug, info, warn or error": canonical names only, aliases left out. */
void lt_cfval_format_enum_names(const cf_key *k, const char *mark, char *buf, size_t cap)
{
    size_t count = 0, i = 0, len = 0;

    buf[0] = '\0';
    for (const cf_enum_name *e = k->names; e->name != NULL; e++)
        count += is_canonical(k, e);
    for (const cf_enum_name *e = k->names; e->name != NULL; e++) {
        int n;

        if (!is_canonical(k, e))
            continue;
        n = snprintf(buf + len, cap - len, "%s%s%s%s",
                     i == 0           ? ""
                     : i + 1 == count ? " or "
                                      : ", ",
                     mark, e->name, mark);
        if (n < 0 || (size_t)n >= cap - len)
            return;
        len += (size_t)n;
        i++;
    }
}

/* The "expected ..." phrase of a row; hint adds the accepted format, for
 * values that did not parse at all. */
void lt_cfval_expected(const cf_key *k, bool hint, bool from_env, char *buf, size_t cap)
{
    char range[80], names[160];

    switch (k->type) {
    case CF_STRING:
        snprintf(buf, cap, "a string");
        return;
    case CF_PATH:
        snprintf(buf, cap, "%s", (k->flags & CF_NONEMPTY) ? "a non-empty path" : "a path");
        return;
    case CF_URL:
        snprintf(buf, cap, "an empty string or an http:// or https:// URL");
        return;
    case CF_LISTEN:
        snprintf(buf, cap, "host:port or [v6]:port with a port from 0 to 65535");
        return;
    case CF_ZMQ:
        snprintf(buf, cap, "a ZeroMQ endpoint tcp://host:port, ipc://path or inproc://name");
        return;
    case CF_BOOL:
        snprintf(buf, cap, "%s", from_env ? "true/false, 1/0, yes/no or on/off" : "true or false");
        return;
    case CF_DURATION:
        lt_cfval_format_range(k, range, sizeof range);
        snprintf(buf, cap, "a duration %s%s", range,
                 hint ? " (a whole number with unit ms, s, m or h, e.g. \"5s\")" : "");
        return;
    case CF_SIZE:
        lt_cfval_format_range(k, range, sizeof range);
        snprintf(buf, cap, "a size %s%s", range,
                 hint ? " (bytes, or a whole number with unit B, KiB, MiB, GiB, KB, MB or GB)"
                      : "");
        return;
    case CF_ENUM:
        lt_cfval_format_enum_names(k, "", names, sizeof names);
        snprintf(buf, cap, "one of %s", names);
        return;
    case CF_COUNT:
        lt_cfval_format_range(k, range, sizeof range);
        snprintf(buf, cap, "a whole number %s", range);
        return;
    }
    snprintf(buf, cap, "a valid value");
}

static bool parse_enum(const cf_key *k, const char *s, int64_t *ret_value)
{
    for (const cf_enum_name *e = k->names; e->name != NULL; e++) {
        if (strcasecmp(s, e->name) == 0) {
            *ret_value = e->value;
            return true;
        }
    }
    return false;
}

const char *lt_cfval_enum_name(const cf_key *k, int value)
{
    for (const cf_enum_name *e = k->names; e->name != NULL; e++)
        if (e->value == value)
            return e->name;
    return NULL;
}

/* Parses text (from a default, an environment variable or a JSON string)
 * for row k. Bool words other than true/false are accepted only from the
 * environment and defaults: in the file, booleans are JSON booleans. */
lt_cfg_parse lt_cfval_parse(const cf_key *k, const char *text, cf_value *ret)
{
    lt_cfg_parse st;

    if (lt_cfval_is_string(k->type) && !lt_utf8_valid(text))
        return PARSE_SYNTAX;
    switch (k->type) {
    case CF_STRING:
        break;
    case CF_PATH:
        if ((k->flags & CF_NONEMPTY) && text[0] == '\0')
            return PARSE_SYNTAX;
        break;
    case CF_URL:
        if (!lt_cfgtext_valid_url(text))
            return PARSE_SYNTAX;
        break;
    case CF_LISTEN:
        if (lt_config_split_listen(text, NULL, 0, NULL) < 0)
            return PARSE_SYNTAX;
        break;
    case CF_ZMQ:
        if (!lt_cfgtext_valid_zmq(text))
            return PARSE_SYNTAX;
        break;
    case CF_BOOL:
        if (!lt_cfgtext_parse_bool(text, &ret->b))
            return PARSE_SYNTAX;
        return PARSE_OK;
    case CF_DURATION:
    case CF_SIZE:
        st = k->type == CF_DURATION ? lt_cfgtext_parse_duration(text, &ret->i)
                                    : lt_cfgtext_parse_size(text, &ret->i);
        if (st != PARSE_OK)
            return st;
        if (ret->i < k->min || ret->i > k->max)
            return PARSE_RANGE;
        return PARSE_OK;
    case CF_ENUM:
        if (!parse_enum(k, text, &ret->i))
            return PARSE_SYNTAX;
        return PARSE_OK;
    case CF_COUNT: {
        char *end;
        errno = 0;
        long long v = strtoll(text, &end, 10);
        if (errno == ERANGE)
            return PARSE_RANGE;
        if (end == text || *end != '\0' || errno != 0)
            return PARSE_SYNTAX;
        ret->i = v;
        return v < k->min || v > k->max ? PARSE_RANGE : PARSE_OK;
    }
    }
    ret->s = text;
    return PARSE_OK;
}

/* ---- storing, comparing ------------------------------------------------- */

/* Stores v into the row's field. Returns 0, or -1 when out of memory (the
 * old value is kept). */
int lt_cfval_store(lt_config *cfg, const cf_key *k, const cf_value *v)
{
    void *p = lt_cfval_field(cfg, k);

    if (lt_cfval_is_string(k->type)) {
        char *dup = strdup(v->s);

        if (dup == NULL)
            return -1;
        free(*(char **)p);
        *(char **)p = dup;
        return 0;
    }
    switch (k->type) {
    case CF_BOOL:
        *(bool *)p = v->b;
        break;
    case CF_DURATION:
    case CF_SIZE:
    case CF_COUNT:
        *(int64_t *)p = v->i;
        break;
    case CF_ENUM:
        *(int *)p = (int)v->i;
        break;
    default:
        break;
    }
    return 0;
}

/* Copies the row's value from src to dst (strings duplicated). */
int lt_cfval_copy(lt_config *dst, const lt_config *src, const cf_key *k)
{
    const void *from = lt_cfval_cfield(src, k);
    cf_value v = {0};

    if (lt_cfval_is_string(k->type)) {
        v.s = *(char *const *)from;
        if (v.s == NULL) {
            free(*(char **)lt_cfval_field(dst, k));
            *(char **)lt_cfval_field(dst, k) = NULL;
            return 0;
        }
    } else if (k->type == CF_BOOL) {
        v.b = *(const bool *)from;
    } else if (k->type == CF_ENUM) {
        v.i = *(const int *)from;
    } else {
        v.i = *(const int64_t *)from;
    }
    return lt_cfval_store(dst, k, &v);
}

bool lt_cfval_equal(const lt_config *a, const lt_config *b, const cf_key *k)
{
    const void *pa = lt_cfval_cfield(a, k), *pb = lt_cfval_cfield(b, k);

    if (lt_cfval_is_string(k->type)) {
        const char *sa = *(char *const *)pa, *sb = *(char *const *)pb;

        return strcmp(sa != NULL ? sa : "", sb != NULL ? sb : "") == 0;
    }
    switch (k->type) {
    case CF_BOOL:
        return *(const bool *)pa == *(const bool *)pb;
    case CF_ENUM:
        return *(const int *)pa == *(const int *)pb;
    default:
        return *(const int64_t *)pa == *(const int64_t *)pb;
    }
}
