/* lt_config_zmq: what the configuration says about CurveZMQ: which
 * endpoints are local, whether CURVE is on (zmq.curve = auto resolved), the
 * server key's file, and the refusal of plain text off loopback. */
#include "lt_config_int.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* ---- CurveZMQ ---------------------------------------------------------- */

/* "127.a.b.c:" with digits only: a name like 127.example.org is not one. */
static bool loopback_v4(const char *host)
{
    int dots = 0;
    const char *p;

    if (strncmp(host, "127.", 4) != 0)
        return false;
    for (p = host + 4; *p != '\0' && *p != ':'; p++) {
        if (*p == '.')
            dots++;
        else if (!isdigit((unsigned char)*p))
            return false;
    }
    return *p == ':' && dots == 2 && p[-1] != '.';
}

bool lt_config_zmq_local(const char *endpoint)
{
    const char *host;

    if (strncmp(endpoint, "inproc://", 9) == 0 || strncmp(endpoint, "ipc://", 6) == 0)
        return true;
    if (strncmp(endpoint, "tcp://", 6) != 0)
        return false;
    host = endpoint + 6;
    return loopback_v4(host) || strncmp(host, "localhost:", 10) == 0 ||
           strncmp(host, "[::1]:", 6) == 0;
}

bool lt_config_zmq_curve(const lt_config *cfg)
{
    if (cfg->zmq.curve == LT_ZMQ_CURVE_ON)
        return true;
    if (cfg->zmq.curve == LT_ZMQ_CURVE_OFF)
        return false;
    return !lt_config_zmq_local(cfg->zmq.ingress) || !lt_config_zmq_local(cfg->zmq.replay);
}

int lt_config_curve_key_path(const lt_config *cfg, char *buf, size_t cap)
{
    int n = cfg->zmq.curve_key[0] != '\0'
                ? snprintf(buf, cap, "%s", cfg->zmq.curve_key)
                : snprintf(buf, cap, "%s/curve/server.key", cfg->data_dir);

    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* Plain text on a socket other machines can reach would carry tokens and
 * whole dossiers in clear: zmq.curve = false is for loopback development.
 * zmq.events is not counted: it is public and carries no personal data. */
int lt_cfzmq_check(const lt_config *cfg, lt_config_error *err)
{
    const char *open_key = !lt_config_zmq_local(cfg->zmq.ingress)  ? "zmq.ingress"
                           : !lt_config_zmq_local(cfg->zmq.replay) ? "zmq.replay"
                                                                   : NULL;

    if (cfg->zmq.curve != LT_ZMQ_CURVE_OFF || open_key == NULL)
        return 0;
    lt_config_set_err(
        err, "zmq.curve",
        "false is allowed only when zmq.ingress and zmq.replay are loopback (127.0.0.1, "
        "::1, localhost, ipc:// or inproc://), but %s is %s; set zmq.curve to true or auto "
        "and make keys with lienthong keygen",
        open_key, strcmp(open_key, "zmq.ingress") == 0 ? cfg->zmq.ingress : cfg->zmq.replay);
    return -1;
}
