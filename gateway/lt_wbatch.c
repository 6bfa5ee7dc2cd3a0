/* lt_wbatch: one group commit of the writer (see lt_wbatch.h).
 *
 * Records are judged in arrival order against the newest state of their
 * dossier: the stored one, or the one an earlier record of the same batch
 * just set (a hash table over the batch's dossier codes), so a batch gives
 * exactly the answers the same records pushed one by one would have got.
 * Preparing records (mapping, validation, the dialect guess) lives in
 * lt_wbatch_prep.c, the SQL and its parameters in lt_wbatch_sql.c. */
#include "lt_wbatch.h"
#include "lt_wbatch_int.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lt_bus.h"
#include "lt_log.h"
#include "lt_mapping.h"
#include "lt_stats.h"
#include "lt_status.h"

#define MAX_CONFLICT_RETRIES 5

lt_wbatch *lt_wbatch_new(const lt_config *cfg, const lt_dialects *dialects,
                         lt_wbatch_dialect_cache *cache)
{
    lt_wbatch *self = calloc(1, sizeof(*self));
    if (!self)
        return NULL;
    self->auth_required = cfg->auth.required;
    self->routing_model = cfg->routing.model;
    self->cache = cache;
    self->dialects = dialects;
    self->errs = lt_verrors_new();
    if (!self->errs) {
        free(self);
        return NULL;
    }
    return self;
}

static void clear_records(lt_wbatch *self)
{
    for (size_t i = 0; i < self->nrecs; i++) {
        json_decref(self->recs[i].canon);
        json_decref(self->recs[i].result);
        json_decref(self->recs[i].model);
        free(self->recs[i].text);
    }
    self->nrecs = 0;
    self->nevents = 0;
    self->nstates = 0;
}

void lt_wbatch_destroy(lt_wbatch **self_p)
{
    if (!self_p || !*self_p)
        return;
    lt_wbatch *self = *self_p;
    clear_records(self);
    for (size_t i = 0; i < self->npushes; i++)
        lt_ingest_req_destroy(&self->pushes[i].req);
    free(self->pushes);
    free(self->recs);
    free(self->events);
    free(self->states);
    free(self->table);
    free(self->rows);
    lt_verrors_destroy(&self->errs);
    lt_sbuf_free(&self->p1);
    lt_sbuf_free(&self->p2);
    lt_sbuf_free(&self->p3);
    lt_sbuf_free(&self->p4);
    free(self);
    *self_p = NULL;
}

size_t lt_wbatch_push_records(const lt_ingest_req *req)
{
    return req->records ? json_array_size(req->records) : 0;
}

int lt_wbatch_add(lt_wbatch *self, lt_ingest_req *req)
{
    size_t n = lt_wbatch_push_records(req);
    if (self->npushes > 0 && self->nrecs_queued + n > LT_WBATCH_MAX_RECORDS)
        return -1;
    if (self->npushes == self->pushes_cap) {
        size_t cap = self->pushes_cap ? 2 * self->pushes_cap : 64;
        wpush *p = realloc(self->pushes, cap * sizeof(*p));
        if (!p)
            return -1;
        self->pushes = p;
        self->pushes_cap = cap;
    }
    self->pushes[self->npushes++] = (wpush){.req = req};
    self->nrecs_queued += n;
    return 0;
}

size_t lt_wbatch_count(const lt_wbatch *self)
{
    return self->npushes;
}

size_t lt_wbatch_records(const lt_wbatch *self)
{
    return self->nrecs_queued;
}

lt_wbatch_phase lt_wbatch_phase_now(const lt_wbatch *self)
{
    return self->phase;
}

const lt_wbatch_stats *lt_wbatch_stats_get(const lt_wbatch *self)
{
    return &self->stats;
}

/* ---- answers ------------------------------------------------------------ */

void lt_wbatch_answer_push(wpush *p, int status, char *text, bool challenge)
{
    lt_ingest_req *req = p->req;
    free(req->answer);
    req->answer = text;
    req->status = text ? status : 500;
    req->challenge = challenge;
    req->retry_after = status == 503 ? 1 : 0;
    if (!text)
        req->answer = strdup("{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}");
    p->answered = true;
}

