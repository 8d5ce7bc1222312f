/* Batched cross-thread wake-ups. A thread that completes many requests at once (the storage commit
 * thread after a round) brackets the completions with sl_wake_batch_begin/end: a wake-up asked for
 * in between (sl_wake_batch_defer) runs once per target at the end, instead of once per completion
 * while the target thread, woken by the first, races with the next ones. */
#ifndef SL_CORE_WAKEBATCH_H
#define SL_CORE_WAKEBATCH_H

#include <stdbool.h>

typedef void (*sl_wake_fn)(void *target);

/* Opens a batch on the calling thread (batches do not nest: a second begin is ignored). */
void sl_wake_batch_begin(void);
/* Runs every deferred wake-up (each target once, in the order first asked) and closes the batch. */
void sl_wake_batch_end(void);
/* Within a batch on this thread: records fn(target) for sl_wake_batch_end and returns true (once
 * per target; asking again for a recorded target is a no-op). Outside a batch, or when the batch
 * holds its maximum of targets: returns false, and the caller wakes the target itself. */
bool sl_wake_batch_defer(sl_wake_fn fn, void *target);

#endif
