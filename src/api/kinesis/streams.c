/* Kinesis stream lifecycle and description operations: CreateStream, DeleteStream, DescribeStream,
 * DescribeStreamSummary, ListStreams, ListShards, retention, enhanced monitoring, limits, account
 * settings, stream mode, warm throughput, max record size and encryption flags. The semantics are
 * the core's (kinesis/streams.c); these handlers decode the request, call it and encode. */
#include "api/kinesis/common.h"
#include "api/kinesis/metrics.h"

#include "core/limits.h"

#include <string.h>

static const char *val_str(sl_front_call_t *call, const char *key, size_t *len) {
    return sl_val_get_str(call->in, key, len);
}

static void encode_mode(sl_enc_t *e, bool on_demand) {
    sl_enc_key(e, "StreamModeDetails");
    sl_enc_map_begin(e);
    sl_enc_kv_cstr(e, "StreamMode", on_demand ? "ON_DEMAND" : "PROVISIONED");
    sl_enc_map_end(e);
}

static void encode_metrics(sl_enc_t *e, const char *key, const sl_kstream_info_t *s) {
    sl_enc_key(e, key);
    sl_enc_array_begin(e);
    for (size_t i = 0; i < s->metric_count; i++)
        sl_enc_cstr(e, s->metrics[i]);
    sl_enc_array_end(e);
}

static void encode_warm(sl_enc_t *e, int64_t mibps) {
    sl_enc_key(e, "WarmThroughput");
    sl_enc_map_begin(e);
    sl_enc_kv_int(e, "TargetMiBps", mibps);
    sl_enc_kv_int(e, "CurrentMiBps", mibps);
    sl_enc_map_end(e);
}

/* The members StreamDescription and StreamDescriptionSummary share. */
static void encode_stream_common(sl_enc_t *e, const sl_kstream_info_t *s) {
    sl_enc_kv_cstr(e, "StreamName", s->name);
    sl_enc_kv_cstr(e, "StreamARN", s->arn);
    sl_enc_kv_cstr(e, "StreamStatus", sl_kstatus_name(s->status));
    encode_mode(e, s->on_demand);
    sl_enc_kv_int(e, "RetentionPeriodHours", s->retention_hours);
    sl_enc_key(e, "StreamCreationTimestamp");
    sl_enc_timestamp_ms(e, s->created_ms);
    sl_enc_key(e, "EnhancedMonitoring");
    sl_enc_array_begin(e);
    sl_enc_map_begin(e);
    encode_metrics(e, "ShardLevelMetrics", s);
    sl_enc_map_end(e);
    sl_enc_array_end(e);
    sl_enc_kv_cstr(e, "EncryptionType", s->encrypted ? "KMS" : "NONE");
    if (s->encrypted && s->key_id[0]) sl_enc_kv_cstr(e, "KeyId", s->key_id);
}

static void encode_shards(sl_enc_t *e, const sl_kshard_info_t *shards, size_t n) {
    sl_enc_key(e, "Shards");
    sl_enc_array_begin(e);
    for (size_t i = 0; i < n; i++)
        sl_kapi_encode_shard(e, &shards[i]);
    sl_enc_array_end(e);
}

/* ---- CreateStream, DeleteStream ---- */
static void op_create_stream(sl_front_call_t *call) {
    sl_kcreate_t op = {.max_record_size_kib = SL_KINESIS_MAX_RECORD_SIZE_KIB_DEFAULT,
                       .warm_mibps = -1,
                       .now_ms = call->now_ms};
    op.name = val_str(call, "StreamName", &op.name_len);
    op.has_shard_count = sl_val_get_int(call->in, "ShardCount", &op.shard_count);
    sl_val_get_int(call->in, "MaxRecordSizeInKiB", &op.max_record_size_kib);
    op.has_warm = sl_val_get_int(call->in, "WarmThroughputMiBps", &op.warm_mibps);
    op.mode = sl_val_get_str(sl_val_get(call->in, "StreamModeDetails"), "StreamMode", NULL);
    op.tags = sl_kapi_tags_in(call, &op.tag_count);
    sl_kerr_t err;
    if (!op.tags) return sl_front_fail_internal(call, SL_ENOMEM);
    sl_kapi_answer(call, sl_kinesis_create_stream_op(sl_kapi_engine(call), &op, &err), &err);
}

