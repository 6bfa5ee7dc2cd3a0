/* lt_config: every setting of the gateway is one row of the table below,
 * after PgBouncer's CfKey and Redis's standardConfig. A row names the dotted
 * key, its type, where it lives in struct lt_config, its default (as text,
 * parsed by the same code as user input so a default can never be something
 * a user could not write), its range, whether SIGHUP may change it, whether
 * it is a secret, and one line of help. Defaults, the JSON file, the
 * environment, copy, free, the reload diff, the README table and the JSON
 * dump are all loops over that table, so adding a setting is adding a row and
 * a struct field, and the documentation cannot drift from the code. Parsers
 * report errors into lt_config_error and never log: the caller decides. */
#include "lt_config.h"
#include "lt_config_text.h"
#include "lt_utf8.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

/* The file used when lt_config_load is given no path and it exists. */
#define DEFAULT_FILE "./lienthong.json"

/* Prefix of the environment variables, followed by the upper-cased key. */
#define ENV_PREFIX "LIENTHONG_"

/* Longest dotted key, also the size of lt_config_error.key. */
#define KEY_MAX 128

typedef enum {
    CF_STRING,   /* any UTF-8 text */
    CF_URL,      /* empty, or http:// or https:// followed by a host */
    CF_PATH,     /* a file system path; CF_NONEMPTY when it must be set */
    CF_LISTEN,   /* host:port or [v6]:port, port 0-65535 */
    CF_ZMQ,      /* tcp://host:port, ipc://path or inproc://name */
    CF_BOOL,     /* JSON true/false; in the environment also 1/0, yes/no, on/off */
    CF_DURATION, /* whole number with unit ms, s, m or h; stored in ms */
    CF_SIZE,     /* bytes, or whole number with B, KiB, MiB, GiB, KB, MB, GB */
    CF_ENUM,     /* one of the row's names; stored as an int */
    CF_COUNT,    /* a whole number from min to max; stored as int64_t */
} cf_type;

enum {
    CF_RELOAD = 1u << 0,   /* SIGHUP applies a new value without a restart */
    CF_SECRET = 1u << 1,   /* never printed or echoed in error messages */
    CF_NONEMPTY = 1u << 2, /* the empty string is not a valid value */
};

/* One accepted spelling of an enum value; the first spelling listed for a
 * value is the canonical one that is printed. */
typedef struct cf_enum_name {
    const char *name; /* what users write; matched case-insensitively */
    int value;        /* what the int field receives */
} cf_enum_name;

