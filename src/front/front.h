/* The generic AWS front (docs/architecture.md, "The front and its services"): everything between an
 * HTTP request and a service's operation handler that does not depend on the service. It owns the
 * router (X-Amz-Target prefix, path and method, SigV4 signing name; front/router.h), request ids,
 * AWS's request-processing order (docs/architecture.md, "PutRecords", step 2: CORS, preflight,
 * method, empty body, content type, body parsing, target, SigV4 format checks, model validation),
 * the AWS error shapes (JSON/CBOR `__type` + message, the 413, the legacy application/json answers,
 * the XML access-denied), CORS (--cors-origins) and the account hook.
 *
 * Services do not live here: the composition root (server/compose.c) registers each service's
 * descriptor (protocol, generated model, handlers, signing name, target prefix, content types,
 * account hook) and any plain route (GET /health); a new service adds a descriptor, nothing in
 * the front changes. Handlers get an sl_front_call_t, decode call->in, call their core and answer
 * with sl_front_reply / sl_front_fail (possibly later, from their loop thread: sl_front_post).
 *
 * Threads: registration happens before the HTTP server starts; afterwards the front is read-only
 * and every entry point runs on the network thread of its request. */
#ifndef SL_FRONT_FRONT_H
#define SL_FRONT_FRONT_H

#include "core/arena.h"
#include "core/buf.h"
#include "core/limits.h"
#include "core/linelog.h"
#include "front/model.h"
#include "net/http.h"
#include "net/loop.h"
#include "wire/enc.h"
#include "wire/value.h"
#include "wire/xml.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct sl_front sl_front_t;

/* The principal who signed a request, as the composition root's lookup (sl_front_config_t
 * .principal) describes it: the secret to verify with and who it is. */
typedef struct {
    char secret[SL_AUTH_SECRET_BYTES_MAX];
    char account_id[16];
    char arn[SL_AUTH_ARN_BYTES_MAX]; /* arn:aws:iam::<account>:user/<name> (or an assumed role) */
    char user_name[SL_AUTH_NAME_BYTES_MAX]; /* the user, or the role, whose policies apply */
    char session_token[SL_AUTH_SESSION_TOKEN_BYTES_MAX]; /* "" = none required */
    int64_t expiration_s;                                /* 0 = never */
    bool admin;
    bool temporary; /* STS credentials (GetSessionToken, AssumeRole) */
    bool role;      /* an assumed role: user_name is the role's name */
    /* An assumed role's session policy (AssumeRole's Policy), "" = none: it bounds what the
     * role's policies allow (the authorization hook intersects them). */
    char session_policy[SL_AUTH_SESSION_POLICY_BYTES_MAX];
} sl_front_principal_t;
typedef struct sl_front_call sl_front_call_t;
typedef struct sl_front_body sl_front_body_t; /* a streamed payload being read (restbody.c) */
typedef struct sl_front_service sl_front_service_t;

/* The wire protocols of AWS services. JSON and REST_JSON have bindings today; the others
 * are the next steps, in the order the next services need them (each gets a row in front.c's
 * binding table: request decoding into an sl_val_t map for the model validator, and its error
 * shape):
 *   REST_JSON: Lambda, Kinesis Video (members from the URI, query string, headers and body;
 *              errors with x-amzn-ErrorType and {"Type":"User","message":...}), routed by SigV4
 *              signing name, else (no X-Amz-Target) by method and the model's URI templates;
 *              answers bind output members to headers and the status (sl_front_out_header,
 *              sl_front_out_status) and the payload member to the body (sl_front_reply_payload).
 *   QUERY:     IAM, STS, SQS, SNS, CloudWatch (form-encoded Action=...; XML answers), routed by
 *              SigV4 signing name (front/query.c; scalar members only so far).
 *   REST_XML:  S3 (front/restxml.c): routed by the signing name; path-style and virtual-host
 *              buckets; operations found by method, URI template, template query and required
 *              headers; members from the URI, query and headers (call->in), the payload decoded
 *              from aws-chunked and checked against x-amz-content-sha256 (call->body); errors as
 *              S3's <Error> document. */
