/* Kinesis stream lifecycle and description operations: CreateStream, DeleteStream, DescribeStream,
 * DescribeStreamSummary, ListStreams, ListShards, retention, enhanced monitoring, limits, account
 * settings, stream mode, warm throughput, max record size and encryption flags. */
#include "api/kinesis/common.h"

#include "core/limits.h"
#include "kinesis/names.h"
#include "kinesis/token.h"

#include <stdio.h>
#include <string.h>

static const char *val_str(sl_front_call_t *call, const char *key, size_t *len) {
    return sl_val_get_str(call->in, key, len);
}

static void encode_mode(sl_enc_t *e, const sl_kstream_t *s) {
    sl_enc_key(e, "StreamModeDetails");
    sl_enc_map_begin(e);
    sl_enc_kv_cstr(e, "StreamMode", s->on_demand ? "ON_DEMAND" : "PROVISIONED");
    sl_enc_map_end(e);
}

static void encode_monitoring(sl_enc_t *e, const sl_kstream_t *s) {
    sl_enc_key(e, "EnhancedMonitoring");
    sl_enc_array_begin(e);
    sl_enc_map_begin(e);
    sl_enc_key(e, "ShardLevelMetrics");
    sl_enc_array_begin(e);
    for (int i = 0; i < SL_KMETRICS_COUNT; i++)
        if (s->metrics & (1u << i)) sl_enc_cstr(e, sl_kmetric_names[i]);
    sl_enc_array_end(e);
    sl_enc_map_end(e);
    sl_enc_array_end(e);
}

static void encode_encryption(sl_enc_t *e, const sl_kstream_t *s) {
    sl_enc_kv_cstr(e, "EncryptionType", s->encrypted ? "KMS" : "NONE");
    if (s->encrypted && s->key_id[0]) sl_enc_kv_cstr(e, "KeyId", s->key_id);
}

/* The members StreamDescription and StreamDescriptionSummary share. */
static void encode_stream_common(sl_enc_t *e, const sl_kstream_t *s, sl_kstatus_t st) {
    sl_enc_kv_cstr(e, "StreamName", s->name);
    sl_enc_kv_cstr(e, "StreamARN", s->arn);
    sl_enc_kv_cstr(e, "StreamStatus", sl_kstatus_name(st));
    encode_mode(e, s);
    sl_enc_kv_int(e, "RetentionPeriodHours", s->retention_hours);
    sl_enc_key(e, "StreamCreationTimestamp");
    sl_enc_timestamp_ms(e, s->created_ms);
    encode_monitoring(e, s);
    encode_encryption(e, s);
}

/* Does the stream have shards to show? None while CREATING, and none once it was deleted while
 * still CREATING: AWS then describes it as DELETING with no shards (kinesalite's deleteStream test,
 * recorded on AWS). DELETING began delete_stream_ms before status_until_ms, and CREATING lasted
 * create_stream_ms from created_ms. */
static bool shards_visible(const sl_kinesis_t *k, const sl_kstream_t *s, sl_kstatus_t st) {
    if (st == SL_KS_CREATING) return false;
    if (st != SL_KS_DELETING) return true;
    int64_t deleted_ms = s->status_until_ms - k->cfg.delete_stream_ms;
    return deleted_ms >= s->created_ms + k->cfg.create_stream_ms;
}

