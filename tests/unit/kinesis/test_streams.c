/* Streams in the core (kinesis/streams.c) without HTTP: the lifecycle (create with tags, describe,
 * summary, list with NextToken pages, delete), ListShards with its filters and tokens, retention,
 * enhanced monitoring, limits, account settings, mode, warm throughput, max record size and
 * encryption, with AWS's errors; a change whose catalog write fails
 * (tests/support/fault_catalog.h) changes nothing in memory or, after a reopen, in the catalog. */
#include "kinesis_util.h"
#include "kinesis/control.h"
#include "support/fault_catalog.h"
#include "test.h"

static sl_arena_t arena;

static sl_kstream_ref_t ref(const char *name) {
    return (sl_kstream_ref_t){.name = name, .name_len = strlen(name)};
}

static bool create(sl_kinesis_t *k, const char *name, int64_t shards, sl_kerr_t *err) {
    sl_ktag_ref_t tags[] = {{"team", 4, "core", 4}};
    sl_kcreate_t op = {.name = name,
                       .name_len = strlen(name),
                       .has_shard_count = shards > 0,
                       .shard_count = shards,
                       .max_record_size_kib = SL_KINESIS_MAX_RECORD_SIZE_KIB_DEFAULT,
                       .tags = tags,
                       .tag_count = 1,
                       .now_ms = sl_time_now_ms()};
    return sl_kinesis_create_stream_op(k, &op, err);
}

static bool change(sl_kinesis_t *k, sl_kchange_kind_t kind, int64_t value, const char *key_id,
                   sl_kerr_t *err) {
    sl_kstream_change_t op = {.stream = ref("life"),
                              .kind = kind,
                              .retention_hours = value,
                              .max_record_size_kib = value,
                              .encryption_type = "KMS",
                              .key_id = key_id,
                              .now_ms = sl_time_now_ms()};
    return sl_kinesis_change_stream(k, &op, err);
}

static bool summary(sl_kinesis_t *k, const char *name, sl_kstream_info_t *out) {
    sl_kstream_ref_t r = ref(name);
    sl_kerr_t err;
    return sl_kinesis_describe_stream_summary(k, &r, sl_time_now_ms(), out, &err);
}

static void test_lifecycle(sl_kinesis_t *k) {
    sl_kerr_t err;
    CHECK(create(k, "life", 3, &err));
    CHECK(!create(k, "life", 3, &err));
    CHECK(err.type == SL_KERR_RESOURCE_IN_USE);
    CHECK_EQ_STR(err.message, "Stream life under account 123456789012 already exists.");
    sl_kcreate_t bad = {
        .name = "x", .name_len = 1, .now_ms = sl_time_now_ms(), .mode = "PROVISIONED"};
    CHECK(!sl_kinesis_create_stream_op(k, &bad, &err));
    CHECK_EQ_STR(err.message, "ShardCount is required for streams in PROVISIONED mode.");
    CHECK(!create(k, "big", 501, &err));
    CHECK(err.type == SL_KERR_LIMIT_EXCEEDED);

    sl_kstream_info_t s;
    CHECK(summary(k, "life", &s));
    CHECK_EQ_INT(s.status, SL_KS_ACTIVE); /* create_stream_ms is 0 here */
    CHECK_EQ_INT(s.open_shard_count, 3);
    CHECK(!s.on_demand);
    CHECK_EQ_INT(s.retention_hours, 24);

    sl_kdescribe_t d = {
        .stream = ref("life"), .limit = 2, .now_ms = sl_time_now_ms(), .arena = &arena};
    CHECK(sl_kinesis_describe_stream(k, &d, &err));
    CHECK_EQ_INT(d.shard_count, 2);
    CHECK(d.more);
    CHECK_EQ_INT(d.shards[0].index, 0);
    CHECK(d.shards[0].start == 0);
    d.exclusive_start = "shardId-000000000001";
    d.exclusive_start_len = strlen(d.exclusive_start);
    CHECK(sl_kinesis_describe_stream(k, &d, &err));
    CHECK_EQ_INT(d.shard_count, 1);
    CHECK(d.shards[0].end == SL_HASHKEY_MAX);
    CHECK(!d.more);

    /* ListStreams pages */
    CHECK(create(k, "life2", 1, &err));
    CHECK(create(k, "life3", 1, &err));
    sl_klist_streams_t l = {.limit = 2, .now_ms = sl_time_now_ms(), .arena = &arena};
    CHECK(sl_kinesis_list_streams(k, &l, &err));
    CHECK_EQ_INT(l.count, 2);
    CHECK(l.more && l.next != NULL);
    CHECK_EQ_STR(l.streams[0].name, "life");
    l.next_token = l.next;
    l.next_token_len = strlen(l.next);
    CHECK(sl_kinesis_list_streams(k, &l, &err));
    CHECK_EQ_INT(l.count, 2);
    CHECK_EQ_STR(l.streams[0].name, "life3");
    CHECK_EQ_STR(l.streams[1].name, "t");
    CHECK(!l.more);

    /* delete: DELETING then gone (delete_stream_ms 0) */
    char name[129];
    sl_kstream_ref_t r = ref("life3");
    CHECK(sl_kinesis_delete_stream_op(k, &r, false, sl_time_now_ms(), name, &err));
    CHECK_EQ_STR(name, "life3");
    CHECK(!summary(k, "life3", &s));
    CHECK(!sl_kinesis_delete_stream_op(k, &r, false, sl_time_now_ms(), name, &err));
    CHECK(err.type == SL_KERR_RESOURCE_NOT_FOUND);

    /* gone for DescribeStream means free for CreateStream, whether or not the background thread
     * has removed it yet (CI saw ResourceInUseException here through boto3 under load) */
    CHECK(create(k, "life3", 1, &err));
    CHECK(sl_kinesis_delete_stream_op(k, &r, false, sl_time_now_ms(), name, &err));
    CHECK(create(k, "life3", 2, &err));
    CHECK(summary(k, "life3", &s));
    CHECK_EQ_INT(s.open_shard_count, 2);
    CHECK(sl_kinesis_delete_stream_op(k, &r, false, sl_time_now_ms(), name, &err));
}

