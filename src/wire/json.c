/* Strict RFC 8259 JSON decoder into the sl_val_t tree (see json.h). This is the PutRecords hot
 * path, so it is one forward pass over the body with table-driven character classes and an
 * 8-bytes-at-a-time scan inside strings. Strings are decoded in place: unescaping never makes a
 * string longer, so the decoded bytes are written over the escaped ones and a NUL over the
 * closing quote (or earlier); the parser never looks back at bytes it has passed, so nothing else
 * needs them. Decisions: invalid UTF-8 and lone surrogate escapes are rejected (AWS's Jackson
 * parser rejects them too, and our JSON encoder passes strings through unchanged); "\u0000" is
 * accepted and yields a NUL inside the string (its length stays correct). */
#include "wire/json.h"

#include "core/common.h"
#include "core/limits.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__x86_64__)
#include <immintrin.h>
#define JSON_HAVE_WIDE 1
#endif

/* Children of the containers being parsed wait on one scratch stack and are copied into the
 * arena when their container closes, so arrays and maps get exactly-sized item arrays. */
typedef struct {
    char *p;   /* cursor */
    char *end; /* data + len; *end is NUL */
    sl_arena_t *arena;
    const char *reason;
    sl_val_t **vals; /* scratch stack of array items */
    size_t vals_len, vals_cap;
    sl_kv_t *kvs; /* scratch stack of map members */
    size_t kvs_len, kvs_cap;
    int depth;
    size_t values;   /* bounded by SL_WIRE_VALUES_MAX */
    sl_val_t *spare; /* values taken from the arena in blocks, not yet handed out */
    size_t spare_len;
    size_t block_len; /* size of the next block: 8, doubling up to SL_JSON_VALUE_BLOCK_MAX */
} json_parser_t;

/* Values are carved from arena blocks (a PutRecords body has 1,500 of them); blocks grow
 * geometrically up to SL_JSON_VALUE_BLOCK_MAX values, so at most about half of the last one goes
 * unused. */

/* Character class inside strings: 0 = plain byte, 1 = needs a closer look (quote, backslash,
 * control character, non-ASCII byte). */
static const unsigned char str_special[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
};

