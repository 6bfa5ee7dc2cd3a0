/* lt_replay: replay for late joiners (see lt_replay.h).
 *
 * Why cursors and pages: a ward asking for "catalog. from 1" may want tens
 * of thousands of events, and a peer may read slowly. So a replay holds at
 * most one page (PAGE_ROWS rows) in memory, sends with ZMQ_DONTWAIT under
 * ZMQ_ROUTER_MANDATORY (EAGAIN = the peer's send queue is full: keep the
 * place and try again shortly; EHOSTUNREACH = the peer left: drop the
 * replay), and at most MAX_REPLAYS run at once. A replay stalled for
 * STALL_LIMIT_MS is dropped, so a peer that never reads cannot hold a slot.
 * The end is fixed when the replay starts (the database's last sequence
 * then), so a replay always finishes even while new events keep coming:
 * those reach the peer on PUB.
 *
 * Why the token is looked up on the bus's own connection, as one more query
 * in its queue: the answer must follow the credentials table at once (a
 * revoked token stops working in every gateway, DESIGN.md), and the bus
 * already owns a connection; the lookup is one indexed read, queued like a
 * page. The scope then becomes a condition of every page query, so rows a
 * credential may not see never leave the database. */
#include "lt_replay.h"
#include "lt_actor.h"
#include "lt_audit.h"
#include "lt_bus.h"
#include "lt_log.h"
#include "lt_mask.h"
#include "lt_zap.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define MAX_REPLAYS      8
#define PAGE_ROWS        1000
#define QUERY_TIMEOUT_MS 30000
#define RETRY_MS         20
#define STALL_LIMIT_MS   60000
#define MAX_IDENTITY     255

typedef enum {
    R_FREE,      /* slot unused */
    R_LOOKUP,    /* needs its token looked up */
    R_DENIED,    /* the token was refused; the refusal is left to send */
    R_START,     /* needs the database's last sequence */
    R_NEED_PAGE, /* needs the next page */
    R_QUERYING,  /* a query for it is running */
    R_SENDING,   /* sending rows of page; may be blocked by the peer's HWM */
    R_END,       /* every row sent; the end marker is left */
    R_FAILED,    /* its query failed; the error is left to send */
} replay_state;

typedef struct {
    replay_state state;
    unsigned char id[MAX_IDENTITY]; /* the peer's ROUTER identity */
    size_t idlen;
    lt_replay_request req; /* as parsed; the token is wiped once looked up */
    lt_replay_scope scope; /* what it may see, known from R_START on */
    replay_state asked;    /* the state whose query runs (R_LOOKUP, R_START, R_NEED_PAGE) */
    int64_t next;          /* the next sequence to read */
    int64_t end;           /* the last sequence this replay covers */
    PGresult *page;        /* rows being sent, NULL otherwise */
    int row;               /* next row of page to send */
    int64_t stalled_since; /* lt_loop_now_ms when the peer's queue filled, 0 = flowing */
    char deny[160];        /* R_DENIED: the refusal to send */
    char curve_unit[LT_AUTH_MAX_UNIT];  /* the unit of the peer's CURVE key; "" = plain text */
    char curve_key[LT_ZAP_KEY_LEN + 1]; /* that key; R_LOOKUP without a token looks it up */
    bool audit; /* its pages write dossier.read rows (not reader, not catalog) */
    char actor[LT_AUTH_MAX_UNIT + 8]; /* the audit rows' actor: token:<prefix>, curve:<unit> */
    char detail[256];                 /* the audit rows' detail, JSON */
} replay_slot;

struct lt_replay {
    lt_loop *loop;        /* the bus's */
    void *router;         /* borrowed ROUTER socket */
    lt_pgconn *pg;        /* borrowed, shared with the publisher */
    const lt_config *cfg; /* borrowed, the bus's: auth.required */
    void (*kick)(void *); /* asks the bus to schedule queries */
    void *kick_arg;
    replay_slot slots[MAX_REPLAYS];
    int retry_timer;                /* resumes blocked sends, 0 = none */
    int next_slot;                  /* round robin among replays wanting a query */
    int querying;                   /* the slot whose query runs, -1 = none */
    struct lt_zap_revoked *revoked; /* CURVE on: keys replaced since start; NULL = plain */
};

