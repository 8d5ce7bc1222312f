/* MD5 of many short messages at once, for routing: Kinesis maps every record to a shard by the MD5
 * of its partition key, and at 500 records per PutRecords one serial MD5 per key was a tenth of
 * the server's CPU. MD5 is a chain of dependent steps, so a single digest waits on latency; here
 * 8 (AVX2) or 16 (AVX-512) independent messages go through the same steps side by side in SIMD
 * lanes, which costs about what one or two serial digests cost. OpenSSL has no multi-message MD5,
 * hence this file; longer messages and single digests stay with OpenSSL (kinesis/hashkey.c). */
#ifndef SL_CORE_MD5_H
#define SL_CORE_MD5_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The longest message hashed here: one 64-byte MD5 block holds the message, the 0x80 padding byte
 * and the 8-byte bit length (RFC 1321 §3.1-3.2). */
#define SL_MD5_SHORT_BYTES_MAX 55

/* Digests of n messages: msg[i] of len[i] <= SL_MD5_SHORT_BYTES_MAX bytes into digest[i] (the
 * 16 bytes RFC 1321 defines). Uses the widest lanes the CPU has. */
void sl_md5_short(size_t n, const void *const msg[], const size_t len[], uint8_t digest[][16]);

/* The same with a chosen width, for tests: 1 (portable C), 8 (AVX2) or 16 (AVX-512F). Returns
 * false, computing nothing, when this CPU or build lacks that width. */
bool sl_md5_short_lanes(int lanes, size_t n, const void *const msg[], const size_t len[],
                        uint8_t digest[][16]);

#endif
