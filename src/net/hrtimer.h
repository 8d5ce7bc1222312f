/* A re-armable timer with a nanosecond deadline on a loop (timerfd), for pacing - open-loop load in
 * `sluice bench`, and later rate limits - where the millisecond timers of net/loop.h would release
 * work up to a millisecond late. One descriptor per timer; loop thread only. */
#ifndef SL_NET_HRTIMER_H
#define SL_NET_HRTIMER_H

#include "net/loop.h"

#include <stdint.h>

typedef struct sl_hrtimer sl_hrtimer_t;

/* Creates a disarmed timer whose expiry runs fn(arg) on `loop`'s thread. Returns 0, SL_ENOMEM or
 * SL_EIO. */
int sl_hrtimer_create(sl_loop_t *loop, sl_loop_fn fn, void *arg, sl_hrtimer_t **out);
/* Arms the timer for an absolute CLOCK_MONOTONIC time in nanoseconds (a time already past fires
 * at the next loop iteration), replacing any earlier deadline; 0 disarms it. */
void sl_hrtimer_arm(sl_hrtimer_t *t, int64_t deadline_ns);
/* Disarms and frees the timer (its function is not called afterwards; the memory goes back through
 * a function posted to the loop, so destroying it inside a loop iteration is safe). */
void sl_hrtimer_destroy(sl_hrtimer_t *t);

#endif
