/* A growable byte buffer (heap). Owner: whoever initialised it; release with sl_buf_free.
 * Appends never fail silently: after an allocation failure the buffer is marked failed and
 * sl_buf_failed() reports it, so callers can check once at the end. */
#ifndef SL_CORE_BUF_H
#define SL_CORE_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    char *data;
    size_t len;
    size_t cap;
    bool failed;
} sl_buf_t;

#define SL_BUF_INIT ((sl_buf_t){0})

void sl_buf_init(sl_buf_t *b);
void sl_buf_free(sl_buf_t *b);
void sl_buf_reset(sl_buf_t *b); /* len = 0, keeps capacity */
/* Ensure room for `extra` more bytes; returns a pointer to the free space or NULL on failure. */
char *sl_buf_reserve(sl_buf_t *b, size_t extra);
void sl_buf_append(sl_buf_t *b, const void *data, size_t len);
void sl_buf_append_str(sl_buf_t *b, const char *s);
void sl_buf_append_byte(sl_buf_t *b, uint8_t c);
void sl_buf_printf(sl_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sl_buf_vprintf(sl_buf_t *b, const char *fmt, va_list ap);
static inline bool sl_buf_failed(const sl_buf_t *b) {
    return b->failed;
}
/* Hand the heap block to the caller (who frees it with free()); the buffer becomes empty. */
char *sl_buf_detach(sl_buf_t *b, size_t *len_out);

#endif
