/* The Lambda function operations (see binding.h): each handler decodes its validated input into
 * an sl_fn_op_t, submits it to the functions core, and encodes the result on its network thread
 * (the core completes on its supervisor thread; sl_front_post brings the answer back). */
#include "api/lambda/authz.h"
#include "api/lambda/binding.h"

#include "api/lambda/model.h"
#include "core/common.h"
#include "wire/enc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The code source that names a file or directory on the server instead of a zip (local path
 * extension, docs/functions.md): Code.S3Bucket = this, Code.S3Key = the absolute path. */
#define LOCAL_BUCKET "sluice-local"

typedef struct {
    sl_lapi_admin_fn admin;
    void *admin_ctx;
} lapi_t;

static lapi_t g_lapi; /* the descriptor's binding object (one server per process) */

void sl_lapi_describe(sl_front_service_t *svc, sl_lapi_admin_fn admin, void *admin_ctx) {
    g_lapi.admin = admin;
    g_lapi.admin_ctx = admin_ctx;
    *svc = (sl_front_service_t){
        .name = "lambda",
        .protocol = SL_FRONT_PROTO_REST_JSON,
        .model = &sl_lambda_model,
        .handler = sl_lapi_handler,
        .signing_name = sl_lambda_model.signing_name,
        .json_content_type = "application/json",
        .binding = &g_lapi,
        .resource = sl_lapi_resource,
        .action_prefix = "lambda",
        .action = sl_lapi_action,
    };
}

/* ---- encoding ---- */

static void enc_time(sl_enc_t *e, const char *key, int64_t ms) {
    char buf[64];
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03d+0000", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
    sl_enc_kv_cstr(e, key, buf);
}

/* FunctionConfiguration, with the members AWS returns for a zip function. */
static void enc_config(sl_enc_t *e, const sl_fn_config_t *c) {
    char group[SL_FN_NAME_BYTES_MAX + 16];
    sl_enc_map_begin(e);
    sl_enc_kv_cstr(e, "FunctionName", c->name);
    sl_enc_kv_cstr(e, "FunctionArn", c->arn);
    sl_enc_kv_cstr(e, "Runtime", c->runtime);
    sl_enc_kv_cstr(e, "Role", c->role);
    sl_enc_kv_cstr(e, "Handler", c->handler);
    sl_enc_kv_int(e, "CodeSize", c->code_size);
    sl_enc_kv_cstr(e, "Description", c->description);
    sl_enc_kv_int(e, "Timeout", c->timeout_s);
    sl_enc_kv_int(e, "MemorySize", c->memory_mb);
    enc_time(e, "LastModified", c->last_modified_ms);
    sl_enc_kv_cstr(e, "CodeSha256", c->code_sha256);
    sl_enc_kv_cstr(e, "Version", "$LATEST");
    if (c->env_len) {
        sl_enc_key(e, "Environment");
        sl_enc_map_begin(e);
        sl_enc_key(e, "Variables");
        sl_enc_map_begin(e);
        for (size_t i = 0; i < c->env_len;) {
            const char *k = c->env + i, *v = k + strlen(k) + 1;
            sl_enc_kv_cstr(e, k, v);
            i = (size_t)(v + strlen(v) + 1 - c->env);
        }
        sl_enc_map_end(e);
        sl_enc_map_end(e);
    }
    sl_enc_key(e, "TracingConfig");
    sl_enc_map_begin(e);
    sl_enc_kv_cstr(e, "Mode", "PassThrough");
    sl_enc_map_end(e);
    sl_enc_kv_cstr(e, "RevisionId", c->revision_id);
    sl_enc_kv_cstr(e, "State", c->state);
    if (strcmp(c->state, "Pending") == 0) {
        sl_enc_kv_cstr(e, "StateReason", "The function is being created.");
        sl_enc_kv_cstr(e, "StateReasonCode", "Creating");
    }
    sl_enc_kv_cstr(e, "LastUpdateStatus", c->last_update);
    if (strcmp(c->last_update, "InProgress") == 0) {
        sl_enc_kv_cstr(e, "LastUpdateStatusReason", "The function is being created.");
        sl_enc_kv_cstr(e, "LastUpdateStatusReasonCode", "Creating");
    }
    sl_enc_kv_cstr(e, "PackageType", "Zip");
    sl_enc_key(e, "Architectures");
    sl_enc_array_begin(e);
    sl_enc_cstr(e, "x86_64");
    sl_enc_array_end(e);
    sl_enc_key(e, "EphemeralStorage");
    sl_enc_map_begin(e);
    sl_enc_kv_int(e, "Size", 512);
    sl_enc_map_end(e);
    sl_enc_key(e, "SnapStart");
    sl_enc_map_begin(e);
    sl_enc_kv_cstr(e, "ApplyOn", "None");
    sl_enc_kv_cstr(e, "OptimizationStatus", "Off");
    sl_enc_map_end(e);
    sl_enc_key(e, "LoggingConfig");
    sl_enc_map_begin(e);
    sl_enc_kv_cstr(e, "LogFormat", "Text");
    snprintf(group, sizeof group, "/aws/lambda/%s", c->name);
    sl_enc_kv_cstr(e, "LogGroup", group);
    sl_enc_map_end(e);
    sl_enc_map_end(e);
}

