/* HTTP server core: network threads (one loop and SO_REUSEPORT listener per thread), accepting,
 * connection I/O (plain and TLS), protocol detection (HTTP/2 preface, TLS ClientHello on the plain
 * port), the per-iteration "prepare" phase that flushes output and delivers deferred
 * notifications, idle and lingering timeouts, request lifetime, and graceful stop.
 *
 * All writes happen in the prepare phase (conn_flush), once per loop iteration per connection, so
 * pipelined responses and many HTTP/2 frames leave in one writev. Protocol callbacks only queue
 * bytes and mark the connection dirty; nothing is freed inside a protocol callback. */
#include "net/http1_common.h"
#include "net/internal.h"

#include "core/common.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/time.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char H2_PREFACE[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
#define H2_PREFACE_LEN 24

static void conn_on_io(sl_loop_io_t *io, uint32_t events);
static void conn_do_read(sl_conn_t *c);
static void worker_check_stopped(sl_worker_t *w);
static void conn_account(sl_conn_t *c);

/* Connection metrics (docs/observability.md, "Network"), every listener of the process together. */
static const sl_metric_desc_t d_accepted = {
    .prom_name = "sluice_net_connections_accepted_total",
    .help = "TCP connections accepted (HTTP/1.1, HTTP/2 and TLS, every listener).",
    .kind = SL_METRIC_COUNTER};
static const sl_metric_desc_t d_open = {.prom_name = "sluice_net_connections_open",
                                        .help = "TCP connections open now (every listener).",
                                        .kind = SL_METRIC_GAUGE};
typedef struct {
    sl_series_t *accepted, *open;
} net_metrics_t;
static net_metrics_t g_net_metrics;
static pthread_once_t g_net_metrics_once = PTHREAD_ONCE_INIT;
static void net_metrics_init(void) {
    g_net_metrics.accepted = sl_metric_series(sl_metric_declare(&d_accepted), NULL);
    g_net_metrics.open = sl_metric_series(sl_metric_declare(&d_open), NULL);
}
static const net_metrics_t *net_metrics(void) {
    pthread_once(&g_net_metrics_once, net_metrics_init);
    return &g_net_metrics;
}

/* ------------------------------------------------------------------------------------------ */
/* Reason phrases and header helpers                                                           */

const char *sl_http_reason(int status) {
    switch (status) {
    case 100:
        return "Continue";
    case 101:
        return "Switching Protocols";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 206:
        return "Partial Content";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 304:
        return "Not Modified";
    case 307:
        return "Temporary Redirect";
    case 308:
        return "Permanent Redirect";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 411:
        return "Length Required";
    case 413:
        return "Payload Too Large";
    case 414:
        return "URI Too Long";
    case 415:
        return "Unsupported Media Type";
    case 417:
        return "Expectation Failed";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Unknown";
    }
}

bool sl_http_reserved_header(const char *name, size_t len, bool h2) {
    if (sl_h1_ieq(name, len, "content-length") || sl_h1_ieq(name, len, "date") ||
        sl_h1_ieq(name, len, "transfer-encoding") || sl_h1_ieq(name, len, "connection"))
        return true;
    /* Connection-specific fields are forbidden in HTTP/2 (RFC 9113 section 8.2.2). */
    return h2 && (sl_h1_ieq(name, len, "keep-alive") || sl_h1_ieq(name, len, "upgrade") ||
                  sl_h1_ieq(name, len, "proxy-connection") || sl_h1_ieq(name, len, "te"));
}

