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
 * Members: decoded from the parameter names by walking the model (sl_front_query_decode: nested
 * structures, `.member.N` lists, `.entry.N.key` maps, flattened forms and renamed members as the
 * model says). Then the same steps as every binding: SigV4 (format, then the signature),
 * model validation, the account hook, the handler. */
#include "front/internal.h"

#include "core/log.h"
#include "core/time.h"
#include "front/query.h"
#include "front/rest.h"
#include "front/validate.h"
#include "wire/awserror.h"
#include "wire/form.h"
#include "wire/xml.h"

#include <errno.h>
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
    sl_front_audit_error(req, type, message);
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
    sl_front_query_error_status(req, svc, request_id, origin, status, code, message);
}

void sl_front_query_error_status(sl_http_req_t *req, const sl_front_service_t *svc,
                                 const char *request_id, const char *origin, int status,
                                 const char *code, const char *message) {
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

/* ---- input decoding: parameters into a tree of nodes (one per structure, list element, map
 * entry and scalar, found by walking each parameter's name down the model), then the tree into
 * the document the validator and the handlers take. Lists and maps keep their elements in dense
 * arrays by index, with one budget of slots for the whole request so a name like
 * `L.member.65536` cannot make the decoder allocate more than a few slots per parameter. */

typedef struct qnode qnode_t;
struct qnode {
    const sl_shape_t *shape;
    const char *text; /* scalar: the value (the last parameter wins) */
    qnode_t **kids;   /* structure: one per member; list: by index - 1; map: entries by index - 1 */
    qnode_t *key, *value; /* a map entry's */
    size_t cap, len;      /* list, map: kids' capacity and 1 + the highest index seen */
};

typedef struct {
    sl_arena_t *arena;
    size_t slots_left; /* list and map slots the request may still allocate */
    const char *reason;
} qctx_t;

static qnode_t *qnode_new(qctx_t *c, const sl_shape_t *shape) {
    qnode_t *n = sl_arena_calloc(c->arena, 1, sizeof *n);
    if (n) n->shape = shape;
    return n;
}

/* The length of the path component at p (up to '.' or the end). */
static size_t component_len(const char *p) {
    const char *dot = strchr(p, '.');
    return dot ? (size_t)(dot - p) : strlen(p);
}

static bool component_is(const char *p, size_t len, const char *name) {
    return strlen(name) == len && memcmp(p, name, len) == 0;
}

/* A 1-based index component (digits, no sign, no leading zero) at p; 0 when it is not one. */
static size_t parse_index(const char *p, size_t len) {
    if (len == 0 || len > 9 || *p == '0') return 0;
    size_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (p[i] < '0' || p[i] > '9') return 0;
        v = v * 10 + (size_t)(p[i] - '0');
    }
    return v;
}

/* Slot `index` (1-based) of a list or map node, grown within the request's budget. */
static qnode_t **slot(qctx_t *c, qnode_t *n, size_t index) {
    if (index > n->cap) {
        size_t cap = n->cap ? n->cap : 4;
        while (cap < index)
            cap *= 2;
        if (cap - n->cap > c->slots_left) {
            c->reason = "Too many list or map elements for the request's parameters";
            return NULL;
        }
        qnode_t **kids = sl_arena_calloc(c->arena, cap, sizeof *kids);
        if (!kids) return NULL;
        if (n->len) memcpy(kids, n->kids, n->len * sizeof *kids);
        c->slots_left -= cap - n->cap;
        n->kids = kids;
        n->cap = cap;
    }
    if (index > n->len) n->len = index;
    return &n->kids[index - 1];
}

static int put(qctx_t *c, qnode_t *n, const char *p, const char *value, int depth);

/* The member of structure node n named by the component at p, then the rest of the path. */
static int put_member(qctx_t *c, qnode_t *n, const char *p, const char *value, int depth) {
    const sl_shape_t *s = n->shape;
    size_t len = component_len(p);
    for (size_t i = 0; i < s->member_count; i++) {
        const sl_member_t *m = &s->members[i];
        if (m->location != SL_LOC_BODY) continue;
        /* A flattened list whose element is named travels under the element's name. */
        const char *name =
            m->shape->type == SL_SHAPE_LIST && m->shape->flattened && m->shape->member_name
                ? m->shape->member_name
            : m->location_name ? m->location_name
                               : m->name;
        if (!component_is(p, len, name)) continue;
        if (!n->kids && !(n->kids = sl_arena_calloc(c->arena, s->member_count, sizeof *n->kids)))
            return SL_ENOMEM;
        if (!n->kids[i] && !(n->kids[i] = qnode_new(c, m->shape))) return SL_ENOMEM;
        return put(c, n->kids[i], p + len, value, depth + 1);
    }
    return 0; /* no such member: ignored */
}

