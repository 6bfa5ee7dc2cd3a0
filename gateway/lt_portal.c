/* lt_portal: the national dossier-sync client (see lt_portal.h).
 *
 * A send is a short list of calls made one after the other: the items new to
 * the portal as one DongBoHoSoMC call with isUpdating "False", the known
 * ones as another with "True" (the protocol has one isUpdating per call, so a
 * mixed batch cannot be one call), and, when portal.progress is on, a
 * CapNhatTienDoHoSoMC call after each delivered one. Each call runs a small
 * state machine: log in when there is no session; on "session expired" log
 * in again once and resend; on "record exists" resend once as an update;
 * otherwise the answer decides every item of the call (the portal judges a
 * batch whole and answers with one error_code).
 *
 * Why the resend as update and the resend after a new login keep the call's
 * Idempotency-Key: the key names the events, and it is still the same
 * events being delivered; a portal (or our simulator's _dedup view) that
 * de-duplicates by key then sees each event once, whatever happened on the
 * way. The key of a batch depends only on its events, so when the delivery
 * actor retries the same batch later it carries the same key too.
 *
 * The password goes only into the login call's body, which is wiped after
 * it is handed to libcurl; no log line carries a body.
 *
 * A record the dialect maps to itself (json_equal: the portal's names are
 * the canonical ones, so the national dialect mostly does) goes into the
 * call as the stored text it came as, not serialised again: serialising
 * was a third of what the gateway spent per delivered record
 * (tests/bench/RESULTS.md, "Drain"). The same JSON value either way. */
#include "lt_portal.h"
#include "lt_log.h"
#include "lt_mask.h"
#include "lt_sbuf.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SERVICE_SYNC     "DongBoHoSoMC"
#define SERVICE_PROGRESS "CapNhatTienDoHoSoMC"
/* An answer kept for a dead letter is cut here: enough for any protocol
 * answer, bounded whatever the portal sends. */
#define ANSWER_MAX 4096
#define CODES_MAX  8
#define CODE_LEN   16
/* Two sync calls (new, known) and their two progress calls. */
#define CALLS_MAX 4
#define KEY_LEN   64
/* Vietnam keeps no daylight saving: Asia/Ho_Chi_Minh is always UTC+7. */
#define VN_OFFSET_S (7 * 3600)

typedef struct codes {
    size_t n;                    /* entries in v */
    char v[CODES_MAX][CODE_LEN]; /* error_code values, as text */
} codes;

/* One call of a send and what it decides. */
typedef struct call {
    const char *service; /* SERVICE_SYNC or SERVICE_PROGRESS */
    bool updating;       /* isUpdating "True" */
    json_t *data;        /* the records (or history entries) sent; owned */
    char *text;          /* data as JSON text, what is sent; owned */
    size_t idx[100];     /* the items it decides (portal.batch_size <= 100) */
    size_t nidx;         /* entries in idx */
    char key[KEY_LEN];   /* its Idempotency-Key */
    bool relogged;       /* logged in again after "expired" already */
    bool flipped;        /* resent as an update after "exists" already */
} call;

struct lt_portal {
    lt_loop *loop;       /* borrowed */
    lt_curlm *curl;      /* borrowed */
    const lt_dialect *d; /* borrowed */
    char *login_url;     /* url + login_path */
    char *sync_url;      /* url + sync_path */
    char *username, *password, *agency;
    size_t batch_size; /* portal.batch_size */
    bool progress;     /* portal.progress */
    codes success, expired, exists;
    char *session; /* the portal's session, NULL until logged in */
    /* The send in flight. */
    bool busy;
    lt_portal_done_fn *done;
    void *done_arg;
    lt_portal_result *results; /* one per item */
    size_t n;                  /* items */
    call calls[CALLS_MAX];
    size_t ncalls, cur; /* calls planned, the one running */
    int finish_timer;   /* 0 = none */
};

/* ---- configuration ------------------------------------------------------ */

/* "0, 00" -> {"0", "00"}. Values longer than CODE_LEN-1 or beyond CODES_MAX
 * cannot be real codes of this protocol and are ignored. */
