/* Every bound in Sluice, in one place, with the AWS limit or the reason beside it (STYLE.md:
 * "every queue, buffer and loop has a bound"). Configurable limits have their defaults here and
 * their configuration entry in src/server/config.c. */
#ifndef SL_CORE_LIMITS_H
#define SL_CORE_LIMITS_H

/* ---- HTTP / network ---- */
#define SL_HTTP_BODY_MAX_BYTES_DEFAULT (16u * 1024 * 1024) /* 10 MiB record base64 ~13.4 MiB; 413 beyond */
#define SL_HTTP_HEADER_BYTES_MAX (64u * 1024)              /* request line + headers, HTTP/1.1 */
#define SL_HTTP_HEADERS_MAX 100                            /* header fields per request */
#define SL_HTTP_CONNECTIONS_MAX 10000                      /* per network thread */
#define SL_HTTP_IDLE_TIMEOUT_MS 120000                     /* keep-alive idle connections closed after */
#define SL_HTTP2_STREAMS_MAX 1000                          /* SETTINGS_MAX_CONCURRENT_STREAMS */
#define SL_HTTP_OUTPUT_BACKLOG_MAX (64u * 1024 * 1024)     /* unsent bytes per connection before backpressure */

/* ---- wire ---- */
#define SL_WIRE_DEPTH_MAX 64                  /* nesting depth of JSON/CBOR documents */
#define SL_EVENTSTREAM_HEADERS_MAX (128 * 1024) /* botocore decoder limit */
#define SL_EVENTSTREAM_PAYLOAD_MAX (24 * 1024 * 1024) /* botocore decoder limit */
#define SL_WIRE_VALUES_MAX 1000000              /* values per decoded JSON/CBOR document: ~50 bytes of arena each, caps hostile bodies at ~50 MB */

/* ---- Kinesis data plane (AWS limits) ---- */
#define SL_KINESIS_RECORD_DATA_MAX (10u * 1024 * 1024)          /* model: Data blob max 10 MiB */
#define SL_KINESIS_MAX_RECORD_SIZE_KIB_DEFAULT 1024              /* per stream, 1 MiB */
#define SL_KINESIS_MAX_RECORD_SIZE_KIB_MIN 1024
#define SL_KINESIS_MAX_RECORD_SIZE_KIB_MAX 10240
#define SL_KINESIS_PUT_RECORDS_MAX 500                           /* entries per PutRecords */
#define SL_KINESIS_PUT_RECORDS_BYTES_MAX (10u * 1024 * 1024)     /* whole PutRecords request */
#define SL_KINESIS_PARTITION_KEY_CHARS_MAX 256
#define SL_KINESIS_GET_RECORDS_MAX 10000                         /* records per GetRecords */
#define SL_KINESIS_GET_RECORDS_BYTES_MAX (10u * 1024 * 1024)     /* bytes per GetRecords */
#define SL_KINESIS_ITERATOR_TTL_MS 300000                        /* 5 minutes */
#define SL_KINESIS_NEXT_TOKEN_TTL_MS 300000                      /* ListShards/ListStreamConsumers */
#define SL_KINESIS_RETENTION_HOURS_MIN 24
#define SL_KINESIS_RETENTION_HOURS_MAX 8760
#define SL_KINESIS_RETENTION_HOURS_DEFAULT 24
#define SL_KINESIS_SHARD_LIMIT_DEFAULT 500                       /* account shard limit (us-east-1 default) */
#define SL_KINESIS_ON_DEMAND_STREAM_LIMIT_DEFAULT 50
#define SL_KINESIS_ON_DEMAND_SHARDS 4                            /* initial shards of an ON_DEMAND stream */
#define SL_KINESIS_CREATING_STREAMS_MAX 5                        /* streams in CREATING at once */
#define SL_KINESIS_TAGS_PER_STREAM_MAX 50
#define SL_KINESIS_CONSUMERS_PER_STREAM_MAX 20
#define SL_KINESIS_DESCRIBE_STREAM_SHARDS_MAX 100
#define SL_KINESIS_LIST_SHARDS_MAX 1000
#define SL_KINESIS_LIST_STREAMS_MAX 100
#define SL_KINESIS_LIST_CONSUMERS_MAX 100
#define SL_KINESIS_STATE_DELAY_MS_DEFAULT 500                    /* CREATING->ACTIVE etc. */

/* ---- storage ---- */
#define SL_STORAGE_SEGMENT_BYTES_DEFAULT (64u * 1024 * 1024)  /* roll the active segment beyond this */
#define SL_STORAGE_INDEX_INTERVAL_BYTES 4096                  /* sparse index: one entry per this many bytes */
#define SL_STORAGE_PENDING_BYTES_MAX (256u * 1024 * 1024)     /* unflushed bytes before appends get SL_EAGAIN */
#define SL_STORAGE_FLUSH_INTERVAL_MS_DEFAULT 200              /* durability=interval */

/* ---- server process ---- */
#define SL_SERVER_MMAP_THRESHOLD_BYTES (32 * 1024 * 1024)     /* malloc: heap, not mmap, below this */
#define SL_SERVER_TRIM_THRESHOLD_BYTES (256 * 1024 * 1024)    /* malloc: free heap kept before trimming */

#endif
