/* lt_mapping_load: read a dialect file and compile it into the plan of
 * lt_mapping_plan.h, refusing a bad file with the rule it breaks. Apart from
 * the engine so that what is checked once at load and what runs for every
 * record live in different files. */
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

/* ---------------------------------------------------------------- names */

/* The national record's field names (DOMAIN.md). A rule naming another
 * canonical field is refused unless it says "extra": a typo such as
 * "NgayHentra" would otherwise create a field nobody reads. */
static const char *const known_top[] = {"MaHoSo",
                                        "MaTTHC",
                                        "TenTTHC",
                                        "MaLinhVuc",
                                        "TenLinhVuc",
                                        "SoBienNhan",
                                        "ChuHoSo",
                                        "LoaiDoiTuong",
                                        "MaDoiTuong",
                                        "SoGiayToChuHoSo",
                                        "DinhDanhCHS",
                                        "Email",
                                        "SoDienThoai",
                                        "Fax",
                                        "ThongTinKhac",
                                        "GhiChu",
                                        "TrichYeuHoSo",
                                        "NgayNopHoSo",
                                        "NgayTiepNhan",
                                        "NgayHenTra",
                                        "TrangThaiHoSo",
                                        "NgayKetThucXuLy",
                                        "NgayTra",
                                        "ThongTinTra",
                                        "HinhThuc",
                                        "NgayTuChoi",
                                        "DonViXuLy",
                                        "KenhThucHien",
                                        "NoiNopHoSo",
                                        "HoSoCoThanhPhanSoHoa",
                                        "TaiKhoanDuocXacThucVoiVNeID",
                                        "DuocThanhToanTrucTuyen",
                                        "TaiLieuNop",
                                        "DanhSachLePhi",
                                        "DanhSachHoSoBoSung",
                                        "DanhSachGiayToKetQua",
                                        "QuaTrinhXuLy",
                                        NULL};
static const char *const known_history[] = {
    "MaHoSo",      "NguoiXuLy", "ChucDanh",   "ThoiDiemXuLy",           "PhongBanXuLy",
    "NoiDungXuLy", "TrangThai", "NgayBatDau", "NgayKetThucTheoQuyDinh", NULL};
static const char *const known_fee[] = {"TenPhiLePhi", "MaPhiLePhi",   "HinhThucThu",
                                        "Gia",         "LoaiPhiLePhi", NULL};
static const char *const known_result[] = {"TenGiayTo", "MaGiayToKetQua", "DuongDanTepTinKetQua",
                                           NULL};

static bool in_list(const char *const *list, const char *name)
{
    for (; *list; list++) {
        if (strcmp(*list, name) == 0)
            return true;
    }
    return false;
}

/* Names known for the items of a canonical list; NULL = not checked. */
static const char *const *known_items(const char *list)
{
    if (strcmp(list, "QuaTrinhXuLy") == 0)
        return known_history;
    if (strcmp(list, "DanhSachLePhi") == 0)
        return known_fee;
    if (strcmp(list, "DanhSachGiayToKetQua") == 0)
        return known_result;
    return NULL;
}

/* ---------------------------------------------------------------- loading */

/* Load-time context: where errors go and which rule is being read. */
struct load {
    const char *source; /* file name or caller's label */
    char *err;          /* caller's buffer */
    size_t cap;         /* its size */
};

