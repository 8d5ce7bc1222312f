/* A one-shot completion (see waiter.h). */
#include "core/waiter.h"

void sl_waiter_init(sl_waiter_t *w) {
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    w->done = false;
    w->status = 0;
}

void sl_waiter_signal(sl_waiter_t *w, int status) {
    pthread_mutex_lock(&w->mu);
    w->status = status;
    w->done = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

int sl_waiter_wait(sl_waiter_t *w) {
    pthread_mutex_lock(&w->mu);
    while (!w->done)
        pthread_cond_wait(&w->cv, &w->mu);
    int status = w->status;
    pthread_mutex_unlock(&w->mu);
    sl_waiter_destroy(w);
    return status;
}

void sl_waiter_destroy(sl_waiter_t *w) {
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
}
