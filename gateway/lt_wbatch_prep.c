/* lt_wbatch_prep: the batch's CPU work before the database (see
 * lt_wbatch.h): each push's records mapped from its sender's dialect,
 * validated, their canonical text and content hash computed, their dossier
 * code split into agency id and date. It runs either early, while the
 * previous batch is in PostgreSQL, with the dialect the last credential
 * lookup gave the token (the cache below), or after this batch's own
 * lookup; a wrong guess is prepared again. */
#include "lt_wbatch_int.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lt_log.h"
#include "lt_mapping.h"
#include "lt_status.h"
#include "lt_zap.h"

/* ---- the dialect cache ------------------------------------------------- */

#define CACHE_SLOTS 512 /* direct-mapped by token prefix; a collision only costs a guess */

typedef struct {
    char prefix[LT_TOKEN_PREFIX_LEN + 1]; /* "" = empty slot */
    char dialect[LT_AUTH_MAX_DIALECT];
} cache_slot;

struct lt_wbatch_dialect_cache {
    cache_slot slots[CACHE_SLOTS];
};

lt_wbatch_dialect_cache *lt_wbatch_dialect_cache_new(void)
{
    return calloc(1, sizeof(lt_wbatch_dialect_cache));
}

void lt_wbatch_dialect_cache_destroy(lt_wbatch_dialect_cache **self_p)
{
    if (!self_p)
        return;
    free(*self_p);
    *self_p = NULL;
}

static cache_slot *cache_slot_of(lt_wbatch_dialect_cache *c, const char *token,
                                 char prefix[LT_TOKEN_PREFIX_LEN + 1])
{
    if (!c || lt_token_prefix(token, prefix) < 0)
        return NULL;
    return &c->slots[strtoul(prefix + LT_TOKEN_PREFIX_LEN - 4, NULL, 16) % CACHE_SLOTS];
}

static const char *cache_get(lt_wbatch_dialect_cache *c, const char *token)
{
    char prefix[LT_TOKEN_PREFIX_LEN + 1];
    cache_slot *slot = cache_slot_of(c, token, prefix);
    return slot && strcmp(slot->prefix, prefix) == 0 ? slot->dialect : NULL;
}

static void cache_put(lt_wbatch_dialect_cache *c, const char *token, const char *dialect)
{
    char prefix[LT_TOKEN_PREFIX_LEN + 1];
    cache_slot *slot = cache_slot_of(c, token, prefix);
    if (!slot)
        return;
    snprintf(slot->prefix, sizeof(slot->prefix), "%s", prefix);
    snprintf(slot->dialect, sizeof(slot->dialect), "%s", dialect);
}

/* "" for the canonical form, whatever the unit table calls it. */
static const char *dialect_key(const char *name)
{
    return !name || strcmp(name, "canonical") == 0 ? "" : name;
}

/* ---- preparing records (no database) ---------------------------------- */

static int grow_records(lt_wbatch *self, size_t need)
{
    if (need <= self->recs_cap)
        return 0;
    size_t cap = self->recs_cap ? self->recs_cap : 256;
    while (cap < need)
        cap *= 2;
    wrec *r = realloc(self->recs, cap * sizeof(*r));
    int *ev = realloc(self->events, cap * sizeof(*ev));
    if (r)
        self->recs = r;
    if (ev)
        self->events = ev;
    if (!r || !ev)
        return -1;
    self->recs_cap = cap;
    return 0;
}

/* Whether y-m-d is a date of the Gregorian calendar: the read query casts
 * it to date, and one impossible date must not fail a whole batch. */
static bool real_date(int y, int m, int d)
{
    static const int days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1900 || m < 1 || m > 12 || d < 1 || d > days[m - 1])
        return false;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m != 2 || d <= 28 || leap;
}

/* The agency id and the date of a dossier code, {agency}-{yyMMdd|yyyyMMdd}-{n}
 * (DOMAIN.md, Codes): the agency is everything before the second-to-last
 * hyphen, so hyphens inside it do not matter. */
