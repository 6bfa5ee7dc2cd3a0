/* lt_migrate: the schema as plain SQL files schemas/sql/NNNN_name.sql,
 * applied once each, in order, each in its own transaction, recorded with a
 * checksum in schema_migrations. A session advisory lock makes concurrent
 * starts safe: the second process waits, then finds nothing to do. An
 * applied file whose checksum changed is an error: migrations are never
 * edited, a new one is added. */
#ifndef LT_MIGRATE_H
#define LT_MIGRATE_H

#include <stddef.h>
#include <libpq-fe.h>

typedef struct lt_migrations lt_migrations;

/* Reads every NNNN_name.sql in dir into memory. Returns NULL with err set
 * when the directory cannot be read, a name is malformed or a version is
 * repeated. */
lt_migrations *lt_migrations_load(const char *dir, char *err, size_t cap)
    __attribute__((warn_unused_result));
void lt_migrations_destroy(lt_migrations **self_p);
size_t lt_migrations_count(const lt_migrations *self);
/* "0001_init" style name of the i-th migration, in order. Borrowed. */
const char *lt_migrations_name(const lt_migrations *self, size_t i);

/* How far a database is. */
typedef struct lt_migrate_state {
    int known;   /* migrations this binary has */
    int applied; /* of those, applied in the database */
    int foreign; /* applied versions this binary does not know (a newer binary ran) */
    int latest;  /* highest applied version, 0 when none */
} lt_migrate_state;

/* Reads the state without changing anything (a missing table means nothing
 * applied). Returns 0, or -1 with err (checksum mismatch included). */
int lt_migrate_check(PGconn *conn, const lt_migrations *m, lt_migrate_state *ret_state, char *err,
                     size_t cap) __attribute__((warn_unused_result));

/* Applies what is missing. *ret_applied (may be NULL) receives how many were
 * applied now. Returns 0, or -1 with err naming the failing file; earlier
 * files stay applied, the failing one leaves no trace. */
int lt_migrate_apply(PGconn *conn, const lt_migrations *m, int *ret_applied, char *err, size_t cap)
    __attribute__((warn_unused_result));

/* The state of a check result as one line, for readiness answers. */
void lt_migrate_describe(const lt_migrate_state *st, char *buf, size_t cap);

#endif
