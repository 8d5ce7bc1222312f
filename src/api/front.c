/* The HTTP front of the AWS API: request-processing order, content types, error envelopes, CORS,
 * request ids (see api.h). */
#include "api/internal.h"

#include "api/validate.h"
#include "core/log.h"
#include "core/time.h"
#include "wire/awserror.h"
#include "wire/base64.h"
#include "wire/cbor.h"
#include "wire/json.h"
#include "wire/sigv4.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CT_JSON "application/x-amz-json-1.1"
#define CT_CBOR "application/x-amz-cbor-1.1"
#define TARGET_PREFIX "Kinesis_20131202"

void sl_kapi_subs_attach(sl_api_t *api);

int sl_api_create(const sl_api_config_t *cfg, sl_api_t **out) {
    sl_api_t *api = calloc(1, sizeof *api);
    if (!api) return SL_ENOMEM;
    api->k = cfg->kinesis;
    sl_kapi_subs_init(api);
    sl_kapi_subs_attach(api);
    *out = api;
    return 0;
}

void sl_api_destroy(sl_api_t *api) {
    if (!api) return;
    sl_kapi_subs_deinit(api);
    free(api);
}

/* ---- ids ---- */

static uint64_t rng_next(void) {
    static _Thread_local uint64_t s;
    if (!s) s = (uint64_t)sl_time_mono_ns() ^ (uint64_t)(uintptr_t)&s ^ 0x9E3779B97F4A7C15ull;
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s * 0x2545F4914F6CDD1Dull;
}

static void make_request_id(char out[40]) {
    uint64_t a = rng_next(), b = rng_next();
    snprintf(out, 40, "%08x-%04x-4%03x-%04x-%012llx", (unsigned)(a >> 32), (unsigned)(a >> 16) & 0xffff,
             (unsigned)a & 0xfff, (unsigned)((b >> 48) & 0x3fff) | 0x8000, (unsigned long long)(b & 0xffffffffffffull));
}

static char *make_id2(sl_arena_t *a) {
    uint8_t raw[72];
    for (size_t i = 0; i < sizeof raw; i += 8) {
        uint64_t r = rng_next();
        memcpy(raw + i, &r, 8);
    }
    char *out = sl_arena_alloc(a, sl_base64_encoded_len(sizeof raw) + 1);
    if (!out) return NULL;
    sl_base64_encode(raw, sizeof raw, out);
    out[sl_base64_encoded_len(sizeof raw)] = 0;
    return out;
}

/* ---- responses ---- */

static void send(sl_http_req_t *req, const char *request_id, const char *origin, int status,
                 const char *content_type, void *body, size_t len, const char *extra_name, const char *extra_value) {
    sl_http_header_t h[8];
    size_t n = 0;
    char *id2 = make_id2(req->arena);
#define H(nm, val)                                                                                 \
    do {                                                                                           \
        h[n].name = nm;                                                                            \
        h[n].name_len = strlen(nm);                                                                \
        h[n].value = val;                                                                          \
        h[n].value_len = strlen(val);                                                              \
        n++;                                                                                       \
    } while (0)
    H("x-amzn-RequestId", request_id);
    if (id2) H("x-amz-id-2", id2);
    if (content_type) H("Content-Type", content_type);
    if (origin) {
        H("Access-Control-Allow-Origin", "*");
        H("Access-Control-Expose-Headers",
          "x-amzn-RequestId,x-amzn-ErrorType,x-amz-request-id,x-amz-id-2,x-amzn-ErrorMessage,Date");
    }
    if (extra_name) H(extra_name, extra_value);
#undef H
    sl_http_respond(req, status, h, n, body, len);
}

static void send_copy(sl_http_req_t *req, const char *request_id, const char *origin, int status,
                      const char *content_type, const char *body) {
    size_t len = body ? strlen(body) : 0;
    void *copy = NULL;
    if (len) {
        copy = malloc(len);
        if (copy) memcpy(copy, body, len);
        else len = 0;
    }
    send(req, request_id, origin, status, content_type, copy, len, NULL, NULL);
}

static const char *fmt_content_type(sl_fmt_t fmt) { return fmt == SL_FMT_CBOR ? CT_CBOR : CT_JSON; }

