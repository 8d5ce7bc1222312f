/* producer_check: drives libsluice against a real server for tests/conformance/test_libsluice.py.
 *
 *   producer_check put ENDPOINT STREAM COUNT [--plain] [--pace-every N] [--ttl-ms T]
 *     puts COUNT 100-byte records (key "k<i % 97>", data "r<i>|..."), waits for every callback,
 *     destroys the producer, and checks that each record completed exactly once. Prints one line
 *     per record: "ok <i> <shard> <seq> <sub>" or "fail <i> <code>", then "summary <ok> <failed>".
 *     Exit 0 when every record completed exactly once (whatever the outcome), 1 otherwise.
 *   producer_check read ENDPOINT STREAM
 *     prints "<pk> <seq> <sub> <data>" per user record (de-aggregated) until caught up. */
#include "client/sluice.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    atomic_int calls;
    int error;
    char shard[64], seq[128], code[64];
    uint64_t sub;
} slot_t;

static slot_t *g_slots;

static void done(const sl_put_result_t *r, void *arg) {
    slot_t *s = &g_slots[(size_t)(uintptr_t)arg];
    if (atomic_fetch_add(&s->calls, 1) != 0) return;
    s->error = r->error;
    if (r->error == 0) {
        snprintf(s->shard, sizeof s->shard, "%s", r->shard_id);
        snprintf(s->seq, sizeof s->seq, "%s", r->sequence_number);
        s->sub = r->sub_sequence_number;
    } else {
        snprintf(s->code, sizeof s->code, "%s", r->error_code ? r->error_code : "?");
    }
}

static int put(const char *endpoint, const char *stream, long count, int argc, char **argv) {
    sl_producer_config_t pc;
    sl_producer_config_init(&pc);
    long pace = 0;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--plain")) pc.aggregation_enabled = false;
        if (!strcmp(argv[i], "--pace-every") && i + 1 < argc) pace = strtol(argv[++i], NULL, 10);
        if (!strcmp(argv[i], "--ttl-ms") && i + 1 < argc)
            pc.record_ttl_ms = (int)strtol(argv[++i], NULL, 10);
    }
    sl_client_config_t cc = {.endpoint_url = endpoint,
                             .region = "us-east-1",
                             .access_key_id = "AKIDEXAMPLE",
                             .secret_access_key = "secret",
                             .timeout_ms = 2000,
                             .connect_timeout_ms = 1000};
    sl_client_t *c;
    sl_producer_t *p;
    if (sl_client_create(&cc, &c) != 0 || sl_producer_create(c, stream, &pc, &p) != 0) return 2;
    g_slots = calloc((size_t)count, sizeof *g_slots);
    char data[101];
    for (long i = 0; i < count; i++) {
        char key[16];
        snprintf(key, sizeof key, "k%ld", i % 97);
        int n = snprintf(data, sizeof data, "r%ld|", i);
        memset(data + n, 'x', 100 - (size_t)n);
        int rc = sl_producer_put(p, key, NULL, data, 100, done, (void *)(uintptr_t)i);
        if (rc != 0) {
            fprintf(stderr, "put %ld: %s\n", i, sl_client_strerror(rc));
            return 2;
        }
        if (pace && i % pace == pace - 1) nanosleep(&(struct timespec){0, 1000000}, NULL);
    }
    sl_producer_stats_t st;
    sl_producer_flush_sync(p, -1);
    sl_producer_stats(p, &st);
    sl_producer_destroy(p); /* graceful: returns after every record completed */
    printf("stats %llu %llu %llu\n", (unsigned long long)st.requests,
           (unsigned long long)st.retries, (unsigned long long)st.kinesis_records_put);
    sl_client_destroy(c);
    long ok = 0, failed = 0, wrong = 0;
    for (long i = 0; i < count; i++) {
        slot_t *s = &g_slots[i];
        if (atomic_load(&s->calls) != 1) {
            fprintf(stderr, "record %ld completed %d times\n", i, atomic_load(&s->calls));
            wrong++;
        } else if (s->error == 0) {
            printf("ok %ld %s %s %llu\n", i, s->shard, s->seq, (unsigned long long)s->sub);
            ok++;
        } else {
            printf("fail %ld %s\n", i, s->code);
            failed++;
        }
    }
    printf("summary %ld %ld\n", ok, failed);
    free(g_slots);
    return wrong ? 1 : 0;
}

static int print_record(const sl_record_t *r, void *arg) {
    printf("%s %s %llu %.*s\n", r->partition_key, r->sequence_number,
           (unsigned long long)r->sub_sequence_number, (int)r->data_len, (const char *)r->data);
    return 0;
}

static int read_all(const char *endpoint, const char *stream) {
    sl_client_config_t cc = {.endpoint_url = endpoint, .region = "us-east-1"};
    sl_client_t *c;
    sl_reader_t *r;
    sl_reader_config_t rc = {.start = SL_READ_TRIM_HORIZON, .deaggregate = true};
    if (sl_client_create(&cc, &c) != 0 || sl_reader_create(c, stream, &rc, &r) != 0) return 2;
    for (;;) {
        bool caught_up, ended;
        int n = sl_reader_poll(r, print_record, NULL, &caught_up, &ended);
        if (n < 0) {
            fprintf(stderr, "read: %s\n", sl_reader_error(r));
            return 2;
        }
        if (caught_up || ended) break;
    }
    sl_reader_destroy(r);
    sl_client_destroy(c);
    return 0;
}

int main(int argc, char **argv) {
    if (argc >= 5 && !strcmp(argv[1], "put"))
        return put(argv[2], argv[3], strtol(argv[4], NULL, 10), argc - 5, argv + 5);
    if (argc == 4 && !strcmp(argv[1], "read")) return read_all(argv[2], argv[3]);
    fprintf(stderr, "usage: producer_check put|read ENDPOINT STREAM [COUNT ...]\n");
    return 2;
}
