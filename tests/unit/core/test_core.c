/* Unit tests for core: CRC32C against known vectors, arena and buffer behaviour. */
#include "core/arena.h"
#include "core/buf.h"
#include "core/crc32c.h"
#include "test.h"

int main(void) {
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

    sl_buf_t b = SL_BUF_INIT;
    for (int i = 0; i < 1000; i++)
        sl_buf_printf(&b, "%d,", i);
    CHECK(!sl_buf_failed(&b));
    CHECK(b.len > 3000);
    CHECK(memcmp(b.data, "0,1,2,", 6) == 0);
    sl_buf_free(&b);
    TEST_MAIN_END();
}
