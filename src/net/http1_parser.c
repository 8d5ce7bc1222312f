/* HTTP/1.1 request parser (RFC 9112): request line, header fields, Content-Length and chunked
 * bodies. Strict where ambiguity could smuggle requests (Content-Length with Transfer-Encoding,
 * conflicting lengths, obsolete line folding, whitespace before the colon), tolerant of bare LF
 * line ends in the head and of empty lines before a request. Never asserts on input. */
#include "net/http1_parser.h"

#include "net/http1_common.h"
#include "net/http1_scan.h"

#include "core/common.h"
#include "core/limits.h"

#include <stdlib.h>
#include <string.h>

enum {
    P_HEAD,
    P_BODY_CL,
    P_CHUNK_SIZE,
    P_CHUNK_EXT,
    P_CHUNK_SIZE_LF,
    P_CHUNK_DATA,
    P_CHUNK_DATA_CR,
    P_CHUNK_DATA_LF,
    P_TRAILER_START,
    P_TRAILER_LINE,
    P_TRAILER_END_LF,
    P_DONE,
    P_ERROR,
};

/* Chunk-size lines are bounded by SL_HTTP_CHUNK_LINE_BYTES_MAX; a body buffer starts at most
 * SL_HTTP_BODY_INITIAL_BYTES when Content-Length is large and grows as bytes arrive instead of
 * trusting the announced size with memory up front (both in core/limits.h). */

void sl_http1_parser_init(sl_http1_parser_t *p, size_t body_max_bytes) {
    memset(p, 0, sizeof *p);
    p->body_max_bytes = body_max_bytes;
    p->state = P_HEAD;
}

void sl_http1_parser_deinit(sl_http1_parser_t *p) {
    free(p->body);
    p->body = NULL;
}

void sl_http1_parser_reset(sl_http1_parser_t *p) {
    size_t max = p->body_max_bytes;
    bool (*hook)(void *, const sl_http1_head_t *) = p->stream_hook;
    void *ctx = p->stream_ctx;
    free(p->body);
    sl_http1_parser_init(p, max);
    p->stream_hook = hook;
    p->stream_ctx = ctx;
}

/* A streamed body's next n bytes at data. */
static sl_http1_event_t piece(sl_http1_parser_t *p, const char *data, size_t n) {
    p->piece = (const uint8_t *)data;
    p->piece_len = n;
    p->piece_last = p->state == P_DONE;
    return SL_HTTP1_BODY;
}

static sl_http1_event_t fail(sl_http1_parser_t *p, int status, const char *reason) {
    p->state = P_ERROR;
    p->error_status = status;
    p->error_reason = reason;
    return SL_HTTP1_ERROR;
}

/* Ensures room for `extra` body bytes plus the trailing NUL. */
static bool body_reserve(sl_http1_parser_t *p, size_t extra) {
    size_t need = p->body_len + extra + 1;
    if (need <= p->body_cap) return true;
    size_t cap = p->body_cap ? p->body_cap : 1024;
    while (cap < need)
        cap *= 2;
    size_t limit = p->body_max_bytes + 1;
    if (p->state == P_BODY_CL && p->head.content_length + 1 < limit)
        limit = (size_t)p->head.content_length + 1;
    /* A Content-Length body outgrowing its first allocation (SL_HTTP_BODY_INITIAL_BYTES, which
     * has arrived) grows once, to its whole length: doubling copied 1.8 MB for each 1.4 MB body of
     * PutRecords with 100 x 10 KiB records (256 K + 512 K + 1 M) instead of 256 K. */
    if (p->state == P_BODY_CL && p->body_cap) cap = limit;
    if (cap > limit) cap = limit;
    if (cap < need) cap = need;
    uint8_t *b = realloc(p->body, cap);
    if (!b) return false;
    p->body = b;
    p->body_cap = cap;
    return true;
}

static sl_http1_event_t parse_request_line(sl_http1_parser_t *p, char *line, size_t n) {
    size_t i = 0;
    while (i < n && sl_h1_is_tchar((unsigned char)line[i]))
        i++;
    if (i == 0 || i >= n || line[i] != ' ') return fail(p, 400, "malformed request line");
    line[i] = 0;
    p->head.method = line;
    size_t t = ++i;
    while (i < n && (unsigned char)line[i] > 0x20 && line[i] != 0x7f)
        i++;
    if (i == t || i >= n || line[i] != ' ') return fail(p, 400, "malformed request target");
    line[i] = 0;
    p->head.target = line + t;
    i++;
    if (n - i != 8 || memcmp(line + i, "HTTP/", 5) != 0 || line[i + 6] != '.' ||
        line[i + 5] < '0' || line[i + 5] > '9' || line[i + 7] < '0' || line[i + 7] > '9')
        return fail(p, 400, "malformed HTTP version");
    if (line[i + 5] != '1') return fail(p, 505, "HTTP version not supported");
    p->head.minor_version = line[i + 7] == '0' ? 0 : 1;
    return SL_HTTP1_NEED_MORE;
}

