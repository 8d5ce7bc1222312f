/* SQS messages: send (validation with SQS's texts, MD5s, FIFO deduplication, the durable write),
 * receive (visibility, FIFO group order, retention), delete, visibility changes, the stored
 * message encoding. See sqs.h. */
#include "sqs/internal.h"

#include "core/log.h"
#include "core/time.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- digests and ids ---- */

static void hex_of(const uint8_t *d, size_t n, char *out) {
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[d[i] >> 4];
        out[2 * i + 1] = hex[d[i] & 15];
    }
    out[2 * n] = 0;
}

static void md5_hex(const void *p, size_t len, char out[33]) {
    uint8_t d[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    EVP_Digest(p, len, d, &n, EVP_md5(), NULL);
    hex_of(d, 16, out);
}

static void put_be32(sl_buf_t *b, size_t v) {
    uint8_t x[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    sl_buf_append(b, x, 4);
}

static int cmp_attr(const void *a, const void *b) {
    return strcmp(((const sl_sqs_attr_t *)a)->name, ((const sl_sqs_attr_t *)b)->name);
}

static bool is_binary_type(const char *t) {
    return strncmp(t, "Binary", 6) == 0;
}

void sl_sqs_md5_attrs(const sl_sqs_attr_t *attrs, size_t count, char out[33]) {
    out[0] = 0;
    if (!count) return;
    sl_sqs_attr_t sorted[SL_SQS_MESSAGE_ATTRS_MAX];
    size_t n = SL_MIN(count, SL_ARRAY_LEN(sorted));
    memcpy(sorted, attrs, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, cmp_attr);
    sl_buf_t b = SL_BUF_INIT;
    for (size_t i = 0; i < n; i++) {
        put_be32(&b, strlen(sorted[i].name));
        sl_buf_append_str(&b, sorted[i].name);
        put_be32(&b, strlen(sorted[i].data_type));
        sl_buf_append_str(&b, sorted[i].data_type);
        sl_buf_append_byte(&b, is_binary_type(sorted[i].data_type) ? 2 : 1);
        put_be32(&b, sorted[i].value_len);
        sl_buf_append(&b, sorted[i].value, sorted[i].value_len);
    }
    if (!sl_buf_failed(&b)) md5_hex(b.data, b.len, out);
    sl_buf_free(&b);
}

/* A random (version 4) UUID. */
static void new_uuid(char out[40]) {
    uint8_t r[16];
    if (RAND_bytes(r, sizeof r) != 1) memset(r, 0x5a, sizeof r);
    r[6] = (uint8_t)((r[6] & 0x0f) | 0x40);
    r[8] = (uint8_t)((r[8] & 0x3f) | 0x80);
    char h[33];
    hex_of(r, 16, h);
    snprintf(out, 40, "%.8s-%.4s-%.4s-%.4s-%.12s", h, h + 8, h + 12, h + 16, h + 20);
}

/* ---- the stored message ---- */

/* Strings are stored with their NUL, so that a decoded message points at C strings. */
static void put_cstr(sl_buf_t *b, const char *s) {
    s = s ? s : "";
    sl_sqs_put_bytes(b, s, strlen(s) + 1);
}

static const char *get_cstr(sl_sqs_rd_t *r) {
    size_t n;
    const uint8_t *p = sl_sqs_get_bytes(r, &n);
    if (!p || n == 0 || p[n - 1] != 0 || memchr(p, 0, n) != p + n - 1) {
        r->bad = true;
        return "";
    }
    return (const char *)p;
}

/* Version 1: sent, visible-from and sequence (u64), sender, group and deduplication ids, body,
 * attribute count, then per attribute its name, type and value. */
static int msg_encode(const sl_sqs_send_t *req, const char *sender, const char *dedup,
                      int64_t sent_ms, int64_t visible_ms, uint64_t seq, uint8_t **out,
                      size_t *len) {
    sl_buf_t b = SL_BUF_INIT;
    sl_buf_append_byte(&b, 1);
    sl_sqs_put_u64(&b, (uint64_t)sent_ms);
    sl_sqs_put_u64(&b, (uint64_t)visible_ms);
    sl_sqs_put_u64(&b, seq);
    put_cstr(&b, sender);
    put_cstr(&b, req->group_id);
    put_cstr(&b, dedup);
    sl_sqs_put_bytes(&b, req->body, req->body_len);
    sl_sqs_put_u64(&b, req->attr_count);
    for (size_t i = 0; i < req->attr_count; i++) {
        put_cstr(&b, req->attrs[i].name);
        put_cstr(&b, req->attrs[i].data_type);
        sl_sqs_put_bytes(&b, req->attrs[i].value, req->attrs[i].value_len);
    }
    if (sl_buf_failed(&b)) {
        sl_buf_free(&b);
        return SL_ENOMEM;
    }
    *out = (uint8_t *)sl_buf_detach(&b, len);
    return 0;
}

sl_sqs_msg_t *sl_sqs_msg_decode(const char *id, const uint8_t *blob, size_t len) {
    if (len < 1 || blob[0] != 1) return NULL;
    /* the attribute count comes after variable-length fields: read it in a first pass */
    sl_sqs_rd_t r = {blob + 1, blob + len, false};
    for (int i = 0; i < 3; i++)
        sl_sqs_get_u64(&r);
    size_t n;
    for (int i = 0; i < 4; i++)
        sl_sqs_get_bytes(&r, &n);
    uint64_t count = sl_sqs_get_u64(&r);
    if (r.bad || count > SL_SQS_MESSAGE_ATTRS_MAX) return NULL;
    sl_sqs_msg_t *m = calloc(1, sizeof *m + count * sizeof(sl_sqs_attr_t) + len);
    if (!m) return NULL;
    m->attrs = (sl_sqs_attr_t *)(m + 1);
    m->blob = (uint8_t *)(m->attrs + count);
    m->blob_len = len;
    memcpy(m->blob, blob, len);
    snprintf(m->id, sizeof m->id, "%s", id);
    r = (sl_sqs_rd_t){m->blob + 1, m->blob + len, false};
    m->sent_ms = (int64_t)sl_sqs_get_u64(&r);
    m->visible_ms = (int64_t)sl_sqs_get_u64(&r);
    m->seq = sl_sqs_get_u64(&r);
    m->sender_id = get_cstr(&r);
    m->group_id = get_cstr(&r);
    m->dedup_id = get_cstr(&r);
    m->body = sl_sqs_get_bytes(&r, &m->body_len);
    sl_sqs_get_u64(&r);
    for (uint64_t i = 0; i < count && !r.bad; i++) {
        sl_sqs_attr_t *a = &m->attrs[i];
        a->name = get_cstr(&r);
        a->data_type = get_cstr(&r);
        a->value = sl_sqs_get_bytes(&r, &a->value_len);
    }
    if (r.bad || !m->body) {
        free(m);
        return NULL;
    }
    m->attr_count = count;
    md5_hex(m->body, m->body_len, m->md5_body);
    sl_sqs_md5_attrs(m->attrs, m->attr_count, m->md5_attrs);
    return m;
}

void sl_sqs_msg_link(sl_sqs_queue_t *q, sl_sqs_msg_t *m) {
    m->next = NULL;
    m->prev = q->tail;
    if (q->tail)
        q->tail->next = m;
    else
        q->head = m;
    q->tail = m;
    q->count++;
}

void sl_sqs_msg_unlink(sl_sqs_queue_t *q, sl_sqs_msg_t *m) {
    if (m->prev)
        m->prev->next = m->next;
    else
        q->head = m->next;
    if (m->next)
        m->next->prev = m->prev;
    else
        q->tail = m->prev;
    q->count--;
}

/* ---- validation ---- */

/* The first character SQS refuses in s (UTF-8), as its code point, or -1 when all are allowed
 * (#x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF). Malformed UTF-8
 * counts as #xFFFD's neighbour #xFFFE (refused). */
static long bad_char(const uint8_t *s, size_t len) {
    size_t i = 0;
    while (i < len) {
        uint32_t c = s[i];
        size_t n = c < 0x80             ? 1
                   : (c & 0xe0) == 0xc0 ? 2
                   : (c & 0xf0) == 0xe0 ? 3
                   : (c & 0xf8) == 0xf0 ? 4
                                        : 0;
        if (n == 0 || i + n > len) return 0xfffe;
        if (n > 1) c &= 0x3f >> (n - 1);
        for (size_t k = 1; k < n; k++) {
            if ((s[i + k] & 0xc0) != 0x80) return 0xfffe;
            c = (c << 6) | (s[i + k] & 0x3f);
        }
        i += n;
        if (c == 0x9 || c == 0xa || c == 0xd || (c >= 0x20 && c <= 0xd7ff) ||
            (c >= 0xe000 && c <= 0xfffd) || (c >= 0x10000 && c <= 0x10ffff))
            continue;
        return (long)c;
    }
    return -1;
}

static int check_attrs(const sl_sqs_send_t *req, size_t *size, sl_sqs_err_t *err) {
    if (req->attr_count > SL_SQS_MESSAGE_ATTRS_MAX) {
        sl_sqs_fail(err, SL_SQS_INVALID_PARAMETER_VALUE,
                    "Number of message attributes [%zu] exceeds the allowed maximum [%d].",
                    req->attr_count, SL_SQS_MESSAGE_ATTRS_MAX);
        return SL_EINVAL;
    }
    for (size_t i = 0; i < req->attr_count; i++) {
        const sl_sqs_attr_t *a = &req->attrs[i];
        size_t nlen = strlen(a->name);
        bool name_ok = nlen > 0 && nlen <= 256 && a->name[0] != '.' && a->name[nlen - 1] != '.' &&
                       !strstr(a->name, "..") && strncasecmp(a->name, "aws.", 4) != 0 &&
                       strncasecmp(a->name, "amazon.", 7) != 0;
        for (size_t k = 0; name_ok && k < nlen; k++) {
            char c = a->name[k];
            name_ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '_' || c == '-' || c == '.';
        }
        if (!name_ok) {
            sl_sqs_fail(err, SL_SQS_INVALID_PARAMETER_VALUE,
                        "Message (user) attribute name '%.256s' is invalid.", a->name);
            return SL_EINVAL;
        }
        for (size_t k = 0; k < i; k++)
            if (strcmp(req->attrs[k].name, a->name) == 0) {
                sl_sqs_fail(err, SL_SQS_INVALID_PARAMETER_VALUE,
                            "Message (user) attribute '%.256s' is specified more than once.",
                            a->name);
                return SL_EINVAL;
            }
        const char *t = a->data_type ? a->data_type : "";
        bool type_ok = false;
        static const char *const prefixes[] = {"String", "Number", "Binary"};
        for (size_t k = 0; k < 3; k++) {
            size_t pl = strlen(prefixes[k]);
            if (strncmp(t, prefixes[k], pl) == 0 && (t[pl] == 0 || (t[pl] == '.' && t[pl + 1])))
                type_ok = true;
        }
        if (!type_ok) {
            sl_sqs_fail(err, SL_SQS_INVALID_PARAMETER_VALUE,
                        "The type of message (user) attribute '%.256s' is invalid. You must use "
                        "only the following supported type prefixes: Binary, Number, String.",
                        a->name);
            return SL_EINVAL;
        }
        if (!a->value || a->value_len == 0) {
            sl_sqs_fail(err, SL_SQS_INVALID_PARAMETER_VALUE,
                        "The message (user) attribute '%.256s' must contain a non-empty message "
                        "attribute value for message attribute type '%.64s'.",
                        a->name, strncmp(t, "Binary", 6) == 0 ? "Binary" : "String");
            return SL_EINVAL;
        }
        if (strncmp(t, "Number", 6) == 0) {
            char num[64];
            char *end;
            size_t vl = SL_MIN(a->value_len, sizeof num - 1);
            memcpy(num, a->value, vl);
            num[vl] = 0;
            strtod(num, &end);
            if (a->value_len >= sizeof num || *end || end == num) {
                sl_sqs_fail(err, SL_SQS_INVALID_PARAMETER_VALUE,
                            "Can't cast the value of message (user) attribute '%.256s' to a "
                            "number.",
                            a->name);
                return SL_EINVAL;
            }
        }
        if (!is_binary_type(t)) {
            long c = bad_char(a->value, a->value_len);
            if (c >= 0) {
                sl_sqs_fail(err, SL_SQS_INVALID_PARAMETER_VALUE,
                            "Message (user) attribute '%.256s' value contains invalid binary "
                            "character '#x%lX'.",
                            a->name, c);
                return SL_EINVAL;
            }
        }
        *size += nlen + strlen(t) + a->value_len;
    }
    return 0;
}

/* Forgets deduplication ids older than 5 minutes; returns the entry of `id`, or NULL. */
static sl_sqs_dedup_t *dedup_find(sl_sqs_queue_t *q, const char *id, int64_t now_ms) {
    size_t keep = 0;
    for (size_t i = 0; i < q->dedup_count; i++) {
        if (now_ms - q->dedup[i].at_ms >= 300000) {
            free(q->dedup[i].dedup_id);
            continue;
        }
        q->dedup[keep++] = q->dedup[i];
    }
    q->dedup_count = keep;
    for (size_t i = 0; i < q->dedup_count; i++)
        if (strcmp(q->dedup[i].dedup_id, id) == 0) return &q->dedup[i];
    return NULL;
}

/* ---- send ---- */

typedef struct {
    sl_sqs_t *sqs;
    char queue[96];
    uint64_t incarnation, epoch;
    sl_sqs_msg_t *msg;
    sl_sqs_done_fn done;
    void *ctx;
} pending_send_t;

/* Writer thread: the message is durable; it joins its queue (unless the queue was deleted or
 * purged since: the store dropped it too). */
static void send_durable(void *arg, int status) {
    pending_send_t *p = arg;
    sl_sqs_t *sqs = p->sqs;
    if (status == 0) {
        pthread_mutex_lock(&sqs->mu);
        sl_sqs_queue_t *q = sl_sqs_find(sqs, p->queue);
        if (q && q->incarnation == p->incarnation && q->epoch == p->epoch) {
            sl_sqs_msg_link(q, p->msg);
            p->msg = NULL;
            sl_sqs_wake(sqs);
        }
        pthread_mutex_unlock(&sqs->mu);
    }
    free(p->msg);
    if (p->done) p->done(p->ctx, status);
    free(p);
}

int sl_sqs_send(sl_sqs_t *sqs, const sl_sqs_send_t *req, int64_t now_ms, sl_sqs_sent_t *sent,
                sl_sqs_err_t *err, sl_sqs_done_fn done, void *ctx) {
    memset(sent, 0, sizeof *sent);
    if (req->delay_seconds > 900) {
        sl_sqs_fail(err, SL_SQS_INVALID_PARAMETER_VALUE,
                    "Value %d for parameter DelaySeconds is invalid. Reason: DelaySeconds must be "
                    ">= 0 and <= 900.",
                    req->delay_seconds);
        return SL_EINVAL;
    }
    if (req->body_len == 0) {
        sl_sqs_fail(err, SL_SQS_MISSING_PARAMETER,
                    "The request must contain the parameter MessageBody.");
        return SL_EINVAL;
    }
    long c = bad_char(req->body, req->body_len);
    if (c >= 0) {
        sl_sqs_fail(err, SL_SQS_INVALID_MESSAGE_CONTENTS,
                    "Invalid binary character '#x%lX' was found in the message body, the set of "
                    "allowed characters is #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | "
                    "#x10000 to #x10FFFF",
                    c);
        return SL_EINVAL;
    }
    size_t size = req->body_len;
    if (check_attrs(req, &size, err)) return SL_EINVAL;

    pthread_mutex_lock(&sqs->mu);
    sl_sqs_queue_t *q = sl_sqs_find(sqs, req->queue);
    int rc = 0;
    char dedup[136] = "";
    if (!q) {
        sl_sqs_fail(err, SL_SQS_QUEUE_DOES_NOT_EXIST, "The specified queue does not exist.");
        rc = SL_EINVAL;
    } else if (size > (size_t)q->max_size) {
        sl_sqs_fail(err, SL_SQS_INVALID_PARAMETER_VALUE,
                    "One or more parameters are invalid. Reason: Message must be shorter than %d "
                    "bytes.",
                    q->max_size);
        rc = SL_EINVAL;
    } else if (q->count >= SL_SQS_QUEUE_MESSAGES_MAX) {
        sl_sqs_fail(err, SL_SQS_OVER_LIMIT,
                    "The queue holds the most messages Sluice keeps in one queue (%d).",
                    SL_SQS_QUEUE_MESSAGES_MAX);
        rc = SL_EINVAL;
    } else if (q->fifo) {
        if (!req->group_id || !*req->group_id) {
            sl_sqs_fail(err, SL_SQS_MISSING_PARAMETER,
                        "The request must contain the parameter MessageGroupId.");
            rc = SL_EINVAL;
        } else if (req->delay_seconds > 0) {
            sl_sqs_fail(err, SL_SQS_INVALID_PARAMETER_VALUE,
                        "Value %d for parameter DelaySeconds is invalid. Reason: The request "
                        "include parameter that is not valid for this queue type.",
                        req->delay_seconds);
            rc = SL_EINVAL;
        } else if (req->dedup_id && *req->dedup_id) {
            snprintf(dedup, sizeof dedup, "%.128s", req->dedup_id);
        } else if (q->content_dedup) {
            uint8_t d[EVP_MAX_MD_SIZE];
            unsigned n = 0;
            EVP_Digest(req->body, req->body_len, d, &n, EVP_sha256(), NULL);
            hex_of(d, 32, dedup);
        } else {
            sl_sqs_fail(err, SL_SQS_INVALID_PARAMETER_VALUE,
                        "The queue should either have ContentBasedDeduplication enabled or "
                        "MessageDeduplicationId provided explicitly");
            rc = SL_EINVAL;
        }
    }
    if (rc) {
        pthread_mutex_unlock(&sqs->mu);
        return rc;
    }
    md5_hex(req->body, req->body_len, sent->md5_body);
    sl_sqs_md5_attrs(req->attrs, req->attr_count, sent->md5_attrs);
    if (q->fifo) {
        sl_sqs_dedup_t *d = dedup_find(q, dedup, now_ms);
        if (d) { /* a duplicate: the first message's answer, nothing stored */
            memcpy(sent->message_id, d->message_id, sizeof sent->message_id);
            memcpy(sent->sequence_number, d->sequence_number, sizeof sent->sequence_number);
            rc = sl_sqs_enqueue(sqs, false, 0, "", NULL, 0, NULL, 0, done, ctx);
            pthread_mutex_unlock(&sqs->mu);
            return rc ? sl_sqs_internal(err, rc) : 0;
        }
    }
    new_uuid(sent->message_id);
    uint64_t seq = q->next_seq++;
    if (q->fifo)
        snprintf(sent->sequence_number, sizeof sent->sequence_number, "%020llu",
                 (unsigned long long)seq);
    int delay = req->delay_seconds >= 0 ? req->delay_seconds : q->delay_s;
    const char *sender = req->sender_id ? req->sender_id : sqs->account;
    uint8_t *blob = NULL;
    size_t blob_len = 0;
    pending_send_t *p = calloc(1, sizeof *p);
    rc = p ? msg_encode(req, sender, dedup, now_ms, now_ms + delay * 1000LL, seq, &blob, &blob_len)
           : SL_ENOMEM;
    if (rc == 0 && !(p->msg = sl_sqs_msg_decode(sent->message_id, blob, blob_len))) rc = SL_ENOMEM;
    if (rc == 0 && q->fifo) {
        if (q->dedup_count == q->dedup_cap) {
            size_t cap = q->dedup_cap ? q->dedup_cap * 2 : 16;
            sl_sqs_dedup_t *nd =
                cap <= SL_SQS_DEDUP_MAX ? realloc(q->dedup, cap * sizeof *nd) : NULL;
            if (nd) {
                q->dedup = nd;
                q->dedup_cap = cap;
            }
        }
        char *id = strdup(dedup);
        if (id && q->dedup_count < q->dedup_cap) {
            sl_sqs_dedup_t *d = &q->dedup[q->dedup_count++];
            d->dedup_id = id;
            d->at_ms = now_ms;
            memcpy(d->message_id, sent->message_id, sizeof d->message_id);
            memcpy(d->sequence_number, sent->sequence_number, sizeof d->sequence_number);
        } else {
            free(id); /* no room: this id is not deduplicated */
        }
    }
    if (rc == 0) {
        p->sqs = sqs;
        snprintf(p->queue, sizeof p->queue, "%s", q->name);
        p->incarnation = q->incarnation;
        p->epoch = q->epoch;
        p->done = done;
        p->ctx = ctx;
        rc = sl_sqs_enqueue(sqs, true, SL_ITEMSTORE_PUT_ITEM, q->name, sent->message_id,
                            strlen(sent->message_id), blob, blob_len, send_durable, p);
    }
    pthread_mutex_unlock(&sqs->mu);
    free(blob);
    if (rc) {
        if (p) free(p->msg);
        free(p);
        return sl_sqs_internal(err, rc);
    }
    return 0;
}

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    bool finished;
    int status;
} waiter_t;

static void wait_done(void *ctx, int status) {
    waiter_t *w = ctx;
    pthread_mutex_lock(&w->mu);
    w->finished = true;
    w->status = status;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->mu);
}