typedef struct cf_key {
    const char *key;           /* dotted name: JSON path and environment name */
    cf_type type;              /* parser, storage type and printed form */
    size_t offset;             /* of the field in lt_config */
    const char *def;           /* default, as text a user could write */
    int64_t min, max;          /* range of durations (ms) and sizes (bytes) */
    const cf_enum_name *names; /* CF_ENUM: accepted names, ended by {NULL, 0} */
    unsigned flags;            /* CF_RELOAD, CF_SECRET, CF_NONEMPTY */
    const char *help;          /* one line for the README and the sample config */
} cf_key;

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
static const cf_key keys[] = {
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
    {"portal.username", STRING(portal.username), .def = "", .help = "portal account name"},
    {"portal.password", STRING(portal.password), .def = "", .flags = CF_SECRET,
     .help = "portal account password"},
    {"portal.agency", STRING(portal.agency), .def = "",
     .help = "the province's agency id, sent as madonvi"},
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

#define NKEYS (sizeof keys / sizeof keys[0])

/* A parsed value before it is stored; s is borrowed from the input. */
typedef struct cf_value {
    const char *s; /* string types */
    int64_t i;     /* durations, sizes, enums */
    bool b;        /* bool */
} cf_value;

/* ---- small helpers ---------------------------------------------------- */

static bool is_string_type(cf_type t)
{
    return t == CF_STRING || t == CF_URL || t == CF_PATH || t == CF_LISTEN || t == CF_ZMQ;
}

static void *field_ptr(lt_config *cfg, const cf_key *k)
{
    return (char *)cfg + k->offset;
}

static const void *cfield_ptr(const lt_config *cfg, const cf_key *k)
{
    return (const char *)cfg + k->offset;
}

static void set_err(lt_config_error *err, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(lt_config_error *err, const char *key, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL)
        return;
    snprintf(err->key, sizeof err->key, "%s", key);
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
}

static void format_range(const cf_key *k, char *buf, size_t cap)
{
    char lo[32], hi[32];

    if (k->type == CF_COUNT) {
        snprintf(lo, sizeof lo, "%" PRId64, k->min);
        snprintf(hi, sizeof hi, "%" PRId64, k->max);
    } else if (k->type == CF_DURATION) {
        lt_cfgtext_format_duration(k->min, lo, sizeof lo);
        lt_cfgtext_format_duration(k->max, hi, sizeof hi);
    } else {
        lt_cfgtext_format_size(k->min, lo, sizeof lo);
        lt_cfgtext_format_size(k->max, hi, sizeof hi);
    }
    snprintf(buf, cap, "between %s and %s", lo, hi);
}

/* True for the first spelling of a value, the one that is printed. */
static bool is_canonical(const cf_key *k, const cf_enum_name *e)
{
    for (const cf_enum_name *f = k->names; f != e; f++)
        if (f->value == e->value)
            return false;
    return true;
}

/* "debug, info, warn or error": canonical names only, aliases left out. */
static void format_enum_names(const cf_key *k, const char *mark, char *buf, size_t cap)
{
    size_t count = 0, i = 0, len = 0;

    buf[0] = '\0';
    for (const cf_enum_name *e = k->names; e->name != NULL; e++)
        count += is_canonical(k, e);
    for (const cf_enum_name *e = k->names; e->name != NULL; e++) {
        int n;

        if (!is_canonical(k, e))
            continue;
        n = snprintf(buf + len, cap - len, "%s%s%s%s",
                     i == 0           ? ""
                     : i + 1 == count ? " or "
                                      : ", ",
                     mark, e->name, mark);
        if (n < 0 || (size_t)n >= cap - len)
            return;
        len += (size_t)n;
        i++;
    }
}

/* The "expected ..." phrase of a row; hint adds the accepted format, for
 * values that did not parse at all. */
static void expected_phrase(const cf_key *k, bool hint, bool from_env, char *buf, size_t cap)
{
    char range[80], names[160];

    switch (k->type) {
    case CF_STRING:
        snprintf(buf, cap, "a string");
        return;
    case CF_PATH:
        snprintf(buf, cap, "%s", (k->flags & CF_NONEMPTY) ? "a non-empty path" : "a path");
        return;
    case CF_URL:
        snprintf(buf, cap, "an empty string or an http:// or https:// URL");
        return;
    case CF_LISTEN:
        snprintf(buf, cap, "host:port or [v6]:port with a port from 0 to 65535");
        return;
    case CF_ZMQ:
        snprintf(buf, cap, "a ZeroMQ endpoint tcp://host:port, ipc://path or inproc://name");
        return;
    case CF_BOOL:
        snprintf(buf, cap, "%s", from_env ? "true/false, 1/0, yes/no or on/off" : "true or false");
        return;
    case CF_DURATION:
        format_range(k, range, sizeof range);
        snprintf(buf, cap, "a duration %s%s", range,
                 hint ? " (a whole number with unit ms, s, m or h, e.g. \"5s\")" : "");
        return;
    case CF_SIZE:
        format_range(k, range, sizeof range);
        snprintf(buf, cap, "a size %s%s", range,
                 hint ? " (bytes, or a whole number with unit B, KiB, MiB, GiB, KB, MB or GB)"
                      : "");
        return;
    case CF_ENUM:
        format_enum_names(k, "", names, sizeof names);
        snprintf(buf, cap, "one of %s", names);
        return;
    case CF_COUNT:
        format_range(k, range, sizeof range);
        snprintf(buf, cap, "a whole number %s", range);
        return;
    }
    snprintf(buf, cap, "a valid value");
}

static bool parse_enum(const cf_key *k, const char *s, int64_t *ret_value)
{
    for (const cf_enum_name *e = k->names; e->name != NULL; e++) {
        if (strcasecmp(s, e->name) == 0) {
            *ret_value = e->value;
            return true;
        }
    }
    return false;
}

static const char *enum_name(const cf_key *k, int value)
{
    for (const cf_enum_name *e = k->names; e->name != NULL; e++)
        if (e->value == value)
            return e->name;
    return NULL;
}

/* Parses text (from a default, an environment variable or a JSON string)
 * for row k. Bool words other than true/false are accepted only from the
 * environment and defaults: in the file, booleans are JSON booleans. */
static lt_cfg_parse parse_text(const cf_key *k, const char *text, cf_value *ret)
{
    lt_cfg_parse st;

    if (is_string_type(k->type) && !lt_utf8_valid(text))
        return PARSE_SYNTAX;
    switch (k->type) {
    case CF_STRING:
        break;
    case CF_PATH:
        if ((k->flags & CF_NONEMPTY) && text[0] == '\0')
            return PARSE_SYNTAX;
        break;
    case CF_URL:
        if (!lt_cfgtext_valid_url(text))
            return PARSE_SYNTAX;
        break;
    case CF_LISTEN:
        if (lt_config_split_listen(text, NULL, 0, NULL) < 0)
            return PARSE_SYNTAX;
        break;
    case CF_ZMQ:
        if (!lt_cfgtext_valid_zmq(text))
            return PARSE_SYNTAX;
        break;
    case CF_BOOL:
        if (!lt_cfgtext_parse_bool(text, &ret->b))
            return PARSE_SYNTAX;
        return PARSE_OK;
    case CF_DURATION:
    case CF_SIZE:
        st = k->type == CF_DURATION ? lt_cfgtext_parse_duration(text, &ret->i)
                                    : lt_cfgtext_parse_size(text, &ret->i);
        if (st != PARSE_OK)
            return st;
        if (ret->i < k->min || ret->i > k->max)
            return PARSE_RANGE;
        return PARSE_OK;
    case CF_ENUM:
        if (!parse_enum(k, text, &ret->i))
            return PARSE_SYNTAX;
        return PARSE_OK;
    case CF_COUNT: {
        char *end;
        errno = 0;
        long long v = strtoll(text, &end, 10);
        if (errno == ERANGE)
            return PARSE_RANGE;
        if (end == text || *end != '\0' || errno != 0)
            return PARSE_SYNTAX;
        ret->i = v;
        return v < k->min || v > k->max ? PARSE_RANGE : PARSE_OK;
    }
    }
    ret->s = text;
    return PARSE_OK;
}

/* ---- storing, comparing ------------------------------------------------- */

/* Stores v into the row's field. Returns 0, or -1 when out of memory (the
 * old value is kept). */
static int store(lt_config *cfg, const cf_key *k, const cf_value *v)
{
    void *p = field_ptr(cfg, k);

    if (is_string_type(k->type)) {
        char *dup = strdup(v->s);

        if (dup == NULL)
            return -1;
        free(*(char **)p);
        *(char **)p = dup;
        return 0;
    }
    switch (k->type) {
    case CF_BOOL:
        *(bool *)p = v->b;
        break;
    case CF_DURATION:
    case CF_SIZE:
    case CF_COUNT:
        *(int64_t *)p = v->i;
        break;
    case CF_ENUM:
        *(int *)p = (int)v->i;
        break;
    default:
        break;
    }
    return 0;
}

/* Copies the row's value from src to dst (strings duplicated). */
static int copy_value(lt_config *dst, const lt_config *src, const cf_key *k)
{
    const void *from = cfield_ptr(src, k);
    cf_value v = {0};

    if (is_string_type(k->type)) {
        v.s = *(char *const *)from;
        if (v.s == NULL) {
            free(*(char **)field_ptr(dst, k));
            *(char **)field_ptr(dst, k) = NULL;
            return 0;
        }
    } else if (k->type == CF_BOOL) {
        v.b = *(const bool *)from;
    } else if (k->type == CF_ENUM) {
        v.i = *(const int *)from;
    } else {
        v.i = *(const int64_t *)from;
    }
    return store(dst, k, &v);
}

static bool value_equal(const lt_config *a, const lt_config *b, const cf_key *k)
{
    const void *pa = cfield_ptr(a, k), *pb = cfield_ptr(b, k);

    if (is_string_type(k->type)) {
        const char *sa = *(char *const *)pa, *sb = *(char *const *)pb;

        return strcmp(sa != NULL ? sa : "", sb != NULL ? sb : "") == 0;
    }
    switch (k->type) {
    case CF_BOOL:
        return *(const bool *)pa == *(const bool *)pb;
    case CF_ENUM:
        return *(const int *)pa == *(const int *)pb;
    default:
        return *(const int64_t *)pa == *(const int64_t *)pb;
    }
}

/* ---- public: lifecycle -------------------------------------------------- */

void lt_config_free(lt_config *cfg)
{
    if (cfg == NULL)
        return;
    for (size_t i = 0; i < NKEYS; i++) {
        if (is_string_type(keys[i].type)) {
            char **p = field_ptr(cfg, &keys[i]);

            free(*p);
            *p = NULL;
        }
    }
    memset(cfg, 0, sizeof *cfg);
}

int lt_config_init_defaults(lt_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    for (size_t i = 0; i < NKEYS; i++) {
        cf_value v = {0};

        /* A default that does not parse is a bug in the table; the unit test
         * loads the defaults, so it cannot ship. */
        if (parse_text(&keys[i], keys[i].def, &v) != PARSE_OK || store(cfg, &keys[i], &v) < 0) {
            lt_config_free(cfg);
            return -1;
        }
    }
    return 0;
}

int lt_config_copy(lt_config *dst, const lt_config *src)
{
    memset(dst, 0, sizeof *dst);
    for (size_t i = 0; i < NKEYS; i++) {
        if (copy_value(dst, src, &keys[i]) < 0) {
            lt_config_free(dst);
            return -1;
        }
    }
    return 0;
}

/* ---- loading: the file -------------------------------------------------- */

static const cf_key *find_key(const char *dotted)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (strcmp(keys[i].key, dotted) == 0)
            return &keys[i];
    return NULL;
}

