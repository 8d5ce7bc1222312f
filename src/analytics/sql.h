/* The streaming-SQL dialect of Kinesis Data Analytics (SQL applications): types, values, the
 * syntax tree and the parser. The parser turns application code (a script of CREATE STREAM,
 * CREATE PUMP and INSERT statements) into a tree allocated in the caller's arena; the planner
 * (analytics/engine.h) checks it against the in-application streams and compiles it to
 * operators. Transport-free: no JSON, no HTTP; it depends on core only.
 *
 * Identifiers: unquoted ones are folded to upper case, "quoted" ones keep their exact text.
 * Error texts follow the Calcite/Farrago lineage the dialect comes from ("Encountered ... at line
 * L, column C.", "From line L, column C to line L, column C: ..."); docs/analytics.md lists them.
 */
#ifndef SL_ANALYTICS_SQL_H
#define SL_ANALYTICS_SQL_H

#include "core/arena.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* SQL types. The order matters: the numeric kinds are contiguous and ordered by width. */
typedef enum {
    SL_SQL_NULL = 0, /* the type of an untyped NULL literal */
    SL_SQL_BOOLEAN,
    SL_SQL_TINYINT,
    SL_SQL_SMALLINT,
    SL_SQL_INTEGER,
    SL_SQL_BIGINT,
    SL_SQL_DECIMAL,
    SL_SQL_REAL,
    SL_SQL_DOUBLE,
    SL_SQL_CHAR,
    SL_SQL_VARCHAR,
    SL_SQL_BINARY,
    SL_SQL_VARBINARY,
    SL_SQL_DATE,
    SL_SQL_TIME,
    SL_SQL_TIMESTAMP,
    SL_SQL_INTERVAL_DT, /* day-time interval, milliseconds; expressions only */
    SL_SQL_INTERVAL_YM, /* year-month interval, months; expressions only */
    SL_SQL_ROW,         /* the result of a log parser: fields named in the type */
    SL_SQL_KIND_COUNT,
} sl_sql_kind_t;

typedef struct sl_sql_column sl_sql_column_t;

typedef struct {
    uint8_t kind;  /* sl_sql_kind_t */
    bool not_null; /* declared NOT NULL */
    int32_t len;   /* CHAR/VARCHAR/BINARY length, DECIMAL precision; ROW: number of fields */
    int32_t scale; /* DECIMAL scale */
    const sl_sql_column_t *fields; /* ROW: the fields (in the plan's arena) */
} sl_sql_type_t;

/* A value. Strings and binaries point into storage owned by whoever holds the value (a row, an
 * arena); they are not NUL-terminated. DECIMAL is held as a double rounded to its scale (see
 * docs/analytics.md). Times are milliseconds: TIMESTAMP since the epoch, DATE at midnight UTC,
 * TIME since midnight. */
typedef struct sl_sql_value sl_sql_value_t;
struct sl_sql_value {
    uint8_t kind; /* sl_sql_kind_t */
    bool null;
    union {
        bool b;
        int64_t i; /* integers; DATE/TIME/TIMESTAMP and INTERVAL_DT in ms; INTERVAL_YM months */
        double d;  /* REAL, DOUBLE, DECIMAL */
        struct {
            const char *ptr;
            uint32_t len;
        } s; /* CHAR, VARCHAR, BINARY, VARBINARY */
        struct {
            const sl_sql_value_t *v;
            uint32_t n;
        } row; /* ROW */
    } u;
};

typedef enum {
    SL_SQL_UNIT_NONE = 0,
    SL_SQL_UNIT_YEAR,
    SL_SQL_UNIT_MONTH,
    SL_SQL_UNIT_DAY,
    SL_SQL_UNIT_HOUR,
    SL_SQL_UNIT_MINUTE,
    SL_SQL_UNIT_SECOND,
    SL_SQL_UNIT_MILLISECOND,
} sl_sql_unit_t;

typedef enum {
    SL_SQL_E_LIT,     /* value */
    SL_SQL_E_COL,     /* parts[0..nparts): a, s.a, t.r.COLUMN1 */
    SL_SQL_E_STAR,    /* '*' or alias.'*' (parts holds the alias); select lists only */
    SL_SQL_E_UNARY,   /* op args[0] */
    SL_SQL_E_BINARY,  /* args[0] op args[1] */
    SL_SQL_E_BETWEEN, /* args[0] BETWEEN args[1] AND args[2]; negated, symmetric */
    SL_SQL_E_IN,      /* args[0] IN (args[1..]); negated */
    SL_SQL_E_LIKE,    /* args[0] LIKE|SIMILAR TO args[1] [ESCAPE args[2]]; negated, similar */
    SL_SQL_E_CASE,    /* [operand] WHEN args[2i+o] THEN args[2i+o+1] ... ELSE */
    SL_SQL_E_CAST,    /* CAST(args[0] AS type) */
    SL_SQL_E_FUNC,    /* name(args); also the special forms (FLOOR .. TO, STEP .. BY, ...) */
    SL_SQL_E_CURSOR,  /* CURSOR(query): table-function arguments only */
    SL_SQL_E_FIELD,   /* (args[0]).parts[0]: a field of a bracketed ROW-valued expression */
} sl_sql_expr_kind_t;

