/* The storage backend test suite, written once and run against every backend: the in-memory twin
 * and the segment-file engine with each durability setting (small segments, so that rolling,
 * multi-segment reads and retention are exercised). */
#include "storage_util.h"
#include "test.h"

#include <stdatomic.h>

typedef struct {
    const char *name;
    bool file;
    sl_durability_t durability;
} backend_t;

static const backend_t *g_be;
static char *g_dir;
static atomic_ullong g_commit_tip;
static atomic_int g_commit_calls;

static void on_commit(void *ctx, sl_shard_log_t *log, uint64_t next_seq) {
    (void)ctx;
    (void)log;
    unsigned long long prev = atomic_load(&g_commit_tip);
    while (next_seq > prev && !atomic_compare_exchange_weak(&g_commit_tip, &prev, next_seq)) {
    }
    atomic_fetch_add(&g_commit_calls, 1);
}

static sl_storage_t *open_engine(size_t segment_bytes) {
    static int n;
    char dir[600];
    snprintf(dir, sizeof dir, "%s/%d", g_dir, ++n);
    sl_storage_config_t cfg = {.data_dir = dir,
                               .durability = g_be->durability,
                               .flush_interval_ms = 20,
                               .segment_bytes = segment_bytes,
                               .on_commit = on_commit};
    sl_storage_t *st = NULL;
    int rc = g_be->file ? sl_storage_open_file(&cfg, &st) : sl_storage_open_memory(&cfg, &st);
    CHECK_EQ_INT(rc, 0);
    return st;
}

static sl_record_t rec(const char *pk, const void *data, size_t len, int64_t arrival) {
    return (sl_record_t){
        .arrival_ms = arrival, .key = pk, .key_len = strlen(pk), .data = data, .data_len = len};
}

