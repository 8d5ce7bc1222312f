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
    sl_kinesis_t *kinesis;   /* not owned */
} sl_api_config_t;

int sl_api_create(const sl_api_config_t *cfg, sl_api_t **out);
void sl_api_destroy(sl_api_t *api);
/* The sl_http_handler_fn to give the HTTP server (ctx = the sl_api_t). */
void sl_api_handle_http(void *ctx, sl_http_req_t *req);

#endif
