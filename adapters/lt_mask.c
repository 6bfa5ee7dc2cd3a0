/* lt_mask: personal data (citizen IDs, phone numbers, e-mail addresses,
 * applicants' names) must never reach a log file or an operator's screen in
 * clear, yet the same lines are full of dossier codes, procedure codes and
 * timestamps that operators need intact. This module draws that line in one
 * place, as pure functions, so the logger, the HTTP layer and the fuzzers all
 * agree on what is hidden. It only ever replaces ASCII bytes, so UTF-8 text
 * (Vietnamese names and summaries) is never split. */
#include "lt_mask.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Digit counts that identify a person: 9 (old ID), 10-11 (phones, +84 form
 * included) and 12 (citizen ID). Longer runs are timestamps or amounts. */
#define MASK_RUN_MIN 9
#define MASK_RUN_MAX 12
/* A phone written with dots is 10 or 11 digits; a dotted string of any other
 * length is a code (agency id, procedure code) and is left alone. */
#define DOT_PHONE_MIN 10
#define DOT_PHONE_MAX 11
/* More groups than this is a code or a list, not a phone or an ID. */
#define MAX_GROUPS 6

/* A growable output string; once an allocation fails every later append is a
 * no-op, so callers check once at the end instead of after every call. */
struct mbuf {
    char *data;  /* NUL-terminated once anything was appended */
    size_t len;  /* bytes used, NUL excluded */
    size_t cap;  /* bytes allocated */
    bool failed; /* an allocation failed; data is incomplete */
};

/* One digit group: [start, end) in the text, start on the '+' of "+84". */
struct group {
    size_t start;   /* first byte, '+' included */
    size_t digits;  /* first digit */
    size_t end;     /* one past the last digit */
    size_t ndigits; /* end - digits */
};

static void mbuf_put(struct mbuf *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (n > SIZE_MAX - b->len - 1) {
        b->failed = true;
        return;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n + 1) {
            if (cap > SIZE_MAX / 2) {
                b->failed = true;
                return;
            }
            cap *= 2;
        }
        char *p = realloc(b->data, cap);
        if (!p) {
            b->failed = true;
            return;
        }
        b->data = p;
        b->cap = cap;
    }
    if (n)
        memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static void mbuf_stars(struct mbuf *b, size_t n)
{
    static const char stars[] = "****************";
    while (n > 0) {
        size_t k = n < sizeof(stars) - 1 ? n : sizeof(stars) - 1;
        mbuf_put(b, stars, k);
        n -= k;
    }
}

/* Hands the buffer over; an empty result is still a valid string. */
static char *mbuf_take(struct mbuf *b, size_t *ret_len)
{
    if (!b->failed && !b->data)
        mbuf_put(b, "", 0);
    if (b->failed) {
        free(b->data);
        b->data = NULL;
        return NULL;
    }
    if (ret_len)
        *ret_len = b->len;
    char *s = b->data;
    b->data = NULL;
    return s;
}

/* ctype.h depends on the locale and treats UTF-8 bytes unpredictably; these
 * answer for ASCII only, which is what the patterns are made of. */
static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static bool is_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_alnum(unsigned char c)
{
    return is_digit(c) || is_alpha(c);
}

static bool is_email_local(unsigned char c)
{
    return is_alnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-';
}

static bool is_email_domain(unsigned char c)
{
    return is_alnum(c) || c == '.' || c == '-';
}

/* Checks the domain starting at s[from]; on success *ret_end is one past it.
 * Trailing dots and hyphens are sentence punctuation, not domain. */
static bool email_domain(const char *s, size_t n, size_t from, size_t *ret_end)
{
    size_t end = from;
    while (end < n && is_email_domain((unsigned char)s[end]))
        end++;
    while (end > from && (s[end - 1] == '.' || s[end - 1] == '-'))
        end--;
    if (end == from || s[from] == '.' || s[from] == '-')
        return false;
    size_t dot = end;
    while (dot > from && s[dot - 1] != '.')
        dot--;
    if (dot == from || end - dot < 2)
        return false;
    for (size_t k = dot; k < end; k++) {
        if (!is_alpha((unsigned char)s[k]))
            return false;
    }
    *ret_end = end;
    return true;
}

/* Reads the digit group at s[i]: a digit run, or "+84" followed by digits. */
static bool read_group(const char *s, size_t n, size_t i, struct group *g)
{
    size_t d = i;
    if (i + 2 < n && s[i] == '+' && s[i + 1] == '8' && s[i + 2] == '4')
        d = i + 1;
    else if (i >= n || !is_digit((unsigned char)s[i]))
        return false;
    size_t e = d;
    while (e < n && is_digit((unsigned char)s[e]))
        e++;
    g->start = i;
    g->digits = d;
    g->end = e;
    g->ndigits = e - d;
    return true;
}

