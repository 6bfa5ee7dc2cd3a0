/* lt_dialects: the set of dialects, shipped and the operator's (see
 * lt_dialects.h). Loading compiles each file once (lt_mapping_load.c), so
 * what a sender's records meet at ingest is a ready plan. */
#include "lt_dialects.h"
#include "lt_fmt.h"
#include "lt_paths.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* A province has a handful of vendors; the limit bounds a stray directory. */
#define MAX_DIALECTS 256

struct lt_dialects {
    lt_dialect *items[MAX_DIALECTS]; /* owned, sorted by name */
    size_t n;
};

static int by_name(const void *a, const void *b)
{
    return strcmp(lt_dialect_name(*(lt_dialect *const *)a),
                  lt_dialect_name(*(lt_dialect *const *)b));
}

static lt_dialect **slot_of(lt_dialects *self, const char *name)
{
    for (size_t i = 0; i < self->n; i++)
        if (strcmp(lt_dialect_name(self->items[i]), name) == 0)
            return &self->items[i];
    return NULL;
}

/* Loads every NAME.json of dir; a later directory's file replaces an
 * earlier one of the same name. */
static int load_dir(lt_dialects *self, const char *dir, char *err, size_t cap)
{
    DIR *d = opendir(dir);
    if (!d)
        return lt_errf(err, cap, "cannot read dialect directory %s: %s", dir, strerror(errno));
    int rc = -1;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (e->d_name[0] == '.' || len < 6 || strcmp(e->d_name + len - 5, ".json") != 0)
            continue;
        char path[PATH_MAX], why[512];
        if (lt_fmt(path, sizeof(path), "%s/%s", dir, e->d_name) < 0) {
            lt_errf(err, cap, "dialect path too long in %s", dir);
            goto out;
        }
        lt_dialect *dl = lt_dialect_load_file(path, why, sizeof(why));
        if (!dl) {
            lt_errf(err, cap, "%s", why);
            goto out;
        }
        const char *name = lt_dialect_name(dl);
        if (strlen(name) != len - 5 || strncmp(name, e->d_name, len - 5) != 0) {
            lt_errf(err, cap, "%s: the dialect is called \"%s\"; its file must be %s.json", path,
                    name, name);
            lt_dialect_destroy(&dl);
            goto out;
        }
        lt_dialect **slot = slot_of(self, name);
        if (slot) {
            lt_dialect_destroy(slot);
            *slot = dl;
        } else if (self->n < MAX_DIALECTS) {
            self->items[self->n++] = dl;
        } else {
            lt_dialect_destroy(&dl);
            lt_errf(err, cap, "more than %d dialects", MAX_DIALECTS);
            goto out;
        }
    }
    rc = 0;
out:
    closedir(d);
    return rc;
}

lt_dialects *lt_dialects_load(const lt_config *cfg, char *err, size_t cap)
{
    lt_dialects *self = calloc(1, sizeof(*self));
    char shipped[PATH_MAX];
    if (!self) {
        lt_errf(err, cap, "out of memory");
        return NULL;
    }
    if (lt_paths_dir(LT_PATH_DIALECTS, shipped, sizeof(shipped)) < 0) {
        lt_errf(err, cap, "cannot locate the shipped dialects");
        goto bad;
    }
    if (load_dir(self, shipped, err, cap) < 0)
        goto bad;
    if (cfg->dialects.dir[0] && load_dir(self, cfg->dialects.dir, err, cap) < 0)
        goto bad;
    qsort(self->items, self->n, sizeof(self->items[0]), by_name);
    return self;
bad:
    lt_dialects_destroy(&self);
    return NULL;
}

void lt_dialects_destroy(lt_dialects **self_p)
{
    if (!self_p || !*self_p)
        return;
    for (size_t i = 0; i < (*self_p)->n; i++)
        lt_dialect_destroy(&(*self_p)->items[i]);
    free(*self_p);
    *self_p = NULL;
}

const lt_dialect *lt_dialects_find(const lt_dialects *self, const char *name)
{
    for (size_t i = 0; i < self->n; i++)
        if (strcmp(lt_dialect_name(self->items[i]), name) == 0)
            return self->items[i];
    return NULL;
}

size_t lt_dialects_count(const lt_dialects *self)
{
    return self->n;
}

const lt_dialect *lt_dialects_at(const lt_dialects *self, size_t i)
{
    return i < self->n ? self->items[i] : NULL;
}
