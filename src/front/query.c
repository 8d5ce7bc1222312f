/* The AWS Query protocol binding (IAM, STS; later SQS, SNS, CloudWatch): requests are
 * form-encoded `Action=<operation>&Version=<api version>&<Member>=<value>...` in a POST body
 * (application/x-www-form-urlencoded) or a GET query string, routed by the SigV4 signing name;
 * answers are XML: `<ActionResponse xmlns="..."><ActionResult>...</ActionResult>
 * <ResponseMetadata><RequestId>...</RequestId></ResponseMetadata></ActionResponse>`, errors
 * `<ErrorResponse><Error><Type>Sender</Type><Code>...</Code><Message>...</Message></Error>
 * <RequestId>...</RequestId></ErrorResponse>` with the Query protocol's codes (the JSON
 * protocols' InvalidSignatureException is SignatureDoesNotMatch here, UnrecognizedClientException
 * is InvalidClientTokenId, ValidationException is ValidationError).
 *
 * Members: the operation's top-level scalar members (strings, numbers, booleans) are read by
 * name; lists and structures (`Tags.member.1.Key`) are not decoded yet (no operation the front
 * serves takes them). Then the same steps as every binding: SigV4 (format, then the signature),
 * model validation, the account hook, the handler. */
#include "front/internal.h"

#include "core/log.h"
#include "core/time.h"
#include "front/validate.h"
#include "wire/awserror.h"
#include "wire/form.h"
#include "wire/xml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CT_FORM "application/x-www-form-urlencoded"
#define CT_XML "text/xml"

/* The Query code and status of an error named by its JSON type (or a service's own code). */
static const char *query_code(const char *type, int *status) {
    static const struct {
        const char *json, *query;
        int status;
    } map[] = {
        {"InvalidSignatureException", "SignatureDoesNotMatch", 403},
        {"UnrecognizedClientException", "InvalidClientTokenId", 403},
        {"IncompleteSignatureException", "IncompleteSignature", 403},
        {"MissingAuthenticationTokenException", "MissingAuthenticationToken", 403},
        {"ExpiredTokenException", "ExpiredToken", 403},
        {"AccessDeniedException", "AccessDenied", 403},
        {"ValidationException", "ValidationError", 400},
        {"SerializationException", "MalformedQueryString", 400},
        {"UnknownOperationException", "InvalidAction", 400},
        {"InternalFailure", "InternalFailure", 500},
        {"ServiceUnavailable", "ServiceUnavailable", 503},
    };
    for (size_t i = 0; i < SL_ARRAY_LEN(map); i++)
        if (strcmp(type, map[i].json) == 0) {
            *status = map[i].status;
            return map[i].query;
        }
    *status = sl_aws_error_status(type);
    return type;
}

void sl_front_query_error(sl_http_req_t *req, const sl_front_service_t *svc, const char *request_id,
                          const char *origin, const char *type, const char *message) {
    int status;
    const char *code = query_code(type, &status);
    /* A service's own errors (NoSuchEntity, ...) carry their status in its model. */
    const sl_model_error_t *me = svc ? sl_model_find_error(svc->model, type) : NULL;
    if (!me && svc) { /* the model names them <Code>Exception */
        char name[128];
        snprintf(name, sizeof name, "%sException", type);
        me = sl_model_find_error(svc->model, name);
    }
    if (me) status = me->status;
    sl_buf_t b = SL_BUF_INIT;
    sl_xml_writer_t w;
    sl_xml_writer_init(&w, &b);
    sl_xml_open(&w, "ErrorResponse", svc ? svc->xml_namespace : NULL);
    sl_xml_open(&w, "Error", NULL);
    sl_xml_element(&w, "Type", status >= 500 ? "Receiver" : "Sender");
    sl_xml_element(&w, "Code", code);
    if (message) sl_xml_element(&w, "Message", message);
    sl_xml_close(&w);
    sl_xml_element(&w, "RequestId", request_id);
    sl_xml_finish(&w);
    sl_buf_append_byte(&b, '\n');
    size_t len = 0;
    char *body = sl_buf_failed(&b) ? NULL : sl_buf_detach(&b, &len);
    sl_buf_free(&b);
    sl_front_send(req, request_id, origin, status, CT_XML, body, len);
}

