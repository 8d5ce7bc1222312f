/* DynamoDB table handlers: CreateTable, DescribeTable, DeleteTable, ListTables, UpdateTable,
 * TagResource, UntagResource, ListTagsOfResource, DescribeTimeToLive. */
#include "api/dynamodb/internal.h"

#include <stdio.h>
#include <stdlib.h>

static void copy_str(char *dst, size_t cap, const sl_val_t *v) {
    if (v && v->type == SL_VAL_STRING) snprintf(dst, cap, "%.*s", (int)v->u.str.len, v->u.str.ptr);
}

/* KeySchema -> hash and range. 0 or -1 (answered). */
static int key_schema(sl_front_call_t *call, const sl_val_t *ks, sl_ddb_keyattr_t *hash,
                      sl_ddb_keyattr_t *range) {
    size_t n = ks ? ks->u.arr.count : 0;
    memset(hash, 0, sizeof *hash);
    memset(range, 0, sizeof *range);
    for (size_t i = 0; i < n; i++) {
        size_t len;
        const char *type = sl_val_get_str(ks->u.arr.items[i], "KeyType", &len);
        bool is_hash = type && strcmp(type, "HASH") == 0;
        if (i == 0 && !is_hash) {
            SL_DAPI_INVALID(call, "Invalid KeySchema: The first KeySchemaElement is not a HASH "
                                  "key type");
            return -1;
        }
        if (i == 1 && is_hash) {
            SL_DAPI_INVALID(call, "Too many hash keys specified.  All Dynamo DB tables must have "
                                  "exactly one hash key");
            return -1;
        }
        copy_str(i == 0 ? hash->name : range->name, sizeof hash->name,
                 sl_val_get(ks->u.arr.items[i], "AttributeName"));
    }
    if (n == 2 && strcmp(hash->name, range->name) == 0) {
        SL_DAPI_INVALID(call, "Both the Hash Key and the Range Key element in the KeySchema have "
                              "the same name");
        return -1;
    }
    return 0;
}

static void throughput(const sl_val_t *pt, int64_t *rcu, int64_t *wcu) {
    *rcu = *wcu = 0;
    sl_val_get_int(pt, "ReadCapacityUnits", rcu);
    sl_val_get_int(pt, "WriteCapacityUnits", wcu);
}

static int billing(sl_front_call_t *call, const sl_val_t *in, bool *on_demand, int64_t *rcu,
                   int64_t *wcu) {
    size_t len;
    const char *mode = sl_val_get_str(in, "BillingMode", &len);
    const sl_val_t *pt = sl_val_get(in, "ProvisionedThroughput");
    *on_demand = mode && strcmp(mode, "PAY_PER_REQUEST") == 0;
    if (*on_demand && pt) {
        SL_DAPI_INVALID(call, "One or more parameter values were invalid: Neither "
                              "ReadCapacityUnits nor WriteCapacityUnits can be specified when "
                              "BillingMode is PAY_PER_REQUEST");
        return -1;
    }
    if (!*on_demand && !pt) {
        SL_DAPI_INVALID(call, "One or more parameter values were invalid: ReadCapacityUnits and "
                              "WriteCapacityUnits must both be specified when BillingMode is "
                              "PROVISIONED");
        return -1;
    }
    throughput(pt, rcu, wcu);
    return 0;
}

static int gsi_of(sl_front_call_t *call, const sl_val_t *g, bool on_demand, sl_ddb_gsi_t *out) {
    memset(out, 0, sizeof *out);
    copy_str(out->name, sizeof out->name, sl_val_get(g, "IndexName"));
    if (key_schema(call, sl_val_get(g, "KeySchema"), &out->hash, &out->range)) return -1;
    const sl_val_t *proj = sl_val_get(g, "Projection");
    snprintf(out->projection, sizeof out->projection, "ALL");
    copy_str(out->projection, sizeof out->projection, sl_val_get(proj, "ProjectionType"));
    const sl_val_t *pt = sl_val_get(g, "ProvisionedThroughput");
    if (!on_demand && !pt) {
        SL_DAPI_INVALID(call,
                        "One or more parameter values were invalid: ProvisionedThroughput "
                        "must be specified for index: %s",
                        out->name);
        return -1;
    }
    throughput(pt, &out->rcu, &out->wcu);
    return 0;
}

