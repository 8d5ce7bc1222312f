/* Recovery and index rebuilds of the segment-file engine (overview in file.c; the rules are in
 * docs/storage-format.md, "Recovery rules"): scanning a segment's frames; loading a shard log's
 * segments when it opens, trusting an index only when it agrees with its segment, truncating at
 * the first bad record and logging exactly what was cut; and rebuilding an index that a reader or
 * the commit thread found disagreeing with its segment, skipping damaged records inside
 * committed data. */
#include "core/common.h"
#include "core/limits.h"
#include "core/log.h"
#include "storage/file_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
    uint64_t end_off; /* offset after the last valid frame */
    uint64_t end_seq; /* seq after the last valid frame */
    int64_t first_arrival, last_arrival;
    uint64_t last_point_off;
    uint64_t npoints;       /* entries valid before the scan + entries added */
    sl_buf_t entries;       /* encoded POINT entries added by the scan */
    sl_frame_status_t stop; /* why the scan stopped (OK = end of file) */
    bool seq_mismatch;      /* stopped at a frame whose seq or time broke the sequence */
} scan_t;

/* Scans frames of fd from `off` (expecting seq `seq`, arrival >= prev_arrival) up to file_size,
 * adding index entries per the sparse-index rule. */
static int scan_frames(sl_file_engine_t *e, int fd, uint64_t off, uint64_t seq,
                       int64_t prev_arrival, uint64_t file_size, scan_t *sc) {
    size_t cap = 1u << 20;
    uint8_t *buf = malloc(cap);
    if (!buf) return SL_ENOMEM;
    sc->stop = SL_FRAME_OK;
    sc->seq_mismatch = false;
    while (off < file_size) {
        size_t want = (size_t)SL_MIN((uint64_t)cap, file_size - off);
        ssize_t got = sl_file_pread_full(&e->ops, fd, buf, want, off);
        if (got < 0) {
            free(buf);
            return (int)got;
        }
        size_t pos = 0;
        bool need_more = false;
        while (pos < (size_t)got) {
            sl_frame_t f;
            sl_frame_status_t st = sl_frame_decode(buf + pos, (size_t)got - pos, &f);
            if ((st == SL_FRAME_TORN_BODY || st == SL_FRAME_TORN_HEADER) &&
                off + (size_t)got < file_size) {
                /* The frame continues beyond this chunk: read again from its start. */
                if (st == SL_FRAME_TORN_BODY && f.frame_len > cap) {
                    uint8_t *nb = realloc(buf, f.frame_len);
                    if (!nb) {
                        free(buf);
                        return SL_ENOMEM;
                    }
                    buf = nb;
                    cap = f.frame_len;
                }
                need_more = true;
                break;
            }
            if (st != SL_FRAME_OK) {
                sc->stop = st;
                goto done;
            }
            if (f.seq != seq || (sc->npoints > 0 && f.arrival_ms < prev_arrival)) {
                sc->stop = SL_FRAME_BAD_HEADER;
                sc->seq_mismatch = true;
                goto done;
            }
            uint64_t foff = off + pos;
            if (sc->npoints == 0) sc->first_arrival = f.arrival_ms;
            if (sc->npoints == 0 || foff >= sc->last_point_off + SL_STORAGE_INDEX_INTERVAL_BYTES) {
                uint8_t ent[SL_IDX_ENTRY_BYTES];
                sl_idx_entry_t ie = {
                    .seq = f.seq, .offset = foff, .arrival_ms = f.arrival_ms, .kind = SL_IDX_POINT};
                sl_idx_entry_encode(ent, &ie);
                sl_buf_append(&sc->entries, ent, sizeof ent);
                sc->npoints++;
                sc->last_point_off = foff;
            }
            prev_arrival = f.arrival_ms;
            sc->last_arrival = f.arrival_ms;
            seq++;
            pos += f.frame_len;
            sc->end_off = off + pos;
            sc->end_seq = seq;
        }
        off += pos;
        if (!need_more && pos == 0) break;
    }
done:
    free(buf);
    if (sl_buf_failed(&sc->entries)) return SL_ENOMEM;
    return 0;
}

/* After a scan stopped at `cut_off`, walks the damaged region as far as frame headers chain up
 * with the expected seqs, so the log can say exactly which records were cut. Returns the seq
 * after the last record header found (== first_lost when none). */
