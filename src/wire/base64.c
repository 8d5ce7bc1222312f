/* Base64 (standard alphabet, padded): a table-driven encoder and a validating decoder whose
 * fast path handles well-formed input in one pass; anything it rejects is re-examined by a slow
 * path that finds AWS's reason (see base64.h for the order of the checks). */
#include "wire/base64.h"

#include "core/common.h"

#include <pthread.h>
#include <string.h>

static const char b64_alphabet[65] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Six-bit value of each alphabet character; 0xFF for everything else, '=' included. */
static const uint8_t b64_value[256] = {
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x3E, 0xFF, 0xFF, 0xFF, 0x3F,
    0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3A, 0x3B, 0x3C, 0x3D, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E,
    0x0F, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0x1A, 0x1B, 0x1C, 0x1D, 0x1E, 0x1F, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28,
    0x29, 0x2A, 0x2B, 0x2C, 0x2D, 0x2E, 0x2F, 0x30, 0x31, 0x32, 0x33, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
};

size_t sl_base64_encoded_len(size_t n) {
    return (n + 2) / 3 * 4;
}

/* Two output characters for every 12-bit value, built once: the encoder then needs two table
 * lookups per three input bytes (GetRecords and SubscribeToShard encode every record's data). */
static uint16_t g_b64_pairs[4096];
static int g_b64_avx2; /* the CPU has AVX2 (set once with the pair table) */
static int g_b64_vbmi; /* the CPU has AVX-512 VBMI and BW (set likewise) */
static pthread_once_t g_b64_pairs_once = PTHREAD_ONCE_INIT;

static void b64_pairs_init(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    g_b64_avx2 = __builtin_cpu_supports("avx2");
    g_b64_vbmi = __builtin_cpu_supports("avx512vbmi") && __builtin_cpu_supports("avx512bw");
#endif
    for (unsigned v = 0; v < 4096; v++) {
        char pair[2] = {b64_alphabet[v >> 6], b64_alphabet[v & 63]};
        memcpy(&g_b64_pairs[v], pair, 2);
    }
}

#if defined(__x86_64__)
#include <immintrin.h>

/* AVX2 encoder for the bulk of a blob, 24 input bytes -> 32 characters per step (the
 * shuffle / multiply / lookup method of Muła and Lemire, "Faster Base64 Encoding and Decoding
 * Using AVX2 Instructions", 2018). Returns the number of input bytes consumed (a multiple of 3);
 * never reads past in[n-1]. GetRecords spends most of its CPU here for large records. */
__attribute__((target("avx2"))) static size_t b64_encode_avx2(const uint8_t *in, size_t n,
                                                              char *out) {
    size_t i = 0;
    const __m256i shuf = _mm256_setr_epi8(1, 0, 2, 1, 4, 3, 5, 4, 7, 6, 8, 7, 10, 9, 11, 10, 1, 0,
                                          2, 1, 4, 3, 5, 4, 7, 6, 8, 7, 10, 9, 11, 10);
    /* offset to add per class: index 0 = a..z, 1..10 = 0..9, 11 = '+', 12 = '/', 13 = A..Z */
    const __m256i lut =
        _mm256_setr_epi8(71, -4, -4, -4, -4, -4, -4, -4, -4, -4, -4, -19, -16, 65, 0, 0, 71, -4, -4,
                         -4, -4, -4, -4, -4, -4, -4, -4, -19, -16, 65, 0, 0);
    while (n - i >= 28) { /* each half loads 16 bytes at +0 and +12 */
        __m128i lo = _mm_loadu_si128((const __m128i *)(const void *)(in + i));
        __m128i hi = _mm_loadu_si128((const __m128i *)(const void *)(in + i + 12));
        __m256i v = _mm256_set_m128i(hi, lo);
        v = _mm256_shuffle_epi8(v, shuf);
        __m256i t0 = _mm256_and_si256(v, _mm256_set1_epi32(0x0fc0fc00));
        __m256i t1 = _mm256_mulhi_epu16(t0, _mm256_set1_epi32(0x04000040));
        __m256i t2 = _mm256_and_si256(v, _mm256_set1_epi32(0x003f03f0));
        __m256i t3 = _mm256_mullo_epi16(t2, _mm256_set1_epi32(0x01000010));
        __m256i idx = _mm256_or_si256(t1, t3);
        __m256i reduced = _mm256_subs_epu8(idx, _mm256_set1_epi8(51));
        __m256i less = _mm256_cmpgt_epi8(_mm256_set1_epi8(26), idx);
        reduced = _mm256_or_si256(reduced, _mm256_and_si256(less, _mm256_set1_epi8(13)));
        __m256i res = _mm256_add_epi8(idx, _mm256_shuffle_epi8(lut, reduced));
        _mm256_storeu_si256((__m256i *)(void *)out, res);
        out += 32;
        i += 24;
    }
    return i;
}
#endif

