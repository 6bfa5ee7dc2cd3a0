/* lt_ingress: the ZeroMQ ingress front (see lt_ingress.h).
 *
 * The envelope of each message (the ROUTER's routing id, and the empty
 * delimiter a REQ peer adds) is kept aside while the writer works and put
 * back on the answer. The checks here are the HTTP front's, in the same
 * order: database ready, token present, the bytes decode, the sender's
 * rate; and the limits are the same keys (limits.*), plus the message size
 * ZeroMQ itself enforces (limits.zmq_message: the peer is dropped unread,
 * so there is nobody to answer).
 *
 * With zmq.curve on, the ROUTER is a CURVE server: only connections whose
 * key the ZAP handler knows get here, each message names its unit (User-Id)
 * and key. A key replaced since the connection was made is refused here
 * (lt_zap_revoked); the unit and key go with the push. The key is a
 * credential (DESIGN.md: "the key identifies the unit and [JSON] is
 * enough"): without a token frame the writer acts as the key's ward or
 * parent (curve_keys.role); with one, it checks the token's unit against the
 * key's. */
#include "lt_ingress.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "lt_actor.h"
#include "lt_auth.h"
#include "lt_dbwatch.h"
#include "lt_dossier.h"
#include "lt_ingest.h"
#include "lt_limits.h"
#include "lt_log.h"
#include "lt_loop.h"
#include "lt_zap.h"

#define PUSH_TIMEOUT_MS 15000 /* the writer answers within 10 s, or 503s itself */
#define RATE_KEYS       4096  /* senders the rate limiter remembers (lt_limits.c) */
#define MAX_FRAMES      2     /* after the envelope: [token, JSON], or [JSON] */
#define EXPIRE_MS       250
#define MAX_ID          255 /* bytes of a ROUTER routing id */

/* Where an answer goes back to. */
typedef struct {
    unsigned char id[MAX_ID];
    size_t idlen;
    bool delimiter; /* a REQ peer: [id, "", ...] */
} envelope;

typedef struct {
    lt_config cfg;
    lt_loop *loop;
    void *router;
    void *dbstate;
    bool db_ready;
    bool db_known; /* a state came from the watcher (it republishes every second) */
    bool draining;
    lt_ingest_client *writer;
    lt_limits *rate;         /* token buckets of the senders (limits.rate) */
    int64_t refused_logged;  /* lt_loop_now_ms of the last rate-limit warning */
    lt_zap_revoked *revoked; /* CURVE on: keys replaced since start; NULL = plain text */
} ingress;

static void reply(ingress *self, const envelope *env, const char *json)
{
    if (zmq_send(self->router, env->id, env->idlen, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
        return; /* the peer is gone (ZMQ_ROUTER_MANDATORY) or its queue is full */
    if (env->delimiter)
        zmq_send(self->router, "", 0, ZMQ_SNDMORE);
    zmq_send(self->router, json, strlen(json), 0);
}

/* retry_after > 0 adds "retry_after" (seconds): ZeroMQ's Retry-After. */
static void reply_error_after(ingress *self, const envelope *env, const char *code,
                              const char *message, int retry_after)
{
    json_t *j = json_pack("{s:{s:s, s:s}}", "error", "code", code, "message", message);
    if (j && retry_after > 0)
        json_object_set_new(json_object_get(j, "error"), "retry_after", json_integer(retry_after));
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (text)
        reply(self, env, text);
    free(text);
}

static void reply_error(ingress *self, const envelope *env, const char *code, const char *message)
{
    reply_error_after(self, env, code, message, 0);
}

/* The sender's bucket: its token's prefix, or its address without one.
 * Returns 0 when cost records may pass, else the seconds to wait. */
static int rate_check(ingress *self, zmq_msg_t *frame, const char *token, int64_t cost)
{
    if (self->cfg.limits.rate <= 0)
        return 0;
    char key[80];
    const char *addr = token[0] ? NULL : zmq_msg_gets(frame, "Peer-Address");
    lt_limits_key(token, addr, key, sizeof(key));
    int64_t now = lt_loop_now_ms();
    int wait =
        lt_limits_take(self->rate, key, self->cfg.limits.rate, self->cfg.limits.burst, cost, now);
    if (wait > 0 && now - self->refused_logged >= 1000) {
        self->refused_logged = now; /* one line a second at most */
        LT_WARN("ingress: %s over limits.rate (%lld records/s, burst %lld); refusing",
                key[0] == 't' ? key : "a sender without a token", (long long)self->cfg.limits.rate,
                (long long)self->cfg.limits.burst);
    }
    return wait;
}

/* Reads the rest of a message into frames (at most max); returns how many
 * frames there were (more than max: the extra ones are dropped). */
static int read_frames(void *sock, zmq_msg_t *frames, int max)
{
    int n = 0, more = 1;
    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            break;
        }
        more = zmq_msg_more(&m);
        if (n < max)
            frames[n] = m;
        else
            zmq_msg_close(&m);
        n++;
    }
    return n;
}

