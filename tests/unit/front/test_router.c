/* Tests of the front's router (src/front/router.c): routes by X-Amz-Target prefix, by method and
 * path (exact and longest prefix), by SigV4 signing name, the credential scope parser that feeds
 * the last, and what matches nothing. */
#include "core/common.h"
#include "front/router.h"

#include "test.h"

static int kinesis, dynamodb, health, metrics, console, console_api, iam;

static void test_targets(void) {
    sl_router_t r = {0};
    CHECK_EQ_INT(sl_router_add_target(&r, "Kinesis_20131202", &kinesis), 0);
    CHECK_EQ_INT(sl_router_add_target(&r, "DynamoDB_20120810", &dynamodb), 0);
    CHECK(sl_router_by_target(&r, "Kinesis_20131202.PutRecords") == &kinesis);
    CHECK(sl_router_by_target(&r, "DynamoDB_20120810.GetItem") == &dynamodb);
    CHECK(sl_router_by_target(&r, "Kinesis_20131202.") == &kinesis); /* the op is the binding's */
    /* unknown routes: another prefix, a prefix of a prefix, case, no '.', an empty prefix */
    CHECK(sl_router_by_target(&r, "Kinesis_20131203.PutRecords") == NULL);
    CHECK(sl_router_by_target(&r, "Kinesis.PutRecords") == NULL);
    CHECK(sl_router_by_target(&r, "kinesis_20131202.PutRecords") == NULL);
    CHECK(sl_router_by_target(&r, "Kinesis_20131202") == NULL);
    CHECK(sl_router_by_target(&r, ".PutRecords") == NULL);
    CHECK(sl_router_by_target(&r, "") == NULL);
    /* registration errors */
    CHECK_EQ_INT(sl_router_add_target(&r, "Kinesis_20131202", &dynamodb), SL_EEXIST);
    CHECK_EQ_INT(sl_router_add_target(&r, "", &dynamodb), SL_EINVAL);
    CHECK_EQ_INT(sl_router_add_target(&r, "A.B", &dynamodb), SL_EINVAL);
    CHECK(sl_router_by_target(&r, "Kinesis_20131202.PutRecords") == &kinesis);
}

static void test_paths(void) {
    sl_router_t r = {0};
    CHECK_EQ_INT(sl_router_add_path(&r, "GET", "/health", false, &health), 0);
    CHECK_EQ_INT(sl_router_add_path(&r, "GET", "/metrics", false, &metrics), 0);
    CHECK_EQ_INT(sl_router_add_path(&r, "GET", "/console/", true, &console), 0);
    CHECK_EQ_INT(sl_router_add_path(&r, "GET", "/console/api/", true, &console_api), 0);
    CHECK(sl_router_by_path(&r, "GET", "/health") == &health);
    CHECK(sl_router_by_path(&r, "GET", "/health?verbose=1") == &health); /* query ignored */
    CHECK(sl_router_by_path(&r, "GET", "/metrics") == &metrics);
    /* the method is part of the route */
    CHECK(sl_router_by_path(&r, "POST", "/health") == NULL);
    CHECK(sl_router_by_path(&r, "HEAD", "/health") == NULL);
    /* an exact route matches the whole path only */
    CHECK(sl_router_by_path(&r, "GET", "/health/") == NULL);
    CHECK(sl_router_by_path(&r, "GET", "/healthz") == NULL);
    CHECK(sl_router_by_path(&r, "GET", "/Health") == NULL);
    CHECK(sl_router_by_path(&r, "GET", "/") == NULL);
    /* prefixes: the longest wins, whatever the registration order */
    CHECK(sl_router_by_path(&r, "GET", "/console/") == &console);
    CHECK(sl_router_by_path(&r, "GET", "/console/index.html") == &console);
    CHECK(sl_router_by_path(&r, "GET", "/console/api/streams?x=1") == &console_api);
    CHECK(sl_router_by_path(&r, "GET", "/console") == NULL);
    CHECK(sl_router_by_path(&r, "GET", "/consoleX") == NULL);
    /* an exact path beats a prefix that covers it */
    CHECK_EQ_INT(sl_router_add_path(&r, "GET", "/console/api/health", false, &health), 0);
    CHECK(sl_router_by_path(&r, "GET", "/console/api/health") == &health);
    /* same path, another method: a route of its own; same method twice: refused */
    CHECK_EQ_INT(sl_router_add_path(&r, "POST", "/health", false, &metrics), 0);
    CHECK(sl_router_by_path(&r, "POST", "/health") == &metrics);
    CHECK(sl_router_by_path(&r, "GET", "/health") == &health);
    CHECK_EQ_INT(sl_router_add_path(&r, "GET", "/health", false, &metrics), SL_EEXIST);
    CHECK_EQ_INT(sl_router_add_path(&r, "GET", "health", false, &metrics), SL_EINVAL);
    CHECK_EQ_INT(sl_router_add_path(&r, NULL, "/x", false, &metrics), SL_EINVAL);
}

