/* DynamoDB's JSON shapes <-> the core's typed values: AttributeValues, expression placeholders,
 * and the legacy condition parameters turned into expression trees. */
#include "api/dynamodb/internal.h"

#include "dynamodb/number.h"

#include <stdio.h>
#include <stdlib.h>

void sl_dapi_fail(sl_front_call_t *call, const sl_ddb_err_t *err) {
    const char *msg = err->message[0] ? err->message : NULL;
    switch (err->type) {
    case SL_DDB_ERR_VALIDATION:
        sl_front_fail(call, SL_AWS_VALIDATION, msg ? "%s" : NULL, msg);
        return;
    case SL_DDB_ERR_NOT_FOUND:
        sl_front_fail(call, SL_AWS_RESOURCE_NOT_FOUND, msg ? "%s" : NULL, msg);
        return;
    case SL_DDB_ERR_IN_USE:
        sl_front_fail(call, SL_AWS_RESOURCE_IN_USE, msg ? "%s" : NULL, msg);
        return;
    case SL_DDB_ERR_CONDITION:
        if (err->item) {
            /* ReturnValuesOnConditionCheckFailure: the old item beside the message. */
            sl_enc_map_begin(&call->enc);
            sl_enc_kv_cstr(&call->enc, "__type", SL_AWS_CONDITIONAL_CHECK_FAILED);
            sl_enc_kv_cstr(&call->enc, "message", msg ? msg : "");
            sl_enc_key(&call->enc, "Item");
            sl_dapi_encode_item(&call->enc, err->item);
            sl_enc_map_end(&call->enc);
            size_t len;
            char *body = sl_buf_detach(&call->out, &len);
            sl_front_respond(call, 400, "application/x-amz-json-1.0", body, len);
            free(body);
            return;
        }
        sl_front_fail(call, SL_AWS_CONDITIONAL_CHECK_FAILED, msg ? "%s" : NULL, msg);
        return;
    case SL_DDB_ERR_LIMIT:
        sl_front_fail(call, SL_AWS_LIMIT_EXCEEDED, msg ? "%s" : NULL, msg);
        return;
    case SL_DDB_ERR_INTERNAL:
    case SL_DDB_ERR_NONE:
        break;
    }
    sl_front_fail(call, SL_AWS_INTERNAL_SERVER_ERROR, "%s", sl_aws_failure_message(err->cause));
}

const char *sl_dapi_table(sl_front_call_t *call) {
    size_t len;
    const char *name = sl_val_get_str(call->in, "TableName", &len);
    if (!name) return NULL; /* the model's required-member check answered already */
    if (len < 3 || len > SL_DDB_NAME_MAX) {
        if (call->op && strcmp(call->op->name, "CreateTable") == 0)
            SL_DAPI_INVALID(call, "TableName must be at least 3 characters long and at most 255 "
                                  "characters long");
        else
            SL_DAPI_INVALID(call,
                            "1 validation error detected: Value '%s' at 'tableName' failed to "
                            "satisfy constraint: Member must have length %s",
                            name,
                            len < 3 ? "greater than or equal to 3" : "less than or equal to 255");
        return NULL;
    }
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.')) {
            if (call->op && strcmp(call->op->name, "CreateTable") == 0)
                SL_DAPI_INVALID(call, "TableName must satisfy regular expression pattern: "
                                      "[a-zA-Z0-9_.-]+");
            else
                SL_DAPI_INVALID(call,
                                "1 validation error detected: Value '%s' at 'tableName' failed "
                                "to satisfy constraint: Member must satisfy regular expression "
                                "pattern: [a-zA-Z0-9_.-]+",
                                name);
            return NULL;
        }
    }
    return name;
}

/* ---- attribute values ---- */

static const char *const TYPE_KEYS[] = {"S", "N", "B", "SS", "NS", "BS", "BOOL", "NULL", "M", "L"};

