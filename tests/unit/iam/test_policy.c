/* Unit tests of IAM policy parsing and evaluation (iam/policy.c): Allow/Deny, explicit deny wins,
 * implicit deny, Action wildcards (case-insensitive), NotAction, Resource / NotResource with ARN
 * wildcards, the aws:SourceIp, aws:SecureTransport and sts:ExternalId conditions, and malformed
 * documents. */
#include "test.h"

#include "core/arena.h"
#include "core/common.h"
#include "iam/policy.h"

static sl_arena_t arena;

static const sl_iam_policy_t *parse(const char *text) {
    sl_iam_policy_t *p = NULL;
    const char *reason = NULL;
    int rc = sl_iam_policy_parse(text, strlen(text), &arena, &p, &reason);
    if (rc) fprintf(stderr, "parse: %s\n", reason);
    CHECK_EQ_INT(rc, 0);
    return p;
}

static void expect_malformed(const char *text) {
    sl_iam_policy_t *p = NULL;
    const char *reason = NULL;
    CHECK_EQ_INT(sl_iam_policy_parse(text, strlen(text), &arena, &p, &reason), SL_EINVAL);
    CHECK(reason != NULL);
}

#define ORDERS "arn:aws:kinesis:us-east-1:111122223333:stream/orders"
#define OTHER "arn:aws:kinesis:us-east-1:111122223333:stream/other"

static sl_iam_decision_t decide(const sl_iam_policy_t *p, const char *action, const char *res) {
    sl_iam_request_t r = {.action = action, .resource = res, .source_ip = "10.1.2.3"};
    return sl_iam_policy_decide(p, &r);
}

static void test_allow_and_deny(void) {
    const sl_iam_policy_t *p =
        parse("{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":"
              "\"kinesis:PutRecord\",\"Resource\":\"" ORDERS "\"}]}");
    CHECK_EQ_INT(decide(p, "kinesis:PutRecord", ORDERS), SL_IAM_ALLOW);
    CHECK_EQ_INT(decide(p, "Kinesis:putrecord", ORDERS), SL_IAM_ALLOW); /* actions fold case */
    CHECK_EQ_INT(decide(p, "kinesis:PutRecord", OTHER), SL_IAM_IMPLICIT_DENY);
    CHECK_EQ_INT(decide(p, "kinesis:GetRecords", ORDERS), SL_IAM_IMPLICIT_DENY);
    const sl_iam_policy_t *deny =
        parse("{\"Statement\":{\"Effect\":\"Deny\",\"Action\":\"kinesis:*\",\"Resource\":\"*\"}}");
    const sl_iam_policy_t *both[] = {p, deny};
    sl_iam_request_t r = {.action = "kinesis:PutRecord", .resource = ORDERS};
    CHECK_EQ_INT(sl_iam_policies_decide(both, 2, &r), SL_IAM_EXPLICIT_DENY);
    CHECK_EQ_INT(sl_iam_policies_decide(both, 1, &r), SL_IAM_ALLOW);
    CHECK_EQ_INT(sl_iam_policies_decide(both, 0, &r), SL_IAM_IMPLICIT_DENY);
}

