/* The SQS core (sqs/): queues, durable sends that survive a reopen, receives with visibility,
 * deletes, FIFO deduplication, long polls woken by a send, SQS's error types and texts. */
#include "sqs/sqs.h"
#include "test.h"

#include "core/common.h"
#include "core/time.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    int done;
    int status;
    sl_sqs_received_t *r;
} sync_t;

static sync_t sync_v = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, NULL};

static void on_done(void *ctx, int status) {
    sync_t *s = ctx;
    pthread_mutex_lock(&s->mu);
    s->done++;
    s->status = status;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->mu);
}

static void on_received(void *ctx, sl_sqs_received_t *r) {
    sync_t *s = ctx;
    pthread_mutex_lock(&s->mu);
    s->done++;
    s->r = r;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->mu);
}

static void wait_for(int n) {
    pthread_mutex_lock(&sync_v.mu);
    while (sync_v.done < n)
        pthread_cond_wait(&sync_v.cond, &sync_v.mu);
    pthread_mutex_unlock(&sync_v.mu);
}

static sl_sqs_received_t *receive(sl_sqs_t *q, const char *queue, int max, int vt, int wait) {
    sl_sqs_err_t err;
    int before = sync_v.done;
    sl_sqs_receive_t req = {queue, max, vt, wait};
    CHECK_EQ_INT(sl_sqs_receive(q, &req, sl_time_now_ms(), &err, on_received, &sync_v), 0);
    wait_for(before + 1);
    sl_sqs_received_t *r = sync_v.r;
    sync_v.r = NULL;
    return r;
}

static void send_now(sl_sqs_t *q, const char *queue, const char *body, sl_sqs_sent_t *sent) {
    sl_sqs_err_t err;
    int before = sync_v.done;
    sl_sqs_send_t req = {.queue = queue,
                         .body = (const uint8_t *)body,
                         .body_len = strlen(body),
                         .delay_seconds = -1};
    CHECK_EQ_INT(sl_sqs_send(q, &req, sl_time_now_ms(), sent, &err, on_done, &sync_v), 0);
    wait_for(before + 1);
    CHECK_EQ_INT(sync_v.status, 0);
}

typedef struct {
    sl_sqs_t *q;
} sender_arg_t;

static void *late_sender(void *arg) {
    sender_arg_t *a = arg;
    usleep(200 * 1000);
    sl_sqs_sent_t sent;
    sl_sqs_err_t err;
    CHECK_EQ_INT(
        sl_sqs_send_arn_wait(a->q, "arn:aws:sqs:us-east-1:123456789012:q1", "late", 4, &sent, &err),
        0);
    return NULL;
}

