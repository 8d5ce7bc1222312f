/* Kinesis tagging and resource-policy operations: AddTagsToStream, RemoveTagsFromStream,
 * ListTagsForStream, TagResource, UntagResource, ListTagsForResource, Put/Get/DeleteResourcePolicy.
 */
#include "api/kinesis/common.h"

#include "core/limits.h"
#include "kinesis/names.h"

#include <stdio.h>
#include <string.h>

/* 0 = ok, 1 = invalid characters, 2 = '%' present (AWS answers the two differently). */
static int tag_chars(const char *s, size_t len) {
    int pct = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x80 || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
            continue;
        if (strchr(" _./=+-@", c) && c) continue;
        if (c == '%') {
            pct = 1;
            continue;
        }
        return 1;
    }
    return pct ? 2 : 0;
}

/* Resolves tags/policy slots of a resource ARN (stream or consumer). Sends errors. */
static bool resource(sl_front_call_t *call, const char *arn, size_t len, sl_kstream_t **s_out,
                     sl_kconsumer_t **c_out) {
    sl_arn_t a;
    *c_out = NULL;
    *s_out = NULL;
    if (sl_arn_parse_resource(arn, len, &a) != 0) {
        sl_front_fail(call, SL_AWS_INVALID_ARGUMENT, "Invalid ResourceARN %.*s.", (int)len, arn);
        return false;
    }
    sl_kinesis_t *k = sl_kapi_engine(call);
    sl_kstream_t *s = NULL;
    if (a.account_len == strlen(k->account) && memcmp(a.account, k->account, a.account_len) == 0 &&
        a.region_len == strlen(k->region) && memcmp(a.region, k->region, a.region_len) == 0)
        s = sl_kinesis_find(k, a.stream, a.stream_len, call->now_ms);
    if (!s) {
        sl_kapi_not_found(call, a.stream, a.stream_len);
        return false;
    }
    if (a.consumer_len) {
        sl_kconsumer_t *c = sl_kstream_consumer(s, a.consumer, a.consumer_len);
        if (!c || strlen(c->arn) != len || memcmp(c->arn, arn, len) != 0 ||
            sl_kconsumer_status(c, call->now_ms) == SL_KS_GONE) {
            sl_front_fail(call, SL_AWS_RESOURCE_NOT_FOUND,
                          "Consumer %.*s under account %s not found.", (int)len, arn, k->account);
            return false;
        }
        *c_out = c;
    }
    *s_out = s;
    return true;
}

static void add_tags(sl_front_call_t *call, sl_kstream_t *s, sl_ktags_t *tags, const char *arn,
                     bool for_stream) {
    sl_kinesis_t *k = sl_kapi_engine(call);
    sl_val_t *m = sl_val_get(call->in, "Tags");
    size_t n = m ? m->u.map.count : 0;
    size_t new_keys = 0;
    for (size_t i = 0; i < n; i++) {
        const sl_kv_t *kv = &m->u.map.items[i];
        const char *v = kv->val && kv->val->type == SL_VAL_STRING ? kv->val->u.str.ptr : "";
        size_t vlen = kv->val && kv->val->type == SL_VAL_STRING ? kv->val->u.str.len : 0;
        int ck = tag_chars(kv->key, kv->key_len), cv = tag_chars(v, vlen);
        if (ck == 1 || cv == 1) {
            sl_front_fail(call, SL_AWS_INVALID_ARGUMENT,
                          "Some tags contain invalid characters. Valid characters: Unicode "
                          "letters, digits, white "
                          "space, _ . / = + - %% @.");
            return;
        }
        if (ck == 2 || cv == 2) {
            sl_front_fail(call, SL_AWS_INVALID_ARGUMENT,
                          "Failed to add tags to stream %s under account %s because some tags "
                          "contained illegal "
                          "characters. The allowed characters are Unicode letters, white-spaces, "
                          "'_',',','/','=','+',"
                          "'-','@'.",
                          s->name, k->account);
            return;
        }
        if (kv->key_len >= 4 && strncmp(kv->key, "aws:", 4) == 0) {
            sl_front_fail(call, SL_AWS_INVALID_ARGUMENT,
                          "Failed to add tags to stream %s under account %s because some tags "
                          "contained illegal "
                          "characters. Tag keys must not start with 'aws:'.",
                          s->name, k->account);
            return;
        }
        char *key = sl_arena_strndup(call->arena, kv->key, kv->key_len);
        bool dup = false;
        for (size_t j = 0; j < i; j++)
            dup |= m->u.map.items[j].key_len == kv->key_len &&
                   memcmp(m->u.map.items[j].key, kv->key, kv->key_len) == 0;
        if (!dup && !sl_ktags_find(tags, key)) new_keys++;
    }
    if (tags->count + new_keys > SL_KINESIS_TAGS_PER_STREAM_MAX) {
        if (for_stream)
            sl_front_fail(call, SL_AWS_INVALID_ARGUMENT,
                          "Failed to add tags to stream %s under account %s because a given stream "
                          "cannot have more "
                          "than 10 tags associated with it.",
                          s->name, k->account);
        else
            sl_front_fail(call, SL_AWS_INVALID_ARGUMENT,
                          "Failed to add tags to resource %s because a resource cannot have more "
                          "than %d tags.",
                          arn, SL_KINESIS_TAGS_PER_STREAM_MAX);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const sl_kv_t *kv = &m->u.map.items[i];
        char *key = sl_arena_strndup(call->arena, kv->key, kv->key_len);
        const char *v = kv->val && kv->val->type == SL_VAL_STRING ? kv->val->u.str.ptr : "";
        int rc = sl_kinesis_tag_set(k, tags, arn, key, v);
        if (rc != 0) {
            sl_front_fail_internal(call, rc);
            return;
        }
    }
    sl_front_reply(call);
}

