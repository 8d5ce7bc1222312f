/* The Firehose binding (see binding.h). */
#include "api/firehose/binding.h"

#include "api/firehose/model.h"
#include "core/common.h"
#include "wire/awserror.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* PutRecordBatch: at most 4 MiB of record data per call (AWS; not raiseable). */
#define BATCH_BYTES_MAX (4u << 20)

static void fail(sl_front_call_t *call, const sl_fherr_t *err) {
    switch (err->type) {
    case SL_FHERR_NOT_FOUND:
        sl_front_fail(call, SL_AWS_RESOURCE_NOT_FOUND, "%s", err->message);
        break;
    case SL_FHERR_IN_USE:
        sl_front_fail(call, SL_AWS_RESOURCE_IN_USE, "%s", err->message);
        break;
    case SL_FHERR_INVALID_ARGUMENT:
        sl_front_fail(call, SL_AWS_INVALID_ARGUMENT, "%s", err->message);
        break;
    case SL_FHERR_VALIDATION:
        sl_front_fail(call, SL_AWS_VALIDATION, "%s", err->message);
        break;
    case SL_FHERR_LIMIT:
        sl_front_fail(call, SL_AWS_LIMIT_EXCEEDED, "%s", err->message);
        break;
    case SL_FHERR_CONCURRENT:
        sl_front_fail_status(call, 400, "ConcurrentModificationException", err->message, NULL,
                             NULL);
        break;
    case SL_FHERR_KMS:
        sl_front_fail_status(call, 400, "InvalidKMSResourceException", err->message, NULL, NULL);
        break;
    case SL_FHERR_UNAVAILABLE: /* modelled fault: AWS answers 500 */
        sl_front_fail_status(call, 500, "ServiceUnavailableException", err->message, NULL, NULL);
        break;
    default:
        sl_front_fail(call, SL_AWS_INTERNAL_FAILURE, "%s", err->message);
        break;
    }
}

static const char *str(const sl_val_t *in, const char *key) {
    const sl_val_t *v = sl_val_get(in, key);
    return v && v->type == SL_VAL_STRING ? v->u.str.ptr : NULL;
}

/* The one member of `in` whose name ends with `suffix` and that is set: its kind (the name without
 * the suffix) and value; *count how many there were. */
static const sl_val_t *one_of(const sl_front_call_t *call, const char *suffix, const char **kind,
                              int *count) {
    const sl_val_t *found = NULL;
    size_t sl = strlen(suffix);
    *count = 0;
    *kind = "";
    for (size_t i = 0; i < call->in->u.map.count; i++) {
        const sl_kv_t *kv = &call->in->u.map.items[i];
        if (kv->val->type == SL_VAL_NULL || kv->key_len <= sl ||
            memcmp(kv->key + kv->key_len - sl, suffix, sl) != 0)
            continue;
        (*count)++;
        found = kv->val;
        *kind = sl_arena_strndup(call->arena, kv->key, kv->key_len - sl);
    }
    return found;
}

static sl_fh_tag_t *tags_of(const sl_front_call_t *call, const sl_val_t *list, size_t *n) {
    *n = 0;
    if (!list || list->type != SL_VAL_ARRAY) return NULL;
    sl_fh_tag_t *tags = sl_arena_calloc(call->arena, list->u.arr.count + 1, sizeof *tags);
    for (size_t i = 0; tags && i < list->u.arr.count; i++) {
        tags[*n].key = str(list->u.arr.items[i], "Key");
        tags[*n].value = str(list->u.arr.items[i], "Value");
        if (tags[*n].key) (*n)++;
    }
    return tags;
}

static void op_create(sl_front_call_t *call) {
    sl_fh_create_t req = {
        .name = str(call->in, "DeliveryStreamName"),
        .type = str(call->in, "DeliveryStreamType"),
        .kinesis_source = sl_val_get(call->in, "KinesisStreamSourceConfiguration"),
        .encryption = sl_val_get(call->in, "DeliveryStreamEncryptionConfigurationInput"),
        .now_ms = call->now_ms,
    };
    req.dest = one_of(call, "DestinationConfiguration", &req.dest_kind, &req.dest_count);
    req.tags = tags_of(call, sl_val_get(call->in, "Tags"), &req.tag_count);
    char arn[320];
    sl_fherr_t err = {0};
    if (sl_firehose_create(call->account, &req, arn, &err) != 0) return fail(call, &err);
    sl_enc_map_begin(&call->enc);
    sl_enc_kv_cstr(&call->enc, "DeliveryStreamARN", arn);
    sl_enc_map_end(&call->enc);
    sl_front_reply(call);
}

