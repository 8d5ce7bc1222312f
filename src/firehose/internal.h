/* Private to firehose/: the account's state, the delivery streams and the value-tree helpers. */
#ifndef SL_FIREHOSE_INTERNAL_H
#define SL_FIREHOSE_INTERNAL_H

#include "catalog/itemstore.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/metrics.h"
#include "firehose/compress.h"
#include "firehose/firehose.h"
#include "firehose/tz.h"
#include "kinesis/kinesis.h"
#include "net/http.h"
#include "storage/backend.h"

#include <pthread.h>

#define FH_STREAMS_MAX 5000 /* delivery streams of one account (AWS's raised quota) */
#define FH_TAGS_MAX 50      /* AWS: tags per delivery stream */
#define FH_EXTERNAL_MAX 64  /* buckets mapped to external S3-compatible servers */
#define FH_TZ_CACHE_MAX 64  /* CustomTimeZone zones kept parsed per account */
#define FH_HOLDS_MAX                                                                               \
    1024                    /* durable reader holds of one account (one per analytics application) \
                             */
#define FH_DATA_KEYS_MAX 16 /* data keys of a delivery stream (one per key it used) */

/* A bucket of another S3-compatible server (--s3-external-buckets; external.c). */
typedef struct {
    char bucket[64];
    char origin[320];    /* "http://host:port" */
    char authority[300]; /* "host:port", the signed Host */
    char access_key[160], secret[160], region[40];
} fh_external_t;

typedef struct {
    char *key, *value; /* malloc'd; value may be NULL */
} fh_tag_t;

/* A data key of a delivery stream's buffer encryption (sealing.c). */
typedef struct {
    char key_type[32]; /* AWS_OWNED_CMK or CUSTOMER_MANAGED_CMK */
    char key_arn[520]; /* the CMK's ARN; "" for AWS_OWNED_CMK */
    char *blob;        /* malloc'd: the wrapped key, base64, as firehose.db keeps it */
    uint8_t key[32];
    bool usable; /* unwrapped */
} fh_datakey_t;

/* What the delivery thread needs of a destination, read from its configuration. */
typedef struct {
    bool s3;         /* an S3-like destination the thread delivers (ExtendedS3, S3) */
    bool http;       /* HttpEndpoint: posts, then the S3 bucket below for failed records */
    char bucket[64]; /* from BucketARN arn:aws:s3:::<bucket> */
    char prefix[1100], error_prefix[1100], file_ext[140];
    char time_zone[64]; /* CustomTimeZone ("" = UTC) */
    uint64_t size_bytes;
    int64_t interval_ms;
    sl_fh_compression_t compression;
} fh_dest_t;

/* The stream's metric series (firehose/metrics.c); NULL ones count nothing. */
typedef struct {
    sl_series_t *incoming_bytes, *incoming_records, *incoming_requests, *throttled;
    sl_series_t *s3_bytes, *s3_records, *s3_objects, *s3_success, *s3_freshness;
    sl_series_t *kds_bytes, *kds_records;
    sl_series_t *http_bytes, *http_records, *http_success;
} fh_metrics_t;

/* One delivery stream. Owned by the account (fh->streams); a deleted stream moves to the
 * graveyard, where the delivery thread closes and frees it. Fields below `mu` are guarded by
 * fh->mu; the pending counters are atomics the storage callback updates. */
