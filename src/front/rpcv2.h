/* Smithy RPC v2 CBOR (front/rpcv2.c): the request side of the binding, exposed for the fuzz
 * target and the unit tests. A request is POST /service/<ServiceName>/operation/<OperationName>
 * with a CBOR body (application/cbor; empty when the input is empty) and the header
 * `smithy-protocol: rpc-v2-cbor`; timestamps are tag 1 + epoch seconds (integer or float). */
#ifndef SL_FRONT_RPCV2_H
#define SL_FRONT_RPCV2_H

#include "core/arena.h"
#include "front/model.h"
#include "wire/value.h"

#include <stdbool.h>
#include <stddef.h>

/* Splits a request target "/service/<service>/operation/<op>[?query]": true with the two names
 * (pointers into path, not NUL-terminated) when it has that shape and both are non-empty. */
bool sl_front_rpcv2_path(const char *path, const char **service, size_t *service_len,
                         const char **op, size_t *op_len);

/* The operation of `model` the path names (its service must be the model's target prefix, the
 * Smithy service shape's name), or NULL. */
const sl_op_t *sl_front_rpcv2_op(const sl_service_model_t *model, const char *path);

/* The input document of a body: an empty body is the empty map; otherwise CBOR whose tag 1
 * counts seconds, which must be a map. Returns 0 with *out, SL_EINVAL with *reason (static), or
 * SL_ENOMEM. The body is not modified. */
int sl_front_rpcv2_decode(const uint8_t *body, size_t len, sl_arena_t *arena, sl_val_t **out,
                          const char **reason);

#endif
