/* lt_report_http: GET /v1/reports/ontime (DESIGN.md, HTTP; open, no
 * personal data). The front only checks the parameters and hands the query
 * to the report actor, which owns a database connection of its own and
 * answers with the finished JSON (lt_report via lt_reportd): the HTTP thread
 * never waits on libpq, and a long report never holds up the reader. */
#include "lt_http_int.h"
#include "lt_report.h"

static int report_parse(const query_args *qa, void *q, char *field, size_t field_cap, char *msg,
                        size_t msg_cap)
{
    return lt_report_query_parse(qa->keys, qa->values, qa->n, q, field, field_cap, msg, msg_cap);
}

static json_t *report_json(const void *q)
{
    return lt_report_query_json(q);
}

enum MHD_Result lt_http_route_report(http_server *srv, struct MHD_Connection *c, http_req *req)
{
    lt_report_query q;
    return lt_http_route_query(srv, c, req, srv->reports, "report", report_parse, report_json, &q);
}