static void handle(ingress *self, envelope *env, zmq_msg_t *frames, int n)
{
    if (n < 1 || n > MAX_FRAMES) {
        char msg[160];
        snprintf(msg, sizeof(msg),
                 "%d frames; at most %d: [token, JSON] (or [JSON] with a CURVE key or where no "
                 "token is required)",
                 n, MAX_FRAMES);
        reply_error(self, env, "malformed", msg);
        return;
    }
    /* Until the watcher's first state arrives the writer decides: it knows
     * its own connection. */
    if (self->draining || (self->db_known && !self->db_ready)) {
        reply_error(self, env, "not_ready",
                    self->draining ? "the gateway is stopping; try again shortly"
                                   : "the database is not reachable; try again shortly");
        return;
    }
    char unit[LT_ZAP_MAX_UNIT] = "", key[LT_ZAP_KEY_LEN + 1];
    if (self->revoked && lt_zap_peer(&frames[n - 1], unit, key) < 0) {
        reply_error(self, env, "unauthorized", "this connection has no CURVE identity");
        return;
    }
    if (self->revoked && lt_zap_revoked_has(self->revoked, key)) {
        reply_error(self, env, "unauthorized",
                    "the CURVE key of this connection was replaced (lienthong keygen); "
                    "reconnect with the unit's new key");
        return;
    }
    lt_ingest_req *push = lt_ingest_req_new(LT_CHANNEL_ZMQ);
    if (!push)
        return;
    snprintf(push->curve_unit, sizeof(push->curve_unit), "%s", unit);
    if (unit[0])
        snprintf(push->curve_key, sizeof(push->curve_key), "%s", key);
    if (n == 2) {
        size_t tl = zmq_msg_size(&frames[0]);
        if (tl >= sizeof(push->token)) {
            lt_ingest_req_destroy(&push);
            char *t = lt_auth_refusal_text(LT_AUTH_INVALID);
            if (t)
                reply(self, env, t);
            free(t);
            return;
        }
        memcpy(push->token, zmq_msg_data(&frames[0]), tl);
        push->token[tl] = '\0';
    } else if (self->cfg.auth.required && !unit[0]) {
        lt_ingest_req_destroy(&push);
        char *t = lt_auth_refusal_text(LT_AUTH_MISSING);
        if (t)
            reply(self, env, t);
        free(t);
        return;
    }
    zmq_msg_t *body = &frames[n - 1];
    size_t len = zmq_msg_size(body);
    push->body = malloc(len + 1);
    if (!push->body) {
        lt_ingest_req_destroy(&push);
        return;
    }
    memcpy(push->body, zmq_msg_data(body), len);
    push->body[len] = '\0';
    push->body_len = len;
    lt_dossier_limits lim = {.max_depth = (int)self->cfg.limits.depth,
                             .max_records = (size_t)self->cfg.limits.records};
    int rc = lt_dossier_decode_limited(push->body, len, &lim, &push->records, &push->single,
                                       &push->malformed);
    if (rc == LT_DOSSIER_ETOOMANY || rc == LT_DOSSIER_ENOMEM) {
        reply_error(self, env, lt_dossier_rc_code(rc), push->malformed.message);
        lt_ingest_req_destroy(&push);
        return;
    }
    /* Counted in records, before the writer sees anything: nothing stored. */
    int wait = rate_check(self, body, push->token,
                          push->records ? (int64_t)json_array_size(push->records) : 1);
    if (wait > 0) {
        char msg[200];
        snprintf(msg, sizeof(msg),
                 "more than limits.rate (%lld records/s, burst %lld) from this sender; nothing "
                 "was stored; retry after %d s",
                 (long long)self->cfg.limits.rate, (long long)self->cfg.limits.burst, wait);
        reply_error_after(self, env, "rate_limited", msg, wait);
        lt_ingest_req_destroy(&push);
        return;
    }
    envelope *keep = malloc(sizeof(*keep));
    if (!keep) {
        lt_ingest_req_destroy(&push);
        return;
    }
    *keep = *env;
    if (lt_ingest_client_send(self->writer, push, keep) < 0) {
        free(keep);
        lt_ingest_req_destroy(&push);
        char msg[160];
        snprintf(msg, sizeof(msg),
                 "%lld pushes already wait for the database (limits.queue); try again shortly",
                 (long long)self->cfg.limits.queue);
        reply_error_after(self, env, "busy", msg, 5);
    }
}

