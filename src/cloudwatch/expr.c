/* Metric math (expr.h): a recursive-descent parser into an arena tree, and an evaluator whose
 * values are scalars, series and arrays of series. Input is from the network: every error is a
 * message, never an assertion; nesting is bounded by SL_CW_EXPR_DEPTH_MAX and lists by
 * SL_CW_EXPR_ARGS_MAX. */
#include "cloudwatch/expr.h"

#include "core/common.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { N_NUM, N_STR, N_ID, N_NEG, N_NOT, N_BIN, N_CALL, N_ARRAY } node_kind_t;

typedef enum {
    OP_ADD,
    OP_SUB,
    OP_MUL,
    OP_DIV,
    OP_POW,
    OP_LT,
    OP_LE,
    OP_GT,
    OP_GE,
    OP_EQ,
    OP_NE,
    OP_AND,
    OP_OR,
} op_t;

struct sl_cw_expr {
    node_kind_t kind;
    op_t op;
    double num;
    const char *name; /* N_STR, N_ID, N_CALL */
    struct sl_cw_expr **args;
    size_t nargs;
    size_t pos; /* character offset, for messages */
};

/* ---- parser ---- */

typedef struct {
    const char *s;
    size_t pos;
    sl_arena_t *arena;
    char *err;
    size_t err_cap;
    int depth;
    bool failed, oom;
} parser_t;

static void perr(parser_t *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void perr(parser_t *p, const char *fmt, ...) {
    if (p->failed) return;
    p->failed = true;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err, p->err_cap, fmt, ap);
    va_end(ap);
}

static void skip_ws(parser_t *p) {
    while (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' || p->s[p->pos] == '\n' ||
           p->s[p->pos] == '\r')
        p->pos++;
}

static bool accept(parser_t *p, const char *tok) {
    skip_ws(p);
    size_t n = strlen(tok);
    if (strncmp(p->s + p->pos, tok, n) != 0) return false;
    /* a keyword must not continue as an identifier (ANDROID is not AND) */
    if (isalpha((unsigned char)tok[0]) &&
        (isalnum((unsigned char)p->s[p->pos + n]) || p->s[p->pos + n] == '_'))
        return false;
    p->pos += n;
    return true;
}

static sl_cw_expr_t *node(parser_t *p, node_kind_t kind) {
    sl_cw_expr_t *e = sl_arena_calloc(p->arena, 1, sizeof *e);
    if (!e) {
        p->oom = true;
        perr(p, "out of memory");
        return NULL;
    }
    e->kind = kind;
    e->pos = p->pos;
    return e;
}

static sl_cw_expr_t *parse_or(parser_t *p);

/* a comma-separated list up to `close`, into e->args */
static void parse_list(parser_t *p, sl_cw_expr_t *e, const char *close) {
    sl_cw_expr_t *items[SL_CW_EXPR_ARGS_MAX];
    size_t n = 0;
    if (!accept(p, close)) {
        do {
            if (n == SL_CW_EXPR_ARGS_MAX) {
                perr(p, "more than %d items in a list at position %zu", SL_CW_EXPR_ARGS_MAX,
                     p->pos + 1);
                return;
            }
            items[n] = parse_or(p);
            if (p->failed) return;
            n++;
        } while (accept(p, ","));
        if (!accept(p, close)) {
            perr(p, "'%s' expected at position %zu", close, p->pos + 1);
            return;
        }
    }
    e->args = sl_arena_alloc(p->arena, (n ? n : 1) * sizeof *e->args);
    if (!e->args) {
        p->oom = true;
        perr(p, "out of memory");
        return;
    }
    memcpy(e->args, items, n * sizeof *items);
    e->nargs = n;
}

