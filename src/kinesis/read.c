/* The reader (kinesis.h): starting positions and shard iterators, reads with a record and byte
 * budget, SubscribeToShard's start, and the reader pool they run on.
 *
 * A read or an AT_TIMESTAMP seek looks the shard up under the engine's read lock, counts itself in
 * the shard's `readers` and queues a job; a pool thread then calls storage (pread, index rebuilds,
 * fdatasync) without the engine lock, drops the count, and only then takes the read lock again to
 * describe the result (shard end, children, encryption). The background thread removes a deleted
 * stream only when, holding the write lock, it sees every shard's count at 0 (else it retries a few
 * milliseconds later, never waiting under the lock), so a job never uses a closed log. */
#include "kinesis/kinesis.h"

#include "core/common.h"
#include "core/log.h"
#include "kinesis/engine.h"
#include "kinesis/names.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct sl_kreadpool {
    pthread_mutex_t mu;
    pthread_cond_t cv;      /* jobs queued or stopping */
    pthread_cond_t idle_cv; /* a client's last job finished */
    sl_kjob_t *head, *tail;
    size_t queued;
    bool stopping;
    pthread_t threads[SL_KINESIS_READ_THREADS_MAX];
    int nthreads;
};

/* ---- the pool ---- */

static void *pool_main(void *arg) {
    sl_kreadpool_t *p = arg;
    pthread_setname_np(pthread_self(), "sl-read");
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->head && !p->stopping)
            pthread_cond_wait(&p->cv, &p->mu);
        sl_kjob_t *j = p->head;
        if (!j) break; /* stopping with nothing queued */
        p->head = j->next;
        if (!p->head) p->tail = NULL;
        p->queued--;
        /* the job may be freed by its own callback: keep its client */
        sl_kpool_client_t *c = j->client;
        pthread_mutex_unlock(&p->mu);
        j->run(j);
        pthread_mutex_lock(&p->mu);
        SL_ASSERT(c->jobs > 0);
        if (--c->jobs == 0 && c->closed) pthread_cond_broadcast(&p->idle_cv);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

int sl_kreadpool_create(int threads, sl_kreadpool_t **out) {
    *out = NULL;
    if (threads < 1 || threads > SL_KINESIS_READ_THREADS_MAX) return SL_EINVAL;
    sl_kreadpool_t *p = calloc(1, sizeof *p);
    if (!p) return SL_ENOMEM;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    pthread_cond_init(&p->idle_cv, NULL);
    for (int i = 0; i < threads; i++) {
        if (pthread_create(&p->threads[i], NULL, pool_main, p) != 0) {
            sl_kreadpool_destroy(p);
            return SL_ENOMEM;
        }
        p->nthreads++;
    }
    *out = p;
    return 0;
}

void sl_kreadpool_destroy(sl_kreadpool_t *p) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->stopping = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    SL_ASSERT(p->head == NULL); /* every engine detached (and so drained) first */
    pthread_cond_destroy(&p->idle_cv);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

void sl_kreadpool_detach(sl_kinesis_t *k) {
    sl_kreadpool_t *p = k->readpool;
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    k->pool_client.closed = true;
    while (k->pool_client.jobs > 0)
        pthread_cond_wait(&p->idle_cv, &p->mu);
    pthread_mutex_unlock(&p->mu);
}

/* Queues a job (the caller counted itself in the shard's readers). */
static int pool_submit(sl_kinesis_t *k, sl_kjob_t *j) {
    sl_kreadpool_t *p = k->readpool;
    j->next = NULL;
    j->client = &k->pool_client;
    pthread_mutex_lock(&p->mu);
    if (p->stopping || k->pool_client.closed || p->queued >= SL_KINESIS_READ_QUEUE_MAX) {
        bool closed = p->stopping || k->pool_client.closed;
        pthread_mutex_unlock(&p->mu);
        return closed ? SL_ECLOSED : SL_EAGAIN;
    }
    if (p->tail)
        p->tail->next = j;
    else
        p->head = j;
    p->tail = j;
    p->queued++;
    k->pool_client.jobs++;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    return 0;
}

