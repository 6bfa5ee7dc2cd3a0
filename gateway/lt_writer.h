/* lt_writer: the one actor that writes dossiers (DESIGN.md, "Inside the
 * process"). Fronts hand it decoded pushes (lt_ingest); it checks the
 * credential, maps each record from the sender's dialect, validates it,
 * reads what the database knows (stored state, procedure, unit), judges it
 * (lt_status), and writes everything a group of pushes brought in one
 * transaction (group commit): current states, events in the global
 * gap-free sequence, rejects. Only after that commit does it answer.
 *
 * Group commit is natural batching: while one transaction runs, pushes
 * queue; when it ends, everything queued (up to LT_WBATCH_MAX_RECORDS records)
 * becomes the next transaction. A lone push is written at once; under load
 * transactions grow, and fsyncs are shared. */
#ifndef LT_WRITER_H
#define LT_WRITER_H

#include <libpq-fe.h>

#include "lt_config.h"
#include "lt_dialects.h"
#include "lt_ingest.h"

#define LT_WRITER_MAX_QUEUE 20000 /* records queued; beyond, pushes get 503 at once */

typedef struct lt_writer_args {
    const char *conninfo;        /* borrowed; outlives the actor */
    const lt_config *cfg;        /* copied at start */
    const lt_dialects *dialects; /* borrowed, read-only; outlives the actor */
    void *zmq_ctx;
} lt_writer_args;

/* lt_actor_fn: run with lt_actor_new(ctx, "writer", lt_writer_actor, &args). */
void lt_writer_actor(void *pipe, void *args);

/* Runs one push to the end on a blocking connection, the same way the actor
 * does (the same checks, the same SQL), and fills req's answer: for
 * `lienthong rejects resubmit`. Returns 0 (whatever the answer), -1 when
 * the database failed (req's answer then says so). */
int lt_writer_run_sync(PGconn *db, const lt_config *cfg, const lt_dialects *dialects,
                       lt_ingest_req *req) __attribute__((warn_unused_result));

#endif
