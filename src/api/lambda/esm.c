/* The event-source mapping operations of the Lambda binding (see binding.h): each handler decodes
 * its validated input into an sl_esm_op_t, submits it to the event-source mapping service, and
 * encodes EventSourceMappingConfiguration on its network thread (the service completes on its
 * own thread; sl_front_post brings the answer back). */
#include "api/lambda/binding.h"

#include "core/common.h"
#include "wire/enc.h"

#include <stdio.h>
#include <string.h>

/* EventSourceMappingConfiguration with the members AWS returns for a Kinesis source. */
static void enc_mapping(sl_enc_t *e, const sl_esm_info_t *i) {
    char arn[SL_FN_ARN_BYTES_MAX];
    sl_enc_map_begin(e);
    sl_enc_kv_cstr(e, "UUID", i->uuid);
    sl_enc_kv_cstr(e, "StartingPosition", i->starting_position);
    if (i->has_starting_ts) {
        sl_enc_key(e, "StartingPositionTimestamp");
        sl_enc_timestamp_ms(e, i->starting_ts_ms);
    }
    sl_enc_kv_int(e, "BatchSize", i->batch_size);
    sl_enc_kv_int(e, "MaximumBatchingWindowInSeconds", i->window_s);
    sl_enc_kv_int(e, "ParallelizationFactor", i->parallelization);
    sl_enc_kv_cstr(e, "EventSourceArn", i->source_arn);
    if (i->pattern_count) {
        sl_enc_key(e, "FilterCriteria");
        sl_enc_map_begin(e);
        sl_enc_key(e, "Filters");
        sl_enc_array_begin(e);
        for (size_t k = 0, off = 0; k < i->pattern_count; k++) {
            const char *p = i->patterns + off;
            sl_enc_map_begin(e);
            sl_enc_kv_cstr(e, "Pattern", p);
            sl_enc_map_end(e);
            off += strlen(p) + 1;
        }
        sl_enc_array_end(e);
        sl_enc_map_end(e);
    }
    sl_enc_kv_cstr(e, "FunctionArn", i->function_arn);
    sl_enc_key(e, "LastModified");
    sl_enc_timestamp_ms(e, i->last_modified_ms);
    sl_enc_kv_cstr(e, "LastProcessingResult", i->last_result);
    sl_enc_kv_cstr(e, "State", i->state);
    sl_enc_kv_cstr(e, "StateTransitionReason", i->state_reason);
    sl_enc_key(e, "DestinationConfig");
    sl_enc_map_begin(e);
    if (i->on_failure[0]) {
        sl_enc_key(e, "OnFailure");
        sl_enc_map_begin(e);
        sl_enc_kv_cstr(e, "Destination", i->on_failure);
        sl_enc_map_end(e);
    }
    sl_enc_map_end(e);
    sl_enc_kv_int(e, "MaximumRecordAgeInSeconds", i->max_age_s);
    sl_enc_kv_bool(e, "BisectBatchOnFunctionError", i->bisect);
    sl_enc_kv_int(e, "MaximumRetryAttempts", i->max_retry);
    if (i->tumbling_s) sl_enc_kv_int(e, "TumblingWindowInSeconds", i->tumbling_s);
    sl_enc_key(e, "FunctionResponseTypes");
    sl_enc_array_begin(e);
    if (i->report_failures) sl_enc_cstr(e, "ReportBatchItemFailures");
    sl_enc_array_end(e);
    /* arn:aws:lambda:<region>:<account>:event-source-mapping:<uuid>, region and account those of
     * the function's ARN */
    const char *p = i->function_arn;
    for (int colons = 0; *p && colons < 5; p++)
        if (*p == ':') colons++;
    snprintf(arn, sizeof arn, "%.*sevent-source-mapping:%s", (int)(p - i->function_arn),
             i->function_arn, i->uuid);
    sl_enc_kv_cstr(e, "EventSourceMappingArn", arn);
    sl_enc_map_end(e);
}

static void answer(sl_front_call_t *call) {
    sl_esm_op_t *op = call->state;
    if (op->error_type) {
        sl_esm_op_deinit(op);
        sl_front_fail(call, op->error_type, "%s", op->error_message);
        return;
    }
    sl_enc_t *e = &call->enc;
    if (op->kind == SL_ESM_LIST) {
        sl_enc_map_begin(e);
        if (op->next_marker[0]) sl_enc_kv_cstr(e, "NextMarker", op->next_marker);
        sl_enc_key(e, "EventSourceMappings");
        sl_enc_array_begin(e);
        for (size_t i = 0; i < op->list_count; i++)
            enc_mapping(e, &op->list[i]);
        sl_enc_array_end(e);
        sl_enc_map_end(e);
    } else {
        enc_mapping(e, &op->info);
    }
    sl_esm_op_deinit(op);
    sl_front_reply(call);
}

static void op_done(sl_esm_op_t *op) {
    sl_front_post(op->arg, answer); /* from the service thread to the request's loop */
}

static sl_esm_op_t *new_op(sl_front_call_t *call, sl_esm_op_kind_t kind) {
    const sl_lapi_account_t *account = call->account;
    if (!account || !account->esm) {
        sl_front_fail(call, "ServiceException",
                      "Functions are switched off on this server (--functions off).");
        return NULL;
    }
    sl_esm_op_t *op = sl_arena_calloc(call->arena, 1, sizeof *op);
    if (!op) {
        sl_front_fail_internal(call, SL_ENOMEM);
        return NULL;
    }
    op->kind = kind;
    op->account = account->esm;
    op->uuid = sl_val_get_str(call->in, "UUID", NULL);
    op->function_name = sl_val_get_str(call->in, "FunctionName", NULL);
    op->source_arn = sl_val_get_str(call->in, "EventSourceArn", NULL);
    op->done = op_done;
    op->arg = call;
    call->state = op;
    return op;
}

