/* Every bound in Sluice, in one place, with the AWS limit or the reason beside it (STYLE.md:
 * "every queue, buffer and loop has a bound"). Configurable limits have their defaults here and
 * their configuration entry in src/server/config.c. */
#ifndef SL_CORE_LIMITS_H
#define SL_CORE_LIMITS_H

#include <assert.h>

/* ---- HTTP / network ---- */
/* 10 MiB record base64 ~13.4 MiB; 413 beyond */
#define SL_HTTP_BODY_MAX_BYTES_DEFAULT (16u * 1024 * 1024)
#define SL_HTTP_HEADER_BYTES_MAX (64u * 1024) /* request line + headers, HTTP/1.1 */
#define SL_HTTP_HEADERS_MAX 100               /* header fields per request */
/* keep-alive idle connections closed after; also a
 * connection whose output has not moved for this long */
#define SL_HTTP_IDLE_TIMEOUT_MS 120000
#define SL_HTTP2_STREAMS_MAX 1000 /* SETTINGS_MAX_CONCURRENT_STREAMS */
/* unsent bytes per streamed response: the handler
 * ignored backpressure, the stream is closed */
#define SL_HTTP_OUTPUT_BACKLOG_MAX (64u * 1024 * 1024)
/* Connections: a bound, so that descriptors stay for the shard files (storage takes 60% of the
 * descriptor limit) and a flood of clients is refused with a log line instead of failing accept().
 */
/* max_connections 0: this share of RLIMIT_NOFILE */
#define SL_HTTP_CONNECTIONS_FDS_PCT 30
#define SL_HTTP_CONNECTIONS_MIN 64            /* ... but at least this many */
#define SL_HTTP_CONNECTIONS_MAX_LIMIT 1000000 /* largest accepted max_connections */
/* above this share of max_connections ... */
#define SL_HTTP_PRESSURE_PCT 90
/* ... idle connections are closed after 2 s, not 120 s */
#define SL_HTTP_PRESSURE_IDLE_MS 2000
/* Deadlines against slow clients (slowloris): a request head must arrive in header_timeout_ms
 * from its first byte, its body in body_timeout_ms after the head (16 MiB in 60 s is 280 KB/s), a
 * TLS handshake in tls_handshake_timeout_ms. */
#define SL_HTTP_HEADER_TIMEOUT_MS_DEFAULT 20000 /* Apache mod_reqtimeout: 20 s */
#define SL_HTTP_BODY_TIMEOUT_MS_DEFAULT 60000   /* nginx client_body_timeout: 60 s */
#define SL_HTTP_TLS_HANDSHAKE_TIMEOUT_MS_DEFAULT 10000
/* Unsent response bytes: a response is produced only when it can be sent soon. A connection whose
 * unsent output (queued bytes, HTTP/2 bodies waiting for flow-control window) is above
 * SL_HTTP_CONN_OUTPUT_MAX gets no new request dispatched (HTTP/1.1: the next pipelined request is
 * not parsed; HTTP/2: complete streams wait), and none anywhere while the process-wide total is
 * above response_buffer_max_bytes. One 10 MiB GetRecords answer (13.4 MB of JSON) may pass a bound
 * once, so a connection holds at most about one such answer plus this much. */
#define SL_HTTP_CONN_OUTPUT_MAX (1u * 1024 * 1024)
/* HTTP/2: requests dispatched and not yet answered per connection. Handlers may answer later
 * (GetRecords reads 10 MB first), so a burst of streams is let through a few at a time: as many as
 * SL_HTTP_CONN_OUTPUT_MAX / (the connection's recent largest answer), 1 to this. */
#define SL_HTTP2_DISPATCH_MAX 64
/* ~19 concurrent 10 MiB GetRecords */
#define SL_HTTP_RESPONSE_BUFFER_BYTES_DEFAULT (256u * 1024 * 1024)
/* Buffered request bodies, process-wide (request_buffer_max_bytes). Over it, HTTP/1.1 bodies stop
 * being read (TCP backpressure) and HTTP/2 bodies get 503; bodies up to SL_HTTP_BODY_SMALL_BYTES
 * (a PutRecords of 500 small records) may use an extra eighth, so that large bodies held open by
 * slow clients do not stall ordinary requests. */
#define SL_HTTP_REQUEST_BUFFER_BYTES_DEFAULT (256u * 1024 * 1024)
#define SL_HTTP_BODY_SMALL_BYTES (256u * 1024)

/* ---- outbound HTTP client (net/client.h) ---- */
#define SL_HTTP_CLIENT_CONNECT_TIMEOUT_MS_DEFAULT 10000 /* TCP connect + TLS handshake */
/* whole call, when the request sets none */
#define SL_HTTP_CLIENT_TIMEOUT_MS_DEFAULT 60000
/* pooled idle connections closed after; below the server's 120 s */
#define SL_HTTP_CLIENT_IDLE_TIMEOUT_MS_DEFAULT 60000
/* scheme+host+port+protocol pools per client */
#define SL_HTTP_CLIENT_ORIGINS_MAX 256
#define SL_HTTP_CLIENT_CONNS_PER_ORIGIN_DEFAULT 16 /* pool size per origin */
/* `sluice bench --connections` upper bound */
#define SL_HTTP_CLIENT_CONNS_PER_ORIGIN_MAX 100000
/* calls waiting for a connection per origin */
#define SL_HTTP_CLIENT_QUEUED_MAX 100000
/* GetRecords: 10 MiB base64 ~13.4 MiB */
#define SL_HTTP_CLIENT_RESPONSE_BODY_MAX_BYTES_DEFAULT (32u * 1024 * 1024)
/* concurrent streams per HTTP/2 connection (also capped by the server) */
#define SL_HTTP_CLIENT_H2_STREAMS_DEFAULT 100
/* finished calls kept for reuse per client */
#define SL_HTTP_CLIENT_CALLS_POOLED_MAX 256
/* body buffer kept with a pooled call */
#define SL_HTTP_CLIENT_POOLED_BUFFER_BYTES_MAX (16u * 1024 * 1024)
/* ---- libsluice (src/client/) and the KPL aggregate codec (wire/kpl.h) ---- */
/* table entries or records in one aggregate: a 10 MiB record holds at most ~3.5M 3-byte records */
#define SL_KPL_ENTRIES_MAX (4u * 1024 * 1024)
/* KPL defaults (KinesisProducerConfiguration) */
#define SL_PRODUCER_AGGREGATION_MAX_SIZE_DEFAULT 51200
#define SL_PRODUCER_COLLECTION_MAX_COUNT_DEFAULT 500 /* PutRecords: 500 records per request */
#define SL_PRODUCER_COLLECTION_MAX_SIZE_DEFAULT (5u * 1024 * 1024) /* PutRecords: 5 MiB */
#define SL_PRODUCER_RECORD_MAX_BUFFERED_TIME_MS_DEFAULT 100
#define SL_PRODUCER_RECORD_TTL_MS_DEFAULT 30000
#define SL_PRODUCER_RATE_LIMIT_PERCENT_DEFAULT 150
/* shard write limits the per-shard limiter is a percentage of (AWS: 1000 records/s, 1 MiB/s) */
#define SL_PRODUCER_SHARD_RECORDS_PER_S 1000
#define SL_PRODUCER_SHARD_BYTES_PER_S (1024u * 1024)
/* records accepted and not yet completed; put answers SL_EAGAIN above (memory bound) */
#define SL_PRODUCER_OUTSTANDING_MAX_DEFAULT 1000000
/* PutRecords requests in flight at once per producer */
#define SL_PRODUCER_REQUESTS_IN_FLIGHT_MAX 64
/* retry backoff: base doubles per attempt up to the cap, with full jitter */
#define SL_PRODUCER_BACKOFF_BASE_MS 25
#define SL_PRODUCER_BACKOFF_MAX_MS 2000
/* a record over this (data + partition key) is refused by put (AWS's per-record limit) */
#define SL_PRODUCER_USER_RECORD_BYTES_MAX (1024u * 1024)
/* bytes of one credentials or config file that are read */
#define SL_CLIENT_PROFILE_FILE_BYTES_MAX (1024u * 1024)
/* shortest period of the idle-connection sweep */
#define SL_HTTP_CLIENT_SWEEP_MIN_MS 250
/* longest period of the idle-connection sweep */
#define SL_HTTP_CLIENT_SWEEP_MAX_MS 5000
/* bytes per read() into a client connection's input */
#define SL_HC_READ_BYTES (256u * 1024)
/* HTTP/1.1: per-connection input buffer (bodies are read into the call's buffer); 1,000 connections
 * hold 64 MB */