void sl_base64_encode(const void *data, size_t n, char *out) {
    pthread_once(&g_b64_pairs_once, b64_pairs_init);
    const uint8_t *in = data;
    size_t i = 0;
#if defined(__x86_64__)
    if (g_b64_avx2 && n >= 28) {
        i = b64_encode_avx2(in, n, out);
        SL_ASSERT(i % 3 == 0 && i <= n); /* whole groups only, the rest below */
        out += i / 3 * 4;
    }
#endif
    for (; i + 6 <= n; i += 6) {
        uint64_t v = (uint64_t)in[i] << 40 | (uint64_t)in[i + 1] << 32 | (uint64_t)in[i + 2] << 24 |
                     (uint64_t)in[i + 3] << 16 | (uint64_t)in[i + 4] << 8 | in[i + 5];
        memcpy(out, &g_b64_pairs[v >> 36], 2);
        memcpy(out + 2, &g_b64_pairs[(v >> 24) & 0xfff], 2);
        memcpy(out + 4, &g_b64_pairs[(v >> 12) & 0xfff], 2);
        memcpy(out + 6, &g_b64_pairs[v & 0xfff], 2);
        out += 8;
    }
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        memcpy(out, &g_b64_pairs[v >> 12], 2);
        memcpy(out + 2, &g_b64_pairs[v & 0xfff], 2);
        out += 4;
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[0] = b64_alphabet[v >> 18];
        out[1] = b64_alphabet[(v >> 12) & 63];
        out[2] = '=';
        out[3] = '=';
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[0] = b64_alphabet[v >> 18];
        out[1] = b64_alphabet[(v >> 12) & 63];
        out[2] = b64_alphabet[(v >> 6) & 63];
        out[3] = '=';
    }
}

/* Length in UTF-16 code units of UTF-8 text (what Java's and JavaScript's String.length report):
 * one per character, two for characters outside the BMP (4-byte sequences). */
static size_t utf16_length(const char *in, size_t n) {
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)in[i];
        if ((c & 0xC0) != 0x80) len++;
        if (c >= 0xF0) len++;
    }
    return len;
}

/* Position of the first offending character in kinesalite's order: a character outside
 * [A-Za-z0-9+/=], or a '=' followed by a character other than '='. n if none. */
static size_t first_bad_char(const char *in, size_t n) {
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c == '=') {
            if (i + 1 < n && in[i + 1] != '=') return i;
        } else if (b64_value[c] == 0xFF) {
            return i;
        }
    }
    return n;
}

/* The careful path: establishes AWS's reason for input the fast path did not accept, and
 * decodes input that is valid after all. */
static sl_b64_status_t decode_slow(const char *in, size_t n, uint8_t *out, size_t *out_len,
                                   char *bad_char) {
    *out_len = 0;
    if (utf16_length(in, n) % 4 != 0) return SL_B64_BAD_LENGTH;
    size_t bad = first_bad_char(in, n);
    if (bad < n) {
        if (bad_char) *bad_char = in[bad];
        return SL_B64_BAD_CHAR;
    }
    /* Only alphabet characters followed by a run of '=' remain; the byte length is a multiple of
     * 4 now, because every character is ASCII. */
    size_t pad = 0;
    while (pad < n && in[n - 1 - pad] == '=')
        pad++;
    if (pad > 2) return SL_B64_BAD_LAST;
    size_t data_chars = n - pad;
    if (pad == 1 && (b64_value[(unsigned char)in[data_chars - 1]] & 0x3) != 0)
        return SL_B64_BAD_LAST;
    if (pad == 2 && (b64_value[(unsigned char)in[data_chars - 1]] & 0xF) != 0)
        return SL_B64_BAD_LAST;
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < data_chars; i++) {
        acc = (acc << 6) | b64_value[(unsigned char)in[i]];
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
        }
    }
    *out_len = o;
    return SL_B64_OK;
}

#if defined(__x86_64__)
/* AVX2 decoder for the bulk of a valid text, 32 characters -> 24 bytes per step (Muła and
 * Lemire's nibble-lookup validation and multiply-add packing). It stops at the first block
 * holding any character outside the alphabet (the caller then takes the exact, scalar path that
 * names the offending character) and leaves the final quad (which may carry padding) to the
 * caller. Writes up to 8 bytes past the 24 it produces, so it runs only while the remaining
 * input guarantees that room in the caller's buffer. Returns the characters consumed. */
