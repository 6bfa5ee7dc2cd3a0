/* lt_overlay_cli: `lienthong catalog overlay set|rm|list`, the province's
 * local variants of national procedures (a shorter time limit, local fees,
 * and the due-date rules the catalog cannot say: same-day procedures, and
 * a supplement round restarting the duration instead of pausing it) in
 * procedure_overlays, which no catalog sync ever touches.
 *
 * Overlays are applied on read (catalog show, GET /v1/catalog), so a change
 * must reach the wards' delta feed like a catalog change does: when the
 * procedure is in the catalog, setting or removing its overlay makes a new
 * catalog version, moves the procedure to it (keeping the previous row in
 * procedure_history, so `catalog diff` still compares contents), and
 * appends one catalog event (change "overlay") to the stored-event log, all
 * in one transaction under the catalog sync lock. */
#include "lt_overlay_cli.h"
#include "lt_catalog.h"
#include "lt_db.h"
#include "lt_dbsession.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXIT_FAILED 1
#define EXIT_USAGE  2

/* The key every catalog sync takes (lt_catalog.c), as a transaction lock:
 * an overlay change waits for a running sync instead of racing it. */
#define SYNC_LOCK "SELECT pg_advisory_xact_lock(1818846574, 6513012)"

typedef struct {
    const char *code, *base, *time, *unit, *fees_file, *owner, *note;
    const char *supplement; /* "pause" (NULL: the default) or "restart" */
    bool same_day;          /* --same-day */
} overlay_args;

static int usage(const char *what, const char *arg)
{
    fprintf(stderr, "lienthong catalog overlay: %s%s (see lienthong catalog overlay --help)\n",
            what, arg ? arg : "");
    return EXIT_USAGE;
}

/* Moves an existing procedure to a new catalog version and appends its
 * "overlay" event; nothing when the code is not (yet) in the catalog. */
static int propagate(PGconn *c, const char *code, const char *change, char *err, size_t cap)
{
    const char *p[2] = {code, change};
    PGresult *r =
        lt_db_exec(c,
                   "WITH p AS (SELECT * FROM procedures WHERE code = $1 FOR UPDATE),"
                   " v AS (INSERT INTO catalog_versions (sync_run_id)"
                   "  SELECT NULL FROM p RETURNING version),"
                   " h AS (INSERT INTO procedure_history (code, catalog_version, superseded_in,"
                   "  base_code, name, levels, status, abolished_at, content_hash, record,"
                   "  field_code) SELECT p.code, p.catalog_version, v.version, p.base_code,"
                   "  p.name, p.levels, p.status, p.abolished_at, p.content_hash, p.record,"
                   "  p.field_code FROM p, v),"
                   " u AS (UPDATE procedures SET catalog_version = v.version, updated_at = now()"
                   "  FROM v WHERE procedures.code = $1 RETURNING v.version)"
                   " SELECT lt_append_events(ARRAY['catalog'], ARRAY['catalog.' || $1],"
                   "  ARRAY[NULL::text], ARRAY[$1::text], ARRAY[NULL::text],"
                   "  ARRAY[NULL::smallint], ARRAY[jsonb_build_object('change', $2::text,"
                   "  'code', $1::text, 'catalog_version', u.version, 'overlay',"
                   "  (SELECT to_jsonb(o) FROM procedure_overlays o WHERE local_code = $1))]),"
                   "  u.version FROM u",
                   2, p, err, cap);
    if (!r)
        return -1;
    int rc = 0;
    if (PQntuples(r) == 1) {
        const char *n[2] = {LT_CATALOG_NOTIFY_CHANNEL, PQgetvalue(r, 0, 0)};
        rc = lt_db_exec_ok(c, "SELECT pg_notify($1, $2)", 2, n, err, cap);
    }
    PQclear(r);
    return rc;
}

static char *read_fees(const char *path, char *err, size_t cap)
{
    json_error_t je;
    json_t *fees =
        strcmp(path, "-") == 0 ? json_loadf(stdin, 0, &je) : json_load_file(path, 0, &je);
    if (!fees) {
        snprintf(err, cap, "--fees %s: %s (line %d)", path, je.text, je.line);
        return NULL;
    }
    char *text = NULL;
    if (!json_is_array(fees))
        snprintf(err, cap, "--fees %s: expected a JSON array of fees (PHILEPHI shape)", path);
    else
        text = json_dumps(fees, JSON_COMPACT);
    json_decref(fees);
    return text;
}

