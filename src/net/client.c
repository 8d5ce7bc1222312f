/* The outbound HTTP client (net/client.h): pools of keep-alive connections per origin, connection
 * set-up (non-blocking connect, TLS handshake with ALPN), timeouts on loop timers, HTTP/1.1 request
 * writing and response reading (http1_response.c), and the call lifecycle. HTTP/2 framing lives in
 * client_h2.c. Everything runs on the client's loop thread.
 *
 * Failures found while the caller is inside sl_http_client_submit or _cancel (a write error, an
 * immediate connect error, a name that does not resolve) are acted on at the next loop iteration
 * through a zero-delay timer, so that no on_done ever runs inside submit. */
#include "net/client_internal.h"

#include "core/common.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/time.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/uio.h>
#include <unistd.h>

const char *sl_http_client_strerror(int error) {
    switch (error) {
    case SL_HTTPC_OK:
        return "ok";
    case SL_HTTPC_ERESOLVE:
        return "host name did not resolve";
    case SL_HTTPC_ECONNECT:
        return "connect failed";
    case SL_HTTPC_ECONNECT_TIMEOUT:
        return "connect timed out";
    case SL_HTTPC_ETLS:
        return "TLS handshake failed";
    case SL_HTTPC_ETIMEOUT:
        return "request timed out";
    case SL_HTTPC_ECLOSED:
        return "connection closed";
    case SL_HTTPC_ERESET:
        return "connection reset";
    case SL_HTTPC_EPROTO:
        return "malformed HTTP response";
    case SL_HTTPC_ESTREAM:
        return "h2 stream reset";
    case SL_HTTPC_ETOOLARGE:
        return "response too large";
    case SL_HTTPC_ENOMEM:
        return "out of memory";
    case SL_HTTPC_ESHUTDOWN:
        return "client shut down";
    default:
        return "unknown error";
    }
}

static void conn_free(hc_conn_t *c);
static void conn_fail_later_cb(void *arg);
static void pump(hc_origin_t *o);
static void h1_flush(hc_conn_t *c);

/* ---- calls ---- */

static sl_http_call_t *call_alloc(sl_http_client_t *cl) {
    sl_http_call_t *call = cl->free_calls;
    if (call) {
        cl->free_calls = call->next;
        cl->nfree--;
        sl_arena_t arena = call->arena;
        sl_buf_t rbody = call->rbody, head = call->head;
        memset(call, 0, sizeof *call);
        call->arena = arena;
        call->rbody = rbody;
        call->head = head;
        return call;
    }
    call = calloc(1, sizeof *call);
    if (!call) return NULL;
    sl_arena_init(&call->arena, 4096);
    sl_buf_init(&call->rbody);
    sl_buf_init(&call->head);
    return call;
}

static void call_release(sl_http_call_t *call) {
    sl_http_client_t *cl = call->client;
    SL_ASSERT(call->finished && call->in_cb == 0 && call->conn == NULL);
    if (call->timer) sl_timer_cancel(call->timer);
    call->timer = NULL;
    if (cl->nfree >= SL_HTTP_CLIENT_CALLS_POOLED_MAX) {
        sl_arena_deinit(&call->arena);
        sl_buf_free(&call->rbody);
        sl_buf_free(&call->head);
        free(call);
        return;
    }
    sl_buf_reset(&call->head);
    call->head.failed = false;
    sl_arena_reset(&call->arena);
    if (call->rbody.cap > SL_HTTP_CLIENT_POOLED_BUFFER_BYTES_MAX) sl_buf_free(&call->rbody);
    sl_buf_reset(&call->rbody);
    call->rbody.failed = false;
    call->next = cl->free_calls;
    cl->free_calls = call;
    cl->nfree++;
}

static void queue_remove(hc_origin_t *o, sl_http_call_t *call) {
    if (call->prev)
        call->prev->next = call->next;
    else
        o->q_head = call->next;
    if (call->next)
        call->next->prev = call->prev;
    else
        o->q_tail = call->prev;
    call->prev = call->next = NULL;
    o->queued--;
}

static void queue_push(hc_origin_t *o, sl_http_call_t *call, bool front) {
    call->prev = call->next = NULL;
    if (!front) call->seq = o->seq++;
    if (front) {
        call->next = o->q_head;
        if (o->q_head)
            o->q_head->prev = call;
        else
            o->q_tail = call;
        o->q_head = call;
    } else {
        call->prev = o->q_tail;
        if (o->q_tail)
            o->q_tail->next = call;
        else
            o->q_head = call;
        o->q_tail = call;
    }
    o->queued++;
}

/* Takes the call off its connection (the connection stays as it is) or out of the queue. */
static void call_detach(sl_http_call_t *call) {
    hc_conn_t *c = call->conn;
    if (!c) {
        if (call->prev || call->next || call->origin->q_head == call)
            queue_remove(call->origin, call);
        return;
    }
    if (call->prev)
        call->prev->next = call->next;
    else
        c->calls = call->next;
    if (call->next) call->next->prev = call->prev;
    call->prev = call->next = NULL;
    if (c->h1_call == call) {
        c->h1_call = NULL;
        c->h1_body = NULL;
        c->h1_body_len = c->h1_body_off = 0;
    }
    if (c->sess && call->stream_id > 0)
        nghttp2_session_set_stream_user_data(c->sess, call->stream_id, NULL);
    call->conn = NULL;
}

void sl_hc_call_finish(sl_http_call_t *call, int error) {
    if (call->finished) return;
    call->finished = true;
    if (call->timer) sl_timer_cancel(call->timer);
    call->timer = NULL;
    call_detach(call);
    call->resp.error = error;
    if (error == 0 && !call->on_data) {
        /* The body is followed by one NUL byte, like request bodies in the server. */
        if (sl_buf_reserve(&call->rbody, 1)) {
            call->rbody.data[call->rbody.len] = 0;
            call->resp.body = (const uint8_t *)call->rbody.data;
            call->resp.body_len = call->rbody.len;
        } else {
            call->resp.error = SL_HTTPC_ENOMEM;
        }
    }
    if (call->resp.error) {
        call->resp.body = NULL;
        call->resp.body_len = 0;
    }
    call->in_cb++;
    call->on_done(call, &call->resp, call->arg);
    call->in_cb--;
    if (call->in_cb == 0) call_release(call);
}

