/* lt_dossier: the canonical dossier record is where the gateway is strict
 * (DOMAIN.md): vendors' quirks are the dialects' business, and what reaches
 * this module must already be the national field names with every value a
 * string. Decoding refuses a whole request only for what makes it unreadable
 * (bad bytes, bad JSON, absurd nesting or size); everything else is judged
 * record by record, and every error of a record is reported at once so a
 * ward's developer fixes a record in one round trip, not one per field.
 *
 * schemas/dossier.schema.json states the same rules for other tools; the
 * agreement test (tests/schema/agree.sh) keeps the two in step. What JSON
 * Schema cannot say (one date not before another) only this file checks.
 * Decoding a request body into records is lt_dossier_decode.c. */
#include "lt_dossier.h"
#include "lt_civil.h"
#include "lt_utf8.h"

#include "lt_mask.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "got" is cut to this many characters: enough to see what came, short
 * enough that a 1,000-character summary does not flood an answer. */
#define GOT_MAX_CHARS 80

/* One stored error; fixed buffers, so adding an error cannot fail. */
struct verr {
    char field[64];     /* the field's own name */
    char path[160];     /* where it is in the record */
    char expected[160]; /* what the rule wants */
    char got[400];      /* masked JSON text of what came (80 chars of UTF-8 fit) */
    char message[800];  /* "field F: expected E, got G" */
};

struct lt_verrors {
    struct verr items[LT_VERRORS_MAX]; /* the first LT_VERRORS_MAX errors */
    size_t count;                      /* items used */
    size_t found;                      /* errors found, stored or not */
};

/* ---- the error list ------------------------------------------------------ */

lt_verrors *lt_verrors_new(void)
{
    return calloc(1, sizeof(lt_verrors));
}

void lt_verrors_destroy(lt_verrors **self)
{
    if (!self || !*self)
        return;
    free(*self);
    *self = NULL;
}

void lt_verrors_clear(lt_verrors *self)
{
    self->count = 0;
    self->found = 0;
}

size_t lt_verrors_count(const lt_verrors *self)
{
    return self->count;
}

size_t lt_verrors_found(const lt_verrors *self)
{
    return self->found;
}

const char *lt_verrors_field(const lt_verrors *self, size_t i)
{
    return i < self->count ? self->items[i].field : "";
}

const char *lt_verrors_path(const lt_verrors *self, size_t i)
{
    return i < self->count ? self->items[i].path : "";
}

const char *lt_verrors_expected(const lt_verrors *self, size_t i)
{
    return i < self->count ? self->items[i].expected : "";
}

const char *lt_verrors_got(const lt_verrors *self, size_t i)
{
    return i < self->count ? self->items[i].got : "";
}

const char *lt_verrors_message(const lt_verrors *self, size_t i)
{
    return i < self->count ? self->items[i].message : "";
}

/* ---- validation context --------------------------------------------------- */

struct vctx {
    lt_verrors *errs; /* where errors go */
    bool oom;         /* an allocation failed while describing an error */
    bool personal;    /* the value being checked sits under a personal field */
};

/* Copies at most max characters of UTF-8 text into buf (cap bytes), adding
 * "…" when something was cut; never splits a character. */
static void copy_chars(char *buf, size_t cap, const char *s, size_t max)
{
    size_t n = strlen(s), i = 0, chars = 0;
    while (i < n && chars < max) {
        size_t k = i + 1;
        while (k < n && ((unsigned char)s[k] & 0xC0) == 0x80)
            k++;
        if (k + 4 > cap)
            break;
        i = k;
        chars++;
    }
    memcpy(buf, s, i);
    buf[i] = '\0';
    if (i < n && i + 4 <= cap)
        memcpy(buf + i, "\xE2\x80\xA6", 4);
}

/* What came, as masked JSON text. A personal field's value goes through the
 * personal-field masking (shape kept, content gone); any other value through
 * lt_mask_text, because a summary or a wrong date may still hold a phone
 * number. */
