/* lt_simpeer_control: the simulator's control port, where a test switches
 * faults on and off (POST /_control) and reads what the service port saw
 * (/_received, /_records, /_dedup, /_latest, /_stats). It has a listener of
 * its own, one thread, and is never subject to the faults, so a test keeps
 * its hands on the simulator while the service refuses, hangs or fails.
 *
 * A command is validated whole before any of it takes effect: a typo in a
 * field name is a 400, never a fault silently not set. */
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lt_simpeer.h"

static const lt_simpeer_host *host;

typedef struct {
    char *data; /* the request body, NUL-terminated; owned */
    size_t len;
    bool too_big;
} body;

#define MAX_BODY (64u << 10)

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, char *text)
{
    if (!text) {
        status = 500;
        text = strdup("{\"error\": \"simulator out of memory\"}\n");
        if (!text)
            return MHD_NO;
    }
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", "application/json; charset=utf-8");
    enum MHD_Result rc = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result reply_json(struct MHD_Connection *c, unsigned status, json_t *j)
{
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    size_t n = text ? strlen(text) : 0;
    char *line = text ? realloc(text, n + 2) : NULL;
    if (!line) {
        free(text);
        return reply(c, 500, NULL);
    }
    memcpy(line + n, "\n", 2);
    return reply(c, status, line);
}

static enum MHD_Result fail(struct MHD_Connection *c, unsigned status, const char *message)
{
    return reply_json(c, status, json_pack("{s:s}", "error", message));
}

static json_t *state(void)
{
    lt_simpeer_faults f;
    lt_simpeer_conf c;
    bool down;
    host->get(&f, &c, &down);
    return json_pack("{s:b, s:I, s:f, s:I, s:i, s:s?, s:b, s:b, s:b, s:I, s:s?, s:I, s:I, s:s, "
                     "s:b, s:s}",
                     "down", down, "latency_ms", (json_int_t)f.latency_ms, "error_ratio",
                     f.error_ratio, "seed", (json_int_t)f.seed, "status", (int)f.status,
                     "error_code", c.forced_code[0] ? c.forced_code : NULL, "timeout", f.timeout,
                     "drop", f.drop, "after_apply", f.after_apply, "for_calls",
                     (json_int_t)f.for_calls, "only_path", f.only_path[0] ? f.only_path : NULL,
                     "session_calls", (json_int_t)c.session_calls, "session_seconds",
                     (json_int_t)c.session_seconds, "update_missing",
                     c.update_missing_ok ? "create" : "refuse", "numeric_codes", c.numeric_codes,
                     "success_code", c.success_code);
}

/* Copies a string field into a fixed array; false when it does not fit. */
static bool text_into(const json_t *v, char *dst, size_t size, bool nullable)
{
    if (nullable && json_is_null(v)) {
        dst[0] = '\0';
        return true;
    }
    const char *s = json_string_value(v);
    if (!s || strlen(s) >= size)
        return false;
    memcpy(dst, s, strlen(s) + 1);
    return true;
}

static bool integer(const json_t *v, long long lo, long long hi, long long *ret)
{
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return false;
    *ret = json_integer_value(v);
    return true;
}

/* Applies one field of a command to the copies; false when it is unknown
 * or its value is out of range. */
static bool field(const char *k, const json_t *v, lt_simpeer_faults *f, lt_simpeer_conf *c,
                  bool *down)
{
    long long x = 0;
    if (strcmp(k, "latency_ms") == 0)
        return integer(v, 0, 600000, &x) && ((f->latency_ms = (long)x), true);
    if (strcmp(k, "error_ratio") == 0) {
        double r = json_number_value(v);
        return json_is_number(v) && r >= 0 && r <= 1 && ((f->error_ratio = r), true);
    }
    if (strcmp(k, "seed") == 0)
        return integer(v, 0, INT64_MAX, &x) && ((f->seed = (uint64_t)x), true);
    if (strcmp(k, "status") == 0)
        return integer(v, 0, 599, &x) && (x == 0 || x >= 100) && ((f->status = (unsigned)x), true);
    if (strcmp(k, "for_calls") == 0)
        return integer(v, 0, INT64_MAX, &x) && ((f->for_calls = (long)x), true);
    if (strcmp(k, "session_calls") == 0)
        return integer(v, 0, INT64_MAX, &x) && ((c->session_calls = (long)x), true);
    if (strcmp(k, "session_seconds") == 0)
        return integer(v, 0, INT64_MAX, &x) && ((c->session_seconds = (long)x), true);
    bool *flag = strcmp(k, "timeout") == 0         ? &f->timeout
                 : strcmp(k, "drop") == 0          ? &f->drop
                 : strcmp(k, "after_apply") == 0   ? &f->after_apply
                 : strcmp(k, "down") == 0          ? down
                 : strcmp(k, "numeric_codes") == 0 ? &c->numeric_codes
                                                   : NULL;
    if (flag)
        return json_is_boolean(v) && ((*flag = json_is_true(v)), true);
    if (strcmp(k, "error_code") == 0)
        return text_into(v, c->forced_code, sizeof(c->forced_code), true);
    if (strcmp(k, "only_path") == 0)
        return text_into(v, f->only_path, sizeof(f->only_path), true);
    if (strcmp(k, "success_code") == 0)
        return text_into(v, c->success_code, sizeof(c->success_code), false) && c->success_code[0];
    if (strcmp(k, "username") == 0)
        return text_into(v, c->username, sizeof(c->username), false);
    if (strcmp(k, "password") == 0)
        return text_into(v, c->password, sizeof(c->password), false);
    if (strcmp(k, "token") == 0)
        return text_into(v, c->token, sizeof(c->token), true);
    if (strcmp(k, "update_missing") == 0) {
        const char *s = json_string_value(v);
        bool create = s && strcmp(s, "create") == 0;
        return (create || (s && strcmp(s, "refuse") == 0)) &&
               ((c->update_missing_ok = create), true);
    }
    return false;
}

static enum MHD_Result command(struct MHD_Connection *c, const body *b)
{
    json_error_t err;
    json_t *cmd = b->len ? json_loadb(b->data, b->len, 0, &err) : json_object();
    if (!json_is_object(cmd)) {
        json_decref(cmd);
        return fail(c, 400, "a JSON object of control fields");
    }
    lt_simpeer_faults f;
    lt_simpeer_conf cf;
    bool down;
    host->get(&f, &cf, &down);
    bool reset = json_is_true(json_object_get(cmd, "reset"));
    if (reset) {
        host->initial(&f, &cf);
        down = false;
    }
    const char *k;
    json_t *v;
    json_object_foreach(cmd, k, v)
    {
        bool action =
            strcmp(k, "reset") == 0 || strcmp(k, "clear") == 0 || strcmp(k, "expire_sessions") == 0;
        if (action ? !json_is_boolean(v) : !field(k, v, &f, &cf, &down)) {
            char msg[200];
            snprintf(msg, sizeof(msg), "bad control field \"%.100s\" (unknown, or a bad value)", k);
            json_decref(cmd);
            return fail(c, 400, msg);
        }
    }
    lt_simpeer_store_lock(host->store);
    if (reset || json_is_true(json_object_get(cmd, "clear")))
        lt_simpeer_store_clear(host->store);
    if (json_is_true(json_object_get(cmd, "expire_sessions")))
        lt_simpeer_store_expire_sessions(host->store);
    lt_simpeer_store_unlock(host->store);
    json_decref(cmd);
    if (host->set(&f, &cf, down) < 0)
        return fail(c, 500, "the service port cannot listen again");
    return reply_json(c, 200, state());
}

static bool arg_size(struct MHD_Connection *c, const char *name, long long dflt, long long *ret)
{
    const char *s = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);
    char *end;
    *ret = s ? strtoll(s, &end, 10) : dflt;
    return !s || (end != s && !*end && *ret >= -1);
}

