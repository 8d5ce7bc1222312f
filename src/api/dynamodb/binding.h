/* The DynamoDB binding (docs/dynamodb.md): the generated model (model.c), the operation table and
 * the handlers, each of which turns its validated JSON input into the typed requests of the
 * DynamoDB core (dynamodb/dynamodb.h), calls it and encodes the answer. The composition root
 * registers the descriptor (sl_dapi_describe) with an account hook whose answer is the account's
 * engine (an sl_ddb_t *, in call->account). */
#ifndef SL_API_DYNAMODB_BINDING_H
#define SL_API_DYNAMODB_BINDING_H

#include "dynamodb/dynamodb.h"
#include "front/front.h"

/* Fills *svc with the DynamoDB descriptor (AWS JSON 1.0, target prefix DynamoDB_20120810, signing
 * name dynamodb, x-amz-crc32 on every answer). The caller adds the account hook. */
void sl_dapi_describe(sl_front_service_t *svc);
/* The handler of a DynamoDB operation, or NULL. */
sl_front_op_fn sl_dapi_handler(const char *op_name);

#endif
