/* main: the `lienthong` command line. One binary, subcommands in one table;
 * global options (--config, --json, --help) may stand before or after the
 * subcommand (DESIGN.md, command line). Exit codes: 0 ok, 1 runtime
 * failure, 2 usage or configuration error, 3 unhealthy. */
#include "lt_check.h"
#include "lt_catalog.h"
#include "lt_config.h"
#include "lt_dbsession.h"
#include "lt_dialects.h"
#include "lt_keygen_cli.h"
#include "lt_log.h"
#include "lt_migrate.h"
#include "lt_paths.h"
#include "lt_rejects_cli.h"
#include "lt_report.h"
#include "lt_deadletters_cli.h"
#include "lt_demo_cli.h"
#include "lt_serve.h"
#include "lt_serve_check.h"
#include "lt_status_cli.h"
#include "lt_token_cli.h"
#include "lt_units.h"
#include "lt_verify.h"

#include <curl/curl.h>
#include <jansson.h>
#include <limits.h>
#include <microhttpd.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define EXIT_USAGE 2

/* What every subcommand receives: its own arguments (global options
 * removed) and the loaded configuration. */
typedef struct {
    int argc;
    char **argv;             /* argv[0] is the subcommand's name */
    bool json;               /* --json given */
    const char *config_path; /* --config, or NULL */
} cli_ctx;

typedef struct {
    const char *name;
    int (*run)(cli_ctx *cx);
    const char *summary;
    const char *help;
} command;

static int cmd_help(cli_ctx *cx);

static int load_config(const cli_ctx *cx, lt_config *cfg)
{
    lt_config_error err;
    char source[PATH_MAX];
    if (lt_config_load(cfg, cx->config_path, NULL, &err, source, sizeof(source)) < 0) {
        fprintf(stderr, "lienthong: configuration error: %s%s%s\n", err.key, err.key[0] ? ": " : "",
                err.message);
        return -1;
    }
    lt_log_set_level((lt_log_level)cfg->log.level);
    return 0;
}

static int cmd_version(cli_ctx *cx)
{
    if (cx->argc > 1) {
        fprintf(stderr, "lienthong version: unknown option %s (see lienthong version --help)\n",
                cx->argv[1]);
        return EXIT_USAGE;
    }
    int maj, min, pat;
    zmq_version(&maj, &min, &pat);
    char zmqv[32];
    snprintf(zmqv, sizeof(zmqv), "%d.%d.%d", maj, min, pat);
    char pqv[16];
    snprintf(pqv, sizeof(pqv), "%d", PQlibVersion());
    const char *curlv = curl_version_info(CURLVERSION_NOW)->version;
    if (cx->json) {
        json_t *j =
            json_pack("{s:s, s:{s:s, s:s, s:s, s:s, s:s, s:s}}", "version", LT_VERSION, "libraries",
                      "libzmq", zmqv, "jansson", JANSSON_VERSION, "libpq", pqv, "libcurl", curlv,
                      "libmicrohttpd", MHD_get_version(), "libsodium", sodium_version_string());
        json_dumpf(j, stdout, JSON_INDENT(2));
        putchar('\n');
        json_decref(j);
        return 0;
    }
    printf("lienthong %s\n", LT_VERSION);
    printf("  libzmq %s, jansson %s, libpq %s, libcurl %s, libmicrohttpd %s, libsodium %s\n", zmqv,
           JANSSON_VERSION, pqv, curlv, MHD_get_version(), sodium_version_string());
    return 0;
}

/* Dialect files are configuration too: a bad one is a configuration error,
 * found by `serve -n` before a sender meets it. */
static int check_dialects(const lt_config *cfg)
{
    char err[768];
    lt_dialects *d = lt_dialects_load(cfg, err, sizeof(err));
    if (!d) {
        fprintf(stderr, "lienthong: dialect error: %s\n", err);
        return -1;
    }
    lt_dialects_destroy(&d);
    return 0;
}

static int cmd_serve(cli_ctx *cx)
{
    bool check_only = false;
    for (int i = 1; i < cx->argc; i++) {
        if (strcmp(cx->argv[i], "-n") == 0 || strcmp(cx->argv[i], "--check-config") == 0) {
            check_only = true;
        } else {
            fprintf(stderr, "lienthong serve: unknown option %s (see lienthong serve --help)\n",
                    cx->argv[i]);
            return EXIT_USAGE;
        }
    }
    lt_config cfg;
    if (load_config(cx, &cfg) < 0)
        return EXIT_USAGE;
    int rc = EXIT_USAGE;
    if (check_dialects(&cfg) < 0)
        goto out;
    /* The files too, at every start and not only in the dry run: a CA file
     * nobody can read would otherwise fail every delivery, one at a time. */
    char err[PATH_MAX + 512];
    if (lt_serve_check_files(&cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "lienthong: configuration error: %s\n", err);
        goto out;
    }
    if (check_only) {
        if (cx->json)
            lt_config_print_json(&cfg, stdout);
        else
            printf("configuration OK\n");
        rc = 0;
        goto out;
    }
    rc = lt_serve_run(&cfg, cx->config_path);
out:
    lt_config_free(&cfg);
    return rc;
}

