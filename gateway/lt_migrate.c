/* lt_migrate: apply and check SQL migrations (see lt_migrate.h). */
#include "lt_migrate.h"
#include "lt_fmt.h"
#include "lt_log.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

/* Any constant works as long as every lienthong process uses the same one;
 * these spell "lien" and "mig" so they are recognisable in pg_locks. */
#define LOCK_KEY1      "1818846574"
#define LOCK_KEY2      "6777191"
#define MAX_MIGRATIONS 1000
#define MAX_SQL_BYTES  (16 * 1024 * 1024)

typedef struct {
    int version;
    char name[128];                                  /* file name without .sql */
    char *sql;                                       /* file contents */
    char checksum[crypto_hash_sha256_BYTES * 2 + 1]; /* hex SHA-256 of sql */
} lt_migration;

struct lt_migrations {
    lt_migration *items; /* sorted by version */
    size_t n;
};

/* NNNN_name.sql with 4 digits and a name of [a-z0-9_]. */
static bool parse_name(const char *file, int *ret_version)
{
    size_t len = strlen(file);
    if (len < 10 || len >= 128 || strcmp(file + len - 4, ".sql") != 0 || file[4] != '_')
        return false;
    int v = 0;
    for (int i = 0; i < 4; i++) {
        if (!isdigit((unsigned char)file[i]))
            return false;
        v = v * 10 + (file[i] - '0');
    }
    for (size_t i = 5; i < len - 4; i++)
        if (!islower((unsigned char)file[i]) && !isdigit((unsigned char)file[i]) && file[i] != '_')
            return false;
    *ret_version = v;
    return v > 0;
}

static char *read_file(const char *path, char *err, size_t cap)
{
    FILE *f = fopen(path, "re");
    char *buf = NULL;
    if (!f) {
        lt_errf(err, cap, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) < 0)
        goto bad;
    long size = ftell(f);
    if (size < 0 || size > MAX_SQL_BYTES || fseek(f, 0, SEEK_SET) < 0)
        goto bad;
    buf = malloc((size_t)size + 1);
    if (!buf || fread(buf, 1, (size_t)size, f) != (size_t)size)
        goto bad;
    buf[size] = '\0';
    fclose(f);
    return buf;
bad:
    lt_errf(err, cap, "cannot read %s", path);
    free(buf);
    fclose(f);
    return NULL;
}

static int by_version(const void *a, const void *b)
{
    const lt_migration *x = a, *y = b;
    return (x->version > y->version) - (x->version < y->version);
}

lt_migrations *lt_migrations_load(const char *dir, char *err, size_t cap)
{
    lt_migrations *self = calloc(1, sizeof(*self));
    DIR *d = opendir(dir);
    if (!self || !d) {
        lt_errf(err, cap, "cannot read migrations directory %s: %s", dir, strerror(errno));
        goto bad;
    }
    self->items = calloc(MAX_MIGRATIONS, sizeof(*self->items));
    if (!self->items) {
        lt_errf(err, cap, "out of memory");
        goto bad;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || !strstr(e->d_name, ".sql"))
            continue;
        int version = 0;
        if (!parse_name(e->d_name, &version)) {
            lt_errf(err, cap, "migration file %s/%s is not named NNNN_name.sql", dir, e->d_name);
            goto bad;
        }
        if (self->n >= MAX_MIGRATIONS) {
            lt_errf(err, cap, "more than %d migrations", MAX_MIGRATIONS);
            goto bad;
        }
        lt_migration *m = &self->items[self->n];
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        m->sql = read_file(path, err, cap);
        if (!m->sql)
            goto bad;
        self->n++;
        m->version = version;
        snprintf(m->name, sizeof(m->name), "%.*s", (int)(strlen(e->d_name) - 4), e->d_name);
        unsigned char h[crypto_hash_sha256_BYTES];
        crypto_hash_sha256(h, (const unsigned char *)m->sql, strlen(m->sql));
        sodium_bin2hex(m->checksum, sizeof(m->checksum), h, sizeof(h));
    }
    qsort(self->items, self->n, sizeof(*self->items), by_version);
    for (size_t i = 1; i < self->n; i++) {
        if (self->items[i].version == self->items[i - 1].version) {
            lt_errf(err, cap, "migrations %s and %s share version %04d", self->items[i - 1].name,
                    self->items[i].name, self->items[i].version);
            goto bad;
        }
    }
    if (self->n == 0) {
        lt_errf(err, cap, "no migrations found in %s", dir);
        goto bad;
    }
    closedir(d);
    return self;
bad:
    if (d)
        closedir(d);
    lt_migrations_destroy(&self);
    return NULL;
}

void lt_migrations_destroy(lt_migrations **self_p)
{
    if (!self_p || !*self_p)
        return;
    lt_migrations *self = *self_p;
    for (size_t i = 0; self->items && i < self->n; i++)
        free(self->items[i].sql);
    free(self->items);
    free(self);
    *self_p = NULL;
}

size_t lt_migrations_count(const lt_migrations *self)
{
    return self->n;
}

const char *lt_migrations_name(const lt_migrations *self, size_t i)
{
    return i < self->n ? self->items[i].name : NULL;
}

