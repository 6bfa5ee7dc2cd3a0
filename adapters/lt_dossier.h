/* lt_dossier: the canonical dossier record (DOMAIN.md, "The dossier record"):
 * decoding a request body into records and validating each record against
 * every rule that needs neither the catalog nor the unit tree. Pure functions
 * over bytes and jansson values (no libpq, no ZeroMQ, no logging), so the HTTP
 * front, the ZeroMQ ingress, `lienthong check` and the fuzzers share them. */
#ifndef LT_DOSSIER_H
#define LT_DOSSIER_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

/* DESIGN.md: at most 1,000 records per array; 1,001 is 413 for the request. */
#define LT_DOSSIER_MAX_RECORDS 1000
/* Deepest nesting of arrays and objects in a request (a record in an array
 * with history entries is 4 deep); deeper input is an attack, not a dossier. */
#define LT_DOSSIER_MAX_DEPTH 32
/* Errors kept per record; the rest are counted, not stored. */
#define LT_VERRORS_MAX 64

/* Why a request body as a whole was refused. */
typedef enum {
    LT_DOSSIER_OK = 0,
    LT_DOSSIER_ENOTJSON = -1,   /* not JSON, or trailing garbage (400 malformed) */
    LT_DOSSIER_EUTF8 = -2,      /* invalid UTF-8 anywhere in the bytes (400 malformed) */
    LT_DOSSIER_ESURROGATE = -3, /* a lone \uD800-\uDFFF escape (400 malformed) */
    LT_DOSSIER_ESHAPE = -4,     /* top level neither an object nor an array (400) */
    LT_DOSSIER_EDEPTH = -5,     /* nested deeper than the depth limit (400) */
    LT_DOSSIER_EDUPKEY = -6,    /* an object with the same key twice (400 malformed) */
    LT_DOSSIER_ETOOMANY = -7,   /* an array of more records than the limit (413) */
    LT_DOSSIER_ENOMEM = -8,     /* out of memory (500) */
} lt_dossier_rc;

/* What lt_dossier_decode says about a refused body; filled on failure. */
typedef struct {
    lt_dossier_rc rc;  /* the reason, one of the above */
    size_t offset;     /* byte offset of the fault when known, else 0 */
    char message[200]; /* a sentence for the sender, e.g. "invalid UTF-8 at byte 17" */
} lt_dossier_error;

/* Decodes a request body: one record (a JSON object) or an array of them.
 * On success *ret_records is a new array (caller decrefs) holding the
 * records in order, and *ret_single is true when the body was one object.
 * Array elements that are not objects are kept: lt_dossier_validate rejects
 * each of them on its own, so one bad element does not sink a batch.
 * Duplicate keys are refused (JSON_REJECT_DUPLICATES): which of two
 * NgayHenTra values a sender meant cannot be known, and silently keeping the
 * last would store something the sender may not have meant.
 * Returns LT_DOSSIER_OK or a negative lt_dossier_rc, with err filled and the
 * out-parameters untouched. */
int lt_dossier_decode(const char *bytes, size_t len, json_t **ret_records, bool *ret_single,
                      lt_dossier_error *err) __attribute__((warn_unused_result));

/* The limits of one decode; the gateway's come from its configuration
 * (limits.depth, limits.records), lt_dossier_decode uses the defaults
 * above. A value of 0 means the default. */
typedef struct {
    int max_depth;      /* deepest nesting of arrays and objects */
    size_t max_records; /* elements of a top-level array */
} lt_dossier_limits;

/* lt_dossier_decode under the given limits (NULL: the defaults). */
int lt_dossier_decode_limited(const char *bytes, size_t len, const lt_dossier_limits *limits,
                              json_t **ret_records, bool *ret_single, lt_dossier_error *err)
    __attribute__((warn_unused_result));

/* The HTTP status for a decode result: 400, 413 or 500 (200 for OK). */
int lt_dossier_rc_status(int rc);

/* The contract's error code for a decode result: "malformed", "too_large"
 * or "internal" (DESIGN.md, "Contract: HTTP"). */
const char *lt_dossier_rc_code(int rc);

/* The errors of one record, collected in order (bounded, LT_VERRORS_MAX). */
typedef struct lt_verrors lt_verrors;

lt_verrors *lt_verrors_new(void) __attribute__((warn_unused_result));
void lt_verrors_destroy(lt_verrors **self);
/* Forgets every error so the list can serve the next record. */
void lt_verrors_clear(lt_verrors *self);
/* Errors stored (at most LT_VERRORS_MAX). */
size_t lt_verrors_count(const lt_verrors *self);
/* Errors found, stored or not. */
size_t lt_verrors_found(const lt_verrors *self);
/* Borrowed strings of error i (< count), valid until clear or destroy:
 * field   the field's name ("ThoiDiemXuLy"; "" for the record itself),
 * path    where it is ("QuaTrinhXuLy[2].ThoiDiemXuLy"; "" for the record),
 * expected what the rule wants ("yyyyMMddHHmmss"),
 * got     what came, as JSON text, masked (lt_mask) and cut to 80
 *         characters; "nothing" when the field is absent,
 * message "field NgayHenTra: expected yyyyMMddHHmmss, got \"31/10/2024\"". */
const char *lt_verrors_field(const lt_verrors *self, size_t i);
const char *lt_verrors_path(const lt_verrors *self, size_t i);
const char *lt_verrors_expected(const lt_verrors *self, size_t i);
const char *lt_verrors_got(const lt_verrors *self, size_t i);
const char *lt_verrors_message(const lt_verrors *self, size_t i);

/* Validates one record (any JSON value: a non-object is one error) against
 * every rule of DOMAIN.md that needs no catalog or unit tree, appending each
 * error found to errs (which is not cleared first). Unknown extra fields are
 * allowed and not checked. Returns 0 when the record is valid, 1 when it
 * broke a rule, -1 when out of memory (errs then incomplete). */
int lt_dossier_validate(const json_t *record, lt_verrors *errs) __attribute__((warn_unused_result));

/* The contract's result for a rejected record (DESIGN.md, "Contract: HTTP"):
 * {"MaHoSo", "result": "rejected", "code": 422, "field", "path", "message",
 *  "errors": [{"field", "path", "expected", "got"}]}, field/path/message
 * repeating the first error; MaHoSo is "" when the record has no string one.
 * errs must hold at least one error. New reference, NULL when out of memory. */
json_t *lt_dossier_rejection(const json_t *record, const lt_verrors *errs)
    __attribute__((warn_unused_result));

/* The record's dossier code, or "" when it has none that is a string.
 * Borrowed from record. */
const char *lt_dossier_code(const json_t *record);

/* Canonical text of a value: keys sorted, compact, UTF-8 as is, so two
 * records with the same content compare equal byte for byte. Caller frees;
 * NULL when out of memory. */
char *lt_dossier_canonical(const json_t *record) __attribute__((warn_unused_result));

#endif
