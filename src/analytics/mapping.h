/* Record mapping of an application input (spec §1.4-1.6): a Kinesis record's bytes become rows of
 * the in-application source stream, by the input schema's RecordFormat (JSON with one JSONPath
 * per column, or CSV with row and column delimiters of any length) and AWS's coercion rules for
 * each JSON value and SQL type. A record that does not fit gives an error message; the runner puts
 * it into error_stream (sl_an_engine_insert_error) instead of the stream. */
#ifndef SL_ANALYTICS_MAPPING_H
#define SL_ANALYTICS_MAPPING_H

#include "analytics/sql.h"
#include "core/arena.h"

typedef enum { SL_AN_FORMAT_JSON = 0, SL_AN_FORMAT_CSV } sl_an_format_t;

typedef struct {
    const char *name;
    sl_sql_type_t type;
    const char *mapping; /* JSON: the column's JSONPath ("$.a.b", "$.arr[0:]", "$.arr[0:].x") */
} sl_an_record_column_t;

typedef struct {
    sl_an_format_t format;
    const char *row_path;  /* JSON RecordRowPath: "$" or "$.a.b" */
    const char *row_delim; /* CSV RecordRowDelimiter ("\n") */
    const char *col_delim; /* CSV RecordColumnDelimiter (",") */
    const sl_an_record_column_t *cols;
    size_t ncols;
} sl_an_record_schema_t;

/* Checks a schema's paths: member access, one [0:] per path, one flattened array per schema.
 * Returns 0, or SL_EINVAL with a message. */
int sl_an_schema_check(const sl_an_record_schema_t *s, char *msg, size_t cap);

/* Called once per row of a record; values live in the arena passed to sl_an_map_record. */
typedef void (*sl_an_row_fn)(void *ctx, const sl_sql_value_t *values, size_t n);

/* Maps one record. Every row is converted before the first is handed on, so a record either
 * yields all its rows or none: on a coercion error returns SL_EINVAL with the message. */
int sl_an_map_record(const sl_an_record_schema_t *s, const char *data, size_t len,
                     sl_arena_t *arena, sl_an_row_fn fn, void *ctx, char *msg, size_t cap);

#endif