static bool get_int(const sl_val_t *in, const char *key, int *out) {
    int64_t v;
    if (!sl_val_get_int(in, key, &v)) return false;
    *out = (int)v;
    return true;
}

static bool decode_spec(sl_front_call_t *call, sl_esm_spec_t *s) {
    const sl_val_t *in = call->in;
    s->has_enabled = sl_val_get_bool(in, "Enabled", &s->enabled);
    s->has_batch_size = get_int(in, "BatchSize", &s->batch_size);
    s->has_window = get_int(in, "MaximumBatchingWindowInSeconds", &s->window_s);
    s->has_parallelization = get_int(in, "ParallelizationFactor", &s->parallelization);
    s->has_bisect = sl_val_get_bool(in, "BisectBatchOnFunctionError", &s->bisect);
    s->has_max_retry = get_int(in, "MaximumRetryAttempts", &s->max_retry);
    s->has_max_age = get_int(in, "MaximumRecordAgeInSeconds", &s->max_age_s);
    s->has_tumbling = get_int(in, "TumblingWindowInSeconds", &s->tumbling_s);
    s->starting_position = sl_val_get_str(in, "StartingPosition", NULL);
    const sl_val_t *ts = sl_val_get(in, "StartingPositionTimestamp");
    if (ts && ts->type == SL_VAL_TIMESTAMP) {
        s->has_starting_ts = true;
        s->starting_ts_ms = ts->u.ts_ms;
    }
    const sl_val_t *dest = sl_val_get(in, "DestinationConfig");
    if (dest) {
        const sl_val_t *on_failure = sl_val_get(dest, "OnFailure");
        s->has_destination = true;
        s->destination = on_failure ? sl_val_get_str(on_failure, "Destination", NULL) : NULL;
        if (!s->destination) s->destination = "";
    }
    const sl_val_t *types = sl_val_get(in, "FunctionResponseTypes");
    if (types && types->type == SL_VAL_ARRAY) {
        s->has_response_types = true;
        for (size_t i = 0; i < types->u.arr.count; i++)
            if (types->u.arr.items[i]->type == SL_VAL_STRING &&
                strcmp(types->u.arr.items[i]->u.str.ptr, "ReportBatchItemFailures") == 0)
                s->report_failures = true;
    }
    const sl_val_t *criteria = sl_val_get(in, "FilterCriteria");
    if (criteria) {
        const sl_val_t *filters = sl_val_get(criteria, "Filters");
        s->has_filters = true;
        size_t n = filters && filters->type == SL_VAL_ARRAY ? filters->u.arr.count : 0;
        const char **patterns = sl_arena_calloc(call->arena, n + 1, sizeof *patterns);
        if (!patterns) {
            sl_front_fail_internal(call, SL_ENOMEM);
            return false;
        }
        for (size_t i = 0; i < n; i++) {
            const char *p = sl_val_get_str(filters->u.arr.items[i], "Pattern", NULL);
            if (p) patterns[s->pattern_count++] = p;
        }
        s->patterns = patterns;
    }
    return true;
}

/* Creating or changing a mapping invokes functions on this host: as for functions, only admin
 * principals may once signatures are verified (docs/functions.md, "Safety"). */
static bool may_manage(sl_front_call_t *call) {
    if (!call->principal || call->principal->admin) return true;
    sl_front_fail(call, "AccessDeniedException",
                  "User: %s is not authorized to perform: lambda:%s because creating or changing "
                  "event source mappings invokes functions on this server, which only "
                  "administrators may do.",
                  call->principal->arn, call->op->name);
    return false;
}

static void h_create(sl_front_call_t *call) {
    if (!may_manage(call)) return;
    sl_esm_op_t *op = new_op(call, SL_ESM_CREATE);
    if (op && decode_spec(call, &op->spec)) sl_esm_submit(sl_esm_of(op->account), op);
}

static void h_get(sl_front_call_t *call) {
    sl_esm_op_t *op = new_op(call, SL_ESM_GET);
    if (op) sl_esm_submit(sl_esm_of(op->account), op);
}

static void h_list(sl_front_call_t *call) {
    sl_esm_op_t *op = new_op(call, SL_ESM_LIST);
    if (!op) return;
    op->marker = sl_val_get_str(call->in, "Marker", NULL);
    get_int(call->in, "MaxItems", &op->max_items);
    sl_esm_submit(sl_esm_of(op->account), op);
}

static void h_update(sl_front_call_t *call) {
    if (!may_manage(call)) return;
    sl_esm_op_t *op = new_op(call, SL_ESM_UPDATE);
    if (op && decode_spec(call, &op->spec)) sl_esm_submit(sl_esm_of(op->account), op);
}

static void h_delete(sl_front_call_t *call) {
    if (!may_manage(call)) return;
    sl_esm_op_t *op = new_op(call, SL_ESM_DELETE);
    if (op) sl_esm_submit(sl_esm_of(op->account), op);
}

static const struct {
    const char *name;
    sl_front_op_fn fn;
} handlers[] = {
    {"CreateEventSourceMapping", h_create}, {"DeleteEventSourceMapping", h_delete},
    {"GetEventSourceMapping", h_get},       {"ListEventSourceMappings", h_list},
    {"UpdateEventSourceMapping", h_update},
};

sl_front_op_fn sl_lapi_esm_handler(const char *op_name) {
    for (size_t i = 0; i < SL_ARRAY_LEN(handlers); i++)
        if (strcmp(handlers[i].name, op_name) == 0) return handlers[i].fn;
    return NULL;
}
