/* lt_check: the offline form of what POST /v1/dossiers does before it needs
 * the database. It uses exactly the decoder and validator the fronts use, and
 * with --json prints the same results document, so what `check` accepts is
 * what ingest accepts short of the catalog, unit and status-machine rules.
 * With --dialect NAME the records are first mapped to the canonical form by
 * the dialect engine (the file NAME.json among the installed dialects, or a
 * path), exactly as ingress will map a vendor's records; mapping errors name
 * the vendor's own field. */
#include "lt_check.h"

#include "lt_dossier.h"
#include "lt_dialects.h"
#include "lt_mapping.h"

#include <errno.h>
#include <limits.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXIT_REJECTED 1
#define EXIT_USAGE    2
/* An input file larger than this is not a batch of at most 1,000 records;
 * refusing it early keeps a wrong file name from filling memory. */
#define CHECK_MAX_INPUT (256u * 1024u * 1024u)

/* Reads the whole of f; NULL with a sentence in err on failure. */
static char *read_all(FILE *f, size_t *ret_len, char *err, size_t cap)
{
    size_t len = 0, size = 64 * 1024;
    char *buf = malloc(size);
    if (!buf) {
        snprintf(err, cap, "out of memory");
        return NULL;
    }
    for (;;) {
        if (len == size) {
            if (size >= CHECK_MAX_INPUT) {
                snprintf(err, cap, "input larger than %u MiB", CHECK_MAX_INPUT >> 20);
                free(buf);
                return NULL;
            }
            char *p = realloc(buf, size * 2);
            if (!p) {
                snprintf(err, cap, "out of memory");
                free(buf);
                return NULL;
            }
            buf = p;
            size *= 2;
        }
        size_t got = fread(buf + len, 1, size - len, f);
        len += got;
        if (got == 0) {
            if (ferror(f)) {
                snprintf(err, cap, "read error: %s", strerror(errno));
                free(buf);
                return NULL;
            }
            break;
        }
    }
    *ret_len = len;
    return buf;
}

static void print_json(json_t *doc)
{
    json_dumpf(doc, stdout, JSON_COMPACT);
    putchar('\n');
}

/* A request-level refusal: the HTTP error document with --json, a line on
 * stderr without. */
static void print_request_error(bool json, const char *input, const char *code, const char *msg)
{
    if (json) {
        json_t *doc = json_pack("{s:{s:s, s:s}}", "error", "code", code, "message", msg);
        if (doc)
            print_json(doc);
        json_decref(doc);
        return;
    }
    fprintf(stderr, "lienthong check: %s: %s\n", input, msg);
}

static void print_errors(size_t index, const json_t *record, const lt_verrors *errs)
{
    const char *code = lt_dossier_code(record);
    for (size_t i = 0; i < lt_verrors_count(errs); i++) {
        printf("record %zu (%s): %s: %s\n", index + 1, code[0] ? code : "no MaHoSo",
               lt_verrors_path(errs, i)[0] ? lt_verrors_path(errs, i) : "(record)",
               lt_verrors_message(errs, i));
    }
    size_t more = lt_verrors_found(errs) - lt_verrors_count(errs);
    if (more)
        printf("record %zu (%s): and %zu more error(s)\n", index + 1, code[0] ? code : "no MaHoSo",
               more);
}

static void print_mapping_errors(size_t index, const lt_map_errors *m)
{
    for (size_t i = 0; i < m->count; i++)
        printf("record %zu: %s: %s\n", index + 1, m->items[i].vendor_path, m->items[i].message);
    if (m->total > m->count)
        printf("record %zu: and %zu more error(s)\n", index + 1, m->total - m->count);
}

/* Maps a vendor record to the canonical form; NULL with *ret_rejected set
 * when the dialect refuses it (already reported), or on out of memory. */
static json_t *to_canonical(const lt_dialect *d, const json_t *record, size_t index, bool json,
                            json_t *results, bool *ret_rejected)
{
    lt_map_errors *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    json_t *canon = lt_dialect_to_canonical(d, record, m);
    *ret_rejected = !canon && m->count > 0;
    if (*ret_rejected) {
        if (json)
            json_array_append_new(results, lt_map_rejection(m));
        else
            print_mapping_errors(index, m);
    }
    free(m);
    return canon;
}

/* Judges every record; fills results (JSON mode) or prints as it goes.
 * dialect is NULL for canonical input. */
static int judge(const json_t *records, const lt_dialect *dialect, bool json, json_t *results,
                 size_t *ret_rejected)
{
    lt_verrors *errs = lt_verrors_new();
    if (!errs)
        return -1;
    int rc = -1;
    size_t i, rejected = 0;
    const json_t *input;
    json_array_foreach(records, i, input)
    {
        json_t *mapped = NULL;
        const json_t *record = input;
        if (dialect) {
            bool refused = false;
            mapped = to_canonical(dialect, input, i, json, results, &refused);
            if (refused) {
                rejected++;
                continue;
            }
            if (!mapped)
                goto out;
            record = mapped;
        }
        lt_verrors_clear(errs);
        int v = lt_dossier_validate(record, errs);
        if (v < 0) {
            json_decref(mapped);
            goto out;
        }
        if (v > 0)
            rejected++;
        if (json) {
            json_t *res = v > 0 ? lt_dossier_rejection(record, errs)
                                : json_pack("{s:s, s:s}", "MaHoSo", lt_dossier_code(record),
                                            "result", "accepted");
            if (json_array_append_new(results, res) < 0) {
                json_decref(mapped);
                goto out;
            }
        } else if (v > 0) {
            print_errors(i, record, errs);
        } else {
            char *text = json_dumps(record, JSON_SORT_KEYS | JSON_INDENT(2));
            if (text)
                puts(text);
            free(text);
        }
        json_decref(mapped);
    }
    *ret_rejected = rejected;
    rc = 0;
out:
    lt_verrors_destroy(&errs);
    return rc;
}