static void send_error(sl_http_req_t *req, const char *request_id, const char *origin, sl_fmt_t fmt,
                       const char *type, const char *message) {
    sl_buf_t b = SL_BUF_INIT;
    bool capital = type && strcmp(type, "SerializationException") == 0;
    sl_aws_error_body(&b, fmt, type, message, capital);
    int status = type && strncmp(type, "InternalFailure", 15) == 0 ? 500 : 400;
    size_t len;
    char *body = sl_buf_detach(&b, &len);
    send(req, request_id, origin, status, fmt_content_type(fmt), body, len, NULL, NULL);
}

void sl_api_reply(sl_api_call_t *call) {
    size_t len;
    char *body = NULL;
    if (sl_buf_failed(&call->out)) {
        sl_buf_free(&call->out);
        send_error(call->req, call->request_id, call->origin, call->fmt, "InternalFailure", NULL);
        return;
    }
    body = sl_buf_detach(&call->out, &len);
    send(call->req, call->request_id, call->origin, 200, fmt_content_type(call->fmt), body, len, NULL, NULL);
}

void sl_api_fail(sl_api_call_t *call, const char *type, const char *fmt, ...) {
    char *msg = NULL;
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        sl_buf_t b = SL_BUF_INIT;
        sl_buf_vprintf(&b, fmt, ap);
        va_end(ap);
        sl_buf_append_byte(&b, 0);
        msg = sl_buf_failed(&b) ? NULL : sl_arena_strndup(call->arena, b.data, b.len - 1);
        sl_buf_free(&b);
    }
    sl_buf_free(&call->out);
    send_error(call->req, call->request_id, call->origin, call->fmt, type, msg);
}

static void post_trampoline(void *arg) {
    sl_api_call_t *call = arg;
    void (*fn)(sl_api_call_t *) = call->post_fn;
    call->post_fn = NULL;
    fn(call);
}

void sl_api_post(sl_api_call_t *call, void (*fn)(sl_api_call_t *call)) {
    call->post_fn = fn;
    if (sl_loop_post(sl_http_req_loop(call->req), post_trampoline, call) != 0) {
        SL_ERROR("api: cannot post completion to the network loop");
    }
}

/* ---- request processing ---- */

static const char *header(sl_http_req_t *req, const char *name) {
    const sl_http_header_t *h = sl_http_req_header(req, name);
    if (!h) return NULL;
    return sl_arena_strndup(req->arena, h->value, h->value_len);
}

static const char *xml_access_denied =
    "<AccessDeniedException>\n  <Message>Unable to determine service/operation name to be authorized</Message>\n"
    "</AccessDeniedException>\n";

