/* lt_paths: locate data files relative to the running binary (lt_paths.h). */
#include "lt_paths.h"

#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct {
    const char *source;    /* below the source tree */
    const char *installed; /* below share/lienthong */
} kinds[] = {
    [LT_PATH_SQL] = {"schemas/sql", "sql"},
    [LT_PATH_SCHEMAS] = {"schemas", "schemas"},
    [LT_PATH_DIALECTS] = {"adapters/dialects", "dialects"},
    [LT_PATH_DEMO] = {"deploy/demo", "demo"},
};

static bool starts_with_dir(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    return strncmp(path, dir, n) == 0 && path[n] == '/';
}

int lt_paths_dir(lt_path_kind kind, char *buf, size_t cap)
{
    const char *override = getenv("LIENTHONG_SHARE_DIR");
    int n;
    if (override && *override) {
        n = snprintf(buf, cap, "%s/%s", override, kinds[kind].installed);
        return n > 0 && (size_t)n < cap ? 0 : -1;
    }
    char exe[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (len <= 0)
        return -1;
    exe[len] = '\0';
    if (starts_with_dir(exe, LT_BUILD_DIR)) {
        n = snprintf(buf, cap, "%s/%s", LT_SOURCE_DIR, kinds[kind].source);
    } else {
        n = snprintf(buf, cap, "%s/%s/%s", dirname(exe), LT_BIN_TO_DATA, kinds[kind].installed);
    }
    return n > 0 && (size_t)n < cap ? 0 : -1;
}
