/* lt_portalctl: drives lt_portal alone for t_portal.sh, the way the
 * delivery actor will: one lt_loop, one lt_curlm, one lt_portal, items sent
 * in batches of portal.batch_size, one after the other, on one session.
 *
 *   lt_portalctl [--config FILE] ITEMS.json
 *
 * The configuration is lienthong's own (file and LIENTHONG_PORTAL_*
 * environment). ITEMS.json is an array of {"seq": N, "code": "MaHoSo",
 * "record": {canonical record}, "known": bool}. Prints one JSON line per
 * item: {"seq", "code", "verdict", "http_status", "error_code", "message",
 * "answer"}. Exit 0 when every batch was answered, 1 on a setup failure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "lt_config.h"
#include "lt_curlm.h"
#include "lt_dialects.h"
#include "lt_log.h"
#include "lt_loop.h"
#include "lt_portal.h"

typedef struct run {
    lt_loop *loop;         /* the one loop */
    lt_portal *portal;     /* the client */
    lt_portal_item *items; /* all of them */
    char **texts;          /* their records as text, owned */
    size_t n, next;        /* items, the first not yet sent */
    size_t batch;          /* portal.batch_size */
    int rc;                /* exit status */
} run;

static const char *verdict_name(lt_portal_verdict v)
{
    switch (v) {
    case LT_PORTAL_DELIVERED:
        return "delivered";
    case LT_PORTAL_RETRY:
        return "retry";
    case LT_PORTAL_DEAD:
        return "dead";
    case LT_PORTAL_SKIPPED:
        return "skipped";
    }
    return "?";
}

static void send_next(run *r);

static void on_done(const lt_portal_result *res, size_t n, void *arg)
{
    run *r = arg;
    size_t first = r->next - n;
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_pack(
            "{s:I, s:s, s:s, s:i, s:s, s:s, s:s?}", "seq",
            (json_int_t)r->items[first + i].event_seq, "code", r->items[first + i].dossier_code,
            "verdict", verdict_name(res[i].verdict), "http_status", res[i].http_status,
            "error_code", res[i].error_code, "message", res[i].message, "answer", res[i].answer);
        char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
        if (s)
            printf("%s\n", s);
        free(s);
        json_decref(o);
    }
    fflush(stdout);
    send_next(r);
}

static void send_next(run *r)
{
    if (r->next >= r->n) {
        lt_loop_stop(r->loop);
        return;
    }
    size_t k = r->n - r->next < r->batch ? r->n - r->next : r->batch;
    const lt_portal_item *at = &r->items[r->next];
    r->next += k;
    if (lt_portal_send(r->portal, at, k, on_done, r) < 0) {
        fprintf(stderr, "lt_portalctl: lt_portal_send refused the batch\n");
        r->rc = 1;
        lt_loop_stop(r->loop);
    }
}

int main(int argc, char **argv)
{
    const char *config = NULL, *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            config = argv[++i];
        else
            path = argv[i];
    }
    if (!path) {
        fprintf(stderr, "usage: lt_portalctl [--config FILE] ITEMS.json\n");
        return 2;
    }
    lt_config cfg = {0};
    lt_config_error cerr;
    if (lt_config_load(&cfg, config, NULL, &cerr, NULL, 0) < 0) {
        fprintf(stderr, "lt_portalctl: %s: %s\n", cerr.key, cerr.message);
        return 1;
    }
    lt_log_set_level((lt_log_level)cfg.log.level);
    run r = {.rc = 0, .batch = (size_t)cfg.portal.batch_size};
    char err[512];
    lt_dialects *ds = lt_dialects_load(&cfg, err, sizeof(err));
    const lt_dialect *d = ds ? lt_dialects_find(ds, cfg.portal.dialect) : NULL;
    json_error_t jerr;
    json_t *doc = json_load_file(path, 0, &jerr);
    lt_curlm *curl = NULL;
    if (!d || !json_is_array(doc)) {
        fprintf(stderr, "lt_portalctl: %s\n", !ds ? err : !d ? "no such dialect" : jerr.text);
        r.rc = 1;
        goto out;
    }
    r.n = json_array_size(doc);
    r.items = calloc(r.n ? r.n : 1, sizeof(*r.items));
    r.texts = calloc(r.n ? r.n : 1, sizeof(*r.texts));
    for (size_t i = 0; i < r.n; i++) {
        const json_t *it = json_array_get(doc, i);
        const json_t *rec = json_object_get(it, "record");
        r.texts[i] = json_is_string(rec) ? strdup(json_string_value(rec))
                                         : json_dumps(rec, JSON_COMPACT | JSON_ENCODE_ANY);
        r.items[i] = (lt_portal_item){
            .event_seq = json_integer_value(json_object_get(it, "seq")),
            .dossier_code = json_string_value(json_object_get(it, "code")),
            .record = r.texts[i],
            .known = json_is_true(json_object_get(it, "known")),
        };
        if (!r.items[i].dossier_code)
            r.items[i].dossier_code = "";
    }
    r.loop = lt_loop_new();
    lt_curlm_opts o = {
        .max_in_flight = 4, .timeout_ms = cfg.portal.timeout_ms, .ca_file = cfg.portal.ca_file};
    curl = r.loop ? lt_curlm_new(r.loop, &o) : NULL;
    r.portal = curl ? lt_portal_new(r.loop, curl, &cfg, d) : NULL;
    if (!r.portal) {
        fprintf(stderr, "lt_portalctl: cannot start the client (is portal.url set?)\n");
        r.rc = 1;
        goto out;
    }
    send_next(&r);
    if (lt_loop_run(r.loop) < 0)
        r.rc = 1;
out:
    lt_portal_destroy(&r.portal);
    lt_curlm_destroy(&curl);
    lt_loop_destroy(&r.loop);
    for (size_t i = 0; r.texts && i < r.n; i++)
        free(r.texts[i]);
    free(r.texts);
    free(r.items);
    json_decref(doc);
    lt_dialects_destroy(&ds);
    lt_config_free(&cfg);
    return r.rc;
}
