/* lt_catalog_cli: `lienthong catalog sync | show | diff`. Kept apart from
 * lt_catalog.c so that the sync machinery (which the national API source
 * and the HTTP front will reuse) holds no argument parsing or printing, and
 * apart from main.c so that main only gains one table entry.
 *
 * Schema policy: `catalog sync` writes, so like `serve` it applies pending
 * migrations first (safe with other processes: the migrator takes its own
 * advisory lock); `show` and `diff` only read, so they change nothing and
 * refuse with "run lienthong migrate" when the schema is behind. */
#include "lt_catalog.h"
#include "lt_catalog_api.h"
#include "lt_catalog_feed.h"
#include "lt_catalog_check.h"
#include "lt_overlay_cli.h"
#include "lt_config.h"
#include "lt_db.h"
#include "lt_dbsession.h"
#include "lt_log.h"
#include "lt_migrate.h"
#include "lt_paths.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EXIT_FAILED 1
#define EXIT_USAGE  2

const char lt_catalog_help[] =
    "usage: lienthong catalog sync [--file FILE] [--full] [--json]\n"
    "       lienthong catalog show CODE [--json]\n"
    "       lienthong catalog diff V1 V2 [--json]\n"
    "       lienthong catalog check FILE|- [--json]\n"
    "       lienthong catalog overlay set LOCAL_CODE --base CODE [--time N --unit U]\n"
    "                         [--same-day] [--supplement pause|restart]\n"
    "                         [--fees FILE] [--owner UNIT] [--note TEXT] [--json]\n"
    "       lienthong catalog overlay rm LOCAL_CODE | overlay list [--json]\n"
    "\n"
    "The national procedure catalog (CSDLQG TTHC) as the gateway keeps it.\n"
    "\n"
    "catalog sync --file FILE\n"
    "  Loads an export of procedure records: one JSON array of records in the\n"
    "  national detail-call shape (MATTHC, TENTTHC, TRANGTHAI, CAPTHUCHIEN[],\n"
    "  CACHTHUCTHUCHIEN[]...). New procedures are added, changed ones updated\n"
    "  (the previous version is kept in history), and every change becomes one\n"
    "  catalog event (topic catalog.<code>) in the global event sequence.\n"
    "  Records whose content is unchanged cost nothing and produce no event.\n"
    "  All or nothing: one malformed record (bad JSON, no MATTHC, a level\n"
    "  outside 0..3, a list that is not an array...) refuses the whole file,\n"
    "  names the record's index, byte offset and field, and changes nothing;\n"
    "  fix the file and run the command again. Every attempt is recorded in\n"
    "  catalog_sync_runs (counts, duration, outcome, error and position).\n"
    "  Pending migrations are applied first. Only one sync runs at a time.\n"
    "  --full   the file is the whole catalog: procedures missing from it are\n"
    "           abolished (kept and readable, marked abolished); a procedure\n"
    "           that comes back later is restored\n"
    "\n"
    "catalog sync (without --file)\n"
    "  Reads the national catalog API at catalog.url: LayDanhSachTTHC for the\n"
    "  list, then LayThuTuc?maTTHC=CODE for each procedure, catalog.concurrency\n"
    "  calls at once. The list is the whole catalog: procedures missing from it\n"
    "  are abolished (an empty list is refused). A call that fails (network,\n"
    "  timeout, 5xx) is retried catalog.retries times with doubling back-off\n"
    "  from catalog.retry_delay; then, or on any other error answer or a\n"
    "  malformed record, the whole sync fails naming the procedure code and\n"
    "  nothing changes. Procedures whose NGAYCAPNHAT in the list equals the\n"
    "  stored one are not fetched again.\n"
    "  --full   fetch every procedure, whatever NGAYCAPNHAT says\n"
    "  Progress goes to stderr (a bar on a terminal, JSON log lines otherwise).\n"
    "  Federation: when catalog.url ends in /v1/catalog it is a parent gateway's\n"
    "  feed (GET /v1/catalog, our own contract), read whole, page by page; a\n"
    "  full sync too (serve's later rounds ask only what changed, since=).\n"
    "\n"
    "catalog show CODE\n"
    "  One procedure: name, levels, status (published, unpublished or\n"
    "  abolished since when), catalog version, per-channel times and fees. A\n"
    "  local overlay (procedure_overlays row for CODE) is applied on read: its\n"
    "  time limit replaces each channel's THOIGIANGIAIQUYET that is longer\n"
    "  (compared in hours, a working day = 8 h, a day = 24 h), its fees replace\n"
    "  every channel's PHILEPHI; the stored record is never changed, so a\n"
    "  re-sync keeps the overlay. --json prints both records and what the\n"
    "  overlay changed.\n"
    "\n"
    "catalog diff V1 V2\n"
    "  The codes added, changed and abolished between catalog versions V1 and\n"
    "  V2 (each sync that changes anything makes a version; `catalog sync`\n"
    "  prints it; 0 is the empty catalog).\n"
    "\n"
    "catalog check FILE|-\n"
    "  Judges an export file offline, without a database, with the same reader\n"
    "  and rules as sync --file, and reports EVERY refused record (index, byte\n"
    "  offset, MATTHC, path, expected, got), not only the first; --json prints\n"
    "  {\"records\", \"rejected\", \"results\": [...]}. A repeated MATTHC is\n"
    "  found only by sync. Exit 0 when sync would accept every record.\n"
    "\n"
    "catalog overlay set|rm|list\n"
    "  A province's local variant of a national procedure (procedure_overlays),\n"
    "  which no sync touches and which show and GET /v1/catalog apply on read:\n"
    "  --base the national code it derives from; --time N --unit working_day|\n"
    "  day|hour a time limit replacing any longer one; --fees FILE a JSON array\n"
    "  in the PHILEPHI shape replacing every channel's fees; --owner the unit\n"
    "  that decided it. Due-date rules of the on-time report (lienthong report):\n"
    "  --same-day  a dossier without NgayHenTra is due at the closing of the\n"
    "              working day it was received, or of the next working day\n"
    "              when received after 15:00 (a clock time, whatever\n"
    "              calendar.hours say); not with --time\n"
    "  --supplement pause|restart  when a supplement round completes, the due\n"
    "              date moves by the working time it waited (pause, the\n"
    "              default), or the full duration runs again from the\n"
    "              completion (restart): the procedure's time limit, else\n"
    "              the working time from receipt to the due date the round\n"
    "              interrupted\n"
    "  set replaces the whole overlay: an option left out goes back to its\n"
    "  default. When LOCAL_CODE is in the catalog, a change makes a new\n"
    "  catalog version and one catalog event (change \"overlay\"), so wards\n"
    "  following GET /v1/catalog?since= or ZeroMQ receive it again.\n"
    "\n"
    "Exit status: 0 done; 1 refused input, another sync running, unknown code\n"
    "or version, database unreachable; 2 usage error.\n"
    "\n"
    "Examples:\n"
    "  lienthong catalog sync --file tthc-h56-2026-06.json --full\n"
    "  LIENTHONG_CATALOG_URL=https://csdl.dichvucong.gov.vn/api lienthong catalog sync\n"
    "  lienthong catalog show 1.003560.000.00.00.H56\n"
    "  lienthong catalog diff 3 4 --json | jq -r '.changed[]'\n";

