/* Helpers shared by the Kinesis operation handlers: the stream a request names, answering with
 * the core's result or error, and encoders for shapes used by several operations. */
#ifndef SL_API_KINESIS_COMMON_H
#define SL_API_KINESIS_COMMON_H

#include "api/kinesis/internal.h"
#include "kinesis/control.h"
#include "kinesis/kinesis.h"

/* The stream a request names (its StreamName and StreamARN members), for the core. */
sl_kstream_ref_t sl_kapi_stream_ref(const sl_front_call_t *call);
/* Ends a handler after its core call: the core's error when !ok, else the reply encoded so far. */
void sl_kapi_answer(sl_front_call_t *call, bool ok, const sl_kerr_t *err);
/* Writes an operation's output from the core's result. */
typedef void (*sl_kapi_encode_fn)(sl_enc_t *e, const void *result);
/* sl_kapi_answer, with the output written by encode(e, result) first when ok. */
void sl_kapi_finish(sl_front_call_t *call, bool ok, const sl_kerr_t *err, sl_kapi_encode_fn encode,
                    const void *result);
/* The AWS error table's entry (wire/awserror.h) for a core error type. */
const char *sl_kapi_error_type(sl_kerr_type_t type);
/* Sends a core error as the AWS error (InternalFailure with the cause's message for internal ones).
 */
void sl_kapi_fail_err(sl_front_call_t *call, const sl_kerr_t *err);
/* Writes a Shard shape (DescribeStream, ListShards). */
void sl_kapi_encode_shard(sl_enc_t *e, const sl_kshard_info_t *sh);
/* Writes the "ChildShards" member of a read that reached its closed shard's end. */
void sl_kapi_encode_children(sl_enc_t *e, const sl_kchild_t *children, size_t count);
/* ShardIteratorType / StartingPosition members (type text, sequence number, Timestamp value) as the
 * core's starting position. */
sl_kstart_t sl_kapi_start(const char *type, const char *seq, size_t seq_len, const sl_val_t *ts);

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

#endif
