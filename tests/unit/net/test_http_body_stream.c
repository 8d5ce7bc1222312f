/* Streamed request bodies (sl_http_body_read), end to end on 127.0.0.1 with real sockets: bodies
 * larger than the buffered-body cap over HTTP/1.1 (Content-Length and chunked) and HTTP/2 (curl),
 * backpressure (a handler that holds a piece stops the server reading, so the client's sends
 * block), a client that stalls (the body resumes; past the body deadline the handler is told),
 * and a client that disconnects mid-body (the handler is told). Paths under /stream are streamed,
 * the rest buffered as before. */
#include "core/common.h"
#include "core/crc32c.h"
#include "core/time.h"
#include "net/http.h"
#include "test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BODY_MAX (64u * 1024) /* the buffered-body cap: streamed bodies go far past it */

static atomic_int g_errors_closed, g_errors_timeout, g_errors_other;
static atomic_int g_held_now; /* a handler holds a piece it does not give back yet */

/* One streamed request being read. */
typedef struct {
    sl_http_req_t *req;
    size_t len;
    uint32_t crc;
    int pieces;
    int hold_ms;       /* give each piece back after this long (0: at once) */
    int hold_first_ms; /* ... the first piece after this long */
    sl_timer_t *timer;
} body_job_t;

static void respond_text(sl_http_req_t *req, int status, const char *text) {
    size_t n = strlen(text);
    char *b = malloc(n + 1);
    memcpy(b, text, n + 1);
    sl_http_header_t h[] = {{"Content-Type", 12, "text/plain", 10}};
    sl_http_respond(req, status, h, 1, b, n);
}

static int query_int(const char *path, const char *key) {
    const char *q = strstr(path, key);
    return q ? atoi(q + strlen(key)) : 0;
}

static void job_next(void *arg) {
    body_job_t *j = arg;
    j->timer = NULL;
    atomic_store(&g_held_now, 0);
    sl_http_body_next(j->req);
}

static void on_data(sl_http_req_t *req, const uint8_t *data, size_t len, bool last, void *arg) {
    body_job_t *j = arg;
    j->crc = sl_crc32c(j->crc, data, len);
    j->len += len;
    j->pieces++;
    if (last) {
        char out[128];
        snprintf(out, sizeof out, "len=%zu crc=%08x streamed=%d\n", j->len, j->crc,
                 req->body_streamed);
        respond_text(req, 200, out);
        free(j);
        return;
    }
    int ms = j->pieces == 1 && j->hold_first_ms ? j->hold_first_ms : j->hold_ms;
    if (ms == 0) {
        sl_http_body_next(req);
        return;
    }
    atomic_store(&g_held_now, 1);
    j->timer = sl_timer_start(sl_http_req_loop(req), (uint64_t)ms, job_next, j);
}

static void on_error(sl_http_req_t *req, int code, void *arg) {
    body_job_t *j = arg;
    if (j->timer) sl_timer_cancel(j->timer);
    atomic_fetch_add(code == SL_ECLOSED     ? &g_errors_closed
                     : code == SL_ETIMEDOUT ? &g_errors_timeout
                                            : &g_errors_other,
                     1);
    respond_text(req, 400, "body failed\n");
    free(j);
}

static void handler(void *ctx, sl_http_req_t *req) {
    (void)ctx;
    if (!req->body_streamed) {
        char out[128];
        snprintf(out, sizeof out, "len=%zu crc=%08x streamed=0\n", req->body_len,
                 sl_crc32c(0, req->body, req->body_len));
        respond_text(req, 200, out);
        return;
    }
    if (strstr(req->path, "early=1")) { /* answers before reading: the connection closes */
        respond_text(req, 202, "early\n");
        return;
    }
    body_job_t *j = calloc(1, sizeof *j);
    j->req = req;
    j->hold_ms = query_int(req->path, "hold=");
    j->hold_first_ms = query_int(req->path, "first=");
    sl_http_body_cbs_t cbs = {.on_data = on_data, .on_error = on_error, .arg = j};
    CHECK_EQ_INT(sl_http_body_read(req, &cbs), 0);
}

