/* Sequence numbers in kinesalite's "version 2" layout (spec §2.1), with the small fixed-width
 * bignum (192 bits) needed to move between their hex layout and the decimal AWS prints. */
#include "kinesis/seqnum.h"

#include "core/common.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* A 192-bit unsigned integer, least significant word first. Sequence numbers are < 1.5 * 2^185. */
typedef struct {
    uint64_t w[3];
} big_t;

static int big_cmp(const big_t *a, const big_t *b) {
    for (int i = 2; i >= 0; i--) {
        if (a->w[i] != b->w[i]) return a->w[i] < b->w[i] ? -1 : 1;
    }
    return 0;
}

/* a = a * mul + add; returns false when the result does not fit 192 bits. */
static bool big_mul_add(big_t *a, uint32_t mul, uint32_t add) {
    __extension__ typedef unsigned __int128 u128;
    u128 carry = add;
    for (int i = 0; i < 3; i++) {
        u128 t = (u128)a->w[i] * mul + carry;
        a->w[i] = (uint64_t)t;
        carry = t >> 64;
    }
    return carry == 0;
}

static void big_add(big_t *a, const big_t *b) {
    uint64_t carry = 0;
    for (int i = 0; i < 3; i++) {
        uint64_t s = a->w[i] + b->w[i];
        uint64_t c1 = s < a->w[i];
        uint64_t s2 = s + carry;
        uint64_t c2 = s2 < s;
        a->w[i] = s2;
        carry = c1 | c2;
    }
}

static int hex_val(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* Writes a in lower-case hex without leading zeros ("0" for zero); returns the length. */
static size_t big_to_hex(const big_t *a, char out[49]) {
    static const char digits[] = "0123456789abcdef";
    size_t n = 0;
    bool started = false;
    for (int i = 2; i >= 0; i--) {
        for (int shift = 60; shift >= 0; shift -= 4) {
            unsigned d = (unsigned)(a->w[i] >> shift) & 0xf;
            if (d == 0 && !started) continue;
            started = true;
            out[n++] = digits[d];
        }
    }
    if (n == 0) out[n++] = '0';
    out[n] = '\0';
    return n;
}

/* Printing divides by 10^19 through a precomputed reciprocal (Moller and Granlund, "Improved
 * division by invariant integers", IEEE TC 2011, algorithm 4): 10^19 already has its top bit set,
 * so the divisor needs no normalising shift. One 64x64->128 multiplication and a few adds replace
 * the 128-by-64-bit division (a libgcc __udivmodti4 call) of each step; sequence numbers are
 * printed for every record PutRecords and GetRecords answer with. */
#define DEC_CHUNK UINT64_C(10000000000000000000)   /* 10^19 */
#define DEC_CHUNK_INV UINT64_C(0xd83c94fb6d2ac34a) /* floor((2^128 - 1) / 10^19) - 2^64 */

/* (hi * 2^64 + lo) / 10^19 for hi < 10^19 (so the quotient fits 64 bits); *rem gets the rest. */
static inline uint64_t div_1e19(uint64_t hi, uint64_t lo, uint64_t *rem) {
    __extension__ typedef unsigned __int128 u128;
    u128 q = (u128)DEC_CHUNK_INV * hi + (((u128)hi << 64) | lo); /* wraps mod 2^128 by design */
    uint64_t q1 = (uint64_t)(q >> 64) + 1, q0 = (uint64_t)q;
    uint64_t r = lo - q1 * DEC_CHUNK;
    if (r > q0) {
        q1--;
        r += DEC_CHUNK;
    }
    if (r >= DEC_CHUNK) { /* rare */
        q1++;
        r -= DEC_CHUNK;
    }
    *rem = r;
    return q1;
}

/* a = a / 10^19; returns the remainder. `top` is the highest non-zero word of a; a top word below
 * 10^19 is itself the first partial remainder, so a sequence number (3 words) takes 2 steps here
 * and its 2-word quotient 1. */
static uint64_t big_divmod_1e19(big_t *a, int top) {
    uint64_t rem = 0;
    int i = top;
    if (a->w[top] < DEC_CHUNK) {
        rem = a->w[top];
        a->w[top] = 0;
        i--;
    }
    for (; i >= 0; i--)
        a->w[i] = div_1e19(rem, a->w[i], &rem);
    return rem;
}

#if !(defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__)
/* "00".."99": two digits per table look-up (put8 on other machines). */
static const char digit_pairs[201] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";
#endif

/* Writes v < 10^8 as exactly 8 digits. On little-endian machines all eight at once (SWAR): split
 * into two 4-digit lanes of 32 bits, each into two 2-digit lanes of 16 bits, each into two digits
 * of 8 bits, with multiply-shift divisions exact for these ranges (x * 10486 >> 20 = x / 100 for
 * x < 10^4, x * 103 >> 10 = x / 10 for x < 100); the first digit ends up in the lowest byte. */
static inline void put8(char *out, uint32_t v) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t x = (uint64_t)(v / 10000) | ((uint64_t)(v % 10000) << 32);
    uint64_t hundreds = ((x * 10486) >> 20) & UINT64_C(0x0000007f0000007f);
    x = hundreds | ((x - hundreds * 100) << 16);
    uint64_t tens = ((x * 103) >> 10) & UINT64_C(0x000f000f000f000f);
    x = tens | ((x - tens * 10) << 8);
    x |= UINT64_C(0x3030303030303030);
    memcpy(out, &x, 8);
#else
    uint32_t hi = v / 10000, lo = v % 10000;
    memcpy(out, digit_pairs + 2 * (hi / 100), 2);
    memcpy(out + 2, digit_pairs + 2 * (hi % 100), 2);
    memcpy(out + 4, digit_pairs + 2 * (lo / 100), 2);
    memcpy(out + 6, digit_pairs + 2 * (lo % 100), 2);
#endif
}

