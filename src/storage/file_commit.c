/* Appends and commit rounds of the segment-file engine (overview in file.c): an append call frames
 * its records into one buffer of its own (a request) and queues it without touching any shard;
 * the commit thread takes every queued request, hands each append to its shard, and works through
 * the round's shards in chunks: creates the files of new shards, writes each shard's share
 * (rolling full segments), makes the round durable (one fdatasync of the journal and one per
 * directly written shard, in parallel on the sync pool: group commit) and completes the appends;
 * under load a round's syncs stay in flight while the next round is written ("Pipelined rounds").
 * Also the interval flush (durability=interval) and the commit thread's loop. */
#include "core/common.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/time.h"
#include "core/wakebatch.h"
#include "storage/file_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* ---- metrics (docs/observability.md, "Storage"): one process-wide set, whatever the engine ----
 */

static const double sync_ms[] = {0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 1000};
static const sl_metric_desc_t d_rounds = {
    .prom_name = "sluice_storage_commit_rounds_total",
    .help = "Group-commit rounds of the file engine (one write and sync step for many appends).",
    .kind = SL_METRIC_COUNTER};
static const sl_metric_desc_t d_round_time = {
    .prom_name = "sluice_storage_commit_round_seconds",
    .help = "Time of one commit round, from taking the appends to completing them (durable).",
    .kind = SL_METRIC_HISTOGRAM,
    .prom_scale = 0.001,
    .bounds = sync_ms,
    .bounds_len = SL_ARRAY_LEN(sync_ms)};
static const sl_metric_desc_t d_sync = {
    .prom_name = "sluice_storage_fsync_seconds",
    .help = "Time of one fdatasync (journal or segment) or fsync (directory) of a commit.",
    .kind = SL_METRIC_HISTOGRAM,
    .prom_scale = 0.001,
    .bounds = sync_ms,
    .bounds_len = SL_ARRAY_LEN(sync_ms)};
static const sl_metric_desc_t d_bytes = {
    .prom_name = "sluice_storage_committed_bytes_total",
    .help = "Bytes of the appends that commit rounds made durable.",
    .kind = SL_METRIC_COUNTER};
static const sl_metric_desc_t d_journal = {
    .prom_name = "sluice_storage_journal_used_bytes",
    .help = "Bytes of the commit journal holding frames not yet checkpointed.",
    .kind = SL_METRIC_GAUGE};
static const sl_metric_desc_t d_journal_cap = {.prom_name = "sluice_storage_journal_capacity_bytes",
                                               .help = "Size of the commit journal (a ring).",
                                               .kind = SL_METRIC_GAUGE};

static struct {
    pthread_once_t once;
    sl_series_t *rounds, *round_time, *sync, *bytes, *journal, *journal_cap;
} g_m = {.once = PTHREAD_ONCE_INIT};

static void metrics_init(void) {
    g_m.rounds = sl_metric_series(sl_metric_declare(&d_rounds), NULL);
    g_m.round_time = sl_metric_series(sl_metric_declare(&d_round_time), NULL);
    g_m.sync = sl_metric_series(sl_metric_declare(&d_sync), NULL);
    g_m.bytes = sl_metric_series(sl_metric_declare(&d_bytes), NULL);
    g_m.journal = sl_metric_series(sl_metric_declare(&d_journal), NULL);
    g_m.journal_cap = sl_metric_series(sl_metric_declare(&d_journal_cap), NULL);
}

static void engine_set_failed(sl_file_engine_t *e, int code) {
    atomic_store(&e->fail.code, code);
    atomic_store(&e->fail.until_ms, (long long)(sl_time_mono_ms() + SL_STORAGE_FAILED_RETRY_MS));
}

/* ---------------------------------------------------------------------------------------------
 * Appends */

/* Pushes an append call's request with one compare-and-swap; its appends count one each. The
 * queue mutex is taken only to wake the commit thread: for the push whose appends reach the count
 * it waits for (`want`, during a group commit window), else for a push onto an empty stack. It
 * checks both under that mutex after publishing `want` (sequentially consistent, as are the
 * counter and the push here), so neither wake-up can be missed. */
static void req_push(sl_file_engine_t *e, sl_file_req_t *r) {
    uint64_t before = atomic_fetch_add(&e->reqs.pushed, r->nops);
    uint64_t want = atomic_load(&e->reqs.want);
    bool wake = want && before < want && before + r->nops >= want;
    sl_file_req_t *head = atomic_load_explicit(&e->reqs.stack, memory_order_relaxed);
    do {
        r->next = head;
    } while (!atomic_compare_exchange_weak_explicit(&e->reqs.stack, &head, r, memory_order_seq_cst,
                                                    memory_order_relaxed));
    /* Within a window the commit thread wakes by itself at its end. */
    if (head == NULL && atomic_load(&e->reqs.want) == 0) wake = true;
    if (wake) {
        pthread_mutex_lock(&e->reqs.mu);
        pthread_cond_signal(&e->reqs.cond);
        pthread_mutex_unlock(&e->reqs.mu);
    }
}

void sl_file_request_round_locked(sl_file_shard_t *s) {
    sl_file_req_t *r = malloc(sizeof *r + sizeof r->ops[0]);
    if (!r) return; /* roll_requested stays set: the shard's next round rolls */
    r->nops = 1;
    r->ops[0] = (sl_file_op_t){.shard = s};
    req_push(s->eng, r);
}

void sl_file_wait_queued(sl_file_engine_t *e) {
    /* (the commit thread would wait for the round it is in: a close from an append's callback) */
    SL_ASSERT(!pthread_equal(pthread_self(), e->commit_thread));
    uint64_t upto = atomic_load(&e->reqs.pushed);
    pthread_mutex_lock(&e->reqs.mu);
    e->reqs.closers++;
    while (e->reqs.done < upto)
        pthread_cond_wait(&e->reqs.done_cond, &e->reqs.mu);
    e->reqs.closers--;
    pthread_mutex_unlock(&e->reqs.mu);
}

static bool reqs_any(sl_file_engine_t *e) {
    /* after storing reqs.want: see the appends */
    return atomic_load(&e->reqs.stack) != NULL;
}

static void round_reserve(sl_file_engine_t *e, size_t need) {
    if (need <= e->scratch.round_cap) return;
    size_t cap = SL_MAX(need, e->scratch.round_cap ? 2 * e->scratch.round_cap : 1024);
    sl_file_shard_t **r = realloc(e->scratch.round, cap * sizeof *r);
    SL_ASSERT(r != NULL); /* a few pointers per shard; nothing sensible to do without */
    e->scratch.round = r;
    e->scratch.round_cap = cap;
}

/* With thousands of shards, the shard of each append is a cache miss away: the gather fetches the
 * writer state of the shard GATHER_PREFETCH_AHEAD appends ahead. */
#define GATHER_PREFETCH_AHEAD 8

/* Hands the appends of the taken requests (the stack, newest first) to their shards in the order
 * they were queued: each shard's appends of the round become a list in its round slot (the one the
 * round in flight does not use), and each shard goes once into scratch.round. Returns the shard
 * count; the requests, oldest first, are left in *fifo (freed when the round ends) and the count
 * of their appends in *nops. */
static size_t reqs_gather(sl_file_engine_t *e, sl_file_req_t *stack, sl_file_req_t **fifo,
                          size_t *nops) {
    sl_file_req_t *list = NULL;
    size_t k = 0, n = 0;
    uint64_t gen = ++e->round_gen;
    while (stack) {
        sl_file_req_t *next = stack->next;
        stack->next = list;
        list = stack;
        k += stack->nops;
        stack = next;
    }
    *fifo = list;
    *nops = k;
    for (sl_file_req_t *r = list; r; r = r->next) {
        for (size_t i = 0; i < r->nops; i++) {
            if (i + GATHER_PREFETCH_AHEAD < r->nops) {
                sl_file_shard_t *ahead = r->ops[i + GATHER_PREFETCH_AHEAD].shard;
                __builtin_prefetch(&ahead->rd[0], 1);
                __builtin_prefetch(&ahead->rd[1], 1);
            }
            sl_file_op_t *op = &r->ops[i];
            sl_file_shard_t *s = op->shard;
            sl_file_round_t *rd = &s->rd[s->cur];
            if (rd->gen != gen) {
                if (rd->gen != 0) {
                    /* in the round in flight: this round takes the other slot */
                    s->cur ^= 1;
                    rd = &s->rd[s->cur];
                    SL_ASSERT(rd->gen == 0);
                }
                rd->gen = gen;
                rd->ops = rd->last_op = NULL;
                rd->nops = rd->bytes = 0;
                round_reserve(e, n + 1);
                e->scratch.round[n++] = s;
            }
            if (op->n == 0) continue; /* only a round asked for */
            op->next = NULL;
            if (rd->last_op)
                rd->last_op->next = op;
            else
                rd->ops = op;
            rd->last_op = op;
            rd->nops++;
            rd->bytes += op->bytes;
        }
    }
    return n;
}

