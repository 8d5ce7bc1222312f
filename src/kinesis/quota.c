/* Control-plane quotas (--quotas aws; docs/capacity.md, "Quotas"): AWS's per-stream counts over a
 * rolling 24 hours (UpdateShardCount 10, StartStreamEncryption and StopStreamEncryption 25 each)
 * and the account's SplitShard/MergeShards rate (5 per second), each refused with
 * LimitExceededException. Callers hold the engine's write lock (the stream's rings) or none (the
 * account's bucket is atomic).
 *
 * The per-stream counts and an ON_DEMAND stream's observed write peak (scale.c) are kept in the
 * account's catalog, setting "capacity:<storage key>", so that a restart neither resets a quota
 * window nor drops an on-demand stream back to its minimum capacity. A count is written before it
 * counts in memory (a failed write refuses the call with InternalFailure); the peak when it raises
 * the stream's capacity. The reshard rate (one second) is not kept. */
#include "kinesis/engine.h"
#include "kinesis/kinesis.h"

#include "core/bin.h"
#include "core/common.h"
#include "core/log.h"

#include <stdio.h>
#include <string.h>

#define DAY_MS (24LL * 3600 * 1000)

/* The setting: u32 version (1), then the rings UpdateShardCount, StartStreamEncryption,
 * StopStreamEncryption, each SL_KINESIS_KEY_CHANGES_PER_DAY_MAX times i64 (ms, 0 = unused) and u32
 * next, then i64 the peak write rate in bytes/s. Little-endian. */
#define STATE_VERSION 1u
#define RING_BYTES (SL_KINESIS_KEY_CHANGES_PER_DAY_MAX * 8 + 4)
#define STATE_BYTES (4 + 3 * RING_BYTES + 8)

static void setting_name(const sl_kstream_t *s, char *out, size_t cap) {
    snprintf(out, cap, "capacity:%s", s->storage_key);
}

/* Writes the stream's state with the rings and peak given (the stream's own where NULL). */
static int save(sl_kinesis_t *k, const sl_kstream_t *s, const sl_kquota_ring_t *rings[3],
                int64_t peak) {
    const sl_kquota_ring_t *own[3] = {&s->quota_scale, &s->quota_key_start, &s->quota_key_stop};
    uint8_t buf[STATE_BYTES];
    uint8_t *p = buf;
    sl_le32_put(p, STATE_VERSION);
    p += 4;
    for (int r = 0; r < 3; r++) {
        const sl_kquota_ring_t *ring = rings && rings[r] ? rings[r] : own[r];
        for (int i = 0; i < SL_KINESIS_KEY_CHANGES_PER_DAY_MAX; i++, p += 8)
            sl_le64_put(p, (uint64_t)ring->at_ms[i]);
        sl_le32_put(p, ring->next);
        p += 4;
    }
    sl_le64_put(p, (uint64_t)peak);
    char name[256];
    setting_name(s, name, sizeof name);
    return sl_catalog_setting_put(k->catalog, name, buf, sizeof buf);
}

/* The on-demand capacity (MiB/s) that a peak write rate gives: twice it, rounded up, within
 * AWS's bounds. */
int64_t sl_kquota_peak_mibps(int64_t peak_bytes_per_s) {
    int64_t mibps = (2 * peak_bytes_per_s + (1 << 20) - 1) >> 20;
    if (mibps < SL_KINESIS_ON_DEMAND_MIBPS_MIN) mibps = SL_KINESIS_ON_DEMAND_MIBPS_MIN;
    if (mibps > SL_KINESIS_ON_DEMAND_MIBPS_MAX) mibps = SL_KINESIS_ON_DEMAND_MIBPS_MAX;
    return mibps;
}

int sl_kquota_load(sl_kinesis_t *k, sl_kstream_t *s) {
    char name[256];
    setting_name(s, name, sizeof name);
    uint8_t buf[STATE_BYTES];
    size_t len = 0;
    int rc = sl_catalog_setting_get(k->catalog, name, buf, sizeof buf, &len);
    if (rc == SL_ENOTFOUND) return 0;
    if (rc == 0 && len == STATE_BYTES && sl_le32_get(buf) == STATE_VERSION) {
        sl_kquota_ring_t *own[3] = {&s->quota_scale, &s->quota_key_start, &s->quota_key_stop};
        const uint32_t caps[3] = {SL_KINESIS_SCALE_PER_DAY_MAX, SL_KINESIS_KEY_CHANGES_PER_DAY_MAX,
                                  SL_KINESIS_KEY_CHANGES_PER_DAY_MAX};
        const uint8_t *p = buf + 4;
        for (int r = 0; r < 3; r++) {
            for (int i = 0; i < SL_KINESIS_KEY_CHANGES_PER_DAY_MAX; i++, p += 8)
                own[r]->at_ms[i] = (int64_t)sl_le64_get(p);
            own[r]->next = sl_le32_get(p) % caps[r];
            p += 4;
        }
        int64_t peak = (int64_t)sl_le64_get(p);
        s->od_peak_bytes_per_s = peak > 0 ? peak : 0;
        s->od_capacity_mibps = sl_kquota_peak_mibps(s->od_peak_bytes_per_s);
        return 0;
    }
    /* counts only: a setting this build cannot read starts them afresh, as before it existed */
    SL_WARN("stream %s: its saved quota counts and on-demand peak (%s) are unreadable (%s); "
            "starting them afresh",
            s->name, name, rc ? sl_strerror(rc) : "unknown version or length");
    return 0;
}

void sl_kquota_forget(sl_kinesis_t *k, const sl_kstream_t *s) {
    char name[256];
    setting_name(s, name, sizeof name);
    int rc = sl_catalog_setting_delete(k->catalog, name);
    if (rc && rc != SL_ENOTFOUND)
        SL_WARN("stream %s: removing its quota counts failed: %s", s->name, sl_strerror(rc));
}

void sl_kquota_peak(sl_kinesis_t *k, sl_kstream_t *s, int64_t rate_bytes_per_s) {
    if (rate_bytes_per_s <= s->od_peak_bytes_per_s) return;
    bool raises =
        sl_kquota_peak_mibps(rate_bytes_per_s) > sl_kquota_peak_mibps(s->od_peak_bytes_per_s);
    s->od_peak_bytes_per_s = rate_bytes_per_s;
    if (!raises) return; /* saved when it changes the capacity: a few writes in a stream's life */
    int rc = save(k, s, NULL, rate_bytes_per_s);
    if (rc)
        SL_WARN("stream %s: saving its on-demand peak failed: %s (kept in memory)", s->name,
                sl_strerror(rc));
}

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
    sl_kquota_ring_t next = s->quota_scale;
    ring_add(&next, SL_KINESIS_SCALE_PER_DAY_MAX, now_ms);
    const sl_kquota_ring_t *rings[3] = {&next, NULL, NULL};
    int rc = save(k, s, rings, s->od_peak_bytes_per_s);
    if (rc) return sl_kerr_internal(err, rc);
    s->quota_scale = next;
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
    sl_kquota_ring_t next = *r;
    ring_add(&next, SL_KINESIS_KEY_CHANGES_PER_DAY_MAX, now_ms);
    const sl_kquota_ring_t *rings[3] = {NULL, start ? &next : NULL, start ? NULL : &next};
    int rc = save(k, s, rings, s->od_peak_bytes_per_s);
    if (rc) return sl_kerr_internal(err, rc);
    *r = next;
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
