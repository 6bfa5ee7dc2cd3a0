/* lt_http_status: GET /v1/status and GET /metrics (DESIGN.md: open, no
 * personal data). The numbers shared by every gateway need the database, so
 * the route asks the reader actor (fronts never call libpq), which answers
 * with the finished text (lt_status_doc). When the reader cannot answer in
 * time or is full, the route still answers 200 from this process's counters
 * alone with database.reachable false: status matters most when the
 * database is the problem. */
#include "lt_http_int.h"

#include <stdlib.h>
#include <string.h>

#include "lt_stats.h"
#include "lt_status_doc.h"

#define METRICS_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define JSON_TYPE    "application/json; charset=utf-8"

static enum MHD_Result reply(struct MHD_Connection *c, char *text, const char *type)
{
    if (!text)
        return MHD_NO;
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    enum MHD_Result rc = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return rc;
}

/* The document without the database, rendered here from lt_stats alone. */
static char *without_database(http_server *srv, bool metrics, const char *why)
{
    return lt_statusdoc_answer(NULL, why, &srv->cfg, metrics);
}

static enum MHD_Result route(http_server *srv, struct MHD_Connection *c, http_req *req,
                             bool metrics)
{
    const char *type = metrics ? METRICS_TYPE : JSON_TYPE;
    if (req->answer_status) {
        if (req->answer_status == MHD_HTTP_OK) {
            char *text = req->answer_body;
            req->answer_body = NULL;
            return reply(c, text, type);
        }
        return reply(c,
                     without_database(srv, metrics,
                                      req->answer_status == MHD_HTTP_SERVICE_UNAVAILABLE
                                          ? "the database did not answer in time"
                                          : "the status query failed"),
                     type);
    }
    if (req->waiting)
        return MHD_YES;
    if (srv->draining)
        return reply(c, without_database(srv, metrics, "the gateway is stopping"), type);
    return lt_http_call_actor(srv, c, req, srv->reader, metrics ? "metrics" : "status",
                              json_object());
}

enum MHD_Result lt_http_route_status(http_server *srv, struct MHD_Connection *c, http_req *req)
{
    return route(srv, c, req, false);
}

enum MHD_Result lt_http_route_metrics(http_server *srv, struct MHD_Connection *c, http_req *req)
{
    return route(srv, c, req, true);
}
