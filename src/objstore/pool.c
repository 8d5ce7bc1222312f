/* The object store's worker threads (see objstore.h): a bounded FIFO of jobs, so that file I/O and
 * fsync never run on a network thread and a flood of uploads becomes SlowDown, not memory. */
#include "objstore/objstore.h"

#include "core/common.h"
#include "core/limits.h"

#include <pthread.h>
#include <stdlib.h>

typedef struct {
    void (*fn)(void *arg);
    void *arg;
} job_t;

/* Owned by the composition root. */
struct sl_objstore_pool {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    job_t jobs[2 * SL_OBJSTORE_QUEUE_MAX]; /* ring: new work up to half, continuations the rest */
    size_t head, count;
    bool stopping;
    pthread_t *threads;
    int thread_count;
};

static void *worker(void *arg) {
    sl_objstore_pool_t *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (p->count == 0 && !p->stopping)
            pthread_cond_wait(&p->cv, &p->mu);
        if (p->count == 0) break; /* stopping and drained */
        job_t j = p->jobs[p->head];
        p->head = (p->head + 1) % SL_ARRAY_LEN(p->jobs);
        p->count--;
        pthread_mutex_unlock(&p->mu);
        j.fn(j.arg);
        pthread_mutex_lock(&p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

int sl_objstore_pool_create(int threads, sl_objstore_pool_t **out) {
    SL_ASSERT(threads > 0);
    sl_objstore_pool_t *p = calloc(1, sizeof *p);
    if (!p) return SL_ENOMEM;
    p->threads = calloc((size_t)threads, sizeof *p->threads);
    if (!p->threads) {
        free(p);
        return SL_ENOMEM;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    for (int i = 0; i < threads; i++) {
        if (pthread_create(&p->threads[i], NULL, worker, p) != 0) {
            sl_objstore_pool_destroy(p);
            return SL_ENOMEM;
        }
        p->thread_count++;
    }
    *out = p;
    return 0;
}

void sl_objstore_pool_destroy(sl_objstore_pool_t *p) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->stopping = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->thread_count; i++)
        pthread_join(p->threads[i], NULL);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p->threads);
    free(p);
}

static int submit(sl_objstore_pool_t *p, void (*fn)(void *arg), void *arg, size_t bound) {
    pthread_mutex_lock(&p->mu);
    if (p->count >= bound || p->stopping) {
        pthread_mutex_unlock(&p->mu);
        return SL_EAGAIN;
    }
    p->jobs[(p->head + p->count) % SL_ARRAY_LEN(p->jobs)] = (job_t){fn, arg};
    p->count++;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    return 0;
}

int sl_objstore_pool_submit(sl_objstore_pool_t *p, void (*fn)(void *arg), void *arg) {
    return submit(p, fn, arg, SL_OBJSTORE_QUEUE_MAX);
}

int sl_objstore_pool_continue(sl_objstore_pool_t *p, void (*fn)(void *arg), void *arg) {
    return submit(p, fn, arg, SL_ARRAY_LEN(p->jobs));
}
