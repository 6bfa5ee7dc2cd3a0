/* lt_procedure: one procedure record of the national catalog (CSDLQG TTHC,
 * the detail call's shape with upper-case keys, DOMAIN.md "The procedure
 * record"), normalized and hashed. Pure functions over jansson values: no
 * libpq, no logging, so the file import, the national API source and the
 * fuzzers share one definition of "the same procedure". */
#ifndef LT_PROCEDURE_H
#define LT_PROCEDURE_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#define LT_PROCEDURE_HASH_BYTES 32 /* SHA-256 */
#define LT_PROCEDURE_MAX_LEVELS 4  /* CAPTHUCHIEN 0..3 */

/* Why a record was refused, in the shape json_error_t has: where (a JSON
 * path relative to the record, e.g. "CAPTHUCHIEN[1].CAPTHUCHIEN"; "" for the
 * record itself), which key, what was expected and what came. Values in
 * `got` are abbreviated; procedure records carry no personal data. */
typedef struct lt_procedure_error {
    char path[256];     /* JSON path relative to the record */
    char field[64];     /* last key of path ("" for the record itself) */
    char expected[128]; /* e.g. "a level 0, 1, 2 or 3" */
    char got[128];      /* e.g. "\"4\"", "a number 4", "null", "an object" */
} lt_procedure_error;

/* A normalized procedure: the record (every string-valued key a string,
 * every list an array, unknown keys kept as they came), its canonical bytes,
 * their SHA-256 and the columns the procedures table keeps. */
typedef struct lt_procedure lt_procedure;

/* Normalizes record (borrowed, not modified). Rules:
 *   - the record is an object; MATTHC and TENTTHC are present, non-empty
 *     strings (a number is refused for them: 1.003560 as a JSON number has
 *     already lost its trailing zero);
 *   - the keys DOMAIN.md says travel as strings (TRANGTHAI, LOAITTHC,
 *     CAPTHUCHIEN, KENH, THOIGIANGIAIQUYET, SOTIEN, MAPHILEPHI, MALINHVUC,
 *     MADONVI, MAKETQUA, DONVITINH...) may come as JSON numbers and become
 *     their shortest decimal text; null becomes ""; true/false, objects and
 *     arrays there are errors;
 *   - the list keys (CAPTHUCHIEN, LINHVUCTHUCHIEN, COQUANTHUCHIEN,
 *     CACHTHUCTHUCHIEN with THOIGIAN and PHILEPHI, THANHPHANHOSO,
 *     KETQUATHUCHIEN, CANCUPHAPLY, TRINHTUTHUCHIEN, DOITUONGTHUCHIEN) are
 *     arrays (null becomes []); the entries of the structured ones are
 *     objects;
 *   - CAPTHUCHIEN[].CAPTHUCHIEN is a level "0".."3"; KENH is "1".."3";
 *     THOIGIANGIAIQUYET and SOTIEN are non-negative decimals or "";
 *   - a missing TRANGTHAI is read as "" (not published): a procedure is
 *     published only when the catalog says "1".
 * Returns a new lt_procedure, or NULL with *err filled (err may be NULL);
 * NULL with err->expected "memory" when out of memory. */
lt_procedure *lt_procedure_normalize(const json_t *record, lt_procedure_error *err)
    __attribute__((warn_unused_result));
/* The same, but normalizes record itself instead of a copy (the copy is a
 * tenth of a bulk sync's CPU): for a caller that parsed the record only to
 * normalize it. The lt_procedure takes its own reference; afterwards record
 * holds the normalized form, or, on failure, a partly normalized one. */
lt_procedure *lt_procedure_normalize_inplace(json_t *record, lt_procedure_error *err)
    __attribute__((warn_unused_result));
