/* The load loop of `sluice bench`: cfg->threads threads, each with its own epoll loop and its share
 * of the keep-alive connections (HTTP/1.1 with one request in flight per connection, or h2c prior
 * knowledge through nghttp2's client session with --depth concurrent streams per connection).
 * Each connection has request slots; a slot has a role: a writer (PutRecord/PutRecords from a pool
 * of pre-built, pre-hashed bodies whose signatures are cached per second, so the tool spends its
 * time on I/O, not on JSON or SHA-256), a reader (GetShardIterator then GetRecords over the shards it
 * owns), or a subscriber (SubscribeToShard over HTTP/2, decoding the event stream). Open-loop mode
 * hands out send tokens on a fixed schedule and measures latency from the scheduled time, so a slow
 * server cannot hide its queueing (no coordinated omission). */
#include "cli/bench_internal.h"

#include "core/arena.h"
#include "core/common.h"
#include "wire/base64.h"
#include "wire/eventstream.h"
#include "wire/json.h"
#include "wire/sigv4.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

typedef enum { ROLE_PUT, ROLE_READ, ROLE_SUB } role_t;
typedef enum { OP_NONE, OP_PUT, OP_GSI, OP_GET, OP_SUB } op_t;

/* A pre-built request body shared read-only by all threads. */
typedef struct {
    char *data;
    size_t len;
    char sha[65];
    int records;
} body_t;

/* A cached signature of one body for one second (per thread). */
typedef struct {
    int64_t sec;
    char amz_date[17];
    char auth[320];
} sigcache_t;

typedef struct thread thread_t;
typedef struct conn conn_t;

typedef struct {
    char *iter;
    bool done;
    int index; /* into cfg->shard_ids */
} shard_state_t;

typedef struct req {
    conn_t *conn;
    role_t role;
    bool busy;
    bool in_idle;
    op_t op;
    int32_t stream_id;
    int64_t sched_ns;
    int body_records;
    /* The body being sent: a pool body or dyn. */
    const char *send_body;
    size_t send_len;
    size_t send_off;
    sl_buf_t dyn;
    int status;
    sl_buf_t resp;
    /* Reader. */
    shard_state_t *shards;
    int nshards;
    int cur;
    int remaining;
    int64_t wake_ns;
    bool finished;
    /* Subscriber. */
    int sub_shard;
    int sub_consumer;
} req_t;

struct conn {
    thread_t *th;
    int fd;
    bool h2;
    bool ready;
    bool sub_conn;
    nghttp2_session *sess;
    char hdr[1024];
    size_t hdr_len, hdr_off;
    size_t body_off;
    req_t *h1_req;
    sl_buf_t in;
    size_t need;
    req_t *reqs;
    int nreqs;
    int64_t reconnect_ns;
};

struct thread {
    int id;
    pthread_t tid;
    const sl_bench_cfg_t *cfg;
    int ep;
    conn_t *conns;
    int nconns;
    req_t **put_idle;
    int put_idle_n;
    req_t **pollers; /* readers and subscribers, checked every loop */
    int npollers;
    int readers_active;
    /* Open loop. */
    int64_t t0;
    double interval_ns;
    uint64_t next_token;
    int64_t measure_ns, end_ns;
    sl_bench_stats_t st;
    sigcache_t *sigs;
    sl_bench_signer_t signer;
    int64_t sec_cached;
    char amz_date[17];
    sl_arena_t arena;
    uint64_t rng;
    bool done;
};

static body_t *g_bodies;
static int g_nbodies;
static _Atomic int g_stop;
/* Fill phase (sl_bench_fill): records not yet claimed by a writer; failed ones are given back. */
static bool g_fill;
static _Atomic int64_t g_fill_left;
static struct sockaddr_storage g_addr;
static socklen_t g_addrlen;

static int64_t mono_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int64_t real_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec;
}

static uint64_t rng_next(uint64_t *s) {
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

void sl_bench_stats_error(sl_bench_stats_t *st, const char *kind) {
    atomic_fetch_add_explicit(&st->errors, 1, memory_order_relaxed);
    for (int i = 0; i < st->err_count; i++)
        if (strcmp(st->err[i].kind, kind) == 0) {
            st->err[i].count++;
            return;
        }
    if (st->err_count == SL_BENCH_ERROR_KINDS_MAX) {
        st->err_other++;
        return;
    }
    size_t n = strnlen(kind, sizeof st->err[0].kind - 1);
    memcpy(st->err[st->err_count].kind, kind, n);
    st->err[st->err_count].kind[n] = 0;
    st->err[st->err_count++].count = 1;
}

/* ---- request bodies ---- */

static void append_random_b64(sl_buf_t *b, int size, uint64_t *rng) {
    uint8_t *raw = malloc((size_t)size + 8);
    for (int i = 0; i < size; i += 8) {
        uint64_t v = rng_next(rng);
        memcpy(raw + i, &v, 8);
    }
    size_t n = sl_base64_encoded_len((size_t)size);
    char *p = sl_buf_reserve(b, n);
    if (p) {
        sl_base64_encode(raw, (size_t)size, p);
        b->len += n;
    }
    free(raw);
}

/* A PutRecord body (single) or a PutRecords body of batch records of cfg->record_size random bytes. */
static void build_put_body(sl_buf_t *b, const sl_bench_cfg_t *cfg, bool single, int batch, uint64_t *rng) {
    if (single) {
        sl_buf_printf(b, "{\"StreamName\":\"%s\",\"Data\":\"", cfg->stream);
        append_random_b64(b, cfg->record_size, rng);
        sl_buf_printf(b, "\",\"PartitionKey\":\"%016llx\"}", (unsigned long long)rng_next(rng));
        return;
    }
    sl_buf_printf(b, "{\"StreamName\":\"%s\",\"Records\":[", cfg->stream);
    for (int r = 0; r < batch; r++) {
        sl_buf_append_str(b, r ? ",{\"Data\":\"" : "{\"Data\":\"");
        append_random_b64(b, cfg->record_size, rng);
        sl_buf_printf(b, "\",\"PartitionKey\":\"%016llx\"}", (unsigned long long)rng_next(rng));
    }
    sl_buf_append_str(b, "]}");
}

static int build_bodies(const sl_bench_cfg_t *cfg) {
    bool single = cfg->workload == SL_BENCH_PUT_RECORD;
    int batch = single ? 1 : cfg->batch;
    size_t one = sl_base64_encoded_len((size_t)cfg->record_size) + 64;
    size_t body_len = (size_t)batch * one + 128;
    long want = (4L * (cfg->shards > 0 ? cfg->shards : 1) + batch - 1) / batch;
    if (want < 16) want = 16;
    long cap = (long)((256u << 20) / body_len);
    if (want > cap) want = cap;
    if (want < 2) want = 2;
    g_nbodies = (int)want;
    g_bodies = calloc((size_t)g_nbodies, sizeof *g_bodies);
    if (!g_bodies) return SL_ENOMEM;
    uint64_t rng = 0x9E3779B97F4A7C15ull;
    for (int i = 0; i < g_nbodies; i++) {
        sl_buf_t b;
        sl_buf_init(&b);
        build_put_body(&b, cfg, single, batch, &rng);
        if (sl_buf_failed(&b)) return SL_ENOMEM;
        g_bodies[i].data = b.data;
        g_bodies[i].len = b.len;
        g_bodies[i].records = batch;
        sl_sigv4_sha256_hex(b.data, b.len, g_bodies[i].sha);
    }
    return 0;
}

static void free_bodies(void) {
    for (int i = 0; i < g_nbodies; i++) free(g_bodies[i].data);
    free(g_bodies);
    g_bodies = NULL;
    g_nbodies = 0;
}

/* ---- connections ---- */

static void conn_fail(conn_t *c, const char *kind);
static void req_complete(req_t *r, int status, const char *body, size_t len);
static void sub_data(req_t *r, const uint8_t *data, size_t len);

static ssize_t h2_send_cb(nghttp2_session *s, const uint8_t *data, size_t len, int flags, void *ud) {
    (void)s, (void)flags;
    conn_t *c = ud;
    ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL);
    if (n < 0) return (errno == EAGAIN || errno == EINTR) ? NGHTTP2_ERR_WOULDBLOCK : NGHTTP2_ERR_CALLBACK_FAILURE;
    return n;
}

