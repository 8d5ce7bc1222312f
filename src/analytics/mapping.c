/* Record mapping (analytics/mapping.h): JSONPath subset, row flattening, CSV splitting and the
 * JSON-value-to-SQL coercion table of the spec (§1.5, §1.6). */
#include "analytics/mapping.h"

#include "analytics/internal.h"
#include "core/buf.h"
#include "core/common.h"
#include "core/limits.h"
#include "wire/enc.h"
#include "wire/json.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PATH_PARTS_MAX 32
#define RECORD_ROWS_MAX 10000 /* rows one record may flatten into */

typedef struct {
    const char *name[PATH_PARTS_MAX];
    size_t len[PATH_PARTS_MAX];
    size_t n;   /* member names before [0:] (all of them when there is none) */
    bool array; /* has [0:] */
    size_t sub; /* members after [0:]: flattened when > 0 */
} path_t;

static bool parse_path(const char *p, path_t *out) {
    memset(out, 0, sizeof *out);
    if (!p || p[0] != '$') return false;
    size_t i = 1, total = 0;
    while (p[i]) {
        if (p[i] == '.') {
            size_t b = ++i;
            while (p[i] && p[i] != '.' && p[i] != '[')
                i++;
            if (i == b || total == PATH_PARTS_MAX) return false;
            out->name[total] = p + b;
            out->len[total] = i - b;
            total++;
            if (out->array)
                out->sub++;
            else
                out->n++;
        } else if (strncmp(p + i, "[0:]", 4) == 0) {
            if (out->array || out->n == 0) return false; /* one [0:], after a member */
            out->array = true;
            i += 4;
        } else {
            return false;
        }
    }
    return true;
}

static const sl_val_t *member(const sl_val_t *v, const char *name, size_t len) {
    if (!v || v->type != SL_VAL_MAP) return NULL;
    const sl_val_t *found = NULL;
    for (size_t i = 0; i < v->u.map.count; i++)
        if (v->u.map.items[i].key_len == len && memcmp(v->u.map.items[i].key, name, len) == 0)
            found = v->u.map.items[i].val;
    return found;
}

static const sl_val_t *walk(const sl_val_t *v, const path_t *p, size_t from, size_t to) {
    for (size_t i = from; i < to && v; i++)
        v = member(v, p->name[i], p->len[i]);
    return v;
}

int sl_an_schema_check(const sl_an_record_schema_t *s, char *msg, size_t cap) {
    if (s->format == SL_AN_FORMAT_CSV) {
        if (!s->row_delim || !s->row_delim[0] || !s->col_delim || !s->col_delim[0]) {
            snprintf(msg, cap, "CSV row and column delimiters must not be empty");
            return SL_EINVAL;
        }
        return 0;
    }
    const path_t *flat = NULL;
    path_t paths[2];
    path_t rp;
    if (s->row_path && !parse_path(s->row_path, &rp)) {
        snprintf(msg, cap, "Invalid RecordRowPath '%s'", s->row_path);
        return SL_EINVAL;
    }
    for (size_t c = 0; c < s->ncols; c++) {
        path_t *p = &paths[flat ? 1 : 0];
        if (!parse_path(s->cols[c].mapping, p)) {
            snprintf(msg, cap, "Invalid JSONPath '%s' for column '%s'",
                     s->cols[c].mapping ? s->cols[c].mapping : "", s->cols[c].name);
            return SL_EINVAL;
        }
        if (!p->array || p->sub == 0) continue;
        if (!flat) {
            flat = &paths[0];
            continue;
        }
        bool same = flat->n == p->n;
        for (size_t i = 0; same && i < p->n; i++)
            same = flat->len[i] == p->len[i] && memcmp(flat->name[i], p->name[i], p->len[i]) == 0;
        if (!same) {
            snprintf(msg, cap, "Only one array may be flattened per schema (column '%s')",
                     s->cols[c].name);
            return SL_EINVAL;
        }
    }
    return 0;
}

/* --- coercion ------------------------------------------------------------------------------ */

