/* lt_replay: the replay ROUTER socket's logic, owned by the bus actor. A
 * peer (a DEALER) sends one frame of JSON {"from": SEQ, "prefix": "...",
 * "token": "..."}; it gets every stored event from SEQ on whose topic starts
 * with prefix and that its credential may see, each as [topic, seq, JSON],
 * then ["$END", last_seq], where last_seq is the database's last sequence
 * when the replay began: every such event up to it was sent. A malformed or
 * refused request gets ["$ERROR", reason]. Framing: schemas/zmq.md.
 *
 * Who sees what (DESIGN.md's auth table, as for GET /v1/events): catalog
 * events are public; a ward token sees the dossier events of its unit, a
 * parent token those of its subtree, both with whole records; operator
 * sees every event whole, reader every event with personal fields left
 * out. With auth.required = false a request without a token sees
 * everything. */
#ifndef LT_REPLAY_H
#define LT_REPLAY_H

#include "lt_auth.h"
#include "lt_config.h"
#include "lt_loop.h"
#include "lt_pgconn.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LT_REPLAY_MAX_PREFIX 200 /* bytes of a topic prefix */
#define LT_REPLAY_MAX_TOKEN  200 /* bytes of a token */

/* A parsed replay request. */
typedef struct lt_replay_request {
    int64_t from;                          /* first sequence wanted, >= 1 (0 reads as 1) */
    char prefix[LT_REPLAY_MAX_PREFIX + 1]; /* topic prefix, may be "" */
    char token[LT_REPLAY_MAX_TOKEN + 1];   /* "" when absent */
} lt_replay_request;

/* Parses one request frame (not NUL-terminated). Returns 0, or -1 with a
 * sentence in err naming the member at fault. Pure. */
int lt_replay_parse_request(const char *data, size_t len, lt_replay_request *ret, char *err,
                            size_t cap) __attribute__((warn_unused_result));

/* How a request is to be let in, before any database is asked. */
typedef enum {
    LT_REPLAY_PUBLIC, /* a prefix starting with "catalog.": public data, the token is not read */
    LT_REPLAY_OPEN,   /* auth.required = false and no token: everything, whole */
    LT_REPLAY_LOOKUP, /* the token decides: look it up (LT_AUTH_LOOKUP_SQL) */
} lt_replay_access;

/* Decides how req is let in. Returns 0 with *ret set, or -1 with the
 * refusal in err (a non-catalog prefix without a token while auth is
 * required). Never copies the token into err. Pure. */
int lt_replay_authorize(const lt_replay_request *req, bool auth_required, lt_replay_access *ret,
                        char *err, size_t cap) __attribute__((warn_unused_result));

/* Which stored events a replay may send, and how. */
typedef enum {
    LT_REPLAY_SCOPE_CATALOG = 0, /* catalog events only */
    LT_REPLAY_SCOPE_UNIT,        /* catalog events, and dossier events whose unit_code is unit */
    LT_REPLAY_SCOPE_SUBTREE, /* catalog events, and dossier events of unit and its descendants */
    LT_REPLAY_SCOPE_ALL,     /* every stored event */
} lt_replay_scope_kind;

typedef struct lt_replay_scope {
    lt_replay_scope_kind kind;
    bool mask; /* dossier records have their personal data masked (lt_mask_json), as over HTTP */
    char unit[LT_AUTH_MAX_UNIT]; /* the unit for UNIT and SUBTREE, "" otherwise */
} lt_replay_scope;

/* The scope of a checked credential: ward → its unit, parent → its subtree,
 * operator → all, reader → all masked. Returns 0, or -1 with the refusal
 * in err (a unit-scoped credential without a unit). Pure. */
int lt_replay_scope_of(const lt_principal *who, lt_replay_scope *ret, char *err, size_t cap)
    __attribute__((warn_unused_result));

typedef struct lt_replay lt_replay;

/* router: the bound ROUTER socket (borrowed; ZMQ_ROUTER_MANDATORY set by
 * the caller). pg: the bus's connection, shared. cfg: the bus's
 * configuration (borrowed; auth.required is read at each request). kick(arg)
 * asks the owner to run its query scheduler (the connection may be idle
 * now). */
lt_replay *lt_replay_new(lt_loop *loop, void *router, lt_pgconn *pg, const lt_config *cfg,
                         void (*kick)(void *), void *kick_arg) __attribute__((warn_unused_result));
void lt_replay_destroy(lt_replay **self_p);

struct lt_zap_revoked;

/* zmq.curve on: the router is a CURVE server and revoked lists the keys
 * replaced since start (borrowed). Each request then carries its unit
 * (lt_zap_peer): without a token it is scoped like a ward token of that
 * unit; with one, the token's unit must be that unit. */
void lt_replay_set_curve(lt_replay *self, struct lt_zap_revoked *revoked);

/* The router socket is readable: reads and handles one request. */
void lt_replay_on_request(lt_replay *self);

/* Starts a page query for a replay that needs one, when pg is idle. Returns
 * true when a query was sent. */
bool lt_replay_step(lt_replay *self);

/* The database went down: every running replay gets "$ERROR" and ends. */
void lt_replay_abort_all(lt_replay *self, const char *reason);

#endif
