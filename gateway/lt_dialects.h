/* lt_dialects: every dialect this gateway knows, loaded once: the shipped
 * files (share/lienthong/dialects, or adapters/dialects in the source tree)
 * plus the operator's own directory (dialects.dir), where a file named like
 * a shipped dialect replaces it. A bad file refuses the whole set, naming the
 * file and the rule, so `serve -n` catches it before a sender does. */
#ifndef LT_DIALECTS_H
#define LT_DIALECTS_H

#include <stddef.h>

#include "lt_config.h"
#include "lt_mapping.h"

typedef struct lt_dialects lt_dialects;

/* Returns the set, or NULL with a sentence in err (a file's own error, or a
 * file whose "dialect" name differs from its file name). */
lt_dialects *lt_dialects_load(const lt_config *cfg, char *err, size_t cap)
    __attribute__((warn_unused_result));
void lt_dialects_destroy(lt_dialects **self_p);

/* The dialect called name, or NULL. Borrowed; lives as long as the set. */
const lt_dialect *lt_dialects_find(const lt_dialects *self, const char *name);
size_t lt_dialects_count(const lt_dialects *self);
/* The i-th dialect in name order, for listings. */
const lt_dialect *lt_dialects_at(const lt_dialects *self, size_t i);

#endif
