/* lt_daygen: the records of a simulated working day for the demo
 * (deploy/demo/day.sh), one JSON line per record, in a ward's own dialect.
 *
 *   lt_daygen --agency AGENCYID --procedure CODE [--procedure CODE...]
 *             --count N [--run-id R] [--seed S] [--dialect FILE]
 *
 * lt_push sends records as fast as a gateway takes them and picks which
 * dossier moves next at random; a demo wants the opposite: every dossier's
 * whole life, step by step, so that the day script can send the rounds in
 * order (all the dossiers received, then processed, supplement rounds,
 * results) and let someone else (the district) play some of the steps.
 * The records are lt_dossiergen's (the same as the ingest tests push); with
 * --dialect the canonical record is mapped to the vendor's shape by the
 * gateway's own mapping engine, so a vendor ward sends what a vendor's
 * system would send and the gateway maps it back.
 *
 * Each line: {"i", "step", "first", "last", "status", "MaHoSo", "record"}
 * where step counts from the dossier's first push (0) and last is true for
 * the dossier's closing record. Exit 0, 1 on a mapping or memory failure,
 * 2 on bad usage. */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lt_dossiergen.h"
#include "lt_mapping.h"

#define MAX_PROCEDURES 256

static int usage(void)
{
    fprintf(stderr, "usage: lt_daygen --agency AGENCYID --procedure CODE [--procedure CODE...]\n"
                    "                 --count N [--run-id R] [--seed S] [--dialect FILE]\n");
    return 2;
}

static bool parse_u64(const char *s, uint64_t *ret)
{
    char *end = NULL;
    unsigned long long v = strtoull(s, &end, 10);
    if (!s[0] || *end)
        return false;
    *ret = v;
    return true;
}

/* Prints dossier i's record at step as one line (with print false, only
 * checks that it can be made); -1 on failure. */
static int emit(const lt_dgen *g, const lt_dialect *d, uint64_t i, unsigned step, unsigned first,
                unsigned last, lt_dgen_buf *buf, bool print)
{
    int rc = -1;
    json_t *canon = NULL, *out = NULL, *line = NULL;
    char *text = NULL;
    char code[96];
    lt_dgen_buf_reset(buf);
    if (lt_dgen_record(g, i, step, buf) < 0 || lt_dgen_code(g, i, code, sizeof(code)) < 0)
        goto out;
    canon = json_loadb(buf->data, buf->len, 0, NULL);
    if (!canon)
        goto out;
    if (d) {
        lt_map_errors errs;
        out = lt_dialect_from_canonical(d, canon, "20250101000000", &errs);
        if (!out) {
            if (print)
                fprintf(stderr, "lt_daygen: %s cannot be mapped to %s: %s\n", code,
                        lt_dialect_name(d), errs.count ? errs.items[0].message : "out of memory");
            goto out;
        }
    } else {
        out = json_incref(canon);
    }
    if (!print) {
        rc = 0;
        goto out;
    }
    char status[4];
    snprintf(status, sizeof(status), "%d", lt_dgen_status(g, i, step));
    line = json_pack("{s:I, s:i, s:b, s:b, s:s, s:s, s:O}", "i", (json_int_t)i, "step",
                     (int)(step - first), "first", step == first, "last", step == last, "status",
                     status, "MaHoSo", code, "record", out);
    if (!line)
        goto out;
    text = json_dumps(line, JSON_COMPACT);
    if (!text)
        goto out;
    if (puts(text) == EOF)
        goto out;
    rc = 0;
out:
    free(text);
    json_decref(line);
    json_decref(out);
    json_decref(canon);
    return rc;
}

int main(int argc, char **argv)
{
    const char *agency = NULL, *dialect_path = NULL;
    const char *procs[MAX_PROCEDURES];
    size_t n_procs = 0;
    uint64_t count = 0, run_id = 1, seed = 42;
    bool have_count = false;
    for (int k = 1; k < argc; k++) {
        const char *a = argv[k];
        if (k + 1 >= argc)
            return usage();
        const char *v = argv[++k];
        if (strcmp(a, "--agency") == 0) {
            agency = v;
        } else if (strcmp(a, "--procedure") == 0) {
            if (n_procs == MAX_PROCEDURES)
                return usage();
            procs[n_procs++] = v;
        } else if (strcmp(a, "--count") == 0) {
            if (!parse_u64(v, &count))
                return usage();
            have_count = true;
        } else if (strcmp(a, "--run-id") == 0) {
            if (!parse_u64(v, &run_id))
                return usage();
        } else if (strcmp(a, "--seed") == 0) {
            if (!parse_u64(v, &seed))
                return usage();
        } else if (strcmp(a, "--dialect") == 0) {
            dialect_path = v;
        } else {
            return usage();
        }
    }
    if (!agency || n_procs == 0 || !have_count)
        return usage();

    int rc = 1;
    lt_dialect *d = NULL;
    lt_dgen_buf buf = {0};
    lt_dgen *g = lt_dgen_new(seed, run_id, agency, procs, n_procs);
    if (!g) {
        fprintf(stderr, "lt_daygen: bad arguments\n");
        goto out;
    }
    if (dialect_path) {
        char err[512];
        d = lt_dialect_load_file(dialect_path, err, sizeof(err));
        if (!d) {
            fprintf(stderr, "lt_daygen: %s\n", err);
            goto out;
        }
    }
    uint64_t skipped = 0;
    for (uint64_t i = 0; i < count; i++) {
        unsigned first = lt_dgen_first_step(g, i), last = lt_dgen_last_step(g, i);
        /* A vendor cannot say everything the national record can (vendor A
         * has no word for a fee paid online): such a dossier is one its
         * system would never have, so it is left out whole. */
        bool fits = true;
        for (unsigned s = first; d && fits && s <= last; s++)
            fits = emit(g, d, i, s, first, last, &buf, false) == 0;
        if (!fits) {
            skipped++;
            continue;
        }
        for (unsigned s = first; s <= last; s++)
            if (emit(g, d, i, s, first, last, &buf, true) < 0)
                goto out;
    }
    if (skipped)
        fprintf(stderr, "lt_daygen: %llu of %llu dossiers left out: %s cannot express them\n",
                (unsigned long long)skipped, (unsigned long long)count, lt_dialect_name(d));
    rc = fflush(stdout) == 0 ? 0 : 1;
out:
    lt_dgen_buf_free(&buf);
    lt_dialect_destroy(&d);
    lt_dgen_destroy(&g);
    return rc;
}
