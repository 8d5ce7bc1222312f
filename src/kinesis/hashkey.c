/* 128-bit hash keys: decimal conversion, MD5 routing of partition keys and the even split of the
 * key space used by CreateStream (spec §3.2). */
#include "kinesis/hashkey.h"

#include "core/common.h"

#include <openssl/evp.h>
#include <pthread.h>

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

/* MD5 runs for every record put, so the digest implementation is fetched once and each thread
 * keeps its own context (freed when the thread exits): EVP_Digest with EVP_md5() would look the
 * algorithm up (taking OpenSSL's store locks) and allocate a context for every call. */
static EVP_MD *g_md5;
static pthread_key_t g_md5_ctx_key;
static pthread_once_t g_md5_once = PTHREAD_ONCE_INIT;

static void md5_ctx_free(void *ctx) { EVP_MD_CTX_free(ctx); }

static void md5_init(void) {
    g_md5 = EVP_MD_fetch(NULL, "MD5", NULL);
    pthread_key_create(&g_md5_ctx_key, md5_ctx_free);
}

static EVP_MD_CTX *md5_ctx(void) {
    pthread_once(&g_md5_once, md5_init);
    EVP_MD_CTX *ctx = pthread_getspecific(g_md5_ctx_key);
    if (!ctx && (ctx = EVP_MD_CTX_new()) != NULL) pthread_setspecific(g_md5_ctx_key, ctx);
    return ctx;
}

sl_u128_t sl_hashkey_of_partition_key(const char *pk, size_t len) {
    EVP_MD_CTX *ctx = md5_ctx();
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    /* These fail only on allocation failure or a missing provider; neither is input. */
    int ok = g_md5 && ctx && EVP_DigestInit_ex2(ctx, g_md5, NULL) == 1 && EVP_DigestUpdate(ctx, pk, len) == 1 &&
             EVP_DigestFinal_ex(ctx, md, &md_len) == 1;
    SL_ASSERT(ok && md_len == 16);
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
