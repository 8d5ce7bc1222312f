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
 * An append call frames its records into one buffer of its own (a request, queued with one
 * compare-and-swap; no shard state is touched) and returns. One commit thread takes every queued
 * request, hands each append to its shard and assigns sequence numbers. With
 * durability=sync, small shares of a round go to the shared commit journal (one pwrite and one
 * fdatasync for the whole round, however many shards it touches) and stay in the shard's tail
 * until they are written to the segment without a sync; large shares are written to their
 * segment and fdatasync'd, in parallel with the journal's sync (group commit). Under load those
 * syncs run on the sync pool while the commit thread writes the next round (pipelined rounds,
 * file_commit.c). Checkpoints (one
 * syncfs, on their own thread) free the journal; the journal is replayed when the engine opens.
 * Otherwise each shard's frames are written with one pwrite. A failed write or sync fails the
 * appends of that round for that shard, truncates their bytes away and leaves the engine usable.
 *
 * The engine is split by subsystem; each file opens with what it does:
 *  - file.c: this overview, the file helpers every part uses, and the engine's lifecycle (open,
 *    close, list, stream deletion) behind the backend's dispatch table;
 *  - file_segment.c: segments, their descriptors and index files, and retention;
 *  - file_recover.c: scanning segments, recovery when a shard log opens, index rebuilds;
 *  - file_registry.c: opening and closing shard logs (the registry) and the descriptor budget;
 *  - file_commit.c: appends, commit rounds (pipelined), group commit and the fdatasync pool;
 *  - file_journal.c: the shared commit journal (writing rounds, shard tails, replay at open);
 *  - file_checkpoint.c: checkpoints, which free the journal;
 *  - file_read.c: reads, seeks by time and bounds.
 * The structs they share, threads, ownership and the lock order are in file_internal.h. */
#include "core/common.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/time.h"
#include "storage/file_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/uio.h>

/* ---------------------------------------------------------------------------------------------
 * Small helpers */

/* The SL_E* code of a failed file call: a full disk and a read-only file system are told apart
 * from other I/O errors (the API answers them with their own messages), and running out of
 * descriptors is back-pressure (SL_EAGAIN: the client is asked to retry), not an I/O error. */
int sl_file_errno_code(int err) {
    switch (err) {
    case ENOSPC:
    case EDQUOT:
        return SL_ENOSPC;
    case EROFS:
        return SL_EROFS;
    case EMFILE:
    case ENFILE:
        return SL_EAGAIN;
    default:
        return SL_EIO;
    }
}

int sl_file_pwrite_all(const sl_file_ops_t *ops, int fd, const void *buf, size_t len,
                       uint64_t off) {
    const uint8_t *p = buf;
    while (len > 0) {
        ssize_t w = ops->pwrite(fd, p, len, (off_t)off);
        if (w < 0) {
            if (errno == EINTR) continue;
            return sl_file_errno_code(errno);
        }
        if (w == 0) return SL_EIO;
        p += w;
        len -= (size_t)w;
        off += (uint64_t)w;
    }
    return 0;
}

/* Writes the n pieces of iov one after the other from off (retrying short writes): with the real
 * calls, pwritev from the pieces where they are, at most IOV_MAX a call. Through another table (a
 * test's fault injection) the pieces are gathered into one buffer first and written with that
 * table's pwrite, so that an injected fault sees the same single write as before; scratch is that
 * buffer. 0 or an SL_E* code. */
