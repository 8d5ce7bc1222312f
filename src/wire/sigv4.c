/* SigV4 format checks (spec §1.7), in the order and with the texts AWS uses (as recorded by
 * kinesalite's connection tests): both forms present, neither present, then the missing parts of
 * the one form used, all reported together. The header form is tokenised like AWS/kinesalite:
 * split on every ',' and ' ', drop the first token (the scheme, whatever it says), trim each
 * token, name = text before the first '=', value = text up to the next '='; the last occurrence of
 * a name wins and an empty value counts as missing. Query parameters are percent-decoded ('+' is a
 * space); a parameter counts as present when it has a non-empty value or occurs more than once. */
#include "wire/sigv4.h"

#include "core/buf.h"
#include "core/common.h"
#include "core/limits.h"
#include "wire/awserror.h"

#include <string.h>

typedef struct {
    const char *ptr;
    size_t len;
    bool found;
    int occurrences;
} param_t;

static bool is_trim_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* ---- header form ---- */

#define PARAM(lit)                                                                                 \
    { lit, sizeof(lit) - 1 }
static const struct {
    const char *name;
    size_t len;
} header_params[3] = {PARAM("Credential"), PARAM("Signature"), PARAM("SignedHeaders")};
#undef PARAM

/* Tokens end at ',', ' ' or the end (so only the other blank characters are left to trim). */
static void parse_header(const char *h, param_t out[3]) {
    memset(out, 0, 3 * sizeof *out);
    const char *p = h;
    bool first = true;
    for (;;) {
        const char *tok = p;
        p += strcspn(p, ", ");
        const char *tok_end = p;
        if (!first) {
            while (tok < tok_end && is_trim_space(*tok))
                tok++;
            while (tok_end > tok && is_trim_space(tok_end[-1]))
                tok_end--;
            const char *eq = memchr(tok, '=', (size_t)(tok_end - tok));
            if (!eq) eq = tok_end;
            size_t name_len = (size_t)(eq - tok);
            int i = 0;
            while (i < 3 && (header_params[i].len != name_len ||
                             memcmp(tok, header_params[i].name, name_len) != 0))
                i++;
            if (i < 3) {
                const char *val = eq < tok_end ? eq + 1 : NULL, *val_end = NULL;
                if (val) {
                    val_end = memchr(val, '=', (size_t)(tok_end - val));
                    if (!val_end) val_end = tok_end;
                }
                out[i].found = val != NULL && val_end > val;
                out[i].ptr = val;
                out[i].len = val ? (size_t)(val_end - val) : 0;
            }
        }
        first = false;
        if (!*p) break;
        p++;
    }
}

/* ---- query form ---- */

/* The five a presigned request must carry, then two optional ones the verifier needs. */
#define QUERY_REQUIRED 5
#define QUERY_PARAMS 7
static const char *const query_params[QUERY_PARAMS] = {
    "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature",     "X-Amz-SignedHeaders",
    "X-Amz-Date",      "X-Amz-Expires",    "X-Amz-Security-Token"};

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Percent-decodes s[0..n) into the arena (malformed escapes are kept as they are). */
static char *url_decode(sl_arena_t *arena, const char *s, size_t n, size_t *len_out) {
    char *d = sl_arena_alloc(arena, n + 1);
    if (!d) return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '+') {
            d[o++] = ' ';
        } else if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
            d[o++] = (char)(hexval(s[i + 1]) << 4 | hexval(s[i + 2]));
            i += 2;
        } else {
            d[o++] = s[i];
        }
    }
    d[o] = '\0';
    *len_out = o;
    return d;
}