static int set_overlay(PGconn *c, const overlay_args *a, char *err, size_t cap)
{
    char *fees = NULL;
    if (a->fees_file && !(fees = read_fees(a->fees_file, err, cap)))
        return -1;
    const char *p[9] = {a->code,
                        a->base,
                        a->owner,
                        a->time,
                        a->unit,
                        fees,
                        a->note,
                        a->same_day ? "true" : "false",
                        a->supplement && strcmp(a->supplement, "restart") == 0 ? "true" : "false"};
    int rc = lt_db_exec_ok(
        c,
        "INSERT INTO procedure_overlays (local_code, base_code, unit_code, time_limit,"
        " time_limit_unit, fees, note, same_day, supplement_restart) VALUES ($1, $2, $3,"
        " $4::numeric, $5, $6::jsonb, $7, $8::boolean, $9::boolean) ON CONFLICT (local_code)"
        " DO UPDATE SET base_code = EXCLUDED.base_code, unit_code = EXCLUDED.unit_code,"
        " time_limit = EXCLUDED.time_limit, time_limit_unit = EXCLUDED.time_limit_unit,"
        " fees = EXCLUDED.fees, note = EXCLUDED.note, same_day = EXCLUDED.same_day,"
        " supplement_restart = EXCLUDED.supplement_restart, updated_at = now()",
        9, p, err, cap);
    free(fees);
    return rc < 0 ? -1 : propagate(c, a->code, "overlay", err, cap);
}

static int rm_overlay(PGconn *c, const char *code, char *err, size_t cap)
{
    const char *p[1] = {code};
    PGresult *r = lt_db_exec(c, "DELETE FROM procedure_overlays WHERE local_code = $1 RETURNING 1",
                             1, p, err, cap);
    if (!r)
        return -1;
    int n = PQntuples(r);
    PQclear(r);
    if (n == 0) {
        snprintf(err, cap, "no overlay for %s", code);
        return -1;
    }
    return propagate(c, code, "overlay_removed", err, cap);
}

static int list_overlays(PGconn *c, bool json)
{
    char err[512];
    PGresult *r =
        lt_db_exec(c,
                   "SELECT coalesce(json_agg(json_build_object('local_code', local_code,"
                   " 'base_code', base_code, 'owner', unit_code, 'time_limit', time_limit,"
                   " 'time_limit_unit', time_limit_unit, 'same_day', same_day, 'supplement',"
                   " CASE WHEN supplement_restart THEN 'restart' ELSE 'pause' END,"
                   " 'fees', fees, 'note', note, 'updated_at', updated_at)"
                   " ORDER BY local_code), '[]') FROM procedure_overlays",
                   0, NULL, err, sizeof(err));
    if (!r) {
        fprintf(stderr, "lienthong catalog overlay list: %s\n", err);
        return EXIT_FAILED;
    }
    json_t *arr = json_loads(PQgetvalue(r, 0, 0), 0, NULL);
    PQclear(r);
    if (json) {
        json_t *doc = json_pack("{s:o}", "overlays", arr);
        json_dumpf(doc, stdout, JSON_COMPACT);
        putchar('\n');
        json_decref(doc);
        return 0;
    }
    size_t i;
    json_t *o;
    printf("%-28s %-10s %-12s %-16s %-10s %s\n", "local code", "base", "owner", "time limit",
           "supplement", "fees");
    json_array_foreach(arr, i, o)
    {
        char limit[48] = "-";
        if (json_is_true(json_object_get(o, "same_day")))
            snprintf(limit, sizeof(limit), "same day");
        else if (json_is_string(json_object_get(o, "time_limit_unit")))
            snprintf(limit, sizeof(limit), "%g %s",
                     json_number_value(json_object_get(o, "time_limit")),
                     json_string_value(json_object_get(o, "time_limit_unit")));
        const char *owner = json_string_value(json_object_get(o, "owner"));
        printf("%-28s %-10s %-12s %-16s %-10s %s\n",
               json_string_value(json_object_get(o, "local_code")),
               json_string_value(json_object_get(o, "base_code")), owner ? owner : "-", limit,
               json_string_value(json_object_get(o, "supplement")),
               json_is_array(json_object_get(o, "fees")) ? "local" : "-");
    }
    json_decref(arr);
    return 0;
}