bool sl_hc_call_head(sl_http_call_t *call) {
    if (call->head_delivered) return !call->finished;
    call->head_delivered = true;
    if (!call->on_head) return true;
    call->in_cb++;
    call->on_head(call, &call->resp, call->arg);
    call->in_cb--;
    if (!call->finished) return true;
    if (call->in_cb == 0) call_release(call);
    return false;
}

bool sl_hc_call_data(sl_http_call_t *call, const uint8_t *data, size_t len) {
    if (!sl_hc_call_head(call)) return false;
    if (len == 0) return true;
    call->in_cb++;
    call->on_data(call, data, len, call->arg);
    call->in_cb--;
    if (!call->finished) return true;
    if (call->in_cb == 0) call_release(call);
    return false;
}

static void call_timeout(void *arg) {
    sl_http_call_t *call = arg;
    call->timer = NULL;
    hc_conn_t *c = call->conn;
    if (c && !c->h2) {
        /* The HTTP/1.1 connection is mid-response: it cannot carry anything else. */
        sl_hc_conn_pin(c);
        sl_hc_call_finish(call, SL_HTTPC_ETIMEOUT);
        sl_hc_conn_close(c, SL_HTTPC_ECLOSED);
        sl_hc_conn_unpin(c);
        return;
    }
    if (c) sl_hc_h2_cancel(c, call);
    sl_hc_call_finish(call, SL_HTTPC_ETIMEOUT);
}

/* ---- connections: socket I/O ---- */

static void want_write(hc_conn_t *c, bool on) {
    if (c->want_write == on || c->io.fd < 0) return;
    c->want_write = on;
    sl_loop_io_mod(c->origin->client->loop, &c->io, EPOLLIN | (on ? EPOLLOUT : 0));
}

/* Every socket error after the connection is up is reported as a reset. */
static int map_errno(int e) {
    (void)e;
    return SL_HTTPC_ERESET;
}

long sl_hc_conn_read(hc_conn_t *c, void *buf, size_t len) {
    if (c->ssl) {
        ERR_clear_error();
        errno = 0;
        int n = SSL_read(c->ssl, buf, (int)SL_MIN(len, (size_t)1 << 30));
        if (n > 0) return n;
        int e = SSL_get_error(c->ssl, n);
        if (e == SSL_ERROR_WANT_READ) return -1;
        if (e == SSL_ERROR_WANT_WRITE) {
            want_write(c, true);
            return -1;
        }
        if (e == SSL_ERROR_ZERO_RETURN) return 0;
        if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0 && errno == 0)
            return 0; /* EOF without close_notify */
        return SL_HTTPC_ERESET;
    }
    for (;;) {
        ssize_t n = read(c->io.fd, buf, len);
        if (n >= 0) return n;
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return -1;
        return map_errno(errno);
    }
}

/* Writes up to len bytes: returns the count (>= 0; 0 when the socket is full) or an error. */
static long sock_write(hc_conn_t *c, const void *data, size_t len) {
    if (len == 0) return 0;
    if (c->ssl) {
        ERR_clear_error();
        int n = SSL_write(c->ssl, data, (int)SL_MIN(len, (size_t)1 << 30));
        if (n > 0) return n;
        int e = SSL_get_error(c->ssl, n);
        if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) return 0;
        return SL_HTTPC_ERESET;
    }
    for (;;) {
        ssize_t n = send(c->io.fd, data, len, MSG_NOSIGNAL);
        if (n >= 0) return n;
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
        return map_errno(errno);
    }
}

/* Writes the pending output buffer. Returns 1 when it is empty, 0 when the socket is full, or an
 * error. */
static int flush_out(hc_conn_t *c) {
    while (c->out_off < c->out.len) {
        long n = sock_write(c, c->out.data + c->out_off, c->out.len - c->out_off);
        if (n < 0) return (int)n;
        if (n == 0) return 0;
        c->out_off += (size_t)n;
    }
    c->out.len = c->out_off = 0;
    return 1;
}

int sl_hc_conn_flush(hc_conn_t *c) {
    int r = flush_out(c);
    if (r >= 0) want_write(c, r == 0);
    return r;
}

/* ---- connections: lifecycle ---- */

static void avail_add(hc_conn_t *c) {
    if (c->in_avail) return;
    hc_origin_t *o = c->origin;
    c->in_avail = true;
    c->aprev = NULL;
    c->anext = o->avail;
    if (o->avail) o->avail->aprev = c;
    o->avail = c;
}

static void avail_remove(hc_conn_t *c) {
    sl_hc_conn_unavail(c);
}

void sl_hc_conn_unavail(hc_conn_t *c) {
    if (!c->in_avail) return;
    hc_origin_t *o = c->origin;
    c->in_avail = false;
    if (c->aprev)
        c->aprev->anext = c->anext;
    else
        o->avail = c->anext;
    if (c->anext) c->anext->aprev = c->aprev;
    c->aprev = c->anext = NULL;
}

void sl_hc_conn_pin(hc_conn_t *c) {
    c->refs++;
}

void sl_hc_conn_unpin(hc_conn_t *c) {
    SL_ASSERT(c->refs > 0);
    if (--c->refs > 0) return;
    if (c->state == HC_DEAD) {
        conn_free(c);
        return;
    }
    if (c->h2 && c->send_pending) sl_hc_h2_flush(c);
}

static void free_later(void *arg) {
    free(arg);
}

/* The struct itself outlives the loop iteration: the loop may hold an event for the socket,
 * fetched in the same batch as the event (or post) that closed the connection, and reads io.fd
 * (-1 since the close) to skip it (net/loop_internal.h). */
