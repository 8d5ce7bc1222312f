/* Tests of the outbound HTTP client (src/net/client.c) against real servers on 127.0.0.1: the net
 * layer's own server (HTTP/1.1, h2c prior knowledge, TLS with ALPN and a self-signed certificate it
 * generates for the test) and a tiny raw server that answers every request with canned bytes, for
 * the framings and failures a well-behaved server never produces. The client runs on a loop owned
 * by the test thread. */
#include "core/buf.h"
#include "core/common.h"
#include "core/time.h"
#include "net/client.h"
#include "net/http.h"
#include "test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static sl_loop_t *g_loop;
static int g_pending;    /* calls whose on_done has not run */
static bool g_timed_out; /* the safety timer stopped the loop */

/* ---- the net server's handler ---- */

static long query_long(const char *path, const char *key, long dflt) {
    const char *q = strchr(path, '?');
    size_t kl = strlen(key);
    while (q) {
        q++;
        if (strncmp(q, key, kl) == 0 && q[kl] == '=') return strtol(q + kl + 1, NULL, 10);
        q = strchr(q, '&');
    }
    return dflt;
}

static void respond(sl_http_req_t *req, int status, const char *text, size_t n) {
    char *b = malloc(n + 1);
    memcpy(b, text, n);
    sl_http_header_t h[] = {{"content-type", 12, "text/plain", 10}, {"x-test", 6, "yes", 3}};
    sl_http_respond(req, status, h, 2, b, n);
}

typedef struct {
    sl_http_req_t *req;
    int left, sent, ms;
    sl_timer_t *timer;
} stream_job_t;

static void stream_tick(void *arg) {
    stream_job_t *j = arg;
    j->timer = NULL;
    char piece[32];
    int n = snprintf(piece, sizeof piece, "piece-%d\n", j->sent++);
    sl_http_stream_write(j->req, piece, (size_t)n);
    if (--j->left == 0) {
        sl_http_stream_end(j->req);
        free(j);
        return;
    }
    j->timer = sl_timer_start(sl_http_req_loop(j->req), (uint64_t)j->ms, stream_tick, j);
}

static void stream_closed(sl_http_req_t *req, void *arg) {
    (void)req;
    stream_job_t *j = arg;
    if (j->timer) sl_timer_cancel(j->timer);
    sl_http_stream_end(j->req);
    free(j);
}

static void slow_answer(void *arg) {
    respond(arg, 200, "slow", 4);
}

static void handler(void *ctx, sl_http_req_t *req) {
    (void)ctx;
    if (strncmp(req->path, "/slow", 5) == 0) {
        sl_timer_start(sl_http_req_loop(req), (uint64_t)query_long(req->path, "ms", 1000),
                       slow_answer, req);
        return;
    }
    if (strncmp(req->path, "/stream", 7) == 0) {
        stream_job_t *j = calloc(1, sizeof *j);
        j->req = req;
        j->left = (int)query_long(req->path, "n", 3);
        j->ms = (int)query_long(req->path, "ms", 5);
        sl_http_stream_cbs_t cbs = {.on_close = stream_closed, .arg = j};
        sl_http_stream_begin(req, 200, NULL, 0, &cbs);
        j->timer = sl_timer_start(sl_http_req_loop(req), 1, stream_tick, j);
        return;
    }
    if (strncmp(req->path, "/big", 4) == 0) {
        size_t n = (size_t)query_long(req->path, "n", 1000);
        char *b = malloc(n + 1);
        for (size_t i = 0; i < n; i++)
            b[i] = (char)('a' + i % 26);
        sl_http_respond(req, 200, NULL, 0, b, n);
        return;
    }
    const sl_http_header_t *host = sl_http_req_header(req, "host");
    const sl_http_header_t *x = sl_http_req_header(req, "x-amz-thing");
    char out[512];
    int n = snprintf(out, sizeof out, "%s %s v%d host=%s x=%s len=%zu body=%.*s", req->method,
                     req->path, req->http_version, host ? host->value : "-", x ? x->value : "-",
                     req->body_len, (int)SL_MIN(req->body_len, 64), (const char *)req->body);
    respond(req, strcmp(req->path, "/missing") == 0 ? 404 : 200, out, (size_t)n);
}

/* ---- a raw server answering every request with canned bytes ---- */