typedef struct fh_stream {
    char name[72];
    char arn[320];
    char type[32];
    char status[24];
    int64_t version;
    int64_t created_ms, updated_ms;
    char enc_status[24], enc_key_type[32], enc_key_arn[520];
    char source_arn[520], source_role[520];
    int64_t source_start_ms;
    char dest_kind[48];
    sl_arena_t dest_arena; /* owns dest; replaced whole by UpdateDestination */
    sl_val_t *dest;
    fh_tag_t tags[FH_TAGS_MAX];
    size_t tag_count;
    /* Buffer encryption: data keys 1..dk_count (generations; dks has FH_DATA_KEYS_MAX slots once
     * allocated, entries never change once published by dk_count) and the one new records are
     * sealed under (0 = none: encryption is off). */
    fh_datakey_t *dks;
    uint16_t dk_count, dk_current;
    char log_key[200];
    uint64_t log_id;
    sl_shard_log_t *log;
    bool deleted;
    bool busy; /* the delivery thread works on it (fh->mu) */
    /* Progress (the delivery thread's; persisted in the "progress" table). */
    uint64_t ckpt; /* first seq not delivered */
    bool intent;   /* a delivery of [intent_first, +intent_count) to intent_bucket/intent_key */
    uint64_t intent_first, intent_count;
    char intent_bucket[64];
    char intent_key[1200];
    /* The source-record backup of the same records (S3BackupMode Enabled / AllData): its bucket
     * and key, "" when the intent has none. Put with the intent, so it is exactly-once too. */
    char intent_backup_bucket[64];
    char intent_backup_key[1200];
    bool intent_backup_done; /* HttpEndpoint: the backup of this intent is stored (not kept) */
    /* Buffer state (atomics): bytes appended and not delivered, and the monotonic time the
     * oldest of them arrived (0 = none). */
    int64_t pending_bytes;
    int64_t pending_since_mono;
    bool flush_now;             /* deliver what is buffered at once (after a restart) */
    int64_t retry_at_mono;      /* after a failed delivery */
    int attempts;               /* failed attempts of the current delivery */
    int64_t first_failure_mono; /* HttpEndpoint: when the current batch first failed */
    /* HttpEndpoint: the request under way, NULL when none (http.c; the delivery thread's). */
    struct fh_http_flight *http_flight;
    fh_metrics_t metrics;
    /* KinesisStreamAsSource: the follower of the source stream and its positions as last written
     * to the "sources" table (malloc'd text; the delivery thread's). */
    struct sl_kfollow *follow;
    char *src_saved;
    size_t src_saved_len;
} fh_stream_t;

struct sl_firehose {
    sl_firehose_config_t cfg;
    char region[32], account[16], prefix[40];
    sl_itemstore_t *store; /* firehose.db; store_mu serializes its users */
    pthread_mutex_t store_mu;
    pthread_mutex_t mu; /* streams, graveyard and every stream's guarded fields */
    pthread_cond_t wake;
    fh_stream_t **streams; /* sorted by name */
    size_t stream_count;
    fh_stream_t **graveyard;
    size_t grave_count, grave_cap;
    bool stopping;
    pthread_t thread;
    bool thread_started;
    sl_fh_stats_t stats; /* atomics */
    /* HttpEndpoint deliveries: the outbound client on a loop of its own thread (http.c). */
    struct sl_loop *loop;
    struct sl_http_client *http;
    pthread_t http_thread;
    bool http_started;
    fh_external_t externals[FH_EXTERNAL_MAX];
    size_t external_count;
    uint8_t owned_key[32]; /* cfg.owned_key's copy */
    /* CustomTimeZone zones, parsed once (tz.c); entries never change once added (tz_mu). */
    pthread_mutex_t tz_mu;
    struct {
        char name[64];
        sl_fh_tz_t tz;
    } tzs[FH_TZ_CACHE_MAX];
    size_t tz_count;
    struct sl_fh_reader *readers; /* reader.c: the open readers (mu) */
    struct fh_hold *holds;        /* reader.c: the durable holds, in firehose.db too (mu) */
    size_t hold_count;
};

/* ---- value trees (values.c) ---- */
sl_val_t *fh_val_clone(sl_arena_t *a, const sl_val_t *v);
sl_val_t *fh_val_str(sl_arena_t *a, const char *s);
sl_val_t *fh_val_int(sl_arena_t *a, int64_t i);
sl_val_t *fh_val_map(sl_arena_t *a);
/* Sets map[key] = v (replacing), in the arena. */
void fh_val_set(sl_arena_t *a, sl_val_t *map, const char *key, sl_val_t *v);
/* Removes map[key]. */
void fh_val_remove(sl_val_t *map, const char *key);
/* A copy of base with update merged in member by member (maps recursively; other values and
 * the members named in `whole` replaced). */
