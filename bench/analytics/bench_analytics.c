/* Microbenchmark of the SQL engine (src/analytics/) on the virtual clock, in one thread:
 *   filter:   rows/s through a WHERE + projection pump;
 *   tumbling: rows/s through GROUP BY ticker, STEP(ROWTIME BY INTERVAL '60' SECOND) with
 *             COUNT, AVG and MAX over 10,000 keys (one row per millisecond: 60,000 rows and
 *             10,000 groups per window), windows closing as time passes;
 *   memory:   heap bytes per open group of that aggregate (mallinfo2 before and after), and per
 *             row held by a sliding window;
 *   table functions: rows/s through TOP_K_ITEMS_TUMBLING and COUNT_DISTINCT_ITEMS_TUMBLING over
 *             the same keys, RANDOM_CUT_FOREST with its defaults and HOTSPOTS(1000, ...) (a
 *             tenth of the rows: they work per row over a model or a window);
 *   checkpoint: bytes and time to save and restore the open window of 10,000 groups;
 *   hotspots 2-D: HOTSPOTS(1000, 0.2, 17) over points uniform in [0, 10]^2 with a tenth of them
 *             in two small dense squares (the unit test's T16 data), 20,000 rows.
 * Usage: bench_analytics [rows, default 2000000] [hotspots: only the two HOTSPOTS runs] */
#include "analytics/engine.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KEYS 10000

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long out_rows;
static void count(void *ctx, const char *stream, const sl_an_row_t *row) {
    (void)ctx;
    (void)stream;
    (void)row;
    out_rows++;
}

static sl_an_engine_t *setup(const char *code) {
    sl_an_engine_t *e;
    sl_sql_error_t err;
    if (sl_an_engine_create(NULL, 0, &e)) exit(1);
    sl_sql_column_t cols[] = {
        {"TICKER_SYMBOL", {.kind = SL_SQL_VARCHAR, .len = 8}},
        {"PRICE", {.kind = SL_SQL_DOUBLE, .len = 0}},
    };
    if (sl_an_engine_add_source(e, "SOURCE_SQL_STREAM_001", cols, 2, &err) ||
        sl_an_engine_load(e, code, strlen(code), &err)) {
        fprintf(stderr, "setup: %s\n", err.message);
        exit(1);
    }
    sl_an_engine_subscribe(e, "DESTINATION_SQL_STREAM", count, NULL);
    return e;
}

static double run(sl_an_engine_t *e, long rows) {
    char keys[KEYS][8];
    for (int i = 0; i < KEYS; i++)
        snprintf(keys[i], sizeof keys[i], "K%05d", i);
    sl_sql_value_t v[2] = {{.kind = SL_SQL_VARCHAR}, {.kind = SL_SQL_DOUBLE}};
    out_rows = 0;
    double t0 = now_s();
    for (long i = 0; i < rows; i++) {
        const char *k = keys[(i * 7919) % KEYS];
        v[0].u.s.ptr = k;
        v[0].u.s.len = 6;
        v[1].u.d = (double)(i % 100);
        sl_an_engine_insert(e, "SOURCE_SQL_STREAM_001", i, v, 2);
    }
    sl_an_engine_advance(e, rows + 60000);
    return now_s() - t0;
}