static bool is_int_kind(int k) {
    return k >= SL_SQL_TINYINT && k <= SL_SQL_BIGINT;
}
static bool is_text_kind(int k) {
    return k == SL_SQL_CHAR || k == SL_SQL_VARCHAR;
}
static bool is_time_kind(int k) {
    return k == SL_SQL_DATE || k == SL_SQL_TIME || k == SL_SQL_TIMESTAMP;
}

static int conv_fail(char *msg, size_t cap, const sl_an_record_column_t *c, const char *what) {
    char t[64];
    sl_sql_type_format(&c->type, t, sizeof t);
    snprintf(msg, cap, "Cannot convert %s to %s for column '%s'", what, t, c->name);
    return SL_EINVAL;
}

/* Text (a JSON string or a CSV field) into a column. */
static int from_text(an_ctx_t *ctx, const sl_an_record_column_t *c, const char *s, size_t len,
                     sl_sql_value_t *out, char *msg, size_t cap) {
    int k = c->type.kind;
    memset(out, 0, sizeof *out);
    out->kind = (uint8_t)k;
    if (k == SL_SQL_BOOLEAN) { /* "true" in any case is TRUE, anything else FALSE */
        out->u.b = len == 4 && strncasecmp(s, "true", 4) == 0;
        return 0;
    }
    if (k == SL_SQL_BINARY || k == SL_SQL_VARBINARY) {
        /* X'..' hex literal with an even number of digits */
        if (len < 3 || (s[0] != 'X' && s[0] != 'x') || s[1] != '\'' || s[len - 1] != '\'' ||
            (len - 3) % 2)
            return conv_fail(msg, cap, c, "a string that is not a binary literal");
        size_t n = (len - 3) / 2;
        char *b = sl_arena_alloc(ctx->arena, n + 1);
        if (!b) return SL_ENOMEM;
        for (size_t i = 0; i < n; i++) {
            int hi = isxdigit((unsigned char)s[2 + 2 * i]),
                lo = isxdigit((unsigned char)s[3 + 2 * i]);
            if (!hi || !lo) return conv_fail(msg, cap, c, "a string that is not a binary literal");
            char pair[3] = {s[2 + 2 * i], s[3 + 2 * i], 0};
            b[i] = (char)strtol(pair, NULL, 16);
        }
        sl_sql_value_t in = {.kind = SL_SQL_VARBINARY, .u.s = {b, (uint32_t)n}};
        return an_cast(ctx, &in, &c->type, out) ? conv_fail(msg, cap, c, "a binary value") : 0;
    }
    sl_sql_value_t in = {.kind = SL_SQL_VARCHAR, .u.s = {s, (uint32_t)len}};
    if (an_cast(ctx, &in, &c->type, out)) {
        char what[96];
        snprintf(what, sizeof what, "'%.*s'", (int)SL_MIN(len, 64u), s);
        return conv_fail(msg, cap, c, what);
    }
    return 0;
}

