#include "core/arena.h"

#include "core/common.h"
#include "core/limits.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sl_arena_init(sl_arena_t *a, size_t chunk_size) {
    a->head = NULL;
    SL_ASSERT(a);
    a->chunk_size = chunk_size ? chunk_size : SL_ARENA_CHUNK_BYTES_DEFAULT;
    a->total_bytes = 0;
}

void sl_arena_deinit(sl_arena_t *a) {
    sl_arena_chunk_t *c = a->head;
    while (c) {
        sl_arena_chunk_t *n = c->next;
        free(c);
        c = n;
    }
    a->head = NULL;
    a->total_bytes = 0;
}

void sl_arena_reset(sl_arena_t *a) {
    if (!a->head) return;
    sl_arena_chunk_t *c = a->head;
    if (c->next && a->total_bytes <= SL_ARENA_GROW_AFTER_BYTES) {
        /* A small arena that needed several chunks becomes one chunk as large as all of them, so
         * that the next use of the same size (a pooled request's next request) allocates nothing
         * instead of a chunk every time. */
        size_t cs = a->total_bytes - sizeof *c;
        sl_arena_chunk_t *one = malloc(sizeof *one + cs);
        if (one) {
            sl_arena_deinit(a);
            one->next = NULL;
            one->size = cs;
            one->used = 0;
            a->head = one;
            a->total_bytes = sizeof *one + cs;
            return;
        }
    }
    /* keep the oldest chunk (the last in the list), free the rest */
    while (c->next) {
        sl_arena_chunk_t *n = c->next;
        a->total_bytes -= sizeof *c + c->size;
        free(c);
        c = n;
    }
    c->used = 0;
    a->head = c;
    /* Only the kept chunk is still counted. */
    SL_ASSERT(a->total_bytes == sizeof *c + c->size);
}

void *sl_arena_alloc_chunk(sl_arena_t *a, size_t size) {
    if (size > SIZE_MAX / 2) return NULL; /* rounding and the chunk header must not wrap */
    size = (size + 15) & ~(size_t)15;
    sl_arena_chunk_t *c = a->head;
    if (!c || c->size - c->used < size) {
        size_t next = a->chunk_size;
        if (a->total_bytes >= SL_ARENA_GROW_AFTER_BYTES)
            next = SL_MAX(next, SL_MIN(a->total_bytes, (size_t)SL_ARENA_CHUNK_BYTES_MAX));
        size_t cs = size > next ? size : next;
        c = malloc(sizeof *c + cs);
        if (!c) return NULL;
        c->size = cs;
        c->used = 0;
        if (a->head && size > next) {
            /* big allocation: link it behind the current chunk so the head keeps its free space */
            c->next = a->head->next;
            a->head->next = c;
            a->total_bytes += sizeof *c + cs;
            c->used = size;
            return c->data;
        }
        c->next = a->head;
        a->head = c;
        a->total_bytes += sizeof *c + cs;
    }
    void *p = c->data + c->used;
    c->used += size;
    SL_ASSERT(c->used <= c->size && ((uintptr_t)p & 15) == 0);
    return p;
}

void *sl_arena_calloc(sl_arena_t *a, size_t count, size_t size) {
    if (size && count > SIZE_MAX / size) return NULL;
    void *p = sl_arena_alloc(a, count * size);
    if (p) memset(p, 0, count * size);
    return p;
}

char *sl_arena_strndup(sl_arena_t *a, const char *s, size_t len) {
    char *p = sl_arena_alloc(a, len + 1);
    if (!p) return NULL;
    if (len) memcpy(p, s, len);
    p[len] = 0;
    return p;
}

char *sl_arena_sprintf(sl_arena_t *a, const char *fmt, ...) {
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        va_end(ap2);
        return NULL;
    }
    char *p = sl_arena_alloc(a, (size_t)n + 1);
    if (p) vsnprintf(p, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    return p;
}
