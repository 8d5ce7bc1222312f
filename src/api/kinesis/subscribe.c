/* SubscribeToShard: enhanced fan-out push over the AWS event stream (spec §5).
 *
 * A subscription is a streamed HTTP response (HTTP/2 DATA frames or HTTP/1.1 chunks) carrying
 * event-stream messages: `initial-response` first, then SubscribeToShardEvent messages with the
 * records from the starting position on. Records are pushed from the commit point: the Kinesis
 * core's fan-out registry (kinesis/listen.c, the first commit listener) wakes the subscriptions
 * waiting on that shard — no polling loop. Reads go through the core's reader (kinesis.h), which
 * runs them on its reader pool. When idle an empty event is sent every 5 s (keeps client read
 * timeouts from firing and lets them checkpoint). At a closed shard's end the last event carries
 * ChildShards and no ContinuationSequenceNumber. A subscription lives 5 minutes.
 *
 * Threads: a subscription belongs to its request's loop thread. The commit thread and the reader
 * pool only post to that loop. `refs` counts the pending posts plus one for the open stream; the
 * subscription is freed on its loop thread when it has ended and refs reaches zero. */
#include "api/kinesis/common.h"
#include "api/kinesis/metrics.h"

#include "core/limits.h"
#include "core/log.h"
#include "core/time.h"
#include "kinesis/kinesis.h"
#include "wire/eventstream.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sl_sub {
    sl_kapi_t *api;
    sl_kinesis_t *k; /* the engine of the subscriber's account */
    sl_http_req_t *req;
    sl_loop_t *loop;
    sl_fmt_t fmt;
    char consumer_arn[512];
    sl_kreader_t reader; /* stream, shard and the next position to push */
    sl_kfanout_t *fan;   /* registration in the core's fan-out registry */
    int64_t started_ms;
    int refs;            /* atomic */
    bool wake_posted;    /* a wake-up is queued (atomic) */
    bool reading;        /* a read is in flight */
    bool paused;         /* output backlog above the high-water mark */
    bool caught_up;      /* the last read reached the committed tip */
    bool in_memory_read; /* pushing a read served from memory (no second one inside it) */
    bool ended;
    sl_timer_t *idle_timer;
    sl_timer_t *pace_timer;  /* enhanced fan-out's limit: the next read waits for it */
    sl_kefo_budget_t budget; /* the consumer's bytes per second on this shard */
    sl_kread_t rd;           /* the read in flight or just completed */
    sl_series_t *consumer_metrics[SL_KM_CONSUMER_COUNT]; /* the consumer's (metrics.h) */
    /* Guards `closed` against the reader pool: once the subscription ended on its loop (which may
     * then stop and be freed at shutdown), a read completing later does not post to it. */
    pthread_mutex_t post_mu;
    bool closed;
};

static void sub_pump(sl_sub_t *sub);

void sl_kapi_subs_init(sl_kapi_t *api) {
    pthread_mutex_init(&api->engines_mu, NULL);
}

void sl_kapi_subs_deinit(sl_kapi_t *api) {
    free(api->engines);
    pthread_mutex_destroy(&api->engines_mu);
}

static void sub_unref(sl_sub_t *sub) {
    if (__atomic_sub_fetch(&sub->refs, 1, __ATOMIC_ACQ_REL) == 0) {
        sl_kread_release(&sub->rd);
        pthread_mutex_destroy(&sub->post_mu);
        free(sub);
    }
}

static const char *payload_type(sl_fmt_t fmt) {
    return fmt == SL_FMT_CBOR ? "application/x-amz-cbor-1.1" : "application/json";
}

static long sub_write_event(sl_sub_t *sub, const char *message_type, const char *type_header,
                            const char *type, const void *payload, size_t len) {
    sl_es_header_t h[3] = {
        {":message-type", message_type},
        {type_header, type},
        {":content-type",
         strcmp(message_type, "exception") == 0 ? "application/json" : payload_type(sub->fmt)},
    };
    sl_buf_t b = SL_BUF_INIT;
    if (sl_es_encode(&b, h, 3, payload, len) != 0 || sl_buf_failed(&b)) {
        sl_buf_free(&b);
        return SL_ENOMEM;
    }
    long backlog = sl_http_stream_write(sub->req, b.data, b.len);
    sl_buf_free(&b);
    return backlog;
}

