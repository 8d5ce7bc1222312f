/* Streamed REST-XML payloads (front.h: sl_front_body_read): the body of an operation the service
 * streams (S3's PutObject and UploadPart) reaches the handler in pieces as the net layer receives
 * them (sl_http_body_read), decoded on the way:
 *   - aws-chunked (STREAMING-* x-amz-content-sha256, Content-Encoding aws-chunked) through the
 *     incremental decoder (wire/awschunked.h), in place: the data of a piece moves toward its
 *     start; under --auth sigv4 each chunk's signature is checked against the chain as its last
 *     byte arrives, and the trailer's (x-amz-trailer-signature) at the end; the decoded length is
 *     checked against x-amz-decoded-content-length;
 *   - a plain body whose x-amz-content-sha256 is a hex SHA-256: hashed as it arrives and compared
 *     at the end (XAmzContentSHA256Mismatch).
 * Only a piece that passed every check so far reaches the handler, and the last one only when the
 * whole payload did; an error goes to the handler's on_error, which answers it. Backpressure is
 * the net layer's: the next piece is received only after the handler gave the last one back. */
#include "front/internal.h"

#include "core/log.h"
#include "wire/awschunked.h"
#include "wire/sigv4.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* In the request's arena; the hashes are heap (freed when the payload ends). */
struct sl_front_body {
    sl_front_call_t *call;
    sl_front_body_cbs_t cbs;
    bool chunked;
    bool ended;           /* the last piece or an error went to the handler */
    sl_sha256_t *payload; /* plain body: its SHA-256, to compare with want */
    char want[65];
    bool decoded_known; /* x-amz-decoded-content-length given */
    uint64_t decoded_want, decoded;
    sl_awschunked_stream_t dec;
    sl_front_chunk_check_t check;
    sl_sha256_t *chunk; /* the current chunk's data, when signatures are verified */
    char chunk_sig[65];
    sl_front_trailers_t trailers; /* as sent, and x-amz-trailer-signature */
    /* in-place decoding of the piece being read */
    uint8_t *out;
    size_t out_len;
};

static const char msg_signature[] = "The request signature we calculated does not match the "
                                    "signature you provided. Check your key and signing method.";

static void body_release(sl_front_body_t *b) {
    sl_sha256_destroy(b->payload);
    sl_sha256_destroy(b->chunk);
    b->payload = b->chunk = NULL;
    memset(b->check.key, 0, sizeof b->check.key);
}

/* Ends the payload with S3's error. */
static void body_fail(sl_front_body_t *b, int status, const char *code, const char *message) {
    if (b->ended) return;
    b->ended = true;
    body_release(b);
    b->cbs.on_error(b->call, status, code, message);
}

/* ---- aws-chunked, incrementally ---- */

static int on_chunk(void *ctx, const char *signature, size_t signature_len, uint64_t size) {
    sl_front_body_t *b = ctx;
    (void)size;
    if (signature && signature_len != 64) return -1;
    if (!b->check.verify) return 0;
    if (!signature) {
        b->check.mismatch = true; /* a signed payload with an unsigned chunk */
        return -1;
    }
    memcpy(b->chunk_sig, signature, 64);
    b->chunk_sig[64] = 0;
    return 0;
}

static int on_data(void *ctx, const uint8_t *data, size_t len) {
    sl_front_body_t *b = ctx;
    if (b->chunk) sl_sha256_update(b->chunk, data, len);
    memmove(b->out + b->out_len, data, len); /* the data only moves toward the piece's start */
    b->out_len += len;
    b->decoded += len;
    return 0;
}

static int on_chunk_end(void *ctx) {
    sl_front_body_t *b = ctx;
    if (!b->check.verify) return 0;
    char hash[65], expected[65];
    sl_sha256_final_hex(b->chunk, hash);
    const sl_sigv4_auth_t *a = b->check.auth;
    if (sl_sigv4_chunk_signature_of_hash_hex(b->check.key, b->check.amz_date, a->date, a->region,
                                             a->service, b->check.previous, hash, expected) != 0 ||
        !sl_sigv4_equal(expected, b->chunk_sig)) {
        b->check.mismatch = true;
        return -1;
    }
    memcpy(b->check.previous, b->chunk_sig, sizeof b->chunk_sig);
    return 0;
}

