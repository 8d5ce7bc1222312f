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

/* a = a / div; returns the remainder. */
static uint64_t big_divmod(big_t *a, uint64_t div) {
    __extension__ typedef unsigned __int128 u128;
    u128 rem = 0;
    for (int i = 2; i >= 0; i--) {
        u128 cur = (rem << 64) | a->w[i];
        a->w[i] = (uint64_t)(cur / div);
        rem = cur % div;
    }
    return (uint64_t)rem;
}

static bool big_is_zero(const big_t *a) {
    return a->w[0] == 0 && a->w[1] == 0 && a->w[2] == 0;
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

/* Writes a in decimal, NUL-terminated; returns the length. Works in chunks of 19 digits (one
 * 192-by-64-bit division per chunk): this runs for every sequence number Sluice prints, so it is
 * on the PutRecords and GetRecords hot paths. */
static size_t big_to_dec(big_t a, char out[64]) {
    static const uint64_t chunk = UINT64_C(10000000000000000000); /* 10^19 */
    uint64_t parts[4];
    int np = 0;
    do {
        parts[np++] = big_divmod(&a, chunk);
    } while (!big_is_zero(&a) && np < 4);
    char top[20];
    size_t tn = 0;
    uint64_t t = parts[np - 1];
    do {
        top[tn++] = (char)('0' + t % 10);
        t /= 10;
    } while (t);
    size_t n = 0;
    while (tn) out[n++] = top[--tn];
    for (int i = np - 2; i >= 0; i--) {
        uint64_t v = parts[i];
        for (int d = 18; d >= 0; d--) {
            out[n + (size_t)d] = (char)('0' + v % 10);
            v /= 10;
        }
        n += 19;
    }
    out[n] = '\0';
    return n;
}

/* ORs the low `bits` bits of v into a at bit position pos. */
static void big_put(big_t *a, uint64_t v, unsigned pos, unsigned bits) {
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

size_t sl_seqnum_format(const sl_seqnum_t *s, char out[64]) {
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
    return big_to_dec(v, out);
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
    while (alen > 1 && a[0] == '0')
        a++, alen--;
    while (blen > 1 && b[0] == '0')
        b++, blen--;
    if (alen != blen) return alen < blen ? -1 : 1;
    int r = memcmp(a, b, alen);
    return (r > 0) - (r < 0);
}