const char *sl_worker_date(sl_worker_t *w, size_t *len) {
    time_t now = time(NULL);
    if (now != w->date_sec || w->date_len == 0) {
        struct tm tm;
        gmtime_r(&now, &tm);
        w->date_len = strftime(w->date, sizeof w->date, "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
        w->date_sec = now;
    }
    *len = w->date_len;
    return w->date;
}

/* ------------------------------------------------------------------------------------------ */
/* Requests                                                                                    */

sl_req_t *sl_req_new(sl_conn_t *c) {
    sl_worker_t *w = c->w;
    sl_req_t *r = w->pool;
    if (r) {
        w->pool = r->next;
        w->pool_len--;
        sl_arena_t keep = r->arena_storage;
        memset(r, 0, sizeof *r);
        r->arena_storage = keep;
    } else {
        r = calloc(1, sizeof *r);
        if (!r) return NULL;
        sl_arena_init(&r->arena_storage, 4096);
    }
    r->worker = w;
    r->conn = c;
    r->ops = c->ops;
    r->pub.arena = &r->arena_storage;
    r->pub.tls = c->tls;
    r->pub.peer_ip = c->peer_ip;
    sl_buf_init(&r->stream_buf);
    r->next = c->reqs;
    if (c->reqs) c->reqs->prev = r;
    c->reqs = r;
    c->req_count++;
    r->wnext = w->live;
    if (w->live) w->live->wprev = r;
    w->live = r;
    return r;
}

static void req_unlink_conn(sl_req_t *r) {
    sl_conn_t *c = r->conn;
    if (!c) return;
    if (r->prev)
        r->prev->next = r->next;
    else
        c->reqs = r->next;
    if (r->next) r->next->prev = r->prev;
    r->prev = r->next = NULL;
    c->req_count--;
    if (r->awaiting) c->awaiting--;
    r->awaiting = false;
    if (c->h1_cur == r) c->h1_cur = NULL;
    if (c->h1_stream == r) c->h1_stream = NULL;
    r->conn = NULL;
}

static void req_free(sl_req_t *r) {
    sl_worker_t *w = r->worker;
    req_unlink_conn(r);
    if (r->wprev)
        r->wprev->wnext = r->wnext;
    else
        w->live = r->wnext;
    if (r->wnext) r->wnext->wprev = r->wprev;
    if (r->body_acct) sl_body_budget_release(w->srv, r->body_small, r->body_acct);
    free(r->body);
    free(r->resp_body);
    sl_buf_free(&r->stream_buf);
    sl_buf_free(&r->sbody.in);
    free(r->sbody.held);
    if (w->pool_len < SL_NET_REQ_POOL_MAX && r->arena_storage.total_bytes <= 16384) {
        sl_arena_reset(&r->arena_storage);
        r->next = w->pool;
        w->pool = r;
        w->pool_len++;
    } else {
        sl_arena_deinit(&r->arena_storage);
        free(r);
    }
}

void sl_req_maybe_free(sl_req_t *r) {
    if (r->conn_owned || r->handler_owned || r->in_session || r->deferred || r->refs > 0) return;
    req_free(r);
}

/* Queues r for the notification phase (worker_run_notifications). */
static void req_queue_notify(sl_req_t *r) {
    if (r->in_notify) return;
    r->in_notify = true;
    r->refs++;
    r->notify_next = NULL;
    sl_worker_t *w = r->worker;
    if (w->notify_tail)
        w->notify_tail->notify_next = r;
    else
        w->notify_head = r;
    w->notify_tail = r;
}

void sl_req_notify(sl_req_t *r, bool close, bool writable) {
    if (close) sl_req_body_fail(r, SL_ECLOSED);
    if (!r->streaming || r->stream_ended || !r->handler_owned) return;
    if (close) r->notify_close = true;
    if (writable) r->notify_writable = true;
    req_queue_notify(r);
}

void sl_req_body_notify(sl_req_t *r) {
    if (!r->pub.body_streamed || !r->handler_owned || r->sbody.finished) return;
    r->notify_body = true;
    req_queue_notify(r);
}

void sl_req_body_fail(sl_req_t *r, int code) {
    if (!r->pub.body_streamed || r->sbody.complete || r->sbody.error) return;
    r->sbody.error = code;
    sl_req_body_notify(r);
}

/* Hands the next piece of a streamed body (or its error) to the handler, from the notification
 * phase: the received bytes become the held piece until sl_http_body_next. */
static void req_body_deliver(sl_req_t *r) {
    sl_req_body_t *b = &r->sbody;
    if (!r->handler_owned || !b->reading || b->finished) return;
    if (b->error) {
        b->finished = true;
        if (b->cbs.on_error) b->cbs.on_error(&r->pub, b->error, b->cbs.arg);
        return;
    }
    if (b->holding || (b->in.len == 0 && !b->complete)) return;
    free(b->held);
    b->held = (uint8_t *)b->in.data;
    b->held_len = b->in.len;
    b->in = SL_BUF_INIT;
    b->holding = true;
    bool last = b->complete;
    if (last) b->finished = true;
    b->cbs.on_data(&r->pub, b->held ? b->held : (const uint8_t *)"", b->held_len, last, b->cbs.arg);
}

int sl_http_body_read(sl_http_req_t *req, const sl_http_body_cbs_t *cbs) {
    sl_req_t *r = (sl_req_t *)req;
    SL_ASSERT(r->handler_owned && cbs && cbs->on_data);
    if (!req->body_streamed || r->sbody.reading) return SL_EINVAL;
    r->sbody.reading = true;
    r->sbody.cbs = *cbs;
    sl_req_body_notify(r);
    return 0;
}

void sl_http_body_next(sl_http_req_t *req) {
    sl_req_t *r = (sl_req_t *)req;
    SL_ASSERT(r->handler_owned && req->body_streamed);
    if (!r->sbody.holding) return;
    size_t taken = r->sbody.held_len;
    r->sbody.holding = false;
    free(r->sbody.held);
    r->sbody.held = NULL;
    r->sbody.held_len = 0;
    if (r->sbody.finished) return;
    if (r->conn && !r->conn->dead && r->ops->body_next) r->ops->body_next(r, taken);
    sl_req_body_notify(r);
}

void sl_req_dispatch(sl_req_t *r) {
    sl_http_server_t *srv = r->worker->srv;
    if (!r->body) {
        /* Handlers may rely on a NUL-terminated, writable body even when it is empty. */
        r->body = malloc(1);
        if (r->body) r->body[0] = 0;
    }
    r->pub.body = r->body;
    r->pub.body_len = r->body_len;
    r->conn_owned = false;
    r->handler_owned = true;
    srv->cfg.handler(srv->cfg.handler_ctx, &r->pub);
}

static void worker_run_notifications(sl_worker_t *w) {
    while (w->notify_head) {
        sl_req_t *r = w->notify_head;
        w->notify_head = r->notify_next;
        if (!w->notify_head) w->notify_tail = NULL;
        r->in_notify = false;
        bool close = r->notify_close, writable = r->notify_writable, body = r->notify_body;
        r->notify_close = r->notify_writable = r->notify_body = false;
        /* Once the handler ended the response, no callback may reach it. */
        if (r->handler_owned && r->streaming && !r->stream_ended) {
            if (close) {
                if (r->cbs.on_close) r->cbs.on_close(&r->pub, r->cbs.arg);
            } else if (writable && !r->closed) {
                if (r->cbs.on_writable) r->cbs.on_writable(&r->pub, r->cbs.arg);
            }
        }
        if (body) req_body_deliver(r);
        r->refs--;
        sl_req_maybe_free(r);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Budgets: unsent response bytes and buffered request bodies                                  */

/* Unsent response bytes held for a connection: its output queue and, on HTTP/2, bodies and
 * streamed bytes that wait for flow-control window. */
static size_t conn_unsent(const sl_conn_t *c) {
    return c->dead ? 0 : sl_outq_bytes(&c->out) + c->h2_held;
}

/* Brings the worker's total (and what the other workers see of it) up to date for c. */
static void conn_account(sl_conn_t *c) {
    size_t cur = conn_unsent(c);
    if (cur == c->out_acct) return;
    sl_worker_t *w = c->w;
    w->out_bytes = w->out_bytes - c->out_acct + cur;
    c->out_acct = cur;
    atomic_store_explicit(&w->out_pub, w->out_bytes, memory_order_relaxed);
}

static size_t server_out_total(const sl_http_server_t *srv) {
    size_t total = 0;
    for (int i = 0; i < srv->nworkers; i++)
        total += atomic_load_explicit(&srv->workers[i].out_pub, memory_order_relaxed);
    return total;
}

static size_t server_conn_total(const sl_http_server_t *srv) {
    size_t total = 0;
    for (int i = 0; i < srv->nworkers; i++)
        total += atomic_load_explicit(&srv->workers[i].conn_pub, memory_order_relaxed);
    return total;
}

/* The answer to r started: it no longer holds back the dispatch of further streams. */
static void req_answered(sl_req_t *r, size_t body_len) {
    sl_conn_t *c = r->conn;
    if (!c || !r->awaiting) return;
    r->awaiting = false;
    c->awaiting--;
    size_t decayed = c->resp_max - c->resp_max / 8;
    c->resp_max = body_len > decayed ? body_len : decayed;
    if (c->defer_head) {
        c->recheck = true;
        sl_conn_mark_dirty(c);
    }
}

bool sl_conn_output_ok(sl_conn_t *c) {
    conn_account(c);
    if (c->out_acct >= SL_HTTP_CONN_OUTPUT_MAX) return false;
    return server_out_total(c->w->srv) < c->w->srv->response_budget;
}

/* Unanswered requests allowed, from the connection's recent answer sizes (only HTTP/2 has several
 * at once: HTTP/1.1 answers one at a time and counts none). */
static size_t awaiting_allowed(const sl_conn_t *c) {
    size_t per = c->resp_max > 1024 ? c->resp_max : 1024;
    size_t allowed = SL_HTTP_CONN_OUTPUT_MAX / per;
    if (allowed < 1) allowed = 1;
    return allowed > SL_HTTP2_DISPATCH_MAX ? SL_HTTP2_DISPATCH_MAX : allowed;
}

bool sl_conn_can_dispatch(sl_conn_t *c) {
    if (!sl_conn_output_ok(c)) return false;
    return c->awaiting < awaiting_allowed(c);
}

static void worker_wait_fire(void *arg);

void sl_conn_wait(sl_conn_t *c) {
    if (c->in_wait || c->dead) return;
    /* Held back by its own output or unanswered streams: its own progress (output written, an
     * answer) looks again, no need to poll. Only the process-wide budgets need the timer. */
    if (!c->body_wait &&
        (c->out_acct >= SL_HTTP_CONN_OUTPUT_MAX || c->awaiting >= awaiting_allowed(c)))
        return;
    sl_worker_t *w = c->w;
    c->in_wait = true;
    c->wait_prev = NULL;
    c->wait_next = w->wait_head;
    if (w->wait_head) w->wait_head->wait_prev = c;
    w->wait_head = c;
    if (!w->wait_timer)
        w->wait_timer = sl_timer_start(w->loop, SL_NET_BUDGET_RETRY_MS, worker_wait_fire, w);
}

static void conn_unwait(sl_conn_t *c) {
    if (!c->in_wait) return;
    sl_worker_t *w = c->w;
    if (c->wait_prev)
        c->wait_prev->wait_next = c->wait_next;
    else
        w->wait_head = c->wait_next;
    if (c->wait_next) c->wait_next->wait_prev = c->wait_prev;
    c->wait_prev = c->wait_next = NULL;
    c->in_wait = false;
}

/* Every waiting connection looks at its budgets again in the prepare phase (and waits again if
 * they still say no). */
static void worker_wait_fire(void *arg) {
    sl_worker_t *w = arg;
    w->wait_timer = NULL;
    while (w->wait_head) {
        sl_conn_t *c = w->wait_head;
        conn_unwait(c);
        c->recheck = true;
        sl_conn_mark_dirty(c);
    }
}

bool sl_body_budget_ok(sl_http_server_t *srv, bool small) {
    if (small)
        return atomic_load_explicit(&srv->small_body_bytes, memory_order_relaxed) <
               srv->request_budget / 8;
    return atomic_load_explicit(&srv->body_bytes, memory_order_relaxed) < srv->request_budget;
}

void sl_body_budget_add(sl_http_server_t *srv, bool small, size_t n) {
    atomic_fetch_add_explicit(small ? &srv->small_body_bytes : &srv->body_bytes, n,
                              memory_order_relaxed);
}

void sl_body_budget_release(sl_http_server_t *srv, bool small, size_t n) {
    atomic_fetch_sub_explicit(small ? &srv->small_body_bytes : &srv->body_bytes, n,
                              memory_order_relaxed);
}

/* ------------------------------------------------------------------------------------------ */
/* Public request API                                                                          */

const sl_http_header_t *sl_http_req_header(const sl_http_req_t *req, const char *lower_name) {
    size_t n = strlen(lower_name);
    for (size_t i = 0; i < req->header_count; i++) {
        const sl_http_header_t *h = &req->headers[i];
        if (h->name_len == n && memcmp(h->name, lower_name, n) == 0) return h;
    }
    return NULL;
}

sl_loop_t *sl_http_req_loop(const sl_http_req_t *req) {
    return ((const sl_req_t *)req)->worker->loop;
}

bool sl_http_req_closed(const sl_http_req_t *req) {
    const sl_req_t *r = (const sl_req_t *)req;
    return r->closed || !r->conn || r->conn->dead;
}

static bool req_gone(const sl_req_t *r) {
    return !r->conn || r->conn->dead || r->closed;
}

/* Can r still be answered on its connection? */
static bool req_open(const sl_req_t *r) {
    return r->conn && !r->conn->dead && (!r->ops->req_open || r->ops->req_open(r));
}

void sl_http_respond(sl_http_req_t *req, int status, const sl_http_header_t *headers,
                     size_t header_count, void *body, size_t body_len) {
    sl_req_t *r = (sl_req_t *)req;
    SL_ASSERT(r->handler_owned && !r->responded);
    r->responded = true;
    if (!body && !r->head_method) body_len = 0; /* HEAD: the length alone (http.h) */
    req_answered(r, body ? body_len : 0);
    if (!req_open(r)) {
        free(body);
        r->handler_owned = false;
        sl_req_maybe_free(r);
        return;
    }
    r->ops->respond(r, status, headers, header_count, body, body_len);
}

int sl_http_stream_begin_sized(sl_http_req_t *req, int status, const sl_http_header_t *headers,
                               size_t header_count, uint64_t length,
                               const sl_http_stream_cbs_t *cbs) {
    sl_req_t *r = (sl_req_t *)req;
    r->stream_sized = true;
    r->stream_length = length;
    return sl_http_stream_begin(req, status, headers, header_count, cbs);
}

int sl_http_stream_begin(sl_http_req_t *req, int status, const sl_http_header_t *headers,
                         size_t header_count, const sl_http_stream_cbs_t *cbs) {
    sl_req_t *r = (sl_req_t *)req;
    SL_ASSERT(r->handler_owned && !r->responded);
    r->responded = true;
    r->streaming = true;
    if (cbs) r->cbs = *cbs;
    req_answered(r, 0);
    if (req_gone(r) || !req_open(r)) {
        r->closed = true;
        return SL_ECLOSED;
    }
    return r->ops->stream_begin(r, status, headers, header_count);
}

long sl_http_stream_write(sl_http_req_t *req, const void *data, size_t len) {
    sl_req_t *r = (sl_req_t *)req;
    SL_ASSERT(r->handler_owned && r->streaming && !r->stream_ended);
    if (req_gone(r) || !req_open(r)) return SL_ECLOSED;
    long pending;
    if (len == 0) {
        /* Only the backlog: whether a write now would wait (arms on_writable when it would). */
        pending = r->ops->stream_backlog(r);
        if (pending > (long)SL_NET_STREAM_HIGH_WATER) r->want_writable = true;
        /* its flush looks at the bounds again (and waits for them) */
        if (r->want_writable || !sl_conn_output_ok(r->conn)) sl_conn_mark_dirty(r->conn);
    } else {
        pending = r->ops->stream_write(r, data, len);
    }
    if (pending < 0 || req_gone(r) || sl_conn_output_ok(r->conn)) return pending;
    /* The connection or the process is over its output bound: this response waits too, so that a
     * client that does not read (or an HTTP/2 window of 0) holds at most one more write per
     * stream. on_writable fires once the bound allows. */
    size_t backlog = r->conn->out_acct > (size_t)pending ? r->conn->out_acct : (size_t)pending;
    if (backlog <= SL_NET_STREAM_HIGH_WATER) backlog = SL_NET_STREAM_HIGH_WATER + 1;
    r->want_writable = true;
    return (long)backlog;
}

/* The end of a streamed response, finished or given up on (abort). */
static void stream_finish(sl_http_req_t *req, bool abort) {
    sl_req_t *r = (sl_req_t *)req;
    SL_ASSERT(r->handler_owned && r->streaming && !r->stream_ended);
    r->stream_ended = true;
    if (!req_open(r)) {
        r->handler_owned = false;
        sl_req_maybe_free(r);
        return;
    }
    if (abort)
        r->ops->stream_abort(r);
    else
        r->ops->stream_end(r);
}

void sl_http_stream_end(sl_http_req_t *req) {
    stream_finish(req, false);
}

void sl_http_stream_abort(sl_http_req_t *req) {
    stream_finish(req, true);
}

/* ------------------------------------------------------------------------------------------ */
/* Connections                                                                                 */

void sl_conn_mark_dirty(sl_conn_t *c) {
    if (c->in_dirty || c->dead) return;
    c->in_dirty = true;
    c->dirty_next = c->w->dirty_head;
    c->w->dirty_head = c;
}

static void conn_list_unlink(sl_conn_t *c) {
    sl_worker_t *w = c->w;
    if (c->prev)
        c->prev->next = c->next;
    else
        w->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        w->conns_tail = c->prev;
    c->prev = c->next = NULL;
}

static void conn_list_push(sl_conn_t *c) {
    sl_worker_t *w = c->w;
    c->prev = NULL;
    c->next = w->conns;
    if (w->conns)
        w->conns->prev = c;
    else
        w->conns_tail = c;
    w->conns = c;
}

void sl_conn_touch(sl_conn_t *c) {
    c->last_active_ms = sl_loop_now_ms(c->w->loop);
    if (c->w->conns != c) {
        conn_list_unlink(c);
        conn_list_push(c);
    }
}

/* The client's address as text (an IPv4-mapped IPv6 address as its IPv4 form), "" if unknown. */
static void peer_ip_of(int fd, char *out, size_t cap) {
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    out[0] = '\0';
    if (getpeername(fd, (struct sockaddr *)&ss, &len) != 0) return;
    if (ss.ss_family == AF_INET) {
        inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, out, (socklen_t)cap);
    } else if (ss.ss_family == AF_INET6) {
        const struct in6_addr *a = &((struct sockaddr_in6 *)&ss)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a))
            inet_ntop(AF_INET, &a->s6_addr[12], out, (socklen_t)cap);
        else
            inet_ntop(AF_INET6, a, out, (socklen_t)cap);
    }
}