static void op_delete_stream(sl_front_call_t *call) {
    bool enforce = false;
    sl_val_get_bool(call->in, "EnforceConsumerDeletion", &enforce);
    sl_kstream_ref_t ref = sl_kapi_stream_ref(call);
    char name[129];
    sl_kerr_t err;
    bool ok =
        sl_kinesis_delete_stream_op(sl_kapi_engine(call), &ref, enforce, call->now_ms, name, &err);
    sl_kapi_t *api = call->binding; /* call is released with the reply */
    if (ok) sl_kapi_metrics_release_stream(sl_kinesis_account(sl_kapi_engine(call)), name);
    sl_kapi_answer(call, ok, &err);
    if (ok) sl_kapi_subs_kick(api, name, NULL);
}

/* ---- DescribeStream, DescribeStreamSummary ---- */
static void encode_description(sl_enc_t *e, const void *result) {
    const sl_kdescribe_t *op = result;
    sl_enc_map_begin(e);
    sl_enc_key(e, "StreamDescription");
    sl_enc_map_begin(e);
    encode_stream_common(e, &op->info);
    encode_shards(e, op->shards, op->shard_count);
    sl_enc_kv_bool(e, "HasMoreShards", op->more);
    sl_enc_map_end(e);
    sl_enc_map_end(e);
}

static void op_describe_stream(sl_front_call_t *call) {
    sl_kdescribe_t op = {.stream = sl_kapi_stream_ref(call),
                         .limit = SL_KINESIS_DESCRIBE_STREAM_SHARDS_MAX,
                         .now_ms = call->now_ms,
                         .arena = call->arena};
    sl_val_get_int(call->in, "Limit", &op.limit);
    if (op.limit > SL_KINESIS_DESCRIBE_STREAM_SHARDS_MAX)
        op.limit = SL_KINESIS_DESCRIBE_STREAM_SHARDS_MAX;
    op.exclusive_start = val_str(call, "ExclusiveStartShardId", &op.exclusive_start_len);
    sl_kerr_t err;
    bool ok = sl_kinesis_describe_stream(sl_kapi_engine(call), &op, &err);
    sl_kapi_finish(call, ok, &err, encode_description, &op);
}

static void encode_summary(sl_enc_t *e, const void *result) {
    const sl_kstream_info_t *s = result;
    sl_enc_map_begin(e);
    sl_enc_key(e, "StreamDescriptionSummary");
    sl_enc_map_begin(e);
    encode_stream_common(e, s);
    sl_enc_kv_int(e, "OpenShardCount", (int64_t)s->open_shard_count);
    sl_enc_kv_int(e, "ConsumerCount", (int64_t)s->consumer_count);
    if (s->on_demand && s->warm_mibps >= 0) encode_warm(e, s->warm_mibps);
    sl_enc_kv_int(e, "MaxRecordSizeInKiB", s->max_record_size_kib);
    sl_enc_map_end(e);
    sl_enc_map_end(e);
}

static void op_describe_stream_summary(sl_front_call_t *call) {
    sl_kstream_ref_t ref = sl_kapi_stream_ref(call);
    sl_kstream_info_t s;
    sl_kerr_t err;
    bool ok =
        sl_kinesis_describe_stream_summary(sl_kapi_engine(call), &ref, call->now_ms, &s, &err);
    sl_kapi_finish(call, ok, &err, encode_summary, &s);
}