int sl_sqs_send_arn_wait(sl_sqs_t *sqs, const char *queue_arn, const void *body, size_t body_len,
                         sl_sqs_sent_t *sent, sl_sqs_err_t *err) {
    char name[81], account[16];
    if (sl_sqs_parse_arn(queue_arn, name, account) != 0 || strcmp(account, sqs->account) != 0) {
        sl_sqs_fail(err, SL_SQS_QUEUE_DOES_NOT_EXIST, "The specified queue does not exist.");
        return SL_EINVAL;
    }
    waiter_t w = {.finished = false};
    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cond, NULL);
    sl_sqs_send_t req = {.queue = name, .body = body, .body_len = body_len, .delay_seconds = -1};
    int rc = sl_sqs_send(sqs, &req, sl_time_now_ms(), sent, err, wait_done, &w);
    if (rc == 0) {
        pthread_mutex_lock(&w.mu);
        while (!w.finished)
            pthread_cond_wait(&w.cond, &w.mu);
        pthread_mutex_unlock(&w.mu);
        rc = w.status;
        if (rc) sl_sqs_internal(err, rc);
    }
    pthread_mutex_destroy(&w.mu);
    pthread_cond_destroy(&w.cond);
    return rc;
}

/* ---- receive ---- */

int64_t sl_sqs_next_visible(const sl_sqs_queue_t *q, int64_t now_ms) {
    int64_t next = INT64_MAX;
    for (const sl_sqs_msg_t *m = q->head; m; m = m->next)
        if (m->visible_ms > now_ms && m->visible_ms < next) next = m->visible_ms;
    return next;
}

