/* Streamed uploads (see objstore.h): the body of a PutObject or an UploadPart is appended to a temp
 * file as it arrives, its MD5 (the ETag), CRC32C (the object file's data checksum) and the
 * checksum the client asked for (x-amz-checksum-*) computed on the way, so no body is held in
 * memory whole. Commit checks the digests, then makes the file durable the same way every object
 * is (objstore.h): fsync, rename into place, fsync of the directory. Abort removes the temp file.
 * sl_objstore_put and sl_objstore_mpu_put_part, which take a body in memory, are this with one
 * write. */
#include "objstore/internal.h"

#include "core/crc32c.h"
#include "core/limits.h"
#include "core/log.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

/* Owned by its caller between begin and commit/abort (one request at a time). */
struct sl_objstore_upload {
    sl_objstore_t *store;
    sl_os_writer_t w;
    char *bucket, *key; /* copies */
    bool part;
    char part_path[SL_OS_PATH_MAX]; /* uploads/<id>/part-NNNNN */
    char part_dir[SL_OS_PATH_MAX];
    sl_objstore_checksum_t alg;
    /* PutObject with a checksum: the stored headers plus x-amz-checksum-<alg>, whose value (the
     * data's, known at commit) is written over a placeholder of the same length, so that the
     * header's room, reserved at begin, fits it. */
    sl_objstore_header_t *headers;
    char value[48];
    uint32_t crc32;
    uint64_t crc64;
    EVP_MD_CTX *md; /* SHA-1 or SHA-256 */
};

/* ---- checksums ---- */

static const struct {
    const char *name; /* as x-amz-sdk-checksum-algorithm and the error messages write it */
    const char *header;
    size_t bytes;
} algs[] = {
    [SL_OBJSTORE_CHECKSUM_CRC32] = {"CRC32", "x-amz-checksum-crc32", 4},
    [SL_OBJSTORE_CHECKSUM_CRC32C] = {"CRC32C", "x-amz-checksum-crc32c", 4},
    [SL_OBJSTORE_CHECKSUM_CRC64NVME] = {"CRC64NVME", "x-amz-checksum-crc64nvme", 8},
    [SL_OBJSTORE_CHECKSUM_SHA1] = {"SHA1", "x-amz-checksum-sha1", 20},
    [SL_OBJSTORE_CHECKSUM_SHA256] = {"SHA256", "x-amz-checksum-sha256", 32},
};

sl_objstore_checksum_t sl_objstore_checksum_of_header(const char *name, size_t len) {
    for (size_t i = 1; i < SL_ARRAY_LEN(algs); i++)
        if (strlen(algs[i].header) == len && strncasecmp(algs[i].header, name, len) == 0)
            return (sl_objstore_checksum_t)i;
    return SL_OBJSTORE_CHECKSUM_NONE;
}

sl_objstore_checksum_t sl_objstore_checksum_of_name(const char *name) {
    for (size_t i = 1; i < SL_ARRAY_LEN(algs); i++)
        if (strcasecmp(algs[i].name, name) == 0) return (sl_objstore_checksum_t)i;
    return SL_OBJSTORE_CHECKSUM_NONE;
}

/* base64 of bin[0..n) into out (NUL-terminated; 45 bytes hold 32 bytes' worth). */
static void b64(const uint8_t *bin, size_t n, char out[48]) {
    EVP_EncodeBlock((unsigned char *)out, bin, (int)n);
}

const char *sl_objstore_checksum_header(sl_objstore_checksum_t alg) {
    return alg != SL_OBJSTORE_CHECKSUM_NONE && (size_t)alg < SL_ARRAY_LEN(algs) ? algs[alg].header
                                                                                : NULL;
}

bool sl_objstore_checksum_is_header(const char *name) {
    return strncasecmp(name, "x-amz-checksum-", 15) == 0 &&
           sl_objstore_checksum_of_header(name, strlen(name)) != SL_OBJSTORE_CHECKSUM_NONE;
}

bool sl_objstore_checksum_valid(sl_objstore_checksum_t alg, const char *value) {
    if (alg == SL_OBJSTORE_CHECKSUM_NONE || (size_t)alg >= SL_ARRAY_LEN(algs) || !value)
        return false;
    size_t n = strlen(value), want = (algs[alg].bytes + 2) / 3 * 4;
    if (n != want) return false;
    uint8_t bin[48];
    char again[48];
    if (EVP_DecodeBlock(bin, (const unsigned char *)value, (int)n) < 0) return false;
    b64(bin, algs[alg].bytes, again); /* canonical form only: the padding bits zero */
    return strcmp(again, value) == 0;
}

