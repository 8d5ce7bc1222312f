/* The generic AWS front (see front.h): registration, routing and AWS's request-processing order.
 *
 * Every request first gets the steps that do not depend on a protocol (request id, CORS refusal,
 * CORS preflight, plain routes by method and path); then the router picks its service (X-Amz-Target
 * prefix, else SigV4 signing name, else the default service) and the service's protocol binding
 * (the table `bindings` below) runs the rest: for AWS JSON/CBOR the method, empty body, content
 * type, parsing, target, SigV4 format checks, model validation, the account hook and the
 * operation's handler. */
#include "front/internal.h"

#include "core/log.h"
#include "core/time.h"
#include "front/rest.h"
#include "front/validate.h"
#include "wire/awserror.h"
#include "wire/cbor.h"
#include "wire/json.h"
#include "wire/sigv4.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- protocol bindings ---- */

static void handle_json(front_req_t *rq);
static void handle_rest_json(front_req_t *rq);

static void handle_query(front_req_t *rq) {
    sl_front_query_handle(rq->front, rq->req, rq->svc, rq->request_id, rq->origin, rq->ct);
}

/* The protocol bindings: request decoding, error shapes, and what follows routing. A protocol
 * without a binding cannot be registered yet (front.h lists the next ones). */
static const struct {
    const char *name;
    void (*handle)(front_req_t *rq);
} bindings[] = {
    [SL_FRONT_PROTO_JSON] = {"AWS JSON 1.0/1.1 and CBOR", handle_json},
    [SL_FRONT_PROTO_REST_JSON] = {"REST-JSON", handle_rest_json},
    [SL_FRONT_PROTO_QUERY] = {"Query", handle_query},
    [SL_FRONT_PROTO_REST_XML] = {"REST-XML", sl_front_handle_rest_xml},
    [SL_FRONT_PROTO_RPC_V2_CBOR] = {"Smithy RPC v2 CBOR", sl_front_handle_rpcv2},
};

/* ---- registration ---- */

int sl_front_create(const sl_front_config_t *cfg, sl_front_t **out) {
    sl_front_t *front = calloc(1, sizeof *front);
    if (!front) return SL_ENOMEM;
    int rc = sl_front_cors_parse(front, cfg);
    if (rc == 0 && cfg->signatures_verified && !cfg->principal) {
        SL_ERROR("front: signatures_verified needs a principal lookup");
        rc = SL_EINVAL;
    }
    front->verify = cfg->signatures_verified;
    front->principal = cfg->principal;
    front->principal_ctx = cfg->principal_ctx;
    front->authorize = cfg->authorize;
    front->authorize_ctx = cfg->authorize_ctx;
    front->account_known = cfg->account_known;
    front->audit = cfg->audit_log;
    snprintf(front->region, sizeof front->region, "%s", cfg->region ? cfg->region : "us-east-1");
    if (rc) {
        sl_front_cors_free(front);
        free(front);
        return rc;
    }
    *out = front;
    return 0;
}

void sl_front_destroy(sl_front_t *front) {
    if (!front) return;
    for (size_t i = 0; i < front->service_count; i++)
        free(front->services[i].handlers);
    sl_front_cors_free(front);
    free(front);
}

static int route_error(const char *what, const char *key, int rc) {
    if (rc == SL_EEXIST)
        SL_ERROR("front: %s %s is routed twice", what, key);
    else if (rc == SL_ELIMIT)
        SL_ERROR("front: no room for %s %s (SL_FRONT_ROUTES_MAX)", what, key);
    else if (rc)
        SL_ERROR("front: %s '%s' cannot be routed", what, key ? key : "(null)");
    return rc;
}

