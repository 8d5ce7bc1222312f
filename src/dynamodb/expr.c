/* DynamoDB's expression language: tokenizer, parsers, evaluation and updates (see expr.h). */
#include "dynamodb/expr.h"

#include "core/common.h"
#include "dynamodb/number.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Bounds of one expression (DynamoDB: expressions up to 4 KB; document paths nest 32 deep). */
#define TOKENS_MAX 2048
#define PATH_DEPTH_MAX 32
#define NEST_MAX 64
#define IN_OPERANDS_MAX 100

typedef enum {
    T_EOF,
    T_NAME,
    T_HASH,
    T_COLON,
    T_NUM,
    T_LP,
    T_RP,
    T_COMMA,
    T_DOT,
    T_LB,
    T_RB,
    T_EQ,
    T_NE,
    T_LT,
    T_LE,
    T_GT,
    T_GE,
    T_PLUS,
    T_MINUS,
    T_BAD,
} tok_kind_t;

typedef struct {
    tok_kind_t kind;
    size_t start, len;
} tok_t;

typedef struct {
    sl_ddb_expr_ctx_t *ctx;
    const char *what;
    const char *text;
    size_t len;
    tok_t *toks;
    size_t count, pos;
    int depth;
    /* The first name error (reserved word, undefined placeholder): DynamoDB reports syntax
     * errors before these, so parsing goes on and this is reported when the syntax is right. */
    char deferred[512];
} parser_t;

static void vformat(parser_t *p, char *out, size_t cap, const char *fmt, va_list ap) {
    int n = snprintf(out, cap, "Invalid %s: ", p->what);
    if (n > 0 && (size_t)n < cap) vsnprintf(out + n, cap - (size_t)n, fmt, ap);
}

