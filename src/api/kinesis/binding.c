/* The Kinesis binding's descriptor and state (see binding.h). */
#include "api/kinesis/internal.h"

#include "core/time.h"

#include <stdlib.h>
#include <string.h>

int sl_kapi_create(sl_kapi_t **out) {
    sl_kapi_t *api = calloc(1, sizeof *api);
    if (!api) return SL_ENOMEM;
    sl_kapi_subs_init(api);
    *out = api;
    return 0;
}

void sl_kapi_destroy(sl_kapi_t *api) {
    if (!api) return;
    sl_kapi_subs_deinit(api);
    free(api);
}

void sl_kapi_attach_kinesis(sl_kapi_t *api, sl_kinesis_t *k) {
    sl_kapi_subs_attach(api, k);
}

/* The resource an operation acts on, for authorization (docs/security.md), as AWS's service
 * authorization reference lists Kinesis's: the consumer ARN (SubscribeToShard and the consumer
 * operations), else the stream (StreamARN, or the ARN of StreamName in the caller's account),
 * else the account's `*` resource (ListStreams, DescribeLimits, ...). */
static const char *kinesis_resource(const sl_op_t *op, const sl_val_t *in, void *account,
                                    const char *region, const char *account_id, sl_arena_t *arena) {
    size_t name_len = 0, len = 0;
    const char *name = sl_val_get_str(in, "StreamName", &name_len);
    sl_kreader_t reader;
    if (strcmp(op->name, "GetRecords") == 0) {
        /* the stream is named only by the (sealed) iterator; one that does not open is left to
         * the handler's error, against the account's resource */
        size_t it_len = 0;
        const char *it = sl_val_get_str(in, "ShardIterator", &it_len);
        sl_kerr_t err;
        if (it && account &&
            sl_kinesis_iterator_open(account, it, it_len, sl_time_now_ms(), &reader, &err)) {
            name = reader.stream;
            name_len = strlen(reader.stream);
        }
    }
    const char *arn = sl_val_get_str(in, "ConsumerARN", &len);
    if (!arn) arn = sl_val_get_str(in, "StreamARN", &len);
    if (!arn) arn = sl_val_get_str(in, "ResourceARN", &len);
    if (arn) return sl_arena_strndup(arena, arn, len);
    sl_buf_t b = SL_BUF_INIT;
    if (name)
        sl_buf_printf(&b, "arn:aws:kinesis:%s:%s:stream/%.*s", region, account_id, (int)name_len,
                      name);
    else
        sl_buf_printf(&b, "arn:aws:kinesis:%s:%s:*", region, account_id);
    sl_buf_append_byte(&b, 0);
    const char *out = sl_buf_failed(&b) ? NULL : sl_arena_strndup(arena, b.data, b.len - 1);
    sl_buf_free(&b);
    return out;
}

/* The account of the stream or consumer the request names by ARN (cross-account access): the
 * fifth field of arn:aws:kinesis:<region>:<account>:stream/..., when it is 12 digits. */
static bool kinesis_resource_account(const sl_op_t *op, const sl_val_t *in, char out[16]) {
    (void)op;
    const char *arn = sl_val_get_str(in, "ConsumerARN", NULL);
    if (!arn) arn = sl_val_get_str(in, "StreamARN", NULL);
    if (!arn) arn = sl_val_get_str(in, "ResourceARN", NULL);
    if (!arn || strncmp(arn, "arn:", 4) != 0) return false;
    const char *p = arn;
    for (int field = 0; field < 4; field++) {
        p = strchr(p, ':');
        if (!p) return false;
        p++;
    }
    if (strspn(p, "0123456789") != 12 || p[12] != ':') return false;
    memcpy(out, p, 12);
    out[12] = '\0';
    return true;
}

void sl_kapi_describe(sl_kapi_t *api, sl_front_service_t *svc) {
    *svc = (sl_front_service_t){
        .name = "kinesis",
        .protocol = SL_FRONT_PROTO_JSON,
        .model = &sl_kinesis_model,
        .handler = sl_kapi_handler,
        .signing_name = sl_kinesis_model.signing_name,
        .json_content_type = "application/x-amz-json-1.1",
        .cbor_content_type = "application/x-amz-cbor-1.1",
        .legacy_json = true,
        .default_route = true,
        .binding = api,
        .resource = kinesis_resource,
        .action_prefix = "kinesis",
        .resource_account = kinesis_resource_account,
    };
}