int sl_front_add_service(sl_front_t *front, const sl_front_service_t *svc) {
    if ((size_t)svc->protocol >= SL_ARRAY_LEN(bindings) || !bindings[svc->protocol].handle) {
        SL_ERROR("front: service %s: its protocol has no binding yet", svc->name);
        return SL_EINVAL;
    }
    if (!svc->model || !svc->handler ||
        ((svc->protocol == SL_FRONT_PROTO_JSON || svc->protocol == SL_FRONT_PROTO_REST_JSON) &&
         !svc->json_content_type) ||
        (svc->protocol == SL_FRONT_PROTO_RPC_V2_CBOR &&
         (!svc->model->target_prefix || svc->signing_name || svc->default_route)) ||
        (svc->protocol == SL_FRONT_PROTO_QUERY && (!svc->signing_name || svc->default_route))) {
        SL_ERROR("front: service %s: a model, a handler lookup and a content type (JSON) or a "
                 "signing name (Query, never the default route) are required",
                 svc->name);
        return SL_EINVAL;
    }
    if (svc->default_route && front->default_service) {
        SL_ERROR("front: service %s: %s already answers unrouted requests", svc->name,
                 front->default_service->svc.name);
        return SL_EINVAL;
    }
    if (front->service_count >= SL_FRONT_ROUTES_MAX)
        return route_error("service", svc->name, SL_ELIMIT);
    sl_front_svc_t *fs = &front->services[front->service_count];
    fs->svc = *svc;
    fs->handlers = calloc(svc->model->op_count ? svc->model->op_count : 1, sizeof *fs->handlers);
    if (!fs->handlers) return SL_ENOMEM;
    for (size_t i = 0; i < svc->model->op_count; i++)
        fs->handlers[i] = svc->handler(svc->model->ops[i].name);
    /* Query requests carry no target: a Query descriptor is routed by its signing name only,
     * so a service may have a JSON descriptor (target) and a Query one (CloudWatch). Smithy RPC
     * v2 CBOR ones are routed by their path. */
    bool has_target = svc->model->target_prefix != NULL && svc->protocol != SL_FRONT_PROTO_QUERY &&
                      svc->protocol != SL_FRONT_PROTO_RPC_V2_CBOR;
    int rc = has_target ? sl_router_add_target(&front->router, svc->model->target_prefix, fs) : 0;
    if (rc) route_error("target prefix", svc->model->target_prefix, rc);
    if (rc == 0 && svc->signing_name) {
        rc = sl_router_add_signing_name(&front->router, svc->signing_name, fs);
        if (rc) {
            route_error("signing name", svc->signing_name, rc);
            if (has_target) front->router.target_count--; /* undo the target route above */
        }
    }
    if (rc) {
        free(fs->handlers);
        *fs = (sl_front_svc_t){0};
        return rc;
    }
    front->service_count++;
    if (svc->default_route) front->default_service = fs;
    if (svc->streamed) front->streams = true;
    if (svc->protocol == SL_FRONT_PROTO_REST_JSON)
        front->rest_services[front->rest_service_count++] = fs;
    if (svc->protocol == SL_FRONT_PROTO_RPC_V2_CBOR)
        front->rpcv2_services[front->rpcv2_service_count++] = fs;
    return 0;
}

static int add_route(sl_front_t *front, const char *method, const char *path, bool prefix,
                     sl_front_op_fn fn, void *ctx, bool admin) {
    if (!fn) return route_error("path", path, SL_EINVAL);
    if (front->route_count >= SL_FRONT_ROUTES_MAX) return route_error("path", path, SL_ELIMIT);
    sl_front_route_t *r = &front->routes[front->route_count];
    *r = (sl_front_route_t){.fn = fn, .ctx = ctx, .admin = admin};
    int rc = sl_router_add_path(&front->router, method, path, prefix, r);
    if (rc) return route_error("path", path, rc);
    front->route_count++;
    return 0;
}

int sl_front_add_route(sl_front_t *front, const char *method, const char *path, bool prefix,
                       sl_front_op_fn fn, void *ctx) {
    return add_route(front, method, path, prefix, fn, ctx, false);
}

int sl_front_add_admin_route(sl_front_t *front, const char *method, const char *path, bool prefix,
                             sl_front_op_fn fn, void *ctx) {
    return add_route(front, method, path, prefix, fn, ctx, true);
}

/* ---- request processing ---- */

const char *sl_front_header(sl_http_req_t *req, const char *name) {
    const sl_http_header_t *h = sl_http_req_header(req, name);
    if (!h) return NULL;
    return sl_arena_strndup(req->arena, h->value, h->value_len);
}

static const char *xml_access_denied = "<AccessDeniedException>\n  <Message>Unable to determine "
                                       "service/operation name to be authorized</Message>\n"
                                       "</AccessDeniedException>\n";

/* The media type of the Content-Type header before ';', trimmed and lower-cased, into ct. */
static void media_type(sl_http_req_t *req, char *ct, size_t cap) {
    const char *raw = sl_front_header(req, "content-type");
    ct[0] = 0;
    if (!raw) return;
    while (*raw == ' ' || *raw == '\t')
        raw++;
    size_t n = strcspn(raw, ";");
    while (n > 0 && (raw[n - 1] == ' ' || raw[n - 1] == '\t'))
        n--;
    if (n >= cap) n = cap - 1;
    for (size_t i = 0; i < n; i++)
        ct[i] = (char)tolower((unsigned char)raw[i]);
    ct[n] = 0;
}

