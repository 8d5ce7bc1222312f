/* Reads served from memory on the caller's thread (sl_storage_read_memory): for both engines the
 * result is exactly sl_storage_read's whenever it is served; the file engine serves only records
 * still in the shard's in-memory tail and within its copy bound, and says SL_EAGAIN otherwise. */
#include "core/common.h"
#include "core/limits.h"
#include "core/time.h"
#include "storage/backend.h"
#include "storage_util.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>

static sl_record_t rec(const char *key, const void *data, size_t len) {
    return (sl_record_t){.arrival_ms = sl_time_now_ms(),
                         .key = key,
                         .key_len = strlen(key),
                         .attributes = "17",
                         .attributes_len = 2,
                         .data = data,
                         .data_len = len};
}

/* The memory read from `from` equals sl_storage_read's; returns its count (-1: SL_EAGAIN). */
static int same_as_read(sl_shard_log_t *log, uint64_t from, size_t rmax, size_t bmax) {
    sl_read_result_t *mem = NULL;
    int rc = sl_storage_read_memory(log, from, rmax, bmax, 0, &mem);
    if (rc == SL_EAGAIN) {
        CHECK(mem == NULL);
        return -1;
    }
    CHECK_EQ_INT(rc, 0);
    int rrc = 0;
    sl_read_result_t *ref = util_read(log, from, rmax, bmax, 0, &rrc);
    CHECK_EQ_INT(rrc, 0);
    CHECK_EQ_INT(mem->count, ref->count);
    CHECK_EQ_INT(mem->bytes, ref->bytes);
    CHECK_EQ_INT(mem->next_seq, ref->next_seq);
    CHECK_EQ_INT(mem->bounds.next_seq, ref->bounds.next_seq);
    for (size_t i = 0; i < mem->count && i < ref->count; i++) {
        const sl_record_t *a = &mem->records[i], *b = &ref->records[i];
        CHECK_EQ_INT(a->seq, b->seq);
        CHECK_EQ_INT(a->arrival_ms, b->arrival_ms);
        CHECK(a->key_len == b->key_len && memcmp(a->key, b->key, a->key_len) == 0);
        CHECK(a->attributes_len == b->attributes_len &&
              memcmp(a->attributes, b->attributes, a->attributes_len) == 0);
        CHECK(a->data_len == b->data_len && memcmp(a->data, b->data, a->data_len) == 0);
    }
    int n = (int)mem->count;
    sl_storage_read_free(mem);
    sl_storage_read_free(ref);
    return n;
}

static void put_many(sl_shard_log_t *log, int n, size_t size) {
    uint8_t *data = malloc(size ? size : 1);
    memset(data, 'x', size);
    for (int i = 0; i < n; i++) {
        data[0] = (uint8_t)('a' + i % 26);
        sl_record_t r = rec("key", data, size);
        CHECK_EQ_INT(util_append(log, &r, 1, NULL), 0);
    }
    free(data);
}

static void test_file(void) {
    char *dir = util_tmpdir("readmem");
    sl_storage_config_t cfg = {.data_dir = dir};
    sl_storage_t *st = NULL;
    CHECK_EQ_INT(sl_storage_open_file(&cfg, &st), 0);
    sl_shard_log_t *log = NULL;
    CHECK_EQ_INT(sl_storage_shard_open(st, "s", "0", NULL, &log), 0);
    /* empty log: nothing past the position, at once */
    CHECK_EQ_INT(same_as_read(log, 1, 10, 1 << 20), 0);
    put_many(log, 20, 100);
    /* small records join the tail through the journal: served from memory, any position */
    CHECK_EQ_INT(same_as_read(log, 1, 1000, 1 << 20), 20);
    CHECK_EQ_INT(same_as_read(log, 5, 3, 1 << 20), 3);
    CHECK_EQ_INT(same_as_read(log, 8, 1000, 1 << 20), 13);
    CHECK_EQ_INT(same_as_read(log, 8, 1000, 250), 2);     /* byte budget */
    CHECK_EQ_INT(same_as_read(log, 21, 10, 1 << 20), 0);  /* at the tip */
    CHECK_EQ_INT(same_as_read(log, 500, 10, 1 << 20), 0); /* past it */
    /* a large record goes straight to its segment, after the tail was written out: nothing of
     * it or before it is read from memory any more */
    put_many(log, 1, SL_STORAGE_MEMORY_READ_BYTES_MAX + 1);
    CHECK_EQ_INT(same_as_read(log, 21, 10, 16u << 20), -1);
    CHECK_EQ_INT(same_as_read(log, 1, 10, 16u << 20), -1);
    CHECK_EQ_INT(same_as_read(log, 22, 10, 1 << 20), 0);
    /* the tail is written out to the segment once SL_STORAGE_TAIL_FLUSH_BYTES gathered: records
     * from before are read from the file */
    put_many(log, 40, 10000);
    CHECK_EQ_INT(same_as_read(log, 22, 10, 1 << 20), -1);
    CHECK_EQ_INT(same_as_read(log, 62, 10, 1 << 20), 0);
    sl_storage_shard_close(log);
    sl_storage_close(st);
    /* reopened, everything is on disk: the memory read declines */
    CHECK_EQ_INT(sl_storage_open_file(&cfg, &st), 0);
    CHECK_EQ_INT(sl_storage_shard_open(st, "s", "0", NULL, &log), 0);
    CHECK_EQ_INT(same_as_read(log, 1, 10, 1 << 20), -1);
    CHECK_EQ_INT(same_as_read(log, 62, 10, 1 << 20), 0);
    /* new records are in memory again, older ones are not */
    put_many(log, 5, 10);
    CHECK_EQ_INT(same_as_read(log, 62, 10, 1 << 20), 5);
    CHECK_EQ_INT(same_as_read(log, 61, 10, 1 << 20), -1);
    sl_storage_shard_close(log);
    sl_storage_close(st);
    util_rm_rf(dir);
    free(dir);
}

static void test_memory(void) {
    sl_storage_config_t cfg = {0};
    sl_storage_t *st = NULL;
    CHECK_EQ_INT(sl_storage_open_memory(&cfg, &st), 0);
    sl_shard_log_t *log = NULL;
    CHECK_EQ_INT(sl_storage_shard_open(st, "s", "0", NULL, &log), 0);
    put_many(log, 10, 50);
    CHECK_EQ_INT(same_as_read(log, 1, 100, 1 << 20), 10);
    CHECK_EQ_INT(same_as_read(log, 4, 2, 1 << 20), 2);
    CHECK_EQ_INT(same_as_read(log, 11, 2, 1 << 20), 0);
    sl_storage_shard_close(log);
    sl_storage_close(st);
}

int main(void) {
    test_file();
    test_memory();
    TEST_MAIN_END();
}
