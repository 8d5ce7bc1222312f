/* HTTP/1.1 on a connection: feeds the parser, answers 100-continue, dispatches complete requests
 * one at a time (pipelined requests wait in the input buffer, so responses leave in order), and
 * formats responses: Content-Length for complete ones, chunked (or close-delimited for HTTP/1.0)
 * for streamed ones. Error responses from the parser close the connection. */
#include "net/internal.h"

#include "core/common.h"
#include "core/limits.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void append_uint(sl_buf_t *b, uint64_t v) {
    char tmp[24];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    char *p = sl_buf_reserve(b, n);
    if (!p) return;
    for (size_t i = 0; i < n; i++)
        p[i] = tmp[n - 1 - i];
    b->len += n;
}

static char *put_bytes(char *p, const void *s, size_t n) {
    memcpy(p, s, n);
    return p + n;
}

/* Status line, handler headers, Date and Connection (everything but the framing header), with
 * `extra` more bytes of room behind them for the caller: the head's length is counted first and
 * reserved once, instead of a capacity check per piece (a PutRecord answer's head was 15 appends).
 * On failure b is marked failed. */
static void build_head(sl_buf_t *b, sl_req_t *r, int status, const sl_http_header_t *headers,
                       size_t n, size_t extra) {
    sl_buf_reset(b);
    const char *reason = sl_http_reason(status);
    size_t rlen = strlen(reason), dlen;
    const char *date = sl_worker_date(r->worker, &dlen);
    static const char ka[] = "Connection: keep-alive\r\n", cl[] = "Connection: close\r\n";
    size_t need = 9 + 3 + 1 + rlen + 2 + dlen + sizeof ka - 1 + extra;
    for (size_t i = 0; i < n; i++)
        need += headers[i].name_len + headers[i].value_len + 4;
    char *p = sl_buf_reserve(b, need);
    if (!p) return;
    char *start = p;
    unsigned code = status >= 100 && status <= 999 ? (unsigned)status : 500;
    p = put_bytes(p, "HTTP/1.1 ", 9);
    *p++ = (char)('0' + code / 100);
    *p++ = (char)('0' + code / 10 % 10);
    *p++ = (char)('0' + code % 10);
    *p++ = ' ';
    p = put_bytes(p, reason, rlen);
    p = put_bytes(p, "\r\n", 2);
    for (size_t i = 0; i < n; i++) {
        const sl_http_header_t *h = &headers[i];
        if (sl_http_reserved_header(h->name, h->name_len, false)) continue;
        p = put_bytes(p, h->name, h->name_len);
        p = put_bytes(p, ": ", 2);
        p = put_bytes(p, h->value, h->value_len);
        p = put_bytes(p, "\r\n", 2);
    }
    p = put_bytes(p, date, dlen);
    if (r->keep_alive)
        p = put_bytes(p, ka, sizeof ka - 1);
    else
        p = put_bytes(p, cl, sizeof cl - 1);
    b->len += (size_t)(p - start);
}

/* The response is complete: release the request and let the connection continue. */
static void h1_finish(sl_req_t *r) {
    sl_conn_t *c = r->conn;
    c->h1_busy = false;
    if (c->h1_stream == r) c->h1_stream = NULL; /* answered before its body's end: closes */
    if (!r->keep_alive)
        c->close_after_flush = true;
    else
        c->process_input = true;
    r->handler_owned = false;
    sl_req_maybe_free(r);
    sl_conn_mark_dirty(c);
}

/* An answer before the end of a streamed body: the rest of it cannot be skipped reliably, so the
 * connection closes after the answer. */
static void h1_body_unread(sl_req_t *r) {
    if (r->pub.body_streamed && !r->sbody.complete) r->keep_alive = false;
}

