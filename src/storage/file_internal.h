/* Internals of the segment-file storage engine (storage/file*.c; the overview is in file.c, the
 * format in docs/storage-format.md): the engine and shard-log structs that every part works on,
 * and the functions one part calls in another, listed by the file that defines them. Nothing
 * outside the engine includes this header: other layers and the tests use backend.h (and
 * internal.h for the file-ops table).
 *
 * Threads and ownership:
 *  - sl_file_engine_t is owned by the caller of sl_storage_open_file until sl_storage_close.
 *  - sl_file_shard_t is owned by the engine's registry from shard_open to shard_close.
 *  - sl_file_seg_t is reference counted: the shard's segment list holds one reference, readers
 *    and the commit thread take one while they use its file descriptors (which may be closed only
 *    while nobody else holds a reference).
 *  - Fields marked (mu) are guarded by the shard mutex; fields marked (writer) belong to the
 *    commit thread alone.
 * Lock order: engine registry mutex -> shard mutex -> engine queue mutex. No lock is held during
 * file I/O except the short open() of a lazily opened file descriptor. */
#ifndef SL_STORAGE_FILE_INTERNAL_H
#define SL_STORAGE_FILE_INTERNAL_H

#include "core/buf.h"
#include "storage/format.h"
#include "storage/internal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

typedef struct sl_file_engine sl_file_engine_t;

typedef struct sl_file_shard sl_file_shard_t;

typedef struct {
    uint64_t base_seq;
    uint64_t end_seq;      /* (mu) seq after the last committed record; == base_seq when empty */
    int64_t first_arrival; /* (mu) valid when not empty */
    int64_t last_arrival;  /* (mu) */
    uint64_t size;         /* (mu) committed bytes, header included */
    uint64_t npoints;      /* (mu) committed POINT entries in the index file */
    bool sealed;           /* (mu) */
    bool index_bad;        /* (mu) the index disagreed with the segment: readers scan instead */
    bool rebuilding;       /* (mu) a reader is rebuilding this sealed segment's index */
    int fd, idx_fd;        /* (mu) -1 while closed; opened lazily */
    int refs;              /* (mu) */
} sl_file_seg_t;

/* One append to one shard: its records, framed on the caller's thread in the buffer of the append
 * call (its request, sl_file_req_t), and how to complete it. The commit thread links a round's
 * appends to their shard (next) in the order they were queued. */
typedef struct sl_file_op sl_file_op_t;
struct sl_file_op {
    sl_file_shard_t *shard;
    uint8_t *frames; /* n frames, `bytes` long, in the request's buffer */
    sl_append_cb cb; /* NULL: a group of a batch append (arg is its sl_append_group_t) */
    void *arg;
    size_t n; /* 0: no records, the shard only asks for a round (a roll) */
    size_t bytes;
    sl_file_op_t *next; /* (writer) the shard's next append of the round */
    uint64_t first_seq; /* (writer) assigned at commit */
    int64_t arrival_ms; /* (writer) arrival time assigned to the first record at commit */
};

/* One append call (sl_file_append, sl_file_append_batch) queued for the commit thread: its
 * appends, one per shard, and their frames, in one allocation. Appends touch no shard state:
 * the commit thread takes every queued request of a round at once and hands each append to its
 * shard. Freed when the round that took it ends (all its appends are completed by then). */
typedef struct sl_file_req sl_file_req_t;
struct sl_file_req {
    sl_file_req_t *next; /* the stack of queued requests */
    size_t nops;
    bool wake;          /* its push reached the count the commit thread waits for */
    sl_file_op_t ops[]; /* then the frames */
};

/* A shard's part in one commit round (writer): its appends and what the round did with them.
 * A shard has two (sl_file_shard_t.rd): while one round's sync is in flight the next round
 * writes the shard's next appends in the other. */
