/* Lexer and recursive-descent parser of the Kinesis Data Analytics SQL dialect (analytics/sql.h).
 * The whole script is tokenized first (bounded by SL_ANALYTICS_CODE_MAX_CHARS), then parsed with
 * arbitrary lookahead; every node records its position for the planner's messages. Keywords are
 * recognised by the parser in context, so a word is a keyword only where the grammar expects one
 * and only when unquoted; RESERVED lists the words that can never be bare identifiers. */
#include "analytics/sql.h"

#include "core/common.h"
#include "core/limits.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum {
    TK_EOF,
    TK_IDENT,  /* text folded to upper case unless quoted */
    TK_STRING, /* text decoded ('' and U&'\xxxx' escapes resolved) */
    TK_BINARY, /* X'..': text holds the hex digits */
    TK_NUMBER,
    TK_OP, /* punctuation: text holds it */
} tk_kind_t;

typedef struct {
    uint8_t kind;
    bool quoted;
    const char *text;
    size_t len;
    int line, col, end_line, end_col;
} token_t;

typedef struct {
    sl_arena_t *arena;
    token_t *toks;
    size_t ntoks, at;
    int depth;
    sl_sql_error_t *err;
    bool failed;
} parser_t;

static const char *const RESERVED[] = {
    "ALL",       "AND",     "AS",       "BETWEEN",  "BY",    "CASE",      "CAST",   "CREATE",
    "CROSS",     "CURSOR",  "DISTINCT", "ELSE",     "END",   "ESCAPE",    "EXCEPT", "FALSE",
    "FROM",      "FULL",    "GROUP",    "HAVING",   "IN",    "INNER",     "INSERT", "INTERSECT",
    "INTERVAL",  "INTO",    "IS",       "JOIN",     "LEFT",  "LIKE",      "NOT",    "NULL",
    "ON",        "OR",      "ORDER",    "OUTER",    "OVER",  "PARTITION", "RIGHT",  "SELECT",
    "SIMILAR",   "TABLE",   "THEN",     "TRUE",     "UNION", "UNKNOWN",   "USING",  "VALUES",
    "WHEN",      "WHERE",   "WINDOW",   "WINDOWED", "WITH",  "WITHIN",    "DATE",   "TIME",
    "TIMESTAMP", "CURRENT", "ROWS",     "RANGE",
};

/* --- errors -------------------------------------------------------------------------------- */

static void fail_at(parser_t *p, sl_sql_pos_t pos, const char *fmt, ...) {
    if (p->failed) return;
    p->failed = true;
    p->err->pos = pos;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err->message, sizeof p->err->message, fmt, ap);
    va_end(ap);
}

static sl_sql_pos_t tok_pos(const token_t *t) {
    return (sl_sql_pos_t){t->line, t->col, t->end_line, t->end_col};
}

/* "Encountered "X" at line L, column C." for the token at the cursor, as Calcite words it. */
static void fail_here(parser_t *p) {
    const token_t *t = &p->toks[p->at];
    if (t->kind == TK_EOF) {
        fail_at(p, tok_pos(t), "Encountered \"<EOF>\" at line %d, column %d.", t->line, t->col);
        return;
    }
    int n = (int)SL_MIN(t->len, 64u);
    if (t->kind == TK_STRING)
        fail_at(p, tok_pos(t), "Encountered \"'%.*s'\" at line %d, column %d.", n, t->text, t->line,
                t->col);
    else if (t->kind == TK_IDENT && t->quoted)
        fail_at(p, tok_pos(t), "Encountered \"\\\"%.*s\\\"\" at line %d, column %d.", n, t->text,
                t->line, t->col);
    else
        fail_at(p, tok_pos(t), "Encountered \"%.*s\" at line %d, column %d.", n, t->text, t->line,
                t->col);
}

/* --- lexer --------------------------------------------------------------------------------- */

typedef struct {
    const char *s;
    size_t len, i;
    int line, col;
} lexer_t;

static void lx_advance(lexer_t *lx, size_t n) {
    while (n-- > 0 && lx->i < lx->len) {
        if (lx->s[lx->i] == '\n') {
            lx->line++;
            lx->col = 1;
        } else {
            lx->col++;
        }
        lx->i++;
    }
}

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Appends the UTF-8 encoding of `cp` to out; returns the bytes written (out has room for 4). */
static size_t utf8_put(uint32_t cp, char *out) {
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Reads a quoted run starting at the opening quote `q` (' or "), doubling as the escape.
 * Returns the decoded text in the arena, or NULL when the quote is not closed. */
static char *lx_quoted(lexer_t *lx, sl_arena_t *a, char q, size_t *out_len) {
    size_t start = lx->i + 1, j = start, n = 0;
    for (;;) {
        if (j >= lx->len) return NULL;
        if (lx->s[j] == q) {
            if (j + 1 < lx->len && lx->s[j + 1] == q) {
                j += 2;
                n++;
                continue;
            }
            break;
        }
        j++;
        n++;
    }
    char *out = sl_arena_alloc(a, n + 1);
    if (!out) return NULL;
    size_t k = 0;
    for (size_t i = start; i < j; i++) {
        out[k++] = lx->s[i];
        if (lx->s[i] == q) i++;
    }
    out[k] = 0;
    *out_len = k;
    lx_advance(lx, j + 1 - lx->i);
    return out;
}

/* U&'...' [UESCAPE 'c']: \xxxx and \+xxxxxx escapes (or with the given escape character). */
static char *unicode_decode(sl_arena_t *a, const char *s, size_t len, char esc, size_t *out_len) {
    char *out = sl_arena_alloc(a, len * 4 + 1);
    if (!out) return NULL;
    size_t k = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] != esc) {
            out[k++] = s[i];
            continue;
        }
        if (i + 1 < len && s[i + 1] == esc) {
            out[k++] = esc;
            i++;
            continue;
        }
        size_t digits = 4, from = i + 1;
        if (i + 1 < len && s[i + 1] == '+') {
            digits = 6;
            from = i + 2;
        }
        if (from + digits > len) return NULL;
        uint32_t cp = 0;
        for (size_t d = 0; d < digits; d++) {
            int h = hexval((unsigned char)s[from + d]);
            if (h < 0) return NULL;
            cp = cp * 16 + (uint32_t)h;
        }
        if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return NULL;
        k += utf8_put(cp, out + k);
        i = from + digits - 1;
    }
    out[k] = 0;
    *out_len = k;
    return out;
}