static void print_migrate_result(const cli_ctx *cx, const lt_migrations *m,
                                 const lt_migrate_state *st, int applied_now, bool status_only)
{
    if (cx->json) {
        json_t *j = json_pack("{s:i, s:i, s:i, s:b}", "known", st->known, "applied", st->applied,
                              "latest", st->latest, "current", st->applied == st->known);
        if (!status_only)
            json_object_set_new(j, "applied_now", json_integer(applied_now));
        json_dumpf(j, stdout, JSON_COMPACT);
        putchar('\n');
        json_decref(j);
        return;
    }
    if (status_only) {
        for (size_t i = 0; i < lt_migrations_count(m); i++)
            printf("%-40s %s\n", lt_migrations_name(m, i),
                   (int)i < st->applied ? "applied" : "pending");
    } else if (applied_now == 0) {
        printf("nothing to apply; ");
    } else {
        printf("applied %d migration(s); ", applied_now);
    }
    char desc[256];
    lt_migrate_describe(st, desc, sizeof(desc));
    printf("%s\n", desc);
}

static int cmd_migrate(cli_ctx *cx)
{
    bool status_only = false;
    for (int i = 1; i < cx->argc; i++) {
        if (strcmp(cx->argv[i], "--status") == 0) {
            status_only = true;
        } else {
            fprintf(stderr, "lienthong migrate: unknown option %s (see lienthong migrate --help)\n",
                    cx->argv[i]);
            return EXIT_USAGE;
        }
    }
    lt_config cfg;
    if (load_config(cx, &cfg) < 0)
        return EXIT_USAGE;
    char err[1024] = "";
    int rc = 1;
    lt_migrate_state st;
    lt_dbsession *db =
        lt_dbsession_open(&cfg, status_only ? LT_SCHEMA_ANY : LT_SCHEMA_APPLY, err, sizeof(err));
    if (!db || lt_migrate_check(lt_dbsession_conn(db), lt_dbsession_migrations(db), &st, err,
                                sizeof(err)) < 0)
        goto out;
    print_migrate_result(cx, lt_dbsession_migrations(db), &st, lt_dbsession_applied(db),
                         status_only);
    rc = 0;
out:
    if (rc != 0)
        fprintf(stderr, "lienthong migrate: %s\n", err[0] ? err : "failed");
    lt_dbsession_close(&db);
    lt_config_free(&cfg);
    return rc;
}

static int cmd_units(cli_ctx *cx)
{
    /* Usage errors are answered before any configuration or database. */
    if (cx->argc < 2 || strcmp(cx->argv[1], "import") != 0 || cx->argc != 3)
        return lt_units_import_main(NULL, cx->argc, cx->argv, cx->json);
    lt_config cfg;
    if (load_config(cx, &cfg) < 0)
        return EXIT_USAGE;
    int rc = lt_units_import_main(&cfg, cx->argc, cx->argv, cx->json);
    lt_config_free(&cfg);
    return rc;
}

static int cmd_token(cli_ctx *cx)
{
    lt_config cfg;
    if (load_config(cx, &cfg) < 0)
        return EXIT_USAGE;
    int rc = lt_token_main(&cfg, cx->argc, cx->argv, cx->json);
    lt_config_free(&cfg);
    return rc;
}

static int cmd_keygen(cli_ctx *cx)
{
    lt_config cfg;
    if (load_config(cx, &cfg) < 0)
        return EXIT_USAGE;
    int rc = lt_keygen_main(&cfg, cx->argc, cx->argv, cx->json);
    lt_config_free(&cfg);
    return rc;
}

static int cmd_rejects(cli_ctx *cx)
{
    lt_config cfg;
    if (load_config(cx, &cfg) < 0)
        return EXIT_USAGE;
    int rc = lt_rejects_main(&cfg, cx->argc, cx->argv, cx->json);
    lt_config_free(&cfg);
    return rc;
}

