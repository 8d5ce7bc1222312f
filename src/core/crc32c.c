#include "core/crc32c.h"

#include <pthread.h>
#include <string.h>

static uint32_t g_table[8][256];
static int g_have_sse42;
/* Three-lane hardware CRC: lanes of LANE_BYTES are checksummed in parallel (the crc32 instruction
 * has a latency of three cycles but issues every cycle) and combined with g_shift, the linear map
 * "advance a raw CRC register over LANE_BYTES zero bytes", as four byte-indexed tables. */
#define LANE_BYTES 256
static uint32_t g_shift[4][256];
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static int g_ready; /* (atomic) the tables are built: the checksum skips pthread_once */

static uint32_t crc32c_sw_raw(uint32_t crc, const unsigned char *p, size_t len) {
    while (len >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        v ^= crc;
        crc = g_table[7][v & 0xff] ^ g_table[6][(v >> 8) & 0xff] ^ g_table[5][(v >> 16) & 0xff] ^
              g_table[4][(v >> 24) & 0xff] ^ g_table[3][(v >> 32) & 0xff] ^
              g_table[2][(v >> 40) & 0xff] ^ g_table[1][(v >> 48) & 0xff] ^ g_table[0][v >> 56];
        p += 8;
        len -= 8;
    }
    while (len--)
        crc = (crc >> 8) ^ g_table[0][(crc ^ *p++) & 0xff];
    return crc;
}

static void crc32c_init(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1)));
        g_table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            g_table[t][i] = (g_table[t - 1][i] >> 8) ^ g_table[0][g_table[t - 1][i] & 0xff];
#if defined(__x86_64__)
    __builtin_cpu_init();
    g_have_sse42 = __builtin_cpu_supports("sse4.2");
#endif
    static const unsigned char zeros[LANE_BYTES];
    for (int t = 0; t < 4; t++)
        for (uint32_t b = 0; b < 256; b++)
            g_shift[t][b] = crc32c_sw_raw(b << (8 * t), zeros, LANE_BYTES);
    __atomic_store_n(&g_ready, 1, __ATOMIC_RELEASE);
}

/* Built when the program starts, so that each checksum (several per record written: its key,
 * data and header, a journal share's header) costs one load instead of a pthread_once call. */
__attribute__((constructor)) static void crc32c_ctor(void) {
    pthread_once(&g_once, crc32c_init);
}

static inline void crc32c_ready(void) {
    if (__builtin_expect(!__atomic_load_n(&g_ready, __ATOMIC_ACQUIRE), 0))
        pthread_once(&g_once, crc32c_init);
}

#if defined(__x86_64__)
static uint32_t shift_lane(uint32_t c) {
    return g_shift[0][c & 0xff] ^ g_shift[1][(c >> 8) & 0xff] ^ g_shift[2][(c >> 16) & 0xff] ^
           g_shift[3][c >> 24];
}

__attribute__((target("sse4.2"))) static uint32_t crc32c_hw(uint32_t crc, const unsigned char *p,
                                                            size_t len) {
    uint64_t c = crc;
    while (len >= 3 * LANE_BYTES) {
        uint64_t a = c, b = 0, d = 0;
        for (size_t i = 0; i < LANE_BYTES; i += 8) {
            uint64_t va, vb, vd;
            memcpy(&va, p + i, 8);
            memcpy(&vb, p + LANE_BYTES + i, 8);
            memcpy(&vd, p + 2 * LANE_BYTES + i, 8);
            a = __builtin_ia32_crc32di(a, va);
            b = __builtin_ia32_crc32di(b, vb);
            d = __builtin_ia32_crc32di(d, vd);
        }
        c = shift_lane(shift_lane((uint32_t)a) ^ (uint32_t)b) ^ (uint32_t)d;
        p += 3 * LANE_BYTES;
        len -= 3 * LANE_BYTES;
    }
    while (len >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c = __builtin_ia32_crc32di(c, v);
        p += 8;
        len -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (len--)
        c32 = __builtin_ia32_crc32qi(c32, *p++);
    return c32;
}
#endif

uint32_t sl_crc32c(uint32_t crc, const void *data, size_t len) {
    crc32c_ready();
    crc = ~crc;
#if defined(__x86_64__)
    if (g_have_sse42) return ~crc32c_hw(crc, data, len);
#endif
    return ~crc32c_sw_raw(crc, data, len);
}

uint32_t sl_crc32c_portable(uint32_t crc, const void *data, size_t len) {
    crc32c_ready();
    return ~crc32c_sw_raw(~crc, data, len);
}

/* CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), as zlib's crc32: the checksum DynamoDB
 * puts in its x-amz-crc32 response header. Table built once, on first use. */
static uint32_t ieee_table[256];
static pthread_once_t ieee_once = PTHREAD_ONCE_INIT;

static void ieee_init(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        ieee_table[i] = c;
    }
}

uint32_t sl_crc32_ieee(uint32_t crc, const void *data, size_t len) {
    pthread_once(&ieee_once, ieee_init);
    const uint8_t *p = data;
    crc = ~crc;
    for (size_t i = 0; i < len; i++)
        crc = ieee_table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
    return ~crc;
}