static int lex(parser_t *p, const char *s, size_t len) {
    lexer_t lx = {.s = s, .len = len, .line = 1, .col = 1};
    size_t cap = 64;
    token_t *toks = malloc(cap * sizeof *toks);
    if (!toks) return SL_ENOMEM;
    size_t n = 0;
    int rc = 0;
    for (;;) {
        /* whitespace and comments */
        while (lx.i < len) {
            char c = s[lx.i];
            if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f') {
                lx_advance(&lx, 1);
            } else if (c == '-' && lx.i + 1 < len && s[lx.i + 1] == '-') {
                while (lx.i < len && s[lx.i] != '\n')
                    lx_advance(&lx, 1);
            } else if (c == '/' && lx.i + 1 < len && s[lx.i + 1] == '*') {
                int l0 = lx.line, c0 = lx.col;
                lx_advance(&lx, 2);
                while (lx.i + 1 < len && !(s[lx.i] == '*' && s[lx.i + 1] == '/'))
                    lx_advance(&lx, 1);
                if (lx.i + 1 >= len) {
                    fail_at(p, (sl_sql_pos_t){l0, c0, l0, c0 + 1},
                            "Lexical error at line %d, column %d.  Encountered: <EOF> after : \"\"",
                            lx.line, lx.col);
                    rc = SL_EINVAL;
                    goto done;
                }
                lx_advance(&lx, 2);
            } else {
                break;
            }
        }
        if (n + 1 >= cap) {
            cap *= 2;
            token_t *grown = realloc(toks, cap * sizeof *toks);
            if (!grown) {
                rc = SL_ENOMEM;
                goto done;
            }
            toks = grown;
        }
        token_t *t = &toks[n];
        memset(t, 0, sizeof *t);
        t->line = lx.line;
        t->col = lx.col;
        if (lx.i >= len) {
            t->kind = TK_EOF;
            t->text = "<EOF>";
            t->len = 5;
            t->end_line = lx.line;
            t->end_col = lx.col;
            n++;
            break;
        }
        unsigned char c = (unsigned char)s[lx.i];
        char nx = lx.i + 1 < len ? s[lx.i + 1] : 0;
        if ((c == 'U' || c == 'u') && nx == '&' && lx.i + 2 < len && s[lx.i + 2] == '\'') {
            lx_advance(&lx, 2);
            size_t raw_len;
            char *raw = lx_quoted(&lx, p->arena, '\'', &raw_len);
            if (!raw) goto bad_string;
            char esc = '\\';
            /* optional UESCAPE 'c' */
            size_t save_i = lx.i;
            int save_line = lx.line, save_col = lx.col;
            while (lx.i < len && isspace((unsigned char)s[lx.i]))
                lx_advance(&lx, 1);
            if (lx.i + 7 <= len && strncasecmp(s + lx.i, "UESCAPE", 7) == 0) {
                lx_advance(&lx, 7);
                while (lx.i < len && isspace((unsigned char)s[lx.i]))
                    lx_advance(&lx, 1);
                if (lx.i + 3 > len || s[lx.i] != '\'' || s[lx.i + 2] != '\'') goto bad_string;
                esc = s[lx.i + 1];
                lx_advance(&lx, 3);
            } else {
                lx.i = save_i;
                lx.line = save_line;
                lx.col = save_col;
            }
            t->kind = TK_STRING;
            t->text = unicode_decode(p->arena, raw, raw_len, esc, &t->len);
            if (!t->text) goto bad_string;
        } else if ((c == 'X' || c == 'x') && nx == '\'') {
            lx_advance(&lx, 1);
            size_t l;
            char *hex = lx_quoted(&lx, p->arena, '\'', &l);
            if (!hex) goto bad_string;
            for (size_t k = 0; k < l; k++)
                if (hexval((unsigned char)hex[k]) < 0) goto bad_string;
            t->kind = TK_BINARY;
            t->text = hex;
            t->len = l;
        } else if (c == '\'') {
            t->kind = TK_STRING;
            t->text = lx_quoted(&lx, p->arena, '\'', &t->len);
            if (!t->text) goto bad_string;
        } else if (c == '"') {
            t->kind = TK_IDENT;
            t->quoted = true;
            t->text = lx_quoted(&lx, p->arena, '"', &t->len);
            if (!t->text) goto bad_string;
            if (t->len == 0 || t->len > SL_ANALYTICS_IDENT_MAX_CHARS) {
                fail_at(p, (sl_sql_pos_t){t->line, t->col, lx.line, lx.col - 1},
                        "Invalid identifier length at line %d, column %d.", t->line, t->col);
                rc = SL_EINVAL;
                goto done;
            }
        } else if (isalpha(c) || c == '_' || c == '$' || c >= 0x80) {
            size_t j = lx.i;
            while (j < len && (isalnum((unsigned char)s[j]) || s[j] == '_' || s[j] == '$' ||
                               (unsigned char)s[j] >= 0x80))
                j++;
            size_t l = j - lx.i;
            char *up = sl_arena_alloc(p->arena, l + 1);
            if (!up) {
                rc = SL_ENOMEM;
                goto done;
            }
            for (size_t k = 0; k < l; k++)
                up[k] = (char)toupper((unsigned char)s[lx.i + k]);
            up[l] = 0;
            t->kind = TK_IDENT;
            t->text = up;
            t->len = l;
            lx_advance(&lx, l);
        } else if (isdigit(c) || (c == '.' && isdigit((unsigned char)nx))) {
            size_t j = lx.i;
            while (j < len && isdigit((unsigned char)s[j]))
                j++;
            if (j < len && s[j] == '.') {
                j++;
                while (j < len && isdigit((unsigned char)s[j]))
                    j++;
            }
            if (j < len && (s[j] == 'e' || s[j] == 'E')) {
                size_t k = j + 1;
                if (k < len && (s[k] == '+' || s[k] == '-')) k++;
                if (k < len && isdigit((unsigned char)s[k])) {
                    j = k;
                    while (j < len && isdigit((unsigned char)s[j]))
                        j++;
                }
            }
            t->kind = TK_NUMBER;
            t->text = sl_arena_strndup(p->arena, s + lx.i, j - lx.i);
            t->len = j - lx.i;
            if (!t->text) {
                rc = SL_ENOMEM;
                goto done;
            }
            lx_advance(&lx, j - lx.i);
        } else {
            static const char *const ops[] = {"<>", "<=", ">=", "!=", "||", "(", ")", ",", ";",
                                              ".",  "*",  "+",  "-",  "/",  "=", "<", ">"};
            const char *op = NULL;
            for (size_t k = 0; k < SL_ARRAY_LEN(ops); k++) {
                size_t l = strlen(ops[k]);
                if (lx.i + l <= len && memcmp(s + lx.i, ops[k], l) == 0) {
                    op = ops[k];
                    break;
                }
            }
            if (!op) {
                if (c >= 0x20 && c < 0x7f)
                    fail_at(p, (sl_sql_pos_t){lx.line, lx.col, lx.line, lx.col},
                            "Lexical error at line %d, column %d.  Encountered: \"%c\" (%d), after "
                            ": \"\"",
                            lx.line, lx.col, c, c);
                else
                    fail_at(p, (sl_sql_pos_t){lx.line, lx.col, lx.line, lx.col},
                            "Lexical error at line %d, column %d.  Encountered: \"\\u%04x\" (%d), "
                            "after : \"\"",
                            lx.line, lx.col, c, c);
                rc = SL_EINVAL;
                goto done;
            }
            t->kind = TK_OP;
            t->text = op;
            t->len = strlen(op);
            lx_advance(&lx, t->len);
        }
        t->end_line = lx.line;
        t->end_col = lx.col - 1;
        n++;
        continue;
    bad_string:
        fail_at(p, (sl_sql_pos_t){t->line, t->col, t->line, t->col},
                "Lexical error at line %d, column %d.  Encountered: <EOF> after : \"\"", t->line,
                t->col);
        rc = SL_EINVAL;
        goto done;
    }
done:
    if (rc != 0) {
        free(toks);
        return rc;
    }
    /* keep the tokens in the arena so the caller frees one thing */
    p->toks = sl_arena_alloc(p->arena, n * sizeof *toks);
    if (!p->toks) {
        free(toks);
        return SL_ENOMEM;
    }
    memcpy(p->toks, toks, n * sizeof *toks);
    p->ntoks = n;
    free(toks);
    return 0;
}

/* --- token helpers ------------------------------------------------------------------------- */

static const token_t *peek(parser_t *p, size_t k) {
    size_t i = p->at + k;
    return &p->toks[i < p->ntoks ? i : p->ntoks - 1];
}

static bool is_kw_tok(const token_t *t, const char *kw) {
    return t->kind == TK_IDENT && !t->quoted && strcmp(t->text, kw) == 0;
}

static bool is_kw(parser_t *p, const char *kw) {
    return is_kw_tok(peek(p, 0), kw);
}

static bool is_op(parser_t *p, const char *op) {
    const token_t *t = peek(p, 0);
    return t->kind == TK_OP && strcmp(t->text, op) == 0;
}

static const token_t *prev(parser_t *p) {
    return &p->toks[p->at ? p->at - 1 : 0];
}

static void next(parser_t *p) {
    if (p->at + 1 < p->ntoks) p->at++;
}

static bool accept_kw(parser_t *p, const char *kw) {
    if (!is_kw(p, kw)) return false;
    next(p);
    return true;
}

static bool accept_op(parser_t *p, const char *op) {
    if (!is_op(p, op)) return false;
    next(p);
    return true;
}

static bool expect_kw(parser_t *p, const char *kw) {
    if (accept_kw(p, kw)) return true;
    fail_here(p);
    return false;
}

static bool expect_op(parser_t *p, const char *op) {
    if (accept_op(p, op)) return true;
    fail_here(p);
    return false;
}

static bool reserved(const token_t *t) {
    if (t->kind != TK_IDENT || t->quoted) return false;
    for (size_t i = 0; i < SL_ARRAY_LEN(RESERVED); i++)
        if (strcmp(t->text, RESERVED[i]) == 0) return true;
    return false;
}

static bool is_ident(parser_t *p) {
    const token_t *t = peek(p, 0);
    return t->kind == TK_IDENT && !reserved(t);
}

static const char *expect_ident(parser_t *p) {
    if (!is_ident(p)) {
        fail_here(p);
        return NULL;
    }
    const char *s = peek(p, 0)->text;
    next(p);
    return s;
}

static void *alloc(parser_t *p, size_t size) {
    void *m = sl_arena_calloc(p->arena, 1, size);
    if (!m && !p->failed) {
        p->failed = true;
        snprintf(p->err->message, sizeof p->err->message, "out of memory");
    }
    return m;
}

/* A growing array of pointers in the arena (doubling; the old block is left to the arena). */
typedef struct {
    void **v;
    size_t n, cap;
} vec_t;

static bool vec_push(parser_t *p, vec_t *v, void *x) {
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 4;
        void **grown = alloc(p, cap * sizeof *grown);
        if (!grown) return false;
        if (v->n) memcpy(grown, v->v, v->n * sizeof *grown);
        v->v = grown;
        v->cap = cap;
    }
    v->v[v->n++] = x;
    return true;
}

static void start_pos(parser_t *p, sl_sql_pos_t *pos) {
    const token_t *t = peek(p, 0);
    pos->line = t->line;
    pos->col = t->col;
}

static void end_pos(parser_t *p, sl_sql_pos_t *pos) {
    const token_t *t = prev(p);
    pos->end_line = t->end_line;
    pos->end_col = t->end_col;
}

static bool enter(parser_t *p) {
    if (++p->depth > SL_ANALYTICS_SQL_DEPTH_MAX) {
        const token_t *t = peek(p, 0);
        fail_at(p, tok_pos(t), "Statement too deeply nested at line %d, column %d.", t->line,
                t->col);
        return false;
    }
    return true;
}

/* --- types, units, intervals --------------------------------------------------------------- */

static const struct {
    const char *name;
    uint8_t kind;
} TYPE_NAMES[] = {
    {"BOOLEAN", SL_SQL_BOOLEAN}, {"TINYINT", SL_SQL_TINYINT},     {"SMALLINT", SL_SQL_SMALLINT},
    {"INTEGER", SL_SQL_INTEGER}, {"INT", SL_SQL_INTEGER},         {"BIGINT", SL_SQL_BIGINT},
    {"DECIMAL", SL_SQL_DECIMAL}, {"DEC", SL_SQL_DECIMAL},         {"NUMERIC", SL_SQL_DECIMAL},
    {"REAL", SL_SQL_REAL},       {"DOUBLE", SL_SQL_DOUBLE},       {"FLOAT", SL_SQL_DOUBLE},
    {"CHAR", SL_SQL_CHAR},       {"CHARACTER", SL_SQL_CHAR},      {"VARCHAR", SL_SQL_VARCHAR},
    {"BINARY", SL_SQL_BINARY},   {"VARBINARY", SL_SQL_VARBINARY}, {"DATE", SL_SQL_DATE},
    {"TIME", SL_SQL_TIME},       {"TIMESTAMP", SL_SQL_TIMESTAMP},
};

