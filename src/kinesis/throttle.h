/* Per-shard throughput limits (--throughput-limits aws; docs/compatibility.md, "Throughput
 * limits"), private to kinesis/. Each limit is a token bucket holding one second of its rate
 * (AWS's one-second burst), kept as one atomic word: the time at which the bucket will be full
 * again (the "theoretical arrival time" of GCRA), in nanoseconds of CLOCK_MONOTONIC. So a take is
 * one compare-and-swap, with no lock, and concurrent puts to one shard under the engine's read lock
 * need nothing more.
 *
 * A take of `cost` units is admitted when the bucket holds at least min(cost, capacity) units;
 * it then removes `cost`, which may leave the bucket in debt: a record or response larger than one
 * second's worth (a 10 MiB record at 1 MiB/s) passes on a full bucket and blocks the limit until
 * the debt is repaid, as on AWS ("after a 10 MiB response, calls in the next 5 s throttle"). */
#ifndef SL_KINESIS_THROTTLE_H
#define SL_KINESIS_THROTTLE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#define SL_KTHROTTLE_NS_PER_S INT64_C(1000000000)

/* AWS's per-shard limits for provisioned streams (shared/specs/kinesis-data-streams.md §3.4). */
#define SL_KTHROTTLE_WRITE_BYTES_PER_S (INT64_C(1) << 20)
#define SL_KTHROTTLE_WRITE_RECORDS_PER_S INT64_C(1000)
#define SL_KTHROTTLE_READ_BYTES_PER_S (INT64_C(2) << 20)
#define SL_KTHROTTLE_READ_CALLS_PER_S INT64_C(5)
#define SL_KTHROTTLE_EFO_BYTES_PER_S (INT64_C(2) << 20)
/* GetShardIterator: 5 calls per second per open shard (§3.4), not configurable */
#define SL_KTHROTTLE_ITERATOR_CALLS_PER_S INT64_C(5)

typedef struct {
    int64_t full_ns; /* atomic: when the bucket is full again; 0 = full since the start */
} sl_kbucket_t;

static inline int64_t sl_kthrottle_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * SL_KTHROTTLE_NS_PER_S + ts.tv_nsec;
}

/* Time that `cost` units take to refill at `rate_per_s` (cost < 2^33: records are at most 10 MiB
 * plus a key, and a PutRecords batch at most 10 MiB). */
static inline int64_t sl_kbucket_cost_ns(int64_t cost, int64_t rate_per_s) {
    return cost * SL_KTHROTTLE_NS_PER_S / rate_per_s;
}

/* Takes `cost_ns` (sl_kbucket_cost_ns) from a bucket of one second's capacity at `now_ns`: true
 * when admitted (and taken), false when the bucket holds less than min(cost, capacity). */
static inline bool sl_kbucket_take(sl_kbucket_t *b, int64_t cost_ns, int64_t now_ns) {
    int64_t need = cost_ns < SL_KTHROTTLE_NS_PER_S ? cost_ns : SL_KTHROTTLE_NS_PER_S;
    int64_t full = __atomic_load_n(&b->full_ns, __ATOMIC_RELAXED);
    for (;;) {
        int64_t base = full > now_ns ? full : now_ns;
        /* the bucket holds capacity - (base - now) units */
        if (base - now_ns + need > SL_KTHROTTLE_NS_PER_S) return false;
        if (__atomic_compare_exchange_n(&b->full_ns, &full, base + cost_ns, true, __ATOMIC_RELAXED,
                                        __ATOMIC_RELAXED))
            return true;
    }
}

/* Takes `cost_ns` unconditionally (a read's bytes, known only after the read): may put the bucket
 * in debt. */
static inline void sl_kbucket_charge(sl_kbucket_t *b, int64_t cost_ns, int64_t now_ns) {
    int64_t full = __atomic_load_n(&b->full_ns, __ATOMIC_RELAXED);
    for (;;) {
        int64_t base = full > now_ns ? full : now_ns;
        if (__atomic_compare_exchange_n(&b->full_ns, &full, base + cost_ns, true, __ATOMIC_RELAXED,
                                        __ATOMIC_RELAXED))
            return;
    }
}

