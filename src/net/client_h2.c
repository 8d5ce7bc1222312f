/* HTTP/2 for the outbound client: one nghttp2 client session per connection, a stream per call.
 * Frames are produced with nghttp2_session_mem_send into the connection's output buffer (so the
 * HEADERS and DATA of a request leave in one write) and never from inside nghttp2 callbacks: a
 * connection being processed is pinned, and its pending frames are sent when it is unpinned.
 * Request bodies are read from the caller's buffer by pointer; response bodies are buffered per
 * call (bounded) or handed to the caller as they arrive (streaming mode). */
#include "net/client_internal.h"

#include "core/common.h"
#include "core/limits.h"
#include "core/log.h"

#include <stdlib.h>
#include <string.h>

static hc_conn_t *conn_of(void *ud) {
    return ud;
}

static sl_http_call_t *call_of(nghttp2_session *s, int32_t sid) {
    return sid > 0 ? nghttp2_session_get_stream_user_data(s, sid) : NULL;
}

static int on_begin_headers(nghttp2_session *s, const nghttp2_frame *f, void *ud) {
    (void)ud;
    sl_http_call_t *call = call_of(s, f->hd.stream_id);
    if (call && f->hd.type == NGHTTP2_HEADERS && f->headers.cat == NGHTTP2_HCAT_RESPONSE) {
        call->resp.header_count = 0; /* a final response after an interim 1xx replaces it */
        call->rheader_bytes = 0;
    }
    return 0;
}

static int on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name, size_t nl,
                     const uint8_t *value, size_t vl, uint8_t flags, void *ud) {
    (void)flags, (void)ud;
    if (f->hd.type != NGHTTP2_HEADERS) return 0;
    sl_http_call_t *call = call_of(s, f->hd.stream_id);
    if (!call || call->head_delivered) return 0; /* trailers are not reported */
    if (nl == 7 && memcmp(name, ":status", 7) == 0) {
        int st = 0;
        for (size_t i = 0; i < vl && i < 3; i++)
            st = st * 10 + (value[i] - '0');
        call->resp.status = st;
        return 0;
    }
    if (nl > 0 && name[0] == ':') return 0;
    call->rheader_bytes += nl + vl + 32;
    if (call->resp.header_count == SL_HTTP_HEADERS_MAX ||
        call->rheader_bytes > SL_HTTP_HEADER_BYTES_MAX) {
        call->pending_error = SL_HTTPC_ETOOLARGE;
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* resets the stream */
    }
    if (call->resp.header_count == call->rheader_cap) {
        size_t cap = call->rheader_cap ? call->rheader_cap * 2 : 16;
        sl_http_header_t *hs = sl_arena_alloc(&call->arena, cap * sizeof *hs);
        if (!hs) goto nomem;
        if (call->resp.header_count)
            memcpy(hs, call->rheaders, call->resp.header_count * sizeof *hs);
        call->rheaders = hs;
        call->rheader_cap = cap;
        call->resp.headers = hs;
    }
    char *n = sl_arena_strndup(&call->arena, (const char *)name, nl);
    char *v = sl_arena_strndup(&call->arena, (const char *)value, vl);
    if (!n || !v) goto nomem;
    call->rheaders[call->resp.header_count++] = (sl_http_header_t){n, nl, v, vl};
    return 0;
nomem:
    call->pending_error = SL_HTTPC_ENOMEM;
    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
}

static int on_frame_recv(nghttp2_session *s, const nghttp2_frame *f, void *ud) {
    hc_conn_t *c = conn_of(ud);
    if (f->hd.type == NGHTTP2_GOAWAY) {
        c->goaway = true;
        sl_hc_conn_unavail(c);
        return 0;
    }
    if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_RESPONSE) return 0;
    sl_http_call_t *call = call_of(s, f->hd.stream_id);
    if (!call || call->resp.status < 200) return 0;
    if (call->on_data && !sl_hc_call_head(call)) return 0;
    return 0;
}

static int on_data_chunk(nghttp2_session *s, uint8_t flags, int32_t sid, const uint8_t *data,
                         size_t len, void *ud) {
    (void)flags, (void)ud;
    sl_http_call_t *call = call_of(s, sid);
    if (!call) return 0;
    if (call->on_data) {
        sl_hc_call_data(call, data, len);
        return 0;
    }
    if (call->rbody.len + len > call->body_max) {
        call->pending_error = SL_HTTPC_ETOOLARGE;
        nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, sid, NGHTTP2_CANCEL);
        return 0;
    }
    sl_buf_append(&call->rbody, data, len);
    if (sl_buf_failed(&call->rbody)) {
        call->pending_error = SL_HTTPC_ENOMEM;
        nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, sid, NGHTTP2_CANCEL);
    }
    return 0;
}

