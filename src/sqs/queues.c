/* SQS queues: names, attributes (SQS's names, ranges and texts), create, delete, list, get/set
 * attributes, purge, and the stored queue metadata. See sqs.h. */
#include "sqs/internal.h"

#include "core/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- attributes ---- */

typedef enum { A_INT, A_BOOL, A_STRING, A_ENUM, A_COMPUTED } attr_kind_t;

/* The attributes SQS knows: settable ones with their range and default ("" = no default, not
 * listed unless set), FIFO-only ones, and the computed ones GetQueueAttributes answers. */
static const struct {
    const char *name;
    attr_kind_t kind;
    long min, max;
    const char *def;
    bool fifo_only;
    const char *values; /* A_ENUM: the values, '|'-separated */
} attr_table[] = {
    {"DelaySeconds", A_INT, 0, 900, "0", false, NULL},
    {"MaximumMessageSize", A_INT, 1024, SL_SQS_MESSAGE_BYTES_MAX, "1048576", false, NULL},
    {"MessageRetentionPeriod", A_INT, 60, 1209600, "345600", false, NULL},
    {"ReceiveMessageWaitTimeSeconds", A_INT, 0, 20, "0", false, NULL},
    {"VisibilityTimeout", A_INT, 0, 43200, "30", false, NULL},
    {"Policy", A_STRING, 0, 0, "", false, NULL},
    {"RedrivePolicy", A_STRING, 0, 0, "", false, NULL},
    {"RedriveAllowPolicy", A_STRING, 0, 0, "", false, NULL},
    {"KmsMasterKeyId", A_STRING, 0, 0, "", false, NULL},
    {"KmsDataKeyReusePeriodSeconds", A_INT, 60, 86400, "", false, NULL},
    {"SqsManagedSseEnabled", A_BOOL, 0, 0, "true", false, NULL},
    {"FifoQueue", A_BOOL, 0, 0, "", true, NULL},
    {"ContentBasedDeduplication", A_BOOL, 0, 0, "false", true, NULL},
    {"DeduplicationScope", A_ENUM, 0, 0, "queue", true, "messageGroup|queue"},
    {"FifoThroughputLimit", A_ENUM, 0, 0, "perQueue", true, "perQueue|perMessageGroupId"},
    {"ApproximateNumberOfMessages", A_COMPUTED, 0, 0, "", false, NULL},
    {"ApproximateNumberOfMessagesNotVisible", A_COMPUTED, 0, 0, "", false, NULL},
    {"ApproximateNumberOfMessagesDelayed", A_COMPUTED, 0, 0, "", false, NULL},
    {"CreatedTimestamp", A_COMPUTED, 0, 0, "", false, NULL},
    {"LastModifiedTimestamp", A_COMPUTED, 0, 0, "", false, NULL},
    {"QueueArn", A_COMPUTED, 0, 0, "", false, NULL},
};

static int attr_index(const char *name) {
    for (size_t i = 0; i < SL_ARRAY_LEN(attr_table); i++)
        if (strcmp(attr_table[i].name, name) == 0) return (int)i;
    return -1;
}

static bool parse_long(const char *s, long *out) {
    char *end;
    if (!*s || strlen(s) > 12) return false;
    long v = strtol(s, &end, 10);
    if (*end) return false;
    *out = v;
    return true;
}

static bool parse_redrive(const char *doc, char dlq[96], int *max_receive);

