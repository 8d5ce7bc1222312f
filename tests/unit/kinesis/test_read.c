/* The reader (kinesis/read.c) on the file backend in a scratch directory: starting positions
 * (TRIM_HORIZON, LATEST, AT/AFTER_SEQUENCE_NUMBER, AT_TIMESTAMP on the reader pool) with AWS's
 * errors, reads with record and byte budgets, iterator sealing and expiry, and the end of a closed
 * shard with its children. */
#include "kinesis_util.h"
#include "test.h"

static sl_kstart_t start(sl_kstart_type_t t) {
    return (sl_kstart_t){.type = t};
}

static void fill_stream(sl_kinesis_t *k, sl_arena_t *a, const char *name, int n, size_t size) {
    char *data = malloc(size + 1);
    memset(data, 'd', size);
    data[size] = 0;
    sl_krecord_t *recs = calloc((size_t)n, sizeof *recs);
    for (int i = 0; i < n; i++)
        recs[i] = kutil_record("pk", data);
    sl_kput_t op;
    kutil_put(k, a, name, recs, (size_t)n, false, &op);
    CHECK(op.err.type == SL_KERR_NONE);
    CHECK_EQ_INT(op.failed, 0);
    free(recs);
    free(data);
}

static void fill(sl_kinesis_t *k, sl_arena_t *a, int n, size_t size) {
    fill_stream(k, a, "s", n, size);
}

static void test_positions(sl_kinesis_t *k) {
    sl_kiterator_t it;
    kutil_iterator(k, "s", "shardId-000000000000", start(SL_KSTART_TRIM_HORIZON), &it);
    CHECK(it.err.type == SL_KERR_NONE);
    CHECK(it.iterator_len > 0);
    CHECK_EQ_INT(it.reader.shard_index, 0);
    sl_kreader_t horizon = it.reader;

    kutil_iterator(k, "s", "shardId-000000000000", start(SL_KSTART_LATEST), &it);
    CHECK(it.err.type == SL_KERR_NONE);
    CHECK_EQ_INT(it.reader.position, 21); /* 20 records: the tip is counter 21 */

    /* read the first record to get its public sequence number, then start AT and AFTER it */
    sl_kread_t rd;
    kutil_read(k, &horizon, 1, 1 << 20, &rd);
    CHECK(rd.err.type == SL_KERR_NONE);
    CHECK_EQ_INT(rd.count, 1);
    char seq[64];
    sl_seqnum_t sn = sl_kinesis_seqnum(rd.shard_created_ms, rd.shard_index, rd.records[0].seq,
                                       rd.records[0].arrival_ms);
    sl_seqnum_format(&sn, seq);
    int64_t first_arrival = rd.records[0].arrival_ms;
    sl_kread_release(&rd);
    sl_kstart_t at = {.type = SL_KSTART_AT_SEQUENCE_NUMBER,
                      .sequence_number = seq,
                      .sequence_number_len = strlen(seq)};
    kutil_iterator(k, "s", "shardId-000000000000", at, &it);
    CHECK(it.err.type == SL_KERR_NONE);
    CHECK_EQ_INT(it.reader.position, 1);
    at.type = SL_KSTART_AFTER_SEQUENCE_NUMBER;
    kutil_iterator(k, "s", "shardId-000000000000", at, &it);
    CHECK_EQ_INT(it.reader.position, 2);

    /* AT_TIMESTAMP seeks on the reader pool */
    sl_kstart_t ts = {
        .type = SL_KSTART_AT_TIMESTAMP, .has_timestamp = true, .timestamp_ms = first_arrival};
    kutil_iterator(k, "s", "shardId-000000000000", ts, &it);
    CHECK(it.err.type == SL_KERR_NONE);
    CHECK_EQ_INT(it.reader.position, 1);
    CHECK(it.iterator_len > 0);
    ts.timestamp_ms = sl_time_now_ms() + 60000;
    kutil_iterator(k, "s", "shardId-000000000000", ts, &it);
    CHECK(it.err.type == SL_KERR_INVALID_ARGUMENT);
    CHECK(strstr(it.err.message, "cannot be greater than the currentTimestampInMillis") != NULL);
    kutil_iterator(k, "s", "shardId-000000000000", start(SL_KSTART_AT_TIMESTAMP), &it);
    CHECK(strstr(it.err.message, "Must specify timestampInMillis parameter") != NULL);

    /* errors with AWS's texts */
    kutil_iterator(k, "s", "shardId-000000000000", start(SL_KSTART_AT_SEQUENCE_NUMBER), &it);
    CHECK(strstr(it.err.message,
                 "Request specified AT_SEQUENCE_NUMBER and no StartingSequenceNumber.") != NULL);
    sl_kstart_t bad = {
        .type = SL_KSTART_AT_SEQUENCE_NUMBER, .sequence_number = "123", .sequence_number_len = 3};
    kutil_iterator(k, "s", "shardId-000000000000", bad, &it);
    CHECK(it.err.type == SL_KERR_INVALID_ARGUMENT); /* an old-layout number: not from this shard */
    kutil_iterator(k, "s", "shardId-000000000009", start(SL_KSTART_LATEST), &it);
    CHECK(it.err.type == SL_KERR_RESOURCE_NOT_FOUND);
    CHECK_EQ_STR(
        it.err.message,
        "Shard shardId-000000000009 in stream s under account 123456789012 does not exist");
    kutil_iterator(k, "nope", "shardId-000000000000", start(SL_KSTART_LATEST), &it);
    CHECK_EQ_STR(
        it.err.message,
        "Shard shardId-000000000000 in stream nope under account 123456789012 does not exist");
    CHECK(sl_kstart_type_parse("LATEST") == SL_KSTART_LATEST);
    CHECK(sl_kstart_type_parse("bogus") == SL_KSTART_AT_TIMESTAMP);
}