void sl_h1_respond(sl_req_t *r, int status, const sl_http_header_t *headers, size_t n, void *body,
                   size_t body_len) {
    sl_conn_t *c = r->conn;
    h1_body_unread(r);
    sl_buf_t *b = &c->w->scratch;
    bool bodyless = status < 200 || status == 204 || status == 304;
    /* Small bodies join the head in one copy segment. */
    bool join = !bodyless && !r->head_method && body_len > 0 && body_len <= 1024;
    /* room for the Content-Length line (at most 20 digits), the empty line and a joined body */
    build_head(b, r, status, headers, n, 16 + 20 + 2 + 2 + (join ? body_len : 0));
    if (!bodyless) {
        sl_buf_append(b, "Content-Length: ", 16);
        append_uint(b, body_len);
        sl_buf_append(b, "\r\n", 2);
    }
    sl_buf_append(b, "\r\n", 2);
    int rc = sl_buf_failed(b) ? SL_ENOMEM : 0;
    if (rc == 0 && join) {
        sl_buf_append(b, body, body_len);
        rc = sl_buf_failed(b) ? SL_ENOMEM : sl_outq_copy(&c->out, b->data, b->len);
        free(body);
    } else {
        if (rc == 0) rc = sl_outq_copy(&c->out, b->data, b->len);
        if (rc == 0 && !bodyless && !r->head_method && body_len > 0)
            rc = sl_outq_own(&c->out, body, body_len);
        else
            free(body);
    }
    if (rc != 0) {
        sl_conn_abort(c);
        r->handler_owned = false;
        sl_req_maybe_free(r);
        return;
    }
    h1_finish(r);
}

int sl_h1_stream_begin(sl_req_t *r, int status, const sl_http_header_t *headers, size_t n) {
    sl_conn_t *c = r->conn;
    h1_body_unread(r);
    /* A length given by the handler frames the body: no chunks, and the connection stays open. */
    if (r->stream_sized) r->stream_raw = true;
    if (r->minor_version == 0) {
        /* HTTP/1.0 has no chunked coding: the end of the body is the end of the connection. */
        r->stream_raw = true;
        r->keep_alive = false;
    }
    sl_buf_t *b = &c->w->scratch;
    build_head(b, r, status, headers, n, 16 + 20 + 2 + 28 + 2);
    if (r->stream_sized) {
        sl_buf_append_str(b, "Content-Length: ");
        append_uint(b, r->stream_length);
        sl_buf_append(b, "\r\n", 2);
    } else if (!r->stream_raw) {
        sl_buf_append_str(b, "Transfer-Encoding: chunked\r\n");
    }
    sl_buf_append(b, "\r\n", 2);
    if (sl_buf_failed(b) || sl_outq_copy(&c->out, b->data, b->len) != 0) {
        sl_conn_abort(c);
        return SL_ECLOSED;
    }
    sl_conn_mark_dirty(c);
    return 0;
}

long sl_h1_stream_write(sl_req_t *r, const void *data, size_t len) {
    sl_conn_t *c = r->conn;
    if (!r->head_method) {
        int rc = 0;
        if (!r->stream_raw) {
            char hdr[24];
            int hn = snprintf(hdr, sizeof hdr, "%zx\r\n", len);
            rc = sl_outq_copy(&c->out, hdr, (size_t)hn);
            if (rc == 0) rc = sl_outq_copy(&c->out, data, len);
            if (rc == 0) rc = sl_outq_copy(&c->out, "\r\n", 2);
        } else {
            rc = sl_outq_copy(&c->out, data, len);
        }
        if (rc != 0 || sl_outq_bytes(&c->out) > SL_HTTP_OUTPUT_BACKLOG_MAX) {
            /* The client does not read and the handler ignored backpressure. */
            sl_conn_abort(c);
            return SL_ECLOSED;
        }
    }
    size_t pending = sl_outq_bytes(&c->out);
    if (pending > SL_NET_STREAM_HIGH_WATER) r->want_writable = true;
    sl_conn_mark_dirty(c);
    return (long)pending;
}

static void h1_stream_abort(sl_req_t *r) {
    sl_conn_abort(r->conn);
    r->handler_owned = false;
    sl_req_maybe_free(r);
}

