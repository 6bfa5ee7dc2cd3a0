/* lt_push over HTTP: one easy handle per sender in one libcurl multi, each
 * posting its request body to /v1/dossiers and handing the answer (status,
 * body, Retry-After) to the run; the loop that drives them. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lt_push.h"

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
    sender *s = arg;
    size_t n = size * nmemb;
    if (s->answer.len + n > MAX_ANSWER || lt_dgen_buf_add(&s->answer, data, n) < 0) {
        s->answer_too_big = true;
        return 0;
    }
    return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *arg)
{
    sender *s = arg;
    size_t n = size * nmemb;
    if (n > 12 && strncasecmp(data, "Retry-After:", 12) == 0)
        s->retry_after = strtol(data + 12, NULL, 10);
    return n;
}

static int http_setup(push *p)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return -1;
    p->multi = curl_multi_init();
    if (!p->multi)
        return -1;
    curl_multi_setopt(p->multi, CURLMOPT_MAXCONNECTS, (long)p->o.senders + 4);
    const char *e = p->o.endpoint;
    size_t el = strlen(e);
    while (el && e[el - 1] == '/')
        el--;
    bool has_path = strstr(e, "/v1/") != NULL;
    size_t ul = el + 32;
    p->url = malloc(ul);
    if (!p->url)
        return -1;
    snprintf(p->url, ul, "%.*s%s", (int)el, e, has_path ? "" : "/v1/dossiers");
    char auth[4096];
    p->headers = curl_slist_append(NULL, "Content-Type: application/json");
    /* No "Expect: 100-continue": curl would wait for it before every body
     * over 1 KiB. */
    p->headers = curl_slist_append(p->headers, "Expect:");
    if (p->o.token) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", p->o.token);
        p->headers = curl_slist_append(p->headers, auth);
    }
    for (unsigned k = 0; k < p->o.senders; k++) {
        sender *s = &p->s[k];
        s->easy = curl_easy_init();
        if (!s->easy)
            return -1;
        curl_easy_setopt(s->easy, CURLOPT_URL, p->url);
        curl_easy_setopt(s->easy, CURLOPT_HTTPHEADER, p->headers);
        curl_easy_setopt(s->easy, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(s->easy, CURLOPT_WRITEDATA, s);
        curl_easy_setopt(s->easy, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(s->easy, CURLOPT_HEADERDATA, s);
        curl_easy_setopt(s->easy, CURLOPT_TIMEOUT_MS, p->o.timeout_ms);
        curl_easy_setopt(s->easy, CURLOPT_CONNECTTIMEOUT_MS,
                         p->o.timeout_ms < 5000 ? p->o.timeout_ms : 5000L);
        curl_easy_setopt(s->easy, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(s->easy, CURLOPT_TCP_NODELAY, 1L);
        curl_easy_setopt(s->easy, CURLOPT_PRIVATE, s);
    }
    return 0;
}

int lt_push_http_send(push *p, sender *s, int64_t now)
{
    lt_dgen_buf_reset(&s->answer);
    s->answer_too_big = false;
    s->retry_after = 0;
    curl_easy_setopt(s->easy, CURLOPT_POSTFIELDS, s->body.data);
    curl_easy_setopt(s->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)s->body.len);
    if (curl_multi_add_handle(p->multi, s->easy) != CURLM_OK)
        return -1;
    s->state = S_INFLIGHT;
    s->sent_ns = now;
    return 0;
}

static void http_done(push *p, CURL *easy, CURLcode rc, int64_t now)
{
    char *priv = NULL;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
    sender *s = (sender *)priv;
    curl_multi_remove_handle(p->multi, easy);
    if (!s)
        return;
    if (rc != CURLE_OK) {
        if (s->answer_too_big)
            p->st.protocol_errors++;
        lt_push_on_transport_error(p, s, rc == CURLE_OPERATION_TIMEDOUT, now);
        return;
    }
    long status = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    lt_push_on_answer(p, s, status, now);
}

int lt_push_http_run(push *p)
{
    if (http_setup(p) < 0) {
        fprintf(stderr, "lt_push: cannot set up libcurl\n");
        return -1;
    }
    while (!lt_push_all_done(p)) {
        int64_t now;
        int turn = lt_push_turn(p, &now);
        if (turn < 0)
            return -1;
        if (turn > 0)
            break;
        int running = 0;
        curl_multi_perform(p->multi, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(p->multi, &left)))
            if (msg->msg == CURLMSG_DONE)
                http_done(p, msg->easy_handle, msg->data.result, lt_push_now_ns());
        if (lt_push_all_done(p))
            break;
        curl_multi_poll(p->multi, NULL, 0, (int)lt_push_wait_ms(p, lt_push_now_ns()), NULL);
    }
    return 0;
}
