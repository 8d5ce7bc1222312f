/* GET /metrics: the registry (core/metrics.h) in Prometheus's text format, on the main port and
 * optionally on --metrics-port. */
#include "server/observe.h"

#include "core/buf.h"
#include "core/common.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/time.h"
#include "storage/backend.h"

#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#define PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

static void metrics_route(sl_front_call_t *call) {
    sl_buf_t b = SL_BUF_INIT;
    if (sl_metrics_prometheus(&b) != 0) {
        sl_buf_free(&b);
        static const char oom[] = "out of memory\n";
        sl_front_respond(call, 500, "text/plain", oom, sizeof oom - 1);
        return;
    }
    sl_front_respond(call, 200, PROM_CONTENT_TYPE, b.data, b.len);
    sl_buf_free(&b);
}

static void ready_route(sl_front_call_t *call) {
    const volatile bool *ready = call->route_ctx;
    static const char yes[] = "{\"status\":\"ready\"}", no[] = "{\"status\":\"not ready\"}";
    if (__atomic_load_n(ready, __ATOMIC_ACQUIRE))
        sl_front_respond(call, 200, "application/json", yes, sizeof yes - 1);
    else
        sl_front_respond(call, 503, "application/json", no, sizeof no - 1);
}

/* ---- storage usage (docs/observability.md, "Storage"): read from the data directory at each
 * export; the Kinesis streams' series by account and stream name, the totals over every log ---- */

static void storage_collect(void *arg);

static const sl_metric_desc_t d_stream_segments = {
    .prom_name = "sluice_storage_stream_segments",
    .help = "Segment files of a Kinesis stream's shards (every shard, sealed and active).",
    .kind = SL_METRIC_GAUGE,
    .labels = {"AccountId", "StreamName"},
    .collect = storage_collect};
static const sl_metric_desc_t d_stream_bytes = {
    .prom_name = "sluice_storage_stream_bytes",
    .help = "Bytes on disk of a Kinesis stream's segment and index files.",
    .kind = SL_METRIC_GAUGE,
    .labels = {"AccountId", "StreamName"}};
static const sl_metric_desc_t d_segments = {
    .prom_name = "sluice_storage_segments",
    .help = "Segment files of every log (Kinesis streams and Firehose buffers).",
    .kind = SL_METRIC_GAUGE};
static const sl_metric_desc_t d_bytes = {
    .prom_name = "sluice_storage_bytes",
    .help = "Bytes on disk of every log's segment and index files (the journal not included).",
    .kind = SL_METRIC_GAUGE};

/* One stream's series; kept so that a stream gone from the disk has its series released. */
typedef struct {
    sl_series_t *segments, *bytes;
    bool seen;
    uint8_t missed; /* walks in a row that did not see it */
} usage_entry_t;

static struct {
    pthread_mutex_t mu; /* storage and the entries; taken inside the registry's mutex */
    sl_storage_t *storage;
    char default_account[16];
    sl_metric_t *stream_segments, *stream_bytes;
    sl_series_t *segments, *bytes;
    usage_entry_t *entries;
    size_t count, cap;
    uint64_t total_segments, total_bytes;
    int64_t walked_ms; /* monotonic time of the last walk */
} g_usage = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* Every export runs the collect callbacks (a scrape, and each CloudWatch query, which samples the
 * registry): the directory is walked at most this often, the gauges keep the last walk's values
 * in between. */
#define USAGE_WALK_MS 1000

static bool digits(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i])) return false;
    return n > 0;
}

/* A Kinesis stream's storage key, "[<account>.]<id>-<name>" (server/compose.c gives other accounts
 * the prefix "<account>."; kinesis/engine.c appends "<id>-<name>"), into its account and name.
 * Firehose's buffers ("_fh....") and anything else answer false. */
static bool kinesis_key(const char *key, char account[16], const char **name) {
    const char *dot = strchr(key, '.'), *rest = key;
    if (dot && dot - key == 12 && digits(key, 12)) {
        memcpy(account, key, 12);
        account[12] = 0;
        rest = dot + 1;
    } else {
        memcpy(account, g_usage.default_account, 16);
    }
    const char *dash = strchr(rest, '-');
    if (!dash || !digits(rest, (size_t)(dash - rest)) || !dash[1]) return false;
    *name = dash + 1;
    return true;
}

static void usage_one(void *arg, const char *stream_key, uint64_t segments, uint64_t bytes) {
    (void)arg;
    g_usage.total_segments += segments;
    g_usage.total_bytes += bytes;
    char account[16];
    const char *name;
    if (!kinesis_key(stream_key, account, &name)) return;
    const char *values[] = {account, name};
    sl_series_t *ss = sl_metric_series(g_usage.stream_segments, values);
    sl_series_t *bs = sl_metric_series(g_usage.stream_bytes, values);
    if (!ss || !bs) return;
    sl_metric_set(ss, (int64_t)segments);
    sl_metric_set(bs, (int64_t)bytes);
    for (size_t i = 0; i < g_usage.count; i++)
        if (g_usage.entries[i].segments == ss) {
            g_usage.entries[i].seen = true;
            g_usage.entries[i].missed = 0;
            return;
        }
    if (g_usage.count == g_usage.cap) {
        size_t cap = g_usage.cap ? g_usage.cap * 2 : 16;
        usage_entry_t *e = realloc(g_usage.entries, cap * sizeof *e);
        if (!e) return;
        g_usage.entries = e;
        g_usage.cap = cap;
    }
    g_usage.entries[g_usage.count++] = (usage_entry_t){ss, bs, true, 0};
}

