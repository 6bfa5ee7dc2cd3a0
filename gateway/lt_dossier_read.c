/* lt_dossier_read: statements and answers of the dossier reads (see
 * lt_dossier_read.h).
 *
 * Why the scope is SQL and not C: a parent office's subtree is a recursive
 * walk of units, and a page must be cut after the scope filter, not before;
 * so every scoped statement starts with the same CTE over $1 (the caller's
 * role) and $2 (its unit), and the database does the filtering in the same
 * snapshot as the page. Each read is one statement: a page and the numbers
 * that come with it (the last sequence, whether the unit was allowed) can
 * never disagree.
 *
 * Pages are cut with one row more than the limit: when it comes, `next` is
 * the last key of the page; otherwise `next` is null and the caller is up to
 * date. Times leave as PostgreSQL's JSON writes them, ISO 8601 with the
 * offset (RFC 3339, what OpenAPI's date-time means), whatever DateStyle is. */
#include "lt_dossier_read.h"
#include "lt_audit.h"
#include "lt_mask.h"
#include "lt_outbox.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The units the caller's role confines it to: none for roles that see
 * everything (operator, reader, none), its unit for ward, its unit and every
 * unit below it for parent. UNION (not UNION ALL) stops at a cycle. $1 is the
 * role's name, $2 its unit. */
#define SCOPE_CTE                                                                                  \
    "WITH RECURSIVE scope(code) AS ("                                                              \
    " SELECT $2::text WHERE $1::text IN ('ward', 'parent')"                                        \
    " UNION SELECT u.code FROM units u JOIN scope s ON u.parent = s.code"                          \
    "  WHERE $1::text = 'parent')"
#define SEES_ALL "$1::text NOT IN ('ward', 'parent')"
/* Dossier d is the caller's to read. */
#define DOSSIER_IN_SCOPE                                                                           \
    "(" SEES_ALL " OR d.receiving_unit IN (SELECT code FROM scope)"                                \
    " OR d.competent_unit IN (SELECT code FROM scope))"

/* One dossier: $3 its code. The outbox is reached through the dossier's
 * event sequences, which its (event_seq, destination) key indexes. */
#define DOSSIER_HIT                                                                                \
    ", hit AS (SELECT d.* FROM dossiers d WHERE d.code = $3::text AND " DOSSIER_IN_SCOPE "),"
#define DOSSIER_AUDIT                                                                              \
    LT_AUDIT_READS_CTE("$4", "$5", "(SELECT code AS dossier_code, 'dossier' AS kind FROM hit) h")
static const char dossier_sql[] = SCOPE_CTE DOSSIER_HIT DOSSIER_AUDIT
    " SELECT d.record::text, d.receiving_unit, d.competent_unit, d.processing_unit,"
    " (SELECT coalesce(json_agg(json_build_object('sequence', e.seq, 'status', e.status::text,"
    "   'topic', e.topic, 'at', e.created_at) ORDER BY e.seq), '[]')"
    "  FROM dossier_events e WHERE e.dossier_code = d.code)::text,"
    " (SELECT coalesce(json_agg(json_build_object('sequence', o.event_seq,"
    "   'destination', o.destination, 'state', o.state, 'attempts', o.attempts,"
    "   'last_status', o.last_status, 'last_error', o.last_error,"
    "   'next_attempt_at', o.next_attempt_at, 'delivered_at', o.delivered_at)"
    "   ORDER BY o.event_seq, o.destination), '[]')"
    "  FROM outbox o WHERE o.dossier_code = d.code"
    "  AND o.event_seq IN (SELECT e.seq FROM dossier_events e WHERE e.dossier_code = d.code))::text"
    " FROM hit d";

/* Reconciliation lists carry no record: these are their columns (after the
 * "allowed" flag that always comes first), read from p. */
