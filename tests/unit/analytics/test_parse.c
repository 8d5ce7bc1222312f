/* Unit tests for the dialect's parser (analytics/parse.c): every statement form of the spec's
 * grammar and the documentation's example applications parse into the expected tree; invalid SQL
 * gets the position and the message a CodeValidationException carries. */
#include "analytics/sql.h"
#include "core/arena.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>

static sl_arena_t arena;

static sl_sql_script_t parse_ok(const char *sql) {
    sl_sql_script_t s;
    sl_sql_error_t err;
    int rc = sl_sql_parse(sql, strlen(sql), &arena, &s, &err);
    if (rc != 0) fprintf(stderr, "parse failed: %s\n  in: %s\n", err.message, sql);
    CHECK_EQ_INT(rc, 0);
    if (rc != 0) memset(&s, 0, sizeof s);
    return s;
}

static void parse_err(const char *sql, const char *message) {
    sl_sql_script_t s;
    sl_sql_error_t err;
    int rc = sl_sql_parse(sql, strlen(sql), &arena, &s, &err);
    CHECK_EQ_INT(rc, -2);
    CHECK_EQ_STR(err.message, message);
}

static void test_statements(void) {
    sl_sql_script_t s = parse_ok(
        "CREATE OR REPLACE STREAM \"DESTINATION_SQL_STREAM\" (ticker_symbol VARCHAR(4), change "
        "DOUBLE, price DOUBLE);\n"
        "-- a pump\n"
        "CREATE OR REPLACE PUMP \"STREAM_PUMP\" AS INSERT INTO \"DESTINATION_SQL_STREAM\"\n"
        "  SELECT STREAM ticker_symbol, change, price FROM \"SOURCE_SQL_STREAM_001\";");
    CHECK_EQ_INT(s.nstmts, 2);
    if (s.nstmts != 2) return;
    CHECK_EQ_INT(s.stmts[0].kind, SL_SQL_STMT_CREATE_STREAM);
    CHECK(s.stmts[0].or_replace);
    CHECK_EQ_STR(s.stmts[0].name, "DESTINATION_SQL_STREAM");
    CHECK_EQ_INT(s.stmts[0].ncolumns, 3);
    CHECK_EQ_STR(s.stmts[0].columns[0].name, "TICKER_SYMBOL"); /* unquoted: folded */
    CHECK_EQ_INT(s.stmts[0].columns[0].type.kind, SL_SQL_VARCHAR);
    CHECK_EQ_INT(s.stmts[0].columns[0].type.len, 4);
    CHECK_EQ_INT(s.stmts[0].columns[1].type.kind, SL_SQL_DOUBLE);
    const sl_sql_stmt_t *pump = &s.stmts[1];
    CHECK_EQ_INT(pump->kind, SL_SQL_STMT_CREATE_PUMP);
    CHECK_EQ_STR(pump->name, "STREAM_PUMP");
    CHECK_EQ_STR(pump->target, "DESTINATION_SQL_STREAM");
    const sl_sql_select_t *sel = pump->query->selects[0];
    CHECK(sel->stream);
    CHECK_EQ_INT(sel->nitems, 3);
    CHECK_EQ_STR(sel->items[1].expr->parts[0], "CHANGE");
    CHECK_EQ_STR(sel->from[0].name, "SOURCE_SQL_STREAM_001");

    /* quoted identifiers keep their case; "" escapes a quote; types and NOT NULL */
    s = parse_ok("CREATE STREAM \"my\"\"s\" (\"heartRate\" INTEGER NOT NULL, d DECIMAL(5,2), "
                 "c CHAR, t TIMESTAMP, b VARBINARY(8), r REAL, f FLOAT, dp DOUBLE PRECISION) "
                 "DESCRIPTION 'demo'");
    CHECK_EQ_STR(s.stmts[0].name, "my\"s");
    CHECK_EQ_STR(s.stmts[0].columns[0].name, "heartRate");
    CHECK(s.stmts[0].columns[0].type.not_null);
    CHECK_EQ_INT(s.stmts[0].columns[1].type.len, 5);
    CHECK_EQ_INT(s.stmts[0].columns[1].type.scale, 2);
    CHECK_EQ_INT(s.stmts[0].columns[2].type.len, 1);
    CHECK_EQ_INT(s.stmts[0].columns[6].type.kind, SL_SQL_DOUBLE);
    CHECK_EQ_INT(s.stmts[0].columns[7].type.kind, SL_SQL_DOUBLE);
    CHECK_EQ_STR(s.stmts[0].description, "demo");

    /* bare INSERT with a column list; comments of both kinds */
    s = parse_ok("/* c */ INSERT INTO out (a, \"b\") SELECT STREAM x, y FROM s -- end");
    CHECK_EQ_INT(s.stmts[0].kind, SL_SQL_STMT_INSERT);
    CHECK_EQ_INT(s.stmts[0].ntarget_cols, 2);
    CHECK_EQ_STR(s.stmts[0].target_cols[1], "b");
}

