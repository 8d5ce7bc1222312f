/* The streaming response encoder (see enc.h): compact JSON written by hand, CBOR through libcbor's
 * item-header encoders. Both write straight into the caller's sl_buf_t; allocation failures and
 * misuse by a caller (nesting deeper than SL_WIRE_DEPTH_MAX, unbalanced ends) mark the buffer
 * failed rather than crash, so a handler checks sl_buf_failed() once at the end. */
#include "wire/enc.h"

#include "core/common.h"
#include "wire/base64.h"

#include <cbor.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- JSON helpers ---- */

/* 1 for bytes a JSON string must escape: '"', '\\' and control characters. */
static const unsigned char json_escape[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
};

static void json_string(sl_buf_t *b, const char *s, size_t len) {
    /* Worst case every byte becomes \u00XX: reserve once, then write without checks. */
    if (len > (SIZE_MAX - 2) / 6) {
        b->failed = true;
        return;
    }
    char *w = sl_buf_reserve(b, len * 6 + 2);
    if (!w) return;
    char *start = w;
    static const char hex[] = "0123456789abcdef";
    *w++ = '"';
    size_t i = 0;
    while (i < len) {
        size_t run = i;
        while (run < len && !json_escape[(unsigned char)s[run]])
            run++;
        if (run > i) memcpy(w, s + i, run - i);
        w += run - i;
        i = run;
        if (i == len) break;
        unsigned char c = (unsigned char)s[i++];
        *w++ = '\\';
        if (c == '"' || c == '\\') {
            *w++ = (char)c;
        } else {
            *w++ = 'u';
            *w++ = '0';
            *w++ = '0';
            *w++ = hex[c >> 4];
            *w++ = hex[c & 15];
        }
    }
    *w++ = '"';
    b->len += (size_t)(w - start);
}

