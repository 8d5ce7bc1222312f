/* Enhanced fan-out consumers (control.h): RegisterStreamConsumer, DescribeStreamConsumer,
 * DeregisterStreamConsumer and ListStreamConsumers. A consumer is CREATING for consumer_ms after
 * registration, then ACTIVE; deregistered, it is DELETING for consumer_ms, then the background
 * thread removes it. SubscribeToShard is the data plane's (kinesis.h). */
#include "kinesis/control.h"

#include "core/common.h"
#include "core/limits.h"
#include "kinesis/engine.h"
#include "kinesis/names.h"
#include "kinesis/token.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void info_of(const sl_kstream_t *s, const sl_kconsumer_t *c, int64_t now_ms,
                    sl_kconsumer_info_t *out) {
    snprintf(out->name, sizeof out->name, "%s", c->name);
    snprintf(out->arn, sizeof out->arn, "%s", c->arn);
    out->status = sl_kconsumer_status(c, now_ms);
    out->created_ms = c->created_ms;
    snprintf(out->stream_arn, sizeof out->stream_arn, "%s", s->arn);
}

static bool consumer_not_found(sl_kinesis_t *k, const char *text, size_t len, sl_kerr_t *err) {
    return sl_kerr_set(err, SL_KERR_RESOURCE_NOT_FOUND, "Consumer %.*s under account %s not found.",
                       (int)len, text, k->account);
}

/* The consumer a request names (ConsumerARN, or StreamARN + ConsumerName); caller holds the lock.
 */
static sl_kconsumer_t *find_consumer(sl_kinesis_t *k, const sl_kconsumer_ref_t *ref, int64_t now_ms,
                                     sl_kstream_t **stream_out, sl_kerr_t *err) {
    sl_kstream_t *s = NULL;
    if (ref->arn) {
        sl_arn_t a;
        if (sl_arn_parse_consumer(ref->arn, ref->arn_len, &a) != 0) {
            sl_kerr_set(err, SL_KERR_INVALID_ARGUMENT, "Invalid ConsumerARN %.*s.",
                        (int)ref->arn_len, ref->arn);
            return NULL;
        }
        if (a.account_len == strlen(k->account) &&
            memcmp(a.account, k->account, a.account_len) == 0)
            s = sl_kinesis_find(k, a.stream, a.stream_len, now_ms);
        sl_kconsumer_t *c = s ? sl_kstream_consumer(s, a.consumer, a.consumer_len) : NULL;
        if (!c || strlen(c->arn) != ref->arn_len || memcmp(c->arn, ref->arn, ref->arn_len) != 0 ||
            sl_kconsumer_status(c, now_ms) == SL_KS_GONE ||
            (ref->name && (strlen(c->name) != ref->name_len ||
                           memcmp(c->name, ref->name, ref->name_len) != 0))) {
            consumer_not_found(k, ref->arn, ref->arn_len, err);
            return NULL;
        }
        *stream_out = s;
        return c;
    }
    if (!ref->stream_arn || !ref->name) {
        sl_kerr_set(err, SL_KERR_INVALID_ARGUMENT,
                    "Either ConsumerARN or both ConsumerName and StreamARN must be provided.");
        return NULL;
    }
    s = sl_kinesis_resolve_arn(k, ref->stream_arn, ref->stream_arn_len, now_ms, err);
    if (!s) return NULL;
    sl_kconsumer_t *c = sl_kstream_consumer(s, ref->name, ref->name_len);
    if (!c || sl_kconsumer_status(c, now_ms) == SL_KS_GONE) {
        consumer_not_found(k, ref->name, ref->name_len, err);
        return NULL;
    }
    *stream_out = s;
    return c;
}

/* The checks of a registration: the stream is ACTIVE, the name is free, the limits hold. */
static sl_kstream_t *register_checked(sl_kinesis_t *k, const sl_kconsumer_register_t *op,
                                      sl_kerr_t *err) {
    sl_kstream_t *s =
        sl_kinesis_resolve_arn(k, op->stream_arn, op->stream_arn_len, op->now_ms, err);
    if (!s || !sl_kstream_require_active(k, s, op->now_ms, err)) return NULL;
    sl_kconsumer_t *existing = sl_kstream_consumer(s, op->name, op->name_len);
    if (existing && sl_kconsumer_status(existing, op->now_ms) != SL_KS_GONE) {
        sl_kerr_set(err, SL_KERR_RESOURCE_IN_USE,
                    "Consumer %s under stream %s already exists for account %s.", existing->name,
                    s->name, k->account);
        return NULL;
    }
    size_t live = 0, creating = 0;
    for (size_t i = 0; i < s->consumer_count; i++) {
        sl_kstatus_t st = sl_kconsumer_status(s->consumers[i], op->now_ms);
        live += st != SL_KS_GONE;
        creating += st == SL_KS_CREATING;
    }
    size_t limit = k->commitment_enabled && s->on_demand ? 50 : SL_KINESIS_CONSUMERS_PER_STREAM_MAX;
    if (live >= limit) {
        sl_kerr_set(err, SL_KERR_LIMIT_EXCEEDED,
                    "Consumer limit of %zu reached for stream %s under account %s.", limit, s->name,
                    k->account);
        return NULL;
    }
    if (creating >= 5) {
        sl_kerr_set(err, SL_KERR_LIMIT_EXCEEDED,
                    "Stream %s under account %s already has 5 consumers in CREATING state.",
                    s->name, k->account);
        return NULL;
    }
    return s;
}

