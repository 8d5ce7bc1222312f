/* Fuzz target: DynamoDB's expression parsers. The input is tried as a condition, an update and a
 * projection with a few placeholders defined; each parses or fails with a message (never both,
 * never a crash); what parses is evaluated on a small item (conditions, projections) or applied
 * to a copy of it (updates). */
#include "core/common.h"
#include "dynamodb/expr.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    sl_arena_t arena;
    sl_arena_init(&arena, 4096);
    sl_ddb_val_t n = {.type = SL_DDB_N, .u.str = {"5", 1}};
    sl_ddb_val_t s = {.type = SL_DDB_S, .u.str = {"ab", 2}};
    sl_ddb_val_t elems[2] = {n, s};
    sl_ddb_val_t l = {.type = SL_DDB_L, .u.list = {elems, 2}};
    sl_ddb_val_t ss = {.type = SL_DDB_SS, .u.list = {&s, 1}};
    sl_ddb_attr_t inner[2] = {{"k", 1, n}, {"l", 1, l}};
    sl_ddb_attr_t attrs[4] = {
        {"a", 1, n}, {"b", 1, s}, {"m", 1, {.type = SL_DDB_M, .u.map = {inner, 2}}}, {"t", 1, ss}};
    sl_ddb_item_t item = {attrs, 4};
    const char *text = (const char *)data;
    for (int kind = 0; kind < 3; kind++) {
        sl_ddb_placeholder_t names[] = {{.key = "#a", .key_len = 2, .name = "a", .name_len = 1}};
        sl_ddb_placeholder_t values[] = {{.key = ":n", .key_len = 2, .value = &n},
                                         {.key = ":s", .key_len = 2, .value = &s},
                                         {.key = ":l", .key_len = 2, .value = &l},
                                         {.key = ":t", .key_len = 2, .value = &ss}};
        sl_ddb_expr_ctx_t ctx = {
            .arena = &arena, .names = names, .name_count = 1, .values = values, .value_count = 4};
        int rc;
        if (kind == 0) {
            sl_ddb_expr_t *e = NULL;
            rc = sl_ddb_parse_condition(&ctx, "ConditionExpression", text, size, &e);
            if (rc == 0) (void)sl_ddb_expr_test(e, &item, &arena);
        } else if (kind == 1) {
            sl_ddb_update_t u;
            rc = sl_ddb_parse_update(&ctx, text, size, &u);
            if (rc == 0) {
                sl_ddb_item_t copy;
                const char *why = NULL;
                if (sl_ddb_item_copy(&arena, &item, &copy) == 0 &&
                    sl_ddb_update_apply(&u, &copy, &arena, &why) == SL_EINVAL && !why)
                    abort();
            }
        } else {
            sl_ddb_projection_t p;
            rc = sl_ddb_parse_projection(&ctx, text, size, &p);
            sl_ddb_item_t out;
            if (rc == 0) (void)sl_ddb_project(&p, &item, &arena, &out);
        }
        if (rc != 0 && !ctx.error[0]) abort();
        if (rc == 0 && ctx.error[0]) abort();
    }
    sl_arena_deinit(&arena);
    return 0;
}
