/* lt_mapping: one engine for every dialect. A dialect file (JSON, described in
 * adapters/dialects/README.md) says how a vendor's or a portal's records
 * relate to the canonical dossier record; this module compiles it once into a
 * plan and applies the plan in either direction, so that one more vendor is a
 * mapping file, not C code. Pure: jansson only, no logging; the only I/O is
 * lt_dialect_load_file. A compiled dialect is immutable and may be shared by
 * threads. */
#ifndef LT_MAPPING_H
#define LT_MAPPING_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

/* At most this many errors are kept per record; more are counted only. */
#define LT_MAP_ERRORS_MAX 16

/* One mapping error. Both names are always filled, so a caller can answer the
 * vendor in its own vocabulary and log the canonical one. */
typedef struct {
    char vendor_path[160]; /* the dialect side, e.g. "lichSu[2].ngayXuLy" */
    char canonical[160];   /* the canonical side, e.g. "QuaTrinhXuLy[2].ThoiDiemXuLy" */
    char expected[160];    /* e.g. "dd/MM/yyyy HH:mm:ss", "a string", "one of MOI, ..." */
    char got[96];          /* the value as JSON text, masked for personal fields */
    char message[640];     /* the whole sentence, naming the source side first */
} lt_map_error;

/* The errors of one record, in the order found (like json_error_t, a plain
 * struct the caller owns, usually on the stack). */
typedef struct {
    size_t count;                          /* entries filled in items */
    size_t total;                          /* errors found; > count when some were not kept */
    lt_map_error items[LT_MAP_ERRORS_MAX]; /* the first count errors */
} lt_map_errors;

typedef struct lt_dialect lt_dialect;

/* Reads and compiles a dialect file. Returns NULL with a sentence in err that
 * names the file and the rule (e.g. "vendor-a.json: fields[4] (ngayHenTra):
 * bad date format ...") when the file cannot be read or is not a valid
 * dialect. */
lt_dialect *lt_dialect_load_file(const char *path, char *err, size_t cap)
    __attribute__((warn_unused_result));

/* Compiles a dialect from a JSON spec already in memory; source names it in
 * error messages (a file name, "test", ...). The spec is not kept. */
lt_dialect *lt_dialect_load_json(const json_t *spec, const char *source, char *err, size_t cap)
    __attribute__((warn_unused_result));

/* Frees a dialect; accepts NULL and sets *d to NULL. */
void lt_dialect_destroy(lt_dialect **d);

/* The dialect's name (its "dialect" member), borrowed. */
const char *lt_dialect_name(const lt_dialect *d);

/* Vendor record -> canonical record. Returns a new reference that shares no
 * value with the input, or NULL with errs filled (every error of the record,
 * up to LT_MAP_ERRORS_MAX; errs->total == 0 and NULL means out of memory).
 * errs is reset first and may not be NULL. */
json_t *lt_dialect_to_canonical(const lt_dialect *d, const json_t *vendor_record,
                                lt_map_errors *errs) __attribute__((warn_unused_result));

/* Canonical record -> the dialect's record (delivery to a portal or a ward).
 * now is the time of sending as yyyyMMddHHmmss, used by "fill_now" rules; the
 * caller passes it so that the engine stays pure (NULL is allowed when the
 * dialect has no such rule). Same return and error convention as above,
 * except that the result may hold references to values of canonical (the
 * members passed through as they are): both are to be read, serialised
 * and released, not changed in place (json_deep_copy the result first). */
json_t *lt_dialect_from_canonical(const lt_dialect *d, const json_t *canonical, const char *now,
                                  lt_map_errors *errs) __attribute__((warn_unused_result));

/* The contract's result for a record the dialect could not map: {"MaHoSo":
 * "", "result": "rejected", "code": 422, "field", "path", "message",
 * "errors"}, in the vendor's own field names. m must hold an error. New
 * reference, NULL when out of memory. */
json_t *lt_map_rejection(const lt_map_errors *m) __attribute__((warn_unused_result));

/* The outbound filter: false when the dialect's "filter" says this portal
 * does not take the record (its procedure is listed and its status is not
 * among those allowed for it), true otherwise. Reads MaTTHC and
 * TrangThaiHoSo of a canonical record. */
bool lt_dialect_accepts(const lt_dialect *d, const json_t *canonical);

/* True when the dialect may be used in that direction ("directions"). */
bool lt_dialect_can_to_canonical(const lt_dialect *d);
bool lt_dialect_can_from_canonical(const lt_dialect *d);

#endif
