/* The object store (see objstore.h): buckets and objects on disk, the in-memory key index, reads,
 * copies and listings. Multipart uploads are in multipart.c; the object file format and the
 * durable write path in file.c. */
#include "objstore/internal.h"

#include "core/crc32c.h"
#include "core/limits.h"
#include "core/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SL_S3_ERROR_DEFINE(id, c, st, msg) const sl_s3_error_t id[1] = {{c, st, msg}};
SL_S3_ERROR_TABLE(SL_S3_ERROR_DEFINE)
#undef SL_S3_ERROR_DEFINE

int sl_os_fail(sl_objstore_err_t *err, const sl_s3_error_t *code, const char *detail_name,
               const char *detail_value) {
    err->code = code;
    err->message = NULL;
    err->detail_name = detail_name;
    err->detail_value = detail_value;
    return SL_EINVAL;
}

int sl_os_internal(sl_objstore_err_t *err, int rc) {
    err->code = SL_S3_INTERNAL_ERROR;
    err->message = NULL;
    err->detail_name = err->detail_value = NULL;
    return rc < 0 ? rc : SL_EIO;
}

/* ---- the index ---- */

static int entry_cmp(const void *a, const void *b) {
    return strcmp(((const sl_os_entry_t *)a)->key, ((const sl_os_entry_t *)b)->key);
}