/* ---- CreateStream ---- */
static void op_create_stream(sl_front_call_t *call) {
    sl_kinesis_t *k = sl_kapi_engine(call);
    size_t nlen;
    const char *name = val_str(call, "StreamName", &nlen);
    int64_t shards = 0, max_kib = SL_KINESIS_MAX_RECORD_SIZE_KIB_DEFAULT, warm = -1;
    bool has_shards = sl_val_get_int(call->in, "ShardCount", &shards);
    sl_val_get_int(call->in, "MaxRecordSizeInKiB", &max_kib);
    bool has_warm = sl_val_get_int(call->in, "WarmThroughputMiBps", &warm);
    const char *mode =
        sl_val_get_str(sl_val_get(call->in, "StreamModeDetails"), "StreamMode", NULL);
    bool on_demand = mode ? strcmp(mode, "ON_DEMAND") == 0 : !has_shards;
    if (on_demand) {
        if (has_shards && mode) {
            sl_front_fail(call, SL_AWS_VALIDATION,
                          "ShardCount is not supported for streams in ON_DEMAND mode.");
            return;
        }
        shards = SL_KINESIS_ON_DEMAND_SHARDS;
    } else if (!has_shards) {
        sl_front_fail(call, SL_AWS_INVALID_ARGUMENT,
                      "ShardCount is required for streams in PROVISIONED mode.");
        return;
    }
    if (has_warm && !on_demand) {
        sl_front_fail(call, SL_AWS_INVALID_ARGUMENT,
                      "WarmThroughputMiBps is only supported for ON_DEMAND streams.");
        return;
    }
    if (has_warm && !k->commitment_enabled) {
        sl_front_fail(call, SL_AWS_INVALID_ARGUMENT,
                      "WarmThroughputMiBps requires the account's "
                      "MinimumThroughputBillingCommitment to be ENABLED.");
        return;
    }
    sl_val_t *tags = sl_val_get(call->in, "Tags");
    if (tags && tags->u.map.count > SL_KINESIS_TAGS_PER_STREAM_MAX) {
        sl_front_fail(call, SL_AWS_INVALID_ARGUMENT,
                      "Failed to create stream %.*s under account %s because a given stream cannot "
                      "have more than "
                      "%d tags associated with it.",
                      (int)nlen, name, k->account, SL_KINESIS_TAGS_PER_STREAM_MAX);
        return;
    }

    sl_kinesis_wrlock(k);
    if (sl_kinesis_find(k, name, nlen, call->now_ms)) {
        sl_kinesis_unlock(k);
        sl_front_fail(call, SL_AWS_RESOURCE_IN_USE, "Stream %.*s under account %s already exists.",
                      (int)nlen, name, k->account);
        return;
    }
    /* a stream still DELETING (or gone but not yet reaped) with the same name blocks re-creation */
    size_t pos = sl_kinesis_lower_bound(k, name, nlen, false);
    if (pos < k->stream_count && strlen(k->streams[pos]->name) == nlen &&
        memcmp(k->streams[pos]->name, name, nlen) == 0) {
        sl_kinesis_unlock(k);
        sl_front_fail(call, SL_AWS_RESOURCE_IN_USE, "Stream %.*s under account %s already exists.",
                      (int)nlen, name, k->account);
        return;
    }
    if (!sl_kapi_shard_limit_ok(call, shards)) {
        sl_kinesis_unlock(k);
        return;
    }
    if (on_demand && !sl_kapi_on_demand_limit_ok(call)) {
        sl_kinesis_unlock(k);
        return;
    }
    if (sl_kinesis_creating_count(k, call->now_ms) >= SL_KINESIS_CREATING_STREAMS_MAX) {
        sl_kinesis_unlock(k);
        sl_front_fail(call, SL_AWS_LIMIT_EXCEEDED,
                      "This request would exceed the limit of %d streams in CREATING state for the "
                      "account %s in %s.",
                      SL_KINESIS_CREATING_STREAMS_MAX, k->account, k->region);
        return;
    }
    char namez[129];
    snprintf(namez, sizeof namez, "%.*s", (int)nlen, name);
    sl_kstream_t *s = NULL;
    int rc = sl_kinesis_create_stream(k, namez, (int)shards, on_demand, (int32_t)max_kib,
                                      has_warm ? warm : -1, call->now_ms, &s);
    if (rc == 0 && tags) {
        for (size_t i = 0; i < tags->u.map.count && rc == 0; i++) {
            const sl_kv_t *kv = &tags->u.map.items[i];
            char *key = sl_arena_strndup(call->arena, kv->key, kv->key_len);
            const char *value = kv->val && kv->val->type == SL_VAL_STRING ? kv->val->u.str.ptr : "";
            rc = sl_kinesis_tag_set(k, &s->tags, s->arn, key, value);
        }
    }
    sl_kinesis_unlock(k);
    if (rc) {
        sl_front_fail_internal(call, rc);
        return;
    }
    sl_front_reply(call);
}

/* ---- DeleteStream ---- */
static void op_delete_stream(sl_front_call_t *call) {
    sl_kinesis_t *k = sl_kapi_engine(call);
    bool enforce = false;
    sl_val_get_bool(call->in, "EnforceConsumerDeletion", &enforce);
    sl_kinesis_wrlock(k);
    sl_kstream_t *s = sl_kapi_stream(call);
    if (!s) goto out;
    if (s->consumer_count && !enforce) {
        sl_front_fail(call, SL_AWS_RESOURCE_IN_USE,
                      "Stream %s under account %s has registered consumers. Use "
                      "EnforceConsumerDeletion to delete "
                      "the stream with its consumers.",
                      s->name, k->account);
        goto out;
    }
    char name[sizeof s->name];
    memcpy(name, s->name, sizeof name);
    int rc = sl_kinesis_delete_stream(k, s, call->now_ms);
    sl_kinesis_unlock(k);
    if (rc != 0) {
        sl_front_fail_internal(call, rc);
        return;
    }
    sl_kapi_t *api = call->binding; /* call is released with the reply */
    sl_front_reply(call);
    sl_kapi_subs_kick(api, name, NULL);
    return;
out:
    sl_kinesis_unlock(k);
}

