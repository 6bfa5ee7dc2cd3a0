/* lt_wbatch_int.h: the batch's insides, shared by lt_wbatch.c (preparing
 * and judging records) and lt_wbatch_sql.c (queries, parameters, results).
 * Not for other modules. */
#ifndef LT_WBATCH_INT_H
#define LT_WBATCH_INT_H

#include "lt_auth.h"
#include "lt_dossier.h"
#include "lt_sbuf.h"
#include "lt_status.h"
#include "lt_wbatch.h"

#define LT_WBATCH_MAX_CHAIN 8 /* units from a dossier's unit up to the root */
#define LT_WBATCH_UNIT      64

/* A push and what became of it. */
typedef struct {
    lt_ingest_req *req; /* owned until popped */
    lt_principal who;   /* the sender, once known */
    bool answered;      /* req has its answer */
    bool malformed;     /* the body did not decode: a reject row, then 400 */
    bool requeue;       /* its write failed in company: to be retried alone */
    bool resubmit;      /* an operator's resubmission (no token, no new reject row) */
    bool prepared;      /* its records are in recs[] (first, n) */
    char prep_dialect[LT_AUTH_MAX_DIALECT]; /* the dialect they were mapped from ("" canonical) */
    size_t first, n;                        /* its records in recs[] */
} wpush;

/* One record of a push. */
typedef struct {
    size_t push;               /* index in pushes[] */
    const json_t *orig;        /* the record as sent, borrowed from the push */
    json_t *canon;             /* canonical record (owned); NULL when mapping failed */
    json_t *model;             /* mapping or validation refusal (owned), or NULL */
    json_t *result;            /* the contract's result object, once judged */
    int code;                  /* 200, or the refusal's HTTP status */
    bool model_bad;            /* model refused it (mapping or validation) */
    bool dead;                 /* prepared for a push then refused or prepared again: ignored */
    const char *mahoso;        /* MaHoSo, borrowed from canon; "" when none */
    char agency[80];           /* agency id of MaHoSo */
    char day[11];              /* date of MaHoSo, YYYY-MM-DD, "" when unreadable */
    int status;                /* TrangThaiHoSo */
    lt_status_recency recency; /* its recency key */
    char *text;                /* canonical text (owned): the stored record */
    char hash[65];             /* SHA-256 of text, hex */
    char recv[LT_WBATCH_UNIT]; /* receiving unit, when accepted */
    char comp[LT_WBATCH_UNIT]; /* competent unit, when accepted ("" unknown) */
    int read_row;              /* its row of the read query, -1 = none */
    int event;                 /* index of its event when accepted, else -1 */
    int ref_event;             /* duplicate/stale of an event of this batch: its index */
    long long seq;             /* duplicate/stale of a stored state: its sequence */
} wrec;

/* What the read query returned for a record. */
typedef struct {
    bool stored;                /* the dossier has a stored state */
    int status;                 /* its status */
    char recency[15];           /* its recency time, yyyyMMddHHmmss or "" */
    size_t history_len;         /* its recency tie-breaker */
    char hash[65];              /* its content hash, hex */
    long long last_seq;         /* its current event */
    char recv[LT_WBATCH_UNIT];  /* stored receiving unit */
    char comp[LT_WBATCH_UNIT];  /* stored competent unit, "" when none */
    int proc_state;             /* 0 unknown procedure, 1 published, 2 not published */
    unsigned levels;            /* bit n: the procedure is implemented at level n */
    char owner[LT_WBATCH_UNIT]; /* unit owning the agency id, "" when none */
    char chain[LT_WBATCH_MAX_CHAIN][LT_WBATCH_UNIT]; /* owner, its parent, ... */
    int chain_level[LT_WBATCH_MAX_CHAIN];
    size_t chain_n;
    bool districts; /* the unit tree has a district (routing.model auto) */
} wread;

/* The batch's view of one dossier while judging. */
typedef struct {
    const char *code;    /* borrowed from a record */
    bool seen;           /* initialised from the read */
    bool stored;         /* has a state (stored, or set by this batch) */
    lt_status_stored st; /* status and recency of that state */
    char hash[65];       /* its content hash */
    long long seq;       /* stored sequence */
    long long expect;    /* stored last_seq at read time (0 = new): the CAS value */
    char recv[LT_WBATCH_UNIT];
    int last_event; /* latest event of this batch for it, -1 */
    int last_rec;   /* the record of that event, -1 */
} wstate;

struct lt_wbatch {
    bool auth_required;
    int routing_model;              /* an lt_routing_model (config routing.model) */
    lt_wbatch_dialect_cache *cache; /* borrowed; may be NULL */
    const lt_dialects *dialects;
    lt_wbatch_phase phase;
    wpush *pushes;
    size_t npushes, pushes_cap, popped, nrecs_queued;
    wrec *recs;
    size_t nrecs, recs_cap;
    int *events; /* record index of each event, in order */
    size_t nevents;
    wread *rows; /* read query rows, by read_row */
    size_t nrows, rows_cap;
    wstate *states;
    size_t nstates, states_cap;
    int *table; /* open addressing over states by code; -1 = empty */
    size_t table_cap;
    int conflicts;
    size_t early_next;   /* pushes before this one had their early preparation tried */
    long long first_seq; /* sequence of the first event, once committed */
    lt_verrors *errs;
    lt_sbuf p1, p2, p3, p4; /* query parameters */
    const char *params[4];
    lt_wbatch_stats stats;
};

lt_wbatch_phase lt_wbatch_after_prepare(lt_wbatch *self);
void lt_wbatch_answer_push(wpush *p, int status, char *text, bool challenge);
char *lt_wbatch_error_text(const char *code, const char *message)
    __attribute__((warn_unused_result));
size_t lt_wbatch_push_records(const lt_ingest_req *req);
lt_wbatch_phase lt_wbatch_auth_result(lt_wbatch *self, const PGresult *rows);
lt_wbatch_phase lt_wbatch_judge(lt_wbatch *self);
int lt_wbatch_states_reset(lt_wbatch *self);
void lt_wbatch_answer_all(lt_wbatch *self, long long first_seq);
lt_wbatch_phase lt_wbatch_conflict(lt_wbatch *self);
void lt_wbatch_split(lt_wbatch *self);

#endif
