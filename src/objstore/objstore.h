/* The object store: S3's buckets, objects and multipart uploads, typed and transport-free
 * (docs/object-store.md). One store per account, in a directory of its own:
 *   buckets/<bucket>/meta           the bucket's creation time (written before it exists)
 *   buckets/<bucket>/o/<sha256(key)> one file per object: a checksummed header (key, size, MD5
 *                                   ETag, CRC32C of the data, stored headers) then the data
 *   buckets/<bucket>/tmp/           files being written (removed at open)
 *   uploads/<upload id>/            a multipart upload: its meta file and one file per part
 * An object is durable before its operation returns: the file is written under tmp/, fsync'd,
 * renamed over its final name and the directory fsync'd, so a crash leaves the old object or the
 * new one, never a mix. The keys of each bucket are also held in memory, sorted, for listing
 * (rebuilt from the object headers at open).
 *
 * Threads: every function that touches files blocks (fsync included) and must run on the store's
 * worker threads (sl_objstore_pool_submit), never on a network thread. Functions are thread-safe:
 * the in-memory index has a lock of its own (never held across a data write or an fsync).
 *
 * Errors: functions return 0, or SL_EINVAL with err->code one of the S3 errors below (the request
 * cannot be served as asked), or another negative SL_E* code for a failure of the server (err set
 * to InternalError with the cause). */
#ifndef SL_OBJSTORE_OBJSTORE_H
#define SL_OBJSTORE_OBJSTORE_H

#include "core/arena.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* S3's error codes: X(constant, Code, HTTP status, AWS's message). */
#define SL_S3_ERROR_TABLE(X)                                                                       \
    X(SL_S3_BAD_DIGEST, "BadDigest", 400,                                                          \
      "The Content-MD5 you specified did not match what we "                                       \
      "received.")                                                                                 \
    X(SL_S3_BUCKET_ALREADY_OWNED, "BucketAlreadyOwnedByYou", 409,                                  \
      "Your previous request to create the named bucket succeeded and you already own it.")        \
    X(SL_S3_BUCKET_NOT_EMPTY, "BucketNotEmpty", 409,                                               \
      "The bucket you tried to delete is not empty")                                               \
    X(SL_S3_ENTITY_TOO_LARGE, "EntityTooLarge", 400,                                               \
      "Your proposed upload exceeds the maximum allowed size")                                     \
    X(SL_S3_ENTITY_TOO_SMALL, "EntityTooSmall", 400,                                               \
      "Your proposed upload is smaller than the minimum allowed object size.")                     \
    X(SL_S3_INTERNAL_ERROR, "InternalError", 500,                                                  \
      "We encountered an internal error. Please try again.")                                       \
    X(SL_S3_INVALID_ARGUMENT, "InvalidArgument", 400, "Invalid Argument")                          \
    X(SL_S3_INVALID_BUCKET_NAME, "InvalidBucketName", 400, "The specified bucket is not valid.")   \
    X(SL_S3_INVALID_DIGEST, "InvalidDigest", 400, "The Content-MD5 you specified is not valid.")   \
    X(SL_S3_INVALID_PART, "InvalidPart", 400,                                                      \
      "One or more of the specified parts could not be found.  The part may not have been "        \
      "uploaded, or the specified entity tag may not match the part's entity tag.")                \
    X(SL_S3_INVALID_PART_ORDER, "InvalidPartOrder", 400,                                           \
      "The list of parts was not in ascending order. The parts list must be specified in order "   \
      "by part number.")                                                                           \
    X(SL_S3_INVALID_RANGE, "InvalidRange", 416, "The requested range is not satisfiable")          \
    X(SL_S3_INVALID_REQUEST, "InvalidRequest", 400, "Invalid Request")                             \
    X(SL_S3_KEY_TOO_LONG, "KeyTooLongError", 400, "Your key is too long")                          \
    X(SL_S3_MALFORMED_XML, "MalformedXML", 400,                                                    \
      "The XML you provided was not well-formed or did not validate against our published "        \
      "schema")                                                                                    \
    X(SL_S3_METADATA_TOO_LARGE, "MetadataTooLarge", 400,                                           \
      "Your metadata headers exceed the maximum allowed metadata size")                            \
    X(SL_S3_NO_SUCH_BUCKET, "NoSuchBucket", 404, "The specified bucket does not exist")            \
    X(SL_S3_NO_SUCH_KEY, "NoSuchKey", 404, "The specified key does not exist.")                    \
    X(SL_S3_NO_SUCH_UPLOAD, "NoSuchUpload", 404,                                                   \
      "The specified upload does not exist. The upload ID may be invalid, or the upload may have " \
      "been aborted or completed.")                                                                \
    X(SL_S3_PRECONDITION_FAILED, "PreconditionFailed", 412,                                        \
      "At least one of the pre-conditions you specified did not hold")                             \
    X(SL_S3_NOT_MODIFIED, "NotModified", 304, "Not Modified")                                      \
    X(SL_S3_SLOW_DOWN, "SlowDown", 503, "Please reduce your request rate.")                        \
    X(SL_S3_TOO_MANY_BUCKETS, "TooManyBuckets", 400,                                               \
      "You have attempted to create more buckets than allowed")

