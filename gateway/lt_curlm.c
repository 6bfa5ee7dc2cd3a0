/* lt_curlm: libcurl's multi interface on an lt_loop (see lt_curlm.h).
 *
 * Why the socket API and not curl_multi_perform in a thread: an actor's loop
 * already waits on zmq_poll, and libcurl's CURLMOPT_SOCKETFUNCTION /
 * CURLMOPT_TIMERFUNCTION let its descriptors and its one timer join that
 * wait (STYLE.md point 8). libcurl tells us which descriptor to watch for
 * what; the loop tells libcurl which one is ready
 * (curl_multi_socket_action); finished transfers are read with
 * curl_multi_info_read after each action.
 *
 * Why our own queue when libcurl has CURLMOPT_MAX_TOTAL_CONNECTIONS: that
 * option keeps easy handles pending inside the multi, each with its buffers
 * allocated; a queue of URLs costs a few bytes each, starts transfers in
 * order, and makes "how many are running" a number we own. */
#include "lt_curlm.h"
#include "lt_log.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define DEFAULT_MAX_IN_FLIGHT 32
#define DEFAULT_TIMEOUT_MS    30000
#define DEFAULT_MAX_BODY      ((size_t)4 * 1024 * 1024)
/* A server that does not accept a connection within this long is down; it
 * does not need the whole request timeout to say so. */
#define CONNECT_TIMEOUT_MS 10000

typedef struct request request;
struct request {
    request *next, *prev;       /* in queued or active */
    lt_curlm *owner;            /* for the write callback's limit */
    char *url;                  /* owned */
    char *post;                 /* POST body, owned; NULL = GET */
    size_t post_len;            /* bytes in post */
    struct curl_slist *headers; /* request headers of a POST, owned */
    lt_curlm_done_fn *fn;       /* completion */
    void *arg;                  /* passed to fn */
    CURL *easy;                 /* NULL while queued */
    char *body;                 /* received so far, NUL-terminated; owned */
    size_t len, cap;            /* bytes in body, bytes allocated */
    bool too_large;             /* stopped at max_body */
    int64_t started_ms;         /* left the queue */
    char errbuf[CURL_ERROR_SIZE];
};

typedef struct {
    request *head, *tail;
    size_t n;
} request_list;

struct lt_curlm {
    lt_loop *loop;       /* borrowed */
    CURLM *multi;        /* the transfers */
    lt_curlm_opts opts;  /* with defaults applied; strings owned */
    request_list queued; /* waiting for a slot, oldest first */
    request_list active; /* added to multi */
    int timer_id;        /* the loop timer libcurl asked for, 0 = none */
    int kick_id;         /* a zero-delay timer that starts queued requests, 0 = none */
    int64_t started;     /* counters (lt_curlm_stats) */
    int64_t completed;
    int max_seen;
    unsigned generation; /* bumped by cancel_all: stale completions stop */
};

static void list_push(request_list *l, request *r)
{
    r->next = NULL;
    r->prev = l->tail;
    if (l->tail)
        l->tail->next = r;
    else
        l->head = r;
    l->tail = r;
    l->n++;
}

static void list_unlink(request_list *l, request *r)
{
    if (r->prev)
        r->prev->next = r->next;
    else
        l->head = r->next;
    if (r->next)
        r->next->prev = r->prev;
    else
        l->tail = r->prev;
    r->next = r->prev = NULL;
    l->n--;
}

static void request_free(request *r)
{
    if (!r)
        return;
    if (r->easy)
        curl_easy_cleanup(r->easy);
    free(r->url);
    free(r->post);
    curl_slist_free_all(r->headers);
    free(r->body);
    free(r);
}

/* ---- libcurl callbacks ------------------------------------------------- */

static size_t on_write(char *data, size_t size, size_t nmemb, void *userp)
{
    request *r = userp;
    size_t n = size * nmemb;
    if (r->len + n > r->owner->opts.max_body) {
        /* Returning less than n makes curl stop with CURLE_WRITE_ERROR. */
        r->too_large = true;
        return 0;
    }
    if (r->len + n + 1 > r->cap) {
        size_t cap = r->cap ? r->cap : 16384;
        while (cap < r->len + n + 1)
            cap *= 2;
        char *b = realloc(r->body, cap);
        if (!b)
            return 0;
        r->body = b;
        r->cap = cap;
    }
    memcpy(r->body + r->len, data, n);
    r->len += n;
    r->body[r->len] = '\0';
    return n;
}

