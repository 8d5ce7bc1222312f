/* HTTP/2 on a connection, with nghttp2 as the server session: request headers and bodies per
 * stream into sl_req_t, dispatch at END_STREAM, responses through data providers (a complete body,
 * or a deferred provider resumed by each sl_http_stream_write), 413 for oversized bodies. nghttp2
 * answers PING and SETTINGS and sends WINDOW_UPDATEs itself. A client GOAWAY lets open streams
 * finish; the connection closes once no stream is left (sl_h2_done). */
#include "net/internal.h"

#include "core/common.h"
#include "core/limits.h"
#include "core/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static sl_conn_t *conn_of(void *user_data) {
    return user_data;
}

static sl_req_t *stream_req(nghttp2_session *s, int32_t stream_id) {
    return nghttp2_session_get_stream_user_data(s, stream_id);
}

static ssize_t h2_send_cb(nghttp2_session *s, const uint8_t *data, size_t length, int flags,
                          void *user_data) {
    (void)s;
    (void)flags;
    sl_conn_t *c = conn_of(user_data);
    if (c->dead) return NGHTTP2_ERR_CALLBACK_FAILURE;
    if (sl_outq_bytes(&c->out) >= SL_NET_H2_OUTPUT_HIGH) return NGHTTP2_ERR_WOULDBLOCK;
    if (sl_outq_copy(&c->out, data, length) != 0) return NGHTTP2_ERR_CALLBACK_FAILURE;
    return (ssize_t)length;
}

static int h2_on_begin_headers(nghttp2_session *s, const nghttp2_frame *frame, void *user_data) {
    sl_conn_t *c = conn_of(user_data);
    if (c->dead) return NGHTTP2_ERR_CALLBACK_FAILURE;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
    sl_req_t *r = sl_req_new(c);
    if (!r) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* resets this stream */
    r->stream_id = frame->hd.stream_id;
    r->start_ms = sl_loop_now_ms(c->w->loop);
    r->in_session = true;
    r->pub.http_version = 2;
    nghttp2_session_set_stream_user_data(s, frame->hd.stream_id, r);
    return 0;
}

static int add_header(sl_req_t *r, const char *name, size_t nlen, const uint8_t *value,
                      size_t vlen) {
    if (r->pub.header_count >= SL_HTTP_HEADERS_MAX) return -1;
    if (r->pub.header_count == r->header_cap) {
        size_t cap = r->header_cap ? r->header_cap * 2 : 16;
        sl_http_header_t *h = sl_arena_alloc(r->pub.arena, cap * sizeof *h);
        if (!h) return -1;
        if (r->pub.header_count) memcpy(h, r->pub.headers, r->pub.header_count * sizeof *h);
        r->pub.headers = h;
        r->header_cap = cap;
    }
    char *n = sl_arena_strndup(r->pub.arena, name, nlen);
    char *v = sl_arena_strndup(r->pub.arena, (const char *)value, vlen);
    if (!n || !v) return -1;
    r->pub.headers[r->pub.header_count++] = (sl_http_header_t){n, nlen, v, vlen};
    return 0;
}

static int h2_on_header(nghttp2_session *s, const nghttp2_frame *frame, const uint8_t *name,
                        size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                        void *user_data) {
    (void)flags;
    sl_conn_t *c = conn_of(user_data);
    if (c->dead) return NGHTTP2_ERR_CALLBACK_FAILURE;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
    sl_req_t *r = stream_req(s, frame->hd.stream_id);
    if (!r) return 0;
    const char *nm = (const char *)name;
    if (namelen > 0 && nm[0] == ':') {
        if (namelen == 7 && memcmp(nm, ":method", 7) == 0) {
            r->pub.method = sl_arena_strndup(r->pub.arena, (const char *)value, valuelen);
            if (!r->pub.method) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
            r->head_method = strcmp(r->pub.method, "HEAD") == 0;
        } else if (namelen == 5 && memcmp(nm, ":path", 5) == 0) {
            r->pub.path = sl_arena_strndup(r->pub.arena, (const char *)value, valuelen);
            if (!r->pub.path) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
        } else if (namelen == 10 && memcmp(nm, ":authority", 10) == 0) {
            if (add_header(r, "host", 4, value, valuelen) != 0)
                return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
        }
        return 0;
    }
    if (add_header(r, nm, namelen, value, valuelen) != 0)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    if (namelen == 14 && memcmp(nm, "content-length", 14) == 0) {
        /* nghttp2 validated the digits; size the body buffer once or refuse it early. */
        uint64_t cl = 0;
        for (size_t i = 0; i < valuelen && i < 19; i++)
            cl = cl * 10 + (uint64_t)(value[i] - '0');
        size_t max = r->worker->srv->cfg.body_max_bytes;
        r->body_expected = cl > max ? max : (size_t)cl;
        if (cl > max) {
            r->too_large = true;
        } else if (cl > 0 && !r->body) {
            size_t first =
                cl < SL_NET_H2_STREAM_WINDOW * 4 ? (size_t)cl : SL_NET_H2_STREAM_WINDOW * 4;
            r->body = malloc(first + 1);
            if (r->body) r->body_cap = first + 1;
        }
    }
    return 0;
}

