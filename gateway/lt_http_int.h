/* lt_http_int.h: the HTTP front's insides, shared by lt_http.c (the server,
 * the loop, dispatch, replies) and lt_http_routes.c (what each route does).
 * Not for other modules. */
#ifndef LT_HTTP_INT_H
#define LT_HTTP_INT_H

#include <jansson.h>
#include <microhttpd.h>
#include <stdbool.h>
#include <stdint.h>

#include "lt_config.h"
#include "lt_httpcall.h"
#include "lt_ingest.h"
#include "lt_limits.h"
#include "lt_loop.h"

#define MAX_QUERY_ARGS 16

typedef struct {
    bool ready;       /* last state from the database watcher */
    bool known;       /* any state received yet */
    char reason[512]; /* why not ready, or the schema summary */
    json_int_t applied, migrations;
} db_view;

typedef struct {
    lt_config cfg; /* our copy; reloadable keys updated by $RELOAD */
    lt_loop *loop;
    void *pipe;
    void *dbstate; /* SUB to LT_DBSTATE_ENDPOINT */
    struct MHD_Daemon *mhd;
    int epoll_fd;   /* MHD's, watched by the loop */
    int kick_timer; /* next MHD_run for timeouts, 0 = none */
    int active;     /* requests between first call and completion */
    bool draining;  /* $TERM received, listener closed */
    int64_t drain_deadline;
    MHD_socket quiesced_fd; /* the listener MHD handed back on quiesce */
    db_view db;
    lt_httpcall *reader;      /* requests to the reader actor */
    lt_httpcall *reports;     /* on-time reports to their actor (lt_reportd), report.timeout */
    lt_ingest_client *writer; /* pushes to the writer actor */
    lt_limits *rate;          /* token buckets of the senders (limits.rate) */
    int64_t refused_logged;   /* lt_loop_now_ms of the last rate-limit warning */
    char mhd_last[512];       /* MHD's last message, written at mhd_logged */
    int64_t mhd_logged;
    int mhd_repeats; /* the same message since, not written */
} http_server;

/* Per-request state, created on the first call of the access handler. */
typedef struct {
    char *body; /* request body, NUL-terminated, at most max_body */
    size_t len, cap;
    bool too_large;              /* body exceeded the limit while streaming */
    int64_t started;             /* lt_loop_now_ms at the first call */
    struct MHD_Connection *conn; /* suspended while waiting for an actor */
    bool waiting;                /* suspended; the answer is not in yet */
    int answer_status;           /* the actor's answer, 0 = none yet */
    char *answer_body;           /* its JSON body */
    bool answer_challenge;       /* a 401: add WWW-Authenticate: Bearer */
    const char *url;             /* the request's path (MHD's, valid until completion) */
    bool sent_token;             /* an Authorization header came: a 401 says invalid_token */
} http_req;

typedef struct {
    const char *keys[MAX_QUERY_ARGS], *values[MAX_QUERY_ARGS];
    size_t n;
    bool overflow;
} query_args;

/* Replies: every answer is JSON; header (may be NULL) adds one header such
 * as Retry-After or Allow. reply_text takes ownership of text (NULL: out of
 * memory), reply_json of body. */
enum MHD_Result lt_http_reply_text(struct MHD_Connection *c, unsigned status, char *text,
                                   const char *header, const char *value);
enum MHD_Result lt_http_reply_json(struct MHD_Connection *c, unsigned status, json_t *body,
                                   const char *header, const char *value);
enum MHD_Result lt_http_reply_error_h(struct MHD_Connection *c, unsigned status, const char *code,
                                      const char *message, const char *field, const char *header,
                                      const char *value);
enum MHD_Result lt_http_reply_error(struct MHD_Connection *c, unsigned status, const char *code,
                                    const char *message, const char *field);
/* 503 with Retry-After. */
enum MHD_Result lt_http_reply_unavailable(struct MHD_Connection *c, const char *message);
/* The WWW-Authenticate value of a 401 for this request. */
const char *lt_http_bearer_challenge(const http_req *req);
/* Replies with another actor's answer (503s keep Retry-After, 401s get the
 * challenge). */
