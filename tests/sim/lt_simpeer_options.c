/* lt_simpeer_options: the simulator's command line (tests/sim/README.md,
 * "Options"): defaults, then every option checked, so that a typo stops the
 * simulator at start instead of running a test against the wrong peer. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lt_simutil.h"
#include "lt_simpeer.h"

static const char *role_names[] = {"portal", "parent", "ward", "webhook"};

const char *lt_simpeer_role_name(lt_simpeer_role role)
{
    return role_names[role];
}

void lt_simpeer_options_usage(void)
{
    fputs("usage: lt_simpeer --role portal|parent|ward|webhook [--listen 127.0.0.1:PORT]\n"
          "         [--control-listen 127.0.0.1:PORT] [--port-file F] [--log FILE]\n"
          "         [--max-seconds N] [--max-stored N] [--max-body BYTES] [--threads N]\n"
          "         [--max-connections N] [--lean] [--tls-cert F --tls-key F]\n"
          "         [--login-path P] [--sync-path P] [--username U] [--password P]\n"
          "         [--session-calls N] [--session-seconds N] [--update-missing create|refuse]\n"
          "         [--success-code C] [--numeric-codes] [--token T]\n"
          "         [--latency-ms N] [--error-ratio R] [--seed S]\n"
          "See tests/sim/README.md.\n",
          stderr);
}

/* A loopback IPv4 address and port: network traffic stays on this machine. */
static bool address(const char *s, struct in_addr *ret_host, uint16_t *ret_port)
{
    char h[64];
    const char *colon = s ? strrchr(s, ':') : NULL;
    long long p;
    if (!colon || (size_t)(colon - s) >= sizeof(h) || !lt_sim_num(colon + 1, 0, 65535, &p))
        return false;
    memcpy(h, s, (size_t)(colon - s));
    h[colon - s] = '\0';
    if (inet_pton(AF_INET, h, ret_host) != 1 || (ntohl(ret_host->s_addr) >> 24) != 127)
        return false;
    *ret_port = (uint16_t)p;
    return true;
}

static bool text(const char *v, char *dst, size_t size)
{
    if (!v || strlen(v) >= size)
        return false;
    memcpy(dst, v, strlen(v) + 1);
    return true;
}

int lt_simpeer_options_parse(int argc, char **argv, lt_simpeer_options *opt)
{
    *opt = (lt_simpeer_options){
        .max_seconds = 600,
        .max_stored = 200000,
        .max_body = 4u << 20,
        .threads = 2,
        .max_connections = 1024,
        .conf = {.login_path = "/login",
                 .sync_path = "/sync",
                 .username = "lienthong",
                 .password = "lienthong",
                 .success_code = "0",
                 .update_missing_ok = true},
    };
    lt_simpeer_conf *conf = &opt->conf;
    lt_simpeer_faults *flt = &opt->faults;
    bool role_set = false;
    inet_pton(AF_INET, "127.0.0.1", &opt->host);
    opt->ctl_host = opt->host;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        long long x = 0;
        bool ok = true, takes = true;
        if (strcmp(a, "--numeric-codes") == 0) {
            conf->numeric_codes = true, takes = false;
        } else if (strcmp(a, "--lean") == 0) {
            conf->lean = true, takes = false;
        } else if (strcmp(a, "--role") == 0) {
            ok = false;
            for (int r = 0; v && r < 4; r++)
                if (strcmp(v, role_names[r]) == 0)
                    conf->role = (lt_simpeer_role)r, ok = role_set = true;
        } else if (strcmp(a, "--listen") == 0) {
            ok = address(v, &opt->host, &opt->port);
        } else if (strcmp(a, "--control-listen") == 0) {
            ok = address(v, &opt->ctl_host, &opt->ctl_port);
        } else if (strcmp(a, "--port-file") == 0) {
            ok = v != NULL, opt->port_file = v;
        } else if (strcmp(a, "--log") == 0) {
            ok = v != NULL, opt->log_file = v;
        } else if (strcmp(a, "--tls-cert") == 0) {
            ok = v && *v, opt->tls_cert = v;
        } else if (strcmp(a, "--tls-key") == 0) {
            ok = v && *v, opt->tls_key = v;
        } else if (strcmp(a, "--max-seconds") == 0) {
            ok = lt_sim_num(v, 1, 86400, &x), opt->max_seconds = (long)x;
        } else if (strcmp(a, "--max-stored") == 0) {
            ok = lt_sim_num(v, 1, 100000000, &x), opt->max_stored = (size_t)x;
        } else if (strcmp(a, "--max-body") == 0) {
            ok = lt_sim_num(v, 1, 1 << 30, &x), opt->max_body = (size_t)x;
        } else if (strcmp(a, "--threads") == 0) {
            ok = lt_sim_num(v, 1, 64, &x), opt->threads = (unsigned)x;
        } else if (strcmp(a, "--max-connections") == 0) {
            ok = lt_sim_num(v, 1, 60000, &x), opt->max_connections = (unsigned)x;
        } else if (strcmp(a, "--login-path") == 0) {
            ok = text(v, conf->login_path, sizeof(conf->login_path));
        } else if (strcmp(a, "--sync-path") == 0) {
            ok = text(v, conf->sync_path, sizeof(conf->sync_path));
        } else if (strcmp(a, "--username") == 0) {
            ok = text(v, conf->username, sizeof(conf->username));
        } else if (strcmp(a, "--password") == 0) {
            ok = text(v, conf->password, sizeof(conf->password));
        } else if (strcmp(a, "--token") == 0) {
            ok = text(v, conf->token, sizeof(conf->token));
        } else if (strcmp(a, "--success-code") == 0) {
            ok = text(v, conf->success_code, sizeof(conf->success_code)) && *v;
        } else if (strcmp(a, "--session-calls") == 0) {
            ok = lt_sim_num(v, 0, INT64_MAX, &x), conf->session_calls = (long)x;
        } else if (strcmp(a, "--session-seconds") == 0) {
            ok = lt_sim_num(v, 0, INT64_MAX, &x), conf->session_seconds = (long)x;
        } else if (strcmp(a, "--update-missing") == 0) {
            ok = v && (strcmp(v, "create") == 0 || strcmp(v, "refuse") == 0);
            conf->update_missing_ok = ok && strcmp(v, "create") == 0;
        } else if (strcmp(a, "--latency-ms") == 0) {
            ok = lt_sim_num(v, 0, 600000, &x), flt->latency_ms = (long)x;
        } else if (strcmp(a, "--seed") == 0) {
            ok = lt_sim_num(v, 0, INT64_MAX, &x), flt->seed = (uint64_t)x;
        } else if (strcmp(a, "--error-ratio") == 0) {
            char *end;
            flt->error_ratio = v ? strtod(v, &end) : -1;
            ok = v && end != v && !*end && flt->error_ratio >= 0 && flt->error_ratio <= 1;
        } else {
            ok = false;
        }
        if (!ok)
            return -1;
        i += takes;
    }
    /* A certificate without its key (or the reverse) is a typo, not plain HTTP. */
    return role_set && !opt->tls_cert == !opt->tls_key ? 0 : -1;
}