static sl_conn_t *conn_new(sl_worker_t *w, int fd, bool tls) {
    sl_conn_t *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->io.fd = fd;
    c->io.cb = conn_on_io;
    c->w = w;
    c->proto = SL_PROTO_SNIFF;
    peer_ip_of(fd, c->peer_ip, sizeof c->peer_ip);
    c->last_active_ms = c->accept_ms = c->last_send_ms = sl_loop_now_ms(w->loop);
    c->resp_max = SL_HTTP_CONN_OUTPUT_MAX; /* a new connection starts with one stream at a time */
    sl_outq_init(&c->out);
    sl_http1_parser_init(&c->parser, w->srv->cfg.body_max_bytes);
    if (w->srv->cfg.stream_body) {
        c->parser.stream_hook = sl_h1_stream_hook;
        c->parser.stream_ctx = c;
    }
    if (tls) {
        c->ssl = SSL_new(w->srv->ssl_ctx);
        if (!c->ssl || SSL_set_fd(c->ssl, fd) != 1) {
            SSL_free(c->ssl);
            free(c);
            return NULL;
        }
        SSL_set_accept_state(c->ssl);
        c->tls = true;
        c->proto = SL_PROTO_TLS_HANDSHAKE;
    }
    if (sl_loop_io_add(w->loop, &c->io, EPOLLIN | EPOLLRDHUP) != 0) {
        SSL_free(c->ssl);
        free(c);
        return NULL;
    }
    conn_list_push(c);
    w->conn_count++;
    atomic_store_explicit(&w->conn_pub, w->conn_count, memory_order_relaxed);
    sl_metric_add(net_metrics()->accepted, 1);
    sl_metric_gauge_add(net_metrics()->open, 1);
    return c;
}