void sl_h1_stream_end(sl_req_t *r) {
    sl_conn_t *c = r->conn;
    if (!r->stream_raw && !r->head_method && sl_outq_copy(&c->out, "0\r\n\r\n", 5) != 0) {
        sl_conn_abort(c);
        r->handler_owned = false;
        sl_req_maybe_free(r);
        return;
    }
    h1_finish(r);
}

static void h1_body_release(sl_conn_t *c) {
    if (c->h1_body_acct) sl_body_budget_release(c->w->srv, c->h1_body_small, c->h1_body_acct);
    c->h1_body_acct = 0;
}

void sl_h1_error(sl_conn_t *c, int status, const char *reason) {
    sl_buf_t *b = &c->w->scratch;
    sl_buf_reset(b);
    size_t rlen = strlen(reason);
    size_t dlen;
    const char *date = sl_worker_date(c->w, &dlen);
    /* 413 and 408 (after the head, or a header deadline: no headers then) the handler's
     * error_body may answer in the request's protocol. */
    const sl_http_server_config_t *cfg = &c->w->srv->cfg;
    const char *ctype = "text/plain";
    size_t blen = 0;
    const sl_http_header_t *hdrs = c->parser.head.headers;
    void *body = (status == 413 || status == 408) && cfg->error_body
                     ? cfg->error_body(cfg->handler_ctx, status, hdrs,
                                       hdrs ? c->parser.head.header_count : 0, &blen, &ctype)
                     : NULL;
    sl_buf_printf(b, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n", status,
                  sl_http_reason(status), body ? ctype : "text/plain", body ? blen : rlen + 1);
    sl_buf_append(b, date, dlen);
    sl_buf_append_str(b, "Connection: close\r\n\r\n");
    if (body) {
        sl_buf_append(b, body, blen);
        free(body);
    } else {
        sl_buf_append(b, reason, rlen);
        sl_buf_append_byte(b, '\n');
    }
    if (sl_buf_failed(b) || sl_outq_copy(&c->out, b->data, b->len) != 0) {
        sl_conn_abort(c);
        return;
    }
    sl_req_t *r = c->h1_cur;
    if (r && r->conn_owned) {
        r->conn_owned = false;
        sl_req_maybe_free(r);
    }
    sl_http1_parser_reset(&c->parser);
    h1_body_release(c);
    c->close_after_flush = true;
    sl_conn_mark_dirty(c);
}

/* Counts the body bytes the parser received since the last call in the request-body budget. */
static void h1_body_sync(sl_conn_t *c) {
    size_t len = c->parser.body_len;
    if (len <= c->h1_body_acct) return;
    sl_body_budget_add(c->w->srv, c->h1_body_small, len - c->h1_body_acct);
    c->h1_body_acct = len;
}

bool sl_h1_body_blocked(sl_conn_t *c) {
    if (!c->h1_cur || !sl_http1_parser_in_body(&c->parser)) return false;
    return !sl_body_budget_ok(c->w->srv, c->h1_body_small);
}

static void h1_on_head(sl_conn_t *c) {
    c->head_done_ms = sl_loop_now_ms(c->w->loop);
    const sl_http1_head_t *head = &c->parser.head;
    c->h1_body_small = !head->chunked && head->content_length <= SL_HTTP_BODY_SMALL_BYTES;
    const sl_http1_head_t *h = &c->parser.head;
    if (h->expect_continue && h->minor_version >= 1 && (h->chunked || h->content_length > 0)) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        if (sl_outq_copy(&c->out, cont, sizeof cont - 1) != 0)
            sl_conn_abort(c);
        else
            sl_conn_mark_dirty(c);
    }
}

static void h1_on_done(sl_conn_t *c, sl_req_t *r) {
    const sl_http1_head_t *h = &c->parser.head;
    r->pub.method = h->method;
    r->pub.path = h->target;
    r->pub.headers = h->headers;
    r->pub.header_count = h->header_count;
    r->pub.http_version = 1;
    r->minor_version = h->minor_version;
    r->keep_alive = h->keep_alive && !c->w->stopping;
    r->head_method = strcmp(h->method, "HEAD") == 0;
    h1_body_sync(c);
    r->body = sl_http1_parser_take_body(&c->parser, &r->body_len);
    r->body_acct = c->h1_body_acct; /* released with the request */
    r->body_small = c->h1_body_small;
    c->h1_body_acct = 0;
    sl_http1_parser_reset(&c->parser);
    c->req_start_ms = c->head_done_ms = 0;
    c->h1_busy = true;
    sl_req_dispatch(r);
}

