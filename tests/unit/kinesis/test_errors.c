/* Errors as values and stream resolution (kinesis/errors.c): StreamName / StreamARN with AWS's
 * texts, storage failures as throttling or internal errors with their cause, and the composition
 * of public sequence numbers. */
#include "kinesis_util.h"
#include "test.h"

static sl_kstream_ref_t by_name(const char *n) {
    return (sl_kstream_ref_t){.name = n, .name_len = strlen(n)};
}
static sl_kstream_ref_t by_arn(const char *a) {
    return (sl_kstream_ref_t){.arn = a, .arn_len = strlen(a)};
}

static void test_resolve(sl_kinesis_t *k) {
    int64_t now = sl_time_now_ms();
    sl_kerr_t err;
    sl_kinesis_rdlock(k);
    sl_kstream_ref_t r = by_name("s");
    CHECK(sl_kinesis_resolve(k, &r, now, &err) != NULL);
    r = by_arn("arn:aws:kinesis:us-east-1:123456789012:stream/s");
    CHECK(sl_kinesis_resolve(k, &r, now, &err) != NULL);
    r = by_name("nope");
    CHECK(sl_kinesis_resolve(k, &r, now, &err) == NULL);
    CHECK(err.type == SL_KERR_RESOURCE_NOT_FOUND);
    CHECK_EQ_STR(err.message, "Stream nope under account 123456789012 not found.");
    r = (sl_kstream_ref_t){0};
    CHECK(sl_kinesis_resolve(k, &r, now, &err) == NULL);
    CHECK(err.type == SL_KERR_INVALID_ARGUMENT);
    CHECK_EQ_STR(err.message, "Either StreamName or StreamARN must be provided.");
    r = by_arn("arn:aws:kinesis:us-east-1:123456789012:stream/s");
    r.name = "t";
    r.name_len = 1;
    CHECK(sl_kinesis_resolve(k, &r, now, &err) == NULL);
    CHECK_EQ_STR(
        err.message,
        "StreamARN arn:aws:kinesis:us-east-1:123456789012:stream/s and StreamName t do not "
        "identify the same stream.");
    r = by_arn("arn:aws:kinesis:us-east-1:999999999999:stream/s"); /* another account */
    CHECK(sl_kinesis_resolve(k, &r, now, &err) == NULL);
    CHECK(err.type == SL_KERR_RESOURCE_NOT_FOUND);
    r = by_arn("not-an-arn");
    CHECK(sl_kinesis_resolve(k, &r, now, &err) == NULL);
    CHECK(err.type == SL_KERR_INVALID_ARGUMENT);
    CHECK_EQ_STR(err.message, "Invalid StreamARN not-an-arn.");
    sl_kinesis_unlock(k);
}

static void test_storage_errors(sl_kinesis_t *k) {
    sl_kerr_t err;
    CHECK(!sl_kerr_storage(&err, k, SL_EAGAIN));
    CHECK(err.type == SL_KERR_THROUGHPUT_EXCEEDED);
    CHECK(strstr(err.message, "Rate exceeded for shard in stream under account 123456789012") !=
          NULL);
    CHECK(!sl_kerr_storage(&err, k, SL_ENOSPC));
    CHECK(err.type == SL_KERR_INTERNAL);
    CHECK_EQ_INT(err.cause, SL_ENOSPC);
    CHECK_EQ_STR(err.message, "");
    CHECK(!sl_kerr_set(&err, SL_KERR_VALIDATION, NULL));
    CHECK_EQ_STR(err.message, "");
    CHECK_EQ_INT(err.cause, 0);
}

static void test_seqnum(void) {
    /* shard created at 1,500,000,000.999 s, shard 3, counter 7, record at 1,600,000,000.5 s */
    sl_seqnum_t sn = sl_kinesis_seqnum(1500000000999, 3, 7, 1600000000500);
    CHECK_EQ_INT(sn.shard_created_s, 1500000000);
    CHECK_EQ_INT(sn.record_s, 1600000000);
    CHECK_EQ_INT(sn.shard_index, 3);
    CHECK_EQ_INT(sn.counter, 7);
    char a[64], b[64];
    CHECK_EQ_INT(sl_seqnum_format(&sn, a), 56);
    sl_seqnum_t next = sl_kinesis_seqnum(1500000000999, 3, 8, 1600000000500);
    sl_seqnum_format(&next, b);
    CHECK(sl_seqnum_cmp_dec(a, strlen(a), b, strlen(b)) < 0); /* a larger counter sorts after */
}

int main(void) {
    char *dir = kutil_tmpdir("kerr");
    kutil_engine_t e;
    sl_kinesis_t *k = kutil_open(&e, dir, true);
    kutil_stream(k, "s", 1);
    test_resolve(k);
    test_storage_errors(k);
    test_seqnum();
    kutil_close(&e);
    kutil_rm_rf(dir);
    free(dir);
    TEST_MAIN_END();
}
