/* The table functions (analytics/udx.h) through the engine's C API on the virtual clock: the
 * spec's T15 (top-K and distinct count, exact rows) and T16 (the ML functions, statistically),
 * plus the sketches' accuracy on larger inputs and the planner's messages for bad arguments.
 * Inputs come from a seeded generator, so every run sees the same rows and the same forest. */
#include "analytics/engine.h"
#include "analytics/internal.h"
#include "core/common.h"
#include "test.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    char (*lines)[512];
    size_t n, cap;
    double *num; /* the value of column `numcol` of every row */
    int numcol;
    char **text; /* the text of column `textcol` (malloc'd) */
    int textcol;
} sink_t;

static void sink_init(sink_t *s, size_t cap, int numcol, int textcol) {
    memset(s, 0, sizeof *s);
    s->lines = calloc(cap, sizeof *s->lines);
    s->num = calloc(cap, sizeof *s->num);
    s->text = calloc(cap, sizeof *s->text);
    s->cap = cap;
    s->numcol = numcol;
    s->textcol = textcol;
}

static void sink_clear(sink_t *s) {
    for (size_t i = 0; i < s->n; i++) {
        free(s->text[i]);
        s->text[i] = NULL;
    }
    s->n = 0;
}

static void sink_free(sink_t *s) {
    sink_clear(s);
    free(s->lines);
    free(s->num);
    free(s->text);
}

static void collect(void *ctx, const char *stream, const sl_an_row_t *row) {
    sink_t *s = ctx;
    (void)stream;
    if (s->n == s->cap) return;
    char *l = s->lines[s->n];
    size_t k = 0;
    sl_sql_value_t t = {.kind = SL_SQL_TIMESTAMP, .u.i = row->rowtime_ms};
    k += sl_an_value_format(&t, 0, l, 512);
    for (size_t i = 0; i < row->nvalues && k + 2 < 512; i++) {
        l[k++] = '|';
        k += sl_an_value_format(&row->values[i], 0, l + k, 512 - k);
    }
    l[k] = 0;
    if (s->numcol >= 0 && (size_t)s->numcol < row->nvalues) {
        const sl_sql_value_t *v = &row->values[s->numcol];
        s->num[s->n] = v->kind == SL_SQL_DOUBLE ? v->u.d : (double)v->u.i;
    }
    if (s->textcol >= 0 && (size_t)s->textcol < row->nvalues && !row->values[s->textcol].null) {
        const sl_sql_value_t *v = &row->values[s->textcol];
        s->text[s->n] = strndup(v->u.s.ptr, v->u.s.len);
    }
    s->n++;
}

static int64_t ts(const char *s) {
    int64_t t = 0;
    if (!an_parse_time(s, strlen(s), SL_SQL_TIMESTAMP, &t)) abort();
    return t;
}

static sl_an_engine_t *engine_with(const char *const *names, const char *const *types, size_t n) {
    sl_an_engine_t *e;
    if (sl_an_engine_create(NULL, ts("2018-01-01 00:00:00"), &e)) abort();
    sl_sql_column_t cols[16];
    for (size_t i = 0; i < n; i++) {
        cols[i].name = names[i];
        if (sl_sql_parse_type(types[i], strlen(types[i]), &cols[i].type)) abort();
    }
    sl_sql_error_t err;
    if (sl_an_engine_add_source(e, "SOURCE_SQL_STREAM_001", cols, n, &err)) abort();
    return e;
}

static bool load(sl_an_engine_t *e, const char *code) {
    sl_sql_error_t err;
    int rc = sl_an_engine_load(e, code, strlen(code), &err);
    if (rc) fprintf(stderr, "load failed: %s\n", err.message);
    CHECK_EQ_INT(rc, 0);
    return rc == 0;
}

static void put_text(sl_an_engine_t *e, int64_t t, const char *a) {
    sl_sql_value_t v = {.kind = SL_SQL_VARCHAR};
    v.u.s.ptr = a;
    v.u.s.len = (uint32_t)strlen(a);
    CHECK_EQ_INT(sl_an_engine_insert(e, "SOURCE_SQL_STREAM_001", t, &v, 1), 0);
}

static void put_doubles(sl_an_engine_t *e, int64_t t, const double *x, size_t n) {
    sl_sql_value_t v[8];
    for (size_t i = 0; i < n; i++) {
        memset(&v[i], 0, sizeof v[i]);
        v[i].kind = SL_SQL_DOUBLE;
        v[i].u.d = x[i];
    }
    CHECK_EQ_INT(sl_an_engine_insert(e, "SOURCE_SQL_STREAM_001", t, v, n), 0);
}

static uint64_t rng_state;
static double unit(void) {
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return (double)(z >> 11) / 9007199254740992.0;
}

#define EXPECT_ROWS(sink, ...)                                                                     \
    do {                                                                                           \
        const char *exp_[] = {__VA_ARGS__};                                                        \
        CHECK_EQ_INT((sink)->n, SL_ARRAY_LEN(exp_));                                               \
        for (size_t i_ = 0; i_ < SL_ARRAY_LEN(exp_) && i_ < (sink)->n; i_++)                       \
            CHECK_EQ_STR((sink)->lines[i_], exp_[i_]);                                             \
        sink_clear(sink);                                                                          \
    } while (0)

static const char *const TICKER[] = {"TICKER_SYMBOL"};
static const char *const TICKER_T[] = {"VARCHAR(8)"};