/* Admission of `bytes` more pending bytes: the engine's failed and full-disk states and the
 * pending-bytes bound. 0 (the bytes are counted) or the code appends get. */
static int append_admit(sl_file_engine_t *e, size_t bytes) {
    int stuck = atomic_load(&e->tails.stuck);
    if (stuck) return stuck;
    int fc = atomic_load(&e->fail.code);
    if (fc != 0) {
        if (sl_time_mono_ms() < atomic_load(&e->fail.until_ms)) return fc;
        atomic_store(&e->fail.code, 0);
    }
    if (atomic_fetch_add(&e->pending_bytes, bytes) + bytes > SL_STORAGE_PENDING_BYTES_MAX) {
        atomic_fetch_sub(&e->pending_bytes, bytes);
        return SL_EAGAIN;
    }
    return 0;
}

/* Frames n records into dst (sl_frame_batch_bytes bytes): payload checksums are computed here, on
 * the caller's thread; the commit thread finishes each frame with its seq and arrival time. */
static void frame_records(uint8_t *dst, const sl_record_t *records, size_t n) {
    for (size_t i = 0; i < n; i++) {
        sl_record_t r = records[i];
        if (!r.attributes) r.attributes_len = 0;
        sl_frame_prepare(dst, &r);
        dst += sl_frame_size(r.key_len, r.attributes_len, r.data_len);
    }
}

int sl_file_append(sl_shard_log_t *log, const sl_record_t *records, size_t n, sl_append_cb cb,
                   void *arg) {
    sl_file_shard_t *s = (sl_file_shard_t *)log;
    sl_file_engine_t *e = s->eng;
    size_t bytes = 0;
    if (sl_frame_batch_bytes(records, n, &bytes) != 0) return SL_EINVAL;
    int rc = append_admit(e, bytes);
    if (rc) return rc;
    sl_file_req_t *r = malloc(sizeof *r + sizeof r->ops[0] + bytes);
    if (!r) {
        atomic_fetch_sub(&e->pending_bytes, bytes);
        return SL_ENOMEM;
    }
    uint8_t *frames = (uint8_t *)(r->ops + 1);
    frame_records(frames, records, n);
    r->nops = 1;
    r->ops[0] =
        (sl_file_op_t){.shard = s, .frames = frames, .cb = cb, .arg = arg, .n = n, .bytes = bytes};
    req_push(e, r);
    return 0;
}

/* The whole call is one request: every group is framed into its buffer and becomes an append to
 * its shard without a callback of its own (cb NULL, arg the group); shard_complete finishes the
 * group and the last one runs the batch's callback. The engine's admission is checked once for
 * the whole batch. */
int sl_file_append_batch(sl_storage_t *st, sl_append_batch_t *b) {
    sl_file_engine_t *e = (sl_file_engine_t *)st;
    size_t total = 0;
    int first_rc = 0;
    for (size_t i = 0; i < b->n; i++) {
        sl_append_group_t *g = &b->groups[i];
        size_t bytes = 0;
        if (sl_frame_batch_bytes(g->records, g->n, &bytes) != 0) {
            g->status = SL_EINVAL;
            if (!first_rc) first_rc = SL_EINVAL;
            continue;
        }
        total += bytes;
    }
    int rc = first_rc ? 0 : append_admit(e, total);
    sl_file_req_t *r = NULL;
    if (!first_rc && !rc) {
        r = malloc(sizeof *r + b->n * sizeof r->ops[0] + total);
        if (!r) {
            atomic_fetch_sub(&e->pending_bytes, total);
            rc = SL_ENOMEM;
        }
    }
    if (first_rc || rc) {
        for (size_t i = 0; i < b->n; i++)
            if (!b->groups[i].status) b->groups[i].status = first_rc ? SL_EINVAL : rc;
        /* nothing is queued: drop every count but the call's own */
        atomic_store(&b->pending_, 1);
        return sl_storage_batch_queued(b, 0, first_rc ? first_rc : rc);
    }
    uint8_t *dst = (uint8_t *)(r->ops + b->n);
    for (size_t i = 0; i < b->n; i++) {
        sl_append_group_t *g = &b->groups[i];
        size_t bytes = 0;
        (void)sl_frame_batch_bytes(g->records, g->n, &bytes);
        frame_records(dst, g->records, g->n);
        r->ops[i] = (sl_file_op_t){
            .shard = (sl_file_shard_t *)g->log, .frames = dst, .arg = g, .n = g->n, .bytes = bytes};
        g->queued = true;
        dst += bytes;
    }
    r->nops = b->n;
    req_push(e, r);
    return sl_storage_batch_queued(b, b->n, 0);
}

/* ---------------------------------------------------------------------------------------------
 * Commit thread */

/* Writes the pending index entries of the active segment g; call only once the data they point to
 * is durable. On failure they stay pending and are retried later. Writer state: the commit
 * thread, or a thread that holds the registry lock while the commit thread is not using s. */
int sl_file_flush_pending_index(sl_file_shard_t *s, sl_file_seg_t *g) {
    if (s->writer.idx.len == 0) return 0;
    int rc = sl_file_pwrite_all(&s->eng->ops, g->idx_fd, s->writer.idx.data, s->writer.idx.len,
                                SL_IDX_HEADER_BYTES + s->writer.npoints_disk * SL_IDX_ENTRY_BYTES);
    if (rc) {
        SL_WARN("storage: stream %s shard %s: index write failed (%s); will retry", s->stream_key,
                s->shard_key, sl_strerror(rc));
        return rc;
    }
    s->writer.npoints_disk = s->writer.npoints;
    sl_buf_reset(&s->writer.idx);
    return 0;
}

/* Seals the active segment (its data made durable first) and starts a new one at writer.end_seq.
 * *durable tells whether the active segment's data was made durable before a failure. */
static int shard_roll(sl_file_shard_t *s, sl_file_round_t *r, bool *durable) {
    sl_file_engine_t *e = s->eng;
    sl_file_seg_t *old = r->seg;
    int rc;
    *durable = false;
    if (e->ops.fdatasync(old->fd) != 0) return sl_file_errno_code(errno);
    *durable = true;
    if ((rc = sl_file_flush_pending_index(s, old))) return rc;
    uint8_t ent[SL_IDX_ENTRY_BYTES];
    sl_idx_entry_t seal = {.seq = s->writer.end_seq,
                           .offset = s->writer.size,
                           .arrival_ms = s->writer.last_arrival,
                           .kind = SL_IDX_SEAL};
    sl_idx_entry_encode(ent, &seal);
    uint64_t seal_off = SL_IDX_HEADER_BYTES + s->writer.npoints * SL_IDX_ENTRY_BYTES;
    if ((rc = sl_file_pwrite_all(&e->ops, old->idx_fd, ent, sizeof ent, seal_off))) return rc;
    if (e->ops.fdatasync(old->idx_fd) != 0) {
        rc = sl_file_errno_code(errno);
        goto unseal;
    }
    int fd, ifd;
    /* A seq floor (sl_storage_shard_set_floor) starts the new segment above a gap. */
    uint64_t next_base = s->writer.floor > s->writer.end_seq ? s->writer.floor : s->writer.end_seq;
    if ((rc = sl_file_seg_create_files(s, next_base, true, &fd, &ifd))) goto unseal;
    sl_file_seg_t *g = sl_file_seg_new(next_base);
    if (!g) {
        e->ops.close(fd);
        e->ops.close(ifd);
        rc = SL_ENOMEM;
        goto unseal;
    }
    g->fd = fd;
    g->idx_fd = ifd;
    atomic_fetch_add(&e->fds.open, 2);
    g->refs = 2; /* the list and this round */
    pthread_mutex_lock(&s->mu);
    if (sl_file_segs_push(s, g)) {
        pthread_mutex_unlock(&s->mu);
        g->refs = 1;
        sl_file_seg_unref_locked(e, g);
        rc = SL_ENOMEM;
        goto unseal;
    }
    /* The old segment's data is durable: publish it and seal it. */
    if (old->end_seq == old->base_seq) old->first_arrival = s->writer.first_arrival;
    old->size = s->writer.size;
    old->end_seq = s->writer.end_seq;
    old->last_arrival = s->writer.last_arrival;
    old->npoints = s->writer.npoints_disk;
    old->sealed = true;
    s->writer.end_seq = next_base;
    s->writer.floor = 0;
    s->next_seq = s->writer.end_seq;
    /* Its descriptors were opened read-write; reopen read-only lazily. */
    if (old->refs == 2) sl_file_seg_close_fds(e, old);
    sl_file_seg_unref_locked(e, old);
    r->seg = g;
    pthread_mutex_unlock(&s->mu);
    s->writer.size = SL_SEG_HEADER_BYTES;
    s->writer.npoints = 0;
    s->writer.npoints_disk = 0;
    s->writer.last_point_off = 0;
    return 0;
unseal:
    if (e->ops.ftruncate(old->idx_fd, (off_t)seal_off) != 0) s->writer.needs_truncate = true;
    return rc;
}

