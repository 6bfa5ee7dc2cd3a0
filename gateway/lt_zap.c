/* lt_zap: the ZAP handler and the CURVE helpers of the ZeroMQ fronts (see
 * lt_zap.h).
 *
 * Why a cache instead of a query per handshake: libzmq waits for the ZAP
 * answer before the connection may carry anything, so the answer should not
 * wait behind a database round trip, and a handshake storm (every ward
 * reconnecting after a network cut) should not become a query storm. The
 * table is small (one row per unit) and changes only by `lienthong keygen`,
 * whose NOTIFY reloads it at once; the periodic reload bounds the damage of
 * a notification lost with a connection. While the database is unreachable
 * the last loaded keys keep working; before the first load, handshakes get
 * 300 (temporary) and the peer retries. */
#include "lt_zap.h"
#include "lt_actor.h"
#include "lt_log.h"
#include "lt_loop.h"
#include "lt_pgconn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define QUERY_TIMEOUT_MS 10000
#define MAX_ZAP_FRAMES   8
#define KEYS_SQL         "SELECT public_key, unit_code FROM curve_keys ORDER BY public_key COLLATE \"C\""

typedef struct {
    char key[LT_ZAP_KEY_LEN + 1];
    char unit[LT_ZAP_MAX_UNIT];
} zap_key;

typedef struct {
    lt_config cfg;
    lt_loop *loop;
    void *rep; /* LT_ZAP_ENDPOINT */
    void *pub; /* LT_ZAP_REVOKED_ENDPOINT */
    lt_pgconn *pg;
    zap_key *keys; /* sorted by key (strcmp), for bsearch */
    size_t nkeys;
    bool loaded;    /* keys came from the database at least once */
    bool listening; /* LISTEN done on the current connection */
    bool again;     /* a reload was asked while a query ran */
    /* A refused client reconnects every ZMQ_RECONNECT_IVL: log a key once
     * a minute, not at every attempt. */
    char last_refused[LT_ZAP_KEY_LEN + 1];
    int64_t last_refused_ms;
    uint64_t refused; /* since the last log line */
} zap;

static int cmp_key(const void *a, const void *b)
{
    return strcmp(((const zap_key *)a)->key, ((const zap_key *)b)->key);
}

static const zap_key *find(const zap_key *keys, size_t n, const char *key)
{
    zap_key probe;
    snprintf(probe.key, sizeof(probe.key), "%s", key);
    return n ? bsearch(&probe, keys, n, sizeof(*keys), cmp_key) : NULL;
}

/* ---- the table ----------------------------------------------------------- */

static void reload(zap *self);

static void on_keys(lt_pgconn *pg, PGresult *r, const char *err, void *arg)
{
    (void)pg;
    zap *self = arg;
    zap_key *keys = NULL;
    int n = 0;
    if (!r || PQresultStatus(r) != PGRES_TUPLES_OK) {
        /* Before the migration that makes the table, or the connection
         * went: the periodic reload tries again. */
        LT_WARN("zap: cannot load the CURVE keys: %s", r ? PQresultErrorMessage(r) : err);
        goto out;
    }
    n = PQntuples(r);
    keys = calloc(n ? (size_t)n : 1, sizeof(*keys));
    if (!keys) {
        LT_ERROR("zap: out of memory loading %d keys", n);
        goto out;
    }
    for (int i = 0; i < n; i++) {
        snprintf(keys[i].key, sizeof(keys[i].key), "%s", PQgetvalue(r, i, 0));
        snprintf(keys[i].unit, sizeof(keys[i].unit), "%s", PQgetvalue(r, i, 1));
    }
    qsort(keys, (size_t)n, sizeof(*keys), cmp_key); /* the collation is "C"; make sure */
    /* A key that went away: connections made with it must stop too. */
    for (size_t i = 0; i < self->nkeys; i++)
        if (!find(keys, (size_t)n, self->keys[i].key) &&
            lt_msg_send(self->pub, "revoked", self->keys[i].key, NULL) < 0)
            LT_WARN("zap: cannot announce a removed key: %s", zmq_strerror(zmq_errno()));
    if (!self->loaded || (size_t)n != self->nkeys)
        LT_INFO("zap: %d unit CURVE key(s) loaded", n);
    free(self->keys);
    self->keys = keys;
    self->nkeys = (size_t)n;
    self->loaded = true;
out:
    PQclear(r);
    if (self->again) {
        self->again = false;
        reload(self);
    }
}

