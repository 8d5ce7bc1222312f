/* The Kinesis engine, private to kinesis/: every stream, shard and consumer of the node, their
 * lifecycle states, and their logs. Owns the in-memory view of the catalog (which it writes through
 * on every change) and one storage handle per shard. Knows nothing of HTTP or JSON. Callers outside
 * kinesis/ use the typed API (kinesis.h: the data plane; control.h: the control plane), which takes
 * the lock itself; only the composition root (server/) includes this header, to open and close the
 * engine. tools/check_rules.py fails when api/ includes it or calls the lock functions.
 *
 * Locking: one reader-writer lock guards all metadata (streams, shards, consumers, tags, policies).
 * Data-plane calls (kinesis.h: put, iterators, the reader) hold it for reading only inside
 * kinesis/, while they look up shards and hand records to storage; reads and seeks run on the
 * reader pool without it. Control-plane changes hold it for writing. Storage has its own locks
 * below this one. Lock order, outermost first: engine lock, then the fan-out registry's mutex
 * (listen.c; never held while taking the engine lock), then the reader pool's mutex, then storage's
 * locks (registry -> shard -> queue, see storage/file_internal.h), with the catalog's mutex
 * innermost.
 *
 * Lifecycle states are evaluated lazily: a stream in CREATING whose status_until_ms has passed is
 * ACTIVE to every reader (sl_kstream_status), so a delay of 0 makes the transition complete before
 * the next request; a background thread persists due transitions and removes deleted streams. */
#ifndef SL_KINESIS_ENGINE_H
#define SL_KINESIS_ENGINE_H

#include "catalog/catalog.h"
#include "kinesis/fault.h"
#include "kinesis/hashkey.h"
#include "kinesis/kinesis.h"
#include "kinesis/open.h"
#include "kinesis/status.h"
#include "kinesis/throttle.h"
#include "storage/backend.h"

#include <assert.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sl_kstream sl_kstream_t;
struct sl_kerr;        /* sl_kerr_t, kinesis.h */
struct sl_kstream_ref; /* sl_kstream_ref_t, kinesis.h */

typedef struct {
    char *key;
    char *value;
} sl_ktag_t;

typedef struct {
    sl_ktag_t *items; /* sorted by key */
    size_t count;
} sl_ktags_t;

typedef struct sl_kshard {
    /* The fields a put reads or writes come first, in the struct's first two cache lines (it is
     * allocated 64-byte aligned): with thousands of shards each record's shard is a cache miss
     * away, and a put touches these for every record (route: start; group: id, index, log,
     * created_ms; claim: seq_reserved, seq_claimed; inflight). */
    sl_kstream_t *stream;
    uint32_t index;
    /* Appends handed to storage and not completed yet (atomic). A closed shard has ended only
     * when readers are caught up AND none is in flight: an append accepted just before a split
     * or merge commits after the parent was closed, and must still be read from the parent. */
    int inflight;
    char id[24];         /* shardId-000000000000 */
    sl_shard_log_t *log; /* owned */
    int64_t created_ms;
    int64_t closed_ms;    /* 0 = open */
    sl_u128_t start, end; /* hash key range, inclusive */
    /* Sequence reservation (docs/storage-format.md, "Sequence reservations"): storage never hands
     * out a seq >= seq_reserved, a bound the catalog holds before it is raised here, so a log that
     * loses records at rest never reuses their seqs. seq_claimed is an upper bound of the next seq
     * storage assigns: the tip at open plus every record handed to storage since. seq_written is
     * the catalog's seq_written (records below it were committed). All atomic. */
    uint64_t seq_reserved, seq_claimed, seq_written;
    uint64_t seq_tip; /* the committed tip as last reported by storage (atomic) */
    char start_dec[40], end_dec[40];
    int32_t parent, adjacent_parent; /* shard indexes, -1 = none */
    /* Reader-pool jobs using `log` without the engine lock (atomic; counted under the read lock):
     * the background thread closes the log only while this is 0 and it holds the write lock. */
    int readers;
    uint64_t seq_start;   /* the seq this run's first record gets at least (set at open) */
    uint64_t seq_raising; /* (reserve thread) the reservation being persisted, 0 = none */
    int seq_persist;      /* atomic flag: the reserve thread should persist this shard's bounds */
    sl_kshard_limits_t limits; /* used only with cfg.throughput_limits (throttle.h) */
    /* On-demand scaling (scale.c): writes handed to storage (atomic; ON_DEMAND streams only), and
     * the scaler's view of them (the background thread's only) */
    uint64_t put_bytes, put_records;
    uint64_t seen_bytes, seen_records;
    int64_t hot_since_ms, cold_since_ms; /* 0 = not hot / not cold */
} sl_kshard_t;
static_assert(offsetof(sl_kshard_t, seq_tip) + sizeof(uint64_t) <= 128,
              "the put path's fields of sl_kshard_t fit its first two cache lines");

