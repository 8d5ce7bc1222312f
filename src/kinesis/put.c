/* PutRecord and PutRecords (kinesis.h): validation of each record against its stream, routing by
 * MD5 of the partition key or by the explicit hash key, grouping by shard in request order, one
 * storage append per group. The engine's read lock is held only while routing and handing the
 * groups to storage; the appends complete on the storage commit thread once durable. */
#include "kinesis/kinesis.h"

#include "core/common.h"
#include "core/log.h"
#include "kinesis/engine.h"
#include "kinesis/hashkey.h"
#include "kinesis/idem.h"

#include <stdio.h>
#include <string.h>

/* groups whose shard the append loop fetches ahead of the one it works on */
#define PUT_PREFETCH_AHEAD 4

/* A group's key in put's table is its shard's address with the refusal in the low two bits. */
static_assert(_Alignof(sl_kshard_t) >= 4, "shard pointers need two free low bits");

static bool writable(sl_kinesis_t *k, sl_kstream_t *s, int64_t now_ms, sl_kerr_t *err) {
    sl_kstatus_t st = sl_kstream_status(s, now_ms);
    if (st == SL_KS_ACTIVE || st == SL_KS_UPDATING) return true;
    return sl_kerr_stream_not_found(err, k, s->name, strlen(s->name));
}

/* MD5 of every record's partition key (an ExplicitHashKey's record gets none), many keys at a
 * time (hashkey.h); done before the engine lock is taken. */
static bool partition_hashes(const sl_krecord_t *recs, size_t n, sl_u128_t *hashes, sl_arena_t *a) {
    const char **pk = sl_arena_alloc(a, (n ? n : 1) * sizeof *pk);
    size_t *len = sl_arena_alloc(a, (n ? n : 1) * sizeof *len);
    if (!pk || !len) return false;
    for (size_t i = 0; i < n; i++) {
        bool md5 = !recs[i].explicit_hash_key;
        pk[i] = md5 ? recs[i].partition_key : NULL;
        len[i] = md5 ? recs[i].partition_key_len : 0;
    }
    sl_hashkey_of_partition_keys(n, pk, len, hashes);
    return true;
}

/* Hash of a record: ExplicitHashKey when given, else the MD5 of the partition key that
 * partition_hashes left in *hash. */
static bool record_hash(const sl_krecord_t *r, sl_u128_t *hash, sl_kerr_t *err) {
    if (r->explicit_hash_key) {
        if (sl_hashkey_parse(r->explicit_hash_key, r->explicit_hash_key_len, hash) == 0)
            return true;
        return sl_kerr_set(err, SL_KERR_INVALID_ARGUMENT,
                           "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, "
                           "2^128-1]. Specified "
                           "value was %.*s",
                           (int)r->explicit_hash_key_len, r->explicit_hash_key);
    }
    return true;
}

/* `index` is the 1-based position in PutRecords' Records, 0 for PutRecord (path of the error). */
static bool record_fits(sl_kinesis_t *k, sl_kstream_t *s, const sl_krecord_t *r, size_t index,
                        sl_kerr_t *err) {
    size_t dlen = r->data_len, plen = r->partition_key_len;
    size_t max = (size_t)s->max_record_size_kib * 1024;
    if (dlen > max) {
        char path[48] = "data";
        if (index) snprintf(path, sizeof path, "records.%zu.member.data", index);
        return sl_kerr_set(
            err, SL_KERR_VALIDATION,
            "1 validation error detected: Value 'java.nio.HeapByteBuffer[pos=0 lim=%zu cap=%zu]' "
            "at "
            "'%s' failed to satisfy constraint: Member must have length less than or equal to %zu",
            dlen, dlen, path, max);
    }
    if (dlen + plen > max)
        return sl_kerr_set(err, SL_KERR_INVALID_ARGUMENT,
                           "Record size %zu bytes (data plus partition key) exceeds the maximum "
                           "record size of %d KiB "
                           "of stream %s under account %s.",
                           dlen + plen, s->max_record_size_kib, s->name, k->account);
    return true;
}

