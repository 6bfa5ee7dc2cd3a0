/* lt_token: token generation, hashing and checking (see lt_token.h). */
#include "lt_token.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#define SECRET_BYTES 32
#define SALT_BYTES   crypto_generichash_KEYBYTES /* 32: BLAKE2b's key is the salt */
#define HASH_BYTES   crypto_generichash_BYTES    /* 32 */
#define B64          sodium_base64_VARIANT_URLSAFE_NO_PADDING

static bool is_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

int lt_token_generate(char *ret_token, size_t cap, char ret_prefix[LT_TOKEN_PREFIX_LEN + 1])
{
    unsigned char id[LT_TOKEN_PREFIX_LEN / 2], secret[SECRET_BYTES];
    char secret64[sodium_base64_ENCODED_LEN(SECRET_BYTES, B64)];
    randombytes_buf(id, sizeof(id));
    randombytes_buf(secret, sizeof(secret));
    sodium_bin2hex(ret_prefix, LT_TOKEN_PREFIX_LEN + 1, id, sizeof(id));
    sodium_bin2base64(secret64, sizeof(secret64), secret, sizeof(secret), B64);
    sodium_memzero(secret, sizeof(secret));
    int n = snprintf(ret_token, cap, "lt_%s_%s", ret_prefix, secret64);
    sodium_memzero(secret64, sizeof(secret64));
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

int lt_token_prefix(const char *token, char ret_prefix[LT_TOKEN_PREFIX_LEN + 1])
{
    size_t len = strlen(token);
    size_t secret_len = sodium_base64_ENCODED_LEN(SECRET_BYTES, B64) - 1;
    if (len != 3 + LT_TOKEN_PREFIX_LEN + 1 + secret_len || strncmp(token, "lt_", 3) != 0 ||
        token[3 + LT_TOKEN_PREFIX_LEN] != '_' || !is_hex(token + 3, LT_TOKEN_PREFIX_LEN))
        return -1;
    memcpy(ret_prefix, token + 3, LT_TOKEN_PREFIX_LEN);
    ret_prefix[LT_TOKEN_PREFIX_LEN] = '\0';
    return 0;
}

static void keyed_hash(const char *token, const unsigned char salt[SALT_BYTES],
                       unsigned char out[HASH_BYTES])
{
    crypto_generichash(out, HASH_BYTES, (const unsigned char *)token, strlen(token), salt,
                       SALT_BYTES);
}

int lt_token_hash(const char *token, char *ret_hash, size_t cap)
{
    unsigned char salt[SALT_BYTES], h[HASH_BYTES];
    char salt64[sodium_base64_ENCODED_LEN(SALT_BYTES, B64)];
    char h64[sodium_base64_ENCODED_LEN(HASH_BYTES, B64)];
    randombytes_buf(salt, sizeof(salt));
    keyed_hash(token, salt, h);
    sodium_bin2base64(salt64, sizeof(salt64), salt, sizeof(salt), B64);
    sodium_bin2base64(h64, sizeof(h64), h, sizeof(h), B64);
    int n = snprintf(ret_hash, cap, "b2k$%s$%s", salt64, h64);
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

bool lt_token_verify(const char *token, const char *stored)
{
    unsigned char salt[SALT_BYTES], want[HASH_BYTES], got[HASH_BYTES];
    size_t salt_len = 0, want_len = 0;
    const char *end = NULL;
    if (strncmp(stored, "b2k$", 4) != 0)
        return false;
    if (sodium_base642bin(salt, sizeof(salt), stored + 4, strlen(stored + 4), NULL, &salt_len, &end,
                          B64) != 0 ||
        salt_len != SALT_BYTES || !end || *end != '$')
        return false;
    if (sodium_base642bin(want, sizeof(want), end + 1, strlen(end + 1), NULL, &want_len, NULL,
                          B64) != 0 ||
        want_len != HASH_BYTES)
        return false;
    keyed_hash(token, salt, got);
    return sodium_memcmp(got, want, HASH_BYTES) == 0;
}
