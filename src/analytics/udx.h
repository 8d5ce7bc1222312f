/* Table functions of the dialect (`TABLE(F(CURSOR(SELECT STREAM ...), args...))`): streaming
 * operators over the rows of their cursor, implemented from their published descriptions:
 *   - TOP_K_ITEMS_TUMBLING(cursor, 'col', K, windowSeconds): the K most frequent values of a
 *     column per tumbling window (Space-Saving counters; exact while the distinct values fit);
 *   - COUNT_DISTINCT_ITEMS_TUMBLING(cursor, 'col', windowSeconds): distinct values per window,
 *     exact up to 10,000, then HyperLogLog (2^14 registers, about 0.8% standard error);
 *   - RANDOM_CUT_FOREST(cursor [, trees, subSampleSize, timeDecay, shingleSize]) and
 *     RANDOM_CUT_FOREST_WITH_EXPLANATION(... [, withDirectionality]): a robust random cut forest
 *     over the numeric columns (Guha et al. 2016), ANOMALY_SCORE and its per-column attribution;
 *   - HOTSPOTS(cursor, windowSize, scanRadius, minimumNumberOfPointsInAHotspot): dense regions of
 *     the last windowSize rows' numeric columns, as JSON boxes;
 *   - GROUP_RANK(cursor, 'rankBy', 'rankOut', sortOrder, outputOrder, maxIdle, outputMax): the
 *     rows of one ROWTIME ranked by a column, emitted when ROWTIME moves on or maxIdle passes.
 * Used by the engine (analytics/engine.c) as one operator between the cursor's SELECT and the
 * enclosing one. Randomness comes from a seeded generator, so a run is reproducible; all state
 * is bounded by the function's parameters (docs/analytics.md) and can be saved and restored. */
#ifndef SL_ANALYTICS_UDX_H
#define SL_ANALYTICS_UDX_H

#include "analytics/internal.h"
#include "core/buf.h"

typedef struct an_udx an_udx_t;

/* Where a table function's output rows go (the enclosing SELECT). */
typedef void (*an_udx_emit_fn)(void *ctx, int64_t rowtime, const sl_sql_value_t *v, size_t n);

/* Plans `name(CURSOR(...), args...)` over the cursor's columns `in`: checks the arguments
 * (literals) and returns the function's output columns (allocated in `arena`) and its state
 * (owned by the caller, freed with an_udx_free). On error writes the message and returns -1. */
int an_udx_plan(const char *name, sl_sql_expr_t *const *args, size_t nargs,
                const sl_sql_column_t *in, size_t nin, sl_arena_t *arena, an_udx_t **out,
                sl_sql_column_t **cols, size_t *ncols, char *msg, size_t cap);
bool an_udx_known(const char *name);
void an_udx_free(an_udx_t *u);
/* Forgets every row seen: the state of a function just planned. */
void an_udx_reset(an_udx_t *u);

/* One input row; output rows go to `emit` (temporaries in `tmp`). */
void an_udx_row(an_udx_t *u, int64_t rowtime, const sl_sql_value_t *v, size_t n, sl_arena_t *tmp,
                an_udx_emit_fn emit, void *ctx);
/* A rowtime bound: closes the tumbling window that ends at or before t. */
void an_udx_bound(an_udx_t *u, int64_t t, sl_arena_t *tmp, an_udx_emit_fn emit, void *ctx);

/* Appends the state to `out` / reads it back from [*p, end) (advancing *p); -1 on bad input. */
int an_udx_save(const an_udx_t *u, sl_buf_t *out);
int an_udx_restore(an_udx_t *u, const uint8_t **p, const uint8_t *end);
/* GROUP_RANK's held rows (saved by the checkpoint as rows): how many, and the rows; and one
 * held again on restore (taken over; -1 if it does not fit: wrong width, another ROWTIME). */
bool an_udx_holds_rows(const an_udx_t *u);
size_t an_udx_held(const an_udx_t *u, an_row_t *const **rows);
int an_udx_hold(an_udx_t *u, an_row_t *row);

#endif