void lt_replay_set_curve(lt_replay *self, struct lt_zap_revoked *revoked)
{
    self->revoked = revoked;
}

/* ---- the pure part ------------------------------------------------------- */

int lt_replay_parse_request(const char *data, size_t len, lt_replay_request *ret, char *err,
                            size_t cap)
{
    json_error_t jerr;
    json_t *j = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
    lt_replay_request req = {.from = 1};
    int rc = -1;
    if (!j) {
        snprintf(err, cap, "the request is not JSON: %s", jerr.text);
        return -1;
    }
    if (!json_is_object(j)) {
        snprintf(err, cap, "the request must be a JSON object {\"from\", \"prefix\", \"token\"}");
        goto out;
    }
    const char *key;
    json_t *v;
    json_object_foreach(j, key, v)
    {
        if (strcmp(key, "from") && strcmp(key, "prefix") && strcmp(key, "token")) {
            snprintf(err, cap, "unknown member \"%.64s\" (expected from, prefix, token)", key);
            goto out;
        }
    }
    v = json_object_get(j, "from");
    if (!v) {
        snprintf(err, cap, "from: required (the first sequence wanted, 1 for everything)");
        goto out;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 0) {
        snprintf(err, cap, "from: expected a sequence number >= 0");
        goto out;
    }
    req.from = json_integer_value(v) > 0 ? (int64_t)json_integer_value(v) : 1;
    v = json_object_get(j, "prefix");
    if (!v) {
        snprintf(err, cap, "prefix: required (a topic prefix such as \"catalog.\")");
        goto out;
    }
    if (!json_is_string(v) || json_string_length(v) > LT_REPLAY_MAX_PREFIX ||
        strlen(json_string_value(v)) != json_string_length(v)) {
        snprintf(err, cap, "prefix: expected a string of at most %d bytes", LT_REPLAY_MAX_PREFIX);
        goto out;
    }
    snprintf(req.prefix, sizeof(req.prefix), "%s", json_string_value(v));
    v = json_object_get(j, "token");
    if (v && !json_is_null(v)) {
        if (!json_is_string(v) || json_string_length(v) > LT_REPLAY_MAX_TOKEN ||
            strlen(json_string_value(v)) != json_string_length(v)) {
            snprintf(err, cap, "token: expected a string of at most %d bytes", LT_REPLAY_MAX_TOKEN);
            goto out;
        }
        snprintf(req.token, sizeof(req.token), "%s", json_string_value(v));
    }
    *ret = req;
    rc = 0;
out:
    json_decref(j);
    return rc;
}

static bool catalog_prefix(const char *prefix)
{
    return strncmp(prefix, "catalog.", strlen("catalog.")) == 0;
}

int lt_replay_authorize(const lt_replay_request *req, bool auth_required, lt_replay_access *ret,
                        char *err, size_t cap)
{
    if (catalog_prefix(req->prefix)) {
        *ret = LT_REPLAY_PUBLIC;
        return 0;
    }
    if (req->token[0]) {
        *ret = LT_REPLAY_LOOKUP;
        return 0;
    }
    if (!auth_required) {
        *ret = LT_REPLAY_OPEN;
        return 0;
    }
    snprintf(err, cap,
             "a token is required for prefix \"%s\" (only prefixes starting with \"catalog.\" "
             "are public)",
             req->prefix);
    return -1;
}

int lt_replay_scope_of(const lt_principal *who, lt_replay_scope *ret, char *err, size_t cap)
{
    lt_replay_scope sc = {.kind = LT_REPLAY_SCOPE_ALL};
    switch (who->role) {
    case LT_ROLE_WARD:
    case LT_ROLE_PARENT:
        if (!who->unit[0]) {
            snprintf(err, cap, "the token's credential names no unit; ask an operator");
            return -1;
        }
        sc.kind = who->role == LT_ROLE_WARD ? LT_REPLAY_SCOPE_UNIT : LT_REPLAY_SCOPE_SUBTREE;
        snprintf(sc.unit, sizeof(sc.unit), "%s", who->unit);
        break;
    case LT_ROLE_OPERATOR:
        break;
    case LT_ROLE_READER:
        sc.mask = true;
        break;
    case LT_ROLE_NONE:
    default:
        snprintf(err, cap, "the token is not valid (unknown, revoked, expired or mistyped)");
        return -1;
    }
    *ret = sc;
    return 0;
}