static uint64_t walk_cut_region(sl_file_engine_t *e, int fd, uint64_t off, uint64_t file_size,
                                uint64_t first_lost) {
    uint64_t seq = first_lost;
    for (int i = 0; i < 1000000 && off + SL_FRAME_HEADER_BYTES <= file_size; i++) {
        uint8_t h[SL_FRAME_HEADER_BYTES];
        if (sl_file_pread_full(&e->ops, fd, h, sizeof h, off) != (ssize_t)sizeof h) break;
        sl_frame_t f;
        sl_frame_status_t st = sl_frame_peek(h, sizeof h, &f);
        if ((st != SL_FRAME_OK && st != SL_FRAME_TORN_BODY) || f.seq != seq) break;
        seq++;
        off += f.frame_len;
    }
    return seq;
}

/* Writes a complete index (header, entries, optional seal) to a temporary file and renames it over
 * the segment's index. */
static int write_index_file(sl_file_shard_t *s, uint64_t base, const sl_buf_t *entries,
                            const sl_idx_entry_t *seal) {
    sl_file_engine_t *e = s->eng;
    char name[SL_SEG_NAME_BYTES + 8];
    snprintf(name, sizeof name, "%020" PRIu64 ".idx.tmp", base);
    char *tp = sl_file_path_join(s->dir, name), *ip = sl_file_seg_path(s, base, "idx");
    int rc = 0, fd = -1;
    if (!tp || !ip) {
        rc = SL_ENOMEM;
        goto out;
    }
    fd = e->ops.open(tp, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) {
        rc = sl_file_errno_code(errno);
        goto out;
    }
    uint8_t hdr[SL_IDX_HEADER_BYTES];
    sl_idx_header_encode(hdr, base, SL_STORAGE_INDEX_INTERVAL_BYTES);
    if ((rc = sl_file_pwrite_all(&e->ops, fd, hdr, sizeof hdr, 0))) goto out;
    if (entries->len &&
        (rc = sl_file_pwrite_all(&e->ops, fd, entries->data, entries->len, sizeof hdr)))
        goto out;
    if (seal) {
        uint8_t ent[SL_IDX_ENTRY_BYTES];
        sl_idx_entry_encode(ent, seal);
        if ((rc = sl_file_pwrite_all(&e->ops, fd, ent, sizeof ent, sizeof hdr + entries->len)))
            goto out;
    }
    if (e->ops.fdatasync(fd) != 0) {
        rc = sl_file_errno_code(errno);
        goto out;
    }
    if (e->ops.rename(tp, ip) != 0) {
        rc = sl_file_errno_code(errno);
        goto out;
    }
    rc = sl_file_fsync_dir(e, s->dir);
out:
    if (fd >= 0) e->ops.close(fd);
    if (rc && tp) e->ops.unlink(tp);
    free(tp);
    free(ip);
    return rc;
}

static void log_cut(sl_file_shard_t *s, uint64_t base, uint64_t cut_off, uint64_t file_size,
                    uint64_t first_lost, uint64_t lost_end, const char *why) {
    if (lost_end > first_lost)
        SL_WARN("storage: stream %s shard %s: recovery cut %" PRIu64 " bytes at offset %" PRIu64
                " of segment %020" PRIu64 ".log (%s): records with seq %" PRIu64 "..%" PRIu64
                " removed; the log now ends at seq %" PRIu64,
                s->stream_key, s->shard_key, file_size - cut_off, cut_off, base, why, first_lost,
                lost_end - 1, first_lost - 1);
    else
        SL_WARN("storage: stream %s shard %s: recovery cut %" PRIu64 " bytes at offset %" PRIu64
                " of segment %020" PRIu64 ".log (%s): no decodable record with seq %" PRIu64
                " or later was in them; the log now ends at seq %" PRIu64,
                s->stream_key, s->shard_key, file_size - cut_off, cut_off, base, why, first_lost,
                first_lost - 1);
}

/* Loads one segment: validates its header, trusts its index only when header, entries and (for a
 * sealed segment) the seal agree with the file, otherwise scans the segment, truncates it at the
 * first bad record (logging what was cut) and rebuilds the index. */
