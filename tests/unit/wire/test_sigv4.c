/* Unit tests of the SigV4 format checks: every error of spec §1.7 with AWS's exact type and text
 * (the cases kinesalite's connection tests record from AWS), tokenisation quirks, and the parsed
 * credential scope for the header and query forms. */
#include "test.h"

#include "core/arena.h"
#include "core/common.h"
#include "wire/sigv4.h"

static sl_arena_t arena;

static const char *err_type, *err_msg;

static int check(const char *authz, const char *query, bool has_date, sl_sigv4_auth_t *auth) {
    return sl_sigv4_check(authz, query, has_date, &arena, auth, &err_type, &err_msg);
}

static void expect_error(const char *authz, const char *query, bool has_date, const char *type,
                         const char *msg) {
    sl_sigv4_auth_t a;
    CHECK_EQ_INT(check(authz, query, has_date, &a), SL_EINVAL);
    CHECK_EQ_STR(err_type, type);
    CHECK_EQ_STR(err_msg, msg);
}

static void test_header_ok(void) {
    sl_sigv4_auth_t a;
    const char *h =
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/kinesis/aws4_request, "
        "SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=0123abcd";
    CHECK_EQ_INT(check(h, NULL, true, &a), 0);
    CHECK(err_type == NULL && err_msg == NULL);
    CHECK_EQ_STR(a.access_key_id, "AKIDEXAMPLE");
    CHECK_EQ_STR(a.date, "20240101");
    CHECK_EQ_STR(a.region, "us-east-1");
    CHECK_EQ_STR(a.service, "kinesis");
    CHECK_EQ_STR(a.signed_headers, "content-type;host;x-amz-date;x-amz-target");
    CHECK_EQ_STR(a.signature, "0123abcd");
    CHECK(!a.from_query);
    /* Comma without space, and a query string without X-Amz-Algorithm, are fine. */
    CHECK_EQ_INT(
        check("AWS4-HMAC-SHA256 Credential=123456789012/20240101/eu-west-1/kinesis/aws4_request,"
              "SignedHeaders=host,Signature=ff",
              "foo=bar", true, &a),
        0);
    CHECK_EQ_STR(a.access_key_id, "123456789012");
    CHECK_EQ_STR(a.region, "eu-west-1");
    /* A short credential scope still parses; missing parts are empty strings. */
    CHECK_EQ_INT(check("AWS4- Credential=a SignedHeaders=b Signature=c", NULL, true, &a), 0);
    CHECK_EQ_STR(a.access_key_id, "a");
    CHECK_EQ_STR(a.date, "");
    CHECK_EQ_STR(a.service, "");
    /* The terminator keeps whatever follows the fourth '/', slashes included; empty parts stay
     * empty, and a scope ending in '/' has an empty next part. */
    CHECK_EQ_INT(check("AWS4 Credential=k//r/s/aws4_request/x/y, SignedHeaders=b, Signature=c",
                       NULL, true, &a),
                 0);
    CHECK_EQ_STR(a.access_key_id, "k");
    CHECK_EQ_STR(a.date, "");
    CHECK_EQ_STR(a.region, "r");
    CHECK_EQ_STR(a.service, "s");
    CHECK_EQ_STR(a.terminator, "aws4_request/x/y");
    CHECK_EQ_INT(check("AWS4 Credential=k/d/, SignedHeaders=b, Signature=c", NULL, true, &a), 0);
    CHECK_EQ_STR(a.date, "d");
    CHECK_EQ_STR(a.region, "");
    CHECK_EQ_STR(a.service, "");
    CHECK_EQ_STR(a.terminator, "");
    CHECK_EQ_STR(a.signed_headers, "b");
    CHECK_EQ_STR(a.signature, "c");
}

