/* lt_opcli: the shared half of the operators' row commands (see
 * lt_opcli.h).
 *
 * Why one grammar: `deadletters` and `rejects` are read by the same
 * operators and scripts; two hand-written parsers had already drifted in
 * their messages. Each command now declares its actions, its noun and its
 * list filter, and says nothing about argv itself. */
#include "lt_opcli.h"
#include "lt_db.h"
#include "lt_dbsession.h"
#include "lt_read_query.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_LIMIT 50
#define MAX_LIMIT     10000

static int usage(const lt_opcli_spec *spec, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int usage(const lt_opcli_spec *spec, const char *fmt, ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    fprintf(stderr, "lienthong %s: %s (see lienthong %s --help)\n", spec->command, what,
            spec->command);
    return LT_OPCLI_EXIT_USAGE;
}

static const lt_opcli_action *find_action(const lt_opcli_spec *spec, const char *name)
{
    for (const lt_opcli_action *x = spec->actions; name && x->name; x++)
        if (strcmp(x->name, name) == 0)
            return x;
    return NULL;
}

/* "list or show", "list, show or resubmit". */
static void action_names(const lt_opcli_spec *spec, char *buf, size_t cap)
{
    size_t n = 0, len = 0;
    while (spec->actions[n].name)
        n++;
    buf[0] = '\0';
    for (size_t i = 0; i < n && len < cap; i++) {
        const char *sep = i == 0 ? "" : i + 1 == n ? " or " : ", ";
        len += (size_t)snprintf(buf + len, cap - len, "%s%s", sep, spec->actions[i].name);
    }
}

static int parse(const lt_opcli_spec *spec, int argc, char **argv, bool json, lt_opcli_args *a)
{
    *a = (lt_opcli_args){.command = spec->command,
                         .noun = spec->noun,
                         .since = -1,
                         .limit = DEFAULT_LIMIT,
                         .json = json};
    a->sub = argc > 1 ? argv[1] : NULL;
    if (!find_action(spec, a->sub)) {
        char names[128];
        action_names(spec, names, sizeof(names));
        return usage(spec, "which action? %s", names);
    }
    bool list = strcmp(a->sub, "list") == 0;
    const char *target = NULL;
    for (int i = 2; i < argc; i++) {
        const char *o = argv[i];
        bool has_value = i + 1 < argc;
        if (strcmp(o, "--json") == 0) {
            a->json = true;
        } else if (list && spec->since && strcmp(o, "--since") == 0 && has_value) {
            if (!lt_read_parse_count(argv[++i], 0, INT64_MAX, &a->since))
                return usage(spec, "--since expects a %s id (a whole number), not %s", spec->noun,
                             argv[i]);
        } else if (list && strcmp(o, "--limit") == 0 && has_value) {
            if (!lt_read_parse_count(argv[++i], 1, MAX_LIMIT, &a->limit))
                return usage(spec, "--limit expects a number from 1 to %d, not %s", MAX_LIMIT,
                             argv[i]);
        } else if (list && spec->filter && strcmp(o, spec->filter) == 0 && has_value &&
                   argv[i + 1][0]) {
            a->filter = argv[++i];
        } else if (!list && o[0] != '-' && !target) {
            target = o;
        } else {
            return usage(spec, "unexpected argument %s", o);
        }
    }
    if (!list) {
        if (!target)
            return usage(spec, "%s needs the id of a %s (see lienthong %s list)", a->sub,
                         spec->noun, spec->command);
        if (!lt_read_parse_count(target, 1, INT64_MAX, &a->id))
            return usage(spec, "a %s id is a whole number, not %s", spec->noun, target);
    }
    return 0;
}

int lt_opcli_main(const lt_opcli_spec *spec, const lt_config *cfg, int argc, char **argv, bool json)
{
    lt_opcli_args a;
    int rc = parse(spec, argc, argv, json, &a);
    if (rc != 0)
        return rc;
    char err[1024];
    lt_dbsession *db = lt_dbsession_open(cfg, LT_SCHEMA_APPLY, err, sizeof(err));
    if (!db) {
        fprintf(stderr, "lienthong %s %s: %s\n", spec->command, a.sub, err);
        return LT_OPCLI_EXIT_FAILED;
    }
    rc = find_action(spec, a.sub)->run(lt_dbsession_conn(db), cfg, &a);
    lt_dbsession_close(&db);
    return rc;
}

PGresult *lt_opcli_by_id(PGconn *conn, const char *sql, const lt_opcli_args *a, char id[24])
{
    char err[512] = "";
    snprintf(id, 24, "%" PRId64, a->id);
    const char *p[1] = {id};
    PGresult *r = lt_db_exec(conn, sql, 1, p, err, sizeof(err));
    if (!r) {
        fprintf(stderr, "lienthong %s %s: %s\n", a->command, a->sub, err);
        return NULL;
    }
    if (PQntuples(r) == 0) {
        fprintf(stderr, "lienthong %s %s: no %s with id %s (see lienthong %s list)\n", a->command,
                a->sub, a->noun, id, a->command);
        PQclear(r);
        return NULL;
    }
    return r;
}

const char *lt_opcli_col(const PGresult *r, int row, int c)
{
    return PQgetisnull(r, row, c) ? NULL : PQgetvalue(r, row, c);
}

json_t *lt_opcli_text_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

json_t *lt_opcli_int_or_null(const char *s)
{
    return s ? json_integer(strtoll(s, NULL, 10)) : json_null();
}

void lt_opcli_table_time(const char *iso, char buf[20])
{
    snprintf(buf, 20, "%.10s %.8s", iso, strlen(iso) > 11 ? iso + 11 : "");
}

void lt_opcli_print_json(const json_t *doc)
{
    json_dumpf(doc, stdout, JSON_COMPACT);
    putchar('\n');
}