static int attr_defs(sl_front_call_t *call, const sl_val_t *defs, sl_ddb_keyattr_t *out,
                     size_t *count) {
    size_t n = defs ? defs->u.arr.count : 0;
    *count = 0;
    for (size_t i = 0; i < n && i < SL_DDB_ATTR_DEFS_MAX; i++) {
        size_t len;
        const char *t = sl_val_get_str(defs->u.arr.items[i], "AttributeType", &len);
        copy_str(out[i].name, sizeof out[i].name,
                 sl_val_get(defs->u.arr.items[i], "AttributeName"));
        out[i].type = t ? sl_ddb_type_of(t, len) : SL_DDB_S;
        for (size_t j = 0; j < i; j++)
            if (strcmp(out[j].name, out[i].name) == 0) {
                SL_DAPI_INVALID(call, "Cannot have two attributes with the same name");
                return -1;
            }
        (*count)++;
    }
    return 0;
}

static void encode_keys(sl_enc_t *e, const sl_ddb_keyattr_t *h, const sl_ddb_keyattr_t *r) {
    sl_enc_key(e, "KeySchema");
    sl_enc_array_begin(e);
    for (int i = 0; i < 2; i++) {
        const sl_ddb_keyattr_t *k = i ? r : h;
        if (!k->name[0]) continue;
        sl_enc_map_begin(e);
        sl_enc_kv_cstr(e, "AttributeName", k->name);
        sl_enc_kv_cstr(e, "KeyType", i ? "RANGE" : "HASH");
        sl_enc_map_end(e);
    }
    sl_enc_array_end(e);
}

static void encode_throughput(sl_enc_t *e, int64_t rcu, int64_t wcu) {
    sl_enc_key(e, "ProvisionedThroughput");
    sl_enc_map_begin(e);
    sl_enc_kv_int(e, "NumberOfDecreasesToday", 0);
    sl_enc_kv_int(e, "ReadCapacityUnits", rcu);
    sl_enc_kv_int(e, "WriteCapacityUnits", wcu);
    sl_enc_map_end(e);
}

static void encode_desc(sl_front_call_t *call, const char *key, const sl_ddb_table_desc_t *d) {
    sl_enc_t *e = &call->enc;
    sl_enc_key(e, key);
    sl_enc_map_begin(e);
    sl_enc_key(e, "AttributeDefinitions");
    sl_enc_array_begin(e);
    for (size_t i = 0; i < d->attr_def_count; i++) {
        sl_enc_map_begin(e);
        sl_enc_kv_cstr(e, "AttributeName", d->attr_defs[i].name);
        sl_enc_kv_cstr(e, "AttributeType", sl_ddb_type_name(d->attr_defs[i].type));
        sl_enc_map_end(e);
    }
    sl_enc_array_end(e);
    sl_enc_kv_cstr(e, "TableName", d->name);
    encode_keys(e, &d->hash, &d->range);
    sl_enc_kv_cstr(e, "TableStatus", d->status);
    sl_enc_key(e, "CreationDateTime");
    sl_enc_timestamp_ms(e, d->created_ms);
    encode_throughput(e, d->rcu, d->wcu);
    sl_enc_kv_int(e, "TableSizeBytes", d->size_bytes);
    sl_enc_kv_int(e, "ItemCount", d->item_count);
    sl_enc_kv_cstr(e, "TableArn", d->arn);
    sl_enc_kv_cstr(e, "TableId", d->id);
    if (d->on_demand) {
        sl_enc_key(e, "BillingModeSummary");
        sl_enc_map_begin(e);
        sl_enc_kv_cstr(e, "BillingMode", "PAY_PER_REQUEST");
        sl_enc_key(e, "LastUpdateToPayPerRequestDateTime");
        sl_enc_timestamp_ms(e, d->created_ms);
        sl_enc_map_end(e);
    }
    if (d->gsi_count) {
        sl_enc_key(e, "GlobalSecondaryIndexes");
        sl_enc_array_begin(e);
        for (size_t i = 0; i < d->gsi_count; i++) {
            const sl_ddb_gsi_t *g = &d->gsis[i];
            sl_enc_map_begin(e);
            sl_enc_kv_cstr(e, "IndexName", g->name);
            encode_keys(e, &g->hash, &g->range);
            sl_enc_key(e, "Projection");
            sl_enc_map_begin(e);
            sl_enc_kv_cstr(e, "ProjectionType", g->projection);
            sl_enc_map_end(e);
            sl_enc_kv_cstr(e, "IndexStatus",
                           call->now_ms < g->created_ms + 0 ? "CREATING" : "ACTIVE");
            encode_throughput(e, g->rcu, g->wcu);
            sl_enc_kv_int(e, "IndexSizeBytes", d->size_bytes);
            sl_enc_kv_int(e, "ItemCount", d->item_count);
            char arn[700];
            snprintf(arn, sizeof arn, "%s/index/%s", d->arn, g->name);
            sl_enc_kv_cstr(e, "IndexArn", arn);
            sl_enc_map_end(e);
        }
        sl_enc_array_end(e);
    }
    if (d->sse) {
        sl_enc_key(e, "SSEDescription");
        sl_enc_map_begin(e);
        sl_enc_kv_cstr(e, "Status", "ENABLED");
        sl_enc_kv_cstr(e, "SSEType", d->sse_type[0] ? d->sse_type : "KMS");
        /* The key's ARN in the table's region and account ("arn:aws:dynamodb:R:A:table/..."). */
        const char *ra = d->arn + strlen("arn:aws:dynamodb:");
        const char *end = strstr(ra, ":table/");
        char kms[700];
        snprintf(kms, sizeof kms, "arn:aws:kms:%.*s:key/%s", end ? (int)(end - ra) : 0, ra,
                 d->kms_key[0] ? d->kms_key : "aws/dynamodb");
        sl_enc_kv_cstr(e, "KMSMasterKeyArn", kms);
        sl_enc_map_end(e);
    }
    sl_enc_kv_bool(e, "DeletionProtectionEnabled", false);
    sl_enc_map_end(e);
}