/* First index with key >= `key` (count when none). */
static size_t lower_bound(const sl_os_bucket_t *b, const char *key) {
    size_t lo = 0, hi = b->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(b->entries[mid].key, key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

sl_os_bucket_t *sl_os_find_bucket(sl_objstore_t *s, const char *name) {
    for (size_t i = 0; i < s->bucket_count; i++)
        if (strcmp(s->buckets[i]->name, name) == 0) return s->buckets[i];
    return NULL;
}

int sl_os_index_put(sl_os_bucket_t *b, const sl_objstore_info_t *info) {
    size_t i = lower_bound(b, info->key);
    sl_os_entry_t *e;
    if (i < b->count && strcmp(b->entries[i].key, info->key) == 0) {
        e = &b->entries[i];
    } else {
        if (b->count == b->cap) {
            size_t cap = b->cap ? b->cap * 2 : 64;
            sl_os_entry_t *n = realloc(b->entries, cap * sizeof *n);
            if (!n) return SL_ENOMEM;
            b->entries = n;
            b->cap = cap;
        }
        char *key = strdup(info->key);
        if (!key) return SL_ENOMEM;
        memmove(&b->entries[i + 1], &b->entries[i], (b->count - i) * sizeof *b->entries);
        b->count++;
        e = &b->entries[i];
        e->key = key;
    }
    e->size = info->size;
    e->mtime_ms = info->mtime_ms;
    memcpy(e->etag, info->etag, sizeof e->etag);
    return 0;
}

static void index_remove(sl_os_bucket_t *b, const char *key) {
    size_t i = lower_bound(b, key);
    if (i >= b->count || strcmp(b->entries[i].key, key) != 0) return;
    free(b->entries[i].key);
    memmove(&b->entries[i], &b->entries[i + 1], (b->count - i - 1) * sizeof *b->entries);
    b->count--;
}

static void bucket_free(sl_os_bucket_t *b) {
    if (!b) return;
    for (size_t i = 0; i < b->count; i++)
        free(b->entries[i].key);
    free(b->entries);
    free(b);
}

/* ---- open ---- */

bool sl_objstore_bucket_name_valid(const char *name) {
    size_t n = strlen(name);
    if (n < 3 || n > 63) return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!alnum && c != '.' && c != '-') return false;
        if ((i == 0 || i == n - 1) && !alnum) return false;
        if (c == '.' && (name[i + 1] == '.' || name[i + 1] == '-' || (i > 0 && name[i - 1] == '-')))
            return false;
    }
    unsigned a, b, c, d;
    char tail;
    if (sscanf(name, "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail) == 4) return false; /* an address */
    if (strncmp(name, "xn--", 4) == 0) return false;
    return true;
}

/* Reads buckets/<name>: its meta file and the header of each object; removes unfinished writes. */
static int load_bucket(sl_objstore_t *s, const char *name) {
    char path[SL_OS_PATH_MAX];
    int64_t created;
    if (sl_os_read_bucket_meta(s, name, &created) != 0) {
        SL_WARN("objstore: %s/buckets/%s has no meta file (a create or delete that did not "
                "finish): removed",
                s->dir, name);
        return sl_os_remove_bucket_dir(s, name);
    }
    sl_os_bucket_t *b = calloc(1, sizeof *b);
    if (!b) return SL_ENOMEM;
    sl_os_fmt(b->name, sizeof b->name, "%s", name);
    b->created_ms = created;
    sl_os_clean_dir(s, name, "tmp");
    sl_os_fmt(path, sizeof path, "%s/buckets/%s/o", s->dir, name);
    DIR *d = opendir(path);
    if (!d) {
        bucket_free(b);
        SL_ERROR("objstore: cannot read %s: %s", path, strerror(errno));
        return SL_EIO;
    }
    sl_arena_t arena;
    sl_arena_init(&arena, 16384);
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        char fpath[SL_OS_PATH_MAX];
        sl_os_fmt(fpath, sizeof fpath, "%s/%s", path, e->d_name);
        int fd = open(fpath, O_RDONLY | O_CLOEXEC);
        sl_objstore_info_t info;
        uint64_t data_off;
        if (fd < 0 || sl_os_read_header(fd, &arena, &info, &data_off) != 0) {
            SL_WARN("objstore: %s is not a readable object file: skipped", fpath);
            if (fd >= 0) close(fd);
            continue;
        }
        close(fd);
        if (b->count == b->cap) {
            size_t cap = b->cap ? b->cap * 2 : 64;
            sl_os_entry_t *n = realloc(b->entries, cap * sizeof *n);
            if (!n) {
                rc = SL_ENOMEM;
                break;
            }
            b->entries = n;
            b->cap = cap;
        }
        sl_os_entry_t *en = &b->entries[b->count];
        en->key = strdup(info.key);
        if (!en->key) {
            rc = SL_ENOMEM;
            break;
        }
        en->size = info.size;
        en->mtime_ms = info.mtime_ms;
        memcpy(en->etag, info.etag, sizeof en->etag);
        b->count++;
        sl_arena_reset(&arena);
    }
    closedir(d);
    sl_arena_deinit(&arena);
    if (rc) {
        bucket_free(b);
        return rc;
    }
    if (b->count) /* an empty bucket has no entry array (qsort of NULL is undefined) */
        qsort(b->entries, b->count, sizeof *b->entries, entry_cmp);
    if (s->bucket_count >= SL_OBJSTORE_BUCKETS_MAX) {
        bucket_free(b);
        SL_WARN("objstore: bucket %s not served: more than %d buckets", name,
                SL_OBJSTORE_BUCKETS_MAX);
        return 0;
    }
    s->buckets[s->bucket_count++] = b;
    return 0;
}

int sl_objstore_open(const char *dir, sl_objstore_t **out) {
    *out = NULL;
    sl_objstore_t *s = calloc(1, sizeof *s);
    if (!s) return SL_ENOMEM;
    s->dir = strdup(dir);
    s->buckets = calloc(SL_OBJSTORE_BUCKETS_MAX, sizeof *s->buckets);
    if (!s->dir || !s->buckets) {
        sl_objstore_close(s);
        return SL_ENOMEM;
    }
    pthread_mutex_init(&s->mu, NULL);
    char path[SL_OS_PATH_MAX];
    int rc = sl_os_mkdir(s->dir);
    sl_os_fmt(path, sizeof path, "%s/buckets", dir);
    if (rc == 0) rc = sl_os_mkdir(path);
    sl_os_fmt(path, sizeof path, "%s/uploads", dir);
    if (rc == 0) rc = sl_os_mkdir(path);
    sl_os_fmt(path, sizeof path, "%s/buckets", dir);
    DIR *d = rc == 0 ? opendir(path) : NULL;
    if (rc == 0 && !d) rc = SL_EIO;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (!sl_objstore_bucket_name_valid(e->d_name)) continue;
        rc = load_bucket(s, e->d_name);
    }
    if (d) closedir(d);
    if (rc) {
        SL_ERROR("objstore: cannot open %s: %s", dir, sl_strerror(rc));
        sl_objstore_close(s);
        return rc;
    }
    *out = s;
    return 0;
}

