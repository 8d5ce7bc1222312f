/* The planner: checks a parsed SELECT against the in-application streams and compiles its
 * expressions into typed trees (analytics/internal.h), with the messages AWS's
 * CodeValidationException carried ("From line 1, column 8 to line 1, column 10: Column 'X' not
 * found in any table"). Grouped queries are rewritten so that group keys, aggregates and the
 * output ROWTIME are references the operators fill in (analytics/ops.c). */
#include "analytics/plan.h"

#include "core/common.h"
#include "core/limits.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_exact(int k) {
    return k >= SL_SQL_TINYINT && k <= SL_SQL_BIGINT;
}
static bool is_num(int k) {
    return k >= SL_SQL_TINYINT && k <= SL_SQL_DOUBLE;
}
static bool is_text(int k) {
    return k == SL_SQL_CHAR || k == SL_SQL_VARCHAR;
}
static bool is_time(int k) {
    return k == SL_SQL_DATE || k == SL_SQL_TIME || k == SL_SQL_TIMESTAMP;
}
static bool is_interval(int k) {
    return k == SL_SQL_INTERVAL_DT || k == SL_SQL_INTERVAL_YM;
}

int an_plan_fail(an_cc_t *cc, const sl_sql_pos_t *pos, const char *fmt, ...) {
    if (cc->failed) return -1;
    cc->failed = true;
    int k = 0;
    if (pos && pos->line)
        k = snprintf(cc->err->message, sizeof cc->err->message,
                     "From line %d, column %d to line %d, column %d: ", pos->line, pos->col,
                     pos->end_line, pos->end_col);
    if (pos) cc->err->pos = *pos;
    va_list ap;
    va_start(ap, fmt);
    if (k >= 0 && (size_t)k < sizeof cc->err->message)
        vsnprintf(cc->err->message + k, sizeof cc->err->message - (size_t)k, fmt, ap);
    va_end(ap);
    return -1;
}

static void *cc_alloc(an_cc_t *cc, size_t size) {
    void *p = sl_arena_calloc(cc->arena, 1, size);
    if (!p && !cc->failed) {
        cc->failed = true;
        snprintf(cc->err->message, sizeof cc->err->message, "out of memory");
    }
    return p;
}

static an_expr_t *xnode(an_cc_t *cc, int kind, const sl_sql_expr_t *src, size_t nargs) {
    an_expr_t *x = cc_alloc(cc, sizeof *x);
    if (!x) return NULL;
    x->kind = (uint8_t)kind;
    x->src = src;
    if (nargs) {
        x->args = cc_alloc(cc, nargs * sizeof *x->args);
        if (!x->args) return NULL;
        x->nargs = nargs;
    }
    return x;
}

static void fmt_type(const sl_sql_type_t *t, char *buf, size_t cap) {
    if (t->kind == SL_SQL_NULL) {
        snprintf(buf, cap, "NULL");
        return;
    }
    sl_sql_type_format(t, buf, cap);
}

static const char *op_text(int op) {
    switch (op) {
    case SL_SQL_OP_ADD:
        return "+";
    case SL_SQL_OP_SUB:
        return "-";
    case SL_SQL_OP_MUL:
        return "*";
    case SL_SQL_OP_DIV:
        return "/";
    case SL_SQL_OP_CONCAT:
        return "||";
    case SL_SQL_OP_EQ:
        return "=";
    case SL_SQL_OP_NE:
        return "<>";
    case SL_SQL_OP_LT:
        return "<";
    case SL_SQL_OP_LE:
        return "<=";
    case SL_SQL_OP_GT:
        return ">";
    case SL_SQL_OP_GE:
        return ">=";
    case SL_SQL_OP_AND:
        return "AND";
    case SL_SQL_OP_OR:
        return "OR";
    case SL_SQL_OP_DISTINCT_FROM:
        return "IS DISTINCT FROM";
    case SL_SQL_OP_NOT_DISTINCT_FROM:
        return "IS NOT DISTINCT FROM";
    case SL_SQL_OP_NOT:
        return "NOT";
    case SL_SQL_OP_NEG:
        return "-";
    default:
        return "?";
    }
}

static int cannot_apply(an_cc_t *cc, const sl_sql_expr_t *src, int op, const sl_sql_type_t *a,
                        const sl_sql_type_t *b) {
    char ta[64], tb[64];
    fmt_type(a, ta, sizeof ta);
    if (!b)
        return an_plan_fail(cc, &src->pos, "Cannot apply '%s' to arguments of type '%s <%s>'",
                            op_text(op), op_text(op), ta);
    fmt_type(b, tb, sizeof tb);
    return an_plan_fail(cc, &src->pos, "Cannot apply '%s' to arguments of type '<%s> %s <%s>'",
                        op_text(op), ta, op_text(op), tb);
}

/* Can values of a and b be compared (=, <, IN, BETWEEN, CASE branches)? */
static bool comparable(int a, int b) {
    if (a == SL_SQL_ROW || b == SL_SQL_ROW) return false;
    if (a == SL_SQL_NULL || b == SL_SQL_NULL) return true;
    if (is_num(a) && is_num(b)) return true;
    if (is_text(a) && is_text(b)) return true;
    if ((a == SL_SQL_BINARY || a == SL_SQL_VARBINARY) &&
        (b == SL_SQL_BINARY || b == SL_SQL_VARBINARY))
        return true;
    if (is_time(a) && is_time(b)) return a == b || (a != SL_SQL_TIME && b != SL_SQL_TIME);
    return a == b;
}