typedef struct {
    /* the round's appends to the shard: a list through sl_file_op_t.next, in the order they were
     * queued; bytes: of their frames */
    sl_file_op_t *ops, *last_op;
    size_t nops, bytes;
    uint64_t gen; /* the round (engine round count) that gathered them; 0: the slot is free */
    /* inputs: roll requested, result of opening the active segment's descriptors, whether
     * this round creates the shard's files, and the active index's index_bad when taken */
    bool roll, create, index_bad;
    int open_rc;
    /* result */
    size_t ok_ops;    /* ops [0, ok_ops) are durable in sealed segments or fully written */
    size_t region_op; /* first op of the unsynced region */
    sl_file_op_t *region_first; /* that op */
    int status;
    bool region; /* a region was written to the active segment and awaits sync */
    uint64_t size0, end0, npoints0, last_point0;
    int64_t arrival0;
    /* the writer state at the round's end (after its writes, or after they were undone): what
     * its completion publishes to readers */
    uint64_t size1, end1;
    int64_t first_arrival1, last_arrival1;
    sl_file_seg_t *seg; /* active segment referenced during the round; its descriptors are
                         * opened only when the round writes to the file (round_fds) */
    bool jnl;           /* this round's frames are made durable by the journal */
    bool deferred;      /* journaled: completed with the round's journal sync, after its
                         * last chunk */
    uint64_t lsn;       /* journal lsn of this round's entry */
} sl_file_round_t;

/* A shard log. Allocated 64-byte aligned, with the state a commit round visits (SL_FILE_SHARD_HOT
 * bytes: the lock, flags, writer, round and tail state, the keys) first and the rest after it:
 * with thousands of shards each visit is a few cache misses, which the commit thread's passes
 * fetch ahead line by line (file_commit.c). */
struct sl_file_shard {
    sl_shard_log_t base;
    sl_file_engine_t *eng;
    pthread_mutex_t mu;
    /* in_batch: (mu) in a commit round being written or in flight (set by its take pass) */
    bool in_batch, closing, roll_requested;
    bool unsynced; /* (mu) durability=interval: written since the last flush */
    /* (writer; set at open) the shard's directory and first segment exist and are durable. A
     * shard opened for the first time creates nothing on disk: the commit thread creates its
     * files in the first round that has appends for it (sl_file_shard_create_files). Until then the
     * shard is an empty in-memory log whose only segment (base 1) has no descriptors. */
    bool on_disk;
    /* (registry mutex) opened by the journal's replay, which left restored records in its tail:
     * the engine keeps it open until sl_file_shard_open hands it out (or the stream is deleted). */
    bool held;
    /* writer state (writer): the active segment as the commit thread sees it (its rounds' writes
     * included, also those of a round in flight). npoints counts index entries of the active
     * segment, written or not; entries are written to the index file (npoints_disk of them so
     * far) only once the data they point to is durable, so that recovery may trust everything
     * before the last entry it verifies. idx holds the entries not written yet (entries
     * [npoints_disk, npoints)). */
    struct {
        bool needs_truncate;
        uint64_t size, end_seq, npoints, npoints_disk, last_point_off;
        int64_t last_arrival,
            first_arrival; /* first_arrival: of the active segment's first record */
        /* (set before the first append, then writer) the next record's seq must be at least
         * this (sl_storage_shard_set_floor): the next round seals the active segment and starts
         * the new one here. 0 = none. */
        uint64_t floor;
        sl_buf_t idx;
    } writer;
    /* (writer) The shard's part in two commit rounds: the one being written (rd[cur]) and the
     * one before it, whose sync may still be in flight (file_commit.c, "Pipelined rounds"). */
    sl_file_round_t rd[2];
    uint8_t cur;
    /* Frames committed through the journal but not yet written to the active segment file: bytes
     * [tail.off, tail.off + tail.buf.len) of the active segment (mu). Readers copy them from here;
     * the commit thread writes them out when enough gathered, before any direct write or roll,
     * at checkpoints and when the shard closes. */
    struct {
        sl_buf_t buf;
        uint64_t off;
        /* journal lsn of the entry that started the tail (writer) */
        uint64_t lsn;
        /* (writer) bytes appended since the last periodic write of every tail, which keeps the
         * buffer of a shard that filled a quarter of it meanwhile (it fills again) and frees the
         * others' (quiet shards, and busy ones turned quiet, do not keep 64 KiB each) */
        size_t appended;
        /* Tail queue (engine tails.mu): shards with a non-empty tail, oldest tail first. */
        bool queued;
        sl_file_shard_t *next, *prev;
    } tail;
    uint64_t next_seq;    /* (mu) committed tip */
    sl_file_seg_t **segs; /* (mu) sorted by base_seq; the last is active */
    size_t nseg;
    char *stream_key, *shard_key; /* in the shard's allocation, right after the struct */
    size_t stream_key_len, shard_key_len;
    int64_t last_use_ms; /* (mu) monotonic */
    char *dir;           /* the first field a commit round does not visit */
    size_t capseg;
    pthread_cond_t cond; /* signalled when a commit round for this shard ends */
    /* (registry mutex) links of the registry's list and bucket chain of its hash table */
    struct {
        sl_file_shard_t *next, *prev;
        sl_file_shard_t *hash_next;
    } registry;
    /* sequential-read hint (mu): the frame at hint.off of segment hint.base has seq hint.seq */
    struct {
        uint64_t base, seq, off;
    } hint;
    /* (writer) index entries [0, checkpoint.npoints) of the segment with base checkpoint.base
     * point at data the running checkpoint makes durable; written to the index file when it
     * completes. */
    /* ckdirty: (writer) journaled frames were written to the active segment since the last
     * checkpoint mark, which then makes that segment durable. */
    struct {
        uint64_t npoints, base;
        bool ckdirty;
    } checkpoint;
};

