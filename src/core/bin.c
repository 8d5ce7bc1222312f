/* Little-endian binary encoding of saved state (core/bin.h). */
#include "core/bin.h"

#include <stdlib.h>
#include <string.h>

void sl_bin_put_u16(sl_buf_t *b, uint16_t v) {
    uint8_t x[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    sl_buf_append(b, x, sizeof x);
}

void sl_bin_put_u32(sl_buf_t *b, uint32_t v) {
    uint8_t x[4];
    sl_le32_put(x, v);
    sl_buf_append(b, x, sizeof x);
}

void sl_bin_put_u64(sl_buf_t *b, uint64_t v) {
    uint8_t x[8];
    sl_le64_put(x, v);
    sl_buf_append(b, x, sizeof x);
}

void sl_bin_put_str(sl_buf_t *b, const char *s) {
    size_t n = strlen(s);
    sl_bin_put_u32(b, (uint32_t)n);
    sl_buf_append(b, s, n);
}

const uint8_t *sl_bin_get(sl_bin_in_t *in, size_t n) {
    if (in->bad || (size_t)(in->end - in->p) < n) {
        in->bad = true;
        return NULL;
    }
    const uint8_t *p = in->p;
    in->p += n;
    return p;
}

uint32_t sl_bin_get_u32(sl_bin_in_t *in) {
    const uint8_t *p = sl_bin_get(in, 4);
    return p ? sl_le32_get(p) : 0;
}

uint64_t sl_bin_get_u64(sl_bin_in_t *in) {
    const uint8_t *p = sl_bin_get(in, 8);
    return p ? sl_le64_get(p) : 0;
}

const char *sl_bin_get_str(sl_bin_in_t *in, size_t max, size_t *len) {
    uint32_t n = sl_bin_get_u32(in);
    if (n > max) in->bad = true;
    const uint8_t *p = sl_bin_get(in, n);
    *len = p ? n : 0;
    return (const char *)p;
}

bool sl_bin_get_str_into(sl_bin_in_t *in, char *dst, size_t cap) {
    size_t n;
    const char *s = sl_bin_get_str(in, cap - 1, &n);
    if (!s) {
        dst[0] = '\0';
        return false;
    }
    memcpy(dst, s, n);
    dst[n] = '\0';
    return true;
}

char *sl_bin_get_str_dup(sl_bin_in_t *in, size_t max) {
    size_t n;
    const char *s = sl_bin_get_str(in, max, &n);
    char *d = s ? malloc(n + 1) : NULL;
    if (!d) {
        in->bad = true;
        return NULL;
    }
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}
