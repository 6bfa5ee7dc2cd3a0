/* lt_procedure: the catalog's procedure records come from exports and from
 * the national API, written by systems that send "15" one day and 15 the
 * next. A sync tells changed from unchanged by hashing, so two spellings of
 * the same procedure must hash alike: this module fixes one normalized form
 * (strings where DOMAIN.md says strings, arrays where it says lists, unknown
 * keys untouched), hashes its canonical serialization, and derives the
 * columns the procedures table keeps. The rules are a table (`spec`), not a
 * chain of ifs, so adding a key is one line. */
#include "lt_procedure.h"
#include "lt_procedure_int.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sodium.h>

static const lt_procedure_spec level_entry[] = {
    {"CAPTHUCHIEN", K_LEVEL, true, NULL},
    {"TENCAP", K_TEXT, false, NULL},
    {NULL, K_TEXT, false, NULL},
};
static const lt_procedure_spec field_entry[] = {
    {"MALINHVUC", K_TEXT, false, NULL},
    {"TENLINHVUC", K_TEXT, false, NULL},
    {NULL, K_TEXT, false, NULL},
};
static const lt_procedure_spec agency_entry[] = {
    {"MADONVI", K_TEXT, false, NULL},
    {"TENDONVI", K_TEXT, false, NULL},
    {NULL, K_TEXT, false, NULL},
};
static const lt_procedure_spec time_entry[] = {
    {"THOIGIANGIAIQUYET", K_DECIMAL, false, NULL},
    {"DONVITINH", K_TEXT, false, NULL},
    {"MOTA", K_TEXT, false, NULL},
    {NULL, K_TEXT, false, NULL},
};
static const lt_procedure_spec fee_entry[] = {
    {"MAPHILEPHI", K_TEXT, false, NULL},
    {"SOTIEN", K_DECIMAL, false, NULL},
    {"MOTA", K_TEXT, false, NULL},
    {NULL, K_TEXT, false, NULL},
};
static const lt_procedure_spec channel_entry[] = {
    {"KENH", K_CHANNEL, false, NULL},
    {"THOIGIAN", K_LIST, false, time_entry},
    {"PHILEPHI", K_LIST, false, fee_entry},
    {NULL, K_TEXT, false, NULL},
};
static const lt_procedure_spec result_entry[] = {
    {"MAKETQUA", K_TEXT, false, NULL},
    {"TENKETQUA", K_TEXT, false, NULL},
    {NULL, K_TEXT, false, NULL},
};
const lt_procedure_spec lt_procedure_record_spec[] = {
    {"MATTHC", K_CODE, true, NULL},
    {"TENTTHC", K_CODE, true, NULL},
    {"TRANGTHAI", K_TEXT, false, NULL},
    {"LOAITTHC", K_TEXT, false, NULL},
    {"IDQUYETDINHCONGBO", K_TEXT, false, NULL},
    {"CAPTHUCHIEN", K_LIST, false, level_entry},
    {"LINHVUCTHUCHIEN", K_LIST, false, field_entry},
    {"COQUANTHUCHIEN", K_LIST, false, agency_entry},
    {"CACHTHUCTHUCHIEN", K_LIST, false, channel_entry},
    {"KETQUATHUCHIEN", K_LIST, false, result_entry},
    {"THANHPHANHOSO", K_LIST, false, NULL},
    {"CANCUPHAPLY", K_LIST, false, NULL},
    {"TRINHTUTHUCHIEN", K_LIST, false, NULL},
    {"DOITUONGTHUCHIEN", K_LIST, false, NULL},
    {NULL, K_TEXT, false, NULL},
};

/* A JSON path being walked; truncated paths stay NUL-terminated. */
typedef struct {
    char buf[256]; /* "CACHTHUCTHUCHIEN[0].THOIGIAN[1]" */
    size_t len;    /* strlen(buf) */
} path_t;

static size_t path_push_key(path_t *p, const char *key)
{
    size_t mark = p->len;
    int n = snprintf(p->buf + p->len, sizeof(p->buf) - p->len, "%s%s", p->len ? "." : "", key);
    if (n > 0)
        p->len = p->len + (size_t)n < sizeof(p->buf) ? p->len + (size_t)n : sizeof(p->buf) - 1;
    return mark;
}

