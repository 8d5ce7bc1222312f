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

#endif
