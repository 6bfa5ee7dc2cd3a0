/* lt_loop: the event loop every actor thread runs. One zmq_poll over the
 * thread's ZeroMQ sockets and raw file descriptors (libpq's PQsocket, the
 * HTTP server's epoll fd, libcurl's sockets, a signalfd), with the nearest
 * timer as the poll timeout. Modelled on CZMQ's zloop and Redis's ae: the
 * loop owns no socket, it only dispatches. Not thread-safe: one loop, one
 * thread. */
#ifndef LT_LOOP_H
#define LT_LOOP_H

#include <stdint.h>

typedef struct lt_loop lt_loop;

/* Handlers return 0 to go on, -1 to stop the loop (lt_loop_run returns). */
typedef int(lt_loop_socket_fn)(lt_loop *loop, void *socket, void *arg);
typedef int(lt_loop_fd_fn)(lt_loop *loop, int fd, short revents, void *arg);
typedef int(lt_loop_timer_fn)(lt_loop *loop, int timer_id, void *arg);

lt_loop *lt_loop_new(void) __attribute__((warn_unused_result));
void lt_loop_destroy(lt_loop **self_p);

/* Watches a ZeroMQ socket for ZMQ_POLLIN. The loop does not own it.
 * Returns 0, or -1 when the watch table is full (a limit set at start). */
int lt_loop_add_socket(lt_loop *self, void *socket, lt_loop_socket_fn *fn, void *arg)
    __attribute__((warn_unused_result));
void lt_loop_remove_socket(lt_loop *self, void *socket);

/* Watches a file descriptor for events (ZMQ_POLLIN and/or ZMQ_POLLOUT). */
int lt_loop_add_fd(lt_loop *self, int fd, short events, lt_loop_fd_fn *fn, void *arg)
    __attribute__((warn_unused_result));
/* Changes what fd is watched for, e.g. write interest while libpq flushes. */
void lt_loop_set_fd_events(lt_loop *self, int fd, short events);
void lt_loop_remove_fd(lt_loop *self, int fd);

/* Fires fn after delay_ms, then every interval_ms when interval_ms > 0.
 * Returns a timer id (> 0) or -1 when the timer table is full. */
int lt_loop_add_timer(lt_loop *self, int64_t delay_ms, int64_t interval_ms, lt_loop_timer_fn *fn,
                      void *arg) __attribute__((warn_unused_result));
/* Cancelling an unknown or fired one-shot id is a no-op. */
void lt_loop_cancel_timer(lt_loop *self, int timer_id);

/* Runs until a handler returns -1, lt_loop_stop is called, or the ZeroMQ
 * context terminates. Returns 0 on a requested stop, -1 on a poll error. */
int lt_loop_run(lt_loop *self);
void lt_loop_stop(lt_loop *self);

/* Monotonic milliseconds, the clock timers use. */
int64_t lt_loop_now_ms(void);

#endif