/* A job is done with the shard's log. The shard must not be touched afterwards (the background
 * thread may close the log and free the shard as soon as the count is 0). */
static void reader_done(sl_kshard_t *sh) {
    int left = __atomic_sub_fetch(&sh->readers, 1, __ATOMIC_ACQ_REL);
    SL_ASSERT(left >= 0);
}

/* ---- positions ---- */

static const char *const start_names[] = {"AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER",
                                          "TRIM_HORIZON", "LATEST", "AT_TIMESTAMP"};

sl_kstart_type_t sl_kstart_type_parse(const char *text) {
    for (int t = SL_KSTART_AT_SEQUENCE_NUMBER; t < SL_KSTART_AT_TIMESTAMP; t++)
        if (text && strcmp(text, start_names[t]) == 0) return (sl_kstart_type_t)t;
    return SL_KSTART_AT_TIMESTAMP;
}

const char *sl_kstart_type_name(sl_kstart_type_t t) {
    return start_names[t];
}

static bool shard_expired(const sl_kstream_t *s, const sl_kshard_t *sh, int64_t now_ms) {
    return sh->closed_ms && sh->closed_ms + (int64_t)s->retention_hours * 3600000 < now_ms;
}

/* Shard by ShardId text, with AWS's two texts for a malformed and a missing id. */
static sl_kshard_t *shard_by_id(sl_kinesis_t *k, sl_kstream_t *s, const char *id, size_t len,
                                int64_t now_ms, sl_kerr_t *err) {
    uint32_t index;
    if (sl_shardid_parse(id, len, &index) != 0) {
        sl_kerr_set(err, SL_KERR_RESOURCE_NOT_FOUND,
                    "Could not find shard %.*s in stream %s under account %s.", (int)len, id,
                    s->name, k->account);
        return NULL;
    }
    sl_kshard_t *sh = sl_kstream_shard(s, index);
    if (!sh || shard_expired(s, sh, now_ms)) {
        char norm[24];
        sl_shardid_format(index, norm);
        sl_kerr_set(err, SL_KERR_RESOURCE_NOT_FOUND,
                    "Shard %s in stream %s under account %s does not exist", norm, s->name,
                    k->account);
        return NULL;
    }
    return sh;
}

static void seek_run(sl_kjob_t *j);

/* Resolves op->start on shard sh of stream s into op->reader (caller holds the engine lock).
 * Returns DONE (reader or err filled) or PENDING when an AT_TIMESTAMP seek was queued. */
