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
#include <strings.h>

#define CT_JSON "application/x-amz-json-1.1"
#define CT_CBOR "application/x-amz-cbor-1.1"
#define CT_LEGACY_JSON "application/json"
#define TARGET_PREFIX "Kinesis_20131202"

void sl_kapi_subs_attach(sl_api_t *api, sl_kinesis_t *k);

/* ---- CORS ---- */

static void cors_free(sl_api_t *api) {
    for (size_t i = 0; i < api->cors_origin_count; i++) free(api->cors_origins[i]);
    free(api->cors_origins);
    api->cors_origins = NULL;
    api->cors_origin_count = 0;
}

/* Parses the comma-separated origin list into api (lower-cased, a trailing '/' dropped). An entry
 * must be "*" or "http(s)://host[:port]" with nothing after the authority. */
static int cors_parse(sl_api_t *api, const sl_api_config_t *cfg) {
    const char *p = cfg->cors_origins ? cfg->cors_origins : "";
    while (*p) {
        while (*p == ' ' || *p == ',') p++;
        size_t n = strcspn(p, ",");
        while (n > 0 && p[n - 1] == ' ') n--;
        if (n == 0) break;
        size_t len = n;
        if (len > 1 && p[len - 1] == '/') len--;
        if (len == 1 && p[0] == '*') {
            if (!cfg->signatures_verified) {
                SL_ERROR("cors_origins: '*' (any web page) needs SigV4 signature verification, which "
                         "this server does not do yet; list the allowed origins instead");
                return SL_EINVAL;
            }
            api->cors_any = true;
        } else {
            size_t scheme = strncmp(p, "http://", 7) == 0 ? 7 : strncmp(p, "https://", 8) == 0 ? 8 : 0;
            if (!scheme || len <= scheme || memchr(p + scheme, '/', len - scheme) ||
                memchr(p, ' ', len)) {
                SL_ERROR("cors_origins: '%.*s' is not an origin (scheme://host[:port], e.g. "
                         "http://localhost:3000)", (int)n, p);
                return SL_EINVAL;
            }
            char **grown = realloc(api->cors_origins, (api->cors_origin_count + 1) * sizeof *grown);
            if (!grown) return SL_ENOMEM;
            api->cors_origins = grown;
            char *o = malloc(len + 1);
            if (!o) return SL_ENOMEM;
            for (size_t i = 0; i < len; i++) o[i] = (char)tolower((unsigned char)p[i]);
            o[len] = 0;
            api->cors_origins[api->cors_origin_count++] = o;
        }
        p += strcspn(p, ",");
    }
    return 0;
}

static bool ieq(const char *a, size_t alen, const char *b, size_t blen) {
    if (alen != blen) return false;
    for (size_t i = 0; i < alen; i++)
        if (tolower((unsigned char)a[i]) != tolower((unsigned char)b[i])) return false;
    return true;
}

/* host[:port] names this machine's loopback interface. */
static bool host_is_loopback(const char *host, size_t len) {
    size_t name = len;
    if (len && host[0] == '[') {
        const char *close = memchr(host, ']', len);
        name = close ? (size_t)(close - host) + 1 : len;
    } else {
        const char *colon = memchr(host, ':', len);
        if (colon) name = (size_t)(colon - host);
    }
    return ieq(host, name, "localhost", 9) || ieq(host, name, "[::1]", 5) ||
           (name >= 4 && strncmp(host, "127.", 4) == 0 && strspn(host, "0123456789.") >= name);
}

/* May a page of `origin` call this server? Listed origins may; so may a page the server itself
 * serves on a loopback address (same origin as the Host header: a future console), but not a page
 * whose Host is some other name, which is what a DNS-rebinding page would send. */
static bool origin_allowed(const sl_api_t *api, const sl_http_req_t *req, const char *origin) {
    if (api->cors_any) return true;
    size_t olen = strlen(origin);
    for (size_t i = 0; i < api->cors_origin_count; i++)
        if (ieq(origin, olen, api->cors_origins[i], strlen(api->cors_origins[i]))) return true;
    const sl_http_header_t *host = sl_http_req_header(req, "host");
    if (!host || !host_is_loopback(host->value, host->value_len)) return false;
    const char *scheme_end = strstr(origin, "://");
    if (!scheme_end) return false;
    const char *authority = scheme_end + 3;
    return ieq(authority, strlen(authority), host->value, host->value_len);
}

