/* Record mapping of application inputs (analytics/mapping.c) against the spec's §1.4-1.6: the
 * documentation's JSONPath flattening example (T13), the JSON-value coercion table, CSV with
 * multi-character delimiters, and the error_stream row of a record that does not convert (T14a). */
#include "analytics/engine.h"
#include "analytics/mapping.h"
#include "core/arena.h"
#include "core/common.h"
#include "test.h"

#include <string.h>

typedef struct {
    char lines[16][256];
    size_t n;
} rows_t;

static void collect(void *ctx, const sl_sql_value_t *v, size_t n) {
    rows_t *r = ctx;
    if (r->n == SL_ARRAY_LEN(r->lines)) return;
    char *l = r->lines[r->n++];
    size_t k = 0;
    for (size_t i = 0; i < n && k + 2 < 256; i++) {
        if (i) l[k++] = '|';
        k += sl_an_value_format(&v[i], 2, l + k, 256 - k);
    }
    l[k] = 0;
}

static sl_sql_type_t type(const char *t) {
    sl_sql_type_t ty;
    if (sl_sql_parse_type(t, strlen(t), &ty)) memset(&ty, 0, sizeof ty);
    return ty;
}

static int map(const sl_an_record_schema_t *s, const char *rec, rows_t *out, char *msg) {
    sl_arena_t a;
    sl_arena_init(&a, 4096);
    out->n = 0;
    int rc = sl_an_map_record(s, rec, strlen(rec), &a, collect, out, msg, 256);
    sl_arena_deinit(&a);
    return rc;
}

static void test_json_flatten(void) {
    sl_an_record_column_t cols[] = {
        {"customerName", type("VARCHAR(16)"), "$.customerName"},
        {"orderId", type("VARCHAR(8)"), "$.orders[0:].orderId"},
        {"tags", type("VARCHAR(32)"), "$.tags[0:]"},
    };
    sl_an_record_schema_t s = {SL_AN_FORMAT_JSON, "$", NULL, NULL, cols, 3};
    char msg[256];
    CHECK_EQ_INT(sl_an_schema_check(&s, msg, sizeof msg), 0);
    rows_t r;
    CHECK_EQ_INT(map(&s,
                     "{\"customerName\":\"John Doe\",\"tags\":[1,\"a\"],\"orders\":[{\"orderId\":"
                     "\"23284\",\"itemName\":\"Widget\"},{\"orderId\":\"63122\"},{\"orderId\":"
                     "\"77284\"}]}",
                     &r, msg),
                 0);
    CHECK_EQ_INT(r.n, 3);
    CHECK_EQ_STR(r.lines[0], "John Doe|23284|[1,\"a\"]");
    CHECK_EQ_STR(r.lines[1], "John Doe|63122|[1,\"a\"]");
    CHECK_EQ_STR(r.lines[2], "John Doe|77284|[1,\"a\"]");
    /* an empty array still gives one row, with NULLs for the flattened columns */
    CHECK_EQ_INT(map(&s, "{\"customerName\":\"Jane\",\"orders\":[]}", &r, msg), 0);
    CHECK_EQ_INT(r.n, 1);
    CHECK_EQ_STR(r.lines[0], "Jane|NULL|NULL");
    /* two flattened arrays, two [0:], a bad path */
    sl_an_record_column_t two[] = {{"a", type("INTEGER"), "$.x[0:].a"},
                                   {"b", type("INTEGER"), "$.y[0:].b"}};
    sl_an_record_schema_t bad = {SL_AN_FORMAT_JSON, "$", NULL, NULL, two, 2};
    CHECK_EQ_INT(sl_an_schema_check(&bad, msg, sizeof msg), -2);
    CHECK_EQ_STR(msg, "Only one array may be flattened per schema (column 'b')");
    two[1].mapping = "$.x[0:].b[0:].c";
    CHECK_EQ_INT(sl_an_schema_check(&bad, msg, sizeof msg), -2);
    CHECK_EQ_STR(msg, "Invalid JSONPath '$.x[0:].b[0:].c' for column 'b'");
}

