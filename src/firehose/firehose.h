/* The Firehose service core (docs/firehose.md): delivery streams of one account, typed and
 * transport-free. A delivery stream's records are appended to a log of its own in the storage
 * layer (the same group commit as Kinesis shards: a record is durable before PutRecord answers);
 * a delivery thread per account cuts the log into objects by the buffering hints, names them as
 * AWS does (prefix expressions, <stream>-<version>-<time>-<uuid><ext>), compresses them and puts
 * them into the account's object store. A delivery is made exactly-once by recording its intent
 * (the log range and the object key) before the put and the checkpoint after it: after a crash
 * the same range is put again under the same key.
 *
 * Configurations and progress live in <account dir>/firehose.db (catalog/itemstore.h). Destination
 * configurations are kept as the request gave them (an sl_val_t tree, JSON on disk) with AWS's
 * defaults filled in, so Describe echoes every destination type and UpdateDestination merges
 * member by member.
 *
 * Threads: every function is thread-safe (one mutex per account, never held across file I/O of
 * the delivery or a storage callback). sl_firehose_put completes through its callback on the
 * storage commit thread. */
#ifndef SL_FIREHOSE_FIREHOSE_H
#define SL_FIREHOSE_FIREHOSE_H

#include "core/arena.h"
#include "wire/value.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sl_firehose sl_firehose_t;
typedef struct sl_storage sl_storage_t;
typedef struct sl_objstore sl_objstore_t;
typedef struct sl_kinesis sl_kinesis_t;
typedef struct sl_kms sl_kms_t;

/* The AWS errors of the Firehose API. */
typedef enum {
    SL_FHERR_NONE = 0,
    SL_FHERR_NOT_FOUND,        /* ResourceNotFoundException */
    SL_FHERR_IN_USE,           /* ResourceInUseException */
    SL_FHERR_INVALID_ARGUMENT, /* InvalidArgumentException */
    SL_FHERR_LIMIT,            /* LimitExceededException */
    SL_FHERR_CONCURRENT,       /* ConcurrentModificationException */
    SL_FHERR_UNAVAILABLE,      /* ServiceUnavailableException ("Slow down.") */
    SL_FHERR_INTERNAL,         /* InternalFailure */
    SL_FHERR_VALIDATION,       /* ValidationException */
    SL_FHERR_KMS,              /* InvalidKMSResourceException */
} sl_fherr_type_t;

typedef struct {
    sl_fherr_type_t type;
    char message[512];
} sl_fherr_t;

typedef struct {
    const char *dir; /* the account's directory: firehose.db lives there */
    const char *region;
    const char *account;        /* 12 digits */
    sl_storage_t *storage;      /* not owned: the delivery streams' logs */
    const char *storage_prefix; /* log keys start with it ("_fh." / "_fh.<account>.") */
    sl_objstore_t *objstore;    /* not owned: the account's object store */
    sl_kinesis_t *kinesis;      /* not owned: the account's streams (KinesisStreamAsSource) */
    int64_t create_ms;          /* time a new delivery stream stays CREATING */
    /* Tests: the arrival time every record gets (ms since the epoch), so prefixes and object
     * names are known in advance; 0 = the clock. */
    int64_t fixed_time_ms;
    /* A file mapping bucket names to external S3-compatible servers (external.c), or NULL. */
    const char *external_buckets;
    /* Encryption of buffered records: the KMS of CUSTOMER_MANAGED_CMK keys (not owned), and the
     * 32-byte key that wraps AWS_OWNED_CMK data keys (derived from the master key; copied). */
    sl_kms_t *kms;
    const uint8_t *owned_key;
} sl_firehose_config_t;

/* Opens the account's delivery streams, their logs and progress, and starts the delivery thread,
 * which first finishes a delivery a crash interrupted. */
int sl_firehose_open(const sl_firehose_config_t *cfg, sl_firehose_t **out);
/* Stops the delivery thread (a delivery in progress finishes) and closes the logs. Buffered
 * records stay in their logs and are delivered after the next open. */
void sl_firehose_close(sl_firehose_t *fh);

/* ---- control plane ---- */

typedef struct {
    const char *key;
    const char *value; /* NULL = no value */
} sl_fh_tag_t;

typedef struct {
    const char *name;
    const char *type;               /* DeliveryStreamType, NULL = DirectPut */
    const sl_val_t *kinesis_source; /* KinesisStreamSourceConfiguration or NULL */
    const sl_val_t *encryption;     /* DeliveryStreamEncryptionConfigurationInput or NULL */
    /* The destination: the member's kind ("ExtendedS3", "S3", "HttpEndpoint", "Redshift", ...:
     * the member name without "DestinationConfiguration") and its value; dest_count says how
     * many destination members the request had (exactly one is accepted). */
    const char *dest_kind;
    const sl_val_t *dest;
    int dest_count;
    const sl_fh_tag_t *tags;
    size_t tag_count;
    int64_t now_ms;
} sl_fh_create_t;