/* ---- completion ---- */

static void answer(sl_front_call_t *call) {
    sl_fn_op_t *op = call->state;
    /* the op lives in the request's arena: its outputs are released before the answer frees it */
    if (op->error_type) {
        sl_fn_op_deinit(op);
        if (op->throttle_reason) {
            /* TooManyRequestsException's Reason, and Retry-After: a slot frees as soon as an
             * invocation ends, so one second is a fair hint */
            const char *kv[] = {"Reason", op->throttle_reason};
            sl_http_header_t h = {"Retry-After", 11, "1", 1};
            sl_front_fail_rest(call, op->error_type, op->error_message, &h, 1, kv, 1);
            return;
        }
        sl_front_fail(call, op->error_type, "%s", op->error_message);
        return;
    }
    sl_enc_t *e = &call->enc;
    switch (op->kind) {
    case SL_FN_CREATE:
    case SL_FN_UPDATE_CODE:
    case SL_FN_UPDATE_CONFIG:
        enc_config(e, &op->config);
        break;
    case SL_FN_GET:
        if (strcmp(call->op->name, "GetFunctionConfiguration") == 0) {
            enc_config(e, &op->config);
            break;
        }
        sl_enc_map_begin(e);
        sl_enc_key(e, "Configuration");
        enc_config(e, &op->config);
        sl_enc_key(e, "Code");
        sl_enc_map_begin(e);
        sl_enc_kv_cstr(e, "RepositoryType", "S3");
        sl_enc_kv_cstr(e, "Location", "");
        sl_enc_map_end(e);
        if (op->config.reserved_concurrency >= 0) {
            sl_enc_key(e, "Concurrency");
            sl_enc_map_begin(e);
            sl_enc_kv_int(e, "ReservedConcurrentExecutions", op->config.reserved_concurrency);
            sl_enc_map_end(e);
        }
        sl_enc_map_end(e);
        break;
    case SL_FN_LIST:
        sl_enc_map_begin(e);
        sl_enc_key(e, "Functions");
        sl_enc_array_begin(e);
        for (size_t i = 0; i < op->list_count; i++)
            enc_config(e, &op->list[i]);
        sl_enc_array_end(e);
        if (op->next_marker[0]) sl_enc_kv_cstr(e, "NextMarker", op->next_marker);
        sl_enc_map_end(e);
        break;
    case SL_FN_DELETE:
    case SL_FN_DELETE_CONCURRENCY:
        break;
    case SL_FN_PUT_CONCURRENCY:
    case SL_FN_GET_CONCURRENCY:
        sl_enc_map_begin(e);
        if (op->config.reserved_concurrency >= 0)
            sl_enc_kv_int(e, "ReservedConcurrentExecutions", op->config.reserved_concurrency);
        sl_enc_map_end(e);
        break;
    case SL_FN_INVOKE:
        sl_front_out_status(call, op->status_code);
        if (op->function_error) sl_front_out_header(call, "FunctionError", op->function_error);
        if (op->log_result) sl_front_out_header(call, "LogResult", op->log_result);
        sl_front_out_header(call, "ExecutedVersion", "$LATEST");
        uint8_t *result = op->result;
        size_t len = op->result_len;
        op->result = NULL;
        sl_fn_op_deinit(op);
        sl_front_reply_payload(call, len ? "application/json" : NULL, result, len);
        free(result);
        return;
    }
    sl_fn_op_deinit(op);
    sl_front_reply(call);
}

static void op_done(sl_fn_op_t *op) {
    sl_front_post(op->arg, answer); /* from the supervisor thread to the request's loop */
}