/* Checks one attribute given to CreateQueue or SetQueueAttributes. */
static int check_attr(const char *name, const char *value, bool fifo, bool creating,
                      sl_sqs_err_t *err) {
    int i = attr_index(name);
    if (i < 0 || attr_table[i].kind == A_COMPUTED || (attr_table[i].fifo_only && !fifo) ||
        (!creating && strcmp(name, "FifoQueue") == 0))
        goto unknown;
    long v;
    switch (attr_table[i].kind) {
    case A_INT:
        if (!parse_long(value, &v) || v < attr_table[i].min || v > attr_table[i].max) goto invalid;
        return 0;
    case A_BOOL:
        if (strcmp(value, "true") != 0 && strcmp(value, "false") != 0) goto invalid;
        return 0;
    case A_ENUM: {
        const char *p = attr_table[i].values;
        size_t n = strlen(value);
        while (p) {
            const char *bar = strchr(p, '|');
            size_t len = bar ? (size_t)(bar - p) : strlen(p);
            if (len == n && strncmp(p, value, n) == 0) return 0;
            p = bar ? bar + 1 : NULL;
        }
        goto invalid;
    }
    default:
        if (strlen(value) > 20480) goto invalid;
        if (strcmp(name, "RedrivePolicy") == 0 && *value) {
            char dlq[96];
            int max;
            if (!parse_redrive(value, dlq, &max)) {
                sl_sqs_fail(err, SL_SQS_INVALID_PARAMETER_VALUE,
                            "Value %.200s for parameter RedrivePolicy is invalid. Reason: Redrive "
                            "policy is not a valid JSON map with deadLetterTargetArn and "
                            "maxReceiveCount (1 to 1000).",
                            value);
                return SL_EINVAL;
            }
        }
        return 0;
    }
unknown:
    sl_sqs_fail(err, SL_SQS_INVALID_ATTRIBUTE_NAME, "Unknown Attribute %.64s.", name);
    return SL_EINVAL;
invalid:
    sl_sqs_fail(err, SL_SQS_INVALID_ATTRIBUTE_VALUE, "Invalid value for the parameter %.64s.",
                name);
    return SL_EINVAL;
}

/* The value of a stored attribute, else its default ("" = none). */
static const char *attr_value(const sl_sqs_queue_t *q, const char *name) {
    for (size_t i = 0; i < q->attr_count; i++)
        if (strcmp(q->attrs[i].name, name) == 0) return q->attrs[i].value;
    int i = attr_index(name);
    if (i < 0 || (attr_table[i].fifo_only && !q->fifo)) return "";
    return attr_table[i].def;
}

static int attr_int(const sl_sqs_queue_t *q, const char *name) {
    long v = 0;
    parse_long(attr_value(q, name), &v);
    return (int)v;
}

/* The dead-letter queue's name and maxReceiveCount of a RedrivePolicy document
 * ({"deadLetterTargetArn":"arn:aws:sqs:...","maxReceiveCount":"5"}, the count a string or a
 * number); false when it is not one. */
static bool parse_redrive(const char *doc, char dlq[96], int *max_receive) {
    const char *arn = strstr(doc, "\"deadLetterTargetArn\"");
    const char *cnt = strstr(doc, "\"maxReceiveCount\"");
    if (!arn || !cnt) return false;
    arn = strchr(arn + 21, ':');
    if (!arn) return false;
    arn += strspn(arn + 1, " \t\r\n") + 1;
    if (*arn != '"') return false;
    const char *end = strchr(arn + 1, '"');
    char text[192], name[81], account[16];
    if (!end || (size_t)(end - arn - 1) >= sizeof text) return false;
    memcpy(text, arn + 1, (size_t)(end - arn - 1));
    text[end - arn - 1] = 0;
    if (sl_sqs_parse_arn(text, name, account) != 0) return false;
    cnt = strchr(cnt + 17, ':');
    if (!cnt) return false;
    cnt += strspn(cnt + 1, " \t\r\n\"") + 1;
    char *stop;
    long v = strtol(cnt, &stop, 10);
    if (stop == cnt || v < 1 || v > 1000) return false;
    snprintf(dlq, 96, "%s", name);
    *max_receive = (int)v;
    return true;
}

/* Refreshes the parsed fields from the string attributes. */
static void attrs_parsed(sl_sqs_queue_t *q) {
    q->max_receive = 0;
    q->dlq[0] = 0;
    const char *redrive = attr_value(q, "RedrivePolicy");
    if (*redrive) parse_redrive(redrive, q->dlq, &q->max_receive);
    q->visibility_timeout = attr_int(q, "VisibilityTimeout");
    q->retention_s = attr_int(q, "MessageRetentionPeriod");
    q->delay_s = attr_int(q, "DelaySeconds");
    q->wait_s = attr_int(q, "ReceiveMessageWaitTimeSeconds");
    q->max_size = attr_int(q, "MaximumMessageSize");
    q->content_dedup = strcmp(attr_value(q, "ContentBasedDeduplication"), "true") == 0;
}