static bool parse_int_tok(const token_t *t, int64_t *out) {
    if (t->kind != TK_NUMBER) return false;
    for (size_t i = 0; i < t->len; i++)
        if (!isdigit((unsigned char)t->text[i])) return false;
    errno = 0;
    long long v = strtoll(t->text, NULL, 10);
    if (errno) return false;
    *out = v;
    return true;
}

static bool parse_type(parser_t *p, sl_sql_type_t *ty) {
    memset(ty, 0, sizeof *ty);
    const token_t *t = peek(p, 0);
    if (t->kind != TK_IDENT || t->quoted) {
        fail_here(p);
        return false;
    }
    size_t i = 0;
    for (; i < SL_ARRAY_LEN(TYPE_NAMES); i++)
        if (strcmp(t->text, TYPE_NAMES[i].name) == 0) break;
    if (i == SL_ARRAY_LEN(TYPE_NAMES)) {
        fail_at(p, tok_pos(t), "Unknown datatype name '%.*s'", (int)SL_MIN(t->len, 128u), t->text);
        return false;
    }
    ty->kind = TYPE_NAMES[i].kind;
    next(p);
    if (ty->kind == SL_SQL_DOUBLE && strcmp(t->text, "DOUBLE") == 0) accept_kw(p, "PRECISION");
    if (ty->kind == SL_SQL_CHAR && accept_kw(p, "VARYING")) ty->kind = SL_SQL_VARCHAR;
    bool sized = ty->kind == SL_SQL_CHAR || ty->kind == SL_SQL_VARCHAR ||
                 ty->kind == SL_SQL_BINARY || ty->kind == SL_SQL_VARBINARY ||
                 ty->kind == SL_SQL_DECIMAL;
    if (sized && accept_op(p, "(")) {
        int64_t n;
        if (!parse_int_tok(peek(p, 0), &n)) {
            fail_here(p);
            return false;
        }
        const token_t *nt = peek(p, 0);
        if (n <= 0 || (ty->kind == SL_SQL_DECIMAL ? n > 19 : n >= SL_ANALYTICS_STRING_MAX_BYTES)) {
            fail_at(p, tok_pos(nt), "Precision %lld out of range at line %d, column %d.",
                    (long long)n, nt->line, nt->col);
            return false;
        }
        next(p);
        ty->len = (int32_t)n;
        if (ty->kind == SL_SQL_DECIMAL && accept_op(p, ",")) {
            int64_t sc;
            if (!parse_int_tok(peek(p, 0), &sc) || sc > n) {
                fail_here(p);
                return false;
            }
            next(p);
            ty->scale = (int32_t)sc;
        }
        if (!expect_op(p, ")")) return false;
    } else if (ty->kind == SL_SQL_CHAR || ty->kind == SL_SQL_BINARY) {
        ty->len = 1;
    } else if (ty->kind == SL_SQL_DECIMAL) {
        ty->len = 19;
    } else if (ty->kind == SL_SQL_VARCHAR || ty->kind == SL_SQL_VARBINARY) {
        ty->len = SL_ANALYTICS_STRING_MAX_BYTES - 1;
    }
    if ((ty->kind == SL_SQL_TIME || ty->kind == SL_SQL_TIMESTAMP) && accept_op(p, "(")) {
        /* TIMESTAMP(3): fractional precision, accepted and ignored (ms precision). */
        int64_t n;
        if (!parse_int_tok(peek(p, 0), &n) || n > 9) {
            fail_here(p);
            return false;
        }
        next(p);
        if (!expect_op(p, ")")) return false;
    }
    return true;
}

static int unit_of(const token_t *t) {
    static const char *const names[] = {NULL,   "YEAR",   "MONTH",  "DAY",
                                        "HOUR", "MINUTE", "SECOND", "MILLISECOND"};
    if (t->kind != TK_IDENT || t->quoted) return SL_SQL_UNIT_NONE;
    for (int u = 1; u < (int)SL_ARRAY_LEN(names); u++)
        if (strcmp(t->text, names[u]) == 0) return u;
    if (strcmp(t->text, "WEEK") == 0) return SL_SQL_UNIT_NONE;
    return SL_SQL_UNIT_NONE;
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
    case SL_SQL_UNIT_MILLISECOND:
        return 1;
    default:
        return 0;
    }
}

/* Parses the quoted text of an INTERVAL literal for the qualifier [from TO to]. Day-time results
 * are in ms, year-month ones in months. Accepts '5', '-5', '1 02:03:04.5', '2-6', '10.5'
 * (SECOND). Returns false on text that does not fit the qualifier. */
static bool interval_value(const char *s, size_t len, int from, int to, sl_sql_value_t *v) {
    bool neg = false;
    size_t i = 0;
    while (i < len && s[i] == ' ')
        i++;
    if (i < len && (s[i] == '-' || s[i] == '+')) neg = s[i++] == '-';
    int last = to ? to : from;
    if (from == SL_SQL_UNIT_YEAR || from == SL_SQL_UNIT_MONTH) {
        if (last != SL_SQL_UNIT_YEAR && last != SL_SQL_UNIT_MONTH) return false;
        int64_t fields[2] = {0, 0};
        int nf = 0;
        while (nf < 2) {
            if (i >= len || !isdigit((unsigned char)s[i])) return false;
            int64_t x = 0;
            while (i < len && isdigit((unsigned char)s[i])) {
                x = x * 10 + (s[i++] - '0');
                if (x > 1000000000) return false;
            }
            fields[nf++] = x;
            if (i < len && s[i] == '-' && from == SL_SQL_UNIT_YEAR && last == SL_SQL_UNIT_MONTH)
                i++;
            else
                break;
        }
        while (i < len && s[i] == ' ')
            i++;
        if (i != len) return false;
        int64_t months;
        if (from == SL_SQL_UNIT_YEAR && last == SL_SQL_UNIT_MONTH)
            months = fields[0] * 12 + (nf > 1 ? fields[1] : 0);
        else if (from == SL_SQL_UNIT_YEAR)
            months = fields[0] * 12;
        else
            months = fields[0];
        v->kind = SL_SQL_INTERVAL_YM;
        v->u.i = neg ? -months : months;
        return true;
    }
    if (last == SL_SQL_UNIT_YEAR || last == SL_SQL_UNIT_MONTH || last < from) return false;
    /* fields from `from` down to `last`, separated by ' ' (after days) or ':' */
    int64_t total = 0;
    for (int u = from; u <= last; u++) {
        if (i >= len || !isdigit((unsigned char)s[i])) return false;
        int64_t x = 0;
        while (i < len && isdigit((unsigned char)s[i])) {
            x = x * 10 + (s[i++] - '0');
            if (x > 100000000000LL) return false;
        }
        total += x * unit_ms(u);
        if (u == SL_SQL_UNIT_SECOND && i < len && s[i] == '.') {
            i++;
            int64_t scale = 100;
            while (i < len && isdigit((unsigned char)s[i])) {
                total += (s[i++] - '0') * scale;
                scale /= 10;
            }
        }
        if (u < last) {
            char sep = u == SL_SQL_UNIT_DAY ? ' ' : ':';
            if (i >= len || s[i] != sep) return false;
            i++;
        }
    }
    while (i < len && s[i] == ' ')
        i++;
    if (i != len) return false;
    v->kind = SL_SQL_INTERVAL_DT;
    v->u.i = neg ? -total : total;
    return true;
}

/* INTERVAL '<text>' unit [TO unit], the INTERVAL keyword already consumed. */
static bool parse_interval(parser_t *p, sl_sql_value_t *v, sl_sql_pos_t *pos) {
    bool neg = false;
    if (accept_op(p, "-"))
        neg = true;
    else
        accept_op(p, "+");
    const token_t *lit = peek(p, 0);
    if (lit->kind != TK_STRING) {
        fail_here(p);
        return false;
    }
    next(p);
    int from = unit_of(peek(p, 0));
    if (!from || from == SL_SQL_UNIT_MILLISECOND) {
        fail_here(p);
        return false;
    }
    next(p);
    if (from == SL_SQL_UNIT_SECOND && accept_op(p, "(")) { /* SECOND(p) */
        while (!p->failed && !is_op(p, ")") && peek(p, 0)->kind != TK_EOF)
            next(p);
        if (!expect_op(p, ")")) return false;
    }
    int to = 0;
    if (accept_kw(p, "TO")) {
        to = unit_of(peek(p, 0));
        if (!to || to == SL_SQL_UNIT_MILLISECOND) {
            fail_here(p);
            return false;
        }
        next(p);
    }
    memset(v, 0, sizeof *v);
    if (!interval_value(lit->text, lit->len, from, to, v)) {
        static const char *const names[] = {"",     "YEAR",   "MONTH",  "DAY",
                                            "HOUR", "MINUTE", "SECOND", "MILLISECOND"};
        fail_at(p, tok_pos(lit), "Illegal interval literal format '%.*s' for INTERVAL %s%s%s",
                (int)SL_MIN(lit->len, 64u), lit->text, names[from], to ? " TO " : "",
                to ? names[to] : "");
        return false;
    }
    if (neg) v->u.i = -v->u.i;
    if (pos) end_pos(p, pos);
    return true;
}

/* --- expressions --------------------------------------------------------------------------- */

static sl_sql_expr_t *parse_expr(parser_t *p);
static sl_sql_query_t *parse_query(parser_t *p);
static sl_sql_window_t *parse_window_spec(parser_t *p);
static sl_sql_expr_t *parse_add(parser_t *p);

