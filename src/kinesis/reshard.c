/* Resharding: SplitShard, MergeShards and UpdateShardCount (control.h). UpdateShardCount
 * (UNIFORM_SCALING) is done as the splits and merges AWS would perform, so every new shard carries
 * its parent links and consumers can finish parents before children. A child shard is dated one
 * second after its newest parent, so its sequence numbers exceed every parent's.
 *
 * An operation is first planned on a copy of the stream's open shards (a plan_t: the shards it
 * closes, the shards it adds, the open shards as they will be), then committed: the new shards'
 * logs are opened and room is made in the stream's arrays, every row is written in one catalog
 * transaction, and only then memory changes, in steps that cannot fail. */
#include "kinesis/control.h"

#include "core/common.h"
#include "kinesis/engine.h"
#include "kinesis/names.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A shard in the plan's view of the open shards. */
typedef struct {
    uint32_t index;
    sl_u128_t start, end;
    int64_t created_ms;
} plan_shard_t;

/* A shard the plan adds (UpdateShardCount may close it again at once: a split's child merged). */
typedef struct {
    plan_shard_t shard;
    int32_t parent, adjacent_parent;
    bool closed;
} plan_child_t;

typedef struct {
    sl_kinesis_t *k;
    sl_kstream_t *s;
    int64_t now_ms;
    uint32_t next_index;
    plan_shard_t *open; /* by StartingHashKey */
    size_t open_count;
    plan_child_t *add;
    size_t add_count;
    uint32_t *close; /* indexes of the existing shards it closes */
    size_t close_count;
    size_t cap;     /* of each array */
    bool automatic; /* the on-demand scaler's (scale.c): no quota is counted */
} plan_t;

/* A plan over s's open shards with room for `steps` splits or merges. */
static int plan_init(plan_t *p, sl_kinesis_t *k, sl_kstream_t *s, size_t steps, int64_t now_ms) {
    *p = (plan_t){.k = k, .s = s, .now_ms = now_ms, .next_index = s->next_shard_index};
    p->cap = s->open_count + 2 * steps + 1;
    p->open = calloc(p->cap, sizeof *p->open);
    p->add = calloc(p->cap, sizeof *p->add);
    p->close = calloc(p->cap, sizeof *p->close);
    if (!p->open || !p->add || !p->close) return SL_ENOMEM;
    for (size_t i = 0; i < s->open_count; i++) {
        const sl_kshard_t *sh = s->open_shards[i];
        p->open[i] = (plan_shard_t){sh->index, sh->start, sh->end, sh->created_ms};
    }
    p->open_count = s->open_count;
    return 0;
}

static void plan_deinit(plan_t *p) {
    free(p->open);
    free(p->add);
    free(p->close);
}

/* The open shard whose range holds key, or -1. */
static ptrdiff_t plan_find(const plan_t *p, sl_u128_t key) {
    for (size_t i = 0; i < p->open_count; i++)
        if (p->open[i].start <= key && key <= p->open[i].end) return (ptrdiff_t)i;
    return -1;
}

static int64_t child_time(const plan_shard_t *a, const plan_shard_t *b, int64_t now) {
    int64_t t = a->created_ms;
    if (b && b->created_ms > t) t = b->created_ms;
    t = (t / 1000 + 1) * 1000;
    return t > now ? t : (now / 1000 + 1) * 1000;
}

static plan_shard_t plan_child(plan_t *p, sl_u128_t start, sl_u128_t end, int32_t parent,
                               int32_t adjacent_parent, int64_t created_ms) {
    plan_shard_t c = {p->next_index++, start, end, created_ms};
    SL_ASSERT(p->add_count < p->cap);
    p->add[p->add_count++] = (plan_child_t){c, parent, adjacent_parent, false};
    return c;
}

/* Closes a shard: an existing one, or one the plan added. */
static void plan_close(plan_t *p, uint32_t index) {
    if (index < p->s->next_shard_index) {
        SL_ASSERT(p->close_count < p->cap);
        p->close[p->close_count++] = index;
        return;
    }
    for (size_t i = 0; i < p->add_count; i++)
        if (p->add[i].shard.index == index) p->add[i].closed = true;
}

