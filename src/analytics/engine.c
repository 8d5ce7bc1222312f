/* The engine (analytics/engine.h): in-application streams with pub/sub fan-out, pumps planned
 * from application code, and the incremental operators that run them:
 *   - project: WHERE and the select list, row by row (ROWTIME passes through);
 *   - group: tumbling windows (GROUP BY with a monotonic ROWTIME key such as FLOOR(ROWTIME TO
 *     MINUTE) or STEP(ROWTIME BY INTERVAL '10' SECOND)); a window's groups are emitted, sorted by
 *     key, when a row or a rowtime bound reaches the window's end, with ROWTIME = that end;
 *   - stagger: one window per partition key, opened by its first row and closed range later;
 *   - sliding: OVER windows (RANGE INTERVAL / ROWS n PRECEDING, partitioned), one output row per
 *     input row.
 * Every operator's state is bounded (sl_an_options_t); a row that would pass a bound, fails
 * evaluation or arrives out of order goes to error_stream instead. */
#include "analytics/engine.h"

#include "analytics/engine_impl.h"
#include "core/common.h"
#include "core/limits.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- a hash map of keyed state (groups, stagger windows, window partitions) ---------------- */

static an_entry_t *map_find(an_map_t *m, const sl_sql_value_t *key, size_t n, uint64_t h) {
    if (!m->cap) return NULL;
    for (an_entry_t *e = m->buckets[h & (m->cap - 1)]; e; e = e->chain)
        if (e->hash == h && an_equal_keys(e->key->v, key, n)) return e;
    return NULL;
}

static int map_grow(an_map_t *m) {
    size_t cap = m->cap ? m->cap * 2 : 64;
    an_entry_t **b = calloc(cap, sizeof *b);
    if (!b) return SL_ENOMEM;
    for (an_entry_t *e = m->oldest; e; e = e->newer) {
        e->chain = b[e->hash & (cap - 1)];
        b[e->hash & (cap - 1)] = e;
    }
    free(m->buckets);
    m->buckets = b;
    m->cap = cap;
    return 0;
}

an_entry_t *an_map_add(an_map_t *m, const sl_sql_value_t *key, size_t n, uint64_t h) {
    if ((m->n + 1) * 4 > m->cap * 3 && map_grow(m)) return NULL;
    an_entry_t *e = calloc(1, sizeof *e);
    if (!e) return NULL;
    e->key = an_row_copy(0, key, n);
    if (!e->key) {
        free(e);
        return NULL;
    }
    e->hash = h;
    e->chain = m->buckets[h & (m->cap - 1)];
    m->buckets[h & (m->cap - 1)] = e;
    e->older = m->newest;
    if (m->newest)
        m->newest->newer = e;
    else
        m->oldest = e;
    m->newest = e;
    m->n++;
    return e;
}

/* Unlinks `e` (the caller frees its state, then calls entry_free). */
static void map_remove(an_map_t *m, an_entry_t *e) {
    an_entry_t **p = &m->buckets[e->hash & (m->cap - 1)];
    while (*p != e)
        p = &(*p)->chain;
    *p = e->chain;
    if (e->older)
        e->older->newer = e->newer;
    else
        m->oldest = e->newer;
    if (e->newer)
        e->newer->older = e->older;
    else
        m->newest = e->older;
    m->n--;
}

/* --- accumulators -------------------------------------------------------------------------- */

sl_an_options_t sl_an_options_default(void) {
    return (sl_an_options_t){.window_rows_max = SL_ANALYTICS_WINDOW_ROWS_MAX,
                             .window_groups_max = SL_ANALYTICS_WINDOW_GROUPS_MAX,
                             .state_bytes_max = SL_ANALYTICS_STATE_BYTES_MAX};
}

an_stream_t *an_find_stream(an_stream_t **v, size_t n, const char *name) {
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i]->name, name) == 0) return v[i];
    return NULL;
}

static int push_ptr(void ***v, size_t *n, void *p) {
    void **grown = realloc(*v, (*n + 1) * sizeof **v);
    if (!grown) return SL_ENOMEM;
    grown[(*n)++] = p;
    *v = grown;
    return 0;
}

static int subscribe(an_stream_t *s, an_op_t *op, sl_an_sink_fn fn, void *ctx, int side) {
    an_sub_t *grown = realloc(s->subs, (s->nsubs + 1) * sizeof *grown);
    if (!grown) return SL_ENOMEM;
    grown[s->nsubs++] = (an_sub_t){op, fn, ctx, side};
    s->subs = grown;
    return 0;
}

static an_ctx_t make_ctx(sl_an_engine_t *e) {
    an_ctx_t c;
    memset(&c, 0, sizeof c);
    c.arena = &e->tmp;
    c.now_ms = e->now;
    c.start_ms = e->start;
    return c;
}

/* --- error_stream -------------------------------------------------------------------------- */

static void stream_insert(sl_an_engine_t *e, an_stream_t *s, int64_t rowtime,
                          const sl_sql_value_t *v, size_t n, const char *pump);

static void vtext(sl_sql_value_t *v, const char *s, size_t len) {
    memset(v, 0, sizeof *v);
    v->kind = SL_SQL_VARCHAR;
    v->u.s.ptr = s;
    v->u.s.len = (uint32_t)len;
}

/* DATA_ROW: the row as a JSON object of its columns, hex-encoded (docs/analytics.md). */
static size_t data_row(sl_an_engine_t *e, const an_scope_t *sc, const sl_sql_value_t *v, size_t n,
                       char **out) {
    size_t cap = SL_ANALYTICS_ERROR_DATA_MAX_BYTES / 2, k = 0;
    char *json = sl_arena_alloc(&e->tmp, cap + 1);
    char *hex = sl_arena_alloc(&e->tmp, cap * 2 + 1);
    if (!json || !hex) return 0;
    char val[256];
#define ADD(...)                                                                                   \
    do {                                                                                           \
        int w_ = snprintf(json + k, cap + 1 - k, __VA_ARGS__);                                     \
        if (w_ < 0 || (size_t)w_ > cap - k) goto full;                                             \
        k += (size_t)w_;                                                                           \
    } while (0)
    ADD("{");
    for (size_t i = 0; i < n; i++) {
        const char *name = sc && i < sc->ncols ? sc->cols[i].name : "?";
        size_t l = sl_an_value_format(&v[i], 0, val, sizeof val);
        bool quote = !v[i].null && (v[i].kind >= SL_SQL_CHAR);
        ADD("%s\"%s\":%s%.*s%s", i ? "," : "", name, quote ? "\"" : "", (int)l,
            v[i].null ? "null" : val, quote ? "\"" : "");
    }
    ADD("}");
full:
#undef ADD
    for (size_t i = 0; i < k; i++)
        snprintf(hex + 2 * i, 3, "%02x", (unsigned char)json[i]);
    *out = hex;
    return 2 * k;
}

/* Inserts one error_stream row; DATA_ROW is `hex` (NULL: SQL NULL). */
static void error_record_hex(sl_an_engine_t *e, const char *pump, const char *name,
                             const char *message, int64_t data_rowtime, const char *hex,
                             size_t hl) {
    sl_sql_value_t rec[7];
    memset(rec, 0, sizeof rec);
    rec[0].kind = SL_SQL_TIMESTAMP;
    rec[0].u.i = e->now;
    vtext(&rec[1], "ERROR", 5);
    vtext(&rec[2], name, strlen(name));
    vtext(&rec[3], message, strlen(message));
    rec[4].kind = SL_SQL_TIMESTAMP;
    rec[4].u.i = data_rowtime;
    if (hex) {
        vtext(&rec[5], hex, hl);
    } else {
        rec[5].kind = SL_SQL_VARCHAR;
        rec[5].null = true;
    }
    if (pump) {
        vtext(&rec[6], pump, strlen(pump));
    } else {
        rec[6].kind = SL_SQL_VARCHAR;
        rec[6].null = true;
    }
    an_stream_t *s = e->errors;
    int64_t t = SL_MAX(e->now, s->last_rowtime);
    s->last_rowtime = t;
    sl_an_row_t row = {t, rec, 7};
    for (size_t i = 0; i < s->nsubs; i++)
        if (s->subs[i].fn) s->subs[i].fn(s->subs[i].ctx, s->name, &row);
}

static void error_record(sl_an_engine_t *e, const char *pump, const char *name, const char *message,
                         int64_t data_rowtime, const an_scope_t *sc, const sl_sql_value_t *v,
                         size_t n) {
    char *hex = NULL;
    size_t hl = v ? data_row(e, sc, v, n, &hex) : 0;
    error_record_hex(e, pump, name, message, data_rowtime, hex, hl);
}

/* --- operators ----------------------------------------------------------------------------- */

static void op_row(an_op_t *op, int64_t rowtime, const sl_sql_value_t *v, size_t n);
static void op_bound(an_op_t *op, int64_t t);

static void row_error(an_op_t *op, const char *name, const char *msg, int64_t rowtime,
                      const sl_sql_value_t *v, size_t n) {
    error_record(op->eng, op->pump, name, msg, rowtime, &op->in, v, n);
}

/* --- the budget of window state ------------------------------------------------------------ */

void an_op_state_add(an_op_t *op, size_t bytes) {
    op->state_bytes += bytes;
    op->eng->state_bytes += bytes;
}

static void state_sub(an_op_t *op, size_t bytes) {
    bytes = SL_MIN(bytes, op->state_bytes);
    op->state_bytes -= bytes;
    op->eng->state_bytes -= bytes;
}

/* Whether `bytes` more window state fit the engine's budget; if not, the row goes to
 * error_stream. */
static bool state_fits(an_op_t *op, size_t bytes, int64_t rowtime, const sl_sql_value_t *v,
                       size_t n) {
    sl_an_engine_t *e = op->eng;
    if (e->state_bytes + bytes <= e->opt.state_bytes_max) return true;
    char msg[128];
    snprintf(msg, sizeof msg, "Window memory limit reached: %zu bytes of window state",
             e->opt.state_bytes_max);
    row_error(op, "Window limit", msg, rowtime, v, n);
    return false;
}

/* Evaluates the select list in `ctx` and hands the row on. */
static void emit(an_op_t *op, an_ctx_t *ctx, int64_t rowtime, const sl_sql_value_t *in,
                 size_t nin) {
    sl_an_engine_t *e = op->eng;
    sl_sql_value_t *vals = sl_arena_alloc(&e->tmp, (op->nout + 1) * sizeof *vals);
    if (!vals) return;
    int64_t out_time = rowtime;
    if (op->rowtime_item >= 0) {
        sl_sql_value_t t;
        if (an_eval(ctx, op->items[op->rowtime_item], &t)) goto fail;
        if (t.null) {
            ctx->error = "ROWTIME cannot be NULL";
            goto fail;
        }
        out_time = t.u.i;
    }
    for (size_t i = 0; i < op->nout; i++) {
        if (an_eval(ctx, op->items[op->out_item[i]], &vals[i])) goto fail;
    }
    if (op->next) {
        op_row(op->next, out_time, vals, op->nout);
        return;
    }
    an_stream_t *s = op->target;
    sl_sql_value_t *row = sl_arena_calloc(&e->tmp, s->ncols + 1, sizeof *row);
    if (!row) return;
    for (size_t j = 0; j < s->ncols; j++) {
        row[j].kind = s->cols[j].type.kind;
        row[j].null = true;
    }
    for (size_t i = 0; i < op->nout; i++) {
        size_t j = (size_t)op->target_col[i];
        if (an_cast(ctx, &vals[i], &s->cols[j].type, &row[j])) goto fail;
        if (row[j].null && s->cols[j].type.not_null) {
            ctx->error = "Cannot insert NULL into a NOT NULL column";
            goto fail;
        }
    }
    stream_insert(e, s, out_time, row, s->ncols, op->pump);
    return;
fail:
    row_error(op, "Evaluation error", ctx->error ? ctx->error : "error", rowtime, in, nin);
}

static void acc_init(an_acc_t *a, int fn) {
    memset(a, 0, sizeof *a);
    if (fn == AN_F_EVERY) a->b = true;
}

