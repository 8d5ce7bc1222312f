/* The CloudWatch metrics store, transport-free (docs/observability.md, "CloudWatch API"): metrics
 * identified by (account, namespace, name, dimensions), each a series of 1-minute statistics
 * (sample count, sum, minimum, maximum) kept for a window of days. Two sources feed it:
 * PutMetricData (custom namespaces) and the metrics registry (core/metrics.h), whose descriptors
 * with a namespace (AWS/Kinesis ...) are sampled into the current minute, so that
 * GetMetricStatistics answers the same numbers /metrics shows, up to the moment of the query.
 *
 * Durability: a writer thread appends every accepted datum and every closed minute of the
 * registry's metrics to <dir>/cloudwatch.log (CRC-checked frames), fdatasync'd in groups before
 * PutMetricData is answered; open replays it, drops what is older than the window and rewrites
 * it. Queries read memory under the store's mutex (no I/O). */
#ifndef SL_CLOUDWATCH_CLOUDWATCH_H
#define SL_CLOUDWATCH_CLOUDWATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SL_CW_DIMENSIONS_MAX 30  /* CloudWatch's limit per metric */
#define SL_CW_PERCENTILES_MAX 10 /* ExtendedStatistics of one call (the model's bound) */

typedef struct sl_cw sl_cw_t;

typedef struct {
    const char *name, *value;
} sl_cw_dim_t;

/* A metric's identity. */
typedef struct {
    const char *account; /* 12 digits */
    const char *ns;
    const char *name;
    const sl_cw_dim_t *dims;
    size_t dim_count;
} sl_cw_metric_t;

typedef struct {
    double count, sum, min, max;
} sl_cw_stats_t;

/* One datum of PutMetricData, already validated. Its distribution, for percentiles: the values
 * (and counts, NULL = 1 each) when it had Values, else one value when every sample had it (a Value,
 * or StatisticValues with SampleCount 1 or Minimum = Maximum); otherwise percentiles of its
 * minute are unavailable, as on CloudWatch. */
typedef struct {
    sl_cw_metric_t metric;
    const char *unit; /* "None" when absent */
    int64_t time_ms;
    sl_cw_stats_t stats;
    const double *values, *counts;
    size_t value_count;
} sl_cw_datum_t;

/* Opens (creates) the store in `dir`, keeping window_days of minutes; starts its writer thread. */
int sl_cw_open(const char *dir, int window_days, sl_cw_t **out);
void sl_cw_close(sl_cw_t *cw);

/* Accepts the data (copied) and calls done(arg, rc) on the writer thread once they are durable
 * (rc 0) or failed to be written (SL_EIO ...; the data stay in memory). Returns 0, or an error
 * without calling done. */
int sl_cw_put(sl_cw_t *cw, const sl_cw_datum_t *data, size_t count, void (*done)(void *, int),
              void *arg);

/* The minutes of one metric in [start_ms, end_ms), aggregated by period_s (a multiple of 60):
 * calls fn once per period that has data, in ascending time. unit NULL = any. pcts: percentiles
 * (0 to 100, at most SL_CW_PERCENTILES_MAX) to compute per period from the minutes' sketches
 * (cloudwatch/sketch.h: within 1% of a value of the data, clamped to the period's exact minimum
 * and maximum); fn gets them in the same order in pct (NULL when none were asked), NAN where
 * unavailable (a minute of the period without a known distribution, or negative values). */
typedef void (*sl_cw_point_fn)(void *arg, int64_t time_ms, const sl_cw_stats_t *stats,
                               const double *pct, const char *unit);
void sl_cw_query(sl_cw_t *cw, const sl_cw_metric_t *metric, int64_t start_ms, int64_t end_ms,
                 int64_t period_s, const char *unit, const double *pcts, size_t npct,
                 sl_cw_point_fn fn, void *arg);

/* A ListMetrics query: the metrics of `account` matching the filters (ns, name NULL = any; each
 * filter dimension must be present, with its value when the value is not NULL). */
typedef struct {
    const char *account, *ns, *name;
    const sl_cw_dim_t *filters;
    size_t filter_count;
    const char *after;       /* only metrics whose key sorts after this one (a page's last); NULL */
    int64_t active_since_ms; /* only metrics with a point in a minute ending after it; 0 = any */
    size_t limit;            /* at most this many (0 = all) */
} sl_cw_list_query_t;

/* Calls fn for the matching metrics in the order of their keys (account, namespace, name, sorted
 * dimensions). When more than q->limit match, *next is the key of the last one given (malloc'd:
 * pass it as q->after for the next page), else NULL. Returns 0 or SL_ENOMEM. */
typedef void (*sl_cw_metric_fn)(void *arg, const sl_cw_metric_t *metric);
int sl_cw_list(sl_cw_t *cw, const sl_cw_list_query_t *q, sl_cw_metric_fn fn, void *arg,
               char **next);

#endif
