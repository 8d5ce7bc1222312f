/* Segments of the segment-file engine (overview in file.c): the reference-counted segments of a
 * shard log, whose descriptors open lazily and close under the descriptor budget; creating
 * segment files, finding segments and index entries, and retention, which deletes whole expired
 * segments. */
#include "core/common.h"
#include "core/limits.h"
#include "core/log.h"
#include "storage/file_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

char *sl_file_seg_path(const sl_file_shard_t *s, uint64_t base, const char *ext) {
    char name[SL_SEG_NAME_BYTES];
    sl_seg_name(name, base, ext);
    return sl_file_path_join(s->dir, name);
}

sl_file_seg_t *sl_file_seg_new(uint64_t base) {
    sl_file_seg_t *g = calloc(1, sizeof *g);
    if (!g) return NULL;
    g->base_seq = base;
    g->end_seq = base;
    g->size = SL_SEG_HEADER_BYTES;
    g->fd = g->idx_fd = -1;
    g->refs = 1;
    return g;
}

void sl_file_seg_close_fds(sl_file_engine_t *e, sl_file_seg_t *g) {
    if (g->fd >= 0) {
        e->ops.close(g->fd);
        atomic_fetch_sub(&e->fds.open, 1);
    }
    if (g->idx_fd >= 0) {
        e->ops.close(g->idx_fd);
        atomic_fetch_sub(&e->fds.open, 1);
    }
    g->fd = g->idx_fd = -1;
}

/* A reader is done with segment g of shard s (mu held, reference dropped): when the engine holds
 * more descriptors than its budget, g's are closed at once if nobody else uses them (they are
 * reopened on demand), so that readers of many shards do not run the process out of descriptors
 * between two sweeps of the commit thread. */
void sl_file_seg_reader_release_locked(sl_file_shard_t *s, sl_file_seg_t *g) {
    sl_file_engine_t *e = s->eng;
    if (atomic_load(&e->fds.open) > e->fds.max && g->refs == 1 && !s->closing && !s->in_batch)
        sl_file_seg_close_fds(e, g);
}

/* Drops a reference; mu held (or the shard is private to the caller). */
void sl_file_seg_unref_locked(sl_file_engine_t *e, sl_file_seg_t *g) {
    SL_ASSERT(g->refs > 0);
    if (--g->refs == 0) {
        sl_file_seg_close_fds(e, g);
        free(g);
    }
}

void sl_file_seg_unref(sl_file_shard_t *s, sl_file_seg_t *g) {
    pthread_mutex_lock(&s->mu);
    bool last = g->refs == 1;
    sl_file_seg_unref_locked(s->eng, g);
    if (!last) sl_file_seg_reader_release_locked(s, g);
    pthread_mutex_unlock(&s->mu);
}

/* Opens the segment's file descriptors if closed; mu held. Active segments open read-write. */
int sl_file_seg_open_fds_locked(sl_file_shard_t *s, sl_file_seg_t *g) {
    sl_file_engine_t *e = s->eng;
    int flags = g->sealed ? O_RDONLY : O_RDWR;
    if (g->fd < 0) {
        char *p = sl_file_seg_path(s, g->base_seq, "log");
        if (!p) return SL_ENOMEM;
        g->fd = e->ops.open(p, flags, 0);
        int err = errno;
        free(p);
        if (g->fd < 0) return err == ENOENT ? SL_ENOTFOUND : sl_file_errno_code(err);
        atomic_fetch_add(&e->fds.open, 1);
    }
    if (g->idx_fd < 0) {
        char *p = sl_file_seg_path(s, g->base_seq, "idx");
        if (!p) return SL_ENOMEM;
        g->idx_fd = e->ops.open(p, flags, 0);
        int err = errno;
        free(p);
        if (g->idx_fd < 0) return sl_file_errno_code(err);
        atomic_fetch_add(&e->fds.open, 1);
    }
    return 0;
}

int sl_file_segs_push(sl_file_shard_t *s, sl_file_seg_t *g) {
    if (s->nseg == s->capseg) {
        size_t cap = s->capseg ? s->capseg * 2 : 4;
        sl_file_seg_t **p = realloc(s->segs, cap * sizeof *p);
        if (!p) return SL_ENOMEM;
        s->segs = p;
        s->capseg = cap;
    }
    s->segs[s->nseg++] = g;
    return 0;
}

/* Index of the last segment with base_seq <= seq, or -1; mu held. */
long sl_file_seg_find_locked(const sl_file_shard_t *s, uint64_t seq) {
    size_t lo = 0, hi = s->nseg;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->segs[mid]->base_seq <= seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (long)lo - 1;
}

/* Creates an empty segment file and its index. With `durable` the segment header is fdatasync'd
 * and the directory fsync'd before returning; without, the caller makes them durable (the first
 * segment of a new shard: see sl_file_shard_create_files). */
