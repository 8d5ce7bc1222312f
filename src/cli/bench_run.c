/* The load loop of `sluice bench`: cfg->threads threads, each with its own net event loop and an
 * outbound HTTP client (net/client.h) holding its share of the keep-alive connections (HTTP/1.1
 * with one request in flight per connection, or h2c prior knowledge with --depth concurrent streams
 * per connection), plus a second client for the SubscribeToShard streams (HTTP/2, one connection
 * per thread). Each thread has request slots, --depth per connection; a slot has a role: a writer
 * (PutRecord/PutRecords from a pool of pre-built, pre-hashed bodies whose signatures are cached per
 * second, so the tool spends its time on I/O, not on JSON or SHA-256), a reader (GetShardIterator
 * then GetRecords over the shards it owns), or a subscriber (SubscribeToShard over HTTP/2, decoding
 * the event stream). Open-loop mode hands out send tokens on a fixed schedule and measures latency
 * from the scheduled time, so a slow server cannot hide its queueing (no coordinated omission). */
#include "cli/bench_internal.h"

#include "core/arena.h"
#include "core/common.h"
#include "net/client.h"
#include "net/hrtimer.h"
#include "wire/base64.h"
#include "wire/eventstream.h"
#include "wire/json.h"
#include "wire/sigv4.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

typedef struct {
    char *iter;
    bool done;
    int index; /* into cfg->shard_ids */
} shard_state_t;

