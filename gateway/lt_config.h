/* lt_config: the gateway's settings, one struct filled once from one table
 * of keys (type, range, default, reloadable). Sources, later ones winning:
 * built-in defaults, a JSON file (nested objects: {"http": {"listen": ...}}),
 * then LIENTHONG_<SECTION>_<KEY> environment variables. The table is also
 * what `lienthong serve -n`, the sample config and the README describe. */
#ifndef LT_CONFIG_H
#define LT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* zmq.curve: auto is on unless every endpoint CURVE protects is local. */
typedef enum {
    LT_ZMQ_CURVE_AUTO = 0,
    LT_ZMQ_CURVE_ON = 1,
    LT_ZMQ_CURVE_OFF = 2,
} lt_zmq_curve;

typedef enum {
    LT_ROUTING_AUTO = 0,
    LT_ROUTING_3TIER = 1,
    LT_ROUTING_2TIER = 2,
} lt_routing_model;

/* Plain data: every string is owned by the struct (freed by lt_config_free),
 * never NULL after a successful load (empty string = unset). Durations are
 * milliseconds, sizes bytes. */
typedef struct lt_config {
    char *data_dir; /* embedded database and state; default ./var */
    struct {
        char *url;                  /* libpq URL; empty = embedded cluster under data_dir */
        int64_t connect_timeout_ms; /* one connection attempt */
        int64_t health_interval_ms; /* how often readiness is probed */
    } database;
    struct {
        char *bin_dir; /* PostgreSQL server binaries for the embedded cluster; empty = detect */
        char *user;    /* OS user the embedded cluster runs as when started by root */
    } postgres;
    struct {
        char *listen;     /* host:port, port 0 = any free port */
        int64_t max_body; /* bytes; larger bodies get 413 */
    } http;
    struct {
        int64_t header_size;        /* bytes of an HTTP connection's pool (request line, headers) */
        int64_t depth;              /* deepest JSON nesting of a pushed body */
        int64_t records;            /* records in one pushed array */
        int64_t zmq_message;        /* bytes of one ZeroMQ ingress message */
        int64_t connections;        /* open HTTP connections */
        int64_t connections_per_ip; /* ... from one client address; 0 = no limit */
        int64_t timeout_ms;         /* an idle HTTP connection is closed after this */
        int64_t request_time_ms;    /* a request must be received whole within this */
        int64_t rate;               /* records/s per sender; 0 = no limit */
        int64_t burst;              /* the bucket's size, in records */
        int64_t queue;              /* pushes a front keeps waiting for the writer */
    } limits;
    struct {
        char *ingress; /* ROUTER for ward systems */
        char *events;  /* PUB of stored events */
        char *replay;  /* ROUTER answering replay requests */
        /* CurveZMQ on ingress and replay: an lt_zmq_curve; see lt_config_zmq_curve */
        int curve;
        char *curve_key; /* the server's secret key file; empty = data_dir/curve/server.key */
    } zmq;
    struct {
        int level; /* an lt_log_level */
    } log;
    struct {
        bool required; /* bearer token on every call that needs one */
    } auth;
    struct {
        char *url, *login_path, *sync_path, *username, *password, *agency;
        int64_t batch_size;  /* records per DongBoHoSoMC call */
        int64_t timeout_ms;  /* one portal call */
        char *success_codes; /* comma-separated error_code values meaning success */
        char *expired_codes; /* ... meaning the session expired: log in again */
        char *exists_codes;  /* ... meaning the record exists: resend as an update */
        char *dialect;       /* outbound dialect name */
        bool progress;       /* also send QuaTrinhXuLy with CapNhatTienDoHoSoMC */
        char *ca_file;       /* PEM bundle; empty = system CA store */
    } portal;
    struct {
        char *tokens;       /* "unit=token,..." bearer tokens for the units' gateways */
        int64_t timeout_ms; /* one call to a unit (parent or ward) */
    } units;
    struct {
        char *url; /* citizen-notification sink; empty = none */
    } webhook;
    struct {
        int64_t inflight;          /* sends in flight at once per destination */
        int64_t retry_first_ms;    /* back-off before the first retry, doubled per retry */
        int64_t retry_max_ms;      /* longest back-off */
        int64_t retry_horizon_ms;  /* a row failing retryably this long becomes a dead letter */
        int64_t circuit_failures;  /* consecutive retryable failures that open the circuit */
        int64_t probe_interval_ms; /* while the circuit is open: one probe this often */
        char *ca_file; /* PEM bundle for the unit, ward and webhook legs; empty = system store */
    } delivery;
    struct {
        char *url;              /* national catalog base URL; empty = file imports only */
        int64_t concurrency;    /* detail calls in flight at once */
        int64_t timeout_ms;     /* one call */
        int64_t retries;        /* retries of a call after a transport error or 5xx */
        int64_t retry_delay_ms; /* first back-off, doubled per retry */
        int64_t interval_ms;    /* periodic sync in serve; 0 = off */
        char *ca_file;          /* PEM bundle; empty = system CA store */
    } catalog;
    struct {
        int model; /* an lt_routing_model */
    } routing;
    struct {
        int64_t max_backlog_age_ms; /* oldest undelivered event older: unhealthy */
        int64_t max_dead_letters;   /* more dead letters at one destination: unhealthy */
        int64_t down_failures;      /* failures in a row, none delivered since: down */
    } status;
    struct {
        char *dir; /* the operator's own dialect files; empty = only the shipped ones */
    } dialects;
    struct {
        char *holidays; /* holiday table (JSON); empty = the shipped holidays/vn.json */
        char *hours;    /* working hours "HH:MM-HH:MM,..." */
    } calendar;
    /* The on-time report's actor (lt_reportd.c). */
    struct {
        int64_t timeout_ms; /* a report's whole time at the gateway; its statement_timeout */
    } report;
    /* Retention (issue 9, lt_retention.c): rejected payloads and audit rows
     * older than days are purged, batch rows at a time, every interval. */
    struct {
        int64_t days;        /* keep this many days; at least 1 */
        int64_t interval_ms; /* time between purge runs; 0 = never */
        int64_t batch;       /* rows per delete statement */
    } retention;
    /* TLS on the HTTP front (issue 9, lt_http_tls.c): both or neither. */
    struct {
        char *cert; /* PEM certificate chain file; empty = plain HTTP */
        char *key;  /* PEM private key file */
    } tls;
} lt_config;

