/* Output queue of one connection: bytes waiting to be written, in order, as a ring of segments.
 * Small writes are copied into shared copy segments; large response bodies are queued by pointer
 * (ownership taken, freed with free() once written) so they are never copied before writev. */
#ifndef SL_NET_OUTQ_H
#define SL_NET_OUTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/uio.h>

typedef struct {
    char *data;
    size_t len; /* bytes filled */
    size_t off; /* bytes already written */
    size_t cap; /* allocation size; 0 for an owned (non-appendable) block */
} sl_outq_seg_t;

typedef struct {
    sl_outq_seg_t *segs; /* ring */
    size_t head, count, cap;
    size_t bytes; /* unsent bytes in total */
    char *spare;  /* one recycled copy segment buffer */
    size_t spare_cap;
} sl_outq_t;

void sl_outq_init(sl_outq_t *q);
/* Frees everything still queued. */
void sl_outq_deinit(sl_outq_t *q);
/* Appends a copy of data. Returns 0 or SL_ENOMEM. */
int sl_outq_copy(sl_outq_t *q, const void *data, size_t len);
/* Appends a malloc'd block by pointer; the queue owns it from now on, even on failure (then it is
 * freed and SL_ENOMEM returned). Small blocks are copied instead and freed at once. */
int sl_outq_own(sl_outq_t *q, void *data, size_t len);
/* Fills up to max iovecs with the unsent bytes in order; returns how many. */
size_t sl_outq_iov(const sl_outq_t *q, struct iovec *iov, size_t max);
/* Marks n bytes as written, releasing finished segments. */
void sl_outq_consume(sl_outq_t *q, size_t n);
/* Releases cached memory (the spare buffer; the ring when empty), e.g. for idle connections. */
void sl_outq_trim(sl_outq_t *q);
static inline size_t sl_outq_bytes(const sl_outq_t *q) {
    return q->bytes;
}

#endif
