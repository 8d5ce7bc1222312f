/* REST-JSON request decoding: the first half of the next protocol binding (front.h,
 * SL_FRONT_PROTO_REST_JSON; Lambda and Kinesis Video speak it). An operation is found by method
 * and URI template (the model's http trait), and its input document is assembled from the URI
 * labels, the query string, the headers and the body, each member converted to its shape's type,
 * so that the model validator (front/validate.h) and the handlers see one document, as for AWS
 * JSON. Not routed yet: the first REST-JSON service wires these into front.c's binding table,
 * with the answers (output members in headers and the status code, errors with
 * x-amzn-ErrorType) and its path routes (sl_front_add_route's prefix routes). */
#ifndef SL_FRONT_REST_H
#define SL_FRONT_REST_H

#include "front/model.h"
#include "front/validate.h"
#include "net/http.h"
#include "wire/value.h"

#include <stdbool.h>
#include <stddef.h>

/* Does a request target (path and query string) match an operation's request URI template?
 * "{Label}" matches one non-empty path segment, "{Label+}" (greedy) the non-empty rest; the
 * template's own query part ("?versions", "?x-id=GetObject") must be present in the request's
 * query. Input from the network: any bytes give an answer. */
bool sl_front_uri_match(const char *request_uri, const char *target);

/* The operation of `model` for method and request target: among the matching templates, the one
 * with the most literal characters ("/functions/{F}/invocations" before "/functions/{F+}"), or
 * NULL. */
const sl_op_t *sl_front_rest_find_op(const sl_service_model_t *model, const char *method,
                                     const char *target);

/* As sl_front_rest_find_op for a whole request: the method is the request's, and an operation
 * matches only when the request has every header and query parameter its input requires (each
 * also counts toward the score). A template's "x-id=<Operation>" query parameter is optional (S3
 * clients whose models predate it do not send it). */
const sl_op_t *sl_front_rest_find_op_req(const sl_service_model_t *model, const sl_http_req_t *req,
                                         const char *target);

/* Builds op's input document for req (whose target matched op->request_uri): the body (a JSON
 * object, or the input's payload member: a blob or string as is, a structure as JSON), then the
 * members bound to the URI, the query string and headers (later ones win over body members of
 * the same name). Label and query values are percent-decoded; text converts to the member's type:
 * integers, doubles and booleans as written, timestamps as ISO 8601, RFC 1123 dates or epoch
 * seconds, lists from repeated query parameters or comma-separated header values, a query map
 * from every parameter no other member binds, a header map from every header with the prefix.
 * Returns 0 with *out (a map; never NULL), or -1 with *err (SerializationException, arena text).
 * The body is parsed in place (req->body must be writable and NUL-terminated, as the net layer
 * provides). */
int sl_front_rest_decode(const sl_op_t *op, sl_http_req_t *req, sl_arena_t *arena, sl_val_t **out,
                         sl_front_error_t *err);

/* As sl_front_rest_decode, for request target `target` (the path after virtual-host addressing
 * put the bucket in it), without the body: the members from the URI, query and headers only
 * (REST-XML bodies are a payload the handler reads). */
int sl_front_rest_decode_members(const sl_op_t *op, sl_http_req_t *req, const char *target,
                                 sl_arena_t *arena, sl_val_t **out, sl_front_error_t *err);

/* ISO 8601 (2026-12-06T08:00:00[.123]Z), RFC 1123 (Sun, 06 Dec 2026 08:00:00 GMT) or epoch
 * seconds (with a fraction) as ms since the epoch; false for anything else. Also the Query
 * protocol's timestamps. */
bool sl_front_parse_time(const char *s, int64_t *ms);

#endif
