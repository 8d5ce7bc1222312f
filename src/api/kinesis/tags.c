/* Kinesis tagging and resource-policy operations: AddTagsToStream, RemoveTagsFromStream,
 * ListTagsForStream, TagResource, UntagResource, ListTagsForResource, Put/Get/DeleteResourcePolicy.
 * The semantics are the core's (kinesis/tags.c); these handlers decode, call it and encode. */
#include "api/kinesis/common.h"

#include <string.h>

/* The TagKeys list of a request (its string members). */
static sl_ktag_ref_t *keys_in(sl_front_call_t *call, size_t *count) {
    sl_val_t *l = sl_val_get(call->in, "TagKeys");
    size_t n = l ? l->u.arr.count : 0;
    sl_ktag_ref_t *keys = sl_arena_calloc(call->arena, n ? n : 1, sizeof *keys);
    *count = 0;
    for (size_t i = 0; keys && i < n; i++) {
        const sl_val_t *v = l->u.arr.items[i];
        if (v->type == SL_VAL_STRING)
            keys[(*count)++] = (sl_ktag_ref_t){v->u.str.ptr, v->u.str.len, "", 0};
    }
    return keys;
}

/* The *Resource operations name a resource (ResourceARN), the others a stream. */
static bool by_resource(const sl_front_call_t *call) {
    return strstr(call->op->name, "Resource") != NULL;
}

/* AddTagsToStream, RemoveTagsFromStream, TagResource, UntagResource. */
static void op_tags_change(sl_front_call_t *call) {
    const char *name = call->op->name;
    bool add = strcmp(name, "AddTagsToStream") == 0 || strcmp(name, "TagResource") == 0;
    sl_ktag_change_t op = {.stream = sl_kapi_stream_ref(call), .now_ms = call->now_ms};
    op.resource = by_resource(call);
    op.resource_arn = sl_val_get_str(call->in, "ResourceARN", &op.resource_arn_len);
    op.tags = add ? sl_kapi_tags_in(call, &op.count) : keys_in(call, &op.count);
    if (!op.tags) return sl_front_fail_internal(call, SL_ENOMEM);
    sl_kerr_t err;
    bool ok = add ? sl_kinesis_tags_add(sl_kapi_engine(call), &op, &err)
                  : sl_kinesis_tags_remove(sl_kapi_engine(call), &op, &err);
    sl_kapi_answer(call, ok, &err);
}

static void encode_tags(sl_enc_t *e, const void *result) {
    const sl_ktag_list_t *op = result;
    sl_enc_map_begin(e);
    sl_enc_key(e, "Tags");
    sl_enc_array_begin(e);
    for (size_t i = 0; i < op->count; i++) {
        sl_enc_map_begin(e);
        sl_enc_kv_cstr(e, "Key", op->tags[i].key);
        sl_enc_kv_cstr(e, "Value", op->tags[i].value);
        sl_enc_map_end(e);
    }
    sl_enc_array_end(e);
    if (!op->resource) sl_enc_kv_bool(e, "HasMoreTags", op->more);
    sl_enc_map_end(e);
}

/* ListTagsForStream, ListTagsForResource. */
static void op_tags_list(sl_front_call_t *call) {
    sl_ktag_list_t op = {.stream = sl_kapi_stream_ref(call),
                         .limit = 50,
                         .now_ms = call->now_ms,
                         .arena = call->arena};
    op.resource = by_resource(call);
    op.resource_arn = sl_val_get_str(call->in, "ResourceARN", &op.resource_arn_len);
    sl_val_get_int(call->in, "Limit", &op.limit);
    op.exclusive_start = sl_val_get_str(call->in, "ExclusiveStartTagKey", NULL);
    sl_kerr_t err;
    bool ok = sl_kinesis_tags_list(sl_kapi_engine(call), &op, &err);
    sl_kapi_finish(call, ok, &err, encode_tags, &op);
}

/* PutResourcePolicy (the Policy member) and DeleteResourcePolicy (none). */
static void policy_put(sl_front_call_t *call) {
    sl_kpolicy_t op = {.now_ms = call->now_ms};
    op.resource_arn = sl_val_get_str(call->in, "ResourceARN", &op.resource_arn_len);
    op.policy = sl_val_get_str(call->in, "Policy", NULL);
    sl_kerr_t err;
    sl_kapi_answer(call, sl_kinesis_policy_put(sl_kapi_engine(call), &op, &err), &err);
}

static void encode_policy(sl_enc_t *e, const void *result) {
    sl_enc_map_begin(e);
    sl_enc_kv_cstr(e, "Policy", result);
    sl_enc_map_end(e);
}

static void op_get_resource_policy(sl_front_call_t *call) {
    sl_kpolicy_t op = {.now_ms = call->now_ms};
    op.resource_arn = sl_val_get_str(call->in, "ResourceARN", &op.resource_arn_len);
    const char *policy = NULL;
    sl_kerr_t err;
    bool ok = sl_kinesis_policy_get(sl_kapi_engine(call), &op, call->arena, &policy, &err);
    sl_kapi_finish(call, ok, &err, encode_policy, policy);
}

void sl_kapi_tags_ops(const char *name, sl_front_op_fn *fn) {
    static const struct {
        const char *name;
        sl_front_op_fn fn;
    } table[] = {
        {"AddTagsToStream", op_tags_change},  {"RemoveTagsFromStream", op_tags_change},
        {"ListTagsForStream", op_tags_list},  {"TagResource", op_tags_change},
        {"UntagResource", op_tags_change},    {"ListTagsForResource", op_tags_list},
        {"PutResourcePolicy", policy_put},    {"GetResourcePolicy", op_get_resource_policy},
        {"DeleteResourcePolicy", policy_put},
    };
    for (size_t i = 0; i < SL_ARRAY_LEN(table); i++)
        if (strcmp(table[i].name, name) == 0) *fn = table[i].fn;
}
