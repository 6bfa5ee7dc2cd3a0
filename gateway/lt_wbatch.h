/* lt_wbatch: one group commit of the writer, as a state machine that knows
 * nothing about how its queries run. The actor (lt_writer) runs its queries
 * on a non-blocking connection inside its loop; `rejects resubmit` runs the
 * same queries on a blocking one. Both get exactly the same checks and the
 * same SQL.
 *
 * The phases: AUTH (the credentials of the pushes' tokens), READ (stored
 * states, procedures and units of every record, one query), APPLY (one
 * statement writing states, events and rejects: lt_ingest_apply), DONE.
 * Between phases everything is CPU work in the caller's thread: mapping
 * from the sender's dialect, validation, scope, the database rules and the
 * recency judgement. */
#ifndef LT_WBATCH_H
#define LT_WBATCH_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "lt_config.h"
#include "lt_dialects.h"
#include "lt_ingest.h"

#define LT_WBATCH_MAX_RECORDS 2000 /* records per transaction (a first push may exceed it) */

typedef struct lt_wbatch lt_wbatch;

typedef enum {
    LT_WB_IDLE = 0, /* collecting pushes */
    LT_WB_AUTH,     /* the credentials query is next */
    LT_WB_READ,     /* the read query is next */
    LT_WB_APPLY,    /* the write statement is next */
    LT_WB_DONE,     /* every push has its answer: pop them */
} lt_wbatch_phase;

/* Which dialect each token's unit speaks, as the last credential lookup
 * said: lets a batch map and validate its records while the previous batch
 * is still in the database. Only a guess to save time: every batch checks
 * its credentials again and re-prepares a push whose guess was wrong. */
typedef struct lt_wbatch_dialect_cache lt_wbatch_dialect_cache;
lt_wbatch_dialect_cache *lt_wbatch_dialect_cache_new(void) __attribute__((warn_unused_result));
void lt_wbatch_dialect_cache_destroy(lt_wbatch_dialect_cache **self_p);

/* cfg: read once (auth.required, routing.model), not kept. dialects and
 * cache: borrowed (cache may be NULL: no early preparation). */
lt_wbatch *lt_wbatch_new(const lt_config *cfg, const lt_dialects *dialects,
                         lt_wbatch_dialect_cache *cache) __attribute__((warn_unused_result));
void lt_wbatch_destroy(lt_wbatch **self_p);

/* Adds a push (ownership passes) while IDLE. Returns 0, or -1 when the
 * batch already holds LT_WBATCH_MAX_RECORDS records (req stays the caller's;
 * a batch always takes its first push, however large). */
int lt_wbatch_add(lt_wbatch *self, lt_ingest_req *req) __attribute__((warn_unused_result));
size_t lt_wbatch_count(const lt_wbatch *self);   /* pushes held */
size_t lt_wbatch_records(const lt_wbatch *self); /* records held */

/* Maps and validates the records of the pushes added since the last call,
 * for those whose sender's dialect the cache knows (or that need no token),
 * while the batch is still IDLE: the CPU work of a batch done while the one
 * before it waits on the database. Optional; lt_wbatch_start does what is
 * left. */
void lt_wbatch_prepare_early(lt_wbatch *self);

/* Ends collecting and does the work that needs no database; returns the
 * phase now due (AUTH, READ, APPLY or DONE). */
lt_wbatch_phase lt_wbatch_start(lt_wbatch *self);
lt_wbatch_phase lt_wbatch_phase_now(const lt_wbatch *self);

/* The query of the current phase: SQL text and its parameters, valid until
 * the next call on self. */
void lt_wbatch_query(lt_wbatch *self, const char **ret_sql, int *ret_nparams,
                     const char *const **ret_params);

/* Feeds the current query's result (NULL with err when it failed or the
 * connection was lost) and returns the phase now due. A conflict with
 * another writer goes back to READ (bounded); a failure answers every push
 * still unanswered: 503 when the database was unreachable or the outcome is
 * unknown, 500 for an error of ours. A batch of several pushes whose write
 * failed is split: lt_wbatch_pop hands them back unanswered (status 0) to
 * be queued again, each alone. */
lt_wbatch_phase lt_wbatch_result(lt_wbatch *self, const PGresult *r, const char *err);

/* Answers every unanswered push with status (503 with Retry-After when 503)
 * and the error {"error": {"code", "message"}}; the phase becomes DONE. */
void lt_wbatch_fail(lt_wbatch *self, int status, const char *code, const char *message);

/* Takes the next push out of a DONE batch (answered, or status 0 = queue it
 * again alone), NULL when none is left; the batch is IDLE again then. */
lt_ingest_req *lt_wbatch_pop(lt_wbatch *self);

struct lt_bus_local;
/* After a committed write: the batch's events in their public form (topic,
 * record without personal data) for the bus, or NULL when the batch wrote
 * no event (or memory ran out: the bus then reads them from the database).
 * Call before lt_wbatch_pop; it consumes the records' canonical trees. */
struct lt_bus_local *lt_wbatch_take_public(lt_wbatch *self) __attribute__((warn_unused_result));

/* Counters since start, for status and the log. */
typedef struct lt_wbatch_stats {
    unsigned long long accepted, duplicate, stale, rejected, conflicts, transactions;
} lt_wbatch_stats;
const lt_wbatch_stats *lt_wbatch_stats_get(const lt_wbatch *self);

#endif