/* The same normalized procedure straight from a record's JSON text (bytes,
 * len: one object, as a catalog export holds it), for bulk syncs: one pass
 * over the bytes, no jansson tree. It vouches only for what it can
 * reproduce exactly and answers NULL for everything else, meaning "take the
 * general path": json_loadb(JSON_REJECT_DUPLICATES), then
 * lt_procedure_normalize_inplace, which gives the result or the error. NULL
 * comes for bytes that are not JSON or break a rule, and for what this path
 * leaves to jansson: real numbers, integers of 19 digits or more, escapes
 * in keys or in levels, channels and decimals, nesting deeper than 64 (and
 * when out of memory). A procedure it returns is byte for byte the one the
 * general path makes (canonical text, hash, columns), except that
 * lt_procedure_record() of it is NULL. */
lt_procedure *lt_procedure_from_bytes(const char *bytes, size_t len)
    __attribute__((warn_unused_result));
void lt_procedure_destroy(lt_procedure **self_p);

/* The normalized record (borrowed; json_incref to keep it); NULL for a
 * procedure made by lt_procedure_from_bytes. */
const json_t *lt_procedure_record(const lt_procedure *self);
/* json_dumps(record, JSON_SORT_KEYS | JSON_COMPACT): what the hash covers. */
const char *lt_procedure_canonical(const lt_procedure *self);
size_t lt_procedure_canonical_len(const lt_procedure *self);
/* SHA-256 of the canonical bytes, LT_PROCEDURE_HASH_BYTES long. */
const unsigned char *lt_procedure_hash(const lt_procedure *self);

/* Columns. Every string is borrowed from self. */
const char *lt_procedure_code(const lt_procedure *self);      /* MATTHC */
const char *lt_procedure_base_code(const lt_procedure *self); /* d.dddddd, or the code */
const char *lt_procedure_name(const lt_procedure *self);      /* TENTTHC */
const char *lt_procedure_status(const lt_procedure *self);    /* TRANGTHAI, "" when absent */
bool lt_procedure_published(const lt_procedure *self);        /* TRANGTHAI == "1" */
/* First LINHVUCTHUCHIEN[].MALINHVUC that is non-empty, or NULL. */
const char *lt_procedure_field_code(const lt_procedure *self);
/* Distinct levels from CAPTHUCHIEN[], ascending; returns how many (0..4)
 * and points *ret_levels at them. */
size_t lt_procedure_levels(const lt_procedure *self, const int **ret_levels);

/* The national base code of a procedure code: "1.003560" for
 * "1.003560.000.00.00.H56" and "2.002621.H56", the code itself for
 * "2.000908" and for any code that does not start with d.dddddd followed by
 * the end or a dot. Writes into buf; returns 0, or -1 when it does not fit. */
int lt_procedure_base_of(const char *code, char *buf, size_t cap)
    __attribute__((warn_unused_result));

/* A province's local variant (a procedure_overlays row). */
typedef struct lt_procedure_overlay {
    bool has_time_limit;   /* time_limit is set */
    double time_limit;     /* > 0, in time_limit_unit */
    const char *time_unit; /* "working_day", "day" or "hour" */
    const json_t *fees;    /* array in PHILEPHI's shape, or NULL = the catalog's */
} lt_procedure_overlay;

/* Applies an overlay to a normalized record, on read (the stored record is
 * never changed, so re-syncs never lose a local decision). Returns a new
 * record (caller's), or NULL when out of memory. How:
 *   - time limit: every CACHTHUCTHUCHIEN[].THOIGIAN[] entry whose time is
 *     longer than the overlay's (or missing, or not a number) gets the
 *     overlay's THOIGIANGIAIQUYET and DONVITINH ("Ngày làm việc", "Ngày",
 *     "Giờ"); times are compared in hours, a working day being 8 working
 *     hours (DOMAIN.md) and a day 24 hours; a catalog time already shorter
 *     is kept (an overlay only ever shortens);
 *   - fees: every CACHTHUCTHUCHIEN[] entry's PHILEPHI becomes a copy of the
 *     overlay's fees (the same local fees on every channel).
 * *ret_applied (may be NULL) receives a new array of what changed:
 * {"path", "from", "to"} per replaced value. */
json_t *lt_procedure_apply_overlay(const json_t *record, const lt_procedure_overlay *overlay,
                                   json_t **ret_applied) __attribute__((warn_unused_result));

#endif
