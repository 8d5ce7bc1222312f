/* The Kinesis Data Streams binding (docs/architecture.md, "The front and its services"): the
 * generated model (model.c), the operation table (sl_kapi_handler) and the handlers, each of which
 * decodes its validated input, calls the Kinesis core (kinesis/kinesis.h) and encodes the result.
 * Everything else between HTTP and a handler (routing, content types, validation, errors, CORS, the
 * account hook) is the generic front's (front/front.h); the composition root registers this
 * binding's descriptor there (sl_kapi_describe) with its account hook, whose answer for a request
 * is the engine of the request's account (call->account). */
#ifndef SL_API_KINESIS_BINDING_H
#define SL_API_KINESIS_BINDING_H

#include "front/front.h"
#include "kinesis/kinesis.h"

/* The binding's own state: the engines connected (for the deletion kicks of SubscribeToShard). */
typedef struct sl_kapi sl_kapi_t;

int sl_kapi_create(sl_kapi_t **out);
void sl_kapi_destroy(sl_kapi_t *api);
/* Connects an engine (one per account) to the binding's deletion kicks. Call before the engine
 * serves any request. */
void sl_kapi_attach_kinesis(sl_kapi_t *api, sl_kinesis_t *k);
/* Fills *svc with the Kinesis descriptor (AWS JSON 1.1 + CBOR 1.1 and the legacy application/json
 * answers; target prefix Kinesis_20131202, signing name kinesis; the endpoint's default route).
 * The caller adds the account hook (svc->account, whose answer must be an sl_kinesis_t *) and
 * registers it with sl_front_add_service. */
void sl_kapi_describe(sl_kapi_t *api, sl_front_service_t *svc);
/* The handler of a Kinesis operation, or NULL (the operation table). */
sl_front_op_fn sl_kapi_handler(const char *op_name);

#endif