static int seg_recover(sl_file_shard_t *s, uint64_t base, bool active, sl_file_seg_t **out) {
    sl_file_engine_t *e = s->eng;
    int rc = 0, fd = -1, ifd = -1;
    uint8_t *ibuf = NULL;
    scan_t sc = {0};
    sl_buf_init(&sc.entries);
    sl_file_seg_t *g = sl_file_seg_new(base);
    char *lp = sl_file_seg_path(s, base, "log"), *ip = sl_file_seg_path(s, base, "idx");
    if (!g || !lp || !ip) {
        rc = SL_ENOMEM;
        goto out;
    }
    g->sealed = !active;
    fd = e->ops.open(lp, O_RDWR, 0);
    if (fd < 0) {
        rc = sl_file_errno_code(errno);
        goto out;
    }
    struct stat st;
    if (e->ops.fstat(fd, &st) != 0) {
        rc = sl_file_errno_code(errno);
        goto out;
    }
    uint64_t size = (uint64_t)st.st_size;

    uint8_t hdr[SL_SEG_HEADER_BYTES];
    uint64_t hbase = 0;
    ssize_t got = sl_file_pread_full(&e->ops, fd, hdr, sizeof hdr, 0);
    if (got < 0) {
        rc = (int)got;
        goto out;
    }
    if (got != (ssize_t)sizeof hdr || sl_seg_header_decode(hdr, &hbase) != 0 || hbase != base) {
        /* A torn or corrupt segment header: nothing in the file can be trusted. */
        uint64_t lost_end = size > SL_SEG_HEADER_BYTES
                                ? walk_cut_region(e, fd, SL_SEG_HEADER_BYTES, size, base)
                                : base;
        if (size > 0) log_cut(s, base, 0, size, base, lost_end, "segment header torn or corrupt");
        sl_seg_header_encode(hdr, base);
        if (e->ops.ftruncate(fd, 0) != 0 ||
            (rc = sl_file_pwrite_all(&e->ops, fd, hdr, sizeof hdr, 0)) != 0 ||
            e->ops.fdatasync(fd) != 0) {
            rc = rc ? rc : sl_file_errno_code(errno);
            goto out;
        }
        size = SL_SEG_HEADER_BYTES;
        sl_idx_entry_t seal = {.seq = base, .offset = size, .kind = SL_IDX_SEAL};
        if ((rc = write_index_file(s, base, &sc.entries, active ? NULL : &seal))) goto out;
        goto done_empty;
    }

    /* Try the index. */
    uint64_t nvalid = 0;
    bool idx_ok = false;
    ifd = e->ops.open(ip, O_RDONLY, 0);
    struct stat ist;
    if (ifd >= 0 && e->ops.fstat(ifd, &ist) == 0 && (uint64_t)ist.st_size >= SL_IDX_HEADER_BYTES) {
        uint64_t isize = (uint64_t)ist.st_size;
        uint8_t ih[SL_IDX_HEADER_BYTES];
        uint64_t ibase;
        uint32_t interval;
        if (sl_file_pread_full(&e->ops, ifd, ih, sizeof ih, 0) == (ssize_t)sizeof ih &&
            sl_idx_header_decode(ih, &ibase, &interval) == 0 && ibase == base &&
            interval == SL_STORAGE_INDEX_INTERVAL_BYTES) {
            uint64_t n = (isize - SL_IDX_HEADER_BYTES) / SL_IDX_ENTRY_BYTES;
            if (!active) {
                /* Sealed: header, first entry and the seal must agree with the segment file. */
                uint8_t ent[SL_IDX_ENTRY_BYTES];
                sl_idx_entry_t seal, first;
                if ((isize - SL_IDX_HEADER_BYTES) % SL_IDX_ENTRY_BYTES == 0 && n >= 1 &&
                    sl_file_pread_full(&e->ops, ifd, ent, sizeof ent,
                                       SL_IDX_HEADER_BYTES + (n - 1) * SL_IDX_ENTRY_BYTES) ==
                        (ssize_t)sizeof ent &&
                    sl_idx_entry_decode(ent, &seal) == 0 && seal.kind == SL_IDX_SEAL &&
                    seal.offset == size && seal.seq >= base) {
                    if (n == 1) {
                        idx_ok = seal.seq == base && size == SL_SEG_HEADER_BYTES;
                    } else if (sl_file_pread_full(&e->ops, ifd, ent, sizeof ent,
                                                  SL_IDX_HEADER_BYTES) == (ssize_t)sizeof ent &&
                               sl_idx_entry_decode(ent, &first) == 0 &&
                               first.kind == SL_IDX_POINT && first.seq == base &&
                               first.offset == SL_SEG_HEADER_BYTES && seal.seq > base) {
                        idx_ok = true;
                        g->first_arrival = first.arrival_ms;
                    }
                    if (idx_ok) {
                        g->end_seq = seal.seq;
                        g->last_arrival = seal.arrival_ms;
                        g->size = size;
                        g->npoints = n - 1;
                        goto done;
                    }
                }
            } else {
                /* Active: accept the longest valid prefix of entries, then verify from the end. */
                size_t ilen = (size_t)(n * SL_IDX_ENTRY_BYTES);
                ibuf = malloc(ilen ? ilen : 1);
                if (!ibuf) {
                    rc = SL_ENOMEM;
                    goto out;
                }
                if (sl_file_pread_full(&e->ops, ifd, ibuf, ilen, SL_IDX_HEADER_BYTES) ==
                    (ssize_t)ilen) {
                    idx_ok = true;
                    sl_idx_entry_t prev = {0};
                    for (uint64_t i = 0; i < n; i++) {
                        sl_idx_entry_t ie;
                        if (sl_idx_entry_decode(ibuf + i * SL_IDX_ENTRY_BYTES, &ie) != 0 ||
                            ie.kind != SL_IDX_POINT)
                            break;
                        if (i == 0 && (ie.seq != base || ie.offset != SL_SEG_HEADER_BYTES)) break;
                        if (i > 0 && (ie.seq <= prev.seq || ie.offset <= prev.offset ||
                                      ie.arrival_ms < prev.arrival_ms))
                            break;
                        if (ie.offset + SL_FRAME_HEADER_BYTES > size) break;
                        prev = ie;
                        nvalid = i + 1;
                    }
                }
            }
        }
    }

    /* Scan: from the last index entry whose frame verifies (active), or from the header. */
    uint64_t start_off = SL_SEG_HEADER_BYTES, start_seq = base;
    int64_t start_arrival = 0;
    bool rebuild = true;
    if (active && idx_ok) {
        for (int tries = 0; nvalid > 0 && tries < 16; tries++) {
            sl_idx_entry_t ie;
            (void)sl_idx_entry_decode(ibuf + (nvalid - 1) * SL_IDX_ENTRY_BYTES, &ie);
            uint8_t fh[SL_FRAME_HEADER_BYTES];
            sl_frame_t f;
            bool ok = false;
            if (sl_file_pread_full(&e->ops, fd, fh, sizeof fh, ie.offset) == (ssize_t)sizeof fh &&
                sl_frame_peek(fh, sizeof fh, &f) != SL_FRAME_BAD_HEADER && f.seq == ie.seq &&
                f.arrival_ms == ie.arrival_ms && ie.offset + f.frame_len <= size) {
                uint8_t *fb = malloc(f.frame_len);
                if (!fb) {
                    rc = SL_ENOMEM;
                    goto out;
                }
                ok = sl_file_pread_full(&e->ops, fd, fb, f.frame_len, ie.offset) ==
                         (ssize_t)f.frame_len &&
                     sl_frame_decode(fb, f.frame_len, &f) == SL_FRAME_OK;
                free(fb);
            }
            if (ok) break;
            nvalid--;
        }
        if (nvalid > 0) {
            sl_idx_entry_t first, last;
            (void)sl_idx_entry_decode(ibuf, &first);
            (void)sl_idx_entry_decode(ibuf + (nvalid - 1) * SL_IDX_ENTRY_BYTES, &last);
            start_off = last.offset;
            start_seq = last.seq;
            start_arrival = last.arrival_ms;
            sc.npoints = nvalid;
            sc.last_point_off = last.offset;
            sc.first_arrival = first.arrival_ms;
            rebuild = false;
        }
    }
    sc.end_off = start_off;
    sc.end_seq = start_seq;
    sc.last_arrival = start_arrival;
    /* When starting from a verified entry, the scan does not index its frame again: the rule adds
     * entries only at >= last_point_off + interval, and that frame is at last_point_off. */
    if ((rc = scan_frames(e, fd, start_off, start_seq, start_arrival, size, &sc))) goto out;
    if (sc.end_off < size) {
        uint64_t lost_end = walk_cut_region(e, fd, sc.end_off, size, sc.end_seq);
        const char *why = sc.seq_mismatch ? "record out of sequence" : sl_frame_status_str(sc.stop);
        log_cut(s, base, sc.end_off, size, sc.end_seq, lost_end, why);
        if (e->ops.ftruncate(fd, (off_t)sc.end_off) != 0 || e->ops.fdatasync(fd) != 0) {
            rc = sl_file_errno_code(errno);
            goto out;
        }
    }
    g->end_seq = sc.end_seq;
    g->size = sc.end_off;
    g->last_arrival = sc.last_arrival;
    g->first_arrival = sc.first_arrival;
    g->npoints = sc.npoints;
    if (rebuild || !active) {
        if (!active && idx_ok == false)
            SL_INFO("storage: stream %s shard %s: rebuilt the index of segment %020" PRIu64 ".log",
                    s->stream_key, s->shard_key, base);
        sl_idx_entry_t seal = {.seq = g->end_seq,
                               .offset = g->size,
                               .arrival_ms = g->last_arrival,
                               .kind = SL_IDX_SEAL};
        if ((rc = write_index_file(s, base, &sc.entries, active ? NULL : &seal))) {
            /* The index is only an accelerator, and a start must not need free space: readers scan
             * instead, and the index is rebuilt later (sealed: by a reader; active: by the commit
             * thread before its next write). */
            SL_WARN("storage: stream %s shard %s: cannot write the index of segment %020" PRIu64
                    ".log (%s); "
                    "reads scan the segment until it is rebuilt",
                    s->stream_key, s->shard_key, base, sl_strerror(rc));
            g->index_bad = true;
            g->npoints = 0;
            rc = 0;
        }
    } else {
        /* Active with a usable index: drop entries past the verified one, append the scanned ones.
         */
        if (ifd >= 0) e->ops.close(ifd);
        ifd = e->ops.open(ip, O_RDWR, 0);
        if (ifd < 0) {
            rc = sl_file_errno_code(errno);
            goto out;
        }
        uint64_t keep = SL_IDX_HEADER_BYTES + nvalid * SL_IDX_ENTRY_BYTES;
        if (e->ops.ftruncate(ifd, (off_t)keep) != 0) {
            rc = sl_file_errno_code(errno);
            goto out;
        }
        if (sc.entries.len &&
            (rc = sl_file_pwrite_all(&e->ops, ifd, sc.entries.data, sc.entries.len, keep))) {
            /* No space for them now: they stay pending, like the entries of data not yet durable,
             * and the commit thread writes them with its next index write. */
            (void)e->ops.ftruncate(ifd, (off_t)keep);
            g->npoints = nvalid;
            sl_buf_append(&s->writer.idx, sc.entries.data, sc.entries.len);
            if (sl_buf_failed(&s->writer.idx)) {
                rc = SL_ENOMEM;
                goto out;
            }
            rc = 0;
        }
    }
    goto done;
done_empty:
    g->end_seq = base;
    g->size = SL_SEG_HEADER_BYTES;
    g->npoints = 0;
done:
    *out = g;
    g = NULL;
out:
    if (fd >= 0) e->ops.close(fd);
    if (ifd >= 0) e->ops.close(ifd);
    free(ibuf);
    free(lp);
    free(ip);
    free(g);
    sl_buf_free(&sc.entries);
    return rc;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int sl_file_shard_recover(sl_file_shard_t *s) {
    sl_file_engine_t *e = s->eng;
    DIR *d = opendir(s->dir);
    if (!d && errno != ENOENT) return SL_EIO;
    bool dir_exists = d != NULL;
    uint64_t *bases = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    struct dirent *de;
    while (d && (de = readdir(d))) {
        uint64_t b;
        size_t len = strlen(de->d_name);
        if (len > 4 && strcmp(de->d_name + len - 4, ".tmp") == 0) {
            char *p = sl_file_path_join(s->dir, de->d_name);
            if (p) e->ops.unlink(p);
            free(p);
            continue;
        }
        if (!sl_seg_name_parse(de->d_name, "log", &b)) continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            uint64_t *nb = realloc(bases, cap * sizeof *nb);
            if (!nb) {
                rc = SL_ENOMEM;
                break;
            }
            bases = nb;
        }
        bases[n++] = b;
    }
    if (d) closedir(d);
    if (rc) goto out;
    if (n) qsort(bases, n, sizeof *bases, cmp_u64);
    /* Index files without a segment are leftovers of an interrupted deletion. */
    d = dir_exists ? opendir(s->dir) : NULL;
    if (d) {
        while ((de = readdir(d))) {
            uint64_t b;
            if (!sl_seg_name_parse(de->d_name, "idx", &b)) continue;
            if (n && bsearch(&b, bases, n, sizeof *bases, cmp_u64)) continue;
            char *p = sl_file_path_join(s->dir, de->d_name);
            if (p) e->ops.unlink(p);
            free(p);
        }
        closedir(d);
    }
    if (n == 0) {
        /* A new shard (or one whose creation never completed): nothing is created until the
         * first append; the commit thread then creates the directory and the first segment. */
        sl_file_seg_t *g = sl_file_seg_new(1);
        if (!g || sl_file_segs_push(s, g)) {
            free(g);
            rc = SL_ENOMEM;
            goto out;
        }
    }
    s->on_disk = n > 0;
    for (size_t i = 0; i < n; i++) {
        sl_file_seg_t *g = NULL;
        if ((rc = seg_recover(s, bases[i], i + 1 == n, &g))) goto out;
        if (sl_file_segs_push(s, g)) {
            free(g);
            rc = SL_ENOMEM;
            goto out;
        }
        if (i > 0) {
            sl_file_seg_t *p = s->segs[i - 1];
            if (p->end_seq < g->base_seq)
                SL_WARN("storage: stream %s shard %s: records with seq %" PRIu64 "..%" PRIu64
                        " are missing between segments (a damaged or missing segment, or seqs "
                        "skipped after a loss: see "
                        "docs/storage-format.md); reads skip them",
                        s->stream_key, s->shard_key, p->end_seq, g->base_seq - 1);
            else if (p->end_seq > g->base_seq)
                SL_ERROR("storage: stream %s shard %s: segment %020" PRIu64
                         ".log overlaps its predecessor up to seq %" PRIu64
                         "; the newer segment wins",
                         s->stream_key, s->shard_key, g->base_seq, p->end_seq - 1);
        }
    }
    sl_file_seg_t *a = s->segs[s->nseg - 1];
    s->next_seq = a->end_seq;
    s->writer.size = a->size;
    s->writer.end_seq = a->end_seq;
    s->writer.npoints_disk = a->npoints;
    s->writer.npoints =
        a->npoints +
        s->writer.idx.len / SL_IDX_ENTRY_BYTES; /* entries seg_recover could not write */
    s->writer.last_arrival = a->end_seq > a->base_seq ? a->last_arrival : 0;
    /* Arrival times stay non-decreasing across segments too. */
    for (size_t i = s->nseg; i-- > 0;) {
        if (s->segs[i]->end_seq > s->segs[i]->base_seq) {
            s->writer.last_arrival = s->segs[i]->last_arrival;
            break;
        }
    }
    s->writer.first_arrival = a->first_arrival;
    s->writer.last_point_off = 0;
    if (a->npoints > 0) {
        /* Find the offset of the last index entry for the sparse-index rule. */
        pthread_mutex_lock(&s->mu);
        rc = sl_file_seg_open_fds_locked(s, a);
        pthread_mutex_unlock(&s->mu);
        if (rc) goto out;
        uint8_t ent[SL_IDX_ENTRY_BYTES];
        sl_idx_entry_t ie;
        if (sl_file_pread_full(&e->ops, a->idx_fd, ent, sizeof ent,
                               SL_IDX_HEADER_BYTES + (a->npoints - 1) * SL_IDX_ENTRY_BYTES) ==
                (ssize_t)sizeof ent &&
            sl_idx_entry_decode(ent, &ie) == 0)
            s->writer.last_point_off = ie.offset;
        pthread_mutex_lock(&s->mu);
        sl_file_seg_close_fds(e, a);
        pthread_mutex_unlock(&s->mu);
    }
    if (s->writer.idx.len) {
        sl_idx_entry_t ie;
        if (sl_idx_entry_decode((const uint8_t *)s->writer.idx.data + s->writer.idx.len -
                                    SL_IDX_ENTRY_BYTES,
                                &ie) == 0)
            s->writer.last_point_off = ie.offset;
    }
out:
    free(bases);
    return rc;
}