static int g_raw_fd = -1;
static int g_raw_port;
static pthread_t g_raw_thread;
static const char *g_canned;
static size_t g_canned_len;
static bool g_canned_close; /* close the connection after answering */
static atomic_int g_raw_accepts;
static pthread_mutex_t g_canned_mu = PTHREAD_MUTEX_INITIALIZER;

/* One connection of the raw server (a thread each, so idle keep-alive connections block nothing).
 */
static void *raw_conn(void *arg) {
    int fd = (int)(intptr_t)arg;
    {
        char buf[8192];
        size_t have = 0;
        for (;;) {
            ssize_t n = read(fd, buf + have, sizeof buf - 1 - have);
            if (n <= 0) break;
            have += (size_t)n;
            buf[have] = 0;
            char *end = strstr(buf, "\r\n\r\n");
            if (!end) continue;
            have = 0; /* requests to the raw server carry no body */
            /* The test sets the answer before it sends the request: read it once, now. */
            pthread_mutex_lock(&g_canned_mu);
            const char *canned = g_canned;
            size_t canned_len = g_canned_len;
            bool close_after = g_canned_close;
            pthread_mutex_unlock(&g_canned_mu);
            size_t off = 0;
            while (off < canned_len) {
                ssize_t w = write(fd, canned + off, canned_len - off);
                if (w <= 0) break;
                off += (size_t)w;
            }
            if (close_after) break;
        }
        close(fd);
    }
    return NULL;
}

static void *raw_main(void *arg) {
    (void)arg;
    for (;;) {
        int fd = accept(g_raw_fd, NULL, NULL);
        if (fd < 0) return NULL;
        atomic_fetch_add(&g_raw_accepts, 1);
        pthread_t t;
        if (pthread_create(&t, NULL, raw_conn, (void *)(intptr_t)fd) == 0)
            pthread_detach(t);
        else
            close(fd);
    }
}

static int listen_loopback(int backlog, int *port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, backlog) != 0) {
        close(fd);
        return -1;
    }
    socklen_t l = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &l);
    *port = ntohs(a.sin_port);
    return fd;
}

/* ---- running the client ---- */

typedef struct {
    int done;
    int error;
    int status;
    int version;
    bool reused;
    sl_buf_t body; /* buffered body, or the concatenated streamed pieces */
    int pieces;    /* on_data calls */
    int heads;     /* on_head calls */
    int head_status;
    bool cancel_on_data;
    char header_x[32];
} result_t;

static void stop_cb(void *arg) {
    *(sl_timer_t **)arg = NULL;
    g_timed_out = true;
    sl_loop_stop(g_loop);
}

/* Runs the loop until every pending call completed, or timeout_ms passed (a failed check). */
static void run(int timeout_ms) {
    g_timed_out = false;
    if (g_pending == 0) return;
    sl_timer_t *t = NULL;
    t = sl_timer_start(g_loop, (uint64_t)timeout_ms, stop_cb, &t);
    sl_loop_run(g_loop);
    if (t) sl_timer_cancel(t);
    CHECK(!g_timed_out);
}

static void on_done(sl_http_call_t *call, const sl_http_client_resp_t *resp, void *arg) {
    (void)call;
    result_t *r = arg;
    r->done++;
    r->error = resp->error;
    r->status = resp->status;
    r->version = resp->http_version;
    r->reused = resp->reused;
    if (resp->body) {
        CHECK(resp->body[resp->body_len] == 0);
        sl_buf_append(&r->body, resp->body, resp->body_len);
    }
    for (size_t i = 0; i < resp->header_count; i++)
        if (strcmp(resp->headers[i].name, "x-test") == 0)
            snprintf(r->header_x, sizeof r->header_x, "%s", resp->headers[i].value);
    if (--g_pending == 0) sl_loop_stop(g_loop);
}

static void on_head(sl_http_call_t *call, const sl_http_client_resp_t *resp, void *arg) {
    (void)call;
    result_t *r = arg;
    r->heads++;
    r->head_status = resp->status;
}

static void on_data(sl_http_call_t *call, const uint8_t *data, size_t len, void *arg) {
    result_t *r = arg;
    r->pieces++;
    sl_buf_append(&r->body, data, len);
    if (r->cancel_on_data) {
        sl_http_client_cancel(call);
        r->done++;
        if (--g_pending == 0) sl_loop_stop(g_loop);
    }
}