static bool group_blocked(const char *const *groups, size_t n, const char *g) {
    for (size_t i = 0; i < n; i++)
        if (strcmp(groups[i], g) == 0) return true;
    return false;
}

/* Copies m into out with a new receipt handle. */
static int copy_out(sl_sqs_t *sqs, const sl_sqs_msg_t *m, uint64_t receipt, sl_sqs_message_t *out) {
    memset(out, 0, sizeof *out);
    size_t size = m->blob_len + m->attr_count * sizeof(sl_sqs_attr_t) + 64;
    uint8_t *own = malloc(size);
    if (!own) return SL_ENOMEM;
    out->owned_ = own;
    sl_sqs_attr_t *attrs = (sl_sqs_attr_t *)own;
    uint8_t *blob = own + m->attr_count * sizeof(sl_sqs_attr_t);
    memcpy(blob, m->blob, m->blob_len);
    char *handle = (char *)blob + m->blob_len;
#define MOVED(ptr) ((const void *)(blob + ((const uint8_t *)(ptr)-m->blob)))
    for (size_t i = 0; i < m->attr_count; i++) {
        attrs[i].name = MOVED(m->attrs[i].name);
        attrs[i].data_type = MOVED(m->attrs[i].data_type);
        attrs[i].value = MOVED(m->attrs[i].value);
        attrs[i].value_len = m->attrs[i].value_len;
    }
    qsort(attrs, m->attr_count, sizeof *attrs, cmp_attr);
    out->attrs = attrs;
    out->attr_count = m->attr_count;
    out->body = (uint8_t *)MOVED(m->body);
    out->body_len = m->body_len;
    out->group_id = *m->group_id ? (char *)MOVED(m->group_id) : NULL;
    out->dedup_id = *m->dedup_id ? (char *)MOVED(m->dedup_id) : NULL;
#undef MOVED
    snprintf(handle, 64, "%s.%016llx", m->id, (unsigned long long)receipt);
    out->receipt_handle = handle;
    memcpy(out->message_id, m->id, sizeof out->message_id);
    memcpy(out->md5_body, m->md5_body, sizeof out->md5_body);
    memcpy(out->md5_attrs, m->md5_attrs, sizeof out->md5_attrs);
    out->sent_ms = m->sent_ms;
    out->first_receive_ms = m->first_receive_ms;
    out->receive_count = m->receive_count;
    snprintf(out->sender_id, sizeof out->sender_id, "%s", m->sender_id);
    if (*m->group_id)
        snprintf(out->sequence_number, sizeof out->sequence_number, "%020llu",
                 (unsigned long long)m->seq);
    (void)sqs;
    return 0;
}