/* RemoveTagsFromStream checks the keys' characters as AddTagsToStream does, every key for invalid
 * characters first, then every key for '%' (texts from kinesalite's tests, recorded on AWS).
 * Sends the error and returns false when a key fails. */
static bool remove_keys_ok(sl_front_call_t *call, const sl_kstream_t *s) {
    sl_val_t *l = sl_val_get(call->in, "TagKeys");
    size_t n = l ? l->u.arr.count : 0;
    for (size_t i = 0; i < n; i++) {
        const sl_val_t *v = l->u.arr.items[i];
        if (v->type == SL_VAL_STRING && tag_chars(v->u.str.ptr, v->u.str.len) == 1) {
            sl_front_fail(call, SL_AWS_INVALID_ARGUMENT,
                          "Some tags contain invalid characters. Valid characters: Unicode "
                          "letters, digits, white "
                          "space, _ . / = + - %% @.");
            return false;
        }
    }
    for (size_t i = 0; i < n; i++) {
        const sl_val_t *v = l->u.arr.items[i];
        if (v->type == SL_VAL_STRING && tag_chars(v->u.str.ptr, v->u.str.len) == 2) {
            sl_front_fail(call, SL_AWS_INVALID_ARGUMENT,
                          "Failed to remove tags from stream %s under account %s because some tags "
                          "contained illegal "
                          "characters. The allowed characters are Unicode letters, white-spaces, "
                          "'_',',','/','=','+',"
                          "'-','@'.",
                          s->name, sl_kapi_engine(call)->account);
            return false;
        }
    }
    return true;
}

static void remove_tags(sl_front_call_t *call, sl_ktags_t *tags, const char *arn) {
    sl_val_t *l = sl_val_get(call->in, "TagKeys");
    for (size_t i = 0; l && i < l->u.arr.count; i++) {
        const sl_val_t *v = l->u.arr.items[i];
        if (v->type != SL_VAL_STRING) continue;
        int rc = sl_kinesis_tag_remove(sl_kapi_engine(call), tags, arn, v->u.str.ptr);
        if (rc != 0) {
            sl_front_fail_internal(call, rc);
            return;
        }
    }
    sl_front_reply(call);
}

static void encode_tag(sl_enc_t *e, const sl_ktag_t *t) {
    sl_enc_map_begin(e);
    sl_enc_kv_cstr(e, "Key", t->key);
    sl_enc_kv_cstr(e, "Value", t->value);
    sl_enc_map_end(e);
}

static bool tags_writable(sl_front_call_t *call, sl_kstream_t *s) {
    sl_kstatus_t st = sl_kstream_status(s, call->now_ms);
    if (st == SL_KS_ACTIVE || st == SL_KS_UPDATING) return true;
    sl_front_fail(call, SL_AWS_RESOURCE_IN_USE,
                  "Stream %s under account %s not ACTIVE, instead in state %s", s->name,
                  sl_kapi_engine(call)->account, sl_kstatus_name(st));
    return false;
}

static void op_add_tags_to_stream(sl_front_call_t *call) {
    sl_kinesis_wrlock(sl_kapi_engine(call));
    sl_kstream_t *s = sl_kapi_stream(call);
    if (s && tags_writable(call, s)) add_tags(call, s, &s->tags, s->arn, true);
    sl_kinesis_unlock(sl_kapi_engine(call));
}

static void op_remove_tags_from_stream(sl_front_call_t *call) {
    sl_kinesis_wrlock(sl_kapi_engine(call));
    sl_kstream_t *s = sl_kapi_stream(call);
    if (s && tags_writable(call, s) && remove_keys_ok(call, s)) remove_tags(call, &s->tags, s->arn);
    sl_kinesis_unlock(sl_kapi_engine(call));
}

