/* Regular expressions and the log parsers of the function library (spec §4.3, §4.4):
 * REGEX_REPLACE, REGEX_LOG_PARSE / FAST_REGEX_LOG_PARSE (PCRE2, which reads Java's syntax for
 * what logs use), VARIABLE_COLUMN_LOG_PARSE, FIXED_COLUMN_LOG_PARSE, W3C_LOG_PARSE and
 * SYS_LOG_PARSE. The log
 * parsers return a ROW whose fields (COLUMN1.. or the declared columns) are known when the code
 * is planned, so their pattern and column-list arguments must be literals. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "analytics/internal.h"

#include "core/common.h"

#include <ctype.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_COLUMN_CHARS 1024 /* COLUMNn of REGEX_LOG_PARSE and W3C_LOG_PARSE: VARCHAR(1024) */
#define LOG_FIELDS_MAX 256

typedef struct {
    const char *name;
    sl_sql_type_t type;
    int64_t start, len; /* FIXED_COLUMN_LOG_PARSE: 0-based START, FOR (-1: to the end) */
    const char *fmt;    /* TIMESTAMP 'pattern' */
    size_t fmtlen;
} field_t;

typedef struct {
    field_t *f;
    size_t n;
    /* W3C: the format, as literal text and directives */
    const char *w3c;
    size_t w3clen;
} spec_t;

static int msgf(char *msg, size_t cap, const char *fmt, const char *a) {
    snprintf(msg, cap, fmt, a);
    return -1;
}

static pcre2_code *compile_regex(const char *s, size_t len, char *msg, size_t cap) {
    int code;
    PCRE2_SIZE off;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)s, len, PCRE2_UTF, &code, &off, NULL);
    if (!re && msg) {
        PCRE2_UCHAR buf[160];
        pcre2_get_error_message(code, buf, sizeof buf);
        snprintf(msg, cap, "Invalid regular expression at offset %zu: %s", (size_t)off,
                 (const char *)buf);
    }
    return re;
}

static field_t *columns_n(sl_arena_t *a, size_t n) {
    field_t *f = sl_arena_calloc(a, n ? n : 1, sizeof *f);
    if (!f) return NULL;
    for (size_t i = 0; i < n; i++) {
        f[i].name = sl_arena_sprintf(a, "COLUMN%zu", i + 1);
        f[i].type.kind = SL_SQL_VARCHAR;
        f[i].type.len = LOG_COLUMN_CHARS;
        f[i].len = -1;
    }
    return f;
}

