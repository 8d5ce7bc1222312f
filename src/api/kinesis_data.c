/* Kinesis data-plane operations: PutRecord, PutRecords, GetShardIterator, GetRecords.
 * Appends are handed to storage under the engine's read lock and acknowledged from the storage
 * commit callback (posted back to the request's network loop), so a response is only sent once
 * the records are durable under the configured policy. */
#include "api/kinesis_common.h"

#include "core/common.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/time.h"
#include "kinesis/names.h"
#include "kinesis/seqnum.h"
#include "kinesis/token.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* ---------------------------------------------------------------------------------------------- */
/* shared */

static bool writable(sl_api_call_t *call, sl_kstream_t *s) {
    sl_kstatus_t st = sl_kstream_status(s, call->now_ms);
    if (st == SL_KS_ACTIVE || st == SL_KS_UPDATING) return true;
    sl_kapi_not_found(call, s->name, strlen(s->name));
    return false;
}

/* The members of one record entry in a single pass over its (validated) map: PutRecords looks at
 * every entry several times, and repeated by-name lookups showed up in its profile. Null members
 * count as absent and the last occurrence of a key wins, as with sl_val_get. */
static void fill_record(const sl_val_t *rec, int64_t arrival_ms, sl_record_t *out) {
    *out = (sl_record_t){.arrival_ms = arrival_ms};
    for (size_t i = 0; i < rec->u.map.count; i++) {
        const sl_kv_t *kv = &rec->u.map.items[i];
        const sl_val_t *v = kv->val;
        bool set = v && v->type != SL_VAL_NULL;
        if (kv->key_len == 4 && memcmp(kv->key, "Data", 4) == 0) {
            out->data = set ? (const uint8_t *)v->u.str.ptr : NULL;
            out->data_len = set ? v->u.str.len : 0;
        } else if (kv->key_len == 12 && memcmp(kv->key, "PartitionKey", 12) == 0) {
            out->partition_key = set ? v->u.str.ptr : NULL;
            out->partition_key_len = set ? v->u.str.len : 0;
        } else if (kv->key_len == 15 && memcmp(kv->key, "ExplicitHashKey", 15) == 0) {
            out->explicit_hash_key = set ? v->u.str.ptr : NULL;
            out->explicit_hash_key_len = set ? v->u.str.len : 0;
        }
    }
}

/* Hash of a record: ExplicitHashKey when given, else MD5 of the partition key. Sends the error. */
static bool record_hash(sl_api_call_t *call, const sl_record_t *r, sl_u128_t *hash) {
    if (r->explicit_hash_key) {
        if (sl_hashkey_parse(r->explicit_hash_key, r->explicit_hash_key_len, hash) != 0) {
            sl_api_fail(call, "InvalidArgumentException",
                        "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. Specified "
                        "value was %.*s",
                        (int)r->explicit_hash_key_len, r->explicit_hash_key);
            return false;
        }
        return true;
    }
    *hash = sl_hashkey_of_partition_key(r->partition_key, r->partition_key_len);
    return true;
}

/* `index` is the 1-based position in PutRecords' Records, 0 for PutRecord (path of the error). */
static bool record_fits(sl_api_call_t *call, sl_kstream_t *s, const sl_record_t *r, size_t index) {
    size_t dlen = r->data_len, plen = r->partition_key_len;
    size_t max = (size_t)s->max_record_size_kib * 1024;
    if (dlen > max) {
        char path[48] = "data";
        if (index) snprintf(path, sizeof path, "records.%zu.member.data", index);
        sl_api_fail(call, "ValidationException",
                    "1 validation error detected: Value 'java.nio.HeapByteBuffer[pos=0 lim=%zu cap=%zu]' at '%s' "
                    "failed to satisfy constraint: Member must have length less than or equal to %zu",
                    dlen, dlen, path, max);
        return false;
    }
    if (dlen + plen > max) {
        sl_api_fail(call, "InvalidArgumentException",
                    "Record size %zu bytes (data plus partition key) exceeds the maximum record size of %d KiB of "
                    "stream %s under account %s.",
                    dlen + plen, s->max_record_size_kib, s->name, call->k->account);
        return false;
    }
    return true;
}