static sl_cw_expr_t *parse_primary(parser_t *p) {
    skip_ws(p);
    const char *c = p->s + p->pos;
    if (accept(p, "(")) {
        sl_cw_expr_t *e = parse_or(p);
        if (!p->failed && !accept(p, ")")) perr(p, "')' expected at position %zu", p->pos + 1);
        return e;
    }
    if (accept(p, "[")) {
        sl_cw_expr_t *e = node(p, N_ARRAY);
        if (e) parse_list(p, e, "]");
        return e;
    }
    if (*c == '\'' || *c == '"') {
        const char *end = strchr(c + 1, *c);
        if (!end) {
            perr(p, "unterminated string at position %zu", p->pos + 1);
            return NULL;
        }
        sl_cw_expr_t *e = node(p, N_STR);
        if (e && !(e->name = sl_arena_strndup(p->arena, c + 1, (size_t)(end - c - 1)))) {
            p->oom = true;
            perr(p, "out of memory");
        }
        p->pos += (size_t)(end - c) + 1;
        return e;
    }
    if (isdigit((unsigned char)*c) || (*c == '.' && isdigit((unsigned char)c[1]))) {
        char *end;
        double v = strtod(c, &end);
        if (end == c || isalpha((unsigned char)*end) || *end == '_') {
            perr(p, "invalid number at position %zu", p->pos + 1);
            return NULL;
        }
        sl_cw_expr_t *e = node(p, N_NUM);
        if (e) e->num = v;
        p->pos += (size_t)(end - c);
        return e;
    }
    if (isalpha((unsigned char)*c) || *c == '_') {
        size_t n = 1;
        while (isalnum((unsigned char)c[n]) || c[n] == '_')
            n++;
        size_t start = p->pos;
        p->pos += n;
        bool call = accept(p, "(");
        sl_cw_expr_t *e = node(p, call ? N_CALL : N_ID);
        if (!e) return NULL;
        e->pos = start;
        if (!(e->name = sl_arena_strndup(p->arena, c, n))) {
            p->oom = true;
            perr(p, "out of memory");
            return NULL;
        }
        if (call) parse_list(p, e, ")");
        return e;
    }
    if (*c == 0)
        perr(p, "unexpected end of the expression");
    else
        perr(p, "unexpected character '%c' at position %zu", *c, p->pos + 1);
    return NULL;
}

static sl_cw_expr_t *parse_unary(parser_t *p) {
    if (++p->depth > SL_CW_EXPR_DEPTH_MAX) {
        perr(p, "the expression is nested deeper than %d levels", SL_CW_EXPR_DEPTH_MAX);
        return NULL;
    }
    sl_cw_expr_t *e;
    node_kind_t k = N_NUM;
    if (accept(p, "-"))
        k = N_NEG;
    else if (accept(p, "NOT") || accept(p, "!"))
        k = N_NOT;
    if (k != N_NUM) {
        e = node(p, k);
        sl_cw_expr_t *a = e ? parse_unary(p) : NULL;
        if (e && a) {
            e->args = sl_arena_alloc(p->arena, sizeof *e->args);
            if (e->args) {
                e->args[0] = a;
                e->nargs = 1;
            } else {
                p->oom = true;
                perr(p, "out of memory");
            }
        }
    } else {
        e = parse_primary(p);
        /* ^ binds tighter than unary minus on its left operand's right: -2^2 = -(2^2) */
        if (!p->failed && accept(p, "^")) {
            sl_cw_expr_t *b = node(p, N_BIN);
            sl_cw_expr_t *r = b ? parse_unary(p) : NULL;
            if (b && r) {
                b->op = OP_POW;
                b->args = sl_arena_alloc(p->arena, 2 * sizeof *b->args);
                if (b->args) {
                    b->args[0] = e;
                    b->args[1] = r;
                    b->nargs = 2;
                }
            }
            e = b;
        }
    }
    p->depth--;
    return p->failed ? NULL : e;
}

static sl_cw_expr_t *binary(parser_t *p, op_t op, sl_cw_expr_t *l, sl_cw_expr_t *r) {
    if (p->failed) return NULL;
    sl_cw_expr_t *e = node(p, N_BIN);
    if (!e || !(e->args = sl_arena_alloc(p->arena, 2 * sizeof *e->args))) {
        p->oom = true;
        perr(p, "out of memory");
        return NULL;
    }
    e->op = op;
    e->args[0] = l;
    e->args[1] = r;
    e->nargs = 2;
    return e;
}

static sl_cw_expr_t *parse_mul(parser_t *p) {
    sl_cw_expr_t *e = parse_unary(p);
    for (;;) {
        if (p->failed) return NULL;
        if (accept(p, "*"))
            e = binary(p, OP_MUL, e, parse_unary(p));
        else if (accept(p, "/"))
            e = binary(p, OP_DIV, e, parse_unary(p));
        else
            return e;
    }
}

