/* consumer_check: a libsluice consumer written against the public API (sluice.h, libsluice.so),
 * driven by tests/conformance/test_consume.py against a real server.
 *
 *   consumer_check ENDPOINT STREAM APP FAILOVER_MS
 *     runs a worker until SIGTERM and prints one line per event, flushed:
 *       init <shard> <checkpoint> <sub>
 *       rec <shard> <seq> <sub> <partition key> <data>
 *       cp <shard> <seq> <sub> <rc>           explicit checkpoint at the batch's last record
 *       bad-after <shard> <rc>                 a checkpoint beyond the last record handed out
 *       bad-before <shard> <rc>                a checkpoint before the last one stored
 *       lost <shard> | ended <shard> <rc> | shutdown <shard> <rc>
 *     exit 0 after a graceful shutdown. */
#include "client/sluice.h"

#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t out_mu = PTHREAD_MUTEX_INITIALIZER;
static sl_consumer_t *g_consumer;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void say(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    pthread_mutex_lock(&out_mu);
    vprintf(fmt, ap);
    fflush(stdout);
    pthread_mutex_unlock(&out_mu);
    va_end(ap);
}

static int init(void *app, const sl_shard_init_t *in, void **shard) {
    (void)app;
    *shard = strdup(in->shard_id);
    say("init %s %s %llu\n", in->shard_id, in->sequence_number,
        (unsigned long long)in->sub_sequence_number);
    return *shard ? 0 : -1;
}

static void records(void *shard, const sl_records_input_t *in) {
    const char *id = shard;
    for (size_t i = 0; i < in->count; i++) {
        const sl_record_t *r = &in->records[i];
        say("rec %s %s %llu %s %.*s\n", id, r->sequence_number,
            (unsigned long long)r->sub_sequence_number, r->partition_key, (int)r->data_len,
            (const char *)r->data);
    }
    if (in->count == 0) return;
    const sl_record_t *first = &in->records[0], *last = &in->records[in->count - 1];
    char beyond[200];
    snprintf(beyond, sizeof beyond, "%s9", last->sequence_number);
    say("bad-after %s %d\n", id, sl_checkpointer_checkpoint(in->checkpointer, beyond, 0));
    int rc = sl_checkpointer_checkpoint(in->checkpointer, last->sequence_number,
                                        last->sub_sequence_number);
    say("cp %s %s %llu %d\n", id, last->sequence_number,
        (unsigned long long)last->sub_sequence_number, rc);
    if (strcmp(first->sequence_number, last->sequence_number) != 0 ||
        first->sub_sequence_number != last->sub_sequence_number)
        say("bad-before %s %d\n", id,
            sl_checkpointer_checkpoint(in->checkpointer, first->sequence_number,
                                       first->sub_sequence_number));
}

static void lost(void *shard) {
    say("lost %s\n", (char *)shard);
    free(shard);
}

static void ended(void *shard, sl_checkpointer_t *cp) {
    say("ended %s %d\n", (char *)shard, sl_checkpointer_checkpoint(cp, NULL, 0));
    free(shard);
}

static void shutdown_requested(void *shard, sl_checkpointer_t *cp) {
    say("shutdown %s %d\n", (char *)shard, sl_checkpointer_checkpoint(cp, NULL, 0));
    free(shard);
}

static void on_term(int sig) {
    (void)sig;
    sl_consumer_shutdown(g_consumer);
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: consumer_check ENDPOINT STREAM APP FAILOVER_MS\n");
        return 2;
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
    cfg.failover_time_ms = atoi(argv[4]);
    cfg.idle_between_reads_ms = 100;
    cfg.parent_poll_interval_ms = 200;
    cfg.shard_sync_interval_ms = 1000;
    sl_record_processor_t proc = {init, records, lost, ended, shutdown_requested};
    if (sl_consumer_create(client, &cfg, &proc, NULL, &g_consumer) != 0) return 2;
    struct sigaction sa = {.sa_handler = on_term};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    int rc = sl_consumer_run(g_consumer);
    if (rc != 0) fprintf(stderr, "consumer_check: %s\n", sl_consumer_error(g_consumer));
    sl_consumer_destroy(g_consumer);
    sl_client_destroy(client);
    return rc == 0 ? 0 : 1;
}