/* ---- DescribeStream ---- */
static void op_describe_stream(sl_front_call_t *call) {
    sl_kinesis_t *k = sl_kapi_engine(call);
    int64_t limit = SL_KINESIS_DESCRIBE_STREAM_SHARDS_MAX;
    sl_val_get_int(call->in, "Limit", &limit);
    if (limit > SL_KINESIS_DESCRIBE_STREAM_SHARDS_MAX)
        limit = SL_KINESIS_DESCRIBE_STREAM_SHARDS_MAX;
    size_t start_len = 0;
    const char *start = val_str(call, "ExclusiveStartShardId", &start_len);
    sl_kinesis_rdlock(k);
    sl_kstream_t *s = sl_kapi_stream(call);
    if (!s) goto out;
    sl_enc_t *e = &call->enc;
    sl_kstatus_t st = sl_kstream_status(s, call->now_ms);
    sl_enc_map_begin(e);
    sl_enc_key(e, "StreamDescription");
    sl_enc_map_begin(e);
    encode_stream_common(e, s, st);
    sl_enc_key(e, "Shards");
    sl_enc_array_begin(e);
    bool more = false;
    int64_t n = 0;
    if (shards_visible(k, s, st)) {
        for (size_t i = 0; i < s->shard_count; i++) {
            const sl_kshard_t *sh = s->shards[i];
            if (sl_kapi_shard_expired(s, sh, call->now_ms)) continue;
            if (start && strncmp(sh->id, start, start_len) <= 0 &&
                !(strlen(sh->id) > start_len && strncmp(sh->id, start, start_len) == 0))
                continue;
            if (n == limit) {
                more = true;
                break;
            }
            sl_kapi_encode_shard(call, sh);
            n++;
        }
    }
    sl_enc_array_end(e);
    sl_enc_kv_bool(e, "HasMoreShards", more);
    sl_enc_map_end(e);
    sl_enc_map_end(e);
    sl_front_reply(call);
out:
    sl_kinesis_unlock(k);
}

/* ---- DescribeStreamSummary ---- */
static void op_describe_stream_summary(sl_front_call_t *call) {
    sl_kinesis_t *k = sl_kapi_engine(call);
    sl_kinesis_rdlock(k);
    sl_kstream_t *s = sl_kapi_stream(call);
    if (!s) goto out;
    sl_enc_t *e = &call->enc;
    sl_kstatus_t st = sl_kstream_status(s, call->now_ms);
    sl_enc_map_begin(e);
    sl_enc_key(e, "StreamDescriptionSummary");
    sl_enc_map_begin(e);
    encode_stream_common(e, s, st);
    sl_enc_kv_int(e, "OpenShardCount",
                  shards_visible(k, s, st) ? (int64_t)sl_kstream_open_shards(s) : 0);
    sl_enc_kv_int(e, "ConsumerCount", (int64_t)s->consumer_count);
    if (s->on_demand && s->warm_mibps >= 0) {
        sl_enc_key(e, "WarmThroughput");
        sl_enc_map_begin(e);
        sl_enc_kv_int(e, "TargetMiBps", s->warm_mibps);
        sl_enc_kv_int(e, "CurrentMiBps", s->warm_mibps);
        sl_enc_map_end(e);
    }
    sl_enc_kv_int(e, "MaxRecordSizeInKiB", s->max_record_size_kib);
    sl_enc_map_end(e);
    sl_enc_map_end(e);
    sl_front_reply(call);
out:
    sl_kinesis_unlock(k);
}

/* ---- pagination tokens ---- */

typedef struct {
    uint8_t kind; /* 1 ListStreams, 2 ListShards, 3 ListStreamConsumers */
    int64_t issued_ms;
    int64_t stream_created_ms;
    int64_t filter_ts_ms;
    uint32_t after_index; /* last index returned */
    uint8_t filter;       /* ListShards filter type + 1, 0 = none */
    uint8_t has_filter_ts;
    char name[129]; /* stream name / last stream name */
} page_token_t;

static char *token_make(sl_front_call_t *call, const page_token_t *t) {
    char *out = sl_arena_alloc(call->arena, 1024);
    if (!out) return NULL;
    int n = sl_token_seal(sl_kapi_engine(call)->token_key, t, sizeof *t, out, 1024);
    return n > 0 ? out : NULL;
}

/* Returns 0 ok, -1 invalid (error sent), -2 expired (error sent). */
static int token_read(sl_front_call_t *call, const char *s, size_t len, uint8_t kind,
                      page_token_t *t) {
    size_t n = 0;
    if (sl_token_open(sl_kapi_engine(call)->token_key, s, len, t, sizeof *t, &n) != 0 ||
        n != sizeof *t || t->kind != kind) {
        sl_front_fail(call, SL_AWS_INVALID_ARGUMENT, "Invalid NextToken.");
        return -1;
    }
    t->name[sizeof t->name - 1] = 0;
    if (call->now_ms - t->issued_ms > SL_KINESIS_NEXT_TOKEN_TTL_MS) {
        sl_front_fail(call, SL_AWS_EXPIRED_NEXT_TOKEN, "The NextToken has expired.");
        return -2;
    }
    return 0;
}

