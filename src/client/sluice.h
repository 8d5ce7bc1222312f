/* libsluice: a C client for Kinesis Data Streams, for Sluice and for AWS itself (installed as
 * <sluice/sluice.h>; link with `pkg-config --libs sluice`).
 *
 * - A client (sl_client_t) holds the endpoint, region and credentials (from the arguments, else the
 *   AWS environment variables and ~/.aws/config / ~/.aws/credentials profiles), a background
 *   thread with keep-alive HTTP/1.1 or HTTP/2 connections (TLS for https://), and signs every call
 *   with SigV4. Any Kinesis operation can be called with a JSON body, asynchronously or blocking.
 * - A producer (sl_producer_t) does what the Kinesis Producer Library does: put returns at once;
 *   records are collected per shard, aggregated in the KPL format, rate-limited per shard, sent
 *   with PutRecords and retried (throttled and failed records only) until their time-to-live; each
 *   accepted record completes exactly once, through a callback or a future.
 * - A reader (sl_reader_t) reads every shard of a stream from a start position, following
 *   resharding (children after their parents), and de-aggregates KPL records (a record whose
 *   checksum fails is passed through raw, as the KCL does).
 * - A consumer (sl_consumer_t) is a worker of the Kinesis Client Library's kind: shard leases in
 *   a DynamoDB table named after the application (KCL 2.x's schema and lease protocol, so KCL
 *   workers and these share one table), load balanced across the workers of the application,
 *   checkpoints, parents before children, and a record processor per leased shard.
 *
 * Threads: every function may be called from any thread unless it says otherwise. Callbacks run on
 * the client's background thread: they must not block and must not call the blocking functions
 * (sl_client_call_sync, sl_future_wait, sl_producer_flush_sync, sl_producer_destroy,
 * sl_client_destroy). Functions return 0 or a negative SLUICE_E* code.
 * Guide and examples: docs/libsluice.md. */
#ifndef SLUICE_SLUICE_H
#define SLUICE_SLUICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SLUICE_ENOMEM (-1)      /* allocation failed */
#define SLUICE_EINVAL (-2)      /* invalid argument */
#define SLUICE_EIO (-3)         /* the endpoint could not be reached (connection, TLS, timeout) */
#define SLUICE_ELIMIT (-8)      /* a bound was reached (e.g. too many records outstanding) */
#define SLUICE_EAGAIN (-9)      /* try again later */
#define SLUICE_ECLOSED (-10)    /* the object is shutting down */
#define SLUICE_ETIMEOUT (-13)   /* a wait ended before its condition */
#define SLUICE_ESERVICE (-14)   /* the service answered an error (see error_code) */
#define SLUICE_EEXPIRED (-15)   /* a record's time-to-live passed before it was stored */
#define SLUICE_ELEASELOST (-16) /* the consumer no longer holds the shard's lease */

/* Static text for a SLUICE_E* code. */
const char *sl_client_strerror(int code);

/* ---- client ---- */

typedef struct {
    /* "http://host:port" or "https://host[:port]". NULL: AWS_ENDPOINT_URL_KINESIS, then
     * AWS_ENDPOINT_URL, then the profile's endpoint_url, then
     * https://kinesis.<region>.amazonaws.com (or default_endpoint_url when set). */
    const char *endpoint_url;
    const char *default_endpoint_url;
    /* NULL: AWS_REGION, AWS_DEFAULT_REGION, the profile's region, then "us-east-1". */
    const char *region;
    /* NULL: AWS_PROFILE, then "default". */
    const char *profile;
    /* All NULL: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, then the profile in
     * AWS_SHARED_CREDENTIALS_FILE (~/.aws/credentials), then in AWS_CONFIG_FILE (~/.aws/config);
     * with none anywhere, requests are signed with a placeholder key (Sluice accepts it). */
    const char *access_key_id;
    const char *secret_access_key;
    const char *session_token;
    int http_version;  /* 0 = HTTP/1.1 on http://, ALPN on https://; 1 = HTTP/1.1; 2 = HTTP/2 */
    bool tls_insecure; /* skip certificate verification (self-signed test servers) */
    const char *tls_ca_file; /* PEM trust anchors; NULL = the system's */
    int connect_timeout_ms;  /* 0 = 6000 (the KPL's ConnectTimeout) */
    int timeout_ms;          /* per call; 0 = 30000 */
    int connections; /* keep-alive connections to the endpoint; 0 = 24 (KPL MaxConnections) */
} sl_client_config_t;