static void reload(zap *self)
{
    if (!lt_pgconn_up(self->pg))
        return;
    if (!lt_pgconn_idle(self->pg) ||
        lt_pgconn_query(self->pg, KEYS_SQL, 0, NULL, QUERY_TIMEOUT_MS, on_keys, self) < 0)
        self->again = true;
}

static void on_listen(lt_pgconn *pg, PGresult *r, const char *err, void *arg)
{
    (void)pg;
    zap *self = arg;
    self->listening = r && PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!self->listening)
        LT_WARN("zap: LISTEN failed: %s", r ? PQresultErrorMessage(r) : err);
    PQclear(r);
    self->again = false;
    reload(self);
}

static void on_pg_state(lt_pgconn *pg, bool up, const char *reason, void *arg)
{
    (void)reason;
    zap *self = arg;
    self->listening = false;
    if (up &&
        lt_pgconn_query(pg, "LISTEN lt_curve_keys", 0, NULL, QUERY_TIMEOUT_MS, on_listen, self) < 0)
        self->again = true;
}

static void on_pg_notify(lt_pgconn *pg, const char *channel, const char *payload, void *arg)
{
    (void)pg;
    (void)channel;
    (void)payload;
    reload(arg);
}

static int on_reload_timer(lt_loop *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    zap *self = arg;
    if (lt_pgconn_up(self->pg) && !self->listening && lt_pgconn_idle(self->pg))
        on_pg_state(self->pg, true, "", self);
    else
        reload(self);
    return 0;
}

/* ---- ZAP (RFC 27) -------------------------------------------------------- */

static bool frame_is(zmq_msg_t *m, const char *text)
{
    return zmq_msg_size(m) == strlen(text) && memcmp(zmq_msg_data(m), text, strlen(text)) == 0;
}

/* The metadata frame: one ZMTP property, X-Curve-Key = key. */
static size_t metadata(unsigned char *buf, const char *key)
{
    static const char name[] = "X-Curve-Key";
    size_t nl = strlen(name), vl = strlen(key), at = 0;
    uint32_t be = htonl((uint32_t)vl);
    buf[at++] = (unsigned char)nl;
    memcpy(buf + at, name, nl);
    at += nl;
    memcpy(buf + at, &be, 4);
    at += 4;
    memcpy(buf + at, key, vl);
    return at + vl;
}

static void answer(zap *self, zmq_msg_t *request_id, const char *status, const char *text,
                   const char *user, const char *key)
{
    unsigned char meta[64];
    size_t ml = key ? metadata(meta, key) : 0;
    zmq_send(self->rep, "1.0", 3, ZMQ_SNDMORE);
    zmq_send(self->rep, request_id ? zmq_msg_data(request_id) : "",
             request_id ? zmq_msg_size(request_id) : 0, ZMQ_SNDMORE);
    zmq_send(self->rep, status, strlen(status), ZMQ_SNDMORE);
    zmq_send(self->rep, text, strlen(text), ZMQ_SNDMORE);
    zmq_send(self->rep, user, strlen(user), ZMQ_SNDMORE);
    zmq_send(self->rep, meta, ml, 0);
}