static int on_message(lt_loop *loop, void *sock, void *arg)
{
    (void)loop;
    ingress *self = arg;
    for (int budget = 0; budget < 256; budget++) {
        zmq_msg_t id;
        zmq_msg_init(&id);
        if (zmq_msg_recv(&id, sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&id);
            break;
        }
        envelope env = {.idlen = zmq_msg_size(&id)};
        if (env.idlen > MAX_ID)
            env.idlen = MAX_ID;
        memcpy(env.id, zmq_msg_data(&id), env.idlen);
        bool more = zmq_msg_more(&id);
        zmq_msg_close(&id);
        if (!more)
            continue;
        /* One more than the payload may have: a REQ peer's delimiter. */
        zmq_msg_t frames[MAX_FRAMES + 2];
        int n = read_frames(sock, frames, MAX_FRAMES + 2);
        int kept = n < MAX_FRAMES + 2 ? n : MAX_FRAMES + 2;
        /* A REQ peer's envelope has an empty delimiter before the payload. */
        env.delimiter = kept > 0 && zmq_msg_size(&frames[0]) == 0;
        int first = env.delimiter ? 1 : 0;
        handle(self, &env, frames + first, n - first);
        for (int i = 0; i < kept; i++)
            zmq_msg_close(&frames[i]);
    }
    return 0;
}

static int on_writer(lt_loop *loop, void *sock, void *arg)
{
    (void)loop;
    (void)sock;
    ingress *self = arg;
    for (;;) {
        int events = 0;
        size_t el = sizeof(events);
        if (zmq_getsockopt(lt_ingest_client_socket(self->writer), ZMQ_EVENTS, &events, &el) < 0 ||
            !(events & ZMQ_POLLIN))
            break;
        lt_ingest_req *push = NULL;
        envelope *env = lt_ingest_client_recv(self->writer, &push);
        if (!env)
            continue;
        reply(self, env, push->answer ? push->answer : "{\"error\":{\"code\":\"internal\"}}");
        free(env);
        lt_ingest_req_destroy(&push);
    }
    return 0;
}

static void on_expired(void *cookie, void *arg)
{
    envelope *env = cookie;
    reply_error(arg, env, "timeout", "the database did not answer in time; try again shortly");
    free(env);
}

static int on_expire(lt_loop *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    ingress *self = arg;
    lt_ingest_client_expire(self->writer, lt_loop_now_ms(), on_expired, self);
    return self->draining && lt_ingest_client_pending(self->writer) == 0 ? -1 : 0;
}

static int on_revoked(lt_loop *loop, void *sock, void *arg)
{
    (void)loop;
    (void)sock;
    lt_zap_revoked_read(((ingress *)arg)->revoked);
    return 0;
}

static int on_dbstate(lt_loop *loop, void *sock, void *arg)
{
    (void)loop;
    ingress *self = arg;
    char *topic = lt_msg_recv_str(sock, NULL);
    char *text = lt_msg_recv_str(sock, NULL);
    json_t *j = text ? json_loads(text, 0, NULL) : NULL;
    if (j) {
        self->db_ready = json_is_true(json_object_get(j, "ready"));
        self->db_known = true;
    }
    json_decref(j);
    free(topic);
    free(text);
    lt_msg_drain(sock);
    return 0;
}

