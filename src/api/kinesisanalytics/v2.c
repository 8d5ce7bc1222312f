/* The Kinesis Data Analytics v2 binding (KinesisAnalytics_20180523) for SQL-1_0 applications, on
 * the applications of v1 (see binding.h). Flink and Zeppelin runtimes are refused. */
#include "api/kinesisanalytics/internal.h"

#include "api/kinesisanalyticsv2/model.h"
#include "core/common.h"

#include <stdio.h>
#include <stdlib.h>

static void reply_detail(sl_front_call_t *call, const char *name) {
    sl_an_app_t app;
    sl_an_err_t err = {0};
    if (!sl_an_describe(apps_of(call), name, &app, &err)) {
        sl_kda_answer_error(call, &err);
        return;
    }
    sl_enc_t *e = &call->enc;
    sl_enc_map_begin(e);
    sl_enc_key(e, "ApplicationDetail");
    sl_an_app_encode_v2(e, &app);
    sl_enc_map_end(e);
    sl_an_app_free(&app);
    sl_front_reply(call);
}

void sl_kda2_create(sl_front_call_t *call) {
    const sl_val_t *in = call->in;
    const char *runtime = str(in, "RuntimeEnvironment");
    if (strcmp(runtime, "SQL-1_0") != 0) {
        sl_front_fail(call, "UnsupportedOperationException",
                      "Runtime environment %s is not supported by this server: only SQL-1_0 "
                      "applications run here (docs/analytics.md)",
                      runtime);
        return;
    }
    const sl_val_t *conf = sl_val_get(in, "ApplicationConfiguration");
    const sl_val_t *sql = sl_val_get(conf, "SqlApplicationConfiguration");
    const sl_val_t *code = sl_val_get(conf, "ApplicationCodeConfiguration");
    const sl_val_t *inputs = sl_val_get(sql, "Inputs"), *outputs = sl_val_get(sql, "Outputs");
    const char *ctype = str(code, "CodeContentType");
    if (ctype && strcmp(ctype, "PLAINTEXT") != 0) {
        sl_front_fail(call, "InvalidArgumentException",
                      "SQL applications take their code as PLAINTEXT TextContent");
        return;
    }
    sl_an_app_t app;
    if (sl_kda_decode_create(call, inputs, outputs,
                             str(sl_val_get(code, "CodeContent"), "TextContent"),
                             sl_val_get(in, "CloudWatchLoggingOptions"),
                             sl_val_get(sql, "ReferenceDataSources"), &app) != 0)
        return;
    if (!(app.service_role = strdup(str(in, "ServiceExecutionRole")))) {
        sl_an_app_free(&app);
        sl_kda_out_of_memory(call);
        return;
    }
    sl_an_err_t err = {0};
    if (!sl_an_create(apps_of(call), &app, call->now_ms, &err)) {
        sl_an_app_free(&app);
        sl_kda_answer_error(call, &err);
        return;
    }
    sl_an_app_free(&app);
    reply_detail(call, str(in, "ApplicationName"));
}

void sl_kda2_describe(sl_front_call_t *call) {
    reply_detail(call, str(call->in, "ApplicationName"));
}

void sl_kda2_list(sl_front_call_t *call) {
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
    sl_an_list(apps_of(call), str(call->in, "NextToken"), (int)limit, page, &n, &more, &err);
    sl_enc_t *e = &call->enc;
    sl_enc_map_begin(e);
    sl_enc_key(e, "ApplicationSummaries");
    sl_enc_array_begin(e);
    for (size_t i = 0; i < n; i++) {
        sl_enc_map_begin(e);
        sl_enc_kv_cstr(e, "ApplicationName", page[i].name);
        sl_enc_kv_cstr(e, "ApplicationARN", page[i].arn);
        sl_enc_kv_cstr(e, "ApplicationStatus", sl_an_status_name(page[i].status));
        sl_enc_kv_int(e, "ApplicationVersionId", page[i].version);
        sl_enc_kv_cstr(e, "RuntimeEnvironment", "SQL-1_0");
        sl_enc_map_end(e);
    }
    sl_enc_array_end(e);
    if (more && n) sl_enc_kv_cstr(e, "NextToken", page[n - 1].name); /* the next page's start */
    sl_enc_map_end(e);
    sl_front_reply(call);
}

