/* The expression evaluator and the scalar function library (spec §4.4-4.7): three-valued logic,
 * SQL arithmetic (integer division truncates; division by zero and overflow are row errors that
 * send the row to error_stream), datetime arithmetic, string functions on UTF-8 text, LIKE and
 * SIMILAR TO, and the type rules of each function for the planner. */
#include "analytics/internal.h"

#include "core/common.h"
#include "core/limits.h"

#include <ctype.h>
#include <math.h>
#include <regex.h>
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

static double as_double(const sl_sql_value_t *v) {
    return is_exact(v->kind) ? (double)v->u.i : v->u.d;
}

static int err(an_ctx_t *ctx, const char *msg) {
    ctx->error = msg;
    return -1;
}

static int errf(an_ctx_t *ctx, const char *fmt, long long x) {
    snprintf(ctx->error_buf, sizeof ctx->error_buf, fmt, x);
    ctx->error = ctx->error_buf;
    return -1;
}

static void set_null(sl_sql_value_t *out, int kind) {
    memset(out, 0, sizeof *out);
    out->kind = (uint8_t)kind;
    out->null = true;
}

static void set_int(sl_sql_value_t *out, int kind, int64_t x) {
    memset(out, 0, sizeof *out);
    out->kind = (uint8_t)kind;
    out->u.i = x;
}

static void set_double(sl_sql_value_t *out, int kind, double d) {
    memset(out, 0, sizeof *out);
    out->kind = (uint8_t)kind;
    out->u.d = kind == SL_SQL_REAL ? (float)d : d;
}

static void set_bool(sl_sql_value_t *out, bool b) {
    memset(out, 0, sizeof *out);
    out->kind = SL_SQL_BOOLEAN;
    out->u.b = b;
}

static int set_text(an_ctx_t *ctx, sl_sql_value_t *out, const char *s, size_t len) {
    char *p = sl_arena_alloc(ctx->arena, len + 1);
    if (!p) return err(ctx, "out of memory");
    if (len) memcpy(p, s, len);
    memset(out, 0, sizeof *out);
    out->kind = SL_SQL_VARCHAR;
    out->u.s.ptr = p;
    out->u.s.len = (uint32_t)len;
    return 0;
}

static bool int_fits(int kind, int64_t x) {
    switch (kind) {
    case SL_SQL_TINYINT:
        return x >= -128 && x <= 127;
    case SL_SQL_SMALLINT:
        return x >= -32768 && x <= 32767;
    case SL_SQL_INTEGER:
        return x >= INT32_MIN && x <= INT32_MAX;
    default:
        return true;
    }
}

/* --- UTF-8 helpers ------------------------------------------------------------------------- */

static size_t utf8_len(const char *s, size_t len) {
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80) n++;
    return n;
}

/* Byte offset of code point n (0-based), clipped to len. */
static size_t utf8_at(const char *s, size_t len, int64_t n) {
    size_t i = 0;
    while (i < len && n > 0) {
        i++;
        while (i < len && ((unsigned char)s[i] & 0xC0) == 0x80)
            i++;
        n--;
    }
    return i;
}

/* --- LIKE and SIMILAR TO ------------------------------------------------------------------- */

static size_t cp_len(const char *s, size_t len, size_t i) {
    size_t j = i + 1;
    while (j < len && ((unsigned char)s[j] & 0xC0) == 0x80)
        j++;
    return j - i;
}

static bool like_match(const char *s, size_t sl, const char *p, size_t pl, int esc) {
    size_t si = 0, pi = 0, star_p = SIZE_MAX, star_s = 0;
    while (si < sl) {
        if (pi < pl) {
            char c = p[pi];
            if (esc >= 0 && c == (char)esc && pi + 1 < pl) {
                size_t l = cp_len(p, pl, pi + 1);
                if (si + l <= sl && memcmp(s + si, p + pi + 1, l) == 0) {
                    si += l;
                    pi += 1 + l;
                    continue;
                }
            } else if (c == '%') {
                star_p = ++pi;
                star_s = si;
                continue;
            } else if (c == '_') {
                si += cp_len(s, sl, si);
                pi++;
                continue;
            } else {
                size_t l = cp_len(p, pl, pi);
                if (si + l <= sl && memcmp(s + si, p + pi, l) == 0) {
                    si += l;
                    pi += l;
                    continue;
                }
            }
        }
        if (star_p == SIZE_MAX) return false;
        star_s += cp_len(s, sl, star_s);
        si = star_s;
        pi = star_p;
    }
    while (pi < pl && p[pi] == '%')
        pi++;
    return pi == pl;
}

/* SQL regular expression -> POSIX extended, anchored. Returns false on a bad pattern. */
static bool similar_to_ere(const char *p, size_t pl, int esc, char *out, size_t cap) {
    size_t k = 0;
#define PUT(ch)                                                                                    \
    do {                                                                                           \
        if (k + 2 >= cap) return false;                                                            \
        out[k++] = (ch);                                                                           \
    } while (0)
    PUT('^');
    PUT('(');
    bool in_class = false;
    for (size_t i = 0; i < pl; i++) {
        char c = p[i];
        if (esc >= 0 && c == (char)esc) {
            if (i + 1 >= pl) return false;
            char n = p[++i];
            if (strchr(".[]()*+?{}|^$\\", n)) PUT('\\');
            PUT(n);
            continue;
        }
        if (in_class) {
            if (c == ']') in_class = false;
            PUT(c);
            continue;
        }
        switch (c) {
        case '%':
            PUT('.');
            PUT('*');
            break;
        case '_':
            PUT('.');
            break;
        case '[':
            in_class = true;
            PUT(c);
            break;
        case '.':
        case '^':
        case '$':
        case '\\':
            PUT('\\');
            PUT(c);
            break;
        default:
            PUT(c);
            break;
        }
    }
    if (in_class) return false;
    PUT(')');
    PUT('$');
    out[k] = 0;
    return true;
#undef PUT
}

/* --- arithmetic ---------------------------------------------------------------------------- */