#define SL_HC_H1_READ_BYTES (64u * 1024)
/* reads per readiness event before yielding to others */
#define SL_HC_READS_PER_EVENT 8
/* HTTP/2: no new frames while this much output waits */
#define SL_HC_H2_OUTPUT_HIGH (1u * 1024 * 1024)
/* HTTP/2 windows granted to servers: a 10 MiB answer needs no WINDOW_UPDATE round trip */
#define SL_HC_H2_WINDOW (1u << 30)
/* chunk-size line (size + extensions) of a chunked response */
#define SL_HTTP_CHUNK_LINE_BYTES_MAX 4096
/* hex digits of a chunk size: below 2^60, far above any body bound */
#define SL_HTTP_CHUNK_SIZE_DIGITS_MAX 15

/* ---- object store (S3) ---- */
#define SL_OBJSTORE_KEY_BYTES_MAX 1024   /* S3: object key names are at most 1024 bytes */
#define SL_OBJSTORE_META_BYTES_MAX 2048  /* S3: user metadata (x-amz-meta-*) at most 2 KB */
#define SL_OBJSTORE_HEADERS_MAX 64       /* stored headers of one object (metadata + system) */
#define SL_OBJSTORE_BUCKETS_MAX 1000     /* S3: buckets per account (the raised quota) */
#define SL_OBJSTORE_LIST_KEYS_MAX 1000   /* S3: max-keys, max-parts, max-uploads cap */
#define SL_OBJSTORE_DELETE_KEYS_MAX 1000 /* S3: keys in one DeleteObjects request */
#define SL_OBJSTORE_PARTS_MAX 10000      /* S3: parts of a multipart upload, numbered 1..10000 */
#define SL_OBJSTORE_PART_BYTES_MIN (5u << 20) /* S3: every part but the last is at least 5 MiB */
/* jobs waiting for the object store's worker threads; beyond, SlowDown (503) */
#define SL_OBJSTORE_QUEUE_MAX 1024
#define SL_OBJSTORE_WORKERS 4 /* threads doing the object store's file I/O (and fsync) */
/* an object read whole into memory (sl_objstore_get: analytics reference data) */
#define SL_OBJSTORE_GET_BYTES_MAX (1024u << 20)
/* S3 GetObject: answers up to this size are read at once; larger ones are streamed from the file
 * in pieces of SL_S3_GET_PIECE_BYTES, one piece read ahead while the client takes the last */
#define SL_S3_GET_WHOLE_BYTES_MAX (1u << 20)
#define SL_S3_GET_PIECE_BYTES (256u << 10)
/* S3: one PutObject or UploadPart carries at most 5 GiB (EntityTooLarge beyond); streamed, so no
 * memory bound follows from it. */
#define SL_OBJSTORE_OBJECT_BYTES_MAX (5ull << 30)
/* bytes of an object file's header (key, etag, stored headers) read when an index is rebuilt */
#define SL_OBJSTORE_HEADER_BYTES_MAX (16u << 10)
#define SL_OBJSTORE_COPY_CHUNK_BYTES (1u << 20) /* copies (CopyObject, Complete) move this much */

/* ---- wire ---- */
#define SL_WIRE_DEPTH_MAX 64                          /* nesting depth of JSON/CBOR documents */
#define SL_EVENTSTREAM_HEADERS_MAX (128 * 1024)       /* botocore decoder limit */
#define SL_EVENTSTREAM_PAYLOAD_MAX (24 * 1024 * 1024) /* botocore decoder limit */
/* values per decoded JSON/CBOR document: ~50 bytes of arena each, caps hostile bodies at ~50 MB */
#define SL_WIRE_VALUES_MAX 1000000
/* values per arena block of the JSON parser: blocks double from 8 up to this */
#define SL_JSON_VALUE_BLOCK_MAX 256
/* elements plus attributes of one parsed XML body: S3's largest, CompleteMultipartUpload with
 * 10,000 parts, has ~30,000; ~100 bytes of arena each */
#define SL_XML_NODES_MAX 100000
/* attributes of one XML element (checked for duplicates pairwise, so kept small) */
#define SL_XML_ATTRS_MAX 32
/* headers signed by sl_sigv4_sign (SDKs sign 3 to 8) */
#define SL_SIGV4_HEADERS_MAX 32
/* canonical request built by sl_sigv4_sign; SL_ELIMIT beyond */
#define SL_SIGV4_CANON_BYTES_MAX 8192

/* ---- Kinesis data plane (AWS limits) ---- */
#define SL_KINESIS_RECORD_DATA_MAX (10u * 1024 * 1024) /* model: Data blob max 10 MiB */
#define SL_KINESIS_MAX_RECORD_SIZE_KIB_DEFAULT 1024    /* per stream, 1 MiB */
#define SL_KINESIS_MAX_RECORD_SIZE_KIB_MIN 1024
#define SL_KINESIS_MAX_RECORD_SIZE_KIB_MAX 10240
/* The line log (core/linelog.h: the audit log): queued bytes before lines are dropped, and the
 * file's path. */
