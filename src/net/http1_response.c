/* HTTP/1.1 response parser (RFC 9112): status line, header fields, and the body framing a client
 * must follow (section 6.3): no body for HEAD, 1xx, 204 and 304; chunked when it is the final
 * transfer coding; Content-Length; otherwise until the connection closes. Strict where a wrong
 * guess would desynchronise a reused connection (Content-Length with Transfer-Encoding,
 * conflicting lengths, obsolete line folding, whitespace before the colon), tolerant of bare LF
 * line ends and of empty lines before a response. Never asserts on input. */
#include "net/http1_response.h"

#include "net/http1_common.h"

#include "core/common.h"
#include "core/limits.h"

#include <string.h>

enum {
    R_HEAD,
    R_BODY_CL,
    R_BODY_CLOSE,
    R_CHUNK_SIZE,
    R_CHUNK_EXT,
    R_CHUNK_SIZE_LF,
    R_CHUNK_DATA,
    R_CHUNK_DATA_CR,
    R_CHUNK_DATA_LF,
    R_TRAILER,
    R_DONE,
    R_ERROR,
};

void sl_http1_resp_init(sl_http1_resp_parser_t *p, bool head_request) {
    memset(p, 0, sizeof *p);
    p->head_request = head_request;
    p->state = R_HEAD;
}

static sl_http1_resp_event_t fail(sl_http1_resp_parser_t *p, const char *reason) {
    p->state = R_ERROR;
    p->error_reason = reason;
    return SL_H1RESP_ERROR;
}

static int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static bool parse_status_line(sl_http1_resp_parser_t *p, char *line, size_t n) {
    /* HTTP/1.x SP 3DIGIT [SP reason] */
    if (n < 12 || memcmp(line, "HTTP/1.", 7) != 0 || line[7] < '0' || line[7] > '9' ||
        line[8] != ' ')
        return false;
    for (int i = 9; i < 12; i++)
        if (line[i] < '0' || line[i] > '9') return false;
    if (line[9] == '0') return false;
    if (n > 12 && line[12] != ' ') return false;
    p->head.minor_version = line[7] == '0' ? 0 : 1;
    p->head.status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
    line[n] = 0;
    p->head.reason = n > 12 ? line + 13 : line + n;
    return true;
}

/* Visits the comma-separated, trimmed tokens of a header value. */
typedef struct {
    const char *v;
    size_t n, pos;
} tokens_t;

static bool next_token(tokens_t *t, const char **tok, size_t *len) {
    while (t->pos < t->n) {
        size_t e = t->pos;
        while (e < t->n && t->v[e] != ',')
            e++;
        size_t a = t->pos, b = e;
        while (a < b && (t->v[a] == ' ' || t->v[a] == '\t'))
            a++;
        while (b > a && (t->v[b - 1] == ' ' || t->v[b - 1] == '\t'))
            b--;
        t->pos = e + 1;
        if (b > a) {
            *tok = t->v + a;
            *len = b - a;
            return true;
        }
    }
    return false;
}

/* Parses the head in head[0..n) (an arena copy ending in an empty line) into p->head and decides
 * the framing. Returns SL_H1RESP_HEAD, or SL_H1RESP_NEED_MORE for an interim 1xx response. */
