/* TEMPORARY (branch wip-rej only, deleted when the writer lands in main):
 * stand-ins for lt_ingest_req_new/destroy and lt_writer_run_sync so that
 * `lienthong rejects` links before lt_writer.c exists. The stand-in writer
 * answers 503: nothing is ever written through it. */
#include "lt_ingest.h"
#include "lt_writer.h"

#include <stdlib.h>
#include <string.h>

lt_ingest_req *lt_ingest_req_new(lt_channel channel)
{
    lt_ingest_req *r = calloc(1, sizeof(*r));
    if (r)
        r->channel = channel;
    return r;
}

void lt_ingest_req_destroy(lt_ingest_req **self_p)
{
    if (!self_p || !*self_p)
        return;
    json_decref((*self_p)->records);
    free((*self_p)->body);
    free((*self_p)->answer);
    free(*self_p);
    *self_p = NULL;
}

int lt_writer_run_sync(PGconn *db, const lt_config *cfg, const lt_dialects *dialects,
                       lt_ingest_req *req)
{
    (void)db;
    (void)cfg;
    (void)dialects;
    req->status = 503;
    req->answer = strdup("{\"error\":{\"code\":\"unavailable\",\"message\":\"the writer is not "
                         "built into this binary yet\"}}");
    return -1;
}
