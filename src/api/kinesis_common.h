/* Helpers shared by the Kinesis operation handlers: resolving streams from StreamName/StreamARN,
 * state checks with AWS's texts, and encoders for shapes used by several operations. */
#ifndef SL_API_KINESIS_COMMON_H
#define SL_API_KINESIS_COMMON_H

#include "api/internal.h"
#include "kinesis/seqnum.h"

/* Resolves the stream named by StreamName and/or StreamARN (caller holds the engine lock).
 * On failure sends the AWS error and returns NULL. */
sl_kstream_t *sl_kapi_stream(sl_api_call_t *call);
/* Same for a stream named by an ARN string only (StreamARN-only operations). */
sl_kstream_t *sl_kapi_stream_by_arn(sl_api_call_t *call, const char *arn, size_t len);
/* Sends ResourceInUseException unless the stream is ACTIVE; returns false when it did. */
bool sl_kapi_require_active(sl_api_call_t *call, sl_kstream_t *s);
void sl_kapi_not_found(sl_api_call_t *call, const char *name, size_t len);
void sl_kapi_encode_shard(sl_api_call_t *call, const sl_kshard_t *sh);
void sl_kapi_encode_hash_range(sl_api_call_t *call, const sl_kshard_t *sh);
/* A shard is expired once it was closed longer ago than the retention period. */
bool sl_kapi_shard_expired(const sl_kstream_t *s, const sl_kshard_t *sh, int64_t now_ms);
void sl_kapi_encode_child_shards(sl_api_call_t *call, const sl_kstream_t *s, const sl_kshard_t *parent);

/* Shard by ShardId text; sends ResourceNotFoundException when missing. */
sl_kshard_t *sl_kapi_shard(sl_api_call_t *call, sl_kstream_t *s, const char *id, size_t len);
/* Storage position for a GetShardIterator/SubscribeToShard starting position; sends the AWS error
 * (texts name `op`) and returns false when invalid. */
bool sl_kapi_start_position(sl_api_call_t *call, sl_kstream_t *s, sl_kshard_t *sh, const char *op, const char *type,
                            const char *seq, size_t slen, const sl_val_t *ts, uint64_t *position_out);

/* Sends LimitExceededException (AWS's text) unless `extra` more open shards fit the account limit
 * (caller holds the engine lock). */
bool sl_kapi_shard_limit_ok(sl_api_call_t *call, int64_t extra);
/* Public sequence number of a record: shard-local counter and arrival time in the shard's layout. */
sl_seqnum_t sl_kapi_seqnum(int64_t shard_created_ms, uint32_t shard_index, uint64_t counter, int64_t arrival_ms);
/* The same, formatted. Returns its length (digits only, so it can be written with SL_ENC_KV_PLAIN). */
size_t sl_kapi_format_seq(int64_t shard_created_ms, uint32_t shard_index, uint64_t counter,
                          int64_t arrival_ms, char out[64]);
/* Writes the "Records" member (Record shape) for the records of a read result. */
void sl_kapi_encode_records(sl_enc_t *e, const sl_read_result_t *res, int64_t shard_created_ms, uint32_t shard_index,
                            bool encrypted);

/* Wakes live subscriptions of `stream` (only those of consumer_arn when not NULL) so that they see
 * a deletion at once (kinesis_subscribe.c). Call without holding the engine lock. */
void sl_kapi_subs_kick(sl_api_t *api, const char *stream, const char *consumer_arn);

/* Operation tables of the handler files, consulted by sl_kinesis_op_handler (kinesis_streams.c):
 * each sets *fn when it has the operation. */
void sl_kapi_tags_ops(const char *name, sl_api_op_fn *fn);
void sl_kapi_data_ops(const char *name, sl_api_op_fn *fn);
void sl_kapi_consumer_ops(const char *name, sl_api_op_fn *fn);
void sl_kapi_reshard_ops(const char *name, sl_api_op_fn *fn);
/* Consumer from ConsumerARN, or StreamARN + ConsumerName (caller holds the engine lock); sends the
 * error and returns NULL when there is none. */
sl_kconsumer_t *sl_kapi_consumer(sl_api_call_t *call, sl_kstream_t **stream_out);
void sl_kapi_subscribe(sl_api_call_t *call);
/* Sends LimitExceededException unless one more ON_DEMAND stream fits the account limit. */
bool sl_kapi_on_demand_limit_ok(sl_api_call_t *call);

#endif