static int acc_add(an_ctx_t *ctx, const an_agg_t *ag, an_acc_t *a) {
    if (ag->count_star) {
        a->count++;
        return 0;
    }
    sl_sql_value_t v;
    if (an_eval(ctx, ag->args[0], &v)) return -1;
    if (v.null) return 0;
    a->count++;
    switch (ag->fn) {
    case AN_F_SUM:
    case AN_F_AVG:
        if (v.kind >= SL_SQL_TINYINT && v.kind <= SL_SQL_BIGINT) {
            if (__builtin_add_overflow(a->isum, v.u.i, &a->isum)) a->overflow = true;
        } else {
            a->dsum += v.u.d;
        }
        break;
    case AN_F_MIN:
    case AN_F_MAX: {
        if (a->best) {
            int c = an_compare(&v, &a->best->v[0]);
            if (ag->fn == AN_F_MIN ? c >= 0 : c <= 0) break;
        }
        an_row_t *r = an_row_copy(0, &v, 1);
        if (!r) {
            ctx->error = "out of memory";
            return -1;
        }
        free(a->best);
        a->best = r;
        break;
    }
    case AN_F_VAR_POP:
    case AN_F_VAR_SAMP:
    case AN_F_STDDEV_POP:
    case AN_F_STDDEV_SAMP: {
        double x = v.kind >= SL_SQL_TINYINT && v.kind <= SL_SQL_BIGINT ? (double)v.u.i : v.u.d;
        double d = x - a->mean;
        a->mean += d / (double)a->count;
        a->m2 += d * (x - a->mean);
        break;
    }
    case AN_F_ANY:
        a->b = a->b || v.u.b;
        break;
    case AN_F_EVERY:
        a->b = a->b && v.u.b;
        break;
    default:
        break;
    }
    return 0;
}

static int acc_result(an_ctx_t *ctx, const an_agg_t *ag, const an_acc_t *a, sl_sql_value_t *out) {
    memset(out, 0, sizeof *out);
    out->kind = ag->type.kind;
    bool exact = out->kind >= SL_SQL_TINYINT && out->kind <= SL_SQL_BIGINT;
    switch (ag->fn) {
    case AN_F_COUNT:
        out->u.i = a->count;
        return 0;
    case AN_F_SUM:
    case AN_F_AVG:
        if (a->count == 0) {
            out->null = true;
            return 0;
        }
        if (a->overflow) {
            ctx->error = "Overflow";
            return -1;
        }
        if (exact)
            out->u.i = ag->fn == AN_F_SUM ? a->isum : a->isum / a->count;
        else
            out->u.d = ag->fn == AN_F_SUM ? a->dsum : a->dsum / (double)a->count;
        if (out->kind == SL_SQL_REAL) out->u.d = (float)out->u.d;
        return 0;
    case AN_F_MIN:
    case AN_F_MAX:
        if (!a->best)
            out->null = true;
        else
            *out = a->best->v[0];
        return 0;
    case AN_F_VAR_POP:
    case AN_F_STDDEV_POP:
    case AN_F_VAR_SAMP:
    case AN_F_STDDEV_SAMP: {
        bool samp = ag->fn == AN_F_VAR_SAMP || ag->fn == AN_F_STDDEV_SAMP;
        if (a->count == 0 || (samp && a->count < 2)) {
            out->null = true;
            return 0;
        }
        double var = a->m2 / (double)(samp ? a->count - 1 : a->count);
        out->u.d = ag->fn == AN_F_STDDEV_POP || ag->fn == AN_F_STDDEV_SAMP ? sqrt(var) : var;
        return 0;
    }
    case AN_F_ANY:
    case AN_F_EVERY:
        if (a->count == 0)
            out->null = true;
        else
            out->u.b = a->b;
        return 0;
    default:
        out->null = true;
        return 0;
    }
}

static void accs_free(an_acc_t *accs, size_t n) {
    if (!accs) return;
    for (size_t i = 0; i < n; i++)
        free(accs[i].best);
    free(accs);
}

static int eval_keys(an_op_t *op, an_ctx_t *ctx, sl_sql_value_t *keys) {
    for (size_t i = 0; i < op->nkeys; i++)
        if (an_eval(ctx, op->keys[i], &keys[i])) return -1;
    return 0;
}

/* qsort_r comparison of groups: open time, then the keys of `op` (NULLs first). */
static int cmp_entries(const void *pa, const void *pb, void *arg) {
    const an_op_t *sort_op = arg;
    const an_entry_t *a = *(an_entry_t *const *)pa, *b = *(an_entry_t *const *)pb;
    if (a->open_ms != b->open_ms) return a->open_ms < b->open_ms ? -1 : 1;
    for (size_t i = 0; i < sort_op->nkeys; i++) {
        int c = an_compare_nulls_first(&a->key->v[i], &b->key->v[i]);
        if (c) return c;
    }
    return 0;
}

/* Emits one finished group (tumbling or stagger) at `rowtime`. */
static void emit_group(an_op_t *op, an_entry_t *g, int64_t rowtime) {
    an_ctx_t ctx = make_ctx(op->eng);
    an_acc_t *accs = g->state;
    sl_sql_value_t *results = sl_arena_alloc(&op->eng->tmp, (op->naggs + 1) * sizeof *results);
    if (!results) return;
    for (size_t i = 0; i < op->naggs; i++) {
        if (acc_result(&ctx, &op->aggs[i], &accs[i], &results[i])) {
            row_error(op, "Evaluation error", ctx.error, rowtime, g->key->v, g->key->n);
            return;
        }
    }
    ctx.keys = g->key->v;
    ctx.aggs = results;
    ctx.rowtime = rowtime;
    ctx.out_rowtime = rowtime;
    if (op->having) {
        bool pass;
        if (an_eval_cond(&ctx, op->having, &pass)) {
            row_error(op, "Evaluation error", ctx.error, rowtime, g->key->v, g->key->n);
            return;
        }
        if (!pass) return;
    }
    emit(op, &ctx, rowtime, g->key->v, g->key->n);
}

static void entry_free(an_op_t *op, an_entry_t *g) {
    state_sub(op, g->bytes);
    accs_free(g->state, op->naggs);
    free(g->key);
    free(g);
}

/* Tumbling: emits every group of the open window, sorted by key, then forgets them. */
static void group_flush(an_op_t *op, int64_t closing_time) {
    an_map_t *m = &op->groups;
    int64_t end = closing_time;
    if (op->width_key >= 0 && op->cur_mono) {
        const sl_sql_value_t *start = &op->cur_mono->v[0];
        for (size_t i = 0; i < op->nmono; i++)
            if (op->mono[i] == op->width_key) start = &op->cur_mono->v[i];
        if (!start->null)
            end = op->width_months ? an_add_months(start->u.i, op->width_months)
                                   : start->u.i + op->width_ms;
    }
    if (m->n) {
        an_entry_t **v = malloc(m->n * sizeof *v);
        size_t n = 0;
        if (v) {
            for (an_entry_t *g = m->oldest; g; g = g->newer)
                v[n++] = g;
            qsort_r(v, n, sizeof *v, cmp_entries, op);
            for (size_t i = 0; i < n; i++)
                emit_group(op, v[i], end);
            free(v);
        }
        an_entry_t *g = m->oldest;
        while (g) {
            an_entry_t *nx = g->newer;
            entry_free(op, g);
            g = nx;
        }
        free(m->buckets);
        memset(m, 0, sizeof *m);
    }
    free(op->cur_mono);
    op->cur_mono = NULL;
}

/* Stagger: emits and forgets every window whose close time is at or before t. */
static void stagger_close(an_op_t *op, int64_t t) {
    an_map_t *m = &op->groups;
    while (m->oldest && m->oldest->open_ms + op->stagger_ms <= t) {
        int64_t close = m->oldest->open_ms + op->stagger_ms;
        size_t n = 0;
        for (an_entry_t *g = m->oldest; g && g->open_ms + op->stagger_ms == close; g = g->newer)
            n++;
        an_entry_t **v = malloc(n * sizeof *v);
        if (!v) return;
        an_entry_t *g = m->oldest;
        for (size_t i = 0; i < n; i++, g = g->newer)
            v[i] = g;
        for (size_t i = 0; i < n; i++)
            map_remove(m, v[i]);
        qsort_r(v, n, sizeof *v, cmp_entries, op);
        for (size_t i = 0; i < n; i++) {
            emit_group(op, v[i], close);
            entry_free(op, v[i]);
        }
        free(v);
    }
}

an_acc_t *an_accs_new(an_op_t *op) {
    an_acc_t *a = calloc(op->naggs ? op->naggs : 1, sizeof *a);
    if (!a) return NULL;
    for (size_t i = 0; i < op->naggs; i++)
        acc_init(&a[i], op->aggs[i].fn);
    return a;
}

static void group_row(an_op_t *op, an_ctx_t *ctx, int64_t rowtime, const sl_sql_value_t *v,
                      size_t n) {
    sl_sql_value_t *keys = sl_arena_alloc(&op->eng->tmp, (op->nkeys + 1) * sizeof *keys);
    if (!keys) return;
    if (eval_keys(op, ctx, keys)) {
        row_error(op, "Evaluation error", ctx->error, rowtime, v, n);
        return;
    }
    if (op->kind == AN_OP_GROUP) {
        sl_sql_value_t mono[AN_AGGS_MAX];
        for (size_t i = 0; i < op->nmono; i++)
            mono[i] = keys[op->mono[i]];
        if (op->cur_mono) {
            bool same = an_equal_keys(op->cur_mono->v, mono, op->nmono);
            if (!same) {
                bool before = false;
                for (size_t i = 0; i < op->nmono && !before; i++) {
                    int c = an_compare_nulls_first(&mono[i], &op->cur_mono->v[i]);
                    if (c < 0) before = true;
                    if (c != 0) break;
                }
                if (before) {
                    row_error(op, "Late row", "Row arrived after its window closed", rowtime, v, n);
                    return;
                }
                group_flush(op, rowtime);
            }
        }
        if (!op->cur_mono) {
            op->cur_mono = an_row_copy(rowtime, mono, op->nmono);
            if (!op->cur_mono) return;
        }
    } else {
        stagger_close(op, rowtime);
    }
    uint64_t h = an_hash(keys, op->nkeys);
    an_entry_t *g = map_find(&op->groups, keys, op->nkeys, h);
    if (!g) {
        if (op->groups.n >= op->eng->opt.window_groups_max) {
            char msg[128];
            snprintf(msg, sizeof msg, "Window memory limit reached: %zu groups",
                     op->eng->opt.window_groups_max);
            row_error(op, "Window limit", msg, rowtime, v, n);
            return;
        }
        size_t bytes = sizeof *g + an_row_bytes(keys, op->nkeys) + op->naggs * sizeof(an_acc_t);
        if (!state_fits(op, bytes, rowtime, v, n)) return;
        g = an_map_add(&op->groups, keys, op->nkeys, h);
        if (!g) return;
        g->bytes = bytes;
        an_op_state_add(op, bytes);
        g->open_ms = op->kind == AN_OP_STAGGER ? rowtime : 0;
        g->state = an_accs_new(op);
        if (!g->state) return;
    }
    an_acc_t *accs = g->state;
    for (size_t i = 0; i < op->naggs; i++) {
        if (acc_add(ctx, &op->aggs[i], &accs[i])) {
            row_error(op, "Evaluation error", ctx->error, rowtime, v, n);
            return;
        }
    }
}

/* --- sliding windows ----------------------------------------------------------------------- */

static an_row_t *dq_at(const an_deque_t *d, size_t i) {
    return d->rows[(d->head + i) % d->cap];
}

/* Drops the oldest row (op: whose budget it leaves; NULL when the operator is cleared). */
static void dq_pop(an_op_t *op, an_deque_t *d) {
    if (op) state_sub(op, an_row_bytes(d->rows[d->head]->v, d->rows[d->head]->n));
    free(d->rows[d->head]);
    d->head = (d->head + 1) % d->cap;
    d->n--;
}

int an_dq_push(an_deque_t *d, an_row_t *r) {
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 16;
        an_row_t **rows = malloc(cap * sizeof *rows);
        if (!rows) return SL_ENOMEM;
        for (size_t i = 0; i < d->n; i++)
            rows[i] = dq_at(d, i);
        free(d->rows);
        d->rows = rows;
        d->head = 0;
        d->cap = cap;
    }
    d->rows[(d->head + d->n) % d->cap] = r;
    d->n++;
    return 0;
}

static void dq_free(an_deque_t *d) {
    if (!d) return;
    while (d->n)
        dq_pop(NULL, d);
    free(d->rows);
    free(d);
}

