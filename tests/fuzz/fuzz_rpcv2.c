/* Fuzz target: the request side of the Smithy RPC v2 CBOR binding (front/rpcv2.c) over
 * CloudWatch's generated model. The input is a request target, a newline, then the body: the
 * operation lookup by path, the body's decoding (CBOR, tag 1 in seconds) and the model's
 * validation must not crash; a decoded document is a map, and validation either accepts it or
 * names an AWS error type. */
#include "api/cloudwatch/model.h"
#include "core/arena.h"
#include "core/common.h"
#include "front/rpcv2.h"
#include "front/validate.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *nl = memchr(data, '\n', size);
    size_t path_len = nl ? (size_t)(nl - data) : size;
    char *path = malloc(path_len + 1);
    if (!path) return 0;
    memcpy(path, data, path_len);
    path[path_len] = 0;
    const uint8_t *body = nl ? nl + 1 : data + size;
    size_t body_len = (size_t)(data + size - body);
    sl_arena_t arena;
    sl_arena_init(&arena, 4096);
    const sl_op_t *op = sl_front_rpcv2_op(&sl_cloudwatch_model, path);
    sl_val_t *doc = NULL;
    const char *reason = NULL;
    int rc = sl_front_rpcv2_decode(body, body_len, &arena, &doc, &reason);
    if (rc == 0) {
        if (!doc || doc->type != SL_VAL_MAP) abort();
        if (op) {
            sl_front_error_t err = {0};
            if (sl_front_validate(op, doc, SL_FMT_CBOR, &arena, &err) != 0 && !err.type) abort();
        }
    } else if (rc == SL_EINVAL && !reason) {
        abort();
    }
    sl_arena_deinit(&arena);
    free(path);
    return 0;
}
