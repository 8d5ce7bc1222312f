/* Kinesis resharding: SplitShard, MergeShards and UpdateShardCount (UNIFORM_SCALING, done as the
 * splits and merges AWS would perform, so every new shard carries ParentShardId /
 * AdjacentParentShardId links and consumers can finish parents before children). A child shard is
 * dated one second after its newest parent, so its sequence numbers exceed every parent's. */
#include "api/kinesis/common.h"

#include "core/limits.h"
#include "kinesis/names.h"

#include <stdio.h>
#include <string.h>

static bool provisioned(sl_front_call_t *call, sl_kstream_t *s, const char *op) {
    if (!s->on_demand) return true;
    sl_front_fail(call, SL_AWS_VALIDATION,
                  "%s is not supported for stream %s under account %s in ON_DEMAND mode.", op,
                  s->name, sl_kapi_engine(call)->account);
    return false;
}

/* The stream name a request names (StreamName, else the name in StreamARN), for messages that
 * come before the stream is looked up; NULL when it names none. */
static const char *request_stream_name(sl_front_call_t *call, size_t *len) {
    const char *name = sl_val_get_str(call->in, "StreamName", len);
    if (name) return name;
    size_t alen = 0;
    const char *arn = sl_val_get_str(call->in, "StreamARN", &alen);
    sl_arn_t a;
    if (!arn || sl_arn_parse_stream(arn, alen, &a) != 0) return NULL;
    *len = a.stream_len;
    return a.stream;
}

/* The shard index a ShardId member names: the loose forms AWS accepts ("shardId-5", "shard-5",
 * "5") all name index 5. An id that names no index is refused at once, with its text as given and
 * before the stream is looked up, as AWS does (kinesalite's tests, recorded on AWS). */
static bool shard_arg(sl_front_call_t *call, const char *member, uint32_t *index) {
    size_t len = 0, nlen = 0;
    const char *id = sl_val_get_str(call->in, member, &len);
    if (sl_shardid_parse(id, len, index) == 0) return true;
    const char *name = request_stream_name(call, &nlen);
    if (!name) return true; /* sl_kapi_stream reports the missing stream first */
    sl_front_fail(call, SL_AWS_RESOURCE_NOT_FOUND,
                  "Could not find shard %.*s in stream %.*s under account %s.", (int)len, id,
                  (int)nlen, name, sl_kapi_engine(call)->account);
    return false;
}

/* The open shard `index` of `s`; messages name it in its canonical form (shardId-000000000005). */
static sl_kshard_t *open_shard(sl_front_call_t *call, sl_kstream_t *s, uint32_t index) {
    sl_kshard_t *sh = sl_kstream_shard(s, index);
    if (!sh || sl_kapi_shard_expired(s, sh, call->now_ms)) {
        char id[24];
        sl_shardid_format(index, id);
        sl_front_fail(call, SL_AWS_RESOURCE_NOT_FOUND,
                      "Could not find shard %s in stream %s under account %s.", id, s->name,
                      sl_kapi_engine(call)->account);
        return NULL;
    }
    if (sh->closed_ms) {
        sl_front_fail(call, SL_AWS_INVALID_ARGUMENT,
                      "Shard %s in stream %s under account %s has already been merged or split, "
                      "and thus is not "
                      "eligible for merging or splitting.",
                      sh->id, s->name, sl_kapi_engine(call)->account);
        return NULL;
    }
    return sh;
}

static int64_t child_time(const sl_kshard_t *a, const sl_kshard_t *b, int64_t now) {
    int64_t t = a->created_ms;
    if (b && b->created_ms > t) t = b->created_ms;
    t = (t / 1000 + 1) * 1000;
    return t > now ? t : (now / 1000 + 1) * 1000;
}