/* ---- streamed request bodies ---- */

bool sl_h1_stream_hook(void *ctx, const sl_http1_head_t *h) {
    sl_conn_t *c = ctx;
    sl_req_t *r = c->h1_cur;
    const sl_http_server_config_t *cfg = &c->w->srv->cfg;
    if (!r || !cfg->stream_body) return false;
    r->pub.method = h->method;
    r->pub.path = h->target;
    r->pub.headers = h->headers;
    r->pub.header_count = h->header_count;
    r->pub.http_version = 1;
    return cfg->stream_body(cfg->handler_ctx, &r->pub);
}

/* The head of a request whose body is streamed: dispatch it now; its body follows. */
static void h1_stream_dispatch(sl_conn_t *c, sl_req_t *r) {
    const sl_http1_head_t *h = &c->parser.head;
    r->pub.method = h->method;
    r->pub.path = h->target;
    r->pub.headers = h->headers;
    r->pub.header_count = h->header_count;
    r->pub.http_version = 1;
    r->pub.body_streamed = true;
    r->minor_version = h->minor_version;
    r->keep_alive = h->keep_alive && !c->w->stopping;
    r->head_method = strcmp(h->method, "HEAD") == 0;
    c->h1_stream = r;
    c->h1_busy = true;
    sl_req_dispatch(r);
}

/* The streamed body is complete: the parser is free, the response may still be running. */
static void h1_stream_done(sl_conn_t *c) {
    sl_req_t *r = c->h1_stream;
    c->h1_stream = NULL;
    sl_http1_parser_reset(&c->parser);
    c->req_start_ms = c->head_done_ms = 0;
    r->sbody.complete = true;
    sl_req_body_notify(r);
}

/* Bytes of a streamed body: kept for the handler; false (stop taking input) once enough wait. */
static bool h1_stream_piece(sl_conn_t *c, const uint8_t *data, size_t len) {
    sl_req_t *r = c->h1_stream;
    c->head_done_ms = sl_loop_now_ms(c->w->loop); /* the body deadline counts from progress */
    if (r->sbody.finished || r->sbody.error) return true; /* the handler is done with it */
    sl_buf_append(&r->sbody.in, data, len);
    if (sl_buf_failed(&r->sbody.in)) {
        sl_req_body_fail(r, SL_ENOMEM);
        sl_conn_abort(c);
        return false;
    }
    sl_req_body_notify(r);
    return r->sbody.in.len < SL_NET_BODY_PIECE_BYTES;
}

static bool h1_stream_full(const sl_conn_t *c) {
    return c->h1_stream && c->h1_stream->sbody.in.len >= SL_NET_BODY_PIECE_BYTES;
}