/* The writer state at the round's end: what the round's completion publishes (the next round
 * may move the writer state on before this one completes). */
static void round_mark_end(sl_file_shard_t *s, sl_file_round_t *r) {
    r->size1 = s->writer.size;
    r->end1 = s->writer.end_seq;
    r->first_arrival1 = s->writer.first_arrival;
    r->last_arrival1 = s->writer.last_arrival;
}

static void region_begin(sl_file_shard_t *s, sl_file_round_t *r, size_t op_index,
                         sl_file_op_t *op) {
    r->region_op = op_index;
    r->region_first = op;
    r->size0 = s->writer.size;
    r->end0 = s->writer.end_seq;
    r->npoints0 = s->writer.npoints;
    r->last_point0 = s->writer.last_point_off;
    r->arrival0 = s->writer.last_arrival;
    r->region = false;
}

/* Undoes the current region: the writer state returns to the region's start and the bytes written
 * are truncated away (retried before the next write if truncation fails). */
static void region_rollback(sl_file_shard_t *s, sl_file_round_t *r) {
    sl_file_engine_t *e = s->eng;
    s->writer.size = r->size0;
    s->writer.end_seq = r->end0;
    s->writer.npoints = r->npoints0;
    s->writer.last_point_off = r->last_point0;
    s->writer.last_arrival = r->arrival0;
    /* (the index buffer holds the entries [npoints_disk, npoints): a checkpoint may have written
     * some from its front since the region began, never one of the region's) */
    s->writer.idx.len = (size_t)(r->npoints0 - s->writer.npoints_disk) * SL_IDX_ENTRY_BYTES;
    r->region = false;
    round_mark_end(s, r);
    if (r->jnl) return; /* nothing was written to the segment file */
    sl_file_seg_t *a = r->seg;
    if (a->fd < 0 || e->ops.ftruncate(a->fd, (off_t)s->writer.size) != 0)
        s->writer.needs_truncate = true;
}

int sl_file_write_ops(sl_file_shard_t *s, sl_file_round_t *r, sl_file_op_t *from,
                      const sl_file_op_t *to, uint64_t off) {
    sl_file_engine_t *e = s->eng;
    int fd = r->seg->fd;
    if (from == to) return 0;
    if (from->next == to) return sl_file_pwrite_all(&e->ops, fd, from->frames, from->bytes, off);
    size_t n = 0;
    for (const sl_file_op_t *op = from; op != to; op = op->next) {
        if (n == e->scratch.wiov_cap) {
            size_t cap = e->scratch.wiov_cap ? 2 * e->scratch.wiov_cap : 64;
            struct iovec *v = realloc(e->scratch.wiov, cap * sizeof *v);
            if (!v) return SL_ENOMEM;
            e->scratch.wiov = v;
            e->scratch.wiov_cap = cap;
        }
        e->scratch.wiov[n++] = (struct iovec){.iov_base = op->frames, .iov_len = op->bytes};
    }
    return sl_file_pwritev_all(&e->ops, fd, e->scratch.wiov, n, off, &e->journal.gather);
}

/* Writes the region's appends up to `to` (exclusive; NULL: to the end) to the segment. */
static int region_write(sl_file_shard_t *s, sl_file_round_t *r, const sl_file_op_t *to) {
    return sl_file_write_ops(s, r, r->region_first, to, r->size0);
}

/* Writes one shard's share of a commit round: frames get their seqs, full segments roll. */
static void shard_write_share(sl_file_shard_t *s, sl_file_round_t *r, bool roll_requested,
                              int open_rc) {
    sl_file_engine_t *e = s->eng;
    r->ok_ops = 0;
    r->status = 0;
    region_begin(s, r, 0, r->ops);
    int rc = open_rc;
    /* A direct write follows the frames committed through the journal, so those go first. */
    if (!rc && !r->jnl && s->tail.buf.len) rc = sl_file_shard_flush_tail(s, r->seg, false);
    if (!rc && s->writer.needs_truncate) {
        sl_file_seg_t *a = r->seg;
        if (e->ops.ftruncate(a->fd, (off_t)s->writer.size) != 0)
            rc = sl_file_errno_code(errno);
        else
            s->writer.needs_truncate = false;
    }
    /* (a reader may have found the index bad since the chunk chose the journal) */
    if (!rc && r->seg->index_bad && (rc = sl_file_round_fds(s, r)) == 0)
        rc = sl_file_rebuild_active_index(s, r->seg);
    bool durable;
    if (!rc && roll_requested && r->nops == 0 && s->writer.end_seq > r->seg->base_seq)
        rc = shard_roll(s, r, &durable);
    if (!rc && s->writer.floor > s->writer.end_seq && (rc = shard_roll(s, r, &durable)) == 0)
        region_begin(s, r, 0, r->ops);
    if (rc) {
        r->status = rc;
        return;
    }
    size_t i = 0;
    for (sl_file_op_t *op = r->ops; op; op = op->next, i++) {
        if (s->writer.size >= e->segment_bytes && s->writer.end_seq > r->seg->base_seq) {
            durable = false;
            if ((rc = region_write(s, r, op)) || (rc = shard_roll(s, r, &durable))) {
                if (durable) {
                    /* The region is written and durable; only the roll failed (it is retried
                     * by the next round). The appends after it fail. */
                    r->ok_ops = i;
                    r->region = false;
                } else {
                    region_rollback(s, r);
                    r->ok_ops = r->region_op;
                }
                r->status = rc;
                return;
            }
            r->ok_ops = i;
            region_begin(s, r, i, op);
        }
        op->first_seq = s->writer.end_seq;
        uint8_t *f = op->frames;
        for (size_t k = 0; k < op->n; k++) {
            uint32_t len = sl_frame_len(f);
            int64_t arrival = sl_frame_arrival(f);
            if (arrival < s->writer.last_arrival) arrival = s->writer.last_arrival;
            sl_frame_finish(f, s->writer.end_seq, arrival);
            if (k == 0) op->arrival_ms = arrival;
            if (s->writer.npoints == 0 ||
                s->writer.size >= s->writer.last_point_off + SL_STORAGE_INDEX_INTERVAL_BYTES) {
                uint8_t ent[SL_IDX_ENTRY_BYTES];
                sl_idx_entry_t ie = {.seq = s->writer.end_seq,
                                     .offset = s->writer.size,
                                     .arrival_ms = arrival,
                                     .kind = SL_IDX_POINT};
                sl_idx_entry_encode(ent, &ie);
                sl_buf_append(&s->writer.idx, ent, sizeof ent);
                if (s->writer.npoints == 0) s->writer.first_arrival = arrival;
                s->writer.npoints++;
                s->writer.last_point_off = s->writer.size;
            }
            s->writer.size += len;
            s->writer.end_seq++;
            s->writer.last_arrival = arrival;
            f += len;
        }
    }
    if (sl_buf_failed(&s->writer.idx)) {
        s->writer.idx.failed = false;
        rc = SL_ENOMEM;
    } else {
        rc = r->jnl ? 0 : region_write(s, r, NULL);
    }
    if (rc) {
        region_rollback(s, r);
        r->status = rc;
        r->ok_ops = r->region_op;
        return;
    }
    r->region = r->region_first != NULL;
    r->ok_ops = e->base.cfg.durability == SL_DURABILITY_SYNC && r->region ? r->region_op : r->nops;
}

static void shard_write_round(sl_file_shard_t *s, sl_file_round_t *r, bool roll_requested,
                              int open_rc) {
    shard_write_share(s, r, roll_requested, open_rc);
    round_mark_end(s, r);
}

static int sync_one(sl_file_engine_t *e, const sl_file_sync_job_t *job) {
    pthread_once(&g_m.once, metrics_init);
    int64_t t0 = sl_time_mono_ns();
    int r = job->dir ? e->ops.fsync(job->fd) : e->ops.fdatasync(job->fd);
    sl_metric_observe(g_m.sync, (double)(sl_time_mono_ns() - t0) / 1e6);
    return r == 0 ? 0 : sl_file_errno_code(errno);
}

void *sl_file_sync_worker(void *arg) {
    sl_file_engine_t *e = arg;
    uint64_t seen = 0;
    pthread_mutex_lock(&e->sync.mu);
    for (;;) {
        while (!e->sync.stop && (e->sync.gen == seen || e->sync.next >= e->sync.n)) {
            seen = e->sync.gen;
            pthread_cond_wait(&e->sync.work, &e->sync.mu);
        }
        if (e->sync.stop) break;
        size_t i = e->sync.next++;
        sl_file_sync_job_t *job = &e->sync.jobs[i];
        pthread_mutex_unlock(&e->sync.mu);
        job->rc = sync_one(e, job);
        pthread_mutex_lock(&e->sync.mu);
        if (++e->sync.finished == e->sync.n) {
            pthread_cond_signal(&e->sync.done);
            /* A round's syncs in flight ended: the commit thread may be waiting for appends
             * (sl_file_commit_main) rather than in sync_join. */
            pthread_mutex_unlock(&e->sync.mu);
            atomic_store(&e->sync.idle, true);
            pthread_mutex_lock(&e->reqs.mu);
            pthread_cond_signal(&e->reqs.cond);
            pthread_mutex_unlock(&e->reqs.mu);
            pthread_mutex_lock(&e->sync.mu);
        }
    }
    pthread_mutex_unlock(&e->sync.mu);
    return NULL;
}

