/* bench_consumer: libsluice consumer throughput in user records per second, end to end: a worker
 * of a new application (lease table created, leases taken, every shard read from TRIM_HORIZON,
 * records de-aggregated and handed to the processor) until the processor has seen N records. The
 * processor checkpoints each shard at most once per interval (KCL applications typically
 * checkpoint every second or so), and once more at shutdown.
 *
 *   bench_consumer ENDPOINT STREAM APP --records N [--fan-out] [--checkpoint-every-ms MS]
 * Prints one line: mode, records, seconds from start to the Nth record, records/s, checkpoints. */
#include "client/sluice.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static atomic_long g_records, g_checkpoints;
static long g_target;
static int g_every_ms = 1000;
static sl_consumer_t *g_consumer;
static double g_start, g_end;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct {
    double last_checkpoint_s;
} shard_t;

static int init(void *app, const sl_shard_init_t *in, void **shard) {
    (void)app;
    (void)in;
    shard_t *s = calloc(1, sizeof *s);
    if (!s) return -1;
    s->last_checkpoint_s = now_s();
    *shard = s;
    return 0;
}

static void records(void *shard, const sl_records_input_t *in) {
    shard_t *s = shard;
    long total = atomic_fetch_add(&g_records, (long)in->count) + (long)in->count;
    double t = now_s();
    if (t - s->last_checkpoint_s >= g_every_ms / 1000.0) {
        if (sl_checkpointer_checkpoint(in->checkpointer, NULL, 0) == 0)
            atomic_fetch_add(&g_checkpoints, 1);
        s->last_checkpoint_s = t;
    }
    if (total >= g_target && (long)(total - (long)in->count) < g_target) {
        g_end = t;
        sl_consumer_shutdown(g_consumer);
    }
}

static void lost(void *shard) {
    free(shard);
}

static void finish(void *shard, sl_checkpointer_t *cp) {
    if (sl_checkpointer_checkpoint(cp, NULL, 0) == 0) atomic_fetch_add(&g_checkpoints, 1);
    free(shard);
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: bench_consumer ENDPOINT STREAM APP --records N [--fan-out]"
                        " [--checkpoint-every-ms MS]\n");
        return 2;
    }
    g_target = 200000;
    bool fan_out = false;
    for (int i = 4; i < argc; i++) {
        if (!strcmp(argv[i], "--records") && i + 1 < argc) g_target = atol(argv[++i]);
        if (!strcmp(argv[i], "--fan-out")) fan_out = true;
        if (!strcmp(argv[i], "--checkpoint-every-ms") && i + 1 < argc) g_every_ms = atoi(argv[++i]);
    }
    sl_client_config_t cc = {.endpoint_url = argv[1],
                             .region = "us-east-1",
                             .access_key_id = "AKIDEXAMPLE",
                             .secret_access_key = "secret"};
    sl_client_t *client;
    if (sl_client_create(&cc, &client) != 0) return 2;
    sl_consumer_config_t cfg;
    sl_consumer_config_init(&cfg);
    cfg.application_name = argv[3];
    cfg.stream_name = argv[2];
    cfg.retrieval = fan_out ? SL_RETRIEVAL_FAN_OUT : SL_RETRIEVAL_POLLING;
    sl_record_processor_t proc = {init, records, lost, finish, finish};
    if (sl_consumer_create(client, &cfg, &proc, NULL, &g_consumer) != 0) return 2;
    g_start = now_s();
    int rc = sl_consumer_run(g_consumer);
    if (rc != 0) fprintf(stderr, "bench_consumer: %s\n", sl_consumer_error(g_consumer));
    long n = atomic_load(&g_records);
    double secs = (g_end > 0 ? g_end : now_s()) - g_start;
    printf("%-8s records %ld  seconds %.2f  records/s %.0f  checkpoints %ld\n",
           fan_out ? "fan-out" : "polling", n, secs, secs > 0 ? (double)n / secs : 0.0,
           atomic_load(&g_checkpoints));
    sl_consumer_destroy(g_consumer);
    sl_client_destroy(client);
    return rc == 0 && n >= g_target ? 0 : 1;
}