static int arith(an_ctx_t *ctx, const an_expr_t *e, const sl_sql_value_t *a,
                 const sl_sql_value_t *b, sl_sql_value_t *out) {
    int op = e->op, rk = e->type.kind;
    int ak = a->kind, bk = b->kind;
    /* datetime and interval arithmetic */
    if (is_time(ak) || is_time(bk) || rk == SL_SQL_INTERVAL_DT || rk == SL_SQL_INTERVAL_YM) {
        if (is_time(ak) && is_time(bk)) { /* ts - ts */
            set_int(out, SL_SQL_INTERVAL_DT, a->u.i - b->u.i);
            return 0;
        }
        if (is_time(ak) || is_time(bk)) {
            const sl_sql_value_t *t = is_time(ak) ? a : b, *iv = is_time(ak) ? b : a;
            int64_t x = op == SL_SQL_OP_SUB ? -iv->u.i : iv->u.i;
            int64_t r = iv->kind == SL_SQL_INTERVAL_YM ? an_add_months(t->u.i, x) : t->u.i + x;
            if (t->kind == SL_SQL_TIME) r = ((r % 86400000) + 86400000) % 86400000;
            if (t->kind == SL_SQL_DATE) r = an_floor_time(r, SL_SQL_UNIT_DAY);
            set_int(out, t->kind, r);
            return 0;
        }
        /* interval op interval, interval * number, interval / number */
        if (ak == bk) {
            set_int(out, ak, op == SL_SQL_OP_ADD ? a->u.i + b->u.i : a->u.i - b->u.i);
            return 0;
        }
        const sl_sql_value_t *iv = is_num(ak) ? b : a, *n = is_num(ak) ? a : b;
        double f = as_double(n);
        if (op == SL_SQL_OP_DIV) {
            if (f == 0) return err(ctx, "Division by zero");
            set_int(out, iv->kind, (int64_t)llround((double)iv->u.i / f));
        } else {
            set_int(out, iv->kind, (int64_t)llround((double)iv->u.i * f));
        }
        return 0;
    }
    if (is_exact(rk)) {
        int64_t x = a->u.i, y = b->u.i, r = 0;
        bool over = false;
        switch (op) {
        case SL_SQL_OP_ADD:
            over = __builtin_add_overflow(x, y, &r);
            break;
        case SL_SQL_OP_SUB:
            over = __builtin_sub_overflow(x, y, &r);
            break;
        case SL_SQL_OP_MUL:
            over = __builtin_mul_overflow(x, y, &r);
            break;
        case SL_SQL_OP_DIV:
            if (y == 0) return err(ctx, "Division by zero");
            if (x == INT64_MIN && y == -1)
                over = true;
            else
                r = x / y;
            break;
        default:
            return err(ctx, "bad operator");
        }
        if (over || !int_fits(rk, r)) return err(ctx, "Overflow");
        set_int(out, rk, r);
        return 0;
    }
    double x = as_double(a), y = as_double(b), r;
    switch (op) {
    case SL_SQL_OP_ADD:
        r = x + y;
        break;
    case SL_SQL_OP_SUB:
        r = x - y;
        break;
    case SL_SQL_OP_MUL:
        r = x * y;
        break;
    case SL_SQL_OP_DIV:
        if (y == 0) return err(ctx, "Division by zero");
        r = x / y;
        break;
    default:
        return err(ctx, "bad operator");
    }
    if (rk == SL_SQL_DECIMAL && e->type.scale >= 0 && e->type.scale < 19 && op != SL_SQL_OP_DIV) {
        double f = pow(10, e->type.scale);
        r = round(r * f) / f;
    }
    set_double(out, rk, r);
    return 0;
}

/* NULL-aware compare for predicates: returns 0/1 in *res, or sets *unknown. */
static void compare_op(int op, const sl_sql_value_t *a, const sl_sql_value_t *b,
                       sl_sql_value_t *out) {
    if (a->null || b->null) {
        set_null(out, SL_SQL_BOOLEAN);
        return;
    }
    int c = an_compare(a, b);
    bool r;
    switch (op) {
    case SL_SQL_OP_EQ:
        r = c == 0;
        break;
    case SL_SQL_OP_NE:
        r = c != 0;
        break;
    case SL_SQL_OP_LT:
        r = c < 0;
        break;
    case SL_SQL_OP_LE:
        r = c <= 0;
        break;
    case SL_SQL_OP_GT:
        r = c > 0;
        break;
    default:
        r = c >= 0;
        break;
    }
    set_bool(out, r);
}

/* --- the function library ------------------------------------------------------------------ */

