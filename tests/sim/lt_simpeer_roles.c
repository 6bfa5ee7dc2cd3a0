/* lt_simpeer_roles: how each simulated system judges a call and what it
 * keeps of it. The portal speaks the national dossier-sync protocol as
 * DOMAIN.md describes it (login -> session; DongBoHoSoMC / CapNhatTienDoHoSoMC;
 * error_code as text), the parent speaks our own POST /v1/dossiers contract,
 * and the ward and webhook receivers take any JSON. Faults live in
 * lt_simpeer.c: these functions are the systems working normally.
 *
 * A portal batch is judged whole before anything is stored: one bad record
 * refuses the call with its code and nothing of it is kept, as a client must
 * then resend the batch anyway. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lt_simpeer.h"

#define SYNC_CREATE   "DongBoHoSoMC"
#define SYNC_PROGRESS "CapNhatTienDoHoSoMC"
#define MAX_ARRAY     1000 /* our contract's records per request */

static const char *str(const json_t *obj, const char *key)
{
    const char *v = json_string_value(json_object_get(obj, key));
    return v && *v ? v : NULL;
}

/* The dossier records a ward or webhook call carries: the body itself when
 * it is an object with MaHoSo, the objects of a top-level array, or of a
 * "data" or "records" array (the shapes vendors use). A new array. */
static json_t *items_of(const json_t *body)
{
    json_t *out = json_array();
    const json_t *list = body;
    if (json_is_object(body) && !json_object_get(body, "MaHoSo")) {
        list = json_object_get(body, "data");
        if (!json_is_array(list))
            list = json_object_get(body, "records");
    }
    if (json_is_array(list)) {
        size_t i;
        json_t *v;
        json_array_foreach(list, i, v)
        {
            if (json_is_object(v))
                json_array_append(out, v);
        }
    } else if (json_is_object(body) && json_object_get(body, "MaHoSo")) {
        json_array_append(out, (json_t *)body);
    }
    return out;
}

/* The codes of a list of records, as an array for the call's entry. */
static json_t *codes_of(const json_t *records)
{
    json_t *codes = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(records, i, v)
    {
        const char *c = str(v, "MaHoSo");
        json_array_append_new(codes, c ? json_string(c) : json_null());
    }
    return codes;
}

int lt_simpeer_role_describe(const lt_simpeer_conf *conf, const lt_simpeer_req *rq, json_t *entry)
{
    const json_t *b = rq->body;
    int rc = 0;
    switch (conf->role) {
    case LT_SIMPEER_PORTAL:
        if (strcmp(rq->path, conf->login_path) == 0) {
            rc |= json_object_set_new(entry, "login", json_true());
            if (str(b, "username"))
                rc |= json_object_set_new(entry, "username", json_string(str(b, "username")));
        } else if (json_is_object(b)) {
            const char *keys[] = {"service", "isUpdating", "madonvi", "session"};
            for (size_t i = 0; i < sizeof(keys) / sizeof(*keys); i++) {
                json_t *v = json_object_get(b, keys[i]);
                if (v)
                    rc |= json_object_set(entry, keys[i], v);
            }
            json_t *data = json_object_get(b, "data");
            if (json_is_array(data))
                rc |= json_object_set_new(entry, "MaHoSo", codes_of(data));
        }
        break;
    case LT_SIMPEER_PARENT:
        if (json_is_object(b)) {
            json_t *one = json_pack("[O]", b);
            rc |= json_object_set_new(entry, "MaHoSo", codes_of(one));
            json_decref(one);
        } else if (json_is_array(b)) {
            rc |= json_object_set_new(entry, "MaHoSo", codes_of(b));
        }
        break;
    case LT_SIMPEER_WARD:
    case LT_SIMPEER_WEBHOOK:
        if (b) {
            json_t *items = items_of(b);
            rc |= json_object_set_new(entry, "MaHoSo", codes_of(items));
            json_decref(items);
        }
        break;
    }
    return rc ? -1 : 0;
}

/* ---- portal --------------------------------------------------------------- */