int sl_api_create(const sl_api_config_t *cfg, sl_api_t **out) {
    sl_api_t *api = calloc(1, sizeof *api);
    if (!api) return SL_ENOMEM;
    api->k = cfg->kinesis;
    api->account = cfg->account;
    api->account_ctx = cfg->account_ctx;
    int rc = cors_parse(api, cfg);
    if (rc) {
        cors_free(api);
        free(api);
        return rc;
    }
    sl_kapi_subs_init(api);
    sl_kapi_subs_attach(api, api->k);
    *out = api;
    return 0;
}

void sl_api_attach_kinesis(sl_api_t *api, sl_kinesis_t *k) { sl_kapi_subs_attach(api, k); }

void sl_api_destroy(sl_api_t *api) {
    if (!api) return;
    sl_kapi_subs_deinit(api);
    cors_free(api);
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
    if (origin) { /* an allowed origin (origin_allowed) */
        H("Access-Control-Allow-Origin", origin);
        H("Vary", "Origin");
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

/* An AWS error with an explicit status (the table's, or 403 for a refused origin). */
static void send_error_status(sl_http_req_t *req, const char *request_id, const char *origin,
                              sl_fmt_t fmt, int status, const char *type, const char *message) {
    sl_buf_t b = SL_BUF_INIT;
    bool capital = type && strcmp(type, SL_AWS_SERIALIZATION) == 0;
    sl_aws_error_body(&b, fmt, type, message, capital);
    size_t len;
    char *body = sl_buf_detach(&b, &len);
    send(req, request_id, origin, status, fmt_content_type(fmt), body, len, NULL, NULL);
}

static void send_error(sl_http_req_t *req, const char *request_id, const char *origin, sl_fmt_t fmt,
                       const char *type, const char *message) {
    send_error_status(req, request_id, origin, fmt, sl_aws_error_status(type), type, message);
}

void sl_api_reply(sl_api_call_t *call) {
    size_t len;
    char *body = NULL;
    if (sl_buf_failed(&call->out)) {
        sl_buf_free(&call->out);
        send_error(call->req, call->request_id, call->origin, call->fmt, SL_AWS_INTERNAL_FAILURE,
                   sl_aws_failure_message(SL_ENOMEM));
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

void sl_api_fail_internal(sl_api_call_t *call, int code) {
    sl_buf_free(&call->out);
    send_error(call->req, call->request_id, call->origin, call->fmt, SL_AWS_INTERNAL_FAILURE,
               sl_aws_failure_message(code));
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

/* The 413 for a body over --body-max-bytes is answered by the HTTP server before the request is
 * read: AWS's error shape without a __type, so that SDKs report the status as the error code, as
 * they do for AWS's own 413 (boto3#1147: "An error occurred (413)"), with a message saying which
 * limit was hit. CBOR for a CBOR request, JSON otherwise. */
void *sl_api_error_body(void *ctx, int status, const sl_http_header_t *headers, size_t header_count,
                        size_t *len, const char **content_type) {
    (void)ctx;
    if (status != 413) return NULL;
    bool cbor = false;
    for (size_t i = 0; i < header_count; i++)
        if (headers[i].name_len == 12 && memcmp(headers[i].name, "content-type", 12) == 0)
            cbor = headers[i].value_len >= strlen(CT_CBOR) &&
                   strncasecmp(headers[i].value, CT_CBOR, strlen(CT_CBOR)) == 0;
    sl_buf_t b = SL_BUF_INIT;
    sl_aws_error_body(&b, cbor ? SL_FMT_CBOR : SL_FMT_JSON, NULL,
                      "The request body is larger than this server accepts (--body-max-bytes).", false);
    if (sl_buf_failed(&b)) {
        sl_buf_free(&b);
        return NULL;
    }
    *content_type = cbor ? CT_CBOR : CT_JSON;
    return sl_buf_detach(&b, len);
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

/* The media type of the Content-Type header before ';', trimmed and lower-cased, into ct. */
static void media_type(sl_http_req_t *req, char *ct, size_t cap) {
    const char *raw = header(req, "content-type");
    ct[0] = 0;
    if (!raw) return;
    while (*raw == ' ' || *raw == '\t') raw++;
    size_t n = strcspn(raw, ";");
    while (n > 0 && (raw[n - 1] == ' ' || raw[n - 1] == '\t')) n--;
    if (n >= cap) n = cap - 1;
    for (size_t i = 0; i < n; i++) ct[i] = (char)tolower((unsigned char)raw[i]);
    ct[n] = 0;
}

/* A browser request from an origin that may not call this server: refused before anything else,
 * preflight or not, with no Access-Control-* header. A refused preflight stops the browser from
 * sending the real request; refusing the real request too stops the "simple" requests that
 * browsers send without a preflight (a text/plain POST, a form). */
static void refuse_origin(sl_http_req_t *req, const char *request_id, const char *origin, sl_fmt_t fmt) {
    sl_buf_t b = SL_BUF_INIT;
    sl_buf_printf(&b, "Origin %s is not allowed to call this server from a browser: CORS is off "
                      "except for the origins listed in --cors-origins.", origin);
    sl_buf_append_byte(&b, 0);
    const char *msg = sl_buf_failed(&b) ? NULL : sl_arena_strndup(req->arena, b.data, b.len - 1);
    sl_buf_free(&b);
    send_error_status(req, request_id, NULL, fmt, 403, SL_AWS_ACCESS_DENIED, msg);
}

void sl_api_handle_http(void *ctx, sl_http_req_t *req) {
    sl_api_t *api = ctx;
    char request_id[40];
    make_request_id(request_id);
    const char *origin = header(req, "origin");
    char ct[128];
    media_type(req, ct, sizeof ct);
    bool is_json = strcmp(ct, CT_JSON) == 0, is_cbor = strcmp(ct, CT_CBOR) == 0;
    bool is_legacy_json = strcmp(ct, CT_LEGACY_JSON) == 0;

    /* 0. CORS: a browser request from an origin that is not allowed */
    if (origin && !origin_allowed(api, req, origin)) {
        refuse_origin(req, request_id, origin, is_cbor ? SL_FMT_CBOR : SL_FMT_JSON);
        return;
    }
    /* 1. CORS preflight (allowed origin) */
    if (strcmp(req->method, "OPTIONS") == 0 && origin) {
        sl_http_header_t h[8];
        size_t n = 0;
        const char *acrh = header(req, "access-control-request-headers");
        const char *acrm = header(req, "access-control-request-method");
        h[n++] = (sl_http_header_t){"x-amzn-RequestId", 16, request_id, strlen(request_id)};
        h[n++] = (sl_http_header_t){"Access-Control-Allow-Origin", 27, origin, strlen(origin)};
        h[n++] = (sl_http_header_t){"Vary", 4, "Origin", 6};
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

    /* 3. empty body: JSON only for exactly amz-json-1.1, otherwise CBOR */
    if (req->body_len == 0) {
        send_error(req, request_id, origin, is_json ? SL_FMT_JSON : SL_FMT_CBOR,
                   op ? SL_AWS_SERIALIZATION : SL_AWS_UNKNOWN_OPERATION, NULL);
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
        /* The legacy protocol goes no further than parsing, and answers in its own envelope and
         * content type (kinesalite's connection tests, recorded on AWS). */
        bool bad = prc != 0 || !doc || doc->type != SL_VAL_MAP;
        send_copy(req, request_id, origin, bad ? 400 : 404, CT_LEGACY_JSON,
                  bad ? "{\"Output\":{\"__type\":\"com.amazon.coral.service#SerializationException\"},\"Version\":\"1.0\"}"
                      : "{\"Output\":{\"__type\":\"com.amazon.coral.service#UnknownOperationException\"},\"Version\":\"1.0\"}");
        return;
    }
    if (prc != 0 || !doc || doc->type != SL_VAL_MAP) {
        send_error(req, request_id, origin, fmt, SL_AWS_SERIALIZATION, NULL);
        return;
    }
    /* 6. target */
    if (!op) {
        send_error(req, request_id, origin, fmt, SL_AWS_UNKNOWN_OPERATION, NULL);
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
    /* 9. the account: a 12-digit access key id selects its own (docs/security.md, "Accounts") */
    sl_kinesis_t *k = api->k;
    int arc = api->account ? api->account(api->account_ctx, auth.access_key_id, &k) : 0;
    if (arc) {
        if (arc == SL_ELIMIT)
            send_error(req, request_id, origin, fmt, SL_AWS_UNRECOGNIZED_CLIENT,
                       "The security token included in the request is invalid.");
        else
            send_error(req, request_id, origin, fmt, SL_AWS_INTERNAL_FAILURE, sl_aws_failure_message(arc));
        return;
    }
    sl_api_op_fn fn = sl_kinesis_op_handler(op->name);
    sl_api_call_t *call = sl_arena_calloc(req->arena, 1, sizeof *call);
    if (!call || !fn) {
        send_error(req, request_id, origin, fmt, SL_AWS_INTERNAL_FAILURE,
                   sl_aws_failure_message(call ? SL_EINVAL : SL_ENOMEM));
        return;
    }
    call->api = api;
    call->k = k;
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