/* A syntax error: reported whatever else was found. */
static void fail_syntax(parser_t *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail_syntax(parser_t *p, const char *fmt, ...) {
    if (p->ctx->error[0]) return;
    va_list ap;
    va_start(ap, fmt);
    vformat(p, p->ctx->error, sizeof p->ctx->error, fmt, ap);
    va_end(ap);
}

/* A semantic error: a name error found earlier comes first. */
static void fail(parser_t *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(parser_t *p, const char *fmt, ...) {
    if (p->ctx->error[0]) return;
    if (p->deferred[0]) {
        snprintf(p->ctx->error, sizeof p->ctx->error, "%s", p->deferred);
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vformat(p, p->ctx->error, sizeof p->ctx->error, fmt, ap);
    va_end(ap);
}

static void defer(parser_t *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void defer(parser_t *p, const char *fmt, ...) {
    if (p->deferred[0]) return;
    va_list ap;
    va_start(ap, fmt);
    vformat(p, p->deferred, sizeof p->deferred, fmt, ap);
    va_end(ap);
}

/* At the end of a parse whose syntax is right: the deferred name error, if any. */
static int check_deferred(parser_t *p) {
    if (!p->deferred[0]) return 0;
    if (!p->ctx->error[0]) snprintf(p->ctx->error, sizeof p->ctx->error, "%s", p->deferred);
    return SL_EINVAL;
}

static bool is_word(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

static int tokenize(parser_t *p) {
    const char *s = p->text;
    size_t i = 0, n = 0;
    p->toks = sl_arena_calloc(p->ctx->arena, TOKENS_MAX + 1, sizeof(tok_t));
    if (!p->toks) return SL_ENOMEM;
    while (1) {
        while (i < p->len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
            i++;
        if (n >= TOKENS_MAX) {
            fail(p, "Expression size has exceeded the maximum allowed size");
            return SL_EINVAL;
        }
        tok_t *t = &p->toks[n++];
        t->start = i;
        if (i >= p->len) {
            t->kind = T_EOF;
            t->len = 0;
            break;
        }
        char c = s[i];
        size_t j = i + 1;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') {
            while (j < p->len && is_word(s[j]))
                j++;
            t->kind = T_NAME;
        } else if (c >= '0' && c <= '9') {
            while (j < p->len && s[j] >= '0' && s[j] <= '9')
                j++;
            t->kind = T_NUM;
        } else if (c == '#' || c == ':') {
            while (j < p->len && is_word(s[j]))
                j++;
            t->kind = j > i + 1 ? (c == '#' ? T_HASH : T_COLON) : T_BAD;
        } else {
            switch (c) {
            case '(':
                t->kind = T_LP;
                break;
            case ')':
                t->kind = T_RP;
                break;
            case ',':
                t->kind = T_COMMA;
                break;
            case '.':
                t->kind = T_DOT;
                break;
            case '[':
                t->kind = T_LB;
                break;
            case ']':
                t->kind = T_RB;
                break;
            case '=':
                t->kind = T_EQ;
                break;
            case '+':
                t->kind = T_PLUS;
                break;
            case '-':
                t->kind = T_MINUS;
                break;
            case '<':
                t->kind = T_LT;
                if (j < p->len && s[j] == '=')
                    t->kind = T_LE, j++;
                else if (j < p->len && s[j] == '>')
                    t->kind = T_NE, j++;
                break;
            case '>':
                t->kind = T_GT;
                if (j < p->len && s[j] == '=') t->kind = T_GE, j++;
                break;
            default:
                t->kind = T_BAD;
                /* one UTF-8 character */
                while (j < p->len && ((unsigned char)s[j] & 0xc0) == 0x80)
                    j++;
            }
        }
        t->len = j - i;
        i = j;
    }
    p->count = n;
    p->pos = 0;
    return 0;
}

static tok_t *cur(parser_t *p) {
    return &p->toks[p->pos];
}

/* DynamoDB's syntax error: the offending token and the text around it (from the token before
 * to the token after). */
static int syntax_error(parser_t *p) {
    tok_t *t = cur(p);
    size_t from = p->pos > 0 ? p->toks[p->pos - 1].start : t->start;
    size_t to = t->start + t->len;
    if (t->kind != T_EOF && p->pos + 1 < p->count && p->toks[p->pos + 1].kind != T_EOF)
        to = p->toks[p->pos + 1].start + p->toks[p->pos + 1].len;
    if (t->kind == T_EOF && p->pos > 0) to = p->toks[p->pos - 1].start + p->toks[p->pos - 1].len;
    if (t->kind == T_EOF)
        fail_syntax(p, "Syntax error; token: \"<EOF>\", near: \"%.*s\"", (int)(to - from),
                    p->text + from);
    else
        fail_syntax(p, "Syntax error; token: \"%.*s\", near: \"%.*s\"", (int)t->len,
                    p->text + t->start, (int)(to - from), p->text + from);
    return SL_EINVAL;
}

static bool is_kw(parser_t *p, const tok_t *t, const char *kw) {
    return t->kind == T_NAME && t->len == strlen(kw) &&
           strncasecmp(p->text + t->start, kw, t->len) == 0;
}

static bool tok_is(parser_t *p, const tok_t *t, const char *word) {
    return t->kind == T_NAME && t->len == strlen(word) &&
           memcmp(p->text + t->start, word, t->len) == 0;
}

static int expect(parser_t *p, tok_kind_t kind) {
    if (cur(p)->kind != kind) return syntax_error(p);
    p->pos++;
    return 0;
}

sl_ddb_expr_t *sl_ddb_expr_new(sl_arena_t *arena, sl_ddb_expr_kind_t kind, size_t arg_count) {
    sl_ddb_expr_t *e = sl_arena_calloc(arena, 1, sizeof *e);
    if (!e) return NULL;
    e->kind = kind;
    if (arg_count) {
        e->args = sl_arena_calloc(arena, arg_count, sizeof(sl_ddb_expr_t *));
        if (!e->args) return NULL;
    }
    e->arg_count = arg_count;
    return e;
}

sl_ddb_expr_t *sl_ddb_expr_path1(sl_arena_t *arena, const char *name, size_t len) {
    sl_ddb_expr_t *e = sl_ddb_expr_new(arena, SL_DDB_X_PATH, 0);
    if (!e) return NULL;
    e->path.elems = sl_arena_calloc(arena, 1, sizeof(sl_ddb_path_elem_t));
    if (!e->path.elems) return NULL;
    e->path.elems[0].name = name;
    e->path.elems[0].name_len = len;
    e->path.count = 1;
    return e;
}

sl_ddb_expr_t *sl_ddb_expr_value(sl_arena_t *arena, const sl_ddb_val_t *v) {
    sl_ddb_expr_t *e = sl_ddb_expr_new(arena, SL_DDB_X_VALUE, 0);
    if (e) e->value = v;
    return e;
}

/* ---- operands ---- */

static int parse_path(parser_t *p, sl_ddb_path_t *out) {
    sl_ddb_path_elem_t elems[PATH_DEPTH_MAX];
    size_t n = 0;
    bool first = true;
    while (1) {
        if (!first) {
            if (cur(p)->kind == T_DOT) {
                p->pos++;
            } else if (cur(p)->kind == T_LB) {
                p->pos++;
                tok_t *t = cur(p);
                if (t->kind != T_NUM) return syntax_error(p);
                if (n >= PATH_DEPTH_MAX) {
                    fail(p, "The document path has too many nesting levels; nesting levels: %zu",
                         n + 1);
                    return SL_EINVAL;
                }
                size_t idx = 0;
                for (size_t i = 0; i < t->len; i++)
                    if (idx < 100000000) idx = idx * 10 + (size_t)(p->text[t->start + i] - '0');
                elems[n++] = (sl_ddb_path_elem_t){.is_index = true, .index = idx};
                p->pos++;
                if (expect(p, T_RB)) return SL_EINVAL;
                continue;
            } else {
                break;
            }
        }
        first = false;
        tok_t *t = cur(p);
        if (n >= PATH_DEPTH_MAX) {
            fail(p, "The document path has too many nesting levels; nesting levels: %zu", n + 1);
            return SL_EINVAL;
        }
        if (t->kind == T_NAME) {
            /* The grammar's own keywords are tokens, not names: a syntax error here. */
            static const char *const keywords[] = {"AND", "OR",     "NOT", "BETWEEN", "IN",
                                                   "SET", "REMOVE", "ADD", "DELETE"};
            for (size_t k = 0; k < sizeof keywords / sizeof keywords[0]; k++)
                if (is_kw(p, t, keywords[k])) return syntax_error(p);
            if (sl_ddb_reserved(p->text + t->start, t->len))
                defer(p, "Attribute name is a reserved keyword; reserved keyword: %.*s",
                      (int)t->len, p->text + t->start);
            elems[n++] = (sl_ddb_path_elem_t){.name = p->text + t->start, .name_len = t->len};
        } else if (t->kind == T_HASH) {
            sl_ddb_placeholder_t *ph = NULL;
            for (size_t i = 0; i < p->ctx->name_count; i++)
                if (p->ctx->names[i].key_len == t->len &&
                    memcmp(p->ctx->names[i].key, p->text + t->start, t->len) == 0)
                    ph = &p->ctx->names[i];
            if (!ph) {
                defer(p,
                      "An expression attribute name used in the document path is not defined; "
                      "attribute name: %.*s",
                      (int)t->len, p->text + t->start);
                elems[n++] = (sl_ddb_path_elem_t){.name = p->text + t->start, .name_len = t->len};
            } else {
                ph->used = true;
                elems[n++] = (sl_ddb_path_elem_t){.name = ph->name, .name_len = ph->name_len};
            }
        } else {
            return syntax_error(p);
        }
        p->pos++;
    }
    out->elems = sl_arena_calloc(p->ctx->arena, n, sizeof *elems);
    if (!out->elems) return SL_ENOMEM;
    memcpy(out->elems, elems, n * sizeof *elems);
    out->count = n;
    return 0;
}

static int parse_value(parser_t *p, sl_ddb_expr_t **out) {
    tok_t *t = cur(p);
    sl_ddb_placeholder_t *ph = NULL;
    for (size_t i = 0; i < p->ctx->value_count; i++)
        if (p->ctx->values[i].key_len == t->len &&
            memcmp(p->ctx->values[i].key, p->text + t->start, t->len) == 0)
            ph = &p->ctx->values[i];
    static const sl_ddb_val_t undefined = {.type = SL_DDB_NULL};
    if (!ph)
        defer(p,
              "An expression attribute value used in expression is not defined; attribute value: "
              "%.*s",
              (int)t->len, p->text + t->start);
    else
        ph->used = true;
    p->pos++;
    *out = sl_ddb_expr_value(p->ctx->arena, ph ? ph->value : &undefined);
    return *out ? 0 : SL_ENOMEM;
}

typedef enum { FN_NONE, FN_BOOL, FN_SIZE, FN_UPDATE } fn_class_t;

static const struct {
    const char *name;
    sl_ddb_expr_kind_t kind;
    fn_class_t cls;
    size_t args;
} functions[] = {
    {"attribute_exists", SL_DDB_X_EXISTS, FN_BOOL, 1},
    {"attribute_not_exists", SL_DDB_X_NOT_EXISTS, FN_BOOL, 1},
    {"attribute_type", SL_DDB_X_TYPE, FN_BOOL, 2},
    {"begins_with", SL_DDB_X_BEGINS_WITH, FN_BOOL, 2},
    {"contains", SL_DDB_X_CONTAINS, FN_BOOL, 2},
    {"size", SL_DDB_X_SIZE, FN_SIZE, 1},
    {"if_not_exists", SL_DDB_X_IF_NOT_EXISTS, FN_UPDATE, 2},
    {"list_append", SL_DDB_X_LIST_APPEND, FN_UPDATE, 2},
};

static int find_function(parser_t *p, const tok_t *t) {
    for (size_t i = 0; i < sizeof functions / sizeof functions[0]; i++)
        if (tok_is(p, t, functions[i].name)) return (int)i;
    return -1;
}

static int parse_operand(parser_t *p, bool update, sl_ddb_expr_t **out);

/* fn '(' operand (',' operand)* ')' with the function's checks. */
static int parse_call(parser_t *p, int fi, bool update, sl_ddb_expr_t **out) {
    const char *name = functions[fi].name;
    p->pos += 2; /* name ( */
    sl_ddb_expr_t *args[8];
    size_t n = 0;
    if (++p->depth > NEST_MAX) return syntax_error(p);
    while (1) {
        if (n >= 8) return syntax_error(p);
        int rc = parse_operand(p, update, &args[n++]);
        if (rc) return rc;
        if (cur(p)->kind == T_COMMA) {
            p->pos++;
            continue;
        }
        if (expect(p, T_RP)) return SL_EINVAL;
        break;
    }
    p->depth--;
    if (n != functions[fi].args) {
        fail(p,
             "Incorrect number of operands for operator or function; operator or function: %s, "
             "number of operands: %zu",
             name, n);
        return SL_EINVAL;
    }
    sl_ddb_expr_kind_t kind = functions[fi].kind;
    bool needs_path = kind != SL_DDB_X_LIST_APPEND;
    if (needs_path && args[0]->kind != SL_DDB_X_PATH) {
        fail(p, "Operator or function requires a document path; operator or function: %s", name);
        return SL_EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        const sl_ddb_val_t *v = args[i]->kind == SL_DDB_X_VALUE ? args[i]->value : NULL;
        if (!v) continue;
        bool bad = false;
        if (kind == SL_DDB_X_BEGINS_WITH) bad = v->type != SL_DDB_S && v->type != SL_DDB_B;
        if (kind == SL_DDB_X_TYPE) bad = v->type != SL_DDB_S;
        if (kind == SL_DDB_X_LIST_APPEND) bad = v->type != SL_DDB_L;
        if (bad) {
            fail(p,
                 "Incorrect operand type for operator or function; operator or function: %s, "
                 "operand type: %s",
                 name, sl_ddb_type_name(v->type));
            return SL_EINVAL;
        }
        if (kind == SL_DDB_X_TYPE && !sl_ddb_type_of(v->u.str.ptr, v->u.str.len)) {
            fail(p,
                 "Invalid attribute type name found; type: %.*s, valid types: { B,NULL,SS,BOOL,L,"
                 "BS,N,NS,S,M }",
                 (int)v->u.str.len, v->u.str.ptr);
            return SL_EINVAL;
        }
    }
    sl_ddb_expr_t *e = sl_ddb_expr_new(p->ctx->arena, kind, n);
    if (!e) return SL_ENOMEM;
    memcpy(e->args, args, n * sizeof args[0]);
    if (needs_path) e->path = args[0]->path;
    *out = e;
    return 0;
}

/* An operand: a path, a :value or a function call (size in conditions; if_not_exists and
 * list_append in SET). */
static int parse_operand(parser_t *p, bool update, sl_ddb_expr_t **out) {
    tok_t *t = cur(p);
    if (t->kind == T_COLON) return parse_value(p, out);
    if (t->kind == T_NAME && p->toks[p->pos + 1].kind == T_LP) {
        int fi = find_function(p, t);
        if (fi < 0) {
            fail(p, "Invalid function name; function: %.*s", (int)t->len, p->text + t->start);
            return SL_EINVAL;
        }
        fn_class_t cls = functions[fi].cls;
        if ((update && cls != FN_UPDATE) || (!update && cls != FN_SIZE)) {
            if (update)
                fail(p, "The function is not allowed in a update expression; function: %s",
                     functions[fi].name);
            else
                fail(p,
                     "The function is not allowed to be used this way in an expression; "
                     "function: %s",
                     functions[fi].name);
            return SL_EINVAL;
        }
        return parse_call(p, fi, update, out);
    }
    if (t->kind != T_NAME && t->kind != T_HASH) return syntax_error(p);
    sl_ddb_expr_t *e = sl_ddb_expr_new(p->ctx->arena, SL_DDB_X_PATH, 0);
    if (!e) return SL_ENOMEM;
    *out = e;
    return parse_path(p, &e->path);
}

/* ---- conditions ---- */

static int parse_or(parser_t *p, sl_ddb_expr_t **out);

static int cmp_of(tok_kind_t k, sl_ddb_cmp_t *out) {
    switch (k) {
    case T_EQ:
        *out = SL_DDB_EQ;
        return 1;
    case T_NE:
        *out = SL_DDB_NE;
        return 1;
    case T_LT:
        *out = SL_DDB_LT;
        return 1;
    case T_LE:
        *out = SL_DDB_LE;
        return 1;
    case T_GT:
        *out = SL_DDB_GT;
        return 1;
    case T_GE:
        *out = SL_DDB_GE;
        return 1;
    default:
        return 0;
    }
}

static int parse_primary(parser_t *p, sl_ddb_expr_t **out) {
    tok_t *t = cur(p);
    if (t->kind == T_LP) {
        p->pos++;
        if (++p->depth > NEST_MAX) return syntax_error(p);
        int rc = parse_or(p, out);
        if (rc) return rc;
        p->depth--;
        return expect(p, T_RP);
    }
    if (t->kind == T_NAME && p->toks[p->pos + 1].kind == T_LP) {
        int fi = find_function(p, t);
        if (fi < 0) {
            fail(p, "Invalid function name; function: %.*s", (int)t->len, p->text + t->start);
            return SL_EINVAL;
        }
        if (functions[fi].cls == FN_BOOL) return parse_call(p, fi, false, out);
        if (functions[fi].cls == FN_UPDATE) {
            fail(p,
                 "The function is not allowed to be used this way in an expression; function: "
                 "%s",
                 functions[fi].name);
            return SL_EINVAL;
        }
    }
    sl_ddb_expr_t *left;
    int rc = parse_operand(p, false, &left);
    if (rc) return rc;
    sl_ddb_cmp_t op;
    t = cur(p);
    if (cmp_of(t->kind, &op)) {
        p->pos++;
        sl_ddb_expr_t *right;
        if ((rc = parse_operand(p, false, &right))) return rc;
        sl_ddb_expr_t *e = sl_ddb_expr_new(p->ctx->arena, SL_DDB_X_CMP, 2);
        if (!e) return SL_ENOMEM;
        e->cmp = op;
        e->args[0] = left;
        e->args[1] = right;
        *out = e;
        return 0;
    }
    if (is_kw(p, t, "BETWEEN")) {
        p->pos++;
        sl_ddb_expr_t *lo, *hi;
        if ((rc = parse_operand(p, false, &lo))) return rc;
        if (!is_kw(p, cur(p), "AND")) return syntax_error(p);
        p->pos++;
        if ((rc = parse_operand(p, false, &hi))) return rc;
        if (lo->kind == SL_DDB_X_VALUE && hi->kind == SL_DDB_X_VALUE &&
            lo->value->type == hi->value->type &&
            (lo->value->type == SL_DDB_S || lo->value->type == SL_DDB_N ||
             lo->value->type == SL_DDB_B) &&
            sl_ddb_val_cmp(lo->value, hi->value) > 0) {
            fail(p, "The BETWEEN operator requires upper bound to be greater than or equal to "
                    "lower bound");
            return SL_EINVAL;
        }
        sl_ddb_expr_t *e = sl_ddb_expr_new(p->ctx->arena, SL_DDB_X_BETWEEN, 3);
        if (!e) return SL_ENOMEM;
        e->args[0] = left;
        e->args[1] = lo;
        e->args[2] = hi;
        *out = e;
        return 0;
    }
    if (is_kw(p, t, "IN")) {
        p->pos++;
        if (expect(p, T_LP)) return SL_EINVAL;
        sl_ddb_expr_t *items[IN_OPERANDS_MAX + 1];
        size_t n = 0;
        items[n++] = left;
        while (1) {
            if (n > IN_OPERANDS_MAX) {
                fail(p,
                     "The IN operator is provided with too many operands; number of operands: "
                     "%d",
                     IN_OPERANDS_MAX + 1);
                return SL_EINVAL;
            }
            if ((rc = parse_operand(p, false, &items[n++]))) return rc;
            if (cur(p)->kind == T_COMMA) {
                p->pos++;
                continue;
            }
            if (expect(p, T_RP)) return SL_EINVAL;
            break;
        }
        sl_ddb_expr_t *e = sl_ddb_expr_new(p->ctx->arena, SL_DDB_X_IN, n);
        if (!e) return SL_ENOMEM;
        memcpy(e->args, items, n * sizeof items[0]);
        *out = e;
        return 0;
    }
    if (left->kind == SL_DDB_X_SIZE) {
        fail(p, "The function is not allowed to be used this way in an expression; function: size");
        return SL_EINVAL;
    }
    return syntax_error(p);
}

static int parse_not(parser_t *p, sl_ddb_expr_t **out) {
    if (is_kw(p, cur(p), "NOT")) {
        p->pos++;
        if (++p->depth > NEST_MAX) return syntax_error(p);
        sl_ddb_expr_t *e = sl_ddb_expr_new(p->ctx->arena, SL_DDB_X_NOT, 1);
        if (!e) return SL_ENOMEM;
        int rc = parse_not(p, &e->args[0]);
        p->depth--;
        *out = e;
        return rc;
    }
    return parse_primary(p, out);
}

static int parse_binary(parser_t *p, const char *kw, sl_ddb_expr_kind_t kind,
                        int (*next)(parser_t *, sl_ddb_expr_t **), sl_ddb_expr_t **out) {
    sl_ddb_expr_t *left;
    int rc = next(p, &left);
    while (rc == 0 && is_kw(p, cur(p), kw)) {
        p->pos++;
        sl_ddb_expr_t *right;
        if ((rc = next(p, &right))) break;
        sl_ddb_expr_t *e = sl_ddb_expr_new(p->ctx->arena, kind, 2);
        if (!e) return SL_ENOMEM;
        e->args[0] = left;
        e->args[1] = right;
        left = e;
    }
    *out = left;
    return rc;
}

static int parse_and(parser_t *p, sl_ddb_expr_t **out) {
    return parse_binary(p, "AND", SL_DDB_X_AND, parse_not, out);
}

static int parse_or(parser_t *p, sl_ddb_expr_t **out) {
    return parse_binary(p, "OR", SL_DDB_X_OR, parse_and, out);
}

static int begin(parser_t *p, sl_ddb_expr_ctx_t *ctx, const char *what, const char *text,
                 size_t len) {
    *p = (parser_t){.ctx = ctx, .what = what, .text = text, .len = len};
    ctx->error[0] = 0;
    size_t i = 0;
    while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r'))
        i++;
    if (i == len) {
        fail(p, "The expression can not be empty;");
        return SL_EINVAL;
    }
    return tokenize(p);
}

int sl_ddb_parse_condition(sl_ddb_expr_ctx_t *ctx, const char *what, const char *text, size_t len,
                           sl_ddb_expr_t **out) {
    parser_t p;
    int rc = begin(&p, ctx, what, text, len);
    if (rc == 0) rc = parse_or(&p, out);
    if (rc == 0 && cur(&p)->kind != T_EOF) rc = syntax_error(&p);
    if (rc == 0) rc = check_deferred(&p);
    if (rc == SL_ENOMEM) snprintf(ctx->error, sizeof ctx->error, "out of memory");
    return rc;
}

/* ---- updates ---- */

static int parse_set_value(parser_t *p, sl_ddb_expr_t **out) {
    sl_ddb_expr_t *left;
    int rc = parse_operand(p, true, &left);
    if (rc) return rc;
    tok_kind_t k = cur(p)->kind;
    if (k != T_PLUS && k != T_MINUS) {
        *out = left;
        return 0;
    }
    p->pos++;
    sl_ddb_expr_t *right;
    if ((rc = parse_operand(p, true, &right))) return rc;
    for (int i = 0; i < 2; i++) {
        sl_ddb_expr_t *a = i ? right : left;
        if (a->kind == SL_DDB_X_VALUE && a->value->type != SL_DDB_N) {
            fail(p,
                 "Incorrect operand type for operator or function; operator or function: %s, "
                 "operand type: %s",
                 k == T_PLUS ? "+" : "-", sl_ddb_type_name(a->value->type));
            return SL_EINVAL;
        }
    }
    sl_ddb_expr_t *e =
        sl_ddb_expr_new(p->ctx->arena, k == T_PLUS ? SL_DDB_X_PLUS : SL_DDB_X_MINUS, 2);
    if (!e) return SL_ENOMEM;
    e->args[0] = left;
    e->args[1] = right;
    *out = e;
    return 0;
}

/* DynamoDB's long type names, used in the ADD/DELETE messages. */
static const char *long_type_name(sl_ddb_type_t t) {
    switch (t) {
    case SL_DDB_S:
        return "STRING";
    case SL_DDB_N:
        return "NUMBER";
    case SL_DDB_B:
        return "BINARY";
    case SL_DDB_BOOL:
        return "BOOLEAN";
    case SL_DDB_NULL:
        return "NULL";
    case SL_DDB_M:
        return "MAP";
    case SL_DDB_L:
        return "LIST";
    case SL_DDB_SS:
        return "STRING_SET";
    case SL_DDB_NS:
        return "NUMBER_SET";
    case SL_DDB_BS:
        return "BINARY_SET";
    }
    return "?";
}

static void path_text(const sl_ddb_path_t *path, char *out, size_t cap) {
    size_t o = 0;
    o += (size_t)snprintf(out + o, cap - o, "[");
    for (size_t i = 0; i < path->count && o < cap; i++) {
        const sl_ddb_path_elem_t *e = &path->elems[i];
        if (e->is_index)
            o += (size_t)snprintf(out + o, cap - o, "%s[%zu]", i ? ", " : "", e->index);
        else
            o += (size_t)snprintf(out + o, cap - o, "%s%.*s", i ? ", " : "", (int)e->name_len,
                                  e->name);
    }
    if (o < cap) snprintf(out + o, cap - o, "]");
}

static bool elem_equal(const sl_ddb_path_elem_t *a, const sl_ddb_path_elem_t *b) {
    if (a->is_index != b->is_index) return false;
    if (a->is_index) return a->index == b->index;
    return a->name_len == b->name_len && memcmp(a->name, b->name, a->name_len) == 0;
}

static bool paths_overlap(const sl_ddb_path_t *a, const sl_ddb_path_t *b) {
    size_t n = a->count < b->count ? a->count : b->count;
    for (size_t i = 0; i < n; i++)
        if (!elem_equal(&a->elems[i], &b->elems[i])) return false;
    return true;
}

int sl_ddb_parse_update(sl_ddb_expr_ctx_t *ctx, const char *text, size_t len,
                        sl_ddb_update_t *out) {
    parser_t p;
    int rc = begin(&p, ctx, "UpdateExpression", text, len);
    if (rc) return rc;
    static const char *const sections[] = {"SET", "REMOVE", "ADD", "DELETE"};
    bool seen[4] = {false};
    size_t cap = 16, n = 0;
    sl_ddb_action_t *acts = sl_arena_calloc(ctx->arena, cap, sizeof *acts);
    if (!acts) return SL_ENOMEM;
    while (rc == 0 && cur(&p)->kind != T_EOF) {
        int s = -1;
        for (int i = 0; i < 4; i++)
            if (is_kw(&p, cur(&p), sections[i])) s = i;
        if (s < 0) {
            rc = syntax_error(&p);
            break;
        }
        if (seen[s]) {
            fail(&p, "The \"%s\" section can only be used once in an update expression;",
                 sections[s]);
            rc = SL_EINVAL;
            break;
        }
        seen[s] = true;
        p.pos++;
        do {
            if (n > 0 && cur(&p)->kind == T_COMMA) p.pos++;
            if (n == cap) {
                sl_ddb_action_t *bigger = sl_arena_calloc(ctx->arena, cap * 2, sizeof *acts);
                if (!bigger) return SL_ENOMEM;
                memcpy(bigger, acts, n * sizeof *acts);
                acts = bigger;
                cap *= 2;
            }
            sl_ddb_action_t *a = &acts[n];
            a->kind = (sl_ddb_action_kind_t)s;
            if ((rc = parse_path(&p, &a->path))) break;
            if (s == SL_DDB_SET) {
                if ((rc = expect(&p, T_EQ))) break;
                if ((rc = parse_set_value(&p, &a->value))) break;
            } else if (s == SL_DDB_ADD || s == SL_DDB_DELETE) {
                if (cur(&p)->kind != T_COLON) {
                    rc = syntax_error(&p);
                    break;
                }
                if ((rc = parse_value(&p, &a->value))) break;
                sl_ddb_type_t t = a->value->value->type;
                bool ok = s == SL_DDB_ADD ? t == SL_DDB_N || sl_ddb_is_set(t) : sl_ddb_is_set(t);
                if (!ok) {
                    fail(&p,
                         "Incorrect operand type for operator or function; operator: %s, operand "
                         "type: %s",
                         sections[s], long_type_name(t));
                    rc = SL_EINVAL;
                    break;
                }
            }
            n++;
        } while (cur(&p)->kind == T_COMMA);
    }
    if (rc == 0) rc = check_deferred(&p);
    for (size_t i = 0; rc == 0 && i < n; i++)
        for (size_t j = i + 1; rc == 0 && j < n; j++)
            if (paths_overlap(&acts[i].path, &acts[j].path)) {
                char one[256], two[256];
                path_text(&acts[i].path, one, sizeof one);
                path_text(&acts[j].path, two, sizeof two);
                fail(&p,
                     "Two document paths overlap with each other; must remove or rewrite one of "
                     "these paths; path one: %s, path two: %s",
                     one, two);
                rc = SL_EINVAL;
            }
    if (rc == SL_ENOMEM) snprintf(ctx->error, sizeof ctx->error, "out of memory");
    out->actions = acts;
    out->count = n;
    return rc;
}

int sl_ddb_parse_projection(sl_ddb_expr_ctx_t *ctx, const char *text, size_t len,
                            sl_ddb_projection_t *out) {
    parser_t p;
    int rc = begin(&p, ctx, "ProjectionExpression", text, len);
    if (rc) return rc;
    size_t n = 1;
    for (size_t i = 0; i < p.count; i++)
        n += p.toks[i].kind == T_COMMA;
    out->paths = sl_arena_calloc(ctx->arena, n, sizeof(sl_ddb_path_t));
    if (!out->paths) return SL_ENOMEM;
    out->count = 0;
    while (1) {
        if ((rc = parse_path(&p, &out->paths[out->count]))) break;
        out->count++;
        if (cur(&p)->kind == T_COMMA && out->count < n) {
            p.pos++;
            continue;
        }
        if (cur(&p)->kind != T_EOF) rc = syntax_error(&p);
        break;
    }
    if (rc == 0) rc = check_deferred(&p);
    for (size_t i = 0; rc == 0 && i < out->count; i++)
        for (size_t j = i + 1; rc == 0 && j < out->count; j++)
            if (paths_overlap(&out->paths[i], &out->paths[j])) {
                char one[256], two[256];
                path_text(&out->paths[i], one, sizeof one);
                path_text(&out->paths[j], two, sizeof two);
                fail(&p,
                     "Two document paths overlap with each other; must remove or rewrite one of "
                     "these paths; path one: %s, path two: %s",
                     one, two);
                rc = SL_EINVAL;
            }
    if (rc == SL_ENOMEM) snprintf(ctx->error, sizeof ctx->error, "out of memory");
    return rc;
}

/* ---- evaluation ---- */

static const sl_ddb_val_t *child(const sl_ddb_val_t *v, const sl_ddb_path_elem_t *e) {
    if (e->is_index) {
        if (v->type != SL_DDB_L || e->index >= v->u.list.count) return NULL;
        return &v->u.list.items[e->index];
    }
    if (v->type != SL_DDB_M) return NULL;
    sl_ddb_item_t m = {v->u.map.items, v->u.map.count};
    return sl_ddb_item_get(&m, e->name, e->name_len);
}

const sl_ddb_val_t *sl_ddb_path_get(const sl_ddb_item_t *item, const sl_ddb_path_t *path) {
    if (!item || path->count == 0 || path->elems[0].is_index) return NULL;
    const sl_ddb_val_t *v = sl_ddb_item_get(item, path->elems[0].name, path->elems[0].name_len);
    for (size_t i = 1; v && i < path->count; i++)
        v = child(v, &path->elems[i]);
    return v;
}

static size_t utf8_chars(const char *s, size_t len) {
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += ((unsigned char)s[i] & 0xc0) != 0x80;
    return n;
}

static const sl_ddb_val_t *operand(const sl_ddb_expr_t *e, const sl_ddb_item_t *item,
                                   sl_arena_t *arena) {
    if (e->kind == SL_DDB_X_VALUE) return e->value;
    if (e->kind == SL_DDB_X_PATH) return sl_ddb_path_get(item, &e->path);
    if (e->kind != SL_DDB_X_SIZE) return NULL;
    const sl_ddb_val_t *v = sl_ddb_path_get(item, &e->path);
    if (!v) return NULL;
    size_t n;
    switch (v->type) {
    case SL_DDB_S:
        n = utf8_chars(v->u.str.ptr, v->u.str.len);
        break;
    case SL_DDB_B:
        n = v->u.str.len;
        break;
    case SL_DDB_SS:
    case SL_DDB_NS:
    case SL_DDB_BS:
    case SL_DDB_L:
        n = v->u.list.count;
        break;
    case SL_DDB_M:
        n = v->u.map.count;
        break;
    default:
        return NULL;
    }
    sl_ddb_val_t *r = sl_arena_calloc(arena, 1, sizeof *r);
    char *text = sl_arena_sprintf(arena, "%zu", n);
    if (!r || !text) return NULL;
    r->type = SL_DDB_N;
    r->u.str.ptr = text;
    r->u.str.len = strlen(text);
    return r;
}

static bool scalar(const sl_ddb_val_t *v) {
    return v->type == SL_DDB_S || v->type == SL_DDB_N || v->type == SL_DDB_B;
}

static bool compare(sl_ddb_cmp_t op, const sl_ddb_val_t *a, const sl_ddb_val_t *b) {
    if (op == SL_DDB_EQ) return a && b && sl_ddb_val_equal(a, b);
    if (op == SL_DDB_NE) return !(a && b && sl_ddb_val_equal(a, b));
    if (!a || !b || a->type != b->type || !scalar(a)) return false;
    int c = sl_ddb_val_cmp(a, b);
    switch (op) {
    case SL_DDB_LT:
        return c < 0;
    case SL_DDB_LE:
        return c <= 0;
    case SL_DDB_GT:
        return c > 0;
    case SL_DDB_GE:
        return c >= 0;
    default:
        return false;
    }
}

static bool contains(const sl_ddb_val_t *hay, const sl_ddb_val_t *needle) {
    if (!hay || !needle) return false;
    if ((hay->type == SL_DDB_S && needle->type == SL_DDB_S) ||
        (hay->type == SL_DDB_B && needle->type == SL_DDB_B)) {
        if (needle->u.str.len > hay->u.str.len) return false;
        for (size_t i = 0; i + needle->u.str.len <= hay->u.str.len; i++)
            if (memcmp(hay->u.str.ptr + i, needle->u.str.ptr, needle->u.str.len) == 0) return true;
        return false;
    }
    bool set_match = (hay->type == SL_DDB_SS && needle->type == SL_DDB_S) ||
                     (hay->type == SL_DDB_NS && needle->type == SL_DDB_N) ||
                     (hay->type == SL_DDB_BS && needle->type == SL_DDB_B);
    if (set_match || hay->type == SL_DDB_L)
        for (size_t i = 0; i < hay->u.list.count; i++)
            if (sl_ddb_val_equal(&hay->u.list.items[i], needle)) return true;
    return false;
}

bool sl_ddb_expr_test(const sl_ddb_expr_t *e, const sl_ddb_item_t *item, sl_arena_t *arena) {
    const sl_ddb_val_t *a, *b;
    switch (e->kind) {
    case SL_DDB_X_AND:
        return sl_ddb_expr_test(e->args[0], item, arena) &&
               sl_ddb_expr_test(e->args[1], item, arena);
    case SL_DDB_X_OR:
        return sl_ddb_expr_test(e->args[0], item, arena) ||
               sl_ddb_expr_test(e->args[1], item, arena);
    case SL_DDB_X_NOT:
        return !sl_ddb_expr_test(e->args[0], item, arena);
    case SL_DDB_X_EXISTS:
        return sl_ddb_path_get(item, &e->path) != NULL;
    case SL_DDB_X_NOT_EXISTS:
        return sl_ddb_path_get(item, &e->path) == NULL;
    case SL_DDB_X_TYPE:
        a = sl_ddb_path_get(item, &e->path);
        b = operand(e->args[1], item, arena);
        return a && b && b->type == SL_DDB_S && strlen(sl_ddb_type_name(a->type)) == b->u.str.len &&
               memcmp(sl_ddb_type_name(a->type), b->u.str.ptr, b->u.str.len) == 0;
    case SL_DDB_X_BEGINS_WITH:
        a = sl_ddb_path_get(item, &e->path);
        b = operand(e->args[1], item, arena);
        return a && b && a->type == b->type && (a->type == SL_DDB_S || a->type == SL_DDB_B) &&
               a->u.str.len >= b->u.str.len &&
               memcmp(a->u.str.ptr, b->u.str.ptr, b->u.str.len) == 0;
    case SL_DDB_X_CONTAINS:
        return contains(sl_ddb_path_get(item, &e->path), operand(e->args[1], item, arena));
    case SL_DDB_X_CMP:
        return compare(e->cmp, operand(e->args[0], item, arena), operand(e->args[1], item, arena));
    case SL_DDB_X_BETWEEN: {
        const sl_ddb_val_t *v = operand(e->args[0], item, arena);
        a = operand(e->args[1], item, arena);
        b = operand(e->args[2], item, arena);
        return compare(SL_DDB_GE, v, a) && compare(SL_DDB_LE, v, b);
    }
    case SL_DDB_X_IN: {
        const sl_ddb_val_t *v = operand(e->args[0], item, arena);
        for (size_t i = 1; v && i < e->arg_count; i++)
            if (compare(SL_DDB_EQ, v, operand(e->args[i], item, arena))) return true;
        return false;
    }
    default:
        return false;
    }
}

/* ---- updates ---- */

static const char *const ERR_MISSING =
    "The provided expression refers to an attribute that does not exist in the item";
static const char *const ERR_TYPE =
    "An operand in the update expression has an incorrect data type";
static const char *const ERR_PATH =
    "The document path provided in the update expression is invalid "
    "for update";

static int set_value(const sl_ddb_expr_t *e, const sl_ddb_item_t *item, sl_arena_t *arena,
                     const sl_ddb_val_t **out, const char **error) {
    const sl_ddb_val_t *a, *b;
    int rc;
    switch (e->kind) {
    case SL_DDB_X_VALUE:
        *out = e->value;
        return 0;
    case SL_DDB_X_PATH:
        *out = sl_ddb_path_get(item, &e->path);
        if (!*out) *error = ERR_MISSING;
        return *out ? 0 : SL_EINVAL;
    case SL_DDB_X_IF_NOT_EXISTS:
        *out = sl_ddb_path_get(item, &e->path);
        return *out ? 0 : set_value(e->args[1], item, arena, out, error);
    case SL_DDB_X_LIST_APPEND:
    case SL_DDB_X_PLUS:
    case SL_DDB_X_MINUS: {
        if ((rc = set_value(e->args[0], item, arena, &a, error))) return rc;
        if ((rc = set_value(e->args[1], item, arena, &b, error))) return rc;
        sl_ddb_val_t *r = sl_arena_calloc(arena, 1, sizeof *r);
        if (!r) return SL_ENOMEM;
        if (e->kind == SL_DDB_X_LIST_APPEND) {
            if (a->type != SL_DDB_L || b->type != SL_DDB_L) {
                *error = ERR_TYPE;
                return SL_EINVAL;
            }
            r->type = SL_DDB_L;
            r->u.list.count = a->u.list.count + b->u.list.count;
            r->u.list.items = sl_arena_calloc(arena, r->u.list.count + 1, sizeof(sl_ddb_val_t));
            if (!r->u.list.items) return SL_ENOMEM;
            if (a->u.list.count)
                memcpy(r->u.list.items, a->u.list.items, a->u.list.count * sizeof(sl_ddb_val_t));
            if (b->u.list.count)
                memcpy(r->u.list.items + a->u.list.count, b->u.list.items,
                       b->u.list.count * sizeof(sl_ddb_val_t));
            *out = r;
            return 0;
        }
        if (a->type != SL_DDB_N || b->type != SL_DDB_N) {
            *error = ERR_TYPE;
            return SL_EINVAL;
        }
        sl_ddb_num_t x, y, z;
        sl_ddb_num_parse(a->u.str.ptr, a->u.str.len, &x);
        sl_ddb_num_parse(b->u.str.ptr, b->u.str.len, &y);
        sl_ddb_num_status_t st = sl_ddb_num_add(&x, &y, e->kind == SL_DDB_X_MINUS, &z);
        if (st != SL_DDB_NUM_OK) {
            *error = sl_ddb_num_message(st);
            return SL_EINVAL;
        }
        char *text = sl_arena_alloc(arena, SL_DDB_NUM_TEXT_MAX + 1);
        if (!text) return SL_ENOMEM;
        r->type = SL_DDB_N;
        r->u.str.len = sl_ddb_num_format(&z, text);
        r->u.str.ptr = text;
        *out = r;
        return 0;
    }
    default:
        *error = ERR_TYPE;
        return SL_EINVAL;
    }
}

/* The container that holds the path's last element, walking from root (a map value), or NULL. */
static sl_ddb_val_t *parent_of(sl_ddb_val_t *root, const sl_ddb_path_t *path) {
    sl_ddb_val_t *v = root;
    for (size_t i = 0; v && i + 1 < path->count; i++)
        v = (sl_ddb_val_t *)child(v, &path->elems[i]);
    return v;
}

/* Puts v at the path's last element in container c (replacing, appending to a map, or at or past
 * the end of a list). */
static int put_child(sl_arena_t *arena, sl_ddb_val_t *c, const sl_ddb_path_elem_t *e,
                     const sl_ddb_val_t *v, const char **error) {
    if (e->is_index) {
        if (c->type != SL_DDB_L) goto bad;
        if (e->index < c->u.list.count) {
            c->u.list.items[e->index] = *v;
            return 0;
        }
        sl_ddb_val_t *items = sl_arena_calloc(arena, c->u.list.count + 1, sizeof *items);
        if (!items) return SL_ENOMEM;
        if (c->u.list.count) memcpy(items, c->u.list.items, c->u.list.count * sizeof *items);
        items[c->u.list.count++] = *v;
        c->u.list.items = items;
        return 0;
    }
    if (c->type != SL_DDB_M) goto bad;
    for (size_t i = 0; i < c->u.map.count; i++)
        if (c->u.map.items[i].name_len == e->name_len &&
            memcmp(c->u.map.items[i].name, e->name, e->name_len) == 0) {
            c->u.map.items[i].val = *v;
            return 0;
        }
    sl_ddb_attr_t *items = sl_arena_calloc(arena, c->u.map.count + 1, sizeof *items);
    if (!items) return SL_ENOMEM;
    if (c->u.map.count) memcpy(items, c->u.map.items, c->u.map.count * sizeof *items);
    items[c->u.map.count].name = e->name;
    items[c->u.map.count].name_len = e->name_len;
    items[c->u.map.count++].val = *v;
    c->u.map.items = items;
    return 0;
bad:
    *error = ERR_PATH;
    return SL_EINVAL;
}

static void remove_child(sl_ddb_val_t *c, const sl_ddb_path_elem_t *e) {
    if (e->is_index) {
        if (c->type != SL_DDB_L || e->index >= c->u.list.count) return;
        memmove(&c->u.list.items[e->index], &c->u.list.items[e->index + 1],
                (c->u.list.count - e->index - 1) * sizeof(sl_ddb_val_t));
        c->u.list.count--;
        return;
    }
    if (c->type != SL_DDB_M) return;
    for (size_t i = 0; i < c->u.map.count; i++)
        if (c->u.map.items[i].name_len == e->name_len &&
            memcmp(c->u.map.items[i].name, e->name, e->name_len) == 0) {
            memmove(&c->u.map.items[i], &c->u.map.items[i + 1],
                    (c->u.map.count - i - 1) * sizeof(sl_ddb_attr_t));
            c->u.map.count--;
            return;
        }
}

/* a + b for ADD (numbers, sets, legacy lists), a - b for DELETE (sets). */
static int add_or_delete(sl_arena_t *arena, const sl_ddb_action_t *a, const sl_ddb_val_t *old,
                         const sl_ddb_val_t *v, sl_ddb_val_t *out, const char **error) {
    if (a->kind == SL_DDB_ADD && v->type == SL_DDB_N) {
        if (old->type != SL_DDB_N) goto bad;
        sl_ddb_num_t x, y, z;
        sl_ddb_num_parse(old->u.str.ptr, old->u.str.len, &x);
        sl_ddb_num_parse(v->u.str.ptr, v->u.str.len, &y);
        sl_ddb_num_status_t st = sl_ddb_num_add(&x, &y, false, &z);
        if (st != SL_DDB_NUM_OK) {
            *error = sl_ddb_num_message(st);
            return SL_EINVAL;
        }
        char *text = sl_arena_alloc(arena, SL_DDB_NUM_TEXT_MAX + 1);
        if (!text) return SL_ENOMEM;
        out->type = SL_DDB_N;
        out->u.str.len = sl_ddb_num_format(&z, text);
        out->u.str.ptr = text;
        return 0;
    }
    if (old->type != v->type) goto bad;
    size_t cap = old->u.list.count + (a->kind == SL_DDB_ADD ? v->u.list.count : 0);
    sl_ddb_val_t *items = sl_arena_calloc(arena, cap + 1, sizeof *items);
    if (!items) return SL_ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i < old->u.list.count; i++) {
        bool drop = false;
        if (a->kind == SL_DDB_DELETE)
            for (size_t j = 0; j < v->u.list.count; j++)
                drop |= sl_ddb_val_equal(&old->u.list.items[i], &v->u.list.items[j]);
        if (!drop) items[n++] = old->u.list.items[i];
    }
    if (a->kind == SL_DDB_ADD)
        for (size_t j = 0; j < v->u.list.count; j++) {
            bool dup = false;
            for (size_t i = 0; i < n && v->type != SL_DDB_L; i++)
                dup |= sl_ddb_val_equal(&items[i], &v->u.list.items[j]);
            if (!dup) items[n++] = v->u.list.items[j];
        }
    out->type = old->type;
    out->u.list.items = items;
    out->u.list.count = n;
    return 0;
bad:
    *error = ERR_TYPE;
    return SL_EINVAL;
}

static size_t last_index(const sl_ddb_action_t *a) {
    const sl_ddb_path_elem_t *e = &a->path.elems[a->path.count - 1];
    return e->is_index ? e->index + 1 : 0;
}

int sl_ddb_update_apply(const sl_ddb_update_t *u, sl_ddb_item_t *item, sl_arena_t *arena,
                        const char **error) {
    /* Every right-hand side sees the item as it was before the update. */
    const sl_ddb_val_t **vals = sl_arena_calloc(arena, u->count + 1, sizeof *vals);
    if (!vals) return SL_ENOMEM;
    for (size_t i = 0; i < u->count; i++) {
        const sl_ddb_action_t *a = &u->actions[i];
        if (!a->value) continue;
        int rc = set_value(a->value, item, arena, &vals[i], error);
        if (rc) return rc;
    }
    sl_ddb_val_t root = {.type = SL_DDB_M, .u.map = {item->attrs, item->count}};
    for (size_t i = 0; i < u->count; i++) {
        const sl_ddb_action_t *a = &u->actions[i];
        if (a->kind == SL_DDB_REMOVE) continue;
        sl_ddb_val_t *parent = parent_of(&root, &a->path);
        const sl_ddb_path_elem_t *last = &a->path.elems[a->path.count - 1];
        if (!parent) {
            *error = ERR_PATH;
            return SL_EINVAL;
        }
        const sl_ddb_val_t *old = child(parent, last);
        int rc = 0;
        if (a->kind == SL_DDB_SET) {
            rc = put_child(arena, parent, last, vals[i], error);
        } else if (a->kind == SL_DDB_ADD) {
            sl_ddb_val_t sum;
            if (!old) {
                rc = put_child(arena, parent, last, vals[i], error);
            } else if (old->type == SL_DDB_L && vals[i]->type == SL_DDB_L && a->legacy_add_list) {
                rc = add_or_delete(arena, a, old, vals[i], &sum, error);
                if (rc == 0) rc = put_child(arena, parent, last, &sum, error);
            } else if (old->type == SL_DDB_L) {
                *error = ERR_TYPE;
                rc = SL_EINVAL;
            } else {
                rc = add_or_delete(arena, a, old, vals[i], &sum, error);
                if (rc == 0) rc = put_child(arena, parent, last, &sum, error);
            }
        } else if (old) { /* DELETE */
            sl_ddb_val_t rest;
            rc = add_or_delete(arena, a, old, vals[i], &rest, error);
            if (rc == 0 && rest.u.list.count == 0)
                remove_child(parent, last);
            else if (rc == 0)
                rc = put_child(arena, parent, last, &rest, error);
        }
        if (rc) return rc;
    }
    /* Removals last, list elements from the highest index down so earlier indexes hold. */
    bool *done = sl_arena_calloc(arena, u->count + 1, sizeof *done);
    if (!done) return SL_ENOMEM;
    while (1) {
        size_t best = u->count;
        for (size_t i = 0; i < u->count; i++) {
            if (u->actions[i].kind != SL_DDB_REMOVE || done[i]) continue;
            if (best == u->count || last_index(&u->actions[i]) > last_index(&u->actions[best]))
                best = i;
        }
        if (best == u->count) break;
        done[best] = true;
        const sl_ddb_action_t *a = &u->actions[best];
        sl_ddb_val_t *parent = parent_of(&root, &a->path);
        if (parent) remove_child(parent, &a->path.elems[a->path.count - 1]);
    }
    item->attrs = root.u.map.items;
    item->count = root.u.map.count;
    return 0;
}

/* Puts v into the projection result at path (from elems[i]), creating the maps and lists on the
 * way: list elements keep their order but are packed. */
static int project_put(sl_arena_t *arena, sl_ddb_val_t *into, const sl_ddb_path_t *path, size_t i,
                       const sl_ddb_val_t *v) {
    const char *unused;
    const sl_ddb_path_elem_t *e = &path->elems[i];
    if (i + 1 == path->count) {
        sl_ddb_path_elem_t at = *e;
        if (at.is_index) at.index = into->u.list.count;
        return put_child(arena, into, &at, v, &unused);
    }
    sl_ddb_val_t *next = NULL;
    if (!e->is_index) next = (sl_ddb_val_t *)child(into, e);
    if (!next) {
        sl_ddb_val_t fresh = {.type = path->elems[i + 1].is_index ? SL_DDB_L : SL_DDB_M};
        sl_ddb_path_elem_t at = *e;
        if (at.is_index) at.index = into->u.list.count;
        int rc = put_child(arena, into, &at, &fresh, &unused);
        if (rc) return rc;
        next = (sl_ddb_val_t *)child(into, e->is_index ? &at : e);
    }
    if (!next) return SL_ENOMEM;
    return project_put(arena, next, path, i + 1, v);
}

int sl_ddb_project(const sl_ddb_projection_t *p, const sl_ddb_item_t *item, sl_arena_t *arena,
                   sl_ddb_item_t *out) {
    sl_ddb_val_t root = {.type = SL_DDB_M};
    for (size_t i = 0; i < p->count; i++) {
        const sl_ddb_val_t *v = sl_ddb_path_get(item, &p->paths[i]);
        if (!v) continue;
        int rc = project_put(arena, &root, &p->paths[i], 0, v);
        if (rc) return rc;
    }
    out->attrs = root.u.map.items;
    out->count = root.u.map.count;
    return 0;
}