static int on_stream_close(nghttp2_session *s, int32_t sid, uint32_t code, void *ud) {
    hc_conn_t *c = conn_of(ud);
    sl_http_call_t *call = call_of(s, sid);
    c->streams--;
    if (call) {
        /* Detach first so the connection is offered to waiting calls before on_done runs. */
        int error = call->pending_error;
        if (!error && code != NGHTTP2_NO_ERROR) error = SL_HTTPC_ESTREAM;
        if (!error && call->resp.status == 0) error = SL_HTTPC_EPROTO;
        call->resp.h2_error = code;
        nghttp2_session_set_stream_user_data(s, sid, NULL);
        call->stream_id = 0;
        if (!error && call->on_data) sl_hc_call_head(call);
        if (!call->finished) {
            sl_hc_conn_released(c);
            sl_hc_call_finish(call, error);
            return 0;
        }
    }
    sl_hc_conn_released(c);
    return 0;
}

static ssize_t read_body(nghttp2_session *s, int32_t sid, uint8_t *buf, size_t len, uint32_t *flags,
                         nghttp2_data_source *src, void *ud) {
    (void)src, (void)ud;
    sl_http_call_t *call = call_of(s, sid);
    if (!call) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* cancelled: the stream is reset */
    size_t n = SL_MIN(len, call->body_len - call->body_off);
    if (n) memcpy(buf, call->body + call->body_off, n);
    call->body_off += n;
    if (call->body_off == call->body_len) *flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

int sl_hc_h2_start(hc_conn_t *c) {
    nghttp2_session_callbacks *cb;
    if (nghttp2_session_callbacks_new(&cb) != 0) return SL_ENOMEM;
    nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
    int rc = nghttp2_session_client_new(&c->sess, cb, c);
    nghttp2_session_callbacks_del(cb);
    if (rc != 0) return SL_ENOMEM;
    nghttp2_settings_entry iv[] = {
        {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, SL_HC_H2_WINDOW},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, SL_HTTP_HEADER_BYTES_MAX}};
    if (nghttp2_submit_settings(c->sess, NGHTTP2_FLAG_NONE, iv, SL_ARRAY_LEN(iv)) != 0 ||
        nghttp2_session_set_local_window_size(c->sess, NGHTTP2_FLAG_NONE, 0, SL_HC_H2_WINDOW) != 0)
        return SL_ENOMEM;
    sl_hc_h2_flush(c);
    return 0;
}