static int on_request(lt_loop *loop, void *sock, void *arg)
{
    (void)loop;
    zap *self = arg;
    zmq_msg_t f[MAX_ZAP_FRAMES];
    int n = 0, more = 1;
    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            if (n == 0)
                return 0;
            break;
        }
        more = zmq_msg_more(&m);
        if (n < MAX_ZAP_FRAMES)
            f[n++] = m;
        else
            zmq_msg_close(&m);
    }
    /* version, request id, domain, address, routing id, mechanism, key */
    char key[LT_ZAP_KEY_LEN + 1] = "";
    const zap_key *k = NULL;
    if (n < 6 || !frame_is(&f[0], "1.0")) {
        answer(self, n > 1 ? &f[1] : NULL, "500", "malformed ZAP request", "", NULL);
    } else if (!frame_is(&f[5], "CURVE") || n != 7 || zmq_msg_size(&f[6]) != 32) {
        answer(self, &f[1], "400", "CURVE required", "", NULL);
    } else if (!zmq_z85_encode(key, zmq_msg_data(&f[6]), 32)) {
        answer(self, &f[1], "500", "cannot encode the key", "", NULL);
    } else if (!self->loaded) {
        answer(self, &f[1], "300", "keys not loaded yet; try again", "", NULL);
    } else if (!(k = find(self->keys, self->nkeys, key))) {
        /* A key names a system, not a person: it may be logged, and tells
         * the operator which peer is knocking with a stale key. */
        char addr[64];
        snprintf(addr, sizeof(addr), "%.*s", (int)zmq_msg_size(&f[3]),
                 (const char *)zmq_msg_data(&f[3]));
        int64_t now = lt_loop_now_ms();
        self->refused++;
        if (strcmp(key, self->last_refused) != 0 || now - self->last_refused_ms >= 60000) {
            LT_WARN("zap: refused CURVE key %s from %s: not a unit's key (%" PRIu64
                    " refusal(s) since the last line)",
                    key, addr, self->refused);
            memcpy(self->last_refused, key, sizeof(key));
            self->last_refused_ms = now;
            self->refused = 0;
        }
        answer(self, &f[1], "400", "unknown key", "", NULL);
    } else {
        answer(self, &f[1], "200", "OK", k->unit, k->key);
    }
    for (int i = 0; i < n; i++)
        zmq_msg_close(&f[i]);
    return 0;
}

static int on_pipe(lt_loop *loop, void *pipe, void *arg)
{
    (void)loop;
    zap *self = arg;
    return lt_actor_read_pipe(pipe, &self->cfg) < 0 ? -1 : 0;
}

void lt_zap_actor(void *pipe, void *args)
{
    const lt_zap_args *a = args;
    zap self = {0};
    int linger = 0;
    lt_pgconn_callbacks cb = {.state = on_pg_state, .notify = on_pg_notify, .arg = &self};
    self.loop = lt_loop_new();
    self.rep = zmq_socket(a->zmq_ctx, ZMQ_REP);
    self.pub = zmq_socket(a->zmq_ctx, ZMQ_PUB);
    if (!self.loop || !self.rep || !self.pub || lt_config_copy(&self.cfg, a->cfg) < 0 ||
        zmq_setsockopt(self.rep, ZMQ_LINGER, &linger, sizeof(linger)) < 0 ||
        zmq_setsockopt(self.pub, ZMQ_LINGER, &linger, sizeof(linger)) < 0 ||
        zmq_bind(self.rep, LT_ZAP_ENDPOINT) < 0 || zmq_bind(self.pub, LT_ZAP_REVOKED_ENDPOINT) < 0)
        goto fail;
    self.pg =
        lt_pgconn_new(self.loop, a->conninfo, self.cfg.database.connect_timeout_ms, "zap", &cb);
    if (!self.pg || lt_loop_add_socket(self.loop, pipe, on_pipe, &self) < 0 ||
        lt_loop_add_socket(self.loop, self.rep, on_request, &self) < 0 ||
        lt_loop_add_timer(self.loop, LT_ZAP_RELOAD_MS, LT_ZAP_RELOAD_MS, on_reload_timer, &self) <
            0)
        goto fail;
    lt_actor_signal(pipe, 0);
    lt_loop_run(self.loop);
    goto out;
fail:
    LT_ERROR("zap: cannot start: %s", zmq_strerror(zmq_errno()));
    lt_actor_signal(pipe, -1);
out:
    lt_pgconn_destroy(&self.pg);
    if (self.rep)
        zmq_close(self.rep);
    if (self.pub)
        zmq_close(self.pub);
    free(self.keys);
    lt_loop_destroy(&self.loop);
    lt_config_free(&self.cfg);
}

/* ---- key files ----------------------------------------------------------- */

int lt_zap_keypair(char ret_public[LT_ZAP_KEY_LEN + 1], char ret_secret[LT_ZAP_KEY_LEN + 1])
{
    return zmq_curve_keypair(ret_public, ret_secret) == 0 ? 0 : -1;
}

