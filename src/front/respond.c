/* Answers of the front: request ids, the headers every answer carries, AWS's error shapes in the
 * request's content type, the 413 the HTTP server gives itself, and the completion of calls
 * (reply, fail, post). */
#include "front/internal.h"

#include "core/crc32c.h"
#include "core/log.h"
#include "core/time.h"
#include "wire/awserror.h"
#include "wire/base64.h"
#include "wire/xml.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- ids ---- */

static uint64_t rng_next(void) {
    static _Thread_local uint64_t s;
    if (!s) s = (uint64_t)sl_time_mono_ns() ^ (uint64_t)(uintptr_t)&s ^ 0x9E3779B97F4A7C15ull;
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s * 0x2545F4914F6CDD1Dull;
}

/* Writes the low `digits` hex digits of v (lower case) at out; returns the end. */
static char *put_hex(char *out, uint64_t v, int digits) {
    static const char hex[] = "0123456789abcdef";
    for (int i = digits - 1; i >= 0; i--, v >>= 4)
        out[i] = hex[v & 0xf];
    return out + digits;
}

/* A version-4 UUID ("%08x-%04x-4%03x-%04x-%012x"), written digit by digit: snprintf was the
 * largest single cost of a PutRecord's front on the profile. */
void sl_front_make_request_id(char out[40]) {
    uint64_t a = rng_next(), b = rng_next();
    char *p = put_hex(out, a >> 32, 8);
    *p++ = '-';
    p = put_hex(p, a >> 16, 4);
    *p++ = '-';
    *p++ = '4';
    p = put_hex(p, a, 3);
    *p++ = '-';
    p = put_hex(p, ((b >> 48) & 0x3fff) | 0x8000, 4);
    *p++ = '-';
    p = put_hex(p, b, 12);
    *p = 0;
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

void sl_front_send(sl_http_req_t *req, const char *request_id, const char *origin, int status,
                   const char *content_type, void *body, size_t len) {
    sl_front_send_svc(req, NULL, request_id, origin, status, content_type, body, len);
}

void sl_front_send_svc(sl_http_req_t *req, const sl_front_service_t *svc, const char *request_id,
                       const char *origin, int status, const char *content_type, void *body,
                       size_t len) {
    sl_front_send_full(req, svc, request_id, origin, status, content_type, NULL, 0, body, len);
}

void sl_front_send_headers(sl_http_req_t *req, const char *request_id, const char *origin,
                           int status, const char *content_type, const sl_http_header_t *extra,
                           size_t extra_count, void *body, size_t len) {
    sl_front_send_full(req, NULL, request_id, origin, status, content_type, extra, extra_count,
                       body, len);
}

static int send_core(sl_http_req_t *req, const sl_front_service_t *svc, const char *request_id,
                     const char *origin, int status, const char *content_type,
                     const sl_http_header_t *extra, size_t extra_count, bool s3_ids, void *body,
                     size_t len, const sl_http_stream_cbs_t *stream, uint64_t stream_len);

void sl_front_send_full(sl_http_req_t *req, const sl_front_service_t *svc, const char *request_id,
                        const char *origin, int status, const char *content_type,
                        const sl_http_header_t *extra, size_t extra_count, void *body, size_t len) {
    send_core(req, svc, request_id, origin, status, content_type, extra, extra_count,
              svc && svc->protocol == SL_FRONT_PROTO_REST_XML, body, len, NULL, 0);
}

void sl_front_send_ex(sl_http_req_t *req, const char *request_id, const char *origin, int status,
                      const char *content_type, const sl_http_header_t *extra, size_t extra_count,
                      bool s3_ids, void *body, size_t len) {
    send_core(req, NULL, request_id, origin, status, content_type, extra, extra_count, s3_ids, body,
              len, NULL, 0);
}

int sl_front_stream_sized(sl_front_call_t *call, int status, const sl_http_header_t *headers,
                          size_t header_count, uint64_t len, const sl_http_stream_cbs_t *cbs) {
    bool s3 = call->service && call->service->protocol == SL_FRONT_PROTO_REST_XML;
    sl_buf_free(&call->out);
    return send_core(call->req, NULL, call->request_id, call->origin, status, NULL, headers,
                     header_count, s3, NULL, 0, cbs, len);
}

/* The headers every answer carries, the extra ones (any number: S3's object answers carry the
 * stored headers), then the answer; with `stream`, Content-Length: stream_len and a streamed
 * answer (sl_http_stream_begin's result). */
static int send_core(sl_http_req_t *req, const sl_front_service_t *svc, const char *request_id,
                     const char *origin, int status, const char *content_type,
                     const sl_http_header_t *extra, size_t extra_count, bool s3_ids, void *body,
                     size_t len, const sl_http_stream_cbs_t *stream, uint64_t stream_len) {
    sl_front_audit_emit(req, status);
    sl_http_header_t fixed[10 + SL_FRONT_OUT_HEADERS_MAX], *h = fixed;
    char crc[16];
    size_t n = 0;
    if (extra_count > SL_FRONT_OUT_HEADERS_MAX) {
        h = sl_arena_alloc(req->arena, (10 + extra_count) * sizeof *h);
        if (!h) {
            h = fixed;
            extra_count = SL_FRONT_OUT_HEADERS_MAX;
        }
    }
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
    if (s3_ids) H("x-amz-request-id", request_id);
    if (id2) H("x-amz-id-2", id2);
    if (content_type) H("Content-Type", content_type);
    if (svc && svc->protocol == SL_FRONT_PROTO_RPC_V2_CBOR) H("smithy-protocol", "rpc-v2-cbor");
    if (svc && svc->crc32_header) {
        snprintf(crc, sizeof crc, "%u", (unsigned)sl_crc32_ieee(0, body, len));
        H("x-amz-crc32", crc);
    }
    if (origin) { /* an allowed origin (sl_front_origin_allowed) */
        H("Access-Control-Allow-Origin", origin);
        H("Vary", "Origin");
        H("Access-Control-Expose-Headers",
          "x-amzn-RequestId,x-amzn-ErrorType,x-amz-request-id,x-amz-id-2,x-amzn-ErrorMessage,Date");
    }
#undef H
    for (size_t i = 0; i < extra_count; i++)
        h[n++] = extra[i];
    if (stream) return sl_http_stream_begin_sized(req, status, h, n, stream_len, stream);
    sl_http_respond(req, status, h, n, body, len);
    return 0;
}

void sl_front_send_copy(sl_http_req_t *req, const char *request_id, const char *origin, int status,
                        const char *content_type, const char *body) {
    size_t len = body ? strlen(body) : 0;
    void *copy = NULL;
    if (len) {
        copy = malloc(len);
        if (copy)
            memcpy(copy, body, len);
        else
            len = 0;
    }
    sl_front_send(req, request_id, origin, status, content_type, copy, len);
}

const char *sl_front_content_type(const sl_front_service_t *svc, sl_fmt_t fmt) {
    if (fmt == SL_FMT_CBOR)
        return svc && svc->cbor_content_type ? svc->cbor_content_type : SL_FRONT_CT_CBOR;
    return svc ? svc->json_content_type : SL_FRONT_CT_JSON;
}

/* REST-JSON errors as botocore's rest-json parser reads them: the type in x-amzn-ErrorType, the
 * body {"Type":"User"|"Service","message":...} (Lambda's shape; "Service" for 5xx faults), plus
 * the error shape's other members: body_kv (name, value pairs) and headers. */
static void send_rest_error_ex(sl_http_req_t *req, const char *request_id, const char *origin,
                               int status, const char *type, const char *message,
                               const sl_http_header_t *headers, size_t header_count,
                               const char *const *body_kv, size_t body_pairs) {
    sl_buf_t b = SL_BUF_INIT;
    sl_enc_t e;
    sl_enc_init(&e, &b, SL_FMT_JSON);
    sl_enc_map_begin(&e);
    sl_enc_kv_cstr(&e, "Type", status >= 500 ? "Service" : "User");
    if (message) sl_enc_kv_cstr(&e, "message", message);
    for (size_t i = 0; i < body_pairs; i++)
        sl_enc_kv_cstr(&e, body_kv[2 * i], body_kv[2 * i + 1]);
    sl_enc_map_end(&e);
    size_t len;
    char *body = sl_buf_detach(&b, &len);
    sl_http_header_t h[1 + SL_FRONT_OUT_HEADERS_MAX];
    size_t n = 0;
    h[n++] = (sl_http_header_t){"x-amzn-ErrorType", 16, type ? type : "", type ? strlen(type) : 0};
    for (size_t i = 0; i < header_count && n < sizeof h / sizeof h[0]; i++)
        h[n++] = headers[i];
    sl_front_send_headers(req, request_id, origin, status, "application/json", h, n, body, len);
}

static void send_rest_error(sl_http_req_t *req, const char *request_id, const char *origin,
                            int status, const char *type, const char *message) {
    send_rest_error_ex(req, request_id, origin, status, type, message, NULL, 0, NULL, 0);
}

void sl_front_send_xml_error(sl_http_req_t *req, const char *request_id, const char *origin,
                             int status, const char *code, const char *message,
                             const char *detail_name, const char *detail_value) {
    sl_front_audit_error(req, code, message);
    sl_buf_t b = SL_BUF_INIT;
    sl_xml_writer_t w;
    sl_xml_writer_init(&w, &b);
    sl_xml_declaration(&w);
    sl_xml_open(&w, "Error", NULL);
    sl_xml_element(&w, "Code", code);
    if (message) sl_xml_element(&w, "Message", message);
    if (detail_name && detail_value) sl_xml_element(&w, detail_name, detail_value);
    sl_xml_element(&w, "RequestId", request_id);
    sl_xml_finish(&w);
    size_t len = 0;
    char *body = sl_buf_failed(&b) ? NULL : sl_buf_detach(&b, &len);
    sl_buf_free(&b);
    sl_front_send_ex(req, request_id, origin, status, "application/xml", NULL, 0, true, body, len);
}

void sl_front_send_error_status(sl_http_req_t *req, const sl_front_service_t *svc,
                                const char *request_id, const char *origin, sl_fmt_t fmt,
                                int status, const char *type, const char *message) {
    sl_front_audit_error(req, type, message);
    if (svc && svc->protocol == SL_FRONT_PROTO_REST_JSON) {
        send_rest_error(req, request_id, origin, status, type, message);
        return;
    }
    if (svc && svc->protocol == SL_FRONT_PROTO_REST_XML) {
        sl_front_send_xml_error(req, request_id, origin, status, type ? type : "InternalError",
                                message, NULL, NULL);
        return;
    }
    sl_buf_t b = SL_BUF_INIT;
    bool capital = type && strcmp(type, SL_AWS_SERIALIZATION) == 0;
    sl_aws_error_body(&b, fmt, type, message, capital);
    size_t len;
    char *body = sl_buf_detach(&b, &len);
    sl_front_send_svc(req, svc, request_id, origin, status, sl_front_content_type(svc, fmt), body,
                      len);
}

void sl_front_send_error(sl_http_req_t *req, const sl_front_service_t *svc, const char *request_id,
                         const char *origin, sl_fmt_t fmt, const char *type, const char *message) {
    /* a REST service's own error shapes carry their status in its model (Lambda's
     * ResourceNotFoundException is a 404, Kinesis's a 400) */
    const sl_model_error_t *me = svc && svc->protocol != SL_FRONT_PROTO_JSON &&
                                         svc->protocol != SL_FRONT_PROTO_RPC_V2_CBOR && type
                                     ? sl_model_find_error(svc->model, type)
                                     : NULL;
    sl_front_send_error_status(req, svc, request_id, origin, fmt,
                               me ? me->status : sl_aws_error_status(type), type, message);
}

/* The status of a REST answer: the handler's, else the operation's responseCode. */
static int rest_status(const sl_front_call_t *call) {
    if (call->status) return call->status;
    return call->op && call->op->response_code ? call->op->response_code : 200;
}

void sl_front_reply(sl_front_call_t *call) {
    size_t len;
    char *body = NULL;
    if (sl_buf_failed(&call->out)) {
        sl_buf_free(&call->out);
        if (call->query) {
            sl_front_fail_internal(call, SL_ENOMEM);
            return;
        }
        sl_front_send_error(call->req, call->service, call->request_id, call->origin, call->fmt,
                            SL_AWS_INTERNAL_FAILURE, sl_aws_failure_message(SL_ENOMEM));
        return;
    }
    body = sl_buf_detach(&call->out, &len);
    if (call->service && call->service->protocol == SL_FRONT_PROTO_REST_JSON) {
        sl_front_send_full(call->req, call->service, call->request_id, call->origin,
                           rest_status(call), len ? "application/json" : NULL, call->out_headers,
                           call->out_header_count, body, len);
        return;
    }
    sl_front_send_svc(call->req, call->service, call->request_id, call->origin, 200,
                      call->query ? "text/xml" : sl_front_content_type(call->service, call->fmt),
                      body, len);
}

int sl_front_out_header(sl_front_call_t *call, const char *member, const char *value) {
    const sl_shape_t *out = call->op ? call->op->output : NULL;
    const sl_member_t *m = NULL;
    for (size_t i = 0; out && i < out->member_count && !m; i++)
        if (strcmp(out->members[i].name, member) == 0) m = &out->members[i];
    if (!m || m->location != SL_LOC_HEADER || call->out_header_count >= SL_FRONT_OUT_HEADERS_MAX)
        return SL_EINVAL;
    if (!call->out_headers &&
        !(call->out_headers =
              sl_arena_calloc(call->arena, SL_FRONT_OUT_HEADERS_MAX, sizeof *call->out_headers)))
        return SL_ENOMEM;
    char *v = sl_arena_strndup(call->arena, value, strlen(value));
    if (!v) return SL_ENOMEM;
    call->out_headers[call->out_header_count++] =
        (sl_http_header_t){m->location_name, strlen(m->location_name), v, strlen(v)};
    return 0;
}

void sl_front_out_status(sl_front_call_t *call, int status) {
    call->status = status;
}

void sl_front_reply_payload(sl_front_call_t *call, const char *content_type, const void *body,
                            size_t len) {
    void *copy = len ? malloc(len) : NULL;
    if (len && !copy) {
        sl_front_fail_internal(call, SL_ENOMEM);
        return;
    }
    if (len) memcpy(copy, body, len);
    sl_buf_free(&call->out);
    sl_front_send_headers(call->req, call->request_id, call->origin, rest_status(call),
                          content_type, call->out_headers, call->out_header_count, copy, len);
}

void sl_front_respond(sl_front_call_t *call, int status, const char *content_type, const void *body,
                      size_t len) {
    void *copy = len ? malloc(len) : NULL;
    if (len && !copy) {
        sl_front_fail_internal(call, SL_ENOMEM);
        return;
    }
    if (len) memcpy(copy, body, len);
    sl_front_send(call->req, call->request_id, call->origin, status, content_type, copy, len);
}

void sl_front_respond_ex(sl_front_call_t *call, int status, const char *content_type,
                         const sl_http_header_t *headers, size_t header_count, void *body,
                         size_t len) {
    bool s3 = call->service && call->service->protocol == SL_FRONT_PROTO_REST_XML;
    sl_buf_free(&call->out);
    sl_front_send_ex(call->req, call->request_id, call->origin, status, content_type, headers,
                     header_count, s3, body, len);
}

void sl_front_fail_status(sl_front_call_t *call, int status, const char *type, const char *message,
                          const char *detail_name, const char *detail_value) {
    sl_buf_free(&call->out);
    if (call->service && call->service->protocol == SL_FRONT_PROTO_REST_XML)
        sl_front_send_xml_error(call->req, call->request_id, call->origin, status, type, message,
                                detail_name, detail_value);
    else
        sl_front_send_error_status(call->req, call->service, call->request_id, call->origin,
                                   call->fmt, status, type, message);
}

void sl_front_fail(sl_front_call_t *call, const char *type, const char *fmt, ...) {
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
    if (call->query)
        sl_front_query_error(call->req, call->service, call->request_id, call->origin, type, msg);
    else
        sl_front_send_error(call->req, call->service, call->request_id, call->origin, call->fmt,
                            type, msg);
}

void sl_front_fail_rest(sl_front_call_t *call, const char *type, const char *message,
                        const sl_http_header_t *headers, size_t header_count,
                        const char *const *body_kv, size_t body_pairs) {
    if (!call->service || call->service->protocol != SL_FRONT_PROTO_REST_JSON) {
        sl_front_fail(call, type, "%s", message);
        return;
    }
    const sl_model_error_t *me = type ? sl_model_find_error(call->service->model, type) : NULL;
    sl_buf_free(&call->out);
    send_rest_error_ex(call->req, call->request_id, call->origin,
                       me ? me->status : sl_aws_error_status(type), type, message, headers,
                       header_count, body_kv, body_pairs);
}

void sl_front_fail_compat(sl_front_call_t *call, int status, const char *type, const char *code,
                          const char *message) {
    sl_buf_free(&call->out);
    if (call->query) {
        sl_front_query_error_status(call->req, call->service, call->request_id, call->origin,
                                    status, code, message);
        return;
    }
    sl_buf_t b = SL_BUF_INIT;
    sl_aws_error_body(&b, call->fmt, type, message, false);
    size_t len;
    char *body = sl_buf_detach(&b, &len);
    sl_buf_t hv = SL_BUF_INIT;
    sl_buf_printf(&hv, "%s;%s", code, status >= 500 ? "Receiver" : "Sender");
    sl_buf_append_byte(&hv, 0);
    const char *value =
        sl_buf_failed(&hv) ? "" : sl_arena_strndup(call->arena, hv.data, hv.len - 1);
    sl_buf_free(&hv);
    sl_http_header_t h = {"x-amzn-query-error", 18, value ? value : "", value ? strlen(value) : 0};
    sl_front_send_full(call->req, call->service, call->request_id, call->origin, status,
                       sl_front_content_type(call->service, call->fmt), &h, 1, body, len);
}

void sl_front_fail_internal(sl_front_call_t *call, int code) {
    /* The client sees only AWS's generic text, so the cause is logged here, once, for every
     * service: without it an InternalFailure in the field cannot be traced to its error. */
    sl_log(code == SL_EINJECTED ? SL_LOG_DEBUG : SL_LOG_ERROR,
           "%s answered InternalFailure: %s (code %d, request %s)",
           call->op && call->op->name ? call->op->name : "request", sl_strerror(code), code,
           call->request_id);
    sl_buf_free(&call->out);
    if (call->query) {
        sl_front_query_error(call->req, call->service, call->request_id, call->origin,
                             SL_AWS_INTERNAL_FAILURE, sl_aws_failure_message(code));
        return;
    }
    sl_front_send_error(call->req, call->service, call->request_id, call->origin, call->fmt,
                        SL_AWS_INTERNAL_FAILURE, sl_aws_failure_message(code));
}

static void post_trampoline(void *arg) {
    sl_front_call_t *call = arg;
    void (*fn)(sl_front_call_t *) = call->post_fn;
    call->post_fn = NULL;
    fn(call);
}

void sl_front_post(sl_front_call_t *call, void (*fn)(sl_front_call_t *call)) {
    call->post_fn = fn;
    /* the call's own node: no allocation, so a completion is never lost */
    sl_loop_post_node(sl_http_req_loop(call->req), &call->post_node, post_trampoline, call);
}

static bool starts_with(const sl_http_header_t *h, const char *media_type) {
    size_t n = media_type ? strlen(media_type) : 0;
    return n && h->value_len >= n && strncasecmp(h->value, media_type, n) == 0;
}

/* The answers the HTTP server gives itself, before the request reaches a service. The 413 for a
 * body over --body-max-bytes: AWS's error shape without a __type, so that SDKs report the status
 * as the error code, as they do for AWS's own 413 (boto3#1147: "An error occurred (413)"), with a
 * message saying which limit was hit. A request past its header or body deadline (408) is a
 * RequestTimeoutException and a body refused because the server's request-body memory is spent
 * (503) is ServiceUnavailable: both are retried by the SDKs. CBOR for a request in a registered
 * service's CBOR content type, JSON otherwise (in the JSON content type of the service the content
 * type names, else of the default one; a header deadline may fire before any header arrived). */
void *sl_front_error_body(void *ctx, int status, const sl_http_header_t *headers,
                          size_t header_count, size_t *len, const char **content_type) {
    const sl_front_t *front = ctx;
    const char *type, *message;
    switch (status) {
    case 413:
        type = NULL;
        message = "The request body is larger than this server accepts (--body-max-bytes).";
        break;
    case 408:
        type = SL_AWS_REQUEST_TIMEOUT;
        message = "The request was not received in time (--header-timeout-ms, --body-timeout-ms).";
        break;
    case 503:
        type = SL_AWS_SERVICE_UNAVAILABLE;
        message = "The server is out of memory for request bodies; retry later.";
        break;
    default:
        return NULL;
    }
    const sl_front_service_t *def = front->default_service ? &front->default_service->svc : NULL;
    const sl_front_service_t *match = def;
    bool cbor = false;
    for (size_t i = 0; i < header_count; i++) {
        if (headers[i].name_len != 12 || memcmp(headers[i].name, "content-type", 12) != 0) continue;
        const sl_http_header_t *h = &headers[i];
        match = def;
        cbor = false;
        for (size_t s = 0; s < front->service_count && !cbor; s++) {
            const sl_front_service_t *svc = &front->services[s].svc;
            if (svc->protocol != SL_FRONT_PROTO_JSON) continue; /* REST: application/json */
            if (starts_with(h, svc->cbor_content_type)) {
                match = svc;
                cbor = true;
            } else if (starts_with(h, svc->json_content_type)) {
                match = svc;
            }
        }
    }
    sl_buf_t b = SL_BUF_INIT;
    sl_aws_error_body(&b, cbor ? SL_FMT_CBOR : SL_FMT_JSON, type, message, false);
    if (sl_buf_failed(&b)) {
        sl_buf_free(&b);
        return NULL;
    }
    *content_type = sl_front_content_type(match, cbor ? SL_FMT_CBOR : SL_FMT_JSON);
    return sl_buf_detach(&b, len);
}