/* Frees a request body the handler will never see and gives its bytes back to the budget. */
static void h2_drop_body(sl_req_t *r) {
    free(r->body);
    r->body = NULL;
    r->body_len = r->body_cap = 0;
    if (r->body_acct) sl_body_budget_release(r->worker->srv, r->body_small, r->body_acct);
    r->body_acct = 0;
}

/* Bytes of a streamed body: the connection's window is given back at once (other streams go on),
 * the stream's only when the handler gives the piece back (h2_body_next), so the client can send
 * at most one stream window ahead of the handler. */
static void h2_stream_data(nghttp2_session *s, sl_req_t *r, int32_t stream_id, const uint8_t *data,
                           size_t len) {
    nghttp2_session_consume_connection(s, len);
    if (!r->handler_owned || r->sbody.finished || r->sbody.error) {
        nghttp2_session_consume_stream(s, stream_id, len); /* nobody reads it any more */
        return;
    }
    sl_buf_append(&r->sbody.in, data, len);
    if (sl_buf_failed(&r->sbody.in)) {
        nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, stream_id, NGHTTP2_INTERNAL_ERROR);
        sl_req_body_fail(r, SL_ENOMEM);
        return;
    }
    sl_req_body_notify(r);
}

static int h2_buffer_data(nghttp2_session *s, sl_req_t *r, int32_t stream_id, const uint8_t *data,
                          size_t len);

/* Automatic WINDOW_UPDATEs are off (sl_h2_callbacks_create) so that streamed bodies can hold
 * their stream's window: every other DATA byte is given back as soon as it was received. */
static int h2_on_data_chunk(nghttp2_session *s, uint8_t flags, int32_t stream_id,
                            const uint8_t *data, size_t len, void *user_data) {
    (void)flags;
    sl_conn_t *c = conn_of(user_data);
    if (c->dead) return NGHTTP2_ERR_CALLBACK_FAILURE;
    sl_req_t *r = stream_req(s, stream_id);
    if (r && r->pub.body_streamed) {
        h2_stream_data(s, r, stream_id, data, len);
        return 0;
    }
    int rv = h2_buffer_data(s, r, stream_id, data, len);
    nghttp2_session_consume(s, stream_id, len);
    return rv;
}

static int h2_buffer_data(nghttp2_session *s, sl_req_t *r, int32_t stream_id, const uint8_t *data,
                          size_t len) {
    if (!r || r->too_large || r->over_budget || r->responded || r->handler_owned || r->deferred)
        return 0;
    size_t max = r->worker->srv->cfg.body_max_bytes;
    if (len > max - r->body_len) {
        r->too_large = true;
        h2_drop_body(r);
        return 0;
    }
    if (r->body_acct == 0)
        r->body_small = r->body_expected > 0 && r->body_expected <= SL_HTTP_BODY_SMALL_BYTES;
    if (!sl_body_budget_ok(r->worker->srv, r->body_small)) {
        /* Buffered request bodies are over the process-wide budget: refuse this one (503, the
         * client may retry) rather than buffer it; the rest of it is read and dropped. */
        r->over_budget = true;
        h2_drop_body(r);
        return 0;
    }
    size_t need = r->body_len + len + 1;
    if (need > r->body_cap) {
        size_t cap = r->body_cap ? r->body_cap : 4096;
        while (cap < need)
            cap *= 2;
        if (cap > max + 1) cap = max + 1;
        uint8_t *b = realloc(r->body, cap);
        if (!b) {
            nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, stream_id, NGHTTP2_INTERNAL_ERROR);
            return 0;
        }
        r->body = b;
        r->body_cap = cap;
    }
    memcpy(r->body + r->body_len, data, len);
    r->body_len += len;
    r->body[r->body_len] = 0;
    sl_body_budget_add(r->worker->srv, r->body_small, len);
    r->body_acct += len;
    return 0;
}

