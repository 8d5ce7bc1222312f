/* The Kinesis control plane as typed, transport-free operations: streams (create, delete,
 * describe, list, retention, mode, settings), resharding, tags and resource policies, consumers.
 * The data plane is kinesis.h; this header is its sibling and follows its conventions.
 *
 * Every function here is synchronous (the catalog is): it takes the engine lock itself, checks the
 * request with AWS's errors, writes the catalog and changes memory only when that write succeeded,
 * and returns true, or false with the AWS error in *err ({type, cause, message}, kinesis.h). On
 * false nothing changed, in memory or in the catalog. Results are plain values copied out under
 * the lock (no pointer into the engine escapes), so the caller encodes them without the lock.
 *
 * A request names its stream with an sl_kstream_ref_t (StreamName and/or StreamARN); strings in
 * requests are (pointer, length) pairs, not necessarily NUL-terminated, unless said otherwise. */
#ifndef SL_KINESIS_CONTROL_H
#define SL_KINESIS_CONTROL_H

#include "kinesis/hashkey.h"
#include "kinesis/kinesis.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- resharding (reshard.c) -------------------------------------------------------------------
 * Each operation writes every row it changes (the closed parents, the new children, the stream's
 * next shard index and its UPDATING state) in one catalog transaction, then changes memory: a
 * failure leaves the stream exactly as it was. */

/* SplitShard: closes ShardToSplit and creates its two children split at NewStartingHashKey. */
typedef struct {
    sl_kstream_ref_t stream;
    const char *shard_id; /* ShardToSplit */
    size_t shard_id_len;
    const char *hash_key; /* NewStartingHashKey, decimal */
    size_t hash_key_len;
    int64_t now_ms;
} sl_ksplit_t;

bool sl_kinesis_split_shard(sl_kinesis_t *k, const sl_ksplit_t *op, sl_kerr_t *err);

/* MergeShards: closes ShardToMerge and AdjacentShardToMerge (which must start right after it) and
 * creates their child. */
typedef struct {
    sl_kstream_ref_t stream;
    const char *shard_id; /* ShardToMerge */
    size_t shard_id_len;
    const char *adjacent_id; /* AdjacentShardToMerge */
    size_t adjacent_id_len;
    int64_t now_ms;
} sl_kmerge_t;

bool sl_kinesis_merge_shards(sl_kinesis_t *k, const sl_kmerge_t *op, sl_kerr_t *err);

/* UpdateShardCount (UNIFORM_SCALING): the splits and merges AWS would perform to reach `target`
 * shards of even hash ranges, so every new shard links its parents. */
typedef struct {
    /* in */
    sl_kstream_ref_t stream;
    int64_t target;
    int64_t now_ms;
    /* out */
    char stream_name[129];
    char stream_arn[512];
    int64_t current; /* open shards before the change */
} sl_kscale_t;

bool sl_kinesis_update_shard_count(sl_kinesis_t *k, sl_kscale_t *op, sl_kerr_t *err);

/* ---- tags and resource policies (tags.c) -------------------------------------------------------
 * A stream's tags change only while it is ACTIVE or UPDATING. Adding or removing several tags
 * writes every row in one catalog transaction. A resource is a stream or a consumer, named by its
 * ARN (ResourceARN). */

/* A tag of a request, or of a result (then both strings are NUL-terminated, in the arena). */
typedef struct sl_ktag_ref {
    const char *key;
    size_t key_len;
    const char *value; /* "" when the request gave none */
    size_t value_len;
} sl_ktag_ref_t;

/* AddTagsToStream / RemoveTagsFromStream (stream), or TagResource / UntagResource (resource true:
 * resource_arn names it). Removing ignores keys that are not there (values unused). */
typedef struct {
    sl_kstream_ref_t stream;
    bool resource;
    const char *resource_arn;
    size_t resource_arn_len;
    const sl_ktag_ref_t *tags;
    size_t count;
    int64_t now_ms;
} sl_ktag_change_t;

bool sl_kinesis_tags_add(sl_kinesis_t *k, const sl_ktag_change_t *op, sl_kerr_t *err);
bool sl_kinesis_tags_remove(sl_kinesis_t *k, const sl_ktag_change_t *op, sl_kerr_t *err);

