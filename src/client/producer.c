/* libsluice producer: the Kinesis Producer Library's pipeline in one loop thread (the client's).
 *
 *   put (any thread) -> inbox -> per-shard queue (routed by MD5(partition key) or the explicit
 *   hash key against the shard map from ListShards) -> when a queue is due (its oldest record's
 *   RecordMaxBufferedTime passed, it holds a full request, or flush) -> KPL aggregates of up to
 *   AggregationMaxSize/Count (a container of one record goes plain) -> per-shard token buckets
 *   (RateLimit % of 1000 records/s and 1 MiB/s) -> PutRecords of up to CollectionMaxCount/Size ->
 *   per record: success completes it; a throttled or failed record goes back to its queue after an
 *   exponential backoff with jitter (or fails at once: FailIfThrottled, or an error a retry cannot
 *   fix); a request that failed as a whole (connection, timeout, 5xx) is sent again unchanged,
 *   with the same idempotency key, so a server that remembers keys stores it once.
 * Every accepted record completes exactly once: stored, failed, or expired after RecordTtl.
 * Ownership: user records belong to the producer from put until their completion; the loop
 * thread owns the queues, the shard map and requests in flight; the inbox and the counters are
 * shared under `mu`. */
#include "client/internal.h"

#include "core/arena.h"
#include "core/buf.h"
#include "core/common.h"
#include "core/limits.h"
#include "wire/enc.h"
#include "wire/json.h"
#include "wire/kpl.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct urec urec_t;
/* One user record; pk, ehk and data live in the same allocation. */
struct urec {
    urec_t *next;
    sl_put_fn done;
    void *arg;
    u128_t hash;
    int64_t deadline_ms; /* buffered until */
    int64_t expire_ms;   /* RecordTtl */
    int64_t retry_at_ms;
    int attempts;
    char *pk;
    size_t pk_len;
    char *ehk; /* NULL when none */
    size_t ehk_len;
    uint8_t *data;
    size_t len;
    char last_error[96];
};

typedef struct {
    urec_t *head, *tail;
    size_t count, bytes;
} queue_t;

typedef struct {
    char id[64];
    u128_t start, end;
    queue_t q;
    double record_tokens, byte_tokens;
    int64_t refill_ms;
} shard_t;

typedef struct {
    urec_t *recs; /* chained through next, in aggregate order */
    size_t count;
    bool aggregated;
    size_t bytes;      /* data + partition key, as the shard's byte limit counts them */
    char shard_id[64]; /* predicted */
} entry_t;

/* Shards of a map being loaded. */
typedef struct {
    shard_t *items;
    size_t count, cap;
} map_acc_t;

typedef struct request request_t;
struct request {
    sl_producer_t *p;
    entry_t *entries;
    size_t count, bytes;
    sl_buf_t body;
    char key[48];
    int sends;
    sl_timer_t *timer;
    request_t *next_waiting;
};

struct sl_producer {
    sl_client_t *client;
    char *stream;
    sl_producer_config_t cfg;
    /* shared, under mu */
    pthread_mutex_t mu;
    pthread_cond_t cond;
    urec_t *inbox_head, *inbox_tail;
    bool inbox_posted;
    bool closing;
    bool map_tried; /* the first shard-map load ended (create waits for it) */
    size_t outstanding;
    sl_producer_stats_t stats;
    /* loop thread */
    shard_t *shards; /* sorted by start */
    size_t shard_count;
    shard_t unknown; /* records while the map is not known (sent plain, no limiter) */
    bool map_loading;
    int64_t map_retry_ms;
    bool map_stale;
    map_acc_t acc;             /* pages of ListShards until the last one */
    struct teardown *teardown; /* sl_producer_destroy waits for a map load */
    urec_t *retry_head;        /* unordered, each with retry_at_ms */
    int in_flight;
    sl_timer_t *timer;
    int64_t timer_at_ms;
    bool flush_requested;
    sl_kpl_builder_t *builder;
    sl_buf_t agg;
    uint64_t key_counter;
    char key_prefix[24];
    unsigned int seed;
};

static void pump(sl_producer_t *p);

/* ---- 128-bit hash keys ---- */

bool sl_client_u128_parse(const char *s, size_t n, u128_t *out) {
    if (n == 0 || n > 39) return false;
    u128_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        u128_t next = v * 10 + (unsigned)(s[i] - '0');
        if ((next - (unsigned)(s[i] - '0')) / 10 != v) return false;
        v = next;
    }
    *out = v;
    return true;
}

static void u128_format(u128_t v, char out[40]) {
    char tmp[40];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + (int)(v % 10));
        v /= 10;
    } while (v);
    for (int i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    out[n] = 0;
}

u128_t sl_client_md5_key(const char *pk, size_t len) {
    uint8_t d[EVP_MAX_MD_SIZE];
    unsigned int dl = 0;
    EVP_Digest(pk, len, d, &dl, EVP_md5(), NULL);
    u128_t v = 0;
    for (int i = 0; i < 16; i++)
        v = v << 8 | d[i];
    return v;
}

/* ---- queues ---- */