static sl_sql_expr_t *node(parser_t *p, int kind, const sl_sql_pos_t *start) {
    sl_sql_expr_t *e = alloc(p, sizeof *e);
    if (!e) return NULL;
    e->kind = (uint8_t)kind;
    if (start)
        e->pos = *start;
    else
        start_pos(p, &e->pos);
    return e;
}

static bool set_args(parser_t *p, sl_sql_expr_t *e, vec_t *v) {
    e->args = (sl_sql_expr_t **)v->v;
    e->nargs = v->n;
    return !p->failed;
}

static sl_sql_expr_t *binary(parser_t *p, int op, sl_sql_expr_t *l, sl_sql_expr_t *r) {
    if (!l || !r) return NULL;
    sl_sql_expr_t *e = node(p, SL_SQL_E_BINARY, &l->pos);
    if (!e) return NULL;
    e->op = (uint8_t)op;
    e->args = alloc(p, 2 * sizeof *e->args);
    if (!e->args) return NULL;
    e->args[0] = l;
    e->args[1] = r;
    e->nargs = 2;
    e->pos.end_line = r->pos.end_line;
    e->pos.end_col = r->pos.end_col;
    return e;
}

/* Function names that may be written without parentheses. */
static bool niladic(const char *name) {
    static const char *const names[] = {"CURRENT_DATE", "CURRENT_TIME",   "CURRENT_TIMESTAMP",
                                        "LOCALTIME",    "LOCALTIMESTAMP", "CURRENT_ROW_TIMESTAMP"};
    for (size_t i = 0; i < SL_ARRAY_LEN(names); i++)
        if (strcmp(name, names[i]) == 0) return true;
    return false;
}

/* After a function call: [IGNORE|RESPECT NULLS] [OVER w | OVER (spec)]. */
static bool parse_call_tail(parser_t *p, sl_sql_expr_t *e) {
    if (is_kw(p, "IGNORE") || is_kw(p, "RESPECT")) {
        e->ignore_nulls = is_kw(p, "IGNORE");
        next(p);
        if (!expect_kw(p, "NULLS")) return false;
    }
    if (accept_kw(p, "OVER")) {
        if (is_op(p, "(")) {
            e->over = parse_window_spec(p);
            if (!e->over) return false;
        } else {
            e->over_name = expect_ident(p);
            if (!e->over_name) return false;
        }
    }
    return true;
}

static sl_sql_expr_t *parse_call(parser_t *p, const char *name, const sl_sql_pos_t *start) {
    sl_sql_expr_t *e = node(p, SL_SQL_E_FUNC, start);
    if (!e) return NULL;
    e->parts[0] = name;
    e->nparts = 1;
    e->parens = true;
    vec_t args = {0};
    /* the opening '(' is consumed */
    if ((strcmp(name, "FLOOR") == 0 || strcmp(name, "CEIL") == 0 || strcmp(name, "CEILING") == 0)) {
        if (strcmp(name, "CEILING") == 0) e->parts[0] = "CEIL";
        sl_sql_expr_t *x = parse_expr(p);
        if (!x || !vec_push(p, &args, x)) return NULL;
        if (accept_kw(p, "TO")) {
            e->unit = (uint8_t)unit_of(peek(p, 0));
            if (!e->unit || e->unit == SL_SQL_UNIT_MILLISECOND) {
                fail_here(p);
                return NULL;
            }
            next(p);
        }
    } else if (strcmp(name, "STEP") == 0) {
        sl_sql_expr_t *x = parse_expr(p);
        if (!x || !vec_push(p, &args, x) || !expect_kw(p, "BY")) return NULL;
        sl_sql_expr_t *by = parse_expr(p);
        if (!by || !vec_push(p, &args, by)) return NULL;
    } else if (strcmp(name, "EXTRACT") == 0) {
        e->unit = (uint8_t)unit_of(peek(p, 0));
        if (!e->unit || e->unit == SL_SQL_UNIT_MILLISECOND) {
            fail_here(p);
            return NULL;
        }
        next(p);
        if (!expect_kw(p, "FROM")) return NULL;
        sl_sql_expr_t *x = parse_expr(p);
        if (!x || !vec_push(p, &args, x)) return NULL;
    } else if (strcmp(name, "POSITION") == 0) {
        sl_sql_expr_t *x = parse_add(p); /* not parse_expr: IN ends the needle */
        if (!x || !vec_push(p, &args, x) || !expect_kw(p, "IN")) return NULL;
        sl_sql_expr_t *y = parse_expr(p);
        if (!y || !vec_push(p, &args, y)) return NULL;
    } else if (strcmp(name, "SUBSTRING") == 0 || strcmp(name, "OVERLAY") == 0) {
        bool overlay = name[0] == 'O';
        sl_sql_expr_t *x = parse_expr(p);
        if (!x || !vec_push(p, &args, x)) return NULL;
        if (overlay) {
            if (!expect_kw(p, "PLACING")) return NULL;
            sl_sql_expr_t *r = parse_expr(p);
            if (!r || !vec_push(p, &args, r)) return NULL;
        }
        if (overlay || is_kw(p, "FROM")) {
            if (!expect_kw(p, "FROM")) return NULL;
            sl_sql_expr_t *a = parse_expr(p);
            if (!a || !vec_push(p, &args, a)) return NULL;
            if (accept_kw(p, "FOR")) {
                sl_sql_expr_t *b = parse_expr(p);
                if (!b || !vec_push(p, &args, b)) return NULL;
            }
        } else {
            while (accept_op(p, ",")) {
                sl_sql_expr_t *a = parse_expr(p);
                if (!a || !vec_push(p, &args, a)) return NULL;
            }
        }
    } else if (strcmp(name, "TRIM") == 0) {
        e->unit = SL_SQL_TRIM_BOTH;
        bool mode = false;
        if (is_kw(p, "BOTH") || is_kw(p, "LEADING") || is_kw(p, "TRAILING")) {
            e->unit = is_kw(p, "BOTH")      ? SL_SQL_TRIM_BOTH
                      : is_kw(p, "LEADING") ? SL_SQL_TRIM_LEADING
                                            : SL_SQL_TRIM_TRAILING;
            next(p);
            mode = true;
        }
        sl_sql_expr_t *chars = NULL, *s = NULL;
        if (accept_kw(p, "FROM")) {
            s = parse_expr(p);
        } else {
            sl_sql_expr_t *x = parse_expr(p);
            if (!x) return NULL;
            if (accept_kw(p, "FROM")) {
                chars = x;
                s = parse_expr(p);
            } else if (mode) {
                fail_here(p);
                return NULL;
            } else {
                s = x;
            }
        }
        if (!s || !vec_push(p, &args, s)) return NULL;
        if (chars && !vec_push(p, &args, chars)) return NULL;
    } else if (strcmp(name, "COUNT") == 0 && is_op(p, "*")) {
        next(p);
        e->count_star = true;
    } else if (strcmp(name, "CURSOR") == 0) {
        e->kind = SL_SQL_E_CURSOR;
        e->query = parse_query(p);
        if (!e->query) return NULL;
    } else if (!is_op(p, ")")) {
        if (accept_kw(p, "DISTINCT"))
            e->distinct = true;
        else
            accept_kw(p, "ALL");
        do {
            sl_sql_expr_t *x = parse_expr(p);
            if (!x || !vec_push(p, &args, x)) return NULL;
        } while (accept_op(p, ","));
    }
    if (!expect_op(p, ")")) return NULL;
    if (strcmp(name, "NTH_VALUE") == 0 && accept_kw(p, "FROM")) {
        if (is_kw(p, "FIRST") || is_kw(p, "LAST")) {
            e->from_last = is_kw(p, "LAST");
            next(p);
        } else {
            fail_here(p);
            return NULL;
        }
    }
    if (!set_args(p, e, &args) || !parse_call_tail(p, e)) return NULL;
    end_pos(p, &e->pos);
    return e;
}

static sl_sql_expr_t *parse_case(parser_t *p, const sl_sql_pos_t *start) {
    sl_sql_expr_t *e = node(p, SL_SQL_E_CASE, start);
    if (!e) return NULL;
    vec_t args = {0};
    if (!is_kw(p, "WHEN")) {
        sl_sql_expr_t *x = parse_expr(p);
        if (!x || !vec_push(p, &args, x)) return NULL;
        e->has_operand = true;
    }
    if (!is_kw(p, "WHEN")) {
        fail_here(p);
        return NULL;
    }
    while (accept_kw(p, "WHEN")) {
        sl_sql_expr_t *w = parse_expr(p);
        if (!w || !vec_push(p, &args, w) || !expect_kw(p, "THEN")) return NULL;
        sl_sql_expr_t *t = parse_expr(p);
        if (!t || !vec_push(p, &args, t)) return NULL;
    }
    if (accept_kw(p, "ELSE")) {
        sl_sql_expr_t *x = parse_expr(p);
        if (!x || !vec_push(p, &args, x)) return NULL;
        e->has_else = true;
    }
    if (!expect_kw(p, "END") || !set_args(p, e, &args)) return NULL;
    end_pos(p, &e->pos);
    return e;
}

