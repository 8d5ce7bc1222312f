/* The object store's files (see objstore.h for the layout): paths, the object file format, the
 * durable writer (temp file, fsync, rename by the caller, directory fsync) and directory helpers.
 *
 * An object file: "SLOBJ01\n", u32 header length (bytes before the data), u32 CRC32C of the
 * header bytes after these 16, then u64 size, i64 mtime (ms), u32 CRC32C of the data, the etag,
 * the key and the stored headers (each a u16 length and its bytes; the headers after a u16
 * count), then the data. Integers are little-endian. */
#include "objstore/internal.h"

#include "core/crc32c.h"
#include "core/limits.h"
#include "core/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char magic[8] = {'S', 'L', 'O', 'B', 'J', '0', '1', '\n'};

void sl_os_fmt(char *out, size_t cap, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, cap, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= cap) SL_ERROR("objstore: path truncated: %s", out);
}

int sl_os_errno_code(int e) {
    if (e == ENOSPC || e == EDQUOT) return SL_ENOSPC;
    if (e == EROFS) return SL_EROFS;
    if (e == ENOMEM) return SL_ENOMEM;
    return SL_EIO;
}

static void hex(const uint8_t *in, size_t n, char *out) {
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = 0;
}

void sl_os_object_path(const sl_objstore_t *s, const char *bucket, const char *key, char *out,
                       size_t cap) {
    uint8_t h[32];
    unsigned int n = 0;
    EVP_Digest(key, strlen(key), h, &n, EVP_sha256(), NULL);
    char name[65];
    hex(h, 32, name);
    sl_os_fmt(out, cap, "%s/buckets/%s/o/%s", s->dir, bucket, name);
}

int sl_os_mkdir(const char *path) {
    if (mkdir(path, 0700) != 0 && errno != EEXIST) {
        SL_ERROR("objstore: cannot create %s: %s", path, strerror(errno));
        return sl_os_errno_code(errno);
    }
    return 0;
}

int sl_os_sync_dir(const char *path) {
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = fd >= 0 && fsync(fd) == 0 ? 0 : sl_os_errno_code(errno);
    if (rc) SL_ERROR("objstore: cannot sync directory %s: %s", path, strerror(errno));
    if (fd >= 0) close(fd);
    return rc;
}

int sl_os_pread_all(int fd, void *buf, uint64_t len, uint64_t off) {
    uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = pread(fd, p, len, (off_t)off);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return sl_os_errno_code(errno);
        if (n == 0) return SL_ECORRUPT; /* shorter than its header says */
        p += n;
        len -= (uint64_t)n;
        off += (uint64_t)n;
    }
    return 0;
}

static int pwrite_all(int fd, const void *buf, size_t len, uint64_t off) {
    const uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = pwrite(fd, p, len, (off_t)off);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return sl_os_errno_code(errno);
        p += n;
        len -= (size_t)n;
        off += (uint64_t)n;
    }
    return 0;
}

/* Writes `text` to path durably (temp, fsync, rename, directory fsync). */
static int write_small_file(const char *dir, const char *name, const char *text) {
    char tmp[SL_OS_PATH_MAX], path[SL_OS_PATH_MAX];
    sl_os_fmt(tmp, sizeof tmp, "%s/.%s.tmp", dir, name);
    sl_os_fmt(path, sizeof path, "%s/%s", dir, name);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int rc = fd < 0 ? sl_os_errno_code(errno) : 0;
    if (rc == 0) rc = pwrite_all(fd, text, strlen(text), 0);
    if (rc == 0 && fsync(fd) != 0) rc = sl_os_errno_code(errno);
    if (fd >= 0) close(fd);
    if (rc == 0 && rename(tmp, path) != 0) rc = sl_os_errno_code(errno);
    if (rc == 0) rc = sl_os_sync_dir(dir);
    if (rc) {
        SL_ERROR("objstore: cannot write %s: %s", path, sl_strerror(rc));
        unlink(tmp);
    }
    return rc;
}

int sl_os_make_bucket_dirs(sl_objstore_t *s, const char *name, int64_t now_ms) {
    char dir[SL_OS_PATH_MAX], sub[SL_OS_PATH_MAX], text[32];
    sl_os_fmt(dir, sizeof dir, "%s/buckets/%s", s->dir, name);
    int rc = sl_os_mkdir(dir);
    sl_os_fmt(sub, sizeof sub, "%s/o", dir);
    if (rc == 0) rc = sl_os_mkdir(sub);
    sl_os_fmt(sub, sizeof sub, "%s/tmp", dir);
    if (rc == 0) rc = sl_os_mkdir(sub);
    if (rc == 0) rc = sl_os_sync_dir(dir);
    sl_os_fmt(sub, sizeof sub, "%s/buckets", s->dir);
    if (rc == 0) rc = sl_os_sync_dir(sub);
    sl_os_fmt(text, sizeof text, "%lld\n", (long long)now_ms);
    if (rc == 0) rc = write_small_file(dir, "meta", text);
    return rc;
}