static void describe_got(struct vctx *cx, const json_t *value, char *buf, size_t cap)
{
    if (!value) {
        snprintf(buf, cap, "nothing");
        return;
    }
    /* Masking turns a personal number into a string of stars, which would
     * misstate what came; its kind is all the sender needs to see. */
    if (cx->personal && (json_is_number(value) || json_is_array(value) || json_is_object(value))) {
        snprintf(buf, cap, "%s",
                 json_is_number(value)  ? "(a number, masked)"
                 : json_is_array(value) ? "(an array, masked)"
                                        : "(an object, masked)");
        return;
    }
    json_t *copy = json_deep_copy(value);
    json_t *wrap = json_object();
    char *text = NULL;
    if (!copy || !wrap || json_object_set(wrap, cx->personal ? "GhiChu" : "value", copy) < 0 ||
        lt_mask_json(wrap) < 0)
        goto fail;
    text = json_dumps(json_object_get(wrap, cx->personal ? "GhiChu" : "value"),
                      JSON_ENCODE_ANY | JSON_COMPACT);
    if (!text)
        goto fail;
    copy_chars(buf, cap, text, GOT_MAX_CHARS);
    free(text);
    json_decref(copy);
    json_decref(wrap);
    return;
fail:
    cx->oom = true;
    snprintf(buf, cap, "?");
    json_decref(copy);
    json_decref(wrap);
}

static void add_error(struct vctx *cx, const char *path, const char *field, const char *expected,
                      const json_t *value)
{
    lt_verrors *e = cx->errs;
    e->found++;
    if (e->count >= LT_VERRORS_MAX)
        return;
    struct verr *v = &e->items[e->count++];
    snprintf(v->field, sizeof(v->field), "%s", field);
    snprintf(v->path, sizeof(v->path), "%s", path);
    snprintf(v->expected, sizeof(v->expected), "%s", expected);
    /* Described into a local first: GCC cannot tell that v->got and
     * v->message do not overlap when both are formatted from e. */
    char got[sizeof(v->got)];
    describe_got(cx, value, got, sizeof(got));
    memcpy(v->got, got, sizeof(got));
    if (field[0])
        snprintf(v->message, sizeof(v->message), "field %s: expected %s, got %s", field, expected,
                 got);
    else
        snprintf(v->message, sizeof(v->message), "record: expected %s, got %s", expected, got);
}

/* ---- value shapes ---------------------------------------------------------- */

static bool is_digits(const char *s, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        if (s[k] < '0' || s[k] > '9')
            return false;
    }
    return true;
}

static int num(const char *s, size_t n)
{
    int v = 0;
    for (size_t k = 0; k < n; k++)
        v = v * 10 + (s[k] - '0');
    return v;
}

static bool real_day(int y, int m, int d)
{
    return m >= 1 && m <= 12 && d >= 1 && d <= lt_civil_month_days(y, m);
}

/* Years a dossier date may carry: wide enough for archives and far-off due
 * dates, narrow enough to catch "00010101000000" placeholders. The schema's
 * pattern says the same. */
#define YEAR_MIN 1900
#define YEAR_MAX 2099

static bool real_ymd(const char *s, size_t ylen)
{
    int y = num(s, ylen);
    if (ylen == 2)
        y += 2000;
    return y >= YEAR_MIN && y <= YEAR_MAX && real_day(y, num(s + ylen, 2), num(s + ylen + 2, 2));
}

enum date_verdict { DATE_OK, DATE_SHAPE, DATE_UNREAL };

/* yyyyMMddHHmmss, a real calendar date and a real time of day (24:00:00 is
 * not one: the next day's 00:00:00 is). */
static enum date_verdict check_date(const char *s, size_t n)
{
    if (n != 14 || !is_digits(s, n))
        return DATE_SHAPE;
    if (!real_ymd(s, 4) || num(s + 8, 2) > 23 || num(s + 10, 2) > 59 || num(s + 12, 2) > 59)
        return DATE_UNREAL;
    return DATE_OK;
}

static bool is_upper(char c)
{
    return c >= 'A' && c <= 'Z';
}

/* Reads exactly k digits at s[*i]; advances on success. */
static bool digits_at(const char *s, size_t n, size_t *i, size_t k)
{
    if (*i + k > n || !is_digits(s + *i, k))
        return false;
    *i += k;
    return true;
}