/* Answers a table write once it is durable. */
typedef struct {
    sl_ddb_table_desc_t desc;
    const char *key; /* "TableDescription", or NULL: an empty answer */
    int status;
} table_done_t;

static void table_finish(sl_front_call_t *call) {
    table_done_t *st = call->state;
    if (st->status) {
        sl_front_fail(call, SL_AWS_INTERNAL_SERVER_ERROR, "%s", sl_aws_failure_message(st->status));
        return;
    }
    sl_enc_map_begin(&call->enc);
    if (st->key) encode_desc(call, st->key, &st->desc);
    sl_enc_map_end(&call->enc);
    sl_front_reply(call);
}

static void table_done(void *ctx, int status) {
    sl_front_call_t *call = ctx;
    ((table_done_t *)call->state)->status = status;
    sl_front_post(call, table_finish);
}

static table_done_t *table_state(sl_front_call_t *call, const char *key) {
    table_done_t *st = sl_arena_calloc(call->arena, 1, sizeof *st);
    if (!st) sl_front_fail_internal(call, SL_ENOMEM);
    if (st) st->key = key;
    call->state = st;
    return st;
}

void sl_dapi_create_table(sl_front_call_t *call) {
    table_done_t *st = table_state(call, "TableDescription");
    if (!st) return;
    sl_ddb_table_desc_t *d = &st->desc;
    if (!sl_dapi_table(call)) return;
    copy_str(d->name, sizeof d->name, sl_val_get(call->in, "TableName"));
    if (attr_defs(call, sl_val_get(call->in, "AttributeDefinitions"), d->attr_defs,
                  &d->attr_def_count))
        return;
    if (key_schema(call, sl_val_get(call->in, "KeySchema"), &d->hash, &d->range)) return;
    if (billing(call, call->in, &d->on_demand, &d->rcu, &d->wcu)) return;
    const sl_val_t *gsis = sl_val_get(call->in, "GlobalSecondaryIndexes");
    for (size_t i = 0; gsis && i < gsis->u.arr.count && i < SL_DDB_GSI_MAX; i++) {
        if (gsi_of(call, gsis->u.arr.items[i], d->on_demand, &d->gsis[i])) return;
        for (size_t j = 0; j < i; j++)
            if (strcmp(d->gsis[j].name, d->gsis[i].name) == 0) {
                SL_DAPI_INVALID(call,
                                "One or more parameter values were invalid: Duplicate index "
                                "name: %s",
                                d->gsis[i].name);
                return;
            }
        d->gsi_count++;
    }
    const sl_val_t *sse = sl_val_get(call->in, "SSESpecification");
    bool enabled = false;
    if (sse && sl_val_get_bool(sse, "Enabled", &enabled) && enabled) {
        d->sse = true;
        snprintf(d->sse_type, sizeof d->sse_type, "KMS");
        copy_str(d->sse_type, sizeof d->sse_type, sl_val_get(sse, "SSEType"));
        copy_str(d->kms_key, sizeof d->kms_key, sl_val_get(sse, "KMSMasterKeyId"));
    }
    const sl_val_t *tags = sl_val_get(call->in, "Tags");
    for (size_t i = 0; tags && i < tags->u.arr.count && i < SL_DDB_TAGS_MAX; i++) {
        copy_str(d->tags[i].key, sizeof d->tags[i].key, sl_val_get(tags->u.arr.items[i], "Key"));
        copy_str(d->tags[i].value, sizeof d->tags[i].value,
                 sl_val_get(tags->u.arr.items[i], "Value"));
        d->tag_count++;
    }
    sl_ddb_err_t err;
    if (sl_ddb_create_table(sl_dapi_engine(call), d, call->now_ms, &err, table_done, call))
        sl_dapi_fail(call, &err);
}