/* Fills out[] for the query parameters; *has_algorithm when X-Amz-Algorithm occurs at all. */
static int parse_query(const char *q, sl_arena_t *arena, param_t out[QUERY_PARAMS],
                       bool *has_algorithm) {
    memset(out, 0, QUERY_PARAMS * sizeof *out);
    *has_algorithm = false;
    if (!q) return 0;
    const char *p = q;
    while (*p) {
        const char *piece = p;
        while (*p && *p != '&')
            p++;
        const char *piece_end = p;
        if (*p) p++;
        if (piece == piece_end) continue;
        const char *eq = memchr(piece, '=', (size_t)(piece_end - piece));
        const char *key_end = eq ? eq : piece_end;
        size_t key_len;
        char *key = url_decode(arena, piece, (size_t)(key_end - piece), &key_len);
        if (!key) return SL_ENOMEM;
        for (int i = 0; i < QUERY_PARAMS; i++) {
            if (key_len != strlen(query_params[i]) || memcmp(key, query_params[i], key_len) != 0)
                continue;
            size_t vlen = 0;
            char *val = eq ? url_decode(arena, eq + 1, (size_t)(piece_end - eq - 1), &vlen)
                           : url_decode(arena, "", 0, &vlen);
            if (!val) return SL_ENOMEM;
            out[i].occurrences++;
            out[i].ptr = val;
            out[i].len = vlen;
            out[i].found = vlen > 0 || out[i].occurrences > 1;
            if (i == 0) *has_algorithm = true;
        }
    }
    return 0;
}

/* Copies src[0..n) to dst and ends it with a NUL; returns dst. */
static char *put_str(char *dst, const char *src, size_t n) {
    if (n) memcpy(dst, src, n);
    dst[n] = 0;
    return dst;
}

/* Splits "<AKID>/<date>/<region>/<service>/aws4_request" into strings of `copy` (a NUL-terminated
 * copy of it in the arena, cut at its first four '/'): "" when absent; the terminator keeps
 * whatever follows the fourth '/'. */
static void split_credential(char *copy, size_t len, sl_sigv4_auth_t *auth) {
    const char **parts[5] = {&auth->access_key_id, &auth->date, &auth->region, &auth->service,
                             &auth->terminator};
    size_t start = 0;
    for (int i = 0; i < 5; i++) {
        const char *slash = i < 4 && start < len ? memchr(copy + start, '/', len - start) : NULL;
        size_t end = slash ? (size_t)(slash - copy) : len;
        *parts[i] = copy + start; /* (start <= len: copy[len] is the NUL, "") */
        copy[end] = 0;
        start = end < len ? end + 1 : len;
    }
}

int sl_sigv4_check(const char *authorization, const char *query, bool has_date, sl_arena_t *arena,
                   sl_sigv4_auth_t *auth, const char **err_type, const char **err_msg) {
    memset(auth, 0, sizeof *auth);
    *err_type = NULL;
    *err_msg = NULL;
    bool auth_header = authorization && authorization[0];
    param_t qp[QUERY_PARAMS];
    bool auth_query;
    if (parse_query(query, arena, qp, &auth_query) != 0) return SL_ENOMEM;

    if (auth_header && auth_query) {
        *err_type = SL_AWS_INVALID_SIGNATURE;
        *err_msg = "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as "
                   "HTTP header.";
        return SL_EINVAL;
    }
    if (!auth_header && !auth_query) {
        *err_type = SL_AWS_MISSING_AUTHENTICATION_TOKEN;
        *err_msg = "Missing Authentication Token";
        return SL_EINVAL;
    }

    sl_buf_t msg = SL_BUF_INIT;
    const char *cred = NULL, *signed_headers = NULL, *signature = NULL;
    size_t cred_len = 0, sh_len = 0, sig_len = 0;
    if (auth_header) {
        param_t hp[3];
        parse_header(authorization, hp);
        for (int i = 0; i < 3; i++)
            if (!hp[i].found)
                sl_buf_printf(&msg, "Authorization header requires '%s' parameter. ",
                              header_params[i].name);
        if (!has_date)
            sl_buf_append_str(&msg, "Authorization header requires existence of either a "
                                    "'X-Amz-Date' or a 'Date' header. ");
        if (msg.len) sl_buf_printf(&msg, "Authorization=%s", authorization);
        cred = hp[0].ptr, cred_len = hp[0].len;
        signature = hp[1].ptr, sig_len = hp[1].len;
        signed_headers = hp[2].ptr, sh_len = hp[2].len;
    } else {
        for (int i = 0; i < QUERY_REQUIRED; i++)
            if (!qp[i].found)
                sl_buf_printf(&msg, "AWS query-string parameters must include '%s'. ",
                              query_params[i]);
        if (msg.len) sl_buf_append_str(&msg, "Re-examine the query-string parameters.");
        cred = qp[1].ptr, cred_len = qp[1].len;
        signature = qp[2].ptr, sig_len = qp[2].len;
        signed_headers = qp[3].ptr, sh_len = qp[3].len;
    }
    if (sl_buf_failed(&msg)) {
        sl_buf_free(&msg);
        return SL_ENOMEM;
    }
    if (msg.len) {
        *err_type = SL_AWS_INCOMPLETE_SIGNATURE;
        *err_msg = sl_arena_strndup(arena, msg.data, msg.len);
        sl_buf_free(&msg);
        return *err_msg ? SL_EINVAL : SL_ENOMEM;
    }
    sl_buf_free(&msg);

    auth->from_query = !auth_header;
    /* one arena copy of the three: the signed headers, the signature, the credential (split in
     * place) */
    char *copy = sl_arena_alloc(arena, sh_len + sig_len + cred_len + 3);
    if (!copy) return SL_ENOMEM;
    auth->signed_headers = copy = put_str(copy, signed_headers, sh_len);
    auth->signature = copy = put_str(copy + sh_len + 1, signature, sig_len);
    copy = put_str(copy + sig_len + 1, cred, cred_len);
    split_credential(copy, cred_len, auth);
    if (auth->from_query) {
        auth->amz_date = qp[4].ptr;
        auth->expires = qp[5].occurrences ? qp[5].ptr : NULL;
        auth->security_token = qp[6].occurrences ? qp[6].ptr : NULL;
    }
    return 0;
}

