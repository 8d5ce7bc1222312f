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
/* 16-byte aligned allocation; NULL on failure. */
void *sl_arena_alloc(sl_arena_t *a, size_t size);
void *sl_arena_calloc(sl_arena_t *a, size_t count, size_t size);
/* Copies `len` bytes and appends a NUL. */
char *sl_arena_strndup(sl_arena_t *a, const char *s, size_t len);
char *sl_arena_sprintf(sl_arena_t *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