static void op_delete(sl_front_call_t *call) {
    sl_fherr_t err = {0};
    if (sl_firehose_delete(call->account, str(call->in, "DeliveryStreamName"), &err) != 0)
        return fail(call, &err);
    sl_enc_map_begin(&call->enc);
    sl_enc_map_end(&call->enc);
    sl_front_reply(call);
}

/* ---- Describe ---- */

static const char *const SECRETS[] = {"Password", "AccessKey", "PrivateKey", "KeyPassphrase"};

/* A stored configuration as a description: S3Configuration and S3BackupConfiguration renamed,
 * secrets left out. */
static sl_val_t *description_of(sl_front_call_t *call, const sl_val_t *cfg) {
    sl_val_t *d = (sl_val_t *)cfg; /* a clone in the call's arena (sl_fh_info_t.dest) */
    if (!d || d->type != SL_VAL_MAP) return d;
    for (size_t i = 0; i < SL_ARRAY_LEN(SECRETS); i++) {
        size_t w = 0, n = strlen(SECRETS[i]);
        for (size_t j = 0; j < d->u.map.count; j++) {
            sl_kv_t kv = d->u.map.items[j];
            if (kv.key_len == n && memcmp(kv.key, SECRETS[i], n) == 0) continue;
            d->u.map.items[w++] = kv;
        }
        d->u.map.count = w;
    }
    for (size_t j = 0; j < d->u.map.count; j++) {
        sl_kv_t *kv = &d->u.map.items[j];
        if (kv->key_len == 15 && memcmp(kv->key, "S3Configuration", 15) == 0) {
            kv->key = "S3DestinationDescription";
            kv->key_len = strlen(kv->key);
            description_of(call, kv->val);
        } else if (kv->key_len == 21 && memcmp(kv->key, "S3BackupConfiguration", 21) == 0) {
            kv->key = "S3BackupDescription";
            kv->key_len = strlen(kv->key);
            description_of(call, kv->val);
        } else if (kv->key_len == 21 && memcmp(kv->key, "EndpointConfiguration", 21) == 0) {
            description_of(call, kv->val);
        }
    }
    return d;
}

/* The plain S3 description an S3-like destination also shows. */
static void encode_plain_s3(sl_enc_t *e, const sl_val_t *cfg) {
    static const char *const members[] = {"RoleARN",
                                          "BucketARN",
                                          "Prefix",
                                          "ErrorOutputPrefix",
                                          "BufferingHints",
                                          "CompressionFormat",
                                          "EncryptionConfiguration",
                                          "CloudWatchLoggingOptions"};
    sl_enc_key(e, "S3DestinationDescription");
    sl_enc_map_begin(e);
    for (size_t i = 0; i < SL_ARRAY_LEN(members); i++) {
        const sl_val_t *v = sl_val_get(cfg, members[i]);
        if (!v) continue;
        sl_enc_key(e, members[i]);
        sl_enc_value(e, v);
    }
    sl_enc_map_end(e);
}

