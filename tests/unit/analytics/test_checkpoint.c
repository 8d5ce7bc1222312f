/* Checkpoints of window state (sl_an_engine_checkpoint_save / _restore): one application with
 * every stateful operator (tumbling and stagger aggregates, sliding windows with LAG, a windowed
 * stream-to-stream LEFT JOIN, ORDER BY within a key, TOP_K, COUNT_DISTINCT, GROUP_RANK and
 * SELECT STREAM DISTINCT) runs a seeded
 * stream once uninterrupted, then again cut at many points: the first part in one engine, a
 * checkpoint, the rest in a fresh engine restored from it. Every output stream must hold exactly
 * the rows of the uninterrupted run, none lost, none repeated. Also: damaged, foreign and
 * truncated checkpoints are refused and leave empty windows; a random cut forest restored from
 * its samples keeps scoring outliers high. */
#include "analytics/engine.h"
#include "analytics/internal.h"
#include "core/common.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>

#define LINES_MAX 20000

typedef struct {
    char (*lines)[200];
    size_t n;
} sink_t;

static void collect(void *ctx, const char *stream, const sl_an_row_t *row) {
    sink_t *s = ctx;
    if (s->n == LINES_MAX) return;
    char *l = s->lines[s->n++];
    size_t k = (size_t)snprintf(l, 200, "%s|", stream);
    sl_sql_value_t t = {.kind = SL_SQL_TIMESTAMP, .u.i = row->rowtime_ms};
    k += sl_an_value_format(&t, 0, l + k, 200 - k);
    for (size_t i = 0; i < row->nvalues && k + 2 < 200; i++) {
        l[k++] = '|';
        k += sl_an_value_format(&row->values[i], 0, l + k, 200 - k);
    }
    l[k] = 0;
}

static const char *const OUTPUTS[] = {"TUMBLING", "STAGGERED", "SLIDING", "JOINED", "SORTED",
                                      "TOPK",     "DISTINCTS", "RANKED",  "UNIQUE", "error_stream"};

static const char CODE[] =
    "CREATE STREAM TUMBLING (CITY VARCHAR(16), H TIMESTAMP, LO INTEGER, HI INTEGER, AV INTEGER, "
    "  SD DOUBLE, VS DOUBLE, N BIGINT);\n"
    "CREATE PUMP P1 AS INSERT INTO TUMBLING SELECT STREAM CITY, FLOOR(W.ROWTIME TO HOUR), "
    "  MIN(TEMP), MAX(TEMP), SUM(TEMP) / COUNT(TEMP), STDDEV_POP(TEMP), VAR_SAMP(TEMP), COUNT(*) "
    "  FROM WEATHER AS W GROUP BY CITY, FLOOR(W.ROWTIME TO HOUR);\n"
    "CREATE STREAM STAGGERED (CITY VARCHAR(16), N BIGINT, HI INTEGER);\n"
    "CREATE PUMP P2 AS INSERT INTO STAGGERED SELECT STREAM CITY, COUNT(*), MAX(TEMP) FROM WEATHER "
    "  WINDOWED BY STAGGER (PARTITION BY CITY RANGE INTERVAL '25' MINUTE);\n"
    "CREATE STREAM SLIDING (CITY VARCHAR(16), TEMP INTEGER, LO INTEGER, AV DOUBLE, PREV INTEGER, "
    "  FIRST_T INTEGER);\n"
    "CREATE PUMP P3 AS INSERT INTO SLIDING SELECT STREAM CITY, TEMP, MIN(TEMP) OVER W1, "
    "  AVG(CAST(TEMP AS DOUBLE)) OVER W1, LAG(TEMP, 1) OVER W2, FIRST_VALUE(TEMP) OVER W2 "
    "  FROM WEATHER WINDOW W1 AS (PARTITION BY CITY RANGE INTERVAL '2' HOUR PRECEDING), "
    "  W2 AS (PARTITION BY CITY ROWS 3 PRECEDING);\n"
    "CREATE STREAM DENVER (TEMP INTEGER);\n"
    "CREATE PUMP P4 AS INSERT INTO DENVER SELECT STREAM TEMP FROM WEATHER WHERE CITY = 'Denver';\n"
    "CREATE STREAM MIAMI (TEMP INTEGER);\n"
    "CREATE PUMP P5 AS INSERT INTO MIAMI SELECT STREAM TEMP FROM WEATHER WHERE CITY = 'Miami';\n"
    "CREATE STREAM JOINED (D INTEGER, M INTEGER);\n"
    "CREATE PUMP P6 AS INSERT INTO JOINED SELECT STREAM d.TEMP, m.TEMP FROM DENVER OVER (RANGE "
    "  INTERVAL '20' MINUTE PRECEDING) AS d LEFT JOIN MIAMI OVER (RANGE INTERVAL '10' MINUTE "
    "  PRECEDING) AS m ON d.TEMP = m.TEMP;\n"
    "CREATE STREAM SORTED (CITY VARCHAR(16), TEMP INTEGER);\n"
    "CREATE PUMP P7 AS INSERT INTO SORTED SELECT STREAM CITY, TEMP FROM WEATHER "
    "  ORDER BY FLOOR(WEATHER.ROWTIME TO HOUR), TEMP DESC, CITY;\n"
    "CREATE STREAM TOPK (ITEM VARCHAR(16), ITEM_COUNT BIGINT);\n"
    "CREATE PUMP P8 AS INSERT INTO TOPK SELECT STREAM * FROM TABLE(TOP_K_ITEMS_TUMBLING("
    "  CURSOR(SELECT STREAM * FROM WEATHER), 'CITY', 3, 3600));\n"
    "CREATE STREAM DISTINCTS (N BIGINT);\n"
    "CREATE PUMP P9 AS INSERT INTO DISTINCTS SELECT STREAM * FROM TABLE("
    "  COUNT_DISTINCT_ITEMS_TUMBLING(CURSOR(SELECT STREAM * FROM WEATHER), 'TEMP', 1800));\n"
    "CREATE STREAM RANKED (CITY VARCHAR(16), TEMP INTEGER, R INTEGER);\n"
    "CREATE PUMP P10 AS INSERT INTO RANKED SELECT STREAM * FROM TABLE(GROUP_RANK("
    "  CURSOR(SELECT STREAM * FROM WEATHER), 'TEMP', 'R', 'desc', 'asc', 0, 2));\n"
    "CREATE STREAM UNIQUE (H TIMESTAMP, CITY VARCHAR(16));\n"
    "CREATE PUMP P11 AS INSERT INTO UNIQUE SELECT STREAM DISTINCT FLOOR(W.ROWTIME TO HOUR), CITY "
    "  FROM WEATHER AS W;\n";

