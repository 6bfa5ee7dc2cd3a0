/* lt_wbatch_sql: the batch's three queries, their parameters and their
 * results (see lt_wbatch.h). Parameters are JSON documents built by
 * concatenation (lt_sbuf): records are already canonical JSON text, so a
 * batch of 2,000 needs no second serialization, and the server parses each
 * parameter once (jsonb_to_recordset). */
#include "lt_wbatch_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lt_log.h"
#include "lt_zap.h"

/* The tokens' credentials ($1, their prefixes) and the CURVE keys of the
 * pushes that came without a token ($2): one round trip for both. */
static const char auth_sql[] = LT_AUTH_LOOKUP_SELECT " UNION ALL " LT_ZAP_PRINCIPAL_SQL("$2");

/* One row per record that has a dossier code: its stored state, its
 * procedure and the unit owning its agency id with that unit's ancestors,
 * and whether the unit tree has a district at all (routing.model auto; an
 * uncorrelated subquery, run once per statement, so an import changing
 * the tree counts from the next batch on).
 * Owners and procedures are looked up once per distinct value: a batch
 * usually holds a few units' dossiers for a few procedures. */
static const char read_sql[] =
    "WITH r AS (SELECT * FROM jsonb_to_recordset($1::jsonb)"
    "           AS r (i integer, c text, p text, a text, d date)),"
    " ag AS (SELECT DISTINCT a, d FROM r),"
    " own AS (SELECT ag.a, ag.d, (SELECT w.code FROM ("
    "     SELECT u.code, 0 AS pri FROM units u WHERE u.agency_id = ag.a"
    "     UNION ALL SELECT al.unit_code, 1 FROM unit_aliases al WHERE al.agency_id = ag.a"
    "       AND (ag.d IS NULL OR ((al.valid_from IS NULL OR al.valid_from <= ag.d)"
    "       AND (al.valid_to IS NULL OR al.valid_to >= ag.d)))) w ORDER BY w.pri LIMIT 1) AS unit"
    "   FROM ag),"
    " chains AS (SELECT own.a, own.d, own.unit, (WITH RECURSIVE ch (code, parent, level, depth) AS "
    "("
    "     SELECT u.code, u.parent, u.level, 0 FROM units u WHERE u.code = own.unit"
    "     UNION ALL SELECT u.code, u.parent, u.level, ch.depth + 1"
    "       FROM units u JOIN ch ON u.code = ch.parent WHERE ch.depth < 7)"
    "   SELECT string_agg(ch.code || ':' || ch.level, '/' ORDER BY ch.depth) FROM ch) AS chain"
    "   FROM own),"
    " pr AS (SELECT DISTINCT p FROM r),"
    " procs AS (SELECT pr.p, x.published, x.levels FROM pr LEFT JOIN LATERAL ("
    "     SELECT bool_or(q.published) AS published,"
    "            (array_agg(q.levels::text ORDER BY q.published DESC, q.code = pr.p DESC))[1] AS "
    "levels"
    "     FROM procedures q WHERE q.code = pr.p OR q.base_code = pr.p HAVING count(*) > 0) x"
    "   ON true)"
    " SELECT r.i, d.status,"
    "  to_char(d.recency_at AT TIME ZONE 'Asia/Ho_Chi_Minh', 'YYYYMMDDHH24MISS'),"
    "  d.history_len, encode(d.content_hash, 'hex'), d.last_seq, d.receiving_unit,"
    "  d.competent_unit, procs.published, procs.levels, chains.unit,"
    "  chains.chain, (SELECT EXISTS (SELECT 1 FROM units WHERE level = 2))"
    " FROM r LEFT JOIN dossiers d ON d.code = r.c"
    " LEFT JOIN procs ON procs.p = r.p"
    " LEFT JOIN chains ON chains.a = r.a AND chains.d IS NOT DISTINCT FROM r.d"
    " ORDER BY r.i";

static const char apply_sql[] = "SELECT lt_ingest_apply($1::jsonb, $2::jsonb, $3::jsonb, $4)";

static lt_wbatch_phase to_apply(lt_wbatch *self);

/* ---- the read ----------------------------------------------------------- */

/* ---- the statements' JSON parameters -----------------------------------
 * Written by hand into an lt_sbuf, not through jansson trees: a batch has
 * thousands of rows and each would otherwise be a tree built to be dumped. */

