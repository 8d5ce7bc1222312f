/* DynamoDB item handlers: GetItem, PutItem, UpdateItem, DeleteItem, Query, Scan, BatchGetItem,
 * BatchWriteItem. */
#include "api/dynamodb/internal.h"

#include <stdio.h>

/* ---- writes ---- */

typedef struct {
    sl_ddb_item_t *attrs; /* ReturnValues, or NULL */
    int status;
} write_state_t;

static void write_finish(sl_front_call_t *call) {
    write_state_t *st = call->state;
    if (st->status) {
        sl_front_fail(call, SL_AWS_INTERNAL_SERVER_ERROR, "%s", sl_aws_failure_message(st->status));
        return;
    }
    sl_enc_map_begin(&call->enc);
    if (st->attrs && st->attrs->count) {
        sl_enc_key(&call->enc, "Attributes");
        sl_dapi_encode_item(&call->enc, st->attrs);
    }
    sl_enc_map_end(&call->enc);
    sl_front_reply(call);
}

static void write_done(void *ctx, int status) {
    sl_front_call_t *call = ctx;
    ((write_state_t *)call->state)->status = status;
    sl_front_post(call, write_finish);
}

static int return_values(sl_front_call_t *call, sl_ddb_write_kind_t kind, sl_ddb_rv_t *out) {
    size_t len;
    const char *rv = sl_val_get_str(call->in, "ReturnValues", &len);
    *out = SL_DDB_RV_NONE;
    if (!rv) return 0;
    static const char *const names[] = {"NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW"};
    for (int i = 0; i < 5; i++)
        if (strcmp(rv, names[i]) == 0) *out = (sl_ddb_rv_t)i;
    if (kind != SL_DDB_UPDATE && *out != SL_DDB_RV_NONE && *out != SL_DDB_RV_ALL_OLD) {
        SL_DAPI_INVALID(call, "ReturnValues can only be ALL_OLD or NONE");
        return -1;
    }
    return 0;
}

/* AttributeUpdates -> an update (legacy UpdateItem). */
static int attribute_updates(sl_front_call_t *call, const sl_val_t *au, sl_ddb_update_t *out) {
    size_t n = au->u.map.count;
    out->actions = sl_arena_calloc(call->arena, n + 1, sizeof(sl_ddb_action_t));
    out->count = 0;
    if (!out->actions) {
        sl_front_fail_internal(call, SL_ENOMEM);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        const sl_kv_t *kv = &au->u.map.items[i];
        size_t len;
        const char *action = sl_val_get_str(kv->val, "Action", &len);
        const sl_val_t *value = sl_val_get(kv->val, "Value");
        sl_ddb_action_t *a = &out->actions[out->count];
        sl_ddb_expr_t *path = sl_ddb_expr_path1(call->arena, kv->key, kv->key_len);
        if (!path) {
            sl_front_fail_internal(call, SL_ENOMEM);
            return -1;
        }
        a->path = path->path;
        bool is_add = action && strcmp(action, "ADD") == 0;
        bool is_delete = action && strcmp(action, "DELETE") == 0;
        if (!value && !is_delete) {
            SL_DAPI_INVALID(call,
                            "One or more parameter values were invalid: Only DELETE action is "
                            "allowed when no attribute value is specified");
            return -1;
        }
        sl_ddb_val_t *v = NULL;
        if (value) {
            v = sl_arena_calloc(call->arena, 1, sizeof *v);
            if (!v || sl_dapi_value(call, value, v)) {
                if (!v) sl_front_fail_internal(call, SL_ENOMEM);
                return -1;
            }
            a->value = sl_ddb_expr_value(call->arena, v);
        }
        if (is_delete) {
            a->kind = v ? SL_DDB_DELETE : SL_DDB_REMOVE;
            if (v && !sl_ddb_is_set(v->type)) {
                SL_DAPI_INVALID(call,
                                "One or more parameter values were invalid: DELETE action "
                                "with value is not supported for the type %s",
                                sl_ddb_type_name(v->type));
                return -1;
            }
        } else if (is_add) {
            a->kind = SL_DDB_ADD;
            a->legacy_add_list = true;
            if (v->type != SL_DDB_N && v->type != SL_DDB_L && !sl_ddb_is_set(v->type)) {
                SL_DAPI_INVALID(call,
                                "One or more parameter values were invalid: ADD action is "
                                "not supported for the type %s",
                                sl_ddb_type_name(v->type));
                return -1;
            }
        } else {
            a->kind = SL_DDB_SET;
        }
        out->count++;
    }
    return 0;
}

