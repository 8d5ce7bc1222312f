/* Planner internals (analytics/plan.c): the compile context of one SELECT, its scope, the
 * aggregates and windows it collects. Used by the engine (analytics/engine.c). */
#ifndef SL_ANALYTICS_PLAN_H
#define SL_ANALYTICS_PLAN_H

#include "analytics/internal.h"

#define AN_AGGS_MAX 64    /* aggregate and analytic calls in one SELECT */
#define AN_WINDOWS_MAX 16 /* distinct windows in one SELECT */

/* The columns a SELECT reads: one stream or subquery, optionally joined with a reference table
 * whose columns follow at slots [table_first, ncols). */
typedef struct {
    const char *qualifier;   /* alias, or the stream's name */
    const char *stream_name; /* the stream's own name (also accepted as qualifier) */
    const char *alias;
    const sl_sql_column_t *cols;
    size_t ncols;
    size_t nvisible; /* columns of the stream SELECT * expands to */
    bool has_table;
    size_t table_first;
    const char *table_qualifier, *table_name, *table_alias;
    bool side_rowtimes; /* a join of two streams: s.ROWTIME of each side at rowtime_first + side */
    size_t rowtime_first;
} an_scope_t;

/* A sliding window used by OVER calls. */
typedef struct {
    const sl_sql_window_t *spec;
    an_expr_t **partition;
    size_t npartition;
} an_window_t;

/* An aggregate (GROUP BY, stagger) or analytic (OVER) call. */
typedef struct {
    int fn;
    bool count_star, ignore_nulls, from_last;
    an_expr_t *args[3];
    size_t nargs;
    sl_sql_type_t type;
    an_window_t *window; /* OVER calls */
    const sl_sql_expr_t *src;
} an_agg_t;

typedef struct {
    sl_arena_t *arena;
    sl_sql_error_t *err;
    bool failed;
    int depth;
    const an_scope_t *scope;
    bool aggs_allowed, over_allowed;
    const char *clause; /* "WHERE", "GROUP BY": for "illegal in ... clause" */
    an_agg_t aggs[AN_AGGS_MAX];
    size_t naggs;
    sl_sql_window_t **window_defs;
    size_t nwindow_defs;
    an_window_t windows[AN_WINDOWS_MAX];
    size_t nwindows;
} an_cc_t;

int an_plan_fail(an_cc_t *cc, const sl_sql_pos_t *pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
an_expr_t *an_plan_expr(an_cc_t *cc, const sl_sql_expr_t *e);
an_expr_t *an_plan_grouped(an_cc_t *cc, an_expr_t *x, an_expr_t **keys, size_t nkeys);
bool an_expr_equal(const an_expr_t *a, const an_expr_t *b);
bool an_plan_is_monotonic(const an_expr_t *x);
bool an_plan_window_width(const an_expr_t *x, int64_t *ms, int64_t *months);
bool an_ast_has_aggregate(const sl_sql_expr_t *e, bool over);

#endif
