/* lt_delivery_ward: results back down (destination ward:<code>, kind ward)
 * as a delivery driver. The receiving ward's own system takes the record in
 * its dialect (units.dialect, mapped with lt_dialect_from_canonical) at its
 * callback URL (units.url); any 2xx means it has it. A record that does not
 * map to the dialect is a dead letter: resending it would not help. */
#include "lt_delivery.h"
#include "lt_delivery_http.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static char *ward_body(void *ctx, const lt_outbox_item *it, bool *ret_skip, char *err, size_t cap)
{
    const lt_dialect *d = ctx;
    *ret_skip = false;
    char *out = NULL;
    char now[16];
    time_t t = time(NULL);
    struct tm tm;
    /* The dialect's "fill_now" times are Vietnam's local time (UTC+7). */
    t += 7 * 3600;
    if (!gmtime_r(&t, &tm) || !strftime(now, sizeof(now), "%Y%m%d%H%M%S", &tm))
        now[0] = '\0';
    json_t *canon = json_loads(it->record ? it->record : "", 0, NULL);
    if (!json_is_object(canon)) {
        snprintf(err, cap, "the stored record is not a JSON object");
        goto out;
    }
    lt_map_errors errs;
    json_t *mapped = lt_dialect_from_canonical(d, canon, now[0] ? now : NULL, &errs);
    if (!mapped) {
        snprintf(err, cap, "the record does not map to dialect %s: %.200s", lt_dialect_name(d),
                 errs.total ? errs.items[0].message : "out of memory");
        goto out;
    }
    out = json_dumps(mapped, JSON_COMPACT);
    json_decref(mapped);
    if (!out)
        snprintf(err, cap, "out of memory");
out:
    json_decref(canon);
    return out;
}

static lt_delivery_verdict ward_judge(const lt_curlm_response *resp, char *err, size_t cap)
{
    (void)err;
    (void)cap;
    return lt_delivery_http_verdict(resp->status);
}

int lt_delivery_ward_new(lt_loop *loop, lt_curlm *curl, const lt_config *cfg,
                         const lt_dialects *dialects, const char *url, const char *dialect,
                         lt_delivery_driver *ret)
{
    const lt_dialect *d = lt_dialects_find(dialects, dialect && dialect[0] ? dialect : "canonical");
    if (!d || !url || !url[0])
        return -1;
    lt_delivery_http_opts o = {.url = url,
                               .timeout_ms = cfg->units.timeout_ms,
                               .ca_file = cfg->delivery.ca_file,
                               .curl = curl,
                               .body = ward_body,
                               .judge = ward_judge,
                               .ctx = (void *)d};
    return lt_delivery_http_new(loop, &o, ret);
}
