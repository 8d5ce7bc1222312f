/* Unit tests of SigV4 signing: AWS's published test-suite vectors (get-vanilla, post-vanilla from
 * the "aws-sig-v4-test-suite") and a Kinesis PutRecord request signed independently by botocore's
 * SigV4Auth, so a client using sl_sigv4_sign is accepted by real AWS endpoints. */
#include "test.h"

#include "core/common.h"
#include "wire/sigv4.h"

static const char *const secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

static void sign(const char *method, const sl_sigv4_header_t *hs, size_t n, const char *body,
                 const char *date, const char *service, char *out, size_t cap) {
    char date8[9];
    memcpy(date8, date, 8);
    date8[8] = 0;
    uint8_t key[32];
    CHECK_EQ_INT(sl_sigv4_derive_key(secret, date8, "us-east-1", service, key), 0);
    char hash[65];
    sl_sigv4_sha256_hex(body, strlen(body), hash);
    sl_sigv4_sign_input_t in = {.method = method,
                                .path = "/",
                                .query = "",
                                .headers = hs,
                                .header_count = n,
                                .payload_sha256_hex = hash,
                                .amz_date = date,
                                .access_key_id = "AKIDEXAMPLE",
                                .region = "us-east-1",
                                .service = service,
                                .signing_key = key};
    CHECK_EQ_INT(sl_sigv4_sign(&in, out, cap), 0);
}

