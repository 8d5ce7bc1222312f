/* S3's actions and resources, for authorization (authz.h). The action names are those of the
 * IAM service authorization reference for Amazon S3. */
#include "api/s3/authz.h"

#include "core/common.h"

#include <string.h>

const char *sl_s3api_action(const sl_op_t *op) {
    static const struct {
        const char *op, *action;
    } table[] = {
        {"HeadObject", "GetObject"},
        {"HeadBucket", "ListBucket"},
        {"ListObjects", "ListBucket"},
        {"ListObjectsV2", "ListBucket"},
        {"ListObjectVersions", "ListBucketVersions"},
        {"ListBuckets", "ListAllMyBuckets"},
        {"CopyObject", "PutObject"},
        {"CreateMultipartUpload", "PutObject"},
        {"UploadPart", "PutObject"},
        {"UploadPartCopy", "PutObject"},
        {"CompleteMultipartUpload", "PutObject"},
        {"AbortMultipartUpload", "AbortMultipartUpload"},
        {"DeleteObjects", "DeleteObject"},
        {"ListMultipartUploads", "ListBucketMultipartUploads"},
        {"ListParts", "ListMultipartUploadParts"},
        {"GetBucketLocation", "GetBucketLocation"},
    };
    for (size_t i = 0; i < SL_ARRAY_LEN(table); i++)
        if (strcmp(table[i].op, op->name) == 0) return table[i].action;
    return NULL;
}

const char *sl_s3api_resource(const sl_op_t *op, const sl_val_t *in, void *account,
                              const char *region, const char *account_id, sl_arena_t *arena) {
    (void)account;
    (void)region;
    (void)account_id;
    const char *bucket = sl_val_get_str(in, "Bucket", NULL);
    const char *key = sl_val_get_str(in, "Key", NULL);
    if (!bucket) return "arn:aws:s3:::*";
    if (strcmp(op->name, "DeleteObjects") == 0)
        return sl_arena_sprintf(arena, "arn:aws:s3:::%s/*", bucket);
    if (!key) return sl_arena_sprintf(arena, "arn:aws:s3:::%s", bucket);
    const char *source = sl_val_get_str(in, "CopySource", NULL);
    if (source) {
        /* "bucket/key" or "/bucket/key", maybe with ?versionId=... */
        if (*source == '/') source++;
        size_t n = strcspn(source, "?");
        return sl_arena_sprintf(arena, "arn:aws:s3:::%s/%s\ns3:GetObject arn:aws:s3:::%.*s", bucket,
                                key, (int)n, source);
    }
    return sl_arena_sprintf(arena, "arn:aws:s3:::%s/%s", bucket, key);
}