/* The value of an analytic call over the window's rows (oldest first; the last is current). */
static int window_value(an_ctx_t *ctx, const an_agg_t *ag, const an_deque_t *d,
                        sl_sql_value_t *out) {
    an_ctx_t c = *ctx;
    size_t n = d->n;
    sl_sql_value_t v;
#define AT(i)                                                                                      \
    (c.row = dq_at(d, (i))->v, c.nrow = dq_at(d, (i))->n, c.rowtime = dq_at(d, (i))->rowtime,      \
     an_eval(&c, ag->args[0], &v))
    memset(out, 0, sizeof *out);
    out->kind = ag->type.kind;
    out->null = true;
    switch (ag->fn) {
    case AN_F_FIRST_VALUE:
    case AN_F_LAST_VALUE:
    case AN_F_NTH_VALUE:
    case AN_F_LAG: {
        bool from_end = ag->fn == AN_F_LAST_VALUE || ag->fn == AN_F_LAG ||
                        (ag->fn == AN_F_NTH_VALUE && ag->from_last);
        int64_t want = ag->fn == AN_F_NTH_VALUE ? ag->args[1]->value.u.i - 1
                       : ag->fn == AN_F_LAG     ? (ag->nargs > 1 ? ag->args[1]->value.u.i : 1)
                                                : 0;
        int64_t seen = 0;
        bool found = false;
        /* LAG counts back from the current row, which itself is offset 0 */
        for (size_t k = 0; k < n; k++) {
            size_t i = from_end ? n - 1 - k : k;
            if (AT(i)) return -1;
            if (ag->ignore_nulls && v.null && !(ag->fn == AN_F_LAG && k == 0)) continue;
            if (seen == want) {
                *out = v;
                found = true;
                break;
            }
            seen++;
        }
        if (!found && ag->fn == AN_F_LAG && ag->nargs > 2) {
            c = *ctx;
            if (an_eval(&c, ag->args[2], &v)) return -1;
            if (v.null)
                out->null = true;
            else
                return an_cast(ctx, &v, &ag->type, out);
        }
        ctx->error = c.error;
        return 0;
    }
    case AN_F_EXP_AVG: {
        double num = 0, den = 0, h = (double)ag->args[1]->value.u.i;
        int64_t now = dq_at(d, n - 1)->rowtime;
        for (size_t i = 0; i < n; i++) {
            if (AT(i)) return -1;
            if (v.null) continue;
            double x = v.kind >= SL_SQL_TINYINT && v.kind <= SL_SQL_BIGINT ? (double)v.u.i : v.u.d;
            double w = exp2(-(double)(now - c.rowtime) / h);
            num += w * x;
            den += w;
        }
        if (den > 0) {
            out->null = false;
            out->u.d = num / den;
        }
        return 0;
    }
    default: {
        an_acc_t a;
        acc_init(&a, ag->fn);
        int rc = 0;
        for (size_t i = 0; i < n && rc == 0; i++) {
            c.row = dq_at(d, i)->v;
            c.nrow = dq_at(d, i)->n;
            c.rowtime = dq_at(d, i)->rowtime;
            rc = acc_add(&c, ag, &a);
        }
        if (rc == 0) rc = acc_result(&c, ag, &a, out);
        /* MIN/MAX point into a->best: copy the value into the row's arena first */
        if (rc == 0 && a.best && !out->null && out->kind >= SL_SQL_CHAR &&
            out->kind <= SL_SQL_VARBINARY) {
            char *p = sl_arena_alloc(ctx->arena, out->u.s.len + 1);
            if (!p)
                rc = -1;
            else {
                memcpy(p, out->u.s.ptr, out->u.s.len);
                out->u.s.ptr = p;
            }
        }
        free(a.best);
        if (rc) ctx->error = c.error ? c.error : "out of memory";
        return rc;
    }
    }
#undef AT
}

static void sliding_row(an_op_t *op, an_ctx_t *ctx, int64_t rowtime, const sl_sql_value_t *v,
                        size_t n) {
    an_deque_t *parts[AN_WINDOWS_MAX];
    sl_sql_value_t keys[32];
    /* first check every bound, so a refused row changes no window */
    for (size_t w = 0; w < op->nwindows; w++) {
        an_window_t *win = &op->windows[w];
        size_t nk = SL_MIN(win->npartition, SL_ARRAY_LEN(keys));
        for (size_t i = 0; i < nk; i++)
            if (an_eval(ctx, win->partition[i], &keys[i])) {
                row_error(op, "Evaluation error", ctx->error, rowtime, v, n);
                return;
            }
        uint64_t h = an_hash(keys, nk);
        an_entry_t *p = map_find(&op->wmaps[w], keys, nk, h);
        if (!p) {
            if (op->wmaps[w].n >= op->eng->opt.window_groups_max) {
                row_error(op, "Window limit", "Window memory limit reached: partitions", rowtime, v,
                          n);
                return;
            }
            size_t bytes = sizeof *p + an_row_bytes(keys, nk) + sizeof(an_deque_t);
            if (!state_fits(op, bytes, rowtime, v, n)) return;
            p = an_map_add(&op->wmaps[w], keys, nk, h);
            if (!p) return;
            p->bytes = bytes;
            an_op_state_add(op, bytes);
            p->state = calloc(1, sizeof(an_deque_t));
            if (!p->state) return;
        }
        an_deque_t *d = p->state;
        const sl_sql_window_t *spec = win->spec;
        /* expire rows that left the window */
        if (spec->current_row && spec->rows) {
            while (d->n)
                dq_pop(op, d);
        } else if (spec->rows) {
            while (d->n > (size_t)spec->rows_n)
                dq_pop(op, d);
        } else {
            int64_t lo = spec->current_row ? rowtime : rowtime - spec->range_ms;
            while (d->n && dq_at(d, 0)->rowtime < lo)
                dq_pop(op, d);
        }
        if (d->n >= op->eng->opt.window_rows_max) {
            char msg[128];
            snprintf(msg, sizeof msg, "Window memory limit reached: %zu rows",
                     op->eng->opt.window_rows_max);
            row_error(op, "Window limit", msg, rowtime, v, n);
            return;
        }
        parts[w] = d;
    }
    size_t row_bytes = an_row_bytes(v, n);
    if (!state_fits(op, op->nwindows * row_bytes, rowtime, v, n)) return;
    for (size_t w = 0; w < op->nwindows; w++) {
        an_row_t *r = an_row_copy(rowtime, v, n);
        if (!r || an_dq_push(parts[w], r)) {
            free(r);
            return;
        }
        an_op_state_add(op, row_bytes);
    }
    sl_sql_value_t *results = sl_arena_alloc(&op->eng->tmp, (op->naggs + 1) * sizeof *results);
    if (!results) return;
    for (size_t i = 0; i < op->naggs; i++) {
        size_t w = (size_t)(op->aggs[i].window - op->windows);
        if (window_value(ctx, &op->aggs[i], parts[w], &results[i])) {
            row_error(op, "Evaluation error", ctx->error ? ctx->error : "error", rowtime, v, n);
            return;
        }
    }
    ctx->aggs = results;
    emit(op, ctx, rowtime, v, n);
}

/* --- ORDER BY: sort within the leading monotonic key, or a T-sort WITHIN an interval ------- */

typedef struct {
    an_op_t *op;
    sl_sql_value_t *keys; /* nbuf x norder */
} sort_ctx_t;

static int cmp_sorted(const void *pa, const void *pb, void *arg) {
    const sort_ctx_t *sc = arg;
    size_t a = *(const size_t *)pa, b = *(const size_t *)pb, n = sc->op->norder;
    for (size_t k = 0; k < n; k++) {
        int c = an_compare_nulls_first(&sc->keys[a * n + k], &sc->keys[b * n + k]);
        if (c) return sc->op->desc[k] ? -c : c;
    }
    return a < b ? -1 : a > b ? 1 : 0; /* stable: arrival order */
}

static void sort_emit_row(an_op_t *op, an_row_t *r, int64_t rowtime) {
    an_ctx_t ctx = make_ctx(op->eng);
    ctx.row = r->v;
    ctx.nrow = r->n;
    ctx.rowtime = rowtime;
    ctx.out_rowtime = rowtime;
    emit(op, &ctx, rowtime, r->v, r->n);
}

/* Emits the buffered rows of one leading key, sorted by the other keys, at the ROWTIME of the
 * latest of them (so the output stays in ROWTIME order). */
static void sort_flush(an_op_t *op) {
    size_t n = op->nbuf;
    if (n) {
        sort_ctx_t sc = {op, malloc(n * op->norder * sizeof(sl_sql_value_t))};
        size_t *idx = malloc(n * sizeof *idx);
        int64_t t = INT64_MIN;
        if (sc.keys && idx) {
            for (size_t i = 0; i < n; i++) {
                an_ctx_t ctx = make_ctx(op->eng);
                ctx.row = op->buf[i]->v;
                ctx.nrow = op->buf[i]->n;
                ctx.rowtime = ctx.out_rowtime = op->buf[i]->rowtime;
                idx[i] = i;
                if (op->buf[i]->rowtime > t) t = op->buf[i]->rowtime;
                for (size_t k = 0; k < op->norder; k++) {
                    sl_sql_value_t *kv = &sc.keys[i * op->norder + k];
                    if (an_eval(&ctx, op->order[k], kv)) {
                        kv->null = true; /* evaluated before: cannot fail now */
                    }
                }
            }
            qsort_r(idx, n, sizeof *idx, cmp_sorted, &sc);
            for (size_t i = 0; i < n; i++)
                sort_emit_row(op, op->buf[idx[i]], t);
        }
        free(sc.keys);
        free(idx);
        for (size_t i = 0; i < n; i++) {
            state_sub(op, an_row_bytes(op->buf[i]->v, op->buf[i]->n));
            free(op->buf[i]);
        }
        op->nbuf = 0;
    }
    free(op->cur_lead);
    op->cur_lead = NULL;
}

/* Buffers a row (its bytes were checked against the budget). */
static int sort_push(an_op_t *op, an_row_t *r) {
    if (op->nbuf == op->capbuf) {
        size_t cap = op->capbuf ? op->capbuf * 2 : 64;
        an_row_t **g = realloc(op->buf, cap * sizeof *g);
        if (!g) return SL_ENOMEM;
        op->buf = g;
        op->capbuf = cap;
    }
    op->buf[op->nbuf++] = r;
    an_op_state_add(op, an_row_bytes(r->v, r->n));
    return 0;
}

static void sort_row(an_op_t *op, an_ctx_t *ctx, int64_t rowtime, const sl_sql_value_t *v,
                     size_t n) {
    if (op->nbuf >= op->eng->opt.window_rows_max) {
        char msg[128];
        snprintf(msg, sizeof msg, "Window memory limit reached: %zu rows",
                 op->eng->opt.window_rows_max);
        row_error(op, "Window limit", msg, rowtime, v, n);
        return;
    }
    if (!state_fits(op, an_row_bytes(v, n), rowtime, v, n)) return;
    if (op->within_ms >= 0) {
        /* T-sort: rows may arrive out of ROWTIME order within the interval */
        if (rowtime < op->sorted_until) {
            row_error(op, "Late row", "Row is later than the ORDER BY ... WITHIN interval", rowtime,
                      v, n);
            return;
        }
        an_row_t *r = an_row_copy(rowtime, v, n);
        if (!r || sort_push(op, r)) {
            free(r);
            return;
        }
        /* keep the buffer sorted by ROWTIME (insertion: rows are nearly in order) */
        size_t i = op->nbuf - 1;
        while (i > 0 && op->buf[i - 1]->rowtime > rowtime) {
            op->buf[i] = op->buf[i - 1];
            i--;
        }
        op->buf[i] = r;
        int64_t newest = INT64_MIN;
        for (size_t k = 0; k < op->nbuf; k++)
            if (op->buf[k]->rowtime > newest) newest = op->buf[k]->rowtime;
        size_t done = 0;
        while (done < op->nbuf && op->buf[done]->rowtime <= newest - op->within_ms) {
            op->sorted_until = op->buf[done]->rowtime;
            sort_emit_row(op, op->buf[done], op->buf[done]->rowtime);
            state_sub(op, an_row_bytes(op->buf[done]->v, op->buf[done]->n));
            free(op->buf[done]);
            done++;
        }
        memmove(op->buf, op->buf + done, (op->nbuf - done) * sizeof *op->buf);
        op->nbuf -= done;
        return;
    }
    sl_sql_value_t lead;
    if (an_eval(ctx, op->order[0], &lead)) {
        row_error(op, "Evaluation error", ctx->error, rowtime, v, n);
        return;
    }
    if (op->cur_lead && !an_equal_keys(&op->cur_lead->v[0], &lead, 1)) sort_flush(op);
    if (!op->cur_lead) {
        op->cur_lead = an_row_copy(rowtime, &lead, 1);
        if (!op->cur_lead) return;
    }
    an_row_t *r = an_row_copy(rowtime, v, n);
    if (!r || sort_push(op, r)) free(r);
}