static void drive(lt_curlm *self, curl_socket_t fd, int flags);

static int on_fd(lt_loop *loop, int fd, short revents, void *arg)
{
    (void)loop;
    int flags = 0;
    if (revents & ZMQ_POLLIN)
        flags |= CURL_CSELECT_IN;
    if (revents & ZMQ_POLLOUT)
        flags |= CURL_CSELECT_OUT;
    if (revents & ZMQ_POLLERR)
        flags |= CURL_CSELECT_ERR;
    drive(arg, fd, flags);
    return 0;
}

/* libcurl says what to watch a socket for. socketp is what we assigned to
 * the socket: non-NULL once the loop watches it. */
static int on_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
    (void)easy;
    lt_curlm *self = userp;
    if (what == CURL_POLL_REMOVE) {
        if (socketp)
            lt_loop_remove_fd(self->loop, s);
        return 0;
    }
    short events = (short)(((what & CURL_POLL_IN) ? ZMQ_POLLIN : 0) |
                           ((what & CURL_POLL_OUT) ? ZMQ_POLLOUT : 0));
    if (socketp) {
        lt_loop_set_fd_events(self->loop, s, events);
        return 0;
    }
    if (lt_loop_add_fd(self->loop, s, events, on_fd, self) < 0) {
        LT_ERROR("curl: the loop cannot watch one more socket");
        return -1;
    }
    curl_multi_assign(self->multi, s, self);
    return 0;
}

static int on_timer_fire(lt_loop *loop, int timer_id, void *arg)
{
    (void)loop;
    lt_curlm *self = arg;
    if (self->timer_id == timer_id)
        self->timer_id = 0;
    drive(self, CURL_SOCKET_TIMEOUT, 0);
    return 0;
}

/* libcurl wants to be called after timeout_ms (-1: never). It must not be
 * called back from inside this function, so even 0 goes through the loop. */
static int on_timer(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    lt_curlm *self = userp;
    if (self->timer_id)
        lt_loop_cancel_timer(self->loop, self->timer_id);
    self->timer_id = 0;
    if (timeout_ms < 0)
        return 0;
    int id = lt_loop_add_timer(self->loop, timeout_ms, 0, on_timer_fire, self);
    if (id < 0) {
        LT_ERROR("curl: the loop has no free timer");
        return -1;
    }
    self->timer_id = id;
    return 0;
}

/* ---- queue and completion ---------------------------------------------- */

static CURL *make_easy(lt_curlm *self, request *r)
{
    CURL *e = curl_easy_init();
    if (!e)
        return NULL;
    const lt_curlm_opts *o = &self->opts;
    int64_t connect = o->timeout_ms < CONNECT_TIMEOUT_MS ? o->timeout_ms : CONNECT_TIMEOUT_MS;
    /* Verified TLS always: a catalog or portal answer over an unverified
     * channel could be anyone's. */
    if (curl_easy_setopt(e, CURLOPT_URL, r->url) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)o->timeout_ms) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)connect) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK ||
        (o->ca_file && curl_easy_setopt(e, CURLOPT_CAINFO, o->ca_file) != CURLE_OK) ||
        curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)o->max_body) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_USERAGENT, o->user_agent) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "") != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_WRITEDATA, r) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_PRIVATE, r) != CURLE_OK ||
        (r->post &&
         (curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->post) != CURLE_OK ||
          curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->post_len) != CURLE_OK ||
          curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers) != CURLE_OK))) {
        curl_easy_cleanup(e);
        return NULL;
    }
    return e;
}

