/* lt_pgctl: the embedded PostgreSQL cluster under data_dir, used when no
 * database.url is configured. Every lienthong process that needs the
 * database acquires the cluster: the first one initialises it (initdb) and
 * starts it, the others reuse it, and the last one to release it stops it.
 * Users are counted with flock() on a file in data_dir, so a process killed
 * with -9 stops counting at once and never leaves the cluster pinned.
 *
 * The cluster listens on a Unix socket only, in a private directory; as root
 * it runs as an unprivileged user (postgres.user). */
#ifndef LT_PGCTL_H
#define LT_PGCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "lt_config.h"

typedef struct lt_pgctl lt_pgctl;

/* Initialises, starts or joins the cluster and makes sure the lienthong
 * database exists. Blocks until it accepts connections (up to a minute).
 * Returns 0 and *ret_self, or -1 with a sentence in err. */
int lt_pgctl_acquire(const lt_config *cfg, lt_pgctl **ret_self, char *err, size_t err_cap)
    __attribute__((warn_unused_result));

/* libpq connection string for the lienthong database. Borrowed. */
const char *lt_pgctl_conninfo(const lt_pgctl *self);

/* True when this process started the cluster (rather than joining it). */
bool lt_pgctl_started_here(const lt_pgctl *self);

/* The postmaster's pid as read from postmaster.pid, or -1. */
pid_t lt_pgctl_postmaster_pid(const lt_pgctl *self);

/* Stops using the cluster; stops it when no other process uses it. Accepts
 * NULL; sets *self_p to NULL. */
void lt_pgctl_release(lt_pgctl **self_p);

#endif
