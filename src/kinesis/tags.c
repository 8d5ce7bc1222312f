/* Tags and resource policies (control.h): AddTagsToStream, RemoveTagsFromStream,
 * ListTagsForStream, TagResource, UntagResource, ListTagsForResource and the resource-policy
 * operations, on streams and consumers. AWS's texts come from kinesalite's tests, recorded on AWS.
 */
#include "kinesis/control.h"

#include "core/common.h"
#include "core/limits.h"
#include "kinesis/engine.h"
#include "kinesis/names.h"

#include <stdlib.h>
#include <string.h>

/* The resource an operation works on, with its tags and policy slots. */
typedef struct {
    sl_kstream_t *stream;
    sl_kconsumer_t *consumer; /* NULL for a stream */
    sl_ktags_t *tags;
    char **policy;
    const char *arn; /* canonical ARN of the resource */
} target_t;

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

static bool invalid_chars(sl_kerr_t *err) {
    return sl_kerr_set(err, SL_KERR_INVALID_ARGUMENT,
                       "Some tags contain invalid characters. Valid characters: Unicode letters, "
                       "digits, white space, _ . / = + - %% @.");
}

/* The stream or consumer a ResourceARN names. */
static bool resource(sl_kinesis_t *k, const char *arn, size_t len, int64_t now_ms, target_t *t,
                     sl_kerr_t *err) {
    sl_arn_t a;
    if (sl_arn_parse_resource(arn, len, &a) != 0)
        return sl_kerr_set(err, SL_KERR_INVALID_ARGUMENT, "Invalid ResourceARN %.*s.", (int)len,
                           arn);
    sl_kstream_t *s = NULL;
    if (a.account_len == strlen(k->account) && memcmp(a.account, k->account, a.account_len) == 0 &&
        a.region_len == strlen(k->region) && memcmp(a.region, k->region, a.region_len) == 0)
        s = sl_kinesis_find(k, a.stream, a.stream_len, now_ms);
    if (!s) return sl_kerr_stream_not_found(err, k, a.stream, a.stream_len);
    sl_kconsumer_t *c = NULL;
    if (a.consumer_len) {
        c = sl_kstream_consumer(s, a.consumer, a.consumer_len);
        if (!c || strlen(c->arn) != len || memcmp(c->arn, arn, len) != 0 ||
            sl_kconsumer_status(c, now_ms) == SL_KS_GONE)
            return sl_kerr_set(err, SL_KERR_RESOURCE_NOT_FOUND,
                               "Consumer %.*s under account %s not found.", (int)len, arn,
                               k->account);
    }
    *t = (target_t){.stream = s,
                    .consumer = c,
                    .tags = c ? &c->tags : &s->tags,
                    .policy = c ? &c->policy : &s->policy,
                    .arn = c ? c->arn : s->arn};
    return true;
}

/* The target of a tag operation: the resource, or the stream. A write needs an ACTIVE or UPDATING
 * stream (a consumer's tags change in any state). */
static bool target(sl_kinesis_t *k, const sl_kstream_ref_t *ref, bool by_resource, const char *arn,
                   size_t arn_len, int64_t now_ms, bool write, target_t *t, sl_kerr_t *err) {
    if (by_resource) {
        if (!resource(k, arn, arn_len, now_ms, t, err)) return false;
    } else {
        sl_kstream_t *s = sl_kinesis_resolve(k, ref, now_ms, err);
        if (!s) return false;
        *t = (target_t){.stream = s, .tags = &s->tags, .policy = &s->policy, .arn = s->arn};
    }
    if (!write || t->consumer) return true;
    sl_kstatus_t st = sl_kstream_status(t->stream, now_ms);
    if (st == SL_KS_ACTIVE || st == SL_KS_UPDATING) return true;
    return sl_kerr_set(err, SL_KERR_RESOURCE_IN_USE,
                       "Stream %s under account %s not ACTIVE, instead in state %s",
                       t->stream->name, k->account, sl_kstatus_name(st));
}

/* The tags as NUL-terminated copies (keys[i], and values[i] when values is not NULL). */
static int tags_copy(const sl_ktag_ref_t *in, size_t n, char ***keys, char ***values) {
    *keys = calloc(n ? n : 1, sizeof **keys);
    if (values) *values = calloc(n ? n : 1, sizeof **values);
    if (!*keys || (values && !*values)) return SL_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        (*keys)[i] = strndup(in[i].key, in[i].key_len);
        if (!(*keys)[i]) return SL_ENOMEM;
        if (!values) continue;
        (*values)[i] = strndup(in[i].value ? in[i].value : "", in[i].value_len);
        if (!(*values)[i]) return SL_ENOMEM;
    }
    return 0;
}

