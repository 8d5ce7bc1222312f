/* The SQS core (docs/sqs.md): the queues of one account, typed and transport-free. Queues and
 * their messages live in memory and are written through to the account's item store (sqs.db,
 * catalog/itemstore.h) by the core's writer thread, grouped: a send is acknowledged (its done
 * callback runs with 0) only once the message is durable, so an acknowledged SendMessage
 * survives kill -9. Receives, visibility changes and receive counts are kept in memory only: after
 * a restart every message is visible again (SQS's at-least-once delivery allows it).
 *
 * Callers: the SQS binding (api/sqs/, JSON 1.0 and Query), the SNS core (delivery to SQS
 * subscriptions) and the event-source mappings (OnFailure destinations, by queue ARN).
 *
 * Errors: functions return 0, or SL_EINVAL with *err set to SQS's error (type and AWS's text), or
 * another negative SL_E* (then err->type is SL_SQS_INTERNAL_ERROR). A function that takes a done
 * callback and fails never calls it.
 *
 * Threads: every function may be called from any thread; done callbacks run on the writer thread
 * (durable writes) or the core's timer thread (long polls), or inside the call itself; they must
 * not block. Long polls wait without a thread of their own: a receive that finds no message
 * registers a waiter that a send, a visibility expiry or its deadline completes. */
#ifndef SL_SQS_SQS_H
#define SL_SQS_SQS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sl_sqs sl_sqs_t;

/* SQS's errors: the enum, the JSON protocol's shape name (__type "com.amazonaws.sqs#<name>"),
 * the Query protocol's code (also the x-amzn-query-error header of JSON answers) and the status. */
#define SL_SQS_ERRORS(X)                                                                           \
    X(SL_SQS_QUEUE_DOES_NOT_EXIST, "QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue", \
      400)                                                                                         \
    X(SL_SQS_QUEUE_NAME_EXISTS, "QueueNameExists", "QueueAlreadyExists", 400)                      \
    X(SL_SQS_INVALID_PARAMETER_VALUE, "InvalidParameterValue", "InvalidParameterValue", 400)       \
    X(SL_SQS_MISSING_PARAMETER, "MissingParameter", "MissingParameter", 400)                       \
    X(SL_SQS_INVALID_ATTRIBUTE_NAME, "InvalidAttributeName", "InvalidAttributeName", 400)          \
    X(SL_SQS_INVALID_ATTRIBUTE_VALUE, "InvalidAttributeValue", "InvalidAttributeValue", 400)       \
    X(SL_SQS_RECEIPT_HANDLE_IS_INVALID, "ReceiptHandleIsInvalid", "ReceiptHandleIsInvalid", 400)   \
    X(SL_SQS_MESSAGE_NOT_INFLIGHT, "MessageNotInflight",                                           \
      "AWS.SimpleQueueService.MessageNotInflight", 400)                                            \
    X(SL_SQS_PURGE_QUEUE_IN_PROGRESS, "PurgeQueueInProgress",                                      \
      "AWS.SimpleQueueService.PurgeQueueInProgress", 400)                                          \
    X(SL_SQS_INVALID_MESSAGE_CONTENTS, "InvalidMessageContents", "InvalidMessageContents", 400)    \
    X(SL_SQS_TOO_MANY_ENTRIES, "TooManyEntriesInBatchRequest",                                     \
      "AWS.SimpleQueueService.TooManyEntriesInBatchRequest", 400)                                  \
    X(SL_SQS_EMPTY_BATCH, "EmptyBatchRequest", "AWS.SimpleQueueService.EmptyBatchRequest", 400)    \
    X(SL_SQS_BATCH_IDS_NOT_DISTINCT, "BatchEntryIdsNotDistinct",                                   \
      "AWS.SimpleQueueService.BatchEntryIdsNotDistinct", 400)                                      \
    X(SL_SQS_INVALID_BATCH_ENTRY_ID, "InvalidBatchEntryId",                                        \
      "AWS.SimpleQueueService.InvalidBatchEntryId", 400)                                           \
    X(SL_SQS_BATCH_REQUEST_TOO_LONG, "BatchRequestTooLong",                                        \
      "AWS.SimpleQueueService.BatchRequestTooLong", 400)                                           \
    X(SL_SQS_OVER_LIMIT, "OverLimit", "OverLimit", 403)                                            \
    X(SL_SQS_UNSUPPORTED_OPERATION, "UnsupportedOperation",                                        \
      "AWS.SimpleQueueService.UnsupportedOperation", 400)                                          \
    X(SL_SQS_INTERNAL_ERROR, "InternalError", "InternalError", 500)

typedef enum {
    SL_SQS_OK = 0,
#define SL_SQS_ENUM_(e, name, code, status) e,
    SL_SQS_ERRORS(SL_SQS_ENUM_)
#undef SL_SQS_ENUM_
} sl_sqs_err_type_t;