static ssize_t h2_read_cb(nghttp2_session *s, int32_t stream_id, uint8_t *buf, size_t length,
                          uint32_t *data_flags, nghttp2_data_source *source, void *user_data);

/* Answers a request the handler never sees (413, 400). The rest of an oversized body is received
 * and dropped rather than refused with RST_STREAM(NO_ERROR): RFC 9113 allows the reset, but
 * clients such as curl 7.88 then report a failed transfer instead of the 413. */
static void h2_internal_response(sl_req_t *r, int status) {
    r->responded = true;
    sl_conn_t *c = r->conn;
    char st[4], len[24];
    snprintf(st, sizeof st, "%d", status);
    /* After the headers (413, 503 for the body budget, 408) the handler's error_body may answer
     * in the request's protocol. */
    const sl_http_server_config_t *cfg = &c->w->srv->cfg;
    const char *ctype = NULL;
    size_t blen = 0;
    void *body = status != 400 && cfg->error_body
                     ? cfg->error_body(cfg->handler_ctx, status, r->pub.headers,
                                       r->pub.header_count, &blen, &ctype)
                     : NULL;
    int n = snprintf(len, sizeof len, "%zu", body ? blen : 0);
    nghttp2_nv nv[] = {
        {(uint8_t *)":status", (uint8_t *)st, 7, 3, NGHTTP2_NV_FLAG_NONE},
        {(uint8_t *)"content-length", (uint8_t *)len, 14, (size_t)n, NGHTTP2_NV_FLAG_NONE},
        {(uint8_t *)"content-type", (uint8_t *)(ctype ? ctype : ""), 12, ctype ? strlen(ctype) : 0,
         NGHTTP2_NV_FLAG_NONE}};
    int rv;
    if (body) {
        free(r->resp_body);
        r->resp_body = body;
        r->resp_len = blen;
        r->resp_off = 0;
        c->h2_held += blen; /* h2_read_cb takes it off as it is sent */
        nghttp2_data_provider prd = {.source.ptr = r, .read_callback = h2_read_cb};
        rv = nghttp2_submit_response(c->h2, r->stream_id, nv, 3, &prd);
    } else {
        rv = nghttp2_submit_response(c->h2, r->stream_id, nv, 2, NULL);
    }
    if (rv != 0)
        nghttp2_submit_rst_stream(c->h2, NGHTTP2_FLAG_NONE, r->stream_id, NGHTTP2_INTERNAL_ERROR);
    h2_drop_body(r);
    sl_conn_mark_dirty(c);
}

/* Dispatches a complete stream; it counts among the connection's unanswered streams until its
 * answer starts (sl_conn_can_dispatch). */
static void h2_dispatch(sl_req_t *r) {
    r->awaiting = true;
    r->conn->awaiting++;
    sl_req_dispatch(r);
}

static int h2_on_frame_recv(nghttp2_session *s, const nghttp2_frame *frame, void *user_data) {
    sl_conn_t *c = conn_of(user_data);
    if (c->dead) return NGHTTP2_ERR_CALLBACK_FAILURE;
    sl_conn_touch(c);
    if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA) return 0;
    sl_req_t *r = stream_req(s, frame->hd.stream_id);
    if (r && r->pub.body_streamed) {
        if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) {
            r->sbody.complete = true;
            sl_req_body_notify(r);
        }
        return 0;
    }
    if (!r || r->responded || r->handler_owned || r->deferred) return 0;
    if (frame->hd.type == NGHTTP2_HEADERS && r->pub.method && r->pub.path &&
        c->w->srv->cfg.stream_body &&
        c->w->srv->cfg.stream_body(c->w->srv->cfg.handler_ctx, &r->pub)) {
        /* the body is streamed: dispatch at the head; its DATA goes to the handler as it comes */
        h2_drop_body(r);
        r->too_large = false;
        r->pub.body_streamed = true;
        r->sbody.complete = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
        h2_dispatch(r);
        return 0;
    }
    if (r->too_large || r->over_budget) {
        h2_internal_response(r, r->too_large ? 413 : 503);
        return 0;
    }
    if (!(frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) return 0;
    if (!r->pub.method || !r->pub.path) {
        h2_internal_response(r, 400);
        return 0;
    }
    if (c->defer_head || !sl_conn_can_dispatch(c)) {
        /* Answers already produced on this connection (or in the process) are not sent yet:
         * the request waits, complete, until they are (sl_h2_dispatch_deferred). */
        r->deferred = true;
        r->defer_next = NULL;
        if (c->defer_tail)
            c->defer_tail->defer_next = r;
        else
            c->defer_head = r;
        c->defer_tail = r;
        sl_conn_wait(c);
        return 0;
    }
    h2_dispatch(r);
    return 0;
}