/* Closes open shard i and replaces it by its two children split at key. */
static void plan_split(plan_t *p, size_t i, sl_u128_t key) {
    plan_shard_t sh = p->open[i];
    int64_t t = child_time(&sh, NULL, p->now_ms);
    SL_ASSERT(p->open_count < p->cap && sh.start < key && key <= sh.end);
    plan_close(p, sh.index);
    memmove(&p->open[i + 2], &p->open[i + 1], (p->open_count - i - 1) * sizeof *p->open);
    p->open_count++;
    p->open[i] = plan_child(p, sh.start, key - 1, (int32_t)sh.index, -1, t);
    p->open[i + 1] = plan_child(p, key, sh.end, (int32_t)sh.index, -1, t);
}

/* Closes open shards i and i + 1 (adjacent) and replaces them by their child; the first is the
 * child's parent, the second its adjacent parent. */
static void plan_merge(plan_t *p, size_t i) {
    plan_shard_t a = p->open[i], b = p->open[i + 1];
    int64_t t = child_time(&a, &b, p->now_ms);
    SL_ASSERT(a.end + 1 == b.start);
    plan_close(p, a.index);
    plan_close(p, b.index);
    p->open[i] = plan_child(p, a.start, b.end, (int32_t)a.index, (int32_t)b.index, t);
    memmove(&p->open[i + 1], &p->open[i + 2], (p->open_count - i - 2) * sizeof *p->open);
    p->open_count--;
}

/* Writes the plan's rows (closed shards, new shards, the stream in UPDATING with its next shard
 * index) in one transaction. */
static int plan_write(plan_t *p, sl_kshard_t **added) {
    sl_kinesis_t *k = p->k;
    int rc = sl_catalog_begin(k->catalog);
    if (rc) return rc;
    for (size_t i = 0; i < p->close_count && rc == 0; i++) {
        sl_kshard_t next = *sl_kstream_shard(p->s, p->close[i]);
        next.closed_ms = p->now_ms;
        rc = sl_kinesis_save_shard(k, &next);
    }
    for (size_t i = 0; i < p->add_count && rc == 0; i++)
        rc = sl_kinesis_save_shard(k, added[i]);
    if (rc == 0) {
        sl_kstream_t next = *p->s;
        next.next_shard_index = p->next_index;
        next.status = SL_KS_UPDATING;
        next.status_until_ms = p->now_ms + k->cfg.update_stream_ms;
        rc = sl_kinesis_save_stream(k, &next);
    }
    if (rc == 0) rc = sl_catalog_commit(k->catalog);
    if (rc) sl_catalog_rollback(k->catalog);
    return rc;
}

/* Commits a plan: catalog first, then memory (which can no longer fail). */
static int plan_commit(plan_t *p) {
    sl_kinesis_t *k = p->k;
    sl_kstream_t *s = p->s;
    sl_kshard_t **added = calloc(p->add_count ? p->add_count : 1, sizeof *added);
    if (!added) return SL_ENOMEM;
    int rc = sl_kstream_reserve(s, p->add_count);
    for (size_t i = 0; i < p->add_count && rc == 0; i++) {
        const plan_child_t *c = &p->add[i];
        rc = sl_kshard_prepare(k, s, c->shard.index, c->shard.start, c->shard.end, c->parent,
                               c->adjacent_parent, c->shard.created_ms, &added[i]);
        if (rc == 0 && c->closed) added[i]->closed_ms = p->now_ms;
    }
    if (rc == 0) rc = plan_write(p, added);
    if (rc) {
        for (size_t i = 0; i < p->add_count; i++)
            if (added[i]) sl_kshard_discard(added[i]);
        free(added);
        return rc;
    }
    for (size_t i = 0; i < p->close_count; i++)
        sl_kstream_shard(s, p->close[i])->closed_ms = p->now_ms;
    for (size_t i = 0; i < p->add_count; i++)
        sl_kstream_insert_shard(s, added[i]);
    free(added);
    s->next_shard_index = p->next_index;
    s->status = SL_KS_UPDATING;
    s->status_until_ms = p->now_ms + k->cfg.update_stream_ms;
    rc = sl_kstream_reindex(s);
    SL_ASSERT(rc == 0); /* room was reserved */
    SL_ASSERT(s->open_count == p->open_count);
    sl_kinesis_kick(k);
    return 0;
}

