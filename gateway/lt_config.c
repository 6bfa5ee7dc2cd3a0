/* lt_config: every setting of the gateway is one row of the table below,
 * after PgBouncer's CfKey and Redis's standardConfig. A row names the dotted
 * key, its type, where it lives in struct lt_config, its default (as text,
 * parsed by the same code as user input so a default can never be something
 * a user could not write), its range, whether SIGHUP may change it, whether
 * it is a secret, and one line of help. Defaults, the JSON file, the
 * environment, copy, free, the reload diff, the README table and the JSON
 * dump are all loops over that table, so adding a setting is adding a row and
 * a struct field, and the documentation cannot drift from the code. Parsers
 * report errors into lt_config_error and never log: the caller decides.
 *
 * This file is the table, the struct's lifecycle and the order of sources;
 * the loops live beside it by job (lt_config_int.h): one value of a row
 * (lt_config_value.c), the file and the environment (lt_config_source.c),
 * printing (lt_config_print.c), CurveZMQ (lt_config_zmq.c). */
#include "lt_config_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The file used when lt_config_load is given no path and it exists. */
#define DEFAULT_FILE "./lienthong.json"

/* offsetof that also checks at compile time that the field has type T, so a
 * row cannot point a duration at a string field. */
#define FIELD(f, T) (offsetof(lt_config, f) + _Generic(((lt_config *)0)->f, T : 0))

#define STRING(f)   .type = CF_STRING, .offset = FIELD(f, char *)
#define URL(f)      .type = CF_URL, .offset = FIELD(f, char *)
#define PATH(f)     .type = CF_PATH, .offset = FIELD(f, char *)
#define LISTEN(f)   .type = CF_LISTEN, .offset = FIELD(f, char *)
#define ZMQ(f)      .type = CF_ZMQ, .offset = FIELD(f, char *)
#define BOOL(f)     .type = CF_BOOL, .offset = FIELD(f, bool)
#define DURATION(f) .type = CF_DURATION, .offset = FIELD(f, int64_t)
#define SIZE(f)     .type = CF_SIZE, .offset = FIELD(f, int64_t)
#define ENUM(f)     .type = CF_ENUM, .offset = FIELD(f, int)
#define COUNT(f)    .type = CF_COUNT, .offset = FIELD(f, int64_t)

/* Same names and values as lt_log_level, kept here so that this module does
 * not depend on lt_log.c. */
static const cf_enum_name log_levels[] = {
    {"debug", 0}, {"info", 1}, {"warn", 2}, {"warning", 2}, {"error", 3}, {NULL, 0},
};

/* zmq.curve; on/off and yes/no read as true/false. */
static const cf_enum_name curve_modes[] = {
    {"auto", LT_ZMQ_CURVE_AUTO}, {"true", LT_ZMQ_CURVE_ON},
    {"false", LT_ZMQ_CURVE_OFF}, {"on", LT_ZMQ_CURVE_ON},
    {"off", LT_ZMQ_CURVE_OFF},   {"yes", LT_ZMQ_CURVE_ON},
    {"no", LT_ZMQ_CURVE_OFF},    {NULL, 0},
};

static const cf_enum_name routing_models[] = {
    {"auto", LT_ROUTING_AUTO},
    {"3-tier", LT_ROUTING_3TIER},
    {"2-tier", LT_ROUTING_2TIER},
    {NULL, 0},
};

/* THE table. Rows are in the order the README and the sample config list
 * them; sections are the part of the key before the dot. */
