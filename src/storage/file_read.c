/* Reads of the segment-file engine (overview in file.c): reads by seq with record and byte
 * budgets, seeks by arrival time, and bounds. A read takes committed bytes from the segment files
 * and those still in the shard's tail from memory, continues a sequential reader from where it
 * stopped (the hint), checks every frame's CRC and skips damaged records (file_recover.c finds
 * where intact records resume). */
#include "core/common.h"
#include "core/log.h"
#include "core/time.h"
#include "storage/file_internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

typedef struct read_block {
    struct read_block *next;
    uint8_t data[];
} read_block_t;

typedef struct {
    void (*freefn)(sl_read_result_t *res);
    sl_read_result_t res;
    read_block_t *blocks;
    size_t cap;
} file_read_mem_t;

static void bounds_locked(const sl_file_shard_t *s, sl_shard_bounds_t *b) {
    memset(b, 0, sizeof *b);
    b->next_seq = s->next_seq;
    b->first_seq = s->next_seq;
    for (size_t i = 0; i < s->nseg; i++) {
        const sl_file_seg_t *g = s->segs[i];
        b->bytes += g->size;
        if (g->end_seq > g->base_seq) {
            if (b->first_seq == s->next_seq && b->first_arrival_ms == 0 &&
                b->last_arrival_ms == 0) {
                b->first_seq = g->base_seq;
                b->first_arrival_ms = g->first_arrival;
            }
            b->last_arrival_ms = g->last_arrival;
        }
    }
}

void sl_file_read_free(sl_read_result_t *res) {
    file_read_mem_t *m = res->mem;
    while (m->blocks) {
        read_block_t *b = m->blocks;
        m->blocks = b->next;
        free(b);
    }
    free(m->res.records);
    free(m);
}

static uint8_t *read_block_new(file_read_mem_t *m, size_t len) {
    read_block_t *b = malloc(sizeof *b + len);
    if (!b) return NULL;
    b->next = m->blocks;
    m->blocks = b;
    return b->data;
}

static int result_push(file_read_mem_t *m, const sl_frame_t *f) {
    sl_read_result_t *res = &m->res;
    if (res->count == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 64;
        sl_record_t *r = realloc(res->records, cap * sizeof *r);
        if (!r) return SL_ENOMEM;
        res->records = r;
        m->cap = cap;
    }
    res->records[res->count++] = (sl_record_t){
        .seq = f->seq,
        .arrival_ms = f->arrival_ms,
        .key = (const char *)f->key,
        .key_len = f->key_len,
        .attributes = f->attr_len ? (const char *)f->attr : NULL,
        .attributes_len = f->attr_len,
        .data = f->data,
        .data_len = f->data_len,
    };
    res->bytes += (size_t)f->data_len + f->key_len;
    return 0;
}

/* Finds where to start reading seq `pos` in g: the hint, the index, or the segment's start. */
static void locate(sl_file_shard_t *s, sl_file_seg_t *g, uint64_t pos, uint64_t npoints,
                   bool index_bad, uint64_t *off, uint64_t *off_seq, bool *from_index) {
    *off = SL_SEG_HEADER_BYTES;
    *off_seq = g->base_seq;
    *from_index = false;
    if (index_bad || npoints == 0) return;
    sl_idx_entry_t ie;
    long ipos;
    if (sl_file_index_search(s, g, npoints, false, pos, 0, &ie, &ipos) != 0) {
        pthread_mutex_lock(&s->mu);
        g->index_bad = true;
        pthread_mutex_unlock(&s->mu);
        SL_WARN("storage: stream %s shard %s: index of segment %020" PRIu64
                ".log is unreadable; scanning instead",
                s->stream_key, s->shard_key, g->base_seq);
        return;
    }
    if (ipos < 0) return;
    *off = ie.offset;
    *off_seq = ie.seq;
    *from_index = true;
}

/* Reads len bytes at off of segment g (descriptors open), taking the bytes that are still in the
 * shard's tail from memory. Returns the bytes read (short only at the file's end) or a code. */