/* ---- signing ----
 * The canonical request is METHOD \n path \n query \n (name:value \n)* \n signed-names \n
 * payload-hash, headers lower-cased, values trimmed, sorted by name; the string to sign is the
 * algorithm, the date, the scope and the hex SHA-256 of the canonical request (AWS "Signature
 * Version 4 signing process"). Everything is built in fixed stack buffers: the client signs every
 * request. */

#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <openssl/evp.h>
#include <stdio.h>

static void to_hex(const uint8_t *d, size_t n, char *out) {
    static const char hx[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hx[d[i] >> 4];
        out[2 * i + 1] = hx[d[i] & 15];
    }
    out[2 * n] = 0;
}

void sl_sigv4_sha256_hex(const void *data, size_t len, char hex_out[65]) {
    uint8_t md[SHA256_DIGEST_LENGTH];
    SHA256(data, len, md);
    to_hex(md, sizeof md, hex_out);
}

static void hmac256(const void *key, size_t key_len, const void *msg, size_t msg_len,
                    uint8_t out[32]) {
    unsigned int n = 32;
    HMAC(EVP_sha256(), key, (int)key_len, msg, msg_len, out, &n);
}

int sl_sigv4_derive_key(const char *secret_key, const char *date8, const char *region,
                        const char *service, uint8_t key_out[32]) {
    char k[256];
    int n = snprintf(k, sizeof k, "AWS4%s", secret_key);
    if (n < 0 || (size_t)n >= sizeof k) return SL_EINVAL;
    uint8_t a[32], b[32];
    hmac256(k, (size_t)n, date8, strlen(date8), a);
    hmac256(a, 32, region, strlen(region), b);
    hmac256(b, 32, service, strlen(service), a);
    hmac256(a, 32, "aws4_request", 12, key_out);
    return 0;
}

typedef struct {
    char name[64];
    size_t name_len;
    const char *value;
    size_t value_len;
} canon_header_t;

/* Appends s[0..n) at *pos in out (capacity cap); false when it does not fit. */
static bool put(char *out, size_t cap, size_t *pos, const char *s, size_t n) {
    if (*pos + n >= cap) return false;
    memcpy(out + *pos, s, n);
    *pos += n;
    return true;
}