/* CreateDeliveryStream; arn gets the new stream's ARN. */
int sl_firehose_create(sl_firehose_t *fh, const sl_fh_create_t *req, char arn[320],
                       sl_fherr_t *err);
/* DeleteDeliveryStream: buffered records are discarded (AWS). */
int sl_firehose_delete(sl_firehose_t *fh, const char *name, sl_fherr_t *err);

/* A delivery stream as Describe shows it, in the caller's arena. */
typedef struct {
    const char *name, *arn, *status, *type;
    char version[24];
    int64_t created_ms, updated_ms;
    const char *enc_status;                 /* "ENABLED", "DISABLED", ... */
    const char *enc_key_type, *enc_key_arn; /* NULL when never set */
    const char *source_arn, *source_role;   /* KinesisStreamAsSource */
    int64_t source_start_ms;
    const char *dest_kind;
    const sl_val_t *dest; /* the stored configuration, AWS's defaults filled in */
} sl_fh_info_t;

int sl_firehose_describe(sl_firehose_t *fh, const char *name, sl_arena_t *arena, sl_fh_info_t *out,
                         sl_fherr_t *err);

/* ListDeliveryStreams: names after `start` (NULL = from the first), alphabetical, of `type`
 * (NULL = any), at most limit; *more when others follow. */
int sl_firehose_list(sl_firehose_t *fh, const char *type, const char *start, size_t limit,
                     sl_arena_t *arena, const char ***names, size_t *count, bool *more);

typedef struct {
    const char *name;
    const char *version_id; /* CurrentDeliveryStreamVersionId */
    const char *destination_id;
    const char *dest_kind; /* "ExtendedS3", ... (the update member without "DestinationUpdate") */
    const sl_val_t *update;
    int update_count;
    int64_t now_ms;
} sl_fh_update_t;

int sl_firehose_update(sl_firehose_t *fh, const sl_fh_update_t *req, sl_fherr_t *err);

int sl_firehose_tag(sl_firehose_t *fh, const char *name, const sl_fh_tag_t *tags, size_t count,
                    sl_fherr_t *err);
int sl_firehose_untag(sl_firehose_t *fh, const char *name, const char *const *keys, size_t count,
                      sl_fherr_t *err);
/* Tags after `start` (NULL = first) in key order, at most limit. */
int sl_firehose_list_tags(sl_firehose_t *fh, const char *name, const char *start, size_t limit,
                          sl_arena_t *arena, sl_fh_tag_t **tags, size_t *count, bool *more,
                          sl_fherr_t *err);

/* Start/StopDeliveryStreamEncryption (DirectPut only). key_type NULL = AWS_OWNED_CMK. */
int sl_firehose_encryption(sl_firehose_t *fh, const char *name, bool start, const char *key_type,
                           const char *key_arn, int64_t now_ms, sl_fherr_t *err);

/* ---- data plane ---- */

typedef struct {
    const uint8_t *data;
    size_t len;
} sl_fh_record_t;

/* status 0: the records are durable; record ids are <id_prefix><first_seq + i> (see
 * sl_firehose_record_id). Otherwise status is an SL_E* code (SL_EAGAIN: throttled). */
typedef void (*sl_fh_put_cb)(void *arg, int status, uint64_t first_seq);

/* PutRecord(Batch): appends the records to the stream's log. Returns 0 and calls cb once when they
 * are durable; or returns -1 with err set (not found, wrong source type, throttled) and never
 * calls cb. *encrypted tells whether the stream's encryption is on. *log_id identifies the log
 * (for record ids). */
int sl_firehose_put(sl_firehose_t *fh, const char *name, const sl_fh_record_t *records, size_t n,
                    int64_t now_ms, sl_fh_put_cb cb, void *arg, bool *encrypted, uint64_t *log_id,
                    sl_fherr_t *err);

/* A record id as AWS shapes them (an opaque string of 56 characters): out needs 64 bytes. */
void sl_firehose_record_id(uint64_t log_id, uint64_t seq, char out[64]);

/* Delivery statistics of an account (benchmarks, docs/firehose.md "Metrics"). */
typedef struct {
    uint64_t incoming_records, incoming_bytes;
    uint64_t delivered_objects, delivered_records, delivered_bytes;
    uint64_t delivery_failures;
} sl_fh_stats_t;
void sl_firehose_stats(sl_firehose_t *fh, sl_fh_stats_t *out);

#endif