sl_sqs_received_t *sl_sqs_take(sl_sqs_t *sqs, sl_sqs_queue_t *q, int max, int visibility_s,
                               int64_t now_ms) {
    sl_sqs_received_t *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->messages = calloc((size_t)max, sizeof *r->messages);
    const char **blocked = q->fifo ? calloc(q->count + 1, sizeof *blocked) : NULL;
    if (!r->messages || (q->fifo && !blocked)) {
        free(blocked);
        sl_sqs_received_free(r);
        return NULL;
    }
    size_t nb = 0;
    if (q->fifo) /* a group waits while one of its messages is not visible */
        for (sl_sqs_msg_t *m = q->head; m; m = m->next)
            if (m->visible_ms > now_ms && !group_blocked(blocked, nb, m->group_id))
                blocked[nb++] = m->group_id;
    int64_t expiry = now_ms - (int64_t)q->retention_s * 1000;
    sl_sqs_msg_t *m = q->head;
    while (m && r->count < (size_t)max) {
        sl_sqs_msg_t *next = m->next;
        if (m->sent_ms < expiry) { /* past the retention period: gone */
            sl_sqs_enqueue(sqs, true, SL_ITEMSTORE_DELETE_ITEM, q->name, m->id, strlen(m->id), NULL,
                           0, NULL, NULL);
            sl_sqs_msg_unlink(q, m);
            free(m);
            m = next;
            continue;
        }
        sl_sqs_queue_t *dlq =
            q->max_receive && m->visible_ms <= now_ms && m->receive_count >= q->max_receive
                ? sl_sqs_find(sqs, q->dlq)
                : NULL;
        if (dlq && dlq != q && dlq->count < SL_SQS_QUEUE_MESSAGES_MAX) {
            /* received maxReceiveCount times: it moves to the dead-letter queue */
            if (sl_sqs_enqueue(sqs, true, SL_ITEMSTORE_PUT_ITEM, dlq->name, m->id, strlen(m->id),
                               m->blob, m->blob_len, NULL, NULL) == 0 &&
                sl_sqs_enqueue(sqs, true, SL_ITEMSTORE_DELETE_ITEM, q->name, m->id, strlen(m->id),
                               NULL, 0, NULL, NULL) == 0) {
                sl_sqs_msg_unlink(q, m);
                m->inflight = false;
                m->visible_ms = now_ms;
                sl_sqs_msg_link(dlq, m);
            }
            m = next;
            continue;
        }
        if (m->visible_ms <= now_ms && !(nb && group_blocked(blocked, nb, m->group_id))) {
            m->receive_count++;
            if (!m->first_receive_ms) m->first_receive_ms = now_ms;
            m->receipt = ++sqs->next_receipt;
            m->inflight = true;
            m->visible_ms = now_ms + (int64_t)visibility_s * 1000;
            if (copy_out(sqs, m, m->receipt, &r->messages[r->count]) != 0) break;
            r->count++;
        }
        m = next;
    }
    free(blocked);
    return r;
}