static int h2_header_cb(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name, size_t nl,
                        const uint8_t *value, size_t vl, uint8_t flags, void *ud) {
    (void)flags, (void)ud;
    if (f->hd.type != NGHTTP2_HEADERS) return 0;
    req_t *r = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
    if (r && nl == 7 && memcmp(name, ":status", 7) == 0) {
        /* Three digits; anything else counts as status 0, an error. */
        r->status = 0;
        for (size_t i = 0; vl == 3 && i < vl; i++) {
            if (value[i] < '0' || value[i] > '9') {
                r->status = 0;
                break;
            }
            r->status = r->status * 10 + (value[i] - '0');
        }
    }
    return 0;
}

static int h2_data_cb(nghttp2_session *s, uint8_t flags, int32_t sid, const uint8_t *data, size_t len, void *ud) {
    (void)flags, (void)ud;
    req_t *r = nghttp2_session_get_stream_user_data(s, sid);
    if (!r) return 0;
    if (r->op == OP_SUB && r->status == 200) sub_data(r, data, len);
    else sl_buf_append(&r->resp, data, len);
    return 0;
}

static int h2_close_cb(nghttp2_session *s, int32_t sid, uint32_t code, void *ud) {
    (void)ud;
    req_t *r = nghttp2_session_get_stream_user_data(s, sid);
    if (!r || !r->busy) return 0;
    r->stream_id = 0;
    if (code != 0 && r->status == 0) {
        char kind[64];
        snprintf(kind, sizeof kind, "h2 stream reset (%u)", code);
        sl_bench_stats_error(&r->conn->th->st, kind);
        req_complete(r, -1, NULL, 0);
        return 0;
    }
    sl_buf_reserve(&r->resp, 1);
    if (r->resp.data) r->resp.data[r->resp.len] = 0;
    req_complete(r, r->status, r->resp.data, r->resp.len);
    return 0;
}

static ssize_t h2_read_body(nghttp2_session *s, int32_t sid, uint8_t *buf, size_t len, uint32_t *flags,
                            nghttp2_data_source *src, void *ud) {
    (void)s, (void)sid, (void)ud;
    req_t *r = src->ptr;
    size_t n = SL_MIN(len, r->send_len - r->send_off);
    memcpy(buf, r->send_body + r->send_off, n);
    r->send_off += n;
    if (r->send_off == r->send_len) *flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

static int h2_start(conn_t *c) {
    nghttp2_session_callbacks *cb;
    if (nghttp2_session_callbacks_new(&cb) != 0) return SL_ENOMEM;
    nghttp2_session_callbacks_set_send_callback(cb, h2_send_cb);
    nghttp2_session_callbacks_set_on_header_callback(cb, h2_header_cb);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, h2_data_cb);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, h2_close_cb);
    int rc = nghttp2_session_client_new(&c->sess, cb, c);
    nghttp2_session_callbacks_del(cb);
    if (rc != 0) return SL_ENOMEM;
    nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
                                   {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, (1u << 30)}};
    nghttp2_submit_settings(c->sess, NGHTTP2_FLAG_NONE, iv, 2);
    nghttp2_session_set_local_window_size(c->sess, NGHTTP2_FLAG_NONE, 0, (1 << 30));
    return nghttp2_session_send(c->sess) == 0 ? 0 : SL_EIO;
}

static void conn_connect(conn_t *c, int64_t now) {
    c->fd = socket(g_addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        c->reconnect_ns = now + 100000000LL;
        return;
    }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(c->fd, (struct sockaddr *)&g_addr, g_addrlen) != 0 && errno != EINPROGRESS) {
        close(c->fd);
        c->fd = -1;
        sl_bench_stats_error(&c->th->st, "connect failed");
        c->reconnect_ns = now + 100000000LL;
        return;
    }
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLET | EPOLLRDHUP, .data.ptr = c};
    epoll_ctl(c->th->ep, EPOLL_CTL_ADD, c->fd, &ev);
    c->reconnect_ns = 0;
}

static void push_idle(thread_t *th, req_t *r) {
    if (r->role != ROLE_PUT || r->in_idle) return;
    r->in_idle = true;
    th->put_idle[th->put_idle_n++] = r;
}