/* ---- ListStreams ---- */
static void op_list_streams(sl_front_call_t *call) {
    sl_kinesis_t *k = sl_kapi_engine(call);
    int64_t limit = SL_KINESIS_LIST_STREAMS_MAX;
    sl_val_get_int(call->in, "Limit", &limit);
    if (limit > SL_KINESIS_LIST_STREAMS_MAX) limit = SL_KINESIS_LIST_STREAMS_MAX;
    size_t start_len = 0, tok_len = 0;
    const char *start = val_str(call, "ExclusiveStartStreamName", &start_len);
    const char *tok = val_str(call, "NextToken", &tok_len);
    page_token_t t;
    if (tok) {
        if (token_read(call, tok, tok_len, 1, &t) != 0) return;
        start = t.name;
        start_len = strlen(t.name);
    }
    sl_kinesis_rdlock(k);
    size_t i = start ? sl_kinesis_lower_bound(k, start, start_len, true) : 0;
    sl_enc_t *e = &call->enc;
    sl_kstream_t *page[SL_KINESIS_LIST_STREAMS_MAX];
    size_t n = 0;
    bool more = false;
    for (; i < k->stream_count; i++) {
        sl_kstream_t *s = k->streams[i];
        if (sl_kstream_status(s, call->now_ms) == SL_KS_GONE) continue;
        if ((int64_t)n == limit) {
            more = true;
            break;
        }
        page[n++] = s;
    }
    sl_enc_map_begin(e);
    sl_enc_key(e, "StreamNames");
    sl_enc_array_begin(e);
    for (size_t j = 0; j < n; j++)
        sl_enc_cstr(e, page[j]->name);
    sl_enc_array_end(e);
    sl_enc_kv_bool(e, "HasMoreStreams", more);
    if (more && n) {
        page_token_t nt = {.kind = 1, .issued_ms = call->now_ms};
        snprintf(nt.name, sizeof nt.name, "%s", page[n - 1]->name);
        char *s = token_make(call, &nt);
        if (s) sl_enc_kv_cstr(e, "NextToken", s);
    }
    sl_enc_key(e, "StreamSummaries");
    sl_enc_array_begin(e);
    for (size_t j = 0; j < n; j++) {
        sl_kstream_t *s = page[j];
        sl_enc_map_begin(e);
        sl_enc_kv_cstr(e, "StreamName", s->name);
        sl_enc_kv_cstr(e, "StreamARN", s->arn);
        sl_enc_kv_cstr(e, "StreamStatus", sl_kstatus_name(sl_kstream_status(s, call->now_ms)));
        encode_mode(e, s);
        sl_enc_key(e, "StreamCreationTimestamp");
        sl_enc_timestamp_ms(e, s->created_ms);
        sl_enc_map_end(e);
    }
    sl_enc_array_end(e);
    sl_enc_map_end(e);
    sl_kinesis_unlock(k);
    sl_front_reply(call);
}

/* ---- ListShards ---- */
enum {
    F_AFTER_SHARD_ID,
    F_AT_TRIM_HORIZON,
    F_FROM_TRIM_HORIZON,
    F_AT_LATEST,
    F_AT_TIMESTAMP,
    F_FROM_TIMESTAMP
};
static const char *const filter_names[] = {"AFTER_SHARD_ID", "AT_TRIM_HORIZON", "FROM_TRIM_HORIZON",
                                           "AT_LATEST",      "AT_TIMESTAMP",    "FROM_TIMESTAMP"};

static bool shard_is_root(const sl_kstream_t *s, const sl_kshard_t *sh, int64_t now) {
    int32_t parents[2] = {sh->parent, sh->adjacent_parent};
    for (int p = 0; p < 2; p++) {
        if (parents[p] < 0) continue;
        const sl_kshard_t *ps = sl_kstream_shard(s, (uint32_t)parents[p]);
        if (ps && !sl_kapi_shard_expired(s, ps, now)) return false;
    }
    return true;
}

static bool shard_matches(const sl_kstream_t *s, const sl_kshard_t *sh, int filter, int64_t ts,
                          uint32_t after, int64_t now) {
    switch (filter) {
    case F_AFTER_SHARD_ID:
        return sh->index > after;
    case F_AT_TRIM_HORIZON:
        return shard_is_root(s, sh, now);
    case F_AT_LATEST:
        return sh->closed_ms == 0;
    case F_AT_TIMESTAMP:
        if (sh->created_ms <= ts) return sh->closed_ms == 0 || sh->closed_ms > ts;
        return shard_is_root(s, sh, now) && sh->parent < 0;
    case F_FROM_TIMESTAMP:
        return sh->closed_ms == 0 || sh->closed_ms >= ts;
    default:
        return true;
    }
}