static json_t *portal_answer(const lt_simpeer_conf *conf, const char *code, const char *message)
{
    json_t *c;
    if (conf->numeric_codes)
        c = json_integer(strtol(code, NULL, 10));
    else
        c = json_string(code);
    return json_pack("{s:o, s:s}", "error_code", c, "message", message);
}

/* Sets the call's outcome on its entry and the answer. */
static int portal_outcome(const lt_simpeer_conf *conf, json_t *entry, const char *code,
                          const char *message, json_t **ret_answer)
{
    *ret_answer = portal_answer(conf, code, message);
    if (!*ret_answer || json_object_set_new(entry, "error_code", json_string(code)) < 0 ||
        json_object_set_new(entry, "message", json_string(message)) < 0)
        return -1;
    return 0;
}

static int portal_login(const lt_simpeer_conf *conf, lt_simpeer_store *store,
                        const lt_simpeer_req *rq, json_t *entry, json_t **ret_answer)
{
    const char *u = str(rq->body, "username"), *p = str(rq->body, "password");
    bool ok = u && p && strcmp(u, conf->username) == 0 && strcmp(p, conf->password) == 0;
    lt_simpeer_store_count_login(store, ok);
    if (!ok)
        return portal_outcome(conf, entry, "1", "Sai tên đăng nhập hoặc mật khẩu", ret_answer);
    char session[64];
    if (lt_simpeer_store_session_new(store, session, sizeof(session)) < 0 ||
        portal_outcome(conf, entry, conf->success_code, "ok", ret_answer) < 0)
        return -1;
    return json_object_set_new(*ret_answer, "session", json_string(session));
}

/* Why the batch is refused (code and message into the buffers), or 0 when
 * every record may be applied. */
static int portal_judge(const lt_simpeer_conf *conf, const lt_simpeer_store *store,
                        const json_t *data, bool progress, bool updating, const char **ret_code,
                        char *msg, size_t size)
{
    size_t i;
    json_t *r;
    json_array_foreach(data, i, r)
    {
        const char *code = str(r, "MaHoSo");
        if (!json_is_object(r) || !code || (!progress && !str(r, "MaTTHC"))) {
            *ret_code = "3";
            snprintf(msg, size, "data[%zu]: %s thiếu", i, code ? "MaTTHC" : "MaHoSo");
            return -1;
        }
        if (progress)
            continue;
        bool have = lt_simpeer_store_latest(store, code, NULL) != NULL;
        if (!updating && have) {
            *ret_code = "2";
            snprintf(msg, size, "Hồ sơ đã tồn tại: %s", code);
            return -1;
        }
        if (updating && !have && !conf->update_missing_ok) {
            *ret_code = "3";
            snprintf(msg, size, "Hồ sơ chưa tồn tại: %s", code);
            return -1;
        }
    }
    return 0;
}

static int portal_apply(const lt_simpeer_conf *conf, lt_simpeer_store *store,
                        const lt_simpeer_req *rq, const json_t *data, bool progress,
                        const char *updating)
{
    size_t i;
    json_t *r;
    json_array_foreach(data, i, r)
    {
        const char *code = str(r, "MaHoSo");
        const char *service = progress ? SYNC_PROGRESS : SYNC_CREATE;
        json_t *sum =
            json_pack("{s:I, s:s, s:s, s:s, s:s?}", "call", (json_int_t)rq->n, "at", rq->at,
                      "service", service, "MaHoSo", code, "idempotency_key", rq->key);
        if (!sum)
            return -1;
        const char *fields[] = {"TrangThaiHoSo", "MaTTHC", "TrangThai", "ThoiDiemXuLy"};
        for (size_t f = progress ? 2 : 0; f < (progress ? 4u : 2u); f++)
            json_object_set(sum, fields[f], json_object_get(r, fields[f]));
        if (!progress)
            json_object_set_new(sum, "isUpdating", json_string(updating));
        /* A progress call carries several steps of one dossier: the step
         * (time and status) is part of what names the event. */
        char id[1024];
        snprintf(id, sizeof(id), "%s\x1f%s\x1f%s\x1f%s\x1f%s", rq->key ? rq->key : "", service,
                 code, progress && str(r, "ThoiDiemXuLy") ? str(r, "ThoiDiemXuLy") : "",
                 progress && str(r, "TrangThai") ? str(r, "TrangThai") : "");
        bool dup;
        int rc = lt_simpeer_store_add_record(store, sum, rq->key ? id : NULL, &dup);
        json_decref(sum);
        size_t len;
        const char *raw = lt_simpeer_json_raw(r, &len);
        if (rc < 0 || (!progress && lt_simpeer_store_set_latest(
                                        store, code, conf->lean ? NULL : raw, len, 0) < 0))
            return -1;
    }
    return 0;
}

