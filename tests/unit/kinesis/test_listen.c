/* Commit listeners and the fan-out registry (kinesis/listen.c) on the memory backend (catalog in a
 * scratch directory): any number of listeners see every commit with its shard and tip while one
 * armed the table (none before), a removed one no more; a subscription armed with sl_kfanout_wait
 * is woken once by the next commit on its shard (not by other shards), kicks wake it at once, and
 * the 5-second re-subscribe rule and take-over hold. */
#include "kinesis_util.h"
#include "test.h"

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    int calls;
    uint64_t last_tip;
    uint32_t last_shard;
    char last_stream[129];
} counter_t;

#define COUNTER_INIT                                                                               \
    { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, "" }

static void on_commit(void *ctx, const sl_kcommit_t *c) {
    counter_t *n = ctx;
    pthread_mutex_lock(&n->mu);
    n->calls++;
    n->last_tip = c->next_seq;
    n->last_shard = c->shard_index;
    snprintf(n->last_stream, sizeof n->last_stream, "%s", c->stream);
    pthread_cond_broadcast(&n->cond);
    pthread_mutex_unlock(&n->mu);
}

static int calls(counter_t *n) {
    pthread_mutex_lock(&n->mu);
    int c = n->calls;
    pthread_mutex_unlock(&n->mu);
    return c;
}

static void put_one(sl_kinesis_t *k, sl_arena_t *a, const char *ehk) {
    sl_krecord_t r = kutil_record("pk", "data");
    r.explicit_hash_key = ehk;
    r.explicit_hash_key_len = strlen(ehk);
    sl_kput_t op;
    kutil_put(k, a, "s", &r, 1, true, &op);
    CHECK(op.err.type == SL_KERR_NONE);
}

static void test_listeners(sl_kinesis_t *k, sl_arena_t *a) {
    counter_t one = COUNTER_INIT, two = COUNTER_INIT;
    CHECK_EQ_INT(sl_kinesis_listener_add(k, on_commit, &one), 0);
    CHECK_EQ_INT(sl_kinesis_listener_add(k, on_commit, &two), 0);
    /* not called while no listener has armed the table */
    put_one(k, a, "0");
    CHECK_EQ_INT(calls(&one), 0);
    CHECK_EQ_INT(calls(&two), 0);
    sl_kinesis_listener_arm(k, 1);
    /* storage reports the commit before it completes the append, so both have seen it by now */
    put_one(k, a, "0");
    CHECK_EQ_INT(calls(&one), 1);
    CHECK_EQ_INT(calls(&two), 1);
    CHECK_EQ_INT(one.last_tip, 4); /* main put one record there already, and the put above */
    CHECK_EQ_INT(one.last_shard, 0);
    CHECK_EQ_STR(one.last_stream, "s");
    put_one(k, a, "340282366920938463463374607431768211455");
    CHECK_EQ_INT(two.last_shard, 1);
    CHECK_EQ_INT(two.last_tip, 2);
    sl_kinesis_listener_remove(k, on_commit, &one);
    put_one(k, a, "0");
    CHECK_EQ_INT(calls(&one), 2);
    CHECK_EQ_INT(calls(&two), 3);
    CHECK_EQ_INT(two.last_tip, 5);
    sl_kinesis_listener_remove(k, on_commit, &two);
    sl_kinesis_listener_arm(k, -1);
    /* a bounded table: the fan-out registry holds one slot */
    counter_t many[SL_KINESIS_LISTENERS_MAX];
    int added = 0;
    while (added < SL_KINESIS_LISTENERS_MAX &&
           sl_kinesis_listener_add(k, on_commit, &many[added]) == 0)
        added++;
    CHECK_EQ_INT(added, SL_KINESIS_LISTENERS_MAX - 1);
    for (int i = 0; i < added; i++)
        sl_kinesis_listener_remove(k, on_commit, &many[i]);
}

typedef struct {
    pthread_mutex_t mu;
    int wakes, replaced;
} sub_t;

static void sub_wake(void *arg) {
    sub_t *s = arg;
    pthread_mutex_lock(&s->mu);
    s->wakes++;
    pthread_mutex_unlock(&s->mu);
}