static void op_list_shards(sl_front_call_t *call) {
    sl_kinesis_t *k = sl_kapi_engine(call);
    size_t tok_len = 0, nlen = 0, alen = 0, start_len = 0;
    const char *tok = val_str(call, "NextToken", &tok_len);
    const char *name = val_str(call, "StreamName", &nlen);
    const char *arn = val_str(call, "StreamARN", &alen);
    const char *start = val_str(call, "ExclusiveStartShardId", &start_len);
    sl_val_t *created = sl_val_get(call->in, "StreamCreationTimestamp");
    sl_val_t *filter_v = sl_val_get(call->in, "ShardFilter");
    int64_t max = SL_KINESIS_LIST_SHARDS_MAX;
    sl_val_get_int(call->in, "MaxResults", &max);
    if (max > SL_KINESIS_LIST_SHARDS_MAX) max = SL_KINESIS_LIST_SHARDS_MAX;

    int filter = F_FROM_TRIM_HORIZON;
    int64_t filter_ts = 0;
    uint32_t after = 0;
    bool has_after = false;
    page_token_t t = {0};
    if (tok) {
        if (name || arn) {
            sl_front_fail(call, SL_AWS_INVALID_ARGUMENT,
                          "NextToken and StreamName cannot be provided together.");
            return;
        }
        if (start) {
            sl_front_fail(call, SL_AWS_INVALID_ARGUMENT,
                          "NextToken and ExclusiveStartShardId cannot be provided together.");
            return;
        }
        if (created) {
            sl_front_fail(call, SL_AWS_INVALID_ARGUMENT,
                          "NextToken and StreamCreationTimestamp cannot be provided together.");
            return;
        }
        if (token_read(call, tok, tok_len, 2, &t) != 0) return;
        name = t.name;
        nlen = strlen(t.name);
        if (t.filter) filter = t.filter - 1;
        filter_ts = t.filter_ts_ms;
        after = t.after_index;
        has_after = true;
    } else if (!name && !arn) {
        sl_front_fail(call, SL_AWS_INVALID_ARGUMENT,
                      "Either NextToken or StreamName should be provided.");
        return;
    }
    if (!tok && filter_v) {
        const char *type = sl_val_get_str(filter_v, "Type", NULL);
        for (int i = 0; type && i < (int)SL_ARRAY_LEN(filter_names); i++)
            if (strcmp(type, filter_names[i]) == 0) filter = i;
        size_t sid_len = 0;
        const char *sid = sl_val_get_str(filter_v, "ShardId", &sid_len);
        sl_val_t *ts = sl_val_get(filter_v, "Timestamp");
        if (filter == F_AFTER_SHARD_ID) {
            if (!sid) {
                sl_front_fail(call, SL_AWS_INVALID_ARGUMENT,
                              "ShardId must be provided when ShardFilter type is AFTER_SHARD_ID.");
                return;
            }
            uint32_t idx;
            if (sl_shardid_parse(sid, sid_len, &idx) != 0) {
                sl_front_fail(call, SL_AWS_INVALID_ARGUMENT, "Invalid ShardId %.*s in ShardFilter.",
                              (int)sid_len, sid);
                return;
            }
            after = idx;
        } else if (sid) {
            sl_front_fail(call, SL_AWS_INVALID_ARGUMENT,
                          "ShardId can only be provided when ShardFilter type is AFTER_SHARD_ID.");
            return;
        }
        if (filter == F_AT_TIMESTAMP || filter == F_FROM_TIMESTAMP) {
            if (!ts || ts->type != SL_VAL_TIMESTAMP) {
                sl_front_fail(call, SL_AWS_INVALID_ARGUMENT,
                              "Timestamp must be provided when ShardFilter type is %s.",
                              filter_names[filter]);
                return;
            }
            filter_ts = ts->u.ts_ms;
        } else if (ts) {
            sl_front_fail(call, SL_AWS_INVALID_ARGUMENT,
                          "Timestamp can only be provided when ShardFilter type is AT_TIMESTAMP or "
                          "FROM_TIMESTAMP.");
            return;
        }
    }
    if (start && !tok) {
        uint32_t idx;
        if (sl_shardid_parse(start, start_len, &idx) == 0) {
            if (!has_after || idx > after) after = idx;
            has_after = true;
        }
    }

    sl_kinesis_rdlock(k);
    sl_kstream_t *s;
    if (tok) {
        s = sl_kinesis_find(k, name, nlen, call->now_ms);
        if (!s || s->created_ms != t.stream_created_ms) {
            if (s) s = NULL;
            sl_kapi_not_found(call, name, nlen);
        }
    } else {
        s = sl_kapi_stream(call);
    }
    if (!s) goto out;
    if (created && created->type == SL_VAL_TIMESTAMP &&
        created->u.ts_ms / 1000 != s->created_ms / 1000) {
        sl_kapi_not_found(call, s->name, strlen(s->name));
        goto out;
    }
    sl_enc_t *e = &call->enc;
    sl_enc_map_begin(e);
    sl_enc_key(e, "Shards");
    sl_enc_array_begin(e);
    int64_t n = 0;
    bool more = false;
    uint32_t last = 0;
    if (shards_visible(k, s, sl_kstream_status(s, call->now_ms))) {
        for (size_t i = 0; i < s->shard_count; i++) {
            const sl_kshard_t *sh = s->shards[i];
            if (sl_kapi_shard_expired(s, sh, call->now_ms)) continue;
            if (has_after && sh->index <= after) continue;
            if (!shard_matches(s, sh, filter, filter_ts, after, call->now_ms)) continue;
            if (n == max) {
                more = true;
                break;
            }
            sl_kapi_encode_shard(call, sh);
            last = sh->index;
            n++;
        }
    }
    sl_enc_array_end(e);
    if (more) {
        page_token_t nt = {.kind = 2,
                           .issued_ms = call->now_ms,
                           .stream_created_ms = s->created_ms,
                           .filter_ts_ms = filter_ts,
                           .after_index = last,
                           .filter = (uint8_t)(filter + 1)};
        snprintf(nt.name, sizeof nt.name, "%s", s->name);
        char *ts = token_make(call, &nt);
        if (ts) sl_enc_kv_cstr(e, "NextToken", ts);
    }
    sl_enc_map_end(e);
    sl_front_reply(call);
out:
    sl_kinesis_unlock(k);
}