/* The catalog's backup (catalog.db.bak, for `sluice repair`) is refreshed once control-plane
 * changes have been quiet this long, and at the latest this long after the first pending one. */
#define SL_KINESIS_BACKUP_QUIET_MS 2000
#define SL_KINESIS_BACKUP_DELAY_MAX_MS 30000

/* The shard is closed and a reader positioned at the committed tip has read everything. */
static inline bool sl_kshard_ended(sl_kshard_t *sh, bool caught_up) {
    return sh->closed_ms && caught_up && __atomic_load_n(&sh->inflight, __ATOMIC_ACQUIRE) == 0;
}

typedef struct sl_kconsumer {
    char name[129];
    char arn[512];
    sl_kstatus_t status; /* CREATING / ACTIVE / DELETING */
    int64_t status_until_ms;
    int64_t created_ms;
    sl_ktags_t tags;
    char *policy;
} sl_kconsumer_t;

/* The times of a stream's last calls of one kind (quota.c), a ring; 0 = unused. */
typedef struct {
    int64_t at_ms[SL_KINESIS_KEY_CHANGES_PER_DAY_MAX];
    uint32_t next;
} sl_kquota_ring_t;

/* One data key of a stream (encryption at rest, kinesis/crypt.c): generated under the KMS key
 * key_arn by StartStreamEncryption, kept wrapped in the catalog, unwrapped here. */
typedef struct {
    char key_arn[160];
    uint8_t key[32];
    bool usable;  /* unwrapped (false when its KMS key was deleted) */
    uint64_t uid; /* process-unique: identifies the key in per-thread cipher contexts */
} sl_kdatakey_t;

struct sl_kstream {
    sl_kinesis_t *k; /* the engine (account) the stream belongs to */
    int64_t id;      /* catalog id */
    char name[129];
    char arn[512];
    char storage_key[192];
    sl_kstatus_t status;     /* stored state; see sl_kstream_status for the effective one */
    int64_t status_until_ms; /* when CREATING/UPDATING become ACTIVE, DELETING becomes gone */
    bool on_demand;
    int64_t created_ms;
    int32_t retention_hours;
    int32_t max_record_size_kib;
    bool encrypted;
    char key_id[2049];
    unsigned metrics;   /* bit i = sl_kmetric_names[i] */
    int64_t warm_mibps; /* -1 = none */
    uint32_t next_shard_index;
    sl_kshard_t **shards; /* by index ascending */
    size_t shard_count;
    size_t shard_cap; /* room in shards, open_shards and open_ends (sl_kstream_reserve) */
    sl_kshard_t *
        *open_shards;     /* open shards by StartingHashKey (routing index, sl_kstream_reindex) */
    sl_u128_t *open_ends; /* open_shards[i]->end, contiguous so that routing stays in cache */
    /* routing table (sl_kstream_reindex): bucket p of the top route_bits bits of a hash starts its
     * search at open_shards[route_table[p]] and ends it at route_table[p + 1]; 0 bits = none */
    uint32_t *route_table;
    unsigned route_bits;
    size_t open_count;
    sl_ktags_t tags;
    sl_kconsumer_t **consumers;
    size_t consumer_count;
    char *policy; /* resource policy JSON text or NULL */
    /* ON_DEMAND streams (scale.c): the stream's own write limit with cfg.throughput_limits, its
     * capacity in MiB/s (atomic; 0 = the minimum) and the peak write rate the scaler saw */
    sl_kbucket_t od_records, od_bytes;
    int64_t od_capacity_mibps;
    int64_t od_peak_bytes_per_s;
    /* control-plane quotas (quota.c; under the write lock) */
    sl_kquota_ring_t quota_scale, quota_key_start, quota_key_stop;
    /* Encryption at rest (crypt.c): data keys by generation - 1 (SL_KINESIS_DATA_KEYS_MAX slots,
     * NULL until the first StartStreamEncryption), appended under the write lock, and published
     * through dk_count (release), so a reader holding the read lock may use entries below it;
     * dk_current is the generation puts use while encrypted (0 = none). Freed with the stream. */
    sl_kdatakey_t *dks;
    size_t dk_count;
    uint16_t dk_current;
};

