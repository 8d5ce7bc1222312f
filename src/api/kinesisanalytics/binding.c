/* The Kinesis Data Analytics binding (see binding.h): KinesisAnalytics_20150814's operations. */
#include "api/kinesisanalytics/internal.h"

#include "api/kinesisanalytics/model.h"
#include "core/common.h"
#include "wire/awserror.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sl_kda_answer_error(sl_front_call_t *call, const sl_an_err_t *err) {
    /* the model's faults answer 500; every other error 400 */
    int status = strcmp(err->type, "ServiceUnavailableException") == 0 ? 500 : 400;
    sl_front_fail_status(call, status, err->type, err->message, NULL, NULL);
}

void sl_kda_reply_empty(sl_front_call_t *call) {
    sl_enc_map_begin(&call->enc);
    sl_enc_map_end(&call->enc);
    sl_front_reply(call);
}

void sl_kda_unsupported(sl_front_call_t *call, const char *what) {
    sl_front_fail(call, "UnsupportedOperationException",
                  "%s are not supported by this server yet (docs/analytics.md)", what);
}

void sl_kda_out_of_memory(sl_front_call_t *call) {
    sl_front_fail_status(call, 500, "ServiceUnavailableException", "Out of memory.", NULL, NULL);
}

static void enc_summary(sl_enc_t *e, const char *name, const char *arn, sl_an_status_t status) {
    sl_enc_map_begin(e);
    sl_enc_kv_cstr(e, "ApplicationName", name);
    sl_enc_kv_cstr(e, "ApplicationARN", arn);
    sl_enc_kv_cstr(e, "ApplicationStatus", sl_an_status_name(status));
    sl_enc_map_end(e);
}

/* ---- applications ---- */

int sl_kda_decode_create(sl_front_call_t *call, const sl_val_t *inputs, const sl_val_t *outputs,
                         const char *code, const sl_val_t *cwlogs, const sl_val_t *refs,
                         sl_an_app_t *app) {
    const sl_val_t *in = call->in;
    memset(app, 0, sizeof *app);
    if (inputs && inputs->u.arr.count > 1) {
        sl_front_fail(call, "InvalidArgumentException",
                      "Only one streaming input is supported per application");
        return -1;
    }
    if (outputs && outputs->u.arr.count > SL_AN_OUTPUTS_MAX) {
        sl_front_fail(call, "LimitExceededException", "An application can have at most %d outputs",
                      SL_AN_OUTPUTS_MAX);
        return -1;
    }
    snprintf(app->name, sizeof app->name, "%s", str(in, "ApplicationName"));
    int rc = 0;
    const char *s;
    if ((s = str(in, "ApplicationDescription")) && !(app->description = strdup(s))) rc = SL_ENOMEM;
    if (!rc && code && !(app->code = strdup(code))) rc = SL_ENOMEM;
    if (!rc && inputs && inputs->u.arr.count) {
        app->has_input = true;
        rc = sl_an_input_decode(inputs->u.arr.items[0], &app->input);
    }
    for (size_t i = 0; !rc && outputs && i < outputs->u.arr.count; i++) {
        rc = sl_an_output_decode(outputs->u.arr.items[i], &app->outputs[i]);
        app->noutputs++;
    }
    if (!rc) rc = sl_an_tags_decode(sl_val_get(in, "Tags"), &app->tags, &app->ntags);
    if (rc) {
        sl_an_app_free(app);
        sl_kda_out_of_memory(call);
        return -1;
    }
    if (sl_kda_decode_extras(call, cwlogs, refs, app) != 0) {
        sl_an_app_free(app);
        return -1;
    }
    if (app->ntags > SL_AN_TAGS_MAX) {
        sl_an_app_free(app);
        sl_front_fail(call, "TooManyTagsException", "Application %s would have more than %d tags",
                      str(in, "ApplicationName"), SL_AN_TAGS_MAX);
        return -1;
    }
    return 0;
}