static void test_header_errors(void) {
    expect_error(
        "X", "X-Amz-Algorithm", true, "InvalidSignatureException",
        "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header.");
    expect_error(
        "X", "a=1&X-Amz-Algorithm=AWS4-HMAC-SHA256", false, "InvalidSignatureException",
        "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header.");
    expect_error(NULL, NULL, true, "MissingAuthenticationTokenException",
                 "Missing Authentication Token");
    expect_error("", "", false, "MissingAuthenticationTokenException",
                 "Missing Authentication Token");
    expect_error(NULL, "X-Amz-Credential=a", true, "MissingAuthenticationTokenException",
                 "Missing Authentication Token");
    /* kinesalite's recorded AWS answers. */
    expect_error(
        "AWS4-", NULL, false, "IncompleteSignatureException",
        "Authorization header requires 'Credential' parameter. "
        "Authorization header requires 'Signature' parameter. "
        "Authorization header requires 'SignedHeaders' parameter. "
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. "
        "Authorization=AWS4-");
    expect_error("AWS4- Signature=b Credential=a", NULL, true, "IncompleteSignatureException",
                 "Authorization header requires 'SignedHeaders' parameter. "
                 "Authorization=AWS4- Signature=b Credential=a");
    expect_error("AWS4- Signature=b,Credential=a", NULL, true, "IncompleteSignatureException",
                 "Authorization header requires 'SignedHeaders' parameter. "
                 "Authorization=AWS4- Signature=b,Credential=a");
    expect_error(
        "AWS4- Signature=b, Credential=a, SignedHeaders=c", NULL, false,
        "IncompleteSignatureException",
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. "
        "Authorization=AWS4- Signature=b, Credential=a, SignedHeaders=c");
    /* The first token is dropped whatever it is; empty values and names without '=' are missing. */
    expect_error("Credential=a Signature=b SignedHeaders=c", NULL, true,
                 "IncompleteSignatureException",
                 "Authorization header requires 'Credential' parameter. "
                 "Authorization=Credential=a Signature=b SignedHeaders=c");
    expect_error("AWS4 Credential= Signature SignedHeaders=c", NULL, true,
                 "IncompleteSignatureException",
                 "Authorization header requires 'Credential' parameter. "
                 "Authorization header requires 'Signature' parameter. "
                 "Authorization=AWS4 Credential= Signature SignedHeaders=c");
    /* The last occurrence wins; names are case-sensitive; tabs are trimmed, not separators. */
    expect_error("AWS4 Credential=a Signature=b SignedHeaders=c Credential=", NULL, true,
                 "IncompleteSignatureException",
                 "Authorization header requires 'Credential' parameter. "
                 "Authorization=AWS4 Credential=a Signature=b SignedHeaders=c Credential=");
    expect_error("AWS4 credential=a Signature=b SignedHeaders=c", NULL, true,
                 "IncompleteSignatureException",
                 "Authorization header requires 'Credential' parameter. "
                 "Authorization=AWS4 credential=a Signature=b SignedHeaders=c");
    sl_sigv4_auth_t a;
    CHECK_EQ_INT(check("AWS4 \tCredential=a/b/c/d/aws4_request\t,Signature=s=x,SignedHeaders=h",
                       NULL, true, &a),
                 0);
    CHECK_EQ_STR(a.access_key_id, "a");
    CHECK_EQ_STR(a.signature, "s"); /* value ends at the next '=' */
}

static void test_query(void) {
    expect_error(NULL, "X-Amz-Algorithm", true, "IncompleteSignatureException",
                 "AWS query-string parameters must include 'X-Amz-Algorithm'. "
                 "AWS query-string parameters must include 'X-Amz-Credential'. "
                 "AWS query-string parameters must include 'X-Amz-Signature'. "
                 "AWS query-string parameters must include 'X-Amz-SignedHeaders'. "
                 "AWS query-string parameters must include 'X-Amz-Date'. "
                 "Re-examine the query-string parameters.");
    expect_error(NULL,
                 "X-Amz-Algorithm=a&X-Amz-Credential=b&X-Amz-Signature=c&X-Amz-SignedHeaders=d",
                 true, "IncompleteSignatureException",
                 "AWS query-string parameters must include 'X-Amz-Date'. Re-examine the "
                 "query-string parameters.");
    expect_error(
        NULL,
        "X-Amz-Algorithm=a&X-Amz-Credential=&X-Amz-Signature=c&X-Amz-SignedHeaders=d&X-Amz-Date=e",
        true, "IncompleteSignatureException",
        "AWS query-string parameters must include 'X-Amz-Credential'. Re-examine the query-string "
        "parameters.");
    sl_sigv4_auth_t a;
    CHECK_EQ_INT(
        check(
            NULL,
            "Action=x&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20240102%2Fus-west-2"
            "%2Fkinesis%2Faws4_request&X-Amz-Date=20240102T000000Z&X-Amz-SignedHeaders=host"
            "&X-Amz-Signature=abc%3D+d",
            false, &a),
        0);
    CHECK(a.from_query);
    CHECK_EQ_STR(a.access_key_id, "AKID");
    CHECK_EQ_STR(a.date, "20240102");
    CHECK_EQ_STR(a.region, "us-west-2");
    CHECK_EQ_STR(a.service, "kinesis");
    CHECK_EQ_STR(a.signed_headers, "host");
    CHECK_EQ_STR(a.signature, "abc= d");
    /* Percent-encoded parameter names count. */
    expect_error(
        "X", "X%2DAmz-Algorithm=1", true, "InvalidSignatureException",
        "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header.");
}

int main(void) {
    sl_arena_init(&arena, 4096);
    test_header_ok();
    test_header_errors();
    test_query();
    sl_arena_deinit(&arena);
    TEST_MAIN_END();
}