/* ListTagsForStream (stream; limit and exclusive_start apply) or ListTagsForResource (resource:
 * every tag). Tags come sorted by key, copied into `arena`. */
typedef struct {
    /* in */
    sl_kstream_ref_t stream;
    bool resource;
    const char *resource_arn;
    size_t resource_arn_len;
    int64_t limit;
    const char *exclusive_start; /* NUL-terminated, or NULL */
    int64_t now_ms;
    sl_arena_t *arena;
    /* out */
    sl_ktag_ref_t *tags;
    size_t count;
    bool more;
} sl_ktag_list_t;

bool sl_kinesis_tags_list(sl_kinesis_t *k, sl_ktag_list_t *op, sl_kerr_t *err);

/* PutResourcePolicy (policy set), DeleteResourcePolicy (policy NULL: ResourceNotFoundException
 * when there is none) and GetResourcePolicy (sl_kinesis_policy_get: "{}" when there is none, copied
 * into the arena). */
typedef struct {
    const char *resource_arn;
    size_t resource_arn_len;
    const char *policy; /* NUL-terminated */
    int64_t now_ms;
} sl_kpolicy_t;

bool sl_kinesis_policy_put(sl_kinesis_t *k, const sl_kpolicy_t *op, sl_kerr_t *err);
bool sl_kinesis_policy_get(sl_kinesis_t *k, const sl_kpolicy_t *op, sl_arena_t *arena,
                           const char **policy, sl_kerr_t *err);

/* ---- consumers (consumers.c) ----------------------------------------------------------------- */

/* A consumer as the describe and list operations report it. */
typedef struct {
    char name[129];
    char arn[512];
    sl_kstatus_t status;
    int64_t created_ms;
    char stream_arn[512];
} sl_kconsumer_info_t;

/* A consumer as requests name it: ConsumerARN, or StreamARN + ConsumerName. */
typedef struct {
    const char *arn;
    size_t arn_len;
    const char *stream_arn;
    size_t stream_arn_len;
    const char *name;
    size_t name_len;
} sl_kconsumer_ref_t;

/* RegisterStreamConsumer: the stream (StreamARN) must be ACTIVE; the consumer starts CREATING. */
typedef struct {
    /* in */
    const char *stream_arn;
    size_t stream_arn_len;
    const char *name;
    size_t name_len;
    const sl_ktag_ref_t *tags;
    size_t tag_count;
    int64_t now_ms;
    /* out */
    sl_kconsumer_info_t consumer;
} sl_kconsumer_register_t;

bool sl_kinesis_register_consumer(sl_kinesis_t *k, sl_kconsumer_register_t *op, sl_kerr_t *err);

/* DescribeStreamConsumer. */
bool sl_kinesis_describe_consumer(sl_kinesis_t *k, const sl_kconsumer_ref_t *ref, int64_t now_ms,
                                  sl_kconsumer_info_t *out, sl_kerr_t *err);

/* DeregisterStreamConsumer: the consumer becomes DELETING. *out names its stream and ARN, so that
 * the caller can end its subscriptions (sl_kinesis_fanout_kick, without the lock). */
typedef struct {
    char stream_name[129];
    char consumer_arn[512];
} sl_kconsumer_gone_t;

bool sl_kinesis_deregister_consumer(sl_kinesis_t *k, const sl_kconsumer_ref_t *ref, int64_t now_ms,
                                    sl_kconsumer_gone_t *out, sl_kerr_t *err);

/* ListStreamConsumers: a page of the stream's consumers (registration order) and the NextToken of
 * the next page ("" when none), both in the arena. */
typedef struct {
    /* in */
    const char *stream_arn;
    size_t stream_arn_len;
    const char *next_token;
    size_t next_token_len;
    int64_t max_results;
    int64_t now_ms;
    sl_arena_t *arena;
    /* out */
    sl_kconsumer_info_t *consumers;
    size_t count;
    const char *next; /* NULL when none */
} sl_kconsumer_list_t;

bool sl_kinesis_list_consumers(sl_kinesis_t *k, sl_kconsumer_list_t *op, sl_kerr_t *err);

/* ---- streams (streams.c) --------------------------------------------------------------------- */