static void sync_post(sl_file_engine_t *e, sl_file_sync_job_t *jobs, size_t n);
static void sync_join(sl_file_engine_t *e);
static void flight_finish(sl_file_engine_t *e);

/* Runs fdatasync on every job's fd, several at a time; fills job->rc. Commit thread only; a
 * round in flight is completed first (the pool runs one set of jobs at a time). */
static void sync_many(sl_file_engine_t *e, sl_file_sync_job_t *jobs, size_t n) {
    if (n == 0) return;
    if (e->flight.active) flight_finish(e);
    if (n >= SL_STORAGE_SYNCFS_MIN_FILES && e->ops.syncfs) {
        /* One flush of the file system makes every written file durable. On failure fall back to
         * per-file syncs so that each shard learns its own status. */
        if (e->ops.syncfs(jobs[0].fd) == 0) {
            for (size_t i = 0; i < n; i++)
                jobs[i].rc = 0;
            return;
        }
        SL_WARN("storage: syncfs failed (%s); syncing %zu files one by one", strerror(errno), n);
    }
    if (n == 1 || e->sync.nthreads == 0) {
        for (size_t i = 0; i < n; i++)
            jobs[i].rc = sync_one(e, &jobs[i]);
        return;
    }
    sync_post(e, jobs, n);
    sync_join(e);
}

/* The pool's half of sync_many, in two steps: the pool threads start on the jobs, and the commit
 * thread, after doing something else meanwhile, helps with those left and waits for all. */
static void sync_post(sl_file_engine_t *e, sl_file_sync_job_t *jobs, size_t n) {
    pthread_mutex_lock(&e->sync.mu);
    e->sync.jobs = jobs;
    e->sync.n = n;
    e->sync.next = 0;
    e->sync.finished = 0;
    e->sync.gen++;
    atomic_store(&e->sync.idle, false);
    pthread_cond_broadcast(&e->sync.work);
    pthread_mutex_unlock(&e->sync.mu);
}

static void sync_join(sl_file_engine_t *e) {
    sl_file_sync_job_t *jobs = e->sync.jobs;
    pthread_mutex_lock(&e->sync.mu);
    while (e->sync.next < e->sync.n) {
        size_t i = e->sync.next++;
        pthread_mutex_unlock(&e->sync.mu);
        jobs[i].rc = sync_one(e, &jobs[i]);
        pthread_mutex_lock(&e->sync.mu);
        e->sync.finished++;
    }
    while (e->sync.finished < e->sync.n)
        pthread_cond_wait(&e->sync.done, &e->sync.mu);
    e->sync.n = 0;
    pthread_mutex_unlock(&e->sync.mu);
}

static int jobs_reserve(sl_file_engine_t *e, size_t n) {
    if (n <= e->scratch.jobs_cap) return 0;
    sl_file_sync_job_t *j = realloc(e->scratch.jobs, n * sizeof *j);
    if (!j) return SL_ENOMEM;
    e->scratch.jobs = j;
    e->scratch.jobs_cap = n;
    return 0;
}

/* Queues an fsync of directory `path` for the current chunk's creation phase. */
static int djob_add(sl_file_engine_t *e, const char *path) {
    if (e->scratch.ndjobs == e->scratch.djobs_cap) {
        size_t cap = e->scratch.djobs_cap ? e->scratch.djobs_cap * 2 : 64;
        sl_file_sync_job_t *j = realloc(e->scratch.djobs, cap * sizeof *j);
        if (!j) return SL_ENOMEM;
        e->scratch.djobs = j;
        e->scratch.djobs_cap = cap;
    }
    int fd = e->ops.open(path, O_RDONLY | O_DIRECTORY, 0);
    if (fd < 0) return sl_file_errno_code(errno);
    e->scratch.djobs[e->scratch.ndjobs++] = (sl_file_sync_job_t){.fd = fd, .dir = true};
    return 0;
}

/* Creates the directory and first segment (base 1) of a shard that has none yet, without syncing:
 * the caller fsyncs the queued directories (root once per chunk, each stream directory once,
 * each shard directory) before anything is written to the new files, so one sync covers the
 * creation of every new shard of a round. *prev_stream is the stream directory created or
 * checked last in this chunk (to skip repeating its mkdir and fsync). Commit thread only. */
int sl_file_shard_create_files(sl_file_engine_t *e, sl_file_shard_t *s, sl_file_seg_t *g,
                               const char **prev_stream, bool *root_queued) {
    pthread_mutex_lock(&s->mu);
    sl_file_seg_close_fds(e, g); /* left by an earlier attempt whose directory sync failed */
    pthread_mutex_unlock(&s->mu);
    int rc = 0, fd = -1, ifd = -1;
    if (!*root_queued) {
        if ((rc = djob_add(e, e->root))) return rc;
        *root_queued = true;
    }
    if (!*prev_stream || strcmp(*prev_stream, s->stream_key) != 0) {
        char *sd = sl_file_path_join(e->root, s->stream_key);
        if (!sd) return SL_ENOMEM;
        if (e->ops.mkdir(sd, 0700) != 0 && errno != EEXIST) rc = sl_file_errno_code(errno);
        if (!rc) rc = djob_add(e, sd);
        free(sd);
        if (rc) return rc;
        *prev_stream = s->stream_key;
    }
    if (e->ops.mkdir(s->dir, 0700) != 0 && errno != EEXIST) return sl_file_errno_code(errno);
    if ((rc = sl_file_seg_create_files(s, g->base_seq, false, &fd, &ifd))) return rc;
    if ((rc = djob_add(e, s->dir))) {
        e->ops.close(fd);
        e->ops.close(ifd);
        return rc;
    }
    pthread_mutex_lock(&s->mu);
    g->fd = fd;
    g->idx_fd = ifd;
    atomic_fetch_add(&e->fds.open, 2);
    pthread_mutex_unlock(&s->mu);
    return 0;
}

/* Creation phase of a chunk: creates the files of every shard of the batch that has none yet and
 * makes them durable with one group of directory syncs (one syncfs when there are many). */
static void create_new_shards(sl_file_engine_t *e, size_t n) {
    const char *prev_stream = NULL;
    bool root_queued = false, any = false;
    e->scratch.ndjobs = 0;
    for (size_t i = 0; i < n; i++) {
        sl_file_shard_t *s = e->scratch.batch[i];
        sl_file_round_t *r = sl_file_rd(s);
        if (!r->create) continue;
        any = true;
        r->open_rc = sl_file_shard_create_files(e, s, r->seg, &prev_stream, &root_queued);
    }
    if (!any) return;
    sync_many(e, e->scratch.djobs, e->scratch.ndjobs);
    int rc = 0;
    for (size_t i = 0; i < e->scratch.ndjobs; i++) {
        if (e->scratch.djobs[i].rc && !rc) rc = e->scratch.djobs[i].rc;
        e->ops.close(e->scratch.djobs[i].fd);
    }
    e->scratch.ndjobs = 0;
    for (size_t i = 0; i < n; i++) {
        sl_file_shard_t *s = e->scratch.batch[i];
        sl_file_round_t *r = sl_file_rd(s);
        if (!r->create || r->open_rc) continue;
        if (rc) {
            /* Not durable: fail this round's appends; the next round creates the files again. */
            r->open_rc = rc;
            pthread_mutex_lock(&s->mu);
            sl_file_seg_close_fds(e, r->seg);
            pthread_mutex_unlock(&s->mu);
        } else {
            s->on_disk = true;
        }
    }
}

/* With thousands of shards in a round, each shard's state is a few cache misses away; the loops
 * over a chunk fetch the shards PREFETCH_AHEAD places ahead while they work on the current one:
 * every line of the state a round visits (SL_FILE_SHARD_HOT bytes from the start of the
 * 64-byte-aligned struct, file_internal.h). */
#define PREFETCH_AHEAD 6

static inline void prefetch_shard(sl_file_shard_t *const *batch, size_t i, size_t n) {
    if (i + PREFETCH_AHEAD < n) sl_file_prefetch_shard(batch[i + PREFETCH_AHEAD]);
}

/* The shard's part in round gen (the round in flight, or the one being written). */
static inline sl_file_round_t *round_of(sl_file_shard_t *s, uint64_t gen) {
    return s->rd[0].gen == gen ? &s->rd[0] : &s->rd[1];
}

