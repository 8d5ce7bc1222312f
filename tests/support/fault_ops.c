/* The fault-injecting file operations table used by the storage tests (see fault_ops.h): it
 * counts pwrite calls and fails, shortens or "crashes" at a chosen one. */
#include "support/fault_ops.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define FAULT_FDS_MAX 65536

static pthread_mutex_t g_fault_mu = PTHREAD_MUTEX_INITIALIZER;
static sl_fault_kind_t g_kind;
static long g_nth;    /* fault at this write (or sync) count */
static long g_writes; /* pwrite calls since arm */
static long g_syncs;  /* fdatasync/fsync calls since arm */
static bool g_sticky, g_lose, g_crashed;
static unsigned g_seed;
/* The writes through each fd since they were last covered by a sync, as ranges: a power loss may
 * damage each of them, never what a sync covered (a ring file, like the commit journal, has
 * synced data after unsynced data). Each range keeps the global count of writes at its write: a
 * sync covers the writes counted before it started (another thread's write during the sync may
 * not be covered by it). */
#define FAULT_RANGES_MAX 32
typedef struct {
    off_t off, end;
    unsigned long seq;
} fault_range_t;
typedef struct {
    fault_range_t r[FAULT_RANGES_MAX];
    int n;
} fault_unsynced_t;
static fault_unsynced_t *g_unsynced[FAULT_FDS_MAX];
static unsigned long g_wseq; /* writes so far */

/* the write gate and the held sync (see fault_ops.h) */
static pthread_cond_t g_fault_cond = PTHREAD_COND_INITIALIZER;
static bool g_gate_armed, g_gate_held;
static bool g_hold_armed, g_hold_fail, g_hold_by_write;
static unsigned long g_hold_until;  /* the held sync waits until g_done_writes reaches it */
static unsigned long g_done_writes; /* pwrite calls completed */

static void unsynced_forget_locked(int fd) {
    free(g_unsynced[fd]);
    g_unsynced[fd] = NULL;
}

/* A write of [off, end) through fd. With too many ranges they become one covering them all,
 * counted as written now (a later sync still covers it; an earlier one no longer would). */
static void unsynced_add_locked(int fd, off_t off, off_t end) {
    fault_unsynced_t *u = g_unsynced[fd];
    if (!u && !(u = g_unsynced[fd] = calloc(1, sizeof *u))) return;
    unsigned long seq = ++g_wseq;
    if (u->n == FAULT_RANGES_MAX) {
        for (int i = 0; i < u->n; i++) {
            if (u->r[i].off < off) off = u->r[i].off;
            if (u->r[i].end > end) end = u->r[i].end;
        }
        u->n = 0;
    }
    u->r[u->n++] = (fault_range_t){.off = off, .end = end, .seq = seq};
}

/* A sync of fd that started when g_wseq was `seen` succeeded. */
static void unsynced_covered_locked(int fd, unsigned long seen) {
    fault_unsynced_t *u = g_unsynced[fd];
    if (!u) return;
    int k = 0;
    for (int i = 0; i < u->n; i++)
        if (u->r[i].seq > seen) u->r[k++] = u->r[i];
    u->n = k;
}

void sl_fault_arm(sl_fault_kind_t kind, long nth, bool sticky, bool lose_unsynced, unsigned seed) {
    pthread_mutex_lock(&g_fault_mu);
    g_kind = kind;
    g_nth = nth < 1 ? 1 : nth;
    g_writes = 0;
    g_syncs = 0;
    g_sticky = sticky;
    g_lose = lose_unsynced;
    g_crashed = false;
    g_seed = seed ? seed : 1;
    pthread_mutex_unlock(&g_fault_mu);
}

void sl_fault_disarm(void) {
    pthread_mutex_lock(&g_fault_mu);
    g_kind = SL_FAULT_NONE;
    g_crashed = false;
    g_writes = 0;
    g_syncs = 0;
    pthread_mutex_unlock(&g_fault_mu);
}

long sl_fault_writes(void) {
    pthread_mutex_lock(&g_fault_mu);
    long n = g_writes;
    pthread_mutex_unlock(&g_fault_mu);
    return n;
}

bool sl_fault_crashed(void) {
    pthread_mutex_lock(&g_fault_mu);
    bool c = g_crashed;
    pthread_mutex_unlock(&g_fault_mu);
    return c;
}

static unsigned fault_rand_locked(void) {
    g_seed = g_seed * 1103515245u + 12345u;
    return (g_seed >> 8) & 0xffffff;
}

/* Damages what was written since the last sync of every tracked fd, as a power loss may: within
 * each unsynced write, from a random point to its end (a torn append may also shorten the file:
 * nothing after it was written). */
