/* The segment-file storage engine (backend.h; format in docs/storage-format.md).
 *
 * Layout: <data_dir>/streams/<stream_key>/<shard_key>/<base seq, 20 digits>.log with a sparse
 * index <base seq>.idx beside each segment. The last segment of a shard is the active one; the
 * others are sealed (their index ends with a SEAL entry giving the segment's length). Opening a
 * shard that has no files creates nothing: the commit thread creates the directories and the
 * first segment of every new shard of a round together, with one group of directory syncs,
 * before writing their first records (create_new_shards), so CreateStream with thousands of
 * shards costs no disk I/O.
 *
 * Appends copy their records, framed, into the shard's pending buffer and return. One commit
 * thread takes the pending buffers of every shard with work and assigns sequence numbers. With
 * durability=sync, small shares of a round go to the shared commit journal (one pwrite and one
 * fdatasync for the whole round, however many shards it touches) and stay in the shard's tail
 * until they are written to the segment without a sync; large shares are written to their
 * segment and fdatasync'd, in parallel with the journal's sync (group commit). Checkpoints (one
 * syncfs, on their own thread) free the journal; the journal is replayed when the engine opens.
 * Otherwise each shard's frames are written with one pwrite. A failed write or sync fails the
 * appends of that round for that shard, truncates their bytes away and leaves the engine usable.
 *
 * Threads and ownership:
 *  - file_engine_t is owned by the caller of sl_storage_open_file until sl_storage_close.
 *  - file_shard_t is owned by the engine's registry from shard_open to shard_close.
 *  - seg_t is reference counted: the shard's segment list holds one reference, readers and the
 *    commit thread take one while they use its file descriptors (which may be closed only while
 *    nobody else holds a reference).
 *  - Fields marked (mu) are guarded by the shard mutex; fields marked (writer) belong to the
 *    commit thread alone.
 * Lock order: engine registry mutex -> shard mutex -> engine queue mutex. No lock is held during
 * file I/O except the short open() of a lazily opened file descriptor. */
#include "core/buf.h"
#include "core/common.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/time.h"
#include "storage/format.h"
#include "storage/internal.h"
#include "storage/journal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct file_engine file_engine_t;
typedef struct file_shard file_shard_t;

typedef struct {
    uint64_t base_seq;
    uint64_t end_seq;        /* (mu) seq after the last committed record; == base_seq when empty */
    int64_t first_arrival;   /* (mu) valid when not empty */
    int64_t last_arrival;    /* (mu) */
    uint64_t size;           /* (mu) committed bytes, header included */
    uint64_t npoints;        /* (mu) committed POINT entries in the index file */
    bool sealed;             /* (mu) */
    bool index_bad;          /* (mu) the index disagreed with the segment: readers scan instead */
    bool rebuilding;         /* (mu) a reader is rebuilding this sealed segment's index */
    int fd, idx_fd;          /* (mu) -1 while closed; opened lazily */
    int refs;                /* (mu) */
} seg_t;

typedef struct {
    sl_append_cb cb;
    void *arg;
    size_t n;
    size_t bytes;
    uint64_t first_seq;      /* (writer) assigned at commit */
    int64_t arrival_ms;      /* (writer) arrival time assigned to the first record at commit */
} op_t;

struct file_shard {
    sl_shard_log_t base;
    file_engine_t *eng;
    char *dir, *stream_key, *shard_key;
    size_t stream_key_len, shard_key_len;
    pthread_mutex_t mu;
    pthread_cond_t cond;      /* signalled when a commit round for this shard ends */
    seg_t **segs;             /* (mu) sorted by base_seq; the last is active */
    size_t nseg, capseg;
    uint64_t next_seq;        /* (mu) committed tip */
    /* pending appends (mu): framed records and their ops, taken by the next commit round */
    struct {
        sl_buf_t buf;
        op_t *ops;
        size_t n, cap;
    } pending;
    bool in_dirty, in_batch, closing, roll_requested;
    bool unsynced;            /* (mu) durability=interval: written since the last flush */
    /* (writer; set at open) the shard's directory and first segment exist and are durable. A
     * shard opened for the first time creates nothing on disk: the commit thread creates its
     * files in the first round that has appends for it (shard_create_files). Until then the
     * shard is an empty in-memory log whose only segment (base 1) has no descriptors. */
    bool on_disk;
    /* (registry mutex) opened by the journal's replay, which left restored records in its tail:
     * the engine keeps it open until file_shard_open hands it out (or the stream is deleted). */
    bool held;
    int64_t last_use_ms;      /* (mu) monotonic */
    file_shard_t *dirty_next;
    /* (registry mutex) links of the registry's list and bucket chain of its hash table */
    struct {
        file_shard_t *next, *prev;
        file_shard_t *hash_next;
    } registry;
    /* sequential-read hint (mu): the frame at hint.off of segment hint.base has seq hint.seq */
    struct {
        uint64_t base, seq, off;
    } hint;
    /* writer state (writer): the round's frames (buf) and ops, and the active segment as the
     * commit thread sees it. npoints counts index entries of the active segment, written or not;
     * entries are written to the index file (npoints_disk of them so far) only once the data they
     * point to is durable, so that recovery may trust everything before the last entry it
     * verifies. idx holds the entries not written yet. */
    struct {
        sl_buf_t buf, idx;
        op_t *ops;
        size_t nops, capops;
        uint64_t size, end_seq, npoints, npoints_disk, last_point_off;
        int64_t last_arrival, first_arrival; /* first_arrival: of the active segment's first record */
        bool needs_truncate;
        /* (set before the first append, then writer) the next record's seq must be at least
         * this (sl_storage_shard_set_floor): the next round seals the active segment and starts
         * the new one here. 0 = none. */
        uint64_t floor;
    } writer;
    /* the current round (writer) */
    struct {
        /* inputs: roll requested, result of opening the active segment's descriptors, and
         * whether this round creates the shard's files */
        bool roll, create;
        int open_rc;
        /* result */
        size_t ok_ops;        /* ops [0, ok_ops) are durable in sealed segments or fully written */
        size_t region_op;     /* first op of the unsynced region */
        int status;
        bool region;          /* a region was written to the active segment and awaits sync */
        uint64_t size0, end0, npoints0, last_point0;
        size_t idx_len0;
        int64_t arrival0;
        seg_t *seg;           /* active segment referenced during the round */
        bool jnl;             /* this round's frames are made durable by the journal */
        uint64_t lsn;         /* journal lsn of this round's entry */
    } round;
    /* Frames committed through the journal but not yet written to the active segment file: bytes
     * [tail.off, tail.off + tail.buf.len) of the active segment (mu). Readers copy them from here;
     * the commit thread writes them out when enough gathered, before any direct write or roll,
     * at checkpoints and when the shard closes. */
    struct {
        sl_buf_t buf;
        uint64_t off;
        /* journal lsn of the entry that started the tail (writer) */
        uint64_t lsn;
        /* Tail queue (engine tails.mu): shards with a non-empty tail, oldest tail first. */
        file_shard_t *next, *prev;
        bool queued;
    } tail;
    /* (writer) index entries [0, checkpoint.npoints) of the segment with base checkpoint.base
     * point at data the running checkpoint makes durable; written to the index file when it
     * completes. */
    struct {
        uint64_t npoints, base;
    } checkpoint;
};

typedef struct {
    int fd;
    int rc;
    bool dir;                 /* a directory: fsync instead of fdatasync */
} sync_job_t;

struct file_engine {
    sl_storage_t base;
    sl_file_ops_t ops;
    char *root;               /* <data_dir>/streams */
    size_t segment_bytes;
    /* open shards */
    struct {
        pthread_mutex_t mu;
        file_shard_t *head;
        file_shard_t **hash;  /* (registry.mu) open shards by (stream key, shard key), chained */
        size_t hash_cap, count;
    } registry;
    /* segment and index descriptors */
    struct {
        int max;              /* descriptor budget of segment/index files (see engine_fd_budget) */
        atomic_int open;      /* segment and index descriptors held in seg_t */
    } fds;
    /* shards with pending appends, for the commit thread (lock order: shard -> dirty.mu) */
    struct {
        pthread_mutex_t mu;
        pthread_cond_t cond;
        file_shard_t *head, *tail;
    } dirty;
    bool stop;
    pthread_t commit_thread;
    atomic_size_t pending_bytes;
    /* a failed write or sync: new appends fail with code until until_ms (monotonic) */
    struct {
        atomic_int code;
        atomic_llong until_ms;
    } fail;
    /* fdatasync pool */
    struct {
        pthread_mutex_t mu;
        pthread_cond_t work, done;
        pthread_t threads[SL_STORAGE_SYNC_THREADS - 1];
        int nthreads;
        sync_job_t *jobs;
        size_t n, next, finished;
        uint64_t gen;
        bool stop;
    } sync;
    /* commit-thread scratch */
    struct {
        file_shard_t **batch;
        size_t batch_cap;
        sync_job_t *jobs;
        size_t jobs_cap;
        sync_job_t *djobs;    /* directory syncs of the shards created in the current chunk */
        size_t ndjobs, djobs_cap;
    } scratch;
    /* Shared commit journal (durability=sync; docs/storage-format.md). The commit thread owns the
     * write position; the checkpoint thread makes segment writes durable and records up to where
     * the journal is no longer needed. */
    struct {
        bool on;              /* (writer) rounds may go through the journal */
        int fd;               /* -1 without a journal */
        char *path;
        uint64_t cap;         /* bytes of the ring after SL_JNL_DATA_OFF */
        uint64_t write_lsn;   /* (writer) lsn of the next entry */
        uint64_t oldest_lsn;  /* (writer) oldest lsn still needed (the last checkpoint's) */
        uint64_t alloc;       /* (writer) bytes of the journal file written so far */
        sl_buf_t buf;         /* (writer) the round's entries */
    } journal;
    struct {
        int64_t next_ms;      /* (writer) next time-driven checkpoint */
        pthread_t thread;
        bool started;
        pthread_mutex_t mu;
        pthread_cond_t cond;
        int state;            /* (checkpoint.mu) CK_IDLE, CK_RUNNING, CK_DONE, CK_FAILED */
        uint64_t lsn;         /* (checkpoint.mu) lsn the running checkpoint records */
        uint64_t gen;         /* (checkpoint thread) generation of the last slot written */
        bool stop;            /* (checkpoint.mu) */
        /* A shard closed with journaled records it could not write to its segment: the journal
         * must keep them until the next start replays them, so no checkpoint may advance any
         * more. */
        atomic_bool blocked;
    } checkpoint;
    /* shards with a non-empty tail, oldest tail first (the tail queue) */
    struct {
        pthread_mutex_t mu;   /* guards the tail queue links (a leaf lock) */
        /* Journaled records could not be written to their segments because the disk is full (at
         * a start, or when a tail was due): appends are refused with that code (SL_ENOSPC,
         * SL_EROFS), without touching the journal, until the commit thread manages to write
         * every tail (it retries every SL_STORAGE_FAILED_RETRY_MS). Reads are served meanwhile. */
        atomic_int stuck;     /* 0, or the SL_E* code appends get */
        file_shard_t *head, *tail;
    } tails;
};

enum { CK_IDLE, CK_RUNNING, CK_DONE, CK_FAILED };

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

/* ---------------------------------------------------------------------------------------------
 * Small helpers */

/* The SL_E* code of a failed file call: a full disk and a read-only file system are told apart
 * from other I/O errors (the API answers them with their own messages), and running out of
 * descriptors is back-pressure (SL_EAGAIN: the client is asked to retry), not an I/O error. */
static int errno_code(int err) {
    switch (err) {
    case ENOSPC:
    case EDQUOT: return SL_ENOSPC;
    case EROFS: return SL_EROFS;
    case EMFILE:
    case ENFILE: return SL_EAGAIN;
    default: return SL_EIO;
    }
}

static int pwrite_all(const sl_file_ops_t *ops, int fd, const void *buf, size_t len, uint64_t off) {
    const uint8_t *p = buf;
    while (len > 0) {
        ssize_t w = ops->pwrite(fd, p, len, (off_t)off);
        if (w < 0) {
            if (errno == EINTR) continue;
            return errno_code(errno);
        }
        if (w == 0) return SL_EIO;
        p += w;
        len -= (size_t)w;
        off += (uint64_t)w;
    }
    return 0;
}

/* Reads up to len bytes; returns bytes read (short only at end of file) or a negative code. */
static ssize_t pread_full(const sl_file_ops_t *ops, int fd, void *buf, size_t len, uint64_t off) {
    uint8_t *p = buf;
    size_t got = 0;
    while (got < len) {
        ssize_t r = ops->pread(fd, p + got, len - got, (off_t)(off + got));
        if (r < 0) {
            if (errno == EINTR) continue;
            return SL_EIO;
        }
        if (r == 0) break;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

static char *path_join(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    char *p = malloc(la + lb + 2);
    if (!p) return NULL;
    memcpy(p, a, la);
    p[la] = '/';
    memcpy(p + la + 1, b, lb + 1);
    return p;
}

static char *seg_path(const file_shard_t *s, uint64_t base, const char *ext) {
    char name[SL_SEG_NAME_BYTES];
    sl_seg_name(name, base, ext);
    return path_join(s->dir, name);
}

static int fsync_dir(file_engine_t *e, const char *dir) {
    int fd = e->ops.open(dir, O_RDONLY | O_DIRECTORY, 0);
    if (fd < 0) return errno_code(errno);
    int rc = e->ops.fsync(fd) == 0 ? 0 : errno_code(errno);
    e->ops.close(fd);
    return rc;
}

static void engine_set_failed(file_engine_t *e, int code) {
    atomic_store(&e->fail.code, code);
    atomic_store(&e->fail.until_ms, (long long)(sl_time_mono_ms() + SL_STORAGE_FAILED_RETRY_MS));
}

/* ---------------------------------------------------------------------------------------------
 * Segments */

static seg_t *seg_new(uint64_t base) {
    seg_t *g = calloc(1, sizeof *g);
    if (!g) return NULL;
    g->base_seq = base;
    g->end_seq = base;
    g->size = SL_SEG_HEADER_BYTES;
    g->fd = g->idx_fd = -1;
    g->refs = 1;
    return g;
}

static void seg_close_fds(file_engine_t *e, seg_t *g) {
    if (g->fd >= 0) { e->ops.close(g->fd); atomic_fetch_sub(&e->fds.open, 1); }
    if (g->idx_fd >= 0) { e->ops.close(g->idx_fd); atomic_fetch_sub(&e->fds.open, 1); }
    g->fd = g->idx_fd = -1;
}

/* A reader is done with segment g of shard s (mu held, reference dropped): when the engine holds
 * more descriptors than its budget, g's are closed at once if nobody else uses them (they are
 * reopened on demand), so that readers of many shards do not run the process out of descriptors
 * between two sweeps of the commit thread. */
static void seg_reader_release_locked(file_shard_t *s, seg_t *g) {
    file_engine_t *e = s->eng;
    if (atomic_load(&e->fds.open) > e->fds.max && g->refs == 1 && !s->closing && !s->in_batch)
        seg_close_fds(e, g);
}

/* Drops a reference; mu held (or the shard is private to the caller). */
static void seg_unref_locked(file_engine_t *e, seg_t *g) {
    SL_ASSERT(g->refs > 0);
    if (--g->refs == 0) {
        seg_close_fds(e, g);
        free(g);
    }
}

static void seg_unref(file_shard_t *s, seg_t *g) {
    pthread_mutex_lock(&s->mu);
    bool last = g->refs == 1;
    seg_unref_locked(s->eng, g);
    if (!last) seg_reader_release_locked(s, g);
    pthread_mutex_unlock(&s->mu);
}

/* Opens the segment's file descriptors if closed; mu held. Active segments open read-write. */
static int seg_open_fds_locked(file_shard_t *s, seg_t *g) {
    file_engine_t *e = s->eng;
    int flags = g->sealed ? O_RDONLY : O_RDWR;
    if (g->fd < 0) {
        char *p = seg_path(s, g->base_seq, "log");
        if (!p) return SL_ENOMEM;
        g->fd = e->ops.open(p, flags, 0);
        int err = errno;
        free(p);
        if (g->fd < 0) return err == ENOENT ? SL_ENOTFOUND : errno_code(err);
        atomic_fetch_add(&e->fds.open, 1);
    }
    if (g->idx_fd < 0) {
        char *p = seg_path(s, g->base_seq, "idx");
        if (!p) return SL_ENOMEM;
        g->idx_fd = e->ops.open(p, flags, 0);
        int err = errno;
        free(p);
        if (g->idx_fd < 0) return errno_code(err);
        atomic_fetch_add(&e->fds.open, 1);
    }
    return 0;
}

static int segs_push(file_shard_t *s, seg_t *g) {
    if (s->nseg == s->capseg) {
        size_t cap = s->capseg ? s->capseg * 2 : 4;
        seg_t **p = realloc(s->segs, cap * sizeof *p);
        if (!p) return SL_ENOMEM;
        s->segs = p;
        s->capseg = cap;
    }
    s->segs[s->nseg++] = g;
    return 0;
}

/* Index of the last segment with base_seq <= seq, or -1; mu held. */
static long seg_find_locked(const file_shard_t *s, uint64_t seq) {
    size_t lo = 0, hi = s->nseg;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->segs[mid]->base_seq <= seq) lo = mid + 1; else hi = mid;
    }
    return (long)lo - 1;
}

/* Creates an empty segment file and its index. With `durable` the segment header is fdatasync'd
 * and the directory fsync'd before returning; without, the caller makes them durable (the first
 * segment of a new shard: see shard_create_files). */