static void split_code(const char *code, char *agency, size_t acap, char day[11])
{
    agency[0] = day[0] = '\0';
    const char *last = strrchr(code, '-');
    if (!last || last == code)
        return;
    const char *mid = last - 1;
    while (mid > code && *mid != '-')
        mid--;
    if (*mid != '-')
        return;
    size_t alen = (size_t)(mid - code);
    if (alen == 0 || alen >= acap)
        return;
    memcpy(agency, code, alen);
    agency[alen] = '\0';
    size_t dlen = (size_t)(last - mid - 1);
    const char *d = mid + 1;
    if ((dlen != 6 && dlen != 8) || strspn(d, "0123456789") < dlen)
        return;
    int y, m, dd;
    if (dlen == 6)
        y = 2000 + (d[0] - '0') * 10 + (d[1] - '0');
    else
        y = (int)strtol((char[5]){d[0], d[1], d[2], d[3], 0}, NULL, 10);
    const char *md = d + dlen - 4;
    m = (md[0] - '0') * 10 + (md[1] - '0');
    dd = (md[2] - '0') * 10 + (md[3] - '0');
    char tmp[32];
    if (real_date(y, m, dd) && snprintf(tmp, sizeof(tmp), "%04d-%02d-%02d", y, m, dd) == 10)
        memcpy(day, tmp, 11);
}

/* Maps and validates one record of push pi; fills its slot. */
static int prepare_record(lt_wbatch *self, size_t pi, const json_t *orig, const lt_dialect *d)
{
    wrec *r = &self->recs[self->nrecs++];
    memset(r, 0, sizeof(*r));
    r->push = pi;
    r->orig = orig;
    r->event = -1;
    r->ref_event = -1;
    r->read_row = -1;
    if (d && json_is_object(orig)) {
        lt_map_errors m;
        r->canon = lt_dialect_to_canonical(d, orig, &m);
        if (!r->canon) {
            if (m.count == 0)
                return -1;
            r->model = lt_map_rejection(&m);
            r->model_bad = true;
            return r->model ? 0 : -1;
        }
    } else {
        r->canon = json_incref((json_t *)orig);
    }
    lt_verrors_clear(self->errs);
    int v = lt_dossier_validate(r->canon, self->errs);
    if (v < 0)
        return -1;
    r->mahoso = lt_dossier_code(r->canon);
    if (v > 0) {
        r->model = lt_dossier_rejection(r->canon, self->errs);
        r->model_bad = true;
        if (!r->model)
            return -1;
    } else {
        r->status = lt_status_parse(json_object_get(r->canon, "TrangThaiHoSo"));
        r->text = lt_status_canonical(r->canon);
        if (!r->text)
            return -1;
        unsigned char h[crypto_hash_sha256_BYTES];
        crypto_hash_sha256(h, (const unsigned char *)r->text, strlen(r->text));
        sodium_bin2hex(r->hash, sizeof(r->hash), h, sizeof(h));
        lt_status_recency_of(r->canon, &r->recency);
    }
    if (r->mahoso[0])
        split_code(r->mahoso, r->agency, sizeof(r->agency), r->day);
    return 0;
}

static void kill_records(lt_wbatch *self, wpush *p)
{
    if (!p->prepared)
        return;
    for (size_t k = p->first; k < p->first + p->n; k++)
        self->recs[k].dead = true;
    p->prepared = false;
}

/* Maps and validates the records of push i from dialect (a name; ""
 * canonical). Returns 0, 1 when the dialect is not installed (nothing
 * done), -1 when out of memory. */
static int prepare_push(lt_wbatch *self, size_t i, const char *dialect)
{
    wpush *p = &self->pushes[i];
    const lt_dialect *d = NULL;
    if (dialect[0]) {
        d = self->dialects ? lt_dialects_find(self->dialects, dialect) : NULL;
        if (!d)
            return 1;
    }
    if (grow_records(self, self->nrecs + lt_wbatch_push_records(p->req)) < 0)
        return -1;
    p->first = self->nrecs;
    size_t k;
    const json_t *orig;
    json_array_foreach(p->req->records, k, orig)
    {
        if (prepare_record(self, i, orig, d) < 0)
            return -1;
    }
    p->n = self->nrecs - p->first;
    p->prepared = true;
    snprintf(p->prep_dialect, sizeof(p->prep_dialect), "%s", dialect);
    return 0;
}

void lt_wbatch_prepare_early(lt_wbatch *self)
{
    if (self->phase != LT_WB_IDLE)
        return;
    for (; self->early_next < self->npushes; self->early_next++) {
        wpush *p = &self->pushes[self->early_next];
        const lt_ingest_req *req = p->req;
        if (!req->records || p->prepared)
            continue;
        const char *guess = NULL;
        if (req->channel == LT_CHANNEL_CLI)
            guess = req->act_dialect;
        else if (req->token[0])
            guess = cache_get(self->cache, req->token);
        else if (!self->auth_required)
            guess = "";
        /* Out of memory here is not an error yet: lt_wbatch_start tries
         * again and answers it. */
        if (guess && prepare_push(self, self->early_next, dialect_key(guess)) < 0)
            return;
    }
}

