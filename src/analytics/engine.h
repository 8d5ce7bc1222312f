/* The streaming-SQL engine of Kinesis Data Analytics SQL applications: in-application streams,
 * pumps compiled from application code, and the operators that run them (filter/project,
 * tumbling GROUP BY, sliding OVER windows, stagger windows), with a clock the caller drives.
 *
 * Time is the caller's: every input row carries its ROWTIME (non-decreasing per stream) and
 * sl_an_engine_advance() is the rowtime bound that closes windows without traffic. Tests drive it
 * as a virtual clock; the application runner drives it from the wall clock. Single-threaded: one
 * engine belongs to one thread. Rows that fail evaluation, coercion or a memory bound go to the
 * system stream error_stream with AWS's record shape (docs/analytics.md). */
#ifndef SL_ANALYTICS_ENGINE_H
#define SL_ANALYTICS_ENGINE_H

#include "analytics/sql.h"
#include "core/buf.h"

#include <stddef.h>
#include <stdint.h>

typedef struct sl_an_engine sl_an_engine_t;

/* A row seen by a subscriber: valid only during the callback. */
typedef struct {
    int64_t rowtime_ms;
    const sl_sql_value_t *values;
    size_t nvalues;
} sl_an_row_t;

typedef void (*sl_an_sink_fn)(void *ctx, const char *stream, const sl_an_row_t *row);

typedef struct {
    size_t window_rows_max;   /* rows in one sliding-window partition */
    size_t window_groups_max; /* groups in one tumbling window; open stagger windows */
    size_t state_bytes_max;   /* bytes of window state in all (docs/analytics.md "Limits") */
} sl_an_options_t;

/* The defaults from core/limits.h. */
sl_an_options_t sl_an_options_default(void);

/* Creates an engine whose clock starts at `now_ms`; error_stream exists from the start. */
int sl_an_engine_create(const sl_an_options_t *opt, int64_t now_ms, sl_an_engine_t **out);
void sl_an_engine_destroy(sl_an_engine_t *e);

/* Declares an input stream (what an application input's NamePrefix_00n becomes). Its names are
 * taken as written (they are quoted identifiers). APPROXIMATE_ARRIVAL_TIME is added implicitly. */
int sl_an_engine_add_source(sl_an_engine_t *e, const char *name, const sl_sql_column_t *cols,
                            size_t ncols, sl_sql_error_t *err);

/* Creates or reloads a reference table (an application's reference data source): `values` holds
 * nrows x ncols values, converted to the column types. Reloading replaces every row at once
 * (AWS re-reads the object only on UpdateApplication); the columns cannot change once code uses
 * the table. Returns SL_EINVAL with a message for a value that does not convert. */
int sl_an_engine_set_table(sl_an_engine_t *e, const char *name, const sl_sql_column_t *cols,
                           size_t ncols, const sl_sql_value_t *values, size_t nrows,
                           sl_sql_error_t *err);

/* Parses and plans application code and starts its pumps. On invalid code returns SL_EINVAL
 * with the CodeValidationException message in `err`, and the engine is unchanged. */
int sl_an_engine_load(sl_an_engine_t *e, const char *code, size_t len, sl_sql_error_t *err);

/* Calls `fn` for every row inserted into `stream` from now on (outputs, error_stream). */
int sl_an_engine_subscribe(sl_an_engine_t *e, const char *stream, sl_an_sink_fn fn, void *ctx);

/* The columns of an in-application stream (not ROWTIME), or SL_ENOTFOUND. */
int sl_an_engine_columns(sl_an_engine_t *e, const char *stream, const sl_sql_column_t **cols,
                         size_t *ncols);

/* Inserts one row into a source stream at `rowtime_ms` (>= the stream's last ROWTIME, else the
 * row goes to error_stream); the values are converted to the stream's column types. Advances the
 * clock to `rowtime_ms`. Returns 0 (also when the row went to error_stream), or SL_ENOTFOUND. */
int sl_an_engine_insert(sl_an_engine_t *e, const char *stream, int64_t rowtime_ms,
                        const sl_sql_value_t *values, size_t nvalues);

/* Puts a record that could not be mapped to `stream`'s columns into error_stream (ERROR_NAME
 * "Data conversion error", DATA_ROW the record's bytes in hex, PUMP_NAME NULL). */
void sl_an_engine_insert_error(sl_an_engine_t *e, const char *stream, int64_t rowtime_ms,
                               const char *message, const void *data, size_t len);

/* A rowtime bound: no later input row has ROWTIME < now_ms. Closes every window that ends at or
 * before it, in stream order. */
void sl_an_engine_advance(sl_an_engine_t *e, int64_t now_ms);

/* Checkpoints of window state. Save appends to `out` the state of every open window and
 * operator: tumbling groups and their accumulators, stagger windows, sliding-window partitions
 * (LAG and the other analytic functions read them), ORDER BY buffers, the rows in a
 * stream-to-stream join's windows, table functions' sketches and forests, each stream's last
 * ROWTIME and the clock. The bytes are versioned and checksummed (docs/analytics.md).
 * Restore reads them into an engine made the same way (the same sources, tables and code loaded
 * in the same order) that has run no rows yet; rows then continue where the saved engine
 * stopped, so a window open at the save emits exactly the rows it would have. Returns 0, or
 * SL_EINVAL when the bytes are damaged, of another version or of other code (the engine is then
 * left with empty windows, as if there had been no checkpoint). */
int sl_an_engine_checkpoint_save(sl_an_engine_t *e, sl_buf_t *out);
int sl_an_engine_checkpoint_restore(sl_an_engine_t *e, const void *data, size_t len);

/* Writes a value as text: TIMESTAMP as "2018-11-01 00:00:00.000", DOUBLE as Java prints it
 * ("68.0", "1.0E10"), NULL as "NULL". Returns the length (truncated to cap - 1). */
size_t sl_an_value_format(const sl_sql_value_t *v, int scale, char *buf, size_t cap);

/* Evaluates a constant expression (the SQL reference's function examples): the result as text in
 * `out`, or the planner's or evaluator's message with a negative return. */
int sl_an_eval_text(const char *expr, char *out, size_t cap);

#endif