int sl_file_pwritev_all(const sl_file_ops_t *ops, int fd, struct iovec *iov, size_t n, uint64_t off,
                        sl_buf_t *scratch) {
    if (ops->pwrite != sl_file_ops_posix.pwrite) {
        sl_buf_reset(scratch);
        for (size_t i = 0; i < n; i++)
            sl_buf_append(scratch, iov[i].iov_base, iov[i].iov_len);
        if (sl_buf_failed(scratch)) {
            scratch->failed = false;
            return SL_ENOMEM;
        }
        int rc = sl_file_pwrite_all(ops, fd, scratch->data, scratch->len, off);
        sl_buf_reset(scratch);
        return rc;
    }
    size_t i = 0;
    while (i < n) {
        if (iov[i].iov_len == 0) {
            i++;
            continue;
        }
        int cnt = (int)SL_MIN(n - i, (size_t)IOV_MAX);
        ssize_t w = pwritev(fd, iov + i, cnt, (off_t)off);
        if (w < 0) {
            if (errno == EINTR) continue;
            return sl_file_errno_code(errno);
        }
        if (w == 0) return SL_EIO;
        off += (uint64_t)w;
        /* skip the pieces written; a piece written in part keeps its rest */
        size_t left = (size_t)w;
        while (i < n && left >= iov[i].iov_len) {
            left -= iov[i].iov_len;
            i++;
        }
        if (left) {
            iov[i].iov_base = (uint8_t *)iov[i].iov_base + left;
            iov[i].iov_len -= left;
        }
    }
    return 0;
}

/* Reads up to len bytes; returns bytes read (short only at end of file) or a negative code. */
ssize_t sl_file_pread_full(const sl_file_ops_t *ops, int fd, void *buf, size_t len, uint64_t off) {
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

char *sl_file_path_join(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    char *p = malloc(la + lb + 2);
    if (!p) return NULL;
    memcpy(p, a, la);
    p[la] = '/';
    memcpy(p + la + 1, b, lb + 1);
    return p;
}

int sl_file_fsync_dir(sl_file_engine_t *e, const char *dir) {
    int fd = e->ops.open(dir, O_RDONLY | O_DIRECTORY, 0);
    if (fd < 0) return sl_file_errno_code(errno);
    int rc = e->ops.fsync(fd) == 0 ? 0 : sl_file_errno_code(errno);
    e->ops.close(fd);
    return rc;
}

/* ---------------------------------------------------------------------------------------------
 * Engine */

static int file_list(sl_storage_t *st, void (*fn)(void *, const char *, const char *), void *arg) {
    sl_file_engine_t *e = (sl_file_engine_t *)st;
    DIR *d = opendir(e->root);
    if (!d) return errno == ENOENT ? 0 : SL_EIO;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!sl_storage_key_valid(de->d_name)) continue;
        char *sp = sl_file_path_join(e->root, de->d_name);
        if (!sp) {
            closedir(d);
            return SL_ENOMEM;
        }
        DIR *d2 = opendir(sp);
        if (d2) {
            struct dirent *de2;
            while ((de2 = readdir(d2))) {
                if (!sl_storage_key_valid(de2->d_name)) continue;
                char *hp = sl_file_path_join(sp, de2->d_name);
                struct stat sb;
                if (hp && stat(hp, &sb) == 0 && S_ISDIR(sb.st_mode))
                    fn(arg, de->d_name, de2->d_name);
                free(hp);
            }
            closedir(d2);
        }
        free(sp);
    }
    closedir(d);
    return 0;
}

/* Segments and bytes of one shard directory: *.log files are segments; every regular file's size
 * (segments and their indexes) counts as bytes. */
static void shard_usage(const char *dir, uint64_t *segments, uint64_t *bytes) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t n = strlen(de->d_name);
        bool log = n > 4 && strcmp(de->d_name + n - 4, ".log") == 0;
        bool idx = n > 4 && strcmp(de->d_name + n - 4, ".idx") == 0;
        if (!log && !idx) continue;
        struct stat sb;
        if (fstatat(dirfd(d), de->d_name, &sb, 0) != 0 || !S_ISREG(sb.st_mode)) continue;
        *segments += log;
        *bytes += (uint64_t)sb.st_size;
    }
    closedir(d);
}