/* Reads and checks the whole frame at off of segment g (descriptors open): true when it decodes,
 * its seq is in [seq_min, seq_end) and its arrival time is at least arrival_min. */
static bool frame_valid_at(sl_file_shard_t *s, sl_file_seg_t *g, uint64_t off, uint64_t size,
                           uint64_t seq_min, uint64_t seq_end, int64_t arrival_min,
                           sl_frame_t *out) {
    uint8_t h[SL_FRAME_HEADER_BYTES];
    if (off + SL_FRAME_HEADER_BYTES > size ||
        sl_file_seg_read(s, g, h, sizeof h, off) != (ssize_t)sizeof h)
        return false;
    sl_frame_t f;
    sl_frame_status_t st = sl_frame_peek(h, sizeof h, &f);
    if ((st != SL_FRAME_OK && st != SL_FRAME_TORN_BODY) || f.seq < seq_min || f.seq >= seq_end ||
        f.arrival_ms < arrival_min || off + f.frame_len > size)
        return false;
    uint8_t *fb = malloc(f.frame_len);
    if (!fb) return false;
    bool ok = sl_file_seg_read(s, g, fb, f.frame_len, off) == (ssize_t)f.frame_len &&
              sl_frame_decode(fb, f.frame_len, &f) == SL_FRAME_OK;
    free(fb);
    if (ok && out) *out = f;
    return ok;
}