/* A bound passes the leading key when the key, computed at the bound's time, differs. */
static void sort_bound(an_op_t *op, int64_t t) {
    if (op->within_ms >= 0 || !op->cur_lead || !an_plan_is_monotonic(op->order[0])) return;
    if (op->order[0]->kind == AN_X_FUNC && op->order[0]->fn == AN_F_MONOTONIC) return;
    sl_sql_value_t *nulls = sl_arena_calloc(&op->eng->tmp, op->in.ncols + 1, sizeof *nulls);
    if (!nulls) return;
    for (size_t i = 0; i < op->in.ncols; i++)
        nulls[i].null = true;
    an_ctx_t ctx = make_ctx(op->eng);
    ctx.row = nulls;
    ctx.nrow = op->in.ncols;
    ctx.rowtime = ctx.out_rowtime = t;
    sl_sql_value_t lead;
    if (an_eval(&ctx, op->order[0], &lead) == 0 && !an_equal_keys(&op->cur_lead->v[0], &lead, 1))
        sort_flush(op);
}

/* --- stream-to-stream joins ---------------------------------------------------------------- */

static bool join_preserves(const an_op_t *op, int side) {
    return op->join_kind == SL_SQL_JOIN_FULL ||
           (side == 0 ? op->join_kind == SL_SQL_JOIN_LEFT : op->join_kind == SL_SQL_JOIN_RIGHT);
}

static void op_process(an_op_t *op, int64_t rowtime, const sl_sql_value_t *v, size_t n);

/* Builds the combined row [left columns, right columns, left ROWTIME, right ROWTIME]; a NULL
 * side is padded with NULLs. */
static sl_sql_value_t *join_combine(an_op_t *op, const an_row_t *l, const an_row_t *r,
                                    size_t *total) {
    size_t n = op->jcols[0] + op->jcols[1] + 2;
    sl_sql_value_t *c = sl_arena_calloc(&op->eng->tmp, n, sizeof *c);
    if (!c) return NULL;
    const an_row_t *sides[2] = {l, r};
    size_t at = 0;
    for (int s = 0; s < 2; s++) {
        for (size_t i = 0; i < op->jcols[s]; i++, at++) {
            if (sides[s]) {
                c[at] = sides[s]->v[i];
            } else {
                c[at].null = true;
                c[at].kind = op->in.cols[at].type.kind;
            }
        }
    }
    for (int s = 0; s < 2; s++) {
        c[at].kind = SL_SQL_TIMESTAMP;
        if (sides[s])
            c[at].u.i = sides[s]->rowtime;
        else
            c[at].null = true;
        at++;
    }
    *total = n;
    return c;
}

/* Emits an unmatched row of a preserved side, padded with NULLs, at `rowtime`. */
static void join_emit_unmatched(an_op_t *op, int side, const an_row_t *r, int64_t rowtime) {
    size_t n;
    sl_sql_value_t *c = join_combine(op, side == 0 ? r : NULL, side == 0 ? NULL : r, &n);
    if (c) op_process(op, rowtime, c, n);
}

/* When a stored row leaves its side's window: RANGE windows at ROWTIME + range, ROWS windows
 * when n + 1 newer rows have arrived (then at `now`). */
static int64_t join_expiry(const an_op_t *op, int side, const an_row_t *r) {
    const sl_sql_window_t *w = op->jwin[side];
    if (w->rows) return INT64_MAX;
    return r->rowtime + (w->current_row ? 0 : w->range_ms);
}

/* Drops rows that have left their window before `now`, emitting the unmatched rows of a
 * preserved side, in ROWTIME order across both sides. */
static void join_expire(an_op_t *op, int64_t now) {
    for (;;) {
        int pick = -1;
        int64_t best = INT64_MAX;
        for (int s = 0; s < 2; s++) {
            if (!op->jwin[s] || op->njrows[s] == 0) continue;
            const an_jrow_t *j = &op->jrows[s][0];
            int64_t exp = join_expiry(op, s, j->row);
            bool gone =
                op->jwin[s]->rows ? op->njrows[s] > (size_t)op->jwin[s]->rows_n + 1 : exp < now;
            if (gone && (pick < 0 || (exp < best))) {
                pick = s;
                best = exp;
            }
        }
        if (pick < 0) return;
        an_jrow_t j = op->jrows[pick][0];
        memmove(op->jrows[pick], op->jrows[pick] + 1, (op->njrows[pick] - 1) * sizeof j);
        op->njrows[pick]--;
        state_sub(op, an_row_bytes(j.row->v, j.row->n));
        if (!j.matched && join_preserves(op, pick))
            join_emit_unmatched(op, pick, j.row, op->jwin[pick]->rows ? now : best);
        free(j.row);
    }
}

static void join_row(an_op_t *op, int side, int64_t rowtime, const sl_sql_value_t *v, size_t n) {
    join_expire(op, rowtime);
    int other = 1 - side;
    an_row_t *me = an_row_copy(rowtime, v, n);
    if (!me) return;
    bool matched = false;
    /* the arriving row meets the other side's window (an unwindowed side keeps no rows) */
    for (size_t i = 0; i < op->njrows[other]; i++) {
        an_jrow_t *j = &op->jrows[other][i];
        size_t total;
        sl_sql_value_t *c =
            join_combine(op, side == 0 ? me : j->row, side == 0 ? j->row : me, &total);
        if (!c) break;
        bool hit = true;
        if (op->on) {
            an_ctx_t ctx = make_ctx(op->eng);
            ctx.row = c;
            ctx.nrow = total;
            ctx.rowtime = ctx.out_rowtime = rowtime;
            if (an_eval_cond(&ctx, op->on, &hit)) {
                row_error(op, "Evaluation error", ctx.error, rowtime, c, total);
                continue;
            }
        }
        if (!hit) continue;
        matched = true;
        j->matched = true;
        op_process(op, rowtime, c, total);
    }
    if (op->jwin[side]) {
        if (op->njrows[side] >= op->eng->opt.window_rows_max) {
            row_error(op, "Window limit", "Window memory limit reached: join rows", rowtime, v, n);
            free(me);
            return;
        }
        if (!state_fits(op, an_row_bytes(v, n), rowtime, v, n)) {
            free(me);
            return;
        }
        if (op->njrows[side] == op->capjrows[side]) {
            size_t cap = op->capjrows[side] ? op->capjrows[side] * 2 : 16;
            an_jrow_t *g = realloc(op->jrows[side], cap * sizeof *g);
            if (!g) {
                free(me);
                return;
            }
            op->jrows[side] = g;
            op->capjrows[side] = cap;
        }
        op->jrows[side][op->njrows[side]++] = (an_jrow_t){me, matched};
        an_op_state_add(op, an_row_bytes(v, n));
        join_expire(op, rowtime); /* a ROWS window may now hold one row too many */
        return;
    }
    if (!matched && join_preserves(op, side)) join_emit_unmatched(op, side, me, rowtime);
    free(me);
}

/* A stream row joined with a reference table: one row per matching table row (ON), or, for a
 * LEFT JOIN without a match, one row padded with NULLs. */
static void op_row(an_op_t *op, int64_t rowtime, const sl_sql_value_t *v, size_t n) {
    if (!op->table) {
        op_process(op, rowtime, v, n);
        return;
    }
    an_table_t *t = op->table;
    size_t total = n + t->ncols;
    sl_sql_value_t *row = sl_arena_alloc(&op->eng->tmp, (total + 1) * sizeof *row);
    if (!row) return;
    memcpy(row, v, n * sizeof *row);
    bool matched = false;
    for (size_t r = 0; r < t->nrows; r++) {
        memcpy(row + n, t->rows[r]->v, t->ncols * sizeof *row);
        bool hit = true;
        if (op->on) {
            an_ctx_t ctx = make_ctx(op->eng);
            ctx.row = row;
            ctx.nrow = total;
            ctx.rowtime = ctx.out_rowtime = rowtime;
            if (an_eval_cond(&ctx, op->on, &hit)) {
                row_error(op, "Evaluation error", ctx.error, rowtime, row, total);
                return;
            }
        }
        if (!hit) continue;
        matched = true;
        op_process(op, rowtime, row, total);
        /* op_process may have kept pointers into row: give the next match its own copy */
        row = sl_arena_alloc(&op->eng->tmp, (total + 1) * sizeof *row);
        if (!row) return;
        memcpy(row, v, n * sizeof *row);
    }
    if (!matched && op->left_join) {
        for (size_t c = 0; c < t->ncols; c++) {
            memset(&row[n + c], 0, sizeof row[n + c]);
            row[n + c].kind = t->cols[c].type.kind;
            row[n + c].null = true;
        }
        op_process(op, rowtime, row, total);
    }
}

/* A table function's output row goes on to the enclosing SELECT. */
static void udx_emit(void *arg, int64_t rowtime, const sl_sql_value_t *v, size_t n) {
    an_op_t *op = arg;
    if (op->next) op_row(op->next, rowtime, v, n);
}

static void op_process(an_op_t *op, int64_t rowtime, const sl_sql_value_t *v, size_t n) {
    if (op->kind == AN_OP_UDX) {
        an_udx_row(op->udx, rowtime, v, n, &op->eng->tmp, udx_emit, op);
        return;
    }
    an_ctx_t ctx = make_ctx(op->eng);
    ctx.row = v;
    ctx.nrow = n;
    ctx.rowtime = rowtime;
    ctx.out_rowtime = rowtime;
    if (op->where) {
        bool pass;
        if (an_eval_cond(&ctx, op->where, &pass)) {
            row_error(op, "Evaluation error", ctx.error, rowtime, v, n);
            return;
        }
        if (!pass) {
            /* a filtered row still moves time forward */
            if (op->kind == AN_OP_GROUP || op->kind == AN_OP_STAGGER) op_bound(op, rowtime);
            return;
        }
    }
    switch (op->kind) {
    case AN_OP_PROJECT:
        emit(op, &ctx, rowtime, v, n);
        break;
    case AN_OP_GROUP:
    case AN_OP_STAGGER:
        group_row(op, &ctx, rowtime, v, n);
        break;
    case AN_OP_SLIDING:
        sliding_row(op, &ctx, rowtime, v, n);
        break;
    case AN_OP_SORT:
        sort_row(op, &ctx, rowtime, v, n);
        break;
    default:
        break;
    }
}

static void op_bound(an_op_t *op, int64_t t) {
    if (op->kind == AN_OP_GROUP && op->cur_mono && op->width_key >= 0) {
        /* the open window ends at start + width: a bound at or past it closes the window */
        const sl_sql_value_t *start = NULL;
        for (size_t i = 0; i < op->nmono; i++)
            if (op->mono[i] == op->width_key) start = &op->cur_mono->v[i];
        if (start && !start->null) {
            int64_t end = op->width_months ? an_add_months(start->u.i, op->width_months)
                                           : start->u.i + op->width_ms;
            if (t >= end) group_flush(op, t);
        }
    } else if (op->kind == AN_OP_STAGGER) {
        stagger_close(op, t);
    } else if (op->kind == AN_OP_SORT) {
        sort_bound(op, t);
    } else if (op->kind == AN_OP_UDX) {
        an_udx_bound(op->udx, t, &op->eng->tmp, udx_emit, op);
    }
    if (op->join_source) join_expire(op, t);
    if (op->next) op_bound(op->next, t);
}

void an_op_clear(an_op_t *op) {
    for (an_entry_t *g = op->groups.oldest; g;) {
        an_entry_t *nx = g->newer;
        entry_free(op, g);
        g = nx;
    }
    free(op->groups.buckets);
    memset(&op->groups, 0, sizeof op->groups);
    free(op->cur_mono);
    op->cur_mono = NULL;
    for (size_t w = 0; op->wmaps && w < op->nwindows; w++) {
        for (an_entry_t *p = op->wmaps[w].oldest; p;) {
            an_entry_t *nx = p->newer;
            dq_free(p->state);
            free(p->key);
            free(p);
            p = nx;
        }
        free(op->wmaps[w].buckets);
        memset(&op->wmaps[w], 0, sizeof op->wmaps[w]);
    }
    for (int side = 0; side < 2; side++) {
        for (size_t i = 0; i < op->njrows[side]; i++)
            free(op->jrows[side][i].row);
        op->njrows[side] = 0;
    }
    for (size_t i = 0; i < op->nbuf; i++)
        free(op->buf[i]);
    op->nbuf = 0;
    free(op->cur_lead);
    op->cur_lead = NULL;
    op->sorted_until = 0;
    state_sub(op, op->state_bytes);
}