static int file_usage(sl_storage_t *st, sl_storage_usage_fn fn, void *arg) {
    sl_file_engine_t *e = (sl_file_engine_t *)st;
    DIR *d = opendir(e->root);
    if (!d) return errno == ENOENT ? 0 : SL_EIO;
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!sl_storage_key_valid(de->d_name)) continue;
        char *sp = sl_file_path_join(e->root, de->d_name);
        if (!sp) {
            rc = SL_ENOMEM;
            break;
        }
        uint64_t segments = 0, bytes = 0;
        DIR *d2 = opendir(sp);
        if (d2) {
            struct dirent *de2;
            while ((de2 = readdir(d2))) {
                if (!sl_storage_key_valid(de2->d_name)) continue;
                char *hp = sl_file_path_join(sp, de2->d_name);
                if (hp) shard_usage(hp, &segments, &bytes);
                free(hp);
            }
            closedir(d2);
            fn(arg, de->d_name, segments, bytes);
        }
        free(sp);
    }
    closedir(d);
    return rc;
}

static int remove_tree(sl_file_engine_t *e, const char *path, int depth) {
    DIR *d = opendir(path);
    if (!d) return errno == ENOENT ? 0 : SL_EIO;
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
        char *p = sl_file_path_join(path, de->d_name);
        if (!p) {
            rc = SL_ENOMEM;
            break;
        }
        struct stat sb;
        if (lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode) && depth < 2) {
            int r = remove_tree(e, p, depth + 1);
            if (r && !rc) rc = r;
        } else if (e->ops.unlink(p) != 0 && errno != ENOENT && !rc) {
            rc = sl_file_errno_code(errno);
        }
        free(p);
    }
    closedir(d);
    if (!rc && e->ops.rmdir(path) != 0 && errno != ENOENT) rc = sl_file_errno_code(errno);
    return rc;
}

static int file_stream_delete(sl_storage_t *st, const char *stream_key) {
    sl_file_engine_t *e = (sl_file_engine_t *)st;
    pthread_mutex_lock(&e->registry.mu);
    for (sl_file_shard_t *s = e->registry.head; s; s = s->registry.next) {
        if (strcmp(s->stream_key, stream_key) == 0 && !s->held) {
            pthread_mutex_unlock(&e->registry.mu);
            return SL_EINVAL;
        }
    }
    /* Shards the journal's replay restored records into and nobody opened: their records go with
     * the stream (the next replay skips a deleted stream's entries). */
    for (sl_file_shard_t *s = e->registry.head, *next; s; s = next) {
        next = s->registry.next;
        if (strcmp(s->stream_key, stream_key) != 0) continue;
        sl_file_registry_remove_locked(e, s);
        sl_file_tq_remove(s);
        sl_file_shard_free(s);
    }
    char *p = sl_file_path_join(e->root, stream_key);
    int rc = p ? remove_tree(e, p, 0) : SL_ENOMEM;
    if (!rc) rc = sl_file_fsync_dir(e, e->root);
    pthread_mutex_unlock(&e->registry.mu);
    free(p);
    return rc;
}

/* Frees the engine's locks and memory (threads stopped, shards freed); also the failure path of
 * sl_storage_open_file. */
static void engine_free(sl_file_engine_t *e) {
    pthread_mutex_destroy(&e->registry.mu);
    pthread_mutex_destroy(&e->reqs.mu);
    pthread_cond_destroy(&e->reqs.cond);
    pthread_cond_destroy(&e->reqs.done_cond);
    pthread_mutex_destroy(&e->sync.mu);
    pthread_cond_destroy(&e->sync.work);
    pthread_cond_destroy(&e->sync.done);
    pthread_mutex_destroy(&e->checkpoint.mu);
    pthread_cond_destroy(&e->checkpoint.cond);
    pthread_mutex_destroy(&e->tails.mu);
    free(e->scratch.batch);
    free(e->scratch.round);
    free(e->scratch.wiov);
    free(e->scratch.jobs);
    free(e->scratch.djobs);
    free(e->scratch.jbatch);
    free(e->flight.jb);
    free(e->flight.direct);
    free(e->flight.jobs);
    free(e->checkpoint.segs);
    free(e->checkpoint.seg_shards);
    free(e->registry.hash);
    sl_buf_free(&e->journal.buf);
    sl_buf_free(&e->journal.gather);
    free(e->journal.iov);
    free(e->journal.path);
    free(e->root);
    free(e);
}

