/* Helpers shared by the Kinesis operation handlers (see common.h). */
#include "api/kinesis/common.h"

#include "kinesis/hashkey.h"
#include "kinesis/names.h"
#include "kinesis/seqnum.h"

#include <string.h>

const char *sl_kapi_error_type(sl_kerr_type_t type) {
    switch (type) {
    case SL_KERR_INVALID_ARGUMENT:
        return SL_AWS_INVALID_ARGUMENT;
    case SL_KERR_RESOURCE_NOT_FOUND:
        return SL_AWS_RESOURCE_NOT_FOUND;
    case SL_KERR_RESOURCE_IN_USE:
        return SL_AWS_RESOURCE_IN_USE;
    case SL_KERR_VALIDATION:
        return SL_AWS_VALIDATION;
    case SL_KERR_THROUGHPUT_EXCEEDED:
        return SL_AWS_PROVISIONED_THROUGHPUT_EXCEEDED;
    case SL_KERR_EXPIRED_ITERATOR:
        return SL_AWS_EXPIRED_ITERATOR;
    case SL_KERR_LIMIT_EXCEEDED:
        return SL_AWS_LIMIT_EXCEEDED;
    case SL_KERR_EXPIRED_NEXT_TOKEN:
        return SL_AWS_EXPIRED_NEXT_TOKEN;
    case SL_KERR_KMS_DISABLED:
        return "KMSDisabledException";
    case SL_KERR_KMS_INVALID_STATE:
        return "KMSInvalidStateException";
    case SL_KERR_KMS_NOT_FOUND:
        return "KMSNotFoundException";
    case SL_KERR_NONE:
    case SL_KERR_INTERNAL:
        break;
    }
    return SL_AWS_INTERNAL_FAILURE;
}

void sl_kapi_fail_err(sl_front_call_t *call, const sl_kerr_t *err) {
    if (err->type == SL_KERR_INTERNAL)
        sl_front_fail_internal(call, err->cause);
    else if (err->message[0])
        sl_front_fail(call, sl_kapi_error_type(err->type), "%s", err->message);
    else
        sl_front_fail(call, sl_kapi_error_type(err->type), NULL);
}

sl_kstream_ref_t sl_kapi_stream_ref(const sl_front_call_t *call) {
    sl_kstream_ref_t ref = {0};
    ref.name = sl_val_get_str(call->in, "StreamName", &ref.name_len);
    ref.arn = sl_val_get_str(call->in, "StreamARN", &ref.arn_len);
    return ref;
}

void sl_kapi_answer(sl_front_call_t *call, bool ok, const sl_kerr_t *err) {
    if (ok)
        sl_front_reply(call);
    else
        sl_kapi_fail_err(call, err);
}

void sl_kapi_finish(sl_front_call_t *call, bool ok, const sl_kerr_t *err, sl_kapi_encode_fn encode,
                    const void *result) {
    if (ok) encode(&call->enc, result);
    sl_kapi_answer(call, ok, err);
}

void sl_kapi_encode_shard(sl_enc_t *e, const sl_kshard_info_t *sh) {
    char id[24], seq[64], key[40];
    sl_enc_map_begin(e);
    sl_shardid_format(sh->index, id);
    sl_enc_kv_cstr(e, "ShardId", id);
    if (sh->parent >= 0) {
        sl_shardid_format((uint32_t)sh->parent, id);
        sl_enc_kv_cstr(e, "ParentShardId", id);
    }
    if (sh->adjacent_parent >= 0) {
        sl_shardid_format((uint32_t)sh->adjacent_parent, id);
        sl_enc_kv_cstr(e, "AdjacentParentShardId", id);
    }
    sl_enc_key(e, "HashKeyRange");
    sl_enc_map_begin(e);
    sl_hashkey_format(sh->start, key);
    sl_enc_kv_cstr(e, "StartingHashKey", key);
    sl_hashkey_format(sh->end, key);
    sl_enc_kv_cstr(e, "EndingHashKey", key);
    sl_enc_map_end(e);
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

void sl_kapi_encode_children(sl_enc_t *e, const sl_kchild_t *children, size_t count) {
    sl_enc_key(e, "ChildShards");
    sl_enc_array_begin(e);
    for (size_t i = 0; i < count; i++) {
        const sl_kchild_t *c = &children[i];
        sl_enc_map_begin(e);
        sl_enc_kv_cstr(e, "ShardId", c->shard_id);
        sl_enc_key(e, "ParentShards");
        sl_enc_array_begin(e);
        for (int p = 0; p < c->parent_count; p++)
            sl_enc_cstr(e, c->parents[p]);
        sl_enc_array_end(e);
        sl_enc_key(e, "HashKeyRange");
        sl_enc_map_begin(e);
        sl_enc_kv_cstr(e, "StartingHashKey", c->start_dec);
        sl_enc_kv_cstr(e, "EndingHashKey", c->end_dec);
        sl_enc_map_end(e);
        sl_enc_map_end(e);
    }
    sl_enc_array_end(e);
}

void sl_kapi_encode_records(sl_enc_t *e, const sl_kread_t *rd, bool encrypted) {
    /* EncryptionType is the record's own: stored encrypted (kinesis/crypt.c); an engine without
     * KMS (tests, tools) stores records as given and reports the stream's setting */
    const uint8_t *flags = rd->record_encrypted;
    char seq[64];
    sl_enc_key(e, "Records");
    sl_enc_array_begin(e);
    for (size_t i = 0; i < rd->count; i++) {
        const sl_krecord_t *r = &rd->records[i];
        sl_enc_map_begin(e);
        sl_seqnum_t sn =
            sl_kinesis_seqnum(rd->shard_created_ms, rd->shard_index, r->seq, r->arrival_ms);
        size_t seq_len = sl_seqnum_format(&sn, seq);
        SL_ENC_KV_PLAIN(e, "SequenceNumber", seq, seq_len);
        sl_enc_key(e, "ApproximateArrivalTimestamp");
        sl_enc_timestamp_ms(e, r->arrival_ms);
        sl_enc_key(e, "Data");
        sl_enc_bytes(e, r->data, r->data_len);
        sl_enc_kv_str(e, "PartitionKey", r->partition_key, r->partition_key_len);
        if (flags ? flags[i] : encrypted && !rd->kms_on) sl_enc_kv_cstr(e, "EncryptionType", "KMS");
        sl_enc_map_end(e);
    }
    sl_enc_array_end(e);
}

/* The Tags map of a request as the core's tags (values "" when not strings). */
sl_ktag_ref_t *sl_kapi_tags_in(sl_front_call_t *call, size_t *count) {
    sl_val_t *m = sl_val_get(call->in, "Tags");
    *count = m ? m->u.map.count : 0;
    sl_ktag_ref_t *tags = sl_arena_calloc(call->arena, *count ? *count : 1, sizeof *tags);
    for (size_t i = 0; tags && i < *count; i++) {
        const sl_kv_t *kv = &m->u.map.items[i];
        bool str = kv->val && kv->val->type == SL_VAL_STRING;
        tags[i] = (sl_ktag_ref_t){kv->key, kv->key_len, str ? kv->val->u.str.ptr : "",
                                  str ? kv->val->u.str.len : 0};
    }
    return tags;
}