typedef struct {
    const char *code; /* "NoSuchKey" */
    int status;       /* 404 */
    const char *message;
} sl_s3_error_t;

#define SL_S3_ERROR_DECLARE(id, code, status, message) extern const sl_s3_error_t id[1];
SL_S3_ERROR_TABLE(SL_S3_ERROR_DECLARE)
#undef SL_S3_ERROR_DECLARE

/* The error of a failed call: `code` (NULL on success) and, where AWS gives them, the message
 * (the table's when NULL) and details shown in S3's error document. */
typedef struct {
    const sl_s3_error_t *code;
    const char *message;                    /* static or arena text; NULL = code->message */
    const char *detail_name, *detail_value; /* e.g. "BucketName", "my-bucket" (arena or static) */
} sl_objstore_err_t;

typedef struct sl_objstore sl_objstore_t;

/* A stored header of an object: Content-Type, Content-Encoding, Content-Disposition,
 * Content-Language, Cache-Control, Expires and every x-amz-meta-* (names lower-case). */
typedef struct {
    const char *name;
    const char *value;
} sl_objstore_header_t;

/* What is known of an object without reading its data. Strings live in the caller's arena. */
typedef struct {
    const char *key;
    uint64_t size;
    int64_t mtime_ms;
    char etag[48]; /* without quotes: 32 hex digits, or "<hex>-<parts>" after a multipart upload */
    uint32_t crc32c;
    const sl_objstore_header_t *headers;
    size_t header_count;
} sl_objstore_info_t;

typedef struct {
    const char *name;
    int64_t created_ms;
} sl_objstore_bucket_t;

/* Opens (creating) the store in `dir`, rebuilding each bucket's index from its object headers and
 * removing the files of writes that did not finish. Returns 0 or SL_EIO / SL_ENOMEM. */
int sl_objstore_open(const char *dir, sl_objstore_t **out);
void sl_objstore_close(sl_objstore_t *s);

/* ---- buckets ---- */

/* Is `name` a valid bucket name (S3's rules: 3-63 of [a-z0-9.-], starting and ending with a letter
 * or digit, no "..", not an IP address)? */
bool sl_objstore_bucket_name_valid(const char *name);
int sl_objstore_create_bucket(sl_objstore_t *s, const char *name, int64_t now_ms,
                              sl_objstore_err_t *err);
int sl_objstore_head_bucket(sl_objstore_t *s, const char *name, sl_objstore_err_t *err);
/* BucketNotEmpty while it holds objects (multipart uploads in progress are aborted). */
int sl_objstore_delete_bucket(sl_objstore_t *s, const char *name, sl_objstore_err_t *err);
/* Every bucket, sorted by name, in the arena. */
int sl_objstore_list_buckets(sl_objstore_t *s, sl_arena_t *arena, sl_objstore_bucket_t **out,
                             size_t *count);

/* ---- objects ---- */

/* Stores data[0..len) as bucket/key with its headers; info gets what was stored. `md5`, when not
 * NULL, is the Content-MD5 the client sent (16 bytes): BadDigest when it differs. */
int sl_objstore_put(sl_objstore_t *s, const char *bucket, const char *key, const void *data,
                    size_t len, const sl_objstore_header_t *headers, size_t header_count,
                    const uint8_t *md5, int64_t now_ms, sl_arena_t *arena, sl_objstore_info_t *info,
                    sl_objstore_err_t *err);

/* ---- streamed uploads (PutObject and UploadPart bodies written as they arrive) ---- */

/* The additional checksums S3 takes (x-amz-checksum-<name>, or the trailer of that name). */
typedef enum {
    SL_OBJSTORE_CHECKSUM_NONE,
    SL_OBJSTORE_CHECKSUM_CRC32,
    SL_OBJSTORE_CHECKSUM_CRC32C,
    SL_OBJSTORE_CHECKSUM_CRC64NVME,
    SL_OBJSTORE_CHECKSUM_SHA1,
    SL_OBJSTORE_CHECKSUM_SHA256,
} sl_objstore_checksum_t;