static void conn_free(hc_conn_t *c) {
    if (c->sess) nghttp2_session_del(c->sess);
    if (c->ssl) SSL_free(c->ssl);
    sl_buf_free(&c->in);
    sl_buf_free(&c->out);
    if (sl_loop_post(c->origin->client->loop, free_later, c) != 0) free(c);
}

/* Fails the calls queued now (not those their callbacks submit meanwhile). */
static void fail_queue(hc_origin_t *o, int error) {
    uint64_t limit = o->seq;
    while (o->q_head && o->q_head->seq < limit)
        sl_hc_call_finish(o->q_head, error);
}

void sl_hc_conn_close(hc_conn_t *c, int error) {
    if (c->state == HC_DEAD) return;
    hc_origin_t *o = c->origin;
    sl_http_client_t *cl = o->client;
    sl_hc_conn_pin(c); /* callbacks below must not free it under us */
    bool was_ready = c->state == HC_READY;
    if (!was_ready) o->nconnecting--;
    c->state = HC_DEAD;
    if (c->connect_timer) sl_timer_cancel(c->connect_timer);
    if (c->fail_timer) sl_timer_cancel(c->fail_timer);
    c->connect_timer = c->fail_timer = NULL;
    avail_remove(c);
    if (c->prev)
        c->prev->next = c->next;
    else
        o->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    o->nconns--;
    if (c->io.fd >= 0) {
        sl_loop_io_del(cl->loop, &c->io);
        close(c->io.fd);
        c->io.fd = -1; /* events already fetched for it in this iteration are skipped */
    }
    int call_error = error ? error : SL_HTTPC_ECLOSED;
    while (c->calls)
        sl_hc_call_finish(c->calls, call_error);
    /* A failed attempt fails the calls waiting for it when no other connection can serve them;
     * otherwise they wait for the others (or get a new connection from pump). */
    if (!was_ready && error && o->nconnecting == 0 && o->nconns == 0) fail_queue(o, error);
    if (!cl->destroying) pump(o);
    sl_hc_conn_unpin(c); /* frees it unless an outer caller still holds it */
}

static void conn_fail_later_cb(void *arg) {
    hc_conn_t *c = arg;
    c->fail_timer = NULL;
    sl_hc_conn_close(c, c->fail_error);
}

void sl_hc_conn_fail_later(hc_conn_t *c, int error) {
    if (c->state == HC_DEAD || c->fail_timer) return;
    avail_remove(c);
    c->fail_error = error;
    c->fail_timer = sl_timer_start(c->origin->client->loop, 0, conn_fail_later_cb, c);
    if (!c->fail_timer) sl_hc_conn_close(c, error);
}

void sl_hc_conn_released(hc_conn_t *c) {
    if (c->state != HC_READY || c->fail_timer) return;
    c->served++;
    if (!c->calls) c->idle_since_ms = sl_time_mono_ms();
    if ((c->h2 ? sl_hc_h2_room(c) > 0 : c->h1_call == NULL)) avail_add(c);
    pump(c->origin);
}

static void sweep_cb(void *arg);

static void sweep_arm(sl_http_client_t *cl) {
    if (cl->sweep || cl->destroying) return;
    int64_t period = cl->cfg.idle_timeout_ms / 4;
    period = SL_MAX(SL_MIN(period, SL_HTTP_CLIENT_SWEEP_MAX_MS), SL_HTTP_CLIENT_SWEEP_MIN_MS);
    cl->sweep = sl_timer_start(cl->loop, (uint64_t)period, sweep_cb, cl);
}

static void sweep_cb(void *arg) {
    sl_http_client_t *cl = arg;
    cl->sweep = NULL;
    int64_t now = sl_loop_now_ms(cl->loop);
    int left = 0;
    for (int i = 0; i < cl->norigins; i++) {
        hc_origin_t *o = cl->origins[i];
        hc_conn_t *next;
        for (hc_conn_t *c = o->conns; c; c = next) {
            next = c->next;
            if (c->state == HC_READY && !c->calls &&
                now - c->idle_since_ms >= cl->cfg.idle_timeout_ms)
                sl_hc_conn_close(c, 0);
        }
        left += o->nconns;
    }
    if (left) sweep_arm(cl);
}

static void conn_ready(hc_conn_t *c) {
    hc_origin_t *o = c->origin;
    if (c->connect_timer) sl_timer_cancel(c->connect_timer);
    c->connect_timer = NULL;
    if (c->ssl) {
        const unsigned char *p = NULL;
        unsigned int n = 0;
        SSL_get0_alpn_selected(c->ssl, &p, &n);
        c->h2 = n == 2 && memcmp(p, "h2", 2) == 0;
        if (o->version == SL_HTTPC_HTTP2 && !c->h2) {
            SL_DEBUG("net: client: %s did not accept h2 through ALPN", o->authority);
            sl_hc_conn_close(c, SL_HTTPC_ETLS);
            return;
        }
    } else {
        c->h2 = o->version == SL_HTTPC_HTTP2;
    }
    c->state = HC_READY;
    o->nconnecting--;
    c->idle_since_ms = sl_time_mono_ms();
    want_write(c, false);
    if (c->h2 && sl_hc_h2_start(c) != 0) {
        sl_hc_conn_close(c, SL_HTTPC_ENOMEM);
        return;
    }
    if (c->state != HC_READY) return;
    avail_add(c);
    pump(o);
}

static void tls_step(hc_conn_t *c) {
    ERR_clear_error();
    int r = SSL_connect(c->ssl);
    if (r == 1) {
        conn_ready(c);
        return;
    }
    int e = SSL_get_error(c->ssl, r);
    if (e == SSL_ERROR_WANT_READ) {
        want_write(c, false);
        return;
    }
    if (e == SSL_ERROR_WANT_WRITE) {
        want_write(c, true);
        return;
    }
    long v = SSL_get_verify_result(c->ssl);
    SL_DEBUG("net: client: TLS handshake with %s failed: %s", c->origin->authority,
             v != X509_V_OK ? X509_verify_cert_error_string(v) : "handshake error");
    sl_hc_conn_close(c, SL_HTTPC_ETLS);
}

