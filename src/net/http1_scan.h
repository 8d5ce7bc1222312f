/* Block scans of the HTTP/1.1 request head (http1_parser.c): 16 bytes at a time, each giving a
 * bit mask of the bytes that are a given character, a control character of a field value, or
 * (after lower-casing) a character of a common header name. With SSE2 (every x86-64) each is a
 * handful of vector instructions; elsewhere a byte loop gives the same masks. The byte loops are
 * also compiled on every machine as the _bytes versions, which the unit test compares with the
 * others (tests/unit/net/test_http1_scan.c). Every function reads all 16 bytes of its block: the
 * caller makes sure they are readable. Internal to the net layer. */
#ifndef SL_NET_HTTP1_SCAN_H
#define SL_NET_HTTP1_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define SL_H1_BLOCK 16

/* The bits of the first n positions of a block (n <= 16). */
static inline unsigned sl_h1_first_bits(size_t n) {
    return n >= SL_H1_BLOCK ? 0xffffu : (1u << n) - 1;
}

/* Bit i set when p[i] == c. */
static inline unsigned sl_h1_eq_mask_bytes(const char *p, char c) {
    unsigned m = 0;
    for (unsigned i = 0; i < SL_H1_BLOCK; i++)
        m |= (unsigned)(p[i] == c) << i;
    return m;
}

/* Bit i set when p[i] may not appear in a field value (RFC 9110 section 5.5): a control
 * character other than HTAB, or DEL. */
static inline unsigned sl_h1_ctl_mask_bytes(const char *p) {
    unsigned m = 0;
    for (unsigned i = 0; i < SL_H1_BLOCK; i++) {
        unsigned char c = (unsigned char)p[i];
        m |= (unsigned)((c < 0x20 && c != '\t') || c == 0x7f) << i;
    }
    return m;
}

/* Lower-cases the ASCII letters among the first `upto` bytes of the block in place (upto <= 16;
 * the others are left as they are) and returns the mask of the bytes that are then a lower-case
 * letter, a digit or '-' (the characters of the usual header names; the rest of the token
 * characters are left to the byte-wise check). */
static inline unsigned sl_h1_name_block_bytes(char *p, unsigned upto) {
    unsigned m = 0;
    for (unsigned i = 0; i < SL_H1_BLOCK; i++) {
        char c = p[i];
        if (i < upto && c >= 'A' && c <= 'Z') p[i] = c = (char)(c - 'A' + 'a');
        m |= (unsigned)((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-') << i;
    }
    return m;
}

#if defined(__SSE2__)

static inline unsigned sl_h1_eq_mask(const char *p, char c) {
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
    return (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(c)));
}

static inline unsigned sl_h1_ctl_mask(const char *p) {
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
    /* (unsigned) v <= 0x1f exactly when min(v, 0x1f) == v */
    __m128i ctl = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)), v);
    __m128i tab = _mm_cmpeq_epi8(v, _mm_set1_epi8('\t'));
    __m128i del = _mm_cmpeq_epi8(v, _mm_set1_epi8(0x7f));
    return (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_andnot_si128(tab, ctl), del));
}

/* (signed byte compares: bytes >= 0x80 are negative, outside every range tested here) */
static inline __m128i sl_h1_in_range(__m128i v, char lo, char hi) {
    return _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8((char)(lo - 1))),
                         _mm_cmplt_epi8(v, _mm_set1_epi8((char)(hi + 1))));
}

static inline unsigned sl_h1_name_block(char *p, unsigned upto) {
    const __m128i idx = _mm_setr_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
    __m128i keep = _mm_cmplt_epi8(idx, _mm_set1_epi8((char)upto));
    __m128i up = _mm_and_si128(sl_h1_in_range(v, 'A', 'Z'), keep);
    v = _mm_add_epi8(v, _mm_and_si128(up, _mm_set1_epi8(0x20)));
    _mm_storeu_si128((__m128i *)(void *)p, v);
    __m128i ok =
        _mm_or_si128(_mm_or_si128(sl_h1_in_range(v, 'a', 'z'), sl_h1_in_range(v, '0', '9')),
                     _mm_cmpeq_epi8(v, _mm_set1_epi8('-')));
    return (unsigned)_mm_movemask_epi8(ok);
}

#else

static inline unsigned sl_h1_eq_mask(const char *p, char c) {
    return sl_h1_eq_mask_bytes(p, c);
}
static inline unsigned sl_h1_ctl_mask(const char *p) {
    return sl_h1_ctl_mask_bytes(p);
}
static inline unsigned sl_h1_name_block(char *p, unsigned upto) {
    return sl_h1_name_block_bytes(p, upto);
}

#endif

#endif
