/* lt_catgen: the deterministic catalog generator shared by lt_gencatalog
 * (export files) and lt_simcatalog (the national catalog API simulator), so
 * that a file and the simulator with the same seed serve the same records.
 * Record i depends only on (seed, i): Vietnamese names, national codes
 * d.dddddd with local variants (.000.00.00.H56, .H56), levels 0..3,
 * per-channel times and fees, documents, legal bases, fields; one record in
 * ten spells numbers as JSON numbers, as real exports do. Test code only. */
#ifndef LT_CATGEN_H
#define LT_CATGEN_H

#include <stdint.h>
#include <jansson.h>

enum { LT_CATGEN_SAME = 0, LT_CATGEN_CHANGED = 1, LT_CATGEN_DROPPED = 2 };

/* Record i of the catalog for seed; a new object (caller's). */
json_t *lt_catgen_procedure(uint64_t seed, uint64_t i, const char *province);

/* Changes rec (record i) so that its normalized content always differs:
 * a longer time limit, a new fee or a new name, chosen by seed. */
void lt_catgen_change(json_t *rec, uint64_t seed, uint64_t i);

/* fate[i] for i < count: exactly n_change records LT_CATGEN_CHANGED and
 * n_drop others LT_CATGEN_DROPPED, chosen by a shuffle seeded with
 * change_seed. A new array (caller frees), NULL when n_change + n_drop >
 * count or out of memory. */
unsigned char *lt_catgen_fates(uint64_t count, uint64_t n_change, uint64_t n_drop,
                               uint64_t change_seed);

#endif