/* Sets (replaces) a stored attribute; "" for a string attribute removes it. */
static int attr_set(sl_sqs_queue_t *q, const char *name, const char *value) {
    for (size_t i = 0; i < q->attr_count; i++)
        if (strcmp(q->attrs[i].name, name) == 0) {
            char *v = strdup(value);
            if (!v) return SL_ENOMEM;
            free((char *)q->attrs[i].value);
            q->attrs[i].value = v;
            return 0;
        }
    if (q->attr_count >= SL_SQS_ATTRS_STORED_MAX) return SL_ELIMIT;
    char *n = strdup(name), *v = strdup(value);
    if (!n || !v) {
        free(n);
        free(v);
        return SL_ENOMEM;
    }
    q->attrs[q->attr_count++] = (sl_sqs_kv_t){n, v};
    return 0;
}

/* ---- names ---- */

static bool valid_name(const char *name, bool *fifo) {
    size_t n = strlen(name);
    *fifo = n > 5 && strcmp(name + n - 5, ".fifo") == 0;
    size_t base = *fifo ? n - 5 : n;
    if (n == 0 || n > 80) return false;
    for (size_t i = 0; i < base; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return false;
    }
    return true;
}

int sl_sqs_parse_arn(const char *arn, char name[81], char account[16]) {
    static const char prefix[] = "arn:aws:sqs:";
    if (strncmp(arn, prefix, sizeof prefix - 1) != 0) return SL_EINVAL;
    const char *region = arn + sizeof prefix - 1;
    const char *acct = strchr(region, ':');
    if (!acct) return SL_EINVAL;
    acct++;
    const char *q = strchr(acct, ':');
    if (!q || q - acct != 12 || strspn(acct, "0123456789") != 12) return SL_EINVAL;
    q++;
    size_t n = strlen(q);
    if (n == 0 || n > 80) return SL_EINVAL;
    memcpy(account, acct, 12);
    account[12] = 0;
    memcpy(name, q, n + 1);
    return 0;
}

/* ---- queue objects ---- */

void sl_sqs_queue_free(sl_sqs_queue_t *q) {
    if (!q) return;
    for (size_t i = 0; i < q->attr_count; i++) {
        free((char *)q->attrs[i].name);
        free((char *)q->attrs[i].value);
    }
    for (size_t i = 0; i < q->tag_count; i++) {
        free((char *)q->tags[i].name);
        free((char *)q->tags[i].value);
    }
    sl_sqs_msg_t *m = q->head;
    while (m) {
        sl_sqs_msg_t *next = m->next;
        free(m);
        m = next;
    }
    for (size_t i = 0; i < q->dedup_count; i++)
        free(q->dedup[i].dedup_id);
    free(q->dedup);
    free(q);
}

static sl_sqs_queue_t *queue_new(sl_sqs_t *sqs, const char *name, bool fifo) {
    sl_sqs_queue_t *q = calloc(1, sizeof *q);
    if (!q) return NULL;
    snprintf(q->name, sizeof q->name, "%s", name);
    snprintf(q->arn, sizeof q->arn, "arn:aws:sqs:%s:%s:%s", sqs->region, sqs->account, name);
    q->fifo = fifo;
    q->incarnation = sqs->next_incarnation++;
    q->next_seq = 1;
    return q;
}

/* Stored metadata: version 1, created, modified, purged (ms), fifo, attributes, tags. */
int sl_sqs_queue_encode(const sl_sqs_queue_t *q, uint8_t **out, size_t *len) {
    sl_buf_t b = SL_BUF_INIT;
    sl_buf_append_byte(&b, 1);
    sl_sqs_put_u64(&b, (uint64_t)q->created_ms);
    sl_sqs_put_u64(&b, (uint64_t)q->modified_ms);
    sl_sqs_put_u64(&b, (uint64_t)q->purged_ms);
    sl_buf_append_byte(&b, q->fifo);
    sl_sqs_put_u64(&b, q->attr_count);
    for (size_t i = 0; i < q->attr_count; i++) {
        sl_sqs_put_str(&b, q->attrs[i].name);
        sl_sqs_put_str(&b, q->attrs[i].value);
    }
    sl_sqs_put_u64(&b, q->tag_count);
    for (size_t i = 0; i < q->tag_count; i++) {
        sl_sqs_put_str(&b, q->tags[i].name);
        sl_sqs_put_str(&b, q->tags[i].value);
    }
    if (sl_buf_failed(&b)) {
        sl_buf_free(&b);
        return SL_ENOMEM;
    }
    *out = (uint8_t *)sl_buf_detach(&b, len);
    return 0;
}

