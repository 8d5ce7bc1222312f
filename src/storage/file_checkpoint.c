/* Checkpoints of the commit journal (overview in file.c; docs/storage-format.md, "Commit
 * journal"): the commit thread writes shard tails to their segments (every tail periodically, the
 * oldest ones under load) and marks how far the journal may be freed, noting the segments written
 * since the last mark; the checkpoint thread makes those writes durable (one fdatasync per
 * segment, or one syncfs when there are many) and records that position in a checkpoint slot of
 * the journal; the commit thread then writes the index entries whose data the checkpoint made
 * durable. The checkpoint thread also grows the journal file during its first lap (zeros
 * ahead of the write position), so that commit rounds do not write and sync them. */
#include "core/common.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/time.h"
#include "storage/file_internal.h"
#include "storage/journal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { CK_IDLE, CK_RUNNING, CK_DONE, CK_FAILED };

/* metrics (docs/observability.md, "Storage") */
static const double ck_sync_ms[] = {1, 2.5, 5, 10, 25, 50, 100, 250, 1000, 2500};
static const sl_metric_desc_t d_ck_sync = {
    .prom_name = "sluice_storage_checkpoint_sync_seconds",
    .help = "Time of a checkpoint's sync of the segments written since the last one (one "
            "fdatasync each, or one syncfs).",
    .kind = SL_METRIC_HISTOGRAM,
    .prom_scale = 0.001,
    .bounds = ck_sync_ms,
    .bounds_len = SL_ARRAY_LEN(ck_sync_ms)};
static const sl_metric_desc_t d_ck_syncfs = {
    .prom_name = "sluice_storage_checkpoint_syncfs_total",
    .help = "Checkpoints that synced the whole file system (syncfs) instead of their segments.",
    .kind = SL_METRIC_COUNTER};
static struct {
    pthread_once_t once;
    sl_series_t *sync, *syncfs;
} g_ck = {.once = PTHREAD_ONCE_INIT};

static void ck_metrics_init(void) {
    g_ck.sync = sl_metric_series(sl_metric_declare(&d_ck_sync), NULL);
    g_ck.syncfs = sl_metric_series(sl_metric_declare(&d_ck_syncfs), NULL);
}

/* Checkpoint thread: makes every segment write before the mark durable, then records lsn (the
 * mark's). A few segments are synced one by one: a syncfs would also write back every other
 * file's dirty pages on the file system (other programs' too, tens of milliseconds under load),
 * and the journal's fdatasyncs that overlap it wait behind that write-back. */
int sl_file_journal_checkpoint_sync(sl_file_engine_t *e, uint64_t lsn) {
    pthread_once(&g_ck.once, ck_metrics_init);
    int64_t t0 = sl_time_mono_ns();
    if (e->checkpoint.all) {
        sl_metric_add(g_ck.syncfs, 1);
        if (e->ops.syncfs(e->journal.fd) != 0) return sl_file_errno_code(errno);
    } else {
        for (size_t i = 0; i < e->checkpoint.nsegs; i++)
            if (e->ops.fdatasync(e->checkpoint.segs[i]->fd) != 0) return sl_file_errno_code(errno);
    }
    sl_metric_observe(g_ck.sync, (double)(sl_time_mono_ns() - t0) / 1e6);
    uint64_t gen = e->checkpoint.gen + 1;
    uint8_t slot[SL_JNL_SLOT_BYTES];
    sl_jnl_slot_encode(slot, gen, lsn);
    int rc = sl_file_pwrite_all(&e->ops, e->journal.fd, slot, sizeof slot,
                                (gen & 1) ? SL_JNL_SLOT1_OFF : SL_JNL_SLOT0_OFF);
    if (!rc && e->ops.fdatasync(e->journal.fd) != 0) rc = sl_file_errno_code(errno);
    if (!rc) e->checkpoint.gen = gen;
    return rc;
}

