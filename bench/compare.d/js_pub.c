/* JetStream publisher for bench/compare: the NATS side of "PutRecord of 100-byte records", through
 * the official C client (Debian libnats). Creates a file-storage stream, then for --duration
 * seconds publishes asynchronously (up to --pending acks outstanding, the client's pipelining), and
 * then measures synchronous publish latency (one message in flight) for --sync seconds. Prints one
 * JSON object like `sluice bench --json`: records_per_s, mb_per_s and latency_ms from the sync
 * phase. */
#include <nats/nats.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    const char *url = "nats://127.0.0.1:4222", *stream = "BENCH";
    double duration = 5, sync_s = 2;
    int size = 100, pending = 4096;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--url"))
            url = argv[i + 1];
        else if (!strcmp(argv[i], "--stream"))
            stream = argv[i + 1];
        else if (!strcmp(argv[i], "--duration"))
            duration = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--sync"))
            sync_s = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--size"))
            size = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--pending"))
            pending = atoi(argv[i + 1]);
    }
    natsConnection *nc = NULL;
    jsCtx *js = NULL;
    jsOptions jo;
    jsErrCode jerr = 0;
    natsStatus s = natsConnection_ConnectTo(&nc, url);
    if (s == NATS_OK) {
        jsOptions_Init(&jo);
        jo.PublishAsync.MaxPending = pending;
        s = natsConnection_JetStream(&js, nc, &jo);
    }
    char subject[160];
    snprintf(subject, sizeof subject, "%s.data", stream);
    if (s == NATS_OK) {
        jsStreamConfig sc;
        jsStreamConfig_Init(&sc);
        sc.Name = stream;
        const char *subjects[1] = {subject};
        sc.Subjects = subjects;
        sc.SubjectsLen = 1;
        sc.Storage = js_FileStorage;
        s = js_AddStream(NULL, js, &sc, NULL, &jerr);
        if (s != NATS_OK && jerr == JSStreamNameExistErr) s = NATS_OK;
    }
    if (s != NATS_OK) {
        fprintf(stderr, "js_pub: setup failed: %s (%d)\n", natsStatus_GetText(s), (int)jerr);
        return 1;
    }
    char *data = malloc((size_t)size);
    for (int i = 0; i < size; i++)
        data[i] = (char)('a' + i % 26);
    long long sent = 0, errors = 0;
    double t0 = now_s(), end = t0 + duration;
    while (now_s() < end) {
        for (int k = 0; k < 256; k++) {
            if (js_PublishAsync(js, subject, data, size, NULL) == NATS_OK)
                sent++;
            else
                errors++;
        }
    }
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = 60000;
    if (js_PublishAsyncComplete(js, &po) != NATS_OK) errors++;
    double elapsed = now_s() - t0;
    natsMsgList pend;
    if (js_PublishAsyncGetPendingList(&pend, js) == NATS_OK) {
        errors += pend.Count;
        sent -= pend.Count;
        natsMsgList_Destroy(&pend);
    }
    /* Synchronous phase: one publish in flight, latency per ack. */
    size_t cap = 1 << 20, n = 0;
    double *lat = malloc(cap * sizeof *lat);
    double ts = now_s(), tend = ts + sync_s;
    while (now_s() < tend && n < cap) {
        double a = now_s();
        if (js_Publish(NULL, js, subject, data, size, NULL, &jerr) != NATS_OK) {
            errors++;
            continue;
        }
        lat[n++] = (now_s() - a) * 1e3;
    }
    qsort(lat, n, sizeof *lat, cmp);
#define Q(q) (n ? lat[(size_t)((q) * (double)(n - 1))] : 0)
    printf("{\"workload\":\"js-publish\",\"records\":%lld,\"seconds\":%.3f,\"records_per_s\":%.1f,"
           "\"mb_per_s\":%.3f,"
           "\"sync_records_per_s\":%.1f,\"latency_ms\":{\"count\":%zu,\"p50\":%.3f,\"p99\":%.3f,"
           "\"p999\":%.3f,\"max\":%.3f},"
           "\"errors_total\":%lld}\n",
           sent, elapsed, (double)sent / elapsed, (double)sent * size / elapsed / 1e6,
           (double)n / sync_s, n, Q(0.5), Q(0.99), Q(0.999), n ? lat[n - 1] : 0, errors);
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
    free(data);
    free(lat);
    return 0;
}