int sl_front_trailer_take(sl_front_trailers_t *t, sl_arena_t *arena, const char *name,
                          size_t name_len, const char *value, size_t value_len) {
    if (name_len == 23 && strncasecmp(name, "x-amz-trailer-signature", 23) == 0) {
        if (value_len != 64 || t->has_signature) return -1;
        memcpy(t->signature, value, 64);
        t->signature[64] = 0;
        t->has_signature = true;
        return 0;
    }
    if (t->count == SL_FRONT_TRAILERS_MAX) return -1;
    char *n = sl_arena_strndup(arena, name, name_len),
         *v = sl_arena_strndup(arena, value, value_len);
    if (!n || !v) return -1;
    for (char *p = n; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    t->items[t->count++] = (sl_http_header_t){n, name_len, v, value_len};
    return 0;
}

static int on_trailer(void *ctx, const char *name, size_t name_len, const char *value,
                      size_t value_len) {
    sl_front_body_t *b = ctx;
    return sl_front_trailer_take(&b->trailers, b->call->arena, name, name_len, value, value_len);
}

static int trailer_cmp(const void *a, const void *b) {
    return strcmp(((const sl_http_header_t *)a)->name, ((const sl_http_header_t *)b)->name);
}

bool sl_front_trailer_signature_ok(const sl_front_chunk_check_t *check,
                                   const sl_http_header_t *trailers, size_t count,
                                   const char *signature, sl_arena_t *arena) {
    if (!signature) return false;
    /* "name:value\n" for each trailer, sorted by name (the signature itself left out) */
    sl_http_header_t *sorted = sl_arena_alloc(arena, (count ? count : 1) * sizeof *sorted);
    if (!sorted) return false;
    if (count) memcpy(sorted, trailers, count * sizeof *sorted);
    qsort(sorted, count, sizeof *sorted, trailer_cmp);
    sl_buf_t canon = SL_BUF_INIT;
    for (size_t i = 0; i < count; i++)
        sl_buf_printf(&canon, "%s:%s\n", sorted[i].name, sorted[i].value);
    char hash[65], expected[65];
    bool ok = !sl_buf_failed(&canon);
    if (ok) sl_sigv4_sha256_hex(canon.data ? canon.data : "", canon.len, hash);
    sl_buf_free(&canon);
    const sl_sigv4_auth_t *a = check->auth;
    ok = ok && sl_sigv4_trailer_signature_hex(check->key, check->amz_date, a->date, a->region,
                                              a->service, check->previous, hash, expected) == 0;
    return ok && sl_sigv4_equal(expected, signature);
}

bool sl_front_trailers_verified(const sl_front_chunk_check_t *check, const sl_front_trailers_t *t,
                                sl_arena_t *arena) {
    if (!check->verify || !check->trailer_signed || (!t->count && !t->has_signature)) return true;
    return sl_front_trailer_signature_ok(check, t->items, t->count,
                                         t->has_signature ? t->signature : NULL, arena);
}

/* The checks at the end of an aws-chunked payload; false after failing it. */
static bool chunked_end(sl_front_body_t *b) {
    const char *reason = NULL;
    if (sl_awschunked_stream_finish(&b->dec, &reason) != 0) {
        body_fail(b, 400, "IncompleteBody", "The request body terminated unexpectedly");
        return false;
    }
    if (b->decoded_known && b->decoded != b->decoded_want) {
        body_fail(b, 400, "IncompleteBody",
                  "You did not provide the number of bytes specified by the "
                  "x-amz-decoded-content-length HTTP header");
        return false;
    }
    if (!sl_front_trailers_verified(&b->check, &b->trailers, b->call->arena)) {
        body_fail(b, 403, "SignatureDoesNotMatch", msg_signature);
        return false;
    }
    return true;
}

/* ---- the net layer's pieces ---- */

static void net_on_data(sl_http_req_t *req, const uint8_t *data, size_t len, bool last, void *arg) {
    (void)req;
    sl_front_body_t *b = arg;
    if (b->ended) return;
    /* The piece is the handler's until sl_http_body_next (net/http.h), so it is decoded in
     * place. */
    uint8_t *piece = (uint8_t *)data;
    size_t out_len = len;
    if (b->chunked) {
        b->out = piece;
        b->out_len = 0;
        const char *reason = NULL;
        sl_awschunked_stream_cbs_t cbs = {.on_chunk = on_chunk,
                                          .on_data = on_data,
                                          .on_chunk_end = on_chunk_end,
                                          .on_trailer = on_trailer,
                                          .ctx = b};
        if (len && sl_awschunked_stream_feed(&b->dec, piece, len, &cbs, &reason) != 0) {
            if (b->check.mismatch) {
                body_fail(b, 403, "SignatureDoesNotMatch", msg_signature);
            } else {
                const char *msg =
                    sl_arena_sprintf(b->call->arena, "The aws-chunked body is malformed: %s.",
                                     reason ? reason : "bad framing");
                body_fail(b, 400, "InvalidRequest",
                          msg ? msg : "The aws-chunked body is malformed.");
            }
            return;
        }
        out_len = b->out_len;
        if (last && !chunked_end(b)) return;
    } else {
        b->decoded += len;
        if (b->payload) sl_sha256_update(b->payload, piece, len);
        if (last && b->want[0]) {
            char got[65];
            sl_sha256_final_hex(b->payload, got);
            if (strcasecmp(got, b->want) != 0) {
                body_fail(b, 400, "XAmzContentSHA256Mismatch",
                          "The provided 'x-amz-content-sha256' header does not match what was "
                          "computed.");
                return;
            }
        }
    }
    if (last) {
        b->ended = true;
        body_release(b);
        b->call->trailers = b->trailers.items;
        b->call->trailer_count = b->trailers.count;
    } else if (out_len == 0) {
        sl_http_body_next(b->call->req); /* only framing in this piece */
        return;
    }
    b->cbs.on_data(b->call, piece, out_len, last);
}

static void net_on_error(sl_http_req_t *req, int code, void *arg) {
    (void)req;
    sl_front_body_t *b = arg;
    if (code == SL_ETIMEDOUT)
        body_fail(b, 400, "RequestTimeout",
                  "Your socket connection to the server was not read from or written to within "
                  "the timeout period. Idle connections will be closed.");
    else
        body_fail(b, 400, "IncompleteBody",
                  "You did not provide the number of bytes specified by the Content-Length HTTP "
                  "header");
}

/* ---- the handler's side ---- */

int sl_front_body_prepare(sl_front_call_t *call, const sl_front_chunk_check_t *check) {
    sl_http_req_t *req = call->req;
    sl_front_body_t *b = sl_arena_calloc(call->arena, 1, sizeof *b);
    if (!b) return SL_ENOMEM;
    b->call = call;
    b->check = *check;
    const char *sha = sl_front_header(req, "x-amz-content-sha256");
    const char *enc = sl_front_header(req, "content-encoding");
    b->chunked =
        (sha && strncmp(sha, "STREAMING-", 10) == 0) || (enc && strstr(enc, "aws-chunked") != NULL);
    const char *decoded = sl_front_header(req, "x-amz-decoded-content-length");
    const char *length = sl_front_header(req, "content-length");
    char *end = NULL;
    call->body_length = UINT64_MAX;
    if (b->chunked) {
        sl_awschunked_stream_init(&b->dec);
        unsigned long long v = decoded ? strtoull(decoded, &end, 10) : 0;
        b->decoded_known = decoded && end != decoded && !*end;
        b->decoded_want = v;
        if (b->decoded_known) call->body_length = v;
    } else {
        unsigned long long v = length ? strtoull(length, &end, 10) : 0;
        if (length && end != length && !*end) call->body_length = v;
        if (sha && strcmp(sha, "UNSIGNED-PAYLOAD") != 0) {
            /* the form was checked before (a hex SHA-256) */
            snprintf(b->want, sizeof b->want, "%s", sha);
        }
    }
    call->body_streamed = true;
    call->sbody = b;
    return 0;
}

void sl_front_body_abandon(sl_front_call_t *call) {
    if (call && call->sbody) body_release(call->sbody);
}

void sl_front_body_read(sl_front_call_t *call, const sl_front_body_cbs_t *cbs) {
    sl_front_body_t *b = call->sbody;
    SL_ASSERT(b && cbs && cbs->on_data && cbs->on_error);
    b->cbs = *cbs;
    /* The hashes are taken only now: a handler that answers without reading the payload leaves
     * nothing to release. */
    bool no_memory = (b->chunked && b->check.verify && !(b->chunk = sl_sha256_create())) ||
                     (!b->chunked && b->want[0] && !(b->payload = sl_sha256_create()));
    sl_http_body_cbs_t net = {.on_data = net_on_data, .on_error = net_on_error, .arg = b};
    if (no_memory) {
        body_fail(b, 500, "InternalError", "We encountered an internal error. Please try again.");
        return;
    }
    if (sl_http_body_read(call->req, &net) != 0) {
        /* read twice: a programmer error, answered rather than asserted */
        SL_ERROR("front: a streamed payload was read twice");
        body_fail(b, 500, "InternalError", "We encountered an internal error. Please try again.");
    }
}

void sl_front_body_next(sl_front_call_t *call) {
    sl_http_body_next(call->req);
}