static void parse_codes(const char *list, codes *ret)
{
    ret->n = 0;
    const char *p = list ? list : "";
    while (*p && ret->n < CODES_MAX) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t len = strcspn(p, ",");
        size_t end = len;
        while (end > 0 && p[end - 1] == ' ')
            end--;
        if (end > 0 && end < CODE_LEN) {
            memcpy(ret->v[ret->n], p, end);
            ret->v[ret->n][end] = '\0';
            ret->n++;
        }
        p += len;
    }
}

static bool codes_has(const codes *c, const char *code)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->v[i], code) == 0)
            return true;
    return false;
}

static char *join_url(const char *base, const char *path)
{
    size_t bl = strlen(base);
    while (bl > 0 && base[bl - 1] == '/')
        bl--;
    const char *sep = path[0] == '/' ? "" : "/";
    size_t n = bl + strlen(sep) + strlen(path) + 1;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%.*s%s%s", (int)bl, base, sep, path);
    return s;
}

lt_portal *lt_portal_new(lt_loop *loop, lt_curlm *curl, const lt_config *cfg, const lt_dialect *d)
{
    if (!cfg->portal.url || !*cfg->portal.url)
        return NULL;
    lt_portal *self = calloc(1, sizeof(*self));
    if (!self)
        return NULL;
    self->loop = loop;
    self->curl = curl;
    self->d = d;
    self->login_url = join_url(cfg->portal.url, cfg->portal.login_path);
    self->sync_url = join_url(cfg->portal.url, cfg->portal.sync_path);
    self->username = strdup(cfg->portal.username);
    self->password = strdup(cfg->portal.password);
    self->agency = strdup(cfg->portal.agency);
    self->batch_size = (size_t)cfg->portal.batch_size;
    if (self->batch_size < 1 || self->batch_size > 100)
        self->batch_size = 1;
    self->progress = cfg->portal.progress;
    parse_codes(cfg->portal.success_codes, &self->success);
    parse_codes(cfg->portal.expired_codes, &self->expired);
    parse_codes(cfg->portal.exists_codes, &self->exists);
    if (!self->login_url || !self->sync_url || !self->username || !self->password ||
        !self->agency) {
        lt_portal_destroy(&self);
        return NULL;
    }
    return self;
}

static void free_send(lt_portal *self)
{
    for (size_t i = 0; i < self->ncalls; i++) {
        json_decref(self->calls[i].data);
        free(self->calls[i].text);
    }
    memset(self->calls, 0, sizeof(self->calls));
    self->ncalls = self->cur = 0;
    if (self->results)
        for (size_t i = 0; i < self->n; i++)
            free(self->results[i].answer);
    free(self->results);
    self->results = NULL;
    self->n = 0;
    self->busy = false;
}

void lt_portal_destroy(lt_portal **self_p)
{
    if (!self_p || !*self_p)
        return;
    lt_portal *self = *self_p;
    if (self->busy && self->curl)
        lt_curlm_cancel_all(self->curl);
    if (self->finish_timer)
        lt_loop_cancel_timer(self->loop, self->finish_timer);
    free_send(self);
    free(self->login_url);
    free(self->sync_url);
    free(self->username);
    if (self->password)
        sodium_memzero(self->password, strlen(self->password));
    free(self->password);
    free(self->agency);
    free(self->session);
    free(self);
    *self_p = NULL;
}

bool lt_portal_busy(const lt_portal *self)
{
    return self->busy;
}

/* ---- the pure pieces ---------------------------------------------------- */