void sl_front_query_begin(sl_front_call_t *call, sl_xml_writer_t *w, bool result) {
    char name[128];
    sl_xml_writer_init(w, &call->out);
    snprintf(name, sizeof name, "%sResponse", call->op->name);
    const char *response = sl_arena_strndup(call->arena, name, strlen(name));
    snprintf(name, sizeof name, "%sResult", call->op->name);
    const char *result_name = sl_arena_strndup(call->arena, name, strlen(name));
    if (!response || !result_name) {
        sl_buf_free(&call->out);
        call->out.failed = true;
        return;
    }
    sl_xml_open(w, response, call->service->xml_namespace);
    if (result) sl_xml_open(w, result_name, NULL);
}

void sl_front_query_end(sl_front_call_t *call, sl_xml_writer_t *w) {
    while (w->depth > 1)
        sl_xml_close(w);
    sl_xml_open(w, "ResponseMetadata", NULL);
    sl_xml_element(w, "RequestId", call->request_id);
    sl_xml_finish(w);
    sl_buf_append_byte(&call->out, '\n');
    sl_front_reply(call);
}

/* The operation's scalar input members from the parameters, as the map the validator takes. */
static int build_input(const sl_op_t *op, const sl_form_param_t *ps, size_t n, sl_arena_t *arena,
                       sl_val_t **out) {
    sl_val_t *map = sl_arena_calloc(arena, 1, sizeof *map);
    if (!map) return SL_ENOMEM;
    map->type = SL_VAL_MAP;
    *out = map;
    const sl_shape_t *in = op->input;
    if (!in || in->type != SL_SHAPE_STRUCTURE || in->member_count == 0) return 0;
    map->u.map.items = sl_arena_calloc(arena, in->member_count, sizeof *map->u.map.items);
    if (!map->u.map.items) return SL_ENOMEM;
    for (size_t i = 0; i < in->member_count; i++) {
        const sl_member_t *m = &in->members[i];
        const char *v = sl_form_get(ps, n, m->name);
        if (!v) continue;
        sl_val_t *val = sl_arena_calloc(arena, 1, sizeof *val);
        if (!val) return SL_ENOMEM;
        switch (m->shape->type) {
        case SL_SHAPE_INTEGER:
        case SL_SHAPE_LONG: {
            char *end;
            long long x = strtoll(v, &end, 10);
            if (!*v || *end) { /* as a string: the validator reports the type */
                val->type = SL_VAL_STRING;
                val->u.str.ptr = v;
                val->u.str.len = strlen(v);
            } else {
                val->type = SL_VAL_NUMBER;
                val->u.num.i = x;
                val->u.num.d = (double)x;
                val->u.num.is_integer = true;
            }
            break;
        }
        case SL_SHAPE_BOOLEAN:
            val->type = SL_VAL_BOOL;
            val->u.b = strcmp(v, "true") == 0;
            break;
        case SL_SHAPE_STRING:
            val->type = SL_VAL_STRING;
            val->u.str.ptr = v;
            val->u.str.len = strlen(v);
            break;
        default: /* lists, maps, structures: not decoded (see the top of the file) */
            continue;
        }
        sl_kv_t *kv = &map->u.map.items[map->u.map.count++];
        kv->key = m->name;
        kv->key_len = strlen(m->name);
        kv->val = val;
    }
    return 0;
}