#define LIST_COLS                                                                                  \
    "d.code, d.status, d.procedure_code, d.receiving_unit, d.competent_unit, d.processing_unit,"   \
    " d.last_seq, d.updated_at, d.content_hash"
#define LIST_OUT                                                                                   \
    " p.code, p.status::text, p.procedure_code, p.receiving_unit, p.competent_unit,"               \
    " p.processing_unit, p.last_seq, to_json(p.updated_at) #>> '{}',"                              \
    " encode(p.content_hash, 'hex')"

/* Every dossier (an operator or reader without `unit`), by the last_seq
 * index: $1 status (0 = any), $2 since, $3 limit. */
static const char dossiers_all_sql[] =
    "SELECT true," LIST_OUT " FROM (SELECT 1) one LEFT JOIN LATERAL (SELECT " LIST_COLS
    " FROM dossiers d WHERE d.last_seq > $2::bigint AND ($1::int = 0 OR d.status = $1::int)"
    " ORDER BY d.last_seq LIMIT $3::int + 1) p ON true ORDER BY p.last_seq";

/* Some units' dossiers: `unit` ($3) when given, else the caller's scope; $4
 * status, $5 since, $6 limit. Each unit is read through the (receiving_unit,
 * last_seq) and (competent_unit, last_seq) indexes, at most a page of
 * last_seqs from each (a small unit costs its own rows, not the whole
 * table's); only the page's dossiers are then read whole, by last_seq (one
 * event belongs to one dossier, so it names one). The first column says
 * whether `unit` is the caller's to read; a row comes even when the page is
 * empty. */
static const char dossiers_units_sql[] =
    SCOPE_CTE ", ok AS (SELECT $3::text = '' OR " SEES_ALL
              " OR $3::text IN (SELECT code FROM scope) AS allowed),"
              " targets(code) AS (SELECT $3::text WHERE $3::text <> ''"
              "  UNION SELECT code FROM scope WHERE $3::text = '')"
              " SELECT ok.allowed," LIST_OUT " FROM ok LEFT JOIN LATERAL (SELECT d.* FROM ("
              "  SELECT u.last_seq FROM ("
              "   SELECT d.last_seq FROM targets t CROSS JOIN LATERAL (SELECT d.last_seq"
              "    FROM dossiers d WHERE d.receiving_unit = t.code AND d.last_seq > $5::bigint"
              "    AND ($4::int = 0 OR d.status = $4::int) ORDER BY d.last_seq LIMIT $6::int + 1) d"
              "   UNION"
              "   SELECT d.last_seq FROM targets t CROSS JOIN LATERAL (SELECT d.last_seq"
              "    FROM dossiers d WHERE d.competent_unit = t.code AND d.last_seq > $5::bigint"
              "    AND ($4::int = 0 OR d.status = $4::int) ORDER BY d.last_seq LIMIT $6::int + 1) d"
              "  ) u WHERE ok.allowed ORDER BY u.last_seq LIMIT $6::int + 1) k"
              "  JOIN dossiers d ON d.last_seq = k.last_seq) p ON true"
              " ORDER BY p.last_seq";

#define EVENT_COLS "e.seq, e.kind, e.topic, e.record, e.dossier_code"

/* The rows of a page that are answered (the one past the limit is not),
 * for the audit CTE; LIMIT is the limit's parameter. */
#define ANSWERED(LIMIT) "(SELECT kind, dossier_code FROM page ORDER BY seq LIMIT " LIMIT "::int) a"

/* Every event (operator, reader): $1 since, $2 prefix ("" = any), $3 limit,
 * $4 and $5 the audit row's actor and detail. A catalog. prefix is answered
 * from the catalog events' own index. The first column is the database's
 * last sequence (same snapshot). */