/* An open database for one command: its configuration and session. */
typedef struct {
    lt_config cfg;         /* loaded configuration */
    bool cfg_loaded;       /* cfg must be freed */
    lt_dbsession *session; /* target, connection, schema */
    PGconn *conn;          /* borrowed from session */
} cli_db;

static void db_close(cli_db *db)
{
    lt_dbsession_close(&db->session);
    db->conn = NULL;
    if (db->cfg_loaded)
        lt_config_free(&db->cfg);
    db->cfg_loaded = false;
}

/* Loads the configuration and opens the database like every command does;
 * applies pending migrations (write) or insists that there are none (read).
 * Returns an exit status: 0 connected. */
static int db_open(cli_db *db, const char *config_path, bool apply, const char *cmd)
{
    lt_config_error cerr;
    char source[PATH_MAX], err[1024] = "";
    if (lt_config_load(&db->cfg, config_path, NULL, &cerr, source, sizeof(source)) < 0) {
        fprintf(stderr, "lienthong catalog %s: configuration error: %s%s%s\n", cmd, cerr.key,
                cerr.key[0] ? ": " : "", cerr.message);
        return EXIT_USAGE;
    }
    db->cfg_loaded = true;
    lt_log_set_level((lt_log_level)db->cfg.log.level);
    db->session =
        lt_dbsession_open(&db->cfg, apply ? LT_SCHEMA_APPLY : LT_SCHEMA_CURRENT, err, sizeof(err));
    if (!db->session) {
        fprintf(stderr, "lienthong catalog %s: %s\n", cmd,
                err[0] ? err : "cannot open the database");
        db_close(db);
        return EXIT_FAILED;
    }
    db->conn = lt_dbsession_conn(db->session);
    return 0;
}

