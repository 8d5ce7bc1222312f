/* What the two Kinesis Data Analytics bindings share (v1 in binding.c, v2 in v2.c): helpers,
 * the versioned changes and the handlers whose requests and answers are the same in both. */
#ifndef SL_API_KINESISANALYTICS_INTERNAL_H
#define SL_API_KINESISANALYTICS_INTERNAL_H

#include "api/kinesisanalytics/binding.h"

#include <string.h>

static inline sl_an_apps_t *apps_of(sl_front_call_t *call) {
    return call->account;
}

static inline const char *str(const sl_val_t *map, const char *key) {
    return sl_val_get_str(map, key, NULL);
}

void sl_kda_answer_error(sl_front_call_t *call, const sl_an_err_t *err);
void sl_kda_reply_empty(sl_front_call_t *call);
void sl_kda_unsupported(sl_front_call_t *call, const char *what);
void sl_kda_out_of_memory(sl_front_call_t *call);

/* A change under CurrentApplicationVersionId (sl_an_change): true when made; else answered. */
bool sl_kda_change(sl_front_call_t *call, sl_an_change_fn fn, void *ctx);
/* The changes (ctx: the request's Input, Output, OutputId). */
bool sl_kda_add_input(void *ctx, sl_an_app_t *app, sl_an_err_t *err);
bool sl_kda_add_output(void *ctx, sl_an_app_t *app, sl_an_err_t *err);
bool sl_kda_delete_output(void *ctx, sl_an_app_t *app, sl_an_err_t *err);
bool sl_kda_update_input(sl_an_app_t *app, const sl_val_t *u, sl_an_err_t *err);
bool sl_kda_update_output(sl_an_app_t *app, const sl_val_t *u, sl_an_err_t *err);
/* ctx: the request's ReferenceDataSource, ReferenceId, CloudWatchLoggingOption,
 * CloudWatchLoggingOptionId. */
bool sl_kda_add_ref(void *ctx, sl_an_app_t *app, sl_an_err_t *err);
bool sl_kda_delete_ref(void *ctx, sl_an_app_t *app, sl_an_err_t *err);
bool sl_kda_add_cwlog(void *ctx, sl_an_app_t *app, sl_an_err_t *err);
/* ctx: the request (InputId and InputProcessingConfiguration). */
bool sl_kda_add_processing(void *ctx, sl_an_app_t *app, sl_an_err_t *err);
bool sl_kda_delete_processing(void *ctx, sl_an_app_t *app, sl_an_err_t *err);
bool sl_kda_delete_cwlog(void *ctx, sl_an_app_t *app, sl_an_err_t *err);
/* One ReferenceDataSourceUpdate / CloudWatchLoggingOptionUpdate. */
bool sl_kda_update_ref(sl_an_app_t *app, const sl_val_t *u, sl_an_err_t *err);
bool sl_kda_update_cwlog(sl_an_app_t *app, const sl_val_t *u, sl_an_err_t *err);
/* CreateApplication's CloudWatchLoggingOptions and reference data sources into app; 0, or -1
 * when answered. */
int sl_kda_decode_extras(sl_front_call_t *call, const sl_val_t *cwlogs, const sl_val_t *refs,
                         sl_an_app_t *app);
/* What v1's and v2's CreateApplication share, into app (zeroed first): the name, description,
 * code (NULL: none), the input (at most one), the outputs (at most 3), tags (at most 50),
 * CloudWatch logging options and reference data sources, with AWS's errors. 0, or -1 when
 * answered (app freed). */
int sl_kda_decode_create(sl_front_call_t *call, const sl_val_t *inputs, const sl_val_t *outputs,
                         const char *code, const sl_val_t *cwlogs, const sl_val_t *refs,
                         sl_an_app_t *app);

/* Authorization: the application the operation names (by name or ARN), else the account's. */
const char *sl_kda_resource(const sl_op_t *op, const sl_val_t *in, void *account,
                            const char *region, const char *account_id, sl_arena_t *arena);

/* Handlers whose request and answer shapes v1 and v2 share. */
void sl_kda_delete(sl_front_call_t *call);
void sl_kda_stop(sl_front_call_t *call);
void sl_kda_tag(sl_front_call_t *call);
void sl_kda_untag(sl_front_call_t *call);
void sl_kda_list_tags(sl_front_call_t *call);

void sl_kda_discover(sl_front_call_t *call);

/* The v2 handlers whose answers differ from v1's (v2.c); the operation table in binding.c pairs
 * them with v1's. */
void sl_kda2_create(sl_front_call_t *call);
void sl_kda2_describe(sl_front_call_t *call);
void sl_kda2_list(sl_front_call_t *call);
void sl_kda2_start(sl_front_call_t *call);
void sl_kda2_update(sl_front_call_t *call);
void sl_kda2_add_input(sl_front_call_t *call);
void sl_kda2_add_output(sl_front_call_t *call);
void sl_kda2_delete_output(sl_front_call_t *call);
void sl_kda2_add_processing(sl_front_call_t *call);
void sl_kda2_delete_processing(sl_front_call_t *call);
void sl_kda2_add_ref(sl_front_call_t *call);
void sl_kda2_delete_ref(sl_front_call_t *call);
void sl_kda2_add_cwlog(sl_front_call_t *call);
void sl_kda2_delete_cwlog(sl_front_call_t *call);
/* v2's Flink-only operations (snapshots, versions, VPC ...). */
void sl_kda2_flink_only(sl_front_call_t *call);

#endif
