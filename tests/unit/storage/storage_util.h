/* Helpers for the storage tests: temporary directories, blocking wrappers around the
 * callback-based append and read calls, and deterministic record payloads. */
#ifndef SL_TEST_STORAGE_UTIL_H
#define SL_TEST_STORAGE_UTIL_H

#define _XOPEN_SOURCE 700
#include "core/common.h"
#include "core/time.h"
#include "storage/backend.h"

#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int util_rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Removes a directory tree (test scratch directories only). */
static inline void util_rm_rf(const char *path) {
    nftw(path, util_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* Creates a fresh scratch directory under TMPDIR (or /tmp); the caller frees the string. */
static inline char *util_tmpdir(const char *tag) {
    const char *base = getenv("TMPDIR");
    char *p = malloc(512);
    snprintf(p, 512, "%s/sluice-%s-XXXXXX", base && *base ? base : "/tmp", tag);
    if (!mkdtemp(p)) {
        perror("mkdtemp");
        exit(2);
    }
    return p;
}

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    bool done;
    int status;
    uint64_t first_seq;
    int64_t arrival_ms;
} util_wait_t;

static inline void util_wait_cb(void *arg, int status, uint64_t first_seq, int64_t arrival_ms) {
    util_wait_t *w = arg;
    pthread_mutex_lock(&w->mu);
    w->done = true;
    w->status = status;
    w->first_seq = first_seq;
    w->arrival_ms = arrival_ms;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->mu);
}

/* Appends and waits for the callback. Returns the immediate error, or the callback status;
 * *arrival_ms (when not NULL) gets the arrival time the callback reported. */
static inline int util_append_arrival(sl_shard_log_t *log, const sl_record_t *recs, size_t n,
                                      uint64_t *first_seq, int64_t *arrival_ms) {
    util_wait_t w = {.mu = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
    int rc = sl_storage_append(log, recs, n, util_wait_cb, &w);
    if (rc) return rc;
    pthread_mutex_lock(&w.mu);
    while (!w.done)
        pthread_cond_wait(&w.cond, &w.mu);
    pthread_mutex_unlock(&w.mu);
    if (first_seq) *first_seq = w.first_seq;
    if (arrival_ms) *arrival_ms = w.arrival_ms;
    return w.status;
}

static inline int util_append(sl_shard_log_t *log, const sl_record_t *recs, size_t n,
                              uint64_t *first_seq) {
    return util_append_arrival(log, recs, n, first_seq, NULL);
}

typedef struct {
    sl_read_result_t *res;
    int status;
    bool called;
} util_read_t;

static inline void util_read_cb(void *arg, int status, sl_read_result_t *res) {
    util_read_t *r = arg;
    r->res = res;
    r->status = status;
    r->called = true;
}

/* Synchronous read (both backends call back before returning). Returns NULL on error (*rc set). */
static inline sl_read_result_t *util_read(sl_shard_log_t *log, uint64_t from, size_t rmax,
                                          size_t bmax, int64_t min_arrival, int *rc) {
    util_read_t r = {0};
    int c = sl_storage_read(log, from, rmax, bmax, min_arrival, util_read_cb, &r);
    if (rc) *rc = c ? c : r.status;
    if (c || !r.called) return NULL;
    return r.res;
}

/* Deterministic payload of a record: length and bytes derived from (key, i). */
static inline size_t util_payload(uint64_t key, uint8_t *out, size_t max_len) {
    uint64_t x = key * 0x9E3779B97F4A7C15ull + 1;
    size_t len = (size_t)(x % (max_len + 1));
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out[i] = (uint8_t)x;
    }
    return len;
}

static inline bool util_payload_ok(uint64_t key, const uint8_t *data, size_t len, size_t max_len) {
    uint8_t buf[65536];
    if (max_len > sizeof buf) return false;
    size_t want = util_payload(key, buf, max_len);
    return want == len && memcmp(buf, data, len) == 0;
}

#endif