static bool number_value(const token_t *t, sl_sql_value_t *v) {
    memset(v, 0, sizeof *v);
    bool integral = true;
    for (size_t i = 0; i < t->len; i++)
        if (!isdigit((unsigned char)t->text[i])) integral = false;
    if (integral) {
        errno = 0;
        unsigned long long u = strtoull(t->text, NULL, 10);
        if (errno == 0 && u <= INT64_MAX) {
            v->kind = u <= INT32_MAX ? SL_SQL_INTEGER : SL_SQL_BIGINT;
            v->u.i = (int64_t)u;
            return true;
        }
    }
    bool exact = !memchr(t->text, 'e', t->len) && !memchr(t->text, 'E', t->len);
    errno = 0;
    double d = strtod(t->text, NULL);
    if (errno == ERANGE && !isfinite(d)) return false;
    v->kind = exact ? SL_SQL_DECIMAL : SL_SQL_DOUBLE;
    v->u.d = d;
    return true;
}

/* Typed literals DATE '..', TIME '..', TIMESTAMP '..' are kept as CASTs of the string; the
 * planner folds them and reports bad text. */
static sl_sql_expr_t *typed_literal(parser_t *p, int kind, const sl_sql_pos_t *start) {
    const token_t *t = peek(p, 0);
    sl_sql_expr_t *s = node(p, SL_SQL_E_LIT, NULL);
    if (!s) return NULL;
    s->value.kind = SL_SQL_VARCHAR;
    s->value.u.s.ptr = t->text;
    s->value.u.s.len = (uint32_t)t->len;
    next(p);
    end_pos(p, &s->pos);
    sl_sql_expr_t *e = node(p, SL_SQL_E_CAST, start);
    if (!e) return NULL;
    e->type.kind = (uint8_t)kind;
    e->args = alloc(p, sizeof *e->args);
    if (!e->args) return NULL;
    e->args[0] = s;
    e->nargs = 1;
    end_pos(p, &e->pos);
    return e;
}

static sl_sql_expr_t *parse_primary(parser_t *p) {
    sl_sql_pos_t start;
    start_pos(p, &start);
    const token_t *t = peek(p, 0);
    if (t->kind == TK_NUMBER) {
        sl_sql_expr_t *e = node(p, SL_SQL_E_LIT, &start);
        if (!e) return NULL;
        if (!number_value(t, &e->value)) {
            fail_at(p, tok_pos(t), "Numeric literal '%.*s' out of range", (int)SL_MIN(t->len, 64u),
                    t->text);
            return NULL;
        }
        next(p);
        end_pos(p, &e->pos);
        return e;
    }
    if (t->kind == TK_STRING) {
        sl_sql_expr_t *e = node(p, SL_SQL_E_LIT, &start);
        if (!e) return NULL;
        e->value.kind = SL_SQL_CHAR;
        e->value.u.s.ptr = t->text;
        e->value.u.s.len = (uint32_t)t->len;
        next(p);
        /* adjacent literals concatenate: 'a' 'b' */
        while (peek(p, 0)->kind == TK_STRING && peek(p, 0)->line > prev(p)->end_line) {
            const token_t *u = peek(p, 0);
            char *joined = sl_arena_alloc(p->arena, e->value.u.s.len + u->len + 1);
            if (!joined) {
                fail_at(p, e->pos, "out of memory");
                return NULL;
            }
            memcpy(joined, e->value.u.s.ptr, e->value.u.s.len);
            memcpy(joined + e->value.u.s.len, u->text, u->len);
            e->value.u.s.ptr = joined;
            e->value.u.s.len += (uint32_t)u->len;
            next(p);
        }
        end_pos(p, &e->pos);
        return e;
    }
    if (t->kind == TK_BINARY) {
        if (t->len % 2) {
            fail_at(p, tok_pos(t), "Binary literal string must contain an even number of hexits");
            return NULL;
        }
        sl_sql_expr_t *e = node(p, SL_SQL_E_LIT, &start);
        char *bytes = sl_arena_alloc(p->arena, t->len / 2 + 1);
        if (!e || !bytes) return NULL;
        for (size_t i = 0; i < t->len / 2; i++)
            bytes[i] = (char)(hexval((unsigned char)t->text[2 * i]) * 16 +
                              hexval((unsigned char)t->text[2 * i + 1]));
        e->value.kind = SL_SQL_VARBINARY;
        e->value.u.s.ptr = bytes;
        e->value.u.s.len = (uint32_t)(t->len / 2);
        next(p);
        end_pos(p, &e->pos);
        return e;
    }
    if (t->kind == TK_OP && strcmp(t->text, "(") == 0) {
        next(p);
        sl_sql_expr_t *e = parse_expr(p);
        if (!e || !expect_op(p, ")")) return NULL;
        /* (SYS_LOG_PARSE(x)).COLUMN2: a field of the row the bracketed expression returns, as
         * the SQL reference's log-parsing examples write it; a path (x).a.b reads nested rows */
        int links = 0; /* at most two, as a column path's a.b.c: the tree stays shallow */
        while (is_op(p, ".")) {
            next(p);
            if (peek(p, 0)->kind != TK_IDENT || ++links > 2) {
                fail_here(p);
                return NULL;
            }
            sl_sql_expr_t *f = node(p, SL_SQL_E_FIELD, &start);
            if (!f) return NULL;
            f->args = alloc(p, sizeof *f->args);
            if (!f->args) return NULL;
            f->args[0] = e;
            f->nargs = 1;
            f->parts[0] = peek(p, 0)->text;
            f->nparts = 1;
            next(p);
            end_pos(p, &f->pos);
            e = f;
        }
        return e;
    }
    if (t->kind == TK_OP && strcmp(t->text, "*") == 0) {
        sl_sql_expr_t *e = node(p, SL_SQL_E_STAR, &start);
        if (!e) return NULL;
        next(p);
        end_pos(p, &e->pos);
        return e;
    }
    if (t->kind != TK_IDENT) {
        fail_here(p);
        return NULL;
    }
    if (!t->quoted) {
        if (strcmp(t->text, "NULL") == 0 || strcmp(t->text, "TRUE") == 0 ||
            strcmp(t->text, "FALSE") == 0 || strcmp(t->text, "UNKNOWN") == 0) {
            sl_sql_expr_t *e = node(p, SL_SQL_E_LIT, &start);
            if (!e) return NULL;
            if (t->text[0] == 'N' || t->text[0] == 'U') {
                e->value.kind = t->text[0] == 'N' ? SL_SQL_NULL : SL_SQL_BOOLEAN;
                e->value.null = true;
            } else {
                e->value.kind = SL_SQL_BOOLEAN;
                e->value.u.b = t->text[0] == 'T';
            }
            next(p);
            end_pos(p, &e->pos);
            return e;
        }
        if (strcmp(t->text, "INTERVAL") == 0) {
            next(p);
            sl_sql_expr_t *e = node(p, SL_SQL_E_LIT, &start);
            if (!e || !parse_interval(p, &e->value, &e->pos)) return NULL;
            return e;
        }
        if ((strcmp(t->text, "DATE") == 0 || strcmp(t->text, "TIME") == 0 ||
             strcmp(t->text, "TIMESTAMP") == 0) &&
            peek(p, 1)->kind == TK_STRING) {
            int kind = t->text[1] == 'A' ? SL_SQL_DATE
                       : t->len == 4     ? SL_SQL_TIME
                                         : SL_SQL_TIMESTAMP;
            next(p);
            return typed_literal(p, kind, &start);
        }
        if (strcmp(t->text, "CASE") == 0) {
            next(p);
            return parse_case(p, &start);
        }
        if (strcmp(t->text, "CAST") == 0) {
            next(p);
            sl_sql_expr_t *e = node(p, SL_SQL_E_CAST, &start);
            if (!e || !expect_op(p, "(")) return NULL;
            e->args = alloc(p, sizeof *e->args);
            if (!e->args) return NULL;
            e->args[0] = parse_expr(p);
            e->nargs = 1;
            if (!e->args[0] || !expect_kw(p, "AS") || !parse_type(p, &e->type) ||
                !expect_op(p, ")"))
                return NULL;
            end_pos(p, &e->pos);
            return e;
        }
        if (strcmp(t->text, "CURSOR") == 0 && peek(p, 1)->kind == TK_OP &&
            strcmp(peek(p, 1)->text, "(") == 0) {
            next(p);
            next(p);
            return parse_call(p, "CURSOR", &start);
        }
        if (reserved(t)) {
            fail_here(p);
            return NULL;
        }
    }
    /* identifier: a function call, or a column path a[.b[.c]] */
    const char *first = t->text;
    next(p);
    if (!t->quoted && is_op(p, "(")) {
        next(p);
        return parse_call(p, first, &start);
    }
    if (!t->quoted && niladic(first)) {
        sl_sql_expr_t *e = node(p, SL_SQL_E_FUNC, &start);
        if (!e) return NULL;
        e->parts[0] = first;
        e->nparts = 1;
        end_pos(p, &e->pos);
        return e;
    }
    sl_sql_expr_t *e = node(p, SL_SQL_E_COL, &start);
    if (!e) return NULL;
    e->parts[0] = first;
    e->nparts = 1;
    while (is_op(p, ".")) {
        next(p);
        if (is_op(p, "*")) {
            next(p);
            e->kind = SL_SQL_E_STAR;
            break;
        }
        if (peek(p, 0)->kind != TK_IDENT || e->nparts == 3) {
            fail_here(p);
            return NULL;
        }
        e->parts[e->nparts++] = peek(p, 0)->text;
        next(p);
    }
    end_pos(p, &e->pos);
    return e;
}