static int h2_on_stream_close(nghttp2_session *s, int32_t stream_id, uint32_t error_code,
                              void *user_data) {
    (void)error_code;
    sl_conn_t *c = conn_of(user_data);
    if (c->dead) return NGHTTP2_ERR_CALLBACK_FAILURE;
    sl_req_t *r = stream_req(s, stream_id);
    if (!r) return 0;
    nghttp2_session_set_stream_user_data(s, stream_id, NULL);
    r->in_session = false;
    /* Response bytes never to be sent leave the connection's count (and memory) now. */
    size_t held =
        (r->resp_body ? r->resp_len - r->resp_off : 0) + (r->stream_buf.len - r->stream_off);
    SL_ASSERT(c->h2_held >= held);
    c->h2_held -= held;
    free(r->resp_body);
    r->resp_body = NULL;
    r->resp_len = r->resp_off = 0;
    sl_buf_free(&r->stream_buf);
    r->stream_off = 0;
    if (r->handler_owned) {
        /* Reset by the client (or the connection ends) before the response completed. */
        r->closed = true;
        sl_req_notify(r, true, false);
    }
    sl_req_maybe_free(r);
    return 0;
}

static ssize_t h2_read_cb(nghttp2_session *s, int32_t stream_id, uint8_t *buf, size_t length,
                          uint32_t *data_flags, nghttp2_data_source *source, void *user_data) {
    (void)s;
    (void)stream_id;
    sl_conn_t *c = conn_of(user_data);
    sl_req_t *r = source->ptr;
    if (!r->streaming) {
        size_t n = r->resp_len - r->resp_off;
        if (n > length) n = length;
        memcpy(buf, r->resp_body + r->resp_off, n);
        r->resp_off += n;
        SL_ASSERT(c->h2_held >= n);
        c->h2_held -= n;
        if (r->resp_off == r->resp_len) {
            *data_flags |= NGHTTP2_DATA_FLAG_EOF;
            free(r->resp_body);
            r->resp_body = NULL;
        }
        return (ssize_t)n;
    }
    size_t avail = r->stream_buf.len - r->stream_off;
    if (avail == 0) {
        if (r->stream_ended) {
            *data_flags |= NGHTTP2_DATA_FLAG_EOF;
            return 0;
        }
        return NGHTTP2_ERR_DEFERRED;
    }
    size_t n = avail < length ? avail : length;
    memcpy(buf, r->stream_buf.data + r->stream_off, n);
    r->stream_off += n;
    SL_ASSERT(c->h2_held >= n);
    c->h2_held -= n;
    if (r->stream_off == r->stream_buf.len) {
        sl_buf_reset(&r->stream_buf);
        r->stream_off = 0;
        if (r->stream_ended) *data_flags |= NGHTTP2_DATA_FLAG_EOF;
    } else if (r->stream_off > 65536 && r->stream_off > r->stream_buf.len / 2) {
        memmove(r->stream_buf.data, r->stream_buf.data + r->stream_off,
                r->stream_buf.len - r->stream_off);
        r->stream_buf.len -= r->stream_off;
        r->stream_off = 0;
    }
    return (ssize_t)n;
}

