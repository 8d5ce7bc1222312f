/* Shared between the files of the front: the front object, CORS (cors.c), responses and error
 * shapes (respond.c) and the request processing (front.c). */
#ifndef SL_FRONT_INTERNAL_H
#define SL_FRONT_INTERNAL_H

#include "core/common.h"
#include "front/front.h"
#include "front/router.h"
#include "wire/sigv4.h"

#include <stdbool.h>

#define SL_FRONT_CT_JSON "application/x-amz-json-1.1"
#define SL_FRONT_CT_CBOR "application/x-amz-cbor-1.1"
#define SL_FRONT_CT_LEGACY_JSON "application/json"

/* A registered service: the descriptor (copied) and its handlers, one per operation of its model
 * (the slot of an operation is its index in model->ops; NULL = no handler). */
typedef struct {
    sl_front_service_t svc;
    sl_front_op_fn *handlers; /* owned; model->op_count entries */
} sl_front_svc_t;

/* A plain route (sl_front_add_route). */
typedef struct {
    sl_front_op_fn fn;
    void *ctx;
    bool admin; /* sl_front_add_admin_route: an admin principal's signature under --auth sigv4 */
} sl_front_route_t;

/* Owned by the composition root; filled before the server starts, read-only afterwards. */
/* The audit record of a request (audit.c). */
typedef struct sl_front_audit sl_front_audit_t;

struct sl_front {
    sl_linelog_t *audit; /* --audit-log, or NULL (not owned) */
    sl_router_t router;  /* destinations: sl_front_svc_t (targets, signing names) and
                            sl_front_route_t (paths) */
    sl_front_svc_t services[SL_FRONT_ROUTES_MAX];
    size_t service_count;
    sl_front_svc_t *default_service; /* answers what no route claims; NULL = the built-in one */
    /* REST services, also routed by their URI templates when a request has neither a target nor
     * a known signing name */
    sl_front_svc_t *rest_services[SL_FRONT_ROUTES_MAX];
    size_t rest_service_count;
    /* Smithy RPC v2 CBOR services, routed by /service/<target prefix>/operation/ (rpcv2.c) */
    sl_front_svc_t *rpcv2_services[SL_FRONT_ROUTES_MAX];
    size_t rpcv2_service_count;
    sl_front_route_t routes[SL_FRONT_ROUTES_MAX];
    size_t route_count;
    /* CORS (cors.c): origins allowed to call from a browser, lower-cased, owned; see front.h. */
    char **cors_origins;
    size_t cors_origin_count;
    bool cors_any; /* "*": only with signatures verified */
    /* SigV4 verification (auth.c); verify false = open mode. */
    bool verify;
    int (*principal)(void *ctx, const char *access_key_id, const char *session_token,
                     sl_front_principal_t *out);
    void *principal_ctx;
    sl_front_authz_t (*authorize)(void *ctx, const sl_front_principal_t *principal,
                                  const sl_front_authz_req_t *req, sl_arena_t *arena);
    void *authorize_ctx;
    bool (*account_known)(void *ctx, const char *account_id); /* NULL = all */
    bool streams; /* a registered service streams some payloads (sl_front_stream_body) */
    char region[64];
};

/* One request while the front decides where it goes (on the stack of sl_front_handle_http). */
typedef struct {
    sl_front_t *front;
    sl_http_req_t *req;
    const sl_front_svc_t *svc; /* the routed service; NULL: none routed and no default */
    char request_id[40];
    const char *origin; /* Origin header or NULL */
    char ct[128];       /* media type of Content-Type, lower-cased ("" when absent) */
    const char *target; /* X-Amz-Target or NULL */
} front_req_t;

/* front.c: a header's value copied into the request arena (NULL when absent); a new call in the
 * request's arena (NULL when out of memory). */
const char *sl_front_header(sl_http_req_t *req, const char *name);
sl_front_call_t *sl_front_new_call(const front_req_t *rq, sl_fmt_t fmt);

/* restxml.c: the access key id of a request signed with AWS's older SigV2 scheme, which only S3
 * still takes (an "AWS <key>:<signature>" Authorization header, or a presigned URL's
 * AWSAccessKeyId and Signature parameters, as boto3 presigns S3 URLs by default), or NULL. */
const char *sl_front_sigv2(const char *authorization, const char *query, sl_arena_t *arena);

/* audit.c: the audit log (docs/security.md). begin attaches a record to a request routed to a
 * service (req->user; nothing without --audit-log); note fills what the front learns (NULL
 * arguments leave a field as it is); error records the AWS error answered; emit writes the line
 * once, when the answer is sent (respond.c). Each is a no-op on a request without a record. */
void sl_front_audit_begin(const sl_front_t *front, sl_http_req_t *req, const char *request_id,
                          const sl_front_service_t *svc);
