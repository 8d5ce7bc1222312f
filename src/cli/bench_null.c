/* The trivial responder behind `sluice bench --target null`: one thread, one epoll loop, answering
 * every HTTP/1.1 or h2c (prior knowledge) POST with 200 and a minimal Kinesis-shaped JSON body
 * chosen by X-Amz-Target, without looking at the body. GetRecords gets one canned answer built at
 * start (records of --record-size bytes, never caught up), written from that one copy. Running the
 * load generator against it in the same run shows the tool's own ceiling, so a server result below
 * it is the server's. */
#include "cli/bench_internal.h"

#include "core/common.h"
#include "wire/base64.h"

#include <errno.h>
#include <nghttp2/nghttp2.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

static const char put_records_body[] = "{\"FailedRecordCount\":0,\"Records\":[]}";
static const char put_record_body[] =
    "{\"SequenceNumber\":\"1\",\"ShardId\":\"shardId-000000000000\"}";
static const char other_body[] = "{}";
static const char gsi_body[] = "{\"ShardIterator\":\"null-iterator\"}";
static char *g_get_body; /* the canned GetRecords answer */
static size_t g_get_len;

typedef struct {
    int fd;
    int mode; /* 0: unknown yet, 1: HTTP/1.1, 2: h2c */
    sl_buf_t in;
    sl_buf_t out;
    size_t out_off;  /* bytes of out already written */
    const char *big; /* HTTP/1.1: a canned body written after out, by pointer */
    size_t big_len, big_off;
    nghttp2_session *h2;
} null_conn_t;

typedef struct {
    const char *body;
    size_t len;
    size_t off;
} null_stream_t;

static int g_listen = -1, g_epoll = -1, g_wake = -1;
static pthread_t g_thread;

static const char *body_for(const char *target, size_t n, size_t *len) {
    if (n >= 10 && memcmp(target + n - 10, "PutRecords", 10) == 0) {
        *len = sizeof put_records_body - 1;
        return put_records_body;
    }
    if (n >= 9 && memcmp(target + n - 9, "PutRecord", 9) == 0) {
        *len = sizeof put_record_body - 1;
        return put_record_body;
    }
    if (n >= 16 && memcmp(target + n - 16, "GetShardIterator", 16) == 0) {
        *len = sizeof gsi_body - 1;
        return gsi_body;
    }
    if (n >= 10 && memcmp(target + n - 10, "GetRecords", 10) == 0 && g_get_body) {
        *len = g_get_len;
        return g_get_body;
    }
    *len = sizeof other_body - 1;
    return other_body;
}

/* Writes out, then the pending canned body, until the socket is full; true when all is written. */
static bool flush_out(null_conn_t *c) {
    while (c->out_off < c->out.len || c->big_off < c->big_len) {
        struct iovec iov[2];
        int n = 0;
        if (c->out_off < c->out.len)
            iov[n++] = (struct iovec){c->out.data + c->out_off, c->out.len - c->out_off};
        if (c->big_off < c->big_len)
            iov[n++] = (struct iovec){(void *)(c->big + c->big_off), c->big_len - c->big_off};
        ssize_t w = writev(c->fd, iov, n);
        if (w <= 0) return false;
        size_t ow = SL_MIN((size_t)w, c->out.len - c->out_off);
        c->out_off += ow;
        c->big_off += (size_t)w - ow;
    }
    c->out.len = c->out_off = 0;
    c->big = NULL;
    c->big_len = c->big_off = 0;
    return true;
}

/* HTTP/1.1: answer every complete request in the input buffer (one at a time while a canned body
 * is still being written). */
static void serve_h1(null_conn_t *c) {
    size_t p = 0;
    bool held = false; /* requests may wait behind a canned body still being written */
    for (;;) {
        if (c->big) {
            held = true;
            break;
        }
        const char *b = c->in.data + p;
        size_t len = c->in.len - p;
        const char *end = memmem(b, len, "\r\n\r\n", 4);
        if (!end) break;
        size_t hlen = (size_t)(end - b) + 4;
        size_t clen = 0;
        const char *target = "", *line = b;
        size_t tlen = 0;
        while (line < end) {
            const char *eol = memmem(line, (size_t)(end + 2 - line), "\r\n", 2);
            if (!eol) break;
            if ((size_t)(eol - line) > 15 && strncasecmp(line, "content-length:", 15) == 0)
                clen = strtoull(line + 15, NULL, 10);
            else if ((size_t)(eol - line) > 13 && strncasecmp(line, "x-amz-target:", 13) == 0) {
                target = line + 13;
                tlen = (size_t)(eol - target);
            }
            line = eol + 2;
        }
        if (len < hlen + clen) break;
        size_t bl;
        const char *body = body_for(target, tlen, &bl);
        sl_buf_printf(&c->out,
                      "HTTP/1.1 200 OK\r\nContent-Type: "
                      "application/x-amz-json-1.1\r\nContent-Length: %zu\r\n\r\n",
                      bl);
        if (bl > 65536) {
            c->big = body;
            c->big_len = bl;
            c->big_off = 0;
        } else {
            sl_buf_append(&c->out, body, bl);
        }
        p += hlen + clen;
    }
    memmove(c->in.data, c->in.data + p, c->in.len - p);
    c->in.len -= p;
    if (flush_out(c) && held && c->in.len) serve_h1(c);
}

