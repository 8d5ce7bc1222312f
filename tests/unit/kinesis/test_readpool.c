/* One reader pool shared by several engines, as the composition root wires every account's
 * engine: reads of both engines run on it, closing one engine waits for that engine's queued
 * reads only and refuses its new ones, and the other engine keeps reading until the pool goes. */
#include "kinesis_util.h"
#include "test.h"

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

static sl_kreader_t horizon(sl_kinesis_t *k) {
    sl_kiterator_t it;
    kutil_iterator(k, "s", "shardId-000000000000", (sl_kstart_t){.type = SL_KSTART_TRIM_HORIZON},
                   &it);
    CHECK(it.err.type == SL_KERR_NONE);
    return it.reader;
}

static void fill(sl_kinesis_t *k, sl_arena_t *a, const char *text) {
    kutil_stream(k, "s", 1);
    sl_krecord_t recs[10];
    for (int i = 0; i < 10; i++)
        recs[i] = kutil_record("pk", text);
    sl_kput_t op;
    kutil_put(k, a, "s", recs, 10, false, &op);
    CHECK_EQ_INT(op.failed, 0);
}

int main(void) {
    CHECK_EQ_INT(sl_kreadpool_create(0, &(sl_kreadpool_t *){NULL}), SL_EINVAL);
    sl_kreadpool_t *pool = NULL;
    CHECK_EQ_INT(sl_kreadpool_create(2, &pool), 0);
    char *dir_a = kutil_tmpdir("kpool-a"), *dir_b = kutil_tmpdir("kpool-b");
    kutil_engine_t ea, eb;
    sl_kinesis_t *a = kutil_open_pool(&ea, dir_a, false, pool);
    sl_kinesis_t *b = kutil_open_pool(&eb, dir_b, true, pool);
    sl_arena_t arena;
    sl_arena_init(&arena, 65536);
    fill(a, &arena, "from-a");
    fill(b, &arena, "from-b");
    sl_kreader_t ra = horizon(a), rb = horizon(b);

    /* many reads of both engines queued on the one pool at once */
    enum { N = 64 };
    static sl_kread_t rds[2 * N];
    count_t c = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
    int pending = 0;
    for (int i = 0; i < 2 * N; i++) {
        rds[i] = (sl_kread_t){.reader = i < N ? ra : rb,
                              .records_max = 10,
                              .bytes_max = 1 << 20,
                              .now_ms = sl_time_now_ms(),
                              .cb = count_cb,
                              .arg = &c};
        pending += sl_kinesis_read(i < N ? a : b, &rds[i]) == SL_KINESIS_PENDING;
    }
    CHECK_EQ_INT(pending, 2 * N);
    /* closing a waits for a's queued reads (each completes with its records) */
    sl_kinesis_close(ea.k);
    sl_storage_close(ea.storage);
    sl_catalog_close(ea.catalog);
    pthread_mutex_lock(&c.mu);
    int done_at_close = c.done;
    while (c.done < 2 * N)
        pthread_cond_wait(&c.cond, &c.mu);
    pthread_mutex_unlock(&c.mu);
    CHECK(done_at_close >= N);
    for (int i = 0; i < 2 * N; i++) {
        CHECK(rds[i].err.type == SL_KERR_NONE);
        CHECK_EQ_INT(rds[i].count, 10);
        CHECK(memcmp(rds[i].records[0].data, i < N ? "from-a" : "from-b", 6) == 0);
        CHECK_EQ_INT(rds[i].records[9].partition_key_len, 2);
        sl_kread_release(&rds[i]);
    }
    /* b still reads on the pool after a left it */
    sl_kread_t rd;
    kutil_read(b, &rb, 3, 1 << 20, &rd);
    CHECK(rd.err.type == SL_KERR_NONE);
    CHECK_EQ_INT(rd.count, 3);
    sl_kread_release(&rd);
    kutil_close(&eb);
    sl_kreadpool_destroy(pool);
    sl_arena_deinit(&arena);
    kutil_rm_rf(dir_a);
    kutil_rm_rf(dir_b);
    free(dir_a);
    free(dir_b);
    TEST_MAIN_END();
}