static void test_windows_and_groups(void) {
    sl_sql_script_t s = parse_ok(
        "INSERT INTO o SELECT STREAM ticker_symbol, MIN(price), MAX(price) FROM "
        "\"SOURCE_SQL_STREAM_001\" GROUP BY ticker_symbol, STEP(\"SOURCE_SQL_STREAM_001\".ROWTIME "
        "BY INTERVAL '60' SECOND)");
    const sl_sql_select_t *sel = s.nstmts ? s.stmts[0].query->selects[0] : NULL;
    if (sel) {
        CHECK_EQ_INT(sel->ngroup, 2);
        const sl_sql_expr_t *step = sel->group[1];
        CHECK_EQ_INT(step->kind, SL_SQL_E_FUNC);
        CHECK_EQ_STR(step->parts[0], "STEP");
        CHECK_EQ_INT(step->nargs, 2);
        CHECK_EQ_INT(step->args[0]->nparts, 2);
        CHECK_EQ_STR(step->args[0]->parts[0], "SOURCE_SQL_STREAM_001");
        CHECK_EQ_STR(step->args[0]->parts[1], "ROWTIME");
        CHECK_EQ_INT(step->args[1]->value.kind, SL_SQL_INTERVAL_DT);
        CHECK_EQ_INT(step->args[1]->value.u.i, 60000);
    }
    s = parse_ok("INSERT INTO o SELECT STREAM FLOOR(WEATHERSTREAM.ROWTIME TO DAY) AS FLOOR_DAY, "
                 "MIN(TEMP) AS MIN_TEMP FROM WEATHERSTREAM GROUP BY FLOOR(WEATHERSTREAM.ROWTIME TO "
                 "DAY)");
    sel = s.nstmts ? s.stmts[0].query->selects[0] : NULL;
    if (sel) {
        CHECK_EQ_INT(sel->items[0].expr->unit, SL_SQL_UNIT_DAY);
        CHECK_EQ_STR(sel->items[0].alias, "FLOOR_DAY");
    }
    s = parse_ok("INSERT INTO o SELECT STREAM ticker_symbol, AVG(price) OVER W1 AS avg_price, "
                 "COUNT(*) OVER (ROWS 10 PRECEDING) c, MAX(x) OVER (PARTITION BY a ROWS BETWEEN 2 "
                 "PRECEDING AND CURRENT ROW) m, LAG(x, 2) IGNORE NULLS OVER W1 l, "
                 "NTH_VALUE(x, 2) FROM LAST OVER W1 n FROM \"SOURCE_SQL_STREAM_001\" "
                 "WINDOW W1 AS (PARTITION BY ticker_symbol RANGE INTERVAL '1' MINUTE PRECEDING)");
    sel = s.nstmts ? s.stmts[0].query->selects[0] : NULL;
    if (sel) {
        CHECK_EQ_STR(sel->items[1].expr->over_name, "W1");
        CHECK(sel->items[2].expr->count_star);
        CHECK(sel->items[2].expr->over->rows);
        CHECK_EQ_INT(sel->items[2].expr->over->rows_n, 10);
        CHECK_EQ_INT(sel->items[3].expr->over->rows_n, 2);
        CHECK_EQ_INT(sel->items[3].expr->over->npartition, 1);
        CHECK(sel->items[4].expr->ignore_nulls);
        CHECK(sel->items[5].expr->from_last);
        CHECK_EQ_INT(sel->nwindows, 1);
        CHECK_EQ_STR(sel->windows[0]->name, "W1");
        CHECK_EQ_INT(sel->windows[0]->range_ms, 60000);
        CHECK(!sel->windows[0]->rows);
    }
    s = parse_ok("INSERT INTO o SELECT STREAM TICKER_SYMBOL, FLOOR(EVENT_TIME TO MINUTE), "
                 "COUNT(TICKER_SYMBOL) AS ticker_count FROM \"SOURCE_SQL_STREAM_001\" WINDOWED BY "
                 "STAGGER (PARTITION BY FLOOR(EVENT_TIME TO MINUTE), TICKER_SYMBOL RANGE INTERVAL "
                 "'1' MINUTE)");
    sel = s.nstmts ? s.stmts[0].query->selects[0] : NULL;
    if (sel) {
        CHECK(sel->stagger);
        CHECK_EQ_INT(sel->stagger_ms, 60000);
        CHECK_EQ_INT(sel->ngroup, 2);
    }
    /* joins, subqueries with column aliases, table functions over a cursor, UNION ALL, ORDER BY */
    s = parse_ok("INSERT INTO o SELECT STREAM ROWTIME, o.orderId, t.amount FROM OrderStream AS o "
                 "JOIN TradeStream OVER (RANGE INTERVAL '1' MINUTE PRECEDING) AS t ON o.orderId = "
                 "t.orderId");
    sel = s.nstmts ? s.stmts[0].query->selects[0] : NULL;
    if (sel) {
        CHECK_EQ_INT(sel->nfrom, 2);
        CHECK_EQ_INT(sel->from[1].join, SL_SQL_JOIN_INNER);
        CHECK_EQ_STR(sel->from[1].alias, "T");
        CHECK_EQ_INT(sel->from[1].over->range_ms, 60000);
        CHECK(sel->from[1].on != NULL);
    }
    s = parse_ok("INSERT INTO o SELECT STREAM ticker_symbol, \"c\".\"Company\" FROM "
                 "\"SOURCE_SQL_STREAM_001\" LEFT JOIN \"CompanyName\" as \"c\" ON "
                 "\"SOURCE_SQL_STREAM_001\".ticker_symbol = \"c\".\"Ticker\"");
    sel = s.nstmts ? s.stmts[0].query->selects[0] : NULL;
    if (sel) CHECK_EQ_INT(sel->from[1].join, SL_SQL_JOIN_LEFT);
    s = parse_ok("INSERT INTO o SELECT STREAM l.r.COLUMN1, T.REC.COLUMN2 FROM (SELECT STREAM "
                 "REGEX_LOG_PARSE(LOGENTRY, '(\\w.+) (\\d.+)') FROM s) AS l(r), t AS T");
    sel = s.nstmts ? s.stmts[0].query->selects[0] : NULL;
    if (sel) {
        CHECK_EQ_INT(sel->items[0].expr->nparts, 3);
        CHECK_EQ_STR(sel->items[0].expr->parts[2], "COLUMN1");
        CHECK_EQ_INT(sel->from[0].kind, SL_SQL_FROM_QUERY);
        CHECK_EQ_INT(sel->from[0].ncol_aliases, 1);
        CHECK_EQ_INT(sel->from[1].join, SL_SQL_JOIN_CROSS);
    }
    s = parse_ok("INSERT INTO o SELECT STREAM * FROM TABLE(RANDOM_CUT_FOREST(CURSOR(SELECT STREAM "
                 "* FROM \"SOURCE_SQL_STREAM_001\"), 100, 256, 100000, 1))");
    sel = s.nstmts ? s.stmts[0].query->selects[0] : NULL;
    if (sel) {
        CHECK_EQ_INT(sel->from[0].kind, SL_SQL_FROM_TABLE_FN);
        CHECK_EQ_STR(sel->from[0].fn->parts[0], "RANDOM_CUT_FOREST");
        CHECK_EQ_INT(sel->from[0].fn->args[0]->kind, SL_SQL_E_CURSOR);
        CHECK_EQ_INT(sel->items[0].expr->kind, SL_SQL_E_STAR);
    }
    s = parse_ok("INSERT INTO o SELECT STREAM a FROM s1 UNION ALL SELECT STREAM b FROM s2 "
                 "ORDER BY FLOOR(s1.ROWTIME TO SECOND), a DESC");
    if (s.nstmts) {
        CHECK_EQ_INT(s.stmts[0].query->nselects, 2);
        CHECK_EQ_INT(s.stmts[0].query->norder, 2);
        CHECK(s.stmts[0].query->order[1].desc);
        CHECK_EQ_INT(s.stmts[0].query->within_ms, -1);
    }
    s = parse_ok("INSERT INTO o SELECT STREAM t AS ROWTIME, x FROM s ORDER BY t WITHIN INTERVAL "
                 "'2' SECOND");
    if (s.nstmts) CHECK_EQ_INT(s.stmts[0].query->within_ms, 2000);
    s = parse_ok("INSERT INTO o SELECT STREAM ticker_symbol, change, trigger_count FROM (SELECT "
                 "STREAM ticker_symbol, change, COUNT(*) OVER W1 as trigger_count FROM "
                 "\"CHANGE_STREAM\" WINDOW W1 AS (PARTITION BY ticker_symbol RANGE INTERVAL '1' "
                 "MINUTE PRECEDING)) WHERE trigger_count >= 1");
    sel = s.nstmts ? s.stmts[0].query->selects[0] : NULL;
    if (sel) {
        CHECK(sel->from[0].alias == NULL);
        CHECK(sel->where != NULL);
    }
}