typedef enum {
    SL_FRONT_PROTO_JSON,      /* AWS JSON 1.0/1.1, and CBOR where the service accepts it */
    SL_FRONT_PROTO_REST_JSON, /* REST-JSON: routed by signing name, else method + URI template */
    SL_FRONT_PROTO_QUERY,     /* form-encoded requests, XML answers (front/query.c) */
    SL_FRONT_PROTO_REST_XML,  /* S3 */
    /* Smithy RPC v2 CBOR (front/rpcv2.c): POST /service/<target prefix>/operation/<op>, CBOR
     * with timestamps in seconds, `smithy-protocol: rpc-v2-cbor`; routed by that path only (no
     * signing name, never the default route); cbor_content_type "application/cbor". */
    SL_FRONT_PROTO_RPC_V2_CBOR,
} sl_front_protocol_t;

/* An operation handler: answers the call exactly once, with sl_front_reply or an sl_front_fail*. */
typedef void (*sl_front_op_fn)(sl_front_call_t *call);

/* A service as the composition root registers it. The strings and the model are static (or
 * outlive the front); the front copies the descriptor. */
struct sl_front_service {
    const char *name; /* for logs: "kinesis" */
    sl_front_protocol_t protocol;
    const sl_service_model_t *model; /* generated (tools/gen_model.py); target prefix, ops */
    /* The handler of an operation of the model, or NULL when the service has none (the request is
     * then answered InternalFailure). Asked once per operation at registration. */
    sl_front_op_fn (*handler)(const char *op_name);
    /* The SigV4 credential scope's service ("kinesis"): routes requests that no target prefix
     * claims (services sharing a protocol). NULL = none. */
    const char *signing_name;
    /* Content types (lower case) the service accepts and answers in: the JSON one
     * ("application/x-amz-json-1.1"), the CBOR one or NULL, and whether a body sent as plain
     * "application/json" gets the legacy protocol's answers (Kinesis: parsed, then refused). */
    const char *json_content_type; /* JSON protocols only */
    const char *cbor_content_type;
    /* Query protocol: the namespace of its XML answers
     * ("https://sts.amazonaws.com/doc/2011-06-15/"). */
    const char *xml_namespace;
    bool legacy_json;
    /* This service's conventions answer requests that no route claims (a POST whose target
     * prefix and signing name are unknown, or that has neither): AWS's Kinesis endpoint does. At
     * most one service may set it. */
    bool default_route;
    /* Every answer carries x-amz-crc32, the CRC-32 (IEEE) of its body, which DynamoDB's SDKs
     * check. */
    bool crc32_header;
    void *binding; /* the binding's own object, as call->binding */
    /* SigV4 scope of a global service (IAM: "us-east-1", what SDKs sign for on AWS): set, any
     * region is accepted (with an endpoint URL SDKs sign for the client's region); NULL = only
     * the front's region. */
    const char *signing_region;
    /* Authorization (--auth sigv4, docs/security.md): the resource ARN an operation acts on, from
     * its validated input and the account hook's answer (the stream ARN, the consumer ARN, or
     * the account's `*` resource), in the arena. Set, every request of a non-admin principal is
     * authorized before its handler (action "<action_prefix>:<operation>"); NULL = the service
     * does not authorize yet. An operation on several resources (DynamoDB's BatchWriteItem)
     * answers them separated by '\n': each must be allowed. */
    const char *(*resource)(const sl_op_t *op, const sl_val_t *in, void *account,
                            const char *region, const char *account_id, sl_arena_t *arena);
    const char *action_prefix; /* "kinesis" */
    /* The IAM action's name (after the prefix) when it is not the operation's (S3's HeadObject is
     * s3:GetObject, Lambda's Invoke lambda:InvokeFunction); NULL = the operation's name. */
    const char *(*action)(const sl_op_t *op);
    /* Cross-account access (--auth sigv4): the 12-digit account that owns the resource the
     * request names by ARN (Kinesis's StreamARN, ConsumerARN, ResourceARN), into out; false when
     * it names none. A verified principal's request for another account's resource goes to that
     * account (the account hook is asked for it) and is allowed only when that resource's
     * resource-based policy allows it too. NULL = requests stay in the principal's account. */
    bool (*resource_account)(const sl_op_t *op, const sl_val_t *in, char out[16]);
    /* S3's SigV4 rules: the path is URI-encoded once, and x-amz-content-sha256 may be
     * UNSIGNED-PAYLOAD or STREAMING-... (then signed as sent). Every other service signs the
     * body's SHA-256 and encodes the path twice. */
    bool sigv4_unsigned_payload;
    /* REST-XML: true for the operations whose payload the handler reads as it arrives
     * (sl_front_body_read: S3's PutObject and UploadPart) instead of from call->body, so that no
     * body is held whole in memory. NULL = none. */
    bool (*streamed)(const sl_op_t *op);
    /* The account hook: maps the request's account key (NULL when the request has none) to the
     * service's context for that account, stored in call->account. The key is the verified
     * principal's 12-digit account id when signatures are verified, else the SigV4 access key id
     * (docs/security.md, "Accounts"). Returns 0, SL_ELIMIT
     * when the account cannot be created because of a bound (UnrecognizedClientException), or
     * another negative SL_E* (InternalFailure). Runs on network threads, after validation. NULL =
     * call->account is account_ctx for every request. */
    int (*account)(void *account_ctx, const char *access_key_id, void **out);
    void *account_ctx;
};