static void test_append_read_basic(void) {
    sl_storage_t *st = open_engine(0);
    sl_shard_log_t *log = NULL;
    int user = 7;
    CHECK_EQ_INT(sl_storage_shard_open(st, "stream-a", "shardId-000000000000", &user, &log), 0);
    CHECK(sl_shard_log_user(log) == &user);
    sl_shard_bounds_t b;
    CHECK_EQ_INT(sl_storage_bounds(log, &b), 0);
    CHECK_EQ_INT(b.first_seq, 1);
    CHECK_EQ_INT(b.next_seq, 1);
    atomic_store(&g_commit_tip, 0);

    sl_record_t r[3] = {rec("k1", "hello", 5, 1000), rec("k2", "", 0, 1001),
                        rec("k3", "world!", 6, 1002)};
    r[2].attributes = "340282366920938463463374607431768211455";
    r[2].attributes_len = strlen(r[2].attributes);
    uint64_t first = 0;
    CHECK_EQ_INT(util_append(log, r, 3, &first), 0);
    CHECK_EQ_INT(first, 1);
    CHECK_EQ_INT(util_append(log, r, 1, &first), 0);
    CHECK_EQ_INT(first, 4);
    CHECK_EQ_INT(sl_storage_bounds(log, &b), 0);
    CHECK_EQ_INT(b.first_seq, 1);
    CHECK_EQ_INT(b.next_seq, 5);
    CHECK_EQ_INT(b.first_arrival_ms, 1000);
    CHECK_EQ_INT(b.last_arrival_ms, 1002); /* the 4th record's 1000 is raised to 1002 */
    CHECK(b.bytes > 0);
    CHECK_EQ_INT(atomic_load(&g_commit_tip), 5);

    int rc;
    sl_read_result_t *res = util_read(log, 0, 100, 1 << 20, 0, &rc);
    CHECK_EQ_INT(rc, 0);
    if (res) {
        CHECK_EQ_INT(res->count, 4);
        CHECK_EQ_INT(res->next_seq, 5);
        CHECK_EQ_INT(res->bytes, 5 + 2 + 0 + 2 + 6 + 2 + 5 + 2);
        CHECK_EQ_INT(res->records[0].seq, 1);
        CHECK(res->records[0].data_len == 5 && memcmp(res->records[0].data, "hello", 5) == 0);
        CHECK(res->records[0].key_len == 2 && memcmp(res->records[0].key, "k1", 2) == 0);
        CHECK(res->records[0].attributes == NULL || res->records[0].attributes_len == 0);
        CHECK_EQ_INT(res->records[1].data_len, 0);
        CHECK(res->records[2].attributes_len == 39 &&
              memcmp(res->records[2].attributes, "340282366920938463463374607431768211455", 39) ==
                  0);
        CHECK(memcmp(res->records[2].data, "world!", 6) == 0);
        CHECK_EQ_INT(res->records[3].seq, 4);
        CHECK_EQ_INT(res->records[3].arrival_ms, 1002);
        CHECK_EQ_INT(res->bounds.next_seq, 5);
        sl_storage_read_free(res);
    }
    /* Exclusive start (AFTER_SEQUENCE_NUMBER = from seq + 1), budgets, the tip, the future. */
    res = util_read(log, 3, 1, 1 << 20, 0, &rc);
    CHECK(res && res->count == 1 && res->records[0].seq == 3 && res->next_seq == 4);
    sl_storage_read_free(res);
    res = util_read(log, 1, 100, 4, 0, &rc); /* budget smaller than one record: still one */
    CHECK(res && res->count == 1 && res->records[0].seq == 1 && res->next_seq == 2);
    sl_storage_read_free(res);
    res = util_read(log, 1, 100, 9, 0, &rc); /* 7 + 2: records 1 and 2 fit, 3 does not */
    CHECK(res && res->count == 2 && res->next_seq == 3);
    sl_storage_read_free(res);
    res = util_read(log, 5, 100, 1 << 20, 0, &rc);
    CHECK(res && res->count == 0 && res->next_seq == 5);
    sl_storage_read_free(res);
    res = util_read(log, 99, 100, 1 << 20, 0, &rc);
    CHECK(res && res->count == 0 && res->next_seq == 99);
    sl_storage_read_free(res);

    /* Invalid input is refused without a callback. */
    CHECK_EQ_INT(sl_storage_append(log, r, 0, util_wait_cb, NULL), SL_EINVAL);
    sl_record_t big = rec("k", "x", 1, 0);
    big.data_len = 11u * 1024 * 1024;
    CHECK_EQ_INT(sl_storage_append(log, &big, 1, util_wait_cb, NULL), SL_EINVAL);
    sl_shard_log_t *other = NULL;
    CHECK_EQ_INT(sl_storage_shard_open(st, "bad/key", "s", NULL, &other), SL_EINVAL);
    CHECK_EQ_INT(sl_storage_shard_open(st, "..", "s", NULL, &other), SL_EINVAL);
    CHECK_EQ_INT(sl_storage_shard_open(st, "stream-a", "shardId-000000000000", NULL, &other),
                 SL_EEXIST);

    sl_storage_shard_close(log);
    sl_storage_close(st);
}

