/* Private state of the event-source mapping service (see esm.h). Everything here belongs to the
 * service thread, except what the commit listener reads under account->watch_mu. */
#ifndef SL_ESM_INTERNAL_H
#define SL_ESM_INTERNAL_H

#include "catalog/itemstore.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/metrics.h"
#include "wire/value.h"
#include "esm/esm.h"
#include "net/loop.h"

#include <pthread.h>

typedef struct mapping mapping_t;
typedef struct shard shard_t;

/* A record read from the shard and not yet processed (owned by its shard, freed when it is
 * checkpointed past). */
typedef struct rec {
    struct rec *next; /* in its batcher's queue */
    uint64_t seq;     /* storage counter */
    int64_t arrival_ms;
    char seqnum[64]; /* public sequence number */
    size_t seqnum_len;
    char *key; /* partition key, NUL-terminated (points into the same allocation) */
    size_t key_len;
    uint8_t *data;
    size_t data_len;
} rec_t;

/* One of ParallelizationFactor batchers of a shard: records of the partition keys that hash to
 * it, in shard order; the batch in flight is a prefix of its queue. */
typedef struct {
    shard_t *shard;
    int index;
    rec_t *head, *tail;
    size_t count;
    size_t bytes; /* record data in the queue */
    bool invoking;
    int64_t started_ms; /* mono time the invocation started */
    size_t batch;       /* records of the batch being tried (0 = form one) */
    size_t splits[32];  /* bisect: sizes of the halves still to try, last = next */
    int split_count;
    int attempts;          /* failed attempts of the current batch (retries count) */
    int invoke_count;      /* attempts of the batch (approximateInvokeCount) */
    int64_t retry_due_ms;  /* mono time before which no retry starts */
    int64_t window_due_ms; /* mono time when the batching window ends (0 = not started) */
    sl_timer_t *timer;
    sl_fn_op_t op;
    sl_buf_t payload;
    uint64_t generation; /* of the mapping when the invocation started */
    /* tumbling windows (window.c) */
    int64_t win_start_ms;   /* arrival-time window of the records being processed; 0 = none */
    sl_buf_t state;         /* the state the function returned last in this window (JSON) */
    sl_buf_t pending_state; /* the state of the response being judged */
    bool win_final;         /* the batch in flight is the window's final invocation */
    bool win_early;         /* ... ended early (state over 1 MB) */
} batcher_t;

enum { SHARD_WAITING, SHARD_ACTIVE, SHARD_DONE };

struct shard {
    mapping_t *m;    /* NULL once detached (the mapping stopped while something was in flight) */
    sl_loop_t *loop; /* the service loop: completions on other threads post here */
    uint32_t index;
    char id[24];
    int32_t parent, adjacent_parent; /* indexes, -1 = none */
    int state;
    bool positioned; /* reader holds the next position to read */
    sl_kreader_t reader;
    bool reading; /* a read is in flight */
    bool ended;   /* the last read reached the end of a closed shard */
    bool idle;    /* caught up: waiting for a commit (watch list) or the idle timer */
    sl_kiterator_t it;
    sl_kread_t read;
    bool positioning; /* a shard iterator (AT_TIMESTAMP seek) is in flight */
    bool from_trim;   /* no StartingPosition: a child, or a shard found later */
    bool encrypted;   /* the stream's records are encrypted (encryptionType KMS) */
    /* enhanced fan-out: the consumer ARN the reads are made for (dedicated throughput, as
     * SubscribeToShard: not counted in GetRecords' limits), "" for a stream source */
    char consumer[SL_ESM_ARN_BYTES_MAX];
    shard_t *orphan_next; /* in sl_esm_t.orphans once detached while busy */
    sl_esm_t *esm;        /* set while in that list */
    int64_t created_ms;
    size_t buffered, buffered_bytes;
    int batchers_n;
    batcher_t batchers[10];
    uint64_t checkpoint;  /* storage counter of the next record to process */
    bool checkpoint_done; /* the shard was processed to its end */
    uint64_t saved;       /* checkpoint as last written */
    bool saved_done;
    bool has_saved;
    sl_timer_t *idle_timer;
};