static int number(sl_front_call_t *call, const sl_val_t *in, sl_ddb_val_t *out) {
    sl_ddb_num_t n;
    sl_ddb_num_status_t st = sl_ddb_num_parse(in->u.str.ptr, in->u.str.len, &n);
    if (st == SL_DDB_NUM_SYNTAX) {
        SL_DAPI_INVALID(call, "%s%.*s", sl_ddb_num_message(st), (int)in->u.str.len, in->u.str.ptr);
        return -1;
    }
    if (st) {
        SL_DAPI_INVALID(call, "%s", sl_ddb_num_message(st));
        return -1;
    }
    char *text = sl_arena_alloc(call->arena, SL_DDB_NUM_TEXT_MAX + 1);
    if (!text) {
        sl_front_fail_internal(call, SL_ENOMEM);
        return -1;
    }
    out->type = SL_DDB_N;
    out->u.str.len = sl_ddb_num_format(&n, text);
    out->u.str.ptr = text;
    return 0;
}

static int scalar(sl_front_call_t *call, sl_ddb_type_t t, const sl_val_t *in, sl_ddb_val_t *out) {
    if (t == SL_DDB_N) return number(call, in, out);
    out->type = t;
    out->u.str.ptr = in->u.str.ptr;
    out->u.str.len = in->u.str.len;
    return 0;
}

int sl_dapi_value(sl_front_call_t *call, const sl_val_t *in, sl_ddb_val_t *out) {
    memset(out, 0, sizeof *out);
    int found = -1, count = 0;
    for (int i = 0; in && in->type == SL_VAL_MAP && i < 10; i++)
        if (sl_val_get(in, TYPE_KEYS[i])) {
            found = i;
            count++;
        }
    if (count == 0) {
        SL_DAPI_INVALID(call, "Supplied AttributeValue is empty, must contain exactly one of the "
                              "supported datatypes");
        return -1;
    }
    if (count > 1) {
        SL_DAPI_INVALID(call, "Supplied AttributeValue has more than one datatypes set, must "
                              "contain exactly one of the supported datatypes");
        return -1;
    }
    sl_ddb_type_t t = (sl_ddb_type_t)(found + 1);
    const sl_val_t *v = sl_val_get(in, TYPE_KEYS[found]);
    switch (t) {
    case SL_DDB_S:
    case SL_DDB_N:
    case SL_DDB_B:
        return scalar(call, t, v, out);
    case SL_DDB_BOOL:
        out->type = t;
        out->u.b = v->u.b;
        return 0;
    case SL_DDB_NULL:
        if (!v->u.b) {
            SL_DAPI_INVALID(call, "One or more parameter values were invalid: Null attribute "
                                  "value types must have the value of true");
            return -1;
        }
        out->type = t;
        return 0;
    case SL_DDB_SS:
    case SL_DDB_NS:
    case SL_DDB_BS:
    case SL_DDB_L: {
        size_t n = v->u.arr.count;
        if (n == 0 && t != SL_DDB_L) {
            SL_DAPI_INVALID(call, "%s",
                            t == SL_DDB_SS   ? "One or more parameter values were invalid: An "
                                               "string set  may not be empty"
                            : t == SL_DDB_NS ? "One or more parameter values were invalid: An "
                                               "number set  may not be empty"
                                             : "One or more parameter values were invalid: Binary "
                                               "sets should not be empty");
            return -1;
        }
        out->type = t;
        out->u.list.items = sl_arena_calloc(call->arena, n + 1, sizeof(sl_ddb_val_t));
        if (!out->u.list.items) {
            sl_front_fail_internal(call, SL_ENOMEM);
            return -1;
        }
        sl_ddb_type_t et = t == SL_DDB_SS ? SL_DDB_S : t == SL_DDB_NS ? SL_DDB_N : SL_DDB_B;
        for (size_t i = 0; i < n; i++) {
            sl_ddb_val_t *e = &out->u.list.items[i];
            int rc = t == SL_DDB_L ? sl_dapi_value(call, v->u.arr.items[i], e)
                                   : scalar(call, et, v->u.arr.items[i], e);
            if (rc) return rc;
            for (size_t j = 0; t != SL_DDB_L && j < i; j++)
                if (sl_ddb_val_equal(&out->u.list.items[j], e)) {
                    SL_DAPI_INVALID(call, "One or more parameter values were invalid: Input "
                                          "collection contains duplicates");
                    return -1;
                }
            out->u.list.count++;
        }
        return 0;
    }
    case SL_DDB_M: {
        sl_ddb_item_t m;
        if (sl_dapi_item(call, v, &m)) return -1;
        out->type = t;
        out->u.map.items = m.attrs;
        out->u.map.count = m.count;
        return 0;
    }
    }
    return -1;
}