static sl_sql_expr_t *parse_unary(parser_t *p) {
    if (is_op(p, "-") || is_op(p, "+")) {
        sl_sql_pos_t start;
        start_pos(p, &start);
        bool neg = is_op(p, "-");
        next(p);
        if (!enter(p)) return NULL;
        sl_sql_expr_t *x = parse_unary(p);
        p->depth--;
        if (!x) return NULL;
        /* fold a negated number literal, so -9223372036854775808 style limits work */
        if (neg && x->kind == SL_SQL_E_LIT && !x->value.null &&
            (x->value.kind == SL_SQL_INTEGER || x->value.kind == SL_SQL_BIGINT ||
             x->value.kind == SL_SQL_DECIMAL || x->value.kind == SL_SQL_DOUBLE)) {
            if (x->value.kind == SL_SQL_DECIMAL || x->value.kind == SL_SQL_DOUBLE)
                x->value.u.d = -x->value.u.d;
            else
                x->value.u.i = -x->value.u.i;
            x->pos.line = start.line;
            x->pos.col = start.col;
            return x;
        }
        sl_sql_expr_t *e = node(p, SL_SQL_E_UNARY, &start);
        if (!e) return NULL;
        e->op = neg ? SL_SQL_OP_NEG : SL_SQL_OP_PLUS;
        e->args = alloc(p, sizeof *e->args);
        if (!e->args) return NULL;
        e->args[0] = x;
        e->nargs = 1;
        end_pos(p, &e->pos);
        return e;
    }
    return parse_primary(p);
}

static sl_sql_expr_t *parse_mul(parser_t *p) {
    sl_sql_expr_t *l = parse_unary(p);
    while (l && (is_op(p, "*") || is_op(p, "/"))) {
        int op = is_op(p, "*") ? SL_SQL_OP_MUL : SL_SQL_OP_DIV;
        next(p);
        l = binary(p, op, l, parse_unary(p));
    }
    return l;
}

static sl_sql_expr_t *parse_add(parser_t *p) {
    sl_sql_expr_t *l = parse_mul(p);
    while (l && (is_op(p, "+") || is_op(p, "-") || is_op(p, "||"))) {
        int op = is_op(p, "+") ? SL_SQL_OP_ADD : is_op(p, "-") ? SL_SQL_OP_SUB : SL_SQL_OP_CONCAT;
        next(p);
        l = binary(p, op, l, parse_mul(p));
    }
    return l;
}

static sl_sql_expr_t *parse_cmp(parser_t *p) {
    sl_sql_expr_t *l = parse_add(p);
    if (!l) return NULL;
    for (;;) {
        static const struct {
            const char *text;
            int op;
        } cmps[] = {{"=", SL_SQL_OP_EQ}, {"<>", SL_SQL_OP_NE}, {"!=", SL_SQL_OP_NE},
                    {"<", SL_SQL_OP_LT}, {"<=", SL_SQL_OP_LE}, {">", SL_SQL_OP_GT},
                    {">=", SL_SQL_OP_GE}};
        size_t i = 0;
        for (; i < SL_ARRAY_LEN(cmps); i++)
            if (is_op(p, cmps[i].text)) break;
        if (i < SL_ARRAY_LEN(cmps)) {
            next(p);
            l = binary(p, cmps[i].op, l, parse_add(p));
            if (!l) return NULL;
            continue;
        }
        if (is_kw(p, "IS")) {
            next(p);
            bool neg = accept_kw(p, "NOT");
            int op;
            if (accept_kw(p, "NULL")) {
                op = neg ? SL_SQL_OP_IS_NOT_NULL : SL_SQL_OP_IS_NULL;
            } else if (accept_kw(p, "TRUE")) {
                op = neg ? SL_SQL_OP_IS_NOT_TRUE : SL_SQL_OP_IS_TRUE;
            } else if (accept_kw(p, "FALSE")) {
                op = neg ? SL_SQL_OP_IS_NOT_FALSE : SL_SQL_OP_IS_FALSE;
            } else if (accept_kw(p, "UNKNOWN")) {
                op = neg ? SL_SQL_OP_IS_NOT_UNKNOWN : SL_SQL_OP_IS_UNKNOWN;
            } else if (accept_kw(p, "DISTINCT")) {
                if (!expect_kw(p, "FROM")) return NULL;
                l = binary(p, neg ? SL_SQL_OP_NOT_DISTINCT_FROM : SL_SQL_OP_DISTINCT_FROM, l,
                           parse_add(p));
                if (!l) return NULL;
                continue;
            } else {
                fail_here(p);
                return NULL;
            }
            sl_sql_expr_t *e = node(p, SL_SQL_E_UNARY, &l->pos);
            if (!e) return NULL;
            e->op = (uint8_t)op;
            e->args = alloc(p, sizeof *e->args);
            if (!e->args) return NULL;
            e->args[0] = l;
            e->nargs = 1;
            end_pos(p, &e->pos);
            l = e;
            continue;
        }
        bool neg = false;
        size_t save = p->at;
        if (is_kw(p, "NOT")) {
            next(p);
            neg = true;
        }
        if (is_kw(p, "BETWEEN")) {
            next(p);
            sl_sql_expr_t *e = node(p, SL_SQL_E_BETWEEN, &l->pos);
            if (!e) return NULL;
            e->negated = neg;
            if (accept_kw(p, "SYMMETRIC"))
                e->symmetric = true;
            else
                accept_kw(p, "ASYMMETRIC");
            e->args = alloc(p, 3 * sizeof *e->args);
            if (!e->args) return NULL;
            e->args[0] = l;
            e->args[1] = parse_add(p);
            if (!e->args[1] || !expect_kw(p, "AND")) return NULL;
            e->args[2] = parse_add(p);
            if (!e->args[2]) return NULL;
            e->nargs = 3;
            end_pos(p, &e->pos);
            l = e;
            continue;
        }
        if (is_kw(p, "IN")) {
            next(p);
            sl_sql_expr_t *e = node(p, SL_SQL_E_IN, &l->pos);
            if (!e || !expect_op(p, "(")) return NULL;
            e->negated = neg;
            vec_t args = {0};
            if (!vec_push(p, &args, l)) return NULL;
            do {
                sl_sql_expr_t *x = parse_expr(p);
                if (!x || !vec_push(p, &args, x)) return NULL;
            } while (accept_op(p, ","));
            if (!expect_op(p, ")") || !set_args(p, e, &args)) return NULL;
            end_pos(p, &e->pos);
            l = e;
            continue;
        }
        if (is_kw(p, "LIKE") || (is_kw(p, "SIMILAR") && is_kw_tok(peek(p, 1), "TO"))) {
            sl_sql_expr_t *e = node(p, SL_SQL_E_LIKE, &l->pos);
            if (!e) return NULL;
            e->similar = is_kw(p, "SIMILAR");
            next(p);
            if (e->similar) next(p);
            e->negated = neg;
            vec_t args = {0};
            sl_sql_expr_t *pat = parse_add(p);
            if (!pat || !vec_push(p, &args, l) || !vec_push(p, &args, pat)) return NULL;
            if (accept_kw(p, "ESCAPE")) {
                sl_sql_expr_t *esc = parse_add(p);
                if (!esc || !vec_push(p, &args, esc)) return NULL;
            }
            if (!set_args(p, e, &args)) return NULL;
            end_pos(p, &e->pos);
            l = e;
            continue;
        }
        if (neg) {
            p->at = save;
            fail_here(p);
            return NULL;
        }
        return l;
    }
}

static sl_sql_expr_t *parse_not(parser_t *p) {
    if (is_kw(p, "NOT")) {
        sl_sql_pos_t start;
        start_pos(p, &start);
        next(p);
        if (!enter(p)) return NULL;
        sl_sql_expr_t *x = parse_not(p);
        p->depth--;
        if (!x) return NULL;
        sl_sql_expr_t *e = node(p, SL_SQL_E_UNARY, &start);
        if (!e) return NULL;
        e->op = SL_SQL_OP_NOT;
        e->args = alloc(p, sizeof *e->args);
        if (!e->args) return NULL;
        e->args[0] = x;
        e->nargs = 1;
        end_pos(p, &e->pos);
        return e;
    }
    return parse_cmp(p);
}

static sl_sql_expr_t *parse_and(parser_t *p) {
    sl_sql_expr_t *l = parse_not(p);
    while (l && is_kw(p, "AND")) {
        next(p);
        l = binary(p, SL_SQL_OP_AND, l, parse_not(p));
    }
    return l;
}

static sl_sql_expr_t *parse_expr(parser_t *p) {
    if (p->failed || !enter(p)) return NULL;
    sl_sql_expr_t *l = parse_and(p);
    while (l && is_kw(p, "OR")) {
        next(p);
        l = binary(p, SL_SQL_OP_OR, l, parse_and(p));
    }
    p->depth--;
    return p->failed ? NULL : l;
}

static bool parse_expr_list(parser_t *p, sl_sql_expr_t ***out, size_t *n) {
    vec_t v = {0};
    do {
        sl_sql_expr_t *x = parse_expr(p);
        if (!x || !vec_push(p, &v, x)) return false;
    } while (accept_op(p, ","));
    *out = (sl_sql_expr_t **)v.v;
    *n = v.n;
    return true;
}

/* --- windows, FROM, SELECT, queries -------------------------------------------------------- */

/* RANGE INTERVAL '..' unit PRECEDING, the RANGE keyword consumed; returns ms. */
static bool range_interval(parser_t *p, int64_t *ms) {
    sl_sql_pos_t pos;
    start_pos(p, &pos);
    if (!expect_kw(p, "INTERVAL")) return false;
    sl_sql_value_t v;
    if (!parse_interval(p, &v, &pos)) return false;
    if (v.kind != SL_SQL_INTERVAL_DT || v.u.i < 0) {
        fail_at(p, pos, "Only non-negative day-time intervals are allowed in a window's RANGE");
        return false;
    }
    *ms = v.u.i;
    return true;
}

