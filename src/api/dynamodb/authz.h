/* Authorization of DynamoDB requests (docs/security.md, "Authorization"): the tables an
 * operation acts on, for the front's policy check (sl_front_service_t.resource). */
#ifndef SL_API_DYNAMODB_AUTHZ_H
#define SL_API_DYNAMODB_AUTHZ_H

#include "front/front.h"

/* arn:aws:dynamodb:<region>:<account>:table/<TableName> (a TableName that is already an ARN as
 * given; ResourceArn as given); BatchGetItem, BatchWriteItem and the transactions: every table
 * they name, one per line; operations without a table: arn:aws:dynamodb:<region>:<account>:*. */
const char *sl_dapi_resource(const sl_op_t *op, const sl_val_t *in, void *account,
                             const char *region, const char *account_id, sl_arena_t *arena);

#endif
