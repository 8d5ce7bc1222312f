/* SigV4 verification (--auth sigv4; docs/security.md): once for every service, after the format
 * checks of wire/sigv4.c and before model validation (AWS's order, docs/architecture.md). The
 * checks and their AWS errors, in order:
 *   the request time (X-Amz-Date, else Date; the query's X-Amz-Date when presigned),
 *   the credential scope (terminator, date, region, service),
 *   the access key (UnrecognizedClientException), its session token (ExpiredTokenException),
 *   the signature (InvalidSignatureException, constant-time comparison),
 *   the clock skew (±5 minutes; presigned: until X-Amz-Expires).
 * Signing keys are derived once per (key, day, region, service) and cached per network thread,
 * so a steady client costs two SHA-256 (body, canonical request) and one HMAC per request. */
#include "front/internal.h"

#include "core/log.h"
#include "core/time.h"
#include "wire/awserror.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char signature_mismatch[] =
    "The request signature we calculated does not match the signature you provided. Check your "
    "AWS Secret Access Key and signing method. Consult the service documentation for details.";
static const char token_invalid[] = "The security token included in the request is invalid.";

/* ---- the signing-key cache (per network thread) ---- */

typedef struct {
    bool used;
    char access_key_id[SL_AUTH_ACCESS_KEY_BYTES_MAX];
    char secret[SL_AUTH_SECRET_BYTES_MAX];
    char date8[9];
    char region[64];
    char service[64];
    uint8_t key[32];
} key_entry_t;

static _Thread_local key_entry_t key_cache[SL_AUTH_KEY_CACHE_ENTRIES];

static uint32_t fnv(uint32_t h, const char *s) {
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return (h ^ 0xff) * 16777619u;
}

/* The signing key of (secret, day, region, service), from the cache or derived (and cached).
 * The secret is part of the entry: a key whose secret changed is derived again. */
static int signing_key(const char *akid, const char *secret, const char *date8, const char *region,
                       const char *service, uint8_t out[32]) {
    uint32_t h = fnv(fnv(fnv(fnv(2166136261u, akid), date8), region), service);
    key_entry_t *e = &key_cache[h % SL_AUTH_KEY_CACHE_ENTRIES];
    if (e->used && strcmp(e->access_key_id, akid) == 0 && strcmp(e->date8, date8) == 0 &&
        strcmp(e->region, region) == 0 && strcmp(e->service, service) == 0 &&
        sl_sigv4_equal(e->secret, secret)) {
        memcpy(out, e->key, 32);
        return 0;
    }
    int rc = sl_sigv4_derive_key(secret, date8, region, service, out);
    if (rc) return rc;
    if (strlen(akid) < sizeof e->access_key_id && strlen(region) < sizeof e->region &&
        strlen(service) < sizeof e->service && strlen(secret) < sizeof e->secret) {
        snprintf(e->access_key_id, sizeof e->access_key_id, "%s", akid);
        snprintf(e->secret, sizeof e->secret, "%s", secret);
        snprintf(e->date8, sizeof e->date8, "%s", date8);
        snprintf(e->region, sizeof e->region, "%s", region);
        snprintf(e->service, sizeof e->service, "%s", service);
        memcpy(e->key, out, 32);
        e->used = true;
    }
    return 0;
}

/* ---- checks ---- */

static const char *header(sl_http_req_t *req, const char *name) {
    const sl_http_header_t *h = sl_http_req_header(req, name);
    return h ? h->value : NULL; /* request headers are NUL-terminated (net layer) */
}