lt_portal_answer lt_portal_judge(const lt_portal *self, int curl_code, long status,
                                 const char *body, size_t len, char ret_code[16], char *why,
                                 size_t why_cap)
{
    ret_code[0] = '\0';
    if (curl_code != 0) {
        snprintf(why, why_cap, "no answer from the portal (transport error)");
        return LT_PORTAL_ANS_RETRY;
    }
    if (status == 408 || status == 429 || status >= 500) {
        snprintf(why, why_cap, "the portal answered HTTP %ld, to be retried", status);
        return LT_PORTAL_ANS_RETRY;
    }
    if (status < 200 || status > 299) {
        snprintf(why, why_cap, "the portal refused the call with HTTP %ld", status);
        return LT_PORTAL_ANS_REJECTED;
    }
    json_t *doc = json_loadb(body ? body : "", len, 0, NULL);
    const json_t *ec = json_object_get(doc, "error_code");
    lt_portal_answer ans = LT_PORTAL_ANS_REJECTED;
    /* The code arrives as a number or a string: compare it as text, so 0
     * and "0" are alike and "00" stays distinct from "0". */
    if (json_is_string(ec))
        snprintf(ret_code, CODE_LEN, "%s", json_string_value(ec));
    else if (json_is_integer(ec))
        snprintf(ret_code, CODE_LEN, "%" JSON_INTEGER_FORMAT, json_integer_value(ec));
    if (!json_is_object(doc)) {
        snprintf(why, why_cap, "HTTP %ld with an answer that is not a JSON object", status);
        goto out;
    }
    if (!ret_code[0]) {
        snprintf(why, why_cap, "HTTP %ld with an answer that carries no error_code", status);
        goto out;
    }
    const char *msg = json_string_value(json_object_get(doc, "message"));
    char *masked = msg ? lt_mask_text(msg) : NULL;
    if (codes_has(&self->success, ret_code)) {
        ans = LT_PORTAL_ANS_OK;
        snprintf(why, why_cap, "the portal took it (error_code %s)", ret_code);
    } else {
        if (codes_has(&self->expired, ret_code))
            ans = LT_PORTAL_ANS_EXPIRED;
        else if (codes_has(&self->exists, ret_code))
            ans = LT_PORTAL_ANS_EXISTS;
        snprintf(why, why_cap, "the portal answered error_code %s%s%.160s", ret_code,
                 masked ? ": " : "", masked ? masked : "");
    }
    free(masked);
out:
    json_decref(doc);
    return ans;
}