#define SL_FILE_SHARD_HOT offsetof(sl_file_shard_t, dir)

/* The shard's part in the round being written. */
static inline sl_file_round_t *sl_file_rd(sl_file_shard_t *s) {
    return &s->rd[s->cur];
}

/* Fetches every line of the state a commit round visits. */
static inline void sl_file_prefetch_shard(const sl_file_shard_t *s) {
    for (size_t off = 0; off < SL_FILE_SHARD_HOT; off += 64)
        __builtin_prefetch((const char *)s + off, 1);
}

typedef struct {
    int fd;
    int rc;
    bool dir; /* a directory: fsync instead of fdatasync */
} sl_file_sync_job_t;

/* A write-back the checkpoint thread starts (sl_file_writeback_start). */
typedef struct {
    int fd; /* a duplicate, closed afterwards */
    uint64_t off, len;
} sl_file_wb_t;

struct sl_file_engine {
    sl_storage_t base;
    sl_file_ops_t ops;
    char *root; /* <data_dir>/streams */
    size_t segment_bytes;
    /* open shards */
    struct {
        pthread_mutex_t mu;
        sl_file_shard_t *head;
        sl_file_shard_t **hash; /* (registry.mu) open shards by (stream key, shard key), chained */
        size_t hash_cap, count;
    } registry;
    /* segment and index descriptors */
    struct {
        int max; /* descriptor budget of segment/index files (see sl_file_engine_fd_budget) */
        atomic_int open; /* segment and index descriptors held in sl_file_seg_t */
    } fds;
    /* Append calls queued for the commit thread (sl_file_req_t): a lock-free stack that an
     * append pushes onto with one compare-and-swap and the commit thread takes whole; mu and cond
     * only wake the commit thread when the stack was empty or when `queued` reaches `want`. */
    struct {
        pthread_mutex_t mu;
        pthread_cond_t cond;
        _Atomic(sl_file_req_t *) stack;
        /* Appends of the requests pushed so far, and the count at which the commit thread wants
         * to be woken (round start, sl_file_commit_main; 0 = it does not wait for a count). */
        _Atomic uint64_t pushed, want;
        /* (mu) Appends whose round has ended: a shard's close waits until every request pushed
         * before it has ended (done_cond, signalled while `closers` wait). */
        uint64_t done;
        pthread_cond_t done_cond;
        int closers;
    } reqs;
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
        sl_file_sync_job_t *jobs;
        size_t n, next, finished;
        uint64_t gen;
        bool stop;
        /* the last posted job finished (the pool tells the commit thread, which may be waiting
         * for appends while a round's syncs are in flight, through reqs.cond) */
        atomic_bool idle;
    } sync;
    /* (writer) Pipelined rounds (file_commit.c): the round whose syncs run on the pool while the
     * commit thread takes and writes the next one. Completed (flight_finish) before the next
     * round's own syncs start, and before anything else the pool would run. */
    struct {
        bool active;
        uint64_t gen;  /* its round */
        int64_t t0_ns; /* when it started (the round-time metric) */
        /* its journaled shards (the round's scratch.jbatch, swapped) and its last chunk's shards
         * written directly, whose syncs follow the journal's in jobs */
        sl_file_shard_t **jb, **direct;
        size_t nj, jb_cap, nd, direct_cap;
        sl_file_sync_job_t *jobs; /* the posted jobs (scratch.jobs, swapped) */
        size_t jobs_cap;
        bool jused;          /* jobs[0] is the journal's sync */
        uint64_t lsn0;       /* the journal's write position before its entry */
        sl_file_req_t *reqs; /* its requests, oldest first: freed once it completes */
        size_t nops;
    } flight;
    uint64_t round_gen; /* (writer) rounds gathered so far */
    /* commit-thread scratch */
    struct {
        sl_file_shard_t **batch;
        size_t batch_cap;
        sl_file_shard_t **round; /* every shard of the round, gathered from its requests */
        size_t round_cap;
        struct iovec *wiov; /* the pieces of a shard's share written to its segment */
        size_t wiov_cap;
        sl_file_sync_job_t *jobs;
        size_t jobs_cap;
        sl_file_sync_job_t *djobs; /* directory syncs of the shards created in the current chunk */
        size_t ndjobs, djobs_cap;
        /* the round's journaled shards of every chunk so far: one journal write and one
         * fdatasync after the last chunk make them all durable */
        sl_file_shard_t **jbatch;
        size_t njbatch, jbatch_cap;
        /* the round being written: its requests (nops appends), shards and start */
        sl_file_req_t *reqs;
        size_t nops, round_shards;
        int64_t t0_ns;
    } scratch;
    /* Shared commit journal (durability=sync; docs/storage-format.md). The commit thread owns the
     * write position; the checkpoint thread makes segment writes durable and records up to where
     * the journal is no longer needed. */
    struct {
        bool on; /* (writer) rounds may go through the journal */
        int fd;  /* -1 without a journal */
        char *path;
        uint64_t cap;         /* bytes of the ring after SL_JNL_DATA_OFF */
        uint64_t write_lsn;   /* (writer) lsn of the next entry (entries before it may still be
                               * syncing: the round in flight's, flight.lsn0 on) */
        uint64_t oldest_lsn;  /* (writer) oldest lsn still needed (the last checkpoint's) */
        uint64_t alloc;       /* (writer) bytes of the journal file written so far */
        uint64_t round_bytes; /* (writer) bytes of the entries chosen so far in this round */
        /* (writer) the round in flight failed while this round was being written: this round's
         * journaled shares (after it in the journal) fail too, and were already undone */
        int jfail;
        /* (writer) the round's entry header and its shares' headers: the entry is written from
         * them and from the shards' frames where they are (iov), without copying the frames */
        sl_buf_t buf;
        struct iovec *iov;
        size_t iov_cap;
        sl_buf_t gather; /* (writer) the entry gathered, only through a test's file-ops table */
    } journal;
    struct {
        int64_t next_ms; /* (writer) next time-driven checkpoint */
        pthread_t thread;
        bool started;
        pthread_mutex_t mu;
        pthread_cond_t cond;
        int state;    /* (checkpoint.mu) CK_IDLE, CK_RUNNING, CK_DONE, CK_FAILED */
        uint64_t lsn; /* (checkpoint.mu) lsn the running checkpoint records */
        uint64_t gen; /* (checkpoint thread) generation of the last slot written */
        bool stop;    /* (checkpoint.mu) */
        /* During the journal file's first lap the checkpoint thread writes the zeros ahead of the
         * write position (file_checkpoint.c, "growth"), so that no commit round writes and syncs
         * megabytes of them: [grow_from, grow_to) while grow_state is CK_RUNNING. */
        int grow_state;              /* (checkpoint.mu) CK_IDLE, CK_RUNNING, CK_DONE, CK_FAILED */
        uint64_t grow_from, grow_to; /* (checkpoint.mu) file offsets */
        int64_t grow_retry_ms;       /* (writer) no new growth before this after a failed one */
        /* The segments the running checkpoint makes durable, one fdatasync each (referenced,
         * with their shards, until it completes); with `all` one syncfs instead (too many, or a
         * segment that could not be opened, or the last checkpoint failed: `retry_all`). Set by
         * the commit thread before the checkpoint starts. */
        sl_file_seg_t **segs;
        sl_file_shard_t **seg_shards;
        size_t nsegs, segs_cap;
        bool all, retry_all;
        /* (checkpoint.mu) write-back to start of full tails written to their segments, each with
         * a duplicate of the segment's descriptor that the checkpoint thread closes afterwards */
        sl_file_wb_t wb[SL_STORAGE_WRITEBACK_QUEUE];
        size_t nwb;
        /* A shard closed with journaled records it could not write to its segment: the journal
         * must keep them until the next start replays them, so no checkpoint may advance any
         * more. */
        atomic_bool blocked;
    } checkpoint;
    /* shards with a non-empty tail, oldest tail first (the tail queue) */
    struct {
        pthread_mutex_t mu; /* guards the tail queue links (a leaf lock) */
        /* Journaled records could not be written to their segments because the disk is full (at
         * a start, or when a tail was due): appends are refused with that code (SL_ENOSPC,
         * SL_EROFS), without touching the journal, until the commit thread manages to write
         * every tail (it retries every SL_STORAGE_FAILED_RETRY_MS). Reads are served meanwhile. */
        atomic_int stuck; /* 0, or the SL_E* code appends get */
        sl_file_shard_t *head, *tail;
    } tails;
};