/* T15: five tickers with known frequencies (and a sixth, rarer one) in one 60 s window. */
static void test_t15(void) {
    sl_an_engine_t *e = engine_with(TICKER, TICKER_T, 1);
    CHECK(load(
        e,
        "CREATE OR REPLACE STREAM DESTINATION_SQL_STREAM (\n"
        "  \"TICKER_SYMBOL\" VARCHAR(4), \"MOST_FREQUENT_VALUES\" BIGINT);\n"
        "CREATE OR REPLACE PUMP \"STREAM_PUMP\" AS INSERT INTO \"DESTINATION_SQL_STREAM\"\n"
        "  SELECT STREAM * FROM TABLE (TOP_K_ITEMS_TUMBLING(\n"
        "    CURSOR(SELECT STREAM * FROM \"SOURCE_SQL_STREAM_001\"),\n"
        "    'TICKER_SYMBOL', -- name of column in single quotes\n"
        "    5, -- number of the most frequently occurring values\n"
        "    60 -- tumbling window size in seconds\n"
        "  ));\n"
        "CREATE OR REPLACE STREAM DISTINCT_STREAM (NUMBER_OF_DISTINCT_ITEMS BIGINT);\n"
        "CREATE OR REPLACE PUMP \"DISTINCT_PUMP\" AS INSERT INTO \"DISTINCT_STREAM\"\n"
        "  SELECT STREAM NUMBER_OF_DISTINCT_ITEMS FROM TABLE(COUNT_DISTINCT_ITEMS_TUMBLING(\n"
        "    CURSOR(SELECT STREAM * FROM \"SOURCE_SQL_STREAM_001\"), 'TICKER_SYMBOL', 60));\n"
        "CREATE OR REPLACE STREAM ITEMS (ITEM VARCHAR(1024), ITEM_COUNT DOUBLE);\n"
        "CREATE OR REPLACE PUMP \"ITEMS_PUMP\" AS INSERT INTO ITEMS\n"
        "  SELECT ITEM, ITEM_COUNT FROM TABLE(TOP_K_ITEMS_TUMBLING(\n"
        "    CURSOR(SELECT STREAM * FROM \"SOURCE_SQL_STREAM_001\"), 'TICKER_SYMBOL', 2, 60));"));
    sink_t top, distinct, items;
    sink_init(&top, 64, -1, -1);
    sink_init(&distinct, 64, -1, -1);
    sink_init(&items, 64, -1, -1);
    sl_an_engine_subscribe(e, "DESTINATION_SQL_STREAM", collect, &top);
    sl_an_engine_subscribe(e, "DISTINCT_STREAM", collect, &distinct);
    sl_an_engine_subscribe(e, "ITEMS", collect, &items);
    static const struct {
        const char *t;
        int n;
    } freq[] = {{"AMZN", 11}, {"AAPL", 9}, {"MSFT", 7}, {"GOOG", 5}, {"TSLA", 3}, {"IBM", 1}};
    int left[6], total = 0;
    for (size_t i = 0; i < 6; i++)
        total += left[i] = freq[i].n;
    int64_t t = ts("2018-11-01 10:00:00");
    for (int k = 0; k < total; k++) { /* interleaved, one row a second */
        size_t i = (size_t)k % 6;
        while (!left[i])
            i = (i + 1) % 6;
        left[i]--;
        put_text(e, t + k * 1000, freq[i].t);
    }
    CHECK_EQ_INT(top.n, 0); /* nothing before the window ends */
    CHECK_EQ_INT(distinct.n, 0);
    sl_an_engine_advance(e, ts("2018-11-01 10:01:00"));
    EXPECT_ROWS(&top, "2018-11-01 10:01:00.000|AMZN|11", "2018-11-01 10:01:00.000|AAPL|9",
                "2018-11-01 10:01:00.000|MSFT|7", "2018-11-01 10:01:00.000|GOOG|5",
                "2018-11-01 10:01:00.000|TSLA|3");
    EXPECT_ROWS(&distinct, "2018-11-01 10:01:00.000|6");
    EXPECT_ROWS(&items, "2018-11-01 10:01:00.000|AMZN|11.0", "2018-11-01 10:01:00.000|AAPL|9.0");
    /* an empty window emits nothing; the next window starts afresh and a row closes it */
    sl_an_engine_advance(e, ts("2018-11-01 10:02:00"));
    CHECK_EQ_INT(top.n + distinct.n, 0);
    put_text(e, ts("2018-11-01 10:02:30"), "IBM");
    put_text(e, ts("2018-11-01 10:02:31"), "IBM");
    put_text(e, ts("2018-11-01 10:03:10"), "AMZN");
    EXPECT_ROWS(&top, "2018-11-01 10:03:00.000|IBM|2");
    EXPECT_ROWS(&distinct, "2018-11-01 10:03:00.000|1");
    sink_free(&top);
    sink_free(&distinct);
    sink_free(&items);
    sl_an_engine_destroy(e);
}

/* Skewed data: Zipf-like counts over 3,000 values (fewer than the counters, so exact), and over
 * 200,000 values, where the heavy hitters must still come out on top with their exact counts. */
static void test_topk_skewed(void) {
    for (int big = 0; big < 2; big++) {
        size_t nvals = big ? 200000 : 3000;
        sl_an_engine_t *e = engine_with(TICKER, TICKER_T, 1);
        CHECK(load(
            e, "CREATE STREAM D (ITEM VARCHAR(16), ITEM_COUNT BIGINT);"
               "CREATE PUMP P AS INSERT INTO D SELECT STREAM * FROM TABLE(TOP_K_ITEMS_TUMBLING("
               "CURSOR(SELECT STREAM * FROM SOURCE_SQL_STREAM_001), 'TICKER_SYMBOL', 10, 3600));"));
        sink_t s;
        sink_init(&s, 64, -1, -1);
        sl_an_engine_subscribe(e, "D", collect, &s);
        /* value i appears max(1, 2000 / (i + 1)) times; the order is shuffled */
        size_t total = 0;
        for (size_t i = 0; i < nvals; i++)
            total += SL_MAX((size_t)1, 2000 / (i + 1));
        uint32_t *rows = malloc(total * sizeof *rows);
        size_t k = 0;
        for (size_t i = 0; i < nvals; i++)
            for (size_t c = 0; c < SL_MAX((size_t)1, 2000 / (i + 1)); c++)
                rows[k++] = (uint32_t)i;
        rng_state = 42;
        for (size_t i = total - 1; i > 0; i--) {
            size_t j = (size_t)(unit() * (double)(i + 1));
            uint32_t x = rows[i];
            rows[i] = rows[j];
            rows[j] = x;
        }
        int64_t t0 = ts("2018-11-01 10:00:00");
        for (size_t i = 0; i < total; i++) {
            char v[32];
            snprintf(v, sizeof v, "V%u", rows[i]);
            put_text(e, t0 + (int64_t)(i * 3000000 / total), v);
        }
        free(rows);
        sl_an_engine_advance(e, ts("2018-11-01 11:00:00"));
        CHECK_EQ_INT(s.n, 10);
        for (size_t i = 0; i < s.n && i < 10; i++) {
            char want[64];
            snprintf(want, sizeof want, "2018-11-01 11:00:00.000|V%zu|%zu", i, 2000 / (i + 1));
            if (!big || i < 4) /* the four heaviest are far above the counters' error */
                CHECK_EQ_STR(s.lines[i], want);
        }
        sink_free(&s);
        sl_an_engine_destroy(e);
    }
}

