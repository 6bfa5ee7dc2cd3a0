/* lt_catalog_api: the national catalog API feeding lt_catalog's sync (see
 * lt_catalog_api.h for the contract).
 *
 * Why on an lt_loop with lt_curlm rather than a thread pool: a province's
 * ~2,000 detail calls are network waits, not work; one thread with many
 * transfers in flight does them, and the same code runs inside the serve
 * actor's loop and in the CLI's throwaway loop. Records are staged in the
 * order they arrive; each keeps its list position as its index, so error
 * positions ("[17].CAPTHUCHIEN[0].CAPTHUCHIEN") and the order of catalog
 * events follow the list, not the network.
 *
 * The database calls here block the loop thread. That is deliberate: the
 * connection belongs to whoever runs the sync (the CLI, or the catalog
 * actor's own connection), and staging must keep up with the network
 * anyway; no other work shares this loop. */
#include "lt_catalog_api.h"
#include "lt_curlm.h"
#include "lt_log.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The list of a province is ~2,000 short items, the nation's ~6,400: far
 * below this; a bigger answer is not a catalog. */
#define MAX_ANSWER   ((size_t)64 * 1024 * 1024)
#define LIST_CALL    "LayDanhSachTTHC"
#define DETAIL_CALL  "LayThuTuc"
#define DETAIL_PARAM "maTTHC"
/* A progress line every this many records. */
#define PROGRESS_EVERY 500

/* One call to make: the list (code NULL) or one procedure's detail. */
typedef struct item {
    struct lt_catalog_api *api; /* owner */
    char *code;                 /* MATTHC; NULL for the list call */
    char *stamp;                /* the list's NGAYCAPNHAT, or NULL */
    int64_t index;              /* position in the list */
    int attempts;               /* calls made so far */
    int64_t due_ms;             /* when a retry is due */
    struct item *next_retry;    /* in the retry list */
} item;

struct lt_catalog_api {
    lt_loop *loop;            /* borrowed */
    PGconn *conn;             /* borrowed */
    lt_curlm *curlm;          /* the transfers */
    lt_catalog_sync *sync;    /* the staging sync; NULL once ended */
    lt_catalog_api_opts opts; /* defaults applied; url points at base */
    char *base;               /* url without a trailing / */
    lt_catalog_api_done_fn *done;
    void *arg;
    item list;   /* the list call */
    item *items; /* one per procedure in the list */
    size_t nitems;
    int64_t pending;       /* detail calls not yet answered for good */
    item *retries;         /* waiting for their back-off */
    int retry_timer;       /* loop timer for the earliest retry, 0 = none */
    int finish_timer;      /* calls done from the loop, 0 = none */
    bool ended;            /* committed or failed */
    int rc;                /* outcome: 0 or -1 */
    lt_catalog_result res; /* rc 0 */
    lt_catalog_error err;  /* rc -1 */
    lt_catalog_api_stats stats;
};

static int on_finish(lt_loop *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    lt_catalog_api *self = arg;
    self->finish_timer = 0;
    lt_curlm_stats cs;
    lt_curlm_get_stats(self->curlm, &cs);
    self->stats.max_in_flight = cs.max_in_flight;
    /* The lock goes before the callback: whoever is told "done" may start
     * the next sync at once. */
    lt_catalog_sync_destroy(&self->sync);
    self->done(self->rc, self->rc == 0 ? &self->res : NULL, &self->stats,
               self->rc == 0 ? NULL : &self->err, self->arg);
    return 0;
}

static void end(lt_catalog_api *self)
{
    self->ended = true;
    lt_curlm_cancel_all(self->curlm);
    self->finish_timer = lt_loop_add_timer(self->loop, 0, 0, on_finish, self);
    if (self->finish_timer < 0) {
        /* No free timer: the loop is misconfigured; say so where it shows. */
        LT_ERROR("catalog sync: the loop has no free timer to finish on");
        self->finish_timer = 0;
    }
}

static void fail(lt_catalog_api *self, const char *position, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Fails the sync: nothing staged is applied, the run is recorded failed.
 * fmt NULL keeps the message already in self->err. */
static void fail(lt_catalog_api *self, const char *position, const char *fmt, ...)
{
    if (self->ended)
        return;
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(self->err.message, sizeof(self->err.message), fmt, ap);
        va_end(ap);
    }
    if (position)
        snprintf(self->err.position, sizeof(self->err.position), "%s", position);
    self->rc = -1;
    self->err.run_id = lt_catalog_sync_run_id(self->sync);
    lt_catalog_sync_fail(self->sync, &self->err);
    end(self);
}