static sl_http1_resp_event_t parse_head(sl_http1_resp_parser_t *p, sl_arena_t *arena, char *head,
                                        size_t n) {
    size_t pos = 0, ll;
    char *line = sl_h1_next_line(head, &pos, n, &ll);
    if (!parse_status_line(p, line, ll)) return fail(p, "malformed status line");
    /* One slot per remaining line is enough (the last line is the empty one). */
    size_t lines = 0;
    for (const char *q = head + pos; (q = memchr(q, '\n', n - (size_t)(q - head))) != NULL; q++)
        lines++;
    size_t cap = SL_MIN(lines, (size_t)SL_HTTP_HEADERS_MAX);
    sl_http_header_t *hs = sl_arena_alloc(arena, (cap ? cap : 1) * sizeof *hs);
    if (!hs) return fail(p, "out of memory");
    size_t count = 0;
    bool has_cl = false, has_te = false, chunked = false, close = false, keep = false;
    uint64_t cl = 0;
    for (;;) {
        line = sl_h1_next_line(head, &pos, n, &ll);
        if (ll == 0) break;
        if (line[0] == ' ' || line[0] == '\t') return fail(p, "obsolete line folding");
        size_t i, a, b;
        if (!sl_h1_split_field(line, ll, &i, &a, &b)) return fail(p, "malformed header field");
        if (count == cap) return fail(p, "too many header fields");
        for (size_t k = a; k < b; k++)
            if ((unsigned char)line[k] < 0x20 && line[k] != '\t')
                return fail(p, "control character in header");
        line[b] = 0;
        sl_http_header_t *h = &hs[count++];
        *h = (sl_http_header_t){line, i, line + a, b - a};
        tokens_t t = {h->value, h->value_len, 0};
        const char *tok;
        size_t tl;
        if (i == 14 && memcmp(line, "content-length", 14) == 0) {
            uint64_t v;
            if (!sl_h1_parse_length(h->value, h->value_len, &v))
                return fail(p, "invalid Content-Length");
            if (has_cl && v != cl) return fail(p, "conflicting Content-Length");
            has_cl = true;
            cl = v;
        } else if (i == 17 && memcmp(line, "transfer-encoding", 17) == 0) {
            has_te = true;
            while (next_token(&t, &tok, &tl))
                chunked = sl_h1_ieq(tok, tl, "chunked"); /* the last one counts */
        } else if (i == 10 && memcmp(line, "connection", 10) == 0) {
            while (next_token(&t, &tok, &tl)) {
                if (sl_h1_ieq(tok, tl, "close"))
                    close = true;
                else if (sl_h1_ieq(tok, tl, "keep-alive"))
                    keep = true;
            }
        }
    }
    p->head.headers = hs;
    p->head.header_count = count;
    int st = p->head.status;
    if (st < 200) {
        if (st == 101) return fail(p, "unexpected 101 Switching Protocols");
        memset(&p->head, 0, sizeof p->head); /* interim response: the final one follows */
        return SL_H1RESP_NEED_MORE;
    }
    p->trailer_bytes = 0;
    p->head.keep_alive = p->head.minor_version == 1 ? !close : (keep && !close);
    if (p->head_request || st == 204 || st == 304) {
        p->head.framing = SL_H1RESP_FRAMING_NONE;
        p->state = R_DONE;
    } else if (has_te && has_cl) {
        return fail(p, "Content-Length with Transfer-Encoding");
    } else if (has_te && chunked) {
        p->head.framing = SL_H1RESP_FRAMING_CHUNKED;
        p->state = R_CHUNK_SIZE;
    } else if (has_cl) {
        p->head.framing = SL_H1RESP_FRAMING_LENGTH;
        p->head.content_length = cl;
        p->remaining = cl;
        p->state = cl ? R_BODY_CL : R_DONE;
    } else {
        p->head.framing = SL_H1RESP_FRAMING_CLOSE;
        p->head.keep_alive = false;
        p->state = R_BODY_CLOSE;
    }
    return SL_H1RESP_HEAD;
}

static sl_http1_resp_event_t feed_head(sl_http1_resp_parser_t *p, sl_arena_t *arena,
                                       const char *data, size_t len, size_t *consumed) {
    size_t skip = 0;
    while (p->scan_pos == 0 && skip < len && (data[skip] == '\r' || data[skip] == '\n'))
        skip++;
    if (skip > 0) {
        *consumed = skip; /* empty lines before a response are ignored */
        return SL_H1RESP_NEED_MORE;
    }
    size_t end = sl_h1_find_head_end(&p->scan_pos, data, len);
    if (end == 0) {
        if (len > SL_HTTP_HEADER_BYTES_MAX) return fail(p, "response head too large");
        return SL_H1RESP_NEED_MORE;
    }
    /* Interim responses count towards the bound too, so endless 100s cannot grow the arena. */
    p->trailer_bytes += end;
    if (p->trailer_bytes > SL_HTTP_HEADER_BYTES_MAX) return fail(p, "response head too large");
    char *copy = sl_arena_alloc(arena, end + 1);
    if (!copy) return fail(p, "out of memory");
    memcpy(copy, data, end);
    copy[end] = 0;
    *consumed = end;
    p->scan_pos = 0;
    return parse_head(p, arena, copy, end);
}

