/* Kinesis data-plane operations: PutRecord, PutRecords, GetShardIterator, GetRecords. Each handler
 * decodes its input into a typed request of the Kinesis core (kinesis/kinesis.h), calls it, and
 * encodes the result; completions from storage or the reader pool are posted back to the request's
 * network loop (sl_front_post). No storage call and no engine lock here. */
#include "api/kinesis/common.h"
#include "api/kinesis/metrics.h"

#include "core/common.h"
#include "core/limits.h"
#include "core/time.h"
#include "kinesis/kinesis.h"
#include "kinesis/names.h"
#include "kinesis/seqnum.h"

#include <stdio.h>
#include <string.h>

/* ---------------------------------------------------------------------------------------------- */
/* shared */

/* The members of one record entry in a single pass over its (validated) map: PutRecords looks at
 * every entry several times, and repeated by-name lookups showed up in its profile. Null members
 * count as absent and the last occurrence of a key wins, as with sl_val_get. */
static void fill_record(const sl_val_t *rec, sl_krecord_t *out) {
    *out = (sl_krecord_t){0};
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

/* An answer held back by fault injection (kinesis/fault.h: latency_ms). */
typedef struct {
    sl_front_call_t *call;
    void (*fn)(sl_front_call_t *call);
} delayed_t;

static void delayed_fire(void *arg) {
    delayed_t *d = arg;
    d->fn(d->call);
}

/* Answers with fn(call) now, or after delay_ms on the request's loop (a timer; when the server
 * stops first, the request and its timer are dropped together). */
static void answer_after(sl_front_call_t *call, int64_t delay_ms,
                         void (*fn)(sl_front_call_t *call)) {
    delayed_t *d = delay_ms > 0 ? sl_arena_alloc(call->arena, sizeof *d) : NULL;
    if (d) {
        *d = (delayed_t){call, fn};
        if (sl_timer_start(sl_http_req_loop(call->req), (uint64_t)delay_ms, delayed_fire, d))
            return;
    }
    fn(call);
}

/* StreamName / StreamARN of the input. */
static sl_kstream_ref_t stream_ref(sl_front_call_t *call) {
    sl_kstream_ref_t r = {0};
    r.name = sl_val_get_str(call->in, "StreamName", &r.name_len);
    r.arn = sl_val_get_str(call->in, "StreamARN", &r.arn_len);
    return r;
}

/* ---------------------------------------------------------------------------------------------- */
/* PutRecord and PutRecords */

/* A put and the time its handler began (for the Latency metrics). */
typedef struct {
    sl_kput_t op;
    int64_t start_ns;
} put_call_t;

static double since_ms(int64_t start_ns) {
    return (double)(sl_time_mono_ns() - start_ns) / 1e6;
}

/* The AWS/Kinesis metrics of a finished put (metrics.h): counted only when the stream was found,
 * data bytes of the stored records only, nothing stored for a remembered (idempotent) answer. */
static void count_put(sl_front_call_t *call, const sl_kput_t *op) {
    const char *acct = sl_kinesis_account(sl_kapi_engine(call)), *stream = op->stream_name;
    if (!stream[0]) return;
    double ms = since_ms(((const put_call_t *)(const void *)op)->start_ns);
    size_t ok = 0, throttled = 0, bytes = 0;
    if (!op->err.type && !op->replayed) {
        for (size_t i = 0; i < op->count; i++) {
            const sl_kput_group_t *g = &op->groups[op->entries[i].group];
            if (g->status == 0) {
                ok++;
                bytes += op->records[i].data_len;
            } else if (g->status == SL_EAGAIN) {
                throttled++;
            }
        }
        for (size_t i = 0; op->shard_metrics && i < op->group_count; i++) {
            const sl_kput_group_t *g = &op->groups[i];
            if (g->status == SL_EAGAIN) {
                sl_metric_add(sl_kapi_shard_metric(acct, stream, g->shard_id, op->shard_metrics,
                                                   SL_KM_SHARD_WRITE_EXCEEDED),
                              g->count);
                continue;
            }
            if (g->status) continue;
            size_t gbytes = 0;
            for (size_t j = 0; j < g->count; j++)
                gbytes += op->records[g->entries[j]].data_len;
            sl_metric_add(sl_kapi_shard_metric(acct, stream, g->shard_id, op->shard_metrics,
                                               SL_KM_SHARD_INCOMING_BYTES),
                          gbytes);
            sl_metric_add(sl_kapi_shard_metric(acct, stream, g->shard_id, op->shard_metrics,
                                               SL_KM_SHARD_INCOMING_RECORDS),
                          g->count);
        }
    } else if (op->err.type == SL_KERR_THROUGHPUT_EXCEEDED) {
        throttled = 1;
    }
    sl_kapi_set_t *set = sl_kapi_stream_set(acct, stream);
    if (ok) {
        sl_metric_add(sl_kapi_set_metric(set, SL_KM_INCOMING_BYTES), bytes);
        sl_metric_add(sl_kapi_set_metric(set, SL_KM_INCOMING_RECORDS), ok);
    }
    if (throttled) sl_metric_add(sl_kapi_set_metric(set, SL_KM_WRITE_EXCEEDED), throttled);
    if (op->single) {
        if (ok) sl_metric_add(sl_kapi_set_metric(set, SL_KM_PUT_RECORD_BYTES), bytes);
        sl_metric_add(sl_kapi_set_metric(set, SL_KM_PUT_RECORD_SUCCESS), ok ? 1 : 0);
        sl_metric_observe(sl_kapi_set_metric(set, SL_KM_PUT_RECORD_LATENCY), ms);
        return;
    }
    if (!op->err.type) {
        sl_metric_add(sl_kapi_set_metric(set, SL_KM_PUT_RECORDS_BYTES), bytes);
        sl_metric_add(sl_kapi_set_metric(set, SL_KM_PUT_RECORDS_RECORDS), ok);
        sl_metric_add(sl_kapi_set_metric(set, SL_KM_PUT_RECORDS_TOTAL), op->count);
        sl_metric_add(sl_kapi_set_metric(set, SL_KM_PUT_RECORDS_SUCCESSFUL), ok);
        sl_metric_add(sl_kapi_set_metric(set, SL_KM_PUT_RECORDS_FAILED),
                      op->replayed ? 0 : op->count - ok - throttled);
        sl_metric_add(sl_kapi_set_metric(set, SL_KM_PUT_RECORDS_THROTTLED), throttled);
    }
    sl_metric_add(sl_kapi_set_metric(set, SL_KM_PUT_RECORDS_SUCCESS), ok ? 1 : 0);
    sl_metric_observe(sl_kapi_set_metric(set, SL_KM_PUT_RECORDS_LATENCY), ms);
}

static void put_record_finish(sl_front_call_t *call) {
    sl_kput_t *op = call->state;
    count_put(call, op);
    if (op->err.type) {
        sl_kapi_fail_err(call, &op->err);
        return;
    }
    const sl_kput_group_t *g = &op->groups[0];
    char seq[64];
    sl_seqnum_t sn =
        sl_kinesis_seqnum(g->shard_created_ms, g->shard_index, g->first_seq, g->arrival_ms);
    size_t seq_len = sl_seqnum_format(&sn, seq);
    sl_enc_t *e = &call->enc;
    sl_enc_map_begin(e);
    SL_ENC_KV_PLAIN(e, "ShardId", g->shard_id, g->shard_id_len);
    SL_ENC_KV_PLAIN(e, "SequenceNumber", seq, seq_len);
    if (op->encrypted) sl_enc_kv_cstr(e, "EncryptionType", "KMS");
    sl_enc_map_end(e);
    sl_front_reply(call);
}

static void put_records_finish(sl_front_call_t *call) {
    sl_kput_t *op = call->state;
    count_put(call, op);
    if (op->err.type) {
        sl_kapi_fail_err(call, &op->err);
        return;
    }
    sl_enc_t *e = &call->enc;
    /* One allocation for the whole body (an entry is about 112 bytes of JSON) instead of a dozen
     * doublings, each copying what was written so far. */
    sl_buf_reserve(e->out, op->count * 128 + 256);
    sl_enc_map_begin(e);
    sl_enc_kv_int(e, "FailedRecordCount", (int64_t)op->failed);
    sl_enc_key(e, "Records");
    sl_enc_array_begin(e);
    /* A group's records have consecutive counters, so each sequence number is printed from the
     * previous one (sl_seqnum_run_next) rather than from scratch. The runs themselves are not
     * zeroed (at thousands of shards, hundreds of them per call), only a flag per group that its
     * run has started; a group of one record (most of them there) needs none. */
    size_t ng = op->group_count ? op->group_count : 1;
    sl_seqnum_run_t *runs = sl_arena_alloc(call->arena, ng * sizeof *runs);
    bool *started = sl_arena_calloc(call->arena, ng, sizeof *started);
    if (!runs || !started) {
        sl_front_fail_internal(call, SL_ENOMEM);
        return;
    }
    for (size_t i = 0; i < op->count; i++) {
        const sl_kput_entry_t *r = &op->entries[i];
        const sl_kput_group_t *g = &op->groups[r->group];
        if (g->status == 0) {
            sl_seqnum_run_t *run = &runs[r->group];
            char one[64];
            const char *text = run->text;
            size_t len;
            if (started[r->group] && run->len && r->seq == run->cur.counter + 1) {
                len = sl_seqnum_run_next(run);
            } else {
                sl_seqnum_t sn =
                    sl_kinesis_seqnum(g->shard_created_ms, g->shard_index, r->seq, g->arrival_ms);
                if (g->count == 1) {
                    len = sl_seqnum_format(&sn, one);
                    text = one;
                } else {
                    len = sl_seqnum_run_init(run, &sn);
                    started[r->group] = true;
                }
            }
            SL_ENC_MAP_PLAIN2(e, "SequenceNumber", text, len, "ShardId", g->shard_id,
                              g->shard_id_len);
            continue;
        }
        sl_enc_map_begin(e);
        if (g->status == SL_EAGAIN) {
            sl_enc_kv_cstr(e, "ErrorCode", SL_AWS_PROVISIONED_THROUGHPUT_EXCEEDED);
            char msg[400];
            snprintf(msg, sizeof msg, "Rate exceeded for shard %s in stream %s under account %s.",
                     g->shard_id, op->stream_name, sl_kinesis_account(sl_kapi_engine(call)));
            sl_enc_kv_cstr(e, "ErrorMessage", msg);
        } else {
            sl_enc_kv_cstr(e, "ErrorCode", SL_AWS_INTERNAL_FAILURE);
            sl_enc_kv_cstr(e, "ErrorMessage", sl_aws_failure_message(g->status));
        }
        sl_enc_map_end(e);
    }
    sl_enc_array_end(e);
    if (op->encrypted) sl_enc_kv_cstr(e, "EncryptionType", "KMS");
    sl_enc_map_end(e);
    sl_front_reply(call);
}

static void put_answer(sl_front_call_t *call) {
    sl_kput_t *op = call->state;
    answer_after(call, op->delay_ms, op->single ? put_record_finish : put_records_finish);
}

static void put_cb(sl_kput_t *op) {
    sl_front_post(op->arg, put_answer);
}

static void put(sl_front_call_t *call, bool single) {
    put_call_t *pc = sl_arena_alloc(call->arena, sizeof *pc);
    sl_kput_t *op = pc ? &pc->op : NULL;
    sl_val_t *list = single ? NULL : sl_val_get(call->in, "Records");
    size_t n = single ? 1 : list ? list->u.arr.count : 0;
    sl_krecord_t *recs = sl_arena_alloc(call->arena, (n ? n : 1) * sizeof *recs);
    if (!op || !recs) {
        sl_front_fail_internal(call, SL_ENOMEM);
        return;
    }
    *op = (sl_kput_t){.stream = stream_ref(call),
                      .records = recs,
                      .count = n,
                      .single = single,
                      .now_ms = call->now_ms,
                      .arena = call->arena,
                      .cb = put_cb,
                      .arg = call};
    pc->start_ns = sl_time_mono_ns();
    if (single) {
        fill_record(call->in, &recs[0]);
        op->ordering = sl_val_get_str(call->in, "SequenceNumberForOrdering", &op->ordering_len);
    } else {
        for (size_t i = 0; i < n; i++)
            fill_record(list->u.arr.items[i], &recs[i]);
    }
    /* Sluice's extension: a retried put with the same key gets the first one's result. */
    const sl_http_header_t *idem = sl_http_req_header(call->req, "x-sluice-idempotency-key");
    if (idem) {
        bool ok = idem->value_len >= 1 && idem->value_len <= SL_KINESIS_IDEMPOTENCY_KEY_BYTES_MAX;
        for (size_t i = 0; ok && i < idem->value_len; i++)
            ok = idem->value[i] > 0x20 && idem->value[i] < 0x7f;
        if (!ok) {
            sl_front_fail(call, SL_AWS_INVALID_ARGUMENT,
                          "x-sluice-idempotency-key must be 1 to %d printable ASCII characters.",
                          SL_KINESIS_IDEMPOTENCY_KEY_BYTES_MAX);
            return;
        }
        op->idempotency_key = idem->value;
        op->idempotency_key_len = idem->value_len;
    }
    call->state = op;
    if (sl_kinesis_put(sl_kapi_engine(call), op) == SL_KINESIS_DONE) put_answer(call);
}

static void op_put_record(sl_front_call_t *call) {
    put(call, true);
}
static void op_put_records(sl_front_call_t *call) {
    put(call, false);
}

/* ---------------------------------------------------------------------------------------------- */
/* GetShardIterator */

static void get_shard_iterator_finish(sl_front_call_t *call) {
    sl_kiterator_t *op = call->state;
    if (op->err.type) {
        sl_kapi_fail_err(call, &op->err);
        return;
    }
    sl_enc_t *e = &call->enc;
    sl_enc_map_begin(e);
    sl_enc_kv_str(e, "ShardIterator", op->iterator, op->iterator_len);
    sl_enc_map_end(e);
    sl_front_reply(call);
}

static void get_shard_iterator_cb(sl_kiterator_t *op) {
    sl_front_post(op->arg, get_shard_iterator_finish);
}

/* StartingPosition / ShardIteratorType members as the core's starting position. */
sl_kstart_t sl_kapi_start(const char *type, const char *seq, size_t seq_len, const sl_val_t *ts) {
    return (sl_kstart_t){.type = sl_kstart_type_parse(type),
                         .sequence_number = seq,
                         .sequence_number_len = seq_len,
                         .has_timestamp = ts && ts->type == SL_VAL_TIMESTAMP,
                         .timestamp_ms = ts && ts->type == SL_VAL_TIMESTAMP ? ts->u.ts_ms : 0};
}

static void op_get_shard_iterator(sl_front_call_t *call) {
    sl_kiterator_t *op = sl_arena_alloc(call->arena, sizeof *op);
    if (!op) {
        sl_front_fail_internal(call, SL_ENOMEM);
        return;
    }
    size_t idlen = 0, slen = 0;
    const char *shard_id = sl_val_get_str(call->in, "ShardId", &idlen);
    const char *type = sl_val_get_str(call->in, "ShardIteratorType", NULL);
    const char *seq = sl_val_get_str(call->in, "StartingSequenceNumber", &slen);
    *op =
        (sl_kiterator_t){.stream = stream_ref(call),
                         .shard_id = shard_id,
                         .shard_id_len = idlen,
                         .start = sl_kapi_start(type, seq, slen, sl_val_get(call->in, "Timestamp")),
                         .op_name = "GetShardIterator",
                         .limited = true,
                         .now_ms = call->now_ms,
                         .cb = get_shard_iterator_cb,
                         .arg = call};
    call->state = op;
    if (sl_kinesis_shard_iterator(sl_kapi_engine(call), op) == SL_KINESIS_DONE)
        get_shard_iterator_finish(call);
}

/* ---------------------------------------------------------------------------------------------- */
/* GetRecords */

typedef struct {
    sl_kread_t op;
    int64_t start_ns;
} get_call_t;

/* The AWS/Kinesis metrics of a finished GetRecords whose iterator named a stream. */
static void count_get(sl_front_call_t *call, const sl_kread_t *op) {
    const char *acct = sl_kinesis_account(sl_kapi_engine(call)), *stream = op->reader.stream;
    if (!stream[0] || op->gone) return;
    char shard[24];
    sl_shardid_format(op->reader.shard_index, shard);
    if (op->err.type == SL_KERR_THROUGHPUT_EXCEEDED) {
        sl_metric_add(sl_kapi_metric(acct, stream, SL_KM_READ_EXCEEDED), 1);
        sl_metric_add(
            sl_kapi_shard_metric(acct, stream, shard, op->shard_metrics, SL_KM_SHARD_READ_EXCEEDED),
            1);
    }
    if (op->err.type) {
        sl_metric_add(sl_kapi_metric(acct, stream, SL_KM_GET_RECORDS_SUCCESS), 0);
        return;
    }
    size_t bytes = 0;
    for (size_t i = 0; i < op->count; i++)
        bytes += op->records[i].data_len;
    int64_t age = op->count ? call->now_ms - op->records[op->count - 1].arrival_ms : 0;
    if (age < 0) age = 0;
    sl_metric_add(sl_kapi_metric(acct, stream, SL_KM_GET_RECORDS_BYTES), bytes);
    sl_metric_add(sl_kapi_metric(acct, stream, SL_KM_GET_RECORDS_RECORDS), op->count);
    sl_metric_add(sl_kapi_metric(acct, stream, SL_KM_GET_RECORDS_SUCCESS), 1);
    sl_metric_set(sl_kapi_metric(acct, stream, SL_KM_GET_RECORDS_AGE), age);
    sl_metric_observe(sl_kapi_metric(acct, stream, SL_KM_GET_RECORDS_LATENCY),
                      since_ms(((const get_call_t *)(const void *)op)->start_ns));
    unsigned on = op->shard_metrics;
    if (on) {
        sl_metric_add(sl_kapi_shard_metric(acct, stream, shard, on, SL_KM_SHARD_OUTGOING_BYTES),
                      bytes);
        sl_metric_add(sl_kapi_shard_metric(acct, stream, shard, on, SL_KM_SHARD_OUTGOING_RECORDS),
                      op->count);
        sl_metric_set(sl_kapi_shard_metric(acct, stream, shard, on, SL_KM_SHARD_ITERATOR_AGE), age);
    }
}

static void get_records_finish(sl_front_call_t *call) {
    sl_kread_t *op = call->state;
    sl_kinesis_t *k = sl_kapi_engine(call);
    count_get(call, op);
    if (op->err.type) {
        sl_kread_release(op);
        sl_kapi_fail_err(call, &op->err);
        return;
    }
    sl_enc_t *e = &call->enc;
    sl_buf_reserve(&call->out, op->bytes * 4 / 3 + op->count * 200 + 1024);
    sl_enc_map_begin(e);
    sl_kapi_encode_records(e, op, op->encrypted);
    if (op->shard_ended) {
        sl_kapi_encode_children(e, op->children, op->child_count);
    } else {
        sl_kreader_t next = op->reader;
        next.position = op->next_position;
        char buf[SL_TOKEN_ITERATOR_CHARS_MAX + 1];
        int n = sl_kinesis_iterator_seal(k, &next, call->now_ms, buf);
        if (n > 0) sl_enc_kv_str(e, "NextShardIterator", buf, (size_t)n);
    }
    sl_enc_kv_int(e, "MillisBehindLatest", op->millis_behind);
    sl_enc_map_end(e);
    sl_kread_release(op);
    sl_front_reply(call);
}

static void get_records_answer(sl_front_call_t *call) {
    sl_kread_t *op = call->state;
    answer_after(call, op->delay_ms, get_records_finish);
}

static void get_records_cb(sl_kread_t *op) {
    sl_front_post(op->arg, get_records_answer);
}

static void op_get_records(sl_front_call_t *call) {
    get_call_t *gc = sl_arena_alloc(call->arena, sizeof *gc);
    sl_kread_t *op = gc ? &gc->op : NULL;
    if (!op) {
        sl_front_fail_internal(call, SL_ENOMEM);
        return;
    }
    size_t len = 0;
    const char *text = sl_val_get_str(call->in, "ShardIterator", &len);
    int64_t limit = SL_KINESIS_GET_RECORDS_MAX;
    sl_val_get_int(call->in, "Limit", &limit);
    *op = (sl_kread_t){.records_max = (size_t)limit,
                       .bytes_max = SL_KINESIS_GET_RECORDS_BYTES_MAX,
                       .now_ms = call->now_ms,
                       .cb = get_records_cb,
                       .arg = call};
    gc->start_ns = sl_time_mono_ns();
    op->stream_arn = sl_val_get_str(call->in, "StreamARN", &op->stream_arn_len);
    call->state = op;
    if (!sl_kinesis_iterator_open(sl_kapi_engine(call), text, len, call->now_ms, &op->reader,
                                  &op->err)) {
        sl_kapi_fail_err(call, &op->err);
        return;
    }
    if (sl_kinesis_read(sl_kapi_engine(call), op) == SL_KINESIS_DONE) get_records_answer(call);
}

void sl_kapi_data_ops(const char *name, sl_front_op_fn *fn) {
    if (!strcmp(name, "PutRecord"))
        *fn = op_put_record;
    else if (!strcmp(name, "PutRecords"))
        *fn = op_put_records;
    else if (!strcmp(name, "GetShardIterator"))
        *fn = op_get_shard_iterator;
    else if (!strcmp(name, "GetRecords"))
        *fn = op_get_records;
}