/* The buffers a shard's state points to (its appends and frames, its tail) are one more miss
 * away: fetched PREFETCH_AHEAD / 2 places ahead, once the shard's own lines have arrived. gen:
 * the round whose part is visited. */
enum { PF_TAKE, PF_WRITE, PF_COMPLETE };

static inline void prefetch_buffers(sl_file_shard_t *const *batch, size_t i, size_t n, int phase,
                                    uint64_t gen) {
    if (i + PREFETCH_AHEAD / 2 >= n) return;
    sl_file_shard_t *s = batch[i + PREFETCH_AHEAD / 2];
    const sl_file_round_t *r = round_of(s, gen);
    if (phase == PF_TAKE) {
        __builtin_prefetch(r->ops, 1);
        /* the active segment's slot here, the segment itself next to last (changed under mu:
         * only addresses to fetch, never used) */
        sl_file_seg_t **segs = __atomic_load_n(&s->segs, __ATOMIC_RELAXED);
        size_t nseg = __atomic_load_n(&s->nseg, __ATOMIC_RELAXED);
        if (segs && nseg) __builtin_prefetch(segs + nseg - 1, 0);
        if (i + 1 < n) {
            const sl_file_shard_t *t = batch[i + 1];
            segs = __atomic_load_n(&t->segs, __ATOMIC_RELAXED);
            nseg = __atomic_load_n(&t->nseg, __ATOMIC_RELAXED);
            if (segs && nseg)
                __builtin_prefetch(__atomic_load_n(&segs[nseg - 1], __ATOMIC_RELAXED), 1);
        }
    } else if (phase == PF_WRITE) {
        if (r->ops) __builtin_prefetch(r->ops->frames, 1);
        /* the index buffer's end, only when the share will add an entry (every
         * SL_STORAGE_INDEX_INTERVAL_BYTES of a segment: most shares of a wide round add none) */
        if (s->writer.idx.data && (s->writer.npoints == 0 ||
                                   s->writer.size + r->bytes >=
                                       s->writer.last_point_off + SL_STORAGE_INDEX_INTERVAL_BYTES))
            __builtin_prefetch(s->writer.idx.data + s->writer.idx.len, 1);
        __builtin_prefetch(r->seg, 1);
    } else {
        __builtin_prefetch(r->seg, 1);
        __builtin_prefetch(r->ops, 0);
        if (r->ops) __builtin_prefetch(r->ops->arg, 1);
        if (s->tail.buf.data) __builtin_prefetch(s->tail.buf.data + s->tail.buf.len, 1);
    }
}

int sl_file_round_fds(sl_file_shard_t *s, sl_file_round_t *r) {
    sl_file_seg_t *a = r->seg;
    if (a->fd >= 0 && a->idx_fd >= 0) return 0;
    pthread_mutex_lock(&s->mu);
    int rc = sl_file_seg_open_fds_locked(s, a);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* Publishes a shard's round r (the writer state becomes the readers' state, journaled frames join
 * the tail) and completes its appends in order. A shard's rounds complete in the order they were
 * gathered; when the next one has already written (pipelined rounds) the writer state has moved
 * on, and r's own end is published instead. */
static void shard_complete(sl_file_engine_t *e, sl_file_shard_t *s, sl_file_round_t *r) {
    sl_file_seg_t *a = r->seg;
    sl_file_round_t *other = &s->rd[(r - s->rd) ^ 1];
    bool later = other->gen > r->gen;
    /* The round in flight still has the shard: only a share that failed while it was written
     * completes before it (anything else waits for it), and it publishes nothing: the state to
     * publish is the round in flight's, once durable. */
    bool earlier = other->gen != 0 && other->gen < r->gen;
    uint64_t size = later ? r->size1 : s->writer.size;
    uint64_t end = later ? r->end1 : s->writer.end_seq;
    int64_t first_arrival = later ? r->first_arrival1 : s->writer.first_arrival;
    int64_t last_arrival = later ? r->last_arrival1 : s->writer.last_arrival;
    bool to_tail = r->jnl && r->status == 0 && r->region;
    pthread_mutex_lock(&s->mu);
    bool appended = to_tail && sl_file_tail_append_locked(s, r);
    if (to_tail && !appended) {
        pthread_mutex_unlock(&s->mu);
        sl_file_tail_append_failed(s, r);
        pthread_mutex_lock(&s->mu);
    }
    uint64_t old_tip = s->next_seq;
    if (earlier) {
        end = old_tip;
    } else {
        a->size = size;
        a->end_seq = end;
        a->npoints = s->writer.npoints_disk;
        if (end > a->base_seq) {
            a->first_arrival = first_arrival;
            a->last_arrival = last_arrival;
        }
        s->next_seq = end;
    }
    if (r->region && e->base.cfg.durability == SL_DURABILITY_INTERVAL) s->unsynced = true;
    pthread_mutex_unlock(&s->mu);
    if (r->status)
        SL_ERROR("storage: stream %s shard %s: write failed (%s); %zu append(s) failed, %zu "
                 "completed",
                 s->stream_key, s->shard_key, sl_strerror(r->status), r->nops - r->ok_ops,
                 r->ok_ops);
    /* Out of descriptors is back-pressure for this round only, not a failed disk. */
    if (r->status && r->status != SL_EAGAIN) engine_set_failed(e, r->status);
    /* Wake readers first, then complete the appends in order. */
    if (end != old_tip && e->base.cfg.on_commit)
        e->base.cfg.on_commit(e->base.cfg.ctx, &s->base, end);
    size_t bytes = r->bytes, k = 0;
    for (sl_file_op_t *op = r->ops; op; op = op->next, k++) {
        int st = k < r->ok_ops ? 0 : r->status ? r->status : SL_EIO;
        uint64_t first = st ? 0 : op->first_seq;
        int64_t arrival = st ? 0 : op->arrival_ms;
        if (op->cb) {
            op->cb(op->arg, st, first, arrival);
        } else {
            sl_append_group_t *g = op->arg;
            g->status = st;
            g->first_seq = first;
            g->arrival_ms = arrival;
            sl_storage_group_done(g);
        }
    }
    atomic_fetch_sub(&e->pending_bytes, bytes);
    if (r->ok_ops) sl_metric_add(g_m.bytes, bytes);
    r->ops = r->last_op = NULL;
    r->nops = r->bytes = 0;
    /* A tail that was not empty is queued already: no need for the queue's lock (only the commit
     * thread queues and unqueues a shard while its round runs). */
    if (appended && !s->tail.queued) sl_file_tq_push(s);
    /* Enough journaled frames gathered: write them to the segment (no sync: the journal keeps
     * them durable until the next checkpoint). A failure is retried later. */
    if (s->tail.buf.len >= SL_STORAGE_TAIL_FLUSH_BYTES && sl_file_round_fds(s, r) == 0)
        (void)sl_file_shard_flush_tail(s, a, false);
    pthread_mutex_lock(&s->mu);
    sl_file_seg_unref_locked(e, a);
    r->seg = NULL;
    r->gen = 0;
    s->in_batch = other->gen != 0;
    if (s->closing && !s->in_batch) pthread_cond_broadcast(&s->cond); /* only shard_close waits */
    pthread_mutex_unlock(&s->mu);
}

static int jbatch_reserve(sl_file_engine_t *e, size_t n) {
    if (n <= e->scratch.jbatch_cap) return 0;
    size_t cap = SL_MAX(n, 2 * e->scratch.jbatch_cap);
    sl_file_shard_t **j = realloc(e->scratch.jbatch, cap * sizeof *j);
    if (!j) return SL_ENOMEM;
    e->scratch.jbatch = j;
    e->scratch.jbatch_cap = cap;
    return 0;
}

/* The end of a round (its last append completed): its requests are freed and counted done (a
 * shard's close waits for that), and the round's time is observed. */
static void round_done(sl_file_engine_t *e, sl_file_req_t *reqs, size_t nops, int64_t t0_ns) {
    while (reqs) {
        sl_file_req_t *next = reqs->next;
        free(reqs);
        reqs = next;
    }
    pthread_mutex_lock(&e->reqs.mu);
    e->reqs.done += nops;
    if (e->reqs.closers) pthread_cond_broadcast(&e->reqs.done_cond);
    pthread_mutex_unlock(&e->reqs.mu);
    sl_metric_add(g_m.rounds, 1);
    sl_metric_observe(g_m.round_time, (double)(sl_time_mono_ns() - t0_ns) / 1e6);
}