/* 56 digits = 7 limbs of 8: every number the layout holds is in [2^185, 1.5 * 2^185), so it
 * always has 56 digits. */
#define RUN_LIMBS 7
#define RUN_DIGITS (RUN_LIMBS * 8)
#define E8 UINT64_C(100000000)

/* A number of the layout in base 10^8, least significant limb first, and as its 56 digits (out,
 * NUL-terminated). Two divisions by 10^19 split it into 19 + 19 + 18 digits; the limbs are cut
 * from those with 64-bit divisions by constants, and each limb printed 8 digits at a time. */
static void layout_to_dec(big_t a, uint32_t limb[RUN_LIMBS], char out[64]) {
    uint64_t p0 = big_divmod_1e19(&a, 2); /* digits 0..18 */
    uint64_t p1 = big_divmod_1e19(&a, 1); /* digits 19..37 */
    uint64_t p2 = a.w[0];                 /* digits 38..55 */
    SL_ASSERT(a.w[1] == 0 && a.w[2] == 0 && p2 >= UINT64_C(100000000000000000) &&
              p2 < UINT64_C(1000000000000000000));
    uint64_t t = p0 / E8, u = p1 / 100000, w = p2 / 100;
    limb[0] = (uint32_t)(p0 % E8);
    limb[1] = (uint32_t)(t % E8);
    limb[2] = (uint32_t)(t / E8 + (p1 % 100000) * 1000); /* digits 16..18 of p0, 0..4 of p1 */
    limb[3] = (uint32_t)(u % E8);
    limb[4] = (uint32_t)(u / E8 + (p2 % 100) * 1000000); /* digits 13..18 of p1, 0..1 of p2 */
    limb[5] = (uint32_t)(w % E8);
    limb[6] = (uint32_t)(w / E8);
    for (int i = 0; i < RUN_LIMBS; i++)
        put8(out + (RUN_LIMBS - 1 - i) * 8, limb[i]);
    out[RUN_DIGITS] = '\0';
}