void sl_conn_abort(sl_conn_t *c) {
    if (c->dead) return;
    sl_worker_t *w = c->w;
    sl_loop_io_del(w->loop, &c->io);
    if (c->ssl) {
        SSL_free(c->ssl);
        c->ssl = NULL;
    }
    close(c->io.fd);
    c->io.fd = -1;
    c->dead = true;
    /* Requests learn that the client is gone now; streamed ones get on_close. */
    for (sl_req_t *r = c->reqs; r; r = r->next) {
        r->closed = true;
        r->in_session = false;
        sl_req_notify(r, true, false);
    }
    conn_list_unlink(c);
    conn_unwait(c);
    conn_account(c); /* dead: its unsent bytes no longer count */
    w->conn_count--;
    atomic_store_explicit(&w->conn_pub, w->conn_count, memory_order_relaxed);
    sl_metric_gauge_add(net_metrics()->open, -1);
    c->dead_next = w->dead_head;
    w->dead_head = c;
    worker_check_stopped(w);
}

static void conn_free(sl_conn_t *c) {
    while (c->reqs) {
        sl_req_t *r = c->reqs;
        r->conn_owned = false;
        r->deferred = false;
        req_unlink_conn(r);
        sl_req_maybe_free(r);
    }
    if (c->h2) nghttp2_session_del(c->h2);
    if (c->h1_body_acct) sl_body_budget_release(c->w->srv, c->h1_body_small, c->h1_body_acct);
    sl_http1_parser_deinit(&c->parser);
    sl_outq_deinit(&c->out);
    free(c->in);
    free(c);
}

long sl_conn_recv(sl_conn_t *c, void *buf, size_t cap) {
    if (!c->ssl) {
        for (;;) {
            ssize_t n = read(c->io.fd, buf, cap);
            if (n >= 0) return (long)n;
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return SL_EAGAIN;
            return SL_EIO;
        }
    }
    c->ssl_read_wants_write = false;
    ERR_clear_error();
    int n = SSL_read(c->ssl, buf, cap > INT32_MAX ? INT32_MAX : (int)cap);
    if (n > 0) return n;
    switch (SSL_get_error(c->ssl, n)) {
    case SSL_ERROR_WANT_READ:
        return SL_EAGAIN;
    case SSL_ERROR_WANT_WRITE:
        c->ssl_read_wants_write = true;
        return SL_EAGAIN;
    case SSL_ERROR_ZERO_RETURN:
        return 0;
    case SSL_ERROR_SYSCALL:
        return errno == 0 ? 0 : SL_EIO; /* EOF without close_notify */
    default:
        return SL_EIO;
    }
}

/* Writes queued output once. Returns bytes written, SL_EAGAIN or SL_EIO. */
static long conn_send(sl_conn_t *c) {
    struct iovec iov[64];
    size_t n = sl_outq_iov(&c->out, iov, c->ssl ? 1 : SL_ARRAY_LEN(iov));
    if (n == 0) return 0;
    if (!c->ssl) {
        for (;;) {
            ssize_t w = writev(c->io.fd, iov, (int)n);
            if (w >= 0) {
                sl_outq_consume(&c->out, (size_t)w);
                return (long)w;
            }
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return SL_EAGAIN;
            return SL_EIO;
        }
    }
    c->ssl_write_wants_read = false;
    ERR_clear_error();
    size_t len = iov[0].iov_len > INT32_MAX ? INT32_MAX : iov[0].iov_len;
    int w = SSL_write(c->ssl, iov[0].iov_base, (int)len);
    if (w > 0) {
        sl_outq_consume(&c->out, (size_t)w);
        return w;
    }
    switch (SSL_get_error(c->ssl, w)) {
    case SSL_ERROR_WANT_WRITE:
        return SL_EAGAIN;
    case SSL_ERROR_WANT_READ:
        c->ssl_write_wants_read = true;
        return SL_EAGAIN;
    default:
        return SL_EIO;
    }
}

void sl_conn_update_events(sl_conn_t *c) {
    if (c->dead) return;
    uint32_t ev = 0;
    bool want_read = !c->peer_eof && !c->read_paused;
    if (c->ops && c->ops->read_output_high && sl_outq_bytes(&c->out) >= c->ops->read_output_high)
        want_read = false;
    if (c->lingering) want_read = !c->peer_eof;
    if (want_read || c->ssl_write_wants_read) ev |= EPOLLIN;
    if (!c->peer_eof) ev |= EPOLLRDHUP;
    if (sl_outq_bytes(&c->out) > 0 || c->ssl_read_wants_write) ev |= EPOLLOUT;
    if (sl_loop_io_mod(c->w->loop, &c->io, ev) != 0) sl_conn_abort(c);
}

static void conn_on_eof(sl_conn_t *c) {
    c->peer_eof = true;
    if (c->lingering || !c->ops || !c->ops->on_eof || !c->ops->on_eof(c)) {
        sl_conn_abort(c);
        return;
    }
    sl_conn_update_events(c);
}

/* Hands input to the protocol; returns bytes consumed. */
static size_t conn_consume(sl_conn_t *c, const char *data, size_t len) {
    size_t total = 0;
    while (!c->dead) {
        if (c->proto == SL_PROTO_SNIFF) {
            size_t n = len - total < H2_PREFACE_LEN ? len - total : H2_PREFACE_LEN;
            if (n == 0) return total;
            if (memcmp(data + total, H2_PREFACE, n) != 0) {
                c->proto = SL_PROTO_H1;
                c->ops = &sl_h1_proto;
                continue;
            }
            if (n < H2_PREFACE_LEN) return total; /* wait for the rest of the preface */
            if (sl_h2_start(c) != 0) {
                sl_conn_abort(c);
                return len;
            }
            continue;
        }
        if (!c->ops) return total; /* TLS handshake */
        return total + c->ops->input(c, data + total, len - total);
    }
    return len;
}

static bool in_reserve(sl_conn_t *c, size_t extra) {
    if (c->in_cap - c->in_len >= extra) return true;
    size_t cap = c->in_cap ? c->in_cap : 4096;
    while (cap - c->in_len < extra)
        cap *= 2;
    char *p = realloc(c->in, cap);
    if (!p) return false;
    c->in = p;
    c->in_cap = cap;
    return true;
}

static void conn_input(sl_conn_t *c, const char *data, size_t len) {
    bool from_in = c->in_len > 0;
    if (from_in) {
        if (!in_reserve(c, len)) {
            sl_conn_abort(c);
            return;
        }
        memcpy(c->in + c->in_len, data, len);
        c->in_len += len;
        data = c->in;
        len = c->in_len;
    }
    size_t used = conn_consume(c, data, len);
    if (c->dead) return;
    if (from_in) {
        memmove(c->in, c->in + used, len - used);
        c->in_len = len - used;
    } else if (used < len) {
        if (!in_reserve(c, len - used)) {
            sl_conn_abort(c);
            return;
        }
        memcpy(c->in, data + used, len - used);
        c->in_len = len - used;
    }
    if (c->in_len == 0 && c->in_cap > 65536) {
        free(c->in);
        c->in = NULL;
        c->in_cap = 0;
    }
    if (c->ops && c->ops->input_held && c->ops->input_held(c) &&
        c->in_len >= SL_NET_H1_PIPELINE_BYTES_MAX) {
        c->read_paused = true;
        sl_conn_update_events(c);
    }
}

static void conn_handshake(sl_conn_t *c) {
    ERR_clear_error();
    int rc = SSL_do_handshake(c->ssl);
    if (rc == 1) {
        sl_conn_touch(c);
        c->proto = SL_PROTO_SNIFF;
        if (sl_tls_alpn_is_h2(c->ssl) && sl_h2_start(c) != 0) {
            sl_conn_abort(c);
            return;
        }
        c->read_again = true;
        sl_conn_mark_dirty(c);
        return;
    }
    uint32_t ev;
    switch (SSL_get_error(c->ssl, rc)) {
    case SSL_ERROR_WANT_READ:
        ev = EPOLLIN | EPOLLRDHUP;
        break;
    case SSL_ERROR_WANT_WRITE:
        ev = EPOLLOUT | EPOLLRDHUP;
        break;
    default:
        SL_DEBUG("net: TLS handshake failed");
        sl_conn_abort(c);
        return;
    }
    if (sl_loop_io_mod(c->w->loop, &c->io, ev) != 0) sl_conn_abort(c);
}

