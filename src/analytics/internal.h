/* Internals of the SQL engine shared by its files: rows, compiled expressions, the evaluator, the
 * function library and time helpers. Not part of the layer's interface (analytics/engine.h). */
#ifndef SL_ANALYTICS_INTERNAL_H
#define SL_ANALYTICS_INTERNAL_H

#include "analytics/engine.h"
#include "analytics/sql.h"
#include "core/arena.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One row: ROWTIME and its values in one malloc'd block (strings copied behind the values).
 * Owned by whoever holds the pointer; freed with free(). */
typedef struct {
    int64_t rowtime;
    uint32_t n;
    sl_sql_value_t v[];
} an_row_t;

an_row_t *an_row_copy(int64_t rowtime, const sl_sql_value_t *values, size_t n);
/* The bytes an_row_copy allocates for these values (window state is budgeted in them). */
size_t an_row_bytes(const sl_sql_value_t *values, size_t n);

typedef enum {
    AN_X_CONST,
    AN_X_COL,         /* slot of the current row */
    AN_X_ROWTIME,     /* the current row's ROWTIME */
    AN_X_OUT_ROWTIME, /* the ROWTIME of the row being produced (group results) */
    AN_X_KEY,         /* group key `slot` */
    AN_X_AGG,         /* aggregate result `slot` */
    AN_X_UNARY,
    AN_X_BINARY,
    AN_X_BETWEEN,
    AN_X_IN,
    AN_X_LIKE,
    AN_X_CASE,
    AN_X_CAST,
    AN_X_FUNC,
    AN_X_FIELD, /* field `slot` of the ROW args[0] */
} an_xkind_t;

typedef struct an_expr an_expr_t;
struct an_expr {
    uint8_t kind; /* an_xkind_t */
    uint8_t op;   /* sl_sql_op_t */
    uint8_t unit;
    bool negated, symmetric, similar, has_operand, has_else;
    int fn;   /* function id (AN_F_*) for FUNC and aggregates */
    int slot; /* COL, KEY, AGG */
    sl_sql_type_t type;
    sl_sql_value_t value; /* CONST */
    an_expr_t **args;
    size_t nargs;
    const sl_sql_expr_t *src; /* for messages */
    void *cache;              /* per-node state: a compiled LIKE pattern */
};

/* Evaluation context of one row. */
typedef struct {
    const sl_sql_value_t *row;
    size_t nrow;
    int64_t rowtime;
    int64_t out_rowtime;
    const sl_sql_value_t *keys;
    const sl_sql_value_t *aggs;
    sl_arena_t *arena; /* temporaries of this row */
    int64_t now_ms;    /* the engine's clock (CURRENT_ROW_TIMESTAMP) */
    int64_t start_ms;  /* when the query started (CURRENT_TIMESTAMP) */
    const char *error; /* set when evaluation fails: the error_stream MESSAGE */
    char error_buf[256];
} an_ctx_t;

/* Evaluates `e`; returns 0, or -1 with ctx->error set (the row goes to error_stream). */
int an_eval(an_ctx_t *ctx, const an_expr_t *e, sl_sql_value_t *out);
/* TRUE (not FALSE or UNKNOWN) for WHERE and HAVING. */
int an_eval_cond(an_ctx_t *ctx, const an_expr_t *e, bool *out);

/* Converts `in` to `to` as CAST and assignment do; strings go into ctx's arena. */
int an_cast(an_ctx_t *ctx, const sl_sql_value_t *in, const sl_sql_type_t *to, sl_sql_value_t *out);

/* Three-way compare of two non-NULL values of comparable kinds. */
int an_compare(const sl_sql_value_t *a, const sl_sql_value_t *b);
/* Compare with NULLs first, for sorting keys. */
int an_compare_nulls_first(const sl_sql_value_t *a, const sl_sql_value_t *b);
uint64_t an_hash(const sl_sql_value_t *v, size_t n);
bool an_equal_keys(const sl_sql_value_t *a, const sl_sql_value_t *b, size_t n);