/* True when dotted is a section: some key starts with "dotted.". */
static const cf_key *find_section(const char *dotted)
{
    size_t len = strlen(dotted);

    for (size_t i = 0; i < NKEYS; i++)
        if (strncmp(keys[i].key, dotted, len) == 0 && keys[i].key[len] == '.')
            return &keys[i];
    return NULL;
}

/* Levenshtein distance, for "did you mean". Long inputs are never close. */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t row[KEY_MAX + 1];

    if (la > KEY_MAX || lb > KEY_MAX)
        return (size_t)-1;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];

        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);

            if (row[j] + 1 < best)
                best = row[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

static const char *leaf(const char *dotted)
{
    const char *dot = strrchr(dotted, '.');

    return dot != NULL ? dot + 1 : dotted;
}

/* The closest key or section name within edit distance 2; failing that, the
 * one key whose last part equals the unknown name's last part ("listen" at
 * the top level means http.listen). Empty when nothing fits. */
static void suggest(const char *unknown, char *buf, size_t cap)
{
    size_t best = 3;
    const cf_key *same_leaf = NULL;
    int same_leaf_count = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < NKEYS; i++) {
        const char *key = keys[i].key;
        size_t d = edit_distance(unknown, key);

        if (d < best) {
            best = d;
            snprintf(buf, cap, "%s", key);
        }
        for (const char *dot = strchr(key, '.'); dot != NULL; dot = strchr(dot + 1, '.')) {
            char section[KEY_MAX];

            snprintf(section, sizeof section, "%.*s", (int)(dot - key), key);
            /* "http.x" is not a misspelt "http": the section was right. */
            if (strncmp(unknown, section, strlen(section)) == 0 && unknown[strlen(section)] == '.')
                continue;
            d = edit_distance(unknown, section);
            if (d < best) {
                best = d;
                snprintf(buf, cap, "%s", section);
            }
        }
        if (strcmp(leaf(key), leaf(unknown)) == 0) {
            same_leaf = &keys[i];
            same_leaf_count++;
        }
    }
    if (buf[0] == '\0' && same_leaf_count == 1)
        snprintf(buf, cap, "%s", same_leaf->key);
}