typedef struct sl_client sl_client_t;

/* Creates a client (cfg may be NULL: everything from the environment) and starts its thread.
 * Returns 0, SLUICE_EINVAL (bad endpoint URL, unreadable profile) or SLUICE_ENOMEM. */
int sl_client_create(const sl_client_config_t *cfg, sl_client_t **out);
/* Completes pending calls with SLUICE_ECLOSED and stops the thread. Not from a callback. */
void sl_client_destroy(sl_client_t *client);
/* The resolved endpoint URL and region (valid for the client's lifetime). */
const char *sl_client_endpoint(const sl_client_t *client);
const char *sl_client_region(const sl_client_t *client);

typedef struct {
    int error;              /* 0 (an HTTP answer arrived, see status) or SLUICE_EIO */
    const char *error_text; /* transport error text when error != 0 */
    int status;             /* HTTP status */
    const char *body;       /* the response body, NUL-terminated */
    size_t body_len;
    const char *error_code;    /* status != 200: the AWS error type ("ResourceNotFoundException") */
    const char *error_message; /* status != 200: its message ("" when none) */
} sl_client_response_t;

/* Runs once per call on the client's thread; resp is valid during the callback only. */
typedef void (*sl_client_done_fn)(const sl_client_response_t *resp, void *arg);

/* Calls Kinesis operation `operation` ("PutRecords") with a JSON request body (copied).
 * idempotency_key, when not NULL, is sent as x-sluice-idempotency-key (a Sluice extension that
 * AWS ignores). done runs later, never inside this function. Returns 0, SLUICE_EINVAL or
 * SLUICE_ENOMEM (then done never runs). */
int sl_client_call(sl_client_t *client, const char *operation, const char *json, size_t len,
                   const char *idempotency_key, sl_client_done_fn done, void *arg);

/* Same for a DynamoDB operation ("GetItem"): AWS JSON 1.0, signed for the service "dynamodb".
 * Sluice serves DynamoDB on the same endpoint; for AWS, create a second client whose endpoint
 * is https://dynamodb.<region>.amazonaws.com. */
int sl_client_call_dynamodb(sl_client_t *client, const char *operation, const char *json,
                            size_t len, sl_client_done_fn done, void *arg);

/* A blocking call's answer: strings are heap copies owned by the result. */
typedef struct {
    int error;
    int status;
    char *body;
    size_t body_len;
    char *error_code;    /* NULL on success */
    char *error_message; /* NULL on success */
} sl_client_result_t;

/* Blocking sl_client_call. Returns 0 when the service answered 200, SLUICE_ESERVICE when it
 * answered an error (out->error_code), SLUICE_EIO when it could not be reached. Free *out with
 * sl_client_result_free in every case. */
int sl_client_call_sync(sl_client_t *client, const char *operation, const char *json, size_t len,
                        sl_client_result_t *out);
/* Blocking sl_client_call_dynamodb, with sl_client_call_sync's results. */
int sl_client_call_dynamodb_sync(sl_client_t *client, const char *operation, const char *json,
                                 size_t len, sl_client_result_t *out);
/* A plain, unsigned GET of `path` ("/metrics", "/health") on the client's endpoint, over its
 * connections: done gets the status and the body (error_code "HTTP404" and so on when the status
 * is not 200). Same returns as sl_client_call; _sync as sl_client_call_sync. */
int sl_client_get(sl_client_t *client, const char *path, sl_client_done_fn done, void *arg);
int sl_client_get_sync(sl_client_t *client, const char *path, sl_client_result_t *out);
void sl_client_result_free(sl_client_result_t *r);

/* ---- producer ---- */