static void h_create(sl_front_call_t *call) {
    const sl_val_t *in = call->in;
    sl_an_app_t app;
    if (sl_kda_decode_create(call, sl_val_get(in, "Inputs"), sl_val_get(in, "Outputs"),
                             str(in, "ApplicationCode"), sl_val_get(in, "CloudWatchLoggingOptions"),
                             NULL, &app) != 0)
        return;
    sl_an_err_t err = {0};
    if (!sl_an_create(apps_of(call), &app, call->now_ms, &err)) {
        sl_an_app_free(&app);
        sl_kda_answer_error(call, &err);
        return;
    }
    sl_enc_t *e = &call->enc;
    sl_enc_map_begin(e);
    sl_enc_key(e, "ApplicationSummary");
    enc_summary(e, app.name, app.arn, app.status);
    sl_enc_map_end(e);
    sl_an_app_free(&app);
    sl_front_reply(call);
}

static void h_describe(sl_front_call_t *call) {
    sl_an_app_t app;
    sl_an_err_t err = {0};
    if (!sl_an_describe(apps_of(call), str(call->in, "ApplicationName"), &app, &err)) {
        sl_kda_answer_error(call, &err);
        return;
    }
    sl_enc_t *e = &call->enc;
    sl_enc_map_begin(e);
    sl_enc_key(e, "ApplicationDetail");
    sl_an_app_encode(e, &app, false);
    sl_enc_map_end(e);
    sl_an_app_free(&app);
    sl_front_reply(call);
}

static void h_list(sl_front_call_t *call) {
    int64_t limit = 50;
    sl_val_get_int(call->in, "Limit", &limit);
    sl_an_summary_t *page = sl_arena_calloc(call->arena, (size_t)limit, sizeof *page);
    if (!page) {
        sl_kda_out_of_memory(call);
        return;
    }
    size_t n = 0;
    bool more = false;
    sl_an_err_t err = {0};
    if (!sl_an_list(apps_of(call), str(call->in, "ExclusiveStartApplicationName"), (int)limit, page,
                    &n, &more, &err)) {
        sl_kda_answer_error(call, &err);
        return;
    }
    sl_enc_t *e = &call->enc;
    sl_enc_map_begin(e);
    sl_enc_key(e, "ApplicationSummaries");
    sl_enc_array_begin(e);
    for (size_t i = 0; i < n; i++)
        enc_summary(e, page[i].name, page[i].arn, page[i].status);
    sl_enc_array_end(e);
    sl_enc_kv_bool(e, "HasMoreApplications", more);
    sl_enc_map_end(e);
    sl_front_reply(call);
}

void sl_kda_delete(sl_front_call_t *call) {
    const sl_val_t *ts = sl_val_get(call->in, "CreateTimestamp");
    int64_t create_ms = ts && ts->type == SL_VAL_TIMESTAMP ? ts->u.ts_ms : -1;
    sl_an_err_t err = {0};
    if (!sl_an_delete(apps_of(call), str(call->in, "ApplicationName"), create_ms, &err)) {
        sl_kda_answer_error(call, &err);
        return;
    }
    sl_kda_reply_empty(call);
}

static void h_start(sl_front_call_t *call) {
    const sl_val_t *cfgs = sl_val_get(call->in, "InputConfigurations");
    size_t n = cfgs ? cfgs->u.arr.count : 0;
    const char **ids = sl_arena_calloc(call->arena, n + 1, sizeof *ids);
    const char **pos = sl_arena_calloc(call->arena, n + 1, sizeof *pos);
    if (!ids || !pos) {
        sl_kda_out_of_memory(call);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const sl_val_t *c = cfgs->u.arr.items[i];
        ids[i] = str(c, "Id");
        pos[i] = str(sl_val_get(c, "InputStartingPositionConfiguration"), "InputStartingPosition");
        if (!pos[i]) pos[i] = "NOW";
    }
    sl_an_err_t err = {0};
    if (!sl_an_start(apps_of(call), str(call->in, "ApplicationName"), ids, pos, n, call->now_ms,
                     &err)) {
        sl_kda_answer_error(call, &err);
        return;
    }
    sl_kda_reply_empty(call);
}

void sl_kda_stop(sl_front_call_t *call) {
    sl_an_err_t err = {0};
    if (!sl_an_stop(apps_of(call), str(call->in, "ApplicationName"), call->now_ms, &err)) {
        sl_kda_answer_error(call, &err);
        return;
    }
    sl_kda_reply_empty(call);
}

/* ---- changes under CurrentApplicationVersionId ---- */

static bool oom(sl_an_err_t *err) {
    err->type = "ServiceUnavailableException";
    snprintf(err->message, sizeof err->message, "Out of memory.");
    return false;
}