/* ---- retention ---- */
static void retention_op(sl_front_call_t *call, bool increase) {
    sl_kinesis_t *k = sl_kapi_engine(call);
    int64_t hours = 0;
    sl_val_get_int(call->in, "RetentionPeriodHours", &hours);
    sl_kinesis_wrlock(k);
    sl_kstream_t *s = sl_kapi_stream(call);
    if (!s) goto out;
    if (!sl_kapi_require_active(call, s)) goto out;
    if (hours < SL_KINESIS_RETENTION_HOURS_MIN) {
        sl_front_fail(call, SL_AWS_INVALID_ARGUMENT,
                      "Minimum allowed retention period is %d hours. Requested retention period "
                      "(%lld hours) is too "
                      "short.",
                      SL_KINESIS_RETENTION_HOURS_MIN, (long long)hours);
        goto out;
    }
    if (hours > SL_KINESIS_RETENTION_HOURS_MAX) {
        sl_front_fail(call, SL_AWS_INVALID_ARGUMENT,
                      "Maximum allowed retention period is %d hours. Requested retention period "
                      "(%lld hours) is too "
                      "long.",
                      SL_KINESIS_RETENTION_HOURS_MAX, (long long)hours);
        goto out;
    }
    if (increase && hours < s->retention_hours) {
        sl_front_fail(call, SL_AWS_INVALID_ARGUMENT,
                      "Requested retention period (%lld hours) for stream %s can not be shorter "
                      "than existing "
                      "retention period (%d hours). Use DecreaseRetentionPeriod API.",
                      (long long)hours, s->name, s->retention_hours);
        goto out;
    }
    if (!increase && hours > s->retention_hours) {
        sl_front_fail(
            call, SL_AWS_INVALID_ARGUMENT,
            "Requested retention period (%lld hours) for stream %s can not be longer than existing "
            "retention period (%d hours). Use IncreaseRetentionPeriod API.",
            (long long)hours, s->name, s->retention_hours);
        goto out;
    }
    sl_kapi_reply_saved(call, sl_kinesis_set_retention(k, s, (int32_t)hours));
out:
    sl_kinesis_unlock(k);
}

static void op_increase_retention(sl_front_call_t *call) {
    retention_op(call, true);
}
static void op_decrease_retention(sl_front_call_t *call) {
    retention_op(call, false);
}

/* ---- enhanced monitoring ---- */
static void monitoring_op(sl_front_call_t *call, bool enable) {
    sl_kinesis_t *k = sl_kapi_engine(call);
    unsigned mask = 0;
    sl_val_t *list = sl_val_get(call->in, "ShardLevelMetrics");
    for (size_t i = 0; list && i < list->u.arr.count; i++) {
        const sl_val_t *m = list->u.arr.items[i];
        if (m->type != SL_VAL_STRING) continue;
        if (strcmp(m->u.str.ptr, "ALL") == 0) mask = (1u << SL_KMETRICS_COUNT) - 1;
        for (int j = 0; j < SL_KMETRICS_COUNT; j++)
            if (strcmp(m->u.str.ptr, sl_kmetric_names[j]) == 0) mask |= 1u << j;
    }
    sl_kinesis_wrlock(k);
    sl_kstream_t *s = sl_kapi_stream(call);
    if (!s || !sl_kapi_require_active(call, s)) goto out;
    unsigned before = s->metrics;
    int save_rc = sl_kinesis_set_metrics(k, s, enable ? (before | mask) : (before & ~mask));
    if (save_rc != 0) {
        sl_front_fail_internal(call, save_rc);
        goto out;
    }
    sl_enc_t *e = &call->enc;
    sl_enc_map_begin(e);
    sl_enc_kv_cstr(e, "StreamName", s->name);
    sl_enc_kv_cstr(e, "StreamARN", s->arn);
    unsigned lists[2] = {before, s->metrics};
    const char *keys[2] = {"CurrentShardLevelMetrics", "DesiredShardLevelMetrics"};
    for (int l = 0; l < 2; l++) {
        sl_enc_key(e, keys[l]);
        sl_enc_array_begin(e);
        for (int j = 0; j < SL_KMETRICS_COUNT; j++)
            if (lists[l] & (1u << j)) sl_enc_cstr(e, sl_kmetric_names[j]);
        sl_enc_array_end(e);
    }
    sl_enc_map_end(e);
    sl_front_reply(call);
out:
    sl_kinesis_unlock(k);
}

static void op_enable_monitoring(sl_front_call_t *call) {
    monitoring_op(call, true);
}
static void op_disable_monitoring(sl_front_call_t *call) {
    monitoring_op(call, false);
}

/* ---- DescribeLimits ---- */
static void op_describe_limits(sl_front_call_t *call) {
    sl_kinesis_t *k = sl_kapi_engine(call);
    sl_kinesis_rdlock(k);
    size_t open = sl_kinesis_open_shard_count(k, call->now_ms);
    size_t od = sl_kinesis_on_demand_count(k, call->now_ms);
    sl_kinesis_unlock(k);
    sl_enc_t *e = &call->enc;
    sl_enc_map_begin(e);
    sl_enc_kv_int(e, "ShardLimit", k->cfg.shard_limit);
    sl_enc_kv_int(e, "OpenShardCount", (int64_t)open);
    sl_enc_kv_int(e, "OnDemandStreamCount", (int64_t)od);
    sl_enc_kv_int(e, "OnDemandStreamCountLimit", k->cfg.on_demand_stream_limit);
    sl_enc_map_end(e);
    sl_front_reply(call);
}

/* ---- account settings ---- */