static size_t path_push_index(path_t *p, size_t i)
{
    size_t mark = p->len;
    int n = snprintf(p->buf + p->len, sizeof(p->buf) - p->len, "[%zu]", i);
    if (n > 0)
        p->len = p->len + (size_t)n < sizeof(p->buf) ? p->len + (size_t)n : sizeof(p->buf) - 1;
    return mark;
}

static void path_pop(path_t *p, size_t mark)
{
    p->len = mark;
    p->buf[mark] = '\0';
}

/* Copies at most cap-1 bytes of s without splitting a UTF-8 sequence. */
static void copy_utf8(char *dst, size_t cap, const char *s)
{
    size_t n = strlen(s);
    if (n >= cap) {
        n = cap - 1;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    }
    memcpy(dst, s, n);
    dst[n] = '\0';
}

/* The shortest decimal text that reads back as the same double, so 0.5
 * becomes "0.5" and not "0.50000000000000000". */
static void real_text(double d, char *buf, size_t cap)
{
    /* Whole numbers without an exponent: 10.0 is "10", never "1e+01". */
    if (d > -1e15 && d < 1e15 && d == (double)(long long)d) {
        snprintf(buf, cap, "%lld", (long long)d);
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, cap, "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            return;
    }
}

/* How a value reads in an error message. */
static void describe(const json_t *v, char *buf, size_t cap)
{
    switch (json_typeof(v)) {
    case JSON_STRING: {
        char s[96];
        copy_utf8(s, sizeof(s), json_string_value(v));
        snprintf(buf, cap, "\"%s\"%s", s, strlen(json_string_value(v)) >= sizeof(s) ? "..." : "");
        break;
    }
    case JSON_INTEGER:
        snprintf(buf, cap, "a number %lld", (long long)json_integer_value(v));
        break;
    case JSON_REAL: {
        char num[32];
        real_text(json_real_value(v), num, sizeof(num));
        snprintf(buf, cap, "a number %s", num);
        break;
    }
    case JSON_TRUE:
        snprintf(buf, cap, "true");
        break;
    case JSON_FALSE:
        snprintf(buf, cap, "false");
        break;
    case JSON_NULL:
        snprintf(buf, cap, "null");
        break;
    case JSON_OBJECT:
        snprintf(buf, cap, "an object");
        break;
    case JSON_ARRAY:
        snprintf(buf, cap, "an array");
        break;
    }
}

static void set_error(lt_procedure_error *err, const path_t *p, const char *field,
                      const char *expected, const json_t *got)
{
    if (!err)
        return;
    copy_utf8(err->path, sizeof(err->path), p->buf);
    copy_utf8(err->field, sizeof(err->field), field);
    copy_utf8(err->expected, sizeof(err->expected), expected);
    if (got)
        describe(got, err->got, sizeof(err->got));
    else
        snprintf(err->got, sizeof(err->got), "nothing (the key is missing)");
}

bool lt_procedure_is_decimal(const char *s)
{
    if (!*s)
        return true; /* unknown: the catalog leaves some times blank */
    const char *p = s;
    if (*p < '0' || *p > '9')
        return false;
    while (*p >= '0' && *p <= '9')
        p++;
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9')
            return false;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    return *p == '\0';
}

static const char *expectation(const lt_procedure_spec *s)
{
    switch (s->kind) {
    case K_CODE:
        return "a non-empty string";
    case K_LEVEL:
        return "a level \"0\", \"1\", \"2\" or \"3\" (0 ministry, 1 province, 2 district, 3 "
               "commune)";
    case K_CHANNEL:
        return "a channel \"1\", \"2\" or \"3\" (in person, online, post)";
    case K_DECIMAL:
        return "a non-negative decimal number (as a string or a number) or \"\"";
    case K_LIST:
        return "an array";
    case K_TEXT:
        break;
    }
    return s->required ? "a non-empty string" : "a string (or a number)";
}

/* -1 with err filled; 0 when the value (now normalized in obj) is valid. */
static int normalize_object(json_t *obj, const lt_procedure_spec *specs, path_t *p,
                            lt_procedure_error *err);