static void test_budgets(sl_kinesis_t *k) {
    sl_kreader_t r = {.stream = "s", .shard_index = 0, .position = 0};
    sl_kiterator_t it;
    kutil_iterator(k, "s", "shardId-000000000000", start(SL_KSTART_TRIM_HORIZON), &it);
    r = it.reader;
    sl_kread_t rd;
    /* record budget */
    kutil_read(k, &r, 7, 10 << 20, &rd);
    CHECK(rd.err.type == SL_KERR_NONE);
    CHECK_EQ_INT(rd.count, 7);
    CHECK_EQ_INT(rd.records[0].seq, 1);
    CHECK_EQ_INT(rd.next_position, 8);
    CHECK(!rd.caught_up);
    CHECK(!rd.shard_ended);
    CHECK_EQ_INT(rd.bytes, 7 * (1000 + 2));
    sl_kread_release(&rd);
    /* byte budget: 3 records of 1,002 budget bytes fit in 3,100 */
    r.position = 8;
    kutil_read(k, &r, 100, 3100, &rd);
    CHECK_EQ_INT(rd.count, 3);
    CHECK_EQ_INT(rd.next_position, 11);
    sl_kread_release(&rd);
    /* at least one record even when it is larger than the byte budget */
    r.position = 11;
    kutil_read(k, &r, 100, 10, &rd);
    CHECK_EQ_INT(rd.count, 1);
    sl_kread_release(&rd);
    /* to the tip: caught up, continuation is the last record's number */
    r.position = 12;
    kutil_read(k, &r, 100, 10 << 20, &rd);
    CHECK_EQ_INT(rd.count, 9);
    CHECK(rd.caught_up);
    CHECK_EQ_INT(rd.millis_behind, 0);
    CHECK_EQ_INT(rd.continuation.counter, 20);
    sl_kread_release(&rd);
    /* past the tip: nothing, still caught up */
    r.position = 21;
    kutil_read(k, &r, 100, 10 << 20, &rd);
    CHECK_EQ_INT(rd.count, 0);
    CHECK(rd.caught_up);
    CHECK_EQ_INT(rd.continuation.counter, 20);
    sl_kread_release(&rd);
    /* a reader of a stream that does not exist */
    sl_kreader_t gone = {.stream = "nope", .shard_index = 0};
    kutil_read(k, &gone, 10, 1000, &rd);
    CHECK(rd.err.type == SL_KERR_RESOURCE_NOT_FOUND);
    CHECK_EQ_STR(
        rd.err.message,
        "Shard shardId-000000000000 in stream nope under account 123456789012 does not exist");
}