static void tags_copy_free(char **keys, char **values, size_t n) {
    for (size_t i = 0; keys && i < n; i++)
        free(keys[i]);
    for (size_t i = 0; values && i < n; i++)
        free(values[i]);
    free(keys);
    free(values);
}

int sl_ktag_rows_make(const sl_ktag_ref_t *in, size_t n, sl_ktag_rows_t *out) {
    char **keys = NULL, **values = NULL;
    int rc = tags_copy(in, n, &keys, &values);
    *out = (sl_ktag_rows_t){(const char *const *)keys, (const char *const *)values, n};
    return rc;
}

void sl_ktag_rows_free(sl_ktag_rows_t *rows) {
    tags_copy_free((char **)rows->keys, (char **)rows->values, rows->count);
    *rows = (sl_ktag_rows_t){0};
}

/* Writes the tags (values) or removes the keys (values false) in one transaction. */
static bool tags_write(sl_kinesis_t *k, const target_t *t, const sl_ktag_ref_t *in, size_t n,
                       bool values, sl_kerr_t *err) {
    char **keys = NULL, **vals = NULL;
    int rc = tags_copy(in, n, &keys, values ? &vals : NULL);
    if (rc == 0)
        rc = sl_kinesis_tags_write(k, t->tags, t->arn, (const char *const *)keys,
                                   values ? (const char *const *)vals : NULL, n);
    tags_copy_free(keys, vals, n);
    return rc ? sl_kerr_internal(err, rc) : true;
}

/* AddTagsToStream / TagResource: every tag is checked (characters, the 'aws:' prefix) before the
 * count of keys the resource would have; messages name the stream even for a consumer. */
static bool add_checked(sl_kinesis_t *k, const target_t *t, const sl_ktag_change_t *op,
                        sl_kerr_t *err) {
    const char *stream = t->stream->name;
    size_t new_keys = 0;
    for (size_t i = 0; i < op->count; i++) {
        const sl_ktag_ref_t *tag = &op->tags[i];
        int ck = tag_chars(tag->key, tag->key_len), cv = tag_chars(tag->value, tag->value_len);
        if (ck == 1 || cv == 1) return invalid_chars(err);
        if (ck == 2 || cv == 2)
            return sl_kerr_set(err, SL_KERR_INVALID_ARGUMENT,
                               "Failed to add tags to stream %s under account %s because some "
                               "tags contained illegal characters. The allowed characters are "
                               "Unicode letters, white-spaces, '_',',','/','=','+','-','@'.",
                               stream, k->account);
        if (tag->key_len >= 4 && strncmp(tag->key, "aws:", 4) == 0)
            return sl_kerr_set(err, SL_KERR_INVALID_ARGUMENT,
                               "Failed to add tags to stream %s under account %s because some "
                               "tags contained illegal characters. Tag keys must not start with "
                               "'aws:'.",
                               stream, k->account);
        bool dup = false;
        for (size_t j = 0; j < i; j++)
            dup |= op->tags[j].key_len == tag->key_len &&
                   memcmp(op->tags[j].key, tag->key, tag->key_len) == 0;
        bool known = false;
        for (size_t j = 0; j < t->tags->count && !known; j++)
            known = strlen(t->tags->items[j].key) == tag->key_len &&
                    memcmp(t->tags->items[j].key, tag->key, tag->key_len) == 0;
        if (!dup && !known) new_keys++;
    }
    if (t->tags->count + new_keys <= SL_KINESIS_TAGS_PER_STREAM_MAX)
        return tags_write(k, t, op->tags, op->count, true, err);
    if (!op->resource)
        return sl_kerr_set(err, SL_KERR_INVALID_ARGUMENT,
                           "Failed to add tags to stream %s under account %s because a given "
                           "stream cannot have more than 10 tags associated with it.",
                           stream, k->account);
    return sl_kerr_set(err, SL_KERR_INVALID_ARGUMENT,
                       "Failed to add tags to resource %s because a resource cannot have more "
                       "than %d tags.",
                       t->arn, SL_KINESIS_TAGS_PER_STREAM_MAX);
}

bool sl_kinesis_tags_add(sl_kinesis_t *k, const sl_ktag_change_t *op, sl_kerr_t *err) {
    sl_kinesis_wrlock(k);
    target_t t;
    bool ok = target(k, &op->stream, op->resource, op->resource_arn, op->resource_arn_len,
                     op->now_ms, true, &t, err) &&
              add_checked(k, &t, op, err);
    sl_kinesis_unlock(k);
    return ok;
}

