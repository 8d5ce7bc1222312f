/* Sequence numbers: exact decimal vectors computed independently (Python int of the hex layout),
 * kinesalite's regex shape, ordering, shard start/end helpers, parse of old versions and of
 * invalid inputs. */
#include "core/common.h"
#include "kinesis/seqnum.h"
#include "test.h"

#include <regex.h>
#include <stdbool.h>

/* Test-local decimal -> lower-case hex by schoolbook division of the digit string by 16. */
static void dec_to_hex(const char *dec, char *out) {
    char num[200];
    strcpy(num, dec);
    char rev[200];
    size_t rn = 0;
    for (;;) {
        size_t len = strlen(num);
        if (len == 1 && num[0] == '0') break;
        char q[200];
        size_t qn = 0;
        int rem = 0;
        for (size_t i = 0; i < len; i++) {
            rem = rem * 10 + (num[i] - '0');
            int d = rem / 16;
            rem %= 16;
            if (qn > 0 || d > 0) q[qn++] = (char)('0' + d);
        }
        if (qn == 0) q[qn++] = '0';
        q[qn] = '\0';
        rev[rn++] = "0123456789abcdef"[rem];
        strcpy(num, q);
    }
    for (size_t i = 0; i < rn; i++)
        out[i] = rev[rn - 1 - i];
    out[rn] = '\0';
}

static bool matches(const char *pattern, const char *s) {
    regex_t re;
    if (regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB) != 0) return false;
    bool ok = regexec(&re, s, 0, NULL, 0) == 0;
    regfree(&re);
    return ok;
}

static int cmp(const char *a, const char *b) {
    return sl_seqnum_cmp_dec(a, strlen(a), b, strlen(b));
}

static int parse(const char *s, sl_seqnum_t *out) {
    return sl_seqnum_parse(s, strlen(s), out);
}