int sl_h2_callbacks_create(sl_http_server_t *srv) {
    nghttp2_session_callbacks *cbs;
    if (nghttp2_session_callbacks_new(&cbs) != 0) return SL_ENOMEM;
    nghttp2_session_callbacks_set_send_callback(cbs, h2_send_cb);
    nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, h2_on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cbs, h2_on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, h2_on_data_chunk);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, h2_on_frame_recv);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, h2_on_stream_close);
    srv->h2_callbacks = cbs;
    if (nghttp2_option_new(&srv->h2_option) != 0) return SL_ENOMEM;
    nghttp2_option_set_no_auto_window_update(srv->h2_option, 1);
    return 0;
}

void sl_h2_callbacks_destroy(sl_http_server_t *srv) {
    if (srv->h2_callbacks) nghttp2_session_callbacks_del(srv->h2_callbacks);
    if (srv->h2_option) nghttp2_option_del(srv->h2_option);
    srv->h2_callbacks = NULL;
    srv->h2_option = NULL;
}

int sl_h2_start(sl_conn_t *c) {
    sl_http_server_t *srv = c->w->srv;
    if (nghttp2_session_server_new2(&c->h2, srv->h2_callbacks, c, srv->h2_option) != 0)
        return SL_ENOMEM;
    nghttp2_settings_entry iv[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, SL_HTTP2_STREAMS_MAX},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, SL_NET_H2_STREAM_WINDOW},
    };
    if (nghttp2_submit_settings(c->h2, NGHTTP2_FLAG_NONE, iv, SL_ARRAY_LEN(iv)) != 0 ||
        nghttp2_session_set_local_window_size(c->h2, NGHTTP2_FLAG_NONE, 0, SL_NET_H2_CONN_WINDOW) !=
            0)
        return SL_ENOMEM;
    c->proto = SL_PROTO_H2;
    c->ops = &sl_h2_proto;
    sl_conn_mark_dirty(c);
    return 0;
}

int sl_h2_input(sl_conn_t *c, const char *data, size_t len) {
    ssize_t rv = nghttp2_session_mem_recv(c->h2, (const uint8_t *)data, len);
    if (rv < 0) {
        SL_DEBUG("net: http2: %s", nghttp2_strerror((int)rv));
        return SL_EINVAL;
    }
    return 0;
}

int sl_h2_pump(sl_conn_t *c) {
    int rv = nghttp2_session_send(c->h2);
    if (rv != 0) {
        SL_DEBUG("net: http2 send: %s", nghttp2_strerror(rv));
        return SL_EIO;
    }
    return 0;
}

bool sl_h2_done(sl_conn_t *c) {
    return !nghttp2_session_want_read(c->h2) && !nghttp2_session_want_write(c->h2);
}

void sl_h2_goaway(sl_conn_t *c) {
    nghttp2_submit_goaway(c->h2, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(c->h2),
                          NGHTTP2_NO_ERROR, NULL, 0);
}

/* Builds the response header list in the request's arena: :status, the handler's headers
 * (names lower-cased, connection-specific ones dropped), date and optionally content-length. */
static nghttp2_nv *build_nva(sl_req_t *r, int status, const sl_http_header_t *headers, size_t n,
                             bool with_length, size_t body_len, size_t *count) {
    sl_arena_t *a = r->pub.arena;
    nghttp2_nv *nv = sl_arena_alloc(a, (n + 3) * sizeof *nv);
    char *st = sl_arena_sprintf(a, "%d", status >= 100 && status <= 999 ? status : 500);
    if (!nv || !st) return NULL;
    size_t k = 0;
    nv[k++] =
        (nghttp2_nv){(uint8_t *)":status", (uint8_t *)st, 7, strlen(st), NGHTTP2_NV_FLAG_NONE};
    for (size_t i = 0; i < n; i++) {
        const sl_http_header_t *h = &headers[i];
        if (sl_http_reserved_header(h->name, h->name_len, true)) continue;
        char *name = sl_arena_strndup(a, h->name, h->name_len);
        if (!name) return NULL;
        for (size_t j = 0; j < h->name_len; j++)
            if (name[j] >= 'A' && name[j] <= 'Z') name[j] = (char)(name[j] - 'A' + 'a');
        nv[k++] = (nghttp2_nv){(uint8_t *)name, (uint8_t *)h->value, h->name_len, h->value_len,
                               NGHTTP2_NV_FLAG_NONE};
    }
    size_t dlen;
    const char *date = sl_worker_date(r->worker, &dlen);
    /* The cache holds "Date: <value>\r\n". */
    nv[k++] =
        (nghttp2_nv){(uint8_t *)"date", (uint8_t *)date + 6, 4, dlen - 8, NGHTTP2_NV_FLAG_NONE};
    if (with_length) {
        char *cl = sl_arena_sprintf(a, "%zu", body_len);
        if (!cl) return NULL;
        nv[k++] = (nghttp2_nv){(uint8_t *)"content-length", (uint8_t *)cl, 14, strlen(cl),
                               NGHTTP2_NV_FLAG_NONE};
    }
    *count = k;
    return nv;
}

