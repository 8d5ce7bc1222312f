/* The SNS core of one account (see sns.h): topics and subscriptions in memory, written through
 * to the item store (a table per topic, named by its ARN, whose items are its subscriptions) by
 * the writer thread; deliveries to SQS in-process and to HTTP endpoints on the delivery thread. */
#include "sns/sns.h"

#include "catalog/itemstore.h"
#include "catalog/itemwriter.h"
#include "core/buf.h"
#include "core/common.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/time.h"
#include "net/client.h"
#include "net/loop.h"
#include "wire/base64.h"
#include "wire/enc.h"

#include <openssl/rand.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KVS_MAX 16

typedef struct {
    char arn[320];
    char name[260];
    sl_sns_kv_t attrs[KVS_MAX]; /* malloc'd strings */
    size_t attr_count;
} topic_t;

typedef struct {
    char arn[400];
    char topic_arn[320];
    char protocol[16];
    char endpoint[1024];
    char token[72];     /* confirmation token (HTTP) */
    char base_url[256]; /* this server as the subscriber reached it */
    bool confirmed;
    sl_sns_kv_t attrs[KVS_MAX];
    size_t attr_count;
} sub_t;

/* An HTTP delivery: owned by the delivery loop from its post until it is freed there. */
typedef struct delivery {
    struct delivery *prev, *next;
    struct sl_sns *sns;
    char origin[300];
    char path[1024];
    char type[32];
    char message_id[40];
    char topic_arn[320];
    char sub_arn[400];
    bool raw;
    char *body;
    size_t body_len;
    int attempt;
    sl_timer_t *timer;
    sl_http_call_t *call;
} delivery_t;

struct sl_sns {
    char region[32];
    char account[16];
    int (*sqs_of_account)(void *ctx, const char *account, sl_sqs_t **out);
    void *sqs_ctx;
    bool tls_insecure;
    pthread_mutex_t mu;
    topic_t *topics[SL_SNS_TOPICS_MAX];
    size_t topic_count;
    sub_t **subs;
    size_t sub_count;
    /* the store and its group-commit writer (catalog/itemwriter.h) */
    sl_itemstore_t *store;
    sl_itemwriter_t *writer;
    /* the delivery thread: its loop, client and live deliveries (loop thread only) */
    sl_loop_t *loop;
    pthread_t deliverer;
    bool deliverer_started;
    sl_http_client_t *http;
    delivery_t *live;
    size_t live_count; /* atomically read by publishers */
};

/* ---- errors ---- */

static const struct {
    const char *code;
    int status;
} error_table[] = {{"", 200},
#define SL_SNS_ROW_(e, code, status) {code, status},
                   SL_SNS_ERRORS(SL_SNS_ROW_)
#undef SL_SNS_ROW_
};

const char *sl_sns_err_code(sl_sns_err_type_t type) {
    return (size_t)type < SL_ARRAY_LEN(error_table) ? error_table[type].code : "InternalError";
}

int sl_sns_err_status(sl_sns_err_type_t type) {
    return (size_t)type < SL_ARRAY_LEN(error_table) ? error_table[type].status : 500;
}

static int fail(sl_sns_err_t *err, sl_sns_err_type_t type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(sl_sns_err_t *err, sl_sns_err_type_t type, const char *fmt, ...) {
    err->type = type;
    err->cause = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return SL_EINVAL;
}

static int internal(sl_sns_err_t *err, int code) {
    err->type = SL_SNS_INTERNAL_ERROR;
    err->cause = code;
    snprintf(err->message, sizeof err->message, "The request failed: %s.", sl_strerror(code));
    return code;
}

/* ---- small helpers ---- */

static void new_uuid(char out[40]) {
    uint8_t r[16];
    if (RAND_bytes(r, sizeof r) != 1) memset(r, 0x5a, sizeof r);
    r[6] = (uint8_t)((r[6] & 0x0f) | 0x40);
    r[8] = (uint8_t)((r[8] & 0x3f) | 0x80);
    static const char hex[] = "0123456789abcdef";
    char h[33];
    for (int i = 0; i < 16; i++) {
        h[2 * i] = hex[r[i] >> 4];
        h[2 * i + 1] = hex[r[i] & 15];
    }
    h[32] = 0;
    snprintf(out, 40, "%.8s-%.4s-%.4s-%.4s-%.12s", h, h + 8, h + 12, h + 16, h + 20);
}

static void iso_time(int64_t ms, char out[32]) {
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    char base[24];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, 32, "%s.%03dZ", base, (int)(ms % 1000));
}

static void kvs_clear(sl_sns_kv_t *kvs, size_t *count) {
    for (size_t i = 0; i < *count; i++) {
        free((char *)kvs[i].name);
        free((char *)kvs[i].value);
    }
    *count = 0;
}

static const char *kv_get(const sl_sns_kv_t *kvs, size_t count, const char *name) {
    for (size_t i = 0; i < count; i++)
        if (strcmp(kvs[i].name, name) == 0) return kvs[i].value;
    return NULL;
}

static int kv_set(sl_sns_kv_t *kvs, size_t *count, const char *name, const char *value) {
    for (size_t i = 0; i < *count; i++)
        if (strcmp(kvs[i].name, name) == 0) {
            char *v = strdup(value);
            if (!v) return SL_ENOMEM;
            free((char *)kvs[i].value);
            kvs[i].value = v;
            return 0;
        }
    if (*count >= KVS_MAX) return SL_ELIMIT;
    char *n = strdup(name), *v = strdup(value);
    if (!n || !v) {
        free(n);
        free(v);
        return SL_ENOMEM;
    }
    kvs[(*count)++] = (sl_sns_kv_t){n, v};
    return 0;
}

/* Stored strings: u32 length (little-endian) + bytes. */
static void put_str(sl_buf_t *b, const char *s) {
    uint32_t n = (uint32_t)strlen(s);
    uint8_t x[4] = {(uint8_t)n, (uint8_t)(n >> 8), (uint8_t)(n >> 16), (uint8_t)(n >> 24)};
    sl_buf_append(b, x, 4);
    sl_buf_append(b, s, n);
}

/* The next stored string into out (size cap), or false when the input is damaged. */
static bool get_str(const uint8_t **p, const uint8_t *end, char *out, size_t cap) {
    if (end - *p < 4) return false;
    uint32_t n = (uint32_t)(*p)[0] | (uint32_t)(*p)[1] << 8 | (uint32_t)(*p)[2] << 16 |
                 (uint32_t)(*p)[3] << 24;
    *p += 4;
    if ((size_t)(end - *p) < n || n >= cap) return false;
    memcpy(out, *p, n);
    out[n] = 0;
    *p += n;
    return true;
}

static void put_kvs(sl_buf_t *b, const sl_sns_kv_t *kvs, size_t count) {
    sl_buf_append_byte(b, (uint8_t)count);
    for (size_t i = 0; i < count; i++) {
        put_str(b, kvs[i].name);
        put_str(b, kvs[i].value);
    }
}