static bool refuse(sl_an_err_t *err, const char *type, const char *msg) {
    err->type = type;
    snprintf(err->message, sizeof err->message, "%s", msg);
    return false;
}

static int replace_str(char **dst, const char *src) {
    if (!src) return 0;
    char *copy = strdup(src);
    if (!copy) return SL_ENOMEM;
    free(*dst);
    *dst = copy;
    return 0;
}

bool sl_kda_change(sl_front_call_t *call, sl_an_change_fn fn, void *ctx) {
    int64_t version = 0;
    sl_val_get_int(call->in, "CurrentApplicationVersionId", &version);
    sl_an_err_t err = {0};
    if (!sl_an_change(apps_of(call), str(call->in, "ApplicationName"), version, call->now_ms, fn,
                      ctx, &err)) {
        sl_kda_answer_error(call, &err);
        return false;
    }
    return true;
}

static void change(sl_front_call_t *call, sl_an_change_fn fn, void *ctx) {
    if (sl_kda_change(call, fn, ctx)) sl_kda_reply_empty(call);
}

bool sl_kda_add_input(void *ctx, sl_an_app_t *app, sl_an_err_t *err) {
    if (app->has_input)
        return refuse(err, "InvalidArgumentException",
                      "Application already has an input; only one streaming input is supported");
    if (sl_an_input_decode(ctx, &app->input) != 0) return oom(err);
    app->has_input = true;
    sl_an_new_id(app, app->input.id);
    return true;
}

static void h_add_input(sl_front_call_t *call) {
    change(call, sl_kda_add_input, sl_val_get(call->in, "Input"));
}

bool sl_kda_add_output(void *ctx, sl_an_app_t *app, sl_an_err_t *err) {
    if (app->noutputs >= SL_AN_OUTPUTS_MAX)
        return refuse(err, "LimitExceededException", "An application can have at most 3 outputs");
    sl_an_output_t *o = &app->outputs[app->noutputs];
    if (sl_an_output_decode(ctx, o) != 0) return oom(err);
    app->noutputs++;
    sl_an_new_id(app, o->id);
    return true;
}

static void h_add_output(sl_front_call_t *call) {
    change(call, sl_kda_add_output, sl_val_get(call->in, "Output"));
}

bool sl_kda_delete_output(void *ctx, sl_an_app_t *app, sl_an_err_t *err) {
    const char *id = ctx;
    for (size_t i = 0; i < app->noutputs; i++) {
        if (strcmp(app->outputs[i].id, id) != 0) continue;
        free(app->outputs[i].resource_arn);
        free(app->outputs[i].role_arn);
        memmove(&app->outputs[i], &app->outputs[i + 1],
                (app->noutputs - i - 1) * sizeof app->outputs[0]);
        app->noutputs--;
        return true;
    }
    err->type = "ResourceNotFoundException";
    snprintf(err->message, sizeof err->message, "Output id %s is not found in application %s", id,
             app->name);
    return false;
}

static void h_delete_output(sl_front_call_t *call) {
    change(call, sl_kda_delete_output, (void *)str(call->in, "OutputId"));
}