/* Reads complete on the reader pool, never on the caller's (network) thread. */
static char cb_thread_name[16];
static bool cb_on_caller;
static pthread_t caller;

static void thread_cb(sl_kread_t *op) {
    cb_on_caller = pthread_equal(pthread_self(), caller);
    pthread_getname_np(pthread_self(), cb_thread_name, sizeof cb_thread_name);
    kutil_signal(op->arg);
}

static void test_pool_thread(sl_kinesis_t *k) {
    kutil_wait_t w = KUTIL_WAIT_INIT;
    caller = pthread_self();
    sl_kread_t rd = {.reader = {.stream = "s", .shard_index = 0, .position = 1},
                     .records_max = 5,
                     .bytes_max = 1 << 20,
                     .now_ms = sl_time_now_ms(),
                     .cb = thread_cb,
                     .arg = &w};
    sl_kiterator_t it;
    kutil_iterator(k, "s", "shardId-000000000000", start(SL_KSTART_TRIM_HORIZON), &it);
    rd.reader = it.reader;
    CHECK_EQ_INT(sl_kinesis_read(k, &rd), SL_KINESIS_PENDING);
    kutil_block(&w);
    CHECK(!cb_on_caller);
    CHECK_EQ_STR(cb_thread_name, "sl-read");
    CHECK_EQ_INT(rd.count, 5);
    sl_kread_release(&rd);
}

/* memory_first: records still in storage's memory are read during the call, with exactly the
 * result a pool read gives; a read storage cannot serve from memory still goes to the pool. */
static void test_memory_first(sl_kinesis_t *k, sl_arena_t *a) {
    kutil_stream(k, "m", 1);
    sl_kiterator_t it;
    kutil_iterator(k, "m", "shardId-000000000000", start(SL_KSTART_LATEST), &it);
    fill_stream(k, a, "m", 3, 100);
    sl_kread_t pool, mem = {.reader = it.reader,
                            .records_max = 10,
                            .bytes_max = 1 << 20,
                            .memory_first = true,
                            .now_ms = sl_time_now_ms(),
                            .cb = thread_cb};
    CHECK_EQ_INT(sl_kinesis_read(k, &mem), SL_KINESIS_DONE);
    CHECK(mem.err.type == SL_KERR_NONE);
    kutil_read(k, &it.reader, 10, 1 << 20, &pool);
    CHECK_EQ_INT(mem.count, 3);
    CHECK_EQ_INT(mem.count, pool.count);
    CHECK_EQ_INT(mem.next_position, pool.next_position);
    CHECK(mem.caught_up && pool.caught_up);
    CHECK_EQ_INT(mem.millis_behind, pool.millis_behind);
    char c1[64], c2[64];
    sl_seqnum_format(&mem.continuation, c1);
    sl_seqnum_format(&pool.continuation, c2);
    CHECK_EQ_STR(c1, c2);
    for (size_t i = 0; i < mem.count; i++) {
        CHECK_EQ_INT(mem.records[i].seq, pool.records[i].seq);
        CHECK_EQ_INT(mem.records[i].partition_key_len, 2);
        CHECK(memcmp(mem.records[i].data, pool.records[i].data, 100) == 0);
    }
    sl_kread_release(&mem);
    sl_kread_release(&pool);
    /* from the horizon the first records are no longer in the tail once it was written out */
    kutil_wait_t w = KUTIL_WAIT_INIT;
    kutil_iterator(k, "m", "shardId-000000000000", start(SL_KSTART_TRIM_HORIZON), &it);
    fill_stream(k, a, "m", 40, 1000); /* more than SL_STORAGE_TAIL_FLUSH_BYTES */
    mem = (sl_kread_t){.reader = it.reader,
                       .records_max = 5,
                       .bytes_max = 1 << 20,
                       .memory_first = true,
                       .now_ms = sl_time_now_ms(),
                       .cb = thread_cb,
                       .arg = &w};
    caller = pthread_self();
    CHECK_EQ_INT(sl_kinesis_read(k, &mem), SL_KINESIS_PENDING);
    kutil_block(&w);
    CHECK_EQ_STR(cb_thread_name, "sl-read");
    CHECK_EQ_INT(mem.count, 5);
    sl_kread_release(&mem);
}