static void unknown_key(lt_config_error *err, const char *dotted)
{
    char near[KEY_MAX];

    suggest(dotted, near, sizeof near);
    if (near[0] != '\0')
        set_err(err, dotted, "unknown key (did you mean %s?)", near);
    else
        set_err(err, dotted, "unknown key");
}

static int apply_json(lt_config *cfg, const cf_key *k, const json_t *v, lt_config_error *err)
{
    cf_value val = {0};
    lt_cfg_parse st = PARSE_SYNTAX;
    char expected[256], got[128];

    if (k->type == CF_BOOL) {
        if (json_is_boolean(v)) {
            val.b = json_is_true(v);
            st = PARSE_OK;
        }
    } else if (k->type == CF_ENUM && json_is_boolean(v)) {
        /* zmq.curve: a JSON true/false is the enum's "true"/"false". */
        st = parse_text(k, json_is_true(v) ? "true" : "false", &val);
    } else if ((k->type == CF_SIZE || k->type == CF_COUNT) && json_is_integer(v)) {
        val.i = json_integer_value(v);
        st = val.i < k->min || val.i > k->max ? PARSE_RANGE : PARSE_OK;
    } else if (json_is_string(v)) {
        /* A \u0000 inside a JSON string would silently cut a C string. */
        if (strlen(json_string_value(v)) == json_string_length(v))
            st = parse_text(k, json_string_value(v), &val);
    }
    if (st == PARSE_OK) {
        if (store(cfg, k, &val) < 0) {
            set_err(err, k->key, "out of memory");
            return -1;
        }
        return 0;
    }
    expected_phrase(k, st == PARSE_SYNTAX, false, expected, sizeof expected);
    lt_cfgtext_describe_json(v, (k->flags & CF_SECRET) != 0, got, sizeof got);
    set_err(err, k->key, "expected %s, got %s", expected, got);
    return -1;
}

