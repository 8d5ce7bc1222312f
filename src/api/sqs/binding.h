/* The SQS binding (docs/sqs.md): the queue operations over AWS JSON 1.0 (target prefix AmazonSQS,
 * what current SDKs send) and over the Query protocol (signing name "sqs", form-encoded
 * Action=..., what older CLIs and SDKs send), one handler per operation answering in the call's
 * protocol. Errors carry SQS's codes: JSON answers name the error shape in __type and the Query
 * code in x-amzn-query-error (sl_front_fail_compat). The descriptors' account hook must leave the
 * sl_sqs_t of the request's account in call->account. Queue URLs are AWS's form on this endpoint:
 * http(s)://<Host of the request>/<account>/<queue name>. */
#ifndef SL_API_SQS_BINDING_H
#define SL_API_SQS_BINDING_H

#include "front/front.h"
#include "sqs/sqs.h"

/* Fills the JSON descriptor (routed by target prefix) and the Query one (routed by signing name);
 * the composition root sets their account hooks and registers both. */
void sl_sqsapi_describe(sl_front_service_t *json, sl_front_service_t *query);

#endif