/* The stream of a resharding request: it must be ACTIVE and PROVISIONED (ON_DEMAND for the
 * scaler's). */
static sl_kstream_t *reshard_stream(sl_kinesis_t *k, const sl_kstream_ref_t *ref, int64_t now_ms,
                                    const char *op, bool automatic, sl_kerr_t *err) {
    sl_kstream_t *s = sl_kinesis_resolve(k, ref, now_ms, err);
    if (!s || !sl_kstream_require_active(k, s, now_ms, err)) return NULL;
    if (s->on_demand == automatic) return s;
    if (automatic) {
        sl_kerr_set(err, SL_KERR_RESOURCE_IN_USE, "Stream %s is no longer ON_DEMAND.", s->name);
        return NULL;
    }
    sl_kerr_set(err, SL_KERR_VALIDATION,
                "%s is not supported for stream %s under account %s in ON_DEMAND mode.", op,
                s->name, k->account);
    return NULL;
}

/* The shard index a ShardId member names: the loose forms AWS accepts ("shardId-5", "shard-5",
 * "5") all name index 5. An id that names no index is refused at once, with its text as given and
 * before the stream is looked up, as AWS does (kinesalite's tests, recorded on AWS); when the
 * request names no stream, the stream's error comes first. */
static bool shard_arg(sl_kinesis_t *k, const sl_kstream_ref_t *ref, const char *id, size_t len,
                      uint32_t *index, sl_kerr_t *err) {
    if (sl_shardid_parse(id, len, index) == 0) return true;
    const char *name = ref->name;
    size_t nlen = ref->name_len;
    sl_arn_t a;
    if (!name && ref->arn && sl_arn_parse_stream(ref->arn, ref->arn_len, &a) == 0) {
        name = a.stream;
        nlen = a.stream_len;
    }
    if (!name) return true;
    return sl_kerr_set(err, SL_KERR_RESOURCE_NOT_FOUND,
                       "Could not find shard %.*s in stream %.*s under account %s.", (int)len, id,
                       (int)nlen, name, k->account);
}

/* The open shard `index` of s, as an index into the plan's open shards, or -1; messages name the
 * shard in its canonical form (shardId-000000000005). */
static ptrdiff_t open_shard(plan_t *p, uint32_t index, sl_kerr_t *err) {
    sl_kshard_t *sh = sl_kstream_shard(p->s, index);
    if (!sh || sl_kshard_expired(p->s, sh, p->now_ms)) {
        char id[24];
        sl_shardid_format(index, id);
        sl_kerr_set(err, SL_KERR_RESOURCE_NOT_FOUND,
                    "Could not find shard %s in stream %s under account %s.", id, p->s->name,
                    p->k->account);
        return -1;
    }
    if (sh->closed_ms) {
        sl_kerr_set(err, SL_KERR_INVALID_ARGUMENT,
                    "Shard %s in stream %s under account %s has already been merged or split, and "
                    "thus is not eligible for merging or splitting.",
                    sh->id, p->s->name, p->k->account);
        return -1;
    }
    return plan_find(p, sh->start);
}

/* Runs a planned change under the write lock: plan_init, the operation's `step`, commit. `steps`
 * bounds the splits and merges of the step (0: UpdateShardCount's bound, three times the open
 * shards, since its target is at most twice their number). */
static bool reshard(sl_kinesis_t *k, const sl_kstream_ref_t *ref, int64_t now_ms, const char *op,
                    size_t steps, bool (*step)(plan_t *p, const void *arg, sl_kerr_t *err),
                    const void *arg, bool automatic, sl_kerr_t *err) {
    sl_kinesis_wrlock(k);
    plan_t p = {0};
    bool ok = false;
    sl_kstream_t *s = reshard_stream(k, ref, now_ms, op, automatic, err);
    if (!s) goto out;
    int rc = plan_init(&p, k, s, steps ? steps : 3 * s->open_count + 1, now_ms);
    if (rc) {
        sl_kerr_internal(err, rc);
        goto out;
    }
    p.automatic = automatic;
    if (!step(&p, arg, err)) goto out;
    rc = p.add_count ? plan_commit(&p) : 0;
    if (rc) {
        sl_kerr_internal(err, rc);
        goto out;
    }
    ok = true;
out:
    plan_deinit(&p);
    sl_kinesis_unlock(k);
    return ok;
}

