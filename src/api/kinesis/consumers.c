/* Enhanced fan-out consumers: RegisterStreamConsumer, DescribeStreamConsumer, ListStreamConsumers,
 * DeregisterStreamConsumer. SubscribeToShard lives in subscribe.c. */
#include "api/kinesis/common.h"

#include "core/limits.h"
#include "kinesis/names.h"
#include "kinesis/token.h"

#include <stdio.h>
#include <string.h>

void sl_kapi_encode_consumer(sl_front_call_t *call, const sl_kstream_t *s, const sl_kconsumer_t *c,
                             bool with_stream);
void sl_kapi_encode_consumer(sl_front_call_t *call, const sl_kstream_t *s, const sl_kconsumer_t *c,
                             bool with_stream) {
    sl_enc_t *e = &call->enc;
    sl_enc_map_begin(e);
    sl_enc_kv_cstr(e, "ConsumerName", c->name);
    sl_enc_kv_cstr(e, "ConsumerARN", c->arn);
    sl_enc_kv_cstr(e, "ConsumerStatus", sl_kstatus_name(sl_kconsumer_status(c, call->now_ms)));
    sl_enc_key(e, "ConsumerCreationTimestamp");
    sl_enc_timestamp_ms(e, c->created_ms);
    if (with_stream) sl_enc_kv_cstr(e, "StreamARN", s->arn);
    sl_enc_map_end(e);
}

/* Finds a consumer from ConsumerARN, or StreamARN + ConsumerName. Sends errors. */
sl_kconsumer_t *sl_kapi_consumer(sl_front_call_t *call, sl_kstream_t **stream_out) {
    size_t alen = 0, nlen = 0, salen = 0;
    const char *arn = sl_val_get_str(call->in, "ConsumerARN", &alen);
    const char *name = sl_val_get_str(call->in, "ConsumerName", &nlen);
    const char *sarn = sl_val_get_str(call->in, "StreamARN", &salen);
    sl_kstream_t *s = NULL;
    if (arn) {
        sl_arn_t a;
        if (sl_arn_parse_consumer(arn, alen, &a) != 0) {
            sl_front_fail(call, SL_AWS_INVALID_ARGUMENT, "Invalid ConsumerARN %.*s.", (int)alen,
                          arn);
            return NULL;
        }
        if (a.account_len == strlen(sl_kapi_engine(call)->account) &&
            memcmp(a.account, sl_kapi_engine(call)->account, a.account_len) == 0)
            s = sl_kinesis_find(sl_kapi_engine(call), a.stream, a.stream_len, call->now_ms);
        sl_kconsumer_t *c = s ? sl_kstream_consumer(s, a.consumer, a.consumer_len) : NULL;
        if (!c || strlen(c->arn) != alen || memcmp(c->arn, arn, alen) != 0 ||
            sl_kconsumer_status(c, call->now_ms) == SL_KS_GONE ||
            (name && (strlen(c->name) != nlen || memcmp(c->name, name, nlen) != 0))) {
            sl_front_fail(call, SL_AWS_RESOURCE_NOT_FOUND,
                          "Consumer %.*s under account %s not found.", (int)alen, arn,
                          sl_kapi_engine(call)->account);
            return NULL;
        }
        *stream_out = s;
        return c;
    }
    if (!sarn || !name) {
        sl_front_fail(call, SL_AWS_INVALID_ARGUMENT,
                      "Either ConsumerARN or both ConsumerName and StreamARN must be "
                      "provided.");
        return NULL;
    }
    s = sl_kapi_stream_by_arn(call, sarn, salen);
    if (!s) return NULL;
    sl_kconsumer_t *c = sl_kstream_consumer(s, name, nlen);
    if (!c || sl_kconsumer_status(c, call->now_ms) == SL_KS_GONE) {
        sl_front_fail(call, SL_AWS_RESOURCE_NOT_FOUND, "Consumer %.*s under account %s not found.",
                      (int)nlen, name, sl_kapi_engine(call)->account);
        return NULL;
    }
    *stream_out = s;
    return c;
}

