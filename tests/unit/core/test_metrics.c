/* Unit tests for the metrics registry: counts from many threads (including threads that exited)
 * add up exactly, histogram buckets, gauges and collect callbacks, series identity and release. */
#include "core/metrics.h"
#include "test.h"

#include <pthread.h>
#include <stdlib.h>

static const sl_metric_desc_t d_bytes = {
    .ns = "Test/NS",
    .name = "IncomingBytes",
    .prom_name = "test_incoming_bytes_total",
    .help = "Bytes put.",
    .kind = SL_METRIC_COUNTER,
    .unit = "Bytes",
    .labels = {"StreamName"},
};
static const double lat_bounds[] = {1, 10, 100};
static const sl_metric_desc_t d_lat = {
    .ns = "Test/NS",
    .name = "Latency",
    .prom_name = "test_latency_seconds",
    .help = "Latency.",
    .kind = SL_METRIC_HISTOGRAM,
    .unit = "Milliseconds",
    .prom_scale = 0.001,
    .bounds = lat_bounds,
    .bounds_len = 3,
    .labels = {"StreamName", "ShardId"},
};
static int collect_calls;
static sl_series_t *g_gauge;
static void collect_gauge(void *arg) {
    collect_calls++;
    sl_metric_set(g_gauge, *(int64_t *)arg);
}
static int64_t gauge_value = 41;
static const sl_metric_desc_t d_gauge = {
    .name = "Segments",
    .prom_name = "test_segments",
    .help = "Segments.",
    .kind = SL_METRIC_GAUGE,
    .collect = collect_gauge,
    .collect_arg = &gauge_value,
};

enum { THREADS = 8, ADDS = 100000 };
static sl_series_t *g_a, *g_b, *g_h;

static void *worker(void *arg) {
    (void)arg;
    for (int i = 0; i < ADDS; i++) {
        sl_metric_add(g_a, 3);
        if (i % 2) sl_metric_add(g_b, 1);
        sl_metric_observe(g_h, (double)(i % 200));
    }
    return NULL;
}

typedef struct {
    uint64_t a_sum, a_count, b_sum, h_count;
    double h_sum;
    uint64_t h_buckets[4];
    int gauge_seen, series_seen;
    double gauge;
} seen_t;

static void on_sample(void *arg, const sl_metric_sample_t *s) {
    seen_t *v = arg;
    v->series_seen++;
    if (s->desc == &d_bytes && strcmp(s->values[0], "a") == 0) {
        v->a_sum = (uint64_t)s->sum;
        v->a_count = s->count;
    } else if (s->desc == &d_bytes && strcmp(s->values[0], "b") == 0) {
        v->b_sum = (uint64_t)s->sum;
    } else if (s->desc == &d_lat) {
        CHECK_EQ_STR(s->values[1], "shardId-000000000000");
        v->h_count = s->count;
        v->h_sum = s->sum;
        memcpy(v->h_buckets, s->buckets, sizeof v->h_buckets);
    } else if (s->desc == &d_gauge) {
        v->gauge_seen++;
        v->gauge = s->sum;
    }
}

static void sum_many(void *arg, const sl_metric_sample_t *s) {
    if (s->desc == &d_bytes && s->values[0][0] == 's') *(uint64_t *)arg += (uint64_t)s->sum;
}

int main(void) {
    if (!sl_metrics_enabled()) TEST_MAIN_END(); /* built with SL_METRICS=OFF: nothing counts */
    sl_metric_t *bytes = sl_metric_declare(&d_bytes);
    CHECK(bytes != NULL);
    CHECK(sl_metric_declare(&d_bytes) == bytes); /* idempotent */
    sl_metric_t *lat = sl_metric_declare(&d_lat);
    sl_metric_t *gauge = sl_metric_declare(&d_gauge);

    g_a = sl_metric_series(bytes, (const char *const[]){"a"});
    g_b = sl_metric_series(bytes, (const char *const[]){"b"});
    CHECK(g_a && g_b && g_a != g_b);
    CHECK(sl_metric_series(bytes, (const char *const[]){"a"}) == g_a);
    g_h = sl_metric_series(lat, (const char *const[]){"a", "shardId-000000000000"});
    g_gauge = sl_metric_series(gauge, NULL);
    CHECK(g_h && g_gauge);

    /* Two waves of threads: the second reuses the first's cells, which must keep their counts. */
    for (int wave = 0; wave < 2; wave++) {
        pthread_t t[THREADS];
        for (int i = 0; i < THREADS; i++)
            pthread_create(&t[i], NULL, worker, NULL);
        for (int i = 0; i < THREADS; i++)
            pthread_join(t[i], NULL);
    }
    sl_metric_add(g_a, 7);  /* the main thread too */
    sl_metric_add(NULL, 1); /* a NULL series counts nothing and does not crash */
    sl_metric_observe(NULL, 1);

    seen_t v = {0};
    sl_metrics_collect(on_sample, &v);
    CHECK_EQ_INT(v.a_sum, 2ull * THREADS * ADDS * 3 + 7);
    CHECK_EQ_INT(v.a_count, 2ull * THREADS * ADDS + 1);
    CHECK_EQ_INT(v.b_sum, 2ull * THREADS * ADDS / 2);
    CHECK_EQ_INT(v.h_count, 2ull * THREADS * ADDS);
    /* values 0..199 in each run of 200: <=1: 0,1 (2); <=10: 2..10 (9); <=100: 11..100 (90);
     * +Inf: 101..199 (99) */
    uint64_t runs = 2ull * THREADS * ADDS / 200;
    CHECK_EQ_INT(v.h_buckets[0], 2 * runs);
    CHECK_EQ_INT(v.h_buckets[1], 9 * runs);
    CHECK_EQ_INT(v.h_buckets[2], 90 * runs);
    CHECK_EQ_INT(v.h_buckets[3], 99 * runs);
    CHECK(v.h_sum == (double)runs * (199.0 * 200 / 2));
    CHECK_EQ_INT(collect_calls, 1);
    CHECK_EQ_INT(v.gauge_seen, 1);
    CHECK(v.gauge == 41);
    CHECK_EQ_INT(v.series_seen, 4);

    /* A released series is not exported; asking for it again revives it with its counts. */
    sl_series_release(g_b);
    seen_t w = {0};
    sl_metrics_collect(on_sample, &w);
    CHECK_EQ_INT(w.series_seen, 3);
    CHECK_EQ_INT(w.b_sum, 0);
    CHECK(sl_metric_series(bytes, (const char *const[]){"b"}) == g_b);
    sl_metric_gauge_add(g_gauge, 1); /* overwritten by the collect callback */
    gauge_value = -5;
    seen_t x = {0};
    sl_metrics_collect(on_sample, &x);
    CHECK_EQ_INT(x.b_sum, THREADS * ADDS);
    CHECK(x.gauge == -5);

    /* Many series: each gets its own cells (no two share a chunk position). */
    sl_series_t *many[2000];
    char name[32];
    for (int i = 0; i < 2000; i++) {
        snprintf(name, sizeof name, "s%d", i);
        many[i] = sl_metric_series(bytes, (const char *const[]){name});
        CHECK(many[i] != NULL);
        sl_metric_add(many[i], (uint64_t)i);
    }
    for (int i = 0; i < 2000; i++)
        sl_metric_add(many[i], 1);
    uint64_t total = 0;
    for (int i = 0; i < 2000; i++)
        total += (uint64_t)i + 1;
    uint64_t got = 0;
    sl_metrics_collect(sum_many, &got);
    CHECK_EQ_INT(got, total);
    TEST_MAIN_END();
}
