/* The shard registry of the segment-file engine (overview in file.c): opening and closing shard
 * logs (a hash table by stream and shard key; shards that the journal's replay holds until they
 * are opened), and the descriptor budget: the commit thread closes the descriptors of the least
 * recently used shard logs and of idle ones (docs/storage-format.md, "Resources"). */
#include "core/common.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/time.h"
#include "storage/file_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

void sl_file_shard_free(sl_file_shard_t *s) {
    sl_file_engine_t *e = s->eng;
    for (size_t i = 0; i < s->nseg; i++)
        sl_file_seg_unref_locked(e, s->segs[i]);
    free(s->segs);
    sl_buf_free(&s->writer.idx);
    sl_buf_free(&s->tail.buf);
    free(s->dir);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cond);
    free(s);
}

/* FNV-1a over "stream_key/shard_key". */
static size_t registry_hash(const char *stream_key, const char *shard_key) {
    uint64_t h = 1469598103934665603ull;
    for (const char *p = stream_key; *p; p++)
        h = (h ^ (uint8_t)*p) * 1099511628211ull;
    h = (h ^ '/') * 1099511628211ull;
    for (const char *p = shard_key; *p; p++)
        h = (h ^ (uint8_t)*p) * 1099511628211ull;
    return (size_t)(h ^ (h >> 29));
}

static sl_file_shard_t *registry_find_locked(sl_file_engine_t *e, const char *stream_key,
                                             const char *shard_key) {
    if (e->registry.hash_cap == 0) return NULL;
    size_t b = registry_hash(stream_key, shard_key) & (e->registry.hash_cap - 1);
    for (sl_file_shard_t *s = e->registry.hash[b]; s; s = s->registry.hash_next)
        if (strcmp(s->stream_key, stream_key) == 0 && strcmp(s->shard_key, shard_key) == 0)
            return s;
    return NULL;
}

/* Adds s to the registry list and hash table (grown to keep chains short); registry.mu held. */
static int registry_add_locked(sl_file_engine_t *e, sl_file_shard_t *s) {
    if (e->registry.count + 1 > e->registry.hash_cap / 2) {
        size_t cap = e->registry.hash_cap ? e->registry.hash_cap * 2 : 256;
        sl_file_shard_t **t = calloc(cap, sizeof *t);
        if (!t) return SL_ENOMEM;
        for (size_t i = 0; i < e->registry.hash_cap; i++) {
            while (e->registry.hash[i]) {
                sl_file_shard_t *x = e->registry.hash[i];
                e->registry.hash[i] = x->registry.hash_next;
                size_t b = registry_hash(x->stream_key, x->shard_key) & (cap - 1);
                x->registry.hash_next = t[b];
                t[b] = x;
            }
        }
        free(e->registry.hash);
        e->registry.hash = t;
        e->registry.hash_cap = cap;
    }
    size_t b = registry_hash(s->stream_key, s->shard_key) & (e->registry.hash_cap - 1);
    s->registry.hash_next = e->registry.hash[b];
    e->registry.hash[b] = s;
    e->registry.count++;
    s->registry.next = e->registry.head;
    if (e->registry.head) e->registry.head->registry.prev = s;
    e->registry.head = s;
    return 0;
}

void sl_file_registry_remove_locked(sl_file_engine_t *e, sl_file_shard_t *s) {
    size_t b = registry_hash(s->stream_key, s->shard_key) & (e->registry.hash_cap - 1);
    for (sl_file_shard_t **pp = &e->registry.hash[b]; *pp; pp = &(*pp)->registry.hash_next) {
        if (*pp == s) {
            *pp = s->registry.hash_next;
            break;
        }
    }
    e->registry.count--;
    if (s->registry.prev)
        s->registry.prev->registry.next = s->registry.next;
    else
        e->registry.head = s->registry.next;
    if (s->registry.next) s->registry.next->registry.prev = s->registry.prev;
}