typedef enum {
    SL_SQL_OP_NEG = 1,
    SL_SQL_OP_PLUS,
    SL_SQL_OP_NOT,
    SL_SQL_OP_IS_NULL,
    SL_SQL_OP_IS_NOT_NULL,
    SL_SQL_OP_IS_TRUE,
    SL_SQL_OP_IS_NOT_TRUE,
    SL_SQL_OP_IS_FALSE,
    SL_SQL_OP_IS_NOT_FALSE,
    SL_SQL_OP_IS_UNKNOWN,
    SL_SQL_OP_IS_NOT_UNKNOWN,
    SL_SQL_OP_ADD,
    SL_SQL_OP_SUB,
    SL_SQL_OP_MUL,
    SL_SQL_OP_DIV,
    SL_SQL_OP_CONCAT,
    SL_SQL_OP_EQ,
    SL_SQL_OP_NE,
    SL_SQL_OP_LT,
    SL_SQL_OP_LE,
    SL_SQL_OP_GT,
    SL_SQL_OP_GE,
    SL_SQL_OP_AND,
    SL_SQL_OP_OR,
    SL_SQL_OP_DISTINCT_FROM,     /* IS DISTINCT FROM */
    SL_SQL_OP_NOT_DISTINCT_FROM, /* IS NOT DISTINCT FROM */
} sl_sql_op_t;

/* TRIM modes, in sl_sql_expr_t.unit for TRIM. */
enum { SL_SQL_TRIM_BOTH = 0, SL_SQL_TRIM_LEADING, SL_SQL_TRIM_TRAILING };

typedef struct sl_sql_expr sl_sql_expr_t;
typedef struct sl_sql_query sl_sql_query_t;

/* Where a construct is in the text, for error messages: 1-based, end inclusive. */
typedef struct {
    int line, col, end_line, end_col;
} sl_sql_pos_t;

/* A window: named in WINDOW w AS (...), inline in OVER (...), or the range of a stagger. */
typedef struct {
    const char *name; /* WINDOW name, or NULL */
    sl_sql_expr_t **partition;
    size_t npartition;
    sl_sql_expr_t **order;
    size_t norder;
    bool framed;      /* a ROWS or RANGE frame was given */
    bool rows;        /* ROWS (else RANGE) */
    bool current_row; /* ... CURRENT ROW (no PRECEDING bound) */
    int64_t rows_n;   /* ROWS n PRECEDING */
    int64_t range_ms; /* RANGE INTERVAL ... PRECEDING */
    sl_sql_pos_t pos;
} sl_sql_window_t;

struct sl_sql_expr {
    uint8_t kind; /* sl_sql_expr_kind_t */
    uint8_t op;   /* sl_sql_op_t for UNARY/BINARY */
    uint8_t unit; /* sl_sql_unit_t: FLOOR/CEIL .. TO, EXTRACT; TRIM mode */
    bool negated;
    bool symmetric;       /* BETWEEN SYMMETRIC */
    bool similar;         /* SIMILAR TO (else LIKE) */
    bool distinct;        /* aggregate over DISTINCT values */
    bool count_star;      /* COUNT(*) */
    bool has_operand;     /* CASE x WHEN ... */
    bool has_else;        /* CASE ... ELSE */
    bool ignore_nulls;    /* IGNORE NULLS */
    bool from_last;       /* NTH_VALUE ... FROM LAST */
    bool parens;          /* written with parentheses: FUNC() vs CURRENT_DATE */
    sl_sql_value_t value; /* LIT */
    const char *parts[3]; /* COL, STAR; FUNC: parts[0] = the upper-case name */
    uint8_t nparts;
    sl_sql_expr_t **args;
    size_t nargs;
    sl_sql_type_t type;    /* CAST target */
    const char *over_name; /* OVER w */
    sl_sql_window_t *over; /* OVER (...) */
    sl_sql_query_t *query; /* CURSOR */
    sl_sql_pos_t pos;
};

typedef struct {
    sl_sql_expr_t *expr;
    const char *alias; /* NULL when none */
} sl_sql_item_t;

