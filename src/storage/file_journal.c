/* The shared commit journal of the segment-file engine (durability=sync; overview in file.c,
 * format in docs/storage-format.md, "Commit journal").
 *
 * A round's small shares go to the journal: one write and one fdatasync of one file, however many
 * shards the round touches. Their frames stay in each shard's tail (readable from memory) until
 * enough gather, and are then written to the segment without a sync. A checkpoint writes every
 * tail, runs one syncfs on the checkpoint thread and then records in the journal header the lsn
 * before which the journal is no longer needed; index entries of journaled data are written once
 * the checkpoint that made their data durable completes.
 *
 * This file writes a round's entries, keeps the shards' tails (and the tail queue, oldest tail
 * first), and opens and replays the journal when the engine opens. Checkpoints are in
 * file_checkpoint.c. */
#include "core/bin.h"
#include "core/common.h"
#include "core/crc32c.h"
#include "core/limits.h"
#include "core/log.h"
#include "storage/file_internal.h"
#include "storage/journal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The tail queue orders shards by the journal position their tail starts at, so that the oldest
 * tails can be written out first and a checkpoint may free the journal up to the oldest one. */
void sl_file_tq_push(sl_file_shard_t *s) {
    sl_file_engine_t *e = s->eng;
    pthread_mutex_lock(&e->tails.mu);
    if (!s->tail.queued) {
        s->tail.queued = true;
        s->tail.next = NULL;
        s->tail.prev = e->tails.tail;
        if (e->tails.tail)
            e->tails.tail->tail.next = s;
        else
            e->tails.head = s;
        e->tails.tail = s;
    }
    pthread_mutex_unlock(&e->tails.mu);
}

void sl_file_tq_remove(sl_file_shard_t *s) {
    sl_file_engine_t *e = s->eng;
    pthread_mutex_lock(&e->tails.mu);
    if (s->tail.queued) {
        if (s->tail.prev)
            s->tail.prev->tail.next = s->tail.next;
        else
            e->tails.head = s->tail.next;
        if (s->tail.next)
            s->tail.next->tail.prev = s->tail.prev;
        else
            e->tails.tail = s->tail.prev;
        s->tail.queued = false;
        s->tail.next = s->tail.prev = NULL;
    }
    pthread_mutex_unlock(&e->tails.mu);
}

/* Writes the shard's tail (frames committed through the journal, not yet in the file) to the
 * active segment a, whose descriptors are open; `release` frees the buffer afterwards. Writer
 * state, like sl_file_flush_pending_index. The bytes stay readable from the tail until they are
 * written. */
int sl_file_shard_flush_tail(sl_file_shard_t *s, sl_file_seg_t *a, bool release) {
    size_t len = s->tail.buf.len;
    if (len == 0) {
        if (release && s->tail.buf.data) {
            pthread_mutex_lock(&s->mu);
            sl_buf_free(&s->tail.buf);
            pthread_mutex_unlock(&s->mu);
        }
        return 0;
    }
    int rc = sl_file_pwrite_all(&s->eng->ops, a->fd, s->tail.buf.data, len, s->tail.off);
    /* Start writing those pages back now (on the checkpoint thread: the call can block for
     * milliseconds when the device's queue is full), so that the next checkpoint's sync has
     * little left to do (it stalls the journal's fdatasync while it runs). Not a durability step,
     * and only for full tails: the periodic checkpoint writes every tail, thousands of small ones
     * at 4,096 shards, and each call costs a device notification (a VM exit) that the
     * checkpoint's sync after them makes unnecessary. */
    if (!rc && len >= SL_STORAGE_TAIL_FLUSH_BYTES)
        sl_file_writeback_start(s->eng, a->fd, s->tail.off, len);
    if (rc) {
        if (rc == SL_ENOSPC || rc == SL_EROFS) {
            if (!atomic_exchange(&s->eng->tails.stuck, rc))
                SL_ERROR("storage: stream %s shard %s: %s: journaled records cannot be written to "
                         "their segments; "
                         "they are durable in the commit journal and readable; writes are refused "
                         "until they can be "
                         "written",
                         s->stream_key, s->shard_key, sl_strerror(rc));
            return rc;
        }
        SL_WARN("storage: stream %s shard %s: writing journaled records to the segment failed "
                "(%s); will retry",
                s->stream_key, s->shard_key, sl_strerror(rc));
        return rc;
    }
    s->checkpoint.ckdirty = true; /* the next checkpoint makes them durable */
    pthread_mutex_lock(&s->mu);
    if (release)
        sl_buf_free(&s->tail.buf);
    else
        sl_buf_reset(&s->tail.buf);
    pthread_mutex_unlock(&s->mu);
    sl_file_tq_remove(s);
    return 0;
}

/* The bytes of the shard's share in the round's entry. */
static size_t jnl_share_bytes(const sl_file_shard_t *s, const sl_file_round_t *r) {
    return sl_jnl_share_size(s->stream_key_len, s->shard_key_len, r->bytes);
}

