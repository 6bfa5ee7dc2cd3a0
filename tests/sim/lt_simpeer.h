/* lt_simpeer: the systems delivery talks to, simulated for tests and
 * benchmarks (see tests/sim/README.md). This header is shared by the
 * simulator's own files only: the program (lt_simpeer.c: options, HTTP,
 * faults, control), what it remembers (lt_simpeer_store.c), how each role
 * answers (lt_simpeer_roles.c) and a string map (lt_simpeer_map.c). */
#ifndef LT_SIMPEER_H
#define LT_SIMPEER_H

#include <jansson.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LT_SIMPEER_MUST __attribute__((warn_unused_result))

typedef enum {
    LT_SIMPEER_PORTAL,  /* the national dossier-sync protocol */
    LT_SIMPEER_PARENT,  /* a district office: our own POST /v1/dossiers */
    LT_SIMPEER_WARD,    /* a ward's callback receiver */
    LT_SIMPEER_WEBHOOK, /* a notification webhook */
} lt_simpeer_role;

/* ---- a string-keyed hash map (open addressing, no removal) ---------------- */

typedef struct lt_simpeer_map lt_simpeer_map;

/* free_value (may be NULL) frees a value the map replaces or drops. */
int lt_simpeer_map_create(void (*free_value)(void *), lt_simpeer_map **ret_map) LT_SIMPEER_MUST;
void lt_simpeer_map_destroy(lt_simpeer_map **map_p);
/* The value stored under key, or NULL. */
void *lt_simpeer_map_get(const lt_simpeer_map *map, const char *key);
/* Stores value under key (copied), freeing the value it replaces; -1 when
 * out of memory (the map is unchanged and value is not taken). */
int lt_simpeer_map_put(lt_simpeer_map *map, const char *key, void *value) LT_SIMPEER_MUST;
size_t lt_simpeer_map_size(const lt_simpeer_map *map);
/* Calls fn for every entry (in no order) until it returns non-zero, which is
 * returned. */
int lt_simpeer_map_each(const lt_simpeer_map *map,
                        int (*fn)(const char *key, void *value, void *ctx), void *ctx);
/* Drops every entry, keeping the map usable. */
void lt_simpeer_map_clear(lt_simpeer_map *map);

/* ---- reading request bodies ---------------------------------------------------- */

/* The member of a projected object that holds its raw JSON text. */
#define LT_SIMPEER_RAW "@raw"

/* Validates a JSON document whole and projects what the roles read: the
 * top-level object's protocol fields (session, service, isUpdating,
 * madonvi, username, password, MaHoSo, TrangThaiHoSo) as strings, and
 * records (the elements of a top-level array, or of the top-level object's
 * "data" or "records" array) with MaHoSo, MaTTHC, TrangThaiHoSo, TrangThai,
 * ThoiDiemXuLy; each projected object carries its raw text under
 * LT_SIMPEER_RAW. A non-string field is left out; a scalar where a document
 * or record belongs is JSON null. NULL when the text is not JSON (or out of
 * memory). */
json_t *lt_simpeer_json_project(const char *text, size_t len) LT_SIMPEER_MUST;
/* A projected object's raw text (not NUL-terminated within the document),
 * NULL when it has none. */
const char *lt_simpeer_json_raw(const json_t *obj, size_t *ret_len);

/* ---- what the simulator saw ------------------------------------------------ */

typedef struct lt_simpeer_store lt_simpeer_store;

/* max_entries bounds each list (calls, records) and each map. */
int lt_simpeer_store_create(size_t max_entries, lt_simpeer_store **ret_store) LT_SIMPEER_MUST;
void lt_simpeer_store_destroy(lt_simpeer_store **store_p);
/* Every function below except create/destroy wants the lock held. */
void lt_simpeer_store_lock(lt_simpeer_store *store);
void lt_simpeer_store_unlock(lt_simpeer_store *store);
/* Forgets everything seen (calls, records, latest, sessions, counters). */
void lt_simpeer_store_clear(lt_simpeer_store *store);

/* Numbers a call (from 1 since the start or the last clear). */
long long lt_simpeer_store_next_call(lt_simpeer_store *store);
/* Appends one call's entry (taken) to the log and counts it by status,
 * error_code and fault (any may be absent from entry); body (valid JSON
 * text, may be NULL) is kept in the entry as "body". */
