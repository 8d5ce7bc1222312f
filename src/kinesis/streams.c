/* Streams (control.h): CreateStream, DeleteStream, DescribeStream, DescribeStreamSummary,
 * ListStreams, ListShards, retention, enhanced monitoring, limits, account settings, stream mode,
 * warm throughput, max record size and encryption. Checks come in AWS's order with AWS's texts;
 * field changes go through control.c (catalog first); results are copied out under the lock. */
#include "kinesis/control.h"

#include "core/common.h"
#include "core/limits.h"
#include "kinesis/engine.h"
#include "kinesis/names.h"

#include <stdio.h>
#include <string.h>

static void info_of(const sl_kstream_t *s, int64_t now_ms, sl_kstream_info_t *out) {
    snprintf(out->name, sizeof out->name, "%s", s->name);
    snprintf(out->arn, sizeof out->arn, "%s", s->arn);
    out->status = sl_kstream_status(s, now_ms);
    out->on_demand = s->on_demand;
    out->retention_hours = s->retention_hours;
    out->created_ms = s->created_ms;
    out->metric_count = 0;
    for (int i = 0; i < SL_KMETRICS_COUNT; i++)
        if (s->metrics & (1u << i)) out->metrics[out->metric_count++] = sl_kmetric_names[i];
    out->encrypted = s->encrypted;
    snprintf(out->key_id, sizeof out->key_id, "%s", s->key_id);
    out->open_shard_count = sl_kstream_open_shards(s);
    out->consumer_count = s->consumer_count;
    out->warm_mibps = s->warm_mibps;
    out->max_record_size_kib = s->max_record_size_kib;
}

