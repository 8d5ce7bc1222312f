/* Unit tests of the percentile sketch (cloudwatch/sketch.c: every percentile of a wide
 * distribution within 1% of the exact nearest-rank value, merges, invalid data) and of metric
 * math's parser and evaluator (cloudwatch/expr.c: precedence, errors and their messages). */
#include "test.h"

#include "cloudwatch/expr.h"
#include "cloudwatch/sketch.h"
#include "core/arena.h"
#include "core/common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void test_sketch(void) {
    enum { N = 5000 };
    static double v[N];
    sl_cw_sketch_t a = {0}, b = {0};
    for (int i = 0; i < N; i++) {
        v[i] = exp((double)(i * 7919 % N) / 250.0) / 1000.0; /* 0.001 to about 5e5 */
        sl_cw_sketch_add(i % 2 ? &a : &b, v[i], 1);
    }
    CHECK(sl_cw_sketch_merge(&a, &b) == 0);
    qsort(v, N, sizeof v[0], cmp_double);
    for (int p = 1; p < 100; p++) {
        double exact = v[(size_t)ceil(p / 100.0 * N) - 1], got;
        CHECK(sl_cw_sketch_quantile(&a, p / 100.0, v[0], v[N - 1], &got));
        CHECK(fabs(got - exact) <= SL_CW_SKETCH_ALPHA * exact);
    }
    double got;
    CHECK(sl_cw_sketch_quantile(&a, 1.0, v[0], v[N - 1], &got) && got == v[N - 1]);
    /* zeros, and a negative value makes percentiles unavailable */
    sl_cw_sketch_t z = {0};
    sl_cw_sketch_add(&z, 0, 3);
    sl_cw_sketch_add(&z, 10, 1);
    CHECK(sl_cw_sketch_quantile(&z, 0.5, 0, 10, &got) && got == 0);
    sl_cw_sketch_add(&z, -1, 1);
    CHECK(!sl_cw_sketch_quantile(&z, 0.5, -1, 10, &got));
    sl_cw_sketch_t empty = {0};
    CHECK(!sl_cw_sketch_quantile(&empty, 0.5, 0, 0, &got));
    sl_cw_sketch_free(&a);
    sl_cw_sketch_free(&b);
    sl_cw_sketch_free(&z);
}

static int64_t times[] = {60000, 120000, 180000};
static double values[] = {1, 2, 4};

static int lookup(void *ctx, const char *id, sl_cw_value_t *out, char *err, size_t cap) {
    (void)ctx, (void)err, (void)cap;
    if (strcmp(id, "m1") != 0) return SL_ENOTFOUND;
    *out = (sl_cw_value_t){.kind = SL_CW_SERIES,
                           .series = {.t = times, .v = values, .n = 3, .period_s = 60}};
    return 0;
}

/* The value of a scalar expression (NAN on error), or the last point of a series. */
static double eval(const char *text, char *err) {
    sl_arena_t arena;
    sl_arena_init(&arena, 4096);
    sl_cw_expr_t *e;
    double r = NAN;
    sl_cw_eval_t ev = {
        .arena = &arena, .lookup = lookup, .start_ms = 60000, .end_ms = 240000, .period_s = 60};
    sl_cw_value_t v;
    if (sl_cw_expr_parse(text, &arena, &e, err, 200) == 0 &&
        sl_cw_expr_eval(e, &ev, &v, err, 200) == 0)
        r = v.kind == SL_CW_SCALAR                 ? v.scalar
            : v.kind == SL_CW_SERIES && v.series.n ? v.series.v[v.series.n - 1]
                                                   : -12345;
    sl_arena_deinit(&arena);
    return r;
}

static void test_expr(void) {
    char err[200];
    CHECK(eval("1 + 2 * 3", err) == 7);
    CHECK(eval("(1 + 2) * 3", err) == 9);
    CHECK(eval("2 ^ 3 ^ 2", err) == 512);
    CHECK(eval("-2 ^ 2", err) == -4);
    CHECK(eval("10 - 4 - 3", err) == 3);
    CHECK(eval("1 < 2 AND 3 >= 3 OR 0", err) == 1);
    CHECK(eval("NOT 1", err) == 0);
    CHECK(eval("SUM(m1)", err) == 7);
    CHECK(eval("AVG(m1) * 3", err) == 7);
    CHECK(eval("m1 * 2", err) == 8);
    CHECK(eval("RATE(m1)", err) == 2.0 / 60);
    CHECK(eval("MAX([m1, m1 * 3])", err) == 12);
    CHECK(eval("IF(m1 > 1, m1, 100)", err) == 4);
    CHECK(eval("m1 / 0", err) == -12345); /* every point dropped */
    CHECK(isnan(eval("m1 +", err)));
    CHECK_EQ_STR(err, "unexpected end of the expression");
    CHECK(isnan(eval("m1 $ 2", err)));
    CHECK_EQ_STR(err, "unexpected '$' at position 4");
    CHECK(isnan(eval("FOO(m1)", err)));
    CHECK_EQ_STR(err, "unknown function FOO");
    CHECK(isnan(eval("m2", err)));
    CHECK_EQ_STR(err, "unknown id or keyword m2");
    CHECK(isnan(eval("'a'", err)));
    CHECK(isnan(eval("[1, 2]", err)));
    CHECK(isnan(eval("FILL(1, 0)", err)));
    CHECK(isnan(eval("(((((((((((((((((((((((((((((((((1)))))))))))))))))))))))))))))))))", err)));
    CHECK_EQ_STR(err, "the expression is nested deeper than 32 levels");
}

int main(void) {
    test_sketch();
    test_expr();
    TEST_MAIN_END();
}