/* path with ".key" turned into ".pub" (or ".pub" appended). */
static int public_path(const char *path, char *buf, size_t cap)
{
    size_t len = strlen(path);
    int n = len > 4 && strcmp(path + len - 4, ".key") == 0
                ? snprintf(buf, cap, "%.*s.pub", (int)(len - 4), path)
                : snprintf(buf, cap, "%s.pub", path);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* Writes text to path (mode) through path.tmp and a rename, so a reader
 * never sees half a key and a failed write keeps the old one. */
static int write_atomic(const char *path, const char *text, mode_t mode, char *err, size_t cap)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
        snprintf(err, cap, "%s: path too long", path);
        return -1;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) {
        snprintf(err, cap, "cannot write %s: %s", tmp, strerror(errno));
        return -1;
    }
    size_t len = strlen(text);
    bool ok = fchmod(fd, mode) == 0 && write(fd, text, len) == (ssize_t)len && fsync(fd) == 0;
    int saved = errno;
    if (close(fd) != 0 && ok) {
        ok = false;
        saved = errno;
    }
    if (!ok || rename(tmp, path) != 0) {
        snprintf(err, cap, "cannot write %s: %s", path, strerror(ok ? errno : saved));
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* mkdir -p with mode for the directories it makes. */
static int make_dirs(char *dir, mode_t mode)
{
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        int rc = mkdir(dir, mode);
        *p = '/';
        if (rc != 0 && errno != EEXIST)
            return -1;
    }
    return mkdir(dir, mode) != 0 && errno != EEXIST ? -1 : 0;
}

int lt_zap_key_write(const char *path, const char *public_key, const char *secret_key, char *err,
                     size_t cap)
{
    char dir[PATH_MAX], pub[PATH_MAX], text[LT_ZAP_KEY_LEN + 2];
    snprintf(dir, sizeof(dir), "%s", path);
    char *d = dirname(dir);
    if (make_dirs(d, 0700) != 0) {
        snprintf(err, cap, "cannot create %s: %s", d, strerror(errno));
        return -1;
    }
    if (public_path(path, pub, sizeof(pub)) < 0) {
        snprintf(err, cap, "%s: path too long", path);
        return -1;
    }
    snprintf(text, sizeof(text), "%s\n", secret_key);
    int rc = write_atomic(path, text, 0600, err, cap);
    sodium_memzero(text, sizeof(text));
    if (rc < 0)
        return -1;
    snprintf(text, sizeof(text), "%s\n", public_key);
    return write_atomic(pub, text, 0644, err, cap);
}

int lt_zap_key_read(const char *path, char ret_secret[LT_ZAP_KEY_LEN + 1],
                    char ret_public[LT_ZAP_KEY_LEN + 1], char *err, size_t cap)
{
    char line[128] = "", pub[LT_ZAP_KEY_LEN + 1];
    struct stat st;
    int rc = -1;
    FILE *f = fopen(path, "re");
    if (!f) {
        snprintf(err, cap, "cannot read %s: %s (make it with lienthong keygen)", path,
                 strerror(errno));
        return -1;
    }
    if (fstat(fileno(f), &st) != 0 || (st.st_mode & 077) != 0) {
        snprintf(err, cap, "%s may be read by other users (mode %03o); chmod 600 it", path,
                 (unsigned)(st.st_mode & 0777));
        goto out;
    }
    if (!fgets(line, sizeof(line), f))
        line[0] = '\0';
    line[strcspn(line, "\r\n")] = '\0';
    if (strlen(line) != LT_ZAP_KEY_LEN || zmq_curve_public(pub, line) != 0) {
        snprintf(err, cap, "%s: the first line is not a Z85 CURVE secret key (40 characters)",
                 path);
        goto out;
    }
    memcpy(ret_secret, line, LT_ZAP_KEY_LEN + 1);
    memcpy(ret_public, pub, LT_ZAP_KEY_LEN + 1);
    rc = 0;
out:
    sodium_memzero(line, sizeof(line));
    fclose(f);
    return rc;
}

int lt_zap_server_setup(void *sock, const char *secret_key)
{
    int one = 1;
    if (zmq_setsockopt(sock, ZMQ_ZAP_DOMAIN, LT_ZAP_DOMAIN, strlen(LT_ZAP_DOMAIN)) < 0 ||
        zmq_setsockopt(sock, ZMQ_CURVE_SERVER, &one, sizeof(one)) < 0 ||
        zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, secret_key, LT_ZAP_KEY_LEN) < 0)
        return -1;
    return 0;
}