static inline bool is_ws(unsigned char c) {
    return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

static inline void skip_ws(json_parser_t *j) {
    char *p = j->p;
    /* Compact bodies have no whitespace: one comparison settles the common case. */
    while ((unsigned char)*p <= ' ' && is_ws((unsigned char)*p))
        p++; /* the NUL after the body stops the loop */
    j->p = p;
}

static int fail(json_parser_t *j, const char *reason) {
    if (!j->reason) j->reason = reason;
    return SL_EINVAL;
}

static sl_val_t *new_val(json_parser_t *j, sl_val_type_t type) {
    if (++j->values > SL_WIRE_VALUES_MAX) return NULL;
    if (j->spare_len == 0) {
        size_t n = j->block_len ? j->block_len : 8;
        j->spare = sl_arena_alloc(j->arena, n * sizeof *j->spare);
        if (!j->spare) return NULL;
        j->spare_len = n;
        j->block_len = n < SL_JSON_VALUE_BLOCK_MAX ? n * 2 : SL_JSON_VALUE_BLOCK_MAX;
    }
    sl_val_t *v = j->spare++;
    j->spare_len--;
    v->type = type;
    return v;
}

/* Value of a hex digit, or -1. */
static inline int hex_digit(unsigned char c) {
    if (c >= '0' && c <= '9') return c - '0';
    c |= 0x20;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* Four hex digits at p (all readable); returns the UTF-16 code unit or -1. */
static inline int read_hex4(const char *p) {
    int v = 0;
    for (int i = 0; i < 4; i++) {
        int d = hex_digit((unsigned char)p[i]);
        if (d < 0) return -1;
        v = (v << 4) | d;
    }
    return v;
}

/* Length of the valid UTF-8 sequence starting at p (first byte >= 0x80), or 0 if invalid.
 * Reading past `end` is safe because *end is NUL, which is never a continuation byte. */
static inline size_t utf8_seq_len(const unsigned char *p) {
    unsigned char c = p[0];
    if (c >= 0xC2 && c <= 0xDF) return (p[1] & 0xC0) == 0x80 ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        unsigned char lo = 0x80, hi = 0xBF;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F; /* no UTF-16 surrogates */
        if (p[1] < lo || p[1] > hi) return 0;
        return (p[2] & 0xC0) == 0x80 ? 3 : 0;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        unsigned char lo = 0x80, hi = 0xBF;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
        if (p[1] < lo || p[1] > hi) return 0;
        if ((p[2] & 0xC0) != 0x80) return 0;
        return (p[3] & 0xC0) == 0x80 ? 4 : 0;
    }
    return 0;
}

static inline char *put_utf8(char *w, uint32_t cp) {
    if (cp < 0x80) {
        *w++ = (char)cp;
    } else if (cp < 0x800) {
        *w++ = (char)(0xC0 | (cp >> 6));
        *w++ = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        *w++ = (char)(0xE0 | (cp >> 12));
        *w++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *w++ = (char)(0x80 | (cp & 0x3F));
    } else {
        *w++ = (char)(0xF0 | (cp >> 18));
        *w++ = (char)(0x80 | ((cp >> 12) & 0x3F));
        *w++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *w++ = (char)(0x80 | (cp & 0x3F));
    }
    return w;
}

/* True when any of the 8 bytes of x is '"', '\\', < 0x20 or >= 0x80 (classic SWAR tests). */
static inline bool swar_special(uint64_t x) {
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    uint64_t q = x ^ (ones * '"'), b = x ^ (ones * '\\');
    uint64_t zero_q = (q - ones) & ~q, zero_b = (b - ones) & ~b;
    uint64_t lt20 = (x - ones * 0x20) & ~x;
    return ((zero_q | zero_b | lt20) & highs) != 0 || (x & highs) != 0;
}

#ifdef JSON_HAVE_WIDE
/* The CPU has AVX-512BW (set once, by the first sl_json_parse). */
static int g_json_wide;
static pthread_once_t g_json_once = PTHREAD_ONCE_INIT;

static void json_cpu_init(void) {
    __builtin_cpu_init();
    g_json_wide = __builtin_cpu_supports("avx512bw");
}

/* skip_plain's scan 64 bytes per step, for long strings (the base64 text of a 10 KiB record is
 * 13,656 bytes): returns the first byte str_special marks, or the point where fewer than 64 bytes
 * are left before end. No load reaches past end. */
__attribute__((target("avx512f,avx512bw"), noinline)) static char *
skip_plain_wide(char *r, const char *end) {
    const __m512i quote = _mm512_set1_epi8('"'), backslash = _mm512_set1_epi8('\\'),
                  space = _mm512_set1_epi8(0x20);
    while (end - r >= 64) {
        __m512i x = _mm512_loadu_si512((const void *)r);
        /* signed compare, as in skip_plain: bytes >= 0x80 count as below 0x20 */
        __mmask64 special = _mm512_cmpeq_epi8_mask(x, quote) |
                            _mm512_cmpeq_epi8_mask(x, backslash) | _mm512_cmplt_epi8_mask(x, space);
        if (special) return r + __builtin_ctzll(special);
        r += 64;
    }
    return r;
}
#endif

/* The first byte at or after r that str_special marks (the NUL at *end stops the scan). Sixteen
 * bytes per step with SSE2 (baseline on x86-64: base64 blobs of PutRecords are the bulk of its
 * body), then eight with the SWAR test, then one; no load reaches past end. A string still plain
 * after its first 16 bytes continues 64 bytes per step with AVX-512BW where the CPU has it. */
static inline char *skip_plain(char *r, const char *end) {
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\'),
                  space = _mm_set1_epi8(0x20);
    while (end - r >= 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)r);
        /* Signed compare: bytes >= 0x80 are negative, so "< 0x20" also catches non-ASCII. */
        __m128i special =
            _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, backslash)),
                         _mm_cmplt_epi8(x, space));
        unsigned mask = (unsigned)_mm_movemask_epi8(special);
        if (mask) return r + __builtin_ctz(mask);
        r += 16;
#ifdef JSON_HAVE_WIDE
        /* past the 16 bytes a short string fits in; the wide scan leaves r at a marked byte or
         * with under 64 bytes to go, where this loop finishes */
        if (g_json_wide && end - r >= 64) r = skip_plain_wide(r, end);
#endif
    }
#endif
    while (end - r >= 8) {
        uint64_t x;
        memcpy(&x, r, 8);
        if (swar_special(x)) break;
        r += 8;
    }
    while (!str_special[(unsigned char)*r])
        r++;
    return r;
}

void sl_json_scan_init(void) {
#ifdef JSON_HAVE_WIDE
    pthread_once(&g_json_once, json_cpu_init);
#endif
}

char *sl_json_skip_plain(char *p, const char *end) {
    return skip_plain(p, end);
}

