/* Unit tests for the event loop: posts from other threads run on the loop thread in FIFO order,
 * timers fire in deadline order, cancelled timers never fire, and sl_loop_current() tells loop
 * threads apart. */
#include "core/time.h"
#include "core/wakebatch.h"
#include "net/loop_internal.h"
#include "test.h"

#include <pthread.h>
#include <time.h>
#include <unistd.h>

static sl_loop_t *g_loop;
static int order[16];
static int order_len;
static int posts_seen;
static bool post_on_loop_thread = true;

static void record(void *arg) {
    order[order_len++] = (int)(intptr_t)arg;
}
static void fail_fn(void *arg) {
    (void)arg;
    order[order_len++] = -1;
}
static void stop_fn(void *arg) {
    sl_loop_stop(arg);
}

static void count_post(void *arg) {
    (void)arg;
    if (sl_loop_current() != g_loop) post_on_loop_thread = false;
    posts_seen++;
    if (posts_seen == 4000) sl_loop_stop(g_loop);
}

static void *poster(void *arg) {
    (void)arg;
    for (int i = 0; i < 2000; i++)
        sl_loop_post(g_loop, count_post, NULL);
    return NULL;
}

/* Ping-pong: the thread posts, then waits for the loop to run the post before the next one, so
 * every post finds the loop asleep in epoll_wait (no timer pending) or about to be: a post that
 * did not wake it would never run. */
static pthread_mutex_t pp_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pp_cv = PTHREAD_COND_INITIALIZER;
static int pp_ran, pp_lost;

static void pp_fn(void *arg) {
    (void)arg;
    pthread_mutex_lock(&pp_mu);
    pp_ran++;
    pthread_cond_signal(&pp_cv);
    pthread_mutex_unlock(&pp_mu);
}

static void *pinger(void *arg) {
    (void)arg;
    for (int i = 0; i < 2000 && !pp_lost; i++) {
        sl_loop_post(g_loop, pp_fn, NULL);
        pthread_mutex_lock(&pp_mu);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 5;
        while (pp_ran <= i && pthread_cond_timedwait(&pp_cv, &pp_mu, &until) == 0) {
        }
        if (pp_ran <= i) pp_lost = 1;
        pthread_mutex_unlock(&pp_mu);
    }
    sl_loop_post(g_loop, stop_fn, g_loop);
    return NULL;
}

/* A post made on the loop thread itself, while the loop is awake, runs on its next iteration. */
static int self_posts;
static void self_post(void *arg) {
    if (++self_posts < 1000)
        sl_loop_post(g_loop, self_post, arg);
    else
        sl_loop_stop(g_loop);
}

/* A node posted again by its own function (sl_loop_post_node): the loop reads it before the call.
 */
static sl_loop_node_t self_node;
static int node_posts;
static void node_self_post(void *arg) {
    if (++node_posts < 1000)
        sl_loop_post_node(g_loop, &self_node, node_self_post, arg);
    else
        sl_loop_stop(g_loop);
}

/* Posts within a wake-up batch (what the commit thread does for a round's completions): a sleeping
 * loop is woken once, at the batch's end, and never left asleep. Each of 300 rounds waits until
 * the previous round's posts ran and the loop had time to fall asleep, then posts three nodes in a
 * batch, waits 20 ms inside it (a post that woke the loop at once would run meanwhile), ends it and
 * waits for the three to run. */
static sl_loop_node_t batch_nodes[3];
static int batch_ran, batch_lost, batch_early, batch_rounds;

static void batch_fn(void *arg) {
    (void)arg;
    pthread_mutex_lock(&pp_mu);
    batch_ran++;
    pthread_cond_signal(&pp_cv);
    pthread_mutex_unlock(&pp_mu);
}

