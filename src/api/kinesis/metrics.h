/* Kinesis's CloudWatch metrics (AWS/Kinesis) as the binding counts them: see metrics.c and
 * docs/observability.md for every name. */
#ifndef SL_API_KINESIS_METRICS_H
#define SL_API_KINESIS_METRICS_H

#include "core/metrics.h"

typedef enum {
    SL_KM_INCOMING_BYTES,
    SL_KM_INCOMING_RECORDS,
    SL_KM_PUT_RECORD_BYTES,
    SL_KM_PUT_RECORD_LATENCY,
    SL_KM_PUT_RECORD_SUCCESS,
    SL_KM_PUT_RECORDS_BYTES,
    SL_KM_PUT_RECORDS_RECORDS,
    SL_KM_PUT_RECORDS_TOTAL,
    SL_KM_PUT_RECORDS_SUCCESSFUL,
    SL_KM_PUT_RECORDS_FAILED,
    SL_KM_PUT_RECORDS_THROTTLED,
    SL_KM_PUT_RECORDS_LATENCY,
    SL_KM_PUT_RECORDS_SUCCESS,
    SL_KM_WRITE_EXCEEDED,
    SL_KM_GET_RECORDS_BYTES,
    SL_KM_GET_RECORDS_RECORDS,
    SL_KM_GET_RECORDS_LATENCY,
    SL_KM_GET_RECORDS_SUCCESS,
    SL_KM_GET_RECORDS_AGE,
    SL_KM_READ_EXCEEDED,
    SL_KM_SUBSCRIBE_SUCCESS,
    SL_KM_SUBSCRIBE_EVENT_BYTES,
    SL_KM_SUBSCRIBE_EVENT_RECORDS,
    SL_KM_SUBSCRIBE_EVENT_SUCCESS,
    SL_KM_SUBSCRIBE_EVENT_BEHIND,
    SL_KM_STREAM_COUNT
} sl_km_stream_t;

/* Shard-level metrics, in sl_kmetric_names' order (bit i of a stream's enhanced monitoring). */
typedef enum {
    SL_KM_SHARD_INCOMING_BYTES,
    SL_KM_SHARD_INCOMING_RECORDS,
    SL_KM_SHARD_OUTGOING_BYTES,
    SL_KM_SHARD_OUTGOING_RECORDS,
    SL_KM_SHARD_WRITE_EXCEEDED,
    SL_KM_SHARD_READ_EXCEEDED,
    SL_KM_SHARD_ITERATOR_AGE,
    SL_KM_SHARD_COUNT
} sl_km_shard_t;

/* A consumer's metrics (enhanced fan-out), dimensions StreamName and ConsumerName as on AWS. */
typedef enum {
    SL_KM_CONSUMER_SUBSCRIPTIONS, /* SubscribeToShard streams open now (Prometheus only) */
    SL_KM_CONSUMER_EVENT_BYTES,
    SL_KM_CONSUMER_EVENT_RECORDS,
    SL_KM_CONSUMER_EVENT_BEHIND,
    SL_KM_CONSUMER_COUNT
} sl_km_consumer_t;

/* Declares every AWS/Kinesis metric (at start-up, so /metrics lists them before any traffic). */
void sl_kapi_metrics_declare(void);

/* The series of a stream-level metric of (account, stream); NULL (counts nothing) when stream is
 * NULL or empty (a call that named no existing stream). No lock once the calling thread has seen
 * the stream. */
sl_series_t *sl_kapi_metric(const char *account, const char *stream, sl_km_stream_t metric);

/* The stream-level series of (account, stream) as one handle, for a call that counts several
 * metrics: one lookup of the stream instead of one per metric. NULL as for sl_kapi_metric. */
typedef struct kmset sl_kapi_set_t;
sl_kapi_set_t *sl_kapi_stream_set(const char *account, const char *stream);

/* Metric `metric` of a set from sl_kapi_stream_set (NULL when set is NULL). */
sl_series_t *sl_kapi_set_metric(sl_kapi_set_t *set, sl_km_stream_t metric);

/* The series of a shard-level metric, or NULL unless bit `metric` is set in `enabled` (the
 * stream's EnableEnhancedMonitoring set). */
sl_series_t *sl_kapi_shard_metric(const char *account, const char *stream, const char *shard,
                                  unsigned enabled, sl_km_shard_t metric);

/* DeleteStream: the stream's series (and its shards') leave the exports. */
void sl_kapi_metrics_release_stream(const char *account, const char *stream);
/* DisableEnhancedMonitoring: the stream's shard-level series leave the exports (those still
 * enabled come back with the next call that counts them). */
void sl_kapi_metrics_release_shards(const char *account, const char *stream);

/* The series of a consumer's metrics, named by its ARN (".../consumer/<name>:<timestamp>"), into
 * out (NULL entries when the ARN names no consumer or memory ran out). Takes the registry's mutex:
 * call once per subscription and keep the pointers. */
void sl_kapi_consumer_metrics(const char *account, const char *stream, const char *consumer_arn,
                              sl_series_t *out[SL_KM_CONSUMER_COUNT]);
/* DeregisterStreamConsumer: the consumer's series leave the exports (DeleteStream takes those of
 * every consumer of the stream). */
void sl_kapi_metrics_release_consumer(const char *account, const char *stream,
                                      const char *consumer_arn);

#endif
