/* Unit tests of SigV4 verification (the server side): the canonical request the verifier rebuilds
 * from a request as received, and the signature computed from it, against the public AWS SigV4
 * test-suite vectors ("aws-sig-v4-test-suite": credentials AKIDEXAMPLE /
 * wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY, 2015-08-30T12:36:00Z, us-east-1, service "service").
 * The vectors' data is carried over as requests on the wire (raw target, headers in arrival order,
 * repeated headers as separate fields) with the suite's expected signatures; the code is ours. */
#include "test.h"

#include "core/arena.h"
#include "core/common.h"
#include "wire/sigv4.h"

#define H(n, v)                                                                                    \
    { n, sizeof n - 1, v, sizeof v - 1 }

typedef struct {
    const char *name;
    const char *method;
    const char *target;
    sl_sigv4_req_header_t headers[6];
    size_t header_count;
    const char *signed_headers;
    const char *body;
    const char *signature;
} vector_t;

#define HOST H("host", "example.amazonaws.com")
#define DATE H("x-amz-date", "20150830T123600Z")

static const vector_t vectors[] = {
    {"get-vanilla",
     "GET",
     "/",
     {HOST, DATE},
     2,
     "host;x-amz-date",
     "",
     "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
    {"post-vanilla",
     "POST",
     "/",
     {HOST, DATE},
     2,
     "host;x-amz-date",
     "",
     "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"},
    {"get-vanilla-empty-query-key",
     "GET",
     "/?Param1=value1",
     {HOST, DATE},
     2,
     "host;x-amz-date",
     "",
     "a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb"},
    {"get-vanilla-query-order-key-case",
     "GET",
     "/?Param2=value2&Param1=value1",
     {HOST, DATE},
     2,
     "host;x-amz-date",
     "",
     "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"},
    {"get-vanilla-query-unreserved",
     "GET",
     "/?-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz="
     "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
     {HOST, DATE},
     2,
     "host;x-amz-date",
     "",
     "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197"},
    {"get-vanilla-utf8-query",
     "GET",
     "/?%E1%88%B4=bar",
     {HOST, DATE},
     2,
     "host;x-amz-date",
     "",
     "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04"},
    {"get-unreserved",
     "GET",
     "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
     {HOST, DATE},
     2,
     "host;x-amz-date",
     "",
     "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f"},
    {"get-utf8",
     "GET",
     "/\xe1\x88\xb4",
     {HOST, DATE},
     2,
     "host;x-amz-date",
     "",
     "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"},
    {"get-header-key-duplicate",
     "GET",
     "/",
     {HOST, H("my-header1", "value2"), H("my-header1", "value2"), H("my-header1", "value1"), DATE},
     5,
     "host;my-header1;x-amz-date",
     "",
     "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea"},
    {"get-header-value-order",
     "GET",
     "/",
     {HOST, H("my-header1", "value4"), H("my-header1", "value1"), H("my-header1", "value3"),
      H("my-header1", "value2"), DATE},
     6,
     "host;my-header1;x-amz-date",
     "",
     "08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01"},
    {"get-header-value-trim",
     "GET",
     "/",
     {HOST, H("my-header1", " value1"), H("my-header2", " \"a   b   c\""), DATE},
     4,
     "host;my-header1;my-header2;x-amz-date",
     "",
     "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"},
    {"post-header-key-sort",
     "POST",
     "/",
     {HOST, H("my-header1", "value1"), DATE},
     3,
     "host;my-header1;x-amz-date",
     "",
     "c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c"},
    {"post-header-value-case",
     "POST",
     "/",
     {HOST, H("my-header1", "VALUE1"), DATE},
     3,
     "host;my-header1;x-amz-date",
     "",
     "cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d"},
    {"post-sts-header-before",
     "POST",
     "/",
     {HOST, DATE,
      H("x-amz-security-token",
        "AQoDYXdzEPT//////////"
        "wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPf"
        "IeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/"
        "kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7"
        "WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+"
        "scqKmlzm"
        "8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==")},
     3,
     "host;x-amz-date;x-amz-security-token",
     "",
     "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead"},
    {"post-sts-header-after (token sent, not signed)",
     "POST",
     "/",
     {HOST, DATE, H("x-amz-security-token", "AQoDYXdzEPT//////////wEXAMPLE")},
     3,
     "host;x-amz-date",
     "",
     "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"},
    {"post-vanilla-query",
     "POST",
     "/?Param1=value1",
     {HOST, DATE},
     2,
     "host;x-amz-date",
     "",
     "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11"},
    {"post-vanilla-query-nonunreserved",
     "POST",
     "/?%40%23%24%25%5E=&%2B=%2F%2C%3F%3E%3C%60%22%3B%3A%5C%7C%5D%5B%7B%7D",
     {HOST, DATE},
     2,
     "host;x-amz-date",
     "",
     "66c82657c86e26fb25238d0e69f011edc4c6df5ae71119d7cb98ed9b87393c1e"},
    {"post-vanilla-query-space (empty value)",
     "POST",
     "/?p=",
     {HOST, DATE},
     2,
     "host;x-amz-date",
     "",
     "e71688addb58a26418614085fb730ba3faa623b461c17f48f2fbdb9361b94a9b"},
    {"post-x-www-form-urlencoded",
     "POST",
     "/",
     {H("content-type", "application/x-www-form-urlencoded"), HOST, DATE},
     3,
     "content-type;host;x-amz-date",
     "Param1=value1",
     "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"},
    {"post-x-www-form-urlencoded-parameters",
     "POST",
     "/",
     {H("content-type", "application/x-www-form-urlencoded; charset=utf8"), HOST, DATE},
     3,
     "content-type;host;x-amz-date",
     "Param1=value1",
     "1a72ec8f64bd914b0e42e42607c7fbce7fb2c7465f63e3092b3b0d39fa77a6fe"},
};

static sl_arena_t arena;

static const char *canonical(const vector_t *v, bool presigned, size_t *len) {
    char hash[65];
    sl_sigv4_sha256_hex(v->body, strlen(v->body), hash);
    sl_sigv4_canon_input_t in = {.method = v->method,
                                 .target = v->target,
                                 .headers = v->headers,
                                 .header_count = v->header_count,
                                 .signed_headers = v->signed_headers,
                                 .payload_hash = hash,
                                 .presigned = presigned};
    const char *creq = NULL;
    CHECK_EQ_INT(sl_sigv4_canonical_request(&in, &arena, &creq, len), 0);
    return creq;
}

static void test_vectors(void) {
    uint8_t key[32];
    CHECK_EQ_INT(sl_sigv4_derive_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20150830",
                                     "us-east-1", "service", key),
                 0);
    for (size_t i = 0; i < SL_ARRAY_LEN(vectors); i++) {
        const vector_t *v = &vectors[i];
        size_t len;
        const char *creq = canonical(v, false, &len);
        char sig[65];
        CHECK_EQ_INT(sl_sigv4_signature_hex(creq, len, "20150830T123600Z", "20150830", "us-east-1",
                                            "service", key, sig),
                     0);
        if (strcmp(sig, v->signature) != 0) fprintf(stderr, "vector %s:\n%s\n", v->name, creq);
        CHECK_EQ_STR(sig, v->signature);
        CHECK(sl_sigv4_equal(sig, v->signature));
    }
}