static const struct {
    const char *name;
    int fn;
} FUNCTIONS[] = {
    {"COUNT", AN_F_COUNT},
    {"SUM", AN_F_SUM},
    {"AVG", AN_F_AVG},
    {"MIN", AN_F_MIN},
    {"MAX", AN_F_MAX},
    {"VAR_POP", AN_F_VAR_POP},
    {"VAR_SAMP", AN_F_VAR_SAMP},
    {"STDDEV_POP", AN_F_STDDEV_POP},
    {"STDDEV_SAMP", AN_F_STDDEV_SAMP},
    {"STD_DEV", AN_F_STDDEV_SAMP},
    {"STDDEV", AN_F_STDDEV_SAMP},
    {"ANY", AN_F_ANY},
    {"SOME", AN_F_ANY},
    {"EVERY", AN_F_EVERY},
    {"FIRST_VALUE", AN_F_FIRST_VALUE},
    {"LAST_VALUE", AN_F_LAST_VALUE},
    {"NTH_VALUE", AN_F_NTH_VALUE},
    {"LAG", AN_F_LAG},
    {"EXP_AVG", AN_F_EXP_AVG},
    {"ABS", AN_F_ABS},
    {"CEIL", AN_F_CEIL},
    {"FLOOR", AN_F_FLOOR},
    {"EXP", AN_F_EXP},
    {"LN", AN_F_LN},
    {"LOG10", AN_F_LOG10},
    {"MOD", AN_F_MOD},
    {"POWER", AN_F_POWER},
    {"STEP", AN_F_STEP},
    {"CHAR_LENGTH", AN_F_CHAR_LENGTH},
    {"CHARACTER_LENGTH", AN_F_CHAR_LENGTH},
    {"UPPER", AN_F_UPPER},
    {"LOWER", AN_F_LOWER},
    {"INITCAP", AN_F_INITCAP},
    {"SUBSTRING", AN_F_SUBSTRING},
    {"POSITION", AN_F_POSITION},
    {"OVERLAY", AN_F_OVERLAY},
    {"TRIM", AN_F_TRIM},
    {"COALESCE", AN_F_COALESCE},
    {"NULLIF", AN_F_NULLIF},
    {"EXTRACT", AN_F_EXTRACT},
    {"TSDIFF", AN_F_TSDIFF},
    {"UNIX_TIMESTAMP", AN_F_UNIX_TIMESTAMP},
    {"TO_TIMESTAMP", AN_F_TO_TIMESTAMP},
    {"CHAR_TO_DATE", AN_F_CHAR_TO_DATE},
    {"CHAR_TO_TIME", AN_F_CHAR_TO_TIME},
    {"CHAR_TO_TIMESTAMP", AN_F_CHAR_TO_TIMESTAMP},
    {"DATE_TO_CHAR", AN_F_DATE_TO_CHAR},
    {"TIME_TO_CHAR", AN_F_TIME_TO_CHAR},
    {"TIMESTAMP_TO_CHAR", AN_F_TIMESTAMP_TO_CHAR},
    {"CURRENT_DATE", AN_F_CURRENT_DATE},
    {"CURRENT_TIME", AN_F_CURRENT_TIME},
    {"LOCALTIME", AN_F_CURRENT_TIME},
    {"CURRENT_TIMESTAMP", AN_F_CURRENT_TIMESTAMP},
    {"LOCALTIMESTAMP", AN_F_CURRENT_TIMESTAMP},
    {"CURRENT_ROW_TIMESTAMP", AN_F_CURRENT_ROW_TIMESTAMP},
    {"MONOTONIC", AN_F_MONOTONIC},
    {"REGEX_REPLACE", AN_F_REGEX_REPLACE},
    {"REGEX_LOG_PARSE", AN_F_REGEX_LOG_PARSE},
    {"FAST_REGEX_LOG_PARSE", AN_F_FAST_REGEX_LOG_PARSE},
    {"FAST_REGEX_LOG_PARSER", AN_F_FAST_REGEX_LOG_PARSE},
    {"VARIABLE_COLUMN_LOG_PARSE", AN_F_VARIABLE_COLUMN_LOG_PARSE},
    {"FIXED_COLUMN_LOG_PARSE", AN_F_FIXED_COLUMN_LOG_PARSE},
    {"W3C_LOG_PARSE", AN_F_W3C_LOG_PARSE},
    {"SYS_LOG_PARSE", AN_F_SYS_LOG_PARSE},
};

int an_fn_lookup(const char *name) {
    for (size_t i = 0; i < SL_ARRAY_LEN(FUNCTIONS); i++)
        if (strcmp(FUNCTIONS[i].name, name) == 0) return FUNCTIONS[i].fn;
    return AN_F_NONE;
}

static const char *type_class(int k) {
    if (is_num(k)) return "NUMERIC";
    if (is_text(k)) return "CHARACTER";
    if (is_time(k)) return "DATETIME";
    if (k == SL_SQL_INTERVAL_DT || k == SL_SQL_INTERVAL_YM) return "INTERVAL";
    if (k == SL_SQL_BOOLEAN) return "BOOLEAN";
    if (k == SL_SQL_NULL) return "NULL";
    if (k == SL_SQL_ROW) return "ROW";
    return "BINARY";
}

static int no_match(an_expr_t *e, char *msg, size_t cap) {
    int k = snprintf(msg, cap, "No match found for function signature %s(",
                     e->src && e->src->nparts ? e->src->parts[0] : "?");
    for (size_t i = 0; i < e->nargs && k > 0 && (size_t)k < cap; i++)
        k += snprintf(msg + k, cap - (size_t)k, "%s<%s>", i ? ", " : "",
                      type_class(e->args[i]->type.kind));
    if (k > 0 && (size_t)k < cap) snprintf(msg + k, cap - (size_t)k, ")");
    return -1;
}

static void type_of(sl_sql_type_t *t, int kind) {
    memset(t, 0, sizeof *t);
    t->kind = (uint8_t)kind;
}