static void test_time(void) {
    sl_storage_t *st = open_engine(2048);
    sl_shard_log_t *log = NULL;
    CHECK_EQ_INT(sl_storage_shard_open(st, "s", "h", NULL, &log), 0);
    uint64_t seq;
    CHECK_EQ_INT(sl_storage_seek_time(log, 5, &seq), 0);
    CHECK_EQ_INT(seq, 1); /* empty: the tip */
    /* 400 records, arrival = 1000 + 10 * (i / 4): several segments, repeated times. */
    char payload[100];
    memset(payload, 'p', sizeof payload);
    for (int i = 0; i < 400; i++) {
        sl_record_t r = rec("pk", payload, (size_t)(i % 100), 1000 + 10 * (i / 4));
        CHECK_EQ_INT(util_append(log, &r, 1, NULL), 0);
    }
    struct {
        int64_t ts;
        uint64_t want;
    } cases[] = {
        {0, 1},      {1000, 1},   {1001, 5},   {1010, 5},    {1015, 9},
        {1500, 201}, {1990, 397}, {1991, 401}, {99999, 401},
    };
    for (size_t i = 0; i < SL_ARRAY_LEN(cases); i++) {
        CHECK_EQ_INT(sl_storage_seek_time(log, cases[i].ts, &seq), 0);
        CHECK_EQ_INT(seq, cases[i].want);
    }
    /* Reads skip records older than min_arrival_ms. */
    int rc;
    sl_read_result_t *res = util_read(log, 1, 10, 1 << 20, 1500, &rc);
    CHECK(res && res->count == 10 && res->records[0].seq == 201 &&
          res->records[0].arrival_ms == 1500);
    sl_storage_read_free(res);
    res = util_read(log, 300, 10, 1 << 20, 1500, &rc);
    CHECK(res && res->count == 10 && res->records[0].seq == 300);
    sl_storage_read_free(res);
    res = util_read(log, 1, 10, 1 << 20, 5000, &rc);
    CHECK(res && res->count == 0 && res->next_seq == 401);
    sl_storage_read_free(res);
    /* Arrival times are made non-decreasing, and the append's callback reports the time kept (the
     * API builds the returned sequence number from it, so it must be what reads serve). */
    sl_record_t r = rec("pk", "x", 1, 5);
    int64_t arrival = 0;
    CHECK_EQ_INT(util_append_arrival(log, &r, 1, &seq, &arrival), 0);
    CHECK_EQ_INT(arrival, 1990);
    res = util_read(log, seq, 1, 100, 0, &rc);
    CHECK(res && res->count == 1 && res->records[0].arrival_ms == 1990);
    sl_storage_read_free(res);
    /* A batch given one time below the previous record's: every record gets the reported time. */
    sl_record_t batch[3] = {rec("a", "1", 1, 7), rec("b", "2", 1, 7), rec("c", "3", 1, 7)};
    CHECK_EQ_INT(util_append_arrival(log, batch, 3, &seq, &arrival), 0);
    CHECK_EQ_INT(arrival, 1990);
    res = util_read(log, seq, 10, 1000, 0, &rc);
    CHECK(res && res->count == 3);
    for (size_t i = 0; res && i < res->count; i++)
        CHECK_EQ_INT(res->records[i].arrival_ms, arrival);
    sl_storage_read_free(res);
    /* A later time is kept as given. */
    r = rec("pk", "y", 1, 2500);
    CHECK_EQ_INT(util_append_arrival(log, &r, 1, &seq, &arrival), 0);
    CHECK_EQ_INT(arrival, 2500);
    res = util_read(log, seq, 1, 100, 0, &rc);
    CHECK(res && res->count == 1 && res->records[0].arrival_ms == 2500);
    sl_storage_read_free(res);
    /* A full read across segments returns everything in order. */
    res = util_read(log, 1, 10000, 1 << 30, 0, &rc);
    CHECK(res && res->count == 405);
    if (res) {
        bool ok = true;
        for (size_t i = 0; i < res->count; i++)
            ok &=
                res->records[i].seq == i + 1 && res->records[i].data_len == (i < 400 ? i % 100 : 1);
        CHECK(ok);
    }
    sl_storage_read_free(res);
    sl_storage_shard_close(log);
    sl_storage_close(st);
}

typedef struct {
    sl_shard_log_t *logs[3];
    int thread;
    /* first seq and count of every acknowledged append, per shard */
    uint64_t first[3][500];
    size_t n[3][500];
    int status_errors;
} producer_t;

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    int outstanding;
    producer_t *p;
    int shard, k;
} prod_sync_t;

static void prod_cb(void *arg, int status, uint64_t first_seq, int64_t arrival_ms) {
    (void)arrival_ms;
    prod_sync_t *ps = arg;
    pthread_mutex_lock(&ps->mu);
    if (status) ps->p->status_errors++;
    ps->p->first[ps->shard][ps->k] = first_seq;
    ps->outstanding--;
    pthread_cond_signal(&ps->cond);
    pthread_mutex_unlock(&ps->mu);
}