int sl_dapi_item(sl_front_call_t *call, const sl_val_t *in, sl_ddb_item_t *out) {
    size_t n = in && in->type == SL_VAL_MAP ? in->u.map.count : 0;
    out->count = 0;
    out->attrs = sl_arena_calloc(call->arena, n + 1, sizeof(sl_ddb_attr_t));
    if (!out->attrs) {
        sl_front_fail_internal(call, SL_ENOMEM);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        const sl_kv_t *kv = &in->u.map.items[i];
        /* A repeated key: the last one wins, as in the JSON decoder. */
        sl_ddb_attr_t *a = NULL;
        for (size_t j = 0; j < out->count; j++)
            if (out->attrs[j].name_len == kv->key_len &&
                memcmp(out->attrs[j].name, kv->key, kv->key_len) == 0)
                a = &out->attrs[j];
        if (!a) a = &out->attrs[out->count++];
        a->name = kv->key;
        a->name_len = kv->key_len;
        if (sl_dapi_value(call, kv->val, &a->val)) return -1;
    }
    return 0;
}

void sl_dapi_encode_value(sl_enc_t *e, const sl_ddb_val_t *v) {
    sl_enc_map_begin(e);
    sl_enc_key(e, sl_ddb_type_name(v->type));
    switch (v->type) {
    case SL_DDB_S:
    case SL_DDB_N:
        sl_enc_str(e, v->u.str.ptr, v->u.str.len);
        break;
    case SL_DDB_B:
        sl_enc_bytes(e, v->u.str.ptr, v->u.str.len);
        break;
    case SL_DDB_BOOL:
        sl_enc_bool(e, v->u.b);
        break;
    case SL_DDB_NULL:
        sl_enc_bool(e, true);
        break;
    case SL_DDB_SS:
    case SL_DDB_NS:
    case SL_DDB_BS:
        sl_enc_array_begin(e);
        for (size_t i = 0; i < v->u.list.count; i++) {
            const sl_ddb_val_t *x = &v->u.list.items[i];
            if (v->type == SL_DDB_BS)
                sl_enc_bytes(e, x->u.str.ptr, x->u.str.len);
            else
                sl_enc_str(e, x->u.str.ptr, x->u.str.len);
        }
        sl_enc_array_end(e);
        break;
    case SL_DDB_L:
        sl_enc_array_begin(e);
        for (size_t i = 0; i < v->u.list.count; i++)
            sl_dapi_encode_value(e, &v->u.list.items[i]);
        sl_enc_array_end(e);
        break;
    case SL_DDB_M: {
        sl_ddb_item_t m = {v->u.map.items, v->u.map.count};
        sl_dapi_encode_item(e, &m);
        break;
    }
    }
    sl_enc_map_end(e);
}

void sl_dapi_encode_item(sl_enc_t *e, const sl_ddb_item_t *item) {
    sl_enc_map_begin(e);
    for (size_t i = 0; i < item->count; i++) {
        sl_enc_key_n(e, item->attrs[i].name, item->attrs[i].name_len);
        sl_dapi_encode_value(e, &item->attrs[i].val);
    }
    sl_enc_map_end(e);
}

/* ---- expressions ---- */

