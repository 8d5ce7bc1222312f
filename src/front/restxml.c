/* The REST-XML protocol binding (S3; front.h): what happens to a request after the router gave it
 * to a REST-XML service.
 *   1. addressing: a virtual-host request ("<bucket>.s3.<anything>" or "<bucket>.localhost" in
 *      Host) gets its bucket put in front of the path, so that path-style and virtual-host
 *      requests meet the same URI templates ("/{Bucket}/{Key+}");
 *   2. the operation: by method, URI template, the template's query parameters and the headers
 *      the input requires (rest.h: sl_front_rest_find_op_req); none = NotImplemented (501);
 *   3. SigV4 format checks and (--auth sigv4) verification; SigV2 (S3's older scheme,
 *      which boto3 still uses to presign S3 URLs) is taken with its access key id;
 *   4. the payload: aws-chunked bodies (STREAMING-* x-amz-content-sha256, Content-Encoding
 *      aws-chunked) decoded in place, each chunk signature checked against the chain under
 *      --auth sigv4, with x-amz-decoded-content-length checked; a hex
 *      x-amz-content-sha256 checked against the body (XAmzContentSHA256Mismatch);
 *      UNSIGNED-PAYLOAD taken as is;
 *   5. the members from the URI, query and headers (call->in) and the account hook;
 *   6. the handler, with call->body the decoded payload.
 * Errors are S3's <Error> document with its status. Bodies are the net layer's buffered body
 * (bounded by --body-max-bytes), except those of the operations the service streams (S3's
 * PutObject and UploadPart: sl_front_stream_body chooses them at the head), whose payload the
 * handler reads as it arrives (step 4 then only prepares it: restbody.c). */
#include "front/internal.h"

#include "core/log.h"
#include "core/time.h"
#include "wire/awserror.h"
#include "front/rest.h"
#include "wire/awschunked.h"
#include "wire/sigv4.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void fail(const front_req_t *rq, int status, const char *code, const char *message) {
    sl_front_send_xml_error(rq->req, rq->request_id, rq->origin, status, code, message, NULL, NULL);
}