static void storage_collect(void *arg) {
    (void)arg;
    pthread_mutex_lock(&g_usage.mu);
    int64_t now = sl_time_mono_ms();
    if (g_usage.storage && (!g_usage.walked_ms || now - g_usage.walked_ms >= USAGE_WALK_MS)) {
        g_usage.walked_ms = now;
        g_usage.total_segments = g_usage.total_bytes = 0;
        for (size_t i = 0; i < g_usage.count; i++)
            g_usage.entries[i].seen = false;
        if (sl_storage_usage(g_usage.storage, usage_one, NULL) == 0) {
            sl_metric_set(g_usage.segments, (int64_t)g_usage.total_segments);
            sl_metric_set(g_usage.bytes, (int64_t)g_usage.total_bytes);
            /* streams deleted since the last export: missed by two walks in a row (a directory
             * listing that runs while a sibling stream's directory is removed missed a live
             * stream once in CI, and its series must not blink out) */
            size_t kept = 0;
            for (size_t i = 0; i < g_usage.count; i++) {
                if (g_usage.entries[i].seen || ++g_usage.entries[i].missed < 2) {
                    g_usage.entries[kept++] = g_usage.entries[i];
                    continue;
                }
                sl_series_release(g_usage.entries[i].segments);
                sl_series_release(g_usage.entries[i].bytes);
            }
            g_usage.count = kept;
        }
    }
    pthread_mutex_unlock(&g_usage.mu);
}

void sl_observe_storage(sl_storage_t *storage, const char *default_account) {
    if (storage && !g_usage.stream_segments) {
        /* the families collected last are set by the first one's callback: declare it first */
        g_usage.stream_segments = sl_metric_declare(&d_stream_segments);
        g_usage.stream_bytes = sl_metric_declare(&d_stream_bytes);
        g_usage.segments = sl_metric_series(sl_metric_declare(&d_segments), NULL);
        g_usage.bytes = sl_metric_series(sl_metric_declare(&d_bytes), NULL);
    }
    pthread_mutex_lock(&g_usage.mu);
    g_usage.storage = storage;
    snprintf(g_usage.default_account, sizeof g_usage.default_account, "%s",
             default_account ? default_account : "");
    usage_entry_t *gone = NULL;
    size_t gone_count = 0;
    if (!storage) {
        gone = g_usage.entries;
        gone_count = g_usage.count;
        g_usage.entries = NULL;
        g_usage.count = g_usage.cap = 0;
    }
    pthread_mutex_unlock(&g_usage.mu);
    /* released outside g_usage.mu: the registry's mutex comes first (collect holds it) */
    for (size_t i = 0; i < gone_count; i++) {
        sl_series_release(gone[i].segments);
        sl_series_release(gone[i].bytes);
    }
    free(gone);
}

int sl_observe_register(sl_front_t *front, const volatile bool *ready) {
    sl_metrics_process_declare();
    int rc = sl_front_add_route(front, "GET", "/metrics", false, metrics_route, NULL);
    if (rc == 0) rc = sl_front_add_route(front, "GET", "/ready", false, ready_route, (void *)ready);
    return rc;
}

/* The --metrics-port listener's handler: /metrics, else 404. */
static void metrics_port_handle(void *ctx, sl_http_req_t *req) {
    (void)ctx;
    size_t plen = strcspn(req->path, "?");
    sl_http_header_t ct = {"content-type", 12, PROM_CONTENT_TYPE, strlen(PROM_CONTENT_TYPE)};
    if (strcmp(req->method, "GET") != 0 || plen != 8 || memcmp(req->path, "/metrics", 8) != 0) {
        static const char nf[] = "not found\n";
        char *body = malloc(sizeof nf - 1);
        if (body) memcpy(body, nf, sizeof nf - 1);
        sl_http_respond(req, 404, NULL, 0, body, body ? sizeof nf - 1 : 0);
        return;
    }
    sl_buf_t b = SL_BUF_INIT;
    if (sl_metrics_prometheus(&b) != 0) {
        sl_buf_free(&b);
        sl_http_respond(req, 500, NULL, 0, NULL, 0);
        return;
    }
    size_t len = 0;
    char *body = sl_buf_detach(&b, &len);
    sl_http_respond(req, 200, &ct, 1, body, len);
}

int sl_observe_start_port(const char *bind_address, int port, sl_http_server_t **out) {
    sl_http_server_config_t hcfg = {
        .bind_address = bind_address,
        .port = port,
        .threads = 1,
        .body_max_bytes = 1024 * 1024,
        .handler = metrics_port_handle,
    };
    int rc = sl_http_server_start(&hcfg, out);
    if (rc)
        SL_ERROR("cannot listen for metrics on %s:%d: %s", bind_address, port, sl_strerror(rc));
    else
        SL_INFO("metrics on %s:%d/metrics", bind_address, sl_http_server_port(*out));
    return rc;
}