static sl_fn_op_t *new_op(sl_front_call_t *call, sl_fn_op_kind_t kind) {
    const sl_lapi_account_t *account = call->account;
    if (!account || !account->functions) {
        sl_front_fail(call, "ServiceException",
                      "Functions are switched off on this server (--functions off).");
        return NULL;
    }
    sl_fn_op_t *op = sl_arena_calloc(call->arena, 1, sizeof *op);
    if (!op) {
        sl_front_fail_internal(call, SL_ENOMEM);
        return NULL;
    }
    op->kind = kind;
    op->account = account->functions;
    op->function_name = sl_val_get_str(call->in, "FunctionName", NULL);
    op->qualifier = sl_val_get_str(call->in, "Qualifier", NULL);
    op->done = op_done;
    op->arg = call;
    call->state = op;
    return op;
}

/* Creating or changing a function runs code on this host: with signatures verified (--auth
 * sigv4) only an admin principal may (docs/functions.md, "Safety"); the admin hook can refuse
 * more. Open mode lets everyone: the server then listens on loopback only. */
static bool may_manage(sl_front_call_t *call) {
    const lapi_t *l = call->binding;
    bool ok = !call->principal || call->principal->admin;
    if (ok && l && l->admin) ok = l->admin(l->admin_ctx, call->access_key_id);
    if (ok) return true;
    sl_front_fail(call, "AccessDeniedException",
                  "User: %s is not authorized to perform: lambda:%s because creating or changing "
                  "functions runs code on this server, which only administrators may do.",
                  call->principal ? call->principal->arn : "anonymous", call->op->name);
    return false;
}

/* ---- decoding ---- */

static bool get_int(const sl_val_t *in, const char *key, int *out) {
    int64_t v;
    if (!sl_val_get_int(in, key, &v)) return false;
    *out = (int)v;
    return true;
}

static bool decode_spec(sl_front_call_t *call, sl_fn_spec_t *s) {
    const sl_val_t *in = call->in;
    s->runtime = sl_val_get_str(in, "Runtime", NULL);
    s->handler = sl_val_get_str(in, "Handler", NULL);
    s->role = sl_val_get_str(in, "Role", NULL);
    s->description = sl_val_get_str(in, "Description", NULL);
    s->has_runtime = s->runtime != NULL;
    s->has_handler = s->handler != NULL;
    s->has_role = s->role != NULL;
    s->has_description = s->description != NULL;
    s->has_timeout = get_int(in, "Timeout", &s->timeout_s);
    s->has_memory = get_int(in, "MemorySize", &s->memory_mb);
    const sl_val_t *env = sl_val_get(in, "Environment");
    if (!env) return true;
    const sl_val_t *vars = sl_val_get(env, "Variables");
    s->has_env = true;
    if (!vars || vars->type != SL_VAL_MAP) return true;
    size_t n = vars->u.map.count;
    const char **keys = sl_arena_calloc(call->arena, n + 1, sizeof *keys);
    const char **values = sl_arena_calloc(call->arena, n + 1, sizeof *values);
    if (!keys || !values) {
        sl_front_fail_internal(call, SL_ENOMEM);
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        const sl_kv_t *kv = &vars->u.map.items[i];
        keys[s->env_count] = sl_arena_strndup(call->arena, kv->key, kv->key_len);
        values[s->env_count] =
            kv->val->type == SL_VAL_STRING ? kv->val->u.str.ptr : ""; /* validated: strings */
        if (!keys[s->env_count]) {
            sl_front_fail_internal(call, SL_ENOMEM);
            return false;
        }
        s->env_count++;
    }
    s->env_keys = keys;
    s->env_values = values;
    return true;
}

/* ZipFile, or the local path extension (S3Bucket sluice-local + S3Key). */
static bool decode_code(sl_front_call_t *call, const sl_val_t *code, sl_fn_op_t *op) {
    const sl_val_t *zip = sl_val_get(code, "ZipFile");
    if (zip && zip->type == SL_VAL_BYTES) {
        op->zip = (const uint8_t *)zip->u.str.ptr;
        op->zip_len = zip->u.str.len;
        return true;
    }
    const char *bucket = sl_val_get_str(code, "S3Bucket", NULL);
    const char *key = sl_val_get_str(code, "S3Key", NULL);
    if (bucket && strcmp(bucket, LOCAL_BUCKET) == 0 && key) {
        op->local_path = key;
        return true;
    }
    if (bucket || sl_val_get(code, "ImageUri")) {
        sl_front_fail(call, "InvalidParameterValueException",
                      "This server takes code as ZipFile, or as S3Bucket " LOCAL_BUCKET
                      " with S3Key naming a zip file or directory on the server "
                      "(docs/functions.md); S3 and container images are not supported.");
        return false;
    }
    return true;
}

/* ---- handlers ---- */

