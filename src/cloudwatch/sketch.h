/* The distribution of one metric's values in one minute, for percentiles (ExtendedStatistics,
 * GetMetricData's pNN): a log-bucketed sketch with relative accuracy SL_CW_SKETCH_ALPHA. A positive
 * value v falls in bucket k = ceil(log(v) / log(gamma)), gamma = (1 + alpha) / (1 - alpha), whose
 * representative 2 gamma^k / (gamma + 1) is within alpha of every value in it; zero (and values
 * below 1e-300) has a bucket of its own. Sketches merge by adding bucket counts, so the percentile
 * of a period is that of its minutes' merged sketches, with the same accuracy. As on CloudWatch, a
 * negative value makes percentiles unavailable (the sketch becomes invalid). Keys are clamped to
 * +-SL_CW_SKETCH_KEY_MAX (values beyond about 1e+-17 share the last bucket), so a sketch has at
 * most 2 * SL_CW_SKETCH_KEY_MAX + 1 buckets. */
#ifndef SL_CLOUDWATCH_SKETCH_H
#define SL_CLOUDWATCH_SKETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SL_CW_SKETCH_ALPHA 0.01
#define SL_CW_SKETCH_KEY_MAX 2000

typedef struct {
    int32_t key;
    double count;
} sl_cw_bin_t;

typedef struct {
    sl_cw_bin_t *bins; /* owned; sorted by key */
    uint32_t n, cap;
    double zero;  /* count of zeros */
    bool invalid; /* a negative value (or a merge with an invalid sketch): no percentiles */
} sl_cw_sketch_t;

/* Adds `count` (> 0) occurrences of v. Returns 0 or SL_ENOMEM (the sketch is then invalid). */
int sl_cw_sketch_add(sl_cw_sketch_t *s, double v, double count);
/* Adds every bucket of `from` into `into`. Returns 0 or SL_ENOMEM (into is then invalid). */
int sl_cw_sketch_merge(sl_cw_sketch_t *into, const sl_cw_sketch_t *from);
/* The value at quantile q in [0, 1] (nearest rank), clamped to [min, max] (the exact extremes);
 * false when the sketch is invalid or empty. */
bool sl_cw_sketch_quantile(const sl_cw_sketch_t *s, double q, double min, double max, double *out);
void sl_cw_sketch_free(sl_cw_sketch_t *s);

#endif