static void write_item(sl_front_call_t *call, sl_ddb_write_kind_t kind) {
    write_state_t *st = sl_arena_calloc(call->arena, 1, sizeof *st);
    if (!st) {
        sl_front_fail_internal(call, SL_ENOMEM);
        return;
    }
    call->state = st;
    sl_ddb_write_t w = {.kind = kind, .table = sl_dapi_table(call)};
    if (!w.table) return;
    static const char *const legacy[] = {"Expected", "AttributeUpdates"};
    static const char *const modern[] = {"ConditionExpression", "UpdateExpression"};
    if (sl_dapi_no_mix(call, legacy, kind == SL_DDB_UPDATE ? 2 : 1, modern,
                       kind == SL_DDB_UPDATE ? 2 : 1))
        return;
    if (sl_dapi_item(call, sl_val_get(call->in, kind == SL_DDB_PUT ? "Item" : "Key"), &w.item))
        return;
    if (return_values(call, kind, &w.return_values)) return;
    size_t len;
    const char *rvf = sl_val_get_str(call->in, "ReturnValuesOnConditionCheckFailure", &len);
    w.return_old_on_failure = rvf && strcmp(rvf, "ALL_OLD") == 0;
    sl_dapi_exprs_t x;
    if (sl_dapi_exprs_init(call, call->in, &x)) return;
    sl_ddb_expr_t *cond = NULL;
    if (sl_dapi_condition(call, &x, "ConditionExpression", &cond)) return;
    if (!cond && sl_dapi_legacy_conditions(call, sl_val_get(call->in, "Expected"), true, &cond))
        return;
    w.condition = cond;
    sl_ddb_update_t *u = NULL;
    if (kind == SL_DDB_UPDATE) {
        u = sl_arena_calloc(call->arena, 1, sizeof *u);
        if (!u) {
            sl_front_fail_internal(call, SL_ENOMEM);
            return;
        }
        const char *ue = sl_val_get_str(call->in, "UpdateExpression", &len);
        const sl_val_t *au = sl_val_get(call->in, "AttributeUpdates");
        if (ue) {
            x.any_expression = true;
            int rc = sl_ddb_parse_update(&x.ctx, ue, len, u);
            if (rc) {
                if (rc == SL_ENOMEM)
                    sl_front_fail_internal(call, rc);
                else
                    SL_DAPI_INVALID(call, "%s", x.ctx.error);
                return;
            }
        } else if (au && attribute_updates(call, au, u)) {
            return;
        }
        w.update = u;
    }
    if (sl_dapi_exprs_finish(call, &x)) return;
    sl_ddb_err_t err;
    if (sl_ddb_write(sl_dapi_engine(call), &w, call->now_ms, call->arena, &st->attrs, &err,
                     write_done, call))
        sl_dapi_fail(call, &err);
}

void sl_dapi_put_item(sl_front_call_t *call) {
    write_item(call, SL_DDB_PUT);
}

void sl_dapi_update_item(sl_front_call_t *call) {
    write_item(call, SL_DDB_UPDATE);
}

void sl_dapi_delete_item(sl_front_call_t *call) {
    write_item(call, SL_DDB_DELETE_ITEM);
}

/* ---- reads ---- */

void sl_dapi_get_item(sl_front_call_t *call) {
    const char *table = sl_dapi_table(call);
    if (!table) return;
    sl_ddb_item_t key;
    if (sl_dapi_item(call, sl_val_get(call->in, "Key"), &key)) return;
    sl_dapi_exprs_t x;
    sl_ddb_projection_t *proj;
    if (sl_dapi_exprs_init(call, call->in, &x) || sl_dapi_projection(call, &x, call->in, &proj) ||
        sl_dapi_exprs_finish(call, &x))
        return;
    sl_ddb_item_t *item;
    sl_ddb_err_t err;
    if (sl_ddb_get(sl_dapi_engine(call), table, &key, proj, call->now_ms, call->arena, &item,
                   &err)) {
        sl_dapi_fail(call, &err);
        return;
    }
    sl_enc_map_begin(&call->enc);
    if (item) {
        sl_enc_key(&call->enc, "Item");
        sl_dapi_encode_item(&call->enc, item);
    }
    sl_enc_map_end(&call->enc);
    sl_front_reply(call);
}