static void conn_ready(conn_t *c) {
    int err = 0;
    socklen_t el = sizeof err;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
    if (err != 0) {
        conn_fail(c, "connect failed");
        return;
    }
    c->ready = true;
    if (c->h2 && h2_start(c) != 0) {
        conn_fail(c, "h2 setup failed");
        return;
    }
    for (int i = 0; i < c->nreqs; i++)
        if (!c->reqs[i].busy) push_idle(c->th, &c->reqs[i]);
}

static void conn_fail(conn_t *c, const char *kind) {
    thread_t *th = c->th;
    int64_t now = mono_ns();
    if (c->fd >= 0) {
        epoll_ctl(th->ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
        c->fd = -1;
    }
    nghttp2_session *s = c->sess;
    c->sess = NULL;
    if (s) nghttp2_session_del(s);
    c->ready = false;
    c->in.len = 0;
    c->need = 0;
    c->h1_req = NULL;
    bool counted = false;
    for (int i = 0; i < c->nreqs; i++) {
        req_t *r = &c->reqs[i];
        if (!r->busy) continue;
        if (kind && !counted && now >= th->measure_ns) {
            sl_bench_stats_error(&th->st, kind);
            counted = true;
        }
        r->busy = false;
        r->stream_id = 0;
        if (g_fill && r->role == ROLE_PUT) atomic_fetch_add(&g_fill_left, r->body_records);
        if (r->role != ROLE_PUT) r->wake_ns = now + 100000000LL;
    }
    c->reconnect_ns = now + (kind ? 50000000LL : 0);
}

/* ---- issuing requests ---- */

static const char *target_of(op_t op, const sl_bench_cfg_t *cfg) {
    switch (op) {
    case OP_PUT: return cfg->workload == SL_BENCH_PUT_RECORD || cfg->workload == SL_BENCH_SUBSCRIBE
                            ? "Kinesis_20131202.PutRecord"
                            : "Kinesis_20131202.PutRecords";
    case OP_GSI: return "Kinesis_20131202.GetShardIterator";
    case OP_GET: return "Kinesis_20131202.GetRecords";
    case OP_SUB: return "Kinesis_20131202.SubscribeToShard";
    default: return "";
    }
}

/* Sends r's prepared body (send_body/send_len) as op with the given date and Authorization. */
static void req_send(req_t *r, const char *amz_date, const char *auth) {
    conn_t *c = r->conn;
    thread_t *th = c->th;
    const char *target = target_of(r->op, th->cfg);
    r->busy = true;
    r->status = 0;
    r->send_off = 0;
    sl_buf_reset(&r->resp);
    if (c->h2) {
        char clen[24];
        snprintf(clen, sizeof clen, "%zu", r->send_len);
#define NV(n, v) {(uint8_t *)(n), (uint8_t *)(v), strlen(n), strlen(v), NGHTTP2_NV_FLAG_NONE}
        nghttp2_nv nva[] = {NV(":method", "POST"),
                            NV(":scheme", "http"),
                            NV(":authority", th->cfg->authority),
                            NV(":path", "/"),
                            NV("content-type", "application/x-amz-json-1.1"),
                            NV("x-amz-target", target),
                            NV("x-amz-date", amz_date),
                            NV("authorization", auth),
                            NV("content-length", clen)};
#undef NV
        nghttp2_data_provider prd = {.source.ptr = r, .read_callback = h2_read_body};
        int32_t sid = nghttp2_submit_request(c->sess, NULL, nva, SL_ARRAY_LEN(nva), &prd, r);
        if (sid < 0) {
            r->busy = false;
            sl_bench_stats_error(&th->st, "h2 submit failed");
            conn_fail(c, NULL);
            return;
        }
        r->stream_id = sid;
        if (nghttp2_session_send(c->sess) != 0) conn_fail(c, "connection reset");
        return;
    }
    int n = snprintf(c->hdr, sizeof c->hdr,
                     "POST / HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-amz-json-1.1\r\nX-Amz-Target: %s\r\n"
                     "X-Amz-Date: %s\r\nAuthorization: %s\r\nContent-Length: %zu\r\n\r\n",
                     th->cfg->authority, target, amz_date, auth, r->send_len);
    c->hdr_len = (size_t)n;
    c->hdr_off = 0;
    c->body_off = 0;
    c->h1_req = r;
    /* The write happens in conn_flush. */
}

static void h1_flush(conn_t *c) {
    req_t *r = c->h1_req;
    if (!r) return;
    while (c->hdr_off < c->hdr_len || c->body_off < r->send_len) {
        struct iovec iov[2];
        int n = 0;
        if (c->hdr_off < c->hdr_len) iov[n++] = (struct iovec){c->hdr + c->hdr_off, c->hdr_len - c->hdr_off};
        if (c->body_off < r->send_len)
            iov[n++] = (struct iovec){(void *)(r->send_body + c->body_off), r->send_len - c->body_off};
        ssize_t w = writev(c->fd, iov, n);
        if (w < 0) {
            if (errno == EAGAIN || errno == EINTR) return;
            conn_fail(c, "connection reset");
            return;
        }
        size_t hw = SL_MIN((size_t)w, c->hdr_len - c->hdr_off);
        c->hdr_off += hw;
        c->body_off += (size_t)w - hw;
    }
}

static void sign_and_send(req_t *r, const char *sha, sigcache_t *cache) {
    thread_t *th = r->conn->th;
    int64_t sec = real_s();
    if (cache && cache->sec == sec) {
        req_send(r, cache->amz_date, cache->auth);
    } else {
        sigcache_t local, *sc = cache ? cache : &local;
        if (sl_bench_sign(&th->signer, th->cfg, target_of(r->op, th->cfg), sha, sec, sc->amz_date, sc->auth,
                          sizeof sc->auth) != 0) {
            sl_bench_stats_error(&th->st, "signing failed");
            return;
        }
        sc->sec = sec;
        req_send(r, sc->amz_date, sc->auth);
    }
    if (!r->conn->h2 && r->busy) h1_flush(r->conn);
}

static void send_json(req_t *r, op_t op) {
    char sha[65];
    r->op = op;
    r->send_body = r->dyn.data;
    r->send_len = r->dyn.len;
    sl_sigv4_sha256_hex(r->dyn.data, r->dyn.len, sha);
    sign_and_send(r, sha, NULL);
}

static void issue_put(req_t *r, int64_t sched) {
    thread_t *th = r->conn->th;
    r->sched_ns = sched;
    r->op = OP_PUT;
    if (th->cfg->workload == SL_BENCH_SUBSCRIBE) {
        /* The record carries its send time, so the subscriber can measure put-to-consumer latency. */
        int size = SL_MAX(th->cfg->record_size, 24);
        char *raw = malloc((size_t)size + 1);
        snprintf(raw, (size_t)size + 1, "%020lld", (long long)mono_ns());
        memset(raw + 20, 'x', (size_t)size - 20);
        sl_buf_reset(&r->dyn);
        sl_buf_printf(&r->dyn, "{\"StreamName\":\"%s\",\"Data\":\"", th->cfg->stream);
        char *p = sl_buf_reserve(&r->dyn, sl_base64_encoded_len((size_t)size));
        if (p) {
            sl_base64_encode(raw, (size_t)size, p);
            r->dyn.len += sl_base64_encoded_len((size_t)size);
        }
        free(raw);
        sl_buf_printf(&r->dyn, "\",\"PartitionKey\":\"%016llx\"}", (unsigned long long)rng_next(&th->rng));
        r->body_records = 1;
        send_json(r, OP_PUT);
        return;
    }
    if (g_fill) {
        /* Claim up to a batch of the records still to write; a short last batch gets its own body. */
        int64_t left = atomic_load(&g_fill_left), n;
        do {
            n = SL_MIN(left, (int64_t)th->cfg->batch);
            if (n <= 0) return; /* nothing left: the slot stays idle until records are given back */
        } while (!atomic_compare_exchange_weak(&g_fill_left, &left, left - n));
        if (n < th->cfg->batch) {
            sl_buf_reset(&r->dyn);
            build_put_body(&r->dyn, th->cfg, false, (int)n, &th->rng);
            r->body_records = (int)n;
            send_json(r, OP_PUT);
            return;
        }
    }
    int bi = (int)(rng_next(&th->rng) % (uint64_t)g_nbodies);
    r->send_body = g_bodies[bi].data;
    r->send_len = g_bodies[bi].len;
    r->body_records = g_bodies[bi].records;
    sign_and_send(r, g_bodies[bi].sha, &th->sigs[bi]);
}

static void issue_reader(req_t *r, int64_t now) {
    const sl_bench_cfg_t *cfg = r->conn->th->cfg;
    for (int tries = 0; tries < r->nshards; tries++) {
        shard_state_t *s = &r->shards[r->cur];
        if (s->done) {
            r->cur = (r->cur + 1) % r->nshards;
            continue;
        }
        r->sched_ns = now;
        sl_buf_reset(&r->dyn);
        if (!s->iter) {
            sl_buf_printf(&r->dyn, "{\"StreamName\":\"%s\",\"ShardId\":\"%s\",\"ShardIteratorType\":\"%s\"}", cfg->stream,
                          cfg->shard_ids[s->index], cfg->workload == SL_BENCH_MIXED ? "LATEST" : "TRIM_HORIZON");
            send_json(r, OP_GSI);
        } else {
            sl_buf_printf(&r->dyn, "{\"ShardIterator\":\"%s\",\"Limit\":%d}", s->iter, cfg->get_limit);
            send_json(r, OP_GET);
        }
        return;
    }
}

static void issue_sub(req_t *r) {
    const sl_bench_cfg_t *cfg = r->conn->th->cfg;
    sl_buf_reset(&r->dyn);
    sl_buf_printf(&r->dyn, "{\"ConsumerARN\":\"%s\",\"ShardId\":\"%s\",\"StartingPosition\":{\"Type\":\"LATEST\"}}",
                  cfg->consumer_arns[r->sub_consumer], cfg->shard_ids[r->sub_shard]);
    r->sched_ns = mono_ns();
    send_json(r, OP_SUB);
}

/* Hands send tokens to idle writers and wakes due readers/subscribers. Returns the next time
 * something is due (or INT64_MAX). */
static int64_t dispatch(thread_t *th, int64_t now) {
    int64_t next = INT64_MAX;
    while (th->put_idle_n > 0) {
        req_t *r = th->put_idle[th->put_idle_n - 1];
        if (!r->conn->ready) {
            r->in_idle = false;
            th->put_idle_n--;
            continue;
        }
        int64_t sched = now;
        if (th->interval_ns > 0) {
            sched = th->t0 + (int64_t)((double)th->next_token * th->interval_ns);
            if (sched > now) {
                next = sched;
                break;
            }
            th->next_token++;
        }
        th->put_idle_n--;
        r->in_idle = false;
        issue_put(r, sched);
    }
    for (int i = 0; i < th->npollers; i++) {
        req_t *r = th->pollers[i];
        if (r->busy || r->finished || !r->conn->ready) continue;
        if (r->wake_ns > now) {
            if (r->wake_ns < next) next = r->wake_ns;
            continue;
        }
        if (r->role == ROLE_READ) issue_reader(r, now);
        else issue_sub(r);
    }
    for (int i = 0; i < th->nconns; i++) {
        conn_t *c = &th->conns[i];
        if (c->fd >= 0) continue;
        if (c->reconnect_ns <= now) conn_connect(c, now);
        else if (c->reconnect_ns < next) next = c->reconnect_ns;
    }
    return next;
}

/* ---- completions ---- */

static bool measured(thread_t *th, int64_t now) { return now >= th->measure_ns && now <= th->end_ns; }

/* Counts the records of a GetRecords answer and their decoded data bytes, and finds the next
 * iterator and MillisBehindLatest, by scanning (the base64 data cannot contain quotes). */
static void scan_get(const char *b, size_t len, uint64_t *records, uint64_t *bytes, const char **iter, size_t *iter_len,
                     long long *behind) {
    *records = 0;
    *bytes = 0;
    *iter = NULL;
    *behind = -1;
    const char *p = b, *end = b + len;
    for (;;) {
        const char *d = memmem(p, (size_t)(end - p), "\"Data\":\"", 8);
        if (!d) break;
        d += 8;
        const char *q = memchr(d, '"', (size_t)(end - d));
        if (!q) break;
        size_t n = (size_t)(q - d);
        size_t dec = n / 4 * 3;
        if (n >= 1 && d[n - 1] == '=') dec--;
        if (n >= 2 && d[n - 2] == '=') dec--;
        (*records)++;
        *bytes += dec;
        p = q + 1;
    }
    /* Both keys follow the Records array: search only after the last record's data. */
    const char *it = memmem(p, (size_t)(end - p), "\"NextShardIterator\":\"", 21);
    if (it) {
        it += 21;
        const char *q = memchr(it, '"', (size_t)(end - it));
        if (q) {
            *iter = it;
            *iter_len = (size_t)(q - it);
        }
    }
    const char *m = memmem(p, (size_t)(end - p), "\"MillisBehindLatest\":", 21);
    if (m) *behind = strtoll(m + 21, NULL, 10);
}

static void count_put(thread_t *th, req_t *r, const char *body, size_t len, int64_t now) {
    int failed = 0;
    if (r->body_records > 1 || th->cfg->workload == SL_BENCH_PUT_RECORDS || th->cfg->workload == SL_BENCH_MIXED) {
        const char *f = body ? memmem(body, len, "\"FailedRecordCount\":", 20) : NULL;
        if (!f) {
            sl_bench_stats_error(&th->st, "bad PutRecords response");
            return;
        }
        /* The count's digits, bounded by the body (it is not NUL-terminated); no overflow. */
        for (const char *d = f + 20; d < body + len && *d >= '0' && *d <= '9' && failed < 1000000; d++)
            failed = failed * 10 + (*d - '0');
        if (failed > 0) {
            const char *p = body, *end = body + len;
            for (;;) {
                const char *e = memmem(p, (size_t)(end - p), "\"ErrorCode\":\"", 13);
                if (!e) break;
                e += 13;
                const char *q = memchr(e, '"', (size_t)(end - e));
                if (!q) break;
                char kind[96];
                snprintf(kind, sizeof kind, "record %.*s", (int)SL_MIN(q - e, 80), e);
                sl_bench_stats_error(&th->st, kind);
                p = q;
            }
        }
    }
    int ok = r->body_records - failed;
    if (ok < 0) ok = 0;
    if (g_fill) atomic_fetch_add(&g_fill_left, r->body_records - ok);
    atomic_fetch_add_explicit(&th->st.requests, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&th->st.records, (uint64_t)ok, memory_order_relaxed);
    atomic_fetch_add_explicit(&th->st.bytes, (uint64_t)ok * (uint64_t)th->cfg->record_size, memory_order_relaxed);
    sl_bench_hist_record(&th->st.lat, (uint64_t)(now - r->sched_ns));
    th->st.last_done_ns = now;
}

static void reader_done(thread_t *th, req_t *r) {
    r->finished = true;
    th->readers_active--;
}

static void complete_reader(thread_t *th, req_t *r, int status, const char *body, size_t len, int64_t now) {
    shard_state_t *s = &r->shards[r->cur];
    bool is_mixed = th->cfg->workload == SL_BENCH_MIXED;
    if (status != 200) {
        if (body && memmem(body, len, "ExpiredIteratorException", 24)) {
            free(s->iter);
            s->iter = NULL;
        }
        r->wake_ns = now + 100000000LL;
        return;
    }
    if (r->op == OP_GSI) {
        const char *it = body ? memmem(body, len, "\"ShardIterator\":\"", 17) : NULL;
        const char *q = it ? memchr(it + 17, '"', len - (size_t)(it + 17 - body)) : NULL;
        if (!q) {
            sl_bench_stats_error(&th->st, "bad GetShardIterator response");
            r->wake_ns = now + 100000000LL;
            return;
        }
        s->iter = strndup(it + 17, (size_t)(q - it - 17));
        return;
    }
    uint64_t recs, bytes;
    const char *it;
    size_t il = 0;
    long long behind;
    scan_get(body, len, &recs, &bytes, &it, &il, &behind);
    if (measured(th, now)) {
        atomic_fetch_add_explicit(is_mixed ? &th->st.read_records : &th->st.records, recs, memory_order_relaxed);
        atomic_fetch_add_explicit(is_mixed ? &th->st.read_bytes : &th->st.bytes, bytes, memory_order_relaxed);
        if (!is_mixed) {
            atomic_fetch_add_explicit(&th->st.requests, 1, memory_order_relaxed);
            sl_bench_hist_record(&th->st.lat, (uint64_t)(now - r->sched_ns));
            th->st.last_done_ns = now;
        }
    }
    free(s->iter);
    s->iter = it ? strndup(it, il) : NULL;
    bool caught_up = recs == 0 && behind <= 0;
    if (!it || (!is_mixed && caught_up)) {
        s->done = true;
        if (--r->remaining == 0) {
            reader_done(th, r);
            return;
        }
    }
    if (is_mixed && recs == 0) r->wake_ns = now + 50000000LL; /* tail politely, like a KCL worker */
    r->cur = (r->cur + 1) % r->nshards;
}

static void req_complete(req_t *r, int status, const char *body, size_t len) {
    thread_t *th = r->conn->th;
    int64_t now = mono_ns();
    r->busy = false;
    if (status != 200 && status != -1 && measured(th, now)) {
        char kind[128];
        sl_bench_error_kind(status, body, len, kind, sizeof kind);
        sl_bench_stats_error(&th->st, kind);
    }
    switch (r->role) {
    case ROLE_PUT:
        if (status == 200 && measured(th, now)) count_put(th, r, body, len, now);
        else if (g_fill) atomic_fetch_add(&g_fill_left, r->body_records);
        push_idle(th, r);
        break;
    case ROLE_READ: complete_reader(th, r, status, body, len, now); break;
    case ROLE_SUB:
        /* A subscription ended (5 minutes, or an error): subscribe again shortly. */
        r->wake_ns = now + (status == 200 ? 0 : 1000000000LL);
        break;
    }
}

/* Feeds SubscribeToShard response bytes to the event-stream decoder; records put-to-consumer latency. */
static void sub_data(req_t *r, const uint8_t *data, size_t len) {
    thread_t *th = r->conn->th;
    sl_buf_append(&r->resp, data, len);
    size_t off = 0;
    for (;;) {
        sl_es_message_t msg;
        const char *reason;
        sl_arena_reset(&th->arena);
        int rc = sl_es_decode((const uint8_t *)r->resp.data + off, r->resp.len - off, &th->arena, &msg, &reason);
        if (rc == SL_EAGAIN) break;
        if (rc != 0) {
            sl_bench_stats_error(&th->st, "bad event stream");
            nghttp2_submit_rst_stream(r->conn->sess, NGHTTP2_FLAG_NONE, r->stream_id, NGHTTP2_CANCEL);
            r->resp.len = 0;
            return;
        }
        off += msg.total_len;
        const char *etype = "", *mtype = "";
        for (size_t i = 0; i < msg.header_count; i++) {
            if (strcmp(msg.headers[i].name, ":event-type") == 0 && msg.headers[i].str) etype = msg.headers[i].str;
            if (strcmp(msg.headers[i].name, ":message-type") == 0 && msg.headers[i].str) mtype = msg.headers[i].str;
            if (strcmp(msg.headers[i].name, ":exception-type") == 0 && msg.headers[i].str) etype = msg.headers[i].str;
        }
        if (strcmp(mtype, "exception") == 0) {
            char kind[96];
            snprintf(kind, sizeof kind, "event %s", etype);
            sl_bench_stats_error(&th->st, kind);
            continue;
        }
        if (strcmp(etype, "SubscribeToShardEvent") != 0) continue;
        int64_t now = mono_ns();
        const char *p = (const char *)msg.payload, *end = p + msg.payload_len;
        for (;;) {
            const char *d = memmem(p, (size_t)(end - p), "\"Data\":\"", 8);
            if (!d) break;
            d += 8;
            const char *q = memchr(d, '"', (size_t)(end - d));
            if (!q) break;
            p = q + 1;
            if (q - d < 28) continue;
            uint8_t raw[21];
            size_t rl;
            char bad;
            if (sl_base64_decode(d, 28, raw, &rl, &bad) != SL_B64_OK) continue;
            raw[20] = 0;
            long long sent = strtoll((const char *)raw, NULL, 10);
            if (measured(th, now) && sent > 0 && sent <= now) {
                sl_bench_hist_record(&th->st.e2e, (uint64_t)(now - sent));
                atomic_fetch_add_explicit(&th->st.read_records, 1, memory_order_relaxed);
                size_t n = (size_t)(q - d);
                atomic_fetch_add_explicit(&th->st.read_bytes, n / 4 * 3, memory_order_relaxed);
            }
        }
    }
    memmove(r->resp.data, r->resp.data + off, r->resp.len - off);
    r->resp.len -= off;
}

/* ---- reading ---- */

static void h1_readable(conn_t *c) {
    for (;;) {
        size_t want = c->need > c->in.len ? SL_MAX(c->need - c->in.len, (size_t)65536) : 65536;
        char *p = sl_buf_reserve(&c->in, want);
        if (!p) {
            conn_fail(c, "out of memory");
            return;
        }
        ssize_t n = read(c->fd, p, want);
        if (n == 0) {
            conn_fail(c, c->h1_req && c->h1_req->busy ? "connection closed" : NULL);
            return;
        }
        if (n < 0) {
            if (errno == EAGAIN) break;
            if (errno == EINTR) continue;
            conn_fail(c, "connection reset");
            return;
        }
        c->in.len += (size_t)n;
    }
    while (c->in.len > 0) {
        if (c->need && c->in.len < c->need) return;
        req_t *r = c->h1_req;
        if (!r || !r->busy) {
            conn_fail(c, "unexpected response bytes");
            return;
        }
        sl_bench_h1_resp_t hr;
        int pr = sl_bench_h1_parse(c->in.data, c->in.len, &hr, NULL);
        if (pr == 1 && hr.chunked) pr = sl_bench_h1_parse(c->in.data, c->in.len, &hr, &r->resp);
        if (pr < 0) {
            conn_fail(c, "malformed HTTP response");
            return;
        }
        if (pr == 0) {
            c->need = hr.need;
            return;
        }
        c->need = 0;
        c->h1_req = NULL;
        if (hr.chunked) {
            req_complete(r, hr.status, r->resp.data, r->resp.len);
        } else {
            /* The body is used where it was read (no copy), NUL-terminated for the duration. */
            if (!sl_buf_reserve(&c->in, 1)) {
                conn_fail(c, "out of memory");
                return;
            }
            char *body = c->in.data + hr.body_off;
            char saved = body[hr.body_len];
            body[hr.body_len] = 0;
            req_complete(r, hr.status, body, hr.body_len);
            if (c->fd < 0) return; /* the connection failed meanwhile (its input is gone) */
            body[hr.body_len] = saved;
        }
        if (hr.consumed < c->in.len) memmove(c->in.data, c->in.data + hr.consumed, c->in.len - hr.consumed);
        c->in.len -= hr.consumed;
        if (hr.close) {
            conn_fail(c, NULL);
            return;
        }
    }
}

static void h2_readable(conn_t *c) {
    uint8_t buf[262144];
    for (;;) {
        ssize_t n = read(c->fd, buf, sizeof buf);
        if (n == 0) {
            conn_fail(c, "connection closed");
            return;
        }
        if (n < 0) {
            if (errno == EAGAIN) break;
            if (errno == EINTR) continue;
            conn_fail(c, "connection reset");
            return;
        }
        if (nghttp2_session_mem_recv(c->sess, buf, (size_t)n) < 0) {
            conn_fail(c, "h2 protocol error");
            return;
        }
        if (!c->sess) return;
    }
    if (nghttp2_session_send(c->sess) != 0) {
        conn_fail(c, "connection reset");
        return;
    }
    if (!nghttp2_session_want_read(c->sess) && !nghttp2_session_want_write(c->sess)) conn_fail(c, "h2 goaway");
}

static void on_event(conn_t *c, uint32_t events) {
    if (c->fd < 0) return;
    if (!c->ready) {
        if (events & (EPOLLERR | EPOLLHUP)) {
            conn_fail(c, "connect failed");
            return;
        }
        if (!(events & EPOLLOUT)) return;
        conn_ready(c);
        if (!c->ready) return;
    }
    if (events & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP)) {
        if (c->h2) h2_readable(c);
        else h1_readable(c);
    }
    if (c->fd < 0) return;
    if (events & EPOLLOUT) {
        if (c->h2) {
            if (c->sess && nghttp2_session_send(c->sess) != 0) conn_fail(c, "connection reset");
        } else {
            h1_flush(c);
        }
    }
}

