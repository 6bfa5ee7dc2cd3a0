/* lt_zmqcat: a tiny ZeroMQ client for the integration tests (built with the
 * tests, never installed). It subscribes to a PUB endpoint and/or sends one
 * replay request to a ROUTER endpoint, and prints every message it receives
 * as a JSON line: {"via": "sub"|"replay", "topic", "seq" (number, or null
 * for an empty frame), "data" (the JSON frame parsed, or the text)}. End and
 * error markers print as {"via": "replay", "topic": "$END", "seq": N} and
 * {"via": "replay", "topic": "$ERROR", "data": "reason"}.
 *
 *   lt_zmqcat [--sub ENDPOINT] [--topic PREFIX] [--replay ENDPOINT --request JSON]
 *             [--count N] [--idle-ms MS] [--timeout-ms MS]
 *             [--curve-server KEY --curve-public KEY --curve-secret KEY] (for --replay)
 *
 * It stops after N data messages (--count), after MS without a message once
 * at least one came (--idle-ms), when a replay ends ($END or $ERROR, when no
 * --sub is given), or at --timeout-ms (default 30000). With --sub it prints
 * {"ready": true} on stderr once subscribed (after a short settle, since
 * subscriptions travel to the publisher asynchronously). Exit 0, or 2 on
 * bad usage. */
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "lt_toolcurve.h"

#define MAX_FRAMES 8

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t num_arg(const char *s)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < 0) {
        fprintf(stderr, "lt_zmqcat: not a number: %s\n", s);
        exit(2);
    }
    return (int64_t)v;
}

/* Reads one multipart message and prints it. Returns the topic kind:
 * 1 data, 2 end or error marker, -1 on error. */
static int print_message(void *sock, const char *via)
{
    zmq_msg_t parts[MAX_FRAMES];
    int n = 0, more = 1;
    size_t ml = sizeof(more);
    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, sock, 0) < 0)
            return -1;
        if (n < MAX_FRAMES)
            parts[n++] = m;
        else
            zmq_msg_close(&m);
        zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &ml);
    }
    json_t *line = json_pack("{s:s}", "via", via);
    int kind = 1;
    if (n >= 1) {
        const char *t = zmq_msg_data(&parts[0]);
        size_t tl = zmq_msg_size(&parts[0]);
        json_object_set_new(line, "topic", json_stringn(t, tl));
        if ((tl == 4 && memcmp(t, "$END", 4) == 0) || (tl == 6 && memcmp(t, "$ERROR", 6) == 0))
            kind = 2;
    }
    if (n >= 2 && kind == 2 && zmq_msg_size(&parts[0]) == 6) {
        json_object_set_new(line, "data",
                            json_stringn(zmq_msg_data(&parts[1]), zmq_msg_size(&parts[1])));
    } else if (n >= 2) {
        char buf[32];
        size_t l = zmq_msg_size(&parts[1]);
        if (l == 0 || l >= sizeof(buf)) {
            json_object_set_new(line, "seq", json_null());
        } else {
            memcpy(buf, zmq_msg_data(&parts[1]), l);
            buf[l] = '\0';
            json_object_set_new(line, "seq", json_integer(strtoll(buf, NULL, 10)));
        }
    }
    if (n >= 3) {
        json_t *d = json_loadb(zmq_msg_data(&parts[2]), zmq_msg_size(&parts[2]), 0, NULL);
        json_object_set_new(line, "data",
                            d ? d : json_stringn(zmq_msg_data(&parts[2]), zmq_msg_size(&parts[2])));
    }
    json_object_set_new(line, "frames", json_integer(n));
    char *text = json_dumps(line, JSON_COMPACT);
    if (text)
        printf("%s\n", text);
    fflush(stdout);
    free(text);
    json_decref(line);
    for (int i = 0; i < n; i++)
        zmq_msg_close(&parts[i]);
    return kind;
}