static bool get_kvs(const uint8_t **p, const uint8_t *end, sl_sns_kv_t *kvs, size_t *count) {
    if (*p >= end) return false;
    size_t n = *(*p)++;
    static char name[256], value[SL_SNS_MESSAGE_BYTES_MAX + 1];
    for (size_t i = 0; i < n; i++) {
        if (!get_str(p, end, name, sizeof name) || !get_str(p, end, value, sizeof value))
            return false;
        if (kv_set(kvs, count, name, value) != 0) return false;
    }
    return true;
}

/* ---- the writer ---- */

/* Queues a store change and/or a completion; caller holds mu (store order = memory order). */
static int enqueue(sl_sns_t *s, bool has_op, sl_itemstore_op_kind_t kind, const char *table,
                   const char *key, const void *val, size_t val_len, sl_sns_done_fn done,
                   void *ctx) {
    return sl_itemwriter_enqueue(s->writer, has_op, kind, table, key, key ? strlen(key) : 0, val,
                                 val_len, done, ctx);
}

static int save_topic(sl_sns_t *s, const topic_t *t, sl_sns_done_fn done, void *ctx) {
    sl_buf_t b = SL_BUF_INIT;
    sl_buf_append_byte(&b, 1);
    put_str(&b, t->name);
    put_kvs(&b, t->attrs, t->attr_count);
    int rc = sl_buf_failed(&b)
                 ? SL_ENOMEM
                 : enqueue(s, true, SL_ITEMSTORE_PUT_TABLE, t->arn, NULL, b.data, b.len, done, ctx);
    sl_buf_free(&b);
    return rc;
}

/* A subscription's item key: its ARN's id, or its token while pending. */
static const char *sub_key(const sub_t *u) {
    return u->confirmed ? u->arn : u->token;
}

static int save_sub(sl_sns_t *s, const sub_t *u, sl_sns_done_fn done, void *ctx) {
    sl_buf_t b = SL_BUF_INIT;
    sl_buf_append_byte(&b, 1);
    sl_buf_append_byte(&b, u->confirmed);
    put_str(&b, u->arn);
    put_str(&b, u->protocol);
    put_str(&b, u->endpoint);
    put_str(&b, u->token);
    put_str(&b, u->base_url);
    put_kvs(&b, u->attrs, u->attr_count);
    int rc = sl_buf_failed(&b) ? SL_ENOMEM
                               : enqueue(s, true, SL_ITEMSTORE_PUT_ITEM, u->topic_arn, sub_key(u),
                                         b.data, b.len, done, ctx);
    sl_buf_free(&b);
    return rc;
}

/* ---- lookups (caller holds mu) ---- */

static topic_t *find_topic(sl_sns_t *s, const char *arn) {
    for (size_t i = 0; i < s->topic_count; i++)
        if (strcmp(s->topics[i]->arn, arn) == 0) return s->topics[i];
    return NULL;
}

static size_t find_sub(sl_sns_t *s, const char *arn) {
    for (size_t i = 0; i < s->sub_count; i++)
        if (s->subs[i]->confirmed && strcmp(s->subs[i]->arn, arn) == 0) return i;
    return SIZE_MAX;
}

static void sub_free(sub_t *u) {
    if (!u) return;
    kvs_clear(u->attrs, &u->attr_count);
    free(u);
}

static void topic_free(topic_t *t) {
    if (!t) return;
    kvs_clear(t->attrs, &t->attr_count);
    free(t);
}

static int add_sub(sl_sns_t *s, sub_t *u) {
    sub_t **subs = realloc(s->subs, (s->sub_count + 1) * sizeof *subs);
    if (!subs) return SL_ENOMEM;
    s->subs = subs;
    s->subs[s->sub_count++] = u;
    return 0;
}

static void remove_sub(sl_sns_t *s, size_t i) {
    sub_free(s->subs[i]);
    memmove(&s->subs[i], &s->subs[i + 1], (s->sub_count - i - 1) * sizeof *s->subs);
    s->sub_count--;
}

/* ---- open / close ---- */

static int load_topic(void *ctx, const char *arn, const void *meta, size_t len) {
    sl_sns_t *s = ctx;
    const uint8_t *p = meta, *end = p + len;
    topic_t *t = calloc(1, sizeof *t);
    if (!t) return SL_ENOMEM;
    snprintf(t->arn, sizeof t->arn, "%s", arn);
    bool ok = len > 0 && *p++ == 1 && get_str(&p, end, t->name, sizeof t->name) &&
              get_kvs(&p, end, t->attrs, &t->attr_count) && s->topic_count < SL_SNS_TOPICS_MAX;
    if (!ok) {
        SL_ERROR("sns: topic %s is damaged; skipped", arn);
        topic_free(t);
        return 0;
    }
    s->topics[s->topic_count++] = t;
    return 0;
}

static int load_sub(void *ctx, const char *table, const void *key, size_t key_len, const void *val,
                    size_t val_len) {
    (void)key;
    (void)key_len;
    sl_sns_t *s = ctx;
    if (!find_topic(s, table)) return 0;
    const uint8_t *p = val, *end = p + val_len;
    sub_t *u = calloc(1, sizeof *u);
    if (!u) return SL_ENOMEM;
    snprintf(u->topic_arn, sizeof u->topic_arn, "%s", table);
    bool ok = val_len > 2 && *p++ == 1;
    if (ok) u->confirmed = *p++;
    ok = ok && get_str(&p, end, u->arn, sizeof u->arn) &&
         get_str(&p, end, u->protocol, sizeof u->protocol) &&
         get_str(&p, end, u->endpoint, sizeof u->endpoint) &&
         get_str(&p, end, u->token, sizeof u->token) &&
         get_str(&p, end, u->base_url, sizeof u->base_url) &&
         get_kvs(&p, end, u->attrs, &u->attr_count) && s->sub_count < SL_SNS_SUBSCRIPTIONS_MAX;
    if (!ok || add_sub(s, u) != 0) {
        SL_ERROR("sns: a subscription of topic %s is damaged; skipped", table);
        sub_free(u);
    }
    return 0;
}

static void *deliverer_main(void *arg) {
    sl_sns_t *s = arg;
    sl_loop_run(s->loop);
    return NULL;
}

static void delivery_init(void *arg) {
    sl_sns_t *s = arg;
    sl_http_client_config_t hc = {.timeout_ms = SL_SNS_HTTP_TIMEOUT_MS,
                                  .tls_insecure = s->tls_insecure};
    if (sl_http_client_create(s->loop, &hc, &s->http) != 0)
        SL_ERROR("sns: no HTTP client: HTTP deliveries of account %s will fail", s->account);
}

