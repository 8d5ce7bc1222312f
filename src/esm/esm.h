/* Event-source mappings (docs/event-source-mappings.md): what AWS Lambda does when it consumes a
 * Kinesis stream, typed and transport-free. A mapping names a stream (or an enhanced fan-out
 * consumer) and a function; the service reads every shard of the stream through the Kinesis
 * reader (kinesis/kinesis.h), builds the Kinesis event AWS builds, invokes the function through
 * the functions core (functions/functions.h, in process) and checkpoints each shard after the
 * batch was processed, durably, so that delivery is at-least-once across restarts and kill -9.
 *
 * Threads: one service thread with its own loop owns every mapping, poller and checkpoint; the
 * management operations (sl_esm_submit) run there and their `done` callback runs there too (the
 * binding posts the answer back to its network loop). Reads complete on the reader pool and
 * invocations on the functions supervisor; both post back to the service loop. Commit listeners
 * (one per account engine) wake pollers that caught up, so a record reaches its function without
 * polling delay and a producer never waits for a function (the listener only posts).
 *
 * Durability: each account keeps its mappings and checkpoints in <account dir>/esm.db (the item
 * store of catalog/itemstore.h, synchronous=FULL), written on the service thread. */
#ifndef SL_ESM_ESM_H
#define SL_ESM_ESM_H

#include "core/limits.h"
#include "functions/functions.h"
#include "kinesis/kinesis.h"
#include "objstore/objstore.h"
#include "sns/sns.h"
#include "sqs/sqs.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sl_esm sl_esm_t;
typedef struct sl_esm_account sl_esm_account_t;

typedef struct {
    const char *region;
} sl_esm_config_t;

/* Starts the service thread. */
int sl_esm_create(const sl_esm_config_t *cfg, sl_esm_t **out);
/* Stops polling and the service thread (call after sl_functions_stop: no invocation completes
 * afterwards) and removes the commit listeners. NULL or repeated: no-op. */
void sl_esm_stop(sl_esm_t *esm);
/* Frees everything; after the Kinesis engines were closed (their reads completed). */
void sl_esm_destroy(sl_esm_t *esm);

/* What one account's mappings use; the pointers stay the caller's and outlive the service. */
typedef struct {
    const char *account_id;
    const char *dir;            /* where esm.db lives */
    sl_kinesis_t *kinesis;      /* the account's streams */
    sl_fn_account_t *functions; /* NULL with --functions off (mappings are then refused) */
    sl_objstore_t *objstore;    /* S3 OnFailure destinations */
    sl_sqs_t *sqs;              /* SQS OnFailure destinations (NULL: none served) */
    sl_sns_t *sns;              /* SNS OnFailure destinations (NULL: none served) */
} sl_esm_account_config_t;

/* Opens the account's mappings and checkpoints (creating esm.db on the first mapping), registers
 * its commit listener and resumes its enabled mappings. */
int sl_esm_account_open(sl_esm_t *esm, const sl_esm_account_config_t *cfg, sl_esm_account_t **out);

/* ---- the management operations ---- */

typedef enum {
    SL_ESM_CREATE,
    SL_ESM_GET,
    SL_ESM_LIST,
    SL_ESM_UPDATE,
    SL_ESM_DELETE
} sl_esm_op_kind_t;

/* A mapping as EventSourceMappingConfiguration shows it. Strings are NUL-terminated; patterns is
 * pattern_count NUL-terminated filter patterns back to back (owned, sl_esm_info_deinit). */
typedef struct {
    char uuid[40];
    char function_arn[SL_FN_ARN_BYTES_MAX];
    char source_arn[SL_ESM_ARN_BYTES_MAX];
    char role[SL_FN_ARN_BYTES_MAX]; /* the function's execution role: invokeIdentityArn */
    char starting_position[16];     /* TRIM_HORIZON, LATEST, AT_TIMESTAMP */
    bool has_starting_ts;
    int64_t starting_ts_ms;
    int batch_size;
    int window_s; /* MaximumBatchingWindowInSeconds */
    int parallelization;
    bool enabled;
    const char *state; /* static: Creating, Enabled, Disabled, Updating, Enabling, ... */
    char state_reason[48];
    char last_result[64]; /* LastProcessingResult */
    bool bisect;
    int max_retry; /* -1 = infinite */
    int max_age_s; /* -1 = infinite */
    char on_failure[SL_ESM_DESTINATION_BYTES_MAX];
    int tumbling_s; /* 0 = none */
    bool report_failures;
    char *patterns;
    size_t patterns_len;
    size_t pattern_count;
    int64_t last_modified_ms;
} sl_esm_info_t;

/* The members of a create or update; has_* says which were given. */
typedef struct {
    bool has_enabled, has_batch_size, has_window, has_parallelization, has_bisect, has_max_retry,
        has_max_age, has_destination, has_tumbling, has_response_types, has_filters;
    bool enabled, bisect, report_failures;
    int batch_size, window_s, parallelization, max_retry, max_age_s, tumbling_s;
    const char *starting_position; /* CREATE */
    bool has_starting_ts;
    int64_t starting_ts_ms;
    const char *destination; /* OnFailure's Destination ("" = remove) */
    const char *const *patterns;
    size_t pattern_count;
} sl_esm_spec_t;

typedef struct sl_esm_op sl_esm_op_t;
/* One management operation. Inputs are borrowed until `done` runs; outputs are owned by the op
 * until sl_esm_op_deinit. */
struct sl_esm_op {
    sl_esm_op_kind_t kind;
    sl_esm_account_t *account;
    const char *uuid;          /* GET, UPDATE, DELETE */
    const char *function_name; /* CREATE, UPDATE (optional), LIST filter */
    const char *source_arn;    /* CREATE, LIST filter */
    const char *marker;        /* LIST */
    int max_items;             /* LIST; 0 = 100 */
    sl_esm_spec_t spec;
    /* results */
    const char *error_type; /* NULL on success, else the AWS error type */
    char error_message[512];
    sl_esm_info_t info;
    sl_esm_info_t *list;
    size_t list_count;
    char next_marker[40];
    void (*done)(sl_esm_op_t *op);
    void *arg;
    /* private */
    sl_fn_op_t fn_op;
};

/* Runs op on the service thread; op->done(op) runs there when it completes (exactly once). */
void sl_esm_submit(sl_esm_t *esm, sl_esm_op_t *op);
void sl_esm_op_deinit(sl_esm_op_t *op);
void sl_esm_info_deinit(sl_esm_info_t *info);
/* The service of an account (for sl_esm_submit). */
sl_esm_t *sl_esm_of(sl_esm_account_t *a);

#endif