static void test_list_shards(sl_kinesis_t *k) {
    sl_kerr_t err;
    sl_klist_shards_t op = {.max_results = 1000, .now_ms = sl_time_now_ms(), .arena = &arena};
    CHECK(!sl_kinesis_list_shards(k, &op, &err));
    CHECK_EQ_STR(err.message, "Either NextToken or StreamName should be provided.");
    op.stream = ref("life");
    op.max_results = 2;
    CHECK(sl_kinesis_list_shards(k, &op, &err));
    CHECK_EQ_INT(op.count, 2);
    CHECK(op.next != NULL);
    sl_klist_shards_t next = {.max_results = 2, .now_ms = sl_time_now_ms(), .arena = &arena};
    next.next_token = op.next;
    next.next_token_len = strlen(op.next);
    CHECK(sl_kinesis_list_shards(k, &next, &err));
    CHECK_EQ_INT(next.count, 1);
    CHECK_EQ_INT(next.shards[0].index, 2);
    next.stream = ref("life");
    CHECK(!sl_kinesis_list_shards(k, &next, &err));
    CHECK_EQ_STR(err.message, "NextToken and StreamName cannot be provided together.");

    sl_klist_shards_t f = {.stream = ref("life"),
                           .has_filter = true,
                           .filter_type = "AFTER_SHARD_ID",
                           .filter_shard_id = "shardId-000000000000",
                           .filter_shard_id_len = 20,
                           .max_results = 1000,
                           .now_ms = sl_time_now_ms(),
                           .arena = &arena};
    CHECK(sl_kinesis_list_shards(k, &f, &err));
    CHECK_EQ_INT(f.count, 2);
    f.filter_type = "AT_TIMESTAMP";
    f.filter_shard_id = NULL;
    CHECK(!sl_kinesis_list_shards(k, &f, &err));
    CHECK_EQ_STR(err.message, "Timestamp must be provided when ShardFilter type is AT_TIMESTAMP.");
}

