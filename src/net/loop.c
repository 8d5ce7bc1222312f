/* Event loop: epoll for descriptors, an eventfd that wakes the loop for sl_loop_post(), and a
 * binary min-heap of one-shot timers whose earliest deadline bounds the epoll timeout. One loop per
 * network thread; only sl_loop_post() may be called from other threads.
 *
 * Posts cost a wake-up only when the loop sleeps: the loop says so (`sleeping`, under the post
 * mutex) just before epoll_wait, after it found no post queued, and runs the queued posts at the
 * end of every iteration. A post to a loop that is awake (handling requests while the commit
 * thread completes others: most of them under load) is only queued. The eventfd is edge-triggered
 * and never read: each write reports one event, and its counter cannot reach its limit (2^64 - 2
 * writes). */
#include "net/loop_internal.h"

#include "core/common.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/time.h"
#include "core/wakebatch.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* Events fetched per epoll_wait call. */

typedef sl_loop_node_t sl_post_t;

struct sl_timer {
    uint64_t deadline_ms;
    uint64_t seq; /* insertion order breaks ties so equal deadlines fire FIFO */
    size_t heap_index;
    sl_loop_fn fn;
    void *arg;
    sl_loop_t *loop;
};

struct sl_loop {
    int epfd;
    sl_loop_io_t wake_io; /* eventfd */
    bool stop;
    int64_t now_ms;

    /* Cross-thread post queue, guarded by mu. `sleeping`: the loop is in (or about to enter) a
     * blocking epoll_wait, so a post must write the eventfd; `woken`: one write is on its way. */
    pthread_mutex_t mu;
    sl_post_t *post_head, *post_tail;
    bool sleeping, woken;

    /* Timer min-heap (loop thread only). */
    sl_timer_t **heap;
    size_t heap_len, heap_cap;
    uint64_t timer_seq;

    bool (*prepare)(void *arg);
    void *prepare_arg;
};

static _Thread_local sl_loop_t *tls_current_loop;

sl_loop_t *sl_loop_current(void) {
    return tls_current_loop;
}

int64_t sl_loop_now_ms(const sl_loop_t *loop) {
    return loop->now_ms;
}

void sl_loop_set_current(sl_loop_t *loop) {
    tls_current_loop = loop;
}

/* Runs every queued post; new posts made meanwhile wait for the next iteration. */
static void loop_run_posts(sl_loop_t *loop) {
    pthread_mutex_lock(&loop->mu);
    sl_post_t *p = loop->post_head;
    loop->post_head = loop->post_tail = NULL;
    pthread_mutex_unlock(&loop->mu);
    while (p) {
        /* A caller's node may be posted again by its own function: read it before the call. */
        sl_post_t *next = p->next;
        sl_loop_fn fn = p->fn;
        void *arg = p->arg;
        if (p->heap) free(p);
        fn(arg);
        p = next;
    }
}

/* The eventfd's event only ends the wait: the posts run at the end of the iteration. */
static void loop_on_wake(sl_loop_io_t *io, uint32_t events) {
    (void)io;
    (void)events;
}

int sl_loop_create(sl_loop_t **out) {
    sl_loop_t *loop = calloc(1, sizeof *loop);
    if (!loop) return SL_ENOMEM;
    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (loop->epfd < 0 || efd < 0) {
        SL_ERROR("loop: epoll/eventfd: %s", strerror(errno));
        if (loop->epfd >= 0) close(loop->epfd);
        if (efd >= 0) close(efd);
        free(loop);
        return SL_EIO;
    }
    pthread_mutex_init(&loop->mu, NULL);
    loop->wake_io.fd = efd;
    loop->wake_io.cb = loop_on_wake;
    if (sl_loop_io_add(loop, &loop->wake_io, EPOLLIN | EPOLLET) != 0) {
        close(efd);
        close(loop->epfd);
        pthread_mutex_destroy(&loop->mu);
        free(loop);
        return SL_EIO;
    }
    loop->now_ms = sl_time_mono_ms();
    *out = loop;
    return 0;
}