int lt_zap_peer(zmq_msg_t *frame, char ret_unit[LT_ZAP_MAX_UNIT], char ret_key[LT_ZAP_KEY_LEN + 1])
{
    const char *unit = zmq_msg_gets(frame, "User-Id");
    const char *key = zmq_msg_gets(frame, "X-Curve-Key");
    if (!unit || !key || !unit[0] || strlen(unit) >= LT_ZAP_MAX_UNIT ||
        strlen(key) != LT_ZAP_KEY_LEN)
        return -1;
    memcpy(ret_unit, unit, strlen(unit) + 1);
    memcpy(ret_key, key, LT_ZAP_KEY_LEN + 1);
    return 0;
}

/* ---- principals ---------------------------------------------------------- */

int lt_zap_principal(const char *key, const PGresult *rows, lt_principal *ret)
{
    for (int i = 0; i < PQntuples(rows); i++) {
        const char *id = PQgetvalue(rows, i, 0);
        if (strncmp(id, "curve:", 6) != 0 || strcmp(id + 6, key) != 0)
            continue;
        lt_role role = lt_auth_role_parse(PQgetvalue(rows, i, 2));
        if (role != LT_ROLE_WARD && role != LT_ROLE_PARENT)
            return -1; /* 0018's CHECK makes this impossible; refuse rather than widen */
        memset(ret, 0, sizeof(*ret));
        ret->role = role;
        snprintf(ret->unit, sizeof(ret->unit), "%s", PQgetvalue(rows, i, 3));
        snprintf(ret->dialect, sizeof(ret->dialect), "%s", PQgetvalue(rows, i, 4));
        return 0;
    }
    return -1;
}

/* ---- revoked keys -------------------------------------------------------- */

struct lt_zap_revoked {
    void *sub;
    char (*ring)[LT_ZAP_KEY_LEN + 1]; /* the last LT_ZAP_REVOKED_MAX revoked keys */
    size_t count;                     /* how many were ever received */
};

lt_zap_revoked *lt_zap_revoked_new(void *zmq_ctx)
{
    int linger = 0;
    lt_zap_revoked *self = calloc(1, sizeof(*self));
    if (!self)
        return NULL;
    self->ring = calloc(LT_ZAP_REVOKED_MAX, sizeof(*self->ring));
    self->sub = zmq_socket(zmq_ctx, ZMQ_SUB);
    if (!self->ring || !self->sub ||
        zmq_setsockopt(self->sub, ZMQ_LINGER, &linger, sizeof(linger)) < 0 ||
        zmq_setsockopt(self->sub, ZMQ_SUBSCRIBE, "revoked", 7) < 0 ||
        zmq_connect(self->sub, LT_ZAP_REVOKED_ENDPOINT) < 0) {
        lt_zap_revoked_destroy(&self);
        return NULL;
    }
    return self;
}

void lt_zap_revoked_destroy(lt_zap_revoked **self_p)
{
    if (!self_p || !*self_p)
        return;
    lt_zap_revoked *self = *self_p;
    if (self->sub)
        zmq_close(self->sub);
    free(self->ring);
    free(self);
    *self_p = NULL;
}

void *lt_zap_revoked_socket(lt_zap_revoked *self)
{
    return self->sub;
}

void lt_zap_revoked_read(lt_zap_revoked *self)
{
    for (;;) {
        int events = 0;
        size_t el = sizeof(events);
        if (zmq_getsockopt(self->sub, ZMQ_EVENTS, &events, &el) < 0 || !(events & ZMQ_POLLIN))
            return;
        char *topic = lt_msg_recv_str(self->sub, NULL);
        char *key = lt_msg_recv_str(self->sub, NULL);
        if (key && strlen(key) == LT_ZAP_KEY_LEN) {
            memcpy(self->ring[self->count % LT_ZAP_REVOKED_MAX], key, LT_ZAP_KEY_LEN + 1);
            self->count++;
        }
        free(topic);
        free(key);
        lt_msg_drain(self->sub);
    }
}

bool lt_zap_revoked_has(const lt_zap_revoked *self, const char *key)
{
    size_t n = self->count < LT_ZAP_REVOKED_MAX ? self->count : LT_ZAP_REVOKED_MAX;
    for (size_t i = 0; i < n; i++)
        if (strcmp(self->ring[i], key) == 0)
            return true;
    return false;
}