/* Damage inside committed data of segment g (media damage, not a torn tail: recovery cut those)
 * at bad_off, where the record with seq `expect` should start. Finds where intact records resume:
 * the first offset after bad_off where a valid frame with a later seq starts (a byte-wise search),
 * searched no further than the first index entry (of the first npoints, when the index is trusted)
 * after bad_off whose frame verifies, so that only the damaged records are skipped and the search
 * costs at most one index interval where the index covers the segment. The record found goes to
 * seq_out and off_out, or end and size when none. */
void sl_file_find_resume(sl_file_shard_t *s, sl_file_seg_t *g, uint64_t npoints, bool use_index,
                         uint64_t bad_off, uint64_t expect, int64_t arrival_min, uint64_t size,
                         uint64_t end, uint64_t *seq_out, uint64_t *off_out) {
    *seq_out = end;
    *off_out = size;
    sl_idx_entry_t ie;
    long ipos;
    if (use_index && npoints > 0 &&
        sl_file_index_search(s, g, npoints, false, expect, 0, &ie, &ipos) == 0) {
        for (uint64_t i = (uint64_t)(ipos + 1); i < npoints; i++) {
            if (sl_file_index_entry_at(s, g, i, &ie) != 0 || ie.seq <= expect ||
                ie.offset <= bad_off || ie.offset >= size)
                break;
            if (frame_valid_at(s, g, ie.offset, size, ie.seq, ie.seq + 1, arrival_min, NULL)) {
                *seq_out = ie.seq;
                *off_out = ie.offset;
                break;
            }
        }
    }
    uint64_t limit = *off_out; /* search no further than the verified entry */
    size_t cap = 1u << 20;
    uint8_t *buf = malloc(cap);
    if (!buf) return;
    for (uint64_t off = bad_off + 1; off < limit && off + SL_FRAME_HEADER_BYTES <= size;) {
        size_t want = (size_t)SL_MIN((uint64_t)cap, size - off);
        if (sl_file_seg_read(s, g, buf, want, off) != (ssize_t)want) break;
        size_t p = 0;
        for (; p + SL_FRAME_HEADER_BYTES <= want && off + p < limit; p++) {
            sl_frame_t f;
            sl_frame_status_t st = sl_frame_peek(buf + p, want - p, &f);
            if ((st != SL_FRAME_OK && st != SL_FRAME_TORN_BODY) || f.seq <= expect || f.seq >= end)
                continue;
            if (frame_valid_at(s, g, off + p, size, expect + 1, end, arrival_min, &f)) {
                *seq_out = f.seq;
                *off_out = off + p;
                free(buf);
                return;
            }
        }
        if (p == 0) break;
        off += p;
    }
    free(buf);
}

