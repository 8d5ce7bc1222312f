/* Multipart uploads (see objstore.h): uploads/<id>/meta holds the target (bucket/key) and the
 * headers given at creation, uploads/<id>/part-NNNNN each part, both in the object file format;
 * Complete assembles the listed parts into a new object through the ordinary durable writer and
 * then removes the upload. */
#include "objstore/internal.h"

#include "core/limits.h"
#include "core/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static bool upload_id_valid(const char *id) {
    return strlen(id) == 64 && strspn(id, "0123456789abcdef") == 64;
}

static void upload_dir(const sl_objstore_t *s, const char *id, char *out, size_t cap) {
    sl_os_fmt(out, cap, "%s/uploads/%s", s->dir, id);
}

/* The upload's meta; NoSuchUpload unless it exists for exactly bucket/key. */
static int open_upload(sl_objstore_t *s, const char *bucket, const char *key, const char *id,
                       sl_arena_t *arena, sl_objstore_info_t *meta, sl_objstore_err_t *err) {
    if (sl_objstore_head_bucket(s, bucket, err) != 0) return SL_EINVAL;
    if (!upload_id_valid(id)) return sl_os_fail(err, SL_S3_NO_SUCH_UPLOAD, "UploadId", id);
    char path[SL_OS_PATH_MAX];
    upload_dir(s, id, path, sizeof path);
    size_t n = strlen(path);
    sl_os_fmt(path + n, sizeof path - n, "/meta");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return sl_os_fail(err, SL_S3_NO_SUCH_UPLOAD, "UploadId", id);
    uint64_t off;
    int rc = sl_os_read_header(fd, arena, meta, &off);
    close(fd);
    if (rc) return sl_os_internal(err, rc);
    size_t blen = strlen(bucket);
    if (strncmp(meta->key, bucket, blen) != 0 || meta->key[blen] != '/' ||
        strcmp(meta->key + blen + 1, key) != 0)
        return sl_os_fail(err, SL_S3_NO_SUCH_UPLOAD, "UploadId", id);
    return 0;
}

static void remove_upload(sl_objstore_t *s, const char *id) {
    char dir[SL_OS_PATH_MAX];
    upload_dir(s, id, dir, sizeof dir);
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
            char path[SL_OS_PATH_MAX];
            sl_os_fmt(path, sizeof path, "%s/%s", dir, e->d_name);
            unlink(path);
        }
        closedir(d);
    }
    rmdir(dir);
    sl_os_fmt(dir, sizeof dir, "%s/uploads", s->dir);
    sl_os_sync_dir(dir);
}

int sl_objstore_mpu_create(sl_objstore_t *s, const char *bucket, const char *key,
                           const sl_objstore_header_t *headers, size_t header_count, int64_t now_ms,
                           char upload_id[65], sl_objstore_err_t *err) {
    *err = (sl_objstore_err_t){0};
    if (sl_objstore_head_bucket(s, bucket, err) != 0) return SL_EINVAL;
    if (sl_os_check_key(key, err) != 0) return SL_EINVAL;
    uint8_t rnd[32];
    if (RAND_bytes(rnd, sizeof rnd) != 1) return sl_os_internal(err, SL_EIO);
    for (size_t i = 0; i < sizeof rnd; i++)
        sl_os_fmt(upload_id + 2 * i, 3, "%02x", rnd[i]);
    char dir[SL_OS_PATH_MAX], path[SL_OS_PATH_MAX];
    upload_dir(s, upload_id, dir, sizeof dir);
    int rc = sl_os_mkdir(dir);
    if (rc) return sl_os_internal(err, rc);
    size_t target_len = strlen(bucket) + 1 + strlen(key);
    char *target = malloc(target_len + 1);
    if (!target) return sl_os_internal(err, SL_ENOMEM);
    sl_os_fmt(target, target_len + 1, "%s/%s", bucket, key);
    sl_os_writer_t w;
    rc = sl_os_writer_open_in(s, dir, target, headers, header_count, 0, now_ms, NULL, &w, err);
    if (rc == 0) rc = sl_os_writer_finish(&w, NULL, err);
    sl_os_fmt(path, sizeof path, "%s/meta", dir);
    if (rc == 0 && rename(w.tmp_path, path) != 0) rc = sl_os_internal(err, sl_os_errno_code(errno));
    if (rc == 0) rc = sl_os_sync_dir(dir);
    sl_os_fmt(path, sizeof path, "%s/uploads", s->dir);
    if (rc == 0) rc = sl_os_sync_dir(path);
    free(target);
    if (rc) {
        if (!err->code) sl_os_internal(err, rc);
        sl_os_writer_abandon(&w);
        remove_upload(s, upload_id);
    }
    return rc;
}