static void op_describe(sl_front_call_t *call) {
    sl_fh_info_t info;
    sl_fherr_t err = {0};
    if (sl_firehose_describe(call->account, str(call->in, "DeliveryStreamName"), call->arena, &info,
                             &err) != 0)
        return fail(call, &err);
    sl_enc_t *e = &call->enc;
    sl_enc_map_begin(e);
    sl_enc_key(e, "DeliveryStreamDescription");
    sl_enc_map_begin(e);
    sl_enc_kv_cstr(e, "DeliveryStreamName", info.name);
    sl_enc_kv_cstr(e, "DeliveryStreamARN", info.arn);
    sl_enc_kv_cstr(e, "DeliveryStreamStatus", info.status);
    if (info.enc_status) {
        sl_enc_key(e, "DeliveryStreamEncryptionConfiguration");
        sl_enc_map_begin(e);
        if (info.enc_key_arn) sl_enc_kv_cstr(e, "KeyARN", info.enc_key_arn);
        if (info.enc_key_type) sl_enc_kv_cstr(e, "KeyType", info.enc_key_type);
        sl_enc_kv_cstr(e, "Status", info.enc_status);
        sl_enc_map_end(e);
    }
    sl_enc_kv_cstr(e, "DeliveryStreamType", info.type);
    sl_enc_kv_cstr(e, "VersionId", info.version);
    sl_enc_key(e, "CreateTimestamp");
    sl_enc_timestamp_ms(e, info.created_ms);
    if (info.updated_ms != info.created_ms) {
        sl_enc_key(e, "LastUpdateTimestamp");
        sl_enc_timestamp_ms(e, info.updated_ms);
    }
    if (info.source_arn) {
        sl_enc_key(e, "Source");
        sl_enc_map_begin(e);
        sl_enc_key(e, "KinesisStreamSourceDescription");
        sl_enc_map_begin(e);
        sl_enc_kv_cstr(e, "KinesisStreamARN", info.source_arn);
        if (info.source_role) sl_enc_kv_cstr(e, "RoleARN", info.source_role);
        sl_enc_key(e, "DeliveryStartTimestamp");
        sl_enc_timestamp_ms(e, info.source_start_ms);
        sl_enc_map_end(e);
        sl_enc_map_end(e);
    }
    sl_enc_key(e, "Destinations");
    sl_enc_array_begin(e);
    sl_enc_map_begin(e);
    sl_enc_kv_cstr(e, "DestinationId", "destinationId-000000000001");
    bool s3 = strcmp(info.dest_kind, "ExtendedS3") == 0 || strcmp(info.dest_kind, "S3") == 0;
    if (s3) encode_plain_s3(e, info.dest);
    if (strcmp(info.dest_kind, "S3") != 0) {
        char key[96];
        snprintf(key, sizeof key, "%sDestinationDescription", s3 ? "ExtendedS3" : info.dest_kind);
        sl_enc_key(e, key);
        sl_enc_value(e, description_of(call, info.dest));
    }
    sl_enc_map_end(e);
    sl_enc_array_end(e);
    sl_enc_kv_bool(e, "HasMoreDestinations", false);
    sl_enc_map_end(e);
    sl_enc_map_end(e);
    sl_front_reply(call);
}

static void op_list(sl_front_call_t *call) {
    int64_t limit = 10;
    sl_val_get_int(call->in, "Limit", &limit);
    const char **names;
    size_t count;
    bool more;
    int rc = sl_firehose_list(call->account, str(call->in, "DeliveryStreamType"),
                              str(call->in, "ExclusiveStartDeliveryStreamName"), (size_t)limit,
                              call->arena, &names, &count, &more);
    if (rc) return sl_front_fail_internal(call, rc);
    sl_enc_t *e = &call->enc;
    sl_enc_map_begin(e);
    sl_enc_key(e, "DeliveryStreamNames");
    sl_enc_array_begin(e);
    for (size_t i = 0; i < count; i++)
        sl_enc_cstr(e, names[i]);
    sl_enc_array_end(e);
    sl_enc_kv_bool(e, "HasMoreDeliveryStreams", more);
    sl_enc_map_end(e);
    sl_front_reply(call);
}

static void op_update(sl_front_call_t *call) {
    sl_fh_update_t req = {
        .name = str(call->in, "DeliveryStreamName"),
        .version_id = str(call->in, "CurrentDeliveryStreamVersionId"),
        .destination_id = str(call->in, "DestinationId"),
        .now_ms = call->now_ms,
    };
    req.update = one_of(call, "DestinationUpdate", &req.dest_kind, &req.update_count);
    sl_fherr_t err = {0};
    if (sl_firehose_update(call->account, &req, &err) != 0) return fail(call, &err);
    sl_enc_map_begin(&call->enc);
    sl_enc_map_end(&call->enc);
    sl_front_reply(call);
}

static void reply_empty(sl_front_call_t *call) {
    sl_enc_map_begin(&call->enc);
    sl_enc_map_end(&call->enc);
    sl_front_reply(call);
}

static void op_tag(sl_front_call_t *call) {
    size_t n;
    sl_fh_tag_t *tags = tags_of(call, sl_val_get(call->in, "Tags"), &n);
    sl_fherr_t err = {0};
    if (sl_firehose_tag(call->account, str(call->in, "DeliveryStreamName"), tags, n, &err) != 0)
        return fail(call, &err);
    reply_empty(call);
}