static void test_json_coercion(void) {
    sl_an_record_column_t cols[] = {
        {"i", type("INTEGER"), "$.i"},     {"d", type("DECIMAL(5,2)"), "$.d"},
        {"b", type("BOOLEAN"), "$.b"},     {"s", type("VARCHAR(4)"), "$.s"},
        {"t", type("TIMESTAMP"), "$.t"},   {"x", type("VARBINARY(4)"), "$.x"},
        {"o", type("VARCHAR(32)"), "$.o"}, {"m", type("DOUBLE"), "$.missing"},
    };
    sl_an_record_schema_t s = {SL_AN_FORMAT_JSON, "$", NULL, NULL, cols, 8};
    char msg[256];
    rows_t r;
    CHECK_EQ_INT(map(&s,
                     "{\"i\":\"12\",\"d\":1.25,\"b\":\"TRUE\",\"s\":\"truncated\",\"t\":"
                     "\"1992-02-14 18:35:44.0\",\"x\":\"X'3F67'\",\"o\":{\"k\":[1,2]}}",
                     &r, msg),
                 0);
    CHECK_EQ_STR(r.lines[0], "12|1.25|TRUE|trun|1992-02-14 18:35:44.000|3F67|{\"k\":[1,2]}|NULL");
    CHECK_EQ_INT(map(&s, "{\"i\":true,\"d\":1,\"b\":0,\"s\":12.5,\"t\":\"1992-02-14\"}", &r, msg),
                 0);
    CHECK_EQ_STR(r.lines[0], "1|1.00|FALSE|12.5|1992-02-14 00:00:00.000|NULL|NULL|NULL");
    CHECK_EQ_INT(map(&s, "{\"b\":\"yes\",\"x\":true}", &r, msg), 0);
    CHECK_EQ_STR(r.lines[0], "NULL|NULL|FALSE|NULL|NULL|01|NULL|NULL");
    /* the errors of the table: the record gives no row */
    CHECK_EQ_INT(map(&s, "{\"i\":123.4}", &r, msg), -2);
    CHECK_EQ_STR(msg, "Cannot convert 123.4 to INTEGER for column 'i'");
    CHECK_EQ_INT(r.n, 0);
    CHECK_EQ_INT(map(&s, "{\"i\":\"abc\"}", &r, msg), -2);
    CHECK_EQ_STR(msg, "Cannot convert 'abc' to INTEGER for column 'i'");
    CHECK_EQ_INT(map(&s, "{\"i\":3000000000}", &r, msg), -2);
    CHECK_EQ_INT(map(&s, "{\"t\":5}", &r, msg), -2);
    CHECK_EQ_STR(msg, "Cannot convert a number to TIMESTAMP for column 't'");
    CHECK_EQ_INT(map(&s, "{\"i\":[1]}", &r, msg), -2);
    CHECK_EQ_STR(msg, "Cannot convert an array to INTEGER for column 'i'");
    CHECK_EQ_INT(map(&s, "{\"x\":\"X'3F6'\"}", &r, msg), -2);
    CHECK_EQ_INT(map(&s, "{\"d\":1.234}", &r, msg), -2);
    CHECK_EQ_INT(map(&s, "{not json", &r, msg), -2);
    CHECK(strncmp(msg, "Record is not valid JSON", 24) == 0);
}