void sl_loop_destroy(sl_loop_t *loop) {
    if (!loop) return;
    /* Posted functions may own their arguments: run them so nothing leaks. They may post again. */
    sl_loop_t *saved = tls_current_loop;
    tls_current_loop = loop;
    for (int round = 0; round < 16 && loop->post_head; round++)
        loop_run_posts(loop);
    tls_current_loop = saved;
    for (size_t i = 0; i < loop->heap_len; i++)
        free(loop->heap[i]);
    free(loop->heap);
    close(loop->wake_io.fd);
    close(loop->epfd);
    pthread_mutex_destroy(&loop->mu);
    free(loop);
}

static void loop_wake(void *arg) {
    sl_loop_t *loop = arg;
    uint64_t one = 1;
    while (write(loop->wake_io.fd, &one, sizeof one) < 0 && errno == EINTR) {
    }
}

static void loop_enqueue(sl_loop_t *loop, sl_post_t *p) {
    p->next = NULL;
    pthread_mutex_lock(&loop->mu);
    if (loop->post_tail)
        loop->post_tail->next = p;
    else
        loop->post_head = p;
    loop->post_tail = p;
    bool wake = loop->sleeping && !loop->woken;
    if (wake) loop->woken = true;
    pthread_mutex_unlock(&loop->mu);
    /* Within a wake-up batch (a commit round completing its appends) the write waits for the
     * batch's end: one per loop and batch. */
    if (wake && !sl_wake_batch_defer(loop_wake, loop)) loop_wake(loop);
}

int sl_loop_post(sl_loop_t *loop, sl_loop_fn fn, void *arg) {
    sl_post_t *p = malloc(sizeof *p);
    if (!p) return SL_ENOMEM;
    p->fn = fn;
    p->arg = arg;
    p->heap = true;
    loop_enqueue(loop, p);
    return 0;
}

void sl_loop_post_node(sl_loop_t *loop, sl_loop_node_t *node, sl_loop_fn fn, void *arg) {
    node->fn = fn;
    node->arg = arg;
    node->heap = false;
    loop_enqueue(loop, node);
}

void sl_loop_stop(sl_loop_t *loop) {
    loop->stop = true;
}

void sl_loop_set_prepare(sl_loop_t *loop, bool (*fn)(void *arg), void *arg) {
    loop->prepare = fn;
    loop->prepare_arg = arg;
}

int sl_loop_io_add(sl_loop_t *loop, sl_loop_io_t *io, uint32_t events) {
    struct epoll_event ev = {.events = events, .data.ptr = io};
    if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, io->fd, &ev) != 0) return SL_EIO;
    io->events = events;
    return 0;
}

int sl_loop_io_mod(sl_loop_t *loop, sl_loop_io_t *io, uint32_t events) {
    if (io->events == events) return 0;
    struct epoll_event ev = {.events = events, .data.ptr = io};
    if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, io->fd, &ev) != 0) return SL_EIO;
    io->events = events;
    return 0;
}

void sl_loop_io_del(sl_loop_t *loop, sl_loop_io_t *io) {
    if (io->fd >= 0) epoll_ctl(loop->epfd, EPOLL_CTL_DEL, io->fd, NULL);
    io->events = 0;
}

/* ---- timers ---- */

static bool timer_less(const sl_timer_t *a, const sl_timer_t *b) {
    return a->deadline_ms < b->deadline_ms || (a->deadline_ms == b->deadline_ms && a->seq < b->seq);
}

static void heap_set(sl_loop_t *loop, size_t i, sl_timer_t *t) {
    loop->heap[i] = t;
    t->heap_index = i;
}

static void heap_up(sl_loop_t *loop, size_t i) {
    sl_timer_t *t = loop->heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!timer_less(t, loop->heap[parent])) break;
        heap_set(loop, i, loop->heap[parent]);
        i = parent;
    }
    heap_set(loop, i, t);
}

static void heap_down(sl_loop_t *loop, size_t i) {
    sl_timer_t *t = loop->heap[i];
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        const sl_timer_t *best = t;
        if (l < loop->heap_len && timer_less(loop->heap[l], best)) {
            m = l;
            best = loop->heap[l];
        }
        if (r < loop->heap_len && timer_less(loop->heap[r], best)) m = r;
        if (m == i) break;
        heap_set(loop, i, loop->heap[m]);
        i = m;
    }
    heap_set(loop, i, t);
}