static int fail(sl_arena_t *arena, const char **err_type, const char **err_msg, const char *type,
                const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static int fail(sl_arena_t *arena, const char **err_type, const char **err_msg, const char *type,
                const char *fmt, ...) {
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    *err_type = type;
    *err_msg = sl_arena_strndup(arena, buf, strlen(buf));
    return *err_msg ? SL_EINVAL : SL_ENOMEM;
}

/* The request time: *amz_date (yyyymmddThhmmssZ, as signed) and *t_s. */
static int request_time(sl_http_req_t *req, const sl_sigv4_auth_t *auth, const char **amz_date,
                        int64_t *t_s, const char **err_type, const char **err_msg) {
    const char *v = auth->from_query ? auth->amz_date : header(req, "x-amz-date");
    if (v) {
        if (sl_sigv4_parse_amz_date(v, t_s) != 0)
            return fail(req->arena, err_type, err_msg, SL_AWS_INCOMPLETE_SIGNATURE,
                        "Date must be in ISO-8601 'basic format'. Got '%s'. See "
                        "http://en.wikipedia.org/wiki/ISO_8601",
                        v);
        *amz_date = v;
        return 0;
    }
    v = header(req, "date");
    if (!v || sl_sigv4_parse_http_date(v, t_s) != 0)
        return fail(req->arena, err_type, err_msg, SL_AWS_INCOMPLETE_SIGNATURE,
                    "Date must be in ISO-8601 'basic format'. Got '%s'. See "
                    "http://en.wikipedia.org/wiki/ISO_8601",
                    v ? v : "");
    char *d = sl_arena_alloc(req->arena, 17);
    if (!d) return SL_ENOMEM;
    sl_sigv4_format_amz_date(*t_s, d);
    *amz_date = d;
    return 0;
}

/* sl_front_verify; with key_out set, the request's signing key is copied there when the
 * signature holds (S3's chunk signatures chain on it). */
static int verify(const sl_front_t *front, sl_http_req_t *req, const sl_front_service_t *svc,
                  const sl_sigv4_auth_t *auth, const char *body_hash, int64_t now_ms,
                  const sl_front_principal_t **out, const char **err_type, const char **err_msg,
                  uint8_t *key_out) {
    sl_arena_t *arena = req->arena;
    const char *amz_date = NULL;
    int64_t t_s = 0;
    int rc = request_time(req, auth, &amz_date, &t_s, err_type, err_msg);
    if (rc) return rc;

    /* the credential scope */
    if (strcmp(auth->terminator, "aws4_request") != 0)
        return fail(arena, err_type, err_msg, SL_AWS_INVALID_SIGNATURE,
                    "Credential should be scoped with a valid terminator: 'aws4_request', not "
                    "'%s'. ",
                    auth->terminator);
    if (strlen(auth->date) != 8 || strncmp(auth->date, amz_date, 8) != 0)
        return fail(arena, err_type, err_msg, SL_AWS_INVALID_SIGNATURE,
                    "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of "
                    "date from HTTP: '%s' != '%.8s', from '%s'.",
                    auth->date, amz_date, amz_date);
    /* The server's region. A global service (IAM) has no region of its own: SDKs sign it for
     * us-east-1 on AWS, but for the client's region when an endpoint URL is given, so any
     * region is accepted there (it is still part of the signature). */
    if (strcmp(auth->region, front->region) != 0 && !svc->signing_region)
        return fail(arena, err_type, err_msg, SL_AWS_INVALID_SIGNATURE,
                    "Credential should be scoped to a valid region, not '%s'. ", auth->region);
    const char *service = svc->signing_name ? svc->signing_name : svc->name;
    if (strcmp(auth->service, service) != 0)
        return fail(arena, err_type, err_msg, SL_AWS_INVALID_SIGNATURE,
                    "Credential should be scoped to correct service: '%s'. ", service);

    /* the principal */
    sl_front_principal_t *p = sl_arena_alloc(arena, sizeof *p);
    if (!p) return SL_ENOMEM;
    p->session_policy[0] = '\0'; /* only the lookup of a session with a policy sets it */
    const char *token =
        auth->from_query ? auth->security_token : header(req, "x-amz-security-token");
    if (token && !*token) token = NULL;
    if (front->principal(front->principal_ctx, auth->access_key_id, token, p) != 0) {
        *err_type = SL_AWS_UNRECOGNIZED_CLIENT;
        *err_msg = token_invalid;
        return SL_EINVAL;
    }
    if ((token != NULL) != (p->session_token[0] != 0) ||
        (token && !sl_sigv4_equal(token, p->session_token))) {
        rc = SL_EINVAL;
        *err_type = SL_AWS_UNRECOGNIZED_CLIENT;
        *err_msg = token_invalid;
        goto out;
    }
    if (p->expiration_s && now_ms / 1000 >= p->expiration_s) {
        rc = SL_EINVAL;
        *err_type = SL_AWS_EXPIRED_TOKEN;
        *err_msg = "The security token included in the request is expired";
        goto out;
    }

    /* the signature: the payload hash is the body's (x-amz-content-sha256, when sent, must be
     * signed with the same value); presigned requests of services that allow it sign
     * UNSIGNED-PAYLOAD */
    sl_sigv4_req_header_t *hs = sl_arena_alloc(arena, (req->header_count + 1) * sizeof *hs);
    if (!hs) {
        rc = SL_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < req->header_count; i++)
        hs[i] = (sl_sigv4_req_header_t){req->headers[i].name, req->headers[i].name_len,
                                        req->headers[i].value, req->headers[i].value_len};
    sl_sigv4_canon_input_t cin = {
        .method = req->method,
        .target = req->path,
        .headers = hs,
        .header_count = req->header_count,
        .signed_headers = auth->signed_headers,
        .payload_hash = body_hash,
        .presigned = auth->from_query,
        .path_encoded_once = svc->sigv4_unsigned_payload,
    };
    const char *content_sha = header(req, "x-amz-content-sha256");
    if (svc->sigv4_unsigned_payload && content_sha &&
        (strcmp(content_sha, "UNSIGNED-PAYLOAD") == 0 ||
         strncmp(content_sha, "STREAMING-", 10) == 0))
        cin.payload_hash = content_sha;
    else if (svc->sigv4_unsigned_payload && auth->from_query && !content_sha)
        cin.payload_hash = "UNSIGNED-PAYLOAD";
    const char *creq;
    size_t creq_len;
    rc = sl_sigv4_canonical_request(&cin, arena, &creq, &creq_len);
    if (rc) goto out;
    uint8_t key[32];
    char expected[65];
    rc = signing_key(auth->access_key_id, p->secret, auth->date, auth->region, auth->service, key);
    if (rc == 0)
        rc = sl_sigv4_signature_hex(creq, creq_len, amz_date, auth->date, auth->region,
                                    auth->service, key, expected);
    if (rc) {
        memset(key, 0, sizeof key);
        rc = fail(arena, err_type, err_msg, SL_AWS_INCOMPLETE_SIGNATURE,
                  "The credential scope is too long.");
        goto out;
    }
    /* A presigned request is a URL: SDKs presign it without the body (botocore hashes an empty
     * payload, S3 clients sign UNSIGNED-PAYLOAD), so its body is not covered unless the client
     * signed it; the signed headers and query still fix the operation. */
    static const char *const presigned_payloads[] = {
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "UNSIGNED-PAYLOAD"};
    for (size_t i = 0; auth->from_query && i < SL_ARRAY_LEN(presigned_payloads) &&
                       !sl_sigv4_equal(expected, auth->signature);
         i++) {
        cin.payload_hash = presigned_payloads[i];
        rc = sl_sigv4_canonical_request(&cin, arena, &creq, &creq_len);
        if (rc == 0)
            rc = sl_sigv4_signature_hex(creq, creq_len, amz_date, auth->date, auth->region,
                                        auth->service, key, expected);
        if (rc) break;
    }
    if (rc == 0 && key_out && sl_sigv4_equal(expected, auth->signature))
        memcpy(key_out, key, sizeof key);
    memset(key, 0, sizeof key);
    if (rc) goto out;
    if (!sl_sigv4_equal(expected, auth->signature)) {
        /* At debug level the canonical request shows a client author what was signed (AWS
         * shows it in the message of some services); not when it holds a session token. */
        if (strstr(auth->signed_headers, "x-amz-security-token") || auth->security_token)
            SL_DEBUG("auth: signature mismatch for %s (canonical request not shown: it holds a "
                     "session token)",
                     auth->access_key_id);
        else
            SL_DEBUG("auth: signature mismatch for %s; canonical request:\n%s", auth->access_key_id,
                     creq);
        rc = SL_EINVAL;
        *err_type = SL_AWS_INVALID_SIGNATURE;
        *err_msg = signature_mismatch;
        goto out;
    }

    /* the clock: ±5 minutes (presigned: from X-Amz-Date until X-Amz-Expires) */
    int64_t now_s = now_ms / 1000, skew_s = SL_AUTH_SKEW_MS / 1000;
    int64_t latest = t_s + skew_s;
    if (auth->from_query && auth->expires) {
        char *end;
        long long e = strtoll(auth->expires, &end, 10);
        if (*end || end == auth->expires || e < 1 || e > SL_AUTH_PRESIGN_EXPIRES_MAX_S) {
            rc = fail(arena, err_type, err_msg, SL_AWS_INCOMPLETE_SIGNATURE,
                      "X-Amz-Expires must be between 1 and %d seconds, not '%s'.",
                      SL_AUTH_PRESIGN_EXPIRES_MAX_S, auth->expires);
            goto out;
        }
        latest = t_s + e;
    }
    char t_txt[17], now_txt[17], bound_txt[17];
    if (now_s > latest) {
        sl_sigv4_format_amz_date(t_s, t_txt);
        sl_sigv4_format_amz_date(now_s, now_txt);
        sl_sigv4_format_amz_date(now_s - (latest - t_s), bound_txt);
        rc = fail(arena, err_type, err_msg, SL_AWS_INVALID_SIGNATURE,
                  "Signature expired: %s is now earlier than %s (%s - 5 min.)", t_txt, bound_txt,
                  now_txt);
        goto out;
    }
    if (t_s > now_s + skew_s) {
        sl_sigv4_format_amz_date(t_s, t_txt);
        sl_sigv4_format_amz_date(now_s, now_txt);
        sl_sigv4_format_amz_date(now_s + skew_s, bound_txt);
        rc = fail(arena, err_type, err_msg, SL_AWS_INVALID_SIGNATURE,
                  "Signature not yet current: %s is still later than %s (%s + 5 min.)", t_txt,
                  bound_txt, now_txt);
        goto out;
    }
out:
    memset(p->secret, 0, sizeof p->secret);
    if (rc == 0) *out = p;
    return rc;
}

int sl_front_verify(const sl_front_t *front, sl_http_req_t *req, const sl_front_service_t *svc,
                    const sl_sigv4_auth_t *auth, const char *body_hash, int64_t now_ms,
                    const sl_front_principal_t **out, const char **err_type, const char **err_msg) {
    return verify(front, req, svc, auth, body_hash, now_ms, out, err_type, err_msg, NULL);
}

int sl_front_verify_key(const sl_front_t *front, sl_http_req_t *req, const sl_front_service_t *svc,
                        const sl_sigv4_auth_t *auth, const char *body_hash, int64_t now_ms,
                        const sl_front_principal_t **out, const char **err_type,
                        const char **err_msg, uint8_t key_out[32]) {
    int rc = verify(front, req, svc, auth, body_hash, now_ms, out, err_type, err_msg, key_out);
    if (rc) memset(key_out, 0, 32);
    return rc;
}
