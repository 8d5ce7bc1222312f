/* Fuzz target: metric math (cloudwatch/expr.c). The input is an expression; parsing must not
 * crash, give a message on failure, and a parsed expression is evaluated over two small series
 * (m1, m2) and METRICS(): evaluation must not crash and must give a message on failure. */
#include "cloudwatch/expr.h"
#include "core/arena.h"
#include "core/common.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int64_t t1[] = {60000, 120000, 240000}, t2[] = {120000, 180000};
static double v1[] = {1, -2, 3.5}, v2[] = {0, 7};
static sl_cw_series_t series[2] = {{t1, v1, 3, 60, "m1"}, {t2, v2, 2, 60, "m2"}};
static const char *const ids[] = {"m1", "m2"};

static int lookup(void *ctx, const char *id, sl_cw_value_t *out, char *err, size_t cap) {
    (void)ctx, (void)err, (void)cap;
    for (int i = 0; i < 2; i++)
        if (strcmp(id, ids[i]) == 0) {
            *out = (sl_cw_value_t){.kind = SL_CW_SERIES, .series = series[i]};
            return 0;
        }
    return SL_ENOTFOUND;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 2048) return 0; /* the model's bound on Expression */
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = 0;
    sl_arena_t arena;
    sl_arena_init(&arena, 4096);
    sl_cw_expr_t *e = NULL;
    char err[256];
    int rc = sl_cw_expr_parse(text, &arena, &e, err, sizeof err);
    if (rc == 0) {
        if (!e) abort();
        sl_cw_eval_t ev = {.arena = &arena,
                           .lookup = lookup,
                           .metrics = series,
                           .metric_ids = ids,
                           .metric_count = 2,
                           .start_ms = 0,
                           .end_ms = 600000,
                           .period_s = 60};
        sl_cw_value_t v;
        rc = sl_cw_expr_eval(e, &ev, &v, err, sizeof err);
        if (rc == SL_EINVAL && !err[0]) abort();
    } else if (rc == SL_EINVAL && !err[0]) {
        abort();
    }
    sl_arena_deinit(&arena);
    free(text);
    return 0;
}
