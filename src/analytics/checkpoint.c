/* Checkpoints of the engine's window state (sl_an_engine_checkpoint_save / _restore in
 * analytics/engine.h), so that an application restarted from its saved input positions resumes
 * its open windows instead of starting them again empty.
 *
 * Layout (little endian): "SLANCKP1", the payload's length (u64) and CRC32C (u64), then the
 * payload: version, the hash of the loaded code, the clock, every stream's last ROWTIME (by
 * name), and per operator (in load order) its kind and state: groups with their keys, open
 * times and accumulators; sliding-window partitions with their rows; ORDER BY buffers; a join's
 * windowed rows; a table function's sketch (GROUP_RANK: its held rows). Rows are ROWTIME and typed
 * values. A checkpoint is trusted only when its magic, version, checksum and code hash match;
 * anything else is refused and the engine keeps empty windows. */
#include "analytics/engine_impl.h"
#include "analytics/ser.h"
#include "core/common.h"
#include "core/crc32c.h"

#include <stdlib.h>
#include <string.h>

#define CKPT_MAGIC "SLANCKP1"
#define CKPT_VERSION 1
#define CKPT_ROW_DEPTH_MAX 4 /* ROW values nested in rows (log parser results) */
/* Times read back (ROWTIMEs, window opens) must be within this of the epoch: a window's end is
 * computed by adding its width, which must not overflow (2^52 ms is 142,000 years). */
#define CKPT_TIME_MAX ((int64_t)1 << 52)

static bool time_ok(int64_t t) {
    return t > -CKPT_TIME_MAX && t < CKPT_TIME_MAX;
}

/* --- values and rows ----------------------------------------------------------------------- */

static bool is_text(int k) {
    return k == SL_SQL_CHAR || k == SL_SQL_VARCHAR || k == SL_SQL_BINARY || k == SL_SQL_VARBINARY;
}

static bool is_float(int k) {
    return k == SL_SQL_DECIMAL || k == SL_SQL_REAL || k == SL_SQL_DOUBLE;
}

static void put_values(sl_buf_t *b, const sl_sql_value_t *v, size_t n);

static void put_value(sl_buf_t *b, const sl_sql_value_t *v) {
    an_put_u64(b, (uint64_t)v->kind | (uint64_t)v->null << 8);
    if (v->null) return;
    if (is_text(v->kind))
        an_put_bytes(b, v->u.s.ptr, v->u.s.len);
    else if (is_float(v->kind))
        an_put_f64(b, v->u.d);
    else if (v->kind == SL_SQL_BOOLEAN)
        an_put_u64(b, v->u.b);
    else if (v->kind == SL_SQL_ROW)
        put_values(b, v->u.row.v, v->u.row.n);
    else
        an_put_u64(b, (uint64_t)v->u.i);
}

static void put_values(sl_buf_t *b, const sl_sql_value_t *v, size_t n) {
    an_put_u64(b, n);
    for (size_t i = 0; i < n; i++)
        put_value(b, &v[i]);
}

static void put_row(sl_buf_t *b, const an_row_t *r) {
    an_put_u64(b, (uint64_t)r->rowtime);
    put_values(b, r->v, r->n);
}

/* A row that may be absent (MIN/MAX's best value, a sort's leading key). */
static void put_opt_row(sl_buf_t *b, const an_row_t *r) {
    an_put_u64(b, r != NULL);
    if (r) put_row(b, r);
}

typedef struct {
    const uint8_t *p, *end;
    sl_arena_t *tmp;
} reader_t;

static bool get_values(reader_t *rd, sl_sql_value_t **out, size_t *n, int depth);

static bool get_value(reader_t *rd, sl_sql_value_t *v, int depth) {
    uint64_t h;
    if (!an_get_u64(&rd->p, rd->end, &h)) return false;
    memset(v, 0, sizeof *v);
    v->kind = (uint8_t)(h & 0xff);
    v->null = (h >> 8) & 1;
    if (v->kind >= SL_SQL_KIND_COUNT || h >> 9) return false;
    if (v->null) return true;
    if (is_text(v->kind)) {
        const uint8_t *d;
        size_t len;
        if (!an_get_bytes(&rd->p, rd->end, &d, &len) || len > UINT32_MAX) return false;
        v->u.s.ptr = (const char *)d;
        v->u.s.len = (uint32_t)len;
        return true;
    }
    if (is_float(v->kind)) return an_get_f64(&rd->p, rd->end, &v->u.d);
    if (v->kind == SL_SQL_BOOLEAN) {
        uint64_t x;
        if (!an_get_u64(&rd->p, rd->end, &x) || x > 1) return false;
        v->u.b = x == 1;
        return true;
    }
    if (v->kind == SL_SQL_ROW) {
        sl_sql_value_t *f;
        size_t n;
        if (depth >= CKPT_ROW_DEPTH_MAX || !get_values(rd, &f, &n, depth + 1)) return false;
        v->u.row.v = f;
        v->u.row.n = (uint32_t)n;
        return true;
    }
    return an_get_i64(&rd->p, rd->end, &v->u.i);
}