__attribute__((target("avx2"))) static size_t b64_decode_avx2(const unsigned char *p, size_t avail,
                                                              uint8_t *o, bool *invalid) {
    const __m256i lut_lo =
        _mm256_setr_epi8(0x15, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x13, 0x1A,
                         0x1B, 0x1B, 0x1B, 0x1A, 0x15, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
                         0x11, 0x11, 0x13, 0x1A, 0x1B, 0x1B, 0x1B, 0x1A);
    const __m256i lut_hi =
        _mm256_setr_epi8(0x10, 0x10, 0x01, 0x02, 0x04, 0x08, 0x04, 0x08, 0x10, 0x10, 0x10, 0x10,
                         0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x01, 0x02, 0x04, 0x08, 0x04, 0x08,
                         0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10);
    const __m256i lut_roll =
        _mm256_setr_epi8(0, 16, 19, 4, -65, -65, -71, -71, 0, 0, 0, 0, 0, 0, 0, 0, 0, 16, 19, 4,
                         -65, -65, -71, -71, 0, 0, 0, 0, 0, 0, 0, 0);
    const __m256i pack = _mm256_setr_epi8(2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1, 2,
                                          1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1);
    const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 4, 5, 6, 3, 7);
    size_t i = 0;
    *invalid = false;
    while (avail - i >= 44) {
        __m256i str = _mm256_loadu_si256((const __m256i *)(const void *)(p + i));
        __m256i hi_nib = _mm256_and_si256(_mm256_srli_epi32(str, 4), _mm256_set1_epi8(0x2f));
        __m256i lo_nib = _mm256_and_si256(str, _mm256_set1_epi8(0x2f));
        __m256i lo = _mm256_shuffle_epi8(lut_lo, lo_nib);
        __m256i hi = _mm256_shuffle_epi8(lut_hi, hi_nib);
        if (!_mm256_testz_si256(lo, hi)) {
            *invalid = true;
            break;
        }
        __m256i eq_2f = _mm256_cmpeq_epi8(str, _mm256_set1_epi8(0x2f));
        __m256i roll = _mm256_shuffle_epi8(lut_roll, _mm256_add_epi8(eq_2f, hi_nib));
        str = _mm256_add_epi8(str, roll);
        __m256i ab_bc = _mm256_maddubs_epi16(str, _mm256_set1_epi32(0x01400140));
        __m256i out = _mm256_madd_epi16(ab_bc, _mm256_set1_epi32(0x00011000));
        out = _mm256_shuffle_epi8(out, pack);
        out = _mm256_permutevar8x32_epi32(out, lanes);
        _mm256_storeu_si256((__m256i *)(void *)o, out);
        o += 24;
        i += 32;
    }
    return i;
}

/* AVX-512 VBMI decoder, 64 characters -> 48 bytes per step (Muła and Lemire, "Base64 encoding
 * and decoding at almost the speed of a memory copy", 2019: one two-table byte permutation maps
 * every character to its six bits or to a value with the high bit set, then the multiply-add
 * packing of the AVX2 decoder and one byte permutation). Same contract as b64_decode_avx2, except
 * that the masked store writes exactly the 48 bytes it produces. The bulk of a 10 KiB record's
 * text goes through here, twice as fast as through the AVX2 loop. */