const cf_key lt_cfkeys[] = {
    {"data_dir", PATH(data_dir), .def = "./var", .flags = CF_NONEMPTY,
     .help = "where the embedded PostgreSQL cluster and the gateway's state live"},
    {"database.url", STRING(database.url), .def = "",
     .help = "libpq URL or conninfo (multi-host allowed); empty = embedded cluster under data_dir"},
    {"database.connect_timeout", DURATION(database.connect_timeout_ms), .def = "5s",
     .min = 1 * SECOND, .max = 5 * MINUTE,
     .help = "how long one connection attempt to PostgreSQL may take"},
    {"database.health_interval", DURATION(database.health_interval_ms), .def = "1s",
     .min = 100 * MS, .max = 1 * MINUTE, .flags = CF_RELOAD,
     .help = "how often database readiness is probed"},
    {"postgres.bin_dir", PATH(postgres.bin_dir), .def = "",
     .help = "PostgreSQL server binaries for the embedded cluster; empty = detect"},
    {"postgres.user", STRING(postgres.user), .def = "postgres",
     .help = "OS user that runs the embedded cluster when the gateway runs as root"},
    {"http.listen", LISTEN(http.listen), .def = "127.0.0.1:8080",
     .help = "address of the HTTP API, host:port or [v6]:port; port 0 = any free port"},
    {"http.max_body", SIZE(http.max_body), .def = "4MiB", .min = 1 * KIB, .max = 1 * GIB,
     .flags = CF_RELOAD, .help = "larger request bodies get 413 before they are read"},
    /* ---- limits: everything a peer controls (issue 9); kept together ---- */
    {"limits.header_size", SIZE(limits.header_size), .def = "32KiB", .min = 8 * KIB, .max = 1 * MIB,
     .help = "memory of one HTTP connection for its request line and headers (libmicrohttpd's "
             "pool); a request whose headers do not fit gets 431"},
    {"limits.depth", COUNT(limits.depth), .def = "32", .min = 4, .max = 256, .flags = CF_RELOAD,
     .help = "deepest JSON nesting of a pushed body, checked before it is parsed; deeper gets 400"},
    {"limits.records", COUNT(limits.records), .def = "1000", .min = 1, .max = 10000,
     .flags = CF_RELOAD,
     .help = "records in one pushed array; more gets 413 and nothing is stored"},
    {"limits.zmq_message", SIZE(limits.zmq_message), .def = "4MiB", .min = 1 * KIB, .max = 1 * GIB,
     .help = "largest ZeroMQ ingress message; ZeroMQ drops a peer that sends more, unread"},
    {"limits.connections", COUNT(limits.connections), .def = "1024", .min = 1, .max = 60000,
     .help = "open HTTP connections at once; more are closed as they arrive"},
    {"limits.connections_per_ip", COUNT(limits.connections_per_ip), .def = "256", .min = 0,
     .max = 60000,
     .help = "open HTTP connections from one client address (a reverse proxy is one client); "
             "0 = no limit"},
    {"limits.timeout", DURATION(limits.timeout_ms), .def = "30s", .min = 1 * SECOND,
     .max = 1 * HOUR,
     .help = "an HTTP connection silent this long (a stalled half request) is closed"},
    {"limits.request_time", DURATION(limits.request_time_ms), .def = "60s", .min = 1 * SECOND,
     .max = 1 * HOUR, .flags = CF_RELOAD,
     .help = "a request's body must arrive whole within this of its headers; a client that "
             "trickles it byte by byte (never silent for limits.timeout) is cut off"},
    {"limits.rate", COUNT(limits.rate), .def = "2000", .min = 0, .max = 1000000, .flags = CF_RELOAD,
     .help = "records a second one sender (token, or address without one) may push, on HTTP and "
             "ZeroMQ each; beyond it 429 with Retry-After; 0 = no limit"},
    {"limits.burst", COUNT(limits.burst), .def = "20000", .min = 1, .max = 10000000,
     .flags = CF_RELOAD,
     .help = "records a sender may push at once before limits.rate applies (a full array "
             "always fits)"},
    {"limits.queue", COUNT(limits.queue), .def = "1024", .min = 1, .max = 60000,
     .help = "pushes one front (HTTP, ZeroMQ) keeps waiting for the writer; beyond it 503 with "
             "Retry-After, nothing stored"},
    {"zmq.ingress", ZMQ(zmq.ingress), .def = "tcp://127.0.0.1:5570",
     .help = "ROUTER socket where ward systems send records"},
    {"zmq.events", ZMQ(zmq.events), .def = "tcp://127.0.0.1:5571",
     .help = "PUB socket publishing every stored event"},
    {"zmq.replay", ZMQ(zmq.replay), .def = "tcp://127.0.0.1:5572",
     .help = "ROUTER socket answering replay requests"},
    {"zmq.curve", ENUM(zmq.curve), .def = "auto", .names = curve_modes,
     .help = "CurveZMQ on zmq.ingress and zmq.replay, keys checked per unit (`lienthong keygen`); "
             "auto = on unless both are loopback; false is refused unless both are loopback"},
    {"zmq.curve_key", PATH(zmq.curve_key), .def = "",
     .help = "the gateway's CURVE secret key file (`lienthong keygen` writes it); empty = "
             "data_dir/curve/server.key"},
    {"log.level", ENUM(log.level), .def = "info", .names = log_levels, .flags = CF_RELOAD,
     .help = "lowest level written to the log (warning = warn)"},
    {"auth.required", BOOL(auth.required), .def = "true",
     .help = "bearer token on every call that needs one; false only for loopback development"},
    {"portal.url", URL(portal.url), .def = "",
     .help = "provincial portal base URL; empty = no provincial-portal delivery"},
    {"portal.login_path", STRING(portal.login_path), .def = "/login",
     .help = "path of the national protocol's session call"},
    {"portal.sync_path", STRING(portal.sync_path), .def = "/sync",
     .help = "path of the DongBoHoSoMC / CapNhatTienDoHoSoMC call"},
    {"portal.username", STRING(portal.username), .def = "",
     .help = "portal account name; required when portal.url is set"},
    {"portal.password", STRING(portal.password), .def = "", .flags = CF_SECRET,
     .help = "portal account password; required when portal.url is set"},
    {"portal.agency", STRING(portal.agency), .def = "",
     .help = "the province's agency id, sent as madonvi; required when portal.url is set"},
    {"portal.batch_size", COUNT(portal.batch_size), .def = "1", .min = 1, .max = 100,
     .help = "records per DongBoHoSoMC call (one Idempotency-Key derived from their events)"},
    {"portal.timeout", DURATION(portal.timeout_ms), .def = "30s", .min = 100, .max = 10 * 60000,
     .help = "time limit of one portal call; a call that times out is retried"},
    {"portal.success_codes", STRING(portal.success_codes), .def = "0,00", .flags = CF_NONEMPTY,
     .help = "error_code values (comma-separated, compared as text) that mean delivered"},
    {"portal.expired_codes", STRING(portal.expired_codes), .def = "-1",
     .help = "error_code values meaning the session expired: log in again once and resend"},
    {"portal.exists_codes", STRING(portal.exists_codes), .def = "2",
     .help = "error_code values meaning the record exists: resend once with isUpdating True"},
    {"portal.dialect", STRING(portal.dialect), .def = "portal-national", .flags = CF_NONEMPTY,
     .help = "dialect the records are mapped to before they are sent"},
    {"portal.progress", BOOL(portal.progress), .def = "false",
     .help = "after a record is delivered, also send its QuaTrinhXuLy with CapNhatTienDoHoSoMC"},
    {"portal.ca_file", PATH(portal.ca_file), .def = "",
     .help = "PEM CA bundle for the portal's TLS; empty = the system store"},
    {"units.tokens", STRING(units.tokens), .def = "", .flags = CF_SECRET,
     .help = "bearer tokens for the competent units' gateways (liên thông leg), as "
             "`UNIT=TOKEN,UNIT=TOKEN`; a unit without one is called without a token"},
    {"units.timeout", DURATION(units.timeout_ms), .def = "30s", .min = 100, .max = 10 * 60000,
     .help = "time limit of one call to a unit's gateway or ward callback; a timeout is retried"},
    {"webhook.url", URL(webhook.url), .def = "",
     .help = "URL that gets a small JSON notice (no personal data) per dossier status change; "
             "empty = none"},
    {"delivery.inflight", COUNT(delivery.inflight), .def = "8", .min = 1, .max = 64,
     .help = "sends in flight at once per destination (distinct dossiers); each portal send "
             "slot logs in with its own session"},
    {"delivery.retry_first", DURATION(delivery.retry_first_ms), .def = "1s", .min = 10 * MS,
     .max = 10 * MINUTE, .flags = CF_RELOAD,
     .help = "back-off before the first retry of a delivery (408, 429, 5xx, transport error), "
             "doubled per retry, with jitter"},
    {"delivery.retry_max", DURATION(delivery.retry_max_ms), .def = "30s", .min = 10 * MS,
     .max = 1 * HOUR, .flags = CF_RELOAD,
     .help = "longest back-off between two retries of a delivery"},
    {"delivery.retry_horizon", DURATION(delivery.retry_horizon_ms), .def = "72h", .min = 1 * SECOND,
     .max = 90 * 24 * HOUR, .flags = CF_RELOAD,
     .help = "a delivery still failing retryably this long after its first failure becomes a "
             "dead letter with its last answer"},
    {"delivery.circuit_failures", COUNT(delivery.circuit_failures), .def = "5", .min = 1,
     .max = 100000, .flags = CF_RELOAD,
     .help = "consecutive retryable failures of a destination that open its circuit (no calls "
             "there but one probe per delivery.probe_interval); shared by every gateway"},
    {"delivery.probe_interval", DURATION(delivery.probe_interval_ms), .def = "15s", .min = 100 * MS,
     .max = 1 * HOUR, .flags = CF_RELOAD,
     .help = "while a destination's circuit is open: how often one call probes it"},
    {"delivery.ca_file", PATH(delivery.ca_file), .def = "",
     .help = "PEM CA bundle for the TLS of the units' gateways, the ward callbacks and "
             "webhook.url (a provincial private CA); empty = the system store; the portal has "
             "portal.ca_file"},
    {"catalog.url", URL(catalog.url), .def = "",
     .help = "national catalog base URL, or a parent gateway's .../v1/catalog (federation); "
             "empty = catalog only from `catalog sync --file`"},
    {"catalog.concurrency", COUNT(catalog.concurrency), .def = "32", .min = 1, .max = 256,
     .help = "detail calls (`LayThuTuc`) in flight at once during a sync"},
    {"catalog.timeout", DURATION(catalog.timeout_ms), .def = "30s", .min = 100, .max = 10 * 60000,
     .help = "time limit of one catalog call (list or detail)"},
    {"catalog.retries", COUNT(catalog.retries), .def = "3", .min = 0, .max = 20,
     .help = "retries of a catalog call after a transport error or a 5xx, with doubling "
             "back-off; then the whole sync fails"},
    {"catalog.retry_delay", DURATION(catalog.retry_delay_ms), .def = "1s", .min = 1, .max = 60000,
     .help = "back-off before the first retry of a catalog call (doubled each time)"},
    {"catalog.interval", DURATION(catalog.interval_ms), .def = "6h", .min = 0,
     .max = 7 * 24 * 3600000LL,
     .help = "how often `serve` syncs from `catalog.url` (one gateway at a time); 0 = never"},
    {"catalog.ca_file", PATH(catalog.ca_file), .def = "",
     .help = "PEM CA bundle for the catalog's TLS; empty = the system store"},
    {"routing.model", ENUM(routing.model), .def = "auto", .names = routing_models,
     .help = "unit hierarchy for forwarding to the parent unit; auto = 3-tier when the unit "
             "tree has districts"},
    {"status.max_backlog_age", DURATION(status.max_backlog_age_ms), .def = "10m", .min = 1000,
     .max = 30 * 24 * 3600000LL, .flags = CF_RELOAD,
     .help = "status is unhealthy (exit 3) when a destination's oldest undelivered event is "
             "older than this"},
    {"status.max_dead_letters", COUNT(status.max_dead_letters), .def = "100", .min = 0,
     .max = 1000000000, .flags = CF_RELOAD,
     .help = "status is unhealthy when a destination holds more dead letters than this"},
    {"status.down_failures", COUNT(status.down_failures), .def = "2", .min = 1, .max = 1000,
     .flags = CF_RELOAD,
     .help = "consecutive failed calls, with nothing delivered since, that make a destination "
             "down (unhealthy)"},
    {"dialects.dir", PATH(dialects.dir), .def = "",
     .help = "directory of the operator's own dialect files (NAME.json) beside the shipped ones; "
             "a file named like a shipped dialect replaces it"},
    {"calendar.holidays", PATH(calendar.holidays), .def = "",
     .help = "holiday table of the working-time calendar (days off, compensatory working days) "
             "used by due dates and on-time reports; empty = the shipped holidays/vn.json"},
    {"calendar.hours", STRING(calendar.hours), .def = "07:00-11:30,13:30-17:00",
     .flags = CF_NONEMPTY, .help = "working hours of a working day, as HH:MM-HH:MM,HH:MM-HH:MM"},
    {"report.timeout", DURATION(report.timeout_ms), .def = "60s", .min = 1 * SECOND,
     .max = 1 * HOUR,
     .help = "how long one on-time report may take, its wait behind another included (the "
             "statement's statement_timeout); longer gets 504. Other reads keep their 5 s"},
    /* retention and TLS (issue 9): keep this block together */
    {"retention.days", COUNT(retention.days), .def = "90", .min = 1, .max = 36500,
     .flags = CF_RELOAD,
     .help = "rejected payloads and audit-log rows older than this many days are purged"},
    {"retention.interval", DURATION(retention.interval_ms), .def = "1h", .min = 0,
     .max = 7 * 24 * 3600000LL, .flags = CF_RELOAD,
     .help = "how often `serve` purges (one gateway at a time); 0 = never"},
    {"retention.batch", COUNT(retention.batch), .def = "500", .min = 1, .max = 100000,
     .flags = CF_RELOAD, .help = "rows deleted per statement, so a purge never holds long locks"},
    {"http.tls_cert", PATH(tls.cert), .def = "",
     .help = "PEM certificate (chain) of the HTTP front; with http.tls_key the front speaks "
             "only HTTPS; empty = plain HTTP (behind a reverse proxy or on loopback)"},
    {"http.tls_key", PATH(tls.key), .def = "",
     .help = "PEM private key of http.tls_cert (readable by the gateway's user only)"},
};