/* A connection on the plain port that starts with a TLS record (0x16) is served as TLS. */
static bool conn_sniff_tls(sl_conn_t *c) {
    unsigned char b;
    ssize_t n = recv(c->io.fd, &b, 1, MSG_PEEK);
    if (n != 1 || b != 0x16) return false;
    c->ssl = SSL_new(c->w->srv->ssl_ctx);
    if (!c->ssl || SSL_set_fd(c->ssl, c->io.fd) != 1) {
        sl_conn_abort(c);
        return true;
    }
    SSL_set_accept_state(c->ssl);
    c->tls = true;
    c->proto = SL_PROTO_TLS_HANDSHAKE;
    conn_handshake(c);
    return true;
}

static void conn_do_read(sl_conn_t *c) {
    sl_worker_t *w = c->w;
    int i;
    for (i = 0; i < SL_NET_READS_PER_EVENT; i++) {
        if (c->dead || c->read_paused || c->peer_eof || c->proto == SL_PROTO_TLS_HANDSHAKE) return;
        long n;
        if (c->lingering) {
            /* Discard what the client still sends; bypass TLS, whose session is shut down. */
            ssize_t k = read(c->io.fd, w->rbuf, w->rbuf_size);
            if (k == 0 || (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
                sl_conn_abort(c);
                return;
            }
            if (k < 0) return;
            continue;
        }
        if (c->ops && c->ops->read_blocked && c->ops->read_blocked(c)) {
            /* Over the request-body budget: leave the bytes in the socket (TCP pushes back on
             * the client) until buffered bodies are released. */
            c->body_wait = true;
            c->read_paused = true;
            sl_conn_update_events(c);
            sl_conn_wait(c);
            return;
        }
        if (c->ops && c->ops->read_direct) {
            n = c->ops->read_direct(c);
            if (n > 0) {
                sl_conn_touch(c);
                continue;
            }
            if (n == SL_EAGAIN) return;
            if (n == SL_ECLOSED) {
                conn_on_eof(c);
                return;
            }
            if (n < 0) {
                sl_conn_abort(c);
                return;
            }
        }
        n = sl_conn_recv(c, w->rbuf, w->rbuf_size);
        if (n == SL_EAGAIN) {
            if (c->ssl_read_wants_write) sl_conn_update_events(c);
            return;
        }
        if (n == 0) {
            conn_on_eof(c);
            return;
        }
        if (n < 0) {
            sl_conn_abort(c);
            return;
        }
        /* HTTP/2 counts complete frames as activity (a byte a second is not). */
        if (!c->ops || c->ops->bytes_are_activity) sl_conn_touch(c);
        if (c->proto == SL_PROTO_SNIFF && c->req_start_ms == 0)
            c->req_start_ms = sl_loop_now_ms(w->loop);
        conn_input(c, (const char *)w->rbuf, (size_t)n);
        if (!c->ssl && (size_t)n < w->rbuf_size) return;
    }
    if (c->ssl && !c->dead) {
        /* TLS may hold decrypted bytes that epoll cannot see: continue in the prepare phase. */
        c->read_again = true;
        sl_conn_mark_dirty(c);
    }
}

static void conn_begin_linger(sl_conn_t *c) {
    c->lingering = true;
    c->read_paused = false;
    c->linger_deadline_ms = sl_loop_now_ms(c->w->loop) + SL_NET_LINGER_MS;
    if (c->ssl) {
        ERR_clear_error();
        SSL_shutdown(c->ssl); /* best effort close_notify */
    }
    shutdown(c->io.fd, SHUT_WR);
    if (c->peer_eof) {
        sl_conn_abort(c);
        return;
    }
    sl_conn_update_events(c);
}

static void conn_flush(sl_conn_t *c) {
    if (c->dead || c->proto == SL_PROTO_TLS_HANDSHAKE || c->lingering) return;
    int64_t now = sl_loop_now_ms(c->w->loop);
    bool sent = false;
    for (int round = 0; round < 64; round++) {
        if (c->ops && c->ops->pump && c->ops->pump(c) != 0) {
            sl_conn_abort(c);
            return;
        }
        if (sl_outq_bytes(&c->out) == 0) break;
        long n = conn_send(c);
        if (n == SL_EAGAIN) break;
        if (n < 0) {
            sl_conn_abort(c);
            return;
        }
        if (n > 0) sent = true;
    }
    if (sent) {
        /* A client reading its answers is active even when it sends nothing. */
        c->last_send_ms = now;
        sl_conn_touch(c);
    }
    conn_account(c);
    if (c->out_acct == 0) c->last_send_ms = now;
    if (c->ops && c->ops->on_output) c->ops->on_output(c);
    /* Output drained below the bound: requests waiting for it go on now, not at the next retry. */
    if ((c->dispatch_wait || c->defer_head) && !c->recheck) {
        if (sl_conn_can_dispatch(c)) {
            c->recheck = true;
            sl_conn_mark_dirty(c);
        } else {
            sl_conn_wait(c); /* polls only if the process-wide budget is what holds it back */
        }
    }
    if (sl_outq_bytes(&c->out) == 0) {
        if (c->ops && c->ops->finished && c->ops->finished(c)) {
            sl_conn_abort(c);
            return;
        }
        if (c->close_after_flush) {
            conn_begin_linger(c);
            return;
        }
    }
    sl_conn_update_events(c);
}

/* Prepare-phase work for one connection. */
static void conn_service(sl_conn_t *c) {
    if (c->dead) return;
    bool recheck = c->recheck;
    if (c->recheck) {
        c->recheck = false;
        if (c->body_wait) {
            if (c->ops && c->ops->body_blocked && c->ops->body_blocked(c)) {
                sl_conn_wait(c);
            } else {
                /* The wait was ours, not the client's: its body deadline starts again. */
                c->body_wait = false;
                c->head_done_ms = sl_loop_now_ms(c->w->loop);
                c->read_paused = false;
                c->read_again = true;
                sl_conn_update_events(c);
            }
        }
        if (c->dispatch_wait) {
            if (sl_conn_can_dispatch(c)) {
                c->dispatch_wait = false;
                c->process_input = true;
            } else {
                sl_conn_wait(c);
            }
        }
    }
    if (c->ops && c->ops->resume) c->ops->resume(c, recheck);
    if (c->dead) return;
    if (c->read_again && !c->read_paused && !c->dead) {
        c->read_again = false;
        conn_do_read(c);
    }
    conn_flush(c);
}

static void conn_on_io(sl_loop_io_t *io, uint32_t events) {
    sl_conn_t *c = (sl_conn_t *)io;
    if (c->dead) return;
    if (events & EPOLLERR) {
        sl_conn_abort(c);
        return;
    }
    if (c->proto == SL_PROTO_TLS_HANDSHAKE) {
        conn_handshake(c);
        return;
    }
    if (c->proto == SL_PROTO_SNIFF && !c->tls && c->w->srv->ssl_ctx && c->in_len == 0 &&
        conn_sniff_tls(c))
        return;
    if (events & EPOLLIN) {
        conn_do_read(c);
    } else if (events & (EPOLLRDHUP | EPOLLHUP)) {
        if (c->peer_eof)
            sl_conn_abort(c);
        else
            conn_on_eof(c);
    }
    if (c->dead) return;
    if ((events & EPOLLOUT) || c->ssl_write_wants_read || sl_outq_bytes(&c->out) > 0)
        sl_conn_mark_dirty(c);
}

/* ------------------------------------------------------------------------------------------ */
/* Workers                                                                                     */

/* The sweep looks at idle time and deadlines a few times per shortest timeout. */
static int srv_sweep_interval(const sl_http_server_t *srv) {
    int t = srv->idle_timeout_ms / 2;
    if (srv->header_timeout_ms / 4 < t) t = srv->header_timeout_ms / 4;
    if (srv->body_timeout_ms / 4 < t) t = srv->body_timeout_ms / 4;
    if (srv->tls_handshake_timeout_ms / 4 < t) t = srv->tls_handshake_timeout_ms / 4;
    if (t > SL_NET_SWEEP_INTERVAL_MS) t = SL_NET_SWEEP_INTERVAL_MS;
    return t < 10 ? 10 : t;
}

static bool worker_prepare(void *arg) {
    sl_worker_t *w = arg;
    for (int round = 0; round < 16; round++) {
        worker_run_notifications(w);
        sl_conn_t *list = w->dirty_head;
        w->dirty_head = NULL;
        while (list) {
            sl_conn_t *c = list;
            list = c->dirty_next;
            c->in_dirty = false;
            conn_service(c);
        }
        if (!w->dirty_head && !w->notify_head) break;
    }
    worker_run_notifications(w);
    sl_conn_t *dead = w->dead_head, *keep = NULL;
    w->dead_head = NULL;
    while (dead) {
        sl_conn_t *c = dead;
        dead = c->dead_next;
        if (c->in_dirty) {
            c->dead_next = keep;
            keep = c;
        } else {
            conn_free(c);
        }
    }
    w->dead_head = keep;
    worker_run_notifications(w);
    return w->dirty_head != NULL || w->notify_head != NULL;
}

static void worker_resume_accept(void *arg);

static bool conn_is_idle(const sl_conn_t *c) {
    if (c->ops && c->ops->idle) return c->ops->idle(c);
    for (const sl_req_t *r = c->reqs; r; r = r->next)
        if (r->handler_owned || r->responded || r->deferred) return false;
    return sl_outq_bytes(&c->out) == 0;
}

/* Bytes the client sent that the loop has not read yet: a request on its way (a connection
 * accepted just before a busy spell looks quiet since its accept while its request waits). */
static bool conn_has_unread_input(const sl_conn_t *c) {
    char b;
    return recv(c->io.fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) > 0;
}

/* Closes the least recently active idle connection quiet for at least quiet_ms, to make room for
 * a new one. Returns true when one was closed (its descriptor is free now). */
static bool worker_reap_idle(sl_worker_t *w, int64_t quiet_ms) {
    int64_t now = sl_loop_now_ms(w->loop);
    int scanned = 0;
    for (sl_conn_t *c = w->conns_tail; c && scanned < SL_NET_REAP_SCAN_MAX;
         c = c->prev, scanned++) {
        if (c->lingering || !conn_is_idle(c) || now - c->last_active_ms < quiet_ms ||
            conn_has_unread_input(c))
            continue;
        sl_conn_abort(c);
        return true;
    }
    return false;
}

static void worker_refused(sl_worker_t *w, const char *why, bool refused);

/* A client accepted at the connection bound by a thread with no idle connection to close, on its
 * way to the other threads in turn until one closes an idle connection for it (each thread closes
 * only its own connections; the kernel spreads new connections over the threads' listeners
 * regardless of where the idle ones are). It is not counted while on its way: the bound holds. */
typedef struct {
    sl_worker_t *to;
    int fd;
    int hops_left;
    bool tls;
} sl_handoff_t;

static void conn_start(sl_worker_t *w, int fd, bool tls) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (!conn_new(w, fd, tls)) close(fd);
}