__attribute__((target("avx512f,avx512bw,avx512vbmi"))) static size_t
b64_decode_vbmi(const unsigned char *p, size_t avail, uint8_t *o, bool *invalid) {
    /* Six-bit values of the characters 0..127 (b64_value's first half) as the two 64-byte tables
     * of the permutation: 0x80 marks a character outside the alphabet. */
    const __m512i lut_lo = _mm512_set_epi8(
        (char)0x80, (char)0x80, (char)0x80, (char)0x80, (char)0x80, (char)0x80, 0x3D, 0x3C, 0x3B,
        0x3A, 0x39, 0x38, 0x37, 0x36, 0x35, 0x34, 0x3F, (char)0x80, (char)0x80, (char)0x80, 0x3E,
        (char)0x80, (char)0x80, (char)0x80, (char)0x80, (char)0x80, (char)0x80, (char)0x80,
        (char)0x80, (char)0x80, (char)0x80, (char)0x80, (char)0x80, (char)0x80, (char)0x80,
        (char)0x80, (char)0x80, (char)0x80, (char)0x80, (char)0x80, (char)0x80, (char)0x80,
        (char)0x80, (char)0x80, (char)0x80, (char)0x80, (char)0x80, (char)0x80, (char)0x80,
        (char)0x80, (char)0x80, (char)0x80, (char)0x80, (char)0x80, (char)0x80, (char)0x80,
        (char)0x80, (char)0x80, (char)0x80, (char)0x80, (char)0x80, (char)0x80, (char)0x80,
        (char)0x80);
    const __m512i lut_hi = _mm512_set_epi8(
        (char)0x80, (char)0x80, (char)0x80, (char)0x80, (char)0x80, 0x33, 0x32, 0x31, 0x30, 0x2F,
        0x2E, 0x2D, 0x2C, 0x2B, 0x2A, 0x29, 0x28, 0x27, 0x26, 0x25, 0x24, 0x23, 0x22, 0x21, 0x20,
        0x1F, 0x1E, 0x1D, 0x1C, 0x1B, 0x1A, (char)0x80, (char)0x80, (char)0x80, (char)0x80,
        (char)0x80, (char)0x80, 0x19, 0x18, 0x17, 0x16, 0x15, 0x14, 0x13, 0x12, 0x11, 0x10, 0x0F,
        0x0E, 0x0D, 0x0C, 0x0B, 0x0A, 0x09, 0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, 0x00,
        (char)0x80);
    /* Output byte 3g + r comes from byte 4g + 2 - r of the packed 24-bit groups. */
    const __m512i pack = _mm512_set_epi8(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 60, 61, 62,
                                         56, 57, 58, 52, 53, 54, 48, 49, 50, 44, 45, 46, 40, 41, 42,
                                         36, 37, 38, 32, 33, 34, 28, 29, 30, 24, 25, 26, 20, 21, 22,
                                         16, 17, 18, 12, 13, 14, 8, 9, 10, 4, 5, 6, 0, 1, 2);
    size_t i = 0;
    *invalid = false;
    while (avail - i >= 64) {
        __m512i str = _mm512_loadu_si512((const void *)(p + i));
        __m512i bits = _mm512_permutex2var_epi8(lut_lo, str, lut_hi);
        /* a high bit in either: a non-ASCII byte, or an ASCII one outside the alphabet */
        if (_mm512_movepi8_mask(_mm512_or_si512(bits, str))) {
            *invalid = true;
            break;
        }
        __m512i ab_bc = _mm512_maddubs_epi16(bits, _mm512_set1_epi32(0x01400140));
        __m512i out = _mm512_madd_epi16(ab_bc, _mm512_set1_epi32(0x00011000));
        out = _mm512_permutexvar_epi8(pack, out);
        _mm512_mask_storeu_epi8((void *)o, (__mmask64)0x0000FFFFFFFFFFFFull, out);
        o += 48;
        i += 64;
    }
    return i;
}
#endif

/* The fast decoder: true with *out_len for a valid text; false for anything else (the caller then
 * learns why from decode_slow), with *consumed the characters (whole quads, never the last one)
 * whose bytes were written to out[0 .. *consumed / 4 * 3). out may be in itself: every step reads
 * its characters before it writes their bytes, which land at or before them. */
