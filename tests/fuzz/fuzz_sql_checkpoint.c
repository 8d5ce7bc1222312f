/* Fuzz target for saved window state (sl_an_engine_checkpoint_restore, analytics/checkpoint.c):
 * the bytes are a checkpoint's payload, framed with the magic, length and CRC32C the way a saved
 * file is (so the fuzzer reaches the decoder instead of failing the checksum), and restored into
 * an engine running an application with every stateful operator. Whatever restores must then run
 * rows and bounds, and save again, without crashing or reading out of bounds; whatever does not
 * must leave the engine usable with empty windows. */
#include "analytics/engine.h"
#include "core/buf.h"
#include "core/crc32c.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char APP[] =
    "CREATE STREAM TUMBLING (CITY VARCHAR(16), LO INTEGER, SD DOUBLE, N BIGINT);\n"
    "CREATE PUMP P1 AS INSERT INTO TUMBLING SELECT STREAM CITY, MIN(TEMP), STDDEV_POP(TEMP), "
    "  COUNT(*) FROM WEATHER AS W GROUP BY CITY, FLOOR(W.ROWTIME TO HOUR);\n"
    "CREATE STREAM STAGGERED (CITY VARCHAR(16), HI VARCHAR(16));\n"
    "CREATE PUMP P2 AS INSERT INTO STAGGERED SELECT STREAM CITY, MAX(CITY) FROM WEATHER "
    "  WINDOWED BY STAGGER (PARTITION BY CITY RANGE INTERVAL '25' MINUTE);\n"
    "CREATE STREAM SLIDING (CITY VARCHAR(16), PREV INTEGER, F VARCHAR(16));\n"
    "CREATE PUMP P3 AS INSERT INTO SLIDING SELECT STREAM CITY, LAG(TEMP, 1) OVER W2, "
    "  FIRST_VALUE(CITY) OVER W2 FROM WEATHER WINDOW W2 AS (PARTITION BY CITY ROWS 3 PRECEDING);\n"
    "CREATE STREAM A (TEMP INTEGER, CITY VARCHAR(16));\n"
    "CREATE PUMP P4 AS INSERT INTO A SELECT STREAM TEMP, CITY FROM WEATHER WHERE TEMP > 10;\n"
    "CREATE STREAM JOINED (C VARCHAR(16), D INTEGER);\n"
    "CREATE PUMP P6 AS INSERT INTO JOINED SELECT STREAM a.CITY, w.TEMP FROM A OVER (RANGE "
    "  INTERVAL '20' MINUTE PRECEDING) AS a FULL JOIN WEATHER OVER (ROWS 2 PRECEDING) AS w "
    "  ON a.CITY LIKE w.CITY;\n"
    "CREATE STREAM SORTED (CITY VARCHAR(16), TEMP INTEGER);\n"
    "CREATE PUMP P7 AS INSERT INTO SORTED SELECT STREAM CITY, TEMP FROM WEATHER "
    "  ORDER BY FLOOR(WEATHER.ROWTIME TO HOUR), TEMP DESC, CITY;\n"
    "CREATE STREAM TOPK (ITEM VARCHAR(16), ITEM_COUNT BIGINT);\n"
    "CREATE PUMP P8 AS INSERT INTO TOPK SELECT STREAM * FROM TABLE(TOP_K_ITEMS_TUMBLING("
    "  CURSOR(SELECT STREAM * FROM WEATHER), 'CITY', 3, 60));\n"
    "CREATE STREAM DIST (N BIGINT);\n"
    "CREATE PUMP P9 AS INSERT INTO DIST SELECT STREAM * FROM TABLE("
    "  COUNT_DISTINCT_ITEMS_TUMBLING(CURSOR(SELECT STREAM * FROM WEATHER), 'TEMP', 60));\n"
    "CREATE STREAM RCF (T INTEGER, S DOUBLE, X VARCHAR(512));\n"
    "CREATE PUMP P10 AS INSERT INTO RCF SELECT STREAM TEMP, ANOMALY_SCORE, ANOMALY_EXPLANATION "
    "  FROM TABLE(RANDOM_CUT_FOREST_WITH_EXPLANATION(CURSOR(SELECT STREAM TEMP, V FROM WEATHER), "
    "  3, 10, 100, 2, true));\n"
    "CREATE STREAM HOT (T INTEGER, H VARCHAR(10000));\n"
    "CREATE PUMP P11 AS INSERT INTO HOT SELECT TEMP, HOTSPOTS_RESULT FROM TABLE(HOTSPOTS("
    "  CURSOR(SELECT STREAM TEMP, V FROM WEATHER), 100, 0.5, 3));\n"
    "CREATE STREAM LOGS (C1 VARCHAR(64), N BIGINT);\n"
    "CREATE PUMP P12 AS INSERT INTO LOGS SELECT STREAM t.r.COLUMN1, COUNT(*) OVER (ROWS 1 "
    "  PRECEDING) FROM (SELECT STREAM REGEX_LOG_PARSE(CITY, '(\\w+)') AS r, V FROM WEATHER) AS "
    "t;\n";

static sl_an_engine_t *make(void) {
    sl_an_engine_t *e;
    if (sl_an_engine_create(NULL, 0, &e)) abort();
    static const sl_sql_column_t cols[] = {
        {"CITY", {.kind = SL_SQL_VARCHAR, .len = 16}},
        {"TEMP", {.kind = SL_SQL_INTEGER}},
        {"V", {.kind = SL_SQL_DOUBLE}},
    };
    sl_sql_error_t err;
    if (sl_an_engine_add_source(e, "WEATHER", cols, 3, &err)) abort();
    if (sl_an_engine_load(e, APP, strlen(APP), &err)) abort();
    return e;
}

static void run(sl_an_engine_t *e, int64_t t0) {
    for (int i = 0; i < 6; i++) {
        sl_sql_value_t v[3] = {
            {.kind = SL_SQL_VARCHAR, .u.s = {i % 2 ? "Miami" : "Denver", i % 2 ? 5 : 6}},
            {.kind = SL_SQL_INTEGER, .u.i = i * 7 - 3, .null = i == 4},
            {.kind = SL_SQL_DOUBLE, .u.d = i * 0.25},
        };
        sl_an_engine_insert(e, "WEATHER", t0 + i * 700000, v, 3);
    }
    sl_an_engine_advance(e, t0 + 86400000);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    sl_buf_t b = SL_BUF_INIT;
    sl_buf_append(&b, "SLANCKP1", 8);
    uint8_t x[16];
    uint64_t len = size, crc = sl_crc32c(0, data, size);
    for (int i = 0; i < 8; i++) {
        x[i] = (uint8_t)(len >> (8 * i));
        x[8 + i] = (uint8_t)(crc >> (8 * i));
    }
    sl_buf_append(&b, x, 16);
    sl_buf_append(&b, data, size);
    sl_an_engine_t *e = make();
    /* the same bytes as they are, unframed: refused unless they happen to be a checkpoint */
    sl_an_engine_checkpoint_restore(e, data, size);
    sl_an_engine_destroy(e);
    e = make();
    int rc = sl_an_engine_checkpoint_restore(e, b.data, b.len);
    if (rc != 0 && rc != -2) abort(); /* 0 or SL_EINVAL */
    run(e, rc == 0 ? 1541030400000 : 0);
    sl_buf_t again = SL_BUF_INIT;
    if (sl_an_engine_checkpoint_save(e, &again) != 0) abort();
    sl_buf_free(&again);
    sl_an_engine_destroy(e);
    sl_buf_free(&b);
    return 0;
}
