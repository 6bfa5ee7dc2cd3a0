/* lt_report_http: GET /v1/reports/ontime (DESIGN.md, HTTP; open, no
 * personal data). The front only checks the parameters and hands the query
 * to the reader actor, which owns a database connection and answers with
 * the finished JSON (lt_report via lt_reader): the HTTP thread never waits
 * on libpq. */
#include "lt_http_int.h"
#include "lt_report.h"

enum MHD_Result lt_http_route_report(http_server *srv, struct MHD_Connection *c, http_req *req)
{
    if (req->answer_status)
        return lt_http_reply_answer(c, req);
    if (req->waiting)
        return MHD_YES;
    query_args qa = {.n = 0};
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, lt_http_collect_arg, &qa);
    lt_report_query q;
    char field[80], msg[256];
    if (qa.overflow)
        return lt_http_reply_error(c, MHD_HTTP_BAD_REQUEST, "bad_request",
                                   "too many query parameters", NULL);
    if (lt_report_query_parse(qa.keys, qa.values, qa.n, &q, field, sizeof(field), msg,
                              sizeof(msg)) < 0)
        return lt_http_reply_error(c, MHD_HTTP_BAD_REQUEST, "bad_request", msg, field);
    if (srv->draining)
        return lt_http_reply_unavailable(c, "gateway is stopping");
    if (!srv->db.ready)
        return lt_http_reply_unavailable(c, srv->db.known ? srv->db.reason
                                                          : "database state not yet known");
    return lt_http_call_actor(srv, c, req, srv->reader, "report", lt_report_query_json(&q));
}
