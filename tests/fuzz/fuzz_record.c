/* Fuzz target for input records (analytics/mapping.c): the bytes are a record mapped by a JSON
 * schema with member, whole-array and flattened paths, and by a CSV schema with multi-character
 * delimiters; the first bytes also pick a JSONPath to check. Nothing may crash; a failed record
 * must leave a message. */
#include "analytics/mapping.h"
#include "core/arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static size_t rows;
static void count(void *ctx, const sl_sql_value_t *v, size_t n) {
    (void)ctx;
    (void)v;
    (void)n;
    rows++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *s = (const char *)data;
    static const sl_an_record_column_t cols[] = {
        {"a", {.kind = SL_SQL_INTEGER}, "$.a"},
        {"b", {.kind = SL_SQL_VARCHAR, .len = 8}, "$.o.b"},
        {"c", {.kind = SL_SQL_DECIMAL, .len = 5, .scale = 2}, "$.arr[0:].c"},
        {"d", {.kind = SL_SQL_TIMESTAMP}, "$.arr[0:].d"},
        {"e", {.kind = SL_SQL_VARCHAR, .len = 64}, "$.whole[0:]"},
        {"f", {.kind = SL_SQL_BOOLEAN}, "$.f"},
        {"g", {.kind = SL_SQL_VARBINARY, .len = 4}, "$.g"},
    };
    char msg[256];
    sl_arena_t a;
    sl_arena_init(&a, 4096);
    sl_an_record_schema_t js = {SL_AN_FORMAT_JSON, "$", NULL, NULL, cols, 7};
    rows = 0;
    int rc = sl_an_map_record(&js, s, size, &a, count, NULL, msg, sizeof msg);
    if (rc != 0 && (msg[0] == 0 || rows != 0)) abort();
    sl_arena_reset(&a);
    sl_an_record_schema_t csv = {SL_AN_FORMAT_CSV, NULL, "\r\n", "||", cols, 7};
    rc = sl_an_map_record(&csv, s, size, &a, count, NULL, msg, sizeof msg);
    if (rc != 0 && msg[0] == 0) abort();
    /* the first line as a JSONPath */
    char path[128];
    size_t n = 0;
    while (n < size && n < sizeof path - 1 && s[n] != '\n') {
        path[n] = s[n];
        n++;
    }
    path[n] = 0;
    sl_an_record_column_t one[2] = {{"x", {.kind = SL_SQL_VARCHAR, .len = 8}, path},
                                    {"y", {.kind = SL_SQL_INTEGER}, "$.arr[0:].y"}};
    sl_an_record_schema_t ps = {SL_AN_FORMAT_JSON, "$", NULL, NULL, one, 2};
    if (sl_an_schema_check(&ps, msg, sizeof msg) == 0 && n < size) {
        sl_arena_reset(&a);
        sl_an_map_record(&ps, s + n + 1, size - n - 1, &a, count, NULL, msg, sizeof msg);
    }
    sl_arena_deinit(&a);
    return 0;
}
