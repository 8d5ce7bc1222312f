/* Helpers shared by the Kinesis operation handlers (see kinesis_common.h). */
#include "api/kinesis_common.h"

#include "kinesis/names.h"
#include "kinesis/seqnum.h"

#include <string.h>

void sl_kapi_not_found(sl_api_call_t *call, const char *name, size_t len) {
    sl_api_fail(call, "ResourceNotFoundException", "Stream %.*s under account %s not found.", (int)len, name,
                call->k->account);
}

sl_kstream_t *sl_kapi_stream_by_arn(sl_api_call_t *call, const char *arn, size_t len) {
    sl_arn_t a;
    if (sl_arn_parse_stream(arn, len, &a) != 0 || a.consumer_len) {
        sl_api_fail(call, "InvalidArgumentException", "Invalid StreamARN %.*s.", (int)len, arn);
        return NULL;
    }
    if (a.account_len != strlen(call->k->account) || memcmp(a.account, call->k->account, a.account_len) != 0 ||
        a.region_len != strlen(call->k->region) || memcmp(a.region, call->k->region, a.region_len) != 0) {
        sl_kapi_not_found(call, a.stream, a.stream_len);
        return NULL;
    }
    sl_kstream_t *s = sl_kinesis_find(call->k, a.stream, a.stream_len, call->now_ms);
    if (!s) sl_kapi_not_found(call, a.stream, a.stream_len);
    return s;
}

sl_kstream_t *sl_kapi_stream(sl_api_call_t *call) {
    size_t nlen = 0, alen = 0;
    const char *name = sl_val_get_str(call->in, "StreamName", &nlen);
    const char *arn = sl_val_get_str(call->in, "StreamARN", &alen);
    if (!name && !arn) {
        sl_api_fail(call, "InvalidArgumentException", "Either StreamName or StreamARN must be provided.");
        return NULL;
    }
    if (arn) {
        sl_kstream_t *s = sl_kapi_stream_by_arn(call, arn, alen);
        if (s && name && (strlen(s->name) != nlen || memcmp(s->name, name, nlen) != 0)) {
            sl_api_fail(call, "InvalidArgumentException",
                        "StreamARN %.*s and StreamName %.*s do not identify the same stream.", (int)alen, arn,
                        (int)nlen, name);
            return NULL;
        }
        return s;
    }
    sl_kstream_t *s = sl_kinesis_find(call->k, name, nlen, call->now_ms);
    if (!s) sl_kapi_not_found(call, name, nlen);
    return s;
}

bool sl_kapi_require_active(sl_api_call_t *call, sl_kstream_t *s) {
    sl_kstatus_t st = sl_kstream_status(s, call->now_ms);
    if (st == SL_KS_ACTIVE) return true;
    sl_api_fail(call, "ResourceInUseException", "Stream %s under account %s not ACTIVE, instead in state %s", s->name,
                call->k->account, sl_kstatus_name(st));
    return false;
}

bool sl_kapi_shard_expired(const sl_kstream_t *s, const sl_kshard_t *sh, int64_t now_ms) {
    return sh->closed_ms && sh->closed_ms + (int64_t)s->retention_hours * 3600000 < now_ms;
}

void sl_kapi_encode_hash_range(sl_api_call_t *call, const sl_kshard_t *sh) {
    sl_enc_t *e = &call->enc;
    sl_enc_key(e, "HashKeyRange");
    sl_enc_map_begin(e);
    sl_enc_kv_cstr(e, "StartingHashKey", sh->start_dec);
    sl_enc_kv_cstr(e, "EndingHashKey", sh->end_dec);
    sl_enc_map_end(e);
}

void sl_kapi_encode_shard(sl_api_call_t *call, const sl_kshard_t *sh) {
    sl_enc_t *e = &call->enc;
    char id[24], seq[64];
    sl_enc_map_begin(e);
    sl_enc_kv_cstr(e, "ShardId", sh->id);
    if (sh->parent >= 0) {
        sl_shardid_format((uint32_t)sh->parent, id);
        sl_enc_kv_cstr(e, "ParentShardId", id);
    }
    if (sh->adjacent_parent >= 0) {
        sl_shardid_format((uint32_t)sh->adjacent_parent, id);
        sl_enc_kv_cstr(e, "AdjacentParentShardId", id);
    }
    sl_kapi_encode_hash_range(call, sh);
    sl_enc_key(e, "SequenceNumberRange");
    sl_enc_map_begin(e);
    sl_seqnum_t sn;
    sl_seqnum_shard_start(sh->created_ms, sh->index, &sn);
    sl_seqnum_format(&sn, seq);
    sl_enc_kv_cstr(e, "StartingSequenceNumber", seq);
    if (sh->closed_ms) {
        sl_seqnum_shard_end(sh->created_ms, sh->index, sh->closed_ms, &sn);
        sl_seqnum_format(&sn, seq);
        sl_enc_kv_cstr(e, "EndingSequenceNumber", seq);
    }
    sl_enc_map_end(e);
    sl_enc_map_end(e);
}