static void q_push(queue_t *q, urec_t *r) {
    r->next = NULL;
    if (q->tail)
        q->tail->next = r;
    else
        q->head = r;
    q->tail = r;
    q->count++;
    q->bytes += r->len + r->pk_len;
}

static urec_t *q_pop(queue_t *q) {
    urec_t *r = q->head;
    if (!r) return NULL;
    q->head = r->next;
    if (!q->head) q->tail = NULL;
    q->count--;
    q->bytes -= r->len + r->pk_len;
    r->next = NULL;
    return r;
}

static void q_push_front(queue_t *q, urec_t *r) {
    r->next = q->head;
    q->head = r;
    if (!q->tail) q->tail = r;
    q->count++;
    q->bytes += r->len + r->pk_len;
}

static shard_t *route(sl_producer_t *p, u128_t h) {
    size_t lo = 0, hi = p->shard_count;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (p->shards[mid].end < h)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < p->shard_count && p->shards[lo].start <= h) return &p->shards[lo];
    return &p->unknown;
}

/* ---- completion ---- */

static void complete(sl_producer_t *p, urec_t *r, const sl_put_result_t *res) {
    r->done(res, r->arg);
    free(r);
    pthread_mutex_lock(&p->mu);
    p->outstanding--;
    if (res->error == 0)
        p->stats.user_records_put++;
    else
        p->stats.user_records_failed++;
    if (p->outstanding == 0) pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->mu);
}

static void fail(sl_producer_t *p, urec_t *r, int error, const char *code, const char *message) {
    sl_put_result_t res = {
        .error = error, .error_code = code, .error_message = message, .attempts = r->attempts};
    complete(p, r, &res);
}

static void expire(sl_producer_t *p, urec_t *r) {
    char msg[160];
    snprintf(msg, sizeof msg, "Record has reached expiration%s%s", r->last_error[0] ? ": " : "",
             r->last_error);
    fail(p, r, SLUICE_EEXPIRED, "Expired", msg);
}

/* Throttling and server-side trouble are worth a retry; anything else a retry cannot fix. */
static bool retryable(const char *code, int status) {
    if (status >= 500 || status == 0) return true;
    return !strcmp(code, "ProvisionedThroughputExceededException") ||
           !strcmp(code, "LimitExceededException") || !strcmp(code, "ThrottlingException") ||
           !strcmp(code, "InternalFailure") || !strcmp(code, "ServiceUnavailable") ||
           !strcmp(code, "KMSThrottlingException") || !strcmp(code, "RequestExpired");
}

static int64_t backoff_ms(sl_producer_t *p, int attempts) {
    int64_t b = SL_PRODUCER_BACKOFF_BASE_MS;
    for (int i = 1; i < attempts && b < SL_PRODUCER_BACKOFF_MAX_MS; i++)
        b *= 2;
    if (b > SL_PRODUCER_BACKOFF_MAX_MS) b = SL_PRODUCER_BACKOFF_MAX_MS;
    return b / 2 + rand_r(&p->seed) % (b / 2 + 1); /* jitter over the upper half */
}

/* A record that failed in a request that otherwise worked: back to its queue after a backoff. */
static void retry_record(sl_producer_t *p, urec_t *r, const char *code, const char *message,
                         int status) {
    snprintf(r->last_error, sizeof r->last_error, "%s %s", code, message);
    if (!retryable(code, status) ||
        (p->cfg.fail_if_throttled && !strcmp(code, "ProvisionedThroughputExceededException"))) {
        fail(p, r, SLUICE_ESERVICE, code, message);
        return;
    }
    int64_t now = sl_client_now_ms();
    if (now >= r->expire_ms) {
        expire(p, r);
        return;
    }
    r->retry_at_ms = now + backoff_ms(p, r->attempts);
    r->next = p->retry_head;
    p->retry_head = r;
    pthread_mutex_lock(&p->mu);
    p->stats.retries++;
    pthread_mutex_unlock(&p->mu);
}

/* ---- the shard map ---- */

static void map_done(const sl_client_response_t *resp, void *arg);

typedef struct teardown {
    sl_producer_t *p;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    bool done;
} teardown_t;

/* After a map load ended: wakes sl_producer_destroy if it waits for it. */
static bool teardown_signal(sl_producer_t *p) {
    teardown_t *t = p->teardown;
    if (!t) return false;
    pthread_mutex_lock(&t->mu);
    t->done = true;
    pthread_cond_signal(&t->cond);
    pthread_mutex_unlock(&t->mu);
    return true;
}

static void map_load(sl_producer_t *p, const char *next_token) {
    sl_buf_t b = SL_BUF_INIT;
    sl_enc_t e;
    sl_enc_init(&e, &b, SL_FMT_JSON);
    sl_enc_map_begin(&e);
    if (next_token)
        sl_enc_kv_cstr(&e, "NextToken", next_token);
    else
        sl_enc_kv_cstr(&e, "StreamName", p->stream);
    sl_enc_map_end(&e);
    p->map_loading = true;
    if (sl_buf_failed(&b) ||
        sl_client_call(p->client, "ListShards", b.data, b.len, NULL, map_done, p) != 0) {
        p->map_loading = false;
        p->map_retry_ms = sl_client_now_ms() + 1000;
    }
    sl_buf_free(&b);
}