static int on_pipe(lt_loop *loop, void *pipe, void *arg)
{
    (void)loop;
    ingress *self = arg;
    if (lt_actor_read_pipe(pipe, &self->cfg) >= 0)
        return 0;
    /* Stop taking messages; answer those waiting (bounded by their
     * deadline), then leave. */
    self->draining = true;
    lt_loop_remove_socket(self->loop, self->router);
    return lt_ingest_client_pending(self->writer) == 0 ? -1 : 0;
}

void lt_ingress_actor(void *pipe, void *args)
{
    const lt_ingress_args *a = args;
    ingress self = {0};
    int linger = 0, one = 1;
    int64_t maxmsg = 0;
    self.loop = lt_loop_new();
    self.router = zmq_socket(a->zmq_ctx, ZMQ_ROUTER);
    self.dbstate = zmq_socket(a->zmq_ctx, ZMQ_SUB);
    if (!self.loop || !self.router || !self.dbstate || lt_config_copy(&self.cfg, a->cfg) < 0)
        goto fail;
    /* ZeroMQ drops a peer whose message is larger before buffering it. */
    maxmsg = self.cfg.limits.zmq_message;
    if (zmq_setsockopt(self.router, ZMQ_LINGER, &linger, sizeof(linger)) < 0 ||
        zmq_setsockopt(self.router, ZMQ_ROUTER_MANDATORY, &one, sizeof(one)) < 0 ||
        zmq_setsockopt(self.router, ZMQ_MAXMSGSIZE, &maxmsg, sizeof(maxmsg)) < 0 ||
        zmq_setsockopt(self.dbstate, ZMQ_LINGER, &linger, sizeof(linger)) < 0 ||
        zmq_setsockopt(self.dbstate, ZMQ_SUBSCRIBE, "dbstate", 7) < 0 ||
        zmq_connect(self.dbstate, LT_DBSTATE_ENDPOINT) < 0 ||
        !(self.writer =
              lt_ingest_client_new(a->zmq_ctx, (size_t)self.cfg.limits.queue, PUSH_TIMEOUT_MS)) ||
        !(self.rate = lt_limits_new(RATE_KEYS)))
        goto fail;
    if (a->curve_secret &&
        (lt_zap_server_setup(self.router, a->curve_secret) < 0 ||
         !(self.revoked = lt_zap_revoked_new(a->zmq_ctx)) ||
         lt_loop_add_socket(self.loop, lt_zap_revoked_socket(self.revoked), on_revoked, &self) < 0))
        goto fail;
    if (lt_zmq_bind_logged(self.router, "zmq.ingress", self.cfg.zmq.ingress, "zmq_ingress") < 0 ||
        lt_loop_add_socket(self.loop, pipe, on_pipe, &self) < 0 ||
        lt_loop_add_socket(self.loop, self.router, on_message, &self) < 0 ||
        lt_loop_add_socket(self.loop, self.dbstate, on_dbstate, &self) < 0 ||
        lt_loop_add_socket(self.loop, lt_ingest_client_socket(self.writer), on_writer, &self) < 0 ||
        lt_loop_add_timer(self.loop, EXPIRE_MS, EXPIRE_MS, on_expire, &self) < 0)
        goto fail;
    lt_actor_signal(pipe, 0);
    lt_loop_run(self.loop);
    lt_ingest_client_expire(self.writer, INT64_MAX, on_expired, &self);
    goto out;
fail:
    LT_ERROR("ingress cannot start: %s", zmq_strerror(zmq_errno()));
    lt_actor_signal(pipe, -1);
out:
    lt_ingest_client_destroy(&self.writer);
    lt_limits_destroy(&self.rate);
    lt_zap_revoked_destroy(&self.revoked);
    if (self.router)
        zmq_close(self.router);
    if (self.dbstate)
        zmq_close(self.dbstate);
    lt_loop_destroy(&self.loop);
    lt_config_free(&self.cfg);
}