static int cmd_deadletters(cli_ctx *cx)
{
    lt_config cfg;
    if (load_config(cx, &cfg) < 0)
        return EXIT_USAGE;
    int rc = lt_deadletters_main(&cfg, cx->argc, cx->argv, cx->json);
    lt_config_free(&cfg);
    return rc;
}

static int cmd_replay(cli_ctx *cx)
{
    lt_config cfg;
    if (load_config(cx, &cfg) < 0)
        return EXIT_USAGE;
    int rc = lt_replay_main(&cfg, cx->argc, cx->argv, cx->json);
    lt_config_free(&cfg);
    return rc;
}

static int cmd_verify(cli_ctx *cx)
{
    lt_config cfg;
    if (load_config(cx, &cfg) < 0)
        return EXIT_USAGE;
    int rc = lt_verify_main(&cfg, cx->argc, cx->argv, cx->json);
    lt_config_free(&cfg);
    return rc;
}

static int cmd_check(cli_ctx *cx)
{
    lt_config cfg;
    if (load_config(cx, &cfg) < 0)
        return EXIT_USAGE;
    int rc = lt_check_main(&cfg, cx->argc, cx->argv, cx->json);
    lt_config_free(&cfg);
    return rc;
}

static int cmd_report(cli_ctx *cx)
{
    lt_config cfg;
    if (load_config(cx, &cfg) < 0)
        return EXIT_USAGE;
    int rc = lt_report_main(&cfg, cx->argc, cx->argv, cx->json);
    lt_config_free(&cfg);
    return rc;
}

static int cmd_demo(cli_ctx *cx)
{
    return lt_demo_main(cx->argc, cx->argv);
}

static int cmd_status(cli_ctx *cx)
{
    lt_config cfg;
    if (load_config(cx, &cfg) < 0)
        return EXIT_USAGE;
    int rc = lt_status_main(&cfg, cx->argc, cx->argv, cx->json);
    lt_config_free(&cfg);
    return rc;
}

static int cmd_catalog(cli_ctx *cx)
{
    return lt_catalog_main(cx->argc, cx->argv, cx->json, cx->config_path);
}