/* ---- ListStreams, ListShards ---- */
static void encode_stream_list(sl_enc_t *e, const void *result) {
    const sl_klist_streams_t *op = result;
    sl_enc_map_begin(e);
    sl_enc_key(e, "StreamNames");
    sl_enc_array_begin(e);
    for (size_t j = 0; j < op->count; j++)
        sl_enc_cstr(e, op->streams[j].name);
    sl_enc_array_end(e);
    sl_enc_kv_bool(e, "HasMoreStreams", op->more);
    if (op->next) sl_enc_kv_cstr(e, "NextToken", op->next);
    sl_enc_key(e, "StreamSummaries");
    sl_enc_array_begin(e);
    for (size_t j = 0; j < op->count; j++) {
        const sl_kstream_info_t *s = &op->streams[j];
        sl_enc_map_begin(e);
        sl_enc_kv_cstr(e, "StreamName", s->name);
        sl_enc_kv_cstr(e, "StreamARN", s->arn);
        sl_enc_kv_cstr(e, "StreamStatus", sl_kstatus_name(s->status));
        encode_mode(e, s->on_demand);
        sl_enc_key(e, "StreamCreationTimestamp");
        sl_enc_timestamp_ms(e, s->created_ms);
        sl_enc_map_end(e);
    }
    sl_enc_array_end(e);
    sl_enc_map_end(e);
}

static void op_list_streams(sl_front_call_t *call) {
    sl_klist_streams_t op = {
        .limit = SL_KINESIS_LIST_STREAMS_MAX, .now_ms = call->now_ms, .arena = call->arena};
    sl_val_get_int(call->in, "Limit", &op.limit);
    if (op.limit > SL_KINESIS_LIST_STREAMS_MAX) op.limit = SL_KINESIS_LIST_STREAMS_MAX;
    op.exclusive_start = val_str(call, "ExclusiveStartStreamName", &op.exclusive_start_len);
    op.next_token = val_str(call, "NextToken", &op.next_token_len);
    sl_kerr_t err;
    bool ok = sl_kinesis_list_streams(sl_kapi_engine(call), &op, &err);
    sl_kapi_finish(call, ok, &err, encode_stream_list, &op);
}

static void encode_shard_list(sl_enc_t *e, const void *result) {
    const sl_klist_shards_t *op = result;
    sl_enc_map_begin(e);
    encode_shards(e, op->shards, op->count);
    if (op->next) sl_enc_kv_cstr(e, "NextToken", op->next);
    sl_enc_map_end(e);
}

static void op_list_shards(sl_front_call_t *call) {
    sl_klist_shards_t op = {.stream = sl_kapi_stream_ref(call),
                            .max_results = SL_KINESIS_LIST_SHARDS_MAX,
                            .now_ms = call->now_ms,
                            .arena = call->arena};
    op.next_token = val_str(call, "NextToken", &op.next_token_len);
    op.exclusive_start = val_str(call, "ExclusiveStartShardId", &op.exclusive_start_len);
    sl_val_t *created = sl_val_get(call->in, "StreamCreationTimestamp");
    op.has_created = created != NULL;
    op.created_valid = created && created->type == SL_VAL_TIMESTAMP;
    op.created_ms = op.created_valid ? created->u.ts_ms : 0;
    sl_val_t *filter = sl_val_get(call->in, "ShardFilter");
    op.has_filter = filter != NULL;
    if (filter) {
        op.filter_type = sl_val_get_str(filter, "Type", NULL);
        op.filter_shard_id = sl_val_get_str(filter, "ShardId", &op.filter_shard_id_len);
        sl_val_t *ts = sl_val_get(filter, "Timestamp");
        op.has_filter_ts = ts != NULL;
        op.filter_ts_valid = ts && ts->type == SL_VAL_TIMESTAMP;
        op.filter_ts_ms = op.filter_ts_valid ? ts->u.ts_ms : 0;
    }
    sl_val_get_int(call->in, "MaxResults", &op.max_results);
    if (op.max_results > SL_KINESIS_LIST_SHARDS_MAX) op.max_results = SL_KINESIS_LIST_SHARDS_MAX;
    sl_kerr_t err;
    bool ok = sl_kinesis_list_shards(sl_kapi_engine(call), &op, &err);
    sl_kapi_finish(call, ok, &err, encode_shard_list, &op);
}