static const char events_all_sql[] =
    "WITH page AS (SELECT " EVENT_COLS " FROM dossier_events e WHERE e.seq > $1::bigint"
    " AND ($2::text = '' OR starts_with(e.topic, $2::text))"
    " AND (NOT starts_with($2::text, 'catalog.') OR e.kind = 'catalog')"
    " ORDER BY e.seq LIMIT $3::int + 1)," LT_AUDIT_READS_CTE(
        "$4", "$5", ANSWERED("$3")) " SELECT c.last_seq, e.seq, e.kind, e.topic, e.record::text"
                                    " FROM event_counter c LEFT JOIN page e ON true ORDER BY e.seq";

/* A ward's or parent's events: those of every dossier it may read, like
 * DOSSIER_IN_SCOPE. The events of the units in its scope
 * (dossier_events.unit_code, the receiving unit; at most a page of
 * sequences from each through the (unit_code, seq) index of 0006), those of
 * the dossiers competent in its scope and received outside it (a page from
 * each unit, through 0018's index of the dossiers competent elsewhere and
 * the events' (dossier_code, seq) index; OFFSET 0 keeps that order: on
 * 100,000 events the planner otherwise walked the whole log by sequence,
 * 85 ms instead of 2), and the catalog events, which are
 * public; only the page's events are then read whole. $3 since, $4 prefix,
 * $5 limit, $6 and $7 the audit row's actor and detail. A unit or a kind
 * whose topics ("dossier.<unit>.", "catalog.") cannot match the prefix is not
 * read by the first and third branches; the second's topics name the
 * receiving unit, so only the prefix filters it. */
static const char events_scoped_sql[] = SCOPE_CTE
    ", page AS (SELECT " EVENT_COLS " FROM ("
    "  SELECT x.seq FROM ("
    "   SELECT e.seq FROM scope s CROSS JOIN LATERAL (SELECT e.seq"
    "    FROM dossier_events e WHERE e.kind = 'dossier' AND e.unit_code = s.code"
    "    AND e.seq > $3::bigint AND ($4::text = '' OR starts_with(e.topic, $4::text))"
    "    AND ($4::text = '' OR starts_with($4::text, 'dossier.' || s.code || '.')"
    "     OR starts_with('dossier.' || s.code || '.', $4::text))"
    "    ORDER BY e.seq LIMIT $5::int + 1) e"
    "   UNION ALL"
    "   SELECT e.seq FROM scope s CROSS JOIN LATERAL (SELECT d.code FROM dossiers d"
    "    WHERE d.competent_unit = s.code AND d.competent_unit <> d.receiving_unit"
    "    AND d.last_seq > $3::bigint OFFSET 0) d CROSS JOIN LATERAL (SELECT e.seq"
    "    FROM dossier_events e WHERE e.dossier_code = d.code AND e.seq > $3::bigint"
    "    AND e.kind = 'dossier' AND e.unit_code NOT IN (SELECT code FROM scope)"
    "    AND ($4::text = '' OR starts_with(e.topic, $4::text))"
    "    ORDER BY e.seq LIMIT $5::int + 1) e"
    "   UNION ALL"
    "   (SELECT e.seq FROM dossier_events e WHERE e.kind = 'catalog'"
    "    AND e.seq > $3::bigint AND ($4::text = '' OR starts_with(e.topic, $4::text))"
    "    AND ($4::text = '' OR starts_with($4::text, 'catalog.')"
    "     OR starts_with('catalog.', $4::text))"
    "    ORDER BY e.seq LIMIT $5::int + 1)"
    "  ) x ORDER BY x.seq LIMIT $5::int + 1) k"
    "  JOIN dossier_events e ON e.seq = k.seq)," LT_AUDIT_READS_CTE(
        "$6", "$7", ANSWERED("$5")) " SELECT c.last_seq, e.seq, e.kind, e.topic, e.record::text"
                                    " FROM event_counter c LEFT JOIN page e ON true ORDER BY e.seq";

/* $1 since (an id), $2 sender unit ("" = any), $3 limit. No payload: it
 * holds personal data, and `lienthong rejects show` gives it to operators. */