/* ---- journal growth ----
 * A journal file grows by zeros during its first lap so that the fdatasync of a round changes no
 * file size. Written by a commit round, SL_STORAGE_JOURNAL_GROW_BYTES of them cost that round
 * their page-cache copy and its fdatasync their write-back (11 ms at 380 MB/s, every 2 to 3 s at
 * 12,000 PutRecord/s of 100 B: a stall of every append behind it). The checkpoint thread writes
 * them instead, ahead of the write position, in pieces that it writes back at once: a round's
 * fdatasync (which writes back every dirty page of the file) then finds at most one piece in
 * flight. The commit thread still writes zeros itself when it reaches the end of the file first (it
 * waits for a running growth before that, so that the two never write the same bytes). */

/* Checkpoint thread: writes zeros over [from, to) of the journal file and makes them durable. */
static int journal_zero(sl_file_engine_t *e, uint64_t from, uint64_t to) {
    static const uint8_t zeros[SL_STORAGE_JOURNAL_GROW_PIECE_BYTES];
    while (from < to) {
        size_t len = (size_t)SL_MIN((uint64_t)sizeof zeros, to - from);
        int rc = sl_file_pwrite_all(&e->ops, e->journal.fd, zeros, len, from);
        if (rc) return rc;
        /* not a durability step (the fdatasync below is): keeps this piece out of the next
         * round's fdatasync */
        (void)e->ops.sync_file_range(e->journal.fd, (off_t)from, (off_t)len,
                                     SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
                                         SYNC_FILE_RANGE_WAIT_AFTER);
        from += len;
    }
    return e->ops.fdatasync(e->journal.fd) == 0 ? 0 : sl_file_errno_code(errno);
}

/* ---- write-back of full tails ----
 * A full tail written to its segment starts its write-back at once, so that a checkpoint finds
 * little to write. sync_file_range(SYNC_FILE_RANGE_WRITE) queues the pages for the device and
 * blocks while its queue is full: milliseconds, on a busy disk, that a commit round (and every
 * append behind it) would wait. The checkpoint thread makes that call instead, on a duplicate of
 * the descriptor (the segment's own may close meanwhile). Not a durability step: a start that is
 * skipped (a full queue, no descriptor left) only leaves more to the checkpoint's sync. */

void sl_file_writeback_start(sl_file_engine_t *e, int fd, uint64_t off, uint64_t len) {
    pthread_mutex_lock(&e->checkpoint.mu);
    bool now = !e->checkpoint.started || e->checkpoint.stop ||
               atomic_load(&e->fds.open) + SL_STORAGE_WRITEBACK_QUEUE > e->fds.max,
         full = e->checkpoint.nwb == SL_STORAGE_WRITEBACK_QUEUE;
    pthread_mutex_unlock(&e->checkpoint.mu);
    /* at once without a checkpoint thread (opening, closing) or under descriptor pressure (the
     * duplicates are not in the budget) */
    if (now) (void)e->ops.sync_file_range(fd, (off_t)off, (off_t)len, SYNC_FILE_RANGE_WRITE);
    if (now || full) return;
    int dup = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (dup < 0) return;
    pthread_mutex_lock(&e->checkpoint.mu);
    if (e->checkpoint.stop || e->checkpoint.nwb == SL_STORAGE_WRITEBACK_QUEUE) {
        pthread_mutex_unlock(&e->checkpoint.mu);
        close(dup);
        return;
    }
    e->checkpoint.wb[e->checkpoint.nwb].fd = dup;
    e->checkpoint.wb[e->checkpoint.nwb].off = off;
    e->checkpoint.wb[e->checkpoint.nwb++].len = len;
    pthread_mutex_unlock(&e->checkpoint.mu);
    /* (the commit thread wakes the checkpoint thread after the round: sl_file_checkpoint_poll) */
}

/* Checkpoint thread: starts the queued write-backs (checkpoint.mu held; released meanwhile). */
static void writeback_run_locked(sl_file_engine_t *e) {
    size_t n = e->checkpoint.nwb;
    sl_file_wb_t wb[SL_STORAGE_WRITEBACK_QUEUE];
    memcpy(wb, e->checkpoint.wb, n * sizeof wb[0]);
    e->checkpoint.nwb = 0;
    pthread_mutex_unlock(&e->checkpoint.mu);
    for (size_t i = 0; i < n; i++) {
        (void)e->ops.sync_file_range(wb[i].fd, (off_t)wb[i].off, (off_t)wb[i].len,
                                     SYNC_FILE_RANGE_WRITE);
        close(wb[i].fd);
    }
    pthread_mutex_lock(&e->checkpoint.mu);
}