int lt_simpeer_store_add_call(lt_simpeer_store *store, json_t *entry, const char *body,
                              size_t body_len) LT_SIMPEER_MUST;
/* Appends one applied record's summary (borrowed; "seq" and "duplicate" are
 * set on it). identity is the de-duplication key (Idempotency-Key and what
 * names the event); NULL for a call without a key: never a duplicate. */
int lt_simpeer_store_add_record(lt_simpeer_store *store, json_t *summary, const char *identity,
                                bool *ret_duplicate) LT_SIMPEER_MUST;
/* The latest whole record stored for a dossier code (its text as it
 * arrived, "null" in lean mode), or NULL when the code was never
 * stored; *ret_sequence (may be NULL) gets the sequence stored with it. */
const char *lt_simpeer_store_latest(const lt_simpeer_store *store, const char *code,
                                    int64_t *ret_sequence);
/* Keeps a dossier's record (its JSON text); NULL: the code only (lean). */
int lt_simpeer_store_set_latest(lt_simpeer_store *store, const char *code, const char *record,
                                size_t len, int64_t sequence) LT_SIMPEER_MUST;
/* The next sequence number handed out by the parent role (from 1). */
int64_t lt_simpeer_store_next_sequence(lt_simpeer_store *store);

/* Sessions of the portal: a new one written into buf; -1 when out of memory. */
int lt_simpeer_store_session_new(lt_simpeer_store *store, char *buf, size_t size) LT_SIMPEER_MUST;
/* Uses a session once: 0 when it is valid, -1 when unknown or expired (after
 * max_calls uses or max_seconds, 0 = no limit; an expired session is gone). */
int lt_simpeer_store_session_use(lt_simpeer_store *store, const char *session, long max_calls,
                                 long max_seconds);
void lt_simpeer_store_expire_sessions(lt_simpeer_store *store);
/* Counts a login, successful or not. */
void lt_simpeer_store_count_login(lt_simpeer_store *store, bool ok);

typedef enum {
    LT_SIMPEER_VIEW_RECEIVED, /* every call in arrival order */
    LT_SIMPEER_VIEW_RECORDS,  /* every applied record in arrival order */
    LT_SIMPEER_VIEW_DEDUP,    /* the records, each identity once */
} lt_simpeer_view;

/* A view as a JSON document (malloc'd): items [since, since + limit) of the
 * list (limit < 0: all), with "total" and "truncated". NULL when out of
 * memory. */
char *lt_simpeer_store_view(const lt_simpeer_store *store, lt_simpeer_view view, size_t since,
                            long limit) LT_SIMPEER_MUST;
/* The latest records: all ({code: record}) or one code's ({"record": ...} or
 * NULL in *ret_found = false). */
char *lt_simpeer_store_latest_view(const lt_simpeer_store *store, const char *code,
                                   bool *ret_found) LT_SIMPEER_MUST;
/* The counters as a JSON object (new reference), NULL when out of memory. */
json_t *lt_simpeer_store_stats(const lt_simpeer_store *store) LT_SIMPEER_MUST;

/* ---- how each role answers -------------------------------------------------- */

/* What a role can be told (command line, then /_control). Strings are
 * arrays so that a snapshot is a plain copy. */
typedef struct {
    lt_simpeer_role role;
    char login_path[128];   /* portal: the session call */
    char sync_path[128];    /* portal: DongBoHoSoMC / CapNhatTienDoHoSoMC */
    char username[128];     /* portal: the credentials that log in */
    char password[128];     /* portal */
    char token[256];        /* parent, ward, webhook: required bearer token ("" = none) */
    char success_code[8];   /* portal: "0" or "00" */
    long session_calls;     /* portal: a session expires after this many uses (0 = never) */
    long session_seconds;   /* portal: ... or this many seconds after login (0 = never) */
    bool update_missing_ok; /* portal: isUpdating "True" for an unknown dossier creates it */
    bool numeric_codes;     /* portal: error_code as a JSON number instead of text */
    char forced_code[8];    /* portal fault: answer every sync call with this code ("" = off) */
    bool lean;              /* keep codes, not whole records or bodies (benchmarks) */
} lt_simpeer_conf;