typedef struct {
    sl_sqs_err_type_t type;
    int cause; /* SL_SQS_INTERNAL_ERROR: the SL_E* code */
    char message[320];
} sl_sqs_err_t;

/* The JSON shape name, the Query code and the HTTP status of an error type. */
const char *sl_sqs_err_name(sl_sqs_err_type_t type);
const char *sl_sqs_err_code(sl_sqs_err_type_t type);
int sl_sqs_err_status(sl_sqs_err_type_t type);

typedef struct {
    const char *path;    /* the item store file (<account dir>/sqs.db) */
    const char *region;  /* for ARNs */
    const char *account; /* 12 digits */
} sl_sqs_config_t;

/* Opens the account's queues (loading every queue and message from the store) and starts the
 * writer and timer threads. */
int sl_sqs_open(const sl_sqs_config_t *cfg, sl_sqs_t **out);
/* Completes every waiting long poll with no messages at once and refuses new waits (call before
 * the network loops stop: a waiter's completion posts to its loop). */
void sl_sqs_stop(sl_sqs_t *sqs);
/* Stops the threads (pending writes complete first) and frees everything. NULL is a no-op. */
void sl_sqs_close(sl_sqs_t *sqs);

const char *sl_sqs_account(const sl_sqs_t *sqs);
const char *sl_sqs_region(const sl_sqs_t *sqs);

/* A completion of a durable change: status 0 (durable) or a negative SL_E* (the store failed; the
 * change did not happen). */
typedef void (*sl_sqs_done_fn)(void *ctx, int status);

/* ---- queues ---- */

/* A queue attribute as SQS names it ("VisibilityTimeout" = "30"). */
typedef struct {
    const char *name;
    const char *value;
} sl_sqs_kv_t;

/* Creates `name` with attributes and tags; a queue of that name with the same attributes exists
 * already: success (SQS's idempotent CreateQueue); different attributes: QueueNameExists. */
int sl_sqs_create_queue(sl_sqs_t *sqs, const char *name, const sl_sqs_kv_t *attrs,
                        size_t attr_count, const sl_sqs_kv_t *tags, size_t tag_count,
                        int64_t now_ms, sl_sqs_err_t *err, sl_sqs_done_fn done, void *ctx);
/* Deletes a queue and its messages. */
int sl_sqs_delete_queue(sl_sqs_t *sqs, const char *name, sl_sqs_err_t *err, sl_sqs_done_fn done,
                        void *ctx);
/* QueueDoesNotExist unless the queue exists. */
int sl_sqs_queue_exists(sl_sqs_t *sqs, const char *name, sl_sqs_err_t *err);
/* Names of the queues starting with prefix (NULL = all), sorted, after `after` (NULL = from the
 * first), at most max; malloc'd array of malloc'd names (sl_sqs_names_free). *more when more
 * follow. */
int sl_sqs_list_queues(sl_sqs_t *sqs, const char *prefix, const char *after, size_t max,
                       char ***names, size_t *count, bool *more);
void sl_sqs_names_free(char **names, size_t count);
/* The queue's attributes (all when `all`, else those named; an unknown name: InvalidAttributeName)
 * as malloc'd name/value pairs (sl_sqs_kvs_free), computed ones (ApproximateNumberOfMessages...,
 * QueueArn, CreatedTimestamp) included. */
int sl_sqs_get_attributes(sl_sqs_t *sqs, const char *name, const char *const *names,
                          size_t name_count, int64_t now_ms, sl_sqs_kv_t **out, size_t *count,
                          sl_sqs_err_t *err);
void sl_sqs_kvs_free(sl_sqs_kv_t *kvs, size_t count);
int sl_sqs_set_attributes(sl_sqs_t *sqs, const char *name, const sl_sqs_kv_t *attrs,
                          size_t attr_count, int64_t now_ms, sl_sqs_err_t *err, sl_sqs_done_fn done,
                          void *ctx);
/* Deletes every message (once per 60 s: PurgeQueueInProgress). */
int sl_sqs_purge(sl_sqs_t *sqs, const char *name, int64_t now_ms, sl_sqs_err_t *err,
                 sl_sqs_done_fn done, void *ctx);

/* The queue name and account of a queue ARN ("arn:aws:sqs:<region>:<account>:<name>"): 0, or
 * SL_EINVAL when arn is not one. */
int sl_sqs_parse_arn(const char *arn, char name[81], char account[16]);

/* ---- messages ---- */

/* A message attribute: DataType "String", "Number", "Binary" or "<one of those>.<custom>";
 * value = StringValue (UTF-8) or BinaryValue (raw bytes). */
typedef struct {
    const char *name;
    const char *data_type;
    const uint8_t *value;
    size_t value_len;
} sl_sqs_attr_t;