void sl_sqs_received_free(sl_sqs_received_t *r) {
    if (!r) return;
    for (size_t i = 0; i < r->count; i++)
        free(r->messages[i].owned_);
    free(r->messages);
    free(r);
}

int sl_sqs_receive(sl_sqs_t *sqs, const sl_sqs_receive_t *req, int64_t now_ms, sl_sqs_err_t *err,
                   void (*done)(void *ctx, sl_sqs_received_t *r), void *ctx) {
    if (req->max_messages < 1 || req->max_messages > SL_SQS_BATCH_MAX) {
        sl_sqs_fail(err, SL_SQS_INVALID_PARAMETER_VALUE,
                    "Value %d for parameter MaxNumberOfMessages is invalid. Reason: Must be "
                    "between 1 and 10, if provided.",
                    req->max_messages);
        return SL_EINVAL;
    }
    if (req->wait_seconds > 20 || req->wait_seconds < -1) {
        sl_sqs_fail(err, SL_SQS_INVALID_PARAMETER_VALUE,
                    "Value %d for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and "
                    "<= 20, if provided.",
                    req->wait_seconds);
        return SL_EINVAL;
    }
    if (req->visibility_timeout > 43200 || req->visibility_timeout < -1) {
        sl_sqs_fail(err, SL_SQS_INVALID_PARAMETER_VALUE,
                    "Value %d for parameter VisibilityTimeout is invalid. Reason: Must be >= 0 "
                    "and <= 43200, if provided.",
                    req->visibility_timeout);
        return SL_EINVAL;
    }
    pthread_mutex_lock(&sqs->mu);
    sl_sqs_queue_t *q = sl_sqs_find(sqs, req->queue);
    if (!q) {
        pthread_mutex_unlock(&sqs->mu);
        sl_sqs_fail(err, SL_SQS_QUEUE_DOES_NOT_EXIST, "The specified queue does not exist.");
        return SL_EINVAL;
    }
    int vt = req->visibility_timeout >= 0 ? req->visibility_timeout : q->visibility_timeout;
    int wait = req->wait_seconds >= 0 ? req->wait_seconds : q->wait_s;
    sl_sqs_received_t *r = sl_sqs_take(sqs, q, req->max_messages, vt, now_ms);
    if (!r) {
        pthread_mutex_unlock(&sqs->mu);
        return sl_sqs_internal(err, SL_ENOMEM);
    }
    if (r->count == 0 && wait > 0 && !sqs->stopping && sqs->waiter_count < SL_SQS_WAITERS_MAX) {
        sl_sqs_waiter_t *w = calloc(1, sizeof *w);
        if (w) {
            snprintf(w->queue, sizeof w->queue, "%s", q->name);
            w->incarnation = q->incarnation;
            w->max_messages = req->max_messages;
            w->visibility_timeout = vt;
            w->deadline_ms = now_ms + wait * 1000LL;
            w->done = done;
            w->ctx = ctx;
            w->next = sqs->waiters;
            sqs->waiters = w;
            sqs->waiter_count++;
            pthread_cond_signal(&sqs->tcond);
            pthread_mutex_unlock(&sqs->mu);
            sl_sqs_received_free(r);
            return 0;
        }
    }
    pthread_mutex_unlock(&sqs->mu);
    done(ctx, r);
    return 0;
}