/* One shard's records in the journal, to replay: a RECORDS entry (share_len 0), or one share of a
 * ROUND entry (share_len bytes at share_off inside the entry at lsn). */
typedef struct {
    char *stream, *shard;
    uint64_t lsn;
    uint32_t len;
    uint32_t share_off, share_len;
} sl_file_jrep_t;

typedef struct {
    sl_file_jrep_t *v;
    size_t n, cap;
} sl_file_jrep_list_t;

/* file.c */
int sl_file_errno_code(int err);
/* Writes all len bytes at off (retrying short writes); 0 or an SL_E* code. */
int sl_file_pwrite_all(const sl_file_ops_t *ops, int fd, const void *buf, size_t len, uint64_t off);
/* Writes the n pieces of iov one after the other from off (see file.c; iov is modified by a
 * short write); scratch gathers them when ops is not the real table. 0 or an SL_E* code. */
int sl_file_pwritev_all(const sl_file_ops_t *ops, int fd, struct iovec *iov, size_t n, uint64_t off,
                        sl_buf_t *scratch);
ssize_t sl_file_pread_full(const sl_file_ops_t *ops, int fd, void *buf, size_t len, uint64_t off);
/* a/b, malloc'ed; NULL without memory. */
char *sl_file_path_join(const char *a, const char *b);
/* fsyncs the directory; 0 or an SL_E* code. */
int sl_file_fsync_dir(sl_file_engine_t *e, const char *dir);

