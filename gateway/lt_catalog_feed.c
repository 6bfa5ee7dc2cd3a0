/* lt_catalog_feed: a parent gateway's GET /v1/catalog feeding lt_catalog's
 * sync (see lt_catalog_feed.h for the contract).
 *
 * Why a module beside lt_catalog_api rather than a mode of it: the national
 * API is a list then thousands of detail calls, skipped by NGAYCAPNHAT; our
 * own contract gives whole records in pages of 1,000 and says itself what
 * changed since a version. The two share only lt_catalog's sync and the
 * done callback's shape, so the catalog actor can run either.
 *
 * Pages are fetched one after the other (each names the next) through
 * lt_curlm on the caller's loop; the sync's database work happens once, at
 * the end, blocking the loop thread like lt_catalog_api's staging does (the
 * catalog actor's loop does nothing else). */
#include "lt_catalog_feed.h"
#include "lt_curlm.h"
#include "lt_log.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FEED_SUFFIX "/v1/catalog"
/* Records per page: the contract's default and maximum. */
#define PAGE_LIMIT 1000
/* A page of 1,000 procedures is a few MiB; more is not a catalog page. */
#define MAX_ANSWER ((size_t)64 * 1024 * 1024)
/* Pages in one round: a province's catalog is ~2 pages, the nation's ~7. */
#define MAX_PAGES 1000

struct lt_catalog_feed {
    lt_loop *loop;         /* borrowed */
    PGconn *conn;          /* borrowed */
    lt_curlm *curlm;       /* the page calls */
    char *url;             /* the feed, without a trailing / */
    int64_t since;         /* parent version asked from; -1 = everything (full) */
    int64_t version;       /* the parent's version, from the round's first page */
    json_t *records;       /* every procedure fetched, in page order */
    char *after;           /* the next page's start, NULL on the first page */
    int pages;             /* pages fetched this round */
    lt_catalog_sync *sync; /* while staging and committing */
    lt_catalog_api_done_fn *done;
    void *arg;
    int finish_timer;           /* done is called from the loop, 0 = none */
    bool ended;                 /* done is due */
    int rc;                     /* outcome: 0 or -1 */
    lt_catalog_result res;      /* rc 0 */
    lt_catalog_error err;       /* rc -1 */
    lt_catalog_api_stats stats; /* listed and fetched: records staged */
};

bool lt_catalog_feed_url(const char *url)
{
    if (!url)
        return false;
    size_t n = strlen(url), sl = strlen(FEED_SUFFIX);
    while (n > 0 && url[n - 1] == '/')
        n--;
    return n > sl && strncmp(url + n - sl, FEED_SUFFIX, sl) == 0;
}

static int on_finish(lt_loop *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    lt_catalog_feed *self = arg;
    self->finish_timer = 0;
    self->done(self->rc, self->rc == 0 ? &self->res : NULL, &self->stats,
               self->rc == 0 ? NULL : &self->err, self->arg);
    return 0;
}

static void end(lt_catalog_feed *self, int rc)
{
    self->rc = rc;
    self->ended = true;
    /* The lock goes before done: whoever is told may sync again at once. */
    lt_catalog_sync_destroy(&self->sync);
    self->finish_timer = lt_loop_add_timer(self->loop, 0, 0, on_finish, self);
    if (self->finish_timer < 0) {
        /* No free timer: the loop is misconfigured; say so where it shows. */
        LT_ERROR("catalog feed: the loop has no free timer to finish on");
        self->finish_timer = 0;
    }
}

