/* The percentile sketch (sketch.h). */
#include "cloudwatch/sketch.h"

#include "core/common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define GAMMA ((1.0 + SL_CW_SKETCH_ALPHA) / (1.0 - SL_CW_SKETCH_ALPHA))

static int32_t key_of(double v) {
    double k = ceil(log(v) / log(GAMMA));
    if (k > SL_CW_SKETCH_KEY_MAX) return SL_CW_SKETCH_KEY_MAX;
    if (k < -SL_CW_SKETCH_KEY_MAX) return -SL_CW_SKETCH_KEY_MAX;
    return (int32_t)k;
}

static double value_of(int32_t key) {
    return 2.0 * pow(GAMMA, key) / (GAMMA + 1.0);
}

static int bin_add(sl_cw_sketch_t *s, int32_t key, double count) {
    uint32_t lo = 0, hi = s->n;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (s->bins[mid].key < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < s->n && s->bins[lo].key == key) {
        s->bins[lo].count += count;
        return 0;
    }
    if (s->n == s->cap) {
        uint32_t cap = s->cap ? s->cap * 2 : 4;
        sl_cw_bin_t *b = realloc(s->bins, cap * sizeof *b);
        if (!b) {
            s->invalid = true;
            return SL_ENOMEM;
        }
        s->bins = b;
        s->cap = cap;
    }
    memmove(&s->bins[lo + 1], &s->bins[lo], (s->n - lo) * sizeof *s->bins);
    s->bins[lo] = (sl_cw_bin_t){key, count};
    s->n++;
    return 0;
}

int sl_cw_sketch_add(sl_cw_sketch_t *s, double v, double count) {
    if (!(count > 0) || !isfinite(count)) return 0;
    if (!isfinite(v) || v < 0) {
        s->invalid = true;
        return 0;
    }
    if (v < 1e-300) {
        s->zero += count;
        return 0;
    }
    return bin_add(s, key_of(v), count);
}

int sl_cw_sketch_merge(sl_cw_sketch_t *into, const sl_cw_sketch_t *from) {
    if (from->invalid) into->invalid = true;
    into->zero += from->zero;
    for (uint32_t i = 0; i < from->n; i++) {
        int rc = bin_add(into, from->bins[i].key, from->bins[i].count);
        if (rc) return rc;
    }
    return 0;
}

bool sl_cw_sketch_quantile(const sl_cw_sketch_t *s, double q, double min, double max, double *out) {
    if (s->invalid) return false;
    double total = s->zero;
    for (uint32_t i = 0; i < s->n; i++)
        total += s->bins[i].count;
    if (!(total > 0)) return false;
    if (q <= 0) {
        *out = min;
        return true;
    }
    if (q >= 1) {
        *out = max;
        return true;
    }
    double rank = ceil(q * total - 1e-9); /* nearest rank, 1-based */
    if (rank < 1) rank = 1;
    double v = max, cum = s->zero;
    if (cum >= rank) {
        v = 0;
    } else {
        for (uint32_t i = 0; i < s->n; i++) {
            cum += s->bins[i].count;
            if (cum >= rank) {
                v = value_of(s->bins[i].key);
                break;
            }
        }
    }
    *out = v < min ? min : v > max ? max : v;
    return true;
}

void sl_cw_sketch_free(sl_cw_sketch_t *s) {
    free(s->bins);
    *s = (sl_cw_sketch_t){0};
}
