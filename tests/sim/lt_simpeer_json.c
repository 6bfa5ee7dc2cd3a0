/* lt_simpeer_json: reads a request body the way the simulator needs it,
 * several times faster than building a whole jansson tree. The body is
 * validated whole (RFC 8259; UTF-8 as adapters/lt_utf8 defines it; no lone
 * surrogate escapes, no \u0000, nothing after the value, nesting at most
 * MAX_DEPTH), but only what the roles read becomes a tree: the top-level
 * object's protocol fields, and for each record (an element of a top-level
 * array, or of a "data" or "records" array) its code and status fields plus
 * its raw text under LT_SIMPEER_RAW. The raw text is what the simulator
 * stores as a dossier's latest record, so a record is never serialized
 * again either.
 *
 * Why not jansson: parsing a 1.7 KB dossier record costs jansson ~55 us,
 * as much as everything else a call costs together, and a benchmark drains
 * 100,000 of them through the simulator on the machine the gateway runs on.
 * It accepts what jansson accepts (checked against it on two million
 * mutated documents), except numbers too large for a double or an int64,
 * which are valid JSON and which no role reads. */
#include <stdlib.h>
#include <string.h>

#include "lt_simpeer.h"
#include "lt_utf8.h"

#define MAX_DEPTH 128
#define MAX_KEY   64 /* longer keys are never projected */

typedef struct {
    const char *p, *end;
    char *tmp; /* the last string scanned, unescaped, NUL-terminated */
    size_t tmp_len, tmp_cap;
} scanner;

/* What a projection keeps: the top-level object's and each record's fields. */
static const char *const top_keys[] = {"session", "service",       "isUpdating",
                                       "madonvi", "username",      "password",
                                       "MaHoSo",  "TrangThaiHoSo", NULL};
static const char *const record_keys[] = {"MaHoSo",    "MaTTHC",       "TrangThaiHoSo",
                                          "TrangThai", "ThoiDiemXuLy", NULL};

static bool listed(const char *const *list, const char *key)
{
    for (; *list; list++)
        if (strcmp(*list, key) == 0)
            return true;
    return false;
}

static void ws(scanner *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

static int put(scanner *s, const char *bytes, size_t n)
{
    if (s->tmp_len + n + 1 > s->tmp_cap) {
        size_t want = s->tmp_cap ? s->tmp_cap * 2 : 256;
        while (want < s->tmp_len + n + 1)
            want *= 2;
        char *p = realloc(s->tmp, want);
        if (!p)
            return -1;
        s->tmp = p;
        s->tmp_cap = want;
    }
    memcpy(s->tmp + s->tmp_len, bytes, n);
    s->tmp_len += n;
    s->tmp[s->tmp_len] = '\0';
    return 0;
}

static int hex4(scanner *s, unsigned *ret)
{
    unsigned v = 0;
    if (s->end - s->p < 4)
        return -1;
    for (int i = 0; i < 4; i++) {
        char c = *s->p++;
        unsigned d = c >= '0' && c <= '9'   ? (unsigned)(c - '0')
                     : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                     : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10)
                                            : 16;
        if (d == 16)
            return -1;
        v = v * 16 + d;
    }
    *ret = v;
    return 0;
}

static int put_code_point(scanner *s, unsigned cp)
{
    char b[4];
    size_t n;
    if (cp < 0x80) {
        b[0] = (char)cp, n = 1;
    } else if (cp < 0x800) {
        b[0] = (char)(0xC0 | cp >> 6), b[1] = (char)(0x80 | (cp & 0x3F)), n = 2;
    } else if (cp < 0x10000) {
        b[0] = (char)(0xE0 | cp >> 12), b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (char)(0x80 | (cp & 0x3F)), n = 3;
    } else {
        b[0] = (char)(0xF0 | cp >> 18), b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), b[3] = (char)(0x80 | (cp & 0x3F)), n = 4;
    }
    return put(s, b, n);
}

/* Scans the string at s->p (its opening quote); with keep, its value goes
 * to s->tmp. -1 when malformed. */
static int string(scanner *s, bool keep)
{
    s->p++;
    s->tmp_len = 0;
    if (keep && put(s, "", 0) < 0)
        return -1;
    for (;;) {
        const char *run = s->p;
        while (s->p < s->end && *s->p != '"' && *s->p != '\\' && (unsigned char)*s->p >= 0x20 &&
               (unsigned char)*s->p < 0x80)
            s->p++;
        if (keep && s->p > run && put(s, run, (size_t)(s->p - run)) < 0)
            return -1;
        if (s->p >= s->end)
            return -1;
        unsigned char c = (unsigned char)*s->p;
        if (c == '"') {
            s->p++;
            return 0;
        }
        if (c < 0x20)
            return -1;
        if (c >= 0x80) {
            size_t n = lt_utf8_seq_len((const unsigned char *)s->p, (size_t)(s->end - s->p));
            if (!n || (keep && put(s, s->p, n) < 0))
                return -1;
            s->p += n;
            continue;
        }
        /* An escape. */
        if (++s->p >= s->end)
            return -1;
        char e = *s->p++;
        const char *plain = e == '"'    ? "\""
                            : e == '\\' ? "\\"
                            : e == '/'  ? "/"
                            : e == 'b'  ? "\b"
                            : e == 'f'  ? "\f"
                            : e == 'n'  ? "\n"
                            : e == 'r'  ? "\r"
                            : e == 't'  ? "\t"
                                        : NULL;
        if (plain) {
            if (keep && put(s, plain, 1) < 0)
                return -1;
            continue;
        }
        unsigned cp, lo;
        if (e != 'u' || hex4(s, &cp) < 0 || cp == 0 || (cp >= 0xDC00 && cp <= 0xDFFF))
            return -1;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (s->end - s->p < 2 || s->p[0] != '\\' || s->p[1] != 'u')
                return -1;
            s->p += 2;
            if (hex4(s, &lo) < 0 || lo < 0xDC00 || lo > 0xDFFF)
                return -1;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        }
        if (keep && put_code_point(s, cp) < 0)
            return -1;
    }
}