/* The service of a request: by the Smithy RPC v2 path, else by X-Amz-Target prefix, else by
 * SigV4 signing name, else the default service (NULL when none is registered). */
static const sl_front_svc_t *route_service(const sl_front_t *front, sl_http_req_t *req,
                                           const char *target) {
    const char *name;
    size_t len;
    const char *query = strchr(req->path, '?');
    const char *authz = sl_front_header(req, "authorization");
    bool scoped = sl_router_scope_service(authz, query ? query + 1 : NULL, &name, &len);
    /* a request signed for S3 is S3's even when its path looks like an RPC v2 one (a bucket
     * named "service") */
    bool s3 = scoped && len == 2 && memcmp(name, "s3", 2) == 0;
    const sl_front_svc_t *fs = s3 ? NULL : sl_front_rpcv2_route(front, req->path);
    if (fs) return fs;
    fs = target ? sl_router_by_target(&front->router, target) : NULL;
    if (fs) return fs;
    if (scoped)
        fs = sl_router_by_signing_name(&front->router, name, len);
    else if (sl_front_sigv2(authz, query ? query + 1 : NULL, req->arena))
        fs = sl_router_by_signing_name(&front->router, "s3", 2); /* SigV2 is S3's alone */
    /* unsigned REST requests: the service one of whose URI templates matches */
    for (size_t i = 0; !fs && !target && i < front->rest_service_count; i++)
        if (sl_front_rest_find_op(front->rest_services[i]->svc.model, req->method, req->path))
            fs = front->rest_services[i];
    return fs ? fs : front->default_service;
}

const sl_front_svc_t *sl_front_route_rest_xml(const sl_front_t *front, sl_http_req_t *req) {
    const sl_front_svc_t *fs = route_service(front, req, NULL);
    return fs && fs->svc.protocol == SL_FRONT_PROTO_REST_XML ? fs : NULL;
}

sl_front_call_t *sl_front_new_call(const front_req_t *rq, sl_fmt_t fmt) {
    sl_front_call_t *call = sl_arena_calloc(rq->req->arena, 1, sizeof *call);
    if (!call) return NULL;
    call->front = rq->front;
    call->service = rq->svc ? &rq->svc->svc : NULL;
    call->binding = rq->svc ? rq->svc->svc.binding : NULL;
    call->req = rq->req;
    call->arena = rq->req->arena;
    call->fmt = fmt;
    call->now_ms = sl_time_now_ms();
    memcpy(call->request_id, rq->request_id, sizeof rq->request_id);
    call->origin = rq->origin;
    sl_enc_init(&call->enc, &call->out, fmt);
    call->enc.cbor_seconds = rq->svc && rq->svc->svc.protocol == SL_FRONT_PROTO_RPC_V2_CBOR;
    return call;
}

/* A browser request from an origin that may not call this server: refused before anything else,
 * preflight or not, with no Access-Control-* header. A refused preflight stops the browser from
 * sending the real request; refusing the real request too stops the "simple" requests that
 * browsers send without a preflight (a text/plain POST, a form). */
static void refuse_origin(const front_req_t *rq, sl_fmt_t fmt) {
    sl_buf_t b = SL_BUF_INIT;
    sl_buf_printf(&b,
                  "Origin %s is not allowed to call this server from a browser: CORS is off "
                  "except for the origins listed in --cors-origins.",
                  rq->origin);
    sl_buf_append_byte(&b, 0);
    const char *msg =
        sl_buf_failed(&b) ? NULL : sl_arena_strndup(rq->req->arena, b.data, b.len - 1);
    sl_buf_free(&b);
    sl_front_send_error_status(rq->req, rq->svc ? &rq->svc->svc : NULL, rq->request_id, NULL, fmt,
                               403, SL_AWS_ACCESS_DENIED, msg);
}

static void preflight(const front_req_t *rq) {
    sl_http_req_t *req = rq->req;
    const char *origin = rq->origin, *request_id = rq->request_id;
    sl_http_header_t h[8];
    size_t n = 0;
    const char *acrh = sl_front_header(req, "access-control-request-headers");
    const char *acrm = sl_front_header(req, "access-control-request-method");
    h[n++] = (sl_http_header_t){"x-amzn-RequestId", 16, request_id, strlen(request_id)};
    h[n++] = (sl_http_header_t){"Access-Control-Allow-Origin", 27, origin, strlen(origin)};
    h[n++] = (sl_http_header_t){"Vary", 4, "Origin", 6};
    h[n++] = (sl_http_header_t){"Access-Control-Max-Age", 22, "172800", 6};
    if (acrh) h[n++] = (sl_http_header_t){"Access-Control-Allow-Headers", 28, acrh, strlen(acrh)};
    if (acrm) h[n++] = (sl_http_header_t){"Access-Control-Allow-Methods", 28, acrm, strlen(acrm)};
    sl_http_respond(req, 200, h, n, NULL, 0);
}