static int from_json(an_ctx_t *ctx, const sl_an_record_column_t *c, const sl_val_t *v,
                     sl_sql_value_t *out, char *msg, size_t cap) {
    int k = c->type.kind;
    memset(out, 0, sizeof *out);
    out->kind = (uint8_t)k;
    if (!v || v->type == SL_VAL_NULL) {
        out->null = true;
        return 0;
    }
    switch (v->type) {
    case SL_VAL_BOOL:
        if (is_time_kind(k)) return conv_fail(msg, cap, c, "a boolean");
        if (is_text_kind(k))
            return from_text(ctx, c, v->u.b ? "true" : "false", v->u.b ? 4 : 5, out, msg, cap);
        if (k == SL_SQL_BINARY || k == SL_SQL_VARBINARY) {
            char *b = sl_arena_alloc(ctx->arena, 1);
            if (!b) return SL_ENOMEM;
            b[0] = v->u.b ? 1 : 0;
            out->u.s.ptr = b;
            out->u.s.len = 1;
            return 0;
        }
        if (k == SL_SQL_BOOLEAN) {
            out->u.b = v->u.b;
            return 0;
        }
        if (is_int_kind(k))
            out->u.i = v->u.b;
        else
            out->u.d = v->u.b;
        return 0;
    case SL_VAL_NUMBER: {
        if (is_time_kind(k) || k == SL_SQL_BINARY || k == SL_SQL_VARBINARY)
            return conv_fail(msg, cap, c, "a number");
        if (k == SL_SQL_BOOLEAN) {
            out->u.b = v->u.num.d != 0;
            return 0;
        }
        if (is_text_kind(k)) {
            if (v->u.num.text)
                return from_text(ctx, c, v->u.num.text, v->u.num.text_len, out, msg, cap);
            char t[40];
            int n = snprintf(t, sizeof t, "%.17g", v->u.num.d);
            return from_text(ctx, c, t, (size_t)n, out, msg, cap);
        }
        double d = v->u.num.d;
        char what[80];
        snprintf(what, sizeof what, "%.*s", (int)SL_MIN(v->u.num.text_len, 40u),
                 v->u.num.text ? v->u.num.text : "");
        if (is_int_kind(k)) {
            /* overflow or a fraction (123.4 into INTEGER) is an error, not a truncation */
            if (d != trunc(d) || !(fabs(d) < 9.2e18)) return conv_fail(msg, cap, c, what);
            sl_sql_value_t in = {.kind = SL_SQL_BIGINT,
                                 .u.i = v->u.num.is_integer ? v->u.num.i : (int64_t)d};
            return an_cast(ctx, &in, &c->type, out) ? conv_fail(msg, cap, c, what) : 0;
        }
        if (k == SL_SQL_DECIMAL) {
            double f = pow(10, c->type.scale);
            if (fabs(d * f - round(d * f)) > 1e-6 * fmax(1, fabs(d * f)))
                return conv_fail(msg, cap, c, what);
        }
        sl_sql_value_t in = {.kind = SL_SQL_DOUBLE, .u.d = d};
        return an_cast(ctx, &in, &c->type, out) ? conv_fail(msg, cap, c, what) : 0;
    }
    case SL_VAL_STRING:
        return from_text(ctx, c, v->u.str.ptr, v->u.str.len, out, msg, cap);
    case SL_VAL_ARRAY:
    case SL_VAL_MAP: {
        if (!is_text_kind(k))
            return conv_fail(msg, cap, c, v->type == SL_VAL_ARRAY ? "an array" : "an object");
        sl_buf_t b = SL_BUF_INIT;
        sl_enc_t enc;
        sl_enc_init(&enc, &b, SL_FMT_JSON);
        sl_enc_value(&enc, v);
        int rc =
            b.failed ? SL_ENOMEM : from_text(ctx, c, (const char *)b.data, b.len, out, msg, cap);
        sl_buf_free(&b);
        return rc;
    }
    default:
        return conv_fail(msg, cap, c, "a value");
    }
}

/* --- records ------------------------------------------------------------------------------- */

typedef struct {
    sl_sql_value_t *rows;
    size_t n, cap, ncols;
} rows_t;

static sl_sql_value_t *next_row(sl_arena_t *a, rows_t *r) {
    if (r->n == RECORD_ROWS_MAX) return NULL;
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 4;
        sl_sql_value_t *g = sl_arena_alloc(a, cap * (r->ncols + 1) * sizeof *g);
        if (!g) return NULL;
        if (r->n) memcpy(g, r->rows, r->n * (r->ncols + 1) * sizeof *g);
        r->rows = g;
        r->cap = cap;
    }
    return &r->rows[(r->n++) * (r->ncols + 1)];
}

static int map_csv(const sl_an_record_schema_t *s, an_ctx_t *ctx, const char *data, size_t len,
                   rows_t *out, char *msg, size_t cap) {
    size_t rl = strlen(s->row_delim), cl = strlen(s->col_delim), i = 0;
    while (i < len) {
        const char *e = rl <= len - i ? memmem(data + i, len - i, s->row_delim, rl) : NULL;
        size_t end = e ? (size_t)(e - data) : len;
        if (end > i || e) {
            sl_sql_value_t *row = next_row(ctx->arena, out);
            if (!row) {
                snprintf(msg, cap, "A record holds more than %d rows", RECORD_ROWS_MAX);
                return SL_EINVAL;
            }
            size_t f = i;
            for (size_t c = 0; c < s->ncols; c++) {
                const sl_an_record_column_t *col = &s->cols[c];
                if (f > end) {
                    memset(&row[c], 0, sizeof row[c]);
                    row[c].kind = col->type.kind;
                    row[c].null = true;
                    continue;
                }
                const char *d = cl <= end - f ? memmem(data + f, end - f, s->col_delim, cl) : NULL;
                size_t fe = d ? (size_t)(d - data) : end;
                if (fe == f && !is_text_kind(col->type.kind)) {
                    memset(&row[c], 0, sizeof row[c]);
                    row[c].kind = col->type.kind;
                    row[c].null = true;
                } else {
                    int rc = from_text(ctx, col, data + f, fe - f, &row[c], msg, cap);
                    if (rc) return rc;
                }
                f = d ? fe + cl : end + 1;
            }
        }
        if (!e) break;
        i = end + rl;
    }
    return 0;
}