/* ---------------------------------------------------------------------------------------------- */
/* PutRecord */

typedef struct {
    char shard_id[24];
    int64_t shard_created_ms;
    uint32_t shard_index;
    sl_kshard_t *shard;    /* for the in-flight count; stays valid until this append completes */
    int64_t arrival_ms;
    bool encrypted;
    int status;
    uint64_t first_seq;
} put_state_t;

static void storage_error(sl_api_call_t *call, int rc);

static void put_record_finish(sl_api_call_t *call) {
    put_state_t *st = call->state;
    if (st->status != 0) {
        SL_WARN("PutRecord to %s failed in storage: %s", st->shard_id, sl_strerror(st->status));
        storage_error(call, st->status);
        return;
    }
    char seq[64];
    size_t seq_len = sl_kapi_format_seq(st->shard_created_ms, st->shard_index, st->first_seq,
                                        st->arrival_ms, seq);
    sl_enc_t *e = &call->enc;
    sl_enc_map_begin(e);
    SL_ENC_KV_PLAIN(e, "ShardId", st->shard_id, strlen(st->shard_id));
    SL_ENC_KV_PLAIN(e, "SequenceNumber", seq, seq_len);
    if (st->encrypted) sl_enc_kv_cstr(e, "EncryptionType", "KMS");
    sl_enc_map_end(e);
    sl_api_reply(call);
}

static void put_record_cb(void *arg, int status, uint64_t first_seq, int64_t arrival_ms) {
    sl_api_call_t *call = arg;
    put_state_t *st = call->state;
    st->status = status;
    st->first_seq = first_seq;
    st->arrival_ms = arrival_ms; /* the time storage kept, which reads serve: max(request, previous) */
    __atomic_sub_fetch(&st->shard->inflight, 1, __ATOMIC_RELEASE);
    sl_api_post(call, put_record_finish);
}

/* The one mapping of storage failures to AWS errors (PutRecord, GetRecords; PutRecords entries
 * do the same per group): back-pressure (a full write queue, no file descriptor left) is the
 * throttling error clients retry with backoff; anything else is an internal failure whose message
 * names the cause (sl_aws_failure_message). */
static void storage_error(sl_api_call_t *call, int rc) {
    if (rc == SL_EAGAIN)
        sl_api_fail(call, "ProvisionedThroughputExceededException",
                    "Rate exceeded for shard in stream under account %s: the storage write queue is full.",
                    call->k->account);
    else
        sl_api_fail_internal(call, rc);
}

static void op_put_record(sl_api_call_t *call) {
    sl_kinesis_t *k = call->k;
    put_state_t *st = sl_arena_calloc(call->arena, 1, sizeof *st);
    if (!st) {
        sl_api_fail_internal(call, SL_ENOMEM);
        return;
    }
    call->state = st;
    sl_kinesis_rdlock(k);
    sl_kstream_t *s = sl_kapi_stream(call);
    if (!s || !writable(call, s)) goto out;
    sl_record_t rec;
    fill_record(call->in, call->now_ms, &rec);
    sl_u128_t hash;
    if (!record_hash(call, &rec, &hash)) goto out;
    if (!record_fits(call, s, &rec, 0)) goto out;
    size_t olen = 0;
    const char *order = sl_val_get_str(call->in, "SequenceNumberForOrdering", &olen);
    if (order) {
        sl_seqnum_t sn;
        if (sl_seqnum_parse(order, olen, &sn) != 0 || sn.record_s * 1000 > call->now_ms + 1000) {
            sl_api_fail(call, "InvalidArgumentException",
                        "ExclusiveMinimumSequenceNumber %.*s used in PutRecord on stream %s under account %s is "
                        "invalid.",
                        (int)olen, order, s->name, k->account);
            goto out;
        }
    }
    sl_kshard_t *sh = sl_kstream_route(s, hash);
    if (!sh || !sh->log) {
        sl_api_fail_internal(call, SL_EINVAL);
        goto out;
    }
    memcpy(st->shard_id, sh->id, sizeof st->shard_id);
    st->shard_created_ms = sh->created_ms;
    st->shard_index = sh->index;
    st->arrival_ms = call->now_ms;
    st->encrypted = s->encrypted;
    st->shard = sh;
    __atomic_add_fetch(&sh->inflight, 1, __ATOMIC_ACQ_REL);
    int rc = sl_storage_append(sh->log, &rec, 1, put_record_cb, call);
    if (rc) {
        __atomic_sub_fetch(&sh->inflight, 1, __ATOMIC_RELEASE);
        storage_error(call, rc);
    }
out:
    sl_kinesis_unlock(k);
}

