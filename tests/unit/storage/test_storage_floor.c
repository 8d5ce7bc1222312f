/* sl_storage_shard_set_floor: a log that lost records at rest continues above every seq it ever
 * handed out. A fresh log (no directory) starts at the floor; a log with segments starts a new
 * segment at the floor, reads skip the gap, and everything survives a reopen (durability=sync and
 * interval, journaled or direct). The memory engine takes a floor while it holds no records. */
#include "storage_util.h"
#include "test.h"

static sl_shard_log_t *open_log(sl_storage_t *st) {
    sl_shard_log_t *log = NULL;
    CHECK_EQ_INT(sl_storage_shard_open(st, "s", "h", NULL, &log), 0);
    return log;
}

static sl_storage_t *open_eng(const char *dir, sl_durability_t dur) {
    sl_storage_config_t cfg = {.data_dir = dir, .durability = dur, .flush_interval_ms = 10};
    sl_storage_t *st = NULL;
    CHECK_EQ_INT(sl_storage_open_file(&cfg, &st), 0);
    return st;
}

static uint64_t put(sl_shard_log_t *log, int64_t arrival, size_t len) {
    uint8_t buf[256];
    memset(buf, (int)arrival, sizeof buf);
    sl_record_t r = {
        .arrival_ms = arrival, .key = "pk", .key_len = 2, .data = buf, .data_len = len};
    uint64_t seq = 0;
    CHECK_EQ_INT(util_append(log, &r, 1, &seq), 0);
    return seq;
}

/* The seqs a full read from 1 returns, as text ("1,2,3,50"). */
static void seqs(sl_shard_log_t *log, char *out, size_t cap) {
    int rc;
    sl_read_result_t *res = util_read(log, 1, 1000, SIZE_MAX, 0, &rc);
    CHECK_EQ_INT(rc, 0);
    size_t n = 0;
    out[0] = 0;
    for (size_t i = 0; res && i < res->count; i++)
        n += (size_t)snprintf(out + n, cap - n, "%s%llu", i ? "," : "",
                              (unsigned long long)res->records[i].seq);
    sl_storage_read_free(res);
}

static void test_fresh_log(sl_durability_t dur) {
    char *dir = util_tmpdir("floor");
    sl_storage_t *st = open_eng(dir, dur);
    sl_shard_log_t *log = open_log(st);
    CHECK_EQ_INT(sl_storage_shard_set_floor(log, 1000), 0);
    sl_shard_bounds_t b;
    CHECK_EQ_INT(sl_storage_bounds(log, &b), 0);
    CHECK_EQ_INT(b.first_seq, 1000);
    CHECK_EQ_INT(b.next_seq, 1000);
    CHECK_EQ_INT(put(log, 10, 20), 1000);
    CHECK_EQ_INT(put(log, 11, 20), 1001);
    sl_storage_shard_close(log);
    sl_storage_close(st);
    st = open_eng(dir, dur);
    log = open_log(st);
    CHECK_EQ_INT(sl_storage_shard_set_floor(log, 3), 0);
    char text[256];
    seqs(log, text, sizeof text);
    CHECK_EQ_STR(text, "1000,1001");
    CHECK_EQ_INT(put(log, 12, 20), 1002);
    sl_storage_shard_close(log);
    sl_storage_close(st);
    util_rm_rf(dir);
    free(dir);
}

static void test_log_with_segments(sl_durability_t dur, size_t len) {
    char *dir = util_tmpdir("floor");
    sl_storage_t *st = open_eng(dir, dur);
    sl_shard_log_t *log = open_log(st);
    for (int i = 1; i <= 3; i++)
        CHECK_EQ_INT(put(log, 100 + i, len), (uint64_t)i);
    sl_storage_shard_close(log);
    sl_storage_close(st);

    st = open_eng(dir, dur);
    log = open_log(st);
    CHECK_EQ_INT(sl_storage_shard_set_floor(log, 50), 0);
    sl_shard_bounds_t b;
    CHECK_EQ_INT(sl_storage_bounds(log, &b), 0);
    CHECK_EQ_INT(b.next_seq, 4); /* nothing moves before the first append */
    CHECK_EQ_INT(put(log, 200, len), 50);
    CHECK_EQ_INT(put(log, 201, len), 51);
    char text[256];
    seqs(log, text, sizeof text);
    CHECK_EQ_STR(text, "1,2,3,50,51");
    /* A reader positioned inside the gap continues after it. */
    int rc;
    sl_read_result_t *res = util_read(log, 4, 10, SIZE_MAX, 0, &rc);
    CHECK(res && res->count == 2 && res->records[0].seq == 50);
    sl_storage_read_free(res);
    sl_storage_shard_close(log);
    sl_storage_close(st);

    st = open_eng(dir, dur);
    log = open_log(st);
    CHECK_EQ_INT(sl_storage_bounds(log, &b), 0);
    CHECK_EQ_INT(b.first_seq, 1);
    CHECK_EQ_INT(b.next_seq, 52);
    seqs(log, text, sizeof text);
    CHECK_EQ_STR(text, "1,2,3,50,51");
    CHECK_EQ_INT(put(log, 202, len), 52);
    sl_storage_shard_close(log);
    sl_storage_close(st);
    util_rm_rf(dir);
    free(dir);
}

static void test_memory(void) {
    sl_storage_config_t cfg = {0};
    sl_storage_t *st = NULL;
    CHECK_EQ_INT(sl_storage_open_memory(&cfg, &st), 0);
    sl_shard_log_t *log = open_log(st);
    CHECK_EQ_INT(sl_storage_shard_set_floor(log, 7), 0);
    CHECK_EQ_INT(put(log, 1, 3), 7);
    CHECK_EQ_INT(sl_storage_shard_set_floor(log, 100), SL_EINVAL);
    char text[64];
    seqs(log, text, sizeof text);
    CHECK_EQ_STR(text, "7");
    sl_storage_shard_close(log);
    sl_storage_close(st);
}

int main(void) {
    test_fresh_log(SL_DURABILITY_SYNC);
    test_fresh_log(SL_DURABILITY_INTERVAL);
    test_log_with_segments(SL_DURABILITY_SYNC, 20);  /* journaled rounds */
    test_log_with_segments(SL_DURABILITY_SYNC, 200); /* still small: journaled */
    test_log_with_segments(SL_DURABILITY_INTERVAL, 20);
    test_log_with_segments(SL_DURABILITY_NONE, 20);
    test_memory();
    TEST_MAIN_END();
}
