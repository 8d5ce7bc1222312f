/* Errors as values for the Kinesis core (kinesis.h): typed errors with AWS's messages, stream
 * resolution with AWS's texts, and sequence-number composition shared by every data-plane path. */
#include "kinesis/kinesis.h"

#include "core/common.h"
#include "kinesis/engine.h"
#include "kinesis/names.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

bool sl_kerr_set(sl_kerr_t *err, sl_kerr_type_t type, const char *fmt, ...) {
    err->type = type;
    err->cause = 0;
    err->message[0] = 0;
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return false;
}

bool sl_kerr_internal(sl_kerr_t *err, int code) {
    err->type = SL_KERR_INTERNAL;
    err->cause = code;
    err->message[0] = 0;
    return false;
}

bool sl_kerr_storage(sl_kerr_t *err, sl_kinesis_t *k, int rc) {
    if (rc == SL_EAGAIN)
        return sl_kerr_set(
            err, SL_KERR_THROUGHPUT_EXCEEDED,
            "Rate exceeded for shard in stream under account %s: the storage write queue is full.",
            k->account);
    return sl_kerr_internal(err, rc);
}

bool sl_kerr_stream_not_found(sl_kerr_t *err, sl_kinesis_t *k, const char *name, size_t len) {
    return sl_kerr_set(err, SL_KERR_RESOURCE_NOT_FOUND, "Stream %.*s under account %s not found.",
                       (int)len, name, k->account);
}

sl_kstream_t *sl_kinesis_resolve_arn(sl_kinesis_t *k, const char *arn, size_t len, int64_t now_ms,
                                     sl_kerr_t *err) {
    sl_arn_t a;
    if (sl_arn_parse_stream(arn, len, &a) != 0 || a.consumer_len) {
        sl_kerr_set(err, SL_KERR_INVALID_ARGUMENT, "Invalid StreamARN %.*s.", (int)len, arn);
        return NULL;
    }
    if (a.account_len != strlen(k->account) || memcmp(a.account, k->account, a.account_len) != 0 ||
        a.region_len != strlen(k->region) || memcmp(a.region, k->region, a.region_len) != 0) {
        sl_kerr_stream_not_found(err, k, a.stream, a.stream_len);
        return NULL;
    }
    sl_kstream_t *s = sl_kinesis_find(k, a.stream, a.stream_len, now_ms);
    if (!s) sl_kerr_stream_not_found(err, k, a.stream, a.stream_len);
    return s;
}

sl_kstream_t *sl_kinesis_resolve(sl_kinesis_t *k, const sl_kstream_ref_t *ref, int64_t now_ms,
                                 sl_kerr_t *err) {
    if (!ref->name && !ref->arn) {
        sl_kerr_set(err, SL_KERR_INVALID_ARGUMENT,
                    "Either StreamName or StreamARN must be provided.");
        return NULL;
    }
    if (ref->arn) {
        sl_kstream_t *s = sl_kinesis_resolve_arn(k, ref->arn, ref->arn_len, now_ms, err);
        if (s && ref->name &&
            (strlen(s->name) != ref->name_len || memcmp(s->name, ref->name, ref->name_len) != 0)) {
            sl_kerr_set(err, SL_KERR_INVALID_ARGUMENT,
                        "StreamARN %.*s and StreamName %.*s do not identify the same stream.",
                        (int)ref->arn_len, ref->arn, (int)ref->name_len, ref->name);
            return NULL;
        }
        return s;
    }
    sl_kstream_t *s = sl_kinesis_find(k, ref->name, ref->name_len, now_ms);
    if (!s) sl_kerr_stream_not_found(err, k, ref->name, ref->name_len);
    return s;
}

sl_seqnum_t sl_kinesis_seqnum(int64_t shard_created_ms, uint32_t shard_index, uint64_t counter,
                              int64_t arrival_ms) {
    return (sl_seqnum_t){.shard_created_s = shard_created_ms / 1000,
                         .shard_index = shard_index,
                         .counter = counter,
                         .record_s = arrival_ms / 1000,
                         .version = 2};
}