static void handle_http(front_req_t *rqp);

void sl_front_handle_http(void *ctx, sl_http_req_t *req) {
    front_req_t rq = {.front = ctx, .req = req};
    sl_front_make_request_id(rq.request_id);
    /* the lines logged while this thread handles the request carry its id (the query string is
     * left out: a presigned URL carries a signature there) */
    sl_log_set_request_id(rq.request_id);
    SL_DEBUG("request %s %.*s", req->method, (int)strcspn(req->path, "?"), req->path);
    handle_http(&rq);
    sl_log_set_request_id(NULL);
}

/* The credential scope's service of the administration routes (sl_front_add_admin_route). */
static const sl_front_service_t admin_service = {.name = "sluice", .signing_name = "sluice"};

/* An administration route under --auth sigv4: the request's SigV4 signature (service `sluice`),
 * then an admin principal. False when it answered the request with an error. */
static bool admin_allowed(front_req_t *rq) {
    sl_http_req_t *req = rq->req;
    const char *authz = sl_front_header(req, "authorization");
    const char *query = strchr(req->path, '?');
    bool has_date = sl_http_req_header(req, "x-amz-date") || sl_http_req_header(req, "date");
    const char *etype = NULL, *emsg = NULL;
    sl_sigv4_auth_t auth;
    if (sl_sigv4_check(authz, query ? query + 1 : NULL, has_date, req->arena, &auth, &etype,
                       &emsg) != 0) {
        sl_front_send_error(req, NULL, rq->request_id, rq->origin, SL_FMT_JSON, etype, emsg);
        return false;
    }
    char body_hash[65];
    sl_sigv4_sha256_hex(req->body, req->body_len, body_hash);
    const sl_front_principal_t *principal = NULL;
    int vrc = sl_front_verify(rq->front, req, &admin_service, &auth, body_hash, sl_time_now_ms(),
                              &principal, &etype, &emsg);
    if (vrc != 0) {
        if (vrc != SL_EINVAL) etype = SL_AWS_INTERNAL_FAILURE, emsg = sl_aws_failure_message(vrc);
        sl_front_send_error(req, NULL, rq->request_id, rq->origin, SL_FMT_JSON, etype, emsg);
        return false;
    }
    if (principal && principal->admin) return true;
    const char *msg =
        sl_arena_sprintf(req->arena,
                         "User: %s is not authorized to use the Sluice administration API: it "
                         "needs an admin principal of the credentials file.",
                         principal ? principal->arn : "anonymous");
    sl_front_send_error_status(req, NULL, rq->request_id, rq->origin, SL_FMT_JSON, 403,
                               SL_AWS_ACCESS_DENIED, msg ? msg : "Access denied.");
    return false;
}

static void handle_http(front_req_t *rqp) {
    front_req_t rq = *rqp;
    sl_http_req_t *req = rq.req;
    rq.origin = sl_front_header(req, "origin");
    media_type(req, rq.ct, sizeof rq.ct);
    rq.target = sl_front_header(req, "x-amz-target");
    rq.svc = route_service(rq.front, req, rq.target);
    const sl_front_service_t *svc = rq.svc ? &rq.svc->svc : NULL;
    bool is_cbor = svc && svc->cbor_content_type && strcmp(rq.ct, svc->cbor_content_type) == 0;

    /* 0. CORS: a browser request from an origin that is not allowed */
    if (rq.origin && !sl_front_origin_allowed(rq.front, req, rq.origin)) {
        refuse_origin(&rq, is_cbor ? SL_FMT_CBOR : SL_FMT_JSON);
        return;
    }
    /* 1. CORS preflight (allowed origin) */
    if (strcmp(req->method, "OPTIONS") == 0 && rq.origin) {
        preflight(&rq);
        return;
    }
    /* 2. plain routes (not AWS operations) by method and path */
    const sl_front_route_t *route = sl_router_by_path(&rq.front->router, req->method, req->path);
    if (route) {
        if (route->admin && rq.front->verify && !admin_allowed(&rq)) return;
        const sl_front_svc_t *routed = rq.svc;
        rq.svc = NULL; /* a plain route's errors are AWS JSON 1.1 */
        sl_front_call_t *call = sl_front_new_call(&rq, SL_FMT_JSON);
        rq.svc = routed;
        if (!call) {
            sl_front_send_error(req, NULL, rq.request_id, rq.origin, SL_FMT_JSON,
                                SL_AWS_INTERNAL_FAILURE, sl_aws_failure_message(SL_ENOMEM));
            return;
        }
        call->route_ctx = route->ctx;
        route->fn(call);
        return;
    }
    /* 3. the routed service's protocol binding (unrouted requests: the JSON one) */
    if (svc) sl_front_audit_begin(rq.front, req, rq.request_id, svc);
    if (svc)
        bindings[svc->protocol].handle(&rq);
    else
        handle_json(&rq);
}