enum { ROWS = 600 };
static struct {
    int64_t t;
    char city[16];
    int temp;
} rows[ROWS];

static void make_rows(void) {
    static const char *const cities[] = {"Denver", "Miami", "Anchorage", "Boston", "Austin"};
    uint64_t s = 99;
    int64_t t = 1541030400000; /* 2018-11-01 00:00:00 */
    for (size_t i = 0; i < ROWS; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        t += (int64_t)((s >> 33) % 240000); /* 0 to 4 minutes apart, equal times too */
        rows[i].t = t;
        snprintf(rows[i].city, sizeof rows[i].city, "%s", cities[(s >> 20) % 5]);
        rows[i].temp = (int)((s >> 40) % 40);
    }
}

static sl_an_engine_t *make_engine(sink_t *sink) {
    sl_an_engine_t *e;
    if (sl_an_engine_create(NULL, 1541030400000, &e)) abort();
    sl_sql_column_t cols[2] = {{"CITY", {.kind = SL_SQL_VARCHAR, .len = 16}},
                               {"TEMP", {.kind = SL_SQL_INTEGER}}};
    sl_sql_error_t err;
    if (sl_an_engine_add_source(e, "WEATHER", cols, 2, &err)) abort();
    if (sl_an_engine_load(e, CODE, strlen(CODE), &err)) {
        fprintf(stderr, "load: %s\n", err.message);
        abort();
    }
    for (size_t i = 0; i < SL_ARRAY_LEN(OUTPUTS); i++)
        sl_an_engine_subscribe(e, OUTPUTS[i], collect, sink);
    return e;
}

static void feed(sl_an_engine_t *e, size_t from, size_t to) {
    for (size_t i = from; i < to; i++) {
        sl_sql_value_t v[2] = {{.kind = SL_SQL_VARCHAR}, {.kind = SL_SQL_INTEGER}};
        v[0].u.s.ptr = rows[i].city;
        v[0].u.s.len = (uint32_t)strlen(rows[i].city);
        v[1].u.i = rows[i].temp;
        sl_an_engine_insert(e, "WEATHER", rows[i].t, v, 2);
        if (i % 50 == 49) sl_an_engine_advance(e, rows[i].t + 1); /* a bound now and then */
    }
}

static int64_t end_time(void) {
    return rows[ROWS - 1].t + 86400000;
}