/* ---------------------------------------------------------------------------------------------- */
/* PutRecords: entries are grouped by shard, one append per shard (keeping request order within a
 * shard); the response is sent when the last group's append completes. */

typedef struct {
    int32_t shard_slot;    /* index into groups */
    uint64_t seq;
    int status;            /* 0 ok */
} entry_result_t;

typedef struct {
    char shard_id[24];
    size_t shard_id_len;
    int64_t shard_created_ms;
    uint32_t shard_index;
    sl_shard_log_t *log;
    sl_kshard_t *shard;    /* for the in-flight count; valid until this group's append completes */
    size_t count;
    size_t *entries;       /* request indexes in this group */
    int status;
    uint64_t first_seq;
    int64_t arrival_ms;    /* assigned by storage to every record of the group (they share a request time) */
    sl_api_call_t *call;
    /* Response: the group's entries have consecutive counters, so each sequence number is printed
     * from the previous one (sl_seqnum_run_next) rather than from scratch. */
    sl_seqnum_run_t run;
    bool run_started;
} group_t;

typedef struct {
    size_t n;
    entry_result_t *results;
    group_t *groups;
    size_t group_count;
    int pending;           /* groups not yet completed; atomically decremented */
    int64_t arrival_ms;
    bool encrypted;
    char stream_name[129];
} puts_state_t;

static void put_records_finish(sl_api_call_t *call) {
    puts_state_t *st = call->state;
    size_t failed = 0;
    for (size_t g = 0; g < st->group_count; g++)
        if (st->groups[g].status) failed += st->groups[g].count;
    sl_enc_t *e = &call->enc;
    /* One allocation for the whole body (an entry is about 112 bytes of JSON) instead of a dozen
     * doublings, each copying what was written so far. */
    sl_buf_reserve(e->out, st->n * 128 + 256);
    sl_enc_map_begin(e);
    sl_enc_kv_int(e, "FailedRecordCount", (int64_t)failed);
    sl_enc_key(e, "Records");
    sl_enc_array_begin(e);
    for (size_t i = 0; i < st->n; i++) {
        entry_result_t *r = &st->results[i];
        group_t *g = &st->groups[r->shard_slot];
        sl_enc_map_begin(e);
        if (g->status == 0) {
            if (g->run_started && r->seq == g->run.cur.counter + 1) {
                sl_seqnum_run_next(&g->run);
            } else {
                sl_seqnum_t sn = sl_kapi_seqnum(g->shard_created_ms, g->shard_index, r->seq, g->arrival_ms);
                sl_seqnum_run_init(&g->run, &sn);
                g->run_started = true;
            }
            SL_ENC_KV_PLAIN(e, "SequenceNumber", g->run.text, g->run.len);
            SL_ENC_KV_PLAIN(e, "ShardId", g->shard_id, g->shard_id_len);
        } else if (g->status == SL_EAGAIN) {
            sl_enc_kv_cstr(e, "ErrorCode", "ProvisionedThroughputExceededException");
            char msg[400];
            snprintf(msg, sizeof msg, "Rate exceeded for shard %s in stream %s under account %s.", g->shard_id,
                     st->stream_name, call->k->account);
            sl_enc_kv_cstr(e, "ErrorMessage", msg);
        } else {
            sl_enc_kv_cstr(e, "ErrorCode", SL_AWS_INTERNAL_FAILURE);
            sl_enc_kv_cstr(e, "ErrorMessage", sl_aws_failure_message(g->status));
        }
        sl_enc_map_end(e);
    }
    sl_enc_array_end(e);
    if (st->encrypted) sl_enc_kv_cstr(e, "EncryptionType", "KMS");
    sl_enc_map_end(e);
    sl_api_reply(call);
}

