/* Sequence reservations (engine.c, docs/storage-format.md): a new shard starts with one block
 * reserved in its catalog row; claims past half the block make the reserve thread raise it (one
 * catalog write); a claim past an unraised reservation is refused; a clean close lowers the
 * reservation to the exact tip and a reopen reserves the next block; after an unclean end the
 * next open continues at the reservation (the storage floor). Real SQLite catalog in a temporary
 * directory, file storage. */
#include "catalog/catalog.h"
#include "core/common.h"
#include "core/time.h"
#include "kinesis/engine.h"
#include "storage/backend.h"
#include "test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[] = "/tmp/sl_test_reservation_XXXXXX";
static char catpath[256];

typedef struct {
    sl_catalog_t *cat;
    sl_storage_t *st;
    sl_kinesis_t *k;
} env_t;

static void env_open(env_t *e) {
    CHECK_EQ_INT(sl_catalog_open_sqlite(catpath, &e->cat), 0);
    sl_storage_config_t scfg = {.data_dir = dir, .on_commit = sl_kinesis_storage_commit};
    CHECK_EQ_INT(sl_storage_open_file(&scfg, &e->st), 0);
    sl_kinesis_config_t kcfg = {.catalog = e->cat,
                                .storage = e->st,
                                .data_dir = dir,
                                .region = "us-east-1",
                                .account = "000000000000",
                                .shard_limit = 100,
                                .on_demand_stream_limit = 10};
    CHECK_EQ_INT(sl_kinesis_open(&kcfg, &e->k), 0);
}

static void env_close(env_t *e) {
    sl_kinesis_close(e->k);
    sl_storage_close(e->st);
    sl_catalog_close(e->cat);
}

/* The catalog's seq_reserved of shard 0 of the first stream. */
static int64_t g_reserved, g_written;
static void on_shard(void *arg, const sl_cat_shard_t *s) {
    (void)arg;
    if (s->shard_index == 0) {
        g_reserved = s->seq_reserved;
        g_written = s->seq_written;
    }
}

static void catalog_bounds(sl_catalog_t *cat) {
    sl_catalog_visitor_t v = {.shard = on_shard};
    CHECK_EQ_INT(sl_catalog_load(cat, &v, NULL), 0);
}

static sl_kshard_t *shard0(sl_kinesis_t *k) {
    sl_kstream_t *s = sl_kinesis_find(k, "r", 1, sl_time_now_ms());
    CHECK(s != NULL);
    return s ? s->shards[0] : NULL;
}

typedef struct {
    int done, status;
    uint64_t seq;
} put_t;

static void put_cb(void *arg, int status, uint64_t first_seq, int64_t arrival_ms) {
    (void)arrival_ms;
    put_t *p = arg;
    p->status = status;
    p->seq = first_seq;
    __atomic_store_n(&p->done, 1, __ATOMIC_RELEASE);
}

static uint64_t put(sl_kinesis_t *k, sl_kshard_t *sh) {
    CHECK_EQ_INT(sl_kshard_seq_claim(k, sh, 1), 0);
    put_t p = {0};
    sl_record_t r = {.arrival_ms = sl_time_now_ms(),
                     .key = "pk",
                     .key_len = 2,
                     .data = (const uint8_t *)"x",
                     .data_len = 1};
    CHECK_EQ_INT(sl_storage_append(sh->log, &r, 1, put_cb, &p), 0);
    while (!__atomic_load_n(&p.done, __ATOMIC_ACQUIRE))
        usleep(1000);
    CHECK_EQ_INT(p.status, 0);
    return p.seq;
}

int main(void) {
    if (!mkdtemp(dir)) return 1;
    snprintf(catpath, sizeof catpath, "%s/catalog.db", dir);
    env_t e;
    env_open(&e);
    sl_kinesis_wrlock(e.k);
    sl_kstream_t *s = NULL;
    CHECK_EQ_INT(sl_kinesis_create_stream(e.k, "r", 1, false, 1024, -1, NULL, sl_time_now_ms(), &s),
                 0);
    sl_kinesis_unlock(e.k);
    catalog_bounds(e.cat);
    CHECK_EQ_INT(g_reserved, 1 + (int64_t)SL_KINESIS_SEQ_BLOCK);
    sl_kshard_t *sh = shard0(e.k);
    CHECK_EQ_INT(put(e.k, sh), 1);
    CHECK_EQ_INT(put(e.k, sh), 2);

    /* Claims past half the block: the reserve thread raises the reservation one block above them.
     */
    sl_kinesis_rdlock(e.k);
    CHECK_EQ_INT(sl_kshard_seq_claim(e.k, sh, SL_KINESIS_SEQ_BLOCK / 2 + 10), 0);
    int64_t deadline = sl_time_now_ms() + 10000;
    while (__atomic_load_n(&sh->seq_reserved, __ATOMIC_ACQUIRE) <= 1 + SL_KINESIS_SEQ_BLOCK &&
           sl_time_now_ms() < deadline)
        usleep(1000);
    uint64_t raised = __atomic_load_n(&sh->seq_reserved, __ATOMIC_ACQUIRE);
    CHECK_EQ_INT(raised, 3 + SL_KINESIS_SEQ_BLOCK / 2 + 10 + SL_KINESIS_SEQ_BLOCK);
    catalog_bounds(e.cat);
    CHECK_EQ_INT(g_reserved, (int64_t)raised);
    CHECK(g_written >= 3); /* the first writes were recorded */
    /* A claim that would cross the reservation is refused and leaves nothing claimed (it asks for
     * a raise, which may then reserve more than needed: harmless). */
    uint64_t claimed = sh->seq_claimed;
    CHECK_EQ_INT(sl_kshard_seq_claim(e.k, sh, 2 * SL_KINESIS_SEQ_BLOCK), SL_EAGAIN);
    CHECK_EQ_INT(sh->seq_claimed, claimed);
    sl_kshard_seq_unclaim(sh, SL_KINESIS_SEQ_BLOCK / 2 + 10);
    sl_kinesis_unlock(e.k);

    /* A clean close records the exact tip; the reopen continues there and reserves a block. */
    env_close(&e);
    sl_catalog_t *cat = NULL;
    CHECK_EQ_INT(sl_catalog_open_sqlite(catpath, &cat), 0);
    catalog_bounds(cat);
    CHECK_EQ_INT(g_reserved, 3);
    CHECK_EQ_INT(g_written, 3);
    sl_catalog_close(cat);
    env_open(&e);
    sh = shard0(e.k);
    sl_kinesis_rdlock(e.k);
    CHECK_EQ_INT(put(e.k, sh), 3);
    sl_kinesis_unlock(e.k);
    catalog_bounds(e.cat);
    CHECK_EQ_INT(g_reserved, 3 + (int64_t)SL_KINESIS_SEQ_BLOCK);

    /* An unclean end leaves the reservation above the tip (a clean close would have lowered it):
     * the next open continues at the reservation. */
    env_close(&e);
    CHECK_EQ_INT(sl_catalog_open_sqlite(catpath, &cat), 0);
    CHECK_EQ_INT(sl_catalog_shard_seq_set(cat, 1, 0, 3 + (int64_t)SL_KINESIS_SEQ_BLOCK, 4), 0);
    sl_catalog_close(cat);
    env_open(&e);
    sh = shard0(e.k);
    sl_kinesis_rdlock(e.k);
    CHECK_EQ_INT(put(e.k, sh), 3 + SL_KINESIS_SEQ_BLOCK);
    sl_kinesis_unlock(e.k);
    env_close(&e);

    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    TEST_MAIN_END();
}