/* One call; lives in the request's arena until the response is sent. */
struct sl_front_call {
    sl_front_t *front;
    const sl_front_service_t *service; /* NULL for a plain route */
    void *binding;                     /* service->binding */
    void *account;                     /* the account hook's answer (Kinesis: the engine) */
    const char *access_key_id;         /* from the SigV4 credential, or NULL */
    /* The verified principal (its secret wiped), or NULL in open mode. */
    const sl_front_principal_t *principal;
    sl_http_req_t *req;
    sl_arena_t *arena;
    sl_fmt_t fmt;
    const sl_op_t *op;
    sl_val_t *in; /* validated input (a map; never NULL) */
    /* REST-XML: the request's payload (aws-chunked already decoded, in the net layer's buffer);
     * its XML, when the operation takes an XML document, is parsed by the handler. */
    const uint8_t *body;
    size_t body_len;
    /* REST-XML, an operation the service streams (sl_front_service_t.streamed): the payload is
     * read with sl_front_body_read (body is then NULL); body_length is the decoded payload's
     * announced length (x-amz-decoded-content-length, else Content-Length), UINT64_MAX when none
     * was announced (chunked transfer); trailers are the aws-chunked trailers (checksums), set
     * when the last piece comes. */
    bool body_streamed;
    uint64_t body_length;
    const sl_http_header_t *trailers;
    size_t trailer_count;
    sl_front_body_t *sbody; /* the front's reading state */
    int64_t now_ms;
    char request_id[40];
    sl_buf_t out;       /* response body */
    sl_enc_t enc;       /* writes into out */
    bool query;         /* a Query-protocol call: XML answers (sl_front_query_begin/_end) */
    const char *origin; /* CORS: an allowed Origin header, or NULL */
    void *state;        /* the handler's own state, for asynchronous handlers */
    void *route_ctx;    /* a plain route's ctx */
    void (*post_fn)(struct sl_front_call *call); /* pending sl_front_post */
    sl_loop_node_t post_node;                    /* its post to the network loop */
    /* REST protocols: the answer's status (0 = the operation's responseCode) and the headers
     * bound to output members (sl_front_out_header), in the arena. */
    int status;
    sl_http_header_t *out_headers;
    size_t out_header_count;
};