/* A character literal next to a datetime becomes that datetime, at plan time. */
static int fold_literal_to(an_cc_t *cc, an_expr_t *x, int kind) {
    if (x->kind != AN_X_CONST || !is_text(x->value.kind) || !is_time(kind)) return 0;
    int64_t t;
    if (!an_parse_time(x->value.u.s.ptr, x->value.u.s.len, kind, &t))
        return an_plan_fail(cc, &x->src->pos, "Illegal %s literal '%.*s'", sl_sql_kind_name(kind),
                            (int)SL_MIN(x->value.u.s.len, 64u), x->value.u.s.ptr);
    x->value.kind = (uint8_t)kind;
    x->value.u.i = t;
    memset(&x->type, 0, sizeof x->type);
    x->type.kind = (uint8_t)kind;
    return 0;
}

static int unify_compare(an_cc_t *cc, const sl_sql_expr_t *src, int op, an_expr_t *a,
                         an_expr_t *b) {
    if (fold_literal_to(cc, a, b->type.kind) || fold_literal_to(cc, b, a->type.kind)) return -1;
    if (!comparable(a->type.kind, b->type.kind))
        return cannot_apply(cc, src, op, &a->type, &b->type);
    return 0;
}

/* The wider of two types of one class (numeric widening, longest text). */
static sl_sql_type_t common_type(const sl_sql_type_t *a, const sl_sql_type_t *b) {
    if (a->kind == SL_SQL_NULL) return *b;
    if (b->kind == SL_SQL_NULL) return *a;
    sl_sql_type_t t = *a;
    t.not_null = a->not_null && b->not_null;
    if (is_num(a->kind)) {
        if (b->kind > a->kind) t = *b;
        if (t.kind == SL_SQL_DECIMAL) t.scale = SL_MAX(a->scale, b->scale);
    } else if (is_text(a->kind)) {
        t.kind = a->kind == b->kind ? a->kind : SL_SQL_VARCHAR;
        t.len = SL_MAX(a->len, b->len);
    }
    return t;
}

static int arith_type(an_cc_t *cc, const sl_sql_expr_t *src, an_expr_t *x) {
    const sl_sql_type_t *a = &x->args[0]->type, *b = &x->args[1]->type;
    int ka = a->kind, kb = b->kind, op = x->op;
    memset(&x->type, 0, sizeof x->type);
    if (ka == SL_SQL_NULL && kb == SL_SQL_NULL) {
        x->type.kind = SL_SQL_INTEGER;
        return 0;
    }
    if ((is_num(ka) || ka == SL_SQL_NULL) && (is_num(kb) || kb == SL_SQL_NULL)) {
        int k = SL_MAX(ka, kb);
        if (k == SL_SQL_REAL && (ka == SL_SQL_DOUBLE || kb == SL_SQL_DOUBLE)) k = SL_SQL_DOUBLE;
        if (is_exact(k) && k < SL_SQL_INTEGER) k = SL_SQL_INTEGER;
        if (k == SL_SQL_REAL && !(ka == SL_SQL_REAL && kb == SL_SQL_REAL)) k = SL_SQL_DOUBLE;
        x->type.kind = (uint8_t)k;
        if (k == SL_SQL_DECIMAL) {
            x->type.len = 19;
            int sa = ka == SL_SQL_DECIMAL ? a->scale : 0, sb = kb == SL_SQL_DECIMAL ? b->scale : 0;
            x->type.scale = op == SL_SQL_OP_MUL   ? sa + sb
                            : op == SL_SQL_OP_DIV ? -1
                                                  : SL_MAX(sa, sb);
            if (x->type.scale > 18) x->type.scale = 18;
        }
        return 0;
    }
    if (is_time(ka) && kb == SL_SQL_NULL) kb = SL_SQL_INTERVAL_DT;
    if (is_time(kb) && ka == SL_SQL_NULL) ka = SL_SQL_INTERVAL_DT;
    if ((op == SL_SQL_OP_ADD || op == SL_SQL_OP_SUB) && is_time(ka) && is_interval(kb)) {
        x->type.kind = (uint8_t)ka;
        return 0;
    }
    if (op == SL_SQL_OP_ADD && is_interval(ka) && is_time(kb)) {
        x->type.kind = (uint8_t)kb;
        return 0;
    }
    if (op == SL_SQL_OP_SUB && is_time(ka) && ka == kb) {
        x->type.kind = SL_SQL_INTERVAL_DT;
        return 0;
    }
    if ((op == SL_SQL_OP_ADD || op == SL_SQL_OP_SUB) && is_interval(ka) && ka == kb) {
        x->type.kind = (uint8_t)ka;
        return 0;
    }
    if (op == SL_SQL_OP_MUL &&
        ((is_interval(ka) && is_num(kb)) || (is_num(ka) && is_interval(kb)))) {
        x->type.kind = (uint8_t)(is_interval(ka) ? ka : kb);
        return 0;
    }
    if (op == SL_SQL_OP_DIV && is_interval(ka) && is_num(kb)) {
        x->type.kind = (uint8_t)ka;
        return 0;
    }
    return cannot_apply(cc, src, op, a, b);
}