static bool get_values(reader_t *rd, sl_sql_value_t **out, size_t *n, int depth) {
    if (!an_get_count(&rd->p, rd->end, 8, n) || *n > UINT32_MAX) return false;
    sl_sql_value_t *v = sl_arena_calloc(rd->tmp, *n + 1, sizeof *v);
    if (!v) return false;
    for (size_t i = 0; i < *n; i++)
        if (!get_value(rd, &v[i], depth)) return false;
    *out = v;
    return true;
}

/* A row copied out of the input (an_row_copy: one malloc'd block). */
static an_row_t *get_row(reader_t *rd) {
    int64_t t;
    sl_sql_value_t *v;
    size_t n;
    if (!an_get_i64(&rd->p, rd->end, &t) || !get_values(rd, &v, &n, 0)) return NULL;
    return an_row_copy(t, v, n);
}

static bool get_opt_row(reader_t *rd, an_row_t **out) {
    uint64_t present;
    *out = NULL;
    if (!an_get_u64(&rd->p, rd->end, &present) || present > 1) return false;
    if (!present) return true;
    *out = get_row(rd);
    return *out != NULL;
}

static bool get_count(reader_t *rd, size_t min_bytes, size_t *n) {
    return an_get_count(&rd->p, rd->end, min_bytes, n);
}

/* A value read back must be of the storage class its column's type says (text holds a pointer,
 * a ROW its fields): the operators read it as that type. Numbers, times and booleans share one. */
static int value_class(int kind) {
    if (is_text(kind)) return 1;
    if (kind == SL_SQL_ROW) return 2;
    return 0;
}

static bool value_fits(const sl_sql_value_t *v, const sl_sql_type_t *t) {
    if (v->null || t->kind == SL_SQL_NULL) return true;
    if (value_class(v->kind) != value_class(t->kind)) return false;
    if (v->kind != SL_SQL_ROW) return true;
    if (!t->fields || v->u.row.n != (uint32_t)t->len) return false;
    for (uint32_t i = 0; i < v->u.row.n; i++)
        if (!value_fits(&v->u.row.v[i], &t->fields[i].type)) return false;
    return true;
}

/* A row of the columns `cols` (then `extra` TIMESTAMPs: a join's side ROWTIMEs). */
static bool row_fits(const an_row_t *r, const sl_sql_column_t *cols, size_t ncols, size_t extra) {
    if (!r || r->n != ncols + extra || !time_ok(r->rowtime)) return false;
    for (size_t i = 0; i < ncols; i++)
        if (!value_fits(&r->v[i], &cols[i].type)) return false;
    for (size_t i = ncols; i < ncols + extra; i++)
        if (!r->v[i].null && value_class(r->v[i].kind) != 0) return false;
    return true;
}

/* A row of one value of type t (MIN/MAX's best, a sort's leading key). */
static bool value_row_fits(const an_row_t *r, const sl_sql_type_t *t) {
    return r && r->n == 1 && value_fits(&r->v[0], t);
}

/* A group's key: the GROUP BY (or PARTITION BY) expressions' values. */
static bool key_fits(const an_row_t *r, an_expr_t *const *exprs, size_t n) {
    if (!r || r->n != n) return false;
    for (size_t i = 0; i < n; i++)
        if (!value_fits(&r->v[i], &exprs[i]->type)) return false;
    return true;
}

/* --- operators ----------------------------------------------------------------------------- */

static void put_acc(sl_buf_t *b, const an_acc_t *a) {
    an_put_u64(b, (uint64_t)a->count);
    an_put_u64(b, (uint64_t)a->isum);
    an_put_f64(b, a->dsum);
    an_put_u64(b, (uint64_t)a->overflow | (uint64_t)a->b << 1);
    an_put_f64(b, a->mean);
    an_put_f64(b, a->m2);
    put_opt_row(b, a->best);
}

