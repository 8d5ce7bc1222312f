/* PutRecord / PutRecords through the typed core (kinesis/put.c), on the memory backend (catalog in
 * a scratch directory): routing by partition key and explicit hash key, grouping by shard in
 * request order, consecutive counters, the validation errors with AWS's texts, and the stored
 * arrival time in the result. */
#include "kinesis_util.h"
#include "test.h"

static void test_single(sl_kinesis_t *k, sl_arena_t *a) {
    sl_krecord_t r = kutil_record("pk", "hello");
    sl_kput_t op;
    kutil_put(k, a, "one", &r, 1, true, &op);
    CHECK(op.err.type == SL_KERR_NONE);
    CHECK_EQ_INT(op.group_count, 1);
    CHECK_EQ_STR(op.groups[0].shard_id, "shardId-000000000000");
    CHECK_EQ_INT(op.groups[0].status, 0);
    CHECK_EQ_INT(op.groups[0].first_seq, 1);
    CHECK(op.groups[0].arrival_ms > 0);
    kutil_put(k, a, "one", &r, 1, true, &op);
    CHECK_EQ_INT(op.groups[0].first_seq, 2);
    /* the sequence number composed from the group is a 56-digit version-2 number of shard 0 */
    sl_seqnum_t sn = sl_kinesis_seqnum(op.groups[0].shard_created_ms, 0, op.groups[0].first_seq,
                                       op.groups[0].arrival_ms);
    char text[64];
    CHECK_EQ_INT(sl_seqnum_format(&sn, text), 56);
    sl_seqnum_t back;
    CHECK_EQ_INT(sl_seqnum_parse(text, strlen(text), &back), 0);
    CHECK_EQ_INT(back.counter, 2);
    CHECK_EQ_INT(back.shard_index, 0);
}

static void test_batch_routing(sl_kinesis_t *k, sl_arena_t *a) {
    /* explicit hash keys pin records to shards: 0 -> first shard, 2^128-1 -> last of 4 */
    enum { N = 100 };
    sl_krecord_t recs[N];
    char pks[N][16];
    for (int i = 0; i < N; i++) {
        snprintf(pks[i], sizeof pks[i], "key-%d", i);
        recs[i] = kutil_record(pks[i], "x");
    }
    recs[0].explicit_hash_key = "0";
    recs[0].explicit_hash_key_len = 1;
    recs[1].explicit_hash_key = "340282366920938463463374607431768211455";
    recs[1].explicit_hash_key_len = strlen(recs[1].explicit_hash_key);
    sl_kput_t op;
    kutil_put(k, a, "four", recs, N, false, &op);
    CHECK(op.err.type == SL_KERR_NONE);
    CHECK_EQ_INT(op.failed, 0);
    CHECK(op.group_count >= 2 && op.group_count <= 4);
    CHECK_EQ_STR(op.groups[op.entries[0].group].shard_id, "shardId-000000000000");
    CHECK_EQ_STR(op.groups[op.entries[1].group].shard_id, "shardId-000000000003");
    /* every record of a group got the next counter, in request order */
    size_t total = 0;
    for (size_t g = 0; g < op.group_count; g++) {
        uint64_t expect = op.groups[g].first_seq;
        for (int i = 0; i < N; i++) {
            if ((size_t)op.entries[i].group != g) continue;
            CHECK_EQ_INT(op.entries[i].seq, expect);
            expect++;
        }
        total += op.groups[g].count;
    }
    CHECK_EQ_INT(total, N);
    /* the same partition key routes to the same shard as before */
    sl_krecord_t again = kutil_record(pks[5], "y");
    sl_kput_t op2;
    kutil_put(k, a, "four", &again, 1, false, &op2);
    CHECK_EQ_STR(op2.groups[0].shard_id, op.groups[op.entries[5].group].shard_id);
    sl_u128_t h = sl_hashkey_of_partition_key(pks[5], strlen(pks[5]));
    CHECK_EQ_INT((int)(h >> 126),
                 (int)(op2.groups[0].shard_index)); /* 4 even ranges: the top 2 bits */
}