static void *producer_main(void *arg) {
    producer_t *p = arg;
    uint8_t data[3][600];
    for (int k = 0; k < 300; k++) {
        prod_sync_t ps[3];
        for (int sh = 0; sh < 3; sh++) {
            ps[sh] = (prod_sync_t){.mu = PTHREAD_MUTEX_INITIALIZER,
                                   .cond = PTHREAD_COND_INITIALIZER,
                                   .outstanding = 1,
                                   .p = p,
                                   .shard = sh,
                                   .k = k};
            size_t n = 1 + (size_t)((k + sh + p->thread) % 3);
            sl_record_t r[3];
            for (size_t i = 0; i < n; i++) {
                uint64_t key =
                    ((uint64_t)p->thread << 32) | ((uint64_t)sh << 24) | ((uint64_t)k << 4) | i;
                size_t len = util_payload(key, data[sh] + 200 * i, 199);
                r[i] = rec("producer", data[sh] + 200 * i, len, 0);
            }
            p->n[sh][k] = n;
            int rc = sl_storage_append(p->logs[sh], r, n, prod_cb, &ps[sh]);
            if (rc) {
                p->status_errors++;
                ps[sh].outstanding = 0;
            }
        }
        for (int sh = 0; sh < 3; sh++) {
            pthread_mutex_lock(&ps[sh].mu);
            while (ps[sh].outstanding)
                pthread_cond_wait(&ps[sh].cond, &ps[sh].mu);
            pthread_mutex_unlock(&ps[sh].mu);
        }
    }
    return NULL;
}

/* Many threads append to three shards at once: every acknowledged batch gets contiguous seqs, the
 * batches tile 1..N exactly, and each record reads back with its own payload. */
static void test_concurrent_appends(void) {
    sl_storage_t *st = open_engine(64 * 1024);
    sl_shard_log_t *logs[3];
    const char *names[3] = {"shardId-000000000000", "shardId-000000000001", "shardId-000000000002"};
    for (int i = 0; i < 3; i++)
        CHECK_EQ_INT(sl_storage_shard_open(st, "conc", names[i], NULL, &logs[i]), 0);
    enum { T = 4 };
    static producer_t prods[T];
    pthread_t th[T];
    for (int t = 0; t < T; t++) {
        memset(&prods[t], 0, sizeof prods[t]);
        memcpy(prods[t].logs, logs, sizeof logs);
        prods[t].thread = t;
        pthread_create(&th[t], NULL, producer_main, &prods[t]);
    }
    for (int t = 0; t < T; t++)
        pthread_join(th[t], NULL);
    for (int sh = 0; sh < 3; sh++) {
        size_t total = 0;
        for (int t = 0; t < T; t++) {
            CHECK_EQ_INT(prods[t].status_errors, 0);
            for (int k = 0; k < 300; k++)
                total += prods[t].n[sh][k];
        }
        uint64_t *owner = calloc(total + 1, sizeof *owner);
        bool tiled = true;
        for (int t = 0; t < T; t++)
            for (int k = 0; k < 300; k++)
                for (size_t i = 0; i < prods[t].n[sh][k]; i++) {
                    uint64_t seq = prods[t].first[sh][k] + i;
                    if (seq < 1 || seq > total || owner[seq]) {
                        tiled = false;
                        continue;
                    }
                    owner[seq] =
                        (((uint64_t)t << 32) | ((uint64_t)sh << 24) | ((uint64_t)k << 4) | i) + 1;
                }
        CHECK(tiled);
        int rc;
        sl_read_result_t *res = util_read(logs[sh], 1, 100000, SIZE_MAX, 0, &rc);
        CHECK(res && res->count == total);
        if (res && tiled) {
            size_t bad = 0;
            for (size_t i = 0; i < res->count; i++) {
                const sl_record_t *r = &res->records[i];
                if (r->seq != i + 1 || !owner[r->seq] ||
                    !util_payload_ok(owner[r->seq] - 1, r->data, r->data_len, 199))
                    bad++;
            }
            CHECK_EQ_INT(bad, 0);
        }
        sl_storage_read_free(res);
        /* Reads in small pieces see the same sequence. */
        uint64_t pos = 1;
        size_t pieces = 0, seen = 0;
        bool order = true;
        while (pos <= total && pieces < 100000) {
            res = util_read(logs[sh], pos, 7, 700, 0, &rc);
            if (!res || res->count == 0) {
                sl_storage_read_free(res);
                break;
            }
            for (size_t i = 0; i < res->count; i++)
                order &= res->records[i].seq == pos + i;
            seen += res->count;
            pos = res->next_seq;
            pieces++;
            sl_storage_read_free(res);
        }
        CHECK(order);
        CHECK_EQ_INT(seen, total);
        free(owner);
        sl_shard_bounds_t b;
        sl_storage_bounds(logs[sh], &b);
        CHECK_EQ_INT(b.next_seq, total + 1);
    }
    for (int i = 0; i < 3; i++)
        sl_storage_shard_close(logs[i]);
    sl_storage_close(st);
}