ssize_t sl_file_seg_read(sl_file_shard_t *s, sl_file_seg_t *g, uint8_t *buf, size_t len,
                         uint64_t off) {
    size_t file_len = len, mem_len = 0;
    pthread_mutex_lock(&s->mu);
    if (s->tail.buf.len && g == s->segs[s->nseg - 1] && off + len > s->tail.off) {
        uint64_t from = off > s->tail.off ? off : s->tail.off;
        uint64_t to = SL_MIN(off + len, s->tail.off + s->tail.buf.len);
        file_len = (size_t)(from - off);
        if (to > from) {
            memcpy(buf + file_len, s->tail.buf.data + (from - s->tail.off), (size_t)(to - from));
            mem_len = (size_t)(to - from);
        }
    }
    pthread_mutex_unlock(&s->mu);
    if (file_len == 0) return (ssize_t)mem_len;
    ssize_t got = sl_file_pread_full(&s->eng->ops, g->fd, buf, file_len, off);
    if (got < 0) return got;
    return (size_t)got < file_len ? got : (ssize_t)(file_len + mem_len);
}

typedef struct {
    size_t records_max, bytes_max;
    bool full;
} budget_t;

/* Reads from segment containing *pos. Advances *pos past what it returned or skipped. Returns 0,
 * or a negative code. Sets b->full when the budget is exhausted. */
