/* lt_push's parts (lt_push.c and its lt_push_*.c files; the tool is
 * described at the top of lt_push.c). A tool of the tests, not a library:
 * the run's state is one plain struct every part reads, so that the loop,
 * the senders of each transport and the report need no accessors between
 * them. */
#ifndef LT_PUSH_H
#define LT_PUSH_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stdint.h>

#include "lt_dossiergen.h"
#include "lt_toolcurve.h"

#define MAX_SENDERS     1024
#define MAX_BATCH       1000        /* the contract's array limit */
#define MAX_ANSWER      (64u << 20) /* bytes of one answer we read */
#define POOL_MAX        2000000     /* accepted dossiers remembered for --updates */
#define RETRY_PAUSE     200         /* ms before a --retry resend */
#define FAIL_PAUSE      50          /* ms before a sender goes on after a failure */
#define RETRY_AFTER_MAX 2           /* s: we honour Retry-After up to this */

enum { R_ACCEPTED, R_DUPLICATE, R_STALE, R_REJECTED, R_KINDS };
/* The "result" of each kind, as the gateway answers it. */
extern const char *const lt_push_result_names[R_KINDS];

/* ---- options (lt_push_options.c) ------------------------------------------- */

typedef struct opts {
    bool zmq;                /* ZeroMQ ingress instead of HTTP */
    const char *endpoint;    /* base URL or tcp:// endpoint */
    const char *token;       /* bearer token; NULL = none */
    const char *agency;      /* dossier code prefix */
    const char **procedures; /* MaTTHC to choose from (owned; the strings are argv's) */
    size_t n_procedures;     /* how many */
    unsigned senders;        /* concurrent senders */
    unsigned batch;          /* records per request */
    uint64_t count;          /* records to push (updates included); 0 = by time */
    double seconds;          /* how long to push; 0 = by count */
    const char *ack_log;     /* where accepted records are appended */
    uint64_t seed;           /* record content */
    uint64_t run_id;         /* dossier codes */
    double rate;             /* records per second in total; 0 = as fast as answers come */
    unsigned updates;        /* percent of pushes that are a newer status */
    bool retry;              /* resend after 503, 429 and transport errors */
    long timeout_ms;         /* per request */
    double deadline;         /* seconds: hard end of the run */
    bool json;               /* one JSON object as the report */
    bool dry_run;            /* print bodies, send nothing */
    lt_tool_curve curve;     /* --zmq: CURVE client keys; none = plain text */
} opts;

/* Fills o from the command line (o->procedures is then the caller's to
 * free, also on failure). Returns 0, or -1 after saying why on stderr. */
__attribute__((warn_unused_result)) int lt_push_parse_args(int argc, char **argv, opts *o);
/* Prints the usage on stderr; returns the exit code of bad usage, 2. */
int lt_push_usage(void);

/* ---- latency histogram: 32 sub-buckets per power of two (≤ 3 % error) ------- */

#define H_SUB     32
#define H_BUCKETS (2 * H_SUB + 40 * H_SUB)

typedef struct hist {
    uint64_t b[H_BUCKETS]; /* requests per bucket */
    uint64_t n;            /* requests */
    double sum_us;         /* for the mean */
    uint64_t max_us;       /* exact maximum */
} hist;

/* Counts one latency of us microseconds. */
void lt_push_hist_add(hist *h, uint64_t us);

/* ---- the run (lt_push.c) ------------------------------------------------------ */

/* One record of a request: dossier i at step. */
typedef struct item {
    uint64_t i;    /* the dossier's index in the generator */
    unsigned step; /* its status step */
    bool update;   /* a newer status of a dossier already accepted */
} item;

typedef enum { S_IDLE, S_WAIT, S_INFLIGHT, S_DONE } sender_state;

typedef struct sender {
    unsigned idx;        /* 0..senders-1 */
    sender_state state;  /* what it does now */
    int64_t due_ns;      /* S_WAIT: when to send (retry pause, rate) */
    bool resend;         /* S_WAIT: resend the body when due (--retry) */
    int64_t sent_ns;     /* S_INFLIGHT: when the request left */
    item *items;         /* the request's records (batch slots) */
    size_t n_items;      /* how many are used */
    lt_dgen_buf body;    /* the request body */
    lt_dgen_buf answer;  /* what came back */
    bool answer_too_big; /* the answer passed MAX_ANSWER */
    long retry_after;    /* seconds, from a Retry-After header; 0 = none */
    CURL *easy;          /* HTTP */
    void *sock;          /* ZeroMQ DEALER */
} sender;