static int load_err(struct load *ld, const char *where, const char *label, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int load_err(struct load *ld, const char *where, const char *label, const char *fmt, ...)
{
    char what[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    if (ld->err && ld->cap) {
        if (label && *label)
            snprintf(ld->err, ld->cap, "%s: %s (%s): %s", ld->source, where, label, what);
        else if (where && *where)
            snprintf(ld->err, ld->cap, "%s: %s: %s", ld->source, where, what);
        else
            snprintf(ld->err, ld->cap, "%s: %s", ld->source, what);
    }
    return -1;
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

static void path_free(struct path *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->seg[i]);
    free(p->seg);
    free(p->text);
    memset(p, 0, sizeof(*p));
}

/* Splits "a.b.c" or "a.b[]" into segments. Returns NULL, or why not. */
static const char *path_compile(struct path *p, const char *text)
{
    size_t len = strlen(text);
    memset(p, 0, sizeof(*p));
    if (len >= 2 && strcmp(text + len - 2, "[]") == 0) {
        p->list = true;
        len -= 2;
    }
    if (len == 0)
        return "empty path";
    p->text = malloc(len + 1);
    if (!p->text)
        return "out of memory";
    memcpy(p->text, text, len);
    p->text[len] = '\0';
    size_t nseg = 1;
    for (size_t i = 0; i < len; i++) {
        if (p->text[i] == '[' || p->text[i] == ']')
            return "\"[]\" may only end a path";
        if (p->text[i] == '.')
            nseg++;
    }
    p->seg = calloc(nseg, sizeof(*p->seg));
    if (!p->seg)
        return "out of memory";
    const char *s = p->text;
    for (size_t k = 0; k < nseg; k++) {
        const char *dot = strchr(s, '.');
        size_t n = dot ? (size_t)(dot - s) : strlen(s);
        if (n == 0)
            return "empty segment in path";
        p->seg[k] = malloc(n + 1);
        if (!p->seg[k])
            return "out of memory";
        memcpy(p->seg[k], s, n);
        p->seg[k][n] = '\0';
        p->n = k + 1;
        s += n + 1;
    }
    return NULL;
}

/* Compiles a date format such as "dd/MM/yyyy HH:mm:ss". Returns NULL or why
 * not. Letters other than the six fields, 'T' and 'Z' are refused so that a
 * 12-hour "hh" or a milliseconds "SSS" does not pass as text. */
static const char *datefmt_compile(struct datefmt *f, const char *text, char *why, size_t cap)
{
    memset(f, 0, sizeof(*f));
    if (strcmp(text, "epoch_ms") == 0) {
        f->epoch_ms = true;
        return NULL;
    }
    static const struct {
        char c;
        size_t width;
        enum date_kind kind;
    } fields[] = {{'y', 4, DK_YEAR}, {'M', 2, DK_MONTH}, {'d', 2, DK_DAY},
                  {'H', 2, DK_HOUR}, {'m', 2, DK_MIN},   {'s', 2, DK_SEC}};
    bool seen[DK_SEC + 1] = {false};
    for (size_t i = 0; text[i];) {
        if (f->ntok == DATE_TOKENS_MAX) {
            snprintf(why, cap, "date format \"%s\" is too long", text);
            return why;
        }
        char c = text[i];
        size_t run = 1;
        while (text[i + run] == c)
            run++;
        size_t k;
        for (k = 0; k < sizeof(fields) / sizeof(fields[0]); k++) {
            if (fields[k].c == c)
                break;
        }
        if (k < sizeof(fields) / sizeof(fields[0])) {
            if (run != fields[k].width || seen[fields[k].kind]) {
                snprintf(why, cap,
                         "bad date format \"%s\": \"%.*s\" (use yyyy, MM, dd, HH, mm and ss, "
                         "each once)",
                         text, (int)run, text + i);
                return why;
            }
            seen[fields[k].kind] = true;
            f->kind[f->ntok++] = (unsigned char)fields[k].kind;
            f->len += run;
            i += run;
            continue;
        }
        unsigned char u = (unsigned char)c;
        if (u >= 0x80 || ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) {
            if (c != 'T' && c != 'Z') {
                snprintf(why, cap,
                         "bad date format \"%s\": unknown pattern letter '%c' (use yyyy, MM, dd, "
                         "HH, mm, ss, or epoch_ms)",
                         text, u < 0x80 ? c : '?');
                return why;
            }
        }
        f->kind[f->ntok] = DK_LIT;
        f->lit[f->ntok++] = c;
        f->len++;
        i++;
    }
    if (!seen[DK_YEAR] || !seen[DK_MONTH] || !seen[DK_DAY]) {
        snprintf(why, cap, "bad date format \"%s\": yyyy, MM and dd are required", text);
        return why;
    }
    return NULL;
}

static void enum_free(struct rule *r)
{
    for (size_t i = 0; i < r->nmap; i++) {
        free(r->map[i].vendor);
        free(r->map[i].canonical);
    }
    free(r->map);
    r->map = NULL;
    r->nmap = 0;
}

static void ruleset_free(struct ruleset *rs);

static void rule_free(struct rule *r)
{
    path_free(&r->vendor);
    path_free(&r->canonical);
    free(r->constant);
    free(r->def);
    free(r->date_text);
    enum_free(r);
    free(r->expect_vendor);
    free(r->expect_canonical);
    if (r->items) {
        ruleset_free(r->items);
        free(r->items);
    }
}

static void ruleset_free(struct ruleset *rs)
{
    for (size_t i = 0; i < rs->n; i++)
        rule_free(&rs->rules[i]);
    free(rs->rules);
    json_decref(rs->vendor_trie);
    json_decref(rs->canon_trie);
    memset(rs, 0, sizeof(*rs));
}

/* Records that a rule consumes path, so pass-through leaves it alone. */
static int trie_add(json_t *root, const struct path *p)
{
    json_t *node = root;
    for (size_t i = 0; i + 1 < p->n; i++) {
        json_t *child = json_object_get(node, p->seg[i]);
        if (json_is_true(child))
            return 0; /* an ancestor is consumed whole */
        if (!child) {
            child = json_object();
            if (!child || json_object_set_new(node, p->seg[i], child) != 0)
                return -1;
        }
        node = child;
    }
    return json_object_set_new(node, p->seg[p->n - 1], json_true());
}

/* "one of A, B, C" over one side of an enum map, cut to a bounded length. */
static char *enum_expect(const struct rule *r, bool vendor_side)
{
    char buf[160];
    size_t used = 0;
    int n = snprintf(buf, sizeof(buf), "one of");
    used = (size_t)n;
    for (size_t i = 0; i < r->nmap && used < sizeof(buf); i++) {
        const char *v = vendor_side ? r->map[i].vendor : r->map[i].canonical;
        n = snprintf(buf + used, sizeof(buf) - used, "%s %s", i ? "," : "", v);
        if (n < 0 || (size_t)n >= sizeof(buf) - used) {
            snprintf(buf + sizeof(buf) - 5, 5, "...");
            break;
        }
        used += (size_t)n;
    }
    return dup_str(buf);
}

bool lt_mapping_is_integer_text(const char *s, long long *ret)
{
    if (!*s)
        return false;
    errno = 0;
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || end == s || s[0] == '+' || s[0] == ' ')
        return false;
    if (ret)
        *ret = v;
    return true;
}

static int compile_ruleset(struct ruleset *rs, const json_t *fields, bool keep,
                           const char *const *known, const char *where, bool outbound,
                           struct load *ld);

static const char *const rule_keys[] = {
    "vendor",  "canonical", "type", "as",       "format", "empty",          "map",   "const",
    "default", "required",  "drop", "fill_now", "items",  "unknown_fields", "extra", NULL};

static int get_bool(const json_t *spec, const char *key, bool *ret, struct load *ld,
                    const char *where, const char *label)
{
    const json_t *v = json_object_get(spec, key);
    if (!v)
        return 0;
    if (!json_is_boolean(v))
        return load_err(ld, where, label, "\"%s\" must be true or false", key);
    *ret = json_is_true(v);
    return 0;
}

static int get_string(const json_t *spec, const char *key, const char **ret, struct load *ld,
                      const char *where, const char *label)
{
    const json_t *v = json_object_get(spec, key);
    if (!v)
        return 0;
    if (!json_is_string(v))
        return load_err(ld, where, label, "\"%s\" must be a string", key);
    *ret = json_string_value(v);
    return 0;
}

/* Compiles one rule. where is "fields[3]"; outbound says whether the dialect
 * may be used canonical -> dialect, which needs reversible enum maps. */
static int compile_rule(struct rule *r, const json_t *spec, const char *where, bool keep,
                        const char *const *known, bool outbound, struct load *ld)
{
    char why[256];
    const char *vendor = NULL, *canonical = NULL, *type = NULL, *as = NULL, *format = NULL,
               *empty = NULL, *constant = NULL, *def = NULL, *unknown = NULL;
    bool extra = false;

    if (!json_is_object(spec))
        return load_err(ld, where, NULL, "a rule must be an object");
    const char *key;
    const json_t *val;
    json_object_foreach((json_t *)spec, key, val)
    {
        if (key[0] != '#' && !in_list(rule_keys, key))
            return load_err(ld, where, NULL,
                            "unknown key \"%s\" (expected vendor, canonical, type, as, format, "
                            "empty, map, const, default, required, drop, fill_now, items, "
                            "unknown_fields or extra)",
                            key);
    }
    if (get_string(spec, "vendor", &vendor, ld, where, NULL) ||
        get_string(spec, "canonical", &canonical, ld, where, NULL))
        return -1;
    const char *label = vendor ? vendor : canonical;
    if (!label)
        return load_err(ld, where, NULL, "a rule needs \"vendor\", \"canonical\" or both");
    if (get_string(spec, "type", &type, ld, where, label) ||
        get_string(spec, "as", &as, ld, where, label) ||
        get_string(spec, "format", &format, ld, where, label) ||
        get_string(spec, "empty", &empty, ld, where, label) ||
        get_string(spec, "const", &constant, ld, where, label) ||
        get_string(spec, "default", &def, ld, where, label) ||
        get_string(spec, "unknown_fields", &unknown, ld, where, label) ||
        get_bool(spec, "required", &r->required, ld, where, label) ||
        get_bool(spec, "drop", &r->drop, ld, where, label) ||
        get_bool(spec, "fill_now", &r->fill_now, ld, where, label) ||
        get_bool(spec, "extra", &extra, ld, where, label))
        return -1;

    const char *bad;
    if (vendor && (bad = path_compile(&r->vendor, vendor)))
        return load_err(ld, where, label, "vendor path \"%s\": %s", vendor, bad);
    if (canonical && (bad = path_compile(&r->canonical, canonical)))
        return load_err(ld, where, label, "canonical path \"%s\": %s", canonical, bad);
    if (canonical && known && !extra && !in_list(known, r->canonical.seg[0]))
        return load_err(ld, where, label,
                        "unknown canonical field \"%s\" (not in the national record; add "
                        "\"extra\": true to carry a field of your own)",
                        r->canonical.seg[0]);

    if (!type || strcmp(type, "string") == 0)
        r->type = T_STRING;
    else if (strcmp(type, "number") == 0)
        r->type = T_NUMBER;
    else if (strcmp(type, "date") == 0)
        r->type = T_DATE;
    else if (strcmp(type, "enum") == 0)
        r->type = T_ENUM;
    else if (strcmp(type, "list") == 0)
        r->type = T_LIST;
    else
        return load_err(ld, where, label,
                        "unknown type \"%s\" (expected string, number, date, enum or list)", type);

    /* Which combinations mean something: each refusal below is a rule that
     * would otherwise be silently ignored or ambiguous. */
    if (r->drop) {
        if (vendor && canonical)
            return load_err(ld, where, label, "\"drop\" takes vendor or canonical, not both");
        if (type || constant || def || r->required)
            return load_err(ld, where, label, "\"drop\" takes no other option");
        return 0;
    }
    if (constant) {
        if (vendor && canonical)
            return load_err(ld, where, label,
                            "\"const\" takes vendor (sent out) or canonical (set in), not both");
        if (r->type != T_STRING && r->type != T_NUMBER)
            return load_err(ld, where, label, "\"const\" is a string or number value");
        long long n;
        if (r->type == T_NUMBER && !lt_mapping_is_integer_text(constant, &n))
            return load_err(ld, where, label, "\"const\" of a number rule must be an integer");
        r->constant = dup_str(constant);
        return r->constant ? 0 : load_err(ld, where, label, "out of memory");
    }
    if (!vendor || !canonical)
        return load_err(ld, where, label,
                        "a mapping rule needs both \"vendor\" and \"canonical\" (or use const "
                        "or drop)");
    if (r->vendor.list != r->canonical.list)
        return load_err(ld, where, label, "\"[]\" must mark both sides or neither");
    if ((r->type == T_LIST) != r->vendor.list)
        return load_err(ld, where, label, "type list goes with paths ending in \"[]\"");
    if (def) {
        r->def = dup_str(def);
        if (!r->def)
            return load_err(ld, where, label, "out of memory");
    }
    if (as) {
        if (r->type != T_ENUM || strcmp(as, "number") != 0)
            return load_err(ld, where, label,
                            "\"as\": \"number\" is for enum rules (a number rule is type number)");
        r->vendor_number = true;
    }
    if (format && r->type != T_DATE)
        return load_err(ld, where, label, "\"format\" is for date rules");
    if ((empty || r->fill_now) && r->type != T_DATE)
        return load_err(ld, where, label, "\"empty\" and \"fill_now\" are for date rules");
    if (json_object_get(spec, "map") && r->type != T_ENUM)
        return load_err(ld, where, label, "\"map\" is for enum rules");
    if ((json_object_get(spec, "items") || unknown) && r->type != T_LIST)
        return load_err(ld, where, label, "\"items\" and \"unknown_fields\" are for list rules");

    switch (r->type) {
    case T_STRING:
    case T_NUMBER:
        break;
    case T_DATE:
        if (!format)
            return load_err(ld, where, label, "a date rule needs \"format\"");
        if ((bad = datefmt_compile(&r->date, format, why, sizeof(why))))
            return load_err(ld, where, label, "%s", bad);
        r->date_text = dup_str(format);
        if (!r->date_text)
            return load_err(ld, where, label, "out of memory");
        if (!empty || strcmp(empty, "\"\"") == 0 || strcmp(empty, "string") == 0)
            r->empty = EMPTY_STRING;
        else if (strcmp(empty, "null") == 0)
            r->empty = EMPTY_NULL;
        else if (strcmp(empty, "omit") == 0)
            r->empty = EMPTY_OMIT;
        else
            return load_err(ld, where, label,
                            "unknown \"empty\" \"%s\" (expected string, null or omit)", empty);
        break;
    case T_ENUM: {
        const json_t *map = json_object_get(spec, "map");
        if (!json_is_object(map) || json_object_size(map) == 0)
            return load_err(ld, where, label, "an enum rule needs a non-empty \"map\" object");
        r->map = calloc(json_object_size(map), sizeof(*r->map));
        if (!r->map)
            return load_err(ld, where, label, "out of memory");
        json_object_foreach((json_t *)map, key, val)
        {
            if (!json_is_string(val))
                return load_err(ld, where, label, "map value of \"%s\" must be a string", key);
            if (r->vendor_number && !lt_mapping_is_integer_text(key, NULL))
                return load_err(ld, where, label,
                                "map key \"%s\" is not an integer, yet \"as\" is \"number\"", key);
            for (size_t i = 0; outbound && i < r->nmap; i++) {
                if (strcmp(r->map[i].canonical, json_string_value(val)) == 0)
                    return load_err(ld, where, label,
                                    "map is not a bijection: \"%s\" and \"%s\" both give \"%s\", "
                                    "so canonical -> dialect is ambiguous (or declare "
                                    "\"directions\": [\"to_canonical\"])",
                                    r->map[i].vendor, key, json_string_value(val));
            }
            struct enum_pair *p = &r->map[r->nmap];
            p->vendor = dup_str(key);
            p->canonical = dup_str(json_string_value(val));
            r->nmap++;
            if (!p->vendor || !p->canonical)
                return load_err(ld, where, label, "out of memory");
        }
        r->expect_vendor = enum_expect(r, true);
        r->expect_canonical = enum_expect(r, false);
        if (!r->expect_vendor || !r->expect_canonical)
            return load_err(ld, where, label, "out of memory");
        break;
    }
    case T_LIST: {
        const json_t *items = json_object_get(spec, "items");
        bool item_keep = keep;
        if (unknown) {
            if (strcmp(unknown, "keep") != 0 && strcmp(unknown, "drop") != 0)
                return load_err(ld, where, label,
                                "unknown \"unknown_fields\" \"%s\" (expected keep or drop)",
                                unknown);
            item_keep = strcmp(unknown, "keep") == 0;
        }
        if (!items)
            break;
        if (!json_is_array(items))
            return load_err(ld, where, label, "\"items\" must be an array of rules");
        r->items = calloc(1, sizeof(*r->items));
        if (!r->items)
            return load_err(ld, where, label, "out of memory");
        char sub[192];
        if (snprintf(sub, sizeof(sub), "%s.items", where) >= (int)sizeof(sub))
            return load_err(ld, where, label, "items nested too deep");
        const char *const *item_known =
            known && !extra && r->canonical.n == 1 ? known_items(r->canonical.seg[0]) : NULL;
        if (compile_ruleset(r->items, items, item_keep, item_known, sub, outbound, ld) != 0)
            return -1;
        break;
    }
    }
    return 0;
}

/* Two rules writing the same member would make the result depend on rule
 * order; refuse it. */
static int check_duplicates(const struct ruleset *rs, const char *where, struct load *ld)
{
    for (size_t i = 0; i < rs->n; i++) {
        const struct rule *a = &rs->rules[i];
        for (size_t j = i + 1; j < rs->n; j++) {
            const struct rule *b = &rs->rules[j];
            if (a->vendor.n && b->vendor.n && strcmp(a->vendor.text, b->vendor.text) == 0)
                return load_err(ld, where, b->vendor.text,
                                "vendor field \"%s\" is also named by rule %zu", b->vendor.text, i);
            if (a->canonical.n && b->canonical.n &&
                strcmp(a->canonical.text, b->canonical.text) == 0)
                return load_err(ld, where, b->canonical.text,
                                "canonical field \"%s\" is also named by rule %zu",
                                b->canonical.text, i);
        }
    }
    return 0;
}

static int compile_ruleset(struct ruleset *rs, const json_t *fields, bool keep,
                           const char *const *known, const char *where, bool outbound,
                           struct load *ld)
{
    char at[192];
    rs->keep_unknown = keep;
    rs->vendor_trie = json_object();
    rs->canon_trie = json_object();
    if (!rs->vendor_trie || !rs->canon_trie)
        return load_err(ld, where, NULL, "out of memory");
    size_t n = json_array_size(fields);
    if (n == 0)
        return 0;
    rs->rules = calloc(n, sizeof(*rs->rules));
    if (!rs->rules)
        return load_err(ld, where, NULL, "out of memory");
    for (size_t i = 0; i < n; i++) {
        if (snprintf(at, sizeof(at), "%s[%zu]", where, i) >= (int)sizeof(at))
            return load_err(ld, where, NULL, "items nested too deep");
        struct rule *r = &rs->rules[i];
        rs->n = i + 1;
        if (compile_rule(r, json_array_get(fields, i), at, keep, known, outbound, ld) != 0)
            return -1;
        if ((r->vendor.n && trie_add(rs->vendor_trie, &r->vendor) != 0) ||
            (r->canonical.n && trie_add(rs->canon_trie, &r->canonical) != 0))
            return load_err(ld, at, NULL, "out of memory");
    }
    return check_duplicates(rs, where, ld);
}

static void dialect_free(lt_dialect *d)
{
    free(d->name);
    ruleset_free(&d->top);
    for (size_t i = 0; i < d->nfilters; i++) {
        for (size_t k = 0; k < d->filters[i].nproc; k++)
            free(d->filters[i].procedures[k]);
        for (size_t k = 0; k < d->filters[i].nstat; k++)
            free(d->filters[i].statuses[k]);
        free(d->filters[i].procedures);
        free(d->filters[i].statuses);
    }
    free(d->filters);
    free(d);
}

/* Copies a non-empty array of non-empty strings. */
static int string_array(const json_t *a, char ***ret, size_t *ret_n, const char *where,
                        const char *key, struct load *ld)
{
    size_t n = json_array_size(a);
    if (!json_is_array(a) || n == 0)
        return load_err(ld, where, NULL, "\"%s\" must be a non-empty array of strings", key);
    char **v = calloc(n, sizeof(*v));
    if (!v)
        return load_err(ld, where, NULL, "out of memory");
    *ret = v;
    for (size_t i = 0; i < n; i++) {
        const char *s = json_string_value(json_array_get(a, i));
        if (!s || !*s)
            return load_err(ld, where, NULL, "\"%s\"[%zu] must be a non-empty string", key, i);
        v[i] = dup_str(s);
        if (!v[i])
            return load_err(ld, where, NULL, "out of memory");
        *ret_n = i + 1;
    }
    return 0;
}

static int compile_filters(lt_dialect *d, const json_t *spec, struct load *ld)
{
    char at[64];
    if (!json_is_array(spec))
        return load_err(ld, "filter", NULL, "\"filter\" must be an array");
    size_t n = json_array_size(spec);
    if (n == 0)
        return 0;
    d->filters = calloc(n, sizeof(*d->filters));
    if (!d->filters)
        return load_err(ld, "filter", NULL, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const json_t *f = json_array_get(spec, i);
        struct filter *out = &d->filters[i];
        d->nfilters = i + 1;
        snprintf(at, sizeof(at), "filter[%zu]", i);
        if (!json_is_object(f))
            return load_err(ld, at, NULL, "a filter entry must be an object");
        const char *key;
        const json_t *val;
        json_object_foreach((json_t *)f, key, val)
        {
            if (key[0] != '#' && strcmp(key, "procedures") != 0 && strcmp(key, "statuses") != 0)
                return load_err(ld, at, NULL,
                                "unknown key \"%s\" (expected procedures and statuses)", key);
        }
        if (string_array(json_object_get(f, "procedures"), &out->procedures, &out->nproc, at,
                         "procedures", ld) != 0 ||
            string_array(json_object_get(f, "statuses"), &out->statuses, &out->nstat, at,
                         "statuses", ld) != 0)
            return -1;
        for (size_t k = 0; k < out->nstat; k++) {
            long long st;
            if (!lt_mapping_is_integer_text(out->statuses[k], &st) || st < 1 || st > 10)
                return load_err(ld, at, NULL, "status \"%s\" is not a TrangThaiHoSo code 1..10",
                                out->statuses[k]);
        }
    }
    return 0;
}

static const char *const top_keys[] = {"dialect", "description", "directions", "unknown_fields",
                                       "fields",  "filter",      NULL};

lt_dialect *lt_dialect_load_json(const json_t *spec, const char *source, char *err, size_t cap)
{
    struct load ld = {source ? source : "dialect", err, cap};
    lt_dialect *d = NULL;
    const char *key;
    const json_t *val;

    if (!json_is_object(spec)) {
        load_err(&ld, NULL, NULL, "a dialect must be a JSON object");
        return NULL;
    }
    json_object_foreach((json_t *)spec, key, val)
    {
        if (key[0] != '#' && !in_list(top_keys, key)) {
            load_err(&ld, NULL, NULL,
                     "unknown key \"%s\" (expected dialect, description, directions, "
                     "unknown_fields, fields or filter)",
                     key);
            return NULL;
        }
    }
    const char *name = json_string_value(json_object_get(spec, "dialect"));
    if (!name || !*name) {
        load_err(&ld, NULL, NULL, "\"dialect\" (the dialect's name) must be a non-empty string");
        return NULL;
    }
    d = calloc(1, sizeof(*d));
    if (!d || !(d->name = dup_str(name))) {
        load_err(&ld, NULL, NULL, "out of memory");
        goto fail;
    }
    const json_t *dirs = json_object_get(spec, "directions");
    if (!dirs) {
        d->to_canonical = d->from_canonical = true;
    } else {
        if (!json_is_array(dirs) || json_array_size(dirs) == 0) {
            load_err(&ld, "directions", NULL, "must be a non-empty array");
            goto fail;
        }
        size_t i;
        json_array_foreach(dirs, i, val)
        {
            const char *s = json_string_value(val);
            if (s && strcmp(s, "to_canonical") == 0) {
                d->to_canonical = true;
            } else if (s && strcmp(s, "from_canonical") == 0) {
                d->from_canonical = true;
            } else {
                load_err(&ld, "directions", NULL,
                         "entry %zu: expected \"to_canonical\" or \"from_canonical\"", i);
                goto fail;
            }
        }
    }
    bool keep = true;
    const json_t *unknown = json_object_get(spec, "unknown_fields");
    if (unknown) {
        const char *s = json_string_value(unknown);
        if (!s || (strcmp(s, "keep") != 0 && strcmp(s, "drop") != 0)) {
            load_err(&ld, "unknown_fields", NULL, "expected \"keep\" or \"drop\"");
            goto fail;
        }
        keep = strcmp(s, "keep") == 0;
    }
    const json_t *fields = json_object_get(spec, "fields");
    if (fields && !json_is_array(fields)) {
        load_err(&ld, "fields", NULL, "must be an array of rules");
        goto fail;
    }
    if (compile_ruleset(&d->top, fields, keep, known_top, "fields", d->from_canonical, &ld) != 0)
        goto fail;
    const json_t *filter = json_object_get(spec, "filter");
    if (filter && compile_filters(d, filter, &ld) != 0)
        goto fail;
    return d;
fail:
    if (d)
        dialect_free(d);
    return NULL;
}

lt_dialect *lt_dialect_load_file(const char *path, char *err, size_t cap)
{
    json_error_t jerr;
    json_t *spec = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!spec) {
        if (err && cap)
            snprintf(err, cap, "%s: line %d: %s", path, jerr.line, jerr.text);
        return NULL;
    }
    lt_dialect *d = lt_dialect_load_json(spec, path, err, cap);
    json_decref(spec);
    return d;
}

void lt_dialect_destroy(lt_dialect **d)
{
    if (!d || !*d)
        return;
    dialect_free(*d);
    *d = NULL;
}

const char *lt_dialect_name(const lt_dialect *d)
{
    return d->name;
}

bool lt_dialect_can_to_canonical(const lt_dialect *d)
{
    return d->to_canonical;
}

bool lt_dialect_can_from_canonical(const lt_dialect *d)
{
    return d->from_canonical;
}