int sl_dapi_exprs_init(sl_front_call_t *call, const sl_val_t *in, sl_dapi_exprs_t *x) {
    memset(x, 0, sizeof *x);
    x->ctx.arena = call->arena;
    const sl_val_t *names = sl_val_get(in, "ExpressionAttributeNames");
    const sl_val_t *values = sl_val_get(in, "ExpressionAttributeValues");
    if (names && names->u.map.count == 0) {
        SL_DAPI_INVALID(call, "ExpressionAttributeNames must not be empty");
        return -1;
    }
    if (values && values->u.map.count == 0) {
        SL_DAPI_INVALID(call, "ExpressionAttributeValues must not be empty");
        return -1;
    }
    size_t nn = names ? names->u.map.count : 0, nv = values ? values->u.map.count : 0;
    x->ctx.names = sl_arena_calloc(call->arena, nn + 1, sizeof(sl_ddb_placeholder_t));
    x->ctx.values = sl_arena_calloc(call->arena, nv + 1, sizeof(sl_ddb_placeholder_t));
    if (!x->ctx.names || !x->ctx.values) {
        sl_front_fail_internal(call, SL_ENOMEM);
        return -1;
    }
    for (size_t i = 0; i < nn; i++) {
        const sl_kv_t *kv = &names->u.map.items[i];
        if (kv->key_len < 2 || kv->key[0] != '#') {
            SL_DAPI_INVALID(call,
                            "ExpressionAttributeNames contains invalid key: Syntax error; key: "
                            "\"%.*s\"",
                            (int)kv->key_len, kv->key);
            return -1;
        }
        sl_ddb_placeholder_t *p = &x->ctx.names[x->ctx.name_count++];
        p->key = kv->key;
        p->key_len = kv->key_len;
        p->name = kv->val->u.str.ptr;
        p->name_len = kv->val->u.str.len;
    }
    for (size_t i = 0; i < nv; i++) {
        const sl_kv_t *kv = &values->u.map.items[i];
        if (kv->key_len < 2 || kv->key[0] != ':') {
            SL_DAPI_INVALID(call,
                            "ExpressionAttributeValues contains invalid key: Syntax error; key: "
                            "\"%.*s\"",
                            (int)kv->key_len, kv->key);
            return -1;
        }
        sl_ddb_val_t *v = sl_arena_calloc(call->arena, 1, sizeof *v);
        if (!v) {
            sl_front_fail_internal(call, SL_ENOMEM);
            return -1;
        }
        if (sl_dapi_value(call, kv->val, v)) return -1;
        sl_ddb_placeholder_t *p = &x->ctx.values[x->ctx.value_count++];
        p->key = kv->key;
        p->key_len = kv->key_len;
        p->value = v;
    }
    return 0;
}

static int unused(sl_front_call_t *call, const sl_ddb_placeholder_t *ps, size_t n,
                  const char *what) {
    char keys[1024];
    size_t o = 0;
    for (size_t i = 0; i < n && o < sizeof keys; i++)
        if (!ps[i].used)
            o += (size_t)snprintf(keys + o, sizeof keys - o, "%s%.*s", o ? ", " : "",
                                  (int)ps[i].key_len, ps[i].key);
    if (o == 0) return 0;
    SL_DAPI_INVALID(call, "Value provided in %s unused in expressions: keys: {%s}", what, keys);
    return -1;
}

int sl_dapi_exprs_finish(sl_front_call_t *call, sl_dapi_exprs_t *x) {
    bool has_names = x->ctx.name_count > 0, has_values = x->ctx.value_count > 0;
    if (!x->any_expression && has_names) {
        SL_DAPI_INVALID(call, "ExpressionAttributeNames can only be specified when using "
                              "expressions");
        return -1;
    }
    if (!x->any_expression && has_values) {
        SL_DAPI_INVALID(call, "ExpressionAttributeValues can only be specified when using "
                              "expressions");
        return -1;
    }
    if (unused(call, x->ctx.names, x->ctx.name_count, "ExpressionAttributeNames")) return -1;
    return unused(call, x->ctx.values, x->ctx.value_count, "ExpressionAttributeValues");
}

int sl_dapi_condition(sl_front_call_t *call, sl_dapi_exprs_t *x, const char *name,
                      sl_ddb_expr_t **out) {
    size_t len;
    const char *text = sl_val_get_str(call->in, name, &len);
    *out = NULL;
    if (!text) return 0;
    x->any_expression = true;
    int rc = sl_ddb_parse_condition(&x->ctx, name, text, len, out);
    if (rc == SL_ENOMEM)
        sl_front_fail_internal(call, rc);
    else if (rc)
        SL_DAPI_INVALID(call, "%s", x->ctx.error);
    return rc ? -1 : 0;
}