static int position_locked(sl_kinesis_t *k, sl_kiterator_t *op, sl_kstream_t *s, sl_kshard_t *sh) {
    const sl_kstart_t *st = &op->start;
    bool at = st->type == SL_KSTART_AT_SEQUENCE_NUMBER,
         after = st->type == SL_KSTART_AFTER_SEQUENCE_NUMBER;
    bool horizon = st->type == SL_KSTART_TRIM_HORIZON, latest = st->type == SL_KSTART_LATEST;
    const char *seq = st->sequence_number;
    size_t slen = st->sequence_number_len;
    sl_kerr_t *err = &op->err;
    if ((at || after) && !seq) {
        sl_kerr_set(err, SL_KERR_INVALID_ARGUMENT,
                    "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and "
                    "StartingSequenceNumber "
                    "or (2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. Request "
                    "specified %s and no "
                    "StartingSequenceNumber.",
                    sl_kstart_type_name(st->type));
        return SL_KINESIS_DONE;
    }
    if ((horizon || latest) && seq) {
        sl_kerr_set(err, SL_KERR_INVALID_ARGUMENT,
                    "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and "
                    "StartingSequenceNumber "
                    "or (2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. Request "
                    "specified %s and also a "
                    "StartingSequenceNumber.",
                    sl_kstart_type_name(st->type));
        return SL_KINESIS_DONE;
    }
    op->reader = (sl_kreader_t){.stream_created_ms = s->created_ms, .shard_index = sh->index};
    snprintf(op->reader.stream, sizeof op->reader.stream, "%s", s->name);
    sl_shard_bounds_t b;
    if (!sh->log || sl_storage_bounds(sh->log, &b) != 0) {
        sl_kerr_internal(err, SL_EIO);
        return SL_KINESIS_DONE;
    }
    if (latest) {
        op->reader.position = b.next_seq;
    } else if (at || after) {
        sl_seqnum_t sn;
        if (sl_seqnum_parse(seq, slen, &sn) != 0) {
            sl_kerr_set(err, SL_KERR_INVALID_ARGUMENT,
                        "StartingSequenceNumber %.*s used in %s on shard %s in stream %s under "
                        "account %s is invalid.",
                        (int)slen, seq, op->op_name, sh->id, s->name, k->account);
            return SL_KINESIS_DONE;
        }
        if (sn.shard_index != sh->index) {
            char other[24];
            sl_shardid_format(sn.shard_index, other);
            sl_kerr_set(err, SL_KERR_INVALID_ARGUMENT,
                        "Invalid StartingSequenceNumber. It encodes %s, while it was used in a "
                        "call to a shard with %s",
                        other, sh->id);
            return SL_KINESIS_DONE;
        }
        if (sn.version != 2 || sn.shard_created_s != sh->created_ms / 1000) {
            sl_kerr_set(err, SL_KERR_INVALID_ARGUMENT,
                        "StartingSequenceNumber %.*s used in %s on shard %s in stream %s under "
                        "account %s is invalid "
                        "because it did not come from this stream.",
                        (int)slen, seq, op->op_name, sh->id, s->name, k->account);
            return SL_KINESIS_DONE;
        }
        op->reader.position = after ? sn.counter + 1 : sn.counter;
    } else if (!horizon) { /* AT_TIMESTAMP */
        if (!st->has_timestamp) {
            sl_kerr_set(err, SL_KERR_INVALID_ARGUMENT,
                        "Must specify timestampInMillis parameter for iterator of type "
                        "AT_TIMESTAMP. Current request "
                        "has no timestamp parameter.");
            return SL_KINESIS_DONE;
        }
        if (st->timestamp_ms > op->now_ms) {
            sl_kerr_set(err, SL_KERR_INVALID_ARGUMENT,
                        "The timestampInMillis parameter cannot be greater than the "
                        "currentTimestampInMillis. "
                        "timestampInMillis: %lld, currentTimestampInMillis: %lld",
                        (long long)st->timestamp_ms, (long long)op->now_ms);
            return SL_KINESIS_DONE;
        }
        /* the seek reads index and segment files: on the pool */
        op->k = k;
        op->shard = sh;
        op->job.run = seek_run;
        __atomic_add_fetch(&sh->readers, 1, __ATOMIC_ACQ_REL);
        int rc = pool_submit(k, &op->job);
        if (rc) {
            reader_done(sh);
            sl_kerr_storage(err, k, rc);
            return SL_KINESIS_DONE;
        }
        return SL_KINESIS_PENDING;
    }
    return SL_KINESIS_DONE;
}

static void iterator_finish(sl_kinesis_t *k, sl_kiterator_t *op) {
    if (op->err.type || !op->want_iterator) return;
    int n = sl_kinesis_iterator_seal(k, &op->reader, op->now_ms, op->iterator);
    if (n <= 0)
        sl_kerr_internal(&op->err, SL_EINVAL);
    else
        op->iterator_len = (size_t)n;
}

static void seek_run(sl_kjob_t *j) {
    sl_kiterator_t *op = (sl_kiterator_t *)((char *)j - offsetof(sl_kiterator_t, job));
    sl_kinesis_t *k = op->k;
    uint64_t pos = 0;
    int rc = sl_storage_seek_time(op->shard->log, op->start.timestamp_ms, &pos);
    reader_done(op->shard);
    op->shard = NULL;
    if (rc)
        sl_kerr_internal(&op->err, rc);
    else
        op->reader.position = pos;
    iterator_finish(k, op);
    op->cb(op);
}