static bool ordering_ok(sl_kinesis_t *k, sl_kstream_t *s, const sl_kput_t *op, sl_kerr_t *err) {
    sl_seqnum_t sn;
    if (!op->ordering) return true;
    if (sl_seqnum_parse(op->ordering, op->ordering_len, &sn) == 0 &&
        sn.record_s * 1000 <= op->now_ms + 1000)
        return true;
    return sl_kerr_set(
        err, SL_KERR_INVALID_ARGUMENT,
        "ExclusiveMinimumSequenceNumber %.*s used in PutRecord on stream %s under account %s is "
        "invalid.",
        (int)op->ordering_len, op->ordering, s->name, k->account);
}

/* An on-demand stream's own write limit (docs/capacity.md, "On-demand streams"): its capacity in
 * MiB/s (at least 4, twice the peak the scaler observed, at most 200), and 1,000 records/s per
 * MiB/s. A record the stream refuses gives back what its shard took. */
static bool stream_limits_write(sl_kinesis_t *k, sl_kstream_t *s, sl_kshard_t *sh, int64_t bytes,
                                int64_t now_ns) {
    int64_t mibps = __atomic_load_n(&s->od_capacity_mibps, __ATOMIC_RELAXED);
    if (mibps < SL_KINESIS_ON_DEMAND_MIBPS_MIN) mibps = SL_KINESIS_ON_DEMAND_MIBPS_MIN;
    if (sl_kwrite_take(&s->od_records, &s->od_bytes, mibps * SL_KTHROTTLE_WRITE_RECORDS_PER_S,
                       mibps * SL_KTHROTTLE_WRITE_BYTES_PER_S, bytes, now_ns))
        return true;
    sl_kbucket_refund(&sh->limits.write_records,
                      sl_kbucket_cost_ns(1, k->rates.write_records_per_s));
    sl_kbucket_refund(&sh->limits.write_bytes,
                      sl_kbucket_cost_ns(bytes, k->rates.write_bytes_per_s));
    __atomic_add_fetch(&sh->limits.write_throttled, 1, __ATOMIC_RELAXED);
    return false;
}

/* One group's append finished (or failed to start): its records get their seqs or count as
 * failed. */
static void group_result(sl_kput_group_t *g) {
    sl_kput_t *op = g->op;
    if (g->status == 0)
        for (size_t j = 0; j < g->count; j++)
            op->entries[g->entries[j]].seq = g->first_seq + j;
    else
        __atomic_add_fetch(&op->failed, g->count, __ATOMIC_RELAXED);
}

static void put_finish(sl_kinesis_t *k, sl_kput_t *op) {
    if (op->idem_owner) sl_kidem_finish(k->idem, op);
    op->cb(op);
}

/* Every group of the put's storage batch completed (one callback for all of them). */
static void batch_cb(sl_append_batch_t *b) {
    sl_kput_t *op = b->arg;
    sl_kinesis_t *k = NULL;
    for (size_t i = 0; i < b->n; i++) {
        const sl_append_group_t *sg = &b->groups[i];
        sl_kput_group_t *g = sg->user;
        int status = sg->status;
        /* storage's contract: counters start at 1, and a group gets count of them */
        SL_ASSERT(status != 0 || (sg->first_seq >= 1 && sg->first_seq + g->count > sg->first_seq));
        k = g->shard->stream->k;
        /* a group refused before it was queued took no seq of its shard's reservation */
        if (!sg->queued) sl_kshard_seq_unclaim(g->shard, g->count);
        g->status = status;
        g->first_seq = sg->first_seq;
        /* the time storage kept, which reads serve: max(request, previous) */
        g->arrival_ms = sg->arrival_ms;
        __atomic_sub_fetch(&g->shard->inflight, 1, __ATOMIC_RELEASE);
        if (status) {
            SL_WARN("put to %s failed in storage: %s", g->shard_id, sl_strerror(status));
            if (op->single) sl_kerr_storage(&op->err, k, status);
        }
        group_result(g);
    }
    if (__atomic_sub_fetch(&op->pending, 1, __ATOMIC_ACQ_REL) == 0) put_finish(k, op);
}