/* ---------------------------------------------------------------------------------------------
 * Pipelined rounds
 *
 * A round's syncs (the journal's fdatasync, those of the shards its last chunk wrote directly)
 * need not hold up the next round's work: the commit thread posts them to the sync pool and
 * goes on to take, write and journal the next round meanwhile (the round is "in flight"). Before
 * the next round's own syncs start it waits for the round in flight and completes it (the pool
 * runs one set of jobs at a time, and the journal is synced by one fdatasync at a time: an
 * entry's sync covers every entry written before it).
 *
 * A shard of the round in flight may be in the next round too: its appends go to its other round
 * slot (sl_file_shard_t.rd), and when both shares go through the journal its writer state just
 * continues past the round in flight (seqs, segment offsets, index entries): the next entry
 * follows in the journal, the tail gets each round's frames as it completes. Anything else for
 * such a shard (a direct write, a roll, a repair) first completes the round in flight.
 *
 * If the round in flight fails (its journal sync), so does the next round's journaled part: its
 * entry follows the failed one, which replay would stop at. Its shares are undone first (they
 * continue the failed ones), then the failed round's. A checkpoint in between never covers the
 * round in flight: its mark stays behind the entry's position (flight.lsn0) and behind the index
 * entries of its data. */

/* The outcome of the round in flight's journal sync (0 when it has none), once joined. */
static inline int flight_jrc(const sl_file_engine_t *e) {
    return e->flight.jused ? e->flight.jobs[0].rc : 0;
}

/* Waits for the round in flight's syncs. A journal sync that failed turns the journal off and
 * fails the journaled shares the current round has written so far (undone now, before the round
 * in flight's own shares are, which they continue). */
static void flight_join(sl_file_engine_t *e) {
    sync_join(e);
    int rc = flight_jrc(e);
    if (rc == 0) return;
    sl_file_journal_failed(e, rc);
    e->journal.jfail = rc;
    for (size_t i = 0; i < e->scratch.njbatch; i++) {
        sl_file_shard_t *s = e->scratch.jbatch[i];
        sl_file_round_t *r = sl_file_rd(s);
        if (r->status) continue;
        region_rollback(s, r);
        r->status = rc;
    }
}

/* The round wrote the shard's share to its segment, which awaits its fdatasync. */
static inline bool direct_unsynced(const sl_file_round_t *r) {
    return !r->jnl && r->status == 0 && r->region;
}

/* A directly written share's sync ended with rc: undone if it failed, else its appends are
 * durable and the index entries of its data may be written. */
static void direct_synced(sl_file_shard_t *s, sl_file_round_t *r, int rc) {
    if (rc) {
        region_rollback(s, r);
        r->status = rc;
    } else {
        r->ok_ops = r->nops;
        (void)sl_file_flush_pending_index(s, r->seg);
    }
}

/* A journaled share's journal sync ended with rc (undone already if the round in flight failed
 * while this one was written: flight_join). */
static void journal_synced(sl_file_shard_t *s, sl_file_round_t *r, int rc) {
    if (rc) {
        if (r->status == 0) region_rollback(s, r);
        r->status = rc;
    } else {
        r->ok_ops = r->nops;
    }
}

/* Completes the round in flight, whose syncs ended (flight_join). */
static void flight_complete(sl_file_engine_t *e) {
    uint64_t gen = e->flight.gen;
    size_t j = e->flight.jused ? 1 : 0;
    int jrc = flight_jrc(e);
    sl_wake_batch_begin();
    for (size_t i = 0; i < e->flight.nd; i++) {
        sl_file_shard_t *s = e->flight.direct[i];
        sl_file_round_t *r = round_of(s, gen);
        direct_synced(s, r, e->flight.jobs[j++].rc);
        shard_complete(e, s, r);
    }
    sl_file_shard_t **jb = e->flight.jb;
    size_t nj = e->flight.nj;
    for (size_t i = 0; i < nj; i++) {
        sl_file_shard_t *s = jb[i];
        prefetch_shard(jb, i, nj);
        prefetch_buffers(jb, i, nj, PF_COMPLETE, gen);
        sl_file_round_t *r = round_of(s, gen);
        journal_synced(s, r, jrc);
        shard_complete(e, s, r);
    }
    sl_wake_batch_end();
    e->flight.active = false;
    e->flight.nj = e->flight.nd = 0;
    round_done(e, e->flight.reqs, e->flight.nops, e->flight.t0_ns);
    e->flight.reqs = NULL;
}

static void flight_finish(sl_file_engine_t *e) {
    if (!e->flight.active) return;
    flight_join(e);
    flight_complete(e);
}

/* The last chunk's syncs go in flight: the round's journaled shards (scratch.jbatch) and the
 * shards the chunk wrote directly (the jobs after the journal's) are kept to be completed by
 * flight_complete; the requests stay until then. */
static void flight_start(sl_file_engine_t *e, size_t n, size_t njobs, bool jused) {
    e->flight.nj = 0;
    if (jused) {
        sl_file_shard_t **t = e->flight.jb;
        e->flight.jb = e->scratch.jbatch;
        e->scratch.jbatch = t;
        size_t c = e->flight.jb_cap;
        e->flight.jb_cap = e->scratch.jbatch_cap;
        e->scratch.jbatch_cap = c;
        e->flight.nj = e->scratch.njbatch;
        e->scratch.njbatch = 0;
    }
    size_t c;
    sl_file_sync_job_t *jt = e->flight.jobs;
    e->flight.jobs = e->scratch.jobs;
    e->scratch.jobs = jt;
    c = e->flight.jobs_cap;
    e->flight.jobs_cap = e->scratch.jobs_cap;
    e->scratch.jobs_cap = c;
    e->flight.jused = jused;
    size_t nd = njobs - (jused ? 1 : 0);
    if (nd > e->flight.direct_cap) {
        size_t cap = SL_MAX(nd, 2 * e->flight.direct_cap);
        sl_file_shard_t **d = realloc(e->flight.direct, cap * sizeof *d);
        SL_ASSERT(d != NULL); /* a few pointers; nothing sensible to do without them */
        e->flight.direct = d;
        e->flight.direct_cap = cap;
    }
    e->flight.nd = 0;
    for (size_t i = 0; i < n && e->flight.nd < nd; i++) {
        sl_file_shard_t *s = e->scratch.batch[i];
        sl_file_round_t *r = sl_file_rd(s);
        if (direct_unsynced(r)) e->flight.direct[e->flight.nd++] = s;
    }
    SL_ASSERT(e->flight.nd == nd);
    e->flight.gen = e->round_gen;
    e->flight.t0_ns = e->scratch.t0_ns;
    e->flight.reqs = e->scratch.reqs;
    e->flight.nops = e->scratch.nops;
    e->scratch.reqs = NULL;
    e->scratch.nops = 0;
    e->flight.active = true;
}

/* Commits the n shards of e->scratch.batch (at most the chunk size). Shares written to their
 * segment are made durable and completed with the chunk; journaled shares wait in scratch.jbatch
 * for the round's last chunk (`last`), which writes the entries of every chunk with one pwrite and
 * syncs the journal once, in parallel with its own segment syncs: a round costs one journal sync
 * however many chunks its shards need. The last chunk's syncs may go in flight (see above). */