static int map_json(const sl_an_record_schema_t *s, an_ctx_t *ctx, const char *data, size_t len,
                    rows_t *out, char *msg, size_t cap) {
    char *copy = sl_arena_alloc(ctx->arena, len + 1);
    if (!copy) return SL_ENOMEM;
    memcpy(copy, data, len);
    copy[len] = 0;
    sl_val_t *doc;
    const char *reason;
    if (sl_json_parse(copy, len, ctx->arena, &doc, &reason) != 0) {
        snprintf(msg, cap, "Record is not valid JSON: %s", reason);
        return SL_EINVAL;
    }
    path_t rp;
    const sl_val_t *root = doc;
    if (s->row_path && parse_path(s->row_path, &rp)) root = walk(doc, &rp, 0, rp.n);
    if (!root) {
        snprintf(msg, cap, "Record has nothing at the RecordRowPath '%s'", s->row_path);
        return SL_EINVAL;
    }
    path_t *paths = sl_arena_calloc(ctx->arena, s->ncols + 1, sizeof *paths);
    if (!paths) return SL_ENOMEM;
    const path_t *flat = NULL;
    for (size_t c = 0; c < s->ncols; c++) {
        if (!parse_path(s->cols[c].mapping, &paths[c])) {
            snprintf(msg, cap, "Invalid JSONPath for column '%s'", s->cols[c].name);
            return SL_EINVAL;
        }
        if (paths[c].array && paths[c].sub && !flat) flat = &paths[c];
    }
    const sl_val_t *arr = flat ? walk(root, flat, 0, flat->n) : NULL;
    size_t nelem = arr && arr->type == SL_VAL_ARRAY ? arr->u.arr.count : 0;
    size_t nrows = flat ? SL_MAX(nelem, 1u) : 1;
    for (size_t r = 0; r < nrows; r++) {
        sl_sql_value_t *row = next_row(ctx->arena, out);
        if (!row) {
            snprintf(msg, cap, "A record holds more than %d rows", RECORD_ROWS_MAX);
            return SL_EINVAL;
        }
        for (size_t c = 0; c < s->ncols; c++) {
            const path_t *p = &paths[c];
            const sl_val_t *v;
            if (p->array && p->sub) /* flattened: this row's element */
                v = r < nelem ? walk(arr->u.arr.items[r], p, p->n, p->n + p->sub) : NULL;
            else
                v = walk(root, p, 0, p->n); /* [0:] alone: the whole array, as JSON text */
            int rc = from_json(ctx, &s->cols[c], v, &row[c], msg, cap);
            if (rc) return rc;
        }
    }
    return 0;
}

int sl_an_map_record(const sl_an_record_schema_t *s, const char *data, size_t len,
                     sl_arena_t *arena, sl_an_row_fn fn, void *fctx, char *msg, size_t cap) {
    an_ctx_t ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.arena = arena;
    rows_t rows = {.ncols = s->ncols};
    msg[0] = 0;
    int rc = s->format == SL_AN_FORMAT_CSV ? map_csv(s, &ctx, data, len, &rows, msg, cap)
                                           : map_json(s, &ctx, data, len, &rows, msg, cap);
    if (rc == SL_ENOMEM && !msg[0]) snprintf(msg, cap, "out of memory");
    if (rc) return rc;
    for (size_t r = 0; r < rows.n; r++)
        fn(fctx, &rows.rows[r * (s->ncols + 1)], s->ncols);
    return 0;
}