static const command commands[] = {
    {"serve", cmd_serve, "run the gateway",
     "usage: lienthong serve [-n] [--config FILE] [--json]\n"
     "\n"
     "Runs the gateway until stopped: the HTTP API on http.listen (pushes,\n"
     "reads, reports, status, /healthz, /readyz, the dashboard); the ZeroMQ\n"
     "ingress, events (PUB) and replay sockets (zmq.*); the writer that commits\n"
     "accepted records before they are answered; delivery to the portal, parent\n"
     "units, ward callbacks and webhooks with retries; the catalog sync\n"
     "(catalog.url, one gateway at a time); retention purges; and, when\n"
     "database.url is empty, an embedded PostgreSQL under data_dir that it\n"
     "initialises on first run and stops on exit. Pending migrations are\n"
     "applied whenever the database is (re)connected. While the database is\n"
     "unreachable, /readyz and pushes answer 503 with Retry-After.\n"
     "\n"
     "  -n, --check-config  check the configuration and exit: 0 when valid,\n"
     "                      2 with the offending key and why, including a file\n"
     "                      it names that serve could not use (http.tls_cert,\n"
     "                      http.tls_key, the CurveZMQ server key) (with --json,\n"
     "                      print the effective configuration, secrets hidden)\n"
     "\n"
     "Signals: SIGINT/SIGTERM stop cleanly (requests in progress finish);\n"
     "SIGHUP reloads the configuration file: the keys marked \"reload: yes\"\n"
     "in `lienthong help config` (log.level, http.max_body, limits.*,\n"
     "delivery.retry_*, status.*, retention.*, ...) apply at once; the others\n"
     "need a restart.\n"
     "Logs are JSON lines on stderr; personal data is masked.\n"
     "\n"
     "Examples:\n"
     "  lienthong serve                                  # embedded database in ./var\n"
     "  LIENTHONG_DATABASE_URL=postgresql://gw@db/lienthong lienthong serve\n"
     "  lienthong serve -n --config /etc/lienthong/lienthong.json\n"},
    {"migrate", cmd_migrate, "apply pending database migrations",
     "usage: lienthong migrate [--status] [--config FILE] [--json]\n"
     "\n"
     "Applies the SQL migrations this binary carries that the database lacks,\n"
     "each in its own transaction, recorded in schema_migrations. Safe to run\n"
     "while gateways are running and from several processes at once (an\n"
     "advisory lock serialises them); a second run does nothing.\n"
     "With the embedded database it uses the cluster a running `serve` started\n"
     "(same data_dir), or starts the cluster for its own duration.\n"
     "\n"
     "  --status   only show which migrations are applied and which pending\n"
     "\n"
     "Exit status: 0 done, 1 the database could not be reached or a migration\n"
     "failed (the failing one leaves no trace; the message names it).\n"},
    {"units", cmd_units, "load the tree of administrative units",
     "usage: lienthong units import FILE [--config FILE] [--json]\n"
     "\n"
     "Loads the unit tree (provinces, districts, communes, agencies) from FILE\n"
     "(\"-\" = standard input): a JSON array of\n"
     "  {\"code\", \"name\", \"level\", \"parent\", \"agency_id\", \"code_system\",\n"
     "   \"aliases\": [{\"code\" or \"agency_id\", \"valid_from\", \"valid_to\"}],\n"
     "   \"url\", \"dialect\"}\n"
     "level: \"ministry\", \"province\", \"district\", \"commune\" or 0..3; parent: a\n"
     "unit code (in the file or already stored) or null; dates YYYY-MM-DD;\n"
     "code_system defaults to \"gso\". Three-tier (province > district > commune)\n"
     "and two-tier (province > commune, since 2025-07-01) trees both load.\n"
     "\n"
     "The whole file is checked before anything is written: fields and types,\n"
     "levels, dates (valid_from <= valid_to), each alias has exactly one of\n"
     "code/agency_id, no repeated code or agency id, every parent known, no\n"
     "cycle, no parent of a lower level than its child, no alias equal to a\n"
     "live unit's code or agency id. One broken entry refuses the whole file,\n"
     "naming the entry (index and code) and the rule; nothing is written.\n"
     "Then everything is written in one transaction: new units are added,\n"
     "stored ones updated in place, each changed unit's aliases replaced.\n"
     "Units stored but missing from the file are KEPT, not deleted (dossiers\n"
     "and tokens may refer to them). Running gateways see the new tree at once.\n"
     "\n"
     "Uses the same database as serve (database.url, or the embedded cluster\n"
     "under data_dir) and applies pending migrations first, as serve does.\n"
     "Prints what changed: added, updated, unchanged, alias rows written, units\n"
     "kept (--json: one JSON object; a refusal: {\"error\": {...}}).\n"
     "\n"
     "Exit status: 0 done, 1 file refused or database failure (nothing\n"
     "written), 2 usage error.\n"
     "\n"
     "Example: lienthong units import deploy/units/example-2tier.json\n"},
    {"token", cmd_token, "create, list, rotate and revoke bearer tokens", lt_token_help},
    {"keygen", cmd_keygen, "CurveZMQ key pairs: the gateway's, or a unit's system's",
     lt_keygen_help},
    {"rejects", cmd_rejects, "list, show and resubmit refused records", lt_rejects_help},
    {"deadletters", cmd_deadletters,
     "list and show deliveries that were refused or ran out of retries", lt_deadletters_help},
    {"replay", cmd_replay, "send dead letters again", lt_replay_help},
    {"report", cmd_report, "on-time figures of a period by unit, field, procedure or month",
     lt_report_help},
    {"demo", cmd_demo, "the whole flow on simulated systems: a working day of dossiers",
     lt_demo_help},
    {"verify", cmd_verify, "check the tamper-evident chain of stored events", lt_verify_help},
    {"check", cmd_check, "validate dossier records offline (no database)",
     "usage: lienthong check [--dialect NAME] [--json] FILE|-\n"
     "\n"
     "Decodes and validates dossier records the way POST /v1/dossiers does,\n"
     "without a database: FILE (or - for standard input) holds one record (a\n"
     "JSON object) or an array of at most 1,000. Every rule of the canonical\n"
     "record is checked: required fields, strings where strings belong, lists,\n"
     "real dates yyyyMMddHHmmss, closed value sets, dossier and procedure code\n"
     "shapes, lengths in characters, date order. Rules that need the catalog,\n"
     "the unit tree or the stored dossier (status transitions) run at ingest.\n"
     "\n"
     "  --dialect NAME  the sender's dialect (default canonical): a mapping file\n"
     "                  among the installed dialects (vendor-a, vendor-b...), or\n"
     "                  a path to one, so a new vendor's mapping can be tried\n"
     "                  before it is installed; records are mapped to the\n"
     "                  canonical form first and mapping errors name the\n"
     "                  vendor's own field\n"
     "  --json          print {\"results\": [...]}, the HTTP answer's document:\n"
     "                  a valid record is {\"MaHoSo\", \"result\": \"accepted\"}\n"
     "                  without \"sequence\" (nothing is stored offline); a\n"
     "                  rejected one carries code 422, field, path, message and\n"
     "                  every error as {field, path, expected, got}. A body that\n"
     "                  cannot be read as records prints {\"error\": {code, message}}\n"
     "\n"
     "Without --json, valid records are printed in canonical form (keys sorted)\n"
     "and each error of a rejected record on its own line:\n"
     "  record 1 (000.00.06.H56-231027-0361): NgayHenTra: field NgayHenTra:\n"
     "    expected yyyyMMddHHmmss, got \"31/10/2024\"\n"
     "Personal data in error messages is masked.\n"
     "\n"
     "Exit status: 0 every record valid, 1 any record rejected or the input\n"
     "unreadable or malformed, 2 usage error (unknown option or dialect).\n"
     "\n"
     "Examples:\n"
     "  lienthong check schemas/examples/valid/tiep-nhan-truc-tiep.json\n"
     "  curl -s https://ward.example/export | lienthong check --json -\n"},
    {"catalog", cmd_catalog, "sync, show and compare the procedure catalog", lt_catalog_help},
    {"status", cmd_status, "destinations, senders, catalog and ingress; exit 3 when unhealthy",
     lt_status_help},
    {"version", cmd_version, "print the version and library versions",
     "usage: lienthong version [--json]\n"
     "\n"
     "Prints this binary's version and the versions of the libraries it runs\n"
     "with (libzmq, jansson, libpq, libcurl, libmicrohttpd, libsodium); with\n"
     "--json, {\"version\", \"libraries\": {...}}.\n"
     "\n"
     "Exit status: 0, or 2 on a usage error.\n"},
    {"help", cmd_help, "show help for a command, or every configuration key",
     "usage: lienthong help [COMMAND | config]\n"
     "\n"
     "  help COMMAND  what the command does and its options\n"
     "  help config   every configuration key: environment variable, type,\n"
     "                default, whether SIGHUP reloads it, meaning\n"},
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static const command *find_command(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

static void usage(FILE *out)
{
    fprintf(out,
            "lienthong %s: integration gateway for one-stop administrative-procedure systems\n"
            "\n"
            "usage: lienthong [--config FILE] [--json] COMMAND [OPTIONS]\n"
            "\n"
            "commands:\n",
            LT_VERSION);
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n"
                 "global options (before or after the command):\n"
                 "  --config FILE  configuration file (default ./lienthong.json if present);\n"
                 "                 every key can be overridden by LIENTHONG_<SECTION>_<KEY>\n"
                 "  --json         machine-readable output\n"
                 "  -h, --help     help for lienthong or for the command\n"
                 "\n"
                 "`lienthong COMMAND --help` explains a command. Exit codes: 0 ok, 1 failure,\n"
                 "2 usage or configuration error, 3 unhealthy.\n");
}

static int cmd_help(cli_ctx *cx)
{
    if (cx->argc < 2) {
        usage(stdout);
        return 0;
    }
    if (strcmp(cx->argv[1], "config") == 0) {
        lt_config_print_table(stdout);
        return 0;
    }
    const command *c = find_command(cx->argv[1]);
    if (!c) {
        fprintf(stderr, "lienthong: no command %s\n", cx->argv[1]);
        return EXIT_USAGE;
    }
    fputs(c->help, stdout);
    return 0;
}

int main(int argc, char **argv)
{
    cli_ctx cx = {0};
    bool help = false;
    if (sodium_init() < 0) {
        fprintf(stderr, "lienthong: libsodium failed to initialise\n");
        return 1;
    }
    char **rest = calloc((size_t)argc + 1, sizeof(*rest));
    if (!rest)
        return 1;
    /* Global options are taken out wherever they stand; what is left is the
     * subcommand and its own arguments. */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--json") == 0) {
            cx.json = true;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            help = true;
        } else if (strcmp(a, "--config") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "lienthong: --config needs a file name\n");
                free(rest);
                return EXIT_USAGE;
            }
            cx.config_path = argv[++i];
        } else if (strncmp(a, "--config=", 9) == 0) {
            cx.config_path = a + 9;
        } else {
            rest[cx.argc++] = argv[i];
        }
    }
    cx.argv = rest;
    int rc;
    if (cx.argc == 0) {
        usage(help ? stdout : stderr);
        rc = help ? 0 : EXIT_USAGE;
    } else {
        const command *c = find_command(rest[0]);
        if (!c) {
            fprintf(stderr, "lienthong: unknown command %s\n\n", rest[0]);
            usage(stderr);
            rc = EXIT_USAGE;
        } else if (help) {
            fputs(c->help, stdout);
            rc = 0;
        } else {
            rc = c->run(&cx);
        }
    }
    free(rest);
    return rc;
}