static void test_resume_exact(void) {
    make_rows();
    static sink_t whole, cut;
    whole.lines = calloc(LINES_MAX, sizeof *whole.lines);
    cut.lines = calloc(LINES_MAX, sizeof *cut.lines);
    sl_an_engine_t *e = make_engine(&whole);
    feed(e, 0, ROWS);
    sl_an_engine_advance(e, end_time());
    sl_an_engine_destroy(e);
    CHECK(whole.n > 1000);
    size_t streams_seen = 0;
    for (size_t k = 0; k < SL_ARRAY_LEN(OUTPUTS) - 1; k++) {
        bool seen = false;
        for (size_t i = 0; i < whole.n && !seen; i++)
            seen = strncmp(whole.lines[i], OUTPUTS[k], strlen(OUTPUTS[k])) == 0 &&
                   whole.lines[i][strlen(OUTPUTS[k])] == '|';
        streams_seen += seen;
    }
    CHECK_EQ_INT(streams_seen, SL_ARRAY_LEN(OUTPUTS) - 1); /* every operator produced rows */

    size_t cuts = 0, max_bytes = 0;
    for (size_t at = 1; at < ROWS; at += 37) {
        cut.n = 0;
        sl_an_engine_t *a = make_engine(&cut);
        feed(a, 0, at);
        sl_buf_t b = SL_BUF_INIT;
        CHECK_EQ_INT(sl_an_engine_checkpoint_save(a, &b), 0);
        sl_an_engine_destroy(a); /* the process dies here */
        max_bytes = SL_MAX(max_bytes, b.len);
        sl_an_engine_t *r = make_engine(&cut);
        CHECK_EQ_INT(sl_an_engine_checkpoint_restore(r, b.data, b.len), 0);
        sl_buf_free(&b);
        feed(r, at, ROWS);
        sl_an_engine_advance(r, end_time());
        sl_an_engine_destroy(r);
        bool same = cut.n == whole.n;
        for (size_t i = 0; same && i < whole.n; i++)
            same = strcmp(cut.lines[i], whole.lines[i]) == 0;
        if (!same) {
            fprintf(stderr, "cut at row %zu: %zu rows vs %zu\n", at, cut.n, whole.n);
            for (size_t i = 0; i < SL_MAX(cut.n, whole.n); i++)
                if (i >= cut.n || i >= whole.n || strcmp(cut.lines[i], whole.lines[i])) {
                    fprintf(stderr, "  first difference at %zu: %s / %s\n", i,
                            i < cut.n ? cut.lines[i] : "-", i < whole.n ? whole.lines[i] : "-");
                    break;
                }
        }
        CHECK(same);
        cuts++;
    }
    fprintf(stderr, "checkpoint: %zu cuts, %zu output rows each, largest checkpoint %zu bytes\n",
            cuts, whole.n, max_bytes);

    /* without the checkpoint the restart loses the open windows: the test can tell */
    cut.n = 0;
    sl_an_engine_t *a = make_engine(&cut);
    feed(a, 0, ROWS / 2);
    sl_an_engine_destroy(a);
    a = make_engine(&cut);
    feed(a, ROWS / 2, ROWS);
    sl_an_engine_advance(a, end_time());
    sl_an_engine_destroy(a);
    bool same = cut.n == whole.n;
    for (size_t i = 0; same && i < whole.n; i++)
        same = strcmp(cut.lines[i], whole.lines[i]) == 0;
    CHECK(!same);
    free(whole.lines);
    free(cut.lines);
}