static void file_close(sl_storage_t *st) {
    sl_file_engine_t *e = (sl_file_engine_t *)st;
    pthread_mutex_lock(&e->reqs.mu);
    e->stop = true;
    pthread_cond_signal(&e->reqs.cond);
    pthread_mutex_unlock(&e->reqs.mu);
    pthread_join(e->commit_thread, NULL);
    if (e->checkpoint.started) {
        pthread_mutex_lock(&e->checkpoint.mu);
        e->checkpoint.stop = true;
        pthread_cond_broadcast(&e->checkpoint.cond);
        pthread_mutex_unlock(&e->checkpoint.mu);
        pthread_join(e->checkpoint.thread, NULL);
    }
    /* (a checkpoint that ended after the commit thread's last look) */
    if (e->checkpoint.nsegs) sl_file_checkpoint_release(e, false);
    if (e->journal.fd >= 0) {
        /* A last checkpoint, so that the next start has nothing to replay. */
        if (e->journal.write_lsn != e->journal.oldest_lsn && !atomic_load(&e->checkpoint.blocked)) {
            int rc = sl_file_flush_all_tails(e, false);
            uint64_t lsn =
                rc ? 0 : sl_file_checkpoint_mark(e); /* every tail is written: the write position */
            if (!rc) rc = sl_file_journal_checkpoint_sync(e, lsn);
            if (!rc)
                sl_file_checkpoint_finish(e, lsn);
            else
                sl_file_checkpoint_release(e, false);
            if (rc)
                SL_WARN("storage: commit journal: final checkpoint failed (%s); the next start "
                        "replays it",
                        sl_strerror(rc));
        }
        e->ops.close(e->journal.fd);
    }
    pthread_mutex_lock(&e->sync.mu);
    e->sync.stop = true;
    pthread_cond_broadcast(&e->sync.work);
    pthread_mutex_unlock(&e->sync.mu);
    for (int i = 0; i < e->sync.nthreads; i++)
        pthread_join(e->sync.threads[i], NULL);
    while (e->registry.head) {
        sl_file_shard_t *s = e->registry.head;
        e->registry.head = s->registry.next;
        sl_file_shard_free(s);
    }
    engine_free(e);
}

static const sl_storage_vtable_t file_vtable = {
    .close = file_close,
    .list = file_list,
    .usage = file_usage,
    .shard_open = sl_file_shard_open,
    .shard_close = sl_file_shard_close,
    .stream_delete = file_stream_delete,
    .append = sl_file_append,
    .append_batch = sl_file_append_batch,
    .read = sl_file_read,
    .read_free = sl_file_read_free,
    .read_memory = sl_file_read_memory,
    .seek_time = sl_file_seek_time,
    .bounds = sl_file_bounds,
    .trim = sl_file_trim,
    .set_floor = sl_file_set_floor,
};

