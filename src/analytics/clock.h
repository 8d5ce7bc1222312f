/* The clock of running applications (docs/analytics.md "Virtual clock"): the wall clock, or a
 * virtual clock that only moves when it is told to (--analytics-clock virtual), so that tests
 * decide when processing-time windows close instead of waiting real minutes.
 *
 * Under the virtual clock a record gets as ROWTIME the clock's time when its runner reads it, and
 * a move of the clock is synchronous with every runner: each first reads what its input holds
 * (stamped with the old time), then advances its engine to the new time (closing the windows that
 * end at or before it) and delivers its output rows; the move returns when all did. So a test
 * puts records, moves the clock, and finds the rows in the output stream when the call returns.
 *
 * One clock serves the whole server (every account's applications). Thread-safe. */
#ifndef SL_ANALYTICS_CLOCK_H
#define SL_ANALYTICS_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

typedef struct sl_an_clock sl_an_clock_t;
typedef struct sl_an_runner sl_an_runner_t;

/* A virtual clock starts at 0 (1970-01-01T00:00:00Z) and moves only forward. */
int sl_an_clock_create(bool is_virtual, sl_an_clock_t **out);
/* After every runner was detached. NULL: no-op. */
void sl_an_clock_destroy(sl_an_clock_t *c);

/* NULL is the wall clock. */
bool sl_an_clock_is_virtual(const sl_an_clock_t *c);
/* The time now: the wall clock's, or the virtual clock's (ms since the epoch). */
int64_t sl_an_clock_now(const sl_an_clock_t *c);

/* Moves the virtual clock to now_ms (see above) on a thread of its own and then calls
 * done(ctx, status): 0, SL_EINVAL when now_ms is before the clock's time, SL_ENOTFOUND for the
 * wall clock (no virtual clock to move). Returns 0 (done will be called), or SL_ENOMEM / SL_EIO
 * (it will not). Moves are done one at a time. */
int sl_an_clock_set_async(sl_an_clock_t *c, int64_t now_ms, void (*done)(void *ctx, int status),
                          void *ctx);
/* The same move, on the caller's thread (blocking: never a network thread). */
int sl_an_clock_set(sl_an_clock_t *c, int64_t now_ms);
/* Waits until no move runs (before the front that answers them stops). NULL: no-op. */
void sl_an_clock_quiesce(sl_an_clock_t *c);

/* runner.c: a runner takes part in the moves from its start to its stop (0 or SL_ENOMEM).
 * NULL c: no-op. */
int sl_an_clock_attach(sl_an_clock_t *c, sl_an_runner_t *r);
void sl_an_clock_detach(sl_an_clock_t *c, sl_an_runner_t *r);

#endif
