/* lt_status: there is no official table of dossier status transitions, and
 * ward systems push whole records in any order, so the gateway needs one
 * place that decides (a) whether a pushed record is a repeat, an old record
 * arriving late, or news, and (b) whether news may follow the stored status.
 * Both decisions live here as data plus two small functions, so the rule is
 * read in one table instead of scattered `if`s, and the writer, the offline
 * `check` command and the tests cannot disagree. */
#include "lt_status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The national status list (DOMAIN.md, Status). Terminal statuses end a
 * dossier's processing: refused at reception, withdrawn, stopped, handed
 * over. Indexed by code - 1. */
static const lt_status_info status_table[LT_STATUS_MAX] = {
    {1, "Mới đăng ký", false},
    {2, "Được tiếp nhận", false},
    {3, "Không được tiếp nhận", true},
    {4, "Đang xử lý", false},
    {5, "Yêu cầu bổ sung giấy tờ", false},
    {6, "Yêu cầu thực hiện nghĩa vụ tài chính", false},
    {7, "Công dân yêu cầu rút hồ sơ", true},
    {8, "Dừng xử lý", true},
    {9, "Đã xử lý xong", false},
    {10, "Đã trả kết quả", true},
};

/* Transitions seen in practice (DOMAIN.md): 1→2|3, 2→4 (or 2→9 the same
 * day), 4→5→4, 4→6→4, 4→8, {1,2,4,5,6}→7, 4→9→10, and 5→2 after a completed
 * supplement. Documentation and test data only: the rule in
 * lt_status_move_legal is wider (skipping forward is common). */
static const lt_status_move seen_moves[] = {
    {1, 2}, {1, 3}, {2, 4}, {2, 9}, {4, 5}, {5, 4}, {4, 6},  {6, 4}, {4, 8},
    {1, 7}, {2, 7}, {4, 7}, {5, 7}, {6, 7}, {4, 9}, {9, 10}, {5, 2},
};

/* The status dates that move a record forward in time, besides its history
 * entries (DESIGN.md). NgayNopHoSo and NgayHenTra are not among them: the
 * first never changes, the second is a promise, not an event. */
static const char *const recency_fields[] = {"NgayTiepNhan", "NgayKetThucXuLy", "NgayTra",
                                             "NgayTuChoi"};

const lt_status_info *lt_status_get(int code)
{
    if (code < LT_STATUS_MIN || code > LT_STATUS_MAX)
        return NULL;
    return &status_table[code - 1];
}

const char *lt_status_label(int code)
{
    const lt_status_info *s = lt_status_get(code);
    return s ? s->label : "?";
}

int lt_status_parse(const json_t *value)
{
    if (!json_is_string(value))
        return 0;
    const char *s = json_string_value(value);
    size_t n = json_string_length(value);
    /* Exactly the ten spellings "1".."10": no sign, blank or leading zero,
     * which strtol would let through. */
    if (n == 0 || n > 2 || s[0] < '1' || s[0] > '9')
        return 0;
    if (n == 1)
        return s[0] - '0';
    return (s[0] == '1' && s[1] == '0') ? 10 : 0;
}

const lt_status_move *lt_status_seen_moves(size_t *ret_count)
{
    *ret_count = sizeof(seen_moves) / sizeof(seen_moves[0]);
    return seen_moves;
}

bool lt_status_move_legal(int from, int to, char *reason, size_t cap)
{
    const lt_status_info *t = lt_status_get(to);
    if (!t) {
        if (reason)
            snprintf(reason, cap, "%d is not a status code (1..10)", to);
        return false;
    }
    if (from == 0)
        return true; /* first record of the dossier: wards join mid-way */
    const lt_status_info *f = lt_status_get(from);
    if (!f) {
        if (reason)
            snprintf(reason, cap, "stored status %d is not a status code (1..10)", from);
        return false;
    }
    if (f->terminal && from != to) {
        if (reason)
            snprintf(reason, cap,
                     "illegal status move %d → %d: %d (%s) is terminal and cannot be left for "
                     "%d (%s)",
                     from, to, from, f->label, to, t->label);
        return false;
    }
    return true;
}

/* True when s is 14 ASCII digits: the only shape whose string order is time
 * order. */
static bool is_stamp(const char *s)
{
    size_t i = 0;
    for (; s[i]; i++)
        if (i >= 14 || s[i] < '0' || s[i] > '9')
            return false;
    return i == 14;
}

static void consider(lt_status_recency *key, const json_t *value)
{
    if (!json_is_string(value))
        return;
    const char *s = json_string_value(value);
    if (is_stamp(s) && strcmp(s, key->latest) > 0)
        memcpy(key->latest, s, 15);
}

void lt_status_recency_of(const json_t *record, lt_status_recency *ret_key)
{
    memset(ret_key, 0, sizeof(*ret_key));
    if (!json_is_object(record))
        return;
    for (size_t i = 0; i < sizeof(recency_fields) / sizeof(recency_fields[0]); i++)
        consider(ret_key, json_object_get(record, recency_fields[i]));
    const json_t *hist = json_object_get(record, "QuaTrinhXuLy");
    if (!json_is_array(hist))
        return;
    ret_key->history_len = json_array_size(hist);
    for (size_t i = 0; i < ret_key->history_len; i++)
        consider(ret_key, json_object_get(json_array_get(hist, i), "ThoiDiemXuLy"));
}