/* Puts `value` at path p (empty, or ".Component...") below node n. */
static int put(qctx_t *c, qnode_t *n, const char *p, const char *value, int depth) {
    const sl_shape_t *s = n->shape;
    if (depth > SL_QUERY_DEPTH_MAX) return 0;
    if (s->type != SL_SHAPE_LIST && s->type != SL_SHAPE_MAP && s->type != SL_SHAPE_STRUCTURE) {
        if (!*p) n->text = value;
        return 0;
    }
    if (!*p) return 0; /* `List=`: an empty list (the node exists); a bare structure: nothing */
    if (*p != '.') return 0;
    p++;
    if (s->type == SL_SHAPE_STRUCTURE) return put_member(c, n, p, value, depth);
    size_t len = component_len(p);
    if (!s->flattened) { /* List.member.N, Map.entry.N */
        const char *step =
            s->type == SL_SHAPE_LIST ? (s->member_name ? s->member_name : "member") : "entry";
        if (!component_is(p, len, step) || p[len] != '.') return 0;
        p += len + 1;
        len = component_len(p);
    }
    size_t index = parse_index(p, len);
    if (!index) return 0;
    p += len;
    qnode_t **kid = slot(c, n, index);
    if (!kid) return c->reason ? SL_EINVAL : SL_ENOMEM;
    if (s->type == SL_SHAPE_LIST) {
        if (!*kid && !(*kid = qnode_new(c, s->member))) return SL_ENOMEM;
        return put(c, *kid, p, value, depth + 1);
    }
    if (!*kid && !(*kid = qnode_new(c, NULL))) return SL_ENOMEM; /* the entry */
    if (*p != '.') return 0;
    p++;
    len = component_len(p);
    qnode_t **part;
    const sl_shape_t *part_shape;
    if (component_is(p, len, s->key_name ? s->key_name : "key")) {
        part = &(*kid)->key;
        part_shape = s->key;
    } else if (component_is(p, len, s->value_name ? s->value_name : "value")) {
        part = &(*kid)->value;
        part_shape = s->value;
    } else {
        return 0;
    }
    if (!*part && !(*part = qnode_new(c, part_shape))) return SL_ENOMEM;
    return put(c, *part, p + len, value, depth + 1);
}

static sl_val_t *new_val(sl_arena_t *arena, sl_val_type_t type) {
    sl_val_t *v = sl_arena_calloc(arena, 1, sizeof *v);
    if (v) v->type = type;
    return v;
}

static sl_val_t *scalar(sl_arena_t *arena, const sl_shape_t *s, const char *text) {
    sl_val_t *v = new_val(arena, SL_VAL_STRING);
    if (!v) return NULL;
    v->u.str.ptr = text;
    v->u.str.len = strlen(text);
    char *end;
    switch (s->type) {
    case SL_SHAPE_INTEGER:
    case SL_SHAPE_LONG: {
        errno = 0;
        long long x = strtoll(text, &end, 10);
        if (*text && !*end && !errno) { /* else a string: the validator reports the type */
            v->type = SL_VAL_NUMBER;
            v->u.num.i = x;
            v->u.num.d = (double)x;
            v->u.num.is_integer = true;
        }
        break;
    }
    case SL_SHAPE_DOUBLE: {
        double d = strtod(text, &end);
        if (*text && !*end && d == d) {
            v->type = SL_VAL_NUMBER;
            v->u.num.d = d;
            v->u.num.i = d >= 9.2e18 ? INT64_MAX : d <= -9.2e18 ? INT64_MIN : (int64_t)d;
            v->u.num.text = text;
            v->u.num.text_len = strlen(text);
        }
        break;
    }
    case SL_SHAPE_BOOLEAN:
        if (strcmp(text, "true") == 0 || strcmp(text, "false") == 0) {
            v->type = SL_VAL_BOOL;
            v->u.b = text[0] == 't';
        }
        break;
    case SL_SHAPE_TIMESTAMP: {
        int64_t ms;
        if (sl_front_parse_time(text, &ms)) {
            v->type = SL_VAL_TIMESTAMP;
            v->u.ts_ms = ms;
        }
        break;
    }
    default: /* strings; blobs are base64 text, decoded by the validator as for JSON */
        break;
    }
    return v;
}