/* file_segment.c */
/* The path of segment `base`'s file with extension ext ("log", "idx"), malloc'ed. */
char *sl_file_seg_path(const sl_file_shard_t *s, uint64_t base, const char *ext);
/* A new empty segment at base, with one reference and no descriptors. */
sl_file_seg_t *sl_file_seg_new(uint64_t base);
/* Closes the segment's descriptors; mu held (or the shard is private to the caller). */
void sl_file_seg_close_fds(sl_file_engine_t *e, sl_file_seg_t *g);
void sl_file_seg_reader_release_locked(sl_file_shard_t *s, sl_file_seg_t *g);
void sl_file_seg_unref_locked(sl_file_engine_t *e, sl_file_seg_t *g);
/* Drops a reference, taking the shard mutex (sl_file_seg_reader_release_locked). */
void sl_file_seg_unref(sl_file_shard_t *s, sl_file_seg_t *g);
int sl_file_seg_open_fds_locked(sl_file_shard_t *s, sl_file_seg_t *g);
/* Appends g to the shard's segment list; mu held. */
int sl_file_segs_push(sl_file_shard_t *s, sl_file_seg_t *g);
long sl_file_seg_find_locked(const sl_file_shard_t *s, uint64_t seq);
int sl_file_seg_create_files(sl_file_shard_t *s, uint64_t base, bool durable, int *fd_out,
                             int *idx_out);
