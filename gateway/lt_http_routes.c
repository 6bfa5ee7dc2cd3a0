/* lt_http_routes: what each HTTP route does (see lt_http.h; the server,
 * dispatch and replies are lt_http.c's). A route either answers from what
 * the front knows (health, readiness, refusals that need no database) or
 * checks what it can and hands the request to an actor: the reader for
 * reads, the writer for pushes, answering when the actor does. */
#include "lt_http_int.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lt_auth.h"
#include "lt_dossier.h"
#include "lt_read_query.h"
#include "lt_reader.h"

/* A request already handed to an actor comes back here when the actor
 * answers (or MHD polls it again while it waits): true, with *ret, when
 * that is so and the route has nothing more to do. */
static bool resumed(struct MHD_Connection *c, http_req *req, enum MHD_Result *ret)
{
    if (req->answer_status)
        *ret = lt_http_reply_answer(c, req);
    else if (req->waiting)
        *ret = MHD_YES;
    else
        return false;
    return true;
}

/* Why a request that needs the database cannot be taken now, or NULL. */
static const char *unavailable(const http_server *srv)
{
    if (srv->draining)
        return "gateway is stopping";
    if (!srv->db.ready)
        return srv->db.known ? srv->db.reason : "database state not yet known";
    return NULL;
}

enum MHD_Result lt_http_route_healthz(http_server *srv, struct MHD_Connection *c, http_req *req)
{
    (void)srv;
    (void)req;
    return lt_http_reply_json(c, MHD_HTTP_OK, json_pack("{s:s}", "status", "ok"), NULL, NULL);
}

enum MHD_Result lt_http_route_readyz(http_server *srv, struct MHD_Connection *c, http_req *req)
{
    (void)req;
    const char *why = unavailable(srv);
    if (why)
        return lt_http_reply_unavailable(c, why);
    return lt_http_reply_json(c, MHD_HTTP_OK,
                              json_pack("{s:s, s:{s:I, s:I}}", "status", "ready", "migrations",
                                        "applied", srv->db.applied, "known", srv->db.migrations),
                              NULL, NULL);
}

bool lt_http_query_args(struct MHD_Connection *c, http_req *req, query_args *qa,
                        enum MHD_Result *ret)
{
    if (resumed(c, req, ret))
        return true;
    *qa = (query_args){.n = 0};
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, lt_http_collect_arg, qa);
    if (!qa->overflow)
        return false;
    *ret = lt_http_reply_error(c, MHD_HTTP_BAD_REQUEST, "bad_request", "too many query parameters",
                               NULL);
    return true;
}

enum MHD_Result lt_http_query_send(http_server *srv, struct MHD_Connection *c, http_req *req,
                                   lt_httpcall *to, const char *verb, json_t *params)
{
    const char *why = unavailable(srv);
    if (why) {
        json_decref(params);
        return lt_http_reply_unavailable(c, why);
    }
    return lt_http_call_actor(srv, c, req, to, verb, params);
}

enum MHD_Result lt_http_route_query(http_server *srv, struct MHD_Connection *c, http_req *req,
                                    lt_httpcall *to, const char *verb, lt_http_parse_fn *parse,
                                    lt_http_to_json_fn *to_json, void *q)
{
    query_args qa;
    enum MHD_Result done;
    if (lt_http_query_args(c, req, &qa, &done))
        return done;
    char field[80], msg[256];
    if (parse(&qa, q, field, sizeof(field), msg, sizeof(msg)) < 0)
        return lt_http_reply_error(c, MHD_HTTP_BAD_REQUEST, "bad_request", msg, field);
    return lt_http_query_send(srv, c, req, to, verb, to_json(q));
}

/* GET /v1/catalog: parameters checked here (400 names the parameter), the
 * page read by the reader actor. */