void sl_objstore_close(sl_objstore_t *s) {
    if (!s) return;
    for (size_t i = 0; s->buckets && i < s->bucket_count; i++)
        bucket_free(s->buckets[i]);
    free(s->buckets);
    free(s->dir);
    if (s->dir) pthread_mutex_destroy(&s->mu);
    free(s);
}

/* ---- buckets ---- */

int sl_objstore_create_bucket(sl_objstore_t *s, const char *name, int64_t now_ms,
                              sl_objstore_err_t *err) {
    if (!sl_objstore_bucket_name_valid(name))
        return sl_os_fail(err, SL_S3_INVALID_BUCKET_NAME, "BucketName", name);
    pthread_mutex_lock(&s->mu);
    int rc = 0;
    if (sl_os_find_bucket(s, name))
        rc = sl_os_fail(err, SL_S3_BUCKET_ALREADY_OWNED, "BucketName", name);
    else if (s->bucket_count >= SL_OBJSTORE_BUCKETS_MAX)
        rc = sl_os_fail(err, SL_S3_TOO_MANY_BUCKETS, NULL, NULL);
    sl_os_bucket_t *b = rc == 0 ? calloc(1, sizeof *b) : NULL;
    if (rc == 0 && !b) rc = sl_os_internal(err, SL_ENOMEM);
    /* The directories first, the meta file last: a bucket exists once its meta file is durable
     * (a crash before leaves a directory that the next open removes). */
    if (rc == 0) rc = sl_os_make_bucket_dirs(s, name, now_ms);
    if (rc == 0) {
        sl_os_fmt(b->name, sizeof b->name, "%s", name);
        b->created_ms = now_ms;
        size_t i = 0;
        while (i < s->bucket_count && strcmp(s->buckets[i]->name, name) < 0)
            i++;
        memmove(&s->buckets[i + 1], &s->buckets[i], (s->bucket_count - i) * sizeof *s->buckets);
        s->buckets[i] = b;
        s->bucket_count++;
    } else {
        free(b);
        if (!err->code) sl_os_internal(err, rc);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int sl_objstore_head_bucket(sl_objstore_t *s, const char *name, sl_objstore_err_t *err) {
    pthread_mutex_lock(&s->mu);
    bool found = sl_os_find_bucket(s, name) != NULL;
    pthread_mutex_unlock(&s->mu);
    return found ? 0 : sl_os_fail(err, SL_S3_NO_SUCH_BUCKET, "BucketName", name);
}

int sl_objstore_delete_bucket(sl_objstore_t *s, const char *name, sl_objstore_err_t *err) {
    pthread_mutex_lock(&s->mu);
    sl_os_bucket_t *b = sl_os_find_bucket(s, name);
    int rc = 0;
    if (!b)
        rc = sl_os_fail(err, SL_S3_NO_SUCH_BUCKET, "BucketName", name);
    else if (b->count > 0)
        rc = sl_os_fail(err, SL_S3_BUCKET_NOT_EMPTY, "BucketName", name);
    if (rc == 0) {
        rc = sl_os_remove_bucket_dir(s, name);
        if (rc) {
            sl_os_internal(err, rc);
        } else {
            size_t i = 0;
            while (s->buckets[i] != b)
                i++;
            memmove(&s->buckets[i], &s->buckets[i + 1],
                    (s->bucket_count - i - 1) * sizeof *s->buckets);
            s->bucket_count--;
            bucket_free(b);
        }
    }
    pthread_mutex_unlock(&s->mu);
    if (rc == 0) sl_os_abort_uploads_of(s, name);
    return rc;
}

int sl_objstore_list_buckets(sl_objstore_t *s, sl_arena_t *arena, sl_objstore_bucket_t **out,
                             size_t *count) {
    pthread_mutex_lock(&s->mu);
    size_t n = s->bucket_count;
    sl_objstore_bucket_t *list = sl_arena_calloc(arena, n ? n : 1, sizeof *list);
    for (size_t i = 0; list && i < n; i++) {
        list[i].name = sl_arena_strndup(arena, s->buckets[i]->name, strlen(s->buckets[i]->name));
        list[i].created_ms = s->buckets[i]->created_ms;
        if (!list[i].name) list = NULL;
    }
    pthread_mutex_unlock(&s->mu);
    if (!list) return SL_ENOMEM;
    *out = list;
    *count = n;
    return 0;
}

/* ---- objects ---- */

int sl_os_check_key(const char *key, sl_objstore_err_t *err) {
    size_t n = strlen(key);
    if (n == 0) return sl_os_fail(err, SL_S3_INVALID_ARGUMENT, "ArgumentName", "key");
    if (n > SL_OBJSTORE_KEY_BYTES_MAX) return sl_os_fail(err, SL_S3_KEY_TOO_LONG, "Key", key);
    return 0;
}

/* Publishes a finished temp file as bucket/key: rename under the lock (so the index and the file
 * agree), then the directory's fsync. */
int sl_os_publish(sl_objstore_t *s, const char *bucket, const char *tmp_path,
                  const sl_objstore_info_t *info, sl_objstore_err_t *err) {
    char final[SL_OS_PATH_MAX], dir[SL_OS_PATH_MAX];
    sl_os_object_path(s, bucket, info->key, final, sizeof final);
    sl_os_fmt(dir, sizeof dir, "%s/buckets/%s/o", s->dir, bucket);
    pthread_mutex_lock(&s->mu);
    sl_os_bucket_t *b = sl_os_find_bucket(s, bucket);
    int rc = 0;
    if (!b) {
        rc = sl_os_fail(err, SL_S3_NO_SUCH_BUCKET, "BucketName", bucket);
    } else if (rename(tmp_path, final) != 0) {
        SL_ERROR("objstore: cannot rename %s to %s: %s", tmp_path, final, strerror(errno));
        rc = sl_os_internal(err, sl_os_errno_code(errno));
    } else if ((rc = sl_os_index_put(b, info)) != 0) {
        sl_os_internal(err, rc);
    }
    pthread_mutex_unlock(&s->mu);
    if (rc) {
        unlink(tmp_path);
        return rc;
    }
    rc = sl_os_sync_dir(dir);
    return rc ? sl_os_internal(err, rc) : 0;
}

int sl_objstore_put(sl_objstore_t *s, const char *bucket, const char *key, const void *data,
                    size_t len, const sl_objstore_header_t *headers, size_t header_count,
                    const uint8_t *md5, int64_t now_ms, sl_arena_t *arena, sl_objstore_info_t *info,
                    sl_objstore_err_t *err) {
    sl_objstore_upload_t *u;
    int rc = sl_objstore_upload_begin(s, bucket, key, NULL, 0, headers, header_count,
                                      SL_OBJSTORE_CHECKSUM_NONE, now_ms, &u, err);
    if (rc) return rc;
    rc = sl_objstore_upload_write(u, data, len, err);
    if (rc) {
        sl_objstore_upload_abort(u);
        return rc;
    }
    rc = sl_objstore_upload_commit(u, md5, NULL, arena, info, err);
    if (rc == 0) info->key = key;
    return rc;
}

/* Opens bucket/key and reads its header; NoSuchBucket / NoSuchKey as S3 answers them. */
static int open_object(sl_objstore_t *s, const char *bucket, const char *key, sl_arena_t *arena,
                       int *fd_out, sl_objstore_info_t *info, uint64_t *data_off,
                       sl_objstore_err_t *err) {
    if (sl_objstore_head_bucket(s, bucket, err) != 0) return SL_EINVAL;
    if (sl_os_check_key(key, err) != 0) return SL_EINVAL;
    char path[SL_OS_PATH_MAX];
    sl_os_object_path(s, bucket, key, path, sizeof path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) return sl_os_fail(err, SL_S3_NO_SUCH_KEY, "Key", key);
        return sl_os_internal(err, sl_os_errno_code(errno));
    }
    int rc = sl_os_read_header(fd, arena, info, data_off);
    if (rc == 0 && strcmp(info->key, key) != 0) rc = SL_ECORRUPT; /* a SHA-256 collision */
    if (rc) {
        close(fd);
        SL_ERROR("objstore: %s: damaged object header", path);
        return sl_os_internal(err, rc);
    }
    *fd_out = fd;
    return 0;
}

struct sl_objstore_reader {
    int fd;
    uint64_t pos;  /* file offset of the next byte */
    uint64_t left; /* bytes of the range not read yet */
    bool whole;    /* the whole object: its CRC32C is checked at the end */
    uint32_t crc;
    uint32_t crc_want;
    char *name; /* bucket/key, for the log */
};

int sl_objstore_read_open(sl_objstore_t *s, const char *bucket, const char *key,
                          const sl_objstore_range_t *range, sl_arena_t *arena,
                          sl_objstore_info_t *info, sl_objstore_reader_t **out, uint64_t *first,
                          uint64_t *len, sl_objstore_err_t *err) {
    *err = (sl_objstore_err_t){0};
    if (out) *out = NULL;
    int fd;
    uint64_t off;
    int rc = open_object(s, bucket, key, arena, &fd, info, &off, err);
    if (rc) return rc;
    uint64_t a = 0, n = info->size;
    if (range && range->set) {
        if (range->suffix) {
            n = SL_MIN(range->first, info->size);
            a = info->size - n;
        } else if (range->first >= info->size) {
            close(fd);
            return sl_os_fail(err, SL_S3_INVALID_RANGE, NULL, NULL);
        } else {
            a = range->first;
            uint64_t last = SL_MIN(range->last, info->size - 1);
            if (last < a) last = a; /* bytes=5-2: S3 ignores such a range; whole from a */
            n = last - a + 1;
        }
        if (range->suffix && range->first == 0) {
            close(fd);
            return sl_os_fail(err, SL_S3_INVALID_RANGE, NULL, NULL);
        }
    }
    *first = a;
    *len = n;
    if (!out) {
        close(fd);
        return 0;
    }
    sl_objstore_reader_t *r = calloc(1, sizeof *r);
    size_t name_len = strlen(bucket) + 1 + strlen(key) + 1;
    char *name = r ? malloc(name_len) : NULL;
    if (name) snprintf(name, name_len, "%s/%s", bucket, key);
    if (!name) {
        free(r);
        close(fd);
        return sl_os_internal(err, SL_ENOMEM);
    }
    *r = (sl_objstore_reader_t){.fd = fd,
                                .pos = off + a,
                                .left = n,
                                .whole = a == 0 && n == info->size,
                                .crc_want = info->crc32c,
                                .name = name};
    *out = r;
    return 0;
}

int sl_objstore_read(sl_objstore_reader_t *r, void *buf, size_t cap, size_t *got) {
    size_t n = (size_t)SL_MIN((uint64_t)cap, r->left);
    *got = 0;
    int rc = n ? sl_os_pread_all(r->fd, buf, n, r->pos) : 0;
    if (rc) return rc;
    r->pos += n;
    r->left -= n;
    if (r->whole) r->crc = sl_crc32c(r->crc, buf, n);
    if (r->whole && r->left == 0 && r->crc != r->crc_want) {
        SL_ERROR("objstore: %s: the data does not match its CRC32C", r->name);
        return SL_ECORRUPT;
    }
    *got = n;
    return 0;
}

uint64_t sl_objstore_read_left(const sl_objstore_reader_t *r) {
    return r->left;
}

void sl_objstore_read_close(sl_objstore_reader_t *r) {
    if (!r) return;
    close(r->fd);
    free(r->name);
    free(r);
}

int sl_objstore_get(sl_objstore_t *s, const char *bucket, const char *key,
                    const sl_objstore_range_t *range, sl_arena_t *arena, sl_objstore_info_t *info,
                    void **data, uint64_t *first, uint64_t *len, sl_objstore_err_t *err) {
    sl_objstore_reader_t *r = NULL;
    int rc = sl_objstore_read_open(s, bucket, key, range, arena, info, data ? &r : NULL, first, len,
                                   err);
    if (rc || !data) return rc;
    if (*len > SL_OBJSTORE_GET_BYTES_MAX) {
        sl_objstore_read_close(r);
        sl_os_fail(err, SL_S3_INVALID_REQUEST, NULL, NULL);
        err->message = "The object is larger than one in-memory read of this server can carry "
                       "(1 GiB)";
        return SL_EINVAL;
    }
    size_t n = (size_t)*len, got = 0;
    void *buf = malloc(n ? n : 1);
    if (!buf) {
        sl_objstore_read_close(r);
        return sl_os_internal(err, SL_ENOMEM);
    }
    rc = sl_objstore_read(r, buf, n, &got);
    sl_objstore_read_close(r);
    if (rc) {
        free(buf);
        return sl_os_internal(err, rc);
    }
    *data = buf;
    return 0;
}

int sl_objstore_delete(sl_objstore_t *s, const char *bucket, const char *key,
                       sl_objstore_err_t *err) {
    *err = (sl_objstore_err_t){0};
    if (sl_os_check_key(key, err) != 0) return SL_EINVAL;
    char path[SL_OS_PATH_MAX], dir[SL_OS_PATH_MAX];
    sl_os_object_path(s, bucket, key, path, sizeof path);
    sl_os_fmt(dir, sizeof dir, "%s/buckets/%s/o", s->dir, bucket);
    pthread_mutex_lock(&s->mu);
    sl_os_bucket_t *b = sl_os_find_bucket(s, bucket);
    int rc = 0;
    bool removed = false;
    if (!b) {
        rc = sl_os_fail(err, SL_S3_NO_SUCH_BUCKET, "BucketName", bucket);
    } else if (unlink(path) != 0 && errno != ENOENT) {
        rc = sl_os_internal(err, sl_os_errno_code(errno));
    } else {
        removed = true;
        index_remove(b, key);
    }
    pthread_mutex_unlock(&s->mu);
    if (removed) {
        rc = sl_os_sync_dir(dir);
        if (rc) sl_os_internal(err, rc);
    }
    return rc;
}

int sl_objstore_copy(sl_objstore_t *s, const char *src_bucket, const char *src_key,
                     const char *dst_bucket, const char *dst_key,
                     const sl_objstore_header_t *headers, size_t header_count, bool replace,
                     int64_t now_ms, sl_arena_t *arena, sl_objstore_info_t *info,
                     sl_objstore_err_t *err) {
    *err = (sl_objstore_err_t){0};
    int fd;
    uint64_t off;
    sl_objstore_info_t src;
    int rc = open_object(s, src_bucket, src_key, arena, &fd, &src, &off, err);
    if (rc) return rc;
    if (sl_objstore_head_bucket(s, dst_bucket, err) != 0 || sl_os_check_key(dst_key, err) != 0) {
        close(fd);
        return SL_EINVAL;
    }
    if (!replace && strcmp(src_bucket, dst_bucket) == 0 && strcmp(src_key, dst_key) == 0) {
        close(fd);
        sl_os_fail(err, SL_S3_INVALID_REQUEST, NULL, NULL);
        err->message = "This copy request is illegal because it is trying to copy an object to "
                       "itself without changing the object's metadata, storage class, website "
                       "redirect location or encryption attributes.";
        return SL_EINVAL;
    }
    sl_os_writer_t w;
    rc = sl_os_writer_open(s, dst_bucket, dst_key, replace ? headers : src.headers,
                           replace ? header_count : src.header_count, 0, now_ms, arena, &w, err);
    if (rc == 0) rc = sl_os_writer_copy_fd(&w, fd, off, src.size, err);
    close(fd);
    if (rc == 0) rc = sl_os_writer_finish(&w, NULL, err);
    if (rc) {
        sl_os_writer_abandon(&w);
        return rc;
    }
    *info = w.info;
    return sl_os_publish(s, dst_bucket, w.tmp_path, info, err);
}

int sl_objstore_list(sl_objstore_t *s, const char *bucket, const sl_objstore_list_params_t *p,
                     sl_arena_t *arena, sl_objstore_list_t *out, sl_objstore_err_t *err) {
    *err = (sl_objstore_err_t){0};
    *out = (sl_objstore_list_t){0};
    const char *prefix = p->prefix ? p->prefix : "";
    const char *delim = p->delimiter && *p->delimiter ? p->delimiter : NULL;
    size_t plen = strlen(prefix), dlen = delim ? strlen(delim) : 0;
    size_t max = SL_MIN(p->max_keys, (size_t)SL_OBJSTORE_LIST_KEYS_MAX);
    out->objects = sl_arena_calloc(arena, max ? max : 1, sizeof *out->objects);
    out->prefixes = sl_arena_calloc(arena, max ? max : 1, sizeof *out->prefixes);
    if (!out->objects || !out->prefixes) return sl_os_internal(err, SL_ENOMEM);
    pthread_mutex_lock(&s->mu);
    sl_os_bucket_t *b = sl_os_find_bucket(s, bucket);
    if (!b) {
        pthread_mutex_unlock(&s->mu);
        return sl_os_fail(err, SL_S3_NO_SUCH_BUCKET, "BucketName", bucket);
    }
    const char *after = p->start_after && strcmp(p->start_after, prefix) > 0 ? p->start_after : "";
    size_t i = lower_bound(b, strcmp(after, prefix) > 0 ? after : prefix);
    const char *last_prefix = NULL;
    size_t last_prefix_len = 0;
    int rc = 0;
    for (; i < b->count; i++) {
        const sl_os_entry_t *e = &b->entries[i];
        if (strncmp(e->key, prefix, plen) != 0) break;
        if (*after && strcmp(e->key, after) <= 0) continue;
        const char *cut = delim ? strstr(e->key + plen, delim) : NULL;
        if (cut) {
            size_t n = (size_t)(cut - e->key) + dlen;
            if (last_prefix && n == last_prefix_len && strncmp(e->key, last_prefix, n) == 0)
                continue; /* rolled up into the prefix just returned */
            /* A prefix the previous page ended on (start_after is that prefix) is done. */
            if (*after && strncmp(e->key, after, n) == 0 && strlen(after) == n) continue;
            if (out->object_count + out->prefix_count >= max) {
                out->truncated = true;
                break;
            }
            char *pre = sl_arena_strndup(arena, e->key, n);
            if (!pre) {
                rc = SL_ENOMEM;
                break;
            }
            out->prefixes[out->prefix_count++] = pre;
            last_prefix = pre;
            last_prefix_len = n;
            out->last = pre;
            continue;
        }
        if (out->object_count + out->prefix_count >= max) {
            out->truncated = true;
            break;
        }
        sl_objstore_info_t *o = &out->objects[out->object_count++];
        o->key = sl_arena_strndup(arena, e->key, strlen(e->key));
        if (!o->key) {
            rc = SL_ENOMEM;
            break;
        }
        o->size = e->size;
        o->mtime_ms = e->mtime_ms;
        memcpy(o->etag, e->etag, sizeof o->etag);
        out->last = o->key;
    }
    pthread_mutex_unlock(&s->mu);
    return rc ? sl_os_internal(err, rc) : 0;
}