/* The comma before every element of a list but the first. */
static void item_sep(lt_sbuf *b, bool *first)
{
    if (!*first)
        lt_sbuf_addc(b, ',');
    *first = false;
}

/* "k": before a member's value, after a comma unless it opens its object. */
static void key(lt_sbuf *b, const char *k)
{
    if (!b->failed && b->len > 0 && b->data[b->len - 1] != '{')
        lt_sbuf_addc(b, ',');
    lt_sbuf_addc(b, '"');
    lt_sbuf_adds(b, k);
    lt_sbuf_adds(b, "\":");
}

/* A string member; NULL writes null. */
static void member_str(lt_sbuf *b, const char *k, const char *v)
{
    key(b, k);
    lt_sbuf_json_str(b, v);
}

/* A string member that is null when empty: an unset field of fixed size. */
static void member_opt(lt_sbuf *b, const char *k, const char *v)
{
    member_str(b, k, v && v[0] ? v : NULL);
}

static void member_int(lt_sbuf *b, const char *k, long long v)
{
    key(b, k);
    lt_sbuf_addi(b, v);
}

static lt_wbatch_phase build_read(lt_wbatch *self)
{
    lt_sbuf *b = &self->p1;
    lt_sbuf_reset(b);
    lt_sbuf_addc(b, '[');
    size_t n = 0;
    for (size_t i = 0; i < self->nrecs; i++) {
        wrec *r = &self->recs[i];
        r->read_row = -1;
        if (r->dead || !r->mahoso || !r->mahoso[0])
            continue;
        r->read_row = (int)n;
        const char *proc = r->canon ? json_string_value(json_object_get(r->canon, "MaTTHC")) : NULL;
        lt_sbuf_adds(b, n ? ",{" : "{");
        member_int(b, "i", (long long)n);
        member_str(b, "c", r->mahoso);
        member_str(b, "p", proc ? proc : "");
        member_str(b, "a", r->agency);
        member_opt(b, "d", r->day);
        lt_sbuf_addc(b, '}');
        n++;
    }
    lt_sbuf_addc(b, ']');
    if (lt_sbuf_failed(b)) {
        lt_wbatch_fail(self, 500, "internal", "out of memory");
        return self->phase;
    }
    if (n == 0)
        return lt_wbatch_judge(self) == LT_WB_APPLY ? to_apply(self) : self->phase;
    if (n > self->rows_cap) {
        wread *rows = realloc(self->rows, n * sizeof(*rows));
        if (!rows) {
            lt_wbatch_fail(self, 500, "internal", "out of memory");
            return self->phase;
        }
        self->rows = rows;
        self->rows_cap = n;
    }
    self->nrows = n;
    self->phase = LT_WB_READ;
    return self->phase;
}

lt_wbatch_phase lt_wbatch_after_prepare(lt_wbatch *self)
{
    return build_read(self);
}

static void copy_cell(char *dst, size_t cap, const PGresult *r, int row, int col)
{
    dst[0] = '\0';
    if (!PQgetisnull(r, row, col))
        snprintf(dst, cap, "%s", PQgetvalue(r, row, col));
}

/* "code:level/code:level" from the owner up. */
static void parse_chain(wread *w, const char *s)
{
    w->chain_n = 0;
    while (*s && w->chain_n < LT_WBATCH_MAX_CHAIN) {
        const char *end = strchr(s, '/');
        size_t len = end ? (size_t)(end - s) : strlen(s);
        const char *colon = s + len;
        while (colon > s && *colon != ':')
            colon--;
        if (*colon == ':') {
            size_t clen = (size_t)(colon - s);
            if (clen < LT_WBATCH_UNIT) {
                memcpy(w->chain[w->chain_n], s, clen);
                w->chain[w->chain_n][clen] = '\0';
                w->chain_level[w->chain_n] = (int)strtol(colon + 1, NULL, 10);
                w->chain_n++;
            }
        }
        if (!end)
            break;
        s = end + 1;
    }
}

