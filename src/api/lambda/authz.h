/* Authorization of Lambda requests (docs/security.md, "Authorization"): the IAM action and the
 * resource of an operation, for the front's policy check. */
#ifndef SL_API_LAMBDA_AUTHZ_H
#define SL_API_LAMBDA_AUTHZ_H

#include "front/front.h"

/* The function's ARN (arn:aws:lambda:<region>:<account>:function:<name>; a FunctionName given
 * as an ARN as it is), an event-source mapping's ARN (UUID), else the account's `*`. */
const char *sl_lapi_resource(const sl_op_t *op, const sl_val_t *in, void *account,
                             const char *region, const char *account_id, sl_arena_t *arena);
/* Invoke is lambda:InvokeFunction; the other operations are their own names. */
const char *sl_lapi_action(const sl_op_t *op);

#endif