enum MHD_Result lt_http_route_catalog(http_server *srv, struct MHD_Connection *c, http_req *req)
{
    query_args qa;
    enum MHD_Result done;
    if (lt_http_query_args(c, req, &qa, &done))
        return done;
    lt_catalog_query q;
    char field[80], msg[256];
    if (lt_catalog_query_parse(qa.keys, qa.values, qa.n, &q, field, sizeof(field), msg,
                               sizeof(msg)) < 0)
        return lt_http_reply_error(c, MHD_HTTP_BAD_REQUEST, "bad_request", msg, field);
    return lt_http_query_send(srv, c, req, srv->reader, "catalog", lt_catalog_query_json(&q));
}

/* ---- POST /v1/dossiers ----------------------------------------------------
 * The front's share of a push: the checks that need nothing but the request
 * (media type, size, a token present, the bytes decode), then the decoded
 * records go to the writer by pointer and the connection waits for the
 * commit. A malformed body still goes to the writer when it may be kept as a
 * reject (the sender authenticates first). */

static bool is_json_type(const char *ct)
{
    if (!ct)
        return false;
    size_t n = strlen("application/json");
    return strncasecmp(ct, "application/json", n) == 0 &&
           (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* The start of a route taking a JSON body: true, with *ret, when the
 * request was resumed (see resumed) or its body is not JSON (415). */
static bool json_body_refused(struct MHD_Connection *c, http_req *req, enum MHD_Result *ret)
{
    if (resumed(c, req, ret))
        return true;
    if (is_json_type(MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type")))
        return false;
    *ret = lt_http_reply_error(c, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type",
                               "Content-Type must be application/json", NULL);
    return true;
}

enum MHD_Result lt_http_route_dossiers_post(http_server *srv, struct MHD_Connection *c,
                                            http_req *req)
{
    enum MHD_Result done;
    if (json_body_refused(c, req, &done))
        return done;
    const char *why = unavailable(srv);
    if (why)
        return lt_http_reply_unavailable(c, why);
    lt_ingest_req *push = lt_ingest_req_new(LT_CHANNEL_HTTP);
    if (!push)
        return MHD_NO;
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    req->sent_token = auth != NULL;
    if ((auth && lt_auth_bearer(auth, push->token, sizeof(push->token)) < 0) ||
        (!auth && srv->cfg.auth.required)) {
        lt_ingest_req_destroy(&push);
        char *text = lt_auth_refusal_text(auth ? LT_AUTH_INVALID : LT_AUTH_MISSING);
        return lt_http_reply_text(c, MHD_HTTP_UNAUTHORIZED, text, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                                  lt_http_bearer_challenge(req));
    }
    lt_dossier_limits lim = {.max_depth = (int)srv->cfg.limits.depth,
                             .max_records = (size_t)srv->cfg.limits.records};
    int rc = lt_dossier_decode_limited(req->body ? req->body : "", req->len, &lim, &push->records,
                                       &push->single, &push->malformed);
    if (rc == LT_DOSSIER_ETOOMANY || rc == LT_DOSSIER_ENOMEM) {
        /* The whole request fails; nothing is kept (DESIGN.md: 413). */
        enum MHD_Result r =
            lt_http_reply_error(c, (unsigned)lt_dossier_rc_status(rc), lt_dossier_rc_code(rc),
                                push->malformed.message, NULL);
        lt_ingest_req_destroy(&push);
        return r;
    }
    /* The sender's rate, counted in records (a malformed body costs one),
     * before anything reaches the writer: a 429 writes nothing. */
    int wait = lt_http_rate_check(srv, c, push->token,
                                  push->records ? (int64_t)json_array_size(push->records) : 1);
    if (wait > 0) {
        lt_ingest_req_destroy(&push);
        return lt_http_reply_rate_limited(srv, c, wait);
    }
    push->body = req->body ? req->body : strdup("");
    push->body_len = req->len;
    req->body = NULL;
    req->len = req->cap = 0;
    if (lt_ingest_client_send(srv->writer, push, req) < 0) {
        lt_ingest_req_destroy(&push);
        char msg[160];
        snprintf(msg, sizeof(msg),
                 "%lld pushes already wait for the database (limits.queue); try again shortly",
                 (long long)srv->cfg.limits.queue);
        return lt_http_reply_unavailable(c, msg);
    }
    req->conn = c;
    req->waiting = true;
    MHD_suspend_connection(c);
    return MHD_YES;
}

/* The reader's share of a read or of the replay once the parameters are
 * checked: a malformed Authorization header refused here (401), and the
 * token passed on: the reader looks it up, checks the role and scope, and
 * runs the statement. */
static enum MHD_Result send_to_reader(http_server *srv, struct MHD_Connection *c, http_req *req,
                                      const lt_read_query *q)
{
    const char *auth =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    char token[LT_TOKEN_MAX] = "";
    req->sent_token = auth != NULL;
    if (auth && lt_auth_bearer(auth, token, sizeof(token)) < 0)
        return lt_http_reply_text(c, MHD_HTTP_UNAUTHORIZED, lt_auth_refusal_text(LT_AUTH_INVALID),
                                  MHD_HTTP_HEADER_WWW_AUTHENTICATE, lt_http_bearer_challenge(req));
    const char *why = unavailable(srv);
    if (why)
        return lt_http_reply_unavailable(c, why);
    json_t *params = lt_read_query_json(q, token);
    sodium_memzero(token, sizeof(token));
    return lt_http_call_actor(srv, c, req, srv->reader, lt_read_verb_name(q->verb), params);
}

/* The dossier reads and the dead-letter list: parameters checked here (400
 * names the parameter), the rest as send_to_reader. */
static enum MHD_Result route_read(http_server *srv, struct MHD_Connection *c, http_req *req,
                                  lt_read_verb verb)
{
    query_args qa;
    enum MHD_Result done;
    if (lt_http_query_args(c, req, &qa, &done))
        return done;
    lt_read_query q;
    char field[80], msg[256];
    if (lt_read_query_parse(verb, qa.keys, qa.values, qa.n, &q, field, sizeof(field), msg,
                            sizeof(msg)) < 0)
        return lt_http_reply_error(c, MHD_HTTP_BAD_REQUEST, "bad_request", msg, field);
    if (verb == LT_READ_DOSSIER &&
        lt_read_query_set_code(&q, req->url + strlen("/v1/dossiers/")) < 0)
        return lt_http_reply_error(c, MHD_HTTP_NOT_FOUND, "not_found", "no such dossier", NULL);
    return send_to_reader(srv, c, req, &q);
}

/* POST /v1/deadletters/replay: the body checked here (415, 400 naming the
 * member), the replay run by the reader: one short SQL function on the
 * connection it already holds, with the token checked there first. */
enum MHD_Result lt_http_route_replay(http_server *srv, struct MHD_Connection *c, http_req *req)
{
    enum MHD_Result done;
    if (json_body_refused(c, req, &done))
        return done;
    lt_read_query q;
    char field[80], msg[256];
    if (lt_read_replay_parse(req->body, req->len, &q, field, sizeof(field), msg, sizeof(msg)) < 0)
        return lt_http_reply_error(c, MHD_HTTP_BAD_REQUEST, "bad_request", msg, field);
    return send_to_reader(srv, c, req, &q);
}

enum MHD_Result lt_http_route_dossier(http_server *srv, struct MHD_Connection *c, http_req *req)
{
    return route_read(srv, c, req, LT_READ_DOSSIER);
}

enum MHD_Result lt_http_route_dossiers(http_server *srv, struct MHD_Connection *c, http_req *req)
{
    return route_read(srv, c, req, LT_READ_DOSSIERS);
}

enum MHD_Result lt_http_route_events(http_server *srv, struct MHD_Connection *c, http_req *req)
{
    return route_read(srv, c, req, LT_READ_EVENTS);
}

enum MHD_Result lt_http_route_rejects(http_server *srv, struct MHD_Connection *c, http_req *req)
{
    return route_read(srv, c, req, LT_READ_REJECTS);
}

enum MHD_Result lt_http_route_deadletters(http_server *srv, struct MHD_Connection *c, http_req *req)
{
    return route_read(srv, c, req, LT_READ_DEADLETTERS);
}