static bool worker_hand_off(sl_worker_t *w, int fd, bool tls, int hops_left);

/* A new client under the bound, or at the bound once an idle connection of this thread made room,
 * else handed to the next thread (hops_left more), else refused. */
static void worker_admit(sl_worker_t *w, int fd, bool tls, int hops_left) {
    if (server_conn_total(w->srv) < w->srv->max_connections ||
        worker_reap_idle(w, SL_NET_REAP_QUIET_MS)) {
        conn_start(w, fd, tls);
    } else if (!worker_hand_off(w, fd, tls, hops_left)) {
        close(fd);
        worker_refused(w, "connection limit reached", true);
    }
}

static void worker_adopt(void *arg) {
    sl_handoff_t *h = arg;
    sl_worker_t *w = h->to;
    int fd = h->fd, hops_left = h->hops_left;
    bool tls = h->tls;
    free(h);
    if (w->stopping)
        close(fd);
    else
        worker_admit(w, fd, tls, hops_left);
}

/* Passes fd to the next thread (false: no thread left to try, or no memory). */
static bool worker_hand_off(sl_worker_t *w, int fd, bool tls, int hops_left) {
    sl_http_server_t *srv = w->srv;
    if (hops_left <= 0) return false;
    sl_handoff_t *h = malloc(sizeof *h);
    if (!h) return false;
    sl_worker_t *to = &srv->workers[(w->index + 1) % srv->nworkers];
    *h = (sl_handoff_t){.to = to, .fd = fd, .hops_left = hops_left - 1, .tls = tls};
    if (sl_loop_post(to->loop, worker_adopt, h) != 0) {
        free(h);
        return false;
    }
    return true;
}

/* One warning per SL_NET_LIMIT_LOG_MS per thread, with the count of connections refused. */
static void worker_refused(sl_worker_t *w, const char *why, bool refused) {
    if (refused) w->refused++;
    int64_t now = sl_loop_now_ms(w->loop);
    if (w->limit_log_ms != 0 && now - w->limit_log_ms < SL_NET_LIMIT_LOG_MS) return;
    sl_http_server_t *srv = w->srv;
    SL_WARN(
        "net: %s with %zu connections open (max_connections %zu): refused %zu new connection(s) "
        "in the last %d s; raise --max-connections and the descriptor limit (ulimit -n)",
        why, server_conn_total(srv), srv->max_connections, w->refused, SL_NET_LIMIT_LOG_MS / 1000);
    w->limit_log_ms = now;
    w->refused = 0;
}

static void worker_on_accept(sl_loop_io_t *io, uint32_t events) {
    (void)events;
    sl_listener_t *l = (sl_listener_t *)io;
    sl_worker_t *w = l->w;
    bool tls = l->tls;
    for (int i = 0; i < SL_NET_ACCEPTS_PER_EVENT; i++) {
        int fd = accept4(io->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                int err = errno;
                /* Out of descriptors: an idle connection makes room, else the client is refused
                 * at once with the spare descriptor (rather than left hanging in the backlog). */
                if (worker_reap_idle(w, SL_NET_REAP_QUIET_MS)) continue;
                if (w->reserve_fd >= 0) {
                    close(w->reserve_fd);
                    fd = accept4(io->fd, NULL, NULL, SOCK_CLOEXEC);
                    if (fd >= 0) close(fd);
                    w->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
                    if (fd >= 0) {
                        char why[128];
                        snprintf(why, sizeof why, "accept: %s", strerror(err));
                        worker_refused(w, why, true);
                        continue;
                    }
                }
                /* No spare descriptor (another thread took it): wait a little rather than spin. */
                char why[128];
                snprintf(why, sizeof why, "accept: %s, accepts paused for %d ms", strerror(err),
                         SL_NET_ACCEPT_RETRY_MS);
                worker_refused(w, why, false);
                for (int k = 0; k < 2; k++)
                    if (w->listen[k].io.fd >= 0) sl_loop_io_mod(w->loop, &w->listen[k].io, 0);
                w->accept_paused = true;
                sl_timer_start(w->loop, SL_NET_ACCEPT_RETRY_MS, worker_resume_accept, w);
            }
            return;
        }
        if (w->stopping) {
            close(fd);
            continue;
        }
        worker_admit(w, fd, tls, w->srv->nworkers - 1);
    }
}

static void worker_resume_accept(void *arg) {
    sl_worker_t *w = arg;
    if (!w->accept_paused || w->stopping) return;
    w->accept_paused = false;
    if (w->reserve_fd < 0) w->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    for (int k = 0; k < 2; k++)
        if (w->listen[k].io.fd >= 0) sl_loop_io_mod(w->loop, &w->listen[k].io, EPOLLIN);
}

/* Deadlines of one connection; returns false when it was closed or answered with 408. */
static bool conn_check_deadlines(sl_conn_t *c, int64_t now) {
    sl_http_server_t *srv = c->w->srv;
    if (c->proto == SL_PROTO_TLS_HANDSHAKE) {
        if (now - c->accept_ms < srv->tls_handshake_timeout_ms) return true;
        SL_DEBUG("net: TLS handshake not done in %d ms; closing", srv->tls_handshake_timeout_ms);
        sl_conn_abort(c);
        return false;
    }
    if (c->proto == SL_PROTO_SNIFF) {
        if (c->in_len == 0 || c->req_start_ms == 0 ||
            now - c->req_start_ms < srv->header_timeout_ms)
            return true;
        sl_conn_abort(c);
        return false;
    }
    return !c->ops || !c->ops->check_deadlines || c->ops->check_deadlines(c, now);
}

