/* lt_http_web: the operators' dashboard, GET / and GET /assets/NAME.
 *
 * The page is static HTML, CSS and JavaScript compiled into the binary
 * (lt_web_assets.h), so a gateway serves it with no files to install and no
 * outside resources; the page itself reads /v1/status and the dead-letter
 * calls like any other client, so it needs nothing from the server beyond
 * these bytes. Every answer carries a Content-Security-Policy that allows
 * only this origin's own scripts, styles, images and calls (no inline code,
 * no frames), and an ETag so a browser that refreshes revalidates with a
 * 304 instead of reading the page again. */
#include "lt_http_int.h"
#include "lt_web_assets.h"

#include <stdbool.h>
#include <string.h>

/* 'none' first, then only what the page uses, all from 'self'. */
#define WEB_CSP                                                                                    \
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "                    \
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

/* Revalidate every time: the paths carry no version, and the check is a
 * 304 with no body. */
#define WEB_CACHE_CONTROL "no-cache"

static const lt_web_asset *find_asset(const char *path)
{
    for (size_t i = 0; i < lt_web_assets_count; i++)
        if (strcmp(lt_web_assets[i].path, path) == 0)
            return &lt_web_assets[i];
    return NULL;
}

/* RFC 9110 13.1.2: If-None-Match is "*" or a list of entity tags, compared
 * weakly (a W/ prefix is ignored). */
static bool etag_listed(const char *header, const char *etag)
{
    size_t n = strlen(etag);
    const char *p = header;
    while (*p) {
        p += strspn(p, " \t,");
        if (*p == '*')
            return true;
        if (strncmp(p, "W/", 2) == 0)
            p += 2;
        size_t len = strcspn(p, ",");
        while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        if (len == n && memcmp(p, etag, n) == 0)
            return true;
        p += strcspn(p, ",");
    }
    return false;
}

enum MHD_Result lt_http_route_web(http_server *srv, struct MHD_Connection *c, http_req *req)
{
    (void)srv;
    const lt_web_asset *a = find_asset(req->url);
    if (!a)
        return lt_http_reply_error(c, MHD_HTTP_NOT_FOUND, "not_found", "no such dashboard file",
                                   NULL);
    const char *inm = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "If-None-Match");
    bool fresh = inm && etag_listed(inm, a->etag);
    /* The bytes are static: MHD sends them without a copy. */
    struct MHD_Response *r = MHD_create_response_from_buffer(fresh ? 0 : a->size, (void *)a->data,
                                                             MHD_RESPMEM_PERSISTENT);
    if (!r)
        return MHD_NO;
    if (!fresh)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, a->content_type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, a->etag);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, WEB_CACHE_CONTROL);
    MHD_add_response_header(r, "Content-Security-Policy", WEB_CSP);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    enum MHD_Result rc = MHD_queue_response(c, fresh ? MHD_HTTP_NOT_MODIFIED : MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return rc;
}