/* Once the principals are known: every push that may write has its records
 * prepared (early, when the guess was right, or now); the rest are
 * answered. */
static lt_wbatch_phase prepare(lt_wbatch *self)
{
    for (size_t i = 0; i < self->npushes; i++) {
        wpush *p = &self->pushes[i];
        if (p->answered) {
            kill_records(self, p);
            continue;
        }
        if (!lt_auth_may_write(p->who.role)) {
            char msg[160];
            snprintf(msg, sizeof(msg),
                     "a %s token may not push dossiers; ward and parent tokens may",
                     lt_auth_role_name(p->who.role));
            lt_wbatch_answer_push(p, 403, lt_wbatch_error_text("forbidden", msg), false);
            kill_records(self, p);
            continue;
        }
        /* CURVE and a token both name the sender: they must agree, or a
         * stolen token would work from any unit's keyed connection. */
        if (p->req->curve_unit[0] && p->req->token[0] &&
            strcmp(p->req->curve_unit, p->who.unit) != 0) {
            char msg[200];
            snprintf(msg, sizeof(msg),
                     "the token's unit (%.64s) is not the unit of this connection's CURVE key "
                     "(%.64s)",
                     p->who.unit[0] ? p->who.unit : "none", p->req->curve_unit);
            lt_wbatch_answer_push(p, 403, lt_wbatch_error_text("forbidden", msg), false);
            kill_records(self, p);
            continue;
        }
        if (!p->req->records) {
            p->malformed = true; /* kept as a reject, answered 400 after the write */
            continue;
        }
        const char *want = dialect_key(p->who.dialect);
        if (p->prepared && strcmp(p->prep_dialect, want) == 0)
            continue;
        kill_records(self, p);
        int rc = prepare_push(self, i, want);
        if (rc < 0)
            goto oom;
        if (rc > 0) {
            char msg[200];
            snprintf(msg, sizeof(msg),
                     "the sender's dialect \"%.60s\" is not installed on this gateway; "
                     "ask its operator",
                     want);
            LT_ERROR("unit %s uses dialect %s, which is not installed", p->who.unit, want);
            lt_wbatch_answer_push(p, 500, lt_wbatch_error_text("internal", msg), false);
        }
    }
    return lt_wbatch_after_prepare(self);
oom:
    lt_wbatch_fail(self, 500, "internal", "out of memory");
    return self->phase;
}

lt_wbatch_phase lt_wbatch_start(lt_wbatch *self)
{
    self->stats.transactions++;
    bool tokens = false;
    for (size_t i = 0; i < self->npushes; i++) {
        wpush *p = &self->pushes[i];
        lt_ingest_req *req = p->req;
        memset(&p->who, 0, sizeof(p->who));
        if (req->channel == LT_CHANNEL_CLI) {
            /* An operator's resubmission acts for the original sender. */
            snprintf(p->who.unit, sizeof(p->who.unit), "%s", req->act_for_unit);
            snprintf(p->who.dialect, sizeof(p->who.dialect), "%s", req->act_dialect);
            p->resubmit = true;
        } else if (req->token[0] || req->curve_key[0]) {
            tokens = true; /* a CURVE key alone is a credential too (lt_ingress.c) */
        } else if (self->auth_required) {
            char *t = lt_auth_refusal_text(LT_AUTH_MISSING);
            lt_wbatch_answer_push(p, 401, t, true);
        }
    }
    if (tokens) {
        self->phase = LT_WB_AUTH;
        return self->phase;
    }
    return prepare(self);
}

lt_wbatch_phase lt_wbatch_auth_result(lt_wbatch *self, const PGresult *rows)
{
    for (size_t i = 0; i < self->npushes; i++) {
        wpush *p = &self->pushes[i];
        if (p->answered || p->resubmit)
            continue;
        if (!p->req->token[0]) {
            /* [JSON] on a CURVE connection: the key's ward or parent. No row:
             * keygen replaced the key after this message left the front. */
            if (p->req->curve_key[0] && lt_zap_principal(p->req->curve_key, rows, &p->who) < 0)
                lt_wbatch_answer_push(
                    p, 401,
                    lt_wbatch_error_text("unauthorized",
                                         "the CURVE key of this connection was replaced "
                                         "(lienthong keygen); reconnect with the unit's new key"),
                    false);
            continue;
        }
        lt_auth_rc rc = lt_auth_match(p->req->token, rows, &p->who);
        if (rc != LT_AUTH_OK)
            lt_wbatch_answer_push(p, 401, lt_auth_refusal_text(rc), true);
        else
            cache_put(self->cache, p->req->token, p->who.dialect);
    }
    return prepare(self);
}
