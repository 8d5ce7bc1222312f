/* Kinesis's CloudWatch metrics (namespace AWS/Kinesis), counted where AWS counts them: per API
 * call, in the binding (data.c, subscribe.c). Stream-level metrics always; shard-level ones only
 * for the metrics a stream's EnableEnhancedMonitoring names, as on AWS.
 *
 * Each (account, stream) and (account, stream, shard) has a set of series pointers, kept in a
 * process-wide table (the registry owns the series, the sets are never freed: a stream deleted and
 * re-created finds its set again). The hot path finds a set through a per-thread cache, so it
 * takes no lock once a thread has seen the stream; a series pointer that is NULL (not yet used,
 * or released when the stream was deleted or its enhanced monitoring disabled) is (re)created
 * under the table's mutex on its next use. */
#include "api/kinesis/metrics.h"

#include "core/common.h"
#include "core/metrics.h"

#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NS "AWS/Kinesis"
#define LAT_BOUNDS .bounds = latency_ms, .bounds_len = SL_ARRAY_LEN(latency_ms)
#define STREAM_LABELS .labels = {"AccountId", "StreamName"}
#define SHARD_LABELS .labels = {"AccountId", "StreamName", "ShardId"}

static const double latency_ms[] = {0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500};

#define COUNTER(id, cw, prom, unit_, text)                                                         \
    [id] = {.ns = NS,                                                                              \
            .name = cw,                                                                            \
            .prom_name = prom,                                                                     \
            .help = text,                                                                          \
            .kind = SL_METRIC_COUNTER,                                                             \
            .unit = unit_,                                                                         \
            STREAM_LABELS}
#define LATENCY(id, cw, prom, text)                                                                \
    [id] = {.ns = NS,                                                                              \
            .name = cw,                                                                            \
            .prom_name = prom,                                                                     \
            .help = text,                                                                          \
            .kind = SL_METRIC_HISTOGRAM,                                                           \
            .unit = "Milliseconds",                                                                \
            .prom_scale = 0.001,                                                                   \
            LAT_BOUNDS,                                                                            \
            STREAM_LABELS}

