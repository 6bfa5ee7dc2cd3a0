/* lt_reader: database reads for the fronts (see lt_reader.h).
 *
 * Why an actor of its own: the HTTP front must never wait on libpq, and a
 * catalog page of 1,000 procedures is megabytes a query; this actor takes
 * that wait in its own loop and hands back the finished body. One query at
 * a time on one connection keeps the load a front can put on the database
 * bounded by LT_READER_MAX_QUEUE; more readers can be started later if a
 * measurement asks for them (the DEALER in lt_httpcall spreads requests).
 * The queue, the connection and the actor's loop are lt_callq's; this file
 * is what the verbs mean: their parameters, their steps (the token lookup
 * first for the dossier reads) and their answers. */
#include "lt_reader.h"
#include "lt_auth.h"
#include "lt_callq.h"
#include "lt_dossier_read.h"
#include "lt_log.h"
#include "lt_procedure.h"
#include "lt_read_query.h"
#include "lt_status_doc.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QUERY_TIMEOUT_MS 10000

/* ---- parameters (pure) ---------------------------------------------------- */

int lt_catalog_query_parse(const char *const *keys, const char *const *values, size_t n,
                           lt_catalog_query *ret, char *field, size_t fcap, char *msg, size_t mcap)
{
    lt_catalog_query q = {.since = -1, .level = -1, .limit = LT_CATALOG_DEFAULT_LIMIT};
    static const char *const known[] = {"since", "level", "limit", "after", NULL};
    for (size_t i = 0; i < n; i++) {
        const char *v = values[i] ? values[i] : "";
        int which = lt_query_key(keys, i, known, field, fcap, msg, mcap);
        if (which < 0)
            return -1;
        int64_t num = 0;
        switch (which) {
        case 0:
            if (!lt_read_parse_count(v, 0, INT64_MAX, &num)) {
                snprintf(msg, mcap, "since: expected a catalog version (a whole number >= 0)");
                return -1;
            }
            q.since = num;
            break;
        case 1:
            if (!lt_read_parse_count(v, 0, 3, &num)) {
                snprintf(msg, mcap,
                         "level: expected 0 (ministry), 1 (province), 2 (district) or 3 "
                         "(commune)");
                return -1;
            }
            q.level = (int)num;
            break;
        case 2:
            if (!lt_read_parse_count(v, 1, LT_CATALOG_MAX_LIMIT, &num)) {
                snprintf(msg, mcap, "limit: expected a page size from 1 to %d",
                         LT_CATALOG_MAX_LIMIT);
                return -1;
            }
            q.limit = num;
            break;
        default:
            if (!*v || strlen(v) > LT_CATALOG_MAX_CODE) {
                snprintf(msg, mcap, "after: expected a procedure code (the next of a page)");
                return -1;
            }
            snprintf(q.after, sizeof(q.after), "%s", v);
            break;
        }
    }
    *ret = q;
    return 0;
}

json_t *lt_catalog_query_json(const lt_catalog_query *q)
{
    return json_pack("{s:I, s:i, s:I, s:s}", "since", (json_int_t)q->since, "level", q->level,
                     "limit", (json_int_t)q->limit, "after", q->after);
}

int lt_catalog_query_from_json(const json_t *j, lt_catalog_query *ret)
{
    json_int_t since = 0, limit = 0;
    int level = 0;
    const char *after = NULL;
    if (json_unpack((json_t *)j, "{s:I, s:i, s:I, s:s}", "since", &since, "level", &level, "limit",
                    &limit, "after", &after) < 0 ||
        limit < 1 || limit > LT_CATALOG_MAX_LIMIT || strlen(after) > LT_CATALOG_MAX_CODE)
        return -1;
    *ret = (lt_catalog_query){.since = since, .level = level, .limit = limit};
    snprintf(ret->after, sizeof(ret->after), "%s", after);
    return 0;
}

/* ---- the actor ------------------------------------------------------------ */

typedef struct {
    bool catalog;             /* the catalog verb (public: no token, one query) */
    bool status, metrics;     /* "status" or "metrics" (public: lt_status_doc) */
    lt_catalog_query cq;      /* its parameters */
    lt_read_query rq;         /* a dossier read's parameters */
    char token[LT_TOKEN_MAX]; /* the caller's bearer token, "" = none; wiped once checked */
    bool authed;              /* the token step is done and who is the caller */
    lt_principal who;
} request;

/* The page, one statement so version and rows come from one snapshot. The
 * codes compare in byte order (COLLATE "C") whatever the database's
 * collation, so `after` means the same on every server. One row more than
 * the limit says whether a next page exists. */