/* Scans the frames of segment g from its start to `size` to rebuild its index; damage inside
 * committed data is skipped (sl_file_find_resume, logged with the seq range), every record after
 * it gets an entry of its own. */
static int rebuild_scan(sl_file_shard_t *s, sl_file_seg_t *g, uint64_t size, uint64_t end,
                        scan_t *sc) {
    sl_file_engine_t *e = s->eng;
    sc->end_off = SL_SEG_HEADER_BYTES;
    sc->end_seq = g->base_seq;
    int rc = scan_frames(e, g->fd, SL_SEG_HEADER_BYTES, g->base_seq, 0, size, sc);
    for (int skips = 0; !rc && sc->end_off < size && skips < 64; skips++) {
        uint64_t rs, ro;
        sl_file_find_resume(s, g, 0, false, sc->end_off, sc->end_seq,
                            sc->npoints ? sc->last_arrival : INT64_MIN, size, end, &rs, &ro);
        SL_ERROR("storage: stream %s shard %s: segment %020" PRIu64 ".log: %s at offset %" PRIu64
                 "; records with seq %" PRIu64 "..%" PRIu64 " are unreadable and skipped",
                 s->stream_key, s->shard_key, g->base_seq,
                 sc->seq_mismatch ? "record out of sequence" : sl_frame_status_str(sc->stop),
                 sc->end_off, sc->end_seq, rs - 1);
        if (ro >= size) {
            sc->end_off = size;
            sc->end_seq = end;
            break;
        }
        sl_frame_t f;
        if (!frame_valid_at(s, g, ro, size, rs, rs + 1, INT64_MIN, &f)) return SL_ECORRUPT;
        uint8_t ent[SL_IDX_ENTRY_BYTES];
        sl_idx_entry_t ie = {
            .seq = rs, .offset = ro, .arrival_ms = f.arrival_ms, .kind = SL_IDX_POINT};
        sl_idx_entry_encode(ent, &ie);
        sl_buf_append(&sc->entries, ent, sizeof ent);
        if (sc->npoints == 0) sc->first_arrival = f.arrival_ms;
        sc->npoints++;
        sc->last_point_off = ro;
        sc->last_arrival = f.arrival_ms;
        sc->end_off = ro;
        sc->end_seq = rs;
        /* The scan does not index the frame at last_point_off again. */
        rc = scan_frames(e, g->fd, ro, rs, f.arrival_ms, size, sc);
    }
    if (!rc && sl_buf_failed(&sc->entries)) rc = SL_ENOMEM;
    return rc;
}