static void sub_end(sl_sub_t *sub) {
    if (sub->ended) return;
    sub->ended = true;
    if (sub->idle_timer) {
        sl_timer_cancel(sub->idle_timer);
        sub->idle_timer = NULL;
    }
    if (sub->pace_timer) {
        sl_timer_cancel(sub->pace_timer);
        sub->pace_timer = NULL;
    }
    sl_metric_gauge_add(sub->consumer_metrics[SL_KM_CONSUMER_SUBSCRIPTIONS], -1);
    sl_kfanout_remove(sub->fan); /* no wake-up or take-over is posted after this */
    sub->fan = NULL;
    pthread_mutex_lock(&sub->post_mu);
    sub->closed = true; /* nor a read completion */
    pthread_mutex_unlock(&sub->post_mu);
    sl_http_stream_end(sub->req);
    sub->req = NULL;
    sub_unref(sub); /* the stream's reference */
}

static void sub_exception(sl_sub_t *sub, const char *type, const char *message) {
    char payload[1200];
    int n = snprintf(payload, sizeof payload, "{\"message\":\"%s\"}", message);
    sub_write_event(sub, "exception", ":exception-type", type, payload, (size_t)n);
    sub_end(sub);
}

/* A core error as the exception event: the model's InternalFailureException for internal failures.
 */
static void sub_exception_err(sl_sub_t *sub, const sl_kerr_t *err) {
    if (err->type == SL_KERR_INTERNAL)
        sub_exception(sub, SL_AWS_INTERNAL_FAILURE_EVENT, sl_aws_failure_message(err->cause));
    else
        sub_exception(sub, sl_kapi_error_type(err->type), err->message);
}

/* ---- idle events and wake-ups ---- */

static void sub_idle_fire(void *arg) {
    sl_sub_t *sub = arg;
    sub->idle_timer = NULL;
    if (sub->ended) return;
    sl_kfanout_unwait(sub->fan);
    sub_pump(sub);
}

static void sub_pace_fire(void *arg) {
    sl_sub_t *sub = arg;
    sub->pace_timer = NULL;
    if (!sub->ended) sub_pump(sub);
}

static void sub_wake(void *arg) {
    sl_sub_t *sub = arg;
    __atomic_store_n(&sub->wake_posted, false, __ATOMIC_RELEASE);
    if (!sub->ended && !sub->reading && !sub->paused) {
        if (sub->idle_timer) {
            sl_timer_cancel(sub->idle_timer);
            sub->idle_timer = NULL;
        }
        sub_pump(sub);
    }
    sub_unref(sub);
}

/* Fan-out wake-up (commit thread or a kicker, under the registry's mutex): queue one wake-up on
 * the subscription's loop unless one is queued already. */
static void sub_on_wake(void *arg) {
    sl_sub_t *sub = arg;
    if (__atomic_exchange_n(&sub->wake_posted, true, __ATOMIC_ACQ_REL)) return;
    __atomic_add_fetch(&sub->refs, 1, __ATOMIC_ACQ_REL);
    if (sl_loop_post(sub->loop, sub_wake, sub) != 0) {
        __atomic_store_n(&sub->wake_posted, false, __ATOMIC_RELEASE);
        __atomic_sub_fetch(&sub->refs, 1, __ATOMIC_ACQ_REL);
    }
}

void sl_kapi_subs_kick(sl_kapi_t *api, const char *stream, const char *consumer_arn) {
    pthread_mutex_lock(&api->engines_mu);
    for (size_t i = 0; i < api->engine_count; i++)
        sl_kinesis_fanout_kick(api->engines[i], stream, consumer_arn);
    pthread_mutex_unlock(&api->engines_mu);
}

/* ---- the pump: read from the position, push one event, repeat until caught up ---- */

static void sub_on_read(void *arg);

static void sub_read_cb(sl_kread_t *op) {
    sl_sub_t *sub = op->arg;
    pthread_mutex_lock(&sub->post_mu);
    bool posted = !sub->closed && sl_loop_post(sub->loop, sub_on_read, sub) == 0;
    pthread_mutex_unlock(&sub->post_mu);
    if (posted) return;
    /* ended meanwhile: drop the read and its reference here (this may free the subscription) */
    sl_kread_release(op);
    sub_unref(sub);
}