/* --- functions ----------------------------------------------------------------------------- */
typedef enum {
    AN_F_NONE = 0,
    /* aggregates (usable in GROUP BY, stagger and OVER) */
    AN_F_COUNT,
    AN_F_SUM,
    AN_F_AVG,
    AN_F_MIN,
    AN_F_MAX,
    AN_F_VAR_POP,
    AN_F_VAR_SAMP,
    AN_F_STDDEV_POP,
    AN_F_STDDEV_SAMP,
    AN_F_ANY,
    AN_F_EVERY,
    /* analytic only (OVER) */
    AN_F_FIRST_VALUE,
    AN_F_LAST_VALUE,
    AN_F_NTH_VALUE,
    AN_F_LAG,
    AN_F_EXP_AVG,
    AN_F_AGG_LAST, /* marker: ids below are aggregates */
    /* scalars */
    AN_F_ABS,
    AN_F_CEIL,
    AN_F_FLOOR,
    AN_F_EXP,
    AN_F_LN,
    AN_F_LOG10,
    AN_F_MOD,
    AN_F_POWER,
    AN_F_STEP,
    AN_F_CHAR_LENGTH,
    AN_F_UPPER,
    AN_F_LOWER,
    AN_F_INITCAP,
    AN_F_SUBSTRING,
    AN_F_POSITION,
    AN_F_OVERLAY,
    AN_F_TRIM,
    AN_F_COALESCE,
    AN_F_NULLIF,
    AN_F_EXTRACT,
    AN_F_TSDIFF,
    AN_F_UNIX_TIMESTAMP,
    AN_F_TO_TIMESTAMP,
    AN_F_CHAR_TO_DATE,
    AN_F_CHAR_TO_TIME,
    AN_F_CHAR_TO_TIMESTAMP,
    AN_F_DATE_TO_CHAR,
    AN_F_TIME_TO_CHAR,
    AN_F_TIMESTAMP_TO_CHAR,
    AN_F_CURRENT_DATE,
    AN_F_CURRENT_TIME,
    AN_F_CURRENT_TIMESTAMP,
    AN_F_CURRENT_ROW_TIMESTAMP,
    AN_F_MONOTONIC,
    AN_F_REGEX_REPLACE,
    AN_F_LOG_FIRST, /* marker: the log parsers follow; they return a ROW */
    AN_F_REGEX_LOG_PARSE,
    AN_F_FAST_REGEX_LOG_PARSE,
    AN_F_VARIABLE_COLUMN_LOG_PARSE,
    AN_F_FIXED_COLUMN_LOG_PARSE,
    AN_F_W3C_LOG_PARSE,
    AN_F_SYS_LOG_PARSE,
} an_fn_t;

/* The function id for an upper-case name, or AN_F_NONE. */
int an_fn_lookup(const char *name);
static inline bool an_fn_is_aggregate(int fn) {
    return fn > AN_F_NONE && fn < AN_F_AGG_LAST;
}
/* Checks argument types and sets e->type (plan-time data goes into `arena`); on failure writes
 * a message and returns -1. */
int an_fn_type(an_expr_t *e, sl_arena_t *arena, char *msg, size_t cap);

/* The log parsers (analytics/logparse.c): their ROW type from their literal arguments, and
 * their value for evaluated arguments `a`. REGEX_REPLACE on evaluated arguments. */
int an_log_type(an_expr_t *e, sl_arena_t *arena, char *msg, size_t cap);
int an_log_eval(an_ctx_t *ctx, const an_expr_t *e, const sl_sql_value_t *a, sl_sql_value_t *out);
int an_regex_replace(an_ctx_t *ctx, const sl_sql_value_t *a, sl_sql_value_t *out);

/* --- time ---------------------------------------------------------------------------------- */
int64_t an_days_from_civil(int64_t y, int m, int d);
void an_civil_from_days(int64_t days, int64_t *y, int *m, int *d);
/* Floor / ceiling of a time value to a calendar unit. */
int64_t an_floor_time(int64_t ms, int unit);
int64_t an_add_months(int64_t ms, int64_t months);
/* Parses "yyyy-mm-dd[ T]hh:mm:ss[.fff…]" (TIMESTAMP), "yyyy-mm-dd" (DATE), "hh:mm:ss[.f]" (TIME).
 */
bool an_parse_time(const char *s, size_t len, int kind, int64_t *out);
/* Formats a time value; returns the length. */
size_t an_format_time(int64_t ms, int kind, char *buf, size_t cap);
/* Java SimpleDateFormat patterns: format (returns length, 0 on a bad pattern) and parse. */
size_t an_date_format(const char *pat, size_t patlen, int64_t ms, char *buf, size_t cap);
bool an_date_parse(const char *pat, size_t patlen, const char *s, size_t len, int64_t *out);

#endif
