/* lt_http_tls: the certificate and key of the HTTP front (see lt_http_tls.h).
 *
 * Why memory and not file names: MHD takes PEM text only; and reading the
 * files here, at start, lets a wrong path or a key that is not PEM stop
 * `serve` with a sentence naming the key instead of an MHD start failure.
 * The key is wiped from memory once MHD has it (GnuTLS parses it into its
 * own credentials at start). */
#include "lt_http_tls.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PEM (1024 * 1024) /* a certificate chain is a few KiB */

/* The whole file as a NUL-terminated string, or NULL with err filled. */
static char *slurp(const char *key, const char *path, char *err, size_t cap)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, cap, "%s: cannot open %s", key, path);
        return NULL;
    }
    char *buf = malloc(MAX_PEM + 1);
    size_t n = buf ? fread(buf, 1, MAX_PEM + 1, f) : 0;
    bool bad = ferror(f) != 0;
    fclose(f);
    if (!buf || bad || n > MAX_PEM) {
        snprintf(err, cap, "%s: cannot read %s (or larger than 1 MiB)", key, path);
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    if (!strstr(buf, "-----BEGIN ")) {
        snprintf(err, cap, "%s: %s is not a PEM file", key, path);
        sodium_memzero(buf, n);
        free(buf);
        return NULL;
    }
    return buf;
}

int lt_http_tls_load(const lt_config *cfg, lt_http_tls *ret, char *err, size_t cap)
{
    memset(ret, 0, sizeof(*ret));
    ret->opts[0] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    bool cert = cfg->tls.cert && cfg->tls.cert[0], key = cfg->tls.key && cfg->tls.key[0];
    if (!cert && !key)
        return 0;
    if (cert != key) {
        snprintf(err, cap, "http.tls_cert and http.tls_key go together: set both or neither");
        return -1;
    }
    if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
        snprintf(err, cap, "this libmicrohttpd was built without TLS; use a reverse proxy");
        return -1;
    }
    if (!(ret->cert = slurp("http.tls_cert", cfg->tls.cert, err, cap)) ||
        !(ret->key = slurp("http.tls_key", cfg->tls.key, err, cap))) {
        lt_http_tls_free(ret);
        return -1;
    }
    ret->on = true;
    ret->opts[0] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, ret->key};
    ret->opts[1] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, ret->cert};
    ret->opts[2] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    return 0;
}

void lt_http_tls_free(lt_http_tls *tls)
{
    if (tls->key)
        sodium_memzero(tls->key, strlen(tls->key));
    free(tls->key);
    free(tls->cert);
    memset(tls, 0, sizeof(*tls));
    tls->opts[0] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
}