static const sl_metric_desc_t stream_descs[SL_KM_STREAM_COUNT] = {
    COUNTER(SL_KM_INCOMING_BYTES, "IncomingBytes", "sluice_kinesis_incoming_bytes_total", "Bytes",
            "Data bytes successfully put to the stream (PutRecord and PutRecords)."),
    COUNTER(SL_KM_INCOMING_RECORDS, "IncomingRecords", "sluice_kinesis_incoming_records_total",
            "Count", "Records successfully put to the stream."),
    COUNTER(SL_KM_PUT_RECORD_BYTES, "PutRecord.Bytes", "sluice_kinesis_put_record_bytes_total",
            "Bytes", "Data bytes put with PutRecord."),
    LATENCY(SL_KM_PUT_RECORD_LATENCY, "PutRecord.Latency",
            "sluice_kinesis_put_record_latency_seconds", "PutRecord calls' time to the answer."),
    COUNTER(SL_KM_PUT_RECORD_SUCCESS, "PutRecord.Success",
            "sluice_kinesis_put_record_success_total", "Count",
            "Successful PutRecord calls (CloudWatch: 1 or 0 per call)."),
    COUNTER(SL_KM_PUT_RECORDS_BYTES, "PutRecords.Bytes", "sluice_kinesis_put_records_bytes_total",
            "Bytes", "Data bytes of the records PutRecords stored."),
    COUNTER(SL_KM_PUT_RECORDS_RECORDS, "PutRecords.Records",
            "sluice_kinesis_put_records_records_total", "Count",
            "Records PutRecords stored (deprecated on AWS: PutRecords.SuccessfulRecords)."),
    COUNTER(SL_KM_PUT_RECORDS_TOTAL, "PutRecords.TotalRecords",
            "sluice_kinesis_put_records_total_records_total", "Count",
            "Records sent in PutRecords calls."),
    COUNTER(SL_KM_PUT_RECORDS_SUCCESSFUL, "PutRecords.SuccessfulRecords",
            "sluice_kinesis_put_records_successful_records_total", "Count",
            "Records PutRecords stored."),
    COUNTER(SL_KM_PUT_RECORDS_FAILED, "PutRecords.FailedRecords",
            "sluice_kinesis_put_records_failed_records_total", "Count",
            "Records PutRecords refused for an internal failure."),
    COUNTER(SL_KM_PUT_RECORDS_THROTTLED, "PutRecords.ThrottledRecords",
            "sluice_kinesis_put_records_throttled_records_total", "Count",
            "Records PutRecords refused for throughput limits."),
    LATENCY(SL_KM_PUT_RECORDS_LATENCY, "PutRecords.Latency",
            "sluice_kinesis_put_records_latency_seconds", "PutRecords calls' time to the answer."),
    COUNTER(SL_KM_PUT_RECORDS_SUCCESS, "PutRecords.Success",
            "sluice_kinesis_put_records_success_total", "Count",
            "PutRecords calls with at least one stored record (CloudWatch: 1 or 0 per call)."),
    COUNTER(SL_KM_WRITE_EXCEEDED, "WriteProvisionedThroughputExceeded",
            "sluice_kinesis_write_provisioned_throughput_exceeded_total", "Count",
            "Records refused for the shards' write limits (--throughput-limits)."),
    COUNTER(SL_KM_GET_RECORDS_BYTES, "GetRecords.Bytes", "sluice_kinesis_get_records_bytes_total",
            "Bytes", "Data bytes GetRecords returned."),
    COUNTER(SL_KM_GET_RECORDS_RECORDS, "GetRecords.Records",
            "sluice_kinesis_get_records_records_total", "Count", "Records GetRecords returned."),
    LATENCY(SL_KM_GET_RECORDS_LATENCY, "GetRecords.Latency",
            "sluice_kinesis_get_records_latency_seconds", "GetRecords calls' time to the answer."),
    COUNTER(SL_KM_GET_RECORDS_SUCCESS, "GetRecords.Success",
            "sluice_kinesis_get_records_success_total", "Count",
            "Successful GetRecords calls (CloudWatch: 1 or 0 per call)."),
    [SL_KM_GET_RECORDS_AGE] = {.ns = NS,
                               .name = "GetRecords.IteratorAgeMilliseconds",
                               .prom_name = "sluice_kinesis_get_records_iterator_age_seconds",
                               .help = "Age of the last record the last GetRecords call returned "
                                       "(0 when it returned none).",
                               .kind = SL_METRIC_GAUGE,
                               .unit = "Milliseconds",
                               .prom_scale = 0.001,
                               STREAM_LABELS},
    COUNTER(SL_KM_READ_EXCEEDED, "ReadProvisionedThroughputExceeded",
            "sluice_kinesis_read_provisioned_throughput_exceeded_total", "Count",
            "GetRecords calls refused for the shards' read limits (--throughput-limits)."),
    COUNTER(SL_KM_SUBSCRIBE_SUCCESS, "SubscribeToShard.Success",
            "sluice_kinesis_subscribe_to_shard_success_total", "Count",
            "Successful SubscribeToShard calls."),
    COUNTER(SL_KM_SUBSCRIBE_EVENT_BYTES, "SubscribeToShardEvent.Bytes",
            "sluice_kinesis_subscribe_to_shard_event_bytes_total", "Bytes",
            "Data bytes sent in SubscribeToShard events."),
    COUNTER(SL_KM_SUBSCRIBE_EVENT_RECORDS, "SubscribeToShardEvent.Records",
            "sluice_kinesis_subscribe_to_shard_event_records_total", "Count",
            "Records sent in SubscribeToShard events."),
    COUNTER(SL_KM_SUBSCRIBE_EVENT_SUCCESS, "SubscribeToShardEvent.Success",
            "sluice_kinesis_subscribe_to_shard_event_success_total", "Count",
            "SubscribeToShard events sent."),
    [SL_KM_SUBSCRIBE_EVENT_BEHIND] = {.ns = NS,
                                      .name = "SubscribeToShardEvent.MillisBehindLatest",
                                      .prom_name =
                                          "sluice_kinesis_subscribe_to_shard_event_behind_seconds",
                                      .help = "MillisBehindLatest of the last SubscribeToShard "
                                              "event.",
                                      .kind = SL_METRIC_GAUGE,
                                      .unit = "Milliseconds",
                                      .prom_scale = 0.001,
                                      STREAM_LABELS},
};

#define SHARD_COUNTER(id, cw, prom, unit_, text)                                                   \
    [id] = {.ns = NS,                                                                              \
            .name = cw,                                                                            \
            .prom_name = prom,                                                                     \
            .help = text,                                                                          \
            .kind = SL_METRIC_COUNTER,                                                             \
            .unit = unit_,                                                                         \
            SHARD_LABELS}