static int read_segment(sl_file_shard_t *s, file_read_mem_t *m, uint64_t *pos, budget_t *b) {
    sl_file_engine_t *e = s->eng;
    sl_read_result_t *res = &m->res;
    pthread_mutex_lock(&s->mu);
    long idx = sl_file_seg_find_locked(s, *pos);
    if (idx < 0) {
        *pos = s->segs[0]->base_seq;
        idx = 0;
    }
    sl_file_seg_t *g = s->segs[idx];
    if (*pos >= g->end_seq) {
        bool more = (size_t)idx + 1 < s->nseg;
        if (more) *pos = s->segs[idx + 1]->base_seq;
        pthread_mutex_unlock(&s->mu);
        if (!more) b->full = true;
        return 0;
    }
    uint64_t size = g->size, end = g->end_seq, npoints = g->npoints, base = g->base_seq;
    bool index_bad = g->index_bad, hinted = false;
    uint64_t off = SL_SEG_HEADER_BYTES, off_seq = base;
    if (s->hint.base == base && s->hint.seq == *pos && s->hint.off >= SL_SEG_HEADER_BYTES &&
        s->hint.off < size) {
        off = s->hint.off;
        off_seq = *pos;
        hinted = true;
    }
    g->refs++;
    int rc = sl_file_seg_open_fds_locked(s, g);
    pthread_mutex_unlock(&s->mu);
    bool from_index = hinted;
    if (!rc && !hinted) locate(s, g, *pos, npoints, index_bad, &off, &off_seq, &from_index);
    double avg = (double)(size - SL_SEG_HEADER_BYTES) / (double)(end - base);
    uint64_t expect = off_seq;
    bool first = true;
    int skips = 0;
    size_t min_chunk = 65536;
    while (!rc && off < size && !b->full) {
        double rem_recs = (double)(b->records_max - res->count);
        double rem_bytes = res->bytes < b->bytes_max ? (double)(b->bytes_max - res->bytes) : 0;
        double overhead =
            avg > SL_FRAME_HEADER_BYTES + 1 ? avg / (avg - SL_FRAME_HEADER_BYTES) : 2.0;
        double want = rem_recs * avg;
        if (rem_bytes * overhead < want) want = rem_bytes * overhead;
        want += (double)(*pos > expect ? *pos - expect : 0) * avg + avg + SL_FRAME_HEADER_BYTES;
        if (want > 32.0 * 1024 * 1024) want = 32.0 * 1024 * 1024;
        if (want < (double)min_chunk) want = (double)min_chunk;
        min_chunk = 65536;
        size_t chunk = (size_t)SL_MIN((uint64_t)want, size - off);
        uint8_t *blk = read_block_new(m, chunk);
        if (!blk) {
            rc = SL_ENOMEM;
            break;
        }
        ssize_t got = sl_file_seg_read(s, g, blk, chunk, off);
        if (got < 0) {
            rc = (int)got;
            break;
        }
        if ((size_t)got != chunk) {
            SL_ERROR("storage: stream %s shard %s: segment %020" PRIu64
                     ".log is shorter than its committed length",
                     s->stream_key, s->shard_key, base);
            rc = SL_ECORRUPT;
            break;
        }
        size_t p = 0;
        while (p < chunk) {
            sl_frame_t f;
            sl_frame_status_t st = sl_frame_decode(blk + p, chunk - p, &f);
            if ((st == SL_FRAME_TORN_BODY || st == SL_FRAME_TORN_HEADER) && off + chunk < size) {
                /* The frame continues past this chunk: the next chunk starts at it and holds it. */
                if (p == 0)
                    min_chunk = st == SL_FRAME_TORN_BODY ? f.frame_len : SL_FRAME_HEADER_BYTES;
                break;
            }
            if (st != SL_FRAME_OK || f.seq != expect) {
                if (first && from_index && !hinted) {
                    SL_WARN("storage: stream %s shard %s: index of segment %020" PRIu64
                            ".log disagrees with the segment; scanning instead until it is rebuilt",
                            s->stream_key, s->shard_key, base);
                    pthread_mutex_lock(&s->mu);
                    g->index_bad = true;
                    pthread_mutex_unlock(&s->mu);
                } else if (first && hinted) {
                    /* A stale hint: fall back to the index. */
                } else {
                    /* Damage inside committed data (not a torn tail: recovery cut those). Skip to
                     * the next index entry, or to the segment's end, and say what was lost. */
                    if (++skips > 16) {
                        rc = SL_ECORRUPT;
                        break;
                    }
                    uint64_t rs, ro;
                    pthread_mutex_lock(&s->mu);
                    bool ibad = g->index_bad;
                    pthread_mutex_unlock(&s->mu);
                    sl_file_find_resume(s, g, npoints, !ibad, off + p, expect, INT64_MIN, size, end,
                                        &rs, &ro);
                    SL_ERROR("storage: stream %s shard %s: segment %020" PRIu64
                             ".log: %s at offset %" PRIu64 "; records with seq %" PRIu64
                             "..%" PRIu64 " are unreadable and skipped",
                             s->stream_key, s->shard_key, base,
                             st == SL_FRAME_OK ? "record out of sequence" : sl_frame_status_str(st),
                             off + p, expect, rs - 1);
                    off = ro;
                    expect = rs;
                    if (*pos < rs) *pos = rs;
                    first = true;
                    from_index = true;
                    hinted = false;
                    goto next_chunk;
                }
                /* Retry this segment from a safer starting point. */
                bool was_hinted = hinted;
                hinted = false;
                if (was_hinted) {
                    locate(s, g, *pos, npoints, index_bad, &off, &off_seq, &from_index);
                } else {
                    off = SL_SEG_HEADER_BYTES;
                    off_seq = base;
                    from_index = false;
                }
                expect = off_seq;
                first = true;
                goto next_chunk;
            }
            first = false;
            if (f.seq >= *pos) {
                size_t cost = (size_t)f.data_len + f.key_len;
                if (res->count >= b->records_max ||
                    (res->count > 0 && res->bytes + cost > b->bytes_max)) {
                    b->full = true;
                    break;
                }
                if ((rc = result_push(m, &f))) break;
                *pos = f.seq + 1;
            }
            expect++;
            p += f.frame_len;
        }
        off += p;
    next_chunk:;
    }
    if (!rc && off >= size && *pos < end)
        *pos = end; /* should not happen: the segment ended early */
    pthread_mutex_lock(&s->mu);
    bool rebuild = g->sealed && g->index_bad && !g->rebuilding;
    pthread_mutex_unlock(&s->mu);
    if (rebuild) sl_file_rebuild_sealed_index(s, g);
    pthread_mutex_lock(&s->mu);
    if (!rc) {
        s->hint.base = base;
        s->hint.seq = expect;
        s->hint.off = off;
    }
    bool last = g->refs == 1;
    sl_file_seg_unref_locked(e, g);
    if (!last) sl_file_seg_reader_release_locked(s, g);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static int seek_time_impl(sl_file_shard_t *s, int64_t ts, uint64_t *out);

/* A read served from the shard's tail alone (backend.h, sl_storage_read_memory). Under the shard's
 * mutex it finds `from_seq` in the tail (at the sequential hint, else by walking the tail's frame
 * headers), walks the frames the budget takes and copies them; the checksums are verified after
 * the mutex is released, as sl_file_read does. Anything it cannot answer exactly as sl_file_read
 * would (records below the trim horizon or the retention cut-off, a position before the tail, a
 * damaged frame, a copy over the bound) is SL_EAGAIN: the caller reads through the pool. */
int sl_file_read_memory(sl_shard_log_t *log, uint64_t from_seq, size_t records_max,
                        size_t bytes_max, int64_t min_arrival_ms, sl_read_result_t **out) {
    sl_file_shard_t *s = (sl_file_shard_t *)log;
    *out = NULL;
    file_read_mem_t *m = calloc(1, sizeof *m);
    if (!m) return SL_ENOMEM;
    m->freefn = sl_file_read_free;
    sl_read_result_t *res = &m->res;
    res->mem = m;
    int rc = SL_EAGAIN;
    uint64_t pos = from_seq, start_off = 0, end_off = 0, base = 0;
    uint8_t *blk = NULL;
    pthread_mutex_lock(&s->mu);
    if (s->closing) {
        rc = SL_ECLOSED;
        goto unlock;
    }
    bounds_locked(s, &res->bounds);
    const sl_shard_bounds_t *b = &res->bounds;
    if (pos < b->first_seq) goto unlock;
    if (min_arrival_ms > 0 && b->first_seq < b->next_seq && b->first_arrival_ms < min_arrival_ms)
        goto unlock; /* records to skip by arrival time: sl_file_read seeks */
    if (pos >= b->next_seq) {
        rc = 0; /* nothing committed past the position: an empty result, as sl_file_read gives */
        goto unlock;
    }
    if (s->nseg == 0 || s->tail.buf.len == 0) goto unlock;
    const sl_file_seg_t *g = s->segs[s->nseg - 1];
    base = g->base_seq;
    const uint8_t *tail = (const uint8_t *)s->tail.buf.data;
    uint64_t toff = s->tail.off, tend = s->tail.off + s->tail.buf.len;
    uint64_t off = toff;
    if (s->hint.base == g->base_seq && s->hint.seq == pos && s->hint.off >= toff &&
        s->hint.off < tend)
        off = s->hint.off;
    sl_frame_t f;
    /* find the position (the hint, or a walk over the tail's headers) */
    for (;;) {
        if (off >= tend ||
            sl_frame_peek(tail + (off - toff), (size_t)(tend - off), &f) != SL_FRAME_OK ||
            f.seq > pos)
            goto unlock; /* the position is before the tail (on disk), or the tail is odd */
        if (f.seq == pos) break;
        off += f.frame_len;
    }
    start_off = off;
    size_t count = 0, bytes = 0;
    uint64_t expect = pos;
    bool full = false;
    while (off < tend && expect < b->next_seq && !full) {
        if (sl_frame_peek(tail + (off - toff), (size_t)(tend - off), &f) != SL_FRAME_OK ||
            f.seq != expect)
            goto unlock;
        size_t cost = (size_t)f.data_len + f.key_len;
        if (count >= records_max || (count > 0 && bytes + cost > bytes_max)) {
            full = true;
            break;
        }
        if (off + f.frame_len - start_off > SL_STORAGE_MEMORY_READ_BYTES_MAX) goto unlock;
        bytes += cost;
        count++;
        expect++;
        off += f.frame_len;
    }
    /* stopping before the budget is full must mean the committed tip was reached */
    if (!full && count < records_max && expect < b->next_seq) goto unlock;
    end_off = off;
    blk = read_block_new(m, (size_t)(end_off - start_off));
    if (!blk) {
        rc = SL_ENOMEM;
        goto unlock;
    }
    memcpy(blk, tail + (start_off - toff), (size_t)(end_off - start_off));
    s->last_use_ms = sl_time_mono_ms();
    rc = 0;
unlock:
    pthread_mutex_unlock(&s->mu);
    if (rc || !blk) {
        if (rc) {
            sl_file_read_free(res);
            return rc;
        }
        res->next_seq = pos;
        *out = res;
        return 0;
    }
    size_t p = 0, len = (size_t)(end_off - start_off);
    while (p < len) {
        sl_frame_t fr;
        if (sl_frame_decode(blk + p, len - p, &fr) != SL_FRAME_OK || (rc = result_push(m, &fr))) {
            sl_file_read_free(res);
            return rc ? rc : SL_EAGAIN; /* damage: sl_file_read skips it and says what was lost */
        }
        p += fr.frame_len;
    }
    res->next_seq = res->records[res->count - 1].seq + 1;
    /* the next sequential read continues after these records */
    pthread_mutex_lock(&s->mu);
    s->hint.base = base;
    s->hint.seq = res->next_seq;
    s->hint.off = end_off;
    pthread_mutex_unlock(&s->mu);
    *out = res;
    return 0;
}

int sl_file_read(sl_shard_log_t *log, uint64_t from_seq, size_t records_max, size_t bytes_max,
                 int64_t min_arrival_ms, sl_read_cb cb, void *arg) {
    sl_file_shard_t *s = (sl_file_shard_t *)log;
    file_read_mem_t *m = calloc(1, sizeof *m);
    if (!m) return SL_ENOMEM;
    m->freefn = sl_file_read_free;
    sl_read_result_t *res = &m->res;
    res->mem = m;
    pthread_mutex_lock(&s->mu);
    if (s->closing) {
        pthread_mutex_unlock(&s->mu);
        free(m);
        return SL_ECLOSED;
    }
    bounds_locked(s, &res->bounds);
    s->last_use_ms = sl_time_mono_ms();
    pthread_mutex_unlock(&s->mu);
    uint64_t pos = from_seq < res->bounds.first_seq ? res->bounds.first_seq : from_seq;
    int rc = 0;
    if (min_arrival_ms > 0 && res->bounds.first_seq < res->bounds.next_seq &&
        res->bounds.first_arrival_ms < min_arrival_ms) {
        uint64_t t;
        if ((rc = seek_time_impl(s, min_arrival_ms, &t))) goto fail;
        if (t > pos) pos = t;
    }
    budget_t b = {.records_max = records_max, .bytes_max = bytes_max};
    while (!rc && !b.full && pos < res->bounds.next_seq && res->count < records_max)
        rc = read_segment(s, m, &pos, &b);
    if (rc && res->count == 0) goto fail;
    res->next_seq = res->count ? res->records[res->count - 1].seq + 1 : pos;
    cb(arg, 0, res);
    return 0;
fail:
    sl_file_read_free(res);
    return rc;
}

/* Reads frame headers from `off` on until one has arrival >= ts; *seq_out is its seq, or end_seq.
 */
static int scan_time(sl_file_shard_t *s, sl_file_seg_t *g, uint64_t off, uint64_t size,
                     uint64_t seq, uint64_t end_seq, int64_t ts, uint64_t *seq_out) {
    size_t cap = 65536;
    uint8_t *buf = malloc(cap);
    if (!buf) return SL_ENOMEM;
    uint64_t boff = 0;
    size_t blen = 0;
    int rc = 0;
    *seq_out = end_seq;
    while (off + SL_FRAME_HEADER_BYTES <= size) {
        if (off < boff || off + SL_FRAME_HEADER_BYTES > boff + blen) {
            size_t want = (size_t)SL_MIN((uint64_t)cap, size - off);
            ssize_t got = sl_file_seg_read(s, g, buf, want, off);
            if (got < (ssize_t)SL_FRAME_HEADER_BYTES) {
                rc = got < 0 ? (int)got : SL_ECORRUPT;
                break;
            }
            boff = off;
            blen = (size_t)got;
        }
        sl_frame_t f;
        sl_frame_status_t st = sl_frame_peek(buf + (off - boff), blen - (size_t)(off - boff), &f);
        if ((st != SL_FRAME_OK && st != SL_FRAME_TORN_BODY) || f.seq != seq) {
            rc = SL_ECORRUPT;
            break;
        }
        if (f.arrival_ms >= ts) {
            *seq_out = f.seq;
            break;
        }
        off += f.frame_len;
        seq++;
    }
    free(buf);
    return rc;
}

static int seek_time_impl(sl_file_shard_t *s, int64_t ts, uint64_t *out) {
    pthread_mutex_lock(&s->mu);
    sl_shard_bounds_t b;
    bounds_locked(s, &b);
    if (b.first_seq == b.next_seq || ts > b.last_arrival_ms) {
        *out = b.next_seq;
        pthread_mutex_unlock(&s->mu);
        return 0;
    }
    /* First non-empty segment whose last record arrived at or after ts. */
    size_t lo = 0, hi = s->nseg;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const sl_file_seg_t *g = s->segs[mid];
        bool after = g->end_seq > g->base_seq && g->last_arrival >= ts;
        if (after)
            hi = mid;
        else
            lo = mid + 1;
    }
    while (lo < s->nseg &&
           !(s->segs[lo]->end_seq > s->segs[lo]->base_seq && s->segs[lo]->last_arrival >= ts))
        lo++;
    if (lo == s->nseg) {
        *out = b.next_seq;
        pthread_mutex_unlock(&s->mu);
        return 0;
    }
    sl_file_seg_t *g = s->segs[lo];
    if (g->first_arrival >= ts) {
        *out = g->base_seq;
        pthread_mutex_unlock(&s->mu);
        return 0;
    }
    uint64_t size = g->size, end = g->end_seq, npoints = g->npoints;
    bool index_bad = g->index_bad;
    g->refs++;
    int rc = sl_file_seg_open_fds_locked(s, g);
    s->last_use_ms = sl_time_mono_ms();
    pthread_mutex_unlock(&s->mu);
    uint64_t off = SL_SEG_HEADER_BYTES, seq = g->base_seq;
    if (!rc && !index_bad && npoints > 0) {
        sl_idx_entry_t ie;
        long ipos;
        if (sl_file_index_search(s, g, npoints, true, 0, ts, &ie, &ipos) == 0 && ipos >= 0) {
            off = ie.offset;
            seq = ie.seq;
        }
    }
    if (!rc) rc = scan_time(s, g, off, size, seq, end, ts, out);
    if (rc == SL_ECORRUPT && off != SL_SEG_HEADER_BYTES) {
        SL_WARN("storage: stream %s shard %s: index of segment %020" PRIu64
                ".log disagrees with the segment; scanning instead until it is rebuilt",
                s->stream_key, s->shard_key, g->base_seq);
        pthread_mutex_lock(&s->mu);
        g->index_bad = true;
        pthread_mutex_unlock(&s->mu);
        rc = scan_time(s, g, SL_SEG_HEADER_BYTES, size, g->base_seq, end, ts, out);
        sl_file_rebuild_sealed_index(s, g);
    }
    sl_file_seg_unref(s, g);
    return rc;
}

int sl_file_seek_time(sl_shard_log_t *log, int64_t ts_ms, uint64_t *seq_out) {
    return seek_time_impl((sl_file_shard_t *)log, ts_ms, seq_out);
}

int sl_file_bounds(sl_shard_log_t *log, sl_shard_bounds_t *out) {
    sl_file_shard_t *s = (sl_file_shard_t *)log;
    pthread_mutex_lock(&s->mu);
    bounds_locked(s, out);
    pthread_mutex_unlock(&s->mu);
    return 0;
}