struct mapping {
    mapping_t *next;
    sl_esm_account_t *account;
    sl_esm_info_t info;
    char stream[129];
    uint64_t generation; /* bumped by every update: invocations of an older one are re-run */
    shard_t **shards;
    size_t shard_count, shard_cap;
    bool running;    /* enabled and polling */
    bool discovered; /* the shards were listed since the mapping started */
    sl_timer_t *discover_timer;
    sl_timer_t *checkpoint_timer;
    struct loaded_cp {
        uint32_t index;
        uint64_t position;
        bool done;
    } * loaded; /* checkpoints read from esm.db, applied as the shards' pollers start */
    size_t loaded_count;
    sl_arena_t *filter_arena; /* the parsed FilterCriteria patterns (filter.c) */
    sl_val_t *filters[SL_ESM_FILTERS_MAX];
    bool filter_data[SL_ESM_FILTERS_MAX]; /* the pattern names the record's data */
    size_t filter_count;
    struct {
        uint64_t invocations, errors, polled, filtered, dropped, delivered;
        int64_t iterator_age_ms;
    } metrics;
    /* the mapping's series in the metrics registry (AWS/Lambda, EventSourceMappingUUID) */
    sl_series_t *m_polled, *m_filtered, *m_invoked, *m_failed, *m_dropped, *m_delivered,
        *m_iterator_age;
};

struct sl_esm_account {
    sl_esm_t *esm;
    char id[16];
    char dir[SL_DATA_PATH_BYTES_MAX];
    sl_kinesis_t *kinesis;
    sl_fn_account_t *functions;
    sl_objstore_t *objstore;
    sl_sqs_t *sqs;
    sl_sns_t *sns;
    sl_itemstore_t *store; /* NULL until the first write or a load found the file */
    mapping_t *mappings;
    size_t mapping_count;
    sl_esm_account_t *next;
    bool listening;
    /* Shared with the commit listener (storage commit thread): the streams mappings read, and
     * the streams committed since the last wake was posted (wake_all when too many). */
    pthread_mutex_t watch_mu;
    char (*watched)[129];
    size_t watched_count; /* written under watch_mu, also read atomically without it */
    bool armed;           /* (watch_mu) the Kinesis listener table is armed for this account */
    char pending[16][129];
    size_t pending_count;
    bool wake_all, wake_posted;
};

struct sl_esm {
    char region[32];
    sl_loop_t *loop;
    pthread_t thread;
    bool stopping, joined;
    uint64_t rnd_state;
    sl_esm_account_t *accounts;
    pthread_mutex_t accounts_mu;
    shard_t *orphans; /* detached shards with a read or invocation in flight */
};

/* esm.c */
void sl_esm_make_uuid(sl_esm_t *esm, char out[40]);
int sl_esm_store(sl_esm_account_t *a, sl_itemstore_t **out);
int sl_esm_checkpoint_write(mapping_t *m);

/* OnFailure to an SQS queue or SNS topic (destinations other than S3). */
int sl_esm_deliver_other(mapping_t *m, const char *arn, const sl_buf_t *doc);

/* The mapping's metric series (created when the mapping is, released when it is deleted). */
void sl_esm_metrics_open(mapping_t *m);
void sl_esm_metrics_release(mapping_t *m);

/* poll.c */
void sl_esm_mapping_start(mapping_t *m);
void sl_esm_mapping_stop(mapping_t *m);
void sl_esm_mapping_free_shards(mapping_t *m);
void sl_esm_wake(sl_esm_account_t *a, const char *stream, uint32_t shard_index);
void sl_esm_orphans_free(sl_esm_t *esm);
/* a checkpoint loaded from esm.db: applied when the shard's poller is created */
void sl_esm_checkpoint_loaded(mapping_t *m, uint32_t shard_index, uint64_t position, bool done);

#endif
