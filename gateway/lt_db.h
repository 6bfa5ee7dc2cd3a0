/* lt_db: which database this process talks to, and how it connects. With
 * database.url set, that server (libpq URL or conninfo, multi-host allowed);
 * otherwise the embedded cluster under data_dir, acquired through lt_pgctl
 * so that every subcommand reaches the cluster a running gateway uses. */
#ifndef LT_DB_H
#define LT_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <libpq-fe.h>

#include "lt_config.h"

typedef struct lt_db_target lt_db_target;

/* Resolves the target; for the embedded cluster this initialises or starts
 * it when needed. Returns 0 and *ret_self, or -1 with a sentence in err. */
int lt_db_target_open(const lt_config *cfg, lt_db_target **ret_self, char *err, size_t cap)
    __attribute__((warn_unused_result));
const char *lt_db_target_conninfo(const lt_db_target *self);
bool lt_db_target_embedded(const lt_db_target *self);
/* Releases the embedded cluster (stopping it if we were its last user). */
void lt_db_target_close(lt_db_target **self_p);

/* Blocking connect with a bounded wait; the conninfo's own connect_timeout
 * and application_name win over ours. Returns a connection or NULL with the
 * reason in err. */
PGconn *lt_db_connect(const char *conninfo, int64_t timeout_ms, char *err, size_t cap)
    __attribute__((warn_unused_result));

/* Starts a non-blocking connect for a loop (PQconnectPoll drives it). NULL
 * only when out of memory. */
PGconn *lt_db_connect_start(const char *conninfo, int64_t timeout_ms)
    __attribute__((warn_unused_result));

/* Runs sql with text parameters (NULL entries are SQL NULL) and returns
 * its result when it is a command or rows (the caller PQclears it), else
 * NULL with the server's message in err. */
PGresult *lt_db_exec(PGconn *conn, const char *sql, int n, const char *const *params, char *err,
                     size_t cap) __attribute__((warn_unused_result));
/* The same when only success matters: 0, or -1 with err. */
int lt_db_exec_ok(PGconn *conn, const char *sql, int n, const char *const *params, char *err,
                  size_t cap) __attribute__((warn_unused_result));

/* PQerrorMessage without its trailing newline, into buf. Returns buf. */
const char *lt_db_error(const PGconn *conn, char *buf, size_t cap);

#endif