/* Decides whether the shard's share may go through the journal (round.jnl, on the chunk's
 * approval: sl_file_journal_fit): 0, or the bytes of its share in the round's entry. A journaled
 * shard needs no descriptor during the round, so only shares that are written to their segment
 * (large ones, a roll, a repair) open them. */
size_t sl_file_journal_choose_one(sl_file_engine_t *e, sl_file_shard_t *s) {
    sl_file_round_t *r = sl_file_rd(s);
    r->jnl = false;
    if (!e->journal.on || r->open_rc || r->roll || r->nops == 0 || s->writer.needs_truncate ||
        r->bytes >= SL_STORAGE_JOURNAL_DIRECT_BYTES ||
        s->writer.size + r->bytes >= e->segment_bytes || s->writer.floor > s->writer.end_seq)
        return 0;
    if (r->index_bad) return 0; /* as the chunk took it (under mu) */
    r->jnl = true;
    return jnl_share_bytes(s, r);
}

/* The chunk's n shards chose the journal for `total` bytes of shares (sl_file_journal_choose_one):
 * they keep it if the entry fits in the ring with the round's earlier chunks, else they are all
 * written directly. */
bool sl_file_journal_fit(sl_file_engine_t *e, size_t n, size_t total) {
    if (total == 0) return true;
    uint64_t all = sl_jnl_round_size(e->journal.round_bytes + total);
    uint64_t at = e->journal.write_lsn, off = at % e->journal.cap;
    if (off + all > e->journal.cap) at += e->journal.cap - off;
    if (all <= e->journal.cap / 2 && at + all - e->journal.oldest_lsn <= e->journal.cap) {
        e->journal.round_bytes += total;
        return true;
    }
    /* The ring is full until the running checkpoint completes: write this chunk directly. */
    for (size_t i = 0; i < n; i++)
        sl_file_rd(e->scratch.batch[i])->jnl = false;
    return false;
}

void sl_file_journal_choose(sl_file_engine_t *e, size_t n) {
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += sl_file_journal_choose_one(e, e->scratch.batch[i]);
    sl_file_journal_fit(e, n, total);
}

/* Writes zeros up to file offset `upto` (at least GROW_BYTES more, at most the ring's end) so that
 * later fdatasyncs of the journal change no file size. */
static int journal_extend(sl_file_engine_t *e, uint64_t upto) {
    static const uint8_t zeros[65536];
    if (upto <= e->journal.alloc) return 0;
    sl_file_journal_grow_wait(e); /* the checkpoint thread's zeros, if it is writing some */
    if (upto <= e->journal.alloc) return 0;
    uint64_t end = SL_JNL_DATA_OFF + e->journal.cap;
    uint64_t to = SL_MAX(upto, e->journal.alloc + SL_STORAGE_JOURNAL_GROW_BYTES);
    if (to > end) to = end;
    while (e->journal.alloc < to) {
        size_t len = (size_t)SL_MIN((uint64_t)sizeof zeros, to - e->journal.alloc);
        int rc = sl_file_pwrite_all(&e->ops, e->journal.fd, zeros, len, e->journal.alloc);
        if (rc) return rc;
        e->journal.alloc += len;
    }
    return 0;
}

/* Writes the round's journaled shares as one ROUND entry (not yet synced): one header and one
 * checksum for the round, and per shard only its keys, first seq and counts before its frames.
 * The headers are encoded into journal.buf and the entry is written with pwritev from there and
 * from the frames of each append where the append call framed them (sl_file_req_t): the frames
 * are not copied on their way to the journal. *next is the lsn after the entry. */
