/* The per-shard token buckets (kinesis/throttle.h) on explicit clocks: one second of burst, a
 * continuous refill at the rate, debt after a take larger than one second's worth, refunds, and
 * the write and read limits at AWS's numbers. */
#include "core/common.h"
#include "kinesis/throttle.h"
#include "test.h"

#define S SL_KTHROTTLE_NS_PER_S
#define T0 (INT64_C(1000) * S) /* an arbitrary monotonic start */

static void burst_then_rate(void) {
    sl_kbucket_t b = {0};
    int64_t rec = sl_kbucket_cost_ns(1, 1000);
    /* a full bucket holds exactly one second: 1,000 records, not one more */
    for (int i = 0; i < 1000; i++)
        CHECK(sl_kbucket_take(&b, rec, T0));
    CHECK(!sl_kbucket_take(&b, rec, T0));
    /* 10 ms later 10 records came back */
    int ok = 0;
    for (int i = 0; i < 20; i++)
        ok += sl_kbucket_take(&b, rec, T0 + S / 100);
    CHECK_EQ_INT(ok, 10);
    /* refill stops at one second's capacity however long the bucket was idle */
    ok = 0;
    for (int i = 0; i < 3000; i++)
        ok += sl_kbucket_take(&b, rec, T0 + 60 * S);
    CHECK_EQ_INT(ok, 1000);
}

static void large_take_leaves_debt(void) {
    sl_kbucket_t b = {0};
    int64_t mib = sl_kbucket_cost_ns(1 << 20, SL_KTHROTTLE_WRITE_BYTES_PER_S);
    /* a 10 MiB record passes on a full 1 MiB/s bucket, then nothing passes for 10 s */
    CHECK(sl_kbucket_take(&b, 10 * mib, T0));
    CHECK(!sl_kbucket_take(&b, sl_kbucket_cost_ns(1, SL_KTHROTTLE_WRITE_BYTES_PER_S), T0 + 8 * S));
    CHECK(!sl_kbucket_positive(&b, T0 + 8 * S));
    CHECK(sl_kbucket_take(&b, sl_kbucket_cost_ns(1000, SL_KTHROTTLE_WRITE_BYTES_PER_S),
                          T0 + 9 * S + S / 10));
    /* another 10 MiB record needs a full bucket: 9 MiB of debt plus 1 MiB take 10 s to refill */
    sl_kbucket_t c = {0};
    CHECK(sl_kbucket_take(&c, 10 * mib, T0));
    CHECK(!sl_kbucket_take(&c, 10 * mib, T0 + 9 * S + S / 2));
    CHECK(sl_kbucket_take(&c, 10 * mib, T0 + 10 * S));
}

static void refund_and_charge(void) {
    sl_kbucket_t b = {0};
    int64_t half = S / 2;
    CHECK(sl_kbucket_take(&b, half, T0));
    CHECK(sl_kbucket_take(&b, half, T0));
    CHECK(!sl_kbucket_take(&b, half, T0));
    sl_kbucket_refund(&b, half);
    CHECK(sl_kbucket_take(&b, half, T0));
    sl_kbucket_t r = {0};
    CHECK(sl_kbucket_positive(&r, T0));
    sl_kbucket_charge(&r, 3 * S, T0);
    CHECK(!sl_kbucket_positive(&r, T0 + S));
    CHECK(sl_kbucket_positive(&r, T0 + 2 * S + 1));
}

static void shard_limits(void) {
    const sl_klimit_rates_t aws = SL_KLIMIT_RATES_AWS;
    sl_kshard_limits_t l = {0};
    /* 1,000 records/s: small records pass up to the count, then are counted throttled */
    int ok = 0;
    for (int i = 0; i < 1500; i++)
        ok += sl_kshard_limits_write(&l, &aws, 100, T0);
    CHECK_EQ_INT(ok, 1000);
    CHECK_EQ_INT(l.write_throttled, 500);
    /* 1 MiB/s: ten records of 100 KiB pass, the eleventh does not, and a refused record gives
     * back its record token */
    sl_kshard_limits_t m = {0};
    for (int i = 0; i < 10; i++)
        CHECK(sl_kshard_limits_write(&m, &aws, 100 * 1024, T0));
    CHECK(!sl_kshard_limits_write(&m, &aws, 100 * 1024, T0));
    CHECK_EQ_INT(m.write_throttled, 1);
    for (int i = 0; i < 990; i++)
        CHECK(sl_kshard_limits_write(&m, &aws, 0, T0));
    CHECK(!sl_kshard_limits_write(&m, &aws, 0, T0));
    /* 5 GetRecords calls a second; 2 MiB/s of reads: a 10 MiB response blocks calls for 4 s */
    sl_kshard_limits_t r = {0};
    for (int i = 0; i < 5; i++)
        CHECK(sl_kshard_limits_read(&r, &aws, T0));
    CHECK(!sl_kshard_limits_read(&r, &aws, T0));
    CHECK(sl_kshard_limits_read(&r, &aws, T0 + S / 5));
    sl_kshard_limits_read_bytes(&r, &aws, 10 << 20, T0 + S / 5);
    CHECK(!sl_kshard_limits_read(&r, &aws, T0 + 4 * S));
    CHECK(sl_kshard_limits_read(&r, &aws, T0 + 5 * S));
    CHECK_EQ_INT(r.read_throttled, 2);
}

/* Custom rates (--shard-write-records-per-s ...) replace AWS's numbers. */
static void custom_rates(void) {
    const sl_klimit_rates_t slow = {.write_bytes_per_s = 1000,
                                    .write_records_per_s = 10,
                                    .read_bytes_per_s = 1000,
                                    .read_calls_per_s = 2};
    sl_kshard_limits_t l = {0};
    int ok = 0;
    for (int i = 0; i < 20; i++)
        ok += sl_kshard_limits_write(&l, &slow, 1, T0);
    CHECK_EQ_INT(ok, 10);
    CHECK(sl_kshard_limits_write(&l, &slow, 1, T0 + S / 10));
    CHECK(sl_kshard_limits_read(&l, &slow, T0));
    CHECK(sl_kshard_limits_read(&l, &slow, T0));
    CHECK(!sl_kshard_limits_read(&l, &slow, T0));
}

int main(void) {
    burst_then_rate();
    large_take_leaves_debt();
    refund_and_charge();
    shard_limits();
    custom_rates();
    TEST_MAIN_END();
}