int main(int argc, char **argv)
{
    const char *sub_ep = NULL, *replay_ep = NULL, *request = NULL, *topic = "";
    int64_t count = 0, idle_ms = 0, timeout_ms = 30000;
    lt_tool_curve curve = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (i + 1 >= argc) {
            fprintf(stderr, "lt_zmqcat: %s needs a value\n", a);
            return 2;
        }
        const char *v = argv[++i];
        if (lt_tool_curve_arg(&curve, a, v))
            continue;
        if (strcmp(a, "--sub") == 0)
            sub_ep = v;
        else if (strcmp(a, "--topic") == 0)
            topic = v;
        else if (strcmp(a, "--replay") == 0)
            replay_ep = v;
        else if (strcmp(a, "--request") == 0)
            request = v;
        else if (strcmp(a, "--count") == 0)
            count = num_arg(v);
        else if (strcmp(a, "--idle-ms") == 0)
            idle_ms = num_arg(v);
        else if (strcmp(a, "--timeout-ms") == 0)
            timeout_ms = num_arg(v);
        else {
            fprintf(stderr, "lt_zmqcat: unknown option %s\n", a);
            return 2;
        }
    }
    if ((!sub_ep && !replay_ep) || (replay_ep && !request) || lt_tool_curve_check(&curve) < 0) {
        fprintf(stderr, "usage: lt_zmqcat [--sub EP] [--topic P] [--replay EP --request JSON] "
                        "[--count N] [--idle-ms MS] [--timeout-ms MS]\n");
        return 2;
    }
    void *ctx = zmq_ctx_new();
    void *sub = NULL, *dealer = NULL;
    int zero = 0;
    if (sub_ep) {
        sub = zmq_socket(ctx, ZMQ_SUB);
        zmq_setsockopt(sub, ZMQ_RCVHWM, &zero, sizeof(zero)); /* a test must not drop */
        zmq_setsockopt(sub, ZMQ_SUBSCRIBE, topic, strlen(topic));
        zmq_setsockopt(sub, ZMQ_LINGER, &zero, sizeof(zero));
        if (zmq_connect(sub, sub_ep) < 0) {
            fprintf(stderr, "lt_zmqcat: cannot connect %s: %s\n", sub_ep, zmq_strerror(errno));
            return 1;
        }
        zmq_pollitem_t settle = {.socket = sub, .events = ZMQ_POLLIN};
        zmq_poll(&settle, 1, 300);
        fprintf(stderr, "{\"ready\": true}\n");
    }
    if (replay_ep) {
        dealer = zmq_socket(ctx, ZMQ_DEALER);
        zmq_setsockopt(dealer, ZMQ_LINGER, &zero, sizeof(zero));
        if (lt_tool_curve_apply(&curve, dealer) < 0 || zmq_connect(dealer, replay_ep) < 0 ||
            zmq_send(dealer, request, strlen(request), 0) < 0) {
            fprintf(stderr, "lt_zmqcat: cannot send to %s: %s\n", replay_ep, zmq_strerror(errno));
            return 1;
        }
    }
    int64_t deadline = now_ms() + timeout_ms, last = 0, got = 0;
    bool done = false;
    while (!done) {
        int64_t now = now_ms(), wait = deadline - now;
        if (idle_ms && last && last + idle_ms - now < wait)
            wait = last + idle_ms - now;
        if (wait <= 0)
            break;
        zmq_pollitem_t items[2] = {{.socket = sub, .events = ZMQ_POLLIN},
                                   {.socket = dealer, .events = ZMQ_POLLIN}};
        zmq_pollitem_t *first = sub ? &items[0] : &items[1];
        int nitems = sub && dealer ? 2 : 1;
        if (zmq_poll(first, nitems, (long)wait) < 0)
            break;
        for (int i = 0; i < nitems && !done; i++) {
            if (!(first[i].revents & ZMQ_POLLIN))
                continue;
            int kind = print_message(first[i].socket, first[i].socket == sub ? "sub" : "replay");
            last = now_ms();
            if (kind == 1 && count && ++got >= count)
                done = true;
            if (kind == 2 && !sub)
                done = true;
        }
    }
    if (sub)
        zmq_close(sub);
    if (dealer)
        zmq_close(dealer);
    zmq_ctx_term(ctx);
    return 0;
}
