/* The front's router: which destination (a service, a plain route) a request goes to. Three
 * tables, filled by the composition root through sl_front_add_service / sl_front_add_route before
 * the server starts, read-only afterwards (no lock):
 *   paths:         method + path, exact or by prefix (longest prefix wins; an exact path beats a
 *                  prefix). Plain routes now (GET /health); REST-JSON services next.
 *   targets:       the X-Amz-Target prefix before the '.' (AWS JSON 1.0/1.1 and CBOR services).
 *   signing names: the SigV4 credential scope's service, for services that share a protocol and
 *                  carry no target (Query, REST-XML), and as the fallback for JSON requests whose
 *                  target prefix no service claims.
 * The front asks in that order (front.c). Pure logic on strings: no allocation, no I/O. */
#ifndef SL_FRONT_ROUTER_H
#define SL_FRONT_ROUTER_H

#include "core/limits.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    const char *key;    /* target prefix, path, or signing name (not owned: static strings) */
    const char *method; /* paths only: "GET" */
    bool prefix;        /* paths only: key is a prefix of the path */
    void *dest;
    size_t key_len; /* strlen(key), set when the route is added */
} sl_route_t;

typedef struct {
    sl_route_t paths[SL_FRONT_ROUTES_MAX];
    size_t path_count;
    sl_route_t targets[SL_FRONT_ROUTES_MAX];
    size_t target_count;
    sl_route_t signing_names[SL_FRONT_ROUTES_MAX];
    size_t signing_name_count;
} sl_router_t;

/* Each returns 0, SL_EINVAL for an empty key (or a path not starting with '/', or a NULL
 * method), SL_EEXIST when the same key (and method) is already routed, SL_ELIMIT when the table
 * holds SL_FRONT_ROUTES_MAX routes. */
int sl_router_add_path(sl_router_t *r, const char *method, const char *path, bool prefix,
                       void *dest);
int sl_router_add_target(sl_router_t *r, const char *prefix, void *dest);
int sl_router_add_signing_name(sl_router_t *r, const char *name, void *dest);

/* The destination of `method` and `path` (the request target; the query after '?' is ignored),
 * or NULL. */
void *sl_router_by_path(const sl_router_t *r, const char *method, const char *path);
/* The destination of an X-Amz-Target value ("Kinesis_20131202.PutRecord": the part before the
 * first '.'; a value without '.' matches nothing), or NULL. */
void *sl_router_by_target(const sl_router_t *r, const char *target);
/* The destination of a signing name (len bytes, not NUL-terminated), or NULL. */
void *sl_router_by_signing_name(const sl_router_t *r, const char *name, size_t len);

/* The service of a SigV4 credential scope ("Credential=AKID/20260101/us-east-1/kinesis/
 * aws4_request"): from the Authorization header, else from the query's X-Amz-Credential (where
 * '/' may be sent as %2F). Sets *name and *len and returns true when there is one; input from the
 * network, so any bytes give an answer. Only for routing: the format checks are wire/sigv4.h's. */
bool sl_router_scope_service(const char *authorization, const char *query, const char **name,
                             size_t *len);

#endif
