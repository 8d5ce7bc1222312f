/* The metrics registry: one per process. A service declares a metric (a family: its CloudWatch
 * namespace and name, its Prometheus name, its kind, unit and dimension names) once, asks for the
 * series of one set of dimension values once (and keeps the pointer, e.g. in its stream), then
 * counts on the hot path with sl_metric_add / sl_metric_observe. Exporters (/metrics, the
 * CloudWatch minute store, the console) read every series through sl_metrics_collect.
 *
 * Hot path: counters and histograms live in per-thread cells. A thread writes only its own cells
 * (relaxed atomic load + store, no lock, no read-modify-write on shared memory); a reader sums the
 * cells of every thread. A thread's cells outlive it: when it exits they go to a free list and the
 * next new thread continues adding to them, so no count is ever lost. Declaring metrics and
 * creating series take the registry's mutex (rare: at start-up, when a stream is created).
 *
 * Gauges are one atomic word in the series (set or add from anywhere); a family may also have a
 * collect callback that sets its gauges just before each export (process and storage numbers).
 *
 * Built with -DSL_METRICS_OFF (CMake option SL_METRICS=OFF) every hot-path call compiles to
 * nothing, for the benchmark that measures the registry's cost. */
#ifndef SL_CORE_METRICS_H
#define SL_CORE_METRICS_H

#include "core/buf.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    SL_METRIC_COUNTER = 0, /* a sum and a sample count (Prometheus: <name>_total = the sum) */
    SL_METRIC_HISTOGRAM,   /* a sum, a count and counts per bucket */
    SL_METRIC_GAUGE,       /* a current value */
} sl_metric_kind_t;

#define SL_METRIC_LABELS_MAX 3 /* StreamName, ShardId, ConsumerName: the most any metric has */

/* What a metric is. The descriptor must outlive the process's registry (use a static). */
typedef struct sl_metric_desc {
    const char *ns;        /* CloudWatch namespace ("AWS/Kinesis"); NULL: Prometheus only */
    const char *name;      /* CloudWatch metric name ("PutRecords.Latency") */
    const char *prom_name; /* Prometheus name, snake_case, base units, counters end in _total */
    const char *help;      /* one line for # HELP */
    sl_metric_kind_t kind;
    const char *unit;     /* CloudWatch unit: "Bytes", "Count", "Milliseconds", ... */
    double prom_scale;    /* Prometheus value = observed value * prom_scale (0 means 1); ms -> s */
    const double *bounds; /* histogram bucket upper bounds, ascending, in the observed unit */
    size_t bounds_len;
    const char *labels[SL_METRIC_LABELS_MAX]; /* dimension names (CloudWatch's), NULL-padded */
    /* Optional: called (under the registry mutex, from the exporting thread) before each
     * collect; it sets the family's gauges with sl_metric_set and may create series. A counter
     * with a collect callback is read from the value it sets too (a total the OS keeps). */
    void (*collect)(void *arg);
    void *collect_arg;
} sl_metric_desc_t;

typedef struct sl_metric sl_metric_t;        /* a declared family; owned by the registry */
typedef struct sl_metric_series sl_series_t; /* one set of dimension values; owned by it too */

/* Declares the metric `desc` (idempotent: declaring the same prom_name again returns the same
 * family). Returns NULL only when out of memory; a NULL metric is accepted by every call below. */
sl_metric_t *sl_metric_declare(const sl_metric_desc_t *desc);

/* The series of `metric` with these dimension values (as many as desc->labels names; copied).
 * Finds or creates it; a series released before is revived and keeps its counts. Returns NULL when
 * metric is NULL, out of memory, or SL_METRICS_CELLS_MAX is reached (then counting is dropped). */
sl_series_t *sl_metric_series(sl_metric_t *metric, const char *const *values);

/* Hides a series from exports (the stream was deleted). The pointer stays valid forever: threads
 * that still hold it may keep counting, into a series no one exports. */
void sl_series_release(sl_series_t *series);

#ifndef SL_METRICS_OFF
/* Counter: adds `value` to the sum and 1 to the sample count. NULL series: nothing. */
void sl_metric_add(sl_series_t *series, uint64_t value);
/* Histogram: one observation of `value` (in the descriptor's unit). */
void sl_metric_observe(sl_series_t *series, double value);
/* Gauge: sets or adds to the current value. */
void sl_metric_set(sl_series_t *series, int64_t value);
void sl_metric_gauge_add(sl_series_t *series, int64_t delta);
#else
static inline void sl_metric_add(sl_series_t *series, uint64_t value) {
    (void)series, (void)value;
}
static inline void sl_metric_observe(sl_series_t *series, double value) {
    (void)series, (void)value;
}
static inline void sl_metric_set(sl_series_t *series, int64_t value) {
    (void)series, (void)value;
}
static inline void sl_metric_gauge_add(sl_series_t *series, int64_t delta) {
    (void)series, (void)delta;
}
#endif

/* One series as an exporter sees it: the sums of every thread's cells at the time of the call. */
typedef struct {
    const sl_metric_desc_t *desc;
    const char *const *values; /* desc->labels' values */
    uint64_t count;            /* counter: samples; histogram: observations */
    double sum;                /* counter, histogram: the sum; gauge: the value */
    const uint64_t *buckets;   /* histogram: per bucket (not cumulative), bounds_len + 1 (+Inf) */
} sl_metric_sample_t;

/* Calls `fn` for every live series, family by family in declaration order (series in creation
 * order), after running each family's collect callback. Holds the registry mutex throughout: `fn`
 * must not declare metrics, create series or block. */
void sl_metrics_collect(void (*fn)(void *arg, const sl_metric_sample_t *sample), void *arg);

/* Calls `fn` once per declared family (for # HELP / # TYPE lines of families with no series). */
void sl_metrics_families(void (*fn)(void *arg, const sl_metric_desc_t *desc), void *arg);

/* Appends every live series to `out` in the Prometheus text exposition format (0.0.4): # HELP and
 * # TYPE per family, labels in snake_case (StreamName -> stream_name), values times prom_scale,
 * histograms as cumulative _bucket{le=...}, _sum and _count. Returns 0 or SL_ENOMEM. */
int sl_metrics_prometheus(sl_buf_t *out);

/* Declares the process metrics (process_cpu_seconds_total, process_resident_memory_bytes,
 * process_open_fds, process_start_time_seconds, ...), read from /proc at each export. */
void sl_metrics_process_declare(void);

/* Whether the hot-path calls were compiled in. */
bool sl_metrics_enabled(void);

#endif
