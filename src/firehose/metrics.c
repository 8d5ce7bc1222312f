/* Firehose's metrics with AWS/Firehose names (docs/firehose.md "Metrics"; core/metrics.h): one
 * series per delivery stream, dimension DeliveryStreamName. */
#include "firehose/internal.h"

#include "core/common.h"

#include <string.h>

#define FH_METRIC(id, cw, prom, kind_, unit_, help_)                                               \
    static const sl_metric_desc_t id = {.ns = "AWS/Firehose",                                      \
                                        .name = cw,                                                \
                                        .prom_name = prom,                                         \
                                        .help = help_,                                             \
                                        .kind = kind_,                                             \
                                        .unit = unit_,                                             \
                                        .labels = {"DeliveryStreamName"}};

FH_METRIC(incoming_bytes, "IncomingBytes", "sluice_firehose_incoming_bytes_total",
          SL_METRIC_COUNTER, "Bytes", "Bytes accepted by PutRecord(Batch) or read from the source.")
FH_METRIC(incoming_records, "IncomingRecords", "sluice_firehose_incoming_records_total",
          SL_METRIC_COUNTER, "Count",
          "Records accepted by PutRecord(Batch) or read from the source.")
FH_METRIC(incoming_requests, "IncomingPutRequests", "sluice_firehose_incoming_put_requests_total",
          SL_METRIC_COUNTER, "Count", "PutRecord and PutRecordBatch requests accepted.")
FH_METRIC(throttled, "ThrottledRecords", "sluice_firehose_throttled_records_total",
          SL_METRIC_COUNTER, "Count", "Records refused with ServiceUnavailableException.")
FH_METRIC(s3_bytes, "DeliveryToS3.Bytes", "sluice_firehose_delivery_to_s3_bytes_total",
          SL_METRIC_COUNTER, "Bytes", "Record bytes delivered to S3 (before compression).")
FH_METRIC(s3_records, "DeliveryToS3.Records", "sluice_firehose_delivery_to_s3_records_total",
          SL_METRIC_COUNTER, "Count", "Records delivered to S3.")
FH_METRIC(s3_objects, "DeliveryToS3.ObjectCount", "sluice_firehose_delivery_to_s3_objects_total",
          SL_METRIC_COUNTER, "Count", "Objects delivered to S3.")
FH_METRIC(s3_success, "DeliveryToS3.Success", "sluice_firehose_delivery_to_s3_success_total",
          SL_METRIC_COUNTER, "Count",
          "Object puts: the sum counts the successful ones, the samples every attempt.")
FH_METRIC(s3_freshness, "DeliveryToS3.DataFreshness",
          "sluice_firehose_delivery_to_s3_data_freshness_seconds", SL_METRIC_GAUGE, "Seconds",
          "Age of the oldest record not yet delivered to S3.")
FH_METRIC(kds_bytes, "DataReadFromKinesisStream.Bytes",
          "sluice_firehose_data_read_from_kinesis_stream_bytes_total", SL_METRIC_COUNTER, "Bytes",
          "Bytes read from the source Kinesis stream.")
FH_METRIC(kds_records, "DataReadFromKinesisStream.Records",
          "sluice_firehose_data_read_from_kinesis_stream_records_total", SL_METRIC_COUNTER, "Count",
          "Records read from the source Kinesis stream (before KPL de-aggregation).")

FH_METRIC(http_bytes, "DeliveryToHttpEndpoint.Bytes",
          "sluice_firehose_delivery_to_http_endpoint_bytes_total", SL_METRIC_COUNTER, "Bytes",
          "Record bytes delivered to the HTTP endpoint.")
FH_METRIC(http_records, "DeliveryToHttpEndpoint.Records",
          "sluice_firehose_delivery_to_http_endpoint_records_total", SL_METRIC_COUNTER, "Count",
          "Records delivered to the HTTP endpoint.")
FH_METRIC(http_success, "DeliveryToHttpEndpoint.Success",
          "sluice_firehose_delivery_to_http_endpoint_success_total", SL_METRIC_COUNTER, "Count",
          "Requests to the HTTP endpoint: the sum counts the successful ones, the samples all.")

void fh_metrics_open(fh_stream_t *s) {
    const char *const values[] = {s->name};
    fh_metrics_t *m = &s->metrics;
    m->incoming_bytes = sl_metric_series(sl_metric_declare(&incoming_bytes), values);
    m->incoming_records = sl_metric_series(sl_metric_declare(&incoming_records), values);
    m->incoming_requests = sl_metric_series(sl_metric_declare(&incoming_requests), values);
    m->throttled = sl_metric_series(sl_metric_declare(&throttled), values);
    m->s3_bytes = sl_metric_series(sl_metric_declare(&s3_bytes), values);
    m->s3_records = sl_metric_series(sl_metric_declare(&s3_records), values);
    m->s3_objects = sl_metric_series(sl_metric_declare(&s3_objects), values);
    m->s3_success = sl_metric_series(sl_metric_declare(&s3_success), values);
    m->s3_freshness = sl_metric_series(sl_metric_declare(&s3_freshness), values);
    if (strcmp(s->dest_kind, "HttpEndpoint") == 0) {
        m->http_bytes = sl_metric_series(sl_metric_declare(&http_bytes), values);
        m->http_records = sl_metric_series(sl_metric_declare(&http_records), values);
        m->http_success = sl_metric_series(sl_metric_declare(&http_success), values);
    }
    if (s->source_arn[0]) {
        m->kds_bytes = sl_metric_series(sl_metric_declare(&kds_bytes), values);
        m->kds_records = sl_metric_series(sl_metric_declare(&kds_records), values);
    }
}

void fh_metrics_release(fh_stream_t *s) {
    sl_series_t **all[] = {
        &s->metrics.incoming_bytes, &s->metrics.incoming_records, &s->metrics.incoming_requests,
        &s->metrics.throttled,      &s->metrics.s3_bytes,         &s->metrics.s3_records,
        &s->metrics.s3_objects,     &s->metrics.s3_success,       &s->metrics.s3_freshness,
        &s->metrics.kds_bytes,      &s->metrics.kds_records,      &s->metrics.http_bytes,
        &s->metrics.http_records,   &s->metrics.http_success};
    for (size_t i = 0; i < SL_ARRAY_LEN(all); i++) {
        if (*all[i]) sl_series_release(*all[i]);
        *all[i] = NULL;
    }
}