/* parse_string from r, the first byte of the string (which starts at `start`) that is not plain:
 * a closing quote, non-ASCII text, an escape or an error. Kept out of line so that the common case
 * (plain ASCII, parse_string below) inlines into its callers. */
static __attribute__((noinline)) int parse_string_rest(json_parser_t *j, char *start, char *r,
                                                       char **out, size_t *len_out) {
    char *end = j->end;
    /* Fast scan: plain bytes need no copying until the first escape. */
    for (;; r = skip_plain(r, end)) {
        unsigned char c = (unsigned char)*r;
        if (c == '"') {
            *r = '\0';
            *out = start;
            *len_out = (size_t)(r - start);
            j->p = r + 1;
            return 0;
        }
        if (c == '\\') break;
        if (c >= 0x80) {
            size_t n = utf8_seq_len((const unsigned char *)r);
            if (n == 0 || r + n > end) return fail(j, "invalid UTF-8 in string");
            r += n;
            continue;
        }
        if (r >= end) return fail(j, "unterminated string");
        return fail(j, "control character in string");
    }
    /* Slow path: unescape in place; the write cursor never passes the read cursor. */
    char *w = r;
    for (;;) {
        unsigned char c = (unsigned char)*r;
        if (!str_special[c]) {
            *w++ = (char)c;
            r++;
            continue;
        }
        if (c == '"') break;
        if (c == '\\') {
            char e = r[1];
            r += 2;
            switch (e) {
            case '"':
                *w++ = '"';
                break;
            case '\\':
                *w++ = '\\';
                break;
            case '/':
                *w++ = '/';
                break;
            case 'b':
                *w++ = '\b';
                break;
            case 'f':
                *w++ = '\f';
                break;
            case 'n':
                *w++ = '\n';
                break;
            case 'r':
                *w++ = '\r';
                break;
            case 't':
                *w++ = '\t';
                break;
            case 'u': {
                if (end - r < 4) return fail(j, "invalid \\u escape");
                int cu = read_hex4(r);
                if (cu < 0) return fail(j, "invalid \\u escape");
                r += 4;
                uint32_t cp = (uint32_t)cu;
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    if (end - r < 6 || r[0] != '\\' || r[1] != 'u')
                        return fail(j, "unpaired UTF-16 surrogate escape");
                    int lo = read_hex4(r + 2);
                    if (lo < 0xDC00 || lo > 0xDFFF)
                        return fail(j, "unpaired UTF-16 surrogate escape");
                    r += 6;
                    cp = 0x10000 + ((cp - 0xD800) << 10) + ((uint32_t)lo - 0xDC00);
                } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                    return fail(j, "unpaired UTF-16 surrogate escape");
                }
                w = put_utf8(w, cp);
                break;
            }
            default:
                if (r - 1 >= end) return fail(j, "unterminated string");
                return fail(j, "invalid escape in string");
            }
            continue;
        }
        if (c >= 0x80) {
            size_t n = utf8_seq_len((const unsigned char *)r);
            if (n == 0 || r + n > end) return fail(j, "invalid UTF-8 in string");
            memmove(w, r, n);
            w += n;
            r += n;
            continue;
        }
        if (r >= end) return fail(j, "unterminated string");
        return fail(j, "control character in string");
    }
    *w = '\0';
    *out = start;
    *len_out = (size_t)(w - start);
    j->p = r + 1;
    return 0;
}

/* Parses the string whose opening quote is at j->p. On success *out points to the decoded,
 * NUL-terminated string inside the body. */
static inline int parse_string(json_parser_t *j, char **out, size_t *len_out) {
    char *start = j->p + 1;
    char *r = skip_plain(start, j->end);
    if (*r != '"') return parse_string_rest(j, start, r, out, len_out);
    *r = '\0';
    *out = start;
    *len_out = (size_t)(r - start);
    j->p = r + 1;
    return 0;
}

static inline int64_t saturate_i64(double d) {
    if (d != d) return 0;
    if (d >= 9223372036854775808.0) return INT64_MAX;
    if (d <= -9223372036854775808.0) return INT64_MIN;
    return (int64_t)d; /* C conversion truncates toward zero */
}

