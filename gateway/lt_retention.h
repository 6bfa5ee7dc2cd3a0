/* lt_retention: the actor in `serve` that purges what must not be kept
 * (issue 9, Decree 13/2023): refused records with their payloads and rows of
 * the audit log older than `retention.days`, in batches of
 * `retention.batch` every `retention.interval`, one gateway at a time
 * (lt_retention_run in schemas/sql/0016_retention.sql). It also writes the
 * `config.reload` audit row the supervisor hands it on SIGHUP ("$AUDIT" +
 * the detail JSON on its pipe), since it is the actor that owns a
 * connection and has nothing urgent to do. */
#ifndef LT_RETENTION_H
#define LT_RETENTION_H

#include "lt_config.h"

typedef struct lt_retention_args {
    const char *conninfo; /* borrowed; outlives the actor */
    const lt_config *cfg; /* copied at start; its retention keys reload */
} lt_retention_args;

/* The pipe command that carries a config.reload detail (JSON text). */
#define LT_RETENTION_AUDIT_CMD "$AUDIT"

void lt_retention_actor(void *pipe, void *args);

#endif