static int tls_begin(hc_conn_t *c) {
    hc_origin_t *o = c->origin;
    c->ssl = SSL_new(o->client->tls);
    if (!c->ssl || SSL_set_fd(c->ssl, c->io.fd) != 1) return SL_HTTPC_ENOMEM;
    SSL_set_connect_state(c->ssl);
    static const unsigned char both[] = "\x02h2\x08http/1.1", h2[] = "\x02h2",
                               h1[] = "\x08http/1.1";
    if (o->version == SL_HTTPC_HTTP2)
        SSL_set_alpn_protos(c->ssl, h2, sizeof h2 - 1);
    else if (o->version == SL_HTTPC_HTTP1)
        SSL_set_alpn_protos(c->ssl, h1, sizeof h1 - 1);
    else
        SSL_set_alpn_protos(c->ssl, both, sizeof both - 1);
    unsigned char ip[16];
    bool is_ip = inet_pton(AF_INET, o->host, ip) == 1 || inet_pton(AF_INET6, o->host, ip) == 1;
    if (!is_ip) SSL_set_tlsext_host_name(c->ssl, o->host);
    if (!o->client->cfg.tls_insecure) {
        if (is_ip)
            X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), o->host);
        else
            SSL_set1_host(c->ssl, o->host);
    }
    c->state = HC_TLS;
    tls_step(c);
    return 0;
}

static void connect_done(hc_conn_t *c) {
    int err = 0;
    socklen_t el = sizeof err;
    if (getsockopt(c->io.fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0) err = errno;
    if (err != 0) {
        sl_hc_conn_close(c, SL_HTTPC_ECONNECT);
        return;
    }
    if (!c->origin->tls) {
        conn_ready(c);
        return;
    }
    if (tls_begin(c) != 0) sl_hc_conn_close(c, SL_HTTPC_ENOMEM);
}

static void h1_readable(hc_conn_t *c);

static void conn_on_io(sl_loop_io_t *io, uint32_t events) {
    hc_conn_t *c = (hc_conn_t *)((char *)io - offsetof(hc_conn_t, io));
    sl_hc_conn_pin(c);
    switch (c->state) {
    case HC_CONNECTING:
        if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) connect_done(c);
        break;
    case HC_TLS:
        tls_step(c);
        break;
    case HC_READY:
        if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
            if (c->h2)
                sl_hc_h2_readable(c);
            else
                h1_readable(c);
        }
        if (c->state == HC_READY && (events & EPOLLOUT)) {
            if (c->h2) {
                int r = sl_hc_conn_flush(c);
                if (r < 0)
                    sl_hc_conn_close(c, r);
                else if (r == 1)
                    sl_hc_h2_flush(c); /* deferred to the unpin below */
            } else {
                h1_flush(c);
            }
        }
        break;
    default:
        break;
    }
    sl_hc_conn_unpin(c);
}

static void connect_timeout_cb(void *arg) {
    hc_conn_t *c = arg;
    c->connect_timer = NULL;
    sl_hc_conn_close(c, SL_HTTPC_ECONNECT_TIMEOUT);
}

static int resolve(hc_origin_t *o) {
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    char port[16];
    snprintf(port, sizeof port, "%d", o->port);
    if (getaddrinfo(o->host, port, &hints, &res) != 0 || !res) return SL_HTTPC_ERESOLVE;
    memcpy(&o->addr, res->ai_addr, res->ai_addrlen);
    o->addrlen = res->ai_addrlen;
    freeaddrinfo(res);
    o->resolved = true;
    return 0;
}

