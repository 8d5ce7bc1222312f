/* Stateless STS session credentials (session.h). The sealed payload: u8 version, u8 flags (1 =
 * role, 2 = admin), i64 expiration (LE), then NUL-terminated account id, user (or role) name,
 * role session name and secret; version 2 adds the NUL-terminated session policy. */
#include "iam/session.h"

#include "core/common.h"
#include "wire/base64.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <string.h>

#define VERSION 2
#define NONCE 12
#define TAG 16
#define PAYLOAD_MAX                                                                                \
    (2 + 8 + 16 + 2 * SL_AUTH_NAME_BYTES_MAX + 48 + SL_AUTH_SESSION_POLICY_BYTES_MAX)
#define SEALED_MAX (NONCE + PAYLOAD_MAX + TAG)

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

void sl_iam_session_key(const uint8_t master[32], uint8_t key[32]) {
    static const char label[] = "sluice sts session key v1";
    unsigned len = 32;
    HMAC(EVP_sha256(), master, 32, (const uint8_t *)label, sizeof label - 1, key, &len);
}

static bool random_text(char *out, size_t n, const char *chars, size_t nchars) {
    uint8_t b[64];
    if (n > sizeof b || RAND_bytes(b, (int)n) != 1) return false;
    for (size_t i = 0; i < n; i++)
        out[i] = chars[b[i] % nchars];
    out[n] = '\0';
    return true;
}

static size_t put_str(uint8_t *p, const char *s) {
    size_t n = strlen(s) + 1;
    memcpy(p, s, n);
    return n;
}

int sl_iam_session_issue(const uint8_t key[32], const sl_iam_session_t *s,
                         sl_iam_session_creds_t *out) {
    static const char secret_chars[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    memset(out, 0, sizeof *out);
    memcpy(out->access_key_id, "ASIA", 4);
    if (!random_text(out->access_key_id + 4, 16, alphabet, 32) ||
        !random_text(out->secret, 40, secret_chars, 64))
        return SL_EIO;
    uint8_t plain[PAYLOAD_MAX], sealed[SEALED_MAX];
    size_t n = 0;
    plain[n++] = VERSION;
    plain[n++] = (uint8_t)((s->role ? 1 : 0) | (s->admin ? 2 : 0));
    for (int i = 0; i < 8; i++)
        plain[n++] = (uint8_t)((uint64_t)s->expiration_s >> (8 * i));
    n += put_str(plain + n, s->account_id);
    n += put_str(plain + n, s->user_name);
    n += put_str(plain + n, s->role_session);
    n += put_str(plain + n, out->secret);
    n += put_str(plain + n, s->policy);
    if (RAND_bytes(sealed, NONCE) != 1) return SL_EIO;
    int len;
    EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
    bool ok = x && EVP_EncryptInit_ex(x, EVP_aes_256_gcm(), NULL, key, sealed) == 1 &&
              EVP_EncryptUpdate(x, NULL, &len, (const uint8_t *)out->access_key_id, 20) == 1 &&
              EVP_EncryptUpdate(x, sealed + NONCE, &len, plain, (int)n) == 1 &&
              EVP_EncryptFinal_ex(x, sealed + NONCE + n, &len) == 1 &&
              EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_GET_TAG, TAG, sealed + NONCE + n) == 1;
    EVP_CIPHER_CTX_free(x);
    memset(plain, 0, sizeof plain);
    if (!ok) return SL_EIO;
    size_t total = NONCE + n + TAG;
    static_assert(4 + (SEALED_MAX + 2) / 3 * 4 < SL_AUTH_SESSION_TOKEN_BYTES_MAX,
                  "a session token must fit SL_AUTH_SESSION_TOKEN_BYTES_MAX");
    memcpy(out->session_token, "SLS2", 4);
    sl_base64_encode(sealed, total, out->session_token + 4);
    out->session_token[4 + sl_base64_encoded_len(total)] = '\0';
    return 0;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* Copies a NUL-terminated string of the payload (at most cap bytes with the NUL). */
static bool get_str(const uint8_t *p, size_t n, size_t *off, char *dst, size_t cap) {
    const uint8_t *end = memchr(p + *off, 0, n - *off);
    if (!end || (size_t)(end - (p + *off)) + 1 > cap) return false;
    memcpy(dst, p + *off, (size_t)(end - (p + *off)) + 1);
    *off = (size_t)(end - p) + 1;
    return true;
}

int sl_iam_session_open(const uint8_t key[32], const char *access_key_id, const char *token,
                        sl_iam_session_t *s, char secret[48]) {
    size_t tlen = token ? strlen(token) : 0;
    if (!access_key_id || strlen(access_key_id) != 20 || strncmp(access_key_id, "ASIA", 4) != 0 ||
        tlen < 4)
        return SL_EINVAL;
    uint8_t sealed[SEALED_MAX], plain[PAYLOAD_MAX];
    size_t total = 0;
    int version = 0;
    if (strncmp(token, "SLS1", 4) == 0) { /* hex, a version 1 payload */
        if ((tlen - 4) % 2 || (tlen - 4) / 2 > SEALED_MAX) return SL_EINVAL;
        total = (tlen - 4) / 2;
        for (size_t i = 0; i < total; i++) {
            int hi = hexval(token[4 + 2 * i]), lo = hexval(token[4 + 2 * i + 1]);
            if (hi < 0 || lo < 0) return SL_EINVAL;
            sealed[i] = (uint8_t)(hi << 4 | lo);
        }
        version = 1;
    } else if (strncmp(token, "SLS2", 4) == 0) { /* base64, a version 2 payload */
        char bad;
        if ((tlen - 4) / 4 * 3 > SEALED_MAX ||
            sl_base64_decode(token + 4, tlen - 4, sealed, &total, &bad) != SL_B64_OK)
            return SL_EINVAL;
        version = 2;
    }
    if (total < NONCE + TAG + 2) return SL_EINVAL;
    size_t n = total - NONCE - TAG;
    int len;
    EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
    bool ok = x && EVP_DecryptInit_ex(x, EVP_aes_256_gcm(), NULL, key, sealed) == 1 &&
              EVP_DecryptUpdate(x, NULL, &len, (const uint8_t *)access_key_id, 20) == 1 &&
              EVP_DecryptUpdate(x, plain, &len, sealed + NONCE, (int)n) == 1 &&
              EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_SET_TAG, TAG, sealed + NONCE + n) == 1 &&
              EVP_DecryptFinal_ex(x, plain + n, &len) == 1;
    EVP_CIPHER_CTX_free(x);
    memset(s, 0, sizeof *s);
    size_t off = 10;
    ok = ok && n >= off && plain[0] == version;
    if (ok) {
        s->role = plain[1] & 1;
        s->admin = (plain[1] & 2) != 0;
        uint64_t e = 0;
        for (int i = 0; i < 8; i++)
            e |= (uint64_t)plain[2 + i] << (8 * i);
        s->expiration_s = (int64_t)e;
    }
    ok = ok && get_str(plain, n, &off, s->account_id, sizeof s->account_id) &&
         get_str(plain, n, &off, s->user_name, sizeof s->user_name) &&
         get_str(plain, n, &off, s->role_session, sizeof s->role_session) &&
         get_str(plain, n, &off, secret, 48) &&
         (version < 2 || get_str(plain, n, &off, s->policy, sizeof s->policy)) && off == n;
    memset(plain, 0, sizeof plain);
    return ok ? 0 : SL_EINVAL;
}