int sl_file_journal_write(sl_file_engine_t *e, sl_file_shard_t *const *shards, size_t n,
                          uint64_t *next) {
    static const uint8_t zeros[SL_JNL_ALIGN];
    size_t body = 0, nframes = 0, heads = SL_JNL_ENTRY_HEADER_BYTES, nops = 0;
    for (size_t i = 0; i < n; i++) {
        sl_file_shard_t *s = shards[i];
        const sl_file_round_t *r = sl_file_rd(s);
        if (i + 6 < n) sl_file_prefetch_shard(shards[i + 6]);
        if (i + 3 < n) __builtin_prefetch(shards[i + 3]->stream_key, 0);
        body += jnl_share_bytes(s, r);
        nops += r->nops;
        heads += sl_jnl_share_size(s->stream_key_len, s->shard_key_len, 0);
        nframes += r->end1 - r->end0;
    }
    size_t total = sl_jnl_round_size(body);
    uint64_t lsn = e->journal.write_lsn, off = lsn % e->journal.cap;
    int rc;
    if (off + total > e->journal.cap) {
        /* Skip the rest of the lap; a PAD entry tells recovery so when a header fits. */
        uint64_t pad = e->journal.cap - off;
        if ((rc = journal_extend(e, SL_JNL_DATA_OFF + e->journal.cap))) return rc;
        if (pad >= SL_JNL_ENTRY_HEADER_BYTES) {
            uint8_t h[SL_JNL_ENTRY_HEADER_BYTES];
            sl_jnl_pad_encode(h, lsn, (uint32_t)pad);
            if ((rc = sl_file_pwrite_all(&e->ops, e->journal.fd, h, sizeof h,
                                         SL_JNL_DATA_OFF + off)))
                return rc;
        }
        lsn += pad;
        off = 0;
    }
    /* pieces: the header with the first share's, then per share the frames of each append and
     * the next share's header, then the padding */
    size_t niov_max = n + nops + 2;
    if (niov_max > e->journal.iov_cap) {
        size_t cap = SL_MAX(niov_max, 2 * e->journal.iov_cap);
        struct iovec *v = realloc(e->journal.iov, cap * sizeof *v);
        if (!v) return SL_ENOMEM;
        e->journal.iov = v;
        e->journal.iov_cap = cap;
    }
    sl_buf_reset(&e->journal.buf);
    uint8_t *out = (uint8_t *)sl_buf_reserve(&e->journal.buf, heads);
    if (!out) {
        e->journal.buf.failed = false;
        return SL_ENOMEM;
    }
    struct iovec *iov = e->journal.iov;
    size_t niov = 0;
    sl_jnl_round_header_encode(out, lsn, (uint32_t)n, (uint32_t)nframes, body);
    uint32_t crc = sl_crc32c(0, out + 8, SL_JNL_ENTRY_HEADER_BYTES - 8);
    uint8_t *h = out + SL_JNL_ENTRY_HEADER_BYTES;
    iov[niov++] = (struct iovec){.iov_base = out, .iov_len = SL_JNL_ENTRY_HEADER_BYTES};
    for (size_t i = 0; i < n; i++) {
        sl_file_shard_t *s = shards[i];
        sl_file_round_t *r = sl_file_rd(s);
        if (i + 6 < n) sl_file_prefetch_shard(shards[i + 6]);
        if (i + 3 < n) {
            __builtin_prefetch(shards[i + 3]->stream_key, 0);
            __builtin_prefetch(sl_file_rd(shards[i + 3])->ops, 0);
        }
        r->lsn = lsn;
        size_t hl = sl_jnl_share_header_encode(h, s->stream_key, s->stream_key_len, s->shard_key,
                                               s->shard_key_len, r->end0,
                                               (uint32_t)(r->end1 - r->end0), r->bytes);
        crc = sl_crc32c(crc, h, hl);
        if (i == 0)
            iov[0].iov_len += hl; /* right after the entry header */
        else
            iov[niov++] = (struct iovec){.iov_base = h, .iov_len = hl};
        for (const sl_file_op_t *op = r->ops; op; op = op->next) {
            crc = sl_crc32c(crc, op->frames, op->bytes);
            iov[niov++] = (struct iovec){.iov_base = op->frames, .iov_len = op->bytes};
        }
        h += hl;
    }
    size_t padlen = total - SL_JNL_ENTRY_HEADER_BYTES - body;
    if (padlen) {
        crc = sl_crc32c(crc, zeros, padlen);
        iov[niov++] = (struct iovec){.iov_base = (void *)zeros, .iov_len = padlen};
    }
    sl_le32_put(out + 4, crc);
    e->journal.buf.len = heads;
    if ((rc = journal_extend(e, SL_JNL_DATA_OFF + off + total))) return rc;
    if ((rc = sl_file_pwritev_all(&e->ops, e->journal.fd, iov, niov, SL_JNL_DATA_OFF + off,
                                  &e->journal.gather)))
        return rc;
    *next = lsn + total;
    return 0;
}

/* A journal write or sync failed: that round's journaled appends fail, and the engine writes
 * every later round directly (until restart), so that no seq of the failed round is ever
 * journaled again with other records. The write position stays after the entries written (a
 * failed sync may have left them whole on disk): the next checkpoint retires them, so that a
 * later start does not replay records whose appends failed. */
void sl_file_journal_failed(sl_file_engine_t *e, int rc) {
    SL_ERROR("storage: commit journal %s: write failed (%s); writing every shard's segment "
             "directly from now on",
             e->journal.path, sl_strerror(rc));
    e->journal.on = false;
}

/* Appends round r's frames to the shard's tail; mu held. False when out of memory. */
bool sl_file_tail_append_locked(sl_file_shard_t *s, const sl_file_round_t *r) {
    if (s->tail.buf.len == 0) {
        s->tail.off = r->size0;
        s->tail.lsn = r->lsn;
    }
    s->tail.appended += r->bytes;
    SL_ASSERT(s->tail.off + s->tail.buf.len == r->size0);
    uint8_t *dst = (uint8_t *)sl_buf_reserve(&s->tail.buf, r->bytes);
    if (!dst) {
        s->tail.buf.failed = false;
        return false;
    }
    for (const sl_file_op_t *op = r->ops; op; op = op->next) {
        memcpy(dst, op->frames, op->bytes);
        dst += op->bytes;
    }
    s->tail.buf.len += r->bytes;
    return true;
}