char *lt_wbatch_error_text(const char *code, const char *message)
{
    json_t *j = json_pack("{s:{s:s, s:s}}", "error", "code", code, "message", message);
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    return s;
}

void lt_wbatch_fail(lt_wbatch *self, int status, const char *code, const char *message)
{
    for (size_t i = 0; i < self->npushes; i++)
        if (!self->pushes[i].answered && !self->pushes[i].requeue)
            lt_wbatch_answer_push(&self->pushes[i], status, lt_wbatch_error_text(code, message),
                                  false);
    self->phase = LT_WB_DONE;
}

lt_ingest_req *lt_wbatch_pop(lt_wbatch *self)
{
    while (self->popped < self->npushes) {
        wpush *p = &self->pushes[self->popped++];
        lt_ingest_req *req = p->req;
        p->req = NULL;
        if (req)
            return req;
    }
    clear_records(self);
    self->npushes = 0;
    self->popped = 0;
    self->nrecs_queued = 0;
    self->conflicts = 0;
    self->early_next = 0;
    self->first_seq = 0;
    self->phase = LT_WB_IDLE;
    return NULL;
}

/* ---- judging (after the read) ------------------------------------------ */

static uint32_t hash_code(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/* The batch's view of a dossier: found or added. NULL when out of memory. */
static wstate *state_of(lt_wbatch *self, const char *code)
{
    size_t mask = self->table_cap - 1;
    for (size_t i = hash_code(code) & mask;; i = (i + 1) & mask) {
        int k = self->table[i];
        if (k < 0) {
            wstate *s = &self->states[self->nstates];
            memset(s, 0, sizeof(*s));
            s->code = code;
            s->last_rec = -1;
            s->last_event = -1;
            self->table[i] = (int)self->nstates++;
            return s;
        }
        if (strcmp(self->states[k].code, code) == 0)
            return &self->states[k];
    }
}

int lt_wbatch_states_reset(lt_wbatch *self)
{
    size_t want = 16;
    while (want < 2 * self->nrecs + 2)
        want *= 2;
    if (want > self->table_cap) {
        int *t = realloc(self->table, want * sizeof(*t));
        if (!t)
            return -1;
        self->table = t;
        self->table_cap = want;
    }
    if (self->nrecs + 1 > self->states_cap) {
        wstate *s = realloc(self->states, (self->nrecs + 1) * sizeof(*s));
        if (!s)
            return -1;
        self->states = s;
        self->states_cap = self->nrecs + 1;
    }
    for (size_t i = 0; i < self->table_cap; i++)
        self->table[i] = -1;
    self->nstates = 0;
    self->nevents = 0;
    return 0;
}

static json_t *rule_rejection(const char *mahoso, int code, const char *field, const char *expected,
                              const char *got, const char *message)
{
    json_t *res = json_pack("{s:s, s:s, s:i, s:s, s:s, s:s, s:[{s:s, s:s, s:s, s:s}]}", "MaHoSo",
                            mahoso, "result", "rejected", "code", code, "field", field, "path",
                            field, "message", message, "errors", "field", field, "path", field,
                            "expected", expected, "got", got);
    return res;
}

/* The catalog's implementing levels (CAPTHUCHIEN: 0 ministry, 1 province,
 * 2 district, 3 commune) as bits. */
#define LEVEL_DISTRICT 2
#define LEVEL_COMMUNE  3

/* Whether the two-tier model (commune -> province, since 2025-07-01)
 * applies to this record: configured, or auto with no district in the
 * unit tree (DESIGN.md, Routing). */
static bool two_tier(int model, const wread *row)
{
    return model == LT_ROUTING_2TIER || (model == LT_ROUTING_AUTO && !row->districts);
}

/* The competent unit: walking up from the receiving unit, the first unit
 * whose level implements the procedure (DESIGN.md, Units of a dossier).
 * In the two-tier model there is no district to walk to: a procedure the
 * catalog still lists at district level is the commune's. The 2025 reform
 * gave most district-level tasks to the communes (and the catalog's new
 * records say 0/1/3), so a record received at a commune stays there rather
 * than going up to the province; a procedure the province took over is
 * republished at level 1 and goes up as such. */
static void competent_of(int model, const wread *row, const char *receiving, char *ret, size_t cap)
{
    ret[0] = '\0';
    size_t k = 0;
    while (k < row->chain_n && strcmp(row->chain[k], receiving) != 0)
        k++;
    if (k == row->chain_n)
        return;
    if (row->levels == 0) {
        snprintf(ret, cap, "%s", receiving);
        return;
    }
    unsigned levels = row->levels;
    if (two_tier(model, row) && (levels & (1u << LEVEL_DISTRICT)))
        levels |= 1u << LEVEL_COMMUNE;
    for (; k < row->chain_n; k++)
        if (row->chain_level[k] >= 0 && (levels & (1u << row->chain_level[k]))) {
            snprintf(ret, cap, "%s", row->chain[k]);
            return;
        }
}

static bool in_chain(const wread *row, const char *unit)
{
    for (size_t k = 0; k < row->chain_n; k++)
        if (strcmp(row->chain[k], unit) == 0)
            return true;
    return false;
}

/* Unit scope (DESIGN.md, Units of a dossier): checked before any rule of
 * the record, so a foreign dossier is 403 even when it is also invalid. */
static json_t *scope_refusal(const wpush *p, const wrec *r, const wread *row)
{
    if (p->who.role != LT_ROLE_WARD && p->who.role != LT_ROLE_PARENT)
        return NULL;
    if (!row || !row->owner[0])
        return NULL; /* an unknown agency is a rule (422), not a scope question */
    if (p->who.role == LT_ROLE_WARD && strcmp(row->owner, p->who.unit) == 0)
        return NULL;
    if (p->who.role == LT_ROLE_PARENT &&
        (in_chain(row, p->who.unit) || (row->stored && strcmp(row->comp, p->who.unit) == 0)))
        return NULL;
    char msg[300], got[120];
    snprintf(msg, sizeof(msg),
             "field MaHoSo: a %s token of unit %s may not write dossier %s: its agency id "
             "belongs to unit %s",
             lt_auth_role_name(p->who.role), p->who.unit, r->mahoso, row->owner);
    snprintf(got, sizeof(got), "\"%.100s\"", r->agency);
    return rule_rejection(r->mahoso, 403, "MaHoSo",
                          p->who.role == LT_ROLE_WARD ? "a code under the token unit's agency id"
                                                      : "a code of the token unit's subtree",
                          got, msg);
}

static json_t *database_rule(const wrec *r, const wread *row)
{
    char msg[300], got[120];
    if (!row->owner[0]) {
        snprintf(msg, sizeof(msg),
                 "field MaHoSo: agency id \"%.80s\" is not a known unit or alias "
                 "(lienthong units import)",
                 r->agency);
        snprintf(got, sizeof(got), "\"%.100s\"", r->mahoso);
        return rule_rejection(r->mahoso, 422, "MaHoSo",
                              "a code whose agency id belongs to a known unit", got, msg);
    }
    const char *proc = json_string_value(json_object_get(r->canon, "MaTTHC"));
    snprintf(got, sizeof(got), "\"%.100s\"", proc ? proc : "");
    if (row->proc_state == 0) {
        snprintf(msg, sizeof(msg),
                 "field MaTTHC: procedure %.80s is not in the national procedure catalog", proc);
        return rule_rejection(r->mahoso, 422, "MaTTHC", "a procedure code in the catalog", got,
                              msg);
    }
    if (row->proc_state == 2) {
        snprintf(msg, sizeof(msg),
                 "field MaTTHC: procedure %.80s is abolished or not published in the catalog",
                 proc);
        return rule_rejection(r->mahoso, 422, "MaTTHC", "a published procedure", got, msg);
    }
    return NULL;
}

static int judge_record(lt_wbatch *self, size_t ri)
{
    wrec *r = &self->recs[ri];
    const wpush *p = &self->pushes[r->push];
    const wread *row = r->read_row >= 0 ? &self->rows[r->read_row] : NULL;
    json_t *refusal = scope_refusal(p, r, row);
    if (refusal) {
        r->result = refusal;
        r->code = 403;
        return 0;
    }
    if (r->model_bad) {
        r->result = json_deep_copy(r->model);
        r->code = 422;
        return r->result ? 0 : -1;
    }
    if (!row)
        return -1;
    if ((refusal = database_rule(r, row))) {
        r->result = refusal;
        r->code = 422;
        return 0;
    }

    wstate *s = state_of(self, r->mahoso);
    if (!s->seen) {
        s->seen = true;
        s->stored = row->stored;
        if (row->stored) {
            s->st.status = row->status;
            snprintf(s->st.recency.latest, sizeof(s->st.recency.latest), "%s", row->recency);
            s->st.recency.history_len = row->history_len;
            snprintf(s->hash, sizeof(s->hash), "%s", row->hash);
            s->seq = row->last_seq;
            s->expect = row->last_seq;
            snprintf(s->recv, sizeof(s->recv), "%s", row->recv);
        }
    }
    lt_status_judgement j;
    lt_status_stored *st = NULL;
    if (s->stored) {
        s->st.same_content = strcmp(s->hash, r->hash) == 0;
        st = &s->st;
    }
    if (lt_status_judge_stored(st, r->canon, &j) < 0) {
        r->result = rule_rejection(r->mahoso, 422, "TrangThaiHoSo", "a status code", "?", j.reason);
        r->code = 422;
        return r->result ? 0 : -1;
    }
    const char *word = lt_status_verdict_name(j.verdict);
    switch (j.verdict) {
    case LT_JUDGE_DUPLICATE:
    case LT_JUDGE_STALE:
        r->result = json_pack("{s:s, s:s}", "MaHoSo", r->mahoso, "result", word);
        r->code = 200;
        r->seq = s->seq;
        r->ref_event = s->last_event;
        break;
    case LT_JUDGE_ILLEGAL: {
        char msg[300];
        snprintf(msg, sizeof(msg), "field TrangThaiHoSo: %s", j.reason);
        r->result = rule_rejection(r->mahoso, 409, "TrangThaiHoSo",
                                   "a legal move from the stored status", "", msg);
        if (r->result) {
            char got[8];
            snprintf(got, sizeof(got), "\"%d\"", j.to);
            json_object_set_new(json_array_get(json_object_get(r->result, "errors"), 0), "got",
                                json_string(got));
            json_object_set_new(r->result, "from", json_sprintf("%d", j.from));
            json_object_set_new(r->result, "to", json_sprintf("%d", j.to));
        }
        r->code = 409;
        break;
    }
    case LT_JUDGE_ACCEPT:
        if (!s->stored) {
            s->stored = true;
            /* The receiving unit: the sender's when the dossier first
             * arrives; without a unit-scoped sender, the code's owner. */
            const char *recv = p->who.unit[0] ? p->who.unit : row->owner;
            snprintf(s->recv, sizeof(s->recv), "%s", recv);
        }
        snprintf(r->recv, sizeof(r->recv), "%s", s->recv);
        competent_of(self->routing_model, row, s->recv, r->comp, sizeof(r->comp));
        s->st.status = r->status;
        s->st.recency = r->recency;
        snprintf(s->hash, sizeof(s->hash), "%s", r->hash);
        r->event = (int)self->nevents;
        self->events[self->nevents++] = (int)ri;
        s->last_event = r->event;
        s->last_rec = (int)ri;
        r->result = json_pack("{s:s, s:s}", "MaHoSo", r->mahoso, "result", word);
        r->code = 200;
        break;
    }
    return r->result ? 0 : -1;
}

lt_wbatch_phase lt_wbatch_judge(lt_wbatch *self)
{
    if (lt_wbatch_states_reset(self) < 0)
        goto oom;
    /* In arrival order, push by push: records prepared early sit before
     * those prepared after the credential check, whatever their order. */
    for (size_t pi = 0; pi < self->npushes; pi++) {
        const wpush *p = &self->pushes[pi];
        if (p->answered || !p->prepared)
            continue;
        for (size_t i = p->first; i < p->first + p->n; i++) {
            wrec *r = &self->recs[i];
            /* A conflict sends the batch back here: judge afresh. */
            json_decref(r->result);
            r->result = NULL;
            r->code = 0;
            r->event = r->ref_event = -1;
            r->seq = 0;
            if (judge_record(self, i) < 0)
                goto oom;
        }
    }
    self->phase = LT_WB_APPLY;
    return self->phase;
oom:
    lt_wbatch_fail(self, 500, "internal", "out of memory");
    return self->phase;
}

/* ---- after the write ---------------------------------------------------- */

static void count(lt_wbatch *self, const wrec *r)
{
    const char *word = json_string_value(json_object_get(r->result, "result"));
    lt_stats_record_word(word);
    if (!word || strcmp(word, "rejected") == 0)
        self->stats.rejected++;
    else if (strcmp(word, "accepted") == 0)
        self->stats.accepted++;
    else if (strcmp(word, "duplicate") == 0)
        self->stats.duplicate++;
    else
        self->stats.stale++;
}

void lt_wbatch_answer_all(lt_wbatch *self, long long first_seq)
{
    self->first_seq = first_seq;
    for (size_t i = 0; i < self->npushes; i++) {
        wpush *p = &self->pushes[i];
        if (p->answered || p->requeue)
            continue;
        if (p->malformed) {
            const lt_dossier_error *e = &p->req->malformed;
            int status = lt_dossier_rc_status(e->rc);
            lt_wbatch_answer_push(
                p, status, lt_wbatch_error_text(lt_dossier_rc_code(e->rc), e->message), false);
            continue;
        }
        json_t *results = json_array();
        int status = 200;
        for (size_t k = p->first; results && k < p->first + p->n; k++) {
            wrec *r = &self->recs[k];
            long long seq = r->event >= 0       ? first_seq + r->event
                            : r->ref_event >= 0 ? first_seq + r->ref_event
                                                : r->seq;
            if (seq > 0)
                json_object_set_new(r->result, "sequence", json_integer(seq));
            count(self, r);
            json_array_append(results, r->result);
            if (p->req->single)
                status = r->code;
        }
        json_t *body = json_pack("{s:o}", "results", results);
        if (body && p->req->single && status != 200) {
            const json_t *r0 = json_array_get(results, 0);
            json_object_set_new(body, "error",
                                json_pack("{s:s, s:s, s:O?}", "code",
                                          status == 403   ? "forbidden"
                                          : status == 409 ? "illegal_transition"
                                                          : "invalid",
                                          "message",
                                          json_string_value(json_object_get(r0, "message")),
                                          "field", json_object_get(r0, "field")));
        }
        lt_wbatch_answer_push(p, status, body ? json_dumps(body, JSON_COMPACT) : NULL, false);
        json_decref(body);
    }
    self->phase = LT_WB_DONE;
}

lt_bus_local *lt_wbatch_take_public(lt_wbatch *self)
{
    if (self->phase != LT_WB_DONE || self->first_seq <= 0 || self->nevents == 0)
        return NULL;
    lt_bus_local *b = lt_bus_local_new(self->first_seq, self->nevents);
    for (size_t e = 0; b && e < self->nevents; e++) {
        wrec *r = &self->recs[self->events[e]];
        char topic[160];
        snprintf(topic, sizeof(topic), "dossier.%s.%d", r->recv, r->status);
        /* The tree is not needed any more: strip it in place rather than
         * copy it. */
        lt_bus_strip_personal(r->canon);
        b->topics[e] = strdup(topic);
        b->texts[e] = json_dumps(r->canon, JSON_COMPACT);
        if (!b->topics[e] || !b->texts[e])
            lt_bus_local_free(&b);
    }
    return b;
}

lt_wbatch_phase lt_wbatch_conflict(lt_wbatch *self)
{
    self->stats.conflicts++;
    if (++self->conflicts > MAX_CONFLICT_RETRIES) {
        lt_wbatch_fail(self, 503, "busy",
                       "the dossiers kept changing under concurrent writers; try again");
        return self->phase;
    }
    self->phase = LT_WB_READ;
    return self->phase;
}

void lt_wbatch_split(lt_wbatch *self)
{
    for (size_t i = 0; i < self->npushes; i++) {
        wpush *p = &self->pushes[i];
        if (p->answered)
            continue;
        p->requeue = true;
        p->req->status = 0;
    }
    self->phase = LT_WB_DONE;
}