/* The decision of the authorization hook (sl_front_config_t.authorize). */
typedef enum {
    SL_FRONT_AUTHZ_IMPLICIT_DENY = 0, /* no identity-based policy allows */
    SL_FRONT_AUTHZ_ALLOW,
    SL_FRONT_AUTHZ_EXPLICIT_DENY,          /* in an identity-based policy */
    SL_FRONT_AUTHZ_RESOURCE_IMPLICIT_DENY, /* another account's resource: no resource-based
                                              policy allows */
    SL_FRONT_AUTHZ_RESOURCE_EXPLICIT_DENY, /* in a resource-based policy */
    SL_FRONT_AUTHZ_SESSION_IMPLICIT_DENY,  /* the policies allow, the session policy does not */
    SL_FRONT_AUTHZ_SESSION_EXPLICIT_DENY,  /* in the session policy (AssumeRole's Policy) */
} sl_front_authz_t;

/* What the authorization hook is asked: the action ("kinesis:PutRecord"), the resource ARN and
 * the condition keys' values. */
typedef struct {
    const char *action;
    const char *resource;
    bool secure_transport; /* aws:SecureTransport: the request came over TLS */
    const char *source_ip; /* aws:SourceIp: the client's address ("" when unknown) */
} sl_front_authz_req_t;

typedef struct {
    /* Web origins ("scheme://host[:port]", comma-separated) whose pages may call the server from
     * a browser; NULL or "" = CORS off. A request carrying an Origin header that is neither listed
     * nor the server's own loopback origin is refused with 403 (docs/security.md). "*" (any
     * origin) is accepted only together with signatures_verified. */
    const char *cors_origins;
    /* SigV4 verification (--auth sigv4): true when every request's signature is checked against
     * the secret of its principal (then "*" in cors_origins is accepted). It needs `principal`.
     * False = open mode: signatures are only checked for their format. */
    bool signatures_verified;
    /* The principal of an access key id: 0 and *out filled, or SL_ENOTFOUND (an unknown or
     * inactive key: UnrecognizedClientException). Runs on network threads. */
    int (*principal)(void *ctx, const char *access_key_id, const char *session_token,
                     sl_front_principal_t *out);
    void *principal_ctx;
    /* The policies' decision for a principal (non-admin, or any principal reaching another
     * account's resource) and a request: identity-based policies, and the resource-based
     * policy of the resource; NULL = no authorization. Runs on network threads. */
    sl_front_authz_t (*authorize)(void *ctx, const sl_front_principal_t *principal,
                                  const sl_front_authz_req_t *req, sl_arena_t *arena);
    void *authorize_ctx;
    /* Whether the 12-digit account exists (ctx: authorize_ctx). A principal's request naming a
     * resource of an account it does not know is authorized without asking the service's account
     * hook, which would create the account, and is refused as any other account's resource that
     * grants nothing. NULL = every account is known. Runs on network threads. */
    bool (*account_known)(void *ctx, const char *account_id);
    /* The region requests must be signed for (services may name another: signing_region). */
    const char *region;
    /* The audit log (--audit-log; not owned, outlives the front), or NULL: one CloudTrail-style
     * JSON line per request routed to a service (front/audit.c, docs/security.md). */
    sl_linelog_t *audit_log;
} sl_front_config_t;

/* Returns SL_EINVAL (after logging why) for a malformed cors_origins list. */
int sl_front_create(const sl_front_config_t *cfg, sl_front_t **out);
void sl_front_destroy(sl_front_t *front);

/* Registers a service (copied) and its routes: its model's target prefix and its signing name.
 * Returns SL_EINVAL (logged) for a protocol without a binding yet or a second default_route,
 * SL_EEXIST for a prefix or signing name already routed, SL_ELIMIT when the router is full. */
int sl_front_add_service(sl_front_t *front, const sl_front_service_t *svc);