const size_t lt_cfkeys_n = sizeof lt_cfkeys / sizeof lt_cfkeys[0];

void lt_config_set_err(lt_config_error *err, const char *key, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL)
        return;
    snprintf(err->key, sizeof err->key, "%s", key);
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
}

/* ---- public: lifecycle -------------------------------------------------- */

void lt_config_free(lt_config *cfg)
{
    if (cfg == NULL)
        return;
    for (size_t i = 0; i < lt_cfkeys_n; i++) {
        if (lt_cfval_is_string(lt_cfkeys[i].type)) {
            char **p = lt_cfval_field(cfg, &lt_cfkeys[i]);

            free(*p);
            *p = NULL;
        }
    }
    memset(cfg, 0, sizeof *cfg);
}

int lt_config_init_defaults(lt_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    for (size_t i = 0; i < lt_cfkeys_n; i++) {
        cf_value v = {0};

        /* A default that does not parse is a bug in the table; the unit test
         * loads the defaults, so it cannot ship. */
        if (lt_cfval_parse(&lt_cfkeys[i], lt_cfkeys[i].def, &v) != PARSE_OK ||
            lt_cfval_store(cfg, &lt_cfkeys[i], &v) < 0) {
            lt_config_free(cfg);
            return -1;
        }
    }
    return 0;
}

