/* core/wakebatch.h: outside a batch nothing is deferred; within one each target's wake-up is
 * recorded once and runs at the batch's end, in the order first asked; past the batch's capacity
 * the caller wakes at once; a wake-up asked for while the batch's end runs them is not deferred. */
#include "core/wakebatch.h"
#include "test.h"

static int woken[64];
static int nwoken;

static void wake(void *target) {
    woken[nwoken++] = *(int *)target;
}

static int again_target = 7;
static bool again_deferred = true;
static void wake_again(void *target) {
    (void)target;
    again_deferred = sl_wake_batch_defer(wake, &again_target);
}

int main(void) {
    int t[40];
    for (int i = 0; i < 40; i++)
        t[i] = i;

    CHECK(!sl_wake_batch_defer(wake, &t[0])); /* no batch open */

    sl_wake_batch_begin();
    CHECK(sl_wake_batch_defer(wake, &t[2]));
    CHECK(sl_wake_batch_defer(wake, &t[1]));
    CHECK(sl_wake_batch_defer(wake, &t[2])); /* once per target */
    CHECK(sl_wake_batch_defer(wake, &t[1]));
    CHECK_EQ_INT(nwoken, 0);
    sl_wake_batch_end();
    CHECK_EQ_INT(nwoken, 2);
    CHECK_EQ_INT(woken[0], 2);
    CHECK_EQ_INT(woken[1], 1);
    CHECK(!sl_wake_batch_defer(wake, &t[0])); /* closed again */

    /* Capacity: the targets beyond it are woken by the caller. */
    nwoken = 0;
    sl_wake_batch_begin();
    int deferred = 0;
    for (int i = 0; i < 40; i++)
        deferred += sl_wake_batch_defer(wake, &t[i]);
    CHECK(deferred >= 8 && deferred < 40);
    sl_wake_batch_end();
    CHECK_EQ_INT(nwoken, deferred);
    for (int i = 0; i < deferred; i++)
        CHECK_EQ_INT(woken[i], i);

    /* A wake-up function that asks again while the end runs: not deferred (the batch is closed). */
    nwoken = 0;
    sl_wake_batch_begin();
    CHECK(sl_wake_batch_defer(wake_again, &t[0]));
    sl_wake_batch_end();
    CHECK(!again_deferred);
    CHECK_EQ_INT(nwoken, 0);
    TEST_MAIN_END();
}