static void op_register(sl_front_call_t *call) {
    sl_kinesis_t *k = sl_kapi_engine(call);
    size_t alen = 0, nlen = 0;
    const char *sarn = sl_val_get_str(call->in, "StreamARN", &alen);
    const char *name = sl_val_get_str(call->in, "ConsumerName", &nlen);
    sl_kinesis_wrlock(k);
    sl_kstream_t *s = sl_kapi_stream_by_arn(call, sarn, alen);
    if (!s || !sl_kapi_require_active(call, s)) goto out;
    sl_kconsumer_t *existing = sl_kstream_consumer(s, name, nlen);
    if (existing && sl_kconsumer_status(existing, call->now_ms) != SL_KS_GONE) {
        sl_front_fail(call, SL_AWS_RESOURCE_IN_USE,
                      "Consumer %s under stream %s already exists for account %s.", existing->name,
                      s->name, k->account);
        goto out;
    }
    size_t live = 0, creating = 0;
    for (size_t i = 0; i < s->consumer_count; i++) {
        sl_kstatus_t st = sl_kconsumer_status(s->consumers[i], call->now_ms);
        live += st != SL_KS_GONE;
        creating += st == SL_KS_CREATING;
    }
    size_t limit = k->commitment_enabled && s->on_demand ? 50 : SL_KINESIS_CONSUMERS_PER_STREAM_MAX;
    if (live >= limit) {
        sl_front_fail(call, SL_AWS_LIMIT_EXCEEDED,
                      "Consumer limit of %zu reached for stream %s under account %s.", limit,
                      s->name, k->account);
        goto out;
    }
    if (creating >= 5) {
        sl_front_fail(call, SL_AWS_LIMIT_EXCEEDED,
                      "Stream %s under account %s already has 5 consumers in CREATING state.",
                      s->name, k->account);
        goto out;
    }
    char namez[129];
    snprintf(namez, sizeof namez, "%.*s", (int)nlen, name);
    sl_kconsumer_t *c = NULL;
    int rc = sl_kinesis_consumer_add(k, s, namez, call->now_ms, &c);
    sl_val_t *tags = sl_val_get(call->in, "Tags");
    for (size_t i = 0; rc == 0 && tags && i < tags->u.map.count; i++) {
        const sl_kv_t *kv = &tags->u.map.items[i];
        char *key = sl_arena_strndup(call->arena, kv->key, kv->key_len);
        const char *v = kv->val && kv->val->type == SL_VAL_STRING ? kv->val->u.str.ptr : "";
        rc = sl_kinesis_tag_set(k, &c->tags, c->arn, key, v);
    }
    if (rc) {
        sl_front_fail_internal(call, rc);
        goto out;
    }
    sl_enc_map_begin(&call->enc);
    sl_enc_key(&call->enc, "Consumer");
    sl_kapi_encode_consumer(call, s, c, false);
    sl_enc_map_end(&call->enc);
    sl_front_reply(call);
out:
    sl_kinesis_unlock(k);
}

static void op_describe(sl_front_call_t *call) {
    sl_kinesis_rdlock(sl_kapi_engine(call));
    sl_kstream_t *s;
    sl_kconsumer_t *c = sl_kapi_consumer(call, &s);
    if (c) {
        sl_enc_map_begin(&call->enc);
        sl_enc_key(&call->enc, "ConsumerDescription");
        sl_kapi_encode_consumer(call, s, c, true);
        sl_enc_map_end(&call->enc);
        sl_front_reply(call);
    }
    sl_kinesis_unlock(sl_kapi_engine(call));
}