/* A stream deleted while reads of it are queued on the pool: every read completes (records or
 * ResourceNotFound), and the background thread removes the stream once they are done. */
typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    int done;
} count_t;

static void count_cb(sl_kread_t *op) {
    count_t *c = op->arg;
    pthread_mutex_lock(&c->mu);
    c->done++;
    pthread_cond_signal(&c->cond);
    pthread_mutex_unlock(&c->mu);
}

static bool stream_listed(sl_kinesis_t *k, const char *name) {
    bool found = false;
    sl_kinesis_rdlock(k);
    for (size_t i = 0; i < k->stream_count; i++)
        found |= strcmp(k->streams[i]->name, name) == 0;
    sl_kinesis_unlock(k);
    return found;
}

static void test_delete_during_reads(sl_kinesis_t *k, sl_arena_t *a) {
    enum { READS = 16 };
    kutil_stream(k, "d", 1);
    static char data[1001];
    memset(data, 'x', 1000);
    sl_krecord_t recs[50];
    for (int i = 0; i < 50; i++)
        recs[i] = kutil_record("pk", data);
    sl_kput_t put;
    kutil_put(k, a, "d", recs, 50, false, &put);
    CHECK_EQ_INT(put.failed, 0);
    sl_kiterator_t it;
    kutil_iterator(k, "d", "shardId-000000000000", start(SL_KSTART_TRIM_HORIZON), &it);
    count_t c = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
    static sl_kread_t rds[READS];
    int pending = 0;
    for (int i = 0; i < READS; i++) {
        rds[i] = (sl_kread_t){.reader = it.reader,
                              .records_max = 50,
                              .bytes_max = 1 << 20,
                              .now_ms = sl_time_now_ms(),
                              .cb = count_cb,
                              .arg = &c};
        pending += sl_kinesis_read(k, &rds[i]) == SL_KINESIS_PENDING;
    }
    sl_kinesis_wrlock(k);
    sl_kstream_t *s = sl_kinesis_find(k, "d", 1, sl_time_now_ms());
    CHECK(s != NULL);
    if (s) CHECK_EQ_INT(sl_kinesis_delete_stream(k, s, sl_time_now_ms()), 0);
    sl_kinesis_unlock(k);
    pthread_mutex_lock(&c.mu);
    while (c.done < pending)
        pthread_cond_wait(&c.cond, &c.mu);
    pthread_mutex_unlock(&c.mu);
    for (int i = 0; i < READS; i++) {
        CHECK(rds[i].err.type == SL_KERR_NONE || rds[i].err.type == SL_KERR_RESOURCE_NOT_FOUND);
        CHECK(rds[i].count == 0 || rds[i].count == 50);
        sl_kread_release(&rds[i]);
    }
    /* the background thread removes it (polling the engine's list, at most 5 s) */
    int64_t deadline = sl_time_now_ms() + 5000;
    while (stream_listed(k, "d") && sl_time_now_ms() < deadline)
        sl_kinesis_kick(k), usleep(1000);
    CHECK(!stream_listed(k, "d"));
}

static void test_iterators(sl_kinesis_t *k) {
    sl_kreader_t r = {.stream = "s", .stream_created_ms = 42, .shard_index = 3, .position = 99};
    char text[SL_TOKEN_ITERATOR_CHARS_MAX + 1];
    int n = sl_kinesis_iterator_seal(k, &r, sl_time_now_ms(), text);
    CHECK(n > 0);
    sl_kreader_t back;
    sl_kerr_t err;
    CHECK(sl_kinesis_iterator_open(k, text, (size_t)n, sl_time_now_ms(), &back, &err));
    CHECK_EQ_STR(back.stream, "s");
    CHECK_EQ_INT(back.stream_created_ms, 42);
    CHECK_EQ_INT(back.shard_index, 3);
    CHECK_EQ_INT(back.position, 99);
    CHECK(!sl_kinesis_iterator_open(k, text, (size_t)n, sl_time_now_ms() + 301000, &back, &err));
    CHECK(err.type == SL_KERR_EXPIRED_ITERATOR);
    CHECK(strstr(err.message, "Iterator expired. The iterator was created at time ") != NULL);
    CHECK(!sl_kinesis_iterator_open(k, "AAAA", 4, sl_time_now_ms(), &back, &err));
    CHECK(err.type == SL_KERR_INVALID_ARGUMENT);
    CHECK_EQ_STR(err.message, "Invalid ShardIterator.");
}

