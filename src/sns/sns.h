/* The SNS core (docs/sns.md): the topics and subscriptions of one account, typed and
 * transport-free. Topics and subscriptions are written through to the account's item store
 * (sns.db); a publish is delivered to every confirmed subscription: to SQS queues in-process (in
 * SNS's JSON envelope, or raw with RawMessageDelivery) and to HTTP/HTTPS endpoints by a delivery
 * thread with net's outbound client (POST with SNS's headers, retried with backoff). An HTTP
 * subscription starts pending: the endpoint receives a SubscriptionConfirmation message whose
 * SubscribeURL (on this server) confirms it, as on SNS.
 *
 * Callers: the SNS binding (api/sns/, Query protocol) and the event-source mappings (OnFailure
 * destinations, by topic ARN).
 *
 * Errors: functions return 0, or SL_EINVAL with *err set to SNS's error (Query code and AWS's
 * text), or another negative SL_E* (err->type SL_SNS_INTERNAL_ERROR).
 *
 * Threads: every function may be called from any thread; durable changes complete through a done
 * callback run by the writer thread (never inside the call). */
#ifndef SL_SNS_SNS_H
#define SL_SNS_SNS_H

#include "sqs/sqs.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sl_sns sl_sns_t;

/* SNS's errors: the enum, the Query code and the status. */
#define SL_SNS_ERRORS(X)                                                                           \
    X(SL_SNS_NOT_FOUND, "NotFound", 404)                                                           \
    X(SL_SNS_INVALID_PARAMETER, "InvalidParameter", 400)                                           \
    X(SL_SNS_INVALID_PARAMETER_VALUE, "ParameterValueInvalid", 400)                                \
    X(SL_SNS_AUTHORIZATION_ERROR, "AuthorizationError", 403)                                       \
    X(SL_SNS_TOPIC_LIMIT_EXCEEDED, "TopicLimitExceeded", 403)                                      \
    X(SL_SNS_SUBSCRIPTION_LIMIT_EXCEEDED, "SubscriptionLimitExceeded", 403)                        \
    X(SL_SNS_INTERNAL_ERROR, "InternalError", 500)

typedef enum {
    SL_SNS_OK = 0,
#define SL_SNS_ENUM_(e, code, status) e,
    SL_SNS_ERRORS(SL_SNS_ENUM_)
#undef SL_SNS_ENUM_
} sl_sns_err_type_t;

typedef struct {
    sl_sns_err_type_t type;
    int cause;
    char message[320];
} sl_sns_err_t;

const char *sl_sns_err_code(sl_sns_err_type_t type);
int sl_sns_err_status(sl_sns_err_type_t type);

typedef struct {
    const char *path; /* the item store file (<account dir>/sns.db) */
    const char *region;
    const char *account;
    /* The SQS core of an account, for deliveries to SQS subscriptions (the queue ARN names the
     * account). Returns 0 and *out, or SL_ENOTFOUND. */
    int (*sqs_of_account)(void *ctx, const char *account, sl_sqs_t **out);
    void *sqs_ctx;
    /* HTTP endpoints: TLS certificates are not verified when set (tests with self-signed
     * endpoints). */
    bool tls_insecure;
} sl_sns_config_t;

int sl_sns_open(const sl_sns_config_t *cfg, sl_sns_t **out);
/* Stops the delivery thread (queued deliveries are dropped, logged) and frees everything. */
void sl_sns_close(sl_sns_t *sns);

typedef void (*sl_sns_done_fn)(void *ctx, int status);

typedef struct {
    const char *name;
    const char *value;
} sl_sns_kv_t;

/* ---- topics ---- */

/* Creates topic `name` (idempotent: an existing topic's ARN); arn gets its ARN. */
int sl_sns_create_topic(sl_sns_t *sns, const char *name, const sl_sns_kv_t *attrs,
                        size_t attr_count, char arn[320], sl_sns_err_t *err, sl_sns_done_fn done,
                        void *ctx);
/* Deletes a topic and its subscriptions (a topic that does not exist: success, as on SNS). */
int sl_sns_delete_topic(sl_sns_t *sns, const char *arn, sl_sns_err_t *err, sl_sns_done_fn done,
                        void *ctx);
/* Topic ARNs in order after `after` (NULL = from the first), at most max (malloc'd; free with
 * sl_sns_strs_free); *more when more follow. */