const char *sl_front_authz_denied(const sl_front_t *front, const sl_front_service_t *svc,
                                  const sl_front_principal_t *principal, const sl_op_t *op,
                                  const sl_val_t *in, void *account, const sl_http_req_t *req,
                                  bool cross) {
    sl_front_audit_note((sl_http_req_t *)req, op, principal, NULL, in);
    if (!principal || !front->authorize || !svc->resource) return NULL;
    if (principal->admin && !cross) return NULL;
    sl_arena_t *arena = req->arena;
    const char *resources =
        svc->resource(op, in, account, front->region, principal->account_id, arena);
    const char *name = svc->action ? svc->action(op) : NULL;
    sl_buf_t b = SL_BUF_INIT;
    sl_buf_printf(&b, "%s:%s", svc->action_prefix ? svc->action_prefix : svc->signing_name,
                  name ? name : op->name);
    sl_buf_append_byte(&b, 0);
    const char *action = sl_buf_failed(&b) ? NULL : sl_arena_strndup(arena, b.data, b.len - 1);
    sl_buf_free(&b);
    /* every resource must be allowed; the message names the first one that is not */
    sl_front_authz_t d = SL_FRONT_AUTHZ_IMPLICIT_DENY;
    const char *resource = resources;
    const char *op_action = action;
    for (const char *r = resources; r && op_action;) {
        const char *nl = strchr(r, '\n');
        resource = nl ? sl_arena_strndup(arena, r, (size_t)(nl - r)) : r;
        /* a line "<action> <resource>" asks for another action on that resource */
        const char *sp = resource ? strchr(resource, ' ') : NULL;
        action = op_action;
        if (sp) {
            action = sl_arena_strndup(arena, resource, (size_t)(sp - resource));
            resource = sp + 1;
        }
        sl_front_authz_req_t ar = {.action = action,
                                   .resource = resource,
                                   .secure_transport = req->tls,
                                   .source_ip = req->peer_ip ? req->peer_ip : ""};
        d = resource && action ? front->authorize(front->authorize_ctx, principal, &ar, arena)
                               : SL_FRONT_AUTHZ_IMPLICIT_DENY;
        if (d != SL_FRONT_AUTHZ_ALLOW || !nl) break;
        r = nl + 1;
    }
    if (d == SL_FRONT_AUTHZ_ALLOW) return NULL;
    bool by_resource =
        d == SL_FRONT_AUTHZ_RESOURCE_IMPLICIT_DENY || d == SL_FRONT_AUTHZ_RESOURCE_EXPLICIT_DENY;
    bool by_session =
        d == SL_FRONT_AUTHZ_SESSION_IMPLICIT_DENY || d == SL_FRONT_AUTHZ_SESSION_EXPLICIT_DENY;
    const char *kind = by_session ? "session" : by_resource ? "resource-based" : "identity-based";
    b = SL_BUF_INIT;
    if (d == SL_FRONT_AUTHZ_EXPLICIT_DENY || d == SL_FRONT_AUTHZ_RESOURCE_EXPLICIT_DENY ||
        d == SL_FRONT_AUTHZ_SESSION_EXPLICIT_DENY)
        sl_buf_printf(&b,
                      "User: %s is not authorized to perform: %s on resource: %s with an "
                      "explicit deny in %s %s policy",
                      principal->arn, action ? action : "", resource ? resource : "",
                      d == SL_FRONT_AUTHZ_EXPLICIT_DENY ? "an" : "a", kind);
    else
        sl_buf_printf(&b,
                      "User: %s is not authorized to perform: %s on resource: %s because no "
                      "%s policy allows the %s action",
                      principal->arn, action ? action : "", resource ? resource : "", kind,
                      action ? action : "");
    sl_buf_append_byte(&b, 0);
    const char *msg = sl_buf_failed(&b) ? NULL : sl_arena_strndup(arena, b.data, b.len - 1);
    sl_buf_free(&b);
    return msg ? msg : "";
}

