/* The SQS core's state (private to src/sqs/; see sqs.h). One mutex per account (mu) guards every
 * queue and message; the item writer's queue lock is taken inside it. */
#ifndef SL_SQS_INTERNAL_H
#define SL_SQS_INTERNAL_H

#include "catalog/itemstore.h"
#include "catalog/itemwriter.h"
#include "core/common.h"
#include "core/limits.h"
#include "sqs/sqs.h"

#include <pthread.h>

/* A message in memory: the struct, then its stored value (blob: what the item store holds under
 * the message id), then its attribute array; body and attributes point into the blob. */
typedef struct sl_sqs_msg {
    struct sl_sqs_msg *prev, *next; /* the queue's order (send order) */
    char id[40];
    uint64_t seq; /* send order within the queue; FIFO SequenceNumber */
    int64_t sent_ms;
    int64_t visible_ms; /* receivable from then on (delay, then visibility timeout) */
    int64_t first_receive_ms;
    int receive_count;
    uint64_t receipt; /* the token of the newest receipt handle; 0 = never received */
    bool inflight;    /* received and its visibility timeout not over */
    char md5_body[33];
    char md5_attrs[33];
    const char *sender_id;
    const char *group_id; /* "" = none */
    const char *dedup_id; /* "" = none */
    const uint8_t *body;
    size_t body_len;
    sl_sqs_attr_t *attrs;
    size_t attr_count;
    size_t blob_len;
    uint8_t *blob;
} sl_sqs_msg_t;

/* A FIFO deduplication entry: a deduplication id seen within the last 5 minutes. */
typedef struct {
    char *dedup_id;
    char message_id[40];
    char sequence_number[24];
    int64_t at_ms;
} sl_sqs_dedup_t;

typedef struct {
    char name[96];
    char arn[192];
    uint64_t incarnation; /* unique per creation: stale completions find a newer queue */
    uint64_t epoch;       /* raised by each purge: sends acknowledged before it are dropped */
    /* every attribute SQS stores, as strings, and the ones the core acts on, parsed */
    sl_sqs_kv_t attrs[SL_SQS_ATTRS_STORED_MAX];
    size_t attr_count;
    sl_sqs_kv_t tags[SL_SQS_TAGS_MAX];
    size_t tag_count;
    int visibility_timeout;
    int retention_s;
    int delay_s;
    int wait_s;
    int max_size;
    /* RedrivePolicy: the dead-letter queue (same account) and maxReceiveCount; 0 = none */
    char dlq[96];
    int max_receive;
    bool fifo;
    bool content_dedup;
    int64_t created_ms, modified_ms, purged_ms;
    sl_sqs_msg_t *head, *tail;
    size_t count;
    uint64_t next_seq;
    sl_sqs_dedup_t *dedup;
    size_t dedup_count, dedup_cap;
} sl_sqs_queue_t;

/* A long poll waiting for a message. */
typedef struct sl_sqs_waiter {
    struct sl_sqs_waiter *next;
    char queue[96];
    uint64_t incarnation;
    int max_messages;
    int visibility_timeout;
    int64_t deadline_ms;
    void (*done)(void *ctx, sl_sqs_received_t *r);
    void *ctx;
} sl_sqs_waiter_t;

struct sl_sqs {
    char region[32];
    char account[16];
    pthread_mutex_t mu;
    sl_sqs_queue_t *queues[SL_SQS_QUEUES_MAX];
    size_t queue_count;
    uint64_t next_incarnation;
    uint64_t next_receipt;
    sl_sqs_waiter_t *waiters;
    size_t waiter_count;
    bool stopping;        /* sl_sqs_stop: no new waits */
    pthread_cond_t tcond; /* wakes the timer thread (with mu) */
    pthread_t timer;
    bool timer_started;
    bool timer_quit;
    /* the store and its group-commit writer (catalog/itemwriter.h) */
    sl_itemstore_t *store;
    sl_itemwriter_t *writer;
};

/* The stored encodings' primitives (little-endian; strings as u32 length + bytes). */
#include "core/buf.h"
typedef struct {
    const uint8_t *p, *end;
    bool bad;
} sl_sqs_rd_t;
void sl_sqs_put_u64(sl_buf_t *b, uint64_t v);
void sl_sqs_put_bytes(sl_buf_t *b, const void *p, size_t len);
void sl_sqs_put_str(sl_buf_t *b, const char *s);
uint64_t sl_sqs_get_u64(sl_sqs_rd_t *r);
/* The next length-prefixed bytes (pointing into the input), *len set. */
const uint8_t *sl_sqs_get_bytes(sl_sqs_rd_t *r, size_t *len);
/* The next string, malloc'd (NULL when bad or out of memory: r->bad set). */
char *sl_sqs_get_str(sl_sqs_rd_t *r);

void sl_sqs_fail(sl_sqs_err_t *err, sl_sqs_err_type_t type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int sl_sqs_internal(sl_sqs_err_t *err, int code);
/* Queues a store change and/or a completion (caller holds mu, so changes reach the store in
 * memory order). */
int sl_sqs_enqueue(sl_sqs_t *sqs, bool has_op, sl_itemstore_op_kind_t kind, const char *table,
                   const void *key, size_t key_len, const void *val, size_t val_len,
                   void (*done)(void *ctx, int status), void *ctx);
sl_sqs_queue_t *sl_sqs_find(sl_sqs_t *sqs, const char *name);
/* Frees a queue and its messages (caller has unlinked it). */
void sl_sqs_queue_free(sl_sqs_queue_t *q);
/* Queue metadata: encode the stored blob; decode one into a new queue. */
int sl_sqs_queue_encode(const sl_sqs_queue_t *q, uint8_t **out, size_t *len);
int sl_sqs_queue_decode(sl_sqs_t *sqs, const char *name, const uint8_t *p, size_t len,
                        sl_sqs_queue_t **out);
/* A message from its stored blob (copied). */
sl_sqs_msg_t *sl_sqs_msg_decode(const char *id, const uint8_t *blob, size_t len);
void sl_sqs_msg_link(sl_sqs_queue_t *q, sl_sqs_msg_t *m);
void sl_sqs_msg_unlink(sl_sqs_queue_t *q, sl_sqs_msg_t *m);
/* Wakes the timer thread (caller holds mu). */
void sl_sqs_wake(sl_sqs_t *sqs);
/* Takes up to max visible messages of q into a new result (caller holds mu); NULL on ENOMEM. */
sl_sqs_received_t *sl_sqs_take(sl_sqs_t *sqs, sl_sqs_queue_t *q, int max, int visibility_s,
                               int64_t now_ms);
/* The earliest time a message of q becomes visible, or INT64_MAX (caller holds mu). */
int64_t sl_sqs_next_visible(const sl_sqs_queue_t *q, int64_t now_ms);

#endif
