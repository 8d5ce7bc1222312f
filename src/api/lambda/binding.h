/* The Lambda binding (docs/functions.md): the generated model (model.c), the handlers of the
 * function operations (decode -> the functions core -> encode; REST-JSON through the generic
 * front), and the Runtime API that function processes call on a loopback port (runtime.c), whose
 * HTTP handler turns each call into a typed request of the core. The composition root registers
 * the descriptor (sl_lapi_describe) with its account hook, whose answer for a request is the
 * account's sl_lapi_account_t (functions NULL when functions are off: every operation is then
 * refused). The event-source mapping operations (esm.c) submit to the account's mappings. */
#ifndef SL_API_LAMBDA_BINDING_H
#define SL_API_LAMBDA_BINDING_H

#include "esm/esm.h"
#include "front/front.h"
#include "functions/functions.h"
#include "net/http.h"

/* Who may create and change functions (they run code on this host). The security work plugs its
 * admin check in here: it answers for the request's access key id (NULL when the request is not
 * signed). NULL hook = everyone (the server's open mode, docs/functions.md "Safety"). */
/* What the account hook answers: the account's functions and event-source mappings. */
typedef struct {
    sl_fn_account_t *functions; /* NULL with --functions off */
    sl_esm_account_t *esm;      /* NULL with --functions off */
} sl_lapi_account_t;

typedef bool (*sl_lapi_admin_fn)(void *ctx, const char *access_key_id);

/* Fills *svc with the Lambda descriptor (REST-JSON, signing name lambda). `admin` may be NULL. The
 * caller adds the account hook and registers it with sl_front_add_service. */
void sl_lapi_describe(sl_front_service_t *svc, sl_lapi_admin_fn admin, void *admin_ctx);
/* The handler of a Lambda operation (the operation table); the operations Sluice does not serve
 * answer NotImplementedException (400). */
sl_front_op_fn sl_lapi_handler(const char *op_name);

/* The event-source mapping operations (esm.c), or NULL for another operation name. */
sl_front_op_fn sl_lapi_esm_handler(const char *op_name);

/* A Runtime API request target, parsed: "/<token>/2018-06-01/runtime/invocation/next" and the
 * others (runtime.c). token and request_id point into the path (lengths given). */
typedef struct {
    sl_fn_rt_kind_t kind;
    const char *token, *request_id;
    size_t token_len, request_id_len;
} sl_lapi_rt_target_t;

/* Parses method + path (network input: any bytes give an answer). Returns false when it is not a
 * Runtime API call (404). */
bool sl_lapi_runtime_parse(const char *method, const char *path, sl_lapi_rt_target_t *out);

/* The Runtime API server's sl_http_handler_fn (ctx = the sl_functions_t): requests
 * /<environment token>/2018-06-01/runtime/... from the function processes. */
void sl_lapi_runtime_handle(void *ctx, sl_http_req_t *req);

#endif