static int parse_args(int argc, char **argv, overlay_args *a, bool *json)
{
    for (int i = 3; i < argc; i++) {
        const char *k = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        const char **slot = strcmp(k, "--base") == 0         ? &a->base
                            : strcmp(k, "--time") == 0       ? &a->time
                            : strcmp(k, "--unit") == 0       ? &a->unit
                            : strcmp(k, "--fees") == 0       ? &a->fees_file
                            : strcmp(k, "--owner") == 0      ? &a->owner
                            : strcmp(k, "--note") == 0       ? &a->note
                            : strcmp(k, "--supplement") == 0 ? &a->supplement
                                                             : NULL;
        if (strcmp(k, "--json") == 0) {
            *json = true;
        } else if (strcmp(k, "--same-day") == 0) {
            a->same_day = true;
        } else if (slot && v) {
            *slot = v;
            i++;
        } else if (k[0] != '-' && !a->code) {
            a->code = k;
        } else {
            return usage("unexpected argument ", k);
        }
    }
    return 0;
}

int lt_overlay_main(const lt_config *cfg, int argc, char **argv, bool json)
{
    const char *sub = argc > 2 ? argv[2] : NULL;
    overlay_args a = {0};
    if (!sub || (strcmp(sub, "set") != 0 && strcmp(sub, "rm") != 0 && strcmp(sub, "list") != 0))
        return usage("which action? set, rm or list", NULL);
    if (parse_args(argc, argv, &a, &json) != 0)
        return EXIT_USAGE;
    bool is_set = strcmp(sub, "set") == 0, is_list = strcmp(sub, "list") == 0;
    if (is_list ? a.code != NULL : !a.code)
        return usage(is_list ? "list takes no code" : "which local code?", NULL);
    if (is_set && !a.base)
        return usage("set needs --base CODE, the national code it derives from", NULL);
    if (is_set && (!a.time != !a.unit))
        return usage("--time and --unit go together", NULL);
    if (is_set && a.unit && strcmp(a.unit, "working_day") != 0 && strcmp(a.unit, "day") != 0 &&
        strcmp(a.unit, "hour") != 0)
        return usage("--unit must be working_day, day or hour, not ", a.unit);
    if (is_set && a.same_day && a.time)
        return usage("--same-day is the time limit: no --time with it", NULL);
    if (is_set && a.supplement && strcmp(a.supplement, "pause") != 0 &&
        strcmp(a.supplement, "restart") != 0)
        return usage("--supplement must be pause or restart, not ", a.supplement);
    if (!is_set &&
        (a.base || a.time || a.fees_file || a.owner || a.note || a.same_day || a.supplement))
        return usage("only set takes options", NULL);

    char err[1024] = "";
    lt_dbsession *db =
        lt_dbsession_open(cfg, is_list ? LT_SCHEMA_CURRENT : LT_SCHEMA_APPLY, err, sizeof(err));
    if (!db) {
        fprintf(stderr, "lienthong catalog overlay %s: %s\n", sub, err);
        return EXIT_FAILED;
    }
    PGconn *c = lt_dbsession_conn(db);
    int rc = EXIT_FAILED;
    if (is_list) {
        rc = list_overlays(c, json);
        goto out;
    }
    if (lt_db_exec_ok(c, "BEGIN", 0, NULL, err, sizeof(err)) < 0 ||
        lt_db_exec_ok(c, SYNC_LOCK, 0, NULL, err, sizeof(err)) < 0 ||
        (is_set ? set_overlay(c, &a, err, sizeof(err)) : rm_overlay(c, a.code, err, sizeof(err))) <
            0 ||
        lt_db_exec_ok(c, "COMMIT", 0, NULL, err, sizeof(err)) < 0) {
        PQclear(PQexec(c, "ROLLBACK"));
        fprintf(stderr, "lienthong catalog overlay %s: %s; nothing changed\n", sub, err);
        goto out;
    }
    if (json)
        printf("{\"%s\":\"%s\"}\n", is_set ? "set" : "removed", a.code);
    else
        printf("overlay %s %s\n", is_set ? "set for" : "removed from", a.code);
    rc = 0;
out:
    lt_dbsession_close(&db);
    return rc;
}
