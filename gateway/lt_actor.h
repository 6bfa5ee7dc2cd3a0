/* lt_actor: a thread that owns its sockets and talks to its creator over an
 * inproc PAIR pipe (CZMQ's zactor). The creator holds one end; the actor
 * function gets the other, signals readiness once, and must leave when it
 * reads "$TERM" on the pipe. No socket crosses a thread boundary. */
#ifndef LT_ACTOR_H
#define LT_ACTOR_H

#include <stddef.h>

typedef struct lt_actor lt_actor;

/* Runs in the new thread. It must call lt_actor_signal(pipe, 0) when it is
 * ready, or lt_actor_signal(pipe, -1) and return when it cannot start. */
typedef void(lt_actor_fn)(void *pipe, void *args);

/* Starts fn in a thread named name (log lines carry it) and waits for its
 * readiness signal. Returns NULL when the thread cannot start or the actor
 * signals failure; the thread has then been joined. */
lt_actor *lt_actor_new(void *zmq_ctx, const char *name, lt_actor_fn *fn, void *args)
    __attribute__((warn_unused_result));

/* Sends "$TERM", waits for the thread to finish, closes the pipe, sets
 * *self_p to NULL. Accepts NULL. */
void lt_actor_destroy(lt_actor **self_p);

/* The creator's end of the pipe, to send commands and poll for replies. */
void *lt_actor_pipe(lt_actor *self);
const char *lt_actor_name(const lt_actor *self);

/* Used inside the actor: tells the creator it started (0) or failed (-1). */
int lt_actor_signal(void *pipe, int status);

/* Sends a multipart message of NUL-terminated strings; the list ends with
 * NULL. Returns 0 or -1 (errno from ZeroMQ). */
int lt_msg_send(void *socket, const char *frame, ...) __attribute__((sentinel));

/* Sends one frame holding a pointer; ownership passes to the receiver. Only
 * for inproc pipes, where both ends share the address space. */
int lt_msg_send_ptr(void *socket, const char *command, void *ptr);

/* Receives one frame as a newly allocated string (caller frees); NULL on
 * error or interruption. *ret_more (may be NULL) says whether frames follow. */
char *lt_msg_recv_str(void *socket, int *ret_more) __attribute__((warn_unused_result));

/* Receives a pointer frame sent with lt_msg_send_ptr. NULL on error. */
void *lt_msg_recv_ptr(void *socket);

/* Discards the remaining frames of a multipart message. */
void lt_msg_drain(void *socket);

/* Binds sock to endpoint and logs the endpoint actually bound under logkey
 * ({"zmq_events": "tcp://127.0.0.1:PORT"}), so that a "tcp://host:*"
 * configuration can be found by scripts and tests. On failure logs key
 * (the configuration key, e.g. zmq.events) and returns -1. */
int lt_zmq_bind_logged(void *sock, const char *key, const char *endpoint, const char *logkey)
    __attribute__((warn_unused_result));

struct lt_config;

/* The pipe protocol every actor speaks, read from its pipe in one call:
 * "$TERM" returns -1 (the actor leaves its loop, or starts draining);
 * "$RELOAD" + a configuration (lt_msg_send_ptr) copies its reloadable keys
 * into *cfg (NULL: the copy is only freed) and returns 1 when any changed;
 * anything else is drained and returns 0. */
int lt_actor_read_pipe(void *pipe, struct lt_config *cfg);

#endif