/* --- scopes -------------------------------------------------------------------------------- */

static bool name_eq(const char *a, const char *b) {
    return strcmp(a, b) == 0;
}

/* Which side a qualifier names: 0 the stream, 1 the reference table, -1 neither. A name
 * qualifies when it is the alias, or the object's own name when it has no alias. */
static int qualifies(const an_scope_t *sc, const char *q) {
    if (!sc) return -1;
    if (sc->qualifier && name_eq(q, sc->qualifier)) return 0;
    if (sc->stream_name && !sc->alias && name_eq(q, sc->stream_name)) return 0;
    if (sc->has_table) {
        if (sc->table_qualifier && name_eq(q, sc->table_qualifier)) return 1;
        if (!sc->table_alias && name_eq(q, sc->table_name)) return 1;
    }
    return -1;
}

/* A field of a ROW column: col.field or qualifier.col.field (log parser results). */
static an_expr_t *resolve_field(an_cc_t *cc, const sl_sql_expr_t *src, an_expr_t *row,
                                const char *field) {
    const sl_sql_type_t *t = &row->type;
    for (int32_t i = 0; i < t->len; i++) {
        if (name_eq(t->fields[i].name, field)) {
            an_expr_t *x = xnode(cc, AN_X_FIELD, src, 1);
            if (!x) return NULL;
            x->args[0] = row;
            x->slot = i;
            x->type = t->fields[i].type;
            x->type.not_null = false;
            return x;
        }
    }
    an_plan_fail(cc, &src->pos, "Unknown field '%s'", field);
    return NULL;
}

/* The column `col` on `side` (0 the stream, 1 the table, -1 either: ambiguity is an error). */
static an_expr_t *column_at(an_cc_t *cc, const sl_sql_expr_t *src, const char *col, int side) {
    const an_scope_t *sc = cc->scope;
    if (name_eq(col, "ROWTIME") && sc && sc->side_rowtimes && side >= 0) {
        an_expr_t *x = xnode(cc, AN_X_COL, src, 0);
        if (!x) return NULL;
        x->slot = (int)(sc->rowtime_first + (size_t)side);
        x->type.kind = SL_SQL_TIMESTAMP;
        return x;
    }
    if (name_eq(col, "ROWTIME") && side != 1) {
        an_expr_t *x = xnode(cc, AN_X_ROWTIME, src, 0);
        if (!x) return NULL;
        x->type.kind = SL_SQL_TIMESTAMP;
        x->type.not_null = true;
        return x;
    }
    if (!sc) return NULL;
    size_t split = sc->has_table ? sc->table_first : sc->ncols;
    size_t lo = side == 1 ? split : 0, hi = side == 0 ? split : sc->ncols;
    int found = -1;
    for (size_t i = lo; i < hi; i++) {
        if (!name_eq(sc->cols[i].name, col)) continue;
        if (found >= 0 && ((size_t)found < split) != (i < split)) {
            an_plan_fail(cc, &src->pos, "Column '%s' is ambiguous", col);
            return NULL;
        }
        if (found < 0) found = (int)i;
    }
    if (found < 0) return NULL;
    an_expr_t *x = xnode(cc, AN_X_COL, src, 0);
    if (!x) return NULL;
    x->slot = found;
    x->type = sc->cols[found].type;
    if (sc->has_table && (size_t)found >= split) x->type.not_null = false; /* LEFT JOIN pads */
    return x;
}

static an_expr_t *resolve_column(an_cc_t *cc, const sl_sql_expr_t *src) {
    const an_scope_t *sc = cc->scope;
    const char *const *p = src->parts;
    size_t n = src->nparts;
    if (n == 1) {
        an_expr_t *x = column_at(cc, src, p[0], -1);
        if (!x && !cc->failed)
            an_plan_fail(cc, &src->pos, "Column '%s' not found in any table", p[0]);
        return x;
    }
    int side = qualifies(sc, p[0]);
    if (side >= 0) {
        an_expr_t *x = column_at(cc, src, p[1], side);
        if (!x) {
            if (!cc->failed)
                an_plan_fail(cc, &src->pos, "Column '%s' not found in table '%s'", p[1], p[0]);
            return NULL;
        }
        if (n == 2) return x;
        if (x->type.kind != SL_SQL_ROW) {
            an_plan_fail(cc, &src->pos, "Column '%s' has no fields", p[1]);
            return NULL;
        }
        return resolve_field(cc, src, x, p[2]);
    }
    if (n == 2) {
        an_expr_t *x = column_at(cc, src, p[0], -1);
        if (x && x->type.kind == SL_SQL_ROW) return resolve_field(cc, src, x, p[1]);
        if (!cc->failed) an_plan_fail(cc, &src->pos, "Table '%s' not found", p[0]);
        return NULL;
    }
    an_plan_fail(cc, &src->pos, "Table '%s' not found", p[0]);
    return NULL;
}

/* --- expressions --------------------------------------------------------------------------- */

static an_expr_t *compile(an_cc_t *cc, const sl_sql_expr_t *e);

