/* lt_mapping: the dialect engine (lt_mapping.h). Every vendor and portal
 * differs from the canonical record in the same few ways (names, nesting,
 * date formats, code words, numbers for strings), so instead of one C adapter
 * per vendor there is one interpreter and one JSON file per dialect. The file
 * is compiled at load into a plan: paths split into segments, date formats
 * into token lists, enum maps into pairs, the names rules consume into
 * look-up trees; applying the plan to a record parses no strings of the
 * dialect. Errors are collected rather than stopping at the first, because a
 * vendor fixing its export wants the whole list at once. */
#include "lt_mapping.h"
#include "lt_mapping_plan.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lt_mask.h"

/* ---------------------------------------------------------------- applying */

/* Where a rule is applied: the chain of list items above it, so that error
 * paths ("lichSu[2].ngayXuLy") are only built when an error is reported. */
struct where {
    const struct where *up;  /* enclosing list item, or NULL at the record */
    const struct rule *list; /* the list rule of this item */
    size_t index;            /* the item's index */
};

/* Per-call state. */
struct ctx {
    lt_map_errors *errs; /* the caller's error list */
    bool outbound;       /* canonical -> dialect */
    const char *now;     /* time of sending, canonical form, or NULL */
    bool oom;            /* an allocation failed */
};

static size_t render_where(const struct where *w, bool vendor, char *buf, size_t cap)
{
    if (!w)
        return 0;
    size_t used = render_where(w->up, vendor, buf, cap);
    if (used >= cap)
        return used;
    const struct path *p = vendor ? &w->list->vendor : &w->list->canonical;
    int n = snprintf(buf + used, cap - used, "%s[%zu].", p->text, w->index);
    return n < 0 ? cap : used + (size_t)n;
}

static void render_path(const struct where *w, const struct path *p, bool vendor, char *buf,
                        size_t cap)
{
    size_t used = render_where(w, vendor, buf, cap);
    if (used >= cap)
        return;
    if (p->n)
        snprintf(buf + used, cap - used, "%s", p->text);
    else if (used > 0)
        buf[used - 1] = '\0'; /* the item itself: drop the trailing '.' */
    else
        snprintf(buf, cap, "(record)");
}

/* Copies src into buf, cutting at a UTF-8 character boundary when too long. */
static void copy_cut(char *buf, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n < cap) {
        memcpy(buf, src, n + 1);
        return;
    }
    size_t keep = cap > 4 ? cap - 4 : 0;
    while (keep > 0 && ((unsigned char)src[keep] & 0xC0) == 0x80)
        keep--;
    memcpy(buf, src, keep);
    memcpy(buf + keep, "...", cap - keep > 3 ? 4 : cap - keep);
    buf[cap - 1] = '\0';
}

/* The offending value as JSON text. Under a personal field it is first masked
 * the way lt_mask_json masks records (shape kept, content hidden); every value
 * then goes through lt_mask_text, as an ID can hide in any free text. */
static void render_got(const json_t *v, const char *leaf, char *buf, size_t cap)
{
    if (!v) {
        copy_cut(buf, cap, "nothing");
        return;
    }
    json_t *holder = NULL;
    const json_t *shown = v;
    if (lt_mask_is_personal_field(leaf)) {
        holder = json_object();
        if (!holder || json_object_set_new(holder, leaf, json_deep_copy(v)) != 0 ||
            lt_mask_json(holder) != 0) {
            json_decref(holder);
            copy_cut(buf, cap, "(masked)");
            return;
        }
        shown = json_object_get(holder, leaf);
    }
    char *text = json_dumps(shown, JSON_ENCODE_ANY);
    char *masked = text ? lt_mask_text(text) : NULL;
    copy_cut(buf, cap, masked ? masked : "(masked)");
    free(masked);
    free(text);
    json_decref(holder);
}

