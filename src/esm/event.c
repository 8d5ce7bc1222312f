/* The Kinesis event, the function's response, and OnFailure records (see event.h). */
#include "esm/event.h"

#include "core/common.h"
#include "core/log.h"
#include "core/time.h"
#include "wire/enc.h"
#include "wire/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void sl_esm_iso_time(int64_t ms, char out[48]) {
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    snprintf(out, 48, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

/* The stream's ARN (a consumer ARN names its stream before "/consumer/"). */
static void stream_arn(const mapping_t *m, char *out, size_t cap) {
    const char *arn = m->info.source_arn;
    const char *c = strstr(arn, "/consumer/");
    size_t len = c ? (size_t)(c - arn) : strlen(arn);
    snprintf(out, cap, "%.*s", (int)len, arn);
}

static void enc_record(sl_enc_t *e, const mapping_t *m, const shard_t *sh, const rec_t *r,
                       const char *arn) {
    char id[24 + 64 + 2];
    sl_enc_map_begin(e);
    sl_enc_key(e, "kinesis");
    sl_enc_map_begin(e);
    sl_enc_kv_cstr(e, "kinesisSchemaVersion", "1.0");
    sl_enc_kv_str(e, "partitionKey", r->key, r->key_len);
    SL_ENC_KV_PLAIN(e, "sequenceNumber", r->seqnum, r->seqnum_len);
    sl_enc_key(e, "data");
    sl_enc_bytes(e, r->data, r->data_len);
    sl_enc_key(e, "approximateArrivalTimestamp");
    sl_enc_timestamp_ms(e, r->arrival_ms);
    if (sh->encrypted) sl_enc_kv_cstr(e, "encryptionType", "KMS");
    sl_enc_map_end(e);
    sl_enc_kv_cstr(e, "eventSource", "aws:kinesis");
    sl_enc_kv_cstr(e, "eventVersion", "1.0");
    int n = snprintf(id, sizeof id, "%s:%s", sh->id, r->seqnum);
    SL_ENC_KV_PLAIN(e, "eventID", id, (size_t)n);
    sl_enc_kv_cstr(e, "eventName", "aws:kinesis:record");
    sl_enc_kv_cstr(e, "invokeIdentityArn", m->info.role);
    sl_enc_kv_cstr(e, "awsRegion", m->account->esm->region);
    sl_enc_kv_cstr(e, "eventSourceARN", arn);
    sl_enc_map_end(e);
}

/* Upper bound of a record's share of the event (base64 data, an escaped key, the fixed text). */
static size_t record_bytes(const mapping_t *m, const rec_t *r) {
    return SL_BASE64_CHARS(r->data_len) + r->key_len * 6 + 2 * r->seqnum_len +
           strlen(m->info.role) + strlen(m->info.source_arn) + 400;
}

size_t sl_esm_event_build(batcher_t *b, size_t n, sl_buf_t *out) {
    const shard_t *sh = b->shard;
    const mapping_t *m = sh->m;
    char arn[SL_ESM_ARN_BYTES_MAX];
    stream_arn(m, arn, sizeof arn);
    sl_buf_reset(out);
    sl_enc_t e;
    sl_enc_init(&e, out, SL_FMT_JSON);
    sl_enc_map_begin(&e);
    sl_enc_key(&e, "Records");
    sl_enc_array_begin(&e);
    size_t k = 0, bytes = 64 + (m->info.tumbling_s ? b->state.len + 512 : 0);
    int64_t win_end = 0;
    if (m->info.tumbling_s > 0 && b->win_start_ms)
        win_end = b->win_start_ms + (int64_t)m->info.tumbling_s * 1000;
    for (const rec_t *r = b->head; r && k < n && !b->win_final; r = r->next, k++) {
        size_t rb = record_bytes(m, r);
        if (k > 0 && bytes + rb > SL_ESM_PAYLOAD_BYTES_MAX) break;
        if (win_end && r->arrival_ms >= win_end) break; /* the next window's */
        bytes += rb;
        enc_record(&e, m, sh, r, arn);
    }
    sl_enc_array_end(&e);
    if (m->info.tumbling_s > 0) {
        int64_t start = b->win_start_ms;
        if (!start && b->head) {
            int64_t w = (int64_t)m->info.tumbling_s * 1000;
            start = b->head->arrival_ms / w * w;
        }
        char s1[48], s2[48];
        sl_esm_iso_time(start, s1);
        sl_esm_iso_time(start + (int64_t)m->info.tumbling_s * 1000, s2);
        /* AWS prints the window bounds without milliseconds */
        s1[19] = 'Z', s1[20] = '\0';
        s2[19] = 'Z', s2[20] = '\0';
        sl_enc_key(&e, "window");
        sl_enc_map_begin(&e);
        sl_enc_kv_cstr(&e, "start", s1);
        sl_enc_kv_cstr(&e, "end", s2);
        sl_enc_map_end(&e);
        sl_enc_key(&e, "state");
        if (b->state.len) {
            sl_buf_append(out, b->state.data, b->state.len);
            e.after_key = false;
            e.need_comma[e.depth] = true;
        } else {
            sl_enc_map_begin(&e);
            sl_enc_map_end(&e);
        }
        sl_enc_kv_cstr(&e, "shardId", sh->id);
        sl_enc_kv_cstr(&e, "eventSourceARN", arn);
        sl_enc_kv_bool(&e, "isFinalInvokeForWindow", b->win_final);
        sl_enc_kv_bool(&e, "isWindowTerminatedEarly", b->win_early);
    }
    sl_enc_map_end(&e);
    return k;
}

/* ---- responses ---- */

static bool seq_index(const batcher_t *b, const char *seq, size_t len, size_t *out) {
    size_t i = 0;
    for (const rec_t *r = b->head; r && i < b->batch; r = r->next, i++)
        if (r->seqnum_len == len && memcmp(r->seqnum, seq, len) == 0) {
            *out = i;
            return true;
        }
    return false;
}

int sl_esm_response_parse(batcher_t *b, const uint8_t *res, size_t len, size_t *failed_at) {
    const mapping_t *m = b->shard->m;
    bool tumbling = m->info.tumbling_s > 0;
    if (!m->info.report_failures && !tumbling) return SL_ESM_RESPONSE_OK;
    sl_arena_t arena;
    sl_arena_init(&arena, 4096);
    int verdict = SL_ESM_RESPONSE_OK;
    sl_val_t *v = NULL;
    const char *reason;
    char *text = len ? sl_arena_strndup(&arena, (const char *)res, len) : NULL;
    if (text && sl_json_parse(text, len, &arena, &v, &reason) != 0) v = NULL;
    if (tumbling && !b->win_final) {
        /* a window's response must carry its state */
        const sl_val_t *state = v && v->type == SL_VAL_MAP ? sl_val_get(v, "state") : NULL;
        if (!state || state->type != SL_VAL_MAP) {
            verdict = SL_ESM_RESPONSE_INVALID;
            goto out;
        }
        sl_buf_t sbuf = SL_BUF_INIT;
        sl_enc_t e;
        sl_enc_init(&e, &sbuf, SL_FMT_JSON);
        sl_enc_value(&e, state);
        if (sl_buf_failed(&sbuf)) {
            sl_buf_free(&sbuf);
            verdict = SL_ESM_RESPONSE_INVALID;
            goto out;
        }
        sl_buf_free(&b->pending_state);
        b->pending_state = sbuf;
    }
    if (!m->info.report_failures || !v || v->type != SL_VAL_MAP) goto out;
    const sl_val_t *list = sl_val_get(v, "batchItemFailures");
    if (!list) goto out;
    if (list->type != SL_VAL_ARRAY) {
        verdict = SL_ESM_RESPONSE_INVALID;
        goto out;
    }
    size_t lowest = SIZE_MAX;
    for (size_t i = 0; i < list->u.arr.count; i++) {
        const sl_val_t *item = list->u.arr.items[i];
        size_t id_len = 0;
        const char *id =
            item->type == SL_VAL_MAP ? sl_val_get_str(item, "itemIdentifier", &id_len) : NULL;
        size_t at;
        if (!id || !id_len || !seq_index(b, id, id_len, &at)) {
            verdict = SL_ESM_RESPONSE_INVALID;
            goto out;
        }
        if (at < lowest) lowest = at;
    }
    if (lowest != SIZE_MAX) {
        verdict = SL_ESM_RESPONSE_PARTIAL;
        *failed_at = lowest;
    }
out:
    sl_arena_deinit(&arena);
    return verdict;
}

/* ---- OnFailure ---- */

static int deliver_s3(mapping_t *m, const shard_t *sh, const char *bucket, const sl_buf_t *doc) {
    if (!m->account->objstore) return SL_ENOTFOUND;
    char uuid[40], day[48], key[256];
    int64_t now = sl_time_now_ms();
    sl_esm_make_uuid(m->account->esm, uuid);
    sl_esm_iso_time(now, day);
    /* aws/lambda/<ESM UUID>/<shardId>/YYYY/MM/DD/YYYY-MM-DDTHH.MM.SS-<UUID> */
    snprintf(key, sizeof key, "aws/lambda/%s/%s/%.4s/%.2s/%.2s/%.10sT%.2s.%.2s.%.2s-%s",
             m->info.uuid, sh->id, day, day + 5, day + 8, day, day + 11, day + 14, day + 17, uuid);
    sl_arena_t arena;
    sl_arena_init(&arena, 4096);
    sl_objstore_info_t info;
    sl_objstore_err_t err = {0};
    sl_objstore_header_t ct = {"content-type", "application/json"};
    int rc = sl_objstore_put(m->account->objstore, bucket, key, doc->data, doc->len, &ct, 1, NULL,
                             now, &arena, &info, &err);
    if (rc)
        SL_WARN("event-source mapping %s: OnFailure to s3 bucket %s: %s", m->info.uuid, bucket,
                err.code ? err.code->code : sl_strerror(rc));
    sl_arena_deinit(&arena);
    return rc;
}

void sl_esm_on_failure(batcher_t *b, size_t n, const char *condition, const sl_fn_op_t *op) {
    shard_t *sh = b->shard;
    mapping_t *m = sh->m;
    m->metrics.dropped += n;
    sl_metric_add(m->m_dropped, n);
    const char *dest = m->info.on_failure;
    if (!dest[0] || !n || !b->head) return;
    const rec_t *first = b->head, *last = b->head;
    for (size_t i = 1; i < n && last->next; i++)
        last = last->next;
    char arn[SL_ESM_ARN_BYTES_MAX], t1[48], t2[48], now_iso[48], req[40];
    stream_arn(m, arn, sizeof arn);
    sl_esm_iso_time(first->arrival_ms, t1);
    sl_esm_iso_time(last->arrival_ms, t2);
    sl_esm_iso_time(sl_time_now_ms(), now_iso);
    sl_esm_make_uuid(m->account->esm, req);
    bool s3 = strncmp(dest, "arn:aws:s3:::", 13) == 0;
    sl_buf_t doc = SL_BUF_INIT, payload = SL_BUF_INIT;
    if (s3) {
        /* the S3 record carries the batch itself: the event of these records */
        size_t save = b->batch;
        bool final = b->win_final;
        b->win_final = false;
        sl_esm_event_build(b, n, &payload);
        b->win_final = final;
        b->batch = save;
    }
    sl_enc_t e;
    sl_enc_init(&e, &doc, SL_FMT_JSON);
    sl_enc_map_begin(&e);
    sl_enc_key(&e, "requestContext");
    sl_enc_map_begin(&e);
    sl_enc_kv_cstr(&e, "requestId", req);
    sl_enc_kv_cstr(&e, "functionArn", m->info.function_arn);
    sl_enc_kv_cstr(&e, "condition", condition);
    sl_enc_kv_int(&e, "approximateInvokeCount", b->invoke_count);
    sl_enc_map_end(&e);
    sl_enc_key(&e, "responseContext");
    sl_enc_map_begin(&e);
    sl_enc_kv_int(&e, "statusCode", op ? 200 : 0);
    sl_enc_kv_cstr(&e, "executedVersion", op ? "$LATEST" : "");
    sl_enc_kv_cstr(&e, "functionError", op && op->function_error ? op->function_error : "");
    sl_enc_map_end(&e);
    sl_enc_kv_cstr(&e, "version", "1.0");
    sl_enc_kv_cstr(&e, "timestamp", now_iso);
    sl_enc_key(&e, "KinesisBatchInfo");
    sl_enc_map_begin(&e);
    sl_enc_kv_cstr(&e, "shardId", sh->id);
    sl_enc_kv_str(&e, "startSequenceNumber", first->seqnum, first->seqnum_len);
    sl_enc_kv_str(&e, "endSequenceNumber", last->seqnum, last->seqnum_len);
    sl_enc_kv_cstr(&e, "approximateArrivalOfFirstRecord", t1);
    sl_enc_kv_cstr(&e, "approximateArrivalOfLastRecord", t2);
    sl_enc_kv_int(&e, "batchSize", (int64_t)n);
    sl_enc_kv_cstr(&e, "streamArn", arn);
    sl_enc_map_end(&e);
    if (s3) sl_enc_kv_str(&e, "payload", payload.data ? payload.data : "", payload.len);
    sl_enc_map_end(&e);
    int rc = sl_buf_failed(&doc) ? SL_ENOMEM : 0;
    if (rc == 0) {
        if (s3)
            rc = deliver_s3(m, sh, dest + 13, &doc);
        else
            rc = sl_esm_deliver_other(m, dest, &doc);
    }
    if (rc == 0) {
        m->metrics.delivered += n;
        sl_metric_add(m->m_delivered, n);
    }
    sl_buf_free(&doc);
    sl_buf_free(&payload);
}

/* ---- tumbling windows ---- */

bool sl_esm_window_due(batcher_t *b, int64_t *wake_wall_ms) {
    const shard_t *sh = b->shard;
    int64_t w = (int64_t)sh->m->info.tumbling_s * 1000;
    *wake_wall_ms = 0;
    if (!b->win_start_ms) {
        if (!b->head) return false;
        b->win_start_ms = b->head->arrival_ms / w * w;
        sl_buf_reset(&b->state);
        b->win_early = false;
    }
    if (b->win_early) return true;
    int64_t end = b->win_start_ms + w;
    if (b->head) return b->head->arrival_ms >= end;
    /* records arrive with the commit's time: once the end (plus the time a commit takes to be
     * read) passed and the shard's reader is not bringing more, the window is complete */
    int64_t due = end + SL_ESM_WINDOW_GRACE_MS;
    if (sl_time_now_ms() >= due && !sh->reading) return true;
    *wake_wall_ms = due;
    return false;
}

void sl_esm_window_processed(batcher_t *b) {
    if (b->win_final || !b->shard->m->info.tumbling_s) return;
    sl_buf_t old = b->state;
    b->state = b->pending_state;
    b->pending_state = old;
    sl_buf_reset(&b->pending_state);
    if (b->state.len > SL_ESM_WINDOW_STATE_BYTES_MAX) b->win_early = true;
}

void sl_esm_window_reset(batcher_t *b) {
    b->win_start_ms = 0;
    b->win_final = false;
    b->win_early = false;
    sl_buf_reset(&b->state);
    sl_buf_reset(&b->pending_state);
}

/* ---- metrics ---- */

void sl_esm_metrics_invoked(mapping_t *m, batcher_t *b, const sl_fn_op_t *op, int64_t ms) {
    (void)ms;
    m->metrics.invocations++;
    sl_metric_add(m->m_invoked, b->batch);
    if (op->error_type || op->function_error) {
        m->metrics.errors++;
        sl_metric_add(m->m_failed, b->batch);
        return;
    }
    size_t i = 1;
    const rec_t *last = b->head;
    for (; last && last->next && i < b->batch; i++)
        last = last->next;
    if (last) {
        m->metrics.iterator_age_ms = sl_time_now_ms() - last->arrival_ms;
        sl_metric_set(m->m_iterator_age, m->metrics.iterator_age_ms);
    }
}