bool sl_kinesis_register_consumer(sl_kinesis_t *k, sl_kconsumer_register_t *op, sl_kerr_t *err) {
    sl_kinesis_wrlock(k);
    bool ok = false;
    sl_kstream_t *s = register_checked(k, op, err);
    if (s) {
        char name[129];
        snprintf(name, sizeof name, "%.*s", (int)op->name_len, op->name);
        sl_kconsumer_t *c = NULL;
        sl_ktag_rows_t rows;
        int rc = sl_ktag_rows_make(op->tags, op->tag_count, &rows);
        if (rc == 0) rc = sl_kinesis_consumer_add(k, s, name, &rows, op->now_ms, &c);
        sl_ktag_rows_free(&rows);
        if (rc == 0) info_of(s, c, op->now_ms, &op->consumer);
        ok = rc == 0 || sl_kerr_internal(err, rc);
    }
    sl_kinesis_unlock(k);
    return ok;
}

bool sl_kinesis_describe_consumer(sl_kinesis_t *k, const sl_kconsumer_ref_t *ref, int64_t now_ms,
                                  sl_kconsumer_info_t *out, sl_kerr_t *err) {
    sl_kinesis_rdlock(k);
    sl_kstream_t *s = NULL;
    sl_kconsumer_t *c = find_consumer(k, ref, now_ms, &s, err);
    if (c) info_of(s, c, now_ms, out);
    sl_kinesis_unlock(k);
    return c != NULL;
}

bool sl_kinesis_deregister_consumer(sl_kinesis_t *k, const sl_kconsumer_ref_t *ref, int64_t now_ms,
                                    sl_kconsumer_gone_t *out, sl_kerr_t *err) {
    sl_kinesis_wrlock(k);
    sl_kstream_t *s = NULL;
    sl_kconsumer_t *c = find_consumer(k, ref, now_ms, &s, err);
    bool ok = c != NULL;
    if (c) {
        int rc = sl_kinesis_consumer_deregister(k, s, c, now_ms);
        snprintf(out->stream_name, sizeof out->stream_name, "%s", s->name);
        snprintf(out->consumer_arn, sizeof out->consumer_arn, "%s", c->arn);
        if (rc) ok = sl_kerr_internal(err, rc);
    }
    sl_kinesis_unlock(k);
    return ok;
}

/* ListStreamConsumers' NextToken, sealed with the account's token key. */
typedef struct {
    char stream[129];
    int64_t stream_created_ms;
    int64_t issued_ms;
    uint32_t offset;
} consumer_token_t;

static bool list_page(sl_kinesis_t *k, sl_kconsumer_list_t *op, const consumer_token_t *t,
                      sl_kerr_t *err) {
    sl_kstream_t *s =
        sl_kinesis_resolve_arn(k, op->stream_arn, op->stream_arn_len, op->now_ms, err);
    if (!s) return false;
    if (op->next_token &&
        (strcmp(t->stream, s->name) != 0 || t->stream_created_ms != s->created_ms))
        return sl_kerr_set(err, SL_KERR_INVALID_ARGUMENT, "Invalid NextToken.");
    op->consumers = sl_arena_calloc(op->arena, s->consumer_count ? s->consumer_count : 1,
                                    sizeof *op->consumers);
    if (!op->consumers) return sl_kerr_internal(err, SL_ENOMEM);
    size_t i = op->next_token ? t->offset : 0;
    bool more = false;
    for (; i < s->consumer_count; i++) {
        if (sl_kconsumer_status(s->consumers[i], op->now_ms) == SL_KS_GONE) continue;
        if ((int64_t)op->count == op->max_results) {
            more = true;
            break;
        }
        info_of(s, s->consumers[i], op->now_ms, &op->consumers[op->count++]);
    }
    if (!more) return true;
    consumer_token_t nt = {
        .stream_created_ms = s->created_ms, .issued_ms = op->now_ms, .offset = (uint32_t)i};
    snprintf(nt.stream, sizeof nt.stream, "%s", s->name);
    char buf[1024];
    if (sl_token_seal(k->token_key, &nt, sizeof nt, buf, sizeof buf) > 0)
        op->next = sl_arena_strndup(op->arena, buf, strlen(buf));
    return true;
}

bool sl_kinesis_list_consumers(sl_kinesis_t *k, sl_kconsumer_list_t *op, sl_kerr_t *err) {
    op->count = 0;
    op->next = NULL;
    consumer_token_t t = {0};
    if (op->next_token) {
        size_t n = 0;
        if (sl_token_open(k->token_key, op->next_token, op->next_token_len, &t, sizeof t, &n) !=
                0 ||
            n != sizeof t)
            return sl_kerr_set(err, SL_KERR_INVALID_ARGUMENT, "Invalid NextToken.");
        if (op->now_ms - t.issued_ms > SL_KINESIS_NEXT_TOKEN_TTL_MS)
            return sl_kerr_set(err, SL_KERR_EXPIRED_NEXT_TOKEN, "The NextToken has expired.");
    }
    sl_kinesis_rdlock(k);
    bool ok = list_page(k, op, &t, err);
    sl_kinesis_unlock(k);
    return ok;
}