/* Commit thread: takes a finished growth into journal.alloc (checkpoint.mu held). */
static void grow_collect_locked(sl_file_engine_t *e, int64_t now) {
    if (e->checkpoint.grow_state == CK_DONE && e->checkpoint.grow_from == e->journal.alloc)
        e->journal.alloc = e->checkpoint.grow_to;
    if (e->checkpoint.grow_state == CK_FAILED) e->checkpoint.grow_retry_ms = now + 1000;
    if (e->checkpoint.grow_state != CK_RUNNING) e->checkpoint.grow_state = CK_IDLE;
}

void sl_file_journal_grow_wait(sl_file_engine_t *e) {
    if (!e->checkpoint.started) return;
    pthread_mutex_lock(&e->checkpoint.mu);
    while (e->checkpoint.grow_state == CK_RUNNING)
        pthread_cond_wait(&e->checkpoint.cond, &e->checkpoint.mu);
    grow_collect_locked(e, sl_time_mono_ms());
    pthread_mutex_unlock(&e->checkpoint.mu);
}

/* Commit thread, after each round: collects a finished growth and starts the next one while the
 * file ends less than SL_STORAGE_JOURNAL_GROW_BYTES after the write position. */
static void journal_grow_poll(sl_file_engine_t *e, int64_t now) {
    uint64_t end = SL_JNL_DATA_OFF + e->journal.cap;
    pthread_mutex_lock(&e->checkpoint.mu);
    /* Write-backs queued during the round: woken only now, after the round's completions (on a
     * busy machine a woken thread can take the waker's CPU for a while). */
    if (e->checkpoint.nwb > 0) pthread_cond_broadcast(&e->checkpoint.cond);
    grow_collect_locked(e, now);
    uint64_t pos = SL_JNL_DATA_OFF + e->journal.write_lsn % e->journal.cap;
    if (e->checkpoint.grow_state == CK_IDLE && e->journal.on && e->journal.alloc < end &&
        e->journal.alloc < pos + SL_STORAGE_JOURNAL_GROW_BYTES &&
        now >= e->checkpoint.grow_retry_ms) {
        e->checkpoint.grow_from = e->journal.alloc;
        e->checkpoint.grow_to = SL_MIN(end, e->journal.alloc + SL_STORAGE_JOURNAL_GROW_BYTES);
        e->checkpoint.grow_state = CK_RUNNING;
        pthread_cond_broadcast(&e->checkpoint.cond);
    }
    pthread_mutex_unlock(&e->checkpoint.mu);
}

void *sl_file_ck_main(void *arg) {
    sl_file_engine_t *e = arg;
    pthread_mutex_lock(&e->checkpoint.mu);
    for (;;) {
        while (!e->checkpoint.stop && e->checkpoint.state != CK_RUNNING &&
               e->checkpoint.grow_state != CK_RUNNING && e->checkpoint.nwb == 0)
            pthread_cond_wait(&e->checkpoint.cond, &e->checkpoint.mu);
        if (e->checkpoint.grow_state == CK_RUNNING) {
            /* first: the commit thread may be waiting for it */
            uint64_t from = e->checkpoint.grow_from, to = e->checkpoint.grow_to;
            pthread_mutex_unlock(&e->checkpoint.mu);
            int rc = journal_zero(e, from, to);
            if (rc)
                SL_WARN("storage: growing the commit journal failed (%s); will retry",
                        sl_strerror(rc));
            pthread_mutex_lock(&e->checkpoint.mu);
            e->checkpoint.grow_state = rc ? CK_FAILED : CK_DONE;
            pthread_cond_broadcast(&e->checkpoint.cond);
            continue;
        }
        /* the queued write-backs, then a running checkpoint (which new ones do not hold up) */
        if (e->checkpoint.nwb > 0) writeback_run_locked(e);
        if (e->checkpoint.state != CK_RUNNING) {
            if (e->checkpoint.stop) break;
            continue;
        }
        uint64_t lsn = e->checkpoint.lsn;
        pthread_mutex_unlock(&e->checkpoint.mu);
        int rc = sl_file_journal_checkpoint_sync(e, lsn);
        if (rc)
            SL_WARN("storage: commit journal checkpoint failed (%s); will retry", sl_strerror(rc));
        pthread_mutex_lock(&e->checkpoint.mu);
        e->checkpoint.state = rc ? CK_FAILED : CK_DONE;
        pthread_cond_broadcast(&e->checkpoint.cond);
    }
    pthread_mutex_unlock(&e->checkpoint.mu);
    return NULL;
}

