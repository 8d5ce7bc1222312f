/* Shared between the files of the object store: the store and bucket structs, the object file
 * format and its writer (file.c), paths and directory helpers. */
#ifndef SL_OBJSTORE_INTERNAL_H
#define SL_OBJSTORE_INTERNAL_H

#include "core/common.h"
#include "objstore/objstore.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SL_OS_PATH_MAX 4096

/* One key of a bucket's index (owned by its bucket). */
typedef struct {
    char *key;
    uint64_t size;
    int64_t mtime_ms;
    char etag[48];
} sl_os_entry_t;

/* A bucket: its name and sorted key index. Owned by the store; guarded by the store's mutex. */
typedef struct {
    char name[64];
    int64_t created_ms;
    sl_os_entry_t *entries; /* sorted by key (strcmp: S3 lists in UTF-8 binary order) */
    size_t count, cap;
} sl_os_bucket_t;

/* Owned by the composition root (one per account). */
struct sl_objstore {
    char *dir;
    pthread_mutex_t mu;       /* guards buckets and their indexes; never held across an fsync */
    sl_os_bucket_t **buckets; /* sorted by name; SL_OBJSTORE_BUCKETS_MAX slots */
    size_t bucket_count;
};

/* A temp file being written as an object (or a part): its header is written last, over the room
 * left for it, once the data's checksums are known. */
typedef struct {
    sl_objstore_t *store;
    int fd;
    char tmp_path[SL_OS_PATH_MAX];
    uint64_t header_len; /* bytes before the data */
    uint64_t size;       /* data bytes written so far */
    uint32_t crc;
    EVP_MD_CTX *md5;
    uint8_t md5_bin[16];
    bool md5_final;          /* md5_bin holds the data's MD5 (no more writes) */
    sl_objstore_info_t info; /* key, headers, mtime; etag/size/crc set by finish */
    size_t etag_len;         /* bytes reserved for the etag in the header */
} sl_os_writer_t;

int sl_os_fail(sl_objstore_err_t *err, const sl_s3_error_t *code, const char *detail_name,
               const char *detail_value);
int sl_os_internal(sl_objstore_err_t *err, int rc);
int sl_os_errno_code(int e);
int sl_os_check_key(const char *key, sl_objstore_err_t *err);

sl_os_bucket_t *sl_os_find_bucket(sl_objstore_t *s, const char *name);
int sl_os_index_put(sl_os_bucket_t *b, const sl_objstore_info_t *info);
int sl_os_publish(sl_objstore_t *s, const char *bucket, const char *tmp_path,
                  const sl_objstore_info_t *info, sl_objstore_err_t *err);

/* file.c */
/* snprintf for paths and names, through a va_list so that the compiler's truncation warnings,
 * which cannot know the lengths, stay quiet; a truncated result is logged (paths are bounded by
 * SL_OS_PATH_MAX, far above the data directory's bound plus a bucket, a hash and a file name). */
void sl_os_fmt(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void sl_os_object_path(const sl_objstore_t *s, const char *bucket, const char *key, char *out,
                       size_t cap);
int sl_os_mkdir(const char *path);
int sl_os_sync_dir(const char *path);
int sl_os_pread_all(int fd, void *buf, uint64_t len, uint64_t off);
int sl_os_make_bucket_dirs(sl_objstore_t *s, const char *name, int64_t now_ms);
int sl_os_read_bucket_meta(sl_objstore_t *s, const char *name, int64_t *created_ms);
int sl_os_remove_bucket_dir(sl_objstore_t *s, const char *name);
void sl_os_clean_dir(sl_objstore_t *s, const char *bucket, const char *sub);
/* Reads and checks an object file's header; strings in the arena. */
int sl_os_read_header(int fd, sl_arena_t *arena, sl_objstore_info_t *info, uint64_t *data_off);
/* A writer in `dir_path` (NULL: the bucket's tmp/). etag_len: 0 = a plain MD5 ETag. */
int sl_os_writer_open_in(sl_objstore_t *s, const char *dir_path, const char *key,
                         const sl_objstore_header_t *headers, size_t header_count, size_t etag_len,
                         int64_t now_ms, sl_arena_t *arena, sl_os_writer_t *w,
                         sl_objstore_err_t *err);
int sl_os_writer_open(sl_objstore_t *s, const char *bucket, const char *key,
                      const sl_objstore_header_t *headers, size_t header_count, size_t etag_len,
                      int64_t now_ms, sl_arena_t *arena, sl_os_writer_t *w, sl_objstore_err_t *err);
int sl_os_writer_write(sl_os_writer_t *w, const void *data, size_t len, sl_objstore_err_t *err);
int sl_os_writer_copy_fd(sl_os_writer_t *w, int fd, uint64_t off, uint64_t len,
                         sl_objstore_err_t *err);
void sl_os_writer_md5(sl_os_writer_t *w, uint8_t out[16]);
/* Writes the header (etag NULL: the data's MD5 in hex), fsyncs and closes the file. */
int sl_os_writer_finish(sl_os_writer_t *w, const char *etag, sl_objstore_err_t *err);
/* Removes the temp file of a writer that will not be published. */
void sl_os_writer_abandon(sl_os_writer_t *w);

/* multipart.c */
void sl_os_abort_uploads_of(sl_objstore_t *s, const char *bucket);
/* Checks that upload_id is an upload of bucket/key and number a valid part number; dir gets the
 * upload's directory, path the part's file. */
int sl_os_part_paths(sl_objstore_t *s, const char *bucket, const char *key, const char *upload_id,
                     int number, char *dir, size_t dir_cap, char *path, size_t path_cap,
                     sl_objstore_err_t *err);

#endif