/* The algorithm of a header or trailer name ("x-amz-checksum-crc32"; any case) or of an algorithm
 * name ("CRC32", x-amz-sdk-checksum-algorithm); NONE when it is neither. */
sl_objstore_checksum_t sl_objstore_checksum_of_header(const char *name, size_t len);
sl_objstore_checksum_t sl_objstore_checksum_of_name(const char *name);
/* The header name of an algorithm ("x-amz-checksum-crc32"); NULL for NONE. */
const char *sl_objstore_checksum_header(sl_objstore_checksum_t alg);
/* Is `name` (a stored header's) one of the x-amz-checksum-<algorithm> names? A PutObject that
 * brought a checksum stores it as such a header; it is answered only to a client asking for it
 * (x-amz-checksum-mode: ENABLED). */
bool sl_objstore_checksum_is_header(const char *name);
/* Is `value` a well-formed checksum of that algorithm (base64 of its 4, 8, 20 or 32 bytes)? */
bool sl_objstore_checksum_valid(sl_objstore_checksum_t alg, const char *value);

typedef struct sl_objstore_upload sl_objstore_upload_t;

/* Starts a streamed PutObject (upload_id NULL) or UploadPart (upload_id and part number): checks
 * the bucket, the key (and the upload), then opens a temp file that the data is appended to as it
 * arrives, with its MD5, CRC32C and, when `checksum` is not NONE, that checksum computed on the
 * way. *out is owned by the caller until commit or abort. Blocking (a worker thread). */
int sl_objstore_upload_begin(sl_objstore_t *s, const char *bucket, const char *key,
                             const char *upload_id, int part_number,
                             const sl_objstore_header_t *headers, size_t header_count,
                             sl_objstore_checksum_t checksum, int64_t now_ms,
                             sl_objstore_upload_t **out, sl_objstore_err_t *err);
/* Appends the next bytes of the data. */
int sl_objstore_upload_write(sl_objstore_upload_t *u, const void *data, size_t len,
                             sl_objstore_err_t *err);
/* Ends the upload and frees u: BadDigest when `md5` (Content-MD5, 16 bytes, or NULL) or
 * `checksum_value` (the base64 value the client sent, or NULL) differs from the data's; otherwise
 * the file is fsync'd and renamed into place (the object, or the part) and its directory fsync'd
 * before this returns. On any failure nothing is left behind. info (PutObject) or info->etag
 * (UploadPart) tells what was stored. */
int sl_objstore_upload_commit(sl_objstore_upload_t *u, const uint8_t *md5,
                              const char *checksum_value, sl_arena_t *arena,
                              sl_objstore_info_t *info, sl_objstore_err_t *err);
/* Drops the upload (its temp file removed) and frees u. */
void sl_objstore_upload_abort(sl_objstore_upload_t *u);

/* A byte range as S3's Range header gives it: bytes=first-last, bytes=first-, bytes=-suffix. */
typedef struct {
    bool set;
    bool suffix;    /* last `length` bytes */
    uint64_t first; /* suffix: the length */
    uint64_t last;  /* UINT64_MAX = to the end */
} sl_objstore_range_t;

/* Opens bucket/key for reading the bytes of the range (or the whole object): info always, *first
 * and *len telling which bytes the range is; with `out` a reader of them (NULL out: only info and
 * the range). InvalidRange when the range starts past the end. */
typedef struct sl_objstore_reader sl_objstore_reader_t;
int sl_objstore_read_open(sl_objstore_t *s, const char *bucket, const char *key,
                          const sl_objstore_range_t *range, sl_arena_t *arena,
                          sl_objstore_info_t *info, sl_objstore_reader_t **out, uint64_t *first,
                          uint64_t *len, sl_objstore_err_t *err);
/* Reads the next min(cap, bytes left) bytes into buf (*got of them; 0 at the end). A reader of the
 * whole object checks the data's CRC32C with its last piece (SL_ECORRUPT, logged, when it
 * differs); else SL_EIO and the like. Blocking: on a pool thread. */
int sl_objstore_read(sl_objstore_reader_t *r, void *buf, size_t cap, size_t *got);
uint64_t sl_objstore_read_left(const sl_objstore_reader_t *r);
void sl_objstore_read_close(sl_objstore_reader_t *r); /* NULL: nothing */

/* sl_objstore_read_open, and with `data` the range's bytes read at once into a malloc'd buffer the
 * caller frees (InvalidRequest past SL_OBJSTORE_GET_BYTES_MAX; the CRC32C check as above). */
int sl_objstore_get(sl_objstore_t *s, const char *bucket, const char *key,
                    const sl_objstore_range_t *range, sl_arena_t *arena, sl_objstore_info_t *info,
                    void **data, uint64_t *first, uint64_t *len, sl_objstore_err_t *err);