#define SL_LINELOG_QUEUE_BYTES_MAX (16u * 1024 * 1024)
#define SL_LINELOG_PATH_BYTES_MAX 4096
/* KMS keys one stream can have been encrypted under (one data key each; kinesis/crypt.c): ours */
#define SL_KINESIS_DATA_KEYS_MAX 64
#define SL_KINESIS_PUT_RECORDS_MAX 500                       /* entries per PutRecords */
#define SL_KINESIS_PUT_RECORDS_BYTES_MAX (10u * 1024 * 1024) /* whole PutRecords request */
#define SL_KINESIS_PARTITION_KEY_CHARS_MAX 256
/* x-sluice-idempotency-key (kinesis/idem.c): its length, how long a key's result is remembered,
 * and how many keys an engine remembers at most (the oldest are forgotten first) */
#define SL_KINESIS_IDEMPOTENCY_KEY_BYTES_MAX 128
#define SL_KINESIS_IDEMPOTENCY_WINDOW_MS (10 * 60 * 1000)
#define SL_KINESIS_IDEMPOTENCY_KEYS_MAX 1000000
/* model: StreamName, ConsumerName 1-128 */
#define SL_NAME_CHARS_MAX 128
/* model: StreamARN, ConsumerARN 1-2048 */
#define SL_ARN_CHARS_MAX 2048
/* region part of an ARN we accept */
#define SL_REGION_CHARS_MAX 64
/* kinesalite: shard indexes are below 2^31 */
#define SL_SHARD_INDEX_MAX 2147483647u
/* model: ShardIterator 1-512 chars */
#define SL_TOKEN_ITERATOR_CHARS_MAX 512
/* plaintext of a generic token: sealed, it stays <= 512 chars */
#define SL_TOKEN_PLAIN_MAX 340
#define SL_KINESIS_GET_RECORDS_MAX 10000                     /* records per GetRecords */
#define SL_KINESIS_GET_RECORDS_BYTES_MAX (10u * 1024 * 1024) /* bytes per GetRecords */
#define SL_KINESIS_ITERATOR_TTL_MS 300000                    /* 5 minutes */
/* ListShards/ListStreamConsumers */
#define SL_KINESIS_NEXT_TOKEN_TTL_MS 300000
#define SL_KINESIS_RETENTION_HOURS_MIN 24
#define SL_KINESIS_RETENTION_HOURS_MAX 8760
#define SL_KINESIS_RETENTION_HOURS_DEFAULT 24
/* account shard limit (us-east-1 default) */
#define SL_KINESIS_SHARD_LIMIT_DEFAULT 500
#define SL_KINESIS_ON_DEMAND_STREAM_LIMIT_DEFAULT 50
/* initial shards of an ON_DEMAND stream */
#define SL_KINESIS_ON_DEMAND_SHARDS 4
#define SL_KINESIS_CREATING_STREAMS_MAX 5 /* streams in CREATING at once */
/* ON_DEMAND streams' own write limit (with --throughput-limits): AWS's 4 MiB/s to start, twice the
 * observed peak, at most 200 MiB/s (and 1,000 records/s per MiB/s). */
#define SL_KINESIS_ON_DEMAND_MIBPS_MIN 4
#define SL_KINESIS_ON_DEMAND_MIBPS_MAX 200
/* Routing (kinesis/engine.c): streams with at least this many open shards route through a table
 * of 2^bits buckets (about two per shard, at most 2^16: 256 KiB for a stream's 10,000+ shards)
 * instead of a binary search over every shard's end. */
#define SL_KINESIS_ROUTE_TABLE_MIN_SHARDS 64
#define SL_KINESIS_ROUTE_TABLE_BITS_MAX 16
/* Control-plane quotas (--quotas aws): AWS's defaults. */
#define SL_KINESIS_SCALE_PER_DAY_MAX 10       /* UpdateShardCount per stream, rolling 24 h */
#define SL_KINESIS_KEY_CHANGES_PER_DAY_MAX 25 /* Start/StopStreamEncryption each, rolling 24 h */
#define SL_KINESIS_RESHARD_CALLS_PER_S 5      /* SplitShard + MergeShards per account */
/* Fault injection (--fault, docs/capacity.md): rules at once, and the longest added latency (a
 * request held longer would meet the clients' own timeouts, which is a different test). */
#define SL_KINESIS_FAULT_RULES_MAX 16
#define SL_KINESIS_FAULT_SPEC_BYTES_MAX 2048
#define SL_KINESIS_FAULT_LATENCY_MS_MAX 60000
#define SL_KINESIS_TAGS_PER_STREAM_MAX 50
#define SL_KINESIS_CONSUMERS_PER_STREAM_MAX 20
#define SL_KINESIS_DESCRIBE_STREAM_SHARDS_MAX 100
#define SL_KINESIS_LIST_SHARDS_MAX 1000
#define SL_KINESIS_LIST_STREAMS_MAX 100
#define SL_KINESIS_LIST_CONSUMERS_MAX 100
#define SL_KINESIS_STATE_DELAY_MS_DEFAULT 500 /* CREATING->ACTIVE etc. */
/* a MinimumThroughputBillingCommitment lasts at least 24 h */
#define SL_KINESIS_COMMITMENT_MIN_MS (24LL * 3600 * 1000)
/* an error text: longest input quoted is a 2,048-char ARN */
#define SL_KINESIS_ERROR_MESSAGE_BYTES 4096
/* commit listeners (fan-out, Firehose, ESM, metrics...) */
#define SL_KINESIS_LISTENERS_MAX 16
/* reader pool: reads and seeks off the network threads; one pool for every account */
#define SL_KINESIS_READ_THREADS 2
#define SL_KINESIS_READ_THREADS_MAX 64
/* queued reads; beyond, ProvisionedThroughputExceeded */
#define SL_KINESIS_READ_QUEUE_MAX 4096
/* removal of a deleted stream waits for reads in flight */
#define SL_KINESIS_DELETE_RETRY_MS 5
/* one SubscribeToShard per consumer and shard per 5 s */
#define SL_KINESIS_RESUBSCRIBE_MS 5000
/* AWS: a SubscribeToShard stream lives 5 minutes */
#define SL_KINESIS_SUBSCRIPTION_MS 300000
/* empty event when idle (client read timeouts, checkpoints) */
#define SL_KINESIS_SUBSCRIBE_IDLE_EVENT_MS 5000
/* per event; AWS pushes up to 2 MiB/s per shard */
#define SL_KINESIS_SUBSCRIBE_EVENT_BYTES_MAX (2u * 1024 * 1024)
#define SL_KINESIS_SUBSCRIBE_EVENT_RECORDS_MAX 10000 /* per event, as GetRecords */
/* unsent event bytes before a subscription pauses */
#define SL_KINESIS_SUBSCRIBE_BACKLOG_HIGH_BYTES (1u * 1024 * 1024)