int sl_sqs_queue_decode(sl_sqs_t *sqs, const char *name, const uint8_t *p, size_t len,
                        sl_sqs_queue_t **out) {
    bool fifo;
    if (!valid_name(name, &fifo) || len < 1 || p[0] != 1) return SL_ECORRUPT;
    sl_sqs_queue_t *q = queue_new(sqs, name, fifo);
    if (!q) return SL_ENOMEM;
    sl_sqs_rd_t r = {p + 1, p + len, false};
    q->created_ms = (int64_t)sl_sqs_get_u64(&r);
    q->modified_ms = (int64_t)sl_sqs_get_u64(&r);
    q->purged_ms = (int64_t)sl_sqs_get_u64(&r);
    if (r.p < r.end)
        r.p++; /* fifo: the name says it */
    else
        r.bad = true;
    uint64_t n = sl_sqs_get_u64(&r);
    for (uint64_t i = 0; !r.bad && i < n && q->attr_count < SL_SQS_ATTRS_STORED_MAX; i++) {
        char *k = sl_sqs_get_str(&r), *v = sl_sqs_get_str(&r);
        if (!k || !v) {
            free(k);
            free(v);
            break;
        }
        q->attrs[q->attr_count++] = (sl_sqs_kv_t){k, v};
    }
    n = sl_sqs_get_u64(&r);
    for (uint64_t i = 0; !r.bad && i < n && q->tag_count < SL_SQS_TAGS_MAX; i++) {
        char *k = sl_sqs_get_str(&r), *v = sl_sqs_get_str(&r);
        if (!k || !v) {
            free(k);
            free(v);
            break;
        }
        q->tags[q->tag_count++] = (sl_sqs_kv_t){k, v};
    }
    if (r.bad) {
        sl_sqs_queue_free(q);
        return SL_ECORRUPT;
    }
    attrs_parsed(q);
    *out = q;
    return 0;
}

/* Writes q's metadata (caller holds mu). */
static int queue_save(sl_sqs_t *sqs, sl_sqs_queue_t *q, sl_sqs_done_fn done, void *ctx) {
    uint8_t *meta;
    size_t len;
    int rc = sl_sqs_queue_encode(q, &meta, &len);
    if (rc == 0)
        rc = sl_sqs_enqueue(sqs, true, SL_ITEMSTORE_PUT_TABLE, q->name, NULL, 0, meta, len, done,
                            ctx);
    free(meta);
    return rc;
}

/* ---- operations ---- */

