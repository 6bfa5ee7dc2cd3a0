/* lt_web_assets.h: the dashboard's files (gateway/web), compiled into the
 * binary by gateway/web/embed.cmake, which writes the table at build time. */
#ifndef LT_WEB_ASSETS_H
#define LT_WEB_ASSETS_H

#include <stddef.h>

typedef struct {
    const char *path;          /* the URL path it is served at: "/" or "/assets/NAME" */
    const char *content_type;  /* from the file's extension */
    const char *etag;          /* quoted, from the SHA-256 of the bytes */
    const unsigned char *data; /* the bytes, followed by a NUL not counted in size */
    size_t size;
} lt_web_asset;

extern const lt_web_asset lt_web_assets[];
extern const size_t lt_web_assets_count;

#endif