static int normalize_value(json_t *obj, const lt_procedure_spec *s, path_t *p,
                           lt_procedure_error *err)
{
    json_t *v = json_object_get(obj, s->key);
    size_t mark = path_push_key(p, s->key);
    int rc = -1;
    if (!v) {
        if (s->required) {
            set_error(err, p, s->key, expectation(s), NULL);
            goto out;
        }
        rc = 0;
        goto out;
    }
    if (s->kind == K_LIST) {
        if (json_is_null(v)) {
            if (json_object_set_new(obj, s->key, json_array()) < 0)
                goto oom;
            rc = 0;
            goto out;
        }
        if (!json_is_array(v)) {
            set_error(err, p, s->key, expectation(s), v);
            goto out;
        }
        if (s->entry) {
            size_t i;
            json_t *e;
            json_array_foreach(v, i, e)
            {
                size_t m2 = path_push_index(p, i);
                if (!json_is_object(e)) {
                    set_error(err, p, s->key, "an object", e);
                    goto out;
                }
                if (normalize_object(e, s->entry, p, err) < 0)
                    goto out;
                path_pop(p, m2);
            }
        }
        rc = 0;
        goto out;
    }
    /* A scalar that travels as a string. */
    char text[64];
    const char *str = NULL;
    if (json_is_string(v)) {
        str = json_string_value(v);
    } else if (json_is_integer(v) && s->kind != K_CODE) {
        snprintf(text, sizeof(text), "%lld", (long long)json_integer_value(v));
        str = text;
    } else if (json_is_real(v) && s->kind != K_CODE) {
        real_text(json_real_value(v), text, sizeof(text));
        str = text;
    } else if (json_is_null(v) && !s->required) {
        str = "";
    } else {
        set_error(err, p, s->key, expectation(s), v);
        goto out;
    }
    bool ok = true;
    switch (s->kind) {
    case K_LEVEL:
        ok = strlen(str) == 1 && str[0] >= '0' && str[0] <= '3';
        break;
    case K_CHANNEL:
        ok = strlen(str) == 1 && str[0] >= '1' && str[0] <= '3';
        break;
    case K_DECIMAL:
        ok = lt_procedure_is_decimal(str);
        break;
    case K_CODE:
    case K_TEXT:
        ok = !s->required || str[0] != '\0';
        break;
    case K_LIST:
        break;
    }
    if (!ok) {
        set_error(err, p, s->key, expectation(s), v);
        goto out;
    }
    if (!json_is_string(v) && json_object_set_new(obj, s->key, json_string(str)) < 0)
        goto oom;
    rc = 0;
    goto out;
oom:
    set_error(err, p, s->key, "memory", NULL);
out:
    path_pop(p, mark);
    return rc;
}

static int normalize_object(json_t *obj, const lt_procedure_spec *specs, path_t *p,
                            lt_procedure_error *err)
{
    for (const lt_procedure_spec *s = specs; s->key; s++)
        if (normalize_value(obj, s, p, err) < 0)
            return -1;
    return 0;
}

static void extract_levels(lt_procedure *self)
{
    bool seen[LT_PROCEDURE_MAX_LEVELS] = {false};
    json_t *levels = json_object_get(self->record, "CAPTHUCHIEN");
    size_t i;
    json_t *e;
    json_array_foreach(levels, i, e)
    {
        const char *l = json_string_value(json_object_get(e, "CAPTHUCHIEN"));
        if (l)
            seen[l[0] - '0'] = true; /* validated: "0".."3" */
    }
    for (int l = 0; l < LT_PROCEDURE_MAX_LEVELS; l++)
        if (seen[l])
            self->levels[self->nlevels++] = l;
}

static const char *extract_field_code(const json_t *record)
{
    json_t *fields = json_object_get(record, "LINHVUCTHUCHIEN");
    size_t i;
    json_t *e;
    json_array_foreach(fields, i, e)
    {
        const char *c = json_string_value(json_object_get(e, "MALINHVUC"));
        if (c && c[0])
            return c;
    }
    return NULL;
}

static lt_procedure *not_an_object(const json_t *record, lt_procedure_error *err)
{
    path_t p = {.buf = "", .len = 0};
    if (err)
        memset(err, 0, sizeof(*err));
    set_error(err, &p, "", "a procedure record (a JSON object)", record);
    return NULL;
}

/* record: an object (or NULL: out of memory) whose reference the new
 * lt_procedure owns, normalized in place; released on failure. */