static void op_untag(sl_front_call_t *call) {
    const sl_val_t *list = sl_val_get(call->in, "TagKeys");
    size_t n = list && list->type == SL_VAL_ARRAY ? list->u.arr.count : 0;
    const char **keys = sl_arena_calloc(call->arena, n + 1, sizeof *keys);
    size_t k = 0;
    for (size_t i = 0; keys && i < n; i++)
        if (list->u.arr.items[i]->type == SL_VAL_STRING)
            keys[k++] = list->u.arr.items[i]->u.str.ptr;
    sl_fherr_t err = {0};
    if (sl_firehose_untag(call->account, str(call->in, "DeliveryStreamName"), keys, k, &err) != 0)
        return fail(call, &err);
    reply_empty(call);
}

static void op_list_tags(sl_front_call_t *call) {
    int64_t limit = 50;
    sl_val_get_int(call->in, "Limit", &limit);
    sl_fh_tag_t *tags;
    size_t count;
    bool more;
    sl_fherr_t err = {0};
    if (sl_firehose_list_tags(call->account, str(call->in, "DeliveryStreamName"),
                              str(call->in, "ExclusiveStartTagKey"), (size_t)limit, call->arena,
                              &tags, &count, &more, &err) != 0)
        return fail(call, &err);
    sl_enc_t *e = &call->enc;
    sl_enc_map_begin(e);
    sl_enc_key(e, "Tags");
    sl_enc_array_begin(e);
    for (size_t i = 0; i < count; i++) {
        sl_enc_map_begin(e);
        sl_enc_kv_cstr(e, "Key", tags[i].key);
        if (tags[i].value) sl_enc_kv_cstr(e, "Value", tags[i].value);
        sl_enc_map_end(e);
    }
    sl_enc_array_end(e);
    sl_enc_kv_bool(e, "HasMoreTags", more);
    sl_enc_map_end(e);
    sl_front_reply(call);
}

static void op_start_encryption(sl_front_call_t *call) {
    const sl_val_t *cfg = sl_val_get(call->in, "DeliveryStreamEncryptionConfigurationInput");
    sl_fherr_t err = {0};
    if (sl_firehose_encryption(call->account, str(call->in, "DeliveryStreamName"), true,
                               str(cfg, "KeyType"), str(cfg, "KeyARN"), call->now_ms, &err) != 0)
        return fail(call, &err);
    reply_empty(call);
}

static void op_stop_encryption(sl_front_call_t *call) {
    sl_fherr_t err = {0};
    if (sl_firehose_encryption(call->account, str(call->in, "DeliveryStreamName"), false, NULL,
                               NULL, call->now_ms, &err) != 0)
        return fail(call, &err);
    reply_empty(call);
}

/* ---- PutRecord(Batch) ---- */

typedef struct {
    bool batch;
    size_t count;
    bool encrypted;
    uint64_t log_id;
    int status;
    uint64_t first_seq;
} put_state_t;

static void put_finish(sl_front_call_t *call) {
    put_state_t *st = call->state;
    sl_enc_t *e = &call->enc;
    char id[64];
    if (!st->batch) {
        if (st->status) {
            if (st->status == SL_EAGAIN) {
                sl_fherr_t err = {SL_FHERR_UNAVAILABLE, "Slow down."};
                return fail(call, &err);
            }
            return sl_front_fail_internal(call, st->status);
        }
        sl_firehose_record_id(st->log_id, st->first_seq, id);
        sl_enc_map_begin(e);
        sl_enc_kv_cstr(e, "RecordId", id);
        sl_enc_kv_bool(e, "Encrypted", st->encrypted);
        sl_enc_map_end(e);
        return sl_front_reply(call);
    }
    sl_enc_map_begin(e);
    sl_enc_kv_int(e, "FailedPutCount", st->status ? (int64_t)st->count : 0);
    sl_enc_kv_bool(e, "Encrypted", st->encrypted);
    sl_enc_key(e, "RequestResponses");
    sl_enc_array_begin(e);
    for (size_t i = 0; i < st->count; i++) {
        sl_enc_map_begin(e);
        if (st->status == 0) {
            sl_firehose_record_id(st->log_id, st->first_seq + i, id);
            sl_enc_kv_cstr(e, "RecordId", id);
        } else if (st->status == SL_EAGAIN) {
            sl_enc_kv_cstr(e, "ErrorCode", "ServiceUnavailableException");
            sl_enc_kv_cstr(e, "ErrorMessage", "Slow down.");
        } else {
            sl_enc_kv_cstr(e, "ErrorCode", "InternalFailure");
            sl_enc_kv_cstr(e, "ErrorMessage", sl_strerror(st->status));
        }
        sl_enc_map_end(e);
    }
    sl_enc_array_end(e);
    sl_enc_map_end(e);
    sl_front_reply(call);
}