/* ---- threads ---- */

/* True while one of th's requests is in flight. */
static bool thread_busy(const thread_t *th) {
    for (int i = 0; i < th->nconns; i++)
        for (int j = 0; j < th->conns[i].nreqs; j++)
            if (th->conns[i].reqs[j].busy) return true;
    return false;
}

static void *thread_main(void *arg) {
    thread_t *th = arg;
    struct epoll_event evs[256];
    while (!atomic_load_explicit(&g_stop, memory_order_relaxed)) {
        int64_t now = mono_ns();
        if (now >= th->end_ns) break;
        if (th->cfg->workload == SL_BENCH_READ && th->readers_active == 0) break;
        if (g_fill && atomic_load(&g_fill_left) == 0 && !thread_busy(th)) break;
        int64_t next = dispatch(th, now);
        if (next > th->end_ns) next = th->end_ns;
        int64_t wait = next - now;
        if (wait > 100000000LL) wait = 100000000LL;
        if (wait < 0) wait = 0;
        struct timespec ts = {.tv_sec = wait / 1000000000LL, .tv_nsec = wait % 1000000000LL};
        int n = epoll_pwait2(th->ep, evs, 256, &ts, NULL);
        for (int i = 0; i < n; i++) on_event(evs[i].data.ptr, evs[i].events);
    }
    th->st.readers_left = th->readers_active;
    th->done = true;
    return NULL;
}

