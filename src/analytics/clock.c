/* The clock of running applications (see clock.h). */
#include "analytics/clock.h"

#include "analytics/runner.h"
#include "core/common.h"
#include "core/time.h"

#include <pthread.h>
#include <stdlib.h>

struct sl_an_clock {
    bool is_virtual;
    int64_t now_ms; /* the virtual time (atomic; written under mu) */
    /* mu guards the runners and is held through a whole move, so that a runner starting or
     * stopping waits for the move to finish */
    pthread_mutex_t mu;
    sl_an_runner_t **runners;
    size_t count, cap;
    pthread_mutex_t moves_mu; /* guards moving */
    pthread_cond_t idle;
    int moving; /* asynchronous moves not finished */
};

int sl_an_clock_create(bool is_virtual, sl_an_clock_t **out) {
    sl_an_clock_t *c = calloc(1, sizeof *c);
    if (!c) return SL_ENOMEM;
    c->is_virtual = is_virtual;
    pthread_mutex_init(&c->mu, NULL);
    pthread_mutex_init(&c->moves_mu, NULL);
    pthread_cond_init(&c->idle, NULL);
    *out = c;
    return 0;
}

void sl_an_clock_destroy(sl_an_clock_t *c) {
    if (!c) return;
    sl_an_clock_quiesce(c);
    SL_ASSERT(c->count == 0);
    free(c->runners);
    pthread_cond_destroy(&c->idle);
    pthread_mutex_destroy(&c->moves_mu);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

bool sl_an_clock_is_virtual(const sl_an_clock_t *c) {
    return c && c->is_virtual;
}

int64_t sl_an_clock_now(const sl_an_clock_t *c) {
    if (!sl_an_clock_is_virtual(c)) return sl_time_now_ms();
    return __atomic_load_n(&c->now_ms, __ATOMIC_ACQUIRE);
}

int sl_an_clock_set(sl_an_clock_t *c, int64_t now_ms) {
    if (!sl_an_clock_is_virtual(c)) return SL_ENOTFOUND;
    pthread_mutex_lock(&c->mu);
    int rc = 0;
    if (now_ms < __atomic_load_n(&c->now_ms, __ATOMIC_ACQUIRE)) {
        rc = SL_EINVAL;
    } else {
        /* every runner reads its input at the old time before any sees the new one */
        for (size_t i = 0; i < c->count; i++)
            sl_an_runner_sync(c->runners[i], now_ms);
        __atomic_store_n(&c->now_ms, now_ms, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&c->mu);
    return rc;
}

typedef struct {
    sl_an_clock_t *c;
    int64_t now_ms;
    void (*done)(void *ctx, int status);
    void *ctx;
} move_t;

static void *move_main(void *arg) {
    move_t *m = arg;
    sl_an_clock_t *c = m->c;
    int rc = sl_an_clock_set(c, m->now_ms);
    m->done(m->ctx, rc);
    free(m);
    pthread_mutex_lock(&c->moves_mu);
    if (--c->moving == 0) pthread_cond_broadcast(&c->idle);
    pthread_mutex_unlock(&c->moves_mu);
    return NULL;
}

int sl_an_clock_set_async(sl_an_clock_t *c, int64_t now_ms, void (*done)(void *ctx, int status),
                          void *ctx) {
    if (!sl_an_clock_is_virtual(c)) {
        done(ctx, SL_ENOTFOUND);
        return 0;
    }
    move_t *m = malloc(sizeof *m);
    if (!m) return SL_ENOMEM;
    *m = (move_t){c, now_ms, done, ctx};
    pthread_mutex_lock(&c->moves_mu);
    c->moving++;
    pthread_mutex_unlock(&c->moves_mu);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t t;
    int prc = pthread_create(&t, &attr, move_main, m);
    pthread_attr_destroy(&attr);
    if (prc != 0) {
        free(m);
        pthread_mutex_lock(&c->moves_mu);
        if (--c->moving == 0) pthread_cond_broadcast(&c->idle);
        pthread_mutex_unlock(&c->moves_mu);
        return SL_EIO;
    }
    return 0;
}

void sl_an_clock_quiesce(sl_an_clock_t *c) {
    if (!c) return;
    pthread_mutex_lock(&c->moves_mu);
    while (c->moving)
        pthread_cond_wait(&c->idle, &c->moves_mu);
    pthread_mutex_unlock(&c->moves_mu);
}

int sl_an_clock_attach(sl_an_clock_t *c, sl_an_runner_t *r) {
    if (!c) return 0;
    pthread_mutex_lock(&c->mu);
    int rc = 0;
    if (c->count == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        sl_an_runner_t **grown = realloc(c->runners, cap * sizeof *grown);
        if (grown) {
            c->runners = grown;
            c->cap = cap;
        } else {
            rc = SL_ENOMEM;
        }
    }
    if (rc == 0) c->runners[c->count++] = r;
    pthread_mutex_unlock(&c->mu);
    return rc;
}

void sl_an_clock_detach(sl_an_clock_t *c, sl_an_runner_t *r) {
    if (!c) return;
    pthread_mutex_lock(&c->mu);
    for (size_t i = 0; i < c->count; i++) {
        if (c->runners[i] == r) {
            c->runners[i] = c->runners[--c->count];
            break;
        }
    }
    pthread_mutex_unlock(&c->mu);
}