static int to_val(sl_arena_t *arena, const qnode_t *n, sl_val_t **out, int depth);

static int kids_to_array(sl_arena_t *arena, const qnode_t *n, sl_val_t *v, int depth) {
    v->u.arr.items = sl_arena_calloc(arena, n->len ? n->len : 1, sizeof *v->u.arr.items);
    if (!v->u.arr.items) return SL_ENOMEM;
    for (size_t i = 0; i < n->len; i++) {
        if (!n->kids[i]) continue;
        int rc = to_val(arena, n->kids[i], &v->u.arr.items[v->u.arr.count], depth + 1);
        if (rc) return rc;
        if (v->u.arr.items[v->u.arr.count]) v->u.arr.count++;
    }
    return 0;
}

static int kids_to_map(sl_arena_t *arena, const qnode_t *n, sl_val_t *v, int depth) {
    const sl_shape_t *s = n->shape;
    size_t max = s->type == SL_SHAPE_STRUCTURE ? s->member_count : n->len;
    v->u.map.items = sl_arena_calloc(arena, max ? max : 1, sizeof *v->u.map.items);
    if (!v->u.map.items) return SL_ENOMEM;
    for (size_t i = 0; i < max && n->kids; i++) {
        const qnode_t *kid = n->kids[i];
        if (!kid) continue;
        const char *key;
        if (s->type == SL_SHAPE_STRUCTURE) {
            key = s->members[i].name;
        } else { /* an entry: a key with text and a value */
            if (!kid->key || !kid->key->text || !kid->value) continue;
            key = kid->key->text;
            kid = kid->value;
        }
        sl_kv_t *kv = &v->u.map.items[v->u.map.count];
        int rc = to_val(arena, kid, &kv->val, depth + 1);
        if (rc) return rc;
        if (!kv->val) continue;
        kv->key = key;
        kv->key_len = strlen(key);
        v->u.map.count++;
    }
    return 0;
}

/* The document of node n; *out NULL for a scalar that got no value. */
static int to_val(sl_arena_t *arena, const qnode_t *n, sl_val_t **out, int depth) {
    const sl_shape_t *s = n->shape;
    *out = NULL;
    if (depth > SL_QUERY_DEPTH_MAX + 2) return 0;
    switch (s->type) {
    case SL_SHAPE_STRUCTURE:
    case SL_SHAPE_MAP:
        if (!(*out = new_val(arena, SL_VAL_MAP))) return SL_ENOMEM;
        return kids_to_map(arena, n, *out, depth);
    case SL_SHAPE_LIST:
        if (!(*out = new_val(arena, SL_VAL_ARRAY))) return SL_ENOMEM;
        return kids_to_array(arena, n, *out, depth);
    default:
        if (!n->text) return 0;
        return (*out = scalar(arena, s, n->text)) ? 0 : SL_ENOMEM;
    }
}

int sl_front_query_decode(const sl_shape_t *input, const sl_form_param_t *ps, size_t n,
                          sl_arena_t *arena, sl_val_t **out, const char **reason) {
    *out = NULL;
    if (!input || input->type != SL_SHAPE_STRUCTURE || input->member_count == 0) {
        *out = new_val(arena, SL_VAL_MAP);
        return *out ? 0 : SL_ENOMEM;
    }
    qctx_t c = {.arena = arena, .slots_left = 4 * n + 64};
    qnode_t *root = qnode_new(&c, input);
    if (!root) return SL_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        int rc = put_member(&c, root, ps[i].name, ps[i].value, 0);
        if (rc == SL_EINVAL) *reason = c.reason;
        if (rc) return rc;
    }
    return to_val(arena, root, out, 0);
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
    sl_front_audit_note(req, op, NULL, auth.access_key_id, NULL);
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
    rc = sl_front_query_decode(op->input, ps, n, req->arena, &doc, &reason);
    if (rc == SL_EINVAL) FAIL(SL_AWS_SERIALIZATION, reason);
    if (rc) FAIL(SL_AWS_INTERNAL_FAILURE, sl_aws_failure_message(SL_ENOMEM));
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
    const char *denied = sl_front_authz_denied(front, svc, principal, op, doc, account, req, false);
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