/* Moves every queued record of the old map into the new one (order kept per queue). */
static void map_install(sl_producer_t *p, shard_t *shards, size_t n) {
    shard_t *old = p->shards;
    size_t old_n = p->shard_count;
    queue_t all = p->unknown.q;
    p->unknown.q = (queue_t){0};
    for (size_t i = 0; i < old_n; i++) {
        urec_t *r;
        while ((r = q_pop(&old[i].q)))
            q_push(&all, r);
    }
    free(old);
    p->shards = shards;
    p->shard_count = n;
    urec_t *r;
    while ((r = q_pop(&all)))
        q_push(&route(p, r->hash)->q, r);
}

static int cmp_shard(const void *a, const void *b) {
    const shard_t *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

static void map_tried(sl_producer_t *p) {
    pthread_mutex_lock(&p->mu);
    p->map_tried = true;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->mu);
}

static void map_done(const sl_client_response_t *resp, void *arg) {
    sl_producer_t *p = arg;
    map_acc_t *acc = &p->acc;
    if (resp->error || resp->status != 200) goto failed;
    sl_arena_t arena;
    sl_arena_init(&arena, 4096);
    char *copy = sl_arena_strndup(&arena, resp->body, resp->body_len);
    sl_val_t *v = NULL;
    const char *reason;
    if (!copy || sl_json_parse(copy, resp->body_len, &arena, &v, &reason) != 0) {
        sl_arena_deinit(&arena);
        goto failed;
    }
    sl_val_t *list = sl_val_get(v, "Shards");
    for (size_t i = 0; list && list->type == SL_VAL_ARRAY && i < list->u.arr.count; i++) {
        sl_val_t *s = list->u.arr.items[i];
        sl_val_t *range = sl_val_get(s, "HashKeyRange");
        sl_val_t *seq = sl_val_get(s, "SequenceNumberRange");
        if (seq && sl_val_get(seq, "EndingSequenceNumber")) continue; /* closed */
        size_t n1 = 0, n2 = 0, n3 = 0;
        const char *id = sl_val_get_str(s, "ShardId", &n1);
        const char *lo = sl_val_get_str(range, "StartingHashKey", &n2);
        const char *hi = sl_val_get_str(range, "EndingHashKey", &n3);
        shard_t sh = {0};
        if (!id || n1 >= sizeof sh.id || !lo || !hi || !sl_client_u128_parse(lo, n2, &sh.start) ||
            !sl_client_u128_parse(hi, n3, &sh.end))
            continue;
        memcpy(sh.id, id, n1);
        if (acc->count == acc->cap) {
            size_t cap = acc->cap ? acc->cap * 2 : 16;
            shard_t *items = realloc(acc->items, cap * sizeof *items);
            if (!items) continue;
            acc->items = items;
            acc->cap = cap;
        }
        acc->items[acc->count++] = sh;
    }
    const char *next = sl_val_get_str(v, "NextToken", NULL);
    if (next) {
        char *tok = strdup(next);
        sl_arena_deinit(&arena);
        if (!tok) goto failed; /* map_loading is still set by the call that asked */
        map_load(p, tok);
        free(tok);
        if (p->map_loading) return;
        goto failed;
    }
    sl_arena_deinit(&arena);
    qsort(acc->items, acc->count, sizeof *acc->items, cmp_shard);
    int64_t now = sl_client_now_ms();
    for (size_t i = 0; i < acc->count; i++) {
        acc->items[i].record_tokens = SL_PRODUCER_SHARD_RECORDS_PER_S;
        acc->items[i].byte_tokens = SL_PRODUCER_SHARD_BYTES_PER_S;
        acc->items[i].refill_ms = now;
    }
    map_install(p, acc->items, acc->count);
    *acc = (map_acc_t){0};
    p->map_loading = false;
    p->map_stale = false;
    map_tried(p);
    if (!teardown_signal(p)) pump(p);
    return;
failed:
    free(acc->items);
    *acc = (map_acc_t){0};
    p->map_loading = false;
    p->map_retry_ms = sl_client_now_ms() + 1000;
    map_tried(p);
    if (!teardown_signal(p)) pump(p);
}

/* ---- sending ---- */

static void send_request(request_t *rq);

static void request_free(request_t *rq) {
    free(rq->entries);
    sl_buf_free(&rq->body);
    free(rq);
}

static request_t *request_new(sl_producer_t *p) {
    request_t *rq = calloc(1, sizeof *rq);
    if (!rq) return NULL;
    rq->entries = calloc(p->cfg.collection_max_count, sizeof *rq->entries);
    if (!rq->entries) {
        free(rq);
        return NULL;
    }
    rq->p = p;
    sl_enc_t e;
    sl_enc_init(&e, &rq->body, SL_FMT_JSON);
    sl_buf_append_str(&rq->body, "{\"StreamName\":");
    sl_enc_str(&e, p->stream, strlen(p->stream));
    sl_buf_append_str(&rq->body, ",\"Records\":[");
    snprintf(rq->key, sizeof rq->key, "%s-%llu", p->key_prefix,
             (unsigned long long)++p->key_counter);
    return rq;
}