void sl_kda2_start(sl_front_call_t *call) {
    const char *name = str(call->in, "ApplicationName");
    const sl_val_t *cfgs =
        sl_val_get(sl_val_get(call->in, "RunConfiguration"), "SqlRunConfigurations");
    size_t n = cfgs ? cfgs->u.arr.count : 0;
    const char **ids = sl_arena_calloc(call->arena, n + 1, sizeof *ids);
    const char **pos = sl_arena_calloc(call->arena, n + 1, sizeof *pos);
    char input_id[SL_AN_ID_MAX + 1] = "";
    if (!ids || !pos) {
        sl_kda_out_of_memory(call);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const sl_val_t *c = cfgs->u.arr.items[i];
        ids[i] = str(c, "InputId");
        pos[i] = str(sl_val_get(c, "InputStartingPositionConfiguration"), "InputStartingPosition");
        if (!pos[i]) pos[i] = "NOW";
    }
    if (n == 0) { /* no run configuration: the input from NOW */
        sl_an_app_t app;
        sl_an_err_t err = {0};
        if (sl_an_describe(apps_of(call), name, &app, &err)) {
            snprintf(input_id, sizeof input_id, "%s", app.has_input ? app.input.id : "");
            sl_an_app_free(&app);
        }
        ids[0] = input_id;
        pos[0] = "NOW";
        n = input_id[0] ? 1 : 0;
    }
    sl_an_err_t err = {0};
    if (!sl_an_start(apps_of(call), name, ids, pos, n, call->now_ms, &err)) {
        sl_kda_answer_error(call, &err);
        return;
    }
    sl_kda_reply_empty(call);
}

/* UpdateApplication's ApplicationConfigurationUpdate and ServiceExecutionRoleUpdate. */
static bool update(void *ctx, sl_an_app_t *app, sl_an_err_t *err) {
    const sl_val_t *in = ctx;
    const sl_val_t *conf = sl_val_get(in, "ApplicationConfigurationUpdate");
    const sl_val_t *sql = sl_val_get(conf, "SqlApplicationConfigurationUpdate");
    const sl_val_t *refs = sl_val_get(sql, "ReferenceDataSourceUpdates");
    const sl_val_t *cws = sl_val_get(in, "CloudWatchLoggingOptionUpdates");
    for (size_t i = 0; refs && i < refs->u.arr.count; i++)
        if (!sl_kda_update_ref(app, refs->u.arr.items[i], err)) return false;
    for (size_t i = 0; cws && i < cws->u.arr.count; i++)
        if (!sl_kda_update_cwlog(app, cws->u.arr.items[i], err)) return false;
    const char *code =
        str(sl_val_get(sl_val_get(conf, "ApplicationCodeConfigurationUpdate"), "CodeContentUpdate"),
            "TextContentUpdate");
    const char *role = str(in, "ServiceExecutionRoleUpdate");
    char *code_copy = code ? strdup(code) : NULL, *role_copy = role ? strdup(role) : NULL;
    if ((code && !code_copy) || (role && !role_copy)) {
        free(code_copy);
        free(role_copy);
        err->type = "ServiceUnavailableException";
        snprintf(err->message, sizeof err->message, "Out of memory.");
        return false;
    }
    if (code_copy) {
        free(app->code);
        app->code = code_copy;
    }
    if (role_copy) {
        free(app->service_role);
        app->service_role = role_copy;
    }
    const sl_val_t *ins = sl_val_get(sql, "InputUpdates");
    for (size_t i = 0; ins && i < ins->u.arr.count; i++)
        if (!sl_kda_update_input(app, ins->u.arr.items[i], err)) return false;
    const sl_val_t *outs = sl_val_get(sql, "OutputUpdates");
    for (size_t i = 0; outs && i < outs->u.arr.count; i++)
        if (!sl_kda_update_output(app, outs->u.arr.items[i], err)) return false;
    return true;
}

void sl_kda2_update(sl_front_call_t *call) {
    if (sl_kda_change(call, update, call->in)) reply_detail(call, str(call->in, "ApplicationName"));
}