int sl_kinesis_shard_iterator(sl_kinesis_t *k, sl_kiterator_t *op) {
    op->err.type = SL_KERR_NONE;
    op->iterator_len = 0;
    op->want_iterator = true;
    if (!op->op_name) op->op_name = "GetShardIterator";
    sl_kinesis_rdlock(k);
    sl_kstream_t *s = NULL;
    int rc = SL_KINESIS_DONE;
    if (op->stream.name && !op->stream.arn) {
        /* AWS names the shard, not the stream, when the stream does not exist */
        s = sl_kinesis_find(k, op->stream.name, op->stream.name_len, op->now_ms);
        if (!s) {
            uint32_t index;
            char norm[24];
            if (sl_shardid_parse(op->shard_id, op->shard_id_len, &index) == 0)
                sl_shardid_format(index, norm);
            else
                snprintf(norm, sizeof norm, "%.*s", (int)SL_MIN(op->shard_id_len, 23),
                         op->shard_id);
            sl_kerr_set(&op->err, SL_KERR_RESOURCE_NOT_FOUND,
                        "Shard %s in stream %.*s under account %s does not exist", norm,
                        (int)op->stream.name_len, op->stream.name, k->account);
            goto out;
        }
    } else {
        s = sl_kinesis_resolve(k, &op->stream, op->now_ms, &op->err);
    }
    if (!s) goto out;
    sl_kshard_t *sh = shard_by_id(k, s, op->shard_id, op->shard_id_len, op->now_ms, &op->err);
    if (!sh) goto out;
    /* AWS: 5 GetShardIterator calls per second per open shard (throttle.h's one-second bucket) */
    if (op->limited && k->cfg.throughput_limits &&
        !sl_kbucket_take(&sh->limits.iterator_calls,
                         sl_kbucket_cost_ns(1, SL_KTHROTTLE_ITERATOR_CALLS_PER_S),
                         sl_kthrottle_now_ns())) {
        sl_kerr_set(&op->err, SL_KERR_THROUGHPUT_EXCEEDED,
                    "Rate exceeded for shard %s in stream %s under account %s.", sh->id, s->name,
                    k->account);
        goto out;
    }
    rc = position_locked(k, op, s, sh);
out:
    sl_kinesis_unlock(k);
    if (rc == SL_KINESIS_DONE) iterator_finish(k, op);
    return rc;
}

/* ---- iterators ---- */

bool sl_kinesis_iterator_open(sl_kinesis_t *k, const char *text, size_t len, int64_t now_ms,
                              sl_kreader_t *out, sl_kerr_t *err) {
    sl_iterator_t it;
    if (!text || sl_iterator_decode(k->token_key, text, len, &it) != 0)
        return sl_kerr_set(err, SL_KERR_INVALID_ARGUMENT, "Invalid ShardIterator.");
    if (now_ms - it.issued_ms > k->cfg.iterator_ttl_ms) {
        char created[40], now[40];
        /* Java's Date.toString() in UTC, as AWS prints it: "Thu Jan 22 01:22:02 UTC 2015". */
        int64_t ms[2] = {it.issued_ms, now_ms};
        char *outs[2] = {created, now};
        for (int i = 0; i < 2; i++) {
            time_t t = (time_t)(ms[i] / 1000);
            struct tm tm;
            gmtime_r(&t, &tm);
            strftime(outs[i], 40, "%a %b %d %H:%M:%S UTC %Y", &tm);
        }
        return sl_kerr_set(err, SL_KERR_EXPIRED_ITERATOR,
                           "Iterator expired. The iterator was created at time %s while right now "
                           "it is %s which is "
                           "further in the future than the tolerated delay of %d milliseconds.",
                           created, now, (int)k->cfg.iterator_ttl_ms);
    }
    *out = (sl_kreader_t){.stream_created_ms = it.stream_created_ms,
                          .shard_index = it.shard_index,
                          .position = it.position};
    memcpy(out->stream, it.stream_name, sizeof out->stream);
    return true;
}

