/* lt_units_import: the database half of `lienthong units import` (the pure
 * half, parsing and validating a unit file, is lt_units.c): read the stored
 * tree, validate the file merged with it, write the difference in one
 * transaction, report. */
#include "lt_units.h"

#include "lt_db.h"
#include "lt_dbsession.h"

#include <jansson.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the import: database half ---------------------------------------------- */

/* Every stored unit with its aliases, as a unit file: the stored tree goes
 * through the same parser as the file, so both compare field by field. */
static const char existing_sql[] =
    "SELECT coalesce(json_agg(json_build_object('code', u.code, 'name', u.name, 'level', u.level, "
    "'parent', u.parent, 'agency_id', u.agency_id, 'code_system', u.code_system, 'url', u.url, "
    "'dialect', u.dialect, 'aliases', (SELECT coalesce(json_agg(json_build_object('code', a.code, "
    "'agency_id', a.agency_id, 'valid_from', a.valid_from, 'valid_to', a.valid_to) ORDER BY a.id), "
    "'[]'::json) FROM unit_aliases a WHERE a.unit_code = u.code)) ORDER BY u.code), '[]'::json) "
    "FROM units u";

static int write_aliases(PGconn *conn, const lt_unit *u, int *ret_written, char *err, size_t cap)
{
    const char *p[5] = {u->code};
    if (lt_db_exec_ok(conn, "DELETE FROM unit_aliases WHERE unit_code = $1", 1, p, err, cap) < 0)
        return -1;
    for (size_t k = 0; k < u->naliases; k++) {
        const lt_unit_alias *a = &u->aliases[k];
        p[1] = a->code;
        p[2] = a->agency_id;
        p[3] = a->valid_from;
        p[4] = a->valid_to;
        if (lt_db_exec_ok(
                conn,
                "INSERT INTO unit_aliases (unit_code, code, agency_id, valid_from, valid_to) "
                "VALUES ($1, $2, $3, $4::date, $5::date)",
                5, p, err, cap) < 0)
            return -1;
        (*ret_written)++;
    }
    return 0;
}

/* Writes the validated file (parents first) inside the caller's
 * transaction and counts what changed. */
static int write_units(PGconn *conn, const lt_units *file, const lt_units *existing,
                       lt_units_summary *sum, char *err, size_t cap)
{
    /* An agency id may move from one unit to another within one import; the
     * unique index is not deferrable, so moved ids are cleared first. */
    for (size_t i = 0; i < lt_units_count(file); i++) {
        const lt_unit *u = lt_units_at(file, i);
        const lt_unit *old = lt_units_find(existing, u->code);
        const char *p[1] = {u->code};
        if (old && old->agency_id && (!u->agency_id || strcmp(old->agency_id, u->agency_id) != 0) &&
            lt_db_exec_ok(conn, "UPDATE units SET agency_id = NULL WHERE code = $1", 1, p, err,
                          cap) < 0)
            return -1;
    }
    for (size_t i = 0; i < lt_units_count(file); i++) {
        const lt_unit *u = lt_units_at(file, i);
        const lt_unit *old = lt_units_find(existing, u->code);
        char level[4];
        snprintf(level, sizeof(level), "%d", u->level);
        const char *p[8] = {u->code,   u->code_system, u->name, level,
                            u->parent, u->agency_id,   u->url,  u->dialect};
        bool fields = old && lt_unit_same_fields(old, u);
        bool aliases = old && lt_unit_same_aliases(old, u);
        if (!old) {
            if (lt_db_exec_ok(
                    conn,
                    "INSERT INTO units (code, code_system, name, level, parent, agency_id, url, "
                    "dialect) VALUES ($1, $2, $3, $4::smallint, $5, $6, $7, $8)",
                    8, p, err, cap) < 0)
                return -1;
            sum->added++;
        } else if (fields && aliases) {
            sum->unchanged++;
            continue;
        } else {
            if (lt_db_exec_ok(
                    conn,
                    "UPDATE units SET code_system = $2, name = $3, level = $4::smallint, "
                    "parent = $5, agency_id = $6, url = $7, dialect = $8, updated_at = now() "
                    "WHERE code = $1",
                    8, p, err, cap) < 0)
                return -1;
            sum->updated++;
        }
        if (!aliases && write_aliases(conn, u, &sum->aliases, err, cap) < 0)
            return -1;
    }
    for (size_t i = 0; existing && i < lt_units_count(existing); i++)
        if (!lt_units_find(file, lt_units_at(existing, i)->code))
            sum->kept++;
    return 0;
}

/* Reads a whole file (or stdin for "-") into a NUL-terminated buffer. */
static char *read_all(const char *path, size_t *ret_len, char *err, size_t cap)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        snprintf(err, cap, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    size_t len = 0, size = 65536;
    char *buf = malloc(size);
    while (buf) {
        len += fread(buf + len, 1, size - len - 1, f);
        if (ferror(f) || feof(f))
            break;
        char *more = size > SIZE_MAX / 2 ? NULL : realloc(buf, size * 2);
        if (!more) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = more;
        size *= 2;
    }
    bool read_error = ferror(f) != 0;
    if (f != stdin)
        fclose(f);
    if (!buf || read_error) {
        snprintf(err, cap, "cannot read %s", path);
        free(buf);
        return NULL;
    }
    buf[len] = '\0';
    *ret_len = len;
    return buf;
}