/* ---- h2c ---- */

static ssize_t h2_send(nghttp2_session *s, const uint8_t *data, size_t len, int flags, void *ud) {
    (void)s, (void)flags;
    null_conn_t *c = ud;
    sl_buf_append(&c->out, data, len);
    return (ssize_t)len;
}

static int h2_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name, size_t nl,
                     const uint8_t *value, size_t vl, uint8_t flags, void *ud) {
    (void)flags, (void)ud;
    if (f->hd.type != NGHTTP2_HEADERS || nl != 12 || memcmp(name, "x-amz-target", 12) != 0)
        return 0;
    null_stream_t *st = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
    if (st) st->body = body_for((const char *)value, vl, &st->len);
    return 0;
}

static int h2_begin_headers(nghttp2_session *s, const nghttp2_frame *f, void *ud) {
    (void)ud;
    if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
    null_stream_t *st = calloc(1, sizeof *st);
    if (!st) return NGHTTP2_ERR_CALLBACK_FAILURE;
    st->body = other_body;
    st->len = sizeof other_body - 1;
    nghttp2_session_set_stream_user_data(s, f->hd.stream_id, st);
    return 0;
}

static ssize_t h2_read_body(nghttp2_session *s, int32_t sid, uint8_t *buf, size_t len,
                            uint32_t *flags, nghttp2_data_source *src, void *ud) {
    (void)s, (void)sid, (void)ud;
    null_stream_t *st = src->ptr;
    size_t n = SL_MIN(len, st->len - st->off);
    memcpy(buf, st->body + st->off, n);
    st->off += n;
    if (st->off == st->len) *flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

static int h2_frame_recv(nghttp2_session *s, const nghttp2_frame *f, void *ud) {
    (void)ud;
    if ((f->hd.type == NGHTTP2_HEADERS || f->hd.type == NGHTTP2_DATA) &&
        (f->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
        null_stream_t *st = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
        if (!st) return 0;
        char clen[24];
        snprintf(clen, sizeof clen, "%zu", st->len);
        nghttp2_nv nv[] = {
            {(uint8_t *)":status", (uint8_t *)"200", 7, 3, NGHTTP2_NV_FLAG_NONE},
            {(uint8_t *)"content-type", (uint8_t *)"application/x-amz-json-1.1", 12, 26,
             NGHTTP2_NV_FLAG_NONE},
            {(uint8_t *)"content-length", (uint8_t *)clen, 14, strlen(clen), NGHTTP2_NV_FLAG_NONE},
        };
        nghttp2_data_provider prd = {.source.ptr = st, .read_callback = h2_read_body};
        nghttp2_submit_response(s, f->hd.stream_id, nv, 3, &prd);
    }
    return 0;
}

static int h2_stream_close(nghttp2_session *s, int32_t sid, uint32_t code, void *ud) {
    (void)code, (void)ud;
    free(nghttp2_session_get_stream_user_data(s, sid));
    return 0;
}

static int start_h2(null_conn_t *c) {
    nghttp2_session_callbacks *cb;
    if (nghttp2_session_callbacks_new(&cb) != 0) return SL_ENOMEM;
    nghttp2_session_callbacks_set_send_callback(cb, h2_send);
    nghttp2_session_callbacks_set_on_header_callback(cb, h2_header);
    nghttp2_session_callbacks_set_on_begin_headers_callback(cb, h2_begin_headers);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, h2_frame_recv);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, h2_stream_close);
    int rc = nghttp2_session_server_new(&c->h2, cb, c);
    nghttp2_session_callbacks_del(cb);
    if (rc != 0) return SL_ENOMEM;
    nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 1000},
                                   {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, (1u << 30)}};
    nghttp2_submit_settings(c->h2, NGHTTP2_FLAG_NONE, iv, 2);
    nghttp2_session_set_local_window_size(c->h2, NGHTTP2_FLAG_NONE, 0, (1 << 30));
    c->mode = 2;
    return 0;
}