/* COUNT_DISTINCT_ITEMS_TUMBLING: exact up to 10,000 distinct values, then within HyperLogLog's
 * error (0.8% standard error: 3% is almost four deviations). */
static void test_distinct_accuracy(void) {
    static const size_t sizes[] = {10000, 100000, 300000};
    for (size_t z = 0; z < SL_ARRAY_LEN(sizes); z++) {
        sl_an_engine_t *e = engine_with(TICKER, TICKER_T, 1);
        CHECK(load(e, "CREATE STREAM D (N BIGINT);"
                      "CREATE PUMP P AS INSERT INTO D SELECT STREAM * FROM TABLE("
                      "COUNT_DISTINCT_ITEMS_TUMBLING(CURSOR(SELECT STREAM * FROM "
                      "SOURCE_SQL_STREAM_001), 'TICKER_SYMBOL', 3600));"));
        sink_t s;
        sink_init(&s, 8, 0, -1);
        sl_an_engine_subscribe(e, "D", collect, &s);
        int64_t t0 = ts("2018-11-01 10:00:00");
        for (size_t i = 0; i < sizes[z] * 2; i++) { /* every value twice */
            char v[32];
            snprintf(v, sizeof v, "U%zu", i % sizes[z]);
            put_text(e, t0 + (int64_t)(i * 1000000 / sizes[z]) / 1000, v);
        }
        sl_an_engine_advance(e, ts("2018-11-01 11:00:00"));
        CHECK_EQ_INT(s.n, 1);
        if (z == 0) {
            CHECK_EQ_INT((int64_t)s.num[0], 10000);
        } else {
            double err = fabs(s.num[0] - (double)sizes[z]) / (double)sizes[z];
            if (err > 0.03) fprintf(stderr, "HLL %zu -> %.0f\n", sizes[z], s.num[0]);
            CHECK(err <= 0.03);
            CHECK(s.num[0] != (double)sizes[z] || z == 0); /* it is an estimate, not a set */
        }
        sink_free(&s);
        sl_an_engine_destroy(e);
    }
}

/* T16: the documentation's heart-rate generator (99% uniform in 60..100, 1% in 150..200) through
 * RANDOM_CUT_FOREST with its defaults. */
static void test_t16_rcf(void) {
    static const char *const names[] = {"heartRate", "rateType"};
    static const char *const types[] = {"INTEGER", "VARCHAR(20)"};
    sl_an_engine_t *e = engine_with(names, types, 2);
    CHECK(load(e, "CREATE OR REPLACE STREAM \"TEMP_STREAM\" (\"heartRate\" INTEGER, \"rateType\" "
                  "varchar(20), \"ANOMALY_SCORE\" DOUBLE);\n"
                  "CREATE OR REPLACE PUMP \"STREAM_PUMP\" AS INSERT INTO \"TEMP_STREAM\"\n"
                  "SELECT STREAM \"heartRate\", \"rateType\", ANOMALY_SCORE FROM TABLE("
                  "RANDOM_CUT_FOREST(CURSOR(SELECT STREAM * FROM \"SOURCE_SQL_STREAM_001\")));"));
    enum { N = 6000 };
    sink_t s;
    sink_init(&s, N, 2, -1);
    sl_an_engine_subscribe(e, "TEMP_STREAM", collect, &s);
    bool *anomaly = calloc(N, sizeof *anomaly);
    rng_state = 7;
    int64_t t0 = ts("2018-11-01 10:00:00");
    for (size_t i = 0; i < N; i++) {
        int rate;
        anomaly[i] = i >= 300 && unit() < 0.01;
        rate = anomaly[i] ? 150 + (int)(unit() * 51) : 60 + (int)(unit() * 41);
        char r[16];
        snprintf(r, sizeof r, "%d", rate);
        sl_sql_value_t v[2] = {{.kind = SL_SQL_VARCHAR}, {.kind = SL_SQL_VARCHAR}};
        v[0].u.s.ptr = r;
        v[0].u.s.len = (uint32_t)strlen(r);
        v[1].u.s.ptr = anomaly[i] ? "HIGH" : "NORMAL";
        v[1].u.s.len = (uint32_t)strlen(v[1].u.s.ptr);
        sl_an_engine_insert(e, "SOURCE_SQL_STREAM_001", t0 + (int64_t)i * 10, v, 2);
    }
    CHECK_EQ_INT(s.n, N);
    bool zeros = true;
    for (size_t i = 0; i < 256; i++)
        zeros = zeros && s.num[i] == 0;
    CHECK(zeros);
    CHECK(s.num[256] > 0);
    double sa = 0, sn = 0;
    size_t na = 0, nn = 0;
    double *sorted = malloc(N * sizeof *sorted);
    size_t ns = 0;
    for (size_t i = 256; i < N; i++) {
        sorted[ns++] = s.num[i];
        if (anomaly[i]) {
            sa += s.num[i];
            na++;
        } else {
            sn += s.num[i];
            nn++;
        }
    }
    for (size_t i = 1; i < ns; i++) /* insertion sort, descending */
        for (size_t j = i; j > 0 && sorted[j] > sorted[j - 1]; j--) {
            double x = sorted[j];
            sorted[j] = sorted[j - 1];
            sorted[j - 1] = x;
        }
    double p99 = sorted[ns / 100];
    size_t top = 0;
    for (size_t i = 256; i < N; i++)
        if (anomaly[i] && s.num[i] >= p99) top++;
    fprintf(stderr,
            "RCF: %zu anomalies, mean score %.3f vs %.3f normal; %zu of them in the top "
            "percentile (>= %.3f)\n",
            na, sa / (double)na, sn / (double)nn, top, p99);
    CHECK(na > 30);
    CHECK(sa / (double)na >= 2 * (sn / (double)nn));
    CHECK((double)top >= 0.8 * (double)na);
    /* the same rows give the same scores: the forest is seeded */
    sl_an_engine_t *e2 = engine_with(names, types, 2);
    CHECK(load(e2, "CREATE STREAM S2 (\"heartRate\" INTEGER, \"ANOMALY_SCORE\" DOUBLE);"
                   "CREATE PUMP P AS INSERT INTO S2 SELECT STREAM \"heartRate\", ANOMALY_SCORE "
                   "FROM TABLE(RANDOM_CUT_FOREST(CURSOR(SELECT STREAM * FROM "
                   "\"SOURCE_SQL_STREAM_001\"), 100, 256, 100000, 1));"));
    sink_t s2;
    sink_init(&s2, N, 1, -1);
    sl_an_engine_subscribe(e2, "S2", collect, &s2);
    for (size_t i = 0; i < 1000; i++) {
        sl_sql_value_t v[2] = {{.kind = SL_SQL_INTEGER}, {.kind = SL_SQL_VARCHAR, .null = true}};
        v[0].u.i = (int64_t)strtol(s.lines[i] + 24, NULL, 10);
        sl_an_engine_insert(e2, "SOURCE_SQL_STREAM_001", t0 + (int64_t)i * 10, v, 2);
    }
    bool same = s2.n == 1000;
    for (size_t i = 0; same && i < 1000; i++)
        same = s2.num[i] == s.num[i];
    CHECK(same);
    free(sorted);
    free(anomaly);
    sink_free(&s);
    sink_free(&s2);
    sl_an_engine_destroy(e);
    sl_an_engine_destroy(e2);
}