static size_t digit_run(const char *s, size_t n, size_t i)
{
    size_t k = i;
    while (k < n && s[k] >= '0' && s[k] <= '9')
        k++;
    return k - i;
}

/* Agency id (QĐ 20/2020): the full form LLL.KK.MM.Xnn (000.00.06.H56), or
 * the short form Xnn.dd[.dd...] (H56.14, G09.20) seen in newer codes. */
static bool agency_id(const char *s, size_t n)
{
    size_t i = 0;
    /* The full form is tried first; a 13-character short form is possible
     * too (H56.14.22.333), so a failed full form falls through. */
    if (n == 13 && digits_at(s, n, &i, 3) && s[i++] == '.' && digits_at(s, n, &i, 2) &&
        s[i++] == '.' && digits_at(s, n, &i, 2) && s[i++] == '.' && is_upper(s[i++]) &&
        digits_at(s, n, &i, 2) && i == n)
        return true;
    i = 1;
    if (n < 6 || !is_upper(s[0]) || !digits_at(s, n, &i, 2))
        return false;
    int groups = 0;
    while (i < n) {
        if (s[i] != '.' || groups == 3)
            return false;
        i++;
        size_t k = digit_run(s, n, i);
        if (k < 2 || k > 3)
            return false;
        i += k;
        groups++;
    }
    return groups >= 1;
}

/* {agency id}-{yyMMdd or yyyyMMdd}-{4 to 7 digits}, the date a real one. */
static bool dossier_code(const char *s, size_t n)
{
    const char *last = memchr(s, '-', n);
    if (!last)
        return false;
    size_t a = (size_t)(last - s);
    const char *second = memchr(s + a + 1, '-', n - a - 1);
    if (!second)
        return false;
    size_t d = (size_t)(second - s);
    size_t dlen = d - a - 1, slen = n - d - 1;
    if (!agency_id(s, a) || (dlen != 6 && dlen != 8) || !is_digits(s + a + 1, dlen) ||
        !real_ymd(s + a + 1, dlen - 4) || slen < 4 || slen > 7 || !is_digits(s + d + 1, slen))
        return false;
    return true;
}

/* Procedure codes, loosely (the catalog is the authority at ingest): the
 * national d.dddddd (2.000908) and local forms that extend it with dotted
 * parts (1.003560.000.00.00.H56, 2.002621.H56). */
static bool procedure_code(const char *s, size_t n)
{
    size_t i = 0;
    if (!digits_at(s, n, &i, 1) || i >= n || s[i++] != '.' || !digits_at(s, n, &i, 6))
        return false;
    int parts = 0;
    while (i < n) {
        if (s[i] != '.' || ++parts > 6)
            return false;
        i++;
        size_t k = 0;
        while (i + k < n && k <= 10 &&
               ((s[i + k] >= '0' && s[i + k] <= '9') || is_upper(s[i + k]) ||
                (s[i + k] >= 'a' && s[i + k] <= 'z')))
            k++;
        if (k < 1 || k > 10)
            return false;
        i += k;
    }
    return true;
}

static size_t utf8_chars(const char *s, size_t n)
{
    size_t chars = 0;
    for (size_t k = 0; k < n; k++) {
        if (((unsigned char)s[k] & 0xC0) != 0x80)
            chars++;
    }
    return chars;
}

/* ---- the field table --------------------------------------------------------- */

enum kind {
    K_TEXT,    /* free text: any string within the length limit */
    K_DATE,    /* yyyyMMddHHmmss or "" (when not required) */
    K_ENUM,    /* one of the closed set in `set` */
    K_HOSO,    /* dossier code */
    K_TTHC,    /* procedure code */
    K_LIST,    /* array of objects, checked by `sub` */
    K_IDLIST,  /* DinhDanhCHS: array of strings or objects */
    K_HISTORY, /* QuaTrinhXuLy: array of history entries */
};

struct rule {
    const char *name;       /* field name, case-sensitive */
    enum kind kind;         /* what the value must be */
    size_t max_chars;       /* length limit for strings, in characters */
    const char *set;        /* K_ENUM: "1, 2, 3", as shown in messages */
    const struct rule *sub; /* K_LIST, K_HISTORY: rules of one entry, NULL-terminated */
    bool required;          /* must be present and non-empty */
};