int sl_dapi_projection(sl_front_call_t *call, sl_dapi_exprs_t *x, const sl_val_t *in,
                       sl_ddb_projection_t **out) {
    *out = NULL;
    const sl_val_t *pe = sl_val_get(in, "ProjectionExpression");
    const sl_val_t *atg = sl_val_get(in, "AttributesToGet");
    if (pe && atg) {
        SL_DAPI_INVALID(call, "Can not use both expression and non-expression parameters in the "
                              "same request: Non-expression parameters: {AttributesToGet} "
                              "Expression parameters: {ProjectionExpression}");
        return -1;
    }
    if (!pe && !atg) return 0;
    *out = sl_arena_calloc(call->arena, 1, sizeof **out);
    if (!*out) {
        sl_front_fail_internal(call, SL_ENOMEM);
        return -1;
    }
    if (pe) {
        x->any_expression = true;
        int rc = sl_ddb_parse_projection(&x->ctx, pe->u.str.ptr, pe->u.str.len, *out);
        if (rc == SL_ENOMEM)
            sl_front_fail_internal(call, rc);
        else if (rc)
            SL_DAPI_INVALID(call, "%s", x->ctx.error);
        return rc ? -1 : 0;
    }
    size_t n = atg->u.arr.count;
    (*out)->paths = sl_arena_calloc(call->arena, n + 1, sizeof(sl_ddb_path_t));
    if (!(*out)->paths) {
        sl_front_fail_internal(call, SL_ENOMEM);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        const sl_val_t *s = atg->u.arr.items[i];
        for (size_t j = 0; j < i; j++)
            if (atg->u.arr.items[j]->u.str.len == s->u.str.len &&
                memcmp(atg->u.arr.items[j]->u.str.ptr, s->u.str.ptr, s->u.str.len) == 0) {
                SL_DAPI_INVALID(call,
                                "One or more parameter values were invalid: Duplicate "
                                "value in attribute name: %.*s",
                                (int)s->u.str.len, s->u.str.ptr);
                return -1;
            }
        sl_ddb_expr_t *p = sl_ddb_expr_path1(call->arena, s->u.str.ptr, s->u.str.len);
        if (!p) {
            sl_front_fail_internal(call, SL_ENOMEM);
            return -1;
        }
        (*out)->paths[(*out)->count++] = p->path;
    }
    return 0;
}

int sl_dapi_no_mix(sl_front_call_t *call, const char *const *legacy, size_t nl,
                   const char *const *modern, size_t nm) {
    char l[256] = "", m[256] = "";
    size_t lo = 0, mo = 0;
    for (size_t i = 0; i < nl; i++)
        if (sl_val_get(call->in, legacy[i]))
            lo += (size_t)snprintf(l + lo, sizeof l - lo, "%s%s", lo ? ", " : "", legacy[i]);
    for (size_t i = 0; i < nm; i++)
        if (sl_val_get(call->in, modern[i]))
            mo += (size_t)snprintf(m + mo, sizeof m - mo, "%s%s", mo ? ", " : "", modern[i]);
    if (!lo || !mo) return 0;
    SL_DAPI_INVALID(call,
                    "Can not use both expression and non-expression parameters in the same "
                    "request: Non-expression parameters: {%s} Expression parameters: {%s}",
                    l, m);
    return -1;
}

/* ---- legacy conditions ---- */

static const struct {
    const char *name;
    int args; /* -1: one or more */
} LEGACY_OPS[] = {
    {"EQ", 1},          {"NE", 1},       {"LE", 1},      {"LT", 1},       {"GE", 1},
    {"GT", 1},          {"NOT_NULL", 0}, {"NULL", 0},    {"CONTAINS", 1}, {"NOT_CONTAINS", 1},
    {"BEGINS_WITH", 1}, {"IN", -1},      {"BETWEEN", 2},
};