/* Encryption at rest (crypt.c). load: the stream's data keys from the catalog (at open). start:
 * the data key of the KMS key `key_id` (a new one, written to the catalog, unless the stream has
 * one for that key), made current; KMS errors as sl_kerr_t (caller holds the write lock).
 * check: the current key's KMS key is usable (puts). seal: encrypts the data of n records into
 * the arena (caller holds the read lock). open: decrypts the encrypted records of a read result
 * in place and fills op->record_encrypted (caller holds the read lock; s NULL = gone). */
int sl_kcrypt_load(sl_kinesis_t *k, sl_kstream_t *s);
bool sl_kcrypt_start(sl_kinesis_t *k, sl_kstream_t *s, const char *key_id, int64_t now_ms,
                     sl_kerr_t *err);
bool sl_kcrypt_check(sl_kinesis_t *k, const sl_kstream_t *s, int64_t now_ms, sl_kerr_t *err);
bool sl_kcrypt_seal(const sl_kstream_t *s, sl_record_t *records, size_t n, sl_arena_t *arena);
void sl_kcrypt_open(sl_kinesis_t *k, const sl_kstream_t *s, struct sl_kread *op);
void sl_kcrypt_free(sl_kstream_t *s);

/* Private state of the data-plane files (listen.c, read.c); owned by the engine. */
typedef struct sl_klisteners sl_klisteners_t;
typedef struct sl_kfanout_registry sl_kfanout_registry_t;

/* One engine's share of the reader pool (read.c; fields under the pool's mutex). */
typedef struct sl_kpool_client {
    size_t jobs; /* queued or running jobs of this engine */
    bool closed; /* the engine is closing: no new job */
} sl_kpool_client_t;

