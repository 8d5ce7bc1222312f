/* SubscribeToShard: enhanced fan-out push over the AWS event stream (spec §5).
 *
 * A subscription is a streamed HTTP response (HTTP/2 DATA frames or HTTP/1.1 chunks) carrying
 * event-stream messages: `initial-response` first, then SubscribeToShardEvent messages with the
 * records from the starting position on. Records are pushed from the commit point: the storage
 * commit hook (sl_kapi_on_commit) wakes the subscriptions waiting on that shard — no polling loop.
 * When idle an empty event is sent every 5 s (keeps client read timeouts from firing and lets them
 * checkpoint). At a closed shard's end the last event carries ChildShards and no
 * ContinuationSequenceNumber. A subscription lives 5 minutes.
 *
 * Threads: a subscription belongs to its request's loop thread. The commit thread only posts
 * wake-ups to that loop. `refs` counts the pending posts plus one for the open stream; the
 * subscription is freed on its loop thread when it has ended and refs reaches zero. */
#include "api/kinesis_common.h"

#include "core/limits.h"
#include "core/log.h"
#include "core/time.h"
#include "kinesis/names.h"
#include "kinesis/seqnum.h"
#include "wire/eventstream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SUB_LIFETIME_MS 300000
#define SUB_IDLE_EVENT_MS 5000
#define SUB_RESUBSCRIBE_MS 5000
#define SUB_EVENT_BYTES_MAX (2u * 1024 * 1024) /* per event; AWS pushes up to 2 MiB/s per shard */
#define SUB_EVENT_RECORDS_MAX 10000
#define SUB_BACKLOG_HIGH (1u * 1024 * 1024)

struct sl_sub {
    sl_sub_t *next;             /* in api->subs (under sub_mu) */
    sl_api_t *api;
    sl_kinesis_t *k;            /* the engine of the subscriber's account */
    sl_http_req_t *req;
    sl_loop_t *loop;
    sl_fmt_t fmt;
    char consumer_arn[512];
    char stream[129];
    int64_t stream_created_ms;
    uint32_t shard_index;
    const void *shard_key;      /* sl_kshard_t pointer, compared only (never dereferenced) */
    int64_t shard_created_ms;
    uint64_t position;          /* next storage seq to push */
    int64_t started_ms;
    int refs;                   /* atomic */
    bool waiting;               /* caught up, waiting for a commit (under sub_mu) */
    bool wake_posted;           /* a wake-up is queued (under sub_mu) */
    bool reading;               /* a storage read is in flight */
    bool paused;                /* output backlog above the high-water mark */
    bool ended;
    sl_timer_t *idle_timer;
    sl_read_result_t *res;      /* completed read, handed from the storage callback */
    int read_status;
};

static void sub_pump(sl_sub_t *sub);

void sl_kapi_subs_init(sl_api_t *api) { pthread_mutex_init(&api->sub_mu, NULL); }

void sl_kapi_subs_deinit(sl_api_t *api) {
    free(api->recent);
    pthread_mutex_destroy(&api->sub_mu);
}

static void sub_unref(sl_sub_t *sub) {
    if (__atomic_sub_fetch(&sub->refs, 1, __ATOMIC_ACQ_REL) == 0) {
        if (sub->res) sl_storage_read_free(sub->res);
        free(sub);
    }
}

static const char *payload_type(sl_fmt_t fmt) {
    return fmt == SL_FMT_CBOR ? "application/x-amz-cbor-1.1" : "application/json";
}