typedef struct {
    bool aggregation_enabled;        /* AggregationEnabled, default true */
    uint64_t aggregation_max_count;  /* AggregationMaxCount, default 4294967295 */
    size_t aggregation_max_size;     /* AggregationMaxSize, default 51200 bytes */
    size_t collection_max_count;     /* CollectionMaxCount, default 500 (records per request) */
    size_t collection_max_size;      /* CollectionMaxSize, default 5 MiB (bytes per request) */
    int record_max_buffered_time_ms; /* RecordMaxBufferedTime, default 100 */
    int record_ttl_ms;               /* RecordTtl, default 30000 */
    int rate_limit;                  /* RateLimit, % of the shard limits, default 150 */
    bool fail_if_throttled;          /* FailIfThrottled, default false */
    size_t outstanding_max;          /* records accepted and not completed; default 1000000 */
    bool idempotency_keys;           /* send x-sluice-idempotency-key, default true */
} sl_producer_config_t;

/* Fills cfg with the KPL's defaults. */
void sl_producer_config_init(sl_producer_config_t *cfg);

typedef struct {
    int error;                    /* 0, SLUICE_ESERVICE, SLUICE_EEXPIRED or SLUICE_ECLOSED */
    const char *shard_id;         /* success: the shard that stored the record */
    const char *sequence_number;  /* success: the Kinesis record's sequence number */
    uint64_t sub_sequence_number; /* success: index inside an aggregate (0 when sent plain) */
    bool aggregated;              /* the record was stored inside an aggregate */
    const char *error_code;       /* failure: the AWS error code, or "Expired" */
    const char *error_message;    /* failure: its message */
    int attempts;                 /* PutRecords attempts that carried the record */
} sl_put_result_t;

/* Runs exactly once per accepted record, on the client's thread; r is valid during the call. */
typedef void (*sl_put_fn)(const sl_put_result_t *r, void *arg);

typedef struct sl_producer sl_producer_t;
typedef struct sl_future sl_future_t;

/* Creates a producer for stream_name (cfg NULL = defaults) and loads the shard map (ListShards)
 * before returning; if that fails it is retried in the background and records go plain until it
 * loads. The client must outlive the producer. Returns 0, SLUICE_EINVAL or SLUICE_ENOMEM. */
int sl_producer_create(sl_client_t *client, const char *stream_name,
                       const sl_producer_config_t *cfg, sl_producer_t **out);

/* Accepts one record (partition key 1-256 characters; explicit_hash_key NULL or a decimal 128-bit
 * number; data copied). done(result, arg) runs later exactly once. Returns 0, SLUICE_EINVAL
 * (bad key or a record over 1 MiB), SLUICE_ELIMIT (outstanding_max reached: retry after some
 * complete), SLUICE_ECLOSED (the producer is being destroyed) or SLUICE_ENOMEM; on failure done
 * never runs. */
int sl_producer_put(sl_producer_t *p, const char *partition_key, const char *explicit_hash_key,
                    const void *data, size_t len, sl_put_fn done, void *arg);

/* Same, completing a future instead of calling back. */
int sl_producer_put_future(sl_producer_t *p, const char *partition_key,
                           const char *explicit_hash_key, const void *data, size_t len,
                           sl_future_t **out);
/* Waits until the record completed (timeout_ms < 0: no bound) and points *out at its result
 * (valid until sl_future_destroy). Returns 0 or SLUICE_ETIMEOUT. */
int sl_future_wait(sl_future_t *f, int timeout_ms, const sl_put_result_t **out);
/* Frees a future (waiting for its record first if it has not completed). */
void sl_future_destroy(sl_future_t *f);

/* Sends every buffered record now instead of at its time bound. */
void sl_producer_flush(sl_producer_t *p);
/* Flushes and waits until every accepted record completed (timeout_ms < 0: no bound). Returns 0
 * or SLUICE_ETIMEOUT. */
int sl_producer_flush_sync(sl_producer_t *p, int timeout_ms);
/* Records accepted and not yet completed. */
size_t sl_producer_outstanding(const sl_producer_t *p);

typedef struct {
    uint64_t user_records_put;    /* completed successfully */
    uint64_t user_records_failed; /* completed with an error (expiry included) */
    uint64_t kinesis_records_put; /* Kinesis records stored (aggregates count once) */
    uint64_t bytes_put; /* their data + partition key bytes (what the shards' limits count) */
    uint64_t requests;  /* PutRecords requests sent */
    uint64_t retries;   /* user records sent again */
} sl_producer_stats_t;
void sl_producer_stats(const sl_producer_t *p, sl_producer_stats_t *out);