/* Decimal digits of v, written backwards ending at end; returns the start. */
static char *u64_digits(char *end, uint64_t v) {
    do {
        *--end = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return end;
}

static void json_int(sl_buf_t *b, int64_t v) {
    char tmp[24], *end = tmp + sizeof tmp;
    uint64_t mag = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    char *s = u64_digits(end, mag);
    if (v < 0) *--s = '-';
    sl_buf_append(b, s, (size_t)(end - s));
}

/* Epoch seconds with up to three fraction digits, trailing zeros trimmed, never an exponent. */
static void json_timestamp(sl_buf_t *b, int64_t ms) {
    char tmp[32], *end = tmp + sizeof tmp, *s = end;
    uint64_t mag = ms < 0 ? 0 - (uint64_t)ms : (uint64_t)ms;
    unsigned frac = (unsigned)(mag % 1000);
    if (frac) {
        int digits = 3;
        while (frac % 10 == 0) {
            frac /= 10;
            digits--;
        }
        for (int i = 0; i < digits; i++) {
            *--s = (char)('0' + frac % 10);
            frac /= 10;
        }
        *--s = '.';
    }
    s = u64_digits(s, mag / 1000);
    if (ms < 0) *--s = '-';
    sl_buf_append(b, s, (size_t)(end - s));
}

/* One byte, without a call when the buffer has room (the structural bytes of every response go
 * through here); same effect as sl_buf_append_byte, including on a failed buffer. */
static inline void put_byte(sl_buf_t *b, char c) {
    if (!b->failed && b->len < b->cap)
        b->data[b->len++] = c;
    else
        sl_buf_append_byte(b, (uint8_t)c);
}

/* Commas and the key separator: called before every JSON value. */
static inline void json_before_value(sl_enc_t *e) {
    if (e->after_key) {
        e->after_key = false;
        return;
    }
    if (e->need_comma[e->depth]) put_byte(e->out, ',');
    e->need_comma[e->depth] = true;
}

/* ---- CBOR helpers ---- */

/* Runs a libcbor header encoder into the buffer (every item header fits in 9 bytes). */
#define CBOR_PUT(e, call_with_buf)                                                                 \
    do {                                                                                           \
        unsigned char *_p = (unsigned char *)sl_buf_reserve((e)->out, 9);                          \
        if (_p) {                                                                                  \
            unsigned char *buf = _p;                                                               \
            size_t _n = (call_with_buf);                                                           \
            if (_n == 0) (e)->out->failed = true;                                                  \
            (e)->out->len += _n;                                                                   \
        }                                                                                          \
    } while (0)

static void cbor_int(sl_enc_t *e, int64_t v) {
    if (v >= 0)
        CBOR_PUT(e, cbor_encode_uint((uint64_t)v, buf, 9));
    else
        CBOR_PUT(e, cbor_encode_negint((uint64_t)(-1 - v), buf, 9));
}

/* ---- public API ---- */

void sl_enc_init(sl_enc_t *e, sl_buf_t *out, sl_fmt_t fmt) {
    memset(e, 0, sizeof *e);
    e->out = out;
    e->fmt = fmt;
}

static bool enter(sl_enc_t *e) {
    if (e->depth >= SL_WIRE_DEPTH_MAX) {
        e->out->failed = true; /* caller bug or over-deep tree: refuse, do not crash */
        return false;
    }
    return true;
}

static bool leave(sl_enc_t *e) {
    if (e->depth <= 0) {
        e->out->failed = true;
        return false;
    }
    return true;
}

void sl_enc_map_begin(sl_enc_t *e) {
    if (!enter(e)) return;
    if (e->fmt == SL_FMT_JSON) {
        json_before_value(e);
        put_byte(e->out, '{');
    } else {
        CBOR_PUT(e, cbor_encode_indef_map_start(buf, 9));
    }
    e->depth++;
    e->need_comma[e->depth] = false;
}

void sl_enc_map_end(sl_enc_t *e) {
    if (!leave(e)) return;
    e->depth--;
    e->after_key = false;
    if (e->fmt == SL_FMT_JSON)
        put_byte(e->out, '}');
    else
        CBOR_PUT(e, cbor_encode_break(buf, 9));
}

void sl_enc_array_begin(sl_enc_t *e) {
    if (!enter(e)) return;
    if (e->fmt == SL_FMT_JSON) {
        json_before_value(e);
        put_byte(e->out, '[');
    } else {
        CBOR_PUT(e, cbor_encode_indef_array_start(buf, 9));
    }
    e->depth++;
    e->need_comma[e->depth] = false;
}

void sl_enc_array_end(sl_enc_t *e) {
    if (!leave(e)) return;
    e->depth--;
    e->after_key = false;
    if (e->fmt == SL_FMT_JSON)
        put_byte(e->out, ']');
    else
        CBOR_PUT(e, cbor_encode_break(buf, 9));
}

void sl_enc_key_n(sl_enc_t *e, const char *key, size_t len) {
    if (e->fmt == SL_FMT_JSON) {
        if (e->need_comma[e->depth]) put_byte(e->out, ',');
        e->need_comma[e->depth] = true;
        json_string(e->out, key, len);
        put_byte(e->out, ':');
        e->after_key = true;
    } else {
        CBOR_PUT(e, cbor_encode_string_start(len, buf, 9));
        sl_buf_append(e->out, key, len);
    }
}

void sl_enc_key(sl_enc_t *e, const char *key) {
    sl_enc_key_n(e, key, strlen(key));
}

void sl_enc_str(sl_enc_t *e, const char *s, size_t len) {
    if (e->fmt == SL_FMT_JSON) {
        json_before_value(e);
        json_string(e->out, s, len);
    } else {
        CBOR_PUT(e, cbor_encode_string_start(len, buf, 9));
        sl_buf_append(e->out, s, len);
    }
}

void sl_enc_cstr(sl_enc_t *e, const char *s) {
    sl_enc_str(e, s, strlen(s));
}

void sl_enc_int(sl_enc_t *e, int64_t v) {
    if (e->fmt == SL_FMT_JSON) {
        json_before_value(e);
        json_int(e->out, v);
    } else {
        cbor_int(e, v);
    }
}

void sl_enc_bool(sl_enc_t *e, bool v) {
    if (e->fmt == SL_FMT_JSON) {
        json_before_value(e);
        sl_buf_append_str(e->out, v ? "true" : "false");
    } else {
        CBOR_PUT(e, cbor_encode_bool(v, buf, 9));
    }
}

void sl_enc_null(sl_enc_t *e) {
    if (e->fmt == SL_FMT_JSON) {
        json_before_value(e);
        sl_buf_append_str(e->out, "null");
    } else {
        CBOR_PUT(e, cbor_encode_null(buf, 9));
    }
}

void sl_enc_bytes(sl_enc_t *e, const void *data, size_t len) {
    if (e->fmt == SL_FMT_JSON) {
        json_before_value(e);
        size_t n = sl_base64_encoded_len(len);
        char *w = sl_buf_reserve(e->out, n + 2);
        if (!w) return;
        w[0] = '"';
        sl_base64_encode(data, len, w + 1);
        w[n + 1] = '"';
        e->out->len += n + 2;
    } else {
        CBOR_PUT(e, cbor_encode_bytestring_start(len, buf, 9));
        sl_buf_append(e->out, data, len);
    }
}

void sl_enc_timestamp_ms(sl_enc_t *e, int64_t ms) {
    if (e->fmt == SL_FMT_JSON) {
        json_before_value(e);
        json_timestamp(e->out, ms);
    } else if (e->cbor_seconds) {
        CBOR_PUT(e, cbor_encode_tag(1, buf, 9));
        if (ms % 1000 == 0)
            cbor_int(e, ms / 1000);
        else
            CBOR_PUT(e, cbor_encode_double((double)ms / 1000.0, buf, 9));
    } else {
        CBOR_PUT(e, cbor_encode_tag(1, buf, 9));
        cbor_int(e, ms);
    }
}

void sl_enc_double(sl_enc_t *e, double d) {
    if (e->fmt == SL_FMT_JSON) {
        json_before_value(e);
        if (!isfinite(d)) {
            sl_buf_append_str(e->out, "null"); /* JSON has no NaN or infinity */
            return;
        }
        /* The shortest of 15..17 significant digits that reads back as the same double. */
        char tmp[40];
        int n = 0;
        for (int prec = 15; prec <= 17; prec++) {
            n = snprintf(tmp, sizeof tmp, "%.*g", prec, d);
            if (strtod(tmp, NULL) == d) break;
        }
        sl_buf_append(e->out, tmp, (size_t)n);
    } else {
        CBOR_PUT(e, cbor_encode_double(d, buf, 9));
    }
}

void sl_enc_kv_cstr(sl_enc_t *e, const char *key, const char *s) {
    sl_enc_key(e, key);
    sl_enc_cstr(e, s);
}

void sl_enc_kv_str(sl_enc_t *e, const char *key, const char *s, size_t len) {
    sl_enc_key(e, key);
    sl_enc_str(e, s, len);
}

void sl_enc_kv_int(sl_enc_t *e, const char *key, int64_t v) {
    sl_enc_key(e, key);
    sl_enc_int(e, v);
}

void sl_enc_kv_bool(sl_enc_t *e, const char *key, bool v) {
    sl_enc_key(e, key);
    sl_enc_bool(e, v);
}

#ifndef NDEBUG
/* The sl_enc_kv_plain contract, checked in debug builds. */
static bool plain_ascii(const char *s, size_t len) {
    for (size_t i = 0; i < len; i++)
        if (json_escape[(unsigned char)s[i]] || (unsigned char)s[i] >= 0x80) return false;
    return true;
}
#endif

void sl_enc_kv_plain(sl_enc_t *e, const char *key, size_t key_len, const char *s, size_t len) {
#ifndef NDEBUG
    SL_ASSERT(plain_ascii(key, key_len) && plain_ascii(s, len));
#endif
    if (e->fmt != SL_FMT_JSON) {
        sl_enc_key_n(e, key, key_len);
        sl_enc_str(e, s, len);
        return;
    }
    /* [,]"key":"value" in one reservation; as sl_enc_key_n then sl_enc_str, the member leaves
     * after_key clear and a comma due before the next one. */
    if (key_len > SIZE_MAX / 2 - 6 || len > SIZE_MAX / 2 - 6) {
        e->out->failed = true;
        return;
    }
    char *w = sl_buf_reserve(e->out, key_len + len + 6);
    if (!w) return;
    char *start = w;
    if (e->need_comma[e->depth]) *w++ = ',';
    e->need_comma[e->depth] = true;
    e->after_key = false;
    *w++ = '"';
    memcpy(w, key, key_len);
    w += key_len;
    *w++ = '"';
    *w++ = ':';
    *w++ = '"';
    memcpy(w, s, len);
    w += len;
    *w++ = '"';
    e->out->len += (size_t)(w - start);
}

/* "key":"value" at w; returns the end. */
static char *put_plain_member(char *w, const char *key, size_t key_len, const char *s, size_t len) {
    *w++ = '"';
    memcpy(w, key, key_len);
    w += key_len;
    *w++ = '"';
    *w++ = ':';
    *w++ = '"';
    memcpy(w, s, len);
    w += len;
    *w++ = '"';
    return w;
}

void sl_enc_map_plain2(sl_enc_t *e, const char *key1, size_t key1_len, const char *s1, size_t len1,
                       const char *key2, size_t key2_len, const char *s2, size_t len2) {
    /* the general calls when the map would be refused for its depth (they mark the failure), in
     * CBOR, and for lengths whose sum could wrap */
    if (e->fmt != SL_FMT_JSON || e->depth >= SL_WIRE_DEPTH_MAX || key1_len > SIZE_MAX / 8 ||
        len1 > SIZE_MAX / 8 || key2_len > SIZE_MAX / 8 || len2 > SIZE_MAX / 8) {
        sl_enc_map_begin(e);
        sl_enc_kv_plain(e, key1, key1_len, s1, len1);
        sl_enc_kv_plain(e, key2, key2_len, s2, len2);
        sl_enc_map_end(e);
        return;
    }
#ifndef NDEBUG
    SL_ASSERT(plain_ascii(key1, key1_len) && plain_ascii(s1, len1));
    SL_ASSERT(plain_ascii(key2, key2_len) && plain_ascii(s2, len2));
#endif
    /* [,]{"key1":"s1","key2":"s2"} */
    char *w = sl_buf_reserve(e->out, key1_len + len1 + key2_len + len2 + 15);
    if (!w) return;
    char *start = w;
    /* json_before_value, on the reserved bytes */
    if (e->after_key)
        e->after_key = false;
    else if (e->need_comma[e->depth])
        *w++ = ',';
    else
        e->need_comma[e->depth] = true;
    *w++ = '{';
    w = put_plain_member(w, key1, key1_len, s1, len1);
    *w++ = ',';
    w = put_plain_member(w, key2, key2_len, s2, len2);
    *w++ = '}';
    e->out->len += (size_t)(w - start);
}

static void enc_number(sl_enc_t *e, const sl_val_t *v) {
    /* JSON literals are echoed exactly (big integers and fractions keep every digit). */
    if (e->fmt == SL_FMT_JSON && v->u.num.text && v->u.num.text_len) {
        json_before_value(e);
        sl_buf_append(e->out, v->u.num.text, v->u.num.text_len);
        return;
    }
    /* An integer outside int64 (saturated) is written as a double so no value silently changes;
     * the price is that exactly INT64_MIN/INT64_MAX from CBOR also become doubles. */
    bool fits = v->u.num.is_integer && v->u.num.i != INT64_MAX && v->u.num.i != INT64_MIN;
    if (fits)
        sl_enc_int(e, v->u.num.i);
    else
        sl_enc_double(e, v->u.num.d);
}

void sl_enc_value(sl_enc_t *e, const sl_val_t *v) {
    if (!v) {
        sl_enc_null(e);
        return;
    }
    switch (v->type) {
    case SL_VAL_NULL:
        sl_enc_null(e);
        break;
    case SL_VAL_BOOL:
        sl_enc_bool(e, v->u.b);
        break;
    case SL_VAL_NUMBER:
        enc_number(e, v);
        break;
    case SL_VAL_STRING:
        sl_enc_str(e, v->u.str.ptr, v->u.str.len);
        break;
    case SL_VAL_BYTES:
        sl_enc_bytes(e, v->u.str.ptr, v->u.str.len);
        break;
    case SL_VAL_TIMESTAMP:
        sl_enc_timestamp_ms(e, v->u.ts_ms);
        break;
    case SL_VAL_ARRAY:
        sl_enc_array_begin(e);
        for (size_t i = 0; i < v->u.arr.count && !e->out->failed; i++)
            sl_enc_value(e, v->u.arr.items[i]);
        sl_enc_array_end(e);
        break;
    case SL_VAL_MAP:
        sl_enc_map_begin(e);
        for (size_t i = 0; i < v->u.map.count && !e->out->failed; i++) {
            sl_enc_key_n(e, v->u.map.items[i].key, v->u.map.items[i].key_len);
            sl_enc_value(e, v->u.map.items[i].val);
        }
        sl_enc_map_end(e);
        break;
    default:
        e->out->failed = true;
        break;
    }
}
