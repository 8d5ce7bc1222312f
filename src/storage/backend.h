/* Storage backend interface: the log engine under every shard (docs/architecture.md "Layers";
 * docs/storage-format.md for the file engine).
 *
 * Two implementations share this interface and the same tests: the segment-file engine
 * (storage/file*.c: append-only segments, sparse indexes, group commit, recovery, retention) and an
 * in-memory twin (storage/memory.c). A remote engine (NATS JetStream) can slot in later, so appends
 * complete through a callback and reads may complete after the call returns.
 *
 * Positions: every record in a shard log gets a shard-local 64-bit counter `seq`, assigned by the
 * backend at append time, starting at 1, strictly increasing, never reused (the file engine makes
 * it contiguous). The Kinesis layer encodes it into the public SequenceNumber. Arrival times are
 * non-decreasing within a shard log (the backend stores max(given, previous)).
 *
 * Threads: every function is thread-safe. Callbacks run on a storage thread (the commit thread for
 * the file engine) and must not block; they typically post to a network loop. Readers only ever see
 * committed records (durable under the configured policy). */
#ifndef SL_STORAGE_BACKEND_H
#define SL_STORAGE_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sl_storage sl_storage_t;
/* The file engine's I/O table (storage/fileops.h, for the engine and tests only). */
typedef struct sl_file_ops sl_file_ops_t;
typedef struct sl_shard_log sl_shard_log_t;

typedef enum {
    SL_DURABILITY_SYNC = 0, /* default: acknowledged => fdatasync'd (group commit) */
    SL_DURABILITY_INTERVAL, /* acknowledged after write(); fdatasync every flush_interval_ms */
    SL_DURABILITY_NONE,     /* acknowledged after write(); the OS decides when to flush */
} sl_durability_t;

typedef struct {
    const char *data_dir; /* file engine: logs live under <data_dir>/streams/ */
    sl_durability_t durability;
    int flush_interval_ms; /* SL_DURABILITY_INTERVAL */
    size_t segment_bytes;  /* roll the active segment beyond this (0 = default) */
    size_t journal_bytes; /* file engine, durability=sync: commit journal ring size (0 = default) */
    int commit_interval_us; /* file engine, durability=sync: under load a commit round starts once
                             * as many appends are queued as the previous round took plus those
                             * queued while it committed (less one), at the latest this long after
                             * the previous one started (0 = at once; sl_file_commit_main) */
    const sl_file_ops_t *file_ops; /* NULL = the real POSIX calls */
    /* Called after records of `log` become committed (visible); next_seq is the new tip. Runs on a
     * storage thread; may be NULL. Used to wake long-polling readers and push consumers. */
    void (*on_commit)(void *ctx, sl_shard_log_t *log, uint64_t next_seq);
    void *ctx;
} sl_storage_config_t;

/* One record, as appended and as read back: a key, attributes and data, which storage keeps as
 * opaque bytes (the owner gives them meaning: Kinesis stores the partition key as the key and the
 * explicit hash key as the attributes; kinesis/kinesis.h maps the names). Key and attributes are
 * at most 65535 bytes each (the frame's u16 lengths); attributes are NULL/0-length when there are
 * none. For reads the pointers point into the read result's memory. The seq and the arrival time
 * are storage's own. */
typedef struct {
    uint64_t seq; /* ignored on append; set on read */
    int64_t arrival_ms;
    const char *key;
    size_t key_len;
    const char *attributes;
    size_t attributes_len;
    const uint8_t *data;
    size_t data_len;
} sl_record_t;

typedef struct {
    uint64_t first_seq;       /* oldest retained record (trim horizon); == next_seq when empty */
    uint64_t next_seq;        /* committed tip: seq the next committed record will have */
    int64_t first_arrival_ms; /* of first_seq's record, 0 if empty */
    int64_t last_arrival_ms;  /* of the newest committed record, 0 if empty */
    uint64_t bytes;           /* bytes on disk (or in memory) */
} sl_shard_bounds_t;

typedef struct {
    sl_record_t *records;
    size_t count;
    size_t bytes;             /* sum of data_len + key_len of returned records */
    uint64_t next_seq;        /* where to continue: after the last returned record, else the
                                 position actually read from (>= from_seq, >= trim horizon) */
    sl_shard_bounds_t bounds; /* bounds at read time */
    void *mem;                /* backend-owned memory behind the pointers */
} sl_read_result_t;

