/* Opaque, authenticated tokens (shard iterators and pagination NextTokens): AES-256-GCM from
 * OpenSSL, framed as base64(header | nonce | ciphertext | tag). See token.h for the format. */
#include "kinesis/token.h"

#include "core/common.h"
#include "core/limits.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <string.h>

/* 00 00 00 00 00 00 00 01 like AWS, then our token format byte. */
#define HEADER_BYTES 9
#define NONCE_BYTES 12
#define TAG_BYTES 16
#define OVERHEAD (HEADER_BYTES + NONCE_BYTES + TAG_BYTES)
#define RAW_MAX (OVERHEAD + SL_TOKEN_PLAIN_MAX)
#define RAW_BUF (SL_TOKEN_ENCODED_LEN(SL_TOKEN_PLAIN_MAX) / 4 * 3)

/* What a token is for; authenticated as part of the AAD but never transmitted. */
enum { PURPOSE_GENERIC = 'T', PURPOSE_ITERATOR = 'I' };

/* Iterator plaintext layout version, first byte of the plaintext. */
#define ITERATOR_FORMAT 1

/* The format byte is below 0x40 so the 11th base64 character is always 'E' (AWS-like prefix
 * "AAAAAAAAAAE"), whatever the random nonce that follows. */
static const uint8_t header[HEADER_BYTES] = {0, 0, 0, 0, 0, 0, 0, 1, 1};

int sl_token_key_generate(uint8_t key[32]) {
    return RAND_bytes(key, SL_TOKEN_KEY_BYTES) == 1 ? 0 : SL_EIO;
}

static int seal(const uint8_t key[32], uint8_t purpose, const void *plain, size_t n, char *out,
                size_t cap) {
    SL_ASSERT(key && out && (plain || n == 0));
    if (n > SL_TOKEN_PLAIN_MAX) return SL_ELIMIT;
    size_t raw_len = OVERHEAD + n;
    size_t enc_len = SL_TOKEN_ENCODED_LEN(n);
    if (cap < enc_len + 1) return SL_ELIMIT;

    uint8_t raw[RAW_MAX];
    uint8_t aad[HEADER_BYTES + 1];
    memcpy(raw, header, HEADER_BYTES);
    memcpy(aad, header, HEADER_BYTES);
    aad[HEADER_BYTES] = purpose;
    uint8_t *nonce = raw + HEADER_BYTES;
    uint8_t *ct = nonce + NONCE_BYTES;
    uint8_t *tag = ct + n;
    if (RAND_bytes(nonce, NONCE_BYTES) != 1) return SL_EIO;

    int rc = SL_EIO;
    int outl = 0;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (!ctx) return SL_ENOMEM;
    if (EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce) != 1) goto done;
    if (EVP_EncryptUpdate(ctx, NULL, &outl, aad, (int)sizeof aad) != 1) goto done;
    if (n > 0 && EVP_EncryptUpdate(ctx, ct, &outl, plain, (int)n) != 1) goto done;
    if (EVP_EncryptFinal_ex(ctx, ct + n, &outl) != 1) goto done;
    if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_BYTES, tag) != 1) goto done;
    int written = EVP_EncodeBlock((unsigned char *)out, raw, (int)raw_len);
    SL_ASSERT(written == (int)enc_len);
    rc = written;
done:
    EVP_CIPHER_CTX_free(ctx);
    return rc;
}

static bool b64_char_ok(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

/* Strict, canonical base64 decode of a token into raw; returns the raw length or SL_EINVAL. */
/* raw must hold RAW_BUF bytes: EVP_DecodeBlock writes 3 bytes per 4 characters, padding included.
 */
static int b64_decode_strict(const char *s, size_t len, uint8_t raw[RAW_BUF]) {
    if (len == 0 || len % 4 != 0 || len > SL_TOKEN_ENCODED_LEN(SL_TOKEN_PLAIN_MAX))
        return SL_EINVAL;
    size_t pad = 0;
    if (s[len - 1] == '=') pad = s[len - 2] == '=' ? 2 : 1;
    for (size_t i = 0; i < len - pad; i++)
        if (!b64_char_ok(s[i])) return SL_EINVAL;
    int n = EVP_DecodeBlock(raw, (const unsigned char *)s, (int)len);
    if (n < 0) return SL_EINVAL;
    n -= (int)pad;
    if (n < OVERHEAD) return SL_EINVAL;
    /* Reject non-canonical encodings (set unused bits in the last character) by re-encoding, so
     * that every character of a token is covered by the authentication tag. */
    char again[SL_TOKEN_ENCODED_LEN(SL_TOKEN_PLAIN_MAX) + 1];
    int m = EVP_EncodeBlock((unsigned char *)again, raw, n);
    if (m != (int)len || memcmp(again, s, len) != 0) return SL_EINVAL;
    return n;
}

static int open_token(const uint8_t key[32], uint8_t purpose, const char *s, size_t len,
                      void *plain, size_t cap, size_t *n_out) {
    SL_ASSERT(key && n_out && (plain || cap == 0));
    if (!s) return SL_EINVAL;
    if (len >= 2 && s[0] == '"' && s[len - 1] == '"') {
        s++;
        len -= 2;
    }
    uint8_t raw[RAW_BUF];
    int raw_len = b64_decode_strict(s, len, raw);
    if (raw_len < 0) return raw_len;
    if (memcmp(raw, header, HEADER_BYTES) != 0) return SL_EINVAL;
    size_t n = (size_t)raw_len - OVERHEAD;
    if (n > SL_TOKEN_PLAIN_MAX) return SL_EINVAL; /* never sealed by us */
    if (n > cap) return SL_ELIMIT;

    uint8_t aad[HEADER_BYTES + 1];
    memcpy(aad, header, HEADER_BYTES);
    aad[HEADER_BYTES] = purpose;
    uint8_t *nonce = raw + HEADER_BYTES;
    uint8_t *ct = nonce + NONCE_BYTES;
    uint8_t *tag = ct + n;
    uint8_t out[SL_TOKEN_PLAIN_MAX + 16];

    int rc = SL_EINVAL;
    int outl = 0;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (!ctx) return SL_ENOMEM;
    if (EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce) != 1) goto done;
    if (EVP_DecryptUpdate(ctx, NULL, &outl, aad, (int)sizeof aad) != 1) goto done;
    if (n > 0 && EVP_DecryptUpdate(ctx, out, &outl, ct, (int)n) != 1) goto done;
    if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_BYTES, tag) != 1) goto done;
    if (EVP_DecryptFinal_ex(ctx, out + n, &outl) != 1) goto done; /* tag mismatch */
    if (n > 0) memcpy(plain, out, n);
    *n_out = n;
    rc = 0;