static void finish(lt_curlm *self, request *r, CURLcode code)
{
    long status = 0;
    if (r->easy)
        curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
    char msg[CURL_ERROR_SIZE + 64] = "";
    /* A Content-Length over the limit stops the transfer before the body. */
    if (code == CURLE_FILESIZE_EXCEEDED)
        r->too_large = true;
    if (r->too_large)
        snprintf(msg, sizeof(msg), "the answer is larger than %zu bytes", self->opts.max_body);
    else if (code != CURLE_OK)
        snprintf(msg, sizeof(msg), "%s", r->errbuf[0] ? r->errbuf : curl_easy_strerror(code));
    lt_curlm_response resp = {
        .curl_code = (int)code,
        .error = code != CURLE_OK ? msg : NULL,
        .status = status,
        .body = r->body ? r->body : "",
        .body_len = r->len,
        .too_large = r->too_large,
        .timed_out = code == CURLE_OPERATION_TIMEDOUT,
        .url = r->url,
        .elapsed_ms = lt_loop_now_ms() - r->started_ms,
    };
    self->completed++;
    r->fn(self, &resp, r->arg);
}

/* Moves queued requests into the multi while there is room. A request whose
 * easy handle cannot be made completes at once with an error, from here
 * (always reached from the loop, never from lt_curlm_get). */
static void start_queued(lt_curlm *self)
{
    while (self->queued.head && (int)self->active.n < self->opts.max_in_flight) {
        request *r = self->queued.head;
        list_unlink(&self->queued, r);
        r->started_ms = lt_loop_now_ms();
        self->started++;
        r->easy = make_easy(self, r);
        if (!r->easy || curl_multi_add_handle(self->multi, r->easy) != CURLM_OK) {
            snprintf(r->errbuf, sizeof(r->errbuf), "cannot start the request (out of memory)");
            finish(self, r, CURLE_OUT_OF_MEMORY);
            request_free(r);
            continue;
        }
        list_push(&self->active, r);
        if ((int)self->active.n > self->max_seen)
            self->max_seen = (int)self->active.n;
    }
}