/* ---- catalog ---- */
/* wait for another process holding the write lock (e.g. a backup tool) */
#define SL_CATALOG_BUSY_TIMEOUT_MS 5000

/* ---- storage ---- */
/* roll the active segment beyond this */
#define SL_STORAGE_SEGMENT_BYTES_DEFAULT (64u * 1024 * 1024)
/* sparse index: one entry per this many bytes */
#define SL_STORAGE_INDEX_INTERVAL_BYTES 4096
/* reads served from a shard's in-memory tail on the caller's thread (sl_storage_read_memory)
 * copy at most this much; larger ones go to the reader pool */
#define SL_STORAGE_MEMORY_READ_BYTES_MAX (256u * 1024)
/* unflushed bytes before appends get SL_EAGAIN */
#define SL_STORAGE_PENDING_BYTES_MAX (256u * 1024 * 1024)
#define SL_STORAGE_FLUSH_INTERVAL_MS_DEFAULT 200 /* durability=interval */
/* smallest commit journal (--journal-bytes) */
#define SL_JNL_CAPACITY_MIN (64u * 1024)
/* after a failed write or sync, appends fail fast this long (a full disk is not hammered) */
#define SL_STORAGE_FAILED_RETRY_MS 100
/* threads running one group commit's fdatasync calls in parallel */
#define SL_STORAGE_SYNC_THREADS 4
/* a round touching this many files syncs them with one syncfs(2) (bench/compare shard scaling) */
#define SL_STORAGE_SYNCFS_MIN_FILES 8
/* a shard log unused this long gives back descriptors and buffers */
#define SL_STORAGE_IDLE_CLOSE_MS 5000
/* open segment/index descriptors before unused shards' are closed... */
#define SL_STORAGE_OPEN_FDS_MAX 4096
/* ...or this share of RLIMIT_NOFILE when larger; the rest is for sockets */
#define SL_STORAGE_OPEN_FDS_SHARE_PCT 60
/* under descriptor pressure, shards unused this long are closed */
#define SL_STORAGE_FD_PRESSURE_IDLE_MS 100
/* shards per commit sub-round: descriptors a round holds open at once */
#define SL_STORAGE_ROUND_SHARDS_MAX 1024
/* commit journal ring (--journal-bytes). The ring holds what the shards' tails have not written to
 * their segments yet, so its size sets how large a tail grows before the checkpoints' need for
 * space writes it out: at 4,096 shards a 128 MiB ring wrote 5-7 KiB tails, checkpoints ran
 * several times a second and the disk took ~620 bytes per 150-byte record in scattered writes
 * (docs/storage-format.md, "Commit journal") */
#define SL_STORAGE_JOURNAL_BYTES_DEFAULT (512u * 1024 * 1024)
#define SL_STORAGE_JOURNAL_BYTES_MAX (1024u * 1024 * 1024) /* largest commit journal ring */
/* a shard's share of a round from this size goes to its segment, not the journal */
#define SL_STORAGE_JOURNAL_DIRECT_BYTES (64u * 1024)
/* journaled frames gathered per shard before a segment write */
#define SL_STORAGE_TAIL_FLUSH_BYTES (32u * 1024)
/* A commit round of at least this many shards may leave its syncs in flight while the next round
 * is written (pipelined rounds, file_commit.c); smaller rounds sync on the commit thread. */
#define SL_STORAGE_PIPELINE_MIN_SHARDS 64
/* checkpoint period (also when half of the ring is in use) */
#define SL_STORAGE_CHECKPOINT_MS 2000
/* a checkpoint fdatasyncs at most this many segment files one by one; more, and it runs one
 * syncfs(2), which also flushes every other file of the file system */
#define SL_STORAGE_CHECKPOINT_SYNC_FILES_MAX 64
/* write-back starts of full tails queued for the checkpoint thread (more are skipped) */
#define SL_STORAGE_WRITEBACK_QUEUE 64
/* journal file grows by this much during its first lap (the checkpoint thread keeps this much
 * written ahead of the write position, in pieces it writes back one at a time) */
#define SL_STORAGE_JOURNAL_GROW_BYTES (4u * 1024 * 1024)
#define SL_STORAGE_JOURNAL_GROW_PIECE_BYTES (64u * 1024)
/* old tails (a quarter ring back) written per pass */
#define SL_STORAGE_TAIL_AGE_FLUSH_MAX 256
/* stream or shard key, used as a directory name */
#define SL_STORAGE_KEY_BYTES_MAX 200

/* ---- the AWS front and its model-driven validator (front) ---- */
/* routes of each kind (paths, target prefixes, signing names) */
#define SL_FRONT_ROUTES_MAX 64
/* REST answers: headers bound to output members (Lambda's Invoke sets 3) */
#define SL_FRONT_OUT_HEADERS_MAX 8
/* AWS lists at most 10 validation errors in one message */
#define SL_API_VALIDATION_ERRORS_MAX 10
/* distinct model patterns over all service models (Kinesis: 7, Lambda: 58) */
#define SL_API_PATTERNS_MAX 128
/* members whose name lengths a list of structures measures once */
#define SL_API_MEMBER_NAMES_CACHED_MAX 32

/* parameters of one Query-protocol request: CloudWatch's PutMetricData takes 1,000 data of a
 * name, a value, a unit and up to 30 dimensions (2 parameters each) */
#define SL_FORM_PARAMS_MAX 65536
/* nesting of a Query parameter name (Struct.List.member.1.Map.entry.2.value...): deeper than
 * any AWS Query model */
#define SL_QUERY_DEPTH_MAX 32