/* HOTSPOTS over two-dimensional points that have hotspots to find (T16's data). */
static void hotspots_2d(void) {
    sl_an_engine_t *e;
    sl_sql_error_t err;
    if (sl_an_engine_create(NULL, 0, &e)) exit(1);
    sl_sql_column_t cols[] = {
        {"X", {.kind = SL_SQL_DOUBLE, .len = 0}},
        {"Y", {.kind = SL_SQL_DOUBLE, .len = 0}},
    };
    const char *code = "CREATE STREAM \"DESTINATION_SQL_STREAM\" (r VARCHAR(10000));"
                       "CREATE PUMP \"P\" AS INSERT INTO \"DESTINATION_SQL_STREAM\" SELECT STREAM "
                       "HOTSPOTS_RESULT FROM TABLE(HOTSPOTS(CURSOR(SELECT STREAM * FROM "
                       "\"SOURCE_SQL_STREAM_001\"), 1000, 0.2, 17));";
    if (sl_an_engine_add_source(e, "SOURCE_SQL_STREAM_001", cols, 2, &err) ||
        sl_an_engine_load(e, code, strlen(code), &err)) {
        fprintf(stderr, "hotspots: %s\n", err.message);
        exit(1);
    }
    sl_an_engine_subscribe(e, "DESTINATION_SQL_STREAM", count, NULL);
    static const double centres[2][2] = {{2.5, 7.0}, {8.0, 3.0}};
    const long n = 20000;
    uint64_t seed = 5;
#define UNIT()                                                                                     \
    ((double)((seed = seed * 6364136223846793005ull + 1442695040888963407ull) >> 11) /             \
     9007199254740992.0)
    out_rows = 0;
    double t0 = now_s();
    for (long i = 0; i < n; i++) {
        sl_sql_value_t v[2] = {{.kind = SL_SQL_DOUBLE}, {.kind = SL_SQL_DOUBLE}};
        if (UNIT() < 0.1) {
            v[0].u.d = centres[i % 2][0] + (UNIT() - 0.5) * 0.3;
            v[1].u.d = centres[i % 2][1] + (UNIT() - 0.5) * 0.3;
        } else {
            v[0].u.d = UNIT() * 10;
            v[1].u.d = UNIT() * 10;
        }
        sl_an_engine_insert(e, "SOURCE_SQL_STREAM_001", i, v, 2);
    }
#undef UNIT
    double t = now_s() - t0;
    printf("HOTSPOTS 2-D         %10.0f rows/s (%ld rows in, %ld out)\n", n / t, n, out_rows);
    sl_an_engine_destroy(e);
}

static void everything_else(long rows) {
    sl_an_engine_t *e =
        setup("CREATE STREAM \"DESTINATION_SQL_STREAM\" (ticker_symbol VARCHAR(8), price DOUBLE);"
              "CREATE PUMP \"P\" AS INSERT INTO \"DESTINATION_SQL_STREAM\" SELECT STREAM "
              "ticker_symbol, price * 2 FROM \"SOURCE_SQL_STREAM_001\" WHERE price > 49;");
    double t = run(e, rows);
    printf("filter pump:        %10.0f rows/s (%ld rows in, %ld out, %.2f s)\n", rows / t, rows,
           out_rows, t);
    sl_an_engine_destroy(e);

    const char *agg =
        "CREATE STREAM \"DESTINATION_SQL_STREAM\" (ticker_symbol VARCHAR(8), c BIGINT, a DOUBLE, "
        "m DOUBLE);"
        "CREATE PUMP \"P\" AS INSERT INTO \"DESTINATION_SQL_STREAM\" SELECT STREAM "
        "ticker_symbol, COUNT(*), AVG(price), MAX(price) FROM \"SOURCE_SQL_STREAM_001\" GROUP BY "
        "ticker_symbol, STEP(\"SOURCE_SQL_STREAM_001\".ROWTIME BY INTERVAL '60' SECOND);";
    e = setup(agg);
    t = run(e, rows);
    printf("tumbling 1 min, %dk keys: %10.0f rows/s (%ld rows in, %ld groups out, %.2f s)\n",
           KEYS / 1000, rows / t, rows, out_rows, t);
    sl_an_engine_destroy(e);

    /* memory of one open window holding KEYS groups */
    e = setup(agg);
    struct mallinfo2 before = mallinfo2();
    run(e, 0);
    sl_sql_value_t v[2] = {{.kind = SL_SQL_VARCHAR}, {.kind = SL_SQL_DOUBLE}};
    char k[8];
    for (int i = 0; i < KEYS; i++) {
        snprintf(k, sizeof k, "K%05d", i);
        v[0].u.s.ptr = k;
        v[0].u.s.len = 6;
        v[1].u.d = i;
        sl_an_engine_insert(e, "SOURCE_SQL_STREAM_001", 100000 + i / 1000, v, 2);
    }
    struct mallinfo2 after = mallinfo2();
    printf("open window:        %10.0f bytes per group (%d groups)\n",
           (double)(after.uordblks - before.uordblks) / KEYS, KEYS);

    /* the same open window saved and restored */
    sl_buf_t ck = SL_BUF_INIT;
    double t0 = now_s();
    if (sl_an_engine_checkpoint_save(e, &ck)) exit(1);
    double t_save = now_s() - t0;
    sl_an_engine_t *r = setup(agg);
    t0 = now_s();
    if (sl_an_engine_checkpoint_restore(r, ck.data, ck.len)) exit(1);
    double t_restore = now_s() - t0;
    printf("checkpoint:         %10zu bytes (%.0f per group), save %.1f ms, restore %.1f ms\n",
           ck.len, (double)ck.len / KEYS, t_save * 1000, t_restore * 1000);
    sl_buf_free(&ck);
    sl_an_engine_destroy(r);
    sl_an_engine_destroy(e);

    /* a sliding window: rows held per key for one minute */
    const char *slide =
        "CREATE STREAM \"DESTINATION_SQL_STREAM\" (ticker_symbol VARCHAR(8), a DOUBLE);"
        "CREATE PUMP \"P\" AS INSERT INTO \"DESTINATION_SQL_STREAM\" SELECT STREAM "
        "ticker_symbol, AVG(price) OVER (PARTITION BY ticker_symbol RANGE INTERVAL '1' MINUTE "
        "PRECEDING) FROM \"SOURCE_SQL_STREAM_001\";";
    e = setup(slide);
    before = mallinfo2();
    t = run(e, 200000); /* 200,000 rows in 200 s: the last 60,000 are held */
    after = mallinfo2();
    printf("sliding 1 min:      %10.0f rows/s; %.0f bytes per held row\n", 200000 / t,
           (double)(after.uordblks - before.uordblks) / 60000);
    sl_an_engine_destroy(e);
}