static void commit_chunk(sl_file_engine_t *e, size_t n, bool last) {
    SL_ASSERT(jobs_reserve(e, n + 1) == 0);
    /* a few pointers per shard; nothing sensible to do without them */
    SL_ASSERT(jbatch_reserve(e, e->scratch.njbatch + n) == 0);
    bool sync_mode = e->base.cfg.durability == SL_DURABILITY_SYNC;

    /* Take each shard into the round, create the files of new shards, then write. Descriptors
     * are opened only for shares written to their segment. */
    bool any_create = false, blocked = false;
    size_t jtotal = 0, inflight = 0;
    int64_t now = sl_time_mono_ms();
    uint64_t gen = e->round_gen;
    for (size_t i = 0; i < n; i++) {
        sl_file_shard_t *s = e->scratch.batch[i];
        sl_file_round_t *r = sl_file_rd(s);
        prefetch_shard(e->scratch.batch, i, n);
        prefetch_buffers(e->scratch.batch, i, n, PF_TAKE, gen);
        pthread_mutex_lock(&s->mu);
        s->in_batch = true;
        s->last_use_ms = now;
        r->roll = s->roll_requested;
        s->roll_requested = false;
        sl_file_seg_t *a = s->segs[s->nseg - 1];
        a->refs++;
        r->seg = a;
        r->create = !s->on_disk;
        r->open_rc = 0;
        r->status = 0;
        r->deferred = false;
        r->index_bad = a->index_bad;
        if (r->create) any_create = true;
        pthread_mutex_unlock(&s->mu);
        /* (while its lines are at hand; redone below if the chunk creates shards) */
        jtotal += sl_file_journal_choose_one(e, s);
        const sl_file_round_t *o = &s->rd[s->cur ^ 1];
        if (o->gen) {
            /* in the round in flight: written now only if both shares are journaled */
            inflight++;
            if (!r->jnl || !o->jnl) blocked = true;
        }
    }
    if (any_create) {
        create_new_shards(e, n); /* (its directory syncs complete a round in flight first) */
        sl_file_journal_choose(e, n);
    } else if (!sl_file_journal_fit(e, n, jtotal) && inflight) {
        blocked = true;
    }
    if (blocked && e->flight.active) {
        flight_finish(e);
        if (!e->journal.on) /* the round in flight's journal sync failed */
            for (size_t i = 0; i < n; i++)
                sl_file_rd(e->scratch.batch[i])->jnl = false;
    }
    /* Shares written to their segment (direct) and shares completed with this chunk: the loops
     * that only look for them are skipped when there are none, which spares them a visit to
     * every shard of a chunk that went through the journal. */
    size_t ndirect = 0, nnow = 0;
    for (size_t i = 0; i < n; i++) {
        sl_file_shard_t *s = e->scratch.batch[i];
        sl_file_round_t *r = sl_file_rd(s);
        prefetch_shard(e->scratch.batch, i, n);
        prefetch_buffers(e->scratch.batch, i, n, PF_WRITE, gen);
        if (r->jnl && r->create) {
            /* created with its descriptors, which the journaled round does not need */
            pthread_mutex_lock(&s->mu);
            sl_file_seg_close_fds(e, r->seg);
            pthread_mutex_unlock(&s->mu);
        } else if (!r->jnl && !r->open_rc) {
            r->open_rc = sl_file_round_fds(s, r);
        }
        /* (a reader found the index bad since the take: its repair reads the file, which lacks
         * the round in flight's frames) */
        if (e->flight.active && r->seg->index_bad && s->rd[s->cur ^ 1].gen) flight_finish(e);
        shard_write_round(s, r, r->roll, r->open_rc);
        if (sync_mode && r->jnl && r->status == 0 && r->region) {
            r->deferred = true;
            e->scratch.jbatch[e->scratch.njbatch++] = s;
        } else {
            nnow++;
            if (direct_unsynced(r)) ndirect++;
        }
    }
    /* Group commit: one fdatasync of the journal for the round's journaled shards (with its last
     * chunk), one per shard written directly, in parallel. */
    int jrc = 0; /* the journal's write and sync, for the round's journaled shards (last chunk) */
    bool pipe = false;
    if (sync_mode) {
        size_t nj = 0;
        bool jused = last && e->scratch.njbatch > 0;
        uint64_t lsn0 = e->journal.write_lsn;
        if (jused) {
            jrc = e->journal.jfail;
            uint64_t jnext = 0;
            if (!jrc) {
                jrc = sl_file_journal_write(e, e->scratch.jbatch, e->scratch.njbatch, &jnext);
                if (jrc)
                    sl_file_journal_failed(e, jrc);
                else
                    e->journal.write_lsn = jnext;
            }
            if (!jrc) e->scratch.jobs[nj++] = (sl_file_sync_job_t){.fd = e->journal.fd};
        }
        for (size_t i = 0; i < n && ndirect; i++) {
            sl_file_shard_t *s = e->scratch.batch[i];
            sl_file_round_t *r = sl_file_rd(s);
            if (direct_unsynced(r)) e->scratch.jobs[nj++] = (sl_file_sync_job_t){.fd = r->seg->fd};
        }
        bool flying = last && e->flight.active;
        if (flying) {
            flight_join(e);
            if (e->journal.jfail && jused && !jrc) {
                /* the round in flight failed: this round's entry follows it and fails too */
                jrc = e->journal.jfail;
                memmove(e->scratch.jobs, e->scratch.jobs + 1, --nj * sizeof *e->scratch.jobs);
            }
        }
        bool jsync = jused && !jrc;
        /* A wide round goes in flight while appends wait or the previous round's completions
         * will bring some. A quiet server syncs on this thread instead (no hand-over to wait
         * for), and so does a round of few shards: its writing is short beside its sync, and the
         * hand-overs to the pool and back cost more than the overlap gains (measured: 4 shards,
         * 12% fewer records/s). */
        pipe = last && nj > 0 && nj < SL_STORAGE_SYNCFS_MIN_FILES && e->sync.nthreads > 0 &&
               e->scratch.round_shards >= SL_STORAGE_PIPELINE_MIN_SHARDS && (flying || reqs_any(e));
        if (pipe) {
            sync_post(e, e->scratch.jobs, nj);
        }
        if (flying) flight_complete(e);
        if (pipe) {
            e->flight.lsn0 = lsn0;
            flight_start(e, n, nj, jsync);
        } else {
            sync_many(e, e->scratch.jobs, nj);
            if (jsync && (jrc = e->scratch.jobs[0].rc) != 0) sl_file_journal_failed(e, jrc);
            nj = jsync ? 1 : 0;
            for (size_t i = 0; i < n && ndirect; i++) {
                sl_file_shard_t *s = e->scratch.batch[i];
                sl_file_round_t *r = sl_file_rd(s);
                if (!direct_unsynced(r)) continue;
                direct_synced(s, r, e->scratch.jobs[nj++].rc);
            }
        }
    }
    /* Publish and complete: this chunk's shards but the journaled ones (and those in flight),
     * then (last chunk) every journaled shard of the round. The completions post to the network
     * loops: each sleeping loop is woken once, after the last of them (core/wakebatch.h), not by
     * the first while the commit thread races it with the next ones. */
    sl_wake_batch_begin();
    for (size_t i = 0; i < n && nnow; i++) {
        sl_file_shard_t *s = e->scratch.batch[i];
        sl_file_round_t *r = sl_file_rd(s);
        prefetch_shard(e->scratch.batch, i, n);
        prefetch_buffers(e->scratch.batch, i, n, PF_COMPLETE, gen);
        if (r->deferred || (pipe && direct_unsynced(r))) continue;
        shard_complete(e, s, r);
    }
    if (last) { /* (none left when they went in flight) */
        for (size_t i = 0; i < e->scratch.njbatch; i++) {
            sl_file_shard_t *s = e->scratch.jbatch[i];
            sl_file_round_t *r = sl_file_rd(s);
            prefetch_shard(e->scratch.jbatch, i, e->scratch.njbatch);
            prefetch_buffers(e->scratch.jbatch, i, e->scratch.njbatch, PF_COMPLETE, gen);
            journal_synced(s, r, jrc);
            shard_complete(e, s, r);
        }
        e->scratch.njbatch = 0;
        e->journal.round_bytes = 0;
        e->journal.jfail = 0;
    }
    sl_wake_batch_end();
}

/* One commit round over the n shards of scratch.round, in chunks of at most
 * SL_STORAGE_ROUND_SHARDS_MAX shards so that the descriptors it needs stay bounded. reqs: its
 * requests (nops appends), freed when it ends, now or when its syncs in flight complete. */
static void commit_round(sl_file_engine_t *e, size_t total, sl_file_req_t *reqs, size_t nops) {
    /* A chunk's shards hold their active segment's two descriptors at once: keep a chunk within a
     * quarter of the budget. */
    size_t chunk_max = (size_t)SL_MAX(1, SL_MIN(SL_STORAGE_ROUND_SHARDS_MAX, e->fds.max / 8));
    pthread_once(&g_m.once, metrics_init);
    e->scratch.t0_ns = sl_time_mono_ns();
    e->scratch.round_shards = total;
    e->scratch.reqs = reqs;
    e->scratch.nops = nops;
    if (e->scratch.batch_cap < chunk_max) {
        sl_file_shard_t **b = realloc(e->scratch.batch, chunk_max * sizeof *b);
        SL_ASSERT(b != NULL); /* a few pointers per shard; nothing sensible to do without them */
        e->scratch.batch = b;
        e->scratch.batch_cap = chunk_max;
    }
    for (size_t done = 0; done < total;) {
        size_t n = SL_MIN(chunk_max, total - done);
        memcpy(e->scratch.batch, e->scratch.round + done, n * sizeof *e->scratch.batch);
        done += n;
        if (atomic_load(&e->fds.open) + 2 * (int)n > e->fds.max) sl_file_fd_sweep(e);
        commit_chunk(e, n, done == total);
    }
    if (total == 0 && e->flight.active) flight_finish(e); /* (no chunk: nothing in flight after) */
    if (e->scratch.reqs) {                                /* not in flight: ended */
        round_done(e, e->scratch.reqs, e->scratch.nops, e->scratch.t0_ns);
        e->scratch.reqs = NULL;
    }
    if (e->journal.fd >= 0) {
        sl_metric_set(g_m.journal, (int64_t)(e->journal.write_lsn - e->journal.oldest_lsn));
        sl_metric_set(g_m.journal_cap, (int64_t)e->journal.cap);
    }
}

/* The longest the commit thread waits for a round in flight's syncs without being woken (the
 * pool wakes it when they end). */
#define FLIGHT_WAIT_NS (50 * 1000000LL)