static sl_cw_expr_t *parse_add(parser_t *p) {
    sl_cw_expr_t *e = parse_mul(p);
    for (;;) {
        if (p->failed) return NULL;
        if (accept(p, "+"))
            e = binary(p, OP_ADD, e, parse_mul(p));
        else if (accept(p, "-"))
            e = binary(p, OP_SUB, e, parse_mul(p));
        else
            return e;
    }
}

static sl_cw_expr_t *parse_cmp(parser_t *p) {
    sl_cw_expr_t *e = parse_add(p);
    static const struct {
        const char *tok;
        op_t op;
    } ops[] = {{"<=", OP_LE}, {">=", OP_GE}, {"==", OP_EQ},
               {"!=", OP_NE}, {"<", OP_LT},  {">", OP_GT}};
    for (size_t i = 0; !p->failed && i < SL_ARRAY_LEN(ops); i++)
        if (accept(p, ops[i].tok)) return binary(p, ops[i].op, e, parse_add(p));
    return p->failed ? NULL : e;
}

static sl_cw_expr_t *parse_and(parser_t *p) {
    sl_cw_expr_t *e = parse_cmp(p);
    while (!p->failed && (accept(p, "AND") || accept(p, "&&")))
        e = binary(p, OP_AND, e, parse_cmp(p));
    return p->failed ? NULL : e;
}

static sl_cw_expr_t *parse_or(parser_t *p) {
    if (++p->depth > SL_CW_EXPR_DEPTH_MAX) {
        perr(p, "the expression is nested deeper than %d levels", SL_CW_EXPR_DEPTH_MAX);
        return NULL;
    }
    sl_cw_expr_t *e = parse_and(p);
    while (!p->failed && (accept(p, "OR") || accept(p, "||")))
        e = binary(p, OP_OR, e, parse_and(p));
    p->depth--;
    return p->failed ? NULL : e;
}

int sl_cw_expr_parse(const char *text, sl_arena_t *arena, sl_cw_expr_t **out, char *err,
                     size_t err_cap) {
    parser_t p = {.s = text, .arena = arena, .err = err, .err_cap = err_cap};
    *out = NULL;
    if (err_cap) err[0] = 0;
    sl_cw_expr_t *e = parse_or(&p);
    skip_ws(&p);
    if (!p.failed && text[p.pos])
        perr(&p, "unexpected '%c' at position %zu", text[p.pos], p.pos + 1);
    if (p.failed) return p.oom ? SL_ENOMEM : SL_EINVAL;
    *out = e;
    return 0;
}

void sl_cw_expr_ids(const sl_cw_expr_t *e, void (*fn)(void *arg, const char *id), void *arg) {
    if (!e) return;
    if (e->kind == N_ID) fn(arg, e->name);
    for (size_t i = 0; i < e->nargs; i++)
        sl_cw_expr_ids(e->args[i], fn, arg);
}

/* ---- evaluation ---- */

typedef struct {
    const sl_cw_eval_t *ev;
    char *err;
    size_t err_cap;
    bool oom;
} ectx_t;

static int eerr(ectx_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int eerr(ectx_t *c, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, c->err_cap, fmt, ap);
    va_end(ap);
    return SL_EINVAL;
}

static int oom(ectx_t *c) {
    c->oom = true;
    snprintf(c->err, c->err_cap, "out of memory");
    return SL_ENOMEM;
}

static int series_alloc(ectx_t *c, sl_cw_series_t *s, size_t n) {
    s->t = sl_arena_alloc(c->ev->arena, (n ? n : 1) * sizeof *s->t);
    s->v = sl_arena_alloc(c->ev->arena, (n ? n : 1) * sizeof *s->v);
    s->n = 0;
    return s->t && s->v ? 0 : oom(c);
}

static double apply(op_t op, double a, double b) {
    switch (op) {
    case OP_ADD:
        return a + b;
    case OP_SUB:
        return a - b;
    case OP_MUL:
        return a * b;
    case OP_DIV:
        return a / b;
    case OP_POW:
        return pow(a, b);
    case OP_LT:
        return a < b;
    case OP_LE:
        return a <= b;
    case OP_GT:
        return a > b;
    case OP_GE:
        return a >= b;
    case OP_EQ:
        return a == b;
    case OP_NE:
        return a != b;
    case OP_AND:
        return a != 0 && b != 0;
    default:
        return a != 0 || b != 0;
    }
}