static sl_http_client_req_t req_of(const char *origin, const char *method, const char *path,
                                   result_t *r) {
    memset(r, 0, sizeof *r);
    sl_buf_init(&r->body);
    return (sl_http_client_req_t){
        .origin = origin, .method = method, .path = path, .on_done = on_done, .arg = r};
}

static int submit(sl_http_client_t *c, const sl_http_client_req_t *req) {
    int rc = sl_http_client_submit(c, req, NULL);
    if (rc == 0) g_pending++;
    return rc;
}

static bool body_is(const result_t *r, const char *prefix) {
    return r->body.len >= strlen(prefix) && memcmp(r->body.data, prefix, strlen(prefix)) == 0;
}

/* ---- tests ---- */

static void test_h1_keep_alive(const char *origin) {
    sl_http_client_t *c;
    CHECK_EQ_INT(sl_http_client_create(g_loop, NULL, &c), 0);
    result_t r1, r2, r3;
    sl_http_header_t hs[] = {{"x-amz-thing", 11, "one", 3}, {"content-type", 12, "text/plain", 10}};
    sl_http_client_req_t q = req_of(origin, "POST", "/echo", &r1);
    q.headers = hs;
    q.header_count = 2;
    q.body = "hello";
    q.body_len = 5;
    CHECK_EQ_INT(submit(c, &q), 0);
    CHECK_EQ_INT(r1.done, 0); /* never inside submit */
    run(5000);
    CHECK_EQ_INT(r1.done, 1);
    CHECK_EQ_INT(r1.error, 0);
    CHECK_EQ_INT(r1.status, 200);
    CHECK_EQ_INT(r1.version, 1);
    CHECK(!r1.reused);
    CHECK_EQ_STR(r1.header_x, "yes");
    char want[256];
    snprintf(want, sizeof want, "POST /echo v1 host=%s x=one len=5 body=hello", origin + 7);
    CHECK(body_is(&r1, want));

    /* The second call reuses the connection; GET without a body sends no Content-Length. */
    q = req_of(origin, "GET", "/missing", &r2);
    CHECK_EQ_INT(submit(c, &q), 0);
    run(5000);
    CHECK_EQ_INT(r2.status, 404);
    CHECK(r2.reused);
    CHECK(body_is(&r2, "GET /missing v1"));
    int conns, idle;
    sl_http_client_stats(c, &conns, &idle);
    CHECK_EQ_INT(conns, 1);
    CHECK_EQ_INT(idle, 1);

    /* A large body arrives whole (read straight into the call's buffer). */
    q = req_of(origin, "GET", "/big?n=3000000", &r3);
    CHECK_EQ_INT(submit(c, &q), 0);
    run(5000);
    CHECK_EQ_INT(r3.status, 200);
    CHECK_EQ_INT(r3.body.len, 3000000);
    CHECK(r3.body.len == 3000000 && r3.body.data[2999999] == (char)('a' + 2999999 % 26));

    /* Bad requests are refused at submit, and no callback runs. */
    result_t bad;
    sl_http_header_t upper[] = {{"X-Upper", 7, "v", 1}};
    q = req_of(origin, "GET", "/", &bad);
    q.headers = upper;
    q.header_count = 1;
    CHECK_EQ_INT(sl_http_client_submit(c, &q, NULL), SL_EINVAL);
    q = req_of("ftp://127.0.0.1:1", "GET", "/", &bad);
    CHECK_EQ_INT(sl_http_client_submit(c, &q, NULL), SL_EINVAL);
    q = req_of(origin, "GET", "no-slash", &bad);
    CHECK_EQ_INT(sl_http_client_submit(c, &q, NULL), SL_EINVAL);
    CHECK_EQ_INT(bad.done, 0);
    sl_buf_free(&r1.body);
    sl_buf_free(&r2.body);
    sl_buf_free(&r3.body);
    sl_http_client_destroy(c);
}

