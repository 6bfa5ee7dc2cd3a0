/* lt_catalog_int: helpers shared by the catalog's own files (lt_catalog.c,
 * the sync; lt_catalog_read.c, show and diff). Not for other modules. */
#ifndef LT_CATALOG_INT_H
#define LT_CATALOG_INT_H

#include <libpq-fe.h>
#include <stdint.h>

#include "lt_catalog.h"

/* Writes the message (and position, may be NULL) into err; returns -1. */
int lt_catalog_err_set(lt_catalog_error *err, const char *position, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Runs sql with text parameters; NULL (and err, naming what) unless the
 * result is a command or rows. */
PGresult *lt_catalog_run(PGconn *conn, const char *sql, int n, const char *const *params,
                         lt_catalog_error *err, const char *what);

/* A column as a number; NULL reads as 0. */
int64_t lt_catalog_int_at(const PGresult *r, int row, int col);

#endif