static void test_refused(void) {
    make_rows();
    static sink_t s;
    s.lines = calloc(LINES_MAX, sizeof *s.lines);
    sl_an_engine_t *a = make_engine(&s);
    feed(a, 0, 100);
    sl_buf_t b = SL_BUF_INIT;
    CHECK_EQ_INT(sl_an_engine_checkpoint_save(a, &b), 0);
    sl_an_engine_destroy(a);
    /* every flipped byte and every truncation is refused */
    size_t refused = 0, tried = 0;
    for (size_t i = 0; i < b.len; i += 1 + b.len / 300) {
        sl_an_engine_t *r = make_engine(&s);
        b.data[i] ^= 0x5a;
        refused += sl_an_engine_checkpoint_restore(r, b.data, b.len) == SL_EINVAL;
        b.data[i] ^= 0x5a;
        refused += sl_an_engine_checkpoint_restore(r, b.data, i) == SL_EINVAL;
        tried += 2;
        sl_an_engine_destroy(r);
    }
    CHECK_EQ_INT(refused, tried);
    /* a checkpoint of other code is refused; the engine then runs with empty windows */
    sl_an_engine_t *o;
    sl_an_engine_create(NULL, 0, &o);
    sl_sql_column_t cols[2] = {{"CITY", {.kind = SL_SQL_VARCHAR, .len = 16}},
                               {"TEMP", {.kind = SL_SQL_INTEGER}}};
    sl_sql_error_t err;
    sl_an_engine_add_source(o, "WEATHER", cols, 2, &err);
    const char *other = "CREATE STREAM X (N BIGINT); CREATE PUMP P AS INSERT INTO X SELECT STREAM "
                        "COUNT(*) FROM WEATHER GROUP BY FLOOR(WEATHER.ROWTIME TO HOUR);";
    CHECK_EQ_INT(sl_an_engine_load(o, other, strlen(other), &err), 0);
    CHECK_EQ_INT(sl_an_engine_checkpoint_restore(o, b.data, b.len), SL_EINVAL);
    s.n = 0;
    sl_an_engine_subscribe(o, "X", collect, &s);
    sl_sql_value_t v[2] = {{.kind = SL_SQL_VARCHAR, .u.s = {"Miami", 5}},
                           {.kind = SL_SQL_INTEGER, .u.i = 1}};
    sl_an_engine_insert(o, "WEATHER", 1541030400000, v, 2);
    sl_an_engine_advance(o, 1541030400000 + 3600000);
    CHECK_EQ_INT(s.n, 1);
    CHECK_EQ_STR(s.lines[0], "X|2018-11-01 01:00:00.000|1");
    sl_an_engine_destroy(o);
    sl_buf_free(&b);
    free(s.lines);
}

/* A random cut forest is restored from its samples (its trees are rebuilt): a restored forest
 * still scores a far outlier well above the stream's ordinary rows. */
static void test_forest(void) {
    static sink_t s;
    s.lines = calloc(LINES_MAX, sizeof *s.lines);
    const char *code = "CREATE STREAM S (X DOUBLE, ANOMALY_SCORE DOUBLE); CREATE PUMP P AS "
                       "INSERT INTO S SELECT STREAM X, ANOMALY_SCORE FROM TABLE(RANDOM_CUT_FOREST("
                       "CURSOR(SELECT STREAM * FROM IN1), 50, 64, 10000, 2));";
    sl_sql_column_t cols[1] = {{"X", {.kind = SL_SQL_DOUBLE}}};
    sl_sql_error_t err;
    sl_an_engine_t *e[2];
    sl_buf_t b = SL_BUF_INIT;
    for (int k = 0; k < 2; k++) {
        sl_an_engine_create(NULL, 0, &e[k]);
        sl_an_engine_add_source(e[k], "IN1", cols, 1, &err);
        CHECK_EQ_INT(sl_an_engine_load(e[k], code, strlen(code), &err), 0);
    }
    for (int i = 0; i < 500; i++) {
        sl_sql_value_t v = {.kind = SL_SQL_DOUBLE, .u.d = (i % 10) * 0.1};
        sl_an_engine_insert(e[0], "IN1", i, &v, 1);
    }
    CHECK_EQ_INT(sl_an_engine_checkpoint_save(e[0], &b), 0);
    CHECK_EQ_INT(sl_an_engine_checkpoint_restore(e[1], b.data, b.len), 0);
    sl_an_engine_subscribe(e[1], "S", collect, &s);
    double normal = 0;
    for (int i = 500; i < 540; i++) {
        sl_sql_value_t v = {.kind = SL_SQL_DOUBLE, .u.d = (i % 10) * 0.1};
        sl_an_engine_insert(e[1], "IN1", i, &v, 1);
    }
    for (size_t i = 0; i < s.n; i++)
        normal += strtod(strrchr(s.lines[i], '|') + 1, NULL) / (double)s.n;
    sl_sql_value_t v = {.kind = SL_SQL_DOUBLE, .u.d = 50};
    size_t before = s.n;
    sl_an_engine_insert(e[1], "IN1", 600, &v, 1);
    CHECK_EQ_INT(s.n, before + 1);
    double outlier = strtod(strrchr(s.lines[before], '|') + 1, NULL);
    fprintf(stderr, "restored forest: ordinary rows %.3f, outlier %.3f\n", normal, outlier);
    CHECK(normal > 0); /* no second warm-up after the restore */
    CHECK(outlier > 2.5 * normal);
    sl_buf_free(&b);
    sl_an_engine_destroy(e[0]);
    sl_an_engine_destroy(e[1]);
    free(s.lines);
}

int main(void) {
    test_resume_exact();
    test_refused();
    test_forest();
    TEST_MAIN_END();
}