static int cmp_seq(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

void lt_portal_key(const lt_portal_item *items, size_t n, char *buf, size_t cap)
{
    if (n == 1) {
        snprintf(buf, cap, "lt-%" PRId64, items[0].event_seq);
        return;
    }
    int64_t seqs[100] = {0};
    size_t m = n < 100 ? n : 100;
    for (size_t i = 0; i < m; i++)
        seqs[i] = items[i].event_seq;
    qsort(seqs, m, sizeof(seqs[0]), cmp_seq);
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    for (size_t i = 0; i < m; i++) {
        char num[32];
        int len = snprintf(num, sizeof(num), "%s%" PRId64, i ? "," : "", seqs[i]);
        crypto_hash_sha256_update(&st, (const unsigned char *)num, (unsigned long long)len);
    }
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_final(&st, h);
    char hex[2 * crypto_hash_sha256_BYTES + 1];
    sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
    snprintf(buf, cap, "lt-b-%.32s", hex);
}

static json_t *map_canonical(const lt_portal *self, const json_t *canon, const char *now, char *why,
                             size_t why_cap)
{
    lt_map_errors errs;
    json_t *out = lt_dialect_from_canonical(self->d, canon, now, &errs);
    if (!out) {
        if (errs.total == 0)
            snprintf(why, why_cap, "out of memory while mapping the record");
        else
            snprintf(why, why_cap, "the record does not map to dialect %s: %.200s",
                     lt_dialect_name(self->d), errs.items[0].message);
    }
    return out;
}

json_t *lt_portal_map_record(const lt_portal *self, const char *record, const char *now, char *why,
                             size_t why_cap)
{
    json_t *canon = json_loads(record ? record : "", 0, NULL);
    if (!json_is_object(canon)) {
        snprintf(why, why_cap, "the stored record is not a JSON object");
        json_decref(canon);
        return NULL;
    }
    json_t *out = map_canonical(self, canon, now, why, why_cap);
    json_decref(canon);
    return out;
}

json_t *lt_portal_sync_body(const lt_portal *self, const char *session, const char *service,
                            bool updating, json_t *data)
{
    json_t *b = json_object();
    if (!b || json_object_set_new(b, "session", json_string(session ? session : "")) < 0 ||
        json_object_set_new(b, "madonvi", json_string(self->agency)) < 0 ||
        json_object_set_new(b, "service", json_string(service)) < 0 ||
        json_object_set_new(b, "isUpdating", json_string(updating ? "True" : "False")) < 0 ||
        json_object_set_new(b, "data", data) < 0) {
        json_decref(b);
        return NULL;
    }
    return b;
}

/* ---- a send ------------------------------------------------------------- */

static void now_text(char buf[32])
{
    time_t t = time(NULL) + VN_OFFSET_S;
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(buf, 32, "%04d%02d%02d%02d%02d%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static void set_result(lt_portal_result *r, lt_portal_verdict v, long status, const char *code,
                       const char *answer, size_t answer_len, const char *why)
{
    r->verdict = v;
    r->http_status = (int)status;
    snprintf(r->error_code, sizeof(r->error_code), "%s", code ? code : "");
    free(r->answer);
    r->answer = NULL;
    if (answer && answer_len > 0) {
        size_t n = answer_len < ANSWER_MAX ? answer_len : ANSWER_MAX;
        r->answer = malloc(n + 1);
        if (r->answer) {
            memcpy(r->answer, answer, n);
            r->answer[n] = '\0';
        }
    }
    /* A longer reason is cut: the message is a bounded field of the result. */
    size_t n = strnlen(why, sizeof(r->message) - 1);
    memcpy(r->message, why, n);
    r->message[n] = '\0';
}

/* Decides every item of calls[from..] the same way: a failed login or an
 * unusable client stops the whole send. */
static void decide_rest(lt_portal *self, size_t from, lt_portal_verdict v, long status,
                        const char *code, const char *answer, size_t len, const char *why)
{
    for (size_t c = from; c < self->ncalls; c++)
        for (size_t i = 0; i < self->calls[c].nidx; i++)
            set_result(&self->results[self->calls[c].idx[i]], v, status, code, answer, len, why);
    self->cur = self->ncalls;
}

static int on_finish(lt_loop *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    lt_portal *self = arg;
    self->finish_timer = 0;
    /* Taken out first: done may start the next send at once. */
    lt_portal_result *results = self->results;
    size_t n = self->n;
    lt_portal_done_fn *done = self->done;
    void *done_arg = self->done_arg;
    self->results = NULL;
    self->n = 0;
    free_send(self);
    done(results, n, done_arg);
    for (size_t i = 0; i < n; i++)
        free(results[i].answer);
    free(results);
    return 0;
}

static void next_call(lt_portal *self);

static void finish(lt_portal *self)
{
    int id = lt_loop_add_timer(self->loop, 0, 0, on_finish, self);
    if (id < 0) {
        /* No free timer: answer from here rather than never. */
        LT_ERROR("portal: the loop has no free timer to finish on");
        on_finish(self->loop, 0, self);
        return;
    }
    self->finish_timer = id;
}

static void on_login(lt_curlm *m, const lt_curlm_response *resp, void *arg);
static void on_sync(lt_curlm *m, const lt_curlm_response *resp, void *arg);

/* Posts body (taken) to url. The text holds the password or the session,
 * so our copy is wiped once libcurl has its own (freed with the request).
 * When the call cannot even start, the current call and those after it are
 * decided retry with why, and the batch finishes. */
static void post_json(lt_portal *self, const char *url, json_t *body, const char *const *headers,
                      lt_curlm_done_fn *done, const char *why)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    int rc = text ? lt_curlm_post(self->curl, url, text, strlen(text), headers, done, self) : -1;
    if (text) {
        sodium_memzero(text, strlen(text));
        free(text);
    }
    json_decref(body);
    if (rc < 0) {
        decide_rest(self, self->cur, LT_PORTAL_RETRY, 0, "", NULL, 0, why);
        finish(self);
    }
}

static void login(lt_portal *self)
{
    post_json(self, self->login_url,
              json_pack("{s:s, s:s}", "username", self->username, "password", self->password), NULL,
              on_login, "out of memory before logging in to the portal");
}

/* The sync body of lt_portal_sync_body, written around the call's data
 * text. It holds the session: wiped once libcurl has its copy. */
static void post_call(lt_portal *self)
{
    call *c = &self->calls[self->cur];
    char header[KEY_LEN + 32];
    snprintf(header, sizeof(header), "Idempotency-Key: %s", c->key);
    const char *headers[] = {header, NULL};
    lt_sbuf b = {0};
    lt_sbuf_adds(&b, "{\"session\":");
    lt_sbuf_json_str(&b, self->session ? self->session : "");
    lt_sbuf_adds(&b, ",\"madonvi\":");
    lt_sbuf_json_str(&b, self->agency);
    lt_sbuf_adds(&b, ",\"service\":");
    lt_sbuf_json_str(&b, c->service);
    lt_sbuf_adds(&b, c->updating ? ",\"isUpdating\":\"True\",\"data\":"
                                 : ",\"isUpdating\":\"False\",\"data\":");
    lt_sbuf_adds(&b, c->text);
    lt_sbuf_addc(&b, '}');
    int rc = lt_sbuf_failed(&b)
                 ? -1
                 : lt_curlm_post(self->curl, self->sync_url, b.data, b.len, headers, on_sync, self);
    if (b.data)
        sodium_memzero(b.data, b.cap);
    lt_sbuf_free(&b);
    if (rc < 0) {
        decide_rest(self, self->cur, LT_PORTAL_RETRY, 0, "", NULL, 0,
                    "out of memory before calling the portal");
        finish(self);
    }
}

static void next_call(lt_portal *self)
{
    if (self->cur >= self->ncalls) {
        finish(self);
        return;
    }
    if (!self->session)
        login(self);
    else
        post_call(self);
}

/* lt_portal_judge on an answer, with curl's own sentence after a transport
 * error: "transport error" alone leaves an operator guessing between a
 * refused connection, a timeout and a certificate that does not verify. */
static lt_portal_answer judge(lt_portal *self, const lt_curlm_response *resp, char code[CODE_LEN],
                              char *why, size_t cap)
{
    lt_portal_answer ans = lt_portal_judge(self, resp->curl_code, resp->status, resp->body,
                                           resp->body_len, code, why, cap);
    if (resp->curl_code != 0 && resp->error && resp->error[0]) {
        size_t len = strlen(why);
        snprintf(why + len, cap - len, ": %s%s", resp->error,
                 resp->curl_code == CURLE_PEER_FAILED_VERIFICATION
                     ? " (a private CA belongs in portal.ca_file)"
                     : "");
    }
    return ans;
}

static void on_login(lt_curlm *m, const lt_curlm_response *resp, void *arg)
{
    (void)m;
    lt_portal *self = arg;
    char code[CODE_LEN], why[256];
    lt_portal_answer ans = judge(self, resp, code, why, sizeof(why));
    if (ans == LT_PORTAL_ANS_OK) {
        json_t *doc = json_loadb(resp->body, resp->body_len, 0, NULL);
        const char *s = json_string_value(json_object_get(doc, "session"));
        free(self->session);
        self->session = s && *s ? strdup(s) : NULL;
        json_decref(doc);
        if (self->session) {
            LT_INFO("portal: logged in");
            post_call(self);
            return;
        }
        ans = LT_PORTAL_ANS_REJECTED;
        snprintf(why, sizeof(why), "the portal's login answer carries no session");
    }
    char msg[300];
    snprintf(msg, sizeof(msg), "login: %s", why);
    if (ans == LT_PORTAL_ANS_RETRY) {
        LT_WARN("portal: %s", msg);
        decide_rest(self, self->cur, LT_PORTAL_RETRY, resp->status, code, NULL, 0, msg);
    } else {
        /* Bad credentials, or a login the protocol does not know: no call
         * of this send can succeed until an operator acts. */
        LT_ERROR("portal: %s", msg);
        decide_rest(self, self->cur, LT_PORTAL_DEAD, resp->status, code, resp->body, resp->body_len,
                    msg);
    }
    finish(self);
}

/* After a delivered DongBoHoSoMC: its records' history entries as one
 * CapNhatTienDoHoSoMC call, each entry carrying its MaHoSo. */
static void plan_progress(lt_portal *self, const call *done)
{
    if (!self->progress || self->ncalls >= CALLS_MAX)
        return;
    json_t *entries = json_array();
    size_t i;
    const json_t *rec;
    json_array_foreach(done->data, i, rec)
    {
        const json_t *code = json_object_get(rec, "MaHoSo");
        size_t j;
        const json_t *e;
        json_array_foreach(json_object_get(rec, "QuaTrinhXuLy"), j, e)
        {
            json_t *copy = json_is_object(e) ? json_deep_copy(e) : NULL;
            if (copy && !json_object_get(copy, "MaHoSo") && code)
                json_object_set(copy, "MaHoSo", (json_t *)code);
            if (copy)
                json_array_append_new(entries, copy);
        }
    }
    if (json_array_size(entries) == 0) {
        json_decref(entries);
        return;
    }
    char *text = json_dumps(entries, JSON_COMPACT);
    if (!text) {
        /* Out of memory: the records are delivered, their history is not
         * sent this time (as when a record has none). */
        json_decref(entries);
        return;
    }
    call *p = &self->calls[self->ncalls++];
    *p = (call){.service = SERVICE_PROGRESS, .data = entries, .text = text, .nidx = done->nidx};
    memcpy(p->idx, done->idx, sizeof(p->idx));
    /* A key of its own, derived from the record's: a portal (or a proxy in
     * front of it) that keeps answers by key alone would otherwise answer
     * this second call, on the same URL, with the first one's answer. */
    size_t klen = strnlen(done->key, sizeof(done->key));
    static const char suffix[] = ".progress";
    if (klen + sizeof(suffix) > sizeof(p->key))
        klen = sizeof(p->key) - sizeof(suffix);
    memcpy(p->key, done->key, klen);
    memcpy(p->key + klen, suffix, sizeof(suffix));
}

static void on_sync(lt_curlm *m, const lt_curlm_response *resp, void *arg)
{
    (void)m;
    lt_portal *self = arg;
    call *c = &self->calls[self->cur];
    char code[CODE_LEN], why[256];
    lt_portal_answer ans = judge(self, resp, code, why, sizeof(why));
    LT_DEBUG("portal: %s of %zu with key %s isUpdating %s: HTTP %ld error_code %s", c->service,
             json_array_size(c->data), c->key, c->updating ? "True" : "False", resp->status,
             code[0] ? code : "none");
    if (ans == LT_PORTAL_ANS_EXPIRED && !c->relogged) {
        c->relogged = true;
        LT_INFO("portal: the session expired; logging in again");
        free(self->session);
        self->session = NULL;
        login(self);
        return;
    }
    if (ans == LT_PORTAL_ANS_EXISTS && !c->flipped && !c->updating &&
        strcmp(c->service, SERVICE_SYNC) == 0) {
        c->flipped = true;
        c->updating = true;
        LT_INFO("portal: a record of %s already exists; resending it as an update", c->key);
        post_call(self);
        return;
    }
    lt_portal_verdict v;
    const char *answer = NULL;
    size_t answer_len = 0;
    char msg[300];
    const char *what = strcmp(c->service, SERVICE_SYNC) == 0 ? ""
                                                             : "the record was delivered, "
                                                               "its history not: ";
    if (ans == LT_PORTAL_ANS_OK) {
        v = LT_PORTAL_DELIVERED;
    } else if (ans == LT_PORTAL_ANS_RETRY) {
        v = LT_PORTAL_RETRY;
    } else if (ans == LT_PORTAL_ANS_EXPIRED) {
        /* Expired again right after a login: the portal is unwell, not us. */
        v = LT_PORTAL_RETRY;
        snprintf(why, sizeof(why), "the session expired again right after a new login");
    } else {
        v = LT_PORTAL_DEAD;
        answer = resp->body;
        answer_len = resp->body_len;
    }
    snprintf(msg, sizeof(msg), "%s%s", what, why);
    if (v == LT_PORTAL_DEAD)
        LT_WARN("portal: %s with key %s refused: %s", c->service, c->key, why);
    else if (v == LT_PORTAL_RETRY)
        LT_WARN("portal: %s with key %s to be retried: %s", c->service, c->key, why);
    for (size_t i = 0; i < c->nidx; i++)
        set_result(&self->results[c->idx[i]], v, resp->status, code, answer, answer_len, msg);
    if (v == LT_PORTAL_DELIVERED && strcmp(c->service, SERVICE_SYNC) == 0)
        plan_progress(self, c);
    self->cur++;
    next_call(self);
}

int lt_portal_send(lt_portal *self, const lt_portal_item *items, size_t n, lt_portal_done_fn *done,
                   void *arg)
{
    if (self->busy || n == 0 || n > self->batch_size || !self->loop || !self->curl)
        return -1;
    self->results = calloc(n, sizeof(*self->results));
    if (!self->results)
        return -1;
    self->busy = true;
    self->n = n;
    self->done = done;
    self->done_arg = arg;
    char now[32];
    now_text(now);
    /* calls[0]: the new records ("False"), calls[1]: the known ones. */
    lt_portal_item sub[2][100];
    size_t idx[2][100];
    size_t nsub[2] = {0, 0};
    json_t *data[2] = {json_array(), json_array()};
    lt_sbuf text[2] = {{0}, {0}};
    if (!data[0] || !data[1])
        goto oom;
    for (size_t i = 0; i < n; i++) {
        char why[256];
        json_t *canon = json_loads(items[i].record ? items[i].record : "", 0, NULL);
        json_t *rec = NULL;
        if (!json_is_object(canon)) {
            set_result(&self->results[i], LT_PORTAL_DEAD, 0, "", NULL, 0,
                       "the stored record is not a JSON object");
        } else if (!lt_dialect_accepts(self->d, canon)) {
            set_result(&self->results[i], LT_PORTAL_SKIPPED, 0, "", NULL, 0,
                       "the portal does not take this procedure at this status (dialect filter)");
        } else if (!(rec = map_canonical(self, canon, now, why, sizeof(why)))) {
            set_result(&self->results[i], LT_PORTAL_DEAD, 0, "", NULL, 0, why);
        } else {
            int g = items[i].known ? 1 : 0;
            lt_sbuf_addc(&text[g], nsub[g] ? ',' : '[');
            if (json_equal(rec, canon)) {
                lt_sbuf_adds(&text[g], items[i].record);
            } else {
                char *t = json_dumps(rec, JSON_COMPACT);
                lt_sbuf_adds(&text[g], t ? t : "");
                if (!t)
                    text[g].failed = true;
                free(t);
            }
            if (json_array_append_new(data[g], rec) < 0 || lt_sbuf_failed(&text[g])) {
                json_decref(canon);
                goto oom;
            }
            idx[g][nsub[g]] = i;
            sub[g][nsub[g]++] = items[i];
        }
        json_decref(canon);
    }
    for (int g = 0; g < 2; g++) {
        if (nsub[g] == 0) {
            json_decref(data[g]);
            data[g] = NULL;
            continue;
        }
        lt_sbuf_addc(&text[g], ']');
        if (lt_sbuf_failed(&text[g]))
            goto oom;
        call *c = &self->calls[self->ncalls];
        *c = (call){.service = SERVICE_SYNC,
                    .updating = g == 1,
                    .data = data[g],
                    .text = text[g].data,
                    .nidx = nsub[g]};
        data[g] = NULL;
        text[g] = (lt_sbuf){0};
        memcpy(c->idx, idx[g], nsub[g] * sizeof(idx[g][0]));
        lt_portal_key(sub[g], nsub[g], c->key, sizeof(c->key));
        self->ncalls++;
    }
    next_call(self);
    return 0;
oom:
    for (int g = 0; g < 2; g++) {
        json_decref(data[g]);
        lt_sbuf_free(&text[g]);
    }
    free_send(self);
    return -1;
}
