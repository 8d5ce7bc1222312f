/* Shard ids (kinesalite's lenient parse) and stream/consumer/resource ARNs. */
#include "core/common.h"
#include "kinesis/names.h"
#include "test.h"

static int sid(const char *s, uint32_t *ix) {
    return sl_shardid_parse(s, strlen(s), ix);
}

static bool slice_eq(const char *p, size_t n, const char *want) {
    return p && n == strlen(want) && memcmp(p, want, n) == 0;
}

int main(void) {
    char buf[24];
    CHECK_EQ_INT(sl_shardid_format(0, buf), 20);
    CHECK_EQ_STR(buf, "shardId-000000000000");
    sl_shardid_format(1234567, buf);
    CHECK_EQ_STR(buf, "shardId-000001234567");
    sl_shardid_format(UINT32_MAX, buf);
    CHECK_EQ_STR(buf, "shardId-004294967295");

    uint32_t ix = 99;
    CHECK_EQ_INT(sid("shardId-000000000001", &ix), 0);
    CHECK_EQ_INT(ix, 1);
    CHECK_EQ_INT(sid("shardId-12", &ix), 0);
    CHECK_EQ_INT(ix, 12);
    CHECK_EQ_INT(sid("7", &ix), 0);
    CHECK_EQ_INT(ix, 7);
    CHECK_EQ_INT(sid("anything-5", &ix), 0);
    CHECK_EQ_INT(ix, 5);
    CHECK_EQ_INT(sid("a-3-b", &ix), 0); /* split('-')[1] */
    CHECK_EQ_INT(ix, 3);
    CHECK_EQ_INT(sid("shardId-2147483647", &ix), 0);
    CHECK_EQ_INT(ix, 2147483647);
    CHECK_EQ_INT(sid("shardId-2147483648", &ix), SL_EINVAL);
    CHECK_EQ_INT(sid("shardId-99999999999999999999999", &ix), SL_EINVAL);
    CHECK_EQ_INT(sid("shardId-", &ix), SL_EINVAL);
    CHECK_EQ_INT(sid("shardId-x1", &ix), SL_EINVAL);
    CHECK_EQ_INT(sid("shardId-1 ", &ix), SL_EINVAL);
    CHECK_EQ_INT(sid("", &ix), SL_EINVAL);
    CHECK_EQ_INT(sid("-", &ix), SL_EINVAL);
    CHECK_EQ_INT(sid("-4", &ix), 0); /* kinesalite: "-4".split('-')[1] is "4" */
    CHECK_EQ_INT(ix, 4);

    char arn[256];
    CHECK_EQ_INT(sl_arn_stream(arn, 48, "us-east-1", "000000000000", "s1"), SL_ELIMIT);
    CHECK_EQ_INT(sl_arn_stream(arn, 49, "us-east-1", "000000000000", "s1"), 48);
    CHECK_EQ_STR(arn, "arn:aws:kinesis:us-east-1:000000000000:stream/s1");
    sl_arn_t a;
    CHECK_EQ_INT(sl_arn_parse_stream(arn, strlen(arn), &a), 0);
    CHECK(slice_eq(a.partition, a.partition_len, "aws"));
    CHECK(slice_eq(a.region, a.region_len, "us-east-1"));
    CHECK(slice_eq(a.account, a.account_len, "000000000000"));
    CHECK(slice_eq(a.stream, a.stream_len, "s1"));
    CHECK_EQ_INT(a.consumer_len, 0);

    const char *cn = "arn:aws-cn:kinesis:cn-north-1:123456789012:stream/my.stream";
    CHECK_EQ_INT(sl_arn_parse_stream(cn, strlen(cn), &a), 0);
    CHECK(slice_eq(a.partition, a.partition_len, "aws-cn"));
    CHECK(slice_eq(a.stream, a.stream_len, "my.stream"));

    const char *bad[] = {
        "",
        "arn:aws:kinesis:us-east-1:00000000000:stream/s",   /* 11-digit account */
        "arn:aws:kinesis:us-east-1:0000000000000:stream/s", /* 13 digits */
        "arn:aws:kinesis:us-east-1:00000000000a:stream/s",
        "arn:aws:kinesis::000000000000:stream/s", /* empty region */
        "arn:aws:sqs:us-east-1:000000000000:stream/s",
        "arn:gcp:kinesis:us-east-1:000000000000:stream/s",
        "arn:aws:kinesis:us-east-1:000000000000:stream/",
        "arn:aws:kinesis:us-east-1:000000000000:streams/s",
        "arn:aws:kinesis:us-east-1:000000000000:stream/a b",
        "arn:aws:kinesis:us-east-1:000000000000:stream/a/b",
        "arn:aws:kinesis:us-east-1:000000000000",
    };
    for (size_t i = 0; i < SL_ARRAY_LEN(bad); i++) {
        int rc = sl_arn_parse_stream(bad[i], strlen(bad[i]), &a);
        if (rc != SL_EINVAL) fprintf(stderr, "accepted: %s\n", bad[i]);
        CHECK_EQ_INT(rc, SL_EINVAL);
    }

    CHECK(sl_arn_consumer(arn, sizeof arn, "eu-west-1", "123456789012", "st", "app-1", 1700000000) >
          0);
    CHECK_EQ_STR(arn, "arn:aws:kinesis:eu-west-1:123456789012:stream/st/consumer/app-1:1700000000");
    CHECK_EQ_INT(sl_arn_parse_consumer(arn, strlen(arn), &a), 0);
    CHECK(slice_eq(a.region, a.region_len, "eu-west-1"));
    CHECK(slice_eq(a.stream, a.stream_len, "st"));
    CHECK(slice_eq(a.consumer, a.consumer_len, "app-1"));
    CHECK(a.consumer_created_s == 1700000000);
    CHECK_EQ_INT(sl_arn_parse_stream(arn, strlen(arn), &a), SL_EINVAL);

    CHECK_EQ_INT(sl_arn_parse_resource(arn, strlen(arn), &a), 0);
    CHECK(slice_eq(a.consumer, a.consumer_len, "app-1"));
    const char *sarn = "arn:aws:kinesis:us-east-1:000000000000:stream/s1";
    CHECK_EQ_INT(sl_arn_parse_resource(sarn, strlen(sarn), &a), 0);
    CHECK(slice_eq(a.stream, a.stream_len, "s1"));
    CHECK_EQ_INT(a.consumer_len, 0);

    const char *bad_consumers[] = {
        "arn:aws:kinesis:eu-west-1:123456789012:stream/st/consumer/app-1",
        "arn:aws:kinesis:eu-west-1:123456789012:stream/st/consumer/app-1:",
        "arn:aws:kinesis:eu-west-1:123456789012:stream/st/consumer/app-1:12x",
        "arn:aws:kinesis:eu-west-1:123456789012:stream/st/consumer/:17",
        "arn:aws:kinesis:eu-west-1:123456789012:stream//consumer/c:17",
        "arn:aws:kinesis:eu-west-1:123456789012:stream/st/consumer/a/b:17",
        "arn:aws:kinesis:eu-west-1:123456789012:stream/st/consumer/a:1234567890123456789012",
    };
    for (size_t i = 0; i < SL_ARRAY_LEN(bad_consumers); i++) {
        const char *s = bad_consumers[i];
        int rc = sl_arn_parse_consumer(s, strlen(s), &a);
        if (rc != SL_EINVAL) fprintf(stderr, "accepted: %s\n", s);
        CHECK_EQ_INT(rc, SL_EINVAL);
        CHECK_EQ_INT(sl_arn_parse_resource(s, strlen(s), &a), SL_EINVAL);
    }
    TEST_MAIN_END();
}
