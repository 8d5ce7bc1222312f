/* End-to-end tests of the HTTP server on 127.0.0.1 (port 0): a small echo handler, a path answered
 * later from another thread through sl_loop_post, streamed responses driven by timers. Clients
 * are raw sockets (HTTP/1.1 and hand-built HTTP/2 frames) and the real tools users run: curl
 * (HTTP/1.1, h2 prior knowledge, TLS with ALPN), nghttp and h2load. */
#include "core/common.h"
#include "core/crc32c.h"
#include "core/time.h"
#include "net/http.h"
#include "test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <nghttp2/nghttp2.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define BODY_MAX (4u * 1024 * 1024)

static atomic_int g_thread_starts, g_thread_stops;
static atomic_int g_stream_closes;    /* on_close callbacks */
static atomic_int g_delay_saw_closed; /* delayed answers that found the client gone */
static atomic_int g_delay_answered;
static atomic_int g_long_active;
static atomic_int g_big_calls; /* /big answers produced */

/* ---------------------------------------------------------------------------------------- */
/* Handler                                                                                  */

static const char *query_param(const char *path, const char *key, char *out, size_t cap) {
    const char *q = strchr(path, '?');
    size_t kl = strlen(key);
    while (q) {
        q++;
        if (strncmp(q, key, kl) == 0 && q[kl] == '=') {
            const char *v = q + kl + 1;
            size_t n = strcspn(v, "&");
            if (n >= cap) n = cap - 1;
            memcpy(out, v, n);
            out[n] = 0;
            return out;
        }
        q = strchr(q, '&');
    }
    return NULL;
}

static void respond_text(sl_http_req_t *req, int status, const char *text) {
    size_t n = strlen(text);
    char *b = malloc(n + 1);
    memcpy(b, text, n + 1);
    sl_http_header_t h[] = {{"Content-Type", 12, "text/plain", 10}, {"X-Handler", 9, "echo", 4}};
    sl_http_respond(req, status, h, 2, b, n);
}

static void echo(sl_http_req_t *req) {
    size_t cap = 4096 + (req->body_len < 256 ? req->body_len : 256);
    char *out = malloc(cap);
    int n =
        snprintf(out, cap, "method=%s\npath=%s\nversion=%d\ntls=%d\nlen=%zu\ncrc=%08x\nnul=%d\n",
                 req->method, req->path, req->http_version, req->tls, req->body_len,
                 sl_crc32c(0, req->body, req->body_len), req->body[req->body_len] == 0);
    for (size_t i = 0; i < req->header_count && n < (int)cap - 300; i++)
        n += snprintf(out + n, cap - (size_t)n, "h:%s=%.100s\n", req->headers[i].name,
                      req->headers[i].value);
    if (req->body_len <= 256)
        n += snprintf(out + n, cap - (size_t)n, "body=%.*s\n", (int)req->body_len,
                      (const char *)req->body);
    sl_http_header_t h[] = {{"Content-Type", 12, "text/plain", 10}};
    sl_http_respond(req, 200, h, 1, out, (size_t)n);
}

typedef struct {
    sl_http_req_t *req;
    int delay_ms;
} delay_job_t;

static void delay_answer(void *arg) {
    delay_job_t *j = arg;
    if (sl_http_req_closed(j->req)) atomic_fetch_add(&g_delay_saw_closed, 1);
    atomic_fetch_add(&g_delay_answered, 1);
    respond_text(j->req, 200, "delayed answer\n");
    free(j);
}

static void *delay_thread(void *arg) {
    delay_job_t *j = arg;
    usleep((useconds_t)j->delay_ms * 1000);
    sl_loop_post(sl_http_req_loop(j->req), delay_answer, j);
    return NULL;
}

typedef struct {
    sl_http_req_t *req;
    int left, sent;
    bool forever;
    sl_timer_t *timer;
} stream_job_t;

static void stream_tick(void *arg);

static void stream_on_close(sl_http_req_t *req, void *arg) {
    (void)req;
    stream_job_t *j = arg;
    atomic_fetch_add(&g_stream_closes, 1);
    if (j->timer) sl_timer_cancel(j->timer);
    j->timer = NULL;
    if (j->forever) atomic_fetch_sub(&g_long_active, 1);
    sl_http_stream_end(j->req);
    free(j);
}

static void stream_tick(void *arg) {
    stream_job_t *j = arg;
    j->timer = NULL;
    if (j->left == 0) {
        sl_http_stream_end(j->req);
        free(j);
        return;
    }
    char line[64];
    int n = snprintf(line, sizeof line, "chunk %d\n", j->sent++);
    long rc = sl_http_stream_write(j->req, line, (size_t)n);
    if (rc < 0) return; /* on_close follows */
    if (!j->forever) j->left--;
    j->timer = sl_timer_start(sl_http_req_loop(j->req), 10, stream_tick, j);
}

/* /flood?mb=N: streams N MiB as fast as backpressure allows, pausing above 1 MiB unsent. */
static atomic_int g_writable_calls;
static char g_flood_chunk[256 * 1024];

typedef struct {
    sl_http_req_t *req;
    size_t left;
} flood_t;

static void flood_pump(flood_t *f) {
    while (f->left > 0) {
        size_t n = f->left < sizeof g_flood_chunk ? f->left : sizeof g_flood_chunk;
        long rc = sl_http_stream_write(f->req, g_flood_chunk, n);
        if (rc < 0) return; /* on_close follows */
        f->left -= n;
        if (f->left > 0 && rc > 1024 * 1024) return; /* resume in on_writable */
    }
    sl_http_stream_end(f->req);
    free(f);
}

static void flood_writable(sl_http_req_t *req, void *arg) {
    (void)req;
    atomic_fetch_add(&g_writable_calls, 1);
    flood_pump(arg);
}

static void flood_close(sl_http_req_t *req, void *arg) {
    (void)req;
    flood_t *f = arg;
    sl_http_stream_end(f->req);
    free(f);
}