static int digits(scanner *s)
{
    const char *start = s->p;
    while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
        s->p++;
    return s->p > start ? 0 : -1;
}

static int number(scanner *s)
{
    if (*s->p == '-')
        s->p++;
    if (s->p < s->end && *s->p == '0')
        s->p++;
    else if (s->p >= s->end || *s->p < '1' || *s->p > '9' || digits(s) < 0)
        return -1;
    if (s->p < s->end && *s->p == '.' && (s->p++, digits(s) < 0))
        return -1;
    if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
        s->p++;
        if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
            s->p++;
        if (digits(s) < 0)
            return -1;
    }
    return 0;
}

static int literal(scanner *s, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
        return -1;
    s->p += n;
    return 0;
}

typedef enum { SKIP, TOP, RECORD } mode;

static int value(scanner *s, int depth, mode m, json_t **ret);

/* An array: with TOP or "data"/"records" (m = RECORD) its elements are
 * projected as records into *ret. */
static int array(scanner *s, int depth, mode m, json_t **ret)
{
    s->p++;
    json_t *out = m == SKIP ? NULL : json_array();
    if (m != SKIP && !out)
        return -1;
    ws(s);
    if (s->p < s->end && *s->p == ']') {
        s->p++;
        *ret = out;
        return 0;
    }
    for (;;) {
        json_t *item = NULL;
        if (value(s, depth + 1, m == SKIP ? SKIP : RECORD, &item) < 0 ||
            (out && json_array_append_new(out, item ? item : json_null()) < 0))
            goto bad;
        ws(s);
        if (s->p < s->end && *s->p == ',') {
            s->p++;
            continue;
        }
        if (s->p < s->end && *s->p == ']') {
            s->p++;
            *ret = out;
            return 0;
        }
        goto bad;
    }
bad:
    json_decref(out);
    return -1;
}

static int object(scanner *s, int depth, mode m, json_t **ret)
{
    const char *start = s->p++;
    json_t *out = m == SKIP ? NULL : json_object();
    if (m != SKIP && !out)
        return -1;
    ws(s);
    if (s->p < s->end && *s->p == '}') {
        s->p++;
        goto done;
    }
    for (;;) {
        char key[MAX_KEY];
        ws(s);
        if (s->p >= s->end || *s->p != '"' || string(s, m != SKIP) < 0)
            goto bad;
        bool wanted =
            m != SKIP && s->tmp_len < MAX_KEY && listed(m == TOP ? top_keys : record_keys, s->tmp);
        bool records = m == TOP && (strcmp(s->tmp, "data") == 0 || strcmp(s->tmp, "records") == 0);
        if (wanted || records)
            memcpy(key, s->tmp, s->tmp_len + 1);
        ws(s);
        if (s->p >= s->end || *s->p++ != ':')
            goto bad;
        ws(s);
        json_t *v = NULL;
        if (wanted && s->p < s->end && *s->p == '"') {
            if (string(s, true) < 0 ||
                json_object_set_new_nocheck(out, key, json_stringn_nocheck(s->tmp, s->tmp_len)) < 0)
                goto bad;
        } else if (records && s->p < s->end && *s->p == '[') {
            if (array(s, depth + 1, RECORD, &v) < 0 || json_object_set_new_nocheck(out, key, v) < 0)
                goto bad;
        } else if (value(s, depth + 1, SKIP, &v) < 0) {
            goto bad;
        }
        ws(s);
        if (s->p < s->end && *s->p == ',') {
            s->p++;
            continue;
        }
        if (s->p < s->end && *s->p == '}') {
            s->p++;
            break;
        }
        goto bad;
    }
done:
    if (out && json_object_set_new_nocheck(out, LT_SIMPEER_RAW,
                                           json_stringn_nocheck(start, (size_t)(s->p - start))) < 0)
        goto bad;
    *ret = out;
    return 0;
bad:
    json_decref(out);
    return -1;
}

static int value(scanner *s, int depth, mode m, json_t **ret)
{
    *ret = NULL;
    if (depth > MAX_DEPTH)
        return -1;
    ws(s);
    if (s->p >= s->end)
        return -1;
    int rc;
    switch (*s->p) {
    case '{':
        return object(s, depth, m, ret);
    case '[':
        /* Records are objects: an array where a record belongs is skipped. */
        return array(s, depth, m == TOP ? TOP : SKIP, ret);
    case '"':
        rc = string(s, false);
        break;
    case 't':
        rc = literal(s, "true");
        break;
    case 'f':
        rc = literal(s, "false");
        break;
    case 'n':
        rc = literal(s, "null");
        break;
    default:
        rc = number(s);
        break;
    }
    /* A scalar where a record or a document belongs: JSON null stands for it. */
    if (rc == 0 && m != SKIP)
        *ret = json_null();
    return rc;
}

json_t *lt_simpeer_json_project(const char *text, size_t len)
{
    scanner s = {.p = text, .end = text + len};
    json_t *out = NULL;
    if (value(&s, 1, TOP, &out) == 0) {
        ws(&s);
        if (s.p != s.end) {
            json_decref(out);
            out = NULL;
        }
    }
    free(s.tmp);
    return out;
}

const char *lt_simpeer_json_raw(const json_t *obj, size_t *ret_len)
{
    const json_t *raw = json_object_get(obj, LT_SIMPEER_RAW);
    *ret_len = json_string_length(raw);
    return json_string_value(raw);
}