void sl_api_handle_http(void *ctx, sl_http_req_t *req) {
    sl_api_t *api = ctx;
    char request_id[40];
    make_request_id(request_id);
    const char *origin = header(req, "origin");

    /* 1. CORS preflight */
    if (strcmp(req->method, "OPTIONS") == 0 && origin) {
        sl_http_header_t h[8];
        size_t n = 0;
        const char *acrh = header(req, "access-control-request-headers");
        const char *acrm = header(req, "access-control-request-method");
        h[n++] = (sl_http_header_t){"x-amzn-RequestId", 16, request_id, strlen(request_id)};
        h[n++] = (sl_http_header_t){"Access-Control-Allow-Origin", 27, "*", 1};
        h[n++] = (sl_http_header_t){"Access-Control-Max-Age", 22, "172800", 6};
        if (acrh) h[n++] = (sl_http_header_t){"Access-Control-Allow-Headers", 28, acrh, strlen(acrh)};
        if (acrm) h[n++] = (sl_http_header_t){"Access-Control-Allow-Methods", 28, acrm, strlen(acrm)};
        sl_http_respond(req, 200, h, n, NULL, 0);
        return;
    }
    /* 2. only POST */
    if (strcmp(req->method, "POST") != 0) {
        send_copy(req, request_id, origin, 403, NULL, xml_access_denied);
        return;
    }

    const char *target = header(req, "x-amz-target");
    const char *op_name = NULL;
    bool service_ok = false;
    if (target) {
        const char *dot = strchr(target, '.');
        if (dot) {
            service_ok = (size_t)(dot - target) == strlen(TARGET_PREFIX) && strncmp(target, TARGET_PREFIX, dot - target) == 0;
            op_name = dot + 1;
        }
    }
    const sl_op_t *op = service_ok && op_name ? sl_model_find_op(&sl_kinesis_model, op_name, strlen(op_name)) : NULL;

    /* content type: compare the media type before ';', trimmed */
    const char *ct_raw = header(req, "content-type");
    char ct[128] = "";
    if (ct_raw) {
        while (*ct_raw == ' ' || *ct_raw == '\t') ct_raw++;
        size_t n = strcspn(ct_raw, ";");
        while (n > 0 && (ct_raw[n - 1] == ' ' || ct_raw[n - 1] == '\t')) n--;
        if (n >= sizeof ct) n = sizeof ct - 1;
        for (size_t i = 0; i < n; i++) ct[i] = (char)tolower((unsigned char)ct_raw[i]);
        ct[n] = 0;
    }
    bool is_json = strcmp(ct, CT_JSON) == 0, is_cbor = strcmp(ct, CT_CBOR) == 0;
    bool is_legacy_json = strcmp(ct, "application/json") == 0;

    /* 3. empty body: JSON only for exactly amz-json-1.1, otherwise CBOR */
    if (req->body_len == 0) {
        send_error(req, request_id, origin, is_json ? SL_FMT_JSON : SL_FMT_CBOR,
                   op ? "SerializationException" : "UnknownOperationException", NULL);
        return;
    }
    /* 4. unsupported content type */
    if (!is_json && !is_cbor && !is_legacy_json) {
        if (!target || !op_name) send_copy(req, request_id, origin, 403, NULL, xml_access_denied);
        else send_copy(req, request_id, origin, 404, NULL, "<UnknownOperationException/>\n");
        return;
    }
    /* 5. parse */
    sl_fmt_t fmt = is_cbor ? SL_FMT_CBOR : SL_FMT_JSON;
    sl_val_t *doc = NULL;
    const char *reason = NULL;
    int prc = is_cbor ? sl_cbor_parse(req->body, req->body_len, req->arena, &doc, &reason)
                      : sl_json_parse((char *)req->body, req->body_len, req->arena, &doc, &reason);
    if (is_legacy_json) {
        send_copy(req, request_id, origin, prc != 0 || !doc || doc->type != SL_VAL_MAP ? 400 : 404, CT_JSON,
                  prc != 0 || !doc || doc->type != SL_VAL_MAP
                      ? "{\"Output\":{\"__type\":\"com.amazon.coral.service#SerializationException\"},\"Version\":\"1.0\"}"
                      : "{\"Output\":{\"__type\":\"com.amazon.coral.service#UnknownOperationException\"},\"Version\":\"1.0\"}");
        return;
    }
    if (prc != 0 || !doc || doc->type != SL_VAL_MAP) {
        send_error(req, request_id, origin, fmt, "SerializationException", NULL);
        return;
    }
    /* 6. target */
    if (!op) {
        send_error(req, request_id, origin, fmt, "UnknownOperationException", NULL);
        return;
    }
    /* 7. authentication (format checks; signature verification is a separate issue) */
    const char *authz = header(req, "authorization");
    const char *query = strchr(req->path, '?');
    bool has_date = sl_http_req_header(req, "x-amz-date") || sl_http_req_header(req, "date");
    sl_sigv4_auth_t auth;
    const char *etype = NULL, *emsg = NULL;
    if (sl_sigv4_check(authz, query ? query + 1 : NULL, has_date, req->arena, &auth, &etype, &emsg) != 0) {
        send_error(req, request_id, origin, fmt, etype, emsg);
        return;
    }
    /* 8. validation */
    sl_api_error_t verr = {0};
    if (sl_api_validate(op, doc, fmt, req->arena, &verr) != 0) {
        send_error(req, request_id, origin, fmt, verr.type, verr.message);
        return;
    }
    sl_api_op_fn fn = sl_kinesis_op_handler(op->name);
    sl_api_call_t *call = sl_arena_calloc(req->arena, 1, sizeof *call);
    if (!call || !fn) {
        send_error(req, request_id, origin, fmt, "InternalFailure", NULL);
        return;
    }
    call->api = api;
    call->k = api->k;
    call->req = req;
    call->arena = req->arena;
    call->fmt = fmt;
    call->op = op;
    call->in = doc;
    call->now_ms = sl_time_now_ms();
    memcpy(call->request_id, request_id, sizeof request_id);
    call->origin = origin;
    sl_enc_init(&call->enc, &call->out, fmt);
    fn(call);
}