static int portal_sync(const lt_simpeer_conf *conf, lt_simpeer_store *store,
                       const lt_simpeer_req *rq, json_t *entry, json_t **ret_answer)
{
    const json_t *b = rq->body;
    if (conf->forced_code[0])
        return portal_outcome(conf, entry, conf->forced_code, "simulated error_code", ret_answer);
    if (lt_simpeer_store_session_use(store, str(b, "session"), conf->session_calls,
                                     conf->session_seconds) < 0)
        return portal_outcome(conf, entry, "-1", "Phiên làm việc không hợp lệ hoặc đã hết hạn",
                              ret_answer);
    const char *service = str(b, "service");
    bool progress = service && strcmp(service, SYNC_PROGRESS) == 0;
    if (!service || (!progress && strcmp(service, SYNC_CREATE) != 0))
        return portal_outcome(conf, entry, "4", "Dịch vụ không tồn tại", ret_answer);
    const json_t *data = json_object_get(b, "data");
    if (!json_is_array(data) || json_array_size(data) == 0)
        return portal_outcome(conf, entry, "3", "data phải là một mảng không rỗng", ret_answer);
    const char *upd = str(b, "isUpdating");
    bool updating = upd && strcasecmp(upd, "True") == 0;
    if (!progress && (!upd || (!updating && strcasecmp(upd, "False") != 0)))
        return portal_outcome(conf, entry, "3", "isUpdating phải là \"True\" hoặc \"False\"",
                              ret_answer);
    const char *code = NULL;
    char msg[256];
    if (portal_judge(conf, store, data, progress, updating, &code, msg, sizeof(msg)) < 0)
        return portal_outcome(conf, entry, code, msg, ret_answer);
    if (portal_apply(conf, store, rq, data, progress, updating ? "True" : "False") < 0 ||
        portal_outcome(conf, entry, conf->success_code, "ok", ret_answer) < 0)
        return -1;
    return json_object_set_new(entry, "applied", json_true()) ||
           json_object_set_new(entry, "records", json_integer((json_int_t)json_array_size(data)));
}

static int portal(const lt_simpeer_conf *conf, lt_simpeer_store *store, const lt_simpeer_req *rq,
                  json_t *entry, unsigned *ret_status, json_t **ret_answer)
{
    bool login = strcmp(rq->path, conf->login_path) == 0;
    if (!login && strcmp(rq->path, conf->sync_path) != 0) {
        *ret_status = 404;
        *ret_answer = json_pack("{s:s}", "message", "no such call");
        return *ret_answer ? 0 : -1;
    }
    if (strcmp(rq->method, "POST") != 0) {
        *ret_status = 405;
        *ret_answer = json_pack("{s:s}", "message", "POST only");
        return *ret_answer ? 0 : -1;
    }
    if (!json_is_object(rq->body)) {
        *ret_status = 400;
        return portal_outcome(conf, entry, login ? "1" : "3", "malformed JSON", ret_answer);
    }
    *ret_status = 200; /* the protocol answers in error_code, not in the status */
    return login ? portal_login(conf, store, rq, entry, ret_answer)
                 : portal_sync(conf, store, rq, entry, ret_answer);
}

/* ---- parent (a district office) ---------------------------------------------- */