static an_expr_t *compile_args(an_cc_t *cc, an_expr_t *x, const sl_sql_expr_t *e) {
    for (size_t i = 0; i < e->nargs; i++) {
        x->args[i] = compile(cc, e->args[i]);
        if (!x->args[i]) return NULL;
    }
    return x;
}

static int need_boolean(an_cc_t *cc, const an_expr_t *x, const char *where) {
    if (x->type.kind == SL_SQL_BOOLEAN || x->type.kind == SL_SQL_NULL) return 0;
    char t[64];
    fmt_type(&x->type, t, sizeof t);
    return an_plan_fail(cc, &x->src->pos, "%s must be a condition; got %s", where, t);
}

static an_window_t *find_window(an_cc_t *cc, const sl_sql_expr_t *e) {
    const sl_sql_window_t *w = e->over;
    if (!w) {
        for (size_t i = 0; i < cc->nwindow_defs; i++)
            if (name_eq(cc->window_defs[i]->name, e->over_name)) w = cc->window_defs[i];
        if (!w) {
            an_plan_fail(cc, &e->pos, "Window '%s' not found", e->over_name);
            return NULL;
        }
    }
    for (size_t i = 0; i < cc->nwindows; i++)
        if (cc->windows[i].spec == w) return &cc->windows[i];
    if (!w->framed) {
        an_plan_fail(cc, &w->pos,
                     "A streaming window needs a frame: RANGE INTERVAL ... "
                     "PRECEDING or ROWS n PRECEDING");
        return NULL;
    }
    if (!w->current_row && ((w->rows && w->rows_n == 0) || (!w->rows && w->range_ms == 0))) {
        an_plan_fail(cc, &w->pos, "0 PRECEDING is not allowed in a window; use CURRENT ROW");
        return NULL;
    }
    if (w->norder) {
        an_plan_fail(cc, &w->pos,
                     "ORDER BY is not allowed in the window of a windowed aggregation");
        return NULL;
    }
    if (cc->nwindows == AN_WINDOWS_MAX) {
        an_plan_fail(cc, &w->pos, "Too many windows in one SELECT (at most %d)", AN_WINDOWS_MAX);
        return NULL;
    }
    an_window_t *win = &cc->windows[cc->nwindows];
    memset(win, 0, sizeof *win);
    win->spec = w;
    win->npartition = w->npartition;
    if (w->npartition) {
        win->partition = cc_alloc(cc, w->npartition * sizeof *win->partition);
        if (!win->partition) return NULL;
        bool saved = cc->aggs_allowed;
        cc->aggs_allowed = false;
        for (size_t i = 0; i < w->npartition; i++) {
            win->partition[i] = compile(cc, w->partition[i]);
            if (!win->partition[i]) return NULL;
        }
        cc->aggs_allowed = saved;
    }
    cc->nwindows++;
    return win;
}

static const char *fn_name(const sl_sql_expr_t *e) {
    return e->parts[0];
}