static void put_records_group_done(group_t *g) {
    puts_state_t *st = g->call->state;
    if (g->status == 0)
        for (size_t j = 0; j < g->count; j++) st->results[g->entries[j]].seq = g->first_seq + j;
    if (__atomic_sub_fetch(&st->pending, 1, __ATOMIC_ACQ_REL) == 0) sl_api_post(g->call, put_records_finish);
}

static void put_records_cb(void *arg, int status, uint64_t first_seq, int64_t arrival_ms) {
    group_t *g = arg;
    g->status = status;
    g->first_seq = first_seq;
    g->arrival_ms = arrival_ms;
    __atomic_sub_fetch(&g->shard->inflight, 1, __ATOMIC_RELEASE);
    if (status) SL_WARN("PutRecords to %s failed in storage: %s", g->shard_id, sl_strerror(status));
    put_records_group_done(g);
}

static void op_put_records(sl_api_call_t *call) {
    sl_kinesis_t *k = call->k;
    sl_val_t *list = sl_val_get(call->in, "Records");
    size_t n = list ? list->u.arr.count : 0;
    puts_state_t *st = sl_arena_calloc(call->arena, 1, sizeof *st);
    if (!st) goto oom;
    st->n = n;
    /* Every field of results, order and recs is written before it is read, so they are not
     * zeroed; groups (one per shard, sized once the stream is known) are. */
    st->results = sl_arena_alloc(call->arena, (n ? n : 1) * sizeof *st->results);
    size_t *order = sl_arena_alloc(call->arena, (n ? n : 1) * sizeof *order);
    sl_record_t *recs = sl_arena_alloc(call->arena, (n ? n : 1) * sizeof *recs);
    if (!st->results || !order || !recs) goto oom;
    call->state = st;
    st->arrival_ms = call->now_ms;

    sl_kinesis_rdlock(k);
    sl_kstream_t *s = sl_kapi_stream(call);
    if (!s || !writable(call, s)) goto out;
    snprintf(st->stream_name, sizeof st->stream_name, "%s", s->name);
    st->encrypted = s->encrypted;
    /* validate and route every entry before anything is appended: a bad entry fails the call */
    size_t total = 0;
    /* routing picks one of the stream's shards, so there are at most this many groups */
    size_t groups_max = n < s->shard_count ? n : s->shard_count;
    st->groups = sl_arena_calloc(call->arena, groups_max ? groups_max : 1, sizeof *st->groups);
    sl_kshard_t **route = sl_arena_alloc(call->arena, (n ? n : 1) * sizeof *route);
    sl_record_t *all = sl_arena_alloc(call->arena, (n ? n : 1) * sizeof *all);
    if (!st->groups || !route || !all) {
        sl_api_fail_internal(call, SL_ENOMEM);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        fill_record(list->u.arr.items[i], call->now_ms, &all[i]);
        sl_u128_t hash;
        if (!record_hash(call, &all[i], &hash)) goto out;
        if (!record_fits(call, s, &all[i], i + 1)) goto out;
        total += all[i].data_len + all[i].partition_key_len;
        route[i] = sl_kstream_route(s, hash);
        if (!route[i] || !route[i]->log) {
            sl_api_fail_internal(call, SL_EINVAL);
            goto out;
        }
    }
    if (total > SL_KINESIS_PUT_RECORDS_BYTES_MAX) {
        sl_api_fail(call, "InvalidArgumentException", "Records size exceeds 10 MB limit");
        goto out;
    }
    /* group by shard, keeping request order inside each group; a small open-addressing table
     * finds a shard's group (a batch may touch hundreds of shards) */
    size_t hcap = 16;
    while (hcap < 2 * groups_max) hcap <<= 1;
    sl_kshard_t **hkey = sl_arena_calloc(call->arena, hcap, sizeof *hkey);
    int32_t *hslot = sl_arena_alloc(call->arena, hcap * sizeof *hslot);
    if (!hkey || !hslot) {
        sl_api_fail_internal(call, SL_ENOMEM);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        size_t h = (size_t)(((uintptr_t)route[i] >> 4) * 0x9E3779B97F4A7C15ull >> 20) & (hcap - 1);
        while (hkey[h] && hkey[h] != route[i]) h = (h + 1) & (hcap - 1);
        size_t g = hkey[h] ? (size_t)hslot[h] : st->group_count;
        if (g == st->group_count) {
            hkey[h] = route[i];
            hslot[h] = (int32_t)g;
            SL_ASSERT(g < groups_max);
            group_t *gr = &st->groups[st->group_count++];
            memcpy(gr->shard_id, route[i]->id, sizeof gr->shard_id);
            gr->shard_id_len = strlen(gr->shard_id);
            gr->shard_created_ms = route[i]->created_ms;
            gr->shard_index = route[i]->index;
            gr->log = route[i]->log;
            gr->shard = route[i];
            gr->call = call;
        }
        st->results[i].shard_slot = (int32_t)g;
        st->groups[g].count++;
    }
    size_t off = 0;
    for (size_t g = 0; g < st->group_count; g++) {
        st->groups[g].entries = order + off;
        off += st->groups[g].count;
        st->groups[g].count = 0;
    }
    /* recs holds the records grouped by shard, each group at the same offset as its entries */
    for (size_t i = 0; i < n; i++) {
        group_t *g = &st->groups[st->results[i].shard_slot];
        recs[(size_t)(g->entries - order) + g->count] = all[i];
        g->entries[g->count++] = i;
    }
    st->pending = (int)st->group_count;
    for (size_t g = 0; g < st->group_count; g++) {
        group_t *gr = &st->groups[g];
        __atomic_add_fetch(&gr->shard->inflight, 1, __ATOMIC_ACQ_REL);
        int rc = sl_storage_append(gr->log, recs + (gr->entries - order), gr->count, put_records_cb, gr);
        if (rc) {
            __atomic_sub_fetch(&gr->shard->inflight, 1, __ATOMIC_RELEASE);
            gr->status = rc;
            put_records_group_done(gr);
        }
    }
out:
    sl_kinesis_unlock(k);
    return;
oom:
    sl_api_fail_internal(call, SL_ENOMEM);
}