/* ---- delete, visibility ---- */

/* The message id and token of a receipt handle ("<uuid>.<16 hex digits>"). */
static bool parse_handle(const char *h, char id[40], uint64_t *token) {
    size_t n = strlen(h);
    if (n != 36 + 1 + 16 || h[36] != '.') return false;
    for (size_t i = 0; i < 36; i++) {
        char c = h[i];
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    }
    char *end;
    unsigned long long t = strtoull(h + 37, &end, 16);
    if (*end || h[37] == '-' || h[37] == '+') return false;
    memcpy(id, h, 36);
    id[36] = 0;
    *token = t;
    return true;
}

static void bad_handle(sl_sqs_err_t *err, const char *h) {
    sl_sqs_fail(err, SL_SQS_RECEIPT_HANDLE_IS_INVALID,
                "The input receipt handle \"%.200s\" is not a valid receipt handle.", h);
}

static sl_sqs_msg_t *find_msg(sl_sqs_queue_t *q, const char *id) {
    for (sl_sqs_msg_t *m = q->head; m; m = m->next)
        if (strcmp(m->id, id) == 0) return m;
    return NULL;
}

int sl_sqs_delete_message(sl_sqs_t *sqs, const char *queue, const char *receipt_handle,
                          sl_sqs_err_t *err, sl_sqs_done_fn done, void *ctx) {
    char id[40];
    uint64_t token;
    pthread_mutex_lock(&sqs->mu);
    sl_sqs_queue_t *q = sl_sqs_find(sqs, queue);
    int rc = 0;
    if (!q) {
        sl_sqs_fail(err, SL_SQS_QUEUE_DOES_NOT_EXIST, "The specified queue does not exist.");
        rc = SL_EINVAL;
    } else if (!parse_handle(receipt_handle, id, &token)) {
        bad_handle(err, receipt_handle);
        rc = SL_EINVAL;
    }
    if (rc) {
        pthread_mutex_unlock(&sqs->mu);
        return rc;
    }
    sl_sqs_msg_t *m = find_msg(q, id);
    if (m && m->receipt) {
        rc = sl_sqs_enqueue(sqs, true, SL_ITEMSTORE_DELETE_ITEM, q->name, id, strlen(id), NULL, 0,
                            done, ctx);
        if (rc == 0) {
            sl_sqs_msg_unlink(q, m);
            free(m);
        }
    } else {
        rc = sl_sqs_enqueue(sqs, false, 0, "", NULL, 0, NULL, 0, done, ctx);
    }
    pthread_mutex_unlock(&sqs->mu);
    return rc ? sl_sqs_internal(err, rc) : 0;
}

