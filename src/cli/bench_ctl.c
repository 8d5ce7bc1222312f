/* `sluice bench` control plane: SigV4 signing shared with the load loop, blocking calls on the net
 * layer's outbound HTTP client (one keep-alive connection on a private loop), and the setup before
 * a run (create the stream and wait for ACTIVE, list shards, register a consumer). Setup is not
 * measured. */
#include "cli/bench_internal.h"

#include "core/arena.h"
#include "core/common.h"
#include "net/client.h"
#include "wire/json.h"
#include "wire/sigv4.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int sl_bench_sign(sl_bench_signer_t *s, const sl_bench_cfg_t *cfg, const char *target,
                  const char *sha_hex, int64_t unix_s, char amz_date[17], char *auth,
                  size_t auth_cap) {
    time_t t = (time_t)unix_s;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(amz_date, 17, "%Y%m%dT%H%M%SZ", &tm);
    if (!s->have_key || memcmp(s->date8, amz_date, 8) != 0) {
        memcpy(s->date8, amz_date, 8);
        s->date8[8] = 0;
        if (sl_sigv4_derive_key(cfg->secret_key, s->date8, cfg->region, "kinesis", s->key) != 0)
            return SL_EINVAL;
        s->have_key = true;
    }
    sl_sigv4_header_t hs[4] = {{"content-type", "application/x-amz-json-1.1"},
                               {"host", cfg->authority},
                               {"x-amz-date", amz_date},
                               {"x-amz-target", target}};
    sl_sigv4_sign_input_t in = {.method = "POST",
                                .path = "/",
                                .query = "",
                                .headers = hs,
                                .header_count = 4,
                                .payload_sha256_hex = sha_hex,
                                .amz_date = amz_date,
                                .access_key_id = cfg->access_key,
                                .region = cfg->region,
                                .service = "kinesis",
                                .signing_key = s->key};
    return sl_sigv4_sign(&in, auth, auth_cap);
}

void sl_bench_error_kind(int status, const char *body, size_t len, char *out, size_t cap) {
    const char *t = body ? memmem(body, len, "\"__type\":\"", 10) : NULL;
    if (!t) {
        snprintf(out, cap, "HTTP %d", status);
        return;
    }
    t += 10;
    const char *e = memchr(t, '"', len - (size_t)(t - body));
    if (!e) e = body + len;
    const char *hash = memchr(t, '#', (size_t)(e - t));
    if (hash) t = hash + 1;
    snprintf(out, cap, "%d %.*s", status, (int)(e - t), t);
}

/* ---- blocking calls ---- */

/* The control plane's client and its loop, on the thread that runs setup and teardown. */
static sl_loop_t *g_ctl_loop;
static sl_http_client_t *g_ctl_http;

typedef struct {
    bool done;
    int error;
    int status;
    sl_buf_t *resp;
} ctl_wait_t;

static void ctl_done(sl_http_call_t *call, const sl_http_client_resp_t *resp, void *arg) {
    (void)call;
    ctl_wait_t *w = arg;
    w->done = true;
    w->error = resp->error;
    w->status = resp->status;
    sl_buf_reset(w->resp);
    sl_buf_append(w->resp, resp->body ? (const char *)resp->body : "", resp->body_len);
    if (sl_buf_reserve(w->resp, 1)) w->resp->data[w->resp->len] = 0;
    sl_loop_stop(g_ctl_loop);
}

int sl_bench_ctl_call(const sl_bench_cfg_t *cfg, const char *op, const char *body, int *status,
                      sl_buf_t *resp) {
    if (!g_ctl_loop) {
        sl_http_client_config_t hc = {.connections_per_origin = 1, .timeout_ms = 30000};
        if (sl_loop_create(&g_ctl_loop) != 0) return SL_EIO;
        if (sl_http_client_create(g_ctl_loop, &hc, &g_ctl_http) != 0) {
            sl_loop_destroy(g_ctl_loop);
            g_ctl_loop = NULL;
            return SL_ENOMEM;
        }
    }
    char target[96], sha[65], amz_date[17], auth[512], origin[300];
    snprintf(target, sizeof target, "Kinesis_20131202.%s", op);
    snprintf(origin, sizeof origin, strchr(cfg->host, ':') ? "http://[%s]:%d" : "http://%s:%d",
             cfg->host, cfg->port);
    sl_sigv4_sha256_hex(body, strlen(body), sha);
    sl_bench_signer_t signer = {0};
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int rc = sl_bench_sign(&signer, cfg, target, sha, now.tv_sec, amz_date, auth, sizeof auth);
    if (rc != 0) return rc;
    sl_http_header_t hs[] = {
        {"host", 4, cfg->authority, strlen(cfg->authority)},
        {"content-type", 12, "application/x-amz-json-1.1", 26},
        {"x-amz-target", 12, target, strlen(target)},
        {"x-amz-date", 10, amz_date, strlen(amz_date)},
        {"authorization", 13, auth, strlen(auth)},
    };
    ctl_wait_t w = {.resp = resp};
    sl_http_client_req_t q = {.origin = origin,
                              .version = SL_HTTPC_HTTP1,
                              .method = "POST",
                              .path = "/",
                              .headers = hs,
                              .header_count = SL_ARRAY_LEN(hs),
                              .body = body,
                              .body_len = strlen(body),
                              .on_done = ctl_done,
                              .arg = &w};
    rc = sl_http_client_submit(g_ctl_http, &q, NULL);
    if (rc != 0) return rc;
    while (!w.done)
        sl_loop_run(g_ctl_loop);
    if (w.error) return SL_EIO;
    *status = w.status;
    return 0;
}

