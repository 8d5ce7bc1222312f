/* Region allocator: many small allocations freed together. Every request owns one arena that is
 * released when its response is complete (STYLE.md, memory). Not thread-safe: an arena belongs to
 * one request at a time. */
#ifndef SL_CORE_ARENA_H
#define SL_CORE_ARENA_H

#include <stddef.h>

typedef struct sl_arena_chunk sl_arena_chunk_t;

typedef struct {
    sl_arena_chunk_t *head; /* current chunk; older chunks are linked behind it */
    size_t chunk_size;      /* size of new chunks (they grow past SL_ARENA_GROW_AFTER_BYTES) */
    size_t total_bytes;     /* bytes obtained from malloc, for accounting */
} sl_arena_t;

void sl_arena_init(sl_arena_t *a, size_t chunk_size);
void sl_arena_deinit(sl_arena_t *a);
/* Frees every chunk but the first, which is kept for reuse. */
void sl_arena_reset(sl_arena_t *a);
struct sl_arena_chunk {
    sl_arena_chunk_t *next;
    size_t size;
    size_t used; /* a multiple of 16 */
    _Alignas(16) unsigned char data[];
};

/* sl_arena_alloc's way when the current chunk is full: a new chunk. */
void *sl_arena_alloc_chunk(sl_arena_t *a, size_t size);

/* 16-byte aligned allocation; NULL on failure. Inline: most requests' allocations fit the current
 * chunk, and the call with its saved registers cost as much as the allocation. */
static inline void *sl_arena_alloc(sl_arena_t *a, size_t size) {
    sl_arena_chunk_t *c = a->head;
    size_t r = (size + 15) & ~(size_t)15;
    if (c && r >= size && c->size - c->used >= r) {
        void *p = c->data + c->used;
        c->used += r;
        return p;
    }
    return sl_arena_alloc_chunk(a, size);
}
void *sl_arena_calloc(sl_arena_t *a, size_t count, size_t size);
/* Copies `len` bytes and appends a NUL. */
char *sl_arena_strndup(sl_arena_t *a, const char *s, size_t len);
char *sl_arena_sprintf(sl_arena_t *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