/* ORs the low `bits` bits of v into a at bit position pos. */
static void big_put(big_t *a, uint64_t v, unsigned pos, unsigned bits) {
    SL_ASSERT(bits >= 1 && bits <= 64 && pos + bits <= 192);
    if (bits < 64) v &= (UINT64_C(1) << bits) - 1;
    unsigned w = pos / 64, off = pos % 64;
    a->w[w] |= v << off;
    if (off && w + 1 < 3) a->w[w + 1] |= v >> (64 - off);
}

/* Value of hex digits [from, to) of a hex string known to be long enough. */
static uint64_t hex_slice(const char *hex, size_t from, size_t to) {
    uint64_t v = 0;
    for (size_t i = from; i < to; i++)
        v = (v << 4) | (uint64_t)hex_val(hex[i]);
    return v;
}

/* sl_seqnum_format, also giving the limbs (for a run). */
static size_t format_limbs(const sl_seqnum_t *s, char out[64], uint32_t limb[RUN_LIMBS]) {
    if (s->counter > SL_SEQNUM_COUNTER_MAX || s->shard_index > SL_SEQNUM_SHARD_INDEX_MAX ||
        s->shard_created_s < 0 || s->shard_created_s > SL_SEQNUM_SECONDS_MAX || s->record_s < 0 ||
        s->record_s > SL_SEQNUM_SECONDS_MAX) {
        out[0] = '\0';
        return 0;
    }
    /* 47 hex digits, most significant first: '2', 9 digits creation seconds, shard index low
     * nibble, 16 digits counter, "00", 9 digits record seconds, 8 digits shard index, '2'. */
    big_t v = {{0, 0, 0}};
    big_put(&v, 2, 184, 4);
    big_put(&v, (uint64_t)s->shard_created_s, 148, 36);
    big_put(&v, s->shard_index & 0xf, 144, 4);
    big_put(&v, s->counter, 80, 64);
    big_put(&v, (uint64_t)s->record_s, 36, 36);
    big_put(&v, s->shard_index, 4, 32);
    big_put(&v, 2, 0, 4);
    /* Every value of the layout is in [2^185, 1.5 * 2^185): always 56 digits. */
    layout_to_dec(v, limb, out);
    return RUN_DIGITS;
}

size_t sl_seqnum_format(const sl_seqnum_t *s, char out[64]) {
    uint32_t limb[RUN_LIMBS];
    return format_limbs(s, out, limb);
}

size_t sl_seqnum_run_init(sl_seqnum_run_t *run, const sl_seqnum_t *s) {
    SL_ASSERT(run && s);
    run->cur = *s;
    run->len = format_limbs(s, run->text, run->limb);
    return run->len;
}

size_t sl_seqnum_run_next(sl_seqnum_run_t *run) {
    /* 2^80, the weight of the counter's lowest bit, in base 10^8. */
    static const uint32_t step[RUN_LIMBS] = {74706176, 96146291, 20892581, 1, 0, 0, 0};
    bool limbs = run->len == RUN_DIGITS;
    run->cur.counter++;
    if (!limbs || run->cur.counter > SL_SEQNUM_COUNTER_MAX) {
        /* Not a 56-digit number, or past the layout: the general printer decides. */
        run->len = sl_seqnum_format(&run->cur, run->text);
        return run->len;
    }
    uint32_t carry = 0;
    int i = 0;
    for (; i < RUN_LIMBS && (i < 4 || carry); i++) {
        uint32_t v = run->limb[i] + step[i] + carry;
        carry = v >= 100000000;
        if (carry) v -= 100000000;
        run->limb[i] = v;
        put8(run->text + (RUN_LIMBS - 1 - i) * 8, v);
    }
    /* The counter stays within the layout, so the value stays below 10^56 (56 digits). */
    SL_ASSERT(!carry && run->len == RUN_DIGITS);
    return run->len;
}