static void test_h1_pool(const char *origin) {
    sl_http_client_config_t cfg = {.connections_per_origin = 3};
    sl_http_client_t *c;
    CHECK_EQ_INT(sl_http_client_create(g_loop, &cfg, &c), 0);
    result_t r[12];
    for (int i = 0; i < 12; i++) {
        sl_http_client_req_t q = req_of(origin, "GET", "/slow?ms=20", &r[i]);
        CHECK_EQ_INT(submit(c, &q), 0);
    }
    int conns;
    sl_http_client_stats(c, &conns, NULL);
    CHECK_EQ_INT(conns, 3); /* the pool bound; the other calls wait in the queue */
    run(5000);
    int ok = 0, reused = 0;
    for (int i = 0; i < 12; i++) {
        ok += r[i].status == 200 && r[i].error == 0;
        reused += r[i].reused;
        sl_buf_free(&r[i].body);
    }
    CHECK_EQ_INT(ok, 12);
    CHECK_EQ_INT(reused, 9);
    sl_http_client_destroy(c);
}

static void test_h2(const char *origin) {
    sl_http_client_config_t cfg = {.connections_per_origin = 1, .h2_streams_max = 8};
    sl_http_client_t *c;
    CHECK_EQ_INT(sl_http_client_create(g_loop, &cfg, &c), 0);
    result_t r[20];
    char bodies[20][16];
    for (int i = 0; i < 20; i++) {
        sl_http_client_req_t q = req_of(origin, "POST", "/echo", &r[i]);
        q.version = SL_HTTPC_HTTP2;
        q.body_len = (size_t)snprintf(bodies[i], sizeof bodies[i], "body-%d", i);
        q.body = bodies[i];
        CHECK_EQ_INT(submit(c, &q), 0);
    }
    run(5000);
    int ok = 0;
    for (int i = 0; i < 20; i++) {
        char want[128];
        snprintf(want, sizeof want, "POST /echo v2 host=%s x=- len=%zu body=body-%d", origin + 7,
                 strlen(bodies[i]), i);
        ok += r[i].status == 200 && r[i].version == 2 && body_is(&r[i], want) &&
              strcmp(r[i].header_x, "yes") == 0;
        sl_buf_free(&r[i].body);
    }
    CHECK_EQ_INT(ok, 20);
    int conns;
    sl_http_client_stats(c, &conns, NULL);
    CHECK_EQ_INT(conns, 1);
    /* A large body over HTTP/2 (flow control) and an empty POST. */
    result_t big, empty;
    sl_http_client_req_t q = req_of(origin, "GET", "/big?n=5000000", &big);
    q.version = SL_HTTPC_HTTP2;
    CHECK_EQ_INT(submit(c, &q), 0);
    q = req_of(origin, "POST", "/echo", &empty);
    q.version = SL_HTTPC_HTTP2;
    CHECK_EQ_INT(submit(c, &q), 0);
    run(5000);
    CHECK_EQ_INT(big.body.len, 5000000);
    CHECK(big.reused);
    CHECK(body_is(&empty, "POST /echo v2") && strstr(empty.body.data, "len=0") != NULL);
    sl_buf_free(&big.body);
    sl_buf_free(&empty.body);
    sl_http_client_destroy(c);
}

