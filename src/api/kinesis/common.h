/* Helpers shared by the Kinesis operation handlers: resolving streams from StreamName/StreamARN,
 * state checks with AWS's texts, and encoders for shapes used by several operations. */
#ifndef SL_API_KINESIS_COMMON_H
#define SL_API_KINESIS_COMMON_H

#include "api/kinesis/internal.h"
#include "kinesis/control.h"
#include "kinesis/kinesis.h"

/* The stream a request names (its StreamName and StreamARN members), for the core. */
sl_kstream_ref_t sl_kapi_stream_ref(const sl_front_call_t *call);
/* Ends a handler after its core call: the core's error when !ok, else the reply encoded so far. */
void sl_kapi_answer(sl_front_call_t *call, bool ok, const sl_kerr_t *err);
/* Resolves the stream named by StreamName and/or StreamARN (caller holds the engine lock).
 * On failure sends the AWS error and returns NULL. */
sl_kstream_t *sl_kapi_stream(sl_front_call_t *call);
/* Same for a stream named by an ARN string only (StreamARN-only operations). */
sl_kstream_t *sl_kapi_stream_by_arn(sl_front_call_t *call, const char *arn, size_t len);
/* Sends ResourceInUseException unless the stream is ACTIVE; returns false when it did. */
bool sl_kapi_require_active(sl_front_call_t *call, sl_kstream_t *s);
void sl_kapi_not_found(sl_front_call_t *call, const char *name, size_t len);
/* The AWS error table's entry (wire/awserror.h) for a core error type. */
const char *sl_kapi_error_type(sl_kerr_type_t type);
/* Sends a core error as the AWS error (InternalFailure with the cause's message for internal ones).
 */
void sl_kapi_fail_err(sl_front_call_t *call, const sl_kerr_t *err);
/* Answers an operation whose change was just saved: InternalFailure for a failed save (rc, an
 * SL_E* code; nothing was changed), else the reply encoded so far. */
void sl_kapi_reply_saved(sl_front_call_t *call, int rc);
void sl_kapi_encode_shard(sl_front_call_t *call, const sl_kshard_t *sh);
void sl_kapi_encode_hash_range(sl_front_call_t *call, const sl_kshard_t *sh);
/* A shard is expired once it was closed longer ago than the retention period. */
bool sl_kapi_shard_expired(const sl_kstream_t *s, const sl_kshard_t *sh, int64_t now_ms);
/* Writes the "ChildShards" member of a read that reached its closed shard's end. */
void sl_kapi_encode_children(sl_enc_t *e, const sl_kchild_t *children, size_t count);
/* ShardIteratorType / StartingPosition members (type text, sequence number, Timestamp value) as the
 * core's starting position. */
sl_kstart_t sl_kapi_start(const char *type, const char *seq, size_t seq_len, const sl_val_t *ts);

/* Sends LimitExceededException (AWS's text) unless `extra` more open shards fit the account limit
 * (caller holds the engine lock). */
bool sl_kapi_shard_limit_ok(sl_front_call_t *call, int64_t extra);
/* Writes the "Records" member (Record shape) for the records of a completed read. */
void sl_kapi_encode_records(sl_enc_t *e, const sl_kread_t *rd, bool encrypted);

/* Wakes live subscriptions of `stream` (only those of consumer_arn when not NULL) so that they see
 * a deletion at once (subscribe.c). Call without holding the engine lock. */
void sl_kapi_subs_kick(sl_kapi_t *api, const char *stream, const char *consumer_arn);

/* Operation tables of the handler files, consulted by sl_kapi_handler (streams.c):
 * each sets *fn when it has the operation. */
void sl_kapi_tags_ops(const char *name, sl_front_op_fn *fn);
void sl_kapi_data_ops(const char *name, sl_front_op_fn *fn);
void sl_kapi_consumer_ops(const char *name, sl_front_op_fn *fn);
void sl_kapi_reshard_ops(const char *name, sl_front_op_fn *fn);
/* The Tags map of a request (CreateStream, AddTagsToStream, TagResource, RegisterStreamConsumer)
 * as the core's tags, in the call's arena (values "" when not strings); NULL when out of memory. */
sl_ktag_ref_t *sl_kapi_tags_in(sl_front_call_t *call, size_t *count);
void sl_kapi_subscribe(sl_front_call_t *call);
/* Sends LimitExceededException unless one more ON_DEMAND stream fits the account limit. */
bool sl_kapi_on_demand_limit_ok(sl_front_call_t *call);

#endif