/* Authorization for the JSON binding: true when the request may go on; otherwise it has been
 * answered AccessDeniedException, with AWS's message. */
static bool authorized(const front_req_t *rq, const sl_front_principal_t *principal,
                       const sl_op_t *op, const sl_val_t *in, void *account, bool cross,
                       sl_fmt_t fmt) {
    const char *msg =
        sl_front_authz_denied(rq->front, &rq->svc->svc, principal, op, in, account, rq->req, cross);
    if (!msg) return true;
    sl_front_send_error(rq->req, &rq->svc->svc, rq->request_id, rq->origin, fmt,
                        SL_AWS_ACCESS_DENIED, msg);
    return false;
}

/* AWS JSON 1.0/1.1 and CBOR: POST with X-Amz-Target "<target prefix>.<operation>". */
static void handle_json(front_req_t *rq) {
    sl_http_req_t *req = rq->req;
    const sl_front_service_t *svc = rq->svc ? &rq->svc->svc : NULL;
    const char *request_id = rq->request_id, *origin = rq->origin, *ct = rq->ct;
    const char *json_ct = svc ? svc->json_content_type : SL_FRONT_CT_JSON;
    const char *cbor_ct = svc ? svc->cbor_content_type : SL_FRONT_CT_CBOR;
    bool is_json = strcmp(ct, json_ct) == 0, is_cbor = cbor_ct && strcmp(ct, cbor_ct) == 0;
    bool is_legacy_json = svc && svc->legacy_json && strcmp(ct, SL_FRONT_CT_LEGACY_JSON) == 0;

    /* 4. only POST */
    if (strcmp(req->method, "POST") != 0) {
        sl_front_send_copy(req, request_id, origin, 403, NULL, xml_access_denied);
        return;
    }

    const char *target = rq->target;
    const char *op_name = NULL;
    bool service_ok = false;
    if (target) {
        const char *dot = strchr(target, '.');
        if (dot) {
            const char *prefix = svc ? svc->model->target_prefix : "";
            service_ok = svc && (size_t)(dot - target) == strlen(prefix) &&
                         strncmp(target, prefix, (size_t)(dot - target)) == 0;
            op_name = dot + 1;
        }
    }
    const sl_op_t *op =
        service_ok && op_name ? sl_model_find_op(svc->model, op_name, strlen(op_name)) : NULL;

    /* 5. empty body: JSON only for exactly the service's JSON content type, otherwise CBOR */
    if (req->body_len == 0) {
        sl_front_send_error(req, svc, request_id, origin, is_json ? SL_FMT_JSON : SL_FMT_CBOR,
                            op ? SL_AWS_SERIALIZATION : SL_AWS_UNKNOWN_OPERATION, NULL);
        return;
    }
    /* 6. unsupported content type */
    if (!is_json && !is_cbor && !is_legacy_json) {
        if (!target || !op_name)
            sl_front_send_copy(req, request_id, origin, 403, NULL, xml_access_denied);
        else
            sl_front_send_copy(req, request_id, origin, 404, NULL,
                               "<UnknownOperationException/>\n");
        return;
    }
    /* 7. parse (in place: the signature needs the body's hash first) */
    char body_hash[65] = "";
    if (rq->front->verify) sl_sigv4_sha256_hex(req->body, req->body_len, body_hash);
    sl_fmt_t fmt = is_cbor ? SL_FMT_CBOR : SL_FMT_JSON;
    sl_val_t *doc = NULL;
    const char *reason = NULL;
    /* steps 7 and 10 at once for the common JSON body of a known operation (validate.h); any
     * other body, and any error, takes the general path */
    if (is_json && !is_legacy_json && op &&
        sl_front_json_fast(op, (char *)req->body, req->body_len, req->arena, &doc)) {
        sl_front_dispatch(rq, op, doc, fmt, body_hash, true);
        return;
    }
    int prc = is_cbor ? sl_cbor_parse(req->body, req->body_len, req->arena, &doc, &reason)
                      : sl_json_parse((char *)req->body, req->body_len, req->arena, &doc, &reason);
    if (is_legacy_json) {
        /* The legacy protocol goes no further than parsing, and answers in its own envelope and
         * content type (kinesalite's connection tests, recorded on AWS). */
        bool bad = prc != 0 || !doc || doc->type != SL_VAL_MAP;
        sl_front_send_copy(req, request_id, origin, bad ? 400 : 404, SL_FRONT_CT_LEGACY_JSON,
                           bad ? "{\"Output\":{\"__type\":\"com.amazon.coral.service#"
                                 "SerializationException\"},\"Version\":\"1.0\"}"
                               : "{\"Output\":{\"__type\":\"com.amazon.coral.service#"
                                 "UnknownOperationException\"},\"Version\":\"1.0\"}");
        return;
    }
    if (prc != 0 || !doc || doc->type != SL_VAL_MAP) {
        sl_front_send_error(req, svc, request_id, origin, fmt, SL_AWS_SERIALIZATION, NULL);
        return;
    }
    /* 8. target */
    if (!op) {
        sl_front_send_error(req, svc, request_id, origin, fmt, SL_AWS_UNKNOWN_OPERATION, NULL);
        return;
    }
    sl_front_dispatch(rq, op, doc, fmt, body_hash, false);
}

