#include "core/buf.h"

#include "core/common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sl_buf_init(sl_buf_t *b) {
    *b = (sl_buf_t){0};
}

void sl_buf_free(sl_buf_t *b) {
    free(b->data);
    *b = (sl_buf_t){0};
}

void sl_buf_reset(sl_buf_t *b) {
    b->len = 0;
    b->failed = false;
}

char *sl_buf_reserve(sl_buf_t *b, size_t extra) {
    if (b->failed) return NULL;
    if (b->cap - b->len < extra) {
        size_t need = b->len + extra;
        if (need < b->len) {
            b->failed = true;
            return NULL;
        }
        size_t cap = b->cap ? b->cap : 256;
        while (cap < need)
            cap = cap * 2 < cap ? need : cap * 2;
        char *p = realloc(b->data, cap);
        if (!p) {
            b->failed = true;
            return NULL;
        }
        b->data = p;
        b->cap = cap;
    }
    SL_ASSERT(b->len <= b->cap && b->cap - b->len >= extra);
    return b->data + b->len;
}

void sl_buf_append(sl_buf_t *b, const void *data, size_t len) {
    if (len == 0) return;
    char *p = sl_buf_reserve(b, len);
    if (!p) return;
    memcpy(p, data, len);
    b->len += len;
}

void sl_buf_append_str(sl_buf_t *b, const char *s) {
    sl_buf_append(b, s, strlen(s));
}

void sl_buf_append_byte(sl_buf_t *b, uint8_t c) {
    char *p = sl_buf_reserve(b, 1);
    if (!p) return;
    *p = (char)c;
    b->len++;
}

void sl_buf_vprintf(sl_buf_t *b, const char *fmt, va_list ap) {
    va_list ap2;
    va_copy(ap2, ap);
    char *p = sl_buf_reserve(b, 64);
    if (!p) {
        va_end(ap2);
        return;
    }
    int n = vsnprintf(p, b->cap - b->len, fmt, ap);
    if (n < 0) {
        b->failed = true;
        va_end(ap2);
        return;
    }
    if ((size_t)n >= b->cap - b->len) {
        p = sl_buf_reserve(b, (size_t)n + 1);
        if (!p) {
            va_end(ap2);
            return;
        }
        vsnprintf(p, b->cap - b->len, fmt, ap2);
    }
    b->len += (size_t)n;
    SL_ASSERT(b->len < b->cap); /* vsnprintf's NUL fitted */
    va_end(ap2);
}

void sl_buf_printf(sl_buf_t *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    sl_buf_vprintf(b, fmt, ap);
    va_end(ap);
}

char *sl_buf_detach(sl_buf_t *b, size_t *len_out) {
    char *p = b->data;
    if (len_out) *len_out = b->len;
    *b = (sl_buf_t){0};
    return p;
}