/* Appends one Kinesis record to the request's body. */
static void request_add(request_t *rq, entry_t *en, const void *data, size_t len, const char *pk,
                        size_t pk_len, const char *ehk, size_t ehk_len) {
    sl_enc_t e;
    sl_enc_init(&e, &rq->body, SL_FMT_JSON);
    if (rq->count) sl_buf_append_byte(&rq->body, ',');
    sl_enc_map_begin(&e);
    sl_enc_key(&e, "Data");
    sl_enc_bytes(&e, data, len);
    sl_enc_kv_str(&e, "PartitionKey", pk, pk_len);
    if (ehk) sl_enc_kv_str(&e, "ExplicitHashKey", ehk, ehk_len);
    sl_enc_map_end(&e);
    en->bytes = len + pk_len;
    rq->entries[rq->count++] = *en;
    rq->bytes += len + pk_len;
}

static void request_done(const sl_client_response_t *resp, void *arg);

static void resend(void *arg) {
    request_t *rq = arg;
    rq->timer = NULL;
    send_request(rq);
}

static void send_request(request_t *rq) {
    sl_producer_t *p = rq->p;
    if (rq->sends++ == 0) sl_buf_append_str(&rq->body, "]}");
    for (size_t i = 0; i < rq->count; i++)
        for (urec_t *r = rq->entries[i].recs; r; r = r->next)
            r->attempts++;
    p->in_flight++;
    pthread_mutex_lock(&p->mu);
    p->stats.requests++;
    pthread_mutex_unlock(&p->mu);
    int rc = sl_buf_failed(&rq->body)
                 ? SL_ENOMEM
                 : sl_client_call(p->client, "PutRecords", rq->body.data, rq->body.len,
                                  p->cfg.idempotency_keys ? rq->key : NULL, request_done, rq);
    if (rc != 0) {
        sl_client_response_t r = {.error = rc, .error_text = sl_strerror(rc), .body = ""};
        request_done(&r, rq);
    }
}

/* The whole request failed: send it again unchanged after a backoff, unless every record in it
 * expired (then they all fail). */
static void request_retry(request_t *rq, const char *why) {
    sl_producer_t *p = rq->p;
    int64_t now = sl_client_now_ms();
    bool alive = false;
    for (size_t i = 0; i < rq->count; i++)
        for (urec_t *r = rq->entries[i].recs; r; r = r->next) {
            snprintf(r->last_error, sizeof r->last_error, "%s", why);
            if (r->expire_ms > now) alive = true;
        }
    if (alive) {
        rq->timer = sl_timer_start(sl_client_loop(p->client), (uint64_t)backoff_ms(p, rq->sends),
                                   resend, rq);
        if (rq->timer) {
            pthread_mutex_lock(&p->mu);
            p->stats.retries += rq->count;
            pthread_mutex_unlock(&p->mu);
            return;
        }
    }
    for (size_t i = 0; i < rq->count; i++) {
        urec_t *r = rq->entries[i].recs;
        while (r) {
            urec_t *next = r->next;
            expire(p, r);
            r = next;
        }
    }
    request_free(rq);
}

static void request_done(const sl_client_response_t *resp, void *arg) {
    request_t *rq = arg;
    sl_producer_t *p = rq->p;
    p->in_flight--;
    if (resp->error || resp->status != 200) {
        const char *code = resp->error ? "ConnectionError" : resp->error_code;
        const char *msg = resp->error ? resp->error_text : resp->error_message;
        if (resp->error || retryable(code, resp->status)) {
            char why[96];
            snprintf(why, sizeof why, "%s %s", code, msg ? msg : "");
            request_retry(rq, why);
        } else {
            /* An error no retry fixes (no such stream, validation): every record fails. */
            for (size_t i = 0; i < rq->count; i++) {
                urec_t *r = rq->entries[i].recs;
                while (r) {
                    urec_t *next = r->next;
                    fail(p, r, SLUICE_ESERVICE, code, msg);
                    r = next;
                }
            }
            request_free(rq);
        }
        pump(p);
        return;
    }
    sl_arena_t arena;
    sl_arena_init(&arena, 4096);
    char *copy = sl_arena_strndup(&arena, resp->body, resp->body_len);
    sl_val_t *v = NULL;
    const char *reason;
    sl_val_t *list = NULL;
    if (copy && sl_json_parse(copy, resp->body_len, &arena, &v, &reason) == 0)
        list = sl_val_get(v, "Records");
    if (!list || list->type != SL_VAL_ARRAY || list->u.arr.count != rq->count) {
        sl_arena_deinit(&arena);
        request_retry(rq, "malformed PutRecords answer");
        pump(p);
        return;
    }
    for (size_t i = 0; i < rq->count; i++) {
        entry_t *en = &rq->entries[i];
        sl_val_t *item = list->u.arr.items[i];
        const char *code = sl_val_get_str(item, "ErrorCode", NULL);
        const char *shard = sl_val_get_str(item, "ShardId", NULL);
        const char *seq = sl_val_get_str(item, "SequenceNumber", NULL);
        urec_t *r = en->recs;
        if (code || !shard || !seq) {
            const char *msg = sl_val_get_str(item, "ErrorMessage", NULL);
            while (r) {
                urec_t *next = r->next;
                retry_record(p, r, code ? code : "InternalFailure", msg ? msg : "", 400);
                r = next;
            }
            continue;
        }
        /* Counted before the records complete, so that a caller woken by the last completion
         * sees it. */
        pthread_mutex_lock(&p->mu);
        p->stats.kinesis_records_put++;
        p->stats.bytes_put += en->bytes;
        pthread_mutex_unlock(&p->mu);
        if (en->shard_id[0] && strcmp(en->shard_id, shard) != 0) p->map_stale = true;
        for (uint64_t k = 0; r; k++) {
            urec_t *next = r->next;
            sl_put_result_t res = {.shard_id = shard,
                                   .sequence_number = seq,
                                   .sub_sequence_number = en->aggregated ? k : 0,
                                   .aggregated = en->aggregated,
                                   .attempts = r->attempts};
            complete(p, r, &res);
            r = next;
        }
    }
    sl_arena_deinit(&arena);
    request_free(rq);
    pump(p);
}