static void push(sl_cw_series_t *s, int64_t t, double v) {
    if (!isfinite(v)) return;
    s->t[s->n] = t;
    s->v[s->n++] = v;
}

/* a op b for scalars and series (arrays are unrolled by the caller) */
static int binop_flat(ectx_t *c, op_t op, const sl_cw_value_t *a, const sl_cw_value_t *b,
                      sl_cw_value_t *out) {
    if (a->kind == SL_CW_SCALAR && b->kind == SL_CW_SCALAR) {
        *out = (sl_cw_value_t){.kind = SL_CW_SCALAR, .scalar = apply(op, a->scalar, b->scalar)};
        return 0;
    }
    *out = (sl_cw_value_t){.kind = SL_CW_SERIES};
    sl_cw_series_t *r = &out->series;
    if (a->kind == SL_CW_SCALAR || b->kind == SL_CW_SCALAR) {
        const sl_cw_series_t *s = a->kind == SL_CW_SERIES ? &a->series : &b->series;
        if (series_alloc(c, r, s->n)) return SL_ENOMEM;
        r->period_s = s->period_s;
        r->label = s->label;
        for (size_t i = 0; i < s->n; i++)
            push(r, s->t[i],
                 a->kind == SL_CW_SCALAR ? apply(op, a->scalar, s->v[i])
                                         : apply(op, s->v[i], b->scalar));
        return 0;
    }
    const sl_cw_series_t *x = &a->series, *y = &b->series;
    if (series_alloc(c, r, x->n < y->n ? x->n : y->n)) return SL_ENOMEM;
    r->period_s = x->period_s;
    r->label = x->label;
    for (size_t i = 0, j = 0; i < x->n && j < y->n;) {
        if (x->t[i] < y->t[j])
            i++;
        else if (x->t[i] > y->t[j])
            j++;
        else {
            push(r, x->t[i], apply(op, x->v[i], y->v[j]));
            i++, j++;
        }
    }
    return 0;
}

static int binop(ectx_t *c, op_t op, const sl_cw_value_t *a, const sl_cw_value_t *b,
                 sl_cw_value_t *out) {
    if (a->kind == SL_CW_ARRAY && b->kind == SL_CW_ARRAY)
        return eerr(c, "an operation between two arrays of time series is not supported");
    if (a->kind != SL_CW_ARRAY && b->kind != SL_CW_ARRAY) return binop_flat(c, op, a, b, out);
    const sl_cw_value_t *arr = a->kind == SL_CW_ARRAY ? a : b;
    *out = (sl_cw_value_t){.kind = SL_CW_ARRAY, .count = arr->count};
    out->items = sl_arena_alloc(c->ev->arena, (arr->count ? arr->count : 1) * sizeof *out->items);
    if (!out->items) return oom(c);
    for (size_t i = 0; i < arr->count; i++) {
        sl_cw_value_t item = {.kind = SL_CW_SERIES, .series = arr->items[i]}, r;
        int rc = a->kind == SL_CW_ARRAY ? binop_flat(c, op, &item, b, &r)
                                        : binop_flat(c, op, a, &item, &r);
        if (rc) return rc;
        out->items[i] = r.series;
    }
    return 0;
}

/* element-wise function of one value */
static int map1(ectx_t *c, double (*f)(double), const sl_cw_value_t *a, sl_cw_value_t *out) {
    if (a->kind == SL_CW_SCALAR) {
        *out = (sl_cw_value_t){.kind = SL_CW_SCALAR, .scalar = f(a->scalar)};
        return 0;
    }
    size_t count = a->kind == SL_CW_ARRAY ? a->count : 1;
    const sl_cw_series_t *in = a->kind == SL_CW_ARRAY ? a->items : &a->series;
    sl_cw_series_t *res = sl_arena_alloc(c->ev->arena, (count ? count : 1) * sizeof *res);
    if (!res) return oom(c);
    for (size_t k = 0; k < count; k++) {
        if (series_alloc(c, &res[k], in[k].n)) return SL_ENOMEM;
        res[k].period_s = in[k].period_s;
        res[k].label = in[k].label;
        for (size_t i = 0; i < in[k].n; i++)
            push(&res[k], in[k].t[i], f(in[k].v[i]));
    }
    *out = a->kind == SL_CW_ARRAY
               ? (sl_cw_value_t){.kind = SL_CW_ARRAY, .items = res, .count = count}
               : (sl_cw_value_t){.kind = SL_CW_SERIES, .series = res[0]};
    return 0;
}