static void op_free(an_op_t *op) {
    if (!op) return;
    an_op_clear(op);
    free(op->wmaps);
    for (int side = 0; side < 2; side++)
        free(op->jrows[side]);
    free(op->buf);
    an_udx_free(op->udx);
    free(op);
}

/* --- streams ------------------------------------------------------------------------------- */

static void stream_insert(sl_an_engine_t *e, an_stream_t *s, int64_t rowtime,
                          const sl_sql_value_t *v, size_t n, const char *pump) {
    if (rowtime < s->last_rowtime) {
        an_scope_t sc = {.cols = s->cols, .ncols = s->ncols};
        char msg[160];
        snprintf(msg, sizeof msg, "Row is out of ROWTIME order in stream \"%s\"", s->name);
        error_record(e, pump, "Out of order", msg, rowtime, &sc, v, n);
        return;
    }
    s->last_rowtime = rowtime;
    sl_an_row_t row = {rowtime, v, n};
    for (size_t i = 0; i < s->nsubs; i++) {
        if (s->subs[i].op && s->subs[i].op->join_source)
            join_row(s->subs[i].op, s->subs[i].side, rowtime, v, n);
        else if (s->subs[i].op)
            op_row(s->subs[i].op, rowtime, v, n);
        else
            s->subs[i].fn(s->subs[i].ctx, s->name, &row);
    }
}

static an_stream_t *stream_new(const char *name, const sl_sql_column_t *cols, size_t ncols,
                               size_t nvisible) {
    an_stream_t *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->name = name;
    s->cols = calloc(ncols ? ncols : 1, sizeof *s->cols);
    if (!s->cols) {
        free(s);
        return NULL;
    }
    if (ncols) memcpy(s->cols, cols, ncols * sizeof *cols);
    s->ncols = ncols;
    s->nvisible = nvisible;
    s->last_rowtime = INT64_MIN;
    return s;
}

static void stream_free(an_stream_t *s) {
    if (!s) return;
    free(s->cols);
    free(s->subs);
    free(s);
}

/* --- engine -------------------------------------------------------------------------------- */

int sl_an_engine_create(const sl_an_options_t *opt, int64_t now_ms, sl_an_engine_t **out) {
    sl_an_engine_t *e = calloc(1, sizeof *e);
    if (!e) return SL_ENOMEM;
    e->opt = opt ? *opt : sl_an_options_default();
    e->code_hash = 1469598103934665603ull;
    e->now = e->start = now_ms;
    sl_arena_init(&e->names, 4096);
    sl_arena_init(&e->tmp, 64 * 1024);
    static const sl_sql_column_t error_cols[] = {
        {"ERROR_TIME", {.kind = SL_SQL_TIMESTAMP, .len = 0}},
        {"ERROR_LEVEL", {.kind = SL_SQL_VARCHAR, .len = 10}},
        {"ERROR_NAME", {.kind = SL_SQL_VARCHAR, .len = 32}},
        {"MESSAGE", {.kind = SL_SQL_VARCHAR, .len = 4096}},
        {"DATA_ROWTIME", {.kind = SL_SQL_TIMESTAMP, .len = 0}},
        {"DATA_ROW", {.kind = SL_SQL_VARCHAR, .len = 49152}},
        {"PUMP_NAME", {.kind = SL_SQL_VARCHAR, .len = 128}},
    };
    e->errors = stream_new("error_stream", error_cols, 7, 7);
    if (!e->errors || push_ptr((void ***)&e->streams, &e->nstreams, e->errors)) {
        stream_free(e->errors);
        sl_an_engine_destroy(e);
        return SL_ENOMEM;
    }
    e->errors->system = true;
    *out = e;
    return 0;
}

void sl_an_engine_destroy(sl_an_engine_t *e) {
    if (!e) return;
    for (size_t i = 0; i < e->nops; i++)
        op_free(e->ops[i]);
    free(e->ops);
    for (size_t i = 0; i < e->nstreams; i++)
        stream_free(e->streams[i]);
    free(e->streams);
    for (size_t i = 0; i < e->ntables; i++) {
        for (size_t r = 0; r < e->tables[i]->nrows; r++)
            free(e->tables[i]->rows[r]);
        free(e->tables[i]->rows);
        free(e->tables[i]);
    }
    free(e->tables);
    for (size_t i = 0; i < e->narenas; i++)
        sl_arena_deinit(&e->arenas[i]);
    free(e->arenas);
    sl_arena_deinit(&e->names);
    sl_arena_deinit(&e->tmp);
    free(e);
}

int sl_an_engine_add_source(sl_an_engine_t *e, const char *name, const sl_sql_column_t *cols,
                            size_t ncols, sl_sql_error_t *err) {
    memset(err, 0, sizeof *err);
    if (an_find_stream(e->streams, e->nstreams, name)) {
        snprintf(err->message, sizeof err->message, "Stream '%s' already exists", name);
        return SL_EEXIST;
    }
    sl_sql_column_t *all = sl_arena_calloc(&e->names, ncols + 1, sizeof *all);
    char *n = sl_arena_strndup(&e->names, name, strlen(name));
    if (!all || !n) return SL_ENOMEM;
    for (size_t i = 0; i < ncols; i++) {
        all[i] = cols[i];
        all[i].name = sl_arena_strndup(&e->names, cols[i].name, strlen(cols[i].name));
        if (!all[i].name) return SL_ENOMEM;
    }
    all[ncols].name = "APPROXIMATE_ARRIVAL_TIME";
    all[ncols].type.kind = SL_SQL_TIMESTAMP;
    an_stream_t *s = stream_new(n, all, ncols + 1, ncols);
    if (!s) return SL_ENOMEM;
    s->source = true;
    if (push_ptr((void ***)&e->streams, &e->nstreams, s)) {
        stream_free(s);
        return SL_ENOMEM;
    }
    return 0;
}

int sl_an_engine_set_table(sl_an_engine_t *e, const char *name, const sl_sql_column_t *cols,
                           size_t ncols, const sl_sql_value_t *values, size_t nrows,
                           sl_sql_error_t *err) {
    memset(err, 0, sizeof *err);
    an_table_t *t = NULL;
    for (size_t i = 0; i < e->ntables; i++)
        if (strcmp(e->tables[i]->name, name) == 0) t = e->tables[i];
    if (!t && an_find_stream(e->streams, e->nstreams, name)) {
        snprintf(err->message, sizeof err->message, "Object '%s' already exists", name);
        return SL_EEXIST;
    }
    if (t) {
        bool same = t->ncols == ncols;
        for (size_t c = 0; same && c < ncols; c++)
            same = strcmp(t->cols[c].name, cols[c].name) == 0 &&
                   t->cols[c].type.kind == cols[c].type.kind;
        if (!same) {
            snprintf(err->message, sizeof err->message,
                     "The columns of reference table '%s' cannot change while it is in use", name);
            return SL_EINVAL;
        }
    }
    /* convert every row first, so a bad row leaves the old data in place */
    an_row_t **rows = calloc(nrows + 1, sizeof *rows);
    if (!rows) return SL_ENOMEM;
    sl_arena_reset(&e->tmp);
    an_ctx_t ctx = make_ctx(e);
    sl_sql_value_t *row = sl_arena_calloc(&e->tmp, ncols + 1, sizeof *row);
    int rc = row ? 0 : SL_ENOMEM;
    for (size_t r = 0; r < nrows && rc == 0; r++) {
        for (size_t c = 0; c < ncols && rc == 0; c++) {
            if (an_cast(&ctx, &values[r * ncols + c], &cols[c].type, &row[c])) {
                snprintf(err->message, sizeof err->message,
                         "Reference table '%s', row %zu, column '%s': %s", name, r + 1,
                         cols[c].name, ctx.error);
                rc = SL_EINVAL;
            }
        }
        if (rc == 0 && !(rows[r] = an_row_copy(0, row, ncols))) rc = SL_ENOMEM;
    }
    if (rc == 0 && !t) {
        t = calloc(1, sizeof *t);
        sl_sql_column_t *copy = sl_arena_calloc(&e->names, ncols + 1, sizeof *copy);
        char *n = sl_arena_strndup(&e->names, name, strlen(name));
        if (!t || !copy || !n || push_ptr((void ***)&e->tables, &e->ntables, t)) {
            free(t);
            rc = SL_ENOMEM;
        } else {
            for (size_t c = 0; c < ncols; c++) {
                copy[c] = cols[c];
                copy[c].name = sl_arena_strndup(&e->names, cols[c].name, strlen(cols[c].name));
                if (!copy[c].name) rc = SL_ENOMEM;
            }
            t->name = n;
            t->cols = copy;
            t->ncols = ncols;
        }
    }
    if (rc) {
        for (size_t r = 0; r < nrows; r++)
            free(rows[r]);
        free(rows);
        return rc;
    }
    for (size_t r = 0; r < t->nrows; r++)
        free(t->rows[r]);
    free(t->rows);
    t->rows = rows;
    t->nrows = nrows;
    return 0;
}

int sl_an_engine_subscribe(sl_an_engine_t *e, const char *stream, sl_an_sink_fn fn, void *ctx) {
    an_stream_t *s = an_find_stream(e->streams, e->nstreams, stream);
    if (!s) return SL_ENOTFOUND;
    return subscribe(s, NULL, fn, ctx, 0);
}

int sl_an_engine_columns(sl_an_engine_t *e, const char *stream, const sl_sql_column_t **cols,
                         size_t *ncols) {
    an_stream_t *s = an_find_stream(e->streams, e->nstreams, stream);
    if (!s) return SL_ENOTFOUND;
    *cols = s->cols;
    *ncols = s->nvisible;
    return 0;
}

int sl_an_engine_insert(sl_an_engine_t *e, const char *stream, int64_t rowtime_ms,
                        const sl_sql_value_t *values, size_t nvalues) {
    an_stream_t *s = an_find_stream(e->streams, e->nstreams, stream);
    if (!s || !s->source) return SL_ENOTFOUND;
    sl_arena_reset(&e->tmp);
    if (rowtime_ms > e->now) e->now = rowtime_ms;
    an_ctx_t ctx = make_ctx(e);
    sl_sql_value_t *row = sl_arena_calloc(&e->tmp, s->ncols, sizeof *row);
    if (!row) return SL_ENOMEM;
    an_scope_t sc = {.cols = s->cols, .ncols = s->ncols};
    for (size_t i = 0; i < s->ncols; i++) {
        if (i < nvalues) {
            if (an_cast(&ctx, &values[i], &s->cols[i].type, &row[i])) {
                error_record(e, NULL, "Data conversion error", ctx.error, rowtime_ms, &sc, values,
                             SL_MIN(nvalues, s->ncols));
                return 0;
            }
        } else if (i == s->nvisible) { /* APPROXIMATE_ARRIVAL_TIME defaults to the ROWTIME */
            row[i].kind = SL_SQL_TIMESTAMP;
            row[i].u.i = rowtime_ms;
        } else {
            row[i].kind = s->cols[i].type.kind;
            row[i].null = true;
        }
    }
    stream_insert(e, s, rowtime_ms, row, s->ncols, NULL);
    return 0;
}

void sl_an_engine_insert_error(sl_an_engine_t *e, const char *stream, int64_t rowtime_ms,
                               const char *message, const void *data, size_t len) {
    sl_arena_reset(&e->tmp);
    if (rowtime_ms > e->now) e->now = rowtime_ms;
    (void)stream;
    size_t n = SL_MIN(len, SL_ANALYTICS_ERROR_DATA_MAX_BYTES / 2);
    char *hex = sl_arena_alloc(&e->tmp, 2 * n + 1);
    if (!hex) return;
    for (size_t i = 0; i < n; i++)
        snprintf(hex + 2 * i, 3, "%02x", ((const unsigned char *)data)[i]);
    error_record_hex(e, NULL, "Data conversion error", message, rowtime_ms, hex, 2 * n);
}

void sl_an_engine_advance(sl_an_engine_t *e, int64_t now_ms) {
    sl_arena_reset(&e->tmp);
    if (now_ms > e->now) e->now = now_ms;
    for (size_t i = 0; i < e->nstreams; i++) {
        an_stream_t *s = e->streams[i];
        if (now_ms > s->last_rowtime && !s->system) s->last_rowtime = now_ms;
        for (size_t k = 0; k < s->nsubs; k++)
            if (s->subs[k].op) op_bound(s->subs[k].op, now_ms);
    }
}

/* --- planning pumps ------------------------------------------------------------------------ */