static const char catalog_sql[] =
    "SELECT v.version, p.code, p.abolished_at IS NOT NULL, p.record::text,"
    " o.local_code IS NOT NULL, trim_scale(o.time_limit)::text, o.time_limit_unit, o.fees::text"
    " FROM (SELECT coalesce(max(version), 0) AS version FROM catalog_versions) v"
    " LEFT JOIN LATERAL (SELECT code, abolished_at, record FROM procedures"
    "  WHERE CASE WHEN $1::bigint < 0 THEN abolished_at IS NULL"
    "        ELSE catalog_version > $1::bigint END"
    "  AND ($2::int < 0 OR $2::smallint = ANY (levels))"
    "  AND ($3::text = '' OR code COLLATE \"C\" > $3::text)"
    "  ORDER BY code COLLATE \"C\" LIMIT $4::int + 1) p ON true"
    " LEFT JOIN procedure_overlays o ON o.local_code = p.code"
    " ORDER BY p.code COLLATE \"C\"";

/* A procedure as served: the stored record with its overlay applied. */
static json_t *served_record(const PGresult *r, int i)
{
    json_t *rec = json_loads(PQgetvalue(r, i, 3), 0, NULL);
    if (!rec || strcmp(PQgetvalue(r, i, 4), "t") != 0)
        return rec;
    json_t *fees = PQgetisnull(r, i, 7) ? NULL : json_loads(PQgetvalue(r, i, 7), 0, NULL);
    lt_procedure_overlay ov = {
        .has_time_limit = !PQgetisnull(r, i, 5),
        .time_limit = strtod(PQgetvalue(r, i, 5), NULL),
        .time_unit = PQgetvalue(r, i, 6),
        .fees = json_is_array(fees) ? fees : NULL,
    };
    json_t *eff = lt_procedure_apply_overlay(rec, &ov, NULL);
    json_decref(fees);
    json_decref(rec);
    return eff;
}

static char *catalog_body(const PGresult *r, const lt_catalog_query *q)
{
    int n = PQntuples(r);
    json_t *procs = json_array(), *removed = json_array();
    json_t *doc = json_pack("{s:I, s:o, s:o, s:n}", "version",
                            (json_int_t)strtoll(n ? PQgetvalue(r, 0, 0) : "0", NULL, 10),
                            "procedures", procs, "removed", removed, "next");
    char *text = NULL;
    if (!doc)
        return NULL;
    int rows = 0;
    for (int i = 0; i < n; i++) {
        if (PQgetisnull(r, i, 1))
            continue; /* the version row of an empty page */
        if (rows == q->limit) {
            json_object_set_new(doc, "next", json_string(PQgetvalue(r, i - 1, 1)));
            break;
        }
        rows++;
        if (strcmp(PQgetvalue(r, i, 2), "t") == 0) {
            json_array_append_new(removed, json_string(PQgetvalue(r, i, 1)));
            continue;
        }
        json_t *rec = served_record(r, i);
        if (!rec || json_array_append_new(procs, rec) < 0)
            goto out;
    }
    text = json_dumps(doc, JSON_COMPACT);
out:
    json_decref(doc);
    return text;
}

static const char *verb_of(const request *r)
{
    return r->status    ? (r->metrics ? "metrics" : "status")
           : r->catalog ? "catalog"
                        : lt_read_verb_name(r->rq.verb);
}

static void answer_text(lt_callq *q, int status, char *text)
{
    if (text)
        lt_callq_answer(q, status, text);
    else
        lt_callq_answer_error(q, 500, "internal", "out of memory");
    free(text);
}

static bool on_result(void *actor, lt_callq *q, void *r_req, const PGresult *r, const char *err)
{
    (void)actor;
    const lt_config *cfg = lt_callq_config(q);
    request *req = r_req;
    if (req->status) {
        /* Status answers 200 even without the database: it says so inside. */
        bool ok = r && PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
        answer_text(q, 200,
                    lt_statusdoc_answer(ok ? PQgetvalue(r, 0, 0) : NULL,
                                        ok ? NULL : (r ? PQresultErrorMessage(r) : err), cfg,
                                        req->metrics));
    } else if (!r) {
        lt_callq_answer_error(q, 503, "not_ready", err ? err : "database unavailable");
    } else if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        LT_WARN("reader: %s query failed: %s", verb_of(req), PQresultErrorMessage(r));
        lt_callq_answer_error(q, 500, "internal", "the database could not be read");
    } else if (req->catalog) {
        answer_text(q, 200, catalog_body(r, &req->cq));
    } else if (!req->authed) {
        /* The token step: the same request goes on to its read. */
        lt_auth_rc rc = lt_auth_match(req->token, r, &req->who);
        sodium_memzero(req->token, sizeof(req->token));
        if (rc == LT_AUTH_OK) {
            req->authed = true;
            return false;
        }
        answer_text(q, 401, lt_auth_refusal_text(rc));
    } else {
        int status = 0;
        char *body = NULL;
        if (lt_dossier_read_answer(&req->rq, &req->who, r, &status, &body) == 0) {
            answer_text(q, status, body);
        } else {
            LT_WARN("reader: %s: a stored value could not be read", verb_of(req));
            lt_callq_answer_error(q, 500, "internal", "the stored data could not be read");
        }
    }
    return true;
}

