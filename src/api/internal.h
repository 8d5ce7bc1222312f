/* Shared between the API front (front.c) and the Kinesis operation handlers (kinesis_*.c). */
#ifndef SL_API_INTERNAL_H
#define SL_API_INTERNAL_H

#include "api/api.h"
#include "core/common.h"
#include "api/model.h"
#include "core/buf.h"
#include "wire/awserror.h"
#include "wire/enc.h"
#include "wire/value.h"

#include <pthread.h>
#include <stdarg.h>

typedef struct sl_sub sl_sub_t;

struct sl_api {
    sl_kinesis_t *k;           /* the default account's engine */
    int (*account)(void *ctx, const char *access_key_id, sl_kinesis_t **out); /* see api.h */
    void *account_ctx;
    /* Every engine connected (sl_api_attach_kinesis), for the deletion kicks of SubscribeToShard
     * (sl_kapi_subs_kick); guarded by engines_mu. The subscriptions themselves are registered in
     * each engine's fan-out registry (kinesis/listen.c). */
    pthread_mutex_t engines_mu;
    sl_kinesis_t **engines;
    size_t engine_count;
    /* CORS (front.c): origins allowed to call from a browser, lower-cased, owned; see api.h. */
    char **cors_origins;
    size_t cors_origin_count;
    bool cors_any;             /* "*": only with signatures verified */
};

/* The list of connected engines (kinesis_subscribe.c). */
void sl_kapi_subs_init(sl_api_t *api);
void sl_kapi_subs_deinit(sl_api_t *api);

/* One API call; lives in the request arena until the response is sent. */
typedef struct sl_api_call {
    sl_api_t *api;
    sl_kinesis_t *k;
    sl_http_req_t *req;
    sl_arena_t *arena;
    sl_fmt_t fmt;
    const sl_op_t *op;
    sl_val_t *in;           /* validated input (a map; never NULL) */
    int64_t now_ms;
    char request_id[40];
    sl_buf_t out;           /* response body */
    sl_enc_t enc;           /* writes into out */
    const char *origin;     /* CORS: Origin header or NULL */
    void *state;            /* the handler's own state, for asynchronous handlers */
    void (*post_fn)(struct sl_api_call *call); /* pending sl_api_post */
} sl_api_call_t;

typedef void (*sl_api_op_fn)(sl_api_call_t *call);

/* Sends 200 with the encoded body in call->out (empty body when nothing was written). */
void sl_api_reply(sl_api_call_t *call);
/* Sends an AWS error: `type` is an SL_AWS_* constant (wire/awserror.h), whose table gives the HTTP
 * status. `fmt` NULL = no message. */
void sl_api_fail(sl_api_call_t *call, const char *type, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Sends InternalFailure (500) for an operation that failed with `code` (an SL_E* value from the
 * storage or the catalog), with the message naming the cause (sl_aws_failure_message). */
void sl_api_fail_internal(sl_api_call_t *call, int code);
/* Runs fn(call) on the request's loop thread (from storage threads). */
void sl_api_post(sl_api_call_t *call, void (*fn)(sl_api_call_t *call));

sl_api_op_fn sl_kinesis_op_handler(const char *name);

#endif