static void print_json(json_t *doc)
{
    json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
    putchar('\n');
}

/* ---- sync ---------------------------------------------------------------- */

typedef struct {
    bool tty;     /* draw a bar on stderr */
    bool drawn;   /* a bar line is on screen */
    int64_t last; /* records at the last log line */
} progress_state;

static void progress(void *ctx, int64_t records, int64_t bytes, int64_t total)
{
    progress_state *ps = ctx;
    int pct = total > 0 ? (int)(bytes * 100 / total) : 0;
    if (ps->tty) {
        char bar[41];
        int fill = pct * 40 / 100;
        for (int i = 0; i < 40; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[40] = '\0';
        fprintf(stderr, "\rcatalog sync [%s] %3d%%  %" PRId64 " records", bar, pct, records);
        ps->drawn = true;
        return;
    }
    /* Without a terminal, a JSON line every 1,000 records is enough to see
     * it move without flooding the log. */
    if (records - ps->last < 1000 && !(total > 0 && bytes >= total))
        return;
    ps->last = records;
    lt_log_json(LT_LOG_INFO,
                json_pack("{s:I, s:I, s:I}", "records", (json_int_t)records, "bytes",
                          (json_int_t)bytes, "total_bytes", (json_int_t)total),
                "catalog sync: %" PRId64 " records read", records);
}

static int cmd_sync(int argc, char **argv, bool json, const char *config_path)
{
    const char *file = NULL;
    bool full = false;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--full") == 0) {
            full = true;
        } else if (strcmp(argv[i], "--file") == 0 && i + 1 < argc) {
            file = argv[++i];
        } else if (strncmp(argv[i], "--file=", 7) == 0) {
            file = argv[i] + 7;
        } else {
            fprintf(stderr,
                    "lienthong catalog sync: unknown option %s (see lienthong catalog --help)\n",
                    argv[i]);
            return EXIT_USAGE;
        }
    }
    if (file && !*file) {
        fprintf(stderr, "lienthong catalog sync: --file needs a file name\n");
        return EXIT_USAGE;
    }
    cli_db db = {0};
    int rc = db_open(&db, config_path, true, "sync");
    if (rc != 0)
        return rc;
    if (!file && !db.cfg.catalog.url[0]) {
        fprintf(stderr, "lienthong catalog sync: no --file and catalog.url is empty; give "
                        "--file FILE or set catalog.url (LIENTHONG_CATALOG_URL)\n");
        db_close(&db);
        return EXIT_USAGE;
    }
    progress_state ps = {.tty = isatty(STDERR_FILENO) == 1};
    lt_catalog_result res;
    lt_catalog_error err;
    lt_catalog_api_stats st = {0};
    memset(&err, 0, sizeof(err));
    int ok;
    if (file) {
        ok = lt_catalog_sync_file(db.conn, file, full, 0, progress, &ps, &res, &err);
    } else {
        const lt_config *c = &db.cfg;
        lt_catalog_api_opts o = {.url = c->catalog.url,
                                 .concurrency = (int)c->catalog.concurrency,
                                 .timeout_ms = c->catalog.timeout_ms,
                                 .retries = (int)c->catalog.retries,
                                 .retry_delay_ms = c->catalog.retry_delay_ms,
                                 .ca_file = c->catalog.ca_file,
                                 .fetch_all = full};
        /* A parent gateway's feed (federation) or the national API. */
        ok = lt_catalog_feed_url(o.url) ? lt_catalog_sync_feed(db.conn, &o, &res, &st, &err)
                                        : lt_catalog_sync_api(db.conn, &o, &res, &st, &err);
    }
    if (ps.drawn)
        fputc('\n', stderr);
    if (ok < 0) {
        if (json) {
            json_t *doc =
                json_pack("{s:s, s:s, s:s?, s:b}", "outcome", "failed", "error", err.message,
                          "position", err.position[0] ? err.position : NULL, "busy", err.busy);
            if (err.run_id)
                json_object_set_new(doc, "run", json_integer(err.run_id));
            print_json(doc);
            json_decref(doc);
        }
        fprintf(stderr, "lienthong catalog sync: %s\n", err.message);
        if (err.position[0])
            fprintf(stderr, "  position: %s\n", err.position);
        if (!err.busy)
            fprintf(stderr, "  nothing was changed%s", err.run_id ? "; " : ".\n");
        if (!err.busy && err.run_id)
            fprintf(stderr, "the failed attempt is recorded as run %" PRId64 "\n", err.run_id);
        lt_log_json(
            LT_LOG_ERROR,
            json_pack("{s:I, s:s}", "run", (json_int_t)err.run_id, "position", err.position),
            "catalog sync failed: %s", err.message);
        db_close(&db);
        return EXIT_FAILED;
    }
    lt_log_json(LT_LOG_INFO,
                json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f}", "run",
                          (json_int_t)res.run_id, "version", (json_int_t)res.version, "records",
                          (json_int_t)res.records, "added", (json_int_t)res.added, "changed",
                          (json_int_t)res.changed, "abolished", (json_int_t)res.abolished,
                          "unchanged", (json_int_t)res.unchanged, "last_seq",
                          (json_int_t)res.last_seq, "duration_s", res.duration_s),
                "catalog sync done");
    if (json) {
        json_t *doc =
            json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f}", "outcome", "ok", "run",
                      (json_int_t)res.run_id, "records", (json_int_t)res.records, "added",
                      (json_int_t)res.added, "changed", (json_int_t)res.changed, "restored",
                      (json_int_t)res.restored, "abolished", (json_int_t)res.abolished, "unchanged",
                      (json_int_t)res.unchanged, "version", (json_int_t)res.version, "duration_s",
                      res.duration_s);
        /* No version and no events when nothing changed: null, not 0. */
        if (!res.version)
            json_object_set_new(doc, "version", json_null());
        json_object_set_new(doc, "first_seq",
                            res.first_seq ? json_integer(res.first_seq) : json_null());
        json_object_set_new(doc, "last_seq",
                            res.last_seq ? json_integer(res.last_seq) : json_null());
        if (!file)
            json_object_set_new(
                doc, "api",
                json_pack("{s:I, s:I, s:I, s:I, s:i}", "listed", (json_int_t)st.listed, "fetched",
                          (json_int_t)st.fetched, "skipped", (json_int_t)st.skipped, "retried",
                          (json_int_t)st.retried, "max_in_flight", st.max_in_flight));
        print_json(doc);
        json_decref(doc);
    } else {
        if (!file)
            printf("catalog API: %" PRId64 " listed, %" PRId64 " fetched, %" PRId64
                   " unchanged by NGAYCAPNHAT (not fetched), %" PRId64 " retries\n",
                   st.listed, st.fetched, st.skipped, st.retried);
        printf("catalog sync ok (run %" PRId64 ", %.2f s): %" PRId64 " records: %" PRId64
               " added, %" PRId64 " changed (%" PRId64 " restored), %" PRId64 " abolished, %" PRId64
               " unchanged\n",
               res.run_id, res.duration_s, res.records, res.added, res.changed, res.restored,
               res.abolished, res.unchanged);
        if (res.version)
            printf("catalog version %" PRId64 "; events %" PRId64 "..%" PRId64 "\n", res.version,
                   res.first_seq, res.last_seq);
        else
            printf("nothing changed: no new catalog version, no events\n");
    }
    db_close(&db);
    return 0;
}