static bool get_acc(reader_t *rd, const an_agg_t *ag, an_acc_t *a) {
    uint64_t flags;
    if (!an_get_i64(&rd->p, rd->end, &a->count) || !an_get_i64(&rd->p, rd->end, &a->isum) ||
        !an_get_f64(&rd->p, rd->end, &a->dsum) || !an_get_u64(&rd->p, rd->end, &flags) ||
        flags > 3 || !an_get_f64(&rd->p, rd->end, &a->mean) || !an_get_f64(&rd->p, rd->end, &a->m2))
        return false;
    a->overflow = flags & 1;
    a->b = (flags >> 1) & 1;
    free(a->best);
    if (!get_opt_row(rd, &a->best)) return false;
    return !a->best || value_row_fits(a->best, &ag->type);
}

static void put_map_keys_and(sl_buf_t *b, const an_map_t *m, const an_op_t *op, bool deques) {
    an_put_u64(b, m->n);
    for (const an_entry_t *g = m->oldest; g; g = g->newer) {
        put_row(b, g->key);
        an_put_u64(b, (uint64_t)g->open_ms);
        if (deques) {
            const an_deque_t *d = g->state;
            an_put_u64(b, d->n);
            for (size_t i = 0; i < d->n; i++)
                put_row(b, d->rows[(d->head + i) % d->cap]);
        } else {
            const an_acc_t *accs = g->state;
            for (size_t i = 0; i < op->naggs; i++)
                put_acc(b, &accs[i]);
        }
    }
}

/* The width and types of the rows an operator's input hands it. */
static bool input_row_fits(const an_op_t *op, const an_row_t *r) {
    return row_fits(r, op->in.cols, op->in.ncols, op->in.side_rowtimes ? 2 : 0);
}

/* Reads a map saved by put_map_keys_and into the empty map `m`, in the same insertion order:
 * groups keyed by the GROUP BY keys, or (win) the partitions of a sliding window. */
static bool get_map(reader_t *rd, an_map_t *m, an_op_t *op, const an_window_t *win) {
    bool deques = win != NULL;
    size_t n;
    if (!get_count(rd, 24, &n)) return false;
    for (size_t k = 0; k < n; k++) {
        an_row_t *key = get_row(rd);
        int64_t open;
        bool fits = deques ? key_fits(key, win->partition, SL_MIN(win->npartition, (size_t)32))
                           : key_fits(key, op->keys, op->nkeys);
        if (!fits || !an_get_i64(&rd->p, rd->end, &open) || !time_ok(open)) {
            free(key);
            return false;
        }
        uint64_t h = an_hash(key->v, key->n);
        an_entry_t *g = an_map_add(m, key->v, key->n, h);
        size_t bytes = sizeof *g + an_row_bytes(key->v, key->n) +
                       (deques ? sizeof(an_deque_t) : op->naggs * sizeof(an_acc_t));
        free(key);
        if (!g) return false;
        g->bytes = bytes;
        an_op_state_add(op, bytes);
        g->open_ms = open;
        if (deques) {
            an_deque_t *d = calloc(1, sizeof *d);
            size_t nrows;
            if (!d) return false;
            g->state = d;
            if (!get_count(rd, 16, &nrows)) return false;
            for (size_t i = 0; i < nrows; i++) {
                an_row_t *r = get_row(rd);
                if (!input_row_fits(op, r) || an_dq_push(d, r)) {
                    free(r);
                    return false;
                }
                an_op_state_add(op, an_row_bytes(r->v, r->n));
            }
        } else {
            an_acc_t *accs = an_accs_new(op);
            if (!accs) return false;
            g->state = accs;
            for (size_t i = 0; i < op->naggs; i++)
                if (!get_acc(rd, &op->aggs[i], &accs[i])) return false;
        }
    }
    return true;
}