typedef struct req {
    thread_t *th;
    role_t role;
    bool busy;
    bool in_idle;
    op_t op;
    sl_http_call_t *call; /* while busy */
    int status;           /* subscriber: the response status (from the head) */
    int64_t sched_ns;
    int body_records;
    /* The body being sent: a pool body or dyn (borrowed by the client until completion). */
    const char *send_body;
    size_t send_len;
    sl_buf_t dyn;
    sl_buf_t resp; /* subscriber: event-stream bytes not yet decoded, or an error body */
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

struct thread {
    int id;
    pthread_t tid;
    const sl_bench_cfg_t *cfg;
    sl_loop_t *loop;
    sl_http_client_t *http;     /* writers and readers */
    sl_http_client_t *sub_http; /* subscribers: their own HTTP/2 connection */
    sl_hrtimer_t *tick;         /* nanosecond deadline: open-loop tokens leave on time */
    int64_t tick_ns;            /* when tick fires, if tick_armed */
    bool tick_armed;
    bool stopping; /* the loop ended: completions only release slots */
    req_t *reqs;
    int nreqs;
    int inflight;
    req_t **put_idle;
    int put_idle_n;
    req_t **put_wait; /* writers backing off after a transport error */
    int put_wait_n;
    req_t **pollers; /* readers and subscribers, checked on every dispatch */
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
static char g_origin[300]; /* http://host:port */

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

/* A PutRecord body (single) or a PutRecords body of batch records of cfg->record_size random bytes.
 */
static void build_put_body(sl_buf_t *b, const sl_bench_cfg_t *cfg, bool single, int batch,
                           uint64_t *rng) {
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
    for (int i = 0; i < g_nbodies; i++)
        free(g_bodies[i].data);
    free(g_bodies);
    g_bodies = NULL;
    g_nbodies = 0;
}

/* ---- issuing requests ---- */

static void req_complete(req_t *r, int status, const char *body, size_t len);
static void sub_data(req_t *r, const uint8_t *data, size_t len);
static void after_completion(thread_t *th);

static void push_idle(thread_t *th, req_t *r) {
    if (r->role != ROLE_PUT || r->in_idle) return;
    r->in_idle = true;
    th->put_idle[th->put_idle_n++] = r;
}

static const char *target_of(op_t op, const sl_bench_cfg_t *cfg) {
    switch (op) {
    case OP_PUT:
        return cfg->workload == SL_BENCH_PUT_RECORD || cfg->workload == SL_BENCH_SUBSCRIBE
                   ? "Kinesis_20131202.PutRecord"
                   : "Kinesis_20131202.PutRecords";
    case OP_GSI:
        return "Kinesis_20131202.GetShardIterator";
    case OP_GET:
        return "Kinesis_20131202.GetRecords";
    case OP_SUB:
        return "Kinesis_20131202.SubscribeToShard";
    default:
        return "";
    }
}

/* A slot whose call failed in transport waits before it tries again (writers 50 ms, others 100 ms),
 * so a server that is down is not hammered. */
static void back_off(req_t *r, int64_t now) {
    thread_t *th = r->th;
    if (r->role != ROLE_PUT) {
        r->wake_ns = now + 100000000LL;
        return;
    }
    if (g_fill) atomic_fetch_add(&g_fill_left, r->body_records);
    r->wake_ns = now + 50000000LL;
    th->put_wait[th->put_wait_n++] = r;
}

static void on_done(sl_http_call_t *call, const sl_http_client_resp_t *resp, void *arg) {
    (void)call;
    req_t *r = arg;
    thread_t *th = r->th;
    r->call = NULL;
    r->busy = false;
    th->inflight--;
    if (th->stopping) return;
    int64_t now = mono_ns();
    if (resp->error) {
        if (now >= th->measure_ns) {
            char kind[64];
            if (resp->error == SL_HTTPC_ESTREAM)
                snprintf(kind, sizeof kind, "h2 stream reset (%u)", resp->h2_error);
            else
                snprintf(kind, sizeof kind, "%s", sl_http_client_strerror(resp->error));
            sl_bench_stats_error(&th->st, kind);
        }
        back_off(r, now);
    } else if (r->op == OP_SUB) {
        req_complete(r, resp->status, r->resp.data, r->resp.len);
    } else {
        req_complete(r, resp->status, (const char *)resp->body, resp->body_len);
    }
    after_completion(th);
}

static void sub_on_head(sl_http_call_t *call, const sl_http_client_resp_t *resp, void *arg) {
    (void)call;
    req_t *r = arg;
    r->status = resp->status;
}

static void sub_on_data(sl_http_call_t *call, const uint8_t *data, size_t len, void *arg) {
    (void)call;
    req_t *r = arg;
    if (r->status != 200) {
        sl_buf_append(&r->resp, data, len);
        return;
    }
    sub_data(r, data, len);
    if (!r->busy) after_completion(r->th); /* the subscription was given up: subscribe again */
}

/* Sends r's prepared body (send_body/send_len) as op with the given date and Authorization. */
static void req_send(req_t *r, const char *amz_date, const char *auth) {
    thread_t *th = r->th;
    const sl_bench_cfg_t *cfg = th->cfg;
    const char *target = target_of(r->op, cfg);
    bool sub = r->op == OP_SUB;
    sl_http_header_t hs[] = {
        {"host", 4, cfg->authority, strlen(cfg->authority)},
        {"content-type", 12, "application/x-amz-json-1.1", 26},
        {"x-amz-target", 12, target, strlen(target)},
        {"x-amz-date", 10, amz_date, strlen(amz_date)},
        {"authorization", 13, auth, strlen(auth)},
    };
    sl_http_client_req_t q = {
        .origin = g_origin,
        .version = sub || cfg->http2 ? SL_HTTPC_HTTP2 : SL_HTTPC_HTTP1,
        .method = "POST",
        .path = "/",
        .headers = hs,
        .header_count = SL_ARRAY_LEN(hs),
        .body = r->send_body,
        .body_len = r->send_len,
        .timeout_ms = -1, /* as long as it takes: the report shows latency, not timeouts */
        .on_head = sub ? sub_on_head : NULL,
        .on_data = sub ? sub_on_data : NULL,
        .on_done = on_done,
        .arg = r,
    };
    r->status = 0;
    sl_buf_reset(&r->resp);
    if (sl_http_client_submit(sub ? th->sub_http : th->http, &q, &r->call) != 0) {
        sl_bench_stats_error(&th->st, "submit failed");
        back_off(r, mono_ns());
        return;
    }
    r->busy = true;
    th->inflight++;
}

static void sign_and_send(req_t *r, const char *sha, sigcache_t *cache) {
    thread_t *th = r->th;
    int64_t sec = real_s();
    if (cache && cache->sec == sec) {
        req_send(r, cache->amz_date, cache->auth);
        return;
    }
    sigcache_t local, *sc = cache ? cache : &local;
    if (sl_bench_sign(&th->signer, th->cfg, target_of(r->op, th->cfg), sha, sec, sc->amz_date,
                      sc->auth, sizeof sc->auth) != 0) {
        sl_bench_stats_error(&th->st, "signing failed");
        return;
    }
    sc->sec = sec;
    req_send(r, sc->amz_date, sc->auth);
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
    thread_t *th = r->th;
    r->sched_ns = sched;
    r->op = OP_PUT;
    if (th->cfg->workload == SL_BENCH_SUBSCRIBE) {
        /* The record carries its send time, so the subscriber can measure put-to-consumer latency.
         */
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
        sl_buf_printf(&r->dyn, "\",\"PartitionKey\":\"%016llx\"}",
                      (unsigned long long)rng_next(&th->rng));
        r->body_records = 1;
        send_json(r, OP_PUT);
        return;
    }
    if (g_fill) {
        /* Claim up to a batch of the records still to write; a short last batch gets its own body.
         */
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
    const sl_bench_cfg_t *cfg = r->th->cfg;
    for (int tries = 0; tries < r->nshards; tries++) {
        shard_state_t *s = &r->shards[r->cur];
        if (s->done) {
            r->cur = (r->cur + 1) % r->nshards;
            continue;
        }
        r->sched_ns = now;
        sl_buf_reset(&r->dyn);
        if (!s->iter) {
            sl_buf_printf(&r->dyn,
                          "{\"StreamName\":\"%s\",\"ShardId\":\"%s\",\"ShardIteratorType\":\"%s\"}",
                          cfg->stream, cfg->shard_ids[s->index],
                          cfg->workload == SL_BENCH_MIXED ? "LATEST" : "TRIM_HORIZON");
            send_json(r, OP_GSI);
        } else {
            sl_buf_printf(&r->dyn, "{\"ShardIterator\":\"%s\",\"Limit\":%d}", s->iter,
                          cfg->get_limit);
            send_json(r, OP_GET);
        }
        return;
    }
}

static void issue_sub(req_t *r) {
    const sl_bench_cfg_t *cfg = r->th->cfg;
    sl_buf_reset(&r->dyn);
    sl_buf_printf(
        &r->dyn,
        "{\"ConsumerARN\":\"%s\",\"ShardId\":\"%s\",\"StartingPosition\":{\"Type\":\"LATEST\"}}",
        cfg->consumer_arns[r->sub_consumer], cfg->shard_ids[r->sub_shard]);
    r->sched_ns = mono_ns();
    send_json(r, OP_SUB);
}

/* Hands send tokens to idle writers and wakes due readers/subscribers. Returns the next time
 * something is due (or INT64_MAX). */
static int64_t dispatch(thread_t *th, int64_t now) {
    int64_t next = INT64_MAX;
    for (int i = 0; i < th->put_wait_n;) {
        req_t *r = th->put_wait[i];
        if (r->wake_ns > now) {
            if (r->wake_ns < next) next = r->wake_ns;
            i++;
            continue;
        }
        th->put_wait[i] = th->put_wait[--th->put_wait_n];
        push_idle(th, r);
    }
    while (th->put_idle_n > 0) {
        req_t *r = th->put_idle[th->put_idle_n - 1];
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
        if (r->busy || r->finished) continue;
        if (r->wake_ns > now) {
            if (r->wake_ns < next) next = r->wake_ns;
            continue;
        }
        if (r->role == ROLE_READ)
            issue_reader(r, now);
        else
            issue_sub(r);
    }
    return next;
}

/* ---- completions ---- */

static bool measured(thread_t *th, int64_t now) {
    return now >= th->measure_ns && now <= th->end_ns;
}

/* Counts the records of a GetRecords answer and their decoded data bytes, and finds the next
 * iterator and MillisBehindLatest, by scanning (the base64 data cannot contain quotes). */
static void scan_get(const char *b, size_t len, uint64_t *records, uint64_t *bytes,
                     const char **iter, size_t *iter_len, long long *behind) {
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
    if (r->body_records > 1 || th->cfg->workload == SL_BENCH_PUT_RECORDS ||
        th->cfg->workload == SL_BENCH_MIXED) {
        const char *f = body ? memmem(body, len, "\"FailedRecordCount\":", 20) : NULL;
        if (!f) {
            sl_bench_stats_error(&th->st, "bad PutRecords response");
            return;
        }
        /* The count's digits, bounded by the body (it is not NUL-terminated); no overflow. */
        for (const char *d = f + 20; d < body + len && *d >= '0' && *d <= '9' && failed < 1000000;
             d++)
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
    atomic_fetch_add_explicit(&th->st.bytes, (uint64_t)ok * (uint64_t)th->cfg->record_size,
                              memory_order_relaxed);
    sl_bench_hist_record(&th->st.lat, (uint64_t)(now - r->sched_ns));
    th->st.last_done_ns = now;
}

static void reader_done(thread_t *th, req_t *r) {
    r->finished = true;
    th->readers_active--;
}

static void complete_reader(thread_t *th, req_t *r, int status, const char *body, size_t len,
                            int64_t now) {
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
        atomic_fetch_add_explicit(is_mixed ? &th->st.read_records : &th->st.records, recs,
                                  memory_order_relaxed);
        atomic_fetch_add_explicit(is_mixed ? &th->st.read_bytes : &th->st.bytes, bytes,
                                  memory_order_relaxed);
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
    thread_t *th = r->th;
    int64_t now = mono_ns();
    if (status != 200 && measured(th, now)) {
        char kind[128];
        sl_bench_error_kind(status, body, len, kind, sizeof kind);
        sl_bench_stats_error(&th->st, kind);
    }
    switch (r->role) {
    case ROLE_PUT:
        if (status == 200 && measured(th, now))
            count_put(th, r, body, len, now);
        else if (g_fill)
            atomic_fetch_add(&g_fill_left, r->body_records);
        push_idle(th, r);
        break;
    case ROLE_READ:
        complete_reader(th, r, status, body, len, now);
        break;
    case ROLE_SUB:
        /* A subscription ended (5 minutes, or an error): subscribe again shortly. */
        r->wake_ns = now + (status == 200 ? 0 : 1000000000LL);
        break;
    }
}

/* Feeds SubscribeToShard response bytes to the event-stream decoder; records put-to-consumer
 * latency. */
static void sub_data(req_t *r, const uint8_t *data, size_t len) {
    thread_t *th = r->th;
    sl_buf_append(&r->resp, data, len);
    size_t off = 0;
    for (;;) {
        sl_es_message_t msg;
        const char *reason;
        sl_arena_reset(&th->arena);
        int rc = sl_es_decode((const uint8_t *)r->resp.data + off, r->resp.len - off, &th->arena,
                              &msg, &reason);
        if (rc == SL_EAGAIN) break;
        if (rc != 0) {
            /* Give up on this subscription (its stream is reset) and subscribe again. */
            sl_bench_stats_error(&th->st, "bad event stream");
            sl_http_client_cancel(r->call);
            r->call = NULL;
            r->busy = false;
            th->inflight--;
            r->resp.len = 0;
            r->wake_ns = 0;
            return;
        }
        off += msg.total_len;
        const char *etype = "", *mtype = "";
        for (size_t i = 0; i < msg.header_count; i++) {
            if (strcmp(msg.headers[i].name, ":event-type") == 0 && msg.headers[i].str)
                etype = msg.headers[i].str;
            if (strcmp(msg.headers[i].name, ":message-type") == 0 && msg.headers[i].str)
                mtype = msg.headers[i].str;
            if (strcmp(msg.headers[i].name, ":exception-type") == 0 && msg.headers[i].str)
                etype = msg.headers[i].str;
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

/* ---- threads ---- */

static bool should_stop(thread_t *th, int64_t now) {
    if (atomic_load_explicit(&g_stop, memory_order_relaxed) || now >= th->end_ns) return true;
    if (th->cfg->workload == SL_BENCH_READ && th->readers_active == 0) return true;
    return g_fill && atomic_load(&g_fill_left) == 0 && th->inflight == 0;
}

static void tick(void *arg);

/* Makes the tick fire at `next` (ns) at the latest: at most 100 ms ahead, so a stop is seen soon.
 */
static void arm_tick(thread_t *th, int64_t next, int64_t now) {
    if (next > th->end_ns) next = th->end_ns;
    if (next > now + 100000000LL) next = now + 100000000LL;
    if (next < now) next = now;
    if (th->tick_armed && th->tick_ns <= next) return;
    sl_hrtimer_arm(th->tick, next);
    th->tick_ns = next;
    th->tick_armed = true;
}

static void tick(void *arg) {
    thread_t *th = arg;
    th->tick_armed = false;
    int64_t now = mono_ns();
    if (should_stop(th, now)) {
        sl_loop_stop(th->loop);
        return;
    }
    arm_tick(th, dispatch(th, now), now);
}

/* After a completion: stop, or hand out what is due now (closed loop: the next request at once). */
static void after_completion(thread_t *th) {
    int64_t now = mono_ns();
    if (should_stop(th, now)) {
        sl_loop_stop(th->loop);
        return;
    }
    arm_tick(th, dispatch(th, now), now);
}

static void *thread_main(void *arg) {
    thread_t *th = arg;
    const sl_bench_cfg_t *cfg = th->cfg;
    int T = cfg->threads;
    int my_conns = cfg->connections / T + (th->id < cfg->connections % T ? 1 : 0);
    sl_http_client_config_t hc = {
        .connections_per_origin = SL_MAX(my_conns, 1),
        .h2_streams_max = cfg->http2 ? cfg->depth : 1,
        .timeout_ms = -1,
    };
    sl_http_client_config_t sc = {
        .connections_per_origin = 1, .h2_streams_max = SL_MAX(th->nreqs, 1), .timeout_ms = -1};
    if (sl_loop_create(&th->loop) != 0 || sl_http_client_create(th->loop, &hc, &th->http) != 0 ||
        sl_http_client_create(th->loop, &sc, &th->sub_http) != 0) {
        sl_bench_stats_error(&th->st, "out of memory");
    } else {
        if (sl_hrtimer_create(th->loop, tick, th, &th->tick) == 0) {
            arm_tick(th, mono_ns(), mono_ns());
            sl_loop_run(th->loop);
        } else {
            sl_bench_stats_error(&th->st, "cannot create a timer");
        }
    }
    th->stopping = true;
    sl_http_client_destroy(th->http);
    sl_http_client_destroy(th->sub_http);
    th->http = th->sub_http = NULL;
    sl_hrtimer_destroy(th->tick);
    th->tick = NULL;
    if (th->loop) sl_loop_destroy(th->loop);
    th->loop = NULL;
    th->st.readers_left = th->readers_active;
    th->done = true;
    return NULL;
}

static int thread_init(thread_t *th, const sl_bench_cfg_t *cfg, int id, int64_t start) {
    th->id = id;
    th->cfg = cfg;
    th->rng = 0x243F6A8885A308D3ull ^ ((uint64_t)id * 0x9E3779B97F4A7C15ull) ^ (uint64_t)mono_ns();
    if (th->rng == 0) th->rng = 1;
    sl_arena_init(&th->arena, 1 << 16);
    th->sigs = calloc((size_t)(g_nbodies ? g_nbodies : 1), sizeof *th->sigs);
    int T = cfg->threads;
    int my_conns = cfg->connections / T + (id < cfg->connections % T ? 1 : 0);
    bool sub = cfg->workload == SL_BENCH_SUBSCRIBE;
    int my_sub_shards = 0;
    if (sub)
        for (int s = id; s < cfg->shard_count; s += T)
            my_sub_shards += cfg->consumers;
    int depth = cfg->http2 ? cfg->depth : 1;
    th->nreqs = my_conns * depth + my_sub_shards;
    th->reqs = calloc((size_t)th->nreqs + 1, sizeof *th->reqs);
    th->put_idle = calloc((size_t)th->nreqs + 1, sizeof *th->put_idle);
    th->put_wait = calloc((size_t)th->nreqs + 1, sizeof *th->put_wait);
    th->pollers = calloc((size_t)th->nreqs + 1, sizeof *th->pollers);
    if (!th->sigs || !th->reqs || !th->put_idle || !th->put_wait || !th->pollers) return SL_ENOMEM;
    /* Global slot numbering for the readers' shard ownership: slot g of all threads' slots. */
    int total_slots = cfg->connections * depth;
    int readers_total = cfg->workload == SL_BENCH_READ    ? total_slots
                        : cfg->workload == SL_BENCH_MIXED ? total_slots / 2
                                                          : 0;
    for (int k = 0; k < th->nreqs; k++) {
        req_t *r = &th->reqs[k];
        r->th = th;
        sl_buf_init(&r->dyn);
        sl_buf_init(&r->resp);
        if (k >= my_conns * depth) {
            int j = k - my_conns * depth;
            r->role = ROLE_SUB;
            r->sub_shard = id + (j / cfg->consumers) * T;
            r->sub_consumer = j % cfg->consumers;
            th->pollers[th->npollers++] = r;
            continue;
        }
        int i = k / depth, j = k % depth;
        int global_conn = id + i * T; /* connection i of thread id is global connection id + i*T */
        int g = global_conn * depth + j;
        bool reader =
            cfg->workload == SL_BENCH_READ || (cfg->workload == SL_BENCH_MIXED && g % 2 == 1);
        if (!reader) {
            r->role = ROLE_PUT;
            push_idle(th, r);
            continue;
        }
        r->role = ROLE_READ;
        int ridx = cfg->workload == SL_BENCH_MIXED ? g / 2 : g;
        if (ridx >= readers_total) {
            r->finished = true;
            continue;
        }
        for (int s = ridx; s < cfg->shard_count; s += readers_total)
            r->nshards++;
        if (r->nshards == 0) {
            r->finished = true;
            continue;
        }
        r->shards = calloc((size_t)r->nshards, sizeof *r->shards);
        if (!r->shards) return SL_ENOMEM;
        int n = 0;
        for (int s = ridx; s < cfg->shard_count; s += readers_total)
            r->shards[n++].index = s;
        r->remaining = r->nshards;
        th->readers_active++;
        th->pollers[th->npollers++] = r;
    }
    th->measure_ns = start + (int64_t)(cfg->warmup_s * 1e9);
    th->end_ns = th->measure_ns + (int64_t)(cfg->duration_s * 1e9);
    th->t0 = start;
    if (cfg->rate > 0) {
        int batch = cfg->workload == SL_BENCH_PUT_RECORDS || cfg->workload == SL_BENCH_MIXED
                        ? cfg->batch
                        : 1;
        double req_per_s = cfg->rate / batch / T;
        th->interval_ns = 1e9 / req_per_s;
    }
    return 0;
}

static void thread_deinit(thread_t *th) {
    for (int k = 0; k < th->nreqs && th->reqs; k++) {
        req_t *r = &th->reqs[k];
        sl_buf_free(&r->dyn);
        sl_buf_free(&r->resp);
        for (int s = 0; s < r->nshards; s++)
            free(r->shards[s].iter);
        free(r->shards);
    }
    free(th->reqs);
    free(th->put_idle);
    free(th->put_wait);
    free(th->pollers);
    free(th->sigs);
    sl_arena_deinit(&th->arena);
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
        if (!found && into->err_count < SL_BENCH_ERROR_KINDS_MAX)
            into->err[into->err_count++] = from->err[i];
        else if (!found)
            into->err_other += from->err[i].count;
    }
    into->errors += from->errors;
    sl_bench_hist_merge(&into->lat, &from->lat);
    sl_bench_hist_merge(&into->e2e, &from->e2e);
    if (from->last_done_ns > into->last_done_ns) into->last_done_ns = from->last_done_ns;
}

/* The origin the clients connect to (an IPv6 literal goes in brackets). */
static int resolve(const sl_bench_cfg_t *cfg) {
    bool v6 = strchr(cfg->host, ':') != NULL;
    int n = snprintf(g_origin, sizeof g_origin, v6 ? "http://[%s]:%d" : "http://%s:%d", cfg->host,
                     cfg->port);
    return n > 0 && n < (int)sizeof g_origin ? 0 : SL_EINVAL;
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
        for (int i = 0; i < started; i++)
            all_done = all_done && ths[i].done;
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
            fprintf(stderr, "%s[%5.1fs] %10.0f records/s %9.2f MB/s", tty ? "\r" : "",
                    (double)(now - measure) / 1e9, (double)(rec - last_rec) / dt,
                    (double)(bytes - last_bytes) / dt / 1e6);
            if (rrec) fprintf(stderr, " %10.0f read records/s", (double)(rrec - last_rrec) / dt);
            fprintf(stderr, "  errors %llu", (unsigned long long)errs);
            last_t = now;
        }
        fprintf(stderr, tty ? "   " : "\n");
        last_rec = rec, last_bytes = bytes, last_rrec = rrec;
    }
    atomic_store(&g_stop, 1);
    for (int i = 0; i < started; i++)
        pthread_join(ths[i].tid, NULL);
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
    if (cfg->workload == SL_BENCH_READ && total->last_done_ns > measure &&
        total->last_done_ns < stop)
        stop = total->last_done_ns;
    *elapsed_s = stop > measure ? (double)(stop - measure) / 1e9 : 0;
    return rc;
}

int sl_bench_fill(const sl_bench_cfg_t *cfg, uint64_t *records, uint64_t *bytes,
                  double *elapsed_s) {
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
    if (rc == 0 && (atomic_load(&g_fill_left) != 0 || st.records != (uint64_t)cfg->fill_records))
        rc = SL_EIO;
    return rc;
}