static void *batcher(void *arg) {
    (void)arg;
    for (int i = 0; i < 300 && !batch_lost; i++) {
        usleep(i < 20 ? 5000 : 200);
        sl_wake_batch_begin();
        for (int k = 0; k < 3; k++)
            sl_loop_post_node(g_loop, &batch_nodes[k], batch_fn, NULL);
        if (i < 20) {
            usleep(20000);
            pthread_mutex_lock(&pp_mu);
            if (batch_ran > 3 * i) batch_early++;
            pthread_mutex_unlock(&pp_mu);
        }
        sl_wake_batch_end();
        pthread_mutex_lock(&pp_mu);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 5;
        while (batch_ran < 3 * (i + 1) && pthread_cond_timedwait(&pp_cv, &pp_mu, &until) == 0) {
        }
        if (batch_ran < 3 * (i + 1)) batch_lost = 1;
        pthread_mutex_unlock(&pp_mu);
        batch_rounds++;
    }
    sl_loop_post(g_loop, stop_fn, g_loop);
    return NULL;
}

int main(void) {
    CHECK(sl_loop_current() == NULL);
    CHECK_EQ_INT(sl_loop_create(&g_loop), 0);

    /* Timers: fire in deadline order; a cancelled one never runs. */
    int64_t t0 = sl_time_mono_ms();
    sl_timer_start(g_loop, 60, record, (void *)3);
    sl_timer_start(g_loop, 20, record, (void *)1);
    sl_timer_t *c = sl_timer_start(g_loop, 30, fail_fn, NULL);
    sl_timer_start(g_loop, 40, record, (void *)2);
    sl_timer_start(g_loop, 40, record, (void *)22); /* same deadline: FIFO */
    sl_timer_cancel(c);
    sl_timer_start(g_loop, 80, stop_fn, g_loop);
    sl_loop_run(g_loop);
    int64_t elapsed = sl_time_mono_ms() - t0;
    CHECK_EQ_INT(order_len, 4);
    CHECK_EQ_INT(order[0], 1);
    CHECK_EQ_INT(order[1], 2);
    CHECK_EQ_INT(order[2], 22);
    CHECK_EQ_INT(order[3], 3);
    CHECK(elapsed >= 80 && elapsed < 2000);

    /* Posts from two threads all run on the loop thread. */
    pthread_t a, b;
    pthread_create(&a, NULL, poster, NULL);
    pthread_create(&b, NULL, poster, NULL);
    sl_loop_run(g_loop);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    CHECK_EQ_INT(posts_seen, 4000);
    CHECK(post_on_loop_thread);

    /* Every post to a sleeping loop wakes it. */
    pthread_t pp;
    pthread_create(&pp, NULL, pinger, NULL);
    sl_loop_run(g_loop);
    pthread_join(pp, NULL);
    CHECK_EQ_INT(pp_lost, 0);
    CHECK_EQ_INT(pp_ran, 2000);

    /* Posts the loop makes to itself run without any wake-up from outside. */
    sl_loop_post(g_loop, self_post, NULL);
    sl_loop_run(g_loop);
    CHECK_EQ_INT(self_posts, 1000);

    /* A caller's node posted again from its own function. */
    sl_loop_post_node(g_loop, &self_node, node_self_post, NULL);
    sl_loop_run(g_loop);
    CHECK_EQ_INT(node_posts, 1000);

    /* Batched wake-ups: deferred to the batch's end (in at least one of the 20 slow rounds: the
     * loop may be awake for some on a loaded machine), and never lost. */
    pthread_t bt;
    pthread_create(&bt, NULL, batcher, NULL);
    sl_loop_run(g_loop);
    pthread_join(bt, NULL);
    CHECK_EQ_INT(batch_lost, 0);
    CHECK_EQ_INT(batch_rounds, 300);
    CHECK_EQ_INT(batch_ran, 900);
    CHECK(batch_early < 20);

    /* FIFO order of posts, and destroy runs posts still queued. */
    order_len = 0;
    for (int i = 0; i < 5; i++)
        sl_loop_post(g_loop, record, (void *)(intptr_t)(10 + i));
    sl_loop_post(g_loop, stop_fn, g_loop);
    sl_loop_run(g_loop);
    CHECK_EQ_INT(order_len, 5);
    for (int i = 0; i < 5; i++)
        CHECK_EQ_INT(order[i], 10 + i);
    sl_loop_post(g_loop, record, (void *)99);
    sl_timer_start(g_loop, 1000, fail_fn, NULL); /* freed without running */
    sl_loop_destroy(g_loop);
    CHECK_EQ_INT(order_len, 6);
    CHECK_EQ_INT(order[5], 99);
    TEST_MAIN_END();
}
