/* lt_push over ZeroMQ: one DEALER socket per sender (CURVE when asked),
 * each sending [token, JSON] to the ingress ROUTER and reading the JSON
 * answer; a request that times out takes its socket with it. The loop that
 * polls them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "lt_push.h"

static int zmq_open(push *p, sender *s)
{
    s->sock = zmq_socket(p->zctx, ZMQ_DEALER);
    if (!s->sock)
        return -1;
    int zero = 0;
    zmq_setsockopt(s->sock, ZMQ_LINGER, &zero, sizeof(zero));
    if (lt_tool_curve_apply(&p->o.curve, s->sock) < 0)
        return -1;
    return zmq_connect(s->sock, p->o.endpoint);
}

/* A request that timed out: its answer may still come, so the socket goes
 * and a fresh one takes its place (a late answer must never be read as the
 * next request's). */
static int zmq_reopen(push *p, sender *s)
{
    zmq_close(s->sock);
    s->sock = NULL;
    return zmq_open(p, s);
}

int lt_push_zmq_send(push *p, sender *s, int64_t now)
{
    int rc = 0;
    if (p->o.token)
        rc = zmq_send(s->sock, p->o.token, strlen(p->o.token), ZMQ_SNDMORE | ZMQ_DONTWAIT);
    if (rc >= 0)
        rc = zmq_send(s->sock, s->body.data, s->body.len, ZMQ_DONTWAIT);
    s->sent_ns = now;
    if (rc < 0) {
        lt_push_on_transport_error(p, s, false, now);
        return zmq_reopen(p, s);
    }
    s->state = S_INFLIGHT;
    return 0;
}

/* Reads one answer; its last frame is the JSON (a REQ-style empty delimiter
 * or any envelope before it is skipped). */
static void zmq_read(push *p, sender *s, int64_t now)
{
    lt_dgen_buf_reset(&s->answer);
    int more = 1;
    size_t ml = sizeof(more);
    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, s->sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            return;
        }
        if (zmq_msg_size(&m) > 0) {
            lt_dgen_buf_reset(&s->answer);
            if (lt_dgen_buf_add(&s->answer, zmq_msg_data(&m), zmq_msg_size(&m)) < 0)
                p->st.protocol_errors++;
        }
        zmq_msg_close(&m);
        zmq_getsockopt(s->sock, ZMQ_RCVMORE, &more, &ml);
    }
    if (s->state == S_INFLIGHT)
        lt_push_on_answer(p, s, 0, now);
}

int lt_push_zmq_run(push *p)
{
    p->zctx = zmq_ctx_new();
    if (!p->zctx)
        return -1;
    for (unsigned k = 0; k < p->o.senders; k++)
        if (zmq_open(p, &p->s[k]) < 0) {
            fprintf(stderr, "lt_push: cannot connect to %s: %s\n", p->o.endpoint,
                    zmq_strerror(errno));
            return -1;
        }
    zmq_pollitem_t *items = calloc(p->o.senders, sizeof(*items));
    sender **owner = calloc(p->o.senders, sizeof(*owner));
    int rc = -1;
    if (!items || !owner)
        goto out;
    while (!lt_push_all_done(p)) {
        int64_t now;
        int turn = lt_push_turn(p, &now);
        if (turn < 0)
            goto out;
        if (turn > 0)
            break;
        int n = 0;
        for (unsigned k = 0; k < p->o.senders; k++) {
            sender *s = &p->s[k];
            if (s->state != S_INFLIGHT)
                continue;
            if (now - s->sent_ns >= p->o.timeout_ms * 1000000) {
                lt_push_on_transport_error(p, s, true, now);
                if (zmq_reopen(p, s) < 0)
                    goto out;
                continue;
            }
            items[n] = (zmq_pollitem_t){.socket = s->sock, .events = ZMQ_POLLIN};
            owner[n++] = s;
        }
        if (lt_push_all_done(p))
            break;
        long ms = lt_push_wait_ms(p, lt_push_now_ns());
        if (n == 0) {
            if (ms > 0)
                usleep((useconds_t)ms * 1000);
            continue;
        }
        if (zmq_poll(items, n, ms) < 0 && errno != EINTR)
            goto out;
        for (int k = 0; k < n; k++)
            if (items[k].revents & ZMQ_POLLIN)
                zmq_read(p, owner[k], lt_push_now_ns());
    }
    rc = 0;
out:
    free(items);
    free(owner);
    return rc;
}