/* ---- show ---------------------------------------------------------------- */

static const char *level_name(json_int_t l)
{
    static const char *const names[] = {"ministry", "province", "district", "commune"};
    return l >= 0 && l <= 3 ? names[l] : "?";
}

static const char *channel_name(const char *k)
{
    if (k && strcmp(k, "1") == 0)
        return "in person";
    if (k && strcmp(k, "2") == 0)
        return "online";
    if (k && strcmp(k, "3") == 0)
        return "by post";
    return "channel ?";
}

static const char *str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static void print_procedure(const json_t *doc)
{
    printf("code        %s\n", str(doc, "code"));
    printf("base code   %s\n", str(doc, "base_code"));
    printf("name        %s\n", str(doc, "name"));
    printf("levels      ");
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(doc, "levels"), i, v)
    {
        printf("%s%lld %s", i ? ", " : "", (long long)json_integer_value(v),
               level_name(json_integer_value(v)));
    }
    printf("\n");
    if (json_is_true(json_object_get(doc, "abolished")))
        printf("state       ABOLISHED since %s (no longer in the national list)\n",
               str(doc, "abolished_at"));
    else
        printf("state       %s (TRANGTHAI \"%s\")\n",
               json_is_true(json_object_get(doc, "published")) ? "published" : "not published",
               str(doc, "status"));
    printf("field       %s\n", str(doc, "field_code"));
    printf("version     %lld (updated %s; %lld earlier version(s) in history)\n",
           (long long)json_integer_value(json_object_get(doc, "catalog_version")),
           str(doc, "updated_at"),
           (long long)json_integer_value(json_object_get(doc, "history_versions")));
    const json_t *ov = json_object_get(doc, "overlay");
    if (json_is_object(ov)) {
        printf("overlay     local variant");
        if (json_is_string(json_object_get(ov, "time_limit")))
            printf(", time limit %s %s", str(ov, "time_limit"), str(ov, "time_limit_unit"));
        if (json_is_array(json_object_get(ov, "fees")))
            printf(", local fees");
        if (json_is_string(json_object_get(ov, "note")))
            printf(" (%s)", str(ov, "note"));
        printf("\n");
        json_array_foreach(json_object_get(doc, "overlay_applied"), i, v)
        {
            if (json_is_string(json_object_get(v, "from")))
                printf("            %s: %s -> %s\n", str(v, "path"), str(v, "from"), str(v, "to"));
            else
                printf("            %s: replaced by the local fees\n", str(v, "path"));
        }
    } else {
        printf("overlay     none\n");
    }
    const json_t *rec = json_object_get(doc, "record");
    json_array_foreach(json_object_get(rec, "CACHTHUCTHUCHIEN"), i, v)
    {
        printf("channel %s (%s):", str(v, "KENH"), channel_name(str(v, "KENH")));
        size_t j;
        json_t *t;
        json_array_foreach(json_object_get(v, "THOIGIAN"), j, t)
        {
            printf("%s %s %s", j ? "," : "", str(t, "THOIGIANGIAIQUYET"), str(t, "DONVITINH"));
        }
        json_array_foreach(json_object_get(v, "PHILEPHI"), j, t)
        {
            printf("%s %s %s VND", j ? "," : "; fees", str(t, "MAPHILEPHI"), str(t, "SOTIEN"));
        }
        printf("\n");
    }
}

