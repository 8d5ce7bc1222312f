/* aws-chunked payload decoding (see awschunked.h). */
#include "wire/awschunked.h"

#include "core/common.h"
#include "core/limits.h"

#include <string.h>

_Static_assert(SL_AWSCHUNKED_LINE_BYTES == SL_HTTP_CHUNK_LINE_BYTES_MAX,
               "the streaming decoder's line buffer holds the longest line");

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

/* One non-empty trailer line "<name>:<value>" (without its CRLF) to its callback. */
static int trailer_line(const char *line, size_t n, const sl_awschunked_cbs_t *cbs,
                        const char **reason) {
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
    return 0;
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
        if (trailer_line((const char *)in + pos, n, cbs, reason) != 0) return SL_EINVAL;
        pos = after;
    }
    return 0;
}

/* A chunk header line (without its CRLF): the hex size and the optional signature. */
static int parse_header(const uint8_t *line, size_t n, uint64_t *size, const char **sig,
                        size_t *sig_len, const char **reason) {
    size_t i = 0;
    *size = 0;
    *sig = NULL;
    *sig_len = 0;
    for (; i < n && hexval(line[i]) >= 0; i++) {
        if (i >= SL_HTTP_CHUNK_SIZE_DIGITS_MAX) {
            *reason = "chunk size too large";
            return SL_EINVAL;
        }
        *size = *size * 16 + (uint64_t)hexval(line[i]);
    }
    if (i == 0) {
        *reason = "malformed chunk header";
        return SL_EINVAL;
    }
    if (i < n) {
        static const char ext[] = ";chunk-signature=";
        size_t ext_len = sizeof ext - 1;
        if (n - i <= ext_len || memcmp(line + i, ext, ext_len) != 0) {
            *reason = "malformed chunk extension";
            return SL_EINVAL;
        }
        *sig = (const char *)line + i + ext_len;
        *sig_len = n - i - ext_len;
        for (size_t k = 0; k < *sig_len; k++) {
            if (hexval((uint8_t)(*sig)[k]) < 0) {
                *reason = "malformed chunk signature";
                return SL_EINVAL;
            }
        }
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
        uint64_t size;
        const char *sig;
        size_t sig_len;
        if (parse_header(in + pos, n, &size, &sig, &sig_len, reason) != 0) return SL_EINVAL;
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

/* ---- incremental decoding ---- */

enum { ST_HEADER, ST_DATA, ST_DATA_CR, ST_DATA_LF, ST_TRAILER, ST_DONE, ST_FAILED };

void sl_awschunked_stream_init(sl_awschunked_stream_t *st) {
    st->state = ST_HEADER;
    st->line_len = 0;
    st->left = 0;
    st->decoded = 0;
    st->reason = NULL;
}

static int stream_fail(sl_awschunked_stream_t *st, const char *why, const char **reason) {
    st->state = ST_FAILED;
    st->reason = why;
    *reason = why;
    return SL_EINVAL;
}

/* Adds bytes of a line from in[*pos..len); true with *n (its length without CRLF) once the line
 * is complete, the same lines next_line accepts; *bad when it cannot be one. */
static bool line_take(sl_awschunked_stream_t *st, const uint8_t *in, size_t len, size_t *pos,
                      size_t *n, bool *bad) {
    *bad = false;
    size_t room = SL_AWSCHUNKED_LINE_BYTES - st->line_len;
    size_t avail = SL_MIN(len - *pos, room);
    const uint8_t *nl = memchr(in + *pos, '\n', avail);
    size_t take = nl ? (size_t)(nl - (in + *pos)) + 1 : avail;
    memcpy(st->line + st->line_len, in + *pos, take);
    st->line_len += take;
    *pos += take;
    if (!nl) {
        *bad = st->line_len == SL_AWSCHUNKED_LINE_BYTES; /* no LF within the bound */
        return false;
    }
    size_t k = st->line_len - 1; /* the LF's index */
    if (k == 0 || st->line[k - 1] != '\r') {
        *bad = true;
        return false;
    }
    *n = k - 1;
    st->line_len = 0;
    return true;
}

int sl_awschunked_stream_feed(sl_awschunked_stream_t *st, const uint8_t *in, size_t len,
                              const sl_awschunked_stream_cbs_t *cbs, const char **reason) {
    *reason = NULL;
    if (st->state == ST_FAILED) {
        *reason = st->reason;
        return SL_EINVAL;
    }
    size_t pos = 0;
    while (pos < len) {
        size_t n = 0;
        bool bad = false;
        switch (st->state) {
        case ST_HEADER: {
            if (!line_take(st, in, len, &pos, &n, &bad)) {
                if (bad) return stream_fail(st, "malformed chunk header", reason);
                break;
            }
            uint64_t size;
            const char *sig, *why = NULL;
            size_t sig_len;
            if (parse_header(st->line, n, &size, &sig, &sig_len, &why) != 0)
                return stream_fail(st, why, reason);
            if (cbs && cbs->on_chunk && cbs->on_chunk(cbs->ctx, sig, sig_len, size) != 0)
                return stream_fail(st, "chunk refused", reason);
            st->left = size;
            if (size == 0) {
                if (cbs && cbs->on_chunk_end && cbs->on_chunk_end(cbs->ctx) != 0)
                    return stream_fail(st, "chunk refused", reason);
                st->state = ST_TRAILER;
            } else {
                st->state = ST_DATA;
            }
            break;
        }
        case ST_DATA: {
            size_t take = (size_t)SL_MIN((uint64_t)(len - pos), st->left);
            if (cbs && cbs->on_data && cbs->on_data(cbs->ctx, in + pos, take) != 0)
                return stream_fail(st, "chunk refused", reason);
            pos += take;
            st->left -= take;
            st->decoded += take;
            if (st->left == 0) {
                if (cbs && cbs->on_chunk_end && cbs->on_chunk_end(cbs->ctx) != 0)
                    return stream_fail(st, "chunk refused", reason);
                st->state = ST_DATA_CR;
            }
            break;
        }
        case ST_DATA_CR:
        case ST_DATA_LF:
            if (in[pos] != (st->state == ST_DATA_CR ? '\r' : '\n'))
                return stream_fail(st, "chunk data not followed by CRLF", reason);
            pos++;
            st->state = st->state == ST_DATA_CR ? ST_DATA_LF : ST_HEADER;
            break;
        case ST_TRAILER: {
            if (!line_take(st, in, len, &pos, &n, &bad)) {
                if (bad) return stream_fail(st, "malformed trailer", reason);
                break;
            }
            if (n == 0) {
                st->state = ST_DONE;
                break;
            }
            sl_awschunked_cbs_t tcbs = {.on_trailer = cbs ? cbs->on_trailer : NULL,
                                        .ctx = cbs ? cbs->ctx : NULL};
            const char *why = NULL;
            if (trailer_line((const char *)st->line, n, &tcbs, &why) != 0)
                return stream_fail(st, why, reason);
            break;
        }
        default: /* ST_DONE */
            return stream_fail(st, "data after the end of the chunked body", reason);
        }
    }
    return 0;
}

int sl_awschunked_stream_finish(sl_awschunked_stream_t *st, const char **reason) {
    *reason = NULL;
    switch (st->state) {
    case ST_DONE:
        return 0;
    case ST_TRAILER: /* the trailers may end with the body, without their empty line */
        return st->line_len == 0 ? 0 : stream_fail(st, "malformed trailer", reason);
    case ST_HEADER:
        return stream_fail(st, st->line_len ? "malformed chunk header" : "missing final chunk",
                           reason);
    case ST_DATA:
        return stream_fail(st, "chunk longer than the body", reason);
    case ST_DATA_CR:
    case ST_DATA_LF:
        return stream_fail(st, "chunk data not followed by CRLF", reason);
    default:
        *reason = st->reason;
        return SL_EINVAL;
    }
}