static sl_ddb_expr_t *legacy_one(sl_front_call_t *call, const char *attr, size_t attr_len,
                                 const char *op, const sl_ddb_val_t *vals, size_t n) {
    sl_arena_t *a = call->arena;
    sl_ddb_expr_t *path = sl_ddb_expr_path1(a, attr, attr_len), *e = NULL;
    if (!path) return NULL;
    static const char *const cmps[] = {"EQ", "NE", "LT", "LE", "GT", "GE"};
    static const sl_ddb_cmp_t cmpv[] = {SL_DDB_EQ, SL_DDB_NE, SL_DDB_LT,
                                        SL_DDB_LE, SL_DDB_GT, SL_DDB_GE};
    for (int i = 0; i < 6; i++)
        if (strcmp(op, cmps[i]) == 0) {
            e = sl_ddb_expr_new(a, SL_DDB_X_CMP, 2);
            if (!e) return NULL;
            e->cmp = cmpv[i];
            e->args[0] = path;
            e->args[1] = sl_ddb_expr_value(a, &vals[0]);
            return e;
        }
    if (strcmp(op, "NOT_NULL") == 0 || strcmp(op, "NULL") == 0) {
        e = sl_ddb_expr_new(a, op[0] == 'N' && op[1] == 'O' ? SL_DDB_X_EXISTS : SL_DDB_X_NOT_EXISTS,
                            1);
        if (e) e->path = path->path, e->args[0] = path;
        return e;
    }
    if (strcmp(op, "CONTAINS") == 0 || strcmp(op, "NOT_CONTAINS") == 0 ||
        strcmp(op, "BEGINS_WITH") == 0) {
        e = sl_ddb_expr_new(a, op[0] == 'B' ? SL_DDB_X_BEGINS_WITH : SL_DDB_X_CONTAINS, 2);
        if (!e) return NULL;
        e->path = path->path;
        e->args[0] = path;
        e->args[1] = sl_ddb_expr_value(a, &vals[0]);
        if (op[0] == 'N') {
            sl_ddb_expr_t *not = sl_ddb_expr_new(a, SL_DDB_X_NOT, 1);
            if (not ) not ->args[0] = e;
            /* NOT_CONTAINS is false for a missing attribute, unlike NOT contains(). */
            sl_ddb_expr_t *ex = sl_ddb_expr_new(a, SL_DDB_X_EXISTS, 1);
            sl_ddb_expr_t *both = sl_ddb_expr_new(a, SL_DDB_X_AND, 2);
            if (!not || !ex || !both) return NULL;
            ex->path = path->path;
            ex->args[0] = path;
            both->args[0] = ex;
            both->args[1] = not ;
            return both;
        }
        return e;
    }
    if (strcmp(op, "IN") == 0) {
        e = sl_ddb_expr_new(a, SL_DDB_X_IN, n + 1);
        if (!e) return NULL;
        e->args[0] = path;
        for (size_t i = 0; i < n; i++)
            e->args[i + 1] = sl_ddb_expr_value(a, &vals[i]);
        return e;
    }
    e = sl_ddb_expr_new(a, SL_DDB_X_BETWEEN, 3);
    if (!e) return NULL;
    e->args[0] = path;
    e->args[1] = sl_ddb_expr_value(a, &vals[0]);
    e->args[2] = sl_ddb_expr_value(a, &vals[1]);
    return e;
}