static void put_op(sl_buf_t *b, const an_op_t *op) {
    an_put_u64(b, (uint64_t)op->kind);
    switch (op->kind) {
    case AN_OP_GROUP:
    case AN_OP_STAGGER:
        put_opt_row(b, op->cur_mono);
        put_map_keys_and(b, &op->groups, op, false);
        break;
    case AN_OP_SLIDING:
        an_put_u64(b, op->nwindows);
        for (size_t w = 0; w < op->nwindows; w++)
            put_map_keys_and(b, &op->wmaps[w], op, true);
        break;
    case AN_OP_SORT:
        an_put_u64(b, (uint64_t)op->sorted_until);
        put_opt_row(b, op->cur_lead);
        an_put_u64(b, op->nbuf);
        for (size_t i = 0; i < op->nbuf; i++)
            put_row(b, op->buf[i]);
        break;
    case AN_OP_UDX:
        an_udx_save(op->udx, b);
        if (an_udx_holds_rows(op->udx)) {
            an_row_t *const *rows;
            size_t n = an_udx_held(op->udx, &rows);
            an_put_u64(b, n);
            for (size_t i = 0; i < n; i++)
                put_row(b, rows[i]);
        }
        break;
    default:
        break;
    }
    /* a stream-to-stream join's windows, whatever the operator after it */
    for (int side = 0; side < 2; side++) {
        an_put_u64(b, op->njrows[side]);
        for (size_t i = 0; i < op->njrows[side]; i++) {
            put_row(b, op->jrows[side][i].row);
            an_put_u64(b, op->jrows[side][i].matched);
        }
    }
}

static bool get_op(reader_t *rd, an_op_t *op) {
    uint64_t kind;
    if (!an_get_u64(&rd->p, rd->end, &kind) || kind != (uint64_t)op->kind) return false;
    switch (op->kind) {
    case AN_OP_GROUP:
    case AN_OP_STAGGER:
        if (!get_opt_row(rd, &op->cur_mono) || !get_map(rd, &op->groups, op, NULL)) return false;
        if (op->cur_mono) {
            if (op->cur_mono->n != op->nmono || !time_ok(op->cur_mono->rowtime)) return false;
            for (size_t i = 0; i < op->nmono; i++) {
                const sl_sql_value_t *v = &op->cur_mono->v[i];
                if (!value_fits(v, &op->keys[op->mono[i]]->type)) return false;
                if (!v->null && value_class(v->kind) == 0 && !is_float(v->kind) && !time_ok(v->u.i))
                    return false; /* a window's start: its end is start + width */
            }
        }
        break;
    case AN_OP_SLIDING: {
        uint64_t nw;
        if (!an_get_u64(&rd->p, rd->end, &nw) || nw != op->nwindows) return false;
        for (size_t w = 0; w < op->nwindows; w++)
            if (!get_map(rd, &op->wmaps[w], op, &op->windows[w])) return false;
        break;
    }
    case AN_OP_SORT: {
        size_t n;
        if (!an_get_i64(&rd->p, rd->end, &op->sorted_until) || !time_ok(op->sorted_until) ||
            !get_opt_row(rd, &op->cur_lead) || !get_count(rd, 16, &n))
            return false;
        if (op->cur_lead && (op->norder == 0 || !value_row_fits(op->cur_lead, &op->order[0]->type)))
            return false;
        if (n > op->capbuf) {
            an_row_t **g = realloc(op->buf, n * sizeof *g);
            if (!g) return false;
            op->buf = g;
            op->capbuf = n;
        }
        for (size_t i = 0; i < n; i++) {
            if (!(op->buf[i] = get_row(rd))) return false;
            op->nbuf = i + 1;
            an_op_state_add(op, an_row_bytes(op->buf[i]->v, op->buf[i]->n));
            if (!row_fits(op->buf[i], op->in.cols, op->in.ncols, 0)) return false;
        }
        break;
    }
    case AN_OP_UDX:
        if (an_udx_restore(op->udx, &rd->p, rd->end)) return false;
        if (an_udx_holds_rows(op->udx)) {
            size_t n;
            if (!get_count(rd, 16, &n)) return false;
            for (size_t i = 0; i < n; i++) {
                an_row_t *r = get_row(rd);
                if (!input_row_fits(op, r) || an_udx_hold(op->udx, r)) {
                    free(r);
                    return false;
                }
            }
        }
        break;
    default:
        break;
    }
    for (int side = 0; side < 2; side++) {
        size_t n;
        if (!get_count(rd, 24, &n)) return false;
        if (n && !op->join_source) return false;
        if (n > op->capjrows[side]) {
            an_jrow_t *g = realloc(op->jrows[side], n * sizeof *g);
            if (!g) return false;
            op->jrows[side] = g;
            op->capjrows[side] = n;
        }
        for (size_t i = 0; i < n; i++) {
            uint64_t matched;
            an_row_t *r = get_row(rd);
            const sl_sql_column_t *cols = op->in.cols + (side ? op->jcols[0] : 0);
            if (!row_fits(r, cols, op->jcols[side], 0) || !an_get_u64(&rd->p, rd->end, &matched) ||
                matched > 1) {
                free(r);
                return false;
            }
            op->jrows[side][i] = (an_jrow_t){r, matched == 1};
            op->njrows[side] = i + 1;
            an_op_state_add(op, an_row_bytes(r->v, r->n));
        }
    }
    return true;
}