int sl_seqnum_parse(const char *dec, size_t len, sl_seqnum_t *out) {
    if (!dec || len == 0) return SL_EINVAL;
    big_t v = {{0, 0, 0}};
    for (size_t i = 0; i < len; i++) {
        if (dec[i] < '0' || dec[i] > '9') return SL_EINVAL;
        if (!big_mul_add(&v, 10, (uint32_t)(dec[i] - '0'))) return SL_EINVAL; /* >= 2^192 */
    }
    const big_t pow124 = {{0, UINT64_C(1) << 60, 0}};
    const big_t pow129 = {{0, 0, UINT64_C(1) << 1}};
    const big_t pow185 = {{0, 0, UINT64_C(1) << 57}};
    const big_t pow185_1_5 = {{0, 0, UINT64_C(3) << 56}};
    if (big_cmp(&v, &pow124) < 0) big_add(&v, &pow124);

    char hex[49];
    size_t hn = big_to_hex(&v, hex);
    int version;
    if (big_cmp(&v, &pow129) < 0) {
        version = 0;
    } else if (big_cmp(&v, &pow185) > 0 && big_cmp(&v, &pow185_1_5) < 0) {
        version = hex_val(hex[hn - 1]);
    } else {
        return SL_EINVAL;
    }

    memset(out, 0, sizeof *out);
    out->version = version;
    if (version == 2) {
        SL_ASSERT(hn == 47);
        if (hex_val(hex[11]) > 7 || hex_val(hex[38]) > 7) return SL_EINVAL;
        out->shard_created_s = (int64_t)hex_slice(hex, 1, 10);
        out->counter = hex_slice(hex, 11, 27);
        out->record_s = (int64_t)hex_slice(hex, 29, 38);
        out->shard_index = (uint32_t)hex_slice(hex, 38, 46);
        return 0;
    }
    if (version == 1) {
        SL_ASSERT(hn == 47);
        out->shard_created_s = (int64_t)hex_slice(hex, 1, 10);
        out->record_s = (int64_t)hex_slice(hex, 13, 22);
        uint64_t ix = hex_slice(hex, 38, 46);
        if (ix > SL_SEQNUM_SHARD_INDEX_MAX) return SL_EINVAL;
        out->shard_index = (uint32_t)ix;
        return 0;
    }
    if (version == 0) {
        /* Values in [2^124, 2^129) have 32 or 33 hex digits; kinesalite also lands here for a
         * 47-digit value in the version 1/2 range whose last hex digit is 0, and reads the same
         * positions. Either way the caller sees version 0: "did not come from this stream". */
        int64_t created_s = (int64_t)hex_slice(hex, 1, 10);
        if (created_s >= INT64_C(16025175000)) return SL_EINVAL; /* kinesalite: "Date too large" */
        out->shard_created_s = created_s;
        out->shard_index = (uint32_t)hex_slice(hex, 28, 32);
        return 0;
    }
    return SL_EINVAL;
}

void sl_seqnum_shard_start(int64_t created_ms, uint32_t index, sl_seqnum_t *out) {
    out->shard_created_s = created_ms / 1000;
    out->shard_index = index;
    out->counter = 0;
    out->record_s = created_ms / 1000;
    out->version = 2;
}

void sl_seqnum_shard_end(int64_t created_ms, uint32_t index, int64_t closed_ms, sl_seqnum_t *out) {
    out->shard_created_s = created_ms / 1000;
    out->shard_index = index;
    out->counter = SL_SEQNUM_COUNTER_MAX;
    out->record_s = closed_ms / 1000;
    out->version = 2;
}

int sl_seqnum_cmp_dec(const char *a, size_t alen, const char *b, size_t blen) {
    SL_ASSERT(a && b && alen > 0 && blen > 0); /* validated digits, by contract */
    while (alen > 1 && a[0] == '0')
        a++, alen--;
    while (blen > 1 && b[0] == '0')
        b++, blen--;
    if (alen != blen) return alen < blen ? -1 : 1;
    int r = memcmp(a, b, alen);
    return (r > 0) - (r < 0);
}