static bool split_step(plan_t *p, const void *arg, sl_kerr_t *err) {
    const sl_ksplit_t *op = arg;
    uint32_t index = 0;
    sl_shardid_parse(op->shard_id, op->shard_id_len, &index);
    ptrdiff_t i = open_shard(p, index, err);
    if (i < 0) return false;
    const sl_kshard_t *sh = sl_kstream_shard(p->s, index);
    sl_u128_t key = 0;
    bool parsed = sl_hashkey_parse(op->hash_key, op->hash_key_len, &key) == 0;
    if (!parsed || key <= sh->start + 1 || key >= sh->end)
        return sl_kerr_set(
            err, SL_KERR_INVALID_ARGUMENT,
            "NewStartingHashKey %.*s used in SplitShard() on shard %s in stream %s under account "
            "%s is not both greater than one plus the shard's StartingHashKey %s and less than the "
            "shard's EndingHashKey %s.",
            (int)op->hash_key_len, op->hash_key, sh->id, p->s->name, p->k->account, sh->start_dec,
            sh->end_dec);
    if (!sl_kinesis_shard_limit_ok(p->k, 1, p->now_ms, err)) return false;
    plan_split(p, (size_t)i, key);
    return true;
}

bool sl_kinesis_split_shard(sl_kinesis_t *k, const sl_ksplit_t *op, sl_kerr_t *err) {
    uint32_t index = 0;
    if (!shard_arg(k, &op->stream, op->shard_id, op->shard_id_len, &index, err)) return false;
    if (!sl_kquota_reshard_rate(k, "SplitShard", err)) return false;
    return reshard(k, &op->stream, op->now_ms, "SplitShard", 1, split_step, op, false, err);
}

static bool merge_step(plan_t *p, const void *arg, sl_kerr_t *err) {
    const sl_kmerge_t *op = arg;
    uint32_t ia = 0, ib = 0;
    sl_shardid_parse(op->shard_id, op->shard_id_len, &ia);
    sl_shardid_parse(op->adjacent_id, op->adjacent_id_len, &ib);
    ptrdiff_t a = open_shard(p, ia, err);
    if (a < 0) return false;
    ptrdiff_t b = open_shard(p, ib, err);
    if (b < 0) return false;
    /* AWS merges ShardToMerge with the shard that follows it: AdjacentShardToMerge must start
     * right after ShardToMerge ends; the pair given the other way round is refused
     * (kinesalite's "adjacency is inverted" test, recorded on AWS). */
    const plan_shard_t *sa = &p->open[a], *sb = &p->open[b];
    if (a == b || sa->end == SL_HASHKEY_MAX || sa->end + 1 != sb->start) {
        char ida[24], idb[24];
        sl_shardid_format(ia, ida);
        sl_shardid_format(ib, idb);
        return sl_kerr_set(err, SL_KERR_INVALID_ARGUMENT,
                           "Shards %s and %s in stream %s under account %s are not an adjacent "
                           "pair of shards eligible for merging",
                           ida, idb, p->s->name, p->k->account);
    }
    SL_ASSERT(b == a + 1); /* open shards are contiguous, by StartingHashKey */
    plan_merge(p, (size_t)a);
    return true;
}

bool sl_kinesis_merge_shards(sl_kinesis_t *k, const sl_kmerge_t *op, sl_kerr_t *err) {
    uint32_t index = 0;
    if (!shard_arg(k, &op->stream, op->shard_id, op->shard_id_len, &index, err) ||
        !shard_arg(k, &op->stream, op->adjacent_id, op->adjacent_id_len, &index, err))
        return false;
    if (!sl_kquota_reshard_rate(k, "MergeShards", err)) return false;
    return reshard(k, &op->stream, op->now_ms, "MergeShards", 1, merge_step, op, false, err);
}