int sl_kinesis_iterator_seal(sl_kinesis_t *k, const sl_kreader_t *reader, int64_t now_ms,
                             char out[SL_TOKEN_ITERATOR_CHARS_MAX + 1]) {
    sl_iterator_t it = {.stream_created_ms = reader->stream_created_ms,
                        .shard_index = reader->shard_index,
                        .position = reader->position,
                        .issued_ms = now_ms};
    memcpy(it.stream_name, reader->stream, sizeof it.stream_name);
    return sl_iterator_encode(k->token_key, &it, out, SL_TOKEN_ITERATOR_CHARS_MAX + 1);
}

/* ---- reads ---- */

static void read_run(sl_kjob_t *j);
static void read_result(sl_kread_t *op, sl_read_result_t *res);
static void read_shard_locked(sl_kread_t *op, const sl_kstream_t *s, sl_kshard_t *sh);

/* Is the consumer (SubscribeToShard) still ACTIVE? (caller holds the engine lock) */
static bool consumer_active(const sl_kstream_t *s, const char *arn, int64_t now_ms) {
    bool ok = false;
    for (size_t i = 0; s && i < s->consumer_count; i++)
        if (!strcmp(s->consumers[i]->arn, arn))
            ok = sl_kconsumer_status(s->consumers[i], now_ms) == SL_KS_ACTIVE;
    return ok;
}

/* Fault injection (fault.h) on one GetRecords call: the latency to add, and false with the error
 * set when an error rule hit (caller holds the engine lock). */
static bool read_fault(sl_kread_t *op, const sl_kstream_t *s, const sl_kshard_t *sh) {
    sl_kinesis_t *k = op->k;
    const sl_kfault_rule_t *rules[SL_KINESIS_FAULT_RULES_MAX];
    size_t n = sl_kfaults_select(k, s, SL_KFAULT_READ, rules);
    if (!n) return true;
    op->delay_ms = sl_kfaults_latency(k, rules, n);
    switch (sl_kfaults_error(k, rules, n)) {
    case SL_KFAULT_ERROR_NONE:
        return true;
    case SL_KFAULT_ERROR_THROUGHPUT:
        return sl_kerr_set(&op->err, SL_KERR_THROUGHPUT_EXCEEDED,
                           "Rate exceeded for Shard - %s/%s/%s", k->account, s->name, sh->id);
    case SL_KFAULT_ERROR_INTERNAL:
        break;
    }
    return sl_kerr_internal(&op->err, SL_KINESIS_FAULT_STATUS);
}

