/* Opening and closing a Kinesis engine: what the composition root (server/compose.c) and the
 * offline tools (server/check.c) need, and nothing of the engine's state or its lock, which stay
 * private to kinesis/ (engine.h; tools/check_rules.py enforces it). The typed operations are in
 * kinesis.h (data plane) and control.h (control plane). */
#ifndef SL_KINESIS_OPEN_H
#define SL_KINESIS_OPEN_H

#include "catalog/catalog.h"
#include "kinesis/fault.h"
#include "kinesis/status.h"
#include "kms/kms.h"
#include "storage/backend.h"

#include <stdbool.h>
#include <stdint.h>

/* Seqs reserved at a time: one catalog write per shard per SL_KINESIS_SEQ_BLOCK records. A raise
 * is requested when fewer than half a block remain, so an append waits for one only when a shard
 * takes half a block (524,288 records) faster than one catalog commit. `sluice
 * check` and `sluice repair` reason about reservations in these blocks too. */
#define SL_KINESIS_SEQ_BLOCK (UINT64_C(1) << 20)

/* The reader pool (read.c): threads that run storage reads and seeks off the network threads. */
typedef struct sl_kreadpool sl_kreadpool_t;

typedef struct {
    sl_catalog_t *catalog; /* not owned: opened by the composition root (server/compose.c) */
    sl_storage_t *storage; /* not owned; its on_commit must be sl_kinesis_storage_commit */
    const char *data_dir;  /* for log messages, and where the catalog's backup is kept (copied) */
    const char *region;
    const char *account;
    /* Prepended to every stream's storage key ("" for the default account, "<account id>." for
     * the others), so accounts share one storage backend without sharing a log. */
    const char *storage_prefix;
    /* The reader pool (sl_kreadpool_create, below) shared by every account's engine: not
     * owned, created by the composition root before the engines and destroyed after them. NULL =
     * the engine starts a pool of its own (tests, tools). */
    sl_kreadpool_t *readpool;
    int64_t create_stream_ms, delete_stream_ms, update_stream_ms, consumer_ms;
    int64_t iterator_ttl_ms; /* shard iterator lifetime (0 = SL_KINESIS_ITERATOR_TTL_MS) */
    int64_t shard_limit;
    int64_t on_demand_stream_limit;
    /* AWS's per-shard write and GetRecords limits (kinesis/throttle.h); false = no throttling */
    bool throughput_limits;
    /* their rates (--shard-write-bytes-per-s ...); 0 = AWS's number */
    int64_t shard_write_bytes_per_s, shard_write_records_per_s;
    int64_t shard_read_bytes_per_s, shard_read_calls_per_s;
    int64_t efo_bytes_per_s; /* per enhanced fan-out consumer and shard */
    /* On-demand scaling (kinesis/scale.c; docs/capacity.md): off = ON_DEMAND streams keep their
     * shards. A shard above up_share of its capacity for window_ms splits; two adjacent shards
     * below down_share for window_ms merge; open shards stay within [shards_min, shards_max]. */
    bool on_demand_scaling;
    double on_demand_scale_up_share, on_demand_scale_down_share;
    int64_t on_demand_window_ms;
    int64_t on_demand_shards_min, on_demand_shards_max;
    /* AWS's control-plane quotas (kinesis/quota.c): UpdateShardCount 10 and key changes 25 per
     * stream per rolling 24 h, SplitShard/MergeShards 5 per second per account */
    bool quotas;
    /* Fault injection rules (kinesis/fault.h, copied at open; NULL = none). */
    const sl_kfaults_t *faults;
    /* KMS (not owned; the composition root loads the account's keys before the engine): with it,
     * StartStreamEncryption encrypts new records at rest (kinesis/crypt.c); NULL = the
     * encryption settings are kept but records are stored as given (tests, tools). */
    sl_kms_t *kms;
} sl_kinesis_config_t;

/* Loads every stream from cfg->catalog, opens every shard log in cfg->storage (recovering their
 * tails) and reconciles logs and catalog, then starts the background thread. The catalog and the
 * storage stay the caller's (the composition root opens them before and closes them after). */
int sl_kinesis_open(const sl_kinesis_config_t *cfg, sl_kinesis_t **out);
/* Replaces the engine's fault-injection rules (kinesis/fault.h; copied) while it serves: the
 * admin API's changes (server/faults.c). Calls already past their draw keep what they drew. */
void sl_kinesis_faults_set(sl_kinesis_t *k, const sl_kfaults_t *f);
/* Stops the background thread and closes the engine's shard logs (not the catalog or storage). */
void sl_kinesis_close(sl_kinesis_t *k);
/* The storage on_commit callback (ctx unused): records of a shard log opened by an engine became
 * committed; calls that engine's commit listeners (kinesis.h). Runs on a storage thread. */
void sl_kinesis_storage_commit(void *ctx, sl_shard_log_t *log, uint64_t next_seq);

/* Starts a reader pool of `threads` threads (1..SL_KINESIS_READ_THREADS_MAX) with a queue of at
 * most SL_KINESIS_READ_QUEUE_MAX jobs (beyond, reads are throttled). One pool serves every
 * account's engine (sl_kinesis_config_t.readpool); the composition root creates it before the
 * engines and destroys it after every engine that uses it was closed (each close waits for its
 * own jobs). */
int sl_kreadpool_create(int threads, sl_kreadpool_t **out);
void sl_kreadpool_destroy(sl_kreadpool_t *p);

#endif