/* The canonical requests of two vectors in full (the suite's .creq files). */
static void test_canonical_text(void) {
    size_t len;
    CHECK_EQ_STR(canonical(&vectors[3], false, &len),
                 "GET\n/\nParam1=value1&Param2=value2\nhost:example.amazonaws.com\n"
                 "x-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
                 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK_EQ_STR(canonical(&vectors[10], false, &len),
                 "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value1\nmy-header2:\"a b c\"\n"
                 "x-amz-date:20150830T123600Z\n\nhost;my-header1;my-header2;x-amz-date\n"
                 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    /* A presigned request: X-Amz-Signature is not part of its own canonical query; '+' is a
     * literal plus and spaces arrive as %20. */
    vector_t pre = vectors[0];
    pre.target = "/?X-Amz-Signature=abc&X-Amz-Date=20150830T123600Z&b=a%20b&a=x+y";
    CHECK_EQ_STR(canonical(&pre, true, &len),
                 "GET\n/\nX-Amz-Date=20150830T123600Z&a=x%2By&b=a%20b\n"
                 "host:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
                 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    /* A path received encoded is encoded again (every service but S3); S3 encodes it once. */
    pre.target = "/a%20b/c";
    CHECK(strstr(canonical(&pre, false, &len), "\n/a%2520b/c\n") != NULL);
    /* A signed header the request lacks has an empty value (the signature then fails). */
    pre = vectors[0];
    pre.signed_headers = "host;x-amz-date;x-amz-target";
    CHECK(strstr(canonical(&pre, false, &len), "\nx-amz-target:\n\n") != NULL);
}

static void test_single_encoding(void) {
    vector_t v = vectors[0];
    v.target = "/a%20b/c~d";
    char hash[65];
    sl_sigv4_sha256_hex("", 0, hash);
    sl_sigv4_canon_input_t in = {.method = "GET",
                                 .target = v.target,
                                 .headers = v.headers,
                                 .header_count = 2,
                                 .signed_headers = "host;x-amz-date",
                                 .payload_hash = hash,
                                 .path_encoded_once = true};
    const char *creq;
    size_t len;
    CHECK_EQ_INT(sl_sigv4_canonical_request(&in, &arena, &creq, &len), 0);
    CHECK(strncmp(creq, "GET\n/a%20b/c~d\n\n", 16) == 0);
}

static void test_dates(void) {
    int64_t t;
    CHECK_EQ_INT(sl_sigv4_parse_amz_date("20150830T123600Z", &t), 0);
    CHECK(t == 1440938160);
    char out[17];
    sl_sigv4_format_amz_date(t, out);
    CHECK_EQ_STR(out, "20150830T123600Z");
    CHECK_EQ_INT(sl_sigv4_parse_amz_date("20150830T123600", &t), SL_EINVAL);
    CHECK_EQ_INT(sl_sigv4_parse_amz_date("2015-08-30T12:36:00Z", &t), SL_EINVAL);
    CHECK_EQ_INT(sl_sigv4_parse_amz_date("20151330T123600Z", &t), SL_EINVAL);
    CHECK_EQ_INT(sl_sigv4_parse_amz_date(NULL, &t), SL_EINVAL);
    CHECK_EQ_INT(sl_sigv4_parse_http_date("Sun, 30 Aug 2015 12:36:00 GMT", &t), 0);
    CHECK(t == 1440938160);
    CHECK_EQ_INT(sl_sigv4_parse_http_date("Sun, 30 Foo 2015 12:36:00 GMT", &t), SL_EINVAL);
    CHECK_EQ_INT(sl_sigv4_parse_http_date("Sun, 30 Aug 2015 12:36:00 UTC", &t), SL_EINVAL);
    CHECK(!sl_sigv4_equal("abc", "abd"));
    CHECK(!sl_sigv4_equal("abc", "abcd"));
    CHECK(sl_sigv4_equal("", ""));
}

int main(void) {
    sl_arena_init(&arena, 4096);
    test_vectors();
    test_canonical_text();
    test_single_encoding();
    test_dates();
    sl_arena_deinit(&arena);
    TEST_MAIN_END();
}
