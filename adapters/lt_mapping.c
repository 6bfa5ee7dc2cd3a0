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

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lt_mask.h"

/* What a rule does with its value. */
enum rule_type {
    T_STRING, /* string both sides */
    T_NUMBER, /* vendor JSON integer <-> canonical decimal string */
    T_DATE,   /* vendor date format <-> canonical yyyyMMddHHmmss */
    T_ENUM,   /* vendor code word <-> canonical code, through a bijective map */
    T_LIST,   /* vendor array <-> canonical array, items mapped by nested rules */
};

/* How the dialect writes an unknown date (canonical ""). */
enum empty_mode {
    EMPTY_STRING, /* "" */
    EMPTY_NULL,   /* null */
    EMPTY_OMIT,   /* the member is left out; a missing member reads as "" */
};

/* A compiled path: "hoSo.thongTin.ma" as three segments. */
struct path {
    char **seg; /* segments, each NUL-terminated */
    size_t n;   /* number of segments; 0 = this side is absent */
    char *text; /* the path as written, without a trailing "[]", for messages */
    bool list;  /* written with a trailing "[]" */
};

/* Date pattern tokens; numeric ones have fixed widths. */
enum date_kind { DK_LIT, DK_YEAR, DK_MONTH, DK_DAY, DK_HOUR, DK_MIN, DK_SEC };

#define DATE_TOKENS_MAX 40

/* A compiled date format. All fields are fixed width, so the text length is
 * known and checked before any digit is read. */
struct datefmt {
    bool epoch_ms;                       /* milliseconds since 1970 UTC, a JSON integer */
    unsigned char kind[DATE_TOKENS_MAX]; /* enum date_kind per token */
    char lit[DATE_TOKENS_MAX];           /* the literal byte of DK_LIT tokens */
    size_t ntok;                         /* tokens used */
    size_t len;                          /* length of a formatted date */
};

/* One pair of an enum map. */
struct enum_pair {
    char *vendor;    /* the dialect's word or number (as text) */
    char *canonical; /* the canonical code */
};

struct ruleset;

/* One compiled rule of "fields" or "items". */
struct rule {
    enum rule_type type;    /* what to do with the value */
    struct path vendor;     /* dialect side; n == 0 when absent */
    struct path canonical;  /* canonical side; n == 0 when absent */
    bool vendor_number;     /* enum values travel as JSON integers on the dialect side */
    bool required;          /* missing, null or "" is an error */
    bool drop;              /* consumed and never passed through */
    bool fill_now;          /* outbound: an unknown date becomes the time of sending */
    char *constant;         /* "const": the value set on the side that is named */
    char *def;              /* "default": canonical value when the dialect side is missing */
    struct datefmt date;    /* T_DATE */
    enum empty_mode empty;  /* T_DATE: how the dialect writes "" */
    char *date_text;        /* T_DATE: the format as written, for messages */
    struct enum_pair *map;  /* T_ENUM pairs */
    size_t nmap;            /* T_ENUM pair count */
    char *expect_vendor;    /* T_ENUM: "one of ..." over vendor values */
    char *expect_canonical; /* T_ENUM: "one of ..." over canonical values */
    struct ruleset *items;  /* T_LIST: item rules; NULL = items copied as they are */
};

/* The rules of one object level (the record, or the items of a list). */
struct ruleset {
    struct rule *rules;  /* in file order */
    size_t n;            /* rule count */
    bool keep_unknown;   /* pass members no rule names through under their own names */
    json_t *vendor_trie; /* names the rules consume on the dialect side: object of true/object */
    json_t *canon_trie;  /* the same on the canonical side */
};

/* One "filter" entry: records of these procedures go out only at these statuses. */
struct filter {
    char **procedures; /* exact codes; a national base form also matches its local variants */
    size_t nproc;      /* procedure count */
    char **statuses;   /* allowed TrangThaiHoSo values */
    size_t nstat;      /* status count */
};

struct lt_dialect {
    char *name;             /* the "dialect" member */
    bool to_canonical;      /* direction allowed by "directions" */
    bool from_canonical;    /* direction allowed by "directions" */
    struct ruleset top;     /* the record's rules */
    struct filter *filters; /* outbound filter entries */
    size_t nfilters;        /* filter entry count */
};

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

static bool is_integer_text(const char *s, long long *ret)
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
        if (r->type == T_NUMBER && !is_integer_text(constant, &n))
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
            if (r->vendor_number && !is_integer_text(key, NULL))
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
            if (!is_integer_text(out->statuses[k], &st) || st < 1 || st > 10)
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

/* ---------------------------------------------------------------- dates */

static const int month_days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

static bool leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Broken-down time; the canonical record's fields. */
struct civil {
    int y, mo, d, h, mi, s;
};

static bool civil_valid(const struct civil *c)
{
    if (c->y < 1 || c->mo < 1 || c->mo > 12 || c->d < 1)
        return false;
    int dim = month_days[c->mo - 1] + (c->mo == 2 && leap(c->y));
    return c->d <= dim && c->h <= 23 && c->mi <= 59 && c->s <= 59;
}

/* Days since 1970-01-01 of a civil date (H. Hinnant's algorithm). */
static int64_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, struct civil *c)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    c->d = (int)(doy - (153 * mp + 2) / 5 + 1);
    c->mo = (int)(mp < 10 ? mp + 3 : mp - 9);
    c->y = (int)(yoe + era * 400 + (c->mo <= 2));
}