struct sl_kinesis {
    sl_kinesis_config_t cfg;
    char region[64];
    char account[16];
    char storage_prefix[16];
    pthread_rwlock_t lock;
    sl_catalog_t *catalog;
    sl_storage_t *storage;
    uint8_t token_key[32];  /* seals shard iterators and NextTokens; kept in the catalog */
    sl_kstream_t **streams; /* sorted by name (ListStreams order), includes DELETING ones */
    size_t stream_count;
    /* account settings */
    bool commitment_enabled;
    int64_t commitment_started_ms;
    /* background thread */
    pthread_t reaper;
    pthread_mutex_t reaper_mu;
    pthread_cond_t reaper_cv;
    bool stopping;
    /* data plane (kinesis.h): commit listeners, the SubscribeToShard registry, the reader pool */
    sl_klisteners_t *listeners;
    sl_kfanout_registry_t *fanout;
    sl_kreadpool_t *readpool; /* shared (cfg.readpool) unless readpool_owned */
    bool readpool_owned;
    sl_kpool_client_t pool_client;
    struct sl_kidem *idem; /* idempotency keys of puts (kinesis/idem.c) */
    /* reserve thread: persists raised sequence reservations (sl_kshard_seq_claim) */
    pthread_t reserver;
    bool reserver_started;
    pthread_mutex_t reserve_mu;
    pthread_cond_t reserve_cv;
    bool reserve_kicked; /* (reserve_mu) */
    bool reserve_stop;   /* (reserve_mu) */
    int reserve_error; /* atomic: why the last raise failed (0 = it did not): claims fail with it */
    /* catalog backup (<data_dir>/catalog.db.bak), refreshed by the background thread */
    int backup_due;            /* atomic flag: a control-plane change since the last backup */
    int64_t backup_changed_ms; /* atomic: time of the last control-plane change */
    int64_t
        backup_pending_ms;  /* (background thread) when the pending backup became due, 0 = none */
    char backup_path[1200]; /* <data_dir>/catalog.db.bak, "" = none */
    sl_kbucket_t quota_reshard;           /* SplitShard and MergeShards of the account (quota.c) */
    sl_klimit_rates_t rates;              /* the per-shard limits' rates (cfg, AWS's by default) */
    int64_t scale_last_ms, scale_next_ms; /* on-demand scaler (scale.c; background thread) */
    /* fault injection (fault.h): the rules (under the engine lock) and the draws' counter */
    sl_kfaults_t faults;
    uint64_t fault_draws; /* atomic */
};

static inline void sl_kinesis_rdlock(sl_kinesis_t *k) {
    pthread_rwlock_rdlock(&k->lock);
}
static inline void sl_kinesis_wrlock(sl_kinesis_t *k) {
    pthread_rwlock_wrlock(&k->lock);
}
static inline void sl_kinesis_unlock(sl_kinesis_t *k) {
    pthread_rwlock_unlock(&k->lock);
}
/* Data-plane internals (listen.c, read.c), called by engine.c. */
int sl_klisteners_init(sl_kinesis_t *k);
void sl_klisteners_deinit(sl_kinesis_t *k);
void sl_klisteners_notify(sl_kinesis_t *k, sl_kshard_t *shard, uint64_t next_seq);
/* Waits until no job of k is queued or running on its pool and refuses new ones (SL_ECLOSED). */
void sl_kreadpool_detach(sl_kinesis_t *k);
/* Wakes the background thread (after scheduling a state transition). */
void sl_kinesis_kick(sl_kinesis_t *k);
/* Removes `s` now if it is DELETING, its deletion is due at now_ms and no reader uses its logs
 * (caller holds the write lock; `s` is freed). Returns whether it was removed. */
bool sl_kinesis_reap_if_due(sl_kinesis_t *k, sl_kstream_t *s, int64_t now_ms);

/* Claims n seqs of sh's reservation for one append, just before sl_storage_append (caller holds
 * the engine lock): 0, or SL_EAGAIN when the reservation is used up until the reserve thread has
 * raised it (answer with throttling; rare), or the catalog's error (SL_ENOSPC, SL_EIO) while the
 * raise keeps failing. Asks for a raise when less than half a block is left. */
int sl_kshard_seq_claim(sl_kinesis_t *k, sl_kshard_t *sh, size_t n);
/* Gives back a claim whose append sl_storage_append refused (it assigned no seq). */
void sl_kshard_seq_unclaim(sl_kshard_t *sh, size_t n);

/* Fault injection (fault.c; caller holds the engine lock): the rules for op (SL_KFAULT_WRITE or
 * _READ) on stream s into out (room for SL_KINESIS_FAULT_RULES_MAX), their count; then one draw of
 * the error (first hit wins) and of the latency (hits add up). */
size_t sl_kfaults_select(sl_kinesis_t *k, const sl_kstream_t *s, unsigned op,
                         const sl_kfault_rule_t **out);
sl_kfault_error_t sl_kfaults_error(sl_kinesis_t *k, const sl_kfault_rule_t *const *rules, size_t n);
int64_t sl_kfaults_latency(sl_kinesis_t *k, const sl_kfault_rule_t *const *rules, size_t n);