typedef enum { AG_SUM, AG_AVG, AG_MIN, AG_MAX, AG_STDDEV } agg_t;

static double aggregate(agg_t how, const double *v, size_t n) {
    double sum = 0, min = INFINITY, max = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        sum += v[i];
        if (v[i] < min) min = v[i];
        if (v[i] > max) max = v[i];
    }
    switch (how) {
    case AG_SUM:
        return sum;
    case AG_AVG:
        return n ? sum / (double)n : NAN;
    case AG_MIN:
        return n ? min : NAN;
    case AG_MAX:
        return n ? max : NAN;
    default: {
        if (n == 0) return NAN;
        double mean = sum / (double)n, sq = 0;
        for (size_t i = 0; i < n; i++)
            sq += (v[i] - mean) * (v[i] - mean);
        return sqrt(sq / (double)n);
    }
    }
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* SUM/AVG/...: a series gives a scalar; an array gives a series over the union of timestamps */
static int agg(ectx_t *c, agg_t how, const sl_cw_value_t *a, sl_cw_value_t *out) {
    if (a->kind == SL_CW_SCALAR) {
        *out = *a;
        return 0;
    }
    if (a->kind == SL_CW_SERIES) {
        *out = (sl_cw_value_t){.kind = SL_CW_SCALAR,
                               .scalar = aggregate(how, a->series.v, a->series.n)};
        return 0;
    }
    size_t total = 0;
    for (size_t k = 0; k < a->count; k++)
        total += a->items[k].n;
    int64_t *ts = sl_arena_alloc(c->ev->arena, (total ? total : 1) * sizeof *ts);
    double *vals = sl_arena_alloc(c->ev->arena, (a->count ? a->count : 1) * sizeof *vals);
    size_t *pos = sl_arena_calloc(c->ev->arena, a->count ? a->count : 1, sizeof *pos);
    if (!ts || !vals || !pos) return oom(c);
    size_t m = 0;
    for (size_t k = 0; k < a->count; k++)
        for (size_t i = 0; i < a->items[k].n; i++)
            ts[m++] = a->items[k].t[i];
    qsort(ts, m, sizeof *ts, cmp_i64);
    *out = (sl_cw_value_t){.kind = SL_CW_SERIES};
    if (series_alloc(c, &out->series, m)) return SL_ENOMEM;
    out->series.period_s = a->count ? a->items[0].period_s : c->ev->period_s;
    for (size_t i = 0; i < m; i++) {
        if (i > 0 && ts[i] == ts[i - 1]) continue;
        size_t n = 0;
        for (size_t k = 0; k < a->count; k++) {
            const sl_cw_series_t *s = &a->items[k];
            while (pos[k] < s->n && s->t[pos[k]] < ts[i])
                pos[k]++;
            if (pos[k] < s->n && s->t[pos[k]] == ts[i]) vals[n++] = s->v[pos[k]];
        }
        push(&out->series, ts[i], aggregate(how, vals, n));
    }
    return 0;
}

typedef enum { SEQ_RATE, SEQ_DIFF, SEQ_RUNNING_SUM } seq_t;

static int sequence_one(ectx_t *c, seq_t how, const sl_cw_series_t *s, sl_cw_series_t *r) {
    if (series_alloc(c, r, s->n)) return SL_ENOMEM;
    r->period_s = s->period_s;
    r->label = s->label;
    double run = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (how == SEQ_RUNNING_SUM) {
            run += s->v[i];
            push(r, s->t[i], run);
        } else if (i > 0) {
            double d = s->v[i] - s->v[i - 1];
            push(r, s->t[i], how == SEQ_DIFF ? d : d / ((double)(s->t[i] - s->t[i - 1]) / 1000.0));
        }
    }
    return 0;
}