int lt_config_copy(lt_config *dst, const lt_config *src)
{
    memset(dst, 0, sizeof *dst);
    for (size_t i = 0; i < lt_cfkeys_n; i++) {
        if (lt_cfval_copy(dst, src, &lt_cfkeys[i]) < 0) {
            lt_config_free(dst);
            return -1;
        }
    }
    return 0;
}

/* ---- loading -------------------------------------------------------------- */

/* A portal URL without the account or the agency id cannot deliver: every
 * login is refused and every event becomes a dead letter at once. Refused
 * here, so that `serve -n` and the start say which key is missing. */
static int check_portal(const lt_config *cfg, lt_config_error *err)
{
    const char *const keys[] = {"portal.agency", "portal.username", "portal.password"};
    const char *const values[] = {cfg->portal.agency, cfg->portal.username, cfg->portal.password};
    if (!cfg->portal.url || cfg->portal.url[0] == '\0')
        return 0;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        if (!values[i] || values[i][0] == '\0') {
            lt_config_set_err(err, keys[i],
                              "must be set when portal.url is (the portal's login and madonvi); "
                              "leave portal.url empty for no portal delivery");
            return -1;
        }
    }
    return 0;
}

int lt_config_load(lt_config *cfg, const char *path, char *const *envp, lt_config_error *err,
                   char *ret_source, size_t source_cap)
{
    const char *file = path;
    struct stat st;
    int rc = -1;

    if (err != NULL)
        memset(err, 0, sizeof *err);
    if (lt_config_init_defaults(cfg) < 0) {
        lt_config_set_err(err, "", "out of memory");
        return -1;
    }
    if (file == NULL) {
        if (stat(DEFAULT_FILE, &st) == 0)
            file = DEFAULT_FILE;
        else if (errno != ENOENT) {
            lt_config_set_err(err, "", "%s: %s", DEFAULT_FILE, strerror(errno));
            goto out;
        }
    }
    if (file != NULL && lt_cfsrc_apply_file(cfg, file, err) < 0)
        goto out;
    if (lt_cfsrc_apply_env(cfg, envp != NULL ? envp : environ, err) < 0)
        goto out;
    if (lt_cfzmq_check(cfg, err) < 0 || check_portal(cfg, err) < 0)
        goto out;
    if (ret_source != NULL && source_cap > 0)
        snprintf(ret_source, source_cap, "%s", file != NULL ? file : "");
    rc = 0;
out:
    if (rc < 0)
        lt_config_free(cfg);
    return rc;
}

/* ---- reload ------------------------------------------------------------- */

int lt_config_apply_reload(lt_config *cur, const lt_config *next, char *changed_restart, size_t cap)
{
    size_t len = 0;
    int changed = 0;

    if (changed_restart != NULL && cap > 0)
        changed_restart[0] = '\0';
    for (size_t i = 0; i < lt_cfkeys_n; i++) {
        const cf_key *k = &lt_cfkeys[i];

        if (lt_cfval_equal(cur, next, k))
            continue;
        if (k->flags & CF_RELOAD) {
            if (lt_cfval_copy(cur, next, k) < 0)
                return -1;
            changed++;
        } else if (changed_restart != NULL && len < cap) {
            int n = snprintf(changed_restart + len, cap - len, "%s%s", len > 0 ? "," : "", k->key);

            /* A short buffer keeps what fits, always terminated. */
            len = n < 0 ? cap : len + (size_t)n;
        }
    }
    return changed;
}
