/* Unit tests for the request head's block scans (net/http1_scan.h): on every block tried, the
 * masks of the machine's vector versions equal those of the byte loops, and the name block
 * lower-cases exactly the bytes before `upto`. Blocks: every byte value at every position among
 * ordinary header characters, and random blocks. */
#include "net/http1_scan.h"
#include "test.h"

#include <string.h>

static void check_block(const char *b) {
    for (int c = 0; c < 256; c++)
        if (c == ':' || c == '\n' || c == 0 || c == 'a' || c == 0x80 || c == 0xff)
            CHECK_EQ_INT(sl_h1_eq_mask(b, (char)c), sl_h1_eq_mask_bytes(b, (char)c));
    CHECK_EQ_INT(sl_h1_ctl_mask(b), sl_h1_ctl_mask_bytes(b));
    for (unsigned upto = 0; upto <= SL_H1_BLOCK; upto++) {
        char x[SL_H1_BLOCK], y[SL_H1_BLOCK];
        memcpy(x, b, sizeof x);
        memcpy(y, b, sizeof y);
        CHECK_EQ_INT(sl_h1_name_block(x, upto), sl_h1_name_block_bytes(y, upto));
        CHECK(memcmp(x, y, sizeof x) == 0);
        for (unsigned i = upto; i < SL_H1_BLOCK; i++)
            CHECK(x[i] == b[i]);
    }
}

int main(void) {
    const char base[SL_H1_BLOCK + 1] = "X-Amz-Date: 2026";
    for (int pos = 0; pos < SL_H1_BLOCK; pos++) {
        for (int c = 0; c < 256; c++) {
            char b[SL_H1_BLOCK];
            memcpy(b, base, sizeof b);
            b[pos] = (char)c;
            check_block(b);
        }
    }
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (int n = 0; n < 200000; n++) {
        char b[SL_H1_BLOCK];
        for (int i = 0; i < SL_H1_BLOCK; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            /* half the bytes from the characters a head is made of, half any byte */
            b[i] =
                (x >> 40) & 1 ? "aZ09-:\t\r\n \x7f\x1f\x80\xff_."[(x >> 8) % 16] : (char)(x >> 16);
        }
        check_block(b);
    }
    /* the masks themselves, on known blocks */
    CHECK_EQ_INT(sl_h1_eq_mask("Host: x\r\nA: b\r\n\r\n", '\n'), (1u << 8) | (1u << 14));
    CHECK_EQ_INT(sl_h1_ctl_mask("a\tb\x01"
                                "c\x7f\x1f d\r\n\x80\xffzz!"),
                 (1u << 3) | (1u << 5) | (1u << 6) | (1u << 9) | (1u << 10));
    char name[] = "Content-LengTH:X";
    CHECK_EQ_INT(sl_h1_name_block(name, 14), 0x3fffu);
    CHECK(memcmp(name, "content-length:X", 16) == 0);
    CHECK_EQ_INT(sl_h1_first_bits(0), 0);
    CHECK_EQ_INT(sl_h1_first_bits(3), 7);
    CHECK_EQ_INT(sl_h1_first_bits(16), 0xffff);
    CHECK_EQ_INT(sl_h1_first_bits(40), 0xffff);
    TEST_MAIN_END();
}
