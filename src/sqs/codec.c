/* The primitives of the SQS core's stored encodings (queue metadata, messages): little-endian
 * integers and length-prefixed byte strings. Decoding is bounds-checked: stored bytes are input. */
#include "sqs/internal.h"

#include <stdlib.h>
#include <string.h>

void sl_sqs_put_u64(sl_buf_t *b, uint64_t v) {
    uint8_t x[8];
    for (int i = 0; i < 8; i++)
        x[i] = (uint8_t)(v >> (8 * i));
    sl_buf_append(b, x, sizeof x);
}

void sl_sqs_put_bytes(sl_buf_t *b, const void *p, size_t len) {
    uint8_t x[4];
    for (int i = 0; i < 4; i++)
        x[i] = (uint8_t)((uint32_t)len >> (8 * i));
    sl_buf_append(b, x, sizeof x);
    if (len) sl_buf_append(b, p, len);
}

void sl_sqs_put_str(sl_buf_t *b, const char *s) {
    sl_sqs_put_bytes(b, s ? s : "", s ? strlen(s) : 0);
}

uint64_t sl_sqs_get_u64(sl_sqs_rd_t *r) {
    if (r->bad || r->end - r->p < 8) {
        r->bad = true;
        return 0;
    }
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)r->p[i] << (8 * i);
    r->p += 8;
    return v;
}

const uint8_t *sl_sqs_get_bytes(sl_sqs_rd_t *r, size_t *len) {
    *len = 0;
    if (r->bad || r->end - r->p < 4) {
        r->bad = true;
        return NULL;
    }
    uint32_t n = 0;
    for (int i = 0; i < 4; i++)
        n |= (uint32_t)r->p[i] << (8 * i);
    r->p += 4;
    if ((size_t)(r->end - r->p) < n) {
        r->bad = true;
        return NULL;
    }
    const uint8_t *p = r->p;
    r->p += n;
    *len = n;
    return p;
}

char *sl_sqs_get_str(sl_sqs_rd_t *r) {
    size_t n;
    const uint8_t *p = sl_sqs_get_bytes(r, &n);
    if (!p) return NULL;
    char *s = malloc(n + 1);
    if (!s) {
        r->bad = true;
        return NULL;
    }
    memcpy(s, p, n);
    s[n] = 0;
    return s;
}
