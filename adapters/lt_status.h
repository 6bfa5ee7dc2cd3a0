/* lt_status: the dossier status machine and the recency rule, as data and
 * pure functions over jansson values (no I/O), so the writer, `check` and the
 * tests all judge a pushed record the same way.
 *
 * The rule (DOMAIN.md, Status; DESIGN.md, "Dossier sync is state-based"):
 * a pushed record is compared with the stored current record of its dossier,
 * recency first and whatever the status: same canonical content = duplicate,
 * older = stale; newer (or a correction at the same point) meets the status
 * machine, where every move is legal except leaving a terminal state
 * (3, 7, 8, 10). README.md, "How a pushed record is judged", explains it for
 * operators. */
#ifndef LT_STATUS_H
#define LT_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

/* Status codes run 1..10 (TrangThaiHoSo). */
#define LT_STATUS_MIN 1
#define LT_STATUS_MAX 10

/* One row of the status table. */
typedef struct lt_status_info {
    int code;          /* TrangThaiHoSo, 1..10 */
    const char *label; /* the national label, Vietnamese (UTF-8) */
    bool terminal;     /* nothing may follow it: a move out of it is refused */
} lt_status_info;

/* The status table row of code, or NULL when code is not a status. */
const lt_status_info *lt_status_get(int code);

/* Label of code, or "?" when code is not a status; never NULL. */
const char *lt_status_label(int code);

/* Parses a TrangThaiHoSo value: a JSON string "1".."10" written without
 * sign, spaces or leading zeros. Returns the code, or 0 when value is not
 * such a string (NULL included). */
int lt_status_parse(const json_t *value);

/* A move between two statuses. */
typedef struct lt_status_move {
    int from; /* status of the stored record */
    int to;   /* status of the incoming record */
} lt_status_move;

/* The transitions DOMAIN.md lists as seen in practice (1→2, 4→5→4, ...),
 * kept as data for documentation and tests: the rule below accepts every one
 * of them, and more. *ret_count receives the number of entries. */
const lt_status_move *lt_status_seen_moves(size_t *ret_count);

/* Whether a dossier stored at status from may take status to. from == 0
 * means "no stored record" (the first record the gateway sees may carry any
 * status). A move to the same status is legal, terminal ones included
 * (staying is not leaving: a later step or a correction of a closed
 * dossier). Refused: a move out of a terminal status to another one, and
 * unknown codes. When refused and reason is not NULL, a sentence naming both
 * codes is written there. */
bool lt_status_move_legal(int from, int to, char *reason, size_t cap);

/* How recent a record is, read from the record itself. */
typedef struct lt_status_recency {
    /* Latest of QuaTrinhXuLy[].ThoiDiemXuLy, NgayTiepNhan, NgayKetThucXuLy,
     * NgayTra and NgayTuChoi as yyyyMMddHHmmss, "" when the record has none.
     * Fixed width, so string order is time order. */
    char latest[15];
    size_t history_len; /* number of QuaTrinhXuLy entries: breaks ties */
} lt_status_recency;

/* Computes record's recency key. Values that are not 14-digit strings ("" =
 * unknown, or anything the validator would have refused) are ignored. A
 * record that is not an object has the empty key. */
void lt_status_recency_of(const json_t *record, lt_status_recency *ret_key);

/* <0, 0, >0 as a is older than, as recent as, newer than b. A key without
 * any date is older than every key with one. */
int lt_status_recency_cmp(const lt_status_recency *a, const lt_status_recency *b);

/* The canonical text of a record: json_dumps with sorted keys, compact. Two
 * records have the same content exactly when these texts are byte-equal.
 * Caller frees; NULL when out of memory or record is NULL. */
char *lt_status_canonical(const json_t *record) __attribute__((warn_unused_result));

/* What becomes of a pushed record. */
typedef enum {
    LT_JUDGE_ACCEPT,    /* newer, or a correction at the same point: store it */
    LT_JUDGE_DUPLICATE, /* same canonical content as the stored record */
    LT_JUDGE_STALE,     /* older than the stored record */
    LT_JUDGE_ILLEGAL,   /* newer, but the status move is refused (409) */
} lt_judge_verdict;

/* The verdict and why. */
typedef struct lt_status_judgement {
    lt_judge_verdict verdict;
    int from;         /* stored status; 0 without a stored record or when unread */
    int to;           /* incoming status; 0 when unread (a duplicate or stale record) */
    bool correction;  /* ACCEPT/ILLEGAL at the same recency key, different content */
    char reason[192]; /* one sentence for operators and the 409/error message */
} lt_status_judgement;

/* Judges incoming against stored (NULL when the dossier is new). Duplicate
 * and stale are decided before the status is read, so a stale record that
 * would also be an illegal move is stale. Returns 0 with *ret filled, or -1
 * (ret->reason says why) when a status that must be read is not a status
 * code, a record is not an object, or memory runs out. */
int lt_status_judge(const json_t *stored, const json_t *incoming, lt_status_judgement *ret)
    __attribute__((warn_unused_result));

/* What the database keeps of a dossier's current record: enough to judge a
 * push without reading the record back (DESIGN.md's rule needs only these). */
typedef struct lt_status_stored {
    int status;                /* TrangThaiHoSo of the stored record */
    lt_status_recency recency; /* its recency key */
    bool same_content;         /* the caller found the incoming content equal (hashes) */
} lt_status_stored;

/* lt_status_judge against a stored summary (NULL when the dossier is new).
 * Same verdicts, same order, same return convention. */
int lt_status_judge_stored(const lt_status_stored *stored, const json_t *incoming,
                           lt_status_judgement *ret) __attribute__((warn_unused_result));

/* "accepted", "duplicate", "stale" or "rejected": the result word of the
 * HTTP contract for a verdict. */
const char *lt_status_verdict_name(lt_judge_verdict verdict);

#endif