static void close_conn(null_conn_t *c) {
    epoll_ctl(g_epoll, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    if (c->h2) nghttp2_session_del(c->h2);
    sl_buf_free(&c->in);
    sl_buf_free(&c->out);
    free(c);
}

static void on_readable(null_conn_t *c) {
    for (;;) {
        char *p = sl_buf_reserve(&c->in, 262144);
        if (!p) {
            close_conn(c);
            return;
        }
        ssize_t n = read(c->fd, p, 262144);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            close_conn(c);
            return;
        }
        if (n < 0) break;
        c->in.len += (size_t)n;
    }
    if (c->mode == 0) {
        if (c->in.len < 3) return;
        if (memcmp(c->in.data, "PRI", 3) == 0) {
            if (start_h2(c) != 0) {
                close_conn(c);
                return;
            }
        } else {
            c->mode = 1;
        }
    }
    if (c->mode == 1) {
        serve_h1(c);
        return;
    }
    ssize_t used = nghttp2_session_mem_recv(c->h2, (const uint8_t *)c->in.data, c->in.len);
    if (used < 0) {
        close_conn(c);
        return;
    }
    c->in.len = 0;
    if (nghttp2_session_send(c->h2) != 0) {
        close_conn(c);
        return;
    }
    flush_out(c);
}

static void *null_main(void *arg) {
    (void)arg;
    struct epoll_event evs[64];
    for (;;) {
        int n = epoll_wait(g_epoll, evs, 64, -1);
        for (int i = 0; i < n; i++) {
            void *ptr = evs[i].data.ptr;
            if (ptr == &g_wake) return NULL;
            if (ptr == &g_listen) {
                for (;;) {
                    int fd = accept4(g_listen, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                    if (fd < 0) break;
                    int one = 1;
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    null_conn_t *c = calloc(1, sizeof *c);
                    if (!c) {
                        close(fd);
                        continue;
                    }
                    c->fd = fd;
                    sl_buf_init(&c->in);
                    sl_buf_init(&c->out);
                    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLET, .data.ptr = c};
                    epoll_ctl(g_epoll, EPOLL_CTL_ADD, fd, &ev);
                }
                continue;
            }
            null_conn_t *c = ptr;
            if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
                on_readable(c);
            else if (evs[i].events & EPOLLOUT) {
                bool held = c->big != NULL;
                if (flush_out(c) && held && c->mode == 1 && c->in.len) serve_h1(c);
            }
        }
    }
}

/* Builds the canned GetRecords answer: min(--get-limit, 10 MiB / --record-size) records. */
static int build_get_body(const sl_bench_cfg_t *cfg) {
    size_t size = (size_t)cfg->record_size;
    size_t n = SL_MIN((size_t)cfg->get_limit, SL_MAX((size_t)1, (size_t)(10u << 20) / size));
    uint8_t *raw = malloc(size);
    if (!raw) return SL_ENOMEM;
    for (size_t i = 0; i < size; i++)
        raw[i] = (uint8_t)(i * 131 + 7);
    sl_buf_t b;
    sl_buf_init(&b);
    sl_buf_append_str(&b, "{\"Records\":[");
    for (size_t i = 0; i < n; i++) {
        sl_buf_printf(
            &b,
            "%s{\"SequenceNumber\":\"49590338271490256608559692538361571095921575989136588%03zu\","
            "\"ApproximateArrivalTimestamp\":1716000000.123,\"Data\":\"",
            i ? "," : "", i % 1000);
        char *p = sl_buf_reserve(&b, sl_base64_encoded_len(size));
        if (p) {
            sl_base64_encode(raw, size, p);
            b.len += sl_base64_encoded_len(size);
        }
        sl_buf_printf(&b, "\",\"PartitionKey\":\"%016zx\"}", i);
    }
    sl_buf_append_str(&b, "],\"NextShardIterator\":\"null-iterator\",\"MillisBehindLatest\":1000}");
    free(raw);
    if (sl_buf_failed(&b)) {
        sl_buf_free(&b);
        return SL_ENOMEM;
    }
    g_get_body = b.data;
    g_get_len = b.len;
    return 0;
}

int sl_bench_null_start(const sl_bench_cfg_t *cfg, int *port) {
    if (cfg->workload == SL_BENCH_READ && build_get_body(cfg) != 0) return SL_ENOMEM;
    g_listen = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (g_listen < 0) return SL_EIO;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    if (bind(g_listen, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(g_listen, 4096) != 0 ||
        getsockname(g_listen, (struct sockaddr *)&sa, &sl) != 0)
        return SL_EIO;
    *port = ntohs(sa.sin_port);
    g_epoll = epoll_create1(EPOLL_CLOEXEC);
    g_wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &g_listen};
    epoll_ctl(g_epoll, EPOLL_CTL_ADD, g_listen, &ev);
    ev.data.ptr = &g_wake;
    epoll_ctl(g_epoll, EPOLL_CTL_ADD, g_wake, &ev);
    if (pthread_create(&g_thread, NULL, null_main, NULL) != 0) return SL_EIO;
    return 0;
}

void sl_bench_null_stop(void) {
    uint64_t one = 1;
    if (write(g_wake, &one, sizeof one) < 0) return;
    pthread_join(g_thread, NULL);
    close(g_listen);
    close(g_wake);
    close(g_epoll);
    free(g_get_body);
    g_get_body = NULL;
}