int sl_sigv4_sign(const sl_sigv4_sign_input_t *in, char *out, size_t out_cap) {
    if (in->header_count == 0 || in->header_count > SL_SIGV4_HEADERS_MAX ||
        strlen(in->amz_date) != 16)
        return SL_EINVAL;
    canon_header_t hs[SL_SIGV4_HEADERS_MAX];
    for (size_t i = 0; i < in->header_count; i++) {
        size_t nl = strlen(in->headers[i].name);
        if (nl == 0 || nl >= sizeof hs[i].name) return SL_EINVAL;
        for (size_t j = 0; j < nl; j++) {
            char c = in->headers[i].name[j];
            hs[i].name[j] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
        }
        hs[i].name[nl] = 0;
        hs[i].name_len = nl;
        const char *v = in->headers[i].value;
        size_t vl = strlen(v);
        while (vl && *v == ' ')
            v++, vl--;
        while (vl && v[vl - 1] == ' ')
            vl--;
        hs[i].value = v;
        hs[i].value_len = vl;
    }
    /* Insertion sort: a handful of headers. */
    for (size_t i = 1; i < in->header_count; i++) {
        canon_header_t t = hs[i];
        size_t j = i;
        while (j > 0 && strcmp(hs[j - 1].name, t.name) > 0) {
            hs[j] = hs[j - 1];
            j--;
        }
        hs[j] = t;
    }
    char signed_names[SL_SIGV4_HEADERS_MAX * 65];
    size_t sn = 0;
    for (size_t i = 0; i < in->header_count; i++) {
        if (i) signed_names[sn++] = ';';
        memcpy(signed_names + sn, hs[i].name, hs[i].name_len);
        sn += hs[i].name_len;
    }
    signed_names[sn] = 0;

    char canon[SL_SIGV4_CANON_BYTES_MAX];
    size_t cp = 0;
    bool ok = put(canon, sizeof canon, &cp, in->method, strlen(in->method)) &&
              put(canon, sizeof canon, &cp, "\n", 1) &&
              put(canon, sizeof canon, &cp, in->path, strlen(in->path)) &&
              put(canon, sizeof canon, &cp, "\n", 1) &&
              put(canon, sizeof canon, &cp, in->query ? in->query : "",
                  in->query ? strlen(in->query) : 0) &&
              put(canon, sizeof canon, &cp, "\n", 1);
    for (size_t i = 0; ok && i < in->header_count; i++)
        ok = put(canon, sizeof canon, &cp, hs[i].name, hs[i].name_len) &&
             put(canon, sizeof canon, &cp, ":", 1) &&
             put(canon, sizeof canon, &cp, hs[i].value, hs[i].value_len) &&
             put(canon, sizeof canon, &cp, "\n", 1);
    ok = ok && put(canon, sizeof canon, &cp, "\n", 1) &&
         put(canon, sizeof canon, &cp, signed_names, sn) &&
         put(canon, sizeof canon, &cp, "\n", 1) &&
         put(canon, sizeof canon, &cp, in->payload_sha256_hex, strlen(in->payload_sha256_hex));
    if (!ok) return SL_ELIMIT;
    char canon_hex[65];
    sl_sigv4_sha256_hex(canon, cp, canon_hex);

    char date8[9];
    memcpy(date8, in->amz_date, 8);
    date8[8] = 0;
    char sts[512];
    int n = snprintf(sts, sizeof sts, "AWS4-HMAC-SHA256\n%s\n%s/%s/%s/aws4_request\n%s",
                     in->amz_date, date8, in->region, in->service, canon_hex);
    if (n < 0 || (size_t)n >= sizeof sts) return SL_ELIMIT;
    uint8_t sig[32];
    hmac256(in->signing_key, 32, sts, (size_t)n, sig);
    char sig_hex[65];
    to_hex(sig, 32, sig_hex);
    n = snprintf(
        out, out_cap,
        "AWS4-HMAC-SHA256 Credential=%s/%s/%s/%s/aws4_request, SignedHeaders=%s, Signature=%s",
        in->access_key_id, date8, in->region, in->service, signed_names, sig_hex);
    if (n < 0 || (size_t)n >= out_cap) return SL_ELIMIT;
    return 0;
}

/* ---- verification ----
 * The server rebuilds the canonical request from the request as received. Everything is built in
 * the request's arena: the target, the query and the headers are bounded by the HTTP server's
 * limits, and nothing here allocates outside the arena. */

#include <openssl/crypto.h>
#include <stdlib.h>
#include <strings.h>
#include <time.h>

static bool is_unreserved(unsigned char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '~';
}

/* Appends s[0..n) percent-encoded (RFC 3986 unreserved kept; '/' kept when keep_slash). */
static void uri_encode(sl_buf_t *b, const char *s, size_t n, bool keep_slash) {
    static const char hx[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (is_unreserved(c) || (keep_slash && c == '/')) {
            sl_buf_append_byte(b, (char)c);
        } else {
            char e[3] = {'%', hx[c >> 4], hx[c & 15]};
            sl_buf_append(b, e, 3);
        }
    }
}