/* ---- authentication (front, iam) ---- */
/* AWS: access key ids are 16 to 128 characters */
#define SL_AUTH_ACCESS_KEY_BYTES_MAX 129
/* AWS secret access keys are 40 characters; room for longer ones chosen by hand */
#define SL_AUTH_SECRET_BYTES_MAX 129
/* session tokens (STS's are ~1 KB; room for the longest seen) */
#define SL_AUTH_SESSION_TOKEN_BYTES_MAX 4096
/* AssumeRole's inline session policy (Policy), with its NUL: AWS's 2,048 characters of plaintext */
#define SL_AUTH_SESSION_POLICY_BYTES_MAX 2049
/* principal ARN: arn:aws:iam::<12>:user/<path><name 64> */
#define SL_AUTH_ARN_BYTES_MAX 2048
/* user name (IAM: 64) or credentials-file section */
#define SL_AUTH_NAME_BYTES_MAX 129
/* principals of one credentials file */
#define SL_AUTH_FILE_PRINCIPALS_MAX 4096
/* credentials file size: a few hundred bytes per principal */
#define SL_AUTH_FILE_BYTES_MAX (4u * 1024 * 1024)
/* how often a lookup checks whether the credentials file changed */
#define SL_AUTH_FILE_CHECK_MS 1000
/* signing keys cached per network thread (one per key, day, region and service in use) */
#define SL_AUTH_KEY_CACHE_ENTRIES 64
/* AWS: a signed request is accepted within 5 minutes of the server's clock */
#define SL_AUTH_SKEW_MS (5 * 60 * 1000)
/* AWS: X-Amz-Expires of a presigned request is at most 7 days */
#define SL_AUTH_PRESIGN_EXPIRES_MAX_S (7 * 24 * 3600)

/* ---- memory (core) ---- */
/* arena chunk when sl_arena_init gets 0; larger requests get their own */
#define SL_ARENA_CHUNK_BYTES_DEFAULT 8192
/* An arena holding this much takes chunks as large as all it holds so far (it doubles), up to
 * SL_ARENA_CHUNK_BYTES_MAX: a PutRecords of 500 records fills about 250 KB of its request's arena,
 * which in fixed 4 KiB chunks cost about 60 malloc/free pairs (3-4% of its CPU). Below it the
 * chunks stay at their initial size, so small requests keep arenas small enough to be pooled. */
#define SL_ARENA_GROW_AFTER_BYTES 16384
#define SL_ARENA_CHUNK_BYTES_MAX (1024 * 1024)

/* ---- metrics registry (core/metrics.h) ---- */
/* cells per chunk a thread allocates on first touch (4 KiB); a histogram's buckets + 2 fit in one
 */
#define SL_METRICS_CHUNK_CELLS 512
/* cells in all (each thread's block holds 2048 chunk pointers, 16 KiB); a counter series takes 2,
 * a histogram 3 + its bounds: about 100,000 series. Beyond, new series count nothing. */
#define SL_METRICS_CELLS_MAX (1u << 20)

/* ---- CloudWatch metric store (cloudwatch/) ---- */
/* metrics (namespace, name, dimensions) of all accounts; PutMetricData beyond gets
 * LimitExceeded. At 1,440 points a day each, a metric is ~35 KB a day in memory. */
#define SL_CW_METRICS_MAX 100000

/* ---- event loop and output queues (net) ---- */
/* streamed response: above this backlog a writer waits for on_writable */
#define SL_HTTP_STREAM_HIGH_WATER (1u * 1024 * 1024)
#define SL_NET_STREAM_LOW_WATER (256u * 1024) /* ... which fires once the backlog is below this */
/* HTTP/2: no new frames (nor reads) while this much output waits */
#define SL_NET_H2_OUTPUT_HIGH (512u * 1024)
/* HTTP/2 window granted to a client per request body */
#define SL_NET_H2_STREAM_WINDOW (1u * 1024 * 1024)
/* HTTP/2 window granted to a client per connection */
#define SL_NET_H2_CONN_WINDOW (16u * 1024 * 1024)
/* unparsed HTTP/1.1 input held while a request runs */
#define SL_NET_H1_PIPELINE_BYTES_MAX (256u * 1024)
/* streamed request bodies: bytes received ahead of the handler before HTTP/1.1 stops taking
 * input (HTTP/2 is bounded by the stream window) */
#define SL_NET_BODY_PIECE_BYTES (256u * 1024)
/* reads per readiness event before yielding to other connections */
#define SL_NET_READS_PER_EVENT 8
/* after Connection: close, input drained this long (no RST over the answer) */
#define SL_NET_LINGER_MS 2000
/* connections waiting for a budget are looked at again this often */
#define SL_NET_BUDGET_RETRY_MS 10
/* at the connection bound, an idle connection this quiet makes room */
#define SL_NET_REAP_QUIET_MS 100
/* idle connections looked at, least recently active first */
#define SL_NET_REAP_SCAN_MAX 64
/* connection-limit / out-of-descriptors warnings: one per this per thread */
#define SL_NET_LIMIT_LOG_MS 10000
/* released request structures kept per worker for reuse */
#define SL_NET_REQ_POOL_MAX 256
/* one read(2) per connection into the thread's shared buffer */
#define SL_NET_READ_BUF_BYTES (64u * 1024)
/* accepts per readiness event before serving the connections */
#define SL_NET_ACCEPTS_PER_EVENT 64
/* listen(2) backlog: bursts of new clients wait in the kernel */
#define SL_NET_LISTEN_BACKLOG 1024
/* deadlines and idle connections are looked at this often */
#define SL_NET_SWEEP_INTERVAL_MS 1000
/* idle connections release their cached output buffers after this */
#define SL_NET_TRIM_AFTER_MS 1000
/* accept(2) failing (EMFILE...) is retried after this */
#define SL_NET_ACCEPT_RETRY_MS 100
/* HTTP/1.1 body remainders below this go through the shared buffer */
#define SL_NET_H1_DIRECT_READ_MIN (16u * 1024)
/* ... and at most this much is read straight into a body per read */
#define SL_NET_H1_DIRECT_READ_MAX (256u * 1024)
/* first body allocation for a large Content-Length; grows as bytes arrive */
#define SL_HTTP_BODY_INITIAL_BYTES (256u * 1024)
/* epoll events taken per wait; more wait for the next turn */
#define SL_LOOP_EVENTS_MAX 256
/* longest single wait for a far timer (fits epoll's int timeout) */
#define SL_LOOP_WAIT_MS_MAX 60000
/* smallest copy buffer of an output queue (one is kept for reuse) */
#define SL_OUTQ_COPY_SEGMENT_BYTES (16u * 1024)
/* owned blocks up to this are copied: cheaper than an iovec and free() */
#define SL_OUTQ_OWN_COPY_BYTES_MAX 1024u

/* ---- sluice bench (cli) ---- */
/* distinct error texts counted; the rest are "other" */
#define SL_BENCH_ERROR_KINDS_MAX 32
#define SL_BENCH_THREADS_MAX 256 /* --threads: client event-loop threads */
/* --fill batches: AWS's classic 5 MiB PutRecords limit */
#define SL_BENCH_FILL_REQUEST_BYTES (5u << 20)