/* Rewrites the active segment's index from its frames (after a reader found it disagreeing). */
int sl_file_rebuild_active_index(sl_file_shard_t *s, sl_file_seg_t *a) {
    sl_file_engine_t *e = s->eng;
    scan_t sc = {0};
    sl_buf_init(&sc.entries);
    /* The new index covers everything written, so make it durable first. */
    int rc = e->ops.fdatasync(a->fd) == 0 ? 0 : sl_file_errno_code(errno);
    if (!rc) rc = rebuild_scan(s, a, s->writer.size, s->writer.end_seq, &sc);
    if (!rc && (sc.end_off != s->writer.size || sc.end_seq != s->writer.end_seq)) rc = SL_ECORRUPT;
    if (!rc) rc = write_index_file(s, a->base_seq, &sc.entries, NULL);
    if (!rc) {
        /* Put the new index file under the same descriptor number, so that a reader that is
         * using the old one meanwhile reads a valid file. */
        char *ip = sl_file_seg_path(s, a->base_seq, "idx");
        int nfd = ip ? e->ops.open(ip, O_RDWR, 0) : -1;
        free(ip);
        pthread_mutex_lock(&s->mu);
        if (nfd < 0) {
            rc = SL_EIO;
        } else if (dup2(nfd, a->idx_fd) < 0) {
            rc = SL_EIO;
        }
        if (nfd >= 0) e->ops.close(nfd);
        if (!rc) {
            a->npoints = sc.npoints;
            a->index_bad = false;
        }
        pthread_mutex_unlock(&s->mu);
        s->writer.npoints = sc.npoints;
        s->writer.npoints_disk = sc.npoints;
        sl_buf_reset(&s->writer.idx);
        s->writer.last_point_off = sc.last_point_off;
        SL_INFO("storage: stream %s shard %s: rebuilt the index of segment %020" PRIu64 ".log",
                s->stream_key, s->shard_key, a->base_seq);
    }
    sl_buf_free(&sc.entries);
    return rc;
}