static const char rejects_sql[] =
    "SELECT r.id, to_json(r.received_at) #>> '{}', r.sender_unit, r.channel, r.dialect,"
    " r.dossier_code, r.reason::text, to_json(r.resubmitted_at) #>> '{}'"
    " FROM rejects r WHERE r.id > $1::bigint AND ($2::text = '' OR r.sender_unit = $2::text)"
    " ORDER BY r.id LIMIT $3::int + 1";

/* Dead letters (outbox rows in state dead, 0009), oldest id first like the
 * rejects: $1 destination ("" = any), $2 since (an id), $3 limit. The event's
 * record is not read: it holds personal data, and `lienthong deadletters
 * show` gives it masked. updated_at is when the row died (lt_dead sets it). */
static const char deadletters_sql[] =
    "SELECT o.id, o.destination, o.event_seq, o.dossier_code, o.attempts, o.last_status,"
    " o.last_error, o.answer, o.idempotency_key, to_json(o.created_at) #>> '{}',"
    " to_json(o.updated_at) #>> '{}'"
    " FROM outbox o WHERE o.state = 'dead' AND o.id > $2::bigint"
    " AND ($1::text = '' OR o.destination = $1::text)"
    " ORDER BY o.id LIMIT $3::int + 1";

/* Operators and readers (and nobody, with auth off) are not confined. */
static bool sees_all(lt_role role)
{
    return role != LT_ROLE_WARD && role != LT_ROLE_PARENT;
}

bool lt_dossier_read_allowed(lt_read_verb verb, lt_role role)
{
    if (verb == LT_READ_REJECTS || verb == LT_READ_DEADLETTERS || verb == LT_READ_REPLAY)
        return role == LT_ROLE_OPERATOR || role == LT_ROLE_NONE;
    return true;
}

static const char *num(lt_read_stmt *s, int i, int64_t v)
{
    snprintf(s->num[i], sizeof(s->num[i]), "%" PRId64, v);
    return s->num[i];
}

/* The audit actor parameter (NULL: nothing to audit) and ret->detail. */
static const char *audit(const lt_principal *who, const char *via, lt_read_stmt *ret)
{
    if (!lt_audit_read_params(who, via, ret->actor, sizeof(ret->actor), ret->detail,
                              sizeof(ret->detail)))
        return NULL;
    return ret->actor;
}