/* AddApplicationInput/Output and DeleteApplicationOutput answer the new version (and lists). */
enum { V_INPUTS = 1, V_OUTPUTS = 2, V_REFS = 4, V_CWLOGS = 8 };

static void reply_version(sl_front_call_t *call, int lists) {
    sl_an_app_t app;
    sl_an_err_t err = {0};
    if (!sl_an_describe(apps_of(call), str(call->in, "ApplicationName"), &app, &err)) {
        sl_kda_answer_error(call, &err);
        return;
    }
    sl_enc_t *e = &call->enc;
    sl_enc_map_begin(e);
    sl_enc_kv_cstr(e, "ApplicationARN", app.arn);
    sl_enc_kv_int(e, "ApplicationVersionId", app.version);
    if (lists & V_INPUTS) {
        sl_enc_key(e, "InputDescriptions");
        sl_an_inputs_encode(e, &app);
    }
    if (lists & V_OUTPUTS) {
        sl_enc_key(e, "OutputDescriptions");
        sl_an_outputs_encode(e, &app);
    }
    if (lists & V_REFS) {
        sl_enc_key(e, "ReferenceDataSourceDescriptions");
        sl_an_refs_encode(e, &app);
    }
    if (lists & V_CWLOGS) {
        sl_enc_key(e, "CloudWatchLoggingOptionDescriptions");
        sl_an_cwlogs_encode(e, &app);
    }
    sl_enc_map_end(e);
    sl_an_app_free(&app);
    sl_front_reply(call);
}

void sl_kda2_add_input(sl_front_call_t *call) {
    if (sl_kda_change(call, sl_kda_add_input, sl_val_get(call->in, "Input")))
        reply_version(call, V_INPUTS);
}

void sl_kda2_add_output(sl_front_call_t *call) {
    if (sl_kda_change(call, sl_kda_add_output, sl_val_get(call->in, "Output")))
        reply_version(call, V_OUTPUTS);
}

void sl_kda2_delete_output(sl_front_call_t *call) {
    if (sl_kda_change(call, sl_kda_delete_output, (void *)str(call->in, "OutputId")))
        reply_version(call, 0);
}

void sl_kda2_add_processing(sl_front_call_t *call) {
    if (sl_kda_change(call, sl_kda_add_processing, call->in)) reply_version(call, V_INPUTS);
}

void sl_kda2_delete_processing(sl_front_call_t *call) {
    if (sl_kda_change(call, sl_kda_delete_processing, call->in)) reply_version(call, 0);
}

void sl_kda2_add_ref(sl_front_call_t *call) {
    if (sl_kda_change(call, sl_kda_add_ref, sl_val_get(call->in, "ReferenceDataSource")))
        reply_version(call, V_REFS);
}

void sl_kda2_delete_ref(sl_front_call_t *call) {
    if (sl_kda_change(call, sl_kda_delete_ref, (void *)str(call->in, "ReferenceId")))
        reply_version(call, 0);
}

void sl_kda2_add_cwlog(sl_front_call_t *call) {
    if (sl_kda_change(call, sl_kda_add_cwlog, sl_val_get(call->in, "CloudWatchLoggingOption")))
        reply_version(call, V_CWLOGS);
}

void sl_kda2_delete_cwlog(sl_front_call_t *call) {
    if (sl_kda_change(call, sl_kda_delete_cwlog,
                      (void *)str(call->in, "CloudWatchLoggingOptionId")))
        reply_version(call, V_CWLOGS);
}

void sl_kda2_flink_only(sl_front_call_t *call) {
    sl_kda_unsupported(call, "Snapshots, versions, VPC configurations, maintenance windows and "
                             "presigned URLs (Flink applications)");
}

void sl_kdaapi_describe_v2(sl_front_service_t *svc) {
    *svc = (sl_front_service_t){
        /* the name is the SigV4 scope's service: v2 signs as kinesisanalytics, like v1, and is
         * routed by its target prefix alone */
        .name = "kinesisanalytics",
        .protocol = SL_FRONT_PROTO_JSON,
        .model = &sl_kinesisanalyticsv2_model,
        .handler = sl_kdaapi_handler_v2,
        .json_content_type = "application/x-amz-json-1.1",
        .resource = sl_kda_resource,
        .action_prefix = "kinesisanalytics",
    };
}