int lt_status_recency_cmp(const lt_status_recency *a, const lt_status_recency *b)
{
    /* "" sorts before every stamp, which is what "no date" must mean. */
    int c = strcmp(a->latest, b->latest);
    if (c != 0)
        return c < 0 ? -1 : 1;
    if (a->history_len != b->history_len)
        return a->history_len < b->history_len ? -1 : 1;
    return 0;
}

char *lt_status_canonical(const json_t *record)
{
    if (!record)
        return NULL;
    return json_dumps(record, JSON_SORT_KEYS | JSON_COMPACT);
}

const char *lt_status_verdict_name(lt_judge_verdict verdict)
{
    switch (verdict) {
    case LT_JUDGE_ACCEPT:
        return "accepted";
    case LT_JUDGE_DUPLICATE:
        return "duplicate";
    case LT_JUDGE_STALE:
        return "stale";
    case LT_JUDGE_ILLEGAL:
        break;
    }
    return "rejected";
}

/* Reads TrangThaiHoSo of rec into *ret_code; -1 with a reason otherwise. */
static int read_status(const json_t *rec, const char *which, int *ret_code,
                       lt_status_judgement *ret)
{
    int code = lt_status_parse(json_object_get(rec, "TrangThaiHoSo"));
    if (code == 0) {
        snprintf(ret->reason, sizeof(ret->reason),
                 "the %s record's TrangThaiHoSo is not a status code \"1\"..\"10\"", which);
        return -1;
    }
    *ret_code = code;
    return 0;
}

int lt_status_judge_stored(const lt_status_stored *stored, const json_t *incoming,
                           lt_status_judgement *ret)
{
    memset(ret, 0, sizeof(*ret));
    if (!json_is_object(incoming)) {
        snprintf(ret->reason, sizeof(ret->reason), "a dossier record must be a JSON object");
        return -1;
    }
    if (!stored) {
        /* The first record of a dossier may carry any status. */
        if (read_status(incoming, "incoming", &ret->to, ret) < 0)
            return -1;
        ret->verdict = LT_JUDGE_ACCEPT;
        snprintf(ret->reason, sizeof(ret->reason), "first record of the dossier");
        return 0;
    }

    /* Recency first, whatever the status: a repeat or a late arrival is
     * answered without looking at the status machine. */
    if (stored->same_content) {
        ret->verdict = LT_JUDGE_DUPLICATE;
        snprintf(ret->reason, sizeof(ret->reason), "same content as the stored record");
        return 0;
    }
    const lt_status_recency *ks = &stored->recency;
    lt_status_recency ki;
    lt_status_recency_of(incoming, &ki);
    int cmp = lt_status_recency_cmp(&ki, ks);
    if (cmp < 0) {
        ret->verdict = LT_JUDGE_STALE;
        snprintf(ret->reason, sizeof(ret->reason),
                 "older than the stored record (latest time %s, %zu history entries; stored %s, "
                 "%zu)",
                 ki.latest[0] ? ki.latest : "none", ki.history_len,
                 ks->latest[0] ? ks->latest : "none", ks->history_len);
        return 0;
    }
    ret->correction = cmp == 0;

    if (!lt_status_get(stored->status)) {
        snprintf(ret->reason, sizeof(ret->reason),
                 "the stored record's TrangThaiHoSo is not a status code \"1\"..\"10\"");
        return -1;
    }
    ret->from = stored->status;
    if (read_status(incoming, "incoming", &ret->to, ret) < 0)
        return -1;
    if (!lt_status_move_legal(ret->from, ret->to, ret->reason, sizeof(ret->reason))) {
        ret->verdict = LT_JUDGE_ILLEGAL;
        return 0;
    }
    ret->verdict = LT_JUDGE_ACCEPT;
    snprintf(ret->reason, sizeof(ret->reason), "%s, status %d → %d",
             ret->correction ? "correction at the same point" : "newer than the stored record",
             ret->from, ret->to);
    return 0;
}

int lt_status_judge(const json_t *stored, const json_t *incoming, lt_status_judgement *ret)
{
    memset(ret, 0, sizeof(*ret));
    if (!json_is_object(incoming) || (stored && !json_is_object(stored))) {
        snprintf(ret->reason, sizeof(ret->reason), "a dossier record must be a JSON object");
        return -1;
    }
    if (!stored)
        return lt_status_judge_stored(NULL, incoming, ret);
    char *a = lt_status_canonical(stored);
    char *b = lt_status_canonical(incoming);
    if (!a || !b) {
        free(a);
        free(b);
        snprintf(ret->reason, sizeof(ret->reason), "out of memory");
        return -1;
    }
    lt_status_stored st = {.same_content = strcmp(a, b) == 0};
    free(a);
    free(b);
    lt_status_recency_of(stored, &st.recency);
    if (!st.same_content && read_status(stored, "stored", &st.status, ret) < 0) {
        /* Recency still decides first: a stale record is stale whatever
         * the stored status says. */
        lt_status_recency ki;
        lt_status_recency_of(incoming, &ki);
        if (lt_status_recency_cmp(&ki, &st.recency) >= 0)
            return -1;
        st.status = LT_STATUS_MIN;
    }
    return lt_status_judge_stored(&st, incoming, ret);
}
