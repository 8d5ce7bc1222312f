/* CBOR decoder (application/x-amz-cbor-1.1) into the sl_val_t tree, on libcbor's streaming
 * decoder: definite and indefinite maps/arrays/strings, tag 1 timestamps (integer = ms; float:
 * value < 1e11 is seconds, else ms, rounded to the nearest ms), byte strings as SL_VAL_BYTES,
 * null/undefined as SL_VAL_NULL. Other tags yield their content. Integers are SL_VAL_NUMBER with
 * is_integer and text == NULL (that is how a caller tells a CBOR number: an untagged integer
 * timestamp from a CBOR client means milliseconds); values beyond int64 saturate i. Strings are
 * arena copies (NUL-terminated); indefinite strings are joined. Errors (SL_EINVAL + static reason):
 * map key not a text string, invalid UTF-8 in text, trailing or missing bytes, malformed items,
 * simple values other than false/true/null/undefined, nesting (tags included) deeper than
 * SL_WIRE_DEPTH_MAX, tag 1 out of int64 ms range. SL_ENOMEM when allocation fails. */
#ifndef SL_WIRE_CBOR_H
#define SL_WIRE_CBOR_H

#include "core/arena.h"
#include "wire/value.h"

int sl_cbor_parse(const uint8_t *data, size_t len, sl_arena_t *arena, sl_val_t **out,
                  const char **reason);
/* As sl_cbor_parse; with tag1_seconds, the content of tag 1 counts seconds whether it is an
 * integer or a float (Smithy RPC v2 CBOR), so an integer beyond +-9.2e15 is out of range. */
int sl_cbor_parse_ex(const uint8_t *data, size_t len, bool tag1_seconds, sl_arena_t *arena,
                     sl_val_t **out, const char **reason);

#endif
