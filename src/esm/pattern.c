/* Event patterns (see pattern.h). Patterns and events are network input: every shape gets an
 * answer (no match, or a reason at check time), never a crash; recursion is bounded by the
 * parser's depth limit and checked again here. */
#include "esm/pattern.h"

#include "core/limits.h"

#include <ctype.h>
#include <string.h>

static bool key_is(const sl_kv_t *kv, const char *name) {
    return kv->key_len == strlen(name) && memcmp(kv->key, name, kv->key_len) == 0;
}

static bool is_string(const sl_val_t *v) {
    return v && v->type == SL_VAL_STRING;
}

/* ---- checking ---- */

static bool check_numeric(const sl_val_t *v) {
    if (v->type != SL_VAL_ARRAY || v->u.arr.count == 0 || v->u.arr.count % 2 || v->u.arr.count > 4)
        return false;
    for (size_t i = 0; i < v->u.arr.count; i += 2) {
        const sl_val_t *op = v->u.arr.items[i], *num = v->u.arr.items[i + 1];
        if (!is_string(op) || num->type != SL_VAL_NUMBER) return false;
        const char *o = op->u.str.ptr;
        if (strcmp(o, "=") && strcmp(o, "<") && strcmp(o, "<=") && strcmp(o, ">") &&
            strcmp(o, ">="))
            return false;
    }
    return true;
}

/* A string operand, or {"equals-ignore-case": "..."} (prefix and suffix). */
static bool check_text_operand(const sl_val_t *v) {
    if (is_string(v)) return true;
    return v->type == SL_VAL_MAP && v->u.map.count == 1 &&
           key_is(&v->u.map.items[0], "equals-ignore-case") && is_string(v->u.map.items[0].val);
}

static bool check_rule(const sl_val_t *r, const char **reason) {
    switch (r->type) {
    case SL_VAL_STRING:
    case SL_VAL_NUMBER:
    case SL_VAL_BOOL:
    case SL_VAL_NULL:
        return true;
    case SL_VAL_MAP:
        break;
    default:
        *reason = "a rule must be a value or an operator object";
        return false;
    }
    if (r->u.map.count != 1) {
        *reason = "an operator object has exactly one operator";
        return false;
    }
    const sl_kv_t *op = &r->u.map.items[0];
    const sl_val_t *v = op->val;
    bool ok;
    if (key_is(op, "prefix") || key_is(op, "suffix")) {
        ok = check_text_operand(v);
    } else if (key_is(op, "equals-ignore-case") || key_is(op, "wildcard")) {
        ok = is_string(v);
    } else if (key_is(op, "exists")) {
        ok = v->type == SL_VAL_BOOL;
    } else if (key_is(op, "numeric")) {
        ok = check_numeric(v);
    } else if (key_is(op, "anything-but")) {
        ok = v->type == SL_VAL_STRING || v->type == SL_VAL_NUMBER;
        if (v->type == SL_VAL_ARRAY) {
            ok = v->u.arr.count > 0;
            for (size_t i = 0; ok && i < v->u.arr.count; i++)
                ok = v->u.arr.items[i]->type == SL_VAL_STRING ||
                     v->u.arr.items[i]->type == SL_VAL_NUMBER;
        } else if (v->type == SL_VAL_MAP) {
            ok = v->u.map.count == 1 &&
                 (key_is(&v->u.map.items[0], "prefix") || key_is(&v->u.map.items[0], "suffix")) &&
                 is_string(v->u.map.items[0].val);
        }
    } else {
        *reason = "unknown operator";
        return false;
    }
    if (!ok) *reason = "invalid operand";
    return ok;
}