void sl_h2_respond(sl_req_t *r, int status, const sl_http_header_t *headers, size_t n, void *body,
                   size_t body_len) {
    sl_conn_t *c = r->conn;
    bool bodyless = status < 200 || status == 204 || status == 304;
    size_t count;
    nghttp2_nv *nv = build_nva(r, status, headers, n, !bodyless, body_len, &count);
    int rv = -1;
    if (nv) {
        if (!bodyless && !r->head_method && body_len > 0) {
            r->resp_body = body;
            r->resp_len = body_len;
            r->resp_off = 0;
            body = NULL;
            c->h2_held += body_len;
            nghttp2_data_provider prd = {.source.ptr = r, .read_callback = h2_read_cb};
            rv = nghttp2_submit_response(c->h2, r->stream_id, nv, count, &prd);
        } else {
            rv = nghttp2_submit_response(c->h2, r->stream_id, nv, count, NULL);
        }
    }
    free(body);
    if (rv != 0)
        nghttp2_submit_rst_stream(c->h2, NGHTTP2_FLAG_NONE, r->stream_id, NGHTTP2_INTERNAL_ERROR);
    r->handler_owned = false;
    sl_req_maybe_free(r);
    sl_conn_mark_dirty(c);
}

int sl_h2_stream_begin(sl_req_t *r, int status, const sl_http_header_t *headers, size_t n) {
    sl_conn_t *c = r->conn;
    size_t count;
    nghttp2_nv *nv =
        build_nva(r, status, headers, n, r->stream_sized, (size_t)r->stream_length, &count);
    nghttp2_data_provider prd = {.source.ptr = r, .read_callback = h2_read_cb};
    if (!nv || nghttp2_submit_response(c->h2, r->stream_id, nv, count, &prd) != 0) {
        nghttp2_submit_rst_stream(c->h2, NGHTTP2_FLAG_NONE, r->stream_id, NGHTTP2_INTERNAL_ERROR);
        r->closed = true;
        sl_conn_mark_dirty(c);
        return SL_ECLOSED;
    }
    sl_conn_mark_dirty(c);
    return 0;
}

long sl_h2_stream_write(sl_req_t *r, const void *data, size_t len) {
    sl_conn_t *c = r->conn;
    if (!r->head_method) {
        size_t before = r->stream_buf.len;
        sl_buf_append(&r->stream_buf, data, len);
        c->h2_held += r->stream_buf.len - before;
        size_t pending = r->stream_buf.len - r->stream_off;
        if (sl_buf_failed(&r->stream_buf) || pending > SL_HTTP_OUTPUT_BACKLOG_MAX) {
            /* The client does not read and the handler ignored backpressure. */
            nghttp2_submit_rst_stream(c->h2, NGHTTP2_FLAG_NONE, r->stream_id,
                                      NGHTTP2_INTERNAL_ERROR);
            r->closed = true;
            sl_conn_mark_dirty(c);
            return SL_ECLOSED;
        }
        nghttp2_session_resume_data(c->h2, r->stream_id);
    }
    size_t pending = r->stream_buf.len - r->stream_off;
    if (pending > SL_NET_STREAM_HIGH_WATER) r->want_writable = true;
    sl_conn_mark_dirty(c);
    return (long)pending;
}

long sl_h2_stream_backlog(sl_req_t *r) {
    sl_conn_t *c = r->conn;
    size_t pending = r->stream_buf.len - r->stream_off;
    if (pending > 0 && pending <= SL_NET_STREAM_HIGH_WATER &&
        (nghttp2_session_get_stream_remote_window_size(c->h2, r->stream_id) <= 0 ||
         nghttp2_session_get_remote_window_size(c->h2) <= 0))
        pending = SL_NET_STREAM_HIGH_WATER + 1;
    return (long)pending;
}

