/* Sealed records (see seal.h). */
#include "kms/seal.h"

#include "core/common.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#define NONCE_AT 6
#define NONCE_BYTES 12
#define DATA_AT 18
#define TAG_BYTES 16

static const uint8_t MAGIC[4] = {0xE5, 'S', 'L', 'E'};

struct sl_kms_sealer {
    EVP_CIPHER_CTX *ctx;
    bool encrypt;
    uint8_t nonce[NONCE_BYTES]; /* sealing: the next record's */
};

int sl_kms_sealer_create(const uint8_t key[SL_KMS_SEAL_KEY_BYTES], bool encrypt,
                         sl_kms_sealer_t **out) {
    *out = NULL;
    sl_kms_sealer_t *s = calloc(1, sizeof *s);
    if (!s) return SL_ENOMEM;
    s->encrypt = encrypt;
    s->ctx = EVP_CIPHER_CTX_new();
    bool ok = s->ctx != NULL;
    if (ok && encrypt)
        ok = EVP_EncryptInit_ex(s->ctx, EVP_aes_256_gcm(), NULL, key, NULL) == 1 &&
             sl_kms_random(s->nonce, sizeof s->nonce);
    else if (ok)
        ok = EVP_DecryptInit_ex(s->ctx, EVP_aes_256_gcm(), NULL, key, NULL) == 1;
    if (!ok) {
        sl_kms_sealer_destroy(s);
        return SL_ENOMEM;
    }
    *out = s;
    return 0;
}

void sl_kms_sealer_destroy(sl_kms_sealer_t *s) {
    if (!s) return;
    EVP_CIPHER_CTX_free(s->ctx);
    OPENSSL_cleanse(s, sizeof *s);
    free(s);
}

/* The next nonce: the last 64 bits count up (big-endian), the first 32 stay random. */
static void nonce_next(uint8_t nonce[NONCE_BYTES]) {
    for (int i = NONCE_BYTES - 1; i >= 4; i--)
        if (++nonce[i] != 0) break;
}

bool sl_kms_seal(sl_kms_sealer_t *s, uint16_t generation, const uint8_t *plain, size_t len,
                 uint8_t *out) {
    if (!s->encrypt || len > (size_t)INT32_MAX) return false;
    memcpy(out, MAGIC, sizeof MAGIC);
    out[4] = (uint8_t)generation;
    out[5] = (uint8_t)(generation >> 8);
    memcpy(out + NONCE_AT, s->nonce, NONCE_BYTES);
    nonce_next(s->nonce);
    int n = 0;
    return EVP_EncryptInit_ex(s->ctx, NULL, NULL, NULL, out + NONCE_AT) == 1 &&
           (len == 0 || EVP_EncryptUpdate(s->ctx, out + DATA_AT, &n, plain, (int)len) == 1) &&
           EVP_EncryptFinal_ex(s->ctx, out + DATA_AT + len, &n) == 1 &&
           EVP_CIPHER_CTX_ctrl(s->ctx, EVP_CTRL_GCM_GET_TAG, TAG_BYTES, out + DATA_AT + len) == 1;
}

bool sl_kms_sealed(const uint8_t *data, size_t len, uint16_t *generation) {
    if (len < SL_KMS_SEAL_OVERHEAD || memcmp(data, MAGIC, sizeof MAGIC) != 0) return false;
    *generation = (uint16_t)(data[4] | data[5] << 8);
    return true;
}

bool sl_kms_open(sl_kms_sealer_t *s, uint8_t *data, size_t len, size_t *plain_len) {
    if (s->encrypt || len < SL_KMS_SEAL_OVERHEAD || len - SL_KMS_SEAL_OVERHEAD > (size_t)INT32_MAX)
        return false;
    size_t n = len - SL_KMS_SEAL_OVERHEAD;
    uint8_t stack[4096];
    uint8_t *plain = n <= sizeof stack ? stack : malloc(n);
    int got = 0;
    /* into a scratch buffer first: a record that does not authenticate stays as it was */
    bool ok =
        plain && EVP_DecryptInit_ex(s->ctx, NULL, NULL, NULL, data + NONCE_AT) == 1 &&
        EVP_CIPHER_CTX_ctrl(s->ctx, EVP_CTRL_GCM_SET_TAG, TAG_BYTES, data + DATA_AT + n) == 1 &&
        (n == 0 || EVP_DecryptUpdate(s->ctx, plain, &got, data + DATA_AT, (int)n) == 1) &&
        EVP_DecryptFinal_ex(s->ctx, plain + n, &got) == 1;
    if (ok) {
        memcpy(data, plain, n);
        *plain_len = n;
    }
    if (plain) OPENSSL_cleanse(plain, n);
    if (plain && plain != stack) free(plain);
    return ok;
}

bool sl_kms_random(uint8_t *out, size_t n) {
    return n <= (size_t)INT32_MAX && RAND_bytes(out, (int)n) == 1;
}

void sl_kms_derive_key(const uint8_t master[32], const char *label, uint8_t out[32]) {
    unsigned len = 32;
    HMAC(EVP_sha256(), master, 32, (const uint8_t *)label, strlen(label), out, &len);
}