static int read_rows(lt_wbatch *self, const PGresult *r)
{
    if ((size_t)PQntuples(r) != self->nrows)
        return -1;
    for (int i = 0; i < PQntuples(r); i++) {
        wread *w = &self->rows[i];
        memset(w, 0, sizeof(*w));
        w->stored = !PQgetisnull(r, i, 1);
        if (w->stored) {
            w->status = (int)strtol(PQgetvalue(r, i, 1), NULL, 10);
            copy_cell(w->recency, sizeof(w->recency), r, i, 2);
            w->history_len = strtoul(PQgetvalue(r, i, 3), NULL, 10);
            copy_cell(w->hash, sizeof(w->hash), r, i, 4);
            w->last_seq = strtoll(PQgetvalue(r, i, 5), NULL, 10);
            copy_cell(w->recv, sizeof(w->recv), r, i, 6);
            copy_cell(w->comp, sizeof(w->comp), r, i, 7);
        }
        w->proc_state = PQgetisnull(r, i, 8) ? 0 : PQgetvalue(r, i, 8)[0] == 't' ? 1 : 2;
        for (const char *l = PQgetvalue(r, i, 9); *l; l++)
            if (*l >= '0' && *l <= '9')
                w->levels |= 1u << (*l - '0');
        copy_cell(w->owner, sizeof(w->owner), r, i, 10);
        parse_chain(w, PQgetvalue(r, i, 11));
        w->districts = PQgetvalue(r, i, 12)[0] == 't';
    }
    return 0;
}

/* ---- the write ---------------------------------------------------------- */

static bool is_rejected(const wrec *r)
{
    return r->result && r->code != 200;
}

static void add_reject(lt_sbuf *b, bool *first, const wpush *p, const char *code,
                       const char *payload, size_t plen, const char *reason)
{
    static const char *const channels[] = {"http", "zmq", "cli"};
    item_sep(b, first);
    lt_sbuf_addc(b, '{');
    member_opt(b, "u", p->who.unit);
    member_str(b, "ch", channels[p->req->channel]);
    member_opt(b, "d", p->who.dialect);
    member_opt(b, "c", code);
    key(b, "p");
    lt_sbuf_addc(b, '"');
    lt_sbuf_hex(b, payload, plen);
    lt_sbuf_addc(b, '"');
    key(b, "r");
    lt_sbuf_adds(b, reason);
    lt_sbuf_addc(b, '}');
}

/* Rejected records and malformed bodies, kept for operators (the raw
 * bytes: the whole body for a single record, the element for an array),
 * except records refused for scope (403). A
 * resubmission records its outcome on the original row instead. */
static int build_rejects(lt_wbatch *self, lt_sbuf *b)
{
    bool first = true;
    lt_sbuf_addc(b, '[');
    for (size_t i = 0; i < self->npushes; i++) {
        const wpush *p = &self->pushes[i];
        if (p->answered || p->resubmit)
            continue;
        if (p->malformed) {
            const lt_dossier_error *e = &p->req->malformed;
            json_t *reason = json_pack("{s:{s:s, s:s}}", "error", "code", lt_dossier_rc_code(e->rc),
                                       "message", e->message);
            char *rt = reason ? json_dumps(reason, JSON_COMPACT) : NULL;
            json_decref(reason);
            if (!rt)
                return -1;
            add_reject(b, &first, p, NULL, p->req->body ? p->req->body : "", p->req->body_len, rt);
            free(rt);
            continue;
        }
        for (size_t k = p->first; k < p->first + p->n; k++) {
            const wrec *r = &self->recs[k];
            /* A dossier outside the sender's scope (403) is not kept: its
             * bytes are another unit's citizens' data, and a refused
             * request writes nothing (issue 9; t_authz.sh). */
            if (!is_rejected(r) || r->code == 403)
                continue;
            char *rt = json_dumps(r->result, JSON_COMPACT);
            char *own = NULL;
            const char *payload = p->req->body ? p->req->body : "";
            size_t plen = p->req->body_len;
            if (!p->req->single) {
                own = json_dumps(r->orig, JSON_COMPACT | JSON_ENCODE_ANY);
                payload = own ? own : "";
                plen = own ? strlen(own) : 0;
            }
            if (rt)
                add_reject(b, &first, p, r->mahoso, payload, plen, rt);
            free(rt);
            free(own);
            if (!rt)
                return -1;
        }
    }
    lt_sbuf_addc(b, ']');
    return lt_sbuf_failed(b) ? -1 : 0;
}

