/* The Lambda Runtime API (docs/functions.md, "The Runtime API"), served on its own loopback port
 * to the function processes: AWS_LAMBDA_RUNTIME_API is "127.0.0.1:<port>/<environment token>",
 * so a runtime that builds its URLs as http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime/... (the
 * curl bootstraps of AWS's tutorial, this project's clients) reaches its own environment. Each call
 * becomes an sl_fn_rt_t for the functions core; /next is answered when an invocation arrives. */
#include "api/lambda/binding.h"

#include "core/common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RUNTIME_PREFIX "/2018-06-01/runtime/"

static void send_json(sl_http_req_t *req, int status, const char *body) {
    size_t len = strlen(body);
    char *copy = malloc(len ? len : 1);
    if (copy) memcpy(copy, body, len);
    sl_http_header_t h = {"Content-Type", 12, "application/json", 16};
    sl_http_respond(req, status, &h, 1, copy, copy ? len : 0);
}

static void send_error(sl_http_req_t *req, int status, const char *type, const char *message) {
    char body[512];
    snprintf(body, sizeof body, "{\"errorMessage\":\"%s\",\"errorType\":\"%s\"}", message, type);
    send_json(req, status, body);
}

/* On the request's loop thread: the core's answer as HTTP. */
static void answer(void *arg) {
    sl_fn_rt_t *rt = arg;
    sl_http_req_t *req = rt->arg;
    /* rt lives in the request's arena, which the answer frees: take the event out first */
    void *event = rt->event;
    size_t event_len = rt->event_len;
    rt->event = NULL;
    switch (rt->status) {
    case SL_FN_RT_OK:
        if (rt->kind == SL_FN_RT_NEXT) {
            char deadline[24];
            snprintf(deadline, sizeof deadline, "%lld", (long long)rt->deadline_ms);
            sl_http_header_t h[] = {
                {"Content-Type", 12, "application/json", 16},
                {"Lambda-Runtime-Aws-Request-Id", 29, rt->out_request_id,
                 strlen(rt->out_request_id)},
                {"Lambda-Runtime-Deadline-Ms", 26, deadline, strlen(deadline)},
                {"Lambda-Runtime-Invoked-Function-Arn", 35, rt->function_arn,
                 strlen(rt->function_arn)},
                {"Lambda-Runtime-Trace-Id", 23, rt->trace_id, strlen(rt->trace_id)},
            };
            sl_http_respond(req, 200, h, SL_ARRAY_LEN(h), event, event_len); /* frees event */
            return;
        } else {
            send_json(req, 202, "{\"status\":\"OK\"}");
        }
        break;
    case SL_FN_RT_FORBIDDEN:
        send_error(req, 403, "Forbidden", "Unknown execution environment.");
        break;
    case SL_FN_RT_INVALID:
        send_error(req, 400, "InvalidRequestID", "Invalid request ID");
        break;
    case SL_FN_RT_TOO_LARGE:
        send_error(req, 413, "RequestEntityTooLarge",
                   "Exceeded maximum allowed payload size (6291556 bytes).");
        break;
    case SL_FN_RT_GONE:
        send_error(req, 500, "Runtime.ExitError", "The execution environment is being stopped.");
        break;
    }
    free(event);
}

static void rt_done(sl_fn_rt_t *rt) {
    sl_http_req_t *req = rt->arg;
    if (sl_loop_post(sl_http_req_loop(req), answer, rt) != 0) sl_fn_rt_deinit(rt);
}

static const char *header(sl_http_req_t *req, const char *name) {
    const sl_http_header_t *h = sl_http_req_header(req, name);
    return h ? sl_arena_strndup(req->arena, h->value, h->value_len) : NULL;
}

bool sl_lapi_runtime_parse(const char *method, const char *path, sl_lapi_rt_target_t *out) {
    *out = (sl_lapi_rt_target_t){0};
    const char *slash = path[0] == '/' ? strchr(path + 1, '/') : NULL;
    if (!slash || slash == path + 1 || strncmp(slash, RUNTIME_PREFIX, strlen(RUNTIME_PREFIX)) != 0)
        return false;
    out->token = path + 1;
    out->token_len = (size_t)(slash - path - 1);
    const char *call = slash + strlen(RUNTIME_PREFIX);
    bool get = strcmp(method, "GET") == 0, post = strcmp(method, "POST") == 0;
    if (get && strcmp(call, "invocation/next") == 0) {
        out->kind = SL_FN_RT_NEXT;
        return true;
    }
    if (post && strcmp(call, "init/error") == 0) {
        out->kind = SL_FN_RT_INIT_ERROR;
        return true;
    }
    if (!post || strncmp(call, "invocation/", 11) != 0) return false;
    const char *id = call + 11;
    const char *end = strchr(id, '/');
    if (!end || end == id) return false;
    if (strcmp(end, "/response") == 0)
        out->kind = SL_FN_RT_RESPONSE;
    else if (strcmp(end, "/error") == 0)
        out->kind = SL_FN_RT_ERROR;
    else
        return false;
    out->request_id = id;
    out->request_id_len = (size_t)(end - id);
    return true;
}

void sl_lapi_runtime_handle(void *ctx, sl_http_req_t *req) {
    sl_functions_t *fns = ctx;
    sl_lapi_rt_target_t t;
    if (!sl_lapi_runtime_parse(req->method, req->path, &t)) {
        send_error(req, 404, "InvalidRequest", "Not a Runtime API path.");
        return;
    }
    sl_fn_rt_t *rt = sl_arena_calloc(req->arena, 1, sizeof *rt);
    char *token = sl_arena_strndup(req->arena, t.token, t.token_len);
    char *id = t.request_id ? sl_arena_strndup(req->arena, t.request_id, t.request_id_len) : NULL;
    if (!rt || !token || (t.request_id && !id)) {
        send_error(req, 500, "ServiceException", "Out of memory.");
        return;
    }
    rt->kind = t.kind;
    rt->token = token;
    rt->request_id = id;
    rt->done = rt_done;
    rt->arg = req;
    rt->body = req->body;
    rt->body_len = req->body_len;
    rt->error_type = header(req, "lambda-runtime-function-error-type");
    sl_fn_runtime_submit(fns, rt);
}
