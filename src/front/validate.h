/* Model-driven request validation with AWS's exact texts (tests/conformance/test_errors.py;
 * the order is docs/architecture.md's "PutRecords", step 2): first type checks over the whole
 * document (SerializationException), then constraint checks (ValidationException "N validation
 * error(s) detected: ...", at most 10 listed, in AWS's order). Validation also coerces the tree in
 * place so handlers see one form whatever the codec: blob      -> SL_VAL_BYTES (JSON base64 decoded
 * into the arena) timestamp -> SL_VAL_TIMESTAMP (JSON seconds with fraction, CBOR tag1/int ms)
 *   integer/long -> SL_VAL_NUMBER with u.num.i set (fractions truncated, ints clamped as AWS does)
 * Unknown members are ignored, null members are treated as absent. */
#ifndef SL_FRONT_VALIDATE_H
#define SL_FRONT_VALIDATE_H

#include "front/model.h"
#include "core/arena.h"
#include "wire/value.h"

typedef struct {
    const char *type;    /* SL_AWS_SERIALIZATION / SL_AWS_VALIDATION (wire/awserror.h) */
    const char *message; /* may be NULL: the error then has no message */
} sl_front_error_t;

/* input may be NULL (empty document). Returns 0 when valid, -1 with *err filled (arena strings). */
int sl_front_validate(const sl_op_t *op, sl_val_t *input, sl_fmt_t fmt, sl_arena_t *arena,
                      sl_front_error_t *err);

/* Steps 7 and 10 in one pass for the JSON bodies most requests send (validate.c, "fast path": known
 * members only, each once; strings and blobs as plain ASCII JSON strings; lists of structures):
 * true with *doc, the tree sl_json_parse and then sl_front_validate would leave, when it accepts
 * body[0..len) (body[len] must be a readable NUL); false otherwise, with the body unchanged and
 * only arena memory spent: the caller then parses and validates as before, which gives every error.
 */
bool sl_front_json_fast(const sl_op_t *op, char *body, size_t len, sl_arena_t *arena,
                        sl_val_t **doc);

#endif
