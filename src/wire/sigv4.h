/* SigV4 request authentication: the format checks AWS performs before anything else (header form
 * `Authorization: AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...` or the query
 * form X-Amz-Algorithm=...), with AWS's exact exception names and messages (spec §1.7). Signature
 * verification is a separate issue; the parsed parts are returned for it. */
#ifndef SL_WIRE_SIGV4_H
#define SL_WIRE_SIGV4_H

#include "core/arena.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    const char *access_key_id; /* from Credential=<AKID>/<date>/<region>/<service>/aws4_request */
    const char *date;          /* yyyymmdd from the scope */
    const char *region;
    const char *service;
    const char *signed_headers;
    const char *signature;
    bool from_query;
} sl_sigv4_auth_t;

/* authorization: value of the Authorization header or NULL (an empty value counts as absent, as in
 * kinesalite); query: the raw, still percent-encoded query string (after '?')
 * or NULL; has_date: an X-Amz-Date or Date header is present.
 * Returns 0 and fills *auth, or SL_EINVAL with *err_type (e.g. "MissingAuthenticationTokenException",
 * "IncompleteSignatureException", "InvalidSignatureException") and *err_msg (arena string).
 * SL_ENOMEM when the arena is exhausted. On success every string in *auth is set (arena copies,
 * NUL-terminated, "" for a part the credential scope lacks); the scheme and the scope are not
 * validated here (AWS reports those with the signature check). */
int sl_sigv4_check(const char *authorization, const char *query, bool has_date, sl_arena_t *arena,
                   sl_sigv4_auth_t *auth, const char **err_type, const char **err_msg);

#endif