int sl_file_index_search(sl_file_shard_t *s, sl_file_seg_t *g, uint64_t n, bool by_time,
                         uint64_t seq, int64_t ts, sl_idx_entry_t *out, long *pos_out);
int sl_file_index_entry_at(sl_file_shard_t *s, sl_file_seg_t *g, uint64_t i, sl_idx_entry_t *out);
/* The backend's trim (backend.h, sl_storage_trim). */
int sl_file_trim(sl_shard_log_t *log, int64_t cutoff_ms);

/* file_recover.c */
/* Loads and recovers the segments of a shard log being opened (seg_recover each). */
int sl_file_shard_recover(sl_file_shard_t *s);
void sl_file_find_resume(sl_file_shard_t *s, sl_file_seg_t *g, uint64_t npoints, bool use_index,
                         uint64_t bad_off, uint64_t expect, int64_t arrival_min, uint64_t size,
                         uint64_t end, uint64_t *seq_out, uint64_t *off_out);
int sl_file_rebuild_active_index(sl_file_shard_t *s, sl_file_seg_t *a);
void sl_file_rebuild_sealed_index(sl_file_shard_t *s, sl_file_seg_t *g);

/* file_registry.c */
/* Frees a shard log that is off the registry, dropping its segment references. */
void sl_file_shard_free(sl_file_shard_t *s);
/* Takes s off the registry's list and hash table; registry.mu held. */
void sl_file_registry_remove_locked(sl_file_engine_t *e, sl_file_shard_t *s);
/* The backend's shard_open (backend.h, sl_storage_shard_open). */
int sl_file_shard_open(sl_storage_t *st, const char *stream_key, const char *shard_key, void *user,
                       sl_shard_log_t **out);
int sl_file_set_floor(sl_shard_log_t *log, uint64_t floor_seq);
/* The backend's shard_close (backend.h, sl_storage_shard_close). */
void sl_file_shard_close(sl_shard_log_t *log);
void sl_file_fd_sweep(sl_file_engine_t *e);
void sl_file_idle_sweep(sl_file_engine_t *e, int64_t idle_ms);
int sl_file_engine_fd_budget(void);

/* file_commit.c */
/* Asks the commit thread for a round that visits s even without appends (a roll requested):
 * queues a request without records; s->mu held. */
void sl_file_request_round_locked(sl_file_shard_t *s);
/* Waits until every request queued so far has been committed (a shard's close). */
void sl_file_wait_queued(sl_file_engine_t *e);
/* The backend's append (backend.h, sl_storage_append). */
int sl_file_append(sl_shard_log_t *log, const sl_record_t *records, size_t n, sl_append_cb cb,
                   void *arg);
/* The backend's append_batch (backend.h, sl_storage_append_batch). */
int sl_file_append_batch(sl_storage_t *st, sl_append_batch_t *b);
int sl_file_flush_pending_index(sl_file_shard_t *s, sl_file_seg_t *g);
/* Writes the frames of the round's appends from `from` up to `to` (exclusive; NULL: the last) to
 * the round's active segment at off, with one pwrite(v). 0 or an SL_E* code. Commit thread. */
int sl_file_write_ops(sl_file_shard_t *s, sl_file_round_t *r, sl_file_op_t *from,
                      const sl_file_op_t *to, uint64_t off);
/* Opens the descriptors of the round's active segment (round.seg) if they are closed: a round
 * opens them only when it writes to the file. 0 or an SL_E* code. Commit thread. */
int sl_file_round_fds(sl_file_shard_t *s, sl_file_round_t *r);
/* A thread of the fdatasync pool. */
void *sl_file_sync_worker(void *arg);
int sl_file_shard_create_files(sl_file_engine_t *e, sl_file_shard_t *s, sl_file_seg_t *g,
                               const char **prev_stream, bool *root_queued);
/* The commit thread. */
void *sl_file_commit_main(void *arg);