int sl_kinesis_read(sl_kinesis_t *k, sl_kread_t *op) {
    const sl_kreader_t *r = &op->reader;
    op->err.type = SL_KERR_NONE;
    op->gone = false;
    op->res = NULL;
    op->records = NULL;
    op->record_encrypted = NULL;
    op->count = op->bytes = 0;
    op->shard_metrics = 0;
    op->k = k;
    op->delay_ms = 0;
    sl_kinesis_rdlock(k);
    sl_kstream_t *s = sl_kinesis_find(k, r->stream, strlen(r->stream), op->now_ms);
    if (s && s->created_ms != r->stream_created_ms) s = NULL;
    sl_kshard_t *sh = s ? sl_kstream_shard(s, r->shard_index) : NULL;
    if (op->consumer_arn) {
        /* SubscribeToShard: the subscription ends when its stream, shard or consumer went away */
        bool consumer_ok = consumer_active(s, op->consumer_arn, op->now_ms);
        if (!sh || !sh->log || !consumer_ok) {
            bool consumer = !consumer_ok && sh;
            sl_kerr_set(&op->err, SL_KERR_RESOURCE_NOT_FOUND, "%s %s under account %s not found.",
                        consumer ? "Consumer" : "Stream", consumer ? op->consumer_arn : r->stream,
                        k->account);
            goto done;
        }
    } else {
        char id[24];
        sl_shardid_format(r->shard_index, id);
        if (!s) {
            sl_kerr_set(&op->err, SL_KERR_RESOURCE_NOT_FOUND,
                        "Shard %s in stream %s under account %s does not exist", id, r->stream,
                        k->account);
            goto done;
        }
        if (op->stream_arn && (strlen(s->arn) != op->stream_arn_len ||
                               memcmp(s->arn, op->stream_arn, op->stream_arn_len) != 0)) {
            sl_kerr_set(&op->err, SL_KERR_INVALID_ARGUMENT,
                        "StreamARN %.*s does not match the stream of the ShardIterator.",
                        (int)op->stream_arn_len, op->stream_arn);
            goto done;
        }
        if (!sh || !sh->log) {
            sl_kerr_set(&op->err, SL_KERR_RESOURCE_NOT_FOUND,
                        "Shard %s in stream %s under account %s does not exist", id, s->name,
                        k->account);
            goto done;
        }
        if (k->faults.count && !read_fault(op, s, sh)) goto done;
        if (k->cfg.throughput_limits &&
            !sl_kshard_limits_read(&sh->limits, &k->rates, sl_kthrottle_now_ns())) {
            sl_kerr_set(&op->err, SL_KERR_THROUGHPUT_EXCEEDED, "Rate exceeded for Shard - %s/%s/%s",
                        k->account, s->name, sh->id);
            op->shard_metrics = s->metrics; /* ReadProvisionedThroughputExceeded per shard */
            goto done;
        }
    }
    op->cutoff_ms = op->now_ms - (int64_t)s->retention_hours * 3600000;
    op->shard_created_ms = sh->created_ms;
    op->shard_index = sh->index;
    if (op->memory_first) {
        /* Records still in storage's memory are copied here, on the caller's thread, under the
         * read lock (which keeps the log open): no I/O, a bounded copy, and no trip to a pool
         * thread and back, which is most of a caught-up subscriber's latency. */
        sl_read_result_t *res = NULL;
        if (sl_storage_read_memory(sh->log, r->position, op->records_max, op->bytes_max,
                                   op->cutoff_ms, &res) == 0) {
            read_result(op, res);
            read_shard_locked(op, s, sh);
            goto done;
        }
    }
    op->shard = sh;
    op->job.run = read_run;
    __atomic_add_fetch(&sh->readers, 1, __ATOMIC_ACQ_REL);
    int rc = pool_submit(k, &op->job);
    if (rc) {
        reader_done(sh);
        sl_kerr_storage(&op->err, k, rc);
        goto done;
    }
    sl_kinesis_unlock(k);
    return SL_KINESIS_PENDING;
done:
    sl_kinesis_unlock(k);
    return SL_KINESIS_DONE;
}

int64_t sl_kinesis_efo_charge(sl_kinesis_t *k, sl_kefo_budget_t *budget, size_t bytes) {
    if (!k->cfg.throughput_limits || !bytes) return 0;
    sl_kbucket_t *b = (sl_kbucket_t *)(void *)&budget->full_ns;
    int64_t now = sl_kthrottle_now_ns();
    sl_kbucket_charge(b, sl_kbucket_cost_ns((int64_t)bytes, k->rates.efo_bytes_per_s), now);
    /* the next read may start once the bucket is out of debt (as GetRecords' bandwidth) */
    int64_t debt_ns = __atomic_load_n(&b->full_ns, __ATOMIC_RELAXED) - now - SL_KTHROTTLE_NS_PER_S;
    return debt_ns > 0 ? (debt_ns + 999999) / 1000000 : 0;
}