/* RemoveTagsFromStream checks the keys' characters as AddTagsToStream does, every key for invalid
 * characters first, then every key for '%'. */
static bool remove_keys_ok(sl_kinesis_t *k, const target_t *t, const sl_ktag_change_t *op,
                           sl_kerr_t *err) {
    for (size_t i = 0; i < op->count; i++)
        if (tag_chars(op->tags[i].key, op->tags[i].key_len) == 1) return invalid_chars(err);
    for (size_t i = 0; i < op->count; i++)
        if (tag_chars(op->tags[i].key, op->tags[i].key_len) == 2)
            return sl_kerr_set(err, SL_KERR_INVALID_ARGUMENT,
                               "Failed to remove tags from stream %s under account %s because "
                               "some tags contained illegal characters. The allowed characters "
                               "are Unicode letters, white-spaces, '_',',','/','=','+','-','@'.",
                               t->stream->name, k->account);
    return true;
}

bool sl_kinesis_tags_remove(sl_kinesis_t *k, const sl_ktag_change_t *op, sl_kerr_t *err) {
    sl_kinesis_wrlock(k);
    target_t t;
    bool ok = target(k, &op->stream, op->resource, op->resource_arn, op->resource_arn_len,
                     op->now_ms, true, &t, err) &&
              (op->resource || remove_keys_ok(k, &t, op, err)) &&
              tags_write(k, &t, op->tags, op->count, false, err);
    sl_kinesis_unlock(k);
    return ok;
}

bool sl_kinesis_tags_list(sl_kinesis_t *k, sl_ktag_list_t *op, sl_kerr_t *err) {
    sl_kinesis_rdlock(k);
    target_t t;
    bool ok = target(k, &op->stream, op->resource, op->resource_arn, op->resource_arn_len,
                     op->now_ms, false, &t, err);
    op->count = 0;
    op->more = false;
    if (ok) {
        op->tags = sl_arena_calloc(op->arena, t.tags->count ? t.tags->count : 1, sizeof *op->tags);
        ok = op->tags != NULL || sl_kerr_internal(err, SL_ENOMEM);
    }
    for (size_t i = 0; ok && i < t.tags->count; i++) {
        const sl_ktag_t *tag = &t.tags->items[i];
        if (!op->resource && op->exclusive_start && strcmp(tag->key, op->exclusive_start) <= 0)
            continue;
        if (!op->resource && (int64_t)op->count == op->limit) {
            op->more = true;
            break;
        }
        sl_ktag_ref_t *out = &op->tags[op->count++];
        out->key_len = strlen(tag->key);
        out->value_len = strlen(tag->value);
        out->key = sl_arena_strndup(op->arena, tag->key, out->key_len);
        out->value = sl_arena_strndup(op->arena, tag->value, out->value_len);
        if (!out->key || !out->value) ok = sl_kerr_internal(err, SL_ENOMEM);
    }
    sl_kinesis_unlock(k);
    return ok;
}

bool sl_kinesis_policy_put(sl_kinesis_t *k, const sl_kpolicy_t *op, sl_kerr_t *err) {
    sl_kinesis_wrlock(k);
    target_t t = {0};
    bool ok = resource(k, op->resource_arn, op->resource_arn_len, op->now_ms, &t, err);
    if (ok && !op->policy && !*t.policy)
        ok = sl_kerr_set(err, SL_KERR_RESOURCE_NOT_FOUND,
                         "No resource policy found for resource ARN %.*s.",
                         (int)op->resource_arn_len, op->resource_arn);
    if (ok) {
        int rc = sl_kinesis_policy_set(k, t.policy, t.arn, op->policy);
        if (rc) ok = sl_kerr_internal(err, rc);
    }
    sl_kinesis_unlock(k);
    return ok;
}

bool sl_kinesis_policy_get(sl_kinesis_t *k, const sl_kpolicy_t *op, sl_arena_t *arena,
                           const char **policy, sl_kerr_t *err) {
    sl_kinesis_rdlock(k);
    target_t t;
    bool ok = resource(k, op->resource_arn, op->resource_arn_len, op->now_ms, &t, err);
    if (ok) {
        const char *text = *t.policy ? *t.policy : "{}";
        *policy = sl_arena_strndup(arena, text, strlen(text));
        if (!*policy) ok = sl_kerr_internal(err, SL_ENOMEM);
    }
    sl_kinesis_unlock(k);
    return ok;
}