/* In sl_kmetric_names' order (EnableEnhancedMonitoring's ShardLevelMetrics). */
static const sl_metric_desc_t shard_descs[SL_KM_SHARD_COUNT] = {
    SHARD_COUNTER(SL_KM_SHARD_INCOMING_BYTES, "IncomingBytes",
                  "sluice_kinesis_shard_incoming_bytes_total", "Bytes",
                  "Data bytes put to the shard (enhanced monitoring)."),
    SHARD_COUNTER(SL_KM_SHARD_INCOMING_RECORDS, "IncomingRecords",
                  "sluice_kinesis_shard_incoming_records_total", "Count",
                  "Records put to the shard (enhanced monitoring)."),
    SHARD_COUNTER(SL_KM_SHARD_OUTGOING_BYTES, "OutgoingBytes",
                  "sluice_kinesis_shard_outgoing_bytes_total", "Bytes",
                  "Data bytes read from the shard (enhanced monitoring)."),
    SHARD_COUNTER(SL_KM_SHARD_OUTGOING_RECORDS, "OutgoingRecords",
                  "sluice_kinesis_shard_outgoing_records_total", "Count",
                  "Records read from the shard (enhanced monitoring)."),
    SHARD_COUNTER(SL_KM_SHARD_WRITE_EXCEEDED, "WriteProvisionedThroughputExceeded",
                  "sluice_kinesis_shard_write_provisioned_throughput_exceeded_total", "Count",
                  "Records refused for the shard's write limits (enhanced monitoring)."),
    SHARD_COUNTER(SL_KM_SHARD_READ_EXCEEDED, "ReadProvisionedThroughputExceeded",
                  "sluice_kinesis_shard_read_provisioned_throughput_exceeded_total", "Count",
                  "GetRecords calls refused for the shard's read limits (enhanced monitoring)."),
    [SL_KM_SHARD_ITERATOR_AGE] = {.ns = NS,
                                  .name = "IteratorAgeMilliseconds",
                                  .prom_name = "sluice_kinesis_shard_iterator_age_seconds",
                                  .help = "Age of the last record read from the shard "
                                          "(enhanced monitoring).",
                                  .kind = SL_METRIC_GAUGE,
                                  .unit = "Milliseconds",
                                  .prom_scale = 0.001,
                                  SHARD_LABELS},
};

#define CONSUMER_LABELS .labels = {"AccountId", "StreamName", "ConsumerName"}

static const sl_metric_desc_t consumer_descs[SL_KM_CONSUMER_COUNT] = {
    [SL_KM_CONSUMER_SUBSCRIPTIONS] = {.prom_name = "sluice_kinesis_consumer_subscriptions",
                                      .help = "SubscribeToShard streams of the consumer open now.",
                                      .kind = SL_METRIC_GAUGE,
                                      CONSUMER_LABELS},
    [SL_KM_CONSUMER_EVENT_BYTES] = {.ns = NS,
                                    .name = "SubscribeToShardEvent.Bytes",
                                    .prom_name = "sluice_kinesis_consumer_event_bytes_total",
                                    .help = "Data bytes sent to the consumer in SubscribeToShard "
                                            "events.",
                                    .kind = SL_METRIC_COUNTER,
                                    .unit = "Bytes",
                                    CONSUMER_LABELS},
    [SL_KM_CONSUMER_EVENT_RECORDS] = {.ns = NS,
                                      .name = "SubscribeToShardEvent.Records",
                                      .prom_name = "sluice_kinesis_consumer_event_records_total",
                                      .help = "Records sent to the consumer in SubscribeToShard "
                                              "events.",
                                      .kind = SL_METRIC_COUNTER,
                                      .unit = "Count",
                                      CONSUMER_LABELS},
    [SL_KM_CONSUMER_EVENT_BEHIND] = {.ns = NS,
                                     .name = "SubscribeToShardEvent.MillisBehindLatest",
                                     .prom_name = "sluice_kinesis_consumer_behind_seconds",
                                     .help = "MillisBehindLatest of the consumer's last "
                                             "SubscribeToShard event.",
                                     .kind = SL_METRIC_GAUGE,
                                     .unit = "Milliseconds",
                                     .prom_scale = 0.001,
                                     CONSUMER_LABELS},
};

#define SET_SERIES_MAX SL_KM_STREAM_COUNT
static_assert((int)SL_KM_SHARD_COUNT <= (int)SET_SERIES_MAX, "a shard set fits");

typedef struct kmset {
    char account[16], stream[129], shard[24]; /* shard "" for a stream's set */
    uint64_t hash;
    _Atomic(sl_series_t *) series[SET_SERIES_MAX];
    struct kmset *next; /* hash chain */
} kmset_t;