/* --- the engine ---------------------------------------------------------------------------- */

int sl_an_engine_checkpoint_save(sl_an_engine_t *e, sl_buf_t *out) {
    sl_buf_t p = SL_BUF_INIT;
    an_put_u64(&p, CKPT_VERSION);
    an_put_u64(&p, e->code_hash);
    an_put_u64(&p, (uint64_t)e->now);
    an_put_u64(&p, e->nstreams);
    for (size_t i = 0; i < e->nstreams; i++) {
        an_put_bytes(&p, e->streams[i]->name, strlen(e->streams[i]->name));
        an_put_u64(&p, (uint64_t)e->streams[i]->last_rowtime);
    }
    an_put_u64(&p, e->nops);
    for (size_t i = 0; i < e->nops; i++)
        put_op(&p, e->ops[i]);
    if (sl_buf_failed(&p)) {
        sl_buf_free(&p);
        return SL_ENOMEM;
    }
    sl_buf_append(out, CKPT_MAGIC, 8);
    an_put_u64(out, p.len);
    an_put_u64(out, sl_crc32c(0, p.data, p.len));
    sl_buf_append(out, p.data, p.len);
    sl_buf_free(&p);
    return sl_buf_failed(out) ? SL_ENOMEM : 0;
}

static bool restore(sl_an_engine_t *e, reader_t *rd) {
    uint64_t version, hash, n;
    int64_t now;
    if (!an_get_u64(&rd->p, rd->end, &version) || version != CKPT_VERSION ||
        !an_get_u64(&rd->p, rd->end, &hash) || hash != e->code_hash ||
        !an_get_i64(&rd->p, rd->end, &now) || !time_ok(now) || !an_get_u64(&rd->p, rd->end, &n) ||
        n != e->nstreams)
        return false;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *name;
        size_t len;
        int64_t last;
        if (!an_get_bytes(&rd->p, rd->end, &name, &len) || !an_get_i64(&rd->p, rd->end, &last) ||
            (last != INT64_MIN && !time_ok(last)))
            return false;
        an_stream_t *s = NULL;
        for (size_t k = 0; k < e->nstreams && !s; k++)
            if (strlen(e->streams[k]->name) == len && memcmp(e->streams[k]->name, name, len) == 0)
                s = e->streams[k];
        if (!s) return false;
        s->last_rowtime = last;
    }
    if (!an_get_u64(&rd->p, rd->end, &n) || n != e->nops) return false;
    for (size_t i = 0; i < e->nops; i++)
        if (!get_op(rd, e->ops[i])) return false;
    if (rd->p != rd->end) return false;
    if (now > e->now) e->now = now;
    return true;
}

int sl_an_engine_checkpoint_restore(sl_an_engine_t *e, const void *data, size_t len) {
    const uint8_t *p = data, *end = p + len;
    uint64_t plen, crc;
    if (len < 24 || memcmp(p, CKPT_MAGIC, 8) != 0) return SL_EINVAL;
    p += 8;
    if (!an_get_u64(&p, end, &plen) || !an_get_u64(&p, end, &crc) || plen != (uint64_t)(end - p) ||
        crc != sl_crc32c(0, p, (size_t)plen))
        return SL_EINVAL;
    sl_arena_reset(&e->tmp);
    reader_t rd = {p, end, &e->tmp};
    if (restore(e, &rd)) return 0;
    /* damaged or foreign: empty windows, as without a checkpoint */
    for (size_t i = 0; i < e->nops; i++) {
        an_op_clear(e->ops[i]);
        if (e->ops[i]->udx) an_udx_reset(e->ops[i]->udx);
    }
    for (size_t i = 0; i < e->nstreams; i++)
        if (!e->streams[i]->system) e->streams[i]->last_rowtime = INT64_MIN;
    return SL_EINVAL;
}