static void test_csv(void) {
    sl_an_record_column_t cols[] = {
        {"year", type("INTEGER"), NULL},
        {"state", type("VARCHAR(4)"), NULL},
        {"price", type("DOUBLE"), NULL},
    };
    sl_an_record_schema_t s = {SL_AN_FORMAT_CSV, NULL, "\r\n", "||", cols, 3};
    char msg[256];
    rows_t r;
    CHECK_EQ_INT(map(&s, "2001||AK||1.5\r\n2002||NY\r\n||CA||\r\n", &r, msg), 0);
    CHECK_EQ_INT(r.n, 3);
    CHECK_EQ_STR(r.lines[0], "2001|AK|1.5");
    CHECK_EQ_STR(r.lines[1], "2002|NY|NULL");
    CHECK_EQ_STR(r.lines[2], "NULL|CA|NULL");
    CHECK_EQ_INT(map(&s, "year||state||price", &r, msg), -2);
    CHECK_EQ_STR(msg, "Cannot convert 'year' to INTEGER for column 'year'");
    sl_an_record_schema_t empty = {SL_AN_FORMAT_CSV, NULL, "", ",", cols, 3};
    CHECK_EQ_INT(sl_an_schema_check(&empty, msg, sizeof msg), -2);
}

/* T14a: the schema says INTEGER, the data has strings: no row, an error_stream row instead. */
typedef struct {
    sl_an_engine_t *e;
    int64_t t;
} feed_t;

static void feed(void *ctx, const sl_sql_value_t *v, size_t n) {
    feed_t *f = ctx;
    sl_an_engine_insert(f->e, "SOURCE_SQL_STREAM_001", f->t, v, n);
}

static void sink(void *ctx, const char *stream, const sl_an_row_t *row) {
    rows_t *r = ctx;
    char *l = r->lines[r->n++];
    size_t k = 0;
    for (size_t i = 0; i < row->nvalues && k + 2 < 256; i++) {
        if (i) l[k++] = '|';
        k += sl_an_value_format(&row->values[i], 0, l + k, 256 - k);
    }
    l[k] = 0;
    (void)stream;
}

static void test_error_stream(void) {
    sl_an_engine_t *e;
    sl_sql_error_t err;
    CHECK_EQ_INT(sl_an_engine_create(NULL, 0, &e), 0);
    sl_sql_column_t sc[] = {{"TICKER_SYMBOL", type("INTEGER")}, {"PRICE", type("DOUBLE")}};
    sl_an_engine_add_source(e, "SOURCE_SQL_STREAM_001", sc, 2, &err);
    static rows_t out, errors;
    out.n = errors.n = 0;
    sl_an_engine_subscribe(e, "SOURCE_SQL_STREAM_001", sink, &out);
    sl_an_engine_subscribe(e, "error_stream", sink, &errors);
    sl_an_record_column_t cols[] = {{"TICKER_SYMBOL", type("INTEGER"), "$.TICKER_SYMBOL"},
                                    {"PRICE", type("DOUBLE"), "$.PRICE"}};
    sl_an_record_schema_t s = {SL_AN_FORMAT_JSON, "$", NULL, NULL, cols, 2};
    const char *recs[] = {"{\"TICKER_SYMBOL\":\"AMZN\",\"PRICE\":1}", "{\"TICKER_SYMBOL\":7}"};
    for (int i = 0; i < 2; i++) {
        sl_arena_t a;
        sl_arena_init(&a, 1024);
        char msg[256];
        feed_t f = {e, 1000 * (i + 1)};
        if (sl_an_map_record(&s, recs[i], strlen(recs[i]), &a, feed, &f, msg, sizeof msg))
            sl_an_engine_insert_error(e, "SOURCE_SQL_STREAM_001", f.t, msg, recs[i], 10);
        sl_arena_deinit(&a);
    }
    CHECK_EQ_INT(out.n, 1);
    CHECK_EQ_STR(out.lines[0], "7|NULL|1970-01-01 00:00:02.000");
    CHECK_EQ_INT(errors.n, 1);
    CHECK_EQ_STR(errors.lines[0], "1970-01-01 00:00:01.000|ERROR|Data conversion error|Cannot "
                                  "convert 'AMZN' to INTEGER for column 'TICKER_SYMBOL'|"
                                  "1970-01-01 00:00:01.000|7b225449434b45525f53|NULL");
    sl_an_engine_destroy(e);
}

int main(void) {
    test_json_flatten();
    test_json_coercion();
    test_csv();
    test_error_stream();
    TEST_MAIN_END();
}