static void commit(lt_catalog_api *self)
{
    if (lt_catalog_sync_commit(self->sync, false, &self->res, &self->err) < 0) {
        fail(self, NULL, NULL);
        return;
    }
    self->rc = 0;
    end(self);
}

/* ---- calls and retries --------------------------------------------------- */

static void on_answer(lt_curlm *m, const lt_curlm_response *resp, void *arg);

static void call_name(const item *it, char *buf, size_t cap)
{
    if (it->code)
        snprintf(buf, cap, DETAIL_CALL "?" DETAIL_PARAM "=%s", it->code);
    else
        snprintf(buf, cap, LIST_CALL);
}

static void send_call(item *it)
{
    lt_catalog_api *self = it->api;
    char *url = NULL;
    char *esc = it->code ? curl_easy_escape(NULL, it->code, 0) : NULL;
    size_t n = strlen(self->base) + (esc ? strlen(esc) : 0) + 64;
    if ((it->code && !esc) || !(url = malloc(n))) {
        curl_free(esc);
        fail(self, NULL, "out of memory");
        return;
    }
    if (esc)
        snprintf(url, n, "%s/" DETAIL_CALL "?" DETAIL_PARAM "=%s", self->base, esc);
    else
        snprintf(url, n, "%s/" LIST_CALL, self->base);
    curl_free(esc);
    it->attempts++;
    if (lt_curlm_get(self->curlm, url, on_answer, it) < 0)
        fail(self, NULL, "out of memory");
    free(url);
}

static void arm_retries(lt_catalog_api *self);

static int on_retry(lt_loop *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    lt_catalog_api *self = arg;
    self->retry_timer = 0;
    int64_t now = lt_loop_now_ms();
    item **pp = &self->retries;
    while (*pp && !self->ended) {
        item *it = *pp;
        if (it->due_ms > now) {
            pp = &it->next_retry;
            continue;
        }
        *pp = it->next_retry;
        it->next_retry = NULL;
        send_call(it);
    }
    arm_retries(self);
    return 0;
}

static void arm_retries(lt_catalog_api *self)
{
    if (self->retry_timer)
        lt_loop_cancel_timer(self->loop, self->retry_timer);
    self->retry_timer = 0;
    if (self->ended || !self->retries)
        return;
    int64_t first = self->retries->due_ms;
    for (const item *it = self->retries; it; it = it->next_retry)
        if (it->due_ms < first)
            first = it->due_ms;
    int64_t delay = first - lt_loop_now_ms();
    int id = lt_loop_add_timer(self->loop, delay > 0 ? delay : 0, 0, on_retry, self);
    if (id < 0)
        fail(self, NULL, "catalog sync: the loop has no free timer for a retry");
    else
        self->retry_timer = id;
}

/* Worth another try: the server may answer next time. */
static bool retryable(const lt_curlm_response *r)
{
    return r->curl_code != 0 || r->status >= 500 || r->status == 408 || r->status == 429;
}

/* ---- the list ------------------------------------------------------------ */

/* THE list shape (tests/sim/README.md): {"data": [item...]} (with optional
 * "error_code", which must then be 0) or a bare array of items; an item is
 * {"MATTHC": non-empty string, "NGAYCAPNHAT": optional string, ...}. */
static const json_t *parse_list(const json_t *doc, char *why, size_t cap)
{
    const json_t *data = doc;
    if (json_is_object(doc)) {
        const json_t *ec = json_object_get(doc, "error_code");
        char code[32] = "0";
        if (json_is_integer(ec))
            snprintf(code, sizeof(code), "%lld", (long long)json_integer_value(ec));
        else if (json_is_string(ec))
            snprintf(code, sizeof(code), "%s", json_string_value(ec));
        if (strcmp(code, "0") != 0 && strcmp(code, "00") != 0) {
            const char *msg = json_string_value(json_object_get(doc, "message"));
            snprintf(why, cap, "the catalog answered error_code %s%s%.200s", code, msg ? ": " : "",
                     msg ? msg : "");
            return NULL;
        }
        data = json_object_get(doc, "data");
    }
    if (!json_is_array(data)) {
        snprintf(why, cap,
                 "expected a JSON array of procedures or an object with one in "
                 "\"data\"");
        return NULL;
    }
    size_t i;
    const json_t *v;
    json_array_foreach(data, i, v)
    {
        const char *code = json_string_value(json_object_get(v, "MATTHC"));
        const json_t *stamp = json_object_get(v, LT_CATALOG_API_STAMP_KEY);
        if (!code || !*code) {
            snprintf(why, cap, "item [%zu] has no MATTHC (expected a non-empty string)", i);
            return NULL;
        }
        if (stamp && !json_is_string(stamp) && !json_is_null(stamp)) {
            snprintf(why, cap,
                     "item [%zu] (MATTHC %.64s): " LT_CATALOG_API_STAMP_KEY " is not a string", i,
                     code);
            return NULL;
        }
    }
    if (json_array_size(data) == 0) {
        snprintf(why, cap, "the list is empty; refusing to abolish every procedure");
        return NULL;
    }
    return data;
}