static int sequence(ectx_t *c, seq_t how, const sl_cw_value_t *a, sl_cw_value_t *out) {
    if (a->kind == SL_CW_SCALAR) return eerr(c, "this function takes a time series");
    if (a->kind == SL_CW_SERIES) {
        *out = (sl_cw_value_t){.kind = SL_CW_SERIES};
        return sequence_one(c, how, &a->series, &out->series);
    }
    *out = (sl_cw_value_t){.kind = SL_CW_ARRAY, .count = a->count};
    out->items = sl_arena_alloc(c->ev->arena, (a->count ? a->count : 1) * sizeof *out->items);
    if (!out->items) return oom(c);
    for (size_t k = 0; k < a->count; k++) {
        int rc = sequence_one(c, how, &a->items[k], &out->items[k]);
        if (rc) return rc;
    }
    return 0;
}

typedef enum { FILL_VALUE, FILL_REPEAT, FILL_LINEAR } fill_t;

static int fill_one(ectx_t *c, const sl_cw_series_t *s, fill_t how, double value,
                    sl_cw_series_t *r) {
    int64_t period_ms = (s->period_s > 0 ? s->period_s : c->ev->period_s) * 1000;
    if (period_ms <= 0) return eerr(c, "FILL needs the period of its time series");
    int64_t first = c->ev->start_ms - ((c->ev->start_ms % period_ms) + period_ms) % period_ms;
    if (first < c->ev->start_ms) first += period_ms;
    int64_t slots = c->ev->end_ms > first ? (c->ev->end_ms - first + period_ms - 1) / period_ms : 0;
    if (slots > 100800) return eerr(c, "FILL would produce more than 100800 data points");
    if (series_alloc(c, r, (size_t)slots + s->n)) return SL_ENOMEM;
    r->period_s = s->period_s;
    r->label = s->label;
    size_t j = 0;
    for (int64_t t = first; t < c->ev->end_ms; t += period_ms) {
        while (j < s->n && s->t[j] < t)
            push(r, s->t[j], s->v[j]), j++; /* points off the grid are kept as they are */
        if (j < s->n && s->t[j] == t) {
            push(r, t, s->v[j++]);
            continue;
        }
        if (how == FILL_VALUE || s->n == 0) {
            if (how == FILL_VALUE) push(r, t, value);
            continue;
        }
        /* neighbours: the last point before t and the next one after it */
        bool has_prev = j > 0, has_next = j < s->n;
        double prev = has_prev ? s->v[j - 1] : s->v[j], next = has_next ? s->v[j] : s->v[j - 1];
        if (how == FILL_REPEAT || !has_prev || !has_next)
            push(r, t, has_prev ? prev : next);
        else
            push(r, t,
                 prev +
                     (next - prev) * (double)(t - s->t[j - 1]) / (double)(s->t[j] - s->t[j - 1]));
    }
    while (j < s->n)
        push(r, s->t[j], s->v[j]), j++;
    return 0;
}

static int eval(ectx_t *c, const sl_cw_expr_t *e, sl_cw_value_t *out);

static int call(ectx_t *c, const sl_cw_expr_t *e, sl_cw_value_t *out) {
    const char *f = e->name;
    size_t n = e->nargs;
    sl_cw_value_t a[3];
    /* METRICS and FILL read some arguments as words, not values */
    if (strcmp(f, "METRICS") == 0) {
        const char *filter = NULL;
        if (n > 1 || (n == 1 && e->args[0]->kind != N_STR))
            return eerr(c, "METRICS takes no argument or one string");
        if (n == 1) filter = e->args[0]->name;
        *out = (sl_cw_value_t){.kind = SL_CW_ARRAY};
        out->items = sl_arena_alloc(c->ev->arena, (c->ev->metric_count ? c->ev->metric_count : 1) *
                                                      sizeof *out->items);
        if (!out->items) return oom(c);
        for (size_t i = 0; i < c->ev->metric_count; i++)
            if (!filter || strstr(c->ev->metric_ids[i], filter))
                out->items[out->count++] = c->ev->metrics[i];
        return 0;
    }
    if (n > 3) return eerr(c, "too many arguments to %s", f);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(f, "FILL") == 0 && i == 1 && e->args[1]->kind == N_ID &&
            (strcmp(e->args[1]->name, "REPEAT") == 0 || strcmp(e->args[1]->name, "LINEAR") == 0))
            continue;
        int rc = eval(c, e->args[i], &a[i]);
        if (rc) return rc;
    }