static an_expr_t *compile_aggregate(an_cc_t *cc, const sl_sql_expr_t *e, int fn) {
    bool analytic_only = fn >= AN_F_FIRST_VALUE;
    bool over = e->over || e->over_name;
    if (analytic_only && !over)
        return an_plan_fail(cc, &e->pos, "OVER clause is necessary for window functions"), NULL;
    if (over ? !cc->over_allowed : !cc->aggs_allowed) {
        if (cc->clause)
            an_plan_fail(cc, &e->pos, "Aggregate expression is illegal in %s clause", cc->clause);
        else
            an_plan_fail(cc, &e->pos,
                         over ? "Windowed aggregates are not allowed here"
                              : "Aggregate expression is illegal here");
        return NULL;
    }
    if (e->distinct)
        return an_plan_fail(cc, &e->pos, "DISTINCT is not allowed in streaming aggregation"), NULL;
    if (cc->naggs == AN_AGGS_MAX)
        return an_plan_fail(cc, &e->pos, "Too many aggregates in one SELECT (at most %d)",
                            AN_AGGS_MAX),
               NULL;
    an_agg_t *ag = &cc->aggs[cc->naggs];
    memset(ag, 0, sizeof *ag);
    ag->fn = fn;
    ag->count_star = e->count_star;
    ag->ignore_nulls = e->ignore_nulls;
    ag->from_last = e->from_last;
    ag->src = e;
    bool saved_aggs = cc->aggs_allowed, saved_over = cc->over_allowed;
    cc->aggs_allowed = cc->over_allowed = false;
    const char *saved_clause = cc->clause;
    cc->clause = NULL;
    for (size_t i = 0; i < e->nargs && i < 3; i++) {
        ag->args[i] = compile(cc, e->args[i]);
        if (!ag->args[i]) return NULL;
    }
    cc->aggs_allowed = saved_aggs;
    cc->over_allowed = saved_over;
    cc->clause = saved_clause;
    ag->nargs = e->nargs;
    size_t minargs = e->count_star ? 0 : 1, maxargs = 1;
    if (fn == AN_F_NTH_VALUE || fn == AN_F_EXP_AVG) minargs = maxargs = 2;
    if (fn == AN_F_LAG) maxargs = 3;
    if (e->count_star && fn != AN_F_COUNT) minargs = 99;
    if (e->nargs < minargs || e->nargs > maxargs) {
        an_plan_fail(cc, &e->pos,
                     "Invalid number of arguments to function '%s'. Was expecting %zu "
                     "arguments",
                     fn_name(e), minargs);
        return NULL;
    }
    sl_sql_type_t *t = &ag->type;
    memset(t, 0, sizeof *t);
    int k = e->nargs ? ag->args[0]->type.kind : SL_SQL_NULL;
    switch (fn) {
    case AN_F_COUNT:
        t->kind = SL_SQL_BIGINT;
        t->not_null = true;
        break;
    case AN_F_SUM:
    case AN_F_AVG:
        if (!is_num(k) && k != SL_SQL_NULL) goto bad_arg;
        *t = ag->args[0]->type;
        if (fn == AN_F_SUM && is_exact(k)) t->kind = SL_SQL_BIGINT;
        if (k == SL_SQL_NULL) t->kind = SL_SQL_INTEGER;
        t->not_null = false;
        break;
    case AN_F_MIN:
    case AN_F_MAX:
    case AN_F_FIRST_VALUE:
    case AN_F_LAST_VALUE:
    case AN_F_NTH_VALUE:
    case AN_F_LAG:
        *t = ag->args[0]->type;
        t->not_null = false;
        if ((fn == AN_F_NTH_VALUE || fn == AN_F_LAG) && e->nargs > 1 &&
            (ag->args[1]->kind != AN_X_CONST || !is_exact(ag->args[1]->type.kind) ||
             ag->args[1]->value.u.i < (fn == AN_F_LAG ? 0 : 1)))
            return an_plan_fail(cc, &e->args[1]->pos,
                                "The offset of %s must be a positive integer literal", fn_name(e)),
                   NULL;
        if (fn == AN_F_LAG && e->nargs > 2 && !comparable(k, ag->args[2]->type.kind)) goto bad_arg;
        break;
    case AN_F_VAR_POP:
    case AN_F_VAR_SAMP:
    case AN_F_STDDEV_POP:
    case AN_F_STDDEV_SAMP:
        if (!is_num(k) && k != SL_SQL_NULL) goto bad_arg;
        t->kind = SL_SQL_DOUBLE;
        break;
    case AN_F_EXP_AVG:
        if (!is_num(k) && k != SL_SQL_NULL) goto bad_arg;
        if (ag->args[1]->kind != AN_X_CONST || ag->args[1]->type.kind != SL_SQL_INTERVAL_DT ||
            ag->args[1]->value.u.i <= 0)
            return an_plan_fail(cc, &e->args[1]->pos,
                                "The half-life of EXP_AVG must be a positive day-time interval"),
                   NULL;
        t->kind = SL_SQL_DOUBLE;
        break;
    case AN_F_ANY:
    case AN_F_EVERY:
        if (k != SL_SQL_BOOLEAN && k != SL_SQL_NULL) goto bad_arg;
        t->kind = SL_SQL_BOOLEAN;
        break;
    default:
        goto bad_arg;
    }
    if (over) {
        ag->window = find_window(cc, e);
        if (!ag->window) return NULL;
    }
    an_expr_t *x = xnode(cc, AN_X_AGG, e, 0);
    if (!x) return NULL;
    x->slot = (int)cc->naggs++;
    x->fn = fn;
    x->type = *t;
    return x;
bad_arg : {
    char ta[64];
    fmt_type(&ag->args[0]->type, ta, sizeof ta);
    an_plan_fail(cc, &e->pos, "Cannot apply '%s' to arguments of type '%s(<%s>)'", fn_name(e),
                 fn_name(e), ta);
    return NULL;
}
}