int sl_file_seg_create_files(sl_file_shard_t *s, uint64_t base, bool durable, int *fd_out,
                             int *idx_out) {
    sl_file_engine_t *e = s->eng;
    int rc = 0, fd = -1, ifd = -1;
    char *lp = sl_file_seg_path(s, base, "log"), *ip = sl_file_seg_path(s, base, "idx");
    if (!lp || !ip) {
        rc = SL_ENOMEM;
        goto fail;
    }
    uint8_t hdr[SL_SEG_HEADER_BYTES], ihdr[SL_IDX_HEADER_BYTES];
    sl_seg_header_encode(hdr, base);
    sl_idx_header_encode(ihdr, base, SL_STORAGE_INDEX_INTERVAL_BYTES);
    fd = e->ops.open(lp, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) {
        rc = sl_file_errno_code(errno);
        goto fail;
    }
    if ((rc = sl_file_pwrite_all(&e->ops, fd, hdr, sizeof hdr, 0))) goto fail;
    if (durable && e->ops.fdatasync(fd) != 0) {
        rc = sl_file_errno_code(errno);
        goto fail;
    }
    ifd = e->ops.open(ip, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (ifd < 0) {
        rc = sl_file_errno_code(errno);
        goto fail;
    }
    if ((rc = sl_file_pwrite_all(&e->ops, ifd, ihdr, sizeof ihdr, 0))) goto fail;
    if (durable && (rc = sl_file_fsync_dir(e, s->dir))) goto fail;
    free(lp);
    free(ip);
    *fd_out = fd;
    *idx_out = ifd;
    return 0;
fail:
    if (fd >= 0) e->ops.close(fd);
    if (ifd >= 0) e->ops.close(ifd);
    if (lp) e->ops.unlink(lp);
    if (ip) e->ops.unlink(ip);
    free(lp);
    free(ip);
    return rc;
}

/* Index of the last POINT entry of g (among its first n) whose key is <= the target: by seq when
 * by_time is false, by arrival < ts when true. -1 when none. Reads the index file with pread. */
int sl_file_index_search(sl_file_shard_t *s, sl_file_seg_t *g, uint64_t n, bool by_time,
                         uint64_t seq, int64_t ts, sl_idx_entry_t *out, long *pos_out) {
    long lo = 0, hi = (long)n - 1, best = -1;
    sl_idx_entry_t bestent = {0};
    while (lo <= hi) {
        long mid = lo + (hi - lo) / 2;
        uint8_t ent[SL_IDX_ENTRY_BYTES];
        sl_idx_entry_t ie;
        if (sl_file_pread_full(&s->eng->ops, g->idx_fd, ent, sizeof ent,
                               SL_IDX_HEADER_BYTES + (uint64_t)mid * SL_IDX_ENTRY_BYTES) !=
                (ssize_t)sizeof ent ||
            sl_idx_entry_decode(ent, &ie) != 0 || ie.kind != SL_IDX_POINT)
            return SL_ECORRUPT;
        bool le = by_time ? ie.arrival_ms < ts : ie.seq <= seq;
        if (le) {
            best = mid;
            bestent = ie;
            lo = mid + 1;
        } else {
            hi = mid - 1;
        }
    }
    *pos_out = best;
    *out = bestent;
    return 0;
}

/* Reads POINT entry i of g's index file. */
int sl_file_index_entry_at(sl_file_shard_t *s, sl_file_seg_t *g, uint64_t i, sl_idx_entry_t *out) {
    uint8_t ent[SL_IDX_ENTRY_BYTES];
    if (sl_file_pread_full(&s->eng->ops, g->idx_fd, ent, sizeof ent,
                           SL_IDX_HEADER_BYTES + i * SL_IDX_ENTRY_BYTES) != (ssize_t)sizeof ent ||
        sl_idx_entry_decode(ent, out) != 0 || out->kind != SL_IDX_POINT)
        return SL_ECORRUPT;
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Retention */

int sl_file_trim(sl_shard_log_t *log, int64_t cutoff_ms) {
    sl_file_shard_t *s = (sl_file_shard_t *)log;
    sl_file_engine_t *e = s->eng;
    sl_file_seg_t *victims[64];
    size_t nv = 0;
    pthread_mutex_lock(&s->mu);
    while (nv < SL_ARRAY_LEN(victims) && s->nseg > 1 && s->segs[0]->sealed &&
           (s->segs[0]->end_seq == s->segs[0]->base_seq || s->segs[0]->last_arrival < cutoff_ms)) {
        victims[nv++] = s->segs[0];
        memmove(s->segs, s->segs + 1, (s->nseg - 1) * sizeof *s->segs);
        s->nseg--;
    }
    sl_file_seg_t *a = s->segs[s->nseg - 1];
    if (s->nseg == 1 && a->end_seq > a->base_seq && a->last_arrival < cutoff_ms && !s->closing) {
        /* Everything is expired, including the active segment: ask the commit thread to seal it
         * so the next trim can delete it. */
        s->roll_requested = true;
        sl_file_request_round_locked(s);
    }
    pthread_mutex_unlock(&s->mu);
    int rc = 0;
    for (size_t i = 0; i < nv; i++) {
        char *lp = sl_file_seg_path(s, victims[i]->base_seq, "log"),
             *ip = sl_file_seg_path(s, victims[i]->base_seq, "idx");
        if (lp && e->ops.unlink(lp) != 0 && errno != ENOENT) rc = sl_file_errno_code(errno);
        if (ip && e->ops.unlink(ip) != 0 && errno != ENOENT) rc = sl_file_errno_code(errno);
        SL_DEBUG("storage: stream %s shard %s: retention deleted segment %020" PRIu64
                 ".log (seq %" PRIu64 "..%" PRIu64 ")",
                 s->stream_key, s->shard_key, victims[i]->base_seq, victims[i]->base_seq,
                 victims[i]->end_seq - 1);
        free(lp);
        free(ip);
    }
    if (nv) {
        int r2 = sl_file_fsync_dir(e, s->dir);
        if (!rc) rc = r2;
        pthread_mutex_lock(&s->mu);
        for (size_t i = 0; i < nv; i++)
            sl_file_seg_unref_locked(e, victims[i]);
        pthread_mutex_unlock(&s->mu);
    }
    return rc;
}