/* Stages the stored record of every procedure whose NGAYCAPNHAT the list
 * repeats, and marks it skipped (index -1 in by_code). Runs before the first
 * record is staged: COPY is not open yet, so the connection is free. */
static int stage_unchanged(lt_catalog_api *self, json_t *by_code, bool *skip)
{
    PGresult *r = PQexec(self->conn, "SELECT code, record->>'" LT_CATALOG_API_STAMP_KEY "',"
                                     " record::text FROM procedures WHERE abolished_at IS NULL"
                                     " AND record ? '" LT_CATALOG_API_STAMP_KEY "'");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        fail(self, NULL, "cannot read the stored catalog: %s", PQerrorMessage(self->conn));
        PQclear(r);
        return -1;
    }
    int rc = 0;
    for (int row = 0; row < PQntuples(r) && rc == 0; row++) {
        const json_t *at = json_object_get(by_code, PQgetvalue(r, row, 0));
        if (!at)
            continue;
        item *it = &self->items[json_integer_value(at)];
        if (!it->stamp || strcmp(it->stamp, PQgetvalue(r, row, 1)) != 0)
            continue;
        json_t *rec = json_loads(PQgetvalue(r, row, 2), 0, NULL);
        if (!rec || lt_catalog_sync_add(self->sync, rec, it->index, -1, &self->err) < 0) {
            if (!rec)
                snprintf(self->err.message, sizeof(self->err.message),
                         "cannot read the stored record of %s", it->code);
            fail(self, NULL, NULL);
            rc = -1;
        }
        json_decref(rec);
        skip[it->index] = true;
        self->stats.skipped++;
    }
    PQclear(r);
    return rc;
}

