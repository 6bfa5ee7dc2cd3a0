/* lt_zmqreq: sends one message to the ZeroMQ ingress and prints the answer
 * (for the integration tests; never installed).
 *
 *   lt_zmqreq ENDPOINT [--token TOKEN] [--frame TEXT] [--req] [--timeout-ms MS]
 *             [--curve-server KEY --curve-public KEY --curve-secret KEY] FILE|-
 *
 * The message is [TOKEN, FILE's bytes] with --token, [FILE's bytes]
 * without; --frame puts one more frame in front (the frame-count limit). --req uses a REQ socket
 * (the envelope of a REQ peer) instead of a DEALER. Prints the answer frame on stdout; exit 0 on an
 * answer, 1 on a timeout, 2 on bad usage. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "lt_toolcurve.h"

static char *slurp(const char *path, size_t *ret_len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 65536, len = 0;
    char *buf = malloc(cap);
    size_t n;
    while (buf && (n = fread(buf + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap) {
            char *b = realloc(buf, cap *= 2);
            if (!b) {
                free(buf);
                buf = NULL;
            }
            buf = b;
        }
    }
    if (f != stdin)
        fclose(f);
    *ret_len = len;
    return buf;
}

int main(int argc, char **argv)
{
    const char *endpoint = NULL, *token = NULL, *file = NULL, *extra = NULL;
    bool req = false;
    int timeout = 20000;
    lt_tool_curve curve = {0};
    for (int i = 1; i < argc; i++) {
        if (i + 1 < argc && lt_tool_curve_arg(&curve, argv[i], argv[i + 1]))
            i++;
        else if (strcmp(argv[i], "--token") == 0 && i + 1 < argc)
            token = argv[++i];
        else if (strcmp(argv[i], "--frame") == 0 && i + 1 < argc)
            extra = argv[++i];
        else if (strcmp(argv[i], "--req") == 0)
            req = true;
        else if (strcmp(argv[i], "--timeout-ms") == 0 && i + 1 < argc)
            timeout = (int)strtol(argv[++i], NULL, 10);
        else if (!endpoint)
            endpoint = argv[i];
        else if (!file)
            file = argv[i];
        else
            file = NULL, endpoint = NULL, i = argc;
    }
    if (!endpoint || !file || lt_tool_curve_check(&curve) < 0) {
        fprintf(
            stderr,
            "usage: lt_zmqreq ENDPOINT [--token TOKEN] [--frame TEXT] [--req] [--timeout-ms MS]\n"
            "                 [--curve-server KEY --curve-public KEY --curve-secret KEY] "
            "FILE|-\n");
        return 2;
    }
    size_t len = 0;
    char *body = slurp(file, &len);
    if (!body) {
        fprintf(stderr, "lt_zmqreq: cannot read %s\n", file);
        return 2;
    }
    void *ctx = zmq_ctx_new();
    void *s = zmq_socket(ctx, req ? ZMQ_REQ : ZMQ_DEALER);
    int linger = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger));
    zmq_setsockopt(s, ZMQ_RCVTIMEO, &timeout, sizeof(timeout));
    int rc = 1;
    if (lt_tool_curve_apply(&curve, s) == 0 && zmq_connect(s, endpoint) == 0 &&
        (!extra || zmq_send(s, extra, strlen(extra), ZMQ_SNDMORE) >= 0) &&
        (!token || zmq_send(s, token, strlen(token), ZMQ_SNDMORE) >= 0) &&
        zmq_send(s, body, len, 0) >= 0) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        int n;
        /* A DEALER sees no delimiter; the answer is the last frame. */
        while ((n = zmq_msg_recv(&m, s, 0)) >= 0) {
            if (!zmq_msg_more(&m)) {
                fwrite(zmq_msg_data(&m), 1, zmq_msg_size(&m), stdout);
                putchar('\n');
                rc = 0;
                break;
            }
        }
        zmq_msg_close(&m);
        if (rc != 0)
            fprintf(stderr, "lt_zmqreq: no answer within %d ms\n", timeout);
    }
    free(body);
    zmq_close(s);
    zmq_ctx_term(ctx);
    return rc;
}