/* Closes `sh` and creates its two children split at `key`. */
static int do_split(sl_kinesis_t *k, sl_kstream_t *s, sl_kshard_t *sh, sl_u128_t key, int64_t now) {
    int64_t t = child_time(sh, NULL, now);
    int rc = sl_kinesis_close_shard(k, sh, now);
    if (rc == 0)
        rc = sl_kinesis_add_shard(k, s, sh->start, key - 1, (int32_t)sh->index, -1, t, NULL);
    if (rc == 0) rc = sl_kinesis_add_shard(k, s, key, sh->end, (int32_t)sh->index, -1, t, NULL);
    return rc;
}

static int do_merge(sl_kinesis_t *k, sl_kstream_t *s, sl_kshard_t *a, sl_kshard_t *b, int64_t now,
                    sl_kshard_t **child) {
    int64_t t = child_time(a, b, now);
    int rc = sl_kinesis_close_shard(k, a, now);
    if (rc == 0) rc = sl_kinesis_close_shard(k, b, now);
    sl_u128_t lo = a->start < b->start ? a->start : b->start,
              hi = a->end > b->end ? a->end : b->end;
    if (rc == 0)
        rc = sl_kinesis_add_shard(k, s, lo, hi, (int32_t)a->index, (int32_t)b->index, t, child);
    return rc;
}

static void op_split_shard(sl_front_call_t *call) {
    sl_kinesis_t *k = sl_kapi_engine(call);
    size_t klen = 0;
    const char *key_text = sl_val_get_str(call->in, "NewStartingHashKey", &klen);
    uint32_t index = 0;
    if (!shard_arg(call, "ShardToSplit", &index)) return;
    sl_kinesis_wrlock(k);
    sl_kstream_t *s = sl_kapi_stream(call);
    if (!s || !sl_kapi_require_active(call, s) || !provisioned(call, s, "SplitShard")) goto out;
    sl_kshard_t *sh = open_shard(call, s, index);
    if (!sh) goto out;
    sl_u128_t key = 0;
    bool parsed = sl_hashkey_parse(key_text, klen, &key) == 0;
    if (!parsed || key <= sh->start + 1 || key >= sh->end) {
        sl_front_fail(
            call, SL_AWS_INVALID_ARGUMENT,
            "NewStartingHashKey %.*s used in SplitShard() on shard %s in stream %s under account "
            "%s is not "
            "both greater than one plus the shard's StartingHashKey %s and less than the shard's "
            "EndingHashKey %s.",
            (int)klen, key_text, sh->id, s->name, k->account, sh->start_dec, sh->end_dec);
        goto out;
    }
    if (!sl_kapi_shard_limit_ok(call, 1)) goto out;
    int rc = do_split(k, s, sh, key, call->now_ms);
    if (rc != 0) {
        sl_front_fail_internal(call, rc);
        goto out;
    }
    sl_kapi_reply_saved(call, sl_kinesis_begin_update(k, s, call->now_ms));
out:
    sl_kinesis_unlock(k);
}

static void op_merge_shards(sl_front_call_t *call) {
    sl_kinesis_t *k = sl_kapi_engine(call);
    uint32_t ia = 0, ib = 0;
    if (!shard_arg(call, "ShardToMerge", &ia) || !shard_arg(call, "AdjacentShardToMerge", &ib))
        return;
    sl_kinesis_wrlock(k);
    sl_kstream_t *s = sl_kapi_stream(call);
    if (!s || !sl_kapi_require_active(call, s) || !provisioned(call, s, "MergeShards")) goto out;
    sl_kshard_t *a = open_shard(call, s, ia);
    if (!a) goto out;
    sl_kshard_t *b = open_shard(call, s, ib);
    if (!b) goto out;
    /* AWS merges ShardToMerge with the shard that follows it: AdjacentShardToMerge must start
     * right after ShardToMerge ends; the pair given the other way round is refused
     * (kinesalite's "adjacency is inverted" test, recorded on AWS). */
    bool adjacent = a != b && a->end != SL_HASHKEY_MAX && a->end + 1 == b->start;
    if (!adjacent) {
        sl_front_fail(call, SL_AWS_INVALID_ARGUMENT,
                      "Shards %s and %s in stream %s under account %s are not an adjacent pair of "
                      "shards eligible for "
                      "merging",
                      a->id, b->id, s->name, k->account);
        goto out;
    }
    int rc = do_merge(k, s, a, b, call->now_ms, NULL);
    if (rc != 0) {
        sl_front_fail_internal(call, rc);
        goto out;
    }
    sl_kapi_reply_saved(call, sl_kinesis_begin_update(k, s, call->now_ms));
out:
    sl_kinesis_unlock(k);
}