/* Step 9 of the JSON and REST-JSON bindings: the Authorization header's format, then (--auth
 * sigv4) the signature over body_hash (auth.c). False when it answered the request with an error.
 */
static bool authenticate(front_req_t *rq, const sl_op_t *op, const char *body_hash, sl_fmt_t fmt,
                         sl_sigv4_auth_t *auth, const sl_front_principal_t **principal) {
    sl_http_req_t *req = rq->req;
    const sl_front_service_t *svc = &rq->svc->svc;
    const char *authz = sl_front_header(req, "authorization");
    const char *query = strchr(req->path, '?');
    bool has_date = sl_http_req_header(req, "x-amz-date") || sl_http_req_header(req, "date");
    const char *etype = NULL, *emsg = NULL;
    if (sl_sigv4_check(authz, query ? query + 1 : NULL, has_date, req->arena, auth, &etype,
                       &emsg) != 0) {
        sl_front_send_error(req, svc, rq->request_id, rq->origin, fmt, etype, emsg);
        return false;
    }
    sl_front_audit_note(req, op, NULL, auth->access_key_id, NULL);
    *principal = NULL;
    if (!rq->front->verify) return true;
    int vrc = sl_front_verify(rq->front, req, svc, auth, body_hash, sl_time_now_ms(), principal,
                              &etype, &emsg);
    if (vrc == 0) return true;
    if (vrc != SL_EINVAL) etype = SL_AWS_INTERNAL_FAILURE, emsg = sl_aws_failure_message(vrc);
    sl_front_send_error(req, svc, rq->request_id, rq->origin, fmt, etype, emsg);
    return false;
}

/* The last step of the JSON and REST-JSON bindings: the call, handed to the operation's
 * handler. */
static void run_handler(front_req_t *rq, sl_front_op_fn fn, const sl_op_t *op, sl_val_t *doc,
                        sl_fmt_t fmt, void *account, const sl_sigv4_auth_t *auth,
                        const sl_front_principal_t *principal) {
    sl_front_call_t *call = sl_front_new_call(rq, fmt);
    if (!call || !fn) {
        sl_front_send_error(rq->req, &rq->svc->svc, rq->request_id, rq->origin, fmt,
                            SL_AWS_INTERNAL_FAILURE,
                            sl_aws_failure_message(call ? SL_EINVAL : SL_ENOMEM));
        return;
    }
    call->account = account;
    call->access_key_id = auth->access_key_id;
    call->principal = principal;
    call->op = op;
    call->in = doc;
    fn(call);
}

/* Steps 9 to 12 of the JSON binding, shared with Smithy RPC v2 CBOR (rpcv2.c): authentication,
 * validation, the account, authorization and the operation's handler. */