/* Reads "col":{..."ATTRIBUTION_SCORE":"x"} and the DIRECTION out of an explanation. */
static double attribution(const char *json, const char *col, char *dir) {
    char key[64];
    snprintf(key, sizeof key, "\"%s\":{", col);
    const char *p = strstr(json, key);
    if (!p) return -1;
    const char *d = strstr(p, "\"DIRECTION\":\"");
    if (dir && d) *dir = d[13];
    const char *a = strstr(p, "\"ATTRIBUTION_SCORE\":\"");
    return a ? strtod(a + 21, NULL) : -1;
}

/* T16: RANDOM_CUT_FOREST_WITH_EXPLANATION on (Systolic, Diastolic): outliers with one perturbed
 * column are attributed to that column, in its direction, and the attributions add up to the
 * score. */
static void test_t16_explanation(void) {
    static const char *const names[] = {"Systolic", "Diastolic", "BloodPressureLevel"};
    static const char *const types[] = {"INTEGER", "INTEGER", "VARCHAR(20)"};
    sl_an_engine_t *e = engine_with(names, types, 3);
    CHECK(load(e,
               "CREATE OR REPLACE STREAM \"TEMP_STREAM\" (\"Systolic\" INTEGER, \"Diastolic\" "
               "INTEGER, \"BloodPressureLevel\" varchar(20), \"ANOMALY_SCORE\" DOUBLE, "
               "\"ANOMALY_EXPLANATION\" varchar(512));\n"
               "CREATE OR REPLACE PUMP \"STREAM_PUMP\" AS INSERT INTO \"TEMP_STREAM\"\n"
               "SELECT STREAM \"Systolic\", \"Diastolic\", \"BloodPressureLevel\", "
               "ANOMALY_SCORE, ANOMALY_EXPLANATION FROM TABLE(RANDOM_CUT_FOREST_WITH_EXPLANATION("
               "CURSOR(SELECT STREAM * FROM \"SOURCE_SQL_STREAM_001\"), 100, 256, 100000, 1, "
               "true));"));
    enum { N = 3000 };
    sink_t s;
    sink_init(&s, N, 3, 4);
    sl_an_engine_subscribe(e, "TEMP_STREAM", collect, &s);
    rng_state = 11;
    int kind[N];
    int64_t t0 = ts("2018-11-01 10:00:00");
    for (size_t i = 0; i < N; i++) {
        int sys = 100 + (int)(unit() * 40), dia = 60 + (int)(unit() * 30);
        kind[i] = 0;
        if (i > 500 && i % 97 == 0) {
            kind[i] = 1 + (int)((i / 97) % 3); /* 1: systolic high, 2: diastolic high, 3: low */
            if (kind[i] == 1) sys = 200;
            if (kind[i] == 2) dia = 150;
            if (kind[i] == 3) sys = 40;
        }
        char a[16], b[16];
        snprintf(a, sizeof a, "%d", sys);
        snprintf(b, sizeof b, "%d", dia);
        sl_sql_value_t v[3] = {{.kind = SL_SQL_VARCHAR},
                               {.kind = SL_SQL_VARCHAR},
                               {.kind = SL_SQL_VARCHAR, .null = true}};
        v[0].u.s.ptr = a;
        v[0].u.s.len = (uint32_t)strlen(a);
        v[1].u.s.ptr = b;
        v[1].u.s.len = (uint32_t)strlen(b);
        sl_an_engine_insert(e, "SOURCE_SQL_STREAM_001", t0 + (int64_t)i * 10, v, 3);
    }
    CHECK_EQ_INT(s.n, N);
    size_t right = 0, outliers = 0;
    double worst = 0;
    for (size_t i = 300; i < N; i++) {
        if (!s.text[i]) continue;
        char ds = 0, dd = 0;
        double as = attribution(s.text[i], "Systolic", &ds);
        double ad = attribution(s.text[i], "Diastolic", &dd);
        worst = fmax(worst, fabs(as + ad - s.num[i]));
        if (!kind[i]) continue;
        outliers++;
        bool ok = kind[i] == 1   ? as > ad && ds == 'H'
                  : kind[i] == 2 ? ad > as && dd == 'H'
                                 : as > ad && ds == 'L';
        right += ok;
    }
    fprintf(stderr, "RCF explanation: %zu of %zu outliers attributed right; |sum - score| <= %g\n",
            right, outliers, worst);
    CHECK(outliers > 20);
    CHECK(right >= outliers * 9 / 10);
    CHECK(worst < 1e-3);
    CHECK(strstr(s.text[N - 1], "\"STRENGTH\":\"") != NULL);
    sink_free(&s);
    sl_an_engine_destroy(e);
}

/* T16: HOTSPOTS(..., 1000, 0.2, 17) on uniform points in [0, 10]^2 with two planted dense
 * regions: the boxes reported contain their centres, and nothing else is that dense. */