typedef struct {
    const char *names[8];
    int n;
} list_t;

static void list_cb(void *arg, const char *stream, const char *shard) {
    list_t *l = arg;
    static char buf[8][256];
    if (l->n < 8) {
        snprintf(buf[l->n], sizeof buf[l->n], "%s/%s", stream, shard);
        l->names[l->n] = buf[l->n];
        l->n++;
    }
}

static bool listed(const list_t *l, const char *name) {
    for (int i = 0; i < l->n; i++)
        if (strcmp(l->names[i], name) == 0) return true;
    return false;
}

static void test_lifecycle(void) {
    sl_storage_t *st = open_engine(0);
    sl_shard_log_t *a = NULL, *b = NULL;
    CHECK_EQ_INT(sl_storage_shard_open(st, "s1", "h0", NULL, &a), 0);
    CHECK_EQ_INT(sl_storage_shard_open(st, "s2", "h0", NULL, &b), 0);
    sl_record_t r = rec("k", "abc", 3, 10);
    CHECK_EQ_INT(util_append(a, &r, 1, NULL), 0);
    CHECK_EQ_INT(util_append(a, &r, 1, NULL), 0);
    /* The file engine creates a shard's log on its first append, and lists only logs that exist. */
    CHECK_EQ_INT(util_append(b, &r, 1, NULL), 0);
    /* A closed handle's data is still there when reopened. */
    sl_storage_shard_close(a);
    CHECK_EQ_INT(sl_storage_shard_open(st, "s1", "h0", NULL, &a), 0);
    sl_shard_bounds_t bd;
    sl_storage_bounds(a, &bd);
    CHECK_EQ_INT(bd.next_seq, 3);
    list_t l = {0};
    CHECK_EQ_INT(sl_storage_list(st, list_cb, &l), 0);
    CHECK_EQ_INT(l.n, 2);
    CHECK(listed(&l, "s1/h0") && listed(&l, "s2/h0"));
    /* Deleting a stream with open shards is refused; after closing it removes every shard. */
    CHECK_EQ_INT(sl_storage_stream_delete(st, "s1"), SL_EINVAL);
    sl_storage_shard_close(a);
    CHECK_EQ_INT(sl_storage_stream_delete(st, "s1"), 0);
    l.n = 0;
    sl_storage_list(st, list_cb, &l);
    CHECK_EQ_INT(l.n, 1);
    CHECK(listed(&l, "s2/h0"));
    CHECK_EQ_INT(sl_storage_shard_open(st, "s1", "h0", NULL, &a), 0);
    sl_storage_bounds(a, &bd);
    CHECK_EQ_INT(bd.next_seq, 1);
    sl_storage_shard_close(a);
    sl_storage_shard_close(b);
    sl_storage_close(st);
}

