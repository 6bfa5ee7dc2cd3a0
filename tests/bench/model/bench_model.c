/* bench_model: what the record model costs on the ingest path. For each
 * dialect, three cases run on the same realistic ~1.9 KB record (compact, as
 * a ward sends it): a bare json_loadb (the baseline every record pays
 * anyway), json_loadb + mapping to the canonical record, and the whole path
 * ingest runs: lt_dossier_decode (UTF-8, surrogate, duplicate-key and depth
 * checks, then the parse), the dialect mapping (none for canonical input) and
 * lt_dossier_validate. Ratios are against the baseline. Single thread, each
 * case bounded in time. Not a test: it asserts nothing about speed
 * (tests/bench/README.md). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "lt_dossier.h"
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

/* The whole path: decode, map unless canonical, validate. Returns records
 * per second, or -1 when a record is refused (the examples are valid). */
static double run_full(const char *text, size_t len, const lt_dialect *d, bool canonical,
                       double seconds)
{
    size_t n = 0;
    double start = now_s(), elapsed = 0;
    lt_verrors *errs = lt_verrors_new();
    lt_map_errors *merrs = calloc(1, sizeof(*merrs));
    double rate = -1;
    if (!errs || !merrs)
        goto out;
    while (elapsed < seconds) {
        for (int k = 0; k < 256; k++) {
            json_t *records = NULL;
            bool single = false;
            lt_dossier_error derr;
            if (lt_dossier_decode(text, len, &records, &single, &derr) != LT_DOSSIER_OK) {
                fprintf(stderr, "decode failed: %s\n", derr.message);
                goto out;
            }
            json_t *rec = json_array_get(records, 0);
            json_t *canon = canonical ? json_incref(rec) : lt_dialect_to_canonical(d, rec, merrs);
            lt_verrors_clear(errs);
            int v = canon ? lt_dossier_validate(canon, errs) : -1;
            json_decref(canon);
            json_decref(records);
            if (v != 0) {
                fprintf(stderr, "record refused: %s\n",
                        v > 0 ? lt_verrors_message(errs, 0) : "mapping failed");
                goto out;
            }
            n++;
        }
        elapsed = now_s() - start;
    }
    rate = (double)n / elapsed;
out:
    free(merrs);
    lt_verrors_destroy(&errs);
    return rate;
}

int main(int argc, char **argv)
{
    const char *root = argc > 1 ? argv[1] : LT_SOURCE_DIR;
    const char *env = getenv("LT_BENCH_SECONDS");
    double seconds = env ? strtod(env, NULL) : DEFAULT_SECONDS;
    if (seconds <= 0)
        seconds = DEFAULT_SECONDS;
    static const char *const dialects[] = {"canonical", "vendor-a", "vendor-b"};
    printf("%-10s %6s %12s %12s %6s %12s %6s\n", "dialect", "bytes", "parse/s", "+map/s", "ratio",
           "whole/s", "ratio");
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
        double whole = run_full(text, len, d, i == 0, seconds);
        free(text);
        lt_dialect_destroy(&d);
        if (base < 0 || mapped < 0 || whole < 0)
            return 1;
        printf("%-10s %6zu %12.0f %12.0f %6.2f %12.0f %6.2f\n", dialects[i], len, base, mapped,
               mapped / base, whole, whole / base);
        fflush(stdout);
    }
    return 0;
}