/* One call as the roles see it. */
typedef struct {
    const char *method, *path;
    const char *key;           /* Idempotency-Key header, NULL when absent */
    const char *content_type;  /* NULL when absent */
    const char *authorization; /* NULL when absent */
    json_t *body;              /* the projected body, NULL when it is not JSON */
    size_t body_len;           /* bytes received */
    long long n;               /* the call's number, from 1 */
    const char *at;            /* arrival time, ISO 8601 UTC */
} lt_simpeer_req;

/* Adds what the call carries (service, dossier codes, ...) to its log entry
 * without judging it: enough to read a failed call. */
int lt_simpeer_role_describe(const lt_simpeer_conf *conf, const lt_simpeer_req *rq,
                             json_t *entry) LT_SIMPEER_MUST;
/* Judges and applies a call (the store locked): sets *ret_status and
 * *ret_answer (new reference), adds error_code / message / applied to the
 * entry. -1 when out of memory. */
int lt_simpeer_role_handle(const lt_simpeer_conf *conf, lt_simpeer_store *store,
                           const lt_simpeer_req *rq, json_t *entry, unsigned *ret_status,
                           json_t **ret_answer) LT_SIMPEER_MUST;

/* ---- faults and the control port --------------------------------------------- */

/* The faults one /_control command sets (README.md, "Faults"). */
typedef struct {
    long latency_ms;     /* every call waits this long before its answer */
    double error_ratio;  /* this share of calls is answered 500 */
    uint64_t seed;       /* which calls error_ratio picks */
    unsigned status;     /* answer every call with this status (0 = off) */
    bool timeout;        /* never answer; close once the client gives up */
    bool drop;           /* close the connection without answering */
    bool after_apply;    /* the faults strike after the call was applied */
    long for_calls;      /* the faults switch off after this many calls (0 = never) */
    char only_path[128]; /* the faults hit only this path ("" = every path) */
} lt_simpeer_faults;

/* What lt_simpeer.c lends the control port. */
typedef struct {
    lt_simpeer_store *store;
    /* The faults and configuration now, the service listener's state. */
    void (*get)(lt_simpeer_faults *ret_faults, lt_simpeer_conf *ret_conf, bool *ret_down);
    /* Replaces them; down stops or restarts the service listener: -1 when it
     * cannot listen again. */
    int (*set)(const lt_simpeer_faults *faults, const lt_simpeer_conf *conf, bool down);
    /* As the command line set them (for "reset"). */
    void (*initial)(lt_simpeer_faults *ret_faults, lt_simpeer_conf *ret_conf);
    /* Runtime counters for /_stats (new reference). */
    json_t *(*runtime)(void);
} lt_simpeer_host;

/* ---- the command line ---------------------------------------------------------- */

typedef struct {
    struct in_addr host, ctl_host; /* loopback addresses of the two listeners */
    uint16_t port, ctl_port;       /* 0 = any free port */
    const char *port_file;         /* gets the start line (NULL = none) */
    const char *log_file;          /* JSON lines: start, each call, control, stop */
    const char *tls_cert;          /* PEM certificate chain: the service speaks HTTPS */
    const char *tls_key;           /* its PEM key (both or neither) */
    long max_seconds;              /* exit after this long */
    size_t max_stored;             /* bound of each list and map of the store */
    size_t max_body;               /* larger request bodies are answered 413 */
    unsigned threads;              /* the service port's thread pool */
    unsigned max_connections;      /* the service port's connection limit */
    lt_simpeer_faults faults;      /* faults from the start (and after "reset") */
    lt_simpeer_conf conf;          /* the role and its settings */
} lt_simpeer_options;

/* Fills opts from the command line, defaults first; -1 on bad usage. */
int lt_simpeer_options_parse(int argc, char **argv, lt_simpeer_options *opts) LT_SIMPEER_MUST;
void lt_simpeer_options_usage(void);
const char *lt_simpeer_role_name(lt_simpeer_role role);

/* Starts the control listener on sa (a struct sockaddr_in *); NULL on failure. */
struct MHD_Daemon;
struct MHD_Daemon *lt_simpeer_control_start(const void *sa,
                                            const lt_simpeer_host *host) LT_SIMPEER_MUST;

#endif