/* Starts the head request's next step (lt_callq_ops.step). */
static int start_step(void *actor, lt_callq *q, void *r_req)
{
    (void)actor;
    const lt_config *cfg = lt_callq_config(q);
    request *req = r_req;
    if (req->status)
        return lt_callq_query(q, LT_STATUSDOC_SQL, 0, NULL, QUERY_TIMEOUT_MS) < 0 ? -1 : 1;
    if (req->catalog) {
        char since[24], level[8], limit[24];
        snprintf(since, sizeof(since), "%" PRId64, req->cq.since);
        snprintf(level, sizeof(level), "%d", req->cq.level);
        snprintf(limit, sizeof(limit), "%" PRId64, req->cq.limit);
        const char *p[4] = {since, level, req->cq.after, limit};
        return lt_callq_query(q, catalog_sql, 4, p, QUERY_TIMEOUT_MS) < 0 ? -1 : 1;
    }
    if (!req->authed && !req->token[0]) {
        if (cfg->auth.required) {
            answer_text(q, 401, lt_auth_refusal_text(LT_AUTH_MISSING));
            return 0;
        }
        /* Loopback development: no token, no limits. */
        req->who = (lt_principal){.role = LT_ROLE_NONE};
        req->authed = true;
    }
    if (!req->authed) {
        const char *tokens[1] = {req->token};
        char *prefixes = lt_auth_prefix_array(tokens, 1);
        if (!prefixes) {
            lt_callq_answer_error(q, 500, "internal", "out of memory");
            return 0;
        }
        const char *p[1] = {prefixes};
        int rc = lt_callq_query(q, LT_AUTH_LOOKUP_SQL, 1, p, QUERY_TIMEOUT_MS);
        free(prefixes);
        return rc < 0 ? -1 : 1;
    }
    if (!lt_dossier_read_allowed(req->rq.verb, req->who.role)) {
        char msg[96];
        snprintf(msg, sizeof(msg), "a %s token may not call %s", lt_auth_role_name(req->who.role),
                 lt_read_verb_name(req->rq.verb));
        lt_callq_answer_error(q, 403, "forbidden", msg);
        return 0;
    }
    lt_read_stmt st;
    lt_dossier_read_stmt(&req->rq, &req->who, &st);
    return lt_callq_query(q, st.sql, st.nparams, st.params, QUERY_TIMEOUT_MS) < 0 ? -1 : 1;
}

/* The database is down: status still answers 200 (it says so inside), the
 * rest 503. */
static void on_down(void *actor, lt_callq *q, void *r_req, const char *reason)
{
    (void)actor;
    const lt_config *cfg = lt_callq_config(q);
    const request *req = r_req;
    if (req->status)
        answer_text(q, 200, lt_statusdoc_answer(NULL, reason, cfg, req->metrics));
    else
        lt_callq_answer_error(q, 503, "not_ready", reason);
}

static int parse_request(void *actor, const char *verb, const json_t *j, void *r_req)
{
    (void)actor;
    request *req = r_req;
    lt_read_verb rv;
    req->catalog = strcmp(verb, "catalog") == 0;
    req->metrics = strcmp(verb, "metrics") == 0;
    req->status = req->metrics || strcmp(verb, "status") == 0;
    bool ok = req->status    ? true
              : req->catalog ? lt_catalog_query_from_json(j, &req->cq) == 0
                             : lt_read_verb_parse(verb, &rv) == 0 &&
                                   lt_read_query_from_json(rv, j, &req->rq, req->token,
                                                           sizeof(req->token)) == 0;
    return ok ? 0 : -1;
}

void lt_reader_actor(void *pipe, void *args)
{
    const lt_reader_args *a = args;
    lt_callq_spec spec = {
        .name = "reader",
        .endpoint = LT_READER_ENDPOINT,
        .conninfo = a->conninfo,
        .cap = LT_READER_MAX_QUEUE,
        .req_size = sizeof(request),
        .malformed = "malformed request to the reader",
        .busy = "too many read requests waiting; try again",
        .ops = {.parse = parse_request, .step = start_step, .result = on_result, .down = on_down},
    };
    lt_callq_serve(pipe, a->zmq_ctx, a->cfg, &spec);
}