enum MHD_Result lt_http_reply_answer(struct MHD_Connection *c, http_req *req);
/* Sends verb+params (stolen) to an actor and suspends the connection, or
 * answers 503 when the actor's queue or our table is full. */
enum MHD_Result lt_http_call_actor(http_server *srv, struct MHD_Connection *c, http_req *req,
                                   lt_httpcall *to, const char *verb, json_t *params);
/* Spends cost records of the sender's bucket (its token's prefix, or the
 * client address without a token): 0 when allowed, else the whole seconds
 * to wait. */
int lt_http_rate_check(http_server *srv, struct MHD_Connection *c, const char *token, int64_t cost);
/* 429 with Retry-After: seconds, naming limits.rate. */
enum MHD_Result lt_http_reply_rate_limited(http_server *srv, struct MHD_Connection *c, int seconds);
/* MHD_KeyValueIterator collecting query arguments into a query_args. */
enum MHD_Result lt_http_collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                    const char *value);

/* The routes (lt_http_routes.c). */
typedef enum MHD_Result (*route_fn)(http_server *srv, struct MHD_Connection *c, http_req *req);
enum MHD_Result lt_http_route_healthz(http_server *srv, struct MHD_Connection *c, http_req *req);
enum MHD_Result lt_http_route_readyz(http_server *srv, struct MHD_Connection *c, http_req *req);
enum MHD_Result lt_http_route_catalog(http_server *srv, struct MHD_Connection *c, http_req *req);

/* The two halves of a read with query parameters. lt_http_query_args:
 * true, with *ret, when the route is done before parsing them (an actor's
 * answer came back, the request still waits, or 400: too many parameters);
 * else qa holds them. lt_http_query_send: hands verb and params (stolen) to
 * the actor behind to (the reader, the report actor), or answers 503 while
 * the database cannot be used. */
bool lt_http_query_args(struct MHD_Connection *c, http_req *req, query_args *qa,
                        enum MHD_Result *ret);
enum MHD_Result lt_http_query_send(http_server *srv, struct MHD_Connection *c, http_req *req,
                                   lt_httpcall *to, const char *verb, json_t *params);

/* The same with the parameters' parser behind void pointers: parse checks
 * them into q (400 names the parameter), then the actor behind to answers
 * verb with to_json(q). The on-time report's route still uses it; a route
 * can call the two halves above and its typed parser directly instead. */
typedef int(lt_http_parse_fn)(const query_args *qa, void *q, char *field, size_t field_cap,
                              char *msg, size_t msg_cap);
typedef json_t *(lt_http_to_json_fn)(const void *q);
enum MHD_Result lt_http_route_query(http_server *srv, struct MHD_Connection *c, http_req *req,
                                    lt_httpcall *to, const char *verb, lt_http_parse_fn *parse,
                                    lt_http_to_json_fn *to_json, void *q);
enum MHD_Result lt_http_route_dossiers_post(http_server *srv, struct MHD_Connection *c,
                                            http_req *req);
enum MHD_Result lt_http_route_dossier(http_server *srv, struct MHD_Connection *c, http_req *req);
enum MHD_Result lt_http_route_dossiers(http_server *srv, struct MHD_Connection *c, http_req *req);
enum MHD_Result lt_http_route_events(http_server *srv, struct MHD_Connection *c, http_req *req);
enum MHD_Result lt_http_route_rejects(http_server *srv, struct MHD_Connection *c, http_req *req);
enum MHD_Result lt_http_route_deadletters(http_server *srv, struct MHD_Connection *c,
                                          http_req *req);
enum MHD_Result lt_http_route_replay(http_server *srv, struct MHD_Connection *c, http_req *req);
/* GET /v1/reports/ontime (lt_report_http.c). */
enum MHD_Result lt_http_route_report(http_server *srv, struct MHD_Connection *c, http_req *req);
/* The dashboard's page and files (lt_http_web.c). */
enum MHD_Result lt_http_route_web(http_server *srv, struct MHD_Connection *c, http_req *req);
/* GET /v1/status and GET /metrics (lt_http_status.c). */
enum MHD_Result lt_http_route_status(http_server *srv, struct MHD_Connection *c, http_req *req);
enum MHD_Result lt_http_route_metrics(http_server *srv, struct MHD_Connection *c, http_req *req);

#endif
