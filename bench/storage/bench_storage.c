/* Storage engine benchmark. Measures, in one run and on the same file system:
 *  1. the disk's own sequential write bandwidth (1 MiB writes, fdatasync at the end) and its
 *     fdatasync rate (4 KiB append + fdatasync loop);
 *  2. engine append throughput for 100-byte and 10 KiB records under each durability setting,
 *     with records per CPU-second (user + system time of the whole process);
 *  3. recovery time of a large log (time until the reopened shard accepts reads and appends);
 *  4. memory and descriptors of many idle shards;
 *  5. the time to open many brand-new shards (what CreateStream with thousands of shards costs);
 *  6. PutRecords-like load over many shards: requests of 500 records of 100 B, each record on a
 *     random shard, one batch append per request (sl_storage_append_batch, one group per touched
 *     shard, as PutRecords makes it), 16 requests in flight (like 16 connections),
 *     durability=sync; run at 16 (--many-small, 0 = not) and at 4,096 shards (--many-shards) so
 *     the ratio shows how the per-shard costs of a commit round scale.
 * Usage: bench_storage [--dir DIR] [--seconds S] [--recovery-gib G] [--shards N] [--only NAME]
 *                      [--many-shards N] [--many-small N] [--no-disk] */
#include "core/limits.h"
#include "core/log.h"
#include "storage/internal.h"
#include "storage_util.h"

#include <fcntl.h>
#include <dirent.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <sys/stat.h>

static const char *g_dir = "/tmp/sluice-bench";
static double g_seconds = 5;
static int g_recovery_gib = 10;
static int g_shards = 10000;
static const char *g_only;
static int g_many_shards = 4096;
static int g_many_small = 16; /* the first run of `many` (0: none) */
static bool g_skip_disk;

static double now_s(void) {
    return (double)sl_time_mono_ns() / 1e9;
}
static double cpu_s(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}
static long rss_kib(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld", &v) == 1) break;
    if (f) fclose(f);
    return v;
}
static int open_fd_count(void) {
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    while (d && readdir(d))
        n++;
    if (d) closedir(d);
    return n - 2;
}
static char *subdir(const char *name) {
    char *p = malloc(1024);
    snprintf(p, 1024, "%s/%s", g_dir, name);
    util_rm_rf(p);
    return p;
}

/* ---- 1. disk baseline ---- */
static double g_disk_mbps;

static void bench_disk(void) {
    char *dir = subdir("disk");
    mkdir(dir, 0755);
    char path[1100];
    snprintf(path, sizeof path, "%s/seq", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    size_t block = 1 << 20, total = (size_t)2 << 30;
    char *buf = malloc(block);
    for (size_t i = 0; i < block; i++)
        buf[i] = (char)(i * 7);
    double t0 = now_s();
    for (size_t off = 0; off < total; off += block)
        if (pwrite(fd, buf, block, (off_t)off) != (ssize_t)block) {
            perror("pwrite");
            break;
        }
    fdatasync(fd);
    double t = now_s() - t0;
    close(fd);
    unlink(path);
    g_disk_mbps = (double)total / t / 1e6;
    printf("disk: sequential write %.0f MB/s (2 GiB in 1 MiB writes, fdatasync at the end)\n",
           g_disk_mbps);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    long n = 0;
    t0 = now_s();
    while (now_s() - t0 < 2.0) {
        if (pwrite(fd, buf, 4096, (off_t)(n * 4096)) != 4096 || fdatasync(fd) != 0) break;
        n++;
    }
    t = now_s() - t0;
    close(fd);
    unlink(path);
    printf("disk: fdatasync rate %.0f/s (4 KiB append + fdatasync)\n", (double)n / t);
    free(buf);
    util_rm_rf(dir);
    free(dir);
}

/* ---- 2. append throughput ---- */
typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    size_t inflight_bytes;
    atomic_ullong acked_records;
    atomic_int errors;
} flow_t;

typedef struct {
    flow_t *flow;
    size_t bytes, n;
} bop_t;