/* Applies the headers that shape message framing and connection handling. */
static sl_http1_event_t apply_header(sl_http1_parser_t *p, const sl_http_header_t *h, bool *has_cl,
                                     bool *has_te) {
    const char *v = h->value;
    size_t vn = h->value_len;
    if (h->name_len == 14 && memcmp(h->name, "content-length", 14) == 0) {
        uint64_t cl;
        if (!sl_h1_parse_length(v, vn, &cl)) return fail(p, 400, "invalid Content-Length");
        if (*has_cl && cl != p->head.content_length)
            return fail(p, 400, "conflicting Content-Length");
        *has_cl = true;
        p->head.content_length = cl;
    } else if (h->name_len == 17 && memcmp(h->name, "transfer-encoding", 17) == 0) {
        /* Only "chunked" is supported; it must be the last (and here the only) coding. */
        size_t s = 0;
        while (s < vn) {
            size_t e = s;
            while (e < vn && v[e] != ',')
                e++;
            size_t a = s, b = e;
            while (a < b && (v[a] == ' ' || v[a] == '\t'))
                a++;
            while (b > a && (v[b - 1] == ' ' || v[b - 1] == '\t'))
                b--;
            if (b > a) {
                if (!sl_h1_ieq(v + a, b - a, "chunked"))
                    return fail(p, 501, "unsupported Transfer-Encoding");
                if (p->head.chunked) return fail(p, 400, "chunked applied twice");
                p->head.chunked = true;
            }
            s = e + 1;
        }
        *has_te = true;
    } else if (h->name_len == 10 && memcmp(h->name, "connection", 10) == 0) {
        size_t s = 0;
        while (s < vn) {
            size_t e = s;
            while (e < vn && v[e] != ',')
                e++;
            size_t a = s, b = e;
            while (a < b && (v[a] == ' ' || v[a] == '\t'))
                a++;
            while (b > a && (v[b - 1] == ' ' || v[b - 1] == '\t'))
                b--;
            if (sl_h1_ieq(v + a, b - a, "close"))
                p->head.keep_alive = false;
            else if (sl_h1_ieq(v + a, b - a, "keep-alive") && p->head.minor_version == 0)
                p->head.keep_alive = true;
            s = e + 1;
        }
    } else if (h->name_len == 6 && memcmp(h->name, "expect", 6) == 0) {
        if (sl_h1_ieq(v, vn, "100-continue")) p->head.expect_continue = true;
    }
    return SL_HTTP1_NEED_MORE;
}

/* True when no byte of v[0..n) is a control character other than HTAB (RFC 9110 section 5.5).
 * Sixteen bytes at a time (http1_scan.h): the value's line is inside the copied head, which is
 * followed by SL_H1_BLOCK readable bytes. */
static bool value_ok(const char *v, size_t n) {
    for (size_t k = 0; k < n; k += SL_H1_BLOCK)
        if (sl_h1_ctl_mask(v + k) & sl_h1_first_bits(n - k)) return false;
    return true;
}

/* sl_h1_split_field for a line of the copied head, sixteen bytes of its name at a time: finds the
 * colon and lower-cases the name in one step per block when the name holds only letters, digits
 * and '-' (the usual names); any other byte before the colon, or no colon, is left to
 * sl_h1_split_field, which decides byte by byte. */
static bool split_field(char *line, size_t n, size_t *name_len, size_t *value_start,
                        size_t *value_end) {
    size_t i = 0;
    for (;;) {
        if (i >= n) return sl_h1_split_field(line, n, name_len, value_start, value_end);
        unsigned colon = sl_h1_eq_mask(line + i, ':') & sl_h1_first_bits(n - i);
        unsigned upto =
            colon ? (unsigned)__builtin_ctz(colon) : (unsigned)SL_MIN(n - i, (size_t)SL_H1_BLOCK);
        unsigned ok = sl_h1_name_block(line + i, upto);
        if ((ok & sl_h1_first_bits(upto)) != sl_h1_first_bits(upto))
            return sl_h1_split_field(line, n, name_len, value_start, value_end);
        i += upto;
        if (colon) break;
    }
    if (i == 0) return false;
    sl_h1_field_at_colon(line, n, i, name_len, value_start, value_end);
    return true;
}