int sl_hc_h2_room(const hc_conn_t *c) {
    if (!c->sess || c->goaway) return 0;
    uint32_t remote =
        nghttp2_session_get_remote_settings(c->sess, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
    int max = c->origin->client->cfg.h2_streams_max;
    if (remote < (uint32_t)max) max = (int)remote;
    return max - c->streams;
}

/* Header fields HTTP/2 forbids (RFC 9113 section 8.2.2); "host" becomes :authority. */
static bool skip_header(const sl_http_header_t *h) {
    static const char *const names[] = {
        "host", "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"};
    for (size_t i = 0; i < SL_ARRAY_LEN(names); i++)
        if (strlen(names[i]) == h->name_len && memcmp(names[i], h->name, h->name_len) == 0)
            return true;
    return false;
}

#define NV(n, nlen, v, vlen)                                                                       \
    ((nghttp2_nv){(uint8_t *)(n), (uint8_t *)(v), (nlen), (vlen), NGHTTP2_NV_FLAG_NONE})

int sl_hc_h2_attach(hc_conn_t *c, sl_http_call_t *call) {
    hc_origin_t *o = c->origin;
    nghttp2_nv *nva = sl_arena_alloc(&call->arena, (call->header_count + 5) * sizeof *nva);
    char *clen = sl_arena_alloc(&call->arena, 24);
    if (!nva || !clen) return SL_ENOMEM;
    const char *authority = o->authority;
    size_t alen = strlen(authority);
    for (size_t i = 0; i < call->header_count; i++)
        if (call->headers[i].name_len == 4 && memcmp(call->headers[i].name, "host", 4) == 0) {
            authority = call->headers[i].value;
            alen = call->headers[i].value_len;
        }
    size_t n = 0;
    const char *scheme = o->tls ? "https" : "http";
    nva[n++] = NV(":method", 7, call->method, strlen(call->method));
    nva[n++] = NV(":scheme", 7, scheme, strlen(scheme));
    nva[n++] = NV(":authority", 10, authority, alen);
    nva[n++] = NV(":path", 5, call->path, strlen(call->path));
    for (size_t i = 0; i < call->header_count; i++) {
        const sl_http_header_t *h = &call->headers[i];
        if (!skip_header(h)) nva[n++] = NV(h->name, h->name_len, h->value, h->value_len);
    }
    if (call->needs_length) {
        int k = snprintf(clen, 24, "%zu", call->body_len);
        nva[n++] = NV("content-length", 14, clen, (size_t)k);
    }
    nghttp2_data_provider prd = {.read_callback = read_body};
    call->body_off = 0;
    int32_t sid = nghttp2_submit_request(c->sess, NULL, nva, n, call->body_len ? &prd : NULL, call);
    if (sid < 0) return SL_ELIMIT;
    call->stream_id = sid;
    c->streams++;
    sl_hc_h2_flush(c);
    return 0;
}

void sl_hc_h2_cancel(hc_conn_t *c, sl_http_call_t *call) {
    if (!c->sess || call->stream_id <= 0) return;
    nghttp2_session_set_stream_user_data(c->sess, call->stream_id, NULL);
    if (c->state != HC_DEAD) {
        nghttp2_submit_rst_stream(c->sess, NGHTTP2_FLAG_NONE, call->stream_id, NGHTTP2_CANCEL);
        sl_hc_h2_flush(c);
    }
    call->stream_id = 0;
}

void sl_hc_h2_flush(hc_conn_t *c) {
    if (c->state != HC_READY || !c->sess || c->fail_timer) return;
    if (c->refs > 0) {
        c->send_pending = true;
        return;
    }
    c->send_pending = false;
    for (;;) {
        while (c->out.len - c->out_off < SL_HC_H2_OUTPUT_HIGH) {
            const uint8_t *data;
            ssize_t n = nghttp2_session_mem_send(c->sess, &data);
            if (n < 0) {
                sl_hc_conn_fail_later(c, SL_HTTPC_EPROTO);
                return;
            }
            if (n == 0) break;
            if (c->out_off == c->out.len) c->out.len = c->out_off = 0;
            sl_buf_append(&c->out, data, (size_t)n);
            if (sl_buf_failed(&c->out)) {
                c->out.failed = false;
                sl_hc_conn_fail_later(c, SL_HTTPC_ENOMEM);
                return;
            }
        }
        int r = sl_hc_conn_flush(c);
        if (r < 0) {
            sl_hc_conn_fail_later(c, r);
            return;
        }
        if (r == 0) return; /* the socket is full: EPOLLOUT continues */
        if (!nghttp2_session_want_write(c->sess)) break;
    }
    if (!nghttp2_session_want_read(c->sess) && !nghttp2_session_want_write(c->sess))
        sl_hc_conn_fail_later(c, SL_HTTPC_ECLOSED); /* GOAWAY exchanged and every stream done */
}

void sl_hc_h2_readable(hc_conn_t *c) {
    sl_http_client_t *cl = c->origin->client;
    if (!cl->scratch) {
        cl->scratch = malloc(SL_HC_READ_BYTES);
        if (!cl->scratch) {
            sl_hc_conn_close(c, SL_HTTPC_ENOMEM);
            return;
        }
    }
    for (int i = 0; c->state == HC_READY; i++) {
        if (i >= SL_HC_READS_PER_EVENT && !(c->ssl && SSL_pending(c->ssl) > 0))
            break; /* as h1_readable */
        long n = sl_hc_conn_read(c, cl->scratch, SL_HC_READ_BYTES);
        if (n == -1) break;
        if (n == 0) {
            sl_hc_conn_close(c, SL_HTTPC_ECLOSED);
            return;
        }
        if (n < 0) {
            sl_hc_conn_close(c, (int)n);
            return;
        }
        ssize_t r = nghttp2_session_mem_recv(c->sess, cl->scratch, (size_t)n);
        if (c->state != HC_READY) return;
        if (r < 0) {
            SL_DEBUG("net: client: HTTP/2 error from %s: %s", c->origin->authority,
                     nghttp2_strerror((int)r));
            sl_hc_conn_close(c, SL_HTTPC_EPROTO);
            return;
        }
        if ((size_t)n < SL_HC_READ_BYTES && !c->ssl) break;
    }
    if (c->state == HC_READY)
        c->send_pending = true; /* WINDOW_UPDATE, SETTINGS ACK, new requests */
}
