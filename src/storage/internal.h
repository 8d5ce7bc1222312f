/* Internals shared by the storage backends: the dispatch table behind backend.h, the common head
 * of the engine and shard-log structs, and engine constants that are not user-facing limits. */
#ifndef SL_STORAGE_INTERNAL_H
#define SL_STORAGE_INTERNAL_H

#include "storage/backend.h"
#include "storage/fileops.h"

#include <stdbool.h>

/* After a failed write or sync, appends fail fast with the same code for this long before the
 * engine tries the disk again (so a full disk is not hammered, yet recovery needs no restart). */
#define SL_STORAGE_FAILED_RETRY_MS 100
/* Threads that run the fdatasync calls of one group commit in parallel (the commit thread is one). */
#define SL_STORAGE_SYNC_THREADS 4
/* A commit round touching at least this many files makes them durable with one syncfs(2) instead
 * of one fdatasync each: with thousands of shards a PutRecords batch touches hundreds of files, and
 * the cost of per-file syncs grows with their number while one syncfs costs about one journal
 * commit (measured with bench/compare's shard-scaling curve). */
#define SL_STORAGE_SYNCFS_MIN_FILES 8
/* A shard log with no appends or reads for this long gives back its file descriptors and buffers. */
#define SL_STORAGE_IDLE_CLOSE_MS 5000
/* Open segment/index descriptors above which the commit thread closes those of shards unused for
 * SL_STORAGE_FD_PRESSURE_IDLE_MS (they reopen on demand), so 10,000 shards fit a 20,000-fd limit. */
#define SL_STORAGE_OPEN_FDS_MAX 4096
/* ...or this share (percent) of RLIMIT_NOFILE when larger: the rest is left for sockets. */
#define SL_STORAGE_OPEN_FDS_SHARE_PCT 60
#define SL_STORAGE_FD_PRESSURE_IDLE_MS 100
/* Shards written per commit sub-round: bounds the descriptors a round needs open at once. */
#define SL_STORAGE_ROUND_SHARDS_MAX 1024
/* Shared commit journal (durability=sync, docs/storage-format.md): default ring size; a shard whose
 * share of a round is at least JOURNAL_DIRECT_BYTES is written and fdatasync'd in its own segment
 * instead (large records gain nothing from being written twice); journaled frames gather in
 * memory per shard until TAIL_FLUSH_BYTES and are then written to the segment without a sync; a
 * checkpoint (one syncfs) runs every CHECKPOINT_MS or when half of the ring is in use; the
 * journal file grows by GROW_BYTES of zeros at a time during its first lap. */
#define SL_STORAGE_JOURNAL_BYTES_DEFAULT (128u * 1024 * 1024)
#define SL_STORAGE_JOURNAL_BYTES_MAX (1024u * 1024 * 1024)
#define SL_STORAGE_JOURNAL_DIRECT_BYTES (64u * 1024)
#define SL_STORAGE_TAIL_FLUSH_BYTES (32u * 1024)
#define SL_STORAGE_CHECKPOINT_MS 2000
#define SL_STORAGE_JOURNAL_GROW_BYTES (4u * 1024 * 1024)
/* Tails written out per pass when they start more than a quarter of the journal ring back. */
#define SL_STORAGE_TAIL_AGE_FLUSH_MAX 256
/* Longest key (stream key or shard key) accepted as a directory name. */
#define SL_STORAGE_KEY_BYTES_MAX 200

typedef struct {
    void (*close)(sl_storage_t *st);
    int (*list)(sl_storage_t *st, void (*fn)(void *, const char *, const char *), void *arg);
    int (*shard_open)(sl_storage_t *st, const char *stream_key, const char *shard_key, void *user, sl_shard_log_t **out);
    void (*shard_close)(sl_shard_log_t *log);
    int (*stream_delete)(sl_storage_t *st, const char *stream_key);
    int (*append)(sl_shard_log_t *log, const sl_record_t *records, size_t n, sl_append_cb cb, void *arg);
    int (*read)(sl_shard_log_t *log, uint64_t from_seq, size_t records_max, size_t bytes_max, int64_t min_arrival_ms,
                sl_read_cb cb, void *arg);
    void (*read_free)(sl_read_result_t *res);
    int (*seek_time)(sl_shard_log_t *log, int64_t ts_ms, uint64_t *seq_out);
    int (*bounds)(sl_shard_log_t *log, sl_shard_bounds_t *out);
    int (*trim)(sl_shard_log_t *log, int64_t cutoff_ms);
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
/* Total bytes a record counts against a read budget (data + partition key). */
static inline size_t sl_record_budget_bytes(const sl_record_t *r) { return r->data_len + r->partition_key_len; }

#endif
