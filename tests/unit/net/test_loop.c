/* Unit tests for the event loop: posts from other threads run on the loop thread in FIFO order,
 * timers fire in deadline order, cancelled timers never fire, and sl_loop_current() tells loop
 * threads apart. */
#include "core/time.h"
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