static void read_done(lt_curlm *self)
{
    unsigned gen = self->generation;
    CURLMsg *m;
    int left;
    while (gen == self->generation && (m = curl_multi_info_read(self->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        request *r = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
        CURLcode code = m->data.result;
        /* m is invalid after remove_handle: everything needed is copied. */
        curl_multi_remove_handle(self->multi, r->easy);
        list_unlink(&self->active, r);
        finish(self, r, code);
        request_free(r);
    }
}

static void drive(lt_curlm *self, curl_socket_t fd, int flags)
{
    int running = 0;
    CURLMcode mc = curl_multi_socket_action(self->multi, fd, flags, &running);
    if (mc != CURLM_OK)
        LT_WARN("curl: %s", curl_multi_strerror(mc));
    read_done(self);
    start_queued(self);
}

/* A zero-delay kick: requests queued by lt_curlm_get start from the loop,
 * so a callback is never called from inside lt_curlm_get. */
static int on_kick(lt_loop *loop, int timer_id, void *arg)
{
    (void)loop;
    lt_curlm *self = arg;
    if (self->kick_id == timer_id)
        self->kick_id = 0;
    start_queued(self);
    return 0;
}

/* ---- public ------------------------------------------------------------ */

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;

static void global_init(void)
{
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int lt_curlm_global_init(void)
{
    pthread_once(&global_once, global_init);
    return global_rc == CURLE_OK ? 0 : -1;
}

lt_curlm *lt_curlm_new(lt_loop *loop, const lt_curlm_opts *opts)
{
    if (lt_curlm_global_init() < 0)
        return NULL;
    lt_curlm *self = calloc(1, sizeof(*self));
    if (!self)
        return NULL;
    self->loop = loop;
    if (opts)
        self->opts = *opts;
    lt_curlm_opts *o = &self->opts;
    if (o->max_in_flight <= 0)
        o->max_in_flight = DEFAULT_MAX_IN_FLIGHT;
    if (o->timeout_ms <= 0)
        o->timeout_ms = DEFAULT_TIMEOUT_MS;
    if (o->max_body == 0)
        o->max_body = DEFAULT_MAX_BODY;
    o->ca_file = o->ca_file && *o->ca_file ? strdup(o->ca_file) : NULL;
    o->user_agent = strdup(o->user_agent && *o->user_agent ? o->user_agent : "lienthong");
    self->multi = curl_multi_init();
    if (!self->multi || !o->user_agent || (opts && opts->ca_file && *opts->ca_file && !o->ca_file))
        goto bad;
    if (curl_multi_setopt(self->multi, CURLMOPT_SOCKETFUNCTION, on_socket) != CURLM_OK ||
        curl_multi_setopt(self->multi, CURLMOPT_SOCKETDATA, self) != CURLM_OK ||
        curl_multi_setopt(self->multi, CURLMOPT_TIMERFUNCTION, on_timer) != CURLM_OK ||
        curl_multi_setopt(self->multi, CURLMOPT_TIMERDATA, self) != CURLM_OK)
        goto bad;
    return self;
bad:
    lt_curlm_destroy(&self);
    return NULL;
}

static void drop_all(lt_curlm *self)
{
    request *r;
    while ((r = self->active.head)) {
        list_unlink(&self->active, r);
        curl_multi_remove_handle(self->multi, r->easy);
        request_free(r);
    }
    while ((r = self->queued.head)) {
        list_unlink(&self->queued, r);
        request_free(r);
    }
}

void lt_curlm_cancel_all(lt_curlm *self)
{
    self->generation++;
    drop_all(self);
}

void lt_curlm_destroy(lt_curlm **self_p)
{
    if (!self_p || !*self_p)
        return;
    lt_curlm *self = *self_p;
    if (self->multi) {
        drop_all(self);
        /* Cleanup closes cached connections and calls on_socket with
         * CURL_POLL_REMOVE for them, while the loop is still ours. */
        curl_multi_cleanup(self->multi);
    }
    if (self->timer_id)
        lt_loop_cancel_timer(self->loop, self->timer_id);
    if (self->kick_id)
        lt_loop_cancel_timer(self->loop, self->kick_id);
    free((char *)self->opts.ca_file);
    free((char *)self->opts.user_agent);
    free(self);
    *self_p = NULL;
}

static int enqueue(lt_curlm *self, request *r, lt_curlm_done_fn *fn, void *arg)
{
    r->owner = self;
    r->fn = fn;
    r->arg = arg;
    if (!self->kick_id) {
        int id = lt_loop_add_timer(self->loop, 0, 0, on_kick, self);
        if (id < 0) {
            request_free(r);
            return -1;
        }
        self->kick_id = id;
    }
    list_push(&self->queued, r);
    return 0;
}

int lt_curlm_get(lt_curlm *self, const char *url, lt_curlm_done_fn *fn, void *arg)
{
    request *r = calloc(1, sizeof(*r));
    if (!r || !(r->url = strdup(url))) {
        free(r);
        return -1;
    }
    return enqueue(self, r, fn, arg);
}

/* Appends one header; false when out of memory (the list so far is kept). */
static bool add_header(request *r, const char *h)
{
    struct curl_slist *l = curl_slist_append(r->headers, h);
    if (!l)
        return false;
    r->headers = l;
    return true;
}

int lt_curlm_post(lt_curlm *self, const char *url, const char *body, size_t len,
                  const char *const *headers, lt_curlm_done_fn *fn, void *arg)
{
    request *r = calloc(1, sizeof(*r));
    if (!r)
        return -1;
    r->url = strdup(url);
    r->post = malloc(len + 1);
    /* "Expect:" off: libcurl would otherwise wait up to a second for a 100
     * Continue before sending a body over 1 KiB, on every delivery. */
    bool ok = r->url && r->post && add_header(r, "Content-Type: application/json") &&
              add_header(r, "Expect:");
    for (size_t i = 0; ok && headers && headers[i]; i++)
        ok = add_header(r, headers[i]);
    if (!ok) {
        request_free(r);
        return -1;
    }
    memcpy(r->post, body, len);
    r->post[len] = '\0';
    r->post_len = len;
    return enqueue(self, r, fn, arg);
}

void lt_curlm_get_stats(const lt_curlm *self, lt_curlm_stats *ret_stats)
{
    *ret_stats = (lt_curlm_stats){.started = self->started,
                                  .completed = self->completed,
                                  .in_flight = (int)self->active.n,
                                  .max_in_flight = self->max_seen,
                                  .queued = self->queued.n};
}