static bool scale_step(plan_t *p, const void *arg, sl_kerr_t *err) {
    sl_kscale_t *op = (sl_kscale_t *)arg;
    int64_t current = (int64_t)p->open_count, target = op->target;
    op->current = current;
    snprintf(op->stream_name, sizeof op->stream_name, "%s", p->s->name);
    snprintf(op->stream_arn, sizeof op->stream_arn, "%s", p->s->arn);
    if (target > current * 2)
        return sl_kerr_set(err, SL_KERR_LIMIT_EXCEEDED,
                           "UpdateShardCount cannot scale up over double your current open shard "
                           "count. Current open shard count: %lld Target shard count: %lld",
                           (long long)current, (long long)target);
    if (target * 2 < current)
        return sl_kerr_set(err, SL_KERR_LIMIT_EXCEEDED,
                           "UpdateShardCount cannot scale down below half your current open shard "
                           "count. Current open shard count: %lld Target shard count: %lld",
                           (long long)current, (long long)target);
    if (target > current && !sl_kinesis_shard_limit_ok(p->k, target - current, p->now_ms, err))
        return false;
    if (target == current) return true;
    if (!p->automatic && !sl_kquota_scale(p->k, p->s, p->now_ms, err)) return false;
    /* 1. split open shards at every target boundary that falls inside one */
    for (int64_t i = 1; i < target; i++) {
        sl_u128_t b, e;
        sl_hashkey_split_even((int)target, (int)i, &b, &e);
        ptrdiff_t at = plan_find(p, b);
        if (at >= 0 && p->open[at].start != b) plan_split(p, (size_t)at, b);
    }
    /* 2. merge the pieces inside each target range into one shard */
    for (int64_t i = 0; i < target; i++) {
        sl_u128_t lo, hi;
        sl_hashkey_split_even((int)target, (int)i, &lo, &hi);
        for (;;) {
            ptrdiff_t first = plan_find(p, lo);
            if (first < 0 || p->open[first].end >= hi) break;
            if ((size_t)first + 1 >= p->open_count) break;
            plan_merge(p, (size_t)first);
        }
    }
    return true;
}

bool sl_kinesis_update_shard_count(sl_kinesis_t *k, sl_kscale_t *op, sl_kerr_t *err) {
    return reshard(k, &op->stream, op->now_ms, "UpdateShardCount", 0, scale_step, op, false, err);
}

/* ---- the on-demand scaler's path (scale.c) ---- */

static sl_kstream_ref_t ref_of(const char *stream) {
    return (sl_kstream_ref_t){.name = stream, .name_len = strlen(stream)};
}

bool sl_kscale_split(sl_kinesis_t *k, const char *stream, uint32_t shard, sl_u128_t key,
                     int64_t now_ms, sl_kerr_t *err) {
    char id[24], dec[40];
    sl_shardid_format(shard, id);
    size_t n = sl_hashkey_format(key, dec);
    sl_ksplit_t op = {.stream = ref_of(stream),
                      .shard_id = id,
                      .shard_id_len = strlen(id),
                      .hash_key = dec,
                      .hash_key_len = n,
                      .now_ms = now_ms};
    return reshard(k, &op.stream, now_ms, "SplitShard", 1, split_step, &op, true, err);
}

bool sl_kscale_merge(sl_kinesis_t *k, const char *stream, uint32_t shard, uint32_t adjacent,
                     int64_t now_ms, sl_kerr_t *err) {
    char a[24], b[24];
    sl_shardid_format(shard, a);
    sl_shardid_format(adjacent, b);
    sl_kmerge_t op = {.stream = ref_of(stream),
                      .shard_id = a,
                      .shard_id_len = strlen(a),
                      .adjacent_id = b,
                      .adjacent_id_len = strlen(b),
                      .now_ms = now_ms};
    return reshard(k, &op.stream, now_ms, "MergeShards", 1, merge_step, &op, true, err);
}

bool sl_kscale_to(sl_kinesis_t *k, const char *stream, int64_t target, int64_t now_ms,
                  sl_kerr_t *err) {
    sl_kscale_t op = {.stream = ref_of(stream), .target = target, .now_ms = now_ms};
    return reshard(k, &op.stream, now_ms, "UpdateShardCount", 0, scale_step, &op, true, err);
}