/* A stream as the describe and list operations report it. */
typedef struct {
    char name[129];
    char arn[512];
    sl_kstatus_t status; /* effective state (CREATING turns ACTIVE by itself, ...) */
    bool on_demand;
    int32_t retention_hours;
    int64_t created_ms;
    const char *metrics[SL_KMETRICS_COUNT]; /* enabled shard-level metrics, in the model's order */
    size_t metric_count;
    bool encrypted;
    char key_id[2049]; /* "" when none */
    /* DescribeStreamSummary */
    size_t open_shard_count; /* 0 while the stream shows no shards (CREATING) */
    size_t consumer_count;
    int64_t warm_mibps; /* -1 = none */
    int32_t max_record_size_kib;
} sl_kstream_info_t;

/* A shard as DescribeStream and ListShards report it. */
typedef struct {
    uint32_t index;
    int32_t parent, adjacent_parent; /* -1 = none */
    sl_u128_t start, end;            /* hash key range */
    int64_t created_ms;
    int64_t closed_ms; /* 0 = open */
} sl_kshard_info_t;

/* CreateStream: PROVISIONED with shard_count shards, or ON_DEMAND (mode "ON_DEMAND", or no mode
 * and no shard count) with SL_KINESIS_ON_DEMAND_SHARDS; tags are set with it. */
typedef struct {
    const char *name;
    size_t name_len;
    bool has_shard_count;
    int64_t shard_count;
    const char *mode; /* StreamModeDetails.StreamMode, NUL-terminated, or NULL */
    int64_t max_record_size_kib;
    bool has_warm;
    int64_t warm_mibps;
    const sl_ktag_ref_t *tags;
    size_t tag_count;
    int64_t now_ms;
} sl_kcreate_t;

bool sl_kinesis_create_stream_op(sl_kinesis_t *k, const sl_kcreate_t *op, sl_kerr_t *err);

/* DeleteStream: refused while consumers are registered unless enforce_consumer_deletion. *name
 * receives the stream's name (to end its subscriptions, sl_kinesis_fanout_kick). */
bool sl_kinesis_delete_stream_op(sl_kinesis_t *k, const sl_kstream_ref_t *ref,
                                 bool enforce_consumer_deletion, int64_t now_ms, char name[129],
                                 sl_kerr_t *err);

/* DescribeStream: the stream and a page of its shards (after exclusive_start, by ShardId). */
typedef struct {
    /* in */
    sl_kstream_ref_t stream;
    int64_t limit;
    const char *exclusive_start;
    size_t exclusive_start_len;
    int64_t now_ms;
    sl_arena_t *arena;
    /* out */
    sl_kstream_info_t info;
    sl_kshard_info_t *shards;
    size_t shard_count;
    bool more;
} sl_kdescribe_t;

bool sl_kinesis_describe_stream(sl_kinesis_t *k, sl_kdescribe_t *op, sl_kerr_t *err);

/* DescribeStreamSummary. */
bool sl_kinesis_describe_stream_summary(sl_kinesis_t *k, const sl_kstream_ref_t *ref,
                                        int64_t now_ms, sl_kstream_info_t *out, sl_kerr_t *err);

/* ListStreams: a page of stream names and summaries (name order) after exclusive_start or the
 * position a NextToken names; next is the NextToken of the page after, or NULL. */
typedef struct {
    /* in */
    int64_t limit;
    const char *exclusive_start;
    size_t exclusive_start_len;
    const char *next_token;
    size_t next_token_len;
    int64_t now_ms;
    sl_arena_t *arena;
    /* out */
    sl_kstream_info_t *streams; /* name, arn, status, on_demand and created_ms only */
    size_t count;
    bool more;
    const char *next;
} sl_klist_streams_t;

bool sl_kinesis_list_streams(sl_kinesis_t *k, sl_klist_streams_t *op, sl_kerr_t *err);

/* ListShards: the stream by name/ARN or by NextToken, ShardFilter, ExclusiveStartShardId and
 * StreamCreationTimestamp, with AWS's argument errors. */
