/* Output queue (see outq.h). Copy segments are 16 KiB or larger; one finished copy buffer is kept
 * for reuse so a keep-alive connection does not malloc per response. */
#include "net/outq.h"

#include "core/common.h"
#include "core/limits.h"

#include <stdlib.h>
#include <string.h>

void sl_outq_init(sl_outq_t *q) {
    memset(q, 0, sizeof *q);
}

void sl_outq_deinit(sl_outq_t *q) {
    for (size_t i = 0; i < q->count; i++)
        free(q->segs[(q->head + i) % q->cap].data);
    free(q->segs);
    free(q->spare);
    memset(q, 0, sizeof *q);
}

static sl_outq_seg_t *tail_seg(sl_outq_t *q) {
    return q->count ? &q->segs[(q->head + q->count - 1) % q->cap] : NULL;
}

static sl_outq_seg_t *push_seg(sl_outq_t *q) {
    if (q->count == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 8;
        sl_outq_seg_t *s = malloc(cap * sizeof *s);
        if (!s) return NULL;
        for (size_t i = 0; i < q->count; i++)
            s[i] = q->segs[(q->head + i) % q->cap];
        free(q->segs);
        q->segs = s;
        q->cap = cap;
        q->head = 0;
    }
    sl_outq_seg_t *seg = &q->segs[(q->head + q->count) % q->cap];
    q->count++;
    memset(seg, 0, sizeof *seg);
    return seg;
}

int sl_outq_copy(sl_outq_t *q, const void *data, size_t len) {
    if (len == 0) return 0;
    sl_outq_seg_t *t = tail_seg(q);
    if (!t || t->cap == 0 || t->cap - t->len < len) {
        size_t cap = len > SL_OUTQ_COPY_SEGMENT_BYTES ? len : SL_OUTQ_COPY_SEGMENT_BYTES;
        char *buf;
        if (q->spare && q->spare_cap >= cap) {
            buf = q->spare;
            cap = q->spare_cap;
            q->spare = NULL;
            q->spare_cap = 0;
        } else {
            buf = malloc(cap);
            if (!buf) return SL_ENOMEM;
        }
        t = push_seg(q);
        if (!t) {
            free(buf);
            return SL_ENOMEM;
        }
        t->data = buf;
        t->cap = cap;
    }
    memcpy(t->data + t->len, data, len);
    t->len += len;
    q->bytes += len;
    return 0;
}

int sl_outq_own(sl_outq_t *q, void *data, size_t len) {
    if (len <= SL_OUTQ_OWN_COPY_BYTES_MAX) {
        int rc = sl_outq_copy(q, data, len);
        free(data);
        return rc;
    }
    sl_outq_seg_t *t = push_seg(q);
    if (!t) {
        free(data);
        return SL_ENOMEM;
    }
    t->data = data;
    t->len = len;
    q->bytes += len;
    return 0;
}

size_t sl_outq_iov(const sl_outq_t *q, struct iovec *iov, size_t max) {
    size_t n = 0;
    for (size_t i = 0; i < q->count && n < max; i++) {
        const sl_outq_seg_t *s = &q->segs[(q->head + i) % q->cap];
        if (s->len == s->off) continue;
        iov[n].iov_base = s->data + s->off;
        iov[n].iov_len = s->len - s->off;
        n++;
    }
    return n;
}

void sl_outq_consume(sl_outq_t *q, size_t n) {
    SL_ASSERT(n <= q->bytes);
    q->bytes -= n;
    while (q->count > 0) {
        sl_outq_seg_t *s = &q->segs[q->head];
        size_t avail = s->len - s->off;
        if (n < avail) {
            s->off += n;
            return;
        }
        n -= avail;
        if (s->cap && !q->spare) {
            q->spare = s->data;
            q->spare_cap = s->cap;
        } else {
            free(s->data);
        }
        q->head = (q->head + 1) % q->cap;
        q->count--;
        if (n == 0 && q->count == 0) return;
    }
}

void sl_outq_trim(sl_outq_t *q) {
    free(q->spare);
    q->spare = NULL;
    q->spare_cap = 0;
    if (q->count == 0) {
        free(q->segs);
        q->segs = NULL;
        q->cap = q->head = 0;
    }
}