void sl_front_audit_note(sl_http_req_t *req, const sl_op_t *op,
                         const sl_front_principal_t *principal, const char *access_key_id,
                         const sl_val_t *in);
void sl_front_audit_error(sl_http_req_t *req, const char *type, const char *message);
void sl_front_audit_emit(sl_http_req_t *req, int status);

/* front.c: steps 9 to 12 of an RPC protocol's request (AWS JSON, CBOR, Smithy RPC v2 CBOR) whose
 * operation and input document are known: SigV4 checks (body_hash: the hex SHA-256 of the body
 * when signatures are verified), model validation (skipped when `validated`: the document came
 * from sl_front_json_fast), the account hook, authorization, the handler. */
void sl_front_dispatch(front_req_t *rq, const sl_op_t *op, sl_val_t *doc, sl_fmt_t fmt,
                       const char *body_hash, bool validated);

/* rpcv2.c: the Smithy RPC v2 CBOR binding after routing, and its route (the registered service
 * the path /service/<name>/operation/... names, or NULL). */
void sl_front_handle_rpcv2(front_req_t *rq);
const sl_front_svc_t *sl_front_rpcv2_route(const sl_front_t *front, const char *path);

/* front.c: the REST-XML service a request is routed to, or NULL (another protocol's, none). */
const sl_front_svc_t *sl_front_route_rest_xml(const sl_front_t *front, sl_http_req_t *req);

/* restxml.c: the REST-XML binding (S3), after routing. */
void sl_front_handle_rest_xml(front_req_t *rq);

/* SigV4 verification of aws-chunked bodies (STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER] under
 * --auth sigv4): each chunk signature chains on the previous one, the first on the Authorization
 * header's (sl_sigv4_chunk_signature_hex), the trailer's on the last chunk's. */
typedef struct {
    bool verify;         /* chunk signatures are checked */
    bool trailer_signed; /* ...and the trailer's (STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER) */
    bool mismatch;       /* a signature did not match (the decoding stopped for it) */
    uint8_t key[32];     /* the request's signing key */
    const sl_sigv4_auth_t *auth;
    const char *amz_date;
    char previous[65];
} sl_front_chunk_check_t;

/* The most trailer lines an aws-chunked body may carry (S3 sends one checksum and the trailer's
 * signature). */
#define SL_FRONT_TRAILERS_MAX 16

/* restbody.c: streamed REST-XML payloads (front.h, sl_front_body_read). prepare sets up the call
 * for a streamed payload (call->body_streamed) with the request's chunk-signature check (copied;
 * its auth must live in the request's arena); abandon releases what prepare took when no handler
 * reads the payload. trailer_signature_ok checks x-amz-trailer-signature (signature NULL: none
 * was sent) over the trailers as sent. */
int sl_front_body_prepare(sl_front_call_t *call, const sl_front_chunk_check_t *check);
void sl_front_body_abandon(sl_front_call_t *call);
bool sl_front_trailer_signature_ok(const sl_front_chunk_check_t *check,
                                   const sl_http_header_t *trailers, size_t count,
                                   const char *signature, sl_arena_t *arena);

/* The trailers of an aws-chunked body as sent (names lower-cased, strings in the request's
 * arena) and its x-amz-trailer-signature, as both the streamed and the buffered decoder collect
 * them. */
typedef struct {
    sl_http_header_t items[SL_FRONT_TRAILERS_MAX];
    size_t count;
    char signature[65];
    bool has_signature;
} sl_front_trailers_t;

/* restbody.c: one trailer line into t (the decoders' on_trailer): 0, or -1 for a second or
 * malformed signature, too many trailers or no memory. */
int sl_front_trailer_take(sl_front_trailers_t *t, sl_arena_t *arena, const char *name,
                          size_t name_len, const char *value, size_t value_len);
/* Whether t passes check: true unless the trailer is signed and its signature is missing or
 * wrong (sl_front_trailer_signature_ok). */
bool sl_front_trailers_verified(const sl_front_chunk_check_t *check, const sl_front_trailers_t *t,
                                sl_arena_t *arena);

/* cors.c */
int sl_front_cors_parse(sl_front_t *front, const sl_front_config_t *cfg);
void sl_front_cors_free(sl_front_t *front);
/* May a page of `origin` call this server? (listed, or the server's own loopback origin) */
bool sl_front_origin_allowed(const sl_front_t *front, const sl_http_req_t *req, const char *origin);

/* auth.c: verifies the signature of a request whose SigV4 parts passed the format checks, for
 * service svc at now_ms. body_hash: the hex SHA-256 of the body as received (taken before the
 * body is parsed, since parsers decode strings in place). Returns 0 with *out the principal (an
 * arena copy, secret wiped), or SL_EINVAL with AWS's error in *err_type / *err_msg (arena or static
 * strings), or SL_ENOMEM. */