/* Chunked (HTTP/1.1) and DATA-frame (HTTP/2) streamed responses, buffered and streamed. */
static void test_streaming(const char *origin) {
    sl_http_client_t *c;
    CHECK_EQ_INT(sl_http_client_create(g_loop, NULL, &c), 0);
    for (int v = SL_HTTPC_HTTP1; v <= SL_HTTPC_HTTP2; v++) {
        result_t buffered, streamed, cancelled, after;
        sl_http_client_req_t q = req_of(origin, "GET", "/stream?n=4&ms=5", &buffered);
        q.version = (sl_http_client_version_t)v;
        CHECK_EQ_INT(submit(c, &q), 0);
        run(5000);
        CHECK_EQ_INT(buffered.status, 200);
        CHECK(buffered.body.len == 32 &&
              memcmp(buffered.body.data, "piece-0\npiece-1\npiece-2\npiece-3\n", 32) == 0);

        q = req_of(origin, "GET", "/stream?n=4&ms=20", &streamed);
        q.version = (sl_http_client_version_t)v;
        q.on_head = on_head;
        q.on_data = on_data;
        CHECK_EQ_INT(submit(c, &q), 0);
        run(5000);
        CHECK_EQ_INT(streamed.error, 0);
        CHECK_EQ_INT(streamed.heads, 1);
        CHECK_EQ_INT(streamed.head_status, 200);
        CHECK(streamed.pieces >= 2); /* pieces arrive 20 ms apart */
        CHECK(streamed.body.len == 32 &&
              memcmp(streamed.body.data, "piece-0\npiece-1\npiece-2\npiece-3\n", 32) == 0);

        /* Cancelled from inside on_data: no on_done; the client keeps working. */
        q = req_of(origin, "GET", "/stream?n=1000&ms=5", &cancelled);
        q.version = (sl_http_client_version_t)v;
        q.on_data = on_data;
        cancelled.cancel_on_data = true;
        CHECK_EQ_INT(submit(c, &q), 0);
        run(5000);
        CHECK_EQ_INT(cancelled.done, 1); /* counted by on_data itself */
        CHECK_EQ_INT(cancelled.pieces, 1);
        q = req_of(origin, "GET", "/echo", &after);
        q.version = (sl_http_client_version_t)v;
        CHECK_EQ_INT(submit(c, &q), 0);
        run(5000);
        CHECK_EQ_INT(after.status, 200);
        CHECK_EQ_INT(after.done, 1);
        sl_buf_free(&buffered.body);
        sl_buf_free(&streamed.body);
        sl_buf_free(&cancelled.body);
        sl_buf_free(&after.body);
    }
    sl_http_client_destroy(c);
}

static void test_timeouts(const char *origin) {
    sl_http_client_t *c;
    CHECK_EQ_INT(sl_http_client_create(g_loop, NULL, &c), 0);
    for (int v = SL_HTTPC_HTTP1; v <= SL_HTTPC_HTTP2; v++) {
        result_t r, next;
        sl_http_client_req_t q = req_of(origin, "GET", "/slow?ms=3000", &r);
        q.version = (sl_http_client_version_t)v;
        q.timeout_ms = 100;
        int64_t t0 = sl_time_mono_ms();
        CHECK_EQ_INT(submit(c, &q), 0);
        run(5000);
        int64_t took = sl_time_mono_ms() - t0;
        CHECK_EQ_INT(r.error, SL_HTTPC_ETIMEOUT);
        CHECK(took >= 90 && took < 2000);
        q = req_of(origin, "GET", "/echo", &next);
        q.version = (sl_http_client_version_t)v;
        CHECK_EQ_INT(submit(c, &q), 0);
        run(5000);
        CHECK_EQ_INT(next.status, 200);
        sl_buf_free(&r.body);
        sl_buf_free(&next.body);
    }

    /* Connection refused: a port nobody listens on. */
    int port;
    int fd = listen_loopback(1, &port);
    close(fd);
    char refused[64];
    snprintf(refused, sizeof refused, "http://127.0.0.1:%d", port);
    result_t r;
    sl_http_client_req_t q = req_of(refused, "GET", "/", &r);
    CHECK_EQ_INT(submit(c, &q), 0);
    run(5000);
    CHECK_EQ_INT(r.error, SL_HTTPC_ECONNECT);
    CHECK_EQ_INT(r.status, 0);

    /* Connect timeout: a listener whose accept queue is full drops further SYNs. */
    fd = listen_loopback(0, &port);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fill[4];
    for (int i = 0; i < 4; i++) {
        fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        connect(fill[i], (struct sockaddr *)&a, sizeof a);
    }
    usleep(50000); /* let the handshakes of the fillers land in the queue */
    char blackhole[64];
    snprintf(blackhole, sizeof blackhole, "http://127.0.0.1:%d", port);
    q = req_of(blackhole, "GET", "/", &r);
    q.connect_timeout_ms = 200;
    int64_t t0 = sl_time_mono_ms();
    CHECK_EQ_INT(submit(c, &q), 0);
    run(5000);
    CHECK_EQ_INT(r.error, SL_HTTPC_ECONNECT_TIMEOUT);
    CHECK(sl_time_mono_ms() - t0 >= 190);
    for (int i = 0; i < 4; i++)
        close(fill[i]);
    close(fd);
    sl_http_client_destroy(c);
}

