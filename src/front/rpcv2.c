/* The Smithy RPC v2 CBOR binding (docs/architecture.md, "The front and its services"): the
 * protocol the newest AWS models list first for CloudWatch, usable by any service whose model
 * lists it. A request is POST /service/<ServiceName>/operation/<OperationName>, the service named
 * by its Smithy shape (the model's target prefix), the header `smithy-protocol: rpc-v2-cbor`, a
 * CBOR body in application/cbor (or none when the input is empty); timestamps are tag 1 + epoch
 * seconds. Answers carry `smithy-protocol: rpc-v2-cbor` (respond.c), a CBOR body whose timestamps
 * are seconds too (sl_enc_t.cbor_seconds), and errors as a CBOR map {"__type", "message"} with the
 * error's status. After decoding, the steps are the JSON binding's (sl_front_dispatch). */
#include "front/rpcv2.h"

#include "front/internal.h"
#include "wire/awserror.h"
#include "wire/cbor.h"
#include "wire/sigv4.h"

#include <string.h>

#define RPCV2_CT "application/cbor"

bool sl_front_rpcv2_path(const char *path, const char **service, size_t *service_len,
                         const char **op, size_t *op_len) {
    static const char svc_part[] = "/service/", op_part[] = "/operation/";
    if (!path || strncmp(path, svc_part, sizeof svc_part - 1) != 0) return false;
    const char *s = path + sizeof svc_part - 1;
    size_t sn = strcspn(s, "/?");
    if (sn == 0 || strncmp(s + sn, op_part, sizeof op_part - 1) != 0) return false;
    const char *o = s + sn + sizeof op_part - 1;
    size_t on = strcspn(o, "/?");
    if (on == 0 || o[on] == '/') return false;
    *service = s;
    *service_len = sn;
    *op = o;
    *op_len = on;
    return true;
}

const sl_op_t *sl_front_rpcv2_op(const sl_service_model_t *model, const char *path) {
    const char *s, *o;
    size_t sn, on;
    if (!model->target_prefix || !sl_front_rpcv2_path(path, &s, &sn, &o, &on)) return NULL;
    if (sn != strlen(model->target_prefix) || strncmp(s, model->target_prefix, sn) != 0)
        return NULL;
    return sl_model_find_op(model, o, on);
}

int sl_front_rpcv2_decode(const uint8_t *body, size_t len, sl_arena_t *arena, sl_val_t **out,
                          const char **reason) {
    *out = NULL;
    *reason = NULL;
    if (len == 0) {
        sl_val_t *v = sl_arena_calloc(arena, 1, sizeof *v);
        if (!v) return SL_ENOMEM;
        v->type = SL_VAL_MAP;
        *out = v;
        return 0;
    }
    sl_val_t *doc = NULL;
    int rc = sl_cbor_parse_ex(body, len, true, arena, &doc, reason);
    if (rc) return rc;
    if (!doc || doc->type != SL_VAL_MAP) {
        *reason = "the body is not a CBOR map";
        return SL_EINVAL;
    }
    *out = doc;
    return 0;
}

/* The registered RPC v2 service a request's path names, or NULL. */
const sl_front_svc_t *sl_front_rpcv2_route(const sl_front_t *front, const char *path) {
    const char *s, *o;
    size_t sn, on;
    if (front->rpcv2_service_count == 0 || !sl_front_rpcv2_path(path, &s, &sn, &o, &on))
        return NULL;
    for (size_t i = 0; i < front->rpcv2_service_count; i++) {
        const char *name = front->rpcv2_services[i]->svc.model->target_prefix;
        if (name && strlen(name) == sn && strncmp(name, s, sn) == 0)
            return front->rpcv2_services[i];
    }
    return NULL;
}

void sl_front_handle_rpcv2(front_req_t *rq) {
    sl_http_req_t *req = rq->req;
    const sl_front_service_t *svc = &rq->svc->svc;
    const char *request_id = rq->request_id, *origin = rq->origin;
    const sl_op_t *op = sl_front_rpcv2_op(svc->model, req->path);
    if (strcmp(req->method, "POST") != 0 || !op) {
        sl_front_send_error_status(req, svc, request_id, origin, SL_FMT_CBOR, 404,
                                   SL_AWS_UNKNOWN_OPERATION, NULL);
        return;
    }
    const sl_http_header_t *proto = sl_http_req_header(req, "smithy-protocol");
    if (!proto || proto->value_len != 11 || memcmp(proto->value, "rpc-v2-cbor", 11) != 0) {
        sl_front_send_error_status(req, svc, request_id, origin, SL_FMT_CBOR, 400,
                                   SL_AWS_SERIALIZATION,
                                   "The smithy-protocol header must be rpc-v2-cbor.");
        return;
    }
    if (req->body_len > 0 && strcmp(rq->ct, RPCV2_CT) != 0) {
        sl_front_send_error_status(req, svc, request_id, origin, SL_FMT_CBOR, 415,
                                   "UnsupportedMediaTypeException",
                                   "The request's Content-Type must be application/cbor.");
        return;
    }
    /* the body's hash first: a signature covers the bytes as sent */
    char body_hash[65] = "";
    if (rq->front->verify) sl_sigv4_sha256_hex(req->body, req->body_len, body_hash);
    sl_val_t *doc = NULL;
    const char *reason = NULL;
    int rc = sl_front_rpcv2_decode(req->body, req->body_len, req->arena, &doc, &reason);
    if (rc) {
        sl_front_send_error(req, svc, request_id, origin, SL_FMT_CBOR,
                            rc == SL_ENOMEM ? SL_AWS_INTERNAL_FAILURE : SL_AWS_SERIALIZATION,
                            rc == SL_ENOMEM ? sl_aws_failure_message(rc) : NULL);
        return;
    }
    sl_front_dispatch(rq, op, doc, SL_FMT_CBOR, body_hash, false);
}