static bool check_at(const sl_val_t *p, int depth, const char **reason) {
    if (depth > SL_WIRE_DEPTH_MAX) {
        *reason = "pattern nested too deeply";
        return false;
    }
    if (p->type != SL_VAL_MAP) {
        *reason = "a pattern must be a JSON object";
        return false;
    }
    for (size_t i = 0; i < p->u.map.count; i++) {
        const sl_kv_t *kv = &p->u.map.items[i];
        const sl_val_t *v = kv->val;
        if (key_is(kv, "$or")) {
            if (v->type != SL_VAL_ARRAY || v->u.arr.count < 2) {
                *reason = "$or takes a list of at least two patterns";
                return false;
            }
            for (size_t k = 0; k < v->u.arr.count; k++)
                if (!check_at(v->u.arr.items[k], depth + 1, reason)) return false;
        } else if (v->type == SL_VAL_MAP) {
            if (!check_at(v, depth + 1, reason)) return false;
        } else if (v->type == SL_VAL_ARRAY) {
            if (v->u.arr.count == 0) {
                *reason = "an empty list of rules matches nothing";
                return false;
            }
            for (size_t k = 0; k < v->u.arr.count; k++)
                if (!check_rule(v->u.arr.items[k], reason)) return false;
        } else {
            *reason = "a field's rules must be a list or a nested pattern";
            return false;
        }
    }
    return true;
}

bool sl_pattern_check(const sl_val_t *pattern, const char **reason) {
    *reason = NULL;
    return pattern && check_at(pattern, 0, reason);
}

/* ---- matching ---- */

static bool eq_ignore_case(const char *a, size_t alen, const char *b, size_t blen) {
    if (alen != blen) return false;
    for (size_t i = 0; i < alen; i++)
        if (tolower((unsigned char)a[i]) != tolower((unsigned char)b[i])) return false;
    return true;
}

static bool starts_with(const sl_val_t *s, const sl_val_t *operand, bool suffix) {
    bool nocase = operand->type == SL_VAL_MAP;
    const sl_val_t *t = nocase ? operand->u.map.items[0].val : operand;
    size_t n = t->u.str.len;
    if (!is_string(s) || s->u.str.len < n) return false;
    const char *at = s->u.str.ptr + (suffix ? s->u.str.len - n : 0);
    return nocase ? eq_ignore_case(at, n, t->u.str.ptr, n) : memcmp(at, t->u.str.ptr, n) == 0;
}

/* '*' matches any run (iterative, with one backtrack point: linear in practice). */
static bool wildcard(const char *s, size_t sn, const char *p, size_t pn) {
    size_t si = 0, pi = 0, star = (size_t)-1, mark = 0;
    while (si < sn) {
        if (pi < pn && p[pi] == '*') {
            star = pi++;
            mark = si;
        } else if (pi < pn && p[pi] == s[si]) {
            pi++;
            si++;
        } else if (star != (size_t)-1) {
            pi = star + 1;
            si = ++mark;
        } else {
            return false;
        }
    }
    while (pi < pn && p[pi] == '*')
        pi++;
    return pi == pn;
}

static bool equals(const sl_val_t *v, const sl_val_t *r) {
    if (v->type != r->type) return false;
    switch (r->type) {
    case SL_VAL_STRING:
        return v->u.str.len == r->u.str.len &&
               memcmp(v->u.str.ptr, r->u.str.ptr, r->u.str.len) == 0;
    case SL_VAL_NUMBER:
        return v->u.num.d == r->u.num.d;
    case SL_VAL_BOOL:
        return v->u.b == r->u.b;
    case SL_VAL_NULL:
        return true;
    default:
        return false;
    }
}

static bool numeric(const sl_val_t *v, const sl_val_t *bounds) {
    if (v->type != SL_VAL_NUMBER) return false;
    double x = v->u.num.d;
    for (size_t i = 0; i + 1 < bounds->u.arr.count; i += 2) {
        const char *op = bounds->u.arr.items[i]->u.str.ptr;
        double b = bounds->u.arr.items[i + 1]->u.num.d;
        bool ok = op[0] == '='   ? x == b
                  : op[0] == '<' ? (op[1] ? x <= b : x < b)
                                 : (op[1] ? x >= b : x > b);
        if (!ok) return false;
    }
    return true;
}