/* Starts a new connection for o. Failures are reported through the connection (later). */
static int conn_open(hc_origin_t *o, int connect_timeout_ms) {
    sl_http_client_t *cl = o->client;
    hc_conn_t *c = calloc(1, sizeof *c);
    if (!c) return SL_ENOMEM;
    c->origin = o;
    c->io.fd = -1;
    c->io.cb = conn_on_io;
    c->state = HC_CONNECTING;
    sl_buf_init(&c->in);
    sl_buf_init(&c->out);
    c->next = o->conns;
    if (o->conns) o->conns->prev = c;
    o->conns = c;
    o->nconns++;
    o->nconnecting++;
    sweep_arm(cl);
    int err = o->resolved ? 0 : resolve(o);
    if (err == 0) {
        c->io.fd = socket(o->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (c->io.fd < 0) err = SL_HTTPC_ECONNECT;
    }
    if (err == 0) {
        int one = 1;
        setsockopt(c->io.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (connect(c->io.fd, (struct sockaddr *)&o->addr, o->addrlen) != 0 && errno != EINPROGRESS)
            err = SL_HTTPC_ECONNECT;
        else if (sl_loop_io_add(cl->loop, &c->io, EPOLLIN | EPOLLOUT) != 0)
            err = SL_HTTPC_ECONNECT;
        else
            c->want_write = true;
    }
    if (err == 0) {
        c->connect_timer =
            sl_timer_start(cl->loop, (uint64_t)connect_timeout_ms, connect_timeout_cb, c);
        if (!c->connect_timer) err = SL_HTTPC_ENOMEM;
    }
    if (err != 0) sl_hc_conn_fail_later(c, err);
    return 0;
}

/* ---- HTTP/1.1 ---- */

/* Serialises the request head into c->out and starts writing head + body. */
static void h1_attach(hc_conn_t *c, sl_http_call_t *call) {
    hc_origin_t *o = c->origin;
    sl_buf_t *b = &c->out;
    if (c->out_off == c->out.len) b->len = c->out_off = 0;
    if (call->head_text) {
        sl_buf_append(b, call->head.data, call->head.len);
    } else {
        sl_buf_printf(b, "%s %s HTTP/1.1\r\n", call->method, call->path);
        if (!call->has_host) sl_buf_printf(b, "host: %s\r\n", o->authority);
        for (size_t i = 0; i < call->header_count; i++) {
            const sl_http_header_t *h = &call->headers[i];
            sl_buf_append(b, h->name, h->name_len);
            sl_buf_append(b, ": ", 2);
            sl_buf_append(b, h->value, h->value_len);
            sl_buf_append(b, "\r\n", 2);
        }
        if (call->needs_length) sl_buf_printf(b, "content-length: %zu\r\n", call->body_len);
        sl_buf_append(b, "\r\n", 2);
    }
    if (sl_buf_failed(b)) {
        b->failed = false;
        sl_hc_conn_fail_later(c, SL_HTTPC_ENOMEM);
        return;
    }
    c->h1_call = call;
    c->h1_body = call->body;
    c->h1_body_len = call->body_len;
    c->h1_body_off = 0;
    sl_http1_resp_init(&c->rp, call->head_method);
    h1_flush(c);
}

static void h1_flush(hc_conn_t *c) {
    for (;;) {
        size_t head_left = c->out.len - c->out_off;
        size_t body_left = c->h1_body_len - c->h1_body_off;
        if (head_left == 0 && body_left == 0) break;
        long n;
        if (c->ssl) {
            n = head_left ? sock_write(c, c->out.data + c->out_off, head_left)
                          : sock_write(c, c->h1_body + c->h1_body_off, body_left);
        } else {
            struct iovec iov[2];
            int k = 0;
            if (head_left) iov[k++] = (struct iovec){c->out.data + c->out_off, head_left};
            if (body_left)
                iov[k++] = (struct iovec){(void *)(c->h1_body + c->h1_body_off), body_left};
            ssize_t w = writev(c->io.fd, iov, k);
            if (w < 0 && errno == EINTR) continue;
            n = w >= 0 ? w : (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : map_errno(errno);
        }
        if (n < 0) {
            sl_hc_conn_fail_later(c, (int)n);
            return;
        }
        if (n == 0) {
            want_write(c, true);
            return;
        }
        size_t hw = SL_MIN((size_t)n, head_left);
        c->out_off += hw;
        c->h1_body_off += (size_t)n - hw;
    }
    c->out.len = c->out_off = 0;
    want_write(c, false);
}

/* The response is complete: the connection is reused or closed, then the call completes. */
static void h1_done(hc_conn_t *c, sl_http_call_t *call) {
    bool keep = c->rp.head.keep_alive && c->h1_body_off == c->h1_body_len;
    call_detach(call);
    if (keep)
        sl_hc_conn_released(c);
    else
        sl_hc_conn_close(c, SL_HTTPC_ECLOSED);
    sl_hc_call_finish(call, 0);
}

/* The head arrived. False when the connection was closed or the call cancelled. */
static bool h1_head(hc_conn_t *c, sl_http_call_t *call) {
    const sl_http1_resp_head_t *h = &c->rp.head;
    call->resp.status = h->status;
    call->resp.headers = h->headers;
    call->resp.header_count = h->header_count;
    if (call->on_data) return sl_hc_call_head(call) && c->state == HC_READY;
    if (h->framing == SL_H1RESP_FRAMING_LENGTH) {
        if (h->content_length > call->body_max) {
            sl_hc_conn_close(c, SL_HTTPC_ETOOLARGE);
            return false;
        }
        if (!sl_buf_reserve(&call->rbody, (size_t)h->content_length + 1)) {
            sl_hc_conn_close(c, SL_HTTPC_ENOMEM);
            return false;
        }
    }
    return true;
}

static bool h1_body(hc_conn_t *c, sl_http_call_t *call, const char *data, size_t len) {
    if (call->on_data)
        return sl_hc_call_data(call, (const uint8_t *)data, len) && c->state == HC_READY;
    if (call->rbody.len + len > call->body_max) {
        sl_hc_conn_close(c, SL_HTTPC_ETOOLARGE);
        return false;
    }
    sl_buf_append(&call->rbody, data, len);
    if (sl_buf_failed(&call->rbody)) {
        sl_hc_conn_close(c, SL_HTTPC_ENOMEM);
        return false;
    }
    return true;
}

/* Parses what is buffered in c->in. */
static void h1_process(hc_conn_t *c) {
    while (c->state == HC_READY) {
        sl_http_call_t *call = c->h1_call;
        size_t avail = c->in.len - c->in_off;
        if (!call) {
            if (avail) sl_hc_conn_close(c, SL_HTTPC_EPROTO); /* bytes nobody asked for */
            return;
        }
        const char *chunk;
        size_t clen, used;
        sl_http1_resp_event_t ev = sl_http1_resp_feed(&c->rp, &call->arena, c->in.data + c->in_off,
                                                      avail, &used, &chunk, &clen);
        c->in_off += used;
        switch (ev) {
        case SL_H1RESP_NEED_MORE:
            if (used) continue;
            return;
        case SL_H1RESP_HEAD:
            if (!h1_head(c, call)) return;
            continue;
        case SL_H1RESP_BODY:
            if (!h1_body(c, call, chunk, clen)) return;
            continue;
        case SL_H1RESP_DONE:
            h1_done(c, call);
            continue;
        case SL_H1RESP_ERROR:
            SL_DEBUG("net: client: bad response from %s: %s", c->origin->authority,
                     c->rp.error_reason);
            sl_hc_conn_close(c, SL_HTTPC_EPROTO);
            return;
        }
    }
}

static void h1_eof(hc_conn_t *c) {
    sl_http_call_t *call = c->h1_call;
    if (!call) {
        sl_hc_conn_close(c, 0);
        return;
    }
    if (sl_http1_resp_eof(&c->rp) == SL_H1RESP_DONE) {
        h1_done(c, call);
        return;
    }
    sl_hc_conn_close(c, SL_HTTPC_ECLOSED);
}

/* Reads up to `len` bytes. Returns the count, or 0 when the caller must stop: nothing to read yet
 * (the loop reports the socket again), end of stream (handled by h1_eof) or an error (the
 * connection is closed). */
static long h1_read(hc_conn_t *c, void *buf, size_t len) {
    long n = sl_hc_conn_read(c, buf, len);
    if (n == -1) return 0;
    if (n == 0) {
        h1_eof(c);
        return 0;
    }
    if (n < 0) {
        sl_hc_conn_close(c, (int)n);
        return 0;
    }
    return n;
}

static void h1_readable(hc_conn_t *c) {
    for (int i = 0; c->state == HC_READY; i++) {
        /* Yield after a few reads; the loop reports the socket again. TLS records already
         * decrypted inside OpenSSL are invisible to epoll, so those are read first. */
        if (i >= SL_HC_READS_PER_EVENT && !(c->ssl && SSL_pending(c->ssl) > 0)) return;
        sl_http_call_t *call = c->h1_call;
        uint64_t left = call && !call->on_data ? sl_http1_resp_body_left(&c->rp) : 0;
        if (c->in_off == c->in.len) c->in.len = c->in_off = 0;
        if (left > 0 && c->in.len == 0) {
            /* A Content-Length body goes straight into the call's buffer (reserved at the head). */
            size_t want = (size_t)left;
            char *dst = sl_buf_reserve(&call->rbody, want + 1);
            if (!dst) {
                sl_hc_conn_close(c, SL_HTTPC_ENOMEM);
                return;
            }
            long n = h1_read(c, dst, want);
            if (n <= 0) return;
            call->rbody.len += (size_t)n;
            if (sl_http1_resp_body_commit(&c->rp, (size_t)n) == SL_H1RESP_DONE) h1_done(c, call);
            if ((size_t)n < want && !c->ssl) return;
            continue;
        }
        if (c->in_off > 0 && c->in_off * 2 >= c->in.len) {
            memmove(c->in.data, c->in.data + c->in_off, c->in.len - c->in_off);
            c->in.len -= c->in_off;
            c->in_off = 0;
        }
        if (c->in.len - c->in_off > SL_HTTP_HEADER_BYTES_MAX + SL_HC_H1_READ_BYTES) {
            sl_hc_conn_close(
                c, SL_HTTPC_ETOOLARGE); /* cannot happen with a sane parser; a bound anyway */
            return;
        }
        char *p = sl_buf_reserve(&c->in, SL_HC_H1_READ_BYTES);
        if (!p) {
            sl_hc_conn_close(c, SL_HTTPC_ENOMEM);
            return;
        }
        long n = h1_read(c, p, SL_HC_H1_READ_BYTES);
        if (n <= 0) return;
        c->in.len += (size_t)n;
        h1_process(c);
        if ((size_t)n < SL_HC_H1_READ_BYTES && !c->ssl) return;
    }
}

/* ---- pools ---- */

static void attach(hc_conn_t *c, sl_http_call_t *call) {
    call->conn = c;
    call->prev = NULL;
    call->next = c->calls;
    if (c->calls) c->calls->prev = call;
    c->calls = call;
    call->resp.reused = c->served > 0;
    call->resp.http_version = c->h2 ? 2 : 1;
    c->idle_since_ms = 0;
    if (!c->h2) {
        avail_remove(c);
        h1_attach(c, call);
        return;
    }
    if (sl_hc_h2_attach(c, call) != 0) {
        /* The connection cannot open another stream: the call goes back to the queue. */
        call_detach(call);
        queue_push(c->origin, call, true);
        sl_hc_conn_fail_later(c, SL_HTTPC_ESTREAM);
        return;
    }
    if (sl_hc_h2_room(c) <= 0) avail_remove(c);
}

/* An idle HTTP/1.1 connection the server closed (or wrote to) while it sat in the pool. Checked
 * before reuse when it has been idle for a millisecond or more, with one non-blocking peek, so a
 * call is not lost on a connection that is already gone. TLS connections may hold unread records
 * (session tickets), so only the end of the stream counts for them. */
static bool conn_stale(hc_conn_t *c) {
    if (c->h2 || c->calls || sl_time_mono_ms() - c->idle_since_ms < 1) return false;
    char b;
    ssize_t n = recv(c->io.fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0) return true;
    return n > 0 && !c->ssl;
}

/* Gives queued calls to connections with room, opening connections while the pool allows. */
static void pump(hc_origin_t *o) {
    sl_http_client_t *cl = o->client;
    while (o->q_head) {
        hc_conn_t *c = o->avail;
        if (c && conn_stale(c)) {
            sl_hc_conn_close(c, 0);
            continue;
        }
        if (c) {
            sl_http_call_t *call = o->q_head;
            queue_remove(o, call);
            attach(c, call);
            continue;
        }
        /* Connections still opening will take this many of the queued calls. */
        int room = o->version == SL_HTTPC_HTTP2 ? cl->cfg.h2_streams_max : 1;
        if ((long)o->queued <= (long)o->nconnecting * room) return;
        if (o->nconns >= cl->cfg.connections_per_origin) return;
        int ct = o->q_head->connect_timeout_ms;
        if (conn_open(o, ct) != 0) return;
    }
}

/* Splits "http[s]://host[:port]" into the pool key parts. */
static int parse_origin(const char *url, bool *tls, char *host, size_t host_cap, int *port) {
    const char *p;
    if (strncmp(url, "http://", 7) == 0) {
        *tls = false;
        p = url + 7;
    } else if (strncmp(url, "https://", 8) == 0) {
        *tls = true;
        p = url + 8;
    } else {
        return SL_EINVAL;
    }
    const char *hs = p, *he;
    if (*p == '[') {
        hs = p + 1;
        he = strchr(hs, ']');
        if (!he) return SL_EINVAL;
        p = he + 1;
    } else {
        he = p + strcspn(p, ":/");
        p = he;
    }
    size_t hl = (size_t)(he - hs);
    if (hl == 0 || hl >= host_cap) return SL_EINVAL;
    memcpy(host, hs, hl);
    host[hl] = 0;
    *port = *tls ? 443 : 80;
    if (*p == ':') {
        char *end;
        long v = strtol(p + 1, &end, 10);
        if (end == p + 1 || v < 1 || v > 65535) return SL_EINVAL;
        *port = (int)v;
        p = end;
    }
    if (*p == '/') p++;
    return *p == 0 ? 0 : SL_EINVAL;
}

static int tls_ctx(sl_http_client_t *cl) {
    if (cl->tls) return 0;
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) return SL_ENOMEM;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                              SSL_MODE_RELEASE_BUFFERS);
    if (!cl->cfg.tls_insecure) {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
        int ok = cl->cfg.tls_ca_file ? SSL_CTX_load_verify_locations(ctx, cl->cfg.tls_ca_file, NULL)
                                     : SSL_CTX_set_default_verify_paths(ctx);
        if (ok != 1) {
            SL_ERROR("net: client: cannot load TLS trust anchors%s%s",
                     cl->cfg.tls_ca_file ? " from " : "",
                     cl->cfg.tls_ca_file ? cl->cfg.tls_ca_file : "");
            SSL_CTX_free(ctx);
            return SL_EINVAL;
        }
        /* A self-signed server certificate given as the trust anchor is enough on its own. */
        X509_VERIFY_PARAM_set_flags(SSL_CTX_get0_param(ctx), X509_V_FLAG_PARTIAL_CHAIN);
    }
    cl->tls = ctx;
    return 0;
}

static int origin_get(sl_http_client_t *cl, const char *url, sl_http_client_version_t version,
                      hc_origin_t **out) {
    for (int i = 0; i < cl->norigins; i++) {
        hc_origin_t *o = cl->origins[i];
        if (o->version == version && strcmp(o->url, url) == 0) {
            *out = o;
            return 0;
        }
    }
    size_t ul = strlen(url);
    if (ul >= sizeof((hc_origin_t *)0)->url) return SL_EINVAL;
    if (cl->norigins == SL_HTTP_CLIENT_ORIGINS_MAX) return SL_ELIMIT;
    hc_origin_t *o = calloc(1, sizeof *o);
    if (!o) return SL_ENOMEM;
    if (parse_origin(url, &o->tls, o->host, sizeof o->host, &o->port) != 0) {
        free(o);
        return SL_EINVAL;
    }
    if (o->tls && tls_ctx(cl) != 0) {
        free(o);
        return SL_EINVAL;
    }
    o->client = cl;
    o->version = version;
    memcpy(o->url, url, ul + 1);
    bool v6 = strchr(o->host, ':') != NULL;
    bool default_port = o->port == (o->tls ? 443 : 80);
    if (default_port)
        snprintf(o->authority, sizeof o->authority, v6 ? "[%s]" : "%s", o->host);
    else
        snprintf(o->authority, sizeof o->authority, v6 ? "[%s]:%d" : "%s:%d", o->host, o->port);
    cl->origins[cl->norigins++] = o;
    *out = o;
    return 0;
}

/* ---- public API ---- */

int sl_http_client_create(sl_loop_t *loop, const sl_http_client_config_t *cfg,
                          sl_http_client_t **out) {
    SL_ASSERT(loop && out);
    sl_http_client_t *cl = calloc(1, sizeof *cl);
    if (!cl) return SL_ENOMEM;
    cl->loop = loop;
    if (cfg) cl->cfg = *cfg;
    sl_http_client_config_t *c = &cl->cfg;
    if (c->connect_timeout_ms <= 0)
        c->connect_timeout_ms = SL_HTTP_CLIENT_CONNECT_TIMEOUT_MS_DEFAULT;
    if (c->timeout_ms == 0) c->timeout_ms = SL_HTTP_CLIENT_TIMEOUT_MS_DEFAULT;
    if (c->idle_timeout_ms <= 0) c->idle_timeout_ms = SL_HTTP_CLIENT_IDLE_TIMEOUT_MS_DEFAULT;
    if (c->connections_per_origin <= 0)
        c->connections_per_origin = SL_HTTP_CLIENT_CONNS_PER_ORIGIN_DEFAULT;
    c->connections_per_origin =
        SL_MIN(c->connections_per_origin, SL_HTTP_CLIENT_CONNS_PER_ORIGIN_MAX);
    if (c->h2_streams_max <= 0) c->h2_streams_max = SL_HTTP_CLIENT_H2_STREAMS_DEFAULT;
    if (c->response_body_max_bytes == 0)
        c->response_body_max_bytes = SL_HTTP_CLIENT_RESPONSE_BODY_MAX_BYTES_DEFAULT;
    *out = cl;
    return 0;
}

void sl_http_client_destroy(sl_http_client_t *cl) {
    if (!cl) return;
    cl->destroying = true;
    for (int i = 0; i < cl->norigins; i++) {
        hc_origin_t *o = cl->origins[i];
        fail_queue(o, SL_HTTPC_ESHUTDOWN);
        while (o->conns)
            sl_hc_conn_close(o->conns, SL_HTTPC_ESHUTDOWN);
        free(o);
    }
    if (cl->sweep) sl_timer_cancel(cl->sweep);
    while (cl->free_calls) {
        sl_http_call_t *call = cl->free_calls;
        cl->free_calls = call->next;
        sl_arena_deinit(&call->arena);
        sl_buf_free(&call->rbody);
        sl_buf_free(&call->head);
        free(call);
    }
    if (cl->tls) SSL_CTX_free(cl->tls);
    free(cl->scratch);
    free(cl);
}

static bool valid_name(const char *s, size_t n) {
    if (n == 0) return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch <= 0x20 || ch >= 0x7f || ch == ':' || (ch >= 'A' && ch <= 'Z')) return false;
    }
    return true;
}