int sl_sns_open(const sl_sns_config_t *cfg, sl_sns_t **out) {
    *out = NULL;
    sl_sns_t *s = calloc(1, sizeof *s);
    if (!s) return SL_ENOMEM;
    snprintf(s->region, sizeof s->region, "%s", cfg->region);
    snprintf(s->account, sizeof s->account, "%s", cfg->account);
    s->sqs_of_account = cfg->sqs_of_account;
    s->sqs_ctx = cfg->sqs_ctx;
    s->tls_insecure = cfg->tls_insecure;
    pthread_mutex_init(&s->mu, NULL);
    int rc = sl_itemstore_open(cfg->path, &s->store);
    if (rc == 0) rc = sl_itemstore_load(s->store, load_topic, load_sub, s);
    if (rc == 0) rc = sl_itemwriter_start(s->store, "sns", s->account, &s->writer);
    if (rc == 0) rc = sl_loop_create(&s->loop);
    if (rc == 0) rc = sl_loop_post(s->loop, delivery_init, s);
    if (rc == 0) rc = pthread_create(&s->deliverer, NULL, deliverer_main, s) ? SL_ENOMEM : 0;
    if (rc == 0) s->deliverer_started = true;
    if (rc) {
        SL_ERROR("sns: cannot open %s: %s", cfg->path, sl_strerror(rc));
        sl_sns_close(s);
        return rc;
    }
    *out = s;
    return 0;
}

static void delivery_free(sl_sns_t *s, delivery_t *d) {
    if (d->prev)
        d->prev->next = d->next;
    else
        s->live = d->next;
    if (d->next) d->next->prev = d->prev;
    __atomic_sub_fetch(&s->live_count, 1, __ATOMIC_RELAXED);
    free(d->body);
    free(d);
}

/* On the delivery loop: drops every delivery, destroys the client, stops the loop. */
static void delivery_stop(void *arg) {
    sl_sns_t *s = arg;
    for (delivery_t *d = s->live; d; d = d->next)
        if (d->timer) {
            sl_timer_cancel(d->timer);
            d->timer = NULL;
        }
    sl_http_client_destroy(s->http); /* in-flight calls complete (and free themselves) */
    s->http = NULL;
    size_t dropped = 0;
    while (s->live) {
        delivery_free(s, s->live);
        dropped++;
    }
    if (dropped) SL_WARN("sns: %zu HTTP deliveries dropped at shutdown", dropped);
    sl_loop_stop(s->loop);
}

void sl_sns_close(sl_sns_t *sns) {
    if (!sns) return;
    if (sns->deliverer_started) {
        sl_loop_post(sns->loop, delivery_stop, sns);
        pthread_join(sns->deliverer, NULL);
    }
    if (sns->loop) sl_loop_destroy(sns->loop);
    sl_itemwriter_stop(sns->writer);
    sl_itemstore_close(sns->store);
    for (size_t i = 0; i < sns->topic_count; i++)
        topic_free(sns->topics[i]);
    for (size_t i = 0; i < sns->sub_count; i++)
        sub_free(sns->subs[i]);
    free(sns->subs);
    pthread_mutex_destroy(&sns->mu);
    free(sns);
}

/* ---- topics ---- */

static bool valid_topic_name(const char *name, bool *fifo) {
    size_t n = strlen(name);
    *fifo = n > 5 && strcmp(name + n - 5, ".fifo") == 0;
    if (n == 0 || n > 256) return false;
    for (size_t i = 0; i < (*fifo ? n - 5 : n); i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return false;
    }
    return true;
}

static const char *const topic_attr_names[] = {
    "DisplayName",         "Policy",        "DeliveryPolicy",
    "KmsMasterKeyId",      "FifoTopic",     "ContentBasedDeduplication",
    "SignatureVersion",    "TracingConfig", "ArchivePolicy",
    "FifoThroughputScope",
};

/* An attribute value the store keeps (AWS bounds policies at 30 KiB, filter policies lower). */
static bool attr_value_ok(const char *value) {
    return strlen(value) <= SL_SNS_MESSAGE_BYTES_MAX;
}

static bool topic_attr_known(const char *name) {
    for (size_t i = 0; i < SL_ARRAY_LEN(topic_attr_names); i++)
        if (strcmp(topic_attr_names[i], name) == 0) return true;
    return false;
}

int sl_sns_create_topic(sl_sns_t *sns, const char *name, const sl_sns_kv_t *attrs,
                        size_t attr_count, char arn[320], sl_sns_err_t *err, sl_sns_done_fn done,
                        void *ctx) {
    bool fifo;
    if (!valid_topic_name(name, &fifo))
        return fail(err, SL_SNS_INVALID_PARAMETER, "Invalid parameter: Topic Name");
    bool fifo_attr = false;
    for (size_t i = 0; i < attr_count; i++) {
        if (!topic_attr_known(attrs[i].name))
            return fail(err, SL_SNS_INVALID_PARAMETER,
                        "Invalid parameter: Attributes Reason: Unknown attribute %.64s",
                        attrs[i].name);
        if (!attr_value_ok(attrs[i].value))
            return fail(err, SL_SNS_INVALID_PARAMETER,
                        "Invalid parameter: Attributes Reason: %.64s is too long", attrs[i].name);
        if (strcmp(attrs[i].name, "FifoTopic") == 0)
            fifo_attr = strcmp(attrs[i].value, "true") == 0;
    }
    if (fifo != fifo_attr)
        return fail(err, SL_SNS_INVALID_PARAMETER,
                    fifo ? "Invalid parameter: Topic Name"
                         : "Invalid parameter: Fifo Topic names must end with .fifo and must be "
                           "made up of only uppercase and lowercase ASCII letters, numbers, "
                           "underscores, and hyphens, and must be between 1 and 256 characters "
                           "long.");
    snprintf(arn, 320, "arn:aws:sns:%s:%s:%s", sns->region, sns->account, name);
    pthread_mutex_lock(&sns->mu);
    int rc = 0;
    if (find_topic(sns, arn)) {
        rc = enqueue(sns, false, 0, "", NULL, NULL, 0, done, ctx);
    } else if (sns->topic_count >= SL_SNS_TOPICS_MAX) {
        rc = fail(err, SL_SNS_TOPIC_LIMIT_EXCEEDED, "Topic already exists (limit reached)");
    } else {
        topic_t *t = calloc(1, sizeof *t);
        rc = t ? 0 : SL_ENOMEM;
        if (t) {
            snprintf(t->arn, sizeof t->arn, "%s", arn);
            snprintf(t->name, sizeof t->name, "%s", name);
        }
        for (size_t i = 0; rc == 0 && i < attr_count; i++)
            rc = kv_set(t->attrs, &t->attr_count, attrs[i].name, attrs[i].value);
        if (rc == 0) rc = save_topic(sns, t, done, ctx);
        if (rc == 0)
            sns->topics[sns->topic_count++] = t;
        else
            topic_free(t);
    }
    pthread_mutex_unlock(&sns->mu);
    return rc == 0 || rc == SL_EINVAL ? rc : internal(err, rc);
}

int sl_sns_delete_topic(sl_sns_t *sns, const char *arn, sl_sns_err_t *err, sl_sns_done_fn done,
                        void *ctx) {
    pthread_mutex_lock(&sns->mu);
    size_t i = 0;
    while (i < sns->topic_count && strcmp(sns->topics[i]->arn, arn) != 0)
        i++;
    int rc;
    if (i == sns->topic_count) {
        rc = enqueue(sns, false, 0, "", NULL, NULL, 0, done, ctx);
    } else {
        rc = enqueue(sns, true, SL_ITEMSTORE_DELETE_TABLE, arn, NULL, NULL, 0, done, ctx);
        if (rc == 0) {
            for (size_t k = sns->sub_count; k-- > 0;)
                if (strcmp(sns->subs[k]->topic_arn, arn) == 0) remove_sub(sns, k);
            topic_free(sns->topics[i]);
            sns->topics[i] = sns->topics[--sns->topic_count];
        }
    }
    pthread_mutex_unlock(&sns->mu);
    return rc ? internal(err, rc) : 0;
}