/* Deleting a key that does not exist succeeds (S3). */
int sl_objstore_delete(sl_objstore_t *s, const char *bucket, const char *key,
                       sl_objstore_err_t *err);
/* Copies src to dst; headers NULL keeps the source's (MetadataDirective COPY), else they replace
 * them (REPLACE). */
int sl_objstore_copy(sl_objstore_t *s, const char *src_bucket, const char *src_key,
                     const char *dst_bucket, const char *dst_key,
                     const sl_objstore_header_t *headers, size_t header_count, bool replace,
                     int64_t now_ms, sl_arena_t *arena, sl_objstore_info_t *info,
                     sl_objstore_err_t *err);

typedef struct {
    const char *prefix;      /* NULL = "" */
    const char *delimiter;   /* NULL = none */
    const char *start_after; /* keys after this one only (continuation tokens decode to this) */
    size_t max_keys;         /* at most SL_OBJSTORE_LIST_KEYS_MAX */
} sl_objstore_list_params_t;

typedef struct {
    sl_objstore_info_t *objects; /* headers not filled */
    size_t object_count;
    const char **prefixes; /* common prefixes, in order */
    size_t prefix_count;
    bool truncated;
    const char *last; /* the last key or prefix returned: where the next page starts after */
} sl_objstore_list_t;

/* Keys in order, after start_after, starting with prefix; keys containing the delimiter after the
 * prefix roll up into one common prefix each. Keys plus prefixes count toward max_keys. */
int sl_objstore_list(sl_objstore_t *s, const char *bucket, const sl_objstore_list_params_t *p,
                     sl_arena_t *arena, sl_objstore_list_t *out, sl_objstore_err_t *err);

/* ---- multipart uploads ---- */

typedef struct {
    int number;
    char etag[48];
    uint64_t size;
    int64_t mtime_ms;
} sl_objstore_part_t;

/* upload_id: 64 characters + NUL. */
int sl_objstore_mpu_create(sl_objstore_t *s, const char *bucket, const char *key,
                           const sl_objstore_header_t *headers, size_t header_count, int64_t now_ms,
                           char upload_id[65], sl_objstore_err_t *err);
/* Stores part `number` (1..10000; a part sent again replaces the old one); etag gets its MD5. */
int sl_objstore_mpu_put_part(sl_objstore_t *s, const char *bucket, const char *key,
                             const char *upload_id, int number, const void *data, size_t len,
                             const uint8_t *md5, char etag[48], sl_objstore_err_t *err);
/* Assembles the listed parts (ascending numbers, ETags as sent: quotes ignored) into the object;
 * its ETag is the MD5 of the parts' binary MD5s, "-" and the part count. */
int sl_objstore_mpu_complete(sl_objstore_t *s, const char *bucket, const char *key,
                             const char *upload_id, const sl_objstore_part_t *parts, size_t count,
                             int64_t now_ms, sl_arena_t *arena, sl_objstore_info_t *info,
                             sl_objstore_err_t *err);
int sl_objstore_mpu_abort(sl_objstore_t *s, const char *bucket, const char *key,
                          const char *upload_id, sl_objstore_err_t *err);
/* Parts after part_marker, at most max_parts, ascending. */
int sl_objstore_mpu_list_parts(sl_objstore_t *s, const char *bucket, const char *key,
                               const char *upload_id, int part_marker, size_t max_parts,
                               sl_arena_t *arena, sl_objstore_part_t **parts, size_t *count,
                               bool *truncated, sl_objstore_err_t *err);

/* ---- worker threads ---- */

typedef struct sl_objstore_pool sl_objstore_pool_t;

/* `threads` workers running submitted jobs in order of submission. */
int sl_objstore_pool_create(int threads, sl_objstore_pool_t **out);
/* Runs the queued jobs, then joins the threads. */
void sl_objstore_pool_destroy(sl_objstore_pool_t *p);
/* Queues fn(arg) for a worker. SL_EAGAIN when SL_OBJSTORE_QUEUE_MAX jobs wait (the caller answers
 * SlowDown); fn is then not called. */
int sl_objstore_pool_submit(sl_objstore_pool_t *p, void (*fn)(void *arg), void *arg);
/* Queues a job that continues work already admitted (the next piece of a streamed upload, its
 * abort): it may use the other SL_OBJSTORE_QUEUE_MAX places, so a full queue of new work does not
 * stop uploads under way. SL_EAGAIN when those are full too. */
int sl_objstore_pool_continue(sl_objstore_pool_t *p, void (*fn)(void *arg), void *arg);

#endif
