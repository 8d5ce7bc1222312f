/* MD5 of short messages in SIMD lanes (md5.h), written from RFC 1321 §3.4. One kernel is written
 * once as macros over a type T and instantiated for a plain uint32_t (portable), a vector of 8
 * (AVX2) and a vector of 16 (AVX-512F), using the GCC/Clang vector extension: +, ^, &, |, ~ and
 * shifts act lane by lane, and a scalar operand is broadcast. */
#include "core/md5.h"

#include "core/common.h"

#include <pthread.h>
#include <string.h>

/* T[i] = floor(2^32 * abs(sin(i + 1))), RFC 1321 §3.4. */
static const uint32_t md5_t[64] = {
    0xd76aa478u, 0xe8c7b756u, 0x242070dbu, 0xc1bdceeeu, 0xf57c0fafu, 0x4787c62au, 0xa8304613u,
    0xfd469501u, 0x698098d8u, 0x8b44f7afu, 0xffff5bb1u, 0x895cd7beu, 0x6b901122u, 0xfd987193u,
    0xa679438eu, 0x49b40821u, 0xf61e2562u, 0xc040b340u, 0x265e5a51u, 0xe9b6c7aau, 0xd62f105du,
    0x02441453u, 0xd8a1e681u, 0xe7d3fbc8u, 0x21e1cde6u, 0xc33707d6u, 0xf4d50d87u, 0x455a14edu,
    0xa9e3e905u, 0xfcefa3f8u, 0x676f02d9u, 0x8d2a4c8au, 0xfffa3942u, 0x8771f681u, 0x6d9d6122u,
    0xfde5380cu, 0xa4beea44u, 0x4bdecfa9u, 0xf6bb4b60u, 0xbebfbc70u, 0x289b7ec6u, 0xeaa127fau,
    0xd4ef3085u, 0x04881d05u, 0xd9d4d039u, 0xe6db99e5u, 0x1fa27cf8u, 0xc4ac5665u, 0xf4292244u,
    0x432aff97u, 0xab9423a7u, 0xfc93a039u, 0x655b59c3u, 0x8f0ccc92u, 0xffeff47du, 0x85845dd1u,
    0x6fa87e4fu, 0xfe2ce6e0u, 0xa3014314u, 0x4e0811a1u, 0xf7537e82u, 0xbd3af235u, 0x2ad7d2bbu,
    0xeb86d391u,
};

/* The four auxiliary functions (F and G in their equivalent two-operation forms). */
#define MD5_F(x, y, z) ((z) ^ ((x) & ((y) ^ (z))))
#define MD5_G(x, y, z) ((y) ^ ((z) & ((x) ^ (y))))
#define MD5_H(x, y, z) ((x) ^ (y) ^ (z))
#define MD5_I(x, y, z) ((y) ^ ((x) | ~(z)))

/* a = b + ((a + f(b, c, d) + X[k] + T[i]) <<< s) */
#define MD5_STEP(f, a, b, c, d, k, i, s)                                                           \
    do {                                                                                           \
        a += f(b, c, d) + X[k] + md5_t[i];                                                         \
        a = (a << (s)) | (a >> (32 - (s)));                                                        \
        a += b;                                                                                    \
    } while (0)

/* Four steps: the message words k0..k3, constants i..i+3, the round's four shifts. */
#define MD5_STEP4(f, k0, k1, k2, k3, i, s0, s1, s2, s3)                                            \
    do {                                                                                           \
        MD5_STEP(f, a, b, c, d, k0, i, s0);                                                        \
        MD5_STEP(f, d, a, b, c, k1, (i) + 1, s1);                                                  \
        MD5_STEP(f, c, d, a, b, k2, (i) + 2, s2);                                                  \
        MD5_STEP(f, b, c, d, a, k3, (i) + 3, s3);                                                  \
    } while (0)

/* A kernel: one block in each of `lanes` lanes. x holds the 16 message words word-major
 * (x[w * lanes + lane]); h receives the four state words the same way. */
typedef void md5_kernel_fn(const uint32_t *x, uint32_t *h);

