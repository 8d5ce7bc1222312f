/* Unit tests for core: CRC32C and MD5 against known vectors, arena and buffer behaviour. */
#include "core/arena.h"
#include "core/buf.h"
#include "core/common.h"
#include "core/crc32c.h"
#include "core/md5.h"
#include "test.h"

#include <stdio.h>

/* The RFC 1321 §A.5 suite's messages that fit one block (up to 55 bytes), in batches of every
 * size up to 40 at every lane width this CPU has, each message in many lane positions. */
static void check_md5(void) {
    static const char *const suite[][2] = {
        {"", "d41d8cd98f00b204e9800998ecf8427e"},
        {"a", "0cc175b9c0f1b6a831c399e269772661"},
        {"abc", "900150983cd24fb0d6963f7d28e17f72"},
        {"message digest", "f96b697d7cb7938d525a2f31aaf161d0"},
        {"abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"},
    };
    enum { N = 40 };
    const void *msg[N];
    size_t len[N];
    uint8_t digest[N][16];
    size_t runs = 0, bad = 0;
    for (int lanes = 1; lanes <= 16; lanes *= 2)
        for (size_t n = 1; n <= N; n++) {
            for (size_t i = 0; i < n; i++) {
                msg[i] = suite[(i + n) % SL_ARRAY_LEN(suite)][0];
                len[i] = strlen(msg[i]);
            }
            if (!sl_md5_short_lanes(lanes, n, msg, len, digest)) continue;
            runs++;
            for (size_t i = 0; i < n; i++) {
                char hex[33];
                for (int b = 0; b < 16; b++)
                    snprintf(hex + 2 * b, 3, "%02x", digest[i][b]);
                if (strcmp(hex, suite[(i + n) % SL_ARRAY_LEN(suite)][1]) != 0) bad++;
            }
        }
    CHECK(runs >= N); /* the portable width always runs */
    CHECK_EQ_INT(bad, 0);
    /* the dispatching entry point */
    msg[0] = "abc";
    len[0] = 3;
    sl_md5_short(1, msg, len, digest);
    CHECK(memcmp(digest[0], "\x90\x01\x50\x98\x3c\xd2\x4f\xb0\xd6\x96\x3f\x7d\x28\xe1\x7f\x72",
                 16) == 0);
}

int main(void) {
    check_md5();
    CHECK_EQ_INT(sl_crc32c(0, "123456789", 9), 0xE3069283u);
    CHECK_EQ_INT(sl_crc32c(0, "", 0), 0);
    /* incremental == one shot */
    uint32_t c = sl_crc32c(0, "1234", 4);
    CHECK_EQ_INT(sl_crc32c(c, "56789", 5), 0xE3069283u);
    unsigned char zeros[32] = {0};
    CHECK_EQ_INT(sl_crc32c(0, zeros, 32), 0x8A9136AAu); /* RFC 3720 B.4 */
    /* the hardware path (three lanes for long inputs) equals the table path, at every length and
     * alignment around the lane boundaries, with and without a starting CRC */
    static unsigned char buf[4096];
    uint64_t x = 88172645463325252ull;
    for (size_t i = 0; i < sizeof buf; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        buf[i] = (unsigned char)x;
    }
    size_t bad = 0;
    for (size_t len = 0; len < 3000; len += (len < 800 ? 1 : 37))
        for (size_t off = 0; off < 8; off += 3) {
            if (sl_crc32c(0, buf + off, len) != sl_crc32c_portable(0, buf + off, len)) bad++;
            if (sl_crc32c(0x12345678u, buf + off, len) !=
                sl_crc32c_portable(0x12345678u, buf + off, len))
                bad++;
        }
    CHECK_EQ_INT(bad, 0);

    sl_arena_t a;
    sl_arena_init(&a, 64);
    char *s = sl_arena_strndup(&a, "hello", 5);
    CHECK_EQ_STR(s, "hello");
    void *big = sl_arena_alloc(&a, 1000);
    CHECK(big != NULL);
    char *p = sl_arena_sprintf(&a, "%d-%s", 42, "x");
    CHECK_EQ_STR(p, "42-x");
    CHECK_EQ_STR(s, "hello");
    sl_arena_reset(&a);
    CHECK(sl_arena_alloc(&a, 8) != NULL);
    sl_arena_deinit(&a);

    /* A small arena that needed several chunks is one chunk after a reset: the same allocations
     * again take no new chunk (a pooled request's arena, request after request). */
    sl_arena_init(&a, 4096);
    for (int i = 0; i < 3; i++)
        CHECK(sl_arena_alloc(&a, 3000) != NULL);
    size_t three = a.total_bytes;
    CHECK(three > 3 * 3000);
    sl_arena_reset(&a);
    size_t one = a.total_bytes;
    CHECK(one <= three);
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 3; i++)
            CHECK(sl_arena_alloc(&a, 3000) != NULL);
        CHECK(a.total_bytes == one);
        sl_arena_reset(&a);
        CHECK(a.total_bytes == one);
    }
    sl_arena_deinit(&a);

    /* A request-sized arena (4 KiB chunks) filled like a PutRecords: below the growth point it
     * holds what fixed chunks hold (small requests stay poolable); past it the chunks double, so
     * every block stays intact and aligned and the arena holds less than twice what was asked
     * (plus the first 16 KiB). */
    sl_arena_init(&a, 4096);
    for (int i = 0; i < 3; i++)
        CHECK(sl_arena_alloc(&a, 4000) != NULL);
    CHECK(a.total_bytes <= 16384);
    sl_arena_deinit(&a);
    sl_arena_init(&a, 4096);
    enum { BLOCKS = 3000 };
    static unsigned char *blocks[BLOCKS];
    size_t asked = 0, damaged = 0;
    for (size_t i = 0; i < BLOCKS; i++) {
        size_t n = 16 + (i * 37) % 300 + (i % 100 == 0 ? 20000 : 0);
        blocks[i] = sl_arena_alloc(&a, n);
        CHECK(blocks[i] != NULL && ((uintptr_t)blocks[i] & 15) == 0);
        if (!blocks[i]) break;
        memset(blocks[i], (int)(i & 0xff), n);
        asked += n;
    }
    for (size_t i = 0; i < BLOCKS; i++) {
        size_t n = 16 + (i * 37) % 300 + (i % 100 == 0 ? 20000 : 0);
        for (size_t k = 0; blocks[i] && k < n; k++)
            if (blocks[i][k] != (unsigned char)(i & 0xff)) damaged++;
    }
    CHECK_EQ_INT(damaged, 0);
    CHECK(a.total_bytes < 2 * asked + 16384);
    sl_arena_deinit(&a);

    sl_buf_t b = SL_BUF_INIT;
    for (int i = 0; i < 1000; i++)
        sl_buf_printf(&b, "%d,", i);
    CHECK(!sl_buf_failed(&b));
    CHECK(b.len > 3000);
    CHECK(memcmp(b.data, "0,1,2,", 6) == 0);
    sl_buf_free(&b);
    TEST_MAIN_END();
}