static void bench_cb(void *arg, int status, uint64_t first_seq, int64_t arrival_ms) {
    (void)arrival_ms;
    (void)first_seq;
    bop_t *op = arg;
    flow_t *f = op->flow;
    if (status)
        atomic_fetch_add(&f->errors, 1);
    else
        atomic_fetch_add(&f->acked_records, op->n);
    pthread_mutex_lock(&f->mu);
    f->inflight_bytes -= op->bytes;
    pthread_cond_signal(&f->cond);
    pthread_mutex_unlock(&f->mu);
    free(op);
}

static void bench_append(sl_durability_t dur, size_t rec_size, int nshards) {
    static const char *names[] = {"sync", "interval", "none"};
    char *dir = subdir("append");
    sl_storage_config_t cfg = {.data_dir = dir,
                               .durability = dur,
                               .flush_interval_ms = SL_STORAGE_FLUSH_INTERVAL_MS_DEFAULT};
    sl_storage_t *st;
    if (sl_storage_open_file(&cfg, &st)) {
        fprintf(stderr, "open failed\n");
        exit(1);
    }
    sl_shard_log_t *logs[64];
    for (int i = 0; i < nshards; i++) {
        char shard[32];
        snprintf(shard, sizeof shard, "shardId-%012d", i);
        sl_storage_shard_open(st, "bench", shard, NULL, &logs[i]);
    }
    size_t batch = rec_size <= 1000 ? 500 : 100; /* a full PutRecords of small records, or 1 MiB */
    uint8_t *data = malloc(rec_size);
    for (size_t i = 0; i < rec_size; i++)
        data[i] = (uint8_t)(i * 13);
    sl_record_t *recs = malloc(batch * sizeof *recs);
    char pk[16] = "partition-key-1";
    for (size_t i = 0; i < batch; i++)
        recs[i] = (sl_record_t){.key = pk, .key_len = 15, .data = data, .data_len = rec_size};
    flow_t flow = {.mu = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
    size_t op_bytes = batch * (rec_size + 15 + 32);
    size_t window = 64u << 20;
    double c0 = cpu_s(), t0 = now_s();
    unsigned long long issued = 0;
    for (int k = 0; now_s() - t0 < g_seconds; k++) {
        pthread_mutex_lock(&flow.mu);
        while (flow.inflight_bytes + op_bytes > window)
            pthread_cond_wait(&flow.cond, &flow.mu);
        flow.inflight_bytes += op_bytes;
        pthread_mutex_unlock(&flow.mu);
        bop_t *op = malloc(sizeof *op);
        *op = (bop_t){.flow = &flow, .bytes = op_bytes, .n = batch};
        int64_t t = sl_time_now_ms();
        for (size_t i = 0; i < batch; i++)
            recs[i].arrival_ms = t;
        int rc = sl_storage_append(logs[k % nshards], recs, batch, bench_cb, op);
        if (rc) {
            pthread_mutex_lock(&flow.mu);
            flow.inflight_bytes -= op_bytes;
            pthread_mutex_unlock(&flow.mu);
            free(op);
            if (rc != SL_EAGAIN) atomic_fetch_add(&flow.errors, 1);
            continue;
        }
        issued += batch;
    }
    pthread_mutex_lock(&flow.mu);
    while (flow.inflight_bytes > 0)
        pthread_cond_wait(&flow.cond, &flow.mu);
    pthread_mutex_unlock(&flow.mu);
    double t = now_s() - t0, c = cpu_s() - c0;
    unsigned long long acked = atomic_load(&flow.acked_records);
    double mbps = (double)acked * (double)rec_size / t / 1e6;
    double disk_mbps = (double)acked * (double)(rec_size + 15 + 32) / t / 1e6;
    printf("append %-8s %6zu B x %d shard(s): %10.0f records/s  %7.1f MB/s payload  %7.1f MB/s on "
           "disk (%3.0f%% of disk)"
           "  %9.0f records per CPU-second  errors %d\n",
           names[dur], rec_size, nshards, (double)acked / t, mbps, disk_mbps,
           100.0 * disk_mbps / g_disk_mbps, (double)acked / c, atomic_load(&flow.errors));
    (void)issued;
    for (int i = 0; i < nshards; i++)
        sl_storage_shard_close(logs[i]);
    sl_storage_close(st);
    free(recs);
    free(data);
    util_rm_rf(dir);
    free(dir);
}

/* ---- 3. recovery ---- */
static void noop_cb(void *arg, int status, uint64_t first_seq, int64_t arrival_ms) {
    (void)arrival_ms;
    (void)first_seq;
    flow_t *f = arg;
    if (status) atomic_fetch_add(&f->errors, 1);
    pthread_mutex_lock(&f->mu);
    f->inflight_bytes -= 1;
    pthread_cond_signal(&f->cond);
    pthread_mutex_unlock(&f->mu);
}

static void drop_cache(const char *dir) {
    /* Write back, then ask the kernel to drop the clean pages of every file (a cold start). */
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        char p[2048];
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        int fd = open(p, O_RDONLY);
        if (fd < 0) continue;
        fdatasync(fd);
        posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
        close(fd);
    }
    if (d) closedir(d);
}