int sl_os_read_bucket_meta(sl_objstore_t *s, const char *name, int64_t *created_ms) {
    char path[SL_OS_PATH_MAX], text[32] = {0};
    sl_os_fmt(path, sizeof path, "%s/buckets/%s/meta", s->dir, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return SL_ENOTFOUND;
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    char *end;
    long long v = n > 0 ? strtoll(text, &end, 10) : 0;
    if (n <= 0 || *end != '\n') return SL_ECORRUPT;
    *created_ms = v;
    return 0;
}

void sl_os_clean_dir(sl_objstore_t *s, const char *bucket, const char *sub) {
    char dir[SL_OS_PATH_MAX];
    sl_os_fmt(dir, sizeof dir, "%s/buckets/%s/%s", s->dir, bucket, sub);
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        char path[SL_OS_PATH_MAX];
        sl_os_fmt(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
}

int sl_os_remove_bucket_dir(sl_objstore_t *s, const char *name) {
    char dir[SL_OS_PATH_MAX], path[SL_OS_PATH_MAX];
    sl_os_fmt(dir, sizeof dir, "%s/buckets/%s", s->dir, name);
    /* The meta file first: without it the bucket no longer exists, whatever a crash leaves. */
    sl_os_fmt(path, sizeof path, "%s/meta", dir);
    if (unlink(path) != 0 && errno != ENOENT) return sl_os_errno_code(errno);
    int rc = sl_os_sync_dir(dir);
    if (rc) return rc;
    sl_os_clean_dir(s, name, "tmp");
    sl_os_clean_dir(s, name, "o");
    sl_os_fmt(path, sizeof path, "%s/tmp", dir);
    rmdir(path);
    sl_os_fmt(path, sizeof path, "%s/o", dir);
    rmdir(path);
    sl_os_fmt(path, sizeof path, "%s/.meta.tmp", dir);
    unlink(path);
    if (rmdir(dir) != 0 && errno != ENOENT) {
        SL_ERROR("objstore: cannot remove %s: %s", dir, strerror(errno));
        return sl_os_errno_code(errno);
    }
    sl_os_fmt(path, sizeof path, "%s/buckets", s->dir);
    return sl_os_sync_dir(path);
}

/* ---- the header ---- */

static void put16(uint8_t **p, size_t v) {
    (*p)[0] = (uint8_t)v;
    (*p)[1] = (uint8_t)(v >> 8);
    *p += 2;
}

static void put32(uint8_t **p, uint32_t v) {
    for (int i = 0; i < 4; i++)
        (*p)[i] = (uint8_t)(v >> (8 * i));
    *p += 4;
}

static void put64(uint8_t **p, uint64_t v) {
    for (int i = 0; i < 8; i++)
        (*p)[i] = (uint8_t)(v >> (8 * i));
    *p += 8;
}

static void put_str(uint8_t **p, const char *s, size_t n) {
    put16(p, n);
    memcpy(*p, s, n);
    *p += n;
}

static uint64_t get_n(const uint8_t *p, int bytes) {
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

/* The header's length for these fields. */
static size_t header_size(const sl_objstore_info_t *info, size_t etag_len) {
    size_t n = 16 + 8 + 8 + 4 + 2 + etag_len + 2 + strlen(info->key) + 2;
    for (size_t i = 0; i < info->header_count; i++)
        n += 4 + strlen(info->headers[i].name) + strlen(info->headers[i].value);
    return n;
}

static int write_header(sl_os_writer_t *w) {
    uint8_t *buf = malloc(w->header_len), *p = buf;
    if (!buf) return SL_ENOMEM;
    const sl_objstore_info_t *in = &w->info;
    memcpy(p, magic, 8);
    p += 8;
    put32(&p, (uint32_t)w->header_len);
    p += 4; /* crc, below */
    put64(&p, in->size);
    put64(&p, (uint64_t)in->mtime_ms);
    put32(&p, in->crc32c);
    put_str(&p, in->etag, w->etag_len);
    put_str(&p, in->key, strlen(in->key));
    put16(&p, in->header_count);
    for (size_t i = 0; i < in->header_count; i++) {
        put_str(&p, in->headers[i].name, strlen(in->headers[i].name));
        put_str(&p, in->headers[i].value, strlen(in->headers[i].value));
    }
    SL_ASSERT((size_t)(p - buf) == w->header_len);
    uint8_t *c = buf + 12;
    put32(&c, sl_crc32c(0, buf + 16, w->header_len - 16));
    int rc = pwrite_all(w->fd, buf, w->header_len, 0);
    free(buf);
    return rc;
}

/* Reads a u16-length string at *p (bounded by end) into the arena. */
static const char *get_str(sl_arena_t *a, const uint8_t **p, const uint8_t *end, size_t *len) {
    if (end - *p < 2) return NULL;
    size_t n = (size_t)get_n(*p, 2);
    *p += 2;
    if ((size_t)(end - *p) < n) return NULL;
    const char *s = sl_arena_strndup(a, (const char *)*p, n);
    *p += n;
    if (len) *len = n;
    return s;
}

int sl_os_read_header(int fd, sl_arena_t *arena, sl_objstore_info_t *info, uint64_t *data_off) {
    uint8_t head[16];
    if (sl_os_pread_all(fd, head, 16, 0) != 0 || memcmp(head, magic, 8) != 0) return SL_ECORRUPT;
    size_t len = (size_t)get_n(head + 8, 4);
    if (len < 16 + 8 + 8 + 4 + 6 || len > SL_OBJSTORE_HEADER_BYTES_MAX) return SL_ECORRUPT;
    uint8_t *buf = malloc(len);
    if (!buf) return SL_ENOMEM;
    int rc = sl_os_pread_all(fd, buf, len, 0);
    if (rc == 0 && sl_crc32c(0, buf + 16, len - 16) != (uint32_t)get_n(head + 12, 4))
        rc = SL_ECORRUPT;
    const uint8_t *p = buf + 16, *end = buf + len;
    memset(info, 0, sizeof *info);
    if (rc == 0) {
        info->size = get_n(p, 8);
        info->mtime_ms = (int64_t)get_n(p + 8, 8);
        info->crc32c = (uint32_t)get_n(p + 16, 4);
        p += 20;
        size_t elen;
        const char *etag = get_str(arena, &p, end, &elen);
        info->key = get_str(arena, &p, end, NULL);
        if (!etag || !info->key || elen >= sizeof info->etag || end - p < 2)
            rc = SL_ECORRUPT;
        else
            memcpy(info->etag, etag, elen + 1);
    }
    if (rc == 0) {
        size_t count = (size_t)get_n(p, 2);
        p += 2;
        sl_objstore_header_t *h = sl_arena_calloc(arena, count ? count : 1, sizeof *h);
        if (!h) rc = SL_ENOMEM;
        for (size_t i = 0; rc == 0 && i < count; i++) {
            h[i].name = get_str(arena, &p, end, NULL);
            h[i].value = h[i].name ? get_str(arena, &p, end, NULL) : NULL;
            if (!h[i].value) rc = SL_ECORRUPT;
        }
        info->headers = h;
        info->header_count = count;
        if (rc == 0 && p != end) rc = SL_ECORRUPT;
    }
    free(buf);
    if (rc == 0) {
        struct stat st;
        if (fstat(fd, &st) != 0 || (uint64_t)st.st_size != len + info->size) rc = SL_ECORRUPT;
    }
    *data_off = len;
    return rc;
}

/* ---- the writer ---- */

int sl_os_writer_open_in(sl_objstore_t *s, const char *dir_path, const char *key,
                         const sl_objstore_header_t *headers, size_t header_count, size_t etag_len,
                         int64_t now_ms, sl_arena_t *arena, sl_os_writer_t *w,
                         sl_objstore_err_t *err) {
    memset(w, 0, sizeof *w);
    w->store = s;
    w->fd = -1;
    w->info.key = key;
    w->info.mtime_ms = now_ms;
    w->info.headers = headers;
    w->info.header_count = header_count;
    w->etag_len = etag_len ? etag_len : 32;
    w->header_len = header_size(&w->info, w->etag_len);
    /* one more than a request may store: the checksum an upload adds (upload.c) */
    if (w->header_len > SL_OBJSTORE_HEADER_BYTES_MAX || header_count > SL_OBJSTORE_HEADERS_MAX + 1)
        return sl_os_fail(err, SL_S3_METADATA_TOO_LARGE, NULL, NULL);
    uint8_t rnd[16];
    char name[33];
    if (RAND_bytes(rnd, sizeof rnd) != 1) return sl_os_internal(err, SL_EIO);
    hex(rnd, sizeof rnd, name);
    sl_os_fmt(w->tmp_path, sizeof w->tmp_path, "%s/%s", dir_path, name);
    w->fd = open(w->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (w->fd < 0) {
        SL_ERROR("objstore: cannot create %s: %s", w->tmp_path, strerror(errno));
        return sl_os_internal(err, sl_os_errno_code(errno));
    }
    w->md5 = EVP_MD_CTX_new();
    if (!w->md5 || EVP_DigestInit_ex(w->md5, EVP_md5(), NULL) != 1) {
        sl_os_writer_abandon(w);
        return sl_os_internal(err, SL_ENOMEM);
    }
    (void)arena;
    return 0;
}

int sl_os_writer_open(sl_objstore_t *s, const char *bucket, const char *key,
                      const sl_objstore_header_t *headers, size_t header_count, size_t etag_len,
                      int64_t now_ms, sl_arena_t *arena, sl_os_writer_t *w,
                      sl_objstore_err_t *err) {
    char dir[SL_OS_PATH_MAX];
    sl_os_fmt(dir, sizeof dir, "%s/buckets/%s/tmp", s->dir, bucket);
    return sl_os_writer_open_in(s, dir, key, headers, header_count, etag_len, now_ms, arena, w,
                                err);
}

int sl_os_writer_write(sl_os_writer_t *w, const void *data, size_t len, sl_objstore_err_t *err) {
    SL_ASSERT(!w->md5_final);
    int rc = pwrite_all(w->fd, data, len, w->header_len + w->size);
    if (rc) {
        SL_ERROR("objstore: cannot write %s: %s", w->tmp_path, sl_strerror(rc));
        return sl_os_internal(err, rc);
    }
    w->crc = sl_crc32c(w->crc, data, len);
    EVP_DigestUpdate(w->md5, data, len);
    w->size += len;
    return 0;
}

int sl_os_writer_copy_fd(sl_os_writer_t *w, int fd, uint64_t off, uint64_t len,
                         sl_objstore_err_t *err) {
    uint8_t *buf = malloc(SL_OBJSTORE_COPY_CHUNK_BYTES);
    if (!buf) return sl_os_internal(err, SL_ENOMEM);
    int rc = 0;
    while (rc == 0 && len > 0) {
        size_t n = (size_t)SL_MIN(len, (uint64_t)SL_OBJSTORE_COPY_CHUNK_BYTES);
        rc = sl_os_pread_all(fd, buf, n, off);
        if (rc) {
            sl_os_internal(err, rc);
            break;
        }
        rc = sl_os_writer_write(w, buf, n, err);
        off += n;
        len -= n;
    }
    free(buf);
    return rc;
}

void sl_os_writer_md5(sl_os_writer_t *w, uint8_t out[16]) {
    if (!w->md5_final) {
        unsigned int n = 0;
        EVP_DigestFinal_ex(w->md5, w->md5_bin, &n);
        w->md5_final = true;
    }
    memcpy(out, w->md5_bin, 16);
}

int sl_os_writer_finish(sl_os_writer_t *w, const char *etag, sl_objstore_err_t *err) {
    uint8_t md5[16];
    sl_os_writer_md5(w, md5);
    if (etag) {
        SL_ASSERT(strlen(etag) == w->etag_len && w->etag_len < sizeof w->info.etag);
        memcpy(w->info.etag, etag, w->etag_len + 1);
    } else {
        hex(md5, 16, w->info.etag);
    }
    w->info.size = w->size;
    w->info.crc32c = w->crc;
    int rc = write_header(w);
    if (rc == 0 && fsync(w->fd) != 0) rc = sl_os_errno_code(errno);
    EVP_MD_CTX_free(w->md5);
    w->md5 = NULL;
    if (close(w->fd) != 0 && rc == 0) rc = sl_os_errno_code(errno);
    w->fd = -1;
    if (rc) {
        SL_ERROR("objstore: cannot write %s: %s", w->tmp_path, sl_strerror(rc));
        return sl_os_internal(err, rc);
    }
    return 0;
}

void sl_os_writer_abandon(sl_os_writer_t *w) {
    if (w->md5) EVP_MD_CTX_free(w->md5);
    w->md5 = NULL;
    if (w->fd >= 0) close(w->fd);
    w->fd = -1;
    if (w->tmp_path[0]) unlink(w->tmp_path);
}
