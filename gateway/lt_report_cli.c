/* lt_report_cli: `lienthong report` (DESIGN.md, command line) and the two
 * renderings for people and spreadsheets: an aligned table whose widths
 * count characters, not bytes (unit and procedure names are Vietnamese;
 * combining marks take no column), and CSV per RFC 4180. The figures come
 * from lt_report; this file only parses options and formats. */
#include "lt_dbsession.h"
#include "lt_report.h"
#include "lt_sbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXIT_FAILED 1
#define EXIT_USAGE  2
#define LABEL_MAX   40 /* characters of a name in the table */

const char lt_report_help[] =
    "usage: lienthong report --from YYYY-MM-DD --to YYYY-MM-DD [--unit CODE]\n"
    "                        [--group unit|field|procedure|month] [--format table|csv|json]\n"
    "\n"
    "The on-time report of a period (inclusive days, Asia/Ho_Chi_Minh), one row per\n"
    "receiving unit (default), field (MaLinhVuc), procedure or month, and a total row:\n"
    "received, online, resolved (early, on time, late), open at the period's end (in\n"
    "progress, overdue), withdrawn, and the share resolved early or on time of the\n"
    "resolved and of the received (percent). --unit keeps that unit and its subtree.\n"
    "Rules: README.md, \"On-time report\".\n"
    "\n"
    "  --format table  aligned columns for a terminal (default)\n"
    "  --format csv    one header line, then a line per row and the total\n"
    "  --format json   (or --json) {\"from\", \"to\", \"group\", \"rows\": [{\"key\",\n"
    "                  \"received\", \"online\", \"resolved\", \"early\", \"on_time\",\n"
    "                  \"late\", \"in_progress\", \"overdue\", \"withdrawn\",\n"
    "                  \"rate_of_resolved\", \"rate_of_received\"}], \"total\": {the\n"
    "                  same counts and rates}}; a rate is null when its divisor is 0\n"
    "\n"
    "Exit status: 0, 1 when the database cannot be reached or the report fails,\n"
    "2 on a usage error.\n"
    "\n"
    "Example: lienthong report --from 2025-01-01 --to 2025-12-31 --group month\n";

static const char *const columns[] = {"received",        "online",
                                      "resolved",        "early",
                                      "on_time",         "late",
                                      "in_progress",     "overdue",
                                      "withdrawn",       "rate_of_resolved",
                                      "rate_of_received"};
#define NCOLUMNS (sizeof(columns) / sizeof(columns[0]))

/* Columns a string takes: one per character, none for continuation bytes
 * and the combining marks U+0300-U+036F (decomposed Vietnamese). */
static size_t width_of(const char *s, size_t *ret_cut, size_t max)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t w = 0, i = 0;
    while (p[i]) {
        bool combining = p[i] == 0xCC || (p[i] == 0xCD && p[i + 1] < 0xB0);
        size_t len = p[i] < 0x80 ? 1 : p[i] < 0xE0 ? 2 : p[i] < 0xF0 ? 3 : 4;
        if (!combining) {
            if (w == max)
                break;
            w++;
        }
        for (size_t k = 0; k < len && p[i]; k++)
            i++;
    }
    if (ret_cut)
        *ret_cut = i;
    return w;
}