/* ---- the pump: queues -> aggregates -> limiter -> requests ---- */

static void refill(sl_producer_t *p, shard_t *s, int64_t now) {
    double pct = p->cfg.rate_limit / 100.0;
    double dt = (double)(now - s->refill_ms) / 1000.0;
    if (dt <= 0) return;
    s->refill_ms = now;
    s->record_tokens += dt * SL_PRODUCER_SHARD_RECORDS_PER_S * pct;
    if (s->record_tokens > SL_PRODUCER_SHARD_RECORDS_PER_S * pct)
        s->record_tokens = SL_PRODUCER_SHARD_RECORDS_PER_S * pct;
    s->byte_tokens += dt * SL_PRODUCER_SHARD_BYTES_PER_S * pct;
    if (s->byte_tokens > SL_PRODUCER_SHARD_BYTES_PER_S * pct)
        s->byte_tokens = SL_PRODUCER_SHARD_BYTES_PER_S * pct;
}

static bool shard_due(sl_producer_t *p, const shard_t *s, int64_t now) {
    if (!s->q.head) return false;
    if (p->flush_requested || s->q.head->deadline_ms <= now) return true;
    if (s->q.bytes >= p->cfg.collection_max_size) return true;
    return !p->cfg.aggregation_enabled && s->q.count >= p->cfg.collection_max_count;
}

/* Takes the next Kinesis record off s into *rq (sending full requests). Returns false when s is
 * empty, blocked by its limiter, or requests in flight are at their bound. */
static bool take_one(sl_producer_t *p, shard_t *s, request_t **rq, bool limited) {
    if (!s->q.head) return false;
    sl_kpl_builder_reset(p->builder);
    size_t n = 0;
    bool aggregate = p->cfg.aggregation_enabled && s != &p->unknown;
    if (aggregate) {
        for (urec_t *r = s->q.head; r && n < p->cfg.aggregation_max_count; r = r->next) {
            sl_kpl_record_t k = {r->pk, r->pk_len, r->ehk, r->ehk_len, r->data, r->len};
            if (sl_kpl_builder_size_with(p->builder, &k) > p->cfg.aggregation_max_size) break;
            if (sl_kpl_builder_add(p->builder, &k) != 0) break;
            n++;
        }
    }
    if (n <= 1) n = 1; /* one record, or one too big for an aggregate: sent plain */
    urec_t *first = s->q.head;
    size_t bytes = n == 1 ? first->len + first->pk_len : sl_kpl_builder_size(p->builder) + 1;
    if (limited && (s->record_tokens < 1 || s->byte_tokens < (double)bytes)) return false;
    if (*rq && ((*rq)->count == p->cfg.collection_max_count ||
                (*rq)->bytes + bytes > p->cfg.collection_max_size)) {
        if (p->in_flight >= SL_PRODUCER_REQUESTS_IN_FLIGHT_MAX) return false;
        send_request(*rq);
        *rq = NULL;
    }
    if (!*rq && !(*rq = request_new(p))) return false;
    if (limited) {
        s->record_tokens -= 1;
        s->byte_tokens -= (double)bytes;
    }
    entry_t en = {.count = n, .aggregated = n > 1};
    memcpy(en.shard_id, s->id, sizeof en.shard_id);
    urec_t *tail = NULL;
    for (size_t i = 0; i < n; i++) {
        urec_t *r = q_pop(&s->q);
        if (tail)
            tail->next = r;
        else
            en.recs = r;
        tail = r;
    }
    if (n == 1) {
        request_add(*rq, &en, first->data, first->len, first->pk, first->pk_len, first->ehk,
                    first->ehk_len);
    } else {
        char ehk[40];
        u128_format(first->hash, ehk);
        sl_buf_reset(&p->agg);
        sl_kpl_builder_finish(p->builder, &p->agg);
        request_add(*rq, &en, p->agg.data, p->agg.len, "a", 1, ehk, strlen(ehk));
    }
    return true;
}

static void drain_inbox(sl_producer_t *p, int64_t now);

