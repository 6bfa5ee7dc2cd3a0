/* lt_replay: the replay ROUTER socket's logic, owned by the bus actor. A
 * peer (a DEALER) sends one frame of JSON {"from": SEQ, "prefix": "...",
 * "token": "..."}; it gets every stored event from SEQ on whose topic starts
 * with prefix, each as [topic, seq, JSON], then ["$END", last_seq], where
 * last_seq is the database's last sequence when the replay began: every
 * matching event up to it was sent. A malformed or refused request gets
 * ["$ERROR", reason]. Framing: schemas/zmq.md. */
#ifndef LT_REPLAY_H
#define LT_REPLAY_H

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

/* Whether a request may be served without checking its token. Today only
 * catalog data, which is public (DESIGN.md's auth table); token checking
 * lands with dossier ingest. Returns 0, or -1 with the refusal in err. */
int lt_replay_authorize(const lt_replay_request *req, char *err, size_t cap)
    __attribute__((warn_unused_result));

typedef struct lt_replay lt_replay;

/* router: the bound ROUTER socket (borrowed; ZMQ_ROUTER_MANDATORY set by
 * the caller). pg: the bus's connection, shared. kick(arg) asks the owner to
 * run its query scheduler (the connection may be idle now). */
lt_replay *lt_replay_new(lt_loop *loop, void *router, lt_pgconn *pg, void (*kick)(void *),
                         void *kick_arg) __attribute__((warn_unused_result));
void lt_replay_destroy(lt_replay **self_p);

/* The router socket is readable: reads and handles one request. */
void lt_replay_on_request(lt_replay *self);

/* Starts a page query for a replay that needs one, when pg is idle. Returns
 * true when a query was sent. */
bool lt_replay_step(lt_replay *self);

/* The database went down: every running replay gets "$ERROR" and ends. */
void lt_replay_abort_all(lt_replay *self, const char *reason);

#endif