/* 'name TYPE type [NOT NULL] [START s [FOR n]] ['format'], ...' */
static int parse_columns(sl_arena_t *a, const char *s, size_t len, bool fixed, spec_t *sp,
                         char *msg, size_t cap) {
    field_t *f = sl_arena_calloc(a, LOG_FIELDS_MAX, sizeof *f);
    if (!f) return msgf(msg, cap, "%s", "out of memory");
    size_t n = 0, i = 0;
    while (i < len) {
        if (n == LOG_FIELDS_MAX) return msgf(msg, cap, "%s", "Too many columns in a column list");
        field_t *c = &f[n];
        c->len = -1;
        while (i < len && isspace((unsigned char)s[i]))
            i++;
        /* name */
        size_t b = i;
        if (i < len && s[i] == '"') {
            b = ++i;
            while (i < len && s[i] != '"')
                i++;
            c->name = sl_arena_strndup(a, s + b, i - b);
            if (i < len) i++;
        } else {
            while (i < len && !isspace((unsigned char)s[i]) && s[i] != ',')
                i++;
            char *up = sl_arena_strndup(a, s + b, i - b);
            if (up)
                for (char *q = up; *q; q++)
                    *q = (char)toupper((unsigned char)*q);
            c->name = up;
        }
        if (!c->name || !c->name[0])
            return msgf(msg, cap, "%s", "Missing column name in a column list");
        while (i < len && isspace((unsigned char)s[i]))
            i++;
        if (i + 4 > len || strncasecmp(s + i, "TYPE", 4) != 0)
            return msgf(msg, cap, "Expected TYPE after column '%s'", c->name);
        i += 4;
        while (i < len && isspace((unsigned char)s[i]))
            i++;
        b = i;
        int depth = 0;
        while (i < len && (depth || (s[i] != ',' && !isspace((unsigned char)s[i])))) {
            if (s[i] == '(') depth++;
            if (s[i] == ')') depth--;
            i++;
        }
        if (sl_sql_parse_type(s + b, i - b, &c->type) != 0)
            return msgf(msg, cap, "Bad type for column '%s'", c->name);
        /* options */
        for (;;) {
            while (i < len && isspace((unsigned char)s[i]))
                i++;
            if (i >= len || s[i] == ',') break;
            if (s[i] == '\'') {
                b = ++i;
                while (i < len && s[i] != '\'')
                    i++;
                c->fmt = s + b;
                c->fmtlen = i - b;
                if (i < len) i++;
                continue;
            }
            b = i;
            while (i < len && !isspace((unsigned char)s[i]) && s[i] != ',')
                i++;
            size_t wl = i - b;
            if (wl == 3 && strncasecmp(s + b, "NOT", 3) == 0) {
                while (i < len && isspace((unsigned char)s[i]))
                    i++;
                if (i + 4 <= len && strncasecmp(s + i, "NULL", 4) == 0) i += 4;
                c->type.not_null = true;
            } else if (fixed && ((wl == 5 && strncasecmp(s + b, "START", 5) == 0) ||
                                 (wl == 3 && strncasecmp(s + b, "FOR", 3) == 0))) {
                bool start = wl == 5;
                while (i < len && isspace((unsigned char)s[i]))
                    i++;
                int64_t x = 0;
                size_t d = i;
                while (i < len && isdigit((unsigned char)s[i]))
                    x = x * 10 + (s[i++] - '0');
                if (i == d || x > 1000000)
                    return msgf(msg, cap, "Bad START or FOR in column '%s'", c->name);
                if (start)
                    c->start = x;
                else
                    c->len = x;
            } else {
                return msgf(msg, cap, "Unexpected text in the definition of column '%s'", c->name);
            }
        }
        n++;
        if (i < len && s[i] == ',') i++;
    }
    if (n == 0) return msgf(msg, cap, "%s", "Empty column list");
    sp->f = f;
    sp->n = n;
    return 0;
}

/* The predefined W3C formats (Apache LogFormat directives). */
static const char *w3c_format(const char *name, size_t len) {
    static const struct {
        const char *name, *fmt;
    } formats[] = {
        {"COMMON", "%h %l %u %t \"%r\" %>s %b"},
        {"COMMON WITH VHOST", "%v %h %l %u %t \"%r\" %>s %b"},
        {"NCSA EXTENDED", "%h %l %u %t \"%r\" %>s %b \"%{Referer}i\" \"%{User-agent}i\""},
        {"REFERER", "%{Referer}i -> %U"},
        {"AGENT", "%{User-agent}i"},
    };
    for (size_t i = 0; i < SL_ARRAY_LEN(formats); i++)
        if (strlen(formats[i].name) == len && strncasecmp(formats[i].name, name, len) == 0)
            return formats[i].fmt;
    return NULL;
}

/* Counts the directives of a LogFormat string. */
static size_t w3c_directives(const char *f, size_t len) {
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (f[i] != '%') continue;
        if (i + 1 < len && f[i + 1] == '%') {
            i++;
            continue;
        }
        n++;
        i++;
        while (i < len &&
               (f[i] == '>' || f[i] == '<' || isdigit((unsigned char)f[i]) || f[i] == ','))
            i++;
        if (i < len && f[i] == '{') {
            while (i < len && f[i] != '}')
                i++;
            i++;
        }
    }
    return n;
}

static bool is_text_kind(int k) {
    return k == SL_SQL_CHAR || k == SL_SQL_VARCHAR;
}

static const sl_sql_value_t *literal(const an_expr_t *x) {
    return x->kind == AN_X_CONST && !x->value.null && is_text_kind(x->value.kind) ? &x->value
                                                                                  : NULL;
}