typedef struct {
    sl_an_engine_t *e;
    sl_arena_t *arena;
    sl_sql_error_t *err;
    an_stream_t **streams; /* the engine's and this load's */
    size_t nstreams;
    an_op_t **ops; /* this load's */
    size_t nops;
    bool failed;
} an_load_t;

static int load_fail(an_load_t *ld, const sl_sql_pos_t *pos, const char *fmt, const char *a,
                     const char *b) {
    an_cc_t cc = {.err = ld->err};
    an_plan_fail(&cc, pos, fmt, a, b);
    ld->failed = true;
    return -1;
}

static const char *item_name(const sl_sql_item_t *it, size_t i, sl_arena_t *a) {
    if (it->alias) return it->alias;
    if (it->expr->kind == SL_SQL_E_COL) return it->expr->parts[it->expr->nparts - 1];
    if (it->expr->kind == SL_SQL_E_FIELD) return it->expr->parts[0];
    return sl_arena_sprintf(a, "EXPR$%zu", i);
}

static an_op_t *plan_select(an_load_t *ld, const char *pump, const sl_sql_select_t *sel,
                            an_op_t **first);

/* FROM TABLE(F(CURSOR(query), args...)): plans the cursor's SELECT, then the function as an
 * operator between it and `op` (which reads the function's output columns). */
static bool plan_table_fn(an_load_t *ld, const char *pump, const sl_sql_from_t *f, an_op_t *op,
                          an_op_t **first) {
    const sl_sql_expr_t *fn = f->fn;
    const char *name = fn->parts[0];
    if (!an_udx_known(name)) {
        load_fail(ld, &fn->pos, "No match found for function signature %s%s", name, "");
        return false;
    }
    if (fn->nargs < 1 || fn->args[0]->kind != SL_SQL_E_CURSOR) {
        load_fail(ld, &fn->pos, "The first argument of %s must be CURSOR(SELECT STREAM ...)%s",
                  name, "");
        return false;
    }
    const sl_sql_query_t *q = fn->args[0]->query;
    if (q->nselects != 1 || q->norder) {
        load_fail(ld, &q->pos, "%s%s", "UNION ALL and ORDER BY inside CURSOR are not supported yet",
                  "");
        return false;
    }
    for (size_t i = 1; i < fn->nargs; i++)
        if (fn->args[i]->kind == SL_SQL_E_CURSOR) {
            load_fail(ld, &fn->args[i]->pos, "%s takes one CURSOR%s", name, "");
            return false;
        }
    an_op_t *inner_first;
    an_op_t *inner = plan_select(ld, pump, q->selects[0], &inner_first);
    if (!inner) return false;
    an_op_t *u = calloc(1, sizeof *u);
    if (!u || push_ptr((void ***)&ld->ops, &ld->nops, u)) {
        free(u);
        load_fail(ld, NULL, "%s%s", "out of memory", "");
        return false;
    }
    u->kind = AN_OP_UDX;
    u->eng = ld->e;
    u->pump = pump;
    u->rowtime_item = -1;
    u->width_key = -1;
    u->in.cols = inner->out;
    u->in.ncols = u->in.nvisible = inner->nout;
    u->source = inner_first->source;
    char msg[400];
    sl_sql_column_t *cols;
    size_t ncols;
    if (an_udx_plan(name, fn->args + 1, fn->nargs - 1, inner->out, inner->nout, ld->arena, &u->udx,
                    &cols, &ncols, msg, sizeof msg)) {
        load_fail(ld, &fn->pos, "%s%s", msg, "");
        return false;
    }
    u->out = cols;
    u->nout = ncols;
    inner->next = u;
    u->next = op;
    *first = inner_first;
    op->source = inner_first->source;
    op->in.qualifier = f->alias;
    op->in.alias = f->alias;
    op->in.cols = cols;
    op->in.ncols = op->in.nvisible = ncols;
    return true;
}