static void cell(const json_t *o, const char *name, char *buf, size_t cap)
{
    const json_t *v = json_object_get(o, name);
    if (json_is_integer(v))
        snprintf(buf, cap, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        snprintf(buf, cap, "%.2f", json_real_value(v));
    else
        snprintf(buf, cap, "%s", "");
}

static void pad(lt_sbuf *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        lt_sbuf_addc(b, ' ');
}

char *lt_report_table(const json_t *doc, const json_t *labels)
{
    const json_t *rows = json_object_get(doc, "rows");
    size_t nrows = json_array_size(rows) + 1; /* and the total */
    char **first = calloc(nrows, sizeof(*first));
    size_t kw = width_of(json_string_value(json_object_get(doc, "group")), NULL, SIZE_MAX);
    size_t w[NCOLUMNS];
    lt_sbuf b = {0};
    if (!first)
        return NULL;
    for (size_t c = 0; c < NCOLUMNS; c++)
        w[c] = strlen(columns[c]);
    for (size_t i = 0; i < nrows; i++) {
        const json_t *o = i + 1 < nrows ? json_array_get(rows, i) : json_object_get(doc, "total");
        const char *key = i + 1 < nrows ? json_string_value(json_object_get(o, "key")) : "total";
        const char *name = json_string_value(json_object_get(labels, key ? key : ""));
        size_t cut = 0;
        if (name)
            width_of(name, &cut, LABEL_MAX);
        lt_sbuf t = {0};
        lt_sbuf_adds(&t, key && *key ? key : "(none)");
        if (name) {
            lt_sbuf_adds(&t, "  ");
            lt_sbuf_add(&t, name, cut);
        }
        first[i] = t.data;
        if (first[i]) {
            size_t kwi = width_of(first[i], NULL, SIZE_MAX);
            kw = kwi > kw ? kwi : kw;
        }
        for (size_t c = 0; c < NCOLUMNS; c++) {
            char v[32];
            cell(o, columns[c], v, sizeof(v));
            w[c] = strlen(v) > w[c] ? strlen(v) : w[c];
        }
    }
    /* Header, rows, a rule, the total. */
    const char *group = json_string_value(json_object_get(doc, "group"));
    lt_sbuf_adds(&b, group);
    pad(&b, kw - width_of(group, NULL, SIZE_MAX));
    for (size_t c = 0; c < NCOLUMNS; c++) {
        pad(&b, 2 + w[c] - strlen(columns[c]));
        lt_sbuf_adds(&b, columns[c]);
    }
    lt_sbuf_addc(&b, '\n');
    for (size_t i = 0; i < nrows; i++) {
        const json_t *o = i + 1 < nrows ? json_array_get(rows, i) : json_object_get(doc, "total");
        const char *k = first[i] ? first[i] : "";
        if (i + 1 == nrows) {
            size_t all = kw;
            for (size_t c = 0; c < NCOLUMNS; c++)
                all += 2 + w[c];
            for (size_t n = 0; n < all; n++)
                lt_sbuf_addc(&b, '-');
            lt_sbuf_addc(&b, '\n');
        }
        lt_sbuf_adds(&b, k);
        pad(&b, kw - width_of(k, NULL, SIZE_MAX));
        for (size_t c = 0; c < NCOLUMNS; c++) {
            char v[32];
            cell(o, columns[c], v, sizeof(v));
            if (!v[0])
                snprintf(v, sizeof(v), "-");
            pad(&b, 2 + w[c] - strlen(v));
            lt_sbuf_adds(&b, v);
        }
        lt_sbuf_addc(&b, '\n');
    }
    for (size_t i = 0; i < nrows; i++)
        free(first[i]);
    free(first);
    if (lt_sbuf_failed(&b)) {
        lt_sbuf_free(&b);
        return NULL;
    }
    return b.data;
}

/* RFC 4180: a field with a comma, quote or line break is quoted, quotes
 * doubled. */
static void csv_field(lt_sbuf *b, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        lt_sbuf_adds(b, s);
        return;
    }
    lt_sbuf_addc(b, '"');
    for (; *s; s++) {
        if (*s == '"')
            lt_sbuf_addc(b, '"');
        lt_sbuf_addc(b, *s);
    }
    lt_sbuf_addc(b, '"');
}

