/* Hash keys: decimal round trips at the edges, overflow, and MD5 routing checked against digests
 * computed independently (`printf %s KEY | md5sum`, hex converted to decimal). */
#include "core/common.h"
#include "kinesis/hashkey.h"
#include "test.h"

static void check_roundtrip(const char *dec) {
    sl_u128_t v = 0;
    CHECK_EQ_INT(sl_hashkey_parse(dec, strlen(dec), &v), 0);
    char out[40];
    size_t n = sl_hashkey_format(v, out);
    CHECK_EQ_INT(n, strlen(dec));
    CHECK_EQ_STR(out, dec);
}

static void check_md5(const char *pk, const char *expected_dec) {
    char out[40];
    sl_hashkey_format(sl_hashkey_of_partition_key(pk, strlen(pk)), out);
    CHECK_EQ_STR(out, expected_dec);
}

int main(void) {
    check_roundtrip("0");
    check_roundtrip("1");
    check_roundtrip("18446744073709551615");
    check_roundtrip("18446744073709551616");
    check_roundtrip("170141183460469231731687303715884105728");
    check_roundtrip("340282366920938463463374607431768211455");

    sl_u128_t v = 0;
    CHECK_EQ_INT(sl_hashkey_parse("340282366920938463463374607431768211455", 39, &v), 0);
    CHECK(v == SL_HASHKEY_MAX);
    CHECK_EQ_INT(sl_hashkey_parse("340282366920938463463374607431768211456", 39, &v), SL_ERANGE);
    CHECK_EQ_INT(sl_hashkey_parse("999999999999999999999999999999999999999", 39, &v), SL_ERANGE);
    CHECK_EQ_INT(sl_hashkey_parse("3402823669209384634633746074317682114550", 40, &v), SL_ERANGE);
    CHECK_EQ_INT(sl_hashkey_parse("", 0, &v), SL_EINVAL);
    CHECK_EQ_INT(sl_hashkey_parse("-1", 2, &v), SL_EINVAL);
    CHECK_EQ_INT(sl_hashkey_parse("+1", 2, &v), SL_EINVAL);
    CHECK_EQ_INT(sl_hashkey_parse("12a", 3, &v), SL_EINVAL);
    CHECK_EQ_INT(sl_hashkey_parse(" 1", 2, &v), SL_EINVAL);
    /* len bounds the parse: "12" of "123". */
    CHECK_EQ_INT(sl_hashkey_parse("123", 2, &v), 0);
    CHECK(v == 12);
    CHECK_EQ_INT(sl_hashkey_parse("007", 3, &v), 0);
    CHECK(v == 7);

    check_md5("a", "16955237001963240173058271559858726497");
    check_md5("", "281949768489412648962353822266799178366");
    check_md5("partition-1", "198019941650871988756153596255032211816");
    check_md5("hello world", "125893641179230474042701625388361764291");

    /* Many keys at once (SIMD lanes for keys up to 55 bytes) equal one at a time, at every key
     * length up to the 256-byte maximum, in batches of every size around the lane counts. */
    {
        enum { N = 300 };
        static char keys[N][257];
        const char *pk[N];
        size_t len[N];
        sl_u128_t many[N];
        uint64_t x = 88172645463325252ull;
        for (size_t i = 0; i < N; i++) {
            for (size_t j = 0; j < 256; j++) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                keys[i][j] = (char)x;
            }
            pk[i] = keys[i];
            len[i] = (i * 37) % 257; /* 0..256, each length at least once */
        }
        size_t bad = 0;
        for (size_t n = 0; n <= N; n += (n < 70 ? 1 : 23)) {
            sl_hashkey_of_partition_keys(n, pk, len, many);
            for (size_t i = 0; i < n; i++)
                if (many[i] != sl_hashkey_of_partition_key(pk[i], len[i])) bad++;
        }
        CHECK_EQ_INT(bad, 0);
    }

    /* Even splits (spec §3.2). */
    sl_u128_t s, e;
    char buf[40];
    sl_hashkey_split_even(1, 0, &s, &e);
    CHECK(s == 0 && e == SL_HASHKEY_MAX);
    sl_hashkey_split_even(2, 1, &s, &e);
    sl_hashkey_format(s, buf);
    CHECK_EQ_STR(buf, "170141183460469231731687303715884105728");
    CHECK(e == SL_HASHKEY_MAX);
    sl_hashkey_split_even(2, 0, &s, &e);
    sl_hashkey_format(e, buf);
    CHECK_EQ_STR(buf, "170141183460469231731687303715884105727");
    sl_hashkey_split_even(4, 1, &s, &e);
    sl_hashkey_format(s, buf);
    CHECK_EQ_STR(buf, "85070591730234615865843651857942052864");
    sl_hashkey_split_even(3, 1, &s, &e);
    sl_hashkey_format(s, buf);
    CHECK_EQ_STR(buf, "113427455640312821154458202477256070485");
    /* Any N tiles [0, 2^128-1] without gaps or overlaps. */
    for (int n = 1; n <= 64; n++) {
        sl_u128_t prev_end = 0;
        for (int i = 0; i < n; i++) {
            sl_hashkey_split_even(n, i, &s, &e);
            if (i == 0)
                CHECK(s == 0);
            else
                CHECK(s == prev_end + 1);
            CHECK(e >= s);
            prev_end = e;
        }
        CHECK(prev_end == SL_HASHKEY_MAX);
    }
    TEST_MAIN_END();
}