static void test_tls(int tls_port, const char *ca_file) {
    char origin[64];
    snprintf(origin, sizeof origin, "https://127.0.0.1:%d", tls_port);
    sl_http_client_config_t cfg = {.tls_ca_file = ca_file};
    sl_http_client_t *c;
    CHECK_EQ_INT(sl_http_client_create(g_loop, &cfg, &c), 0);
    result_t r2, r1, s;
    sl_http_client_req_t q = req_of(origin, "POST", "/echo", &r2);
    q.body = "tls";
    q.body_len = 3;
    CHECK_EQ_INT(submit(c, &q), 0);
    q = req_of(origin, "GET", "/echo", &r1);
    q.version = SL_HTTPC_HTTP1;
    CHECK_EQ_INT(submit(c, &q), 0);
    q = req_of(origin, "GET", "/stream?n=3&ms=5", &s);
    q.on_data = on_data;
    CHECK_EQ_INT(submit(c, &q), 0);
    run(5000);
    CHECK_EQ_INT(r2.error, 0);
    CHECK_EQ_INT(r2.version, 2); /* ALPN h2 */
    CHECK(body_is(&r2, "POST /echo v2") && strstr(r2.body.data, "body=tls") != NULL);
    CHECK_EQ_INT(r1.version, 1);
    CHECK(body_is(&r1, "GET /echo v1"));
    CHECK(s.body.len == 24 && memcmp(s.body.data, "piece-0\npiece-1\npiece-2\n", 24) == 0);
    sl_buf_free(&r2.body);
    sl_buf_free(&r1.body);
    sl_buf_free(&s.body);
    sl_http_client_destroy(c);

    /* Without the certificate as a trust anchor the handshake fails; with tls_insecure it passes.
     */
    result_t r;
    sl_http_client_config_t plain = {0};
    CHECK_EQ_INT(sl_http_client_create(g_loop, &plain, &c), 0);
    q = req_of(origin, "GET", "/echo", &r);
    CHECK_EQ_INT(submit(c, &q), 0);
    run(5000);
    CHECK_EQ_INT(r.error, SL_HTTPC_ETLS);
    sl_http_client_destroy(c);
    sl_http_client_config_t insecure = {.tls_insecure = true};
    CHECK_EQ_INT(sl_http_client_create(g_loop, &insecure, &c), 0);
    q = req_of(origin, "GET", "/echo", &r);
    CHECK_EQ_INT(submit(c, &q), 0);
    run(5000);
    CHECK_EQ_INT(r.status, 200);
    sl_buf_free(&r.body);
    sl_http_client_destroy(c);
}

/* One call to the raw server answering with `canned`. */
static result_t raw_call(sl_http_client_t *c, const char *canned, bool close_after,
                         sl_http_client_version_t v) {
    pthread_mutex_lock(&g_canned_mu);
    g_canned = canned;
    g_canned_len = strlen(canned);
    g_canned_close = close_after;
    pthread_mutex_unlock(&g_canned_mu);
    char origin[64];
    snprintf(origin, sizeof origin, "http://127.0.0.1:%d", g_raw_port);
    result_t r;
    sl_http_client_req_t q = req_of(origin, "GET", "/", &r);
    q.version = v;
    q.response_body_max_bytes = 1000;
    CHECK_EQ_INT(submit(c, &q), 0);
    run(5000);
    return r;
}

