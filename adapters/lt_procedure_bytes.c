/* lt_procedure_bytes: a bulk catalog sync spent most of its client time in
 * jansson (json_loadb, then json_dumps with sorted keys: ~130 of ~150 µs a
 * procedure), building and freeing a tree only to print it again. This path
 * reads a record's bytes once into a flat array of nodes, applies the rules
 * of lt_procedure.c's table to it and writes the canonical text (jansson's
 * compact form with sorted keys) directly.
 *
 * It is an optimization, not a second definition: it accepts only what it
 * can reproduce exactly and answers NULL for anything else (not JSON, a
 * broken rule, real numbers, long integers, escaped keys, deep nesting),
 * and the caller then takes the general path, which decides. So errors and
 * their wording always come from jansson and lt_procedure.c, and the unit
 * tests hold this path's output to the general path's, byte for byte. */
#include "lt_procedure.h"
#include "lt_procedure_int.h"
#include "lt_utf8.h"

#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Deeper records go to the general path (jansson allows 2048 levels). */
#define MAX_DEPTH 64
/* Node offsets are 32-bit; the sync's records are at most 4 MiB. */
#define MAX_BYTES ((size_t)1 << 28)

typedef enum { N_OBJECT, N_ARRAY, N_STRING, N_INT, N_TRUE, N_FALSE, N_NULL } node_type;

/* One JSON value. Nodes are in document order; a container's members follow
 * it (an object's as key, value, key, value...), and end skips them. */
typedef struct node {
    uint8_t type;    /* node_type */
    uint8_t escaped; /* N_STRING: holds a backslash escape */
    uint32_t start;  /* N_STRING: first byte after the quote; N_INT: first byte */
    uint32_t len;    /* N_STRING: bytes between the quotes; N_INT: the literal's */
    uint32_t count;  /* N_OBJECT: members; N_ARRAY: elements */
    uint32_t end;    /* index of the first node after this one's subtree */
} node;

/* An object member while its object is written: key and value nodes. */
typedef struct member {
    uint32_t key;                  /* N_STRING node of the key */
    uint32_t value;                /* value node */
    const lt_procedure_spec *rule; /* the table's rule for the key, or NULL */
} member;

typedef struct parser {
    const char *s; /* the record's bytes */
    size_t n;      /* their length */
    size_t pos;    /* next byte to read */
    node *nodes;   /* parsed values */
    size_t nn;     /* nodes used */
    size_t cap;    /* nodes allocated */
    int depth;     /* containers open */
} parser;

typedef struct writer {
    const parser *p; /* the parsed record */
    char *out;       /* canonical text being written */
    size_t len;      /* bytes written */
    size_t cap;      /* bytes allocated */
    member *members; /* a stack of the members of the objects being written */
    size_t nmembers; /* members on the stack */
    size_t cap_mem;  /* members allocated */
} writer;

/* ---- parse ----------------------------------------------------------------- */

