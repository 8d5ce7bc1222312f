/* Commit listeners and the SubscribeToShard fan-out registry (kinesis.h).
 *
 * Storage calls the engine once per shard per commit round (on its commit thread); the engine
 * passes the call to every registered listener while some listener is armed (a subscription, a
 * running mapping): otherwise it returns after one atomic load. The fan-out registry is the first
 * listener: it wakes the subscriptions caught up on that shard, each at most once per
 * sl_kfanout_wait. Other services (Firehose sources, event-source mappings, analytics, metrics) add
 * their own.
 *
 * Locks: `lock` (listeners) is read-held by the commit thread while it calls listeners and
 * write-held to add or remove one, so a removed listener is never called afterwards. The registry's
 * mutex `mu` guards its list; wake-ups are called under it (they only post to a loop). Neither is
 * held while taking the engine lock. */
#include "kinesis/kinesis.h"

#include "core/common.h"
#include "core/log.h"
#include "core/time.h"
#include "kinesis/engine.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sl_klisteners {
    pthread_rwlock_t lock;
    struct {
        sl_kcommit_fn fn;
        void *ctx;
    } items[SL_KINESIS_LISTENERS_MAX];
    size_t count;
    int armed; /* sl_kinesis_listener_arm's sum (atomic): listeners are called only while > 0 */
};

struct sl_kfanout {
    sl_kfanout_t *next; /* in the registry (under mu) */
    sl_kfanout_registry_t *reg;
    sl_kinesis_t *k;
    sl_kreader_t reader;   /* stream, incarnation and shard; position unused */
    const void *shard_key; /* the sl_kshard_t, compared only */
    char consumer_arn[512];
    sl_kfanout_cbs_t cbs;
    bool waiting; /* armed by sl_kfanout_wait (under mu) */
};

struct sl_kfanout_registry {
    pthread_mutex_t mu;
    sl_kfanout_t *subs; /* live subscriptions */
    int count;          /* written under mu, read atomically without it */
    struct {
        char consumer_arn[512];
        uint32_t shard_index;
        int64_t ms;
    } * recent; /* successful subscriptions of the last SL_KINESIS_RESUBSCRIBE_MS */
    size_t recent_count;
};

/* ---- listeners ---- */

static void fanout_on_commit(void *ctx, const sl_kcommit_t *c);

int sl_klisteners_init(sl_kinesis_t *k) {
    k->listeners = calloc(1, sizeof *k->listeners);
    k->fanout = calloc(1, sizeof *k->fanout);
    if (!k->listeners || !k->fanout) {
        free(k->listeners);
        free(k->fanout);
        k->listeners = NULL;
        k->fanout = NULL;
        return SL_ENOMEM;
    }
    pthread_rwlock_init(&k->listeners->lock, NULL);
    pthread_mutex_init(&k->fanout->mu, NULL);
    return sl_kinesis_listener_add(k, fanout_on_commit, k->fanout);
}

void sl_klisteners_deinit(sl_kinesis_t *k) {
    if (k->listeners) {
        pthread_rwlock_destroy(&k->listeners->lock);
        free(k->listeners);
        k->listeners = NULL;
    }
    if (k->fanout) {
        /* Subscriptions still registered belong to network loops that are gone by now; their
         * entries are left as they are (the process is ending). */
        free(k->fanout->recent);
        pthread_mutex_destroy(&k->fanout->mu);
        free(k->fanout);
        k->fanout = NULL;
    }
}

int sl_kinesis_listener_add(sl_kinesis_t *k, sl_kcommit_fn fn, void *ctx) {
    sl_klisteners_t *l = k->listeners;
    int rc = SL_ELIMIT;
    pthread_rwlock_wrlock(&l->lock);
    if (l->count < SL_KINESIS_LISTENERS_MAX) {
        l->items[l->count].fn = fn;
        l->items[l->count].ctx = ctx;
        l->count++;
        rc = 0;
    }
    pthread_rwlock_unlock(&l->lock);
    return rc;
}