int sl_file_shard_open(sl_storage_t *st, const char *stream_key, const char *shard_key, void *user,
                       sl_shard_log_t **out) {
    sl_file_engine_t *e = (sl_file_engine_t *)st;
    int rc = 0;
    pthread_mutex_lock(&e->registry.mu);
    sl_file_shard_t *s = registry_find_locked(e, stream_key, shard_key);
    if (s && s->held) {
        /* Opened at start by the journal's replay, with restored records in its tail. */
        s->held = false;
        s->base.user = user;
        pthread_mutex_unlock(&e->registry.mu);
        *out = &s->base;
        return 0;
    }
    if (s) {
        pthread_mutex_unlock(&e->registry.mu);
        return SL_EEXIST;
    }
    /* 64-byte aligned (a commit round fetches its state line by line, file_internal.h), with
     * the keys right after it */
    size_t klen = strlen(stream_key), hlen = strlen(shard_key);
    size_t size = (sizeof *s + klen + hlen + 2 + 63) / 64 * 64;
    s = aligned_alloc(64, size);
    if (!s) {
        pthread_mutex_unlock(&e->registry.mu);
        return SL_ENOMEM;
    }
    memset(s, 0, size);
    s->eng = e;
    s->base.st = st;
    s->base.user = user;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cond, NULL);
    s->stream_key = (char *)(s + 1);
    s->shard_key = s->stream_key + klen + 1;
    memcpy(s->stream_key, stream_key, klen + 1);
    memcpy(s->shard_key, shard_key, hlen + 1);
    s->stream_key_len = klen;
    s->shard_key_len = hlen;
    char *sd = sl_file_path_join(e->root, stream_key);
    s->dir = sd ? sl_file_path_join(sd, shard_key) : NULL;
    free(sd);
    if (!s->dir) {
        rc = SL_ENOMEM;
        goto fail;
    }
    if ((rc = sl_file_shard_recover(s))) goto fail;
    s->last_use_ms = sl_time_mono_ms();
    if ((rc = registry_add_locked(e, s))) goto fail;
    pthread_mutex_unlock(&e->registry.mu);
    *out = &s->base;
    return 0;
fail:
    SL_ERROR("storage: stream %s shard %s: cannot open the shard log: %s", stream_key, shard_key,
             sl_strerror(rc));
    pthread_mutex_unlock(&e->registry.mu);
    sl_file_shard_free(s);
    return rc;
}

/* See sl_storage_shard_set_floor. A log with nothing on disk just moves its empty segment; one
 * with files gets a new segment at the floor from the first commit round that writes to it (a
 * direct round: roll_requested keeps it out of the journal). */
