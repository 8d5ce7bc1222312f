/* Little-endian binary encoding of saved state (catalog settings, on-disk headers): fixed-width
 * integers on raw bytes, and on top of them a writer that appends to an sl_buf_t and a reader
 * that checks every length against the end of its input. The reader's `bad` flag is sticky: after
 * the first short or oversized field every get returns 0 / NULL, so a caller checks once at the
 * end. Saved state is a file, never trusted. */
#ifndef SL_CORE_BIN_H
#define SL_CORE_BIN_H

#include "core/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

static inline void sl_le32_put(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}
static inline void sl_le64_put(uint8_t *p, uint64_t v) {
    sl_le32_put(p, (uint32_t)v);
    sl_le32_put(p + 4, (uint32_t)(v >> 32));
}
static inline uint32_t sl_le32_get(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t sl_le64_get(const uint8_t *p) {
    return (uint64_t)sl_le32_get(p) | (uint64_t)sl_le32_get(p + 4) << 32;
}

/* ---- writer: appends to b (an allocation failure marks b failed, see core/buf.h) ---- */
void sl_bin_put_u16(sl_buf_t *b, uint16_t v);
void sl_bin_put_u32(sl_buf_t *b, uint32_t v);
void sl_bin_put_u64(sl_buf_t *b, uint64_t v);
/* A u32 length, then the bytes of s (no NUL). */
void sl_bin_put_str(sl_buf_t *b, const char *s);

/* ---- reader ---- */
typedef struct {
    const uint8_t *p, *end;
    bool bad;
} sl_bin_in_t;

static inline sl_bin_in_t sl_bin_in(const void *data, size_t len) {
    return (sl_bin_in_t){.p = data, .end = (const uint8_t *)data + len, .bad = false};
}
/* The next n bytes (a pointer into the input), or NULL (and bad) when fewer are left. */
const uint8_t *sl_bin_get(sl_bin_in_t *in, size_t n);
uint32_t sl_bin_get_u32(sl_bin_in_t *in);
uint64_t sl_bin_get_u64(sl_bin_in_t *in);
/* A string written by sl_bin_put_str of at most `max` bytes: a pointer into the input and its
 * length (not NUL-terminated), or NULL (and bad) when it is longer or cut short. */
const char *sl_bin_get_str(sl_bin_in_t *in, size_t max, size_t *len);
/* The same, copied NUL-terminated into dst (at most cap - 1 bytes; dst is "" when bad). */
bool sl_bin_get_str_into(sl_bin_in_t *in, char *dst, size_t cap);
/* The same, malloc'd (NULL when bad or out of memory, which also marks the input bad). */
char *sl_bin_get_str_dup(sl_bin_in_t *in, size_t max);

#endif