static void query_or_scan(sl_front_call_t *call, bool scan) {
    sl_ddb_query_t q = {.table = sl_dapi_table(call)};
    if (!q.table) return;
    size_t len;
    q.index = sl_val_get_str(call->in, "IndexName", &len);
    static const char *const legacy[] = {"KeyConditions", "QueryFilter", "ScanFilter",
                                         "AttributesToGet"};
    static const char *const modern[] = {"KeyConditionExpression", "FilterExpression",
                                         "ProjectionExpression"};
    if (sl_dapi_no_mix(call, legacy, 4, modern, 3)) return;
    sl_dapi_exprs_t x;
    if (sl_dapi_exprs_init(call, call->in, &x)) return;
    sl_ddb_expr_t *kc = NULL, *filter = NULL;
    sl_ddb_projection_t *proj = NULL;
    if (!scan) {
        if (sl_dapi_condition(call, &x, "KeyConditionExpression", &kc)) return;
        if (!kc &&
            sl_dapi_legacy_conditions(call, sl_val_get(call->in, "KeyConditions"), false, &kc))
            return;
        if (!kc) {
            SL_DAPI_INVALID(call, "Either the KeyConditions or KeyConditionExpression parameter "
                                  "must be specified in the request.");
            return;
        }
    }
    if (sl_dapi_condition(call, &x, "FilterExpression", &filter)) return;
    if (!filter &&
        sl_dapi_legacy_conditions(call, sl_val_get(call->in, scan ? "ScanFilter" : "QueryFilter"),
                                  false, &filter))
        return;
    if (sl_dapi_projection(call, &x, call->in, &proj) || sl_dapi_exprs_finish(call, &x)) return;
    q.key_condition = kc;
    q.filter = filter;
    q.projection = proj;
    bool forward = true;
    if (sl_val_get_bool(call->in, "ScanIndexForward", &forward)) q.backward = !forward;
    sl_val_get_int(call->in, "Limit", &q.limit);
    const char *select = sl_val_get_str(call->in, "Select", &len);
    q.count_only = select && strcmp(select, "COUNT") == 0;
    const sl_val_t *esk = sl_val_get(call->in, "ExclusiveStartKey");
    sl_ddb_item_t start;
    if (esk) {
        if (sl_dapi_item(call, esk, &start)) return;
        q.start_key = &start;
    }
    bool has_seg = sl_val_get_int(call->in, "Segment", &q.segment);
    bool has_total = sl_val_get_int(call->in, "TotalSegments", &q.total_segments);
    if (has_seg != has_total) {
        SL_DAPI_INVALID(call, "The TotalSegments parameter is required but was not present in "
                              "the request when Segment parameter is present");
        return;
    }
    if (has_total && q.segment >= q.total_segments) {
        SL_DAPI_INVALID(call,
                        "The Segment parameter is zero-based and must be less than "
                        "parameter TotalSegments: Segment: %lld is not less than "
                        "TotalSegments: %lld",
                        (long long)q.segment, (long long)q.total_segments);
        return;
    }
    sl_ddb_page_t page;
    sl_ddb_err_t err;
    if (sl_ddb_query(sl_dapi_engine(call), &q, scan, call->now_ms, call->arena, &page, &err)) {
        sl_dapi_fail(call, &err);
        return;
    }
    sl_enc_t *e = &call->enc;
    sl_enc_map_begin(e);
    if (!q.count_only) {
        sl_enc_key(e, "Items");
        sl_enc_array_begin(e);
        for (size_t i = 0; i < page.count; i++)
            sl_dapi_encode_item(e, &page.items[i]);
        sl_enc_array_end(e);
    }
    sl_enc_kv_int(e, "Count", (int64_t)page.count);
    sl_enc_kv_int(e, "ScannedCount", (int64_t)page.scanned);
    if (page.last_key) {
        sl_enc_key(e, "LastEvaluatedKey");
        sl_dapi_encode_item(e, page.last_key);
    }
    sl_enc_map_end(e);
    sl_front_reply(call);
}

void sl_dapi_query(sl_front_call_t *call) {
    query_or_scan(call, false);
}

void sl_dapi_scan(sl_front_call_t *call) {
    query_or_scan(call, true);
}