typedef struct {
    /* in */
    sl_kstream_ref_t stream;
    const char *next_token;
    size_t next_token_len;
    const char *exclusive_start;
    size_t exclusive_start_len;
    bool has_created;   /* StreamCreationTimestamp is present */
    bool created_valid; /* ... and a timestamp */
    int64_t created_ms;
    bool has_filter;
    const char *filter_type; /* ShardFilter.Type, NUL-terminated, or NULL */
    const char *filter_shard_id;
    size_t filter_shard_id_len;
    bool has_filter_ts;
    bool filter_ts_valid; /* the Timestamp member is a timestamp */
    int64_t filter_ts_ms;
    int64_t max_results;
    int64_t now_ms;
    sl_arena_t *arena;
    /* out */
    sl_kshard_info_t *shards;
    size_t count;
    const char *next;
} sl_klist_shards_t;

bool sl_kinesis_list_shards(sl_kinesis_t *k, sl_klist_shards_t *op, sl_kerr_t *err);

/* Enable/DisableEnhancedMonitoring: metric names ("ALL" = every one) are added or removed; out
 * has the stream's name, ARN and the metrics before (current) and after (desired). */
typedef struct {
    /* in */
    sl_kstream_ref_t stream;
    const char *const *names;
    size_t name_count;
    bool enable;
    int64_t now_ms;
    /* out */
    sl_kstream_info_t before, after;
} sl_kmonitoring_t;

bool sl_kinesis_set_monitoring(sl_kinesis_t *k, sl_kmonitoring_t *op, sl_kerr_t *err);

/* DescribeLimits. */
typedef struct {
    int64_t shard_limit;
    int64_t open_shard_count;
    int64_t on_demand_stream_count;
    int64_t on_demand_stream_limit;
} sl_klimits_t;

void sl_kinesis_describe_limits(sl_kinesis_t *k, int64_t now_ms, sl_klimits_t *out);

/* The account's MinimumThroughputBillingCommitment. */
typedef enum {
    SL_KCOMMIT_DISABLED,
    SL_KCOMMIT_ENABLED,
    SL_KCOMMIT_ENABLED_UNTIL_EARLIEST_ALLOWED_END,
} sl_kcommit_status_t;

typedef struct {
    sl_kcommit_status_t status;
    int64_t started_ms, earliest_end_ms; /* when not DISABLED */
} sl_kcommitment_t;

void sl_kinesis_describe_account(sl_kinesis_t *k, sl_kcommitment_t *out);
/* UpdateAccountSettings: enabling starts the commitment; disabling before its earliest end keeps
 * it (status ENABLED_UNTIL_EARLIEST_ALLOWED_END). */
bool sl_kinesis_update_account(sl_kinesis_t *k, bool enable, int64_t now_ms, sl_kcommitment_t *out,
                               sl_kerr_t *err);

/* The changes of one stream's settings that share one shape: the stream must be ACTIVE, the
 * operation's members are checked with AWS's texts, and the new values are written through
 * (control.c: catalog first). Mode, warm throughput and encryption put the stream in UPDATING. */
typedef enum {
    SL_KCHANGE_RETENTION_INCREASE, /* IncreaseStreamRetentionPeriod: retention_hours */
    SL_KCHANGE_RETENTION_DECREASE, /* DecreaseStreamRetentionPeriod: retention_hours */
    SL_KCHANGE_MAX_RECORD_SIZE,    /* UpdateMaxRecordSize: max_record_size_kib */
    SL_KCHANGE_STREAM_MODE,        /* UpdateStreamMode: mode, has_warm/warm_mibps */
    SL_KCHANGE_WARM_THROUGHPUT,    /* UpdateStreamWarmThroughput: warm_mibps */
    SL_KCHANGE_ENCRYPTION_START,   /* StartStreamEncryption: encryption_type, key_id */
    SL_KCHANGE_ENCRYPTION_STOP,    /* StopStreamEncryption: encryption_type, key_id */
} sl_kchange_kind_t;

typedef struct {
    /* in */
    sl_kstream_ref_t stream;
    sl_kchange_kind_t kind;
    int64_t retention_hours;
    int64_t max_record_size_kib;
    bool has_warm;
    int64_t warm_mibps;
    const char *mode;            /* StreamModeDetails.StreamMode (NUL-terminated) or NULL */
    const char *encryption_type; /* NUL-terminated or NULL */
    const char *key_id;          /* NUL-terminated or NULL */
    int64_t now_ms;
    /* out */
    char stream_name[129];
    char stream_arn[512];
} sl_kstream_change_t;

bool sl_kinesis_change_stream(sl_kinesis_t *k, sl_kstream_change_t *op, sl_kerr_t *err);

#endif
