/* The AWS API front: turns HTTP requests into Kinesis operations and their answers into HTTP
 * responses, following AWS's request-processing order (shared/specs/kinesis-data-streams.md §1.5):
 * CORS preflight, method, empty body, content type, body parsing (JSON or CBOR), target, SigV4
 * format checks, model validation, then the operation. Answers in the request's content type. */
#ifndef SL_API_API_H
#define SL_API_API_H

#include "kinesis/engine.h"
#include "net/http.h"

typedef struct sl_api sl_api_t;

typedef struct {
    sl_kinesis_t *kinesis;   /* the default account's engine; not owned */
    /* Web origins ("scheme://host[:port]", comma-separated) whose pages may call the API from a
     * browser; NULL or "" = CORS off. A request carrying an Origin header that is neither listed
     * nor the server's own loopback origin is refused with 403 (docs/security.md). "*" (any
     * origin) is accepted only together with signatures_verified. */
    const char *cors_origins;
    /* Hook for SigV4 verification: true once every request's signature is checked against a
     * principal's secret. Nothing sets it yet (signatures are only checked for their format),
     * so this server runs in open mode and refuses "*" in cors_origins. */
    bool signatures_verified;
    /* Chooses the engine of the account that a request's SigV4 access key id selects (the
     * composition root's account registry); NULL = every request uses `kinesis`. Returns 0 and
     * *out, SL_ELIMIT when the account cannot be created because of a bound (the request gets
     * UnrecognizedClientException), or another negative code (InternalFailure). Runs on network
     * threads, after the request passed validation. */
    int (*account)(void *ctx, const char *access_key_id, sl_kinesis_t **out);
    void *account_ctx;
} sl_api_config_t;

/* Returns SL_EINVAL (after logging why) for a malformed cors_origins list. */
int sl_api_create(const sl_api_config_t *cfg, sl_api_t **out);
void sl_api_destroy(sl_api_t *api);
/* Connects a further engine (another account's) to the API's commit listeners (SubscribeToShard).
 * Call before the engine serves any request; cfg->kinesis is connected by sl_api_create. */
void sl_api_attach_kinesis(sl_api_t *api, sl_kinesis_t *k);
/* The sl_http_handler_fn to give the HTTP server (ctx = the sl_api_t). */
void sl_api_handle_http(void *ctx, sl_http_req_t *req);
/* The sl_http_error_body_fn to give the HTTP server: AWS's error shape, in the request's content
 * type, for the answers the server gives itself (413). */
void *sl_api_error_body(void *ctx, int status, const sl_http_header_t *headers, size_t header_count,
                        size_t *len, const char **content_type);

#endif