static void sub_pump(sl_sub_t *sub) {
    if (sub->ended || sub->reading || sub->paused || sub->pace_timer) return;
    int64_t now = sl_time_now_ms();
    if (now - sub->started_ms >= SL_KINESIS_SUBSCRIPTION_MS) {
        sub_end(sub);
        return;
    }
    /* No read while its event could not leave: the connection may be over its output bound
     * because of the other streams on it (an HTTP/2 window of 0, a burst of subscriptions). */
    long backlog = sl_http_stream_write(sub->req, NULL, 0);
    if (backlog < 0) {
        sub_end(sub);
        return;
    }
    if (backlog > (long)SL_KINESIS_SUBSCRIBE_BACKLOG_HIGH_BYTES) {
        sub->paused = true; /* on_writable pumps again */
        return;
    }
    sl_kread_release(&sub->rd);
    sub->rd = (sl_kread_t){.reader = sub->reader,
                           .records_max = SL_KINESIS_SUBSCRIBE_EVENT_RECORDS_MAX,
                           .bytes_max = SL_KINESIS_SUBSCRIBE_EVENT_BYTES_MAX,
                           .consumer_arn = sub->consumer_arn,
                           /* caught up: the next records are the ones just committed, which
                            * storage still holds in memory; read them here, without the pool */
                           .memory_first = sub->caught_up && !sub->in_memory_read,
                           .now_ms = now,
                           .cb = sub_read_cb,
                           .arg = sub};
    sub->reading = true;
    __atomic_add_fetch(&sub->refs, 1, __ATOMIC_ACQ_REL); /* for the read completion post */
    if (sl_kinesis_read(sub->k, &sub->rd) == SL_KINESIS_PENDING) return;
    if (sub->rd.err.type == SL_KERR_NONE) {
        /* read from memory: push it now (sub_on_read drops the read's reference). A commit that
         * races with the wait below pumps again, through the pool this time, so this never
         * recurses deeper than once. */
        __atomic_add_fetch(&sub->refs, 1, __ATOMIC_ACQ_REL);
        sub->in_memory_read = true;
        sub_on_read(sub);
        sub->in_memory_read = false;
        sub_unref(sub);
        return;
    }
    sub->reading = false;
    sub_unref(sub);
    sub_exception_err(sub, &sub->rd.err);
}

