/* lt_units: routing, token scope and the competent unit of a dossier are all
 * read from the unit tree, so a bad tree breaks everything downstream. The
 * import therefore validates the whole file — alone, then merged with what
 * the database holds — before it writes a single row, and then writes it in
 * one transaction: an operator either gets the new tree or the old one,
 * never half of each. Parsing and validation are pure (no libpq) so every
 * rule is unit-tested; the database half (lt_units_import.c) only reads,
 * compares and writes. */
#include "lt_units.h"

#include <jansson.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct lt_units {
    json_t *root;           /* the parsed document: every string is borrowed from it */
    lt_unit *units;         /* n entries, file order until validated, then parents first */
    size_t n;               /* number of units */
    lt_unit_alias *aliases; /* storage for every unit's aliases */
    size_t *sorted;         /* indexes into units ordered by code, for lookups */
};

static const char *const level_names[] = {"ministry", "province", "district", "commune"};

/* Keys a unit may carry; anything else is a typo to report, not to drop. */
static const char *const unit_keys[] = {"code",    "name", "level",   "parent",     "agency_id",
                                        "aliases", "url",  "dialect", "code_system"};
static const char *const alias_keys[] = {"code", "agency_id", "valid_from", "valid_to"};

const char *lt_unit_level_name(int level)
{
    if (level < LT_UNIT_MINISTRY || level > LT_UNIT_COMMUNE)
        return "?";
    return level_names[level];
}

/* Fills err about entry index (code may be NULL) and returns -1. */
static int fail(lt_units_error *err, long index, const char *code, const char *rule,
                const char *format, ...) __attribute__((format(printf, 5, 6)));
static int fail(lt_units_error *err, long index, const char *code, const char *rule,
                const char *format, ...)
{
    char what[256];
    va_list ap;
    va_start(ap, format);
    vsnprintf(what, sizeof(what), format, ap);
    va_end(ap);
    err->index = index;
    snprintf(err->code, sizeof(err->code), "%s", code ? code : "");
    snprintf(err->rule, sizeof(err->rule), "%s", rule);
    if (index < 0)
        snprintf(err->message, sizeof(err->message), "%s (rule: %s)", what, rule);
    else if (code)
        snprintf(err->message, sizeof(err->message), "entry [%ld] (code %s): %s (rule: %s)", index,
                 code, what, rule);
    else
        snprintf(err->message, sizeof(err->message), "entry [%ld]: %s (rule: %s)", index, what,
                 rule);
    return -1;
}

static bool known_key(const char *key, const char *const *keys, size_t n)
{
    if (key[0] == '#')
        return true; /* comments, as in the configuration file */
    for (size_t i = 0; i < n; i++)
        if (strcmp(key, keys[i]) == 0)
            return true;
    return false;
}

/* Reads an optional string member: absent or null = NULL. Present but not a
 * non-empty string is an error. */
static int opt_string(const json_t *obj, const char *key, const char **ret, lt_units_error *err,
                      long index, const char *code, const char *where)
{
    const json_t *v = json_object_get(obj, key);
    *ret = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v) || json_string_length(v) == 0)
        return fail(err, index, code, "shape", "%s%s must be a non-empty string or null", where,
                    key);
    *ret = json_string_value(v);
    return 0;
}

static int parse_level(const json_t *v, int *ret)
{
    if (json_is_integer(v)) {
        json_int_t l = json_integer_value(v);
        if (l < LT_UNIT_MINISTRY || l > LT_UNIT_COMMUNE)
            return -1;
        *ret = (int)l;
        return 0;
    }
    if (!json_is_string(v))
        return -1;
    const char *s = json_string_value(v);
    for (int i = 0; i <= LT_UNIT_COMMUNE; i++) {
        if (strcmp(s, level_names[i]) == 0 || (s[0] == '0' + i && s[1] == '\0')) {
            *ret = i;
            return 0;
        }
    }
    return -1;
}

/* YYYY-MM-DD, a real calendar day. */
static bool is_date(const char *s)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return false;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
            return false;
    int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    int m = (s[5] - '0') * 10 + (s[6] - '0');
    int d = (s[8] - '0') * 10 + (s[9] - '0');
    if (y < 1900 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
        return false;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return !(m == 2 && d == 29 && !leap);
}