static void encode_commitment(sl_front_call_t *call) {
    sl_kinesis_t *k = sl_kapi_engine(call);
    sl_enc_t *e = &call->enc;
    sl_enc_map_begin(e);
    sl_enc_key(e, "MinimumThroughputBillingCommitment");
    sl_enc_map_begin(e);
    if (k->commitment_enabled) {
        sl_enc_kv_cstr(e, "Status", "ENABLED");
        sl_enc_key(e, "StartedAt");
        sl_enc_timestamp_ms(e, k->commitment_started_ms);
        sl_enc_key(e, "EarliestAllowedEndAt");
        sl_enc_timestamp_ms(e, k->commitment_started_ms + SL_KINESIS_COMMITMENT_MIN_MS);
    } else {
        sl_enc_kv_cstr(e, "Status", "DISABLED");
    }
    sl_enc_map_end(e);
    sl_enc_map_end(e);
}

static void op_describe_account_settings(sl_front_call_t *call) {
    sl_kinesis_rdlock(sl_kapi_engine(call));
    encode_commitment(call);
    sl_kinesis_unlock(sl_kapi_engine(call));
    sl_front_reply(call);
}

static void op_update_account_settings(sl_front_call_t *call) {
    sl_kinesis_t *k = sl_kapi_engine(call);
    const char *status =
        sl_val_get_str(sl_val_get(call->in, "MinimumThroughputBillingCommitment"), "Status", NULL);
    bool enable = status && strcmp(status, "ENABLED") == 0;
    sl_kinesis_wrlock(k);
    int save_rc = 0;
    if (enable && !k->commitment_enabled) {
        save_rc = sl_kinesis_set_commitment(k, true, call->now_ms);
    } else if (!enable && k->commitment_enabled) {
        if (call->now_ms < k->commitment_started_ms + SL_KINESIS_COMMITMENT_MIN_MS) {
            sl_enc_t *e = &call->enc;
            sl_enc_map_begin(e);
            sl_enc_key(e, "MinimumThroughputBillingCommitment");
            sl_enc_map_begin(e);
            sl_enc_kv_cstr(e, "Status", "ENABLED_UNTIL_EARLIEST_ALLOWED_END");
            sl_enc_key(e, "StartedAt");
            sl_enc_timestamp_ms(e, k->commitment_started_ms);
            sl_enc_key(e, "EarliestAllowedEndAt");
            sl_enc_timestamp_ms(e, k->commitment_started_ms + SL_KINESIS_COMMITMENT_MIN_MS);
            sl_enc_map_end(e);
            sl_enc_map_end(e);
            sl_kinesis_unlock(k);
            sl_front_reply(call);
            return;
        }
        save_rc = sl_kinesis_set_commitment(k, false, k->commitment_started_ms);
    }
    if (save_rc != 0) {
        sl_kinesis_unlock(k);
        sl_front_fail_internal(call, save_rc);
        return;
    }
    encode_commitment(call);
    sl_kinesis_unlock(k);
    sl_front_reply(call);
}

/* ---- UpdateMaxRecordSize ---- */
static void op_update_max_record_size(sl_front_call_t *call) {
    sl_kinesis_t *k = sl_kapi_engine(call);
    int64_t kib = 0;
    sl_val_get_int(call->in, "MaxRecordSizeInKiB", &kib);
    sl_kinesis_wrlock(k);
    sl_kstream_t *s = sl_kapi_stream(call);
    if (!s || !sl_kapi_require_active(call, s)) goto out;
    sl_kapi_reply_saved(call, sl_kinesis_set_max_record_size(k, s, (int32_t)kib));
out:
    sl_kinesis_unlock(k);
}

/* ---- UpdateStreamMode ---- */
static void op_update_stream_mode(sl_front_call_t *call) {
    sl_kinesis_t *k = sl_kapi_engine(call);
    const char *mode =
        sl_val_get_str(sl_val_get(call->in, "StreamModeDetails"), "StreamMode", NULL);
    int64_t warm = -1;
    bool has_warm = sl_val_get_int(call->in, "WarmThroughputMiBps", &warm);
    bool on_demand = mode && strcmp(mode, "ON_DEMAND") == 0;
    sl_kinesis_wrlock(k);
    sl_kstream_t *s = sl_kapi_stream(call);
    if (!s || !sl_kapi_require_active(call, s)) goto out;
    if (has_warm && (!on_demand || !k->commitment_enabled)) {
        sl_front_fail(
            call, SL_AWS_INVALID_ARGUMENT,
            "WarmThroughputMiBps can only be set when switching to ON_DEMAND with the account's "
            "MinimumThroughputBillingCommitment ENABLED.");
        goto out;
    }
    if (on_demand && !s->on_demand && !sl_kapi_on_demand_limit_ok(call)) goto out;
    sl_kapi_reply_saved(call,
                        sl_kinesis_set_stream_mode(k, s, on_demand, has_warm, warm, call->now_ms));
out:
    sl_kinesis_unlock(k);
}