void sl_dapi_describe_table(sl_front_call_t *call) {
    table_done_t *st = table_state(call, "Table");
    if (!st) return;
    const char *name = sl_dapi_table(call);
    if (!name) return;
    sl_ddb_err_t err;
    if (sl_ddb_describe_table(sl_dapi_engine(call), name, call->now_ms, &st->desc, &err)) {
        sl_dapi_fail(call, &err);
        return;
    }
    table_finish(call);
}

void sl_dapi_delete_table(sl_front_call_t *call) {
    table_done_t *st = table_state(call, "TableDescription");
    if (!st) return;
    const char *name = sl_dapi_table(call);
    if (!name) return;
    sl_ddb_err_t err;
    if (sl_ddb_delete_table(sl_dapi_engine(call), name, call->now_ms, &st->desc, &err, table_done,
                            call))
        sl_dapi_fail(call, &err);
}

void sl_dapi_list_tables(sl_front_call_t *call) {
    int64_t limit = 100;
    sl_val_get_int(call->in, "Limit", &limit);
    size_t len;
    const char *start = sl_val_get_str(call->in, "ExclusiveStartTableName", &len);
    char **names;
    size_t n;
    bool more;
    int rc = sl_ddb_list_tables(sl_dapi_engine(call), start, (size_t)limit, call->arena, &names, &n,
                                &more);
    if (rc) {
        sl_front_fail_internal(call, rc);
        return;
    }
    sl_enc_t *e = &call->enc;
    sl_enc_map_begin(e);
    sl_enc_key(e, "TableNames");
    sl_enc_array_begin(e);
    for (size_t i = 0; i < n; i++)
        sl_enc_cstr(e, names[i]);
    sl_enc_array_end(e);
    if (more && n) sl_enc_kv_cstr(e, "LastEvaluatedTableName", names[n - 1]);
    sl_enc_map_end(e);
    sl_front_reply(call);
}

void sl_dapi_update_table(sl_front_call_t *call) {
    table_done_t *st = table_state(call, "TableDescription");
    if (!st) return;
    sl_ddb_update_table_t req = {0};
    size_t len;
    req.name = sl_dapi_table(call);
    if (!req.name) return;
    const char *mode = sl_val_get_str(call->in, "BillingMode", &len);
    if (mode) req.billing = strcmp(mode, "PAY_PER_REQUEST") == 0 ? 1 : 2;
    const sl_val_t *pt = sl_val_get(call->in, "ProvisionedThroughput");
    if (pt) {
        req.has_throughput = true;
        throughput(pt, &req.rcu, &req.wcu);
    }
    sl_ddb_keyattr_t *defs = sl_arena_calloc(call->arena, SL_DDB_ATTR_DEFS_MAX, sizeof *defs);
    sl_ddb_gsi_t *gsi = sl_arena_calloc(call->arena, 1, sizeof *gsi);
    if (!defs || !gsi) {
        sl_front_fail_internal(call, SL_ENOMEM);
        return;
    }
    if (attr_defs(call, sl_val_get(call->in, "AttributeDefinitions"), defs, &req.def_count)) return;
    req.defs = defs;
    sl_ddb_table_desc_t cur;
    sl_ddb_err_t err;
    if (sl_ddb_describe_table(sl_dapi_engine(call), req.name, call->now_ms, &cur, &err)) {
        sl_dapi_fail(call, &err);
        return;
    }
    bool on_demand = req.billing ? req.billing == 1 : cur.on_demand;
    const sl_val_t *updates = sl_val_get(call->in, "GlobalSecondaryIndexUpdates");
    for (size_t i = 0; updates && i < updates->u.arr.count; i++) {
        const sl_val_t *u = updates->u.arr.items[i];
        const sl_val_t *create = sl_val_get(u, "Create"), *del = sl_val_get(u, "Delete");
        if (create) {
            if (req.gsi_add) {
                SL_DAPI_INVALID(call, "Subscriber limit exceeded: Only 1 online index can be "
                                      "created or deleted simultaneously per table");
                return;
            }
            if (gsi_of(call, create, on_demand, gsi)) return;
            req.gsi_add = gsi;
        }
        if (del) req.gsi_delete = sl_val_get_str(del, "IndexName", &len);
    }
    if (sl_ddb_update_table(sl_dapi_engine(call), &req, call->now_ms, &st->desc, &err, table_done,
                            call))
        sl_dapi_fail(call, &err);
}

