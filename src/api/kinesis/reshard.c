/* Kinesis resharding: SplitShard, MergeShards and UpdateShardCount. The semantics (plans of splits
 * and merges, parent links, one catalog transaction per operation) are the core's
 * (kinesis/reshard.c); these handlers decode the request, call it and encode the answer. */
#include "api/kinesis/common.h"

#include <string.h>

static void op_split_shard(sl_front_call_t *call) {
    sl_ksplit_t op = {.stream = sl_kapi_stream_ref(call), .now_ms = call->now_ms};
    op.shard_id = sl_val_get_str(call->in, "ShardToSplit", &op.shard_id_len);
    op.hash_key = sl_val_get_str(call->in, "NewStartingHashKey", &op.hash_key_len);
    sl_kerr_t err;
    sl_kapi_answer(call, sl_kinesis_split_shard(sl_kapi_engine(call), &op, &err), &err);
}

static void op_merge_shards(sl_front_call_t *call) {
    sl_kmerge_t op = {.stream = sl_kapi_stream_ref(call), .now_ms = call->now_ms};
    sl_kerr_t err;
    op.shard_id = sl_val_get_str(call->in, "ShardToMerge", &op.shard_id_len);
    op.adjacent_id = sl_val_get_str(call->in, "AdjacentShardToMerge", &op.adjacent_id_len);
    sl_kapi_answer(call, sl_kinesis_merge_shards(sl_kapi_engine(call), &op, &err), &err);
}

static void encode_scale(sl_enc_t *e, const void *result) {
    const sl_kscale_t *op = result;
    sl_enc_map_begin(e);
    sl_enc_kv_cstr(e, "StreamName", op->stream_name);
    sl_enc_kv_int(e, "CurrentShardCount", op->current);
    sl_enc_kv_int(e, "TargetShardCount", op->target);
    sl_enc_kv_cstr(e, "StreamARN", op->stream_arn);
    sl_enc_map_end(e);
}

static void op_update_shard_count(sl_front_call_t *call) {
    sl_kscale_t op = {.stream = sl_kapi_stream_ref(call), .now_ms = call->now_ms};
    sl_val_get_int(call->in, "TargetShardCount", &op.target);
    sl_kerr_t err;
    bool ok = sl_kinesis_update_shard_count(sl_kapi_engine(call), &op, &err);
    sl_kapi_finish(call, ok, &err, encode_scale, &op);
}

void sl_kapi_reshard_ops(const char *name, sl_front_op_fn *fn) {
    if (!strcmp(name, "SplitShard"))
        *fn = op_split_shard;
    else if (!strcmp(name, "MergeShards"))
        *fn = op_merge_shards;
    else if (!strcmp(name, "UpdateShardCount"))
        *fn = op_update_shard_count;
}