static void test_settings(kutil_engine_t *e, const char *dir) {
    sl_kinesis_t *k = e->k;
    sl_kerr_t err;
    sl_kstream_ref_t r = ref("life");
    int64_t now = sl_time_now_ms();
    CHECK(change(k, SL_KCHANGE_RETENTION_INCREASE, 48, NULL, &err));
    CHECK(!change(k, SL_KCHANGE_RETENTION_INCREASE, 24, NULL, &err));
    CHECK(strstr(err.message, "Use DecreaseRetentionPeriod API.") != NULL);
    CHECK(!change(k, SL_KCHANGE_RETENTION_DECREASE, 1, NULL, &err));
    CHECK(strstr(err.message, "Minimum allowed retention period is 24 hours.") == err.message);

    const char *names[] = {"IncomingBytes", "ALL"};
    sl_kmonitoring_t m = {
        .stream = r, .names = names, .name_count = 1, .enable = true, .now_ms = now};
    CHECK(sl_kinesis_set_monitoring(k, &m, &err));
    CHECK_EQ_INT(m.before.metric_count, 0);
    CHECK_EQ_INT(m.after.metric_count, 1);
    CHECK_EQ_STR(m.after.metrics[0], "IncomingBytes");
    m.names = names + 1;
    CHECK(sl_kinesis_set_monitoring(k, &m, &err));
    CHECK_EQ_INT(m.after.metric_count, SL_KMETRICS_COUNT);

    sl_klimits_t lim;
    sl_kinesis_describe_limits(k, now, &lim);
    CHECK_EQ_INT(lim.shard_limit, 500);
    CHECK_EQ_INT(lim.open_shard_count, 1 + 3 + 1); /* "t" of main, life, life2 */

    sl_kcommitment_t c;
    CHECK(sl_kinesis_update_account(k, true, now, &c, &err));
    CHECK_EQ_INT(c.status, SL_KCOMMIT_ENABLED);
    CHECK(sl_kinesis_update_account(k, false, now + 1000, &c, &err));
    CHECK_EQ_INT(c.status, SL_KCOMMIT_ENABLED_UNTIL_EARLIEST_ALLOWED_END);
    CHECK_EQ_INT(c.earliest_end_ms, now + SL_KINESIS_COMMITMENT_MIN_MS);

    CHECK(!change(k, SL_KCHANGE_ENCRYPTION_START, 0, "not-a-key", &err));
    CHECK_EQ_STR(err.message, "Received KeyId is not a properly formatted Alias or GUID");
    CHECK(change(k, SL_KCHANGE_ENCRYPTION_START, 0, "alias/x", &err));
    sl_kstream_info_t s;
    CHECK(summary(k, "life", &s));
    CHECK(s.encrypted);
    CHECK_EQ_STR(s.key_id, "alias/x");

    /* with every catalog write failing, nothing changes, in memory or in the catalog */
    sl_fault_catalog_install(e->catalog);
    sl_fault_catalog_arm(1, SL_EIO, true);
    CHECK(!change(k, SL_KCHANGE_RETENTION_INCREASE, 72, NULL, &err));
    CHECK(err.type == SL_KERR_INTERNAL && err.cause == SL_EIO);
    CHECK(!change(k, SL_KCHANGE_MAX_RECORD_SIZE, 2048, NULL, &err));
    CHECK(!change(k, SL_KCHANGE_ENCRYPTION_STOP, 0, "alias/x", &err));
    m.enable = false;
    CHECK(!sl_kinesis_set_monitoring(k, &m, &err));
    CHECK(!create(k, "never", 1, &err));
    char name[129];
    CHECK(!sl_kinesis_delete_stream_op(k, &r, false, now, name, &err));
    sl_fault_catalog_disarm();
    sl_fault_catalog_remove(e->catalog);
    for (int pass = 0; pass < 2; pass++) {
        CHECK(summary(e->k, "life", &s));
        CHECK_EQ_INT(s.retention_hours, 48);
        CHECK_EQ_INT(s.max_record_size_kib, SL_KINESIS_MAX_RECORD_SIZE_KIB_DEFAULT);
        CHECK(s.encrypted);
        CHECK_EQ_INT(s.metric_count, SL_KMETRICS_COUNT);
        CHECK(!summary(e->k, "never", &s));
        kutil_close(e);
        kutil_open(e, dir, false);
    }
}

/* CreateStream writes the stream, its shards and its tags in one transaction: whichever write
 * fails, no stream exists afterwards, in memory or in the catalog. */
static void test_create_atomic(kutil_engine_t *e, const char *dir) {
    sl_kerr_t err;
    sl_kstream_info_t s;
    for (long nth = 1; nth <= 4; nth++) { /* stream, shard, tag, commit */
        sl_fault_catalog_install(e->catalog);
        sl_fault_catalog_arm(nth, SL_EIO, false);
        CHECK(!create(e->k, "atomic", 1, &err));
        CHECK_EQ_INT(sl_fault_catalog_failed(), 1);
        sl_fault_catalog_disarm();
        sl_fault_catalog_remove(e->catalog);
        CHECK(!summary(e->k, "atomic", &s));
    }
    kutil_close(e);
    kutil_open(e, dir, false);
    CHECK(!summary(e->k, "atomic", &s));
    CHECK(create(e->k, "atomic", 1, &err));
    sl_ktag_list_t l = {.stream = ref("atomic"), .limit = 10, .now_ms = sl_time_now_ms()};
    l.arena = &arena;
    CHECK(sl_kinesis_tags_list(e->k, &l, &err));
    CHECK_EQ_INT(l.count, 1);
}

int main(void) {
    char *dir = kutil_tmpdir("streams");
    sl_arena_init(&arena, 1 << 20);
    kutil_engine_t e;
    kutil_open(&e, dir, false);
    kutil_stream(e.k, "t", 1);
    test_lifecycle(e.k);
    test_list_shards(e.k);
    test_settings(&e, dir);
    test_create_atomic(&e, dir);
    kutil_close(&e);
    sl_arena_deinit(&arena);
    kutil_rm_rf(dir);
    free(dir);
    TEST_MAIN_END();
}