/* ---- server process ---- */
/* data_dir, tls_cert, tls_key, config, with the NUL; longer values are refused */
#define SL_CONFIG_PATH_BYTES_MAX 1024
#define SL_CONFIG_LINE_BYTES_MAX 4096         /* one line of the configuration file */
#define SL_CONFIG_CORS_ORIGINS_BYTES_MAX 2048 /* the --cors-origins list, with the NUL */
/* data_dir/<one directory name>: accounts, tls */
#define SL_DATA_SUBDIR_BYTES_MAX (SL_CONFIG_PATH_BYTES_MAX + 64)
/* a path under data_dir: data_dir/accounts/<id>/catalog.db */
#define SL_DATA_PATH_BYTES_MAX (SL_CONFIG_PATH_BYTES_MAX + 176)
/* malloc: heap, not mmap, below this */
#define SL_SERVER_MMAP_THRESHOLD_BYTES (32 * 1024 * 1024)
/* malloc: free heap kept before trimming */
#define SL_SERVER_TRIM_THRESHOLD_BYTES (256 * 1024 * 1024)
/* Most accounts one server can hold (the default one included; docs/security.md, "Accounts");
 * --accounts-max (default 64) chooses the bound below it. Each account costs a SQLite catalog
 * connection (3 descriptors, up to 2 MB of page cache) and a background thread; the storage
 * backend (commit thread, journal) is shared. A new access key beyond the bound gets
 * UnrecognizedClientException. */
#define SL_SERVER_ACCOUNTS_MAX 1024

/* ---- functions (Lambda; AWS's quotas where they exist) ---- */
/* function name (64) + NUL */
#define SL_FN_NAME_BYTES_MAX 65
/* function and role ARNs we store (AWS allows longer role ARNs: refused as invalid here) */
#define SL_FN_ARN_BYTES_MAX 256
/* Handler: 128 + NUL */
#define SL_FN_HANDLER_BYTES_MAX 129
/* Description: 256 + NUL */
#define SL_FN_DESCRIPTION_BYTES_MAX 257
/* Environment variables: 4 KB in all (AWS) */
#define SL_FN_ENV_BYTES_MAX 4096
/* functions per account */
#define SL_FN_FUNCTIONS_MAX 1000
/* execution environments (processes) alive at once, all accounts */
#define SL_FN_ENVS_MAX 64
/* synchronous payload and response: 6 MB (AWS) */
#define SL_FN_PAYLOAD_BYTES_MAX (6u * 1024 * 1024)
/* Event invocation payload: 1 MB (AWS, since 2025; was 256 KB) */
#define SL_FN_EVENT_PAYLOAD_BYTES_MAX (1024u * 1024)
/* queued Event invocations per function */
#define SL_FN_EVENT_QUEUE_MAX 10000
/* X-Amz-Log-Result: the last 4 KB of the log (AWS) */
#define SL_FN_LOG_TAIL_BYTES 4096
/* output of one environment kept between two invocations' ends (more is cut, with a note) */
#define SL_FN_ENV_LOG_BYTES_MAX (1024u * 1024)
/* a function's log file is rotated (one old file kept) past this size */
#define SL_FN_LOG_FILE_BYTES_MAX (4u * 1024 * 1024)
/* unzipped deployment package: 250 MB (AWS) */
#define SL_FN_UNZIPPED_BYTES_MAX (250u * 1024 * 1024)
/* files in a deployment package */
#define SL_FN_ZIP_ENTRIES_MAX 20000
/* an environment idle this long is stopped */
#define SL_FN_IDLE_MS 300000
/* A warm environment is replaced when its role credentials expire within this (seconds). */
#define SL_FN_CREDS_RENEW_S 600
/* init phase (start to the first /next) allowed on top of the function's timeout: 10 s (AWS) */
#define SL_FN_INIT_TIMEOUT_MS 10000
/* RLIMIT_DATA of a function's process: MemorySize plus this (thread stacks and the runtime's own
 * mappings count against it too; node's heap is held to 90% of MemorySize) */
#define SL_FN_MEMORY_SLACK_MB 256
/* Event invocations: attempts in all (the first and two retries, AWS) */
#define SL_FN_EVENT_ATTEMPTS 3

/* ---- event-source mappings (Lambda's Kinesis pollers; AWS's quotas where they exist) ---- */
/* EventSourceArn (a stream or consumer ARN) + NUL */
#define SL_ESM_ARN_BYTES_MAX 512
/* DestinationConfig.OnFailure.Destination: 350 (AWS) + NUL */
#define SL_ESM_DESTINATION_BYTES_MAX 351
/* FilterCriteria.Filters: 5 by default on AWS, a quota raisable to 10 */
#define SL_ESM_FILTERS_MAX 10
/* one filter Pattern: 4096 characters (AWS) */
#define SL_ESM_PATTERN_BYTES_MAX 4096
/* mappings per account */
#define SL_ESM_MAPPINGS_MAX 1000
/* records a shard's poller holds read but not yet processed (all its batchers): twice the largest
 * batch, so one batch can be invoked while the next fills */
#define SL_ESM_BUFFER_RECORDS_MAX 20000
/* bytes of record data a shard's poller holds (the invocation payload cap is 6 MB) */
#define SL_ESM_BUFFER_BYTES_MAX (16u * 1024 * 1024)
/* a batch's invocation payload: 6 MB (AWS: the batch is cut short to fit) */
#define SL_ESM_PAYLOAD_BYTES_MAX (6u * 1024 * 1024)
/* records one read asks for (GetRecords' limit) */
#define SL_ESM_READ_RECORDS_MAX 10000
/* first retry of a failed batch after this, doubling up to SL_ESM_RETRY_MAX_MS */
#define SL_ESM_RETRY_BASE_MS 100
#define SL_ESM_RETRY_MAX_MS 10000
/* a caught-up poller looks again after this without a commit (shard discovery, missed wakes) */
#define SL_ESM_IDLE_POLL_MS 1000
/* tumbling windows: the state a function may carry (AWS: 1 MB; more ends the window early) */
#define SL_ESM_WINDOW_STATE_BYTES_MAX (1024u * 1024)
/* a window is complete this long after its end once no record of it is left (commit latency) */
#define SL_ESM_WINDOW_GRACE_MS 200
/* a poller throttled by a shard's GetRecords limit (5 reads/s) reads again after this */
#define SL_ESM_THROTTLED_RETRY_MS 200
/* checkpoints of a mapping are written at most this often (all dirty shards in one transaction) */
#define SL_ESM_CHECKPOINT_INTERVAL_MS 50