#define ARITY(lo, hi)                                                                              \
    if (n < (lo) || n > (hi)) return eerr(c, "%s takes %d to %d arguments", f, lo, hi)
    static const struct {
        const char *name;
        double (*fn)(double);
    } unary[] = {{"ABS", fabs}, {"CEIL", ceil}, {"FLOOR", floor}, {"LOG", log}, {"LOG10", log10}};
    for (size_t i = 0; i < SL_ARRAY_LEN(unary); i++)
        if (strcmp(f, unary[i].name) == 0) {
            ARITY(1, 1);
            return map1(c, unary[i].fn, &a[0], out);
        }
    static const struct {
        const char *name;
        agg_t how;
    } aggs[] = {
        {"SUM", AG_SUM}, {"AVG", AG_AVG}, {"MIN", AG_MIN}, {"MAX", AG_MAX}, {"STDDEV", AG_STDDEV}};
    for (size_t i = 0; i < SL_ARRAY_LEN(aggs); i++)
        if (strcmp(f, aggs[i].name) == 0) {
            ARITY(1, 1);
            return agg(c, aggs[i].how, &a[0], out);
        }
    if (strcmp(f, "RATE") == 0 || strcmp(f, "DIFF") == 0 || strcmp(f, "RUNNING_SUM") == 0) {
        ARITY(1, 1);
        return sequence(c, f[0] == 'R' ? (f[1] == 'A' ? SEQ_RATE : SEQ_RUNNING_SUM) : SEQ_DIFF,
                        &a[0], out);
    }
    if (strcmp(f, "METRIC_COUNT") == 0) {
        ARITY(1, 1);
        *out = (sl_cw_value_t){.kind = SL_CW_SCALAR,
                               .scalar = a[0].kind == SL_CW_ARRAY ? (double)a[0].count : 1};
        return 0;
    }
    if (strcmp(f, "PERIOD") == 0) {
        ARITY(1, 1);
        int64_t p = a[0].kind == SL_CW_SERIES                ? a[0].series.period_s
                    : a[0].kind == SL_CW_ARRAY && a[0].count ? a[0].items[0].period_s
                                                             : c->ev->period_s;
        *out = (sl_cw_value_t){.kind = SL_CW_SCALAR, .scalar = (double)p};
        return 0;
    }
    if (strcmp(f, "FILL") == 0) {
        ARITY(2, 2);
        fill_t how = FILL_VALUE;
        double value = 0;
        if (e->args[1]->kind == N_ID && strcmp(e->args[1]->name, "REPEAT") == 0)
            how = FILL_REPEAT;
        else if (e->args[1]->kind == N_ID && strcmp(e->args[1]->name, "LINEAR") == 0)
            how = FILL_LINEAR;
        else if (a[1].kind == SL_CW_SCALAR)
            value = a[1].scalar;
        else
            return eerr(c, "the second argument of FILL must be a number, REPEAT or LINEAR");
        if (a[0].kind == SL_CW_SCALAR) return eerr(c, "FILL takes a time series");
        size_t count = a[0].kind == SL_CW_ARRAY ? a[0].count : 1;
        const sl_cw_series_t *in = a[0].kind == SL_CW_ARRAY ? a[0].items : &a[0].series;
        sl_cw_series_t *res = sl_arena_alloc(c->ev->arena, (count ? count : 1) * sizeof *res);
        if (!res) return oom(c);
        for (size_t k = 0; k < count; k++) {
            int rc = fill_one(c, &in[k], how, value, &res[k]);
            if (rc) return rc;
        }
        *out = a[0].kind == SL_CW_ARRAY
                   ? (sl_cw_value_t){.kind = SL_CW_ARRAY, .items = res, .count = count}
                   : (sl_cw_value_t){.kind = SL_CW_SERIES, .series = res[0]};
        return 0;
    }
    if (strcmp(f, "IF") == 0) {
        ARITY(2, 3);
        if (a[0].kind == SL_CW_ARRAY || a[1].kind == SL_CW_ARRAY ||
            (n == 3 && a[2].kind == SL_CW_ARRAY))
            return eerr(c, "IF does not take arrays of time series");
        if (a[0].kind == SL_CW_SCALAR) {
            if (a[0].scalar != 0) {
                *out = a[1];
            } else if (n == 3) {
                *out = a[2];
            } else {
                *out = (sl_cw_value_t){.kind = SL_CW_SERIES};
                return series_alloc(c, &out->series, 0);
            }
            return 0;
        }
        const sl_cw_series_t *cond = &a[0].series;
        *out = (sl_cw_value_t){.kind = SL_CW_SERIES};
        if (series_alloc(c, &out->series, cond->n)) return SL_ENOMEM;
        out->series.period_s = cond->period_s;
        out->series.label = cond->label;
        size_t pos[3] = {0, 0, 0};
        for (size_t i = 0; i < cond->n; i++) {
            const sl_cw_value_t *pick = cond->v[i] != 0 ? &a[1] : n == 3 ? &a[2] : NULL;
            if (!pick) continue;
            size_t w = pick == &a[1] ? 1 : 2;
            if (pick->kind == SL_CW_SCALAR) {
                push(&out->series, cond->t[i], pick->scalar);
                continue;
            }
            const sl_cw_series_t *s = &pick->series;
            while (pos[w] < s->n && s->t[pos[w]] < cond->t[i])
                pos[w]++;
            if (pos[w] < s->n && s->t[pos[w]] == cond->t[i])
                push(&out->series, cond->t[i], s->v[pos[w]]);
        }
        return 0;
    }