int sl_sqs_change_visibility(sl_sqs_t *sqs, const char *queue, const char *receipt_handle,
                             int timeout_s, int64_t now_ms, sl_sqs_err_t *err) {
    char id[40];
    uint64_t token;
    pthread_mutex_lock(&sqs->mu);
    sl_sqs_queue_t *q = sl_sqs_find(sqs, queue);
    sl_sqs_msg_t *m = NULL;
    int rc = SL_EINVAL;
    if (!q) {
        sl_sqs_fail(err, SL_SQS_QUEUE_DOES_NOT_EXIST, "The specified queue does not exist.");
    } else if (!parse_handle(receipt_handle, id, &token)) {
        bad_handle(err, receipt_handle);
    } else if (timeout_s < 0 || timeout_s > 43200) {
        sl_sqs_fail(err, SL_SQS_INVALID_PARAMETER_VALUE,
                    "Value %d for parameter VisibilityTimeout is invalid. Reason: Must be >= 0 "
                    "and <= 43200, if provided.",
                    timeout_s);
    } else if (!(m = find_msg(q, id)) || !m->receipt) {
        bad_handle(err, receipt_handle);
    } else if (!m->inflight || m->visible_ms <= now_ms) {
        sl_sqs_fail(err, SL_SQS_MESSAGE_NOT_INFLIGHT,
                    "Message does not exist or is not available for visibility timeout change.");
    } else if (now_ms + timeout_s * 1000LL - m->first_receive_ms > 43200 * 1000LL) {
        sl_sqs_fail(err, SL_SQS_INVALID_PARAMETER_VALUE,
                    "Value %d for parameter VisibilityTimeout is invalid. Reason: Total "
                    "VisibilityTimeout for the message is beyond the limit [43200 seconds]",
                    timeout_s);
    } else {
        m->visible_ms = now_ms + timeout_s * 1000LL;
        sl_sqs_wake(sqs);
        rc = 0;
    }
    pthread_mutex_unlock(&sqs->mu);
    return rc;
}
