/* lt_token: bearer tokens for senders and operators. A token is
 *   lt_<prefix>_<secret>
 * with a 10-hex-digit prefix (stored in clear to find the row) and 32 random
 * bytes of secret (base64url). Only a salted, keyed BLAKE2b hash of the whole
 * token is stored; checking compares in constant time. A fast hash is right
 * here, unlike for passwords: the secret has 256 bits of entropy, so there is
 * nothing to brute-force, and the check runs on every request. */
#ifndef LT_TOKEN_H
#define LT_TOKEN_H

#include <stdbool.h>
#include <stddef.h>

#define LT_TOKEN_PREFIX_LEN 10 /* hex digits */
#define LT_TOKEN_MAX        96 /* a token's length with its NUL, with room to spare */
#define LT_TOKEN_HASH_MAX   128

/* Writes a new random token and its prefix. Returns 0 or -1 (buffers too
 * small). */
int lt_token_generate(char *ret_token, size_t cap, char ret_prefix[LT_TOKEN_PREFIX_LEN + 1])
    __attribute__((warn_unused_result));

/* The prefix of a well-formed token; -1 when token does not have the shape
 * (then there is no row to look up and the answer is 401 at once). */
int lt_token_prefix(const char *token, char ret_prefix[LT_TOKEN_PREFIX_LEN + 1])
    __attribute__((warn_unused_result));

/* The storable hash, "b2k$<salt>$<hash>" in base64url, with a fresh salt.
 * Returns 0 or -1. */
int lt_token_hash(const char *token, char *ret_hash, size_t cap)
    __attribute__((warn_unused_result));

/* True when token hashes to stored under stored's salt; constant time in
 * the token's content. A malformed stored string is false. */
bool lt_token_verify(const char *token, const char *stored);

#endif
