/* lt_gencatalog: a national catalog export for tests and benchmarks. Writes
 * a JSON array of N procedure records in the detail-call shape (DOMAIN.md,
 * "The procedure record") to stdout: Vietnamese names, national codes
 * d.dddddd with local variants (.000.00.00.H56, .H56), levels 0..3,
 * per-channel times and fees, documents, legal bases, fields. Deterministic:
 * record i depends only on (seed, i), so a bigger N extends a smaller one.
 * Then, for re-sync tests, exactly round(N * pct / 100) records can be
 * changed (--change) and others left out (--drop), disjoint sets chosen by
 * --change-seed; --list FILE names them ("changed CODE" / "dropped CODE").
 * A few records carry JSON numbers where the catalog sends strings, as real
 * exports do, and must normalize to the same content as their string form.
 *
 * Not installed; built with the tests. C because a bare Debian machine has
 * no Python. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "lt_catgen.h"

static bool parse_u64(const char *s, uint64_t *ret)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end)
        return false;
    *ret = v;
    return true;
}

static bool parse_pct(const char *s, double *ret)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || v < 0 || v > 100)
        return false;
    *ret = v;
    return true;
}

static int usage(void)
{
    fprintf(stderr,
            "usage: lt_gencatalog [--count N] [--seed S] [--province H56] [--change PCT]\n"
            "                     [--drop PCT] [--change-seed S] [--list FILE] > catalog.json\n"
            "  --count N        procedures (default 2000)\n"
            "  --seed S         content seed (default 1)\n"
            "  --change PCT     change exactly round(N*PCT/100) records\n"
            "  --drop PCT       leave out exactly round(N*PCT/100) other records\n"
            "  --change-seed S  which records change or drop (default 7)\n"
            "  --list FILE      write \"changed CODE\" and \"dropped CODE\" lines there\n");
    return 2;
}

int main(int argc, char **argv)
{
    uint64_t count = 2000, seed = 1, change_seed = 7;
    double change_pct = 0, drop_pct = 0;
    const char *province = "H56", *list = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool ok = v != NULL;
        if (strcmp(a, "--count") == 0)
            ok = ok && parse_u64(v, &count) && count <= 999000;
        else if (strcmp(a, "--seed") == 0)
            ok = ok && parse_u64(v, &seed);
        else if (strcmp(a, "--change-seed") == 0)
            ok = ok && parse_u64(v, &change_seed);
        else if (strcmp(a, "--change") == 0)
            ok = ok && parse_pct(v, &change_pct);
        else if (strcmp(a, "--drop") == 0)
            ok = ok && parse_pct(v, &drop_pct);
        else if (strcmp(a, "--province") == 0)
            province = v;
        else if (strcmp(a, "--list") == 0)
            list = v;
        else
            ok = false;
        if (!ok)
            return usage();
        i++;
    }
    uint64_t n_change = (uint64_t)(count * change_pct / 100 + 0.5);
    uint64_t n_drop = (uint64_t)(count * drop_pct / 100 + 0.5);
    if (n_change + n_drop > count)
        return usage();
    unsigned char *fate = lt_catgen_fates(count, n_change, n_drop, change_seed);
    if (!fate)
        return 1;
    FILE *lf = list ? fopen(list, "w") : NULL;
    if (list && !lf) {
        fprintf(stderr, "lt_gencatalog: cannot write %s: %s\n", list, strerror(errno));
        return 1;
    }
    fputs("[\n", stdout);
    bool first = true;
    for (uint64_t i = 0; i < count; i++) {
        json_t *rec = lt_catgen_procedure(seed, i, province);
        const char *code = json_string_value(json_object_get(rec, "MATTHC"));
        if (lf && fate[i])
            fprintf(lf, "%s %s\n", fate[i] == 1 ? "changed" : "dropped", code);
        if (fate[i] == 2) {
            json_decref(rec);
            continue;
        }
        if (fate[i] == 1)
            lt_catgen_change(rec, change_seed, i);
        if (!first)
            fputs(",\n", stdout);
        first = false;
        json_dumpf(rec, stdout, JSON_COMPACT);
        json_decref(rec);
    }
    fputs("\n]\n", stdout);
    if (lf)
        fclose(lf);
    free(fate);
    return fflush(stdout) == 0 ? 0 : 1;
}