/* UpdateApplication's ApplicationUpdate, member by member. */
bool sl_kda_update_input(sl_an_app_t *app, const sl_val_t *u, sl_an_err_t *err) {
    const char *id = str(u, "InputId");
    if (!app->has_input || strcmp(app->input.id, id) != 0) {
        err->type = "ResourceNotFoundException";
        snprintf(err->message, sizeof err->message, "Input id %s is not found in application %s",
                 id, app->name);
        return false;
    }
    sl_an_input_t *in = &app->input;
    const char *prefix = str(u, "NamePrefixUpdate");
    if (prefix) snprintf(in->name_prefix, sizeof in->name_prefix, "%s", prefix);
    const sl_val_t *proc = sl_val_get(sl_val_get(u, "InputProcessingConfigurationUpdate"),
                                      "InputLambdaProcessorUpdate");
    if (proc && (replace_str(&in->processor_arn, str(proc, "ResourceARNUpdate")) ||
                 replace_str(&in->processor_role_arn, str(proc, "RoleARNUpdate"))))
        return oom(err);
    const sl_val_t *ks = sl_val_get(u, "KinesisStreamsInputUpdate");
    const sl_val_t *fh = sl_val_get(u, "KinesisFirehoseInputUpdate");
    const sl_val_t *src = ks ? ks : fh;
    if (src) {
        in->firehose = fh != NULL && !ks;
        if (replace_str(&in->resource_arn, str(src, "ResourceARNUpdate")) ||
            replace_str(&in->role_arn, str(src, "RoleARNUpdate")))
            return oom(err);
    }
    int64_t count;
    if (sl_val_get_int(sl_val_get(u, "InputParallelismUpdate"), "CountUpdate", &count))
        in->parallelism = (int)count;
    const sl_val_t *su = sl_val_get(u, "InputSchemaUpdate");
    if (su) {
        /* the update's members are a SourceSchema's with "Update" names */
        sl_an_schema_t next;
        const sl_val_t *fmt = sl_val_get(su, "RecordFormatUpdate");
        const sl_val_t *cols = sl_val_get(su, "RecordColumnUpdates");
        const char *enc = str(su, "RecordEncodingUpdate");
        /* decoded through a SourceSchema view: RecordFormat and RecordColumns */
        sl_kv_t items[2];
        size_t n = 0;
        if (fmt) items[n++] = (sl_kv_t){"RecordFormat", 12, (sl_val_t *)fmt};
        if (cols) items[n++] = (sl_kv_t){"RecordColumns", 13, (sl_val_t *)cols};
        sl_val_t view = {.type = SL_VAL_MAP, .u.map = {items, n}};
        if (sl_an_schema_decode(&view, &next) != 0) return oom(err);
        if (!fmt) { /* the format stays */
            next.csv = in->schema.csv;
            next.row_path = in->schema.row_path, in->schema.row_path = NULL;
            next.row_delim = in->schema.row_delim, in->schema.row_delim = NULL;
            next.col_delim = in->schema.col_delim, in->schema.col_delim = NULL;
        }
        if (!cols) { /* the columns stay */
            next.cols = in->schema.cols, in->schema.cols = NULL;
            next.ncols = in->schema.ncols, in->schema.ncols = 0;
        }
        next.encoding = enc ? strdup(enc) : in->schema.encoding;
        if (!enc) in->schema.encoding = NULL;
        sl_an_schema_t old = in->schema;
        in->schema = next;
        /* free what was replaced */
        free(old.row_path);
        free(old.row_delim);
        free(old.col_delim);
        free(old.encoding);
        for (size_t i = 0; i < old.ncols; i++) {
            free(old.cols[i].name);
            free(old.cols[i].sql_type);
            free(old.cols[i].mapping);
        }
        free(old.cols);
    }
    return true;
}

bool sl_kda_update_output(sl_an_app_t *app, const sl_val_t *u, sl_an_err_t *err) {
    const char *id = str(u, "OutputId");
    sl_an_output_t *o = NULL;
    for (size_t i = 0; i < app->noutputs; i++)
        if (strcmp(app->outputs[i].id, id) == 0) o = &app->outputs[i];
    if (!o) {
        err->type = "ResourceNotFoundException";
        snprintf(err->message, sizeof err->message, "Output id %s is not found in application %s",
                 id, app->name);
        return false;
    }
    const char *name = str(u, "NameUpdate");
    if (name) snprintf(o->name, sizeof o->name, "%s", name);
    static const char *const kinds[] = {"KinesisStreamsOutputUpdate", "KinesisFirehoseOutputUpdate",
                                        "LambdaOutputUpdate"};
    for (int k = 0; k < 3; k++) {
        const sl_val_t *d = sl_val_get(u, kinds[k]);
        if (!d) continue;
        o->kind = (sl_an_output_kind_t)k;
        if (replace_str(&o->resource_arn, str(d, "ResourceARNUpdate")) ||
            replace_str(&o->role_arn, str(d, "RoleARNUpdate")))
            return oom(err);
    }
    const char *fmt = str(sl_val_get(u, "DestinationSchemaUpdate"), "RecordFormatType");
    if (fmt) o->csv = strcmp(fmt, "CSV") == 0;
    return true;
}

/* ---- reference data sources and CloudWatch logging options ---- */