/* On-demand scaling (scale.c), run by the background thread: samples the write rates of every
 * ON_DEMAND stream's open shards, splits one that stayed hot, merges two that stayed cold,
 * pre-scales to the warm throughput, through the ordinary reshard path (reshard.c). Takes the
 * engine lock itself; returns when it wants to run next. */
int64_t sl_kscale_pass(sl_kinesis_t *k, int64_t now_ms);
/* The reshard path for the scaler: like SplitShard, MergeShards and UpdateShardCount (which must
 * stay within double/half), but for ON_DEMAND streams and outside the control-plane quotas. */
bool sl_kscale_split(sl_kinesis_t *k, const char *stream, uint32_t shard, sl_u128_t key,
                     int64_t now_ms, struct sl_kerr *err);
bool sl_kscale_merge(sl_kinesis_t *k, const char *stream, uint32_t shard, uint32_t adjacent,
                     int64_t now_ms, struct sl_kerr *err);
bool sl_kscale_to(sl_kinesis_t *k, const char *stream, int64_t target, int64_t now_ms,
                  struct sl_kerr *err);

/* Control-plane quotas (quota.c; no-ops unless cfg.quotas): each counts one call and returns
 * true, or sets LimitExceededException and returns false. The stream's need the write lock. */
bool sl_kquota_scale(sl_kinesis_t *k, sl_kstream_t *s, int64_t now_ms, struct sl_kerr *err);
bool sl_kquota_encryption(sl_kinesis_t *k, sl_kstream_t *s, bool start, int64_t now_ms,
                          struct sl_kerr *err);
bool sl_kquota_reshard_rate(sl_kinesis_t *k, const char *op, struct sl_kerr *err);
/* The stream's saved counts and on-demand peak (catalog setting "capacity:<storage key>"): load
 * at open (0, or the catalog's error), forget when the stream is removed. */
int sl_kquota_load(sl_kinesis_t *k, sl_kstream_t *s);
void sl_kquota_forget(sl_kinesis_t *k, const sl_kstream_t *s);
/* An ON_DEMAND stream's sampled write rate (scale.c, background thread, read lock): raises the
 * peak, saved when it raises the stream's capacity (sl_kquota_peak_mibps). */
void sl_kquota_peak(sl_kinesis_t *k, sl_kstream_t *s, int64_t rate_bytes_per_s);
int64_t sl_kquota_peak_mibps(int64_t peak_bytes_per_s);

/* Resolves a stream reference (kinesis.h) with AWS's errors (caller holds the engine lock). */
sl_kstream_t *sl_kinesis_resolve(sl_kinesis_t *k, const struct sl_kstream_ref *ref, int64_t now_ms,
                                 struct sl_kerr *err);
sl_kstream_t *sl_kinesis_resolve_arn(sl_kinesis_t *k, const char *arn, size_t len, int64_t now_ms,
                                     struct sl_kerr *err);

/* ---- lookups (caller holds the lock) ---- */
sl_kstatus_t sl_kstream_status(const sl_kstream_t *s, int64_t now_ms);
sl_kstatus_t sl_kconsumer_status(const sl_kconsumer_t *c, int64_t now_ms);
/* Stream by name, or NULL when absent or already gone. */
sl_kstream_t *sl_kinesis_find(sl_kinesis_t *k, const char *name, size_t len, int64_t now_ms);
/* Index in k->streams of the first stream whose name is > name (for ListStreams pagination). */
size_t sl_kinesis_lower_bound(sl_kinesis_t *k, const char *name, size_t len, bool exclusive);
sl_kshard_t *sl_kstream_shard(const sl_kstream_t *s, uint32_t index);
/* The open shard whose range holds hash, or NULL (never NULL for an ACTIVE stream): a binary
 * search of the routing index. */