typedef struct {
    const char *queue; /* the queue's name */
    const uint8_t *body;
    size_t body_len;
    int delay_seconds; /* -1 = the queue's DelaySeconds */
    const sl_sqs_attr_t *attrs;
    size_t attr_count;
    const char *group_id;  /* FIFO queues: MessageGroupId (required there), else NULL */
    const char *dedup_id;  /* FIFO queues: MessageDeduplicationId, or NULL */
    const char *sender_id; /* SenderId attribute; NULL = the account */
} sl_sqs_send_t;

typedef struct {
    char message_id[40];
    char md5_body[33];
    char md5_attrs[33];       /* "" when the message has no attributes */
    char sequence_number[24]; /* FIFO queues, else "" */
} sl_sqs_sent_t;

/* Sends a message: *sent is filled before the function returns; done(ctx, 0) runs once the
 * message is durable and visible to receivers (after its delay). Errors as SQS gives them
 * (QueueDoesNotExist, InvalidParameterValue for a body or attribute over the size limits,
 * InvalidMessageContents for characters SQS refuses, MissingParameter for a FIFO queue without
 * MessageGroupId). A FIFO duplicate (same deduplication id within 5 minutes) succeeds with the
 * first message's id and is not stored again. */
int sl_sqs_send(sl_sqs_t *sqs, const sl_sqs_send_t *req, int64_t now_ms, sl_sqs_sent_t *sent,
                sl_sqs_err_t *err, sl_sqs_done_fn done, void *ctx);

/* For callers on their own threads (never a network thread: it waits for the disk): sends a
 * message to the queue `queue_arn` of this account with no attributes and waits until it is
 * durable. The OnFailure destination of an event-source mapping is such a call. Returns 0 (sent
 * filled), SL_EINVAL with *err (QueueDoesNotExist also for an ARN of another account or region),
 * or the store's SL_E*. */
int sl_sqs_send_arn_wait(sl_sqs_t *sqs, const char *queue_arn, const void *body, size_t body_len,
                         sl_sqs_sent_t *sent, sl_sqs_err_t *err);

/* One received message; its strings are owned by the sl_sqs_received_t that holds it. */
typedef struct {
    char message_id[40];
    char *receipt_handle;
    char md5_body[33];
    char md5_attrs[33];
    uint8_t *body;
    size_t body_len;
    sl_sqs_attr_t *attrs; /* sorted by name */
    size_t attr_count;
    int64_t sent_ms;
    int64_t first_receive_ms;
    int receive_count;
    char sender_id[64];
    char *group_id; /* FIFO, else NULL */
    char *dedup_id; /* FIFO, else NULL */
    char sequence_number[24];
    void *owned_; /* the bytes body and attrs point into (freed with the result) */
} sl_sqs_message_t;

typedef struct {
    sl_sqs_message_t *messages;
    size_t count;
} sl_sqs_received_t;

typedef struct {
    const char *queue;
    int max_messages;       /* 1..10 */
    int visibility_timeout; /* -1 = the queue's */
    int wait_seconds;       /* -1 = the queue's ReceiveMessageWaitTimeSeconds; 0..20 */
} sl_sqs_receive_t;

/* Receives up to max_messages visible messages (making them invisible for the visibility
 * timeout). done(ctx, r) runs exactly once (when 0 is returned): at once when messages are
 * visible or the wait is 0, else when one becomes visible or the wait ends (r->count 0); r is
 * malloc'd and the callee frees it with sl_sqs_received_free. Errors: QueueDoesNotExist,
 * InvalidParameterValue (AWS's texts for MaxNumberOfMessages, VisibilityTimeout,
 * WaitTimeSeconds). */
int sl_sqs_receive(sl_sqs_t *sqs, const sl_sqs_receive_t *req, int64_t now_ms, sl_sqs_err_t *err,
                   void (*done)(void *ctx, sl_sqs_received_t *r), void *ctx);
void sl_sqs_received_free(sl_sqs_received_t *r);

/* Deletes the message a receipt handle names (an unknown but well-formed handle succeeds, as on
 * SQS; a malformed one is ReceiptHandleIsInvalid). done runs once the deletion is durable. */
int sl_sqs_delete_message(sl_sqs_t *sqs, const char *queue, const char *receipt_handle,
                          sl_sqs_err_t *err, sl_sqs_done_fn done, void *ctx);
/* Makes an in-flight message visible again after timeout_s (0..43200) from now. */
int sl_sqs_change_visibility(sl_sqs_t *sqs, const char *queue, const char *receipt_handle,
                             int timeout_s, int64_t now_ms, sl_sqs_err_t *err);

/* MD5 (hex) of message attributes as SQS computes MD5OfMessageAttributes (sorted by name; each
 * name, data type and value length-prefixed, the transport byte 1 for strings, 2 for binary). */
void sl_sqs_md5_attrs(const sl_sqs_attr_t *attrs, size_t count, char out[33]);

#endif