static void test_t16_hotspots(void) {
    static const char *const names[] = {"x", "y", "is_hot"};
    static const char *const types[] = {"DOUBLE", "DOUBLE", "VARCHAR(4)"};
    sl_an_engine_t *e = engine_with(names, types, 3);
    CHECK(load(e,
               "CREATE OR REPLACE STREAM \"DESTINATION_SQL_STREAM\" (\"x\" DOUBLE, \"y\" "
               "DOUBLE, \"is_hot\" VARCHAR(4), HOTSPOTS_RESULT VARCHAR(10000));\n"
               "CREATE OR REPLACE PUMP \"STREAM_PUMP\" AS INSERT INTO \"DESTINATION_SQL_STREAM\"\n"
               "SELECT \"x\", \"y\", \"is_hot\", \"HOTSPOTS_RESULT\" FROM TABLE (HOTSPOTS(\n"
               "  CURSOR(SELECT STREAM * FROM \"SOURCE_SQL_STREAM_001\"), 1000, 0.2, 17));"));
    enum { N = 1500 };
    sink_t s;
    sink_init(&s, N, -1, 3);
    sl_an_engine_subscribe(e, "DESTINATION_SQL_STREAM", collect, &s);
    static const double centres[2][2] = {{2.5, 7.0}, {8.0, 3.0}};
    rng_state = 5;
    int64_t t0 = ts("2018-11-01 10:00:00");
    for (size_t i = 0; i < N; i++) {
        double p[2];
        if (unit() < 0.1) { /* 10% of points near a centre */
            const double *c = centres[i % 2];
            p[0] = c[0] + (unit() - 0.5) * 0.3;
            p[1] = c[1] + (unit() - 0.5) * 0.3;
        } else {
            p[0] = unit() * 10;
            p[1] = unit() * 10;
        }
        put_doubles(e, t0 + (int64_t)i * 10, p, 2);
    }
    CHECK_EQ_INT(s.n, N);
    const char *r = s.text[N - 1];
    CHECK(r && strncmp(r, "{\"hotspots\":[{\"density\":", 24) == 0);
    /* every reported box; both centres inside one each */
    bool found[2] = {false, false};
    size_t boxes = 0;
    for (const char *p = r ? strstr(r, "\"minValues\":[") : NULL; p;
         p = strstr(p + 1, "\"minValues\":[")) {
        double lo[2], hi[2];
        const char *q = strstr(p, "\"maxValues\":[");
        if (!q || sscanf(p + 13, "%lf,%lf", &lo[0], &lo[1]) != 2 ||
            sscanf(q + 13, "%lf,%lf", &hi[0], &hi[1]) != 2)
            break;
        boxes++;
        for (int c = 0; c < 2; c++)
            if (lo[0] <= centres[c][0] && centres[c][0] <= hi[0] && lo[1] <= centres[c][1] &&
                centres[c][1] <= hi[1] && hi[0] - lo[0] < 1.5 && hi[1] - lo[1] < 1.5)
                found[c] = true;
    }
    if (!found[0] || !found[1]) fprintf(stderr, "HOTSPOTS: %s\n", r ? r : "(null)");
    CHECK(found[0] && found[1]);
    CHECK(boxes >= 2 && boxes <= 4);
    /* before minimumNumberOfPointsInAHotspot rows nothing can be hot */
    CHECK_EQ_STR(s.text[0], "{\"hotspots\":[]}");
    sink_free(&s);
    sl_an_engine_destroy(e);
}

static void put_tp(sl_an_engine_t *e, int64_t t, const char *ticker, int64_t price, bool null) {
    sl_sql_value_t v[2] = {{.kind = SL_SQL_VARCHAR}, {.kind = SL_SQL_INTEGER}};
    v[0].u.s.ptr = ticker;
    v[0].u.s.len = (uint32_t)strlen(ticker);
    v[1].u.i = price;
    v[1].null = null;
    CHECK_EQ_INT(sl_an_engine_insert(e, "SOURCE_SQL_STREAM_001", t, v, 2), 0);
}

/* GROUP_RANK: the rows of one ROWTIME ranked as RANK() (ties share, the next skips; NULLs
 * last), emitted when ROWTIME moves on or maxIdle passes, up to outputMax in output order. */
/* HOTSPOTS keeps DBSCAN's structure as rows enter and leave the window; after every row its
 * hotspots must be those of DBSCAN run from scratch over the window: one per connected set of
 * dense points, each box holding its dense points and no point that is not next to one (a
 * point next to two hotspots may count in either). Clusters drift, so hotspots form, merge,
 * split and vanish; coordinates on a grid give ties on box edges. Halfway, the window is saved
 * and restored into a fresh engine, which must go on alike. */
enum { HOT_DIMS_MAX = 4, HOT_REF_MAX = 200 };

typedef struct {
    double lo[HOT_DIMS_MAX], hi[HOT_DIMS_MAX], alo[HOT_DIMS_MAX], ahi[HOT_DIMS_MAX];
    bool matched;
} hot_ref_t;

/* From-scratch DBSCAN over pts (n x dims): the hotspots' boxes, with and without the points
 * next to them. Returns their number. */
static size_t hot_reference(const double *pts, size_t n, size_t dims, double radius, size_t minpts,
                            hot_ref_t *out) {
    static int nbr[HOT_REF_MAX], comp[HOT_REF_MAX], queue[HOT_REF_MAX];
#define NEAR(i, j)                                                                                 \
    ({                                                                                             \
        double d2_ = 0;                                                                            \
        for (size_t d_ = 0; d_ < dims; d_++)                                                       \
            d2_ += (pts[(i)*dims + d_] - pts[(j)*dims + d_]) *                                     \
                   (pts[(i)*dims + d_] - pts[(j)*dims + d_]);                                      \
        d2_ <= radius *radius;                                                                     \
    })
    for (size_t i = 0; i < n; i++) {
        nbr[i] = 0;
        comp[i] = -1;
        for (size_t j = 0; j < n; j++)
            nbr[i] += NEAR(i, j);
    }
    size_t nc = 0;
    for (size_t s = 0; s < n; s++) {
        if (comp[s] >= 0 || (size_t)nbr[s] < minpts) continue;
        hot_ref_t *r = &out[nc];
        size_t qh = 0, qt = 0;
        queue[qt++] = (int)s;
        comp[s] = (int)nc;
        for (size_t d = 0; d < dims; d++)
            r->lo[d] = r->hi[d] = pts[s * dims + d];
        while (qh < qt) {
            size_t i = (size_t)queue[qh++];
            for (size_t d = 0; d < dims; d++) {
                r->lo[d] = fmin(r->lo[d], pts[i * dims + d]);
                r->hi[d] = fmax(r->hi[d], pts[i * dims + d]);
            }
            for (size_t j = 0; j < n; j++)
                if (comp[j] < 0 && (size_t)nbr[j] >= minpts && NEAR(i, j)) {
                    comp[j] = (int)nc;
                    queue[qt++] = (int)j;
                }
        }
        memcpy(r->alo, r->lo, sizeof r->lo);
        memcpy(r->ahi, r->hi, sizeof r->hi);
        r->matched = false;
        nc++;
    }
    for (size_t j = 0; j < n; j++) /* the points next to a hotspot widen what its box may be */
        if ((size_t)nbr[j] < minpts)
            for (size_t i = 0; i < n; i++)
                if (comp[i] >= 0 && (size_t)nbr[i] >= minpts && NEAR(i, j))
                    for (size_t d = 0; d < dims; d++) {
                        out[comp[i]].alo[d] = fmin(out[comp[i]].alo[d], pts[j * dims + d]);
                        out[comp[i]].ahi[d] = fmax(out[comp[i]].ahi[d], pts[j * dims + d]);
                    }
#undef NEAR
    return nc;
}

