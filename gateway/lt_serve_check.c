/* lt_serve_check: the dry run's file checks (see lt_serve_check.h).
 *
 * Why through the same readers as serve (lt_http_tls_load, lt_zap_key_read)
 * and not stat(2): a file can exist and still be refused at start (not PEM,
 * a secret key others may read, a line that is not a key); only the reader
 * that serve uses says what serve will say. */
#include "lt_serve_check.h"
#include "lt_http_tls.h"
#include "lt_zap.h"

#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

/* The certificate and key of the HTTP front, read and let go. */
static int check_tls(const lt_config *cfg, char *err, size_t cap)
{
    lt_http_tls tls;
    int rc = lt_http_tls_load(cfg, &tls, err, cap);
    lt_http_tls_free(&tls);
    return rc;
}

static int check_curve_key(const lt_config *cfg, char *err, size_t cap)
{
    if (!lt_config_zmq_curve(cfg))
        return 0;
    char path[PATH_MAX], why[PATH_MAX + 160] = "path too long";
    char secret[LT_ZAP_KEY_LEN + 1] = "", public_key[LT_ZAP_KEY_LEN + 1];
    int rc = 0;
    if (lt_config_curve_key_path(cfg, path, sizeof(path)) < 0 ||
        lt_zap_key_read(path, secret, public_key, why, sizeof(why)) < 0) {
        snprintf(err, cap, "zmq.curve_key: %s (zmq.curve is on: %s)", why,
                 cfg->zmq.curve == LT_ZMQ_CURVE_ON ? "true"
                                                   : "auto, zmq.ingress or zmq.replay is not "
                                                     "loopback");
        rc = -1;
    }
    sodium_memzero(secret, sizeof(secret));
    return rc;
}

/* A CA bundle curl would be given (key names it in err): readable, with a
 * PEM certificate. curl reads it only at the first call, whose failure is
 * a retry: without this check a wrong path shows as a backlog, not here. */
static int check_ca_file(const char *key, const char *path, char *err, size_t cap)
{
    if (!path || !path[0])
        return 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, cap, "%s: cannot open %s", key, path);
        return -1;
    }
    /* A certificate's header is near the start of any bundle, past a few
     * comment lines; a system bundle is a few hundred KiB. */
    char buf[64 * 1024];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    bool bad = ferror(f) != 0;
    fclose(f);
    buf[n] = '\0';
    if (bad) {
        snprintf(err, cap, "%s: cannot read %s", key, path);
        return -1;
    }
    if (!strstr(buf, "-----BEGIN CERTIFICATE-----")) {
        snprintf(err, cap, "%s: %s holds no PEM certificate", key, path);
        return -1;
    }
    return 0;
}

int lt_serve_check_files(const lt_config *cfg, char *err, size_t cap)
{
    if (check_tls(cfg, err, cap) < 0 || check_curve_key(cfg, err, cap) < 0 ||
        check_ca_file("portal.ca_file", cfg->portal.ca_file, err, cap) < 0 ||
        check_ca_file("catalog.ca_file", cfg->catalog.ca_file, err, cap) < 0 ||
        check_ca_file("delivery.ca_file", cfg->delivery.ca_file, err, cap) < 0)
        return -1;
    return 0;
}