static int cmp_strs(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void sl_sns_strs_free(char **strs, size_t count) {
    if (!strs) return;
    for (size_t i = 0; i < count; i++)
        free(strs[i]);
    free(strs);
}

int sl_sns_list_topics(sl_sns_t *sns, const char *after, size_t max, char ***arns, size_t *count,
                       bool *more) {
    *arns = NULL;
    *count = 0;
    *more = false;
    pthread_mutex_lock(&sns->mu);
    char **all = calloc(sns->topic_count + 1, sizeof *all);
    size_t n = 0;
    int rc = all ? 0 : SL_ENOMEM;
    for (size_t i = 0; rc == 0 && i < sns->topic_count; i++) {
        if (after && strcmp(sns->topics[i]->arn, after) <= 0) continue;
        if (!(all[n++] = strdup(sns->topics[i]->arn))) rc = SL_ENOMEM;
    }
    pthread_mutex_unlock(&sns->mu);
    if (rc) {
        sl_sns_strs_free(all, n);
        return rc;
    }
    qsort(all, n, sizeof *all, cmp_strs);
    if (n > max) {
        for (size_t i = max; i < n; i++)
            free(all[i]);
        n = max;
        *more = true;
    }
    *arns = all;
    *count = n;
    return 0;
}

void sl_sns_kvs_free(sl_sns_kv_t *kvs, size_t count) {
    if (!kvs) return;
    kvs_clear(kvs, &count);
    free(kvs);
}

static int out_add(sl_sns_kv_t *kvs, size_t *n, const char *name, const char *value) {
    kvs[*n].name = strdup(name);
    kvs[*n].value = strdup(value);
    (*n)++;
    return kvs[*n - 1].name && kvs[*n - 1].value ? 0 : SL_ENOMEM;
}

int sl_sns_get_topic_attributes(sl_sns_t *sns, const char *arn, sl_sns_kv_t **out, size_t *count,
                                sl_sns_err_t *err) {
    *out = NULL;
    *count = 0;
    pthread_mutex_lock(&sns->mu);
    topic_t *t = find_topic(sns, arn);
    if (!t) {
        pthread_mutex_unlock(&sns->mu);
        return fail(err, SL_SNS_NOT_FOUND, "Topic does not exist");
    }
    sl_sns_kv_t *kvs = calloc(KVS_MAX + 16, sizeof *kvs);
    size_t n = 0;
    int rc = kvs ? 0 : SL_ENOMEM;
    size_t confirmed = 0, pending = 0;
    for (size_t i = 0; i < sns->sub_count; i++)
        if (strcmp(sns->subs[i]->topic_arn, arn) == 0) {
            if (sns->subs[i]->confirmed)
                confirmed++;
            else
                pending++;
        }
    char num[32], policy[1024];
    if (rc == 0) rc = out_add(kvs, &n, "TopicArn", t->arn);
    if (rc == 0) rc = out_add(kvs, &n, "Owner", sns->account);
    snprintf(num, sizeof num, "%zu", confirmed);
    if (rc == 0) rc = out_add(kvs, &n, "SubscriptionsConfirmed", num);
    snprintf(num, sizeof num, "%zu", pending);
    if (rc == 0) rc = out_add(kvs, &n, "SubscriptionsPending", num);
    if (rc == 0) rc = out_add(kvs, &n, "SubscriptionsDeleted", "0");
    if (rc == 0 && !kv_get(t->attrs, t->attr_count, "DisplayName"))
        rc = out_add(kvs, &n, "DisplayName", "");
    if (rc == 0 && !kv_get(t->attrs, t->attr_count, "Policy")) {
        snprintf(policy, sizeof policy,
                 "{\"Version\":\"2008-10-17\",\"Id\":\"__default_policy_ID\",\"Statement\":[{"
                 "\"Sid\":\"__default_statement_ID\",\"Effect\":\"Allow\",\"Principal\":{\"AWS\":"
                 "\"*\"},\"Action\":[\"SNS:GetTopicAttributes\",\"SNS:SetTopicAttributes\","
                 "\"SNS:AddPermission\",\"SNS:RemovePermission\",\"SNS:DeleteTopic\","
                 "\"SNS:Subscribe\",\"SNS:ListSubscriptionsByTopic\",\"SNS:Publish\"],"
                 "\"Resource\":\"%s\",\"Condition\":{\"StringEquals\":{\"AWS:SourceOwner\":\"%s\""
                 "}}}]}",
                 t->arn, sns->account);
        rc = out_add(kvs, &n, "Policy", policy);
    }
    if (rc == 0)
        rc = out_add(kvs, &n, "EffectiveDeliveryPolicy",
                     "{\"http\":{\"defaultHealthyRetryPolicy\":{\"minDelayTarget\":20,"
                     "\"maxDelayTarget\":20,\"numRetries\":3,\"numMaxDelayRetries\":0,"
                     "\"numNoDelayRetries\":0,\"numMinDelayRetries\":0,\"backoffFunction\":"
                     "\"linear\"},\"disableSubscriptionOverrides\":false,"
                     "\"defaultRequestPolicy\":{\"headerContentType\":\"text/plain; "
                     "charset=UTF-8\"}}}");
    for (size_t i = 0; rc == 0 && i < t->attr_count; i++)
        rc = out_add(kvs, &n, t->attrs[i].name, t->attrs[i].value);
    pthread_mutex_unlock(&sns->mu);
    if (rc) {
        sl_sns_kvs_free(kvs, n);
        return internal(err, rc);
    }
    *out = kvs;
    *count = n;
    return 0;
}

int sl_sns_set_topic_attribute(sl_sns_t *sns, const char *arn, const char *name, const char *value,
                               sl_sns_err_t *err, sl_sns_done_fn done, void *ctx) {
    if (!topic_attr_known(name) || strcmp(name, "FifoTopic") == 0)
        return fail(err, SL_SNS_INVALID_PARAMETER, "Invalid parameter: AttributeName");
    if (!attr_value_ok(value))
        return fail(err, SL_SNS_INVALID_PARAMETER, "Invalid parameter: AttributeValue");
    pthread_mutex_lock(&sns->mu);
    topic_t *t = find_topic(sns, arn);
    int rc = !t ? fail(err, SL_SNS_NOT_FOUND, "Topic does not exist")
                : kv_set(t->attrs, &t->attr_count, name, value);
    if (rc == 0) rc = save_topic(sns, t, done, ctx);
    pthread_mutex_unlock(&sns->mu);
    return rc == 0 || rc == SL_EINVAL ? rc : internal(err, rc);
}

/* ---- deliveries ---- */

static void http_send(sl_sns_t *s, delivery_t *d);

static void retry_fire(void *arg) {
    delivery_t *d = arg;
    d->timer = NULL;
    http_send(d->sns, d);
}

static void http_done(sl_http_call_t *call, const sl_http_client_resp_t *resp, void *arg) {
    (void)call;
    delivery_t *d = arg;
    sl_sns_t *s = d->sns;
    d->call = NULL;
    bool ok = resp->error == 0 && resp->status >= 200 && resp->status < 300;
    if (ok || resp->error == SL_HTTPC_ESHUTDOWN || !s->http) {
        if (!ok && resp->error != SL_HTTPC_ESHUTDOWN)
            SL_WARN("sns: delivery of %s to %s%s failed", d->message_id, d->origin, d->path);
        delivery_free(s, d);
        return;
    }
    if (++d->attempt >= SL_SNS_HTTP_ATTEMPTS) {
        SL_WARN("sns: %s to %s%s failed %d times (last: %s, status %d); dropped", d->type,
                d->origin, d->path, d->attempt,
                resp->error ? sl_http_client_strerror(resp->error) : "HTTP error", resp->status);
        delivery_free(s, d);
        return;
    }
    d->timer =
        sl_timer_start(s->loop, (uint64_t)SL_SNS_HTTP_RETRY_MS << (d->attempt - 1), retry_fire, d);
    if (!d->timer) delivery_free(s, d);
}

static void http_send(sl_sns_t *s, delivery_t *d) {
    if (!s->http) {
        delivery_free(s, d);
        return;
    }
    sl_http_header_t hs[8];
    size_t n = 0;
#define H(name_, value_) hs[n++] = (sl_http_header_t){name_, strlen(name_), value_, strlen(value_)}
    H("content-type", "text/plain; charset=UTF-8");
    H("x-amz-sns-message-type", d->type);
    H("x-amz-sns-message-id", d->message_id);
    H("x-amz-sns-topic-arn", d->topic_arn);
    if (d->sub_arn[0]) H("x-amz-sns-subscription-arn", d->sub_arn);
    if (d->raw) H("x-amz-sns-rawdelivery", "true");
    H("user-agent", "Amazon Simple Notification Service Agent");
#undef H
    sl_http_client_req_t r = {.origin = d->origin,
                              .version = SL_HTTPC_HTTP1,
                              .method = "POST",
                              .path = d->path,
                              .headers = hs,
                              .header_count = n,
                              .body = d->body,
                              .body_len = d->body_len,
                              .on_done = http_done,
                              .arg = d};
    if (sl_http_client_submit(s->http, &r, &d->call) != 0) {
        SL_WARN("sns: cannot post to %s%s", d->origin, d->path);
        delivery_free(s, d);
    }
}

/* On the delivery loop: a new delivery joins the live list and goes out. */
static void delivery_start(void *arg) {
    delivery_t *d = arg;
    sl_sns_t *s = d->sns;
    d->next = s->live;
    if (s->live) s->live->prev = d;
    s->live = d;
    http_send(s, d);
}

/* Splits "http(s)://host[:port]/path?query" into origin and path. */
static bool split_url(const char *url, char *origin, size_t ocap, char *path, size_t pcap) {
    const char *rest = strncmp(url, "http://", 7) == 0    ? url + 7
                       : strncmp(url, "https://", 8) == 0 ? url + 8
                                                          : NULL;
    if (!rest || !*rest) return false;
    const char *slash = strchr(rest, '/');
    size_t olen = slash ? (size_t)(slash - url) : strlen(url);
    if (olen >= ocap) return false;
    memcpy(origin, url, olen);
    origin[olen] = 0;
    return snprintf(path, pcap, "%s", slash ? slash : "/") < (int)pcap;
}

/* Queues an HTTP POST of body (taken) to url. Caller may hold mu. */
static void deliver_http(sl_sns_t *s, const char *url, const char *type, const char *message_id,
                         const char *topic_arn, const char *sub_arn, bool raw, char *body,
                         size_t len) {
    delivery_t *d = calloc(1, sizeof *d);
    if (!d || !split_url(url, d->origin, sizeof d->origin, d->path, sizeof d->path) ||
        __atomic_load_n(&s->live_count, __ATOMIC_RELAXED) >= SL_SNS_DELIVERIES_MAX) {
        SL_WARN("sns: %s to %s not delivered (bad URL or too many pending deliveries)", type, url);
        free(d);
        free(body);
        return;
    }
    d->sns = s;
    snprintf(d->type, sizeof d->type, "%s", type);
    snprintf(d->message_id, sizeof d->message_id, "%s", message_id);
    snprintf(d->topic_arn, sizeof d->topic_arn, "%s", topic_arn);
    snprintf(d->sub_arn, sizeof d->sub_arn, "%s", sub_arn ? sub_arn : "");
    d->raw = raw;
    d->body = body;
    d->body_len = len;
    __atomic_add_fetch(&s->live_count, 1, __ATOMIC_RELAXED);
    if (sl_loop_post(s->loop, delivery_start, d) != 0) {
        __atomic_sub_fetch(&s->live_count, 1, __ATOMIC_RELAXED);
        free(d->body);
        free(d);
    }
}

static void envelope_common(sl_enc_t *e, const char *base_url) {
    static const char fake[] = "Sluice does not sign SNS messages with an AWS certificate.";
    char sig[((sizeof fake - 1) / 3 + 1) * 4 + 1];
    size_t n = sl_base64_encoded_len(sizeof fake - 1);
    sl_base64_encode(fake, sizeof fake - 1, sig);
    sig[n] = 0;
    sl_enc_kv_cstr(e, "SignatureVersion", "1");
    sl_enc_kv_cstr(e, "Signature", sig);
    char url[400];
    snprintf(url, sizeof url, "%s/sns/SimpleNotificationService.pem", base_url);
    sl_enc_kv_cstr(e, "SigningCertURL", url);
}

/* The URL-encoded form of s (query parameter values). */
static void url_encode(sl_buf_t *b, const char *s) {
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~') {
            sl_buf_append_byte(b, c);
        } else {
            sl_buf_append_byte(b, '%');
            sl_buf_append_byte(b, (uint8_t)hex[c >> 4]);
            sl_buf_append_byte(b, (uint8_t)hex[c & 15]);
        }
    }
}