int sl_kda_decode_extras(sl_front_call_t *call, const sl_val_t *cwlogs, const sl_val_t *refs,
                         sl_an_app_t *app) {
    size_t ncw = cwlogs ? cwlogs->u.arr.count : 0, nref = refs ? refs->u.arr.count : 0;
    if (ncw > SL_AN_CWLOGS_MAX || nref > 1) {
        sl_front_fail(call, "LimitExceededException",
                      nref > 1 ? "An application can have at most one reference data source"
                               : "An application can have at most %d CloudWatch logging options",
                      SL_AN_CWLOGS_MAX);
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; !rc && i < ncw; i++) {
        rc = sl_an_cwlog_decode(cwlogs->u.arr.items[i], &app->cwlogs[i]);
        app->ncwlogs++;
    }
    if (!rc && nref) {
        app->has_ref = true;
        rc = sl_an_ref_decode(refs->u.arr.items[0], &app->ref);
    }
    if (rc) {
        sl_kda_out_of_memory(call);
        return -1;
    }
    return 0;
}

bool sl_kda_add_ref(void *ctx, sl_an_app_t *app, sl_an_err_t *err) {
    if (app->has_ref)
        return refuse(err, "LimitExceededException",
                      "An application can have at most one reference data source");
    if (sl_an_ref_decode(ctx, &app->ref) != 0) return oom(err);
    app->has_ref = true;
    sl_an_new_id(app, app->ref.id);
    return true;
}

static bool no_such(sl_an_err_t *err, const char *what, const char *id, const sl_an_app_t *app) {
    err->type = "ResourceNotFoundException";
    snprintf(err->message, sizeof err->message, "%s id %s is not found in application %s", what,
             id ? id : "", app->name);
    return false;
}

bool sl_kda_delete_ref(void *ctx, sl_an_app_t *app, sl_an_err_t *err) {
    const char *id = ctx;
    if (!app->has_ref || strcmp(app->ref.id, id) != 0)
        return no_such(err, "Reference data source", id, app);
    sl_an_ref_free(&app->ref);
    app->has_ref = false;
    return true;
}

bool sl_kda_add_cwlog(void *ctx, sl_an_app_t *app, sl_an_err_t *err) {
    if (app->ncwlogs >= SL_AN_CWLOGS_MAX)
        return refuse(err, "LimitExceededException",
                      "An application can have at most 10 CloudWatch logging options");
    sl_an_cwlog_t *c = &app->cwlogs[app->ncwlogs];
    if (sl_an_cwlog_decode(ctx, c) != 0) return oom(err);
    app->ncwlogs++;
    sl_an_new_id(app, c->id);
    return true;
}

bool sl_kda_delete_cwlog(void *ctx, sl_an_app_t *app, sl_an_err_t *err) {
    const char *id = ctx;
    for (size_t i = 0; i < app->ncwlogs; i++) {
        if (strcmp(app->cwlogs[i].id, id) != 0) continue;
        sl_an_cwlog_free(&app->cwlogs[i]);
        memmove(&app->cwlogs[i], &app->cwlogs[i + 1],
                (app->ncwlogs - i - 1) * sizeof app->cwlogs[0]);
        app->ncwlogs--;
        return true;
    }
    return no_such(err, "CloudWatch logging option", id, app);
}

bool sl_kda_update_ref(sl_an_app_t *app, const sl_val_t *u, sl_an_err_t *err) {
    const char *id = str(u, "ReferenceId");
    if (!app->has_ref || strcmp(app->ref.id, id) != 0)
        return no_such(err, "Reference data source", id, app);
    sl_an_refsrc_t *r = &app->ref;
    const char *table = str(u, "TableNameUpdate");
    if (table) snprintf(r->table, sizeof r->table, "%s", table);
    const sl_val_t *s3 = sl_val_get(u, "S3ReferenceDataSourceUpdate");
    if (replace_str(&r->bucket_arn, str(s3, "BucketARNUpdate")) ||
        replace_str(&r->file_key, str(s3, "FileKeyUpdate")) ||
        replace_str(&r->role_arn, str(s3, "ReferenceRoleARNUpdate")))
        return oom(err);
    const sl_val_t *schema = sl_val_get(u, "ReferenceSchemaUpdate");
    if (schema) {
        sl_an_schema_t next;
        if (sl_an_schema_decode(schema, &next) != 0) return oom(err);
        sl_an_refsrc_t old = {.schema = r->schema};
        r->schema = next;
        sl_an_ref_free(&old);
    }
    return true;
}