static an_expr_t *compile(an_cc_t *cc, const sl_sql_expr_t *e) {
    if (cc->failed) return NULL;
    if (++cc->depth > SL_ANALYTICS_SQL_DEPTH_MAX) {
        an_plan_fail(cc, &e->pos, "Expression too deeply nested");
        return NULL;
    }
    an_expr_t *x = NULL;
    switch (e->kind) {
    case SL_SQL_E_LIT:
        x = xnode(cc, AN_X_CONST, e, 0);
        if (!x) break;
        x->value = e->value;
        x->type.kind = e->value.kind;
        if (e->value.kind == SL_SQL_CHAR) x->type.len = (int32_t)e->value.u.s.len;
        if (e->value.kind == SL_SQL_VARBINARY) x->type.len = (int32_t)e->value.u.s.len;
        if (e->value.kind == SL_SQL_DECIMAL) {
            x->type.len = 19;
            x->type.scale = -1;
        }
        x->type.not_null = !e->value.null;
        break;
    case SL_SQL_E_COL:
        x = resolve_column(cc, e);
        break;
    case SL_SQL_E_STAR:
        an_plan_fail(cc, &e->pos, "Unknown identifier '*'");
        break;
    case SL_SQL_E_UNARY:
        x = xnode(cc, AN_X_UNARY, e, 1);
        if (!x || !compile_args(cc, x, e)) return NULL;
        x->op = e->op;
        if (e->op == SL_SQL_OP_NEG || e->op == SL_SQL_OP_PLUS) {
            int k = x->args[0]->type.kind;
            if (!is_num(k) && !is_interval(k) && k != SL_SQL_NULL) {
                cannot_apply(cc, e, SL_SQL_OP_NEG, &x->args[0]->type, NULL);
                return NULL;
            }
            x->type = x->args[0]->type;
        } else if (e->op == SL_SQL_OP_NOT) {
            if (need_boolean(cc, x->args[0], "The operand of NOT")) return NULL;
            x->type.kind = SL_SQL_BOOLEAN;
        } else {
            if (e->op >= SL_SQL_OP_IS_TRUE && e->op <= SL_SQL_OP_IS_NOT_UNKNOWN &&
                need_boolean(cc, x->args[0], "The operand of IS TRUE/FALSE/UNKNOWN"))
                return NULL;
            x->type.kind = SL_SQL_BOOLEAN;
            x->type.not_null = true;
        }
        break;
    case SL_SQL_E_BINARY:
        x = xnode(cc, AN_X_BINARY, e, 2);
        if (!x || !compile_args(cc, x, e)) return NULL;
        x->op = e->op;
        switch (e->op) {
        case SL_SQL_OP_AND:
        case SL_SQL_OP_OR:
            if (need_boolean(cc, x->args[0], "An operand of AND/OR") ||
                need_boolean(cc, x->args[1], "An operand of AND/OR"))
                return NULL;
            x->type.kind = SL_SQL_BOOLEAN;
            break;
        case SL_SQL_OP_ADD:
        case SL_SQL_OP_SUB:
        case SL_SQL_OP_MUL:
        case SL_SQL_OP_DIV:
            if (arith_type(cc, e, x)) return NULL;
            break;
        case SL_SQL_OP_CONCAT: {
            int a = x->args[0]->type.kind, b = x->args[1]->type.kind;
            if (!(is_text(a) || a == SL_SQL_NULL) || !(is_text(b) || b == SL_SQL_NULL)) {
                cannot_apply(cc, e, e->op, &x->args[0]->type, &x->args[1]->type);
                return NULL;
            }
            x->type.kind = SL_SQL_VARCHAR;
            x->type.len = x->args[0]->type.len + x->args[1]->type.len;
            break;
        }
        default:
            if (unify_compare(cc, e, e->op, x->args[0], x->args[1])) return NULL;
            x->type.kind = SL_SQL_BOOLEAN;
            break;
        }
        break;
    case SL_SQL_E_BETWEEN:
        x = xnode(cc, AN_X_BETWEEN, e, 3);
        if (!x || !compile_args(cc, x, e)) return NULL;
        x->negated = e->negated;
        x->symmetric = e->symmetric;
        if (unify_compare(cc, e, SL_SQL_OP_GE, x->args[0], x->args[1]) ||
            unify_compare(cc, e, SL_SQL_OP_LE, x->args[0], x->args[2]))
            return NULL;
        x->type.kind = SL_SQL_BOOLEAN;
        break;
    case SL_SQL_E_IN:
        x = xnode(cc, AN_X_IN, e, e->nargs);
        if (!x || !compile_args(cc, x, e)) return NULL;
        x->negated = e->negated;
        for (size_t i = 1; i < x->nargs; i++)
            if (unify_compare(cc, e, SL_SQL_OP_EQ, x->args[0], x->args[i])) return NULL;
        x->type.kind = SL_SQL_BOOLEAN;
        break;
    case SL_SQL_E_LIKE:
        x = xnode(cc, AN_X_LIKE, e, e->nargs);
        if (!x || !compile_args(cc, x, e)) return NULL;
        x->negated = e->negated;
        x->similar = e->similar;
        for (size_t i = 0; i < x->nargs; i++) {
            int k = x->args[i]->type.kind;
            if (!is_text(k) && k != SL_SQL_NULL) {
                char t[64];
                fmt_type(&x->args[i]->type, t, sizeof t);
                an_plan_fail(cc, &e->pos, "Cannot apply '%s' to arguments of type <%s>",
                             e->similar ? "SIMILAR TO" : "LIKE", t);
                return NULL;
            }
        }
        x->type.kind = SL_SQL_BOOLEAN;
        break;
    case SL_SQL_E_CASE: {
        x = xnode(cc, AN_X_CASE, e, e->nargs);
        if (!x || !compile_args(cc, x, e)) return NULL;
        x->has_operand = e->has_operand;
        x->has_else = e->has_else;
        size_t i = e->has_operand ? 1 : 0, end = e->has_else ? e->nargs - 1 : e->nargs;
        sl_sql_type_t rt = {0};
        for (; i + 1 < end + 1 && i < end; i += 2) {
            if (e->has_operand) {
                if (unify_compare(cc, e, SL_SQL_OP_EQ, x->args[0], x->args[i])) return NULL;
            } else if (need_boolean(cc, x->args[i], "A WHEN clause")) {
                return NULL;
            }
            if (!comparable(rt.kind, x->args[i + 1]->type.kind)) goto case_mismatch;
            rt = common_type(&rt, &x->args[i + 1]->type);
        }
        if (e->has_else) {
            if (!comparable(rt.kind, x->args[e->nargs - 1]->type.kind)) goto case_mismatch;
            rt = common_type(&rt, &x->args[e->nargs - 1]->type);
        }
        if (is_text(rt.kind)) rt.kind = SL_SQL_VARCHAR;
        rt.not_null = false;
        x->type = rt;
        break;
    case_mismatch:
        an_plan_fail(cc, &e->pos, "Illegal mixing of types in CASE or COALESCE statement");
        return NULL;
    }
    case SL_SQL_E_CAST: {
        x = xnode(cc, AN_X_CAST, e, 1);
        if (!x || !compile_args(cc, x, e)) return NULL;
        x->type = e->type;
        x->type.not_null = false;
        int from = x->args[0]->type.kind, to = e->type.kind;
        bool ok = from == SL_SQL_NULL || from == to ||
                  ((is_num(from) || is_text(from) || from == SL_SQL_BOOLEAN) &&
                   (is_num(to) || is_text(to) || to == SL_SQL_BOOLEAN)) ||
                  (is_text(from) && is_time(to)) || (is_time(from) && is_text(to)) ||
                  (is_time(from) && is_time(to) && !(from == SL_SQL_TIME && to != SL_SQL_TIME)) ||
                  ((from == SL_SQL_BINARY || from == SL_SQL_VARBINARY) &&
                   (to == SL_SQL_BINARY || to == SL_SQL_VARBINARY)) ||
                  (is_interval(from) && is_text(to));
        if (!ok) {
            char ta[64], tb[64];
            fmt_type(&x->args[0]->type, ta, sizeof ta);
            fmt_type(&e->type, tb, sizeof tb);
            an_plan_fail(cc, &e->pos, "Cast function cannot convert value of type %s to type %s",
                         ta, tb);
            return NULL;
        }
        /* constant folding: typed literals and CASTs of constants are checked here */
        if (x->args[0]->kind == AN_X_CONST) {
            an_ctx_t ctx = {.arena = cc->arena};
            sl_sql_value_t v;
            if (an_cast(&ctx, &x->args[0]->value, &x->type, &v) != 0) {
                if (is_text(from) && is_time(to))
                    an_plan_fail(cc, &e->pos, "Illegal %s literal '%.*s'", sl_sql_kind_name(to),
                                 (int)SL_MIN(x->args[0]->value.u.s.len, 64u),
                                 x->args[0]->value.u.s.ptr);
                else
                    an_plan_fail(cc, &e->pos, "%s", ctx.error);
                return NULL;
            }
            x->kind = AN_X_CONST;
            x->value = v;
            x->nargs = 0;
        }
        break;
    }
    case SL_SQL_E_FUNC: {
        int fn = an_fn_lookup(fn_name(e));
        if (fn == AN_F_NONE) {
            /* compile the arguments for the message's types */
            x = xnode(cc, AN_X_FUNC, e, e->nargs);
            if (!x || !compile_args(cc, x, e)) return NULL;
            char msg[256];
            an_fn_type(x, cc->arena, msg, sizeof msg);
            an_plan_fail(cc, &e->pos, "%s", msg);
            return NULL;
        }
        if (an_fn_is_aggregate(fn)) {
            x = compile_aggregate(cc, e, fn);
            break;
        }
        if (e->over || e->over_name) {
            an_plan_fail(cc, &e->pos, "OVER clause is not allowed for function '%s'", fn_name(e));
            return NULL;
        }
        if (e->distinct || e->count_star) {
            an_plan_fail(cc, &e->pos, "DISTINCT is only allowed in aggregate functions");
            return NULL;
        }
        x = xnode(cc, AN_X_FUNC, e, e->nargs);
        if (!x || !compile_args(cc, x, e)) return NULL;
        x->fn = fn;
        x->unit = e->unit;
        char msg[256];
        if (an_fn_type(x, cc->arena, msg, sizeof msg)) {
            an_plan_fail(cc, &e->pos, "%s", msg);
            return NULL;
        }
        if (fn == AN_F_STEP && x->args[1]->kind != AN_X_CONST) {
            an_plan_fail(cc, &e->args[1]->pos, "The width of STEP must be a literal");
            return NULL;
        }
        break;
    }
    case SL_SQL_E_CURSOR:
        an_plan_fail(cc, &e->pos, "CURSOR is only allowed as an argument of a table function");
        break;
    case SL_SQL_E_FIELD: {
        /* (REGEX_LOG_PARSE(...)).COLUMN1: the field is NULL when the row is (no match), and a
         * name the row does not have is refused when the application is loaded */
        an_expr_t *row = compile(cc, e->args[0]);
        if (!row) return NULL;
        if (row->type.kind != SL_SQL_ROW) {
            char t[64];
            fmt_type(&row->type, t, sizeof t);
            an_plan_fail(cc, &e->pos, "Cannot access field '%s' of a value of type %s", e->parts[0],
                         t);
            return NULL;
        }
        x = resolve_field(cc, e, row, e->parts[0]);
        break;
    }
    default:
        an_plan_fail(cc, &e->pos, "Unsupported expression");
        break;
    }
    cc->depth--;
    return cc->failed ? NULL : x;
}