/* Chunked framing: consumes framing bytes until body bytes, the end, or the end of input. */
static sl_http1_resp_event_t feed_chunked(sl_http1_resp_parser_t *p, const char *data, size_t len,
                                          size_t *consumed, const char **chunk, size_t *chunk_len) {
    size_t i = 0;
    while (i < len) {
        char c = data[i];
        switch (p->state) {
        case R_CHUNK_SIZE: {
            int v = hex_value(c);
            if (v >= 0) {
                if (++p->chunk_digits > SL_HTTP_CHUNK_SIZE_DIGITS_MAX)
                    return fail(p, "chunk size too large");
                p->remaining = p->remaining * 16 + (uint64_t)v;
                i++;
                break;
            }
            if (p->chunk_digits == 0) return fail(p, "malformed chunk size");
            if (c == ';' || c == ' ' || c == '\t')
                p->state = R_CHUNK_EXT;
            else if (c == '\r')
                p->state = R_CHUNK_SIZE_LF;
            else if (c == '\n')
                goto size_done;
            else
                return fail(p, "malformed chunk size");
            i++;
            break;
        }
        case R_CHUNK_EXT:
            if (++p->line_len > SL_HTTP_CHUNK_LINE_BYTES_MAX)
                return fail(p, "chunk extension too long");
            i++;
            if (c == '\n') goto size_done_consumed;
            if ((unsigned char)c < 0x20 && c != '\t' && c != '\r')
                return fail(p, "malformed chunk extension");
            break;
        case R_CHUNK_SIZE_LF:
            if (c != '\n') return fail(p, "malformed chunk size line");
            goto size_done;
        case R_CHUNK_DATA: {
            size_t n = (size_t)SL_MIN((uint64_t)(len - i), p->remaining);
            *chunk = data + i;
            *chunk_len = n;
            p->remaining -= n;
            if (p->remaining == 0) p->state = R_CHUNK_DATA_CR;
            *consumed = i + n;
            return SL_H1RESP_BODY;
        }
        case R_CHUNK_DATA_CR:
            if (c == '\r')
                p->state = R_CHUNK_DATA_LF;
            else if (c == '\n')
                p->state = R_CHUNK_SIZE;
            else
                return fail(p, "missing CRLF after chunk data");
            i++;
            break;
        case R_CHUNK_DATA_LF:
            if (c != '\n') return fail(p, "missing CRLF after chunk data");
            p->state = R_CHUNK_SIZE;
            i++;
            break;
        case R_TRAILER:
            i++;
            if (++p->trailer_bytes > SL_HTTP_HEADER_BYTES_MAX)
                return fail(p, "trailer section too large");
            if (c == '\n') {
                if (p->line_len == 0) {
                    p->state = R_DONE;
                    *consumed = i;
                    return SL_H1RESP_DONE;
                }
                p->line_len = 0;
            } else if (c != '\r') {
                p->line_len++;
            }
            break;
        default:
            return fail(p, "internal parser state");
        }
        continue;
    size_done:
        i++;
    size_done_consumed:
        p->chunk_digits = 0;
        p->line_len = 0;
        p->state = p->remaining ? R_CHUNK_DATA : R_TRAILER;
    }
    *consumed = len;
    return SL_H1RESP_NEED_MORE;
}

sl_http1_resp_event_t sl_http1_resp_feed(sl_http1_resp_parser_t *p, sl_arena_t *arena,
                                         const char *data, size_t len, size_t *consumed,
                                         const char **chunk, size_t *chunk_len) {
    *consumed = 0;
    *chunk = NULL;
    *chunk_len = 0;
    switch (p->state) {
    case R_HEAD:
        return feed_head(p, arena, data, len, consumed);
    case R_BODY_CL: {
        size_t n = (size_t)SL_MIN((uint64_t)len, p->remaining);
        if (n == 0) return SL_H1RESP_NEED_MORE;
        p->remaining -= n;
        if (p->remaining == 0) p->state = R_DONE;
        *chunk = data;
        *chunk_len = n;
        *consumed = n;
        return SL_H1RESP_BODY;
    }
    case R_BODY_CLOSE:
        if (len == 0) return SL_H1RESP_NEED_MORE;
        *chunk = data;
        *chunk_len = len;
        *consumed = len;
        return SL_H1RESP_BODY;
    case R_DONE:
        return SL_H1RESP_DONE;
    case R_ERROR:
        return SL_H1RESP_ERROR;
    default:
        return feed_chunked(p, data, len, consumed, chunk, chunk_len);
    }
}

sl_http1_resp_event_t sl_http1_resp_eof(sl_http1_resp_parser_t *p) {
    if (p->state == R_BODY_CLOSE || p->state == R_DONE) {
        p->state = R_DONE;
        return SL_H1RESP_DONE;
    }
    if (p->state == R_ERROR) return SL_H1RESP_ERROR;
    return fail(p, "truncated response");
}

uint64_t sl_http1_resp_body_left(const sl_http1_resp_parser_t *p) {
    return p->state == R_BODY_CL ? p->remaining : 0;
}

sl_http1_resp_event_t sl_http1_resp_body_commit(sl_http1_resp_parser_t *p, size_t n) {
    SL_ASSERT(p->state == R_BODY_CL && n <= p->remaining);
    p->remaining -= n;
    if (p->remaining > 0) return SL_H1RESP_NEED_MORE;
    p->state = R_DONE;
    return SL_H1RESP_DONE;
}

const sl_http_header_t *sl_http1_resp_header(const sl_http1_resp_head_t *h,
                                             const char *lower_name) {
    size_t n = strlen(lower_name);
    for (size_t i = 0; i < h->header_count; i++)
        if (h->headers[i].name_len == n && memcmp(h->headers[i].name, lower_name, n) == 0)
            return &h->headers[i];
    return NULL;
}