static void lose_unsynced_locked(void) {
    for (int fd = 0; fd < FAULT_FDS_MAX; fd++) {
        fault_unsynced_t *u = g_unsynced[fd];
        if (!u) continue;
        for (int i = 0; i < u->n; i++) {
            struct stat st;
            if (fstat(fd, &st) != 0 || st.st_size <= u->r[i].off) continue;
            off_t from = u->r[i].off, end = u->r[i].end < st.st_size ? u->r[i].end : st.st_size;
            off_t cut = from + (off_t)(fault_rand_locked() % (unsigned)(end - from + 1));
            unsigned how = fault_rand_locked() % 3;
            if (how == 0 && end == st.st_size && ftruncate(fd, cut) == 0) continue;
            char buf[4096];
            for (off_t off = cut; off < end;) {
                size_t n = (size_t)(end - off < (off_t)sizeof buf ? end - off : (off_t)sizeof buf);
                for (size_t k = 0; k < n; k++)
                    buf[k] = how == 2 ? (char)fault_rand_locked() : 0;
                if (pwrite(fd, buf, n, off) != (ssize_t)n) break;
                off += (off_t)n;
            }
        }
        unsynced_forget_locked(fd);
    }
}

static int fault_open(const char *path, int flags, mode_t mode) {
    pthread_mutex_lock(&g_fault_mu);
    bool dead = g_crashed;
    pthread_mutex_unlock(&g_fault_mu);
    if (dead && (flags & (O_CREAT | O_TRUNC))) {
        errno = EIO;
        return -1;
    }
    int fd = open(path, flags | O_CLOEXEC, mode);
    if (fd >= 0 && fd < FAULT_FDS_MAX) {
        pthread_mutex_lock(&g_fault_mu);
        unsynced_forget_locked(fd);
        pthread_mutex_unlock(&g_fault_mu);
    }
    return fd;
}

static int fault_close(int fd) {
    if (fd >= 0 && fd < FAULT_FDS_MAX) {
        pthread_mutex_lock(&g_fault_mu);
        unsynced_forget_locked(fd);
        pthread_mutex_unlock(&g_fault_mu);
    }
    return close(fd);
}

void sl_fault_gate_next_write(void) {
    pthread_mutex_lock(&g_fault_mu);
    g_gate_armed = true;
    g_gate_held = false;
    pthread_mutex_unlock(&g_fault_mu);
}

static void deadline_in(struct timespec *ts, int ms) {
    clock_gettime(CLOCK_REALTIME, ts);
    long long ns = ts->tv_nsec + (long long)ms * 1000000;
    ts->tv_sec += (time_t)(ns / 1000000000);
    ts->tv_nsec = (long)(ns % 1000000000);
}

bool sl_fault_gate_wait(int timeout_ms) {
    struct timespec ts;
    deadline_in(&ts, timeout_ms);
    pthread_mutex_lock(&g_fault_mu);
    int rc = 0;
    while (!g_gate_held && rc == 0)
        rc = pthread_cond_timedwait(&g_fault_cond, &g_fault_mu, &ts);
    bool held = g_gate_held;
    pthread_mutex_unlock(&g_fault_mu);
    return held;
}

void sl_fault_gate_open(void) {
    pthread_mutex_lock(&g_fault_mu);
    g_gate_armed = false;
    pthread_cond_broadcast(&g_fault_cond);
    pthread_mutex_unlock(&g_fault_mu);
}

void sl_fault_hold_next_sync(bool fail, long writes) {
    pthread_mutex_lock(&g_fault_mu);
    g_hold_armed = true;
    g_hold_until = g_done_writes + (unsigned long)writes;
    g_hold_fail = fail;
    g_hold_by_write = false;
    pthread_mutex_unlock(&g_fault_mu);
}

bool sl_fault_hold_released_by_write(void) {
    pthread_mutex_lock(&g_fault_mu);
    bool b = g_hold_by_write;
    pthread_mutex_unlock(&g_fault_mu);
    return b;
}

