/* SubscribeToShard (enhanced fan-out push over the AWS event stream). Until the push path lands it
 * validates the request exactly as AWS does and then answers with a clear error. */
#include "api/kinesis_common.h"

#include <string.h>

sl_kconsumer_t *sl_kapi_consumer(sl_api_call_t *call, sl_kstream_t **stream_out);
void sl_kapi_subscribe(sl_api_call_t *call);

void sl_kapi_subscribe(sl_api_call_t *call) {
    sl_kinesis_rdlock(call->k);
    sl_kstream_t *s;
    sl_kconsumer_t *c = sl_kapi_consumer(call, &s);
    if (c) {
        if (sl_kconsumer_status(c, call->now_ms) != SL_KS_ACTIVE)
            sl_api_fail(call, "ResourceInUseException", "Consumer %s is not ACTIVE.", c->arn);
        else
            sl_api_fail(call, "InternalFailureException", "SubscribeToShard is not supported by this server yet.");
    }
    sl_kinesis_unlock(call->k);
}