/* '(' [PARTITION BY ...] (ROWS|RANGE) ... [ORDER BY ...] ')' */
static sl_sql_window_t *parse_window_spec(parser_t *p) {
    sl_sql_window_t *w = alloc(p, sizeof *w);
    if (!w) return NULL;
    start_pos(p, &w->pos);
    if (!expect_op(p, "(")) return NULL;
    bool have_frame = false;
    for (;;) {
        if (is_kw(p, "PARTITION")) {
            next(p);
            if (!expect_kw(p, "BY") || !parse_expr_list(p, &w->partition, &w->npartition))
                return NULL;
        } else if (is_kw(p, "ORDER")) {
            next(p);
            if (!expect_kw(p, "BY") || !parse_expr_list(p, &w->order, &w->norder)) return NULL;
        } else if (!have_frame && (is_kw(p, "ROWS") || is_kw(p, "RANGE"))) {
            w->rows = is_kw(p, "ROWS");
            next(p);
            have_frame = true;
            w->framed = true;
            bool between = accept_kw(p, "BETWEEN");
            if (accept_kw(p, "CURRENT")) {
                if (!expect_kw(p, "ROW")) return NULL;
                w->current_row = true;
            } else if (accept_kw(p, "UNBOUNDED")) {
                fail_at(p, w->pos, "UNBOUNDED PRECEDING is not allowed in a streaming window");
                return NULL;
            } else if (w->rows) {
                int64_t n;
                const token_t *nt = peek(p, 0);
                if (!parse_int_tok(nt, &n)) {
                    fail_here(p);
                    return NULL;
                }
                next(p);
                w->rows_n = n;
                if (!expect_kw(p, "PRECEDING")) return NULL;
            } else {
                if (!range_interval(p, &w->range_ms) || !expect_kw(p, "PRECEDING")) return NULL;
            }
            if (between) {
                if (!expect_kw(p, "AND") || !expect_kw(p, "CURRENT") || !expect_kw(p, "ROW"))
                    return NULL;
            }
        } else {
            break;
        }
    }
    if (!expect_op(p, ")")) return NULL;
    end_pos(p, &w->pos);
    return w;
}

static bool parse_from_item(parser_t *p, sl_sql_from_t *f) {
    start_pos(p, &f->pos);
    if (is_op(p, "(")) {
        next(p);
        f->kind = SL_SQL_FROM_QUERY;
        if (!enter(p)) return false;
        f->query = parse_query(p);
        p->depth--;
        if (!f->query || !expect_op(p, ")")) return false;
    } else if (is_kw(p, "TABLE")) {
        next(p);
        f->kind = SL_SQL_FROM_TABLE_FN;
        if (!expect_op(p, "(")) return false;
        f->fn = parse_expr(p);
        if (!f->fn) return false;
        if (f->fn->kind != SL_SQL_E_FUNC || !f->fn->parens) {
            fail_at(p, f->fn->pos, "Non-query expression encountered in illegal context");
            return false;
        }
        if (!expect_op(p, ")")) return false;
    } else {
        f->kind = SL_SQL_FROM_STREAM;
        f->name = expect_ident(p);
        if (!f->name) return false;
        if (is_op(p, ".")) { /* schema-qualified: keep the last part */
            next(p);
            f->name = expect_ident(p);
            if (!f->name) return false;
        }
        if (accept_kw(p, "OVER")) {
            if (is_op(p, "(")) {
                f->over = parse_window_spec(p);
                if (!f->over) return false;
            } else {
                f->over_name = expect_ident(p);
                if (!f->over_name) return false;
            }
        }
    }
    if (accept_kw(p, "AS")) {
        f->alias = expect_ident(p);
        if (!f->alias) return false;
    } else if (is_ident(p) && !is_kw(p, "WINDOWED") && !is_kw(p, "NATURAL")) {
        f->alias = expect_ident(p);
    }
    if (f->alias && is_op(p, "(")) {
        next(p);
        vec_t cols = {0};
        do {
            const char *c = expect_ident(p);
            if (!c || !vec_push(p, &cols, (void *)c)) return false;
        } while (accept_op(p, ","));
        if (!expect_op(p, ")")) return false;
        f->col_aliases = (const char **)cols.v;
        f->ncol_aliases = cols.n;
    }
    end_pos(p, &f->pos);
    return !p->failed;
}

static int parse_join_kind(parser_t *p) {
    if (accept_kw(p, "JOIN")) return SL_SQL_JOIN_INNER;
    if (is_kw(p, "INNER") && is_kw_tok(peek(p, 1), "JOIN")) {
        next(p);
        next(p);
        return SL_SQL_JOIN_INNER;
    }
    if (is_kw(p, "CROSS") && is_kw_tok(peek(p, 1), "JOIN")) {
        next(p);
        next(p);
        return SL_SQL_JOIN_CROSS;
    }
    int kind = is_kw(p, "LEFT")    ? SL_SQL_JOIN_LEFT
               : is_kw(p, "RIGHT") ? SL_SQL_JOIN_RIGHT
               : is_kw(p, "FULL")  ? SL_SQL_JOIN_FULL
                                   : 0;
    if (!kind) return 0;
    next(p);
    accept_kw(p, "OUTER");
    if (!expect_kw(p, "JOIN")) return -1;
    return kind;
}

static sl_sql_select_t *parse_select(parser_t *p) {
    sl_sql_select_t *s = alloc(p, sizeof *s);
    if (!s) return NULL;
    start_pos(p, &s->pos);
    if (!expect_kw(p, "SELECT")) return NULL;
    s->stream = accept_kw(p, "STREAM");
    if (accept_kw(p, "DISTINCT"))
        s->distinct = true;
    else
        accept_kw(p, "ALL");
    size_t cap = 0;
    do {
        sl_sql_expr_t *x = parse_expr(p);
        if (!x) return NULL;
        if (s->nitems == cap) {
            cap = cap ? cap * 2 : 8;
            sl_sql_item_t *grown = alloc(p, cap * sizeof *grown);
            if (!grown) return NULL;
            if (s->nitems) memcpy(grown, s->items, s->nitems * sizeof *grown);
            s->items = grown;
        }
        sl_sql_item_t *it = &s->items[s->nitems++];
        it->expr = x;
        if (accept_kw(p, "AS")) {
            it->alias = expect_ident(p);
            if (!it->alias) return NULL;
        } else if (is_ident(p)) {
            it->alias = expect_ident(p);
        }
    } while (accept_op(p, ","));
    if (!expect_kw(p, "FROM")) return NULL;
    size_t fcap = 0;
    for (;;) {
        int join = s->nfrom == 0 ? SL_SQL_JOIN_NONE : 0;
        if (s->nfrom > 0) {
            if (accept_op(p, ","))
                join = SL_SQL_JOIN_CROSS;
            else
                join = parse_join_kind(p);
            if (join < 0) return NULL;
            if (join == 0) break;
        }
        if (s->nfrom == fcap) {
            fcap = fcap ? fcap * 2 : 2;
            sl_sql_from_t *grown = alloc(p, fcap * sizeof *grown);
            if (!grown) return NULL;
            if (s->nfrom) memcpy(grown, s->from, s->nfrom * sizeof *grown);
            s->from = grown;
        }
        sl_sql_from_t *f = &s->from[s->nfrom++];
        memset(f, 0, sizeof *f);
        f->join = (uint8_t)join;
        if (!parse_from_item(p, f)) return NULL;
        if (join != SL_SQL_JOIN_NONE && join != SL_SQL_JOIN_CROSS) {
            if (!expect_kw(p, "ON")) return NULL;
            f->on = parse_expr(p);
            if (!f->on) return NULL;
        }
    }
    if (accept_kw(p, "WHERE")) {
        s->where = parse_expr(p);
        if (!s->where) return NULL;
    }
    if (is_kw(p, "GROUP")) {
        next(p);
        if (!expect_kw(p, "BY") || !parse_expr_list(p, &s->group, &s->ngroup)) return NULL;
    } else if (is_kw(p, "WINDOWED")) {
        next(p);
        if (!expect_kw(p, "BY") || !expect_kw(p, "STAGGER") || !expect_op(p, "(") ||
            !expect_kw(p, "PARTITION") || !expect_kw(p, "BY") ||
            !parse_expr_list(p, &s->group, &s->ngroup) || !expect_kw(p, "RANGE") ||
            !range_interval(p, &s->stagger_ms) || !expect_op(p, ")"))
            return NULL;
        s->stagger = true;
    }
    if (accept_kw(p, "HAVING")) {
        s->having = parse_expr(p);
        if (!s->having) return NULL;
    }
    if (accept_kw(p, "WINDOW")) {
        vec_t ws = {0};
        do {
            const char *name = expect_ident(p);
            if (!name || !expect_kw(p, "AS")) return NULL;
            sl_sql_window_t *w = parse_window_spec(p);
            if (!w) return NULL;
            w->name = name;
            if (!vec_push(p, &ws, w)) return NULL;
        } while (accept_op(p, ","));
        s->windows = (sl_sql_window_t **)ws.v;
        s->nwindows = ws.n;
    }
    end_pos(p, &s->pos);
    return s;
}