static bool stream_body(void *ctx, const sl_http_req_t *head) {
    (void)ctx;
    return strncmp(head->path, "/stream", 7) == 0;
}

/* ---- clients ---- */

static int connect_to(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    struct timeval tv = {.tv_sec = 20};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

static bool send_all(int fd, const void *data, size_t len) {
    const char *p = data;
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n <= 0) return false;
        p += n;
        len -= (size_t)n;
    }
    return true;
}

/* Reads until EOF or the end of one Content-Length response; returns the text (malloc'd). */
static char *read_answer(int fd) {
    size_t cap = 65536, len = 0;
    char *b = malloc(cap);
    for (;;) {
        char *end = len ? strstr(b, "\r\n\r\n") : NULL;
        if (end) {
            const char *cl = strcasestr(b, "content-length:");
            size_t want = (size_t)(end - b) + 4 + (cl ? strtoul(cl + 15, NULL, 10) : 0);
            if (len >= want) break;
        }
        ssize_t n = recv(fd, b + len, cap - len - 1, 0);
        if (n <= 0) break;
        len += (size_t)n;
        b[len] = 0;
    }
    b[len] = 0;
    return b;
}

static bool wait_eof(int fd) {
    char b[4096];
    for (;;) {
        ssize_t n = recv(fd, b, sizeof b, 0);
        if (n == 0) return true;
        if (n < 0) return errno == ECONNRESET;
    }
}

static bool wait_for(atomic_int *v, int want, int timeout_ms) {
    int64_t end = sl_time_mono_ms() + timeout_ms;
    while (atomic_load(v) < want && sl_time_mono_ms() < end)
        usleep(2000);
    return atomic_load(v) >= want;
}

static uint8_t *pattern(size_t len) {
    uint8_t *p = malloc(len);
    uint32_t x = 12345;
    for (size_t i = 0; i < len; i++) {
        x = x * 1103515245u + 12345u;
        p[i] = (uint8_t)(x >> 16);
    }
    return p;
}

static void expect_answer(const char *ans, size_t len, uint32_t crc, int streamed) {
    char want[128];
    snprintf(want, sizeof want, "len=%zu crc=%08x streamed=%d", len, crc, streamed);
    CHECK(strstr(ans, "200 OK") != NULL);
    CHECK(strstr(ans, want) != NULL);
    if (!strstr(ans, want)) fprintf(stderr, "answer: %.300s\nwanted: %s\n", ans, want);
}

/* A Content-Length body of 8 MiB (128 times the cap) arrives whole, in pieces; the same size on a
 * buffered path is refused with 413 as before. */
static void test_h1_large(int port) {
    size_t n = 8u << 20;
    uint8_t *body = pattern(n);
    int fd = connect_to(port);
    char head[256];
    snprintf(head, sizeof head,
             "PUT /stream/big HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n", n);
    CHECK(send_all(fd, head, strlen(head)) && send_all(fd, body, n));
    char *ans = read_answer(fd);
    expect_answer(ans, n, sl_crc32c(0, body, n), 1);
    free(ans);
    /* keep-alive: the next request on the connection is served */
    const char *small = "POST /buffered HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello";
    CHECK(send_all(fd, small, strlen(small)));
    ans = read_answer(fd);
    expect_answer(ans, 5, sl_crc32c(0, "hello", 5), 0);
    free(ans);
    close(fd);
    fd = connect_to(port);
    snprintf(head, sizeof head, "PUT /buffered HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n",
             n);
    CHECK(send_all(fd, head, strlen(head)));
    ans = read_answer(fd);
    CHECK(strstr(ans, "413") != NULL);
    free(ans);
    close(fd);
    free(body);
}