an_expr_t *an_plan_expr(an_cc_t *cc, const sl_sql_expr_t *e) {
    return compile(cc, e);
}

/* --- grouped queries ----------------------------------------------------------------------- */

bool an_expr_equal(const an_expr_t *a, const an_expr_t *b) {
    if (a->kind != b->kind || a->op != b->op || a->fn != b->fn || a->unit != b->unit ||
        a->nargs != b->nargs || a->negated != b->negated)
        return false;
    switch (a->kind) {
    case AN_X_CONST:
        if (a->value.null != b->value.null || a->value.kind != b->value.kind) return false;
        if (!a->value.null && an_compare(&a->value, &b->value) != 0) return false;
        break;
    case AN_X_COL:
    case AN_X_KEY:
    case AN_X_AGG:
    case AN_X_FIELD:
        if (a->slot != b->slot) return false;
        break;
    case AN_X_CAST:
        if (a->type.kind != b->type.kind || a->type.len != b->type.len) return false;
        break;
    default:
        break;
    }
    for (size_t i = 0; i < a->nargs; i++)
        if (!an_expr_equal(a->args[i], b->args[i])) return false;
    return true;
}

/* Replaces subtrees equal to group keys by key references and ROWTIME by the output ROWTIME;
 * a column left over is not grouped. */