/* Registers a plain route (not an AWS operation: /health, later /metrics and the console):
 * requests with this method and path (the whole path before '?', or any path starting with it
 * when prefix is set; the longest prefix wins) go to fn, with call->route_ctx = ctx, after the
 * CORS checks. fn answers with sl_front_respond. Same errors as sl_front_add_service. */
int sl_front_add_route(sl_front_t *front, const char *method, const char *path, bool prefix,
                       sl_front_op_fn fn, void *ctx);
/* The same for a Sluice administration route (/admin/...): under --auth sigv4 a request must be
 * SigV4-signed (header form, credential scope service `sluice`, the server's region) by an admin
 * principal, else it gets AWS's authentication error or 403 AccessDeniedException; in open mode
 * it is served like a plain route. */
int sl_front_add_admin_route(sl_front_t *front, const char *method, const char *path, bool prefix,
                             sl_front_op_fn fn, void *ctx);

/* The sl_http_handler_fn to give the HTTP server (ctx = the sl_front_t). */
void sl_front_handle_http(void *ctx, sl_http_req_t *req);
/* The sl_http_error_body_fn to give the HTTP server: AWS's error shape, in the request's content
 * type, for the answers the server gives itself (413). */
void *sl_front_error_body(void *ctx, int status, const sl_http_header_t *headers,
                          size_t header_count, size_t *len, const char **content_type);

/* The server's stream_body hook (sl_http_server_config_t, ctx = the sl_front_t): true for a
 * request head that a service streams (its descriptor's `streamed`), so the handler gets the
 * request at its head and reads the body with sl_front_body_read. Requests whose signature needs
 * the body's hash before the handler runs (--auth sigv4 without x-amz-content-sha256) are
 * buffered as before. */
bool sl_front_stream_body(void *ctx, const sl_http_req_t *head);

/* Reading a streamed payload (call->body_streamed). The front decodes it as it comes (aws-chunked
 * framing, each chunk signature and the trailer signature under --auth sigv4, the SHA-256 that
 * x-amz-content-sha256 announces, x-amz-decoded-content-length) and hands the handler the decoded
 * bytes one piece at a time, with backpressure: the next piece comes only after
 * sl_front_body_next, and until then the connection is not read beyond a bounded buffer. */
typedef struct {
    /* The next decoded bytes, valid (and the handler's to change) until sl_front_body_next or the
     * answer. last: the payload is complete and every check passed (call->trailers is set); no
     * sl_front_body_next follows it. len may be 0 with last. */
    void (*on_data)(sl_front_call_t *call, uint8_t *data, size_t len, bool last);
    /* The payload cannot complete: S3's error for it (status, code, message: static or arena
     * text), which the handler answers once it has finished with what it holds. Nothing follows;
     * no sl_front_body_next is needed. */
    void (*on_error)(sl_front_call_t *call, int status, const char *code, const char *message);
} sl_front_body_cbs_t;

/* Starts reading (once per call). Callbacks run on the request's loop thread, from the net
 * layer's notifications; only an error found at once (out of memory) comes from inside
 * sl_front_body_read. */
void sl_front_body_read(sl_front_call_t *call, const sl_front_body_cbs_t *cbs);
/* The handler is done with the piece it holds. */
void sl_front_body_next(sl_front_call_t *call);

/* Sends 200 with the encoded body in call->out (empty body when nothing was written), in the
 * request's content type. */
void sl_front_reply(sl_front_call_t *call);
/* Sends an answer of a plain route: status, content type and body (copied), with the request id
 * and CORS headers every answer carries. */
void sl_front_respond(sl_front_call_t *call, int status, const char *content_type, const void *body,
                      size_t len);
/* Sends an answer with more headers (copied) and a body whose ownership passes to the net layer
 * (malloc'd; NULL with len > 0 only for HEAD, whose Content-Length is then len and nothing is
 * sent); REST-XML answers also carry S3's x-amz-request-id. */