static void on_timer(void *arg) {
    sl_producer_t *p = arg;
    p->timer = NULL;
    p->timer_at_ms = 0;
    pump(p);
}

static void pump(sl_producer_t *p) {
    int64_t now = sl_client_now_ms();
    drain_inbox(p, now);
    if (p->map_stale && !p->map_loading && now >= p->map_retry_ms) map_load(p, NULL);
    if (!p->map_loading && p->shard_count == 0 && now >= p->map_retry_ms) map_load(p, NULL);
    /* Retries whose backoff passed go back to the front of their queue; expired ones fail. */
    urec_t **link = &p->retry_head;
    while (*link) {
        urec_t *r = *link;
        if (r->expire_ms <= now) {
            *link = r->next;
            expire(p, r);
        } else if (r->retry_at_ms <= now) {
            *link = r->next;
            r->deadline_ms = now;
            q_push_front(&route(p, r->hash)->q, r);
        } else {
            link = &r->next;
        }
    }
    int64_t next = INT64_MAX;
    request_t *rq = NULL;
    for (size_t i = 0; i <= p->shard_count; i++) {
        shard_t *s = i < p->shard_count ? &p->shards[i] : &p->unknown;
        while (s->q.head && s->q.head->expire_ms <= now)
            expire(p, q_pop(&s->q));
        if (!s->q.head) continue;
        bool limited = s != &p->unknown;
        if (limited) refill(p, s, now);
        if (shard_due(p, s, now) && p->in_flight < SL_PRODUCER_REQUESTS_IN_FLIGHT_MAX) {
            while (take_one(p, s, &rq, limited)) {
            }
        }
        if (s->q.head) {
            /* Left over: blocked by the limiter or requests in flight, or not due yet. */
            int64_t at = shard_due(p, s, now) ? now + 25 : s->q.head->deadline_ms;
            if (s->q.head->expire_ms < at) at = s->q.head->expire_ms;
            if (at < next) next = at;
        }
    }
    if (rq) send_request(rq);
    for (urec_t *r = p->retry_head; r; r = r->next)
        if (r->retry_at_ms < next) next = r->retry_at_ms;
    if ((p->map_stale || p->shard_count == 0) && !p->map_loading && p->map_retry_ms > now &&
        p->map_retry_ms < next && (p->retry_head || p->unknown.q.head))
        next = p->map_retry_ms;
    bool empty = true;
    for (size_t i = 0; i < p->shard_count && empty; i++)
        empty = !p->shards[i].q.head;
    if (empty && !p->unknown.q.head && !p->retry_head) p->flush_requested = false;
    if (next == INT64_MAX) return;
    if (next < now + 1) next = now + 1;
    if (p->timer && p->timer_at_ms <= next) return;
    if (p->timer) sl_timer_cancel(p->timer);
    p->timer = sl_timer_start(sl_client_loop(p->client), (uint64_t)(next - now), on_timer, p);
    p->timer_at_ms = p->timer ? next : 0;
}

/* ---- accepting records ---- */

static void drain_inbox(sl_producer_t *p, int64_t now) {
    pthread_mutex_lock(&p->mu);
    urec_t *r = p->inbox_head;
    p->inbox_head = p->inbox_tail = NULL;
    p->inbox_posted = false;
    pthread_mutex_unlock(&p->mu);
    while (r) {
        urec_t *next = r->next;
        r->deadline_ms = now + p->cfg.record_max_buffered_time_ms;
        r->expire_ms = now + p->cfg.record_ttl_ms;
        q_push(&route(p, r->hash)->q, r);
        r = next;
    }
}

static void pump_posted(void *arg) {
    pump(arg);
}

int sl_producer_put(sl_producer_t *p, const char *partition_key, const char *explicit_hash_key,
                    const void *data, size_t len, sl_put_fn done, void *arg) {
    if (!p || !partition_key || !done || (!data && len)) return SL_EINVAL;
    size_t pk_len = strlen(partition_key);
    size_t ehk_len = explicit_hash_key ? strlen(explicit_hash_key) : 0;
    if (pk_len == 0 || pk_len > 256 * 4 || len + pk_len > SL_PRODUCER_USER_RECORD_BYTES_MAX)
        return SL_EINVAL;
    u128_t hash;
    if (explicit_hash_key) {
        if (!sl_client_u128_parse(explicit_hash_key, ehk_len, &hash)) return SL_EINVAL;
    } else {
        hash = sl_client_md5_key(partition_key, pk_len);
    }
    urec_t *r = malloc(sizeof *r + pk_len + 1 + ehk_len + 1 + len);
    if (!r) return SL_ENOMEM;
    memset(r, 0, sizeof *r);
    r->done = done;
    r->arg = arg;
    r->hash = hash;
    r->pk = (char *)(r + 1);
    memcpy(r->pk, partition_key, pk_len + 1);
    r->pk_len = pk_len;
    if (explicit_hash_key) {
        r->ehk = r->pk + pk_len + 1;
        memcpy(r->ehk, explicit_hash_key, ehk_len + 1);
        r->ehk_len = ehk_len;
    }
    r->data = (uint8_t *)r->pk + pk_len + 1 + ehk_len + 1;
    if (len) memcpy(r->data, data, len);
    r->len = len;
    pthread_mutex_lock(&p->mu);
    int rc = p->closing ? SL_ECLOSED : p->outstanding >= p->cfg.outstanding_max ? SL_ELIMIT : 0;
    bool post = false;
    if (rc == 0) {
        p->outstanding++;
        if (p->inbox_tail)
            p->inbox_tail->next = r;
        else
            p->inbox_head = r;
        p->inbox_tail = r;
        post = !p->inbox_posted;
        p->inbox_posted = true;
    }
    pthread_mutex_unlock(&p->mu);
    if (rc != 0) {
        free(r);
        return rc;
    }
    /* A failed post leaves the record in the inbox for the next pump (the timer's). */
    if (post && sl_loop_post(sl_client_loop(p->client), pump_posted, p) != 0) {
        pthread_mutex_lock(&p->mu);
        p->inbox_posted = false;
        pthread_mutex_unlock(&p->mu);
    }
    return 0;
}