static void worker_sweep(void *arg) {
    sl_worker_t *w = arg;
    sl_http_server_t *srv = w->srv;
    w->sweep_timer = NULL;
    int64_t now = sl_time_mono_ms();
    int64_t idle_ms = srv->idle_timeout_ms;
    /* Near the connection bound, idle keep-alive connections give their descriptors back soon. */
    if (server_conn_total(srv) * 100 >= srv->max_connections * SL_HTTP_PRESSURE_PCT &&
        idle_ms > SL_HTTP_PRESSURE_IDLE_MS)
        idle_ms = SL_HTTP_PRESSURE_IDLE_MS;
    /* Output that has not moved for idle_ms (a client that stopped reading, an HTTP/2 window left
     * at 0) is closed; over the response budget after SL_HTTP_PRESSURE_IDLE_MS already. */
    int64_t stall_ms = srv->idle_timeout_ms;
    if (server_out_total(srv) >= srv->response_budget && stall_ms > SL_HTTP_PRESSURE_IDLE_MS)
        stall_ms = SL_HTTP_PRESSURE_IDLE_MS;
    if (w->reserve_fd < 0) w->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    sl_conn_t *next;
    for (sl_conn_t *c = w->conns; c; c = next) {
        next = c->next;
        if (c->lingering) {
            if (now >= c->linger_deadline_ms) sl_conn_abort(c);
            continue;
        }
        if (!conn_check_deadlines(c, now)) continue;
        conn_account(c);
        if (c->out_acct > 0 && now - c->last_send_ms >= stall_ms) {
            SL_DEBUG("net: output stalled for %lld ms (%zu bytes unsent); closing",
                     (long long)(now - c->last_send_ms), c->out_acct);
            sl_conn_abort(c);
            continue;
        }
        if (!conn_is_idle(c)) continue;
        int64_t quiet = now - c->last_active_ms;
        if (quiet >= idle_ms) {
            sl_conn_abort(c);
        } else if (quiet >= SL_NET_TRIM_AFTER_MS) {
            sl_outq_trim(&c->out);
        }
    }
    w->sweep_timer = sl_timer_start(w->loop, (uint64_t)srv_sweep_interval(srv), worker_sweep, w);
}

static void worker_check_stopped(sl_worker_t *w) {
    if (!w->stopping || w->conn_count > 0) return;
    sl_loop_stop(w->loop);
}

static void worker_grace_expired(void *arg) {
    sl_worker_t *w = arg;
    w->grace_timer = NULL;
    while (w->conns)
        sl_conn_abort(w->conns);
    sl_loop_stop(w->loop);
}

static void worker_begin_stop(void *arg) {
    sl_worker_t *w = arg;
    int grace_ms = w->stop_grace_ms;
    w->stopping = true;
    for (int k = 0; k < 2; k++) {
        sl_loop_io_t *io = &w->listen[k].io;
        if (io->fd < 0) continue;
        sl_loop_io_del(w->loop, io);
        close(io->fd);
        io->fd = -1;
    }
    sl_conn_t *next;
    for (sl_conn_t *c = w->conns; c; c = next) {
        next = c->next;
        if (!c->ops || !c->ops->stop || !c->ops->stop(c)) sl_conn_abort(c);
    }
    if (w->conn_count > 0) {
        w->grace_timer = sl_timer_start(w->loop, (uint64_t)(grace_ms > 0 ? grace_ms : 0),
                                        worker_grace_expired, w);
        if (!w->grace_timer) worker_grace_expired(w);
    }
    worker_check_stopped(w);
}

