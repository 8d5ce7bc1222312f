/* aws-chunked payload decoding (see awschunked.h). */
#include "wire/awschunked.h"

#include "core/common.h"
#include "core/limits.h"

#include <string.h>

/* The line starting at in[pos] (without its CRLF) and the position after it, or false. */
static bool next_line(const uint8_t *in, size_t len, size_t pos, size_t *line_len, size_t *after) {
    size_t max = SL_MIN(len - pos, (size_t)SL_HTTP_CHUNK_LINE_BYTES_MAX);
    const uint8_t *nl = memchr(in + pos, '\n', max);
    if (!nl || nl == in + pos || nl[-1] != '\r') return false;
    *line_len = (size_t)(nl - (in + pos)) - 1;
    *after = (size_t)(nl - in) + 1;
    return true;
}

static int hexval(uint8_t c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static bool is_space(uint8_t c) {
    return c == ' ' || c == '\t';
}

/* Trailer lines after the last chunk, up to the empty line or the end of the input. */
static int decode_trailers(const uint8_t *in, size_t len, size_t pos,
                           const sl_awschunked_cbs_t *cbs, const char **reason) {
    while (pos < len) {
        size_t n, after;
        if (!next_line(in, len, pos, &n, &after)) {
            *reason = "malformed trailer";
            return SL_EINVAL;
        }
        if (n == 0) {
            if (after != len) {
                *reason = "data after the end of the chunked body";
                return SL_EINVAL;
            }
            return 0;
        }
        const char *line = (const char *)in + pos;
        const char *colon = memchr(line, ':', n);
        if (!colon || colon == line) {
            *reason = "malformed trailer";
            return SL_EINVAL;
        }
        size_t name_len = (size_t)(colon - line);
        const char *v = colon + 1, *ve = line + n;
        while (v < ve && is_space((uint8_t)*v))
            v++;
        while (ve > v && is_space((uint8_t)ve[-1]))
            ve--;
        if (cbs && cbs->on_trailer &&
            cbs->on_trailer(cbs->ctx, line, name_len, v, (size_t)(ve - v)) != 0) {
            *reason = "chunk refused";
            return SL_EINVAL;
        }
        pos = after;
    }
    return 0;
}

int sl_awschunked_decode(const uint8_t *in, size_t len, uint8_t *out, size_t *out_len,
                         const sl_awschunked_cbs_t *cbs, const char **reason) {
    size_t pos = 0, written = 0;
    *out_len = 0;
    *reason = NULL;
    for (;;) {
        size_t n, after;
        if (pos >= len || !next_line(in, len, pos, &n, &after)) {
            *reason = pos >= len ? "missing final chunk" : "malformed chunk header";
            return SL_EINVAL;
        }
        const uint8_t *line = in + pos;
        size_t i = 0;
        uint64_t size = 0;
        for (; i < n && hexval(line[i]) >= 0; i++) {
            if (i >= SL_HTTP_CHUNK_SIZE_DIGITS_MAX) {
                *reason = "chunk size too large";
                return SL_EINVAL;
            }
            size = size * 16 + (uint64_t)hexval(line[i]);
        }
        if (i == 0) {
            *reason = "malformed chunk header";
            return SL_EINVAL;
        }
        const char *sig = NULL;
        size_t sig_len = 0;
        if (i < n) {
            static const char ext[] = ";chunk-signature=";
            size_t ext_len = sizeof ext - 1;
            if (n - i <= ext_len || memcmp(line + i, ext, ext_len) != 0) {
                *reason = "malformed chunk extension";
                return SL_EINVAL;
            }
            sig = (const char *)line + i + ext_len;
            sig_len = n - i - ext_len;
            for (size_t k = 0; k < sig_len; k++) {
                if (hexval((uint8_t)sig[k]) < 0) {
                    *reason = "malformed chunk signature";
                    return SL_EINVAL;
                }
            }
        }
        pos = after;
        if (size > len - pos) {
            *reason = "chunk longer than the body";
            return SL_EINVAL;
        }
        const uint8_t *data = in + pos;
        /* decoding in place moves the data over the chunk's header line: the signature the
         * callback gets is a copy (next_line bounds the line) */
        char sig_copy[SL_HTTP_CHUNK_LINE_BYTES_MAX];
        if (sig) {
            memcpy(sig_copy, sig, sig_len);
            sig = sig_copy;
        }
        if (size > 0) {
            memmove(out + written, data, (size_t)size);
            data = out + written;
        }
        if (cbs && cbs->on_chunk && cbs->on_chunk(cbs->ctx, sig, sig_len, data, (size_t)size)) {
            *reason = "chunk refused";
            return SL_EINVAL;
        }
        written += (size_t)size;
        pos += (size_t)size;
        if (size == 0) {
            int rc = decode_trailers(in, len, pos, cbs, reason);
            if (rc == 0) *out_len = written;
            return rc;
        }
        if (len - pos < 2 || in[pos] != '\r' || in[pos + 1] != '\n') {
            *reason = "chunk data not followed by CRLF";
            return SL_EINVAL;
        }
        pos += 2;
    }
}