static void test_expressions(void) {
    sl_sql_expr_t *e;
    sl_sql_error_t err;
#define EXPR(text) (sl_sql_parse_expr(text, strlen(text), &arena, &e, &err) == 0 ? e : NULL)
    /* precedence: AND binds tighter than OR, * than + */
    e = EXPR("a OR b AND NOT c");
    CHECK(e && e->op == SL_SQL_OP_OR && e->args[1]->op == SL_SQL_OP_AND &&
          e->args[1]->args[1]->op == SL_SQL_OP_NOT);
    e = EXPR("1 + 2 * 3 - 4");
    CHECK(e && e->op == SL_SQL_OP_SUB && e->args[0]->op == SL_SQL_OP_ADD &&
          e->args[0]->args[1]->op == SL_SQL_OP_MUL);
    e = EXPR("'it''s' || U&'\\0009x' || U&'!0041' UESCAPE '!'");
    CHECK(e && e->args[0]->args[0]->value.u.s.len == 4 &&
          memcmp(e->args[0]->args[0]->value.u.s.ptr, "it's", 4) == 0);
    CHECK(e && e->args[0]->args[1]->value.u.s.len == 2 &&
          e->args[0]->args[1]->value.u.s.ptr[0] == '\t');
    CHECK(e && e->args[1]->value.u.s.ptr[0] == 'A');
    e = EXPR("X'3F67'");
    CHECK(e && e->value.kind == SL_SQL_VARBINARY && e->value.u.s.len == 2 &&
          (unsigned char)e->value.u.s.ptr[0] == 0x3F);
    e = EXPR("INTERVAL '1 02:03:04.5' DAY TO SECOND");
    CHECK(e && e->value.u.i == 86400000 + 2 * 3600000 + 3 * 60000 + 4500);
    e = EXPR("INTERVAL '2-6' YEAR TO MONTH");
    CHECK(e && e->value.kind == SL_SQL_INTERVAL_YM && e->value.u.i == 30);
    e = EXPR("INTERVAL -'5' MINUTE");
    CHECK(e && e->value.u.i == -300000);
    e = EXPR("TIMESTAMP '2004-09-30 13:48:23'");
    CHECK(e && e->kind == SL_SQL_E_CAST && e->type.kind == SL_SQL_TIMESTAMP);
    e = EXPR("CASE WHEN a > 1 THEN 'x' WHEN a IS NULL THEN 'n' ELSE 'y' END");
    CHECK(e && e->kind == SL_SQL_E_CASE && e->nargs == 5 && e->has_else && !e->has_operand);
    e = EXPR("CASE a WHEN 1 THEN 2 END");
    CHECK(e && e->has_operand && e->nargs == 3);
    e = EXPR("CAST(x AS DECIMAL(8, 3))");
    CHECK(e && e->type.kind == SL_SQL_DECIMAL && e->type.scale == 3);
    e = EXPR("a NOT BETWEEN SYMMETRIC 1 AND 2");
    CHECK(e && e->kind == SL_SQL_E_BETWEEN && e->negated && e->symmetric);
    e = EXPR("a NOT IN (1, 2, 3)");
    CHECK(e && e->kind == SL_SQL_E_IN && e->negated && e->nargs == 4);
    e = EXPR("sector SIMILAR TO '%TECH%'");
    CHECK(e && e->kind == SL_SQL_E_LIKE && e->similar);
    e = EXPR("a NOT LIKE 'x!%' ESCAPE '!'");
    CHECK(e && e->negated && e->nargs == 3);
    e = EXPR("a IS NOT DISTINCT FROM b");
    CHECK(e && e->op == SL_SQL_OP_NOT_DISTINCT_FROM);
    e = EXPR("x IS NOT TRUE");
    CHECK(e && e->op == SL_SQL_OP_IS_NOT_TRUE);
    e = EXPR("SUBSTRING(s FROM 2 FOR 3)");
    CHECK(e && e->nargs == 3);
    e = EXPR("SUBSTRING(\"referrer\", 12, (POSITION('.com' IN \"referrer\") - 4))");
    CHECK(e && e->nargs == 3 && e->args[2]->args[0]->nargs == 2);
    e = EXPR("OVERLAY('abc' PLACING 'x' FROM 2 FOR 1)");
    CHECK(e && e->nargs == 4);
    e = EXPR("TRIM(LEADING 'x' FROM s)");
    CHECK(e && e->unit == SL_SQL_TRIM_LEADING && e->nargs == 2);
    e = EXPR("TRIM(s)");
    CHECK(e && e->unit == SL_SQL_TRIM_BOTH && e->nargs == 1);
    e = EXPR("EXTRACT(SECOND FROM EVENT_TIME)");
    CHECK(e && e->unit == SL_SQL_UNIT_SECOND);
    e = EXPR("CURRENT_TIMESTAMP");
    CHECK(e && e->kind == SL_SQL_E_FUNC && !e->parens);
    e = EXPR("COUNT(DISTINCT x)");
    CHECK(e && e->distinct);
    e = EXPR("-9223372036854775807 - 1");
    CHECK(e && e->args[0]->value.u.i == -9223372036854775807LL);
    e = EXPR("1.5e3");
    CHECK(e && e->value.kind == SL_SQL_DOUBLE && e->value.u.d == 1500.0);
    e = EXPR("12.50");
    CHECK(e && e->value.kind == SL_SQL_DECIMAL);
#undef EXPR
}