static const lt_migration *find(const lt_migrations *m, int version)
{
    for (size_t i = 0; i < m->n; i++)
        if (m->items[i].version == version)
            return &m->items[i];
    return NULL;
}

static int exec_ok(PGconn *c, const char *sql, char *err, size_t cap, const char *what)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    int rc = 0;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        char msg[1024];
        snprintf(msg, sizeof(msg), "%s", PQerrorMessage(c));
        msg[strcspn(msg, "\n")] = '\0';
        rc = lt_errf(err, cap, "%s: %s", what, msg);
    }
    PQclear(r);
    return rc;
}

/* Reads (version, checksum) rows and compares them with the files. */
static int read_applied(PGconn *c, const lt_migrations *m, lt_migrate_state *st, char *err,
                        size_t cap)
{
    *st = (lt_migrate_state){.known = (int)m->n};
    PGresult *r = PQexec(c, "SELECT version, checksum, name FROM schema_migrations ORDER BY 1");
    int rc = 0;
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        if (!state || strcmp(state, "42P01") != 0) /* undefined_table: nothing applied yet */
            rc = lt_errf(err, cap, "cannot read schema_migrations: %s", PQerrorMessage(c));
        goto out;
    }
    for (int i = 0; i < PQntuples(r); i++) {
        int version = (int)strtol(PQgetvalue(r, i, 0), NULL, 10);
        const lt_migration *mig = find(m, version);
        if (version > st->latest)
            st->latest = version;
        if (!mig) {
            st->foreign++;
            continue;
        }
        if (strcmp(mig->checksum, PQgetvalue(r, i, 1)) != 0) {
            rc =
                lt_errf(err, cap,
                        "migration %s was changed after it was applied (checksum differs); applied "
                        "migrations are never edited, add a new one",
                        mig->name);
            goto out;
        }
        st->applied++;
    }
out:
    PQclear(r);
    return rc;
}

int lt_migrate_check(PGconn *conn, const lt_migrations *m, lt_migrate_state *ret_state, char *err,
                     size_t cap)
{
    lt_migrate_state st;
    if (read_applied(conn, m, &st, err, cap) < 0)
        return -1;
    *ret_state = st;
    return 0;
}

static int apply_one(PGconn *c, const lt_migration *mig, char *err, size_t cap)
{
    char what[192];
    snprintf(what, sizeof(what), "migration %s failed", mig->name);
    if (exec_ok(c, "BEGIN", err, cap, what) < 0)
        return -1;
    if (exec_ok(c, mig->sql, err, cap, what) < 0)
        goto rollback;
    char version[16];
    snprintf(version, sizeof(version), "%d", mig->version);
    const char *params[3] = {version, mig->name, mig->checksum};
    PGresult *r = PQexecParams(c,
                               "INSERT INTO schema_migrations (version, name, checksum) "
                               "VALUES ($1, $2, $3)",
                               3, NULL, params, NULL, NULL, 0);
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    if (!ok) {
        lt_errf(err, cap, "%s: cannot record it: %s", what, PQerrorMessage(c));
        goto rollback;
    }
    return exec_ok(c, "COMMIT", err, cap, what);
rollback:
    PQclear(PQexec(c, "ROLLBACK"));
    return -1;
}

int lt_migrate_apply(PGconn *conn, const lt_migrations *m, int *ret_applied, char *err, size_t cap)
{
    int applied_now = 0;
    int rc = -1;
    if (exec_ok(conn, "SELECT pg_advisory_lock(" LOCK_KEY1 ", " LOCK_KEY2 ")", err, cap,
                "cannot take the migration lock") < 0)
        return -1;
    /* Created under the lock: two processes must not race on it either. */
    if (exec_ok(conn,
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version integer PRIMARY KEY,"
                " name text NOT NULL,"
                " checksum text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())",
                err, cap, "cannot create schema_migrations") < 0)
        goto out;
    lt_migrate_state st;
    if (read_applied(conn, m, &st, err, cap) < 0)
        goto out;
    PGresult *r = PQexec(conn, "SELECT version FROM schema_migrations");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        lt_errf(err, cap, "cannot read schema_migrations: %s", PQerrorMessage(conn));
        PQclear(r);
        goto out;
    }
    for (size_t i = 0; i < m->n; i++) {
        bool done = false;
        for (int j = 0; j < PQntuples(r) && !done; j++)
            done = strtol(PQgetvalue(r, j, 0), NULL, 10) == m->items[i].version;
        if (done)
            continue;
        if (apply_one(conn, &m->items[i], err, cap) < 0) {
            PQclear(r);
            goto out;
        }
        LT_INFO("applied migration %s", m->items[i].name);
        applied_now++;
    }
    PQclear(r);
    rc = 0;
out:
    PQclear(PQexec(conn, "SELECT pg_advisory_unlock(" LOCK_KEY1 ", " LOCK_KEY2 ")"));
    if (rc == 0 && ret_applied)
        *ret_applied = applied_now;
    return rc;
}

void lt_migrate_describe(const lt_migrate_state *st, char *buf, size_t cap)
{
    if (st->applied == st->known)
        snprintf(buf, cap, "schema current: %d of %d migrations applied%s", st->applied, st->known,
                 st->foreign ? " (and newer ones this binary does not know)" : "");
    else
        snprintf(buf, cap, "migrations pending: %d of %d applied", st->applied, st->known);
}