static int thread_init(thread_t *th, const sl_bench_cfg_t *cfg, int id, int64_t start) {
    th->id = id;
    th->cfg = cfg;
    th->ep = epoll_create1(EPOLL_CLOEXEC);
    th->rng = 0x243F6A8885A308D3ull ^ ((uint64_t)id * 0x9E3779B97F4A7C15ull) ^ (uint64_t)mono_ns();
    if (th->rng == 0) th->rng = 1;
    sl_arena_init(&th->arena, 1 << 16);
    th->sigs = calloc((size_t)(g_nbodies ? g_nbodies : 1), sizeof *th->sigs);
    int T = cfg->threads;
    int my_conns = cfg->connections / T + (id < cfg->connections % T ? 1 : 0);
    bool sub = cfg->workload == SL_BENCH_SUBSCRIBE;
    int my_sub_shards = 0;
    if (sub)
        for (int s = id; s < cfg->shard_count; s += T) my_sub_shards += cfg->consumers;
    th->nconns = my_conns + (my_sub_shards > 0 ? 1 : 0);
    th->conns = calloc((size_t)th->nconns, sizeof *th->conns);
    int depth = cfg->http2 ? cfg->depth : 1;
    int total_reqs = my_conns * depth + my_sub_shards;
    th->put_idle = calloc((size_t)total_reqs + 1, sizeof *th->put_idle);
    th->pollers = calloc((size_t)total_reqs + 1, sizeof *th->pollers);
    if (!th->sigs || !th->conns || !th->put_idle || !th->pollers || th->ep < 0) return SL_ENOMEM;
    /* Global slot numbering for the readers' shard ownership: slot g of all threads' slots. */
    int total_slots = cfg->connections * depth;
    int readers_total = cfg->workload == SL_BENCH_READ ? total_slots
                        : cfg->workload == SL_BENCH_MIXED ? total_slots / 2 : 0;
    for (int i = 0; i < th->nconns; i++) {
        conn_t *c = &th->conns[i];
        c->th = th;
        c->fd = -1;
        sl_buf_init(&c->in);
        c->sub_conn = i == my_conns;
        c->h2 = c->sub_conn ? true : cfg->http2;
        c->nreqs = c->sub_conn ? my_sub_shards : depth;
        c->reqs = calloc((size_t)c->nreqs, sizeof *c->reqs);
        if (!c->reqs) return SL_ENOMEM;
        int global_conn = id + i * T; /* connection i of thread id is global connection id + i*T */
        for (int j = 0; j < c->nreqs; j++) {
            req_t *r = &c->reqs[j];
            r->conn = c;
            sl_buf_init(&r->dyn);
            sl_buf_init(&r->resp);
            if (c->sub_conn) {
                r->role = ROLE_SUB;
                r->sub_shard = id + (j / cfg->consumers) * T;
                r->sub_consumer = j % cfg->consumers;
                th->pollers[th->npollers++] = r;
                continue;
            }
            int g = global_conn * depth + j;
            bool reader = cfg->workload == SL_BENCH_READ || (cfg->workload == SL_BENCH_MIXED && g % 2 == 1);
            if (!reader) {
                r->role = ROLE_PUT;
                continue;
            }
            r->role = ROLE_READ;
            int ridx = cfg->workload == SL_BENCH_MIXED ? g / 2 : g;
            if (ridx >= readers_total) {
                r->finished = true;
                continue;
            }
            for (int s = ridx; s < cfg->shard_count; s += readers_total) r->nshards++;
            if (r->nshards == 0) {
                r->finished = true;
                continue;
            }
            r->shards = calloc((size_t)r->nshards, sizeof *r->shards);
            int k = 0;
            for (int s = ridx; s < cfg->shard_count; s += readers_total) r->shards[k++].index = s;
            r->remaining = r->nshards;
            th->readers_active++;
            th->pollers[th->npollers++] = r;
        }
    }
    th->measure_ns = start + (int64_t)(cfg->warmup_s * 1e9);
    th->end_ns = th->measure_ns + (int64_t)(cfg->duration_s * 1e9);
    th->t0 = start;
    if (cfg->rate > 0) {
        int batch = cfg->workload == SL_BENCH_PUT_RECORDS || cfg->workload == SL_BENCH_MIXED ? cfg->batch : 1;
        double req_per_s = cfg->rate / batch / T;
        th->interval_ns = 1e9 / req_per_s;
    }
    for (int i = 0; i < th->nconns; i++) conn_connect(&th->conns[i], start);
    return 0;
}