static int seg_create_files(file_shard_t *s, uint64_t base, bool durable, int *fd_out, int *idx_out) {
    file_engine_t *e = s->eng;
    int rc = 0, fd = -1, ifd = -1;
    char *lp = seg_path(s, base, "log"), *ip = seg_path(s, base, "idx");
    if (!lp || !ip) { rc = SL_ENOMEM; goto fail; }
    uint8_t hdr[SL_SEG_HEADER_BYTES], ihdr[SL_IDX_HEADER_BYTES];
    sl_seg_header_encode(hdr, base);
    sl_idx_header_encode(ihdr, base, SL_STORAGE_INDEX_INTERVAL_BYTES);
    fd = e->ops.open(lp, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) { rc = errno_code(errno); goto fail; }
    if ((rc = pwrite_all(&e->ops, fd, hdr, sizeof hdr, 0))) goto fail;
    if (durable && e->ops.fdatasync(fd) != 0) { rc = errno_code(errno); goto fail; }
    ifd = e->ops.open(ip, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (ifd < 0) { rc = errno_code(errno); goto fail; }
    if ((rc = pwrite_all(&e->ops, ifd, ihdr, sizeof ihdr, 0))) goto fail;
    if (durable && (rc = fsync_dir(e, s->dir))) goto fail;
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

/* ---------------------------------------------------------------------------------------------
 * Scanning a segment (recovery, index rebuild) */

typedef struct {
    uint64_t end_off;         /* offset after the last valid frame */
    uint64_t end_seq;         /* seq after the last valid frame */
    int64_t first_arrival, last_arrival;
    uint64_t last_point_off;
    uint64_t npoints;         /* entries valid before the scan + entries added */
    sl_buf_t entries;         /* encoded POINT entries added by the scan */
    sl_frame_status_t stop;   /* why the scan stopped (OK = end of file) */
    bool seq_mismatch;        /* stopped at a frame whose seq or time broke the sequence */
} scan_t;

/* Scans frames of fd from `off` (expecting seq `seq`, arrival >= prev_arrival) up to file_size,
 * adding index entries per the sparse-index rule. */
static int scan_frames(file_engine_t *e, int fd, uint64_t off, uint64_t seq, int64_t prev_arrival, uint64_t file_size,
                       scan_t *sc) {
    size_t cap = 1u << 20;
    uint8_t *buf = malloc(cap);
    if (!buf) return SL_ENOMEM;
    sc->stop = SL_FRAME_OK;
    sc->seq_mismatch = false;
    while (off < file_size) {
        size_t want = (size_t)SL_MIN((uint64_t)cap, file_size - off);
        ssize_t got = pread_full(&e->ops, fd, buf, want, off);
        if (got < 0) { free(buf); return (int)got; }
        size_t pos = 0;
        bool need_more = false;
        while (pos < (size_t)got) {
            sl_frame_t f;
            sl_frame_status_t st = sl_frame_decode(buf + pos, (size_t)got - pos, &f);
            if ((st == SL_FRAME_TORN_BODY || st == SL_FRAME_TORN_HEADER) && off + (size_t)got < file_size) {
                /* The frame continues beyond this chunk: read again from its start. */
                if (st == SL_FRAME_TORN_BODY && f.frame_len > cap) {
                    uint8_t *nb = realloc(buf, f.frame_len);
                    if (!nb) { free(buf); return SL_ENOMEM; }
                    buf = nb;
                    cap = f.frame_len;
                }
                need_more = true;
                break;
            }
            if (st != SL_FRAME_OK) { sc->stop = st; goto done; }
            if (f.seq != seq || (sc->npoints > 0 && f.arrival_ms < prev_arrival)) {
                sc->stop = SL_FRAME_BAD_HEADER;
                sc->seq_mismatch = true;
                goto done;
            }
            uint64_t foff = off + pos;
            if (sc->npoints == 0) sc->first_arrival = f.arrival_ms;
            if (sc->npoints == 0 || foff >= sc->last_point_off + SL_STORAGE_INDEX_INTERVAL_BYTES) {
                uint8_t ent[SL_IDX_ENTRY_BYTES];
                sl_idx_entry_t ie = {.seq = f.seq, .offset = foff, .arrival_ms = f.arrival_ms, .kind = SL_IDX_POINT};
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
static uint64_t walk_cut_region(file_engine_t *e, int fd, uint64_t off, uint64_t file_size, uint64_t first_lost) {
    uint64_t seq = first_lost;
    for (int i = 0; i < 1000000 && off + SL_FRAME_HEADER_BYTES <= file_size; i++) {
        uint8_t h[SL_FRAME_HEADER_BYTES];
        if (pread_full(&e->ops, fd, h, sizeof h, off) != (ssize_t)sizeof h) break;
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
static int write_index_file(file_shard_t *s, uint64_t base, const sl_buf_t *entries, const sl_idx_entry_t *seal) {
    file_engine_t *e = s->eng;
    char name[SL_SEG_NAME_BYTES + 8];
    snprintf(name, sizeof name, "%020" PRIu64 ".idx.tmp", base);
    char *tp = path_join(s->dir, name), *ip = seg_path(s, base, "idx");
    int rc = 0, fd = -1;
    if (!tp || !ip) { rc = SL_ENOMEM; goto out; }
    fd = e->ops.open(tp, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) { rc = errno_code(errno); goto out; }
    uint8_t hdr[SL_IDX_HEADER_BYTES];
    sl_idx_header_encode(hdr, base, SL_STORAGE_INDEX_INTERVAL_BYTES);
    if ((rc = pwrite_all(&e->ops, fd, hdr, sizeof hdr, 0))) goto out;
    if (entries->len && (rc = pwrite_all(&e->ops, fd, entries->data, entries->len, sizeof hdr))) goto out;
    if (seal) {
        uint8_t ent[SL_IDX_ENTRY_BYTES];
        sl_idx_entry_encode(ent, seal);
        if ((rc = pwrite_all(&e->ops, fd, ent, sizeof ent, sizeof hdr + entries->len))) goto out;
    }
    if (e->ops.fdatasync(fd) != 0) { rc = errno_code(errno); goto out; }
    if (e->ops.rename(tp, ip) != 0) { rc = errno_code(errno); goto out; }
    rc = fsync_dir(e, s->dir);
out:
    if (fd >= 0) e->ops.close(fd);
    if (rc && tp) e->ops.unlink(tp);
    free(tp);
    free(ip);
    return rc;
}

static void log_cut(file_shard_t *s, uint64_t base, uint64_t cut_off, uint64_t file_size, uint64_t first_lost,
                    uint64_t lost_end, const char *why) {
    if (lost_end > first_lost)
        SL_WARN("storage: stream %s shard %s: recovery cut %" PRIu64 " bytes at offset %" PRIu64
                " of segment %020" PRIu64 ".log (%s): records with seq %" PRIu64 "..%" PRIu64
                " removed; the log now ends at seq %" PRIu64,
                s->stream_key, s->shard_key, file_size - cut_off, cut_off, base, why, first_lost, lost_end - 1,
                first_lost - 1);
    else
        SL_WARN("storage: stream %s shard %s: recovery cut %" PRIu64 " bytes at offset %" PRIu64
                " of segment %020" PRIu64 ".log (%s): no decodable record with seq %" PRIu64
                " or later was in them; the log now ends at seq %" PRIu64,
                s->stream_key, s->shard_key, file_size - cut_off, cut_off, base, why, first_lost, first_lost - 1);
}

/* Loads one segment: validates its header, trusts its index only when header, entries and (for a
 * sealed segment) the seal agree with the file, otherwise scans the segment, truncates it at the
 * first bad record (logging what was cut) and rebuilds the index. */
static int seg_recover(file_shard_t *s, uint64_t base, bool active, seg_t **out) {
    file_engine_t *e = s->eng;
    int rc = 0, fd = -1, ifd = -1;
    uint8_t *ibuf = NULL;
    scan_t sc = {0};
    sl_buf_init(&sc.entries);
    seg_t *g = seg_new(base);
    char *lp = seg_path(s, base, "log"), *ip = seg_path(s, base, "idx");
    if (!g || !lp || !ip) { rc = SL_ENOMEM; goto out; }
    g->sealed = !active;
    fd = e->ops.open(lp, O_RDWR, 0);
    if (fd < 0) { rc = errno_code(errno); goto out; }
    struct stat st;
    if (e->ops.fstat(fd, &st) != 0) { rc = errno_code(errno); goto out; }
    uint64_t size = (uint64_t)st.st_size;

    uint8_t hdr[SL_SEG_HEADER_BYTES];
    uint64_t hbase = 0;
    ssize_t got = pread_full(&e->ops, fd, hdr, sizeof hdr, 0);
    if (got < 0) { rc = (int)got; goto out; }
    if (got != (ssize_t)sizeof hdr || sl_seg_header_decode(hdr, &hbase) != 0 || hbase != base) {
        /* A torn or corrupt segment header: nothing in the file can be trusted. */
        uint64_t lost_end = size > SL_SEG_HEADER_BYTES ? walk_cut_region(e, fd, SL_SEG_HEADER_BYTES, size, base) : base;
        if (size > 0) log_cut(s, base, 0, size, base, lost_end, "segment header torn or corrupt");
        sl_seg_header_encode(hdr, base);
        if (e->ops.ftruncate(fd, 0) != 0 || (rc = pwrite_all(&e->ops, fd, hdr, sizeof hdr, 0)) != 0 ||
            e->ops.fdatasync(fd) != 0) {
            rc = rc ? rc : errno_code(errno);
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
        if (pread_full(&e->ops, ifd, ih, sizeof ih, 0) == (ssize_t)sizeof ih && sl_idx_header_decode(ih, &ibase, &interval) == 0 &&
            ibase == base && interval == SL_STORAGE_INDEX_INTERVAL_BYTES) {
            uint64_t n = (isize - SL_IDX_HEADER_BYTES) / SL_IDX_ENTRY_BYTES;
            if (!active) {
                /* Sealed: header, first entry and the seal must agree with the segment file. */
                uint8_t ent[SL_IDX_ENTRY_BYTES];
                sl_idx_entry_t seal, first;
                if ((isize - SL_IDX_HEADER_BYTES) % SL_IDX_ENTRY_BYTES == 0 && n >= 1 &&
                    pread_full(&e->ops, ifd, ent, sizeof ent, SL_IDX_HEADER_BYTES + (n - 1) * SL_IDX_ENTRY_BYTES) ==
                        (ssize_t)sizeof ent &&
                    sl_idx_entry_decode(ent, &seal) == 0 && seal.kind == SL_IDX_SEAL && seal.offset == size &&
                    seal.seq >= base) {
                    if (n == 1) {
                        idx_ok = seal.seq == base && size == SL_SEG_HEADER_BYTES;
                    } else if (pread_full(&e->ops, ifd, ent, sizeof ent, SL_IDX_HEADER_BYTES) == (ssize_t)sizeof ent &&
                               sl_idx_entry_decode(ent, &first) == 0 && first.kind == SL_IDX_POINT && first.seq == base &&
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
                if (!ibuf) { rc = SL_ENOMEM; goto out; }
                if (pread_full(&e->ops, ifd, ibuf, ilen, SL_IDX_HEADER_BYTES) == (ssize_t)ilen) {
                    idx_ok = true;
                    sl_idx_entry_t prev = {0};
                    for (uint64_t i = 0; i < n; i++) {
                        sl_idx_entry_t ie;
                        if (sl_idx_entry_decode(ibuf + i * SL_IDX_ENTRY_BYTES, &ie) != 0 || ie.kind != SL_IDX_POINT) break;
                        if (i == 0 && (ie.seq != base || ie.offset != SL_SEG_HEADER_BYTES)) break;
                        if (i > 0 && (ie.seq <= prev.seq || ie.offset <= prev.offset || ie.arrival_ms < prev.arrival_ms))
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
            if (pread_full(&e->ops, fd, fh, sizeof fh, ie.offset) == (ssize_t)sizeof fh &&
                sl_frame_peek(fh, sizeof fh, &f) != SL_FRAME_BAD_HEADER && f.seq == ie.seq && f.arrival_ms == ie.arrival_ms &&
                ie.offset + f.frame_len <= size) {
                uint8_t *fb = malloc(f.frame_len);
                if (!fb) { rc = SL_ENOMEM; goto out; }
                ok = pread_full(&e->ops, fd, fb, f.frame_len, ie.offset) == (ssize_t)f.frame_len &&
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
        if (e->ops.ftruncate(fd, (off_t)sc.end_off) != 0 || e->ops.fdatasync(fd) != 0) { rc = errno_code(errno); goto out; }
    }
    g->end_seq = sc.end_seq;
    g->size = sc.end_off;
    g->last_arrival = sc.last_arrival;
    g->first_arrival = sc.first_arrival;
    g->npoints = sc.npoints;
    if (rebuild || !active) {
        if (!active && idx_ok == false)
            SL_INFO("storage: stream %s shard %s: rebuilt the index of segment %020" PRIu64 ".log", s->stream_key,
                    s->shard_key, base);
        sl_idx_entry_t seal = {.seq = g->end_seq, .offset = g->size, .arrival_ms = g->last_arrival, .kind = SL_IDX_SEAL};
        if ((rc = write_index_file(s, base, &sc.entries, active ? NULL : &seal))) {
            /* The index is only an accelerator, and a start must not need free space: readers scan
             * instead, and the index is rebuilt later (sealed: by a reader; active: by the commit
             * thread before its next write). */
            SL_WARN("storage: stream %s shard %s: cannot write the index of segment %020" PRIu64 ".log (%s); "
                    "reads scan the segment until it is rebuilt", s->stream_key, s->shard_key, base, sl_strerror(rc));
            g->index_bad = true;
            g->npoints = 0;
            rc = 0;
        }
    } else {
        /* Active with a usable index: drop entries past the verified one, append the scanned ones. */
        if (ifd >= 0) e->ops.close(ifd);
        ifd = e->ops.open(ip, O_RDWR, 0);
        if (ifd < 0) { rc = errno_code(errno); goto out; }
        uint64_t keep = SL_IDX_HEADER_BYTES + nvalid * SL_IDX_ENTRY_BYTES;
        if (e->ops.ftruncate(ifd, (off_t)keep) != 0) { rc = errno_code(errno); goto out; }
        if (sc.entries.len && (rc = pwrite_all(&e->ops, ifd, sc.entries.data, sc.entries.len, keep))) {
            /* No space for them now: they stay pending, like the entries of data not yet durable,
             * and the commit thread writes them with its next index write. */
            (void)e->ops.ftruncate(ifd, (off_t)keep);
            g->npoints = nvalid;
            sl_buf_append(&s->writer.idx, sc.entries.data, sc.entries.len);
            if (sl_buf_failed(&s->writer.idx)) { rc = SL_ENOMEM; goto out; }
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

/* Index of the last POINT entry of g (among its first n) whose key is <= the target: by seq when
 * by_time is false, by arrival < ts when true. -1 when none. Reads the index file with pread. */
static int index_search(file_shard_t *s, seg_t *g, uint64_t n, bool by_time, uint64_t seq, int64_t ts,
                        sl_idx_entry_t *out, long *pos_out) {
    long lo = 0, hi = (long)n - 1, best = -1;
    sl_idx_entry_t bestent = {0};
    while (lo <= hi) {
        long mid = lo + (hi - lo) / 2;
        uint8_t ent[SL_IDX_ENTRY_BYTES];
        sl_idx_entry_t ie;
        if (pread_full(&s->eng->ops, g->idx_fd, ent, sizeof ent,
                       SL_IDX_HEADER_BYTES + (uint64_t)mid * SL_IDX_ENTRY_BYTES) != (ssize_t)sizeof ent ||
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

static int flush_pending_index(file_shard_t *s, seg_t *g);

/* Reads POINT entry i of g's index file. */
static int index_entry_at(file_shard_t *s, seg_t *g, uint64_t i, sl_idx_entry_t *out) {
    uint8_t ent[SL_IDX_ENTRY_BYTES];
    if (pread_full(&s->eng->ops, g->idx_fd, ent, sizeof ent, SL_IDX_HEADER_BYTES + i * SL_IDX_ENTRY_BYTES) !=
            (ssize_t)sizeof ent ||
        sl_idx_entry_decode(ent, out) != 0 || out->kind != SL_IDX_POINT)
        return SL_ECORRUPT;
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Shard open / close */

static void shard_free(file_shard_t *s) {
    file_engine_t *e = s->eng;
    for (size_t i = 0; i < s->nseg; i++) seg_unref_locked(e, s->segs[i]);
    free(s->segs);
    sl_buf_free(&s->pending.buf);
    sl_buf_free(&s->writer.buf);
    sl_buf_free(&s->writer.idx);
    sl_buf_free(&s->tail.buf);
    free(s->pending.ops);
    free(s->writer.ops);
    free(s->dir);
    free(s->stream_key);
    free(s->shard_key);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cond);
    free(s);
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int shard_recover(file_shard_t *s) {
    file_engine_t *e = s->eng;
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
            char *p = path_join(s->dir, de->d_name);
            if (p) e->ops.unlink(p);
            free(p);
            continue;
        }
        if (!sl_seg_name_parse(de->d_name, "log", &b)) continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            uint64_t *nb = realloc(bases, cap * sizeof *nb);
            if (!nb) { rc = SL_ENOMEM; break; }
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
            char *p = path_join(s->dir, de->d_name);
            if (p) e->ops.unlink(p);
            free(p);
        }
        closedir(d);
    }
    if (n == 0) {
        /* A new shard (or one whose creation never completed): nothing is created until the
         * first append; the commit thread then creates the directory and the first segment. */
        seg_t *g = seg_new(1);
        if (!g || segs_push(s, g)) { free(g); rc = SL_ENOMEM; goto out; }
    }
    s->on_disk = n > 0;
    for (size_t i = 0; i < n; i++) {
        seg_t *g = NULL;
        if ((rc = seg_recover(s, bases[i], i + 1 == n, &g))) goto out;
        if (segs_push(s, g)) { free(g); rc = SL_ENOMEM; goto out; }
        if (i > 0) {
            seg_t *p = s->segs[i - 1];
            if (p->end_seq < g->base_seq)
                SL_WARN("storage: stream %s shard %s: records with seq %" PRIu64 "..%" PRIu64
                        " are missing between segments (a damaged or missing segment, or seqs skipped after a loss: see "
                        "docs/storage-format.md); reads skip them",
                        s->stream_key, s->shard_key, p->end_seq, g->base_seq - 1);
            else if (p->end_seq > g->base_seq)
                SL_ERROR("storage: stream %s shard %s: segment %020" PRIu64 ".log overlaps its predecessor up to seq %" PRIu64
                         "; the newer segment wins",
                         s->stream_key, s->shard_key, g->base_seq, p->end_seq - 1);
        }
    }
    seg_t *a = s->segs[s->nseg - 1];
    s->next_seq = a->end_seq;
    s->writer.size = a->size;
    s->writer.end_seq = a->end_seq;
    s->writer.npoints_disk = a->npoints;
    s->writer.npoints = a->npoints + s->writer.idx.len / SL_IDX_ENTRY_BYTES; /* entries seg_recover could not write */
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
        rc = seg_open_fds_locked(s, a);
        pthread_mutex_unlock(&s->mu);
        if (rc) goto out;
        uint8_t ent[SL_IDX_ENTRY_BYTES];
        sl_idx_entry_t ie;
        if (pread_full(&e->ops, a->idx_fd, ent, sizeof ent, SL_IDX_HEADER_BYTES + (a->npoints - 1) * SL_IDX_ENTRY_BYTES) ==
                (ssize_t)sizeof ent &&
            sl_idx_entry_decode(ent, &ie) == 0)
            s->writer.last_point_off = ie.offset;
        pthread_mutex_lock(&s->mu);
        seg_close_fds(e, a);
        pthread_mutex_unlock(&s->mu);
    }
    if (s->writer.idx.len) {
        sl_idx_entry_t ie;
        if (sl_idx_entry_decode((const uint8_t *)s->writer.idx.data + s->writer.idx.len - SL_IDX_ENTRY_BYTES, &ie) == 0)
            s->writer.last_point_off = ie.offset;
    }
out:
    free(bases);
    return rc;
}

/* FNV-1a over "stream_key/shard_key". */
static size_t registry_hash(const char *stream_key, const char *shard_key) {
    uint64_t h = 1469598103934665603ull;
    for (const char *p = stream_key; *p; p++) h = (h ^ (uint8_t)*p) * 1099511628211ull;
    h = (h ^ '/') * 1099511628211ull;
    for (const char *p = shard_key; *p; p++) h = (h ^ (uint8_t)*p) * 1099511628211ull;
    return (size_t)(h ^ (h >> 29));
}

static file_shard_t *registry_find_locked(file_engine_t *e, const char *stream_key, const char *shard_key) {
    if (e->registry.hash_cap == 0) return NULL;
    size_t b = registry_hash(stream_key, shard_key) & (e->registry.hash_cap - 1);
    for (file_shard_t *s = e->registry.hash[b]; s; s = s->registry.hash_next)
        if (strcmp(s->stream_key, stream_key) == 0 && strcmp(s->shard_key, shard_key) == 0) return s;
    return NULL;
}

/* Adds s to the registry list and hash table (grown to keep chains short); registry.mu held. */
static int registry_add_locked(file_engine_t *e, file_shard_t *s) {
    if (e->registry.count + 1 > e->registry.hash_cap / 2) {
        size_t cap = e->registry.hash_cap ? e->registry.hash_cap * 2 : 256;
        file_shard_t **t = calloc(cap, sizeof *t);
        if (!t) return SL_ENOMEM;
        for (size_t i = 0; i < e->registry.hash_cap; i++) {
            while (e->registry.hash[i]) {
                file_shard_t *x = e->registry.hash[i];
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

static void registry_remove_locked(file_engine_t *e, file_shard_t *s) {
    size_t b = registry_hash(s->stream_key, s->shard_key) & (e->registry.hash_cap - 1);
    for (file_shard_t **pp = &e->registry.hash[b]; *pp; pp = &(*pp)->registry.hash_next) {
        if (*pp == s) {
            *pp = s->registry.hash_next;
            break;
        }
    }
    e->registry.count--;
    if (s->registry.prev) s->registry.prev->registry.next = s->registry.next; else e->registry.head = s->registry.next;
    if (s->registry.next) s->registry.next->registry.prev = s->registry.prev;
}

static int file_shard_open(sl_storage_t *st, const char *stream_key, const char *shard_key, void *user,
                           sl_shard_log_t **out) {
    file_engine_t *e = (file_engine_t *)st;
    int rc = 0;
    pthread_mutex_lock(&e->registry.mu);
    file_shard_t *s = registry_find_locked(e, stream_key, shard_key);
    if (s && s->held) {
        /* Opened at start by the journal's replay, with restored records in its tail. */
        s->held = false;
        s->base.user = user;
        pthread_mutex_unlock(&e->registry.mu);
        *out = &s->base;
        return 0;
    }
    if (s) { pthread_mutex_unlock(&e->registry.mu); return SL_EEXIST; }
    s = calloc(1, sizeof *s);
    if (!s) { pthread_mutex_unlock(&e->registry.mu); return SL_ENOMEM; }
    s->eng = e;
    s->base.st = st;
    s->base.user = user;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cond, NULL);
    s->stream_key = strdup(stream_key);
    s->shard_key = strdup(shard_key);
    s->stream_key_len = strlen(stream_key);
    s->shard_key_len = strlen(shard_key);
    char *sd = path_join(e->root, stream_key);
    s->dir = sd ? path_join(sd, shard_key) : NULL;
    free(sd);
    if (!s->stream_key || !s->shard_key || !s->dir) { rc = SL_ENOMEM; goto fail; }
    if ((rc = shard_recover(s))) goto fail;
    s->last_use_ms = sl_time_mono_ms();
    if ((rc = registry_add_locked(e, s))) goto fail;
    pthread_mutex_unlock(&e->registry.mu);
    *out = &s->base;
    return 0;
fail:
    SL_ERROR("storage: stream %s shard %s: cannot open the shard log: %s", stream_key, shard_key, sl_strerror(rc));
    pthread_mutex_unlock(&e->registry.mu);
    shard_free(s);
    return rc;
}

/* See sl_storage_shard_set_floor. A log with nothing on disk just moves its empty segment; one
 * with files gets a new segment at the floor from the first commit round that writes to it (a
 * direct round: roll_requested keeps it out of the journal). */
static int file_set_floor(sl_shard_log_t *log, uint64_t floor_seq) {
    file_shard_t *s = (file_shard_t *)log;
    int rc = 0;
    pthread_mutex_lock(&s->mu);
    if (s->pending.n || s->in_dirty || s->in_batch || s->writer.end_seq != s->next_seq) {
        rc = SL_EINVAL; /* appends were already made */
    } else if (floor_seq > s->next_seq) {
        seg_t *a = s->segs[s->nseg - 1];
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

static int shard_flush_tail(file_shard_t *s, seg_t *a, bool release);
static void tq_remove(file_shard_t *s);

static void file_shard_close(sl_shard_log_t *log) {
    file_shard_t *s = (file_shard_t *)log;
    file_engine_t *e = s->eng;
    pthread_mutex_lock(&s->mu);
    s->closing = true;
    while (s->in_dirty || s->in_batch || s->pending.n > 0) pthread_cond_wait(&s->cond, &s->mu);
    pthread_mutex_unlock(&s->mu);
    /* The registry lock keeps the commit thread's flush and sweep away from this shard. */
    pthread_mutex_lock(&e->registry.mu);
    pthread_mutex_lock(&s->mu);
    seg_t *a = s->segs[s->nseg - 1];
    bool tail = s->tail.buf.len > 0;
    if ((s->unsynced || s->writer.idx.len || tail) && seg_open_fds_locked(s, a) == 0) {
        pthread_mutex_unlock(&s->mu);
        int trc = shard_flush_tail(s, a, true);
        pthread_mutex_lock(&s->mu);
        if (trc) {
            SL_ERROR("storage: stream %s shard %s: writing journaled records at close failed: %s; the journal "
                     "restores them at the next start", s->stream_key, s->shard_key, sl_strerror(trc));
            atomic_store(&e->checkpoint.blocked, true);
        }
        else if (e->ops.fdatasync(a->fd) != 0)
            SL_ERROR("storage: stream %s shard %s: fdatasync at close failed: %s", s->stream_key, s->shard_key,
                     strerror(errno));
        else
            (void)flush_pending_index(s, a);
    }
    pthread_mutex_unlock(&s->mu);
    /* Freed under the registry lock: an interval flush may still hold a segment reference,
     * which it drops under the same lock. */
    registry_remove_locked(e, s);
    tq_remove(s);
    shard_free(s);
    pthread_mutex_unlock(&e->registry.mu);
}

/* ---------------------------------------------------------------------------------------------
 * Appends */

static void enqueue_dirty_locked(file_shard_t *s) {
    /* s->mu held; takes the queue mutex (lock order shard -> queue). */
    if (s->in_dirty) return;
    s->in_dirty = true;
    file_engine_t *e = s->eng;
    pthread_mutex_lock(&e->dirty.mu);
    s->dirty_next = NULL;
    bool was_empty = e->dirty.head == NULL;
    if (e->dirty.tail) e->dirty.tail->dirty_next = s; else e->dirty.head = s;
    e->dirty.tail = s;
    /* The commit thread waits only while the queue is empty: wake it only then (a batch touching
     * hundreds of shards would otherwise signal it hundreds of times). */
    if (was_empty) pthread_cond_signal(&e->dirty.cond);
    pthread_mutex_unlock(&e->dirty.mu);
}

static int file_append(sl_shard_log_t *log, const sl_record_t *records, size_t n, sl_append_cb cb, void *arg) {
    file_shard_t *s = (file_shard_t *)log;
    file_engine_t *e = s->eng;
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++) {
        const sl_record_t *r = &records[i];
        size_t ehk = r->explicit_hash_key ? r->explicit_hash_key_len : 0;
        if (r->partition_key_len > SL_FRAME_KEY_BYTES_MAX || ehk > SL_FRAME_KEY_BYTES_MAX ||
            r->data_len > SL_KINESIS_RECORD_DATA_MAX || (r->data_len && !r->data) ||
            (r->partition_key_len && !r->partition_key))
            return SL_EINVAL;
        bytes += sl_frame_size(r->partition_key_len, ehk, r->data_len);
    }
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
    int rc = 0;
    pthread_mutex_lock(&s->mu);
    if (s->closing) { rc = SL_ECLOSED; goto out; }
    if (s->pending.n == s->pending.cap) {
        size_t cap = s->pending.cap ? s->pending.cap * 2 : 16;
        op_t *p = realloc(s->pending.ops, cap * sizeof *p);
        if (!p) { rc = SL_ENOMEM; goto out; }
        s->pending.ops = p;
        s->pending.cap = cap;
    }
    uint8_t *dst = (uint8_t *)sl_buf_reserve(&s->pending.buf, bytes);
    if (!dst) {
        s->pending.buf.failed = false;
        rc = SL_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        sl_record_t r = records[i];
        if (!r.explicit_hash_key) r.explicit_hash_key_len = 0;
        sl_frame_prepare(dst, &r);
        dst += sl_frame_size(r.partition_key_len, r.explicit_hash_key_len, r.data_len);
    }
    s->pending.buf.len += bytes;
    s->pending.ops[s->pending.n++] = (op_t){.cb = cb, .arg = arg, .n = n, .bytes = bytes};
    s->last_use_ms = sl_time_mono_ms();
    enqueue_dirty_locked(s);
out:
    pthread_mutex_unlock(&s->mu);
    if (rc) atomic_fetch_sub(&e->pending_bytes, bytes);
    return rc;
}

/* ---------------------------------------------------------------------------------------------
 * Commit thread */

/* Writes the pending index entries of the active segment g; call only once the data they point to
 * is durable. On failure they stay pending and are retried later. Writer state: the commit
 * thread, or a thread that holds the registry lock while the commit thread is not using s. */
static int flush_pending_index(file_shard_t *s, seg_t *g) {
    if (s->writer.idx.len == 0) return 0;
    int rc = pwrite_all(&s->eng->ops, g->idx_fd, s->writer.idx.data, s->writer.idx.len,
                        SL_IDX_HEADER_BYTES + s->writer.npoints_disk * SL_IDX_ENTRY_BYTES);
    if (rc) {
        SL_WARN("storage: stream %s shard %s: index write failed (%s); will retry", s->stream_key, s->shard_key,
                sl_strerror(rc));
        return rc;
    }
    s->writer.npoints_disk = s->writer.npoints;
    sl_buf_reset(&s->writer.idx);
    return 0;
}

/* The tail queue orders shards by the journal position their tail starts at, so that the oldest
 * tails can be written out first and a checkpoint may free the journal up to the oldest one. */
static void tq_push(file_shard_t *s) {
    file_engine_t *e = s->eng;
    pthread_mutex_lock(&e->tails.mu);
    if (!s->tail.queued) {
        s->tail.queued = true;
        s->tail.next = NULL;
        s->tail.prev = e->tails.tail;
        if (e->tails.tail) e->tails.tail->tail.next = s; else e->tails.head = s;
        e->tails.tail = s;
    }
    pthread_mutex_unlock(&e->tails.mu);
}

static void tq_remove(file_shard_t *s) {
    file_engine_t *e = s->eng;
    pthread_mutex_lock(&e->tails.mu);
    if (s->tail.queued) {
        if (s->tail.prev) s->tail.prev->tail.next = s->tail.next; else e->tails.head = s->tail.next;
        if (s->tail.next) s->tail.next->tail.prev = s->tail.prev; else e->tails.tail = s->tail.prev;
        s->tail.queued = false;
        s->tail.next = s->tail.prev = NULL;
    }
    pthread_mutex_unlock(&e->tails.mu);
}

/* Writes the shard's tail (frames committed through the journal, not yet in the file) to the
 * active segment a, whose descriptors are open; `release` frees the buffer afterwards. Writer
 * state, like flush_pending_index. The bytes stay readable from the tail until they are written. */
static int shard_flush_tail(file_shard_t *s, seg_t *a, bool release) {
    size_t len = s->tail.buf.len;
    if (len == 0) {
        if (release && s->tail.buf.data) {
            pthread_mutex_lock(&s->mu);
            sl_buf_free(&s->tail.buf);
            pthread_mutex_unlock(&s->mu);
        }
        return 0;
    }
    int rc = pwrite_all(&s->eng->ops, a->fd, s->tail.buf.data, len, s->tail.off);
    /* Start writing those pages back now, so that the next checkpoint's syncfs has little left
     * to do (it stalls the journal's fdatasync while it runs). Not a durability step. */
    if (!rc) (void)sync_file_range(a->fd, (off_t)s->tail.off, (off_t)len, SYNC_FILE_RANGE_WRITE);
    if (rc) {
        if (rc == SL_ENOSPC || rc == SL_EROFS) {
            if (!atomic_exchange(&s->eng->tails.stuck, rc))
                SL_ERROR("storage: stream %s shard %s: %s: journaled records cannot be written to their segments; "
                         "they are durable in the commit journal and readable; writes are refused until they can be "
                         "written", s->stream_key, s->shard_key, sl_strerror(rc));
            return rc;
        }
        SL_WARN("storage: stream %s shard %s: writing journaled records to the segment failed (%s); will retry",
                s->stream_key, s->shard_key, sl_strerror(rc));
        return rc;
    }
    pthread_mutex_lock(&s->mu);
    if (release) sl_buf_free(&s->tail.buf); else sl_buf_reset(&s->tail.buf);
    pthread_mutex_unlock(&s->mu);
    tq_remove(s);
    return 0;
}

/* Seals the active segment (its data made durable first) and starts a new one at writer.end_seq.
 * *durable tells whether the active segment's data was made durable before a failure. */
static int shard_roll(file_shard_t *s, bool *durable) {
    file_engine_t *e = s->eng;
    seg_t *old = s->round.seg;
    int rc;
    *durable = false;
    if (e->ops.fdatasync(old->fd) != 0) return errno_code(errno);
    *durable = true;
    if ((rc = flush_pending_index(s, old))) return rc;
    uint8_t ent[SL_IDX_ENTRY_BYTES];
    sl_idx_entry_t seal = {.seq = s->writer.end_seq, .offset = s->writer.size, .arrival_ms = s->writer.last_arrival, .kind = SL_IDX_SEAL};
    sl_idx_entry_encode(ent, &seal);
    uint64_t seal_off = SL_IDX_HEADER_BYTES + s->writer.npoints * SL_IDX_ENTRY_BYTES;
    if ((rc = pwrite_all(&e->ops, old->idx_fd, ent, sizeof ent, seal_off))) return rc;
    if (e->ops.fdatasync(old->idx_fd) != 0) { rc = errno_code(errno); goto unseal; }
    int fd, ifd;
    /* A seq floor (sl_storage_shard_set_floor) starts the new segment above a gap. */
    uint64_t next_base = s->writer.floor > s->writer.end_seq ? s->writer.floor : s->writer.end_seq;
    if ((rc = seg_create_files(s, next_base, true, &fd, &ifd))) goto unseal;
    seg_t *g = seg_new(next_base);
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
    if (segs_push(s, g)) {
        pthread_mutex_unlock(&s->mu);
        g->refs = 1;
        seg_unref_locked(e, g);
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
    if (old->refs == 2) seg_close_fds(e, old);
    seg_unref_locked(e, old);
    s->round.seg = g;
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

static void region_begin(file_shard_t *s, size_t op_index) {
    s->round.region_op = op_index;
    s->round.size0 = s->writer.size;
    s->round.end0 = s->writer.end_seq;
    s->round.npoints0 = s->writer.npoints;
    s->round.last_point0 = s->writer.last_point_off;
    s->round.arrival0 = s->writer.last_arrival;
    s->round.idx_len0 = s->writer.idx.len;
    s->round.region = false;
}

/* Undoes the current region: the writer state returns to the region's start and the bytes written
 * are truncated away (retried before the next write if truncation fails). */
static void region_rollback(file_shard_t *s) {
    file_engine_t *e = s->eng;
    s->writer.size = s->round.size0;
    s->writer.end_seq = s->round.end0;
    s->writer.npoints = s->round.npoints0;
    s->writer.last_point_off = s->round.last_point0;
    s->writer.last_arrival = s->round.arrival0;
    s->writer.idx.len = s->round.idx_len0;
    s->round.region = false;
    if (s->round.jnl) return; /* nothing was written to the segment file */
    seg_t *a = s->round.seg;
    if (a->fd < 0 || e->ops.ftruncate(a->fd, (off_t)s->writer.size) != 0) s->writer.needs_truncate = true;
}

static int region_write(file_shard_t *s, size_t buf_from, size_t buf_to) {
    file_engine_t *e = s->eng;
    seg_t *a = s->round.seg;
    int rc = 0;
    if (buf_to > buf_from) rc = pwrite_all(&e->ops, a->fd, s->writer.buf.data + buf_from, buf_to - buf_from, s->round.size0);
    return rc;
}

static ssize_t seg_read(file_shard_t *s, seg_t *g, uint8_t *buf, size_t len, uint64_t off);

/* Reads and checks the whole frame at off of segment g (descriptors open): true when it decodes,
 * its seq is in [seq_min, seq_end) and its arrival time is at least arrival_min. */
static bool frame_valid_at(file_shard_t *s, seg_t *g, uint64_t off, uint64_t size, uint64_t seq_min, uint64_t seq_end,
                           int64_t arrival_min, sl_frame_t *out) {
    uint8_t h[SL_FRAME_HEADER_BYTES];
    if (off + SL_FRAME_HEADER_BYTES > size || seg_read(s, g, h, sizeof h, off) != (ssize_t)sizeof h) return false;
    sl_frame_t f;
    sl_frame_status_t st = sl_frame_peek(h, sizeof h, &f);
    if ((st != SL_FRAME_OK && st != SL_FRAME_TORN_BODY) || f.seq < seq_min || f.seq >= seq_end ||
        f.arrival_ms < arrival_min || off + f.frame_len > size)
        return false;
    uint8_t *fb = malloc(f.frame_len);
    if (!fb) return false;
    bool ok = seg_read(s, g, fb, f.frame_len, off) == (ssize_t)f.frame_len && sl_frame_decode(fb, f.frame_len, &f) == SL_FRAME_OK;
    free(fb);
    if (ok && out) *out = f;
    return ok;
}

/* Damage inside committed data of segment g (media damage, not a torn tail: recovery cut those)
 * at bad_off, where the record with seq `expect` should start. Finds where intact records resume:
 * the first offset after bad_off where a valid frame with a later seq starts (a byte-wise search),
 * searched no further than the first index entry (of the first npoints, when the index is trusted)
 * after bad_off whose frame verifies, so that only the damaged records are skipped and the search
 * costs at most one index interval where the index covers the segment. The record found goes to seq_out and off_out, or end and size when none. */
static void find_resume(file_shard_t *s, seg_t *g, uint64_t npoints, bool use_index, uint64_t bad_off, uint64_t expect,
                        int64_t arrival_min, uint64_t size, uint64_t end, uint64_t *seq_out, uint64_t *off_out) {
    *seq_out = end;
    *off_out = size;
    sl_idx_entry_t ie;
    long ipos;
    if (use_index && npoints > 0 && index_search(s, g, npoints, false, expect, 0, &ie, &ipos) == 0) {
        for (uint64_t i = (uint64_t)(ipos + 1); i < npoints; i++) {
            if (index_entry_at(s, g, i, &ie) != 0 || ie.seq <= expect || ie.offset <= bad_off || ie.offset >= size) break;
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
        if (seg_read(s, g, buf, want, off) != (ssize_t)want) break;
        size_t p = 0;
        for (; p + SL_FRAME_HEADER_BYTES <= want && off + p < limit; p++) {
            sl_frame_t f;
            sl_frame_status_t st = sl_frame_peek(buf + p, want - p, &f);
            if ((st != SL_FRAME_OK && st != SL_FRAME_TORN_BODY) || f.seq <= expect || f.seq >= end) continue;
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
 * committed data is skipped (find_resume, logged with the seq range), every record after it gets
 * an entry of its own. */
static int rebuild_scan(file_shard_t *s, seg_t *g, uint64_t size, uint64_t end, scan_t *sc) {
    file_engine_t *e = s->eng;
    sc->end_off = SL_SEG_HEADER_BYTES;
    sc->end_seq = g->base_seq;
    int rc = scan_frames(e, g->fd, SL_SEG_HEADER_BYTES, g->base_seq, 0, size, sc);
    for (int skips = 0; !rc && sc->end_off < size && skips < 64; skips++) {
        uint64_t rs, ro;
        find_resume(s, g, 0, false, sc->end_off, sc->end_seq, sc->npoints ? sc->last_arrival : INT64_MIN, size, end, &rs,
                    &ro);
        SL_ERROR("storage: stream %s shard %s: segment %020" PRIu64 ".log: %s at offset %" PRIu64
                 "; records with seq %" PRIu64 "..%" PRIu64 " are unreadable and skipped",
                 s->stream_key, s->shard_key, g->base_seq,
                 sc->seq_mismatch ? "record out of sequence" : sl_frame_status_str(sc->stop), sc->end_off, sc->end_seq, rs - 1);
        if (ro >= size) {
            sc->end_off = size;
            sc->end_seq = end;
            break;
        }
        sl_frame_t f;
        if (!frame_valid_at(s, g, ro, size, rs, rs + 1, INT64_MIN, &f)) return SL_ECORRUPT;
        uint8_t ent[SL_IDX_ENTRY_BYTES];
        sl_idx_entry_t ie = {.seq = rs, .offset = ro, .arrival_ms = f.arrival_ms, .kind = SL_IDX_POINT};
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
static int rebuild_active_index(file_shard_t *s) {
    file_engine_t *e = s->eng;
    seg_t *a = s->round.seg;
    scan_t sc = {0};
    sl_buf_init(&sc.entries);
    /* The new index covers everything written, so make it durable first. */
    int rc = e->ops.fdatasync(a->fd) == 0 ? 0 : errno_code(errno);
    if (!rc) rc = rebuild_scan(s, a, s->writer.size, s->writer.end_seq, &sc);
    if (!rc && (sc.end_off != s->writer.size || sc.end_seq != s->writer.end_seq)) rc = SL_ECORRUPT;
    if (!rc) rc = write_index_file(s, a->base_seq, &sc.entries, NULL);
    if (!rc) {
        /* Put the new index file under the same descriptor number, so that a reader that is
         * using the old one meanwhile reads a valid file. */
        char *ip = seg_path(s, a->base_seq, "idx");
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
        SL_INFO("storage: stream %s shard %s: rebuilt the index of segment %020" PRIu64 ".log", s->stream_key,
                s->shard_key, a->base_seq);
    }
    sl_buf_free(&sc.entries);
    return rc;
}

/* Writes one shard's share of a commit round: frames get their seqs, full segments roll. */
static void shard_write_round(file_shard_t *s, bool roll_requested, int open_rc) {
    file_engine_t *e = s->eng;
    s->round.ok_ops = 0;
    s->round.status = 0;
    region_begin(s, 0);
    int rc = open_rc;
    /* A direct write follows the frames committed through the journal, so those go first. */
    if (!rc && !s->round.jnl && s->tail.buf.len) rc = shard_flush_tail(s, s->round.seg, false);
    if (!rc && s->writer.needs_truncate) {
        seg_t *a = s->round.seg;
        if (e->ops.ftruncate(a->fd, (off_t)s->writer.size) != 0) rc = errno_code(errno);
        else
            s->writer.needs_truncate = false;
    }
    if (!rc && s->round.seg->index_bad) rc = rebuild_active_index(s);
    bool durable;
    if (!rc && roll_requested && s->writer.nops == 0 && s->writer.end_seq > s->round.seg->base_seq) rc = shard_roll(s, &durable);
    if (!rc && s->writer.floor > s->writer.end_seq && (rc = shard_roll(s, &durable)) == 0) region_begin(s, 0);
    if (rc) {
        s->round.status = rc;
        return;
    }
    size_t pos = 0, region_from = 0;
    for (size_t i = 0; i < s->writer.nops; i++) {
        op_t *op = &s->writer.ops[i];
        if (s->writer.size >= e->segment_bytes && s->writer.end_seq > s->round.seg->base_seq) {
            durable = false;
            if ((rc = region_write(s, region_from, pos)) || (rc = shard_roll(s, &durable))) {
                if (durable) {
                    /* The region is written and durable; only the roll failed (it is retried
                     * by the next round). The appends after it fail. */
                    s->round.ok_ops = i;
                    s->round.region = false;
                } else {
                    region_rollback(s);
                    s->round.ok_ops = s->round.region_op;
                }
                s->round.status = rc;
                return;
            }
            s->round.ok_ops = i;
            region_begin(s, i);
            region_from = pos;
        }
        op->first_seq = s->writer.end_seq;
        for (size_t k = 0; k < op->n; k++) {
            uint8_t *f = (uint8_t *)s->writer.buf.data + pos;
            uint32_t len = sl_frame_len(f);
            int64_t arrival = sl_frame_arrival(f);
            if (arrival < s->writer.last_arrival) arrival = s->writer.last_arrival;
            sl_frame_finish(f, s->writer.end_seq, arrival);
            if (k == 0) op->arrival_ms = arrival;
            if (s->writer.npoints == 0 || s->writer.size >= s->writer.last_point_off + SL_STORAGE_INDEX_INTERVAL_BYTES) {
                uint8_t ent[SL_IDX_ENTRY_BYTES];
                sl_idx_entry_t ie = {.seq = s->writer.end_seq, .offset = s->writer.size, .arrival_ms = arrival, .kind = SL_IDX_POINT};
                sl_idx_entry_encode(ent, &ie);
                sl_buf_append(&s->writer.idx, ent, sizeof ent);
                if (s->writer.npoints == 0) s->writer.first_arrival = arrival;
                s->writer.npoints++;
                s->writer.last_point_off = s->writer.size;
            }
            s->writer.size += len;
            s->writer.end_seq++;
            s->writer.last_arrival = arrival;
            pos += len;
        }
    }
    if (sl_buf_failed(&s->writer.idx)) {
        s->writer.idx.failed = false;
        rc = SL_ENOMEM;
    } else {
        rc = s->round.jnl ? 0 : region_write(s, region_from, pos);
    }
    if (rc) {
        region_rollback(s);
        s->round.status = rc;
        s->round.ok_ops = s->round.region_op;
        return;
    }
    s->round.region = pos > region_from;
    s->round.ok_ops = e->base.cfg.durability == SL_DURABILITY_SYNC && s->round.region ? s->round.region_op : s->writer.nops;
}

static int sync_one(file_engine_t *e, const sync_job_t *job) {
    int r = job->dir ? e->ops.fsync(job->fd) : e->ops.fdatasync(job->fd);
    return r == 0 ? 0 : errno_code(errno);
}

static void *sync_worker(void *arg) {
    file_engine_t *e = arg;
    uint64_t seen = 0;
    pthread_mutex_lock(&e->sync.mu);
    for (;;) {
        while (!e->sync.stop && (e->sync.gen == seen || e->sync.next >= e->sync.n)) {
            seen = e->sync.gen;
            pthread_cond_wait(&e->sync.work, &e->sync.mu);
        }
        if (e->sync.stop) break;
        size_t i = e->sync.next++;
        sync_job_t *job = &e->sync.jobs[i];
        pthread_mutex_unlock(&e->sync.mu);
        job->rc = sync_one(e, job);
        pthread_mutex_lock(&e->sync.mu);
        if (++e->sync.finished == e->sync.n) pthread_cond_signal(&e->sync.done);
    }
    pthread_mutex_unlock(&e->sync.mu);
    return NULL;
}

/* Runs fdatasync on every job's fd, several at a time; fills job->rc. Commit thread only. */
static void sync_many(file_engine_t *e, sync_job_t *jobs, size_t n) {
    if (n == 0) return;
    if (n >= SL_STORAGE_SYNCFS_MIN_FILES && e->ops.syncfs) {
        /* One flush of the file system makes every written file durable. On failure fall back to
         * per-file syncs so that each shard learns its own status. */
        if (e->ops.syncfs(jobs[0].fd) == 0) {
            for (size_t i = 0; i < n; i++) jobs[i].rc = 0;
            return;
        }
        SL_WARN("storage: syncfs failed (%s); syncing %zu files one by one", strerror(errno), n);
    }
    if (n == 1 || e->sync.nthreads == 0) {
        for (size_t i = 0; i < n; i++) jobs[i].rc = sync_one(e, &jobs[i]);
        return;
    }
    pthread_mutex_lock(&e->sync.mu);
    e->sync.jobs = jobs;
    e->sync.n = n;
    e->sync.next = 0;
    e->sync.finished = 0;
    e->sync.gen++;
    pthread_cond_broadcast(&e->sync.work);
    while (e->sync.next < e->sync.n) {
        size_t i = e->sync.next++;
        pthread_mutex_unlock(&e->sync.mu);
        jobs[i].rc = sync_one(e, &jobs[i]);
        pthread_mutex_lock(&e->sync.mu);
        e->sync.finished++;
    }
    while (e->sync.finished < e->sync.n) pthread_cond_wait(&e->sync.done, &e->sync.mu);
    e->sync.n = 0;
    pthread_mutex_unlock(&e->sync.mu);
}

static int jobs_reserve(file_engine_t *e, size_t n) {
    if (n <= e->scratch.jobs_cap) return 0;
    sync_job_t *j = realloc(e->scratch.jobs, n * sizeof *j);
    if (!j) return SL_ENOMEM;
    e->scratch.jobs = j;
    e->scratch.jobs_cap = n;
    return 0;
}

static void idle_sweep(file_engine_t *e, int64_t idle_ms);

/* Queues an fsync of directory `path` for the current chunk's creation phase. */
static int djob_add(file_engine_t *e, const char *path) {
    if (e->scratch.ndjobs == e->scratch.djobs_cap) {
        size_t cap = e->scratch.djobs_cap ? e->scratch.djobs_cap * 2 : 64;
        sync_job_t *j = realloc(e->scratch.djobs, cap * sizeof *j);
        if (!j) return SL_ENOMEM;
        e->scratch.djobs = j;
        e->scratch.djobs_cap = cap;
    }
    int fd = e->ops.open(path, O_RDONLY | O_DIRECTORY, 0);
    if (fd < 0) return errno_code(errno);
    e->scratch.djobs[e->scratch.ndjobs++] = (sync_job_t){.fd = fd, .dir = true};
    return 0;
}

/* Creates the directory and first segment (base 1) of a shard that has none yet, without syncing:
 * the caller fsyncs the queued directories (root once per chunk, each stream directory once,
 * each shard directory) before anything is written to the new files, so one sync covers the
 * creation of every new shard of a round. *prev_stream is the stream directory created or
 * checked last in this chunk (to skip repeating its mkdir and fsync). Commit thread only. */
static int shard_create_files(file_engine_t *e, file_shard_t *s, seg_t *g, const char **prev_stream, bool *root_queued) {
    pthread_mutex_lock(&s->mu);
    seg_close_fds(e, g); /* left by an earlier attempt whose directory sync failed */
    pthread_mutex_unlock(&s->mu);
    int rc = 0, fd = -1, ifd = -1;
    if (!*root_queued) {
        if ((rc = djob_add(e, e->root))) return rc;
        *root_queued = true;
    }
    if (!*prev_stream || strcmp(*prev_stream, s->stream_key) != 0) {
        char *sd = path_join(e->root, s->stream_key);
        if (!sd) return SL_ENOMEM;
        if (e->ops.mkdir(sd, 0700) != 0 && errno != EEXIST) rc = errno_code(errno);
        if (!rc) rc = djob_add(e, sd);
        free(sd);
        if (rc) return rc;
        *prev_stream = s->stream_key;
    }
    if (e->ops.mkdir(s->dir, 0700) != 0 && errno != EEXIST) return errno_code(errno);
    if ((rc = seg_create_files(s, g->base_seq, false, &fd, &ifd))) return rc;
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
static void create_new_shards(file_engine_t *e, size_t n) {
    const char *prev_stream = NULL;
    bool root_queued = false, any = false;
    e->scratch.ndjobs = 0;
    for (size_t i = 0; i < n; i++) {
        file_shard_t *s = e->scratch.batch[i];
        if (!s->round.create) continue;
        any = true;
        s->round.open_rc = shard_create_files(e, s, s->round.seg, &prev_stream, &root_queued);
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
        file_shard_t *s = e->scratch.batch[i];
        if (!s->round.create || s->round.open_rc) continue;
        if (rc) {
            /* Not durable: fail this round's appends; the next round creates the files again. */
            s->round.open_rc = rc;
            pthread_mutex_lock(&s->mu);
            seg_close_fds(e, s->round.seg);
            pthread_mutex_unlock(&s->mu);
        } else {
            s->on_disk = true;
        }
    }
}

/* ---------------------------------------------------------------------------------------------
 * Shared commit journal (durability=sync; docs/storage-format.md, "Commit journal").
 *
 * A round's small shares go to the journal: one write and one fdatasync of one file, however many
 * shards the round touches. Their frames stay in each shard's tail (readable from memory) until
 * enough gather, and are then written to the segment without a sync. A checkpoint writes every
 * tail, runs one syncfs on the checkpoint thread and then records in the journal header the lsn
 * before which the journal is no longer needed; index entries of journaled data are written once
 * the checkpoint that made their data durable completes. */

static size_t jnl_entry_bytes(const file_shard_t *s) {
    return sl_jnl_entry_size(s->stream_key_len, s->shard_key_len, s->writer.buf.len);
}

/* Decides which shards of the round go through the journal (round.jnl). */
static void journal_choose(file_engine_t *e, size_t n) {
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        file_shard_t *s = e->scratch.batch[i];
        s->round.jnl = false;
        if (!e->journal.on || s->round.open_rc || s->round.roll || s->writer.nops == 0 || s->writer.needs_truncate ||
            s->writer.buf.len >= SL_STORAGE_JOURNAL_DIRECT_BYTES || s->writer.size + s->writer.buf.len >= e->segment_bytes)
            continue;
        pthread_mutex_lock(&s->mu);
        bool bad = s->round.seg->index_bad;
        pthread_mutex_unlock(&s->mu);
        if (bad) continue;
        s->round.jnl = true;
        total += jnl_entry_bytes(s);
    }
    if (total == 0) return;
    uint64_t at = e->journal.write_lsn, off = at % e->journal.cap;
    if (off + total > e->journal.cap) at += e->journal.cap - off;
    if (total <= e->journal.cap / 2 && at + total - e->journal.oldest_lsn <= e->journal.cap) return;
    /* The ring is full until the running checkpoint completes: write this round directly. */
    for (size_t i = 0; i < n; i++) e->scratch.batch[i]->round.jnl = false;
}

/* Writes zeros up to file offset `upto` (at least GROW_BYTES more, at most the ring's end) so that
 * later fdatasyncs of the journal change no file size. */
static int journal_extend(file_engine_t *e, uint64_t upto) {
    static const uint8_t zeros[65536];
    if (upto <= e->journal.alloc) return 0;
    uint64_t end = SL_JNL_DATA_OFF + e->journal.cap;
    uint64_t to = SL_MAX(upto, e->journal.alloc + SL_STORAGE_JOURNAL_GROW_BYTES);
    if (to > end) to = end;
    while (e->journal.alloc < to) {
        size_t len = (size_t)SL_MIN((uint64_t)sizeof zeros, to - e->journal.alloc);
        int rc = pwrite_all(&e->ops, e->journal.fd, zeros, len, e->journal.alloc);
        if (rc) return rc;
        e->journal.alloc += len;
    }
    return 0;
}

/* Writes the entries of the round's journaled shards (not yet synced); *next is the lsn after them. */
static int journal_write(file_engine_t *e, size_t n, uint64_t *next) {
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        file_shard_t *s = e->scratch.batch[i];
        if (s->round.jnl && s->round.status == 0 && s->round.region) total += jnl_entry_bytes(s);
    }
    uint64_t lsn = e->journal.write_lsn, off = lsn % e->journal.cap;
    int rc;
    if (off + total > e->journal.cap) {
        /* Skip the rest of the lap; a PAD entry tells recovery so when a header fits. */
        uint64_t pad = e->journal.cap - off;
        if ((rc = journal_extend(e, SL_JNL_DATA_OFF + e->journal.cap))) return rc;
        if (pad >= SL_JNL_ENTRY_HEADER_BYTES) {
            uint8_t h[SL_JNL_ENTRY_HEADER_BYTES];
            sl_jnl_pad_encode(h, lsn, (uint32_t)pad);
            if ((rc = pwrite_all(&e->ops, e->journal.fd, h, sizeof h, SL_JNL_DATA_OFF + off))) return rc;
        }
        lsn += pad;
        off = 0;
    }
    sl_buf_reset(&e->journal.buf);
    uint8_t *dst = (uint8_t *)sl_buf_reserve(&e->journal.buf, total);
    if (!dst) {
        e->journal.buf.failed = false;
        return SL_ENOMEM;
    }
    uint64_t at = lsn;
    for (size_t i = 0; i < n; i++) {
        file_shard_t *s = e->scratch.batch[i];
        if (!(s->round.jnl && s->round.status == 0 && s->round.region)) continue;
        size_t len = jnl_entry_bytes(s);
        s->round.lsn = at;
        sl_jnl_entry_encode(dst, at, s->stream_key, s->stream_key_len, s->shard_key, s->shard_key_len, s->round.end0,
                            (uint32_t)(s->writer.end_seq - s->round.end0), (const uint8_t *)s->writer.buf.data, s->writer.buf.len);
        dst += len;
        at += len;
    }
    e->journal.buf.len = total;
    if ((rc = journal_extend(e, SL_JNL_DATA_OFF + off + total))) return rc;
    if ((rc = pwrite_all(&e->ops, e->journal.fd, e->journal.buf.data, total, SL_JNL_DATA_OFF + off))) return rc;
    *next = at;
    return 0;
}

/* A journal write or sync failed: that round's journaled appends fail, and the engine writes
 * every later round directly (until restart), so that no seq of the failed round is ever
 * journaled again with other records. */
static void journal_failed(file_engine_t *e, int rc) {
    SL_ERROR("storage: commit journal %s: write failed (%s); writing every shard's segment directly from now on",
             e->journal.path, sl_strerror(rc));
    e->journal.on = false;
}

/* Appends the round's frames to the shard's tail; mu held. False when out of memory. */
static bool tail_append_locked(file_shard_t *s) {
    if (s->tail.buf.len == 0) {
        s->tail.off = s->round.size0;
        s->tail.lsn = s->round.lsn;
    }
    SL_ASSERT(s->tail.off + s->tail.buf.len == s->round.size0);
    sl_buf_append(&s->tail.buf, s->writer.buf.data, s->writer.buf.len);
    if (!sl_buf_failed(&s->tail.buf)) return true;
    s->tail.buf.failed = false;
    return false;
}

/* No memory for the tail: write the round's frames to the segment now instead. */
static void tail_append_failed(file_shard_t *s) {
    int rc = shard_flush_tail(s, s->round.seg, false);
    if (!rc) rc = pwrite_all(&s->eng->ops, s->round.seg->fd, s->writer.buf.data, s->writer.buf.len, s->round.size0);
    if (rc)
        SL_ERROR("storage: stream %s shard %s: cannot write journaled records to the segment (%s); they are durable "
                 "in the journal and readable after a restart", s->stream_key, s->shard_key, sl_strerror(rc));
}

/* Checkpoint thread: makes every segment write so far durable, then records checkpoint.lsn. */
static int journal_checkpoint_sync(file_engine_t *e, uint64_t lsn) {
    if (e->ops.syncfs(e->journal.fd) != 0) return errno_code(errno);
    uint64_t gen = e->checkpoint.gen + 1;
    uint8_t slot[SL_JNL_SLOT_BYTES];
    sl_jnl_slot_encode(slot, gen, lsn);
    int rc = pwrite_all(&e->ops, e->journal.fd, slot, sizeof slot, (gen & 1) ? SL_JNL_SLOT1_OFF : SL_JNL_SLOT0_OFF);
    if (!rc && e->ops.fdatasync(e->journal.fd) != 0) rc = errno_code(errno);
    if (!rc) e->checkpoint.gen = gen;
    return rc;
}

static void *ck_main(void *arg) {
    file_engine_t *e = arg;
    pthread_mutex_lock(&e->checkpoint.mu);
    for (;;) {
        while (!e->checkpoint.stop && e->checkpoint.state != CK_RUNNING) pthread_cond_wait(&e->checkpoint.cond, &e->checkpoint.mu);
        if (e->checkpoint.state != CK_RUNNING) break;
        uint64_t lsn = e->checkpoint.lsn;
        pthread_mutex_unlock(&e->checkpoint.mu);
        int rc = journal_checkpoint_sync(e, lsn);
        if (rc) SL_WARN("storage: commit journal checkpoint failed (%s); will retry", sl_strerror(rc));
        pthread_mutex_lock(&e->checkpoint.mu);
        e->checkpoint.state = rc ? CK_FAILED : CK_DONE;
        pthread_cond_broadcast(&e->checkpoint.cond);
    }
    pthread_mutex_unlock(&e->checkpoint.mu);
    return NULL;
}

/* Writes a shard's tail to its active segment outside a commit round, holding a reference to the
 * segment (its descriptors are opened if closed). Commit thread with the registry lock held. */
static int shard_flush_tail_idle(file_shard_t *s, bool release) {
    pthread_mutex_lock(&s->mu);
    seg_t *a = s->segs[s->nseg - 1];
    int rc = seg_open_fds_locked(s, a);
    if (!rc) a->refs++;
    pthread_mutex_unlock(&s->mu);
    if (rc) return rc;
    rc = shard_flush_tail(s, a, release);
    seg_unref(s, a);
    return rc;
}

/* Commit thread, between rounds: writes every shard's tail to its segment (and frees the tail
 * buffers). Returns 0 when every tail was written. */
static int flush_all_tails(file_engine_t *e) {
    int rc = 0;
    pthread_mutex_lock(&e->registry.mu);
    for (file_shard_t *s = e->registry.head; s && !rc; s = s->registry.next)
        if (s->tail.buf.len > 0 || s->tail.buf.data != NULL) rc = shard_flush_tail_idle(s, true);
    pthread_mutex_unlock(&e->registry.mu);
    if (!rc && atomic_exchange(&e->tails.stuck, 0))
        SL_INFO("storage: journaled records are written to their segments again; writes are accepted");
    return rc;
}

/* Commit thread, between rounds: writes out the oldest tails while they start more than a quarter
 * of the ring before the write position (at most SL_STORAGE_TAIL_AGE_FLUSH_MAX per call, so that no
 * round waits long), so that the next checkpoint can free the journal behind them. */
static void tail_age_flush(file_engine_t *e) {
    if (e->journal.fd < 0) return;
    pthread_mutex_lock(&e->tails.mu);
    bool due = e->tails.head && e->tails.head->tail.lsn + e->journal.cap / 4 <= e->journal.write_lsn;
    pthread_mutex_unlock(&e->tails.mu);
    if (!due) return;
    pthread_mutex_lock(&e->registry.mu);
    for (int n = 0; n < SL_STORAGE_TAIL_AGE_FLUSH_MAX; n++) {
        pthread_mutex_lock(&e->tails.mu);
        file_shard_t *s = e->tails.head;
        pthread_mutex_unlock(&e->tails.mu);
        if (!s || s->tail.lsn + e->journal.cap / 4 > e->journal.write_lsn || shard_flush_tail_idle(s, false) != 0) break;
    }
    pthread_mutex_unlock(&e->registry.mu);
}

/* Commit thread: the checkpoint may free the journal up to the oldest tail (everything before it
 * has been written to the segments). Notes which index entries that covers. Returns the lsn. */
static uint64_t checkpoint_mark(file_engine_t *e) {
    pthread_mutex_lock(&e->registry.mu);
    pthread_mutex_lock(&e->tails.mu);
    uint64_t lsn = e->tails.head ? e->tails.head->tail.lsn : e->journal.write_lsn;
    pthread_mutex_unlock(&e->tails.mu);
    if (lsn != e->journal.oldest_lsn) {
        for (file_shard_t *s = e->registry.head; s; s = s->registry.next) {
            pthread_mutex_lock(&s->mu);
            s->checkpoint.base = s->segs[s->nseg - 1]->base_seq;
            pthread_mutex_unlock(&s->mu);
            uint64_t n = s->writer.npoints;
            if (s->tail.buf.len) {
                /* only the entries that point before the tail */
                n = s->writer.npoints_disk;
                for (size_t off = 0; off + SL_IDX_ENTRY_BYTES <= s->writer.idx.len; off += SL_IDX_ENTRY_BYTES, n++)
                    if (sl_le64_get((const uint8_t *)s->writer.idx.data + off + 8) >= s->tail.off) break;
            }
            s->checkpoint.npoints = n;
        }
    }
    pthread_mutex_unlock(&e->registry.mu);
    return lsn;
}

/* Commit thread, once a checkpoint completed: frees the journal before its lsn and writes the
 * index entries whose data it made durable. */
static void checkpoint_finish(file_engine_t *e, uint64_t lsn) {
    e->journal.oldest_lsn = lsn;
    pthread_mutex_lock(&e->registry.mu);
    for (file_shard_t *s = e->registry.head; s; s = s->registry.next) {
        uint64_t upto = s->checkpoint.npoints;
        s->checkpoint.npoints = 0;
        if (upto <= s->writer.npoints_disk) continue;
        pthread_mutex_lock(&s->mu);
        seg_t *a = s->segs[s->nseg - 1];
        bool go = a->base_seq == s->checkpoint.base && seg_open_fds_locked(s, a) == 0;
        if (go) a->refs++;
        pthread_mutex_unlock(&s->mu);
        if (!go) continue;
        size_t bytes = (size_t)(upto - s->writer.npoints_disk) * SL_IDX_ENTRY_BYTES;
        if (bytes <= s->writer.idx.len &&
            pwrite_all(&e->ops, a->idx_fd, s->writer.idx.data, bytes, SL_IDX_HEADER_BYTES + s->writer.npoints_disk * SL_IDX_ENTRY_BYTES) == 0) {
            memmove(s->writer.idx.data, s->writer.idx.data + bytes, s->writer.idx.len - bytes);
            s->writer.idx.len -= bytes;
            s->writer.npoints_disk = upto;
            pthread_mutex_lock(&s->mu);
            a->npoints = upto;
            pthread_mutex_unlock(&s->mu);
        }
        seg_unref(s, a);
    }
    pthread_mutex_unlock(&e->registry.mu);
}

/* Commit thread: completes a finished checkpoint and starts the next one when due. */
static void checkpoint_poll(file_engine_t *e, int64_t now) {
    if (e->journal.fd < 0 || !e->checkpoint.started || atomic_load(&e->checkpoint.blocked)) return;
    pthread_mutex_lock(&e->checkpoint.mu);
    int st = e->checkpoint.state;
    uint64_t done_lsn = e->checkpoint.lsn;
    if (st == CK_DONE || st == CK_FAILED) e->checkpoint.state = CK_IDLE;
    pthread_mutex_unlock(&e->checkpoint.mu);
    if (st == CK_DONE) checkpoint_finish(e, done_lsn);
    if (st == CK_FAILED) e->checkpoint.next_ms = now + 1000;
    if (st == CK_RUNNING || e->journal.write_lsn == e->journal.oldest_lsn) return;
    bool space = e->journal.write_lsn - e->journal.oldest_lsn >= e->journal.cap / 2;
    if (!space && now < e->checkpoint.next_ms) return;
    /* Under load, free the journal up to the oldest tail without writing every tail now
     * (tail_age_flush writes the old ones out a few at a time); periodically, write every tail,
     * so that quiet shards do not keep old journal space. */
    if (!space) {
        e->checkpoint.next_ms = now + SL_STORAGE_CHECKPOINT_MS;
        if (flush_all_tails(e)) return;
    }
    uint64_t lsn = checkpoint_mark(e);
    if (lsn == e->journal.oldest_lsn) return;
    e->checkpoint.next_ms = now + SL_STORAGE_CHECKPOINT_MS;
    pthread_mutex_lock(&e->checkpoint.mu);
    e->checkpoint.lsn = lsn;
    e->checkpoint.state = CK_RUNNING;
    pthread_cond_broadcast(&e->checkpoint.cond);
    pthread_mutex_unlock(&e->checkpoint.mu);
}

static void commit_chunk(file_engine_t *e, file_shard_t *list) {
    size_t n = 0;
    for (file_shard_t *s = list; s; s = s->dirty_next) n++;
    if (n > e->scratch.batch_cap) {
        file_shard_t **b = realloc(e->scratch.batch, n * sizeof *b);
        SL_ASSERT(b != NULL); /* a few pointers per shard; nothing sensible to do without them */
        e->scratch.batch = b;
        e->scratch.batch_cap = n;
    }
    SL_ASSERT(jobs_reserve(e, n + 1) == 0);
    n = 0;
    for (file_shard_t *s = list; s; s = s->dirty_next) e->scratch.batch[n++] = s;

    /* Take each shard's pending appends, create the files of new shards, then write. */
    bool any_create = false;
    for (size_t i = 0; i < n; i++) {
        file_shard_t *s = e->scratch.batch[i];
        pthread_mutex_lock(&s->mu);
        sl_buf_t tb = s->writer.buf;
        s->writer.buf = s->pending.buf;
        s->pending.buf = tb;
        sl_buf_reset(&s->pending.buf);
        op_t *to = s->writer.ops;
        size_t tc = s->writer.capops;
        s->writer.ops = s->pending.ops;
        s->writer.capops = s->pending.cap;
        s->writer.nops = s->pending.n;
        s->pending.ops = to;
        s->pending.cap = tc;
        s->pending.n = 0;
        s->in_dirty = false;
        s->in_batch = true;
        s->round.roll = s->roll_requested;
        s->roll_requested = false;
        seg_t *a = s->segs[s->nseg - 1];
        a->refs++;
        s->round.seg = a;
        s->round.create = !s->on_disk;
        s->round.open_rc = s->round.create ? 0 : seg_open_fds_locked(s, a);
        if (s->round.create) any_create = true;
        pthread_mutex_unlock(&s->mu);
    }
    if (any_create) create_new_shards(e, n);
    journal_choose(e, n);
    for (size_t i = 0; i < n; i++) {
        file_shard_t *s = e->scratch.batch[i];
        shard_write_round(s, s->round.roll, s->round.open_rc);
    }
    /* Group commit: one fdatasync of the journal for the journaled shards, one per shard written
     * directly, in parallel. */
    if (e->base.cfg.durability == SL_DURABILITY_SYNC) {
        size_t nj = 0;
        bool jused = false;
        int jrc = 0;
        uint64_t jnext = 0;
        for (size_t i = 0; i < n && !jused; i++) {
            file_shard_t *s = e->scratch.batch[i];
            jused = s->round.jnl && s->round.status == 0 && s->round.region;
        }
        if (jused) {
            jrc = journal_write(e, n, &jnext);
            if (!jrc) e->scratch.jobs[nj++] = (sync_job_t){.fd = e->journal.fd};
        }
        size_t first_shard_job = nj;
        for (size_t i = 0; i < n; i++) {
            file_shard_t *s = e->scratch.batch[i];
            if (!s->round.jnl && s->round.status == 0 && s->round.region) e->scratch.jobs[nj++] = (sync_job_t){.fd = s->round.seg->fd};
        }
        sync_many(e, e->scratch.jobs, nj);
        if (jused) {
            if (!jrc) jrc = e->scratch.jobs[0].rc;
            if (jrc) journal_failed(e, jrc);
            else e->journal.write_lsn = jnext;
        }
        nj = first_shard_job;
        for (size_t i = 0; i < n; i++) {
            file_shard_t *s = e->scratch.batch[i];
            if (!(s->round.status == 0 && s->round.region)) continue;
            int rc = s->round.jnl ? jrc : e->scratch.jobs[nj++].rc;
            if (rc) {
                region_rollback(s);
                s->round.status = rc;
            } else {
                s->round.ok_ops = s->writer.nops;
                if (!s->round.jnl) (void)flush_pending_index(s, s->round.seg);
            }
        }
    }
    /* Publish and complete. */
    for (size_t i = 0; i < n; i++) {
        file_shard_t *s = e->scratch.batch[i];
        seg_t *a = s->round.seg;
        bool to_tail = s->round.jnl && s->round.status == 0 && s->round.region;
        pthread_mutex_lock(&s->mu);
        bool appended = to_tail && tail_append_locked(s);
        if (to_tail && !appended) {
            pthread_mutex_unlock(&s->mu);
            tail_append_failed(s);
            pthread_mutex_lock(&s->mu);
        }
        a->size = s->writer.size;
        a->end_seq = s->writer.end_seq;
        a->npoints = s->writer.npoints_disk;
        if (s->writer.end_seq > a->base_seq) {
            a->first_arrival = s->writer.first_arrival;
            a->last_arrival = s->writer.last_arrival;
        }
        uint64_t old_tip = s->next_seq;
        s->next_seq = s->writer.end_seq;
        if (s->round.region && e->base.cfg.durability == SL_DURABILITY_INTERVAL) s->unsynced = true;
        pthread_mutex_unlock(&s->mu);
        if (s->round.status)
            SL_ERROR("storage: stream %s shard %s: write failed (%s); %zu append(s) failed, %zu completed", s->stream_key,
                     s->shard_key, sl_strerror(s->round.status), s->writer.nops - s->round.ok_ops, s->round.ok_ops);
        /* Out of descriptors is back-pressure for this round only, not a failed disk. */
        if (s->round.status && s->round.status != SL_EAGAIN) engine_set_failed(e, s->round.status);
        /* Wake readers first, then complete the appends in order. */
        if (s->writer.end_seq != old_tip && e->base.cfg.on_commit) e->base.cfg.on_commit(e->base.cfg.ctx, &s->base, s->writer.end_seq);
        size_t bytes = 0;
        for (size_t k = 0; k < s->writer.nops; k++) {
            op_t *op = &s->writer.ops[k];
            bytes += op->bytes;
            if (k < s->round.ok_ops) op->cb(op->arg, 0, op->first_seq, op->arrival_ms);
            else op->cb(op->arg, s->round.status ? s->round.status : SL_EIO, 0, 0);
        }
        atomic_fetch_sub(&e->pending_bytes, bytes);
        s->writer.nops = 0;
        sl_buf_reset(&s->writer.buf);
        if (appended) tq_push(s); /* no-op when the tail was already queued */
        /* Enough journaled frames gathered: write them to the segment (no sync: the journal keeps
         * them durable until the next checkpoint). A failure is retried later. */
        if (s->tail.buf.len >= SL_STORAGE_TAIL_FLUSH_BYTES) (void)shard_flush_tail(s, a, false);
        pthread_mutex_lock(&s->mu);
        seg_unref_locked(e, a);
        s->round.seg = NULL;
        s->in_batch = false;
        pthread_cond_broadcast(&s->cond);
        pthread_mutex_unlock(&s->mu);
    }
}

/* One commit round over every shard with work, in chunks of at most SL_STORAGE_ROUND_SHARDS_MAX
 * shards so that the descriptors it needs stay bounded. */
typedef struct {
    int64_t used_ms;
    file_shard_t *s;
} fd_cand_t;

static int fd_cand_cmp(const void *a, const void *b) {
    const fd_cand_t *x = a, *y = b;
    return x->used_ms < y->used_ms ? -1 : x->used_ms > y->used_ms;
}

/* Closes the descriptors of the least recently used shard logs nobody is using (their segments
 * have no reference but the shard's own) until the engine holds at most 3/4 of its budget; they
 * are reopened on demand. Commit thread. */
static void fd_sweep(file_engine_t *e) {
    int target = e->fds.max / 4 * 3;
    if (atomic_load(&e->fds.open) <= target) return;
    pthread_mutex_lock(&e->registry.mu);
    fd_cand_t *c = malloc((e->registry.count ? e->registry.count : 1) * sizeof *c);
    size_t n = 0;
    for (file_shard_t *s = e->registry.head; c && s; s = s->registry.next) {
        pthread_mutex_lock(&s->mu);
        bool open = false;
        for (size_t i = 0; i < s->nseg && !open; i++) open = s->segs[i]->fd >= 0 || s->segs[i]->idx_fd >= 0;
        if (open && !s->in_batch) c[n++] = (fd_cand_t){.used_ms = s->last_use_ms, .s = s};
        pthread_mutex_unlock(&s->mu);
    }
    if (n) qsort(c, n, sizeof *c, fd_cand_cmp);
    for (size_t k = 0; k < n && atomic_load(&e->fds.open) > target; k++) {
        file_shard_t *s = c[k].s;
        pthread_mutex_lock(&s->mu);
        for (size_t i = 0; i < s->nseg && !s->in_batch; i++)
            if (s->segs[i]->refs == 1) seg_close_fds(e, s->segs[i]);
        pthread_mutex_unlock(&s->mu);
    }
    free(c);
    pthread_mutex_unlock(&e->registry.mu);
}

static void commit_round(file_engine_t *e, file_shard_t *list) {
    /* A chunk's shards hold their active segment's two descriptors at once: keep a chunk within a
     * quarter of the budget. */
    int chunk_max = SL_MAX(1, SL_MIN(SL_STORAGE_ROUND_SHARDS_MAX, e->fds.max / 8));
    while (list) {
        file_shard_t *chunk = list, *last = list;
        int n = 1;
        for (; n < chunk_max && last->dirty_next; n++) last = last->dirty_next;
        list = last->dirty_next;
        last->dirty_next = NULL;
        if (atomic_load(&e->fds.open) + 2 * n > e->fds.max) fd_sweep(e);
        commit_chunk(e, chunk);
    }
}

/* durability=interval: fdatasync every shard written since the last flush. */
static void interval_flush(file_engine_t *e) {
    pthread_mutex_lock(&e->registry.mu);
    size_t n = 0;
    for (file_shard_t *s = e->registry.head; s; s = s->registry.next) n += s->unsynced;
    if (n == 0 || jobs_reserve(e, n) || n > e->scratch.batch_cap) {
        if (n > e->scratch.batch_cap) {
            file_shard_t **b = realloc(e->scratch.batch, n * sizeof *b);
            if (b) { e->scratch.batch = b; e->scratch.batch_cap = n; }
        }
        if (n == 0 || n > e->scratch.batch_cap || jobs_reserve(e, n)) { pthread_mutex_unlock(&e->registry.mu); return; }
    }
    size_t nj = 0;
    seg_t **segs = malloc(n * sizeof *segs);
    if (!segs) { pthread_mutex_unlock(&e->registry.mu); return; }
    for (file_shard_t *s = e->registry.head; s && nj < n; s = s->registry.next) {
        pthread_mutex_lock(&s->mu);
        if (s->unsynced) {
            seg_t *a = s->segs[s->nseg - 1];
            if (seg_open_fds_locked(s, a) == 0) {
                s->unsynced = false;
                a->refs++;
                segs[nj] = a;
                e->scratch.batch[nj] = s;
                e->scratch.jobs[nj++] = (sync_job_t){.fd = a->fd};
            }
        }
        pthread_mutex_unlock(&s->mu);
    }
    pthread_mutex_unlock(&e->registry.mu);
    /* A shard may be closed meanwhile; the segment references keep the descriptors alive. */
    sync_many(e, e->scratch.jobs, nj);
    for (size_t i = 0; i < nj; i++) {
        if (e->scratch.jobs[i].rc) {
            SL_ERROR("storage: interval flush: fdatasync failed (%s): acknowledged records written in the last "
                     "interval may not be durable",
                     sl_strerror(e->scratch.jobs[i].rc));
            engine_set_failed(e, e->scratch.jobs[i].rc);
        }
    }
    /* Drop the references under the registry lock, re-finding shards still open. */
    pthread_mutex_lock(&e->registry.mu);
    for (size_t i = 0; i < nj; i++) {
        bool found = false;
        for (file_shard_t *s = e->registry.head; s; s = s->registry.next) {
            if (s != e->scratch.batch[i]) continue;
            pthread_mutex_lock(&s->mu);
            if (e->scratch.jobs[i].rc == 0 && s->segs[s->nseg - 1] == segs[i] && flush_pending_index(s, segs[i]) == 0)
                segs[i]->npoints = s->writer.npoints_disk;
            seg_unref_locked(e, segs[i]);
            pthread_mutex_unlock(&s->mu);
            found = true;
            break;
        }
        if (!found) seg_unref_locked(e, segs[i]); /* the shard is gone: we hold the last reference */
    }
    pthread_mutex_unlock(&e->registry.mu);
    free(segs);
}

/* Gives back descriptors and buffers of shards idle for idle_ms. */
static void idle_sweep(file_engine_t *e, int64_t idle_ms) {
    int64_t now = sl_time_mono_ms();
    pthread_mutex_lock(&e->registry.mu);
    for (file_shard_t *s = e->registry.head; s; s = s->registry.next) {
        pthread_mutex_lock(&s->mu);
        if (!s->in_dirty && !s->in_batch && !s->unsynced && s->tail.buf.len == 0 && now - s->last_use_ms >= idle_ms) {
            seg_t *a = s->segs[s->nseg - 1];
            if (s->writer.idx.len && seg_open_fds_locked(s, a) == 0 && e->ops.fdatasync(a->fd) == 0 &&
                flush_pending_index(s, a) == 0)
                a->npoints = s->writer.npoints_disk;
            if (s->writer.idx.len) {
                pthread_mutex_unlock(&s->mu);
                continue; /* keep what is needed to retry */
            }
            for (size_t i = 0; i < s->nseg; i++)
                if (s->segs[i]->refs == 1) seg_close_fds(e, s->segs[i]);
            if (s->pending.n == 0) {
                sl_buf_free(&s->pending.buf);
                free(s->pending.ops);
                s->pending.ops = NULL;
                s->pending.cap = 0;
            }
            sl_buf_free(&s->writer.buf);
            sl_buf_free(&s->writer.idx);
            free(s->writer.ops);
            s->writer.ops = NULL;
            s->writer.capops = 0;
        }
        pthread_mutex_unlock(&s->mu);
    }
    pthread_mutex_unlock(&e->registry.mu);
}

static void *commit_main(void *arg) {
    file_engine_t *e = arg;
    int64_t interval = e->base.cfg.flush_interval_ms > 0 ? e->base.cfg.flush_interval_ms : SL_STORAGE_FLUSH_INTERVAL_MS_DEFAULT;
    int64_t next_flush = sl_time_mono_ms() + interval, next_sweep = sl_time_mono_ms() + 1000, next_retry = 0;
    bool interval_mode = e->base.cfg.durability == SL_DURABILITY_INTERVAL;
    int64_t commit_gap = e->base.cfg.durability == SL_DURABILITY_SYNC && e->base.cfg.commit_interval_us > 0
                             ? (int64_t)SL_MIN(e->base.cfg.commit_interval_us, 100000) * 1000
                             : 0;
    int64_t last_round = 0;
    pthread_mutex_lock(&e->dirty.mu);
    for (;;) {
        while (!e->dirty.head && !e->stop) {
            int64_t now = sl_time_mono_ms();
            int64_t until = next_sweep;
            if (interval_mode && next_flush < until) until = next_flush;
            if (atomic_load(&e->tails.stuck) && next_retry < until) until = next_retry;
            if (now >= until) break;
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            int64_t ns = ts.tv_nsec + (until - now) * 1000000;
            ts.tv_sec += ns / 1000000000;
            ts.tv_nsec = ns % 1000000000;
            pthread_cond_timedwait(&e->dirty.cond, &e->dirty.mu, &ts);
        }
        if (e->dirty.head && !e->stop && commit_gap > 0) {
            /* Group commit window: under load, rounds start at most every commit_interval_us, so
             * that more requests share each sync (measured on a VM whose disk flushes stall the
             * whole machine when issued thousands of times a second under CPU load). */
            int64_t wait = last_round + commit_gap - sl_time_mono_ns();
            if (wait > 0) {
                pthread_mutex_unlock(&e->dirty.mu);
                struct timespec ts = {.tv_sec = 0, .tv_nsec = wait};
                nanosleep(&ts, NULL);
                pthread_mutex_lock(&e->dirty.mu);
            }
            last_round = sl_time_mono_ns();
        }
        file_shard_t *list = e->dirty.head;
        e->dirty.head = e->dirty.tail = NULL;
        bool stop = e->stop;
        pthread_mutex_unlock(&e->dirty.mu);
        if (list) commit_round(e, list);
        int64_t now = sl_time_mono_ms();
        if (atomic_load(&e->tails.stuck) && now >= next_retry) {
            /* The disk was full: try the tails again (this clears tails.stuck when all are written). */
            (void)flush_all_tails(e);
            next_retry = now + SL_STORAGE_FAILED_RETRY_MS;
        }
        tail_age_flush(e);
        checkpoint_poll(e, now);
        if (interval_mode && (now >= next_flush || (stop && !list))) {
            interval_flush(e);
            next_flush = now + interval;
        }
        if (now >= next_sweep) {
            idle_sweep(e, SL_STORAGE_IDLE_CLOSE_MS);
            next_sweep = now + 1000;
        } else if (atomic_load(&e->fds.open) > e->fds.max) {
            fd_sweep(e);
        }
        pthread_mutex_lock(&e->dirty.mu);
        if (stop && !list && !e->dirty.head) break;
    }
    pthread_mutex_unlock(&e->dirty.mu);
    return NULL;
}

/* ---------------------------------------------------------------------------------------------
 * Reads */

static void bounds_locked(const file_shard_t *s, sl_shard_bounds_t *b) {
    memset(b, 0, sizeof *b);
    b->next_seq = s->next_seq;
    b->first_seq = s->next_seq;
    for (size_t i = 0; i < s->nseg; i++) {
        const seg_t *g = s->segs[i];
        b->bytes += g->size;
        if (g->end_seq > g->base_seq) {
            if (b->first_seq == s->next_seq && b->first_arrival_ms == 0 && b->last_arrival_ms == 0) {
                b->first_seq = g->base_seq;
                b->first_arrival_ms = g->first_arrival;
            }
            b->last_arrival_ms = g->last_arrival;
        }
    }
}

static void file_read_free(sl_read_result_t *res) {
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
        .partition_key = (const char *)f->pk,
        .partition_key_len = f->pk_len,
        .explicit_hash_key = f->ehk_len ? (const char *)f->ehk : NULL,
        .explicit_hash_key_len = f->ehk_len,
        .data = f->data,
        .data_len = f->data_len,
    };
    res->bytes += (size_t)f->data_len + f->pk_len;
    return 0;
}

/* Finds where to start reading seq `pos` in g: the hint, the index, or the segment's start. */
static void locate(file_shard_t *s, seg_t *g, uint64_t pos, uint64_t npoints, bool index_bad, uint64_t *off,
                   uint64_t *off_seq, bool *from_index) {
    *off = SL_SEG_HEADER_BYTES;
    *off_seq = g->base_seq;
    *from_index = false;
    if (index_bad || npoints == 0) return;
    sl_idx_entry_t ie;
    long ipos;
    if (index_search(s, g, npoints, false, pos, 0, &ie, &ipos) != 0) {
        pthread_mutex_lock(&s->mu);
        g->index_bad = true;
        pthread_mutex_unlock(&s->mu);
        SL_WARN("storage: stream %s shard %s: index of segment %020" PRIu64 ".log is unreadable; scanning instead",
                s->stream_key, s->shard_key, g->base_seq);
        return;
    }
    if (ipos < 0) return;
    *off = ie.offset;
    *off_seq = ie.seq;
    *from_index = true;
}

/* Rebuilds a sealed segment's index after a reader found it disagreeing (one reader at a time). */
static void rebuild_sealed_index(file_shard_t *s, seg_t *g) {
    file_engine_t *e = s->eng;
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
    sl_idx_entry_t seal = {.seq = end, .offset = size, .arrival_ms = sc.last_arrival, .kind = SL_IDX_SEAL};
    if (!rc) rc = write_index_file(s, g->base_seq, &sc.entries, &seal);
    char *ip = rc ? NULL : seg_path(s, g->base_seq, "idx");
    int nfd = ip ? e->ops.open(ip, O_RDONLY, 0) : -1;
    free(ip);
    pthread_mutex_lock(&s->mu);
    if (nfd >= 0 && dup2(nfd, g->idx_fd) >= 0) {
        g->npoints = sc.npoints;
        g->index_bad = false;
        SL_INFO("storage: stream %s shard %s: rebuilt the index of segment %020" PRIu64 ".log", s->stream_key,
                s->shard_key, g->base_seq);
    }
    g->rebuilding = false;
    pthread_mutex_unlock(&s->mu);
    if (nfd >= 0) e->ops.close(nfd);
    sl_buf_free(&sc.entries);
}

/* Reads len bytes at off of segment g (descriptors open), taking the bytes that are still in the
 * shard's tail from memory. Returns the bytes read (short only at the file's end) or a code. */
static ssize_t seg_read(file_shard_t *s, seg_t *g, uint8_t *buf, size_t len, uint64_t off) {
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
    ssize_t got = pread_full(&s->eng->ops, g->fd, buf, file_len, off);
    if (got < 0) return got;
    return (size_t)got < file_len ? got : (ssize_t)(file_len + mem_len);
}

typedef struct {
    size_t records_max, bytes_max;
    bool full;
} budget_t;

/* Reads from segment containing *pos. Advances *pos past what it returned or skipped. Returns 0,
 * or a negative code. Sets b->full when the budget is exhausted. */
static int read_segment(file_shard_t *s, file_read_mem_t *m, uint64_t *pos, budget_t *b) {
    file_engine_t *e = s->eng;
    sl_read_result_t *res = &m->res;
    pthread_mutex_lock(&s->mu);
    long idx = seg_find_locked(s, *pos);
    if (idx < 0) {
        *pos = s->segs[0]->base_seq;
        idx = 0;
    }
    seg_t *g = s->segs[idx];
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
    if (s->hint.base == base && s->hint.seq == *pos && s->hint.off >= SL_SEG_HEADER_BYTES && s->hint.off < size) {
        off = s->hint.off;
        off_seq = *pos;
        hinted = true;
    }
    g->refs++;
    int rc = seg_open_fds_locked(s, g);
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
        double overhead = avg > SL_FRAME_HEADER_BYTES + 1 ? avg / (avg - SL_FRAME_HEADER_BYTES) : 2.0;
        double want = rem_recs * avg;
        if (rem_bytes * overhead < want) want = rem_bytes * overhead;
        want += (double)(*pos > expect ? *pos - expect : 0) * avg + avg + SL_FRAME_HEADER_BYTES;
        if (want > 32.0 * 1024 * 1024) want = 32.0 * 1024 * 1024;
        if (want < (double)min_chunk) want = (double)min_chunk;
        min_chunk = 65536;
        size_t chunk = (size_t)SL_MIN((uint64_t)want, size - off);
        uint8_t *blk = read_block_new(m, chunk);
        if (!blk) { rc = SL_ENOMEM; break; }
        ssize_t got = seg_read(s, g, blk, chunk, off);
        if (got < 0) { rc = (int)got; break; }
        if ((size_t)got != chunk) {
            SL_ERROR("storage: stream %s shard %s: segment %020" PRIu64 ".log is shorter than its committed length",
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
                if (p == 0) min_chunk = st == SL_FRAME_TORN_BODY ? f.frame_len : SL_FRAME_HEADER_BYTES;
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
                    find_resume(s, g, npoints, !ibad, off + p, expect, INT64_MIN, size, end, &rs, &ro);
                    SL_ERROR("storage: stream %s shard %s: segment %020" PRIu64 ".log: %s at offset %" PRIu64
                             "; records with seq %" PRIu64 "..%" PRIu64 " are unreadable and skipped",
                             s->stream_key, s->shard_key, base,
                             st == SL_FRAME_OK ? "record out of sequence" : sl_frame_status_str(st), off + p, expect, rs - 1);
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
                size_t cost = (size_t)f.data_len + f.pk_len;
                if (res->count >= b->records_max || (res->count > 0 && res->bytes + cost > b->bytes_max)) {
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
    if (!rc && off >= size && *pos < end) *pos = end; /* should not happen: the segment ended early */
    pthread_mutex_lock(&s->mu);
    bool rebuild = g->sealed && g->index_bad && !g->rebuilding;
    pthread_mutex_unlock(&s->mu);
    if (rebuild) rebuild_sealed_index(s, g);
    pthread_mutex_lock(&s->mu);
    if (!rc) {
        s->hint.base = base;
        s->hint.seq = expect;
        s->hint.off = off;
    }
    bool last = g->refs == 1;
    seg_unref_locked(e, g);
    if (!last) seg_reader_release_locked(s, g);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static int seek_time_impl(file_shard_t *s, int64_t ts, uint64_t *out);

static int file_read(sl_shard_log_t *log, uint64_t from_seq, size_t records_max, size_t bytes_max, int64_t min_arrival_ms,
                     sl_read_cb cb, void *arg) {
    file_shard_t *s = (file_shard_t *)log;
    file_read_mem_t *m = calloc(1, sizeof *m);
    if (!m) return SL_ENOMEM;
    m->freefn = file_read_free;
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
    if (min_arrival_ms > 0 && res->bounds.first_seq < res->bounds.next_seq && res->bounds.first_arrival_ms < min_arrival_ms) {
        uint64_t t;
        if ((rc = seek_time_impl(s, min_arrival_ms, &t))) goto fail;
        if (t > pos) pos = t;
    }
    budget_t b = {.records_max = records_max, .bytes_max = bytes_max};
    while (!rc && !b.full && pos < res->bounds.next_seq && res->count < records_max) rc = read_segment(s, m, &pos, &b);
    if (rc && res->count == 0) goto fail;
    res->next_seq = res->count ? res->records[res->count - 1].seq + 1 : pos;
    cb(arg, 0, res);
    return 0;
fail:
    file_read_free(res);
    return rc;
}

/* Reads frame headers from `off` on until one has arrival >= ts; *seq_out is its seq, or end_seq. */
static int scan_time(file_shard_t *s, seg_t *g, uint64_t off, uint64_t size, uint64_t seq, uint64_t end_seq, int64_t ts,
                     uint64_t *seq_out) {
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
            ssize_t got = seg_read(s, g, buf, want, off);
            if (got < (ssize_t)SL_FRAME_HEADER_BYTES) { rc = got < 0 ? (int)got : SL_ECORRUPT; break; }
            boff = off;
            blen = (size_t)got;
        }
        sl_frame_t f;
        sl_frame_status_t st = sl_frame_peek(buf + (off - boff), blen - (size_t)(off - boff), &f);
        if ((st != SL_FRAME_OK && st != SL_FRAME_TORN_BODY) || f.seq != seq) { rc = SL_ECORRUPT; break; }
        if (f.arrival_ms >= ts) { *seq_out = f.seq; break; }
        off += f.frame_len;
        seq++;
    }
    free(buf);
    return rc;
}

static int seek_time_impl(file_shard_t *s, int64_t ts, uint64_t *out) {
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
        const seg_t *g = s->segs[mid];
        bool after = g->end_seq > g->base_seq && g->last_arrival >= ts;
        if (after) hi = mid; else lo = mid + 1;
    }
    while (lo < s->nseg && !(s->segs[lo]->end_seq > s->segs[lo]->base_seq && s->segs[lo]->last_arrival >= ts)) lo++;
    if (lo == s->nseg) {
        *out = b.next_seq;
        pthread_mutex_unlock(&s->mu);
        return 0;
    }
    seg_t *g = s->segs[lo];
    if (g->first_arrival >= ts) {
        *out = g->base_seq;
        pthread_mutex_unlock(&s->mu);
        return 0;
    }
    uint64_t size = g->size, end = g->end_seq, npoints = g->npoints;
    bool index_bad = g->index_bad;
    g->refs++;
    int rc = seg_open_fds_locked(s, g);
    s->last_use_ms = sl_time_mono_ms();
    pthread_mutex_unlock(&s->mu);
    uint64_t off = SL_SEG_HEADER_BYTES, seq = g->base_seq;
    if (!rc && !index_bad && npoints > 0) {
        sl_idx_entry_t ie;
        long ipos;
        if (index_search(s, g, npoints, true, 0, ts, &ie, &ipos) == 0 && ipos >= 0) {
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
        rebuild_sealed_index(s, g);
    }
    seg_unref(s, g);
    return rc;
}

static int file_seek_time(sl_shard_log_t *log, int64_t ts_ms, uint64_t *seq_out) {
    return seek_time_impl((file_shard_t *)log, ts_ms, seq_out);
}

static int file_bounds(sl_shard_log_t *log, sl_shard_bounds_t *out) {
    file_shard_t *s = (file_shard_t *)log;
    pthread_mutex_lock(&s->mu);
    bounds_locked(s, out);
    pthread_mutex_unlock(&s->mu);
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Retention */

static int file_trim(sl_shard_log_t *log, int64_t cutoff_ms) {
    file_shard_t *s = (file_shard_t *)log;
    file_engine_t *e = s->eng;
    seg_t *victims[64];
    size_t nv = 0;
    pthread_mutex_lock(&s->mu);
    while (nv < SL_ARRAY_LEN(victims) && s->nseg > 1 && s->segs[0]->sealed &&
           (s->segs[0]->end_seq == s->segs[0]->base_seq || s->segs[0]->last_arrival < cutoff_ms)) {
        victims[nv++] = s->segs[0];
        memmove(s->segs, s->segs + 1, (s->nseg - 1) * sizeof *s->segs);
        s->nseg--;
    }
    seg_t *a = s->segs[s->nseg - 1];
    if (s->nseg == 1 && a->end_seq > a->base_seq && a->last_arrival < cutoff_ms && !s->closing) {
        /* Everything is expired, including the active segment: ask the commit thread to seal it
         * so the next trim can delete it. */
        s->roll_requested = true;
        enqueue_dirty_locked(s);
    }
    pthread_mutex_unlock(&s->mu);
    int rc = 0;
    for (size_t i = 0; i < nv; i++) {
        char *lp = seg_path(s, victims[i]->base_seq, "log"), *ip = seg_path(s, victims[i]->base_seq, "idx");
        if (lp && e->ops.unlink(lp) != 0 && errno != ENOENT) rc = errno_code(errno);
        if (ip && e->ops.unlink(ip) != 0 && errno != ENOENT) rc = errno_code(errno);
        SL_DEBUG("storage: stream %s shard %s: retention deleted segment %020" PRIu64 ".log (seq %" PRIu64 "..%" PRIu64 ")",
                 s->stream_key, s->shard_key, victims[i]->base_seq, victims[i]->base_seq, victims[i]->end_seq - 1);
        free(lp);
        free(ip);
    }
    if (nv) {
        int r2 = fsync_dir(e, s->dir);
        if (!rc) rc = r2;
        pthread_mutex_lock(&s->mu);
        for (size_t i = 0; i < nv; i++) seg_unref_locked(e, victims[i]);
        pthread_mutex_unlock(&s->mu);
    }
    return rc;
}

/* ---------------------------------------------------------------------------------------------
 * Engine */

/* Segment and index descriptors the engine may keep open: a share of the process's descriptor
 * limit (SL_STORAGE_OPEN_FDS_MAX when the limit is unknown). Closing descriptors of shards idle for only
 * SL_STORAGE_FD_PRESSURE_IDLE_MS costs two open() calls per shard per commit round when the
 * touched shards need more than the budget, so a budget that fits two descriptors per shard of a
 * 4,096-shard stream matters (measured with bench_storage --only many). */
static int engine_fd_budget(void) {
    struct rlimit rl;
    long budget = SL_STORAGE_OPEN_FDS_MAX;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        long cur = rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > (1u << 24) ? (1l << 24) : (long)rl.rlim_cur;
        long share = cur / 100 * SL_STORAGE_OPEN_FDS_SHARE_PCT;
        /* Never more than the share, though: a budget above the limit itself (a soft limit of
         * 1,024 is common) ends in open() failing with EMFILE and sockets starving. */
        budget = SL_MAX(share, 16);
    }
    return (int)SL_MIN(budget, (long)INT32_MAX);
}

static int file_list(sl_storage_t *st, void (*fn)(void *, const char *, const char *), void *arg) {
    file_engine_t *e = (file_engine_t *)st;
    DIR *d = opendir(e->root);
    if (!d) return errno == ENOENT ? 0 : SL_EIO;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!sl_storage_key_valid(de->d_name)) continue;
        char *sp = path_join(e->root, de->d_name);
        if (!sp) { closedir(d); return SL_ENOMEM; }
        DIR *d2 = opendir(sp);
        if (d2) {
            struct dirent *de2;
            while ((de2 = readdir(d2))) {
                if (!sl_storage_key_valid(de2->d_name)) continue;
                char *hp = path_join(sp, de2->d_name);
                struct stat sb;
                if (hp && stat(hp, &sb) == 0 && S_ISDIR(sb.st_mode)) fn(arg, de->d_name, de2->d_name);
                free(hp);
            }
            closedir(d2);
        }
        free(sp);
    }
    closedir(d);
    return 0;
}

static int remove_tree(file_engine_t *e, const char *path, int depth) {
    DIR *d = opendir(path);
    if (!d) return errno == ENOENT ? 0 : SL_EIO;
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
        char *p = path_join(path, de->d_name);
        if (!p) { rc = SL_ENOMEM; break; }
        struct stat sb;
        if (lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode) && depth < 2) {
            int r = remove_tree(e, p, depth + 1);
            if (r && !rc) rc = r;
        } else if (e->ops.unlink(p) != 0 && errno != ENOENT && !rc) {
            rc = errno_code(errno);
        }
        free(p);
    }
    closedir(d);
    if (!rc && e->ops.rmdir(path) != 0 && errno != ENOENT) rc = errno_code(errno);
    return rc;
}

static int file_stream_delete(sl_storage_t *st, const char *stream_key) {
    file_engine_t *e = (file_engine_t *)st;
    pthread_mutex_lock(&e->registry.mu);
    for (file_shard_t *s = e->registry.head; s; s = s->registry.next) {
        if (strcmp(s->stream_key, stream_key) == 0 && !s->held) {
            pthread_mutex_unlock(&e->registry.mu);
            return SL_EINVAL;
        }
    }
    /* Shards the journal's replay restored records into and nobody opened: their records go with
     * the stream (the next replay skips a deleted stream's entries). */
    for (file_shard_t *s = e->registry.head, *next; s; s = next) {
        next = s->registry.next;
        if (strcmp(s->stream_key, stream_key) != 0) continue;
        registry_remove_locked(e, s);
        tq_remove(s);
        shard_free(s);
    }
    char *p = path_join(e->root, stream_key);
    int rc = p ? remove_tree(e, p, 0) : SL_ENOMEM;
    if (!rc) rc = fsync_dir(e, e->root);
    pthread_mutex_unlock(&e->registry.mu);
    free(p);
    return rc;
}

/* Frees the engine's locks and memory (threads stopped, shards freed); also the failure path of
 * sl_storage_open_file. */
static void engine_free(file_engine_t *e) {
    pthread_mutex_destroy(&e->registry.mu);
    pthread_mutex_destroy(&e->dirty.mu);
    pthread_cond_destroy(&e->dirty.cond);
    pthread_mutex_destroy(&e->sync.mu);
    pthread_cond_destroy(&e->sync.work);
    pthread_cond_destroy(&e->sync.done);
    pthread_mutex_destroy(&e->checkpoint.mu);
    pthread_cond_destroy(&e->checkpoint.cond);
    pthread_mutex_destroy(&e->tails.mu);
    free(e->scratch.batch);
    free(e->scratch.jobs);
    free(e->scratch.djobs);
    free(e->registry.hash);
    sl_buf_free(&e->journal.buf);
    free(e->journal.path);
    free(e->root);
    free(e);
}

static void file_close(sl_storage_t *st) {
    file_engine_t *e = (file_engine_t *)st;
    pthread_mutex_lock(&e->dirty.mu);
    e->stop = true;
    pthread_cond_signal(&e->dirty.cond);
    pthread_mutex_unlock(&e->dirty.mu);
    pthread_join(e->commit_thread, NULL);
    if (e->checkpoint.started) {
        pthread_mutex_lock(&e->checkpoint.mu);
        e->checkpoint.stop = true;
        pthread_cond_broadcast(&e->checkpoint.cond);
        pthread_mutex_unlock(&e->checkpoint.mu);
        pthread_join(e->checkpoint.thread, NULL);
    }
    if (e->journal.fd >= 0) {
        /* A last checkpoint, so that the next start has nothing to replay. */
        if (e->journal.write_lsn != e->journal.oldest_lsn && !atomic_load(&e->checkpoint.blocked)) {
            int rc = flush_all_tails(e);
            uint64_t lsn = rc ? 0 : checkpoint_mark(e); /* every tail is written: the write position */
            if (!rc) rc = journal_checkpoint_sync(e, lsn);
            if (!rc) checkpoint_finish(e, lsn);
            else SL_WARN("storage: commit journal: final checkpoint failed (%s); the next start replays it", sl_strerror(rc));
        }
        e->ops.close(e->journal.fd);
    }
    pthread_mutex_lock(&e->sync.mu);
    e->sync.stop = true;
    pthread_cond_broadcast(&e->sync.work);
    pthread_mutex_unlock(&e->sync.mu);
    for (int i = 0; i < e->sync.nthreads; i++) pthread_join(e->sync.threads[i], NULL);
    while (e->registry.head) {
        file_shard_t *s = e->registry.head;
        e->registry.head = s->registry.next;
        shard_free(s);
    }
    engine_free(e);
}

/* ---------------------------------------------------------------------------------------------
 * Commit journal: opening and replay */

typedef struct {
    char *stream, *shard;
    uint64_t lsn;
    uint32_t len;
} jrep_t;

typedef struct {
    jrep_t *v;
    size_t n, cap;
} jrep_list_t;

static void jrep_free(jrep_list_t *l) {
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].stream);
        free(l->v[i].shard);
    }
    free(l->v);
    *l = (jrep_list_t){0};
}

static int jrep_push(jrep_list_t *l, const uint8_t *ent, const sl_jnl_entry_t *je, uint64_t lsn) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        jrep_t *v = realloc(l->v, cap * sizeof *v);
        if (!v) return SL_ENOMEM;
        l->v = v;
        l->cap = cap;
    }
    jrep_t r = {.stream = strndup(sl_jnl_stream_key(ent), je->stream_key_len),
                .shard = strndup(sl_jnl_shard_key(ent, je), je->shard_key_len),
                .lsn = lsn,
                .len = je->len};
    if (!r.stream || !r.shard) {
        free(r.stream);
        free(r.shard);
        return SL_ENOMEM;
    }
    l->v[l->n++] = r;
    return 0;
}

/* Writes a new, empty journal (header, first checkpoint slot) over whatever journal.fd holds. */
static int journal_create(file_engine_t *e, const char *dir) {
    size_t want = e->base.cfg.journal_bytes ? e->base.cfg.journal_bytes : SL_STORAGE_JOURNAL_BYTES_DEFAULT;
    if (want < SL_JNL_CAPACITY_MIN) want = SL_JNL_CAPACITY_MIN;
    if (want > SL_STORAGE_JOURNAL_BYTES_MAX) want = SL_STORAGE_JOURNAL_BYTES_MAX;
    e->journal.cap = want & ~(uint64_t)(SL_JNL_ALIGN - 1);
    uint8_t *h = calloc(1, SL_JNL_DATA_OFF);
    if (!h) return SL_ENOMEM;
    sl_jnl_file_header_encode(h, e->journal.cap);
    sl_jnl_slot_encode(h + SL_JNL_SLOT0_OFF, 0, 0);
    int rc = pwrite_all(&e->ops, e->journal.fd, h, SL_JNL_DATA_OFF, 0);
    free(h);
    if (!rc && e->ops.ftruncate(e->journal.fd, SL_JNL_DATA_OFF) != 0) rc = errno_code(errno);
    if (!rc && e->ops.fdatasync(e->journal.fd) != 0) rc = errno_code(errno);
    if (!rc) rc = fsync_dir(e, dir);
    e->checkpoint.gen = 0;
    e->journal.write_lsn = e->journal.oldest_lsn = 0;
    e->journal.alloc = SL_JNL_DATA_OFF;
    return rc;
}

/* Scans the journal from its checkpoint to its first invalid entry, collecting what to replay. */
static int journal_scan(file_engine_t *e, uint64_t start, jrep_list_t *rep) {
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
        if (pread_full(&e->ops, e->journal.fd, h, sizeof h, SL_JNL_DATA_OFF + off) != (ssize_t)sizeof h) break;
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
            if (!nb) { rc = SL_ENOMEM; break; }
            buf = nb;
            bcap = je.len;
        }
        if (pread_full(&e->ops, e->journal.fd, buf, je.len, SL_JNL_DATA_OFF + off) != (ssize_t)je.len) break;
        if (sl_jnl_entry_check(buf, &je) != 0) break;
        char sk[SL_STORAGE_KEY_BYTES_MAX + 1], hk[SL_STORAGE_KEY_BYTES_MAX + 1];
        if (je.stream_key_len > SL_STORAGE_KEY_BYTES_MAX || je.shard_key_len > SL_STORAGE_KEY_BYTES_MAX) break;
        memcpy(sk, sl_jnl_stream_key(buf), je.stream_key_len);
        sk[je.stream_key_len] = 0;
        memcpy(hk, sl_jnl_shard_key(buf, &je), je.shard_key_len);
        hk[je.shard_key_len] = 0;
        if (!sl_storage_key_valid(sk) || !sl_storage_key_valid(hk)) break;
        if ((rc = jrep_push(rep, buf, &je, pos))) break;
        pos += je.len;
    }
    free(buf);
    e->journal.write_lsn = pos;
    e->journal.oldest_lsn = start;
    return rc;
}

/* Opens the commit journal, creating it with durability=sync, and collects the entries after its
 * last checkpoint. Without a journal file and another durability setting, journal.fd stays -1. */
static int journal_open(file_engine_t *e, jrep_list_t *rep) {
    char *dir = path_join(e->base.cfg.data_dir, "journal");
    e->journal.path = dir ? path_join(dir, "journal.jnl") : NULL;
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
        if (e->ops.mkdir(dir, 0700) == 0) rc = fsync_dir(e, e->base.cfg.data_dir);
        else if (errno != EEXIST) rc = errno_code(errno);
        if (rc) goto out;
    }
    e->journal.fd = e->ops.open(e->journal.path, O_RDWR | O_CREAT, 0600);
    if (e->journal.fd < 0) {
        rc = errno_code(errno);
        goto out;
    }
    h = malloc(SL_JNL_DATA_OFF);
    if (!h) { rc = SL_ENOMEM; goto out; }
    ssize_t got = pread_full(&e->ops, e->journal.fd, h, SL_JNL_DATA_OFF, 0);
    uint64_t cap = 0;
    if (got != (ssize_t)SL_JNL_DATA_OFF || sl_jnl_file_header_decode(h, &cap) != 0) {
        /* New, or a creation that did not complete (no entry is written before the header is
         * durable). A damaged header of a used journal loses what only it held: say so. */
        if (got > (ssize_t)SL_JNL_DATA_OFF || (got == (ssize_t)SL_JNL_DATA_OFF && e->ops.fstat(e->journal.fd, &st) == 0 &&
                                               st.st_size > (off_t)SL_JNL_DATA_OFF))
            SL_ERROR("storage: commit journal %s has no valid header; starting a new one (records acknowledged "
                     "since the last checkpoint may be lost)", e->journal.path);
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
        SL_ERROR("storage: commit journal %s: both checkpoint records are damaged; replaying from its start", e->journal.path);
    }
    if (e->ops.fstat(e->journal.fd, &st) != 0) { rc = errno_code(errno); goto out; }
    e->journal.alloc = SL_MIN((uint64_t)st.st_size, SL_JNL_DATA_OFF + cap);
    rc = journal_scan(e, start, rep);
    if (!rc && rep->n)
        SL_INFO("storage: commit journal: %zu entries after the last checkpoint (journal bytes %" PRIu64 "..%" PRIu64
                ") to check against the shard logs", rep->n, start, e->journal.write_lsn);
out:
    free(h);
    free(dir);
    return rc;
}

/* Replay: takes frames of one journal entry that the shard's log lacks (seqs writer.end_seq on, arrival
 * times non-decreasing: the caller checked) as the end of the shard's tail, exactly as if the
 * commit round that journaled them had just completed: readers serve them from memory, the commit
 * thread writes them to the active segment, and no checkpoint passes `lsn` before that. Nothing
 * is written here, so a full disk cannot stop a start. Opening thread, before the commit thread
 * runs. */
static int shard_adopt_frames(file_shard_t *s, const uint8_t *frames, size_t len, uint64_t lsn) {
    size_t widx0 = s->writer.idx.len;
    uint64_t size = s->writer.size, end = s->writer.end_seq, npoints = s->writer.npoints, last_point = s->writer.last_point_off;
    int64_t first_arrival = s->writer.first_arrival, last_arrival = s->writer.last_arrival;
    for (size_t p = 0; p < len;) {
        const uint8_t *f = frames + p;
        int64_t arrival = sl_frame_arrival(f);
        if (npoints == 0 || size >= last_point + SL_STORAGE_INDEX_INTERVAL_BYTES) {
            uint8_t ent[SL_IDX_ENTRY_BYTES];
            sl_idx_entry_t ie = {.seq = end, .offset = size, .arrival_ms = arrival, .kind = SL_IDX_POINT};
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
    seg_t *a = s->segs[s->nseg - 1];
    a->size = size;
    a->end_seq = end;
    a->first_arrival = first_arrival;
    a->last_arrival = last_arrival;
    s->next_seq = end;
    pthread_mutex_unlock(&s->mu);
    return 0;
}

static int jrep_cmp(const void *a, const void *b) {
    const jrep_t *x = a, *y = b;
    int c = strcmp(x->stream, y->stream);
    if (!c) c = strcmp(x->shard, y->shard);
    if (!c) c = x->lsn < y->lsn ? -1 : x->lsn > y->lsn;
    return c;
}

/* Takes into one shard's tail the journaled frames its log lacks (shard_adopt_frames). Returns
 * the shard, left open and held by the engine (file_shard_open hands it out), when it has
 * restored records; NULL otherwise. *restored counts them. */
static file_shard_t *replay_shard(file_engine_t *e, const jrep_t *v, size_t n, size_t *restored) {
    *restored = 0;
    char *sd = path_join(e->root, v[0].stream);
    char *dir = sd ? path_join(sd, v[0].shard) : NULL;
    struct stat st;
    bool exists = dir && stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
    free(sd);
    free(dir);
    if (!exists) return NULL; /* the stream was deleted after these records were journaled */
    sl_shard_log_t *log;
    if (file_shard_open(&e->base, v[0].stream, v[0].shard, NULL, &log) != 0) return NULL;
    file_shard_t *s = (file_shard_t *)log;
    uint8_t *buf = NULL;
    bool stop = false;
    for (size_t k = 0; k < n && !stop; k++) {
        uint8_t *nb = realloc(buf, v[k].len);
        if (!nb) break;
        buf = nb;
        sl_jnl_entry_t je;
        uint64_t off = SL_JNL_DATA_OFF + v[k].lsn % e->journal.cap;
        if (pread_full(&e->ops, e->journal.fd, buf, v[k].len, off) != (ssize_t)v[k].len ||
            sl_jnl_entry_decode(buf, v[k].lsn, v[k].len, &je) != 0 || sl_jnl_entry_check(buf, &je) != 0) {
            SL_ERROR("storage: stream %s shard %s: commit journal entry at %" PRIu64 " changed while replaying it",
                     v[0].stream, v[0].shard, v[k].lsn);
            break;
        }
        const uint8_t *body = sl_jnl_body(buf, &je);
        size_t p = 0, from = 0, adopted = 0;
        uint64_t next = s->writer.end_seq;
        int64_t prev_arrival = s->writer.last_arrival;
        for (uint32_t f = 0; f < je.nframes; f++) {
            sl_frame_t fr;
            if (sl_frame_decode(body + p, je.body_len - p, &fr) != SL_FRAME_OK || fr.seq != je.first_seq + f) {
                SL_ERROR("storage: stream %s shard %s: commit journal entry at %" PRIu64 " holds an invalid record",
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
                SL_ERROR("storage: stream %s shard %s: the log ends at seq %" PRIu64 " but the commit journal continues "
                         "at seq %" PRIu64 "; records from there on cannot be restored",
                         v[0].stream, v[0].shard, next - 1, fr.seq);
                stop = true;
                break;
            }
            if (!s->on_disk || fr.arrival_ms < prev_arrival) {
                SL_ERROR("storage: stream %s shard %s: %s; journaled records from seq %" PRIu64 " on cannot be restored",
                         v[0].stream, v[0].shard,
                         !s->on_disk ? "the shard's segments are missing" : "a journaled record arrived before its predecessor",
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
            SL_ERROR("storage: stream %s shard %s: cannot restore journaled records: %s", v[0].stream, v[0].shard,
                     sl_strerror(rc));
            break;
        }
        *restored += adopted;
    }
    free(buf);
    if (s->tail.buf.len == 0) {
        file_shard_close(log);
        return NULL;
    }
    s->held = true;
    return s;
}
static int held_cmp(const void *a, const void *b) {
    const file_shard_t *x = *(file_shard_t *const *)a, *y = *(file_shard_t *const *)b;
    return x->tail.lsn < y->tail.lsn ? -1 : x->tail.lsn > y->tail.lsn;
}

/* Restores from the journal what the segments lost: the frames become their shards' tails
 * (replay_shard), which are then written to the segments, and a checkpoint is recorded at the
 * journal's end. When they cannot be written (a full disk), no checkpoint moves: the tails stay in
 * memory, readable, and the journal keeps them until the commit thread manages to write them
 * (tails.stuck refuses appends meanwhile), or until the next start. Opening thread, before the
 * engine's threads start. */
static int journal_replay(file_engine_t *e, jrep_list_t *rep) {
    if (rep->n) qsort(rep->v, rep->n, sizeof *rep->v, jrep_cmp);
    size_t records = 0, nheld = 0;
    file_shard_t **held = rep->n ? malloc(rep->n * sizeof *held) : NULL;
    if (rep->n && !held) return SL_ENOMEM;
    for (size_t i = 0; i < rep->n;) {
        size_t j = i + 1;
        while (j < rep->n && strcmp(rep->v[j].stream, rep->v[i].stream) == 0 && strcmp(rep->v[j].shard, rep->v[i].shard) == 0)
            j++;
        size_t r = 0;
        file_shard_t *s = replay_shard(e, rep->v + i, j - i, &r);
        if (s) held[nheld++] = s;
        records += r;
        i = j;
    }
    /* The tail queue is ordered by journal position: a checkpoint frees the journal up to the
     * oldest tail only. */
    if (nheld) qsort(held, nheld, sizeof *held, held_cmp);
    for (size_t i = 0; i < nheld; i++) tq_push(held[i]);
    free(held);
    if (records)
        SL_WARN("storage: commit journal: restoring %zu records of %zu shard(s) that had not reached their segments",
                records, nheld);
    if (e->journal.write_lsn == e->journal.oldest_lsn) return 0;
    int rc = flush_all_tails(e);
    uint64_t lsn = rc ? 0 : checkpoint_mark(e); /* every tail is written: the journal's end */
    if (!rc) rc = journal_checkpoint_sync(e, lsn);
    if (!rc) {
        checkpoint_finish(e, lsn);
        return 0;
    }
    /* Keep everything: the checkpoint stays where it was, the restored records stay readable from
     * memory, and the commit thread retries. */
    SL_ERROR("storage: commit journal: cannot write %zu restored records to their segments (%s); they stay in the "
             "journal and are served from memory; writes are refused until they are written",
             records, sl_strerror(rc));
    atomic_store(&e->tails.stuck, rc);
    return 0;
}

static const sl_storage_vtable_t file_vtable = {
    .close = file_close,
    .list = file_list,
    .shard_open = file_shard_open,
    .shard_close = file_shard_close,
    .stream_delete = file_stream_delete,
    .append = file_append,
    .read = file_read,
    .read_free = file_read_free,
    .seek_time = file_seek_time,
    .bounds = file_bounds,
    .trim = file_trim,
    .set_floor = file_set_floor,
};

int sl_storage_open_file(const sl_storage_config_t *cfg, sl_storage_t **out) {
    if (!cfg || !cfg->data_dir || !*cfg->data_dir) return SL_EINVAL;
    if (cfg->durability != SL_DURABILITY_SYNC && cfg->durability != SL_DURABILITY_INTERVAL &&
        cfg->durability != SL_DURABILITY_NONE)
        return SL_EINVAL;
    file_engine_t *e = calloc(1, sizeof *e);
    if (!e) return SL_ENOMEM;
    e->base.vt = &file_vtable;
    e->base.cfg = *cfg;
    const sl_file_ops_t *o = cfg->file_ops ? cfg->file_ops : &sl_file_ops_posix;
    e->ops = *o;
#define FILL(f) if (!e->ops.f) e->ops.f = sl_file_ops_posix.f
    FILL(open); FILL(close); FILL(pwrite); FILL(pread); FILL(fdatasync); FILL(fsync); FILL(ftruncate);
    FILL(unlink); FILL(rename); FILL(mkdir); FILL(fstat); FILL(rmdir); FILL(syncfs);
#undef FILL
    e->base.cfg.file_ops = &e->ops;
    e->segment_bytes = cfg->segment_bytes ? cfg->segment_bytes : SL_STORAGE_SEGMENT_BYTES_DEFAULT;
    e->fds.max = engine_fd_budget();
    e->root = path_join(cfg->data_dir, "streams");
    if (!e->root) { free(e); return SL_ENOMEM; }
    pthread_mutex_init(&e->registry.mu, NULL);
    pthread_mutex_init(&e->dirty.mu, NULL);
    pthread_cond_init(&e->dirty.cond, NULL);
    pthread_mutex_init(&e->sync.mu, NULL);
    pthread_cond_init(&e->sync.work, NULL);
    pthread_cond_init(&e->sync.done, NULL);
    pthread_mutex_init(&e->checkpoint.mu, NULL);
    pthread_cond_init(&e->checkpoint.cond, NULL);
    pthread_mutex_init(&e->tails.mu, NULL);
    e->journal.fd = -1;
    jrep_list_t rep = {0};
    atomic_init(&e->pending_bytes, 0);
    atomic_init(&e->fds.open, 0);
    atomic_init(&e->fail.code, 0);
    atomic_init(&e->fail.until_ms, 0);
    atomic_init(&e->checkpoint.blocked, false);
    atomic_init(&e->tails.stuck, 0);
    int rc = 0;
    if (e->ops.mkdir(cfg->data_dir, 0700) != 0 && errno != EEXIST) rc = errno_code(errno);
    if (!rc && e->ops.mkdir(e->root, 0700) == 0) rc = fsync_dir(e, cfg->data_dir);
    else if (!rc && errno != EEXIST) rc = errno_code(errno);
    if (rc) {
        SL_ERROR("storage: cannot create %s: %s", e->root, sl_strerror(rc));
        goto fail;
    }
    if ((rc = journal_open(e, &rep))) {
        SL_ERROR("storage: cannot open the commit journal %s: %s", e->journal.path ? e->journal.path : "", sl_strerror(rc));
        goto fail;
    }
    if (e->journal.fd >= 0) {
        /* Before the engine's threads start: replay writes nothing it cannot do without. */
        rc = journal_replay(e, &rep);
        jrep_free(&rep);
        if (rc) {
            SL_ERROR("storage: commit journal %s: cannot replay it: %s", e->journal.path, sl_strerror(rc));
            goto fail;
        }
    }
    if (pthread_create(&e->commit_thread, NULL, commit_main, e) != 0) { rc = SL_ENOMEM; goto fail_shards; }
    if (cfg->durability != SL_DURABILITY_NONE) {
        for (int i = 0; i < SL_STORAGE_SYNC_THREADS - 1; i++) {
            if (pthread_create(&e->sync.threads[i], NULL, sync_worker, e) != 0) break;
            e->sync.nthreads++;
        }
    }
    if (e->journal.fd >= 0) {
        if (pthread_create(&e->checkpoint.thread, NULL, ck_main, e) == 0) e->checkpoint.started = true;
        e->checkpoint.next_ms = sl_time_mono_ms() + SL_STORAGE_CHECKPOINT_MS;
        /* Without the checkpoint thread the ring would never be freed: write directly then. */
        e->journal.on = e->checkpoint.started && cfg->durability == SL_DURABILITY_SYNC;
    }
    *out = &e->base;
    return 0;
fail_shards:
    while (e->registry.head) { /* held by the replay; their records stay in the journal */
        file_shard_t *s = e->registry.head;
        e->registry.head = s->registry.next;
        shard_free(s);
    }
fail:
    jrep_free(&rep);
    if (e->journal.fd >= 0) e->ops.close(e->journal.fd);
    engine_free(e);
    return rc;
}