static void test_raw_framings(void) {
    sl_http_client_t *c;
    CHECK_EQ_INT(sl_http_client_create(g_loop, NULL, &c), 0);
    result_t r =
        raw_call(c, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", false, SL_HTTPC_AUTO);
    CHECK(r.status == 200 && r.body.len == 5 && memcmp(r.body.data, "hello", 5) == 0);
    sl_buf_free(&r.body);
    /* Interim 100 Continue, then chunked with extensions and trailers, on the same connection. */
    r = raw_call(
        c,
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n"
        "3;ext=1\r\nabc\r\n0002\r\nde\r\n0\r\nX-Trailer: t\r\n\r\n",
        false, SL_HTTPC_AUTO);
    CHECK(r.status == 201 && r.body.len == 5 && memcmp(r.body.data, "abcde", 5) == 0);
    CHECK(r.reused);
    sl_buf_free(&r.body);
    /* A body delimited by the end of the connection (HTTP/1.0 style). */
    r = raw_call(c, "HTTP/1.0 200 OK\r\n\r\nuntil close", true, SL_HTTPC_AUTO);
    CHECK(r.error == 0 && r.body.len == 11 && memcmp(r.body.data, "until close", 11) == 0);
    sl_buf_free(&r.body);
    r = raw_call(c, "HTTP/1.1 204 No Content\r\n\r\n", false, SL_HTTPC_AUTO);
    CHECK(r.error == 0 && r.status == 204 && r.body.len == 0);
    /* Failures: malformed, truncated, over the body bound, bytes nobody asked for. */
    r = raw_call(c, "HTTP/1.1 2OO OK\r\nContent-Length: 0\r\n\r\n", false, SL_HTTPC_AUTO);
    CHECK_EQ_INT(r.error, SL_HTTPC_EPROTO);
    r = raw_call(c, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", true, SL_HTTPC_AUTO);
    CHECK_EQ_INT(r.error, SL_HTTPC_ECLOSED);
    r = raw_call(c, "HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n", false, SL_HTTPC_AUTO);
    CHECK_EQ_INT(r.error, SL_HTTPC_ETOOLARGE);
    r = raw_call(c, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
                 false, SL_HTTPC_AUTO);
    CHECK_EQ_INT(r.error, SL_HTTPC_EPROTO);
    /* An HTTP/1.1 answer to an HTTP/2 connection preface is a protocol error, not a hang. */
    r = raw_call(c, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", true, SL_HTTPC_HTTP2);
    CHECK(r.error == SL_HTTPC_EPROTO || r.error == SL_HTTPC_ECLOSED);
    /* A server that closes a keep-alive connection after answering: the next call gets a new one.
     */
    int before = atomic_load(&g_raw_accepts);
    r = raw_call(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", true, SL_HTTPC_AUTO);
    CHECK_EQ_INT(r.status, 200);
    sl_buf_free(&r.body);
    usleep(20000);
    r = raw_call(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false, SL_HTTPC_AUTO);
    CHECK_EQ_INT(r.status, 200);
    CHECK(atomic_load(&g_raw_accepts) >= before + 1);
    sl_buf_free(&r.body);
    sl_http_client_destroy(c);
}

static void test_idle_and_destroy(const char *origin) {
    sl_http_client_config_t cfg = {.idle_timeout_ms = 300};
    sl_http_client_t *c;
    CHECK_EQ_INT(sl_http_client_create(g_loop, &cfg, &c), 0);
    result_t r;
    sl_http_client_req_t q = req_of(origin, "GET", "/echo", &r);
    CHECK_EQ_INT(submit(c, &q), 0);
    run(5000);
    int conns;
    sl_http_client_stats(c, &conns, NULL);
    CHECK_EQ_INT(conns, 1);
    int64_t t0 = sl_time_mono_ms();
    while (conns > 0 && sl_time_mono_ms() - t0 < 3000) {
        g_pending = 1;
        sl_timer_t *t = NULL;
        t = sl_timer_start(g_loop, 50, stop_cb, &t);
        sl_loop_run(g_loop);
        g_pending = 0;
        sl_http_client_stats(c, &conns, NULL);
    }
    CHECK_EQ_INT(conns, 0);
    sl_buf_free(&r.body);

    /* Destroy completes pending calls with SL_HTTPC_ESHUTDOWN. */
    q = req_of(origin, "GET", "/slow?ms=2000", &r);
    CHECK_EQ_INT(submit(c, &q), 0);
    sl_http_client_destroy(c);
    CHECK_EQ_INT(r.done, 1);
    CHECK_EQ_INT(r.error, SL_HTTPC_ESHUTDOWN);
    g_pending = 0;
}

/* ---- a connection freed while the loop still holds an event for it ---- */

typedef struct {
    int lfd, fd;
    sl_http_client_t *c;
    result_t *second;
    char origin[64];
} stale_t;

/* Accepts the client's connection on the test's own listener, reads its request and answers it,
 * keeping the connection open (blocking calls: the client wrote its request before this timer). */
static void stale_answer(void *arg) {
    stale_t *s = arg;
    s->fd = accept(s->lfd, NULL, NULL);
    char buf[2048];
    size_t have = 0;
    while (have < sizeof buf - 1) {
        ssize_t n = read(s->fd, buf + have, sizeof buf - 1 - have);
        if (n <= 0) break;
        have += (size_t)n;
        buf[have] = 0;
        if (strstr(buf, "\r\n\r\n")) break;
    }
    static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    CHECK_EQ_INT((int)write(s->fd, ok, sizeof ok - 1), (int)sizeof ok - 1);
}

static void stale_submit(void *arg) {
    stale_t *s = arg;
    sl_http_client_req_t q = req_of(s->origin, "GET", "/", s->second);
    q.timeout_ms = 300;
    CHECK_EQ_INT(sl_http_client_submit(s->c, &q, NULL), 0); /* counted in g_pending already */
}

/* One loop iteration sees, in this order, a post that submits a call and the end of the idle
 * pooled connection (the server closed it). The submit finds the connection stale and closes it;
 * the loop then still delivers the connection's own event, so its memory must outlive the
 * iteration. */
static void stale_close(void *arg) {
    stale_t *s = arg;
    CHECK_EQ_INT(sl_loop_post(g_loop, stale_submit, s), 0);
    close(s->fd);
    s->fd = -1;
}

static void test_stale_closed_in_batch(void) {
    stale_t s = {.fd = -1};
    int port;
    s.lfd = listen_loopback(4, &port);
    snprintf(s.origin, sizeof s.origin, "http://127.0.0.1:%d", port);
    CHECK_EQ_INT(sl_http_client_create(g_loop, NULL, &s.c), 0);
    result_t r1, r2;
    s.second = &r2;
    sl_http_client_req_t q = req_of(s.origin, "GET", "/", &r1);
    CHECK_EQ_INT(submit(s.c, &q), 0);
    sl_timer_start(g_loop, 20, stale_answer, &s);
    run(5000);
    CHECK_EQ_INT(r1.status, 200);
    /* Idle for more than a millisecond, so that the next submit checks the connection. */
    g_pending = 1;
    sl_timer_start(g_loop, 5, stale_close, &s);
    sl_timer_start(g_loop, 50, stale_answer, &s);
    run(5000);
    CHECK_EQ_INT(r2.error, 0);
    CHECK_EQ_INT(r2.status, 200);
    CHECK(!r2.reused);
    sl_buf_free(&r1.body);
    sl_buf_free(&r2.body);
    sl_http_client_destroy(s.c);
    if (s.fd >= 0) close(s.fd);
    close(s.lfd);
}

int main(void) {
    signal(SIGPIPE, SIG_IGN);
    char dir[] = "/tmp/sl_client_tlsXXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char tls_dir[256], ca_file[300];
    snprintf(tls_dir, sizeof tls_dir, "%s/tls", dir);
    snprintf(ca_file, sizeof ca_file, "%s/cert.pem", tls_dir);
    int tls_fd, tls_port;
    tls_fd = listen_loopback(1, &tls_port); /* a free port for the TLS listener */
    close(tls_fd);
    sl_http_server_config_t cfg = {.bind_address = "127.0.0.1",
                                   .threads = 2,
                                   .body_max_bytes = 1 << 20,
                                   .handler = handler,
                                   .tls_port = tls_port,
                                   .tls_dir = tls_dir};
    sl_http_server_t *srv = NULL;
    CHECK_EQ_INT(sl_http_server_start(&cfg, &srv), 0);
    if (!srv) TEST_MAIN_END();
    char origin[64];
    snprintf(origin, sizeof origin, "http://127.0.0.1:%d", sl_http_server_port(srv));
    g_raw_fd = listen_loopback(16, &g_raw_port);
    pthread_create(&g_raw_thread, NULL, raw_main, NULL);
    CHECK_EQ_INT(sl_loop_create(&g_loop), 0);

    test_h1_keep_alive(origin);
    test_h1_pool(origin);
    test_h2(origin);
    test_streaming(origin);
    test_timeouts(origin);
    test_tls(sl_http_server_tls_port(srv), ca_file);
    test_raw_framings();
    test_idle_and_destroy(origin);
    test_stale_closed_in_batch();
    CHECK_EQ_INT(strcmp(sl_http_client_strerror(SL_HTTPC_ETIMEOUT), "request timed out"), 0);

    sl_loop_destroy(g_loop);
    shutdown(g_raw_fd, SHUT_RDWR);
    close(g_raw_fd);
    pthread_join(g_raw_thread, NULL);
    sl_http_server_stop(srv, 1000);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
    TEST_MAIN_END();
}