/* status: 0, or SL_EIO / SL_ENOSPC / SL_ECLOSED. first_seq: seq of the first appended record; the
 * batch got first_seq .. first_seq+n-1 in order. arrival_ms: the arrival time stored with the first
 * record, max(its given time, the previous record's); records of one append that were given the
 * same time all got this one, which is what a read returns for them. 0 and 0 on failure. */
typedef void (*sl_append_cb)(void *arg, int status, uint64_t first_seq, int64_t arrival_ms);
/* status: 0 or a negative code; res is valid only during the callback unless the callee keeps it,
 * in which case it must call sl_storage_read_free(res) later (see sl_storage_read). */
typedef void (*sl_read_cb)(void *arg, int status, sl_read_result_t *res);

/* ---- lifecycle ---- */
/* Opens the file engine on cfg->data_dir (creating directories), recovering nothing yet: recovery
 * of a shard happens in sl_storage_shard_open. */
int sl_storage_open_file(const sl_storage_config_t *cfg, sl_storage_t **out);
int sl_storage_open_memory(const sl_storage_config_t *cfg, sl_storage_t **out);
/* Flushes everything pending (completing callbacks), stops threads, closes every shard log. */
void sl_storage_close(sl_storage_t *st);

/* Shard logs on disk, for reconciliation with the catalog: calls fn once per existing log with
 * its stream key and shard key (the names passed to sl_storage_shard_open). The file engine
 * creates a log on its first append, so a shard that was opened but never written is not listed
 * (it is an empty log). */
int sl_storage_list(sl_storage_t *st,
                    void (*fn)(void *arg, const char *stream_key, const char *shard_key),
                    void *arg);

/* What a stream's logs occupy on disk, for the metrics (docs/observability.md, "Storage"):
 * segments (segment files of every shard) and bytes (the segment and index files' sizes). */
typedef void (*sl_storage_usage_fn)(void *arg, const char *stream_key, uint64_t segments,
                                    uint64_t bytes);
/* Calls fn once per stream key with logs on disk, read from the directory tree (no lock taken,
 * nothing opened for writing: a read-only look, which may miss a segment created or deleted
 * meanwhile). The memory engine reports nothing. Returns 0, SL_EIO or SL_ENOMEM. */
int sl_storage_usage(sl_storage_t *st, sl_storage_usage_fn fn, void *arg);

/* Opens the log of one shard: <data_dir>/streams/<stream_key>/<shard_key>/. Recovers the active
 * segment's tail (truncating at the first bad record, logging exactly what was cut). A log that
 * does not exist yet is opened empty without touching the disk; its directory and files are
 * created (durably) by the first commit round that has appends for it. `user` is returned by
 * sl_shard_log_user (for on_commit). Keys: [A-Za-z0-9_.-]{1,200}. */
int sl_storage_shard_open(sl_storage_t *st, const char *stream_key, const char *shard_key,
                          void *user, sl_shard_log_t **out);
void *sl_shard_log_user(const sl_shard_log_t *log);
/* Makes the log's next seq at least floor_seq: the Kinesis layer's sequence reservation, so that
 * a log that lost records at rest (a deleted directory, missing segments, a cut tail) never hands
 * out a seq again. A no-op when the tip is already there. Call after sl_storage_shard_open and
 * before the first append (SL_EINVAL once appends were committed, or are being; the file engine
 * does not see appends still queued, so the order is the caller's to keep). The file engine starts
 * a new segment at floor_seq (the gap is skipped by reads, as a gap between damaged segments is);
 * the memory engine accepts a floor only while it holds no records. */
int sl_storage_shard_set_floor(sl_shard_log_t *log, uint64_t floor_seq);
/* Closes the handle (pending appends complete first). No append to the log may run concurrently
 * with its close, nor follow it: the file engine's appends do not touch the log's state until the
 * commit thread takes them, so a close waits for every append queued before it. */
void sl_storage_shard_close(sl_shard_log_t *log);
/* Deletes a whole stream's logs (every shard of stream_key); shard handles must be closed first. */
int sl_storage_stream_delete(sl_storage_t *st, const char *stream_key);

