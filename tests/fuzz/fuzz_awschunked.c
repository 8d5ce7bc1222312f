/* Fuzz target: the aws-chunked decoders. Any input decodes or fails cleanly with a reason;
 * decoding in place gives the same bytes as decoding into another buffer; the output is never
 * longer than the input; and the incremental decoder, fed the same input in pieces (split points
 * drawn from the input itself), accepts exactly what the whole-body decoder accepts and gives the
 * same data. */
#include "wire/awschunked.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    uint8_t *out;
    size_t len, cap;
    int open; /* chunks begun and not ended */
} sink_t;

static int on_chunk(void *ctx, const char *sig, size_t sig_len, uint64_t size) {
    sink_t *s = ctx;
    (void)sig, (void)sig_len, (void)size;
    if (s->open) abort(); /* one chunk at a time */
    s->open++;
    return 0;
}

static int on_data(void *ctx, const uint8_t *data, size_t len) {
    sink_t *s = ctx;
    if (!s->open || s->len + len > s->cap) abort();
    memcpy(s->out + s->len, data, len);
    s->len += len;
    return 0;
}

static int on_chunk_end(void *ctx) {
    sink_t *s = ctx;
    if (!s->open) abort();
    s->open--;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t *copy = malloc(size + 1), *out = malloc(size + 1), *streamed = malloc(size + 1);
    if (!copy || !out || !streamed) abort();
    memcpy(copy, data, size);
    size_t n1 = 0, n2 = 0;
    const char *r1 = NULL, *r2 = NULL;
    int rc1 = sl_awschunked_decode(data, size, out, &n1, NULL, &r1);
    int rc2 = sl_awschunked_decode(copy, size, copy, &n2, NULL, &r2);
    if (rc1 != rc2 || (rc1 != 0 && (!r1 || !r2))) abort();
    if (rc1 == 0 && (n1 != n2 || n1 > size || memcmp(out, copy, n1) != 0)) abort();

    sink_t sink = {streamed, 0, size + 1, 0};
    sl_awschunked_stream_cbs_t cbs = {on_chunk, on_data, on_chunk_end, NULL, &sink};
    sl_awschunked_stream_t st;
    sl_awschunked_stream_init(&st);
    uint32_t x = 2166136261u;
    for (size_t i = 0; i < size && i < 16; i++)
        x = (x ^ data[i]) * 16777619u;
    int rc3 = 0;
    const char *r3 = NULL;
    for (size_t pos = 0; pos < size && rc3 == 0;) {
        x = x * 1103515245u + 12345u;
        size_t piece = 1 + (x >> 8) % (x & 1 ? 7 : 4099);
        if (piece > size - pos) piece = size - pos;
        rc3 = sl_awschunked_stream_feed(&st, data + pos, piece, &cbs, &r3);
        pos += piece;
    }
    if (rc3 == 0) rc3 = sl_awschunked_stream_finish(&st, &r3);
    if ((rc3 == 0) != (rc1 == 0) || (rc3 != 0 && !r3)) abort();
    if (rc3 == 0 && (sink.len != n1 || memcmp(streamed, out, n1) != 0 || sink.open)) abort();
    free(copy);
    free(out);
    free(streamed);
    return 0;
}