static void bench_recovery(void) {
    char *dir = subdir("recovery");
    sl_storage_config_t cfg = {.data_dir = dir, .durability = SL_DURABILITY_NONE};
    sl_storage_t *st;
    sl_shard_log_t *log;
    sl_storage_open_file(&cfg, &st);
    sl_storage_shard_open(st, "bench", "shard-0", NULL, &log);
    size_t rec = 1 << 20;
    uint8_t *data = calloc(1, rec);
    flow_t flow = {.mu = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
    size_t total = (size_t)g_recovery_gib << 10;
    double t0 = now_s();
    for (size_t i = 0; i < total; i++) {
        sl_record_t r = {.arrival_ms = sl_time_now_ms(),
                         .key = "k",
                         .key_len = 1,
                         .data = data,
                         .data_len = rec};
        pthread_mutex_lock(&flow.mu);
        while (flow.inflight_bytes >= 64)
            pthread_cond_wait(&flow.cond, &flow.mu);
        flow.inflight_bytes++;
        pthread_mutex_unlock(&flow.mu);
        if (sl_storage_append(log, &r, 1, noop_cb, &flow)) {
            pthread_mutex_lock(&flow.mu);
            flow.inflight_bytes--;
            pthread_mutex_unlock(&flow.mu);
            i--;
        }
    }
    pthread_mutex_lock(&flow.mu);
    while (flow.inflight_bytes > 0)
        pthread_cond_wait(&flow.cond, &flow.mu);
    pthread_mutex_unlock(&flow.mu);
    sl_storage_shard_close(log);
    sl_storage_close(st);
    double tw = now_s() - t0;
    char sd[1100];
    snprintf(sd, sizeof sd, "%s/streams/bench/shard-0", dir);
    for (int cold = 0; cold < 2; cold++) {
        if (cold) drop_cache(sd);
        double t1 = now_s();
        cfg.durability = SL_DURABILITY_SYNC;
        sl_storage_open_file(&cfg, &st);
        sl_storage_shard_open(st, "bench", "shard-0", NULL, &log);
        sl_shard_bounds_t b;
        sl_storage_bounds(log, &b);
        int rc;
        sl_read_result_t *res = util_read(log, b.next_seq - 1, 1, 1, 0, &rc);
        sl_record_t r = {.arrival_ms = sl_time_now_ms(),
                         .key = "k",
                         .key_len = 1,
                         .data = data,
                         .data_len = 100};
        int arc = util_append(log, &r, 1, NULL);
        double tr = now_s() - t1;
        printf("recovery: %d GiB log (%llu records, written in %.1f s): reopened, read the tip and "
               "appended in %.3f s"
               " (%s page cache)%s\n",
               g_recovery_gib, (unsigned long long)(b.next_seq - 1), tw, tr, cold ? "cold" : "warm",
               (res && res->count == 1 && arc == 0) ? "" : " [FAILED]");
        sl_storage_read_free(res);
        sl_storage_shard_close(log);
        sl_storage_close(st);
    }
    free(data);
    util_rm_rf(dir);
    free(dir);
}

/* ---- 4. idle shards ---- */
static void bench_memory(void) {
    char *dir = subdir("memory");
    long rss0 = rss_kib();
    int fds0 = open_fd_count();
    sl_storage_config_t cfg = {.data_dir = dir, .durability = SL_DURABILITY_SYNC};
    sl_storage_t *st;
    sl_storage_open_file(&cfg, &st);
    sl_shard_log_t **logs = calloc((size_t)g_shards, sizeof *logs);
    double t0 = now_s();
    for (int i = 0; i < g_shards; i++) {
        char stream[32], shard[32];
        snprintf(stream, sizeof stream, "stream-%d", i / 100);
        snprintf(shard, sizeof shard, "shardId-%012d", i % 100);
        if (sl_storage_shard_open(st, stream, shard, NULL, &logs[i])) {
            fprintf(stderr, "open %d failed\n", i);
            exit(1);
        }
    }
    double topen = now_s() - t0;
    flow_t flow = {.mu = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
    for (int i = 0; i < g_shards; i++) {
        sl_record_t r = {.arrival_ms = sl_time_now_ms(),
                         .key = "k",
                         .key_len = 1,
                         .data = (const uint8_t *)"hello",
                         .data_len = 5};
        pthread_mutex_lock(&flow.mu);
        flow.inflight_bytes++;
        pthread_mutex_unlock(&flow.mu);
        if (sl_storage_append(logs[i], &r, 1, noop_cb, &flow)) {
            pthread_mutex_lock(&flow.mu);
            flow.inflight_bytes--;
            pthread_mutex_unlock(&flow.mu);
        }
    }
    pthread_mutex_lock(&flow.mu);
    while (flow.inflight_bytes > 0)
        pthread_cond_wait(&flow.cond, &flow.mu);
    pthread_mutex_unlock(&flow.mu);
    long rss1 = rss_kib();
    int fds1 = open_fd_count();
    sleep(SL_STORAGE_IDLE_CLOSE_MS / 1000 + 2);
    long rss2 = rss_kib();
    int fds2 = open_fd_count();
    printf("idle shards: %d opened in %.2f s, one record appended to each (errors %d)\n", g_shards,
           topen, atomic_load(&flow.errors));
    printf("idle shards: just written: RSS +%ld KiB (%.1f KiB per shard), %d fds\n", rss1 - rss0,
           (double)(rss1 - rss0) / g_shards, fds1 - fds0);
    printf("idle shards: after the idle sweep: RSS +%ld KiB (%.1f KiB per shard), %d fds\n",
           rss2 - rss0, (double)(rss2 - rss0) / g_shards, fds2 - fds0);
    for (int i = 0; i < g_shards; i++)
        sl_storage_shard_close(logs[i]);
    sl_storage_close(st);
    free(logs);
    util_rm_rf(dir);
    free(dir);
}

/* ---- 5. opening new shards ---- */
static void bench_open(int nshards) {
    char *dir = subdir("open");
    sl_storage_config_t cfg = {.data_dir = dir, .durability = SL_DURABILITY_SYNC};
    sl_storage_t *st;
    if (sl_storage_open_file(&cfg, &st)) {
        fprintf(stderr, "open failed\n");
        exit(1);
    }
    sl_shard_log_t **logs = calloc((size_t)nshards, sizeof *logs);
    double t0 = now_s();
    for (int i = 0; i < nshards; i++) {
        char shard[32];
        snprintf(shard, sizeof shard, "shardId-%012d", i);
        if (sl_storage_shard_open(st, "bench-open", shard, NULL, &logs[i])) {
            fprintf(stderr, "open %d failed\n", i);
            exit(1);
        }
    }
    double t = now_s() - t0;
    printf("open: %d new shards of one stream opened in %.3f s (%.1f us per shard)\n", nshards, t,
           t * 1e6 / nshards);
    for (int i = 0; i < nshards; i++)
        sl_storage_shard_close(logs[i]);
    sl_storage_close(st);
    free(logs);
    util_rm_rf(dir);
    free(dir);
}

/* ---- 6. PutRecords-like load over many shards ---- */
/* One request: a batch append (sl_storage_append_batch, as PutRecords makes) of its groups, one
 * per touched shard, with their records. */
typedef struct {
    flow_t *flow;
    size_t n;
    sl_append_batch_t batch;
    sl_append_group_t groups[500];
    sl_record_t recs[500];
} preq_t;

static void preq_cb(sl_append_batch_t *b) {
    preq_t *r = b->arg;
    flow_t *f = r->flow;
    for (size_t i = 0; i < b->n; i++)
        if (b->groups[i].status) atomic_fetch_add(&f->errors, 1);
    atomic_fetch_add(&f->acked_records, r->n);
    pthread_mutex_lock(&f->mu);
    f->inflight_bytes--;
    pthread_cond_signal(&f->cond);
    pthread_mutex_unlock(&f->mu);
    free(r);
}

static void bench_many(int nshards) {
    char *dir = subdir("many");
    sl_storage_config_t cfg = {.data_dir = dir, .durability = SL_DURABILITY_SYNC};
    sl_storage_t *st;
    if (sl_storage_open_file(&cfg, &st)) {
        fprintf(stderr, "open failed\n");
        exit(1);
    }
    sl_shard_log_t **logs = calloc((size_t)nshards, sizeof *logs);
    for (int i = 0; i < nshards; i++) {
        char shard[32];
        snprintf(shard, sizeof shard, "shardId-%012d", i);
        if (sl_storage_shard_open(st, "bench-many", shard, NULL, &logs[i])) {
            fprintf(stderr, "open %d failed\n", i);
            exit(1);
        }
    }
    enum { BATCH = 500, REC = 100, INFLIGHT = 16 };
    uint8_t data[REC];
    for (size_t i = 0; i < REC; i++)
        data[i] = (uint8_t)(i * 13);
    int *shard_of = malloc(BATCH * sizeof *shard_of),
        *count = calloc((size_t)nshards, sizeof *count);
    sl_record_t *recs = malloc(BATCH * sizeof *recs);
    int *touched = malloc(BATCH * sizeof *touched);
    char pk[16] = "partition-key-1";
    for (size_t i = 0; i < BATCH; i++)
        recs[i] = (sl_record_t){.key = pk, .key_len = 15, .data = data, .data_len = REC};
    flow_t flow = {.mu = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
    /* Warm-up, timed apart: one record to every shard (with a lazily creating engine this is
     * where the shards' files are created, as by the first PutRecords after CreateStream). */
    double tw = now_s();
    for (int i = 0; i < nshards; i++) {
        pthread_mutex_lock(&flow.mu);
        flow.inflight_bytes++;
        pthread_mutex_unlock(&flow.mu);
        recs[0].arrival_ms = sl_time_now_ms();
        if (sl_storage_append(logs[i], recs, 1, noop_cb, &flow)) {
            atomic_fetch_add(&flow.errors, 1);
            pthread_mutex_lock(&flow.mu);
            flow.inflight_bytes--;
            pthread_mutex_unlock(&flow.mu);
        }
    }
    pthread_mutex_lock(&flow.mu);
    while (flow.inflight_bytes > 0)
        pthread_cond_wait(&flow.cond, &flow.mu);
    pthread_mutex_unlock(&flow.mu);
    tw = now_s() - tw;
    uint64_t x = 88172645463325252ull;
    unsigned long long requests = 0;
    double c0 = cpu_s(), t0 = now_s();
    while (now_s() - t0 < g_seconds) {
        pthread_mutex_lock(&flow.mu);
        while (flow.inflight_bytes >= INFLIGHT)
            pthread_cond_wait(&flow.cond, &flow.mu);
        flow.inflight_bytes++;
        pthread_mutex_unlock(&flow.mu);
        /* Route each record to a random shard, then append each touched shard's records at once. */
        int nt = 0;
        for (int i = 0; i < BATCH; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            shard_of[i] = (int)(x % (uint64_t)nshards);
            if (count[shard_of[i]]++ == 0) touched[nt++] = shard_of[i];
        }
        preq_t *r = malloc(sizeof *r);
        r->flow = &flow;
        r->n = BATCH;
        int64_t t = sl_time_now_ms();
        size_t m = 0;
        for (int k = 0; k < nt; k++) {
            int sh = touched[k];
            size_t first = m;
            for (int i = 0; i < BATCH; i++)
                if (shard_of[i] == sh) {
                    r->recs[m] = recs[i];
                    r->recs[m++].arrival_ms = t;
                }
            count[sh] = 0;
            r->groups[k] =
                (sl_append_group_t){.log = logs[sh], .records = &r->recs[first], .n = m - first};
        }
        r->batch =
            (sl_append_batch_t){.groups = r->groups, .n = (size_t)nt, .cb = preq_cb, .arg = r};
        if (sl_storage_append_batch(st, &r->batch)) { /* refused: no callback */
            atomic_fetch_add(&flow.errors, 1);
            pthread_mutex_lock(&flow.mu);
            flow.inflight_bytes--;
            pthread_mutex_unlock(&flow.mu);
            free(r);
        }
        requests++;
    }
    pthread_mutex_lock(&flow.mu);
    while (flow.inflight_bytes > 0)
        pthread_cond_wait(&flow.cond, &flow.mu);
    pthread_mutex_unlock(&flow.mu);
    double t = now_s() - t0, c = cpu_s() - c0;
    unsigned long long acked = atomic_load(&flow.acked_records);
    printf("many shards: sync, %5d shards, PutRecords-like 500 x 100 B, 16 in flight: %10.0f "
           "records/s  %7.0f requests/s"
           "  %9.0f records per CPU-second  errors %d  (warm-up: first record to every shard %.3f "
           "s)\n",
           nshards, (double)acked / t, (double)requests / t, (double)acked / c,
           atomic_load(&flow.errors), tw);
    for (int i = 0; i < nshards; i++)
        sl_storage_shard_close(logs[i]);
    sl_storage_close(st);
    free(logs);
    free(shard_of);
    free(count);
    free(recs);
    free(touched);
    util_rm_rf(dir);
    free(dir);
}

static bool want(const char *name) {
    return !g_only || strcmp(g_only, name) == 0;
}

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--dir") && i + 1 < argc)
            g_dir = argv[++i];
        else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
            g_seconds = atof(argv[++i]);
        else if (!strcmp(argv[i], "--recovery-gib") && i + 1 < argc)
            g_recovery_gib = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--shards") && i + 1 < argc)
            g_shards = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--only") && i + 1 < argc)
            g_only = argv[++i];
        else if (!strcmp(argv[i], "--many-shards") && i + 1 < argc)
            g_many_shards = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--many-small") && i + 1 < argc)
            g_many_small = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--no-disk"))
            g_skip_disk = true;
        else {
            printf("usage: %s [--dir DIR] [--seconds S] [--recovery-gib G] [--shards N] [--only "
                   "disk|append|recovery|memory|open|many]\n"
                   "       [--many-shards N] [--many-small N] [--no-disk]\n",
                   argv[0]);
            return 2;
        }
    }
    mkdir(g_dir, 0755);
    sl_log_set_level(SL_LOG_WARN);
    if (!g_skip_disk)
        bench_disk(); /* the append figures are reported against it */
    else
        g_disk_mbps = 1;
    if (want("append")) {
        size_t sizes[] = {100, 10240};
        for (int d = 0; d < 3; d++)
            for (size_t s = 0; s < 2; s++)
                bench_append((sl_durability_t)d, sizes[s], 1);
        bench_append(SL_DURABILITY_SYNC, 10240, 8);
        bench_append(SL_DURABILITY_SYNC, 100, 8);
    }
    if (want("recovery")) bench_recovery();
    if (want("memory")) bench_memory();
    if (want("open")) bench_open(g_shards);
    if (want("many")) {
        if (g_many_small > 0) bench_many(g_many_small);
        bench_many(g_many_shards);
    }
    return 0;
}