static bool valid_value(const char *s, size_t n) {
    return !memchr(s, '\r', n) && !memchr(s, '\n', n) && !memchr(s, 0, n);
}

static bool valid_token(const char *s) {
    if (!s || !*s) return false;
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f) return false;
    return true;
}

/* Appends n in decimal. */
static void append_size(sl_buf_t *b, size_t n) {
    char tmp[24];
    size_t i = sizeof tmp;
    do {
        tmp[--i] = (char)('0' + n % 10);
        n /= 10;
    } while (n);
    sl_buf_append(b, tmp + i, sizeof tmp - i);
}

/* Copies the request into the call: for a pool known to speak HTTP/1.1 as the serialised head (one
 * pass, no per-field copies), otherwise field by field into the call's arena. */
static int call_fill(sl_http_call_t *call, const sl_http_client_req_t *req) {
    sl_http_client_t *cl = call->client;
    hc_origin_t *o = call->origin;
    bool has_length = false;
    for (size_t i = 0; i < req->header_count; i++) {
        const sl_http_header_t *h = &req->headers[i];
        if (!valid_name(h->name, h->name_len) || !valid_value(h->value, h->value_len))
            return SL_EINVAL;
        if (h->name_len == 4 && memcmp(h->name, "host", 4) == 0) call->has_host = true;
        if (h->name_len == 14 && memcmp(h->name, "content-length", 14) == 0) has_length = true;
    }
    call->head_method = strcmp(req->method, "HEAD") == 0;
    bool post_like = !strcmp(req->method, "POST") || !strcmp(req->method, "PUT") ||
                     !strcmp(req->method, "PATCH");
    call->needs_length = !has_length && (req->body_len > 0 || post_like);
    call->head_text = o->version == SL_HTTPC_HTTP1 || (o->version == SL_HTTPC_AUTO && !o->tls);
    if (call->head_text) {
        sl_buf_t *b = &call->head;
        sl_buf_append_str(b, req->method);
        sl_buf_append(b, " ", 1);
        sl_buf_append_str(b, req->path);
        sl_buf_append(b, " HTTP/1.1\r\n", 11);
        if (!call->has_host) {
            sl_buf_append(b, "host: ", 6);
            sl_buf_append_str(b, o->authority);
            sl_buf_append(b, "\r\n", 2);
        }
        for (size_t i = 0; i < req->header_count; i++) {
            const sl_http_header_t *h = &req->headers[i];
            sl_buf_append(b, h->name, h->name_len);
            sl_buf_append(b, ": ", 2);
            sl_buf_append(b, h->value, h->value_len);
            sl_buf_append(b, "\r\n", 2);
        }
        if (call->needs_length) {
            sl_buf_append(b, "content-length: ", 16);
            append_size(b, req->body_len);
            sl_buf_append(b, "\r\n", 2);
        }
        sl_buf_append(b, "\r\n", 2);
        if (sl_buf_failed(b)) return SL_ENOMEM;
    } else {
        call->method = sl_arena_strndup(&call->arena, req->method, strlen(req->method));
        call->path = sl_arena_strndup(&call->arena, req->path, strlen(req->path));
        call->headers =
            req->header_count
                ? sl_arena_alloc(&call->arena, req->header_count * sizeof *call->headers)
                : NULL;
        if (!call->method || !call->path || (req->header_count && !call->headers)) return SL_ENOMEM;
        for (size_t i = 0; i < req->header_count; i++) {
            const sl_http_header_t *h = &req->headers[i];
            char *n = sl_arena_strndup(&call->arena, h->name, h->name_len);
            char *v = sl_arena_strndup(&call->arena, h->value, h->value_len);
            if (!n || !v) return SL_ENOMEM;
            call->headers[i] = (sl_http_header_t){n, h->name_len, v, h->value_len};
        }
        call->header_count = req->header_count;
    }
    call->body = req->body;
    call->body_len = req->body_len;
    call->connect_timeout_ms =
        req->connect_timeout_ms > 0 ? req->connect_timeout_ms : cl->cfg.connect_timeout_ms;
    call->body_max = req->response_body_max_bytes ? req->response_body_max_bytes
                                                  : cl->cfg.response_body_max_bytes;
    call->on_head = req->on_head;
    call->on_data = req->on_data;
    call->on_done = req->on_done;
    call->arg = req->arg;
    return 0;
}