/* ---------------------------------------------------------------------------------------------- */
/* GetShardIterator */

static sl_kshard_t *shard_arg(sl_api_call_t *call, sl_kstream_t *s, const char *id, size_t len) {
    uint32_t index;
    if (sl_shardid_parse(id, len, &index) != 0) {
        sl_api_fail(call, "ResourceNotFoundException", "Could not find shard %.*s in stream %s under account %s.",
                    (int)len, id, s->name, call->k->account);
        return NULL;
    }
    sl_kshard_t *sh = sl_kstream_shard(s, index);
    if (!sh || sl_kapi_shard_expired(s, sh, call->now_ms)) {
        char norm[24];
        sl_shardid_format(index, norm);
        sl_api_fail(call, "ResourceNotFoundException", "Shard %s in stream %s under account %s does not exist", norm,
                    s->name, call->k->account);
        return NULL;
    }
    return sh;
}

sl_kshard_t *sl_kapi_shard(sl_api_call_t *call, sl_kstream_t *s, const char *id, size_t len) {
    return shard_arg(call, s, id, len);
}

bool sl_kapi_start_position(sl_api_call_t *call, sl_kstream_t *s, sl_kshard_t *sh, const char *op, const char *type,
                            const char *seq, size_t slen, const sl_val_t *ts, uint64_t *position_out) {
    sl_kinesis_t *k = call->k;
    bool at = strcmp(type, "AT_SEQUENCE_NUMBER") == 0, after = strcmp(type, "AFTER_SEQUENCE_NUMBER") == 0;
    bool horizon = strcmp(type, "TRIM_HORIZON") == 0, latest = strcmp(type, "LATEST") == 0;
    if ((at || after) && !seq) {
        sl_api_fail(call, "InvalidArgumentException",
                    "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and StartingSequenceNumber "
                    "or (2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. Request specified %s and no "
                    "StartingSequenceNumber.",
                    type);
        return false;
    }
    if ((horizon || latest) && seq) {
        sl_api_fail(call, "InvalidArgumentException",
                    "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and StartingSequenceNumber "
                    "or (2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. Request specified %s and also a "
                    "StartingSequenceNumber.",
                    type);
        return false;
    }
    uint64_t position = 0;
    sl_shard_bounds_t b;
    if (sl_storage_bounds(sh->log, &b) != 0) {
        sl_api_fail_internal(call, SL_EIO);
        return false;
    }
    if (latest) {
        position = b.next_seq;
    } else if (at || after) {
        sl_seqnum_t sn;
        if (sl_seqnum_parse(seq, slen, &sn) != 0) {
            sl_api_fail(call, "InvalidArgumentException",
                        "StartingSequenceNumber %.*s used in %s on shard %s in stream %s under account %s is invalid.",
                        (int)slen, seq, op, sh->id, s->name, k->account);
            return false;
        }
        if (sn.shard_index != sh->index) {
            char other[24];
            sl_shardid_format(sn.shard_index, other);
            sl_api_fail(call, "InvalidArgumentException",
                        "Invalid StartingSequenceNumber. It encodes %s, while it was used in a call to a shard with %s",
                        other, sh->id);
            return false;
        }
        if (sn.version != 2 || sn.shard_created_s != sh->created_ms / 1000) {
            sl_api_fail(call, "InvalidArgumentException",
                        "StartingSequenceNumber %.*s used in %s on shard %s in stream %s under account %s is invalid "
                        "because it did not come from this stream.",
                        (int)slen, seq, op, sh->id, s->name, k->account);
            return false;
        }
        position = after ? sn.counter + 1 : sn.counter;
    } else if (!horizon) { /* AT_TIMESTAMP */
        if (!ts || ts->type != SL_VAL_TIMESTAMP) {
            sl_api_fail(call, "InvalidArgumentException",
                        "Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP. Current request "
                        "has no timestamp parameter.");
            return false;
        }
        if (ts->u.ts_ms > call->now_ms) {
            sl_api_fail(call, "InvalidArgumentException",
                        "The timestampInMillis parameter cannot be greater than the currentTimestampInMillis. "
                        "timestampInMillis: %lld, currentTimestampInMillis: %lld",
                        (long long)ts->u.ts_ms, (long long)call->now_ms);
            return false;
        }
        if (sl_storage_seek_time(sh->log, ts->u.ts_ms, &position) != 0) {
            sl_api_fail_internal(call, SL_EIO);
            return false;
        }
    }
    *position_out = position;
    return true;
}