/* ---- data ---- */
/* Appends n >= 1 records atomically with respect to other appends to this log (they get contiguous
 * seqs in call order). Returns 0 and later calls cb exactly once; or returns a negative code
 * (SL_EAGAIN: pending bytes over SL_STORAGE_PENDING_BYTES_MAX; SL_ENOSPC/SL_EIO: the engine is in
 * a failed state and has not recovered yet; SL_ENOMEM; SL_ECLOSED from the memory engine, for a log
 * being closed) and never calls cb. Record bytes are copied
 * before the call returns. */
int sl_storage_append(sl_shard_log_t *log, const sl_record_t *records, size_t n, sl_append_cb cb,
                      void *arg);

/* One shard's share of a batch append (sl_storage_append_batch): the caller fills log, records
 * and n (and may use user); storage fills the results, which are final when the batch's callback
 * runs. */
typedef struct sl_append_group {
    sl_shard_log_t *log;
    const sl_record_t *records;
    size_t n; /* >= 1 */
    void *user;
    /* results: status 0 (the group got first_seq .. first_seq + n - 1, arrival_ms as for
     * sl_append_cb) or a negative code; queued is false when the group was refused before it was
     * queued (it consumed no seq: SL_ECLOSED, SL_ENOMEM, SL_EINVAL), true otherwise */
    int status;
    bool queued;
    uint64_t first_seq;
    int64_t arrival_ms;
    struct sl_append_batch *batch_; /* storage's own */
} sl_append_group_t;

/* The groups of one request, appended with one call and completed with one callback. The caller
 * owns the struct and the groups until cb runs. */
typedef struct sl_append_batch {
    sl_append_group_t *groups;
    size_t n;
    void (*cb)(struct sl_append_batch *b);
    void *arg;
    _Atomic size_t pending_; /* storage's own */
} sl_append_batch_t;

/* Appends every group of b, each to its own log exactly as sl_storage_append would (atomically
 * with respect to other appends to that log, contiguous seqs in call order), at the cost of one
 * operation: the file engine queues each share without a callback of its own, and b->cb runs
 * exactly once when every queued group has completed (on a storage thread, or on the calling
 * thread before this returns when every group completed meanwhile). The logs must all belong to
 * one engine (st). Returns 0 when at least one group was queued (cb will run; refused groups have
 * queued false and their status set); or a negative code with cb never called, when nothing was
 * queued (SL_EAGAIN, SL_ENOSPC, SL_EIO, SL_EINVAL as for sl_storage_append; each group's status
 * says why). */
int sl_storage_append_batch(sl_storage_t *st, sl_append_batch_t *b);

/* Reads committed records with seq >= from_seq (from_seq below the trim horizon reads from the
 * horizon), skipping records with arrival_ms < min_arrival_ms (retention cut-off; 0 = none), up
 * to records_max records and bytes_max bytes (at least one record is returned when one is
 * available, even if larger than bytes_max). cb may run before sl_storage_read returns. The result
 * is valid until sl_storage_read_free(res), which the callback's owner must call. */
int sl_storage_read(sl_shard_log_t *log, uint64_t from_seq, size_t records_max, size_t bytes_max,
                    int64_t min_arrival_ms, sl_read_cb cb, void *arg);
void sl_storage_read_free(sl_read_result_t *res);
/* The same read, done at once on the caller's thread, but only when the engine can serve it from
 * memory alone (no file I/O, no descriptor opened): the file engine serves it when the records
 * are in the shard's in-memory tail (the last ones committed through the journal) and copies at
 * most SL_STORAGE_MEMORY_READ_BYTES_MAX bytes; the memory engine always serves it. So a reader
 * that keeps up (SubscribeToShard) gets new records without a trip to a reader thread. Returns 0
 * with *out set (free with sl_storage_read_free) and exactly the result sl_storage_read would give;
 * or SL_EAGAIN when the read needs the disk or more memory than the bound (use sl_storage_read), or
 * another negative code. */
int sl_storage_read_memory(sl_shard_log_t *log, uint64_t from_seq, size_t records_max,
                           size_t bytes_max, int64_t min_arrival_ms, sl_read_result_t **out);

/* Seq of the first committed record with arrival_ms >= ts_ms, or the tip when there is none. */
int sl_storage_seek_time(sl_shard_log_t *log, int64_t ts_ms, uint64_t *seq_out);
int sl_storage_bounds(sl_shard_log_t *log, sl_shard_bounds_t *out);
/* Deletes whole segments whose newest record arrived before cutoff_ms (retention). */
int sl_storage_trim(sl_shard_log_t *log, int64_t cutoff_ms);

#endif