sl_val_t *fh_val_merge(sl_arena_t *a, const sl_val_t *base, const sl_val_t *update);
/* Renames a member of a map (no-op when absent). */
void fh_val_rename(sl_val_t *map, const char *from, const char *to);
int fh_val_to_json(const sl_val_t *v, sl_buf_t *out);
/* Parses JSON text into a tree in the arena (the text is copied). */
int fh_val_from_json(sl_arena_t *a, const char *text, size_t len, sl_val_t **out);

/* ---- buffer encryption (sealing.c) ---- */
/* Reads the stream row's data keys and unwraps them. */
int fh_keys_load(sl_firehose_t *fh, fh_stream_t *s, const sl_val_t *row);
/* Adds the data keys to a stream row being written. */
void fh_keys_doc(sl_arena_t *a, sl_val_t *row, const fh_stream_t *s);
void fh_keys_free(fh_stream_t *s);
/* Makes the data key of (key_type, key_arn) current, creating it when the stream has none
 * (fh->mu held, or s not yet shared); InvalidKMSResourceException when KMS refuses the CMK. The
 * caller persists the row. */
bool fh_keys_start(sl_firehose_t *fh, fh_stream_t *s, const char *key_type, const char *key_arn,
                   int64_t now_ms, sl_fherr_t *err);
/* The key and generation new records are sealed with (generation 0: none), after checking that
 * the CMK is usable now (fh->mu held). */
bool fh_keys_current(sl_firehose_t *fh, const fh_stream_t *s, int64_t now_ms, uint8_t key[32],
                     uint16_t *generation, sl_fherr_t *err);
/* Fills *err with type and the formatted message; returns false (for `return fh_fail(...)`). */
bool fh_fail(sl_fherr_t *err, sl_fherr_type_t type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Seals the records' data into *storage (malloc'd; the records then point into it). */
int fh_keys_seal(const uint8_t key[32], uint16_t generation, sl_record_t *records, size_t n,
                 uint8_t **storage);
/* Opens the sealed records of a read of the stream's buffer in place (delivery thread). */
int fh_keys_open(const fh_stream_t *s, sl_read_result_t *res);

/* ---- KinesisStreamAsSource (source.c) ---- */
/* Reads what the source stream's shards hold past their checkpoints into the stream's buffer
 * (de-aggregating KPL records) and records the new positions. Delivery thread only. */
int fh_source_pump(sl_firehose_t *fh, fh_stream_t *s);
int fh_source_load(sl_firehose_t *fh, fh_stream_t *s, const void *val, size_t len);
int fh_source_persist(sl_firehose_t *fh, fh_stream_t *s);
void fh_source_free(fh_stream_t *s);
/* Is the source stream's ARN one of this account's streams? */
bool fh_source_exists(sl_firehose_t *fh, const char *arn);
int fh_store_write(sl_firehose_t *fh, const sl_itemstore_op_t *ops, size_t n);

/* ---- HttpEndpoint (http.c) ---- */
int fh_http_start(sl_firehose_t *fh);
/* Ends the HTTP calls in flight and refuses new ones (at close, before joining the delivery
 * thread); fh_http_stop then stops the loop. */
void fh_http_cancel(sl_firehose_t *fh);
void fh_http_stop(sl_firehose_t *fh);
/* https://, or http:// on a loopback host (tests). */
bool fh_http_url_allowed(const char *url);
/* Posts the oldest buffered records (or the recorded batch again) without waiting for the
 * answer, or, when the request under way has been answered, finishes it; *done when the batch is
 * finished (delivered, dropped after a 413, or written to the backup bucket after the retry
 * duration). Returns 0 or an SL_E* code for a failure of the server itself. */
int fh_deliver_http(sl_firehose_t *fh, fh_stream_t *s, const sl_val_t *dest, const fh_dest_t *d,
                    int64_t version, bool *done);

typedef struct fh_http_flight fh_http_flight_t;
/* The stream's HTTP request: 0 none, 1 under way, 2 answered (fh_deliver_http finishes it). */
int fh_http_flight_state(const fh_stream_t *s);
/* Frees an answered (or, after fh_http_stop, any) request of the stream. */
void fh_http_flight_release(fh_stream_t *s);

/* One call on the outbound client, waited for (delivery thread). Returns 0 or an
 * sl_http_client_error_t; *resp_body is malloc'd (NUL-terminated) when set. */