/* Length limits, in characters. DOMAIN.md fixes only TrichYeuHoSo; the others
 * are generous bounds that no real value reaches, so that one field cannot
 * carry megabytes. schemas/dossier.schema.json has the same numbers. */
#define LEN_CODE    64   /* dossier, procedure and other codes */
#define LEN_SHORT   255  /* names, contacts, numbers of papers */
#define LEN_LONG    4000 /* labels and notes: procedure names, agencies, free notes */
#define LEN_URL     2048 /* links to files */
#define LEN_SUMMARY 1000

static const struct rule files_rules[] = {
    {"TepDinhKemId", K_TEXT, LEN_SHORT, NULL, NULL, false},
    {"TenTepDinhKem", K_TEXT, LEN_LONG, NULL, NULL, false},
    {"MaThanhPhanHoSo", K_TEXT, LEN_SHORT, NULL, NULL, false},
    {"DuongDanTaiTepTin", K_TEXT, LEN_URL, NULL, NULL, false},
    {"DuocSoHoa", K_ENUM, 1, "0, 1", NULL, false},
    {NULL, K_TEXT, 0, NULL, NULL, false},
};

static const struct rule fees_rules[] = {
    {"TenPhiLePhi", K_TEXT, LEN_LONG, NULL, NULL, false},
    {"MaPhiLePhi", K_TEXT, LEN_SHORT, NULL, NULL, false},
    {"HinhThucThu", K_TEXT, LEN_SHORT, NULL, NULL, false},
    {"Gia", K_TEXT, LEN_SHORT, NULL, NULL, false},
    {"LoaiPhiLePhi", K_TEXT, LEN_SHORT, NULL, NULL, false},
    {NULL, K_TEXT, 0, NULL, NULL, false},
};

static const struct rule supplement_rules[] = {
    {"NgayHenTraTruoc", K_DATE, 14, NULL, NULL, false},
    {"NgayHenTraMoi", K_DATE, 14, NULL, NULL, false},
    {NULL, K_TEXT, 0, NULL, NULL, false},
};

static const struct rule results_rules[] = {
    {"TenGiayTo", K_TEXT, LEN_LONG, NULL, NULL, false},
    {"MaGiayToKetQua", K_TEXT, LEN_SHORT, NULL, NULL, false},
    {"DuongDanTepTinKetQua", K_TEXT, LEN_URL, NULL, NULL, false},
    {NULL, K_TEXT, 0, NULL, NULL, false},
};

#define STATUS_SET "1, 2, 3, 4, 5, 6, 7, 8, 9, 10"

static const struct rule history_rules[] = {
    {"MaHoSo", K_TEXT, LEN_CODE, NULL, NULL, false},
    {"NguoiXuLy", K_TEXT, LEN_SHORT, NULL, NULL, false},
    {"ChucDanh", K_TEXT, LEN_SHORT, NULL, NULL, false},
    {"ThoiDiemXuLy", K_DATE, 14, NULL, NULL, true},
    {"PhongBanXuLy", K_TEXT, LEN_LONG, NULL, NULL, false},
    {"NoiDungXuLy", K_TEXT, LEN_LONG, NULL, NULL, false},
    {"TrangThai", K_ENUM, 2, STATUS_SET, NULL, true},
    {"NgayBatDau", K_DATE, 14, NULL, NULL, false},
    {"NgayKetThucTheoQuyDinh", K_DATE, 14, NULL, NULL, false},
    {NULL, K_TEXT, 0, NULL, NULL, false},
};

/* The record's fields in the order they are checked, which is the order of
 * the errors reported: the identity first, then the rest as DOMAIN.md lists
 * them. NgayTiepNhan and NgayKetThucXuLy become required by status. */