static sl_kshard_info_t shard_info(const sl_kshard_t *sh) {
    return (sl_kshard_info_t){.index = sh->index,
                              .parent = sh->parent,
                              .adjacent_parent = sh->adjacent_parent,
                              .start = sh->start,
                              .end = sh->end,
                              .created_ms = sh->created_ms,
                              .closed_ms = sh->closed_ms};
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

/* The stream of a change: resolved and ACTIVE (caller holds the write lock). */
static sl_kstream_t *active_stream(sl_kinesis_t *k, const sl_kstream_ref_t *ref, int64_t now_ms,
                                   sl_kerr_t *err) {
    sl_kstream_t *s = sl_kinesis_resolve(k, ref, now_ms, err);
    return s && sl_kstream_require_active(k, s, now_ms, err) ? s : NULL;
}

/* Ends a field change: a failed catalog write (rc) is an internal failure. */
static bool saved(int rc, sl_kerr_t *err) {
    return rc ? sl_kerr_internal(err, rc) : true;
}

/* ---- CreateStream, DeleteStream ---- */

static bool create_checked(sl_kinesis_t *k, const sl_kcreate_t *op, bool on_demand, int64_t shards,
                           sl_kerr_t *err) {
    if (sl_kinesis_find(k, op->name, op->name_len, op->now_ms))
        return sl_kerr_set(err, SL_KERR_RESOURCE_IN_USE,
                           "Stream %.*s under account %s already exists.", (int)op->name_len,
                           op->name, k->account);
    /* A stream still DELETING with the same name blocks re-creation. One whose deletion is due
     * is already gone for DescribeStream, so it is removed now rather than at the background
     * thread's next pass (which a loaded machine can delay past the client's next call). */
    size_t pos = sl_kinesis_lower_bound(k, op->name, op->name_len, false);
    if (pos < k->stream_count && strlen(k->streams[pos]->name) == op->name_len &&
        memcmp(k->streams[pos]->name, op->name, op->name_len) == 0 &&
        !sl_kinesis_reap_if_due(k, k->streams[pos], op->now_ms))
        return sl_kerr_set(err, SL_KERR_RESOURCE_IN_USE,
                           "Stream %.*s under account %s already exists.", (int)op->name_len,
                           op->name, k->account);
    if (!sl_kinesis_shard_limit_ok(k, shards, op->now_ms, err)) return false;
    if (on_demand && !sl_kinesis_on_demand_limit_ok(k, op->now_ms, err)) return false;
    if (sl_kinesis_creating_count(k, op->now_ms) >= SL_KINESIS_CREATING_STREAMS_MAX)
        return sl_kerr_set(err, SL_KERR_LIMIT_EXCEEDED,
                           "This request would exceed the limit of %d streams in CREATING state "
                           "for the account %s in %s.",
                           SL_KINESIS_CREATING_STREAMS_MAX, k->account, k->region);
    return true;
}

bool sl_kinesis_create_stream_op(sl_kinesis_t *k, const sl_kcreate_t *op, sl_kerr_t *err) {
    int64_t shards = op->shard_count;
    bool on_demand = op->mode ? strcmp(op->mode, "ON_DEMAND") == 0 : !op->has_shard_count;
    if (on_demand) {
        if (op->has_shard_count && op->mode)
            return sl_kerr_set(err, SL_KERR_VALIDATION,
                               "ShardCount is not supported for streams in ON_DEMAND mode.");
        shards = SL_KINESIS_ON_DEMAND_SHARDS;
    } else if (!op->has_shard_count) {
        return sl_kerr_set(err, SL_KERR_INVALID_ARGUMENT,
                           "ShardCount is required for streams in PROVISIONED mode.");
    }
    if (op->has_warm && !on_demand)
        return sl_kerr_set(err, SL_KERR_INVALID_ARGUMENT,
                           "WarmThroughputMiBps is only supported for ON_DEMAND streams.");
    sl_kinesis_wrlock(k);
    bool ok = false;
    if (op->has_warm && !k->commitment_enabled) {
        sl_kerr_set(err, SL_KERR_INVALID_ARGUMENT,
                    "WarmThroughputMiBps requires the account's MinimumThroughputBillingCommitment "
                    "to be ENABLED.");
        goto out;
    }
    if (op->tag_count > SL_KINESIS_TAGS_PER_STREAM_MAX) {
        sl_kerr_set(err, SL_KERR_INVALID_ARGUMENT,
                    "Failed to create stream %.*s under account %s because a given stream cannot "
                    "have more than %d tags associated with it.",
                    (int)op->name_len, op->name, k->account, SL_KINESIS_TAGS_PER_STREAM_MAX);
        goto out;
    }
    if (!create_checked(k, op, on_demand, shards, err)) goto out;
    char name[129];
    snprintf(name, sizeof name, "%.*s", (int)op->name_len, op->name);
    sl_kstream_t *s = NULL;
    sl_ktag_rows_t rows;
    int rc = sl_ktag_rows_make(op->tags, op->tag_count, &rows);
    if (rc == 0)
        rc = sl_kinesis_create_stream(k, name, (int)shards, on_demand,
                                      (int32_t)op->max_record_size_kib,
                                      op->has_warm ? op->warm_mibps : -1, &rows, op->now_ms, &s);
    sl_ktag_rows_free(&rows);
    ok = saved(rc, err);
out:
    sl_kinesis_unlock(k);
    return ok;
}

bool sl_kinesis_delete_stream_op(sl_kinesis_t *k, const sl_kstream_ref_t *ref,
                                 bool enforce_consumer_deletion, int64_t now_ms, char name[129],
                                 sl_kerr_t *err) {
    sl_kinesis_wrlock(k);
    bool ok = false;
    sl_kstream_t *s = sl_kinesis_resolve(k, ref, now_ms, err);
    if (s && s->consumer_count && !enforce_consumer_deletion)
        sl_kerr_set(err, SL_KERR_RESOURCE_IN_USE,
                    "Stream %s under account %s has registered consumers. Use "
                    "EnforceConsumerDeletion to delete the stream with its consumers.",
                    s->name, k->account);
    else if (s) {
        snprintf(name, 129, "%s", s->name);
        ok = saved(sl_kinesis_delete_stream(k, s, now_ms), err);
    }
    sl_kinesis_unlock(k);
    return ok;
}

/* ---- DescribeStream, DescribeStreamSummary ---- */

bool sl_kinesis_describe_stream(sl_kinesis_t *k, sl_kdescribe_t *op, sl_kerr_t *err) {
    sl_kinesis_rdlock(k);
    bool ok = false;
    op->shard_count = 0;
    op->more = false;
    sl_kstream_t *s = sl_kinesis_resolve(k, &op->stream, op->now_ms, err);
    if (!s) goto out;
    info_of(s, op->now_ms, &op->info);
    size_t cap = s->shard_count < (size_t)op->limit ? s->shard_count : (size_t)op->limit;
    op->shards = sl_arena_calloc(op->arena, cap ? cap : 1, sizeof *op->shards);
    if (!op->shards) {
        sl_kerr_internal(err, SL_ENOMEM);
        goto out;
    }
    const char *start = op->exclusive_start;
    size_t start_len = op->exclusive_start_len;
    if (shards_visible(k, s, op->info.status)) {
        for (size_t i = 0; i < s->shard_count; i++) {
            const sl_kshard_t *sh = s->shards[i];
            if (sl_kshard_expired(s, sh, op->now_ms)) continue;
            if (start && strncmp(sh->id, start, start_len) <= 0 &&
                !(strlen(sh->id) > start_len && strncmp(sh->id, start, start_len) == 0))
                continue;
            if ((int64_t)op->shard_count == op->limit) {
                op->more = true;
                break;
            }
            op->shards[op->shard_count++] = shard_info(sh);
        }
    }
    ok = true;
out:
    sl_kinesis_unlock(k);
    return ok;
}

bool sl_kinesis_describe_stream_summary(sl_kinesis_t *k, const sl_kstream_ref_t *ref,
                                        int64_t now_ms, sl_kstream_info_t *out, sl_kerr_t *err) {
    sl_kinesis_rdlock(k);
    sl_kstream_t *s = sl_kinesis_resolve(k, ref, now_ms, err);
    if (s) {
        info_of(s, now_ms, out);
        if (!shards_visible(k, s, out->status)) out->open_shard_count = 0;
    }
    sl_kinesis_unlock(k);
    return s != NULL;
}

/* ---- pagination tokens (ListStreams, ListShards) ---- */

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

static const char *token_make(sl_kinesis_t *k, sl_arena_t *arena, const page_token_t *t) {
    char *out = sl_arena_alloc(arena, 1024);
    if (!out) return NULL;
    int n = sl_token_seal(k->token_key, t, sizeof *t, out, 1024);
    return n > 0 ? out : NULL;
}

static bool token_read(sl_kinesis_t *k, const char *s, size_t len, uint8_t kind, int64_t now_ms,
                       page_token_t *t, sl_kerr_t *err) {
    size_t n = 0;
    if (sl_token_open(k->token_key, s, len, t, sizeof *t, &n) != 0 || n != sizeof *t ||
        t->kind != kind)
        return sl_kerr_set(err, SL_KERR_INVALID_ARGUMENT, "Invalid NextToken.");
    t->name[sizeof t->name - 1] = 0;
    if (now_ms - t->issued_ms > SL_KINESIS_NEXT_TOKEN_TTL_MS)
        return sl_kerr_set(err, SL_KERR_EXPIRED_NEXT_TOKEN, "The NextToken has expired.");
    return true;
}

/* ---- ListStreams ---- */

bool sl_kinesis_list_streams(sl_kinesis_t *k, sl_klist_streams_t *op, sl_kerr_t *err) {
    const char *start = op->exclusive_start;
    size_t start_len = op->exclusive_start_len;
    page_token_t t;
    op->count = 0;
    op->more = false;
    op->next = NULL;
    if (op->next_token) {
        if (!token_read(k, op->next_token, op->next_token_len, 1, op->now_ms, &t, err))
            return false;
        start = t.name;
        start_len = strlen(t.name);
    }
    sl_kinesis_rdlock(k);
    bool ok = true;
    size_t cap = op->limit > 0 ? (size_t)op->limit : 1;
    op->streams = sl_arena_calloc(op->arena, cap, sizeof *op->streams);
    if (!op->streams) ok = sl_kerr_internal(err, SL_ENOMEM);
    size_t i = start ? sl_kinesis_lower_bound(k, start, start_len, true) : 0;
    for (; ok && i < k->stream_count; i++) {
        sl_kstream_t *s = k->streams[i];
        if (sl_kstream_status(s, op->now_ms) == SL_KS_GONE) continue;
        if ((int64_t)op->count == op->limit) {
            op->more = true;
            break;
        }
        info_of(s, op->now_ms, &op->streams[op->count++]);
    }
    if (ok && op->more && op->count) {
        page_token_t nt = {.kind = 1, .issued_ms = op->now_ms};
        snprintf(nt.name, sizeof nt.name, "%s", op->streams[op->count - 1].name);
        op->next = token_make(k, op->arena, &nt);
    }
    sl_kinesis_unlock(k);
    return ok;
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
        if (ps && !sl_kshard_expired(s, ps, now)) return false;
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

/* A ListShards request's position: from its NextToken, or from its filter and start. */
typedef struct {
    int filter;
    int64_t filter_ts;
    uint32_t after;
    bool has_after;
    page_token_t token;
} shards_query_t;

static bool shards_token(sl_kinesis_t *k, const sl_klist_shards_t *op, shards_query_t *q,
                         sl_kerr_t *err) {
    if (op->stream.name || op->stream.arn)
        return sl_kerr_set(err, SL_KERR_INVALID_ARGUMENT,
                           "NextToken and StreamName cannot be provided together.");
    if (op->exclusive_start)
        return sl_kerr_set(err, SL_KERR_INVALID_ARGUMENT,
                           "NextToken and ExclusiveStartShardId cannot be provided together.");
    if (op->has_created)
        return sl_kerr_set(err, SL_KERR_INVALID_ARGUMENT,
                           "NextToken and StreamCreationTimestamp cannot be provided together.");
    if (!token_read(k, op->next_token, op->next_token_len, 2, op->now_ms, &q->token, err))
        return false;
    if (q->token.filter) q->filter = q->token.filter - 1;
    q->filter_ts = q->token.filter_ts_ms;
    q->after = q->token.after_index;
    q->has_after = true;
    return true;
}

static bool shards_filter(const sl_klist_shards_t *op, shards_query_t *q, sl_kerr_t *err) {
    for (int i = 0; op->filter_type && i < (int)SL_ARRAY_LEN(filter_names); i++)
        if (strcmp(op->filter_type, filter_names[i]) == 0) q->filter = i;
    if (q->filter == F_AFTER_SHARD_ID) {
        if (!op->filter_shard_id)
            return sl_kerr_set(err, SL_KERR_INVALID_ARGUMENT,
                               "ShardId must be provided when ShardFilter type is AFTER_SHARD_ID.");
        uint32_t idx;
        if (sl_shardid_parse(op->filter_shard_id, op->filter_shard_id_len, &idx) != 0)
            return sl_kerr_set(err, SL_KERR_INVALID_ARGUMENT,
                               "Invalid ShardId %.*s in ShardFilter.", (int)op->filter_shard_id_len,
                               op->filter_shard_id);
        q->after = idx;
    } else if (op->filter_shard_id) {
        return sl_kerr_set(err, SL_KERR_INVALID_ARGUMENT,
                           "ShardId can only be provided when ShardFilter type is AFTER_SHARD_ID.");
    }
    if (q->filter == F_AT_TIMESTAMP || q->filter == F_FROM_TIMESTAMP) {
        if (!op->has_filter_ts || !op->filter_ts_valid)
            return sl_kerr_set(err, SL_KERR_INVALID_ARGUMENT,
                               "Timestamp must be provided when ShardFilter type is %s.",
                               filter_names[q->filter]);
        q->filter_ts = op->filter_ts_ms;
    } else if (op->has_filter_ts) {
        return sl_kerr_set(err, SL_KERR_INVALID_ARGUMENT,
                           "Timestamp can only be provided when ShardFilter type is AT_TIMESTAMP "
                           "or FROM_TIMESTAMP.");
    }
    return true;
}

static bool shards_page(sl_kinesis_t *k, sl_klist_shards_t *op, shards_query_t *q, sl_kerr_t *err) {
    sl_kstream_t *s;
    if (op->next_token) {
        const char *name = q->token.name;
        s = sl_kinesis_find(k, name, strlen(name), op->now_ms);
        if (!s || s->created_ms != q->token.stream_created_ms)
            return sl_kerr_stream_not_found(err, k, name, strlen(name));
    } else {
        s = sl_kinesis_resolve(k, &op->stream, op->now_ms, err);
        if (!s) return false;
    }
    if (op->created_valid && op->created_ms / 1000 != s->created_ms / 1000)
        return sl_kerr_stream_not_found(err, k, s->name, strlen(s->name));
    size_t cap =
        s->shard_count < (size_t)op->max_results ? s->shard_count : (size_t)op->max_results;
    op->shards = sl_arena_calloc(op->arena, cap ? cap : 1, sizeof *op->shards);
    if (!op->shards) return sl_kerr_internal(err, SL_ENOMEM);
    bool more = false;
    uint32_t last = 0;
    if (shards_visible(k, s, sl_kstream_status(s, op->now_ms))) {
        for (size_t i = 0; i < s->shard_count; i++) {
            const sl_kshard_t *sh = s->shards[i];
            if (sl_kshard_expired(s, sh, op->now_ms)) continue;
            if (q->has_after && sh->index <= q->after) continue;
            if (!shard_matches(s, sh, q->filter, q->filter_ts, q->after, op->now_ms)) continue;
            if ((int64_t)op->count == op->max_results) {
                more = true;
                break;
            }
            op->shards[op->count++] = shard_info(sh);
            last = sh->index;
        }
    }
    if (more) {
        page_token_t nt = {.kind = 2,
                           .issued_ms = op->now_ms,
                           .stream_created_ms = s->created_ms,
                           .filter_ts_ms = q->filter_ts,
                           .after_index = last,
                           .filter = (uint8_t)(q->filter + 1)};
        snprintf(nt.name, sizeof nt.name, "%s", s->name);
        op->next = token_make(k, op->arena, &nt);
    }
    return true;
}

bool sl_kinesis_list_shards(sl_kinesis_t *k, sl_klist_shards_t *op, sl_kerr_t *err) {
    shards_query_t q = {.filter = F_FROM_TRIM_HORIZON};
    op->count = 0;
    op->next = NULL;
    if (op->next_token) {
        if (!shards_token(k, op, &q, err)) return false;
    } else if (!op->stream.name && !op->stream.arn) {
        return sl_kerr_set(err, SL_KERR_INVALID_ARGUMENT,
                           "Either NextToken or StreamName should be provided.");
    }
    if (!op->next_token && op->has_filter && !shards_filter(op, &q, err)) return false;
    if (op->exclusive_start && !op->next_token) {
        uint32_t idx;
        if (sl_shardid_parse(op->exclusive_start, op->exclusive_start_len, &idx) == 0) {
            if (!q.has_after || idx > q.after) q.after = idx;
            q.has_after = true;
        }
    }
    sl_kinesis_rdlock(k);
    bool ok = shards_page(k, op, &q, err);
    sl_kinesis_unlock(k);
    return ok;
}

/* ---- retention, monitoring, record size, mode, warm throughput, encryption ---- */

static bool retention_checked(sl_kinesis_t *k, sl_kstream_t *s, int64_t hours, bool increase,
                              sl_kerr_t *err) {
    (void)k;
    if (hours < SL_KINESIS_RETENTION_HOURS_MIN)
        return sl_kerr_set(err, SL_KERR_INVALID_ARGUMENT,
                           "Minimum allowed retention period is %d hours. Requested retention "
                           "period (%lld hours) is too short.",
                           SL_KINESIS_RETENTION_HOURS_MIN, (long long)hours);
    if (hours > SL_KINESIS_RETENTION_HOURS_MAX)
        return sl_kerr_set(err, SL_KERR_INVALID_ARGUMENT,
                           "Maximum allowed retention period is %d hours. Requested retention "
                           "period (%lld hours) is too long.",
                           SL_KINESIS_RETENTION_HOURS_MAX, (long long)hours);
    if (increase && hours < s->retention_hours)
        return sl_kerr_set(err, SL_KERR_INVALID_ARGUMENT,
                           "Requested retention period (%lld hours) for stream %s can not be "
                           "shorter than existing retention period (%d hours). Use "
                           "DecreaseRetentionPeriod API.",
                           (long long)hours, s->name, s->retention_hours);
    if (!increase && hours > s->retention_hours)
        return sl_kerr_set(err, SL_KERR_INVALID_ARGUMENT,
                           "Requested retention period (%lld hours) for stream %s can not be "
                           "longer than existing retention period (%d hours). Use "
                           "IncreaseRetentionPeriod API.",
                           (long long)hours, s->name, s->retention_hours);
    return true;
}

bool sl_kinesis_set_monitoring(sl_kinesis_t *k, sl_kmonitoring_t *op, sl_kerr_t *err) {
    unsigned mask = 0;
    for (size_t i = 0; i < op->name_count; i++) {
        if (strcmp(op->names[i], "ALL") == 0) mask = (1u << SL_KMETRICS_COUNT) - 1;
        for (int j = 0; j < SL_KMETRICS_COUNT; j++)
            if (strcmp(op->names[i], sl_kmetric_names[j]) == 0) mask |= 1u << j;
    }
    sl_kinesis_wrlock(k);
    sl_kstream_t *s = active_stream(k, &op->stream, op->now_ms, err);
    bool ok = false;
    if (s) {
        info_of(s, op->now_ms, &op->before);
        unsigned metrics = op->enable ? (s->metrics | mask) : (s->metrics & ~mask);
        ok = saved(sl_kinesis_set_metrics(k, s, metrics), err);
        info_of(s, op->now_ms, &op->after);
    }
    sl_kinesis_unlock(k);
    return ok;
}

void sl_kinesis_describe_limits(sl_kinesis_t *k, int64_t now_ms, sl_klimits_t *out) {
    sl_kinesis_rdlock(k);
    out->open_shard_count = (int64_t)sl_kinesis_open_shard_count(k, now_ms);
    out->on_demand_stream_count = (int64_t)sl_kinesis_on_demand_count(k, now_ms);
    sl_kinesis_unlock(k);
    out->shard_limit = k->cfg.shard_limit;
    out->on_demand_stream_limit = k->cfg.on_demand_stream_limit;
}

static void commitment_of(const sl_kinesis_t *k, sl_kcommitment_t *out) {
    out->status = k->commitment_enabled ? SL_KCOMMIT_ENABLED : SL_KCOMMIT_DISABLED;
    out->started_ms = k->commitment_started_ms;
    out->earliest_end_ms = k->commitment_started_ms + SL_KINESIS_COMMITMENT_MIN_MS;
}

void sl_kinesis_describe_account(sl_kinesis_t *k, sl_kcommitment_t *out) {
    sl_kinesis_rdlock(k);
    commitment_of(k, out);
    sl_kinesis_unlock(k);
}

bool sl_kinesis_update_account(sl_kinesis_t *k, bool enable, int64_t now_ms, sl_kcommitment_t *out,
                               sl_kerr_t *err) {
    sl_kinesis_wrlock(k);
    int rc = 0;
    bool early = false;
    if (enable && !k->commitment_enabled) {
        rc = sl_kinesis_set_commitment(k, true, now_ms);
    } else if (!enable && k->commitment_enabled) {
        early = now_ms < k->commitment_started_ms + SL_KINESIS_COMMITMENT_MIN_MS;
        if (!early) rc = sl_kinesis_set_commitment(k, false, k->commitment_started_ms);
    }
    commitment_of(k, out);
    if (early) out->status = SL_KCOMMIT_ENABLED_UNTIL_EARLIEST_ALLOWED_END;
    sl_kinesis_unlock(k);
    return saved(rc, err);
}

/* UpdateStreamMode's checks. */
static bool mode_checked(sl_kinesis_t *k, const sl_kstream_t *s, const sl_kstream_change_t *op,
                         bool on_demand, sl_kerr_t *err) {
    if (op->has_warm && (!on_demand || !k->commitment_enabled))
        return sl_kerr_set(err, SL_KERR_INVALID_ARGUMENT,
                           "WarmThroughputMiBps can only be set when switching to ON_DEMAND with "
                           "the account's MinimumThroughputBillingCommitment ENABLED.");
    return !on_demand || s->on_demand || sl_kinesis_on_demand_limit_ok(k, op->now_ms, err);
}

static bool warm_checked(sl_kinesis_t *k, const sl_kstream_t *s, int64_t warm, sl_kerr_t *err) {
    if (!s->on_demand)
        return sl_kerr_set(err, SL_KERR_INVALID_ARGUMENT,
                           "Warm throughput can only be configured for streams in ON_DEMAND mode.");
    if (!k->commitment_enabled)
        return sl_kerr_set(err, SL_KERR_INVALID_ARGUMENT,
                           "Warm throughput requires the account's "
                           "MinimumThroughputBillingCommitment to be ENABLED.");
    if (warm > 10240)
        return sl_kerr_set(err, SL_KERR_INVALID_ARGUMENT,
                           "WarmThroughputMiBps %lld exceeds the maximum of 10240 MiBps.",
                           (long long)warm);
    return true;
}

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

static bool encryption_checked(const char *type, const char *key_id, sl_kerr_t *err) {
    if (!type || strcmp(type, "KMS") != 0)
        return sl_kerr_set(err, SL_KERR_INVALID_ARGUMENT,
                           "Only KMS encryption type is supported. Received %s.",
                           type ? type : "null");
    if (key_id_valid(key_id)) return true;
    if (strncmp(key_id, "arn:", 4) == 0)
        return sl_kerr_set(err, SL_KERR_INVALID_ARGUMENT,
                           "Received KeyId ARN is not a properly formatted ARN");
    return sl_kerr_set(err, SL_KERR_INVALID_ARGUMENT,
                       "Received KeyId is not a properly formatted Alias or GUID");
}

/* The checks of one change, then its write (control.c). */
static bool change(sl_kinesis_t *k, sl_kstream_t *s, const sl_kstream_change_t *op,
                   sl_kerr_t *err) {
    int64_t now = op->now_ms;
    bool on_demand = op->mode && strcmp(op->mode, "ON_DEMAND") == 0;
    switch (op->kind) {
    case SL_KCHANGE_RETENTION_INCREASE:
    case SL_KCHANGE_RETENTION_DECREASE: {
        bool increase = op->kind == SL_KCHANGE_RETENTION_INCREASE;
        return retention_checked(k, s, op->retention_hours, increase, err) &&
               saved(sl_kinesis_set_retention(k, s, (int32_t)op->retention_hours), err);
    }
    case SL_KCHANGE_MAX_RECORD_SIZE:
        return saved(sl_kinesis_set_max_record_size(k, s, (int32_t)op->max_record_size_kib), err);
    case SL_KCHANGE_STREAM_MODE:
        return mode_checked(k, s, op, on_demand, err) &&
               saved(sl_kinesis_set_stream_mode(k, s, on_demand, op->has_warm, op->warm_mibps, now),
                     err);
    case SL_KCHANGE_WARM_THROUGHPUT:
        return warm_checked(k, s, op->warm_mibps, err) &&
               saved(sl_kinesis_set_warm_throughput(k, s, op->warm_mibps, now), err);
    case SL_KCHANGE_ENCRYPTION_START:
    case SL_KCHANGE_ENCRYPTION_STOP: {
        bool start = op->kind == SL_KCHANGE_ENCRYPTION_START;
        return encryption_checked(op->encryption_type, op->key_id, err) &&
               sl_kquota_encryption(k, s, start, now, err) &&
               (!start || sl_kcrypt_start(k, s, op->key_id, now, err)) &&
               saved(sl_kinesis_set_encryption(k, s, start, op->key_id, now), err);
    }
    }
    return sl_kerr_internal(err, SL_EINVAL);
}

bool sl_kinesis_change_stream(sl_kinesis_t *k, sl_kstream_change_t *op, sl_kerr_t *err) {
    sl_kinesis_wrlock(k);
    sl_kstream_t *s = active_stream(k, &op->stream, op->now_ms, err);
    bool ok = s && change(k, s, op, err);
    if (ok) {
        snprintf(op->stream_name, sizeof op->stream_name, "%s", s->name);
        snprintf(op->stream_arn, sizeof op->stream_arn, "%s", s->arn);
    }
    sl_kinesis_unlock(k);
    return ok;
}
