/* lt_bus: the actor that publishes stored events on ZeroMQ (zmq.events, PUB)
 * and answers replay requests (zmq.replay, ROUTER; see lt_replay.h). It owns
 * a PostgreSQL connection that LISTENs on lt_events: on a notification, and
 * on a timer as a safety net, it reads the stored events after the last one
 * it published, in sequence order and in bounded pages, and publishes each
 * as [topic, sequence, JSON]. It starts from the database's last sequence
 * at start-up (subscribers catch up by replay) and never publishes a
 * sequence twice or skips one. Transient delivery.* notices from other
 * actors arrive on LT_BUS_NOTICE_ENDPOINT and go out with an empty sequence
 * frame. Framing: schemas/zmq.md. */
#ifndef LT_BUS_H
#define LT_BUS_H

#include "lt_config.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* inproc PULL the bus binds; actors send [topic, JSON] with
 * lt_bus_notice_send on a socket from lt_bus_notice_socket. */
#define LT_BUS_NOTICE_ENDPOINT "inproc://lt-bus-notices"

typedef struct lt_bus_args {
    const char *conninfo; /* borrowed; outlives the actor */
    const lt_config *cfg; /* copied at start */
    void *zmq_ctx;
    const char *curve_secret; /* the server's CURVE secret key (Z85) for replay; NULL = plain */
} lt_bus_args;

/* lt_actor_fn: run with lt_actor_new(ctx, "bus", lt_bus_actor, &args).
 * Signals failure (after logging the key: zmq.events or zmq.replay) when an
 * endpoint cannot be bound. Logs the bound endpoints as
 * {"zmq_events": "tcp://127.0.0.1:PORT"} and {"zmq_replay": ...}, so that
 * "tcp://host:*" configurations can be found. */
void lt_bus_actor(void *pipe, void *args);

/* A PUSH socket connected to the bus, for the calling thread only (close it
 * with zmq_close). NULL on error. */
void *lt_bus_notice_socket(void *zmq_ctx) __attribute__((warn_unused_result));

/* Sends a transient notice: topic "delivery.<destination>", json a JSON
 * text without personal data. Never blocks: notices are transient, so when
 * the bus is behind (its queue is bounded) the notice is dropped and -1
 * returned with errno EAGAIN. -1 with EINVAL for an empty destination. */
int lt_bus_notice_send(void *socket, const char *destination, const char *json)
    __attribute__((warn_unused_result));

/* The JSON an event is published with: the stored record, compact. For
 * dossier events every member DOMAIN.md marks as personal
 * (lt_mask_is_personal_field) is left out, at any depth: PUB has no
 * credentials. Returns a new string (caller frees), NULL when record is not
 * JSON or memory ran out. */
char *lt_bus_event_text(const char *kind, const char *record) __attribute__((warn_unused_result));

/* Events this process has just committed, already in their public form:
 * the writer hands them over after its commit so that the bus publishes
 * them without reading them back from the database (a read, a parse and a
 * serialization per event saved). Events of other processes, and any the
 * bus did not get this way, are still read from the database after NOTIFY,
 * so the stream stays complete and in order whoever wrote it. */
#define LT_BUS_LOCAL_ENDPOINT "inproc://lt-bus-local"

typedef struct lt_bus_local {
    int64_t first;             /* sequence of the first event */
    size_t n;                  /* events */
    char **topics;             /* n topics, owned */
    char **texts;              /* n public JSON texts (lt_bus_event_text's form), owned */
    struct lt_bus_local *next; /* the bus's queue */
} lt_bus_local;

/* A batch of n empty slots starting at first; NULL when out of memory. */
lt_bus_local *lt_bus_local_new(int64_t first, size_t n) __attribute__((warn_unused_result));
void lt_bus_local_free(lt_bus_local **self_p);
/* A PUSH socket to the bus for the calling thread (close with zmq_close). */
void *lt_bus_local_socket(void *zmq_ctx) __attribute__((warn_unused_result));
/* Hands b to the bus without blocking; on failure b is freed (the bus then
 * reads those events from the database) and -1 returned. */
int lt_bus_local_send(void *socket, lt_bus_local *b);

/* Removes personal members from value in place, at any depth. */
void lt_bus_strip_personal(json_t *value);

#endif
