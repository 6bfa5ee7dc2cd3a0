/* lt_db: resolve and connect to the gateway's database (see lt_db.h). */
#include "lt_db.h"
#include "lt_log.h"
#include "lt_pgctl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct lt_db_target {
    char *conninfo;  /* owned */
    lt_pgctl *pgctl; /* NULL with database.url */
};

int lt_db_target_open(const lt_config *cfg, lt_db_target **ret_self, char *err, size_t cap)
{
    lt_db_target *self = calloc(1, sizeof(*self));
    if (!self)
        goto oom;
    if (cfg->database.url[0]) {
        self->conninfo = strdup(cfg->database.url);
    } else {
        if (lt_pgctl_acquire(cfg, &self->pgctl, err, cap) < 0) {
            free(self);
            return -1;
        }
        self->conninfo = strdup(lt_pgctl_conninfo(self->pgctl));
    }
    if (!self->conninfo) {
        lt_db_target_close(&self);
        goto oom;
    }
    *ret_self = self;
    return 0;
oom:
    snprintf(err, cap, "out of memory");
    return -1;
}

const char *lt_db_target_conninfo(const lt_db_target *self)
{
    return self->conninfo;
}

bool lt_db_target_embedded(const lt_db_target *self)
{
    return self->pgctl != NULL;
}

void lt_db_target_close(lt_db_target **self_p)
{
    if (!self_p || !*self_p)
        return;
    lt_pgctl_release(&(*self_p)->pgctl);
    free((*self_p)->conninfo);
    free(*self_p);
    *self_p = NULL;
}

/* Server notices (e.g. "relation already exists, skipping") are for
 * developers; they go to the debug log instead of a bare line on stderr. */
static void on_notice(void *arg, const char *message)
{
    (void)arg;
    LT_DEBUG("postgresql: %.*s", (int)strcspn(message, "\n"), message);
}

/* Our defaults come first in the arrays: libpq lets later entries, here
 * the expanded conninfo, override earlier ones. */
static void fill_params(const char *conninfo, int64_t timeout_ms, char *timeout_buf, size_t cap,
                        const char *keys[5], const char *vals[5])
{
    long secs = (long)((timeout_ms + 999) / 1000);
    snprintf(timeout_buf, cap, "%ld", secs < 2 ? 2 : secs); /* libpq treats 1 as 2 anyway */
    keys[0] = "application_name";
    vals[0] = "lienthong";
    keys[1] = "connect_timeout";
    vals[1] = timeout_buf;
    /* JIT compiles any query whose estimate passes jit_above_cost: ~0.6 s
     * measured on a unit-scoped read, and our statements are short OLTP
     * work that never repays it. Before dbname, so that options in an
     * operator's URL still win. */
    keys[2] = "options";
    vals[2] = "-c jit=off";
    keys[3] = "dbname";
    vals[3] = conninfo;
    keys[4] = NULL;
    vals[4] = NULL;
}

PGconn *lt_db_connect(const char *conninfo, int64_t timeout_ms, char *err, size_t cap)
{
    const char *keys[5], *vals[5];
    char tbuf[32];
    fill_params(conninfo, timeout_ms, tbuf, sizeof(tbuf), keys, vals);
    PGconn *c = PQconnectdbParams(keys, vals, 1);
    if (c && PQstatus(c) == CONNECTION_OK) {
        PQsetNoticeProcessor(c, on_notice, NULL);
        return c;
    }
    if (c)
        lt_db_error(c, err, cap);
    else
        snprintf(err, cap, "out of memory");
    PQfinish(c);
    return NULL;
}

PGconn *lt_db_connect_start(const char *conninfo, int64_t timeout_ms)
{
    const char *keys[5], *vals[5];
    char tbuf[32];
    fill_params(conninfo, timeout_ms, tbuf, sizeof(tbuf), keys, vals);
    PGconn *c = PQconnectStartParams(keys, vals, 1);
    if (c)
        PQsetNoticeProcessor(c, on_notice, NULL);
    return c;
}

PGresult *lt_db_exec(PGconn *conn, const char *sql, int n, const char *const *params, char *err,
                     size_t cap)
{
    PGresult *r = PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return r;
    char why[512];
    snprintf(err, cap, "%s", lt_db_error(conn, why, sizeof(why)));
    PQclear(r);
    return NULL;
}

int lt_db_exec_ok(PGconn *conn, const char *sql, int n, const char *const *params, char *err,
                  size_t cap)
{
    PGresult *r = lt_db_exec(conn, sql, n, params, err, cap);
    PQclear(r);
    return r ? 0 : -1;
}

const char *lt_db_error(const PGconn *conn, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s", conn ? PQerrorMessage(conn) : "no connection");
    size_t n = strlen(buf);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
        buf[--n] = '\0';
    return buf;
}
