/* Tokens: iterator round trips, tamper detection on every character, wrong key, quotes, length
 * bounds, the AWS-like "AAAAAAAAAAE" prefix, and separation of iterators from generic tokens. */
#include "core/common.h"
#include "kinesis/token.h"
#include "test.h"

static const uint8_t key[32] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16,
                                17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};

static void fill_name(char *name, size_t n) {
    for (size_t i = 0; i < n; i++)
        name[i] = "abcdefghijklmnopqrstuvwxyz0123456789_.-"[i % 39];
    name[n] = '\0';
}

int main(void) {
    sl_iterator_t it = {.stream_created_ms = 1700000000123,
                        .shard_index = 42,
                        .position = UINT64_C(0x7fffffffffffffff),
                        .issued_ms = 1700000005000};
    strcpy(it.stream_name, "my-stream");
    char tok[600];
    int n = sl_iterator_encode(key, &it, tok, sizeof tok);
    CHECK(n > 0);
    CHECK_EQ_INT(n, (int)strlen(tok));
    CHECK(strncmp(tok, "AAAAAAAAAAE", 11) == 0);
    /* Every token starts like AWS's, whatever the random nonce. */
    int prefixed = 0;
    for (int i = 0; i < 200; i++) {
        char t2[600];
        if (sl_iterator_encode(key, &it, t2, sizeof t2) > 0 && strncmp(t2, "AAAAAAAAAAE", 11) == 0)
            prefixed++;
    }
    CHECK_EQ_INT(prefixed, 200);
    sl_iterator_t got;
    CHECK_EQ_INT(sl_iterator_decode(key, tok, (size_t)n, &got), 0);
    CHECK_EQ_STR(got.stream_name, "my-stream");
    CHECK(got.stream_created_ms == it.stream_created_ms && got.shard_index == 42 &&
          got.position == it.position && got.issued_ms == it.issued_ms);

    /* Two encodings of the same iterator differ (random nonce) and both decode. */
    char tok2[600];
    int n2 = sl_iterator_encode(key, &it, tok2, sizeof tok2);
    CHECK(n2 == n && strcmp(tok, tok2) != 0);
    CHECK_EQ_INT(sl_iterator_decode(key, tok2, (size_t)n2, &got), 0);

    /* Quoted (AWS tolerates literal double quotes). */
    char quoted[620];
    snprintf(quoted, sizeof quoted, "\"%s\"", tok);
    CHECK_EQ_INT(sl_iterator_decode(key, quoted, strlen(quoted), &got), 0);
    CHECK_EQ_STR(got.stream_name, "my-stream");
    CHECK_EQ_INT(sl_iterator_decode(key, quoted, strlen(quoted) - 1, &got), SL_EINVAL);

    /* Every character changed to every other base64 character is rejected. */
    const char *alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=";
    int accepted = 0;
    for (int i = 0; i < n; i++) {
        char orig = tok[i];
        for (const char *a = alphabet; *a; a++) {
            if (*a == orig) continue;
            tok[i] = *a;
            if (sl_iterator_decode(key, tok, (size_t)n, &got) == 0) accepted++;
        }
        tok[i] = orig;
    }
    CHECK_EQ_INT(accepted, 0);
    /* Truncated or extended. */
    CHECK_EQ_INT(sl_iterator_decode(key, tok, (size_t)n - 4, &got), SL_EINVAL);
    CHECK_EQ_INT(sl_iterator_decode(key, tok, (size_t)n - 1, &got), SL_EINVAL);
    char longer[700];
    snprintf(longer, sizeof longer, "%sAAAA", tok);
    CHECK_EQ_INT(sl_iterator_decode(key, longer, strlen(longer), &got), SL_EINVAL);
    CHECK_EQ_INT(sl_iterator_decode(key, "", 0, &got), SL_EINVAL);
    CHECK_EQ_INT(sl_iterator_decode(key, "\"\"", 2, &got), SL_EINVAL);
    CHECK_EQ_INT(sl_iterator_decode(key, "AAAAAAAAAAE=", 12, &got), SL_EINVAL);
    /* Another key. */
    uint8_t other[32];
    memcpy(other, key, 32);
    other[31] ^= 1;
    CHECK_EQ_INT(sl_iterator_decode(other, tok, (size_t)n, &got), SL_EINVAL);

    /* The longest stream name stays within the model's 512 characters. */
    fill_name(it.stream_name, 128);
    n = sl_iterator_encode(key, &it, tok, sizeof tok);
    CHECK(n > 0 && n <= SL_TOKEN_ITERATOR_CHARS_MAX);
    CHECK_EQ_INT(sl_iterator_decode(key, tok, (size_t)n, &got), 0);
    CHECK_EQ_STR(got.stream_name, it.stream_name);
    /* out_cap too small; bad names. */
    CHECK_EQ_INT(sl_iterator_encode(key, &it, tok, (size_t)n), SL_ELIMIT);
    CHECK_EQ_INT(sl_iterator_encode(key, &it, tok, (size_t)n + 1), n);
    it.stream_name[0] = '\0';
    CHECK_EQ_INT(sl_iterator_encode(key, &it, tok, sizeof tok), SL_EINVAL);
    memset(it.stream_name, 'x', sizeof it.stream_name); /* no NUL within 129: too long */
    CHECK_EQ_INT(sl_iterator_encode(key, &it, tok, sizeof tok), SL_EINVAL);

    /* Generic tokens. */
    const char plain[] = "stream-a\0shardId-000000000007\0001700000000000";
    char t[600];
    int tn = sl_token_seal(key, plain, sizeof plain, t, sizeof t);
    CHECK(tn > 0 && tn == (int)SL_TOKEN_ENCODED_LEN(sizeof plain));
    char back[400];
    size_t bn = 0;
    CHECK_EQ_INT(sl_token_open(key, t, (size_t)tn, back, sizeof back, &bn), 0);
    CHECK_EQ_INT(bn, sizeof plain);
    CHECK(memcmp(back, plain, sizeof plain) == 0);
    CHECK_EQ_INT(sl_token_open(key, t, (size_t)tn, back, 3, &bn), SL_ELIMIT);
    /* A generic token is not an iterator and an iterator is not a generic token. */
    CHECK_EQ_INT(sl_iterator_decode(key, t, (size_t)tn, &got), SL_EINVAL);
    strcpy(it.stream_name, "s");
    n = sl_iterator_encode(key, &it, tok, sizeof tok);
    CHECK_EQ_INT(sl_token_open(key, tok, (size_t)n, back, sizeof back, &bn), SL_EINVAL);
    /* Empty plaintext, and the largest. */
    tn = sl_token_seal(key, "", 0, t, sizeof t);
    CHECK(tn > 0);
    CHECK_EQ_INT(sl_token_open(key, t, (size_t)tn, back, sizeof back, &bn), 0);
    CHECK_EQ_INT(bn, 0);
    char big[SL_TOKEN_PLAIN_MAX + 1];
    memset(big, 'z', sizeof big);
    tn = sl_token_seal(key, big, SL_TOKEN_PLAIN_MAX, t, sizeof t);
    CHECK(tn > 0 && tn <= SL_TOKEN_ITERATOR_CHARS_MAX);
    CHECK_EQ_INT(sl_token_open(key, t, (size_t)tn, back, sizeof back, &bn), 0);
    CHECK_EQ_INT(bn, SL_TOKEN_PLAIN_MAX);
    CHECK_EQ_INT(sl_token_seal(key, big, SL_TOKEN_PLAIN_MAX + 1, t, sizeof t), SL_ELIMIT);

    uint8_t k1[32], k2[32];
    CHECK_EQ_INT(sl_token_key_generate(k1), 0);
    CHECK_EQ_INT(sl_token_key_generate(k2), 0);
    CHECK(memcmp(k1, k2, 32) != 0);
    TEST_MAIN_END();
}