static long sub_write_event(sl_sub_t *sub, const char *message_type, const char *type_header, const char *type,
                            const void *payload, size_t len) {
    sl_es_header_t h[3] = {
        {":message-type", message_type},
        {type_header, type},
        {":content-type", strcmp(message_type, "exception") == 0 ? "application/json" : payload_type(sub->fmt)},
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
    pthread_mutex_lock(&sub->api->sub_mu);
    for (sl_sub_t **p = &sub->api->subs; *p; p = &(*p)->next) {
        if (*p == sub) {
            *p = sub->next;
            __atomic_sub_fetch(&sub->api->sub_count, 1, __ATOMIC_RELAXED);
            break;
        }
    }
    pthread_mutex_unlock(&sub->api->sub_mu);
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

/* ---- idle events and wake-ups ---- */

static void sub_idle_fire(void *arg) {
    sl_sub_t *sub = arg;
    sub->idle_timer = NULL;
    if (sub->ended) return;
    pthread_mutex_lock(&sub->api->sub_mu);
    sub->waiting = false;
    pthread_mutex_unlock(&sub->api->sub_mu);
    sub_pump(sub);
}

static void sub_wake(void *arg) {
    sl_sub_t *sub = arg;
    pthread_mutex_lock(&sub->api->sub_mu);
    sub->wake_posted = false;
    pthread_mutex_unlock(&sub->api->sub_mu);
    if (!sub->ended && !sub->reading && !sub->paused) {
        if (sub->idle_timer) {
            sl_timer_cancel(sub->idle_timer);
            sub->idle_timer = NULL;
        }
        sub_pump(sub);
    }
    sub_unref(sub);
}

/* Queues one wake-up of `s` on its loop unless one is queued already (caller holds sub_mu). */
static void sub_post_wake_locked(sl_sub_t *s) {
    if (s->wake_posted) return;
    s->waiting = false;
    s->wake_posted = true;
    __atomic_add_fetch(&s->refs, 1, __ATOMIC_ACQ_REL);
    if (sl_loop_post(s->loop, sub_wake, s) != 0) {
        s->wake_posted = false;
        __atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL);
    }
}

/* Storage commit hook (commit thread): wake the subscriptions waiting on this shard. */
static void on_commit(void *ctx, sl_kshard_t *shard, uint64_t next_seq) {
    sl_api_t *api = ctx;
    (void)next_seq;
    /* Called per shard per commit round: skip the lock when nobody subscribes. A subscription
     * added meanwhile reads the log after registering, so it misses no record. */
    if (__atomic_load_n(&api->sub_count, __ATOMIC_RELAXED) == 0) return;
    pthread_mutex_lock(&api->sub_mu);
    for (sl_sub_t *s = api->subs; s; s = s->next)
        if (s->shard_key == shard && s->waiting) sub_post_wake_locked(s);
    pthread_mutex_unlock(&api->sub_mu);
}

/* Wakes the subscriptions of a stream (and of one consumer when consumer_arn is not NULL) so that
 * they notice at once that it is being deleted, instead of at their next idle tick. */
void sl_kapi_subs_kick(sl_api_t *api, const char *stream, const char *consumer_arn) {
    pthread_mutex_lock(&api->sub_mu);
    for (sl_sub_t *s = api->subs; s; s = s->next) {
        if (strcmp(s->stream, stream) != 0 || (consumer_arn && strcmp(s->consumer_arn, consumer_arn) != 0)) continue;
        sub_post_wake_locked(s);
    }
    pthread_mutex_unlock(&api->sub_mu);
}

/* ---- the pump: read from the position, push one event, repeat until caught up ---- */

static void sub_on_read(void *arg);

static void sub_read_cb(void *arg, int status, sl_read_result_t *res) {
    sl_sub_t *sub = arg;
    sub->read_status = status;
    sub->res = res;
    if (sl_loop_post(sub->loop, sub_on_read, sub) != 0) SL_ERROR("subscribe: cannot post read completion");
}

static void sub_pump(sl_sub_t *sub) {
    if (sub->ended || sub->reading || sub->paused) return;
    sl_kinesis_t *k = sub->k;
    int64_t now = sl_time_now_ms();
    if (now - sub->started_ms >= SUB_LIFETIME_MS) {
        sub_end(sub);
        return;
    }
    sl_kinesis_rdlock(k);
    sl_kstream_t *s = sl_kinesis_find(k, sub->stream, strlen(sub->stream), now);
    sl_kshard_t *sh = s && s->created_ms == sub->stream_created_ms ? sl_kstream_shard(s, sub->shard_index) : NULL;
    bool consumer_ok = false;
    for (size_t i = 0; s && i < s->consumer_count; i++)
        if (!strcmp(s->consumers[i]->arn, sub->consumer_arn))
            consumer_ok = sl_kconsumer_status(s->consumers[i], now) == SL_KS_ACTIVE;
    if (!sh || !sh->log || !consumer_ok) {
        sl_kinesis_unlock(k);
        char msg[1024];
        snprintf(msg, sizeof msg, "%s %s under account %s not found.", !consumer_ok && sh ? "Consumer" : "Stream",
                 !consumer_ok && sh ? sub->consumer_arn : sub->stream, k->account);
        sub_exception(sub, "ResourceNotFoundException", msg);
        return;
    }
    int64_t cutoff = now - (int64_t)s->retention_hours * 3600000;
    sub->reading = true;
    __atomic_add_fetch(&sub->refs, 1, __ATOMIC_ACQ_REL); /* for the read completion post */
    int rc = sl_storage_read(sh->log, sub->position, SUB_EVENT_RECORDS_MAX, SUB_EVENT_BYTES_MAX, cutoff, sub_read_cb,
                             sub);
    sl_kinesis_unlock(k);
    if (rc) {
        sub->reading = false;
        sub_unref(sub);
        sub_exception(sub, SL_AWS_INTERNAL_FAILURE_EVENT, sl_aws_failure_message(rc));
    }
}

static void sub_on_read(void *arg) {
    sl_sub_t *sub = arg;
    sl_read_result_t *res = sub->res;
    sub->res = NULL;
    sub->reading = false;
    if (sub->ended) {
        if (res) sl_storage_read_free(res);
        sub_unref(sub);
        return;
    }
    if (sub->read_status != 0 || !res) {
        if (res) sl_storage_read_free(res);
        int cause = sub->read_status ? sub->read_status : SL_ENOMEM;
        sub_exception(sub, SL_AWS_INTERNAL_FAILURE_EVENT, sl_aws_failure_message(cause));
        sub_unref(sub);
        return;
    }
    sl_kinesis_t *k = sub->k;
    int64_t now = sl_time_now_ms();
    bool caught_up = res->next_seq >= res->bounds.next_seq;

    sl_kinesis_rdlock(k);
    sl_kstream_t *s = sl_kinesis_find(k, sub->stream, strlen(sub->stream), now);
    sl_kshard_t *sh = s && s->created_ms == sub->stream_created_ms ? sl_kstream_shard(s, sub->shard_index) : NULL;
    bool shard_end = sh && sl_kshard_ended(sh, caught_up);
    bool encrypted = s && s->encrypted;

    /* encode the event with a throw-away call context so the shared encoders can be used */
    sl_api_call_t ctx = {.api = sub->api, .k = k, .fmt = sub->fmt, .now_ms = now};
    sl_enc_init(&ctx.enc, &ctx.out, sub->fmt);
    sl_enc_t *e = &ctx.enc;
    sl_buf_reserve(&ctx.out, res->bytes * 4 / 3 + res->count * 200 + 512);
    sl_enc_map_begin(e);
    sl_kapi_encode_records(e, res, sub->shard_created_ms, sub->shard_index, encrypted);
    char seq[64];
    if (shard_end) {
        sl_kapi_encode_child_shards(&ctx, s, sh);
    } else {
        /* the checkpoint: the last pushed record, else the position before the next one */
        if (res->count) {
            const sl_record_t *last = &res->records[res->count - 1];
            sl_kapi_format_seq(sub->shard_created_ms, sub->shard_index, last->seq, last->arrival_ms, seq);
        } else {
            sl_kapi_format_seq(sub->shard_created_ms, sub->shard_index, res->next_seq ? res->next_seq - 1 : 0,
                               res->next_seq > 1 ? res->bounds.last_arrival_ms : sub->shard_created_ms, seq);
        }
        sl_enc_kv_cstr(e, "ContinuationSequenceNumber", seq);
    }
    int64_t behind = 0;
    if (!caught_up && res->count) behind = res->bounds.last_arrival_ms - res->records[res->count - 1].arrival_ms;
    sl_enc_kv_int(e, "MillisBehindLatest", behind < 0 ? 0 : behind);
    sl_enc_map_end(e);
    sl_kinesis_unlock(k);

    sub->position = res->next_seq;
    bool had_records = res->count > 0;
    sl_storage_read_free(res);
    long backlog = sl_buf_failed(&ctx.out) ? SL_ENOMEM
                                           : sub_write_event(sub, "event", ":event-type", "SubscribeToShardEvent",
                                                             ctx.out.data, ctx.out.len);
    sl_buf_free(&ctx.out);
    if (backlog < 0 || shard_end || !sh) {
        sub_end(sub);
        sub_unref(sub);
        return;
    }
    if (backlog > (long)SUB_BACKLOG_HIGH) sub->paused = true;
    if (!caught_up && !sub->paused) {
        sub_pump(sub);
    } else if (caught_up) {
        /* wait for the next commit; re-check the tip after registering to close the race */
        pthread_mutex_lock(&sub->api->sub_mu);
        sub->waiting = true;
        pthread_mutex_unlock(&sub->api->sub_mu);
        sl_shard_bounds_t b;
        bool more = false;
        sl_kinesis_rdlock(k);
        s = sl_kinesis_find(k, sub->stream, strlen(sub->stream), now);
        sh = s && s->created_ms == sub->stream_created_ms ? sl_kstream_shard(s, sub->shard_index) : NULL;
        if (sh && sh->log && sl_storage_bounds(sh->log, &b) == 0) more = b.next_seq > sub->position;
        bool closed = sh && sl_kshard_ended(sh, true);
        sl_kinesis_unlock(k);
        if (more || closed) {
            pthread_mutex_lock(&sub->api->sub_mu);
            sub->waiting = false;
            pthread_mutex_unlock(&sub->api->sub_mu);
            if (!sub->paused) sub_pump(sub);
        } else if (!sub->idle_timer) {
            (void)had_records;
            sub->idle_timer = sl_timer_start(sub->loop, SUB_IDLE_EVENT_MS, sub_idle_fire, sub);
        }
    }
    sub_unref(sub);
}

static void sub_on_writable(sl_http_req_t *req, void *arg) {
    (void)req;
    sl_sub_t *sub = arg;
    if (!sub->paused || sub->ended) return;
    sub->paused = false;
    pthread_mutex_lock(&sub->api->sub_mu);
    bool waiting = sub->waiting;
    pthread_mutex_unlock(&sub->api->sub_mu);
    if (!waiting) sub_pump(sub);
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

/* ---- the operation ---- */


void sl_kapi_subscribe(sl_api_call_t *call) {
    sl_api_t *api = call->api;
    sl_kinesis_t *k = call->k;
    size_t idlen = 0, slen = 0;
    const char *shard_id = sl_val_get_str(call->in, "ShardId", &idlen);
    sl_val_t *pos = sl_val_get(call->in, "StartingPosition");
    const char *type = sl_val_get_str(pos, "Type", NULL);
    const char *seq = sl_val_get_str(pos, "SequenceNumber", &slen);
    sl_val_t *ts = sl_val_get(pos, "Timestamp");

    sl_kinesis_rdlock(k);
    sl_kstream_t *s;
    sl_kconsumer_t *c = sl_kapi_consumer(call, &s);
    if (!c) goto out_unlock;
    if (sl_kconsumer_status(c, call->now_ms) != SL_KS_ACTIVE) {
        sl_api_fail(call, "ResourceInUseException", "Consumer %s under account %s is not in ACTIVE state.", c->arn,
                    k->account);
        goto out_unlock;
    }
    sl_kshard_t *sh = sl_kapi_shard(call, s, shard_id, idlen);
    if (!sh) goto out_unlock;
    uint64_t position = 0;
    if (!sl_kapi_start_position(call, s, sh, "SubscribeToShard", type ? type : "", seq, slen, ts, &position))
        goto out_unlock;
    sl_sub_t *sub = calloc(1, sizeof *sub);
    if (!sub) {
        sl_api_fail_internal(call, SL_ENOMEM);
        goto out_unlock;
    }
    sub->api = api;
    sub->k = call->k;
    sub->req = call->req;
    sub->loop = sl_http_req_loop(call->req);
    sub->fmt = call->fmt;
    snprintf(sub->consumer_arn, sizeof sub->consumer_arn, "%s", c->arn);
    snprintf(sub->stream, sizeof sub->stream, "%s", s->name);
    sub->stream_created_ms = s->created_ms;
    sub->shard_index = sh->index;
    sub->shard_key = sh;
    sub->shard_created_ms = sh->created_ms;
    sub->position = position;
    sub->started_ms = call->now_ms;
    sub->refs = 1;
    sl_kinesis_unlock(k);

    /* the re-subscribe rule: one successful subscription per (consumer, shard) every 5 s; a later one
     * takes over from the older stream */
    pthread_mutex_lock(&api->sub_mu);
    size_t w = 0;
    bool recent = false;
    for (size_t i = 0; i < api->recent_count; i++) {
        if (call->now_ms - api->recent[i].ms >= SUB_RESUBSCRIBE_MS) continue;
        if (api->recent[i].shard_index == sub->shard_index && !strcmp(api->recent[i].consumer_arn, sub->consumer_arn))
            recent = true;
        api->recent[w++] = api->recent[i];
    }
    api->recent_count = w;
    if (recent) {
        pthread_mutex_unlock(&api->sub_mu);
        free(sub);
        sl_api_fail(call, "ResourceInUseException",
                    "Another active subscription exists for consumer %s on shard %.*s; a consumer can subscribe to a "
                    "shard once every 5 seconds.",
                    c->arn, (int)idlen, shard_id);
        return;
    }
    struct sl_sub_recent *nr = realloc(api->recent, (api->recent_count + 1) * sizeof *nr);
    if (nr) {
        api->recent = nr;
        snprintf(nr[api->recent_count].consumer_arn, sizeof nr->consumer_arn, "%s", sub->consumer_arn);
        nr[api->recent_count].shard_index = sub->shard_index;
        nr[api->recent_count].ms = call->now_ms;
        api->recent_count++;
    }
    for (sl_sub_t *o = api->subs; o; o = o->next) {
        if (o->shard_index != sub->shard_index || strcmp(o->consumer_arn, sub->consumer_arn) != 0) continue;
        __atomic_add_fetch(&o->refs, 1, __ATOMIC_ACQ_REL);
        if (sl_loop_post(o->loop, sub_terminate, o) != 0) __atomic_sub_fetch(&o->refs, 1, __ATOMIC_ACQ_REL);
    }
    sub->next = api->subs;
    api->subs = sub;
    __atomic_add_fetch(&api->sub_count, 1, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&api->sub_mu);

    char rid[64];
    snprintf(rid, sizeof rid, "%s", call->request_id);
    sl_http_header_t h[2] = {
        {"Content-Type", 12, "application/vnd.amazon.eventstream", 34},
        {"x-amzn-RequestId", 16, rid, strlen(rid)},
    };
    sl_http_stream_cbs_t cbs = {.on_writable = sub_on_writable, .on_close = sub_on_close, .arg = sub};
    if (sl_http_stream_begin(call->req, 200, h, 2, &cbs) != 0) {
        sub_end(sub);
        return;
    }
    const char *empty = call->fmt == SL_FMT_CBOR ? "\xbf\xff" : "{}";
    sub_write_event(sub, "event", ":event-type", "initial-response", empty, 2);
    sub_pump(sub);
    return;
out_unlock:
    sl_kinesis_unlock(k);
}

void sl_kapi_subs_attach(sl_api_t *api, sl_kinesis_t *k);
void sl_kapi_subs_attach(sl_api_t *api, sl_kinesis_t *k) {
    k->cfg.on_commit = on_commit;
    k->cfg.on_commit_ctx = api;
}
