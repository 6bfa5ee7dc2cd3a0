/* lt_delivery_webhook: citizen notifications on status change (destination
 * webhook), as provinces do with Zalo, as a delivery driver. Routing writes
 * a row only when a dossier's status changed; the notice says what changed
 * and nothing about the person: dossier code, status, procedure, the unit
 * handling it and the event's sequence. Whoever sends the message looks up
 * the contact details on their side. Any 2xx means it has it. */
#include "lt_delivery.h"
#include "lt_delivery_http.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

static json_t *or_null(json_t *v)
{
    return v ? v : json_null();
}

static char *webhook_body(void *ctx, const lt_outbox_item *it, bool *ret_skip, char *err,
                          size_t cap)
{
    (void)ctx;
    *ret_skip = false;
    json_t *rec = json_loads(it->record ? it->record : "", 0, NULL);
    json_t *n = json_object();
    char *out = NULL;
    /* Only these fields: anything else in the record may be personal. */
    if (n && !json_object_set_new(n, "MaHoSo", json_string(it->dossier_code)) &&
        !json_object_set_new(n, "TrangThaiHoSo", json_integer(it->status)) &&
        !json_object_set(n, "MaTTHC", or_null(json_object_get(rec, "MaTTHC"))) &&
        !json_object_set(n, "DonViXuLy", or_null(json_object_get(rec, "DonViXuLy"))) &&
        !json_object_set_new(n, "sequence", json_integer(it->event_seq)))
        out = json_dumps(n, JSON_COMPACT);
    if (!out)
        snprintf(err, cap, "out of memory building the notice");
    json_decref(n);
    json_decref(rec);
    return out;
}

static lt_delivery_verdict webhook_judge(const lt_curlm_response *resp, char *err, size_t cap)
{
    (void)err;
    (void)cap;
    return lt_delivery_http_verdict(resp->status);
}

int lt_delivery_webhook_new(lt_loop *loop, lt_curlm *curl, const lt_config *cfg,
                            lt_delivery_driver *ret)
{
    if (!cfg->webhook.url[0])
        return -1;
    lt_delivery_http_opts o = {.url = cfg->webhook.url,
                               .timeout_ms = cfg->units.timeout_ms,
                               .ca_file = cfg->delivery.ca_file,
                               .curl = curl,
                               .body = webhook_body,
                               .judge = webhook_judge};
    if (lt_delivery_http_new(loop, &o, ret) < 0)
        return -1;
    ret->destination = "webhook";
    ret->kind = "webhook";
    ret->url = cfg->webhook.url;
    ret->dialect = NULL;
    return 0;
}
