/* Fuzz target: the aws-chunked decoders. Any input decodes or fails cleanly with a reason;
 * decoding in place gives the same bytes as decoding into another buffer; the output is never
 * longer than the input; and the incremental decoder, fed the same input in pieces (split points
 * drawn from the input itself), accepts exactly what the whole-body decoder accepts and gives the
 * same data, also when each piece's data is moved to the piece's start as it comes (the front's
 * in-place decoding of streamed S3 bodies, front/restbody.c). */
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

/* In-place decoding: the data of the piece being fed moves toward its start (memmove), then is
 * appended to `all`; the data handed out must never lie before what was already written. */
typedef struct {
    uint8_t *piece, *all;
    size_t piece_len, written, all_len;
} inplace_t;

static int inplace_data(void *ctx, const uint8_t *data, size_t len) {
    inplace_t *s = ctx;
    if (data < s->piece + s->written || data + len > s->piece + s->piece_len) abort();
    memmove(s->piece + s->written, data, len);
    s->written += len;
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

    /* the same pieces, decoded in place in a writable copy of each */
    uint8_t *piece_buf = malloc(size + 1), *all = malloc(size + 1);
    if (!piece_buf || !all) abort();
    inplace_t ip = {piece_buf, all, 0, 0, 0};
    sl_awschunked_stream_cbs_t icbs = {NULL, inplace_data, NULL, NULL, &ip};
    sl_awschunked_stream_init(&st);
    int rc4 = 0;
    const char *r4 = NULL;
    x = x * 2654435761u + 1u;
    for (size_t pos = 0; pos < size && rc4 == 0;) {
        x = x * 1103515245u + 12345u;
        size_t piece = 1 + (x >> 8) % (x & 1 ? 13 : 8191);
        if (piece > size - pos) piece = size - pos;
        memcpy(piece_buf, data + pos, piece);
        ip.piece_len = piece;
        ip.written = 0;
        rc4 = sl_awschunked_stream_feed(&st, piece_buf, piece, &icbs, &r4);
        memcpy(all + ip.all_len, piece_buf, ip.written);
        ip.all_len += ip.written;
        pos += piece;
    }
    if (rc4 == 0) rc4 = sl_awschunked_stream_finish(&st, &r4);
    if ((rc4 == 0) != (rc1 == 0)) abort();
    if (rc4 == 0 && (ip.all_len != n1 || memcmp(all, out, n1) != 0)) abort();
    free(piece_buf);
    free(all);
    free(copy);
    free(out);
    free(streamed);
    return 0;
}