/* Checks argument counts and types of a scalar function and sets its result type. */
int an_fn_type(an_expr_t *e, sl_arena_t *arena, char *msg, size_t cap) {
    if (e->fn > AN_F_LOG_FIRST) return an_log_type(e, arena, msg, cap);
    size_t n = e->nargs;
    int k0 = n > 0 ? e->args[0]->type.kind : SL_SQL_NULL;
    int k1 = n > 1 ? e->args[1]->type.kind : SL_SQL_NULL;
#define NUMISH(k) (is_num(k) || (k) == SL_SQL_NULL)
#define TEXTISH(k) (is_text(k) || (k) == SL_SQL_NULL)
    switch (e->fn) {
    case AN_F_ABS:
        if (n != 1 || !NUMISH(k0)) return no_match(e, msg, cap);
        e->type = e->args[0]->type;
        return 0;
    case AN_F_CEIL:
    case AN_F_FLOOR:
        if (n != 1) return no_match(e, msg, cap);
        if (e->unit) {
            if (!is_time(k0) && k0 != SL_SQL_NULL) return no_match(e, msg, cap);
            type_of(&e->type, k0 == SL_SQL_NULL ? SL_SQL_TIMESTAMP : k0);
        } else {
            if (!NUMISH(k0)) return no_match(e, msg, cap);
            e->type = e->args[0]->type;
        }
        return 0;
    case AN_F_EXP:
    case AN_F_LN:
    case AN_F_LOG10:
        if (n != 1 || !NUMISH(k0)) return no_match(e, msg, cap);
        type_of(&e->type, SL_SQL_DOUBLE);
        return 0;
    case AN_F_POWER:
        if (n != 2 || !NUMISH(k0) || !NUMISH(k1)) return no_match(e, msg, cap);
        type_of(&e->type, SL_SQL_DOUBLE);
        return 0;
    case AN_F_MOD:
        if (n != 2 || !(is_exact(k0) || k0 == SL_SQL_NULL || k0 == SL_SQL_DECIMAL) ||
            !(is_exact(k1) || k1 == SL_SQL_NULL || k1 == SL_SQL_DECIMAL))
            return no_match(e, msg, cap);
        e->type = e->args[1]->type;
        if (!is_exact(e->type.kind)) type_of(&e->type, SL_SQL_BIGINT);
        return 0;
    case AN_F_STEP:
        if (n != 2) return no_match(e, msg, cap);
        if (is_time(k0) || k0 == SL_SQL_NULL) {
            if (k1 != SL_SQL_INTERVAL_DT) return no_match(e, msg, cap);
            type_of(&e->type, k0 == SL_SQL_NULL ? SL_SQL_TIMESTAMP : k0);
        } else if (is_num(k0)) {
            if (!is_num(k1)) return no_match(e, msg, cap);
            e->type = e->args[0]->type;
        } else {
            return no_match(e, msg, cap);
        }
        return 0;
    case AN_F_CHAR_LENGTH:
        if (n != 1 || !TEXTISH(k0)) return no_match(e, msg, cap);
        type_of(&e->type, SL_SQL_INTEGER);
        return 0;
    case AN_F_UPPER:
    case AN_F_LOWER:
    case AN_F_INITCAP:
        if (n != 1 || !TEXTISH(k0)) return no_match(e, msg, cap);
        e->type = e->args[0]->type;
        if (e->type.kind != SL_SQL_CHAR) e->type.kind = SL_SQL_VARCHAR;
        return 0;
    case AN_F_SUBSTRING:
        if (n < 2 || n > 3 || !TEXTISH(k0) || !NUMISH(k1) ||
            (n == 3 && !NUMISH(e->args[2]->type.kind)))
            return no_match(e, msg, cap);
        type_of(&e->type, SL_SQL_VARCHAR);
        e->type.len = e->args[0]->type.len;
        return 0;
    case AN_F_POSITION:
        if (n != 2 || !TEXTISH(k0) || !TEXTISH(k1)) return no_match(e, msg, cap);
        type_of(&e->type, SL_SQL_INTEGER);
        return 0;
    case AN_F_OVERLAY:
        if (n < 3 || n > 4 || !TEXTISH(k0) || !TEXTISH(k1) || !NUMISH(e->args[2]->type.kind) ||
            (n == 4 && !NUMISH(e->args[3]->type.kind)))
            return no_match(e, msg, cap);
        type_of(&e->type, SL_SQL_VARCHAR);
        e->type.len = e->args[0]->type.len + e->args[1]->type.len;
        return 0;
    case AN_F_TRIM:
        if (n < 1 || n > 2 || !TEXTISH(k0) || (n == 2 && !TEXTISH(k1)))
            return no_match(e, msg, cap);
        type_of(&e->type, SL_SQL_VARCHAR);
        e->type.len = e->args[0]->type.len;
        return 0;
    case AN_F_COALESCE:
        if (n < 1) return no_match(e, msg, cap);
        e->type = e->args[0]->type;
        for (size_t i = 0; i < n; i++) {
            int k = e->args[i]->type.kind;
            if (e->type.kind == SL_SQL_NULL)
                e->type = e->args[i]->type;
            else if (k != SL_SQL_NULL && strcmp(type_class(k), type_class(e->type.kind)) != 0)
                return no_match(e, msg, cap);
            else if (is_num(k) && k > e->type.kind)
                e->type = e->args[i]->type;
            else if (is_text(k) && e->args[i]->type.len > e->type.len)
                e->type.len = e->args[i]->type.len;
        }
        if (is_text(e->type.kind)) e->type.kind = SL_SQL_VARCHAR;
        e->type.not_null = false;
        return 0;
    case AN_F_NULLIF:
        if (n != 2 || strcmp(type_class(k0), type_class(k1)) != 0) return no_match(e, msg, cap);
        e->type = e->args[0]->type;
        e->type.not_null = false;
        return 0;
    case AN_F_EXTRACT:
        if (n != 1 || !(is_time(k0) || k0 == SL_SQL_INTERVAL_DT || k0 == SL_SQL_INTERVAL_YM ||
                        k0 == SL_SQL_NULL))
            return no_match(e, msg, cap);
        type_of(&e->type, SL_SQL_BIGINT);
        return 0;
    case AN_F_TSDIFF:
        if (n != 2 || !(is_exact(k0) || k0 == SL_SQL_TIMESTAMP || k0 == SL_SQL_NULL) ||
            !(is_exact(k1) || k1 == SL_SQL_TIMESTAMP || k1 == SL_SQL_NULL))
            return no_match(e, msg, cap);
        type_of(&e->type, SL_SQL_BIGINT);
        return 0;
    case AN_F_UNIX_TIMESTAMP:
        if (n != 1 || !(is_time(k0) || k0 == SL_SQL_NULL)) return no_match(e, msg, cap);
        type_of(&e->type, SL_SQL_BIGINT);
        return 0;
    case AN_F_TO_TIMESTAMP:
        if (n != 1 || !(is_exact(k0) || k0 == SL_SQL_NULL)) return no_match(e, msg, cap);
        type_of(&e->type, SL_SQL_TIMESTAMP);
        return 0;
    case AN_F_CHAR_TO_DATE:
    case AN_F_CHAR_TO_TIME:
    case AN_F_CHAR_TO_TIMESTAMP:
        if (n != 2 || !TEXTISH(k0) || !TEXTISH(k1)) return no_match(e, msg, cap);
        type_of(&e->type, e->fn == AN_F_CHAR_TO_DATE   ? SL_SQL_DATE
                          : e->fn == AN_F_CHAR_TO_TIME ? SL_SQL_TIME
                                                       : SL_SQL_TIMESTAMP);
        return 0;
    case AN_F_DATE_TO_CHAR:
    case AN_F_TIME_TO_CHAR:
    case AN_F_TIMESTAMP_TO_CHAR:
        if (n != 2 || !TEXTISH(k0) || !(is_time(k1) || k1 == SL_SQL_NULL))
            return no_match(e, msg, cap);
        type_of(&e->type, SL_SQL_VARCHAR);
        e->type.len = 256;
        return 0;
    case AN_F_CURRENT_DATE:
    case AN_F_CURRENT_TIME:
    case AN_F_CURRENT_TIMESTAMP:
    case AN_F_CURRENT_ROW_TIMESTAMP:
        if (n != 0) return no_match(e, msg, cap);
        type_of(&e->type, e->fn == AN_F_CURRENT_DATE   ? SL_SQL_DATE
                          : e->fn == AN_F_CURRENT_TIME ? SL_SQL_TIME
                                                       : SL_SQL_TIMESTAMP);
        e->type.not_null = true;
        return 0;
    case AN_F_MONOTONIC:
        if (n != 1) return no_match(e, msg, cap);
        e->type = e->args[0]->type;
        return 0;
    case AN_F_REGEX_REPLACE:
        if (n != 5 || !TEXTISH(k0) || !TEXTISH(k1) || !TEXTISH(e->args[2]->type.kind) ||
            !(is_exact(e->args[3]->type.kind) || e->args[3]->type.kind == SL_SQL_NULL) ||
            !(is_exact(e->args[4]->type.kind) || e->args[4]->type.kind == SL_SQL_NULL))
            return no_match(e, msg, cap);
        type_of(&e->type, SL_SQL_VARCHAR);
        e->type.len = SL_ANALYTICS_STRING_MAX_BYTES - 1;
        return 0;
    default:
        return no_match(e, msg, cap);
    }
#undef NUMISH
#undef TEXTISH
}

