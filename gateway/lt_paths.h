/* lt_paths: where the binary finds its read-only data (migrations, schemas,
 * mappings, holidays). An installed binary reads <prefix>/share/lienthong,
 * found relative to its own location, so a relocated prefix still works; a
 * binary inside the build tree reads the source tree, so a developer never
 * installs to test. LIENTHONG_SHARE_DIR overrides both. */
#ifndef LT_PATHS_H
#define LT_PATHS_H

#include <stddef.h>

/* Kinds of data: the name under share/lienthong when installed. */
typedef enum {
    LT_PATH_SQL,      /* schemas/sql in the source tree, sql/ installed */
    LT_PATH_SCHEMAS,  /* schemas/ in the source tree, schemas/ installed */
    LT_PATH_DIALECTS, /* adapters/dialects in the source tree, dialects/ installed */
    LT_PATH_DEMO,     /* deploy/demo in the source tree, demo/ installed */
} lt_path_kind;

/* Writes the directory holding kind into buf. Returns 0, or -1 when it
 * cannot be determined or does not fit. */
int lt_paths_dir(lt_path_kind kind, char *buf, size_t cap) __attribute__((warn_unused_result));

#endif