/* Plans one SELECT: returns its operator (the chain's last), sets *first to the chain's first. */
static an_op_t *plan_select(an_load_t *ld, const char *pump, const sl_sql_select_t *sel,
                            an_op_t **first) {
    /* the documentation's table-function queries often leave STREAM out: accept both */
    if (!sel->stream && !(sel->nfrom && sel->from[0].kind == SL_SQL_FROM_TABLE_FN)) {
        load_fail(ld, &sel->pos, "%s%s",
                  "SELECT on a stream needs the STREAM keyword: SELECT "
                  "STREAM ...",
                  "");
        return NULL;
    }
    an_table_t *table = NULL;
    if (sel->nfrom == 2 && sel->from[1].kind == SL_SQL_FROM_STREAM && !sel->from[1].over &&
        !sel->from[1].over_name) {
        for (size_t i = 0; i < ld->e->ntables; i++)
            if (strcmp(ld->e->tables[i]->name, sel->from[1].name) == 0) table = ld->e->tables[i];
    }
    an_stream_t *right = NULL;
    if (sel->nfrom == 2 && !table) {
        const sl_sql_from_t *rf = &sel->from[1];
        if (rf->kind != SL_SQL_FROM_STREAM || sel->from[0].kind != SL_SQL_FROM_STREAM) {
            load_fail(ld, &rf->pos, "%s%s", "A join of two streams names both streams", "");
            return NULL;
        }
        right = an_find_stream(ld->streams, ld->nstreams, rf->name);
        if (!right || right->system) {
            load_fail(ld, &rf->pos, "Object '%s' not found%s", rf->name, "");
            return NULL;
        }
    }
    if (sel->nfrom > 2) {
        load_fail(ld, &sel->from[2].pos, "%s%s", "A SELECT joins at most two inputs", "");
        return NULL;
    }
    if (table && sel->from[1].join != SL_SQL_JOIN_INNER && sel->from[1].join != SL_SQL_JOIN_LEFT &&
        sel->from[1].join != SL_SQL_JOIN_CROSS) {
        load_fail(ld, &sel->from[1].pos, "%s%s",
                  "A reference table joins a stream with [INNER] JOIN, LEFT JOIN or CROSS JOIN",
                  "");
        return NULL;
    }
    an_op_t *op = calloc(1, sizeof *op);
    if (!op || push_ptr((void ***)&ld->ops, &ld->nops, op)) {
        free(op);
        load_fail(ld, NULL, "%s%s", "out of memory", "");
        return NULL;
    }
    op->eng = ld->e;
    op->pump = pump;
    op->rowtime_item = -1;
    op->width_key = -1;
    const sl_sql_from_t *f = &sel->from[0];
    *first = op;
    if (f->kind == SL_SQL_FROM_STREAM) {
        an_stream_t *s = an_find_stream(ld->streams, ld->nstreams, f->name);
        if (!s || s->system) {
            load_fail(ld, &f->pos, "Object '%s' not found%s", f->name, "");
            return NULL;
        }
        if ((f->over || f->over_name) && !right) {
            load_fail(ld, &f->pos, "%s%s", "OVER on a FROM item is only allowed in a join", "");
            return NULL;
        }
        op->source = s;
        op->reads_source = true;
        op->in.qualifier = f->alias ? f->alias : s->name;
        op->in.stream_name = s->name;
        op->in.alias = f->alias;
        op->in.cols = s->cols;
        op->in.ncols = s->ncols;
        op->in.nvisible = s->nvisible;
    } else if (f->kind == SL_SQL_FROM_QUERY) {
        const sl_sql_query_t *q = f->query;
        if (q->nselects != 1 || q->norder) {
            load_fail(ld, &f->pos, "%s%s",
                      "UNION ALL and ORDER BY inside a FROM subquery are not supported yet", "");
            return NULL;
        }
        an_op_t *inner_first;
        an_op_t *inner = plan_select(ld, pump, q->selects[0], &inner_first);
        if (!inner) return NULL;
        inner->next = op;
        *first = inner_first;
        op->source = inner_first->source;
        op->in.qualifier = f->alias;
        op->in.alias = f->alias;
        op->in.cols = inner->out;
        op->in.ncols = inner->nout;
        op->in.nvisible = inner->nout;
        if (f->ncol_aliases) {
            if (f->ncol_aliases != inner->nout) {
                load_fail(ld, &f->pos, "%s%s",
                          "List of column aliases must have same degree as table", "");
                return NULL;
            }
            sl_sql_column_t *cols = sl_arena_calloc(ld->arena, inner->nout, sizeof *cols);
            if (!cols) return NULL;
            for (size_t i = 0; i < inner->nout; i++) {
                cols[i] = inner->out[i];
                cols[i].name = f->col_aliases[i];
            }
            op->in.cols = cols;
        }
    } else if (!plan_table_fn(ld, pump, f, op, first)) {
        return NULL;
    }

    if (table) {
        const sl_sql_from_t *tf = &sel->from[1];
        sl_sql_column_t *all =
            sl_arena_calloc(ld->arena, op->in.ncols + table->ncols + 1, sizeof *all);
        if (!all) return NULL;
        memcpy(all, op->in.cols, op->in.ncols * sizeof *all);
        memcpy(all + op->in.ncols, table->cols, table->ncols * sizeof *all);
        op->in.has_table = true;
        op->in.table_first = op->in.ncols;
        op->in.table_name = table->name;
        op->in.table_alias = tf->alias;
        op->in.table_qualifier = tf->alias ? tf->alias : table->name;
        op->in.cols = all;
        op->in.ncols += table->ncols;
        op->table = table;
        op->left_join = tf->join == SL_SQL_JOIN_LEFT;
    }
    if (right) {
        const sl_sql_from_t *rf = &sel->from[1];
        for (int side = 0; side < 2; side++) {
            const sl_sql_from_t *sf = &sel->from[side];
            const sl_sql_window_t *w = sf->over;
            if (!w && sf->over_name) {
                for (size_t i = 0; i < sel->nwindows; i++)
                    if (strcmp(sel->windows[i]->name, sf->over_name) == 0) w = sel->windows[i];
                if (!w) {
                    load_fail(ld, &sf->pos, "Window '%s' not found%s", sf->over_name, "");
                    return NULL;
                }
            }
            if (w && (w->npartition || !w->framed)) {
                load_fail(ld, &w->pos, "%s%s",
                          "The window of a join needs a frame (RANGE INTERVAL ... PRECEDING or "
                          "ROWS n PRECEDING) and no PARTITION BY",
                          "");
                return NULL;
            }
            op->jwin[side] = w;
        }
        if (!op->jwin[0] && !op->jwin[1]) {
            load_fail(ld, &rf->pos, "%s%s",
                      "A join of two streams needs a window (OVER) on at least one side", "");
            return NULL;
        }
        sl_sql_column_t *all =
            sl_arena_calloc(ld->arena, op->in.ncols + right->ncols + 1, sizeof *all);
        if (!all) return NULL;
        memcpy(all, op->in.cols, op->in.ncols * sizeof *all);
        memcpy(all + op->in.ncols, right->cols, right->ncols * sizeof *all);
        op->jcols[0] = op->in.ncols;
        op->jcols[1] = right->ncols;
        op->in.has_table = true;
        op->in.table_first = op->in.ncols;
        op->in.table_name = right->name;
        op->in.table_alias = rf->alias;
        op->in.table_qualifier = rf->alias ? rf->alias : right->name;
        op->in.cols = all;
        op->in.ncols += right->ncols;
        op->in.side_rowtimes = true;
        op->in.rowtime_first = op->in.ncols;
        op->join_source = right;
        op->join_kind = rf->join == SL_SQL_JOIN_CROSS ? SL_SQL_JOIN_INNER : rf->join;
    }
    an_cc_t *cc = sl_arena_calloc(ld->arena, 1, sizeof *cc);
    if (!cc) return NULL;
    cc->arena = ld->arena;
    cc->err = ld->err;
    cc->scope = &op->in;
    if ((table || right) && sel->from[1].on) {
        cc->clause = "ON";
        op->on = an_plan_expr(cc, sel->from[1].on);
        if (!op->on) goto fail;
        if (op->on->type.kind != SL_SQL_BOOLEAN && op->on->type.kind != SL_SQL_NULL) {
            an_plan_fail(cc, &sel->from[1].on->pos, "ON clause must be a condition");
            goto fail;
        }
        cc->clause = NULL;
    }
    cc->window_defs = sel->windows;
    cc->nwindow_defs = sel->nwindows;
    for (size_t i = 0; i < sel->nwindows; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(sel->windows[i]->name, sel->windows[j]->name) == 0) {
                load_fail(ld, &sel->windows[i]->pos, "Duplicate window name '%s'%s",
                          sel->windows[i]->name, "");
                return NULL;
            }
    /* which operator: aggregates without OVER make a group, OVER calls a sliding window */
    bool has_agg = sel->having != NULL, has_over = false;
    for (size_t i = 0; i < sel->nitems; i++) {
        has_agg |= an_ast_has_aggregate(sel->items[i].expr, false);
        has_over |= an_ast_has_aggregate(sel->items[i].expr, true);
    }
    /* SELECT STREAM DISTINCT is a streaming GROUP BY of every select item (as Calcite plans it):
     * one row per distinct value set, when the monotonic item moves on */
    sl_sql_expr_t **group = sel->group;
    size_t ngroup = sel->ngroup;
    if (sel->distinct) {
        if (sel->stagger || sel->ngroup || has_agg || has_over) {
            load_fail(ld, &sel->pos, "%s%s",
                      "SELECT STREAM DISTINCT cannot be combined with GROUP BY, aggregates or "
                      "windows",
                      "");
            return NULL;
        }
        group = sl_arena_calloc(ld->arena, sel->nitems + 1, sizeof *group);
        if (!group) return NULL;
        for (size_t i = 0; i < sel->nitems; i++) {
            if (sel->items[i].expr->kind == SL_SQL_E_STAR) {
                load_fail(ld, &sel->items[i].expr->pos, "%s%s",
                          "SELECT STREAM DISTINCT needs its columns named, not *", "");
                return NULL;
            }
            group[i] = sel->items[i].expr;
        }
        ngroup = sel->nitems;
    }
    if (sel->stagger)
        op->kind = AN_OP_STAGGER;
    else if (ngroup || has_agg)
        op->kind = AN_OP_GROUP;
    else if (has_over)
        op->kind = AN_OP_SLIDING;
    else
        op->kind = AN_OP_PROJECT;
    if (has_over && op->kind != AN_OP_SLIDING) {
        load_fail(ld, &sel->pos, "%s%s",
                  "Windowed aggregates (OVER) cannot be mixed with GROUP BY or aggregates", "");
        return NULL;
    }
    if (sel->where) {
        cc->clause = "WHERE";
        op->where = an_plan_expr(cc, sel->where);
        if (!op->where) goto fail;
        if (op->where->type.kind != SL_SQL_BOOLEAN && op->where->type.kind != SL_SQL_NULL) {
            an_plan_fail(cc, &sel->where->pos, "WHERE clause must be a condition");
            goto fail;
        }
    }
    if (op->kind == AN_OP_GROUP || op->kind == AN_OP_STAGGER) {
        cc->clause = sel->stagger ? "PARTITION BY" : "GROUP BY";
        op->nkeys = ngroup;
        op->keys = sl_arena_calloc(ld->arena, ngroup + 1, sizeof *op->keys);
        op->mono = sl_arena_calloc(ld->arena, ngroup + 1, sizeof *op->mono);
        if (!op->keys || !op->mono) goto fail;
        for (size_t i = 0; i < ngroup; i++) {
            op->keys[i] = an_plan_expr(cc, group[i]);
            if (!op->keys[i]) goto fail;
            if (op->keys[i]->type.kind == SL_SQL_ROW) {
                an_plan_fail(cc, &group[i]->pos, "Cannot group by a ROW");
                goto fail;
            }
            if (op->kind == AN_OP_GROUP && an_plan_is_monotonic(op->keys[i])) {
                op->mono[op->nmono++] = (int)i;
                int64_t ms, months;
                if (op->width_key < 0 && an_plan_window_width(op->keys[i], &ms, &months)) {
                    op->width_key = (int)i;
                    op->width_ms = ms;
                    op->width_months = months;
                }
            }
        }
        if (op->kind == AN_OP_GROUP && op->nmono == 0) {
            an_plan_fail(cc, &sel->pos,
                         sel->distinct ? "Streaming SELECT DISTINCT requires at least one "
                                         "monotonic expression in the select list"
                                       : "Streaming aggregation requires at least one monotonic "
                                         "expression in GROUP BY clause");
            goto fail;
        }
        op->stagger_ms = sel->stagger_ms;
        if (sel->stagger && sel->stagger_ms <= 0) {
            an_plan_fail(cc, &sel->pos, "The RANGE of a stagger window must be positive");
            goto fail;
        }
        cc->aggs_allowed = true;
    } else if (op->kind == AN_OP_SLIDING) {
        cc->over_allowed = true;
    }
    cc->clause = NULL;
    /* the select list, with * expanded */
    size_t cap = 0;
    for (size_t i = 0; i < sel->nitems; i++)
        cap += sel->items[i].expr->kind == SL_SQL_E_STAR ? op->in.ncols : 1;
    op->items = sl_arena_calloc(ld->arena, cap + 1, sizeof *op->items);
    op->out = sl_arena_calloc(ld->arena, cap + 1, sizeof *op->out);
    op->out_item = sl_arena_calloc(ld->arena, cap + 1, sizeof *op->out_item);
    if (!op->items || !op->out || !op->out_item) goto fail;
    for (size_t i = 0; i < sel->nitems; i++) {
        const sl_sql_item_t *it = &sel->items[i];
        if (it->expr->kind == SL_SQL_E_STAR) {
            /* the stream's visible columns, then the table's; alias.* names one side */
            bool want[2] = {true, op->in.has_table};
            if (it->expr->nparts) {
                const char *q = it->expr->parts[0];
                bool s0 =
                    (op->in.qualifier && strcmp(q, op->in.qualifier) == 0) ||
                    (!op->in.alias && op->in.stream_name && strcmp(q, op->in.stream_name) == 0);
                bool s1 = op->in.has_table &&
                          (strcmp(q, op->in.table_qualifier) == 0 ||
                           (!op->in.table_alias && strcmp(q, op->in.table_name) == 0));
                if (!s0 && !s1) {
                    an_plan_fail(cc, &it->expr->pos, "Table '%s' not found", q);
                    goto fail;
                }
                want[0] = s0;
                want[1] = s1;
            }
            for (int side = 0; side < 2; side++) {
                if (!want[side]) continue;
                size_t lo = side ? op->in.table_first : 0;
                size_t hi = side ? op->in.ncols : op->in.nvisible;
                for (size_t c = lo; c < hi; c++) {
                    an_expr_t *x = sl_arena_calloc(ld->arena, 1, sizeof *x);
                    if (!x) goto fail;
                    x->kind = AN_X_COL;
                    x->slot = (int)c;
                    x->type = op->in.cols[c].type;
                    if (side) x->type.not_null = false;
                    if (op->kind == AN_OP_GROUP || op->kind == AN_OP_STAGGER) {
                        x = an_plan_grouped(cc, x, op->keys, op->nkeys);
                        if (!x) goto fail;
                    }
                    op->out[op->nout] = (sl_sql_column_t){op->in.cols[c].name, x->type};
                    op->out_item[op->nout++] = (int)op->nitems;
                    op->items[op->nitems++] = x;
                }
            }
            continue;
        }
        an_expr_t *x = an_plan_expr(cc, it->expr);
        if (!x) goto fail;
        if (op->kind == AN_OP_GROUP || op->kind == AN_OP_STAGGER) {
            x = an_plan_grouped(cc, x, op->keys, op->nkeys);
            if (!x) goto fail;
        }
        const char *name = item_name(it, i, ld->arena);
        bool is_rowtime = (it->alias && strcmp(it->alias, "ROWTIME") == 0) ||
                          (!it->alias && it->expr->kind == SL_SQL_E_COL &&
                           strcmp(it->expr->parts[it->expr->nparts - 1], "ROWTIME") == 0);
        if (is_rowtime && op->rowtime_item < 0) {
            if (x->type.kind != SL_SQL_TIMESTAMP) {
                an_plan_fail(cc, &it->expr->pos, "ROWTIME must be a TIMESTAMP");
                goto fail;
            }
            op->rowtime_item = (int)op->nitems;
            op->items[op->nitems++] = x;
            continue;
        }
        op->out[op->nout] = (sl_sql_column_t){name, x->type};
        op->out_item[op->nout++] = (int)op->nitems;
        op->items[op->nitems++] = x;
    }
    if (sel->having) {
        if (op->kind != AN_OP_GROUP && op->kind != AN_OP_STAGGER) {
            an_plan_fail(cc, &sel->having->pos, "HAVING requires GROUP BY");
            goto fail;
        }
        op->having = an_plan_expr(cc, sel->having);
        if (!op->having) goto fail;
        op->having = an_plan_grouped(cc, op->having, op->keys, op->nkeys);
        if (!op->having) goto fail;
        if (op->having->type.kind != SL_SQL_BOOLEAN) {
            an_plan_fail(cc, &sel->having->pos, "HAVING clause must be a condition");
            goto fail;
        }
    }
    op->naggs = cc->naggs;
    op->aggs = sl_arena_calloc(ld->arena, cc->naggs + 1, sizeof *op->aggs);
    op->nwindows = cc->nwindows;
    op->windows = sl_arena_calloc(ld->arena, cc->nwindows + 1, sizeof *op->windows);
    if (!op->aggs || !op->windows) goto fail;
    memcpy(op->windows, cc->windows, cc->nwindows * sizeof *op->windows);
    for (size_t i = 0; i < cc->naggs; i++) {
        op->aggs[i] = cc->aggs[i];
        if (cc->aggs[i].window)
            op->aggs[i].window = op->windows + (cc->aggs[i].window - cc->windows);
    }
    if (op->nwindows) {
        op->wmaps = calloc(op->nwindows, sizeof *op->wmaps);
        if (!op->wmaps) goto fail;
    }
    return op;
fail:
    ld->failed = true;
    return NULL;
}

static bool assignable(const sl_sql_type_t *from, const sl_sql_type_t *to) {
    int a = from->kind, b = to->kind;
    if (a == SL_SQL_NULL || a == b) return true;
    bool num_a = a >= SL_SQL_TINYINT && a <= SL_SQL_DOUBLE,
         num_b = b >= SL_SQL_TINYINT && b <= SL_SQL_DOUBLE;
    bool txt_a = a == SL_SQL_CHAR || a == SL_SQL_VARCHAR,
         txt_b = b == SL_SQL_CHAR || b == SL_SQL_VARCHAR;
    bool bin_a = a == SL_SQL_BINARY || a == SL_SQL_VARBINARY,
         bin_b = b == SL_SQL_BINARY || b == SL_SQL_VARBINARY;
    if ((num_a && num_b) || (txt_a && txt_b) || (bin_a && bin_b)) return true;
    if (a == SL_SQL_TIMESTAMP && (b == SL_SQL_DATE || b == SL_SQL_TIME)) return true;
    if (a == SL_SQL_DATE && b == SL_SQL_TIMESTAMP) return true;
    return false;
}

/* ORDER BY of a query: an operator after its SELECTs that sorts within the leading monotonic key
 * (ORDER BY FLOOR(s.ROWTIME TO SECOND), score DESC), or a T-sort (ORDER BY ... WITHIN interval)
 * that puts rows selected AS ROWTIME back in order. */