static enum MHD_Result read_view(struct MHD_Connection *c, const char *url)
{
    lt_simpeer_store *st = host->store;
    if (strcmp(url, "/_stats") == 0) {
        lt_simpeer_store_lock(st);
        json_t *j = lt_simpeer_store_stats(st);
        lt_simpeer_store_unlock(st);
        json_t *rt = host->runtime();
        if (j && rt)
            json_object_update(j, rt);
        json_decref(rt);
        return reply_json(c, 200, j);
    }
    if (strcmp(url, "/_latest") == 0) {
        const char *code = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "MaHoSo");
        bool found;
        lt_simpeer_store_lock(st);
        char *text = lt_simpeer_store_latest_view(st, code, &found);
        lt_simpeer_store_unlock(st);
        return found ? reply(c, 200, text) : fail(c, 404, "no record of that MaHoSo");
    }
    lt_simpeer_view view = strcmp(url, "/_received") == 0  ? LT_SIMPEER_VIEW_RECEIVED
                           : strcmp(url, "/_records") == 0 ? LT_SIMPEER_VIEW_RECORDS
                           : strcmp(url, "/_dedup") == 0   ? LT_SIMPEER_VIEW_DEDUP
                                                           : (lt_simpeer_view)-1;
    if ((int)view < 0)
        return fail(c, 404,
                    "control paths: /_control /_received /_records /_dedup /_latest /_stats");
    long long since, limit;
    if (!arg_size(c, "since", 0, &since) || since < 0 || !arg_size(c, "limit", -1, &limit))
        return fail(c, 400, "since and limit are whole numbers");
    lt_simpeer_store_lock(st);
    char *text = lt_simpeer_store_view(st, view, (size_t)since, (long)limit);
    lt_simpeer_store_unlock(st);
    return reply(c, 200, text);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **req_cls)
{
    (void)cls, (void)version;
    body *b = *req_cls;
    if (!b) {
        b = calloc(1, sizeof(*b));
        *req_cls = b;
        return b ? MHD_YES : MHD_NO;
    }
    if (*upload_size) {
        size_t n = *upload_size;
        *upload_size = 0;
        char *p = b->too_big || b->len + n > MAX_BODY ? NULL : realloc(b->data, b->len + n + 1);
        if (!p) {
            b->too_big = true;
            return MHD_YES;
        }
        memcpy(p + b->len, upload, n);
        b->data = p;
        b->len += n;
        b->data[b->len] = '\0';
        return MHD_YES;
    }
    if (b->too_big)
        return fail(c, 413, "control request too large");
    if (strcmp(url, "/_control") == 0) {
        if (strcmp(method, "POST") == 0)
            return command(c, b);
        if (strcmp(method, "GET") == 0)
            return reply_json(c, 200, state());
        return fail(c, 405, "GET or POST");
    }
    if (strcmp(method, "GET") != 0)
        return fail(c, 405, "GET only");
    return read_view(c, url);
}

static void completed(void *cls, struct MHD_Connection *c, void **req_cls,
                      enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)c, (void)toe;
    body *b = *req_cls;
    if (b)
        free(b->data);
    free(b);
    *req_cls = NULL;
}

struct MHD_Daemon *lt_simpeer_control_start(const void *sa, const lt_simpeer_host *h)
{
    host = h;
    return MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0, NULL, NULL, handle,
                            NULL, MHD_OPTION_SOCK_ADDR, sa, MHD_OPTION_CONNECTION_LIMIT, 64u,
                            MHD_OPTION_CONNECTION_TIMEOUT, 60u, MHD_OPTION_LISTENING_ADDRESS_REUSE,
                            1u, MHD_OPTION_NOTIFY_COMPLETED, completed, NULL, MHD_OPTION_END);
}
