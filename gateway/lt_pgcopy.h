/* lt_pgcopy: rows for COPY ... FROM STDIN (FORMAT binary), encoded into a
 * buffer and sent to the server in pieces. See lt_pgcopy.c for why binary
 * and why pieces of this size. */
#ifndef LT_PGCOPY_H
#define LT_PGCOPY_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

/* Callers send when this much is pending (see lt_pgcopy.c). */
#define LT_PGCOPY_CHUNK (64 * 1024)

typedef struct lt_pgcopy lt_pgcopy;

/* NULL when out of memory. */
lt_pgcopy *lt_pgcopy_create(void);
void lt_pgcopy_destroy(lt_pgcopy **self_p);

/* Every encoder returns 0, or -1 when out of memory (nothing appended). */

/* The file header: first, once per COPY. */
__attribute__((warn_unused_result)) int lt_pgcopy_header(lt_pgcopy *self);
/* A tuple of `fields` fields; the fields follow. */
__attribute__((warn_unused_result)) int lt_pgcopy_tuple(lt_pgcopy *self, uint16_t fields);
/* A field of n bytes as they are (bytea, or text without a terminator);
 * s NULL: SQL NULL. */
__attribute__((warn_unused_result)) int lt_pgcopy_field(lt_pgcopy *self, const void *s, size_t n);
/* A text field; NULL: SQL NULL. */
__attribute__((warn_unused_result)) int lt_pgcopy_text(lt_pgcopy *self, const char *s);
__attribute__((warn_unused_result)) int lt_pgcopy_int8(lt_pgcopy *self, int64_t v);
/* A one-dimensional smallint[] without NULLs. */
__attribute__((warn_unused_result)) int lt_pgcopy_int2_array(lt_pgcopy *self, const int *v,
                                                             size_t n);
/* A jsonb field from its text (n bytes). */
__attribute__((warn_unused_result)) int lt_pgcopy_jsonb(lt_pgcopy *self, const char *s, size_t n);
/* The file trailer: last, once per COPY. */
__attribute__((warn_unused_result)) int lt_pgcopy_trailer(lt_pgcopy *self);

/* Bytes encoded and not sent yet. */
size_t lt_pgcopy_pending(const lt_pgcopy *self);
/* Forgets what is pending (a COPY being aborted). */
void lt_pgcopy_discard(lt_pgcopy *self);

/* PQputCopyData of everything pending: 0, or -1 (PQerrorMessage(conn)
 * says why). */
__attribute__((warn_unused_result)) int lt_pgcopy_send(lt_pgcopy *self, PGconn *conn);
/* The bytes pending, for tests. */
const char *lt_pgcopy_data(const lt_pgcopy *self);

#endif