void sl_h2_stream_end(sl_req_t *r) {
    sl_conn_t *c = r->conn;
    nghttp2_session_resume_data(c->h2, r->stream_id);
    r->handler_owned = false;
    sl_req_maybe_free(r);
    sl_conn_mark_dirty(c);
}

static void h2_stream_abort(sl_req_t *r) {
    sl_conn_t *c = r->conn;
    nghttp2_submit_rst_stream(c->h2, NGHTTP2_FLAG_NONE, r->stream_id, NGHTTP2_INTERNAL_ERROR);
    r->closed = true;
    r->handler_owned = false;
    sl_req_maybe_free(r);
    sl_conn_mark_dirty(c);
}

void sl_h2_check_writable(sl_conn_t *c) {
    int ready = -1; /* the output bounds, looked at once and only when a stream waits */
    for (sl_req_t *r = c->reqs; r; r = r->next) {
        if (!r->want_writable) continue;
        if (sl_h2_stream_backlog(r) >= (long)SL_NET_STREAM_LOW_WATER) continue; /* or window 0 */
        if (ready < 0) ready = sl_conn_output_ok(c);
        if (!ready) {
            sl_conn_wait(c);
            return;
        }
        r->want_writable = false;
        sl_req_notify(r, false, true);
    }
}

void sl_h2_dispatch_deferred(sl_conn_t *c) {
    while (c->defer_head && !c->dead) {
        if (!sl_conn_can_dispatch(c)) {
            sl_conn_wait(c);
            return;
        }
        sl_req_t *r = c->defer_head;
        c->defer_head = r->defer_next;
        if (!c->defer_head) c->defer_tail = NULL;
        r->defer_next = NULL;
        r->deferred = false;
        if (!r->in_session || r->closed) {
            sl_req_maybe_free(r);
            continue;
        }
        h2_dispatch(r);
    }
    sl_conn_mark_dirty(c);
}

void sl_h2_expire_streams(sl_conn_t *c, int64_t now_ms) {
    sl_http_server_t *srv = c->w->srv;
    int64_t limit = (int64_t)srv->header_timeout_ms + srv->body_timeout_ms;
    for (sl_req_t *r = c->reqs; r; r = r->next) {
        if (!r->in_session || r->handler_owned || r->responded || r->deferred) continue;
        if (now_ms - r->start_ms < limit) continue;
        h2_internal_response(r, 408);
    }
}

/* ---- the protocol table (internal.h) ---- */

static size_t h2_input(sl_conn_t *c, const char *data, size_t len) {
    if (sl_h2_input(c, data, len) != 0)
        sl_conn_abort(c);
    else
        sl_conn_mark_dirty(c);
    return len;
}

static void h2_resume(sl_conn_t *c, bool recheck) {
    if (recheck && c->defer_head) sl_h2_dispatch_deferred(c);
}

static bool h2_check_deadlines(sl_conn_t *c, int64_t now) {
    sl_h2_expire_streams(c, now);
    return !c->dead;
}

static bool h2_stop(sl_conn_t *c) {
    sl_h2_goaway(c);
    sl_conn_mark_dirty(c);
    return true;
}

static bool h2_req_open(const sl_req_t *r) {
    return r->in_session;
}

/* The handler gave back a piece of a streamed body: open the stream's window by as much. */
static void h2_body_next(sl_req_t *r, size_t taken) {
    if (!r->in_session) return;
    nghttp2_session_consume_stream(r->conn->h2, r->stream_id, taken);
    sl_conn_mark_dirty(r->conn);
}

const sl_proto_t sl_h2_proto = {
    .input = h2_input,
    .read_output_high = SL_NET_H2_OUTPUT_HIGH,
    .pump = sl_h2_pump,
    .on_output = sl_h2_check_writable,
    .finished = sl_h2_done,
    .resume = h2_resume,
    .check_deadlines = h2_check_deadlines,
    .stop = h2_stop,
    .req_open = h2_req_open,
    .respond = sl_h2_respond,
    .stream_begin = sl_h2_stream_begin,
    .stream_write = sl_h2_stream_write,
    .stream_backlog = sl_h2_stream_backlog,
    .stream_end = sl_h2_stream_end,
    .stream_abort = h2_stream_abort,
    .body_next = h2_body_next,
};