/* durability=interval: fdatasync every shard written since the last flush. */
static void interval_flush(sl_file_engine_t *e) {
    pthread_mutex_lock(&e->registry.mu);
    size_t n = 0;
    for (sl_file_shard_t *s = e->registry.head; s; s = s->registry.next)
        n += s->unsynced;
    if (n == 0 || jobs_reserve(e, n) || n > e->scratch.batch_cap) {
        if (n > e->scratch.batch_cap) {
            sl_file_shard_t **b = realloc(e->scratch.batch, n * sizeof *b);
            if (b) {
                e->scratch.batch = b;
                e->scratch.batch_cap = n;
            }
        }
        if (n == 0 || n > e->scratch.batch_cap || jobs_reserve(e, n)) {
            pthread_mutex_unlock(&e->registry.mu);
            return;
        }
    }
    size_t nj = 0;
    sl_file_seg_t **segs = malloc(n * sizeof *segs);
    if (!segs) {
        pthread_mutex_unlock(&e->registry.mu);
        return;
    }
    for (sl_file_shard_t *s = e->registry.head; s && nj < n; s = s->registry.next) {
        pthread_mutex_lock(&s->mu);
        if (s->unsynced) {
            sl_file_seg_t *a = s->segs[s->nseg - 1];
            if (sl_file_seg_open_fds_locked(s, a) == 0) {
                s->unsynced = false;
                a->refs++;
                segs[nj] = a;
                e->scratch.batch[nj] = s;
                e->scratch.jobs[nj++] = (sl_file_sync_job_t){.fd = a->fd};
            }
        }
        pthread_mutex_unlock(&s->mu);
    }
    pthread_mutex_unlock(&e->registry.mu);
    /* A shard may be closed meanwhile; the segment references keep the descriptors alive. */
    sync_many(e, e->scratch.jobs, nj);
    for (size_t i = 0; i < nj; i++) {
        if (e->scratch.jobs[i].rc) {
            SL_ERROR("storage: interval flush: fdatasync failed (%s): acknowledged records written "
                     "in the last "
                     "interval may not be durable",
                     sl_strerror(e->scratch.jobs[i].rc));
            engine_set_failed(e, e->scratch.jobs[i].rc);
        }
    }
    /* Drop the references under the registry lock, re-finding shards still open. */
    pthread_mutex_lock(&e->registry.mu);
    for (size_t i = 0; i < nj; i++) {
        bool found = false;
        for (sl_file_shard_t *s = e->registry.head; s; s = s->registry.next) {
            if (s != e->scratch.batch[i]) continue;
            pthread_mutex_lock(&s->mu);
            if (e->scratch.jobs[i].rc == 0 && s->segs[s->nseg - 1] == segs[i] &&
                sl_file_flush_pending_index(s, segs[i]) == 0)
                segs[i]->npoints = s->writer.npoints_disk;
            sl_file_seg_unref_locked(e, segs[i]);
            pthread_mutex_unlock(&s->mu);
            found = true;
            break;
        }
        if (!found)
            sl_file_seg_unref_locked(e,
                                     segs[i]); /* the shard is gone: we hold the last reference */
    }
    pthread_mutex_unlock(&e->registry.mu);
    free(segs);
}

void *sl_file_commit_main(void *arg) {
    sl_file_engine_t *e = arg;
    int64_t interval = e->base.cfg.flush_interval_ms > 0 ? e->base.cfg.flush_interval_ms
                                                         : SL_STORAGE_FLUSH_INTERVAL_MS_DEFAULT;
    int64_t next_flush = sl_time_mono_ms() + interval, next_sweep = sl_time_mono_ms() + 1000,
            next_retry = 0;
    bool interval_mode = e->base.cfg.durability == SL_DURABILITY_INTERVAL;
    int64_t commit_gap =
        e->base.cfg.durability == SL_DURABILITY_SYNC && e->base.cfg.commit_interval_us > 0
            ? (int64_t)SL_MIN(e->base.cfg.commit_interval_us, 100000) * 1000
            : 0;
    int64_t last_round = 0;
    size_t target = 1; /* appends the next round waits for (see the group commit window) */
    uint64_t base = 0; /* appends pushed before the last take (reqs.pushed then) */
    pthread_mutex_lock(&e->reqs.mu);
    for (;;) {
        /* Group commit window: under load a round starts once `target` appends are queued, and
         * at the latest commit_interval_us after the previous round started. With N connections
         * each sending its next request when the answer to the last one arrives, the round starts
         * as soon as they are all back instead of at the next interval (a closed loop is not
         * capped at N requests per interval); when appends arrive independently of the answers
         * (an open loop), the interval still bounds the wait and batches them: fewer and larger
         * syncs under load (measured on a VM whose disk flushes stall the whole machine when
         * issued thousands of times a second). Outside the window (a quiet server) an append
         * starts a round at once. Within it the commit thread sleeps until the window ends or the
         * append that reaches the target wakes it: one wake-up per round. While a round is in
         * flight (its syncs on the pool) the next one starts the same way; if the syncs end first,
         * the round in flight is completed first (its answers bring the next appends). */
        bool go = false;
        for (;;) {
            int64_t now_ns = sl_time_mono_ns(), window_end = last_round + commit_gap;
            bool windowed = commit_gap > 0 && now_ns < window_end;
            atomic_store(&e->reqs.want, windowed ? base + target : 0);
            bool any = reqs_any(e);
            go = any && (!windowed || atomic_load(&e->reqs.pushed) - base >= target);
            if (e->stop || go) break;
            bool flying = e->flight.active;
            if (flying && atomic_load(&e->sync.idle)) break;
            /* (work waits for the window's end; the periodic duties follow the round) */
            int64_t left = window_end - now_ns;
            if (flying) {
                /* the pool wakes this thread when the syncs end (this is only a backstop) */
                if (!windowed) left = FLIGHT_WAIT_NS;
            } else if (!any) {
                int64_t now = now_ns / 1000000, until = next_sweep;
                if (interval_mode && next_flush < until) until = next_flush;
                if (atomic_load(&e->tails.stuck) && next_retry < until) until = next_retry;
                if (now >= until) break;
                if (!windowed || (until - now) * 1000000 < left) left = (until - now) * 1000000;
            }
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            int64_t ns = ts.tv_nsec + left;
            ts.tv_sec += ns / 1000000000;
            ts.tv_nsec = ns % 1000000000;
            pthread_cond_timedwait(&e->reqs.cond, &e->reqs.mu, &ts);
        }
        atomic_store(&e->reqs.want, 0);
        bool take = go || e->stop;
        if (take && commit_gap > 0 && reqs_any(e)) last_round = sl_time_mono_ns();
        sl_file_req_t *stack =
            take ? atomic_exchange_explicit(&e->reqs.stack, NULL, memory_order_acquire) : NULL;
        bool took = stack != NULL;
        /* The next round waits for as many appends as this one takes plus those that queue
         * while it commits, less one (less 1/16 of a large round), so that the target follows the
         * load down. The count is approximate (a push racing with the take may be counted for
         * either round): it only decides when to start, never what a round carries. */
        size_t taken = 0;
        if (took) {
            uint64_t pushed = atomic_load(&e->reqs.pushed);
            taken = (size_t)(pushed - base);
            base = pushed;
        }
        bool stop = e->stop;
        pthread_mutex_unlock(&e->reqs.mu);
        if (took) {
            sl_file_req_t *reqs;
            size_t nops;
            size_t n = reqs_gather(e, stack, &reqs, &nops);
            commit_round(e, n, reqs, nops);
            /* Closed-loop writers come back once answered: the next round also waits for this
             * round's appends, beside those that queued while it committed. Otherwise N
             * connections settle into two halves that take turns (each round starts at once with
             * the half that queued meanwhile, and carries N/2), which doubles the syncs per
             * record. An open loop does not come back on answers; its rounds then start at the
             * interval, which still bounds the wait. */
            size_t more = taken + (size_t)(atomic_load(&e->reqs.pushed) - base);
            target = more > 1 ? more - SL_MAX(1, more / 16) : 1;
        } else if (e->flight.active) {
            flight_finish(e);
        }
        int64_t now = sl_time_mono_ms();
        if (atomic_load(&e->tails.stuck) && now >= next_retry) {
            /* The disk was full: try the tails again (this clears tails.stuck when all are
             * written). */
            (void)sl_file_flush_all_tails(e, false);
            next_retry = now + SL_STORAGE_FAILED_RETRY_MS;
        }
        sl_file_tail_age_flush(e);
        sl_file_checkpoint_poll(e, now);
        if (interval_mode && (now >= next_flush || (stop && !took))) {
            interval_flush(e);
            next_flush = now + interval;
        }
        if (now >= next_sweep) {
            sl_file_idle_sweep(e, SL_STORAGE_IDLE_CLOSE_MS);
            next_sweep = now + 1000;
        } else if (atomic_load(&e->fds.open) > e->fds.max) {
            sl_file_fd_sweep(e);
        }
        pthread_mutex_lock(&e->reqs.mu);
        if (stop && !took && !reqs_any(e) && !e->flight.active) break;
    }
    pthread_mutex_unlock(&e->reqs.mu);
    return NULL;
}