/* ---- UpdateStreamWarmThroughput ---- */
static void op_update_warm_throughput(sl_front_call_t *call) {
    sl_kinesis_t *k = sl_kapi_engine(call);
    int64_t warm = 0;
    sl_val_get_int(call->in, "WarmThroughputMiBps", &warm);
    sl_kinesis_wrlock(k);
    sl_kstream_t *s = sl_kapi_stream(call);
    if (!s || !sl_kapi_require_active(call, s)) goto out;
    if (!s->on_demand) {
        sl_front_fail(call, SL_AWS_INVALID_ARGUMENT,
                      "Warm throughput can only be configured for streams in ON_DEMAND mode.");
        goto out;
    }
    if (!k->commitment_enabled) {
        sl_front_fail(call, SL_AWS_INVALID_ARGUMENT,
                      "Warm throughput requires the account's MinimumThroughputBillingCommitment "
                      "to be ENABLED.");
        goto out;
    }
    if (warm > 10240) {
        sl_front_fail(call, SL_AWS_INVALID_ARGUMENT,
                      "WarmThroughputMiBps %lld exceeds the maximum of 10240 MiBps.",
                      (long long)warm);
        goto out;
    }
    int save_rc = sl_kinesis_set_warm_throughput(k, s, warm, call->now_ms);
    if (save_rc != 0) {
        sl_front_fail_internal(call, save_rc);
        goto out;
    }
    sl_enc_t *e = &call->enc;
    sl_enc_map_begin(e);
    sl_enc_kv_cstr(e, "StreamARN", s->arn);
    sl_enc_kv_cstr(e, "StreamName", s->name);
    sl_enc_key(e, "WarmThroughput");
    sl_enc_map_begin(e);
    sl_enc_kv_int(e, "TargetMiBps", warm);
    sl_enc_kv_int(e, "CurrentMiBps", warm);
    sl_enc_map_end(e);
    sl_enc_map_end(e);
    sl_front_reply(call);
out:
    sl_kinesis_unlock(k);
}

/* ---- encryption flags (StartStreamEncryption / StopStreamEncryption) ---- */
static bool key_id_valid(const char *id) {
    if (strncmp(id, "alias/", 6) == 0) return id[6] != 0;
    if (strncmp(id, "arn:", 4) == 0)
        return strstr(id, ":kms:") && (strstr(id, ":key/") || strstr(id, ":alias/"));
    /* key GUID 8-4-4-4-12 hex */
    static const int groups[5] = {8, 4, 4, 4, 12};
    const char *p = id;
    for (int g = 0; g < 5; g++) {
        for (int i = 0; i < groups[g]; i++, p++)
            if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') || (*p >= 'A' && *p <= 'F')))
                return false;
        if (g < 4 && *p++ != '-') return false;
    }
    return *p == 0;
}

static void encryption_op(sl_front_call_t *call, bool start) {
    sl_kinesis_t *k = sl_kapi_engine(call);
    const char *type = sl_val_get_str(call->in, "EncryptionType", NULL);
    const char *key_id = sl_val_get_str(call->in, "KeyId", NULL);
    sl_kinesis_wrlock(k);
    sl_kstream_t *s = sl_kapi_stream(call);
    if (!s || !sl_kapi_require_active(call, s)) goto out;
    if (!type || strcmp(type, "KMS") != 0) {
        sl_front_fail(call, SL_AWS_INVALID_ARGUMENT,
                      "Only KMS encryption type is supported. Received %s.", type ? type : "null");
        goto out;
    }
    if (!key_id_valid(key_id)) {
        if (strncmp(key_id, "arn:", 4) == 0)
            sl_front_fail(call, SL_AWS_INVALID_ARGUMENT,
                          "Received KeyId ARN is not a properly formatted ARN");
        else
            sl_front_fail(call, SL_AWS_INVALID_ARGUMENT,
                          "Received KeyId is not a properly formatted Alias or GUID");
        goto out;
    }
    sl_kapi_reply_saved(call, sl_kinesis_set_encryption(k, s, start, key_id, call->now_ms));
out:
    sl_kinesis_unlock(k);
}

static void op_start_encryption(sl_front_call_t *call) {
    encryption_op(call, true);
}
static void op_stop_encryption(sl_front_call_t *call) {
    encryption_op(call, false);
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
        {"IncreaseStreamRetentionPeriod", op_increase_retention},
        {"DecreaseStreamRetentionPeriod", op_decrease_retention},
        {"EnableEnhancedMonitoring", op_enable_monitoring},
        {"DisableEnhancedMonitoring", op_disable_monitoring},
        {"DescribeLimits", op_describe_limits},
        {"DescribeAccountSettings", op_describe_account_settings},
        {"UpdateAccountSettings", op_update_account_settings},
        {"UpdateMaxRecordSize", op_update_max_record_size},
        {"UpdateStreamMode", op_update_stream_mode},
        {"UpdateStreamWarmThroughput", op_update_warm_throughput},
        {"StartStreamEncryption", op_start_encryption},
        {"StopStreamEncryption", op_stop_encryption},
    };
    for (size_t i = 0; i < SL_ARRAY_LEN(table); i++)
        if (strcmp(table[i].name, name) == 0) return table[i].fn;
    sl_front_op_fn fn = NULL;
    sl_kapi_tags_ops(name, &fn);
    if (!fn) sl_kapi_data_ops(name, &fn);
    if (!fn) sl_kapi_consumer_ops(name, &fn);
    if (!fn) sl_kapi_reshard_ops(name, &fn);
    return fn;
}
