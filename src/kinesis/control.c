/* Control-plane field changes with catalog write-through, and the checks the control-plane
 * operations share (state, account limits, shard expiry). Field changes: each function builds the
 * stream (or consumer, or account setting) row from a copy with the new values, writes it to the
 * catalog, and changes the engine's memory only when that write succeeded. A failed write (a full
 * disk, an I/O error) therefore leaves memory exactly as the catalog has it, and the caller answers
 * a failure. The caller holds the engine's write lock (engine.h) and has validated the request. */
#include "kinesis/engine.h"

#include "core/common.h"
#include "kinesis/kinesis.h"

#include <stdio.h>
#include <string.h>

/* Writes the row of `next` (a copy of *s with some fields changed) and, when the write succeeded,
 * copies those fields into *s. The copy shares s's shards, tags and consumers; it is only read. */
static int commit_stream(sl_kinesis_t *k, sl_kstream_t *s, sl_kstream_t *next) {
    int rc = sl_kinesis_save_stream(k, next);
    if (rc) return rc;
    s->status = next->status;
    s->status_until_ms = next->status_until_ms;
    s->on_demand = next->on_demand;
    s->retention_hours = next->retention_hours;
    s->max_record_size_kib = next->max_record_size_kib;
    s->encrypted = next->encrypted;
    memcpy(s->key_id, next->key_id, sizeof s->key_id);
    s->metrics = next->metrics;
    s->warm_mibps = next->warm_mibps;
    return 0;
}

/* The UPDATING transition of begin_update, on the copy; the background thread ends it. */
static int commit_update(sl_kinesis_t *k, sl_kstream_t *s, sl_kstream_t *next, int64_t now_ms) {
    next->status = SL_KS_UPDATING;
    next->status_until_ms = now_ms + k->cfg.update_stream_ms;
    int rc = commit_stream(k, s, next);
    if (rc == 0) sl_kinesis_kick(k);
    return rc;
}

int sl_kinesis_set_retention(sl_kinesis_t *k, sl_kstream_t *s, int32_t hours) {
    sl_kstream_t next = *s;
    next.retention_hours = hours;
    return commit_stream(k, s, &next);
}

int sl_kinesis_set_metrics(sl_kinesis_t *k, sl_kstream_t *s, unsigned metrics) {
    sl_kstream_t next = *s;
    next.metrics = metrics;
    return commit_stream(k, s, &next);
}

int sl_kinesis_set_max_record_size(sl_kinesis_t *k, sl_kstream_t *s, int32_t kib) {
    sl_kstream_t next = *s;
    next.max_record_size_kib = kib;
    return commit_stream(k, s, &next);
}

int sl_kinesis_set_stream_mode(sl_kinesis_t *k, sl_kstream_t *s, bool on_demand, bool set_warm,
                               int64_t warm_mibps, int64_t now_ms) {
    sl_kstream_t next = *s;
    next.on_demand = on_demand;
    if (set_warm) next.warm_mibps = warm_mibps;
    return commit_update(k, s, &next, now_ms);
}

int sl_kinesis_set_warm_throughput(sl_kinesis_t *k, sl_kstream_t *s, int64_t warm_mibps,
                                   int64_t now_ms) {
    sl_kstream_t next = *s;
    next.warm_mibps = warm_mibps;
    return commit_update(k, s, &next, now_ms);
}

int sl_kinesis_set_encryption(sl_kinesis_t *k, sl_kstream_t *s, bool encrypted, const char *key_id,
                              int64_t now_ms) {
    sl_kstream_t next = *s;
    next.encrypted = encrypted;
    snprintf(next.key_id, sizeof next.key_id, "%s", encrypted && key_id ? key_id : "");
    return commit_update(k, s, &next, now_ms);
}

int sl_kinesis_set_commitment(sl_kinesis_t *k, bool enabled, int64_t started_ms) {
    bool was = k->commitment_enabled;
    int64_t was_started = k->commitment_started_ms;
    /* sl_kinesis_setting_save writes the engine's fields: set them, and put them back on failure
     * (no reader sees the interval: the caller holds the write lock). */
    k->commitment_enabled = enabled;
    k->commitment_started_ms = started_ms;
    int rc = sl_kinesis_setting_save(k);
    if (rc) {
        k->commitment_enabled = was;
        k->commitment_started_ms = was_started;
    }
    return rc;
}

int sl_kinesis_consumer_deregister(sl_kinesis_t *k, sl_kstream_t *s, sl_kconsumer_t *c,
                                   int64_t now_ms) {
    sl_kconsumer_t next = *c;
    next.status = SL_KS_DELETING;
    next.status_until_ms = now_ms + k->cfg.consumer_ms;
    int rc = sl_kinesis_consumer_save(k, s, &next);
    if (rc) return rc;
    c->status = next.status;
    c->status_until_ms = next.status_until_ms;
    sl_kinesis_kick(k);
    return 0;
}

int sl_kinesis_close_shard(sl_kinesis_t *k, sl_kshard_t *sh, int64_t now_ms) {
    sl_kshard_t next = *sh;
    next.closed_ms = now_ms;
    int rc = sl_kinesis_save_shard(k, &next);
    if (rc == 0) sh->closed_ms = now_ms;
    return rc;
}

bool sl_kstream_require_active(sl_kinesis_t *k, const sl_kstream_t *s, int64_t now_ms,
                               sl_kerr_t *err) {
    sl_kstatus_t st = sl_kstream_status(s, now_ms);
    if (st == SL_KS_ACTIVE) return true;
    return sl_kerr_set(err, SL_KERR_RESOURCE_IN_USE,
                       "Stream %s under account %s not ACTIVE, instead in state %s", s->name,
                       k->account, sl_kstatus_name(st));
}

bool sl_kinesis_shard_limit_ok(sl_kinesis_t *k, int64_t extra, int64_t now_ms, sl_kerr_t *err) {
    size_t open = sl_kinesis_open_shard_count(k, now_ms);
    if ((int64_t)open + extra <= k->cfg.shard_limit) return true;
    return sl_kerr_set(
        err, SL_KERR_LIMIT_EXCEEDED,
        "This request would exceed the shard limit for the account %s in %s. Current shard count "
        "for the account: %zu. Limit: %lld. Number of additional shards that would have resulted "
        "from this request: %lld. Refer to the AWS Service Limits page "
        "(http://docs.aws.amazon.com/general/latest/gr/aws_service_limits.html) for current "
        "limits and how to request higher limits.",
        k->account, k->region, open, (long long)k->cfg.shard_limit, (long long)extra);
}

bool sl_kinesis_on_demand_limit_ok(sl_kinesis_t *k, int64_t now_ms, sl_kerr_t *err) {
    if ((int64_t)sl_kinesis_on_demand_count(k, now_ms) < k->cfg.on_demand_stream_limit) return true;
    return sl_kerr_set(err, SL_KERR_LIMIT_EXCEEDED,
                       "This request would exceed the on-demand stream limit for the account %s "
                       "in %s. Limit: %lld.",
                       k->account, k->region, (long long)k->cfg.on_demand_stream_limit);
}

bool sl_kshard_expired(const sl_kstream_t *s, const sl_kshard_t *sh, int64_t now_ms) {
    return sh->closed_ms && sh->closed_ms + (int64_t)s->retention_hours * 3600000 < now_ms;
}