static lt_procedure *normalize_owned(json_t *record, lt_procedure_error *err)
{
    path_t p = {.buf = "", .len = 0};
    lt_procedure *self = NULL;
    if (err)
        memset(err, 0, sizeof(*err));
    if (!record)
        goto oom;
    self = calloc(1, sizeof(*self));
    if (!self) {
        json_decref(record);
        goto oom;
    }
    self->record = record;
    if (normalize_object(self->record, lt_procedure_record_spec, &p, err) < 0)
        goto bad;
    self->canonical = json_dumps(self->record, JSON_SORT_KEYS | JSON_COMPACT);
    if (!self->canonical)
        goto oom;
    self->canonical_len = strlen(self->canonical);
    crypto_hash_sha256(self->hash, (const unsigned char *)self->canonical, self->canonical_len);
    self->code = json_string_value(json_object_get(self->record, "MATTHC"));
    self->name = json_string_value(json_object_get(self->record, "TENTTHC"));
    self->status = json_string_value(json_object_get(self->record, "TRANGTHAI"));
    if (!self->status)
        self->status = "";
    self->field_code = extract_field_code(self->record);
    if (strlen(self->code) >= sizeof(self->base_code) ||
        lt_procedure_base_of(self->code, self->base_code, sizeof(self->base_code)) < 0) {
        /* A code this long is not a procedure code anyone publishes. */
        p.len = 0;
        path_push_key(&p, "MATTHC");
        set_error(err, &p, "MATTHC", "a procedure code of at most 63 bytes",
                  json_object_get(self->record, "MATTHC"));
        goto bad;
    }
    extract_levels(self);
    return self;
oom:
    if (err)
        set_error(err, &p, "", "memory", NULL);
bad:
    lt_procedure_destroy(&self);
    return NULL;
}

lt_procedure *lt_procedure_normalize(const json_t *record, lt_procedure_error *err)
{
    if (!json_is_object(record))
        return not_an_object(record, err);
    return normalize_owned(json_deep_copy(record), err);
}

lt_procedure *lt_procedure_normalize_inplace(json_t *record, lt_procedure_error *err)
{
    if (!json_is_object(record))
        return not_an_object(record, err);
    return normalize_owned(json_incref(record), err);
}

void lt_procedure_destroy(lt_procedure **self_p)
{
    if (!self_p || !*self_p)
        return;
    json_decref((*self_p)->record);
    free((*self_p)->canonical);
    free((*self_p)->strings);
    free(*self_p);
    *self_p = NULL;
}

const json_t *lt_procedure_record(const lt_procedure *self)
{
    return self->record;
}

const char *lt_procedure_canonical(const lt_procedure *self)
{
    return self->canonical;
}

size_t lt_procedure_canonical_len(const lt_procedure *self)
{
    return self->canonical_len;
}

const unsigned char *lt_procedure_hash(const lt_procedure *self)
{
    return self->hash;
}

const char *lt_procedure_code(const lt_procedure *self)
{
    return self->code;
}

const char *lt_procedure_base_code(const lt_procedure *self)
{
    return self->base_code;
}

const char *lt_procedure_name(const lt_procedure *self)
{
    return self->name;
}

const char *lt_procedure_status(const lt_procedure *self)
{
    return self->status;
}

bool lt_procedure_published(const lt_procedure *self)
{
    return strcmp(self->status, "1") == 0;
}

const char *lt_procedure_field_code(const lt_procedure *self)
{
    return self->field_code;
}