void sl_front_dispatch(front_req_t *rq, const sl_op_t *op, sl_val_t *doc, sl_fmt_t fmt,
                       const char *body_hash, bool validated) {
    sl_http_req_t *req = rq->req;
    const sl_front_service_t *svc = &rq->svc->svc;
    const char *request_id = rq->request_id, *origin = rq->origin;
    /* 9. authentication: the format checks, then (--auth sigv4) the signature (auth.c) */
    sl_sigv4_auth_t auth;
    const sl_front_principal_t *principal = NULL;
    if (!authenticate(rq, op, body_hash, fmt, &auth, &principal)) return;
    /* 10. validation */
    sl_front_error_t verr = {0};
    if (!validated && sl_front_validate(op, doc, fmt, req->arena, &verr) != 0) {
        sl_front_send_error(req, svc, request_id, origin, fmt, verr.type, verr.message);
        return;
    }
    /* 11. the account: the composition root's hook maps the access key id to the service's
     * context for that account (docs/security.md, "Accounts"); a verified principal naming
     * another account's resource by ARN reaches that account (cross-account access) */
    void *account = svc->account_ctx;
    const char *account_key = principal ? principal->account_id : auth.access_key_id;
    char owner[16];
    bool cross = principal && svc->resource_account && svc->resource_account(op, doc, owner) &&
                 strcmp(owner, principal->account_id) != 0;
    if (cross) account_key = owner;
    /* an account nobody knows is not created by naming it: authorization refuses it below */
    bool unknown = cross && rq->front->account_known &&
                   !rq->front->account_known(rq->front->authorize_ctx, owner);
    if (unknown) account = NULL;
    int arc = svc->account && !unknown ? svc->account(svc->account_ctx, account_key, &account) : 0;
    if (arc) {
        if (arc == SL_ELIMIT)
            sl_front_send_error(req, svc, request_id, origin, fmt, SL_AWS_UNRECOGNIZED_CLIENT,
                                "The security token included in the request is invalid.");
        else
            sl_front_send_error(req, svc, request_id, origin, fmt, SL_AWS_INTERNAL_FAILURE,
                                sl_aws_failure_message(arc));
        return;
    }
    /* 11b. authorization: the principal's policies (non-admin principals, --auth sigv4) */
    if (!authorized(rq, principal, op, doc, account, cross, fmt)) return;
    if (unknown) {
        /* only without an authorization hook: there is no account to run the handler in */
        sl_front_send_error(req, svc, request_id, origin, fmt, SL_AWS_ACCESS_DENIED,
                            "The resource's account does not exist.");
        return;
    }
    /* 12. the operation's handler */
    sl_front_op_fn fn = rq->svc->handlers[op - svc->model->ops];
    run_handler(rq, fn, op, doc, fmt, account, &auth, principal);
}

/* REST-JSON: the operation by method and URI template; members from the URI, the query string,
 * the headers and the body (front/rest.h). */
static void handle_rest_json(front_req_t *rq) {
    sl_http_req_t *req = rq->req;
    const sl_front_service_t *svc = &rq->svc->svc;
    const char *request_id = rq->request_id, *origin = rq->origin;
    const sl_op_t *op = sl_front_rest_find_op(svc->model, req->method, req->path);
    if (!op) {
        sl_front_send_error_status(req, svc, request_id, origin, SL_FMT_JSON, 404,
                                   SL_AWS_UNKNOWN_OPERATION, NULL);
        return;
    }
    /* the body's hash first: decoding parses it in place */
    char body_hash[65] = "";
    if (rq->front->verify) sl_sigv4_sha256_hex(req->body, req->body_len, body_hash);
    sl_sigv4_auth_t auth;
    const sl_front_principal_t *principal = NULL;
    if (!authenticate(rq, op, body_hash, SL_FMT_JSON, &auth, &principal)) return;
    sl_val_t *doc = NULL;
    sl_front_error_t verr = {0};
    if (sl_front_rest_decode(op, req, req->arena, &doc, &verr) != 0 ||
        sl_front_validate(op, doc, SL_FMT_JSON, req->arena, &verr) != 0) {
        sl_front_send_error(req, svc, request_id, origin, SL_FMT_JSON, verr.type, verr.message);
        return;
    }
    void *account = svc->account_ctx;
    const char *account_key = principal ? principal->account_id : auth.access_key_id;
    int arc = svc->account ? svc->account(svc->account_ctx, account_key, &account) : 0;
    if (arc) {
        if (arc == SL_ELIMIT)
            sl_front_send_error(req, svc, request_id, origin, SL_FMT_JSON,
                                SL_AWS_UNRECOGNIZED_CLIENT,
                                "The security token included in the request is invalid.");
        else
            sl_front_send_error(req, svc, request_id, origin, SL_FMT_JSON, SL_AWS_INTERNAL_FAILURE,
                                sl_aws_failure_message(arc));
        return;
    }
    /* authorization: the principal's policies (non-admin principals, --auth sigv4); REST
     * services answer AccessDeniedException with 403 */
    const char *denied =
        sl_front_authz_denied(rq->front, svc, principal, op, doc, account, req, false);
    if (denied) {
        sl_front_send_error_status(req, svc, request_id, origin, SL_FMT_JSON, 403,
                                   SL_AWS_ACCESS_DENIED, denied);
        return;
    }
    sl_front_op_fn fn = rq->svc->handlers[op - svc->model->ops];
    run_handler(rq, fn, op, doc, SL_FMT_JSON, account, &auth, principal);
}