/* No memory for the tail: write round r's frames to the segment now instead. */
void sl_file_tail_append_failed(sl_file_shard_t *s, sl_file_round_t *r) {
    int rc = sl_file_round_fds(s, r);
    if (!rc) rc = sl_file_shard_flush_tail(s, r->seg, false);
    if (!rc) rc = sl_file_write_ops(s, r, r->ops, NULL, r->size0);
    if (!rc) s->checkpoint.ckdirty = true; /* durable in the journal until the next checkpoint */
    if (rc)
        SL_ERROR("storage: stream %s shard %s: cannot write journaled records to the segment (%s); "
                 "they are durable "
                 "in the journal and readable after a restart",
                 s->stream_key, s->shard_key, sl_strerror(rc));
}

/* ---------------------------------------------------------------------------------------------
 * Commit journal: opening and replay */

void sl_file_jrep_free(sl_file_jrep_list_t *l) {
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].stream);
        free(l->v[i].shard);
    }
    free(l->v);
    *l = (sl_file_jrep_list_t){0};
}

static int jrep_push(sl_file_jrep_list_t *l, const char *stream, size_t stream_len,
                     const char *shard, size_t shard_len, uint64_t lsn, uint32_t len,
                     uint32_t share_off, uint32_t share_len) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        sl_file_jrep_t *v = realloc(l->v, cap * sizeof *v);
        if (!v) return SL_ENOMEM;
        l->v = v;
        l->cap = cap;
    }
    sl_file_jrep_t r = {.stream = strndup(stream, stream_len),
                        .shard = strndup(shard, shard_len),
                        .lsn = lsn,
                        .len = len,
                        .share_off = share_off,
                        .share_len = share_len};
    if (!r.stream || !r.shard) {
        free(r.stream);
        free(r.shard);
        return SL_ENOMEM;
    }
    l->v[l->n++] = r;
    return 0;
}

/* True when both keys are valid storage keys. */
static bool keys_valid(const char *stream, size_t stream_len, const char *shard, size_t shard_len) {
    char sk[SL_STORAGE_KEY_BYTES_MAX + 1], hk[SL_STORAGE_KEY_BYTES_MAX + 1];
    if (stream_len > SL_STORAGE_KEY_BYTES_MAX || shard_len > SL_STORAGE_KEY_BYTES_MAX) return false;
    memcpy(sk, stream, stream_len);
    sk[stream_len] = 0;
    memcpy(hk, shard, shard_len);
    hk[shard_len] = 0;
    return sl_storage_key_valid(sk) && sl_storage_key_valid(hk);
}

/* Collects what a checked entry holds: the one shard of a RECORDS entry, or every share of a ROUND
 * entry. SL_ECORRUPT when a share does not decode or the shares do not fill the body exactly (the
 * entry is then treated as the journal's end), SL_ENOMEM. */
static int jrep_collect(sl_file_jrep_list_t *rep, const uint8_t *ent, const sl_jnl_entry_t *je,
                        uint64_t lsn) {
    if (je->kind == SL_JNL_RECORDS) {
        if (!keys_valid(sl_jnl_stream_key(ent), je->stream_key_len, sl_jnl_shard_key(ent, je),
                        je->shard_key_len))
            return SL_ECORRUPT;
        return jrep_push(rep, sl_jnl_stream_key(ent), je->stream_key_len, sl_jnl_shard_key(ent, je),
                         je->shard_key_len, lsn, je->len, 0, 0);
    }
    size_t n0 = rep->n, pos = SL_JNL_ENTRY_HEADER_BYTES, end = pos + je->body_len;
    uint64_t shares = 0, frames = 0;
    int rc = 0;
    while (pos < end) {
        sl_jnl_share_t sh;
        if (sl_jnl_share_decode(ent + pos, end - pos, &sh) != 0 ||
            !keys_valid(sh.stream_key, sh.stream_key_len, sh.shard_key, sh.shard_key_len)) {
            rc = SL_ECORRUPT;
            break;
        }
        if ((rc = jrep_push(rep, sh.stream_key, sh.stream_key_len, sh.shard_key, sh.shard_key_len,
                            lsn, je->len, (uint32_t)pos, (uint32_t)sh.size)))
            break;
        shares++;
        frames += sh.nframes;
        pos += sh.size;
    }
    if (!rc && (shares != je->first_seq || frames != je->nframes)) rc = SL_ECORRUPT;
    if (rc) {
        /* nothing of an entry that does not check out */
        for (size_t i = n0; i < rep->n; i++) {
            free(rep->v[i].stream);
            free(rep->v[i].shard);
        }
        rep->n = n0;
    }
    return rc;
}