char *lt_report_csv(const json_t *doc)
{
    lt_sbuf b = {0};
    const json_t *rows = json_object_get(doc, "rows");
    size_t nrows = json_array_size(rows) + 1;
    lt_sbuf_adds(&b, "key");
    for (size_t c = 0; c < NCOLUMNS; c++) {
        lt_sbuf_addc(&b, ',');
        lt_sbuf_adds(&b, columns[c]);
    }
    lt_sbuf_adds(&b, "\r\n");
    for (size_t i = 0; i < nrows; i++) {
        const json_t *o = i + 1 < nrows ? json_array_get(rows, i) : json_object_get(doc, "total");
        const char *key = i + 1 < nrows ? json_string_value(json_object_get(o, "key")) : "total";
        csv_field(&b, key ? key : "");
        for (size_t c = 0; c < NCOLUMNS; c++) {
            char v[32];
            cell(o, columns[c], v, sizeof(v));
            lt_sbuf_addc(&b, ',');
            lt_sbuf_adds(&b, v);
        }
        lt_sbuf_adds(&b, "\r\n");
    }
    if (lt_sbuf_failed(&b)) {
        lt_sbuf_free(&b);
        return NULL;
    }
    return b.data;
}

/* ---- the command ------------------------------------------------------------ */

int lt_report_main(const lt_config *cfg, int argc, char **argv, bool json)
{
    const char *keys[4], *values[4], *format = json ? "json" : "table", *bad = NULL;
    size_t n = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL, *eq = strchr(a, '=');
        bad = a;
        char name[16];
        if (strncmp(a, "--", 2) != 0)
            goto usage;
        size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
        if (len >= sizeof(name))
            goto usage;
        memcpy(name, a + 2, len);
        name[len] = '\0';
        if (eq)
            v = eq + 1;
        else if (i + 1 < argc)
            v = argv[++i];
        else
            goto usage;
        if (strcmp(name, "format") == 0) {
            if (strcmp(v, "table") != 0 && strcmp(v, "csv") != 0 && strcmp(v, "json") != 0) {
                fprintf(stderr, "lienthong report: --format: expected table, csv or json\n");
                return EXIT_USAGE;
            }
            format = v;
            continue;
        }
        static const char *const known[] = {"from", "to", "unit", "group"};
        size_t k = 0;
        while (k < 4 && strcmp(name, known[k]) != 0)
            k++;
        if (k == 4 || n == 4)
            goto usage;
        keys[n] = known[k];
        values[n++] = v;
    }
    lt_report_query q;
    char field[32], msg[256], err[1024];
    if (lt_report_query_parse(keys, values, n, &q, field, sizeof(field), msg, sizeof(msg)) < 0) {
        fprintf(stderr, "lienthong report: --%s\n", msg);
        return EXIT_USAGE;
    }
    lt_calendar *cal = lt_report_calendar(cfg, err, sizeof(err));
    if (!cal) {
        fprintf(stderr, "lienthong report: %s\n", err);
        return EXIT_FAILED;
    }
    lt_dbsession *db = lt_dbsession_open(cfg, LT_SCHEMA_CURRENT, err, sizeof(err));
    if (!db) {
        fprintf(stderr, "lienthong report: %s\n", err);
        lt_calendar_destroy(&cal);
        return EXIT_FAILED;
    }
    json_t *labels = NULL;
    json_t *doc = lt_report_run(lt_dbsession_conn(db), &q, cal, &labels, err, sizeof(err));
    lt_dbsession_close(&db);
    lt_calendar_destroy(&cal);
    if (!doc) {
        fprintf(stderr, "lienthong report: %s\n", err);
        json_decref(labels);
        return EXIT_FAILED;
    }
    char *text = strcmp(format, "json") == 0  ? lt_report_dumps(doc)
                 : strcmp(format, "csv") == 0 ? lt_report_csv(doc)
                                              : lt_report_table(doc, labels);
    json_decref(doc);
    json_decref(labels);
    if (!text) {
        fprintf(stderr, "lienthong report: out of memory\n");
        return EXIT_FAILED;
    }
    fputs(text, stdout);
    if (strcmp(format, "json") == 0)
        fputc('\n', stdout);
    free(text);
    return 0;
usage:
    fprintf(stderr, "lienthong report: unknown, repeated or incomplete option %s\n\n",
            bad ? bad : "");
    fputs(lt_report_help, stderr);
    return EXIT_USAGE;
}
