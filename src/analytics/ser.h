/* Little-endian encoding of the engine's saved state (checkpoints, analytics/engine.h): fixed
 * width integers (core/bin.h) and doubles, and length-prefixed bytes. Readers check every length
 * against the end of the input and report bad input with false; the input is a file, never trusted.
 */
#ifndef SL_ANALYTICS_SER_H
#define SL_ANALYTICS_SER_H

#include "core/bin.h"
#include "core/buf.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

static inline void an_put_u64(sl_buf_t *b, uint64_t v) {
    sl_bin_put_u64(b, v);
}

static inline void an_put_f64(sl_buf_t *b, double d) {
    uint64_t v;
    memcpy(&v, &d, sizeof v);
    an_put_u64(b, v);
}

static inline void an_put_bytes(sl_buf_t *b, const void *p, size_t n) {
    an_put_u64(b, n);
    sl_buf_append(b, p, n);
}

static inline bool an_get_u64(const uint8_t **p, const uint8_t *end, uint64_t *v) {
    if (end - *p < 8) return false;
    *v = sl_le64_get(*p);
    *p += 8;
    return true;
}

static inline bool an_get_i64(const uint8_t **p, const uint8_t *end, int64_t *v) {
    uint64_t x;
    if (!an_get_u64(p, end, &x)) return false;
    *v = (int64_t)x;
    return true;
}

static inline bool an_get_f64(const uint8_t **p, const uint8_t *end, double *d) {
    uint64_t x;
    if (!an_get_u64(p, end, &x)) return false;
    memcpy(d, &x, sizeof *d);
    return true;
}

/* A count of items of at least `min_bytes` each: bounded by what is left of the input. */
static inline bool an_get_count(const uint8_t **p, const uint8_t *end, size_t min_bytes,
                                size_t *n) {
    uint64_t x;
    if (!an_get_u64(p, end, &x)) return false;
    if (min_bytes && x > (uint64_t)(end - *p) / min_bytes) return false;
    *n = (size_t)x;
    return true;
}

/* Bytes: points into the input (valid while it is). */
static inline bool an_get_bytes(const uint8_t **p, const uint8_t *end, const uint8_t **data,
                                size_t *n) {
    if (!an_get_count(p, end, 1, n)) return false;
    if ((size_t)(end - *p) < *n) return false;
    *data = *p;
    *p += *n;
    return true;
}

#endif