static sl_kshard_t *open_shard_at(sl_kstream_t *s, sl_u128_t key) {
    return sl_kstream_route(s, key);
}

static void op_update_shard_count(sl_front_call_t *call) {
    sl_kinesis_t *k = sl_kapi_engine(call);
    int64_t target = 0;
    sl_val_get_int(call->in, "TargetShardCount", &target);
    sl_kinesis_wrlock(k);
    sl_kstream_t *s = sl_kapi_stream(call);
    if (!s || !sl_kapi_require_active(call, s) || !provisioned(call, s, "UpdateShardCount"))
        goto out;
    int64_t current = (int64_t)sl_kstream_open_shards(s);
    if (target > current * 2) {
        sl_front_fail(call, SL_AWS_LIMIT_EXCEEDED,
                      "UpdateShardCount cannot scale up over double your current open shard count. "
                      "Current open shard "
                      "count: %lld Target shard count: %lld",
                      (long long)current, (long long)target);
        goto out;
    }
    if (target * 2 < current) {
        sl_front_fail(call, SL_AWS_LIMIT_EXCEEDED,
                      "UpdateShardCount cannot scale down below half your current open shard "
                      "count. Current open shard "
                      "count: %lld Target shard count: %lld",
                      (long long)current, (long long)target);
        goto out;
    }
    if (target > current && !sl_kapi_shard_limit_ok(call, target - current)) goto out;
    int rc = 0;
    if (target != current) {
        /* 1. split open shards at every target boundary that falls inside one */
        for (int64_t i = 1; i < target && rc == 0; i++) {
            sl_u128_t b, e;
            sl_hashkey_split_even((int)target, (int)i, &b, &e);
            sl_kshard_t *sh = open_shard_at(s, b);
            if (sh && sh->start != b) rc = do_split(k, s, sh, b, call->now_ms);
        }
        /* 2. merge the pieces inside each target range into one shard */
        for (int64_t i = 0; i < target && rc == 0; i++) {
            sl_u128_t lo, hi;
            sl_hashkey_split_even((int)target, (int)i, &lo, &hi);
            for (;;) {
                sl_kshard_t *first = open_shard_at(s, lo);
                if (!first || first->end >= hi) break;
                sl_kshard_t *next = open_shard_at(s, first->end + 1);
                if (!next) break;
                rc = do_merge(k, s, first, next, call->now_ms, NULL);
                if (rc) break;
            }
        }
        int urc = sl_kinesis_begin_update(k, s, call->now_ms);
        if (rc == 0) rc = urc;
    }
    if (rc) {
        sl_front_fail_internal(call, rc);
        goto out;
    }
    sl_enc_t *e = &call->enc;
    sl_enc_map_begin(e);
    sl_enc_kv_cstr(e, "StreamName", s->name);
    sl_enc_kv_int(e, "CurrentShardCount", current);
    sl_enc_kv_int(e, "TargetShardCount", target);
    sl_enc_kv_cstr(e, "StreamARN", s->arn);
    sl_enc_map_end(e);
    sl_front_reply(call);
out:
    sl_kinesis_unlock(k);
}

void sl_kapi_reshard_ops(const char *name, sl_front_op_fn *fn) {
    if (!strcmp(name, "SplitShard"))
        *fn = op_split_shard;
    else if (!strcmp(name, "MergeShards"))
        *fn = op_merge_shards;
    else if (!strcmp(name, "UpdateShardCount"))
        *fn = op_update_shard_count;
}