#define TABLE_BUCKETS 4096 /* chains grow beyond; sets are few next to their series */
#define CACHE_SLOTS 256    /* per thread */

static struct {
    pthread_mutex_t mu;
    kmset_t *buckets[TABLE_BUCKETS];
    sl_metric_t *stream_metrics[SL_KM_STREAM_COUNT];
    sl_metric_t *shard_metrics[SL_KM_SHARD_COUNT];
    sl_metric_t *consumer_metrics[SL_KM_CONSUMER_COUNT];
    bool declared;
} g = {.mu = PTHREAD_MUTEX_INITIALIZER};

static _Thread_local kmset_t *t_cache[CACHE_SLOTS];

static uint64_t fnv(uint64_t h, const char *s) {
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return (h ^ 0xff) * 0x100000001b3ull; /* separator */
}

static bool set_is(const kmset_t *m, uint64_t hash, const char *account, const char *stream,
                   const char *shard) {
    return m->hash == hash && strcmp(m->stream, stream) == 0 && strcmp(m->shard, shard) == 0 &&
           strcmp(m->account, account) == 0;
}

static void declare_locked(void) {
    if (g.declared) return;
    for (size_t i = 0; i < SL_KM_STREAM_COUNT; i++)
        g.stream_metrics[i] = sl_metric_declare(&stream_descs[i]);
    for (size_t i = 0; i < SL_KM_SHARD_COUNT; i++)
        g.shard_metrics[i] = sl_metric_declare(&shard_descs[i]);
    for (size_t i = 0; i < SL_KM_CONSUMER_COUNT; i++)
        g.consumer_metrics[i] = sl_metric_declare(&consumer_descs[i]);
    g.declared = true;
}

void sl_kapi_metrics_declare(void) {
    pthread_mutex_lock(&g.mu);
    declare_locked();
    pthread_mutex_unlock(&g.mu);
}

static kmset_t *set_find(const char *account, const char *stream, const char *shard) {
    if (!account || !stream || !*stream) return NULL;
    if (!shard) shard = "";
    uint64_t hash = fnv(fnv(fnv(0xcbf29ce484222325ull, account), stream), shard);
    kmset_t **slot = &t_cache[hash % CACHE_SLOTS];
    kmset_t *m = *slot;
    if (m && set_is(m, hash, account, stream, shard)) return m;
    pthread_mutex_lock(&g.mu);
    declare_locked();
    kmset_t **bucket = &g.buckets[hash % TABLE_BUCKETS];
    for (m = *bucket; m; m = m->next)
        if (set_is(m, hash, account, stream, shard)) break;
    if (!m && strlen(account) < sizeof m->account && strlen(stream) < sizeof m->stream &&
        strlen(shard) < sizeof m->shard && (m = calloc(1, sizeof *m))) {
        snprintf(m->account, sizeof m->account, "%s", account);
        snprintf(m->stream, sizeof m->stream, "%s", stream);
        snprintf(m->shard, sizeof m->shard, "%s", shard);
        m->hash = hash;
        m->next = *bucket;
        *bucket = m;
    }
    pthread_mutex_unlock(&g.mu);
    if (m) *slot = m;
    return m;
}

/* Series i of set m, created (or revived) on first use after a release. */
static sl_series_t *series_of(kmset_t *m, size_t i) {
    if (!m) return NULL;
    sl_series_t *s = atomic_load_explicit(&m->series[i], memory_order_acquire);
    if (s) return s;
    pthread_mutex_lock(&g.mu);
    s = atomic_load_explicit(&m->series[i], memory_order_relaxed);
    if (!s) {
        const char *values[] = {m->account, m->stream, m->shard};
        s = sl_metric_series(m->shard[0] ? g.shard_metrics[i] : g.stream_metrics[i], values);
        atomic_store_explicit(&m->series[i], s, memory_order_release);
    }
    pthread_mutex_unlock(&g.mu);
    return s;
}

sl_series_t *sl_kapi_metric(const char *account, const char *stream, sl_km_stream_t metric) {
    return series_of(set_find(account, stream, NULL), metric);
}

sl_kapi_set_t *sl_kapi_stream_set(const char *account, const char *stream) {
    return set_find(account, stream, NULL);
}

sl_series_t *sl_kapi_set_metric(sl_kapi_set_t *set, sl_km_stream_t metric) {
    return series_of(set, metric);
}

sl_series_t *sl_kapi_shard_metric(const char *account, const char *stream, const char *shard,
                                  unsigned enabled, sl_km_shard_t metric) {
    if (!(enabled & (1u << metric))) return NULL;
    return series_of(set_find(account, stream, shard), metric);
}