sl_kshard_t *sl_kstream_route(const sl_kstream_t *s, sl_u128_t hash);
size_t sl_kstream_open_shards(const sl_kstream_t *s);
/* Open shards over every live stream of the account (DescribeLimits, shard limit). */
size_t sl_kinesis_open_shard_count(sl_kinesis_t *k, int64_t now_ms);
size_t sl_kinesis_on_demand_count(sl_kinesis_t *k, int64_t now_ms);
size_t sl_kinesis_creating_count(sl_kinesis_t *k, int64_t now_ms);
sl_kconsumer_t *sl_kstream_consumer(const sl_kstream_t *s, const char *name, size_t len);

/* Tags written with a new resource (CreateStream, RegisterStreamConsumer), NUL-terminated. */
typedef struct {
    const char *const *keys;
    const char *const *values;
    size_t count;
} sl_ktag_rows_t;

/* NUL-terminated copies of a request's tags (control.h), freed with sl_ktag_rows_free (also after
 * a failure). */
struct sl_ktag_ref;
int sl_ktag_rows_make(const struct sl_ktag_ref *in, size_t n, sl_ktag_rows_t *out);
void sl_ktag_rows_free(sl_ktag_rows_t *rows);

/* ---- changes (caller holds the write lock); each writes through to the catalog ---- */
/* Creates a stream in CREATING with `shard_count` shards of even hash ranges and its tags (NULL =
 * none): every row in one catalog transaction, then memory. */
int sl_kinesis_create_stream(sl_kinesis_t *k, const char *name, int shard_count, bool on_demand,
                             int32_t max_record_size_kib, int64_t warm_mibps,
                             const sl_ktag_rows_t *tags, int64_t now_ms, sl_kstream_t **out);
/* Marks the stream DELETING (gone after delete_stream_ms); data removed by the background thread.
 */
int sl_kinesis_delete_stream(sl_kinesis_t *k, sl_kstream_t *s, int64_t now_ms);
/* Puts the stream in UPDATING for update_stream_ms (it becomes ACTIVE by itself), persists the
 * stream row with whatever fields the caller changed, and wakes the background thread. */
int sl_kinesis_begin_update(sl_kinesis_t *k, sl_kstream_t *s, int64_t now_ms);
/* Persists the stream row (after changing fields). */
int sl_kinesis_save_stream(sl_kinesis_t *k, sl_kstream_t *s);
int sl_kinesis_save_shard(sl_kinesis_t *k, sl_kshard_t *sh);
/* Rebuilds the routing index after shards were added or closed (caller holds the write lock).
 * Cannot fail when sl_kstream_reserve made room for every shard beforehand. */
int sl_kstream_reindex(sl_kstream_t *s);
/* Makes room for `extra` more shards in the stream's arrays (shards and the routing index), so
 * that inserting them and reindexing cannot fail afterwards. */
int sl_kstream_reserve(sl_kstream_t *s, size_t extra);
/* A new shard of s for resharding, with its log opened (an empty log touches no disk), but not yet
 * part of s: no reader or appender can see it until sl_kstream_insert_shard. */
int sl_kshard_prepare(sl_kinesis_t *k, sl_kstream_t *s, uint32_t index, sl_u128_t start,
                      sl_u128_t end, int32_t parent, int32_t adjacent_parent, int64_t created_ms,
                      sl_kshard_t **out);
/* Closes the log of a prepared shard that was never inserted, and frees it. */
void sl_kshard_discard(sl_kshard_t *sh);
/* Inserts a prepared shard into s by index; room was made with sl_kstream_reserve. */
void sl_kstream_insert_shard(sl_kstream_t *s, sl_kshard_t *sh);
/* Adds a new shard (resharding) with the stream's next index; opens its log. */
int sl_kinesis_add_shard(sl_kinesis_t *k, sl_kstream_t *s, sl_u128_t start, sl_u128_t end,
                         int32_t parent, int32_t adjacent_parent, int64_t now_ms,
                         sl_kshard_t **out);
/* Sets one tag of a resource (stream or consumer): the catalog first, then memory. */
int sl_kinesis_tag_set(sl_kinesis_t *k, sl_ktags_t *tags, const char *arn, const char *key,
                       const char *value);
