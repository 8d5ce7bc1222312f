/* The in-memory storage backend: the same contract as the segment-file engine (backend.h) with
 * records kept in RAM. Used by tests (the shared backend test suite runs against both) and by
 * users who want a throwaway server. Appends complete on a commit thread, as in the file engine,
 * so callers see the same callback timing and ordering; logs survive shard_close/shard_open for
 * the engine's lifetime and are listed by sl_storage_list.
 *
 * Lock order: registry mutex (mem_engine.reg_mu) -> shard mutex -> engine queue mutex (q_mu). */
#include "core/common.h"
#include "core/limits.h"
#include "core/log.h"
#include "storage/format.h"
#include "storage/internal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    uint64_t seq;
    int64_t arrival_ms;
    uint32_t key_len, attr_len, data_len;
    bool has_attr;
    uint8_t bytes[]; /* key, attr, data */
} mem_rec_t;

typedef struct mem_op {
    struct mem_op *next;
    sl_append_cb cb;
    void *arg;
    size_t n, bytes;
    int64_t arrival_ms; /* assigned to the first record at commit */
    mem_rec_t *recs[];
} mem_op_t;

typedef struct mem_shard mem_shard_t;
typedef struct mem_engine mem_engine_t;

/* One shard log. Owned by the engine's registry; the handle given out is &base. */
struct mem_shard {
    sl_shard_log_t base;
    mem_engine_t *eng;
    char *stream_key, *shard_key;
    pthread_mutex_t mu;
    pthread_cond_t idle_cond;
    /* committed records recs[head .. len) (mu) */
    mem_rec_t **recs;
    size_t head, len, cap;
    uint64_t next_seq, bytes;
    int64_t last_arrival;
    /* pending appends (mu) */
    mem_op_t *pend_head, *pend_tail;
    bool in_dirty, in_batch, open;
    mem_shard_t *dirty_next;
    mem_shard_t *reg_next;
};

struct mem_engine {
    sl_storage_t base;
    pthread_mutex_t reg_mu;
    mem_shard_t *shards;
    pthread_mutex_t q_mu;
    pthread_cond_t q_cond;
    mem_shard_t *dirty_head, *dirty_tail;
    bool stop;
    pthread_t thread;
    atomic_size_t pending_bytes;
};

typedef struct {
    void (*freefn)(sl_read_result_t *res);
    sl_read_result_t res;
} mem_read_mem_t;

static size_t rec_cost(const mem_rec_t *r) {
    return sl_frame_size(r->key_len, r->attr_len, r->data_len);
}

static void mem_commit_shard(mem_engine_t *e, mem_shard_t *s) {
    pthread_mutex_lock(&s->mu);
    mem_op_t *ops = s->pend_head;
    s->pend_head = s->pend_tail = NULL;
    s->in_dirty = false;
    s->in_batch = true;
    uint64_t first_seqs_base = s->next_seq;
    bool oom = false;
    for (mem_op_t *op = ops; op; op = op->next) {
        if (s->len + op->n > s->cap) {
            if (s->head > 0) {
                memmove(s->recs, s->recs + s->head, (s->len - s->head) * sizeof *s->recs);
                s->len -= s->head;
                s->head = 0;
            }
            size_t cap = s->cap ? s->cap : 64;
            while (cap < s->len + op->n)
                cap *= 2;
            if (cap != s->cap) {
                mem_rec_t **p = realloc(s->recs, cap * sizeof *p);
                if (!p) {
                    oom = true;
                    break;
                }
                s->recs = p;
                s->cap = cap;
            }
        }
        for (size_t i = 0; i < op->n; i++) {
            mem_rec_t *r = op->recs[i];
            r->seq = s->next_seq++;
            if (r->arrival_ms < s->last_arrival) r->arrival_ms = s->last_arrival;
            s->last_arrival = r->arrival_ms;
            if (i == 0) op->arrival_ms = r->arrival_ms;
            s->bytes += rec_cost(r);
            s->recs[s->len++] = r;
            op->recs[i] = NULL;
        }
    }
    uint64_t tip = s->next_seq;
    pthread_mutex_unlock(&s->mu);

    /* Wake readers first, then complete the appends in order. */
    if (e->base.cfg.on_commit && tip != first_seqs_base)
        e->base.cfg.on_commit(e->base.cfg.ctx, &s->base, tip);
    uint64_t seq = first_seqs_base;
    while (ops) {
        mem_op_t *op = ops;
        ops = op->next;
        atomic_fetch_sub(&e->pending_bytes, op->bytes);
        if (op->n && op->recs[0]) { /* not stored: out of memory */
            for (size_t i = 0; i < op->n; i++)
                free(op->recs[i]);
            op->cb(op->arg, SL_ENOMEM, 0, 0);
        } else {
            op->cb(op->arg, 0, seq, op->arrival_ms);
            seq += op->n;
        }
        free(op);
    }
    (void)oom;
    pthread_mutex_lock(&s->mu);
    s->in_batch = false;
    pthread_cond_broadcast(&s->idle_cond);
    pthread_mutex_unlock(&s->mu);
}

