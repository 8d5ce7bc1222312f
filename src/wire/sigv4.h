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
 * Returns 0 and fills *auth, or SL_EINVAL with *err_type (e.g.
 * "MissingAuthenticationTokenException", "IncompleteSignatureException",
 * "InvalidSignatureException") and *err_msg (arena string). SL_ENOMEM when the arena is exhausted.
 * On success every string in *auth is set (arena copies, NUL-terminated, "" for a part the
 * credential scope lacks); the scheme and the scope are not validated here (AWS reports those with
 * the signature check). */
int sl_sigv4_check(const char *authorization, const char *query, bool has_date, sl_arena_t *arena,
                   sl_sigv4_auth_t *auth, const char **err_type, const char **err_msg);

/* ---- signing (client side: `sluice bench`, later libsluice) ---- */

#include <stdint.h>

/* One header to sign: name in any case (lower-cased for signing), value trimmed of outer spaces. */
typedef struct {
    const char *name;
    const char *value;
} sl_sigv4_header_t;

typedef struct {
    const char *method; /* "POST" */
    const char *path;   /* canonical URI, already URI-encoded ("/") */
    const char *query;  /* canonical query string ("" when none), already sorted and encoded */
    const sl_sigv4_header_t *headers; /* the headers to sign (at least host and x-amz-date) */
    size_t header_count;              /* at most 32 */
    const char *payload_sha256_hex;   /* lower-case hex SHA-256 of the body (sl_sigv4_sha256_hex) */
    const char *amz_date;             /* yyyymmddThhmmssZ, the X-Amz-Date value */
    const char *access_key_id;
    const char *region;
    const char *service;        /* "kinesis" */
    const uint8_t *signing_key; /* 32 bytes from sl_sigv4_derive_key for this date/region/service */
} sl_sigv4_sign_input_t;

/* Writes the lower-case hex SHA-256 of data[0..len) and a NUL to hex_out (65 bytes). */
void sl_sigv4_sha256_hex(const void *data, size_t len, char hex_out[65]);

/* Derives the SigV4 signing key HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date8), region), service),
 * "aws4_request") into key_out (32 bytes). date8 is yyyymmdd. Returns 0 or SL_EINVAL (secret too
 * long). */
int sl_sigv4_derive_key(const char *secret_key, const char *date8, const char *region,
                        const char *service, uint8_t key_out[32]);

/* Computes the Authorization header value
 * `AWS4-HMAC-SHA256 Credential=<akid>/<date8>/<region>/<service>/aws4_request,
 * SignedHeaders=<h1;h2>, Signature=<hex>` for the request described by *in and writes it
 * NUL-terminated to out. Returns 0, SL_EINVAL (too many or empty headers, bad amz_date) or
 * SL_ELIMIT (out_cap too small). */
int sl_sigv4_sign(const sl_sigv4_sign_input_t *in, char *out, size_t out_cap);

#endif