static void test_errors(sl_kinesis_t *k, sl_arena_t *a) {
    sl_kput_t op;
    sl_krecord_t r = kutil_record("pk", "d");
    kutil_put(k, a, "missing", &r, 1, true, &op);
    CHECK(op.err.type == SL_KERR_RESOURCE_NOT_FOUND);
    CHECK_EQ_STR(op.err.message, "Stream missing under account 123456789012 not found.");

    sl_krecord_t bad[2] = {kutil_record("a", "1"), kutil_record("b", "2")};
    bad[1].explicit_hash_key = "340282366920938463463374607431768211456"; /* 2^128 */
    bad[1].explicit_hash_key_len = strlen(bad[1].explicit_hash_key);
    kutil_put(k, a, "one", bad, 2, false, &op);
    CHECK(op.err.type == SL_KERR_INVALID_ARGUMENT);
    CHECK_EQ_STR(op.err.message,
                 "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. "
                 "Specified value was 340282366920938463463374607431768211456");

    static uint8_t big[1024 * 1024 + 1];
    sl_krecord_t large[2] = {
        kutil_record("a", "1"),
        {.partition_key = "b", .partition_key_len = 1, .data = big, .data_len = sizeof big}};
    kutil_put(k, a, "one", large, 2, false, &op);
    CHECK(op.err.type == SL_KERR_VALIDATION);
    CHECK(strstr(op.err.message, "at 'records.2.member.data' failed to satisfy constraint") !=
          NULL);
    kutil_put(k, a, "one", &large[1], 1, true, &op);
    CHECK(strstr(op.err.message, "at 'data' failed to satisfy constraint") != NULL);

    /* data within the limit, data + partition key over it */
    sl_krecord_t edge = {
        .partition_key = "pk", .partition_key_len = 2, .data = big, .data_len = 1024 * 1024};
    kutil_put(k, a, "one", &edge, 1, true, &op);
    CHECK(op.err.type == SL_KERR_INVALID_ARGUMENT);
    CHECK(strstr(op.err.message, "Record size 1048578 bytes (data plus partition key) exceeds") !=
          NULL);

    /* 11 records of 1 MiB: the batch is over 10 MiB */
    sl_krecord_t many[11];
    for (int i = 0; i < 11; i++)
        many[i] = (sl_krecord_t){
            .partition_key = "p", .partition_key_len = 1, .data = big, .data_len = 1000000};
    kutil_put(k, a, "one", many, 11, false, &op);
    CHECK(op.err.type == SL_KERR_INVALID_ARGUMENT);
    CHECK_EQ_STR(op.err.message, "Records size exceeds 10 MB limit");

    /* SequenceNumberForOrdering must parse */
    sl_kput_t ord;
    kutil_wait_t w = KUTIL_WAIT_INIT;
    ord = (sl_kput_t){.stream = {.name = "one", .name_len = 3},
                      .records = &r,
                      .count = 1,
                      .single = true,
                      .ordering = "12x",
                      .ordering_len = 3,
                      .now_ms = sl_time_now_ms(),
                      .arena = a,
                      .cb = kutil_put_cb,
                      .arg = &w};
    CHECK_EQ_INT(sl_kinesis_put(k, &ord), SL_KINESIS_DONE);
    CHECK(ord.err.type == SL_KERR_INVALID_ARGUMENT);
    CHECK(strstr(ord.err.message,
                 "ExclusiveMinimumSequenceNumber 12x used in PutRecord on stream one") != NULL);
}

/* The open shard whose range holds h, by a plain scan (the reference for the routing table). */
static sl_kshard_t *route_scan(const sl_kstream_t *s, sl_u128_t h) {
    for (size_t i = 0; i < s->open_count; i++)
        if (s->open_shards[i]->start <= h && h <= s->open_shards[i]->end) return s->open_shards[i];
    return NULL;
}

static void check_routes(const sl_kstream_t *s) {
    for (size_t i = 0; i < s->open_count; i++) {
        const sl_kshard_t *sh = s->open_shards[i];
        sl_u128_t probes[] = {sh->start, sh->end, sh->start + (sh->end - sh->start) / 2};
        for (size_t j = 0; j < SL_ARRAY_LEN(probes); j++)
            CHECK(sl_kstream_route(s, probes[j]) == sh);
    }
    uint64_t x = 0x9E3779B97F4A7C15u;
    for (int i = 0; i < 20000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        sl_u128_t h = (sl_u128_t)x << 64 | (x * 0xBF58476D1CE4E5B9u);
        CHECK(sl_kstream_route(s, h) == route_scan(s, h));
    }
}

/* Streams with many shards route through a table of hash buckets (engine.c, route_bits): every
 * shard's first, middle and last key, and random keys, land where a scan says, also after a
 * reshard left ranges of very different widths. */
static void test_routing_table(sl_kinesis_t *k) {
    sl_kstream_t *s = kutil_stream(k, "wide", 400);
    sl_kinesis_wrlock(k);
    CHECK(s->route_bits > 0);
    check_routes(s);
    /* split shard 200 near its start, then the new right child near its end */
    sl_kshard_t *parent = sl_kstream_shard(s, 200);
    sl_u128_t a = parent->start, b = parent->end;
    CHECK_EQ_INT(sl_kinesis_add_shard(k, s, a, a + 1, 0, -1, sl_time_now_ms(), NULL), 0);
    CHECK_EQ_INT(sl_kinesis_add_shard(k, s, a + 2, b - 3, 0, -1, sl_time_now_ms(), NULL), 0);
    CHECK_EQ_INT(sl_kinesis_add_shard(k, s, b - 2, b, 0, -1, sl_time_now_ms(), NULL), 0);
    parent->closed_ms = sl_time_now_ms();
    CHECK_EQ_INT(sl_kinesis_save_shard(k, parent), 0);
    CHECK_EQ_INT(sl_kstream_reindex(s), 0);
    CHECK_EQ_INT(s->open_count, 402);
    check_routes(s);
    sl_kinesis_unlock(k);
    /* a small stream searches without a table */
    sl_kstream_t *small = sl_kinesis_find(k, "four", 4, sl_time_now_ms());
    CHECK_EQ_INT(small->route_bits, 0);
    check_routes(small);
}

int main(void) {
    char *dir = kutil_tmpdir("kput");
    kutil_engine_t e;
    sl_kinesis_t *k = kutil_open(&e, dir, true);
    sl_arena_t a;
    sl_arena_init(&a, 65536);
    kutil_stream(k, "one", 1);
    kutil_stream(k, "four", 4);
    test_single(k, &a);
    test_batch_routing(k, &a);
    test_errors(k, &a);
    test_routing_table(k);
    sl_arena_deinit(&a);
    kutil_close(&e);
    kutil_rm_rf(dir);
    free(dir);
    TEST_MAIN_END();
}