static void h_create(sl_front_call_t *call) {
    if (!may_manage(call)) return;
    sl_fn_op_t *op = new_op(call, SL_FN_CREATE);
    if (!op || !decode_spec(call, &op->spec)) return;
    const sl_val_t *code = sl_val_get(call->in, "Code");
    if (code && !decode_code(call, code, op)) return;
    sl_fn_submit(op);
}

static void h_get(sl_front_call_t *call) {
    sl_fn_op_t *op = new_op(call, SL_FN_GET);
    if (op) sl_fn_submit(op);
}

static void h_list(sl_front_call_t *call) {
    sl_fn_op_t *op = new_op(call, SL_FN_LIST);
    if (!op) return;
    op->marker = sl_val_get_str(call->in, "Marker", NULL);
    get_int(call->in, "MaxItems", &op->max_items);
    sl_fn_submit(op);
}

static void h_update_code(sl_front_call_t *call) {
    if (!may_manage(call)) return;
    sl_fn_op_t *op = new_op(call, SL_FN_UPDATE_CODE);
    if (op && decode_code(call, call->in, op)) sl_fn_submit(op);
}

static void h_update_config(sl_front_call_t *call) {
    if (!may_manage(call)) return;
    sl_fn_op_t *op = new_op(call, SL_FN_UPDATE_CONFIG);
    if (op && decode_spec(call, &op->spec)) sl_fn_submit(op);
}

static void h_delete(sl_front_call_t *call) {
    sl_fn_op_t *op = new_op(call, SL_FN_DELETE);
    if (op) sl_fn_submit(op);
}

static void h_invoke(sl_front_call_t *call) {
    sl_fn_op_t *op = new_op(call, SL_FN_INVOKE);
    if (!op) return;
    const char *type = sl_val_get_str(call->in, "InvocationType", NULL);
    op->invoke_type = !type || strcmp(type, "RequestResponse") == 0 ? SL_FN_INVOKE_SYNC
                      : strcmp(type, "Event") == 0                  ? SL_FN_INVOKE_EVENT
                                                                    : SL_FN_INVOKE_DRY_RUN;
    const char *log = sl_val_get_str(call->in, "LogType", NULL);
    op->log_tail = log && strcmp(log, "Tail") == 0 && op->invoke_type == SL_FN_INVOKE_SYNC;
    const sl_val_t *payload = sl_val_get(call->in, "Payload");
    if (payload && (payload->type == SL_VAL_BYTES || payload->type == SL_VAL_STRING)) {
        op->payload = (const uint8_t *)payload->u.str.ptr;
        op->payload_len = payload->u.str.len;
    }
    sl_fn_submit(op);
}

static void h_put_concurrency(sl_front_call_t *call) {
    sl_fn_op_t *op = new_op(call, SL_FN_PUT_CONCURRENCY);
    if (!op) return;
    get_int(call->in, "ReservedConcurrentExecutions", &op->concurrency);
    sl_fn_submit(op);
}

static void h_delete_concurrency(sl_front_call_t *call) {
    sl_fn_op_t *op = new_op(call, SL_FN_DELETE_CONCURRENCY);
    if (op) sl_fn_submit(op);
}

static void h_get_concurrency(sl_front_call_t *call) {
    sl_fn_op_t *op = new_op(call, SL_FN_GET_CONCURRENCY);
    if (op) sl_fn_submit(op);
}

static const struct {
    const char *name;
    sl_front_op_fn fn;
} handlers[] = {
    {"CreateFunction", h_create},
    {"DeleteFunction", h_delete},
    {"DeleteFunctionConcurrency", h_delete_concurrency},
    {"GetFunction", h_get},
    {"GetFunctionConcurrency", h_get_concurrency},
    {"GetFunctionConfiguration", h_get},
    {"Invoke", h_invoke},
    {"ListFunctions", h_list},
    {"PutFunctionConcurrency", h_put_concurrency},
    {"UpdateFunctionCode", h_update_code},
    {"UpdateFunctionConfiguration", h_update_config},
};

/* The other operations of the model (versions, aliases, layers, URLs, event-source mappings, ...):
 * a client error that SDKs do not retry. */
static void h_unsupported(sl_front_call_t *call) {
    sl_front_fail(call, "NotImplementedException",
                  "%s is not supported by this server (docs/functions.md).", call->op->name);
}

sl_front_op_fn sl_lapi_handler(const char *op_name) {
    sl_front_op_fn esm = sl_lapi_esm_handler(op_name);
    if (esm) return esm;
    for (size_t i = 0; i < SL_ARRAY_LEN(handlers); i++)
        if (strcmp(handlers[i].name, op_name) == 0) return handlers[i].fn;
    return h_unsupported;
}