static void test_signing_names(void) {
    sl_router_t r = {0};
    CHECK_EQ_INT(sl_router_add_signing_name(&r, "kinesis", &kinesis), 0);
    CHECK_EQ_INT(sl_router_add_signing_name(&r, "iam", &iam), 0);
    CHECK(sl_router_by_signing_name(&r, "kinesis", 7) == &kinesis);
    CHECK(sl_router_by_signing_name(&r, "iam", 3) == &iam);
    CHECK(sl_router_by_signing_name(&r, "kinesisvideo", 12) == NULL);
    CHECK(sl_router_by_signing_name(&r, "kinesis", 4) == NULL);
    CHECK(sl_router_by_signing_name(&r, "", 0) == NULL);
    CHECK_EQ_INT(sl_router_add_signing_name(&r, "iam", &kinesis), SL_EEXIST);
    CHECK_EQ_INT(sl_router_add_signing_name(&r, "", &kinesis), SL_EINVAL);

    /* the scope's service, from the Authorization header or the presigned query */
    const char *name = NULL;
    size_t len = 0;
    CHECK(sl_router_scope_service("AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/kinesis/"
                                  "aws4_request, SignedHeaders=host;x-amz-date, Signature=ab",
                                  NULL, &name, &len));
    CHECK(len == 7 && memcmp(name, "kinesis", 7) == 0);
    CHECK(sl_router_by_signing_name(&r, name, len) == &kinesis);
    CHECK(sl_router_scope_service(NULL,
                                  "Action=ListUsers&X-Amz-Credential=AKID%2F20260101%2Fus-east-1"
                                  "%2fiam%2Faws4_request&X-Amz-Date=20260101T000000Z",
                                  &name, &len));
    CHECK(len == 3 && memcmp(name, "iam", 3) == 0);
    CHECK(sl_router_by_signing_name(&r, name, len) == &iam);
    /* no scope, or a scope cut short: no signing name */
    CHECK(!sl_router_scope_service(NULL, NULL, &name, &len));
    CHECK(!sl_router_scope_service("AWS4-HMAC-SHA256 Signature=ab", "a=b", &name, &len));
    CHECK(!sl_router_scope_service("AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/kinesis",
                                   NULL, &name, &len));
    CHECK(!sl_router_scope_service("AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1//x", NULL,
                                   &name, &len));
    CHECK(!sl_router_scope_service("Credential=", NULL, &name, &len));
    CHECK(!sl_router_scope_service(NULL, "X-Amz-Credential=AKID%2", &name, &len));
}

static void test_full(void) {
    sl_router_t r = {0};
    int rc = 0;
    char keys[SL_FRONT_ROUTES_MAX + 1][16];
    for (int i = 0; i <= SL_FRONT_ROUTES_MAX; i++) {
        snprintf(keys[i], sizeof keys[i], "svc%d", i);
        rc = sl_router_add_target(&r, keys[i], &kinesis);
        if (i < SL_FRONT_ROUTES_MAX) CHECK_EQ_INT(rc, 0);
    }
    CHECK_EQ_INT(rc, SL_ELIMIT);
    CHECK_EQ_INT(r.target_count, SL_FRONT_ROUTES_MAX);
}

int main(void) {
    test_targets();
    test_paths();
    test_signing_names();
    test_full();
    TEST_MAIN_END();
}