/* ---- futures ---- */

struct sl_future {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    bool done;
    sl_put_result_t r;
    char shard_id[64], sequence_number[128], code[128], message[256];
};

static void future_done(const sl_put_result_t *r, void *arg) {
    sl_future_t *f = arg;
    pthread_mutex_lock(&f->mu);
    f->r = *r;
    snprintf(f->shard_id, sizeof f->shard_id, "%s", r->shard_id ? r->shard_id : "");
    snprintf(f->sequence_number, sizeof f->sequence_number, "%s",
             r->sequence_number ? r->sequence_number : "");
    snprintf(f->code, sizeof f->code, "%s", r->error_code ? r->error_code : "");
    snprintf(f->message, sizeof f->message, "%s", r->error_message ? r->error_message : "");
    f->r.shard_id = r->shard_id ? f->shard_id : NULL;
    f->r.sequence_number = r->sequence_number ? f->sequence_number : NULL;
    f->r.error_code = r->error_code ? f->code : NULL;
    f->r.error_message = r->error_message ? f->message : NULL;
    f->done = true;
    pthread_cond_broadcast(&f->cond);
    pthread_mutex_unlock(&f->mu);
}

int sl_producer_put_future(sl_producer_t *p, const char *partition_key,
                           const char *explicit_hash_key, const void *data, size_t len,
                           sl_future_t **out) {
    sl_future_t *f = calloc(1, sizeof *f);
    if (!f) return SL_ENOMEM;
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cond, NULL);
    int rc = sl_producer_put(p, partition_key, explicit_hash_key, data, len, future_done, f);
    if (rc != 0) {
        pthread_mutex_destroy(&f->mu);
        pthread_cond_destroy(&f->cond);
        free(f);
        return rc;
    }
    *out = f;
    return 0;
}

static void deadline_of(int timeout_ms, struct timespec *ts) {
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += timeout_ms / 1000;
    ts->tv_nsec += (long)(timeout_ms % 1000) * 1000000;
    if (ts->tv_nsec >= 1000000000) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000;
    }
}

static void cond_init_monotonic(pthread_cond_t *c) {
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(c, &a);
    pthread_condattr_destroy(&a);
}

int sl_future_wait(sl_future_t *f, int timeout_ms, const sl_put_result_t **out) {
    pthread_mutex_lock(&f->mu);
    if (timeout_ms < 0) {
        while (!f->done)
            pthread_cond_wait(&f->cond, &f->mu);
    } else if (!f->done) {
        /* The future's condition uses the realtime clock (it is created per record, cheaply). */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += timeout_ms / 1000;
        ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        while (!f->done && pthread_cond_timedwait(&f->cond, &f->mu, &ts) == 0) {
        }
    }
    bool done = f->done;
    pthread_mutex_unlock(&f->mu);
    if (!done) return SLUICE_ETIMEOUT;
    if (out) *out = &f->r;
    return 0;
}

void sl_future_destroy(sl_future_t *f) {
    if (!f) return;
    sl_future_wait(f, -1, NULL);
    pthread_mutex_destroy(&f->mu);
    pthread_cond_destroy(&f->cond);
    free(f);
}

/* ---- lifetime ---- */

void sl_producer_config_init(sl_producer_config_t *cfg) {
    *cfg = (sl_producer_config_t){
        .aggregation_enabled = true,
        .aggregation_max_count = 4294967295u,
        .aggregation_max_size = SL_PRODUCER_AGGREGATION_MAX_SIZE_DEFAULT,
        .collection_max_count = SL_PRODUCER_COLLECTION_MAX_COUNT_DEFAULT,
        .collection_max_size = SL_PRODUCER_COLLECTION_MAX_SIZE_DEFAULT,
        .record_max_buffered_time_ms = SL_PRODUCER_RECORD_MAX_BUFFERED_TIME_MS_DEFAULT,
        .record_ttl_ms = SL_PRODUCER_RECORD_TTL_MS_DEFAULT,
        .rate_limit = SL_PRODUCER_RATE_LIMIT_PERCENT_DEFAULT,
        .fail_if_throttled = false,
        .outstanding_max = SL_PRODUCER_OUTSTANDING_MAX_DEFAULT,
        .idempotency_keys = true,
    };
}