int sl_dapi_legacy_conditions(sl_front_call_t *call, const sl_val_t *map, bool expected,
                              sl_ddb_expr_t **out) {
    *out = NULL;
    if (!map) return 0;
    size_t op_len = 0;
    const char *cop = sl_val_get_str(call->in, "ConditionalOperator", &op_len);
    bool use_or = cop && strcmp(cop, "OR") == 0;
    for (size_t i = 0; i < map->u.map.count; i++) {
        const sl_kv_t *kv = &map->u.map.items[i];
        const sl_val_t *c = kv->val;
        const sl_val_t *value = sl_val_get(c, "Value");
        const sl_val_t *list = sl_val_get(c, "AttributeValueList");
        const sl_val_t *exists = sl_val_get(c, "Exists");
        size_t len;
        const char *op = sl_val_get_str(c, "ComparisonOperator", &len);
        /* The values outlive this call (the tree points at them): arena, not stack. */
        size_t cap = list && list->u.arr.count > 2 ? list->u.arr.count : 2;
        sl_ddb_val_t *vals = sl_arena_calloc(call->arena, cap, sizeof *vals);
        sl_ddb_val_t *many = vals;
        size_t n = 0;
        if (!vals) {
            sl_front_fail_internal(call, SL_ENOMEM);
            return -1;
        }
        sl_ddb_expr_t *e = NULL;
        if (expected && exists && op) {
            SL_DAPI_INVALID(call,
                            "One or more parameter values were invalid: Exists and "
                            "ComparisonOperator cannot be used together for Attribute: %.*s",
                            (int)kv->key_len, kv->key);
            return -1;
        }
        if (value && list) {
            SL_DAPI_INVALID(call,
                            "One or more parameter values were invalid: Value and "
                            "AttributeValueList cannot be used together for Attribute: %.*s",
                            (int)kv->key_len, kv->key);
            return -1;
        }
        if (!op) {
            if (!expected) {
                SL_DAPI_INVALID(call,
                                "1 validation error detected: Value null at "
                                "'keyConditions.%.*s.member.comparisonOperator' failed to "
                                "satisfy constraint: Member must not be null",
                                (int)kv->key_len, kv->key);
                return -1;
            }
            if (list) {
                SL_DAPI_INVALID(call,
                                "One or more parameter values were invalid: AttributeValueList "
                                "can only be used with a ComparisonOperator for Attribute: %.*s",
                                (int)kv->key_len, kv->key);
                return -1;
            }
            bool ex = !exists || exists->u.b;
            if (ex && !value) {
                SL_DAPI_INVALID(call,
                                "One or more parameter values were invalid: Value must be "
                                "provided when Exists is %s for Attribute: %.*s",
                                exists ? "true" : "null", (int)kv->key_len, kv->key);
                return -1;
            }
            if (!ex && value) {
                SL_DAPI_INVALID(call,
                                "One or more parameter values were invalid: Value cannot be used "
                                "when Exists is false for Attribute: %.*s",
                                (int)kv->key_len, kv->key);
                return -1;
            }
            if (value && sl_dapi_value(call, value, &vals[0])) return -1;
            e = legacy_one(call, kv->key, kv->key_len, ex ? "EQ" : "NULL", vals, 1);
        } else {
            int want = -2;
            for (size_t j = 0; j < sizeof LEGACY_OPS / sizeof LEGACY_OPS[0]; j++)
                if (strcmp(LEGACY_OPS[j].name, op) == 0) want = LEGACY_OPS[j].args;
            if (value) {
                if (sl_dapi_value(call, value, &vals[0])) return -1;
                n = 1;
            } else if (list) {
                n = list->u.arr.count;
                for (size_t j = 0; j < n; j++)
                    if (sl_dapi_value(call, list->u.arr.items[j], &many[j])) return -1;
            }
            if (want != 0 && want != -2 && !value && !list) {
                SL_DAPI_INVALID(call,
                                "One or more parameter values were invalid: Value or "
                                "AttributeValueList must be used with ComparisonOperator: %s for "
                                "Attribute: %.*s",
                                op, (int)kv->key_len, kv->key);
                return -1;
            }
            if (want == -2 || (want >= 0 && (size_t)want != n) || (want == -1 && n == 0)) {
                SL_DAPI_INVALID(call,
                                "One or more parameter values were invalid: Invalid number of "
                                "argument(s) for the %s ComparisonOperator",
                                op);
                return -1;
            }
            e = legacy_one(call, kv->key, kv->key_len, op, many, n);
        }
        if (!e) {
            sl_front_fail_internal(call, SL_ENOMEM);
            return -1;
        }
        if (!*out) {
            *out = e;
            continue;
        }
        sl_ddb_expr_t *j = sl_ddb_expr_new(call->arena, use_or ? SL_DDB_X_OR : SL_DDB_X_AND, 2);
        if (!j) {
            sl_front_fail_internal(call, SL_ENOMEM);
            return -1;
        }
        j->args[0] = *out;
        j->args[1] = e;
        *out = j;
    }
    return 0;
}