static ssize_t fault_pwrite(int fd, const void *buf, size_t len, off_t off) {
    pthread_mutex_lock(&g_fault_mu);
    if (g_gate_armed && !g_gate_held) {
        g_gate_held = true;
        pthread_cond_broadcast(&g_fault_cond);
        while (g_gate_armed)
            pthread_cond_wait(&g_fault_cond, &g_fault_mu);
    }
    if (g_crashed) {
        pthread_mutex_unlock(&g_fault_mu);
        errno = EIO;
        return -1;
    }
    long n = ++g_writes;
    sl_fault_kind_t kind = g_kind;
    bool hit = kind != SL_FAULT_NONE && kind != SL_FAULT_SYNC_EIO &&
               (n == g_nth || (g_sticky && n > g_nth));
    if (hit && (kind == SL_FAULT_ENOSPC || kind == SL_FAULT_EIO)) {
        pthread_mutex_unlock(&g_fault_mu);
        errno = kind == SL_FAULT_ENOSPC ? ENOSPC : EIO;
        return -1;
    }
    size_t todo = len;
    if (hit && n == g_nth && kind == SL_FAULT_SHORT) todo = len / 2;
    if (hit && n == g_nth && kind == SL_FAULT_CRASH) todo = len ? fault_rand_locked() % len : 0;
    ssize_t w = todo ? pwrite(fd, buf, todo, off) : 0;
    if (w > 0 && fd >= 0 && fd < FAULT_FDS_MAX) unsynced_add_locked(fd, off, off + w);
    if (hit && n == g_nth && kind == SL_FAULT_CRASH) {
        g_crashed = true;
        if (g_lose) lose_unsynced_locked();
        pthread_mutex_unlock(&g_fault_mu);
        errno = EIO;
        return -1;
    }
    g_done_writes++;
    pthread_cond_broadcast(&g_fault_cond);
    pthread_mutex_unlock(&g_fault_mu);
    if (hit && kind == SL_FAULT_SHORT && todo == 0) {
        errno = EIO;
        return -1;
    }
    return w;
}

/* A sync of fd (all_fds: of the file system) covers the writes counted before it started. */
static int fault_sync_common(int fd, int (*real)(int), bool all_fds) {
    pthread_mutex_lock(&g_fault_mu);
    if (g_crashed) {
        pthread_mutex_unlock(&g_fault_mu);
        errno = EIO;
        return -1;
    }
    unsigned long seen = g_wseq; /* (before a hold: the writes it waits for are not covered) */
    if (g_hold_armed) {
        g_hold_armed = false;
        bool fail = g_hold_fail;
        struct timespec ts;
        deadline_in(&ts, 2000);
        int w = 0;
        while (g_done_writes < g_hold_until && w == 0)
            w = pthread_cond_timedwait(&g_fault_cond, &g_fault_mu, &ts);
        g_hold_by_write = g_done_writes >= g_hold_until;
        if (fail) {
            pthread_mutex_unlock(&g_fault_mu);
            errno = EIO;
            return -1;
        }
    }
    long n = ++g_syncs;
    if (g_kind == SL_FAULT_SYNC_EIO && (n == g_nth || (g_sticky && n > g_nth))) {
        pthread_mutex_unlock(&g_fault_mu);
        errno = EIO;
        return -1;
    }
    pthread_mutex_unlock(&g_fault_mu);
    int rc = real(fd);
    pthread_mutex_lock(&g_fault_mu);
    if (g_crashed) {
        /* Another thread's write crashed while this sync ran, and damaged what the sync was
         * making durable: like a power loss during the sync, it never completes. */
        pthread_mutex_unlock(&g_fault_mu);
        errno = EIO;
        return -1;
    }
    if (rc == 0 && all_fds) {
        for (int i = 0; i < FAULT_FDS_MAX; i++)
            unsynced_covered_locked(i, seen);
    } else if (rc == 0 && fd >= 0 && fd < FAULT_FDS_MAX) {
        unsynced_covered_locked(fd, seen);
    }
    pthread_mutex_unlock(&g_fault_mu);
    return rc;
}

static int fault_fdatasync(int fd) {
    return fault_sync_common(fd, fdatasync, false);
}

/* syncfs makes every file durable: like a sync of each tracked descriptor. */
static int fault_syncfs(int fd) {
    return fault_sync_common(fd, syncfs, true);
}
static int fault_fsync(int fd) {
    return fault_sync_common(fd, fsync, false);
}

static bool fault_dead(void) {
    pthread_mutex_lock(&g_fault_mu);
    bool dead = g_crashed;
    pthread_mutex_unlock(&g_fault_mu);
    if (dead) errno = EIO;
    return dead;
}

static int fault_ftruncate(int fd, off_t len) {
    return fault_dead() ? -1 : ftruncate(fd, len);
}
static int fault_unlink(const char *path) {
    return fault_dead() ? -1 : unlink(path);
}
static int fault_rename(const char *from, const char *to) {
    return fault_dead() ? -1 : rename(from, to);
}
static int fault_mkdir(const char *path, mode_t mode) {
    return fault_dead() ? -1 : mkdir(path, mode);
}
static int fault_rmdir(const char *path) {
    return fault_dead() ? -1 : rmdir(path);
}

const sl_file_ops_t sl_file_ops_fault = {
    .open = fault_open,
    .close = fault_close,
    .pwrite = fault_pwrite,
    .pread = pread,
    .fdatasync = fault_fdatasync,
    .syncfs = fault_syncfs,
    .fsync = fault_fsync,
    .ftruncate = fault_ftruncate,
    .unlink = fault_unlink,
    .rename = fault_rename,
    .mkdir = fault_mkdir,
    .fstat = fstat,
    .rmdir = fault_rmdir,
};