static int cmd_show(int argc, char **argv, bool json, const char *config_path)
{
    if (argc != 3 || argv[2][0] == '-') {
        fprintf(stderr, "lienthong catalog show: give one procedure code, e.g. lienthong catalog "
                        "show 2.000908\n");
        return EXIT_USAGE;
    }
    cli_db db = {0};
    int rc = db_open(&db, config_path, false, "show");
    if (rc != 0)
        return rc;
    /* Times in the country's zone, as operators read them. */
    PQclear(PQexec(db.conn, "SET TimeZone = 'Asia/Ho_Chi_Minh'"));
    json_t *doc = NULL;
    lt_catalog_error err;
    int found = lt_catalog_show(db.conn, argv[2], &doc, &err);
    if (found < 0) {
        fprintf(stderr, "lienthong catalog show: %s\n", err.message);
        rc = EXIT_FAILED;
    } else if (found == 0) {
        fprintf(stderr,
                "lienthong catalog show: no procedure %s in the catalog (codes are MATTHC as "
                "published, e.g. 2.000908 or 1.003560.000.00.00.H56; load the catalog with "
                "lienthong catalog sync --file FILE)\n",
                argv[2]);
        rc = EXIT_FAILED;
    } else if (json) {
        print_json(doc);
    } else {
        print_procedure(doc);
    }
    json_decref(doc);
    db_close(&db);
    return rc;
}

