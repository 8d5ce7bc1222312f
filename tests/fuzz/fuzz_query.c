/* Fuzz target: Query-protocol input decoding (front/query.c, sl_front_query_decode) over a model
 * with nested lists, maps (default, renamed and flattened) and every scalar type. The input is a
 * form body; decoding must not crash, and a decoded document is a map the validator accepts or
 * rejects with an AWS error type. */
#include "core/arena.h"
#include "core/common.h"
#include "front/query.h"
#include "front/validate.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/front/query_shapes.h"

static const sl_op_t op = {"PutMetricData", &q_in, NULL, "POST", "/", 0};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    sl_arena_t arena;
    sl_arena_init(&arena, 4096);
    sl_form_param_t *ps;
    size_t n;
    const char *reason = NULL;
    if (sl_form_parse((const char *)data, size, &arena, &ps, &n, &reason) == 0) {
        sl_val_t *doc = NULL;
        int rc = sl_front_query_decode(&q_in, ps, n, &arena, &doc, &reason);
        if (rc == 0) {
            if (!doc || doc->type != SL_VAL_MAP) abort();
            sl_front_error_t err = {0};
            if (sl_front_validate(&op, doc, SL_FMT_JSON, &arena, &err) != 0 && !err.type) abort();
        } else if (rc == SL_EINVAL && !reason) {
            abort();
        }
    }
    sl_arena_deinit(&arena);
    return 0;
}