static bool within(double x, double lo, double hi) {
    double eps = 1e-5 * fmax(1, fmax(fabs(lo), fabs(hi)));
    return x >= lo - eps && x <= hi + eps;
}

static void hot_against_reference(size_t dims, size_t window, double radius, size_t minpts,
                                  size_t rows, bool on_grid) {
    static const char *const names[] = {"a", "b", "c", "d"};
    static const char *const types[] = {"DOUBLE", "DOUBLE", "DOUBLE", "DOUBLE"};
    sl_an_engine_t *e = engine_with(names, types, dims);
    char code[512];
    snprintf(code, sizeof code,
             "CREATE OR REPLACE STREAM \"DESTINATION_SQL_STREAM\" (r VARCHAR(10000));\n"
             "CREATE OR REPLACE PUMP \"P\" AS INSERT INTO \"DESTINATION_SQL_STREAM\"\n"
             "SELECT STREAM HOTSPOTS_RESULT FROM TABLE (HOTSPOTS(CURSOR(SELECT STREAM * FROM "
             "\"SOURCE_SQL_STREAM_001\"), %zu, %g, %zu));",
             window, radius, minpts);
    CHECK(load(e, code));
    sink_t s;
    sink_init(&s, 1, -1, 0);
    sl_an_engine_subscribe(e, "DESTINATION_SQL_STREAM", collect, &s);
    static double pts[HOT_REF_MAX * HOT_DIMS_MAX], win[HOT_REF_MAX * HOT_DIMS_MAX];
    static hot_ref_t ref[HOT_REF_MAX];
    rng_state = 11 + dims;
    size_t bad = 0, seen_spots = 0, max_spots = 0;
    for (size_t i = 0; i < rows; i++) {
        double *p = &pts[(i % window) * dims];
        if (unit() < 0.5) { /* near one of three drifting centres */
            size_t k = i % 3;
            for (size_t d = 0; d < dims; d++)
                p[d] = 2.0 + 3.0 * (double)k + 2.0 * sin((double)i / (150.0 + 40.0 * (double)d)) +
                       (unit() - 0.5) * 1.2;
        } else {
            for (size_t d = 0; d < dims; d++)
                p[d] = unit() * 10;
        }
        if (on_grid)
            for (size_t d = 0; d < dims; d++)
                p[d] = round(p[d] * 4) / 4;
        if (i == rows / 2) { /* the window saved and restored into a fresh engine goes on */
            sl_buf_t ck = SL_BUF_INIT;
            CHECK_EQ_INT(sl_an_engine_checkpoint_save(e, &ck), 0);
            sl_an_engine_destroy(e);
            e = engine_with(names, types, dims);
            CHECK(load(e, code));
            CHECK_EQ_INT(sl_an_engine_checkpoint_restore(e, ck.data, ck.len), 0);
            sl_an_engine_subscribe(e, "DESTINATION_SQL_STREAM", collect, &s);
            sl_buf_free(&ck);
        }
        put_doubles(e, ts("2018-11-01 10:00:00") + (int64_t)i, p, dims);
        size_t n = i + 1 < window ? i + 1 : window;
        for (size_t k = 0; k < n; k++) /* the window, oldest first */
            memcpy(&win[k * dims], &pts[((i + 1 - n + k) % window) * dims], dims * sizeof(double));
        size_t nref = hot_reference(win, n, dims, radius, minpts, ref);
        const char *r = s.n ? s.text[s.n - 1] : NULL;
        size_t got = 0;
        bool ok = r != NULL;
        for (const char *q = r ? strstr(r, "\"minValues\":[") : NULL; q && ok;
             q = strstr(q + 1, "\"minValues\":[")) {
            double lo[HOT_DIMS_MAX], hi[HOT_DIMS_MAX];
            const char *m = q + 13, *x = strstr(q, "\"maxValues\":[");
            ok = x != NULL;
            for (size_t d = 0; ok && d < dims; d++) {
                char *end;
                lo[d] = strtod(m, &end);
                m = end + 1;
            }
            for (size_t d = 0, at = 0; ok && d < dims; d++) {
                char *end;
                hi[d] = strtod(x + 13 + at, &end);
                at = (size_t)(end - (x + 13)) + 1;
            }
            got++;
            bool found = false;
            for (size_t c = 0; ok && c < nref && !found; c++) {
                if (ref[c].matched) continue;
                found = true;
                for (size_t d = 0; d < dims && found; d++)
                    found = within(lo[d], ref[c].alo[d], ref[c].lo[d]) &&
                            within(hi[d], ref[c].hi[d], ref[c].ahi[d]);
                ref[c].matched = found;
            }
            ok = found;
        }
        if (!ok || got != nref) {
            if (!bad)
                fprintf(stderr, "HOTSPOTS row %zu (dims %zu): %zu hotspots expected: %s\n", i, dims,
                        nref, r ? r : "(null)");
            bad++;
        }
        seen_spots += nref;
        if (nref > max_spots) max_spots = nref;
        sink_clear(&s);
    }
    CHECK_EQ_INT(bad, 0);
    CHECK(seen_spots > rows / 2); /* the data has hotspots most of the time, */
    CHECK(max_spots >= 2);        /* and more than one at once */
    sink_free(&s);
    sl_an_engine_destroy(e);
}