/* Collects groups after first that are separated by exactly one sep each.
 * Returns the number of groups, first included; stops at MAX_GROUPS + 1 so a
 * caller can tell "too many" apart. */
static size_t read_chain(const char *s, size_t n, const struct group *first, char sep,
                         struct group *groups)
{
    size_t count = 1;
    groups[0] = *first;
    while (count <= MAX_GROUPS) {
        size_t at = groups[count - 1].end;
        if (at + 1 >= n || s[at] != sep || !is_digit((unsigned char)s[at + 1]))
            break;
        if (!read_group(s, n, at + 1, &groups[count]))
            break;
        count++;
    }
    return count;
}

/* Inside "000.00.06.H56-231027-0361" or "2.000908" a digit group is preceded
 * by a separator that follows a digit; a phone never is. */
static bool code_before(const char *s, size_t start)
{
    return start >= 2 && (s[start - 1] == '.' || s[start - 1] == '-') &&
           is_digit((unsigned char)s[start - 2]);
}

/* A group followed by ".H56" or "-231027" continues a code. */
static bool code_after(const char *s, size_t n, size_t end)
{
    return end + 1 < n && (s[end] == '.' || s[end] == '-') && is_alnum((unsigned char)s[end + 1]);
}

static void emit_masked_groups(struct mbuf *b, const char *s, const struct group *groups,
                               size_t count)
{
    size_t total = 0;
    for (size_t k = 0; k < count; k++)
        total += groups[k].ndigits;
    size_t hidden = total > 2 ? total - 2 : total;
    size_t from = groups[0].start;
    size_t to = groups[count - 1].end;
    for (size_t k = from; k < to; k++) {
        unsigned char c = (unsigned char)s[k];
        if (is_digit(c) && hidden > 0) {
            mbuf_put(b, "*", 1);
            hidden--;
        } else {
            mbuf_put(b, s + k, 1);
        }
    }
}

/* The first group of a dotted phone: "0912", "091", "+84" or "84". Codes
 * start with "1.", "2.", "000." and so on, which this refuses. */
static bool dotted_phone_head(const char *s, const struct group *g)
{
    if (g->start != g->digits)
        return g->ndigits >= 2 && g->ndigits <= 5;
    if (g->ndigits == 2)
        return s[g->digits] == '8' && s[g->digits + 1] == '4';
    return s[g->digits] == '0' && g->ndigits >= 3 && g->ndigits <= 4;
}

/* "0912.345.678": taken whole or not at all, because a dotted string is one
 * token and a part of it is a code, not a phone. */
static size_t try_dotted(struct mbuf *b, const char *s, size_t n, const struct group *first)
{
    struct group groups[MAX_GROUPS + 1];
    size_t count = read_chain(s, n, first, '.', groups);
    if (count < 2 || count > MAX_GROUPS || !dotted_phone_head(s, &groups[0]))
        return 0;
    size_t total = groups[0].ndigits;
    for (size_t k = 1; k < count; k++) {
        if (groups[k].start != groups[k].digits || groups[k].ndigits < 2 || groups[k].ndigits > 4)
            return 0;
        total += groups[k].ndigits;
    }
    if (total < DOT_PHONE_MIN || total > DOT_PHONE_MAX)
        return 0;
    if (code_before(s, first->start) || code_after(s, n, groups[count - 1].end))
        return 0;
    emit_masked_groups(b, s, groups, count);
    return groups[count - 1].end;
}

/* "0912 345 678", "+84 912 345 678", "001 203 004 567": the longest run of
 * short groups that adds up to an ID or phone length. A sentence may go on
 * with another number after a single space, hence longest-prefix. */
static size_t try_spaced(struct mbuf *b, const char *s, size_t n, const struct group *first)
{
    struct group groups[MAX_GROUPS + 1];
    size_t count = read_chain(s, n, first, ' ', groups);
    if (count > MAX_GROUPS)
        count = MAX_GROUPS;
    size_t usable = 0;
    for (size_t k = 0; k < count; k++) {
        if (groups[k].ndigits < 2 || groups[k].ndigits > 6 ||
            (k > 0 && groups[k].start != groups[k].digits))
            break;
        usable++;
    }
    if (usable < 2 || code_before(s, first->start))
        return 0;
    size_t totals[MAX_GROUPS];
    size_t total = 0;
    for (size_t k = 0; k < usable; k++) {
        total += groups[k].ndigits;
        totals[k] = total;
    }
    for (size_t k = usable; k >= 2; k--) {
        if (totals[k - 1] < MASK_RUN_MIN || totals[k - 1] > MASK_RUN_MAX)
            continue;
        if (code_after(s, n, groups[k - 1].end))
            continue;
        emit_masked_groups(b, s, groups, k);
        return groups[k - 1].end;
    }
    return 0;
}