static void thread_deinit(thread_t *th) {
    for (int i = 0; i < th->nconns; i++) {
        conn_t *c = &th->conns[i];
        if (c->fd >= 0) close(c->fd);
        if (c->sess) nghttp2_session_del(c->sess);
        for (int j = 0; j < c->nreqs; j++) {
            req_t *r = &c->reqs[j];
            sl_buf_free(&r->dyn);
            sl_buf_free(&r->resp);
            for (int k = 0; k < r->nshards; k++) free(r->shards[k].iter);
            free(r->shards);
        }
        free(c->reqs);
        sl_buf_free(&c->in);
    }
    free(th->conns);
    free(th->put_idle);
    free(th->pollers);
    free(th->sigs);
    sl_arena_deinit(&th->arena);
    close(th->ep);
}

static void merge(sl_bench_stats_t *into, sl_bench_stats_t *from) {
    into->requests += from->requests;
    into->records += from->records;
    into->bytes += from->bytes;
    into->read_records += from->read_records;
    into->read_bytes += from->read_bytes;
    into->err_other += from->err_other;
    into->readers_left += from->readers_left;
    for (int i = 0; i < from->err_count; i++) {
        bool found = false;
        for (int j = 0; j < into->err_count && !found; j++)
            if (strcmp(into->err[j].kind, from->err[i].kind) == 0) {
                into->err[j].count += from->err[i].count;
                found = true;
            }
        if (!found && into->err_count < SL_BENCH_ERROR_KINDS_MAX) into->err[into->err_count++] = from->err[i];
        else if (!found) into->err_other += from->err[i].count;
    }
    into->errors += from->errors;
    sl_bench_hist_merge(&into->lat, &from->lat);
    sl_bench_hist_merge(&into->e2e, &from->e2e);
    if (from->last_done_ns > into->last_done_ns) into->last_done_ns = from->last_done_ns;
}