int sl_sqs_create_queue(sl_sqs_t *sqs, const char *name, const sl_sqs_kv_t *attrs,
                        size_t attr_count, const sl_sqs_kv_t *tags, size_t tag_count,
                        int64_t now_ms, sl_sqs_err_t *err, sl_sqs_done_fn done, void *ctx) {
    bool fifo_name;
    if (!valid_name(name, &fifo_name)) {
        sl_sqs_fail(err, SL_SQS_INVALID_PARAMETER_VALUE,
                    "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 "
                    "in length");
        return SL_EINVAL;
    }
    bool fifo = false;
    for (size_t i = 0; i < attr_count; i++)
        if (strcmp(attrs[i].name, "FifoQueue") == 0) fifo = strcmp(attrs[i].value, "true") == 0;
    for (size_t i = 0; i < attr_count; i++)
        if (check_attr(attrs[i].name, attrs[i].value, fifo || fifo_name, true, err))
            return SL_EINVAL;
    if (fifo != fifo_name) {
        sl_sqs_fail(err, SL_SQS_INVALID_PARAMETER_VALUE,
                    fifo ? "The name of a FIFO queue can only include alphanumeric characters, "
                           "hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in "
                           "length."
                         : "Can only include alphanumeric characters, hyphens, or underscores. 1 "
                           "to 80 in length");
        return SL_EINVAL;
    }
    if (tag_count > SL_SQS_TAGS_MAX) {
        sl_sqs_fail(err, SL_SQS_INVALID_PARAMETER_VALUE, "Too many tags added for queue %s.", name);
        return SL_EINVAL;
    }
    pthread_mutex_lock(&sqs->mu);
    sl_sqs_queue_t *q = sl_sqs_find(sqs, name);
    int rc = 0;
    if (q) { /* idempotent when every given attribute has the value the queue has */
        for (size_t i = 0; i < attr_count; i++)
            if (strcmp(attr_value(q, attrs[i].name), attrs[i].value) != 0) {
                sl_sqs_fail(err, SL_SQS_QUEUE_NAME_EXISTS,
                            "A queue already exists with the same name and a different value for "
                            "attribute %.64s",
                            attrs[i].name);
                rc = SL_EINVAL;
                break;
            }
        if (rc == 0) rc = sl_sqs_enqueue(sqs, false, 0, "", NULL, 0, NULL, 0, done, ctx);
        pthread_mutex_unlock(&sqs->mu);
        return rc == SL_ENOMEM ? sl_sqs_internal(err, rc) : rc;
    }
    if (sqs->queue_count >= SL_SQS_QUEUES_MAX) {
        pthread_mutex_unlock(&sqs->mu);
        sl_sqs_fail(err, SL_SQS_OVER_LIMIT, "The account holds the most queues Sluice keeps (%d).",
                    SL_SQS_QUEUES_MAX);
        return SL_EINVAL;
    }
    q = queue_new(sqs, name, fifo);
    if (!q) rc = SL_ENOMEM;
    for (size_t i = 0; rc == 0 && i < attr_count; i++)
        rc = attr_set(q, attrs[i].name, attrs[i].value);
    for (size_t i = 0; rc == 0 && i < tag_count; i++) {
        char *k = strdup(tags[i].name), *v = strdup(tags[i].value);
        if (!k || !v) {
            free(k);
            free(v);
            rc = SL_ENOMEM;
            break;
        }
        q->tags[q->tag_count++] = (sl_sqs_kv_t){k, v};
    }
    if (rc == 0) {
        attrs_parsed(q);
        q->created_ms = q->modified_ms = now_ms;
        rc = queue_save(sqs, q, done, ctx);
    }
    if (rc) {
        pthread_mutex_unlock(&sqs->mu);
        sl_sqs_queue_free(q);
        return sl_sqs_internal(err, rc);
    }
    sqs->queues[sqs->queue_count++] = q;
    pthread_mutex_unlock(&sqs->mu);
    return 0;
}

static void no_queue(sl_sqs_err_t *err) {
    sl_sqs_fail(err, SL_SQS_QUEUE_DOES_NOT_EXIST, "The specified queue does not exist.");
}

int sl_sqs_queue_exists(sl_sqs_t *sqs, const char *name, sl_sqs_err_t *err) {
    pthread_mutex_lock(&sqs->mu);
    bool found = sl_sqs_find(sqs, name) != NULL;
    pthread_mutex_unlock(&sqs->mu);
    if (found) return 0;
    no_queue(err);
    return SL_EINVAL;
}

int sl_sqs_delete_queue(sl_sqs_t *sqs, const char *name, sl_sqs_err_t *err, sl_sqs_done_fn done,
                        void *ctx) {
    pthread_mutex_lock(&sqs->mu);
    size_t i = 0;
    while (i < sqs->queue_count && strcmp(sqs->queues[i]->name, name) != 0)
        i++;
    if (i == sqs->queue_count) {
        pthread_mutex_unlock(&sqs->mu);
        no_queue(err);
        return SL_EINVAL;
    }
    int rc =
        sl_sqs_enqueue(sqs, true, SL_ITEMSTORE_DELETE_TABLE, name, NULL, 0, NULL, 0, done, ctx);
    if (rc) {
        pthread_mutex_unlock(&sqs->mu);
        return sl_sqs_internal(err, rc);
    }
    sl_sqs_queue_t *q = sqs->queues[i];
    sqs->queues[i] = sqs->queues[--sqs->queue_count];
    sl_sqs_wake(sqs); /* its waiters end */
    pthread_mutex_unlock(&sqs->mu);
    sl_sqs_queue_free(q);
    return 0;
}

