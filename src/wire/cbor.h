/* CBOR decoder (application/x-amz-cbor-1.1) into the sl_val_t tree, on libcbor's streaming
 * decoder: definite and indefinite maps/arrays/strings, tag 1 timestamps (integer = ms; float:
 * value < 1e11 is seconds, else ms), byte strings as SL_VAL_BYTES, null/undefined as SL_VAL_NULL. */
#ifndef SL_WIRE_CBOR_H
#define SL_WIRE_CBOR_H

#include "core/arena.h"
#include "wire/value.h"

int sl_cbor_parse(const uint8_t *data, size_t len, sl_arena_t *arena, sl_val_t **out,
                  const char **reason);

#endif
