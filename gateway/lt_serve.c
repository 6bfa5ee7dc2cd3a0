/* lt_serve: wire the actors together and supervise them (see lt_serve.h).
 *
 * Start order follows the arrows of the design: the database target first
 * (the embedded cluster may need starting), then the watcher that publishes
 * readiness, the reader and the report actor (the fronts' database reads), the ZAP handler when
 * zmq.curve is on (before the sockets it guards), the bus (PUB and
 * replay), the writer (the fronts' pushes), the delivery actor (outbound),
 * then the fronts. Stop order is the reverse, so a front
 * never outlives what it depends on and nothing is half-written: fronts drain first, writers finish
 * or roll back, the database stops last. */
#include "lt_serve.h"
#include "lt_actor.h"
#include "lt_bus.h"
#include "lt_catalog_actor.h"
#include "lt_curlm.h"
#include "lt_db.h"
#include "lt_dbwatch.h"
#include "lt_delivery.h"
#include "lt_dialects.h"
#include "lt_http.h"
#include "lt_ingress.h"
#include "lt_log.h"
#include "lt_loop.h"
#include "lt_migrate.h"
#include "lt_paths.h"
#include "lt_reader.h"
#include "lt_reportd.h"
#include "lt_retention.h"
#include "lt_stats.h"
#include "lt_writer.h"
#include "lt_zap.h"

#include <limits.h>
#include <sodium.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include <zmq.h>

#define MAX_ACTORS 12

typedef struct {
    lt_config *cfg;               /* the running configuration (the caller's) */
    const char *config_path;      /* reloaded from on SIGHUP */
    lt_actor *actors[MAX_ACTORS]; /* in start order */
    int nactors;
    int sigfd;
    lt_actor *retention; /* one of actors: writes the config.reload audit rows */
} supervisor;

/* The config.reload audit row (actor "gateway"), written by the retention
 * actor on its connection: the supervisor owns none. */
static void audit_reload(supervisor *sv, json_t *detail)
{
    char *text = detail ? json_dumps(detail, JSON_COMPACT) : NULL;
    json_decref(detail);
    if (!sv->retention || !text ||
        lt_msg_send(lt_actor_pipe(sv->retention), LT_RETENTION_AUDIT_CMD, text, NULL) < 0)
        LT_WARN("reload: the config.reload audit row could not be handed over");
    free(text);
}

/* Each actor keeps its own copy of the configuration; a reload sends every
 * actor a fresh copy of the new one, which the actor then owns. */
static void broadcast_reload(supervisor *sv)
{
    for (int i = 0; i < sv->nactors; i++) {
        lt_config *copy = calloc(1, sizeof(*copy));
        if (!copy || lt_config_copy(copy, sv->cfg) < 0) {
            free(copy);
            LT_ERROR("reload: out of memory");
            return;
        }
        if (lt_msg_send_ptr(lt_actor_pipe(sv->actors[i]), "$RELOAD", copy) < 0) {
            lt_config_free(copy);
            free(copy);
        }
    }
}

static void reload(supervisor *sv)
{
    lt_config next;
    lt_config_error err;
    char source[PATH_MAX];
    if (lt_config_load(&next, sv->config_path, NULL, &err, source, sizeof(source)) < 0) {
        LT_ERROR("reload refused, keeping the running configuration: %s%s%s", err.key,
                 err.key[0] ? ": " : "", err.message);
        audit_reload(sv, json_pack("{s:s, s:s, s:s}", "result", "refused", "key", err.key,
                                   "message", err.message));
        return;
    }
    char restart[512] = "";
    int changed = lt_config_apply_reload(sv->cfg, &next, restart, sizeof(restart));
    lt_config_free(&next);
    if (changed < 0) {
        LT_ERROR("reload: out of memory");
        return;
    }
    lt_log_set_level((lt_log_level)sv->cfg->log.level);
    if (restart[0])
        LT_WARN("reload: these keys changed but need a restart to take effect: %s", restart);
    LT_INFO("reload: %d reloadable key(s) changed", changed);
    broadcast_reload(sv);
    audit_reload(sv, json_pack("{s:s, s:i, s:s}", "result", "applied", "changed", changed,
                               "needs_restart", restart));
}