const sl_ktag_t *sl_ktags_find(const sl_ktags_t *tags, const char *key);
/* Sets n tags (values given) or removes n keys (values NULL; absent keys are skipped) of a
 * resource: every row in one catalog transaction, then memory. */
int sl_kinesis_tags_write(sl_kinesis_t *k, sl_ktags_t *tags, const char *arn,
                          const char *const *keys, const char *const *values, size_t n);
int sl_kinesis_policy_set(sl_kinesis_t *k, char **slot, const char *arn, const char *policy);
/* A new consumer (CREATING) with its tags (NULL = none): its row and its tags' rows in one catalog
 * transaction, then memory. */
int sl_kinesis_consumer_add(sl_kinesis_t *k, sl_kstream_t *s, const char *name,
                            const sl_ktag_rows_t *tags, int64_t now_ms, sl_kconsumer_t **out);
int sl_kinesis_consumer_save(sl_kinesis_t *k, sl_kstream_t *s, sl_kconsumer_t *c);
int sl_kinesis_setting_save(sl_kinesis_t *k);

/* ---- field changes (control.c; caller holds the write lock and validated the values) ----
 * Each writes the catalog row with the new values first and changes memory only when that write
 * succeeded: on a nonzero return (a negative SL_E* code) memory is unchanged. */
int sl_kinesis_set_retention(sl_kinesis_t *k, sl_kstream_t *s, int32_t hours);
/* Shard-level metrics as a bit set over sl_kmetric_names. */
int sl_kinesis_set_metrics(sl_kinesis_t *k, sl_kstream_t *s, unsigned metrics);
int sl_kinesis_set_max_record_size(sl_kinesis_t *k, sl_kstream_t *s, int32_t kib);
/* The next three also put the stream in UPDATING for update_stream_ms (as sl_kinesis_begin_update).
 */
int sl_kinesis_set_stream_mode(sl_kinesis_t *k, sl_kstream_t *s, bool on_demand, bool set_warm,
                               int64_t warm_mibps, int64_t now_ms);
int sl_kinesis_set_warm_throughput(sl_kinesis_t *k, sl_kstream_t *s, int64_t warm_mibps,
                                   int64_t now_ms);
/* key_id is kept only when encrypted (StopStreamEncryption clears it). */
int sl_kinesis_set_encryption(sl_kinesis_t *k, sl_kstream_t *s, bool encrypted, const char *key_id,
                              int64_t now_ms);
/* The account's MinimumThroughputBillingCommitment. */
int sl_kinesis_set_commitment(sl_kinesis_t *k, bool enabled, int64_t started_ms);
/* DeregisterStreamConsumer: the consumer becomes DELETING for consumer_ms (then the background
 * thread removes it). */
int sl_kinesis_consumer_deregister(sl_kinesis_t *k, sl_kstream_t *s, sl_kconsumer_t *c,
                                   int64_t now_ms);
/* Closes a shard (SplitShard, MergeShards): its closed_ms becomes now_ms. */
int sl_kinesis_close_shard(sl_kinesis_t *k, sl_kshard_t *sh, int64_t now_ms);

/* ---- checks shared by the control-plane operations (control.c; caller holds the lock) ---- */
/* ResourceInUseException unless the stream is ACTIVE. */
bool sl_kstream_require_active(sl_kinesis_t *k, const sl_kstream_t *s, int64_t now_ms,
                               struct sl_kerr *err);
/* LimitExceededException unless `extra` more open shards fit the account's shard limit. */
bool sl_kinesis_shard_limit_ok(sl_kinesis_t *k, int64_t extra, int64_t now_ms, struct sl_kerr *err);
/* LimitExceededException unless one more ON_DEMAND stream fits the account's limit. */
bool sl_kinesis_on_demand_limit_ok(sl_kinesis_t *k, int64_t now_ms, struct sl_kerr *err);
/* A shard is expired once it was closed longer ago than the stream's retention period. */
bool sl_kshard_expired(const sl_kstream_t *s, const sl_kshard_t *sh, int64_t now_ms);

#endif