static int parse_alias(const json_t *a, lt_unit_alias *ret, lt_units_error *err, long index,
                       const char *code, size_t k)
{
    char where[48];
    snprintf(where, sizeof(where), "aliases[%zu].", k);
    if (!json_is_object(a))
        return fail(err, index, code, "alias", "aliases[%zu] must be an object", k);
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)a, key, v)
    {
        if (!known_key(key, alias_keys, sizeof(alias_keys) / sizeof(alias_keys[0])))
            return fail(err, index, code, "shape", "unknown key %s%s", where, key);
    }
    if (opt_string(a, "code", &ret->code, err, index, code, where) < 0 ||
        opt_string(a, "agency_id", &ret->agency_id, err, index, code, where) < 0 ||
        opt_string(a, "valid_from", &ret->valid_from, err, index, code, where) < 0 ||
        opt_string(a, "valid_to", &ret->valid_to, err, index, code, where) < 0)
        return -1;
    if ((ret->code != NULL) == (ret->agency_id != NULL))
        return fail(err, index, code, "alias",
                    "aliases[%zu] must have exactly one of \"code\" and \"agency_id\"", k);
    if (ret->valid_from && !is_date(ret->valid_from))
        return fail(err, index, code, "date", "%svalid_from %s is not a date YYYY-MM-DD", where,
                    ret->valid_from);
    if (ret->valid_to && !is_date(ret->valid_to))
        return fail(err, index, code, "date", "%svalid_to %s is not a date YYYY-MM-DD", where,
                    ret->valid_to);
    if (ret->valid_from && ret->valid_to && strcmp(ret->valid_from, ret->valid_to) > 0)
        return fail(err, index, code, "date", "%svalid_from %s is after valid_to %s", where,
                    ret->valid_from, ret->valid_to);
    return 0;
}

static int parse_unit(const json_t *o, size_t index, lt_unit *u, lt_unit_alias *astore,
                      size_t *anext, lt_units_error *err)
{
    long ix = (long)index;
    if (!json_is_object(o))
        return fail(err, ix, NULL, "shape", "a unit must be a JSON object");
    const json_t *c = json_object_get(o, "code");
    if (!json_is_string(c) || json_string_length(c) == 0)
        return fail(err, ix, NULL, "shape", "code must be a non-empty string");
    u->index = index;
    u->code = json_string_value(c);
    const char *code = u->code;
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)o, key, v)
    {
        if (!known_key(key, unit_keys, sizeof(unit_keys) / sizeof(unit_keys[0])))
            return fail(err, ix, code, "shape", "unknown key %s", key);
    }
    const json_t *name = json_object_get(o, "name");
    if (!json_is_string(name) || json_string_length(name) == 0)
        return fail(err, ix, code, "shape", "name must be a non-empty string");
    u->name = json_string_value(name);
    if (parse_level(json_object_get(o, "level"), &u->level) < 0)
        return fail(err, ix, code, "level",
                    "level must be \"ministry\", \"province\", \"district\", \"commune\" or 0..3");
    if (opt_string(o, "parent", &u->parent, err, ix, code, "") < 0 ||
        opt_string(o, "agency_id", &u->agency_id, err, ix, code, "") < 0 ||
        opt_string(o, "code_system", &u->code_system, err, ix, code, "") < 0 ||
        opt_string(o, "url", &u->url, err, ix, code, "") < 0 ||
        opt_string(o, "dialect", &u->dialect, err, ix, code, "") < 0)
        return -1;
    if (!u->code_system)
        u->code_system = "gso";
    if (u->parent && strcmp(u->parent, code) == 0)
        return fail(err, ix, code, "cycle", "a unit cannot be its own parent");
    const json_t *al = json_object_get(o, "aliases");
    u->aliases = astore + *anext;
    u->naliases = 0;
    if (!al || json_is_null(al))
        return 0;
    if (!json_is_array(al))
        return fail(err, ix, code, "shape", "aliases must be an array");
    for (size_t k = 0; k < json_array_size(al); k++) {
        if (parse_alias(json_array_get(al, k), &astore[*anext], err, ix, code, k) < 0)
            return -1;
        (*anext)++;
        u->naliases++;
    }
    return 0;
}

