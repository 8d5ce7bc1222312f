/* Helpers for the Kinesis core tests: an engine on the memory or the file backend in a scratch
 * directory, streams created ACTIVE at once, and blocking wrappers around the core's asynchronous
 * calls (each waits for SL_KINESIS_PENDING operations to call back). No HTTP, no JSON. */
#ifndef SL_TEST_KINESIS_UTIL_H
#define SL_TEST_KINESIS_UTIL_H

#define _XOPEN_SOURCE 700
#include "core/arena.h"
#include "core/common.h"
#include "core/time.h"
#include "catalog/catalog.h"
#include "kinesis/engine.h"
#include "kinesis/kinesis.h"
#include "storage/backend.h"

#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int kutil_rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* An engine with its catalog (SQLite in dir) and storage: the memory backend when memory is true,
 * else the file backend in dir; wired as the composition root does. */
typedef struct {
    sl_catalog_t *catalog;
    sl_storage_t *storage;
    sl_kinesis_t *k;
} kutil_engine_t;

/* As kutil_open, reading on `pool` (NULL: the engine starts a pool of its own). */
static inline sl_kinesis_t *kutil_open_pool(kutil_engine_t *e, const char *dir, bool memory,
                                            sl_kreadpool_t *pool) {
    char path[600];
    snprintf(path, sizeof path, "%s/catalog.db", dir);
    sl_storage_config_t scfg = {.data_dir = dir, .on_commit = sl_kinesis_storage_commit};
    if (sl_catalog_open_sqlite(path, &e->catalog) != 0 ||
        (memory ? sl_storage_open_memory(&scfg, &e->storage)
                : sl_storage_open_file(&scfg, &e->storage)) != 0) {
        fprintf(stderr, "cannot open the catalog or the storage in %s\n", dir);
        exit(2);
    }
    sl_kinesis_config_t cfg = {.catalog = e->catalog,
                               .storage = e->storage,
                               .data_dir = dir,
                               .region = "us-east-1",
                               .account = "123456789012",
                               .shard_limit = 500,
                               .on_demand_stream_limit = 50,
                               .readpool = pool};
    if (sl_kinesis_open(&cfg, &e->k) != 0) {
        fprintf(stderr, "sl_kinesis_open failed\n");
        exit(2);
    }
    return e->k;
}

static inline sl_kinesis_t *kutil_open(kutil_engine_t *e, const char *dir, bool memory) {
    return kutil_open_pool(e, dir, memory, NULL);
}

static inline void kutil_close(kutil_engine_t *e) {
    sl_kinesis_close(e->k);
    sl_storage_close(e->storage);
    sl_catalog_close(e->catalog);
}

/* Creates a scratch directory (the caller removes it with kutil_rm_rf and frees the string). */
static inline char *kutil_tmpdir(const char *tag) {
    const char *base = getenv("TMPDIR");
    char *p = malloc(512);
    snprintf(p, 512, "%s/sluice-%s-XXXXXX", base && *base ? base : "/tmp", tag);
    if (!mkdtemp(p)) {
        perror("mkdtemp");
        exit(2);
    }
    return p;
}

static inline void kutil_rm_rf(const char *path) {
    nftw(path, kutil_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* A stream that is ACTIVE at once (create_stream_ms is 0 in kutil_open's configuration). */
static inline sl_kstream_t *kutil_stream(sl_kinesis_t *k, const char *name, int shards) {
    sl_kstream_t *s = NULL;
    sl_kinesis_wrlock(k);
    int rc =
        sl_kinesis_create_stream(k, name, shards, false, SL_KINESIS_MAX_RECORD_SIZE_KIB_DEFAULT, -1,
                                 NULL, sl_time_now_ms(), &s);
    sl_kinesis_unlock(k);
    if (rc) {
        fprintf(stderr, "create_stream failed: %d\n", rc);
        exit(2);
    }
    return s;
}

/* One-shot completion flag for callbacks. */
typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    bool done;
} kutil_wait_t;

#define KUTIL_WAIT_INIT                                                                            \
    { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false }

static inline void kutil_signal(kutil_wait_t *w) {
    pthread_mutex_lock(&w->mu);
    w->done = true;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->mu);
}

static inline void kutil_block(kutil_wait_t *w) {
    pthread_mutex_lock(&w->mu);
    while (!w->done)
        pthread_cond_wait(&w->cond, &w->mu);
    w->done = false;
    pthread_mutex_unlock(&w->mu);
}

static void kutil_put_cb(sl_kput_t *op) {
    kutil_signal(op->arg);
}
static void kutil_read_cb(sl_kread_t *op) {
    kutil_signal(op->arg);
}
static void kutil_iterator_cb(sl_kiterator_t *op) {
    kutil_signal(op->arg);
}

/* Puts records (single = PutRecord) into stream `name` and waits for the result in *op. */
static inline void kutil_put(sl_kinesis_t *k, sl_arena_t *arena, const char *name,
                             sl_krecord_t *recs, size_t n, bool single, sl_kput_t *op) {
    kutil_wait_t w = KUTIL_WAIT_INIT;
    *op = (sl_kput_t){.stream = {.name = name, .name_len = strlen(name)},
                      .records = recs,
                      .count = n,
                      .single = single,
                      .now_ms = sl_time_now_ms(),
                      .arena = arena,
                      .cb = kutil_put_cb,
                      .arg = &w};
    if (sl_kinesis_put(k, op) == SL_KINESIS_PENDING) kutil_block(&w);
}

/* A record with partition key pk and data text. */
static inline sl_krecord_t kutil_record(const char *pk, const char *data) {
    return (sl_krecord_t){.partition_key = pk,
                          .partition_key_len = strlen(pk),
                          .data = (const uint8_t *)data,
                          .data_len = strlen(data)};
}

/* GetShardIterator on stream `name`, shard `shard_id`, waiting when the core seeks on its pool. */
static inline void kutil_iterator(sl_kinesis_t *k, const char *name, const char *shard_id,
                                  sl_kstart_t start, sl_kiterator_t *op) {
    kutil_wait_t w = KUTIL_WAIT_INIT;
    *op = (sl_kiterator_t){.stream = {.name = name, .name_len = strlen(name)},
                           .shard_id = shard_id,
                           .shard_id_len = strlen(shard_id),
                           .start = start,
                           .now_ms = sl_time_now_ms(),
                           .cb = kutil_iterator_cb,
                           .arg = &w};
    if (sl_kinesis_shard_iterator(k, op) == SL_KINESIS_PENDING) kutil_block(&w);
}

/* One read from reader with a budget; the caller releases the result. */
static inline void kutil_read(sl_kinesis_t *k, const sl_kreader_t *reader, size_t records_max,
                              size_t bytes_max, sl_kread_t *op) {
    kutil_wait_t w = KUTIL_WAIT_INIT;
    *op = (sl_kread_t){.reader = *reader,
                       .records_max = records_max,
                       .bytes_max = bytes_max,
                       .now_ms = sl_time_now_ms(),
                       .cb = kutil_read_cb,
                       .arg = &w};
    if (sl_kinesis_read(k, op) == SL_KINESIS_PENDING) kutil_block(&w);
}

#endif