int sl_storage_open_file(const sl_storage_config_t *cfg, sl_storage_t **out) {
    if (!cfg || !cfg->data_dir || !*cfg->data_dir) return SL_EINVAL;
    if (cfg->durability != SL_DURABILITY_SYNC && cfg->durability != SL_DURABILITY_INTERVAL &&
        cfg->durability != SL_DURABILITY_NONE)
        return SL_EINVAL;
    sl_file_engine_t *e = calloc(1, sizeof *e);
    if (!e) return SL_ENOMEM;
    e->base.vt = &file_vtable;
    e->base.cfg = *cfg;
    const sl_file_ops_t *o = cfg->file_ops ? cfg->file_ops : &sl_file_ops_posix;
    e->ops = *o;
#define FILL(f)                                                                                    \
    if (!e->ops.f) e->ops.f = sl_file_ops_posix.f
    FILL(open);
    FILL(close);
    FILL(pwrite);
    FILL(pread);
    FILL(fdatasync);
    FILL(fsync);
    FILL(ftruncate);
    FILL(unlink);
    FILL(rename);
    FILL(mkdir);
    FILL(fstat);
    FILL(rmdir);
    FILL(syncfs);
    FILL(sync_file_range);
#undef FILL
    e->base.cfg.file_ops = &e->ops;
    e->segment_bytes = cfg->segment_bytes ? cfg->segment_bytes : SL_STORAGE_SEGMENT_BYTES_DEFAULT;
    e->fds.max = sl_file_engine_fd_budget();
    e->root = sl_file_path_join(cfg->data_dir, "streams");
    if (!e->root) {
        free(e);
        return SL_ENOMEM;
    }
    pthread_mutex_init(&e->registry.mu, NULL);
    pthread_mutex_init(&e->reqs.mu, NULL);
    pthread_cond_init(&e->reqs.cond, NULL);
    pthread_cond_init(&e->reqs.done_cond, NULL);
    pthread_mutex_init(&e->sync.mu, NULL);
    pthread_cond_init(&e->sync.work, NULL);
    pthread_cond_init(&e->sync.done, NULL);
    pthread_mutex_init(&e->checkpoint.mu, NULL);
    pthread_cond_init(&e->checkpoint.cond, NULL);
    pthread_mutex_init(&e->tails.mu, NULL);
    e->journal.fd = -1;
    sl_file_jrep_list_t rep = {0};
    atomic_init(&e->pending_bytes, 0);
    atomic_init(&e->fds.open, 0);
    atomic_init(&e->fail.code, 0);
    atomic_init(&e->fail.until_ms, 0);
    atomic_init(&e->checkpoint.blocked, false);
    atomic_init(&e->tails.stuck, 0);
    int rc = 0;
    if (e->ops.mkdir(cfg->data_dir, 0700) != 0 && errno != EEXIST) rc = sl_file_errno_code(errno);
    if (!rc && e->ops.mkdir(e->root, 0700) == 0)
        rc = sl_file_fsync_dir(e, cfg->data_dir);
    else if (!rc && errno != EEXIST)
        rc = sl_file_errno_code(errno);
    if (rc) {
        SL_ERROR("storage: cannot create %s: %s", e->root, sl_strerror(rc));
        goto fail;
    }
    if ((rc = sl_file_journal_open(e, &rep))) {
        SL_ERROR("storage: cannot open the commit journal %s: %s",
                 e->journal.path ? e->journal.path : "", sl_strerror(rc));
        goto fail;
    }
    if (e->journal.fd >= 0) {
        /* Before the engine's threads start: replay writes nothing it cannot do without. */
        rc = sl_file_journal_replay(e, &rep);
        sl_file_jrep_free(&rep);
        if (rc) {
            SL_ERROR("storage: commit journal %s: cannot replay it: %s", e->journal.path,
                     sl_strerror(rc));
            goto fail;
        }
    }
    if (pthread_create(&e->commit_thread, NULL, sl_file_commit_main, e) != 0) {
        rc = SL_ENOMEM;
        goto fail_shards;
    }
    if (cfg->durability != SL_DURABILITY_NONE) {
        for (int i = 0; i < SL_STORAGE_SYNC_THREADS - 1; i++) {
            if (pthread_create(&e->sync.threads[i], NULL, sl_file_sync_worker, e) != 0) break;
            e->sync.nthreads++;
        }
    }
    if (e->journal.fd >= 0) {
        if (pthread_create(&e->checkpoint.thread, NULL, sl_file_ck_main, e) == 0)
            e->checkpoint.started = true;
        e->checkpoint.next_ms = sl_time_mono_ms() + SL_STORAGE_CHECKPOINT_MS;
        /* Without the checkpoint thread the ring would never be freed: write directly then. */
        e->journal.on = e->checkpoint.started && cfg->durability == SL_DURABILITY_SYNC;
    }
    *out = &e->base;
    return 0;
fail_shards:
    while (e->registry.head) { /* held by the replay; their records stay in the journal */
        sl_file_shard_t *s = e->registry.head;
        e->registry.head = s->registry.next;
        sl_file_shard_free(s);
    }
fail:
    sl_file_jrep_free(&rep);
    if (e->journal.fd >= 0) e->ops.close(e->journal.fd);
    engine_free(e);
    return rc;
}