/* Asia/Ho_Chi_Minh has been UTC+7 without daylight saving since 1975. */
#define VN_OFFSET_S (7 * 3600)

static bool read_digits(const char *s, size_t width, int *ret)
{
    int v = 0;
    for (size_t i = 0; i < width; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *ret = v;
    return true;
}

static void put_digits(char *out, int v, size_t width)
{
    for (size_t i = width; i-- > 0;) {
        out[i] = (char)('0' + v % 10);
        v /= 10;
    }
}

static bool parse_canonical_date(const char *s, struct civil *c)
{
    if (strlen(s) != 14)
        return false;
    return read_digits(s, 4, &c->y) && read_digits(s + 4, 2, &c->mo) &&
           read_digits(s + 6, 2, &c->d) && read_digits(s + 8, 2, &c->h) &&
           read_digits(s + 10, 2, &c->mi) && read_digits(s + 12, 2, &c->s) && civil_valid(c);
}

static void write_canonical_date(const struct civil *c, char out[15])
{
    put_digits(out, c->y, 4);
    put_digits(out + 4, c->mo, 2);
    put_digits(out + 6, c->d, 2);
    put_digits(out + 8, c->h, 2);
    put_digits(out + 10, c->mi, 2);
    put_digits(out + 12, c->s, 2);
    out[14] = '\0';
}

/* Parses text in a compiled (non-epoch) format. */
static bool parse_date(const struct datefmt *f, const char *s, size_t len, struct civil *c)
{
    if (len != f->len)
        return false;
    memset(c, 0, sizeof(*c));
    for (size_t t = 0; t < f->ntok; t++) {
        int *dst = NULL;
        size_t w = 2;
        switch ((enum date_kind)f->kind[t]) {
        case DK_LIT:
            if (*s++ != f->lit[t])
                return false;
            continue;
        case DK_YEAR:
            dst = &c->y;
            w = 4;
            break;
        case DK_MONTH:
            dst = &c->mo;
            break;
        case DK_DAY:
            dst = &c->d;
            break;
        case DK_HOUR:
            dst = &c->h;
            break;
        case DK_MIN:
            dst = &c->mi;
            break;
        case DK_SEC:
            dst = &c->s;
            break;
        }
        if (!read_digits(s, w, dst))
            return false;
        s += w;
    }
    return civil_valid(c);
}

static void format_date(const struct datefmt *f, const struct civil *c, char *out)
{
    for (size_t t = 0; t < f->ntok; t++) {
        switch ((enum date_kind)f->kind[t]) {
        case DK_LIT:
            *out++ = f->lit[t];
            break;
        case DK_YEAR:
            put_digits(out, c->y, 4);
            out += 4;
            break;
        case DK_MONTH:
            put_digits(out, c->mo, 2);
            out += 2;
            break;
        case DK_DAY:
            put_digits(out, c->d, 2);
            out += 2;
            break;
        case DK_HOUR:
            put_digits(out, c->h, 2);
            out += 2;
            break;
        case DK_MIN:
            put_digits(out, c->mi, 2);
            out += 2;
            break;
        case DK_SEC:
            put_digits(out, c->s, 2);
            out += 2;
            break;
        }
    }
    *out = '\0';
}

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
                json_object_set_new(dst, key, json_deep_copy(val)) != 0)
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
    return is_integer_text(s, &v) ? json_integer((json_int_t)v) : NULL;
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
    json_t *out = r->items ? json_array() : json_deep_copy(v);
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
        struct civil c;
        if (r->date.epoch_ms) {
            const char *s = scalar_text(v, num, sizeof(num));
            long long ms;
            if (!s || !is_integer_text(s, &ms) || ms < -62135596800000LL ||
                ms > 253402300799000LL) {
                add_error(cx, w, r, "milliseconds since 1970 (epoch_ms)", v);
                return;
            }
            int64_t secs = ms / 1000 - (ms % 1000 < 0) + VN_OFFSET_S;
            int64_t days = secs / 86400 - (secs % 86400 < 0);
            int64_t rem = secs - days * 86400;
            civil_from_days(days, &c);
            c.h = (int)(rem / 3600);
            c.mi = (int)(rem / 60 % 60);
            c.s = (int)(rem % 60);
        } else if (!json_is_string(v) ||
                   !parse_date(&r->date, json_string_value(v), json_string_length(v), &c)) {
            add_error(cx, w, r, r->date_text, v);
            return;
        }
        write_canonical_date(&c, date);
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
        put(cx, dst, &r->vendor, json_stringn_nocheck(s, json_string_length(v)));
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
        struct civil c;
        if (!*s && r->fill_now) {
            if (!cx->now || !parse_canonical_date(cx->now, &c)) {
                add_error(cx, w, r, "a time of sending (yyyyMMddHHmmss) from the caller", NULL);
                return;
            }
        } else if (!*s) {
            if (r->empty == EMPTY_STRING)
                put(cx, dst, &r->vendor, json_string(""));
            else if (r->empty == EMPTY_NULL)
                put(cx, dst, &r->vendor, json_null());
            return;
        } else if (!parse_canonical_date(s, &c)) {
            add_error(cx, w, r, "yyyyMMddHHmmss", v);
            return;
        }
        if (r->date.epoch_ms) {
            int64_t secs = days_from_civil(c.y, c.mo, c.d) * 86400 + c.h * 3600 + c.mi * 60 + c.s -
                           VN_OFFSET_S;
            put(cx, dst, &r->vendor, json_integer((json_int_t)(secs * 1000)));
            return;
        }
        format_date(&r->date, &c, date);
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