/* Walks one JSON object whose members are keys or sections under prefix
 * ("" at the top). Members named "#..." are comments. */
static int apply_object(lt_config *cfg, const json_t *obj, const char *prefix, lt_config_error *err)
{
    const char *name;
    json_t *value;

    json_object_foreach((json_t *)obj, name, value)
    {
        char dotted[KEY_MAX];
        const cf_key *k, *section;
        char got[128];
        int n;

        if (name[0] == '#')
            continue;
        n = snprintf(dotted, sizeof dotted, "%s%s%s", prefix, prefix[0] != '\0' ? "." : "", name);
        if (n < 0 || (size_t)n >= sizeof dotted) {
            set_err(err, dotted, "unknown key");
            return -1;
        }
        if (name[0] == '\0' || strchr(name, '.') != NULL) {
            /* {"http.listen": ...} would be a second spelling of one key. */
            set_err(err, dotted,
                    "unknown key (sections are nested objects: {\"http\": "
                    "{\"listen\": ...}})");
            return -1;
        }
        k = find_key(dotted);
        if (k != NULL) {
            if (apply_json(cfg, k, value, err) < 0)
                return -1;
            continue;
        }
        section = find_section(dotted);
        if (section == NULL) {
            unknown_key(err, dotted);
            return -1;
        }
        if (!json_is_object(value)) {
            lt_cfgtext_describe_json(value, false, got, sizeof got);
            set_err(err, dotted, "expected an object (a section holding keys such as %s), got %s",
                    section->key, got);
            return -1;
        }
        if (apply_object(cfg, value, dotted, err) < 0)
            return -1;
    }
    return 0;
}