void sl_dapi_tag_resource(sl_front_call_t *call) {
    if (!table_state(call, NULL)) return;
    size_t len;
    const char *arn = sl_val_get_str(call->in, "ResourceArn", &len);
    const sl_val_t *tags = sl_val_get(call->in, "Tags");
    size_t n = tags ? tags->u.arr.count : 0;
    sl_ddb_tag_t *add = sl_arena_calloc(call->arena, n + 1, sizeof *add);
    if (!add) {
        sl_front_fail_internal(call, SL_ENOMEM);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        copy_str(add[i].key, sizeof add[i].key, sl_val_get(tags->u.arr.items[i], "Key"));
        copy_str(add[i].value, sizeof add[i].value, sl_val_get(tags->u.arr.items[i], "Value"));
    }
    sl_ddb_err_t err;
    if (sl_ddb_tag(sl_dapi_engine(call), arn, add, n, NULL, 0, &err, table_done, call))
        sl_dapi_fail(call, &err);
}

void sl_dapi_untag_resource(sl_front_call_t *call) {
    if (!table_state(call, NULL)) return;
    size_t len;
    const char *arn = sl_val_get_str(call->in, "ResourceArn", &len);
    const sl_val_t *keys = sl_val_get(call->in, "TagKeys");
    size_t n = keys ? keys->u.arr.count : 0;
    const char **remove = sl_arena_calloc(call->arena, n + 1, sizeof *remove);
    if (!remove) {
        sl_front_fail_internal(call, SL_ENOMEM);
        return;
    }
    for (size_t i = 0; i < n; i++)
        remove[i] = keys->u.arr.items[i]->u.str.ptr;
    sl_ddb_err_t err;
    if (sl_ddb_tag(sl_dapi_engine(call), arn, NULL, 0, remove, n, &err, table_done, call))
        sl_dapi_fail(call, &err);
}

void sl_dapi_list_tags(sl_front_call_t *call) {
    size_t len;
    const char *arn = sl_val_get_str(call->in, "ResourceArn", &len);
    sl_ddb_table_desc_t *d = sl_arena_calloc(call->arena, 1, sizeof *d);
    if (!d) {
        sl_front_fail_internal(call, SL_ENOMEM);
        return;
    }
    sl_ddb_err_t err;
    if (sl_ddb_list_tags(sl_dapi_engine(call), arn, d, &err)) {
        sl_dapi_fail(call, &err);
        return;
    }
    sl_enc_t *e = &call->enc;
    sl_enc_map_begin(e);
    sl_enc_key(e, "Tags");
    sl_enc_array_begin(e);
    for (size_t i = 0; i < d->tag_count; i++) {
        sl_enc_map_begin(e);
        sl_enc_kv_cstr(e, "Key", d->tags[i].key);
        sl_enc_kv_cstr(e, "Value", d->tags[i].value);
        sl_enc_map_end(e);
    }
    sl_enc_array_end(e);
    sl_enc_map_end(e);
    sl_front_reply(call);
}

void sl_dapi_describe_ttl(sl_front_call_t *call) {
    size_t len;
    const char *name = sl_val_get_str(call->in, "TableName", &len);
    sl_ddb_table_desc_t *d = sl_arena_calloc(call->arena, 1, sizeof *d);
    sl_ddb_err_t err;
    if (!d || sl_ddb_describe_table(sl_dapi_engine(call), name, call->now_ms, d, &err)) {
        if (d)
            sl_dapi_fail(call, &err);
        else
            sl_front_fail_internal(call, SL_ENOMEM);
        return;
    }
    sl_enc_t *e = &call->enc;
    sl_enc_map_begin(e);
    sl_enc_key(e, "TimeToLiveDescription");
    sl_enc_map_begin(e);
    sl_enc_kv_cstr(e, "TimeToLiveStatus", "DISABLED");
    sl_enc_map_end(e);
    sl_enc_map_end(e);
    sl_front_reply(call);
}