#define MD5_KERNEL(name, T, attr)                                                                  \
    attr static void name(const uint32_t *x, uint32_t *h) {                                        \
        T X[16];                                                                                   \
        for (int w = 0; w < 16; w++)                                                               \
            memcpy(&X[w], x + w * (sizeof(T) / 4), sizeof(T));                                     \
        const T zero = {0};                                                                        \
        T a = zero + 0x67452301u, b = zero + 0xefcdab89u;                                          \
        T c = zero + 0x98badcfeu, d = zero + 0x10325476u;                                          \
        MD5_STEP4(MD5_F, 0, 1, 2, 3, 0, 7, 12, 17, 22);                                            \
        MD5_STEP4(MD5_F, 4, 5, 6, 7, 4, 7, 12, 17, 22);                                            \
        MD5_STEP4(MD5_F, 8, 9, 10, 11, 8, 7, 12, 17, 22);                                          \
        MD5_STEP4(MD5_F, 12, 13, 14, 15, 12, 7, 12, 17, 22);                                       \
        MD5_STEP4(MD5_G, 1, 6, 11, 0, 16, 5, 9, 14, 20);                                           \
        MD5_STEP4(MD5_G, 5, 10, 15, 4, 20, 5, 9, 14, 20);                                          \
        MD5_STEP4(MD5_G, 9, 14, 3, 8, 24, 5, 9, 14, 20);                                           \
        MD5_STEP4(MD5_G, 13, 2, 7, 12, 28, 5, 9, 14, 20);                                          \
        MD5_STEP4(MD5_H, 5, 8, 11, 14, 32, 4, 11, 16, 23);                                         \
        MD5_STEP4(MD5_H, 1, 4, 7, 10, 36, 4, 11, 16, 23);                                          \
        MD5_STEP4(MD5_H, 13, 0, 3, 6, 40, 4, 11, 16, 23);                                          \
        MD5_STEP4(MD5_H, 9, 12, 15, 2, 44, 4, 11, 16, 23);                                         \
        MD5_STEP4(MD5_I, 0, 7, 14, 5, 48, 6, 10, 15, 21);                                          \
        MD5_STEP4(MD5_I, 12, 3, 10, 1, 52, 6, 10, 15, 21);                                         \
        MD5_STEP4(MD5_I, 8, 15, 6, 13, 56, 6, 10, 15, 21);                                         \
        MD5_STEP4(MD5_I, 4, 11, 2, 9, 60, 6, 10, 15, 21);                                          \
        a += 0x67452301u;                                                                          \
        b += 0xefcdab89u;                                                                          \
        c += 0x98badcfeu;                                                                          \
        d += 0x10325476u;                                                                          \
        memcpy(h, &a, sizeof(T));                                                                  \
        memcpy(h + 1 * (sizeof(T) / 4), &b, sizeof(T));                                            \
        memcpy(h + 2 * (sizeof(T) / 4), &c, sizeof(T));                                            \
        memcpy(h + 3 * (sizeof(T) / 4), &d, sizeof(T));                                            \
    }

MD5_KERNEL(md5_x1, uint32_t, )

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define MD5_HAVE_SIMD 1
typedef uint32_t md5_v8_t __attribute__((vector_size(32)));
typedef uint32_t md5_v16_t __attribute__((vector_size(64)));
MD5_KERNEL(md5_x8, md5_v8_t, __attribute__((target("avx2"))))
MD5_KERNEL(md5_x16, md5_v16_t, __attribute__((target("avx512f"))))
#endif

static int g_lanes = 1;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void md5_init(void) {
#ifdef MD5_HAVE_SIMD
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f"))
        g_lanes = 16;
    else if (__builtin_cpu_supports("avx2"))
        g_lanes = 8;
#endif
}

static uint32_t le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Runs the kernel per `lanes` messages and writes the state words out as little-endian digest
 * bytes (§3.5). Each lane's padded block (§3.1-3.2: the message, 0x80, zeros, the bit length) is
 * written straight into the word-major input from the message's own bytes: padding a copy in a
 * scratch block and reading it back word by word stalled on store forwarding, which cost more
 * than the hashing. No byte past a message's end is read. */
static void md5_run(int lanes, md5_kernel_fn *kernel, size_t n, const void *const msg[],
                    const size_t len[], uint8_t digest[][16]) {
    uint32_t x[16 * 16], h[4 * 16];
    for (size_t base = 0; base < n; base += (size_t)lanes) {
        size_t m = SL_MIN(n - base, (size_t)lanes);
        for (size_t l = 0; l < (size_t)lanes; l++) {
            const uint8_t *p = l < m ? msg[base + l] : NULL;
            size_t bytes = l < m ? len[base + l] : 0;
            SL_ASSERT(bytes <= SL_MD5_SHORT_BYTES_MAX);
            size_t full = bytes / 4, w = 0;
            for (; w < full; w++)
                x[w * (size_t)lanes + l] = le32(p + 4 * w);
            uint32_t last = 0x80u << (8 * (bytes % 4));
            for (size_t j = 0; j < bytes % 4; j++)
                last |= (uint32_t)p[4 * full + j] << (8 * j);
            x[w++ * (size_t)lanes + l] = last;
            for (; w < 16; w++)
                x[w * (size_t)lanes + l] = 0;
            x[14 * (size_t)lanes + l] = (uint32_t)(bytes << 3);
        }
        kernel(x, h);
        for (size_t l = 0; l < m; l++)
            for (int w = 0; w < 4; w++) {
                uint32_t v = h[w * lanes + (int)l];
                uint8_t *o = digest[base + l] + 4 * w;
                o[0] = (uint8_t)v;
                o[1] = (uint8_t)(v >> 8);
                o[2] = (uint8_t)(v >> 16);
                o[3] = (uint8_t)(v >> 24);
            }
    }
}

bool sl_md5_short_lanes(int lanes, size_t n, const void *const msg[], const size_t len[],
                        uint8_t digest[][16]) {
    pthread_once(&g_once, md5_init);
    if (lanes == 1) {
        md5_run(1, md5_x1, n, msg, len, digest);
        return true;
    }
#ifdef MD5_HAVE_SIMD
    if (lanes == 8 && g_lanes >= 8) {
        md5_run(8, md5_x8, n, msg, len, digest);
        return true;
    }
    if (lanes == 16 && g_lanes >= 16) {
        md5_run(16, md5_x16, n, msg, len, digest);
        return true;
    }
#endif
    return false;
}

void sl_md5_short(size_t n, const void *const msg[], const size_t len[], uint8_t digest[][16]) {
    pthread_once(&g_once, md5_init);
    /* A batch smaller than a lane set wastes lanes but still costs about one serial digest. */
    bool ok = sl_md5_short_lanes(g_lanes, n, msg, len, digest);
    SL_ASSERT(ok);
}