/* Line k of the copied head, from *pos: its end was noted while the head was searched for
 * (head_scan), or is searched for again past the first SL_HTTP1_LINE_ENDS lines. */
static inline char *head_line(const sl_http1_parser_t *p, char *buf, size_t hlen, size_t k,
                              size_t *pos, size_t *line_len) {
    if (k >= SL_HTTP1_LINE_ENDS) return sl_h1_next_line(buf, pos, hlen, line_len);
    char *start = buf + *pos;
    size_t n = p->line_end[k] - *pos;
    *pos = p->line_end[k] + 1;
    if (n > 0 && start[n - 1] == '\r') n--;
    *line_len = n;
    return start;
}

static sl_http1_event_t parse_head(sl_http1_parser_t *p, char *buf, size_t hlen) {
    size_t pos = 0, n;
    char *line = head_line(p, buf, hlen, 0, &pos, &n);
    if (parse_request_line(p, line, n) == SL_HTTP1_ERROR) return SL_HTTP1_ERROR;
    p->head.keep_alive = p->head.minor_version == 1;

    /* p->head.headers was sized by the caller for min(lines, SL_HTTP_HEADERS_MAX) fields. */
    p->head.header_count = 0;
    bool has_cl = false, has_te = false;
    size_t count = 0;
    for (size_t k = 1;; k++) {
        line = head_line(p, buf, hlen, k, &pos, &n);
        if (n == 0) break;
        if (line[0] == ' ' || line[0] == '\t') return fail(p, 400, "obsolete line folding");
        size_t i, a, b;
        if (!split_field(line, n, &i, &a, &b)) return fail(p, 400, "malformed header field");
        if (!value_ok(line + a, b - a)) return fail(p, 400, "invalid header value");
        line[b] = 0; /* overwrites whitespace, CR or LF: all inside the copied head */
        if (count >= SL_HTTP_HEADERS_MAX) return fail(p, 431, "too many header fields");
        p->head.headers[count] = (sl_http_header_t){line, i, line + a, b - a};
        if (apply_header(p, &p->head.headers[count], &has_cl, &has_te) == SL_HTTP1_ERROR)
            return SL_HTTP1_ERROR;
        count++;
        p->head.header_count = count;
        if (pos >= hlen) break;
    }
    if (has_te) {
        if (has_cl) return fail(p, 400, "both Content-Length and Transfer-Encoding");
        if (p->head.minor_version == 0) return fail(p, 400, "Transfer-Encoding in HTTP/1.0");
    }
    return SL_HTTP1_NEED_MORE;
}

/* A line of the pending head ends (LF) at `at`: noted; true when it was the empty line that ends
 * the head (CR LF or a bare LF). */
static inline bool line_end(sl_http1_parser_t *p, const char *data, size_t at) {
    size_t start = p->line_start, n = at - start;
    if (p->lines < SL_HTTP1_LINE_ENDS) p->line_end[p->lines] = (uint32_t)at;
    p->lines++;
    p->line_start = at + 1;
    return n == 0 || (n == 1 && data[start] == '\r');
}

/* Finds the end of the pending head (the byte after its empty line) in data[0..len), scanning
 * sixteen bytes at a time from where the last call stopped and noting every line end; 0 while
 * the head is incomplete. (The first line is never empty: empty lines before a request were
 * skipped.) */
static size_t head_scan(sl_http1_parser_t *p, const char *data, size_t len) {
    size_t i = p->scan_pos;
    for (; i + SL_H1_BLOCK <= len; i += SL_H1_BLOCK) {
        unsigned m = sl_h1_eq_mask(data + i, '\n');
        while (m) {
            size_t at = i + (size_t)__builtin_ctz(m);
            m &= m - 1;
            if (line_end(p, data, at)) return at + 1;
        }
    }
    for (; i < len; i++)
        if (data[i] == '\n' && line_end(p, data, i)) return i + 1;
    p->scan_pos = len;
    return 0;
}