done:
    OPENSSL_cleanse(out, sizeof out);
    EVP_CIPHER_CTX_free(ctx);
    return rc;
}

int sl_token_seal(const uint8_t key[32], const void *plain, size_t n, char *out, size_t cap) {
    return seal(key, PURPOSE_GENERIC, plain, n, out, cap);
}

int sl_token_open(const uint8_t key[32], const char *s, size_t len, void *plain, size_t cap,
                  size_t *n_out) {
    return open_token(key, PURPOSE_GENERIC, s, len, plain, cap, n_out);
}

static void put_be(uint8_t *p, uint64_t v, int bytes) {
    for (int i = bytes - 1; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

static uint64_t get_be(const uint8_t *p, int bytes) {
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v = (v << 8) | p[i];
    return v;
}

/* Iterator plaintext: format(1) name_len(1) name stream_created_ms(8) shard_index(4)
 * position(8) issued_ms(8), integers big-endian. */
#define ITERATOR_FIXED (1 + 1 + 8 + 4 + 8 + 8)
/* An iterator for the longest stream name is sealed and still a valid ShardIterator. */
static_assert(ITERATOR_FIXED + SL_NAME_CHARS_MAX <= SL_TOKEN_PLAIN_MAX,
              "iterator plaintext too long");
static_assert(SL_TOKEN_ENCODED_LEN(ITERATOR_FIXED + SL_NAME_CHARS_MAX) <=
                  SL_TOKEN_ITERATOR_CHARS_MAX,
              "iterator token too long");

int sl_iterator_encode(const uint8_t key[32], const sl_iterator_t *it, char *out, size_t out_cap) {
    SL_ASSERT(key && it && out);
    size_t name_len = strnlen(it->stream_name, sizeof it->stream_name);
    if (name_len == 0 || name_len > SL_NAME_CHARS_MAX) return SL_EINVAL;
    uint8_t p[ITERATOR_FIXED + SL_NAME_CHARS_MAX];
    size_t o = 0;
    p[o++] = ITERATOR_FORMAT;
    p[o++] = (uint8_t)name_len;
    memcpy(p + o, it->stream_name, name_len);
    o += name_len;
    put_be(p + o, (uint64_t)it->stream_created_ms, 8), o += 8;
    put_be(p + o, it->shard_index, 4), o += 4;
    put_be(p + o, it->position, 8), o += 8;
    put_be(p + o, (uint64_t)it->issued_ms, 8), o += 8;
    SL_ASSERT(o == ITERATOR_FIXED + name_len);
    return seal(key, PURPOSE_ITERATOR, p, o, out, out_cap);
}

int sl_iterator_decode(const uint8_t key[32], const char *s, size_t len, sl_iterator_t *out) {
    uint8_t p[SL_TOKEN_PLAIN_MAX];
    size_t n = 0;
    int rc = open_token(key, PURPOSE_ITERATOR, s, len, p, sizeof p, &n);
    if (rc == SL_ELIMIT) return SL_EINVAL;
    if (rc < 0) return rc;
    /* Authenticated, but still checked: a key shared with a future format must not crash us. */
    if (n < ITERATOR_FIXED || p[0] != ITERATOR_FORMAT) return SL_EINVAL;
    size_t name_len = p[1];
    if (name_len == 0 || name_len > SL_NAME_CHARS_MAX || n != ITERATOR_FIXED + name_len)
        return SL_EINVAL;
    if (memchr(p + 2, '\0', name_len)) return SL_EINVAL;
    memset(out, 0, sizeof *out);
    memcpy(out->stream_name, p + 2, name_len);
    size_t o = 2 + name_len;
    out->stream_created_ms = (int64_t)get_be(p + o, 8), o += 8;
    out->shard_index = (uint32_t)get_be(p + o, 4), o += 4;
    out->position = get_be(p + o, 8), o += 8;
    out->issued_ms = (int64_t)get_be(p + o, 8), o += 8;
    SL_ASSERT(o == n); /* read exactly what sl_iterator_encode wrote */
    return 0;
}