void sl_kinesis_listener_remove(sl_kinesis_t *k, sl_kcommit_fn fn, void *ctx) {
    sl_klisteners_t *l = k->listeners;
    pthread_rwlock_wrlock(&l->lock);
    for (size_t i = 0; i < l->count; i++) {
        if (l->items[i].fn != fn || l->items[i].ctx != ctx) continue;
        memmove(&l->items[i], &l->items[i + 1], (l->count - i - 1) * sizeof l->items[0]);
        l->count--;
        break;
    }
    pthread_rwlock_unlock(&l->lock);
}

void sl_kinesis_listener_arm(sl_kinesis_t *k, int delta) {
    int v = __atomic_add_fetch(&k->listeners->armed, delta, __ATOMIC_ACQ_REL);
    SL_ASSERT(v >= 0);
    (void)v;
}

void sl_klisteners_notify(sl_kinesis_t *k, sl_kshard_t *shard, uint64_t next_seq) {
    sl_klisteners_t *l = k->listeners;
    /* Called per shard per commit round: with no listener armed (no subscription, no running
     * mapping) it returns before the lock (about 100 instructions per record at 4,096 shards). */
    if (!l || !shard || __atomic_load_n(&l->armed, __ATOMIC_ACQUIRE) == 0) return;
    /* The shard outlives its log's commits (a log is closed, completing its appends, before the
     * shard is freed), and its identity fields never change. */
    sl_kcommit_t c = {.shard_key = shard,
                      .stream = shard->stream->name,
                      .shard_index = shard->index,
                      .next_seq = next_seq};
    pthread_rwlock_rdlock(&l->lock);
    for (size_t i = 0; i < l->count; i++)
        l->items[i].fn(l->items[i].ctx, &c);
    pthread_rwlock_unlock(&l->lock);
}

/* ---- fan-out registry ---- */

/* Calls one wake-up of f unless one is armed-and-fired already (caller holds mu). */
static void wake_locked(sl_kfanout_t *f) {
    f->waiting = false;
    f->cbs.wake(f->cbs.arg);
}

static void fanout_on_commit(void *ctx, const sl_kcommit_t *c) {
    sl_kfanout_registry_t *reg = ctx;
    /* Called per shard per commit round: skip the lock when nobody subscribes. A subscription added
     * meanwhile checks the tip after arming (sl_kfanout_wait), so it misses no record. */
    if (__atomic_load_n(&reg->count, __ATOMIC_RELAXED) == 0) return;
    pthread_mutex_lock(&reg->mu);
    for (sl_kfanout_t *f = reg->subs; f; f = f->next)
        if (f->shard_key == c->shard_key && f->waiting) wake_locked(f);
    pthread_mutex_unlock(&reg->mu);
}

void sl_kinesis_fanout_kick(sl_kinesis_t *k, const char *stream, const char *consumer_arn) {
    sl_kfanout_registry_t *reg = k->fanout;
    pthread_mutex_lock(&reg->mu);
    for (sl_kfanout_t *f = reg->subs; f; f = f->next) {
        if (strcmp(f->reader.stream, stream) != 0 ||
            (consumer_arn && strcmp(f->consumer_arn, consumer_arn) != 0))
            continue;
        wake_locked(f);
    }
    pthread_mutex_unlock(&reg->mu);
}

