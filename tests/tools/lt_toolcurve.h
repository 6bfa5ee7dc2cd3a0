/* lt_toolcurve: the CURVE client options shared by the ZeroMQ test tools
 * (lt_zmqreq, lt_zmqcat --replay, lt_push --zmq):
 *
 *   --curve-server KEY   the gateway's public key (lienthong keygen)
 *   --curve-public KEY   this client's public key (lienthong keygen --unit)
 *   --curve-secret KEY   this client's secret key
 *
 * Keys are Z85 text (40 characters). All three or none: without them the
 * socket speaks plain text. Header-only: each tool is one .c file. */
#ifndef LT_TOOLCURVE_H
#define LT_TOOLCURVE_H

#include <stdio.h>
#include <string.h>
#include <zmq.h>

typedef struct lt_tool_curve {
    const char *server;     /* the gateway's public key; NULL = plain text */
    const char *public_key; /* ours */
    const char *secret_key; /* ours */
} lt_tool_curve;

/* When name is one of the options, takes value and returns 1; else 0. */
static inline int lt_tool_curve_arg(lt_tool_curve *c, const char *name, const char *value)
{
    if (strcmp(name, "--curve-server") == 0)
        c->server = value;
    else if (strcmp(name, "--curve-public") == 0)
        c->public_key = value;
    else if (strcmp(name, "--curve-secret") == 0)
        c->secret_key = value;
    else
        return 0;
    return 1;
}

/* 0 when none or all three were given (and are 40 characters), else -1. */
static inline int lt_tool_curve_check(const lt_tool_curve *c)
{
    int n = !!c->server + !!c->public_key + !!c->secret_key;
    if (n == 0)
        return 0;
    if (n != 3 || strlen(c->server) != 40 || strlen(c->public_key) != 40 ||
        strlen(c->secret_key) != 40) {
        fprintf(stderr, "--curve-server, --curve-public and --curve-secret go together, each a "
                        "40-character Z85 key\n");
        return -1;
    }
    return 0;
}

/* Makes sock a CURVE client (before zmq_connect) when keys were given. */
static inline int lt_tool_curve_apply(const lt_tool_curve *c, void *sock)
{
    if (!c->server)
        return 0;
    if (zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, c->server, 40) < 0 ||
        zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, c->public_key, 40) < 0 ||
        zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, c->secret_key, 40) < 0)
        return -1;
    return 0;
}

#endif