/* ---- diff ---------------------------------------------------------------- */

static bool parse_version(const char *s, int64_t *ret)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < 0)
        return false;
    *ret = v;
    return true;
}

static int cmd_diff(int argc, char **argv, bool json, const char *config_path)
{
    int64_t v1, v2;
    if (argc != 4 || !parse_version(argv[2], &v1) || !parse_version(argv[3], &v2)) {
        fprintf(stderr, "lienthong catalog diff: give two catalog versions, e.g. lienthong "
                        "catalog diff 3 4 (0 = the empty catalog)\n");
        return EXIT_USAGE;
    }
    cli_db db = {0};
    int rc = db_open(&db, config_path, false, "diff");
    if (rc != 0)
        return rc;
    json_t *doc = NULL;
    lt_catalog_error err;
    if (lt_catalog_diff(db.conn, v1, v2, &doc, &err) < 0) {
        fprintf(stderr, "lienthong catalog diff: %s\n", err.message);
        rc = EXIT_FAILED;
    } else if (json) {
        print_json(doc);
    } else {
        static const char *const kinds[] = {"added", "changed", "abolished"};
        printf("catalog versions %" PRId64 " -> %" PRId64 ": %zu added, %zu changed, %zu "
               "abolished\n",
               v1, v2, json_array_size(json_object_get(doc, "added")),
               json_array_size(json_object_get(doc, "changed")),
               json_array_size(json_object_get(doc, "abolished")));
        for (size_t k = 0; k < 3; k++) {
            size_t i;
            json_t *c;
            json_array_foreach(json_object_get(doc, kinds[k]), i, c)
            {
                printf("%-10s %s\n", kinds[k], json_string_value(c));
            }
        }
    }
    json_decref(doc);
    db_close(&db);
    return rc;
}

int lt_catalog_main(int argc, char **argv, bool json, const char *config_path)
{
    if (argc < 2) {
        fputs(lt_catalog_help, stderr);
        return EXIT_USAGE;
    }
    if (strcmp(argv[1], "sync") == 0)
        return cmd_sync(argc, argv, json, config_path);
    if (strcmp(argv[1], "show") == 0)
        return cmd_show(argc, argv, json, config_path);
    if (strcmp(argv[1], "diff") == 0)
        return cmd_diff(argc, argv, json, config_path);
    if (strcmp(argv[1], "check") == 0)
        return lt_catalog_check_main(argc, argv, json);
    if (strcmp(argv[1], "overlay") == 0) {
        lt_config cfg;
        lt_config_error cerr;
        char source[PATH_MAX];
        if (lt_config_load(&cfg, config_path, NULL, &cerr, source, sizeof(source)) < 0) {
            fprintf(stderr, "lienthong catalog overlay: configuration error: %s%s%s\n", cerr.key,
                    cerr.key[0] ? ": " : "", cerr.message);
            return EXIT_USAGE;
        }
        lt_log_set_level((lt_log_level)cfg.log.level);
        int rc = lt_overlay_main(&cfg, argc, argv, json);
        lt_config_free(&cfg);
        return rc;
    }
    fprintf(stderr,
            "lienthong catalog: unknown subcommand %s (sync, show, diff or check; see lienthong "
            "catalog "
            "--help)\n",
            argv[1]);
    return EXIT_USAGE;
}