static int cmp_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int sl_sqs_list_queues(sl_sqs_t *sqs, const char *prefix, const char *after, size_t max,
                       char ***names, size_t *count, bool *more) {
    *names = NULL;
    *count = 0;
    *more = false;
    pthread_mutex_lock(&sqs->mu);
    char **all = calloc(sqs->queue_count + 1, sizeof *all);
    size_t n = 0;
    int rc = all ? 0 : SL_ENOMEM;
    for (size_t i = 0; rc == 0 && i < sqs->queue_count; i++) {
        const char *name = sqs->queues[i]->name;
        if (prefix && strncmp(name, prefix, strlen(prefix)) != 0) continue;
        if (after && strcmp(name, after) <= 0) continue;
        if (!(all[n++] = strdup(name))) rc = SL_ENOMEM;
    }
    pthread_mutex_unlock(&sqs->mu);
    if (rc) {
        sl_sqs_names_free(all, n);
        return rc;
    }
    qsort(all, n, sizeof *all, cmp_names);
    if (n > max) {
        for (size_t i = max; i < n; i++)
            free(all[i]);
        n = max;
        *more = true;
    }
    *names = all;
    *count = n;
    return 0;
}

void sl_sqs_names_free(char **names, size_t count) {
    if (!names) return;
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
}

void sl_sqs_kvs_free(sl_sqs_kv_t *kvs, size_t count) {
    if (!kvs) return;
    for (size_t i = 0; i < count; i++) {
        free((char *)kvs[i].name);
        free((char *)kvs[i].value);
    }
    free(kvs);
}

/* The value of attribute table row i for q (malloc'd), or NULL when q has none. */
static char *attr_answer(const sl_sqs_queue_t *q, size_t i, int64_t now_ms) {
    const char *name = attr_table[i].name;
    char num[32];
    if (attr_table[i].kind != A_COMPUTED) {
        const char *v = attr_value(q, name);
        return *v ? strdup(v) : NULL;
    }
    if (strcmp(name, "QueueArn") == 0) return strdup(q->arn);
    if (strcmp(name, "CreatedTimestamp") == 0) {
        snprintf(num, sizeof num, "%lld", (long long)(q->created_ms / 1000));
    } else if (strcmp(name, "LastModifiedTimestamp") == 0) {
        snprintf(num, sizeof num, "%lld", (long long)(q->modified_ms / 1000));
    } else {
        size_t visible = 0, inflight = 0, delayed = 0;
        for (const sl_sqs_msg_t *m = q->head; m; m = m->next) {
            if (m->visible_ms <= now_ms)
                visible++;
            else if (m->inflight)
                inflight++;
            else
                delayed++;
        }
        size_t v = strcmp(name, "ApproximateNumberOfMessages") == 0             ? visible
                   : strcmp(name, "ApproximateNumberOfMessagesNotVisible") == 0 ? inflight
                                                                                : delayed;
        snprintf(num, sizeof num, "%zu", v);
    }
    return strdup(num);
}