/* Percent-decodes s[0..n) into the arena; '+' stays '+' (RFC 3986; clients sign what they send,
 * and SDKs send spaces as %20). Malformed escapes are kept as they are. */
static char *pct_decode(sl_arena_t *arena, const char *s, size_t n, size_t *len_out) {
    char *d = sl_arena_alloc(arena, n + 1);
    if (!d) return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
            d[o++] = (char)(hexval(s[i + 1]) << 4 | hexval(s[i + 2]));
            i += 2;
        } else {
            d[o++] = s[i];
        }
    }
    d[o] = '\0';
    *len_out = o;
    return d;
}

typedef struct {
    const char *name; /* encoded, NUL-terminated (arena) */
    const char *value;
} query_pair_t;

static int cmp_pair(const void *a, const void *b) {
    const query_pair_t *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->value, y->value);
}

/* Re-encodes one decoded part into an arena string. */
static const char *encode_part(sl_arena_t *arena, const char *raw, size_t n) {
    size_t dlen;
    char *dec = pct_decode(arena, raw, n, &dlen);
    if (!dec) return NULL;
    sl_buf_t b = SL_BUF_INIT;
    uri_encode(&b, dec, dlen, false);
    const char *out =
        sl_buf_failed(&b) ? NULL : sl_arena_strndup(arena, b.data ? b.data : "", b.len);
    sl_buf_free(&b);
    return out;
}

/* The canonical query string of the raw query q[0..n) into b. */
static int canonical_query(sl_buf_t *b, const char *q, size_t n, bool presigned,
                           sl_arena_t *arena) {
    size_t count = 0;
    for (size_t i = 0; i < n; i++)
        count += q[i] == '&';
    query_pair_t *pairs = sl_arena_alloc(arena, (count + 1) * sizeof *pairs);
    if (!pairs) return SL_ENOMEM;
    size_t np = 0;
    const char *p = q, *end = q + n;
    while (p < end) {
        const char *piece = p;
        while (p < end && *p != '&')
            p++;
        const char *piece_end = p;
        if (p < end) p++;
        if (piece == piece_end) continue;
        const char *eq = memchr(piece, '=', (size_t)(piece_end - piece));
        const char *key_end = eq ? eq : piece_end;
        const char *name = encode_part(arena, piece, (size_t)(key_end - piece));
        const char *value = eq ? encode_part(arena, eq + 1, (size_t)(piece_end - eq - 1))
                               : encode_part(arena, "", 0);
        if (!name || !value) return SL_ENOMEM;
        if (presigned && strcmp(name, "X-Amz-Signature") == 0) continue;
        pairs[np++] = (query_pair_t){name, value};
    }
    qsort(pairs, np, sizeof *pairs, cmp_pair);
    for (size_t i = 0; i < np; i++) {
        if (i) sl_buf_append_byte(b, '&');
        sl_buf_append_str(b, pairs[i].name);
        sl_buf_append_byte(b, '=');
        sl_buf_append_str(b, pairs[i].value);
    }
    return 0;
}