/* The bucket named by a virtual-host Host header, or NULL (path style). */
static const char *virtual_host_bucket(sl_http_req_t *req) {
    const char *host = sl_front_header(req, "host");
    if (!host || host[0] == '[') return NULL; /* none, or an IPv6 literal */
    size_t n = strcspn(host, ":");
    char *h = sl_arena_strndup(req->arena, host, n);
    if (!h) return NULL;
    for (char *p = h; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    char *cut = strstr(h, ".s3.");
    if (!cut) cut = strstr(h, ".s3-");
    if (!cut && n > 10 && strcmp(h + n - 10, ".localhost") == 0) cut = h + n - 10;
    if (!cut || cut == h) return NULL;
    *cut = 0;
    return h;
}

/* The request target as the URI templates see it: "/<bucket><path>" for virtual-host requests,
 * and "/bucket/" (a bucket with an empty key, as some clients write bucket operations) as
 * "/bucket". */
static const char *effective_target(sl_http_req_t *req) {
    const char *path = req->path;
    const char *bucket = virtual_host_bucket(req);
    if (bucket) {
        size_t n = strlen(bucket) + strlen(path) + 2;
        char *t = sl_arena_alloc(req->arena, n);
        if (!t) return NULL;
        snprintf(t, n, "/%s%s", bucket, path);
        path = t;
    }
    size_t plen = strcspn(path, "?");
    const char *slash = plen > 1 ? memchr(path + 1, '/', plen - 1) : NULL;
    if (slash && slash == path + plen - 1) {
        size_t n = strlen(path);
        char *t = sl_arena_alloc(req->arena, n);
        if (!t) return NULL;
        memcpy(t, path, plen - 1);
        memcpy(t + plen - 1, path + plen, n - plen + 1);
        path = t;
    }
    return path;
}

/* The buffered path's chunk-signature check (the streamed one is restbody.c's): the whole-body
 * decoder's callbacks, and the trailers it saw for the trailer's signature. */
typedef struct {
    sl_front_chunk_check_t *check;
    sl_arena_t *arena;
    sl_front_trailers_t trailers;
} buffered_check_t;

static int on_chunk(void *ctx, const char *signature, size_t signature_len, const uint8_t *data,
                    size_t len) {
    sl_front_chunk_check_t *c = ((buffered_check_t *)ctx)->check;
    if (signature && signature_len != 64) return -1;
    if (!c->verify) return 0;
    char given[65], expected[65];
    if (!signature) {
        c->mismatch = true; /* a signed payload with an unsigned chunk */
        return -1;
    }
    memcpy(given, signature, 64);
    given[64] = 0;
    if (sl_sigv4_chunk_signature_hex(c->key, c->amz_date, c->auth->date, c->auth->region,
                                     c->auth->service, c->previous, data, len, expected) != 0 ||
        !sl_sigv4_equal(expected, given)) {
        c->mismatch = true;
        return -1;
    }
    memcpy(c->previous, given, sizeof given);
    return 0;
}

static int on_trailer(void *ctx, const char *name, size_t name_len, const char *value,
                      size_t value_len) {
    buffered_check_t *b = ctx;
    return sl_front_trailer_take(&b->trailers, b->arena, name, name_len, value, value_len);
}

static bool is_hex64(const char *s) {
    if (strlen(s) != 64) return false;
    for (const char *p = s; *p; p++)
        if (!isxdigit((unsigned char)*p)) return false;
    return true;
}

/* A plain payload's x-amz-content-sha256 must be a hex SHA-256 (or UNSIGNED-PAYLOAD, or a
 * STREAMING-* mode); false after answering S3's error. */
static bool payload_hash_form_ok(const front_req_t *rq, const char *sha) {
    if (!sha || strcmp(sha, "UNSIGNED-PAYLOAD") == 0 || strncmp(sha, "STREAMING-", 10) == 0 ||
        is_hex64(sha))
        return true;
    fail(rq, 400, "InvalidArgument",
         "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-"
         "TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-"
         "PAYLOAD-TRAILER, STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD, STREAMING-AWS4-"
         "ECDSA-P256-SHA256-PAYLOAD-TRAILER or a valid sha256 value.");
    return false;
}

/* Step 4: decodes the payload in place; false after answering an error. */
static bool decode_payload(const front_req_t *rq, sl_front_chunk_check_t *check,
                           const uint8_t **body, size_t *body_len) {
    sl_http_req_t *req = rq->req;
    const char *sha = sl_front_header(req, "x-amz-content-sha256");
    const char *enc = sl_front_header(req, "content-encoding");
    bool chunked =
        (sha && strncmp(sha, "STREAMING-", 10) == 0) || (enc && strstr(enc, "aws-chunked") != NULL);
    *body = req->body;
    *body_len = req->body_len;
    if (chunked) {
        buffered_check_t bc = {.check = check, .arena = req->arena};
        sl_awschunked_cbs_t cbs = {.on_chunk = on_chunk, .on_trailer = on_trailer, .ctx = &bc};
        size_t out_len;
        const char *reason;
        uint8_t *data = (uint8_t *)req->body; /* the net layer's own buffer, writable */
        int drc = req->body_len
                      ? sl_awschunked_decode(data, req->body_len, data, &out_len, &cbs, &reason)
                      : SL_EINVAL;
        if (drc != 0 && check->mismatch) {
            fail(rq, 403, "SignatureDoesNotMatch",
                 "The request signature we calculated does not match the signature you provided. "
                 "Check your key and signing method.");
            return false;
        }
        if (drc != 0) {
            char msg[160];
            snprintf(msg, sizeof msg, "The aws-chunked body is malformed: %s.",
                     req->body_len ? reason : "empty body");
            fail(rq, 400, "InvalidRequest", msg);
            return false;
        }
        const char *decoded = sl_front_header(req, "x-amz-decoded-content-length");
        char *end = NULL;
        unsigned long long want = decoded ? strtoull(decoded, &end, 10) : 0;
        if (decoded && (end == decoded || *end || want != out_len)) {
            fail(rq, 400, "IncompleteBody",
                 "You did not provide the number of bytes specified by the "
                 "x-amz-decoded-content-length HTTP header");
            return false;
        }
        if (!sl_front_trailers_verified(check, &bc.trailers, req->arena)) {
            fail(rq, 403, "SignatureDoesNotMatch",
                 "The request signature we calculated does not match the signature you provided. "
                 "Check your key and signing method.");
            return false;
        }
        *body_len = out_len;
        return true;
    }
    if (sha && strcmp(sha, "UNSIGNED-PAYLOAD") != 0) {
        if (!payload_hash_form_ok(rq, sha)) return false;
        char got[65];
        sl_sigv4_sha256_hex(req->body, req->body_len, got);
        if (strcasecmp(got, sha) != 0) {
            fail(rq, 400, "XAmzContentSHA256Mismatch",
                 "The provided 'x-amz-content-sha256' header does not match what was computed.");
            return false;
        }
    }
    return true;
}

/* A failed signature check (auth.c names it with the JSON protocols' types) as S3 answers it. */
static void fail_verify(const front_req_t *rq, int rc, const char *etype, const char *emsg) {
    if (rc != SL_EINVAL || !etype) {
        fail(rq, 500, "InternalError", "We encountered an internal error. Please try again.");
    } else if (strcmp(etype, SL_AWS_INVALID_SIGNATURE) == 0) {
        fail(rq, 403, "SignatureDoesNotMatch", emsg);
    } else if (strcmp(etype, SL_AWS_UNRECOGNIZED_CLIENT) == 0) {
        fail(rq, 403, "InvalidAccessKeyId",
             "The AWS Access Key Id you provided does not exist in our records.");
    } else if (strstr(etype, "Expired")) {
        fail(rq, 400, "ExpiredToken", emsg);
    } else {
        fail(rq, 403, "AccessDenied", emsg);
    }
}

/* The value of query parameter `name` (still percent-encoded) in the arena, or NULL. */
static const char *query_param(const char *query, const char *name, sl_arena_t *arena) {
    size_t n = strlen(name);
    for (const char *q = query; q && *q;) {
        size_t k = strcspn(q, "&");
        if (k > n && q[n] == '=' && memcmp(q, name, n) == 0)
            return sl_arena_strndup(arena, q + n + 1, k - n - 1);
        q += k;
        if (*q == '&') q++;
    }
    return NULL;
}

const char *sl_front_sigv2(const char *authorization, const char *query, sl_arena_t *arena) {
    if (authorization && strncmp(authorization, "AWS ", 4) == 0) {
        const char *key = authorization + 4, *colon = strchr(key, ':');
        if (!colon || colon == key || !colon[1]) return NULL;
        return sl_arena_strndup(arena, key, (size_t)(colon - key));
    }
    if (authorization || !query_param(query, "Signature", arena)) return NULL;
    const char *key = query_param(query, "AWSAccessKeyId", arena);
    return key && *key ? key : NULL;
}

void sl_front_handle_rest_xml(front_req_t *rq) {
    sl_http_req_t *req = rq->req;
    const sl_front_service_t *svc = &rq->svc->svc;
    /* 1. addressing */
    const char *target = effective_target(req);
    if (!target) {
        fail(rq, 500, "InternalError", "We encountered an internal error. Please try again.");
        return;
    }
    /* 2. the operation */
    const sl_op_t *op = sl_front_rest_find_op_req(svc->model, req, target);
    if (!op) {
        fail(rq, 501, "NotImplemented",
             "A header you provided implies functionality that is not implemented");
        return;
    }
    /* 3. authentication: SigV4's form, then (--auth sigv4) the signature (auth.c), with S3's
     * rules (the descriptor's sigv4_unsigned_payload) and over the raw body, before any aws-chunked
     * decoding; the chunk signatures are verified while decoding (on_chunk above) */
    const char *query = strchr(req->path, '?');
    bool has_date = sl_http_req_header(req, "x-amz-date") || sl_http_req_header(req, "date");
    sl_sigv4_auth_t auth = {0};
    const char *etype = NULL, *emsg = NULL;
    const char *authz = sl_front_header(req, "authorization");
    auth.access_key_id = sl_front_sigv2(authz, query ? query + 1 : NULL, req->arena);
    if (auth.access_key_id && rq->front->verify) {
        fail(rq, 403, "AccessDenied",
             "SigV2 signatures are not accepted with --auth sigv4: sign with SigV4.");
        return;
    }
    if (!auth.access_key_id && sl_sigv4_check(authz, query ? query + 1 : NULL, has_date, req->arena,
                                              &auth, &etype, &emsg) != 0) {
        bool missing = etype && strstr(etype, "Missing") != NULL;
        fail(rq, missing ? 403 : 400, missing ? "AccessDenied" : "AuthorizationHeaderMalformed",
             emsg ? emsg : "The authorization header is malformed.");
        return;
    }
    sl_front_audit_note(req, op, NULL, auth.access_key_id, NULL);
    const sl_front_principal_t *principal = NULL;
    /* A streamed payload (the server's stream_body hook chose it at the head) is checked as it
     * arrives (restbody.c); its signature covers the payload hash the client announced, which
     * the arriving body is then held to (as S3 does). */
    bool streamed = req->body_streamed;
    const char *sha = sl_front_header(req, "x-amz-content-sha256");
    sl_sigv4_auth_t *kept = streamed ? sl_arena_alloc(req->arena, sizeof *kept) : NULL;
    if (streamed && !kept) {
        fail(rq, 500, "InternalError", "We encountered an internal error. Please try again.");
        return;
    }
    if (kept) *kept = auth;
    sl_front_chunk_check_t check = {.auth = kept ? kept : &auth};
    if (streamed && !payload_hash_form_ok(rq, sha)) return;
    if (rq->front->verify) {
        char body_hash[65];
        if (!streamed)
            sl_sigv4_sha256_hex(req->body, req->body_len, body_hash);
        else
            snprintf(body_hash, sizeof body_hash, "%s", sha ? sha : "UNSIGNED-PAYLOAD");
        int vrc = sl_front_verify_key(rq->front, req, svc, &auth, body_hash, sl_time_now_ms(),
                                      &principal, &etype, &emsg, check.key);
        if (vrc) {
            fail_verify(rq, vrc, etype, emsg);
            return;
        }
        check.amz_date = sl_front_header(req, "x-amz-date");
        check.verify = !auth.from_query && check.amz_date && sha &&
                       strncmp(sha, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", 34) == 0;
        check.trailer_signed =
            check.verify && strcmp(sha, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER") == 0;
        snprintf(check.previous, sizeof check.previous, "%s", auth.signature);
    }
    /* 4. the payload (buffered: decoded now; streamed: prepared for the handler's reading) */
    const uint8_t *body = NULL;
    size_t body_len = 0;
    if (!streamed) {
        bool decoded = decode_payload(rq, &check, &body, &body_len);
        memset(check.key, 0, sizeof check.key);
        if (!decoded) return;
    }
    /* 5. members and the account */
    sl_val_t *doc = NULL;
    sl_front_error_t derr = {0};
    if (sl_front_rest_decode_members(op, req, target, req->arena, &doc, &derr) != 0) {
        fail(rq, 400, "InvalidArgument", derr.message ? derr.message : "Invalid Argument");
        return;
    }
    void *account = svc->account_ctx;
    const char *account_key = principal ? principal->account_id : auth.access_key_id;
    int arc = svc->account ? svc->account(svc->account_ctx, account_key, &account) : 0;
    if (arc) {
        if (arc == SL_ELIMIT)
            fail(rq, 403, "InvalidAccessKeyId",
                 "The AWS Access Key Id you provided does not exist in our records.");
        else
            fail(rq, 500, "InternalError", "We encountered an internal error. Please try again.");
        return;
    }
    /* 5b. authorization: the principal's policies (non-admin principals, --auth sigv4) */
    const char *denied =
        sl_front_authz_denied(rq->front, svc, principal, op, doc, account, req, false);
    if (denied) {
        fail(rq, 403, "AccessDenied", denied);
        return;
    }
    /* 6. the handler */
    sl_front_op_fn fn = rq->svc->handlers[op - svc->model->ops];
    if (!fn) {
        fail(rq, 501, "NotImplemented",
             "A header you provided implies functionality that is not implemented");
        return;
    }
    sl_front_call_t *call = sl_front_new_call(rq, SL_FMT_JSON);
    if (!call) {
        fail(rq, 500, "InternalError", "We encountered an internal error. Please try again.");
        return;
    }
    call->account = account;
    call->access_key_id = auth.access_key_id;
    call->principal = principal;
    call->op = op;
    call->in = doc;
    call->body = body;
    call->body_len = body_len;
    if (streamed) {
        int prc = sl_front_body_prepare(call, &check);
        memset(check.key, 0, sizeof check.key);
        if (prc) {
            sl_front_body_abandon(call);
            fail(rq, 500, "InternalError", "We encountered an internal error. Please try again.");
            return;
        }
    }
    fn(call);
}

bool sl_front_stream_body(void *ctx, const sl_http_req_t *head) {
    sl_front_t *front = ctx;
    sl_http_req_t *req = (sl_http_req_t *)head; /* its arena takes the copies below */
    /* Cheap refusals first: this runs for every request head. Streamed operations are PUTs
     * (S3's PutObject, UploadPart); Kinesis's POSTs stop at the method. */
    if (!front->streams || strcmp(req->method, "PUT") != 0 ||
        sl_http_req_header(req, "x-amz-target"))
        return false;
    const sl_front_svc_t *fs = sl_front_route_rest_xml(front, req);
    if (!fs || !fs->svc.streamed) return false;
    const char *target = effective_target(req);
    const sl_op_t *op = target ? sl_front_rest_find_op_req(fs->svc.model, req, target) : NULL;
    if (!op || !fs->svc.streamed(op)) return false;
    /* A header-signed request verified with the body's own hash (no x-amz-content-sha256) needs
     * the whole body before its handler: buffered. */
    const char *query = strchr(req->path, '?');
    bool presigned = query && strstr(query, "X-Amz-Signature=");
    if (front->verify && !presigned && !sl_http_req_header(req, "x-amz-content-sha256"))
        return false;
    return true;
}