bool sl_kda_update_cwlog(sl_an_app_t *app, const sl_val_t *u, sl_an_err_t *err) {
    const char *id = str(u, "CloudWatchLoggingOptionId");
    for (size_t i = 0; i < app->ncwlogs; i++) {
        if (strcmp(app->cwlogs[i].id, id) != 0) continue;
        if (replace_str(&app->cwlogs[i].log_stream_arn, str(u, "LogStreamARNUpdate")) ||
            replace_str(&app->cwlogs[i].role_arn, str(u, "RoleARNUpdate")))
            return oom(err);
        return true;
    }
    return no_such(err, "CloudWatch logging option", id, app);
}

static sl_an_input_t *input_of(sl_an_app_t *app, const char *id, sl_an_err_t *err) {
    if (app->has_input && id && strcmp(app->input.id, id) == 0) return &app->input;
    no_such(err, "Input", id, app);
    return NULL;
}

bool sl_kda_add_processing(void *ctx, sl_an_app_t *app, sl_an_err_t *err) {
    const sl_val_t *in = ctx;
    sl_an_input_t *input = input_of(app, str(in, "InputId"), err);
    if (!input) return false;
    const sl_val_t *lambda =
        sl_val_get(sl_val_get(in, "InputProcessingConfiguration"), "InputLambdaProcessor");
    if (replace_str(&input->processor_arn, str(lambda, "ResourceARN")) ||
        replace_str(&input->processor_role_arn, str(lambda, "RoleARN")))
        return oom(err);
    return true;
}

bool sl_kda_delete_processing(void *ctx, sl_an_app_t *app, sl_an_err_t *err) {
    sl_an_input_t *input = input_of(app, str(ctx, "InputId"), err);
    if (!input) return false;
    free(input->processor_arn);
    free(input->processor_role_arn);
    input->processor_arn = input->processor_role_arn = NULL;
    return true;
}

static void h_add_processing(sl_front_call_t *call) {
    change(call, sl_kda_add_processing, call->in);
}

static void h_delete_processing(sl_front_call_t *call) {
    change(call, sl_kda_delete_processing, call->in);
}

static void h_add_ref(sl_front_call_t *call) {
    change(call, sl_kda_add_ref, sl_val_get(call->in, "ReferenceDataSource"));
}

static void h_delete_ref(sl_front_call_t *call) {
    change(call, sl_kda_delete_ref, (void *)str(call->in, "ReferenceId"));
}

static void h_add_cwlog(sl_front_call_t *call) {
    change(call, sl_kda_add_cwlog, sl_val_get(call->in, "CloudWatchLoggingOption"));
}

static void h_delete_cwlog(sl_front_call_t *call) {
    change(call, sl_kda_delete_cwlog, (void *)str(call->in, "CloudWatchLoggingOptionId"));
}

static bool update(void *ctx, sl_an_app_t *app, sl_an_err_t *err) {
    const sl_val_t *u = ctx;
    const sl_val_t *refs = sl_val_get(u, "ReferenceDataSourceUpdates");
    const sl_val_t *cws = sl_val_get(u, "CloudWatchLoggingOptionUpdates");
    for (size_t i = 0; refs && i < refs->u.arr.count; i++)
        if (!sl_kda_update_ref(app, refs->u.arr.items[i], err)) return false;
    for (size_t i = 0; cws && i < cws->u.arr.count; i++)
        if (!sl_kda_update_cwlog(app, cws->u.arr.items[i], err)) return false;
    const char *code = str(u, "ApplicationCodeUpdate");
    if (code && replace_str(&app->code, code)) return oom(err);
    const sl_val_t *ins = sl_val_get(u, "InputUpdates");
    for (size_t i = 0; ins && i < ins->u.arr.count; i++)
        if (!sl_kda_update_input(app, ins->u.arr.items[i], err)) return false;
    const sl_val_t *outs = sl_val_get(u, "OutputUpdates");
    for (size_t i = 0; outs && i < outs->u.arr.count; i++)
        if (!sl_kda_update_output(app, outs->u.arr.items[i], err)) return false;
    return true;
}

static void h_update(sl_front_call_t *call) {
    change(call, update, sl_val_get(call->in, "ApplicationUpdate"));
}

/* ---- tags ---- */