int an_log_type(an_expr_t *e, sl_arena_t *a, char *msg, size_t cap) {
    spec_t *sp = sl_arena_calloc(a, 1, sizeof *sp);
    if (!sp) return msgf(msg, cap, "%s", "out of memory");
    const sl_sql_value_t *pat = e->nargs > 1 ? literal(e->args[1]) : NULL;
    if (e->nargs < (e->fn == AN_F_SYS_LOG_PARSE ? 1 : 2) ||
        (!is_text_kind(e->args[0]->type.kind) && e->args[0]->type.kind != SL_SQL_NULL))
        return msgf(msg, cap, "Invalid arguments to %s", e->src ? e->src->parts[0] : "?");
    switch (e->fn) {
    case AN_F_REGEX_LOG_PARSE:
    case AN_F_FAST_REGEX_LOG_PARSE: {
        if (!pat || e->nargs > 3)
            return msgf(msg, cap, "%s",
                        "The pattern of a regular expression log parser must be a literal");
        pcre2_code *re = compile_regex(pat->u.s.ptr, pat->u.s.len, msg, cap);
        if (!re) return -1;
        uint32_t groups = 0;
        pcre2_pattern_info(re, PCRE2_INFO_CAPTURECOUNT, &groups);
        pcre2_code_free(re);
        if (e->nargs == 3) {
            const sl_sql_value_t *cols = literal(e->args[2]);
            if (!cols) return msgf(msg, cap, "%s", "The column list must be a literal");
            if (parse_columns(a, cols->u.s.ptr, cols->u.s.len, false, sp, msg, cap)) return -1;
        } else {
            if (groups > LOG_FIELDS_MAX) return msgf(msg, cap, "%s", "Too many groups");
            sp->n = groups;
            sp->f = columns_n(a, groups);
            if (!sp->f) return msgf(msg, cap, "%s", "out of memory");
        }
        break;
    }
    case AN_F_VARIABLE_COLUMN_LOG_PARSE: {
        if (e->nargs < 3 || e->nargs > 5)
            return msgf(msg, cap, "%s", "VARIABLE_COLUMN_LOG_PARSE takes 3 to 5 arguments");
        const an_expr_t *spec = e->args[1];
        if (spec->kind == AN_X_CONST && !spec->value.null && spec->value.kind >= SL_SQL_TINYINT &&
            spec->value.kind <= SL_SQL_BIGINT) {
            if (spec->value.u.i < 1 || spec->value.u.i > LOG_FIELDS_MAX)
                return msgf(msg, cap, "%s", "Bad number of columns");
            sp->n = (size_t)spec->value.u.i;
            sp->f = columns_n(a, sp->n);
            if (!sp->f) return msgf(msg, cap, "%s", "out of memory");
        } else if (pat) {
            if (parse_columns(a, pat->u.s.ptr, pat->u.s.len, false, sp, msg, cap)) return -1;
        } else {
            return msgf(msg, cap, "%s", "The column list must be a literal");
        }
        for (size_t i = 2; i < e->nargs; i++)
            if (!is_text_kind(e->args[i]->type.kind))
                return msgf(msg, cap, "%s",
                            "Delimiter, escape and quote must be character strings");
        break;
    }
    case AN_F_FIXED_COLUMN_LOG_PARSE:
        if (!pat || e->nargs != 2) return msgf(msg, cap, "%s", "The column list must be a literal");
        if (parse_columns(a, pat->u.s.ptr, pat->u.s.len, true, sp, msg, cap)) return -1;
        break;
    case AN_F_W3C_LOG_PARSE: {
        if (!pat || e->nargs != 2) return msgf(msg, cap, "%s", "The log format must be a literal");
        const char *f = w3c_format(pat->u.s.ptr, pat->u.s.len);
        sp->w3c = f ? f : pat->u.s.ptr;
        sp->w3clen = f ? strlen(f) : pat->u.s.len;
        sp->n = w3c_directives(sp->w3c, sp->w3clen);
        if (sp->n == 0 || sp->n > LOG_FIELDS_MAX) return msgf(msg, cap, "%s", "Bad log format");
        sp->f = columns_n(a, sp->n);
        if (!sp->f) return msgf(msg, cap, "%s", "out of memory");
        break;
    }
    case AN_F_SYS_LOG_PARSE:
        if (e->nargs != 1) return msgf(msg, cap, "%s", "SYS_LOG_PARSE takes one argument");
        sp->n = 2;
        sp->f = columns_n(a, 2);
        if (!sp->f) return msgf(msg, cap, "%s", "out of memory");
        sp->f[0].type.kind = SL_SQL_TIMESTAMP;
        sp->f[0].type.len = 0;
        break;
    default:
        return msgf(msg, cap, "%s", "not a log parser");
    }
    sl_sql_column_t *fields = sl_arena_calloc(a, sp->n + 1, sizeof *fields);
    if (!fields) return msgf(msg, cap, "%s", "out of memory");
    for (size_t i = 0; i < sp->n; i++) {
        fields[i].name = sp->f[i].name;
        fields[i].type = sp->f[i].type;
    }
    memset(&e->type, 0, sizeof e->type);
    e->type.kind = SL_SQL_ROW;
    e->type.len = (int32_t)sp->n;
    e->type.fields = fields;
    e->cache = sp;
    return 0;
}