/* Describes a completed storage read: the records and positions (no lock needed). */
static void read_result(sl_kread_t *op, sl_read_result_t *res) {
    /* storage's contract: a read never moves a reader backwards, and returns records in order from
     * its position on */
    SL_ASSERT(res->next_seq >= op->reader.position);
    SL_ASSERT(res->count == 0 || (res->records[0].seq >= op->reader.position &&
                                  res->records[res->count - 1].seq + 1 == res->next_seq));
    op->res = res;
    op->records = sl_krecords_of(res->records);
    op->count = res->count;
    op->bytes = res->bytes;
    op->next_position = res->next_seq;
    op->caught_up = res->next_seq >= res->bounds.next_seq;
    int64_t behind = 0;
    if (!op->caught_up && res->count)
        behind = res->bounds.last_arrival_ms - res->records[res->count - 1].arrival_ms;
    op->millis_behind = behind < 0 ? 0 : behind;
    if (res->count) {
        const sl_record_t *last = &res->records[res->count - 1];
        op->continuation =
            sl_kinesis_seqnum(op->shard_created_ms, op->shard_index, last->seq, last->arrival_ms);
    } else {
        op->continuation = sl_kinesis_seqnum(
            op->shard_created_ms, op->shard_index, res->next_seq ? res->next_seq - 1 : 0,
            res->next_seq > 1 ? res->bounds.last_arrival_ms : op->shard_created_ms);
    }
    op->shard_ended = false;
    op->child_count = 0;
}

/* Describes the shard after a read: gone, encryption, shard end and children (caller holds the
 * engine lock; s and sh as looked up now, NULL when gone). */
static void read_shard_locked(sl_kread_t *op, const sl_kstream_t *s, sl_kshard_t *sh) {
    sl_kinesis_t *k = op->k;
    const sl_kreader_t *r = &op->reader;
    if (!sh) {
        op->gone = true;
        sl_kerr_stream_not_found(&op->err, k, r->stream, strlen(r->stream));
    } else {
        /* GetRecords' bytes count against the shard's read bandwidth once they are known */
        if (k->cfg.throughput_limits && !op->consumer_arn)
            sl_kshard_limits_read_bytes(&sh->limits, &k->rates, (int64_t)op->bytes,
                                        sl_kthrottle_now_ns());
        op->encrypted = s->encrypted;
        op->shard_metrics = s->metrics;
        op->kms_on = k->cfg.kms != NULL;
        sl_kcrypt_open(k, s, op);
        op->shard_ended = sl_kshard_ended(sh, op->caught_up);
        for (size_t i = 0; op->shard_ended && i < s->shard_count && op->child_count < 2; i++) {
            const sl_kshard_t *c = s->shards[i];
            if (c->parent != (int32_t)sh->index && c->adjacent_parent != (int32_t)sh->index)
                continue;
            sl_kchild_t *ch = &op->children[op->child_count++];
            memcpy(ch->shard_id, c->id, sizeof ch->shard_id);
            ch->parent_count = 0;
            if (c->parent >= 0)
                sl_shardid_format((uint32_t)c->parent, ch->parents[ch->parent_count++]);
            if (c->adjacent_parent >= 0)
                sl_shardid_format((uint32_t)c->adjacent_parent, ch->parents[ch->parent_count++]);
            memcpy(ch->start_dec, c->start_dec, sizeof ch->start_dec);
            memcpy(ch->end_dec, c->end_dec, sizeof ch->end_dec);
        }
    }
}

/* Describes a read completed on the pool (engine lock taken here, after the I/O). */
static void read_finish(sl_kread_t *op, sl_read_result_t *res) {
    sl_kinesis_t *k = op->k;
    read_result(op, res);
    sl_kinesis_rdlock(k);
    const sl_kreader_t *r = &op->reader;
    sl_kstream_t *s = sl_kinesis_find(k, r->stream, strlen(r->stream), op->now_ms);
    sl_kshard_t *sh =
        s && s->created_ms == r->stream_created_ms ? sl_kstream_shard(s, r->shard_index) : NULL;
    read_shard_locked(op, s, sh);
    sl_kinesis_unlock(k);
}

