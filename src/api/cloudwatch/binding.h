/* The CloudWatch binding (docs/observability.md, "CloudWatch API"): PutMetricData,
 * GetMetricStatistics, GetMetricData (metric stat queries) and ListMetrics over the metric store,
 * in AWS JSON 1.0 (target prefix GraniteServiceVersion20100801, as boto3 sends it) and Query
 * (signing name "monitoring", as the AWS CLI v2 sends it). The descriptor's account hook must
 * leave the caller's 12-digit account id in call->account. The other operations of the model are
 * routed and validated, and answer InternalFailure ("not supported"). */
#ifndef SL_API_CLOUDWATCH_BINDING_H
#define SL_API_CLOUDWATCH_BINDING_H

#include "cloudwatch/cloudwatch.h"
#include "front/front.h"

#include <stdbool.h>

/* Fills *svc with the JSON (query false) or the Query descriptor over the store cw. */
void sl_cwapi_describe(sl_cw_t *cw, bool query, sl_front_service_t *svc);

#endif