static void heap_remove(sl_loop_t *loop, size_t i) {
    SL_ASSERT(i < loop->heap_len);
    loop->heap_len--;
    if (i == loop->heap_len) return;
    heap_set(loop, i, loop->heap[loop->heap_len]);
    heap_down(loop, i);
    heap_up(loop, loop->heap[i]->heap_index);
}

sl_timer_t *sl_timer_start(sl_loop_t *loop, uint64_t delay_ms, sl_loop_fn fn, void *arg) {
    SL_ASSERT(loop && fn);
    if (loop->heap_len == loop->heap_cap) {
        size_t cap = loop->heap_cap ? loop->heap_cap * 2 : 64;
        sl_timer_t **h = realloc(loop->heap, cap * sizeof *h);
        if (!h) return NULL;
        loop->heap = h;
        loop->heap_cap = cap;
    }
    sl_timer_t *t = malloc(sizeof *t);
    if (!t) return NULL;
    /* Use the real clock, not the cached one: a timer started late in a long iteration must not
     * fire early. */
    t->deadline_ms = (uint64_t)sl_time_mono_ms() + delay_ms;
    t->seq = loop->timer_seq++;
    t->fn = fn;
    t->arg = arg;
    t->loop = loop;
    heap_set(loop, loop->heap_len++, t);
    heap_up(loop, t->heap_index);
    return t;
}

void sl_timer_cancel(sl_timer_t *timer) {
    if (!timer) return;
    heap_remove(timer->loop, timer->heap_index);
    free(timer);
}

/* Fires due timers. A timer started by a callback with delay 0 waits for the next iteration, so a
 * self-rearming timer cannot starve I/O. */
static void loop_run_timers(sl_loop_t *loop) {
    uint64_t now = (uint64_t)loop->now_ms;
    uint64_t seq_limit = loop->timer_seq;
    while (loop->heap_len > 0) {
        sl_timer_t *t = loop->heap[0];
        if (t->deadline_ms > now || t->seq >= seq_limit) break;
        heap_remove(loop, 0);
        sl_loop_fn fn = t->fn;
        void *arg = t->arg;
        free(t);
        fn(arg);
    }
}

void sl_loop_run(sl_loop_t *loop) {
    sl_loop_t *saved = tls_current_loop;
    tls_current_loop = loop;
    loop->stop = false;
    struct epoll_event events[SL_LOOP_EVENTS_MAX];
    while (!loop->stop) {
        loop->now_ms = sl_time_mono_ms();
        bool busy = loop->prepare ? loop->prepare(loop->prepare_arg) : false;
        if (loop->stop) break;
        int timeout = -1;
        if (busy) {
            timeout = 0;
        } else if (loop->heap_len > 0) {
            int64_t now = sl_time_mono_ms();
            int64_t d = (int64_t)loop->heap[0]->deadline_ms - now;
            timeout = d <= 0 ? 0 : (d > SL_LOOP_WAIT_MS_MAX ? SL_LOOP_WAIT_MS_MAX : (int)d);
        }
        /* Sleep only with no post queued; from here on a post writes the eventfd. */
        if (timeout != 0) {
            pthread_mutex_lock(&loop->mu);
            if (loop->post_head)
                timeout = 0;
            else
                loop->sleeping = true;
            pthread_mutex_unlock(&loop->mu);
        }
        int n = epoll_wait(loop->epfd, events, SL_LOOP_EVENTS_MAX, timeout);
        if (loop->sleeping) {
            pthread_mutex_lock(&loop->mu);
            loop->sleeping = false;
            loop->woken = false;
            pthread_mutex_unlock(&loop->mu);
        }
        if (n < 0) {
            if (errno == EINTR) continue;
            SL_ERROR("loop: epoll_wait: %s", strerror(errno));
            break;
        }
        loop->now_ms = sl_time_mono_ms();
        for (int i = 0; i < n; i++) {
            sl_loop_io_t *io = events[i].data.ptr;
            if (io->fd < 0) continue; /* closed by an earlier event of this batch */
            io->cb(io, events[i].events);
        }
        loop_run_timers(loop);
        loop_run_posts(loop);
    }
    tls_current_loop = saved;
}