static void ctl_close(void) {
    sl_http_client_destroy(g_ctl_http);
    g_ctl_http = NULL;
    if (g_ctl_loop) sl_loop_destroy(g_ctl_loop);
    g_ctl_loop = NULL;
}

/* ---- setup ---- */

/* Calls op and parses the JSON answer into *doc (arena); returns the HTTP status or a negative
 * code. */
static int call_json(const sl_bench_cfg_t *cfg, const char *op, const char *body, sl_arena_t *arena,
                     sl_buf_t *resp, sl_val_t **doc) {
    int status = 0;
    int rc = sl_bench_ctl_call(cfg, op, body, &status, resp);
    if (rc != 0) {
        fprintf(stderr, "sluice bench: %s: cannot reach %s:%d\n", op, cfg->host, cfg->port);
        return rc;
    }
    *doc = NULL;
    const char *reason;
    if (resp->len) {
        char *copy = sl_arena_alloc(arena, resp->len + 1);
        if (!copy) return SL_ENOMEM;
        memcpy(copy, resp->data, resp->len + 1);
        sl_json_parse(copy, resp->len, arena, doc, &reason);
    }
    return status;
}

static void report(const char *op, int status, const sl_buf_t *resp) {
    fprintf(stderr, "sluice bench: %s failed: HTTP %d %.*s\n", op, status,
            (int)SL_MIN(resp->len, 400), resp->data ? resp->data : "");
}

