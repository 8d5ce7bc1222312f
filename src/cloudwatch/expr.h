/* Metric math for GetMetricData (docs/observability.md, "Metric math"): the parser of
 * MetricDataQuery.Expression and its evaluator over the time series of the request's other
 * queries. Transport-free: the binding resolves query ids to series and turns errors into
 * ValidationError.
 *
 * Grammar (CloudWatch's arithmetic subset): numbers, query ids, 'strings', ( ), arrays [a, b],
 * unary -, NOT, binary ^ (right-associative), * /, + -, comparisons < <= > >= == !=, AND (&&),
 * OR (||), and function calls NAME(args). Functions: ABS CEIL FLOOR LOG LOG10 (element-wise),
 * SUM AVG MIN MAX STDDEV (of one series: a scalar; of an array: a series, per timestamp over the
 * series that have it), RATE (per second between consecutive points), DIFF, RUNNING_SUM,
 * FILL(s, value | REPEAT | LINEAR) (missing periods of [start, end) filled), IF(cond, a[, b]),
 * METRICS(['substring']) (the MetricStat queries, by Id), METRIC_COUNT(array), PERIOD(s).
 * Element-wise operations between two series keep the timestamps both have; a scalar applies to
 * every point; an array applies the operation to each of its series. Points whose value is not
 * finite (a division by zero) are dropped. */
#ifndef SL_CLOUDWATCH_EXPR_H
#define SL_CLOUDWATCH_EXPR_H

#include "core/arena.h"

#include <stddef.h>
#include <stdint.h>

#define SL_CW_EXPR_DEPTH_MAX 32 /* nesting of an expression */
#define SL_CW_EXPR_ARGS_MAX 64  /* arguments of a call, items of an array */

typedef struct sl_cw_expr sl_cw_expr_t;

/* A time series: n points in ascending time (arena memory). */
typedef struct {
    int64_t *t;
    double *v;
    size_t n;
    int64_t period_s;
    const char *label;
} sl_cw_series_t;

typedef enum { SL_CW_SCALAR, SL_CW_SERIES, SL_CW_ARRAY } sl_cw_kind_t;

typedef struct {
    sl_cw_kind_t kind;
    double scalar;
    sl_cw_series_t series;
    sl_cw_series_t *items; /* SL_CW_ARRAY */
    size_t count;
} sl_cw_value_t;

/* Parses `text` into *out (arena). Returns 0, or SL_EINVAL with a message in err (what is wrong
 * and at which character), or SL_ENOMEM. */
int sl_cw_expr_parse(const char *text, sl_arena_t *arena, sl_cw_expr_t **out, char *err,
                     size_t err_cap);

/* The ids an expression refers to, in order (for dependency checks): calls fn for each. */
void sl_cw_expr_ids(const sl_cw_expr_t *e, void (*fn)(void *arg, const char *id), void *arg);

typedef struct {
    sl_arena_t *arena;
    /* The value of query `id`: 0 and *out, or SL_ENOTFOUND (unknown id), or another error with
     * a message in err. */
    int (*lookup)(void *ctx, const char *id, sl_cw_value_t *out, char *err, size_t err_cap);
    void *ctx;
    /* METRICS(): the MetricStat queries' series and ids, in request order */
    const sl_cw_series_t *metrics;
    const char *const *metric_ids;
    size_t metric_count;
    int64_t start_ms, end_ms; /* FILL's range */
    int64_t period_s;         /* the expression's period (FILL of a scalar, PERIOD) */
} sl_cw_eval_t;

/* Evaluates e. Returns 0 with *out, SL_EINVAL with a message in err, or SL_ENOMEM. */
int sl_cw_expr_eval(const sl_cw_expr_t *e, const sl_cw_eval_t *ev, sl_cw_value_t *out, char *err,
                    size_t err_cap);

#endif
