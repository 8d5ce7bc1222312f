/* Functions: the Lambda service core (docs/functions.md), typed and transport-free. It keeps each
 * account's functions (configuration and unzipped code, durable under <account dir>/functions/),
 * runs them in execution environments (child processes speaking the Lambda Runtime API), and
 * answers the Lambda operations and the Runtime API calls as typed requests.
 *
 * Threads: one supervisor thread with its own loop owns every piece of state (functions,
 * environments, invocations, the Event queues); sl_fn_submit and sl_fn_runtime_submit post their
 * request to it and its `done` callback runs on the supervisor thread (the bindings post the
 * answer back to their network loop). Each environment has a reader thread that collects its
 * output and waits for its exit. File I/O (zips, configuration, logs, queued events) runs on the
 * supervisor thread, never on a network thread.
 *
 * Safety: creating a function runs its code on this host, as the server's user, with a reduced
 * environment, in the function's own directory, under rlimits (docs/functions.md, "Safety"). The
 * admin-only check belongs to the caller (the binding's hook, sl_fn_config_t.may_create). */
#ifndef SL_FUNCTIONS_FUNCTIONS_H
#define SL_FUNCTIONS_FUNCTIONS_H

#include "core/limits.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sl_functions sl_functions_t;
typedef struct sl_fn_account sl_fn_account_t;

typedef struct {
    const char *region;
    const char *runtime_dir; /* where the runtime-interface clients are written at start */
    int concurrency;         /* concurrent executions per account (AWS's default quota: 1000) */
    int64_t retry_delay_ms;  /* Event invocations: first retry after this, second after twice */
    const char *user;        /* run function processes as this user (name or uid); NULL: ours */
} sl_functions_config_t;

/* Starts the supervisor thread and writes the runtime clients into runtime_dir. */
int sl_functions_create(const sl_functions_config_t *cfg, sl_functions_t **out);
/* Kills every environment and stops the supervisor: afterwards no `done` callback runs (requests
 * still in flight are never completed; their servers free them). NULL or repeated: no-op. */
void sl_functions_stop(sl_functions_t *fns);
/* Stops (if not yet) and frees everything. */
void sl_functions_destroy(sl_functions_t *fns);
/* The Runtime API's "host:port" (the runtime binding's loopback server); set before the first
 * invocation. */
void sl_functions_set_runtime_api(sl_functions_t *fns, const char *host_port);
/* ---- the execution role ---- */

/* Credentials a function's processes get in AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
 * AWS_SESSION_TOKEN, as Lambda gives them a session of the function's execution role. */
typedef struct {
    char access_key_id[24];
    char secret[48];
    char session_token[SL_AUTH_SESSION_TOKEN_BYTES_MAX]; /* "" for none */
    int64_t expiration_s;                                /* 0: they do not expire */
} sl_fn_creds_t;

/* The composition root's hook: credentials of a session of role_arn for function `name` of
 * account `account` at now_s. Returns 0, SL_EINVAL when Lambda may not assume the role
 * (CreateFunction and UpdateFunctionConfiguration answer InvalidParameterValueException), or
 * another SL_E*. Runs on the supervisor thread. */
typedef int (*sl_fn_role_fn)(void *ctx, const char *account, const char *role_arn, const char *name,
                             int64_t now_s, sl_fn_creds_t *out);

/* Sets the role hook and the URL of this server's API, which processes get in AWS_ENDPOINT_URL
 * (so that an AWS SDK in the function calls this server) unless the function's Environment sets
 * it. Before the first invocation, like sl_functions_set_runtime_api. */
void sl_functions_set_identity(sl_functions_t *fns, sl_fn_role_fn role_fn, void *ctx,
                               const char *endpoint_url);

/* Opens the functions of account `account_id` stored under dir/functions/ (creating nothing until
 * the first function), and resumes their queued Event invocations. */
int sl_functions_account_open(sl_functions_t *fns, const char *account_id, const char *dir,
                              sl_fn_account_t **out);

/* ---- the Lambda operations ---- */

typedef enum {
    SL_FN_CREATE,
    SL_FN_GET,
    SL_FN_LIST,
    SL_FN_UPDATE_CODE,
    SL_FN_UPDATE_CONFIG,
    SL_FN_DELETE,
    SL_FN_INVOKE,
    SL_FN_PUT_CONCURRENCY,
    SL_FN_DELETE_CONCURRENCY,
    SL_FN_GET_CONCURRENCY,
} sl_fn_op_kind_t;

typedef enum { SL_FN_INVOKE_SYNC, SL_FN_INVOKE_EVENT, SL_FN_INVOKE_DRY_RUN } sl_fn_invoke_type_t;

