/* Dispatch of the public storage API (backend.h) to the backend that opened the engine. */
#include "storage/internal.h"

#include "core/common.h"

#include <stdatomic.h>
#include <string.h>

bool sl_storage_key_valid(const char *key) {
    size_t n = key ? strlen(key) : 0;
    if (n == 0 || n > SL_STORAGE_KEY_BYTES_MAX) return false;
    if (strcmp(key, ".") == 0 || strcmp(key, "..") == 0) return false;
    for (size_t i = 0; i < n; i++) {
        char c = key[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '.' || c == '-';
        if (!ok) return false;
    }
    return true;
}

void sl_storage_close(sl_storage_t *st) {
    if (st) st->vt->close(st);
}

int sl_storage_list(sl_storage_t *st,
                    void (*fn)(void *arg, const char *stream_key, const char *shard_key),
                    void *arg) {
    return st->vt->list(st, fn, arg);
}

int sl_storage_usage(sl_storage_t *st, sl_storage_usage_fn fn, void *arg) {
    return st->vt->usage ? st->vt->usage(st, fn, arg) : 0;
}

int sl_storage_shard_open(sl_storage_t *st, const char *stream_key, const char *shard_key,
                          void *user, sl_shard_log_t **out) {
    if (!sl_storage_key_valid(stream_key) || !sl_storage_key_valid(shard_key)) return SL_EINVAL;
    return st->vt->shard_open(st, stream_key, shard_key, user, out);
}

void *sl_shard_log_user(const sl_shard_log_t *log) {
    return log->user;
}

void sl_storage_shard_close(sl_shard_log_t *log) {
    if (log) log->st->vt->shard_close(log);
}

int sl_storage_stream_delete(sl_storage_t *st, const char *stream_key) {
    if (!sl_storage_key_valid(stream_key)) return SL_EINVAL;
    return st->vt->stream_delete(st, stream_key);
}

int sl_storage_append(sl_shard_log_t *log, const sl_record_t *records, size_t n, sl_append_cb cb,
                      void *arg) {
    if (!records || n == 0 || !cb) return SL_EINVAL;
    return log->st->vt->append(log, records, n, cb, arg);
}

void sl_storage_group_done(sl_append_group_t *g) {
    sl_append_batch_t *b = g->batch_;
    if (atomic_fetch_sub_explicit(&b->pending_, 1, memory_order_acq_rel) == 1) b->cb(b);
}

static void group_cb(void *arg, int status, uint64_t first_seq, int64_t arrival_ms) {
    sl_append_group_t *g = arg;
    g->status = status;
    g->first_seq = first_seq;
    g->arrival_ms = arrival_ms;
    sl_storage_group_done(g);
}

int sl_storage_append_batch(sl_storage_t *st, sl_append_batch_t *b) {
    if (!b || !b->cb || b->n == 0) return SL_EINVAL;
    for (size_t i = 0; i < b->n; i++) {
        sl_append_group_t *g = &b->groups[i];
        if (!g->log || g->log->st != st || !g->records || g->n == 0) return SL_EINVAL;
        g->batch_ = b;
        g->status = 0;
        g->queued = false;
        g->first_seq = 0;
        g->arrival_ms = 0;
    }
    /* One count per group and one for this call, so that no completion runs the callback while
     * groups are still being queued. */
    atomic_store_explicit(&b->pending_, b->n + 1, memory_order_relaxed);
    if (st->vt->append_batch) return st->vt->append_batch(st, b);
    size_t queued = 0;
    int first_rc = 0;
    for (size_t i = 0; i < b->n; i++) {
        sl_append_group_t *g = &b->groups[i];
        int rc = st->vt->append(g->log, g->records, g->n, group_cb, g);
        if (rc == 0) {
            g->queued = true;
            queued++;
            continue;
        }
        g->status = rc;
        if (!first_rc) first_rc = rc;
        atomic_fetch_sub_explicit(&b->pending_, 1, memory_order_acq_rel);
    }
    return sl_storage_batch_queued(b, queued, first_rc);
}

int sl_storage_batch_queued(sl_append_batch_t *b, size_t queued, int first_rc) {
    /* Nothing queued: no callback (the contract of a failed call). */
    if (queued == 0) return first_rc ? first_rc : SL_EINVAL;
    if (atomic_fetch_sub_explicit(&b->pending_, 1, memory_order_acq_rel) == 1) b->cb(b);
    return 0;
}

int sl_storage_read(sl_shard_log_t *log, uint64_t from_seq, size_t records_max, size_t bytes_max,
                    int64_t min_arrival_ms, sl_read_cb cb, void *arg) {
    if (!cb || records_max == 0) return SL_EINVAL;
    return log->st->vt->read(log, from_seq, records_max, bytes_max, min_arrival_ms, cb, arg);
}

int sl_storage_read_memory(sl_shard_log_t *log, uint64_t from_seq, size_t records_max,
                           size_t bytes_max, int64_t min_arrival_ms, sl_read_result_t **out) {
    *out = NULL;
    if (records_max == 0) return SL_EINVAL;
    if (log->st->vt->read_memory)
        return log->st->vt->read_memory(log, from_seq, records_max, bytes_max, min_arrival_ms, out);
    return SL_EAGAIN;
}

void sl_storage_read_free(sl_read_result_t *res) {
    if (!res || !res->mem) return;
    /* The first word of every backend's read memory is its free function. */
    void (**freefn)(sl_read_result_t *) = res->mem;
    (*freefn)(res);
}

int sl_storage_seek_time(sl_shard_log_t *log, int64_t ts_ms, uint64_t *seq_out) {
    return log->st->vt->seek_time(log, ts_ms, seq_out);
}

int sl_storage_bounds(sl_shard_log_t *log, sl_shard_bounds_t *out) {
    return log->st->vt->bounds(log, out);
}

int sl_storage_trim(sl_shard_log_t *log, int64_t cutoff_ms) {
    return log->st->vt->trim(log, cutoff_ms);
}

int sl_storage_shard_set_floor(sl_shard_log_t *log, uint64_t floor_seq) {
    if (floor_seq == 0) return SL_EINVAL;
    return log->st->vt->set_floor(log, floor_seq);
}
