/* Fuzz target for application code: the bytes are parsed as a script, as one expression and as
 * a type name (analytics/parse.c), planned against an engine with one input stream, and a few
 * rows are run through whatever loaded (analytics/plan.c, engine.c). Nothing may crash, hang or
 * read out of bounds; a failed parse or plan must leave a message. */
#include "analytics/engine.h"
#include "analytics/sql.h"
#include "core/arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *s = (const char *)data;
    sl_arena_t a;
    sl_arena_init(&a, 4096);
    sl_sql_script_t script;
    sl_sql_error_t err;
    int rc = sl_sql_parse(s, size, &a, &script, &err);
    if (rc == -2 && err.message[0] == 0) abort();
    if (rc == 0) {
        for (size_t i = 0; i < script.nstmts; i++)
            if (!script.stmts[i].name && !script.stmts[i].target) abort();
    }
    sl_arena_reset(&a);
    sl_sql_expr_t *x;
    rc = sl_sql_parse_expr(s, size, &a, &x, &err);
    if (rc == 0 && !x) abort();
    if (rc == -2 && err.message[0] == 0) abort();
    sl_sql_type_t t;
    if (sl_sql_parse_type(s, size, &t) == 0) {
        char buf[64];
        if (sl_sql_type_format(&t, buf, sizeof buf) == 0) abort();
    }
    sl_arena_deinit(&a);

    sl_an_engine_t *e;
    if (sl_an_engine_create(NULL, 0, &e)) abort();
    static const sl_sql_column_t cols[] = {
        {"TICKER_SYMBOL", {.kind = SL_SQL_VARCHAR, .len = 4}},
        {"PRICE", {.kind = SL_SQL_DOUBLE, .len = 0}},
        {"N", {.kind = SL_SQL_INTEGER, .len = 0}},
        {"EVENT_TIME", {.kind = SL_SQL_TIMESTAMP, .len = 0}},
    };
    if (sl_an_engine_add_source(e, "SOURCE_SQL_STREAM_001", cols, 4, &err)) abort();
    if (sl_an_engine_add_source(e, "SOURCE_SQL_STREAM_002", cols, 4, &err)) abort();
    sl_sql_value_t table[4] = {
        {.kind = SL_SQL_VARCHAR, .u.s = {"AMZN", 4}},
        {.kind = SL_SQL_VARCHAR, .u.s = {"Amazon", 6}},
        {.kind = SL_SQL_VARCHAR, .u.s = {"X", 1}},
        {.kind = SL_SQL_VARCHAR, .null = true},
    };
    static const sl_sql_column_t tcols[] = {
        {"Ticker", {.kind = SL_SQL_VARCHAR, .len = 4}},
        {"Company", {.kind = SL_SQL_VARCHAR, .len = 16}},
    };
    if (sl_an_engine_set_table(e, "CompanyName", tcols, 2, table, 2, &err)) abort();
    rc = sl_an_engine_load(e, s, size, &err);
    if (rc == -2 && err.message[0] == 0) abort();
    if (rc == 0) {
        for (int i = 0; i < 8; i++) {
            sl_sql_value_t v[4] = {
                {.kind = SL_SQL_VARCHAR, .u.s = {i % 2 ? "AMZN" : "X", i % 2 ? 4 : 1}},
                {.kind = SL_SQL_DOUBLE, .u.d = i * 1.5 - 3},
                {.kind = SL_SQL_INTEGER, .u.i = i - 2, .null = i == 5},
                {.kind = SL_SQL_TIMESTAMP, .u.i = i * 7000},
            };
            sl_an_engine_insert(e, i % 3 ? "SOURCE_SQL_STREAM_001" : "SOURCE_SQL_STREAM_002",
                                i * 20000, v, 4);
        }
        sl_an_engine_advance(e, 3600000);
    }
    sl_an_engine_destroy(e);
    return 0;
}
