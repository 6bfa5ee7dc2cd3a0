/* lt_catalog_actor: periodic catalog sync in serve (see lt_catalog_actor.h).
 *
 * Why an actor of its own: a round is thousands of HTTP calls and a bulk
 * write; neither may hold up the fronts or the database watcher, and the
 * sync blocks its thread on libpq while staging (lt_catalog_api.c says why
 * that is fine on a loop that does nothing else). The connection is opened
 * per round and closed after it, so an idle gateway holds no extra
 * connection for the six hours between rounds. */
#include "lt_catalog_actor.h"
#include "lt_actor.h"
#include "lt_catalog_api.h"
#include "lt_catalog_feed.h"
#include "lt_db.h"
#include "lt_log.h"
#include "lt_loop.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

/* The first round waits this long after start-up, so that the database
 * watcher has applied migrations; a failed round waits at most RETRY_MS. */
#define FIRST_DELAY_MS 2000
#define RETRY_MS       60000

typedef struct {
    lt_loop *loop;
    lt_config cfg;         /* our copy */
    const char *conninfo;  /* borrowed */
    PGconn *conn;          /* during a round */
    lt_catalog_api *api;   /* the running round (national API), or NULL */
    lt_catalog_feed *feed; /* the running round (a parent gateway's feed), or NULL */
    int64_t feed_since;    /* the parent's catalog version of our last good round; -1 = none */
    int timer;             /* the next round, 0 = none */
    int64_t rounds;        /* rounds started, for the log */
} catalog_actor;

static int on_round(lt_loop *loop, int timer_id, void *arg);

static void schedule(catalog_actor *self, int64_t delay_ms)
{
    self->timer = lt_loop_add_timer(self->loop, delay_ms, 0, on_round, self);
    if (self->timer < 0) {
        LT_ERROR("catalog: no free timer; periodic catalog sync stops");
        self->timer = 0;
    }
}

static void round_done(int rc, const lt_catalog_result *res, const lt_catalog_api_stats *st,
                       const lt_catalog_error *err, void *arg)
{
    catalog_actor *self = arg;
    int64_t interval = self->cfg.catalog.interval_ms;
    int64_t next = interval;
    if (rc == 0) {
        lt_log_json(LT_LOG_INFO,
                    json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "run",
                              (json_int_t)res->run_id, "version", (json_int_t)res->version, "added",
                              (json_int_t)res->added, "changed", (json_int_t)res->changed,
                              "abolished", (json_int_t)res->abolished, "unchanged",
                              (json_int_t)res->unchanged, "fetched", (json_int_t)st->fetched,
                              "skipped", (json_int_t)st->skipped, "max_in_flight",
                              (json_int_t)st->max_in_flight),
                    "catalog sync done");
        if (self->feed)
            self->feed_since = lt_catalog_feed_version(self->feed);
    } else if (err->busy) {
        LT_INFO("catalog: another process is syncing the catalog; skipping this round");
    } else {
        lt_log_json(
            LT_LOG_ERROR,
            json_pack("{s:I, s:s}", "run", (json_int_t)err->run_id, "position", err->position),
            "catalog sync failed: %s", err->message);
        next = interval < RETRY_MS ? interval : RETRY_MS;
    }
    /* Allowed here: lt_catalog_api's done callback may destroy it. */
    lt_catalog_api_destroy(&self->api);
    lt_catalog_feed_destroy(&self->feed);
    PQfinish(self->conn);
    self->conn = NULL;
    schedule(self, next);
}

static int on_round(lt_loop *loop, int timer_id, void *arg)
{
    (void)timer_id;
    catalog_actor *self = arg;
    self->timer = 0;
    char why[512];
    self->rounds++;
    self->conn =
        lt_db_connect(self->conninfo, self->cfg.database.connect_timeout_ms, why, sizeof(why));
    if (!self->conn) {
        LT_WARN("catalog: cannot connect for the catalog sync: %s", why);
        schedule(self, RETRY_MS);
        return 0;
    }
    const lt_config *c = &self->cfg;
    lt_catalog_api_opts o = {.url = c->catalog.url,
                             .concurrency = (int)c->catalog.concurrency,
                             .timeout_ms = c->catalog.timeout_ms,
                             .retries = (int)c->catalog.retries,
                             .retry_delay_ms = c->catalog.retry_delay_ms,
                             .ca_file = c->catalog.ca_file};
    lt_catalog_error err;
    LT_INFO("catalog: sync round %" PRId64 " from %s", self->rounds, c->catalog.url);
    /* A federated gateway follows its parent gateway's feed (our own
     * contract), from the version it last read; else the national API. */
    int rc = lt_catalog_feed_url(c->catalog.url)
                 ? lt_catalog_feed_start(loop, self->conn, &o, self->feed_since, round_done, self,
                                         &self->feed, &err)
                 : lt_catalog_api_start(loop, self->conn, &o, round_done, self, &self->api, &err);
    if (rc < 0) {
        lt_catalog_api_stats none = {0};
        round_done(-1, NULL, &none, &err, self);
    }
    return 0;
}

static int on_pipe(lt_loop *loop, void *pipe, void *arg)
{
    (void)loop;
    (void)arg;
    /* No catalog key is reloadable: a reload's copy is only freed. */
    return lt_actor_read_pipe(pipe, NULL) < 0 ? -1 : 0;
}

void lt_catalog_actor(void *pipe, void *args)
{
    const lt_catalog_actor_args *a = args;
    catalog_actor self = {.conninfo = a->conninfo, .feed_since = -1};
    self.loop = lt_loop_new();
    if (!self.loop || lt_config_copy(&self.cfg, a->cfg) < 0 ||
        lt_loop_add_socket(self.loop, pipe, on_pipe, &self) < 0) {
        LT_ERROR("catalog actor cannot start (out of memory)");
        lt_actor_signal(pipe, -1);
        goto out;
    }
    int64_t first = self.cfg.catalog.interval_ms < FIRST_DELAY_MS ? self.cfg.catalog.interval_ms
                                                                  : FIRST_DELAY_MS;
    schedule(&self, first);
    LT_INFO("catalog: syncing from %s every %" PRId64 " s", self.cfg.catalog.url,
            self.cfg.catalog.interval_ms / 1000);
    lt_actor_signal(pipe, 0);
    lt_loop_run(self.loop);
out:
    /* Stopping mid-round: the run is recorded as abandoned, the lock freed. */
    lt_catalog_api_destroy(&self.api);
    lt_catalog_feed_destroy(&self.feed);
    PQfinish(self.conn);
    lt_loop_destroy(&self.loop);
    lt_config_free(&self.cfg);
}