int sl_front_verify(const sl_front_t *front, sl_http_req_t *req, const sl_front_service_t *svc,
                    const sl_sigv4_auth_t *auth, const char *body_hash, int64_t now_ms,
                    const sl_front_principal_t **out, const char **err_type, const char **err_msg);
/* sl_front_verify that also gives the request's signing key (32 bytes, wiped on failure): S3's
 * aws-chunked chunk signatures chain on it (restxml.c). */
int sl_front_verify_key(const sl_front_t *front, sl_http_req_t *req, const sl_front_service_t *svc,
                        const sl_sigv4_auth_t *auth, const char *body_hash, int64_t now_ms,
                        const sl_front_principal_t **out, const char **err_type,
                        const char **err_msg, uint8_t key_out[32]);

/* query.c: the Query protocol binding, and its error answer (a JSON type such as
 * InvalidSignatureException is given its Query code, SignatureDoesNotMatch). */
void sl_front_query_handle(sl_front_t *front, sl_http_req_t *req, const sl_front_svc_t *fs,
                           const char *request_id, const char *origin, const char *ct);
void sl_front_query_error(sl_http_req_t *req, const sl_front_service_t *svc, const char *request_id,
                          const char *origin, const char *type, const char *message);
/* The Query error XML with an explicit status and code. */
void sl_front_query_error_status(sl_http_req_t *req, const sl_front_service_t *svc,
                                 const char *request_id, const char *origin, int status,
                                 const char *code, const char *message);

/* respond.c. `svc` chooses the content types of an answer (NULL: AWS JSON 1.1 / CBOR 1.1). */
void sl_front_make_request_id(char out[40]);
/* As sl_front_send, with the headers the service asks for (svc NULL = none). */
void sl_front_send_svc(sl_http_req_t *req, const sl_front_service_t *svc, const char *request_id,
                       const char *origin, int status, const char *content_type, void *body,
                       size_t len);
void sl_front_send(sl_http_req_t *req, const char *request_id, const char *origin, int status,
                   const char *content_type, void *body, size_t len);
/* sl_front_send_svc with extra headers (copied; REST output members). */
void sl_front_send_full(sl_http_req_t *req, const sl_front_service_t *svc, const char *request_id,
                        const char *origin, int status, const char *content_type,
                        const sl_http_header_t *extra, size_t extra_count, void *body, size_t len);
/* sl_front_send with extra headers (copied). */
void sl_front_send_headers(sl_http_req_t *req, const char *request_id, const char *origin,
                           int status, const char *content_type, const sl_http_header_t *extra,
                           size_t extra_count, void *body, size_t len);
/* sl_front_send with more headers (copied) and, for REST-XML, S3's x-amz-request-id. */
void sl_front_send_ex(sl_http_req_t *req, const char *request_id, const char *origin, int status,
                      const char *content_type, const sl_http_header_t *extra, size_t extra_count,
                      bool s3_ids, void *body, size_t len);
/* The error document of REST-XML (S3): <Error><Code/><Message/>[<detail/>]<RequestId/>
 * <HostId/></Error>, application/xml. */
void sl_front_send_xml_error(sl_http_req_t *req, const char *request_id, const char *origin,
                             int status, const char *code, const char *message,
                             const char *detail_name, const char *detail_value);
void sl_front_send_copy(sl_http_req_t *req, const char *request_id, const char *origin, int status,
                        const char *content_type, const char *body);
const char *sl_front_content_type(const sl_front_service_t *svc, sl_fmt_t fmt);
/* An AWS error with an explicit status (the table's, or 403 for a refused origin). */
void sl_front_send_error_status(sl_http_req_t *req, const sl_front_service_t *svc,
                                const char *request_id, const char *origin, sl_fmt_t fmt,
                                int status, const char *type, const char *message);
/* Authorization of a verified principal (docs/security.md): the policies' decision for the
 * operation's action ("<action_prefix>:<operation>") and the resource the service's hook names,
 * with the request's TLS and client address as condition keys. NULL = allowed (also for admins
 * in their own account, open mode and services without a resource hook); otherwise AWS's
 * AccessDenied message, in the arena. cross: the request is for another account's resource
 * (sl_front_service_t.resource_account), which admins need a resource policy for too. Every
 * binding calls it after the account hook and before the handler. */
const char *sl_front_authz_denied(const sl_front_t *front, const sl_front_service_t *svc,
                                  const sl_front_principal_t *principal, const sl_op_t *op,
                                  const sl_val_t *in, void *account, const sl_http_req_t *req,
                                  bool cross);
void sl_front_send_error(sl_http_req_t *req, const sl_front_service_t *svc, const char *request_id,
                         const char *origin, sl_fmt_t fmt, const char *type, const char *message);

#endif
