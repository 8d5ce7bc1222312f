/* sl_seqnum_format against a slow reference: the version 2 layout built as a 192-bit integer and
 * printed one decimal digit at a time with plain 128-bit division (the method the fast printer
 * replaced). Covers every field at its edges (0, 1, powers of two and their neighbours, the
 * largest value the layout holds) and a few million random combinations, plus the refusals of
 * out-of-range fields; and sl_seqnum_run_next (consecutive counters) against sl_seqnum_format at
 * every step, including runs that pass SL_SEQNUM_COUNTER_MAX. */
#include "kinesis/seqnum.h"
#include "test.h"

#include <stdbool.h>
#include <stdint.h>

__extension__ typedef unsigned __int128 u128;

typedef struct {
    uint64_t w[3]; /* least significant word first */
} ref_big_t;

static void ref_put(ref_big_t *a, uint64_t v, unsigned pos, unsigned bits) {
    if (bits < 64) v &= (UINT64_C(1) << bits) - 1;
    unsigned w = pos / 64, off = pos % 64;
    a->w[w] |= v << off;
    if (off && w + 1 < 3) a->w[w + 1] |= v >> (64 - off);
}

/* a /= 10, returning the digit; one 128-by-64-bit division per word. */
static unsigned ref_div10(ref_big_t *a) {
    u128 rem = 0;
    for (int i = 2; i >= 0; i--) {
        u128 cur = (rem << 64) | a->w[i];
        a->w[i] = (uint64_t)(cur / 10);
        rem = cur % 10;
    }
    return (unsigned)rem;
}

static size_t ref_format(const sl_seqnum_t *s, char out[64]) {
    ref_big_t v = {{0, 0, 0}};
    ref_put(&v, 2, 184, 4);
    ref_put(&v, (uint64_t)s->shard_created_s, 148, 36);
    ref_put(&v, s->shard_index & 0xf, 144, 4);
    ref_put(&v, s->counter, 80, 64);
    ref_put(&v, (uint64_t)s->record_s, 36, 36);
    ref_put(&v, s->shard_index, 4, 32);
    ref_put(&v, 2, 0, 4);
    char rev[64];
    size_t n = 0;
    do {
        rev[n++] = (char)('0' + ref_div10(&v));
    } while (v.w[0] || v.w[1] || v.w[2]);
    for (size_t i = 0; i < n; i++)
        out[i] = rev[n - 1 - i];
    out[n] = '\0';
    return n;
}

/* xorshift64*: deterministic, so a failure reproduces. */
static uint64_t rng_state = UINT64_C(0x9e3779b97f4a7c15);
static uint64_t rnd(void) {
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * UINT64_C(0x2545f4914f6cdd1d);
}

/* A value in [0, max]: an edge value half of the time, else uniform or a random bit width. */
static uint64_t pick(uint64_t max) {
    uint64_t r = rnd();
    switch (r % 8) {
    case 0:
        return 0;
    case 1:
        return max;
    case 2:
        return max - rnd() % 3; /* every max used here is large */
    case 3: {
        unsigned bit = (unsigned)(rnd() % 64);
        uint64_t p = UINT64_C(1) << bit;
        if (p > max) return max;
        uint64_t d = rnd() % 3; /* p - 1, p, p + 1 */
        return d == 0 ? p - 1 : d == 1 ? p : (p + 1 <= max ? p + 1 : p);
    }
    case 4: {
        unsigned bits = (unsigned)(rnd() % 64) + 1;
        uint64_t v = bits == 64 ? rnd() : rnd() & ((UINT64_C(1) << bits) - 1);
        return v <= max ? v : v % (max + 1); /* max < UINT64_MAX here */
    }
    default:
        return max == UINT64_MAX ? rnd() : rnd() % (max + 1);
    }
}

static int mismatches;

static void check_one(const sl_seqnum_t *s) {
    char fast[64], slow[64];
    size_t fn = sl_seqnum_format(s, fast);
    size_t sn = ref_format(s, slow);
    if (fn != sn || strcmp(fast, slow) != 0) {
        if (mismatches++ < 5)
            fprintf(
                stderr,
                "mismatch: created %lld index %u counter %llu record %lld\n  fast %s\n  slow %s\n",
                (long long)s->shard_created_s, s->shard_index, (unsigned long long)s->counter,
                (long long)s->record_s, fast, slow);
    }
}