static int64_t unit_ms(int u) {
    switch (u) {
    case SL_SQL_UNIT_DAY:
        return 86400000;
    case SL_SQL_UNIT_HOUR:
        return 3600000;
    case SL_SQL_UNIT_MINUTE:
        return 60000;
    case SL_SQL_UNIT_SECOND:
        return 1000;
    default:
        return 1;
    }
}

static int64_t ceil_time(int64_t ms, int unit) {
    int64_t f = an_floor_time(ms, unit);
    if (f == ms) return ms;
    if (unit == SL_SQL_UNIT_YEAR) return an_add_months(f, 12);
    if (unit == SL_SQL_UNIT_MONTH) return an_add_months(f, 1);
    return f + unit_ms(unit);
}

static int64_t floor_div(int64_t a, int64_t b) {
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) q--;
    return q;
}

static int eval_fn(an_ctx_t *ctx, const an_expr_t *e, sl_sql_value_t *out) {
    sl_sql_value_t a[5];
    size_t n = e->nargs;
    int rk = e->type.kind;
    /* functions that do not evaluate all their arguments first */
    if (e->fn == AN_F_COALESCE) {
        for (size_t i = 0; i < n; i++) {
            if (an_eval(ctx, e->args[i], out)) return -1;
            if (!out->null) {
                if (is_num(rk) && out->kind != rk) {
                    sl_sql_value_t tmp = *out;
                    return an_cast(ctx, &tmp, &e->type, out);
                }
                return 0;
            }
        }
        set_null(out, rk);
        return 0;
    }
    if (n > 5) return err(ctx, "too many arguments");
    for (size_t i = 0; i < n; i++)
        if (an_eval(ctx, e->args[i], &a[i])) return -1;
    if (e->fn > AN_F_LOG_FIRST) return an_log_eval(ctx, e, a, out);
    switch (e->fn) {
    case AN_F_CURRENT_DATE:
        set_int(out, SL_SQL_DATE, an_floor_time(ctx->start_ms, SL_SQL_UNIT_DAY));
        return 0;
    case AN_F_CURRENT_TIME:
        set_int(out, SL_SQL_TIME, ctx->start_ms - an_floor_time(ctx->start_ms, SL_SQL_UNIT_DAY));
        return 0;
    case AN_F_CURRENT_TIMESTAMP:
        set_int(out, SL_SQL_TIMESTAMP, ctx->start_ms);
        return 0;
    case AN_F_CURRENT_ROW_TIMESTAMP:
        set_int(out, SL_SQL_TIMESTAMP, ctx->now_ms);
        return 0;
    case AN_F_NULLIF: {
        sl_sql_value_t c;
        compare_op(SL_SQL_OP_EQ, &a[0], &a[1], &c);
        if (!c.null && c.u.b)
            set_null(out, rk);
        else
            *out = a[0];
        return 0;
    }
    case AN_F_TSDIFF:
        if (a[0].null || a[1].null) {
            set_null(out, rk);
            return 0;
        }
        set_int(out, SL_SQL_BIGINT, a[1].u.i - a[0].u.i);
        return 0;
    default:
        break;
    }
    for (size_t i = 0; i < n; i++)
        if (a[i].null) {
            set_null(out, rk);
            return 0;
        }
    switch (e->fn) {
    case AN_F_ABS:
        if (is_exact(rk)) {
            if (a[0].u.i == INT64_MIN || !int_fits(rk, -a[0].u.i)) return err(ctx, "Overflow");
            set_int(out, rk, a[0].u.i < 0 ? -a[0].u.i : a[0].u.i);
        } else {
            set_double(out, rk, fabs(a[0].u.d));
        }
        return 0;
    case AN_F_CEIL:
    case AN_F_FLOOR:
        if (e->unit) {
            int64_t t = e->fn == AN_F_FLOOR ? an_floor_time(a[0].u.i, e->unit)
                                            : ceil_time(a[0].u.i, e->unit);
            if (a[0].kind == SL_SQL_TIME) t = ((t % 86400000) + 86400000) % 86400000;
            set_int(out, a[0].kind, t);
        } else if (is_exact(rk)) {
            *out = a[0];
        } else {
            set_double(out, rk, e->fn == AN_F_FLOOR ? floor(a[0].u.d) : ceil(a[0].u.d));
        }
        return 0;
    case AN_F_EXP:
        set_double(out, SL_SQL_DOUBLE, exp(as_double(&a[0])));
        return 0;
    case AN_F_LN:
    case AN_F_LOG10: {
        double x = as_double(&a[0]);
        if (x <= 0) return err(ctx, "Cannot take logarithm of zero or negative number");
        set_double(out, SL_SQL_DOUBLE, e->fn == AN_F_LN ? log(x) : log10(x));
        return 0;
    }
    case AN_F_POWER: {
        double r = pow(as_double(&a[0]), as_double(&a[1]));
        if (isnan(r)) return err(ctx, "Invalid argument to POWER");
        set_double(out, SL_SQL_DOUBLE, r);
        return 0;
    }
    case AN_F_MOD: {
        int64_t x = is_exact(a[0].kind) ? a[0].u.i : (int64_t)a[0].u.d;
        int64_t y = is_exact(a[1].kind) ? a[1].u.i : (int64_t)a[1].u.d;
        if (y == 0) return err(ctx, "Division by zero");
        set_int(out, rk, y == -1 ? 0 : x % y);
        return 0;
    }
    case AN_F_STEP:
        if (is_time(a[0].kind)) {
            int64_t w = a[1].u.i;
            if (w <= 0) return err(ctx, "STEP width must be positive");
            set_int(out, a[0].kind, floor_div(a[0].u.i, w) * w);
        } else if (is_exact(rk) && is_exact(a[1].kind)) {
            int64_t w = a[1].u.i;
            if (w <= 0) return err(ctx, "STEP width must be positive");
            set_int(out, rk, floor_div(a[0].u.i, w) * w);
        } else {
            double w = as_double(&a[1]);
            if (!(w > 0)) return err(ctx, "STEP width must be positive");
            double r = floor(as_double(&a[0]) / w) * w;
            if (is_exact(rk))
                set_int(out, rk, (int64_t)r);
            else
                set_double(out, rk, r);
        }
        return 0;
    case AN_F_CHAR_LENGTH:
        set_int(out, SL_SQL_INTEGER, (int64_t)utf8_len(a[0].u.s.ptr, a[0].u.s.len));
        return 0;
    case AN_F_UPPER:
    case AN_F_LOWER:
    case AN_F_INITCAP: {
        if (set_text(ctx, out, a[0].u.s.ptr, a[0].u.s.len)) return -1;
        char *p = (char *)out->u.s.ptr;
        bool word_start = true;
        for (uint32_t i = 0; i < out->u.s.len; i++) {
            unsigned char c = (unsigned char)p[i];
            if (e->fn == AN_F_UPPER)
                p[i] = (char)toupper(c);
            else if (e->fn == AN_F_LOWER)
                p[i] = (char)tolower(c);
            else {
                p[i] = (char)(word_start ? toupper(c) : tolower(c));
                word_start = c == ' ';
            }
        }
        out->kind = (uint8_t)rk;
        return 0;
    }
    case AN_F_SUBSTRING: {
        const char *s = a[0].u.s.ptr;
        size_t len = a[0].u.s.len;
        int64_t start = is_exact(a[1].kind) ? a[1].u.i : llround(a[1].u.d);
        int64_t first = start, last;
        if (n == 3) {
            int64_t l = is_exact(a[2].kind) ? a[2].u.i : llround(a[2].u.d);
            if (l < 0) return err(ctx, "Substring error: negative substring length not allowed");
            last = start + l; /* exclusive, 1-based */
        } else {
            last = INT64_MAX;
        }
        if (first < 1) first = 1;
        if (last <= first) return set_text(ctx, out, "", 0);
        size_t b0 = utf8_at(s, len, first - 1);
        size_t b1 = last == INT64_MAX ? len : utf8_at(s, len, last - 1);
        return set_text(ctx, out, s + b0, b1 - b0);
    }
    case AN_F_POSITION: {
        const char *needle = a[0].u.s.ptr, *hay = a[1].u.s.ptr;
        size_t nl = a[0].u.s.len, hl = a[1].u.s.len;
        if (nl == 0) {
            set_int(out, SL_SQL_INTEGER, 1);
            return 0;
        }
        const char *hit = nl <= hl ? memmem(hay, hl, needle, nl) : NULL;
        set_int(out, SL_SQL_INTEGER, hit ? (int64_t)utf8_len(hay, (size_t)(hit - hay)) + 1 : 0);
        return 0;
    }
    case AN_F_OVERLAY: {
        const char *s = a[0].u.s.ptr, *r = a[1].u.s.ptr;
        size_t sl = a[0].u.s.len, rl = a[1].u.s.len;
        int64_t start = is_exact(a[2].kind) ? a[2].u.i : llround(a[2].u.d);
        int64_t l = n == 4 ? (is_exact(a[3].kind) ? a[3].u.i : llround(a[3].u.d))
                           : (int64_t)utf8_len(r, rl);
        if (start < 1 || l < 0) return err(ctx, "Invalid OVERLAY position or length");
        size_t b0 = utf8_at(s, sl, start - 1), b1 = utf8_at(s, sl, start - 1 + l);
        char *p = sl_arena_alloc(ctx->arena, b0 + rl + (sl - b1) + 1);
        if (!p) return err(ctx, "out of memory");
        memcpy(p, s, b0);
        memcpy(p + b0, r, rl);
        memcpy(p + b0 + rl, s + b1, sl - b1);
        memset(out, 0, sizeof *out);
        out->kind = SL_SQL_VARCHAR;
        out->u.s.ptr = p;
        out->u.s.len = (uint32_t)(b0 + rl + sl - b1);
        return 0;
    }
    case AN_F_TRIM: {
        char c = ' ';
        if (n == 2) {
            if (utf8_len(a[1].u.s.ptr, a[1].u.s.len) != 1 || a[1].u.s.len != 1)
                return err(ctx, "Trim error: trim character must be exactly 1 character");
            c = a[1].u.s.ptr[0];
        }
        const char *s = a[0].u.s.ptr;
        size_t b = 0, end = a[0].u.s.len;
        if (e->unit != SL_SQL_TRIM_TRAILING)
            while (b < end && s[b] == c)
                b++;
        if (e->unit != SL_SQL_TRIM_LEADING)
            while (end > b && s[end - 1] == c)
                end--;
        return set_text(ctx, out, s + b, end - b);
    }
    case AN_F_EXTRACT: {
        int64_t x = a[0].u.i, v;
        if (a[0].kind == SL_SQL_INTERVAL_YM) {
            v = e->unit == SL_SQL_UNIT_YEAR ? x / 12 : e->unit == SL_SQL_UNIT_MONTH ? x % 12 : 0;
        } else if (a[0].kind == SL_SQL_INTERVAL_DT) {
            switch (e->unit) {
            case SL_SQL_UNIT_DAY:
                v = x / 86400000;
                break;
            case SL_SQL_UNIT_HOUR:
                v = x / 3600000 % 24;
                break;
            case SL_SQL_UNIT_MINUTE:
                v = x / 60000 % 60;
                break;
            case SL_SQL_UNIT_SECOND:
                v = x / 1000 % 60;
                break;
            default:
                v = 0;
                break;
            }
        } else {
            int64_t days = floor_div(x, 86400000), t = x - days * 86400000, y;
            int m, d;
            an_civil_from_days(days, &y, &m, &d);
            switch (e->unit) {
            case SL_SQL_UNIT_YEAR:
                v = y;
                break;
            case SL_SQL_UNIT_MONTH:
                v = m;
                break;
            case SL_SQL_UNIT_DAY:
                v = d;
                break;
            case SL_SQL_UNIT_HOUR:
                v = t / 3600000;
                break;
            case SL_SQL_UNIT_MINUTE:
                v = t / 60000 % 60;
                break;
            default:
                v = t / 1000 % 60;
                break;
            }
            if (a[0].kind == SL_SQL_TIME && e->unit <= SL_SQL_UNIT_DAY)
                return err(ctx, "Cannot extract a date field from a TIME");
        }
        set_int(out, SL_SQL_BIGINT, v);
        return 0;
    }
    case AN_F_UNIX_TIMESTAMP:
        set_int(out, SL_SQL_BIGINT, a[0].u.i);
        return 0;
    case AN_F_TO_TIMESTAMP:
        set_int(out, SL_SQL_TIMESTAMP, a[0].u.i);
        return 0;
    case AN_F_CHAR_TO_DATE:
    case AN_F_CHAR_TO_TIME:
    case AN_F_CHAR_TO_TIMESTAMP: {
        int64_t t;
        if (!an_date_parse(a[0].u.s.ptr, a[0].u.s.len, a[1].u.s.ptr, a[1].u.s.len, &t)) {
            snprintf(ctx->error_buf, sizeof ctx->error_buf,
                     "Cannot parse '%.*s' with the format '%.*s'", (int)SL_MIN(a[1].u.s.len, 80u),
                     a[1].u.s.ptr, (int)SL_MIN(a[0].u.s.len, 80u), a[0].u.s.ptr);
            ctx->error = ctx->error_buf;
            return -1;
        }
        if (rk == SL_SQL_DATE) t = an_floor_time(t, SL_SQL_UNIT_DAY);
        if (rk == SL_SQL_TIME) t -= an_floor_time(t, SL_SQL_UNIT_DAY);
        set_int(out, rk, t);
        return 0;
    }
    case AN_F_DATE_TO_CHAR:
    case AN_F_TIME_TO_CHAR:
    case AN_F_TIMESTAMP_TO_CHAR: {
        char buf[512];
        size_t l = an_date_format(a[0].u.s.ptr, a[0].u.s.len, a[1].u.i, buf, sizeof buf);
        if (l == 0 && a[0].u.s.len > 0) return err(ctx, "Illegal date format pattern");
        return set_text(ctx, out, buf, l);
    }
    case AN_F_MONOTONIC:
        *out = a[0];
        return 0;
    case AN_F_REGEX_REPLACE:
        return an_regex_replace(ctx, a, out);
    default:
        return errf(ctx, "function %lld cannot be evaluated here", e->fn);
    }
}