/* Sends the SubscriptionConfirmation message of a pending HTTP subscription. */
static void send_confirmation(sl_sns_t *s, const sub_t *u) {
    char mid[40], ts[32];
    new_uuid(mid);
    iso_time(sl_time_now_ms(), ts);
    sl_buf_t url = SL_BUF_INIT, msg = SL_BUF_INIT, body = SL_BUF_INIT;
    sl_buf_printf(&url,
                  "%s/sns/confirm-subscription?Action=ConfirmSubscription&TopicArn=", u->base_url);
    url_encode(&url, u->topic_arn);
    sl_buf_append_str(&url, "&Token=");
    url_encode(&url, u->token);
    sl_buf_printf(&msg,
                  "You have chosen to subscribe to the topic %s.\nTo confirm the subscription, "
                  "visit the SubscribeURL included in this message.",
                  u->topic_arn);
    sl_buf_append_byte(&url, 0);
    sl_buf_append_byte(&msg, 0);
    sl_enc_t e;
    sl_enc_init(&e, &body, SL_FMT_JSON);
    sl_enc_map_begin(&e);
    sl_enc_kv_cstr(&e, "Type", "SubscriptionConfirmation");
    sl_enc_kv_cstr(&e, "MessageId", mid);
    sl_enc_kv_cstr(&e, "Token", u->token);
    sl_enc_kv_cstr(&e, "TopicArn", u->topic_arn);
    sl_enc_kv_cstr(&e, "Message", sl_buf_failed(&msg) ? "" : msg.data);
    sl_enc_kv_cstr(&e, "SubscribeURL", sl_buf_failed(&url) ? "" : url.data);
    sl_enc_kv_cstr(&e, "Timestamp", ts);
    envelope_common(&e, u->base_url);
    sl_enc_map_end(&e);
    size_t len = 0;
    char *b = sl_buf_failed(&body) ? NULL : sl_buf_detach(&body, &len);
    if (b)
        deliver_http(s, u->endpoint, "SubscriptionConfirmation", mid, u->topic_arn, NULL, false, b,
                     len);
    sl_buf_free(&url);
    sl_buf_free(&msg);
    sl_buf_free(&body);
}

