/* The line log (linelog.h): a mutex-protected queue of lines and one writer thread. */
#include "core/linelog.h"

#include "core/common.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/time.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>
#include <unistd.h>

typedef struct line {
    struct line *next;
    size_t len;
    char text[]; /* len bytes and a newline */
} line_t;

struct sl_linelog {
    int fd;
    char path[SL_LINELOG_PATH_BYTES_MAX];
    pthread_t writer;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    line_t *head, *tail; /* (mu) */
    size_t queued_bytes; /* (mu) */
    bool stopping;       /* (mu) */
    uint64_t dropped;    /* (mu) */
    uint64_t dropped_logged;
};

static void write_all(sl_linelog_t *log, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(log->fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            SL_ERROR("cannot write %s: %s", log->path, strerror(errno));
            return;
        }
        p += w;
        n -= (size_t)w;
    }
}

static void *writer_main(void *arg) {
    sl_linelog_t *log = arg;
    int64_t last_sync_ms = sl_time_now_ms();
    bool unsynced = false;
    pthread_mutex_lock(&log->mu);
    for (;;) {
        while (!log->head && !log->stopping) {
            if (!unsynced) {
                pthread_cond_wait(&log->cv, &log->mu);
                continue;
            }
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += 1;
            if (pthread_cond_timedwait(&log->cv, &log->mu, &ts) == ETIMEDOUT) break;
        }
        line_t *batch = log->head;
        log->head = log->tail = NULL;
        log->queued_bytes = 0;
        bool stopping = log->stopping;
        uint64_t dropped = log->dropped;
        pthread_mutex_unlock(&log->mu);
        /* one buffer, one write() for the batch */
        size_t total = 0;
        for (line_t *l = batch; l; l = l->next)
            total += l->len + 1;
        char *buf = total ? malloc(total) : NULL;
        size_t off = 0;
        for (line_t *l = batch; l;) {
            line_t *next = l->next;
            if (buf) {
                memcpy(buf + off, l->text, l->len + 1);
                off += l->len + 1;
            } else {
                write_all(log, l->text, l->len + 1);
            }
            free(l);
            l = next;
        }
        if (buf) write_all(log, buf, off);
        free(buf);
        if (total) unsynced = true;
        int64_t now = sl_time_now_ms();
        if (unsynced && (stopping || now - last_sync_ms >= 1000)) {
            fdatasync(log->fd);
            last_sync_ms = now;
            unsynced = false;
        }
        if (dropped != log->dropped_logged) {
            SL_WARN("%s: %llu lines dropped so far (the writer could not keep up)", log->path,
                    (unsigned long long)dropped);
            log->dropped_logged = dropped;
        }
        pthread_mutex_lock(&log->mu);
        if (stopping && !log->head) break;
    }
    pthread_mutex_unlock(&log->mu);
    return NULL;
}

int sl_linelog_open(const char *path, sl_linelog_t **out) {
    *out = NULL;
    sl_linelog_t *log = calloc(1, sizeof *log);
    if (!log) return SL_ENOMEM;
    snprintf(log->path, sizeof log->path, "%s", path);
    log->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (log->fd < 0) {
        SL_ERROR("cannot open %s: %s", path, strerror(errno));
        free(log);
        return SL_EIO;
    }
    pthread_mutex_init(&log->mu, NULL);
    pthread_cond_init(&log->cv, NULL);
    if (pthread_create(&log->writer, NULL, writer_main, log) != 0) {
        close(log->fd);
        pthread_cond_destroy(&log->cv);
        pthread_mutex_destroy(&log->mu);
        free(log);
        return SL_ENOMEM;
    }
    *out = log;
    return 0;
}

void sl_linelog_close(sl_linelog_t *log) {
    if (!log) return;
    pthread_mutex_lock(&log->mu);
    log->stopping = true;
    pthread_cond_signal(&log->cv);
    pthread_mutex_unlock(&log->mu);
    pthread_join(log->writer, NULL);
    fdatasync(log->fd);
    close(log->fd);
    pthread_cond_destroy(&log->cv);
    pthread_mutex_destroy(&log->mu);
    free(log);
}

void sl_linelog_write(sl_linelog_t *log, const char *text, size_t len) {
    line_t *l = malloc(sizeof *l + len + 1);
    pthread_mutex_lock(&log->mu);
    if (!l || log->queued_bytes + len > SL_LINELOG_QUEUE_BYTES_MAX || log->stopping) {
        log->dropped++;
        pthread_mutex_unlock(&log->mu);
        free(l);
        return;
    }
    memcpy(l->text, text, len);
    l->text[len] = '\n';
    l->len = len;
    l->next = NULL;
    if (log->tail)
        log->tail->next = l;
    else
        log->head = l;
    log->tail = l;
    log->queued_bytes += len;
    pthread_cond_signal(&log->cv);
    pthread_mutex_unlock(&log->mu);
}

uint64_t sl_linelog_dropped(sl_linelog_t *log) {
    pthread_mutex_lock(&log->mu);
    uint64_t n = log->dropped;
    pthread_mutex_unlock(&log->mu);
    return n;
}