/* Graceful shutdown: flushes, waits until every accepted record completed (stored, failed or
 * expired: nothing is dropped silently), then frees the producer. */
void sl_producer_destroy(sl_producer_t *p);

/* ---- reading ---- */

typedef enum {
    SL_READ_TRIM_HORIZON = 0,
    SL_READ_LATEST,
    SL_READ_AT_TIMESTAMP,
} sl_read_start_t;

typedef struct {
    const char *shard_id;
    const char *sequence_number;
    uint64_t sub_sequence_number; /* index inside an aggregate, 0 otherwise */
    bool aggregated;              /* a user record taken out of a KPL aggregate */
    const char *partition_key;
    const char *explicit_hash_key; /* aggregated records only, NULL when absent */
    int64_t arrival_ms;            /* ApproximateArrivalTimestamp */
    const uint8_t *data;
    size_t data_len;
} sl_record_t;

/* Return non-zero to stop (the reading function returns that value). */
typedef int (*sl_record_fn)(const sl_record_t *r, void *arg);

/* Calls fn once per user record of a Kinesis record: for a KPL aggregate, each sub-record with its
 * sub-sequence number; for anything else (including an aggregate whose MD5 or protobuf does not
 * check out) the record itself. */
int sl_deaggregate(const sl_record_t *record, sl_record_fn fn, void *arg);

typedef struct {
    sl_read_start_t start;
    int64_t start_ms; /* SL_READ_AT_TIMESTAMP: ms since the epoch */
    int64_t end_ms;   /* > 0: records that arrived at or after this are not delivered */
    bool deaggregate; /* hand out user records of KPL aggregates (default in the CLI) */
} sl_reader_config_t;

typedef struct sl_reader sl_reader_t;

/* A reader over every shard of stream_name. Returns 0, SLUICE_ENOMEM or SLUICE_EINVAL. */
int sl_reader_create(sl_client_t *client, const char *stream_name, const sl_reader_config_t *cfg,
                     sl_reader_t **out);
/* One round: lists shards when needed (new children after a reshard start once their parents
 * are read to the end), then one GetRecords per readable shard, calling fn per record in each
 * shard's order. *caught_up: every open shard answered with no records and no lag; *ended: there
 * is nothing more to read (every shard closed and read, or end_ms passed on every shard).
 * Returns the number of records delivered (>= 0), fn's non-zero result, SLUICE_ESERVICE (with
 * the message in sl_reader_error) or SLUICE_EIO. */
int sl_reader_poll(sl_reader_t *r, sl_record_fn fn, void *arg, bool *caught_up, bool *ended);
/* The last service error of the reader ("ResourceNotFoundException: ..."). */
const char *sl_reader_error(const sl_reader_t *r);
void sl_reader_destroy(sl_reader_t *r);

/* ---- consumer ---- */

/* How a worker reads: GetRecords polling, or enhanced fan-out (SubscribeToShard, HTTP/2 on the
 * client when it can). */
typedef enum { SL_RETRIEVAL_POLLING = 0, SL_RETRIEVAL_FAN_OUT } sl_retrieval_t;

typedef struct {
    const char *application_name; /* the lease table's name (and the fan-out consumer's) */
    const char *stream_name;
    const char *worker_id; /* NULL: "<hostname>:<pid>:<random>" */
    /* The client for the lease table; NULL: the Kinesis client (Sluice serves both). */
    sl_client_t *lease_client;
    sl_read_start_t initial_position; /* for shards without a checkpoint; default TRIM_HORIZON */
    int64_t initial_timestamp_ms;     /* SL_READ_AT_TIMESTAMP */
    sl_retrieval_t retrieval;
    const char *consumer_name; /* fan-out: the registered consumer; NULL = application_name */
    /* KCL's timings and bounds; 0 = KCL 2.x's default (in parentheses). */
    int failover_time_ms;        /* a lease not renewed for this long is expired (10000) */
    int shard_sync_interval_ms;  /* ListShards to find new shards (60000) */
    int parent_poll_interval_ms; /* a child waits for its parents' SHARD_END (10000) */
    int idle_between_reads_ms;   /* polling: pause after an empty GetRecords (1500) */
    int max_records;             /* polling: GetRecords Limit (10000) */
    int max_leases_for_worker;   /* (unbounded) */
    int max_leases_to_steal;     /* per taker run (1) */
    bool call_process_records_even_for_empty_list; /* (false) */
} sl_consumer_config_t;

