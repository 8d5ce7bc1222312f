/* Tests of the nanosecond timers (src/net/hrtimer.c) on a loop run by the test thread: a deadline
 * is never early and is met closely, re-arming replaces the deadline, 0 disarms, a past deadline
 * fires at once, and destroying a timer from inside its own function is safe. */
#include "core/common.h"
#include "core/time.h"
#include "net/hrtimer.h"
#include "test.h"

#include <stdlib.h>

static sl_loop_t *g_loop;
static int g_fired;
static int64_t g_fired_ns;

static void fire(void *arg) {
    (void)arg;
    g_fired++;
    g_fired_ns = sl_time_mono_ns();
    sl_loop_stop(g_loop);
}

static void guard(void *arg) {
    *(sl_timer_t **)arg = NULL;
    sl_loop_stop(g_loop);
}

/* Runs the loop until a timer fires or 500 ms pass. */
static void run(void) {
    sl_timer_t *t = NULL;
    t = sl_timer_start(g_loop, 500, guard, &t);
    sl_loop_run(g_loop);
    if (t) sl_timer_cancel(t);
}

static sl_hrtimer_t *g_self;

static void fire_and_destroy(void *arg) {
    (void)arg;
    g_fired++;
    sl_hrtimer_destroy(g_self);
    sl_loop_stop(g_loop);
}

int main(void) {
    CHECK_EQ_INT(sl_loop_create(&g_loop), 0);
    sl_hrtimer_t *t;
    CHECK_EQ_INT(sl_hrtimer_create(g_loop, fire, NULL, &t), 0);

    /* 300 us ahead: not early, and well under the millisecond the loop's timers would allow. */
    int64_t deadline = sl_time_mono_ns() + 300000;
    sl_hrtimer_arm(t, deadline);
    run();
    CHECK_EQ_INT(g_fired, 1);
    CHECK(g_fired_ns >= deadline);

    /* Re-arming replaces the deadline; 0 disarms. */
    sl_hrtimer_arm(t, sl_time_mono_ns() + 1000000);
    deadline = sl_time_mono_ns() + 20000000;
    sl_hrtimer_arm(t, deadline);
    run();
    CHECK_EQ_INT(g_fired, 2);
    CHECK(g_fired_ns >= deadline);
    sl_hrtimer_arm(t, sl_time_mono_ns() + 1000000);
    sl_hrtimer_arm(t, 0);
    run(); /* only the guard ends this one */
    CHECK_EQ_INT(g_fired, 2);

    /* A deadline in the past fires at the next iteration. */
    sl_hrtimer_arm(t, 1);
    run();
    CHECK_EQ_INT(g_fired, 3);
    sl_hrtimer_destroy(t);

    /* Destroyed from inside its own function. */
    CHECK_EQ_INT(sl_hrtimer_create(g_loop, fire_and_destroy, NULL, &g_self), 0);
    sl_hrtimer_arm(g_self, sl_time_mono_ns());
    run();
    CHECK_EQ_INT(g_fired, 4);
    sl_loop_destroy(g_loop);
    TEST_MAIN_END();
}