/* Chunked: many chunks of odd sizes, a chunk extension and a trailer. */
static void test_h1_chunked(int port) {
    size_t n = 3u << 20;
    uint8_t *body = pattern(n);
    int fd = connect_to(port);
    const char *head =
        "POST /stream/chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
    CHECK(send_all(fd, head, strlen(head)));
    size_t off = 0, k = 0;
    while (off < n) {
        size_t c = 1000 + (k++ * 7919) % 150000;
        if (c > n - off) c = n - off;
        char line[64];
        int ln = snprintf(line, sizeof line, "%zx%s\r\n", c, k % 3 ? "" : ";ext=1");
        CHECK(send_all(fd, line, (size_t)ln) && send_all(fd, body + off, c) &&
              send_all(fd, "\r\n", 2));
        off += c;
    }
    CHECK(send_all(fd, "0\r\nX-Trailer: 1\r\n\r\n", 19));
    char *ans = read_answer(fd);
    expect_answer(ans, n, sl_crc32c(0, body, n), 1);
    free(ans);
    close(fd);
    free(body);
}

/* A handler that holds its first piece for a while: the server stops reading, so a client that
 * writes without blocking gets only the socket buffers' worth out, not the 64 MiB body; once
 * the piece is given back the whole body arrives intact. */
static void test_h1_backpressure(int port) {
    size_t n = 64u << 20;
    uint8_t *body = pattern(n);
    int fd = connect_to(port);
    char head[256];
    snprintf(head, sizeof head,
             "PUT /stream/bp?first=1500 HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n", n);
    CHECK(send_all(fd, head, strlen(head)));
    int fl = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    size_t sent = 0;
    int64_t until = sl_time_mono_ms() + 700;
    while (sl_time_mono_ms() < until && sent < n) {
        ssize_t k = send(fd, body + sent, n - sent, MSG_NOSIGNAL);
        if (k > 0)
            sent += (size_t)k;
        else
            usleep(1000);
    }
    CHECK(atomic_load(&g_held_now) == 1); /* the handler still holds its first piece */
    CHECK(sent < n / 2);
    fprintf(stderr, "backpressure: %zu of %zu bytes left the client while the piece was held\n",
            sent, n);
    fcntl(fd, F_SETFL, fl);
    CHECK(send_all(fd, body + sent, n - sent));
    char *ans = read_answer(fd);
    expect_answer(ans, n, sl_crc32c(0, body, n), 1);
    free(ans);
    close(fd);
    free(body);
}

/* The body's last bytes fill the piece buffer exactly while the handler holds a piece: the
 * parser has then seen the whole body but the server stopped feeding it at the full buffer, and
 * no byte is left to feed once the piece is given back. The body must still end (last = true)
 * instead of leaving the client waiting for an answer. */
static void test_h1_last_bytes_fill_the_piece(int port) {
    size_t first = 1000, n = first + SL_NET_BODY_PIECE_BYTES;
    uint8_t *body = pattern(n);
    int fd = connect_to(port);
    char head[256];
    snprintf(head, sizeof head,
             "PUT /stream/fill?first=400 HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n", n);
    atomic_store(&g_held_now, 0);
    CHECK(send_all(fd, head, strlen(head)) && send_all(fd, body, first));
    CHECK(wait_for(&g_held_now, 1, 5000)); /* the handler holds the first piece */
    CHECK(send_all(fd, body + first, n - first));
    char *ans = read_answer(fd);
    expect_answer(ans, n, sl_crc32c(0, body, n), 1);
    free(ans);
    close(fd);
    free(body);
}

/* A client that stalls in the middle of its body (shorter than the body deadline) and goes on:
 * the body arrives whole. */
static void test_h1_stall(int port) {
    size_t n = 1u << 20;
    uint8_t *body = pattern(n);
    int fd = connect_to(port);
    char head[256];
    snprintf(head, sizeof head,
             "PUT /stream/stall HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n", n);
    CHECK(send_all(fd, head, strlen(head)) && send_all(fd, body, n / 3));
    usleep(300 * 1000);
    CHECK(send_all(fd, body + n / 3, n - n / 3));
    char *ans = read_answer(fd);
    expect_answer(ans, n, sl_crc32c(0, body, n), 1);
    free(ans);
    close(fd);
    free(body);
}