/* Index sorts go through glibc's qsort_r (the build defines _GNU_SOURCE)
 * so that no comparator reads a global: validation stays reentrant. */
static int by_code(const void *a, const void *b, void *base)
{
    const lt_unit *ua = &((const lt_unit *)base)[*(const size_t *)a];
    const lt_unit *ub = &((const lt_unit *)base)[*(const size_t *)b];
    int c = strcmp(ua->code, ub->code);
    if (c != 0)
        return c;
    return ua->index < ub->index ? -1 : ua->index > ub->index;
}

static int build_index(lt_units *self)
{
    free(self->sorted);
    self->sorted = calloc(self->n ? self->n : 1, sizeof(*self->sorted));
    if (!self->sorted)
        return -1;
    for (size_t i = 0; i < self->n; i++)
        self->sorted[i] = i;
    qsort_r(self->sorted, self->n, sizeof(*self->sorted), by_code, self->units);
    return 0;
}

/* Counts alias entries across the document so one allocation holds them. */
static size_t count_aliases(const json_t *root)
{
    size_t total = 0;
    for (size_t i = 0; i < json_array_size(root); i++) {
        const json_t *al = json_object_get(json_array_get(root, i), "aliases");
        if (json_is_array(al))
            total += json_array_size(al);
    }
    return total;
}

lt_units *lt_units_parse(const char *text, size_t len, lt_units_error *err)
{
    memset(err, 0, sizeof(*err));
    lt_units *self = calloc(1, sizeof(*self));
    if (!self) {
        fail(err, -1, NULL, "memory", "out of memory");
        return NULL;
    }
    json_error_t jerr;
    self->root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!self->root) {
        fail(err, -1, NULL, "json", "not valid JSON at line %d, column %d: %s", jerr.line,
             jerr.column, jerr.text);
        goto bad;
    }
    if (!json_is_array(self->root)) {
        fail(err, -1, NULL, "shape", "a unit file is a JSON array of units");
        goto bad;
    }
    self->n = json_array_size(self->root);
    size_t na = count_aliases(self->root);
    self->units = calloc(self->n ? self->n : 1, sizeof(*self->units));
    self->aliases = calloc(na ? na : 1, sizeof(*self->aliases));
    if (!self->units || !self->aliases) {
        fail(err, -1, NULL, "memory", "out of memory");
        goto bad;
    }
    size_t anext = 0;
    for (size_t i = 0; i < self->n; i++)
        if (parse_unit(json_array_get(self->root, i), i, &self->units[i], self->aliases, &anext,
                       err) < 0)
            goto bad;
    if (build_index(self) < 0) {
        fail(err, -1, NULL, "memory", "out of memory");
        goto bad;
    }
    /* Sorted by code then position: a repeated code sits next to its first
     * use. */
    for (size_t k = 1; k < self->n; k++) {
        const lt_unit *a = &self->units[self->sorted[k - 1]];
        const lt_unit *b = &self->units[self->sorted[k]];
        if (strcmp(a->code, b->code) == 0) {
            fail(err, (long)b->index, b->code, "duplicate-code", "code already used by entry [%zu]",
                 a->index);
            goto bad;
        }
    }
    return self;
bad:
    lt_units_destroy(&self);
    return NULL;
}

void lt_units_destroy(lt_units **self_p)
{
    lt_units *self = *self_p;
    if (!self)
        return;
    json_decref(self->root);
    free(self->units);
    free(self->aliases);
    free(self->sorted);
    free(self);
    *self_p = NULL;
}

size_t lt_units_count(const lt_units *self)
{
    return self->n;
}

const lt_unit *lt_units_at(const lt_units *self, size_t i)
{
    return i < self->n ? &self->units[i] : NULL;
}