/* ---- subscriptions ---- */

static const char *const sub_attr_names[] = {
    "RawMessageDelivery", "FilterPolicy",        "FilterPolicyScope", "RedrivePolicy",
    "DeliveryPolicy",     "SubscriptionRoleArn", "ReplayPolicy",
};

static bool sub_attr_known(const char *name) {
    for (size_t i = 0; i < SL_ARRAY_LEN(sub_attr_names); i++)
        if (strcmp(sub_attr_names[i], name) == 0) return true;
    return false;
}

static bool sub_raw(const sub_t *u) {
    const char *v = kv_get(u->attrs, u->attr_count, "RawMessageDelivery");
    return v && strcmp(v, "true") == 0;
}

int sl_sns_subscribe(sl_sns_t *sns, const char *topic_arn, const char *protocol,
                     const char *endpoint, const sl_sns_kv_t *attrs, size_t attr_count,
                     bool return_arn, const char *base_url, char sub_arn[400], sl_sns_err_t *err,
                     sl_sns_done_fn done, void *ctx) {
    bool is_sqs = strcmp(protocol, "sqs") == 0;
    bool is_http = strcmp(protocol, "http") == 0 || strcmp(protocol, "https") == 0;
    if (!is_sqs && !is_http)
        return fail(err, SL_SNS_INVALID_PARAMETER,
                    "Invalid parameter: Amazon SNS does not "
                    "support this protocol string: %.32s",
                    protocol);
    if (!endpoint || !*endpoint)
        return fail(err, SL_SNS_INVALID_PARAMETER, "Invalid parameter: Endpoint");
    if (is_sqs) {
        char qname[81], qacct[16];
        if (sl_sqs_parse_arn(endpoint, qname, qacct) != 0)
            return fail(err, SL_SNS_INVALID_PARAMETER, "Invalid parameter: SQS endpoint ARN");
    } else {
        size_t pl = strlen(protocol);
        if (strncmp(endpoint, protocol, pl) != 0 || strncmp(endpoint + pl, "://", 3) != 0)
            return fail(err, SL_SNS_INVALID_PARAMETER,
                        "Invalid parameter: Endpoint must match the specified protocol");
    }
    for (size_t i = 0; i < attr_count; i++)
        if (!sub_attr_known(attrs[i].name) || !attr_value_ok(attrs[i].value))
            return fail(err, SL_SNS_INVALID_PARAMETER,
                        "Invalid parameter: Attributes Reason: Unknown attribute %.64s",
                        attrs[i].name);
    if (strlen(endpoint) >= sizeof(((sub_t *)0)->endpoint))
        return fail(err, SL_SNS_INVALID_PARAMETER, "Invalid parameter: Endpoint");
    pthread_mutex_lock(&sns->mu);
    int rc = 0;
    if (!find_topic(sns, topic_arn)) {
        rc = fail(err, SL_SNS_NOT_FOUND, "Topic does not exist");
        goto out;
    }
    /* the same endpoint again: the existing subscription */
    for (size_t i = 0; i < sns->sub_count; i++) {
        sub_t *u = sns->subs[i];
        if (strcmp(u->topic_arn, topic_arn) == 0 && strcmp(u->protocol, protocol) == 0 &&
            strcmp(u->endpoint, endpoint) == 0) {
            snprintf(sub_arn, 400, "%s",
                     u->confirmed ? u->arn
                     : return_arn ? u->arn
                                  : "pending confirmation");
            rc = enqueue(sns, false, 0, "", NULL, NULL, 0, done, ctx);
            goto out;
        }
    }
    if (sns->sub_count >= SL_SNS_SUBSCRIPTIONS_MAX) {
        rc = fail(err, SL_SNS_SUBSCRIPTION_LIMIT_EXCEEDED, "Subscription limit exceeded");
        goto out;
    }
    sub_t *u = calloc(1, sizeof *u);
    if (!u) {
        rc = SL_ENOMEM;
        goto out;
    }
    char id[40];
    new_uuid(id);
    snprintf(u->arn, sizeof u->arn, "%s:%s", topic_arn, id);
    snprintf(u->topic_arn, sizeof u->topic_arn, "%s", topic_arn);
    snprintf(u->protocol, sizeof u->protocol, "%s", protocol);
    snprintf(u->endpoint, sizeof u->endpoint, "%s", endpoint);
    snprintf(u->base_url, sizeof u->base_url, "%s", base_url ? base_url : "");
    u->confirmed = is_sqs;
    if (!is_sqs) {
        uint8_t r[32];
        static const char hex[] = "0123456789abcdef";
        if (RAND_bytes(r, sizeof r) != 1) memset(r, 0x33, sizeof r);
        for (int i = 0; i < 32; i++) {
            u->token[2 * i] = hex[r[i] >> 4];
            u->token[2 * i + 1] = hex[r[i] & 15];
        }
    }
    for (size_t i = 0; rc == 0 && i < attr_count; i++)
        rc = kv_set(u->attrs, &u->attr_count, attrs[i].name, attrs[i].value);
    if (rc == 0) rc = add_sub(sns, u);
    if (rc) {
        sub_free(u);
        goto out;
    }
    rc = save_sub(sns, u, done, ctx);
    if (rc) {
        remove_sub(sns, sns->sub_count - 1);
        goto out;
    }
    snprintf(sub_arn, 400, "%s", u->confirmed || return_arn ? u->arn : "pending confirmation");
    if (!u->confirmed) send_confirmation(sns, u);
out:
    pthread_mutex_unlock(&sns->mu);
    return rc == 0 || rc == SL_EINVAL ? rc : internal(err, rc);
}