static json_t *contract_error(const char *code, const char *message)
{
    return json_pack("{s:{s:s, s:s}}", "error", "code", code, "message", message);
}

static bool authorized(const lt_simpeer_conf *conf, const lt_simpeer_req *rq)
{
    if (!conf->token[0])
        return true;
    const char *a = rq->authorization;
    return a && strncasecmp(a, "Bearer ", 7) == 0 && strcmp(a + 7, conf->token) == 0;
}

/* One record of a parent call: its result, and what is kept of it. */
static json_t *parent_record(const lt_simpeer_conf *conf, lt_simpeer_store *store,
                             const lt_simpeer_req *rq, const json_t *r, bool *ret_refused)
{
    const char *code = str(r, "MaHoSo");
    if (!json_is_object(r) || !code) {
        *ret_refused = true;
        return json_pack("{s:s, s:s, s:i, s:s, s:s, s:s}", "MaHoSo", code ? code : "", "result",
                         "rejected", "code", 422, "field", "MaHoSo", "path", "MaHoSo", "message",
                         "MaHoSo is required");
    }
    /* The same bytes as the stored record: a duplicate, as our gateway
     * answers a record it already has. */
    int64_t seq = 0;
    size_t len;
    const char *raw = lt_simpeer_json_raw(r, &len);
    const char *had = lt_simpeer_store_latest(store, code, &seq);
    bool same = had && raw && strlen(had) == len && memcmp(had, raw, len) == 0;
    if (!same)
        seq = lt_simpeer_store_next_sequence(store);
    const char *result = same ? "duplicate" : "accepted";
    json_t *sum =
        json_pack("{s:I, s:s, s:s, s:O?, s:s, s:I, s:s?}", "call", (json_int_t)rq->n, "at", rq->at,
                  "MaHoSo", code, "TrangThaiHoSo", json_object_get(r, "TrangThaiHoSo"), "result",
                  result, "sequence", (json_int_t)seq, "idempotency_key", rq->key);
    char id[1024];
    snprintf(id, sizeof(id), "%s\x1f%s", rq->key ? rq->key : "", code);
    bool dup;
    if (!sum || lt_simpeer_store_add_record(store, sum, rq->key ? id : NULL, &dup) < 0 ||
        (!same &&
         lt_simpeer_store_set_latest(store, code, conf->lean ? NULL : raw, len, seq) < 0)) {
        json_decref(sum);
        return NULL;
    }
    json_decref(sum);
    *ret_refused = false;
    return json_pack("{s:s, s:s, s:I}", "MaHoSo", code, "result", result, "sequence",
                     (json_int_t)seq);
}

static int parent(const lt_simpeer_conf *conf, lt_simpeer_store *store, const lt_simpeer_req *rq,
                  json_t *entry, unsigned *ret_status, json_t **ret_answer)
{
    const json_t *b = rq->body;
    const char *ct = rq->content_type;
    if (strcmp(rq->path, "/v1/dossiers") != 0) {
        *ret_status = 404;
        *ret_answer = contract_error("not_found", "no such path");
    } else if (strcmp(rq->method, "POST") != 0) {
        *ret_status = 405;
        *ret_answer = contract_error("method", "POST only");
    } else if (!authorized(conf, rq)) {
        *ret_status = 401;
        *ret_answer = contract_error("unauthorized", "a valid bearer token is required");
    } else if (!ct || strncasecmp(ct, "application/json", 16) != 0) {
        *ret_status = 415;
        *ret_answer = contract_error("unsupported_media_type", "application/json required");
    } else if (!json_is_object(b) && (!json_is_array(b) || json_array_size(b) == 0)) {
        *ret_status = 400;
        *ret_answer = contract_error("malformed", "a record or a non-empty array of records");
    } else if (json_array_size(b) > MAX_ARRAY) {
        *ret_status = 413;
        *ret_answer = contract_error("too_large", "at most 1000 records");
    } else {
        json_t *results = json_array(), *one = json_is_object(b) ? json_pack("[O]", b) : NULL;
        const json_t *list = one ? one : b;
        bool refused = false, any_applied = false;
        size_t i;
        json_t *r;
        json_array_foreach(list, i, r)
        {
            json_t *res = parent_record(conf, store, rq, r, &refused);
            if (!res || json_array_append_new(results, res) < 0) {
                json_decref(results);
                json_decref(one);
                return -1;
            }
            any_applied |= !refused;
        }
        *ret_status = one && refused ? 422 : 200;
        *ret_answer = json_pack("{s:o}", "results", results);
        if (one && refused && *ret_answer)
            json_object_set_new(*ret_answer, "error",
                                json_pack("{s:s, s:s, s:s}", "code", "invalid", "message",
                                          "MaHoSo is required", "field", "MaHoSo"));
        json_decref(one);
        if (json_object_set_new(entry, "applied", json_boolean(any_applied)) < 0)
            return -1;
    }
    return *ret_answer ? 0 : -1;
}

