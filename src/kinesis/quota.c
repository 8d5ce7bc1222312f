/* Control-plane quotas (--quotas aws; docs/capacity.md, "Quotas"): AWS's per-stream counts over a
 * rolling 24 hours (UpdateShardCount 10, StartStreamEncryption and StopStreamEncryption 25 each)
 * and the account's SplitShard/MergeShards rate (5 per second), each refused with
 * LimitExceededException. Counts live in memory: a restart forgets them, as a quota window would
 * pass anyway. Callers hold the engine's write lock (the stream's rings) or none (the account's
 * bucket is atomic). */
#include "kinesis/engine.h"
#include "kinesis/kinesis.h"

#include <string.h>

#define DAY_MS (24LL * 3600 * 1000)

/* True when fewer than `cap` calls of the ring fall within the last 24 hours (the oldest of the
 * last `cap` is older, or there were fewer). */
static bool ring_room(const sl_kquota_ring_t *r, uint32_t cap, int64_t now_ms) {
    int64_t oldest = r->at_ms[r->next % cap];
    return oldest == 0 || now_ms - oldest >= DAY_MS;
}

static void ring_add(sl_kquota_ring_t *r, uint32_t cap, int64_t now_ms) {
    r->at_ms[r->next % cap] = now_ms > 0 ? now_ms : 1;
    r->next = (r->next + 1) % cap;
}

bool sl_kquota_scale(sl_kinesis_t *k, sl_kstream_t *s, int64_t now_ms, sl_kerr_t *err) {
    if (!k->cfg.quotas) return true;
    if (!ring_room(&s->quota_scale, SL_KINESIS_SCALE_PER_DAY_MAX, now_ms))
        return sl_kerr_set(err, SL_KERR_LIMIT_EXCEEDED,
                           "UpdateShardCount cannot be called more than %d times in a rolling "
                           "24-hour period for stream %s under account %s.",
                           SL_KINESIS_SCALE_PER_DAY_MAX, s->name, k->account);
    ring_add(&s->quota_scale, SL_KINESIS_SCALE_PER_DAY_MAX, now_ms);
    return true;
}

bool sl_kquota_encryption(sl_kinesis_t *k, sl_kstream_t *s, bool start, int64_t now_ms,
                          sl_kerr_t *err) {
    if (!k->cfg.quotas) return true;
    sl_kquota_ring_t *r = start ? &s->quota_key_start : &s->quota_key_stop;
    if (!ring_room(r, SL_KINESIS_KEY_CHANGES_PER_DAY_MAX, now_ms))
        return sl_kerr_set(err, SL_KERR_LIMIT_EXCEEDED,
                           "%s cannot be called more than %d times in a rolling 24-hour period "
                           "for stream %s under account %s.",
                           start ? "StartStreamEncryption" : "StopStreamEncryption",
                           SL_KINESIS_KEY_CHANGES_PER_DAY_MAX, s->name, k->account);
    ring_add(r, SL_KINESIS_KEY_CHANGES_PER_DAY_MAX, now_ms);
    return true;
}

bool sl_kquota_reshard_rate(sl_kinesis_t *k, const char *op, sl_kerr_t *err) {
    if (!k->cfg.quotas) return true;
    if (sl_kbucket_take(&k->quota_reshard, sl_kbucket_cost_ns(1, SL_KINESIS_RESHARD_CALLS_PER_S),
                        sl_kthrottle_now_ns()))
        return true;
    return sl_kerr_set(err, SL_KERR_LIMIT_EXCEEDED, "Rate exceeded for %s under account %s.", op,
                       k->account);
}