void sl_kda_tag(sl_front_call_t *call) {
    sl_an_tag_t *tags = NULL;
    size_t n = 0;
    if (sl_an_tags_decode(sl_val_get(call->in, "Tags"), &tags, &n) != 0) {
        sl_kda_out_of_memory(call);
        return;
    }
    sl_an_err_t err = {0};
    bool ok = sl_an_tag(apps_of(call), str(call->in, "ResourceARN"), tags, n, &err);
    for (size_t i = 0; i < n; i++) {
        free(tags[i].key);
        free(tags[i].value);
    }
    free(tags);
    if (!ok) {
        sl_kda_answer_error(call, &err);
        return;
    }
    sl_kda_reply_empty(call);
}

void sl_kda_untag(sl_front_call_t *call) {
    const sl_val_t *keys = sl_val_get(call->in, "TagKeys");
    size_t n = keys ? keys->u.arr.count : 0;
    const char **k = sl_arena_calloc(call->arena, n + 1, sizeof *k);
    if (!k) {
        sl_kda_out_of_memory(call);
        return;
    }
    for (size_t i = 0; i < n; i++)
        k[i] = keys->u.arr.items[i]->u.str.ptr;
    sl_an_err_t err = {0};
    if (!sl_an_untag(apps_of(call), str(call->in, "ResourceARN"), k, n, &err)) {
        sl_kda_answer_error(call, &err);
        return;
    }
    sl_kda_reply_empty(call);
}

void sl_kda_list_tags(sl_front_call_t *call) {
    sl_an_app_t app;
    sl_an_err_t err = {0};
    if (!sl_an_describe_arn(apps_of(call), str(call->in, "ResourceARN"), &app, &err)) {
        sl_kda_answer_error(call, &err);
        return;
    }
    sl_enc_t *e = &call->enc;
    sl_enc_map_begin(e);
    sl_enc_key(e, "Tags");
    sl_enc_array_begin(e);
    for (size_t i = 0; i < app.ntags; i++) {
        sl_enc_map_begin(e);
        sl_enc_kv_cstr(e, "Key", app.tags[i].key);
        if (app.tags[i].value) sl_enc_kv_cstr(e, "Value", app.tags[i].value);
        sl_enc_map_end(e);
    }
    sl_enc_array_end(e);
    sl_enc_map_end(e);
    sl_an_app_free(&app);
    sl_front_reply(call);
}

/* ---- not yet ---- */

static void discover_answer(sl_front_call_t *call) {
    sl_an_discovery_t *d = call->state;
    if (d->err.type) {
        sl_kda_answer_error(call, &d->err);
        sl_an_discovery_free(d);
        return;
    }
    sl_enc_t *e = &call->enc;
    sl_enc_map_begin(e);
    sl_enc_key(e, "InputSchema");
    sl_an_schema_encode(e, &d->schema);
    sl_enc_key(e, "ParsedInputRecords");
    sl_enc_array_begin(e);
    for (size_t r = 0; r < d->nparsed; r++) {
        sl_enc_array_begin(e);
        for (size_t c = 0; c < d->schema.ncols; c++) {
            const char *v = d->parsed[r * d->schema.ncols + c];
            if (v)
                sl_enc_cstr(e, v);
            else
                sl_enc_null(e);
        }
        sl_enc_array_end(e);
    }
    sl_enc_array_end(e);
    sl_enc_key(e, "RawInputRecords");
    sl_enc_array_begin(e);
    for (size_t r = 0; r < d->nraw; r++)
        sl_enc_cstr(e, d->raw[r]);
    sl_enc_array_end(e);
    sl_enc_map_end(e);
    sl_an_discovery_free(d);
    sl_front_reply(call);
}

static void discover_done(void *ctx) {
    sl_front_post(ctx, discover_answer); /* from the discovery's thread to the request's loop */
}

void sl_kda_discover(sl_front_call_t *call) {
    const sl_val_t *in = call->in;
    if (sl_val_get(in, "InputProcessingConfiguration")) {
        sl_kda_unsupported(call, "Lambda preprocessing of the sampled records");
        return;
    }
    const sl_val_t *s3 = sl_val_get(in, "S3Configuration");
    sl_an_discover_req_t req = {
        .resource_arn = str(in, "ResourceARN"),
        .starting_position =
            str(sl_val_get(in, "InputStartingPositionConfiguration"), "InputStartingPosition"),
        .bucket_arn = str(s3, "BucketARN"),
        .file_key = str(s3, "FileKey"),
    };
    if (!req.resource_arn == !s3) {
        sl_front_fail(call, "InvalidArgumentException",
                      "Either a streaming source (ResourceARN) or an S3Configuration is required");
        return;
    }
    sl_an_discovery_t *d = sl_arena_calloc(call->arena, 1, sizeof *d);
    if (!d) {
        sl_kda_out_of_memory(call);
        return;
    }
    call->state = d;
    if (sl_an_discover_start(apps_of(call), &req, d, discover_done, call) != 0)
        sl_kda_out_of_memory(call);
}