/* file_journal.c */
void sl_file_tq_push(sl_file_shard_t *s);
/* Takes s off the tail queue (nothing when it is not queued). */
void sl_file_tq_remove(sl_file_shard_t *s);
int sl_file_shard_flush_tail(sl_file_shard_t *s, sl_file_seg_t *a, bool release);
/* Decides which of the chunk's n shards (scratch.batch) go through the journal (round.jnl),
 * counting the entries already chosen in this round (journal.round_bytes) against the ring. */
void sl_file_journal_choose(sl_file_engine_t *e, size_t n);
/* The same in two steps, for a loop that visits each shard anyway: each shard's choice (returns
 * its share's bytes, 0 when it is written directly), then the chunk's fit in the ring (false:
 * it does not fit, and every share of the chunk is written directly). */
size_t sl_file_journal_choose_one(sl_file_engine_t *e, sl_file_shard_t *s);
bool sl_file_journal_fit(sl_file_engine_t *e, size_t n, size_t total);
/* Writes the entries of the n journaled shards (not yet synced); *next is the lsn after them. */
int sl_file_journal_write(sl_file_engine_t *e, sl_file_shard_t *const *shards, size_t n,
                          uint64_t *next);
void sl_file_journal_failed(sl_file_engine_t *e, int rc);
bool sl_file_tail_append_locked(sl_file_shard_t *s, const sl_file_round_t *r);
void sl_file_tail_append_failed(sl_file_shard_t *s, sl_file_round_t *r);
/* Frees what sl_file_journal_open collected. */
void sl_file_jrep_free(sl_file_jrep_list_t *l);
int sl_file_journal_open(sl_file_engine_t *e, sl_file_jrep_list_t *rep);
int sl_file_journal_replay(sl_file_engine_t *e, sl_file_jrep_list_t *rep);

/* file_checkpoint.c */
int sl_file_journal_checkpoint_sync(sl_file_engine_t *e, uint64_t lsn);
/* The checkpoint thread: runs each checkpoint and journal growth the commit thread starts. */
void *sl_file_ck_main(void *arg);
/* Commit thread, before it writes zeros past journal.alloc itself: waits for a running growth and
 * takes its zeros into journal.alloc. */
void sl_file_journal_grow_wait(sl_file_engine_t *e);
int sl_file_flush_all_tails(sl_file_engine_t *e, bool keep_busy);
void sl_file_tail_age_flush(sl_file_engine_t *e);
uint64_t sl_file_checkpoint_mark(sl_file_engine_t *e);
void sl_file_checkpoint_finish(sl_file_engine_t *e, uint64_t lsn);
/* Starts the write-back of [off, off + len) of fd on the checkpoint thread (sync_file_range). */
void sl_file_writeback_start(sl_file_engine_t *e, int fd, uint64_t off, uint64_t len);
/* Ends a checkpoint that failed (ok false; sl_file_checkpoint_finish ends one that succeeded). */
void sl_file_checkpoint_release(sl_file_engine_t *e, bool ok);
void sl_file_checkpoint_poll(sl_file_engine_t *e, int64_t now);

/* file_read.c */
/* The backend's read_free (backend.h, sl_storage_read_free). */
void sl_file_read_free(sl_read_result_t *res);
ssize_t sl_file_seg_read(sl_file_shard_t *s, sl_file_seg_t *g, uint8_t *buf, size_t len,
                         uint64_t off);
/* The backend's read (backend.h, sl_storage_read). */
int sl_file_read_memory(sl_shard_log_t *log, uint64_t from_seq, size_t records_max,
                        size_t bytes_max, int64_t min_arrival_ms, sl_read_result_t **out);
int sl_file_read(sl_shard_log_t *log, uint64_t from_seq, size_t records_max, size_t bytes_max,
                 int64_t min_arrival_ms, sl_read_cb cb, void *arg);
/* The backend's seek_time (backend.h, sl_storage_seek_time). */
int sl_file_seek_time(sl_shard_log_t *log, int64_t ts_ms, uint64_t *seq_out);
/* The backend's bounds (backend.h, sl_storage_bounds). */
int sl_file_bounds(sl_shard_log_t *log, sl_shard_bounds_t *out);

#endif
