/* Event loop internals shared inside the net layer (and by its tests): creating and running a loop,
 * watching file descriptors, and a "prepare" hook that runs before every poll. The public surface
 * for other layers is net/loop.h (post and timers). A loop belongs to the thread that runs it. */
#ifndef SL_NET_LOOP_INTERNAL_H
#define SL_NET_LOOP_INTERNAL_H

#include "net/loop.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct sl_loop_io sl_loop_io_t;
typedef void (*sl_loop_io_fn)(sl_loop_io_t *io, uint32_t events);

/* A watched file descriptor. Owned by whoever embeds it; it must stay allocated until
 * sl_loop_io_del() and the end of the current loop iteration (events already fetched for it in
 * this iteration are still delivered unless io->fd is set to -1, which makes the loop skip them).
 */
struct sl_loop_io {
    int fd;
    uint32_t events; /* EPOLL* mask currently registered */
    sl_loop_io_fn cb;
};

/* Creates a loop (epoll + eventfd). Returns 0 or SL_EIO/SL_ENOMEM. */
int sl_loop_create(sl_loop_t **out);
/* Destroys a loop that is not running: runs the posted functions still queued (so their arguments
 * are released), frees pending timers without calling them, closes the descriptors. */
void sl_loop_destroy(sl_loop_t *loop);
/* Runs the loop on the calling thread until sl_loop_stop(). */
void sl_loop_run(sl_loop_t *loop);
/* Makes sl_loop_current() return `loop` on the calling thread (sl_loop_run() does this itself);
 * used before the loop runs so thread-start callbacks see their loop. */
void sl_loop_set_current(sl_loop_t *loop);
/* Makes sl_loop_run() return after the current iteration (loop thread only). */
void sl_loop_stop(sl_loop_t *loop);
/* Sets a function run at the start of every iteration, before waiting for events. It returns true
 * when it wants the next wait to be non-blocking (more prepared work pending). */
void sl_loop_set_prepare(sl_loop_t *loop, bool (*fn)(void *arg), void *arg);
/* Monotonic milliseconds, refreshed once per loop iteration. */
int64_t sl_loop_now_ms(const sl_loop_t *loop);

/* Register, change or remove a watched descriptor (level-triggered EPOLL* masks). 0 or SL_EIO.
 * After sl_loop_io_del, free the struct embedding io from a function posted with sl_loop_post (it
 * runs after this iteration), never at once: an event fetched for it may still be delivered. */
int sl_loop_io_add(sl_loop_t *loop, sl_loop_io_t *io, uint32_t events);
int sl_loop_io_mod(sl_loop_t *loop, sl_loop_io_t *io, uint32_t events);
void sl_loop_io_del(sl_loop_t *loop, sl_loop_io_t *io);

#endif