static void *worker_main(void *arg) {
    sl_worker_t *w = arg;
    sl_http_server_t *srv = w->srv;
    char name[16];
    snprintf(name, sizeof name, "sl-net-%d", w->index);
    pthread_setname_np(pthread_self(), name);
    sl_loop_set_prepare(w->loop, worker_prepare, w);
    sl_loop_set_current(w->loop);
    if (srv->cfg.on_thread_start) {
        /* Let the callback use sl_loop_current() as on any loop thread. */
        srv->cfg.on_thread_start(w->loop, srv->cfg.handler_ctx);
    }
    for (int k = 0; k < 2; k++)
        if (w->listen[k].io.fd >= 0 && sl_loop_io_add(w->loop, &w->listen[k].io, EPOLLIN) != 0)
            SL_ERROR("net: cannot watch listening socket");
    w->sweep_timer = sl_timer_start(w->loop, (uint64_t)srv_sweep_interval(srv), worker_sweep, w);
    sl_loop_run(w->loop);
    /* Stopped: close what is left and release it on this thread. */
    if (w->sweep_timer) sl_timer_cancel(w->sweep_timer);
    if (w->grace_timer) sl_timer_cancel(w->grace_timer);
    if (w->wait_timer) sl_timer_cancel(w->wait_timer);
    w->sweep_timer = w->grace_timer = w->wait_timer = NULL;
    while (w->conns)
        sl_conn_abort(w->conns);
    worker_prepare(w);
    if (srv->cfg.on_thread_stop) srv->cfg.on_thread_stop(w->loop, srv->cfg.handler_ctx);
    sl_loop_set_current(NULL);
    return NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* Listening sockets                                                                           */

static int resolve(const char *host, int port, struct sockaddr_storage *ss, socklen_t *len) {
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    char ps[16];
    snprintf(ps, sizeof ps, "%d", port);
    int rc = getaddrinfo(host, ps, &hints, &res);
    if (rc != 0 || !res) {
        SL_ERROR("net: cannot resolve bind address %s: %s", host ? host : "*", gai_strerror(rc));
        return SL_EINVAL;
    }
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

static void set_port(struct sockaddr_storage *ss, int port) {
    if (ss->ss_family == AF_INET6)
        ((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
    else
        ((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
}

static int bind_error(int err, const char *host, int port) {
    SL_ERROR("net: cannot listen on %s:%d: %s", host, port, strerror(err));
    if (err == EADDRINUSE) return SL_EEXIST;
    if (err == EADDRNOTAVAIL || err == EINVAL) return SL_EINVAL;
    return SL_EIO;
}

/* Opens one listening socket; reuseport=false makes a probe that fails if anyone holds the port. */
static int open_listener(const struct sockaddr_storage *ss, socklen_t len, bool reuseport,
                         int *fd) {
    *fd = -1;
    int s = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s < 0) return errno;
    int one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (reuseport) setsockopt(s, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    if (bind(s, (const struct sockaddr *)ss, len) != 0 ||
        (reuseport && listen(s, SL_NET_LISTEN_BACKLOG) != 0)) {
        int e = errno;
        close(s);
        return e;
    }
    *fd = s;
    return 0;
}

static int bound_port(int fd) {
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0) return -1;
    if (ss.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

/* Binds one SO_REUSEPORT listener per worker on host:port; stores the actual port. */
static int listen_all(sl_http_server_t *srv, int slot, int port, int *actual) {
    const char *host = srv->bind_address;
    struct sockaddr_storage ss;
    socklen_t len;
    int rc = resolve(host, port, &ss, &len);
    if (rc != 0) return rc;
    if (port != 0) {
        /* SO_REUSEPORT would silently share a port held by another process of ours: probe first. */
        int probe;
        int e = open_listener(&ss, len, false, &probe);
        if (e != 0) return bind_error(e, host, port);
        close(probe);
    }
    for (int i = 0; i < srv->nworkers; i++) {
        int fd;
        int e = open_listener(&ss, len, true, &fd);
        if (e != 0) return bind_error(e, host, port);
        sl_listener_t *l = &srv->workers[i].listen[slot];
        l->io.fd = fd;
        l->io.cb = worker_on_accept;
        l->w = &srv->workers[i];
        l->tls = slot == 1;
        if (i == 0 && port == 0) {
            port = bound_port(fd);
            if (port <= 0) return SL_EIO;
            set_port(&ss, port);
        }
    }
    *actual = port;
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Server                                                                                      */

static char *dup_or_null(const char *s) {
    return s ? strdup(s) : NULL;
}

/* SL_HTTP_CONNECTIONS_FDS_PCT of the descriptor limit: the rest is for shard files and the like. */
static size_t default_max_connections(void) {
    struct rlimit rl;
    size_t n = SL_HTTP_CONNECTIONS_MIN;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rlim_t cur =
            rl.rlim_cur == RLIM_INFINITY ? (rlim_t)SL_HTTP_CONNECTIONS_MAX_LIMIT * 4 : rl.rlim_cur;
        size_t share = (size_t)(cur / 100 * SL_HTTP_CONNECTIONS_FDS_PCT);
        if (share > n) n = share;
    }
    return n > SL_HTTP_CONNECTIONS_MAX_LIMIT ? SL_HTTP_CONNECTIONS_MAX_LIMIT : n;
}

static void server_free(sl_http_server_t *srv) {
    if (srv->workers) {
        for (int i = 0; i < srv->nworkers; i++) {
            sl_worker_t *w = &srv->workers[i];
            for (int k = 0; k < 2; k++)
                if (w->listen[k].io.fd >= 0) close(w->listen[k].io.fd);
            if (w->loop) sl_loop_destroy(w->loop); /* may run posted answers */
            while (w->dead_head) {
                sl_conn_t *c = w->dead_head;
                w->dead_head = c->dead_next;
                conn_free(c);
            }
            while (w->live) {
                sl_req_t *r = w->live;
                r->conn_owned = r->handler_owned = r->in_session = false;
                r->refs = 0;
                req_free(r);
            }
            while (w->pool) {
                sl_req_t *r = w->pool;
                w->pool = r->next;
                sl_arena_deinit(&r->arena_storage);
                free(r);
            }
            if (w->reserve_fd >= 0) close(w->reserve_fd);
            free(w->rbuf);
            sl_buf_free(&w->scratch);
        }
        free(srv->workers);
    }
    sl_h2_callbacks_destroy(srv);
    if (srv->ssl_ctx) SSL_CTX_free(srv->ssl_ctx);
    free(srv->bind_address);
    free(srv->tls_cert_file);
    free(srv->tls_key_file);
    free(srv->tls_dir);
    free(srv);
}

int sl_http_server_start(const sl_http_server_config_t *cfg, sl_http_server_t **out) {
    if (!cfg || !cfg->handler || !out || cfg->port < 0 || cfg->port > 65535 || cfg->tls_port < 0 ||
        cfg->tls_port > 65535)
        return SL_EINVAL;
    sl_http_server_t *srv = calloc(1, sizeof *srv);
    if (!srv) return SL_ENOMEM;
    srv->cfg = *cfg;
    srv->bind_address = strdup(cfg->bind_address ? cfg->bind_address : "0.0.0.0");
    srv->tls_cert_file = dup_or_null(cfg->tls_cert_file);
    srv->tls_key_file = dup_or_null(cfg->tls_key_file);
    srv->tls_dir = dup_or_null(cfg->tls_dir);
    srv->cfg.bind_address = srv->bind_address;
    srv->cfg.tls_cert_file = srv->tls_cert_file;
    srv->cfg.tls_key_file = srv->tls_key_file;
    srv->cfg.tls_dir = srv->tls_dir;
    if (srv->cfg.body_max_bytes == 0) srv->cfg.body_max_bytes = SL_HTTP_BODY_MAX_BYTES_DEFAULT;
    srv->idle_timeout_ms =
        cfg->idle_timeout_ms > 0 ? cfg->idle_timeout_ms : SL_HTTP_IDLE_TIMEOUT_MS;
    srv->header_timeout_ms =
        cfg->header_timeout_ms > 0 ? cfg->header_timeout_ms : SL_HTTP_HEADER_TIMEOUT_MS_DEFAULT;
    srv->body_timeout_ms =
        cfg->body_timeout_ms > 0 ? cfg->body_timeout_ms : SL_HTTP_BODY_TIMEOUT_MS_DEFAULT;
    srv->tls_handshake_timeout_ms = cfg->tls_handshake_timeout_ms > 0
                                        ? cfg->tls_handshake_timeout_ms
                                        : SL_HTTP_TLS_HANDSHAKE_TIMEOUT_MS_DEFAULT;
    srv->request_budget = cfg->request_buffer_max_bytes ? cfg->request_buffer_max_bytes
                                                        : SL_HTTP_REQUEST_BUFFER_BYTES_DEFAULT;
    srv->response_budget = cfg->response_buffer_max_bytes ? cfg->response_buffer_max_bytes
                                                          : SL_HTTP_RESPONSE_BUFFER_BYTES_DEFAULT;
    srv->max_connections =
        cfg->max_connections > 0 ? (size_t)cfg->max_connections : default_max_connections();
    atomic_init(&srv->body_bytes, 0);
    atomic_init(&srv->small_body_bytes, 0);
    int n = cfg->threads;
    if (n <= 0) {
        /* One per core; on two cores or fewer one, which leaves a core to the storage commit
         * thread (measured on 2 cores, fresh servers, alternating pairs: PutRecord 100 B +13% to
         * +29% records/s at 2 to 8 us less CPU per request, PutRecords at 4,096 shards +17%,
         * 100 x 10 KiB +15%, PutRecords 500 x 100 B at 4 shards unchanged). */
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        n = cpus > 2 ? (int)cpus : 1;
    }
    srv->nworkers = n;
    int rc = SL_ENOMEM;
    srv->workers = calloc((size_t)n, sizeof *srv->workers);
    if (!srv->bind_address || !srv->workers) goto fail;
    for (int i = 0; i < n; i++)
        srv->workers[i].listen[0].io.fd = srv->workers[i].listen[1].io.fd =
            srv->workers[i].reserve_fd = -1;
    for (int i = 0; i < n; i++) {
        sl_worker_t *w = &srv->workers[i];
        w->srv = srv;
        w->index = i;
        w->listen[0].io.fd = w->listen[1].io.fd = -1;
        atomic_init(&w->out_pub, 0);
        atomic_init(&w->conn_pub, 0);
        w->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        w->rbuf_size = SL_NET_READ_BUF_BYTES;
        w->rbuf = malloc(w->rbuf_size);
        if (!w->rbuf) goto fail;
        rc = sl_loop_create(&w->loop);
        if (rc != 0) goto fail;
    }
    rc = sl_h2_callbacks_create(srv);
    if (rc != 0) goto fail;
    if (cfg->tls_port != 0 || cfg->tls_cert_file) {
        rc = sl_tls_ctx_create(srv, &srv->ssl_ctx);
        if (rc != 0) goto fail;
    }
    rc = listen_all(srv, 0, cfg->port, &srv->port);
    if (rc != 0) goto fail;
    if (cfg->tls_port != 0) {
        rc = listen_all(srv, 1, cfg->tls_port, &srv->tls_port);
        if (rc != 0) goto fail;
    }
    for (int i = 0; i < n; i++) {
        sl_worker_t *w = &srv->workers[i];
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
            rc = SL_EIO;
            /* Stop the threads already running. */
            for (int k = 0; k < i; k++) {
                srv->workers[k].stop_grace_ms = 0;
                sl_loop_post(srv->workers[k].loop, worker_begin_stop, &srv->workers[k]);
                pthread_join(srv->workers[k].thread, NULL);
                srv->workers[k].thread_started = false;
            }
            goto fail;
        }
        w->thread_started = true;
    }
    SL_INFO("net: listening on %s:%d%s (%d threads, at most %zu connections)", srv->bind_address,
            srv->port, srv->tls_port ? " and TLS" : "", n, srv->max_connections);
    *out = srv;
    return 0;
fail:
    server_free(srv);
    return rc;
}

int sl_http_server_port(const sl_http_server_t *srv) {
    return srv->port;
}
int sl_http_server_tls_port(const sl_http_server_t *srv) {
    return srv->tls_port;
}

void sl_http_server_stop(sl_http_server_t *srv, int grace_ms) {
    if (!srv) return;
    for (int i = 0; i < srv->nworkers; i++) {
        sl_worker_t *w = &srv->workers[i];
        w->stop_grace_ms = grace_ms;
        /* sl_loop_post only fails when malloc does; retry rather than hang in join. */
        while (sl_loop_post(w->loop, worker_begin_stop, w) != 0)
            usleep(1000);
    }
    for (int i = 0; i < srv->nworkers; i++)
        if (srv->workers[i].thread_started) pthread_join(srv->workers[i].thread, NULL);
    server_free(srv);
}
