/* On-demand scaling (docs/capacity.md, "On-demand streams"): ON_DEMAND streams follow their
 * traffic by themselves. The background thread samples, every tick, what each open shard of each
 * ON_DEMAND stream took since the last tick (put.c counts it), as a share of one shard's capacity
 * (1 MiB/s or 1,000 records/s, whichever is nearer). A shard at or above up_share for a whole
 * window is split at the middle of its hash range; two adjacent shards both at or below down_share
 * for a whole window are merged; one change per stream per tick, within [shards_min, shards_max]
 * (and at least the warm throughput's shards, one per MiB/s). The changes go through the ordinary
 * reshard path (reshard.c), so readers see parents, children and ChildShards as after any
 * SplitShard or MergeShards. The same sample keeps the stream's peak write rate, which sets its own
 * write limit with throughput limits on (put.c): twice the peak, from 4 to 200 MiB/s. */
#include "core/common.h"
#include "core/log.h"
#include "kinesis/engine.h"
#include "kinesis/kinesis.h"
#include "kinesis/names.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { ACT_SPLIT, ACT_MERGE, ACT_SCALE } act_kind_t;

/* A change decided under the read lock and done after it (the reshard path takes the write lock
 * and checks everything again). */
typedef struct {
    act_kind_t kind;
    char stream[129];
    uint32_t shard, adjacent;
    sl_u128_t key;
    int64_t target;
    double share;
} act_t;

static int64_t tick_ms(const sl_kinesis_t *k) {
    int64_t t = k->cfg.on_demand_window_ms / 4;
    return t < 100 ? 100 : t > 1000 ? 1000 : t;
}

/* The shard's write rate over dt_ms as a share of one shard's capacity. */
static double sample(sl_kinesis_t *k, sl_kshard_t *sh, int64_t dt_ms, uint64_t *bytes) {
    uint64_t b = __atomic_load_n(&sh->put_bytes, __ATOMIC_RELAXED);
    uint64_t r = __atomic_load_n(&sh->put_records, __ATOMIC_RELAXED);
    uint64_t db = b - sh->seen_bytes, dr = r - sh->seen_records;
    sh->seen_bytes = b;
    sh->seen_records = r;
    *bytes = db;
    double per_s = 1000.0 / (double)dt_ms;
    double sb = (double)db * per_s / (double)k->rates.write_bytes_per_s;
    double sr = (double)dr * per_s / (double)k->rates.write_records_per_s;
    return sb > sr ? sb : sr;
}

/* Tracks since when a state holds: set on its first tick, cleared when it stops. */
static void track(int64_t *since, bool holds, int64_t now_ms) {
    if (!holds)
        *since = 0;
    else if (!*since)
        *since = now_ms;
}

/* Samples one stream and decides the change it needs now, if any (only when ACTIVE: resharding
 * needs it; caller holds the read lock). */
static bool decide(sl_kinesis_t *k, sl_kstream_t *s, int64_t now_ms, int64_t dt_ms, bool active,
                   act_t *out) {
    const sl_kinesis_config_t *c = &k->cfg;
    uint64_t total = 0;
    double hot_share = 0;
    ptrdiff_t hot = -1;
    for (size_t i = 0; i < s->open_count; i++) {
        sl_kshard_t *sh = s->open_shards[i];
        uint64_t bytes = 0;
        double share = sample(k, sh, dt_ms, &bytes);
        total += bytes;
        track(&sh->hot_since_ms, share >= c->on_demand_scale_up_share, now_ms);
        track(&sh->cold_since_ms, share <= c->on_demand_scale_down_share, now_ms);
        bool held = sh->hot_since_ms && now_ms - sh->hot_since_ms >= c->on_demand_window_ms;
        bool room = sh->end - sh->start > 3; /* a split needs start + 1 < key < end */
        if (held && room && (hot < 0 || sh->hot_since_ms < s->open_shards[hot]->hot_since_ms)) {
            hot = (ptrdiff_t)i;
            hot_share = share;
        }
    }
    /* the stream's own write limit follows twice its peak (put.c) */
    int64_t rate = (int64_t)(total * 1000 / (uint64_t)dt_ms);
    sl_kquota_peak(k, s, rate); /* kept in the catalog across restarts (quota.c) */
    int64_t mibps = sl_kquota_peak_mibps(s->od_peak_bytes_per_s);
    __atomic_store_n(&s->od_capacity_mibps, mibps, __ATOMIC_RELAXED);
    if (!active) return false;

    int64_t open = (int64_t)s->open_count;
    int64_t floor = c->on_demand_shards_min;
    if (s->warm_mibps > floor) floor = s->warm_mibps; /* one shard per MiB/s of warm throughput */
    if (floor > c->on_demand_shards_max) floor = c->on_demand_shards_max;
    snprintf(out->stream, sizeof out->stream, "%s", s->name);
    if (open < floor) {
        /* pre-scale (warm throughput, or a stream switched to ON_DEMAND with fewer shards), at
         * most doubling per step as UpdateShardCount does */
        out->kind = ACT_SCALE;
        out->target = floor < 2 * open ? floor : 2 * open;
        return true;
    }
    if (hot >= 0 && open < c->on_demand_shards_max) {
        sl_kshard_t *sh = s->open_shards[hot];
        out->kind = ACT_SPLIT;
        out->shard = sh->index;
        out->key = sh->start + (sh->end - sh->start) / 2 + 1;
        out->share = hot_share;
        return true;
    }
    if (open <= floor) return false;
    for (size_t i = 0; i + 1 < s->open_count; i++) {
        sl_kshard_t *a = s->open_shards[i], *b = s->open_shards[i + 1];
        if (a->cold_since_ms && b->cold_since_ms &&
            now_ms - a->cold_since_ms >= c->on_demand_window_ms &&
            now_ms - b->cold_since_ms >= c->on_demand_window_ms) {
            out->kind = ACT_MERGE;
            out->shard = a->index;
            out->adjacent = b->index;
            return true;
        }
    }
    return false;
}