static bool anything_but(const sl_val_t *v, const sl_val_t *what) {
    if (what->type == SL_VAL_MAP) {
        const sl_kv_t *op = &what->u.map.items[0];
        return is_string(v) && !starts_with(v, op->val, key_is(op, "suffix"));
    }
    if (what->type == SL_VAL_ARRAY) {
        for (size_t i = 0; i < what->u.arr.count; i++)
            if (equals(v, what->u.arr.items[i])) return false;
        return true;
    }
    return !equals(v, what);
}

/* One rule against one present scalar value (an array's element, or the field itself). */
static bool rule_value(const sl_val_t *r, const sl_val_t *v) {
    if (r->type != SL_VAL_MAP) return equals(v, r);
    const sl_kv_t *op = &r->u.map.items[0];
    if (key_is(op, "prefix")) return starts_with(v, op->val, false);
    if (key_is(op, "suffix")) return starts_with(v, op->val, true);
    if (key_is(op, "equals-ignore-case"))
        return is_string(v) &&
               eq_ignore_case(v->u.str.ptr, v->u.str.len, op->val->u.str.ptr, op->val->u.str.len);
    if (key_is(op, "wildcard"))
        return is_string(v) &&
               wildcard(v->u.str.ptr, v->u.str.len, op->val->u.str.ptr, op->val->u.str.len);
    if (key_is(op, "numeric")) return numeric(v, op->val);
    if (key_is(op, "anything-but")) return anything_but(v, op->val);
    if (key_is(op, "exists")) return op->val->u.b;
    return false;
}

/* A list of rules against a field (NULL = absent). */
static bool rules_match(const sl_val_t *rules, const sl_val_t *field) {
    for (size_t i = 0; i < rules->u.arr.count; i++) {
        const sl_val_t *r = rules->u.arr.items[i];
        if (!field) {
            if (r->type == SL_VAL_MAP && key_is(&r->u.map.items[0], "exists") &&
                !r->u.map.items[0].val->u.b)
                return true;
            continue;
        }
        if (field->type == SL_VAL_ARRAY) {
            for (size_t k = 0; k < field->u.arr.count; k++)
                if (rule_value(r, field->u.arr.items[k])) return true;
            continue;
        }
        if (field->type == SL_VAL_MAP) continue; /* an object matches no value rule */
        if (rule_value(r, field)) return true;
    }
    return false;
}

/* The field named by kv in event (a map, or NULL); a JSON null counts as present here. */
static const sl_val_t *field_of(const sl_val_t *event, const sl_kv_t *kv) {
    if (!event || event->type != SL_VAL_MAP) return NULL;
    const sl_val_t *found = NULL;
    for (size_t i = 0; i < event->u.map.count; i++) {
        const sl_kv_t *e = &event->u.map.items[i];
        if (e->key_len == kv->key_len && memcmp(e->key, kv->key, kv->key_len) == 0)
            found = e->val; /* duplicate keys: the last one */
    }
    return found;
}

static bool match_at(const sl_val_t *p, const sl_val_t *event, int depth) {
    if (depth > SL_WIRE_DEPTH_MAX || p->type != SL_VAL_MAP) return false;
    for (size_t i = 0; i < p->u.map.count; i++) {
        const sl_kv_t *kv = &p->u.map.items[i];
        bool ok;
        if (key_is(kv, "$or")) {
            ok = false;
            for (size_t k = 0; !ok && k < kv->val->u.arr.count; k++)
                ok = match_at(kv->val->u.arr.items[k], event, depth + 1);
        } else if (kv->val->type == SL_VAL_MAP) {
            const sl_val_t *f = field_of(event, kv);
            ok = match_at(kv->val, f && f->type == SL_VAL_MAP ? f : NULL, depth + 1);
        } else if (kv->val->type == SL_VAL_ARRAY) {
            ok = rules_match(kv->val, field_of(event, kv));
        } else {
            ok = false;
        }
        if (!ok) return false;
    }
    return true;
}

bool sl_pattern_match(const sl_val_t *pattern, const sl_val_t *event) {
    return pattern && match_at(pattern, event, 0);
}
