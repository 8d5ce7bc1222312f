/* Enhanced fan-out consumers: RegisterStreamConsumer, DescribeStreamConsumer, ListStreamConsumers,
 * DeregisterStreamConsumer (the core's kinesis/consumers.c; these handlers decode, call it and
 * encode). SubscribeToShard lives in subscribe.c. */
#include "api/kinesis/common.h"
#include "api/kinesis/metrics.h"

#include "core/limits.h"

#include <string.h>

static void encode_consumer(sl_enc_t *e, const sl_kconsumer_info_t *c, bool with_stream) {
    sl_enc_map_begin(e);
    sl_enc_kv_cstr(e, "ConsumerName", c->name);
    sl_enc_kv_cstr(e, "ConsumerARN", c->arn);
    sl_enc_kv_cstr(e, "ConsumerStatus", sl_kstatus_name(c->status));
    sl_enc_key(e, "ConsumerCreationTimestamp");
    sl_enc_timestamp_ms(e, c->created_ms);
    if (with_stream) sl_enc_kv_cstr(e, "StreamARN", c->stream_arn);
    sl_enc_map_end(e);
}

static sl_kconsumer_ref_t consumer_ref(const sl_front_call_t *call) {
    sl_kconsumer_ref_t ref = {0};
    ref.arn = sl_val_get_str(call->in, "ConsumerARN", &ref.arn_len);
    ref.name = sl_val_get_str(call->in, "ConsumerName", &ref.name_len);
    ref.stream_arn = sl_val_get_str(call->in, "StreamARN", &ref.stream_arn_len);
    return ref;
}

/* Writes {key: Consumer} (RegisterStreamConsumer: without StreamARN) or {key: ConsumerDescription}.
 */
static void encode_wrapped(sl_enc_t *e, const char *key, const sl_kconsumer_info_t *c,
                           bool with_stream) {
    sl_enc_map_begin(e);
    sl_enc_key(e, key);
    encode_consumer(e, c, with_stream);
    sl_enc_map_end(e);
}

static void encode_registered(sl_enc_t *e, const void *result) {
    encode_wrapped(e, "Consumer", result, false);
}

static void encode_described(sl_enc_t *e, const void *result) {
    encode_wrapped(e, "ConsumerDescription", result, true);
}

static void op_register(sl_front_call_t *call) {
    sl_kconsumer_register_t op = {.now_ms = call->now_ms};
    op.stream_arn = sl_val_get_str(call->in, "StreamARN", &op.stream_arn_len);
    op.name = sl_val_get_str(call->in, "ConsumerName", &op.name_len);
    op.tags = sl_kapi_tags_in(call, &op.tag_count);
    if (!op.tags) return sl_front_fail_internal(call, SL_ENOMEM);
    sl_kerr_t err;
    bool ok = sl_kinesis_register_consumer(sl_kapi_engine(call), &op, &err);
    sl_kapi_finish(call, ok, &err, encode_registered, &op.consumer);
}

static void op_describe(sl_front_call_t *call) {
    sl_kconsumer_ref_t ref = consumer_ref(call);
    sl_kconsumer_info_t c;
    sl_kerr_t err;
    bool ok = sl_kinesis_describe_consumer(sl_kapi_engine(call), &ref, call->now_ms, &c, &err);
    sl_kapi_finish(call, ok, &err, encode_described, &c);
}

static void op_deregister(sl_front_call_t *call) {
    sl_kconsumer_ref_t ref = consumer_ref(call);
    sl_kconsumer_gone_t gone;
    sl_kerr_t err;
    sl_kinesis_t *k = sl_kapi_engine(call);
    bool ok = sl_kinesis_deregister_consumer(k, &ref, call->now_ms, &gone, &err);
    sl_kapi_t *api = call->binding; /* call is released with the reply */
    sl_kapi_answer(call, ok, &err);
    if (!ok) return;
    sl_kapi_subs_kick(api, gone.stream_name, gone.consumer_arn);
    sl_kapi_metrics_release_consumer(sl_kinesis_account(k), gone.stream_name, gone.consumer_arn);
}

static void encode_list(sl_enc_t *e, const void *result) {
    const sl_kconsumer_list_t *op = result;
    sl_enc_map_begin(e);
    sl_enc_key(e, "Consumers");
    sl_enc_array_begin(e);
    for (size_t i = 0; i < op->count; i++)
        encode_consumer(e, &op->consumers[i], false);
    sl_enc_array_end(e);
    if (op->next) sl_enc_kv_cstr(e, "NextToken", op->next);
    sl_enc_map_end(e);
}

static void op_list(sl_front_call_t *call) {
    sl_kconsumer_list_t op = {
        .max_results = SL_KINESIS_LIST_CONSUMERS_MAX, .now_ms = call->now_ms, .arena = call->arena};
    op.stream_arn = sl_val_get_str(call->in, "StreamARN", &op.stream_arn_len);
    op.next_token = sl_val_get_str(call->in, "NextToken", &op.next_token_len);
    sl_val_get_int(call->in, "MaxResults", &op.max_results);
    if (op.max_results > SL_KINESIS_LIST_CONSUMERS_MAX)
        op.max_results = SL_KINESIS_LIST_CONSUMERS_MAX;
    sl_kerr_t err;
    bool ok = sl_kinesis_list_consumers(sl_kapi_engine(call), &op, &err);
    sl_kapi_finish(call, ok, &err, encode_list, &op);
}

void sl_kapi_consumer_ops(const char *name, sl_front_op_fn *fn) {
    if (!strcmp(name, "RegisterStreamConsumer"))
        *fn = op_register;
    else if (!strcmp(name, "DescribeStreamConsumer"))
        *fn = op_describe;
    else if (!strcmp(name, "DeregisterStreamConsumer"))
        *fn = op_deregister;
    else if (!strcmp(name, "ListStreamConsumers"))
        *fn = op_list;
    else if (!strcmp(name, "SubscribeToShard"))
        *fn = sl_kapi_subscribe;
}
