/* A one-shot completion: a thread that may block (a service's own thread, never a network or
 * storage thread) starts an asynchronous operation whose callback, on another thread, signals the
 * waiter; the thread then waits for it. */
#ifndef SL_CORE_WAITER_H
#define SL_CORE_WAITER_H

#include <pthread.h>
#include <stdbool.h>

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
    int status;
} sl_waiter_t;

void sl_waiter_init(sl_waiter_t *w);
/* From the callback: wakes the waiting thread with status. */
void sl_waiter_signal(sl_waiter_t *w, int status);
/* Waits for the signal, frees the waiter and returns the status. */
int sl_waiter_wait(sl_waiter_t *w);
/* Frees a waiter that was never signalled (the operation finished during its call). */
void sl_waiter_destroy(sl_waiter_t *w);

#endif
