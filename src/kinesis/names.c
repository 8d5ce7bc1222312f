/* Shard ids and stream/consumer ARNs (spec §2). */
#include "kinesis/names.h"

#include "core/common.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

int sl_shardid_format(uint32_t index, char out[24]) {
    SL_ASSERT(out);
    int n = snprintf(out, 24, "shardId-%012" PRIu32, index);
    SL_ASSERT(n == SL_SHARDID_CHARS);
    return n;
}

int sl_shardid_parse(const char *s, size_t len, uint32_t *index) {
    SL_ASSERT(index);
    if (!s || len == 0) return SL_EINVAL;
    /* kinesalite: shardId.split('-')[1] || shardId */
    const char *p = s;
    size_t n = len;
    const char *dash = memchr(s, '-', len);
    if (dash) {
        const char *seg = dash + 1;
        const char *end = s + len;
        const char *dash2 = memchr(seg, '-', (size_t)(end - seg));
        size_t seg_len = (size_t)((dash2 ? dash2 : end) - seg);
        if (seg_len > 0) {
            p = seg;
            n = seg_len;
        }
    }
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') return SL_EINVAL;
        v = v * 10 + (uint64_t)(p[i] - '0');
        if (v > SL_SHARD_INDEX_MAX) return SL_EINVAL;
    }
    *index = (uint32_t)v;
    return 0;
}

static int fmt_result(int n, size_t cap) {
    SL_ASSERT(cap > 0);
    if (n < 0) return SL_EINVAL;
    if ((size_t)n >= cap) return SL_ELIMIT;
    return n;
}

int sl_arn_stream(char *buf, size_t cap, const char *region, const char *account,
                  const char *name) {
    SL_ASSERT(buf && region && account && name);
    return fmt_result(snprintf(buf, cap, "arn:aws:kinesis:%s:%s:stream/%s", region, account, name),
                      cap);
}

int sl_arn_consumer(char *buf, size_t cap, const char *region, const char *account,
                    const char *stream, const char *consumer, int64_t created_s) {
    SL_ASSERT(buf && region && account && stream && consumer);
    return fmt_result(snprintf(buf, cap, "arn:aws:kinesis:%s:%s:stream/%s/consumer/%s:%" PRId64,
                               region, account, stream, consumer, created_s),
                      cap);
}

static bool has_prefix(const char *s, size_t len, const char *prefix) {
    size_t n = strlen(prefix);
    return len >= n && memcmp(s, prefix, n) == 0;
}

static bool no_space(const char *s, size_t len) {
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= ' ' || c == 0x7f) return false;
    }
    return true;
}

/* Parses "arn:<aws*>:kinesis:<region>:<12 digits>:stream/" and sets *rest to what follows. */
static int parse_head(const char *s, size_t len, sl_arn_t *out, const char **rest,
                      size_t *rest_len) {
    SL_ASSERT(out && rest && rest_len);
    memset(out, 0, sizeof *out);
    if (!s || len == 0 || len > SL_ARN_CHARS_MAX || !has_prefix(s, len, "arn:")) return SL_EINVAL;
    const char *p = s + 4, *end = s + len;
    const char *colon = memchr(p, ':', (size_t)(end - p));
    if (!colon || !has_prefix(p, (size_t)(colon - p), "aws")) return SL_EINVAL;
    out->partition = p;
    out->partition_len = (size_t)(colon - p);
    p = colon + 1;
    if (!has_prefix(p, (size_t)(end - p), "kinesis:")) return SL_EINVAL;
    p += 8;
    colon = memchr(p, ':', (size_t)(end - p));
    if (!colon || colon == p || (size_t)(colon - p) > SL_REGION_CHARS_MAX) return SL_EINVAL;
    out->region = p;
    out->region_len = (size_t)(colon - p);
    p = colon + 1;
    if (end - p < SL_ACCOUNT_CHARS + 1) return SL_EINVAL;
    for (int i = 0; i < SL_ACCOUNT_CHARS; i++)
        if (p[i] < '0' || p[i] > '9') return SL_EINVAL;
    if (p[SL_ACCOUNT_CHARS] != ':') return SL_EINVAL;
    out->account = p;
    out->account_len = SL_ACCOUNT_CHARS;
    p += SL_ACCOUNT_CHARS + 1;
    if (!has_prefix(p, (size_t)(end - p), "stream/")) return SL_EINVAL;
    p += 7;
    if (!no_space(out->region, out->region_len) || !no_space(p, (size_t)(end - p)))
        return SL_EINVAL;
    *rest = p;
    *rest_len = (size_t)(end - p);
    SL_ASSERT(p <= end && out->region_len <= SL_REGION_CHARS_MAX);
    return 0;
}

int sl_arn_parse_stream(const char *s, size_t len, sl_arn_t *out) {
    const char *rest;
    size_t rest_len;
    int rc = parse_head(s, len, out, &rest, &rest_len);
    if (rc < 0) return rc;
    if (rest_len == 0 || rest_len > SL_NAME_CHARS_MAX || memchr(rest, '/', rest_len) ||
        memchr(rest, ':', rest_len)) {
        memset(out, 0, sizeof *out);
        return SL_EINVAL;
    }
    out->stream = rest;
    out->stream_len = rest_len;
    return 0;
}

/* Finds needle in the first len bytes of s. */
static const char *find(const char *s, size_t len, const char *needle) {
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= len; i++)
        if (memcmp(s + i, needle, n) == 0) return s + i;
    return NULL;
}

int sl_arn_parse_consumer(const char *s, size_t len, sl_arn_t *out) {
    const char *rest;
    size_t rest_len;
    int rc = parse_head(s, len, out, &rest, &rest_len);
    if (rc < 0) return rc;
    const char *end = rest + rest_len;
    const char *mark = find(rest, rest_len, "/consumer/");
    if (!mark) goto fail;
    size_t stream_len = (size_t)(mark - rest);
    if (stream_len == 0 || stream_len > SL_NAME_CHARS_MAX || memchr(rest, ':', stream_len))
        goto fail;
    const char *cons = mark + 10;
    const char *colon = NULL;
    for (const char *q = end; q > cons; q--)
        if (q[-1] == ':') {
            colon = q - 1;
            break;
        }
    if (!colon) goto fail;
    size_t cons_len = (size_t)(colon - cons);
    if (cons_len == 0 || cons_len > SL_NAME_CHARS_MAX || memchr(cons, '/', cons_len) ||
        memchr(cons, ':', cons_len))
        goto fail;
    const char *ts = colon + 1;
    size_t ts_len = (size_t)(end - ts);
    if (ts_len == 0 || ts_len > 18) goto fail; /* fits int64 without overflow checks */
    int64_t v = 0;
    for (size_t i = 0; i < ts_len; i++) {
        if (ts[i] < '0' || ts[i] > '9') goto fail;
        v = v * 10 + (ts[i] - '0');
    }
    out->stream = rest;
    out->stream_len = stream_len;
    out->consumer = cons;
    out->consumer_len = cons_len;
    out->consumer_created_s = v;
    SL_ASSERT(v >= 0 && out->stream_len <= SL_NAME_CHARS_MAX &&
              out->consumer_len <= SL_NAME_CHARS_MAX);
    return 0;
fail:
    memset(out, 0, sizeof *out);
    return SL_EINVAL;
}

int sl_arn_parse_resource(const char *s, size_t len, sl_arn_t *out) {
    if (s && find(s, len, "/consumer/")) return sl_arn_parse_consumer(s, len, out);
    return sl_arn_parse_stream(s, len, out);
}