static void skip_ws(parser *p)
{
    while (p->pos < p->n) {
        char c = p->s[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            return;
        p->pos++;
    }
}

static int new_node(parser *p, node_type type, uint32_t *ret_index)
{
    if (p->nn == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 256;
        node *nodes = realloc(p->nodes, cap * sizeof(*nodes));
        if (!nodes)
            return -1;
        p->nodes = nodes;
        p->cap = cap;
    }
    node *nd = &p->nodes[p->nn];
    memset(nd, 0, sizeof(*nd));
    nd->type = (uint8_t)type;
    *ret_index = (uint32_t)p->nn++;
    nd->end = (uint32_t)p->nn;
    return 0;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The four hex digits at s (n bytes left) as a code unit; -1 if not. */
static long hex4(const char *s, size_t n)
{
    if (n < 4)
        return -1;
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int d = hex_digit(s[i]);
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

/* The escape at s (after the backslash, n bytes left): its length in bytes
 * after the backslash and its code point; 0 when jansson would refuse it
 * (an unknown escape, \u0000, a lone surrogate). */
static size_t escape_at(const char *s, size_t n, uint32_t *ret_cp)
{
    if (n < 1)
        return 0;
    switch (s[0]) {
    case '"':
        *ret_cp = '"';
        return 1;
    case '\\':
        *ret_cp = '\\';
        return 1;
    case '/':
        *ret_cp = '/';
        return 1;
    case 'b':
        *ret_cp = '\b';
        return 1;
    case 'f':
        *ret_cp = '\f';
        return 1;
    case 'n':
        *ret_cp = '\n';
        return 1;
    case 'r':
        *ret_cp = '\r';
        return 1;
    case 't':
        *ret_cp = '\t';
        return 1;
    case 'u':
        break;
    default:
        return 0;
    }
    long hi = hex4(s + 1, n - 1);
    if (hi <= 0 || (hi >= 0xDC00 && hi <= 0xDFFF))
        return 0;
    if (hi < 0xD800 || hi > 0xDBFF) {
        *ret_cp = (uint32_t)hi;
        return 5;
    }
    if (n < 11 || s[5] != '\\' || s[6] != 'u')
        return 0;
    long lo = hex4(s + 7, n - 7);
    if (lo < 0xDC00 || lo > 0xDFFF)
        return 0;
    *ret_cp = 0x10000 + (((uint32_t)hi - 0xD800) << 10) + ((uint32_t)lo - 0xDC00);
    return 11;
}

static int parse_string(parser *p, uint32_t *ret_index)
{
    uint32_t at;
    if (new_node(p, N_STRING, &at) < 0)
        return -1;
    size_t i = p->pos + 1;
    bool escaped = false;
    while (i < p->n) {
        unsigned char c = (unsigned char)p->s[i];
        if (c == '"')
            break;
        if (c == '\\') {
            uint32_t cp;
            size_t k = escape_at(p->s + i + 1, p->n - i - 1, &cp);
            if (k == 0)
                return -1;
            escaped = true;
            i += 1 + k;
        } else if (c < 0x20) {
            return -1; /* jansson refuses control characters in strings */
        } else if (c < 0x80) {
            i++;
        } else {
            size_t k = lt_utf8_seq_len((const unsigned char *)p->s + i, p->n - i);
            if (k == 0)
                return -1;
            i += k;
        }
    }
    if (i >= p->n)
        return -1;
    node *nd = &p->nodes[at];
    nd->escaped = escaped;
    nd->start = (uint32_t)(p->pos + 1);
    nd->len = (uint32_t)(i - p->pos - 1);
    p->pos = i + 1;
    *ret_index = at;
    return 0;
}

/* Integers only, as jansson would read them and print them back: no "-0",
 * at most 18 digits (strtoll cannot overflow), no fraction or exponent
 * (jansson's real numbers print differently from how they came). */
static int parse_int(parser *p)
{
    size_t i = p->pos;
    if (p->s[i] == '-')
        i++;
    size_t digits = i;
    if (i < p->n && p->s[i] == '0') {
        i++;
    } else {
        while (i < p->n && p->s[i] >= '0' && p->s[i] <= '9')
            i++;
    }
    size_t nd = i - digits;
    if (nd == 0 || nd > 18 || (nd == 1 && p->s[digits] == '0' && digits > p->pos))
        return -1;
    if (i < p->n) {
        char c = p->s[i];
        if (c == '.' || c == 'e' || c == 'E' || (c >= '0' && c <= '9'))
            return -1;
    }
    uint32_t at;
    if (new_node(p, N_INT, &at) < 0)
        return -1;
    p->nodes[at].start = (uint32_t)p->pos;
    p->nodes[at].len = (uint32_t)(i - p->pos);
    p->pos = i;
    return 0;
}

static int parse_literal(parser *p, const char *word, node_type type)
{
    size_t k = strlen(word);
    if (p->n - p->pos < k || memcmp(p->s + p->pos, word, k) != 0)
        return -1;
    uint32_t at;
    if (new_node(p, type, &at) < 0)
        return -1;
    p->pos += k;
    return 0;
}

static int parse_value(parser *p);

static int parse_container(parser *p, bool object)
{
    uint32_t at;
    if (++p->depth > MAX_DEPTH || new_node(p, object ? N_OBJECT : N_ARRAY, &at) < 0)
        return -1;
    char close = object ? '}' : ']';
    uint32_t count = 0;
    p->pos++;
    skip_ws(p);
    if (p->pos < p->n && p->s[p->pos] == close) {
        p->pos++;
    } else {
        for (;;) {
            if (object) {
                uint32_t key;
                if (p->pos >= p->n || p->s[p->pos] != '"' || parse_string(p, &key) < 0 ||
                    p->nodes[key].escaped)
                    return -1;
                skip_ws(p);
                if (p->pos >= p->n || p->s[p->pos] != ':')
                    return -1;
                p->pos++;
            }
            if (parse_value(p) < 0)
                return -1;
            count++;
            skip_ws(p);
            if (p->pos >= p->n)
                return -1;
            char c = p->s[p->pos++];
            if (c == close)
                break;
            if (c != ',')
                return -1;
            skip_ws(p);
        }
    }
    p->nodes[at].count = count;
    p->nodes[at].end = (uint32_t)p->nn;
    p->depth--;
    return 0;
}

static int parse_value(parser *p)
{
    skip_ws(p);
    if (p->pos >= p->n)
        return -1;
    uint32_t at;
    switch (p->s[p->pos]) {
    case '{':
        return parse_container(p, true);
    case '[':
        return parse_container(p, false);
    case '"':
        return parse_string(p, &at);
    case 't':
        return parse_literal(p, "true", N_TRUE);
    case 'f':
        return parse_literal(p, "false", N_FALSE);
    case 'n':
        return parse_literal(p, "null", N_NULL);
    default:
        return parse_int(p);
    }
}

/* ---- write ----------------------------------------------------------------- */

static int reserve(writer *w, size_t more)
{
    if (w->len + more <= w->cap)
        return 0;
    size_t cap = w->cap ? w->cap : 4096;
    while (cap < w->len + more)
        cap *= 2;
    char *out = realloc(w->out, cap);
    if (!out)
        return -1;
    w->out = out;
    w->cap = cap;
    return 0;
}

static int put(writer *w, const char *s, size_t n)
{
    if (reserve(w, n) < 0)
        return -1;
    memcpy(w->out + w->len, s, n);
    w->len += n;
    return 0;
}

static int put_char(writer *w, char c)
{
    return put(w, &c, 1);
}

/* A code point as UTF-8 into buf (at least 4 bytes); returns its length. */
static size_t utf8_put(uint32_t cp, char *buf)
{
    if (cp < 0x80) {
        buf[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        buf[0] = (char)(0xC0 | (cp >> 6));
        buf[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        buf[0] = (char)(0xE0 | (cp >> 12));
        buf[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        buf[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    buf[0] = (char)(0xF0 | (cp >> 18));
    buf[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    buf[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    buf[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* A decoded code point as jansson's dump_string writes it (no
 * JSON_ENSURE_ASCII, no JSON_ESCAPE_SLASH): '"', '\\' and control
 * characters escaped, \u with upper-case hex for those without a short
 * form, everything else as UTF-8. */
static int put_code_point(writer *w, uint32_t cp)
{
    static const char hex[] = "0123456789ABCDEF";
    char buf[6];
    switch (cp) {
    case '"':
        return put(w, "\\\"", 2);
    case '\\':
        return put(w, "\\\\", 2);
    case '\b':
        return put(w, "\\b", 2);
    case '\f':
        return put(w, "\\f", 2);
    case '\n':
        return put(w, "\\n", 2);
    case '\r':
        return put(w, "\\r", 2);
    case '\t':
        return put(w, "\\t", 2);
    default:
        break;
    }
    if (cp < 0x20) {
        buf[0] = '\\';
        buf[1] = 'u';
        buf[2] = '0';
        buf[3] = '0';
        buf[4] = hex[cp >> 4];
        buf[5] = hex[cp & 15];
        return put(w, buf, 6);
    }
    return put(w, buf, utf8_put(cp, buf));
}

/* A string node's value, quoted as jansson writes it. Without escapes the
 * bytes need none (no '"', '\\' or control character can be there). */
static int put_string(writer *w, const node *nd)
{
    const char *s = w->p->s + nd->start;
    if (put_char(w, '"') < 0)
        return -1;
    if (!nd->escaped) {
        if (put(w, s, nd->len) < 0)
            return -1;
    } else {
        size_t i = 0;
        while (i < nd->len) {
            size_t run = i;
            while (run < nd->len && s[run] != '\\')
                run++;
            if (put(w, s + i, run - i) < 0)
                return -1;
            if (run == nd->len)
                break;
            uint32_t cp;
            size_t k = escape_at(s + run + 1, nd->len - run - 1, &cp);
            if (put_code_point(w, cp) < 0)
                return -1;
            i = run + 1 + k;
        }
    }
    return put_char(w, '"');
}

/* A string node's decoded value into dst (at least nd->len + 1 bytes, as
 * decoding only shortens), NUL-terminated; returns its length. */
static size_t decode_string(const parser *p, const node *nd, char *dst)
{
    const char *s = p->s + nd->start;
    size_t o = 0, i = 0;
    while (i < nd->len) {
        if (s[i] != '\\') {
            dst[o++] = s[i++];
            continue;
        }
        uint32_t cp;
        size_t k = escape_at(s + i + 1, nd->len - i - 1, &cp);
        o += utf8_put(cp, dst + o);
        i += 1 + k;
    }
    dst[o] = '\0';
    return o;
}

static bool key_is(const parser *p, uint32_t key, const char *name)
{
    const node *k = &p->nodes[key];
    size_t n = strlen(name);
    return k->len == n && memcmp(p->s + k->start, name, n) == 0;
}

/* jansson's JSON_SORT_KEYS order: bytewise, a prefix first. */
static int key_cmp(const parser *p, uint32_t a, uint32_t b)
{
    const node *x = &p->nodes[a], *y = &p->nodes[b];
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(p->s + x->start, p->s + y->start, n);
    if (c)
        return c;
    return x->len < y->len ? -1 : x->len > y->len;
}

static int write_value(writer *w, uint32_t at, const lt_procedure_spec *rule);

/* The object at `at`, keys sorted; rules: the table for its keys (the
 * record's, or a list entry's), NULL for an object the table does not
 * describe. Duplicate keys and broken rules answer -1. */
static int write_object(writer *w, uint32_t at, const lt_procedure_spec *rules)
{
    const parser *p = w->p;
    const node *obj = &p->nodes[at];
    size_t base = w->nmembers;
    if (w->nmembers + obj->count > w->cap_mem) {
        size_t cap = w->cap_mem ? w->cap_mem : 64;
        while (cap < w->nmembers + obj->count)
            cap *= 2;
        member *m = realloc(w->members, cap * sizeof(*m));
        if (!m)
            return -1;
        w->members = m;
        w->cap_mem = cap;
    }
    /* NULL + 0 is undefined: an empty first object has no members yet. */
    member *m = w->members ? w->members + base : NULL;
    uint32_t i = at + 1;
    for (uint32_t k = 0; k < obj->count; k++) {
        member cur = {.key = i, .value = i + 1, .rule = NULL};
        i = p->nodes[i + 1].end;
        /* Insertion sort: objects have a handful of keys. */
        size_t j = k;
        while (j > 0 && key_cmp(p, m[j - 1].key, cur.key) > 0) {
            m[j] = m[j - 1];
            j--;
        }
        m[j] = cur;
    }
    w->nmembers += obj->count;
    int rc = -1;
    for (uint32_t k = 1; k < obj->count; k++)
        if (key_cmp(p, m[k - 1].key, m[k].key) == 0)
            goto out; /* jansson refuses duplicates (JSON_REJECT_DUPLICATES) */
    for (const lt_procedure_spec *r = rules; r && r->key; r++) {
        member *found = NULL;
        for (uint32_t k = 0; k < obj->count && !found; k++)
            if (key_is(p, m[k].key, r->key))
                found = &m[k];
        if (found)
            found->rule = r;
        else if (r->required)
            goto out;
    }
    if (put_char(w, '{') < 0)
        goto out;
    for (uint32_t k = 0; k < obj->count; k++) {
        /* Nested objects may move the stack: copy the member first. */
        member cur = w->members[base + k];
        if ((k && put_char(w, ',') < 0) || put_string(w, &p->nodes[cur.key]) < 0 ||
            put_char(w, ':') < 0 || write_value(w, cur.value, cur.rule) < 0)
            goto out;
    }
    rc = put_char(w, '}');
out:
    w->nmembers = base;
    return rc;
}

/* Whether text (len bytes, no escapes in it) satisfies a scalar rule. */
static bool scalar_ok(const lt_procedure_spec *rule, const char *text, size_t len)
{
    switch (rule->kind) {
    case K_LEVEL:
        return len == 1 && text[0] >= '0' && text[0] <= '3';
    case K_CHANNEL:
        return len == 1 && text[0] >= '1' && text[0] <= '3';
    case K_DECIMAL: {
        char buf[32];
        if (len >= sizeof(buf))
            return false;
        memcpy(buf, text, len);
        buf[len] = '\0';
        return lt_procedure_is_decimal(buf);
    }
    case K_CODE:
    case K_TEXT:
        return !rule->required || len > 0;
    case K_LIST:
        break;
    }
    return false;
}

/* A value under its rule (NULL: kept as it came), as lt_procedure.c's
 * normalization leaves it and jansson then prints it. */
static int write_value(writer *w, uint32_t at, const lt_procedure_spec *rule)
{
    const parser *p = w->p;
    const node *nd = &p->nodes[at];
    if (rule && rule->kind == K_LIST) {
        if (nd->type == N_NULL)
            return put(w, "[]", 2);
        if (nd->type != N_ARRAY)
            return -1;
        if (put_char(w, '[') < 0)
            return -1;
        uint32_t i = at + 1;
        for (uint32_t k = 0; k < nd->count; k++) {
            if (k && put_char(w, ',') < 0)
                return -1;
            if (rule->entry) {
                if (p->nodes[i].type != N_OBJECT || write_object(w, i, rule->entry) < 0)
                    return -1;
            } else if (write_value(w, i, NULL) < 0) {
                return -1;
            }
            i = p->nodes[i].end;
        }
        return put_char(w, ']');
    }
    if (rule) {
        /* A scalar that travels as a string. */
        switch (nd->type) {
        case N_STRING:
            /* Escaped levels, channels and decimals are left to the
             * general path; text and codes only need to be non-empty,
             * which an escape cannot undo (\u0000 is refused). */
            if (nd->escaped && rule->kind != K_TEXT && rule->kind != K_CODE)
                return -1;
            if (!scalar_ok(rule, p->s + nd->start, nd->len))
                return -1;
            return put_string(w, nd);
        case N_INT:
            if (rule->kind == K_CODE || !scalar_ok(rule, p->s + nd->start, nd->len))
                return -1;
            return put_char(w, '"') < 0 || put(w, p->s + nd->start, nd->len) < 0 ? -1
                                                                                 : put_char(w, '"');
        case N_NULL:
            if (rule->required || !scalar_ok(rule, "", 0))
                return -1;
            return put(w, "\"\"", 2);
        default:
            return -1;
        }
    }
    switch (nd->type) {
    case N_OBJECT:
        return write_object(w, at, NULL);
    case N_ARRAY: {
        if (put_char(w, '[') < 0)
            return -1;
        uint32_t i = at + 1;
        for (uint32_t k = 0; k < nd->count; k++) {
            if ((k && put_char(w, ',') < 0) || write_value(w, i, NULL) < 0)
                return -1;
            i = p->nodes[i].end;
        }
        return put_char(w, ']');
    }
    case N_STRING:
        return put_string(w, nd);
    case N_INT:
        return put(w, p->s + nd->start, nd->len);
    case N_TRUE:
        return put(w, "true", 4);
    case N_FALSE:
        return put(w, "false", 5);
    default:
        return put(w, "null", 4);
    }
}

/* ---- columns ----------------------------------------------------------------- */

/* The value node of key in the object at `at`, or 0 (node 0 is the record
 * itself, never a member). Keys are unique: write_object checked. */
static uint32_t member_of(const parser *p, uint32_t at, const char *key)
{
    uint32_t i = at + 1;
    for (uint32_t k = 0; k < p->nodes[at].count; k++) {
        if (key_is(p, i, key))
            return i + 1;
        i = p->nodes[i + 1].end;
    }
    return 0;
}

/* A scalar's normalized text (validated by write_value) appended to the
 * strings area at *used; returns where it starts. */
static const char *text_of(const parser *p, uint32_t at, char *strings, size_t *used)
{
    char *dst = strings + *used;
    const node *nd = &p->nodes[at];
    size_t n = 0;
    if (nd->type == N_STRING) {
        n = decode_string(p, nd, dst);
    } else if (nd->type == N_INT) {
        memcpy(dst, p->s + nd->start, nd->len);
        n = nd->len;
        dst[n] = '\0';
    } else {
        dst[0] = '\0';
    }
    *used += n + 1;
    return dst;
}

static lt_procedure *columns(const parser *p, char *canonical, size_t canonical_len)
{
    lt_procedure *self = calloc(1, sizeof(*self));
    if (!self)
        return NULL;
    self->canonical = canonical;
    self->canonical_len = canonical_len;
    /* Four strings, each no longer than the bytes it came from. */
    self->strings = malloc(p->n + 8);
    if (!self->strings)
        goto bad;
    size_t used = 0;
    uint32_t code = member_of(p, 0, "MATTHC"), name = member_of(p, 0, "TENTTHC");
    uint32_t status = member_of(p, 0, "TRANGTHAI");
    self->code = text_of(p, code, self->strings, &used);
    self->name = text_of(p, name, self->strings, &used);
    self->status = status ? text_of(p, status, self->strings, &used) : "";
    uint32_t fields = member_of(p, 0, "LINHVUCTHUCHIEN");
    if (fields && p->nodes[fields].type == N_ARRAY) {
        uint32_t i = fields + 1;
        for (uint32_t k = 0; k < p->nodes[fields].count && !self->field_code; k++) {
            uint32_t v = member_of(p, i, "MALINHVUC");
            if (v && p->nodes[v].type != N_NULL) {
                const char *t = text_of(p, v, self->strings, &used);
                if (t[0])
                    self->field_code = t;
            }
            i = p->nodes[i].end;
        }
    }
    /* A code this long is refused by the general path, with its message. */
    if (strlen(self->code) >= sizeof(self->base_code) ||
        lt_procedure_base_of(self->code, self->base_code, sizeof(self->base_code)) < 0)
        goto bad;
    bool seen[LT_PROCEDURE_MAX_LEVELS] = {false};
    uint32_t levels = member_of(p, 0, "CAPTHUCHIEN");
    if (levels && p->nodes[levels].type == N_ARRAY) {
        uint32_t i = levels + 1;
        for (uint32_t k = 0; k < p->nodes[levels].count; k++) {
            uint32_t v = member_of(p, i, "CAPTHUCHIEN");
            seen[p->s[p->nodes[v].start] - '0'] = true; /* validated: "0".."3" or 0..3 */
            i = p->nodes[i].end;
        }
    }
    for (int l = 0; l < LT_PROCEDURE_MAX_LEVELS; l++)
        if (seen[l])
            self->levels[self->nlevels++] = l;
    crypto_hash_sha256(self->hash, (const unsigned char *)canonical, canonical_len);
    return self;
bad:
    self->canonical = NULL; /* the caller's on failure */
    lt_procedure_destroy(&self);
    return NULL;
}

lt_procedure *lt_procedure_from_bytes(const char *bytes, size_t len)
{
    if (len == 0 || len >= MAX_BYTES)
        return NULL;
    parser p = {.s = bytes, .n = len};
    writer w = {.p = &p};
    lt_procedure *self = NULL;
    skip_ws(&p);
    if (p.pos >= p.n || p.s[p.pos] != '{' || parse_value(&p) < 0)
        goto out;
    skip_ws(&p);
    if (p.pos != p.n)
        goto out;
    if (reserve(&w, len + 64) < 0 || write_object(&w, 0, lt_procedure_record_spec) < 0 ||
        put_char(&w, '\0') < 0)
        goto out;
    self = columns(&p, w.out, w.len - 1);
    if (self)
        w.out = NULL;
out:
    free(w.out);
    free(w.members);
    free(p.nodes);
    return self;
}