static int resolve(const sl_bench_cfg_t *cfg) {
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    char port[16];
    snprintf(port, sizeof port, "%d", cfg->port);
    if (getaddrinfo(cfg->host, port, &hints, &res) != 0 || !res) return SL_EINVAL;
    memcpy(&g_addr, res->ai_addr, res->ai_addrlen);
    g_addrlen = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

int sl_bench_run(const sl_bench_cfg_t *cfg, sl_bench_stats_t *total, double *elapsed_s) {
    int rc = resolve(cfg);
    if (rc != 0) {
        fprintf(stderr, "sluice bench: cannot resolve %s\n", cfg->host);
        return rc;
    }
    if (cfg->workload == SL_BENCH_PUT_RECORD || cfg->workload == SL_BENCH_PUT_RECORDS ||
        cfg->workload == SL_BENCH_MIXED) {
        rc = build_bodies(cfg);
        if (rc != 0) return rc;
    }
    atomic_store(&g_stop, 0);
    thread_t *ths = calloc((size_t)cfg->threads, sizeof *ths);
    if (!ths) return SL_ENOMEM;
    int64_t start = mono_ns();
    int started = 0;
    for (int i = 0; i < cfg->threads; i++) {
        rc = thread_init(&ths[i], cfg, i, start);
        if (rc != 0) break;
    }
    for (int i = 0; rc == 0 && i < cfg->threads; i++) {
        if (pthread_create(&ths[i].tid, NULL, thread_main, &ths[i]) != 0) {
            rc = SL_EIO;
            break;
        }
        started++;
    }
    int64_t measure = start + (int64_t)(cfg->warmup_s * 1e9);
    int64_t end = measure + (int64_t)(cfg->duration_s * 1e9);
    uint64_t last_rec = 0, last_bytes = 0, last_rrec = 0;
    int64_t last_t = measure;
    int64_t next_print = start + 1000000000LL;
    bool tty = isatty(2);
    while (rc == 0) {
        struct timespec ts = {.tv_nsec = 50000000L};
        nanosleep(&ts, NULL);
        int64_t now = mono_ns();
        bool all_done = true;
        for (int i = 0; i < started; i++) all_done = all_done && ths[i].done;
        if (all_done || now >= end) break;
        if (now < next_print || cfg->quiet) continue;
        next_print += 1000000000LL;
        uint64_t rec = 0, bytes = 0, errs = 0, rrec = 0;
        for (int i = 0; i < started; i++) {
            rec += atomic_load_explicit(&ths[i].st.records, memory_order_relaxed);
            bytes += atomic_load_explicit(&ths[i].st.bytes, memory_order_relaxed);
            rrec += atomic_load_explicit(&ths[i].st.read_records, memory_order_relaxed);
            errs += atomic_load_explicit(&ths[i].st.errors, memory_order_relaxed);
        }
        double dt = (double)(now - last_t) / 1e9;
        if (now < measure) {
            fprintf(stderr, "%s[warmup %4.1fs]", tty ? "\r" : "", (double)(measure - now) / 1e9);
        } else {
            fprintf(stderr, "%s[%5.1fs] %10.0f records/s %9.2f MB/s", tty ? "\r" : "", (double)(now - measure) / 1e9,
                    (double)(rec - last_rec) / dt, (double)(bytes - last_bytes) / dt / 1e6);
            if (rrec) fprintf(stderr, " %10.0f read records/s", (double)(rrec - last_rrec) / dt);
            fprintf(stderr, "  errors %llu", (unsigned long long)errs);
            last_t = now;
        }
        fprintf(stderr, tty ? "   " : "\n");
        last_rec = rec, last_bytes = bytes, last_rrec = rrec;
    }
    atomic_store(&g_stop, 1);
    for (int i = 0; i < started; i++) pthread_join(ths[i].tid, NULL);
    if (!cfg->quiet && tty) fprintf(stderr, "\n");
    memset(total, 0, sizeof *total);
    for (int i = 0; i < cfg->threads; i++) {
        merge(total, &ths[i].st);
        thread_deinit(&ths[i]);
    }
    free(ths);
    free_bodies();
    int64_t stop = mono_ns();
    if (stop > end) stop = end;
    if (cfg->workload == SL_BENCH_READ && total->last_done_ns > measure && total->last_done_ns < stop)
        stop = total->last_done_ns;
    *elapsed_s = stop > measure ? (double)(stop - measure) / 1e9 : 0;
    return rc;
}

int sl_bench_fill(const sl_bench_cfg_t *cfg, uint64_t *records, uint64_t *bytes, double *elapsed_s) {
    sl_bench_cfg_t f = *cfg;
    f.workload = SL_BENCH_PUT_RECORDS;
    f.warmup_s = 0;
    f.duration_s = 7 * 86400; /* ends when every record is written */
    f.rate = 0;
    f.quiet = true;
    static sl_bench_stats_t st;
    g_fill = true;
    atomic_store(&g_fill_left, cfg->fill_records);
    int64_t t0 = mono_ns();
    int rc = sl_bench_run(&f, &st, elapsed_s);
    *elapsed_s = (double)(mono_ns() - t0) / 1e9;
    g_fill = false;
    *records = st.records;
    *bytes = st.bytes;
    if (rc == 0 && (atomic_load(&g_fill_left) != 0 || st.records != (uint64_t)cfg->fill_records)) rc = SL_EIO;
    return rc;
}