/* --- the evaluator ------------------------------------------------------------------------- */

int an_eval_cond(an_ctx_t *ctx, const an_expr_t *e, bool *out) {
    sl_sql_value_t v;
    if (an_eval(ctx, e, &v)) return -1;
    *out = !v.null && v.u.b;
    return 0;
}

int an_eval(an_ctx_t *ctx, const an_expr_t *e, sl_sql_value_t *out) {
    sl_sql_value_t a, b;
    switch (e->kind) {
    case AN_X_CONST:
        *out = e->value;
        return 0;
    case AN_X_COL:
        if ((size_t)e->slot >= ctx->nrow) return err(ctx, "column out of range");
        *out = ctx->row[e->slot];
        return 0;
    case AN_X_ROWTIME:
        set_int(out, SL_SQL_TIMESTAMP, ctx->rowtime);
        return 0;
    case AN_X_OUT_ROWTIME:
        set_int(out, SL_SQL_TIMESTAMP, ctx->out_rowtime);
        return 0;
    case AN_X_KEY:
        *out = ctx->keys[e->slot];
        return 0;
    case AN_X_AGG:
        *out = ctx->aggs[e->slot];
        return 0;
    case AN_X_UNARY:
        if (an_eval(ctx, e->args[0], &a)) return -1;
        switch (e->op) {
        case SL_SQL_OP_NEG:
            if (a.null) {
                set_null(out, e->type.kind);
            } else if (is_exact(a.kind) || a.kind == SL_SQL_INTERVAL_DT ||
                       a.kind == SL_SQL_INTERVAL_YM) {
                if (a.u.i == INT64_MIN || !int_fits(a.kind, -a.u.i)) return err(ctx, "Overflow");
                set_int(out, a.kind, -a.u.i);
            } else {
                set_double(out, a.kind, -a.u.d);
            }
            return 0;
        case SL_SQL_OP_PLUS:
            *out = a;
            return 0;
        case SL_SQL_OP_NOT:
            if (a.null)
                set_null(out, SL_SQL_BOOLEAN);
            else
                set_bool(out, !a.u.b);
            return 0;
        case SL_SQL_OP_IS_NULL:
            set_bool(out, a.null);
            return 0;
        case SL_SQL_OP_IS_NOT_NULL:
            set_bool(out, !a.null);
            return 0;
        case SL_SQL_OP_IS_TRUE:
            set_bool(out, !a.null && a.u.b);
            return 0;
        case SL_SQL_OP_IS_NOT_TRUE:
            set_bool(out, a.null || !a.u.b);
            return 0;
        case SL_SQL_OP_IS_FALSE:
            set_bool(out, !a.null && !a.u.b);
            return 0;
        case SL_SQL_OP_IS_NOT_FALSE:
            set_bool(out, a.null || a.u.b);
            return 0;
        case SL_SQL_OP_IS_UNKNOWN:
            set_bool(out, a.null);
            return 0;
        case SL_SQL_OP_IS_NOT_UNKNOWN:
            set_bool(out, !a.null);
            return 0;
        default:
            return err(ctx, "bad operator");
        }
    case AN_X_BINARY:
        if (e->op == SL_SQL_OP_AND || e->op == SL_SQL_OP_OR) {
            bool and = e->op == SL_SQL_OP_AND;
            if (an_eval(ctx, e->args[0], &a)) return -1;
            if (!a.null && a.u.b != and) { /* FALSE AND x, TRUE OR x */
                set_bool(out, !and);
                return 0;
            }
            if (an_eval(ctx, e->args[1], &b)) return -1;
            if (!b.null && b.u.b != and) {
                set_bool(out, !and);
                return 0;
            }
            if (a.null || b.null)
                set_null(out, SL_SQL_BOOLEAN);
            else
                set_bool(out, and);
            return 0;
        }
        if (an_eval(ctx, e->args[0], &a) || an_eval(ctx, e->args[1], &b)) return -1;
        switch (e->op) {
        case SL_SQL_OP_ADD:
        case SL_SQL_OP_SUB:
        case SL_SQL_OP_MUL:
        case SL_SQL_OP_DIV:
            if (a.null || b.null) {
                set_null(out, e->type.kind);
                return 0;
            }
            return arith(ctx, e, &a, &b, out);
        case SL_SQL_OP_CONCAT: {
            if (a.null || b.null) {
                set_null(out, SL_SQL_VARCHAR);
                return 0;
            }
            char *p = sl_arena_alloc(ctx->arena, (size_t)a.u.s.len + b.u.s.len + 1);
            if (!p) return err(ctx, "out of memory");
            memcpy(p, a.u.s.ptr, a.u.s.len);
            memcpy(p + a.u.s.len, b.u.s.ptr, b.u.s.len);
            memset(out, 0, sizeof *out);
            out->kind = SL_SQL_VARCHAR;
            out->u.s.ptr = p;
            out->u.s.len = a.u.s.len + b.u.s.len;
            return 0;
        }
        case SL_SQL_OP_DISTINCT_FROM:
        case SL_SQL_OP_NOT_DISTINCT_FROM: {
            bool same = (a.null && b.null) || (!a.null && !b.null && an_compare(&a, &b) == 0);
            set_bool(out, e->op == SL_SQL_OP_NOT_DISTINCT_FROM ? same : !same);
            return 0;
        }
        default:
            compare_op(e->op, &a, &b, out);
            return 0;
        }
    case AN_X_BETWEEN: {
        sl_sql_value_t lo, hi, c1, c2;
        if (an_eval(ctx, e->args[0], &a) || an_eval(ctx, e->args[1], &lo) ||
            an_eval(ctx, e->args[2], &hi))
            return -1;
        if (e->symmetric && !lo.null && !hi.null && an_compare(&lo, &hi) > 0) {
            sl_sql_value_t t = lo;
            lo = hi;
            hi = t;
        }
        compare_op(SL_SQL_OP_GE, &a, &lo, &c1);
        compare_op(SL_SQL_OP_LE, &a, &hi, &c2);
        /* c1 AND c2 */
        if ((!c1.null && !c1.u.b) || (!c2.null && !c2.u.b))
            set_bool(out, false);
        else if (c1.null || c2.null)
            set_null(out, SL_SQL_BOOLEAN);
        else
            set_bool(out, true);
        if (e->negated && !out->null) out->u.b = !out->u.b;
        return 0;
    }
    case AN_X_IN: {
        if (an_eval(ctx, e->args[0], &a)) return -1;
        bool unknown = a.null, found = false;
        for (size_t i = 1; i < e->nargs && !found && !a.null; i++) {
            if (an_eval(ctx, e->args[i], &b)) return -1;
            if (b.null)
                unknown = true;
            else if (an_compare(&a, &b) == 0)
                found = true;
        }
        if (found)
            set_bool(out, !e->negated);
        else if (unknown)
            set_null(out, SL_SQL_BOOLEAN);
        else
            set_bool(out, e->negated);
        return 0;
    }
    case AN_X_LIKE: {
        sl_sql_value_t esc = {0};
        esc.null = true;
        if (an_eval(ctx, e->args[0], &a) || an_eval(ctx, e->args[1], &b)) return -1;
        if (e->nargs > 2 && an_eval(ctx, e->args[2], &esc)) return -1;
        if (a.null || b.null || (e->nargs > 2 && esc.null)) {
            set_null(out, SL_SQL_BOOLEAN);
            return 0;
        }
        int ec = -1;
        if (e->nargs > 2) {
            if (esc.u.s.len != 1) return err(ctx, "Invalid escape character");
            ec = (unsigned char)esc.u.s.ptr[0];
        }
        bool m;
        if (!e->similar) {
            m = like_match(a.u.s.ptr, a.u.s.len, b.u.s.ptr, b.u.s.len, ec);
        } else {
            char ere[1024];
            if (!similar_to_ere(b.u.s.ptr, b.u.s.len, ec, ere, sizeof ere))
                return err(ctx, "Invalid regular expression in SIMILAR TO");
            regex_t re;
            if (regcomp(&re, ere, REG_EXTENDED | REG_NOSUB) != 0)
                return err(ctx, "Invalid regular expression in SIMILAR TO");
            char *subject = sl_arena_strndup(ctx->arena, a.u.s.ptr, a.u.s.len);
            if (!subject) {
                regfree(&re);
                return err(ctx, "out of memory");
            }
            m = regexec(&re, subject, 0, NULL, 0) == 0;
            regfree(&re);
        }
        set_bool(out, e->negated ? !m : m);
        return 0;
    }
    case AN_X_CASE: {
        size_t i = 0, n = e->nargs;
        sl_sql_value_t operand = {0};
        if (e->has_operand) {
            if (an_eval(ctx, e->args[0], &operand)) return -1;
            i = 1;
        }
        size_t pairs_end = e->has_else ? n - 1 : n; /* WHEN/THEN pairs in [i, pairs_end) */
        bool matched = false;
        for (; i + 1 < pairs_end; i += 2) {
            bool hit;
            if (e->has_operand) {
                sl_sql_value_t w, c;
                if (an_eval(ctx, e->args[i], &w)) return -1;
                compare_op(SL_SQL_OP_EQ, &operand, &w, &c);
                hit = !c.null && c.u.b;
            } else if (an_eval_cond(ctx, e->args[i], &hit)) {
                return -1;
            }
            if (hit) {
                if (an_eval(ctx, e->args[i + 1], &a)) return -1;
                matched = true;
                break;
            }
        }
        if (!matched) {
            if (e->has_else) {
                if (an_eval(ctx, e->args[n - 1], &a)) return -1;
            } else {
                set_null(&a, e->type.kind);
            }
        }
        if (!a.null && a.kind != e->type.kind) return an_cast(ctx, &a, &e->type, out);
        *out = a;
        return 0;
    }
    case AN_X_CAST:
        if (an_eval(ctx, e->args[0], &a)) return -1;
        return an_cast(ctx, &a, &e->type, out);
    case AN_X_FUNC:
        return eval_fn(ctx, e, out);
    case AN_X_FIELD:
        if (an_eval(ctx, e->args[0], &a)) return -1;
        if (a.null || (uint32_t)e->slot >= a.u.row.n) {
            set_null(out, e->type.kind);
            return 0;
        }
        *out = a.u.row.v[e->slot];
        return 0;
    default:
        return err(ctx, "unknown expression");
    }
}