/* CRC-64/NVME (reflected polynomial 0x9a6c9329ac4bc9b5, all ones in and out): what S3 calls
 * CRC64NVME. "123456789" gives 0xae8b14860a799888. */
static uint64_t crc64_table[256];
static pthread_once_t crc64_once = PTHREAD_ONCE_INIT;

static void crc64_init(void) {
    for (uint64_t i = 0; i < 256; i++) {
        uint64_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0x9a6c9329ac4bc9b5ull ^ (c >> 1) : c >> 1;
        crc64_table[i] = c;
    }
}

static uint64_t crc64_nvme(uint64_t crc, const uint8_t *p, size_t len) {
    pthread_once(&crc64_once, crc64_init);
    crc = ~crc;
    for (size_t i = 0; i < len; i++)
        crc = crc64_table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
    return ~crc;
}

static void put_be(uint8_t *out, uint64_t v, size_t n) {
    for (size_t i = 0; i < n; i++)
        out[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

/* The data's checksum, base64 as the client sends it. */
static void checksum_value(sl_objstore_upload_t *u, char out[48]) {
    uint8_t bin[32];
    unsigned int n = 0;
    switch (u->alg) {
    case SL_OBJSTORE_CHECKSUM_CRC32:
        put_be(bin, u->crc32, 4);
        break;
    case SL_OBJSTORE_CHECKSUM_CRC32C:
        put_be(bin, u->w.crc, 4);
        break;
    case SL_OBJSTORE_CHECKSUM_CRC64NVME:
        put_be(bin, u->crc64, 8);
        break;
    default:
        EVP_DigestFinal_ex(u->md, bin, &n);
        break;
    }
    b64(bin, algs[u->alg].bytes, out);
}

/* ---- the upload ---- */

static void upload_free(sl_objstore_upload_t *u) {
    EVP_MD_CTX_free(u->md);
    free(u->headers);
    free(u->bucket);
    free(u->key);
    free(u);
}

int sl_objstore_upload_begin(sl_objstore_t *s, const char *bucket, const char *key,
                             const char *upload_id, int part_number,
                             const sl_objstore_header_t *headers, size_t header_count,
                             sl_objstore_checksum_t checksum, int64_t now_ms,
                             sl_objstore_upload_t **out, sl_objstore_err_t *err) {
    *err = (sl_objstore_err_t){0};
    *out = NULL;
    sl_objstore_upload_t *u = calloc(1, sizeof *u);
    if (!u) return sl_os_internal(err, SL_ENOMEM);
    u->store = s;
    u->w.fd = -1;
    u->alg = (size_t)checksum < SL_ARRAY_LEN(algs) ? checksum : SL_OBJSTORE_CHECKSUM_NONE;
    u->bucket = strdup(bucket);
    u->key = strdup(key);
    int rc = u->bucket && u->key ? 0 : sl_os_internal(err, SL_ENOMEM);
    if (rc == 0 && (u->alg == SL_OBJSTORE_CHECKSUM_SHA1 || u->alg == SL_OBJSTORE_CHECKSUM_SHA256)) {
        u->md = EVP_MD_CTX_new();
        if (!u->md ||
            EVP_DigestInit_ex(
                u->md, u->alg == SL_OBJSTORE_CHECKSUM_SHA1 ? EVP_sha1() : EVP_sha256(), NULL) != 1)
            rc = sl_os_internal(err, SL_ENOMEM);
    }
    if (rc == 0 && upload_id) {
        u->part = true;
        rc = sl_os_part_paths(s, bucket, key, upload_id, part_number, u->part_dir,
                              sizeof u->part_dir, u->part_path, sizeof u->part_path, err);
        if (rc == 0) rc = sl_os_writer_open_in(s, u->part_dir, "", NULL, 0, 0, 0, NULL, &u->w, err);
    } else if (rc == 0) {
        if (sl_objstore_head_bucket(s, bucket, err) != 0 || sl_os_check_key(key, err) != 0)
            rc = SL_EINVAL;
        if (rc == 0 && u->alg != SL_OBJSTORE_CHECKSUM_NONE) {
            /* the checksum is stored with the object, as a header, for GetObject and
             * HeadObject with x-amz-checksum-mode: ENABLED (and CopyObject's copy) */
            u->headers = calloc(header_count + 1, sizeof *u->headers);
            if (!u->headers) {
                rc = sl_os_internal(err, SL_ENOMEM);
            } else {
                if (header_count) memcpy(u->headers, headers, header_count * sizeof *headers);
                size_t n = (algs[u->alg].bytes + 2) / 3 * 4;
                memset(u->value, 'A', n);
                u->value[n] = 0;
                u->headers[header_count++] = (sl_objstore_header_t){algs[u->alg].header, u->value};
                headers = u->headers;
            }
        }
        if (rc == 0)
            rc = sl_os_writer_open(s, bucket, u->key, headers, header_count, 0, now_ms, NULL, &u->w,
                                   err);
    }
    if (rc) {
        upload_free(u);
        return rc;
    }
    *out = u;
    return 0;
}

int sl_objstore_upload_write(sl_objstore_upload_t *u, const void *data, size_t len,
                             sl_objstore_err_t *err) {
    *err = (sl_objstore_err_t){0};
    int rc = sl_os_writer_write(&u->w, data, len, err);
    if (rc) return rc;
    switch (u->alg) {
    case SL_OBJSTORE_CHECKSUM_CRC32:
        for (size_t off = 0; off < len;) { /* zlib takes a uInt length */
            size_t n = SL_MIN(len - off, (size_t)1 << 30);
            u->crc32 = (uint32_t)crc32(u->crc32, (const Bytef *)data + off, (uInt)n);
            off += n;
        }
        break;
    case SL_OBJSTORE_CHECKSUM_CRC64NVME:
        u->crc64 = crc64_nvme(u->crc64, data, len);
        break;
    case SL_OBJSTORE_CHECKSUM_SHA1:
    case SL_OBJSTORE_CHECKSUM_SHA256:
        EVP_DigestUpdate(u->md, data, len);
        break;
    default: /* CRC32C is the writer's own */
        break;
    }
    return 0;
}

int sl_objstore_upload_commit(sl_objstore_upload_t *u, const uint8_t *md5, const char *checksum,
                              sl_arena_t *arena, sl_objstore_info_t *info, sl_objstore_err_t *err) {
    *err = (sl_objstore_err_t){0};
    int rc = 0;
    if (md5) {
        uint8_t got[16];
        sl_os_writer_md5(&u->w, got);
        if (memcmp(got, md5, 16) != 0) rc = sl_os_fail(err, SL_S3_BAD_DIGEST, NULL, NULL);
    }
    char got[48] = "";
    if (rc == 0 && u->alg != SL_OBJSTORE_CHECKSUM_NONE && (checksum || u->headers))
        checksum_value(u, got); /* once: a SHA's digest is final */
    if (rc == 0 && checksum && u->alg != SL_OBJSTORE_CHECKSUM_NONE && strcmp(got, checksum) != 0) {
        sl_os_fail(err, SL_S3_BAD_DIGEST, NULL, NULL);
        err->message = !arena ? NULL
                              : sl_arena_sprintf(arena,
                                                 "The %s you specified did not match the "
                                                 "calculated checksum.",
                                                 algs[u->alg].name);
        rc = SL_EINVAL;
    }
    if (rc == 0 && u->headers) {
        SL_ASSERT(strlen(got) == strlen(u->value));
        memcpy(u->value, got, strlen(got) + 1); /* the placeholder's room, exactly */
    }
    if (rc == 0) rc = sl_os_writer_finish(&u->w, NULL, err);
    if (rc == 0 && u->part) {
        if (rename(u->w.tmp_path, u->part_path) != 0) {
            rc = sl_os_internal(err, sl_os_errno_code(errno));
        } else {
            u->w.tmp_path[0] = 0; /* nothing left to remove */
            rc = sl_os_sync_dir(u->part_dir);
            if (rc) sl_os_internal(err, rc);
        }
        if (rc == 0) {
            memset(info, 0, sizeof *info);
            memcpy(info->etag, u->w.info.etag, sizeof info->etag);
            info->size = u->w.size;
        }
    } else if (rc == 0) {
        *info = u->w.info;
        info->key = arena ? sl_arena_strndup(arena, u->key, strlen(u->key)) : NULL;
        rc = sl_os_publish(u->store, u->bucket, u->w.tmp_path, &u->w.info, err);
        u->w.tmp_path[0] = 0; /* published, or removed by sl_os_publish */
    }
    if (rc) sl_os_writer_abandon(&u->w);
    upload_free(u);
    return rc;
}

void sl_objstore_upload_abort(sl_objstore_upload_t *u) {
    if (!u) return;
    sl_os_writer_abandon(&u->w);
    upload_free(u);
}
