/* lt_http_tls: TLS for the HTTP front with libmicrohttpd's own (GnuTLS in
 * Debian's build), from `http.tls_cert` and `http.tls_key` (issue 9). The
 * files are read once at start into memory handed to MHD as options; a
 * reverse proxy terminating TLS is the other supported set-up (README). */
#ifndef LT_HTTP_TLS_H
#define LT_HTTP_TLS_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>

#include "lt_config.h"

typedef struct lt_http_tls {
    bool on;                       /* both files configured: MHD_USE_TLS */
    char *cert;                    /* PEM text, owned */
    char *key;                     /* PEM text, owned; wiped when freed */
    struct MHD_OptionItem opts[3]; /* for MHD_OPTION_ARRAY; just MHD_OPTION_END when off */
} lt_http_tls;

/* Fills ret from cfg: off when neither key is set; otherwise reads both
 * files. Returns 0, or -1 with a sentence in err (one key without the
 * other, a file that cannot be read or is not PEM, an MHD without TLS). */
int lt_http_tls_load(const lt_config *cfg, lt_http_tls *ret, char *err, size_t cap)
    __attribute__((warn_unused_result));

/* Wipes the key and frees both; safe on a zeroed or freed struct. */
void lt_http_tls_free(lt_http_tls *tls);

#endif