/* A function's configuration as GetFunctionConfiguration shows it. */
typedef struct {
    char name[SL_FN_NAME_BYTES_MAX];
    char arn[SL_FN_ARN_BYTES_MAX];
    char runtime[32];
    char handler[SL_FN_HANDLER_BYTES_MAX];
    char role[SL_FN_ARN_BYTES_MAX];
    char description[SL_FN_DESCRIPTION_BYTES_MAX];
    int timeout_s;
    int memory_mb;
    int reserved_concurrency; /* -1: none */
    char *env;                /* "K\0V\0K\0V\0" (env_len bytes), owned */
    size_t env_len;
    char code_path[SL_DATA_PATH_BYTES_MAX]; /* a local directory used in place, or "" */
    char code_sha256[48];                   /* base64 */
    int64_t code_size;
    int64_t last_modified_ms;
    char revision_id[40];
    const char *state;       /* "Pending", "Active" (static) */
    const char *last_update; /* "Successful", "InProgress" (static) */
} sl_fn_config_t;

/* Members of a create or update; has_* says which were given. */
typedef struct {
    bool has_runtime, has_handler, has_role, has_description, has_timeout, has_memory, has_env;
    const char *runtime, *handler, *role, *description;
    int timeout_s, memory_mb;
    const char *const *env_keys; /* env_count pairs */
    const char *const *env_values;
    size_t env_count;
} sl_fn_spec_t;

typedef struct sl_fn_op sl_fn_op_t;
/* One Lambda operation. Inputs are borrowed until `done` runs; outputs are owned by the op until
 * sl_fn_op_deinit. */
struct sl_fn_op {
    sl_fn_op_kind_t kind;
    sl_fn_account_t *account;
    const char *function_name; /* name, ARN or partial ARN (with an optional :qualifier) */
    const char *qualifier;     /* NULL or "$LATEST" */
    sl_fn_spec_t spec;         /* CREATE, UPDATE_CONFIG */
    const uint8_t *zip;        /* CREATE, UPDATE_CODE: the deployment package */
    size_t zip_len;
    const char *local_path; /* CREATE, UPDATE_CODE: a directory on this host instead of a zip */
    const char *marker;     /* LIST */
    int max_items;          /* LIST; 0 = 50 */
    int concurrency;        /* PUT_CONCURRENCY */
    sl_fn_invoke_type_t invoke_type;
    const uint8_t *payload; /* INVOKE */
    size_t payload_len;
    bool log_tail;
    /* results */
    const char *error_type; /* NULL on success, else the AWS error type */
    char error_message[512];
    const char *throttle_reason; /* TooManyRequestsException's Reason */
    sl_fn_config_t config;       /* the function after the operation */
    sl_fn_config_t *list;        /* LIST */
    size_t list_count;
    char next_marker[SL_FN_NAME_BYTES_MAX];
    int status_code;            /* INVOKE: 200, 202, 204 */
    const char *function_error; /* INVOKE: "Unhandled" or NULL */
    uint8_t *result;            /* INVOKE: the response payload or error document */
    size_t result_len;
    char *log_result; /* INVOKE with log_tail: the last 4 KB of the log, base64 */
    void (*done)(sl_fn_op_t *op);
    void *arg;
};

/* Runs op on the supervisor thread; op->done(op) runs there when it completes (exactly once). */
void sl_fn_submit(sl_fn_op_t *op);
void sl_fn_op_deinit(sl_fn_op_t *op);
void sl_fn_config_deinit(sl_fn_config_t *cfg);

/* ---- the Runtime API ---- */

typedef enum {
    SL_FN_RT_NEXT,       /* GET  .../runtime/invocation/next */
    SL_FN_RT_RESPONSE,   /* POST .../runtime/invocation/{id}/response */
    SL_FN_RT_ERROR,      /* POST .../runtime/invocation/{id}/error */
    SL_FN_RT_INIT_ERROR, /* POST .../runtime/init/error */
} sl_fn_rt_kind_t;

typedef enum {
    SL_FN_RT_OK,        /* 200 (next) / 202 */
    SL_FN_RT_FORBIDDEN, /* unknown environment token */
    SL_FN_RT_INVALID,   /* not the invocation in progress: InvalidRequestID */
    SL_FN_RT_TOO_LARGE, /* response payload over 6 MB */
    SL_FN_RT_GONE,      /* the environment is being stopped (the client should exit) */
} sl_fn_rt_status_t;

typedef struct sl_fn_rt sl_fn_rt_t;
struct sl_fn_rt {
    sl_fn_rt_kind_t kind;
    const char *token;      /* the environment's, from AWS_LAMBDA_RUNTIME_API's path */
    const char *request_id; /* RESPONSE, ERROR */
    const uint8_t *body;    /* RESPONSE, ERROR, INIT_ERROR (borrowed) */
    size_t body_len;
    const char *error_type; /* Lambda-Runtime-Function-Error-Type, or NULL */
    /* results */
    sl_fn_rt_status_t status;
    char out_request_id[40]; /* NEXT: the invocation */
    int64_t deadline_ms;
    char function_arn[SL_FN_ARN_BYTES_MAX];
    char trace_id[80];
    uint8_t *event; /* owned until sl_fn_rt_deinit */
    size_t event_len;
    void (*done)(sl_fn_rt_t *rt);
    void *arg;
};

void sl_fn_runtime_submit(sl_functions_t *fns, sl_fn_rt_t *rt);
void sl_fn_rt_deinit(sl_fn_rt_t *rt);

#endif
