/* lt_portal: the client of the national dossier-sync protocol that delivers
 * records to the provincial portal (DOMAIN.md "Upstream protocols seen",
 * DESIGN.md "Contract: outbound calls"): log in for a session, send records
 * with DongBoHoSoMC (isUpdating "False" the first time, "True" after, and
 * "True" again when the portal says the record exists), optionally their
 * history with CapNhatTienDoHoSoMC, and judge each answer by its error_code
 * compared as text. It decides what an answer means for each record
 * (delivered, retry later, dead letter); what to send next, when to retry
 * and where outcomes are stored belong to the delivery actor that calls it.
 * Runs on the caller's lt_loop through its lt_curlm; not thread-safe. */
#ifndef LT_PORTAL_H
#define LT_PORTAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lt_config.h"
#include "lt_curlm.h"
#include "lt_loop.h"
#include "lt_mapping.h"

typedef struct lt_portal lt_portal;

/* One record to deliver. Borrowed for the duration of lt_portal_send only:
 * the portal keeps what it needs. */
typedef struct lt_portal_item {
    int64_t event_seq;        /* the event's global sequence: its idempotency id */
    const char *dossier_code; /* MaHoSo */
    const char *record;       /* canonical record, JSON text */
    bool known;               /* an earlier event of this dossier reached the portal: "True" */
} lt_portal_item;

typedef enum {
    LT_PORTAL_DELIVERED, /* the portal took it */
    LT_PORTAL_RETRY,     /* 408, 429, 5xx, transport, expired twice: send again later */
    LT_PORTAL_DEAD,      /* a rejection (or an unmappable record): dead letter, answer kept */
    LT_PORTAL_SKIPPED,   /* the dialect's filter says this portal does not take it; not sent */
} lt_portal_verdict;

/* The outcome of one item. Borrowed by the done callback: copy what you keep
 * (answer is freed when the callback returns). */
typedef struct lt_portal_result {
    lt_portal_verdict verdict;
    int http_status;     /* of the call that decided; 0 for a transport error or no call */
    char error_code[16]; /* the portal's error_code as text, "" when none */
    char *answer;        /* the portal's answer body (bounded), or NULL */
    char message[256];   /* one sentence for operators, no personal data */
} lt_portal_result;

typedef void(lt_portal_done_fn)(const lt_portal_result *results, size_t n, void *arg);

/* Creates a client for cfg->portal (URLs, credentials, codes, batch size;
 * copied) mapping records with d. loop, curl and d are borrowed and must
 * outlive it; loop and curl may be NULL for a client used only by the pure
 * functions below (tests). NULL when out of memory or portal.url is empty. */
lt_portal *lt_portal_new(lt_loop *loop, lt_curlm *curl, const lt_config *cfg, const lt_dialect *d)
    __attribute__((warn_unused_result));

/* Cancels a send in flight (its callback is not called); accepts NULL. The
 * lt_curlm's other requests are cancelled too (lt_curlm_cancel_all): give
 * the portal its own lt_curlm. */
void lt_portal_destroy(lt_portal **self_p);

/* Sends up to portal.batch_size items (n > batch size is refused with -1):
 * the new ones as one DongBoHoSoMC call with isUpdating "False", the known
 * ones as another with "True", each with one Idempotency-Key (see
 * lt_portal_key). Logs in first when there is no session, and again once
 * when the portal says the session expired; resends the call as an update
 * once when the portal says a record exists. Then calls done(results, n,
 * arg) from the loop with one result per item, in order; never from inside
 * this call. One send at a time: -1 while one is in flight, or when out of
 * memory. done may call lt_portal_send again but not destroy the portal. */
int lt_portal_send(lt_portal *self, const lt_portal_item *items, size_t n, lt_portal_done_fn *done,
                   void *arg) __attribute__((warn_unused_result));

/* True while a send is in flight. */
bool lt_portal_busy(const lt_portal *self);

/* ---- the pieces, exposed for the unit test ------------------------------ */

/* What one answer means. */
typedef enum {
    LT_PORTAL_ANS_OK,       /* a success code */
    LT_PORTAL_ANS_EXPIRED,  /* the session expired: log in again */
    LT_PORTAL_ANS_EXISTS,   /* the record exists: resend as an update */
    LT_PORTAL_ANS_RETRY,    /* 408, 429, 5xx or no answer */
    LT_PORTAL_ANS_REJECTED, /* anything else: a dead letter */
} lt_portal_answer;

/* Judges one HTTP answer (curl_code != 0: no answer). Fills ret_code with
 * the error_code as text ("" when none) and why with a sentence. */
lt_portal_answer lt_portal_judge(const lt_portal *self, int curl_code, long status,
                                 const char *body, size_t len, char ret_code[16], char *why,
                                 size_t why_cap);

/* The Idempotency-Key of a call carrying these items: "lt-<seq>" for one,
 * "lt-b-<first 32 hex digits of SHA-256 over the sorted seqs>" for more,
 * so a retry of the same batch, in any order, has the same key. */
void lt_portal_key(const lt_portal_item *items, size_t n, char *buf, size_t cap);

/* The record as the portal gets it: canonical JSON text through the
 * dialect, now (yyyyMMddHHmmss) filling "fill_now" rules. NULL with a
 * sentence in why when the text is not a JSON object or does not map. */
json_t *lt_portal_map_record(const lt_portal *self, const char *record, const char *now, char *why,
                             size_t why_cap) __attribute__((warn_unused_result));

/* The body of a sync call: {session, madonvi, service, isUpdating, data}
 * (data stolen). NULL when out of memory. */
json_t *lt_portal_sync_body(const lt_portal *self, const char *session, const char *service,
                            bool updating, json_t *data) __attribute__((warn_unused_result));

#endif
