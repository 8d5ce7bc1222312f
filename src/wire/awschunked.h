/* S3's aws-chunked payload encoding (Content-Encoding: aws-chunked, x-amz-content-sha256
 * STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER] or STREAMING-UNSIGNED-PAYLOAD-TRAILER): the body
 * is a series of chunks "<hex size>[;chunk-signature=<64 hex>]\r\n<data>\r\n", ended by a chunk
 * of size 0, optionally followed by trailer lines "<name>:<value>\r\n" (the checksum and, for
 * signed trailers, x-amz-trailer-signature) and an empty line.
 *
 * The decoder gives the data bytes and, for each chunk, its signature to a callback: verifying
 * the chain of chunk signatures (each signs the previous one and the chunk's SHA-256) is the
 * SigV4 verifier's work, which plugs in there; without a callback the signatures are only checked
 * for their form. Trailers go to their own callback. Pure logic on bytes; no allocation. */
#ifndef SL_WIRE_AWSCHUNKED_H
#define SL_WIRE_AWSCHUNKED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The longest header or trailer line (with its CRLF): SL_HTTP_CHUNK_LINE_BYTES_MAX (limits.h);
 * checked there by a static assertion. */
#define SL_AWSCHUNKED_LINE_BYTES 4096

typedef struct {
    /* A chunk (the last one has len 0); signature NULL when the chunk carries none. Return
     * nonzero to stop decoding (the decoder then fails with reason "chunk refused"). */
    int (*on_chunk)(void *ctx, const char *signature, size_t signature_len, const uint8_t *data,
                    size_t len);
    /* A trailer line, name and value trimmed (not NUL-terminated). Nonzero stops as above. */
    int (*on_trailer)(void *ctx, const char *name, size_t name_len, const char *value,
                      size_t value_len);
    void *ctx;
} sl_awschunked_cbs_t;

/* Decodes in[0..len) into out (which may be `in` itself: the data only moves toward the start),
 * setting *out_len. cbs may be NULL. Returns 0, or SL_EINVAL with *reason a static text
 * (malformed framing, a chunk longer than the input, missing final chunk, data after the end). */
int sl_awschunked_decode(const uint8_t *in, size_t len, uint8_t *out, size_t *out_len,
                         const sl_awschunked_cbs_t *cbs, const char **reason);

/* Incremental decoding of the same format, for a body consumed as it arrives (a streamed request
 * body): the input comes in pieces of any size and the data bytes go to on_data as they come, so
 * no chunk is buffered whole (only a header or trailer line, at most SL_HTTP_CHUNK_LINE_BYTES_MAX
 * bytes). A chunk's signature comes with on_chunk before its data, and on_chunk_end follows its
 * last byte, so a verifier hashes the data on the way. Accepts exactly what
 * sl_awschunked_decode accepts (the fuzz target checks it), and gives the same data. */
typedef struct {
    /* A chunk begins: `size` data bytes follow (0: the last chunk); signature NULL when none.
     * signature is valid during the call only. */
    int (*on_chunk)(void *ctx, const char *signature, size_t signature_len, uint64_t size);
    int (*on_data)(void *ctx, const uint8_t *data, size_t len);
    int (*on_chunk_end)(void *ctx); /* the chunk's data is complete (also the last, empty one) */
    int (*on_trailer)(void *ctx, const char *name, size_t name_len, const char *value,
                      size_t value_len);
    void *ctx;
} sl_awschunked_stream_cbs_t;

/* The decoder's state (caller's storage; about 4 KiB). */
typedef struct {
    int state;
    uint8_t line[SL_AWSCHUNKED_LINE_BYTES];
    size_t line_len;
    uint64_t left;    /* data bytes of the current chunk still to come */
    uint64_t decoded; /* data bytes given to on_data so far */
    const char *reason;
} sl_awschunked_stream_t;

void sl_awschunked_stream_init(sl_awschunked_stream_t *st);
/* Decodes the next piece of the body. Returns 0, or SL_EINVAL with *reason (static) once the body
 * is malformed or a callback returned nonzero ("chunk refused"); after a failure every call fails
 * the same way. cbs may be NULL (the form is checked, nothing is given). */
int sl_awschunked_stream_feed(sl_awschunked_stream_t *st, const uint8_t *in, size_t len,
                              const sl_awschunked_stream_cbs_t *cbs, const char **reason);
/* The body ended: 0 when it was complete (the last chunk and its trailers), else SL_EINVAL. */
int sl_awschunked_stream_finish(sl_awschunked_stream_t *st, const char **reason);

#endif