static void test_retention(void) {
    sl_storage_t *st = open_engine(4096);
    sl_shard_log_t *log = NULL;
    CHECK_EQ_INT(sl_storage_shard_open(st, "ret", "h", NULL, &log), 0);
    char payload[300];
    memset(payload, 'r', sizeof payload);
    /* 100 records with arrival 1000 + i: about 8 per 4 KiB segment on the file engine. */
    for (int i = 0; i < 100; i++) {
        sl_record_t r = rec("pk", payload, sizeof payload, 1000 + i);
        CHECK_EQ_INT(util_append(log, &r, 1, NULL), 0);
    }
    sl_shard_bounds_t before, after;
    sl_storage_bounds(log, &before);
    CHECK_EQ_INT(sl_storage_trim(log, 1050), 0);
    sl_storage_bounds(log, &after);
    /* Something went, nothing at or after the cut-off went, the tip stayed. */
    CHECK(after.first_seq > 1);
    CHECK(after.first_seq <= 51);
    CHECK(after.bytes < before.bytes);
    CHECK_EQ_INT(after.next_seq, 101);
    int rc;
    sl_read_result_t *res = util_read(log, 1, 1000, SIZE_MAX, 0, &rc);
    CHECK(res && res->count == 101 - after.first_seq && res->records[0].seq == after.first_seq);
    sl_storage_read_free(res);
    /* A reader passing the retention cut-off never sees an expired record. */
    res = util_read(log, 1, 1000, SIZE_MAX, 1050, &rc);
    CHECK(res && res->count == 50 && res->records[0].seq == 51 &&
          res->records[0].arrival_ms == 1050);
    sl_storage_read_free(res);
    /* Shortening retention later takes effect at the next trim. */
    CHECK_EQ_INT(sl_storage_trim(log, 1090), 0);
    sl_storage_bounds(log, &after);
    CHECK(after.first_seq > 51 && after.first_seq <= 91);
    /* Everything expired: the log empties (the file engine seals the active segment first, so it
     * may take a second trim), and appends continue at the same tip. */
    for (int i = 0; i < 50; i++) {
        CHECK_EQ_INT(sl_storage_trim(log, 100000), 0);
        sl_storage_bounds(log, &after);
        if (after.first_seq == after.next_seq) break;
        usleep(2000);
    }
    CHECK_EQ_INT(after.first_seq, 101);
    CHECK_EQ_INT(after.next_seq, 101);
    res = util_read(log, 1, 1000, SIZE_MAX, 0, &rc);
    CHECK(res && res->count == 0 && res->next_seq == 101);
    sl_storage_read_free(res);
    sl_record_t r = rec("pk", "new", 3, 200000);
    uint64_t seq = 0;
    CHECK_EQ_INT(util_append(log, &r, 1, &seq), 0);
    CHECK_EQ_INT(seq, 101);
    sl_storage_shard_close(log);
    sl_storage_close(st);
}

static void test_large_records(void) {
    sl_storage_t *st = open_engine(1 << 20);
    sl_shard_log_t *log = NULL;
    CHECK_EQ_INT(sl_storage_shard_open(st, "big", "h", NULL, &log), 0);
    size_t sizes[] = {10u * 1024 * 1024, 1, 3u * 1024 * 1024, 70000, 0};
    uint8_t *data = malloc(sizes[0]);
    for (size_t i = 0; i < sizes[0]; i++)
        data[i] = (uint8_t)(i * 31 + (i >> 16));
    for (size_t i = 0; i < SL_ARRAY_LEN(sizes); i++) {
        sl_record_t r = rec("big", data, sizes[i], 1);
        CHECK_EQ_INT(util_append(log, &r, 1, NULL), 0);
    }
    int rc;
    for (uint64_t from = 1; from <= 5; from++) {
        sl_read_result_t *res = util_read(log, from, 1, 1, 0, &rc);
        CHECK(res && res->count == 1);
        if (res && res->count == 1) {
            CHECK_EQ_INT(res->records[0].data_len, sizes[from - 1]);
            CHECK(memcmp(res->records[0].data, data, sizes[from - 1]) == 0);
        }
        sl_storage_read_free(res);
    }
    sl_read_result_t *res = util_read(log, 1, 100, SIZE_MAX, 0, &rc);
    CHECK(res && res->count == 5);
    sl_storage_read_free(res);
    free(data);
    sl_storage_shard_close(log);
    sl_storage_close(st);
}

/* ---- batch appends (sl_storage_append_batch): one callback for many shards' groups ---- */

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    int calls;
} batch_wait_t;

static void batch_cb(sl_append_batch_t *b) {
    batch_wait_t *w = b->arg;
    pthread_mutex_lock(&w->mu);
    w->calls++;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->mu);
}

static int batch_run(sl_storage_t *st, sl_append_group_t *g, size_t n, batch_wait_t *w) {
    sl_append_batch_t b = {.groups = g, .n = n, .cb = batch_cb, .arg = w};
    pthread_mutex_lock(&w->mu);
    int before = w->calls;
    pthread_mutex_unlock(&w->mu);
    int rc = sl_storage_append_batch(st, &b);
    if (rc) return rc;
    pthread_mutex_lock(&w->mu);
    while (w->calls == before)
        pthread_cond_wait(&w->cond, &w->mu);
    pthread_mutex_unlock(&w->mu);
    return 0;
}

