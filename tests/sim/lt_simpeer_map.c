/* lt_simpeer_map: the string-keyed hash map behind the simulator's
 * de-duplication set, latest records and sessions. Open addressing with
 * linear probing, grown at 70 % load; no removal, because the simulator only
 * ever forgets everything at once (a reset), so no tombstones are needed.
 * Keys are copied; values are owned through the free function given at
 * creation. Not thread-safe: the store's lock guards it. */
#include <stdlib.h>
#include <string.h>

#include "lt_simpeer.h"

typedef struct {
    char *key;   /* owned; NULL = empty slot */
    void *value; /* owned through free_value */
    uint64_t hash;
} slot;

struct lt_simpeer_map {
    slot *slots; /* cap entries */
    size_t cap;  /* a power of two */
    size_t size; /* used slots */
    void (*free_value)(void *);
};

#define INITIAL_CAP 64

/* FNV-1a: short keys, no adversary. */
static uint64_t hash_of(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

int lt_simpeer_map_create(void (*free_value)(void *), lt_simpeer_map **ret_map)
{
    lt_simpeer_map *m = calloc(1, sizeof(*m));
    if (!m)
        return -1;
    m->slots = calloc(INITIAL_CAP, sizeof(*m->slots));
    if (!m->slots) {
        free(m);
        return -1;
    }
    m->cap = INITIAL_CAP;
    m->free_value = free_value;
    *ret_map = m;
    return 0;
}

void lt_simpeer_map_clear(lt_simpeer_map *map)
{
    for (size_t i = 0; i < map->cap; i++) {
        if (!map->slots[i].key)
            continue;
        free(map->slots[i].key);
        if (map->free_value)
            map->free_value(map->slots[i].value);
        map->slots[i] = (slot){0};
    }
    map->size = 0;
}

void lt_simpeer_map_destroy(lt_simpeer_map **map_p)
{
    if (!*map_p)
        return;
    lt_simpeer_map_clear(*map_p);
    free((*map_p)->slots);
    free(*map_p);
    *map_p = NULL;
}

static slot *find(const lt_simpeer_map *map, const char *key, uint64_t h)
{
    size_t mask = map->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        slot *s = &map->slots[i];
        if (!s->key || (s->hash == h && strcmp(s->key, key) == 0))
            return s;
    }
}

void *lt_simpeer_map_get(const lt_simpeer_map *map, const char *key)
{
    slot *s = find(map, key, hash_of(key));
    return s->key ? s->value : NULL;
}

static int grow(lt_simpeer_map *map)
{
    slot *old = map->slots;
    size_t old_cap = map->cap;
    slot *fresh = calloc(old_cap * 2, sizeof(*fresh));
    if (!fresh)
        return -1;
    map->slots = fresh;
    map->cap = old_cap * 2;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].key)
            *find(map, old[i].key, old[i].hash) = old[i];
    free(old);
    return 0;
}

int lt_simpeer_map_put(lt_simpeer_map *map, const char *key, void *value)
{
    if ((map->size + 1) * 10 > map->cap * 7 && grow(map) < 0)
        return -1;
    uint64_t h = hash_of(key);
    slot *s = find(map, key, h);
    if (s->key) {
        if (map->free_value && s->value != value)
            map->free_value(s->value);
        s->value = value;
        return 0;
    }
    char *copy = strdup(key);
    if (!copy)
        return -1;
    *s = (slot){.key = copy, .value = value, .hash = h};
    map->size++;
    return 0;
}

size_t lt_simpeer_map_size(const lt_simpeer_map *map)
{
    return map->size;
}

int lt_simpeer_map_each(const lt_simpeer_map *map,
                        int (*fn)(const char *key, void *value, void *ctx), void *ctx)
{
    for (size_t i = 0; i < map->cap; i++) {
        if (!map->slots[i].key)
            continue;
        int rc = fn(map->slots[i].key, map->slots[i].value, ctx);
        if (rc)
            return rc;
    }
    return 0;
}