static void op_get_shard_iterator(sl_api_call_t *call) {
    sl_kinesis_t *k = call->k;
    size_t idlen = 0, slen = 0;
    const char *shard_id = sl_val_get_str(call->in, "ShardId", &idlen);
    const char *type = sl_val_get_str(call->in, "ShardIteratorType", NULL);
    const char *seq = sl_val_get_str(call->in, "StartingSequenceNumber", &slen);
    sl_val_t *ts = sl_val_get(call->in, "Timestamp");
    sl_kinesis_rdlock(k);
    size_t nlen = 0;
    const char *name = sl_val_get_str(call->in, "StreamName", &nlen);
    sl_kstream_t *s = NULL;
    if (name && !sl_val_get(call->in, "StreamARN")) {
        /* AWS names the shard, not the stream, when the stream does not exist */
        s = sl_kinesis_find(k, name, nlen, call->now_ms);
        if (!s) {
            uint32_t index;
            char norm[24];
            if (sl_shardid_parse(shard_id, idlen, &index) == 0) sl_shardid_format(index, norm);
            else snprintf(norm, sizeof norm, "%.*s", (int)SL_MIN(idlen, 23), shard_id);
            sl_api_fail(call, "ResourceNotFoundException", "Shard %s in stream %.*s under account %s does not exist",
                        norm, (int)nlen, name, k->account);
            goto out;
        }
    } else {
        s = sl_kapi_stream(call);
    }
    if (!s) goto out;
    sl_kshard_t *sh = shard_arg(call, s, shard_id, idlen);
    if (!sh) goto out;
    uint64_t position = 0;
    if (!sl_kapi_start_position(call, s, sh, "GetShardIterator", type, seq, slen, ts, &position)) goto out;
    sl_iterator_t it = {.stream_created_ms = s->created_ms, .shard_index = sh->index, .position = position,
                        .issued_ms = call->now_ms};
    snprintf(it.stream_name, sizeof it.stream_name, "%s", s->name);
    char buf[600];
    int n = sl_iterator_encode(k->token_key, &it, buf, sizeof buf);
    if (n <= 0) {
        sl_api_fail_internal(call, SL_EINVAL);
        goto out;
    }
    sl_enc_t *e = &call->enc;
    sl_enc_map_begin(e);
    sl_enc_kv_str(e, "ShardIterator", buf, (size_t)n);
    sl_enc_map_end(e);
    sl_api_reply(call);
out:
    sl_kinesis_unlock(k);
}