int main(void) {
    char out[512];
    char hash[65];
    sl_sigv4_sha256_hex("", 0, hash);
    CHECK_EQ_STR(hash, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");

    /* aws-sig-v4-test-suite/get-vanilla. */
    sl_sigv4_header_t get_hs[] = {{"Host", "example.amazonaws.com"},
                                  {"X-Amz-Date", "20150830T123600Z"}};
    sign("GET", get_hs, 2, "", "20150830T123600Z", "service", out, sizeof out);
    CHECK_EQ_STR(out,
                 "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
                 "SignedHeaders=host;x-amz-date, "
                 "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");

    /* aws-sig-v4-test-suite/post-vanilla (headers given out of order and with padding). */
    sl_sigv4_header_t post_hs[] = {{"X-Amz-Date", " 20150830T123600Z "},
                                   {"host", "example.amazonaws.com"}};
    sign("POST", post_hs, 2, "", "20150830T123600Z", "service", out, sizeof out);
    CHECK_EQ_STR(out,
                 "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
                 "SignedHeaders=host;x-amz-date, "
                 "Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b");

    /* A Kinesis PutRecord as botocore 1.43 signs it (SigV4Auth, same credentials and date). */
    sl_sigv4_header_t k_hs[] = {{"Content-Type", "application/x-amz-json-1.1"},
                                {"X-Amz-Target", "Kinesis_20131202.PutRecord"},
                                {"X-Amz-Date", "20261122T042340Z"},
                                {"Host", "127.0.0.1:4567"}};
    sign("POST", k_hs, 4,
         "{\"StreamName\":\"bench\",\"Data\":\"aGVsbG8=\",\"PartitionKey\":\"k1\"}",
         "20261122T042340Z", "kinesis", out, sizeof out);
    CHECK_EQ_STR(out,
                 "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261122/us-east-1/kinesis/aws4_request, "
                 "SignedHeaders=content-type;host;x-amz-date;x-amz-target, "
                 "Signature=f6e04da64181380c367781923deaf614a41fa03fc8f126c9898567ebc9d4f88a");

    /* Errors: no headers, a bad date, an output buffer too small. */
    uint8_t key[32] = {0};
    sl_sigv4_sign_input_t bad = {.method = "POST",
                                 .path = "/",
                                 .query = "",
                                 .headers = get_hs,
                                 .header_count = 0,
                                 .payload_sha256_hex = hash,
                                 .amz_date = "20150830T123600Z",
                                 .access_key_id = "AKIDEXAMPLE",
                                 .region = "us-east-1",
                                 .service = "kinesis",
                                 .signing_key = key};
    CHECK_EQ_INT(sl_sigv4_sign(&bad, out, sizeof out), SL_EINVAL);
    bad.header_count = 2;
    bad.amz_date = "2015";
    CHECK_EQ_INT(sl_sigv4_sign(&bad, out, sizeof out), SL_EINVAL);
    bad.amz_date = "20150830T123600Z";
    CHECK_EQ_INT(sl_sigv4_sign(&bad, out, 40), SL_ELIMIT);

    /* chunk signatures of an aws-chunked body: AWS's worked example ("Signature Calculations for
     * the Authorization Header: Transferring Payload in Multiple Chunks", S3 API reference) */
    {
        uint8_t skey[32];
        CHECK_EQ_INT(sl_sigv4_derive_key("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "20130524",
                                         "us-east-1", "s3", skey),
                     0);
        static uint8_t a[65536];
        memset(a, 'a', sizeof a);
        char sig[65];
        const char *seed = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9";
        CHECK_EQ_INT(sl_sigv4_chunk_signature_hex(skey, "20130524T000000Z", "20130524", "us-east-1",
                                                  "s3", seed, a, 65536, sig),
                     0);
        CHECK_EQ_STR(sig, "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648");
        char prev[65];
        memcpy(prev, sig, sizeof prev);
        CHECK_EQ_INT(sl_sigv4_chunk_signature_hex(skey, "20130524T000000Z", "20130524", "us-east-1",
                                                  "s3", prev, a, 1024, sig),
                     0);
        CHECK_EQ_STR(sig, "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497");
        memcpy(prev, sig, sizeof prev);
        CHECK_EQ_INT(sl_sigv4_chunk_signature_hex(skey, "20130524T000000Z", "20130524", "us-east-1",
                                                  "s3", prev, NULL, 0, sig),
                     0);
        CHECK_EQ_STR(sig, "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9");
        /* the same from the data's hash (the streamed path hashes chunks as they arrive) */
        char dhash[65], sig2[65];
        sl_sigv4_sha256_hex(a, 1024, dhash);
        CHECK_EQ_INT(sl_sigv4_chunk_signature_of_hash_hex(
                         skey, "20130524T000000Z", "20130524", "us-east-1", "s3",
                         "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648", dhash,
                         sig2),
                     0);
        CHECK_EQ_STR(sig2, "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497");
        /* the trailer's signature (STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER): the inputs of
         * AWS's trailer example (final chunk 2ca2aba2..., trailer x-amz-checksum-crc32c:sOO8/Q==)
         * and the value Python's hmac gives for "AWS4-HMAC-SHA256-TRAILER\n" time "\n" scope
         * "\n" previous "\n" hex(SHA-256("x-amz-checksum-crc32c:sOO8/Q==\n")), the canonical
         * form of the AWS SDKs (the example's printed signature follows none of the forms tried) */
        sl_sigv4_sha256_hex("x-amz-checksum-crc32c:sOO8/Q==\n", 31, dhash);
        CHECK_EQ_STR(dhash, "1e376db7e1a34a8ef1c4bcee131a2d60a1cb62503747488624e10995f448d774");
        CHECK_EQ_INT(sl_sigv4_trailer_signature_hex(
                         skey, "20130524T000000Z", "20130524", "us-east-1", "s3",
                         "2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992", dhash,
                         sig2),
                     0);
        CHECK_EQ_STR(sig2, "d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435");
        /* the incremental dhash gives the one-shot's */
        sl_sha256_t *hh = sl_sha256_create();
        CHECK(hh != NULL);
        sl_sha256_update(hh, a, 1000);
        sl_sha256_update(hh, a + 1000, 24);
        sl_sha256_final_hex(hh, sig2);
        sl_sigv4_sha256_hex(a, 1024, dhash);
        CHECK_EQ_STR(sig2, dhash);
        sl_sha256_final_hex(hh, sig2); /* started again: the empty string's */
        CHECK_EQ_STR(sig2, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        sl_sha256_destroy(hh);
    }
    TEST_MAIN_END();
}