/* The ring capacity the configuration asks for (journal_bytes, bounded and aligned). */
static uint64_t journal_wanted_cap(const sl_file_engine_t *e) {
    size_t want =
        e->base.cfg.journal_bytes ? e->base.cfg.journal_bytes : SL_STORAGE_JOURNAL_BYTES_DEFAULT;
    if (want < SL_JNL_CAPACITY_MIN) want = SL_JNL_CAPACITY_MIN;
    if (want > SL_STORAGE_JOURNAL_BYTES_MAX) want = SL_STORAGE_JOURNAL_BYTES_MAX;
    return want & ~(uint64_t)(SL_JNL_ALIGN - 1);
}

/* Writes a new, empty journal (header, first checkpoint slot) over whatever journal.fd holds. */
static int journal_create(sl_file_engine_t *e, const char *dir) {
    e->journal.cap = journal_wanted_cap(e);
    uint8_t *h = calloc(1, SL_JNL_DATA_OFF);
    if (!h) return SL_ENOMEM;
    sl_jnl_file_header_encode(h, e->journal.cap);
    sl_jnl_slot_encode(h + SL_JNL_SLOT0_OFF, 0, 0);
    int rc = sl_file_pwrite_all(&e->ops, e->journal.fd, h, SL_JNL_DATA_OFF, 0);
    free(h);
    if (!rc && e->ops.ftruncate(e->journal.fd, SL_JNL_DATA_OFF) != 0)
        rc = sl_file_errno_code(errno);
    if (!rc && e->ops.fdatasync(e->journal.fd) != 0) rc = sl_file_errno_code(errno);
    if (!rc) rc = sl_file_fsync_dir(e, dir);
    e->checkpoint.gen = 0;
    e->journal.write_lsn = e->journal.oldest_lsn = 0;
    e->journal.alloc = SL_JNL_DATA_OFF;
    return rc;
}

/* Scans the journal from its checkpoint to its first invalid entry, collecting what to replay. */
static int journal_scan(sl_file_engine_t *e, uint64_t start, sl_file_jrep_list_t *rep) {
    uint64_t cap = e->journal.cap, pos = start;
    uint8_t *buf = NULL;
    size_t bcap = 0;
    int rc = 0;
    while (pos - start < cap) {
        uint64_t off = pos % cap;
        if (cap - off < SL_JNL_ENTRY_HEADER_BYTES) {
            pos += cap - off;
            continue;
        }
        if (SL_JNL_DATA_OFF + off + SL_JNL_ENTRY_HEADER_BYTES > e->journal.alloc) break;
        uint8_t h[SL_JNL_ENTRY_HEADER_BYTES];
        if (sl_file_pread_full(&e->ops, e->journal.fd, h, sizeof h, SL_JNL_DATA_OFF + off) !=
            (ssize_t)sizeof h)
            break;
        sl_jnl_entry_t je;
        if (sl_jnl_entry_decode(h, pos, cap - off, &je) != 0) break;
        if (je.kind == SL_JNL_PAD) {
            if (je.len != cap - off) break;
            pos += je.len;
            continue;
        }
        if (SL_JNL_DATA_OFF + off + je.len > e->journal.alloc) break;
        if (je.len > bcap) {
            uint8_t *nb = realloc(buf, je.len);
            if (!nb) {
                rc = SL_ENOMEM;
                break;
            }
            buf = nb;
            bcap = je.len;
        }
        if (sl_file_pread_full(&e->ops, e->journal.fd, buf, je.len, SL_JNL_DATA_OFF + off) !=
            (ssize_t)je.len)
            break;
        if (sl_jnl_entry_check(buf, &je) != 0) break;
        int crc = jrep_collect(rep, buf, &je, pos);
        if (crc == SL_ECORRUPT) break;
        if ((rc = crc)) break;
        pos += je.len;
    }
    free(buf);
    e->journal.write_lsn = pos;
    e->journal.oldest_lsn = start;
    return rc;
}

/* Opens the commit journal, creating it with durability=sync, and collects the entries after its
 * last checkpoint. Without a journal file and another durability setting, journal.fd stays -1. */
