/* lt_mask: hide personal data before it leaves the gateway in a log line or a
 * reader's view. Pure functions over text and jansson values, no I/O, so the
 * logger, the HTTP layer and the fuzzers can all call them. */
#ifndef LT_MASK_H
#define LT_MASK_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

/* Returns a newly allocated copy of text (caller frees) in which citizen ID
 * numbers (runs of 9 or 12 digits, and any run of 9 to 12 digits), phone
 * numbers (with +84, spaces or dots between groups) and e-mail addresses are
 * masked. Longer digit runs (timestamps such as 20241031143000) and dossier
 * or procedure codes are left as they are. NULL only when out of memory. */
char *lt_mask_text(const char *text) __attribute__((warn_unused_result));

/* True when name is a field DOMAIN.md marks as personal data (ChuHoSo,
 * MaDoiTuong, SoGiayToChuHoSo, DinhDanhCHS, Email, SoDienThoai, Fax,
 * ThongTinKhac, GhiChu). Comparison is exact: field names are case-sensitive. */
bool lt_mask_is_personal_field(const char *name);

/* Masks value in place: every string under a personal field (at any depth,
 * arrays included) is replaced by a masked form that keeps the shape (length
 * class, first letter of a name, e-mail domain) but not the content; every
 * other string goes through lt_mask_text. Returns 0, or -1 when out of memory
 * (value may then be partly masked, never less masked than before). */
int lt_mask_json(json_t *value) __attribute__((warn_unused_result));

#endif