static void handler(void *ctx, sl_http_req_t *req) {
    (void)ctx;
    char v[32];
    if (strncmp(req->path, "/delay", 6) == 0) {
        delay_job_t *j = malloc(sizeof *j);
        j->req = req;
        j->delay_ms = query_param(req->path, "ms", v, sizeof v) ? atoi(v) : 100;
        pthread_t t;
        pthread_create(&t, NULL, delay_thread, j);
        pthread_detach(t);
        return;
    }
    if (strncmp(req->path, "/stream", 7) == 0 || strncmp(req->path, "/long", 5) == 0) {
        stream_job_t *j = calloc(1, sizeof *j);
        j->req = req;
        j->forever = req->path[1] == 'l';
        j->left = query_param(req->path, "n", v, sizeof v) ? atoi(v) : 5;
        if (j->forever) atomic_fetch_add(&g_long_active, 1);
        sl_http_header_t h[] = {{"Content-Type", 12, "application/vnd.amazon.eventstream", 34}};
        sl_http_stream_cbs_t cbs = {.on_close = stream_on_close, .arg = j};
        if (sl_http_stream_begin(req, 200, h, 1, &cbs) != 0) {
            if (j->forever) atomic_fetch_sub(&g_long_active, 1);
            sl_http_stream_end(req);
            free(j);
            return;
        }
        j->timer = sl_timer_start(sl_http_req_loop(req), 10, stream_tick, j);
        return;
    }
    if (strncmp(req->path, "/flood", 6) == 0) {
        flood_t *f = malloc(sizeof *f);
        f->req = req;
        f->left = (size_t)(query_param(req->path, "mb", v, sizeof v) ? atoi(v) : 1) << 20;
        sl_http_stream_cbs_t cbs = {
            .on_writable = flood_writable, .on_close = flood_close, .arg = f};
        if (sl_http_stream_begin(req, 200, NULL, 0, &cbs) != 0) {
            sl_http_stream_end(req);
            free(f);
            return;
        }
        flood_pump(f);
        return;
    }
    if (strncmp(req->path, "/sized", 6) == 0) {
        /* a streamed answer of a known length in 3 writes; abort=1 gives up after the first */
        size_t n = query_param(req->path, "n", v, sizeof v) ? (size_t)atoi(v) : 30000;
        bool give_up = query_param(req->path, "abort", v, sizeof v);
        if (sl_http_stream_begin_sized(req, 200, NULL, 0, n, NULL) != 0) {
            sl_http_stream_end(req);
            return;
        }
        char *b = malloc(n);
        for (size_t i = 0; i < n; i++)
            b[i] = (char)('A' + i % 26);
        size_t third = n / 3;
        sl_http_stream_write(req, b, third);
        if (give_up) {
            sl_http_stream_abort(req);
        } else {
            sl_http_stream_write(req, b + third, third);
            sl_http_stream_write(req, b + 2 * third, n - 2 * third);
            sl_http_stream_end(req);
        }
        free(b);
        return;
    }
    if (strncmp(req->path, "/big", 4) == 0) {
        atomic_fetch_add(&g_big_calls, 1);
        size_t n = 3u * 1024 * 1024 + 17;
        char *b = malloc(n);
        for (size_t i = 0; i < n; i++)
            b[i] = (char)('a' + i % 26);
        sl_http_respond(req, 200, NULL, 0, b, n);
        return;
    }
    if (strcmp(req->path, "/nocontent") == 0) {
        sl_http_respond(req, 204, NULL, 0, NULL, 0);
        return;
    }
    echo(req);
}

static void on_thread_start(sl_loop_t *loop, void *ctx) {
    (void)ctx;
    if (loop && sl_loop_current() == loop) atomic_fetch_add(&g_thread_starts, 1);
}
static void on_thread_stop(sl_loop_t *loop, void *ctx) {
    (void)ctx;
    (void)loop;
    atomic_fetch_add(&g_thread_stops, 1);
}

/* ---------------------------------------------------------------------------------------- */
/* Client helpers                                                                           */

static int connect_to(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    struct timeval tv = {.tv_sec = 10};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static void send_all(int fd, const void *data, size_t len) {
    const char *p = data;
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n <= 0) return;
        p += n;
        len -= (size_t)n;
    }
}

static void send_str(int fd, const char *s) {
    send_all(fd, s, strlen(s));
}

/* A buffered reader for HTTP/1.1 responses on one socket. */
typedef struct {
    int fd;
    char *buf;
    size_t len, cap;
    bool eof;
} reader_t;

static bool reader_fill(reader_t *r) {
    if (r->eof) return false;
    if (r->cap - r->len < 65536) {
        r->cap = r->cap * 2 + 65536;
        r->buf = realloc(r->buf, r->cap);
    }
    ssize_t n = recv(r->fd, r->buf + r->len, r->cap - r->len - 1, 0);
    if (n <= 0) {
        r->eof = true;
        return false;
    }
    r->len += (size_t)n;
    r->buf[r->len] = 0;
    return true;
}

static void reader_drop(reader_t *r, size_t n) {
    memmove(r->buf, r->buf + n, r->len - n);
    r->len -= n;
    r->buf[r->len] = 0;
}

typedef struct {
    int status;
    char head[4096];
    char *body;
    size_t body_len;
    bool chunked;
    int chunks;
} response_t;

static const char *find_header(const char *head, const char *name) {
    /* case-insensitive search for "\r\nName:" */
    size_t n = strlen(name);
    for (const char *p = strstr(head, "\r\n"); p; p = strstr(p + 2, "\r\n")) {
        if (strncasecmp(p + 2, name, n) == 0 && p[2 + n] == ':') {
            const char *v = p + 3 + n;
            while (*v == ' ')
                v++;
            return v;
        }
    }
    return NULL;
}

/* Reads one response (head + body by Content-Length, chunked, or until EOF). */
static bool read_response(reader_t *r, response_t *out) {
    memset(out, 0, sizeof *out);
    char *end;
    while (!(end = r->buf ? strstr(r->buf, "\r\n\r\n") : NULL))
        if (!reader_fill(r)) return false;
    size_t hl = (size_t)(end - r->buf) + 4;
    snprintf(out->head, sizeof out->head, "%.*s", (int)hl, r->buf);
    out->status = atoi(r->buf + 9);
    reader_drop(r, hl);
    if (out->status == 100) return true;
    const char *cl = find_header(out->head, "Content-Length");
    const char *te = find_header(out->head, "Transfer-Encoding");
    if (cl) {
        size_t n = strtoul(cl, NULL, 10);
        while (r->len < n)
            if (!reader_fill(r)) return false;
        out->body = malloc(n + 1);
        memcpy(out->body, r->buf, n);
        out->body[n] = 0;
        out->body_len = n;
        reader_drop(r, n);
        return true;
    }
    if (te && strncasecmp(te, "chunked", 7) == 0) {
        out->chunked = true;
        out->body = calloc(1, 1);
        for (;;) {
            char *le;
            while (!(le = strstr(r->buf, "\r\n")))
                if (!reader_fill(r)) return false;
            size_t sz = strtoul(r->buf, NULL, 16);
            size_t skip = (size_t)(le - r->buf) + 2;
            while (r->len < skip + sz + 2)
                if (!reader_fill(r)) return false;
            if (sz == 0) {
                reader_drop(r, skip + 2);
                return true;
            }
            out->body = realloc(out->body, out->body_len + sz + 1);
            memcpy(out->body + out->body_len, r->buf + skip, sz);
            out->body_len += sz;
            out->body[out->body_len] = 0;
            out->chunks++;
            reader_drop(r, skip + sz + 2);
        }
    }
    if (out->status == 204 || out->status == 304) return true;
    while (reader_fill(r)) {
    }
    out->body = malloc(r->len + 1);
    memcpy(out->body, r->buf, r->len);
    out->body[r->len] = 0;
    out->body_len = r->len;
    reader_drop(r, r->len);
    return true;
}

static bool wait_eof(int fd) {
    char b[4096];
    for (;;) {
        ssize_t n = recv(fd, b, sizeof b, 0);
        if (n == 0) return true;
        if (n < 0) return errno == ECONNRESET;
    }
}

static int run_cmd(const char *cmd, char *out, size_t cap) {
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    size_t n = 0;
    if (out && cap) {
        size_t k;
        while (n + 1 < cap && (k = fread(out + n, 1, cap - 1 - n, p)) > 0)
            n += k;
        out[n] = 0;
    }
    char sink[4096];
    while (fread(sink, 1, sizeof sink, p) > 0) {
    }
    return pclose(p);
}