/* Counters of the whole run. */
typedef struct stats {
    uint64_t results[R_KINDS]; /* records by answer */
    uint64_t requests;         /* attempts sent, retries included */
    uint64_t answered;         /* requests answered with results */
    uint64_t records_sent;     /* records taken into requests (once each) */
    uint64_t updates_sent;     /* of which newer statuses of known dossiers */
    uint64_t unacked;          /* records given up on (no result) */
    uint64_t retries;          /* resends */
    uint64_t transport_errors; /* no HTTP answer / ZeroMQ send failed */
    uint64_t timeouts;         /* of which: no answer within --timeout-ms */
    uint64_t protocol_errors;  /* answers we could not read or match */
    uint64_t http_status[600]; /* HTTP answers by status */
    uint64_t zmq_errors;       /* ZeroMQ answers without results */
    uint64_t ack_lines;        /* lines written to the ack log */
    unsigned shown;            /* rejections printed on stderr */
    hist lat;                  /* acknowledgement latency */
} stats;

typedef struct push {
    opts o;                     /* the command line */
    lt_dgen *gen;               /* the records */
    stats st;                   /* what happened */
    item *pool;                 /* accepted dossiers that have a newer status to send */
    size_t pool_n, pool_cap;    /* used and allocated slots of pool */
    uint64_t rng;               /* choice of updates */
    uint64_t next_new;          /* next new dossier index */
    int64_t t0_ns;              /* start */
    int64_t first_ns;           /* first request sent */
    int64_t last_ns;            /* last answer */
    int64_t stop_ns;            /* no new records after this (--seconds) */
    int64_t deadline_ns;        /* hard end */
    double slot_ns;             /* --rate: when the next record may leave */
    int ack_fd;                 /* -1 = no ack log */
    sender *s;                  /* o.senders of them */
    CURLM *multi;               /* HTTP: one multi for all senders */
    struct curl_slist *headers; /* HTTP: the request headers */
    char *url;                  /* HTTP: where to post */
    void *zctx;                 /* ZeroMQ: the context */
    bool cut_short;             /* the deadline ended the run */
} push;

/* The monotonic clock, in ns. */
int64_t lt_push_now_ns(void);
/* The start of each turn of a transport's loop, at *ret_now: at the
 * deadline whatever is in flight is abandoned and the run is over (1);
 * else the senders that are due send (0). -1 on error. */
__attribute__((warn_unused_result)) int lt_push_turn(push *p, int64_t *ret_now);
/* Whether every sender is done. */
bool lt_push_all_done(const push *p);
/* Milliseconds until the nearest thing to do, at most 100. */
long lt_push_wait_ms(const push *p, int64_t now);
/* s's answer (in s->answer) came: status is the HTTP status, 0 for ZeroMQ. */
void lt_push_on_answer(push *p, sender *s, long status, int64_t now);
/* s's request got no answer (timeout: within --timeout-ms). */
void lt_push_on_transport_error(push *p, sender *s, bool timeout, int64_t now);

/* ---- the senders (lt_push_http.c, lt_push_zmq.c) ------------------------------ */

/* Sends s's body now. Returns 0, or -1 on error. */
__attribute__((warn_unused_result)) int lt_push_http_send(push *p, sender *s, int64_t now);
__attribute__((warn_unused_result)) int lt_push_zmq_send(push *p, sender *s, int64_t now);
/* Runs the whole push over one transport until done or the deadline.
 * Returns 0, or -1 when it could not go on. */
__attribute__((warn_unused_result)) int lt_push_http_run(push *p);
__attribute__((warn_unused_result)) int lt_push_zmq_run(push *p);

/* ---- the ack log and the report (lt_push_report.c) ---------------------------- */

/* Appends text ("MaHoSo sequence" lines) to the ack log in one write, so
 * that a line is never half there; a failed write closes the log. */
void lt_push_ack_write(push *p, const char *text, size_t len);
/* Prints the run's figures on stdout: text, or one JSON object (--json). */
void lt_push_report(const push *p);

#endif