static void op_deregister(sl_front_call_t *call) {
    sl_kinesis_wrlock(sl_kapi_engine(call));
    sl_kstream_t *s;
    sl_kconsumer_t *c = sl_kapi_consumer(call, &s);
    if (!c) {
        sl_kinesis_unlock(sl_kapi_engine(call));
        return;
    }
    int rc = sl_kinesis_consumer_deregister(sl_kapi_engine(call), s, c, call->now_ms);
    char stream[sizeof s->name], arn[sizeof c->arn];
    memcpy(stream, s->name, sizeof stream);
    memcpy(arn, c->arn, sizeof arn);
    sl_kinesis_unlock(sl_kapi_engine(call));
    if (rc != 0) {
        sl_front_fail_internal(call, rc);
        return;
    }
    sl_kapi_t *api = call->binding; /* call is released with the reply */
    sl_front_reply(call);
    sl_kapi_subs_kick(api, stream, arn);
}

typedef struct {
    char stream[129];
    int64_t stream_created_ms;
    int64_t issued_ms;
    uint32_t offset;
} consumer_token_t;

static void op_list(sl_front_call_t *call) {
    sl_kinesis_t *k = sl_kapi_engine(call);
    size_t alen = 0, tlen = 0;
    const char *sarn = sl_val_get_str(call->in, "StreamARN", &alen);
    const char *tok = sl_val_get_str(call->in, "NextToken", &tlen);
    int64_t max = SL_KINESIS_LIST_CONSUMERS_MAX;
    sl_val_get_int(call->in, "MaxResults", &max);
    if (max > SL_KINESIS_LIST_CONSUMERS_MAX) max = SL_KINESIS_LIST_CONSUMERS_MAX;
    consumer_token_t t = {0};
    if (tok) {
        size_t n = 0;
        if (sl_token_open(k->token_key, tok, tlen, &t, sizeof t, &n) != 0 || n != sizeof t) {
            sl_front_fail(call, SL_AWS_INVALID_ARGUMENT, "Invalid NextToken.");
            return;
        }
        if (call->now_ms - t.issued_ms > SL_KINESIS_NEXT_TOKEN_TTL_MS) {
            sl_front_fail(call, SL_AWS_EXPIRED_NEXT_TOKEN, "The NextToken has expired.");
            return;
        }
    }
    sl_kinesis_rdlock(k);
    sl_kstream_t *s = sl_kapi_stream_by_arn(call, sarn, alen);
    if (!s) goto out;
    if (tok && (strcmp(t.stream, s->name) != 0 || t.stream_created_ms != s->created_ms)) {
        sl_front_fail(call, SL_AWS_INVALID_ARGUMENT, "Invalid NextToken.");
        goto out;
    }
    sl_enc_t *e = &call->enc;
    sl_enc_map_begin(e);
    sl_enc_key(e, "Consumers");
    sl_enc_array_begin(e);
    int64_t n = 0;
    size_t i = tok ? t.offset : 0;
    bool more = false;
    for (; i < s->consumer_count; i++) {
        if (sl_kconsumer_status(s->consumers[i], call->now_ms) == SL_KS_GONE) continue;
        if (n == max) {
            more = true;
            break;
        }
        sl_kapi_encode_consumer(call, s, s->consumers[i], false);
        n++;
    }
    sl_enc_array_end(e);
    if (more) {
        consumer_token_t nt = {
            .stream_created_ms = s->created_ms, .issued_ms = call->now_ms, .offset = (uint32_t)i};
        snprintf(nt.stream, sizeof nt.stream, "%s", s->name);
        char buf[1024];
        if (sl_token_seal(k->token_key, &nt, sizeof nt, buf, sizeof buf) > 0)
            sl_enc_kv_cstr(e, "NextToken", buf);
    }
    sl_enc_map_end(e);
    sl_front_reply(call);
out:
    sl_kinesis_unlock(k);
}

void sl_kapi_consumer_ops(const char *name, sl_front_op_fn *fn) {
    if (!strcmp(name, "RegisterStreamConsumer"))
        *fn = op_register;
    else if (!strcmp(name, "DescribeStreamConsumer"))
        *fn = op_describe;
    else if (!strcmp(name, "DeregisterStreamConsumer"))
        *fn = op_deregister;
    else if (!strcmp(name, "ListStreamConsumers"))
        *fn = op_list;
    else if (!strcmp(name, "SubscribeToShard"))
        *fn = sl_kapi_subscribe;
}
