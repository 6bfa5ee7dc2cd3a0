/* lt_delivery_int.h: the delivery actor's insides, shared by lt_delivery.c
 * (the actor: its loop, its database connection and the order in which it
 * runs statements) and lt_deliv_leg.c (one destination: its send slots,
 * the queue of rows claimed ahead, the outcomes waiting to be recorded).
 * Not for other modules. */
#ifndef LT_DELIVERY_INT_H
#define LT_DELIVERY_INT_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lt_config.h"
#include "lt_curlm.h"
#include "lt_delivery.h"
#include "lt_dialects.h"
#include "lt_loop.h"
#include "lt_pgconn.h"

/* A leg stops claiming while this many outcomes wait to be recorded (the
 * database is slow or away): memory stays bounded. */
#define LT_DELIV_PEND_MAX 4096
/* How long an outcome may wait for the other sends of its leg before it is
 * recorded. A statement costs about the same for one row as for dozens, so
 * outcomes are recorded a round at a time (a batch per slot), when no send
 * is out, or after this. Claims do not wait for it (their own connection,
 * rows queued ahead): only the rows' inflight state lasts longer. */
#define LT_DELIV_LINGER_MS 10

/* Claims run on connections of their own, this many at once (each claim
 * at most half the queue's high mark, so that several can run). One claim
 * connection's statements ran back to back while the slots found the queue
 * empty, so two were tried; on the benchmark's two shared cores they
 * drained no faster than one (tests/bench/RESULTS.md, "Drain": the claims
 * waited for CPU, not for each other) and cost the database more per row.
 * Raise it where the database has cores to spare. */
#define LT_DELIV_CLAIMERS 1

/* What the actor remembers of a row at a driver. */
typedef struct {
    int64_t id;
    int attempts;
    char code[64]; /* dossier code, for the log */
} lt_deliv_row;

/* An outcome decided by a driver, waiting for lt_settle. */
typedef struct {
    int64_t id;
    char verdict; /* 'o' delivered, 'r' retry, 'd' dead */
    int status;   /* HTTP status, 0 = none */
    int64_t delay_ms;
    char *err;    /* the row's last_error (owned) */
    char *health; /* the destination's last_error: HTTP status or transport text (owned) */
    char *answer; /* owned, or NULL */
} lt_deliv_outcome;

struct lt_deliv_leg;

/* One send slot of a leg: a driver and the rows it has. */
typedef struct {
    struct lt_deliv_leg *leg;
    lt_delivery_driver drv; /* drv.impl NULL: not set up */
    lt_deliv_row *rows;     /* drv batch entries */
    size_t nrows;
    bool sending;
    int64_t send_start;
} lt_deliv_slot;

/* Claimed rows not yet handed to a slot: the claim's result, kept whole
 * (the items point into it), and how far it has been handed out. */
typedef struct {
    PGresult *res; /* owned */
    int next, n;
} lt_deliv_claimed;

struct lt_deliv;

/* One claim connection (lt_deliv_claim.c) and the claim it runs. */
typedef struct lt_deliv_claimer {
    struct lt_deliv *owner;
    lt_pgconn *pg;
    bool async, setting;      /* runs with synchronous_commit off / is being set so */
    struct lt_deliv_leg *leg; /* the leg whose claim runs, NULL when idle */
    size_t want;              /* the rows that claim asked for (in leg->asked) */
} lt_deliv_claimer;

/* One destination and its slots. */
typedef struct lt_deliv_leg {
    struct lt_deliv *owner;
    bool fixed;  /* from configuration (portal, webhook) */
    bool listed; /* in the last destinations listing */
    bool usable; /* every slot's driver is set up */
    char name[128], kind[16], unit[64];
    char url[1024], dialect[64];
    size_t batch; /* rows per send */
    lt_deliv_slot *slots;
    size_t nslots;
    lt_curlm *curl; /* the slots' drivers share it */
    bool need_claim;
    /* Claimed ahead, in claim order (a FIFO of claim results). */
    lt_deliv_claimed *queue;
    size_t nqueue, cap_queue;
    size_t queued; /* rows in the queue */
    size_t asked;  /* rows asked for by the claims running for it */
    /* Rows taken out of the queue to be given back (lt_unclaim) because
     * the circuit is not closed; kept until the statement succeeds. */
    int64_t *giveback;
    size_t ngiveback;
    bool open;              /* the last settle found the circuit not closed: send nothing queued */
    bool filling;           /* lt_deliv_leg_fill runs (a failed send may call it again) */
    lt_deliv_outcome *pend; /* decided, not yet recorded; [0, nsettling) are being recorded */
    size_t npend, cap_pend, nsettling;
    int linger_timer; /* > 0: armed (see LT_DELIV_LINGER_MS) */
    bool lingered;    /* it fired: record and claim whatever there is */
} lt_deliv_leg;

