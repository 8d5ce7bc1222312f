/* Streaming response encoder with two back ends: compact JSON (awsJson1.1) and CBOR. Handlers
 * write their output once through this interface and get the request's content type for free.
 *   JSON: blobs as base64, timestamps as plain-decimal epoch seconds with up to 3 fraction digits
 *         (never exponent notation), compact (no spaces).
 *   CBOR: (libcbor encoders) maps/arrays indefinite-length, blobs as byte strings, timestamps as
 *         tag 1 + unsigned integer milliseconds.
 * JSON strings: '"', '\\' and control characters escaped (\u00XX for controls), UTF-8 passed
 * through. JSON timestamps: 1716000000 when ms % 1000 == 0, else 1716000000.123 / .12 / .1
 * (trailing zeros trimmed). sl_enc_value echoes JSON number literals verbatim in JSON output.
 * Errors (allocation) are sticky in the underlying sl_buf_t. Nesting is bounded by
 * SL_WIRE_DEPTH_MAX; deeper nesting or unbalanced ends also mark the buffer failed (no crash). */
#ifndef SL_WIRE_ENC_H
#define SL_WIRE_ENC_H

#include "core/buf.h"
#include "core/limits.h"
#include "wire/value.h"

typedef struct {
    sl_buf_t *out;
    sl_fmt_t fmt;
    int depth;
    bool need_comma[SL_WIRE_DEPTH_MAX + 1]; /* JSON: an element was written at this depth */
    bool after_key;                         /* JSON: a key was just written */
    /* CBOR timestamps as Smithy RPC v2 CBOR writes them: tag 1 + epoch seconds (an integer when
     * whole, else float64), not milliseconds. Set by the caller after sl_enc_init. */
    bool cbor_seconds;
} sl_enc_t;

void sl_enc_init(sl_enc_t *e, sl_buf_t *out, sl_fmt_t fmt);
void sl_enc_map_begin(sl_enc_t *e);
void sl_enc_map_end(sl_enc_t *e);
void sl_enc_array_begin(sl_enc_t *e);
void sl_enc_array_end(sl_enc_t *e);
void sl_enc_key(sl_enc_t *e, const char *key);               /* next value belongs to this key */
void sl_enc_key_n(sl_enc_t *e, const char *key, size_t len); /* same, key not NUL-terminated */
void sl_enc_str(sl_enc_t *e, const char *s, size_t len);
void sl_enc_cstr(sl_enc_t *e, const char *s);
void sl_enc_int(sl_enc_t *e, int64_t v);
void sl_enc_bool(sl_enc_t *e, bool v);
void sl_enc_null(sl_enc_t *e);
void sl_enc_bytes(sl_enc_t *e, const void *data, size_t len);
void sl_enc_timestamp_ms(sl_enc_t *e, int64_t ms);
/* A non-integer number: JSON shortest round-trip form ("%.17g" at most; null for NaN/infinity),
 * CBOR float64. Not for timestamps (use sl_enc_timestamp_ms). */
void sl_enc_double(sl_enc_t *e, double d);
/* Shorthands: key + value. */
void sl_enc_kv_cstr(sl_enc_t *e, const char *key, const char *s);
void sl_enc_kv_str(sl_enc_t *e, const char *key, const char *s, size_t len);
void sl_enc_kv_int(sl_enc_t *e, const char *key, int64_t v);
void sl_enc_kv_bool(sl_enc_t *e, const char *key, bool v);
/* Key + string value that need no JSON escaping: the caller guarantees both hold only printable
 * ASCII other than '"' and '\\' (sequence numbers, shard ids, fixed names). They are copied with
 * the given lengths and no per-byte scan; the output is byte-for-byte that of sl_enc_kv_str.
 * SL_ENC_KV_PLAIN takes the key as a string literal. */
void sl_enc_kv_plain(sl_enc_t *e, const char *key, size_t key_len, const char *s, size_t len);
#define SL_ENC_KV_PLAIN(e, key_literal, s, len)                                                    \
    sl_enc_kv_plain((e), "" key_literal, sizeof(key_literal) - 1, (s), (len))

/* A map of two such plain members, byte-for-byte what sl_enc_map_begin, two sl_enc_kv_plain and
 * sl_enc_map_end write; in JSON one reservation and no per-call state changes (PutRecords writes
 * one of these per record). SL_ENC_MAP_PLAIN2 takes the keys as string literals. */
void sl_enc_map_plain2(sl_enc_t *e, const char *key1, size_t key1_len, const char *s1, size_t len1,
                       const char *key2, size_t key2_len, const char *s2, size_t len2);
#define SL_ENC_MAP_PLAIN2(e, key1_literal, s1, len1, key2_literal, s2, len2)                       \
    sl_enc_map_plain2((e), "" key1_literal, sizeof(key1_literal) - 1, (s1), (len1),                \
                      "" key2_literal, sizeof(key2_literal) - 1, (s2), (len2))

/* Encode a whole sl_val_t tree (used for tests and generic pass-through). */
void sl_enc_value(sl_enc_t *e, const sl_val_t *v);

#endif
