/* Authorization of S3 requests (docs/security.md, "Authorization"): S3's IAM action names and
 * resources, for the front's policy check. */
#ifndef SL_API_S3_AUTHZ_H
#define SL_API_S3_AUTHZ_H

#include "front/front.h"

/* arn:aws:s3:::<bucket>/<key> for object operations, arn:aws:s3:::<bucket> for bucket
 * operations, arn:aws:s3:::* for ListBuckets; CopyObject and UploadPartCopy add
 * "s3:GetObject arn:aws:s3:::<source>" (another action for that line); DeleteObjects is
 * every key of the bucket (arn:aws:s3:::<bucket>/ and a star: its keys are in the body). */
const char *sl_s3api_resource(const sl_op_t *op, const sl_val_t *in, void *account,
                              const char *region, const char *account_id, sl_arena_t *arena);
/* S3's action of an operation when it is not the operation's name (HeadObject: GetObject,
 * ListObjectsV2: ListBucket, UploadPart: PutObject, ...). */
const char *sl_s3api_action(const sl_op_t *op);

#endif