typedef struct lt_deliv {
    lt_config cfg;
    const lt_dialects *dialects;
    lt_loop *loop;
    lt_pgconn *pg; /* everything but claims, one statement at a time */
    lt_deliv_claimer claimers[LT_DELIV_CLAIMERS]; /* claims only (lt_deliv_claim.c) */
    bool ready; /* the main connection's setup is done: claims may run */
    lt_deliv_leg **legs;
    size_t nlegs, cap_legs;
    size_t next_claim; /* round robin over the legs */
    size_t next_settle;
    lt_deliv_leg *settling;   /* the leg whose outcomes are being recorded */
    lt_deliv_leg *unclaiming; /* the leg whose rows are being given back */
    size_t nunclaiming;       /* how many of its giveback ids */
    size_t upsert_i;
    char instance[24]; /* gateway_instances.id, "" until registered */
    int setup_step;
    bool setup_failed; /* a setup statement failed: the next tick tries again */
    int q;             /* the statement running (lt_delivery.c's query) */
    bool need_heartbeat, need_route, need_sync, need_list;
    int64_t routed; /* events routed since the last ANALYZE of the outbox */
    bool term, left;
    unsigned ticks;
    uint64_t delivered, retried, dead;          /* for the stop line */
    uint64_t claims, claimed, settles, settled; /* statements and rows, for the stop line */
    uint64_t starved; /* sends that found the queue empty: claims fell behind */
} lt_deliv;

/* lt_delivery.c: runs whatever statement is due next, if the connection is
 * free. Called after every event that may have made one due. */
void lt_deliv_drive(lt_deliv *self);

/* lt_deliv_claim.c: opens the claim connections. Returns 0 or -1. */
int lt_deliv_claim_start(lt_deliv *self, const char *conninfo) __attribute__((warn_unused_result));
/* Sends the next claims on those that are free, while legs want rows. */
void lt_deliv_claim_next(lt_deliv *self);
/* Whether a claim runs for lg (NULL: for any leg). */
bool lt_deliv_claiming(const lt_deliv *self, const lt_deliv_leg *lg);
/* Closes the claim connections (the legs may be freed already). */
void lt_deliv_claim_stop(lt_deliv *self);

/* lt_deliv_leg.c */

/* A new leg named name of kind, added to self. NULL when out of memory. */
lt_deliv_leg *lt_deliv_leg_add(lt_deliv *self, const char *name, const char *kind, bool fixed);
/* (Re)creates the slots of lg (none sending) from its kind, url, dialect.
 * Returns 0, or -1 with the leg unusable (its rows wait). */
int lt_deliv_leg_setup(lt_deliv *self, lt_deliv_leg *lg) __attribute__((warn_unused_result));
/* Frees a leg (nothing may be in flight) with its waiting outcomes. */
void lt_deliv_leg_free(lt_deliv_leg *lg);
/* The destinations listing (name, kind, url, dialect, unit): legs for new
 * unit:/ward: destinations, set up again when their URL or dialect
 * changed, dropped when gone. */
void lt_deliv_apply_listing(lt_deliv *self, PGresult *r);

/* Whether lg's outcomes should be recorded now. */
bool lt_deliv_settle_ready(const lt_deliv_leg *lg);
/* How many rows lg should claim now, with the claims already running for
 * it (0: not worth a statement): enough to fill its free slots and its
 * queue, at most half of the queue's high mark a claim, so that a second
 * claim can run beside the first. */
size_t lt_deliv_claim_want(const lt_deliv_leg *lg);
/* Takes a claim's result (owned from now on) into lg's queue and fills
 * free slots from it. */
void lt_deliv_leg_claimed(lt_deliv_leg *lg, PGresult *r);
/* Hands queued rows to free slots while the circuit is closed. */
void lt_deliv_leg_fill(lt_deliv_leg *lg);
/* The circuit is not closed (open: true) or closed again: while it is not,
 * queued rows are not sent but given back (lg->giveback). */
void lt_deliv_leg_circuit(lt_deliv_leg *lg, bool open);
/* Moves every queued row to lg->giveback (the circuit opened, or the actor
 * stops: they were never sent). */
void lt_deliv_leg_release(lt_deliv_leg *lg);
/* The waiting outcomes of lg as lt_settle's JSON (caller frees), or NULL. */
char *lt_deliv_outcomes_json(const lt_deliv_leg *lg) __attribute__((warn_unused_result));
/* Drops the first lg->nsettling outcomes: recorded. */
void lt_deliv_leg_settled(lt_deliv_leg *lg);

bool lt_deliv_leg_sending(const lt_deliv_leg *lg);
bool lt_deliv_any_sending(const lt_deliv *self);
bool lt_deliv_any_pending(const lt_deliv *self);

#endif
