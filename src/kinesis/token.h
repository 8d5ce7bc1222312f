/* Self-contained, tamper-proof opaque tokens: shard iterators and pagination NextTokens.
 * Any node holding the key can serve any GetRecords (specs/cluster.md), so a token carries all of
 * its state. Format: standard base64 of
 *     00 00 00 00 00 00 00 01 | 01 (format) | 12-byte random nonce | AES-256-GCM ciphertext |
 * tag(16) so tokens always start with "AAAAAAAAAAE" like AWS's. The 9-byte header and a purpose
 * byte (iterator or generic token, never sent) are authenticated, so a ListShards NextToken is
 * never accepted as a shard iterator. The 32-byte key is kept by the caller in the catalog settings
 * so tokens survive restarts. Thread-safe: no shared state besides OpenSSL's. */
#ifndef SL_KINESIS_TOKEN_H
#define SL_KINESIS_TOKEN_H

#include "core/limits.h"

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#define SL_TOKEN_KEY_BYTES 32

/* Encoded length of a token carrying n plaintext bytes. */
#define SL_TOKEN_ENCODED_LEN(n) ((((9 + 12 + (n) + 16) + 2) / 3) * 4)
/* The largest generic token is still a valid ShardIterator-sized string (limits.h). */
static_assert(SL_TOKEN_ENCODED_LEN(SL_TOKEN_PLAIN_MAX) <= SL_TOKEN_ITERATOR_CHARS_MAX,
              "SL_TOKEN_PLAIN_MAX too large for SL_TOKEN_ITERATOR_CHARS_MAX");

typedef struct {
    char stream_name[SL_NAME_CHARS_MAX + 1]; /* NUL-terminated, 1..128 chars */
    int64_t
        stream_created_ms; /* the stream incarnation: a recreated stream rejects old iterators */
    uint32_t shard_index;
    uint64_t position; /* next storage sequence to read, inclusive */
    int64_t issued_ms; /* for the 5-minute expiry (SL_KINESIS_ITERATOR_TTL_MS) */
} sl_iterator_t;

/* Fills key with 32 random bytes (OpenSSL RAND_bytes). Returns 0 or SL_EIO. */
int sl_token_key_generate(uint8_t key[32]);

/* Seals n plaintext bytes (n <= SL_TOKEN_PLAIN_MAX) into a NUL-terminated token in out.
 * Returns the token's length, SL_ELIMIT when out_cap < SL_TOKEN_ENCODED_LEN(n) + 1 or n is too
 * large, SL_EIO when OpenSSL fails. */
int sl_token_seal(const uint8_t key[32], const void *plain, size_t n, char *out, size_t cap);

/* Opens a token made by sl_token_seal with the same key. Surrounding double quotes are tolerated.
 * Writes the plaintext to plain and its length to *n_out. Returns 0, SL_EINVAL when the token is
 * malformed, tampered with, sealed with another key or is an iterator, SL_ELIMIT when cap is too
 * small. */
int sl_token_open(const uint8_t key[32], const char *s, size_t len, void *plain, size_t cap,
                  size_t *n_out);

/* Encodes an iterator (stream_name 1..128 chars) into a NUL-terminated token of at most
 * SL_TOKEN_ITERATOR_CHARS_MAX chars. Returns its length, SL_EINVAL when the name is empty or too
 * long, SL_ELIMIT when out_cap is too small (513 always suffices), SL_EIO when OpenSSL fails. */
int sl_iterator_encode(const uint8_t key[32], const sl_iterator_t *it, char *out, size_t out_cap);

/* Decodes an iterator; surrounding double quotes are tolerated (AWS does). Returns 0, or
 * SL_EINVAL when malformed, tampered with, sealed with another key, or not an iterator. Expiry is
 * the caller's check (issued_ms + SL_KINESIS_ITERATOR_TTL_MS). */
int sl_iterator_decode(const uint8_t key[32], const char *s, size_t len, sl_iterator_t *out);

#endif