static void handle_list(lt_catalog_api *self, const lt_curlm_response *resp)
{
    json_error_t jerr;
    char why[512];
    json_t *doc = json_loadb(resp->body, resp->body_len, JSON_REJECT_DUPLICATES, &jerr);
    const json_t *data = doc ? parse_list(doc, why, sizeof(why)) : NULL;
    if (!doc)
        snprintf(why, sizeof(why), "not valid JSON: %s (byte %d)", jerr.text, jerr.position);
    json_t *by_code = json_object();
    bool *skip = NULL;
    if (!data || !by_code) {
        fail(self, LIST_CALL, LIST_CALL " answer refused: %s", data ? "out of memory" : why);
        goto out;
    }
    self->nitems = json_array_size(data);
    self->items = calloc(self->nitems, sizeof(*self->items));
    skip = calloc(self->nitems, sizeof(*skip));
    if (!self->items || !skip) {
        fail(self, NULL, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < self->nitems; i++) {
        const json_t *v = json_array_get(data, i);
        const char *code = json_string_value(json_object_get(v, "MATTHC"));
        const char *stamp = json_string_value(json_object_get(v, LT_CATALOG_API_STAMP_KEY));
        item *it = &self->items[i];
        *it = (item){.api = self, .index = (int64_t)i, .code = strdup(code)};
        it->stamp = stamp && *stamp ? strdup(stamp) : NULL;
        /* A repeated code keeps its first position here; the sync refuses
         * the repetition at commit with both positions. */
        if (!it->code || (stamp && *stamp && !it->stamp) ||
            (!json_object_get(by_code, code) &&
             json_object_set_new(by_code, code, json_integer((json_int_t)i)) < 0)) {
            fail(self, NULL, "out of memory");
            goto out;
        }
    }
    self->stats.listed = (int64_t)self->nitems;
    if (!self->opts.fetch_all && stage_unchanged(self, by_code, skip) < 0)
        goto out;
    LT_INFO("catalog sync: %zu procedures listed, %" PRId64
            " unchanged by " LT_CATALOG_API_STAMP_KEY ", fetching %" PRId64,
            self->nitems, self->stats.skipped, (int64_t)self->nitems - self->stats.skipped);
    for (size_t i = 0; i < self->nitems && !self->ended; i++) {
        if (skip[i])
            continue;
        self->pending++;
        send_call(&self->items[i]);
    }
    if (self->pending == 0 && !self->ended)
        commit(self);
out:
    free(skip);
    json_decref(by_code);
    json_decref(doc);
}

/* ---- one record ---------------------------------------------------------- */

static void handle_detail(lt_catalog_api *self, item *it, const lt_curlm_response *resp)
{
    char call[320];
    call_name(it, call, sizeof(call));
    json_error_t jerr;
    json_t *doc = json_loadb(resp->body, resp->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc) {
        fail(self, call, "%s: the answer is not valid JSON: %s (byte %d)", call, jerr.text,
             jerr.position);
        return;
    }
    /* THE detail shape: the record itself, or {"data": record}. */
    const json_t *rec = doc;
    if (json_is_object(doc) && !json_object_get(doc, "MATTHC") &&
        json_is_object(json_object_get(doc, "data")))
        rec = json_object_get(doc, "data");
    const char *got = json_string_value(json_object_get(rec, "MATTHC"));
    if (got && strcmp(got, it->code) != 0) {
        char pos[96];
        snprintf(pos, sizeof(pos), "[%" PRId64 "].MATTHC", it->index);
        fail(self, pos, "%s: the answer is the record of %.64s, not of %.64s", call, got, it->code);
    } else if (lt_catalog_sync_add(self->sync, rec, it->index, -1, &self->err) < 0) {
        /* Name the call, hence the code, before the record's own message. */
        char msg[sizeof(self->err.message)];
        snprintf(msg, sizeof(msg), "%s", self->err.message);
        fail(self, NULL, "%.300s: %.400s", call, msg);
    } else {
        self->stats.fetched++;
        if (self->stats.fetched % PROGRESS_EVERY == 0)
            LT_INFO("catalog sync: %" PRId64 " of %" PRId64 " records fetched", self->stats.fetched,
                    (int64_t)self->nitems - self->stats.skipped);
        if (--self->pending == 0)
            commit(self);
    }
    json_decref(doc);
}

static void on_answer(lt_curlm *m, const lt_curlm_response *resp, void *arg)
{
    (void)m;
    item *it = arg;
    lt_catalog_api *self = it->api;
    if (self->ended)
        return;
    char call[320], what[400];
    call_name(it, call, sizeof(call));
    if (resp->curl_code != 0)
        snprintf(what, sizeof(what), "%s", resp->error);
    else
        snprintf(what, sizeof(what), "HTTP %ld", resp->status);
    if (retryable(resp) && it->attempts <= self->opts.retries) {
        int shift = it->attempts - 1 < 16 ? it->attempts - 1 : 16;
        it->due_ms = lt_loop_now_ms() + (self->opts.retry_delay_ms << shift);
        it->next_retry = self->retries;
        self->retries = it;
        self->stats.retried++;
        LT_WARN("catalog sync: %s: %s; retry %d of %d", call, what, it->attempts,
                self->opts.retries);
        arm_retries(self);
        return;
    }
    if (resp->curl_code != 0 || resp->status != 200) {
        fail(self, call, "%s failed%s%d time%s: %s", call, it->attempts > 1 ? " all " : " ",
             it->attempts, it->attempts > 1 ? "s" : "", what);
        return;
    }
    if (it->code)
        handle_detail(self, it, resp);
    else
        handle_list(self, resp);
}

/* ---- public -------------------------------------------------------------- */

int lt_catalog_api_start(lt_loop *loop, PGconn *conn, const lt_catalog_api_opts *opts,
                         lt_catalog_api_done_fn *done, void *arg, lt_catalog_api **ret_self,
                         lt_catalog_error *err)
{
    lt_catalog_api *self = calloc(1, sizeof(*self));
    if (!self) {
        memset(err, 0, sizeof(*err));
        snprintf(err->message, sizeof(err->message), "out of memory");
        return -1;
    }
    self->loop = loop;
    self->conn = conn;
    self->done = done;
    self->arg = arg;
    self->opts = *opts;
    lt_catalog_api_opts *o = &self->opts;
    if (o->concurrency <= 0)
        o->concurrency = 32;
    if (o->retry_delay_ms <= 0)
        o->retry_delay_ms = 1000;
    if (o->retries < 0)
        o->retries = 0;
    self->base = strdup(o->url ? o->url : "");
    if (self->base) {
        size_t n = strlen(self->base);
        while (n > 0 && self->base[n - 1] == '/')
            self->base[--n] = '\0';
    }
    lt_curlm_opts co = {.max_in_flight = o->concurrency,
                        .timeout_ms = o->timeout_ms,
                        .max_body = MAX_ANSWER,
                        .ca_file = o->ca_file,
                        .user_agent = "lienthong catalog sync"};
    self->curlm = self->base ? lt_curlm_new(loop, &co) : NULL;
    if (!self->curlm) {
        memset(err, 0, sizeof(*err));
        snprintf(err->message, sizeof(err->message), "cannot start libcurl (out of memory)");
        goto bad;
    }
    if (lt_catalog_sync_begin(conn, self->base, true, &self->sync, err) < 0)
        goto bad;
    self->list = (item){.api = self, .index = -1};
    send_call(&self->list);
    if (self->ended) { /* out of memory already */
        *err = self->err;
        goto bad;
    }
    *ret_self = self;
    return 0;
bad:
    lt_catalog_api_destroy(&self);
    return -1;
}

void lt_catalog_api_destroy(lt_catalog_api **self_p)
{
    if (!self_p || !*self_p)
        return;
    lt_catalog_api *self = *self_p;
    if (self->retry_timer)
        lt_loop_cancel_timer(self->loop, self->retry_timer);
    if (self->finish_timer)
        lt_loop_cancel_timer(self->loop, self->finish_timer);
    lt_curlm_destroy(&self->curlm);
    lt_catalog_sync_destroy(&self->sync);
    for (size_t i = 0; i < self->nitems; i++) {
        free(self->items[i].code);
        free(self->items[i].stamp);
    }
    free(self->items);
    free(self->base);
    free(self);
    *self_p = NULL;
}

/* ---- blocking, for the CLI ----------------------------------------------- */

typedef struct {
    lt_loop *loop;
    int rc;
    lt_catalog_result res;
    lt_catalog_error err;
    lt_catalog_api_stats stats;
} blocking;

static void blocking_done(int rc, const lt_catalog_result *res, const lt_catalog_api_stats *stats,
                          const lt_catalog_error *err, void *arg)
{
    blocking *b = arg;
    b->rc = rc;
    if (res)
        b->res = *res;
    if (err)
        b->err = *err;
    b->stats = *stats;
    lt_loop_stop(b->loop);
}

int lt_catalog_run_blocking(lt_catalog_start_fn *start, lt_catalog_stop_fn *stop, void *ctx,
                            lt_catalog_result *ret_result, lt_catalog_api_stats *ret_stats,
                            lt_catalog_error *err)
{
    blocking b = {.rc = -1};
    memset(err, 0, sizeof(*err));
    if (ret_stats)
        memset(ret_stats, 0, sizeof(*ret_stats));
    if (!(b.loop = lt_loop_new())) {
        snprintf(err->message, sizeof(err->message), "out of memory");
        return -1;
    }
    if (start(b.loop, ctx, blocking_done, &b, err) < 0) {
        lt_loop_destroy(&b.loop);
        return -1;
    }
    b.err = (lt_catalog_error){.message = "the sync loop stopped before the sync ended"};
    lt_loop_run(b.loop);
    stop(ctx);
    lt_loop_destroy(&b.loop);
    if (ret_stats)
        *ret_stats = b.stats;
    if (b.rc < 0) {
        *err = b.err;
        return -1;
    }
    *ret_result = b.res;
    return 0;
}

typedef struct {
    PGconn *conn;
    const lt_catalog_api_opts *opts;
    lt_catalog_api *api;
} api_run;

static int api_start(lt_loop *loop, void *ctx, lt_catalog_api_done_fn *done, void *arg,
                     lt_catalog_error *err)
{
    api_run *r = ctx;
    return lt_catalog_api_start(loop, r->conn, r->opts, done, arg, &r->api, err);
}

static void api_stop(void *ctx)
{
    lt_catalog_api_destroy(&((api_run *)ctx)->api);
}

int lt_catalog_sync_api(PGconn *conn, const lt_catalog_api_opts *opts,
                        lt_catalog_result *ret_result, lt_catalog_api_stats *ret_stats,
                        lt_catalog_error *err)
{
    api_run r = {.conn = conn, .opts = opts};
    return lt_catalog_run_blocking(api_start, api_stop, &r, ret_result, ret_stats, err);
}
