/* SigV4 request authentication: the format checks AWS performs before anything else (header form
 * `Authorization: AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...` or the query
 * form X-Amz-Algorithm=...), with AWS's exact exception names and messages (spec §1.7); the
 * verification steps (canonical request of a received request, string to sign, signature,
 * constant-time comparison, X-Amz-Date parsing), which the front combines with its principals and
 * its clock (front/auth.c); and signing for clients (`sluice bench`). */
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
    const char *terminator; /* the scope's fifth part ("aws4_request") */
    const char *amz_date;   /* X-Amz-Date of the query form (decoded), NULL for the header form */
    const char *expires;    /* X-Amz-Expires of the query form, NULL when absent */
    const char *security_token; /* X-Amz-Security-Token of the query form, NULL when absent */
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

/* ---- verification (server side: the front) ---- */

/* A header of the received request (the net layer's sl_http_header_t has the same layout): the
 * name lower-case, both strings NUL-terminated. */
typedef struct {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
} sl_sigv4_req_header_t;

typedef struct {
    const char *method;
    const char *target; /* the request target as received: raw path and query ("/a%20b?x=1") */
    const sl_sigv4_req_header_t *headers;
    size_t header_count;
    const char *signed_headers; /* "content-type;host;x-amz-date" from the credential */
    const char *payload_hash;   /* lower-case hex SHA-256 of the body, or UNSIGNED-PAYLOAD, ... */
    bool presigned;             /* query form: X-Amz-Signature is left out of the query */
    bool path_encoded_once;     /* S3: the path is encoded once; other services encode it twice */
} sl_sigv4_canon_input_t;

/* Builds the canonical request of a received request (AWS "Create a canonical request"): the
 * method; the URI-encoded path (every byte but the unreserved ones and '/' percent-encoded, so a
 * path received encoded is encoded a second time, as AWS does for every service but S3); the
 * query's parameters decoded, re-encoded with RFC 3986's unreserved set and sorted by name, then
 * value; each signed header with the values of all its occurrences joined by ',', trimmed and
 * with runs of spaces collapsed (a signed header the request lacks has an empty value, so the
 * signature fails); the signed header list; the payload hash. Writes an arena string to *out.
 * Returns 0 or SL_ENOMEM. */
int sl_sigv4_canonical_request(const sl_sigv4_canon_input_t *in, sl_arena_t *arena,
                               const char **out, size_t *out_len);

/* The hex signature of a canonical request: the string to sign
 * "AWS4-HMAC-SHA256\n<amz_date>\n<date8>/<region>/<service>/aws4_request\n<hex sha256(creq)>"
 * signed with signing_key (sl_sigv4_derive_key). Returns 0 or SL_ELIMIT (parts too long). */
int sl_sigv4_signature_hex(const char *canonical_request, size_t len, const char *amz_date,
                           const char *date8, const char *region, const char *service,
                           const uint8_t signing_key[32], char hex_out[65]);

/* True when the two NUL-terminated strings are equal, in time that depends only on their
 * lengths (the signature comparison: no early exit an attacker could time). */
bool sl_sigv4_equal(const char *a, const char *b);

/* The signature of one chunk of an aws-chunked body signed with STREAMING-AWS4-HMAC-SHA256-PAYLOAD
 * (S3's "Signature Calculations for the Authorization Header: Transferring Payload in Multiple
 * Chunks"): HMAC-SHA256 under the request's signing key of
 *   "AWS4-HMAC-SHA256-PAYLOAD\n" amz_date "\n" scope "\n" previous "\n" SHA256("") "\n"
 * SHA256(data) where previous is the signature before it (the request's own for the first chunk).
 * Returns 0 or SL_ELIMIT (a scope too long). */
int sl_sigv4_chunk_signature_hex(const uint8_t signing_key[32], const char *amz_date,
                                 const char *date8, const char *region, const char *service,
                                 const char *previous, const void *data, size_t len,
                                 char hex_out[65]);

/* The same from the chunk data's SHA-256 (lower-case hex), for data hashed as it arrives. */
int sl_sigv4_chunk_signature_of_hash_hex(const uint8_t signing_key[32], const char *amz_date,
                                         const char *date8, const char *region, const char *service,
                                         const char *previous, const char *data_sha256_hex,
                                         char hex_out[65]);
/* The signature of the trailer of a STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER body (S3's
 * "Signature calculations for trailing headers"), x-amz-trailer-signature: HMAC-SHA256 under the
 * signing key of "AWS4-HMAC-SHA256-TRAILER\n" amz_date "\n" scope "\n" previous "\n" followed by
 * the hex SHA-256 of the trailer lines "name:value\n" (trailers_sha256_hex), where previous is
 * the last (empty) chunk's signature. Returns 0 or SL_ELIMIT. */
int sl_sigv4_trailer_signature_hex(const uint8_t signing_key[32], const char *amz_date,
                                   const char *date8, const char *region, const char *service,
                                   const char *previous, const char *trailers_sha256_hex,
                                   char hex_out[65]);

/* An incremental SHA-256, for a body hashed as it arrives (heap; NULL when out of memory). final
 * writes the lower-case hex and a NUL, and starts the hash again (empty). */
typedef struct sl_sha256 sl_sha256_t;
sl_sha256_t *sl_sha256_create(void);
void sl_sha256_update(sl_sha256_t *h, const void *data, size_t len);
void sl_sha256_final_hex(sl_sha256_t *h, char hex_out[65]);
void sl_sha256_destroy(sl_sha256_t *h);

/* Parses an ISO 8601 basic time "yyyymmddThhmmssZ" (X-Amz-Date) into seconds since the epoch.
 * Returns 0 or SL_EINVAL. */
int sl_sigv4_parse_amz_date(const char *s, int64_t *epoch_s);
/* Parses an HTTP date ("Sun, 06 Nov 1994 08:49:37 GMT", the Date header SigV4 also accepts).
 * Returns 0 or SL_EINVAL. */
int sl_sigv4_parse_http_date(const char *s, int64_t *epoch_s);
/* Writes epoch_s as "yyyymmddThhmmssZ" and a NUL to out. */
void sl_sigv4_format_amz_date(int64_t epoch_s, char out[17]);

#endif
