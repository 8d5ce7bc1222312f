/* Query-protocol input decoding (front/query.c), exposed for the fuzz target: form parameters
 * to the operation's input document, driven by the model. */
#ifndef SL_FRONT_QUERY_H
#define SL_FRONT_QUERY_H

#include "core/arena.h"
#include "front/model.h"
#include "wire/form.h"
#include "wire/value.h"

/* Builds the input document of shape `input` (a structure, or NULL) from the parameters, as the
 * AWS Query protocol serializes it: `Member=v`, `Struct.Member=v`, lists `List.member.N` (1-based;
 * `List.N` when flattened; `List=` is an empty list), maps `Map.entry.N.key` / `.value` (names
 * from the model), timestamps in ISO 8601, booleans `true`/`false`. Parameters that name no member
 * are ignored (Action, Version, X-Amz-*). A scalar whose text does not convert stays a string,
 * so the validator reports its type as for JSON. Returns 0 with *out (a map, never NULL),
 * SL_EINVAL with *reason (indexes beyond the request's budget), or SL_ENOMEM. */
int sl_front_query_decode(const sl_shape_t *input, const sl_form_param_t *params, size_t count,
                          sl_arena_t *arena, sl_val_t **out, const char **reason);

#endif