int sl_sns_confirm(sl_sns_t *sns, const char *topic_arn, const char *token, char sub_arn[400],
                   sl_sns_err_t *err, sl_sns_done_fn done, void *ctx) {
    pthread_mutex_lock(&sns->mu);
    int rc = 0;
    sub_t *u = NULL;
    for (size_t i = 0; i < sns->sub_count && !u; i++)
        if (strcmp(sns->subs[i]->topic_arn, topic_arn) == 0 && sns->subs[i]->token[0] &&
            strcmp(sns->subs[i]->token, token) == 0)
            u = sns->subs[i];
    if (!find_topic(sns, topic_arn)) {
        rc = fail(err, SL_SNS_NOT_FOUND, "Topic does not exist");
    } else if (!u) {
        rc = fail(err, SL_SNS_INVALID_PARAMETER, "Invalid token");
    } else if (u->confirmed) {
        snprintf(sub_arn, 400, "%s", u->arn);
        rc = enqueue(sns, false, 0, "", NULL, NULL, 0, done, ctx);
    } else {
        rc = enqueue(sns, true, SL_ITEMSTORE_DELETE_ITEM, u->topic_arn, u->token, NULL, 0, NULL,
                     NULL);
        if (rc == 0) {
            u->confirmed = true;
            rc = save_sub(sns, u, done, ctx);
            if (rc) u->confirmed = false;
        }
        snprintf(sub_arn, 400, "%s", u->arn);
    }
    pthread_mutex_unlock(&sns->mu);
    return rc == 0 || rc == SL_EINVAL ? rc : internal(err, rc);
}

int sl_sns_unsubscribe(sl_sns_t *sns, const char *sub_arn, sl_sns_err_t *err, sl_sns_done_fn done,
                       void *ctx) {
    pthread_mutex_lock(&sns->mu);
    size_t i = find_sub(sns, sub_arn);
    int rc;
    if (i == SIZE_MAX) {
        rc = fail(err, SL_SNS_NOT_FOUND, "Subscription does not exist");
    } else {
        sub_t *u = sns->subs[i];
        rc = enqueue(sns, true, SL_ITEMSTORE_DELETE_ITEM, u->topic_arn, sub_key(u), NULL, 0, done,
                     ctx);
        if (rc == 0) remove_sub(sns, i);
    }
    pthread_mutex_unlock(&sns->mu);
    return rc == 0 || rc == SL_EINVAL ? rc : internal(err, rc);
}

int sl_sns_list_subscriptions(sl_sns_t *sns, const char *topic_arn, size_t start, size_t max,
                              sl_sns_sub_info_t **out, size_t *count, bool *more,
                              sl_sns_err_t *err) {
    *out = NULL;
    *count = 0;
    *more = false;
    pthread_mutex_lock(&sns->mu);
    if (topic_arn && !find_topic(sns, topic_arn)) {
        pthread_mutex_unlock(&sns->mu);
        return fail(err, SL_SNS_NOT_FOUND, "Topic does not exist");
    }
    sl_sns_sub_info_t *infos = calloc(max + 1, sizeof *infos);
    if (!infos) {
        pthread_mutex_unlock(&sns->mu);
        return internal(err, SL_ENOMEM);
    }
    size_t seen = 0, n = 0;
    for (size_t i = 0; i < sns->sub_count; i++) {
        const sub_t *u = sns->subs[i];
        if (topic_arn && strcmp(u->topic_arn, topic_arn) != 0) continue;
        if (seen++ < start) continue;
        if (n == max) {
            *more = true;
            break;
        }
        sl_sns_sub_info_t *x = &infos[n++];
        snprintf(x->arn, sizeof x->arn, "%s", u->confirmed ? u->arn : "PendingConfirmation");
        snprintf(x->topic_arn, sizeof x->topic_arn, "%s", u->topic_arn);
        snprintf(x->owner, sizeof x->owner, "%s", sns->account);
        snprintf(x->protocol, sizeof x->protocol, "%s", u->protocol);
        snprintf(x->endpoint, sizeof x->endpoint, "%s", u->endpoint);
    }
    pthread_mutex_unlock(&sns->mu);
    *out = infos;
    *count = n;
    return 0;
}

int sl_sns_get_subscription_attributes(sl_sns_t *sns, const char *sub_arn, sl_sns_kv_t **out,
                                       size_t *count, sl_sns_err_t *err) {
    *out = NULL;
    *count = 0;
    pthread_mutex_lock(&sns->mu);
    size_t i = find_sub(sns, sub_arn);
    if (i == SIZE_MAX) {
        pthread_mutex_unlock(&sns->mu);
        return fail(err, SL_SNS_NOT_FOUND, "Subscription does not exist");
    }
    const sub_t *u = sns->subs[i];
    sl_sns_kv_t *kvs = calloc(KVS_MAX + 16, sizeof *kvs);
    size_t n = 0;
    int rc = kvs ? 0 : SL_ENOMEM;
    if (rc == 0) rc = out_add(kvs, &n, "SubscriptionArn", u->arn);
    if (rc == 0) rc = out_add(kvs, &n, "TopicArn", u->topic_arn);
    if (rc == 0) rc = out_add(kvs, &n, "Owner", sns->account);
    if (rc == 0) rc = out_add(kvs, &n, "Protocol", u->protocol);
    if (rc == 0) rc = out_add(kvs, &n, "Endpoint", u->endpoint);
    if (rc == 0) rc = out_add(kvs, &n, "PendingConfirmation", u->confirmed ? "false" : "true");
    if (rc == 0) rc = out_add(kvs, &n, "ConfirmationWasAuthenticated", "true");
    if (rc == 0 && !kv_get(u->attrs, u->attr_count, "RawMessageDelivery"))
        rc = out_add(kvs, &n, "RawMessageDelivery", "false");
    for (size_t k = 0; rc == 0 && k < u->attr_count; k++)
        rc = out_add(kvs, &n, u->attrs[k].name, u->attrs[k].value);
    pthread_mutex_unlock(&sns->mu);
    if (rc) {
        sl_sns_kvs_free(kvs, n);
        return internal(err, rc);
    }
    *out = kvs;
    *count = n;
    return 0;
}

int sl_sns_set_subscription_attribute(sl_sns_t *sns, const char *sub_arn, const char *name,
                                      const char *value, sl_sns_err_t *err, sl_sns_done_fn done,
                                      void *ctx) {
    if (!sub_attr_known(name))
        return fail(err, SL_SNS_INVALID_PARAMETER, "Invalid parameter: AttributeName");
    if (!attr_value_ok(value))
        return fail(err, SL_SNS_INVALID_PARAMETER, "Invalid parameter: AttributeValue");
    if (strcmp(name, "RawMessageDelivery") == 0 && strcmp(value, "true") != 0 &&
        strcmp(value, "false") != 0)
        return fail(err, SL_SNS_INVALID_PARAMETER,
                    "Invalid parameter: Attributes Reason: RawMessageDelivery: Invalid value "
                    "[%.32s]. Must be true or false.",
                    value);
    pthread_mutex_lock(&sns->mu);
    size_t i = find_sub(sns, sub_arn);
    int rc = i == SIZE_MAX ? fail(err, SL_SNS_NOT_FOUND, "Subscription does not exist")
                           : kv_set(sns->subs[i]->attrs, &sns->subs[i]->attr_count, name, value);
    if (rc == 0) rc = save_sub(sns, sns->subs[i], done, ctx);
    pthread_mutex_unlock(&sns->mu);
    return rc == 0 || rc == SL_EINVAL ? rc : internal(err, rc);
}