static void add_error(struct ctx *cx, const struct where *w, const struct rule *r,
                      const char *expected, const json_t *got)
{
    lt_map_errors *e = cx->errs;
    e->total++;
    if (e->count == LT_MAP_ERRORS_MAX)
        return;
    lt_map_error *it = &e->items[e->count++];
    render_path(w, &r->vendor, true, it->vendor_path, sizeof(it->vendor_path));
    render_path(w, &r->canonical, false, it->canonical, sizeof(it->canonical));
    copy_cut(it->expected, sizeof(it->expected), expected);
    const char *leaf = r->canonical.n ? r->canonical.seg[r->canonical.n - 1] : "";
    render_got(got, leaf, it->got, sizeof(it->got));
    const char *from = cx->outbound ? it->canonical : it->vendor_path;
    const char *to = cx->outbound ? it->vendor_path : it->canonical;
    /* Through a local buffer: GCC cannot tell the sources from the target. */
    char msg[sizeof(it->message)];
    snprintf(msg, sizeof(msg), "field %s (\xe2\x86\x92 %s): expected %s, got %s", from, to,
             it->expected, it->got);
    memcpy(it->message, msg, sizeof(msg));
}

/* Outcome of looking a path up. */
enum lookup { L_FOUND, L_MISSING, L_NOT_OBJECT };

static enum lookup get_path(const json_t *obj, const struct path *p, const json_t **ret)
{
    const json_t *cur = obj;
    for (size_t i = 0; i < p->n; i++) {
        if (!json_is_object(cur))
            return i == 0 || json_is_null(cur) ? L_MISSING : L_NOT_OBJECT;
        cur = json_object_get(cur, p->seg[i]);
        if (!cur)
            return L_MISSING;
    }
    *ret = cur;
    return L_FOUND;
}

/* Sets value (stolen) at path, creating intermediate objects. */
static int set_path(json_t *obj, const struct path *p, json_t *value)
{
    json_t *cur = obj;
    if (!value)
        return -1;
    for (size_t i = 0; i + 1 < p->n; i++) {
        json_t *child = json_object_get(cur, p->seg[i]);
        if (!json_is_object(child)) {
            child = json_object();
            if (!child || json_object_set_new(cur, p->seg[i], child) != 0) {
                json_decref(value);
                return -1;
            }
        }
        cur = child;
    }
    return json_object_set_new(cur, p->seg[p->n - 1], value);
}

static void put(struct ctx *cx, json_t *dst, const struct path *p, json_t *value)
{
    if (set_path(dst, p, value) != 0)
        cx->oom = true;
}

/* A value passed through as it is: a copy inbound (the canonical record
 * shares nothing with what a vendor sent, and the ingest path amends it),
 * the value itself outbound, where the result is only serialised and
 * copying every member of a record was a third of a delivery's mapping
 * (tests/bench/RESULTS.md, "Drain"). */
static json_t *pass_value(const struct ctx *cx, const json_t *v)
{
    return cx->outbound ? json_incref((json_t *)v) : json_deep_copy(v);
}

/* Copies the members no rule names (pass-through of unknown fields). Members
 * inside a container that rules reach into are kept too, under their own
 * names at the top of the result; a name a rule already produced wins. */
static void pass_unknown(struct ctx *cx, const json_t *src, const json_t *trie, json_t *dst)
{
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)src, key, val)
    {
        const json_t *t = json_object_get(trie, key);
        if (!t) {
            if (!json_object_get(dst, key) &&
                json_object_set_new(dst, key, pass_value(cx, val)) != 0)
                cx->oom = true;
        } else if (json_is_object(t) && json_is_object(val)) {
            pass_unknown(cx, val, t, dst);
        }
    }
}

static json_t *apply(struct ctx *cx, const struct ruleset *rs, const json_t *src,
                     const struct where *w);

static const struct enum_pair *enum_find(const struct rule *r, const char *s, bool by_vendor)
{
    for (size_t i = 0; i < r->nmap; i++) {
        if (strcmp(by_vendor ? r->map[i].vendor : r->map[i].canonical, s) == 0)
            return &r->map[i];
    }
    return NULL;
}

/* A JSON integer on the dialect side, from text that the plan or the
 * canonical record guarantees or that is checked here. */
static json_t *integer_of(const char *s)
{
    long long v;
    return lt_mapping_is_integer_text(s, &v) ? json_integer((json_int_t)v) : NULL;
}

