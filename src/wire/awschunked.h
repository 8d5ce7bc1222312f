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

#endif
