/* 128-bit hash keys: decimal conversion, MD5 routing of partition keys and the even split of the
 * key space used by CreateStream (spec §3.2). */
/* Partition keys are hashed with OpenSSL's low-level MD5 API, deprecated in OpenSSL 3 (see
 * sl_hashkey_of_partition_key); this must come before any OpenSSL header. */
#define OPENSSL_SUPPRESS_DEPRECATED

#include "kinesis/hashkey.h"

#include "core/common.h"
#include "core/md5.h"

#include <openssl/md5.h>
#include <string.h>

int sl_hashkey_parse(const char *s, size_t len, sl_u128_t *out) {
    SL_ASSERT(out);
    if (!s || len == 0) return SL_EINVAL;
    for (size_t i = 0; i < len; i++)
        if (s[i] < '0' || s[i] > '9') return SL_EINVAL;
    sl_u128_t v = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        /* v * 10 + d must stay <= 2^128-1. */
        if (v > (SL_HASHKEY_MAX - d) / 10) return SL_ERANGE;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

size_t sl_hashkey_format(sl_u128_t v, char out[40]) {
    char tmp[40];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + (unsigned)(v % 10));
        v /= 10;
    } while (v != 0);
    SL_ASSERT(n <= SL_HASHKEY_DIGITS_MAX);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    out[n] = '\0';
    return n;
}

/* A digest read as a big-endian integer, in two 64-bit halves. */
static sl_u128_t digest_value(const unsigned char md[16]) {
    uint64_t hi, lo;
    memcpy(&hi, md, 8);
    memcpy(&lo, md + 8, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    hi = __builtin_bswap64(hi);
    lo = __builtin_bswap64(lo);
#endif
    return ((sl_u128_t)hi << 64) | lo;
}

/* MD5 runs for every record put, so it uses OpenSSL's low-level MD5_Init/Update/Final: the same
 * digest code EVP's default provider runs, without EVP's per-call work (provider dispatch, the
 * allocation and cleansing of the context's digest state, initialisation checks), which cost more
 * than hashing a short key. OpenSSL 3 marks these functions deprecated; the warning is silenced
 * for this file only (the OPENSSL_SUPPRESS_DEPRECATED define at the top). */
sl_u128_t sl_hashkey_of_partition_key(const char *pk, size_t len) {
    SL_ASSERT(pk || len == 0);
    MD5_CTX ctx;
    unsigned char md[MD5_DIGEST_LENGTH];
    /* These only fail for a NULL context. */
    int ok = MD5_Init(&ctx) == 1 && MD5_Update(&ctx, pk, len) == 1 && MD5_Final(md, &ctx) == 1;
    SL_ASSERT(ok);
    return digest_value(md);
}

void sl_hashkey_of_partition_keys(size_t n, const char *const pk[], const size_t len[],
                                  sl_u128_t out[]) {
    /* Short keys are gathered a chunk at a time (the stack bounds the chunk); a longer key, rare
     * in practice, takes the single-digest path in place, and so do the keys of a small batch
     * (PutRecord's one), which would leave most lanes empty. */
    enum { CHUNK = 64, SMALL_BATCH = 4 };
    const void *msg[CHUNK];
    size_t mlen[CHUNK], at[CHUNK];
    uint8_t md[CHUNK][16];
    size_t i = 0;
    while (i < n) {
        size_t m = 0;
        for (; i < n && m < CHUNK; i++) {
            if (n < SMALL_BATCH || len[i] > SL_MD5_SHORT_BYTES_MAX) {
                out[i] = sl_hashkey_of_partition_key(pk[i], len[i]);
                continue;
            }
            msg[m] = pk[i];
            mlen[m] = len[i];
            at[m++] = i;
        }
        sl_md5_short(m, msg, mlen, md);
        for (size_t j = 0; j < m; j++)
            out[at[j]] = digest_value(md[j]);
    }
}

void sl_hashkey_split_even(int n, int i, sl_u128_t *start, sl_u128_t *end) {
    SL_ASSERT(n >= 1 && i >= 0 && i < n && start && end);
    if (n == 1) {
        *start = 0;
        *end = SL_HASHKEY_MAX;
        return;
    }
    /* floor(2^128 / n) without representing 2^128: 2^128 = MAX + 1 = q*n + r + 1. */
    sl_u128_t q = SL_HASHKEY_MAX / (unsigned)n;
    sl_u128_t r = SL_HASHKEY_MAX % (unsigned)n;
    if (r == (sl_u128_t)(n - 1)) q += 1;
    *start = q * (unsigned)i;
    *end = (i == n - 1) ? SL_HASHKEY_MAX : q * (unsigned)(i + 1) - 1;
    /* Ranges are non-empty and the first starts at 0. */
    SL_ASSERT(*start <= *end && (i > 0 || *start == 0));
}