static void fail(lt_catalog_feed *self, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Fails the round; fmt NULL keeps the message already in self->err. */
static void fail(lt_catalog_feed *self, const char *fmt, ...)
{
    if (self->ended)
        return;
    if (fmt) {
        memset(&self->err, 0, sizeof(self->err));
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(self->err.message, sizeof(self->err.message), fmt, ap);
        va_end(ap);
    }
    if (self->sync) {
        self->err.run_id = lt_catalog_sync_run_id(self->sync);
        lt_catalog_sync_fail(self->sync, &self->err);
    }
    end(self, -1);
}

static void on_page(lt_curlm *m, const lt_curlm_response *resp, void *arg);

static void fetch_page(lt_catalog_feed *self)
{
    char *esc = self->after ? curl_easy_escape(NULL, self->after, 0) : NULL;
    size_t n = strlen(self->url) + (esc ? strlen(esc) : 0) + 96;
    char *url = malloc(n);
    if (!url || (self->after && !esc)) {
        free(url);
        curl_free(esc);
        fail(self, "out of memory");
        return;
    }
    int len = snprintf(url, n, "%s?limit=%d", self->url, PAGE_LIMIT);
    if (self->since >= 0)
        len += snprintf(url + len, n - (size_t)len, "&since=%" PRId64, self->since);
    if (esc)
        snprintf(url + len, n - (size_t)len, "&after=%s", esc);
    curl_free(esc);
    self->pages++;
    if (lt_curlm_get(self->curlm, url, on_page, self) < 0)
        fail(self, "out of memory");
    free(url);
}

/* Stages what was fetched and commits, in one sync under the catalog lock. */
static void apply(lt_catalog_feed *self)
{
    bool full = self->since < 0;
    size_t n = json_array_size(self->records);
    if (full && n == 0) {
        /* An upstream fault must not abolish this gateway's catalog. */
        fail(self, "the parent gateway %s served an empty catalog; refused", self->url);
        return;
    }
    if (lt_catalog_sync_begin(self->conn, self->url, full, &self->sync, &self->err) < 0) {
        end(self, -1); /* err->busy: another process syncs */
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (lt_catalog_sync_add(self->sync, json_array_get(self->records, i), (int64_t)i, -1,
                                &self->err) < 0) {
            fail(self, NULL);
            return;
        }
    }
    if (lt_catalog_sync_commit(self->sync, false, &self->res, &self->err) < 0) {
        fail(self, NULL);
        return;
    }
    self->stats.listed = self->stats.fetched = (int64_t)n;
    end(self, 0);
}

static void on_page(lt_curlm *m, const lt_curlm_response *resp, void *arg)
{
    (void)m;
    lt_catalog_feed *self = arg;
    if (self->ended)
        return;
    if (resp->curl_code != 0) {
        fail(self, "the parent gateway's catalog %s: %s", resp->url, resp->error);
        return;
    }
    if (resp->status != 200) {
        fail(self, "the parent gateway's catalog %s answered HTTP %ld", resp->url, resp->status);
        return;
    }
    json_error_t jerr;
    json_t *doc = json_loadb(resp->body, resp->body_len, 0, &jerr);
    json_t *version = json_object_get(doc, "version"), *procs = json_object_get(doc, "procedures");
    json_t *removed = json_object_get(doc, "removed"), *next = json_object_get(doc, "next");
    if (!json_is_integer(version) || !json_is_array(procs) || !json_is_array(removed) ||
        !(json_is_null(next) || json_is_string(next))) {
        json_decref(doc);
        fail(self,
             "the parent gateway's catalog %s: not a catalog page (version, procedures, "
             "removed, next)",
             resp->url);
        return;
    }
    if (self->pages == 1)
        self->version = json_integer_value(version);
    if (self->since >= 0 &&
        (json_array_size(removed) > 0 || json_integer_value(version) < self->since)) {
        /* Abolitions are only known to our sync by absence from a full
         * list: start again from the whole catalog. So too when the
         * parent's version went back (its database restored from a
         * backup): since= would never match anything again. */
        json_decref(doc);
        json_array_clear(self->records);
        free(self->after);
        self->after = NULL;
        self->since = -1;
        self->pages = 0;
        fetch_page(self);
        return;
    }
    size_t i;
    json_t *rec;
    json_array_foreach(procs, i, rec)
    {
        if (!json_is_object(rec) || json_array_append(self->records, rec) < 0) {
            json_decref(doc);
            fail(self, "the parent gateway's catalog %s: procedure %zu is not an object", resp->url,
                 i);
            return;
        }
    }
    free(self->after);
    self->after = json_is_string(next) ? strdup(json_string_value(next)) : NULL;
    bool more = json_is_string(next);
    json_decref(doc);
    if (more && !self->after) {
        fail(self, "out of memory");
        return;
    }
    if (more && self->pages >= MAX_PAGES) {
        fail(self, "the parent gateway's catalog %s has more than %d pages", self->url, MAX_PAGES);
        return;
    }
    if (more)
        fetch_page(self);
    else
        apply(self);
}

int lt_catalog_feed_start(lt_loop *loop, PGconn *conn, const lt_catalog_api_opts *opts,
                          int64_t since, lt_catalog_api_done_fn *done, void *arg,
                          lt_catalog_feed **ret_self, lt_catalog_error *err)
{
    memset(err, 0, sizeof(*err));
    lt_catalog_feed *self = calloc(1, sizeof(*self));
    if (!self)
        goto oom;
    self->loop = loop;
    self->conn = conn;
    self->since = since < 0 ? -1 : since;
    self->done = done;
    self->arg = arg;
    self->url = strdup(opts->url ? opts->url : "");
    self->records = json_array();
    if (!self->url || !self->records)
        goto oom;
    size_t n = strlen(self->url);
    while (n > 0 && self->url[n - 1] == '/')
        self->url[--n] = '\0';
    lt_curlm_opts co = {.max_in_flight = 1,
                        .timeout_ms = opts->timeout_ms,
                        .max_body = MAX_ANSWER,
                        .ca_file = opts->ca_file,
                        .user_agent = "lienthong catalog feed"};
    if (!(self->curlm = lt_curlm_new(loop, &co)))
        goto oom;
    self->stats.max_in_flight = 1;
    fetch_page(self);
    if (self->ended) { /* out of memory already; done is due from the loop */
        *err = self->err;
        lt_catalog_feed_destroy(&self);
        return -1;
    }
    *ret_self = self;
    return 0;
oom:
    snprintf(err->message, sizeof(err->message), "cannot start the catalog feed (out of memory)");
    lt_catalog_feed_destroy(&self);
    return -1;
}

int64_t lt_catalog_feed_version(const lt_catalog_feed *self)
{
    return self->version;
}

void lt_catalog_feed_destroy(lt_catalog_feed **self_p)
{
    if (!self_p || !*self_p)
        return;
    lt_catalog_feed *self = *self_p;
    if (self->finish_timer)
        lt_loop_cancel_timer(self->loop, self->finish_timer);
    lt_curlm_destroy(&self->curlm);
    lt_catalog_sync_destroy(&self->sync);
    json_decref(self->records);
    free(self->after);
    free(self->url);
    free(self);
    *self_p = NULL;
}

/* ---- blocking, for the CLI ----------------------------------------------- */

typedef struct {
    PGconn *conn;
    const lt_catalog_api_opts *opts;
    lt_catalog_feed *feed;
} feed_run;

static int feed_start(lt_loop *loop, void *ctx, lt_catalog_api_done_fn *done, void *arg,
                      lt_catalog_error *err)
{
    feed_run *r = ctx;
    return lt_catalog_feed_start(loop, r->conn, r->opts, -1, done, arg, &r->feed, err);
}

static void feed_stop(void *ctx)
{
    lt_catalog_feed_destroy(&((feed_run *)ctx)->feed);
}

int lt_catalog_sync_feed(PGconn *conn, const lt_catalog_api_opts *opts,
                         lt_catalog_result *ret_result, lt_catalog_api_stats *ret_stats,
                         lt_catalog_error *err)
{
    feed_run r = {.conn = conn, .opts = opts};
    return lt_catalog_run_blocking(feed_start, feed_stop, &r, ret_result, ret_stats, err);
}
