/* bench_producer: libsluice producer throughput in user records per second against a running
 * endpoint. Compare `--plain` (one Kinesis record per user record) with the default KPL
 * aggregation, both under the per-shard limiter (RateLimit 150%, the KPL's default), which is what
 * keeps a producer under AWS's 1000 records/s and 1 MiB/s per shard.
 *
 * The rate is the steady one: completions from 2 s after the first put to the last, so the
 * limiter's initial one-second burst does not flatter the rate (runs must last well over 2 s).
 * `--keys N` cycles through N partition keys (default: every record its own key). With aggregation
 * the report also gives the bytes each user record costs inside the aggregates, and so the ceiling
 * the byte limit sets.
 *
 *   bench_producer ENDPOINT STREAM [--records N] [--size BYTES] [--plain] [--rate-limit PCT]
 *                  [--keys N] [--no-idempotency-keys]
 * Prints one line: mode, records, seconds, user records/s, Kinesis records, requests. */
#include "client/sluice.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static atomic_long g_ok, g_failed;
static double g_t0;                  /* the first put */
static atomic_long g_steady_n;       /* completions when the steady rate starts (2 s in) */
static _Atomic double g_steady_at_s; /* and when */

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void done(const sl_put_result_t *r, void *arg) {
    (void)arg;
    long n = atomic_fetch_add(r->error ? &g_failed : &g_ok, 1) + 1;
    if (!r->error && atomic_load(&g_steady_n) == 0) {
        double t = now_s();
        if (t - g_t0 >= 2.0) { /* past the limiter's one-second burst */
            atomic_store(&g_steady_at_s, t);
            atomic_store(&g_steady_n, n);
        }
    }
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: bench_producer ENDPOINT STREAM [--records N] [--size B] [--plain]"
                        " [--rate-limit PCT] [--no-idempotency-keys]\n");
        return 2;
    }
    long records = 200000, size = 100, keys = 0;
    sl_producer_config_t pc;
    sl_producer_config_init(&pc);
    for (int i = 3; i < argc; i++) {
        if (!strcmp(argv[i], "--records") && i + 1 < argc)
            records = strtol(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--size") && i + 1 < argc)
            size = strtol(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--plain"))
            pc.aggregation_enabled = false;
        else if (!strcmp(argv[i], "--rate-limit") && i + 1 < argc)
            pc.rate_limit = (int)strtol(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--keys") && i + 1 < argc)
            keys = strtol(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--no-idempotency-keys"))
            pc.idempotency_keys = false;
    }
    if (records < 1 || size < 1 || size > 1024 * 1024 || keys < 0) return 2;
    pc.record_ttl_ms = 600000;
    sl_client_config_t cc = {.endpoint_url = argv[1]};
    sl_client_t *c;
    sl_producer_t *p;
    if (sl_client_create(&cc, &c) != 0 || sl_producer_create(c, argv[2], &pc, &p) != 0) return 1;
    char *data = malloc((size_t)size);
    memset(data, 'd', (size_t)size);
    double t0 = g_t0 = now_s();
    for (long i = 0; i < records; i++) {
        char key[24];
        snprintf(key, sizeof key, "%ld", keys ? i % keys : i);
        int rc;
        while ((rc = sl_producer_put(p, key, NULL, data, (size_t)size, done, NULL)) ==
               SLUICE_ELIMIT)
            sl_producer_flush_sync(p, 10);
        if (rc != 0) return 1;
    }
    sl_producer_flush_sync(p, -1);
    double secs = now_s() - t0;
    sl_producer_stats_t st;
    sl_producer_stats(p, &st);
    sl_producer_destroy(p);
    sl_client_destroy(c);
    long steady_n = atomic_load(&g_steady_n);
    double steady = steady_n ? (double)(atomic_load(&g_ok) - steady_n) /
                                   (t0 + secs - atomic_load(&g_steady_at_s))
                             : 0; /* too short a run */
    printf("%-10s records=%ld failed=%ld seconds=%.2f user_records_per_s=%.0f kinesis_records=%llu "
           "requests=%llu",
           pc.aggregation_enabled ? "aggregated" : "plain", atomic_load(&g_ok),
           atomic_load(&g_failed), secs, steady, (unsigned long long)st.kinesis_records_put,
           (unsigned long long)st.requests);
    if (pc.aggregation_enabled && st.bytes_put) {
        /* bytes each user record took on the wire's Kinesis records (data + partition keys) */
        double per = (double)st.bytes_put / (double)atomic_load(&g_ok);
        printf(" bytes_per_user_record=%.1f byte_limit_ceiling_per_shard=%.0f", per,
               1048576.0 * pc.rate_limit / 100.0 / per);
    }
    printf("\n");
    free(data);
    return atomic_load(&g_failed) ? 1 : 0;
}