static void start_on_loop(void *arg) {
    sl_producer_t *p = arg;
    map_load(p, NULL);
    if (!p->map_loading) map_tried(p);
}

int sl_producer_create(sl_client_t *client, const char *stream_name,
                       const sl_producer_config_t *cfg, sl_producer_t **out) {
    if (!client || !stream_name || !*stream_name) return SL_EINVAL;
    sl_producer_t *p = calloc(1, sizeof *p);
    if (!p) return SL_ENOMEM;
    if (cfg)
        p->cfg = *cfg;
    else
        sl_producer_config_init(&p->cfg);
    sl_producer_config_t *c = &p->cfg;
    if (c->aggregation_max_count < 1 || c->aggregation_max_size < 64 ||
        c->collection_max_count < 1 || c->collection_max_count > 500 ||
        c->collection_max_size < 1 || c->record_max_buffered_time_ms < 0 || c->record_ttl_ms < 1 ||
        c->rate_limit < 1 || c->outstanding_max < 1) {
        free(p);
        return SL_EINVAL;
    }
    p->client = client;
    p->stream = strdup(stream_name);
    pthread_mutex_init(&p->mu, NULL);
    cond_init_monotonic(&p->cond);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    p->seed = (unsigned)ts.tv_nsec ^ (unsigned)(uintptr_t)p;
    snprintf(p->key_prefix, sizeof p->key_prefix, "%08x%08x", (unsigned)rand_r(&p->seed),
             (unsigned)ts.tv_nsec);
    if (!p->stream || sl_kpl_builder_create(&p->builder) != 0 ||
        sl_loop_post(sl_client_loop(client), start_on_loop, p) != 0) {
        sl_kpl_builder_destroy(p->builder);
        free(p->stream);
        free(p);
        return SL_ENOMEM;
    }
    /* Wait for the first shard map (or its failure), so that the first records are aggregated. */
    pthread_mutex_lock(&p->mu);
    while (!p->map_tried)
        pthread_cond_wait(&p->cond, &p->mu);
    pthread_mutex_unlock(&p->mu);
    *out = p;
    return 0;
}

static void flush_on_loop(void *arg) {
    sl_producer_t *p = arg;
    p->flush_requested = true;
    /* Retries waiting for their backoff go now too. */
    for (urec_t *r = p->retry_head; r; r = r->next)
        r->retry_at_ms = 0;
    pump(p);
}

void sl_producer_flush(sl_producer_t *p) {
    sl_loop_post(sl_client_loop(p->client), flush_on_loop, p);
}

size_t sl_producer_outstanding(const sl_producer_t *p) {
    sl_producer_t *q = (sl_producer_t *)p;
    pthread_mutex_lock(&q->mu);
    size_t n = q->outstanding;
    pthread_mutex_unlock(&q->mu);
    return n;
}

void sl_producer_stats(const sl_producer_t *p, sl_producer_stats_t *out) {
    sl_producer_t *q = (sl_producer_t *)p;
    pthread_mutex_lock(&q->mu);
    *out = q->stats;
    pthread_mutex_unlock(&q->mu);
}

int sl_producer_flush_sync(sl_producer_t *p, int timeout_ms) {
    sl_producer_flush(p);
    struct timespec ts;
    if (timeout_ms >= 0) deadline_of(timeout_ms, &ts);
    pthread_mutex_lock(&p->mu);
    int rc = 0;
    while (p->outstanding > 0 && rc == 0) {
        if (timeout_ms < 0)
            pthread_cond_wait(&p->cond, &p->mu);
        else
            rc = pthread_cond_timedwait(&p->cond, &p->mu, &ts);
    }
    bool done = p->outstanding == 0;
    pthread_mutex_unlock(&p->mu);
    return done ? 0 : SLUICE_ETIMEOUT;
}

static void teardown_on_loop(void *arg) {
    teardown_t *t = arg;
    sl_producer_t *p = t->p;
    if (p->timer) sl_timer_cancel(p->timer);
    p->timer = NULL;
    p->teardown = t;
    if (!p->map_loading) teardown_signal(p);
}

void sl_producer_destroy(sl_producer_t *p) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->closing = true;
    pthread_mutex_unlock(&p->mu);
    /* Everything accepted completes (at the latest when its TTL passes). */
    sl_producer_flush_sync(p, -1);
    /* The loop may still hold a timer or a map load: finish on the loop before freeing. */
    teardown_t t = {.p = p};
    pthread_mutex_init(&t.mu, NULL);
    pthread_cond_init(&t.cond, NULL);
    if (sl_loop_post(sl_client_loop(p->client), teardown_on_loop, &t) == 0) {
        pthread_mutex_lock(&t.mu);
        while (!t.done)
            pthread_cond_wait(&t.cond, &t.mu);
        pthread_mutex_unlock(&t.mu);
    }
    pthread_mutex_destroy(&t.mu);
    pthread_cond_destroy(&t.cond);
    free(p->shards);
    free(p->acc.items);
    sl_kpl_builder_destroy(p->builder);
    sl_buf_free(&p->agg);
    free(p->stream);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cond);
    free(p);
}