/* Text of an integer or string value (vendors send codes both ways). */
static const char *scalar_text(const json_t *v, char *buf, size_t cap)
{
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_integer(v)) {
        snprintf(buf, cap, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return buf;
    }
    return NULL;
}

static void list_in(struct ctx *cx, const struct rule *r, const json_t *v, json_t *dst,
                    const struct where *w)
{
    if (!json_is_array(v)) {
        add_error(cx, w, r, "an array", v);
        return;
    }
    json_t *out = r->items ? json_array() : pass_value(cx, v);
    if (!out) {
        cx->oom = true;
        return;
    }
    for (size_t i = 0; r->items && i < json_array_size(v); i++) {
        const json_t *item = json_array_get(v, i);
        struct where here = {w, r, i};
        if (!json_is_object(item)) {
            /* A rule with no paths names the item itself: "lichSu[1]". */
            const struct rule itself = {.type = T_LIST};
            add_error(cx, &here, &itself, "an object", item);
            continue;
        }
        json_t *m = apply(cx, r->items, item, &here);
        if (m && json_array_append_new(out, m) != 0)
            cx->oom = true;
    }
    put(cx, dst, cx->outbound ? &r->vendor : &r->canonical, out);
}

/* Vendor -> canonical for one rule. */
static void rule_in(struct ctx *cx, const struct rule *r, const json_t *src, json_t *dst,
                    const struct where *w)
{
    char num[32], date[16];
    if (r->drop || !r->canonical.n)
        return;
    if (r->constant) {
        put(cx, dst, &r->canonical, json_string(r->constant));
        return;
    }
    const json_t *v = NULL;
    enum lookup lk = get_path(src, &r->vendor, &v);
    if (lk == L_NOT_OBJECT) {
        add_error(cx, w, r, "an object on the way to this field", NULL);
        return;
    }
    bool absent = lk == L_MISSING || json_is_null(v) ||
                  (json_is_string(v) && json_string_length(v) == 0 && r->type != T_STRING);
    if (absent) {
        if (r->required)
            add_error(cx, w, r, "a value", v);
        else if (r->def)
            put(cx, dst, &r->canonical, json_string(r->def));
        else if (r->type == T_DATE && (lk == L_FOUND || r->empty == EMPTY_OMIT))
            put(cx, dst, &r->canonical, json_string(""));
        return;
    }
    switch (r->type) {
    case T_STRING:
        if (!json_is_string(v)) {
            add_error(cx, w, r, "a string", v);
            return;
        }
        if (r->required && json_string_length(v) == 0) {
            add_error(cx, w, r, "a value", v);
            return;
        }
        /* Already a jansson string, hence valid UTF-8: skip the re-check. */
        put(cx, dst, &r->canonical,
            json_stringn_nocheck(json_string_value(v), json_string_length(v)));
        return;
    case T_NUMBER: {
        const char *s = scalar_text(v, num, sizeof(num));
        if (!s) {
            add_error(cx, w, r, "an integer", v);
            return;
        }
        put(cx, dst, &r->canonical, json_string(s));
        return;
    }
    case T_DATE: {
        lt_civil_time c;
        if (r->date.epoch_ms) {
            const char *s = scalar_text(v, num, sizeof(num));
            long long ms;
            if (!s || !lt_mapping_is_integer_text(s, &ms) || ms < -62135596800000LL ||
                ms > 253402300799000LL) {
                add_error(cx, w, r, "milliseconds since 1970 (epoch_ms)", v);
                return;
            }
            int64_t secs = ms / 1000 - (ms % 1000 < 0) + VN_OFFSET_S;
            int64_t days = secs / 86400 - (secs % 86400 < 0);
            int64_t rem = secs - days * 86400;
            lt_civil_from_days(days, &c.y, &c.mo, &c.d);
            c.h = (int)(rem / 3600);
            c.mi = (int)(rem / 60 % 60);
            c.s = (int)(rem % 60);
        } else if (!json_is_string(v) || !lt_mapdate_parse_date(&r->date, json_string_value(v),
                                                                json_string_length(v), &c)) {
            add_error(cx, w, r, r->date_text, v);
            return;
        }
        lt_mapdate_write_canonical_date(&c, date);
        put(cx, dst, &r->canonical, json_string(date));
        return;
    }
    case T_ENUM: {
        const char *s = r->vendor_number ? scalar_text(v, num, sizeof(num)) : json_string_value(v);
        const struct enum_pair *p = s ? enum_find(r, s, true) : NULL;
        if (!p) {
            add_error(cx, w, r, r->expect_vendor, v);
            return;
        }
        put(cx, dst, &r->canonical, json_string(p->canonical));
        return;
    }
    case T_LIST:
        list_in(cx, r, v, dst, w);
        return;
    }
}