static int count_substr(const char *s, const char *sub) {
    int n = 0;
    for (const char *p = s; (p = strstr(p, sub)); p += strlen(sub))
        n++;
    return n;
}

static bool wait_for(atomic_int *v, int want, int timeout_ms) {
    int64_t end = sl_time_mono_ms() + timeout_ms;
    while (atomic_load(v) < want && sl_time_mono_ms() < end)
        usleep(5000);
    return atomic_load(v) >= want;
}

/* ---------------------------------------------------------------------------------------- */
/* Raw HTTP/2                                                                               */

static void frame(uint8_t *out, size_t len, uint8_t type, uint8_t flags, uint32_t stream) {
    out[0] = (uint8_t)(len >> 16);
    out[1] = (uint8_t)(len >> 8);
    out[2] = (uint8_t)len;
    out[3] = type;
    out[4] = flags;
    out[5] = (uint8_t)(stream >> 24);
    out[6] = (uint8_t)(stream >> 16);
    out[7] = (uint8_t)(stream >> 8);
    out[8] = (uint8_t)stream;
}

/* Encodes a GET request HEADERS frame (END_STREAM|END_HEADERS) for `path` on stream `sid`. */
static size_t h2_request(uint8_t *out, size_t cap, uint32_t sid, const char *path) {
    nghttp2_hd_deflater *d;
    nghttp2_hd_deflate_new(&d, 4096);
    nghttp2_nv nv[] = {
        {(uint8_t *)":method", (uint8_t *)"GET", 7, 3, 0},
        {(uint8_t *)":scheme", (uint8_t *)"http", 7, 4, 0},
        {(uint8_t *)":path", (uint8_t *)path, 5, strlen(path), 0},
        {(uint8_t *)":authority", (uint8_t *)"localhost", 10, 9, 0},
    };
    ssize_t n = nghttp2_hd_deflate_hd(d, out + 9, cap - 9, nv, 4);
    nghttp2_hd_deflate_del(d);
    frame(out, (size_t)n, 0x1, 0x1 | 0x4, sid);
    return (size_t)n + 9;
}

typedef struct {
    int status; /* from the HEADERS on the watched stream */
    char body[8192];
    size_t body_len;
    bool end_stream; /* END_STREAM seen on the watched stream */
    int ping_acks;   /* PING frames with ACK */
    uint8_t ping_data[8];
    int pings; /* PING frames without ACK (server-initiated) */
    int goaways, rsts;
    bool closed; /* server closed the connection */
} h2_result_t;

/* Reads frames until EOF or timeout or (stop_on_end && END_STREAM on `sid`). */
static void h2_read(int fd, uint32_t sid, bool stop_on_end, int timeout_ms, h2_result_t *res) {
    nghttp2_hd_inflater *inf;
    nghttp2_hd_inflate_new(&inf);
    uint8_t *buf = malloc(1 << 20);
    size_t len = 0;
    int64_t end = sl_time_mono_ms() + timeout_ms;
    while (sl_time_mono_ms() < end) {
        /* parse complete frames */
        while (len >= 9) {
            size_t flen = ((size_t)buf[0] << 16) | ((size_t)buf[1] << 8) | buf[2];
            if (len < 9 + flen) break;
            uint8_t type = buf[3], flags = buf[4];
            uint32_t stream = ((uint32_t)(buf[5] & 0x7f) << 24) | ((uint32_t)buf[6] << 16) |
                              ((uint32_t)buf[7] << 8) | buf[8];
            uint8_t *pl = buf + 9;
            if (type == 0x1 && stream == sid) {
                size_t off = 0;
                for (;;) {
                    nghttp2_nv nv;
                    int fl = 0;
                    ssize_t k = nghttp2_hd_inflate_hd2(inf, &nv, &fl, pl + off, flen - off, 1);
                    if (k < 0) break;
                    off += (size_t)k;
                    if (fl & NGHTTP2_HD_INFLATE_EMIT) {
                        if (nv.namelen == 7 && memcmp(nv.name, ":status", 7) == 0)
                            res->status = atoi((const char *)nv.value);
                    }
                    if (fl & NGHTTP2_HD_INFLATE_FINAL) {
                        nghttp2_hd_inflate_end_headers(inf);
                        break;
                    }
                    if (k == 0 && !(fl & NGHTTP2_HD_INFLATE_EMIT)) break;
                }
            } else if (type == 0x1) {
                /* keep the HPACK context in sync for other streams */
                size_t off = 0;
                for (;;) {
                    nghttp2_nv nv;
                    int fl = 0;
                    ssize_t k = nghttp2_hd_inflate_hd2(inf, &nv, &fl, pl + off, flen - off, 1);
                    if (k < 0) break;
                    off += (size_t)k;
                    if (fl & NGHTTP2_HD_INFLATE_FINAL) {
                        nghttp2_hd_inflate_end_headers(inf);
                        break;
                    }
                    if (k == 0 && !(fl & NGHTTP2_HD_INFLATE_EMIT)) break;
                }
            } else if (type == 0x0 && stream == sid) {
                size_t n = flen < sizeof res->body - res->body_len
                               ? flen
                               : sizeof res->body - res->body_len;
                memcpy(res->body + res->body_len, pl, n);
                res->body_len += n;
            } else if (type == 0x6) {
                if (flags & 0x1) {
                    res->ping_acks++;
                    memcpy(res->ping_data, pl, 8);
                } else {
                    res->pings++;
                }
            } else if (type == 0x7) {
                res->goaways++;
            } else if (type == 0x3) {
                res->rsts++;
            }
            if (stream == sid && (type == 0x0 || type == 0x1) && (flags & 0x1))
                res->end_stream = true;
            memmove(buf, buf + 9 + flen, len - 9 - flen);
            len -= 9 + flen;
            if (stop_on_end && res->end_stream) goto done;
        }
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int left = (int)(end - sl_time_mono_ms());
        if (left <= 0 || poll(&pfd, 1, left) <= 0) break;
        ssize_t n = recv(fd, buf + len, (1 << 20) - len, 0);
        if (n <= 0) {
            res->closed = true;
            break;
        }
        len += (size_t)n;
    }
done:
    free(buf);
    nghttp2_hd_inflate_del(inf);
}