/* ---- monitoring, limits, account settings ---- */
static void encode_monitoring(sl_enc_t *e, const void *result) {
    const sl_kmonitoring_t *op = result;
    sl_enc_map_begin(e);
    sl_enc_kv_cstr(e, "StreamName", op->after.name);
    sl_enc_kv_cstr(e, "StreamARN", op->after.arn);
    encode_metrics(e, "CurrentShardLevelMetrics", &op->before);
    encode_metrics(e, "DesiredShardLevelMetrics", &op->after);
    sl_enc_map_end(e);
}

/* Enable/DisableEnhancedMonitoring. */
static void op_monitoring(sl_front_call_t *call) {
    sl_kmonitoring_t op = {.stream = sl_kapi_stream_ref(call)};
    op.enable = strncmp(call->op->name, "Enable", 6) == 0;
    op.now_ms = call->now_ms;
    sl_val_t *list = sl_val_get(call->in, "ShardLevelMetrics");
    size_t n = list ? list->u.arr.count : 0;
    const char **names = sl_arena_calloc(call->arena, n ? n : 1, sizeof *names);
    if (!names) return sl_front_fail_internal(call, SL_ENOMEM);
    for (size_t i = 0; i < n; i++)
        if (list->u.arr.items[i]->type == SL_VAL_STRING)
            names[op.name_count++] = list->u.arr.items[i]->u.str.ptr;
    op.names = names;
    sl_kerr_t err;
    bool ok = sl_kinesis_set_monitoring(sl_kapi_engine(call), &op, &err);
    if (ok && !op.enable)
        sl_kapi_metrics_release_shards(sl_kinesis_account(sl_kapi_engine(call)), op.after.name);
    sl_kapi_finish(call, ok, &err, encode_monitoring, &op);
}

static void op_describe_limits(sl_front_call_t *call) {
    sl_klimits_t l;
    sl_kinesis_describe_limits(sl_kapi_engine(call), call->now_ms, &l);
    sl_enc_t *e = &call->enc;
    sl_enc_map_begin(e);
    sl_enc_kv_int(e, "ShardLimit", l.shard_limit);
    sl_enc_kv_int(e, "OpenShardCount", l.open_shard_count);
    sl_enc_kv_int(e, "OnDemandStreamCount", l.on_demand_stream_count);
    sl_enc_kv_int(e, "OnDemandStreamCountLimit", l.on_demand_stream_limit);
    sl_enc_map_end(e);
    sl_front_reply(call);
}

static void encode_commitment(sl_enc_t *e, const void *result) {
    const sl_kcommitment_t *c = result;
    static const char *const names[] = {"DISABLED", "ENABLED",
                                        "ENABLED_UNTIL_EARLIEST_ALLOWED_END"};
    sl_enc_map_begin(e);
    sl_enc_key(e, "MinimumThroughputBillingCommitment");
    sl_enc_map_begin(e);
    sl_enc_kv_cstr(e, "Status", names[c->status]);
    if (c->status != SL_KCOMMIT_DISABLED) {
        sl_enc_key(e, "StartedAt");
        sl_enc_timestamp_ms(e, c->started_ms);
        sl_enc_key(e, "EarliestAllowedEndAt");
        sl_enc_timestamp_ms(e, c->earliest_end_ms);
    }
    sl_enc_map_end(e);
    sl_enc_map_end(e);
}

static void op_describe_account_settings(sl_front_call_t *call) {
    sl_kcommitment_t c;
    sl_kinesis_describe_account(sl_kapi_engine(call), &c);
    encode_commitment(&call->enc, &c);
    sl_front_reply(call);
}

static void op_update_account_settings(sl_front_call_t *call) {
    const char *status =
        sl_val_get_str(sl_val_get(call->in, "MinimumThroughputBillingCommitment"), "Status", NULL);
    bool enable = status && strcmp(status, "ENABLED") == 0;
    sl_kcommitment_t c;
    sl_kerr_t err;
    bool ok = sl_kinesis_update_account(sl_kapi_engine(call), enable, call->now_ms, &c, &err);
    sl_kapi_finish(call, ok, &err, encode_commitment, &c);
}