int sl_http_client_submit(sl_http_client_t *cl, const sl_http_client_req_t *req,
                          sl_http_call_t **out) {
    SL_ASSERT(cl && req && req->on_done && !cl->destroying);
    if (!req->origin || !valid_token(req->method) || !req->path || req->path[0] != '/' ||
        !valid_value(req->path, strlen(req->path)) || (req->body_len && !req->body) ||
        (unsigned)req->version > SL_HTTPC_HTTP2)
        return SL_EINVAL;
    hc_origin_t *o;
    int rc = origin_get(cl, req->origin, req->version, &o);
    if (rc != 0) return rc;
    if (o->queued >= SL_HTTP_CLIENT_QUEUED_MAX) return SL_ELIMIT;
    sl_http_call_t *call = call_alloc(cl);
    if (!call) return SL_ENOMEM;
    call->client = cl;
    call->origin = o;
    rc = call_fill(call, req);
    int timeout = req->timeout_ms ? req->timeout_ms : cl->cfg.timeout_ms;
    if (rc == 0 && timeout > 0) {
        call->timer = sl_timer_start(cl->loop, (uint64_t)timeout, call_timeout, call);
        if (!call->timer) rc = SL_ENOMEM;
    }
    if (rc != 0) {
        call->finished = true;
        call_release(call);
        return rc;
    }
    if (out) *out = call;
    queue_push(o, call, false);
    pump(o);
    return 0;
}

void sl_http_client_cancel(sl_http_call_t *call) {
    if (!call || call->finished) return;
    call->finished = true;
    if (call->timer) sl_timer_cancel(call->timer);
    call->timer = NULL;
    hc_conn_t *c = call->conn;
    if (c && c->h2) sl_hc_h2_cancel(c, call);
    call_detach(call);
    /* Mid-request or mid-response, an HTTP/1.1 connection cannot be reused. Closing it finishes no
     * other call (it carried only this one). */
    if (c && !c->h2) sl_hc_conn_close(c, SL_HTTPC_ECLOSED);
    if (call->in_cb == 0) call_release(call);
}

void sl_http_client_stats(const sl_http_client_t *cl, int *connections, int *idle) {
    int n = 0, i_ = 0;
    for (int i = 0; i < cl->norigins; i++)
        for (hc_conn_t *c = cl->origins[i]->conns; c; c = c->next) {
            n++;
            if (c->state == HC_READY && !c->calls) i_++;
        }
    if (connections) *connections = n;
    if (idle) *idle = i_;
}