static void act(sl_kinesis_t *k, const act_t *a, int64_t now_ms) {
    sl_kerr_t err = {0};
    bool ok = false;
    char id[24], adj[24];
    sl_shardid_format(a->shard, id);
    sl_shardid_format(a->adjacent, adj);
    switch (a->kind) {
    case ACT_SPLIT:
        ok = sl_kscale_split(k, a->stream, a->shard, a->key, now_ms, &err);
        if (ok)
            SL_INFO("on-demand stream %s: split %s (writes at %.0f%% of a shard's capacity for "
                    "%lld s)",
                    a->stream, id, a->share * 100, (long long)k->cfg.on_demand_window_ms / 1000);
        break;
    case ACT_MERGE:
        ok = sl_kscale_merge(k, a->stream, a->shard, a->adjacent, now_ms, &err);
        if (ok) SL_INFO("on-demand stream %s: merged cold shards %s and %s", a->stream, id, adj);
        break;
    case ACT_SCALE:
        ok = sl_kscale_to(k, a->stream, a->target, now_ms, &err);
        if (ok)
            SL_INFO("on-demand stream %s: scaled to %lld open shards", a->stream,
                    (long long)a->target);
        break;
    }
    /* a stream that changed meanwhile (deleted, UPDATING, the shard limit) tries next tick */
    if (!ok) SL_DEBUG("on-demand stream %s: no change now: %s", a->stream, err.message);
}

int64_t sl_kscale_pass(sl_kinesis_t *k, int64_t now_ms) {
    if (!k->cfg.on_demand_scaling) return INT64_MAX;
    if (k->scale_next_ms && now_ms < k->scale_next_ms) return k->scale_next_ms;
    int64_t dt = k->scale_last_ms ? now_ms - k->scale_last_ms : 0;
    k->scale_last_ms = now_ms;
    k->scale_next_ms = now_ms + tick_ms(k);
    act_t *acts = NULL;
    size_t n = 0;
    sl_kinesis_rdlock(k);
    for (size_t i = 0; i < k->stream_count; i++) {
        sl_kstream_t *s = k->streams[i];
        sl_kstatus_t st = sl_kstream_status(s, now_ms);
        if (!s->on_demand || st == SL_KS_DELETING) continue;
        if (dt <= 0) {
            /* the first tick only takes the counters' starting point */
            for (size_t j = 0; j < s->open_count; j++) {
                uint64_t b;
                sample(k, s->open_shards[j], 1, &b);
            }
            continue;
        }
        if (!acts) acts = calloc(k->stream_count, sizeof *acts);
        if (!acts) break;
        if (decide(k, s, now_ms, dt, st == SL_KS_ACTIVE, &acts[n])) n++;
    }
    sl_kinesis_unlock(k);
    for (size_t i = 0; i < n; i++)
        act(k, &acts[i], now_ms);
    free(acts);
    return k->scale_next_ms;
}