/* ---------------------------------------------------------------------------------------------- */
/* GetRecords */

typedef struct {
    sl_iterator_t it;
    int status;
    sl_read_result_t *res;
} get_state_t;

/* Java's Date.toString() in UTC, as AWS prints it: "Thu Jan 22 01:22:02 UTC 2015". */
static void java_date(int64_t ms, char out[40]) {
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 40, "%a %b %d %H:%M:%S UTC %Y", &tm);
}

static void get_records_finish(sl_api_call_t *call) {
    get_state_t *st = call->state;
    sl_kinesis_t *k = call->k;
    sl_read_result_t *res = st->res;
    if (st->status != 0 || !res) {
        if (res) sl_storage_read_free(res);
        storage_error(call, st->status ? st->status : SL_ENOMEM);
        return;
    }
    sl_kinesis_rdlock(k);
    sl_kstream_t *s = sl_kinesis_find(k, st->it.stream_name, strlen(st->it.stream_name), call->now_ms);
    sl_kshard_t *sh = s && s->created_ms == st->it.stream_created_ms ? sl_kstream_shard(s, st->it.shard_index) : NULL;
    if (!sh) {
        sl_kinesis_unlock(k);
        sl_storage_read_free(res);
        sl_kapi_not_found(call, st->it.stream_name, strlen(st->it.stream_name));
        return;
    }
    sl_enc_t *e = &call->enc;
    sl_buf_reserve(&call->out, res->bytes * 4 / 3 + res->count * 200 + 1024);
    sl_enc_map_begin(e);
    sl_kapi_encode_records(e, res, sh->created_ms, sh->index, s->encrypted);
    bool caught_up = res->next_seq >= res->bounds.next_seq;
    int64_t behind = 0;
    if (!caught_up && res->count) behind = res->bounds.last_arrival_ms - res->records[res->count - 1].arrival_ms;
    if (behind < 0) behind = 0;
    if (sl_kshard_ended(sh, caught_up)) {
        sl_kapi_encode_child_shards(call, s, sh);
    } else {
        sl_iterator_t next = st->it;
        next.position = res->next_seq;
        next.issued_ms = call->now_ms;
        char buf[600];
        int n = sl_iterator_encode(k->token_key, &next, buf, sizeof buf);
        if (n > 0) sl_enc_kv_str(e, "NextShardIterator", buf, (size_t)n);
    }
    sl_enc_kv_int(e, "MillisBehindLatest", behind);
    sl_enc_map_end(e);
    sl_kinesis_unlock(k);
    sl_storage_read_free(res);
    sl_api_reply(call);
}

