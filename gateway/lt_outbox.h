/* lt_outbox: the SQL of the delivery outbox (schemas/sql/0009_delivery.sql)
 * as the delivery actor and the operator commands call it: statement texts,
 * their parameters as text, and the rows they answer parsed into structs.
 * No I/O: whoever owns a connection runs the statements.
 *
 * Idempotency keys: a row's key is "lt-<event seq>" (set by routing and
 * returned by lt_claim, the same on every retry). A batch of rows sent in
 * one call carries one key derived from its rows: a batch of one row keeps
 * the row's key; a larger one is "lt-b-<32 hex digits>", the first 16
 * bytes of SHA-256 over the ascending sequences written in decimal and
 * separated by commas (the portal client's lt_portal_key, byte for byte).
 * The same rows give the same key whatever order they are given in, so a
 * retry of the same batch repeats it, and two batches that differ in any
 * row differ in key. */
#ifndef LT_OUTBOX_H
#define LT_OUTBOX_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest key lt_outbox_batch_key writes, its NUL included. */
#define LT_OUTBOX_KEY_MAX 64

/* Routes at most $1 events: one row, one column, the number passed. */
extern const char LT_OUTBOX_ROUTE_SQL[];
/* Releases unrouted rows whose unit now has a URL: one row, the count. */
extern const char LT_OUTBOX_ROUTE_UNROUTED_SQL[];
/* Claims: $1 destination, $2 instance id, $3 max rows; rows for
 * lt_outbox_parse_claim. */
extern const char LT_OUTBOX_CLAIM_SQL[];
/* $1 the ids as an array literal (lt_outbox_ids_param); one row, the count. */
extern const char LT_OUTBOX_DELIVERED_SQL[];
/* $1 id, $2 delay (lt_outbox_delay_param), $3 error, $4 HTTP status or NULL. */
extern const char LT_OUTBOX_RETRY_SQL[];
/* $1 id, $2 error, $3 HTTP status or NULL, $4 the answer kept or NULL. */
extern const char LT_OUTBOX_DEAD_SQL[];
/* Claims behind the destination's circuit (0011): $1 destination, $2
 * instance id, $3 max rows, $4 probe interval; rows as LT_OUTBOX_CLAIM_SQL. */
extern const char LT_OUTBOX_CLAIM_DUE_SQL[];
/* Records many outcomes of one destination (0011): $1 destination, $2 a
 * JSON array [{id, v: ok|retry|dead, delay_ms, err, herr, st, ans}], $3 the
 * retry horizon, $4 the circuit's failure threshold, $5 the probe interval
 * (intervals as lt_outbox_delay_param). One row: delivered, retried, dead,
 * expired, circuit before, circuit after, failures. */
extern const char LT_OUTBOX_SETTLE_SQL[];
/* $1 staleness (lt_outbox_delay_param); one row, how many were taken back. */
extern const char LT_OUTBOX_RECLAIM_SQL[];
/* $1 destination, $2 row id or NULL for all; one row: replayed, superseded. */
extern const char LT_OUTBOX_REPLAY_SQL[];

/* One claimed row. Strings point into the PGresult it was parsed from and
 * live as long as it does. */
typedef struct {
    int64_t id;                  /* outbox.id: what the outcome calls name */
    int64_t event_seq;           /* the event delivered */
    const char *dossier_code;    /* MaHoSo */
    const char *record;          /* the event's whole record, JSON text */
    int status;                  /* TrangThaiHoSo of the event */
    bool is_updating;            /* an earlier event of the dossier was delivered here */
    const char *idempotency_key; /* "lt-<seq>" */
    int attempts;                /* failed attempts so far */
    int superseded;              /* older rows of the dossier this one carries */
} lt_outbox_item;

/* Parses row `row` of an LT_OUTBOX_CLAIM_SQL result into ret. Returns 0, or
 * -1 (ret untouched) when the result does not have the claim's shape or a
 * value is not what the schema promises. */
int lt_outbox_parse_claim(const PGresult *res, int row, lt_outbox_item *ret)
    __attribute__((warn_unused_result));

/* The key of a batch of n >= 1 event sequences (any order; see above) into
 * buf of cap bytes. Returns 0, or -1 when n is 0, a sequence is not
 * positive, repeats, or cap is too small. */
int lt_outbox_batch_key(const int64_t *seqs, size_t n, char *buf, size_t cap)
    __attribute__((warn_unused_result));

/* ids as a PostgreSQL array literal "{1,2,3}" (caller frees). NULL when out
 * of memory. */
char *lt_outbox_ids_param(const int64_t *ids, size_t n) __attribute__((warn_unused_result));

/* A delay in milliseconds as an interval literal ("1500 milliseconds") into
 * buf. Returns 0, or -1 when ms is negative or cap too small. */
int lt_outbox_delay_param(int64_t ms, char *buf, size_t cap) __attribute__((warn_unused_result));

#endif