void sl_front_query_handle(sl_front_t *front, sl_http_req_t *req, const sl_front_svc_t *fs,
                           const char *request_id, const char *origin, const char *ct) {
    const sl_front_service_t *svc = &fs->svc;
#define FAIL(type, msg)                                                                            \
    do {                                                                                           \
        sl_front_query_error(req, svc, request_id, origin, type, msg);                             \
        return;                                                                                    \
    } while (0)
    bool post = strcmp(req->method, "POST") == 0;
    if (!post && strcmp(req->method, "GET") != 0)
        FAIL(SL_AWS_UNKNOWN_OPERATION, "The Query protocol takes GET or POST requests.");
    /* parameters: the query string's, then a form body's */
    const char *query = strchr(req->path, '?');
    sl_form_param_t *qp = NULL, *bp = NULL;
    size_t qn = 0, bn = 0;
    const char *reason = NULL;
    int rc = query ? sl_form_parse(query + 1, strlen(query + 1), req->arena, &qp, &qn, &reason) : 0;
    if (rc == 0 && post && req->body_len && strcmp(ct, CT_FORM) == 0)
        rc = sl_form_parse((const char *)req->body, req->body_len, req->arena, &bp, &bn, &reason);
    if (rc == SL_ENOMEM) FAIL(SL_AWS_INTERNAL_FAILURE, sl_aws_failure_message(rc));
    if (rc) FAIL(SL_AWS_SERIALIZATION, reason);
    sl_form_param_t *ps = sl_arena_alloc(req->arena, (qn + bn + 1) * sizeof *ps);
    if (!ps) FAIL(SL_AWS_INTERNAL_FAILURE, sl_aws_failure_message(SL_ENOMEM));
    if (qn) memcpy(ps, qp, qn * sizeof *ps);
    if (bn) memcpy(ps + qn, bp, bn * sizeof *ps);
    size_t n = qn + bn;

    const char *action = sl_form_get(ps, n, "Action");
    const char *version = sl_form_get(ps, n, "Version");
    if (!action || !*action) FAIL("MissingAction", "Missing Action");
    const sl_op_t *op = sl_model_find_op(svc->model, action, strlen(action));
    if (!op) {
        char msg[256];
        snprintf(msg, sizeof msg, "Could not find operation %.64s for version %.32s", action,
                 version ? version : "NO_VERSION_SPECIFIED");
        const char *m = sl_arena_strndup(req->arena, msg, strlen(msg));
        FAIL("InvalidAction", m);
    }

    /* authentication */
    const sl_http_header_t *authz = sl_http_req_header(req, "authorization");
    bool has_date = sl_http_req_header(req, "x-amz-date") || sl_http_req_header(req, "date");
    sl_sigv4_auth_t auth;
    const char *etype = NULL, *emsg = NULL;
    if (sl_sigv4_check(authz ? authz->value : NULL, query ? query + 1 : NULL, has_date, req->arena,
                       &auth, &etype, &emsg) != 0)
        FAIL(etype ? etype : SL_AWS_INTERNAL_FAILURE, emsg);
    const sl_front_principal_t *principal = NULL;
    if (front->verify) {
        char body_hash[65];
        sl_sigv4_sha256_hex(req->body, req->body_len, body_hash);
        int vrc = sl_front_verify(front, req, svc, &auth, body_hash, sl_time_now_ms(), &principal,
                                  &etype, &emsg);
        if (vrc == SL_EINVAL) FAIL(etype, emsg);
        if (vrc) FAIL(SL_AWS_INTERNAL_FAILURE, sl_aws_failure_message(vrc));
    }

    /* validation */
    sl_val_t *doc;
    if (build_input(op, ps, n, req->arena, &doc) != 0)
        FAIL(SL_AWS_INTERNAL_FAILURE, sl_aws_failure_message(SL_ENOMEM));
    sl_front_error_t verr = {0};
    if (sl_front_validate(op, doc, SL_FMT_JSON, req->arena, &verr) != 0)
        FAIL(verr.type, verr.message);

    /* the account and the handler */
    void *account = svc->account_ctx;
    const char *account_key = principal ? principal->account_id : auth.access_key_id;
    int arc = svc->account ? svc->account(svc->account_ctx, account_key, &account) : 0;
    if (arc == SL_ELIMIT)
        FAIL(SL_AWS_UNRECOGNIZED_CLIENT, "The security token included in the request is invalid.");
    if (arc) FAIL(SL_AWS_INTERNAL_FAILURE, sl_aws_failure_message(arc));
    const char *denied =
        sl_front_authz_denied(front, svc, principal, op, doc, account, req->tls, req->arena);
    if (denied) FAIL(SL_AWS_ACCESS_DENIED, denied);
    sl_front_op_fn fn = fs->handlers[op - svc->model->ops];
    if (!fn) FAIL(SL_AWS_INTERNAL_FAILURE, sl_aws_failure_message(SL_EINVAL));
    sl_front_call_t *call = sl_arena_calloc(req->arena, 1, sizeof *call);
    if (!call) FAIL(SL_AWS_INTERNAL_FAILURE, sl_aws_failure_message(SL_ENOMEM));
#undef FAIL
    call->front = front;
    call->service = svc;
    call->binding = svc->binding;
    call->req = req;
    call->arena = req->arena;
    call->fmt = SL_FMT_JSON;
    call->query = true;
    call->now_ms = sl_time_now_ms();
    memcpy(call->request_id, request_id, sizeof call->request_id);
    call->origin = origin;
    call->account = account;
    call->access_key_id = auth.access_key_id;
    call->principal = principal;
    call->op = op;
    call->in = doc;
    fn(call);
}