an_expr_t *an_plan_grouped(an_cc_t *cc, an_expr_t *x, an_expr_t **keys, size_t nkeys) {
    if (!x || cc->failed) return NULL;
    for (size_t i = 0; i < nkeys; i++) {
        if (an_expr_equal(x, keys[i])) {
            an_expr_t *k = xnode(cc, AN_X_KEY, x->src, 0);
            if (!k) return NULL;
            k->slot = (int)i;
            k->type = x->type;
            return k;
        }
    }
    switch (x->kind) {
    case AN_X_ROWTIME: {
        an_expr_t *r = xnode(cc, AN_X_OUT_ROWTIME, x->src, 0);
        if (!r) return NULL;
        r->type = x->type;
        return r;
    }
    case AN_X_COL: {
        const sl_sql_expr_t *s = x->src;
        an_plan_fail(cc, &s->pos, "Expression '%s' is not being grouped",
                     s && s->nparts ? s->parts[s->nparts - 1] : "?");
        return NULL;
    }
    case AN_X_AGG:
        return x;
    default:
        break;
    }
    for (size_t i = 0; i < x->nargs; i++) {
        x->args[i] = an_plan_grouped(cc, x->args[i], keys, nkeys);
        if (!x->args[i]) return NULL;
    }
    return x;
}

/* A monotonic key: derived from ROWTIME only (FLOOR, STEP, arithmetic) or MONOTONIC(x). */
static bool refs_rowtime_only(const an_expr_t *x, bool *saw_rowtime) {
    if (x->kind == AN_X_COL || x->kind == AN_X_AGG) return false;
    if (x->kind == AN_X_ROWTIME) *saw_rowtime = true;
    if (x->kind == AN_X_FUNC && (x->fn == AN_F_CURRENT_ROW_TIMESTAMP)) return false;
    for (size_t i = 0; i < x->nargs; i++)
        if (!refs_rowtime_only(x->args[i], saw_rowtime)) return false;
    return true;
}

bool an_plan_is_monotonic(const an_expr_t *x) {
    if (x->kind == AN_X_FUNC && x->fn == AN_F_MONOTONIC) return true;
    bool saw = false;
    return refs_rowtime_only(x, &saw) && saw;
}

/* The window a monotonic key describes: FLOOR(ROWTIME TO unit) or STEP(ROWTIME BY interval). */
bool an_plan_window_width(const an_expr_t *x, int64_t *ms, int64_t *months) {
    *ms = 0;
    *months = 0;
    if (x->kind != AN_X_FUNC || x->nargs < 1 || x->args[0]->kind != AN_X_ROWTIME) return false;
    if (x->fn == AN_F_FLOOR && x->unit) {
        switch (x->unit) {
        case SL_SQL_UNIT_YEAR:
            *months = 12;
            return true;
        case SL_SQL_UNIT_MONTH:
            *months = 1;
            return true;
        case SL_SQL_UNIT_DAY:
            *ms = 86400000;
            return true;
        case SL_SQL_UNIT_HOUR:
            *ms = 3600000;
            return true;
        case SL_SQL_UNIT_MINUTE:
            *ms = 60000;
            return true;
        case SL_SQL_UNIT_SECOND:
            *ms = 1000;
            return true;
        default:
            return false;
        }
    }
    if (x->fn == AN_F_STEP && x->nargs == 2 && x->args[1]->kind == AN_X_CONST &&
        x->args[1]->value.kind == SL_SQL_INTERVAL_DT && x->args[1]->value.u.i > 0) {
        *ms = x->args[1]->value.u.i;
        return true;
    }
    return false;
}

bool an_ast_has_aggregate(const sl_sql_expr_t *e, bool over) {
    if (!e) return false;
    if (e->kind == SL_SQL_E_FUNC) {
        int fn = an_fn_lookup(e->parts[0]);
        bool has_over = e->over || e->over_name;
        /* analytic-only functions without OVER are reported by the compiler, not grouped */
        if (an_fn_is_aggregate(fn) && has_over == over && (over || fn < AN_F_FIRST_VALUE))
            return true;
    }
    if (e->kind == SL_SQL_E_CURSOR) return false;
    for (size_t i = 0; i < e->nargs; i++)
        if (an_ast_has_aggregate(e->args[i], over)) return true;
    return false;
}