int main(void) {
    /* Every combination of edge values. */
    const uint64_t secs[] = {0, 1, 9, 10, 1716000000, UINT64_C(0x7ffffffff), UINT64_C(0xfffffffff)};
    const uint64_t idx[] = {0, 1, 15, 16, 0xffff, 0x7ffffffe, SL_SEQNUM_SHARD_INDEX_MAX};
    const uint64_t ctr[] = {0,
                            1,
                            9,
                            10,
                            UINT64_C(9999999999999999999) / 2,
                            UINT64_C(1) << 62,
                            (UINT64_C(1) << 62) - 1,
                            SL_SEQNUM_COUNTER_MAX - 1,
                            SL_SEQNUM_COUNTER_MAX};
    size_t edge = 0;
    for (size_t a = 0; a < sizeof secs / sizeof secs[0]; a++)
        for (size_t b = 0; b < sizeof idx / sizeof idx[0]; b++)
            for (size_t c = 0; c < sizeof ctr / sizeof ctr[0]; c++)
                for (size_t d = 0; d < sizeof secs / sizeof secs[0]; d++) {
                    sl_seqnum_t s = {.shard_created_s = (int64_t)secs[a],
                                     .shard_index = (uint32_t)idx[b],
                                     .counter = ctr[c],
                                     .record_s = (int64_t)secs[d],
                                     .version = 2};
                    check_one(&s);
                    edge++;
                }
    CHECK(edge > 3000);

    /* Random combinations. */
    for (int i = 0; i < 2000000; i++) {
        sl_seqnum_t s = {.shard_created_s = (int64_t)pick((uint64_t)SL_SEQNUM_SECONDS_MAX),
                         .shard_index = (uint32_t)pick(SL_SEQNUM_SHARD_INDEX_MAX),
                         .counter = pick(SL_SEQNUM_COUNTER_MAX),
                         .record_s = (int64_t)pick((uint64_t)SL_SEQNUM_SECONDS_MAX),
                         .version = 2};
        check_one(&s);
    }
    CHECK_EQ_INT(mismatches, 0);

    /* Every number is 56 digits long, and consecutive counters print increasing numbers. */
    char prev[64] = "", cur[64];
    for (uint64_t c = UINT64_C(0x7fffffffffff0000); c < UINT64_C(0x7fffffffffff0400); c++) {
        sl_seqnum_t s = {
            .shard_created_s = 1716000000, .shard_index = 3, .counter = c, .record_s = 1716000123};
        CHECK_EQ_INT(sl_seqnum_format(&s, cur), 56);
        if (prev[0]) CHECK(sl_seqnum_cmp_dec(prev, strlen(prev), cur, strlen(cur)) < 0);
        memcpy(prev, cur, sizeof cur);
    }

    /* Runs of consecutive counters print exactly what sl_seqnum_format prints. */
    int run_mismatches = 0;
    for (int r = 0; r < 20000; r++) {
        sl_seqnum_t s = {.shard_created_s = (int64_t)pick((uint64_t)SL_SEQNUM_SECONDS_MAX),
                         .shard_index = (uint32_t)pick(SL_SEQNUM_SHARD_INDEX_MAX),
                         .counter = pick(SL_SEQNUM_COUNTER_MAX),
                         .record_s = (int64_t)pick((uint64_t)SL_SEQNUM_SECONDS_MAX),
                         .version = 2};
        if (r % 10 == 0) s.counter = SL_SEQNUM_COUNTER_MAX - rnd() % 50;    /* runs off the end */
        if (r % 10 == 1) s.counter = SL_SEQNUM_COUNTER_MAX + 1 + rnd() % 5; /* starts off the end */
        if (r % 10 == 2) s.record_s = SL_SEQNUM_SECONDS_MAX + 1;            /* never fits */
        sl_seqnum_run_t run;
        char want[64];
        size_t n = sl_seqnum_run_init(&run, &s);
        int steps = (int)(rnd() % 300);
        for (int k = 0; k <= steps; k++) {
            if (k) {
                s.counter++;
                n = sl_seqnum_run_next(&run);
            }
            size_t wn = sl_seqnum_format(&s, want);
            if (n != wn || run.len != wn || strcmp(run.text, want) != 0) {
                if (run_mismatches++ < 5)
                    fprintf(stderr, "run mismatch at counter %llu:\n  run  %s\n  want %s\n",
                            (unsigned long long)s.counter, run.text, want);
            }
        }
    }
    CHECK_EQ_INT(run_mismatches, 0);

    /* Fields outside the layout are refused with an empty string, as before. */
    char out[64] = "x";
    sl_seqnum_t bad = {.shard_created_s = 1, .counter = SL_SEQNUM_COUNTER_MAX + 1};
    CHECK_EQ_INT(sl_seqnum_format(&bad, out), 0);
    CHECK_EQ_STR(out, "");
    bad = (sl_seqnum_t){.shard_index = SL_SEQNUM_SHARD_INDEX_MAX + 1};
    CHECK_EQ_INT(sl_seqnum_format(&bad, out), 0);
    bad = (sl_seqnum_t){.shard_created_s = -1};
    CHECK_EQ_INT(sl_seqnum_format(&bad, out), 0);
    bad = (sl_seqnum_t){.record_s = SL_SEQNUM_SECONDS_MAX + 1};
    CHECK_EQ_INT(sl_seqnum_format(&bad, out), 0);
    TEST_MAIN_END();
}