int sl_file_set_floor(sl_shard_log_t *log, uint64_t floor_seq) {
    sl_file_shard_t *s = (sl_file_shard_t *)log;
    int rc = 0;
    pthread_mutex_lock(&s->mu);
    if (s->in_batch || s->writer.end_seq != s->next_seq) {
        rc = SL_EINVAL; /* appends were already made */
    } else if (floor_seq > s->next_seq) {
        sl_file_seg_t *a = s->segs[s->nseg - 1];
        if (!s->on_disk) {
            SL_ASSERT(s->nseg == 1 && a->end_seq == a->base_seq);
            a->base_seq = a->end_seq = floor_seq;
            s->next_seq = s->writer.end_seq = floor_seq;
        } else {
            s->writer.floor = floor_seq;
            s->roll_requested = true;
        }
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

void sl_file_shard_close(sl_shard_log_t *log) {
    sl_file_shard_t *s = (sl_file_shard_t *)log;
    sl_file_engine_t *e = s->eng;
    pthread_mutex_lock(&s->mu);
    s->closing = true;
    pthread_mutex_unlock(&s->mu);
    /* Appends to s were all queued before this call (no append may race with a close): once
     * the requests queued so far are committed, none is left. */
    sl_file_wait_queued(e);
    pthread_mutex_lock(&s->mu);
    while (s->in_batch)
        pthread_cond_wait(&s->cond, &s->mu);
    pthread_mutex_unlock(&s->mu);
    /* The registry lock keeps the commit thread's flush and sweep away from this shard. */
    pthread_mutex_lock(&e->registry.mu);
    pthread_mutex_lock(&s->mu);
    sl_file_seg_t *a = s->segs[s->nseg - 1];
    bool tail = s->tail.buf.len > 0;
    /* ckdirty: journaled frames written out since the last checkpoint mark (an old tail written
     * by age): the next mark no longer sees this shard, yet its checkpoint frees their journal
     * entries, so the close makes them durable. */
    if ((s->unsynced || s->writer.idx.len || tail || s->checkpoint.ckdirty) &&
        sl_file_seg_open_fds_locked(s, a) == 0) {
        pthread_mutex_unlock(&s->mu);
        int trc = sl_file_shard_flush_tail(s, a, true);
        pthread_mutex_lock(&s->mu);
        if (trc) {
            SL_ERROR("storage: stream %s shard %s: writing journaled records at close failed: %s; "
                     "the journal "
                     "restores them at the next start",
                     s->stream_key, s->shard_key, sl_strerror(trc));
            atomic_store(&e->checkpoint.blocked, true);
        } else if (e->ops.fdatasync(a->fd) != 0)
            SL_ERROR("storage: stream %s shard %s: fdatasync at close failed: %s", s->stream_key,
                     s->shard_key, strerror(errno));
        else
            (void)sl_file_flush_pending_index(s, a);
    }
    pthread_mutex_unlock(&s->mu);
    /* Freed under the registry lock: an interval flush may still hold a segment reference,
     * which it drops under the same lock. */
    sl_file_registry_remove_locked(e, s);
    sl_file_tq_remove(s);
    sl_file_shard_free(s);
    pthread_mutex_unlock(&e->registry.mu);
}

typedef struct {
    int64_t used_ms;
    sl_file_shard_t *s;
} fd_cand_t;

static int fd_cand_cmp(const void *a, const void *b) {
    const fd_cand_t *x = a, *y = b;
    return x->used_ms < y->used_ms ? -1 : x->used_ms > y->used_ms;
}

/* Closes the descriptors of the least recently used shard logs nobody is using (their segments
 * have no reference but the shard's own) until the engine holds at most 3/4 of its budget; they
 * are reopened on demand. Commit thread. */
void sl_file_fd_sweep(sl_file_engine_t *e) {
    int target = e->fds.max / 4 * 3;
    if (atomic_load(&e->fds.open) <= target) return;
    pthread_mutex_lock(&e->registry.mu);
    fd_cand_t *c = malloc((e->registry.count ? e->registry.count : 1) * sizeof *c);
    size_t n = 0;
    for (sl_file_shard_t *s = e->registry.head; c && s; s = s->registry.next) {
        pthread_mutex_lock(&s->mu);
        bool open = false;
        for (size_t i = 0; i < s->nseg && !open; i++)
            open = s->segs[i]->fd >= 0 || s->segs[i]->idx_fd >= 0;
        if (open && !s->in_batch) c[n++] = (fd_cand_t){.used_ms = s->last_use_ms, .s = s};
        pthread_mutex_unlock(&s->mu);
    }
    if (n) qsort(c, n, sizeof *c, fd_cand_cmp);
    for (size_t k = 0; k < n && atomic_load(&e->fds.open) > target; k++) {
        sl_file_shard_t *s = c[k].s;
        pthread_mutex_lock(&s->mu);
        for (size_t i = 0; i < s->nseg && !s->in_batch; i++)
            if (s->segs[i]->refs == 1) sl_file_seg_close_fds(e, s->segs[i]);
        pthread_mutex_unlock(&s->mu);
    }
    free(c);
    pthread_mutex_unlock(&e->registry.mu);
}

/* Gives back descriptors and buffers of shards idle for idle_ms. */
void sl_file_idle_sweep(sl_file_engine_t *e, int64_t idle_ms) {
    int64_t now = sl_time_mono_ms();
    pthread_mutex_lock(&e->registry.mu);
    for (sl_file_shard_t *s = e->registry.head; s; s = s->registry.next) {
        pthread_mutex_lock(&s->mu);
        if (!s->in_batch && !s->unsynced && s->tail.buf.len == 0 &&
            now - s->last_use_ms >= idle_ms) {
            sl_file_seg_t *a = s->segs[s->nseg - 1];
            if (s->writer.idx.len && sl_file_seg_open_fds_locked(s, a) == 0 &&
                e->ops.fdatasync(a->fd) == 0 && sl_file_flush_pending_index(s, a) == 0)
                a->npoints = s->writer.npoints_disk;
            if (s->writer.idx.len) {
                pthread_mutex_unlock(&s->mu);
                continue; /* keep what is needed to retry */
            }
            for (size_t i = 0; i < s->nseg; i++)
                if (s->segs[i]->refs == 1) sl_file_seg_close_fds(e, s->segs[i]);
            sl_buf_free(&s->writer.idx);
        }
        pthread_mutex_unlock(&s->mu);
    }
    pthread_mutex_unlock(&e->registry.mu);
}

/* Segment and index descriptors the engine may keep open: a share of the process's descriptor
 * limit (SL_STORAGE_OPEN_FDS_MAX when the limit is unknown). Closing descriptors of shards idle for
 * only SL_STORAGE_FD_PRESSURE_IDLE_MS costs two open() calls per shard per commit round when the
 * touched shards need more than the budget, so a budget that fits two descriptors per shard of a
 * 4,096-shard stream matters (measured with bench_storage --only many). */
int sl_file_engine_fd_budget(void) {
    struct rlimit rl;
    long budget = SL_STORAGE_OPEN_FDS_MAX;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        long cur = rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > (1u << 24) ? (1l << 24)
                                                                            : (long)rl.rlim_cur;
        long share = cur / 100 * SL_STORAGE_OPEN_FDS_SHARE_PCT;
        /* Never more than the share, though: a budget above the limit itself (a soft limit of
         * 1,024 is common) ends in open() failing with EMFILE and sockets starving. */
        budget = SL_MAX(share, 16);
    }
    return (int)SL_MIN(budget, (long)INT32_MAX);
}