/* ---- sending ------------------------------------------------------------- */

/* Sends [identity, frames...] without blocking. Returns 0, or -1 with errno
 * (EAGAIN: the peer's queue is full; EHOSTUNREACH: the peer is gone). Only
 * the identity frame can fail that way: once it is accepted, ROUTER takes
 * the rest of the message. */
static int send_to(lt_replay *self, const replay_slot *s, const char *const *frames,
                   const size_t *lens, int n)
{
    if (zmq_send(self->router, s->id, s->idlen, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
        return -1;
    for (int i = 0; i < n; i++)
        if (zmq_send(self->router, frames[i], lens[i], (i + 1 < n ? ZMQ_SNDMORE : 0)) < 0)
            return -1;
    return 0;
}

static void send_error_to(lt_replay *self, const replay_slot *s, const char *reason)
{
    const char *f[2] = {"$ERROR", reason};
    size_t l[2] = {6, strlen(reason)};
    if (send_to(self, s, f, l, 2) < 0)
        LT_DEBUG("replay: could not send an error to a peer: %s", zmq_strerror(errno));
}

static void free_slot(replay_slot *s)
{
    PQclear(s->page);
    sodium_memzero(s, sizeof(*s));
}

/* The JSON an event is sent with: the stored record whole (compact, like
 * PUB's), its personal data masked for a reader exactly as GET /v1/events
 * masks it (catalog records hold none). NULL when out of memory. */
static char *event_text(const replay_slot *s, const char *kind, const char *record)
{
    json_t *j = json_loads(record, 0, NULL);
    if (j && s->scope.mask && strcmp(kind, "catalog") != 0 && lt_mask_json(j) < 0) {
        json_decref(j);
        return NULL;
    }
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    return text;
}

static void arm_retry(lt_replay *self);

/* ["$END", last sequence covered]; the slot is free once it is sent. */
static void send_end(lt_replay *self, replay_slot *s)
{
    char end[24];
    snprintf(end, sizeof(end), "%" PRId64, s->end);
    const char *f[2] = {"$END", end};
    size_t l[2] = {4, strlen(end)};
    if (send_to(self, s, f, l, 2) < 0 && errno == EAGAIN) {
        arm_retry(self);
        return;
    }
    free_slot(s);
}

/* Sends the rest of the page, then the end marker or asks for more. */
static void pump(lt_replay *self, replay_slot *s)
{
    int n = PQntuples(s->page);
    while (s->row < n) {
        const char *seq = PQgetvalue(s->page, s->row, 0);
        char *json = event_text(s, PQgetvalue(s->page, s->row, 2), PQgetvalue(s->page, s->row, 3));
        if (!json) {
            send_error_to(self, s, "out of memory");
            free_slot(s);
            return;
        }
        const char *f[3] = {PQgetvalue(s->page, s->row, 1), seq, json};
        size_t l[3] = {strlen(f[0]), strlen(seq), strlen(json)};
        int rc = send_to(self, s, f, l, 3);
        int e = errno;
        free(json);
        if (rc < 0 && e == EAGAIN) {
            if (!s->stalled_since)
                s->stalled_since = lt_loop_now_ms();
            else if (lt_loop_now_ms() - s->stalled_since > STALL_LIMIT_MS) {
                LT_WARN("replay: a peer read nothing for %d s; replay dropped",
                        STALL_LIMIT_MS / 1000);
                free_slot(s);
                return;
            }
            arm_retry(self);
            return;
        }
        if (rc < 0) {
            LT_INFO("replay: peer left (%s); replay dropped", zmq_strerror(e));
            free_slot(s);
            return;
        }
        s->stalled_since = 0;
        s->next = strtoll(seq, NULL, 10) + 1;
        s->row++;
    }
    bool last_page = n < PAGE_ROWS || s->next > s->end;
    PQclear(s->page);
    s->page = NULL;
    s->row = 0;
    s->state = last_page ? R_END : R_NEED_PAGE;
    if (last_page)
        send_end(self, s);
    else
        self->kick(self->kick_arg);
}

static int on_retry(lt_loop *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    lt_replay *self = arg;
    self->retry_timer = 0;
    for (int i = 0; i < MAX_REPLAYS; i++) {
        replay_slot *s = &self->slots[i];
        if (s->state == R_SENDING)
            pump(self, s);
        else if (s->state == R_END)
            send_end(self, s);
    }
    self->kick(self->kick_arg);
    return 0;
}

static void arm_retry(lt_replay *self)
{
    if (!self->retry_timer)
        self->retry_timer = lt_loop_add_timer(self->loop, RETRY_MS, 0, on_retry, self);
    if (self->retry_timer < 0)
        self->retry_timer = 0;
}

/* ---- queries ------------------------------------------------------------- */

/* The token's answer: the slot gets its scope, or a refusal to send. The
 * token is wiped either way; nothing after this needs it. */
static void on_lookup(replay_slot *s, const PGresult *r)
{
    lt_principal who;
    char why[160] = "the token is not valid (unknown, revoked, expired or mistyped)";
    lt_auth_rc rc = LT_AUTH_OK;
    if (s->req.token[0]) {
        rc = lt_auth_match(s->req.token, r, &who);
    } else if (lt_zap_principal(s->curve_key, r, &who) < 0) {
        /* A key with no token: it stands for its ward or parent (0018). */
        snprintf(s->deny, sizeof(s->deny),
                 "the CURVE key of this connection was replaced (lienthong keygen); "
                 "reconnect with the unit's new key");
        s->state = R_DENIED;
        return;
    }
    sodium_memzero(s->req.token, sizeof(s->req.token));
    if (rc == LT_AUTH_OK && s->curve_unit[0] && strcmp(who.unit, s->curve_unit) != 0) {
        snprintf(s->deny, sizeof(s->deny),
                 "the token's unit is not the unit of this connection's CURVE key");
        s->state = R_DENIED;
        return;
    }
    if (rc != LT_AUTH_OK || lt_replay_scope_of(&who, &s->scope, why, sizeof(why)) < 0) {
        snprintf(s->deny, sizeof(s->deny), "%s", why);
        s->state = R_DENIED;
        return;
    }
    /* The unit code names an office, not a person: it may be logged. */
    if (who.credential_id)
        LT_INFO("replay: credential %" PRId64 " (%s%s%s) from %" PRId64 " with prefix \"%s\"",
                who.credential_id, lt_auth_role_name(who.role), who.unit[0] ? " of unit " : "",
                who.unit, s->req.from, s->req.prefix);
    else
        LT_INFO("replay: from %" PRId64 " with prefix \"%s\" by the CURVE key of unit %s (%s)",
                s->req.from, s->req.prefix, who.unit, lt_auth_role_name(who.role));
    s->audit = lt_audit_read_params(&who, "zmq replay", s->actor, sizeof(s->actor), s->detail,
                                    sizeof(s->detail));
    if (!who.credential_id)
        snprintf(s->actor, sizeof(s->actor), "curve:%s", who.unit);
    s->state = R_START;
}

static void on_result(lt_pgconn *pg, PGresult *r, const char *err, void *arg)
{
    (void)pg;
    lt_replay *self = arg;
    replay_slot *s = self->querying >= 0 ? &self->slots[self->querying] : NULL;
    self->querying = -1;
    if (!s || s->state != R_QUERYING) { /* aborted meanwhile */
        PQclear(r);
        return;
    }
    if (!r || PQresultStatus(r) != PGRES_TUPLES_OK) {
        LT_WARN("replay: query failed: %s", r ? PQresultErrorMessage(r) : err);
        PQclear(r);
        s->state = R_FAILED;
    } else if (s->asked == R_LOOKUP) {
        on_lookup(s, r);
        PQclear(r);
    } else if (s->asked == R_START) {
        s->end = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        PQclear(r);
        s->state = R_NEED_PAGE;
    } else {
        s->page = r;
        s->row = 0;
        s->state = R_SENDING;
    }
    self->kick(self->kick_arg);
}

/* One page query per scope: $1 first sequence, $2 last, $3 topic prefix,
 * $4 and $5 the audit rows' actor (NULL = none) and detail, $6 the unit
 * (unit and subtree scopes). Catalog events are public in every scope. A
 * catalog prefix uses the catalog query whatever the scope, for its partial
 * index, and writes no audit row (no personal data). Every other page
 * writes one `dossier.read` row per dossier it sends, in the same statement
 * (LT_AUDIT_READS_CTE): one per dossier per page, so a dossier whose events
 * span two pages of one replay is counted twice. */
#define PAGE_COLUMNS "SELECT seq, topic, kind, record::text FROM dossier_events"
#define PAGE_RANGE   " seq >= $1 AND seq <= $2 AND starts_with(topic, $3)"
#define PAGE_ORDER   " ORDER BY seq LIMIT 1000"
#define PAGE_AUDITED(WITH, COND)                                                                   \
    WITH " page AS (SELECT seq, topic, kind, record, dossier_code FROM dossier_events "            \
         "WHERE" PAGE_RANGE COND PAGE_ORDER ")," LT_AUDIT_READS_CTE(                               \
             "$4", "$5", "page") " SELECT seq, topic, kind, record::text FROM page ORDER BY seq"
static const char page_sql_catalog[] =
    PAGE_COLUMNS " WHERE kind = 'catalog' AND" PAGE_RANGE PAGE_ORDER;
static const char page_sql_all[] = PAGE_AUDITED("WITH", "");
/* A scope sees what GET /v1/events shows it: the events received in it and
 * those of the dossiers competent in it and received elsewhere (the few
 * dossiers 0018's partial index holds, read once per page). */
#define COMPETENT_IN(UNITS)                                                                        \
    " OR dossier_code IN (SELECT d.code FROM dossiers d WHERE d.competent_unit " UNITS             \
    " AND d.competent_unit <> d.receiving_unit AND d.last_seq >= $1)"
static const char page_sql_unit[] =
    PAGE_AUDITED("WITH", " AND (kind = 'catalog' OR unit_code = $6" COMPETENT_IN("= $6::text") ")");
/* The subtree is read again for each page: a unit moved meanwhile counts
 * from the next page on, which is what a running gateway promises for units
 * (`units import` takes effect at once). */
static const char page_sql_subtree[] =
    PAGE_AUDITED("WITH RECURSIVE sub (code) AS (SELECT $6::text UNION"
                 " SELECT u.code FROM units u JOIN sub ON u.parent = sub.code),",
                 " AND (kind = 'catalog' OR unit_code IN (SELECT code FROM sub)" COMPETENT_IN(
                     "IN (SELECT code FROM sub)") ")");

static int page_query(lt_replay *self, replay_slot *s)
{
    char from[24], end[24];
    snprintf(from, sizeof(from), "%" PRId64, s->next);
    snprintf(end, sizeof(end), "%" PRId64, s->end);
    const char *p[6] = {from,      end,          s->req.prefix, s->audit ? s->actor : NULL,
                        s->detail, s->scope.unit};
    const char *sql = page_sql_all;
    int n = 5;
    if (catalog_prefix(s->req.prefix) || s->scope.kind == LT_REPLAY_SCOPE_CATALOG) {
        sql = page_sql_catalog;
        n = 3;
    } else if (s->scope.kind == LT_REPLAY_SCOPE_UNIT) {
        sql = page_sql_unit;
        n = 6;
    } else if (s->scope.kind == LT_REPLAY_SCOPE_SUBTREE) {
        sql = page_sql_subtree;
        n = 6;
    }
    return lt_pgconn_query(self->pg, sql, n, p, QUERY_TIMEOUT_MS, on_result, self);
}

static bool start_query(lt_replay *self, replay_slot *s)
{
    int rc;
    if (s->state == R_LOOKUP && !s->req.token[0]) {
        char keys[LT_ZAP_KEY_LEN + 8];
        snprintf(keys, sizeof(keys), "{\"%s\"}", s->curve_key);
        const char *p[1] = {keys};
        rc = lt_pgconn_query(self->pg, LT_ZAP_PRINCIPAL_SQL("$1"), 1, p, QUERY_TIMEOUT_MS,
                             on_result, self);
    } else if (s->state == R_LOOKUP) {
        const char *tokens[1] = {s->req.token};
        char *prefixes = lt_auth_prefix_array(tokens, 1);
        if (!prefixes) {
            s->state = R_FAILED;
            return false;
        }
        const char *p[1] = {prefixes};
        rc = lt_pgconn_query(self->pg, LT_AUTH_LOOKUP_SQL, 1, p, QUERY_TIMEOUT_MS, on_result, self);
        free(prefixes);
    } else if (s->state == R_START) {
        rc = lt_pgconn_query(self->pg, "SELECT last_seq FROM event_counter", 0, NULL,
                             QUERY_TIMEOUT_MS, on_result, self);
    } else {
        rc = page_query(self, s);
    }
    if (rc < 0)
        return false;
    s->asked = s->state;
    s->state = R_QUERYING;
    self->querying = (int)(s - self->slots);
    return true;
}

bool lt_replay_step(lt_replay *self)
{
    /* Sending happens here, from the bus's scheduler, rather than in the
     * query callback, so that it never nests inside libpq's dispatch. */
    for (int i = 0; i < MAX_REPLAYS; i++) {
        replay_slot *s = &self->slots[i];
        if (s->state == R_FAILED) {
            send_error_to(self, s, "the database query failed; try again later");
            free_slot(s);
        } else if (s->state == R_DENIED) {
            send_error_to(self, s, s->deny);
            free_slot(s);
        } else if (s->state == R_SENDING && !s->stalled_since) {
            pump(self, s);
        } else if (s->state == R_NEED_PAGE && s->next > s->end) {
            s->state = R_END; /* nothing left to read */
            send_end(self, s);
        }
    }
    if (!lt_pgconn_idle(self->pg))
        return false;
    for (int k = 0; k < MAX_REPLAYS; k++) {
        int i = (self->next_slot + k) % MAX_REPLAYS;
        replay_slot *s = &self->slots[i];
        if (s->state != R_LOOKUP && s->state != R_START && s->state != R_NEED_PAGE)
            continue;
        self->next_slot = (i + 1) % MAX_REPLAYS;
        if (start_query(self, s))
            return true;
        if (s->state == R_FAILED) /* could not even build the query */
            self->kick(self->kick_arg);
        return false;
    }
    return false;
}

/* ---- requests ------------------------------------------------------------ */

void lt_replay_on_request(lt_replay *self)
{
    replay_slot peer = {0};
    lt_replay_request req = {0};
    zmq_msg_t id, body;
    zmq_msg_init(&id);
    zmq_msg_init(&body);
    int more = 0;
    size_t ml = sizeof(more);
    if (zmq_msg_recv(&id, self->router, ZMQ_DONTWAIT) < 0)
        goto out;
    peer.idlen = zmq_msg_size(&id) < MAX_IDENTITY ? zmq_msg_size(&id) : MAX_IDENTITY;
    memcpy(peer.id, zmq_msg_data(&id), peer.idlen);
    char err[512] = "";
    if (zmq_getsockopt(self->router, ZMQ_RCVMORE, &more, &ml) < 0 || !more) {
        snprintf(err, sizeof(err), "a replay request is one frame of JSON");
        goto refuse;
    }
    if (zmq_msg_recv(&body, self->router, 0) < 0)
        goto out;
    zmq_getsockopt(self->router, ZMQ_RCVMORE, &more, &ml);
    if (more) {
        lt_msg_drain(self->router);
        snprintf(err, sizeof(err),
                 "a replay request is one frame of JSON (use a DEALER socket, not REQ)");
        goto refuse;
    }
    lt_replay_access access;
    if (self->revoked) {
        if (lt_zap_peer(&body, peer.curve_unit, peer.curve_key) < 0) {
            snprintf(err, sizeof(err), "this connection has no CURVE identity");
            goto refuse;
        }
        if (lt_zap_revoked_has(self->revoked, peer.curve_key)) {
            snprintf(err, sizeof(err),
                     "the CURVE key of this connection was replaced (lienthong keygen); "
                     "reconnect with the unit's new key");
            goto refuse;
        }
    }
    /* With CURVE the key is a credential: no token is needed (OPEN below
     * becomes a lookup of the key's role and unit). */
    if (lt_replay_parse_request(zmq_msg_data(&body), zmq_msg_size(&body), &req, err, sizeof(err)) <
            0 ||
        lt_replay_authorize(&req, peer.curve_unit[0] ? false : self->cfg->auth.required, &access,
                            err, sizeof(err)) < 0)
        goto refuse;
    replay_slot *slot = NULL;
    for (int i = 0; i < MAX_REPLAYS; i++) {
        replay_slot *s = &self->slots[i];
        if (s->state == R_FREE && !slot)
            slot = s;
        else if (s->state != R_FREE && s->idlen == peer.idlen &&
                 memcmp(s->id, peer.id, peer.idlen) == 0) {
            snprintf(err, sizeof(err), "a replay is already running for this peer");
            goto refuse;
        }
    }
    if (!slot) {
        snprintf(err, sizeof(err), "too many replays in progress (at most %d); try again later",
                 MAX_REPLAYS);
        goto refuse;
    }
    if (!lt_pgconn_up(self->pg)) {
        snprintf(err, sizeof(err), "the database is unavailable; try again later");
        goto refuse;
    }
    *slot = peer;
    slot->req = req;
    slot->next = req.from;
    slot->end = -1;
    if (access == LT_REPLAY_LOOKUP || (access == LT_REPLAY_OPEN && peer.curve_unit[0])) {
        slot->state = R_LOOKUP;
    } else {
        /* Public data needs no credential, and a token sent along with a
         * catalog prefix is not read: it grants nothing there. */
        sodium_memzero(slot->req.token, sizeof(slot->req.token));
        slot->scope.kind =
            access == LT_REPLAY_PUBLIC ? LT_REPLAY_SCOPE_CATALOG : LT_REPLAY_SCOPE_ALL;
        if (access == LT_REPLAY_OPEN) {
            /* Whole records go out: audited. */
            lt_principal who = {.role = LT_ROLE_NONE};
            slot->audit = lt_audit_read_params(&who, "zmq replay", slot->actor, sizeof(slot->actor),
                                               slot->detail, sizeof(slot->detail));
        }
        slot->state = R_START;
        LT_INFO("replay: from %" PRId64 " with prefix \"%s\"%s", req.from, req.prefix,
                access == LT_REPLAY_OPEN ? " without a token (auth.required is false)" : "");
    }
    self->kick(self->kick_arg);
    goto out;
refuse:
    send_error_to(self, &peer, err);
out:
    /* The request frame and its parse may hold a token: wipe both. */
    sodium_memzero(&req, sizeof(req));
    if (zmq_msg_size(&body) > 0)
        sodium_memzero(zmq_msg_data(&body), zmq_msg_size(&body));
    zmq_msg_close(&id);
    zmq_msg_close(&body);
}

void lt_replay_abort_all(lt_replay *self, const char *reason)
{
    for (int i = 0; i < MAX_REPLAYS; i++) {
        replay_slot *s = &self->slots[i];
        if (s->state == R_FREE)
            continue;
        send_error_to(self, s, reason);
        free_slot(s);
    }
}

lt_replay *lt_replay_new(lt_loop *loop, void *router, lt_pgconn *pg, const lt_config *cfg,
                         void (*kick)(void *), void *kick_arg)
{
    lt_replay *self = calloc(1, sizeof(*self));
    if (!self)
        return NULL;
    self->loop = loop;
    self->router = router;
    self->pg = pg;
    self->cfg = cfg;
    self->kick = kick;
    self->kick_arg = kick_arg;
    self->querying = -1;
    return self;
}

void lt_replay_destroy(lt_replay **self_p)
{
    if (!self_p || !*self_p)
        return;
    lt_replay *self = *self_p;
    lt_loop_cancel_timer(self->loop, self->retry_timer);
    for (int i = 0; i < MAX_REPLAYS; i++)
        PQclear(self->slots[i].page);
    free(self);
    *self_p = NULL;
}
