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

static void tags_add(sl_front_call_t *call, bool by_resource) {
    sl_ktag_add_t op = {.stream = sl_kapi_stream_ref(call), .now_ms = call->now_ms};
    op.resource = by_resource;
    op.resource_arn = sl_val_get_str(call->in, "ResourceARN", &op.resource_arn_len);
    op.tags = sl_kapi_tags_in(call, &op.count);
    sl_kerr_t err;
    if (!op.tags) return sl_front_fail_internal(call, SL_ENOMEM);
    sl_kapi_answer(call, sl_kinesis_tags_add(sl_kapi_engine(call), &op, &err), &err);
}

static void tags_remove(sl_front_call_t *call, bool by_resource) {
    sl_ktag_remove_t op = {.stream = sl_kapi_stream_ref(call), .now_ms = call->now_ms};
    op.resource = by_resource;
    op.resource_arn = sl_val_get_str(call->in, "ResourceARN", &op.resource_arn_len);
    op.keys = keys_in(call, &op.count);
    sl_kerr_t err;
    if (!op.keys) return sl_front_fail_internal(call, SL_ENOMEM);
    sl_kapi_answer(call, sl_kinesis_tags_remove(sl_kapi_engine(call), &op, &err), &err);
}

static void tags_list(sl_front_call_t *call, bool by_resource) {
    sl_ktag_list_t op = {.stream = sl_kapi_stream_ref(call),
                         .limit = 50,
                         .now_ms = call->now_ms,
                         .arena = call->arena};
    op.resource = by_resource;
    op.resource_arn = sl_val_get_str(call->in, "ResourceARN", &op.resource_arn_len);
    sl_val_get_int(call->in, "Limit", &op.limit);
    op.exclusive_start = sl_val_get_str(call->in, "ExclusiveStartTagKey", NULL);
    sl_kerr_t err;
    bool ok = sl_kinesis_tags_list(sl_kapi_engine(call), &op, &err);
    if (ok) {
        sl_enc_t *e = &call->enc;
        sl_enc_map_begin(e);
        sl_enc_key(e, "Tags");
        sl_enc_array_begin(e);
        for (size_t i = 0; i < op.count; i++) {
            sl_enc_map_begin(e);
            sl_enc_kv_cstr(e, "Key", op.tags[i].key);
            sl_enc_kv_cstr(e, "Value", op.tags[i].value);
            sl_enc_map_end(e);
        }
        sl_enc_array_end(e);
        if (!by_resource) sl_enc_kv_bool(e, "HasMoreTags", op.more);
        sl_enc_map_end(e);
    }
    sl_kapi_answer(call, ok, &err);
}

static void op_add_tags_to_stream(sl_front_call_t *call) {
    tags_add(call, false);
}
static void op_remove_tags_from_stream(sl_front_call_t *call) {
    tags_remove(call, false);
}
static void op_list_tags_for_stream(sl_front_call_t *call) {
    tags_list(call, false);
}
static void op_tag_resource(sl_front_call_t *call) {
    tags_add(call, true);
}
static void op_untag_resource(sl_front_call_t *call) {
    tags_remove(call, true);
}
static void op_list_tags_for_resource(sl_front_call_t *call) {
    tags_list(call, true);
}

static sl_kpolicy_t policy_in(sl_front_call_t *call) {
    sl_kpolicy_t op = {.now_ms = call->now_ms};
    op.resource_arn = sl_val_get_str(call->in, "ResourceARN", &op.resource_arn_len);
    return op;
}

static void op_put_resource_policy(sl_front_call_t *call) {
    sl_kpolicy_t op = policy_in(call);
    op.policy = sl_val_get_str(call->in, "Policy", NULL);
    sl_kerr_t err;
    sl_kapi_answer(call, sl_kinesis_policy_put(sl_kapi_engine(call), &op, &err), &err);
}

static void op_delete_resource_policy(sl_front_call_t *call) {
    sl_kpolicy_t op = policy_in(call);
    sl_kerr_t err;
    sl_kapi_answer(call, sl_kinesis_policy_put(sl_kapi_engine(call), &op, &err), &err);
}

static void op_get_resource_policy(sl_front_call_t *call) {
    sl_kpolicy_t op = policy_in(call);
    const char *policy = NULL;
    sl_kerr_t err;
    bool ok = sl_kinesis_policy_get(sl_kapi_engine(call), &op, call->arena, &policy, &err);
    if (ok) {
        sl_enc_map_begin(&call->enc);
        sl_enc_kv_cstr(&call->enc, "Policy", policy);
        sl_enc_map_end(&call->enc);
    }
    sl_kapi_answer(call, ok, &err);
}

void sl_kapi_tags_ops(const char *name, sl_front_op_fn *fn) {
    static const struct {
        const char *name;
        sl_front_op_fn fn;
    } table[] = {
        {"AddTagsToStream", op_add_tags_to_stream},
        {"RemoveTagsFromStream", op_remove_tags_from_stream},
        {"ListTagsForStream", op_list_tags_for_stream},
        {"TagResource", op_tag_resource},
        {"UntagResource", op_untag_resource},
        {"ListTagsForResource", op_list_tags_for_resource},
        {"PutResourcePolicy", op_put_resource_policy},
        {"GetResourcePolicy", op_get_resource_policy},
        {"DeleteResourcePolicy", op_delete_resource_policy},
    };
    for (size_t i = 0; i < SL_ARRAY_LEN(table); i++)
        if (strcmp(table[i].name, name) == 0) *fn = table[i].fn;
}
