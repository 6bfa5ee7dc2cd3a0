/* lt_serve_check: what `lienthong serve -n` checks beyond the key table:
 * that the files the configuration names can be used, as `serve` itself
 * would use them (the HTTP front's certificate and key, the CurveZMQ
 * server key, the outbound CA bundles), so that a wrong path or a broken
 * file is found by the dry run and not by the first start (or the first
 * delivery) on the production machine. */
#ifndef LT_SERVE_CHECK_H
#define LT_SERVE_CHECK_H

#include <stddef.h>

#include "lt_config.h"

/* Reads every file cfg names for serve: http.tls_cert and http.tls_key
 * (both or neither, readable, PEM), when zmq.curve is on (auto resolved)
 * the server's secret key (zmq.curve_key, or its default under data_dir:
 * readable by its owner only, a Z85 CURVE secret key), and the CA bundles
 * of the outbound legs that are set (portal.ca_file, catalog.ca_file,
 * delivery.ca_file: readable, a PEM certificate in them). Returns 0,
 * or -1 with a sentence in err that starts with the key and names the
 * file. Nothing is kept: secrets read are wiped. */
int lt_serve_check_files(const lt_config *cfg, char *err, size_t cap)
    __attribute__((warn_unused_result));

#endif
