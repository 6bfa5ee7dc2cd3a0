/* lt_dbsession: open a command's database (see lt_dbsession.h). */
#include "lt_dbsession.h"
#include "lt_db.h"
#include "lt_fmt.h"
#include "lt_paths.h"

#include <limits.h>
#include <stdlib.h>

struct lt_dbsession {
    lt_db_target *target;      /* embedded cluster or database.url */
    PGconn *conn;              /* the command's connection */
    lt_migrations *migrations; /* what this binary carries */
    int applied;               /* applied on open (LT_SCHEMA_APPLY) */
};

static int check_schema(lt_dbsession *self, lt_schema_mode mode, char *err, size_t cap)
{
    if (mode == LT_SCHEMA_ANY)
        return 0;
    if (mode == LT_SCHEMA_APPLY &&
        lt_migrate_apply(self->conn, self->migrations, &self->applied, err, cap) < 0)
        return -1;
    lt_migrate_state st;
    if (lt_migrate_check(self->conn, self->migrations, &st, err, cap) < 0)
        return -1;
    if (st.applied < st.known)
        return lt_errf(err, cap,
                       "the database schema is behind this binary (%d of %d migrations applied); "
                       "run lienthong migrate first",
                       st.applied, st.known);
    return 0;
}

lt_dbsession *lt_dbsession_open(const lt_config *cfg, lt_schema_mode mode, char *err, size_t cap)
{
    char sqldir[PATH_MAX];
    lt_dbsession *self = calloc(1, sizeof(*self));
    if (!self) {
        lt_errf(err, cap, "out of memory");
        return NULL;
    }
    if (lt_paths_dir(LT_PATH_SQL, sqldir, sizeof(sqldir)) < 0) {
        lt_errf(err, cap, "cannot find the SQL migrations directory");
        goto bad;
    }
    if (!(self->migrations = lt_migrations_load(sqldir, err, cap)) ||
        lt_db_target_open(cfg, &self->target, err, cap) < 0)
        goto bad;
    self->conn = lt_db_connect(lt_db_target_conninfo(self->target),
                               cfg->database.connect_timeout_ms, err, cap);
    if (!self->conn || check_schema(self, mode, err, cap) < 0)
        goto bad;
    return self;
bad:
    lt_dbsession_close(&self);
    return NULL;
}

void lt_dbsession_close(lt_dbsession **self_p)
{
    if (!self_p || !*self_p)
        return;
    lt_dbsession *self = *self_p;
    PQfinish(self->conn);
    lt_db_target_close(&self->target);
    lt_migrations_destroy(&self->migrations);
    free(self);
    *self_p = NULL;
}

PGconn *lt_dbsession_conn(const lt_dbsession *self)
{
    return self->conn;
}

const lt_migrations *lt_dbsession_migrations(const lt_dbsession *self)
{
    return self->migrations;
}

int lt_dbsession_applied(const lt_dbsession *self)
{
    return self->applied;
}
