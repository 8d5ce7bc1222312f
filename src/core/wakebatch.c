/* Batched cross-thread wake-ups (see wakebatch.h): a small thread-local list of targets. */
#include "core/wakebatch.h"

#include <stddef.h>

/* Targets one batch remembers; beyond, wake-ups happen at once (a commit round completes appends
 * for a handful of network loops). */
#define WAKE_BATCH_MAX 32

static _Thread_local struct {
    bool open;
    size_t n;
    sl_wake_fn fn[WAKE_BATCH_MAX];
    void *target[WAKE_BATCH_MAX];
} tls_batch;

void sl_wake_batch_begin(void) {
    tls_batch.open = true;
}

void sl_wake_batch_end(void) {
    tls_batch.open = false;
    /* A wake-up function may post (and so defer) again: the batch is closed, so it wakes at once.
     */
    size_t n = tls_batch.n;
    tls_batch.n = 0;
    for (size_t i = 0; i < n; i++)
        tls_batch.fn[i](tls_batch.target[i]);
}

bool sl_wake_batch_defer(sl_wake_fn fn, void *target) {
    if (!tls_batch.open) return false;
    for (size_t i = 0; i < tls_batch.n; i++)
        if (tls_batch.target[i] == target && tls_batch.fn[i] == fn) return true;
    if (tls_batch.n == WAKE_BATCH_MAX) return false;
    tls_batch.fn[tls_batch.n] = fn;
    tls_batch.target[tls_batch.n++] = target;
    return true;
}
