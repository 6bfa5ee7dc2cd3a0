/* lt_delivery_parent: the liên thông leg (destination unit:<code>, kind
 * parent) as a delivery driver. The competent unit runs a gateway of our
 * own contract, so the stored canonical record goes as it is to
 * POST {url}/v1/dossiers and gateways chain ward -> district -> province.
 * The answer is judged by our contract: accepted, duplicate and stale all
 * mean the unit has this state or a newer one (delivered); a refusal (4xx
 * other than 408/429, or a 2xx whose result is rejected) is a dead letter
 * with the answer kept; 408, 429, 5xx and transport errors are retried. */
#include "lt_delivery.h"
#include "lt_delivery_http.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *parent_body(void *ctx, const lt_outbox_item *it, bool *ret_skip, char *err, size_t cap)
{
    (void)ctx;
    *ret_skip = false;
    char *b = it->record ? strdup(it->record) : NULL;
    if (!b)
        snprintf(err, cap, "no record to send (or out of memory)");
    return b;
}

static lt_delivery_verdict parent_judge(const lt_curlm_response *resp, char *err, size_t cap)
{
    lt_delivery_verdict v = lt_delivery_http_verdict(resp->status);
    if (v != LT_DELIVERY_OK)
        return v;
    json_t *doc = json_loadb(resp->body, resp->body_len, 0, NULL);
    const char *res = json_string_value(
        json_object_get(json_array_get(json_object_get(doc, "results"), 0), "result"));
    if (res && (!strcmp(res, "accepted") || !strcmp(res, "duplicate") || !strcmp(res, "stale")))
        v = LT_DELIVERY_OK;
    else {
        /* A 2xx that does not say it took the record: the contract is broken
         * or the record refused; either way a retry would not change it. */
        v = LT_DELIVERY_DEAD;
        snprintf(err, cap, "the unit's gateway answered HTTP %ld with result %s", resp->status,
                 res ? res : "(none)");
    }
    json_decref(doc);
    return v;
}

/* The token for unit in "UNIT=TOKEN,UNIT=TOKEN" into buf ("" when none). */
static void find_token(const char *tokens, const char *unit, char *buf, size_t cap)
{
    buf[0] = '\0';
    size_t ul = strlen(unit);
    for (const char *p = tokens ? tokens : ""; *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        while (len && *p == ' ') {
            p++;
            len--;
        }
        if (len > ul && !strncmp(p, unit, ul) && p[ul] == '=') {
            snprintf(buf, cap, "%.*s", (int)(len - ul - 1), p + ul + 1);
            return;
        }
        p += len;
        if (*p == ',')
            p++;
    }
}

int lt_delivery_parent_new(lt_loop *loop, lt_curlm *curl, const lt_config *cfg, const char *unit,
                           const char *url, lt_delivery_driver *ret)
{
    char full[2048], token[512];
    size_t ul = strlen(url);
    while (ul && url[ul - 1] == '/')
        ul--;
    if (!ul ||
        (size_t)snprintf(full, sizeof(full), "%.*s/v1/dossiers", (int)ul, url) >= sizeof(full))
        return -1;
    find_token(cfg->units.tokens, unit, token, sizeof(token));
    lt_delivery_http_opts o = {.url = full,
                               .token = token,
                               .timeout_ms = cfg->units.timeout_ms,
                               .ca_file = cfg->delivery.ca_file,
                               .curl = curl,
                               .body = parent_body,
                               .judge = parent_judge};
    return lt_delivery_http_new(loop, &o, ret);
}
