/* bench_model: what the dialect engine costs on the ingest path. Each case
 * parses realistic ~1.5 KB records with json_loadb (the baseline every
 * record pays anyway) and then maps them to the canonical record; the ratio
 * to the baseline is the engine's share. Single thread, each case bounded in
 * time. The record validator (lt_dossier) joins the measured path when it
 * lands. Not a test: it asserts nothing about speed (tests/bench/README.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "lt_mapping.h"

/* How long each case runs; LT_BENCH_SECONDS overrides it. */
#define DEFAULT_SECONDS 5.0

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The example record as a ward sends it on the wire: compact JSON. */
static char *read_record(const char *path, size_t *ret_len)
{
    json_t *rec = json_load_file(path, 0, NULL);
    char *text = rec ? json_dumps(rec, JSON_COMPACT) : NULL;
    json_decref(rec);
    if (text)
        *ret_len = strlen(text);
    return text;
}

/* Runs one case: parse (and map when d is set) the record again and again
 * for the given time. Returns records per second, or -1 on a failure. */
static double run_case(const char *text, size_t len, const lt_dialect *d, double seconds)
{
    size_t n = 0;
    double start = now_s(), elapsed = 0;
    while (elapsed < seconds) {
        for (int k = 0; k < 256; k++) {
            json_t *rec = json_loadb(text, len, 0, NULL);
            if (!rec)
                return -1;
            if (d) {
                lt_map_errors errs;
                json_t *out = lt_dialect_to_canonical(d, rec, &errs);
                if (!out) {
                    fprintf(stderr, "mapping failed: %s\n",
                            errs.count ? errs.items[0].message : "out of memory");
                    json_decref(rec);
                    return -1;
                }
                json_decref(out);
            }
            json_decref(rec);
            n++;
        }
        elapsed = now_s() - start;
    }
    return (double)n / elapsed;
}

int main(int argc, char **argv)
{
    const char *root = argc > 1 ? argv[1] : LT_SOURCE_DIR;
    const char *env = getenv("LT_BENCH_SECONDS");
    double seconds = env ? strtod(env, NULL) : DEFAULT_SECONDS;
    if (seconds <= 0)
        seconds = DEFAULT_SECONDS;
    static const char *const dialects[] = {"canonical", "vendor-a", "vendor-b"};
    printf("%-10s %6s %14s %14s %8s\n", "dialect", "bytes", "parse rec/s", "parse+map rec/s",
           "ratio");
    for (size_t i = 0; i < sizeof(dialects) / sizeof(dialects[0]); i++) {
        char path[1024], err[512];
        size_t len = 0;
        snprintf(path, sizeof(path), "%s/adapters/dialects/%s.json", root, dialects[i]);
        lt_dialect *d = lt_dialect_load_file(path, err, sizeof(err));
        if (!d) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
        snprintf(path, sizeof(path), "%s/adapters/dialects/examples/%s/01-dang-xu-ly.json", root,
                 dialects[i]);
        char *text = read_record(path, &len);
        if (!text) {
            fprintf(stderr, "cannot read %s\n", path);
            lt_dialect_destroy(&d);
            return 1;
        }
        double base = run_case(text, len, NULL, seconds);
        double mapped = run_case(text, len, d, seconds);
        free(text);
        lt_dialect_destroy(&d);
        if (base < 0 || mapped < 0)
            return 1;
        printf("%-10s %6zu %14.0f %14.0f %8.2f\n", dialects[i], len, base, mapped, mapped / base);
        fflush(stdout);
    }
    return 0;
}