/* Fills cfg with KCL 2.x's defaults (polling retrieval, TRIM_HORIZON). */
void sl_consumer_config_init(sl_consumer_config_t *cfg);

typedef struct sl_checkpointer sl_checkpointer_t;

typedef struct {
    const char *shard_id;
    const char *sequence_number; /* the lease's checkpoint: a sequence number or TRIM_HORIZON,
                                    LATEST, AT_TIMESTAMP */
    uint64_t sub_sequence_number;
} sl_shard_init_t;

typedef struct {
    const sl_record_t *records; /* de-aggregated user records, in the shard's order */
    size_t count;
    int64_t millis_behind_latest;
    sl_checkpointer_t *checkpointer;
} sl_records_input_t;

/* A record processor: one instance (its `shard` state) per leased shard, driven by one thread of
 * the worker, never by two at once. Every initialize is followed by process_records calls and
 * ends with exactly one of lease_lost (another worker took the lease or it expired; do not
 * checkpoint), shard_ended (the shard is closed and read to its end: the processor must
 * checkpoint, which stores SHARD_END, or the shard is offered to it again) or shutdown_requested
 * (the worker is shutting down; it may checkpoint). Free the shard state in that last call. */
typedef struct {
    /* Returns the shard's state in *shard; non-zero to refuse the lease (it is released). */
    int (*initialize)(void *app, const sl_shard_init_t *in, void **shard);
    void (*process_records)(void *shard, const sl_records_input_t *in);
    void (*lease_lost)(void *shard);
    void (*shard_ended)(void *shard, sl_checkpointer_t *cp);
    void (*shutdown_requested)(void *shard, sl_checkpointer_t *cp);
} sl_record_processor_t;

/* Stores a checkpoint in the lease (a conditional UpdateItem, as the KCL does): the given
 * position, or with sequence_number NULL the last record handed to the processor (SHARD_END in
 * shard_ended). Only from inside the processor's callbacks. Returns 0, SLUICE_EINVAL (before the
 * last checkpoint or after the last record handed out), SLUICE_ELEASELOST (the lease is gone:
 * stop processing) or SLUICE_EIO / SLUICE_ESERVICE (try again). */
int sl_checkpointer_checkpoint(sl_checkpointer_t *cp, const char *sequence_number,
                               uint64_t sub_sequence_number);

typedef struct sl_consumer sl_consumer_t;

/* Creates a worker of application cfg->application_name on cfg->stream_name; it starts nothing
 * yet. The clients must outlive the consumer. Returns 0, SLUICE_EINVAL or SLUICE_ENOMEM. */
int sl_consumer_create(sl_client_t *client, const sl_consumer_config_t *cfg,
                       const sl_record_processor_t *processor, void *app, sl_consumer_t **out);
/* Runs the worker on the calling thread until sl_consumer_shutdown (from another thread or a
 * signal-driven thread): creates the lease table when missing, syncs shards into leases, renews,
 * takes and steals leases, and runs a thread per held shard. Returns 0 after a graceful shutdown,
 * or SLUICE_ESERVICE / SLUICE_EIO when the lease table cannot be created or read at start. */
int sl_consumer_run(sl_consumer_t *c);
/* Asks the worker to stop (async-signal-safe): every processor gets shutdown_requested, then the
 * worker gives its leases up (so other workers take them at once) and sl_consumer_run returns. */
void sl_consumer_shutdown(sl_consumer_t *c);
/* The worker's identifier (the leaseOwner it writes). */
const char *sl_consumer_worker_id(const sl_consumer_t *c);
/* The last error the worker logged ("" when none). */
const char *sl_consumer_error(const sl_consumer_t *c);
void sl_consumer_destroy(sl_consumer_t *c);

#ifdef __cplusplus
}
#endif

#endif