size_t sl_h1_input(sl_conn_t *c, const char *data, size_t len) {
    size_t total = 0;
    while (!c->dead && (!c->h1_busy || c->h1_stream) && !c->close_after_flush &&
           !h1_stream_full(c)) {
        if (!c->h1_cur) {
            if (total == len) break;
            if (!sl_conn_can_dispatch(c)) {
                /* The previous answers are still unsent: the next request waits in the input
                 * buffer (and reading pauses when that fills), not in memory as an answer. */
                c->dispatch_wait = true;
                sl_conn_wait(c);
                break;
            }
            sl_req_t *nr = sl_req_new(c);
            if (!nr) {
                sl_conn_abort(c);
                return len;
            }
            nr->conn_owned = true;
            c->h1_cur = nr;
            c->req_start_ms = sl_loop_now_ms(c->w->loop);
            c->head_done_ms = 0;
        }
        sl_req_t *r = c->h1_cur;
        size_t used = 0;
        sl_http1_event_t ev =
            sl_http1_parser_feed(&c->parser, r->pub.arena, data + total, len - total, &used);
        total += used;
        h1_body_sync(c);
        switch (ev) {
        case SL_HTTP1_NEED_MORE:
            if (used == 0) return total;
            break;
        case SL_HTTP1_HEAD:
            h1_on_head(c);
            if (c->parser.streaming && !c->dead) h1_stream_dispatch(c, r);
            break;
        case SL_HTTP1_BODY: {
            bool more = h1_stream_piece(c, c->parser.piece, c->parser.piece_len);
            if (c->dead) return len;
            /* The body's last bytes: end it now. Waiting for the DONE event of the next feed
             * would hang when these bytes filled the piece buffer and none are left to feed. */
            if (c->parser.piece_last && c->h1_stream == r) {
                h1_stream_done(c);
                break;
            }
            if (!more) return total;
            break;
        }
        case SL_HTTP1_DONE:
            if (c->h1_stream == r)
                h1_stream_done(c);
            else
                h1_on_done(c, r);
            break;
        case SL_HTTP1_ERROR:
            if (c->h1_stream == r) {
                /* the handler has the request: no error answer can follow its own */
                sl_req_body_fail(r, SL_EINVAL);
                sl_conn_abort(c);
                return len;
            }
            sl_h1_error(c, c->parser.error_status, c->parser.error_reason);
            return len;
        }
    }
    return total;
}

long sl_h1_direct_read(sl_conn_t *c) {
    sl_req_t *r = c->h1_cur;
    if (!r) return 0;
    uint8_t *dst;
    size_t room = sl_http1_parser_body_space(&c->parser, &dst);
    if (room < SL_NET_H1_DIRECT_READ_MIN) return 0;
    /* One read may pass the body budget by at most this much. */
    if (room > SL_NET_H1_DIRECT_READ_MAX) room = SL_NET_H1_DIRECT_READ_MAX;
    long n = sl_conn_recv(c, dst, room);
    if (n == 0) return SL_ECLOSED;
    if (n < 0) return n;
    sl_body_budget_add(c->w->srv, c->h1_body_small, (size_t)n);
    c->h1_body_acct += (size_t)n;
    if (sl_http1_parser_body_commit(&c->parser, (size_t)n) == SL_HTTP1_DONE) h1_on_done(c, r);
    return n;
}

/* ---- the protocol table (internal.h) ---- */

static bool h1_input_held(const sl_conn_t *c) {
    return c->h1_busy || c->close_after_flush || c->dispatch_wait;
}

static bool h1_read_blocked(sl_conn_t *c) {
    return !c->h1_busy && !c->close_after_flush && sl_h1_body_blocked(c);
}

static long h1_read_direct(sl_conn_t *c) {
    if (c->in_len > 0 || c->h1_busy || c->close_after_flush) return 0;
    return sl_h1_direct_read(c);
}

static bool h1_on_eof(sl_conn_t *c) {
    /* A response (or an error answer to broken framing) may already be queued but not yet
     * flushed: the read loop can see EOF before the prepare phase writes. A client that only shut
     * down its sending side must still get it. */
    if (!c->h1_busy && sl_outq_bytes(&c->out) == 0) return false;
    /* A request in flight: the client may only have shut down its sending side. Keep the socket
     * to deliver the response, but tell the handler the client is gone. */
    sl_req_t *r = c->h1_busy ? c->h1_cur : NULL;
    if (r) {
        r->closed = true;
        r->keep_alive = false; /* its answer, when it comes, closes the connection */
        sl_req_notify(r, true, false);
    } else {
        /* Only with the answer already queued: set while the handler still works, it would
         * close the connection at the next flush, before the answer (an answer from another
         * thread, such as S3's to a body cut short, came too late). */
        c->close_after_flush = true;
    }
    return true;
}