int sl_os_part_paths(sl_objstore_t *s, const char *bucket, const char *key, const char *upload_id,
                     int number, char *dir, size_t dir_cap, char *path, size_t path_cap,
                     sl_objstore_err_t *err) {
    sl_arena_t arena;
    sl_arena_init(&arena, 4096);
    sl_objstore_info_t meta;
    int rc = open_upload(s, bucket, key, upload_id, &arena, &meta, err);
    sl_arena_deinit(&arena);
    if (rc) return rc;
    if (number < 1 || number > SL_OBJSTORE_PARTS_MAX) {
        sl_os_fail(err, SL_S3_INVALID_ARGUMENT, "ArgumentName", "partNumber");
        err->message = "Part number must be an integer between 1 and 10000, inclusive";
        return SL_EINVAL;
    }
    upload_dir(s, upload_id, dir, dir_cap);
    sl_os_fmt(path, path_cap, "%s/part-%05d", dir, number);
    return 0;
}

int sl_objstore_mpu_put_part(sl_objstore_t *s, const char *bucket, const char *key,
                             const char *upload_id, int number, const void *data, size_t len,
                             const uint8_t *md5, char etag[48], sl_objstore_err_t *err) {
    sl_objstore_upload_t *u;
    int rc = sl_objstore_upload_begin(s, bucket, key, upload_id, number, NULL, 0,
                                      SL_OBJSTORE_CHECKSUM_NONE, 0, &u, err);
    if (rc) return rc;
    rc = sl_objstore_upload_write(u, data, len, err);
    if (rc) {
        sl_objstore_upload_abort(u);
        return rc;
    }
    sl_objstore_info_t info;
    rc = sl_objstore_upload_commit(u, md5, NULL, NULL, &info, err);
    if (rc == 0) memcpy(etag, info.etag, 48);
    return rc;
}

static int unhex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* An ETag as a client sends it back: quotes (and the &quot; an XML decoder already turned into
 * quotes) stripped, compared case-insensitively. */
static bool etag_equal(const char *sent, const char *stored) {
    size_t n = strlen(sent);
    if (n >= 2 && sent[0] == '"' && sent[n - 1] == '"') {
        sent++;
        n -= 2;
    }
    return n == strlen(stored) && strncasecmp(sent, stored, n) == 0;
}

int sl_objstore_mpu_complete(sl_objstore_t *s, const char *bucket, const char *key,
                             const char *upload_id, const sl_objstore_part_t *parts, size_t count,
                             int64_t now_ms, sl_arena_t *arena, sl_objstore_info_t *info,
                             sl_objstore_err_t *err) {
    *err = (sl_objstore_err_t){0};
    sl_objstore_info_t meta;
    int rc = open_upload(s, bucket, key, upload_id, arena, &meta, err);
    if (rc) return rc;
    if (count == 0) return sl_os_fail(err, SL_S3_MALFORMED_XML, NULL, NULL);
    char dir[SL_OS_PATH_MAX];
    upload_dir(s, upload_id, dir, sizeof dir);
    int *fds = malloc(count * sizeof *fds);
    uint64_t *offs = malloc(count * sizeof *offs), *sizes = malloc(count * sizeof *sizes);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    size_t opened = 0;
    if (!fds || !offs || !sizes || !md || EVP_DigestInit_ex(md, EVP_md5(), NULL) != 1)
        rc = sl_os_internal(err, SL_ENOMEM);
    /* Check every part before writing anything: the order first, then each part. */
    for (size_t i = 1; rc == 0 && i < count; i++)
        if (parts[i].number <= parts[i - 1].number)
            rc = sl_os_fail(err, SL_S3_INVALID_PART_ORDER, NULL, NULL);
    for (size_t i = 0; rc == 0 && i < count; i++) {
        char path[SL_OS_PATH_MAX];
        sl_os_fmt(path, sizeof path, "%s/part-%05d", dir, parts[i].number);
        int fd = parts[i].number >= 1 && parts[i].number <= SL_OBJSTORE_PARTS_MAX
                     ? open(path, O_RDONLY | O_CLOEXEC)
                     : -1;
        sl_objstore_info_t pi;
        if (fd < 0) {
            rc = sl_os_fail(err, SL_S3_INVALID_PART, NULL, NULL);
            break;
        }
        fds[opened++] = fd;
        rc = sl_os_read_header(fd, arena, &pi, &offs[i]);
        if (rc) {
            sl_os_internal(err, rc);
            break;
        }
        if (!etag_equal(parts[i].etag, pi.etag)) {
            rc = sl_os_fail(err, SL_S3_INVALID_PART, NULL, NULL);
            break;
        }
        if (i + 1 < count && pi.size < SL_OBJSTORE_PART_BYTES_MIN) {
            rc = sl_os_fail(err, SL_S3_ENTITY_TOO_SMALL, NULL, NULL);
            break;
        }
        sizes[i] = pi.size;
        uint8_t bin[16];
        for (int k = 0; k < 16; k++)
            bin[k] = (uint8_t)(unhex(pi.etag[2 * k]) * 16 + unhex(pi.etag[2 * k + 1]));
        EVP_DigestUpdate(md, bin, 16);
    }
    char etag[48];
    if (rc == 0) {
        uint8_t sum[16];
        unsigned int n = 0;
        EVP_DigestFinal_ex(md, sum, &n);
        for (int k = 0; k < 16; k++)
            sl_os_fmt(etag + 2 * k, 3, "%02x", sum[k]);
        sl_os_fmt(etag + 32, sizeof etag - 32, "-%zu", count);
    }
    sl_os_writer_t w = {.fd = -1};
    if (rc == 0)
        rc = sl_os_writer_open(s, bucket, key, meta.headers, meta.header_count, strlen(etag),
                               now_ms, arena, &w, err);
    for (size_t i = 0; rc == 0 && i < count; i++)
        rc = sl_os_writer_copy_fd(&w, fds[i], offs[i], sizes[i], err);
    if (rc == 0) rc = sl_os_writer_finish(&w, etag, err);
    for (size_t i = 0; i < opened; i++)
        close(fds[i]);
    free(fds);
    free(offs);
    free(sizes);
    EVP_MD_CTX_free(md);
    if (rc) {
        sl_os_writer_abandon(&w);
        return rc;
    }
    *info = w.info;
    rc = sl_os_publish(s, bucket, w.tmp_path, info, err);
    if (rc == 0) remove_upload(s, upload_id);
    return rc;
}