static void *mem_commit_main(void *arg) {
    mem_engine_t *e = arg;
    pthread_mutex_lock(&e->q_mu);
    for (;;) {
        while (!e->dirty_head && !e->stop)
            pthread_cond_wait(&e->q_cond, &e->q_mu);
        if (!e->dirty_head && e->stop) break;
        mem_shard_t *list = e->dirty_head;
        e->dirty_head = e->dirty_tail = NULL;
        pthread_mutex_unlock(&e->q_mu);
        while (list) {
            mem_shard_t *s = list;
            list = s->dirty_next;
            s->dirty_next = NULL;
            mem_commit_shard(e, s);
        }
        pthread_mutex_lock(&e->q_mu);
    }
    pthread_mutex_unlock(&e->q_mu);
    return NULL;
}

static void mem_shard_free(mem_shard_t *s) {
    for (size_t i = s->head; i < s->len; i++)
        free(s->recs[i]);
    free(s->recs);
    free(s->stream_key);
    free(s->shard_key);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->idle_cond);
    free(s);
}

/* Waits until every append queued on s has completed. */
static void mem_shard_drain(mem_shard_t *s) {
    pthread_mutex_lock(&s->mu);
    while (s->pend_head || s->in_dirty || s->in_batch)
        pthread_cond_wait(&s->idle_cond, &s->mu);
    pthread_mutex_unlock(&s->mu);
}

static void mem_close(sl_storage_t *st) {
    mem_engine_t *e = (mem_engine_t *)st;
    pthread_mutex_lock(&e->q_mu);
    e->stop = true;
    pthread_cond_signal(&e->q_cond);
    pthread_mutex_unlock(&e->q_mu);
    pthread_join(e->thread, NULL);
    while (e->shards) {
        mem_shard_t *s = e->shards;
        e->shards = s->reg_next;
        mem_shard_free(s);
    }
    pthread_mutex_destroy(&e->reg_mu);
    pthread_mutex_destroy(&e->q_mu);
    pthread_cond_destroy(&e->q_cond);
    free(e);
}

static int mem_list(sl_storage_t *st, void (*fn)(void *, const char *, const char *), void *arg) {
    mem_engine_t *e = (mem_engine_t *)st;
    pthread_mutex_lock(&e->reg_mu);
    for (mem_shard_t *s = e->shards; s; s = s->reg_next)
        fn(arg, s->stream_key, s->shard_key);
    pthread_mutex_unlock(&e->reg_mu);
    return 0;
}

