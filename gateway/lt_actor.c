/* lt_actor: threads as actors over inproc pipes (see lt_actor.h).
 *
 * Why a pipe and not shared state: every actor owns its ZeroMQ sockets and
 * its database connection, and messages are the only way in. A crash or a
 * slow peer in one actor then never corrupts another's state, and the same
 * message protocol works when a later version moves an actor out of
 * process. */
#include "lt_actor.h"
#include "lt_config.h"
#include "lt_log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

struct lt_actor {
    pthread_t thread; /* joined in lt_actor_destroy */
    void *pipe;       /* creator's end, PAIR */
    char name[16];    /* thread name for logs */
};

/* What the new thread needs; freed by the thread once it has copied it. */
typedef struct {
    lt_actor_fn *fn;
    void *args;
    void *pipe; /* actor's end, PAIR */
    char name[16];
} lt_actor_start;

static atomic_uint actor_serial;

int lt_msg_send(void *socket, const char *frame, ...)
{
    va_list ap;
    va_start(ap, frame);
    const char *cur = frame;
    int rc = 0;
    while (cur) {
        const char *next = va_arg(ap, const char *);
        if (zmq_send(socket, cur, strlen(cur), next ? ZMQ_SNDMORE : 0) < 0) {
            rc = -1;
            break;
        }
        cur = next;
    }
    va_end(ap);
    return rc;
}

int lt_msg_send_ptr(void *socket, const char *command, void *ptr)
{
    if (zmq_send(socket, command, strlen(command), ZMQ_SNDMORE) < 0)
        return -1;
    return zmq_send(socket, &ptr, sizeof(ptr), 0) < 0 ? -1 : 0;
}

char *lt_msg_recv_str(void *socket, int *ret_more)
{
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    if (zmq_msg_recv(&msg, socket, 0) < 0) {
        zmq_msg_close(&msg);
        return NULL;
    }
    size_t n = zmq_msg_size(&msg);
    char *s = malloc(n + 1);
    if (s) {
        memcpy(s, zmq_msg_data(&msg), n);
        s[n] = '\0';
    }
    if (ret_more)
        *ret_more = zmq_msg_more(&msg);
    zmq_msg_close(&msg);
    return s;
}

void *lt_msg_recv_ptr(void *socket)
{
    void *ptr = NULL;
    int n = zmq_recv(socket, &ptr, sizeof(ptr), 0);
    return n == (int)sizeof(ptr) ? ptr : NULL;
}

void lt_msg_drain(void *socket)
{
    int more = 0;
    size_t len = sizeof(more);
    while (zmq_getsockopt(socket, ZMQ_RCVMORE, &more, &len) == 0 && more) {
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        int rc = zmq_msg_recv(&msg, socket, 0);
        zmq_msg_close(&msg);
        if (rc < 0)
            break;
        len = sizeof(more);
    }
}

int lt_actor_read_pipe(void *pipe, struct lt_config *cfg)
{
    int more = 0, rc = 0;
    char *cmd = lt_msg_recv_str(pipe, &more);
    if (!cmd || strcmp(cmd, "$TERM") == 0) {
        rc = -1;
    } else if (strcmp(cmd, "$RELOAD") == 0 && more) {
        lt_config *next = lt_msg_recv_ptr(pipe);
        if (next && cfg) {
            int changed = lt_config_apply_reload(cfg, next, NULL, 0);
            if (changed < 0)
                LT_ERROR("reload ran out of memory; some keys kept their old value");
            rc = changed > 0 ? 1 : 0;
        }
        if (next) {
            lt_config_free(next);
            free(next);
        }
    }
    lt_msg_drain(pipe);
    free(cmd);
    return rc;
}

int lt_actor_signal(void *pipe, int status)
{
    return lt_msg_send(pipe, "$SIGNAL", status == 0 ? "0" : "-1", NULL);
}

/* Waits for the actor's first message, which must be its readiness signal. */
static int wait_signal(void *pipe)
{
    int more = 0;
    char *cmd = lt_msg_recv_str(pipe, &more);
    char *status = more ? lt_msg_recv_str(pipe, NULL) : NULL;
    int rc = (cmd && status && strcmp(cmd, "$SIGNAL") == 0 && strcmp(status, "0") == 0) ? 0 : -1;
    free(cmd);
    free(status);
    return rc;
}