size_t lt_procedure_levels(const lt_procedure *self, const int **ret_levels)
{
    *ret_levels = self->levels;
    return self->nlevels;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

int lt_procedure_base_of(const char *code, char *buf, size_t cap)
{
    /* d.dddddd: the national form; a local variant appends ".something". */
    bool national = is_digit(code[0]) && code[1] == '.';
    for (int i = 2; national && i < 8; i++)
        national = is_digit(code[i]);
    size_t n = national && (code[8] == '\0' || code[8] == '.') ? 8 : strlen(code);
    if (n >= cap)
        return -1;
    memcpy(buf, code, n);
    buf[n] = '\0';
    return 0;
}

/* ---- overlays ------------------------------------------------------------ */

/* Catalog units and overlay units, with their length in hours for
 * comparison: a working day is 8 working hours (DOMAIN.md, working time). */
static const struct {
    const char *overlay; /* procedure_overlays.time_limit_unit */
    const char *label;   /* DONVITINH as the catalog writes it */
    double hours;        /* for "is the overlay shorter" */
} time_units[] = {
    {"working_day", "Ngày làm việc", 8},
    {"day", "Ngày", 24},
    {"hour", "Giờ", 1},
};
#define NTIME_UNITS (sizeof(time_units) / sizeof(time_units[0]))

static double unit_hours_by_label(const char *label)
{
    for (size_t i = 0; label && i < NTIME_UNITS; i++)
        if (strcasecmp(label, time_units[i].label) == 0)
            return time_units[i].hours;
    return -1;
}

static int overlay_unit(const char *name)
{
    for (size_t i = 0; name && i < NTIME_UNITS; i++)
        if (strcmp(name, time_units[i].overlay) == 0)
            return (int)i;
    return -1;
}

static int note(json_t *applied, const char *path, json_t *from, json_t *to)
{
    if (!applied) {
        json_decref(from);
        json_decref(to);
        return 0;
    }
    return json_array_append_new(applied,
                                 json_pack("{s:s, s:o, s:o}", "path", path, "from",
                                           from ? from : json_null(), "to", to ? to : json_null()));
}

static int shorten_times(json_t *channel, size_t ci, const lt_procedure_overlay *ov, int unit,
                         json_t *applied)
{
    json_t *times = json_object_get(channel, "THOIGIAN");
    char limit[32];
    real_text(ov->time_limit, limit, sizeof(limit));
    double limit_h = ov->time_limit * time_units[unit].hours;
    size_t ti;
    json_t *t;
    json_array_foreach(times, ti, t)
    {
        if (!json_is_object(t))
            continue;
        const char *value = json_string_value(json_object_get(t, "THOIGIANGIAIQUYET"));
        const char *label = json_string_value(json_object_get(t, "DONVITINH"));
        double h = unit_hours_by_label(label);
        if (value && value[0] && lt_procedure_is_decimal(value) && h > 0 &&
            strtod(value, NULL) * h <= limit_h)
            continue; /* the catalog's time is already as short */
        char path[128], from[160], to[96];
        snprintf(path, sizeof(path), "CACHTHUCTHUCHIEN[%zu].THOIGIAN[%zu]", ci, ti);
        snprintf(from, sizeof(from), "%s %s", value ? value : "", label ? label : "");
        snprintf(to, sizeof(to), "%s %s", limit, time_units[unit].label);
        if (note(applied, path, json_string(from), json_string(to)) < 0 ||
            json_object_set_new(t, "THOIGIANGIAIQUYET", json_string(limit)) < 0 ||
            json_object_set_new(t, "DONVITINH", json_string(time_units[unit].label)) < 0)
            return -1;
    }
    return 0;
}

json_t *lt_procedure_apply_overlay(const json_t *record, const lt_procedure_overlay *ov,
                                   json_t **ret_applied)
{
    json_t *out = json_deep_copy(record);
    json_t *applied = ret_applied ? json_array() : NULL;
    if (!out || (ret_applied && !applied))
        goto oom;
    int unit = ov->has_time_limit && ov->time_limit > 0 ? overlay_unit(ov->time_unit) : -1;
    json_t *channels = json_object_get(out, "CACHTHUCTHUCHIEN");
    size_t ci;
    json_t *c;
    json_array_foreach(channels, ci, c)
    {
        if (!json_is_object(c))
            continue;
        if (unit >= 0 && shorten_times(c, ci, ov, unit, applied) < 0)
            goto oom;
        if (json_is_array(ov->fees)) {
            char path[96];
            snprintf(path, sizeof(path), "CACHTHUCTHUCHIEN[%zu].PHILEPHI", ci);
            json_t *old = json_object_get(c, "PHILEPHI");
            if (note(applied, path, old ? json_deep_copy(old) : NULL, json_deep_copy(ov->fees)) <
                    0 ||
                json_object_set_new(c, "PHILEPHI", json_deep_copy(ov->fees)) < 0)
                goto oom;
        }
    }
    if (ret_applied)
        *ret_applied = applied;
    return out;
oom:
    json_decref(out);
    json_decref(applied);
    return NULL;
}