static void sleep_ms(int ms) {
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int wait_active(sl_bench_cfg_t *cfg, sl_arena_t *arena, sl_buf_t *resp) {
    char body[256];
    snprintf(body, sizeof body, "{\"StreamName\":\"%s\",\"Limit\":1}", cfg->stream);
    for (int i = 0; i < 6000; i++) {
        sl_val_t *doc;
        int st = call_json(cfg, "DescribeStream", body, arena, resp, &doc);
        if (st < 0) return st;
        if (st != 200) {
            report("DescribeStream", st, resp);
            return SL_ENOTFOUND;
        }
        sl_val_t *d = sl_val_get(doc, "StreamDescription");
        size_t n;
        const char *status = sl_val_get_str(d, "StreamStatus", &n);
        const char *arn = sl_val_get_str(d, "StreamARN", &n);
        if (arn) snprintf(cfg->stream_arn, sizeof cfg->stream_arn, "%s", arn);
        if (status && (strcmp(status, "ACTIVE") == 0 || strcmp(status, "UPDATING") == 0)) return 0;
        sl_arena_reset(arena);
        sleep_ms(50);
    }
    fprintf(stderr, "sluice bench: stream %s did not become ACTIVE\n", cfg->stream);
    return SL_ELIMIT;
}

static int list_shards(sl_bench_cfg_t *cfg, sl_arena_t *arena, sl_buf_t *resp) {
    char body[2048];
    snprintf(body, sizeof body, "{\"StreamName\":\"%s\"}", cfg->stream);
    int cap = 0;
    cfg->shard_count = 0;
    for (;;) {
        sl_val_t *doc;
        int st = call_json(cfg, "ListShards", body, arena, resp, &doc);
        if (st < 0) return st;
        if (st != 200) {
            report("ListShards", st, resp);
            return SL_EINVAL;
        }
        sl_val_t *shards = sl_val_get(doc, "Shards");
        for (size_t i = 0; shards && shards->type == SL_VAL_ARRAY && i < shards->u.arr.count; i++) {
            sl_val_t *s = shards->u.arr.items[i];
            size_t n;
            const char *id = sl_val_get_str(s, "ShardId", &n);
            sl_val_t *range = sl_val_get(s, "SequenceNumberRange");
            if (!id || (range && sl_val_get(range, "EndingSequenceNumber")))
                continue; /* closed shards */
            if (cfg->shard_count == cap) {
                cap = cap ? cap * 2 : 64;
                char **ids = realloc(cfg->shard_ids, (size_t)cap * sizeof *ids);
                if (!ids) return SL_ENOMEM;
                cfg->shard_ids = ids;
            }
            cfg->shard_ids[cfg->shard_count++] = strdup(id);
        }
        size_t tl;
        const char *token = sl_val_get_str(doc, "NextToken", &tl);
        if (!token || tl == 0) break;
        snprintf(body, sizeof body, "{\"NextToken\":\"%s\"}", token);
        sl_arena_reset(arena);
    }
    return cfg->shard_count > 0 ? 0 : SL_ENOTFOUND;
}

static int register_consumer(sl_bench_cfg_t *cfg, int index, sl_arena_t *arena, sl_buf_t *resp) {
    char body[1024];
    snprintf(body, sizeof body, "{\"StreamARN\":\"%s\",\"ConsumerName\":\"sluice-bench-%d-%d\"}",
             cfg->stream_arn, (int)getpid(), index);
    sl_val_t *doc;
    int st = call_json(cfg, "RegisterStreamConsumer", body, arena, resp, &doc);
    if (st < 0) return st;
    if (st != 200 && !(resp->data && strstr(resp->data, "ResourceInUseException"))) {
        report("RegisterStreamConsumer", st, resp);
        return SL_EINVAL;
    }
    for (int i = 0; i < 6000; i++) {
        sl_arena_reset(arena);
        st = call_json(cfg, "DescribeStreamConsumer", body, arena, resp, &doc);
        if (st < 0) return st;
        if (st != 200) {
            report("DescribeStreamConsumer", st, resp);
            return SL_EINVAL;
        }
        sl_val_t *d = sl_val_get(doc, "ConsumerDescription");
        size_t n;
        const char *status = sl_val_get_str(d, "ConsumerStatus", &n);
        const char *arn = sl_val_get_str(d, "ConsumerARN", &n);
        if (arn) snprintf(cfg->consumer_arns[index], sizeof cfg->consumer_arns[index], "%s", arn);
        if (status && strcmp(status, "ACTIVE") == 0) return 0;
        sleep_ms(50);
    }
    fprintf(stderr, "sluice bench: consumer did not become ACTIVE\n");
    return SL_ELIMIT;
}

int sl_bench_setup(sl_bench_cfg_t *cfg) {
    sl_arena_t arena;
    sl_arena_init(&arena, 1 << 20);
    sl_buf_t resp;
    sl_buf_init(&resp);
    int rc = 0;
    if (cfg->create) {
        char body[256];
        snprintf(body, sizeof body, "{\"StreamName\":\"%s\",\"ShardCount\":%d}", cfg->stream,
                 cfg->shards);
        int status = 0;
        rc = sl_bench_ctl_call(cfg, "CreateStream", body, &status, &resp);
        if (rc != 0) {
            fprintf(stderr, "sluice bench: cannot reach %s:%d\n", cfg->host, cfg->port);
            goto done;
        }
        if (status != 200 && !(resp.data && strstr(resp.data, "ResourceInUseException"))) {
            report("CreateStream", status, &resp);
            rc = SL_EINVAL;
            goto done;
        }
        cfg->created = status == 200;
    }
    rc = wait_active(cfg, &arena, &resp);
    if (rc != 0) goto done;
    if (cfg->workload == SL_BENCH_READ || cfg->workload == SL_BENCH_SUBSCRIBE ||
        cfg->workload == SL_BENCH_MIXED) {
        sl_arena_reset(&arena);
        rc = list_shards(cfg, &arena, &resp);
        if (rc != 0) goto done;
    }
    if (cfg->workload == SL_BENCH_SUBSCRIBE) {
        cfg->consumer_arns = calloc((size_t)cfg->consumers, sizeof *cfg->consumer_arns);
        if (!cfg->consumer_arns) {
            rc = SL_ENOMEM;
            goto done;
        }
        for (int i = 0; i < cfg->consumers && rc == 0; i++) {
            sl_arena_reset(&arena);
            rc = register_consumer(cfg, i, &arena, &resp);
        }
    }
done:
    sl_buf_free(&resp);
    sl_arena_deinit(&arena);
    return rc;
}

void sl_bench_teardown(const sl_bench_cfg_t *cfg) {
    for (int i = 0; cfg->consumer_arns && i < cfg->consumers; i++) {
        if (!cfg->consumer_arns[i][0]) continue;
        char body[1024];
        snprintf(body, sizeof body, "{\"ConsumerARN\":\"%s\"}", cfg->consumer_arns[i]);
        sl_buf_t resp;
        sl_buf_init(&resp);
        int status;
        sl_bench_ctl_call(cfg, "DeregisterStreamConsumer", body, &status, &resp);
        sl_buf_free(&resp);
    }
    ctl_close();
}