int main(void) {
    char buf[64], hex[128];
    sl_seqnum_t s = {
        .shard_created_s = 1700000000, .shard_index = 3, .counter = 5, .record_s = 1700000100};
    CHECK_EQ_INT(sl_seqnum_format(&s, buf), 56);
    CHECK_EQ_STR(buf, "49646437577175378652512468275256581209501454778614415410");
    dec_to_hex(buf, hex);
    CHECK_EQ_STR(hex, "206553f100300000000000000050006553f164000000032");
    CHECK(matches("^20[0-9a-f]{8}3[0-9a-f]{16}000[0-9a-f]{8}00000003"
                  "2$",
                  hex));

    sl_seqnum_t p;
    CHECK_EQ_INT(parse(buf, &p), 0);
    CHECK_EQ_INT(p.version, 2);
    CHECK_EQ_INT(p.shard_created_s, 1700000000);
    CHECK_EQ_INT(p.shard_index, 3);
    CHECK(p.counter == 5);
    CHECK_EQ_INT(p.record_s, 1700000100);

    /* Index 0x1a: low nibble 'a' after the creation time, counter at its maximum. */
    sl_seqnum_t m = {.shard_created_s = 1700000000,
                     .shard_index = 0x1a,
                     .counter = SL_SEQNUM_COUNTER_MAX,
                     .record_s = 1700000999};
    sl_seqnum_format(&m, buf);
    CHECK_EQ_STR(buf, "49646437577342634241501447948810845541628691493670617506");
    CHECK_EQ_INT(parse(buf, &p), 0);
    CHECK(p.counter == SL_SEQNUM_COUNTER_MAX && p.shard_index == 0x1a && p.record_s == 1700000999);
    dec_to_hex(buf, hex);
    CHECK(matches("^20[0-9a-f]{8}a[0-9a-f]{16}000[0-9a-f]{8}0000001a2$", hex));

    /* Round trips over a spread of fields. */
    uint64_t counters[] = {
        0, 1, 2, 1000, UINT64_C(0xffffffff), UINT64_C(0x100000000), SL_SEQNUM_COUNTER_MAX};
    uint32_t indexes[] = {0, 1, 15, 16, 4999, SL_SEQNUM_SHARD_INDEX_MAX};
    int64_t times[] = {0, 1, 1423000000, 1700000000, 4102444800, SL_SEQNUM_SECONDS_MAX};
    for (size_t a = 0; a < SL_ARRAY_LEN(counters); a++)
        for (size_t b = 0; b < SL_ARRAY_LEN(indexes); b++)
            for (size_t t = 0; t < SL_ARRAY_LEN(times); t++) {
                /* Creation at 0 makes the value fall below 2^185 only if everything else is 0;
                 * the top hex '2' keeps it above, so every combination is a valid v2 number. */
                sl_seqnum_t in = {.shard_created_s = times[t],
                                  .shard_index = indexes[b],
                                  .counter = counters[a],
                                  .record_s = times[(t + 1) % SL_ARRAY_LEN(times)]};
                size_t n = sl_seqnum_format(&in, buf);
                CHECK(n > 0 && n <= SL_SEQNUM_DIGITS_MAX);
                sl_seqnum_t outp;
                int rc = sl_seqnum_parse(buf, n, &outp);
                CHECK_EQ_INT(rc, 0);
                CHECK(outp.version == 2 && outp.shard_created_s == in.shard_created_s &&
                      outp.shard_index == in.shard_index && outp.counter == in.counter &&
                      outp.record_s == in.record_s);
            }

    /* Fields that do not fit are refused, not truncated. */
    sl_seqnum_t bad = s;
    bad.counter = SL_SEQNUM_COUNTER_MAX + 1;
    CHECK_EQ_INT(sl_seqnum_format(&bad, buf), 0);
    bad = s;
    bad.shard_index = SL_SEQNUM_SHARD_INDEX_MAX + 1;
    CHECK_EQ_INT(sl_seqnum_format(&bad, buf), 0);
    bad = s;
    bad.record_s = -1;
    CHECK_EQ_INT(sl_seqnum_format(&bad, buf), 0);
    bad = s;
    bad.shard_created_s = SL_SEQNUM_SECONDS_MAX + 1;
    CHECK_EQ_INT(sl_seqnum_format(&bad, buf), 0);

    /* Ordering within a shard: a larger counter is a larger number, even when the record time
     * goes backwards (arrival times are not monotonic). */
    char prev[64], cur[64];
    sl_seqnum_t o = {
        .shard_created_s = 1700000000, .shard_index = 7, .counter = 0, .record_s = 1700000500};
    sl_seqnum_format(&o, prev);
    for (uint64_t c = 1; c < 2000; c += 37) {
        o.counter = c;
        o.record_s = 1700000500 - (int64_t)c;
        sl_seqnum_format(&o, cur);
        CHECK(cmp(cur, prev) > 0);
        strcpy(prev, cur);
    }

    /* Shard start/end and a child shard created one second after the parent closed. */
    char start[64], end[64], child[64], rec[64];
    sl_seqnum_t st, en, ch;
    sl_seqnum_shard_start(1700000000123, 4, &st);
    sl_seqnum_shard_end(1700000000123, 4, 1700000100999, &en);
    sl_seqnum_shard_start(1700000101000, 9, &ch);
    CHECK(st.counter == 0 && st.record_s == 1700000000 && st.shard_created_s == 1700000000);
    CHECK(en.counter == SL_SEQNUM_COUNTER_MAX && en.record_s == 1700000100);
    sl_seqnum_format(&st, start);
    sl_seqnum_format(&en, end);
    sl_seqnum_format(&ch, child);
    sl_seqnum_t r = st;
    r.counter = 1;
    r.record_s = 1700000050;
    sl_seqnum_format(&r, rec);
    CHECK(cmp(rec, start) > 0);
    CHECK(cmp(end, rec) > 0);
    CHECK(cmp(child, end) > 0);
    dec_to_hex(start, hex);
    CHECK(matches("^20[0-9a-f]{8}4[0-9a-f]{16}000[0-9a-f]{8}00000004"
                  "2$",
                  hex));

    /* cmp_dec: numeric, not lexicographic across lengths. */
    CHECK(cmp("9", "10") < 0);
    CHECK(cmp("010", "10") == 0);
    CHECK(cmp("0", "0000") == 0);
    CHECK(cmp("123", "122") > 0);

    /* A real AWS number (spec §2.1) is version 2. */
    CHECK_EQ_INT(parse("49592592288669974188510550010873737925033238827737546754", &p), 0);
    CHECK_EQ_INT(p.version, 2);
    CHECK_EQ_INT(p.shard_index, 0);

    /* Older layouts: version 1 (last hex digit 1) and version 0 (< 2^129 after adding 2^124). */
    CHECK_EQ_INT(parse("49610756384946934664521100322000485494181768708541644913", &p), 0);
    CHECK_EQ_INT(p.version, 1);
    CHECK_EQ_INT(p.shard_created_s, 1600000000);
    CHECK_EQ_INT(p.record_s, 1600000005);
    CHECK_EQ_INT(p.shard_index, 7);
    CHECK_EQ_INT(parse("21700926946308537062675606443190910985", &p), 0);
    CHECK_EQ_INT(p.version, 0);
    CHECK_EQ_INT(p.shard_created_s, 1400000000);
    CHECK_EQ_INT(p.shard_index, 9);
    /* In the v1/v2 range with last hex digit 0: kinesalite calls it version 0 (found by fuzzing).
     */
    CHECK_EQ_INT(parse("49592592288000000000000000000000000002566110560543834112", &p), 0);
    CHECK_EQ_INT(p.version, 0);
    CHECK_EQ_INT(parse("0", &p), 0);
    CHECK_EQ_INT(p.version, 0);
    CHECK_EQ_INT(parse("1", &p), 0);
    CHECK_EQ_INT(p.version, 0);

    /* Invalid. */
    CHECK_EQ_INT(sl_seqnum_parse("", 0, &p), SL_EINVAL);
    CHECK_EQ_INT(parse("abc", &p), SL_EINVAL);
    CHECK_EQ_INT(parse("-1", &p), SL_EINVAL);
    CHECK_EQ_INT(parse("1 ", &p), SL_EINVAL);
    CHECK_EQ_INT(parse("1361129467683753853853498429727072845824", &p), SL_EINVAL); /* 2^130 */
    CHECK_EQ_INT(parse("49039857307708443467467104868809893875799651909875269632", &p),
                 SL_EINVAL); /* 2^185 */
    CHECK_EQ_INT(parse("73559785961562665201200657303214840813699477864812904448", &p),
                 SL_EINVAL); /* 1.5*2^185 */
    CHECK_EQ_INT(parse("6277101735386680763835789423207666416102355444464034512896", &p),
                 SL_EINVAL); /* 2^192 */
    CHECK_EQ_INT(
        parse("99999999999999999999999999999999999999999999999999999999999999999999999999999999"
              "9999999999999999999999999999999999999999999999999",
              &p),
        SL_EINVAL);
    CHECK_EQ_INT(parse("49646437577108476416916876405831974054683502822148800515", &p),
                 SL_EINVAL); /* v3 */
    CHECK_EQ_INT(parse("49646437577119626789516141717396697284721753857028259842", &p),
                 SL_EINVAL); /* counter top bit */
    CHECK_EQ_INT(parse("49646437577108476416916876405831974054683502856508538882", &p),
                 SL_EINVAL); /* index top bit */
    TEST_MAIN_END();
}
