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
#include <unistd.h>

#define FAULT_FDS_MAX 65536

static pthread_mutex_t g_fault_mu = PTHREAD_MUTEX_INITIALIZER;
static sl_fault_kind_t g_kind;
static long g_nth;    /* fault at this write (or sync) count */
static long g_writes; /* pwrite calls since arm */
static long g_syncs;  /* fdatasync/fsync calls since arm */
static bool g_sticky, g_lose, g_crashed;
static unsigned g_seed;
/* Lowest offset written through each fd since its last sync, or -1. */
static off_t g_unsynced[FAULT_FDS_MAX];
/* Writes through each fd so far: a sync forgets the unsynced writes only if none came while it
 * ran (another thread's write during the sync may not be covered by it). */
static unsigned long g_wgen[FAULT_FDS_MAX];
static bool g_unsynced_init;

static void unsynced_init_locked(void) {
    if (g_unsynced_init) return;
    for (size_t i = 0; i < FAULT_FDS_MAX; i++)
        g_unsynced[i] = -1;
    g_unsynced_init = true;
}

void sl_fault_arm(sl_fault_kind_t kind, long nth, bool sticky, bool lose_unsynced, unsigned seed) {
    pthread_mutex_lock(&g_fault_mu);
    unsynced_init_locked();
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

/* Damages what was written since the last sync of every tracked fd, as a power loss may. */
static void lose_unsynced_locked(void) {
    for (int fd = 0; fd < FAULT_FDS_MAX; fd++) {
        off_t from = g_unsynced[fd];
        if (from < 0) continue;
        g_unsynced[fd] = -1;
        struct stat st;
        if (fstat(fd, &st) != 0 || st.st_size <= from) continue;
        off_t cut = from + (off_t)(fault_rand_locked() % (unsigned)(st.st_size - from + 1));
        unsigned how = fault_rand_locked() % 3;
        if (how == 0) {
            if (ftruncate(fd, cut) != 0) continue;
        } else {
            char buf[4096];
            for (off_t off = cut; off < st.st_size;) {
                size_t n = (size_t)(st.st_size - off < (off_t)sizeof buf ? st.st_size - off
                                                                         : (off_t)sizeof buf);
                for (size_t i = 0; i < n; i++)
                    buf[i] = how == 1 ? 0 : (char)fault_rand_locked();
                if (pwrite(fd, buf, n, off) != (ssize_t)n) break;
                off += (off_t)n;
            }
        }
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
        unsynced_init_locked();
        g_unsynced[fd] = -1;
        pthread_mutex_unlock(&g_fault_mu);
    }
    return fd;
}

static int fault_close(int fd) {
    if (fd >= 0 && fd < FAULT_FDS_MAX) {
        pthread_mutex_lock(&g_fault_mu);
        unsynced_init_locked();
        g_unsynced[fd] = -1;
        pthread_mutex_unlock(&g_fault_mu);
    }
    return close(fd);
}

static ssize_t fault_pwrite(int fd, const void *buf, size_t len, off_t off) {
    pthread_mutex_lock(&g_fault_mu);
    unsynced_init_locked();
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
    if (w > 0 && fd < FAULT_FDS_MAX && (g_unsynced[fd] < 0 || off < g_unsynced[fd]))
        g_unsynced[fd] = off;
    if (w > 0 && fd < FAULT_FDS_MAX) g_wgen[fd]++;
    if (hit && n == g_nth && kind == SL_FAULT_CRASH) {
        g_crashed = true;
        if (g_lose) lose_unsynced_locked();
        pthread_mutex_unlock(&g_fault_mu);
        errno = EIO;
        return -1;
    }
    pthread_mutex_unlock(&g_fault_mu);
    if (hit && kind == SL_FAULT_SHORT && todo == 0) {
        errno = EIO;
        return -1;
    }
    return w;
}

static int fault_sync_common(int fd, int (*real)(int)) {
    pthread_mutex_lock(&g_fault_mu);
    unsynced_init_locked();
    if (g_crashed) {
        pthread_mutex_unlock(&g_fault_mu);
        errno = EIO;
        return -1;
    }
    long n = ++g_syncs;
    if (g_kind == SL_FAULT_SYNC_EIO && (n == g_nth || (g_sticky && n > g_nth))) {
        pthread_mutex_unlock(&g_fault_mu);
        errno = EIO;
        return -1;
    }
    unsigned long gen = fd >= 0 && fd < FAULT_FDS_MAX ? g_wgen[fd] : 0;
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
    if (rc == 0 && fd >= 0 && fd < FAULT_FDS_MAX && g_wgen[fd] == gen) g_unsynced[fd] = -1;
    pthread_mutex_unlock(&g_fault_mu);
    return rc;
}

static int fault_fdatasync(int fd) {
    return fault_sync_common(fd, fdatasync);
}

/* syncfs makes every file durable: like a sync of each tracked descriptor. */
static int fault_syncfs(int fd) {
    int rc = fault_sync_common(fd, syncfs);
    if (rc == 0) {
        pthread_mutex_lock(&g_fault_mu);
        for (size_t i = 0; i < FAULT_FDS_MAX; i++)
            g_unsynced[i] = -1;
        pthread_mutex_unlock(&g_fault_mu);
    }
    return rc;
}
static int fault_fsync(int fd) {
    return fault_sync_common(fd, fsync);
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