/* --- evaluation ---------------------------------------------------------------------------- */

static int fail(an_ctx_t *ctx, const char *m) {
    ctx->error = m;
    return -1;
}

/* Sets field i from text, converting to the field's type (a TIMESTAMP may carry a pattern). */
static int set_field(an_ctx_t *ctx, const field_t *f, const char *s, size_t len,
                     sl_sql_value_t *out) {
    if (f->type.kind == SL_SQL_TIMESTAMP && f->fmt) {
        int64_t t;
        if (!an_date_parse(f->fmt, f->fmtlen, s, len, &t))
            return fail(ctx, "Cannot parse a timestamp field of a log line");
        memset(out, 0, sizeof *out);
        out->kind = SL_SQL_TIMESTAMP;
        out->u.i = t;
        return 0;
    }
    sl_sql_value_t in = {.kind = SL_SQL_VARCHAR, .u.s = {s, (uint32_t)len}};
    return an_cast(ctx, &in, &f->type, out);
}

static sl_sql_value_t *new_row(an_ctx_t *ctx, const spec_t *sp, sl_sql_value_t *out) {
    sl_sql_value_t *v = sl_arena_calloc(ctx->arena, sp->n + 1, sizeof *v);
    if (!v) return NULL;
    for (size_t i = 0; i < sp->n; i++) {
        v[i].kind = sp->f[i].type.kind;
        v[i].null = true;
    }
    memset(out, 0, sizeof *out);
    out->kind = SL_SQL_ROW;
    out->u.row.v = v;
    out->u.row.n = (uint32_t)sp->n;
    return v;
}

static int regex_parse(an_ctx_t *ctx, const an_expr_t *e, const spec_t *sp, const sl_sql_value_t *a,
                       sl_sql_value_t *out) {
    const sl_sql_value_t *pat = &e->args[1]->value;
    pcre2_code *re = compile_regex(pat->u.s.ptr, pat->u.s.len, NULL, 0);
    if (!re) return fail(ctx, "Invalid regular expression");
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    int rc =
        md ? pcre2_match(re, (PCRE2_SPTR)a[0].u.s.ptr, a[0].u.s.len, 0, PCRE2_ANCHORED, md, NULL)
           : -1;
    int result = 0;
    if (rc > 0) {
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        /* the whole line must match (Java's Matcher.matches) */
        if (ov[1] == a[0].u.s.len) {
            sl_sql_value_t *v = new_row(ctx, sp, out);
            if (!v) {
                result = fail(ctx, "out of memory");
            } else {
                for (size_t i = 0; i < sp->n && result == 0; i++) {
                    if ((int)i + 1 >= rc || ov[2 * (i + 1)] == PCRE2_UNSET) continue;
                    result = set_field(ctx, &sp->f[i], a[0].u.s.ptr + ov[2 * (i + 1)],
                                       ov[2 * (i + 1) + 1] - ov[2 * (i + 1)], &v[i]);
                }
            }
        } else {
            rc = -1;
        }
    }
    if (rc <= 0 && result == 0) { /* no match: NULL */
        memset(out, 0, sizeof *out);
        out->kind = SL_SQL_ROW;
        out->null = true;
    }
    pcre2_match_data_free(md);
    pcre2_code_free(re);
    return result;
}