/* The table functions over the same keys (only HOTSPOTS when only_hotspots). */
static void table_functions(long rows, bool only_hotspots) {
    sl_an_engine_t *e;
    double t;
    static const struct {
        const char *what, *item, *fn;
        long div;
    } fns[] = {
        {"TOP_K_ITEMS_TUMBLING", "ITEM",
         "TOP_K_ITEMS_TUMBLING(CURSOR(SELECT STREAM * FROM "
         "\"SOURCE_SQL_STREAM_001\"), 'TICKER_SYMBOL', 10, 60)",
         1},
        {"COUNT_DISTINCT_ITEMS", "CAST(NUMBER_OF_DISTINCT_ITEMS AS VARCHAR(64))",
         "COUNT_DISTINCT_ITEMS_TUMBLING(CURSOR(SELECT STREAM * FROM "
         "\"SOURCE_SQL_STREAM_001\"), 'TICKER_SYMBOL', 60)",
         1},
        {"RANDOM_CUT_FOREST", "TICKER_SYMBOL",
         "RANDOM_CUT_FOREST(CURSOR(SELECT STREAM * FROM "
         "\"SOURCE_SQL_STREAM_001\"))",
         20},
        {"HOTSPOTS", "TICKER_SYMBOL",
         "HOTSPOTS(CURSOR(SELECT STREAM * FROM \"SOURCE_SQL_STREAM_001\"), 1000, "
         "0.5, 20)",
         20},
    };
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
        if (only_hotspots && strcmp(fns[i].what, "HOTSPOTS") != 0) continue;
        char code[1024];
        snprintf(code, sizeof code,
                 "CREATE STREAM \"DESTINATION_SQL_STREAM\" (x VARCHAR(64));"
                 "CREATE PUMP \"P\" AS INSERT INTO \"DESTINATION_SQL_STREAM\" SELECT STREAM "
                 "%s FROM TABLE(%s);",
                 fns[i].item, fns[i].fn);
        e = setup(code);
        long n = rows / fns[i].div;
        t = run(e, n);
        printf("%-20s %10.0f rows/s (%ld rows in, %ld out)\n", fns[i].what, n / t, n, out_rows);
        sl_an_engine_destroy(e);
    }
}

int main(int argc, char **argv) {
    long rows = argc > 1 ? strtol(argv[1], NULL, 10) : 2000000;
    if (rows <= 0) rows = 2000000;
    bool only_hotspots = argc > 2 && strcmp(argv[2], "hotspots") == 0;

    if (!only_hotspots) everything_else(rows);
    table_functions(rows, only_hotspots);
    hotspots_2d();
    return 0;
}
