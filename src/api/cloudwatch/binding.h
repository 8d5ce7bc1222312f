/* The CloudWatch binding (docs/observability.md, "CloudWatch API"): PutMetricData,
 * GetMetricStatistics, GetMetricData (metric stat queries) and ListMetrics over the metric store,
 * in AWS JSON 1.0 (target prefix GraniteServiceVersion20100801, as boto3 sends it), Query
 * (signing name "monitoring", as the AWS CLI v2 sends it) and Smithy RPC v2 CBOR (what the model
 * lists first). The descriptor's account hook must
 * leave the caller's 12-digit account id in call->account. The other operations of the model are
 * routed and validated, and answer InternalFailure ("not supported"). */
#ifndef SL_API_CLOUDWATCH_BINDING_H
#define SL_API_CLOUDWATCH_BINDING_H

#include "cloudwatch/cloudwatch.h"
#include "front/front.h"

#include <stdbool.h>

typedef enum {
    SL_CWAPI_JSON,        /* AWS JSON 1.0: target prefix GraniteServiceVersion20100801 (boto3) */
    SL_CWAPI_QUERY,       /* Query: signing name monitoring (the AWS CLI v2) */
    SL_CWAPI_RPC_V2_CBOR, /* Smithy RPC v2 CBOR: /service/GraniteServiceVersion20100801/... */
    SL_CWAPI_PROTOCOLS
} sl_cwapi_protocol_t;

/* Fills *svc with the descriptor of one protocol over the store cw. */
void sl_cwapi_describe(sl_cw_t *cw, sl_cwapi_protocol_t protocol, sl_front_service_t *svc);

#endif
