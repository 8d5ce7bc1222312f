/* Nanosecond timers (net/hrtimer.h): a timerfd per timer, watched by the loop like a socket. */
#include "net/hrtimer.h"

#include "core/common.h"
#include "net/loop_internal.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

struct sl_hrtimer {
    sl_loop_io_t io;
    sl_loop_t *loop;
    sl_loop_fn fn;
    void *arg;
};

static void on_expiry(sl_loop_io_t *io, uint32_t events) {
    (void)events;
    sl_hrtimer_t *t = (sl_hrtimer_t *)((char *)io - offsetof(sl_hrtimer_t, io));
    uint64_t n;
    if (read(io->fd, &n, sizeof n) != (ssize_t)sizeof n) return; /* re-armed meanwhile: not due */
    t->fn(t->arg);
}

int sl_hrtimer_create(sl_loop_t *loop, sl_loop_fn fn, void *arg, sl_hrtimer_t **out) {
    SL_ASSERT(loop && fn && out);
    sl_hrtimer_t *t = calloc(1, sizeof *t);
    if (!t) return SL_ENOMEM;
    t->loop = loop;
    t->fn = fn;
    t->arg = arg;
    t->io.cb = on_expiry;
    t->io.fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (t->io.fd < 0 || sl_loop_io_add(loop, &t->io, EPOLLIN) != 0) {
        if (t->io.fd >= 0) close(t->io.fd);
        free(t);
        return SL_EIO;
    }
    *out = t;
    return 0;
}

void sl_hrtimer_arm(sl_hrtimer_t *t, int64_t deadline_ns) {
    /* An absolute deadline of 0 would disarm: a past deadline becomes 1 ns, which fires at once. */
    int64_t d = deadline_ns > 0 ? deadline_ns : 0;
    if (deadline_ns != 0 && d == 0) d = 1;
    struct itimerspec its = {.it_value = {.tv_sec = d / 1000000000LL, .tv_nsec = d % 1000000000LL}};
    timerfd_settime(t->io.fd, TFD_TIMER_ABSTIME, &its, NULL);
}

static void free_later(void *arg) {
    free(arg);
}

void sl_hrtimer_destroy(sl_hrtimer_t *t) {
    if (!t) return;
    sl_loop_io_del(t->loop, &t->io);
    close(t->io.fd);
    t->io.fd = -1; /* an expiry already fetched in this iteration is skipped by the loop ... */
    if (sl_loop_post(t->loop, free_later, t) != 0) free(t); /* ... which frees t afterwards */
}