void sl_dapi_batch_get(sl_front_call_t *call) {
    const sl_val_t *ri = sl_val_get(call->in, "RequestItems");
    size_t total = 0;
    for (size_t i = 0; ri && i < ri->u.map.count; i++) {
        const sl_val_t *keys = sl_val_get(ri->u.map.items[i].val, "Keys");
        total += keys ? keys->u.arr.count : 0;
    }
    if (total > 100) {
        SL_DAPI_INVALID(call, "Too many items requested for the BatchGetItem call");
        return;
    }
    /* Check every table first (an unknown table fails the whole call). */
    sl_ddb_t *d = sl_dapi_engine(call);
    sl_enc_t *e = &call->enc;
    sl_ddb_item_t **found = sl_arena_calloc(call->arena, total + 1, sizeof *found);
    if (!found) {
        sl_front_fail_internal(call, SL_ENOMEM);
        return;
    }
    size_t k = 0;
    for (size_t i = 0; ri && i < ri->u.map.count; i++) {
        const sl_kv_t *kv = &ri->u.map.items[i];
        const char *table = sl_arena_strndup(call->arena, kv->key, kv->key_len);
        const sl_val_t *keys = sl_val_get(kv->val, "Keys");
        sl_dapi_exprs_t x;
        sl_ddb_projection_t *proj;
        /* Each table's request carries its own placeholders. */
        if (sl_dapi_exprs_init(call, kv->val, &x) || sl_dapi_projection(call, &x, kv->val, &proj) ||
            sl_dapi_exprs_finish(call, &x))
            return;
        for (size_t j = 0; keys && j < keys->u.arr.count; j++) {
            sl_ddb_item_t key;
            if (sl_dapi_item(call, keys->u.arr.items[j], &key)) return;
            for (size_t m = 0; m < j; m++) {
                sl_ddb_item_t other;
                if (sl_dapi_item(call, keys->u.arr.items[m], &other)) return;
                sl_ddb_val_t a = {.type = SL_DDB_M, .u.map = {key.attrs, key.count}};
                sl_ddb_val_t b = {.type = SL_DDB_M, .u.map = {other.attrs, other.count}};
                if (sl_ddb_val_equal(&a, &b)) {
                    SL_DAPI_INVALID(call, "Provided list of item keys contains duplicates");
                    return;
                }
            }
            sl_ddb_err_t err;
            if (sl_ddb_get(d, table, &key, proj, call->now_ms, call->arena, &found[k++], &err)) {
                sl_dapi_fail(call, &err);
                return;
            }
        }
    }
    k = 0;
    sl_enc_map_begin(e);
    sl_enc_key(e, "Responses");
    sl_enc_map_begin(e);
    for (size_t i = 0; ri && i < ri->u.map.count; i++) {
        const sl_kv_t *kv = &ri->u.map.items[i];
        const sl_val_t *keys = sl_val_get(kv->val, "Keys");
        sl_enc_key_n(e, kv->key, kv->key_len);
        sl_enc_array_begin(e);
        for (size_t j = 0; keys && j < keys->u.arr.count; j++, k++)
            if (found[k]) sl_dapi_encode_item(e, found[k]);
        sl_enc_array_end(e);
    }
    sl_enc_map_end(e);
    sl_enc_key(e, "UnprocessedKeys");
    sl_enc_map_begin(e);
    sl_enc_map_end(e);
    sl_enc_map_end(e);
    sl_front_reply(call);
}

static void batch_finish(sl_front_call_t *call) {
    write_state_t *st = call->state;
    if (st->status) {
        sl_front_fail(call, SL_AWS_INTERNAL_SERVER_ERROR, "%s", sl_aws_failure_message(st->status));
        return;
    }
    sl_enc_map_begin(&call->enc);
    sl_enc_key(&call->enc, "UnprocessedItems");
    sl_enc_map_begin(&call->enc);
    sl_enc_map_end(&call->enc);
    sl_enc_map_end(&call->enc);
    sl_front_reply(call);
}

static void batch_done(void *ctx, int status) {
    sl_front_call_t *call = ctx;
    ((write_state_t *)call->state)->status = status;
    sl_front_post(call, batch_finish);
}

void sl_dapi_batch_write(sl_front_call_t *call) {
    const sl_val_t *ri = sl_val_get(call->in, "RequestItems");
    size_t total = 0;
    for (size_t i = 0; ri && i < ri->u.map.count; i++)
        total += ri->u.map.items[i].val->u.arr.count;
    if (total > 25) {
        SL_DAPI_INVALID(call, "Too many items requested for the BatchWriteItem call");
        return;
    }
    write_state_t *st = sl_arena_calloc(call->arena, 1, sizeof *st);
    sl_ddb_write_t *ws = sl_arena_calloc(call->arena, total + 1, sizeof *ws);
    if (!st || !ws) {
        sl_front_fail_internal(call, SL_ENOMEM);
        return;
    }
    call->state = st;
    size_t n = 0;
    for (size_t i = 0; ri && i < ri->u.map.count; i++) {
        const sl_kv_t *kv = &ri->u.map.items[i];
        const char *table = sl_arena_strndup(call->arena, kv->key, kv->key_len);
        for (size_t j = 0; j < kv->val->u.arr.count; j++) {
            const sl_val_t *r = kv->val->u.arr.items[j];
            const sl_val_t *put = sl_val_get(r, "PutRequest"),
                           *del = sl_val_get(r, "DeleteRequest");
            if ((put && del) || (!put && !del)) {
                SL_DAPI_INVALID(call, "Supplied AttributeValue has more than one datatypes set, "
                                      "must contain exactly one of the supported datatypes");
                return;
            }
            sl_ddb_write_t *w = &ws[n++];
            w->table = table;
            w->kind = put ? SL_DDB_PUT : SL_DDB_DELETE_ITEM;
            if (sl_dapi_item(call, put ? sl_val_get(put, "Item") : sl_val_get(del, "Key"),
                             &w->item))
                return;
        }
    }
    sl_ddb_err_t err;
    if (sl_ddb_write_batch(sl_dapi_engine(call), ws, n, call->now_ms, call->arena, &err, batch_done,
                           call))
        sl_dapi_fail(call, &err);
}