static void sub_on_read(void *arg) {
    sl_sub_t *sub = arg;
    sl_kread_t *rd = &sub->rd;
    sub->reading = false;
    if (sub->ended) {
        sl_kread_release(rd);
        sub_unref(sub);
        return;
    }
    if (rd->err.type && !rd->gone) {
        sl_kread_release(rd);
        sub_exception_err(sub, &rd->err);
        sub_unref(sub);
        return;
    }
    sl_buf_t out = SL_BUF_INIT;
    sl_enc_t enc;
    sl_enc_init(&enc, &out, sub->fmt);
    sl_enc_t *e = &enc;
    sl_buf_reserve(&out, rd->bytes * 4 / 3 + rd->count * 200 + 512);
    sl_enc_map_begin(e);
    sl_kapi_encode_records(e, rd, rd->encrypted);
    if (rd->shard_ended) {
        sl_kapi_encode_children(e, rd->children, rd->child_count);
    } else {
        /* the checkpoint: the last pushed record, else the position before the next one */
        char seq[64];
        sl_seqnum_format(&rd->continuation, seq);
        sl_enc_kv_cstr(e, "ContinuationSequenceNumber", seq);
    }
    sl_enc_kv_int(e, "MillisBehindLatest", rd->millis_behind);
    sl_enc_map_end(e);

    /* AWS/Kinesis SubscribeToShardEvent.* (metrics.h), dimension StreamName */
    const char *acct = sl_kinesis_account(sub->k), *stream = sub->reader.stream;
    size_t data_bytes = 0;
    for (size_t i = 0; i < rd->count; i++)
        data_bytes += rd->records[i].data_len;
    if (!rd->gone) {
        sl_metric_add(sl_kapi_metric(acct, stream, SL_KM_SUBSCRIBE_EVENT_BYTES), data_bytes);
        sl_metric_add(sl_kapi_metric(acct, stream, SL_KM_SUBSCRIBE_EVENT_RECORDS), rd->count);
        sl_metric_add(sl_kapi_metric(acct, stream, SL_KM_SUBSCRIBE_EVENT_SUCCESS), 1);
        sl_metric_set(sl_kapi_metric(acct, stream, SL_KM_SUBSCRIBE_EVENT_BEHIND),
                      rd->millis_behind);
        sl_metric_add(sub->consumer_metrics[SL_KM_CONSUMER_EVENT_BYTES], data_bytes);
        sl_metric_add(sub->consumer_metrics[SL_KM_CONSUMER_EVENT_RECORDS], rd->count);
        sl_metric_set(sub->consumer_metrics[SL_KM_CONSUMER_EVENT_BEHIND], rd->millis_behind);
    }
    sub->reader.position = rd->next_position;
    sub->caught_up = rd->caught_up;
    bool caught_up = rd->caught_up, shard_end = rd->shard_ended, gone = rd->gone;
    int64_t pace_ms = sl_kinesis_efo_charge(sub->k, &sub->budget, rd->bytes);
    sl_kread_release(rd);
    long backlog = sl_buf_failed(&out)
                       ? SL_ENOMEM
                       : sub_write_event(sub, "event", ":event-type", "SubscribeToShardEvent",
                                         out.data, out.len);
    sl_buf_free(&out);
    if (backlog < 0 || shard_end || gone) {
        sub_end(sub);
        sub_unref(sub);
        return;
    }
    if (backlog > (long)SL_KINESIS_SUBSCRIBE_BACKLOG_HIGH_BYTES) sub->paused = true;
    if (pace_ms > 0) {
        /* over the consumer's bytes per second: read again once the budget allows (the timer
         * pumps; a wake-up or on_writable meanwhile does not) */
        sub->pace_timer = sl_timer_start(sub->loop, (uint64_t)pace_ms, sub_pace_fire, sub);
        if (sub->pace_timer) {
            sub_unref(sub);
            return;
        }
    }
    if (!caught_up && !sub->paused) {
        sub_pump(sub);
    } else if (caught_up) {
        /* wait for the next commit; the core re-checks the tip after arming, closing the race */
        if (sl_kfanout_wait(sub->fan, sub->reader.position)) {
            if (!sub->paused) sub_pump(sub);
        } else if (!sub->idle_timer) {
            sub->idle_timer =
                sl_timer_start(sub->loop, SL_KINESIS_SUBSCRIBE_IDLE_EVENT_MS, sub_idle_fire, sub);
        }
    }
    sub_unref(sub);
}

static void sub_on_writable(sl_http_req_t *req, void *arg) {
    (void)req;
    sl_sub_t *sub = arg;
    if (!sub->paused || sub->ended) return;
    sub->paused = false;
    if (!sl_kfanout_waiting(sub->fan)) sub_pump(sub);
}

static void sub_terminate(void *arg) {
    sl_sub_t *sub = arg;
    sub_end(sub);
    sub_unref(sub);
}

/* The client went away: end the subscription from the loop, outside the net layer's callback. */
static void sub_on_close(sl_http_req_t *req, void *arg) {
    (void)req;
    sl_sub_t *sub = arg;
    __atomic_add_fetch(&sub->refs, 1, __ATOMIC_ACQ_REL);
    if (sl_loop_post(sub->loop, sub_terminate, sub) != 0) {
        __atomic_sub_fetch(&sub->refs, 1, __ATOMIC_ACQ_REL);
        sub_end(sub);
    }
}

/* A newer subscription of the same consumer and shard took over (under the registry's mutex). */
static void sub_on_replaced(void *arg) {
    sl_sub_t *sub = arg;
    __atomic_add_fetch(&sub->refs, 1, __ATOMIC_ACQ_REL);
    if (sl_loop_post(sub->loop, sub_terminate, sub) != 0)
        __atomic_sub_fetch(&sub->refs, 1, __ATOMIC_ACQ_REL);
}

/* ---- the operation ---- */