static void *actor_main(void *arg)
{
    lt_actor_start start = *(lt_actor_start *)arg;
    free(arg);
    lt_log_set_thread_name(start.name);
    /* The same name for `top -H`, perf and /proc/PID/task/TID/comm, so an
     * operator sees which actor burns the CPU (15 bytes at most). */
    char comm[16];
    snprintf(comm, sizeof(comm), "lt-%.12s", start.name);
    pthread_setname_np(pthread_self(), comm);
    start.fn(start.pipe, start.args);
    /* Linger 0: the creator may already be gone when a failed actor leaves. */
    int linger = 0;
    zmq_setsockopt(start.pipe, ZMQ_LINGER, &linger, sizeof(linger));
    zmq_close(start.pipe);
    return NULL;
}

lt_actor *lt_actor_new(void *zmq_ctx, const char *name, lt_actor_fn *fn, void *args)
{
    lt_actor *self = calloc(1, sizeof(*self));
    lt_actor_start *start = calloc(1, sizeof(*start));
    void *child = NULL;
    bool started = false;
    if (!self || !start)
        goto fail;
    snprintf(self->name, sizeof(self->name), "%s", name);
    char endpoint[64];
    snprintf(endpoint, sizeof(endpoint), "inproc://lt-actor-%u-%s",
             atomic_fetch_add(&actor_serial, 1), self->name);
    self->pipe = zmq_socket(zmq_ctx, ZMQ_PAIR);
    child = zmq_socket(zmq_ctx, ZMQ_PAIR);
    if (!self->pipe || !child || zmq_bind(self->pipe, endpoint) < 0 ||
        zmq_connect(child, endpoint) < 0)
        goto fail;
    *start = (lt_actor_start){.fn = fn, .args = args, .pipe = child};
    memcpy(start->name, self->name, sizeof(start->name));
    if (pthread_create(&self->thread, NULL, actor_main, start) != 0)
        goto fail;
    started = true;
    start = NULL; /* the thread owns it now */
    child = NULL;
    if (wait_signal(self->pipe) < 0) {
        pthread_join(self->thread, NULL);
        goto fail;
    }
    return self;
fail:
    if (!started)
        free(start);
    if (child)
        zmq_close(child);
    if (self && self->pipe) {
        int linger = 0;
        zmq_setsockopt(self->pipe, ZMQ_LINGER, &linger, sizeof(linger));
        zmq_close(self->pipe);
    }
    free(self);
    return NULL;
}

void lt_actor_destroy(lt_actor **self_p)
{
    if (!self_p || !*self_p)
        return;
    lt_actor *self = *self_p;
    /* DONTWAIT: an actor that already left must not block the shutdown. */
    zmq_send(self->pipe, "$TERM", 5, ZMQ_DONTWAIT);
    pthread_join(self->thread, NULL);
    int linger = 0;
    zmq_setsockopt(self->pipe, ZMQ_LINGER, &linger, sizeof(linger));
    zmq_close(self->pipe);
    free(self);
    *self_p = NULL;
}

void *lt_actor_pipe(lt_actor *self)
{
    return self->pipe;
}

const char *lt_actor_name(const lt_actor *self)
{
    return self->name;
}

int lt_zmq_bind_logged(void *sock, const char *key, const char *endpoint, const char *logkey)
{
    if (zmq_bind(sock, endpoint) < 0) {
        LT_ERROR("%s: cannot bind %s: %s", key, endpoint, zmq_strerror(zmq_errno()));
        return -1;
    }
    char bound[256] = "";
    size_t len = sizeof(bound);
    if (zmq_getsockopt(sock, ZMQ_LAST_ENDPOINT, bound, &len) < 0)
        snprintf(bound, sizeof(bound), "%s", endpoint);
    lt_log_json(LT_LOG_INFO, json_pack("{s:s}", logkey, bound), "%s bound to %s", key, bound);
    return 0;
}
