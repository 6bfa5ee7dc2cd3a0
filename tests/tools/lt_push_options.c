/* lt_push's command line: every option, its range, and the defaults that
 * depend on others (the run id from the clock, the deadline from --seconds
 * and --timeout-ms). The options are listed at the top of lt_push.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lt_push.h"

int lt_push_usage(void)
{
    fprintf(stderr,
            "usage: lt_push --http URL | --zmq ENDPOINT [--token TOKEN] --unit-agency AGENCYID\n"
            "               --procedure CODE [--procedure CODE...] [--senders N] [--batch B]\n"
            "               (--count N | --seconds S) [--ack-log FILE] [--seed S] [--run-id R]\n"
            "               [--rate R] [--updates P] [--retry] [--timeout-ms MS] [--deadline S]\n"
            "               [--json] [--dry-run]\n"
            "               [--curve-server KEY --curve-public KEY --curve-secret KEY]\n");
    return 2;
}

static bool num_u64(const char *s, uint64_t *ret)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || *s == '-')
        return false;
    *ret = v;
    return true;
}

static bool num_double(const char *s, double *ret)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= 0))
        return false;
    *ret = v;
    return true;
}

int lt_push_parse_args(int argc, char **argv, opts *o)
{
    *o = (opts){.senders = 1, .batch = 1, .seed = 1, .timeout_ms = 10000};
    bool run_id_set = false;
    o->procedures = calloc((size_t)argc, sizeof(char *));
    if (!o->procedures)
        return -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--json") == 0) {
            o->json = true;
            continue;
        }
        if (strcmp(a, "--retry") == 0) {
            o->retry = true;
            continue;
        }
        if (strcmp(a, "--dry-run") == 0) {
            o->dry_run = true;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "lt_push: %s needs a value\n", a);
            return -1;
        }
        const char *v = argv[++i];
        uint64_t u = 0;
        bool ok = true;
        if (lt_tool_curve_arg(&o->curve, a, v)) {
            continue;
        } else if (strcmp(a, "--http") == 0 || strcmp(a, "--zmq") == 0) {
            o->zmq = a[2] == 'z';
            ok = !o->endpoint;
            o->endpoint = v;
        } else if (strcmp(a, "--token") == 0) {
            o->token = v;
        } else if (strcmp(a, "--unit-agency") == 0) {
            o->agency = v;
        } else if (strcmp(a, "--procedure") == 0) {
            o->procedures[o->n_procedures++] = v;
        } else if (strcmp(a, "--senders") == 0) {
            ok = num_u64(v, &u) && u >= 1 && u <= MAX_SENDERS;
            o->senders = (unsigned)u;
        } else if (strcmp(a, "--batch") == 0) {
            ok = num_u64(v, &u) && u >= 1 && u <= MAX_BATCH;
            o->batch = (unsigned)u;
        } else if (strcmp(a, "--count") == 0) {
            ok = num_u64(v, &o->count) && o->count > 0;
        } else if (strcmp(a, "--seconds") == 0) {
            ok = num_double(v, &o->seconds) && o->seconds > 0;
        } else if (strcmp(a, "--ack-log") == 0) {
            o->ack_log = v;
        } else if (strcmp(a, "--seed") == 0) {
            ok = num_u64(v, &o->seed);
        } else if (strcmp(a, "--run-id") == 0) {
            ok = num_u64(v, &o->run_id);
            run_id_set = true;
        } else if (strcmp(a, "--rate") == 0) {
            ok = num_double(v, &o->rate) && o->rate > 0;
        } else if (strcmp(a, "--updates") == 0) {
            ok = num_u64(v, &u) && u <= 100;
            o->updates = (unsigned)u;
        } else if (strcmp(a, "--timeout-ms") == 0) {
            ok = num_u64(v, &u) && u >= 10 && u <= 3600000;
            o->timeout_ms = (long)u;
        } else if (strcmp(a, "--deadline") == 0) {
            ok = num_double(v, &o->deadline) && o->deadline > 0;
        } else {
            fprintf(stderr, "lt_push: unknown option %s\n", a);
            return -1;
        }
        if (!ok) {
            fprintf(stderr, "lt_push: bad value for %s: %s\n", a, v);
            return -1;
        }
    }
    if ((!o->endpoint && !o->dry_run) || !o->agency || o->n_procedures == 0) {
        fprintf(stderr, "lt_push: --http or --zmq, --unit-agency and --procedure are required\n");
        return -1;
    }
    if (lt_tool_curve_check(&o->curve) < 0)
        return -1;
    if (!o->count == !o->seconds) {
        fprintf(stderr, "lt_push: give exactly one of --count and --seconds\n");
        return -1;
    }
    if (o->dry_run && !o->count) {
        fprintf(stderr, "lt_push: --dry-run needs --count\n");
        return -1;
    }
    if (!run_id_set) {
        /* Wall-clock seconds: runs started in different seconds get
         * disjoint codes (lt_dossiergen.h). */
        o->run_id = (uint64_t)time(NULL);
    }
    if (!o->deadline)
        o->deadline = o->seconds ? o->seconds + 2.0 * (double)o->timeout_ms / 1000 + 10 : 900;
    return 0;
}