/* Appends a header value trimmed, with runs of spaces (and tabs) collapsed to one space. */
static void append_trimmed(sl_buf_t *b, const char *v, size_t n) {
    size_t i = 0;
    while (i < n && (v[i] == ' ' || v[i] == '\t'))
        i++;
    while (n > i && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    bool space = false;
    for (; i < n; i++) {
        if (v[i] == ' ' || v[i] == '\t') {
            space = true;
            continue;
        }
        if (space) sl_buf_append_byte(b, ' ');
        space = false;
        sl_buf_append_byte(b, v[i]);
    }
}

int sl_sigv4_canonical_request(const sl_sigv4_canon_input_t *in, sl_arena_t *arena,
                               const char **out, size_t *out_len) {
    sl_buf_t b = SL_BUF_INIT;
    const char *target = in->target;
    const char *qmark = strchr(target, '?');
    size_t path_len = qmark ? (size_t)(qmark - target) : strlen(target);
    int rc = 0;

    sl_buf_append_str(&b, in->method);
    sl_buf_append_byte(&b, '\n');
    if (path_len == 0) {
        sl_buf_append_byte(&b, '/');
    } else if (in->path_encoded_once) {
        size_t dlen;
        char *dec = pct_decode(arena, target, path_len, &dlen);
        if (!dec) rc = SL_ENOMEM;
        if (dec) uri_encode(&b, dec, dlen, true);
    } else {
        uri_encode(&b, target, path_len, true);
    }
    sl_buf_append_byte(&b, '\n');
    if (rc == 0 && qmark)
        rc = canonical_query(&b, qmark + 1, strlen(qmark + 1), in->presigned, arena);
    sl_buf_append_byte(&b, '\n');

    /* Each signed header, in the order the client listed them (SDKs list them sorted). */
    const char *sh = in->signed_headers;
    while (rc == 0 && *sh) {
        const char *semi = strchr(sh, ';');
        size_t nl = semi ? (size_t)(semi - sh) : strlen(sh);
        if (nl) {
            for (size_t k = 0; k < nl; k++) {
                char c = sh[k];
                sl_buf_append_byte(&b, (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c);
            }
            sl_buf_append_byte(&b, ':');
            /* Newer SDKs (JavaScript v3) sign the HTTP/2 pseudo-header ":authority" even over
             * HTTP/1.1: its value is the Host header's (the HTTP/2 layer stores :authority as
             * host too). */
            const char *want = sh;
            size_t want_len = nl;
            if (nl == 10 && strncmp(sh, ":authority", 10) == 0) want = "host", want_len = 4;
            bool first = true;
            for (size_t i = 0; i < in->header_count; i++) {
                const sl_sigv4_req_header_t *h = &in->headers[i];
                if (h->name_len != want_len || strncasecmp(h->name, want, want_len) != 0) continue;
                if (!first) sl_buf_append_byte(&b, ',');
                first = false;
                append_trimmed(&b, h->value, h->value_len);
            }
            sl_buf_append_byte(&b, '\n');
        }
        sh += nl;
        if (*sh == ';') sh++;
    }
    sl_buf_append_byte(&b, '\n');
    sl_buf_append_str(&b, in->signed_headers);
    sl_buf_append_byte(&b, '\n');
    sl_buf_append_str(&b, in->payload_hash);
    if (rc == 0 && sl_buf_failed(&b)) rc = SL_ENOMEM;
    if (rc == 0) {
        *out = sl_arena_strndup(arena, b.data, b.len);
        *out_len = b.len;
        if (!*out) rc = SL_ENOMEM;
    }
    sl_buf_free(&b);
    return rc;
}

int sl_sigv4_signature_hex(const char *canonical_request, size_t len, const char *amz_date,
                           const char *date8, const char *region, const char *service,
                           const uint8_t signing_key[32], char hex_out[65]) {
    char creq_hex[65];
    sl_sigv4_sha256_hex(canonical_request, len, creq_hex);
    char sts[512];
    int n = snprintf(sts, sizeof sts, "AWS4-HMAC-SHA256\n%s\n%s/%s/%s/aws4_request\n%s", amz_date,
                     date8, region, service, creq_hex);
    if (n < 0 || (size_t)n >= sizeof sts) return SL_ELIMIT;
    uint8_t sig[32];
    hmac256(signing_key, 32, sts, (size_t)n, sig);
    to_hex(sig, 32, hex_out);
    return 0;
}

int sl_sigv4_chunk_signature_of_hash_hex(const uint8_t signing_key[32], const char *amz_date,
                                         const char *date8, const char *region, const char *service,
                                         const char *previous, const char *data_sha256_hex,
                                         char hex_out[65]) {
    static const char empty[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    char sts[640];
    int n =
        snprintf(sts, sizeof sts, "AWS4-HMAC-SHA256-PAYLOAD\n%s\n%s/%s/%s/aws4_request\n%s\n%s\n%s",
                 amz_date, date8, region, service, previous, empty, data_sha256_hex);
    if (n < 0 || (size_t)n >= sizeof sts) return SL_ELIMIT;
    uint8_t sig[32];
    hmac256(signing_key, 32, sts, (size_t)n, sig);
    to_hex(sig, 32, hex_out);
    return 0;
}

int sl_sigv4_chunk_signature_hex(const uint8_t signing_key[32], const char *amz_date,
                                 const char *date8, const char *region, const char *service,
                                 const char *previous, const void *data, size_t len,
                                 char hex_out[65]) {
    char data_hex[65];
    sl_sigv4_sha256_hex(data, len, data_hex);
    return sl_sigv4_chunk_signature_of_hash_hex(signing_key, amz_date, date8, region, service,
                                                previous, data_hex, hex_out);
}

int sl_sigv4_trailer_signature_hex(const uint8_t signing_key[32], const char *amz_date,
                                   const char *date8, const char *region, const char *service,
                                   const char *previous, const char *trailers_sha256_hex,
                                   char hex_out[65]) {
    char sts[640];
    int n = snprintf(sts, sizeof sts, "AWS4-HMAC-SHA256-TRAILER\n%s\n%s/%s/%s/aws4_request\n%s\n%s",
                     amz_date, date8, region, service, previous, trailers_sha256_hex);
    if (n < 0 || (size_t)n >= sizeof sts) return SL_ELIMIT;
    uint8_t sig[32];
    hmac256(signing_key, 32, sts, (size_t)n, sig);
    to_hex(sig, 32, hex_out);
    return 0;
}

struct sl_sha256 {
    EVP_MD_CTX *md;
};

sl_sha256_t *sl_sha256_create(void) {
    sl_sha256_t *h = calloc(1, sizeof *h);
    if (!h) return NULL;
    h->md = EVP_MD_CTX_new();
    if (!h->md || EVP_DigestInit_ex(h->md, EVP_sha256(), NULL) != 1) {
        sl_sha256_destroy(h);
        return NULL;
    }
    return h;
}

void sl_sha256_update(sl_sha256_t *h, const void *data, size_t len) {
    if (len) EVP_DigestUpdate(h->md, data, len);
}

void sl_sha256_final_hex(sl_sha256_t *h, char hex_out[65]) {
    uint8_t md[32];
    unsigned int n = 0;
    EVP_DigestFinal_ex(h->md, md, &n);
    to_hex(md, 32, hex_out);
    EVP_DigestInit_ex(h->md, EVP_sha256(), NULL);
}

void sl_sha256_destroy(sl_sha256_t *h) {
    if (!h) return;
    EVP_MD_CTX_free(h->md);
    free(h);
}

bool sl_sigv4_equal(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    if (la != lb) return false;
    return CRYPTO_memcmp(a, b, la) == 0;
}

static bool digits(const char *s, size_t n, int *out) {
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

static int to_epoch(int y, int mo, int d, int h, int mi, int s, int64_t *out) {
    if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60)
        return SL_EINVAL;
    struct tm tm = {.tm_year = y - 1900,
                    .tm_mon = mo - 1,
                    .tm_mday = d,
                    .tm_hour = h,
                    .tm_min = mi,
                    .tm_sec = s};
    *out = (int64_t)timegm(&tm);
    return 0;
}

int sl_sigv4_parse_amz_date(const char *s, int64_t *epoch_s) {
    int y, mo, d, h, mi, sec;
    if (!s || strlen(s) != 16 || s[8] != 'T' || s[15] != 'Z' || !digits(s, 4, &y) ||
        !digits(s + 4, 2, &mo) || !digits(s + 6, 2, &d) || !digits(s + 9, 2, &h) ||
        !digits(s + 11, 2, &mi) || !digits(s + 13, 2, &sec))
        return SL_EINVAL;
    return to_epoch(y, mo, d, h, mi, sec, epoch_s);
}

int sl_sigv4_parse_http_date(const char *s, int64_t *epoch_s) {
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    /* "Sun, 06 Nov 1994 08:49:37 GMT" */
    int d, y, h, mi, sec;
    if (!s || strlen(s) != 29 || s[3] != ',' || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' ||
        s[16] != ' ' || s[19] != ':' || s[22] != ':' || strcmp(s + 25, " GMT") != 0 ||
        !digits(s + 5, 2, &d) || !digits(s + 12, 4, &y) || !digits(s + 17, 2, &h) ||
        !digits(s + 20, 2, &mi) || !digits(s + 23, 2, &sec))
        return SL_EINVAL;
    for (int m = 0; m < 12; m++)
        if (memcmp(months + 3 * m, s + 8, 3) == 0)
            return to_epoch(y, m + 1, d, h, mi, sec, epoch_s);
    return SL_EINVAL;
}

void sl_sigv4_format_amz_date(int64_t epoch_s, char out[17]) {
    time_t t = (time_t)epoch_s;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}