/* ---- the descriptor ---- */

/* Authorization: the application the operation names (by name or ARN), else the account's. */
const char *sl_kda_resource(const sl_op_t *op, const sl_val_t *in, void *account,
                            const char *region, const char *account_id, sl_arena_t *arena) {
    (void)op;
    (void)account;
    const char *arn = str(in, "ResourceARN");
    if (arn) return arn;
    const char *name = str(in, "ApplicationName");
    char buf[SL_AN_ARN_MAX + 1];
    if (name)
        snprintf(buf, sizeof buf, "arn:aws:kinesisanalytics:%s:%s:application/%s", region,
                 account_id, name);
    else
        snprintf(buf, sizeof buf, "*");
    return sl_arena_strndup(arena, buf, strlen(buf));
}

void sl_kdaapi_describe(sl_front_service_t *svc) {
    *svc = (sl_front_service_t){
        .name = "kinesisanalytics",
        .protocol = SL_FRONT_PROTO_JSON,
        .model = &sl_kinesisanalytics_model,
        .handler = sl_kdaapi_handler,
        .signing_name = sl_kinesisanalytics_model.signing_name,
        .json_content_type = "application/x-amz-json-1.1",
        .resource = sl_kda_resource,
        .action_prefix = "kinesisanalytics",
    };
}

/* The operations of both APIs: v1's handler and v2's (the same where the shapes are). */
static const struct {
    const char *name;
    sl_front_op_fn v1, v2;
} OPS[] = {
    {"CreateApplication", h_create, sl_kda2_create},
    {"DescribeApplication", h_describe, sl_kda2_describe},
    {"ListApplications", h_list, sl_kda2_list},
    {"DeleteApplication", sl_kda_delete, sl_kda_delete},
    {"StartApplication", h_start, sl_kda2_start},
    {"StopApplication", sl_kda_stop, sl_kda_stop},
    {"UpdateApplication", h_update, sl_kda2_update},
    {"AddApplicationInput", h_add_input, sl_kda2_add_input},
    {"AddApplicationOutput", h_add_output, sl_kda2_add_output},
    {"DeleteApplicationOutput", h_delete_output, sl_kda2_delete_output},
    {"TagResource", sl_kda_tag, sl_kda_tag},
    {"UntagResource", sl_kda_untag, sl_kda_untag},
    {"ListTagsForResource", sl_kda_list_tags, sl_kda_list_tags},
    {"AddApplicationReferenceDataSource", h_add_ref, sl_kda2_add_ref},
    {"DeleteApplicationReferenceDataSource", h_delete_ref, sl_kda2_delete_ref},
    {"AddApplicationCloudWatchLoggingOption", h_add_cwlog, sl_kda2_add_cwlog},
    {"DeleteApplicationCloudWatchLoggingOption", h_delete_cwlog, sl_kda2_delete_cwlog},
    {"AddApplicationInputProcessingConfiguration", h_add_processing, sl_kda2_add_processing},
    {"DeleteApplicationInputProcessingConfiguration", h_delete_processing,
     sl_kda2_delete_processing},
    {"DiscoverInputSchema", sl_kda_discover, sl_kda_discover},
};

sl_front_op_fn sl_kdaapi_handler(const char *name) {
    for (size_t i = 0; i < SL_ARRAY_LEN(OPS); i++)
        if (strcmp(OPS[i].name, name) == 0) return OPS[i].v1;
    return NULL;
}

sl_front_op_fn sl_kdaapi_handler_v2(const char *name) {
    for (size_t i = 0; i < SL_ARRAY_LEN(OPS); i++)
        if (strcmp(OPS[i].name, name) == 0) return OPS[i].v2;
    return sl_kda2_flink_only; /* the rest of v2's model: Flink's */
}