static const struct rule record_rules[] = {
    {"MaHoSo", K_HOSO, LEN_CODE, NULL, NULL, true},
    {"MaTTHC", K_TTHC, LEN_CODE, NULL, NULL, true},
    {"TrangThaiHoSo", K_ENUM, 2, STATUS_SET, NULL, true},
    {"KenhThucHien", K_ENUM, 1, "1, 2, 3", NULL, true},
    {"TenTTHC", K_TEXT, LEN_LONG, NULL, NULL, false},
    {"MaLinhVuc", K_TEXT, LEN_SHORT, NULL, NULL, false},
    {"TenLinhVuc", K_TEXT, LEN_LONG, NULL, NULL, false},
    {"SoBienNhan", K_TEXT, LEN_SHORT, NULL, NULL, false},
    {"ChuHoSo", K_TEXT, LEN_SHORT, NULL, NULL, false},
    {"LoaiDoiTuong", K_ENUM, 1, "1, 2, 3, 4", NULL, false},
    {"MaDoiTuong", K_TEXT, LEN_SHORT, NULL, NULL, false},
    {"SoGiayToChuHoSo", K_TEXT, LEN_SHORT, NULL, NULL, false},
    {"DinhDanhCHS", K_IDLIST, LEN_SHORT, NULL, NULL, false},
    {"Email", K_TEXT, LEN_SHORT, NULL, NULL, false},
    {"SoDienThoai", K_TEXT, LEN_SHORT, NULL, NULL, false},
    {"Fax", K_TEXT, LEN_SHORT, NULL, NULL, false},
    {"ThongTinKhac", K_TEXT, LEN_LONG, NULL, NULL, false},
    {"GhiChu", K_TEXT, LEN_LONG, NULL, NULL, false},
    {"TrichYeuHoSo", K_TEXT, LEN_SUMMARY, NULL, NULL, false},
    {"NgayNopHoSo", K_DATE, 14, NULL, NULL, false},
    {"NgayTiepNhan", K_DATE, 14, NULL, NULL, false},
    {"NgayHenTra", K_DATE, 14, NULL, NULL, false},
    {"NgayKetThucXuLy", K_DATE, 14, NULL, NULL, false},
    {"NgayTra", K_DATE, 14, NULL, NULL, false},
    {"ThongTinTra", K_TEXT, LEN_LONG, NULL, NULL, false},
    {"HinhThuc", K_ENUM, 1, "0, 1", NULL, false},
    {"NgayTuChoi", K_DATE, 14, NULL, NULL, false},
    {"DonViXuLy", K_TEXT, LEN_LONG, NULL, NULL, false},
    {"NoiNopHoSo", K_ENUM, 1, "0, 1", NULL, false},
    {"HoSoCoThanhPhanSoHoa", K_ENUM, 1, "0, 1", NULL, false},
    {"TaiKhoanDuocXacThucVoiVNeID", K_ENUM, 1, "0, 1", NULL, false},
    {"DuocThanhToanTrucTuyen", K_ENUM, 1, "0, 1, 2", NULL, false},
    {"TaiLieuNop", K_LIST, 0, NULL, files_rules, false},
    {"DanhSachLePhi", K_LIST, 0, NULL, fees_rules, false},
    {"DanhSachHoSoBoSung", K_LIST, 0, NULL, supplement_rules, false},
    {"DanhSachGiayToKetQua", K_LIST, 0, NULL, results_rules, false},
    {"QuaTrinhXuLy", K_HISTORY, 0, NULL, history_rules, false},
    {NULL, K_TEXT, 0, NULL, NULL, false},
};

/* Whether s[0, n) is one of the ", "-separated members of set. */
static bool in_set(const char *set, const char *s, size_t n)
{
    const char *p = set;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t k = end ? (size_t)(end - p) : strlen(p);
        if (k == n && memcmp(p, s, n) == 0)
            return true;
        if (!end)
            break;
        p = end + 2;
    }
    return false;
}

/* Paths are short (a list name, an index, a field name); a path that would
 * not fit is cut, which only shortens a message. Returns -1 when cut. */