/* ---- ward callbacks and webhooks ----------------------------------------------- */

static int receiver(const lt_simpeer_conf *conf, lt_simpeer_store *store, const lt_simpeer_req *rq,
                    json_t *entry, unsigned *ret_status, json_t **ret_answer)
{
    if (strcmp(rq->method, "POST") != 0) {
        *ret_status = 405;
        *ret_answer = json_pack("{s:b, s:s}", "ok", 0, "error", "POST only");
    } else if (!authorized(conf, rq)) {
        *ret_status = 401;
        *ret_answer = json_pack("{s:b, s:s}", "ok", 0, "error", "a valid bearer token is required");
    } else if (!rq->body) {
        *ret_status = 400;
        *ret_answer = json_pack("{s:b, s:s}", "ok", 0, "error", "malformed JSON");
    } else {
        json_t *items = items_of(rq->body);
        /* A call without any dossier record is still one event. */
        if (json_array_size(items) == 0)
            json_array_append_new(items, json_object());
        size_t i;
        json_t *r;
        json_array_foreach(items, i, r)
        {
            const char *code = str(r, "MaHoSo");
            json_t *sum =
                json_pack("{s:I, s:s, s:s, s:s?, s:O?, s:s?}", "call", (json_int_t)rq->n, "at",
                          rq->at, "path", rq->path, "MaHoSo", code, "TrangThaiHoSo",
                          json_object_get(r, "TrangThaiHoSo"), "idempotency_key", rq->key);
            if (sum && !code)
                json_object_set_new(sum, "MaHoSo", json_null());
            char id[1024];
            snprintf(id, sizeof(id), "%s\x1f%s", rq->key ? rq->key : "", code ? code : "");
            bool dup;
            int rc = sum ? lt_simpeer_store_add_record(store, sum, rq->key ? id : NULL, &dup) : -1;
            json_decref(sum);
            size_t len;
            const char *raw = lt_simpeer_json_raw(r, &len);
            if (rc < 0 || (code && lt_simpeer_store_set_latest(store, code, conf->lean ? NULL : raw,
                                                               len, 0) < 0)) {
                json_decref(items);
                return -1;
            }
        }
        json_decref(items);
        *ret_status = 200;
        *ret_answer = json_pack("{s:b}", "ok", 1);
        if (json_object_set_new(entry, "applied", json_true()) < 0)
            return -1;
    }
    return *ret_answer ? 0 : -1;
}

int lt_simpeer_role_handle(const lt_simpeer_conf *conf, lt_simpeer_store *store,
                           const lt_simpeer_req *rq, json_t *entry, unsigned *ret_status,
                           json_t **ret_answer)
{
    *ret_answer = NULL;
    switch (conf->role) {
    case LT_SIMPEER_PORTAL:
        return portal(conf, store, rq, entry, ret_status, ret_answer);
    case LT_SIMPEER_PARENT:
        return parent(conf, store, rq, entry, ret_status, ret_answer);
    case LT_SIMPEER_WARD:
    case LT_SIMPEER_WEBHOOK:
        break;
    }
    return receiver(conf, store, rq, entry, ret_status, ret_answer);
}
