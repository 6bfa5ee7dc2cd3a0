/* lt_dbsession: the database of one command (`migrate`, `units import`,
 * `catalog ...`, `token ...`): the target (the embedded cluster acquired, or
 * database.url), one connection, and the schema brought to the state the
 * command needs. One place, so every command reaches the same database the
 * same way and says the same thing when the schema is behind. */
#ifndef LT_DBSESSION_H
#define LT_DBSESSION_H

#include <stddef.h>
#include <libpq-fe.h>

#include "lt_config.h"
#include "lt_migrate.h"

typedef enum {
    LT_SCHEMA_APPLY,   /* apply pending migrations first, as serve does at start-up */
    LT_SCHEMA_CURRENT, /* refuse when a migration is missing: "run lienthong migrate" */
    LT_SCHEMA_ANY,     /* no check (migrate itself decides) */
} lt_schema_mode;

typedef struct lt_dbsession lt_dbsession;

/* Returns the session, or NULL with a sentence in err. */
lt_dbsession *lt_dbsession_open(const lt_config *cfg, lt_schema_mode mode, char *err, size_t cap)
    __attribute__((warn_unused_result));
/* Releases the connection, then the embedded cluster (stopping it when this
 * process was its last user). Accepts NULL; sets *self_p to NULL. */
void lt_dbsession_close(lt_dbsession **self_p);

PGconn *lt_dbsession_conn(const lt_dbsession *self);
const lt_migrations *lt_dbsession_migrations(const lt_dbsession *self);
/* How many migrations LT_SCHEMA_APPLY applied on open. */
int lt_dbsession_applied(const lt_dbsession *self);

#endif