void lt_dossier_read_stmt(const lt_read_query *q, const lt_principal *who, lt_read_stmt *ret)
{
    memset(ret, 0, sizeof(*ret));
    const char **p = ret->params;
    const char *role = lt_auth_role_name(who->role);
    switch (q->verb) {
    case LT_READ_DOSSIER:
        ret->sql = dossier_sql;
        ret->nparams = 3;
        p[0] = role;
        p[1] = who->unit;
        p[2] = q->code;
        p[3] = audit(who, "GET /v1/dossiers/{code}", ret);
        p[4] = ret->detail;
        ret->nparams = 5;
        break;
    case LT_READ_DOSSIERS:
        if (sees_all(who->role) && !q->unit[0]) {
            ret->sql = dossiers_all_sql;
            ret->nparams = 3;
            p[0] = num(ret, 0, q->status);
            p[1] = num(ret, 1, q->since);
            p[2] = num(ret, 2, q->limit);
            break;
        }
        ret->sql = dossiers_units_sql;
        ret->nparams = 6;
        p[0] = role;
        p[1] = who->unit;
        p[2] = q->unit;
        p[3] = num(ret, 0, q->status);
        p[4] = num(ret, 1, q->since);
        p[5] = num(ret, 2, q->limit);
        break;
    case LT_READ_EVENTS:
        if (sees_all(who->role)) {
            ret->sql = events_all_sql;
            ret->nparams = 3;
            p[0] = num(ret, 0, q->since);
            p[1] = q->prefix;
            p[2] = num(ret, 1, q->limit);
            p[3] = audit(who, "GET /v1/events", ret);
            p[4] = ret->detail;
            ret->nparams = 5;
            break;
        }
        ret->sql = events_scoped_sql;
        ret->nparams = 7;
        p[0] = role;
        p[1] = who->unit;
        p[2] = num(ret, 0, q->since);
        p[3] = q->prefix;
        p[4] = num(ret, 1, q->limit);
        p[5] = audit(who, "GET /v1/events", ret);
        p[6] = ret->detail;
        break;
    case LT_READ_DEADLETTERS:
        ret->sql = deadletters_sql;
        ret->nparams = 3;
        p[0] = q->destination;
        p[1] = num(ret, 0, q->since);
        p[2] = num(ret, 1, q->limit);
        break;
    case LT_READ_REPLAY:
        ret->sql = LT_AUDIT_DEADLETTER_REPLAY_SQL;
        ret->nparams = 4;
        p[0] = q->destination;
        p[1] = q->id ? num(ret, 0, q->id) : NULL;
        /* Only operators get here (lt_dossier_read_allowed), never a reader. */
        p[2] = audit(who, "POST /v1/deadletters/replay", ret);
        p[3] = ret->detail;
        break;
    default: /* LT_READ_REJECTS: no scope, operators only */
        ret->sql = rejects_sql;
        ret->nparams = 3;
        p[0] = num(ret, 0, q->since);
        p[1] = q->unit;
        p[2] = num(ret, 1, q->limit);
        break;
    }
}

/* ---- answers ---------------------------------------------------------------- */

/* A text column as a JSON string, or null. */
static json_t *text_or_null(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? json_null() : json_string(PQgetvalue(r, row, col));
}

static json_int_t int_col(const PGresult *r, int row, int col)
{
    return (json_int_t)strtoll(PQgetvalue(r, row, col), NULL, 10);
}

/* A stored JSON column; a dossier record is masked for a reader. NULL when
 * the stored text does not parse or masking ran out of memory. */
static json_t *json_col(const PGresult *r, int row, int col, bool mask)
{
    json_t *j = json_loads(PQgetvalue(r, row, col), JSON_DECODE_ANY, NULL);
    if (j && mask && lt_mask_json(j) < 0) {
        json_decref(j);
        return NULL;
    }
    return j;
}

static json_t *units_of(const PGresult *r, int row, int receiving)
{
    return json_pack("{s:o, s:o, s:o}", "receiving", text_or_null(r, row, receiving), "competent",
                     text_or_null(r, row, receiving + 1), "processing",
                     text_or_null(r, row, receiving + 2));
}

static json_t *error_doc(const char *code, const char *message, const char *field)
{
    json_t *err = json_pack("{s:s, s:s}", "code", code, "message", message);
    if (err && field)
        json_object_set_new(err, "field", json_string(field));
    return err ? json_pack("{s:o}", "error", err) : NULL;
}

static json_t *dossier_doc(const lt_read_query *q, const lt_principal *who, const PGresult *r,
                           int *ret_status)
{
    if (PQntuples(r) == 0) {
        char msg[128];
        snprintf(msg, sizeof(msg), "no dossier %s", q->code);
        *ret_status = 404;
        return error_doc("not_found", msg, NULL);
    }
    *ret_status = 200;
    json_t *record = json_col(r, 0, 0, who->role == LT_ROLE_READER);
    json_t *events = json_col(r, 0, 4, false);
    json_t *deliveries = json_col(r, 0, 5, false);
    if (!record || !json_is_array(events) || !json_is_array(deliveries)) {
        json_decref(record);
        json_decref(events);
        json_decref(deliveries);
        return NULL;
    }
    return json_pack("{s:o, s:o, s:o, s:o}", "record", record, "units", units_of(r, 0, 1), "events",
                     events, "deliveries", deliveries);
}