/* NAME is a dialect among the shipped ones or the operator's (dialects.dir);
 * anything with a slash is a path to a dialect file, so an integrator can try
 * a new mapping before installing it. *ret_set keeps the set alive. */
static const lt_dialect *load_dialect(const lt_config *cfg, const char *name, lt_dialects **ret_set,
                                      lt_dialect **ret_own)
{
    char err[768];
    const lt_dialect *d = NULL;
    if (strchr(name, '/')) {
        d = *ret_own = lt_dialect_load_file(name, err, sizeof(err));
        if (!d)
            fprintf(stderr, "lienthong check: dialect %s: %s\n", name, err);
    } else if (!(*ret_set = lt_dialects_load(cfg, err, sizeof(err)))) {
        fprintf(stderr, "lienthong check: %s\n", err);
    } else if (!(d = lt_dialects_find(*ret_set, name))) {
        fprintf(stderr, "lienthong check: unknown dialect %s (known:", name);
        for (size_t i = 0; i < lt_dialects_count(*ret_set); i++)
            fprintf(stderr, " %s", lt_dialect_name(lt_dialects_at(*ret_set, i)));
        fprintf(stderr, ")\n");
    }
    if (d && !lt_dialect_can_to_canonical(d)) {
        fprintf(stderr, "lienthong check: dialect %s only maps canonical records outward\n", name);
        d = NULL;
    }
    return d;
}

int lt_check_main(const lt_config *cfg, int argc, char **argv, bool json)
{
    const char *input = NULL, *dialect = "canonical";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--json") == 0) {
            json = true;
        } else if (strcmp(a, "--dialect") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "lienthong check: --dialect needs a name\n");
                return EXIT_USAGE;
            }
            dialect = argv[++i];
        } else if (strncmp(a, "--dialect=", 10) == 0) {
            dialect = a + 10;
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "lienthong check: unknown option %s (see lienthong check --help)\n", a);
            return EXIT_USAGE;
        } else if (input) {
            fprintf(stderr, "lienthong check: one input only (got %s and %s)\n", input, a);
            return EXIT_USAGE;
        } else {
            input = a;
        }
    }
    if (!input) {
        fprintf(stderr, "lienthong check: which file? (FILE, or - for standard input)\n");
        return EXIT_USAGE;
    }
    lt_dialects *set = NULL;
    lt_dialect *own = NULL;
    const lt_dialect *d = NULL;
    if (strcmp(dialect, "canonical") != 0 && !(d = load_dialect(cfg, dialect, &set, &own))) {
        lt_dialect_destroy(&own);
        lt_dialects_destroy(&set);
        return EXIT_USAGE;
    }

    int rc = EXIT_REJECTED;
    char err[256] = "";
    char *bytes = NULL;
    json_t *records = NULL, *results = NULL;
    size_t len = 0;
    bool from_stdin = strcmp(input, "-") == 0;
    FILE *f = from_stdin ? stdin : fopen(input, "rb");
    if (!f) {
        fprintf(stderr, "lienthong check: cannot open %s: %s\n", input, strerror(errno));
        lt_dialect_destroy(&own);
        lt_dialects_destroy(&set);
        return EXIT_REJECTED;
    }
    bytes = read_all(f, &len, err, sizeof(err));
    if (!from_stdin)
        fclose(f);
    if (!bytes) {
        fprintf(stderr, "lienthong check: %s: %s\n", input, err);
        goto out;
    }
    lt_dossier_error derr;
    bool single;
    int drc = lt_dossier_decode(bytes, len, &records, &single, &derr);
    if (drc != LT_DOSSIER_OK) {
        print_request_error(json, from_stdin ? "standard input" : input, lt_dossier_rc_code(drc),
                            derr.message);
        goto out;
    }
    results = json_array();
    size_t rejected = 0;
    if (!results || judge(records, d, json, results, &rejected) < 0) {
        fprintf(stderr, "lienthong check: out of memory\n");
        goto out;
    }
    if (json) {
        json_t *doc = json_pack("{s:O}", "results", results);
        if (!doc) {
            fprintf(stderr, "lienthong check: out of memory\n");
            goto out;
        }
        print_json(doc);
        json_decref(doc);
    }
    if (!json)
        fprintf(stderr, "%zu record(s): %zu valid, %zu rejected\n", json_array_size(records),
                json_array_size(records) - rejected, rejected);
    rc = rejected ? EXIT_REJECTED : 0;
out:
    fflush(stdout);
    lt_dialect_destroy(&own);
    lt_dialects_destroy(&set);
    json_decref(results);
    json_decref(records);
    free(bytes);
    return rc;
}