/* Gives back a take that a second limit refused (the record was throttled after all). */
static inline void sl_kbucket_refund(sl_kbucket_t *b, int64_t cost_ns) {
    __atomic_sub_fetch(&b->full_ns, cost_ns, __ATOMIC_RELAXED);
}

/* True while the bucket is not in debt (a GetRecords call may start reading). */
static inline bool sl_kbucket_positive(sl_kbucket_t *b, int64_t now_ns) {
    return __atomic_load_n(&b->full_ns, __ATOMIC_RELAXED) - now_ns < SL_KTHROTTLE_NS_PER_S;
}

/* The rates of the limits (--shard-write-bytes-per-s ...; AWS's by default), each > 0. */
typedef struct {
    int64_t write_bytes_per_s, write_records_per_s, read_bytes_per_s, read_calls_per_s;
    int64_t efo_bytes_per_s; /* per enhanced fan-out consumer and shard */
} sl_klimit_rates_t;

#define SL_KLIMIT_RATES_AWS                                                                        \
    ((sl_klimit_rates_t){SL_KTHROTTLE_WRITE_BYTES_PER_S, SL_KTHROTTLE_WRITE_RECORDS_PER_S,         \
                         SL_KTHROTTLE_READ_BYTES_PER_S, SL_KTHROTTLE_READ_CALLS_PER_S,             \
                         SL_KTHROTTLE_EFO_BYTES_PER_S})

/* The limits of one shard (in sl_kshard_t) and what they refused (for the metrics to come). */
typedef struct {
    sl_kbucket_t write_bytes, write_records, read_bytes, read_calls;
    sl_kbucket_t iterator_calls; /* GetShardIterator */
    uint64_t write_throttled;    /* atomic: records refused (WriteProvisionedThroughputExceeded) */
    uint64_t
        read_throttled; /* atomic: GetRecords calls refused (ReadProvisionedThroughputExceeded) */
} sl_kshard_limits_t;

/* Admits one record of `bytes` (data plus partition key) to a pair of write buckets (a shard's,
 * or an on-demand stream's) at the given rates. */
static inline bool sl_kwrite_take(sl_kbucket_t *records, sl_kbucket_t *bytes_bucket,
                                  int64_t records_per_s, int64_t bytes_per_s, int64_t bytes,
                                  int64_t now_ns) {
    int64_t rec = sl_kbucket_cost_ns(1, records_per_s);
    if (sl_kbucket_take(records, rec, now_ns)) {
        if (sl_kbucket_take(bytes_bucket, sl_kbucket_cost_ns(bytes, bytes_per_s), now_ns))
            return true;
        sl_kbucket_refund(records, rec);
    }
    return false;
}

/* Admits one record of `bytes` (data plus partition key) to the shard, or counts it throttled. */
static inline bool sl_kshard_limits_write(sl_kshard_limits_t *l, const sl_klimit_rates_t *rates,
                                          int64_t bytes, int64_t now_ns) {
    if (sl_kwrite_take(&l->write_records, &l->write_bytes, rates->write_records_per_s,
                       rates->write_bytes_per_s, bytes, now_ns))
        return true;
    __atomic_add_fetch(&l->write_throttled, 1, __ATOMIC_RELAXED);
    return false;
}

/* Admits one GetRecords call, or counts it throttled: a call token, and read bandwidth not in debt
 * (the call's bytes are charged after the read, sl_kshard_limits_read_bytes). */
static inline bool sl_kshard_limits_read(sl_kshard_limits_t *l, const sl_klimit_rates_t *rates,
                                         int64_t now_ns) {
    if (sl_kbucket_positive(&l->read_bytes, now_ns) &&
        sl_kbucket_take(&l->read_calls, sl_kbucket_cost_ns(1, rates->read_calls_per_s), now_ns))
        return true;
    __atomic_add_fetch(&l->read_throttled, 1, __ATOMIC_RELAXED);
    return false;
}

static inline void sl_kshard_limits_read_bytes(sl_kshard_limits_t *l,
                                               const sl_klimit_rates_t *rates, int64_t bytes,
                                               int64_t now_ns) {
    if (bytes > 0)
        sl_kbucket_charge(&l->read_bytes, sl_kbucket_cost_ns(bytes, rates->read_bytes_per_s),
                          now_ns);
}

#endif