/* Why a load failed: the key in dotted form ("http.max_body") and a sentence
 * saying what was expected and what came. */
typedef struct lt_config_error {
    char key[128];
    char message[512];
} lt_config_error;

/* Fills cfg with the defaults. Returns 0, or -1 when out of memory. */
int lt_config_init_defaults(lt_config *cfg) __attribute__((warn_unused_result));

/* Loads defaults, then the file at path (NULL: ./lienthong.json when it
 * exists, else none; a path given explicitly must exist), then the
 * environment (envp as in main, NULL = environ). On success returns 0 and
 * *cfg holds the result; ret_source (may be NULL) receives the file used or
 * "" (at most source_cap bytes). On failure returns -1, fills err and leaves
 * cfg freed and zeroed. Unknown keys, wrong types and out-of-range values are
 * failures naming the key. */
int lt_config_load(lt_config *cfg, const char *path, char *const *envp, lt_config_error *err,
                   char *ret_source, size_t source_cap) __attribute__((warn_unused_result));

/* Frees every string and zeroes the struct. Safe on a zeroed struct. */
void lt_config_free(lt_config *cfg);

/* Deep copy. Returns 0 or -1 (out of memory, dst zeroed). */
int lt_config_copy(lt_config *dst, const lt_config *src) __attribute__((warn_unused_result));

/* For SIGHUP: copies into cur the reloadable keys of next and writes to
 * changed_restart (may be NULL, at most cap bytes, comma-separated) the
 * non-reloadable keys whose value differs and so need a restart. Returns the
 * number of reloadable keys that changed, or -1 when out of memory. */
int lt_config_apply_reload(lt_config *cur, const lt_config *next, char *changed_restart, size_t cap)
    __attribute__((warn_unused_result));

/* Prints every key with its type, default, reloadability and help, as a
 * Markdown table (the README's table is generated from this). */
void lt_config_print_table(FILE *out);

/* Prints the effective configuration as JSON, secrets shown as "***". */
void lt_config_print_json(const lt_config *cfg, FILE *out);

/* ---- CurveZMQ (zmq.curve, zmq.curve_key) ---- */

/* True when endpoint can only be reached from this machine: tcp:// on a
 * loopback address (127.0.0.0/8, ::1, localhost), ipc:// or inproc://. */
bool lt_config_zmq_local(const char *endpoint);

/* Whether ingress and replay use CURVE: zmq.curve, with auto resolved (on
 * when zmq.ingress or zmq.replay is not local). */
bool lt_config_zmq_curve(const lt_config *cfg);

/* The server's secret key file: zmq.curve_key, or data_dir/curve/server.key
 * when empty. Returns 0, or -1 when it does not fit in cap. */
int lt_config_curve_key_path(const lt_config *cfg, char *buf, size_t cap)
    __attribute__((warn_unused_result));

/* Splits "host:port" or "[v6]:port". Returns 0 with the parts, or -1. */
int lt_config_split_listen(const char *listen, char *ret_host, size_t host_cap, int *ret_port)
    __attribute__((warn_unused_result));

#endif