static void build_events(lt_wbatch *self, lt_sbuf *b)
{
    lt_sbuf_addc(b, '[');
    for (size_t e = 0; e < self->nevents; e++) {
        const wrec *r = &self->recs[self->events[e]];
        const char *proc = json_string_value(json_object_get(r->canon, "MaTTHC"));
        char topic[160];
        snprintf(topic, sizeof(topic), "dossier.%s.%d", r->recv, r->status);
        lt_sbuf_adds(b, e ? ",{" : "{");
        member_str(b, "t", topic);
        member_str(b, "c", r->mahoso);
        member_str(b, "p", proc);
        member_str(b, "u", r->recv);
        member_int(b, "s", r->status);
        /* The sender's unit: delivery routes a status change made at the
         * competent unit back down to the receiving ward (0009). */
        member_opt(b, "su", self->pushes[r->push].who.unit);
        key(b, "r");
        lt_sbuf_adds(b, r->text);
        lt_sbuf_addc(b, '}');
    }
    lt_sbuf_addc(b, ']');
}

/* The final state of each dossier the batch changed: its last event. */
static void build_states(lt_wbatch *self, lt_sbuf *b)
{
    bool first = true;
    lt_sbuf_addc(b, '[');
    for (size_t i = 0; i < self->nstates; i++) {
        const wstate *s = &self->states[i];
        if (s->last_rec < 0)
            continue;
        const wrec *r = &self->recs[s->last_rec];
        const char *proc = json_string_value(json_object_get(r->canon, "MaTTHC"));
        const char *pu = json_string_value(json_object_get(r->canon, "DonViXuLy"));
        item_sep(b, &first);
        lt_sbuf_addc(b, '{');
        member_str(b, "c", s->code);
        member_int(b, "e", s->last_event + 1);
        member_int(b, "x", s->expect);
        member_str(b, "p", proc);
        member_str(b, "ru", s->recv);
        member_opt(b, "cu", r->comp);
        member_opt(b, "pu", pu);
        member_opt(b, "ra", r->recency.latest);
        member_int(b, "h", (long long)r->recency.history_len);
        member_str(b, "hh", r->hash);
        member_int(b, "s", r->status);
        lt_sbuf_addc(b, '}');
    }
    lt_sbuf_addc(b, ']');
}

static void build_credentials(lt_wbatch *self, lt_sbuf *b)
{
    lt_sbuf_addc(b, '{');
    bool first = true;
    for (size_t i = 0; i < self->npushes; i++) {
        const wpush *p = &self->pushes[i];
        if (p->who.credential_id <= 0 || p->answered)
            continue;
        item_sep(b, &first);
        lt_sbuf_addi(b, p->who.credential_id);
    }
    lt_sbuf_addc(b, '}');
}

/* Whether the write has anything to do; builds its parameters. */
static int build_apply(lt_wbatch *self, bool *ret_any)
{
    lt_sbuf_reset(&self->p1);
    lt_sbuf_reset(&self->p2);
    lt_sbuf_reset(&self->p3);
    lt_sbuf_reset(&self->p4);
    build_events(self, &self->p1);
    build_states(self, &self->p2);
    if (build_rejects(self, &self->p3) < 0)
        return -1;
    build_credentials(self, &self->p4);
    if (lt_sbuf_failed(&self->p1) || lt_sbuf_failed(&self->p2) || lt_sbuf_failed(&self->p4))
        return -1;
    *ret_any = self->nevents > 0 || self->p3.len > 2;
    return 0;
}

/* ---- driving ------------------------------------------------------------ */

void lt_wbatch_query(lt_wbatch *self, const char **ret_sql, int *ret_nparams,
                     const char *const **ret_params)
{
    *ret_params = self->params;
    switch (self->phase) {
    case LT_WB_AUTH: {
        const char *tokens[1];
        lt_sbuf_reset(&self->p1);
        lt_sbuf_addc(&self->p1, '{');
        bool first = true;
        for (size_t i = 0; i < self->npushes; i++) {
            const wpush *p = &self->pushes[i];
            if (p->answered || p->resubmit || !p->req->token[0])
                continue;
            tokens[0] = p->req->token;
            char *one = lt_auth_prefix_array(tokens, 1);
            if (one && strlen(one) > 2) {
                item_sep(&self->p1, &first);
                lt_sbuf_add(&self->p1, one + 1, strlen(one) - 2);
            }
            free(one);
        }
        lt_sbuf_addc(&self->p1, '}');
        /* The CURVE keys of the pushes without a token, quoted (Z85 has
         * braces, no quote or backslash). */
        lt_sbuf_reset(&self->p2);
        lt_sbuf_addc(&self->p2, '{');
        for (size_t i = 0; i < self->npushes; i++) {
            const wpush *p = &self->pushes[i];
            if (p->answered || p->resubmit || p->req->token[0] || !p->req->curve_key[0])
                continue;
            if (self->p2.len > 1)
                lt_sbuf_addc(&self->p2, ',');
            lt_sbuf_addc(&self->p2, '"');
            lt_sbuf_add(&self->p2, p->req->curve_key, strlen(p->req->curve_key));
            lt_sbuf_addc(&self->p2, '"');
        }
        lt_sbuf_addc(&self->p2, '}');
        self->params[0] = self->p1.data;
        self->params[1] = self->p2.data;
        *ret_sql = auth_sql;
        *ret_nparams = 2;
        return;
    }
    case LT_WB_READ:
        self->params[0] = self->p1.data;
        *ret_sql = read_sql;
        *ret_nparams = 1;
        return;
    case LT_WB_APPLY:
        self->params[0] = self->p1.data;
        self->params[1] = self->p2.data;
        self->params[2] = self->p3.data;
        self->params[3] = self->p4.data;
        *ret_sql = apply_sql;
        *ret_nparams = 4;
        return;
    default:
        *ret_sql = NULL;
        *ret_nparams = 0;
        return;
    }
}