int sl_kinesis_put(sl_kinesis_t *k, sl_kput_t *op) {
    size_t n = op->count;
    sl_arena_t *a = op->arena;
    op->err.type = SL_KERR_NONE;
    op->group_count = 0;
    op->failed = 0;
    op->shard_metrics = 0;
    op->replayed = false;
    op->delay_ms = 0;
    op->idem_owner = false;
    op->idem_next = NULL;
    op->idem_entry = NULL;
    /* Every field of entries, order and sorted is written before it is read, so they are not
     * zeroed; groups (one per shard, sized once the stream is known) are. */
    op->entries = sl_arena_alloc(a, (n ? n : 1) * sizeof *op->entries);
    size_t *order = sl_arena_alloc(a, (n ? n : 1) * sizeof *order);
    sl_record_t *sorted = sl_arena_alloc(a, (n ? n : 1) * sizeof *sorted);
    sl_kshard_t **route = sl_arena_alloc(a, (n ? n : 1) * sizeof *route);
    sl_u128_t *hashes = sl_arena_alloc(a, (n ? n : 1) * sizeof *hashes);
    if (!op->entries || !order || !sorted || !route || !hashes ||
        !partition_hashes(op->records, n, hashes, a)) {
        sl_kerr_internal(&op->err, SL_ENOMEM);
        return SL_KINESIS_DONE;
    }
    sl_kinesis_rdlock(k);
    sl_kstream_t *s = sl_kinesis_resolve(k, &op->stream, op->now_ms, &op->err);
    if (!s || !writable(k, s, op->now_ms, &op->err)) goto done;
    size_t name_len = strnlen(s->name, sizeof op->stream_name - 1); /* names are <= 128 */
    memcpy(op->stream_name, s->name, name_len);
    op->stream_name[name_len] = 0;
    op->encrypted = s->encrypted;
    op->shard_metrics = s->metrics;
    /* an encrypted stream's KMS key must be usable (KMSDisabledException, ...) */
    if (s->encrypted && !sl_kcrypt_check(k, s, op->now_ms, &op->err)) goto done;
    if (op->idempotency_key) {
        sl_kidem_status_t st = sl_kidem_begin(k->idem, s->name, op);
        if (st == SL_KIDEM_REPLAYED) goto done;
        if (st == SL_KIDEM_WAITING) {
            sl_kinesis_unlock(k);
            return SL_KINESIS_PENDING;
        }
    }
    /* validate and route every record before anything is appended: a bad one fails the call */
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        sl_krecord_t *r = &op->records[i];
        r->arrival_ms = op->now_ms;
        sl_u128_t hash = hashes[i];
        if (!record_hash(r, &hash, &op->err)) goto done;
        if (!record_fits(k, s, r, op->single ? 0 : i + 1, &op->err)) goto done;
        if (op->single && !ordering_ok(k, s, op, &op->err)) goto done;
        total += r->data_len + r->partition_key_len;
        route[i] = sl_kstream_route(s, hash);
        if (!route[i] || !route[i]->log) {
            sl_kerr_internal(&op->err, SL_EINVAL);
            goto done;
        }
    }
    if (total > SL_KINESIS_PUT_RECORDS_BYTES_MAX) {
        sl_kerr_set(&op->err, SL_KERR_INVALID_ARGUMENT, "Records size exceeds 10 MB limit");
        goto done;
    }
    /* Fault injection (fault.h) draws first, per record for PutRecords' errors; then, with
     * throughput limits on, each record left takes from its shard's buckets in request order. A
     * refused record goes to its shard's second (throttled) or third (failed) group, which is
     * never appended (per-record errors), and fails PutRecord. */
    uint8_t *refused = NULL;
    if (k->faults.count || k->cfg.throughput_limits) {
        refused = sl_arena_calloc(a, n ? n : 1, 1);
        if (!refused) {
            sl_kerr_internal(&op->err, SL_ENOMEM);
            goto done;
        }
    }
    if (k->faults.count) {
        const sl_kfault_rule_t *rules[SL_KINESIS_FAULT_RULES_MAX];
        size_t nr = sl_kfaults_select(k, s, SL_KFAULT_WRITE, rules);
        if (nr) op->delay_ms = sl_kfaults_latency(k, rules, nr);
        for (size_t i = 0; nr && i < n; i++) {
            sl_kfault_error_t e = sl_kfaults_error(k, rules, nr);
            if (e == SL_KFAULT_ERROR_NONE) continue;
            refused[i] = e == SL_KFAULT_ERROR_THROUGHPUT ? SL_KPUT_REFUSED_THROTTLED
                                                         : SL_KPUT_REFUSED_FAILED;
            if (op->single) {
                if (e == SL_KFAULT_ERROR_THROUGHPUT)
                    sl_kerr_set(&op->err, SL_KERR_THROUGHPUT_EXCEEDED,
                                "Rate exceeded for shard %s in stream %s under account %s.",
                                route[i]->id, s->name, k->account);
                else
                    sl_kerr_internal(&op->err, SL_KINESIS_FAULT_STATUS);
                goto done;
            }
        }
    }
    if (k->cfg.throughput_limits) {
        int64_t now_ns = sl_kthrottle_now_ns();
        for (size_t i = 0; i < n; i++) {
            const sl_krecord_t *r = &op->records[i];
            if (refused[i]) continue;
            int64_t bytes = (int64_t)(r->data_len + r->partition_key_len);
            if (!sl_kshard_limits_write(&route[i]->limits, &k->rates, bytes, now_ns) ||
                (s->on_demand && !stream_limits_write(k, s, route[i], bytes, now_ns)))
                refused[i] = SL_KPUT_REFUSED_THROTTLED;
            if (refused[i] && op->single) {
                sl_kerr_set(&op->err, SL_KERR_THROUGHPUT_EXCEEDED,
                            "Rate exceeded for shard %s in stream %s under account %s.",
                            route[i]->id, s->name, k->account);
                goto done;
            }
        }
    }
    /* routing picks one of the stream's shards (three times with refusals: appended, throttled,
     * failed), so there are at most this many groups */
    size_t shard_groups = s->shard_count * (refused ? 3 : 1);
    size_t groups_max = n < shard_groups ? n : shard_groups;
    /* (not zeroed: each group is set whole when a record first routes to it, and only the first
     * group_count are read; at thousands of shards most of a batch's records start a group) */
    op->groups = sl_arena_alloc(a, (groups_max ? groups_max : 1) * sizeof *op->groups);
    /* group by shard, keeping request order inside each group; a small open-addressing table
     * finds a shard's group (a batch may touch hundreds of shards) */
    size_t hcap = 16;
    while (hcap < 2 * groups_max)
        hcap <<= 1;
    uintptr_t *hkey = sl_arena_calloc(a, hcap, sizeof *hkey); /* shard | its refusal */
    int32_t *hslot = sl_arena_alloc(a, hcap * sizeof *hslot);
    if (!op->groups || !hkey || !hslot) {
        sl_kerr_internal(&op->err, SL_ENOMEM);
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        uintptr_t key = (uintptr_t)route[i] | (refused ? refused[i] : 0u);
        size_t h = (size_t)((key >> 4) * 0x9E3779B97F4A7C15ull >> 20) & (hcap - 1);
        while (hkey[h] && hkey[h] != key)
            h = (h + 1) & (hcap - 1);
        size_t g = hkey[h] ? (size_t)hslot[h] : op->group_count;
        if (g == op->group_count) {
            hkey[h] = key;
            hslot[h] = (int32_t)g;
            SL_ASSERT(g < groups_max);
            sl_kput_group_t *gr = &op->groups[op->group_count++];
            *gr = (sl_kput_group_t){.shard_created_ms = route[i]->created_ms,
                                    .shard_index = route[i]->index,
                                    .arrival_ms = op->now_ms,
                                    .shard = route[i],
                                    .op = op,
                                    .refused = (uint8_t)(key & 3)};
            memcpy(gr->shard_id, route[i]->id, sizeof gr->shard_id);
            gr->shard_id_len = strlen(gr->shard_id);
        }
        op->entries[i].group = (int32_t)g;
        op->groups[g].count++;
    }
    size_t off = 0;
    for (size_t g = 0; g < op->group_count; g++) {
        op->groups[g].entries = order + off;
        off += op->groups[g].count;
        op->groups[g].count = 0;
    }
    /* sorted holds the records grouped by shard, each group at the same offset as its entries */
    for (size_t i = 0; i < n; i++) {
        sl_kput_group_t *g = &op->groups[op->entries[i].group];
        const sl_krecord_t *r = &op->records[i];
        sl_record_t *dst = &sorted[(size_t)(g->entries - order) + g->count];
        *dst = (sl_record_t){
            .arrival_ms = r->arrival_ms,
            .key = r->partition_key,
            .key_len = r->partition_key_len,
            .attributes = r->explicit_hash_key,
            .attributes_len = r->explicit_hash_key_len,
            .data = r->data,
            .data_len = r->data_len,
        };
        /* The idempotency key goes to disk with the record (kinesis/idem.h, "Durability"). */
        if (op->idem_owner && !sl_kidem_tag(op, i, &dst->attributes, &dst->attributes_len)) {
            sl_kerr_internal(&op->err, SL_ENOMEM);
            goto done;
        }
        g->bytes += r->data_len + r->partition_key_len;
        g->entries[g->count++] = i;
    }
    /* encryption at rest (crypt.c): the data goes to storage sealed under the stream's data key */
    if (s->encrypted && s->dk_current && !sl_kcrypt_seal(s, sorted, n, a)) {
        sl_kerr_internal(&op->err, SL_ENOMEM);
        goto done;
    }
    /* The groups to append go to storage as one batch with one callback (batch_cb). One extra
     * count for this call: a batch that completes before the call ends never sees pending reach
     * 0, so the last word is this function's (DONE) or the storage thread's (batch_cb). */
    op->pending = 1;
    sl_append_group_t *sgroups =
        sl_arena_alloc(a, (op->group_count ? op->group_count : 1) * sizeof *sgroups);
    sl_append_batch_t *batch = sl_arena_alloc(a, sizeof *batch);
    if (!sgroups || !batch) {
        sl_kerr_internal(&op->err, SL_ENOMEM);
        goto done;
    }
    size_t nsg = 0;
    for (size_t g = 0; g < op->group_count; g++) {
        sl_kput_group_t *gr = &op->groups[g];
        /* With thousands of shards each group's shard is a cache miss: fetched a few ahead */
        if (g + PUT_PREFETCH_AHEAD < op->group_count) {
            const sl_kshard_t *ahead = op->groups[g + PUT_PREFETCH_AHEAD].shard;
            __builtin_prefetch(&ahead->log, 0);
            __builtin_prefetch(&ahead->seq_claimed, 1);
        }
        if (gr->refused) {
            gr->status =
                gr->refused == SL_KPUT_REFUSED_THROTTLED ? SL_EAGAIN : SL_KINESIS_FAULT_STATUS;
            group_result(gr);
            continue;
        }
        /* The seqs must stay within the shard's reservation (sl_kshard_seq_claim). */
        int rc = sl_kshard_seq_claim(k, gr->shard, gr->count);
        if (rc) {
            gr->status = rc;
            if (op->single) sl_kerr_storage(&op->err, k, rc);
            group_result(gr);
            continue;
        }
        __atomic_add_fetch(&gr->shard->inflight, 1, __ATOMIC_ACQ_REL);
        /* the on-demand scaler's sample (scale.c); counted before the append, whose
         * completion may free nothing but may run at once */
        if (s->on_demand) {
            __atomic_add_fetch(&gr->shard->put_records, gr->count, __ATOMIC_RELAXED);
            __atomic_add_fetch(&gr->shard->put_bytes, gr->bytes, __ATOMIC_RELAXED);
        }
        sgroups[nsg++] = (sl_append_group_t){.log = gr->shard->log,
                                             .records = sorted + (gr->entries - order),
                                             .n = gr->count,
                                             .user = gr};
    }
    if (nsg) {
        *batch = (sl_append_batch_t){.groups = sgroups, .n = nsg, .cb = batch_cb, .arg = op};
        op->pending = 2;
        int rc = sl_storage_append_batch(k->storage, batch);
        if (rc) {
            /* nothing was queued and batch_cb never runs: every group failed at once */
            op->pending = 1;
            for (size_t i = 0; i < nsg; i++) {
                sl_kput_group_t *gr = sgroups[i].user;
                sl_kshard_seq_unclaim(gr->shard, gr->count);
                __atomic_sub_fetch(&gr->shard->inflight, 1, __ATOMIC_RELEASE);
                gr->status = sgroups[i].status ? sgroups[i].status : rc;
                if (op->single) sl_kerr_storage(&op->err, k, gr->status);
                group_result(gr);
            }
        }
    }
    sl_kinesis_unlock(k);
    if (__atomic_sub_fetch(&op->pending, 1, __ATOMIC_ACQ_REL) == 0) {
        if (op->idem_owner) sl_kidem_finish(k->idem, op);
        return SL_KINESIS_DONE;
    }
    return SL_KINESIS_PENDING;
done:
    sl_kinesis_unlock(k);
    if (op->idem_owner) sl_kidem_finish(k->idem, op);
    return SL_KINESIS_DONE;
}
