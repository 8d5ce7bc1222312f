/* Log-linear latency histogram for `sluice bench` (HDR histogram style): values below 128 ns have
 * their own bucket; above, each power of two is split into 64 buckets, so every recorded value is
 * known to within 1/64 (1.6%, reported as the bucket's upper bound) over the whole 64-bit range. */
#include "cli/bench_internal.h"

static int bucket_of(uint64_t v) {
    if (v < 128) return (int)v;
    int e = 63 - __builtin_clzll(v); /* 7..63 */
    uint64_t m = v >> (e - 6);       /* 64..127 */
    return 128 + (e - 7) * 64 + (int)(m - 64);
}

static uint64_t bucket_upper(int idx) {
    if (idx < 128) return (uint64_t)idx;
    int e = (idx - 128) / 64 + 7;
    uint64_t m = (uint64_t)((idx - 128) % 64 + 64);
    uint64_t lo = m << (e - 6);
    return lo + ((1ull << (e - 6)) - 1);
}

void sl_bench_hist_record(sl_bench_hist_t *h, uint64_t value_ns) {
    h->counts[bucket_of(value_ns)]++;
    h->total++;
    if (value_ns > h->max_ns) h->max_ns = value_ns;
}

void sl_bench_hist_merge(sl_bench_hist_t *into, const sl_bench_hist_t *from) {
    for (int i = 0; i < SL_BENCH_HIST_BUCKETS; i++)
        into->counts[i] += from->counts[i];
    into->total += from->total;
    if (from->max_ns > into->max_ns) into->max_ns = from->max_ns;
}

uint64_t sl_bench_hist_quantile(const sl_bench_hist_t *h, double q) {
    if (h->total == 0) return 0;
    uint64_t rank = (uint64_t)(q * (double)h->total);
    if (rank >= h->total) rank = h->total - 1;
    uint64_t seen = 0;
    for (int i = 0; i < SL_BENCH_HIST_BUCKETS; i++) {
        seen += h->counts[i];
        if (seen > rank) {
            uint64_t u = bucket_upper(i);
            return u < h->max_ns ? u : h->max_ns;
        }
    }
    return h->max_ns;
}