static int join_path(char *buf, size_t cap, const char *prefix, const char *name)
{
    int n = prefix[0] ? snprintf(buf, cap, "%s.%s", prefix, name) : snprintf(buf, cap, "%s", name);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* Checks a string-valued field. required_why, when not NULL, makes an empty
 * or absent value an error and says why ("required at status 9"). */
static void check_string(struct vctx *cx, const struct rule *r, const char *path, const json_t *v,
                         const char *required_why)
{
    char expected[160];
    if (!v) {
        if (required_why) {
            snprintf(expected, sizeof(expected), "%s (%s)",
                     r->kind == K_DATE ? "a real date yyyyMMddHHmmss" : "a non-empty string",
                     required_why);
            add_error(cx, path, r->name, expected, NULL);
        }
        return;
    }
    if (!json_is_string(v)) {
        add_error(cx, path, r->name, r->kind == K_DATE ? "a string yyyyMMddHHmmss" : "a string", v);
        return;
    }
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (memchr(s, '\0', n) || lt_utf8_invalid_at(s, n) < n) {
        add_error(cx, path, r->name, "valid UTF-8 text without NUL", v);
        return;
    }
    if (n == 0) {
        if (required_why) {
            snprintf(expected, sizeof(expected), "%s (%s)",
                     r->kind == K_DATE ? "a real date yyyyMMddHHmmss" : "a non-empty string",
                     required_why);
            add_error(cx, path, r->name, expected, v);
        } else if (r->kind == K_ENUM) {
            snprintf(expected, sizeof(expected), "one of %s", r->set);
            add_error(cx, path, r->name, expected, v);
        }
        return;
    }
    switch (r->kind) {
    case K_DATE:
        switch (check_date(s, n)) {
        case DATE_SHAPE:
            add_error(cx, path, r->name, "yyyyMMddHHmmss", v);
            return;
        case DATE_UNREAL:
            add_error(cx, path, r->name, "a real date and time yyyyMMddHHmmss", v);
            return;
        case DATE_OK:
            return;
        }
        return;
    case K_ENUM:
        if (!in_set(r->set, s, n)) {
            snprintf(expected, sizeof(expected), "one of %s", r->set);
            add_error(cx, path, r->name, expected, v);
        }
        return;
    default:
        break;
    }
    if (utf8_chars(s, n) > r->max_chars) {
        snprintf(expected, sizeof(expected), "at most %zu characters", r->max_chars);
        add_error(cx, path, r->name, expected, v);
        return;
    }
    if (r->kind == K_HOSO && !dossier_code(s, n))
        add_error(cx, path, r->name, "a dossier code {agency id}-{yyMMdd|yyyyMMdd}-{4 to 7 digits}",
                  v);
    else if (r->kind == K_TTHC && !procedure_code(s, n))
        add_error(cx, path, r->name, "a procedure code d.dddddd[.local parts]", v);
}

/* Checks the known fields of one list entry; unknown ones pass. */
static void check_entry(struct vctx *cx, const struct rule *rules, const char *prefix,
                        const json_t *entry)
{
    for (const struct rule *r = rules; r->name; r++) {
        char path[160];
        (void)join_path(path, sizeof(path), prefix, r->name);
        check_string(cx, r, path, json_object_get(entry, r->name), r->required ? "required" : NULL);
    }
}

static void check_list(struct vctx *cx, const struct rule *r, const json_t *v)
{
    if (!json_is_array(v)) {
        add_error(cx, r->name, r->name,
                  r->kind == K_IDLIST ? "a list (JSON array) of strings or objects"
                                      : "a list (JSON array) of objects",
                  v);
        return;
    }
    size_t i;
    const json_t *entry;
    json_array_foreach(v, i, entry)
    {
        char path[96]; /* a list name and an index; entry paths add a field name */
        snprintf(path, sizeof(path), "%s[%zu]", r->name, i);
        if (r->kind == K_IDLIST) {
            if (json_is_string(entry)) {
                struct rule one = *r;
                one.kind = K_TEXT;
                check_string(cx, &one, path, entry, NULL);
            } else if (!json_is_object(entry)) {
                add_error(cx, path, r->name, "a string or an object", entry);
            }
            continue;
        }
        if (!json_is_object(entry)) {
            add_error(cx, path, r->name, "an object", entry);
            continue;
        }
        check_entry(cx, r->sub, path, entry);
    }
}

/* A date field's value when it is a valid, non-empty date; else NULL. */
static const char *valid_date(const json_t *record, const char *name)
{
    const json_t *v = json_object_get(record, name);
    if (!json_is_string(v) || check_date(json_string_value(v), json_string_length(v)) != DATE_OK)
        return NULL;
    return json_string_value(v);
}

/* later must not be before earlier; both are compared as text, which for
 * valid yyyyMMddHHmmss dates is chronological order. */
static void check_order(struct vctx *cx, const json_t *record, const char *later,
                        const char *earlier)
{
    const char *a = valid_date(record, later), *b = valid_date(record, earlier);
    if (!a || !b || strcmp(a, b) >= 0)
        return;
    char expected[160];
    snprintf(expected, sizeof(expected), "a date not before %s (%s)", earlier, b);
    add_error(cx, later, later, expected, json_object_get(record, later));
}

/* Which dates a status makes required (DOMAIN.md). */
static const char *required_by_status(const char *field, int status, char *buf, size_t cap)
{
    bool need = false;
    if (strcmp(field, "NgayTiepNhan") == 0)
        need = status == 2 || (status >= 4 && status <= 6) || status >= 8;
    else if (strcmp(field, "NgayKetThucXuLy") == 0)
        need = status == 9 || status == 10;
    if (!need)
        return NULL;
    snprintf(buf, cap, "required at status %d", status);
    return buf;
}

int lt_dossier_validate(const json_t *record, lt_verrors *errs)
{
    struct vctx cx = {.errs = errs, .oom = false, .personal = false};
    size_t before = errs->found;
    if (!json_is_object(record)) {
        add_error(&cx, "", "", "a dossier record (a JSON object)", record);
        return cx.oom ? -1 : 1;
    }
    int status = 0;
    const json_t *st = json_object_get(record, "TrangThaiHoSo");
    if (json_is_string(st) && in_set(STATUS_SET, json_string_value(st), json_string_length(st)))
        status = num(json_string_value(st), json_string_length(st));
    for (const struct rule *r = record_rules; r->name; r++) {
        const json_t *v = json_object_get(record, r->name);
        cx.personal = lt_mask_is_personal_field(r->name);
        if (r->kind == K_LIST || r->kind == K_IDLIST || r->kind == K_HISTORY) {
            if (v)
                check_list(&cx, r, v);
            continue;
        }
        char why[64];
        const char *required_why = r->required ? "required" : NULL;
        if (!required_why && status)
            required_why = required_by_status(r->name, status, why, sizeof(why));
        check_string(&cx, r, r->name, v, required_why);
    }
    cx.personal = false;
    check_order(&cx, record, "NgayHenTra", "NgayTiepNhan");
    check_order(&cx, record, "NgayKetThucXuLy", "NgayTiepNhan");
    check_order(&cx, record, "NgayTra", "NgayKetThucXuLy");
    if (cx.oom)
        return -1;
    return errs->found > before ? 1 : 0;
}

const char *lt_dossier_code(const json_t *record)
{
    const json_t *v = json_object_get(record, "MaHoSo");
    return json_is_string(v) ? json_string_value(v) : "";
}

json_t *lt_dossier_rejection(const json_t *record, const lt_verrors *errs)
{
    if (!errs || errs->count == 0)
        return NULL;
    json_t *list = json_array();
    if (!list)
        return NULL;
    for (size_t i = 0; i < errs->count; i++) {
        const struct verr *v = &errs->items[i];
        if (json_array_append_new(list,
                                  json_pack("{s:s, s:s, s:s, s:s}", "field", v->field, "path",
                                            v->path, "expected", v->expected, "got", v->got)) < 0) {
            json_decref(list);
            return NULL;
        }
    }
    const struct verr *first = &errs->items[0];
    return json_pack("{s:s, s:s, s:i, s:s, s:s, s:s, s:o}", "MaHoSo", lt_dossier_code(record),
                     "result", "rejected", "code", 422, "field", first->field, "path", first->path,
                     "message", first->message, "errors", list);
}

char *lt_dossier_canonical(const json_t *record)
{
    return json_dumps(record, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY);
}
