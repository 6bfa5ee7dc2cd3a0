/* lt_limits: per-sender token buckets for the ingest fronts (HTTP, ZeroMQ
 * ingress). A front keeps one lt_limits of its own (no locking: one thread)
 * and asks it, before a push goes to the writer, whether the sender may
 * spend that many records now. The sender's key is the prefix of its bearer
 * token (the front sees the token before the writer authenticates it), or
 * its address when it sent none. */
#ifndef LT_LIMITS_H
#define LT_LIMITS_H

#include <stddef.h>
#include <stdint.h>

typedef struct lt_limits lt_limits;

/* A table of at most max_keys buckets. NULL when out of memory. */
lt_limits *lt_limits_new(size_t max_keys) __attribute__((warn_unused_result));
/* Frees the table; sets *self_p NULL; accepts NULL. */
void lt_limits_destroy(lt_limits **self_p);

/* Takes cost records from key's bucket (refilled at rate records/s up to
 * burst) at now_ms. Returns 0 when taken, or the whole seconds (at least 1)
 * after which the same cost would be taken; then nothing is taken. A cost
 * above burst is taken as burst (a full bucket always lets one request
 * through). rate <= 0 turns the limit off (always 0). */
int lt_limits_take(lt_limits *self, const char *key, int64_t rate, int64_t burst, int64_t cost,
                   int64_t now_ms);

/* The bucket key of a sender into ret_key: "t:" and the token's prefix for
 * a token of the right shape, else "a:" and addr (may be NULL or ""). */
void lt_limits_key(const char *token, const char *addr, char *ret_key, size_t cap);

/* Buckets held (for tests). */
size_t lt_limits_size(const lt_limits *self);

#endif