const lt_unit *lt_units_find(const lt_units *self, const char *code)
{
    if (!self || !code)
        return NULL;
    size_t lo = 0, hi = self->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const lt_unit *u = &self->units[self->sorted[mid]];
        int c = strcmp(code, u->code);
        if (c == 0)
            return u;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

static bool same_str(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcmp(a, b) == 0;
}

bool lt_unit_same_fields(const lt_unit *a, const lt_unit *b)
{
    return a->level == b->level && same_str(a->code, b->code) && same_str(a->name, b->name) &&
           same_str(a->parent, b->parent) && same_str(a->agency_id, b->agency_id) &&
           same_str(a->code_system, b->code_system) && same_str(a->url, b->url) &&
           same_str(a->dialect, b->dialect);
}

bool lt_unit_same_aliases(const lt_unit *a, const lt_unit *b)
{
    if (a->naliases != b->naliases)
        return false;
    for (size_t i = 0; i < a->naliases; i++) {
        const lt_unit_alias *x = &a->aliases[i], *y = &b->aliases[i];
        if (!same_str(x->code, y->code) || !same_str(x->agency_id, y->agency_id) ||
            !same_str(x->valid_from, y->valid_from) || !same_str(x->valid_to, y->valid_to))
            return false;
    }
    return true;
}

/* ---- validation of the merged tree ----------------------------------------- */

/* One node of the merged tree: a file unit, or a stored unit the file does
 * not mention (kept as it is). */
typedef struct node {
    const lt_unit *u; /* the unit */
    bool from_file;   /* false: a stored unit kept by this import */
    int depth;        /* distance from a root; -1 unknown, -2 on the current walk */
} node;

typedef struct tree {
    node *nodes;     /* file units first, then kept stored units */
    size_t n;        /* number of nodes */
    size_t *by_code; /* node indexes sorted by code */
} tree;

static int node_by_code(const void *a, const void *b, void *base)
{
    const node *nodes = base;
    return strcmp(nodes[*(const size_t *)a].u->code, nodes[*(const size_t *)b].u->code);
}

static node *tree_find(const tree *t, const char *code)
{
    size_t lo = 0, hi = t->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(code, t->nodes[t->by_code[mid]].u->code);
        if (c == 0)
            return &t->nodes[t->by_code[mid]];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

/* Depth of every node, parents first; a cycle is an error naming the file
 * entry that closes it. */
static int compute_depths(tree *t, lt_units_error *err)
{
    size_t *path = calloc(t->n ? t->n : 1, sizeof(*path));
    if (!path)
        return fail(err, -1, NULL, "memory", "out of memory");
    int rc = 0;
    for (size_t i = 0; i < t->n && rc == 0; i++) {
        size_t len = 0;
        node *cur = &t->nodes[i];
        /* Walk up until a node of known depth or a root. */
        while (cur && cur->depth == -1) {
            cur->depth = -2;
            path[len++] = (size_t)(cur - t->nodes);
            cur = cur->u->parent ? tree_find(t, cur->u->parent) : NULL;
        }
        if (cur && cur->depth == -2) {
            /* The cycle is the part of the walk from cur on; a stored tree
             * has none, so one of its units comes from the file: name it. */
            size_t p = 0;
            while (&t->nodes[path[p]] != cur)
                p++;
            const node *blame = cur;
            for (size_t q = p; q < len; q++) {
                if (t->nodes[path[q]].from_file) {
                    blame = &t->nodes[path[q]];
                    break;
                }
            }
            rc = fail(err, (long)blame->u->index, blame->u->code, "cycle",
                      "its parent chain comes back to itself (through %s)", blame->u->parent);
            break;
        }
        int d = cur ? cur->depth + 1 : 0;
        while (len > 0)
            t->nodes[path[--len]].depth = d++;
    }
    free(path);
    return rc;
}

/* Orders file units by depth (stable): the order in which rows can be
 * written without breaking the parent foreign key. */
static int by_depth(const void *a, const void *b, void *base)
{
    const node *x = &((const node *)base)[*(const size_t *)a];
    const node *y = &((const node *)base)[*(const size_t *)b];
    if (x->depth != y->depth)
        return x->depth < y->depth ? -1 : 1;
    return x->u->index < y->u->index ? -1 : x->u->index > y->u->index;
}

static int check_rules(lt_units *file, tree *t, lt_units_error *err)
{
    /* Parents known, and not of a lower level than their children. */
    for (size_t i = 0; i < file->n; i++) {
        const lt_unit *u = &file->units[i];
        if (!u->parent)
            continue;
        const node *p = tree_find(t, u->parent);
        if (!p)
            return fail(err, (long)u->index, u->code, "unknown-parent",
                        "parent %s is neither in the file nor in the database", u->parent);
        if (p->u->level > u->level)
            return fail(err, (long)u->index, u->code, "level-order",
                        "a %s cannot hang under %s, a %s", lt_unit_level_name(u->level), u->parent,
                        lt_unit_level_name(p->u->level));
    }
    /* Agency ids unique over the merged tree. */
    for (size_t i = 0; i < t->n; i++) {
        const node *a = &t->nodes[i];
        if (!a->u->agency_id || !a->from_file)
            continue;
        for (size_t j = 0; j < t->n; j++) {
            const node *b = &t->nodes[j];
            if (j == i || !b->u->agency_id || strcmp(a->u->agency_id, b->u->agency_id) != 0)
                continue;
            if (b->from_file && j > i)
                continue; /* reported when the later entry is a */
            /* Named from the later file entry, or the file entry when the
             * other unit is a stored one. */
            return fail(err, (long)a->u->index, a->u->code, "duplicate-agency-id",
                        "agency id %s is also the agency id of unit %s", a->u->agency_id,
                        b->u->code);
        }
    }
    /* An alias equal to a live unit's code or agency id would make a dossier
     * prefix or a code mean two units. Checked both ways: the file's aliases
     * against every unit, and the file's units against kept units' aliases. */
    for (size_t i = 0; i < t->n; i++) {
        const node *owner = &t->nodes[i];
        for (size_t k = 0; k < owner->u->naliases; k++) {
            const lt_unit_alias *al = &owner->u->aliases[k];
            for (size_t j = 0; j < t->n; j++) {
                const node *other = &t->nodes[j];
                if (!owner->from_file && !other->from_file)
                    continue; /* both stored and untouched: not this import's doing */
                const lt_unit *bad = owner->from_file ? owner->u : other->u;
                if (al->code && strcmp(al->code, other->u->code) == 0)
                    return fail(err, (long)bad->index, bad->code, "alias-collision",
                                "alias code %s of unit %s is the code of live unit %s", al->code,
                                owner->u->code, other->u->code);
                if (al->agency_id && other->u->agency_id &&
                    strcmp(al->agency_id, other->u->agency_id) == 0)
                    return fail(err, (long)bad->index, bad->code, "alias-collision",
                                "alias agency id %s of unit %s is the agency id of live unit %s",
                                al->agency_id, owner->u->code, other->u->code);
            }
        }
    }
    return 0;
}

int lt_units_validate(lt_units *file, const lt_units *existing, lt_units_error *err)
{
    memset(err, 0, sizeof(*err));
    tree t = {0};
    size_t *order = NULL;
    lt_unit *reordered = NULL;
    int rc = -1;
    size_t cap = file->n + (existing ? existing->n : 0);
    t.nodes = calloc(cap ? cap : 1, sizeof(*t.nodes));
    t.by_code = calloc(cap ? cap : 1, sizeof(*t.by_code));
    order = calloc(file->n ? file->n : 1, sizeof(*order));
    reordered = calloc(file->n ? file->n : 1, sizeof(*reordered));
    if (!t.nodes || !t.by_code || !order || !reordered) {
        fail(err, -1, NULL, "memory", "out of memory");
        goto out;
    }
    for (size_t i = 0; i < file->n; i++)
        t.nodes[t.n++] = (node){&file->units[i], true, -1};
    for (size_t i = 0; existing && i < existing->n; i++)
        if (!lt_units_find(file, existing->units[i].code))
            t.nodes[t.n++] = (node){&existing->units[i], false, -1};
    for (size_t i = 0; i < t.n; i++)
        t.by_code[i] = i;
    qsort_r(t.by_code, t.n, sizeof(*t.by_code), node_by_code, t.nodes);

    if (check_rules(file, &t, err) < 0 || compute_depths(&t, err) < 0)
        goto out;

    for (size_t i = 0; i < file->n; i++)
        order[i] = i; /* file nodes are the first file->n nodes */
    qsort_r(order, file->n, sizeof(*order), by_depth, t.nodes);
    for (size_t i = 0; i < file->n; i++)
        reordered[i] = file->units[order[i]];
    memcpy(file->units, reordered, file->n * sizeof(*reordered));
    if (build_index(file) < 0) {
        fail(err, -1, NULL, "memory", "out of memory");
        goto out;
    }
    rc = 0;
out:
    free(reordered);
    free(order);
    free(t.by_code);
    free(t.nodes);
    return rc;
}