static int parse_number(json_parser_t *j, sl_val_t *v) {
    char *s = j->p, *p = s;
    bool neg = false;
    if (*p == '-') {
        neg = true;
        p++;
    }
    uint64_t mag = 0;
    bool overflow = false;
    if (*p == '0') {
        p++;
    } else if (*p >= '1' && *p <= '9') {
        while (*p >= '0' && *p <= '9') {
            unsigned dgt = (unsigned)(*p - '0');
            if (mag > (UINT64_MAX - dgt) / 10)
                overflow = true;
            else
                mag = mag * 10 + dgt;
            p++;
        }
    } else {
        return fail(j, "invalid number");
    }
    bool integer = true;
    if (*p == '.') {
        integer = false;
        p++;
        if (!(*p >= '0' && *p <= '9')) return fail(j, "invalid number");
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if (*p == 'e' || *p == 'E') {
        integer = false;
        p++;
        if (*p == '+' || *p == '-') p++;
        if (!(*p >= '0' && *p <= '9')) return fail(j, "invalid number");
        while (*p >= '0' && *p <= '9')
            p++;
    }
    v->type = SL_VAL_NUMBER;
    v->u.num.text = s;
    v->u.num.text_len = (size_t)(p - s);
    v->u.num.is_integer = integer;
    if (integer && !overflow && mag <= (1ull << 53)) {
        /* Exact in a double: no strtod needed (the common case). */
        v->u.num.d = neg ? -(double)mag : (double)mag;
        v->u.num.i = neg ? -(int64_t)mag : (int64_t)mag;
    } else if (integer && !overflow && mag <= (uint64_t)INT64_MAX + (neg ? 1u : 0u)) {
        v->u.num.d = strtod(s, NULL);
        v->u.num.i = neg ? (int64_t)(0 - mag) : (int64_t)mag;
    } else if (integer) {
        v->u.num.d = strtod(s, NULL);
        v->u.num.i = neg ? INT64_MIN : INT64_MAX;
    } else {
        /* The grammar was checked above and the literal is followed by a non-number byte, so
         * strtod reads exactly the literal. */
        v->u.num.d = strtod(s, NULL);
        v->u.num.i = saturate_i64(v->u.num.d);
    }
    j->p = p;
    return 0;
}

static int push_val(json_parser_t *j, sl_val_t *v) {
    if (j->vals_len == j->vals_cap) {
        size_t cap = j->vals_cap ? j->vals_cap * 2 : 64;
        sl_val_t **n = realloc(j->vals, cap * sizeof *n);
        if (!n) return fail(j, "out of memory");
        j->vals = n;
        j->vals_cap = cap;
    }
    j->vals[j->vals_len++] = v;
    return 0;
}

static int push_kv(json_parser_t *j, const char *key, size_t key_len, sl_val_t *v) {
    if (j->kvs_len == j->kvs_cap) {
        size_t cap = j->kvs_cap ? j->kvs_cap * 2 : 64;
        sl_kv_t *n = realloc(j->kvs, cap * sizeof *n);
        if (!n) return fail(j, "out of memory");
        j->kvs = n;
        j->kvs_cap = cap;
    }
    j->kvs[j->kvs_len++] = (sl_kv_t){key, key_len, v};
    return 0;
}

static int parse_value(json_parser_t *j, sl_val_t **out);

static int parse_array(json_parser_t *j, sl_val_t *v) {
    size_t base = j->vals_len;
    j->p++; /* '[' */
    skip_ws(j);
    if (*j->p == ']') {
        j->p++;
    } else {
        for (;;) {
            sl_val_t *item;
            if (parse_value(j, &item) != 0) return SL_EINVAL;
            if (push_val(j, item) != 0) return SL_EINVAL;
            skip_ws(j);
            char c = *j->p;
            if (c == ',') {
                j->p++;
                skip_ws(j);
                continue;
            }
            if (c == ']') {
                j->p++;
                break;
            }
            return fail(j, j->p >= j->end ? "unexpected end of input in array"
                                          : "expected ',' or ']' in array");
        }
    }
    size_t n = j->vals_len - base;
    v->type = SL_VAL_ARRAY;
    v->u.arr.count = n;
    v->u.arr.items = NULL;
    if (n) {
        v->u.arr.items = sl_arena_alloc(j->arena, n * sizeof(sl_val_t *));
        if (!v->u.arr.items) return fail(j, "out of memory");
        memcpy(v->u.arr.items, j->vals + base, n * sizeof(sl_val_t *));
    }
    j->vals_len = base;
    return 0;
}

static int parse_object(json_parser_t *j, sl_val_t *v) {
    size_t base = j->kvs_len;
    j->p++; /* '{' */
    skip_ws(j);
    if (*j->p == '}') {
        j->p++;
    } else {
        for (;;) {
            if (*j->p != '"')
                return fail(j, j->p >= j->end ? "unexpected end of input in object"
                                              : "expected string key in object");
            char *key;
            size_t key_len;
            if (parse_string(j, &key, &key_len) != 0) return SL_EINVAL;
            skip_ws(j);
            if (*j->p != ':') return fail(j, "expected ':' after object key");
            j->p++;
            skip_ws(j);
            sl_val_t *item;
            if (parse_value(j, &item) != 0) return SL_EINVAL;
            if (push_kv(j, key, key_len, item) != 0) return SL_EINVAL;
            skip_ws(j);
            char c = *j->p;
            if (c == ',') {
                j->p++;
                skip_ws(j);
                continue;
            }
            if (c == '}') {
                j->p++;
                break;
            }
            return fail(j, j->p >= j->end ? "unexpected end of input in object"
                                          : "expected ',' or '}' in object");
        }
    }
    size_t n = j->kvs_len - base;
    v->type = SL_VAL_MAP;
    v->u.map.count = n;
    v->u.map.items = NULL;
    if (n) {
        v->u.map.items = sl_arena_alloc(j->arena, n * sizeof(sl_kv_t));
        if (!v->u.map.items) return fail(j, "out of memory");
        memcpy(v->u.map.items, j->kvs + base, n * sizeof(sl_kv_t));
    }
    j->kvs_len = base;
    return 0;
}

static inline bool match_lit(const char *p, const char *lit, size_t n) {
    return memcmp(p, lit, n) == 0;
}

/* Parses one value at j->p (whitespace already skipped). */
static int parse_value(json_parser_t *j, sl_val_t **out) {
    sl_val_t *v = new_val(j, SL_VAL_NULL);
    if (!v) return fail(j, j->values > SL_WIRE_VALUES_MAX ? "too many values" : "out of memory");
    *out = v;
    char c = *j->p;
    size_t left = (size_t)(j->end - j->p);
    switch (c) {
    case '"': {
        char *s;
        size_t n;
        if (parse_string(j, &s, &n) != 0) return SL_EINVAL;
        v->type = SL_VAL_STRING;
        v->u.str.ptr = s;
        v->u.str.len = n;
        return 0;
    }
    case '{':
    case '[': {
        if (j->depth >= SL_WIRE_DEPTH_MAX) return fail(j, "nesting too deep");
        j->depth++;
        int rc = c == '{' ? parse_object(j, v) : parse_array(j, v);
        j->depth--;
        return rc;
    }
    case 't':
        if (left >= 4 && match_lit(j->p, "true", 4)) {
            v->type = SL_VAL_BOOL;
            v->u.b = true;
            j->p += 4;
            return 0;
        }
        return fail(j, "invalid literal");
    case 'f':
        if (left >= 5 && match_lit(j->p, "false", 5)) {
            v->type = SL_VAL_BOOL;
            v->u.b = false;
            j->p += 5;
            return 0;
        }
        return fail(j, "invalid literal");
    case 'n':
        if (left >= 4 && match_lit(j->p, "null", 4)) {
            j->p += 4;
            return 0;
        }
        return fail(j, "invalid literal");
    default:
        if (c == '-' || (c >= '0' && c <= '9')) return parse_number(j, v);
        if (j->p >= j->end) return fail(j, "unexpected end of input");
        return fail(j, "unexpected character");
    }
}

int sl_json_parse(char *data, size_t len, sl_arena_t *arena, sl_val_t **out, const char **reason) {
    SL_ASSERT(data && arena && out);
    SL_ASSERT(data[len] == '\0');
#ifdef JSON_HAVE_WIDE
    pthread_once(&g_json_once, json_cpu_init);
#endif
    json_parser_t j = {.p = data, .end = data + len, .arena = arena};
    const char *dummy;
    if (!reason) reason = &dummy;
    *out = NULL;
    *reason = NULL;
    /* A NUL inside the body would end the scan early and look like the end of input. */
    int rc = SL_EINVAL;
    skip_ws(&j);
    if (j.p >= j.end) {
        fail(&j, "empty document");
        goto done;
    }
    sl_val_t *root;
    if (parse_value(&j, &root) != 0) goto done;
    skip_ws(&j);
    if (j.p != j.end) {
        fail(&j, "trailing characters after the document");
        goto done;
    }
    *out = root;
    rc = 0;
done:
    free(j.vals);
    free(j.kvs);
    if (rc != 0) {
        *reason = j.reason ? j.reason : "invalid JSON";
        if (strcmp(*reason, "out of memory") == 0) rc = SL_ENOMEM;
    }
    /* A document or a reason, never both. */
    SL_ASSERT(rc == 0 ? *out && !*reason : !*out && *reason);
    return rc;
}