static void test_errors(void) {
    parse_err("CREATE STREAM s (a INTEGER", "Encountered \"<EOF>\" at line 1, column 27.");
    parse_err("INSERT INTO o SELECT STREAM a FROM s WHERE", "Encountered \"<EOF>\" at line 1, "
                                                            "column 43.");
    parse_err("INSERT INTO o\nSELECT STREAM FROM s", "Encountered \"FROM\" at line 2, column 15.");
    parse_err("CREATE STREAM s (a FOO)", "Unknown datatype name 'FOO'");
    parse_err("CREATE TABLE t (a INT)", "Encountered \"TABLE\" at line 1, column 8.");
    parse_err("SELECT STREAM a FROM s", "Encountered \"SELECT\" at line 1, column 1.");
    parse_err("INSERT INTO o SELECT STREAM 'abc FROM s",
              "Lexical error at line 1, column 29.  Encountered: <EOF> after : \"\"");
    parse_err("INSERT INTO o SELECT STREAM a # b FROM s",
              "Lexical error at line 1, column 31.  Encountered: \"#\" (35), after : \"\"");
    parse_err("INSERT INTO o SELECT STREAM INTERVAL '1:2' MINUTE FROM s",
              "Illegal interval literal format '1:2' for INTERVAL MINUTE");
    parse_err("INSERT INTO o SELECT STREAM X'123' FROM s",
              "Binary literal string must contain an even number of hexits");
    parse_err("CREATE STREAM s (a VARCHAR(70000))",
              "Precision 70000 out of range at line 1, column 28.");
    parse_err("INSERT INTO o SELECT STREAM a FROM s WINDOW w AS (ROWS UNBOUNDED PRECEDING)",
              "UNBOUNDED PRECEDING is not allowed in a streaming window");
    parse_err("CREATE STREAM \"\" (a INT)", "Invalid identifier length at line 1, column 15.");
    /* nesting is bounded, not a stack overflow */
    size_t n = 5000;
    char *deep = malloc(n * 2 + 64);
    size_t k = (size_t)snprintf(deep, 64, "INSERT INTO o SELECT STREAM ");
    for (size_t i = 0; i < n; i++)
        deep[k++] = '(';
    deep[k++] = '1';
    for (size_t i = 0; i < n; i++)
        deep[k++] = ')';
    deep[k] = 0;
    sl_sql_script_t s;
    sl_sql_error_t err;
    CHECK_EQ_INT(sl_sql_parse(deep, k, &arena, &s, &err), -2);
    CHECK(strstr(err.message, "too deeply nested") != NULL);
    free(deep);
}

static void test_types(void) {
    sl_sql_type_t t;
    CHECK_EQ_INT(sl_sql_parse_type("VARCHAR(4)", 10, &t), 0);
    CHECK_EQ_INT(t.kind, SL_SQL_VARCHAR);
    char buf[64];
    sl_sql_type_format(&t, buf, sizeof buf);
    CHECK_EQ_STR(buf, "VARCHAR(4)");
    CHECK_EQ_INT(sl_sql_parse_type("decimal(5,2)", 12, &t), 0);
    sl_sql_type_format(&t, buf, sizeof buf);
    CHECK_EQ_STR(buf, "DECIMAL(5,2)");
    CHECK_EQ_INT(sl_sql_parse_type("TINYINT", 7, &t), 0);
    CHECK_EQ_INT(t.kind, SL_SQL_TINYINT);
    CHECK(sl_sql_parse_type("VARCHAR(", 8, &t) != 0);
    CHECK(sl_sql_parse_type("INTEGER x", 9, &t) != 0);
}

int main(void) {
    sl_arena_init(&arena, 16384);
    test_statements();
    test_windows_and_groups();
    test_expressions();
    test_errors();
    test_types();
    sl_arena_deinit(&arena);
    TEST_MAIN_END();
}