#define BATCH_SHARDS 40
#define BATCH_REC_MAX 12

/* The payload of record j of the group for shard `sh` in batch `b`: the test reads every shard
 * back and checks that each group's records are contiguous and in order. */
static size_t batch_payload(int b, int sh, int j, uint8_t *out) {
    return (size_t)snprintf((char *)out, 64, "b%d-s%d-r%d", b, sh, j);
}

typedef struct {
    sl_storage_t *st;
    sl_shard_log_t **logs;
    int id, batches;
    atomic_int *errors;
} batch_thread_t;

static void *batch_thread(void *arg) {
    batch_thread_t *t = arg;
    batch_wait_t w = {.mu = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
    static const size_t big = 70 * 1024; /* a share above the journal's direct threshold */
    uint8_t *bigdata = malloc(big);
    memset(bigdata, 'x', big);
    for (int b = 0; b < t->batches; b++) {
        sl_append_group_t g[BATCH_SHARDS];
        sl_record_t recs[BATCH_SHARDS][BATCH_REC_MAX];
        uint8_t data[BATCH_SHARDS][BATCH_REC_MAX][64];
        size_t n = 0;
        for (int sh = 0; sh < BATCH_SHARDS; sh++) {
            if ((sh + b) % 3 == 2) continue; /* not every batch touches every shard */
            int count = 1 + (sh * 7 + b) % BATCH_REC_MAX;
            for (int j = 0; j < count; j++) {
                size_t len = batch_payload(t->id * 100000 + b, sh, j, data[sh][j]);
                recs[sh][j] = rec("pk", data[sh][j], len, 1000 + b);
            }
            if (b % 5 == 4 && sh == 3) { /* one large share: written to its segment directly */
                recs[sh][count - 1].data = bigdata;
                recs[sh][count - 1].data_len = big;
            }
            g[n++] =
                (sl_append_group_t){.log = t->logs[sh], .records = recs[sh], .n = (size_t)count};
        }
        int rc = batch_run(t->st, g, n, &w);
        for (size_t i = 0; i < n && rc == 0; i++)
            if (g[i].status != 0 || !g[i].queued || g[i].first_seq == 0) rc = -1;
        if (rc) atomic_fetch_add(t->errors, 1);
    }
    free(bigdata);
    return NULL;
}

static void test_append_batch(void) {
    sl_storage_t *st = open_engine(64 * 1024); /* small segments: batches cross rolls */
    sl_shard_log_t *logs[BATCH_SHARDS];
    for (int i = 0; i < BATCH_SHARDS; i++) {
        char shard[32];
        snprintf(shard, sizeof shard, "shardId-%012d", i);
        CHECK_EQ_INT(sl_storage_shard_open(st, "batch", shard, NULL, &logs[i]), 0);
    }
    /* one batch, checked in detail */
    batch_wait_t w = {.mu = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
    sl_record_t r[3] = {rec("a", "one", 3, 5000), rec("b", "two", 3, 5000), rec("c", "3", 1, 5000)};
    sl_append_group_t g[3] = {{.log = logs[0], .records = r, .n = 2},
                              {.log = logs[1], .records = r + 2, .n = 1},
                              {.log = logs[2], .records = r, .n = 3}};
    CHECK_EQ_INT(batch_run(st, g, 3, &w), 0);
    CHECK_EQ_INT(w.calls, 1);
    for (int i = 0; i < 3; i++) {
        CHECK_EQ_INT(g[i].status, 0);
        CHECK(g[i].queued);
        CHECK_EQ_INT(g[i].first_seq, 1);
        CHECK_EQ_INT(g[i].arrival_ms, 5000);
    }
    uint64_t first = 0;
    CHECK_EQ_INT(util_append(logs[1], r, 1, &first), 0);
    CHECK_EQ_INT(first, 2);

    /* a batch whose every group is invalid queues nothing and never calls back */
    sl_record_t bad = rec("k", "x", 1, 0);
    bad.key_len = 70000;
    sl_append_group_t gb[2] = {{.log = logs[0], .records = &bad, .n = 1},
                               {.log = logs[1], .records = &bad, .n = 1}};
    sl_append_batch_t bb = {.groups = gb, .n = 2, .cb = batch_cb, .arg = &w};
    CHECK_EQ_INT(sl_storage_append_batch(st, &bb), SL_EINVAL);
    CHECK_EQ_INT(gb[0].status, SL_EINVAL);
    CHECK(!gb[0].queued && !gb[1].queued);
    CHECK_EQ_INT(w.calls, 1);
    /* a log of another engine is refused */
    CHECK_EQ_INT(sl_storage_append_batch(NULL, &bb), SL_EINVAL);

    /* two threads, many batches, one large share now and then: every group gets contiguous seqs
     * of its shard, in the order its records were given */
    enum { BATCHES = 40 };
    atomic_int errors = 0;
    batch_thread_t t[2];
    pthread_t th[2];
    for (int i = 0; i < 2; i++) {
        t[i] = (batch_thread_t){
            .st = st, .logs = logs, .id = i + 1, .batches = BATCHES, .errors = &errors};
        CHECK_EQ_INT(pthread_create(&th[i], NULL, batch_thread, &t[i]), 0);
    }
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    CHECK_EQ_INT(atomic_load(&errors), 0);
    for (int sh = 0; sh < BATCH_SHARDS; sh++) {
        int rc;
        uint64_t from = 1;
        int expect_next[3] = {0, 0, 0}; /* per thread: next batch, record */
        int cur_thread = 0, cur_batch = -1, cur_rec = 0;
        size_t total = 0;
        for (;;) {
            sl_read_result_t *res = util_read(logs[sh], from, 1000, 1 << 24, 0, &rc);
            CHECK_EQ_INT(rc, 0);
            if (!res) break;
            if (res->count == 0) {
                sl_storage_read_free(res);
                break;
            }
            for (size_t i = 0; i < res->count; i++) {
                const sl_record_t *x = &res->records[i];
                CHECK_EQ_INT(x->seq, from + i);
                if (x->data_len > 64 || x->data_len < 2 || x->data[0] != 'b') continue;
                int tb, s2, j;
                char text[65];
                memcpy(text, x->data, x->data_len);
                text[x->data_len] = 0;
                if (sscanf(text, "b%d-s%d-r%d", &tb, &s2, &j) != 3) continue;
                if (tb < 100000) continue; /* the first, single-threaded part */
                int th_id = tb / 100000, b = tb % 100000;
                CHECK_EQ_INT(s2, sh);
                if (j == 0) {
                    /* a new group: its thread's batches come in order */
                    CHECK(b >= expect_next[th_id]);
                    expect_next[th_id] = b + 1;
                    cur_thread = th_id;
                    cur_batch = b;
                    cur_rec = 0;
                } else {
                    /* inside a group: nothing of another append in between */
                    CHECK_EQ_INT(th_id, cur_thread);
                    CHECK_EQ_INT(b, cur_batch);
                    CHECK_EQ_INT(j, cur_rec + 1);
                    cur_rec = j;
                }
            }
            total += res->count;
            from = res->next_seq;
            sl_storage_read_free(res);
        }
        CHECK(total > 0);
    }
    for (int i = 0; i < BATCH_SHARDS; i++)
        sl_storage_shard_close(logs[i]);
    sl_storage_close(st);
}

static void run_suite(const backend_t *be) {
    g_be = be;
    fprintf(stderr, "== backend %s\n", be->name);
    int before = sl_test_failures;
    g_dir = util_tmpdir("backend");
    test_append_read_basic();
    test_time();
    test_concurrent_appends();
    test_lifecycle();
    test_retention();
    test_large_records();
    test_append_batch();
    if (sl_test_failures == before)
        util_rm_rf(g_dir);
    else
        fprintf(stderr, "   (data left in %s)\n", g_dir);
    free(g_dir);
}

int main(void) {
    static const backend_t backends[] = {
        {"memory", false, SL_DURABILITY_SYNC},
        {"file/sync", true, SL_DURABILITY_SYNC},
        {"file/interval", true, SL_DURABILITY_INTERVAL},
        {"file/none", true, SL_DURABILITY_NONE},
    };
    for (size_t i = 0; i < SL_ARRAY_LEN(backends); i++)
        run_suite(&backends[i]);
    TEST_MAIN_END();
}