/* A streamed answer of a known length (S3's GetObject of a large object): the headers every answer
 * carries (as sl_front_respond_ex), `headers` and Content-Length: len; then the body goes through
 * sl_http_stream_write on call->req, ended with sl_http_stream_end or sl_http_stream_abort.
 * Returns sl_http_stream_begin's result. */
int sl_front_stream_sized(sl_front_call_t *call, int status, const sl_http_header_t *headers,
                          size_t header_count, uint64_t len, const sl_http_stream_cbs_t *cbs);
void sl_front_respond_ex(sl_front_call_t *call, int status, const char *content_type,
                         const sl_http_header_t *headers, size_t header_count, void *body,
                         size_t len);
/* Sends an error with an explicit status, in the service's error shape (REST-XML: S3's <Error>
 * document with the detail element, e.g. <BucketName>, when detail_name is set). */
void sl_front_fail_status(sl_front_call_t *call, int status, const char *type, const char *message,
                          const char *detail_name, const char *detail_value);
/* Sends an AWS error: `type` is an SL_AWS_* constant (wire/awserror.h), whose table gives the HTTP
 * status. `fmt` NULL = no message. */
void sl_front_fail(sl_front_call_t *call, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* REST-JSON: an error carrying more members of its error shape than Type and message: the ones
 * the model binds to headers (e.g. Lambda's Retry-After) and body members as name, value pairs
 * (e.g. "Reason", "ConcurrentInvocationLimitExceeded"). Other protocols: sl_front_fail. */
void sl_front_fail_rest(sl_front_call_t *call, const char *type, const char *message,
                        const sl_http_header_t *headers, size_t header_count,
                        const char *const *body_kv, size_t body_pairs);
/* REST protocols: sets the header bound to the output member `member` of the call's operation
 * (value copied). Returns 0, or SL_EINVAL when the output has no such header member. */
int sl_front_out_header(sl_front_call_t *call, const char *member, const char *value);
/* REST protocols: the answer's status instead of the operation's responseCode (the output's
 * statusCode member: Invoke's 200/202/204). */
void sl_front_out_status(sl_front_call_t *call, int status);
/* REST protocols: answers with the output's payload member as the whole body (copied), e.g.
 * Invoke's Payload, with the status and headers set so far. */
void sl_front_reply_payload(sl_front_call_t *call, const char *content_type, const void *body,
                            size_t len);
/* Sends an error of a service that speaks both JSON and the Query protocol (SQS,
 * "awsQueryCompatible"): a Query call gets the Query error XML with `code`
 * ("AWS.SimpleQueueService.NonExistentQueue") and `status`; a JSON call gets {"__type": type,
 * "message"} (type as AWS writes it, "com.amazonaws.sqs#QueueDoesNotExist") with the header
 * x-amzn-query-error: "<code>;Sender" (or
 * ";Receiver" for 5xx), which the SDKs read to report the Query code. */
void sl_front_fail_compat(sl_front_call_t *call, int status, const char *type, const char *code,
                          const char *message);
/* Sends InternalFailure (500) for an operation that failed with `code` (an SL_E* value from the
 * storage or the catalog), with the message naming the cause (sl_aws_failure_message). */
void sl_front_fail_internal(sl_front_call_t *call, int code);
/* Query protocol answers: _begin opens <OpResponse xmlns=...> (and <OpResult> when `result`) on
 * call->out; the handler writes the result's elements with w; _end closes them, adds
 * <ResponseMetadata><RequestId> and sends 200 (sl_front_reply). Errors: sl_front_fail, which
 * answers a Query call with AWS's Query error XML. */
void sl_front_query_begin(sl_front_call_t *call, sl_xml_writer_t *w, bool result);
void sl_front_query_end(sl_front_call_t *call, sl_xml_writer_t *w);
/* Runs fn(call) on the request's loop thread (from storage threads or a reader pool). */
void sl_front_post(sl_front_call_t *call, void (*fn)(sl_front_call_t *call));

#endif