static int variable_parse(an_ctx_t *ctx, const spec_t *sp, const sl_sql_value_t *a, size_t nargs,
                          sl_sql_value_t *out) {
    const char *s = a[0].u.s.ptr;
    size_t len = a[0].u.s.len;
    const char *d = a[2].u.s.ptr;
    size_t dl = a[2].u.s.len;
    int esc = nargs > 3 && a[3].u.s.len ? (unsigned char)a[3].u.s.ptr[0] : -1;
    int qb = nargs > 4 && a[4].u.s.len ? (unsigned char)a[4].u.s.ptr[0] : -1;
    int qe = nargs > 4 && a[4].u.s.len > 1 ? (unsigned char)a[4].u.s.ptr[1] : qb;
    if (dl == 0) return fail(ctx, "The delimiter of VARIABLE_COLUMN_LOG_PARSE is empty");
    sl_sql_value_t *v = new_row(ctx, sp, out);
    char *buf = sl_arena_alloc(ctx->arena, len + 1);
    if (!v || !buf) return fail(ctx, "out of memory");
    size_t i = 0, col = 0;
    while (col < sp->n && i <= len) {
        size_t k = 0;
        bool quoted = false;
        while (i < len) {
            unsigned char c = (unsigned char)s[i];
            if (esc >= 0 && c == esc && i + 1 < len) {
                buf[k++] = s[i + 1];
                i += 2;
                continue;
            }
            if (qb >= 0 && !quoted && c == qb && k == 0) {
                quoted = true;
                i++;
                continue;
            }
            if (quoted && c == qe) {
                quoted = false;
                i++;
                continue;
            }
            if (!quoted && i + dl <= len && memcmp(s + i, d, dl) == 0) break;
            buf[k++] = (char)c;
            i++;
        }
        if (set_field(ctx, &sp->f[col], buf, k, &v[col])) return -1;
        /* the value points into buf: give the next field its own space */
        buf += k;
        col++;
        if (i >= len) break;
        i += dl;
    }
    return 0;
}

static int fixed_parse(an_ctx_t *ctx, const spec_t *sp, const sl_sql_value_t *a,
                       sl_sql_value_t *out) {
    sl_sql_value_t *v = new_row(ctx, sp, out);
    if (!v) return fail(ctx, "out of memory");
    size_t len = a[0].u.s.len;
    for (size_t i = 0; i < sp->n; i++) {
        const field_t *f = &sp->f[i];
        if ((size_t)f->start >= len) continue;
        size_t l =
            f->len < 0 ? len - (size_t)f->start : SL_MIN((size_t)f->len, len - (size_t)f->start);
        const char *p = a[0].u.s.ptr + f->start;
        /* fixed-width fields are space padded */
        while (l && p[l - 1] == ' ' && f->type.kind != SL_SQL_CHAR)
            l--;
        if (set_field(ctx, f, p, l, &v[i])) return -1;
    }
    return 0;
}

/* W3C: walks the format; a directive takes the text up to the format's next literal character
 * (a quoted directive up to the closing quote, %t a [bracketed] time). */
static int w3c_parse(an_ctx_t *ctx, const spec_t *sp, const sl_sql_value_t *a,
                     sl_sql_value_t *out) {
    const char *s = a[0].u.s.ptr, *f = sp->w3c;
    size_t len = a[0].u.s.len, fl = sp->w3clen, i = 0, col = 0;
    sl_sql_value_t *v = new_row(ctx, sp, out);
    if (!v) return fail(ctx, "out of memory");
    for (size_t p = 0; p < fl; p++) {
        if (f[p] != '%' || (p + 1 < fl && f[p + 1] == '%')) {
            if (f[p] == '%') p++;
            if (i < len && s[i] == f[p]) {
                i++;
                continue;
            }
            goto nomatch;
        }
        p++;
        while (p < fl &&
               (f[p] == '>' || f[p] == '<' || isdigit((unsigned char)f[p]) || f[p] == ','))
            p++;
        if (p < fl && f[p] == '{') {
            while (p < fl && f[p] != '}')
                p++;
            p++;
        }
        char directive = p < fl ? f[p] : 0;
        char stop = p + 1 < fl ? f[p + 1] : 0;
        size_t b = i;
        if (directive == 't' && i < len && s[i] == '[') {
            while (i < len && s[i] != ']')
                i++;
            if (i < len) i++;
        } else if (stop) {
            while (i < len && s[i] != stop)
                i++;
        } else {
            i = len;
        }
        if (col < sp->n && set_field(ctx, &sp->f[col], s + b, i - b, &v[col])) return -1;
        col++;
    }
    return 0;
nomatch:
    memset(out, 0, sizeof *out);
    out->kind = SL_SQL_ROW;
    out->null = true;
    return 0;
}

