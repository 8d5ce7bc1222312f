/* 128-bit hash keys: decimal conversion, MD5 routing of partition keys and the even split of the
 * key space used by CreateStream (spec §3.2). */
#include "kinesis/hashkey.h"

#include "core/common.h"

#include <openssl/evp.h>

int sl_hashkey_parse(const char *s, size_t len, sl_u128_t *out) {
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
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    out[n] = '\0';
    return n;
}

sl_u128_t sl_hashkey_of_partition_key(const char *pk, size_t len) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    /* EVP_Digest only fails on allocation failure or a missing provider; neither is input. */
    int ok = EVP_Digest(pk, len, md, &md_len, EVP_md5(), NULL);
    SL_ASSERT(ok == 1 && md_len == 16);
    sl_u128_t v = 0;
    for (unsigned i = 0; i < 16; i++)
        v = (v << 8) | md[i];
    return v;
}

void sl_hashkey_split_even(int n, int i, sl_u128_t *start, sl_u128_t *end) {
    SL_ASSERT(n >= 1 && i >= 0 && i < n);
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
}
