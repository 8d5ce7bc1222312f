/* The typed, transport-free Kinesis data plane: PutRecord(s), shard iterators, the reader behind
 * GetRecords and SubscribeToShard, and commit listeners. Callers fill a request struct, call one
 * function and get the result in the same struct; no JSON, no HTTP, no engine lock. The API layer
 * (src/api/) decodes a request into these structs and encodes the result; in-process services
 * (Firehose sources, event-source mappings, analytics, the consumer library) call them directly.
 *
 * Completion: an operation function returns SL_KINESIS_DONE when the operation finished during the
 * call (its result, or its error in `err`, is in the struct, and the callback is never called), or
 * SL_KINESIS_PENDING when `cb` will be called exactly once later, on a storage thread (appends) or
 * a reader-pool thread (reads, seeks). Callbacks must not block; they typically post to a loop.
 * The caller keeps the struct alive and unchanged until then.
 *
 * Threads and locks: every function here is thread-safe. The engine lock (engine.h) is taken only
 * inside kinesis/, only around metadata lookups; storage reads and seeks (pread, index rebuilds)
 * run on the reader pool (read.c) without it. Commit listeners run on the storage commit thread. */
#ifndef SL_KINESIS_KINESIS_H
#define SL_KINESIS_KINESIS_H

#include "core/arena.h"
#include "core/limits.h"
#include "kinesis/hashkey.h"
#include "kinesis/seqnum.h"
#include "kinesis/status.h"
#include "kinesis/token.h"
#include "storage/backend.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SL_KINESIS_DONE 0
#define SL_KINESIS_PENDING 1

typedef struct sl_kshard sl_kshard_t;             /* engine.h, private */
typedef struct sl_kpool_client sl_kpool_client_t; /* engine.h, private */

/* ---- errors ---------------------------------------------------------------------------------- */

/* The AWS error types the Kinesis core reports. The binding maps each to its entry of the one AWS
 * error table (wire/awserror.h: type text and HTTP status), so no type is spelled here. */
typedef enum {
    SL_KERR_NONE = 0,
    SL_KERR_INVALID_ARGUMENT,    /* InvalidArgumentException */
    SL_KERR_RESOURCE_NOT_FOUND,  /* ResourceNotFoundException */
    SL_KERR_RESOURCE_IN_USE,     /* ResourceInUseException */
    SL_KERR_VALIDATION,          /* ValidationException */
    SL_KERR_THROUGHPUT_EXCEEDED, /* ProvisionedThroughputExceededException */
    SL_KERR_EXPIRED_ITERATOR,    /* ExpiredIteratorException */
    SL_KERR_LIMIT_EXCEEDED,      /* LimitExceededException */
    SL_KERR_EXPIRED_NEXT_TOKEN,  /* ExpiredNextTokenException */
    SL_KERR_KMS_DISABLED,        /* KMSDisabledException */
    SL_KERR_KMS_INVALID_STATE,   /* KMSInvalidStateException */
    SL_KERR_KMS_NOT_FOUND,       /* KMSNotFoundException */
    SL_KERR_INTERNAL, /* InternalFailure: `cause` is the SL_E* code, the message is empty */
} sl_kerr_type_t;

/* An AWS error as a value: type SL_KERR_NONE means no error. */
typedef struct sl_kerr {
    sl_kerr_type_t type;
    int cause; /* SL_KERR_INTERNAL: what failed (SL_EIO, SL_ENOSPC, SL_ENOMEM, ...) */
    char message[SL_KINESIS_ERROR_MESSAGE_BYTES];
} sl_kerr_t;

/* Sets the error (message printf-style; fmt NULL = no message, as some AWS errors have none).
 * Returns false so that callers can write `return sl_kerr_set(...)`. */