sl_kfanout_t *sl_kfanout_add(sl_kinesis_t *k, const sl_kreader_t *reader, const char *consumer_arn,
                             const char *shard_id_text, size_t shard_id_len, int64_t now_ms,
                             const sl_kfanout_cbs_t *cbs, sl_kerr_t *err) {
    sl_kfanout_registry_t *reg = k->fanout;
    sl_kfanout_t *f = calloc(1, sizeof *f);
    if (!f) {
        sl_kerr_internal(err, SL_ENOMEM);
        return NULL;
    }
    f->reg = reg;
    f->k = k;
    f->reader = *reader;
    f->cbs = *cbs;
    snprintf(f->consumer_arn, sizeof f->consumer_arn, "%s", consumer_arn);
    sl_kinesis_rdlock(k);
    sl_kstream_t *s = sl_kinesis_find(k, reader->stream, strlen(reader->stream), now_ms);
    f->shard_key = s && s->created_ms == reader->stream_created_ms
                       ? sl_kstream_shard(s, reader->shard_index)
                       : NULL;
    sl_kinesis_unlock(k);

    pthread_mutex_lock(&reg->mu);
    size_t w = 0;
    bool recent = false;
    for (size_t i = 0; i < reg->recent_count; i++) {
        if (now_ms - reg->recent[i].ms >= SL_KINESIS_RESUBSCRIBE_MS) continue;
        if (reg->recent[i].shard_index == reader->shard_index &&
            !strcmp(reg->recent[i].consumer_arn, consumer_arn))
            recent = true;
        reg->recent[w++] = reg->recent[i];
    }
    reg->recent_count = w;
    if (recent) {
        pthread_mutex_unlock(&reg->mu);
        free(f);
        sl_kerr_set(err, SL_KERR_RESOURCE_IN_USE,
                    "Another active subscription exists for consumer %s on shard %.*s; a consumer "
                    "can subscribe to a "
                    "shard once every 5 seconds.",
                    consumer_arn, (int)shard_id_len, shard_id_text);
        return NULL;
    }
    void *nr = realloc(reg->recent, (reg->recent_count + 1) * sizeof *reg->recent);
    if (nr) {
        reg->recent = nr;
        snprintf(reg->recent[reg->recent_count].consumer_arn, sizeof reg->recent->consumer_arn,
                 "%s", consumer_arn);
        reg->recent[reg->recent_count].shard_index = reader->shard_index;
        reg->recent[reg->recent_count].ms = now_ms;
        reg->recent_count++;
    }
    for (sl_kfanout_t *o = reg->subs; o; o = o->next) {
        if (o->reader.shard_index != reader->shard_index ||
            strcmp(o->consumer_arn, consumer_arn) != 0)
            continue;
        o->cbs.replaced(o->cbs.arg);
    }
    f->next = reg->subs;
    reg->subs = f;
    __atomic_add_fetch(&reg->count, 1, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&reg->mu);
    sl_kinesis_listener_arm(k, 1); /* (before the subscription's first look at the tip) */
    return f;
}

bool sl_kfanout_wait(sl_kfanout_t *f, uint64_t position) {
    sl_kfanout_registry_t *reg = f->reg;
    pthread_mutex_lock(&reg->mu);
    f->waiting = true;
    pthread_mutex_unlock(&reg->mu);
    /* re-check the tip after arming, so that a commit between the last read and now is not lost */
    sl_kinesis_t *k = f->k;
    sl_shard_bounds_t b;
    bool more = false;
    sl_kinesis_rdlock(k);
    sl_kstream_t *s =
        sl_kinesis_find(k, f->reader.stream, strlen(f->reader.stream), sl_time_now_ms());
    sl_kshard_t *sh = s && s->created_ms == f->reader.stream_created_ms
                          ? sl_kstream_shard(s, f->reader.shard_index)
                          : NULL;
    if (sh && sh->log && sl_storage_bounds(sh->log, &b) == 0) more = b.next_seq > position;
    bool closed = sh && sl_kshard_ended(sh, true);
    sl_kinesis_unlock(k);
    if (!more && !closed) return false;
    sl_kfanout_unwait(f);
    return true;
}

bool sl_kfanout_waiting(sl_kfanout_t *f) {
    pthread_mutex_lock(&f->reg->mu);
    bool w = f->waiting;
    pthread_mutex_unlock(&f->reg->mu);
    return w;
}

void sl_kfanout_unwait(sl_kfanout_t *f) {
    pthread_mutex_lock(&f->reg->mu);
    f->waiting = false;
    pthread_mutex_unlock(&f->reg->mu);
}

void sl_kfanout_remove(sl_kfanout_t *f) {
    if (!f) return;
    sl_kfanout_registry_t *reg = f->reg;
    bool found = false;
    pthread_mutex_lock(&reg->mu);
    for (sl_kfanout_t **p = &reg->subs; *p; p = &(*p)->next) {
        if (*p == f) {
            *p = f->next;
            __atomic_sub_fetch(&reg->count, 1, __ATOMIC_RELAXED);
            found = true;
            break;
        }
    }
    pthread_mutex_unlock(&reg->mu);
    if (found) sl_kinesis_listener_arm(f->k, -1);
    free(f);
}
