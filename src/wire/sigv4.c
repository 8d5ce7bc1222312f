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

#include <string.h>

typedef struct {
    const char *ptr;
    size_t len;
    bool found;
    int occurrences;
} param_t;

static bool is_trim_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

/* ---- header form ---- */

static const char *const header_params[3] = {"Credential", "Signature", "SignedHeaders"};

static void parse_header(const char *h, param_t out[3]) {
    memset(out, 0, 3 * sizeof *out);
    const char *p = h;
    bool first = true;
    for (;;) {
        const char *tok = p;
        while (*p && *p != ',' && *p != ' ') p++;
        const char *tok_end = p;
        if (!first) {
            while (tok < tok_end && is_trim_space(*tok)) tok++;
            while (tok_end > tok && is_trim_space(tok_end[-1])) tok_end--;
            if (tok < tok_end) {
                const char *eq = memchr(tok, '=', (size_t)(tok_end - tok));
                const char *name_end = eq ? eq : tok_end;
                const char *val = NULL, *val_end = NULL;
                if (eq) {
                    val = eq + 1;
                    val_end = memchr(val, '=', (size_t)(tok_end - val));
                    if (!val_end) val_end = tok_end;
                }
                for (int i = 0; i < 3; i++) {
                    size_t n = strlen(header_params[i]);
                    if ((size_t)(name_end - tok) == n && memcmp(tok, header_params[i], n) == 0) {
                        out[i].found = val != NULL && val_end > val;
                        out[i].ptr = val;
                        out[i].len = val ? (size_t)(val_end - val) : 0;
                    }
                }
            }
        }
        first = false;
        if (!*p) break;
        p++;
    }
}

/* ---- query form ---- */

static const char *const query_params[5] = {"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature",
                                            "X-Amz-SignedHeaders", "X-Amz-Date"};

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

/* Fills out[] for the five query parameters; *has_algorithm when X-Amz-Algorithm occurs at all. */
static int parse_query(const char *q, sl_arena_t *arena, param_t out[5], bool *has_algorithm) {
    memset(out, 0, 5 * sizeof *out);
    *has_algorithm = false;
    if (!q) return 0;
    const char *p = q;
    while (*p) {
        const char *piece = p;
        while (*p && *p != '&') p++;
        const char *piece_end = p;
        if (*p) p++;
        if (piece == piece_end) continue;
        const char *eq = memchr(piece, '=', (size_t)(piece_end - piece));
        const char *key_end = eq ? eq : piece_end;
        size_t key_len;
        char *key = url_decode(arena, piece, (size_t)(key_end - piece), &key_len);
        if (!key) return SL_ENOMEM;
        for (int i = 0; i < 5; i++) {
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

/* Splits "<AKID>/<date>/<region>/<service>/aws4_request" into arena strings ("" when absent). */
static int split_credential(sl_arena_t *arena, const char *cred, size_t len, sl_sigv4_auth_t *auth) {
    const char **parts[4] = {&auth->access_key_id, &auth->date, &auth->region, &auth->service};
    size_t start = 0;
    for (int i = 0; i < 4; i++) {
        size_t end = start;
        while (end < len && cred[end] != '/') end++;
        size_t n = start < len ? end - start : 0;
        char *s = sl_arena_strndup(arena, start < len ? cred + start : "", n);
        if (!s) return SL_ENOMEM;
        *parts[i] = s;
        start = end < len ? end + 1 : len;
    }
    return 0;
}

int sl_sigv4_check(const char *authorization, const char *query, bool has_date, sl_arena_t *arena,
                   sl_sigv4_auth_t *auth, const char **err_type, const char **err_msg) {
    memset(auth, 0, sizeof *auth);
    *err_type = NULL;
    *err_msg = NULL;
    bool auth_header = authorization && authorization[0];
    param_t qp[5];
    bool auth_query;
    if (parse_query(query, arena, qp, &auth_query) != 0) return SL_ENOMEM;

    if (auth_header && auth_query) {
        *err_type = "InvalidSignatureException";
        *err_msg = "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header.";
        return SL_EINVAL;
    }
    if (!auth_header && !auth_query) {
        *err_type = "MissingAuthenticationTokenException";
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
            if (!hp[i].found) sl_buf_printf(&msg, "Authorization header requires '%s' parameter. ", header_params[i]);
        if (!has_date)
            sl_buf_append_str(&msg, "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ");
        if (msg.len) sl_buf_printf(&msg, "Authorization=%s", authorization);
        cred = hp[0].ptr, cred_len = hp[0].len;
        signature = hp[1].ptr, sig_len = hp[1].len;
        signed_headers = hp[2].ptr, sh_len = hp[2].len;
    } else {
        for (int i = 0; i < 5; i++)
            if (!qp[i].found) sl_buf_printf(&msg, "AWS query-string parameters must include '%s'. ", query_params[i]);
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
        *err_type = "IncompleteSignatureException";
        *err_msg = sl_arena_strndup(arena, msg.data, msg.len);
        sl_buf_free(&msg);
        return *err_msg ? SL_EINVAL : SL_ENOMEM;
    }
    sl_buf_free(&msg);

    auth->from_query = !auth_header;
    auth->signed_headers = sl_arena_strndup(arena, signed_headers, sh_len);
    auth->signature = sl_arena_strndup(arena, signature, sig_len);
    if (!auth->signed_headers || !auth->signature) return SL_ENOMEM;
    if (split_credential(arena, cred, cred_len, auth) != 0) return SL_ENOMEM;
    return 0;
}