static const char PREFACE[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/* ---------------------------------------------------------------------------------------- */
/* Tests                                                                                    */

static void test_h1_pipelined(int port) {
    int fd = connect_to(port);
    const char req[] = "GET /echo/1 HTTP/1.1\r\nHost: x\r\nX-Test: One\r\n\r\n"
                       "POST /echo/2 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello";
    send_all(fd, req, sizeof req - 1);
    reader_t r = {.fd = fd};
    response_t a, b;
    CHECK(read_response(&r, &a));
    CHECK(read_response(&r, &b));
    CHECK_EQ_INT(a.status, 200);
    CHECK(a.body && strstr(a.body, "path=/echo/1\n"));
    CHECK(a.body && strstr(a.body, "h:x-test=One\n"));
    CHECK(a.body && strstr(a.body, "method=GET\n"));
    CHECK(a.body && strstr(a.body, "nul=1\n"));
    CHECK(strstr(a.head, "HTTP/1.1 200 OK\r\n") == a.head);
    CHECK(find_header(a.head, "Date") != NULL);
    CHECK(find_header(a.head, "Connection") &&
          strncmp(find_header(a.head, "Connection"), "keep-alive", 10) == 0);
    CHECK_EQ_INT(b.status, 200);
    CHECK(b.body && strstr(b.body, "path=/echo/2\n"));
    CHECK(b.body && strstr(b.body, "body=hello\n"));
    /* keep-alive: the same connection serves a third request, a HEAD and a 204 */
    send_str(fd, "GET /nocontent HTTP/1.1\r\n\r\nOPTIONS /opt HTTP/1.1\r\n\r\n");
    response_t c, d;
    CHECK(read_response(&r, &c));
    CHECK_EQ_INT(c.status, 204);
    CHECK(find_header(c.head, "Content-Length") == NULL);
    CHECK(read_response(&r, &d));
    CHECK(d.body && strstr(d.body, "method=OPTIONS\n"));
    free(a.body);
    free(b.body);
    free(c.body);
    free(d.body);
    free(r.buf);
    close(fd);
}

static void test_h1_chunked_request(int port) {
    int fd = connect_to(port);
    const char req[] = "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                       "4\r\nWiki\r\n5;x=y\r\npedia\r\n0\r\n\r\n";
    /* byte by byte to exercise incremental parsing over the socket */
    for (size_t i = 0; i < sizeof req - 1; i += 7)
        send_all(fd, req + i, SL_MIN(7, sizeof req - 1 - i));
    reader_t r = {.fd = fd};
    response_t a;
    CHECK(read_response(&r, &a));
    CHECK_EQ_INT(a.status, 200);
    CHECK(a.body && strstr(a.body, "body=Wikipedia\n"));
    free(a.body);
    free(r.buf);
    close(fd);
}

static void test_h1_large_body(int port) {
    size_t n = 3u * 1024 * 1024 + 5;
    char *body = malloc(n);
    for (size_t i = 0; i < n; i++)
        body[i] = (char)(i * 7);
    uint32_t crc = sl_crc32c(0, body, n);
    int fd = connect_to(port);
    char head[128];
    int hl = snprintf(head, sizeof head, "PUT /echo HTTP/1.1\r\nContent-Length: %zu\r\n\r\n", n);
    send_all(fd, head, (size_t)hl);
    send_all(fd, body, n);
    reader_t r = {.fd = fd};
    response_t a;
    CHECK(read_response(&r, &a));
    char want[64];
    snprintf(want, sizeof want, "len=%zu\ncrc=%08x\n", n, crc);
    CHECK(a.body && strstr(a.body, want));
    /* and a large response body on the same connection */
    send_str(fd, "GET /big HTTP/1.1\r\n\r\n");
    response_t b;
    CHECK(read_response(&r, &b));
    CHECK_EQ_INT(b.body_len, 3u * 1024 * 1024 + 17);
    bool ok = b.body != NULL;
    for (size_t i = 0; ok && i < b.body_len; i++)
        ok = b.body[i] == (char)('a' + i % 26);
    CHECK(ok);
    free(a.body);
    free(b.body);
    free(r.buf);
    free(body);
    close(fd);
}

static void test_h1_errors(int port) {
    /* 413 decided by Content-Length before the body, connection closed after. */
    int fd = connect_to(port);
    char head[128];
    int hl = snprintf(head, sizeof head, "POST /echo HTTP/1.1\r\nContent-Length: %u\r\n\r\n",
                      BODY_MAX + 1);
    send_all(fd, head, (size_t)hl);
    send_str(fd, "partial body");
    reader_t r = {.fd = fd};
    response_t a;
    CHECK(read_response(&r, &a));
    CHECK_EQ_INT(a.status, 413);
    CHECK(strstr(a.head, "Connection: close") != NULL);
    CHECK(wait_eof(fd));
    free(a.body);
    free(r.buf);
    close(fd);

    /* malformed -> 400 and close */
    fd = connect_to(port);
    send_str(fd, "GET / HTTP/1.1\r\nBad Header : x\r\n\r\n");
    r = (reader_t){.fd = fd};
    CHECK(read_response(&r, &a));
    CHECK_EQ_INT(a.status, 400);
    CHECK(wait_eof(fd));
    free(a.body);
    free(r.buf);
    close(fd);

    /* header section over the limit -> 431 */
    fd = connect_to(port);
    size_t big = 70 * 1024;
    char *h = malloc(big);
    memcpy(h, "GET / HTTP/1.1\r\nX-Big: ", 23);
    memset(h + 23, 'a', big - 23);
    send_all(fd, h, big);
    r = (reader_t){.fd = fd};
    CHECK(read_response(&r, &a));
    CHECK_EQ_INT(a.status, 431);
    free(a.body);
    free(r.buf);
    free(h);
    close(fd);

    /* HTTP/1.0: answered, then closed */
    fd = connect_to(port);
    send_str(fd, "GET /echo HTTP/1.0\r\n\r\n");
    r = (reader_t){.fd = fd};
    CHECK(read_response(&r, &a));
    CHECK_EQ_INT(a.status, 200);
    CHECK(strstr(a.head, "Connection: close") != NULL);
    CHECK(wait_eof(fd));
    free(a.body);
    free(r.buf);
    close(fd);
}

/* Regression (found by tests/conformance/test_robustness.py): a client that sends a whole request
 * and then shuts down its sending side must still get the answer, also when the server sees the
 * EOF in the same read burst as the end of the body, after a synchronous handler or a framing
 * error already queued the response but before it was flushed. */
static void test_h1_half_close(int port) {
    size_t n = 400 * 1024;
    char *body = malloc(n);
    memset(body, 'x', n);
    for (int round = 0; round < 10; round++) {
        int fd = connect_to(port);
        /* Head, body and FIN all queued before the server reads: it sees them in one burst. */
        char *req = malloc(n + 128);
        int hl = snprintf(req, 128, "PUT /echo HTTP/1.1\r\nContent-Length: %zu\r\n\r\n", n);
        memcpy(req + hl, body, n);
        send_all(fd, req, (size_t)hl + n);
        shutdown(fd, SHUT_WR);
        free(req);
        reader_t r = {.fd = fd};
        response_t a = {0};
        CHECK(read_response(&r, &a));
        CHECK_EQ_INT(a.status, 200);
        char want[64];
        snprintf(want, sizeof want, "len=%zu\n", n);
        CHECK(a.body && strstr(a.body, want));
        CHECK(wait_eof(fd));
        free(a.body);
        free(r.buf);
        close(fd);
    }
    /* A framing error followed by a large tail: the 400 must arrive before the close. */
    for (int round = 0; round < 5; round++) {
        int fd = connect_to(port);
        send_str(fd, "GET / HTTP/1.1\r\nBad Header : x\r\n\r\n");
        send_all(fd, body, n);
        shutdown(fd, SHUT_WR);
        reader_t r = {.fd = fd};
        response_t a = {0};
        CHECK(read_response(&r, &a));
        CHECK_EQ_INT(a.status, 400);
        free(a.body);
        free(r.buf);
        close(fd);
    }
    free(body);
}

static void test_h1_expect_continue(int port) {
    int fd = connect_to(port);
    send_str(fd, "POST /echo HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n");
    reader_t r = {.fd = fd};
    response_t a;
    CHECK(read_response(&r, &a));
    CHECK_EQ_INT(a.status, 100);
    send_str(fd, "data");
    response_t b;
    CHECK(read_response(&r, &b));
    CHECK_EQ_INT(b.status, 200);
    CHECK(b.body && strstr(b.body, "body=data\n"));
    free(b.body);
    free(r.buf);
    close(fd);
}

static void test_h1_delay_and_stream(int port) {
    int fd = connect_to(port);
    send_str(fd, "GET /delay?ms=150 HTTP/1.1\r\n\r\nGET /stream?n=6 HTTP/1.1\r\n\r\n");
    reader_t r = {.fd = fd};
    response_t a, b;
    int64_t t0 = sl_time_mono_ms();
    CHECK(read_response(&r, &a));
    CHECK(sl_time_mono_ms() - t0 >= 140);
    CHECK(a.body && strcmp(a.body, "delayed answer\n") == 0);
    CHECK(read_response(&r, &b));
    CHECK(b.chunked);
    CHECK(find_header(b.head, "Content-Length") == NULL);
    CHECK_EQ_INT(b.chunks, 6);
    CHECK(b.body && strcmp(b.body, "chunk 0\nchunk 1\nchunk 2\nchunk 3\nchunk 4\nchunk 5\n") == 0);
    free(a.body);
    free(b.body);
    free(r.buf);
    close(fd);

    /* Client gone before the delayed answer: the handler sees sl_http_req_closed(). */
    int before = atomic_load(&g_delay_answered), closed_before = atomic_load(&g_delay_saw_closed);
    fd = connect_to(port);
    send_str(fd, "GET /delay?ms=300 HTTP/1.1\r\n\r\n");
    usleep(50000);
    close(fd);
    CHECK(wait_for(&g_delay_answered, before + 1, 3000));
    CHECK_EQ_INT(atomic_load(&g_delay_saw_closed), closed_before + 1);

    /* Client gone during a streamed response: on_close fires. */
    int closes = atomic_load(&g_stream_closes);
    fd = connect_to(port);
    send_str(fd, "GET /long HTTP/1.1\r\n\r\n");
    char buf[256];
    CHECK(recv(fd, buf, sizeof buf, 0) > 0);
    close(fd);
    CHECK(wait_for(&g_stream_closes, closes + 1, 3000));
}

/* A streamed answer of a known length: Content-Length instead of chunks, the connection kept;
 * an aborted one closes the connection before its length. */
static void test_h1_sized_stream(int port) {
    int fd = connect_to(port);
    send_str(fd, "GET /sized?n=30000 HTTP/1.1\r\n\r\nGET /sized?n=7 HTTP/1.1\r\n\r\n");
    reader_t r = {.fd = fd};
    response_t a, b;
    CHECK(read_response(&r, &a));
    CHECK_EQ_INT(a.status, 200);
    CHECK(!a.chunked);
    CHECK(find_header(a.head, "Transfer-Encoding") == NULL);
    CHECK(find_header(a.head, "Connection: keep-alive") || strstr(a.head, "keep-alive"));
    CHECK_EQ_INT((int)a.body_len, 30000);
    CHECK(a.body[0] == 'A' && a.body[29999] == (char)('A' + 29999 % 26));
    CHECK(read_response(&r, &b));
    CHECK(b.body_len == 7 && memcmp(b.body, "ABCDEFG", 7) == 0);
    free(a.body);
    free(b.body);
    free(r.buf);
    close(fd);

    fd = connect_to(port);
    send_str(fd, "GET /sized?n=30000&abort=1 HTTP/1.1\r\n\r\n");
    char buf[65536];
    size_t got = 0;
    ssize_t k;
    while ((k = recv(fd, buf, sizeof buf, 0)) > 0)
        got += (size_t)k; /* the connection closes: recv ends with 0, not a timeout */
    CHECK(k == 0);
    CHECK(got < 30000); /* never the whole answer (what was queued may be dropped) */
    close(fd);
}

static void test_backpressure(int port) {
    /* HTTP/1.1: the client does not read at first; the handler must pause and be resumed. */
    int before = atomic_load(&g_writable_calls);
    int fd = connect_to(port);
    send_str(fd, "GET /flood?mb=24 HTTP/1.1\r\n\r\n");
    usleep(300000);
    reader_t r = {.fd = fd};
    response_t a;
    CHECK(read_response(&r, &a));
    CHECK(a.chunked);
    CHECK_EQ_INT(a.body_len, 24u << 20);
    CHECK(atomic_load(&g_writable_calls) > before);
    free(a.body);
    free(r.buf);
    close(fd);
    /* HTTP/2: flow control windows and the same backpressure. */
    before = atomic_load(&g_writable_calls);
    char cmd[256], out[256];
    snprintf(cmd, sizeof cmd,
             "curl -s --http2-prior-knowledge http://127.0.0.1:%d/flood?mb=24 | (sleep 0.3; wc -c)",
             port);
    CHECK_EQ_INT(run_cmd(cmd, out, sizeof out), 0);
    CHECK_EQ_INT(atol(out), 24 << 20);
    CHECK(atomic_load(&g_writable_calls) > before);
}

static void test_pipelined_answers_wait_for_the_client(int port) {
    /* 20 pipelined 3 MiB answers, not read: only the first few are produced (the connection's
     * output bound plus what the kernel buffers), the rest as the client reads. */
    int before = atomic_load(&g_big_calls);
    int fd = connect_to(port);
    char reqs[20 * 32];
    size_t len = 0;
    for (int i = 0; i < 20; i++)
        len += (size_t)snprintf(reqs + len, sizeof reqs - len, "GET /big HTTP/1.1\r\n\r\n");
    send_all(fd, reqs, len);
    usleep(300000);
    int made = atomic_load(&g_big_calls) - before;
    CHECK(made >= 1 && made <= 8);
    reader_t r = {.fd = fd};
    for (int i = 0; i < 20; i++) {
        response_t a;
        CHECK(read_response(&r, &a));
        CHECK_EQ_INT(a.status, 200);
        CHECK_EQ_INT(a.body_len, 3u * 1024 * 1024 + 17);
        free(a.body);
    }
    CHECK_EQ_INT(atomic_load(&g_big_calls) - before, 20);
    free(r.buf);
    close(fd);
}

static void test_h2_curl(int port) {
    char cmd[512], out[65536];
    snprintf(cmd, sizeof cmd,
             "curl -s --http2-prior-knowledge -H 'X-Amz-Target: T' -d hello -w "
             "'HTTPVER=%%{http_version}' "
             "http://127.0.0.1:%d/echo?x=1",
             port);
    CHECK_EQ_INT(run_cmd(cmd, out, sizeof out), 0);
    CHECK(strstr(out, "version=2\n") != NULL);
    CHECK(strstr(out, "body=hello\n") != NULL);
    CHECK(strstr(out, "path=/echo?x=1\n") != NULL);
    CHECK(strstr(out, "method=POST\n") != NULL);
    CHECK(strstr(out, "h:host=127.0.0.1:") != NULL);
    CHECK(strstr(out, "h:x-amz-target=T\n") != NULL);
    CHECK(strstr(out, "HTTPVER=2") != NULL);

    /* 60 concurrent streams on one prior-knowledge connection. (curl 7.88's --parallel cannot
     * reuse a prior-knowledge connection, curl issue #10634; it is used over TLS below.) */
    snprintf(cmd, sizeof cmd, "h2load -n 60 -c 1 -m 60 http://127.0.0.1:%d/echo 2>&1", port);
    CHECK_EQ_INT(run_cmd(cmd, out, sizeof out), 0);
    CHECK(strstr(out, "60 total, 60 started, 60 done, 60 succeeded") != NULL);

    /* large request and response bodies */
    char path[] = "/tmp/sl_net_test_bodyXXXXXX";
    int tfd = mkstemp(path);
    size_t n = 2u * 1024 * 1024 + 3;
    char *body = malloc(n);
    for (size_t i = 0; i < n; i++)
        body[i] = (char)(i * 13);
    CHECK((size_t)write(tfd, body, n) == n);
    close(tfd);
    snprintf(cmd, sizeof cmd,
             "curl -s --http2-prior-knowledge --data-binary @%s http://127.0.0.1:%d/echo", path,
             port);
    CHECK_EQ_INT(run_cmd(cmd, out, sizeof out), 0);
    char want[64];
    snprintf(want, sizeof want, "len=%zu\ncrc=%08x\n", n, sl_crc32c(0, body, n));
    CHECK(strstr(out, want) != NULL);
    snprintf(cmd, sizeof cmd, "curl -s --http2-prior-knowledge http://127.0.0.1:%d/big | wc -c",
             port);
    CHECK_EQ_INT(run_cmd(cmd, out, sizeof out), 0);
    CHECK_EQ_INT(atol(out), 3 * 1024 * 1024 + 17);
    free(body);

    /* body over the limit -> 413 */
    FILE *f = fopen(path, "w");
    char *zero = calloc(1, 1 << 20);
    for (int i = 0; i < 5; i++)
        fwrite(zero, 1, 1 << 20, f);
    fclose(f);
    free(zero);
    snprintf(cmd, sizeof cmd,
             "curl -s -o /dev/null -w '%%{http_code}' --http2-prior-knowledge --data-binary @%s "
             "http://127.0.0.1:%d/echo",
             path, port);
    run_cmd(cmd, out, sizeof out);
    CHECK_EQ_STR(out, "413");
    /* the same without a content-length (chunked upload turned into DATA frames) */
    snprintf(cmd, sizeof cmd,
             "curl -s -o /dev/null -w '%%{http_code}' --http2-prior-knowledge -H "
             "'Transfer-Encoding: chunked' "
             "--data-binary @%s http://127.0.0.1:%d/echo",
             path, port);
    run_cmd(cmd, out, sizeof out);
    CHECK_EQ_STR(out, "413");
    unlink(path);
}

static void test_h2_nghttp_stream(int port) {
    char cmd[256], out[65536];
    snprintf(cmd, sizeof cmd,
             "nghttp -n -s http://127.0.0.1:%d/stream?n=4 >/dev/null && nghttp "
             "http://127.0.0.1:%d/stream?n=4",
             port, port);
    CHECK_EQ_INT(run_cmd(cmd, out, sizeof out), 0);
    CHECK_EQ_STR(out, "chunk 0\nchunk 1\nchunk 2\nchunk 3\n");
    snprintf(cmd, sizeof cmd, "nghttp -v http://127.0.0.1:%d/stream?n=2", port);
    CHECK_EQ_INT(run_cmd(cmd, out, sizeof out), 0);
    CHECK(strstr(out, "content-length") == NULL);
    CHECK(strstr(out, "content-type: application/vnd.amazon.eventstream") != NULL);
}

static void test_h2load(int port) {
    char cmd[256], out[65536];
    snprintf(cmd, sizeof cmd, "h2load -n 1000 -c 4 -m 10 http://127.0.0.1:%d/echo 2>&1", port);
    CHECK_EQ_INT(run_cmd(cmd, out, sizeof out), 0);
    CHECK(strstr(out, "1000 total, 1000 started, 1000 done, 1000 succeeded") != NULL);
    /* HTTP/1.1 load through h2load too */
    snprintf(cmd, sizeof cmd, "h2load --h1 -n 1000 -c 4 -m 4 http://127.0.0.1:%d/echo 2>&1", port);
    CHECK_EQ_INT(run_cmd(cmd, out, sizeof out), 0);
    CHECK(strstr(out, "1000 succeeded") != NULL);
}

static void test_h2_raw_goaway(int port) {
    /* preface + SETTINGS + HEADERS (delayed response) + GOAWAY right away */
    int fd = connect_to(port);
    uint8_t buf[1024];
    size_t n = 0;
    memcpy(buf, PREFACE, 24);
    n = 24;
    frame(buf + n, 0, 0x4, 0, 0);
    n += 9;
    n += h2_request(buf + n, sizeof buf - n, 1, "/delay?ms=200");
    uint8_t *g = buf + n;
    frame(g, 8, 0x7, 0, 0);
    memset(g + 9, 0, 8); /* last-stream-id 0, NO_ERROR */
    n += 17;
    send_all(fd, buf, n);
    /* ack the server's SETTINGS so it is not waiting on us */
    uint8_t ack[9];
    frame(ack, 0, 0x4, 0x1, 0);
    send_all(fd, ack, 9);
    h2_result_t res = {0};
    h2_read(fd, 1, false, 5000, &res);
    CHECK_EQ_INT(res.status, 200);
    CHECK(res.end_stream);
    CHECK_EQ_INT(res.body_len, 15);
    CHECK(res.body_len == 15 && memcmp(res.body, "delayed answer\n", 15) == 0);
    CHECK_EQ_INT(res.rsts, 0);
    CHECK_EQ_INT(res.ping_acks, 0); /* never an unsolicited PING ACK */
    CHECK_EQ_INT(res.pings, 0);
    CHECK(res.closed); /* closed once no stream remained */
    close(fd);

    /* PING is answered with exactly one ACK carrying our data. */
    fd = connect_to(port);
    n = 0;
    memcpy(buf, PREFACE, 24);
    n = 24;
    frame(buf + n, 0, 0x4, 0, 0);
    n += 9;
    frame(buf + n, 8, 0x6, 0, 0);
    memcpy(buf + n + 9, "pingpong", 8);
    n += 17;
    send_all(fd, buf, n);
    memset(&res, 0, sizeof res);
    h2_read(fd, 0, false, 500, &res);
    CHECK_EQ_INT(res.ping_acks, 1);
    CHECK(memcmp(res.ping_data, "pingpong", 8) == 0);
    CHECK_EQ_INT(res.pings, 0);
    close(fd);

    /* Client RST_STREAM on a streamed response reaches the handler as on_close. */
    int closes = atomic_load(&g_stream_closes);
    fd = connect_to(port);
    n = 0;
    memcpy(buf, PREFACE, 24);
    n = 24;
    frame(buf + n, 0, 0x4, 0, 0);
    n += 9;
    n += h2_request(buf + n, sizeof buf - n, 1, "/long");
    send_all(fd, buf, n);
    memset(&res, 0, sizeof res);
    h2_read(fd, 1, false, 200, &res);
    CHECK_EQ_INT(res.status, 200);
    CHECK(res.body_len > 0);
    uint8_t rst[13];
    frame(rst, 4, 0x3, 0, 1);
    rst[9] = rst[10] = rst[11] = 0;
    rst[12] = 0x8; /* CANCEL */
    send_all(fd, rst, 13);
    CHECK(wait_for(&g_stream_closes, closes + 1, 3000));
    /* the connection stays usable for another stream */
    n = h2_request(buf, sizeof buf, 3, "/echo?after=rst");
    send_all(fd, buf, n);
    memset(&res, 0, sizeof res);
    h2_read(fd, 3, true, 3000, &res);
    CHECK_EQ_INT(res.status, 200);
    CHECK(strstr(res.body, "path=/echo?after=rst") != NULL);
    close(fd);
}

static void test_tls(int port, int tls_port) {
    char cmd[512], out[65536];
    snprintf(cmd, sizeof cmd,
             "curl -sk --http2 -d tls -w 'HTTPVER=%%{http_version}' https://127.0.0.1:%d/echo",
             tls_port);
    CHECK_EQ_INT(run_cmd(cmd, out, sizeof out), 0);
    CHECK(strstr(out, "HTTPVER=2") != NULL);
    CHECK(strstr(out, "tls=1\n") != NULL);
    CHECK(strstr(out, "body=tls\n") != NULL);
    snprintf(cmd, sizeof cmd,
             "curl -sk --http1.1 -w 'HTTPVER=%%{http_version}' https://127.0.0.1:%d/echo?a "
             "https://127.0.0.1:%d/echo?b",
             tls_port, tls_port);
    CHECK_EQ_INT(run_cmd(cmd, out, sizeof out), 0);
    CHECK_EQ_INT(count_substr(out, "HTTPVER=1.1"), 2);
    CHECK(strstr(out, "version=1\n") != NULL && strstr(out, "tls=1\n") != NULL);
    /* 60 parallel requests multiplexed on one TLS connection */
    snprintf(cmd, sizeof cmd,
             "curl -sk --http2 --parallel --parallel-max 60 -w 'CONN=%%{num_connects}\\n' "
             "'https://127.0.0.1:%d/echo?i=[1-60]'",
             tls_port);
    CHECK_EQ_INT(run_cmd(cmd, out, sizeof out), 0);
    CHECK_EQ_INT(count_substr(out, "version=2\n"), 60);
    CHECK_EQ_INT(count_substr(out, "CONN=1\n"), 1);
    CHECK_EQ_INT(count_substr(out, "CONN=0\n"), 59);
    /* h2 prior knowledge over TLS without ALPN */
    snprintf(cmd, sizeof cmd,
             "curl -sk --http2-prior-knowledge --no-alpn -w 'HTTPVER=%%{http_version}' "
             "https://127.0.0.1:%d/echo",
             tls_port);
    CHECK_EQ_INT(run_cmd(cmd, out, sizeof out), 0);
    CHECK(strstr(out, "HTTPVER=2") != NULL && strstr(out, "tls=1\n") != NULL);
    /* TLS on the plain port (first byte 0x16) */
    snprintf(cmd, sizeof cmd,
             "curl -sk --http2 -w 'HTTPVER=%%{http_version}' https://127.0.0.1:%d/echo", port);
    CHECK_EQ_INT(run_cmd(cmd, out, sizeof out), 0);
    CHECK(strstr(out, "HTTPVER=2") != NULL && strstr(out, "tls=1\n") != NULL);
    /* large bodies and a streamed response over TLS */
    snprintf(cmd, sizeof cmd, "curl -sk --http2 https://127.0.0.1:%d/big | wc -c", tls_port);
    CHECK_EQ_INT(run_cmd(cmd, out, sizeof out), 0);
    CHECK_EQ_INT(atol(out), 3 * 1024 * 1024 + 17);
    snprintf(cmd, sizeof cmd, "curl -sk --http1.1 https://127.0.0.1:%d/big | wc -c", tls_port);
    CHECK_EQ_INT(run_cmd(cmd, out, sizeof out), 0);
    CHECK_EQ_INT(atol(out), 3 * 1024 * 1024 + 17);
    snprintf(cmd, sizeof cmd, "curl -sk --http1.1 https://127.0.0.1:%d/stream?n=3", tls_port);
    CHECK_EQ_INT(run_cmd(cmd, out, sizeof out), 0);
    CHECK_EQ_STR(out, "chunk 0\nchunk 1\nchunk 2\n");
    snprintf(cmd, sizeof cmd, "nghttp https://127.0.0.1:%d/stream?n=3", tls_port);
    CHECK_EQ_INT(run_cmd(cmd, out, sizeof out), 0);
    CHECK_EQ_STR(out, "chunk 0\nchunk 1\nchunk 2\n");
    /* the self-signed certificate names localhost */
    snprintf(cmd, sizeof cmd,
             "echo | openssl s_client -connect 127.0.0.1:%d -alpn h2 2>/dev/null | grep -aE "
             "'subject=|ALPN'",
             tls_port);
    run_cmd(cmd, out, sizeof out);
    CHECK(strstr(out, "CN = localhost") != NULL);
    CHECK(strstr(out, "ALPN protocol: h2") != NULL);
}

static void test_idle_timeout(int port) {
    int fd = connect_to(port);
    send_str(fd, "GET /echo HTTP/1.1\r\n\r\n");
    reader_t r = {.fd = fd};
    response_t a;
    CHECK(read_response(&r, &a));
    int64_t t0 = sl_time_mono_ms();
    CHECK(wait_eof(fd)); /* idle timeout of this server: 1000 ms */
    int64_t waited = sl_time_mono_ms() - t0;
    CHECK(waited >= 900 && waited < 4000);
    free(a.body);
    free(r.buf);
    close(fd);
}

static void expect_408_and_close(int fd, int64_t t0) {
    reader_t r = {.fd = fd};
    response_t a;
    CHECK(read_response(&r, &a));
    CHECK_EQ_INT(a.status, 408);
    CHECK(wait_eof(fd));
    int64_t waited = sl_time_mono_ms() - t0;
    CHECK(waited >= 250 && waited < 3000);
    free(a.body);
    free(r.buf);
    close(fd);
}

static sl_http_server_config_t base_config(void);

static void test_deadlines_and_connection_bound(void) {
    sl_http_server_config_t cfg = base_config();
    cfg.threads = 1;
    cfg.header_timeout_ms = 300;
    cfg.body_timeout_ms = 300;
    cfg.max_connections = 4;
    cfg.on_thread_start = NULL; /* the main server's thread counts stay its own */
    cfg.on_thread_stop = NULL;
    sl_http_server_t *srv = NULL;
    CHECK_EQ_INT(sl_http_server_start(&cfg, &srv), 0);
    if (!srv) return;
    int port = sl_http_server_port(srv);
    /* A head that never ends, a body that never ends: 408 at the deadline, then close. */
    int fd = connect_to(port);
    send_str(fd, "GET /echo HTTP/1.1\r\nHost: x\r\n");
    expect_408_and_close(fd, sl_time_mono_ms());
    fd = connect_to(port);
    send_str(fd, "POST /echo HTTP/1.1\r\nContent-Length: 100\r\n\r\nabc");
    expect_408_and_close(fd, sl_time_mono_ms());
    /* At the bound, a new client is served and the oldest idle connection makes room. */
    int idle[4];
    for (int i = 0; i < 4; i++)
        idle[i] = connect_to(port);
    usleep(200000);
    fd = connect_to(port);
    send_str(fd, "GET /echo HTTP/1.1\r\n\r\n");
    reader_t r = {.fd = fd};
    response_t a;
    CHECK(read_response(&r, &a));
    CHECK_EQ_INT(a.status, 200);
    CHECK(wait_eof(idle[0]));
    free(a.body);
    free(r.buf);
    close(fd);
    for (int i = 0; i < 4; i++)
        close(idle[i]);
    sl_http_server_stop(srv, 1000);
}

typedef struct {
    int port;
    response_t res;
    bool ok;
} bg_req_t;

static void *bg_request(void *arg) {
    bg_req_t *b = arg;
    int fd = connect_to(b->port);
    send_str(fd, "GET /delay?ms=400 HTTP/1.1\r\n\r\n");
    reader_t r = {.fd = fd};
    b->ok = read_response(&r, &b->res);
    free(r.buf);
    close(fd);
    return NULL;
}

static int free_port(void) {
    int probe = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    bind(probe, (struct sockaddr *)&a, sizeof a);
    getsockname(probe, (struct sockaddr *)&a, &al);
    close(probe);
    return ntohs(a.sin_port);
}

static sl_http_server_config_t base_config(void) {
    return (sl_http_server_config_t){
        .bind_address = "127.0.0.1",
        .threads = 2,
        .body_max_bytes = BODY_MAX,
        .handler = handler,
        .on_thread_start = on_thread_start,
        .on_thread_stop = on_thread_stop,
        .idle_timeout_ms = 1000,
    };
}

int main(void) {
    signal(SIGPIPE, SIG_IGN);
    char dir[] = "/tmp/sl_net_tlsXXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char tls_dir[256];
    snprintf(tls_dir, sizeof tls_dir, "%s/tls", dir);

    sl_http_server_config_t cfg = base_config();
    cfg.tls_dir = tls_dir;
    sl_http_server_t *srv = NULL;
    cfg.tls_port = -1;
    CHECK_EQ_INT(sl_http_server_start(&cfg, &srv), SL_EINVAL);
    /* tls_port 0 means "no TLS listener", so pick a free port for it. */
    cfg.tls_port = free_port();
    CHECK_EQ_INT(sl_http_server_start(&cfg, &srv), 0);
    if (!srv) TEST_MAIN_END();
    int port = sl_http_server_port(srv);
    int tls_port = sl_http_server_tls_port(srv);
    CHECK(port > 0);
    CHECK_EQ_INT(tls_port, cfg.tls_port);
    CHECK(wait_for(&g_thread_starts, 2, 2000));

    /* Self-signed certificate generated into tls_dir, key private. */
    char cert_path[300], key_path[300];
    snprintf(cert_path, sizeof cert_path, "%s/cert.pem", tls_dir);
    snprintf(key_path, sizeof key_path, "%s/key.pem", tls_dir);
    struct stat st;
    CHECK(stat(cert_path, &st) == 0);
    CHECK(stat(key_path, &st) == 0 && (st.st_mode & 0777) == 0600);

    /* The port is taken: a second server on it fails at start. */
    sl_http_server_config_t dup = base_config();
    dup.port = port;
    sl_http_server_t *srv2 = NULL;
    CHECK_EQ_INT(sl_http_server_start(&dup, &srv2), SL_EEXIST);

    test_h1_pipelined(port);
    test_h1_chunked_request(port);
    test_h1_large_body(port);
    test_h1_errors(port);
    test_h1_half_close(port);
    test_h1_expect_continue(port);
    test_h1_delay_and_stream(port);
    test_h1_sized_stream(port);
    test_backpressure(port);
    test_pipelined_answers_wait_for_the_client(port);
    test_h2_curl(port);
    test_h2_nghttp_stream(port);
    test_h2_raw_goaway(port);
    test_h2load(port);
    test_tls(port, tls_port);
    test_idle_timeout(port);
    test_deadlines_and_connection_bound();

    /* Graceful stop: an in-flight request still gets its answer. */
    bg_req_t bg = {.port = port};
    pthread_t t;
    pthread_create(&t, NULL, bg_request, &bg);
    usleep(100000);
    int64_t t0 = sl_time_mono_ms();
    sl_http_server_stop(srv, 3000);
    int64_t stop_ms = sl_time_mono_ms() - t0;
    pthread_join(t, NULL);
    CHECK(bg.ok);
    CHECK_EQ_INT(bg.res.status, 200);
    CHECK(bg.res.body && strcmp(bg.res.body, "delayed answer\n") == 0);
    CHECK(stop_ms < 2500);
    free(bg.res.body);
    CHECK_EQ_INT(atomic_load(&g_thread_stops), 2);
    CHECK(connect_to(port) < 0);

    /* Restart with the same tls_dir: the certificate is reused, not regenerated. */
    FILE *f = fopen(cert_path, "r");
    char before[4096] = {0}, after[4096] = {0};
    if (f) {
        fread(before, 1, sizeof before - 1, f);
        fclose(f);
    }
    cfg.tls_port = free_port();
    CHECK_EQ_INT(sl_http_server_start(&cfg, &srv), 0);
    f = fopen(cert_path, "r");
    if (f) {
        fread(after, 1, sizeof after - 1, f);
        fclose(f);
    }
    CHECK(before[0] && strcmp(before, after) == 0);
    char cmd[256], out[4096];
    snprintf(cmd, sizeof cmd, "curl -sk https://127.0.0.1:%d/echo", sl_http_server_tls_port(srv));
    CHECK_EQ_INT(run_cmd(cmd, out, sizeof out), 0);
    CHECK(strstr(out, "tls=1\n") != NULL);
    sl_http_server_stop(srv, 1000);

    /* Certificate files without a TLS port: TLS is served on the plain port (first byte 0x16). */
    cfg.tls_port = 0;
    cfg.tls_dir = NULL;
    cfg.tls_cert_file = cert_path;
    cfg.tls_key_file = key_path;
    CHECK_EQ_INT(sl_http_server_start(&cfg, &srv), 0);
    CHECK_EQ_INT(sl_http_server_tls_port(srv), 0);
    snprintf(cmd, sizeof cmd, "curl -sk https://127.0.0.1:%d/echo http://127.0.0.1:%d/echo",
             sl_http_server_port(srv), sl_http_server_port(srv));
    CHECK_EQ_INT(run_cmd(cmd, out, sizeof out), 0);
    CHECK(strstr(out, "tls=1\n") != NULL && strstr(out, "tls=0\n") != NULL);
    /* stop with a streamed response still open: on_close lets the handler end it */
    int fd = connect_to(sl_http_server_port(srv));
    send_str(fd, "GET /long HTTP/1.1\r\n\r\n");
    char b[64];
    CHECK(recv(fd, b, sizeof b, 0) > 0);
    sl_http_server_stop(srv, 200);
    close(fd);
    CHECK_EQ_INT(atomic_load(&g_long_active), 0);

    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    system(cmd);
    TEST_MAIN_END();
}