static void test_hotspots_incremental(void) {
    hot_against_reference(2, 100, 0.5, 5, 3000, false);
    hot_against_reference(2, 150, 0.75, 8, 2000, true); /* ties on grid lines */
    hot_against_reference(3, 100, 1.0, 4, 1500, false);
    hot_against_reference(4, 120, 1.5, 6, 1500, true); /* more dimensions than the grid has */
}

/* A row costs the work near the point that enters and the one that leaves, not a pass over the
 * window: 20,000 rows of T16's data through a window of 1,000 take well under a second of CPU
 * (a pass per row took about 10 s in an optimised build). */
static void test_hotspots_cost(void) {
    static const char *const names[] = {"x", "y"};
    static const char *const types[] = {"DOUBLE", "DOUBLE"};
    sl_an_engine_t *e = engine_with(names, types, 2);
    CHECK(load(e, "CREATE OR REPLACE STREAM \"DESTINATION_SQL_STREAM\" (r VARCHAR(10000));\n"
                  "CREATE OR REPLACE PUMP \"P\" AS INSERT INTO \"DESTINATION_SQL_STREAM\"\n"
                  "SELECT STREAM HOTSPOTS_RESULT FROM TABLE (HOTSPOTS(CURSOR(SELECT STREAM * "
                  "FROM \"SOURCE_SQL_STREAM_001\"), 1000, 0.2, 17));"));
    static const double centres[2][2] = {{2.5, 7.0}, {8.0, 3.0}};
    rng_state = 5;
    clock_t c0 = clock();
    for (size_t i = 0; i < 20000; i++) {
        double p[2];
        if (unit() < 0.1) {
            p[0] = centres[i % 2][0] + (unit() - 0.5) * 0.3;
            p[1] = centres[i % 2][1] + (unit() - 0.5) * 0.3;
        } else {
            p[0] = unit() * 10;
            p[1] = unit() * 10;
        }
        put_doubles(e, ts("2018-11-01 10:00:00") + (int64_t)i, p, 2);
    }
    double cpu_s = (double)(clock() - c0) / CLOCKS_PER_SEC;
    fprintf(stderr, "HOTSPOTS: 20,000 rows in %.2f s of CPU\n", cpu_s);
    CHECK(cpu_s < 4.0); /* generous for sanitizer builds */
    sl_an_engine_destroy(e);
}

static void test_group_rank(void) {
    static const char *const names[] = {"TICKER", "PRICE"};
    static const char *const types[] = {"VARCHAR(8)", "INTEGER"};
    sl_an_engine_t *e = engine_with(names, types, 2);
    CHECK(load(e, "CREATE STREAM R (TICKER VARCHAR(8), PRICE INTEGER, \"groupRank\" INTEGER);\n"
                  "CREATE PUMP P AS INSERT INTO R SELECT STREAM * FROM TABLE(GROUP_RANK(\n"
                  "  CURSOR(SELECT STREAM * FROM SOURCE_SQL_STREAM_001), 'PRICE', 'groupRank', "
                  "'desc', 'asc', 0, 0));\n"
                  "CREATE STREAM TOP2 (TICKER VARCHAR(8), RNK INTEGER);\n"
                  "CREATE PUMP Q AS INSERT INTO TOP2 SELECT STREAM TICKER, \"r\" FROM "
                  "TABLE(GROUP_RANK(\n"
                  "  CURSOR(SELECT STREAM TICKER FROM SOURCE_SQL_STREAM_001), 'TICKER', 'r', "
                  "'ASC', 'desc', 500, 2));"));
    sink_t all, top;
    sink_init(&all, 64, -1, -1);
    sink_init(&top, 64, -1, -1);
    sl_an_engine_subscribe(e, "R", collect, &all);
    sl_an_engine_subscribe(e, "TOP2", collect, &top);
    int64_t t = ts("2018-11-01 10:00:00");
    put_tp(e, t, "AMZN", 10, false);
    put_tp(e, t, "AAPL", 30, false);
    put_tp(e, t, "MSFT", 0, true);
    put_tp(e, t, "GOOG", 30, false);
    put_tp(e, t, "IBM", 20, false);
    CHECK_EQ_INT(all.n + top.n, 0); /* held until ROWTIME moves on */
    /* maxIdle 500 ms passes for the second pump only; 0 is no idle timeout */
    sl_an_engine_advance(e, t + 499);
    CHECK_EQ_INT(top.n, 0);
    sl_an_engine_advance(e, t + 500);
    CHECK_EQ_INT(all.n, 0);
    EXPECT_ROWS(&top, "2018-11-01 10:00:00.500|MSFT|5", "2018-11-01 10:00:00.500|IBM|4");
    put_tp(e, t + 1000, "TSLA", 5, false);
    EXPECT_ROWS(&all, "2018-11-01 10:00:01.000|AAPL|30|1", "2018-11-01 10:00:01.000|GOOG|30|1",
                "2018-11-01 10:00:01.000|IBM|20|3", "2018-11-01 10:00:01.000|AMZN|10|4",
                "2018-11-01 10:00:01.000|MSFT|NULL|5");
    CHECK_EQ_INT(top.n, 0);
    /* ties in descending output keep their arrival order */
    put_tp(e, t + 2000, "B", 1, false);
    put_tp(e, t + 2000, "A", 1, false);
    put_tp(e, t + 2000, "B", 1, false);
    put_tp(e, t + 3000, "C", 1, false);
    EXPECT_ROWS(&all, "2018-11-01 10:00:02.000|TSLA|5|1", "2018-11-01 10:00:03.000|B|1|1",
                "2018-11-01 10:00:03.000|A|1|1", "2018-11-01 10:00:03.000|B|1|1");
    EXPECT_ROWS(&top, "2018-11-01 10:00:02.000|TSLA|1", "2018-11-01 10:00:03.000|B|2",
                "2018-11-01 10:00:03.000|B|2");
    sl_an_engine_advance(e, t + 3499);
    CHECK_EQ_INT(top.n, 0);
    sl_an_engine_advance(e, t + 3500);
    EXPECT_ROWS(&top, "2018-11-01 10:00:03.500|C|1");
    sink_free(&all);
    sink_free(&top);
    sl_an_engine_destroy(e);
}