/* Canonical -> dialect for one rule. */
static void rule_out(struct ctx *cx, const struct rule *r, const json_t *src, json_t *dst,
                     const struct where *w)
{
    char date[DATE_TOKENS_MAX + 8];
    if (r->drop || !r->vendor.n)
        return;
    if (r->constant) {
        put(cx, dst, &r->vendor,
            r->type == T_NUMBER ? integer_of(r->constant) : json_string(r->constant));
        return;
    }
    const json_t *v = NULL;
    enum lookup lk = get_path(src, &r->canonical, &v);
    if (lk == L_NOT_OBJECT) {
        add_error(cx, w, r, "an object on the way to this field", NULL);
        return;
    }
    if (lk == L_MISSING || json_is_null(v)) {
        if (r->type == T_DATE && r->fill_now)
            v = NULL; /* filled below */
        else {
            if (r->required)
                add_error(cx, w, r, "a value", v);
            return;
        }
    }
    if (r->type == T_LIST) {
        list_in(cx, r, v, dst, w);
        return;
    }
    if (v && !json_is_string(v)) {
        add_error(cx, w, r, "a string", v);
        return;
    }
    const char *s = v ? json_string_value(v) : "";
    if (r->required && !*s && !(r->type == T_DATE && r->fill_now)) {
        add_error(cx, w, r, "a value", v);
        return;
    }
    switch (r->type) {
    case T_STRING:
        put(cx, dst, &r->vendor, pass_value(cx, v));
        return;
    case T_NUMBER: {
        if (!*s)
            return; /* an unknown number is left out */
        json_t *n = integer_of(s);
        if (!n) {
            add_error(cx, w, r, "an integer", v);
            return;
        }
        put(cx, dst, &r->vendor, n);
        return;
    }
    case T_DATE: {
        lt_civil_time c;
        if (!*s && r->fill_now) {
            if (!cx->now || !lt_mapdate_parse_canonical_date(cx->now, &c)) {
                add_error(cx, w, r, "a time of sending (yyyyMMddHHmmss) from the caller", NULL);
                return;
            }
        } else if (!*s) {
            if (r->empty == EMPTY_STRING)
                put(cx, dst, &r->vendor, json_string(""));
            else if (r->empty == EMPTY_NULL)
                put(cx, dst, &r->vendor, json_null());
            return;
        } else if (!lt_mapdate_parse_canonical_date(s, &c)) {
            add_error(cx, w, r, "yyyyMMddHHmmss", v);
            return;
        }
        if (r->date.epoch_ms) {
            int64_t secs =
                lt_civil_days(c.y, c.mo, c.d) * 86400 + c.h * 3600 + c.mi * 60 + c.s - VN_OFFSET_S;
            put(cx, dst, &r->vendor, json_integer((json_int_t)(secs * 1000)));
            return;
        }
        lt_mapdate_format_date(&r->date, &c, date);
        put(cx, dst, &r->vendor, json_string(date));
        return;
    }
    case T_ENUM: {
        const struct enum_pair *p = enum_find(r, s, false);
        if (!p) {
            add_error(cx, w, r, r->expect_canonical, v);
            return;
        }
        put(cx, dst, &r->vendor, r->vendor_number ? integer_of(p->vendor) : json_string(p->vendor));
        return;
    }
    case T_LIST:
        return;
    }
}