static sl_sql_query_t *parse_query(parser_t *p) {
    if (p->failed || !enter(p)) return NULL;
    sl_sql_query_t *q = alloc(p, sizeof *q);
    if (!q) return NULL;
    start_pos(p, &q->pos);
    q->within_ms = -1;
    vec_t sels = {0};
    do {
        sl_sql_select_t *s;
        if (is_op(p, "(")) { /* a parenthesised SELECT in a UNION */
            next(p);
            s = parse_select(p);
            if (!s || !expect_op(p, ")")) return NULL;
        } else {
            s = parse_select(p);
        }
        if (!s || !vec_push(p, &sels, s)) return NULL;
        if (!is_kw(p, "UNION")) break;
        next(p);
        if (!expect_kw(p, "ALL")) return NULL;
    } while (true);
    q->selects = (sl_sql_select_t **)sels.v;
    q->nselects = sels.n;
    if (is_kw(p, "ORDER")) {
        next(p);
        if (!expect_kw(p, "BY")) return NULL;
        size_t cap = 0;
        do {
            sl_sql_expr_t *x = parse_expr(p);
            if (!x) return NULL;
            if (q->norder == cap) {
                cap = cap ? cap * 2 : 4;
                sl_sql_order_t *grown = alloc(p, cap * sizeof *grown);
                if (!grown) return NULL;
                if (q->norder) memcpy(grown, q->order, q->norder * sizeof *grown);
                q->order = grown;
            }
            sl_sql_order_t *o = &q->order[q->norder++];
            o->expr = x;
            if (accept_kw(p, "DESC"))
                o->desc = true;
            else
                accept_kw(p, "ASC");
        } while (accept_op(p, ","));
        if (accept_kw(p, "WITHIN")) {
            sl_sql_pos_t pos;
            start_pos(p, &pos);
            if (!expect_kw(p, "INTERVAL")) return NULL;
            sl_sql_value_t v;
            if (!parse_interval(p, &v, &pos)) return NULL;
            if (v.kind != SL_SQL_INTERVAL_DT || v.u.i < 0) {
                fail_at(p, pos, "WITHIN requires a non-negative day-time interval");
                return NULL;
            }
            q->within_ms = v.u.i;
        }
    }
    end_pos(p, &q->pos);
    p->depth--;
    return q;
}

static bool parse_insert(parser_t *p, sl_sql_stmt_t *st) {
    if (!expect_kw(p, "INSERT") || !expect_kw(p, "INTO")) return false;
    st->target = expect_ident(p);
    if (!st->target) return false;
    if (is_op(p, "(")) {
        next(p);
        vec_t cols = {0};
        do {
            const char *c = expect_ident(p);
            if (!c || !vec_push(p, &cols, (void *)c)) return false;
        } while (accept_op(p, ","));
        if (!expect_op(p, ")")) return false;
        st->target_cols = (const char **)cols.v;
        st->ntarget_cols = cols.n;
    }
    st->query = parse_query(p);
    return st->query != NULL;
}

static bool parse_stmt(parser_t *p, sl_sql_stmt_t *st) {
    start_pos(p, &st->pos);
    if (is_kw(p, "INSERT")) {
        st->kind = SL_SQL_STMT_INSERT;
        return parse_insert(p, st);
    }
    if (!expect_kw(p, "CREATE")) return false;
    if (accept_kw(p, "OR")) {
        if (!expect_kw(p, "REPLACE")) return false;
        st->or_replace = true;
    }
    if (accept_kw(p, "STREAM")) {
        st->kind = SL_SQL_STMT_CREATE_STREAM;
        st->name = expect_ident(p);
        if (!st->name || !expect_op(p, "(")) return false;
        size_t cap = 0;
        do {
            if (st->ncolumns == cap) {
                cap = cap ? cap * 2 : 8;
                sl_sql_column_t *grown = alloc(p, cap * sizeof *grown);
                if (!grown) return false;
                if (st->ncolumns) memcpy(grown, st->columns, st->ncolumns * sizeof *grown);
                st->columns = grown;
            }
            sl_sql_column_t *c = &st->columns[st->ncolumns++];
            c->name = expect_ident(p);
            if (!c->name || !parse_type(p, &c->type)) return false;
            if (is_kw(p, "NOT") && is_kw_tok(peek(p, 1), "NULL")) {
                next(p);
                next(p);
                c->type.not_null = true;
            } else {
                accept_kw(p, "NULL");
            }
        } while (accept_op(p, ","));
        if (!expect_op(p, ")")) return false;
        if (accept_kw(p, "DESCRIPTION")) {
            const token_t *t = peek(p, 0);
            if (t->kind != TK_STRING) {
                fail_here(p);
                return false;
            }
            st->description = t->text;
            next(p);
        }
        end_pos(p, &st->pos);
        return true;
    }
    if (accept_kw(p, "PUMP")) {
        st->kind = SL_SQL_STMT_CREATE_PUMP;
        st->name = expect_ident(p);
        if (!st->name) return false;
        if (accept_kw(p, "STOPPED"))
            st->stopped = true;
        else
            accept_kw(p, "STARTED");
        if (!expect_kw(p, "AS") || !parse_insert(p, st)) return false;
        end_pos(p, &st->pos);
        return true;
    }
    fail_here(p);
    return false;
}

static int begin(parser_t *p, const char *text, size_t len, sl_arena_t *arena,
                 sl_sql_error_t *err) {
    memset(p, 0, sizeof *p);
    memset(err, 0, sizeof *err);
    p->arena = arena;
    p->err = err;
    if (len > SL_ANALYTICS_CODE_MAX_CHARS) {
        snprintf(err->message, sizeof err->message, "Application code is longer than %d characters",
                 SL_ANALYTICS_CODE_MAX_CHARS);
        return SL_EINVAL;
    }
    int rc = lex(p, text, len);
    if (rc == SL_ENOMEM) return rc;
    return rc != 0 ? SL_EINVAL : 0;
}

int sl_sql_parse(const char *text, size_t len, sl_arena_t *arena, sl_sql_script_t *out,
                 sl_sql_error_t *err) {
    parser_t p;
    memset(out, 0, sizeof *out);
    int rc = begin(&p, text, len, arena, err);
    if (rc) return rc;
    size_t cap = 0;
    sl_sql_stmt_t *stmts = NULL;
    size_t n = 0;
    while (!p.failed) {
        while (accept_op(&p, ";")) {
        }
        if (peek(&p, 0)->kind == TK_EOF) break;
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            sl_sql_stmt_t *grown = alloc(&p, cap * sizeof *grown);
            if (!grown) break;
            if (n) memcpy(grown, stmts, n * sizeof *grown);
            stmts = grown;
        }
        sl_sql_stmt_t *st = &stmts[n++];
        memset(st, 0, sizeof *st);
        if (!parse_stmt(&p, st)) break;
        if (!is_op(&p, ";") && peek(&p, 0)->kind != TK_EOF) {
            fail_here(&p);
            break;
        }
    }
    if (p.failed) return SL_EINVAL;
    out->stmts = stmts;
    out->nstmts = n;
    return 0;
}

int sl_sql_parse_expr(const char *text, size_t len, sl_arena_t *arena, sl_sql_expr_t **out,
                      sl_sql_error_t *err) {
    parser_t p;
    *out = NULL;
    int rc = begin(&p, text, len, arena, err);
    if (rc) return rc;
    sl_sql_expr_t *e = parse_expr(&p);
    if (e && peek(&p, 0)->kind != TK_EOF) fail_here(&p);
    if (p.failed) return SL_EINVAL;
    *out = e;
    return 0;
}

int sl_sql_parse_type(const char *text, size_t len, sl_sql_type_t *out) {
    sl_arena_t a;
    sl_arena_init(&a, 1024);
    sl_sql_error_t err;
    parser_t p;
    int rc = begin(&p, text, len, &a, &err);
    if (rc == 0) {
        if (!parse_type(&p, out) || peek(&p, 0)->kind != TK_EOF) rc = SL_EINVAL;
    }
    sl_arena_deinit(&a);
    return rc;
}

const char *sl_sql_kind_name(int kind) {
    static const char *const names[SL_SQL_KIND_COUNT] = {
        [SL_SQL_NULL] = "NULL",
        [SL_SQL_BOOLEAN] = "BOOLEAN",
        [SL_SQL_TINYINT] = "TINYINT",
        [SL_SQL_SMALLINT] = "SMALLINT",
        [SL_SQL_INTEGER] = "INTEGER",
        [SL_SQL_BIGINT] = "BIGINT",
        [SL_SQL_DECIMAL] = "DECIMAL",
        [SL_SQL_REAL] = "REAL",
        [SL_SQL_DOUBLE] = "DOUBLE",
        [SL_SQL_CHAR] = "CHAR",
        [SL_SQL_VARCHAR] = "VARCHAR",
        [SL_SQL_BINARY] = "BINARY",
        [SL_SQL_VARBINARY] = "VARBINARY",
        [SL_SQL_DATE] = "DATE",
        [SL_SQL_TIME] = "TIME",
        [SL_SQL_TIMESTAMP] = "TIMESTAMP",
        [SL_SQL_INTERVAL_DT] = "INTERVAL DAY TO SECOND",
        [SL_SQL_INTERVAL_YM] = "INTERVAL YEAR TO MONTH",
        [SL_SQL_ROW] = "ROW",
    };
    return kind >= 0 && kind < SL_SQL_KIND_COUNT && names[kind] ? names[kind] : "ANY";
}

size_t sl_sql_type_format(const sl_sql_type_t *t, char *buf, size_t cap) {
    int n;
    switch (t->kind) {
    case SL_SQL_CHAR:
    case SL_SQL_VARCHAR:
    case SL_SQL_BINARY:
    case SL_SQL_VARBINARY:
        n = snprintf(buf, cap, "%s(%d)", sl_sql_kind_name(t->kind), (int)t->len);
        break;
    case SL_SQL_DECIMAL:
        n = snprintf(buf, cap, "DECIMAL(%d,%d)", (int)t->len, (int)t->scale);
        break;
    default:
        n = snprintf(buf, cap, "%s", sl_sql_kind_name(t->kind));
        break;
    }
    if (n < 0) return 0;
    return (size_t)n < cap ? (size_t)n : cap ? cap - 1 : 0;
}