void sl_kapi_encode_child_shards(sl_api_call_t *call, const sl_kstream_t *s, const sl_kshard_t *parent) {
    sl_enc_t *e = &call->enc;
    sl_enc_key(e, "ChildShards");
    sl_enc_array_begin(e);
    for (size_t i = 0; i < s->shard_count; i++) {
        const sl_kshard_t *c = s->shards[i];
        if (c->parent != (int32_t)parent->index && c->adjacent_parent != (int32_t)parent->index) continue;
        char id[24];
        sl_enc_map_begin(e);
        sl_enc_kv_cstr(e, "ShardId", c->id);
        sl_enc_key(e, "ParentShards");
        sl_enc_array_begin(e);
        if (c->parent >= 0) {
            sl_shardid_format((uint32_t)c->parent, id);
            sl_enc_cstr(e, id);
        }
        if (c->adjacent_parent >= 0) {
            sl_shardid_format((uint32_t)c->adjacent_parent, id);
            sl_enc_cstr(e, id);
        }
        sl_enc_array_end(e);
        sl_kapi_encode_hash_range(call, c);
        sl_enc_map_end(e);
    }
    sl_enc_array_end(e);
}

bool sl_kapi_shard_limit_ok(sl_api_call_t *call, int64_t extra) {
    size_t open = sl_kinesis_open_shard_count(call->k, call->now_ms);
    if ((int64_t)open + extra <= call->k->cfg.shard_limit) return true;
    sl_api_fail(call, "LimitExceededException",
                "This request would exceed the shard limit for the account %s in %s. Current shard count for the "
                "account: %zu. Limit: %lld. Number of additional shards that would have resulted from this request: "
                "%lld. Refer to the AWS Service Limits page "
                "(http://docs.aws.amazon.com/general/latest/gr/aws_service_limits.html) for current limits and how "
                "to request higher limits.",
                call->k->account, call->k->region, open, (long long)call->k->cfg.shard_limit, (long long)extra);
    return false;
}

sl_seqnum_t sl_kapi_seqnum(int64_t shard_created_ms, uint32_t shard_index, uint64_t counter, int64_t arrival_ms) {
    return (sl_seqnum_t){.shard_created_s = shard_created_ms / 1000, .shard_index = shard_index, .counter = counter,
                         .record_s = arrival_ms / 1000, .version = 2};
}

size_t sl_kapi_format_seq(int64_t shard_created_ms, uint32_t shard_index, uint64_t counter,
                          int64_t arrival_ms, char out[64]) {
    sl_seqnum_t sn = sl_kapi_seqnum(shard_created_ms, shard_index, counter, arrival_ms);
    return sl_seqnum_format(&sn, out);
}

void sl_kapi_encode_records(sl_enc_t *e, const sl_read_result_t *res, int64_t shard_created_ms, uint32_t shard_index,
                            bool encrypted) {
    char seq[64];
    sl_enc_key(e, "Records");
    sl_enc_array_begin(e);
    for (size_t i = 0; i < res->count; i++) {
        const sl_record_t *r = &res->records[i];
        sl_enc_map_begin(e);
        size_t seq_len =
            sl_kapi_format_seq(shard_created_ms, shard_index, r->seq, r->arrival_ms, seq);
        SL_ENC_KV_PLAIN(e, "SequenceNumber", seq, seq_len);
        sl_enc_key(e, "ApproximateArrivalTimestamp");
        sl_enc_timestamp_ms(e, r->arrival_ms);
        sl_enc_key(e, "Data");
        sl_enc_bytes(e, r->data, r->data_len);
        sl_enc_kv_str(e, "PartitionKey", r->partition_key, r->partition_key_len);
        if (encrypted) sl_enc_kv_cstr(e, "EncryptionType", "KMS");
        sl_enc_map_end(e);
    }
    sl_enc_array_end(e);
}

bool sl_kapi_on_demand_limit_ok(sl_api_call_t *call) {
    sl_kinesis_t *k = call->k;
    if ((int64_t)sl_kinesis_on_demand_count(k, call->now_ms) < k->cfg.on_demand_stream_limit) return true;
    sl_api_fail(call, "LimitExceededException",
                "This request would exceed the on-demand stream limit for the account %s in %s. Limit: %lld.",
                k->account, k->region, (long long)k->cfg.on_demand_stream_limit);
    return false;
}