int sl_file_journal_open(sl_file_engine_t *e, sl_file_jrep_list_t *rep) {
    char *dir = sl_file_path_join(e->base.cfg.data_dir, "journal");
    e->journal.path = dir ? sl_file_path_join(dir, "journal.jnl") : NULL;
    if (!e->journal.path) {
        free(dir);
        return SL_ENOMEM;
    }
    int rc = 0;
    struct stat st;
    bool exists = stat(e->journal.path, &st) == 0;
    uint8_t *h = NULL;
    if (!exists && e->base.cfg.durability != SL_DURABILITY_SYNC) goto out;
    if (!exists) {
        if (e->ops.mkdir(dir, 0700) == 0)
            rc = sl_file_fsync_dir(e, e->base.cfg.data_dir);
        else if (errno != EEXIST)
            rc = sl_file_errno_code(errno);
        if (rc) goto out;
    }
    e->journal.fd = e->ops.open(e->journal.path, O_RDWR | O_CREAT, 0600);
    if (e->journal.fd < 0) {
        rc = sl_file_errno_code(errno);
        goto out;
    }
    h = malloc(SL_JNL_DATA_OFF);
    if (!h) {
        rc = SL_ENOMEM;
        goto out;
    }
    ssize_t got = sl_file_pread_full(&e->ops, e->journal.fd, h, SL_JNL_DATA_OFF, 0);
    uint64_t cap = 0;
    if (got != (ssize_t)SL_JNL_DATA_OFF || sl_jnl_file_header_decode(h, &cap) != 0) {
        /* New, or a creation that did not complete (no entry is written before the header is
         * durable). A damaged header of a used journal loses what only it held: say so. */
        if (got > (ssize_t)SL_JNL_DATA_OFF ||
            (got == (ssize_t)SL_JNL_DATA_OFF && e->ops.fstat(e->journal.fd, &st) == 0 &&
             st.st_size > (off_t)SL_JNL_DATA_OFF))
            SL_ERROR("storage: commit journal %s has no valid header; starting a new one (records "
                     "acknowledged "
                     "since the last checkpoint may be lost)",
                     e->journal.path);
        rc = journal_create(e, dir);
        goto out;
    }
    e->journal.cap = cap;
    uint64_t g0 = 0, l0 = 0, g1 = 0, l1 = 0, start = 0;
    bool v0 = sl_jnl_slot_decode(h + SL_JNL_SLOT0_OFF, &g0, &l0) == 0;
    bool v1 = sl_jnl_slot_decode(h + SL_JNL_SLOT1_OFF, &g1, &l1) == 0;
    if (v0 && (!v1 || g0 >= g1)) {
        e->checkpoint.gen = g0;
        start = l0;
    } else if (v1) {
        e->checkpoint.gen = g1;
        start = l1;
    } else {
        SL_ERROR("storage: commit journal %s: both checkpoint records are damaged; replaying from "
                 "its start",
                 e->journal.path);
    }
    if (e->ops.fstat(e->journal.fd, &st) != 0) {
        rc = sl_file_errno_code(errno);
        goto out;
    }
    e->journal.alloc = SL_MIN((uint64_t)st.st_size, SL_JNL_DATA_OFF + cap);
    rc = journal_scan(e, start, rep);
    if (!rc && rep->n)
        SL_INFO(
            "storage: commit journal: %zu shard writes (one per shard and round) after the last "
            "checkpoint (journal bytes %" PRIu64 "..%" PRIu64 ") to check against the shard logs",
            rep->n, start, e->journal.write_lsn);
out:
    free(h);
    free(dir);
    return rc;
}

/* Replay: takes frames of one journal entry that the shard's log lacks (seqs writer.end_seq on,
 * arrival times non-decreasing: the caller checked) as the end of the shard's tail, exactly as if
 * the commit round that journaled them had just completed: readers serve them from memory, the
 * commit thread writes them to the active segment, and no checkpoint passes `lsn` before that.
 * Nothing is written here, so a full disk cannot stop a start. Opening thread, before the commit
 * thread runs. */
static int shard_adopt_frames(sl_file_shard_t *s, const uint8_t *frames, size_t len, uint64_t lsn) {
    size_t widx0 = s->writer.idx.len;
    uint64_t size = s->writer.size, end = s->writer.end_seq, npoints = s->writer.npoints,
             last_point = s->writer.last_point_off;
    int64_t first_arrival = s->writer.first_arrival, last_arrival = s->writer.last_arrival;
    for (size_t p = 0; p < len;) {
        const uint8_t *f = frames + p;
        int64_t arrival = sl_frame_arrival(f);
        if (npoints == 0 || size >= last_point + SL_STORAGE_INDEX_INTERVAL_BYTES) {
            uint8_t ent[SL_IDX_ENTRY_BYTES];
            sl_idx_entry_t ie = {
                .seq = end, .offset = size, .arrival_ms = arrival, .kind = SL_IDX_POINT};
            sl_idx_entry_encode(ent, &ie);
            sl_buf_append(&s->writer.idx, ent, sizeof ent);
            if (npoints == 0) first_arrival = arrival;
            npoints++;
            last_point = size;
        }
        size += sl_frame_len(f);
        end++;
        last_arrival = arrival;
        p += sl_frame_len(f);
    }
    pthread_mutex_lock(&s->mu);
    char *dst = sl_buf_reserve(&s->tail.buf, len);
    if (!dst || sl_buf_failed(&s->writer.idx)) {
        s->tail.buf.failed = s->writer.idx.failed = false;
        s->writer.idx.len = widx0;
        pthread_mutex_unlock(&s->mu);
        return SL_ENOMEM;
    }
    if (s->tail.buf.len == 0) {
        s->tail.off = s->writer.size;
        s->tail.lsn = lsn;
    }
    memcpy(dst, frames, len);
    s->tail.buf.len += len;
    s->writer.size = size;
    s->writer.end_seq = end;
    s->writer.npoints = npoints;
    s->writer.last_point_off = last_point;
    s->writer.first_arrival = first_arrival;
    s->writer.last_arrival = last_arrival;
    sl_file_seg_t *a = s->segs[s->nseg - 1];
    a->size = size;
    a->end_seq = end;
    a->first_arrival = first_arrival;
    a->last_arrival = last_arrival;
    s->next_seq = end;
    pthread_mutex_unlock(&s->mu);
    return 0;
}