static void h1_on_output(sl_conn_t *c) {
    if (!c->h1_cur || !c->h1_cur->want_writable ||
        sl_outq_bytes(&c->out) >= SL_NET_STREAM_LOW_WATER)
        return;
    if (sl_conn_output_ok(c)) {
        c->h1_cur->want_writable = false;
        sl_req_notify(c->h1_cur, false, true);
    } else {
        sl_conn_wait(c); /* the process is over its output budget */
    }
}

/* Parses input buffered while the previous request was in flight, then reads again. */
static void h1_resume(sl_conn_t *c, bool recheck) {
    (void)recheck;
    bool taking = !c->h1_busy || (c->h1_stream && !h1_stream_full(c));
    if (!c->process_input || !taking) return;
    c->process_input = false;
    if (c->in_len > 0) {
        size_t used = sl_h1_input(c, c->in, c->in_len);
        if (c->dead) return;
        memmove(c->in, c->in + used, c->in_len - used);
        c->in_len -= used;
    }
    taking = !c->h1_busy || (c->h1_stream && !h1_stream_full(c));
    if (c->read_paused && taking && !c->close_after_flush && !c->dispatch_wait && !c->body_wait) {
        c->read_paused = false;
        if (c->ssl) c->read_again = true;
        sl_conn_update_events(c);
    }
}

static bool h1_idle(const sl_conn_t *c) {
    /* Pipelined requests waiting in the input buffer are work, not idleness. */
    return !c->h1_busy && sl_outq_bytes(&c->out) == 0 && c->in_len == 0 && !c->dispatch_wait;
}

static bool h1_check_deadlines(sl_conn_t *c, int64_t now) {
    const sl_http_server_t *srv = c->w->srv;
    sl_req_t *sr = c->h1_stream;
    if (sr && !sr->sbody.holding && sr->sbody.in.len == 0 && c->in_len == 0 &&
        now - c->head_done_ms >= srv->body_timeout_ms) {
        /* a streamed body that stopped coming while the handler waited for it */
        sl_req_body_fail(sr, SL_ETIMEDOUT);
        sl_conn_abort(c);
        return false;
    }
    if (c->h1_busy || c->close_after_flush || !c->h1_cur || c->req_start_ms == 0) return true;
    if (c->head_done_ms == 0) {
        if (now - c->req_start_ms < srv->header_timeout_ms) return true;
        sl_h1_error(c, 408, "request header timeout");
        return false;
    }
    if (c->body_wait || now - c->head_done_ms < srv->body_timeout_ms) return true;
    sl_h1_error(c, 408, "request body timeout");
    return false;
}

static bool h1_stop(sl_conn_t *c) {
    if (c->h1_busy) {
        if (c->h1_cur) c->h1_cur->keep_alive = false;
        return true;
    }
    return c->close_after_flush; /* an error response is still leaving */
}

/* The handler gave a piece back: take the input that waited, and read again. */
static void h1_body_next(sl_req_t *r, size_t taken) {
    (void)taken;
    sl_conn_t *c = r->conn;
    if (c->h1_stream != r) return;
    c->head_done_ms = sl_loop_now_ms(c->w->loop);
    c->process_input = true;
    sl_conn_mark_dirty(c);
}

static long h1_stream_backlog(sl_req_t *r) {
    return (long)sl_outq_bytes(&r->conn->out);
}

const sl_proto_t sl_h1_proto = {
    .input = sl_h1_input,
    .input_held = h1_input_held,
    .read_blocked = h1_read_blocked,
    .body_blocked = sl_h1_body_blocked,
    .read_direct = h1_read_direct,
    .bytes_are_activity = true,
    .on_eof = h1_on_eof,
    .on_output = h1_on_output,
    .resume = h1_resume,
    .idle = h1_idle,
    .check_deadlines = h1_check_deadlines,
    .stop = h1_stop,
    .respond = sl_h1_respond,
    .stream_begin = sl_h1_stream_begin,
    .stream_write = sl_h1_stream_write,
    .stream_backlog = h1_stream_backlog,
    .stream_end = sl_h1_stream_end,
    .stream_abort = h1_stream_abort,
    .body_next = h1_body_next,
};