/* ---- publish ---- */

static void sqs_sent(void *ctx, int status) {
    char *what = ctx;
    if (status) SL_WARN("sns: delivery to SQS queue %s failed: %s", what, sl_strerror(status));
    free(what);
}

/* The Notification envelope of a message for subscription u (malloc'd JSON). */
static char *envelope(const sl_sns_publish_t *req, const char *mid, const char *ts, const sub_t *u,
                      size_t *len) {
    sl_buf_t body = SL_BUF_INIT;
    sl_enc_t e;
    sl_enc_init(&e, &body, SL_FMT_JSON);
    sl_enc_map_begin(&e);
    sl_enc_kv_cstr(&e, "Type", "Notification");
    sl_enc_kv_cstr(&e, "MessageId", mid);
    sl_enc_kv_cstr(&e, "TopicArn", req->topic_arn);
    if (req->subject) sl_enc_kv_cstr(&e, "Subject", req->subject);
    sl_enc_kv_str(&e, "Message", req->message, req->message_len);
    sl_enc_kv_cstr(&e, "Timestamp", ts);
    envelope_common(&e, u->base_url);
    char unsub[1024];
    snprintf(unsub, sizeof unsub, "%s/sns/unsubscribe?Action=Unsubscribe&SubscriptionArn=%s",
             u->base_url, u->arn);
    sl_enc_kv_cstr(&e, "UnsubscribeURL", unsub);
    if (req->attr_count) {
        sl_enc_key(&e, "MessageAttributes");
        sl_enc_map_begin(&e);
        for (size_t i = 0; i < req->attr_count; i++) {
            const sl_sns_attr_t *a = &req->attrs[i];
            sl_enc_key(&e, a->name);
            sl_enc_map_begin(&e);
            sl_enc_kv_cstr(&e, "Type", a->data_type);
            if (strcmp(a->data_type, "Binary") == 0) {
                sl_enc_key(&e, "Value");
                sl_enc_bytes(&e, a->value, a->value_len);
            } else {
                sl_enc_kv_str(&e, "Value", (const char *)a->value, a->value_len);
            }
            sl_enc_map_end(&e);
        }
        sl_enc_map_end(&e);
    }
    sl_enc_map_end(&e);
    char *out = sl_buf_failed(&body) ? NULL : sl_buf_detach(&body, len);
    sl_buf_free(&body);
    return out;
}

static void deliver_sqs(sl_sns_t *s, const sub_t *u, const sl_sns_publish_t *req, const char *body,
                        size_t len, bool raw) {
    char qname[81], qacct[16];
    sl_sqs_t *sqs = NULL;
    if (sl_sqs_parse_arn(u->endpoint, qname, qacct) != 0 || !s->sqs_of_account ||
        s->sqs_of_account(s->sqs_ctx, qacct, &sqs) != 0) {
        SL_WARN("sns: SQS endpoint %s of %s is not served here", u->endpoint, u->arn);
        return;
    }
    sl_sqs_attr_t attrs[SL_SQS_MESSAGE_ATTRS_MAX];
    size_t n = 0;
    for (size_t i = 0; raw && i < req->attr_count && n < SL_SQS_MESSAGE_ATTRS_MAX; i++) {
        const sl_sns_attr_t *a = &req->attrs[i];
        attrs[n++] = (sl_sqs_attr_t){
            a->name, strcmp(a->data_type, "String.Array") == 0 ? "String" : a->data_type, a->value,
            a->value_len};
    }
    char dedup[48];
    new_uuid(dedup);
    sl_sqs_send_t sr = {.queue = qname,
                        .body = (const uint8_t *)body,
                        .body_len = len,
                        .delay_seconds = -1,
                        .attrs = attrs,
                        .attr_count = n,
                        .group_id = req->group_id,
                        .dedup_id = req->dedup_id ? req->dedup_id : dedup};
    sl_sqs_sent_t sent;
    sl_sqs_err_t serr;
    char *what = strdup(u->endpoint);
    if (!what) return;
    if (sl_sqs_send(sqs, &sr, sl_time_now_ms(), &sent, &serr, sqs_sent, what) != 0) {
        SL_WARN("sns: delivery to SQS queue %s refused: %s", u->endpoint, serr.message);
        free(what);
    }
}

int sl_sns_publish(sl_sns_t *sns, const sl_sns_publish_t *req, char message_id[40],
                   sl_sns_err_t *err) {
    if (!req->message || req->message_len == 0)
        return fail(err, SL_SNS_INVALID_PARAMETER, "Invalid parameter: Empty message");
    size_t size = req->message_len;
    for (size_t i = 0; i < req->attr_count; i++)
        size +=
            strlen(req->attrs[i].name) + strlen(req->attrs[i].data_type) + req->attrs[i].value_len;
    if (size > SL_SNS_MESSAGE_BYTES_MAX)
        return fail(err, SL_SNS_INVALID_PARAMETER, "Invalid parameter: Message too long");
    if (req->subject && (strlen(req->subject) == 0 || strlen(req->subject) >= 100))
        return fail(err, SL_SNS_INVALID_PARAMETER, "Invalid parameter: Subject");
    pthread_mutex_lock(&sns->mu);
    topic_t *t = find_topic(sns, req->topic_arn);
    if (!t) {
        pthread_mutex_unlock(&sns->mu);
        return fail(err, SL_SNS_NOT_FOUND, "Topic does not exist");
    }
    const char *fifo_attr = kv_get(t->attrs, t->attr_count, "FifoTopic");
    bool fifo = fifo_attr && strcmp(fifo_attr, "true") == 0;
    if (fifo && (!req->group_id || !*req->group_id)) {
        pthread_mutex_unlock(&sns->mu);
        return fail(err, SL_SNS_INVALID_PARAMETER,
                    "Invalid parameter: The MessageGroupId parameter is required for FIFO topics");
    }
    new_uuid(message_id);
    char ts[32];
    iso_time(sl_time_now_ms(), ts);
    for (size_t i = 0; i < sns->sub_count; i++) {
        const sub_t *u = sns->subs[i];
        if (!u->confirmed || strcmp(u->topic_arn, req->topic_arn) != 0) continue;
        bool raw = sub_raw(u);
        size_t len = req->message_len;
        char *body = raw ? malloc(len + 1) : envelope(req, message_id, ts, u, &len);
        if (!body) continue;
        if (raw) memcpy(body, req->message, len);
        if (strcmp(u->protocol, "sqs") == 0) {
            deliver_sqs(sns, u, req, body, len, raw);
            free(body);
        } else {
            deliver_http(sns, u->endpoint, "Notification", message_id, req->topic_arn, u->arn, raw,
                         body, len);
        }
    }
    pthread_mutex_unlock(&sns->mu);
    return 0;
}

int sl_sns_publish_arn(sl_sns_t *sns, const char *topic_arn, const void *body, size_t body_len,
                       char message_id[40], sl_sns_err_t *err) {
    sl_sns_publish_t req = {.topic_arn = topic_arn, .message = body, .message_len = body_len};
    return sl_sns_publish(sns, &req, message_id, err);
}