static void put_done(void *arg, int status, uint64_t first_seq) {
    sl_front_call_t *call = arg;
    put_state_t *st = call->state;
    st->status = status;
    st->first_seq = first_seq;
    sl_front_post(call, put_finish);
}

static void put(sl_front_call_t *call, bool batch) {
    sl_fh_record_t one;
    sl_fh_record_t *records = &one;
    size_t n = 1;
    if (batch) {
        const sl_val_t *list = sl_val_get(call->in, "Records");
        n = list ? list->u.arr.count : 0;
        records = sl_arena_calloc(call->arena, n + 1, sizeof *records);
        if (!records) return sl_front_fail_internal(call, SL_ENOMEM);
        size_t total = 0;
        for (size_t i = 0; i < n; i++) {
            const sl_val_t *d = sl_val_get(list->u.arr.items[i], "Data");
            records[i].data = d ? (const uint8_t *)d->u.str.ptr : (const uint8_t *)"";
            records[i].len = d ? d->u.str.len : 0;
            total += records[i].len;
        }
        if (total > BATCH_BYTES_MAX)
            return sl_front_fail(call, SL_AWS_INVALID_ARGUMENT, "Records size exceeds 4 MB limit");
    } else {
        const sl_val_t *d = sl_val_get(sl_val_get(call->in, "Record"), "Data");
        one.data = d ? (const uint8_t *)d->u.str.ptr : (const uint8_t *)"";
        one.len = d ? d->u.str.len : 0;
    }
    put_state_t *st = sl_arena_calloc(call->arena, 1, sizeof *st);
    if (!st) return sl_front_fail_internal(call, SL_ENOMEM);
    st->batch = batch;
    st->count = n;
    call->state = st;
    sl_fherr_t err = {0};
    if (sl_firehose_put(call->account, str(call->in, "DeliveryStreamName"), records, n,
                        call->now_ms, put_done, call, &st->encrypted, &st->log_id, &err) != 0) {
        if (batch && err.type == SL_FHERR_UNAVAILABLE) {
            st->status = SL_EAGAIN;
            return put_finish(call);
        }
        return fail(call, &err);
    }
}

static void op_put_record(sl_front_call_t *call) {
    put(call, false);
}

static void op_put_record_batch(sl_front_call_t *call) {
    put(call, true);
}

static sl_front_op_fn handler(const char *name) {
    static const struct {
        const char *name;
        sl_front_op_fn fn;
    } table[] = {
        {"CreateDeliveryStream", op_create},
        {"DeleteDeliveryStream", op_delete},
        {"DescribeDeliveryStream", op_describe},
        {"ListDeliveryStreams", op_list},
        {"UpdateDestination", op_update},
        {"TagDeliveryStream", op_tag},
        {"UntagDeliveryStream", op_untag},
        {"ListTagsForDeliveryStream", op_list_tags},
        {"StartDeliveryStreamEncryption", op_start_encryption},
        {"StopDeliveryStreamEncryption", op_stop_encryption},
        {"PutRecord", op_put_record},
        {"PutRecordBatch", op_put_record_batch},
    };
    for (size_t i = 0; i < SL_ARRAY_LEN(table); i++)
        if (strcmp(table[i].name, name) == 0) return table[i].fn;
    return NULL;
}

void sl_fhapi_describe(sl_front_service_t *svc) {
    *svc = (sl_front_service_t){
        .name = "firehose",
        .protocol = SL_FRONT_PROTO_JSON,
        .model = &sl_firehose_model,
        .handler = handler,
        .signing_name = sl_firehose_model.signing_name,
        .json_content_type = "application/x-amz-json-1.1",
    };
}