static void test_shard_end(sl_kinesis_t *k, sl_arena_t *a) {
    /* split shard 0 of "s" by hand: close it, add two children */
    sl_kinesis_wrlock(k);
    sl_kstream_t *s = sl_kinesis_find(k, "s", 1, sl_time_now_ms());
    sl_kshard_t *parent = sl_kstream_shard(s, 0);
    sl_u128_t mid = SL_HASHKEY_MAX / 2;
    CHECK_EQ_INT(sl_kinesis_add_shard(k, s, 0, mid, 0, -1, sl_time_now_ms(), NULL), 0);
    CHECK_EQ_INT(sl_kinesis_add_shard(k, s, mid + 1, SL_HASHKEY_MAX, 0, -1, sl_time_now_ms(), NULL),
                 0);
    parent->closed_ms = sl_time_now_ms();
    CHECK_EQ_INT(sl_kinesis_save_shard(k, parent), 0);
    CHECK_EQ_INT(sl_kstream_reindex(s), 0);
    sl_kinesis_unlock(k);
    sl_kiterator_t it;
    kutil_iterator(k, "s", "shardId-000000000000", start(SL_KSTART_TRIM_HORIZON), &it);
    sl_kread_t rd;
    kutil_read(k, &it.reader, 10000, 10 << 20, &rd);
    CHECK_EQ_INT(rd.count, 20);
    CHECK(rd.caught_up);
    CHECK(rd.shard_ended);
    CHECK_EQ_INT(rd.child_count, 2);
    CHECK_EQ_STR(rd.children[0].shard_id, "shardId-000000000001");
    CHECK_EQ_STR(rd.children[1].shard_id, "shardId-000000000002");
    CHECK_EQ_INT(rd.children[0].parent_count, 1);
    CHECK_EQ_STR(rd.children[0].parents[0], "shardId-000000000000");
    CHECK_EQ_STR(rd.children[1].end_dec, "340282366920938463463374607431768211455");
    sl_kread_release(&rd);
    /* new records go to the children */
    sl_krecord_t r = kutil_record("pk", "after");
    sl_kput_t op;
    kutil_put(k, a, "s", &r, 1, true, &op);
    CHECK(op.err.type == SL_KERR_NONE);
    CHECK(op.groups[0].shard_index == 1 || op.groups[0].shard_index == 2);
}

int main(void) {
    char *dir = kutil_tmpdir("kread");
    kutil_engine_t e;
    sl_kinesis_t *k = kutil_open(&e, dir, false);
    sl_arena_t a;
    sl_arena_init(&a, 65536);
    kutil_stream(k, "s", 1);
    fill(k, &a, 20, 1000);
    test_positions(k);
    test_budgets(k);
    test_pool_thread(k);
    test_memory_first(k, &a);
    test_iterators(k);
    test_shard_end(k, &a);
    test_delete_during_reads(k, &a);
    sl_arena_deinit(&a);
    kutil_close(&e);
    /* reopen: the data directory reads back the same */
    k = kutil_open(&e, dir, false);
    sl_kiterator_t it;
    kutil_iterator(k, "s", "shardId-000000000000", start(SL_KSTART_TRIM_HORIZON), &it);
    sl_kread_t rd;
    kutil_read(k, &it.reader, 10000, 10 << 20, &rd);
    CHECK_EQ_INT(rd.count, 20);
    CHECK(rd.shard_ended);
    sl_kread_release(&rd);
    kutil_close(&e);
    kutil_rm_rf(dir);
    free(dir);
    TEST_MAIN_END();
}