static void release_consumers_locked(const char *account, const char *stream, const char *name);

/* Releases the series of every set of (account, stream): the stream's own too unless
 * shards_only. */
static void release(const char *account, const char *stream, bool shards_only) {
    pthread_mutex_lock(&g.mu);
    for (size_t b = 0; b < TABLE_BUCKETS; b++)
        for (kmset_t *m = g.buckets[b]; m; m = m->next) {
            if (strcmp(m->stream, stream) != 0 || strcmp(m->account, account) != 0) continue;
            if (shards_only && !m->shard[0]) continue;
            for (size_t i = 0; i < SET_SERIES_MAX; i++) {
                sl_series_t *s = atomic_exchange(&m->series[i], NULL);
                if (s) sl_series_release(s);
            }
        }
    pthread_mutex_unlock(&g.mu);
}

void sl_kapi_metrics_release_stream(const char *account, const char *stream) {
    release(account, stream, false);
    pthread_mutex_lock(&g.mu);
    release_consumers_locked(account, stream, NULL);
    pthread_mutex_unlock(&g.mu);
}

void sl_kapi_metrics_release_shards(const char *account, const char *stream) {
    release(account, stream, true);
}

/* The consumer's name in its ARN (".../consumer/<name>:<timestamp>") into name; false when the
 * ARN names none. */
static bool consumer_name(const char *consumer_arn, char name[129]) {
    const char *c = consumer_arn ? strstr(consumer_arn, "/consumer/") : NULL;
    if (!c) return false;
    c += strlen("/consumer/");
    const char *colon = strrchr(c, ':');
    size_t n = colon ? (size_t)(colon - c) : strlen(c);
    if (n == 0 || n >= 129) return false;
    memcpy(name, c, n);
    name[n] = 0;
    return true;
}

/* The consumers whose series were handed out (g.mu), so that deregistering one, or deleting its
 * stream, takes them out of the exports. */
typedef struct kmconsumer {
    char account[16], stream[129], name[129];
    struct kmconsumer *next;
} kmconsumer_t;
static kmconsumer_t *g_consumers;

void sl_kapi_consumer_metrics(const char *account, const char *stream, const char *consumer_arn,
                              sl_series_t *out[SL_KM_CONSUMER_COUNT]) {
    memset(out, 0, SL_KM_CONSUMER_COUNT * sizeof *out);
    char name[129];
    if (!account || !stream || strlen(account) >= 16 || strlen(stream) >= 129 ||
        !consumer_name(consumer_arn, name))
        return;
    const char *values[] = {account, stream, name};
    pthread_mutex_lock(&g.mu);
    declare_locked();
    kmconsumer_t *c = g_consumers;
    while (c && (strcmp(c->name, name) || strcmp(c->stream, stream) || strcmp(c->account, account)))
        c = c->next;
    if (!c && (c = calloc(1, sizeof *c))) {
        snprintf(c->account, sizeof c->account, "%s", account);
        snprintf(c->stream, sizeof c->stream, "%s", stream);
        snprintf(c->name, sizeof c->name, "%s", name);
        c->next = g_consumers;
        g_consumers = c;
    }
    for (size_t i = 0; c && i < SL_KM_CONSUMER_COUNT; i++)
        out[i] = sl_metric_series(g.consumer_metrics[i], values);
    pthread_mutex_unlock(&g.mu);
}

/* Releases the series of the consumers of (account, stream) named `name` (every one when NULL),
 * and forgets them (g.mu held). */
static void release_consumers_locked(const char *account, const char *stream, const char *name) {
    for (kmconsumer_t **pc = &g_consumers; *pc;) {
        kmconsumer_t *c = *pc;
        if (strcmp(c->stream, stream) || strcmp(c->account, account) ||
            (name && strcmp(c->name, name))) {
            pc = &c->next;
            continue;
        }
        const char *values[] = {c->account, c->stream, c->name};
        for (size_t i = 0; i < SL_KM_CONSUMER_COUNT; i++) {
            sl_series_t *s = sl_metric_series(g.consumer_metrics[i], values);
            if (s) sl_series_release(s);
        }
        *pc = c->next;
        free(c);
    }
}

void sl_kapi_metrics_release_consumer(const char *account, const char *stream,
                                      const char *consumer_arn) {
    char name[129];
    if (!account || !stream || !consumer_name(consumer_arn, name)) return;
    pthread_mutex_lock(&g.mu);
    release_consumers_locked(account, stream, name);
    pthread_mutex_unlock(&g.mu);
}