/* Handles the number starting at s[i]; returns where scanning resumes. */
static size_t mask_number(struct mbuf *b, const char *s, size_t n, size_t i)
{
    struct group g;
    if (!read_group(s, n, i, &g))
        return i;
    size_t next = 0;
    if (g.end < n && s[g.end] == '.')
        next = try_dotted(b, s, n, &g);
    else if (g.end < n && s[g.end] == ' ')
        next = try_spaced(b, s, n, &g);
    if (next)
        return next;
    if (g.ndigits >= MASK_RUN_MIN && g.ndigits <= MASK_RUN_MAX)
        emit_masked_groups(b, s, &g, 1);
    else
        mbuf_put(b, s + g.start, g.end - g.start);
    return g.end;
}

static void emit_masked_email(struct mbuf *b, const char *s, size_t local, size_t at, size_t end)
{
    mbuf_put(b, s + local, 1);
    mbuf_put(b, "***", 3);
    mbuf_put(b, s + at, end - at);
}

/* Masks s[0, n) into a new buffer; embedded NULs are kept, which is why this
 * works on lengths and lt_mask_json uses it for jansson strings. */
static char *mask_text_n(const char *s, size_t n, size_t *ret_len)
{
    struct mbuf b = {0};
    /* Bytes before this were already tried as an e-mail local part; it keeps
     * the scan linear on long tokens. */
    size_t email_tried = 0;
    size_t i = 0;
    while (i < n && !b.failed) {
        unsigned char c = (unsigned char)s[i];
        if (i >= email_tried && is_email_local(c)) {
            size_t j = i;
            while (j < n && is_email_local((unsigned char)s[j]))
                j++;
            email_tried = j;
            size_t end;
            if (j < n && s[j] == '@' && email_domain(s, n, j + 1, &end)) {
                /* "a@b.vn@c.vn": the first domain is also the next address's
                 * local part; masking only the first left the second whole
                 * (found by tests/fuzz/fuzz_mask: masking twice changed it). */
                size_t at = j, more;
                while (end < n && s[end] == '@' && email_domain(s, n, end + 1, &more)) {
                    at = end;
                    end = more;
                }
                emit_masked_email(&b, s, i, at, end);
                i = end;
                email_tried = end;
                continue;
            }
        }
        if (is_digit(c) || c == '+') {
            size_t next = mask_number(&b, s, n, i);
            if (next > i) {
                i = next;
                continue;
            }
        }
        mbuf_put(&b, s + i, 1);
        i++;
    }
    return mbuf_take(&b, ret_len);
}

char *lt_mask_text(const char *text)
{
    if (!text)
        text = "";
    return mask_text_n(text, strlen(text), NULL);
}

bool lt_mask_is_personal_field(const char *name)
{
    static const char *const personal[] = {
        "ChuHoSo",     "MaDoiTuong", "SoGiayToChuHoSo", "DinhDanhCHS", "Email",
        "SoDienThoai", "Fax",        "ThongTinKhac",    "GhiChu",
    };
    if (!name)
        return false;
    for (size_t k = 0; k < sizeof(personal) / sizeof(personal[0]); k++) {
        if (strcmp(name, personal[k]) == 0)
            return true;
    }
    return false;
}

/* How a string under a personal field is replaced. */
enum personal_kind {
    KIND_NONE,  /* not personal: lt_mask_text */
    KIND_NAME,  /* ChuHoSo: initials */
    KIND_OTHER, /* everything else: e-mail form or stars */
};

static bool is_continuation(unsigned char c)
{
    return (c & 0xC0) == 0x80;
}

/* Length in bytes of the UTF-8 character at s[i], never past n. */
static size_t utf8_char_len(const char *s, size_t n, size_t i)
{
    size_t k = i + 1;
    while (k < n && is_continuation((unsigned char)s[k]))
        k++;
    return k - i;
}

static bool is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* "Nguyễn Văn An" -> "N*** V*** A***": enough to tell two applicants apart
 * in a log, not enough to name either. */
static void mask_name(struct mbuf *b, const char *s, size_t n)
{
    size_t i = 0;
    bool first_word = true;
    while (i < n) {
        while (i < n && is_space((unsigned char)s[i]))
            i++;
        if (i >= n)
            break;
        if (!first_word)
            mbuf_put(b, " ", 1);
        first_word = false;
        size_t clen = utf8_char_len(s, n, i);
        mbuf_put(b, s + i, clen);
        mbuf_put(b, "***", 3);
        while (i < n && !is_space((unsigned char)s[i]))
            i++;
    }
}