int sl_sqs_get_attributes(sl_sqs_t *sqs, const char *name, const char *const *names,
                          size_t name_count, int64_t now_ms, sl_sqs_kv_t **out, size_t *count,
                          sl_sqs_err_t *err) {
    *out = NULL;
    *count = 0;
    bool all = false;
    bool want[SL_ARRAY_LEN(attr_table)] = {0};
    for (size_t i = 0; i < name_count; i++) {
        if (strcmp(names[i], "All") == 0) {
            all = true;
            continue;
        }
        int at = attr_index(names[i]);
        if (at < 0) {
            sl_sqs_fail(err, SL_SQS_INVALID_ATTRIBUTE_NAME, "Unknown Attribute %.64s.", names[i]);
            return SL_EINVAL;
        }
        want[at] = true;
    }
    pthread_mutex_lock(&sqs->mu);
    sl_sqs_queue_t *q = sl_sqs_find(sqs, name);
    if (!q) {
        pthread_mutex_unlock(&sqs->mu);
        no_queue(err);
        return SL_EINVAL;
    }
    sl_sqs_kv_t *kvs = calloc(SL_ARRAY_LEN(attr_table), sizeof *kvs);
    size_t n = 0;
    int rc = kvs ? 0 : SL_ENOMEM;
    for (size_t i = 0; rc == 0 && i < SL_ARRAY_LEN(attr_table); i++) {
        if (!all && !want[i]) continue;
        if (attr_table[i].fifo_only && !q->fifo) continue;
        if (strcmp(attr_table[i].name, "FifoQueue") == 0 && q->fifo) {
            kvs[n].name = strdup("FifoQueue");
            kvs[n].value = strdup("true");
        } else {
            char *v = attr_answer(q, i, now_ms);
            if (!v) continue;
            kvs[n].name = strdup(attr_table[i].name);
            kvs[n].value = v;
        }
        if (!kvs[n].name || !kvs[n].value) rc = SL_ENOMEM;
        n++;
    }
    pthread_mutex_unlock(&sqs->mu);
    if (rc) {
        sl_sqs_kvs_free(kvs, n);
        return sl_sqs_internal(err, rc);
    }
    *out = kvs;
    *count = n;
    return 0;
}

int sl_sqs_set_attributes(sl_sqs_t *sqs, const char *name, const sl_sqs_kv_t *attrs,
                          size_t attr_count, int64_t now_ms, sl_sqs_err_t *err, sl_sqs_done_fn done,
                          void *ctx) {
    pthread_mutex_lock(&sqs->mu);
    sl_sqs_queue_t *q = sl_sqs_find(sqs, name);
    int rc = 0;
    if (!q) {
        no_queue(err);
        rc = SL_EINVAL;
    }
    for (size_t i = 0; rc == 0 && i < attr_count; i++)
        rc = check_attr(attrs[i].name, attrs[i].value, q->fifo, false, err);
    for (size_t i = 0; rc == 0 && i < attr_count; i++)
        if ((rc = attr_set(q, attrs[i].name, attrs[i].value)) != 0) sl_sqs_internal(err, rc);
    if (rc == 0) {
        attrs_parsed(q);
        q->modified_ms = now_ms;
        if ((rc = queue_save(sqs, q, done, ctx)) != 0) sl_sqs_internal(err, rc);
        sl_sqs_wake(sqs); /* visibility or delay may have changed */
    }
    pthread_mutex_unlock(&sqs->mu);
    return rc;
}

int sl_sqs_purge(sl_sqs_t *sqs, const char *name, int64_t now_ms, sl_sqs_err_t *err,
                 sl_sqs_done_fn done, void *ctx) {
    pthread_mutex_lock(&sqs->mu);
    sl_sqs_queue_t *q = sl_sqs_find(sqs, name);
    int rc = 0;
    if (!q) {
        no_queue(err);
        rc = SL_EINVAL;
    } else if (q->purged_ms && now_ms - q->purged_ms < 60000) {
        sl_sqs_fail(err, SL_SQS_PURGE_QUEUE_IN_PROGRESS,
                    "Only one PurgeQueue operation on %s is allowed every 60 seconds.", name);
        rc = SL_EINVAL;
    }
    if (rc == 0) {
        int64_t old = q->purged_ms;
        q->purged_ms = now_ms;
        rc = sl_sqs_enqueue(sqs, true, SL_ITEMSTORE_DELETE_TABLE, name, NULL, 0, NULL, 0, NULL,
                            NULL);
        if (rc == 0) rc = queue_save(sqs, q, done, ctx);
        if (rc) {
            q->purged_ms = old;
            sl_sqs_internal(err, rc);
        }
    }
    if (rc == 0) {
        q->epoch++;
        sl_sqs_msg_t *m = q->head;
        while (m) {
            sl_sqs_msg_t *next = m->next;
            free(m);
            m = next;
        }
        q->head = q->tail = NULL;
        q->count = 0;
    }
    pthread_mutex_unlock(&sqs->mu);
    return rc;
}