/* Rebuilds a sealed segment's index after a reader found it disagreeing (one reader at a time). */
void sl_file_rebuild_sealed_index(sl_file_shard_t *s, sl_file_seg_t *g) {
    sl_file_engine_t *e = s->eng;
    pthread_mutex_lock(&s->mu);
    bool go = g->sealed && g->index_bad && !g->rebuilding;
    if (go) g->rebuilding = true;
    uint64_t size = g->size, end = g->end_seq;
    pthread_mutex_unlock(&s->mu);
    if (!go) return;
    scan_t sc = {0};
    sl_buf_init(&sc.entries);
    int rc = rebuild_scan(s, g, size, end, &sc);
    if (!rc && (sc.end_off != size || sc.end_seq != end)) rc = SL_ECORRUPT;
    sl_idx_entry_t seal = {
        .seq = end, .offset = size, .arrival_ms = sc.last_arrival, .kind = SL_IDX_SEAL};
    if (!rc) rc = write_index_file(s, g->base_seq, &sc.entries, &seal);
    char *ip = rc ? NULL : sl_file_seg_path(s, g->base_seq, "idx");
    int nfd = ip ? e->ops.open(ip, O_RDONLY, 0) : -1;
    free(ip);
    pthread_mutex_lock(&s->mu);
    if (nfd >= 0 && dup2(nfd, g->idx_fd) >= 0) {
        g->npoints = sc.npoints;
        g->index_bad = false;
        SL_INFO("storage: stream %s shard %s: rebuilt the index of segment %020" PRIu64 ".log",
                s->stream_key, s->shard_key, g->base_seq);
    }
    g->rebuilding = false;
    pthread_mutex_unlock(&s->mu);
    if (nfd >= 0) e->ops.close(nfd);
    sl_buf_free(&sc.entries);
}