/* ---- retention, record size, stream mode, warm throughput, encryption ---- */
static void encode_warm_change(sl_enc_t *e, const void *result) {
    const sl_kstream_change_t *op = result;
    sl_enc_map_begin(e);
    sl_enc_kv_cstr(e, "StreamARN", op->stream_arn);
    sl_enc_kv_cstr(e, "StreamName", op->stream_name);
    encode_warm(e, op->warm_mibps);
    sl_enc_map_end(e);
}

static void encode_nothing(sl_enc_t *e, const void *result) {
    (void)e;
    (void)result;
}

/* The operations of sl_kinesis_change_stream, by name; each reads only its own members. */
static const struct {
    const char *name;
    sl_kchange_kind_t kind;
} stream_changes[] = {
    {"IncreaseStreamRetentionPeriod", SL_KCHANGE_RETENTION_INCREASE},
    {"DecreaseStreamRetentionPeriod", SL_KCHANGE_RETENTION_DECREASE},
    {"UpdateMaxRecordSize", SL_KCHANGE_MAX_RECORD_SIZE},
    {"UpdateStreamMode", SL_KCHANGE_STREAM_MODE},
    {"UpdateStreamWarmThroughput", SL_KCHANGE_WARM_THROUGHPUT},
    {"StartStreamEncryption", SL_KCHANGE_ENCRYPTION_START},
    {"StopStreamEncryption", SL_KCHANGE_ENCRYPTION_STOP},
};

static void op_change_stream(sl_front_call_t *call) {
    sl_kstream_change_t op = {.stream = sl_kapi_stream_ref(call), .now_ms = call->now_ms};
    for (size_t i = 0; i < SL_ARRAY_LEN(stream_changes); i++)
        if (strcmp(stream_changes[i].name, call->op->name) == 0) op.kind = stream_changes[i].kind;
    sl_val_get_int(call->in, "RetentionPeriodHours", &op.retention_hours);
    sl_val_get_int(call->in, "MaxRecordSizeInKiB", &op.max_record_size_kib);
    op.has_warm = sl_val_get_int(call->in, "WarmThroughputMiBps", &op.warm_mibps);
    op.mode = sl_val_get_str(sl_val_get(call->in, "StreamModeDetails"), "StreamMode", NULL);
    op.encryption_type = sl_val_get_str(call->in, "EncryptionType", NULL);
    op.key_id = sl_val_get_str(call->in, "KeyId", NULL);
    sl_kerr_t err;
    bool ok = sl_kinesis_change_stream(sl_kapi_engine(call), &op, &err);
    sl_kapi_finish(call, ok, &err,
                   op.kind == SL_KCHANGE_WARM_THROUGHPUT ? encode_warm_change : encode_nothing,
                   &op);
}

/* ---- table ---- */

sl_front_op_fn sl_kapi_handler(const char *name) {
    static const struct {
        const char *name;
        sl_front_op_fn fn;
    } table[] = {
        {"CreateStream", op_create_stream},
        {"DeleteStream", op_delete_stream},
        {"DescribeStream", op_describe_stream},
        {"DescribeStreamSummary", op_describe_stream_summary},
        {"ListStreams", op_list_streams},
        {"ListShards", op_list_shards},
        {"EnableEnhancedMonitoring", op_monitoring},
        {"DisableEnhancedMonitoring", op_monitoring},
        {"DescribeLimits", op_describe_limits},
        {"DescribeAccountSettings", op_describe_account_settings},
        {"UpdateAccountSettings", op_update_account_settings},
    };
    for (size_t i = 0; i < SL_ARRAY_LEN(table); i++)
        if (strcmp(table[i].name, name) == 0) return table[i].fn;
    for (size_t i = 0; i < SL_ARRAY_LEN(stream_changes); i++)
        if (strcmp(stream_changes[i].name, name) == 0) return op_change_stream;
    sl_front_op_fn fn = NULL;
    sl_kapi_tags_ops(name, &fn);
    if (!fn) sl_kapi_data_ops(name, &fn);
    if (!fn) sl_kapi_consumer_ops(name, &fn);
    if (!fn) sl_kapi_reshard_ops(name, &fn);
    return fn;
}