static int jrep_cmp(const void *a, const void *b) {
    const sl_file_jrep_t *x = a, *y = b;
    int c = strcmp(x->stream, y->stream);
    if (!c) c = strcmp(x->shard, y->shard);
    if (!c) c = x->lsn < y->lsn ? -1 : x->lsn > y->lsn;
    if (!c) c = x->share_off < y->share_off ? -1 : x->share_off > y->share_off;
    return c;
}

/* Takes into one shard's tail the journaled frames its log lacks (shard_adopt_frames). Returns
 * the shard, left open and held by the engine (sl_file_shard_open hands it out), when it has
 * restored records; NULL otherwise. *restored counts them. */
static sl_file_shard_t *replay_shard(sl_file_engine_t *e, const sl_file_jrep_t *v, size_t n,
                                     size_t *restored) {
    *restored = 0;
    char *sd = sl_file_path_join(e->root, v[0].stream);
    char *dir = sd ? sl_file_path_join(sd, v[0].shard) : NULL;
    struct stat st;
    bool exists = dir && stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
    free(sd);
    free(dir);
    if (!exists) return NULL; /* the stream was deleted after these records were journaled */
    sl_shard_log_t *log;
    if (sl_file_shard_open(&e->base, v[0].stream, v[0].shard, NULL, &log) != 0) return NULL;
    sl_file_shard_t *s = (sl_file_shard_t *)log;
    uint8_t *buf = NULL;
    bool stop = false;
    for (size_t k = 0; k < n && !stop; k++) {
        /* A RECORDS entry is read whole and checked again; of a ROUND entry (checked whole by
         * the scan) only this shard's share is read, whose frames carry their own checksums. */
        uint32_t rlen = v[k].share_len ? v[k].share_len : v[k].len;
        uint8_t *nb = realloc(buf, rlen);
        if (!nb) break;
        buf = nb;
        uint64_t off = SL_JNL_DATA_OFF + v[k].lsn % e->journal.cap + v[k].share_off;
        bool ok = sl_file_pread_full(&e->ops, e->journal.fd, buf, rlen, off) == (ssize_t)rlen;
        const uint8_t *body = NULL;
        size_t body_len = 0;
        uint64_t first_seq = 0;
        uint32_t nframes = 0;
        if (ok && v[k].share_len) {
            sl_jnl_share_t sh;
            ok = sl_jnl_share_decode(buf, rlen, &sh) == 0 && sh.size == rlen &&
                 sh.stream_key_len == strlen(v[0].stream) &&
                 memcmp(sh.stream_key, v[0].stream, sh.stream_key_len) == 0 &&
                 sh.shard_key_len == strlen(v[0].shard) &&
                 memcmp(sh.shard_key, v[0].shard, sh.shard_key_len) == 0;
            body = sh.frames;
            body_len = sh.frames_len;
            first_seq = sh.first_seq;
            nframes = sh.nframes;
        } else if (ok) {
            sl_jnl_entry_t je;
            ok = sl_jnl_entry_decode(buf, v[k].lsn, v[k].len, &je) == 0 &&
                 je.kind == SL_JNL_RECORDS && sl_jnl_entry_check(buf, &je) == 0;
            body = sl_jnl_body(buf, &je);
            body_len = je.body_len;
            first_seq = je.first_seq;
            nframes = je.nframes;
        }
        if (!ok) {
            SL_ERROR("storage: stream %s shard %s: commit journal entry at %" PRIu64
                     " changed while replaying it",
                     v[0].stream, v[0].shard, v[k].lsn);
            break;
        }
        size_t p = 0, from = 0, adopted = 0;
        uint64_t next = s->writer.end_seq;
        int64_t prev_arrival = s->writer.last_arrival;
        for (uint32_t f = 0; f < nframes; f++) {
            sl_frame_t fr;
            if (sl_frame_decode(body + p, body_len - p, &fr) != SL_FRAME_OK ||
                fr.seq != first_seq + f) {
                SL_ERROR("storage: stream %s shard %s: commit journal entry at %" PRIu64
                         " holds an invalid record",
                         v[0].stream, v[0].shard, v[k].lsn);
                stop = true;
                break;
            }
            if (fr.seq < next) { /* the segment has it */
                p += fr.frame_len;
                from = p;
                continue;
            }
            if (fr.seq > next) {
                SL_ERROR("storage: stream %s shard %s: the log ends at seq %" PRIu64
                         " but the commit journal continues "
                         "at seq %" PRIu64 "; records from there on cannot be restored",
                         v[0].stream, v[0].shard, next - 1, fr.seq);
                stop = true;
                break;
            }
            if (!s->on_disk || fr.arrival_ms < prev_arrival) {
                SL_ERROR("storage: stream %s shard %s: %s; journaled records from seq %" PRIu64
                         " on cannot be restored",
                         v[0].stream, v[0].shard,
                         !s->on_disk ? "the shard's segments are missing"
                                     : "a journaled record arrived before its predecessor",
                         fr.seq);
                stop = true;
                break;
            }
            prev_arrival = fr.arrival_ms;
            next++;
            adopted++;
            p += fr.frame_len;
        }
        if (p == from) continue;
        int rc = shard_adopt_frames(s, body + from, p - from, v[k].lsn);
        if (rc) {
            SL_ERROR("storage: stream %s shard %s: cannot restore journaled records: %s",
                     v[0].stream, v[0].shard, sl_strerror(rc));
            break;
        }
        *restored += adopted;
    }
    free(buf);
    if (s->tail.buf.len == 0) {
        sl_file_shard_close(log);
        return NULL;
    }
    s->held = true;
    return s;
}