static void op_list_tags_for_stream(sl_front_call_t *call) {
    int64_t limit = 50;
    sl_val_get_int(call->in, "Limit", &limit);
    const char *start = sl_val_get_str(call->in, "ExclusiveStartTagKey", NULL);
    sl_kinesis_rdlock(sl_kapi_engine(call));
    sl_kstream_t *s = sl_kapi_stream(call);
    if (s) {
        sl_enc_t *e = &call->enc;
        sl_enc_map_begin(e);
        sl_enc_key(e, "Tags");
        sl_enc_array_begin(e);
        int64_t n = 0;
        bool more = false;
        for (size_t i = 0; i < s->tags.count; i++) {
            if (start && strcmp(s->tags.items[i].key, start) <= 0) continue;
            if (n == limit) {
                more = true;
                break;
            }
            encode_tag(e, &s->tags.items[i]);
            n++;
        }
        sl_enc_array_end(e);
        sl_enc_kv_bool(e, "HasMoreTags", more);
        sl_enc_map_end(e);
        sl_front_reply(call);
    }
    sl_kinesis_unlock(sl_kapi_engine(call));
}

/* The resource named by ResourceARN (a stream or a consumer) with its tags and policy slots. */
typedef struct {
    sl_kstream_t *stream;
    sl_kconsumer_t *consumer; /* NULL for a stream ARN */
    sl_ktags_t *tags;
    char **policy;
    const char *arn;   /* canonical ARN of the resource */
    const char *given; /* ResourceARN as sent */
    size_t given_len;
} res_t;

/* Takes the engine lock (write or read) and resolves ResourceARN. On failure sends the error,
 * releases the lock and returns a result whose stream is NULL; on success the caller unlocks. */
static res_t resource_begin(sl_front_call_t *call, bool write) {
    res_t r = {0};
    r.given = sl_val_get_str(call->in, "ResourceARN", &r.given_len);
    if (write)
        sl_kinesis_wrlock(sl_kapi_engine(call));
    else
        sl_kinesis_rdlock(sl_kapi_engine(call));
    sl_kstream_t *s = NULL;
    sl_kconsumer_t *c = NULL;
    if (!resource(call, r.given, r.given_len, &s, &c)) {
        sl_kinesis_unlock(sl_kapi_engine(call));
        return r;
    }
    r.stream = s;
    r.consumer = c;
    r.tags = c ? &c->tags : &s->tags;
    r.policy = c ? &c->policy : &s->policy;
    r.arn = c ? c->arn : s->arn;
    return r;
}

static void op_tag_resource(sl_front_call_t *call) {
    res_t r = resource_begin(call, true);
    if (!r.stream) return;
    if (r.consumer || tags_writable(call, r.stream)) add_tags(call, r.stream, r.tags, r.arn, false);
    sl_kinesis_unlock(sl_kapi_engine(call));
}

static void op_untag_resource(sl_front_call_t *call) {
    res_t r = resource_begin(call, true);
    if (!r.stream) return;
    if (r.consumer || tags_writable(call, r.stream)) remove_tags(call, r.tags, r.arn);
    sl_kinesis_unlock(sl_kapi_engine(call));
}

static void op_list_tags_for_resource(sl_front_call_t *call) {
    res_t r = resource_begin(call, false);
    if (!r.stream) return;
    sl_enc_t *e = &call->enc;
    sl_enc_map_begin(e);
    sl_enc_key(e, "Tags");
    sl_enc_array_begin(e);
    for (size_t i = 0; i < r.tags->count; i++)
        encode_tag(e, &r.tags->items[i]);
    sl_enc_array_end(e);
    sl_enc_map_end(e);
    sl_front_reply(call);
    sl_kinesis_unlock(sl_kapi_engine(call));
}

static void op_put_resource_policy(sl_front_call_t *call) {
    const char *policy = sl_val_get_str(call->in, "Policy", NULL);
    res_t r = resource_begin(call, true);
    if (!r.stream) return;
    sl_kapi_reply_saved(call, sl_kinesis_policy_set(sl_kapi_engine(call), r.policy, r.arn, policy));
    sl_kinesis_unlock(sl_kapi_engine(call));
}

static void op_get_resource_policy(sl_front_call_t *call) {
    res_t r = resource_begin(call, false);
    if (!r.stream) return;
    sl_enc_t *e = &call->enc;
    sl_enc_map_begin(e);
    sl_enc_kv_cstr(e, "Policy", *r.policy ? *r.policy : "{}");
    sl_enc_map_end(e);
    sl_front_reply(call);
    sl_kinesis_unlock(sl_kapi_engine(call));
}

static void op_delete_resource_policy(sl_front_call_t *call) {
    res_t r = resource_begin(call, true);
    if (!r.stream) return;
    if (!*r.policy)
        sl_front_fail(call, SL_AWS_RESOURCE_NOT_FOUND,
                      "No resource policy found for resource ARN %.*s.", (int)r.given_len, r.given);
    else
        sl_kapi_reply_saved(call,
                            sl_kinesis_policy_set(sl_kapi_engine(call), r.policy, r.arn, NULL));
    sl_kinesis_unlock(sl_kapi_engine(call));
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