/* Writes a shard's tail to its active segment outside a commit round, holding a reference to the
 * segment (its descriptors are opened if closed). Commit thread with the registry lock held. */
static int shard_flush_tail_idle(sl_file_shard_t *s, bool release) {
    pthread_mutex_lock(&s->mu);
    sl_file_seg_t *a = s->segs[s->nseg - 1];
    int rc = sl_file_seg_open_fds_locked(s, a);
    if (!rc) a->refs++;
    pthread_mutex_unlock(&s->mu);
    if (rc) return rc;
    rc = sl_file_shard_flush_tail(s, a, release);
    sl_file_seg_unref(s, a);
    return rc;
}

/* Commit thread, between rounds: writes every shard's tail to its segment and frees the tail
 * buffers, but with keep_busy (the periodic write) those of shards that appended at least a
 * quarter of their buffer since the last such write: they fill again, and growing a buffer anew
 * each time cost about 4% of the instructions per record at 4,096 shards. Returns 0 when every
 * tail was written. */
int sl_file_flush_all_tails(sl_file_engine_t *e, bool keep_busy) {
    int rc = 0;
    pthread_mutex_lock(&e->registry.mu);
    for (sl_file_shard_t *s = e->registry.head; s && !rc; s = s->registry.next) {
        bool keep = keep_busy && s->tail.appended >= s->tail.buf.cap / 4;
        s->tail.appended = 0;
        if (s->tail.buf.len > 0 || (s->tail.buf.data != NULL && !keep))
            rc = shard_flush_tail_idle(s, !keep);
    }
    pthread_mutex_unlock(&e->registry.mu);
    if (!rc && atomic_exchange(&e->tails.stuck, 0))
        SL_INFO(
            "storage: journaled records are written to their segments again; writes are accepted");
    return rc;
}

/* Commit thread, between rounds: writes out the oldest tails while they start more than a quarter
 * of the ring before the write position (at most SL_STORAGE_TAIL_AGE_FLUSH_MAX per call, so that no
 * round waits long), so that the next checkpoint can free the journal behind them. */
void sl_file_tail_age_flush(sl_file_engine_t *e) {
    if (e->journal.fd < 0) return;
    pthread_mutex_lock(&e->tails.mu);
    bool due =
        e->tails.head && e->tails.head->tail.lsn + e->journal.cap / 4 <= e->journal.write_lsn;
    pthread_mutex_unlock(&e->tails.mu);
    if (!due) return;
    pthread_mutex_lock(&e->registry.mu);
    for (int n = 0; n < SL_STORAGE_TAIL_AGE_FLUSH_MAX; n++) {
        pthread_mutex_lock(&e->tails.mu);
        sl_file_shard_t *s = e->tails.head;
        pthread_mutex_unlock(&e->tails.mu);
        if (!s || s->tail.lsn + e->journal.cap / 4 > e->journal.write_lsn ||
            shard_flush_tail_idle(s, false) != 0)
            break;
    }
    pthread_mutex_unlock(&e->registry.mu);
}

/* Notes the active segment of s (mu held) for the checkpoint to sync: it holds a reference (which
 * keeps its descriptors open) until sl_file_checkpoint_release. Falls back to one syncfs when
 * there are many, or the segment's descriptors were closed (under descriptor pressure: the
 * checkpoint holds no more than a sixteenth of the budget). */
