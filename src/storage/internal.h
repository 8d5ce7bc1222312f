/* Internals shared by the storage backends: the dispatch table behind backend.h and the common
 * head of the engine and shard-log structs. The engine's bounds, user-facing or not, are in
 * core/limits.h (STYLE.md: every bound in one place). */
#ifndef SL_STORAGE_INTERNAL_H
#define SL_STORAGE_INTERNAL_H

#include "core/limits.h"
#include "storage/backend.h"
#include "storage/fileops.h"

#include <stdbool.h>

/* Shared commit journal (durability=sync, docs/storage-format.md; sizes in core/limits.h): a shard
 * whose share of a round is at least JOURNAL_DIRECT_BYTES is written and fdatasync'd in its own
 * segment instead (large records gain nothing from being written twice); journaled frames gather
 * in memory per shard until TAIL_FLUSH_BYTES and are then written to the segment without a sync; a
 * checkpoint (one syncfs) runs every CHECKPOINT_MS or when half of the ring is in use; the journal
 * file grows by GROW_BYTES of zeros at a time during its first lap. */

typedef struct {
    void (*close)(sl_storage_t *st);
    int (*list)(sl_storage_t *st, void (*fn)(void *, const char *, const char *), void *arg);
    /* NULL: the engine keeps nothing on disk (sl_storage_usage reports nothing) */
    int (*usage)(sl_storage_t *st, sl_storage_usage_fn fn, void *arg);
    int (*shard_open)(sl_storage_t *st, const char *stream_key, const char *shard_key, void *user,
                      sl_shard_log_t **out);
    void (*shard_close)(sl_shard_log_t *log);
    int (*stream_delete)(sl_storage_t *st, const char *stream_key);
    int (*append)(sl_shard_log_t *log, const sl_record_t *records, size_t n, sl_append_cb cb,
                  void *arg);
    /* NULL: sl_storage_append_batch calls append once per group */
    int (*append_batch)(sl_storage_t *st, sl_append_batch_t *b);
    int (*read)(sl_shard_log_t *log, uint64_t from_seq, size_t records_max, size_t bytes_max,
                int64_t min_arrival_ms, sl_read_cb cb, void *arg);
    void (*read_free)(sl_read_result_t *res);
    int (*read_memory)(sl_shard_log_t *log, uint64_t from_seq, size_t records_max, size_t bytes_max,
                       int64_t min_arrival_ms, sl_read_result_t **out);
    int (*seek_time)(sl_shard_log_t *log, int64_t ts_ms, uint64_t *seq_out);
    int (*bounds)(sl_shard_log_t *log, sl_shard_bounds_t *out);
    int (*trim)(sl_shard_log_t *log, int64_t cutoff_ms);
    int (*set_floor)(sl_shard_log_t *log, uint64_t floor_seq);
} sl_storage_vtable_t;

/* First member of every backend's engine struct. */
struct sl_storage {
    const sl_storage_vtable_t *vt;
    sl_storage_config_t cfg;
};

/* First member of every backend's shard-log struct. */
struct sl_shard_log {
    sl_storage_t *st;
    void *user;
};

/* True when key matches [A-Za-z0-9_.-]{1,200} and is not "." or "..". */
bool sl_storage_key_valid(const char *key);
/* A group of a batch append completed (status, first_seq and arrival_ms set): the last one runs
 * the batch's callback. Any thread. */
void sl_storage_group_done(sl_append_group_t *g);
/* The end of a backend's append_batch: queued groups were queued (their completions call
 * sl_storage_group_done), the others were refused and counted down already. Drops the call's own
 * count; returns 0, or first_rc when nothing was queued (then the callback never runs). */
int sl_storage_batch_queued(sl_append_batch_t *b, size_t queued, int first_rc);
/* Total bytes a record counts against a read budget (data + partition key). */
static inline size_t sl_record_budget_bytes(const sl_record_t *r) {
    return r->data_len + r->key_len;
}

#endif