int sl_sns_list_topics(sl_sns_t *sns, const char *after, size_t max, char ***arns, size_t *count,
                       bool *more);
void sl_sns_strs_free(char **strs, size_t count);
/* The topic's attributes (malloc'd pairs: sl_sns_kvs_free). NotFound: "Topic does not exist". */
int sl_sns_get_topic_attributes(sl_sns_t *sns, const char *arn, sl_sns_kv_t **out, size_t *count,
                                sl_sns_err_t *err);
int sl_sns_set_topic_attribute(sl_sns_t *sns, const char *arn, const char *name, const char *value,
                               sl_sns_err_t *err, sl_sns_done_fn done, void *ctx);
void sl_sns_kvs_free(sl_sns_kv_t *kvs, size_t count);

/* ---- subscriptions ---- */

typedef struct {
    char arn[400]; /* subscription ARN, or "PendingConfirmation" */
    char topic_arn[320];
    char owner[16];
    char protocol[16];
    char endpoint[1024];
} sl_sns_sub_info_t;

/* Subscribes endpoint to the topic: protocol "sqs" (a queue ARN; confirmed at once), "http" or
 * "https" (a URL; pending until the endpoint confirms). base_url is this server's URL as the
 * client reached it ("http://127.0.0.1:4567"), for SubscribeURL and UnsubscribeURL. *sub_arn gets
 * the subscription ARN, or "pending confirmation" (return_arn false and pending). */
int sl_sns_subscribe(sl_sns_t *sns, const char *topic_arn, const char *protocol,
                     const char *endpoint, const sl_sns_kv_t *attrs, size_t attr_count,
                     bool return_arn, const char *base_url, char sub_arn[400], sl_sns_err_t *err,
                     sl_sns_done_fn done, void *ctx);
/* Confirms a pending subscription by its token. */
int sl_sns_confirm(sl_sns_t *sns, const char *topic_arn, const char *token, char sub_arn[400],
                   sl_sns_err_t *err, sl_sns_done_fn done, void *ctx);
int sl_sns_unsubscribe(sl_sns_t *sns, const char *sub_arn, sl_sns_err_t *err, sl_sns_done_fn done,
                       void *ctx);
/* Subscriptions (of one topic when topic_arn is set; NotFound when it does not exist), from
 * index `start`, at most max (malloc'd array); *more when more follow. */
int sl_sns_list_subscriptions(sl_sns_t *sns, const char *topic_arn, size_t start, size_t max,
                              sl_sns_sub_info_t **out, size_t *count, bool *more,
                              sl_sns_err_t *err);
int sl_sns_get_subscription_attributes(sl_sns_t *sns, const char *sub_arn, sl_sns_kv_t **out,
                                       size_t *count, sl_sns_err_t *err);
int sl_sns_set_subscription_attribute(sl_sns_t *sns, const char *sub_arn, const char *name,
                                      const char *value, sl_sns_err_t *err, sl_sns_done_fn done,
                                      void *ctx);

/* ---- publish ---- */

/* A message attribute: DataType "String", "String.Array", "Number" or "Binary". */
typedef struct {
    const char *name;
    const char *data_type;
    const uint8_t *value;
    size_t value_len;
} sl_sns_attr_t;

typedef struct {
    const char *topic_arn;
    const char *message;
    size_t message_len;
    const char *subject; /* NULL = none */
    const sl_sns_attr_t *attrs;
    size_t attr_count;
    const char *group_id; /* FIFO topics */
    const char *dedup_id;
} sl_sns_publish_t;

/* Publishes to every confirmed subscription of the topic; message_id gets the message's id.
 * Deliveries happen after the call returns (SQS sends are queued at once; HTTP posts on the
 * delivery thread). NotFound ("Topic does not exist"), InvalidParameter for an empty or too long
 * message. */
int sl_sns_publish(sl_sns_t *sns, const sl_sns_publish_t *req, char message_id[40],
                   sl_sns_err_t *err);

/* For callers on their own threads (the OnFailure destination of an event-source mapping):
 * publishes body to the topic `topic_arn` of this account. Same result as sl_sns_publish. */
int sl_sns_publish_arn(sl_sns_t *sns, const char *topic_arn, const void *body, size_t body_len,
                       char message_id[40], sl_sns_err_t *err);

#endif