/* ---- relations between bounds (checked at compile time) ---- */
static_assert(SL_METRICS_CELLS_MAX % SL_METRICS_CHUNK_CELLS == 0, "whole chunks of metric cells");
#define SL_BASE64_CHARS(bytes) ((((bytes) + 2) / 3) * 4)
static_assert(SL_XML_NODES_MAX >= 3 * SL_OBJSTORE_PARTS_MAX + 16, "CompleteMultipartUpload fits");
static_assert(SL_KINESIS_MAX_RECORD_SIZE_KIB_MIN <= SL_KINESIS_MAX_RECORD_SIZE_KIB_DEFAULT &&
                  SL_KINESIS_MAX_RECORD_SIZE_KIB_DEFAULT <= SL_KINESIS_MAX_RECORD_SIZE_KIB_MAX,
              "max record size default outside its range");
static_assert(SL_KINESIS_MAX_RECORD_SIZE_KIB_MAX * 1024u == SL_KINESIS_RECORD_DATA_MAX,
              "the largest MaxRecordSizeInKiB is the model's Data limit");
static_assert(SL_KINESIS_RETENTION_HOURS_MIN <= SL_KINESIS_RETENTION_HOURS_DEFAULT &&
                  SL_KINESIS_RETENTION_HOURS_DEFAULT <= SL_KINESIS_RETENTION_HOURS_MAX,
              "retention default outside its range");
static_assert(SL_KINESIS_PUT_RECORDS_BYTES_MAX >= SL_KINESIS_RECORD_DATA_MAX,
              "a PutRecords request can carry the largest record");
static_assert(SL_KINESIS_GET_RECORDS_BYTES_MAX >= SL_KINESIS_RECORD_DATA_MAX,
              "a GetRecords answer can carry the largest record");
static_assert(SL_KINESIS_ON_DEMAND_SHARDS <= SL_KINESIS_SHARD_LIMIT_DEFAULT,
              "an ON_DEMAND stream fits the default shard limit");
/* A request body holds a full PutRecords: its data in base64, 500 entries' keys and JSON
 * punctuation (320 bytes each covers a 256-char partition key), and a stream ARN. */
static_assert(SL_HTTP_BODY_MAX_BYTES_DEFAULT >=
                  SL_BASE64_CHARS(SL_KINESIS_PUT_RECORDS_BYTES_MAX) +
                      SL_KINESIS_PUT_RECORDS_MAX * (SL_KINESIS_PARTITION_KEY_CHARS_MAX + 64u) +
                      SL_ARN_CHARS_MAX,
              "default body limit below a full PutRecords request");
/* A SubscribeToShard event can carry the largest record, in base64, within botocore's limit. */
static_assert(SL_EVENTSTREAM_PAYLOAD_MAX >= SL_BASE64_CHARS(SL_KINESIS_RECORD_DATA_MAX) + 64 * 1024,
              "event-stream payload limit below one largest record");
/* A full SubscribeToShard event (its byte budget in base64, with per-record overhead) fits it too.
 */
static_assert(SL_EVENTSTREAM_PAYLOAD_MAX >= SL_BASE64_CHARS(SL_KINESIS_SUBSCRIBE_EVENT_BYTES_MAX) +
                                                SL_KINESIS_SUBSCRIBE_EVENT_RECORDS_MAX * 256u,
              "event-stream payload limit below a full SubscribeToShard event");
static_assert(SL_KINESIS_READ_THREADS >= 1 &&
                  SL_KINESIS_READ_THREADS <= SL_KINESIS_READ_THREADS_MAX &&
                  SL_KINESIS_READ_QUEUE_MAX >= 1,
              "the reader pool needs a thread");
static_assert(SL_KINESIS_SUBSCRIBE_IDLE_EVENT_MS < SL_KINESIS_SUBSCRIPTION_MS,
              "idle events within a subscription");
/* A decoded PutRecords (about 4 values per entry) stays far below the per-document value bound. */
static_assert(SL_WIRE_VALUES_MAX >= 4 * SL_KINESIS_PUT_RECORDS_MAX + 64,
              "value bound below a PutRecords");
static_assert(SL_JSON_VALUE_BLOCK_MAX <= SL_WIRE_VALUES_MAX, "one block larger than a document");
/* The longest consumer ARN built from the longest names fits the model's ARN limit:
 * "arn:aws:kinesis:" region ":" account ":stream/" name "/consumer/" name ":" 20 digits. */
static_assert(SL_ARN_CHARS_MAX >= 16 + SL_REGION_CHARS_MAX + 1 + 12 + 8 + SL_NAME_CHARS_MAX + 10 +
                                      SL_NAME_CHARS_MAX + 1 + 20,
              "ARN limit below the longest ARN Sluice builds");
/* Appends get SL_EAGAIN beyond the pending bound, so an empty engine must accept one full
 * PutRecords with its frame headers (32 bytes per record). */
static_assert(SL_STORAGE_PENDING_BYTES_MAX >= 2 * SL_KINESIS_PUT_RECORDS_BYTES_MAX,
              "pending bound below one PutRecords");
static_assert(SL_JNL_CAPACITY_MIN <= SL_STORAGE_JOURNAL_BYTES_DEFAULT &&
                  SL_STORAGE_JOURNAL_BYTES_DEFAULT <= SL_STORAGE_JOURNAL_BYTES_MAX,
              "journal default outside its range");
static_assert(SL_STORAGE_JOURNAL_GROW_BYTES <= SL_STORAGE_JOURNAL_BYTES_DEFAULT,
              "journal grows past its size");
/* `sluice serve` raises its soft descriptor limit to the hard one, up to this */
#define SL_NOFILE_RAISE_MAX 1048576
/* Descriptors: storage's share and the connections' share of RLIMIT_NOFILE leave room for the rest.
 */
static_assert(SL_STORAGE_OPEN_FDS_SHARE_PCT + SL_HTTP_CONNECTIONS_FDS_PCT < 100,
              "descriptor shares overcommitted");
/* A stream key is the 12-digit account, ".", and the stream name. */
static_assert(SL_STORAGE_KEY_BYTES_MAX >= 12 + 1 + SL_NAME_CHARS_MAX,
              "storage key bound below an account's stream key");
static_assert(SL_OUTQ_OWN_COPY_BYTES_MAX <= SL_OUTQ_COPY_SEGMENT_BYTES,
              "a copied block fits one segment");
/* HTTP/2 windows are at most 2^31 - 1 (RFC 9113, 6.9.1); a stream's fits its connection's. */
static_assert(SL_HC_H2_WINDOW <= 0x7fffffffu, "HTTP/2 window above 2^31 - 1");
static_assert(SL_NET_H2_STREAM_WINDOW <= SL_NET_H2_CONN_WINDOW &&
                  SL_NET_H2_CONN_WINDOW <= 0x7fffffffu,
              "HTTP/2 windows granted to clients out of order or range");
static_assert(SL_NET_H1_DIRECT_READ_MIN <= SL_NET_H1_DIRECT_READ_MAX &&
                  SL_NET_H1_DIRECT_READ_MAX <= SL_NET_H1_PIPELINE_BYTES_MAX,
              "HTTP/1.1 direct body reads: bounds in order");