/* After the judgement: write, or answer when there is nothing to write. */
static lt_wbatch_phase to_apply(lt_wbatch *self)
{
    bool any = false;
    if (build_apply(self, &any) < 0) {
        lt_wbatch_fail(self, 500, "internal", "out of memory");
        return self->phase;
    }
    if (!any) {
        lt_wbatch_answer_all(self, 0);
        return self->phase;
    }
    self->phase = LT_WB_APPLY;
    return self->phase;
}

static bool sqlstate_is(const PGresult *r, const char *state)
{
    const char *s = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    return s && strcmp(s, state) == 0;
}

static size_t unanswered(const lt_wbatch *self)
{
    size_t n = 0;
    for (size_t i = 0; i < self->npushes; i++)
        n += !self->pushes[i].answered;
    return n;
}

lt_wbatch_phase lt_wbatch_result(lt_wbatch *self, const PGresult *r, const char *err)
{
    bool ok = r && PQresultStatus(r) == PGRES_TUPLES_OK;
    if (!r) {
        /* Lost connection or timeout: during the write its outcome is
         * unknown. Not acknowledged either way; a retry is safe (the same
         * record again is a duplicate). */
        LT_WARN("writer: %s during the %s; %zu push(es) answered 503", err ? err : "query failed",
                self->phase == LT_WB_APPLY ? "write" : "read", unanswered(self));
        lt_wbatch_fail(self, 503, "not_ready",
                       "the database did not complete the write; nothing was acknowledged, "
                       "send again (a record already stored comes back as duplicate)");
        return self->phase;
    }
    if (!ok && self->phase == LT_WB_APPLY && (sqlstate_is(r, "40001") || sqlstate_is(r, "23505")))
        return lt_wbatch_conflict(self) == LT_WB_READ ? build_read(self) : self->phase;
    if (!ok) {
        /* Never the server's message to the sender or the log: it may quote
         * a row, and rows hold personal data. */
        const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        const char *cons = PQresultErrorField(r, PG_DIAG_CONSTRAINT_NAME);
        LT_ERROR("writer: the %s failed with SQLSTATE %s%s%s",
                 self->phase == LT_WB_AUTH   ? "credential lookup"
                 : self->phase == LT_WB_READ ? "read"
                                             : "write",
                 state ? state : "?", cons ? ", constraint " : "", cons ? cons : "");
        if (self->phase == LT_WB_APPLY && unanswered(self) > 1) {
            lt_wbatch_split(self);
            return self->phase;
        }
        lt_wbatch_fail(self, 500, "internal",
                       "the gateway could not store this push; its operator log names the cause");
        return self->phase;
    }
    switch (self->phase) {
    case LT_WB_AUTH:
        return lt_wbatch_auth_result(self, r);
    case LT_WB_READ:
        if (read_rows(self, r) < 0) {
            lt_wbatch_fail(self, 500, "internal", "the read returned an unexpected result");
            return self->phase;
        }
        if (lt_wbatch_judge(self) != LT_WB_APPLY)
            return self->phase;
        return to_apply(self);
    case LT_WB_APPLY: {
        long long first = PQntuples(r) == 1 ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : 0;
        lt_wbatch_answer_all(self, first);
        return self->phase;
    }
    default:
        return self->phase;
    }
}