/* SYS_LOG_PARSE: RFC 3164's "Mmm dd hh:mm:ss " (a one-digit day is space padded) then the
 * free-form text (host and message) as COLUMN2. The line carries no year: like Java's
 * SimpleDateFormat on 'MMM dd HH:mm:ss', the timestamp is in 1970. NULL when the line does not
 * start with such a timestamp. */
static int sys_parse(an_ctx_t *ctx, const spec_t *sp, const sl_sql_value_t *a,
                     sl_sql_value_t *out) {
    static const char MONTHS[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    const char *s = a[0].u.s.ptr;
    size_t len = a[0].u.s.len, i = 0;
    int mon = -1, day = 0, hms[3] = {0, 0, 0};
    for (int m = 0; m < 12 && len >= 3; m++)
        if (strncasecmp(s, MONTHS + 3 * m, 3) == 0) mon = m + 1;
    if (mon < 0 || len < 4 || s[3] != ' ') goto nomatch;
    i = 4;
    if (i < len && s[i] == ' ') i++;
    if (i >= len || !isdigit((unsigned char)s[i])) goto nomatch;
    while (i < len && isdigit((unsigned char)s[i]) && day < 100)
        day = day * 10 + (s[i++] - '0');
    if (day < 1 || day > 31 || i >= len || s[i++] != ' ') goto nomatch;
    for (int k = 0; k < 3; k++) {
        if (i + 2 > len || !isdigit((unsigned char)s[i]) || !isdigit((unsigned char)s[i + 1]))
            goto nomatch;
        hms[k] = (s[i] - '0') * 10 + (s[i + 1] - '0');
        i += 2;
        if (k < 2 && (i >= len || s[i++] != ':')) goto nomatch;
    }
    if (hms[0] > 23 || hms[1] > 59 || hms[2] > 60) goto nomatch;
    if (i < len && s[i] != ' ') goto nomatch;
    if (i < len) i++;
    sl_sql_value_t *v = new_row(ctx, sp, out);
    if (!v) return fail(ctx, "out of memory");
    v[0].null = false;
    v[0].u.i = an_days_from_civil(1970, mon, day) * 86400000 +
               ((int64_t)hms[0] * 3600 + hms[1] * 60 + hms[2]) * 1000;
    return set_field(ctx, &sp->f[1], s + i, len - i, &v[1]);
nomatch:
    memset(out, 0, sizeof *out);
    out->kind = SL_SQL_ROW;
    out->null = true;
    return 0;
}

int an_log_eval(an_ctx_t *ctx, const an_expr_t *e, const sl_sql_value_t *a, sl_sql_value_t *out) {
    const spec_t *sp = e->cache;
    if (a[0].null) {
        memset(out, 0, sizeof *out);
        out->kind = SL_SQL_ROW;
        out->null = true;
        return 0;
    }
    switch (e->fn) {
    case AN_F_REGEX_LOG_PARSE:
    case AN_F_FAST_REGEX_LOG_PARSE:
        return regex_parse(ctx, e, sp, a, out);
    case AN_F_VARIABLE_COLUMN_LOG_PARSE:
        for (size_t i = 2; i < e->nargs; i++)
            if (a[i].null) return fail(ctx, "NULL delimiter, escape or quote");
        return variable_parse(ctx, sp, a, e->nargs, out);
    case AN_F_FIXED_COLUMN_LOG_PARSE:
        return fixed_parse(ctx, sp, a, out);
    case AN_F_W3C_LOG_PARSE:
        return w3c_parse(ctx, sp, a, out);
    case AN_F_SYS_LOG_PARSE:
        return sys_parse(ctx, sp, a, out);
    default:
        return fail(ctx, "not a log parser");
    }
}

/* REGEX_REPLACE(original, regex, replacement, startPosition, occurrence): Java's replaceAll
 * semantics from startPosition (1-based); occurrence 0 replaces every match, n only the n-th.
 * In the replacement $n is group n and \x is x. */
int an_regex_replace(an_ctx_t *ctx, const sl_sql_value_t *a, sl_sql_value_t *out) {
    const char *s = a[0].u.s.ptr, *r = a[2].u.s.ptr;
    size_t len = a[0].u.s.len, rl = a[2].u.s.len;
    int64_t start = a[3].u.i, occ = a[4].u.i;
    if (start < 1) return fail(ctx, "REGEX_REPLACE start position must be positive");
    if (occ < 0) return fail(ctx, "REGEX_REPLACE occurrence must not be negative");
    memset(out, 0, sizeof *out);
    out->kind = SL_SQL_VARCHAR;
    if ((size_t)start > len) {
        *out = a[0];
        out->kind = SL_SQL_VARCHAR;
        return 0;
    }
    pcre2_code *re =
        compile_regex(a[1].u.s.ptr, a[1].u.s.len, ctx->error_buf, sizeof ctx->error_buf);
    if (!re) {
        ctx->error = ctx->error_buf;
        return -1;
    }
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    size_t cap = len + 64, k = 0;
    char *o = malloc(cap);
    int result = 0;
    if (!md || !o) {
        result = fail(ctx, "out of memory");
        goto done;
    }
    /* the start position counts characters */
    size_t off = 0;
    for (int64_t c = 1; c < start && off < len; c++) {
        off++;
        while (off < len && ((unsigned char)s[off] & 0xC0) == 0x80)
            off++;
    }
    memcpy(o, s, off);
    k = off;
    int64_t seen = 0;
    size_t last = off;
    while (off <= len) {
        int rc = pcre2_match(re, (PCRE2_SPTR)s, len, off, 0, md, NULL);
        if (rc <= 0) break;
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        seen++;
        bool replace = occ == 0 || seen == occ;
        size_t need = (ov[0] - last) + rl * 2 + len + 16;
        if (k + need > cap) {
            cap = (k + need) * 2;
            char *g = realloc(o, cap);
            if (!g) {
                result = fail(ctx, "out of memory");
                goto done;
            }
            o = g;
        }
        if (replace) {
            memcpy(o + k, s + last, ov[0] - last);
            k += ov[0] - last;
            for (size_t i = 0; i < rl; i++) {
                if (r[i] == '\\' && i + 1 < rl) {
                    o[k++] = r[++i];
                } else if (r[i] == '$' && i + 1 < rl && isdigit((unsigned char)r[i + 1])) {
                    int g = r[++i] - '0';
                    if (g >= rc) {
                        result = fail(ctx, "No group in the regular expression for $n");
                        goto done;
                    }
                    size_t gl = ov[2 * g + 1] - ov[2 * g];
                    if (ov[2 * g] != PCRE2_UNSET) {
                        if (k + gl + (rl - i) + (len - ov[1]) + 16 > cap) {
                            cap = (k + gl + rl + len + 16) * 2;
                            char *gr = realloc(o, cap);
                            if (!gr) {
                                result = fail(ctx, "out of memory");
                                goto done;
                            }
                            o = gr;
                        }
                        memcpy(o + k, s + ov[2 * g], gl);
                        k += gl;
                    }
                } else if (r[i] == '$') {
                    result = fail(ctx, "Illegal group reference in the replacement");
                    goto done;
                } else {
                    o[k++] = r[i];
                }
            }
            last = ov[1];
        }
        if (occ && seen == occ) break;
        off = ov[1] > ov[0] ? ov[1] : ov[1] + 1;
        while (off < len && ((unsigned char)s[off] & 0xC0) == 0x80)
            off++;
        if (ov[1] == ov[0] && ov[0] >= len) break;
    }
    if (k + (len - last) + 1 > cap) {
        char *g = realloc(o, k + (len - last) + 1);
        if (!g) {
            result = fail(ctx, "out of memory");
            goto done;
        }
        o = g;
    }
    memcpy(o + k, s + last, len - last);
    k += len - last;
    {
        char *p = sl_arena_alloc(ctx->arena, k + 1);
        if (!p) {
            result = fail(ctx, "out of memory");
            goto done;
        }
        memcpy(p, o, k);
        out->u.s.ptr = p;
        out->u.s.len = (uint32_t)k;
    }
done:
    free(o);
    pcre2_match_data_free(md);
    pcre2_code_free(re);
    return result;
}