int fh_http_call(sl_firehose_t *fh, const char *method, const char *origin, const char *path,
                 const sl_http_header_t *headers, size_t header_count, const void *body, size_t len,
                 int *status, char **resp_body, size_t *resp_len);

/* ---- external S3 (external.c) ---- */
int fh_external_load(sl_firehose_t *fh, const char *path);
/* One line of the file: 1 and *e filled, 0 for a blank or comment line, -1 when malformed. */
int fh_external_parse_line(char *line, fh_external_t *e);
const fh_external_t *fh_external_find(const sl_firehose_t *fh, const char *bucket);
/* PutObject on the external server; why gets the reason of a failure. */
int fh_external_put(sl_firehose_t *fh, const fh_external_t *e, const char *key, const void *data,
                    size_t len, const char *content_encoding, char *why, size_t why_cap);

/* ---- object names and puts (deliver.c) ---- */
/* The UTC offset (seconds) of the zone `name` ("" or "UTC": 0) at ts_ms. Returns 0 or
 * SL_ENOTFOUND for a name that is no zone of the time zone database. */
int fh_tz_offset(sl_firehose_t *fh, const char *name, int64_t ts_ms, int32_t *off_s);
/* The key of an object whose first record is first_seq: the prefix (or, with error_type, the
 * error prefix) and <name>-<version>-<time>-<uuid><ext>, times in d's CustomTimeZone. */
int fh_object_key(sl_firehose_t *fh, const fh_dest_t *d, const char *name, int64_t version,
                  uint64_t log_id, uint64_t first_seq, int64_t ts_ms, const char *error_type,
                  char *out, size_t cap);
/* Compresses data by d's format and puts it as d->bucket/key. */
int fh_put_object(sl_firehose_t *fh, const fh_stream_t *s, const fh_dest_t *d, const char *key,
                  uint64_t first_seq, const uint8_t *data, size_t len, int64_t mtime_ms);

/* ---- readers (reader.c) ---- */
/* Waits (fh->mu held) until no reader reads s's log, before the log of a deleted s is closed. */
void fh_readers_wait(sl_firehose_t *fh, const fh_stream_t *s);
/* The trim cut-off of s lowered so that no open reader loses a record it has not read, and no
 * durable hold (sl_firehose_reader_commit) a record its holder has not committed. Takes
 * fh->mu. */
int64_t fh_readers_hold(sl_firehose_t *fh, const fh_stream_t *s, int64_t cutoff_ms);
/* Loads the durable holds from firehose.db (at open, before the delivery thread starts) and
 * frees them (at close). */
int fh_holds_load(sl_firehose_t *fh);
void fh_holds_free(sl_firehose_t *fh);

/* ---- metrics (metrics.c) ---- */
void fh_metrics_open(fh_stream_t *s);
void fh_metrics_release(fh_stream_t *s);

/* ---- delivery (deliver.c) ---- */
/* Reads a buffer log synchronously (a service thread: the delivery thread, a reader) and opens
 * the records sealed by s's buffer encryption (s NULL: as stored). *out is the caller's to free
 * (sl_storage_read_free). */
int fh_log_read(const fh_stream_t *s, sl_shard_log_t *log, uint64_t from, size_t records_max,
                size_t bytes_max, sl_read_result_t **out);
void *fh_deliver_main(void *arg);
/* The destination settings of a stream's configuration. */
void fh_dest_read(const char *kind, const sl_val_t *dest, fh_dest_t *out);
/* Where every source record is also delivered: ExtendedS3 with S3BackupMode Enabled (the
 * S3BackupConfiguration), HttpEndpoint with AllData (its S3Configuration). False when none. */
bool fh_dest_read_backup(const char *kind, const sl_val_t *dest, fh_dest_t *out);
/* The seed salt of backup objects, so a backup next to its object in one bucket and prefix gets
 * its own UUID and random strings. */
#define FH_BACKUP_SALT 0x6261636b75702121ull
int fh_progress_write(sl_firehose_t *fh, fh_stream_t *s);
int64_t fh_now_ms(const sl_firehose_t *fh);

#endif