static void ck_note_seg_locked(sl_file_engine_t *e, sl_file_shard_t *s) {
    sl_file_seg_t *a = s->segs[s->nseg - 1];
    if (e->checkpoint.all) return;
    size_t max = SL_MIN((size_t)SL_STORAGE_CHECKPOINT_SYNC_FILES_MAX, (size_t)e->fds.max / 16);
    if (e->checkpoint.nsegs >= max || a->fd < 0) {
        e->checkpoint.all = true;
        return;
    }
    if (e->checkpoint.nsegs == e->checkpoint.segs_cap) {
        size_t cap = e->checkpoint.segs_cap ? 2 * e->checkpoint.segs_cap : 8;
        sl_file_seg_t **g = realloc(e->checkpoint.segs, cap * sizeof *g);
        if (g) e->checkpoint.segs = g;
        sl_file_shard_t **h = g ? realloc(e->checkpoint.seg_shards, cap * sizeof *h) : NULL;
        if (h) e->checkpoint.seg_shards = h;
        if (!g || !h) {
            e->checkpoint.all = true;
            return;
        }
        e->checkpoint.segs_cap = cap;
    }
    a->refs++;
    e->checkpoint.segs[e->checkpoint.nsegs] = a;
    e->checkpoint.seg_shards[e->checkpoint.nsegs++] = s;
}

/* Commit thread: the checkpoint may free the journal up to the oldest tail (everything before it
 * has been written to the segments). Notes which index entries that covers, and which segments it
 * must make durable (those written since the last mark). Returns the lsn. */
uint64_t sl_file_checkpoint_mark(sl_file_engine_t *e) {
    pthread_mutex_lock(&e->registry.mu);
    pthread_mutex_lock(&e->tails.mu);
    uint64_t lsn = e->tails.head ? e->tails.head->tail.lsn : e->journal.write_lsn;
    pthread_mutex_unlock(&e->tails.mu);
    /* never the entry of a round in flight (file_commit.c): its frames are in no tail yet */
    if (e->flight.active && e->flight.jused && e->flight.lsn0 < lsn) lsn = e->flight.lsn0;
    if (lsn != e->journal.oldest_lsn) {
        SL_ASSERT(e->checkpoint.nsegs == 0); /* the last checkpoint was released */
        e->checkpoint.all = e->checkpoint.retry_all;
        for (sl_file_shard_t *s = e->registry.head; s; s = s->registry.next) {
            pthread_mutex_lock(&s->mu);
            s->checkpoint.base = s->segs[s->nseg - 1]->base_seq;
            if (s->checkpoint.ckdirty) ck_note_seg_locked(e, s);
            s->checkpoint.ckdirty = false;
            pthread_mutex_unlock(&s->mu);
            uint64_t n = s->writer.npoints;
            /* not the entries of a round in flight, whose data is neither in the file nor in
             * the tail yet */
            for (int k = 0; k < 2; k++)
                if (s->rd[k].gen && s->rd[k].region && s->rd[k].npoints0 < n) n = s->rd[k].npoints0;
            if (s->tail.buf.len) {
                /* only the entries that point before the tail */
                n = s->writer.npoints_disk;
                for (size_t off = 0; off + SL_IDX_ENTRY_BYTES <= s->writer.idx.len;
                     off += SL_IDX_ENTRY_BYTES, n++)
                    if (sl_le64_get((const uint8_t *)s->writer.idx.data + off + 8) >= s->tail.off)
                        break;
            }
            s->checkpoint.npoints = n;
        }
    }
    pthread_mutex_unlock(&e->registry.mu);
    return lsn;
}

/* Commit thread, once a checkpoint ended: drops its segment references (re-finding the shards
 * still open: one may have closed meanwhile, leaving the last reference to the checkpoint).
 * After a failure the next checkpoint syncs the whole file system, since the segments written
 * before this one's mark are no longer noted. */
void sl_file_checkpoint_release(sl_file_engine_t *e, bool ok) {
    pthread_mutex_lock(&e->registry.mu);
    for (size_t i = 0; i < e->checkpoint.nsegs; i++) {
        sl_file_shard_t *s = e->registry.head;
        while (s && s != e->checkpoint.seg_shards[i])
            s = s->registry.next;
        if (s) pthread_mutex_lock(&s->mu);
        sl_file_seg_unref_locked(e, e->checkpoint.segs[i]);
        if (s) pthread_mutex_unlock(&s->mu);
    }
    pthread_mutex_unlock(&e->registry.mu);
    e->checkpoint.nsegs = 0;
    if (ok && e->checkpoint.all) e->checkpoint.retry_all = false;
    if (!ok) e->checkpoint.retry_all = true;
}