/* Makes the list item of row i; NULL when out of memory or the stored JSON
 * does not parse. */
typedef json_t *page_item_fn(const PGresult *r, int i, const lt_principal *who);

/* A page: {name: [items], "next": null or the key column of its last row}.
 * Rows are cut at limit; the row after it, when it came, only says that
 * there is more. n is how many of r's rows are data. */
static json_t *page_doc(const char *name, const PGresult *r, int n, int64_t limit,
                        page_item_fn *item, const lt_principal *who, int key_col)
{
    bool more = n > limit;
    int rows = more ? (int)limit : n;
    json_t *list = json_array();
    json_t *doc = json_pack("{s:o, s:n}", name, list, "next");
    if (!doc)
        return NULL;
    for (int i = 0; i < rows; i++) {
        json_t *x = item(r, i, who);
        if (!x || json_array_append_new(list, x) < 0) {
            json_decref(doc);
            return NULL;
        }
    }
    if (more)
        json_object_set_new(doc, "next", json_integer(int_col(r, rows - 1, key_col)));
    return doc;
}

static json_t *dossier_item(const PGresult *r, int i, const lt_principal *who)
{
    (void)who;
    return json_pack("{s:s, s:s, s:s, s:o, s:I, s:s, s:s}", "MaHoSo", PQgetvalue(r, i, 1), "status",
                     PQgetvalue(r, i, 2), "MaTTHC", PQgetvalue(r, i, 3), "units", units_of(r, i, 4),
                     "sequence", int_col(r, i, 7), "updated_at", PQgetvalue(r, i, 8),
                     "content_hash", PQgetvalue(r, i, 9));
}

static json_t *dossiers_doc(const lt_read_query *q, const PGresult *r, int *ret_status)
{
    if (PQntuples(r) < 1)
        return NULL;
    if (strcmp(PQgetvalue(r, 0, 0), "t") != 0) {
        char msg[160];
        snprintf(msg, sizeof(msg), "unit %s is outside this token's scope", q->unit);
        *ret_status = 403;
        return error_doc("forbidden", msg, "unit");
    }
    *ret_status = 200;
    int n = PQgetisnull(r, 0, 1) ? 0 : PQntuples(r);
    return page_doc("dossiers", r, n, q->limit, dossier_item, NULL, 7);
}

static json_t *event_item(const PGresult *r, int i, const lt_principal *who)
{
    /* Catalog records are public and carry no personal data; masking them
     * would only garble their numbers. */
    bool dossier = strcmp(PQgetvalue(r, i, 2), "dossier") == 0;
    json_t *rec = json_col(r, i, 4, dossier && who->role == LT_ROLE_READER);
    return rec ? json_pack("{s:I, s:s, s:s, s:o}", "sequence", int_col(r, i, 1), "topic",
                           PQgetvalue(r, i, 3), "kind", PQgetvalue(r, i, 2), "record", rec)
               : NULL;
}

static json_t *events_doc(const lt_read_query *q, const lt_principal *who, const PGresult *r,
                          int *ret_status)
{
    if (PQntuples(r) < 1)
        return NULL;
    *ret_status = 200;
    int n = PQgetisnull(r, 0, 1) ? 0 : PQntuples(r);
    json_t *doc = page_doc("events", r, n, q->limit, event_item, who, 1);
    if (doc && json_object_set_new(doc, "last", json_integer(int_col(r, 0, 0))) < 0) {
        json_decref(doc);
        return NULL;
    }
    return doc;
}

static json_t *reject_item(const PGresult *r, int i, const lt_principal *who)
{
    (void)who;
    json_t *reason = json_col(r, i, 6, false);
    return reason ? json_pack("{s:I, s:s, s:o, s:s, s:o, s:o, s:o, s:o}", "id", int_col(r, i, 0),
                              "received_at", PQgetvalue(r, i, 1), "sender_unit",
                              text_or_null(r, i, 2), "channel", PQgetvalue(r, i, 3), "dialect",
                              text_or_null(r, i, 4), "MaHoSo", text_or_null(r, i, 5), "reason",
                              reason, "resubmitted_at", text_or_null(r, i, 7))
                  : NULL;
}