static sl_http1_event_t feed_head(sl_http1_parser_t *p, sl_arena_t *arena, const char *data,
                                  size_t len, size_t *consumed) {
    /* Empty lines before a request line are ignored (RFC 9112 section 2.2). */
    size_t skip = 0;
    while (skip < len && (data[skip] == '\r' || data[skip] == '\n'))
        skip++;
    if (skip > 0) {
        *consumed = skip;
        p->scan_pos = p->line_start = p->lines = 0;
        return SL_HTTP1_NEED_MORE;
    }
    size_t hlen = head_scan(p, data, len);
    if (hlen == 0) {
        if (len > SL_HTTP_HEADER_BYTES_MAX) return fail(p, 431, "request head too large");
        return SL_HTTP1_NEED_MORE;
    }
    if (hlen > SL_HTTP_HEADER_BYTES_MAX) return fail(p, 431, "request head too large");
    size_t nhdr = p->lines < SL_HTTP_HEADERS_MAX ? p->lines : SL_HTTP_HEADERS_MAX;
    /* (followed by a block of zeros: the block scans of its lines read up to SL_H1_BLOCK - 1
     * bytes past a line's end) */
    char *buf = sl_arena_alloc(arena, hlen + SL_H1_BLOCK);
    p->head.headers = sl_arena_alloc(arena, (nhdr ? nhdr : 1) * sizeof(sl_http_header_t));
    if (!buf || !p->head.headers) return fail(p, 500, "out of memory");
    memcpy(buf, data, hlen);
    memset(buf + hlen, 0, SL_H1_BLOCK);
    *consumed = hlen;
    p->scan_pos = p->line_start = 0;
    if (parse_head(p, buf, hlen) == SL_HTTP1_ERROR) return SL_HTTP1_ERROR;
    p->streaming = p->stream_hook && p->stream_hook(p->stream_ctx, &p->head);
    if (p->head.chunked) {
        p->state = P_CHUNK_SIZE;
    } else if (p->head.content_length > 0 && p->streaming) {
        p->remaining = p->head.content_length;
        p->state = P_BODY_CL;
    } else if (p->head.content_length > 0) {
        if (p->head.content_length > p->body_max_bytes)
            return fail(p, 413, "request body too large");
        p->remaining = p->head.content_length;
        p->state = P_BODY_CL;
        size_t first = p->head.content_length < SL_HTTP_BODY_INITIAL_BYTES
                           ? (size_t)p->head.content_length
                           : SL_HTTP_BODY_INITIAL_BYTES;
        if (!body_reserve(p, first)) return fail(p, 500, "out of memory");
    } else {
        p->state = P_DONE;
    }
    return SL_HTTP1_HEAD;
}

static sl_http1_event_t feed_chunked(sl_http1_parser_t *p, const char *data, size_t len,
                                     size_t *consumed) {
    size_t i = 0;
    while (i < len && p->state != P_DONE) {
        unsigned char c = (unsigned char)data[i];
        switch (p->state) {
        case P_CHUNK_SIZE: {
            int d = -1;
            if (c >= '0' && c <= '9')
                d = c - '0';
            else if (c >= 'a' && c <= 'f')
                d = c - 'a' + 10;
            else if (c >= 'A' && c <= 'F')
                d = c - 'A' + 10;
            if (d >= 0) {
                if (++p->chunk_digits > 15) return fail(p, 413, "chunk too large");
                p->chunk_size = p->chunk_size * 16 + (uint64_t)d;
                i++;
                break;
            }
            if (p->chunk_digits == 0) return fail(p, 400, "malformed chunk size");
            if (c == ';' || c == ' ' || c == '\t') {
                p->state = P_CHUNK_EXT;
                p->line_len = 0;
                break;
            }
            if (c == '\r') {
                p->state = P_CHUNK_SIZE_LF;
                i++;
                break;
            }
            return fail(p, 400, "malformed chunk size");
        }
        case P_CHUNK_EXT:
            if (c == '\r') {
                p->state = P_CHUNK_SIZE_LF;
                i++;
                break;
            }
            if ((c < 0x20 && c != '\t') || c == 0x7f)
                return fail(p, 400, "malformed chunk extension");
            if (++p->line_len > SL_HTTP_CHUNK_LINE_BYTES_MAX)
                return fail(p, 400, "chunk extension too long");
            i++;
            break;
        case P_CHUNK_SIZE_LF:
            if (c != '\n') return fail(p, 400, "malformed chunk size line");
            i++;
            if (p->chunk_size == 0) {
                p->state = P_TRAILER_START;
                break;
            }
            if (!p->streaming && p->chunk_size > p->body_max_bytes - p->body_len)
                return fail(p, 413, "request body too large");
            p->remaining = p->chunk_size;
            p->state = P_CHUNK_DATA;
            break;
        case P_CHUNK_DATA: {
            size_t n = len - i;
            if (n > p->remaining) n = (size_t)p->remaining;
            if (p->streaming) {
                p->remaining -= n;
                if (p->remaining == 0) p->state = P_CHUNK_DATA_CR;
                *consumed = i + n;
                return piece(p, data + i, n);
            }
            if (!body_reserve(p, n)) return fail(p, 500, "out of memory");
            memcpy(p->body + p->body_len, data + i, n);
            p->body_len += n;
            p->remaining -= n;
            i += n;
            if (p->remaining == 0) p->state = P_CHUNK_DATA_CR;
            break;
        }
        case P_CHUNK_DATA_CR:
            if (c != '\r') return fail(p, 400, "missing CRLF after chunk data");
            p->state = P_CHUNK_DATA_LF;
            i++;
            break;
        case P_CHUNK_DATA_LF:
            if (c != '\n') return fail(p, 400, "missing CRLF after chunk data");
            p->state = P_CHUNK_SIZE;
            p->chunk_size = 0;
            p->chunk_digits = 0;
            i++;
            break;
        case P_TRAILER_START:
            if (c == '\r') {
                p->state = P_TRAILER_END_LF;
                i++;
                break;
            }
            p->state = P_TRAILER_LINE;
            break;
        case P_TRAILER_LINE:
            if (++p->trailer_bytes > SL_HTTP_HEADER_BYTES_MAX)
                return fail(p, 431, "trailers too large");
            if (c == '\n') p->state = P_TRAILER_START;
            i++;
            break;
        case P_TRAILER_END_LF:
            if (c != '\n') return fail(p, 400, "malformed trailer section");
            p->state = P_DONE;
            i++;
            break;
        default:
            return fail(p, 500, "parser state");
        }
    }
    *consumed = i;
    if (p->state == P_DONE) {
        if (p->streaming) return SL_HTTP1_DONE;
        if (!body_reserve(p, 0)) return fail(p, 500, "out of memory");
        p->body[p->body_len] = 0;
        return SL_HTTP1_DONE;
    }
    return SL_HTTP1_NEED_MORE;
}