static void test_wildcards_and_not(void) {
    const sl_iam_policy_t *p = parse(
        "{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":[\"kinesis:Get*\",\"kinesis:Describe?"
        "treamSummary\"],\"Resource\":\"arn:aws:kinesis:*:111122223333:stream/ord*\"},"
        "{\"Effect\":\"Allow\",\"NotAction\":\"kinesis:Delete*\",\"NotResource\":\"" ORDERS
        "\"}]}");
    CHECK_EQ_INT(decide(p, "kinesis:GetRecords", ORDERS), SL_IAM_ALLOW);
    CHECK_EQ_INT(decide(p, "kinesis:DescribeStreamSummary", ORDERS), SL_IAM_ALLOW);
    CHECK_EQ_INT(decide(p, "kinesis:PutRecord", ORDERS), SL_IAM_IMPLICIT_DENY);
    CHECK_EQ_INT(decide(p, "kinesis:PutRecord", OTHER), SL_IAM_ALLOW);            /* NotResource */
    CHECK_EQ_INT(decide(p, "kinesis:DeleteStream", OTHER), SL_IAM_IMPLICIT_DENY); /* NotAction */
    CHECK(sl_iam_glob("a*b?d", "aXXbcd", false));
    CHECK(!sl_iam_glob("a*b?d", "aXXbd", false));
    CHECK(sl_iam_glob("*", "", false));
    CHECK(!sl_iam_glob("Stream", "stream", false));
}

static void test_conditions(void) {
    const sl_iam_policy_t *p = parse(
        "{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\",\"Condition\":"
        "{\"IpAddress\":{\"aws:SourceIp\":[\"10.0.0.0/8\",\"192.168.1.7\"]},\"Bool\":{\"aws:"
        "SecureTransport\":\"true\"}}}]}");
    sl_iam_request_t r = {.action = "kinesis:PutRecord",
                          .resource = ORDERS,
                          .source_ip = "10.200.3.4",
                          .secure_transport = true};
    CHECK_EQ_INT(sl_iam_policy_decide(p, &r), SL_IAM_ALLOW);
    r.secure_transport = false;
    CHECK_EQ_INT(sl_iam_policy_decide(p, &r), SL_IAM_IMPLICIT_DENY);
    r.secure_transport = true;
    r.source_ip = "192.168.1.7";
    CHECK_EQ_INT(sl_iam_policy_decide(p, &r), SL_IAM_ALLOW);
    r.source_ip = "192.168.1.8";
    CHECK_EQ_INT(sl_iam_policy_decide(p, &r), SL_IAM_IMPLICIT_DENY);
    r.source_ip = NULL;
    CHECK_EQ_INT(sl_iam_policy_decide(p, &r), SL_IAM_IMPLICIT_DENY);
    const sl_iam_policy_t *q = parse(
        "{\"Statement\":{\"Effect\":\"Deny\",\"Action\":\"*\",\"Resource\":\"*\",\"Condition\":"
        "{\"NotIpAddress\":{\"aws:SourceIp\":\"127.0.0.0/8\"}}}}");
    r.source_ip = "127.0.0.1";
    CHECK_EQ_INT(sl_iam_policy_decide(q, &r), SL_IAM_IMPLICIT_DENY);
    r.source_ip = "10.0.0.1";
    CHECK_EQ_INT(sl_iam_policy_decide(q, &r), SL_IAM_EXPLICIT_DENY);
}

static void test_malformed(void) {
    expect_malformed("");
    expect_malformed("[]");
    expect_malformed("{\"Statement\":[]}");
    expect_malformed("{\"Version\":\"2020-01-01\",\"Statement\":{\"Effect\":\"Allow\","
                     "\"Action\":\"*\",\"Resource\":\"*\"}}");
    expect_malformed("{\"Statement\":{\"Effect\":\"Maybe\",\"Action\":\"*\",\"Resource\":\"*\"}}");
    expect_malformed("{\"Statement\":{\"Effect\":\"Allow\",\"Resource\":\"*\"}}");
    expect_malformed("{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\",\"NotAction\":\"x\","
                     "\"Resource\":\"*\"}}");
    expect_malformed("{\"Statement\":{\"Effect\":\"Allow\",\"Action\":[1],\"Resource\":\"*\"}}");
    expect_malformed("{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\","
                     "\"Condition\":{\"StringEquals\":{\"aws:username\":\"bob\"}}}}");
    expect_malformed("{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\","
                     "\"Principal\":\"*\"}}");
}

/* Resource-based policies: a statement applies to the principals it names only. */
static void test_resource_policy(void) {
    const char *text =
        "{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":[\"arn:aws:iam::"
        "444455556666:root\",\"arn:aws:iam::777788889999:user/bob\"]},\"Action\":\"kinesis:*\","
        "\"Resource\":\"" ORDERS "\"},{\"Effect\":\"Deny\",\"Principal\":\"*\",\"Action\":"
        "\"kinesis:DeleteStream\",\"Resource\":\"*\"}]}";
    sl_iam_policy_t *p = NULL;
    const char *reason = NULL;
    CHECK_EQ_INT(sl_iam_resource_policy_parse(text, strlen(text), &arena, &p, &reason), 0);
    sl_iam_request_t r = {.action = "kinesis:PutRecord",
                          .resource = ORDERS,
                          .principal_arn = "arn:aws:iam::444455556666:user/alice",
                          .principal_account = "444455556666"};
    CHECK(sl_iam_policy_decide(p, &r) == SL_IAM_ALLOW); /* any principal of the root's account */
    r.principal_arn = "arn:aws:iam::777788889999:user/bob";
    r.principal_account = "777788889999";
    CHECK(sl_iam_policy_decide(p, &r) == SL_IAM_ALLOW); /* that user */
    r.principal_arn = "arn:aws:iam::777788889999:user/eve";
    CHECK(sl_iam_policy_decide(p, &r) == SL_IAM_IMPLICIT_DENY); /* another user of its account */
    r.action = "kinesis:DeleteStream";
    CHECK(sl_iam_policy_decide(p, &r) == SL_IAM_EXPLICIT_DENY);
    /* an identity policy may not name a principal; a resource policy must */
    expect_malformed("{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":"
                     "\"*\",\"Resource\":\"*\"}}");
    /* a trust policy names no Resource: it applies to the resource it is attached to */
    const char *trust = "{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":"
                        "\"444455556666\"},\"Action\":\"sts:AssumeRole\"}}";
    CHECK_EQ_INT(sl_iam_resource_policy_parse(trust, strlen(trust), &arena, &p, &reason), 0);
    r.action = "sts:AssumeRole";
    r.resource = "arn:aws:iam::111122223333:role/reader";
    r.principal_account = "444455556666";
    CHECK(sl_iam_policy_decide(p, &r) == SL_IAM_ALLOW);
    const char *no_principal =
        "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}}";
    CHECK_EQ_INT(
        sl_iam_resource_policy_parse(no_principal, strlen(no_principal), &arena, &p, &reason),
        SL_EINVAL);
    /* a service principal (a function's execution role): matched by "Service" only, never by an
     * account or ARN entry, and "Service" never matches a user */
    const char *lambda = "{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":{\"Service\":"
                         "[\"lambda.amazonaws.com\"],\"AWS\":\"444455556666\"},\"Action\":"
                         "\"sts:AssumeRole\"}}";
    CHECK_EQ_INT(sl_iam_resource_policy_parse(lambda, strlen(lambda), &arena, &p, &reason), 0);
    sl_iam_request_t svc = {.action = "sts:AssumeRole",
                            .resource = "arn:aws:iam::111122223333:role/fn",
                            .principal_service = "lambda.amazonaws.com"};
    CHECK(sl_iam_policy_decide(p, &svc) == SL_IAM_ALLOW);
    svc.principal_service = "ec2.amazonaws.com";
    CHECK(sl_iam_policy_decide(p, &svc) == SL_IAM_IMPLICIT_DENY);
    CHECK(sl_iam_policy_decide(p, &r) == SL_IAM_ALLOW); /* the account entry still works */
    const char *only_svc = "{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":{\"Service\":"
                           "\"lambda.amazonaws.com\"},\"Action\":\"sts:AssumeRole\"}}";
    CHECK_EQ_INT(sl_iam_resource_policy_parse(only_svc, strlen(only_svc), &arena, &p, &reason), 0);
    CHECK(sl_iam_policy_decide(p, &r) == SL_IAM_IMPLICIT_DENY);
    sl_iam_request_t acct_named = {.action = "sts:AssumeRole",
                                   .resource = "arn:aws:iam::111122223333:role/fn",
                                   .principal_account = "444455556666",
                                   .principal_service = "lambda.amazonaws.com"};
    const char *acct = "{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":"
                       "\"444455556666\"},\"Action\":\"sts:AssumeRole\"}}";
    CHECK_EQ_INT(sl_iam_resource_policy_parse(acct, strlen(acct), &arena, &p, &reason), 0);
    CHECK(sl_iam_policy_decide(p, &acct_named) == SL_IAM_IMPLICIT_DENY);
    const char *federated = "{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":{"
                            "\"Federated\":\"x\"},\"Action\":\"sts:AssumeRole\"}}";
    CHECK_EQ_INT(sl_iam_resource_policy_parse(federated, strlen(federated), &arena, &p, &reason),
                 SL_EINVAL);
}

/* sts:ExternalId in a trust policy: StringEquals and StringLike need the key, their negations
 * hold without it; other keys under the string operators are not supported. */
static void test_external_id(void) {
    static const struct {
        const char *op, *value, *given;
        sl_iam_decision_t want;
    } cases[] = {
        {"StringEquals", "ext-1", "ext-1", SL_IAM_ALLOW},
        {"StringEquals", "ext-1", "ext-2", SL_IAM_IMPLICIT_DENY},
        {"StringEquals", "ext-1", NULL, SL_IAM_IMPLICIT_DENY},
        {"StringEquals", "ext-1", "EXT-1", SL_IAM_IMPLICIT_DENY}, /* case-sensitive */
        {"StringNotEquals", "ext-1", "ext-2", SL_IAM_ALLOW},
        {"StringNotEquals", "ext-1", "ext-1", SL_IAM_IMPLICIT_DENY},
        {"StringNotEquals", "ext-1", NULL, SL_IAM_ALLOW},
        {"StringLike", "ext-*", "ext-99", SL_IAM_ALLOW},
        {"StringLike", "ext-?", "ext-99", SL_IAM_IMPLICIT_DENY},
        {"StringLike", "ext-*", NULL, SL_IAM_IMPLICIT_DENY},
        {"StringNotLike", "ext-*", "other", SL_IAM_ALLOW},
        {"StringNotLike", "ext-*", "ext-1", SL_IAM_IMPLICIT_DENY},
    };
    for (size_t i = 0; i < SL_ARRAY_LEN(cases); i++) {
        char text[512];
        snprintf(text, sizeof text,
                 "{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"444455556666\"},"
                 "\"Action\":\"sts:AssumeRole\",\"Condition\":{\"%s\":{\"sts:ExternalId\":"
                 "[\"nope\",\"%s\"]}}}}",
                 cases[i].op, cases[i].value);
        sl_iam_policy_t *p = NULL;
        const char *reason = NULL;
        CHECK_EQ_INT(sl_iam_resource_policy_parse(text, strlen(text), &arena, &p, &reason), 0);
        sl_iam_request_t r = {.action = "sts:AssumeRole",
                              .resource = "arn:aws:iam::111122223333:role/vendor",
                              .principal_account = "444455556666",
                              .external_id = cases[i].given};
        if (p && sl_iam_policy_decide(p, &r) != cases[i].want)
            fprintf(stderr, "case %zu: %s %s %s\n", i, cases[i].op, cases[i].value,
                    cases[i].given ? cases[i].given : "(none)");
        CHECK(p && sl_iam_policy_decide(p, &r) == cases[i].want);
    }
    expect_malformed("{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\","
                     "\"Condition\":{\"StringEquals\":{\"aws:username\":\"x\"}}}}");
}

int main(void) {
    sl_arena_init(&arena, 4096);
    test_external_id();
    test_resource_policy();
    test_allow_and_deny();
    test_wildcards_and_not();
    test_conditions();
    test_malformed();
    sl_arena_deinit(&arena);
    TEST_MAIN_END();
}