static int on_signal(lt_loop *loop, int fd, short revents, void *arg)
{
    (void)loop;
    (void)revents;
    supervisor *sv = arg;
    struct signalfd_siginfo si;
    if (read(fd, &si, sizeof(si)) != (ssize_t)sizeof(si))
        return 0;
    if (si.ssi_signo == SIGHUP) {
        LT_INFO("SIGHUP: reloading configuration");
        reload(sv);
        return 0;
    }
    LT_INFO("%s: stopping", si.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM");
    return -1;
}

/* Blocks the stop and reload signals in every thread (threads inherit the
 * mask) and returns a descriptor that reads them as events. */
static int signals_as_fd(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
        return -1;
    return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

int lt_serve_run(lt_config *cfg, const char *config_path)
{
    supervisor sv = {.cfg = cfg, .config_path = config_path, .sigfd = -1};
    lt_db_target *db = NULL;
    lt_migrations *migrations = NULL;
    lt_dialects *dialects = NULL;
    lt_loop *loop = NULL;
    void *ctx = NULL;
    int rc = 1;
    char err[1024], sqldir[PATH_MAX];
    /* CurveZMQ: the server key is read once, before anything binds. */
    bool curve = lt_config_zmq_curve(cfg);
    char curve_secret[LT_ZAP_KEY_LEN + 1] = "", curve_public[LT_ZAP_KEY_LEN + 1] = "";

    signal(SIGPIPE, SIG_IGN);
    sv.sigfd = signals_as_fd();
    if (sv.sigfd < 0) {
        LT_ERROR("cannot set up signal handling");
        goto out;
    }
    if (lt_paths_dir(LT_PATH_SQL, sqldir, sizeof(sqldir)) < 0 ||
        !(migrations = lt_migrations_load(sqldir, err, sizeof(err)))) {
        LT_ERROR("cannot load migrations: %s", err);
        goto out;
    }
    if (curve) {
        char keypath[PATH_MAX], kerr[PATH_MAX + 160] = "path too long";
        if (lt_config_curve_key_path(cfg, keypath, sizeof(keypath)) < 0 ||
            lt_zap_key_read(keypath, curve_secret, curve_public, kerr, sizeof(kerr)) < 0) {
            LT_ERROR("zmq.curve_key: %s", kerr);
            goto out;
        }
        LT_INFO("zmq.curve: CurveZMQ on zmq.ingress and zmq.replay, server public key %s",
                curve_public);
    } else {
        LT_INFO("zmq.curve: plain text on zmq.ingress and zmq.replay (loopback only)");
    }
    if (!(dialects = lt_dialects_load(cfg, err, sizeof(err)))) {
        LT_ERROR("dialects: %s", err);
        goto out;
    }
    if (lt_db_target_open(cfg, &db, err, sizeof(err)) < 0) {
        LT_ERROR("database: %s", err);
        goto out;
    }
    ctx = zmq_ctx_new();
    loop = lt_loop_new();
    if (!ctx || !loop)
        goto out;

    lt_dbwatch_args dbargs = {.conninfo = lt_db_target_conninfo(db),
                              .migrations = migrations,
                              .cfg = cfg,
                              .zmq_ctx = ctx};
    lt_reader_args readerargs = {.conninfo = lt_db_target_conninfo(db), .cfg = cfg, .zmq_ctx = ctx};
    lt_reportd_args reportargs = {
        .conninfo = lt_db_target_conninfo(db), .cfg = cfg, .zmq_ctx = ctx};
    lt_writer_args writerargs = {
        .conninfo = lt_db_target_conninfo(db), .cfg = cfg, .dialects = dialects, .zmq_ctx = ctx};
    lt_bus_args busargs = {.conninfo = lt_db_target_conninfo(db),
                           .cfg = cfg,
                           .zmq_ctx = ctx,
                           .curve_secret = curve ? curve_secret : NULL};
    lt_zap_args zapargs = {.conninfo = lt_db_target_conninfo(db), .cfg = cfg, .zmq_ctx = ctx};
    lt_http_args httpargs = {.cfg = cfg, .zmq_ctx = ctx};
    lt_ingress_args ingressargs = {
        .cfg = cfg, .zmq_ctx = ctx, .curve_secret = curve ? curve_secret : NULL};
    lt_delivery_args deliveryargs = {
        .conninfo = lt_db_target_conninfo(db), .cfg = cfg, .dialects = dialects};
    lt_catalog_actor_args catargs = {.conninfo = lt_db_target_conninfo(db), .cfg = cfg};
    lt_retention_args retargs = {.conninfo = lt_db_target_conninfo(db), .cfg = cfg};
    /* libcurl's global state before any thread that may use it. */
    if (lt_curlm_global_init() < 0) {
        LT_ERROR("cannot initialise libcurl");
        goto out;
    }
    lt_stats_start();
    if (!(sv.actors[sv.nactors++] = lt_actor_new(ctx, "db", lt_dbwatch_actor, &dbargs)))
        goto stop;
    if (!(sv.actors[sv.nactors++] = lt_actor_new(ctx, "reader", lt_reader_actor, &readerargs)))
        goto stop;
    /* Reports apart from the reader: a long one must not hold up reads. */
    if (!(sv.actors[sv.nactors++] = lt_actor_new(ctx, "reportd", lt_reportd_actor, &reportargs)))
        goto stop;
    /* Before the sockets it guards: libzmq lets every CURVE client in while
     * no ZAP handler is bound. */
    if (curve && !(sv.actors[sv.nactors++] = lt_actor_new(ctx, "zap", lt_zap_actor, &zapargs)))
        goto stop;
    if (!(sv.actors[sv.nactors++] = lt_actor_new(ctx, "bus", lt_bus_actor, &busargs)))
        goto stop;
    /* After the bus, so that it stops before the bus does: the events it
     * hands over at the end still reach a running bus. */
    if (!(sv.actors[sv.nactors++] = lt_actor_new(ctx, "writer", lt_writer_actor, &writerargs)))
        goto stop;
    /* After the writer: it only reads what the writer committed; stopping
     * first, it records the send in flight while the database is there.
     * Unit legs alone start it too when units.tokens holds credentials for
     * them: a federated gateway whose only way up is its parent gateway. */
    if ((cfg->portal.url[0] || cfg->webhook.url[0] || cfg->units.tokens[0]) &&
        !(sv.actors[sv.nactors++] =
              lt_actor_new(ctx, "delivery", lt_delivery_actor, &deliveryargs)))
        goto stop;
    if (!(sv.actors[sv.nactors++] = lt_actor_new(ctx, "http", lt_http_actor, &httpargs)))
        goto stop;
    if (!(sv.actors[sv.nactors++] = lt_actor_new(ctx, "ingress", lt_ingress_actor, &ingressargs)))
        goto stop;
    /* Periodic catalog sync: only when there is an API to sync from. */
    if (cfg->catalog.url[0] && cfg->catalog.interval_ms > 0 &&
        !(sv.actors[sv.nactors++] = lt_actor_new(ctx, "catalog", lt_catalog_actor, &catargs)))
        goto stop;
    /* Retention and the reload audit rows: stops first, nothing waits on it. */
    if (!(sv.retention = sv.actors[sv.nactors++] =
              lt_actor_new(ctx, "retention", lt_retention_actor, &retargs)))
        goto stop;
    if (lt_loop_add_fd(loop, sv.sigfd, ZMQ_POLLIN, on_signal, &sv) < 0)
        goto stop;
    LT_INFO("lienthong %s serving (database: %s)", LT_VERSION,
            lt_db_target_embedded(db) ? "embedded" : "database.url");
    lt_loop_run(loop);
    rc = 0;
stop:
    if (rc != 0)
        LT_ERROR("start-up failed; stopping");
    /* Reverse start order: fronts drain before what they depend on stops. */
    while (sv.nactors > 0) {
        sv.nactors--;
        lt_actor_destroy(&sv.actors[sv.nactors]);
    }
out:
    sodium_memzero(curve_secret, sizeof(curve_secret));
    lt_loop_destroy(&loop);
    if (ctx)
        zmq_ctx_term(ctx);
    lt_db_target_close(&db);
    lt_migrations_destroy(&migrations);
    lt_dialects_destroy(&dialects);
    if (sv.sigfd >= 0)
        close(sv.sigfd);
    if (rc == 0)
        LT_INFO("stopped cleanly");
    return rc;
}