#undef ARITY
    return eerr(c, "unknown function %s", f);
}

static int eval(ectx_t *c, const sl_cw_expr_t *e, sl_cw_value_t *out) {
    switch (e->kind) {
    case N_NUM:
        *out = (sl_cw_value_t){.kind = SL_CW_SCALAR, .scalar = e->num};
        return 0;
    case N_STR:
        return eerr(c, "a string is allowed only as the argument of METRICS");
    case N_ID: {
        int rc = c->ev->lookup(c->ev->ctx, e->name, out, c->err, c->err_cap);
        if (rc == SL_ENOTFOUND) return eerr(c, "unknown id or keyword %s", e->name);
        if (rc == SL_ENOMEM) c->oom = true;
        return rc;
    }
    case N_ARRAY: {
        *out = (sl_cw_value_t){.kind = SL_CW_ARRAY};
        size_t cap = 0;
        for (size_t i = 0; i < e->nargs; i++) {
            sl_cw_value_t v;
            int rc = eval(c, e->args[i], &v);
            if (rc) return rc;
            if (v.kind == SL_CW_SCALAR) return eerr(c, "an array holds time series, not numbers");
            size_t add = v.kind == SL_CW_ARRAY ? v.count : 1;
            if (out->count + add > cap) {
                size_t ncap = (out->count + add) * 2;
                sl_cw_series_t *items = sl_arena_alloc(c->ev->arena, ncap * sizeof *items);
                if (!items) return oom(c);
                if (out->count) memcpy(items, out->items, out->count * sizeof *items);
                out->items = items;
                cap = ncap;
            }
            if (v.kind == SL_CW_ARRAY)
                for (size_t k = 0; k < v.count; k++)
                    out->items[out->count++] = v.items[k];
            else
                out->items[out->count++] = v.series;
        }
        return 0;
    }
    case N_NEG:
    case N_NOT: {
        sl_cw_value_t a;
        int rc = eval(c, e->args[0], &a);
        if (rc) return rc;
        sl_cw_value_t zero = {.kind = SL_CW_SCALAR, .scalar = 0};
        return e->kind == N_NEG ? binop(c, OP_SUB, &zero, &a, out)
                                : binop(c, OP_EQ, &a, &zero, out);
    }
    case N_BIN: {
        sl_cw_value_t a, b;
        int rc = eval(c, e->args[0], &a);
        if (rc == 0) rc = eval(c, e->args[1], &b);
        if (rc) return rc;
        return binop(c, e->op, &a, &b, out);
    }
    default:
        return call(c, e, out);
    }
}

int sl_cw_expr_eval(const sl_cw_expr_t *e, const sl_cw_eval_t *ev, sl_cw_value_t *out, char *err,
                    size_t err_cap) {
    ectx_t c = {.ev = ev, .err = err, .err_cap = err_cap};
    if (err_cap) err[0] = 0;
    int rc = eval(&c, e, out);
    if (rc && c.oom) rc = SL_ENOMEM;
    return rc;
}