static int apply_file(lt_config *cfg, const char *path, lt_config_error *err)
{
    json_error_t jerr;
    json_t *root;
    char got[64];
    int rc = -1;

    root = json_load_file(path, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
    if (root == NULL) {
        /* Line -1 means the file could not be read; the text names it. */
        if (jerr.line > 0)
            set_err(err, "", "%s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text);
        else
            set_err(err, "", "%s", jerr.text);
        goto out;
    }
    if (!json_is_object(root)) {
        lt_cfgtext_describe_json(root, false, got, sizeof got);
        set_err(err, "", "%s: expected a JSON object at the top level, got %s", path, got);
        goto out;
    }
    rc = apply_object(cfg, root, "", err);
out:
    json_decref(root);
    return rc;
}

/* ---- loading: the environment ------------------------------------------- */

/* "LIENTHONG_" + the key upper-cased, '.' as '_'. */
static void env_name(const cf_key *k, char *buf, size_t cap)
{
    size_t len;

    snprintf(buf, cap, "%s%s", ENV_PREFIX, k->key);
    len = strlen(buf);
    for (size_t i = strlen(ENV_PREFIX); i < len; i++)
        buf[i] = buf[i] == '.' ? '_' : (char)toupper((unsigned char)buf[i]);
}

static const char *env_lookup(char *const *envp, const char *name)
{
    size_t len = strlen(name);

    for (char *const *e = envp; *e != NULL; e++)
        if (strncmp(*e, name, len) == 0 && (*e)[len] == '=')
            return *e + len + 1;
    return NULL;
}

static int apply_env(lt_config *cfg, char *const *envp, lt_config_error *err)
{
    for (size_t i = 0; i < NKEYS; i++) {
        const cf_key *k = &keys[i];
        char name[KEY_MAX + sizeof ENV_PREFIX];
        char expected[256], got[128];
        const char *text;
        cf_value v = {0};
        lt_cfg_parse st;

        env_name(k, name, sizeof name);
        text = env_lookup(envp, name);
        if (text == NULL)
            continue;
        st = parse_text(k, text, &v);
        if (st != PARSE_OK) {
            expected_phrase(k, st == PARSE_SYNTAX, true, expected, sizeof expected);
            if (k->flags & CF_SECRET)
                snprintf(got, sizeof got, "a hidden value");
            else
                lt_cfgtext_quote(text, got, sizeof got);
            set_err(err, k->key, "%s: expected %s, got %s", name, expected, got);
            return -1;
        }
        if (store(cfg, k, &v) < 0) {
            set_err(err, k->key, "out of memory");
            return -1;
        }
    }
    return 0;
}

/* ---- CurveZMQ ---------------------------------------------------------- */

/* "127.a.b.c:" with digits only: a name like 127.example.org is not one. */
static bool loopback_v4(const char *host)
{
    int dots = 0;
    const char *p;

    if (strncmp(host, "127.", 4) != 0)
        return false;
    for (p = host + 4; *p != '\0' && *p != ':'; p++) {
        if (*p == '.')
            dots++;
        else if (!isdigit((unsigned char)*p))
            return false;
    }
    return *p == ':' && dots == 2 && p[-1] != '.';
}

bool lt_config_zmq_local(const char *endpoint)
{
    const char *host;

    if (strncmp(endpoint, "inproc://", 9) == 0 || strncmp(endpoint, "ipc://", 6) == 0)
        return true;
    if (strncmp(endpoint, "tcp://", 6) != 0)
        return false;
    host = endpoint + 6;
    return loopback_v4(host) || strncmp(host, "localhost:", 10) == 0 ||
           strncmp(host, "[::1]:", 6) == 0;
}

bool lt_config_zmq_curve(const lt_config *cfg)
{
    if (cfg->zmq.curve == LT_ZMQ_CURVE_ON)
        return true;
    if (cfg->zmq.curve == LT_ZMQ_CURVE_OFF)
        return false;
    return !lt_config_zmq_local(cfg->zmq.ingress) || !lt_config_zmq_local(cfg->zmq.replay);
}

int lt_config_curve_key_path(const lt_config *cfg, char *buf, size_t cap)
{
    int n = cfg->zmq.curve_key[0] != '\0'
                ? snprintf(buf, cap, "%s", cfg->zmq.curve_key)
                : snprintf(buf, cap, "%s/curve/server.key", cfg->data_dir);

    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* Plain text on a socket other machines can reach would carry tokens and
 * whole dossiers in clear: zmq.curve = false is for loopback development.
 * zmq.events is not counted: it is public and carries no personal data. */
static int check_curve(const lt_config *cfg, lt_config_error *err)
{
    const char *open_key = !lt_config_zmq_local(cfg->zmq.ingress)  ? "zmq.ingress"
                           : !lt_config_zmq_local(cfg->zmq.replay) ? "zmq.replay"
                                                                   : NULL;

    if (cfg->zmq.curve != LT_ZMQ_CURVE_OFF || open_key == NULL)
        return 0;
    set_err(err, "zmq.curve",
            "false is allowed only when zmq.ingress and zmq.replay are loopback (127.0.0.1, "
            "::1, localhost, ipc:// or inproc://), but %s is %s; set zmq.curve to true or auto "
            "and make keys with lienthong keygen",
            open_key, strcmp(open_key, "zmq.ingress") == 0 ? cfg->zmq.ingress : cfg->zmq.replay);
    return -1;
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
        set_err(err, "", "out of memory");
        return -1;
    }
    if (file == NULL) {
        if (stat(DEFAULT_FILE, &st) == 0)
            file = DEFAULT_FILE;
        else if (errno != ENOENT) {
            set_err(err, "", "%s: %s", DEFAULT_FILE, strerror(errno));
            goto out;
        }
    }
    if (file != NULL && apply_file(cfg, file, err) < 0)
        goto out;
    if (apply_env(cfg, envp != NULL ? envp : environ, err) < 0)
        goto out;
    if (check_curve(cfg, err) < 0)
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
    for (size_t i = 0; i < NKEYS; i++) {
        const cf_key *k = &keys[i];

        if (value_equal(cur, next, k))
            continue;
        if (k->flags & CF_RELOAD) {
            if (copy_value(cur, next, k) < 0)
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

/* ---- printing ----------------------------------------------------------- */

static const char *type_name(cf_type t)
{
    switch (t) {
    case CF_STRING:
        return "string";
    case CF_URL:
        return "URL";
    case CF_PATH:
        return "path";
    case CF_LISTEN:
        return "listen address";
    case CF_ZMQ:
        return "ZeroMQ endpoint";
    case CF_BOOL:
        return "bool";
    case CF_DURATION:
        return "duration";
    case CF_SIZE:
        return "size";
    case CF_ENUM:
        return "enum";
    case CF_COUNT:
        return "number";
    }
    return "?";
}

void lt_config_print_table(FILE *out)
{
    fprintf(out, "| key | environment variable | type | default | reload | meaning |\n");
    fprintf(out, "| --- | --- | --- | --- | --- | --- |\n");
    for (size_t i = 0; i < NKEYS; i++) {
        const cf_key *k = &keys[i];
        char env[KEY_MAX + sizeof ENV_PREFIX], type[256], range[80], names[160];

        env_name(k, env, sizeof env);
        if (k->type == CF_DURATION || k->type == CF_SIZE || k->type == CF_COUNT) {
            format_range(k, range, sizeof range);
            snprintf(type, sizeof type, "%s %s", type_name(k->type), range);
        } else if (k->type == CF_ENUM) {
            format_enum_names(k, "`", names, sizeof names);
            snprintf(type, sizeof type, "one of %s", names);
        } else if (k->type == CF_PATH && (k->flags & CF_NONEMPTY)) {
            snprintf(type, sizeof type, "path, non-empty");
        } else {
            snprintf(type, sizeof type, "%s", type_name(k->type));
        }
        fprintf(out, "| `%s` | `%s` | %s | %s%s%s | %s | %s%s |\n", k->key, env, type,
                k->def[0] != '\0' ? "`" : "", k->def[0] != '\0' ? k->def : "empty",
                k->def[0] != '\0' ? "`" : "", (k->flags & CF_RELOAD) ? "yes" : "no", k->help,
                (k->flags & CF_SECRET) ? " (secret, printed as `***`)" : "");
    }
}

/* The JSON value of one row, in the form the file accepts. */
static json_t *value_json(const lt_config *cfg, const cf_key *k)
{
    const void *p = cfield_ptr(cfg, k);
    char buf[64];
    const char *name;

    if (is_string_type(k->type)) {
        const char *s = *(char *const *)p;

        if (s == NULL)
            s = "";
        if ((k->flags & CF_SECRET) && s[0] != '\0')
            s = "***";
        return json_string(s);
    }
    switch (k->type) {
    case CF_BOOL:
        return json_boolean(*(const bool *)p);
    case CF_DURATION:
        lt_cfgtext_format_duration(*(const int64_t *)p, buf, sizeof buf);
        return json_string(buf);
    case CF_SIZE:
        if (lt_cfgtext_format_size(*(const int64_t *)p, buf, sizeof buf))
            return json_string(buf);
        return json_integer(*(const int64_t *)p);
    case CF_COUNT:
        return json_integer(*(const int64_t *)p);
    case CF_ENUM:
        name = enum_name(k, *(const int *)p);
        return name != NULL ? json_string(name) : json_integer(*(const int *)p);
    default:
        return json_null();
    }
}

/* Sets root[a][b]...[leaf] = value for dotted key "a.b.leaf", making the
 * section objects on the way. Steals value. */
static int set_dotted(json_t *root, const char *dotted, json_t *value)
{
    json_t *obj = root;
    const char *part = dotted;
    const char *dot;

    if (value == NULL)
        return -1;
    while ((dot = strchr(part, '.')) != NULL) {
        char section[KEY_MAX];
        json_t *child;

        snprintf(section, sizeof section, "%.*s", (int)(dot - part), part);
        child = json_object_get(obj, section);
        if (child == NULL) {
            child = json_object();
            if (json_object_set_new(obj, section, child) < 0) {
                json_decref(value);
                return -1;
            }
        }
        obj = child;
        part = dot + 1;
    }
    return json_object_set_new(obj, part, value);
}

void lt_config_print_json(const lt_config *cfg, FILE *out)
{
    json_t *root = json_object();

    if (root == NULL)
        return;
    for (size_t i = 0; i < NKEYS; i++)
        if (set_dotted(root, keys[i].key, value_json(cfg, &keys[i])) < 0)
            goto out;
    if (json_dumpf(root, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER) == 0)
        fputc('\n', out);
out:
    json_decref(root);
}