static int plan_sort(an_load_t *ld, const sl_sql_stmt_t *st, const sl_sql_query_t *q,
                     an_op_t **selects, an_stream_t *t, int *cols) {
    an_op_t *op = calloc(1, sizeof *op);
    if (!op || push_ptr((void ***)&ld->ops, &ld->nops, op)) {
        free(op);
        return load_fail(ld, NULL, "%s%s", "out of memory", "");
    }
    const an_op_t *first = selects[0];
    const sl_sql_from_t *f = &q->selects[0]->from[0];
    op->kind = AN_OP_SORT;
    op->eng = ld->e;
    op->pump = st->name;
    op->rowtime_item = -1;
    op->width_key = -1;
    op->within_ms = q->within_ms;
    op->in.cols = first->out;
    op->in.ncols = op->in.nvisible = first->nout;
    op->in.qualifier = f->alias ? f->alias : f->name;
    op->in.stream_name = f->name;
    op->in.alias = f->alias;
    op->source = first->source;
    op->target = t;
    op->target_col = cols;
    op->nout = first->nout;
    op->out = first->out;
    op->items = sl_arena_calloc(ld->arena, op->nout + 1, sizeof *op->items);
    op->out_item = sl_arena_calloc(ld->arena, op->nout + 1, sizeof *op->out_item);
    op->order = sl_arena_calloc(ld->arena, q->norder, sizeof *op->order);
    op->desc = sl_arena_calloc(ld->arena, q->norder, sizeof *op->desc);
    an_cc_t *cc = sl_arena_calloc(ld->arena, 1, sizeof *cc);
    if (!op->items || !op->out_item || !op->order || !op->desc || !cc)
        return load_fail(ld, NULL, "%s%s", "out of memory", "");
    for (size_t i = 0; i < op->nout; i++) {
        an_expr_t *x = sl_arena_calloc(ld->arena, 1, sizeof *x);
        if (!x) return load_fail(ld, NULL, "%s%s", "out of memory", "");
        x->kind = AN_X_COL;
        x->slot = (int)i;
        x->type = op->out[i].type;
        op->items[i] = x;
        op->out_item[i] = (int)i;
    }
    op->nitems = op->nout;
    for (size_t s = 0; s < q->nselects; s++) {
        selects[s]->target = NULL;
        selects[s]->target_col = NULL;
        selects[s]->next = op;
    }
    if (q->within_ms >= 0) {
        for (size_t s = 0; s < q->nselects; s++)
            if (selects[s]->rowtime_item < 0)
                return load_fail(ld, &q->order[0].expr->pos, "%s%s",
                                 "ORDER BY ... WITHIN needs the sort key selected AS ROWTIME", "");
        for (size_t k = 0; k < q->norder; k++)
            if (q->order[k].desc)
                return load_fail(ld, &q->order[k].expr->pos, "%s%s",
                                 "DESC is not allowed in ORDER BY ... WITHIN", "");
        return 0;
    }
    cc->arena = ld->arena;
    cc->err = ld->err;
    cc->scope = &op->in;
    cc->clause = "ORDER BY";
    for (size_t k = 0; k < q->norder; k++) {
        op->order[k] = an_plan_expr(cc, q->order[k].expr);
        if (!op->order[k]) {
            ld->failed = true;
            return -1;
        }
        op->desc[k] = q->order[k].desc;
    }
    op->norder = q->norder;
    if (!an_plan_is_monotonic(op->order[0]) || op->desc[0])
        return load_fail(ld, &q->order[0].expr->pos, "%s%s",
                         "Streaming ORDER BY must start with monotonic expression", "");
    return 0;
}

static int plan_insert(an_load_t *ld, const sl_sql_stmt_t *st) {
    an_stream_t *t = an_find_stream(ld->streams, ld->nstreams, st->target);
    if (!t || t->system) return load_fail(ld, &st->pos, "Object '%s' not found%s", st->target, "");
    if (t->source)
        return load_fail(ld, &st->pos, "Cannot insert into the input stream '%s'%s", st->target,
                         "");
    const sl_sql_query_t *q = st->query;
    /* the target's columns: all, or the named ones */
    int *cols = sl_arena_calloc(ld->arena, t->ncols + 1, sizeof *cols);
    size_t ncols = 0;
    if (!cols) return load_fail(ld, NULL, "%s%s", "out of memory", "");
    if (st->ntarget_cols) {
        for (size_t i = 0; i < st->ntarget_cols; i++) {
            size_t j = 0;
            while (j < t->ncols && strcmp(t->cols[j].name, st->target_cols[i]) != 0)
                j++;
            if (j == t->ncols)
                return load_fail(ld, &st->pos, "Unknown target column '%s'%s", st->target_cols[i],
                                 "");
            cols[ncols++] = (int)j;
        }
    } else {
        for (size_t j = 0; j < t->ncols; j++)
            cols[ncols++] = (int)j;
    }
    an_op_t **ops = sl_arena_calloc(ld->arena, q->nselects + 1, sizeof *ops);
    if (!ops) return load_fail(ld, NULL, "%s%s", "out of memory", "");
    for (size_t s = 0; s < q->nselects; s++) {
        an_op_t *first;
        an_op_t *op = plan_select(ld, st->name, q->selects[s], &first);
        if (!op) return -1;
        if (op->nout != ncols) {
            char a[32], b[32];
            snprintf(a, sizeof a, "%zu", ncols);
            snprintf(b, sizeof b, "%zu", op->nout);
            return load_fail(ld, &q->selects[s]->pos,
                             "Number of INSERT target columns (%s) does not equal number of "
                             "source items (%s)",
                             a, b);
        }
        for (size_t i = 0; i < ncols; i++) {
            const sl_sql_column_t *tc = &t->cols[cols[i]];
            if (!assignable(&op->out[i].type, &tc->type)) {
                char msg[400], ta[64], tb[64];
                sl_sql_type_format(&tc->type, ta, sizeof ta);
                sl_sql_type_format(&op->out[i].type, tb, sizeof tb);
                snprintf(msg, sizeof msg,
                         "Cannot assign to target field '%s' of type %s from source field '%s' of "
                         "type %s",
                         tc->name, ta, op->out[i].name, tb);
                return load_fail(ld, &q->selects[s]->items[0].expr->pos, "%s%s", msg, "");
            }
        }
        op->target = t;
        op->target_col = cols;
        ops[s] = op;
    }
    if (q->norder) return plan_sort(ld, st, q, ops, t, cols);
    return 0;
}

static an_stream_t *chain_target(const an_op_t *op) {
    while (op->next)
        op = op->next;
    return op->target;
}

/* Orders streams so that every pump's source comes before its target (bounds close windows
 * upstream first); a cycle is an error. */
static int order_streams(an_load_t *ld, an_stream_t ***out) {
    size_t n = ld->nstreams;
    an_stream_t **order = calloc(n + 1, sizeof *order);
    bool *done = calloc(n + 1, sizeof *done);
    if (!order || !done) {
        free(order);
        free(done);
        return load_fail(ld, NULL, "%s%s", "out of memory", "");
    }
    /* edges: source -> target of every pump (engine's and this load's) */
    an_op_t **all[2] = {ld->e->ops, ld->ops};
    size_t alln[2] = {ld->e->nops, ld->nops};
    for (size_t i = 0; i < n; i++)
        ld->streams[i]->indegree = 0;
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; i < alln[k]; i++)
            if (all[k][i]->source && chain_target(all[k][i])) {
                chain_target(all[k][i])->indegree++;
                if (all[k][i]->join_source) chain_target(all[k][i])->indegree++;
            }
    size_t placed = 0;
    while (placed < n) {
        size_t pick = n;
        for (size_t i = 0; i < n && pick == n; i++)
            if (!done[i] && ld->streams[i]->indegree == 0) pick = i;
        if (pick == n) {
            for (size_t i = 0; i < n; i++)
                if (!done[i]) {
                    free(order);
                    free(done);
                    return load_fail(ld, NULL, "Pumps form a cycle through stream '%s'%s",
                                     ld->streams[i]->name, "");
                }
        }
        done[pick] = true;
        an_stream_t *s = ld->streams[pick];
        order[placed++] = s;
        for (int k = 0; k < 2; k++) {
            for (size_t i = 0; i < alln[k]; i++) {
                if (all[k][i]->source == s && chain_target(all[k][i]))
                    chain_target(all[k][i])->indegree--;
                if (all[k][i]->join_source == s && chain_target(all[k][i]))
                    chain_target(all[k][i])->indegree--;
            }
        }
    }
    free(done);
    *out = order;
    return 0;
}

int sl_an_engine_load(sl_an_engine_t *e, const char *code, size_t len, sl_sql_error_t *err) {
    memset(err, 0, sizeof *err);
    sl_arena_t *arenas = realloc(e->arenas, (e->narenas + 1) * sizeof *arenas);
    if (!arenas) return SL_ENOMEM;
    e->arenas = arenas;
    sl_arena_t *arena = &e->arenas[e->narenas];
    sl_arena_init(arena, 16384);
    an_load_t ld = {.e = e, .arena = arena, .err = err};
    sl_sql_script_t script;
    int rc = sl_sql_parse(code, len, arena, &script, err);
    an_stream_t **order = NULL;
    size_t first_new = e->nstreams;
    if (rc) goto fail;
    rc = SL_EINVAL;
    ld.streams = malloc((e->nstreams + script.nstmts + 1) * sizeof *ld.streams);
    if (!ld.streams) {
        rc = SL_ENOMEM;
        goto fail;
    }
    memcpy(ld.streams, e->streams, e->nstreams * sizeof *ld.streams);
    ld.nstreams = e->nstreams;
    for (size_t i = 0; i < script.nstmts && !ld.failed; i++) {
        const sl_sql_stmt_t *st = &script.stmts[i];
        if (st->kind == SL_SQL_STMT_CREATE_STREAM) {
            if (an_find_stream(ld.streams, ld.nstreams, st->name)) {
                load_fail(&ld, &st->pos, "Object '%s' already exists%s", st->name, "");
                break;
            }
            for (size_t c = 0; c < st->ncolumns; c++)
                for (size_t d = 0; d < c; d++)
                    if (strcmp(st->columns[c].name, st->columns[d].name) == 0) {
                        load_fail(&ld, &st->pos, "Duplicate column name '%s' in stream '%s'",
                                  st->columns[c].name, st->name);
                        goto fail;
                    }
            an_stream_t *s = stream_new(st->name, st->columns, st->ncolumns, st->ncolumns);
            if (!s) {
                rc = SL_ENOMEM;
                goto fail;
            }
            ld.streams[ld.nstreams++] = s;
        } else {
            for (size_t k = 0; k < i; k++)
                if (script.stmts[k].kind == SL_SQL_STMT_CREATE_PUMP && st->name &&
                    strcmp(script.stmts[k].name, st->name) == 0) {
                    load_fail(&ld, &st->pos, "Object '%s' already exists%s", st->name, "");
                    goto fail;
                }
            if (plan_insert(&ld, st)) break;
        }
    }
    if (ld.failed) goto fail;
    if (order_streams(&ld, &order)) goto fail;
    /* commit: subscriptions, streams in bound order, operators */
    for (size_t i = 0; i < ld.nops; i++) {
        an_op_t *op = ld.ops[i];
        /* the first operator of each chain reads the stream */
        if (op->reads_source) {
            if (subscribe(op->source, op, NULL, NULL, 0) ||
                (op->join_source && subscribe(op->join_source, op, NULL, NULL, 1))) {
                rc = SL_ENOMEM;
                goto fail; /* cannot happen half-way in practice; see docs */
            }
        }
    }
    an_op_t **ops = realloc(e->ops, (e->nops + ld.nops + 1) * sizeof *ops);
    if (!ops) {
        rc = SL_ENOMEM;
        goto fail;
    }
    e->ops = ops;
    if (ld.nops) memcpy(e->ops + e->nops, ld.ops, ld.nops * sizeof *ld.ops);
    e->nops += ld.nops;
    free(ld.ops);
    free(e->streams);
    e->streams = order;
    e->nstreams = ld.nstreams;
    free(ld.streams);
    e->narenas++;
    for (size_t i = 0; i < len; i++) /* FNV-1a, continued over every load */
        e->code_hash = (e->code_hash ^ (uint8_t)code[i]) * 1099511628211ull;
    e->code_hash = (e->code_hash ^ 0xff) * 1099511628211ull;
    return 0;
fail:
    for (size_t i = first_new; ld.streams && i < ld.nstreams; i++)
        stream_free(ld.streams[i]);
    free(ld.streams);
    for (size_t i = 0; i < ld.nops; i++)
        op_free(ld.ops[i]);
    free(ld.ops);
    free(order);
    sl_arena_deinit(arena);
    return rc ? rc : SL_EINVAL;
}

/* --- constant expressions ------------------------------------------------------------------ */

int sl_an_eval_text(const char *text, char *out, size_t cap) {
    sl_arena_t a;
    sl_arena_init(&a, 4096);
    sl_sql_error_t err;
    sl_sql_expr_t *ast;
    int rc = sl_sql_parse_expr(text, strlen(text), &a, &ast, &err);
    if (rc == 0) {
        an_cc_t *cc = sl_arena_calloc(&a, 1, sizeof *cc);
        if (!cc) {
            rc = SL_ENOMEM;
        } else {
            cc->arena = &a;
            cc->err = &err;
            an_expr_t *x = an_plan_expr(cc, ast);
            if (!x) {
                rc = SL_EINVAL;
            } else {
                an_ctx_t ctx;
                memset(&ctx, 0, sizeof ctx);
                ctx.arena = &a;
                sl_sql_value_t v;
                if (an_eval(&ctx, x, &v)) {
                    snprintf(out, cap, "%s", ctx.error);
                    rc = -1;
                } else {
                    int scale =
                        x->type.kind == SL_SQL_DECIMAL && x->type.scale > 0 ? x->type.scale : 0;
                    sl_an_value_format(&v, scale, out, cap);
                }
            }
        }
    }
    if (rc != 0 && rc != -1) snprintf(out, cap, "%s", err.message);
    sl_arena_deinit(&a);
    return rc;
}
