/* 128-bit Kinesis hash keys (spec §3.2): decimal parsing and printing, MD5 routing of partition
 * keys, and the even split of the key space used by CreateStream. Pure functions, no state. */
#ifndef SL_KINESIS_HASHKEY_H
#define SL_KINESIS_HASHKEY_H

#include <stddef.h>
#include <stdint.h>

/* An unsigned 128-bit integer (a GCC/Clang extension, hence __extension__ under -pedantic). */
__extension__ typedef unsigned __int128 sl_u128_t;

#define SL_HASHKEY_MAX (~(sl_u128_t)0)
/* Characters of the longest hash key, 2^128-1, without the NUL. */
#define SL_HASHKEY_DIGITS_MAX 39

/* Parses a decimal hash key of len bytes (no sign, no spaces; leading zeros are accepted).
 * Returns 0, SL_EINVAL when empty or not all digits, SL_ERANGE when the value exceeds 2^128-1. */
int sl_hashkey_parse(const char *s, size_t len, sl_u128_t *out);

/* Writes v in decimal, NUL-terminated, into out; returns the number of digits (1..39). */
size_t sl_hashkey_format(sl_u128_t v, char out[40]);

/* The hash of a partition key: MD5 of its bytes read as a big-endian 128-bit integer. */
sl_u128_t sl_hashkey_of_partition_key(const char *pk, size_t len);

/* The hashes of n partition keys (pk[i] of len[i] bytes) into out[i], equal to
 * sl_hashkey_of_partition_key of each; keys of up to 55 bytes are hashed many at a time in SIMD
 * lanes (core/md5.h), which a PutRecords of hundreds of records gains from. */
void sl_hashkey_of_partition_keys(size_t n, const char *const pk[], const size_t len[],
                                  sl_u128_t out[]);

/* The hash range of shard i (0 <= i < n) of a stream created with n shards: shard i covers
 * [i*floor(2^128/n), (i+1)*floor(2^128/n)-1]; the last shard ends at 2^128-1. n >= 1. */
void sl_hashkey_split_even(int n, int i, sl_u128_t *start, sl_u128_t *end);

#endif