static json_t *rejects_doc(const lt_read_query *q, const PGresult *r, int *ret_status)
{
    *ret_status = 200;
    return page_doc("rejects", r, PQntuples(r), q->limit, reject_item, NULL, 0);
}

/* A text column through lt_mask_text (a receiver may echo what it was
 * sent), or null. NULL when out of memory. */
static json_t *masked_or_null(const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col))
        return json_null();
    char *m = lt_mask_text(PQgetvalue(r, row, col));
    json_t *j = m ? json_string(m) : NULL;
    free(m);
    return j;
}

static json_t *int_or_null(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? json_null() : json_integer(int_col(r, row, col));
}

static json_t *deadletter_item(const PGresult *r, int i, const lt_principal *who)
{
    (void)who;
    json_t *error = masked_or_null(r, i, 6), *answer = masked_or_null(r, i, 7);
    json_t *x = error && answer
                    ? json_pack("{s:I, s:s, s:I, s:o, s:I, s:o, s:O, s:O, s:s, s:s, s:s}", "id",
                                int_col(r, i, 0), "destination", PQgetvalue(r, i, 1), "sequence",
                                int_col(r, i, 2), "MaHoSo", text_or_null(r, i, 3), "attempts",
                                int_col(r, i, 4), "last_status", int_or_null(r, i, 5), "last_error",
                                error, "answer", answer, "idempotency_key", PQgetvalue(r, i, 8),
                                "created_at", PQgetvalue(r, i, 9), "dead_at", PQgetvalue(r, i, 10))
                    : NULL;
    json_decref(error);
    json_decref(answer);
    return x;
}

static json_t *deadletters_doc(const lt_read_query *q, const PGresult *r, int *ret_status)
{
    *ret_status = 200;
    return page_doc("deadletters", r, PQntuples(r), q->limit, deadletter_item, NULL, 0);
}

/* One row (replayed, superseded). An id that names no dead letter of the
 * destination changes nothing: 404, as `lienthong replay --id` fails. */
static json_t *replay_doc(const lt_read_query *q, const PGresult *r, int *ret_status)
{
    if (PQntuples(r) != 1 || PQnfields(r) != 2)
        return NULL;
    json_int_t replayed = int_col(r, 0, 0), superseded = int_col(r, 0, 1);
    if (q->id && replayed + superseded == 0) {
        char msg[256];
        snprintf(msg, sizeof(msg), "no dead letter %" PRId64 " for destination %s", q->id,
                 q->destination);
        *ret_status = 404;
        return error_doc("not_found", msg, "id");
    }
    *ret_status = 200;
    return json_pack("{s:I, s:I}", "replayed", replayed, "superseded", superseded);
}

int lt_dossier_read_answer(const lt_read_query *q, const lt_principal *who, const PGresult *r,
                           int *ret_status, char **ret_body)
{
    int status = 500;
    json_t *doc = NULL;
    switch (q->verb) {
    case LT_READ_DOSSIER:
        doc = dossier_doc(q, who, r, &status);
        break;
    case LT_READ_DOSSIERS:
        doc = dossiers_doc(q, r, &status);
        break;
    case LT_READ_EVENTS:
        doc = events_doc(q, who, r, &status);
        break;
    case LT_READ_DEADLETTERS:
        doc = deadletters_doc(q, r, &status);
        break;
    case LT_READ_REPLAY:
        doc = replay_doc(q, r, &status);
        break;
    default:
        doc = rejects_doc(q, r, &status);
        break;
    }
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (!text)
        return -1;
    *ret_status = status;
    *ret_body = text;
    return 0;
}