/* Commit thread, once a checkpoint completed: frees the journal before its lsn and writes the
 * index entries whose data it made durable. */
void sl_file_checkpoint_finish(sl_file_engine_t *e, uint64_t lsn) {
    sl_file_checkpoint_release(e, true);
    e->journal.oldest_lsn = lsn;
    pthread_mutex_lock(&e->registry.mu);
    for (sl_file_shard_t *s = e->registry.head; s; s = s->registry.next) {
        uint64_t upto = s->checkpoint.npoints;
        s->checkpoint.npoints = 0;
        if (upto <= s->writer.npoints_disk) continue;
        pthread_mutex_lock(&s->mu);
        sl_file_seg_t *a = s->segs[s->nseg - 1];
        bool go = a->base_seq == s->checkpoint.base && sl_file_seg_open_fds_locked(s, a) == 0;
        if (go) a->refs++;
        pthread_mutex_unlock(&s->mu);
        if (!go) continue;
        size_t bytes = (size_t)(upto - s->writer.npoints_disk) * SL_IDX_ENTRY_BYTES;
        if (bytes <= s->writer.idx.len &&
            sl_file_pwrite_all(&e->ops, a->idx_fd, s->writer.idx.data, bytes,
                               SL_IDX_HEADER_BYTES + s->writer.npoints_disk * SL_IDX_ENTRY_BYTES) ==
                0) {
            memmove(s->writer.idx.data, s->writer.idx.data + bytes, s->writer.idx.len - bytes);
            s->writer.idx.len -= bytes;
            s->writer.npoints_disk = upto;
            pthread_mutex_lock(&s->mu);
            a->npoints = upto;
            pthread_mutex_unlock(&s->mu);
        }
        sl_file_seg_unref(s, a);
    }
    pthread_mutex_unlock(&e->registry.mu);
}

/* Commit thread: completes a finished checkpoint and starts the next one when due. */
void sl_file_checkpoint_poll(sl_file_engine_t *e, int64_t now) {
    if (e->journal.fd < 0 || !e->checkpoint.started) return;
    journal_grow_poll(e, now);
    if (atomic_load(&e->checkpoint.blocked)) return;
    pthread_mutex_lock(&e->checkpoint.mu);
    int st = e->checkpoint.state;
    uint64_t done_lsn = e->checkpoint.lsn;
    if (st == CK_DONE || st == CK_FAILED) e->checkpoint.state = CK_IDLE;
    pthread_mutex_unlock(&e->checkpoint.mu);
    if (st == CK_DONE) sl_file_checkpoint_finish(e, done_lsn);
    if (st == CK_FAILED) {
        sl_file_checkpoint_release(e, false);
        e->checkpoint.next_ms = now + 1000;
    }
    if (st == CK_RUNNING || e->journal.write_lsn == e->journal.oldest_lsn) return;
    bool space = e->journal.write_lsn - e->journal.oldest_lsn >= e->journal.cap / 2;
    if (!space && now < e->checkpoint.next_ms) return;
    /* Under load, free the journal up to the oldest tail without writing every tail now
     * (sl_file_tail_age_flush writes the old ones out a few at a time); periodically, write every
     * tail, so that quiet shards do not keep old journal space. */
    if (!space) {
        e->checkpoint.next_ms = now + SL_STORAGE_CHECKPOINT_MS;
        if (sl_file_flush_all_tails(e, true)) return;
    }
    uint64_t lsn = sl_file_checkpoint_mark(e);
    if (lsn == e->journal.oldest_lsn) return;
    e->checkpoint.next_ms = now + SL_STORAGE_CHECKPOINT_MS;
    pthread_mutex_lock(&e->checkpoint.mu);
    e->checkpoint.lsn = lsn;
    e->checkpoint.state = CK_RUNNING;
    pthread_cond_broadcast(&e->checkpoint.cond);
    pthread_mutex_unlock(&e->checkpoint.mu);
}
