/* Event loop: one per network thread (epoll). A loop belongs to its thread; other threads talk to
 * it only through sl_loop_post(), which is thread-safe and wakes the loop (eventfd). */
#ifndef SL_NET_LOOP_H
#define SL_NET_LOOP_H

#include <stdbool.h>
#include <stdint.h>

typedef struct sl_loop sl_loop_t;
typedef void (*sl_loop_fn)(void *arg);

/* Run fn(arg) on the loop's thread, soon, in FIFO order. Thread-safe. Returns 0 or SL_ENOMEM.
 * Called within a wake-up batch (core/wakebatch.h), a post to a sleeping loop wakes it at the
 * batch's end. */
int sl_loop_post(sl_loop_t *loop, sl_loop_fn fn, void *arg);

/* A post in the caller's memory (embedded in the object the post is about). */
typedef struct sl_loop_node {
    struct sl_loop_node *next;
    sl_loop_fn fn;
    void *arg;
    bool heap; /* allocated by sl_loop_post */
} sl_loop_node_t;

/* sl_loop_post without an allocation, so it cannot fail: `node` belongs to the loop from this call
 * until fn starts running (fn may post it again). */
void sl_loop_post_node(sl_loop_t *loop, sl_loop_node_t *node, sl_loop_fn fn, void *arg);

/* The loop running on the calling thread, or NULL when called from a non-loop thread. */
sl_loop_t *sl_loop_current(void);

typedef struct sl_timer sl_timer_t;
/* One-shot timer on `loop`; must be called on the loop's thread. fn runs on that thread after
 * delay_ms. Returns NULL on allocation failure. The timer frees itself after firing. */
sl_timer_t *sl_timer_start(sl_loop_t *loop, uint64_t delay_ms, sl_loop_fn fn, void *arg);
/* Cancel a timer that has not fired yet (loop thread only). After this fn is never called. */
void sl_timer_cancel(sl_timer_t *timer);

/* ---- running a loop (service threads, the CLI, tests) ----
 * A thread that is not a network thread of the HTTP server (a service thread, `sluice bench`, a
 * test) creates its own loop, runs it, and destroys it after sl_loop_run() returned. */

/* Creates a loop (epoll + eventfd). Returns 0 or SL_EIO/SL_ENOMEM. */
int sl_loop_create(sl_loop_t **out);
/* Runs the loop on the calling thread until sl_loop_stop(). */
void sl_loop_run(sl_loop_t *loop);
/* Makes sl_loop_run() return after the current iteration (loop thread only). */
void sl_loop_stop(sl_loop_t *loop);
/* Destroys a loop that is not running (see net/loop_internal.h for what happens to pending work).
 */
void sl_loop_destroy(sl_loop_t *loop);

#endif