bool sl_kerr_set(sl_kerr_t *err, sl_kerr_type_t type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Sets an internal failure caused by `code` (an SL_E* value). */
bool sl_kerr_internal(sl_kerr_t *err, int code);
/* Sets the error for a storage failure code: SL_EAGAIN is throttling, the rest internal failures.
 */
bool sl_kerr_storage(sl_kerr_t *err, sl_kinesis_t *k, int rc);

/* A stream as requests name it: StreamName and/or StreamARN (pointers NULL when absent). */
typedef struct sl_kstream_ref {
    const char *name;
    size_t name_len;
    const char *arn;
    size_t arn_len;
} sl_kstream_ref_t;

/* The "Stream X under account Y not found." error. */
bool sl_kerr_stream_not_found(sl_kerr_t *err, sl_kinesis_t *k, const char *name, size_t len);

/* Public sequence number of a record: the shard-local storage counter and the arrival time in the
 * shard's layout (seqnum.h). */
sl_seqnum_t sl_kinesis_seqnum(int64_t shard_created_ms, uint32_t shard_index, uint64_t counter,
                              int64_t arrival_ms);

/* ---- put ------------------------------------------------------------------------------------- */

/* A Kinesis record: data, partition key, optional explicit hash key (decimal text; NULL/0-length
 * when not given), and on reads the storage counter and the arrival time. Storage's record
 * (storage/backend.h) is generic (key, attributes, data); the Kinesis names live here only.
 * Puts copy each record into a storage record field by field (put.c groups records by shard into a
 * new array anyway, so this costs nothing extra). Reads hand storage's result array out as
 * sl_krecord_t without a conversion: the two structs have the same members of the same types in
 * the same order (checked below), storage writes the array before the read's callback, and
 * readers only read it afterwards, from other translation units. A conversion would cost an
 * allocation and a pass per record on every GetRecords and SubscribeToShard event. */
typedef struct {
    uint64_t seq; /* reads: the storage counter */
    int64_t arrival_ms;
    const char *partition_key;
    size_t partition_key_len;
    const char *explicit_hash_key;
    size_t explicit_hash_key_len;
    const uint8_t *data;
    size_t data_len;
} sl_krecord_t;

#define SL_KRECORD_SAME_(a, b)                                                                     \
    static_assert(offsetof(sl_krecord_t, a) == offsetof(sl_record_t, b) &&                         \
                      sizeof(((sl_krecord_t *)0)->a) == sizeof(((sl_record_t *)0)->b),             \
                  "sl_krecord_t must match sl_record_t: " #a)
SL_KRECORD_SAME_(seq, seq);
SL_KRECORD_SAME_(arrival_ms, arrival_ms);
SL_KRECORD_SAME_(partition_key, key);
SL_KRECORD_SAME_(partition_key_len, key_len);
SL_KRECORD_SAME_(explicit_hash_key, attributes);
SL_KRECORD_SAME_(explicit_hash_key_len, attributes_len);
SL_KRECORD_SAME_(data, data);
SL_KRECORD_SAME_(data_len, data_len);
static_assert(sizeof(sl_krecord_t) == sizeof(sl_record_t), "sl_krecord_t must match sl_record_t");
#undef SL_KRECORD_SAME_

/* The records of a storage read result as Kinesis records (see sl_krecord_t). */
static inline const sl_krecord_t *sl_krecords_of(const sl_record_t *records) {
    return (const sl_krecord_t *)(const void *)records;
}

/* The records of one put that went to one shard (one storage append). */
typedef struct {
    char shard_id[24];
    size_t shard_id_len;
    int64_t shard_created_ms;
    uint32_t shard_index;
    size_t count;       /* records in this group */
    int status;         /* 0, SL_EAGAIN (throttled) or another storage failure */
    uint64_t first_seq; /* counter of the group's first record (the rest follow, in order) */
    int64_t arrival_ms; /* the arrival time storage kept for the group's records */
    /* private */
    size_t *entries;    /* indexes of this group's records in the request */
    sl_kshard_t *shard; /* valid until the group's append completed */
    struct sl_kput *op;
    /* never appended: refused by the shard's throughput limits or by an injected throughput
     * error (SL_KPUT_REFUSED_THROTTLED), or failed by an injected internal error
     * (SL_KPUT_REFUSED_FAILED) */
    uint8_t refused;
    size_t bytes; /* data plus partition keys of the group's records */
} sl_kput_group_t;

enum { SL_KPUT_REFUSED_THROTTLED = 1, SL_KPUT_REFUSED_FAILED = 2 };
/* The status of a group failed by fault injection (fault.h): an internal failure whose message is
 * AWS's plain "Internal service failure." */
#define SL_KINESIS_FAULT_STATUS SL_EINJECTED

/* Where one record went. */
typedef struct {
    int32_t group; /* index into groups */
    uint64_t seq;  /* storage counter (when the group's status is 0) */
} sl_kput_entry_t;

typedef struct sl_kput sl_kput_t;
typedef void (*sl_kput_cb)(sl_kput_t *op);

/* PutRecord (single = true, one record) or PutRecords. Records are validated (hash key, sizes,
 * the 10 MiB batch limit) and routed by MD5 of the partition key or by the explicit hash key,
 * grouped by shard keeping request order, and appended; the result comes once every group is
 * durable under the configured policy. A validation error fails the whole call. PutRecords
 * reports per-group storage failures in groups[].status (the call itself succeeds); PutRecord
 * reports them in err. */
struct sl_kput {
    /* in */
    sl_kstream_ref_t stream;
    sl_krecord_t *records; /* caller's; arrival_ms is set here */
    size_t count;
    bool single;          /* PutRecord: error texts name "data", storage failures go to err */
    const char *ordering; /* PutRecord SequenceNumberForOrdering or NULL */
    size_t ordering_len;
    int64_t now_ms;
    sl_arena_t *arena; /* allocations for this call; must outlive the callback */
    sl_kput_cb cb;
    void *arg;
    /* Sluice's idempotency key (x-sluice-idempotency-key; kinesis/idem.h) or NULL: a put that
     * repeats a key of the same stream within the window gets the first put's result (same
     * shards and sequence numbers) and appends nothing. Stored records then carry the key in
     * their attributes after the explicit hash key and a NUL. */
    const char *idempotency_key;
    size_t idempotency_key_len;
    /* out */
    sl_kerr_t err;
    char stream_name[129];
    bool encrypted;
    sl_kput_group_t *groups;
    size_t group_count;
    sl_kput_entry_t *entries; /* one per record */
    size_t failed;            /* records in groups whose status is not 0 */
    bool replayed;            /* the result is a remembered one (idempotency key) */
    int64_t delay_ms;         /* fault injection: hold the answer back this long */
    unsigned shard_metrics;   /* the stream's enhanced monitoring: bit i = sl_kmetric_names[i] */
    /* private */
    int pending;
    bool idem_owner;           /* this put holds its key's entry (sl_kidem_finish at the end) */
    struct sl_kput *idem_next; /* waiting for the owner of the same key */
    void *idem_entry;          /* the owner's entry in the idempotency table */
};

int sl_kinesis_put(sl_kinesis_t *k, sl_kput_t *op);

/* A queued reader-pool job (private; embedded in the operations that run on the pool). */
typedef struct sl_kjob {
    struct sl_kjob *next;
    void (*run)(struct sl_kjob *job);
    sl_kpool_client_t *client; /* the engine it runs for */
} sl_kjob_t;

/* ---- positions and iterators ------------------------------------------------------------------
 */

typedef enum {
    SL_KSTART_AT_SEQUENCE_NUMBER,
    SL_KSTART_AFTER_SEQUENCE_NUMBER,
    SL_KSTART_TRIM_HORIZON,
    SL_KSTART_LATEST,
    SL_KSTART_AT_TIMESTAMP, /* also any other text: AWS asks for the timestamp then */
} sl_kstart_type_t;

sl_kstart_type_t sl_kstart_type_parse(const char *text);
const char *sl_kstart_type_name(sl_kstart_type_t t);

/* A starting position (ShardIteratorType / StartingPosition). */
typedef struct {
    sl_kstart_type_t type;
    const char *sequence_number; /* NULL when absent */
    size_t sequence_number_len;
    bool has_timestamp;
    int64_t timestamp_ms;
} sl_kstart_t;

/* A reader's place in one shard: the stream incarnation, the shard and the storage counter of the
 * next record. Plain data, owned by the caller; a shard iterator seals exactly this. */
typedef struct {
    char stream[129];
    int64_t stream_created_ms;
    uint32_t shard_index;
    uint64_t position;
} sl_kreader_t;

typedef struct sl_kiterator sl_kiterator_t;
typedef void (*sl_kiterator_cb)(sl_kiterator_t *op);

/* GetShardIterator: resolves the stream and shard and turns a starting position into a reader and
 * its sealed iterator. AT_TIMESTAMP seeks on the reader pool (PENDING); the rest finish at once. */
struct sl_kiterator {
    /* in */
    sl_kstream_ref_t stream;
    const char *shard_id;
    size_t shard_id_len;
    sl_kstart_t start;
    const char *op_name; /* "GetShardIterator" or "SubscribeToShard", for error texts */
    bool limited; /* counts against the shard's GetShardIterator rate when the throughput limits
                     are on (the API's calls; the in-process followers' are not) */
    int64_t now_ms;
    sl_kiterator_cb cb;
    void *arg;
    /* out */
    sl_kerr_t err;
    sl_kreader_t reader;
    char iterator[SL_TOKEN_ITERATOR_CHARS_MAX + 1];
    size_t iterator_len;
    /* private */
    bool want_iterator;
    sl_kinesis_t *k;
    sl_kshard_t *shard;
    sl_kjob_t job;
};

int sl_kinesis_shard_iterator(sl_kinesis_t *k, sl_kiterator_t *op);

/* ---- the reader -------------------------------------------------------------------------------
 */

/* A child of a closed shard (ChildShards). */
typedef struct {
    char shard_id[24];
    char parents[2][24];
    int parent_count;
    char start_dec[40], end_dec[40];
} sl_kchild_t;

typedef struct sl_kread sl_kread_t;
typedef void (*sl_kread_cb)(sl_kread_t *op);

/* One read from a reader's position with a record and byte budget (at least one record when one is
 * available). Runs on the reader pool; the result is valid until sl_kread_release. With
 * memory_first, a read that storage can serve from memory (sl_storage_read_memory: the records
 * committed last) completes during the call instead (SL_KINESIS_DONE with the result filled). */
struct sl_kread {
    /* in */
    sl_kreader_t reader;
    size_t records_max;
    size_t bytes_max;
    const char *stream_arn; /* GetRecords' StreamARN (must name the reader's stream) or NULL */
    size_t stream_arn_len;
    const char *consumer_arn; /* SubscribeToShard: the consumer must still be ACTIVE, else NULL */
    bool memory_first;        /* try a read from storage's memory on the caller's thread first */
    int64_t now_ms;
    sl_kread_cb cb;
    void *arg;
    /* out */
    sl_kerr_t err; /* set with no records; or ResourceNotFound with gone = true */
    bool gone;     /* the stream or shard disappeared while reading */
    const sl_krecord_t *records;
    size_t count;
    size_t bytes;
    uint64_t next_position; /* where the next read continues */
    bool caught_up;         /* the read reached the committed tip */
    bool shard_ended;       /* closed shard, fully read: children below, no next position */
    int64_t millis_behind;
    int64_t shard_created_ms;
    uint32_t shard_index;
    bool encrypted;            /* the stream is encrypted now */
    uint8_t *record_encrypted; /* per record: stored encrypted (NULL = none was) */
    bool kms_on;               /* the engine encrypts at rest (record_encrypted is the truth) */
    sl_kchild_t children[2];
    size_t child_count;
    sl_seqnum_t continuation; /* the last record's number, else the position before next */
    int64_t delay_ms;         /* fault injection (GetRecords): hold the answer back this long */
    unsigned shard_metrics;   /* the stream's enhanced monitoring: bit i = sl_kmetric_names[i] */
    /* private */
    sl_read_result_t *res;
    sl_kinesis_t *k;
    sl_kshard_t *shard;
    int64_t cutoff_ms;
    sl_kjob_t job;
};

int sl_kinesis_read(sl_kinesis_t *k, sl_kread_t *op);

/* Enhanced fan-out's limit per consumer and shard (with throughput limits on: 2 MiB/s, or
 * --efo-bytes-per-s; docs/capacity.md): a subscription keeps one budget (zeroed at its start),
 * charges each pushed event's record bytes to it, and waits the returned time before its next
 * read (0 = at once; always 0 with the limits off). Like AWS, nothing is refused: the consumer is
 * paced. */
typedef struct {
    int64_t full_ns; /* the budget's bucket (kinesis/throttle.h) */
} sl_kefo_budget_t;
int64_t sl_kinesis_efo_charge(sl_kinesis_t *k, sl_kefo_budget_t *budget, size_t bytes);
/* Frees the records of a completed read (safe on a read that returned none). */
void sl_kread_release(sl_kread_t *op);

/* GetRecords' iterator handling: opens a shard iterator (InvalidArgument / ExpiredIterator errors)
 * into a reader; seals a reader into an iterator issued now (returns its length, <= 0 on failure).
 */
bool sl_kinesis_iterator_open(sl_kinesis_t *k, const char *text, size_t len, int64_t now_ms,
                              sl_kreader_t *out, sl_kerr_t *err);
int sl_kinesis_iterator_seal(sl_kinesis_t *k, const sl_kreader_t *reader, int64_t now_ms,
                             char out[SL_TOKEN_ITERATOR_CHARS_MAX + 1]);

/* ---- commit listeners -------------------------------------------------------------------------
 */

/* Records were committed on a shard: next_seq is its new committed tip. */
typedef struct {
    const void *shard_key; /* identity of the shard (compare only; sl_kfanout uses it) */
    const char *stream;
    uint32_t shard_index;
    uint64_t next_seq;
} sl_kcommit_t;

/* Runs on the storage commit thread for every shard of every commit round: must be quick and must
 * not block or call back into the engine. */
typedef void (*sl_kcommit_fn)(void *ctx, const sl_kcommit_t *c);

/* Listeners are called only while the table is armed: each listener arms it (delta +1) while it
 * has something to do (a subscription, a running mapping) and disarms it (-1) when it no longer
 * has, so that a commit costs one atomic load while none has. Arm before reading the tip the
 * calls would report: the storage publishes a tip under the shard's lock before it calls, so a
 * reader that armed first and then reads the tip either sees the new tip or gets the call. */
void sl_kinesis_listener_arm(sl_kinesis_t *k, int delta);

/* Adds a listener (SL_ELIMIT beyond SL_KINESIS_LISTENERS_MAX); removing returns once no call of it
 * is running. */
int sl_kinesis_listener_add(sl_kinesis_t *k, sl_kcommit_fn fn, void *ctx);
void sl_kinesis_listener_remove(sl_kinesis_t *k, sl_kcommit_fn fn, void *ctx);

/* ---- fan-out (SubscribeToShard) ------------------------------------------------------------- */

/* One push consumer of one shard, registered with the engine's fan-out registry, which is the first
 * commit listener. The owner reads with sl_kinesis_read; when caught up it calls sl_kfanout_wait
 * and is woken once records past its position are committed. */
typedef struct sl_kfanout sl_kfanout_t;

typedef struct {
    /* Wake up: records were committed past the position, or the stream or consumer is going away
     * (sl_kinesis_fanout_kick). Runs on the commit thread or the kicker's thread under the
     * registry's mutex: post to the owner's loop, nothing else. */
    void (*wake)(void *arg);
    /* A newer subscription of the same consumer and shard took over: end this one (same rules). */
    void (*replaced)(void *arg);
    void *arg;
} sl_kfanout_cbs_t;

typedef struct sl_ksubscribe sl_ksubscribe_t;
typedef void (*sl_ksubscribe_cb)(sl_ksubscribe_t *op);

/* SubscribeToShard's start: the consumer must be ACTIVE, the shard must exist, the starting
 * position is resolved (AT_TIMESTAMP on the reader pool), then sl_kfanout_add registers. */
struct sl_ksubscribe {
    /* in */
    const char *consumer_arn;
    size_t consumer_arn_len;
    const char *shard_id;
    size_t shard_id_len;
    sl_kstart_t start;
    int64_t now_ms;
    sl_ksubscribe_cb cb;
    void *arg;
    /* out */
    sl_kerr_t err;
    sl_kreader_t reader;
    char consumer[512]; /* the consumer's ARN */
    /* private */
    sl_kiterator_t it;
};

int sl_kinesis_subscribe(sl_kinesis_t *k, sl_ksubscribe_t *op);

/* Registers a subscription of `consumer_arn` on the reader's shard: ResourceInUseException when the
 * same consumer subscribed to the same shard less than 5 s ago; an older live subscription of the
 * pair is told to end (replaced). Returns NULL with err set on failure. */
sl_kfanout_t *sl_kfanout_add(sl_kinesis_t *k, const sl_kreader_t *reader, const char *consumer_arn,
                             const char *shard_id_text, size_t shard_id_len, int64_t now_ms,
                             const sl_kfanout_cbs_t *cbs, sl_kerr_t *err);
/* Caught up at `position`: arms one wake-up for the next commit past it. Returns true when there
 * is something to read already (a commit raced with the last read, or the shard ended), in which
 * case nothing is armed. */
bool sl_kfanout_wait(sl_kfanout_t *f, uint64_t position);
/* True while a wait is armed and has not fired. */
bool sl_kfanout_waiting(sl_kfanout_t *f);
/* Disarms a pending wait (the owner reads on its own, e.g. for an idle event). */
void sl_kfanout_unwait(sl_kfanout_t *f);
/* Unregisters; no callback runs after it returns. */
void sl_kfanout_remove(sl_kfanout_t *f);
/* Wakes the subscriptions of a stream (only those of consumer_arn when not NULL), so that they see
 * a deletion at once. Call without holding the engine lock. */
void sl_kinesis_fanout_kick(sl_kinesis_t *k, const char *stream, const char *consumer_arn);

#endif
