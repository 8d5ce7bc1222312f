/* core/bin.h: the byte layout of what it writes (saved state depends on it: KMS keys, IAM roles,
 * quota counts) and a reader that refuses short, oversized and cut inputs without reading past
 * their end. */
#include "core/bin.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>

int main(void) {
    sl_buf_t b = SL_BUF_INIT;
    sl_bin_put_u16(&b, 0x0102);
    sl_bin_put_u32(&b, 0x03040506u);
    sl_bin_put_u64(&b, 0x0708090a0b0c0d0eull);
    sl_bin_put_str(&b, "ab");
    sl_bin_put_str(&b, "");
    const uint8_t want[] = {0x02, 0x01, 0x06, 0x05, 0x04, 0x03, 0x0e, 0x0d, 0x0c, 0x0b, 0x0a, 0x09,
                            0x08, 0x07, 2,    0,    0,    0,    'a',  'b',  0,    0,    0,    0};
    CHECK(!sl_buf_failed(&b));
    CHECK_EQ_INT(b.len, sizeof want);
    CHECK(memcmp(b.data, want, sizeof want) == 0);

    sl_bin_in_t in = sl_bin_in(b.data, b.len);
    const uint8_t *p = sl_bin_get(&in, 2);
    CHECK(p && p[0] == 0x02);
    CHECK_EQ_INT(sl_bin_get_u32(&in), 0x03040506u);
    CHECK(sl_bin_get_u64(&in) == 0x0708090a0b0c0d0eull);
    char s[3];
    CHECK(sl_bin_get_str_into(&in, s, sizeof s));
    CHECK_EQ_STR(s, "ab");
    char *e = sl_bin_get_str_dup(&in, 10);
    CHECK(e && e[0] == '\0');
    free(e);
    CHECK(!in.bad);
    CHECK(in.p == in.end);
    /* past the end: bad, and stays bad */
    CHECK_EQ_INT(sl_bin_get_u32(&in), 0);
    CHECK(in.bad);
    CHECK(sl_bin_get(&in, 0) == NULL);

    /* a string longer than the reader allows: bad, dst empty */
    in = sl_bin_in(b.data + 14, 6);
    char small[2] = "x";
    CHECK(!sl_bin_get_str_into(&in, small, sizeof small));
    CHECK_EQ_STR(small, "");
    CHECK(in.bad);
    /* a length that runs past the input */
    in = sl_bin_in(b.data + 14, 5);
    size_t n = 99;
    CHECK(sl_bin_get_str(&in, 100, &n) == NULL);
    CHECK_EQ_INT(n, 0);
    CHECK(in.bad);
    in = sl_bin_in(b.data + 14, 5);
    CHECK(sl_bin_get_str_dup(&in, 100) == NULL);
    CHECK(in.bad);
    /* every prefix of the whole input reads as bad somewhere, never past its end */
    for (size_t len = 0; len < b.len; len++) {
        in = sl_bin_in(b.data, len);
        sl_bin_get(&in, 2);
        sl_bin_get_u32(&in);
        sl_bin_get_u64(&in);
        char t[8];
        sl_bin_get_str_into(&in, t, sizeof t);
        sl_bin_get_str_into(&in, t, sizeof t);
        CHECK(in.bad);
        CHECK(in.p <= in.end);
    }
    sl_buf_free(&b);
    TEST_MAIN_END();
}