/* A client that disconnects mid-body: the handler gets on_error(SL_ECLOSED). */
static void test_h1_disconnect(int port) {
    int before = atomic_load(&g_errors_closed);
    int fd = connect_to(port);
    const char *head = "PUT /stream/cut HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n";
    uint8_t *body = pattern(300000);
    CHECK(send_all(fd, head, strlen(head)) && send_all(fd, body, 300000));
    usleep(100 * 1000);
    close(fd);
    CHECK(wait_for(&g_errors_closed, before + 1, 5000));
    /* broken chunked framing mid-body: the handler is told, the connection closes */
    int other = atomic_load(&g_errors_other);
    fd = connect_to(port);
    const char *bad = "POST /stream/bad HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "5\r\nhello\r\nzz\r\n";
    CHECK(send_all(fd, bad, strlen(bad)));
    CHECK(wait_eof(fd));
    CHECK(wait_for(&g_errors_other, other + 1, 5000));
    close(fd);
    free(body);
}

/* The handler answers before reading the body: the answer arrives, then the connection closes
 * (the rest of the body cannot be skipped reliably). */
static void test_h1_early_answer(int port) {
    int fd = connect_to(port);
    const char *head =
        "PUT /stream/x?early=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n";
    CHECK(send_all(fd, head, strlen(head)));
    char *ans = read_answer(fd);
    CHECK(strstr(ans, "202") != NULL && strstr(ans, "Connection: close") != NULL);
    free(ans);
    CHECK(wait_eof(fd));
    close(fd);
}

/* A body that stops coming past the body deadline: the handler gets SL_ETIMEDOUT and the
 * connection closes. */
static void test_h1_deadline(int port) {
    int before = atomic_load(&g_errors_timeout);
    int fd = connect_to(port);
    const char *head = "PUT /stream/slow HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n";
    CHECK(send_all(fd, head, strlen(head)) && send_all(fd, "abc", 3));
    CHECK(wait_for(&g_errors_timeout, before + 1, 5000));
    CHECK(wait_eof(fd));
    close(fd);
}

/* HTTP/2 (curl, prior knowledge): an 8 MiB body, once read at once and once by a handler that
 * holds every piece 5 ms, so the client waits for the stream window to be given back. */
static void test_h2(int port) {
    size_t n = 8u << 20;
    uint8_t *body = pattern(n);
    char path[] = "/tmp/sl_body_streamXXXXXX";
    int tfd = mkstemp(path);
    CHECK(tfd >= 0 && write(tfd, body, n) == (ssize_t)n);
    close(tfd);
    const char *paths[] = {"/stream/h2", "/stream/h2?hold=5"};
    for (int i = 0; i < 2; i++) {
        char cmd[512], out[4096] = "";
        snprintf(cmd, sizeof cmd,
                 "curl -s --max-time 60 --http2-prior-knowledge -X PUT --data-binary @%s "
                 "-H 'Content-Type: application/octet-stream' 'http://127.0.0.1:%d%s'",
                 path, port, paths[i]);
        FILE *p = popen(cmd, "r");
        CHECK(p != NULL);
        size_t k = fread(out, 1, sizeof out - 1, p);
        out[k] = 0;
        pclose(p);
        char want[128];
        snprintf(want, sizeof want, "len=%zu crc=%08x streamed=1", n, sl_crc32c(0, body, n));
        CHECK(strstr(out, want) != NULL);
        if (!strstr(out, want)) fprintf(stderr, "h2 answer: %s\n", out);
    }
    unlink(path);
    free(body);
}

int main(void) {
    signal(SIGPIPE, SIG_IGN);
    sl_http_server_config_t cfg = {
        .bind_address = "127.0.0.1",
        .threads = 2,
        .body_max_bytes = BODY_MAX,
        .handler = handler,
        .stream_body = stream_body,
        .body_timeout_ms = 1000,
    };
    sl_http_server_t *srv = NULL;
    CHECK_EQ_INT(sl_http_server_start(&cfg, &srv), 0);
    int port = sl_http_server_port(srv);
    test_h1_large(port);
    test_h1_chunked(port);
    test_h1_backpressure(port);
    test_h1_last_bytes_fill_the_piece(port);
    test_h1_stall(port);
    test_h1_disconnect(port);
    test_h1_early_answer(port);
    test_h1_deadline(port);
    test_h2(port);
    sl_http_server_stop(srv, 1000);
    TEST_MAIN_END();
}