static_assert(SL_NET_READ_BUF_BYTES >= SL_NET_H1_DIRECT_READ_MIN,
              "the shared read buffer takes what is not read directly");
static_assert(SL_NET_STREAM_LOW_WATER < SL_HTTP_STREAM_HIGH_WATER,
              "streamed-response marks inverted");
/* Paths built under data_dir fit: "/accounts", then "/" + a 12-digit account + "/catalog.db". */
static_assert(SL_DATA_SUBDIR_BYTES_MAX >= SL_CONFIG_PATH_BYTES_MAX + sizeof "/accounts" &&
                  SL_DATA_PATH_BYTES_MAX >=
                      SL_DATA_SUBDIR_BYTES_MAX + 1 + 12 + sizeof "/catalog.db",
              "derived data paths could be truncated");
static_assert(SL_HTTP_BODY_INITIAL_BYTES <= SL_HTTP_BODY_MAX_BYTES_DEFAULT,
              "initial body above the body limit");
static_assert(SL_HTTP_CLIENT_SWEEP_MIN_MS <= SL_HTTP_CLIENT_SWEEP_MAX_MS &&
                  SL_HTTP_CLIENT_SWEEP_MAX_MS < SL_HTTP_CLIENT_IDLE_TIMEOUT_MS_DEFAULT,
              "the sweep must run well within the client's idle timeout");
/* The client reads a full GetRecords answer (10 MiB base64, plus JSON per record) by default. */
static_assert(SL_HTTP_CLIENT_RESPONSE_BODY_MAX_BYTES_DEFAULT >=
                  SL_BASE64_CHARS(SL_KINESIS_GET_RECORDS_BYTES_MAX) +
                      SL_KINESIS_GET_RECORDS_MAX * 256u,
              "client body bound below one GetRecords answer");
/* The client's idle timeout is below the server's, so the client closes first. */
static_assert(SL_HTTP_CLIENT_IDLE_TIMEOUT_MS_DEFAULT < SL_HTTP_IDLE_TIMEOUT_MS,
              "client idle timeout not below the server's");

/* `sluice top` (cli/top.c): streams and shards shown per refresh (a terminal shows fewer), series
 * read from /metrics, names (a stream name is at most 128 characters, a shard id 20), and the
 * refresh interval's range in seconds. */
#define SL_TOP_STREAMS_MAX 1000
#define SL_TOP_SHARDS_MAX 10000
#define SL_TOP_SERIES_MAX 100000
#define SL_TOP_NAME_BYTES 130
#define SL_TOP_ACCOUNT_BYTES 16 /* a 12-digit account id */
#define SL_TOP_INTERVAL_MIN_S 0.1
#define SL_TOP_INTERVAL_MAX_S 3600.0

/* Kinesis Data Analytics SQL applications (src/analytics/). */
#define SL_ANALYTICS_CODE_MAX_CHARS 102400 /* ApplicationCode, the API's maximum */
/* Nesting of expressions and queries: bounds the parser's and planner's recursion. */
#define SL_ANALYTICS_SQL_DEPTH_MAX 200
#define SL_ANALYTICS_IDENT_MAX_CHARS 128    /* identifiers (stream, pump, column names) */
#define SL_ANALYTICS_STRING_MAX_BYTES 65535 /* VARCHAR(n): 0 < n < 65535 */
/* Memory bounds of one window: rows held by one sliding-window partition, groups open in one
 * tumbling window, stagger windows open at once. A row beyond a bound goes to error_stream. */
#define SL_ANALYTICS_WINDOW_ROWS_MAX 100000
#define SL_ANALYTICS_WINDOW_GROUPS_MAX 1000000
/* Bytes of window state one application's engine holds in all (rows in sliding windows, join
 * windows and ORDER BY buffers, tumbling groups and stagger windows): a row that would pass it
 * goes to error_stream. AWS gave an application 4 GB of memory per KPU. */
#define SL_ANALYTICS_STATE_BYTES_MAX ((size_t)1 << 30)
#define SL_ANALYTICS_ERROR_DATA_MAX_BYTES 49152 /* error_stream DATA_ROW is VARCHAR(49152) */
/* RANDOM_CUT_FOREST: numberOfTrees x subSampleSize x dimensions (numeric columns x shingleSize)
 * values one forest may hold (its trees' boxes take about 32 bytes per value: 64 MiB). The SQL
 * reference's maxima (1000 trees of 1000 points of 30 x 30 dimensions) would need 29 GiB. */
#define SL_ANALYTICS_RCF_CELLS_MAX 2097152

/* SQS (src/sqs/; AWS's quotas where they exist). */
#define SL_SQS_QUEUES_MAX 1000           /* queues per account (ListQueues answers at most 1000) */
#define SL_SQS_QUEUE_MESSAGES_MAX 200000 /* messages kept per queue: a send beyond is OverLimit */
#define SL_SQS_INFLIGHT_MAX 120000       /* SQS: in-flight messages of a standard queue */
#define SL_SQS_MESSAGE_BYTES_MAX 1048576 /* SQS: MaximumMessageSize's largest value (1 MiB) */
#define SL_SQS_MESSAGE_ATTRS_MAX 10      /* SQS: message attributes per message */
#define SL_SQS_BATCH_MAX 10              /* SQS: entries per batch request */
#define SL_SQS_WAITERS_MAX 4096          /* long polls waiting at once per account */
#define SL_SQS_TAGS_MAX 50               /* SQS: tags per queue */
#define SL_SQS_ATTRS_STORED_MAX 24       /* queue attributes kept per queue (SQS names 22) */
#define SL_SQS_DEDUP_MAX 100000          /* FIFO deduplication ids remembered per queue (5 min) */
/* SNS (src/sns/). */
#define SL_SNS_TOPICS_MAX 1000          /* topics per account */
#define SL_SNS_SUBSCRIPTIONS_MAX 10000  /* subscriptions per account */
#define SL_SNS_MESSAGE_BYTES_MAX 262144 /* SNS: Publish message size */
#define SL_SNS_DELIVERIES_MAX 10000     /* HTTP deliveries queued or retrying per account */
#define SL_SNS_HTTP_ATTEMPTS 4          /* SNS's default HTTP policy: 3 retries */
#define SL_SNS_HTTP_RETRY_MS 1000       /* delay before an HTTP retry (doubled each time) */
#define SL_SNS_HTTP_TIMEOUT_MS 15000    /* SNS: an HTTP endpoint must answer within 15 s */
static_assert(SL_SQS_INFLIGHT_MAX <= SL_SQS_QUEUE_MESSAGES_MAX, "in-flight above kept messages");

#endif