int main(void) {
    char dir[] = "/tmp/sl-sqs-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[128];
    snprintf(path, sizeof path, "%s/sqs.db", dir);
    sl_sqs_config_t cfg = {path, "us-east-1", "123456789012"};
    sl_sqs_t *q;
    CHECK_EQ_INT(sl_sqs_open(&cfg, &q), 0);
    sl_sqs_err_t err;

    /* queues */
    sl_sqs_kv_t bad[] = {{"VisibilityTimeout", "43201"}};
    CHECK_EQ_INT(sl_sqs_create_queue(q, "q1", bad, 1, NULL, 0, 1000, &err, on_done, &sync_v),
                 SL_EINVAL);
    CHECK_EQ_INT(err.type, SL_SQS_INVALID_ATTRIBUTE_VALUE);
    CHECK_EQ_STR(err.message, "Invalid value for the parameter VisibilityTimeout.");
    CHECK_EQ_STR(sl_sqs_err_code(SL_SQS_QUEUE_DOES_NOT_EXIST),
                 "AWS.SimpleQueueService.NonExistentQueue");
    sl_sqs_kv_t attrs[] = {{"VisibilityTimeout", "5"}};
    CHECK_EQ_INT(sl_sqs_create_queue(q, "q1", attrs, 1, NULL, 0, 1000, &err, on_done, &sync_v), 0);
    wait_for(1);
    sl_sqs_kv_t other[] = {{"VisibilityTimeout", "6"}};
    CHECK_EQ_INT(sl_sqs_create_queue(q, "q1", other, 1, NULL, 0, 1000, &err, on_done, &sync_v),
                 SL_EINVAL);
    CHECK_EQ_INT(err.type, SL_SQS_QUEUE_NAME_EXISTS);
    CHECK_EQ_INT(sl_sqs_create_queue(q, "bad name", NULL, 0, NULL, 0, 1000, &err, NULL, NULL),
                 SL_EINVAL);
    CHECK_EQ_INT(err.type, SL_SQS_INVALID_PARAMETER_VALUE);

    /* send, receive, visibility, delete */
    sl_sqs_sent_t sent;
    send_now(q, "q1", "hello", &sent);
    CHECK_EQ_STR(sent.md5_body, "5d41402abc4b2a76b9719d911017c592");
    CHECK_EQ_STR(sent.md5_attrs, "");
    sl_sqs_received_t *r = receive(q, "q1", 10, -1, 0);
    CHECK_EQ_INT(r->count, 1);
    CHECK_EQ_INT(r->messages[0].receive_count, 1);
    CHECK(r->messages[0].body_len == 5 && memcmp(r->messages[0].body, "hello", 5) == 0);
    char handle[128];
    snprintf(handle, sizeof handle, "%s", r->messages[0].receipt_handle);
    sl_sqs_received_free(r);
    r = receive(q, "q1", 10, -1, 0); /* invisible now */
    CHECK_EQ_INT(r->count, 0);
    sl_sqs_received_free(r);
    CHECK_EQ_INT(sl_sqs_change_visibility(q, "q1", handle, 0, sl_time_now_ms(), &err), 0);
    r = receive(q, "q1", 10, 30, 0);
    CHECK_EQ_INT(r->count, 1);
    CHECK_EQ_INT(r->messages[0].receive_count, 2);
    snprintf(handle, sizeof handle, "%s", r->messages[0].receipt_handle);
    sl_sqs_received_free(r);
    CHECK_EQ_INT(sl_sqs_delete_message(q, "q1", "garbage", &err, NULL, NULL), SL_EINVAL);
    CHECK_EQ_INT(err.type, SL_SQS_RECEIPT_HANDLE_IS_INVALID);
    int before = sync_v.done;
    CHECK_EQ_INT(sl_sqs_delete_message(q, "q1", handle, &err, on_done, &sync_v), 0);
    wait_for(before + 1);
    CHECK_EQ_INT(sl_sqs_change_visibility(q, "q1", handle, 10, sl_time_now_ms(), &err), SL_EINVAL);

    /* a long poll is answered by a later send, well before its 5 s wait ends */
    pthread_t t;
    sender_arg_t arg = {q};
    pthread_create(&t, NULL, late_sender, &arg);
    int64_t t0 = sl_time_mono_ms();
    r = receive(q, "q1", 1, -1, 5);
    int64_t waited = sl_time_mono_ms() - t0;
    pthread_join(t, NULL);
    CHECK_EQ_INT(r->count, 1);
    CHECK(waited >= 150 && waited < 3000);
    sl_sqs_received_free(r);
    /* ... and an empty long poll ends at its deadline */
    t0 = sl_time_mono_ms();
    r = receive(q, "q1", 1, -1, 1);
    waited = sl_time_mono_ms() - t0;
    CHECK_EQ_INT(r->count, 0);
    CHECK(waited >= 950 && waited < 3000);
    sl_sqs_received_free(r);

    /* FIFO: a group id is required; a duplicate within 5 minutes is the same message */
    sl_sqs_kv_t fifo[] = {{"FifoQueue", "true"}, {"ContentBasedDeduplication", "true"}};
    before = sync_v.done;
    CHECK_EQ_INT(sl_sqs_create_queue(q, "f.fifo", fifo, 2, NULL, 0, 1000, &err, on_done, &sync_v),
                 0);
    wait_for(before + 1);
    sl_sqs_send_t fr = {
        .queue = "f.fifo", .body = (const uint8_t *)"x", .body_len = 1, .delay_seconds = -1};
    CHECK_EQ_INT(sl_sqs_send(q, &fr, sl_time_now_ms(), &sent, &err, NULL, NULL), SL_EINVAL);
    CHECK_EQ_INT(err.type, SL_SQS_MISSING_PARAMETER);
    fr.group_id = "g";
    before = sync_v.done;
    sl_sqs_sent_t s1, s2;
    CHECK_EQ_INT(sl_sqs_send(q, &fr, sl_time_now_ms(), &s1, &err, on_done, &sync_v), 0);
    CHECK_EQ_INT(sl_sqs_send(q, &fr, sl_time_now_ms(), &s2, &err, on_done, &sync_v), 0);
    wait_for(before + 2);
    CHECK_EQ_STR(s1.message_id, s2.message_id);
    CHECK(s1.sequence_number[0] != 0);

    /* sends are durable: a reopened core has the messages and the queues */
    send_now(q, "q1", "kept", &sent);
    sl_sqs_close(q);
    CHECK_EQ_INT(sl_sqs_open(&cfg, &q), 0);
    r = receive(q, "q1", 10, -1, 0);
    CHECK_EQ_INT(r->count, 2);
    sl_sqs_received_free(r);
    sl_sqs_kv_t *kvs;
    size_t n;
    const char *names[] = {"All"};
    CHECK_EQ_INT(sl_sqs_get_attributes(q, "q1", names, 1, sl_time_now_ms(), &kvs, &n, &err), 0);
    bool vt = false;
    for (size_t i = 0; i < n; i++)
        if (strcmp(kvs[i].name, "VisibilityTimeout") == 0) vt = strcmp(kvs[i].value, "5") == 0;
    CHECK(vt);
    sl_sqs_kvs_free(kvs, n);
    CHECK_EQ_INT(
        sl_sqs_send_arn_wait(q, "arn:aws:sqs:us-east-1:999999999999:q1", "x", 1, &sent, &err),
        SL_EINVAL);
    CHECK_EQ_INT(err.type, SL_SQS_QUEUE_DOES_NOT_EXIST);
    sl_sqs_close(q);
    unlink(path);
    char wal[160];
    snprintf(wal, sizeof wal, "%s-wal", path);
    unlink(wal);
    snprintf(wal, sizeof wal, "%s-shm", path);
    unlink(wal);
    rmdir(dir);
    TEST_MAIN_END();
}