static int held_cmp(const void *a, const void *b) {
    const sl_file_shard_t *x = *(sl_file_shard_t *const *)a, *y = *(sl_file_shard_t *const *)b;
    return x->tail.lsn < y->tail.lsn ? -1 : x->tail.lsn > y->tail.lsn;
}

/* A journal keeps the capacity it was created with; a different journal_bytes takes effect at a
 * start that leaves it holding nothing (everything before its end checkpointed): it is written
 * anew, empty, with the new capacity (and grows again during its first lap). Opening thread. */
static int journal_apply_capacity(sl_file_engine_t *e) {
    if (e->base.cfg.durability != SL_DURABILITY_SYNC || e->journal.fd < 0) return 0;
    uint64_t old = e->journal.cap, want = journal_wanted_cap(e);
    if (want == old || e->journal.write_lsn != e->journal.oldest_lsn || e->tails.head) return 0;
    char *dir = sl_file_path_join(e->base.cfg.data_dir, "journal");
    if (!dir) return SL_ENOMEM;
    int rc = journal_create(e, dir);
    free(dir);
    if (rc)
        SL_ERROR("storage: commit journal %s: cannot write it anew with %" PRIu64
                 " bytes (journal_bytes): %s",
                 e->journal.path, want, sl_strerror(rc));
    else
        SL_INFO("storage: commit journal: its size is now %" PRIu64 " bytes (was %" PRIu64
                "; journal_bytes)",
                want, old);
    return rc;
}

/* Restores from the journal what the segments lost: the frames become their shards' tails
 * (replay_shard), which are then written to the segments, and a checkpoint is recorded at the
 * journal's end. When they cannot be written (a full disk), no checkpoint moves: the tails stay in
 * memory, readable, and the journal keeps them until the commit thread manages to write them
 * (tails.stuck refuses appends meanwhile), or until the next start. Opening thread, before the
 * engine's threads start. */
int sl_file_journal_replay(sl_file_engine_t *e, sl_file_jrep_list_t *rep) {
    if (rep->n) qsort(rep->v, rep->n, sizeof *rep->v, jrep_cmp);
    size_t records = 0, nheld = 0;
    sl_file_shard_t **held = rep->n ? malloc(rep->n * sizeof *held) : NULL;
    if (rep->n && !held) return SL_ENOMEM;
    for (size_t i = 0; i < rep->n;) {
        size_t j = i + 1;
        while (j < rep->n && strcmp(rep->v[j].stream, rep->v[i].stream) == 0 &&
               strcmp(rep->v[j].shard, rep->v[i].shard) == 0)
            j++;
        size_t r = 0;
        sl_file_shard_t *s = replay_shard(e, rep->v + i, j - i, &r);
        if (s) held[nheld++] = s;
        records += r;
        i = j;
    }
    /* The tail queue is ordered by journal position: a checkpoint frees the journal up to the
     * oldest tail only. */
    if (nheld) qsort(held, nheld, sizeof *held, held_cmp);
    for (size_t i = 0; i < nheld; i++)
        sl_file_tq_push(held[i]);
    free(held);
    if (records)
        SL_WARN("storage: commit journal: restoring %zu records of %zu shard(s) that had not "
                "reached their segments",
                records, nheld);
    if (e->journal.write_lsn == e->journal.oldest_lsn) return journal_apply_capacity(e);
    int rc = sl_file_flush_all_tails(e, false);
    uint64_t lsn =
        rc ? 0 : sl_file_checkpoint_mark(e); /* every tail is written: the journal's end */
    if (!rc) rc = sl_file_journal_checkpoint_sync(e, lsn);
    if (!rc) {
        sl_file_checkpoint_finish(e, lsn);
        return journal_apply_capacity(e);
    }
    /* Keep everything: the checkpoint stays where it was, the restored records stay readable from
     * memory, and the commit thread retries. */
    sl_file_checkpoint_release(e, false);
    SL_ERROR("storage: commit journal: cannot write %zu restored records to their segments (%s); "
             "they stay in the "
             "journal and are served from memory; writes are refused until they are written",
             records, sl_strerror(rc));
    atomic_store(&e->tails.stuck, rc);
    return 0;
}