static int mem_shard_open(sl_storage_t *st, const char *stream_key, const char *shard_key,
                          void *user, sl_shard_log_t **out) {
    mem_engine_t *e = (mem_engine_t *)st;
    pthread_mutex_lock(&e->reg_mu);
    mem_shard_t *s = e->shards;
    while (s && (strcmp(s->stream_key, stream_key) != 0 || strcmp(s->shard_key, shard_key) != 0))
        s = s->reg_next;
    if (s && s->open) {
        pthread_mutex_unlock(&e->reg_mu);
        return SL_EEXIST;
    }
    if (!s) {
        s = calloc(1, sizeof *s);
        if (!s) {
            pthread_mutex_unlock(&e->reg_mu);
            return SL_ENOMEM;
        }
        s->stream_key = strdup(stream_key);
        s->shard_key = strdup(shard_key);
        if (!s->stream_key || !s->shard_key) {
            free(s->stream_key);
            free(s->shard_key);
            free(s);
            pthread_mutex_unlock(&e->reg_mu);
            return SL_ENOMEM;
        }
        pthread_mutex_init(&s->mu, NULL);
        pthread_cond_init(&s->idle_cond, NULL);
        s->eng = e;
        s->base.st = st;
        s->next_seq = 1;
        s->reg_next = e->shards;
        e->shards = s;
    }
    s->base.user = user;
    s->open = true;
    pthread_mutex_unlock(&e->reg_mu);
    *out = &s->base;
    return 0;
}

static void mem_shard_close(sl_shard_log_t *log) {
    mem_shard_t *s = (mem_shard_t *)log;
    mem_shard_drain(s);
    pthread_mutex_lock(&s->eng->reg_mu);
    s->open = false;
    pthread_mutex_unlock(&s->eng->reg_mu);
}

static int mem_stream_delete(sl_storage_t *st, const char *stream_key) {
    mem_engine_t *e = (mem_engine_t *)st;
    pthread_mutex_lock(&e->reg_mu);
    for (mem_shard_t *s = e->shards; s; s = s->reg_next) {
        if (strcmp(s->stream_key, stream_key) == 0 && s->open) {
            pthread_mutex_unlock(&e->reg_mu);
            return SL_EINVAL;
        }
    }
    mem_shard_t **pp = &e->shards;
    while (*pp) {
        mem_shard_t *s = *pp;
        if (strcmp(s->stream_key, stream_key) == 0) {
            *pp = s->reg_next;
            mem_shard_free(s);
        } else {
            pp = &s->reg_next;
        }
    }
    pthread_mutex_unlock(&e->reg_mu);
    return 0;
}

static int mem_append(sl_shard_log_t *log, const sl_record_t *records, size_t n, sl_append_cb cb,
                      void *arg) {
    mem_shard_t *s = (mem_shard_t *)log;
    mem_engine_t *e = s->eng;
    size_t bytes = 0;
    if (sl_frame_batch_bytes(records, n, &bytes) != 0) return SL_EINVAL;
    if (atomic_fetch_add(&e->pending_bytes, bytes) + bytes > SL_STORAGE_PENDING_BYTES_MAX) {
        atomic_fetch_sub(&e->pending_bytes, bytes);
        return SL_EAGAIN;
    }
    mem_op_t *op = calloc(1, sizeof *op + n * sizeof(mem_rec_t *));
    if (!op) goto nomem;
    op->cb = cb;
    op->arg = arg;
    op->n = n;
    op->bytes = bytes;
    for (size_t i = 0; i < n; i++) {
        const sl_record_t *r = &records[i];
        size_t attr = r->attributes ? r->attributes_len : 0;
        mem_rec_t *m = malloc(sizeof *m + r->key_len + attr + r->data_len);
        if (!m) goto nomem;
        m->seq = 0;
        m->arrival_ms = r->arrival_ms;
        m->key_len = (uint32_t)r->key_len;
        m->attr_len = (uint32_t)attr;
        m->has_attr = r->attributes != NULL && attr > 0;
        m->data_len = (uint32_t)r->data_len;
        if (m->key_len) memcpy(m->bytes, r->key, m->key_len);
        if (attr) memcpy(m->bytes + m->key_len, r->attributes, attr);
        if (m->data_len) memcpy(m->bytes + m->key_len + attr, r->data, m->data_len);
        op->recs[i] = m;
    }
    pthread_mutex_lock(&s->mu);
    if (!s->open) {
        pthread_mutex_unlock(&s->mu);
        for (size_t i = 0; i < n; i++)
            free(op->recs[i]);
        free(op);
        atomic_fetch_sub(&e->pending_bytes, bytes);
        return SL_ECLOSED;
    }
    if (s->pend_tail)
        s->pend_tail->next = op;
    else
        s->pend_head = op;
    s->pend_tail = op;
    bool signal = !s->in_dirty;
    s->in_dirty = true;
    if (signal) {
        pthread_mutex_lock(&e->q_mu);
        if (e->dirty_tail)
            e->dirty_tail->dirty_next = s;
        else
            e->dirty_head = s;
        e->dirty_tail = s;
        pthread_cond_signal(&e->q_cond);
        pthread_mutex_unlock(&e->q_mu);
    }
    pthread_mutex_unlock(&s->mu);
    return 0;
nomem:
    if (op) {
        for (size_t i = 0; i < n; i++)
            free(op->recs[i]);
        free(op);
    }
    atomic_fetch_sub(&e->pending_bytes, bytes);
    return SL_ENOMEM;
}