static void print_refusal(const char *path, const lt_units_error *e, bool json)
{
    fprintf(stderr, "lienthong units import: %s refused, nothing written: %s\n", path, e->message);
    if (!json)
        return;
    json_t *j = json_pack("{s:{s:s, s:s, s:s, s:s}}", "error", "code", "invalid-unit-file", "rule",
                          e->rule, "message", e->message, "unit", e->code);
    if (j && e->index >= 0)
        json_object_set_new(json_object_get(j, "error"), "index", json_integer(e->index));
    if (j)
        json_dumpf(j, stdout, JSON_COMPACT);
    putchar('\n');
    json_decref(j);
}

static void print_summary(const char *path, const lt_units_summary *s, int migrated, bool json)
{
    if (json) {
        json_t *j = json_pack("{s:s, s:i, s:i, s:i, s:i, s:i, s:i}", "file", path, "added",
                              s->added, "updated", s->updated, "unchanged", s->unchanged, "kept",
                              s->kept, "aliases", s->aliases, "migrations_applied", migrated);
        if (j)
            json_dumpf(j, stdout, JSON_COMPACT);
        putchar('\n');
        json_decref(j);
        return;
    }
    printf("%s: %d added, %d updated, %d unchanged; %d alias row(s) written; %d unit(s) in the "
           "database but not in the file kept\n",
           path, s->added, s->updated, s->unchanged, s->aliases, s->kept);
}

static int import_file(const lt_config *cfg, const char *path, bool json)
{
    char err[1024] = "";
    size_t len = 0;
    lt_units *file = NULL, *existing = NULL;
    lt_dbsession *db = NULL;
    PGconn *conn = NULL;
    PGresult *res = NULL;
    lt_units_error uerr;
    lt_units_summary sum = {0};
    int rc = 1;
    bool in_tx = false, refused = false;

    char *text = read_all(path, &len, err, sizeof(err));
    if (!text)
        goto out;
    /* The file's own rules first: no database is started for a broken file. */
    if (!(file = lt_units_parse(text, len, &uerr))) {
        refused = true;
        goto out;
    }
    /* As serve does at start-up: an import right after installing must not
     * need a separate migrate step. */
    if (!(db = lt_dbsession_open(cfg, LT_SCHEMA_APPLY, err, sizeof(err))))
        goto out;
    conn = lt_dbsession_conn(db);
    if (lt_db_exec_ok(conn, "BEGIN", 0, NULL, err, sizeof(err)) < 0)
        goto out;
    in_tx = true;
    /* Concurrent imports take turns; readers (gateways routing dossiers)
     * carry on and see the new tree at commit. */
    if (lt_db_exec_ok(conn, "LOCK TABLE units, unit_aliases IN SHARE ROW EXCLUSIVE MODE", 0, NULL,
                      err, sizeof(err)) < 0 ||
        !(res = lt_db_exec(conn, existing_sql, 0, NULL, err, sizeof(err))))
        goto out;
    existing = lt_units_parse(PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0), &uerr);
    if (!existing) {
        snprintf(err, sizeof(err), "the units stored in the database cannot be read: %s",
                 uerr.message);
        goto out;
    }
    if (lt_units_validate(file, existing, &uerr) < 0) {
        refused = true;
        goto out;
    }
    if (write_units(conn, file, existing, &sum, err, sizeof(err)) < 0 ||
        lt_db_exec_ok(conn, "COMMIT", 0, NULL, err, sizeof(err)) < 0)
        goto out;
    in_tx = false;
    print_summary(path, &sum, lt_dbsession_applied(db), json);
    rc = 0;
out:
    if (in_tx) {
        PGresult *r = PQexec(conn, "ROLLBACK");
        PQclear(r);
    }
    if (refused)
        print_refusal(path, &uerr, json);
    else if (rc != 0)
        fprintf(stderr, "lienthong units import: %s; nothing written\n", err[0] ? err : "failed");
    PQclear(res);
    lt_dbsession_close(&db);
    lt_units_destroy(&existing);
    lt_units_destroy(&file);
    free(text);
    return rc;
}

int lt_units_import_main(const lt_config *cfg, int argc, char **argv, bool json)
{
    if (argc < 2) {
        fprintf(stderr, "lienthong units: which action? usage: lienthong units import FILE "
                        "(see lienthong units --help)\n");
        return 2;
    }
    if (strcmp(argv[1], "import") != 0) {
        fprintf(stderr, "lienthong units: unknown action %s (see lienthong units --help)\n",
                argv[1]);
        return 2;
    }
    if (argc != 3 || (argv[2][0] == '-' && argv[2][1] != '\0')) {
        fprintf(stderr, "usage: lienthong units import FILE (see lienthong units --help)\n");
        return 2;
    }
    return import_file(cfg, argv[2], json);
}