static void load_err(const char *code, const char *message) {
    static const char *const names[] = {"TICKER_SYMBOL", "PRICE", "D"};
    static const char *const types[] = {"VARCHAR(8)", "DOUBLE", "DECIMAL(5,2)"};
    sl_an_engine_t *e = engine_with(names, types, 3);
    sl_sql_error_t err;
    CHECK_EQ_INT(sl_an_engine_load(e, code, strlen(code), &err), -2);
    if (!strstr(err.message, message)) fprintf(stderr, "got: %s\n", err.message);
    CHECK(strstr(err.message, message) != NULL);
    sl_an_engine_destroy(e);
}

static void test_errors(void) {
#define Q(fn)                                                                                      \
    "CREATE STREAM D (A VARCHAR(8), B BIGINT); CREATE PUMP P AS INSERT INTO D SELECT STREAM * "    \
    "FROM TABLE(" fn ");"
    load_err(Q("TOP_K_ITEMS_TUMBLING(CURSOR(SELECT STREAM * FROM SOURCE_SQL_STREAM_001), "
               "'TICKER_SYMBOL', 0, 60)"),
             "Parameter 'K' of TOP_K_ITEMS_TUMBLING must be an integer between 1 and 100000");
    load_err(Q("TOP_K_ITEMS_TUMBLING(CURSOR(SELECT STREAM * FROM SOURCE_SQL_STREAM_001), "
               "'TICKER_SYMBOL', 5, 3601)"),
             "Parameter 'windowSize' of TOP_K_ITEMS_TUMBLING must be an integer between 1 and "
             "3600");
    load_err(Q("TOP_K_ITEMS_TUMBLING(CURSOR(SELECT STREAM * FROM SOURCE_SQL_STREAM_001), "
               "'ticker_symbol', 5, 60)"),
             "Column 'ticker_symbol' not found in the input of TOP_K_ITEMS_TUMBLING");
    load_err(Q("TOP_K_ITEMS_TUMBLING(SOURCE_SQL_STREAM_001, 'TICKER_SYMBOL', 5, 60)"),
             "The first argument of TOP_K_ITEMS_TUMBLING must be CURSOR(SELECT STREAM ...)");
    load_err(Q("COUNT_DISTINCT_ITEMS_TUMBLING(CURSOR(SELECT STREAM * FROM "
               "SOURCE_SQL_STREAM_001), 'TICKER_SYMBOL')"),
             "Invalid number of arguments to function 'COUNT_DISTINCT_ITEMS_TUMBLING'");
    load_err(Q("NO_SUCH_FN(CURSOR(SELECT STREAM * FROM SOURCE_SQL_STREAM_001))"),
             "No match found for function signature NO_SUCH_FN");
    load_err(Q("RANDOM_CUT_FOREST(CURSOR(SELECT STREAM TICKER_SYMBOL, D FROM "
               "SOURCE_SQL_STREAM_001))"),
             "RANDOM_CUT_FOREST needs at least one numeric column");
    load_err(Q("RANDOM_CUT_FOREST(CURSOR(SELECT STREAM * FROM SOURCE_SQL_STREAM_001), 100, "
               "2000)"),
             "Parameter 'subSampleSize' of RANDOM_CUT_FOREST must be an integer between 10 and "
             "1000");
    load_err(Q("RANDOM_CUT_FOREST(CURSOR(SELECT STREAM * FROM SOURCE_SQL_STREAM_001), 100, "
               "256, 100)"),
             "Parameter 'subSampleSize' of RANDOM_CUT_FOREST must be less than 'timeDecay'");
    load_err(Q("RANDOM_CUT_FOREST_WITH_EXPLANATION(CURSOR(SELECT STREAM * FROM "
               "SOURCE_SQL_STREAM_001), 100, 256, 100000, 1, 'yes')"),
             "Parameter 'withDirectionality' of RANDOM_CUT_FOREST_WITH_EXPLANATION must be TRUE "
             "or FALSE");
    load_err(Q("HOTSPOTS(CURSOR(SELECT STREAM * FROM SOURCE_SQL_STREAM_001), 50, 0.2, 17)"),
             "Parameter 'windowSize' of HOTSPOTS must be an integer between 100 and 1000");
    load_err(Q("HOTSPOTS(CURSOR(SELECT STREAM * FROM SOURCE_SQL_STREAM_001), 100, 0, 17)"),
             "Parameter 'scanRadius' of HOTSPOTS must be a number greater than 0");
    load_err(Q("HOTSPOTS(CURSOR(SELECT STREAM * FROM SOURCE_SQL_STREAM_001), 100, 0.5, 101)"),
             "Parameter 'minimumNumberOfPointsInAHotspot' of HOTSPOTS must be an integer "
             "between 2 and 100");
    load_err(Q("GROUP_RANK(CURSOR(SELECT STREAM * FROM SOURCE_SQL_STREAM_001), 'PRICE', "
               "'groupRank', 'asc', 'asc', 0, 0)"),
             "The column 'PRICE' ranked by GROUP_RANK must be INTEGER, CHAR or VARCHAR");
    load_err(Q("GROUP_RANK(CURSOR(SELECT STREAM * FROM SOURCE_SQL_STREAM_001), 'TICKER_SYMBOL', "
               "'groupRank', 'up', 'asc', 0, 0)"),
             "Parameter 'sortOrder' of GROUP_RANK must be 'asc' or 'desc'");
    load_err(Q("GROUP_RANK(CURSOR(SELECT STREAM * FROM SOURCE_SQL_STREAM_001), 'TICKER_SYMBOL', "
               "'groupRank', 'asc', 'asc', -1, 0)"),
             "Parameter 'maxIdle' of GROUP_RANK must be an integer between 0 and 2147483647");
    load_err(Q("GROUP_RANK(CURSOR(SELECT STREAM * FROM SOURCE_SQL_STREAM_001), 'TICKER_SYMBOL', "
               "'PRICE', 'asc', 'asc', 0, 0)"),
             "Parameter 'rankOutColumnName' of GROUP_RANK names the input column 'PRICE'");
    load_err(Q("GROUP_RANK(CURSOR(SELECT STREAM * FROM SOURCE_SQL_STREAM_001), 'TICKER_SYMBOL', "
               "'groupRank', 'asc', 'asc', 0)"),
             "Invalid number of arguments to function 'GROUP_RANK'");
#undef Q
}

int main(void) {
    test_t15();
    test_topk_skewed();
    test_distinct_accuracy();
    test_t16_rcf();
    test_t16_explanation();
    test_t16_hotspots();
    test_hotspots_incremental();
    test_hotspots_cost();
    test_group_rank();
    test_errors();
    TEST_MAIN_END();
}