typedef enum {
    SL_SQL_FROM_STREAM,
    SL_SQL_FROM_QUERY,
    SL_SQL_FROM_TABLE_FN,
} sl_sql_from_kind_t;

typedef enum {
    SL_SQL_JOIN_NONE = 0, /* the first FROM item */
    SL_SQL_JOIN_INNER,
    SL_SQL_JOIN_LEFT,
    SL_SQL_JOIN_RIGHT,
    SL_SQL_JOIN_FULL,
    SL_SQL_JOIN_CROSS,
} sl_sql_join_t;

typedef struct {
    uint8_t kind;      /* sl_sql_from_kind_t */
    uint8_t join;      /* sl_sql_join_t: how this item joins the ones before it */
    const char *name;  /* STREAM: the stream's name */
    const char *alias; /* NULL when none */
    const char **col_aliases;
    size_t ncol_aliases;
    const char *over_name; /* STREAM OVER w */
    sl_sql_window_t *over; /* STREAM OVER (...) */
    sl_sql_query_t *query; /* QUERY */
    sl_sql_expr_t *fn;     /* TABLE_FN: the call inside TABLE(...) */
    sl_sql_expr_t *on;     /* JOIN ... ON */
    sl_sql_pos_t pos;
} sl_sql_from_t;

typedef struct {
    bool stream; /* SELECT STREAM */
    bool distinct;
    sl_sql_item_t *items;
    size_t nitems;
    sl_sql_from_t *from;
    size_t nfrom;
    sl_sql_expr_t *where;
    sl_sql_expr_t **group;
    size_t ngroup;
    bool stagger; /* WINDOWED BY STAGGER(...): partition keys in group */
    int64_t stagger_ms;
    sl_sql_expr_t *having;
    sl_sql_window_t **windows;
    size_t nwindows;
    sl_sql_pos_t pos;
} sl_sql_select_t;

typedef struct {
    sl_sql_expr_t *expr;
    bool desc;
} sl_sql_order_t;

struct sl_sql_query {
    sl_sql_select_t **selects; /* joined by UNION ALL */
    size_t nselects;
    sl_sql_order_t *order;
    size_t norder;
    int64_t within_ms; /* ORDER BY ... WITHIN interval; -1 when absent */
    sl_sql_pos_t pos;
};

struct sl_sql_column {
    const char *name;
    sl_sql_type_t type;
};

typedef enum {
    SL_SQL_STMT_CREATE_STREAM,
    SL_SQL_STMT_CREATE_PUMP,
    SL_SQL_STMT_INSERT,
} sl_sql_stmt_kind_t;

typedef struct {
    uint8_t kind; /* sl_sql_stmt_kind_t */
    bool or_replace;
    bool stopped;             /* CREATE PUMP ... STOPPED */
    const char *name;         /* stream or pump name */
    sl_sql_column_t *columns; /* CREATE STREAM */
    size_t ncolumns;
    const char *description;
    const char *target; /* INSERT INTO target */
    const char **target_cols;
    size_t ntarget_cols;
    sl_sql_query_t *query;
    sl_sql_pos_t pos;
} sl_sql_stmt_t;

typedef struct {
    sl_sql_stmt_t *stmts;
    size_t nstmts;
} sl_sql_script_t;

/* A parse or planning error: position and the message AWS's CodeValidationException carries. */
typedef struct {
    sl_sql_pos_t pos;
    char message[512];
} sl_sql_error_t;

/* Parses application code. The tree lives in `arena` (the caller frees it). Returns 0, or
 * SL_EINVAL with `err` filled, or SL_ENOMEM. Text longer than SL_ANALYTICS_CODE_MAX_CHARS, or
 * nested deeper than SL_ANALYTICS_SQL_DEPTH_MAX, is an error, not a crash. */
int sl_sql_parse(const char *text, size_t len, sl_arena_t *arena, sl_sql_script_t *out,
                 sl_sql_error_t *err);

/* Parses one expression (function examples, tests, the log parsers' column lists). */
int sl_sql_parse_expr(const char *text, size_t len, sl_arena_t *arena, sl_sql_expr_t **out,
                      sl_sql_error_t *err);

/* Parses a type name such as "VARCHAR(4)" or "DECIMAL(5,2)" (SqlType of an input schema). */
int sl_sql_parse_type(const char *text, size_t len, sl_sql_type_t *out);

/* Writes a type as AWS spells it ("VARCHAR(4)", "DOUBLE"). Returns the length written. */
size_t sl_sql_type_format(const sl_sql_type_t *t, char *buf, size_t cap);

/* The name of a kind ("VARCHAR", "INTERVAL DAY TO SECOND"). */
const char *sl_sql_kind_name(int kind);

#endif