static json_t *apply(struct ctx *cx, const struct ruleset *rs, const json_t *src,
                     const struct where *w)
{
    json_t *dst = json_object();
    if (!dst) {
        cx->oom = true;
        return NULL;
    }
    for (size_t i = 0; i < rs->n; i++) {
        if (cx->outbound)
            rule_out(cx, &rs->rules[i], src, dst, w);
        else
            rule_in(cx, &rs->rules[i], src, dst, w);
    }
    if (rs->keep_unknown)
        pass_unknown(cx, src, cx->outbound ? rs->canon_trie : rs->vendor_trie, dst);
    return dst;
}

static json_t *run(const lt_dialect *d, const json_t *record, bool outbound, const char *now,
                   lt_map_errors *errs)
{
    errs->count = 0;
    errs->total = 0;
    struct ctx cx = {errs, outbound, now, false};
    struct rule whole = {.type = T_LIST};
    if (!(outbound ? d->from_canonical : d->to_canonical)) {
        add_error(&cx, NULL, &whole,
                  outbound ? "a dialect with \"from_canonical\" in its directions"
                           : "a dialect with \"to_canonical\" in its directions",
                  NULL);
        return NULL;
    }
    if (!json_is_object(record)) {
        add_error(&cx, NULL, &whole, "a JSON object (the record)", record);
        return NULL;
    }
    json_t *out = apply(&cx, &d->top, record, NULL);
    if (cx.oom || errs->total > 0) {
        json_decref(out);
        return NULL;
    }
    return out;
}

json_t *lt_dialect_to_canonical(const lt_dialect *d, const json_t *vendor_record,
                                lt_map_errors *errs)
{
    return run(d, vendor_record, false, NULL, errs);
}

json_t *lt_dialect_from_canonical(const lt_dialect *d, const json_t *canonical, const char *now,
                                  lt_map_errors *errs)
{
    return run(d, canonical, true, now, errs);
}

/* A filter's procedure matches the code itself and, when written in the
 * national base form, the province's local variants built on it
 * ("1.003560" matches "1.003560.000.00.00.H56"). */
static bool procedure_matches(const char *want, const char *code)
{
    size_t n = strlen(want);
    return strncmp(want, code, n) == 0 && (code[n] == '\0' || code[n] == '.');
}

bool lt_dialect_accepts(const lt_dialect *d, const json_t *canonical)
{
    const char *code = json_string_value(json_object_get(canonical, "MaTTHC"));
    const char *status = json_string_value(json_object_get(canonical, "TrangThaiHoSo"));
    if (!code)
        return true;
    for (size_t i = 0; i < d->nfilters; i++) {
        const struct filter *f = &d->filters[i];
        bool hit = false;
        for (size_t k = 0; k < f->nproc && !hit; k++)
            hit = procedure_matches(f->procedures[k], code);
        if (!hit)
            continue;
        for (size_t k = 0; status && k < f->nstat; k++) {
            if (strcmp(f->statuses[k], status) == 0)
                return true;
        }
        return false;
    }
    return true;
}

/* The last segment of a dialect path, "lichSu[2].ngayXuLy" -> "ngayXuLy",
 * which is what the vendor calls the field. */
static json_t *leaf_of(const char *path)
{
    const char *dot = strrchr(path, '.');
    const char *leaf = dot ? dot + 1 : path;
    size_t n = strcspn(leaf, "[");
    return json_stringn(leaf, n);
}

/* A record the dialect could not map: the contract's rejection shape with
 * the vendor's own field names. */
json_t *lt_map_rejection(const lt_map_errors *m)
{
    json_t *errors = json_array();
    for (size_t i = 0; errors && i < m->count; i++) {
        const lt_map_error *e = &m->items[i];
        json_array_append_new(errors, json_pack("{s:o, s:s, s:s, s:s}", "field",
                                                leaf_of(e->vendor_path), "path", e->vendor_path,
                                                "expected", e->expected, "got", e->got));
    }
    const lt_map_error *first = &m->items[0];
    return json_pack("{s:s, s:s, s:i, s:o, s:s, s:s, s:o}", "MaHoSo", "", "result", "rejected",
                     "code", 422, "field", leaf_of(first->vendor_path), "path", first->vendor_path,
                     "message", first->message, "errors", errors);
}