static void subscribe_finish(sl_front_call_t *call) {
    sl_ksubscribe_t *op = call->state;
    if (op->err.type) {
        sl_kapi_fail_err(call, &op->err);
        return;
    }
    sl_sub_t *sub = calloc(1, sizeof *sub);
    if (!sub) {
        sl_front_fail_internal(call, SL_ENOMEM);
        return;
    }
    sub->api = call->binding;
    sub->k = sl_kapi_engine(call);
    sub->req = call->req;
    sub->loop = sl_http_req_loop(call->req);
    sub->fmt = call->fmt;
    snprintf(sub->consumer_arn, sizeof sub->consumer_arn, "%s", op->consumer);
    sub->reader = op->reader;
    sub->started_ms = call->now_ms;
    sub->refs = 1;
    pthread_mutex_init(&sub->post_mu, NULL);
    /* the re-subscribe rule: one successful subscription per (consumer, shard) every 5 s; a later
     * one takes over from the older stream */
    sl_kfanout_cbs_t cbs = {.wake = sub_on_wake, .replaced = sub_on_replaced, .arg = sub};
    sl_kerr_t *err = &op->err;
    sub->fan = sl_kfanout_add(sl_kapi_engine(call), &sub->reader, sub->consumer_arn, op->shard_id,
                              op->shard_id_len, call->now_ms, &cbs, err);
    if (!sub->fan) {
        pthread_mutex_destroy(&sub->post_mu);
        free(sub);
        sl_kapi_fail_err(call, err);
        return;
    }
    char rid[64];
    snprintf(rid, sizeof rid, "%s", call->request_id);
    sl_http_header_t h[2] = {
        {"Content-Type", 12, "application/vnd.amazon.eventstream", 34},
        {"x-amzn-RequestId", 16, rid, strlen(rid)},
    };
    sl_http_stream_cbs_t scbs = {
        .on_writable = sub_on_writable, .on_close = sub_on_close, .arg = sub};
    sl_kapi_consumer_metrics(sl_kinesis_account(sub->k), sub->reader.stream, sub->consumer_arn,
                             sub->consumer_metrics);
    sl_metric_gauge_add(sub->consumer_metrics[SL_KM_CONSUMER_SUBSCRIPTIONS], 1);
    if (sl_http_stream_begin(call->req, 200, h, 2, &scbs) != 0) {
        sub_end(sub);
        return;
    }
    const char *empty = call->fmt == SL_FMT_CBOR ? "\xbf\xff" : "{}";
    sl_metric_add(
        sl_kapi_metric(sl_kinesis_account(sub->k), sub->reader.stream, SL_KM_SUBSCRIBE_SUCCESS), 1);
    sub_write_event(sub, "event", ":event-type", "initial-response", empty, 2);
    sub_pump(sub);
}

static void subscribe_cb(sl_ksubscribe_t *op) {
    sl_front_post(op->arg, subscribe_finish);
}

void sl_kapi_subscribe(sl_front_call_t *call) {
    sl_ksubscribe_t *op = sl_arena_alloc(call->arena, sizeof *op);
    if (!op) {
        sl_front_fail_internal(call, SL_ENOMEM);
        return;
    }
    size_t slen = 0;
    sl_val_t *pos = sl_val_get(call->in, "StartingPosition");
    const char *type = sl_val_get_str(pos, "Type", NULL);
    const char *seq = sl_val_get_str(pos, "SequenceNumber", &slen);
    *op = (sl_ksubscribe_t){.start = sl_kapi_start(type, seq, slen, sl_val_get(pos, "Timestamp")),
                            .now_ms = call->now_ms,
                            .cb = subscribe_cb,
                            .arg = call};
    op->consumer_arn = sl_val_get_str(call->in, "ConsumerARN", &op->consumer_arn_len);
    op->shard_id = sl_val_get_str(call->in, "ShardId", &op->shard_id_len);
    call->state = op;
    if (sl_kinesis_subscribe(sl_kapi_engine(call), op) == SL_KINESIS_DONE) subscribe_finish(call);
}

/* Each engine's fan-out registry is its first commit listener (kinesis/listen.c); the API only
 * remembers the engine for deletion kicks. */
void sl_kapi_subs_attach(sl_kapi_t *api, sl_kinesis_t *k) {
    pthread_mutex_lock(&api->engines_mu);
    sl_kinesis_t **n = realloc(api->engines, (api->engine_count + 1) * sizeof *n);
    if (n) {
        api->engines = n;
        n[api->engine_count++] = k;
    } else {
        SL_ERROR("subscribe: cannot remember engine %s for deletion wake-ups (out of memory)",
                 sl_kinesis_account(k));
    }
    pthread_mutex_unlock(&api->engines_mu);
}