static bool decode_fast(const char *in, size_t n, uint8_t *out, size_t *out_len, size_t *consumed) {
    *consumed = 0;
    if (n % 4 != 0) return false;
    if (n == 0) {
        *out_len = 0;
        return true;
    }
    const unsigned char *start = (const unsigned char *)in, *p = start;
    const unsigned char *last = p + n - 4;
    uint8_t *o = out;
#if defined(__x86_64__)
    pthread_once(&g_b64_pairs_once, b64_pairs_init);
    if (g_b64_vbmi && n >= 68) {
        bool invalid;
        size_t used = b64_decode_vbmi(p, (size_t)(last - p), o, &invalid);
        SL_ASSERT(used % 4 == 0 && used <= (size_t)(last - p)); /* whole quads, never the last */
        p += used;
        o += used / 4 * 3;
        if (invalid) goto fail;
    }
    if (g_b64_avx2 && (size_t)(last - p) >= 44) {
        bool invalid;
        size_t used = b64_decode_avx2(p, (size_t)(last - p), o, &invalid);
        SL_ASSERT(used % 4 == 0 && used <= (size_t)(last - p)); /* whole quads, never the last */
        p += used;
        o += used / 4 * 3;
        if (invalid) goto fail;
    }
#endif
    for (; p < last; p += 4) {
        uint32_t a = b64_value[p[0]], b = b64_value[p[1]], c = b64_value[p[2]], d = b64_value[p[3]];
        if ((a | b | c | d) & 0x80) goto fail;
        uint32_t v = a << 18 | b << 12 | c << 6 | d;
        o[0] = (uint8_t)(v >> 16);
        o[1] = (uint8_t)(v >> 8);
        o[2] = (uint8_t)v;
        o += 3;
    }
    /* The last quad may carry padding: "xx==" (one byte) or "xxx=" (two bytes). */
    uint32_t a = b64_value[p[0]], b = b64_value[p[1]];
    if ((a | b) & 0x80) goto fail;
    if (p[2] == '=' && p[3] == '=') {
        if (b & 0xF) goto fail;
        *o++ = (uint8_t)(a << 2 | b >> 4);
    } else if (p[3] == '=') {
        uint32_t c = b64_value[p[2]];
        if ((c & 0x80) || (c & 0x3)) goto fail;
        uint32_t v = a << 18 | b << 12 | c << 6;
        o[0] = (uint8_t)(v >> 16);
        o[1] = (uint8_t)(v >> 8);
        o += 2;
    } else {
        uint32_t c = b64_value[p[2]], d = b64_value[p[3]];
        if ((c | d) & 0x80) goto fail;
        uint32_t v = a << 18 | b << 12 | c << 6 | d;
        o[0] = (uint8_t)(v >> 16);
        o[1] = (uint8_t)(v >> 8);
        o[2] = (uint8_t)v;
        o += 3;
    }
    *out_len = (size_t)(o - out);
    SL_ASSERT(*out_len <= n / 4 * 3 && *out_len + 2 >= n / 4 * 3); /* at most 2 bytes of padding */
    return true;
fail:
    *consumed = (size_t)(p - start);
    SL_ASSERT(*consumed % 4 == 0 && (size_t)(o - out) == *consumed / 4 * 3);
    return false;
}

sl_b64_status_t sl_base64_decode(const char *in, size_t n, uint8_t *out, size_t *out_len,
                                 char *bad_char) {
    size_t consumed;
    if (decode_fast(in, n, out, out_len, &consumed)) return SL_B64_OK;
    return decode_slow(in, n, out, out_len, bad_char);
}

void sl_base64_reencode_inplace(char *s, size_t len) {
    pthread_once(&g_b64_pairs_once, b64_pairs_init);
    uint8_t *b = (uint8_t *)s;
    size_t groups = len / 3, rem = len % 3;
    /* Backwards: the characters of group j land at 4j, at or after its bytes at 3j, and each
     * group's bytes are read before its characters are written. */
    if (rem) {
        uint32_t v = (uint32_t)b[groups * 3] << 16;
        if (rem == 2) v |= (uint32_t)b[groups * 3 + 1] << 8;
        char *t = s + groups * 4;
        t[0] = b64_alphabet[v >> 18];
        t[1] = b64_alphabet[(v >> 12) & 63];
        t[2] = rem == 2 ? b64_alphabet[(v >> 6) & 63] : '=';
        t[3] = '=';
    }
    for (size_t j = groups; j-- > 0;) {
        uint32_t v = (uint32_t)b[3 * j] << 16 | (uint32_t)b[3 * j + 1] << 8 | b[3 * j + 2];
        memcpy(s + 4 * j, &g_b64_pairs[v >> 12], 2);
        memcpy(s + 4 * j + 2, &g_b64_pairs[v & 0xfff], 2);
    }
}

bool sl_base64_decode_inplace(char *s, size_t n, size_t *out_len) {
    size_t consumed;
    if (decode_fast(s, n, (uint8_t *)s, out_len, &consumed)) return true;
    sl_base64_reencode_inplace(s, consumed / 4 * 3);
    return false;
}

void sl_base64_reason(sl_buf_t *out, sl_b64_status_t st, const char *in, size_t n) {
    switch (st) {
    case SL_B64_OK:
        return;
    case SL_B64_BAD_LENGTH:
        sl_buf_printf(out, "Base64 encoded length is expected a multiple of 4 bytes but found: %zu",
                      utf16_length(in, n));
        return;
    case SL_B64_BAD_CHAR: {
        size_t i = first_bad_char(in, n);
        size_t len = 1;
        if (i < n) {
            /* Print a multi-byte character whole. */
            while (i + len < n && ((unsigned char)in[i + len] & 0xC0) == 0x80 &&
                   ((unsigned char)in[i] & 0x80))
                len++;
        }
        sl_buf_append_str(out, "Invalid Base64 character: '");
        if (i < n) sl_buf_append(out, in + i, len);
        sl_buf_append_byte(out, '\'');
        return;
    }
    case SL_B64_BAD_LAST:
        sl_buf_append_str(out, "Invalid last non-pad Base64 character dectected");
        return;
    }
}