sl_http1_event_t sl_http1_parser_feed(sl_http1_parser_t *p, sl_arena_t *arena, const char *data,
                                      size_t len, size_t *consumed) {
    *consumed = 0;
    switch (p->state) {
    case P_HEAD:
        return feed_head(p, arena, data, len, consumed);
    case P_BODY_CL: {
        size_t n = len;
        if (n > p->remaining) n = (size_t)p->remaining;
        if (p->streaming) {
            if (n == 0) return SL_HTTP1_NEED_MORE;
            p->remaining -= n;
            if (p->remaining == 0) p->state = P_DONE;
            *consumed = n;
            return piece(p, data, n);
        }
        if (n > 0) {
            if (!body_reserve(p, n)) return fail(p, 500, "out of memory");
            memcpy(p->body + p->body_len, data, n);
        }
        *consumed = n;
        return sl_http1_parser_body_commit(p, n);
    }
    case P_DONE:
        if (p->body) p->body[p->body_len] = 0;
        return SL_HTTP1_DONE;
    case P_ERROR:
        return SL_HTTP1_ERROR;
    default:
        return feed_chunked(p, data, len, consumed);
    }
}

size_t sl_http1_parser_body_space(sl_http1_parser_t *p, uint8_t **dst) {
    if (p->state != P_BODY_CL || p->remaining == 0 || p->streaming) return 0;
    size_t want = p->remaining < SL_HTTP_BODY_INITIAL_BYTES ? (size_t)p->remaining
                                                            : SL_HTTP_BODY_INITIAL_BYTES;
    if (!body_reserve(p, want)) return 0;
    size_t room = p->body_cap - p->body_len - 1;
    if (room > p->remaining) room = (size_t)p->remaining;
    *dst = p->body + p->body_len;
    return room;
}

sl_http1_event_t sl_http1_parser_body_commit(sl_http1_parser_t *p, size_t n) {
    SL_ASSERT(p->state == P_BODY_CL && n <= p->remaining);
    p->body_len += n;
    p->remaining -= n;
    if (p->remaining > 0) return SL_HTTP1_NEED_MORE;
    p->state = P_DONE;
    p->body[p->body_len] = 0;
    return SL_HTTP1_DONE;
}

bool sl_http1_parser_in_body(const sl_http1_parser_t *p) {
    return p->state != P_HEAD && p->state != P_DONE && p->state != P_ERROR;
}

uint8_t *sl_http1_parser_take_body(sl_http1_parser_t *p, size_t *len) {
    uint8_t *b = p->body;
    *len = p->body_len;
    p->body = NULL;
    p->body_len = p->body_cap = 0;
    return b;
}