static void mem_read_free(sl_read_result_t *res) {
    mem_read_mem_t *m = res->mem;
    free(m);
}

/* Index into recs of the first committed record with arrival_ms >= ts (len when none). mu held. */
static size_t mem_find_time_locked(const mem_shard_t *s, int64_t ts) {
    size_t lo = s->head, hi = s->len;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->recs[mid]->arrival_ms < ts)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void mem_bounds_locked(const mem_shard_t *s, sl_shard_bounds_t *b) {
    b->next_seq = s->next_seq;
    b->bytes = s->bytes;
    if (s->head < s->len) {
        b->first_seq = s->recs[s->head]->seq;
        b->first_arrival_ms = s->recs[s->head]->arrival_ms;
        b->last_arrival_ms = s->recs[s->len - 1]->arrival_ms;
    } else {
        b->first_seq = s->next_seq;
        b->first_arrival_ms = 0;
        b->last_arrival_ms = 0;
    }
}

static int mem_read(sl_shard_log_t *log, uint64_t from_seq, size_t records_max, size_t bytes_max,
                    int64_t min_arrival_ms, sl_read_cb cb, void *arg) {
    mem_shard_t *s = (mem_shard_t *)log;
    pthread_mutex_lock(&s->mu);
    sl_shard_bounds_t b;
    mem_bounds_locked(s, &b);
    uint64_t from = from_seq < b.first_seq ? b.first_seq : from_seq;
    if (min_arrival_ms > 0) {
        size_t i = mem_find_time_locked(s, min_arrival_ms);
        uint64_t t = i < s->len ? s->recs[i]->seq : s->next_seq;
        if (t > from) from = t;
    }
    size_t start = s->len, count = 0, bytes = 0, payload = 0;
    if (from < s->next_seq && s->head < s->len) {
        start = s->head + (size_t)(from - s->recs[s->head]->seq);
        for (size_t i = start; i < s->len && count < records_max; i++) {
            const mem_rec_t *r = s->recs[i];
            size_t cost = (size_t)r->data_len + r->key_len;
            if (count > 0 && bytes + cost > bytes_max) break;
            bytes += cost;
            payload += r->key_len + r->attr_len + r->data_len;
            count++;
        }
    }
    size_t hdr = (sizeof(mem_read_mem_t) + 15) & ~(size_t)15;
    size_t arr = (count * sizeof(sl_record_t) + 15) & ~(size_t)15;
    mem_read_mem_t *m = malloc(hdr + arr + payload + 1);
    if (!m) {
        pthread_mutex_unlock(&s->mu);
        return SL_ENOMEM;
    }
    m->freefn = mem_read_free;
    sl_read_result_t *res = &m->res;
    memset(res, 0, sizeof *res);
    res->mem = m;
    res->records = count ? (sl_record_t *)((char *)m + hdr) : NULL;
    res->bounds = b;
    uint8_t *p = (uint8_t *)m + hdr + arr;
    for (size_t k = 0; k < count; k++) {
        const mem_rec_t *r = s->recs[start + k];
        size_t len = (size_t)r->key_len + r->attr_len + r->data_len;
        memcpy(p, r->bytes, len);
        res->records[k] = (sl_record_t){
            .seq = r->seq,
            .arrival_ms = r->arrival_ms,
            .key = (const char *)p,
            .key_len = r->key_len,
            .attributes = r->has_attr ? (const char *)p + r->key_len : NULL,
            .attributes_len = r->attr_len,
            .data = p + r->key_len + r->attr_len,
            .data_len = r->data_len,
        };
        p += len;
    }
    res->count = count;
    res->bytes = bytes;
    res->next_seq = count ? res->records[count - 1].seq + 1 : from;
    pthread_mutex_unlock(&s->mu);
    cb(arg, 0, res);
    return 0;
}