static void get_records_cb(void *arg, int status, sl_read_result_t *res) {
    sl_api_call_t *call = arg;
    get_state_t *st = call->state;
    st->status = status;
    st->res = res;
    sl_api_post(call, get_records_finish);
}

static void op_get_records(sl_api_call_t *call) {
    sl_kinesis_t *k = call->k;
    size_t len = 0;
    const char *text = sl_val_get_str(call->in, "ShardIterator", &len);
    int64_t limit = SL_KINESIS_GET_RECORDS_MAX;
    sl_val_get_int(call->in, "Limit", &limit);
    get_state_t *st = sl_arena_calloc(call->arena, 1, sizeof *st);
    if (!st) {
        sl_api_fail_internal(call, SL_ENOMEM);
        return;
    }
    call->state = st;
    if (sl_iterator_decode(k->token_key, text, len, &st->it) != 0) {
        sl_api_fail(call, "InvalidArgumentException", "Invalid ShardIterator.");
        return;
    }
    if (call->now_ms - st->it.issued_ms > k->cfg.iterator_ttl_ms) {
        char created[40], now[40];
        java_date(st->it.issued_ms, created);
        java_date(call->now_ms, now);
        sl_api_fail(call, "ExpiredIteratorException",
                    "Iterator expired. The iterator was created at time %s while right now it is %s which is further "
                    "in the future than the tolerated delay of %d milliseconds.",
                    created, now, (int)k->cfg.iterator_ttl_ms);
        return;
    }
    size_t alen = 0;
    const char *arn = sl_val_get_str(call->in, "StreamARN", &alen);
    sl_kinesis_rdlock(k);
    sl_kstream_t *s = sl_kinesis_find(k, st->it.stream_name, strlen(st->it.stream_name), call->now_ms);
    if (!s || s->created_ms != st->it.stream_created_ms) {
        char id[24];
        sl_shardid_format(st->it.shard_index, id);
        sl_api_fail(call, "ResourceNotFoundException", "Shard %s in stream %s under account %s does not exist", id,
                    st->it.stream_name, k->account);
        goto out;
    }
    if (arn && (strlen(s->arn) != alen || memcmp(s->arn, arn, alen) != 0)) {
        sl_api_fail(call, "InvalidArgumentException", "StreamARN %.*s does not match the stream of the ShardIterator.",
                    (int)alen, arn);
        goto out;
    }
    sl_kshard_t *sh = sl_kstream_shard(s, st->it.shard_index);
    if (!sh || !sh->log) {
        char id[24];
        sl_shardid_format(st->it.shard_index, id);
        sl_api_fail(call, "ResourceNotFoundException", "Shard %s in stream %s under account %s does not exist", id,
                    s->name, k->account);
        goto out;
    }
    int64_t cutoff = call->now_ms - (int64_t)s->retention_hours * 3600000;
    /* The read lock keeps the log open during the call (the callback only posts to the loop);
     * get_records_finish looks the shard up again. */
    int rc = sl_storage_read(sh->log, st->it.position, (size_t)limit, SL_KINESIS_GET_RECORDS_BYTES_MAX, cutoff,
                             get_records_cb, call);
    if (rc) storage_error(call, rc);
out:
    sl_kinesis_unlock(k);
}

void sl_kapi_data_ops(const char *name, sl_api_op_fn *fn) {
    if (!strcmp(name, "PutRecord")) *fn = op_put_record;
    else if (!strcmp(name, "PutRecords")) *fn = op_put_records;
    else if (!strcmp(name, "GetShardIterator")) *fn = op_get_shard_iterator;
    else if (!strcmp(name, "GetRecords")) *fn = op_get_records;
}