/* True when the whole of s[0, n) is one e-mail address. */
static bool whole_email(const char *s, size_t n, size_t *ret_at)
{
    size_t j = 0;
    while (j < n && is_email_local((unsigned char)s[j]))
        j++;
    size_t end;
    if (j == 0 || j >= n || s[j] != '@' || !email_domain(s, n, j + 1, &end) || end != n)
        return false;
    *ret_at = j;
    return true;
}

/* Keeps the last two characters of a long value (enough to match it against
 * a ticket) and nothing of a short one. Counts characters, not bytes. */
static void mask_other(struct mbuf *b, const char *s, size_t n)
{
    size_t at;
    if (whole_email(s, n, &at)) {
        emit_masked_email(b, s, 0, at, n);
        return;
    }
    size_t chars = 0;
    for (size_t k = 0; k < n; k++) {
        if (!is_continuation((unsigned char)s[k]))
            chars++;
    }
    if (chars <= 4) {
        mbuf_stars(b, chars);
        return;
    }
    size_t tail = n;
    for (int kept = 0; kept < 2 && tail > 0; kept++) {
        tail--;
        while (tail > 0 && is_continuation((unsigned char)s[tail]))
            tail--;
    }
    mbuf_stars(b, chars - 2);
    mbuf_put(b, s + tail, n - tail);
}

static char *mask_string(const char *s, size_t n, enum personal_kind kind, size_t *ret_len)
{
    if (kind == KIND_NONE)
        return mask_text_n(s, n, ret_len);
    struct mbuf b = {0};
    if (kind == KIND_NAME)
        mask_name(&b, s, n);
    else
        mask_other(&b, s, n);
    return mbuf_take(&b, ret_len);
}

static int mask_json_string(json_t *value, enum personal_kind kind)
{
    size_t len;
    char *masked = mask_string(json_string_value(value), json_string_length(value), kind, &len);
    if (!masked)
        return -1;
    int rc = json_string_setn(value, masked, len);
    free(masked);
    return rc;
}

/* A vendor may send an ID or a phone as a JSON number; under a personal field
 * it becomes a masked string, because leaving it would leak the digits. */
static json_t *masked_number(json_t *value, enum personal_kind kind)
{
    json_t *out = NULL;
    char *text = json_dumps(value, JSON_ENCODE_ANY);
    if (!text)
        goto out;
    size_t len;
    char *masked = mask_string(text, strlen(text), kind, &len);
    if (!masked)
        goto out;
    out = json_stringn(masked, len);
    free(masked);
out:
    free(text);
    return out;
}

static enum personal_kind kind_for_key(const char *key, enum personal_kind inherited)
{
    if (!lt_mask_is_personal_field(key))
        return inherited;
    return strcmp(key, "ChuHoSo") == 0 ? KIND_NAME : KIND_OTHER;
}

static int mask_json_value(json_t *value, enum personal_kind kind);

/* Masks a child; numbers under personal fields need the parent to be
 * replaced, hence the setter. Returns 0 or -1. */
static int mask_child_of_object(json_t *object, const char *key, json_t *child,
                                enum personal_kind kind)
{
    if (kind != KIND_NONE && json_is_number(child)) {
        json_t *masked = masked_number(child, kind);
        if (!masked)
            return -1;
        return json_object_set_new(object, key, masked);
    }
    return mask_json_value(child, kind);
}

static int mask_child_of_array(json_t *array, size_t index, json_t *child, enum personal_kind kind)
{
    if (kind != KIND_NONE && json_is_number(child)) {
        json_t *masked = masked_number(child, kind);
        if (!masked)
            return -1;
        return json_array_set_new(array, index, masked);
    }
    return mask_json_value(child, kind);
}

/* Keeps going after a failure so that as much as possible is masked. */
static int mask_json_value(json_t *value, enum personal_kind kind)
{
    int rc = 0;
    if (json_is_string(value))
        return mask_json_string(value, kind);
    if (json_is_object(value)) {
        const char *key;
        json_t *child;
        /* Replacing the value of an existing key does not change the
         * object's key list, so plain foreach is safe here. */
        json_object_foreach(value, key, child)
        {
            if (mask_child_of_object(value, key, child, kind_for_key(key, kind)) < 0)
                rc = -1;
        }
    } else if (json_is_array(value)) {
        size_t index;
        json_t *child;
        json_array_foreach(value, index, child)
        {
            if (mask_child_of_array(value, index, child, kind) < 0)
                rc = -1;
        }
    }
    return rc;
}

int lt_mask_json(json_t *value)
{
    if (!value)
        return 0;
    return mask_json_value(value, KIND_NONE);
}