static void mem_read_memory_cb(void *arg, int status, sl_read_result_t *res) {
    (void)status;
    *(sl_read_result_t **)arg = res;
}

/* Every read of this engine is from memory and completes during the call. */
static int mem_read_memory(sl_shard_log_t *log, uint64_t from_seq, size_t records_max,
                           size_t bytes_max, int64_t min_arrival_ms, sl_read_result_t **out) {
    return mem_read(log, from_seq, records_max, bytes_max, min_arrival_ms, mem_read_memory_cb, out);
}

static int mem_seek_time(sl_shard_log_t *log, int64_t ts_ms, uint64_t *seq_out) {
    mem_shard_t *s = (mem_shard_t *)log;
    pthread_mutex_lock(&s->mu);
    size_t i = mem_find_time_locked(s, ts_ms);
    *seq_out = i < s->len ? s->recs[i]->seq : s->next_seq;
    pthread_mutex_unlock(&s->mu);
    return 0;
}

static int mem_bounds(sl_shard_log_t *log, sl_shard_bounds_t *out) {
    mem_shard_t *s = (mem_shard_t *)log;
    pthread_mutex_lock(&s->mu);
    mem_bounds_locked(s, out);
    pthread_mutex_unlock(&s->mu);
    return 0;
}

static int mem_trim(sl_shard_log_t *log, int64_t cutoff_ms) {
    mem_shard_t *s = (mem_shard_t *)log;
    pthread_mutex_lock(&s->mu);
    while (s->head < s->len && s->recs[s->head]->arrival_ms < cutoff_ms) {
        s->bytes -= rec_cost(s->recs[s->head]);
        free(s->recs[s->head]);
        s->recs[s->head++] = NULL;
    }
    if (s->head == s->len) s->head = s->len = 0;
    pthread_mutex_unlock(&s->mu);
    return 0;
}

/* The in-memory log reads by position, so it takes a floor only while it holds no records. */
static int mem_set_floor(sl_shard_log_t *log, uint64_t floor_seq) {
    mem_shard_t *s = (mem_shard_t *)log;
    pthread_mutex_lock(&s->mu);
    int rc = 0;
    if (floor_seq > s->next_seq) {
        if (s->head < s->len || s->pend_head)
            rc = SL_EINVAL;
        else
            s->next_seq = floor_seq;
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static const sl_storage_vtable_t mem_vtable = {
    .close = mem_close,
    .list = mem_list,
    .shard_open = mem_shard_open,
    .shard_close = mem_shard_close,
    .stream_delete = mem_stream_delete,
    .append = mem_append,
    .read = mem_read,
    .read_free = mem_read_free,
    .read_memory = mem_read_memory,
    .seek_time = mem_seek_time,
    .bounds = mem_bounds,
    .trim = mem_trim,
    .set_floor = mem_set_floor,
};

int sl_storage_open_memory(const sl_storage_config_t *cfg, sl_storage_t **out) {
    mem_engine_t *e = calloc(1, sizeof *e);
    if (!e) return SL_ENOMEM;
    e->base.vt = &mem_vtable;
    if (cfg) e->base.cfg = *cfg;
    e->base.cfg.data_dir = NULL;
    pthread_mutex_init(&e->reg_mu, NULL);
    pthread_mutex_init(&e->q_mu, NULL);
    pthread_cond_init(&e->q_cond, NULL);
    atomic_init(&e->pending_bytes, 0);
    if (pthread_create(&e->thread, NULL, mem_commit_main, e) != 0) {
        pthread_mutex_destroy(&e->reg_mu);
        pthread_mutex_destroy(&e->q_mu);
        pthread_cond_destroy(&e->q_cond);
        free(e);
        return SL_ENOMEM;
    }
    *out = &e->base;
    return 0;
}