static void read_storage_cb(void *arg, int status, sl_read_result_t *res) {
    sl_kread_t *op = arg;
    reader_done(op->shard);
    op->shard = NULL;
    if (status != 0 || !res) {
        if (res) sl_storage_read_free(res);
        sl_kerr_storage(&op->err, op->k, status ? status : SL_ENOMEM);
    } else {
        read_finish(op, res);
    }
    op->cb(op);
}

static void read_run(sl_kjob_t *j) {
    sl_kread_t *op = (sl_kread_t *)((char *)j - offsetof(sl_kread_t, job));
    int rc = sl_storage_read(op->shard->log, op->reader.position, op->records_max, op->bytes_max,
                             op->cutoff_ms, read_storage_cb, op);
    if (rc) {
        reader_done(op->shard);
        op->shard = NULL;
        sl_kerr_storage(&op->err, op->k, rc);
        op->cb(op);
    }
}

void sl_kread_release(sl_kread_t *op) {
    if (op->res) sl_storage_read_free(op->res);
    free(op->record_encrypted);
    op->record_encrypted = NULL;
    op->res = NULL;
    op->records = NULL;
    op->count = 0;
}

/* ---- SubscribeToShard's start ---- */

static void subscribe_position_done(sl_kiterator_t *it) {
    sl_ksubscribe_t *op = (sl_ksubscribe_t *)((char *)it - offsetof(sl_ksubscribe_t, it));
    op->err = it->err;
    op->reader = it->reader;
    op->cb(op);
}

int sl_kinesis_subscribe(sl_kinesis_t *k, sl_ksubscribe_t *op) {
    op->err.type = SL_KERR_NONE;
    const char *arn = op->consumer_arn;
    size_t alen = op->consumer_arn_len;
    int rc = SL_KINESIS_DONE;
    sl_kinesis_rdlock(k);
    sl_kstream_t *s = NULL;
    sl_kconsumer_t *c = NULL;
    sl_arn_t a;
    if (!arn) {
        sl_kerr_set(&op->err, SL_KERR_INVALID_ARGUMENT,
                    "Either ConsumerARN or both ConsumerName and StreamARN must be provided.");
        goto out;
    }
    if (sl_arn_parse_consumer(arn, alen, &a) != 0) {
        sl_kerr_set(&op->err, SL_KERR_INVALID_ARGUMENT, "Invalid ConsumerARN %.*s.", (int)alen,
                    arn);
        goto out;
    }
    if (a.account_len == strlen(k->account) && memcmp(a.account, k->account, a.account_len) == 0)
        s = sl_kinesis_find(k, a.stream, a.stream_len, op->now_ms);
    c = s ? sl_kstream_consumer(s, a.consumer, a.consumer_len) : NULL;
    if (!c || strlen(c->arn) != alen || memcmp(c->arn, arn, alen) != 0 ||
        sl_kconsumer_status(c, op->now_ms) == SL_KS_GONE) {
        sl_kerr_set(&op->err, SL_KERR_RESOURCE_NOT_FOUND,
                    "Consumer %.*s under account %s not found.", (int)alen, arn, k->account);
        goto out;
    }
    if (sl_kconsumer_status(c, op->now_ms) != SL_KS_ACTIVE) {
        sl_kerr_set(&op->err, SL_KERR_RESOURCE_IN_USE,
                    "Consumer %s under account %s is not in ACTIVE state.", c->arn, k->account);
        goto out;
    }
    snprintf(op->consumer, sizeof op->consumer, "%s", c->arn);
    sl_kshard_t *sh = shard_by_id(k, s, op->shard_id, op->shard_id_len, op->now_ms, &op->err);
    if (!sh) goto out;
    op->it = (sl_kiterator_t){.start = op->start,
                              .op_name = "SubscribeToShard",
                              .now_ms = op->now_ms,
                              .cb = subscribe_position_done};
    rc = position_locked(k, &op->it, s, sh);
    if (rc == SL_KINESIS_DONE) {
        op->err = op->it.err;
        op->reader = op->it.reader;
    }
out:
    sl_kinesis_unlock(k);
    return rc;
}
