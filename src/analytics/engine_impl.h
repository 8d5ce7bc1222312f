/* The engine's state (analytics/engine.c), shared with its checkpoints (analytics/checkpoint.c):
 * in-application streams, reference tables, keyed window state, accumulators and the operators
 * of the pumps. Private to the layer; analytics/engine.h is the interface. */
#ifndef SL_ANALYTICS_ENGINE_IMPL_H
#define SL_ANALYTICS_ENGINE_IMPL_H

#include "analytics/engine.h"
#include "analytics/internal.h"
#include "analytics/plan.h"
#include "analytics/udx.h"

typedef struct an_op an_op_t;
typedef struct an_stream an_stream_t;

typedef struct {
    an_op_t *op; /* a pump's first operator, or NULL for a sink */
    sl_an_sink_fn fn;
    void *ctx;
    int side; /* a stream-to-stream join: which side the stream is (0 left, 1 right) */
} an_sub_t;

/* An in-application stream. Owned by the engine. */
struct an_stream {
    const char *name;
    sl_sql_column_t *cols;
    size_t ncols, nvisible;
    bool source, system;
    int64_t last_rowtime;
    an_sub_t *subs;
    size_t nsubs;
    size_t indegree; /* pumps writing it, for the bound order */
};

/* A reference table (an application's reference data source), joined with streams. Owned by
 * the engine; its rows are replaced whole when the data is reloaded. */
typedef struct {
    const char *name;
    sl_sql_column_t *cols;
    size_t ncols;
    an_row_t **rows;
    size_t nrows;
} an_table_t;

typedef struct an_entry {
    struct an_entry *chain;         /* bucket chain */
    struct an_entry *older, *newer; /* insertion order */
    uint64_t hash;
    an_row_t *key;
    int64_t open_ms;
    void *state;
    size_t bytes; /* what the entry holds (key, accumulators), against the state budget */
} an_entry_t;

typedef struct {
    an_entry_t **buckets;
    size_t cap, n;
    an_entry_t *oldest, *newest;
} an_map_t;

typedef struct {
    int64_t count;
    int64_t isum;
    double dsum;
    bool overflow;
    double mean, m2; /* Welford's running variance */
    an_row_t *best;  /* MIN / MAX */
    bool b;
} an_acc_t;

/* Rows of one sliding-window partition, oldest first (a ring). */
typedef struct {
    an_row_t **rows;
    size_t head, n, cap;
} an_deque_t;

typedef enum {
    AN_OP_PROJECT,
    AN_OP_GROUP,
    AN_OP_STAGGER,
    AN_OP_SLIDING,
    AN_OP_SORT,
    AN_OP_UDX, /* a table function between its cursor's SELECT and the enclosing one */
} an_op_kind_t;

/* One SELECT of a pump. Owned by the engine (its ops list). */
struct an_op {
    int kind;
    sl_an_engine_t *eng;
    const char *pump;
    an_scope_t in;
    an_expr_t *where, *having;
    an_expr_t **items;
    size_t nitems;
    int rowtime_item;
    sl_sql_column_t *out; /* output columns (items but the ROWTIME one) */
    int *out_item;
    size_t nout;
    an_expr_t **keys;
    size_t nkeys;
    int *mono;
    size_t nmono;
    int width_key; /* the key giving the window's end, or -1 */
    int64_t width_ms, width_months;
    an_agg_t *aggs;
    size_t naggs;
    an_window_t *windows;
    size_t nwindows;
    an_map_t *wmaps; /* sliding: partitions of each window */
    an_map_t groups;
    an_row_t *cur_mono;
    int64_t stagger_ms;
    an_op_t *next;       /* the enclosing query's operator, for FROM (subquery) */
    an_stream_t *target; /* the pump's target, for the last operator */
    int *target_col;     /* output column -> target column */
    an_stream_t *source; /* the stream the chain reads */
    an_table_t *table;   /* joined reference table, or NULL */
    bool reads_source;   /* the chain's first operator: subscribed to `source` */
    /* stream-to-stream join: the right side's stream, each side's window and stored rows */
    an_stream_t *join_source;
    int join_kind;                  /* sl_sql_join_t */
    const sl_sql_window_t *jwin[2]; /* NULL: the side contributes its current row only */
    size_t jcols[2];                /* columns of each side; combined row: left, right, ROWTIMEs */
    struct an_jrow *jrows[2];
    size_t njrows[2], capjrows[2];
    bool left_join;
    an_expr_t *on;
    /* sort (ORDER BY of a query): keys over the query's output columns */
    an_expr_t **order;
    bool *desc;
    size_t norder;
    int64_t within_ms; /* T-sort buffer, or -1 */
    an_row_t **buf;    /* buffered rows, arrival order */
    size_t nbuf, capbuf;
    an_row_t *cur_lead;   /* ORDER BY: the leading key of the buffered rows */
    int64_t sorted_until; /* T-sort: ROWTIME of the last row emitted */
    an_udx_t *udx;        /* a table function's state (owned) */
    size_t state_bytes;   /* this operator's share of the engine's state_bytes */
};

struct sl_an_engine {
    sl_an_options_t opt;
    int64_t now, start;
    an_stream_t **streams; /* in bound order (writers before readers) */
    size_t nstreams;
    an_op_t **ops;
    size_t nops;
    sl_arena_t *arenas; /* one per load: the plans; freed with the engine */
    size_t narenas;
    sl_arena_t names; /* names of sources */
    sl_arena_t tmp;   /* temporaries of one insert or advance */
    an_stream_t *errors;
    an_table_t **tables;
    size_t ntables;
    uint64_t code_hash; /* of the code loaded so far: a checkpoint fits only the same code */
    size_t state_bytes; /* window state held by every operator (opt.state_bytes_max) */
};

typedef struct an_jrow {
    an_row_t *row;
    bool matched;
} an_jrow_t;

/* Helpers of engine.c used by checkpoint.c. */
an_stream_t *an_find_stream(an_stream_t **v, size_t n, const char *name);
an_entry_t *an_map_add(an_map_t *m, const sl_sql_value_t *key, size_t n, uint64_t h);
an_acc_t *an_accs_new(an_op_t *op);
int an_dq_push(an_deque_t *d, an_row_t *r);
/* Counts bytes of window state an operator now holds (rows, groups). */
void an_op_state_add(an_op_t *op, size_t bytes);
/* Forgets an operator's window state (groups, partitions, buffered and joined rows). */
void an_op_clear(an_op_t *op);

#endif
