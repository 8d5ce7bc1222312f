/* Unit tests of wire/awschunked: signed chunks (as the AWS CLI and boto3 send them), unsigned
 * chunks with a checksum trailer (newer SDKs), in-place decoding and the malformed bodies it must
 * refuse. */
#include "../test.h"

#include "core/common.h"
#include "wire/awschunked.h"

#include <stdlib.h>

typedef struct {
    int chunks, signed_chunks, trailers;
    char trailer[64];
} seen_t;

static int on_chunk(void *ctx, const char *sig, size_t sig_len, const uint8_t *data, size_t len) {
    seen_t *s = ctx;
    s->chunks++;
    if (sig && sig_len == 64) s->signed_chunks++;
    (void)data;
    (void)len;
    return 0;
}

static int on_trailer(void *ctx, const char *name, size_t nl, const char *value, size_t vl) {
    seen_t *s = ctx;
    s->trailers++;
    snprintf(s->trailer, sizeof s->trailer, "%.*s=%.*s", (int)nl, name, (int)vl, value);
    return 0;
}

static const char sig[] = "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648";

static void test_signed(void) {
    char body[512];
    int n = snprintf(body, sizeof body,
                     "5;chunk-signature=%s\r\nhello\r\n6;chunk-signature=%s\r\n world\r\n"
                     "0;chunk-signature=%s\r\n\r\n",
                     sig, sig, sig);
    seen_t s = {0};
    sl_awschunked_cbs_t cbs = {on_chunk, on_trailer, &s};
    size_t out_len;
    const char *reason;
    /* in place */
    CHECK_EQ_INT(
        sl_awschunked_decode((uint8_t *)body, (size_t)n, (uint8_t *)body, &out_len, &cbs, &reason),
        0);
    CHECK_EQ_INT(out_len, 11);
    CHECK(memcmp(body, "hello world", 11) == 0);
    CHECK_EQ_INT(s.chunks, 3);
    CHECK_EQ_INT(s.signed_chunks, 3);
    CHECK_EQ_INT(s.trailers, 0);
}

static void test_trailer(void) {
    const char *body = "A\r\n0123456789\r\n0\r\nx-amz-checksum-crc32: sOO8/Q== \r\n\r\n";
    seen_t s = {0};
    sl_awschunked_cbs_t cbs = {on_chunk, on_trailer, &s};
    uint8_t out[64];
    size_t out_len;
    const char *reason;
    CHECK_EQ_INT(
        sl_awschunked_decode((const uint8_t *)body, strlen(body), out, &out_len, &cbs, &reason), 0);
    CHECK_EQ_INT(out_len, 10);
    CHECK_EQ_INT(s.chunks, 2);
    CHECK_EQ_INT(s.signed_chunks, 0);
    CHECK_EQ_STR(s.trailer, "x-amz-checksum-crc32=sOO8/Q==");
    /* The final empty line may be missing. */
    body = "3\r\nabc\r\n0\r\nx-amz-checksum-crc32:x\r\n";
    CHECK_EQ_INT(
        sl_awschunked_decode((const uint8_t *)body, strlen(body), out, &out_len, NULL, &reason), 0);
    CHECK_EQ_INT(out_len, 3);
}

static void bad(const char *body, const char *want) {
    uint8_t out[256];
    size_t out_len = 99;
    const char *reason = NULL;
    CHECK_EQ_INT(
        sl_awschunked_decode((const uint8_t *)body, strlen(body), out, &out_len, NULL, &reason),
        SL_EINVAL);
    CHECK_EQ_INT(out_len, 0);
    CHECK_EQ_STR(reason, want);
}

static void test_refusals(void) {
    bad("", "missing final chunk");
    bad("3\r\nabc\r\n", "missing final chunk");
    bad("z\r\n", "malformed chunk header");
    bad("3\nabc\r\n0\r\n\r\n", "malformed chunk header");
    bad("f\r\nabc\r\n0\r\n\r\n", "chunk longer than the body");
    bad("3\r\nabcd\r\n0\r\n\r\n", "chunk data not followed by CRLF");
    bad("3;foo=bar\r\nabc\r\n0\r\n\r\n", "malformed chunk extension");
    bad("3;chunk-signature=xyz\r\nabc\r\n0\r\n\r\n", "malformed chunk signature");
    bad("1000000000000000\r\n", "chunk size too large");
    bad("0\r\n\r\nextra", "data after the end of the chunked body");
    bad("0\r\nnocolon\r\n\r\n", "malformed trailer");
}

int main(void) {
    test_signed();
    test_trailer();
    test_refusals();
    TEST_MAIN_END();
}