int sl_objstore_mpu_abort(sl_objstore_t *s, const char *bucket, const char *key,
                          const char *upload_id, sl_objstore_err_t *err) {
    *err = (sl_objstore_err_t){0};
    sl_arena_t arena;
    sl_arena_init(&arena, 4096);
    sl_objstore_info_t meta;
    int rc = open_upload(s, bucket, key, upload_id, &arena, &meta, err);
    sl_arena_deinit(&arena);
    if (rc == 0) remove_upload(s, upload_id);
    return rc;
}

static int part_cmp(const void *a, const void *b) {
    return ((const sl_objstore_part_t *)a)->number - ((const sl_objstore_part_t *)b)->number;
}

int sl_objstore_mpu_list_parts(sl_objstore_t *s, const char *bucket, const char *key,
                               const char *upload_id, int part_marker, size_t max_parts,
                               sl_arena_t *arena, sl_objstore_part_t **parts, size_t *count,
                               bool *truncated, sl_objstore_err_t *err) {
    *err = (sl_objstore_err_t){0};
    sl_objstore_info_t meta;
    int rc = open_upload(s, bucket, key, upload_id, arena, &meta, err);
    if (rc) return rc;
    char dir[SL_OS_PATH_MAX];
    upload_dir(s, upload_id, dir, sizeof dir);
    DIR *d = opendir(dir);
    if (!d) return sl_os_fail(err, SL_S3_NO_SUCH_UPLOAD, "UploadId", upload_id);
    size_t cap = 16, n = 0;
    sl_objstore_part_t *list = malloc(cap * sizeof *list);
    struct dirent *e;
    while (list && (e = readdir(d)) != NULL) {
        int number;
        char tail;
        if (sscanf(e->d_name, "part-%5d%c", &number, &tail) != 1 || number <= part_marker) continue;
        char path[SL_OS_PATH_MAX];
        sl_os_fmt(path, sizeof path, "%s/%s", dir, e->d_name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        sl_objstore_info_t pi;
        uint64_t off;
        if (fd < 0) continue;
        int hrc = sl_os_read_header(fd, arena, &pi, &off);
        close(fd);
        if (hrc) continue;
        if (n == cap) {
            cap *= 2;
            sl_objstore_part_t *m = realloc(list, cap * sizeof *list);
            if (!m) {
                free(list);
                list = NULL;
                break;
            }
            list = m;
        }
        list[n] = (sl_objstore_part_t){.number = number, .size = pi.size, .mtime_ms = pi.mtime_ms};
        memcpy(list[n].etag, pi.etag, sizeof list[n].etag);
        n++;
    }
    closedir(d);
    if (!list) return sl_os_internal(err, SL_ENOMEM);
    qsort(list, n, sizeof *list, part_cmp);
    *truncated = n > max_parts;
    if (n > max_parts) n = max_parts;
    *parts = sl_arena_calloc(arena, n ? n : 1, sizeof **parts);
    if (*parts) memcpy(*parts, list, n * sizeof *list);
    free(list);
    if (!*parts) return sl_os_internal(err, SL_ENOMEM);
    *count = n;
    return 0;
}

void sl_os_abort_uploads_of(sl_objstore_t *s, const char *bucket) {
    char dir[SL_OS_PATH_MAX];
    sl_os_fmt(dir, sizeof dir, "%s/uploads", s->dir);
    DIR *d = opendir(dir);
    if (!d) return;
    sl_arena_t arena;
    sl_arena_init(&arena, 4096);
    struct dirent *e;
    size_t blen = strlen(bucket);
    while ((e = readdir(d)) != NULL) {
        if (!upload_id_valid(e->d_name)) continue;
        char path[SL_OS_PATH_MAX];
        sl_os_fmt(path, sizeof path, "%s/%s/meta", dir, e->d_name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        sl_objstore_info_t meta;
        uint64_t off;
        if (fd < 0) continue;
        int rc = sl_os_read_header(fd, &arena, &meta, &off);
        close(fd);
        if (rc == 0 && strncmp(meta.key, bucket, blen) == 0 && meta.key[blen] == '/')
            remove_upload(s, e->d_name);
        sl_arena_reset(&arena);
    }
    closedir(d);
    sl_arena_deinit(&arena);
}