static void sub_replaced(void *arg) {
    sub_t *s = arg;
    pthread_mutex_lock(&s->mu);
    s->replaced++;
    pthread_mutex_unlock(&s->mu);
}

static int wakes(sub_t *s) {
    pthread_mutex_lock(&s->mu);
    int w = s->wakes;
    pthread_mutex_unlock(&s->mu);
    return w;
}

static void test_fanout(sl_kinesis_t *k, sl_arena_t *a) {
    const char *arn = "arn:aws:kinesis:us-east-1:123456789012:stream/s/consumer/c:1";
    sl_kiterator_t it;
    kutil_iterator(k, "s", "shardId-000000000000", (sl_kstart_t){.type = SL_KSTART_LATEST}, &it);
    CHECK(it.err.type == SL_KERR_NONE);
    sub_t s1 = {.mu = PTHREAD_MUTEX_INITIALIZER};
    sl_kfanout_cbs_t cbs = {.wake = sub_wake, .replaced = sub_replaced, .arg = &s1};
    sl_kerr_t err;
    int64_t now = sl_time_now_ms();
    sl_kfanout_t *f =
        sl_kfanout_add(k, &it.reader, arn, "shardId-000000000000", 20, now, &cbs, &err);
    CHECK(f != NULL);
    /* caught up at the tip: armed, nothing to read */
    CHECK(!sl_kfanout_wait(f, it.reader.position));
    CHECK(sl_kfanout_waiting(f));
    /* a commit on the other shard does not wake it */
    put_one(k, a, "340282366920938463463374607431768211455");
    CHECK_EQ_INT(wakes(&s1), 0);
    /* one on its shard does, once */
    put_one(k, a, "0");
    CHECK_EQ_INT(wakes(&s1), 1);
    CHECK(!sl_kfanout_waiting(f));
    put_one(k, a, "0");
    CHECK_EQ_INT(wakes(&s1), 1);
    /* behind the tip: wait says read now and arms nothing */
    CHECK(sl_kfanout_wait(f, it.reader.position));
    CHECK(!sl_kfanout_waiting(f));
    /* a kick (stream or consumer going away) wakes without a commit */
    sl_kinesis_fanout_kick(k, "s", NULL);
    CHECK_EQ_INT(wakes(&s1), 2);
    sl_kinesis_fanout_kick(k, "s", "arn:other");
    CHECK_EQ_INT(wakes(&s1), 2);
    sl_kinesis_fanout_kick(k, "other", NULL);
    CHECK_EQ_INT(wakes(&s1), 2);

    /* the same consumer and shard within 5 s: refused with AWS's text */
    sub_t s2 = {.mu = PTHREAD_MUTEX_INITIALIZER};
    cbs.arg = &s2;
    CHECK(sl_kfanout_add(k, &it.reader, arn, "shardId-000000000000", 20, now + 1000, &cbs, &err) ==
          NULL);
    CHECK(err.type == SL_KERR_RESOURCE_IN_USE);
    CHECK(strstr(err.message, "Another active subscription exists for consumer") != NULL);
    /* later: accepted, and the older subscription is told to end */
    sl_kfanout_t *g =
        sl_kfanout_add(k, &it.reader, arn, "shardId-000000000000", 20, now + 6000, &cbs, &err);
    CHECK(g != NULL);
    CHECK_EQ_INT(s1.replaced, 1);
    CHECK_EQ_INT(s2.replaced, 0);
    sl_kfanout_remove(f);
    sl_kfanout_remove(g);
    /* removed: no more wake-ups */
    sl_kinesis_fanout_kick(k, "s", NULL);
    CHECK_EQ_INT(wakes(&s1), 2);
    CHECK_EQ_INT(wakes(&s2), 0);
}

int main(void) {
    char *dir = kutil_tmpdir("klisten");
    kutil_engine_t e;
    sl_kinesis_t *k = kutil_open(&e, dir, true);
    sl_arena_t a;
    sl_arena_init(&a, 65536);
    kutil_stream(k, "s", 2);
    put_one(k, &a, "0"); /* shard 0 tip = 2 */
    test_listeners(k, &a);
    test_fanout(k, &a);
    sl_arena_deinit(&a);
    kutil_close(&e);
    kutil_rm_rf(dir);
    free(dir);
    TEST_MAIN_END();
}
