/* `sluice bench`: command-line options, setup, the run, and the final report (text or --json).
 * The load loop is in bench_run.c, the control-plane client in bench_ctl.c, the trivial responder
 * for `--target null` in bench_null.c. */
#include "cli/bench.h"

#include "cli/bench_internal.h"
#include "core/common.h"
#include "core/limits.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out) {
    fprintf(
        out,
        "Usage: sluice bench [options]\n"
        "\n"
        "Load-tests a Kinesis Data Streams endpoint (Sluice, kinesalite, kinesis-mock, AWS) and "
        "prints\n"
        "records/s, MB/s, latency p50/p99/p99.9/max and errors by type.\n"
        "\n"
        "Options:\n"
        "  --endpoint URL        http://HOST:PORT of the endpoint (default http://127.0.0.1:4567)\n"
        "  --target null         drive the built-in trivial responder instead (the tool's own "
        "ceiling)\n"
        "  --workload W          put-record      PutRecord of --record-size bytes (default 100)\n"
        "                        put-records     PutRecords of --batch (500) x --record-size (100) "
        "(default)\n"
        "                        put-records-10k PutRecords of 100 x 10 KiB\n"
        "                        read            catch-up reads: GetShardIterator TRIM_HORIZON, "
        "then\n"
        "                                        GetRecords on all shards in parallel until caught "
        "up\n"
        "                        subscribe       put-to-consumer latency: PutRecord + "
        "SubscribeToShard\n"
        "                                        (RegisterStreamConsumer; HTTP/2 event stream)\n"
        "                        mixed           half the requests PutRecords, half tail with "
        "GetRecords\n"
        "  --stream NAME         stream name (default sluice-bench)\n"
        "  --create              create the stream if it does not exist, wait until ACTIVE\n"
        "  --shards N            shard count for --create (default 4)\n"
        "  --consumers N         subscribe: enhanced fan-out consumers, each subscribed to every\n"
        "                        shard (default 1; at most 20, the per-stream limit)\n"
        "  --connections C       keep-alive connections (default 16)\n"
        "  --threads T           client threads, each with its own event loop (default 1)\n"
        "  --http 1.1|2          HTTP/1.1 (one request in flight per connection) or HTTP/2 prior\n"
        "                        knowledge (--depth concurrent streams per connection) (default "
        "1.1)\n"
        "  --depth D             concurrent requests per HTTP/2 connection (default 8)\n"
        "  --duration TIME       measured time, e.g. 10s, 500ms, 2m (default 10s)\n"
        "  --warmup TIME         unmeasured time before it (default 0)\n"
        "  --rate R              open loop: R records/s in total, latency measured from each "
        "request's\n"
        "                        scheduled send time; 0 = closed loop, as fast as answers come "
        "(default 0)\n"
        "  --record-size B       record data bytes (default 100)\n"
        "  --batch N             records per PutRecords (default 500)\n"
        "  --get-limit N         GetRecords Limit (default 10000)\n"
        "  --fill SIZE           read: first write SIZE of record data (e.g. 2GB, 512MiB) with "
        "PutRecords of\n"
        "                        --record-size records (not measured), then read it back and check "
        "that\n"
        "                        the counts match when the stream was created by this run "
        "(--create)\n"
        "  --fill-records N      read: the same, N records\n"
        "  --region R            SigV4 region (default $AWS_REGION or us-east-1)\n"
        "  --access-key K        SigV4 access key (default $AWS_ACCESS_KEY_ID or a dummy)\n"
        "  --secret-key S        SigV4 secret key (default $AWS_SECRET_ACCESS_KEY or a dummy)\n"
        "  --json                print the final report as one JSON object on stdout\n"
        "  --quiet               no progress line\n"
        "  --help                this text\n"
        "\n"
        "Requests are signed with AWS Signature Version 4. The final report counts only answers "
        "received\n"
        "inside the measured window; errors are grouped by HTTP status and AWS error type, and "
        "failed\n"
        "records inside a PutRecords answer by their ErrorCode. For --fill, --batch defaults to as "
        "many\n"
        "records as fit in 5 MiB (at most 500); records of 1 MiB must leave room for the 16-byte\n"
        "partition key (--record-size 1048560).\n");
}

/* Parses "10s", "500ms", "2m", "1.5" (seconds). Returns seconds or -1. */
/* A decimal int from s up to *end_out (or the whole string when end_out is NULL): no empty
 * number, no overflow. Returns 0 or SL_EINVAL. */
static int parse_int(const char *s, int *out, const char **end_out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || v < INT_MIN || v > INT_MAX) return SL_EINVAL;
    if (end_out)
        *end_out = end;
    else if (*end != 0)
        return SL_EINVAL;
    *out = (int)v;
    return 0;
}

static double parse_time(const char *s) {
    char *end;
    double v = strtod(s, &end);
    if (end == s || v < 0) return -1;
    if (*end == 0 || strcmp(end, "s") == 0) return v;
    if (strcmp(end, "ms") == 0) return v / 1000;
    if (strcmp(end, "m") == 0) return v * 60;
    return -1;
}

/* Parses "2GB", "512MiB", "10k", "1000" (bytes; k/M/G decimal, KiB/MiB/GiB binary). Returns -1 if
 * bad. */
static int64_t parse_size(const char *s) {
    char *end;
    double v = strtod(s, &end);
    if (end == s || v < 0) return -1;
    static const struct {
        const char *suffix;
        double mult;
    } units[] = {
        {"", 1},     {"B", 1},        {"k", 1e3},           {"K", 1e3},  {"kB", 1e3},
        {"KB", 1e3}, {"KiB", 1024.0}, {"M", 1e6},           {"MB", 1e6}, {"MiB", 1048576.0},
        {"G", 1e9},  {"GB", 1e9},     {"GiB", 1073741824.0}};
    for (size_t i = 0; i < SL_ARRAY_LEN(units); i++)
        if (strcmp(end, units[i].suffix) == 0) return (int64_t)(v * units[i].mult);
    return -1;
}

static int parse_endpoint(sl_bench_cfg_t *cfg, const char *url) {
    const char *p = url;
    if (strncmp(p, "http://", 7) == 0)
        p += 7;
    else if (strstr(p, "://"))
        return SL_EINVAL; /* TLS endpoints are not supported by the load loop yet */
    const char *colon = strrchr(p, ':');
    const char *slash = strchr(p, '/');
    size_t hl = colon ? (size_t)(colon - p) : slash ? (size_t)(slash - p) : strlen(p);
    if (hl == 0 || hl >= sizeof cfg->host) return SL_EINVAL;
    memcpy(cfg->host, p, hl);
    cfg->host[hl] = 0;
    cfg->port = 80;
    const char *port_end = NULL;
    if (colon &&
        (parse_int(colon + 1, &cfg->port, &port_end) != 0 || (*port_end && *port_end != '/')))
        return SL_EINVAL;
    if (cfg->port <= 0 || cfg->port > 65535) return SL_EINVAL;
    snprintf(cfg->authority, sizeof cfg->authority, "%s:%d", cfg->host, cfg->port);
    return 0;
}

static double ms(uint64_t ns) {
    return (double)ns / 1e6;
}

static void json_str(const char *s) {
    putchar('"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') putchar('\\');
        if ((unsigned char)*s >= 0x20) putchar(*s);
    }
    putchar('"');
}

static void json_hist(const char *name, const sl_bench_hist_t *h) {
    printf(",\"%s\":{\"count\":%llu,\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,\"p999\":%.3f,\"max\":%."
           "3f}",
           name, (unsigned long long)h->total, ms(sl_bench_hist_quantile(h, 0.5)),
           ms(sl_bench_hist_quantile(h, 0.9)), ms(sl_bench_hist_quantile(h, 0.99)),
           ms(sl_bench_hist_quantile(h, 0.999)), ms(h->max_ns));
}

static void text_hist(const char *name, const sl_bench_hist_t *h) {
    if (h->total == 0) return;
    printf("  %-13s p50 %.3f ms  p90 %.3f ms  p99 %.3f ms  p99.9 %.3f ms  max %.3f ms\n", name,
           ms(sl_bench_hist_quantile(h, 0.5)), ms(sl_bench_hist_quantile(h, 0.9)),
           ms(sl_bench_hist_quantile(h, 0.99)), ms(sl_bench_hist_quantile(h, 0.999)),
           ms(h->max_ns));
}

/* The fill phase's outcome, for the report. verified: 1 read back exactly what was written, 0 a
 * mismatch, -1 not checked (the stream existed before, the run did not catch up, or a warmup). */
typedef struct {
    uint64_t records, bytes;
    double secs;
    int verified;
} fill_t;

static void report(const sl_bench_cfg_t *cfg, const char *endpoint, const sl_bench_stats_t *t,
                   double secs, const fill_t *fill) {
    double s = secs > 0 ? secs : 1e-9;
    uint64_t requests = t->requests, records = t->records, bytes = t->bytes;
    uint64_t rrec = t->read_records, rbytes = t->read_bytes, errors = t->errors;
    if (cfg->json) {
        printf("{\"workload\":");
        json_str(cfg->workload_name);
        printf(",\"endpoint\":");
        json_str(endpoint);
        printf(",\"http\":\"%s\",\"connections\":%d,\"threads\":%d,\"depth\":%d,\"rate\":%.0f,"
               "\"record_size\":%d,"
               "\"batch\":%d,\"shards\":%d,\"seconds\":%.3f,\"requests\":%llu,\"records\":%llu,"
               "\"bytes\":%llu,"
               "\"requests_per_s\":%.1f,\"records_per_s\":%.1f,\"mb_per_s\":%.3f,\"read_records\":%"
               "llu,"
               "\"read_records_per_s\":%.1f,\"read_mb_per_s\":%.3f",
               cfg->http2 ? "2" : "1.1", cfg->connections, cfg->threads,
               cfg->http2 ? cfg->depth : 1, cfg->rate, cfg->record_size,
               cfg->workload == SL_BENCH_PUT_RECORD ? 1 : cfg->batch,
               cfg->shard_count ? cfg->shard_count : cfg->shards, secs,
               (unsigned long long)requests, (unsigned long long)records, (unsigned long long)bytes,
               (double)requests / s, (double)records / s, (double)bytes / s / 1e6,
               (unsigned long long)rrec, (double)rrec / s, (double)rbytes / s / 1e6);
        if (cfg->fill_records)
            printf(
                ",\"fill_records\":%llu,\"fill_bytes\":%llu,\"fill_seconds\":%.3f,\"verified\":%s",
                (unsigned long long)fill->records, (unsigned long long)fill->bytes, fill->secs,
                fill->verified < 0 ? "null"
                : fill->verified   ? "true"
                                   : "false");
        json_hist("latency_ms", &t->lat);
        json_hist("e2e_latency_ms", &t->e2e);
        printf(",\"errors_total\":%llu,\"errors\":{", (unsigned long long)errors);
        for (int i = 0; i < t->err_count; i++) {
            if (i) putchar(',');
            json_str(t->err[i].kind);
            printf(":%llu", (unsigned long long)t->err[i].count);
        }
        if (t->err_other)
            printf("%s\"other\":%llu", t->err_count ? "," : "", (unsigned long long)t->err_other);
        printf("}}\n");
        return;
    }
    printf("sluice bench: %s against %s\n", cfg->workload_name, endpoint);
    printf("  setup         HTTP/%s, %d connections, %d threads%s, %s, record %d B",
           cfg->http2 ? "2" : "1.1", cfg->connections, cfg->threads,
           cfg->http2 ? "" : " (1 request in flight per connection)",
           cfg->rate > 0 ? "open loop" : "closed loop", cfg->record_size);
    if (cfg->workload == SL_BENCH_PUT_RECORDS || cfg->workload == SL_BENCH_MIXED)
        printf(" x %d per request", cfg->batch);
    if (cfg->rate > 0) printf(", %.0f records/s offered", cfg->rate);
    printf("\n  time          %.2f s measured\n", secs);
    printf("  requests      %llu (%.1f/s)\n", (unsigned long long)requests, (double)requests / s);
    printf("  records       %llu (%.1f records/s)\n", (unsigned long long)records,
           (double)records / s);
    printf("  data          %.2f MB (%.2f MB/s)\n", (double)bytes / 1e6, (double)bytes / s / 1e6);
    if (cfg->fill_records)
        printf("  fill          %llu records, %.2f MB written in %.2f s before the run; read back: "
               "%s\n",
               (unsigned long long)fill->records, (double)fill->bytes / 1e6, fill->secs,
               fill->verified < 0
                   ? "not checked (stream not created by this run, not caught up, or warmup)"
               : fill->verified ? "all records and bytes"
                                : "MISMATCH");
    if (rrec || cfg->workload == SL_BENCH_MIXED || cfg->workload == SL_BENCH_SUBSCRIBE)
        printf("  consumed      %llu records (%.1f records/s, %.2f MB/s)\n",
               (unsigned long long)rrec, (double)rrec / s, (double)rbytes / s / 1e6);
    text_hist("latency", &t->lat);
    text_hist("put->consumer", &t->e2e);
    printf("  errors        %llu\n", (unsigned long long)errors);
    for (int i = 0; i < t->err_count; i++)
        printf("    %-40s %llu\n", t->err[i].kind, (unsigned long long)t->err[i].count);
    if (t->err_other) printf("    %-40s %llu\n", "other", (unsigned long long)t->err_other);
}

int sl_bench_main(int argc, char **argv) {
    /* A peer closing a connection must be an error on that connection, not SIGPIPE for the whole
     * process: the --target null responder writes through net/, which does not use MSG_NOSIGNAL,
     * and its clients close at the end of the run (seen as exit 141 in bench.smoke under load). */
    signal(SIGPIPE, SIG_IGN);
    static sl_bench_cfg_t cfg;
    memset(&cfg, 0, sizeof cfg);
    const char *endpoint = "http://127.0.0.1:4567";
    const char *workload = "put-records";
    snprintf(cfg.stream, sizeof cfg.stream, "sluice-bench");
    cfg.shards = 4;
    cfg.consumers = 1;
    cfg.connections = 16;
    cfg.threads = 1;
    cfg.depth = 8;
    cfg.duration_s = 10;
    cfg.record_size = -1;
    cfg.batch = -1;
    cfg.get_limit = 10000;
    const char *fill_arg = NULL;
    bool fill_is_records = false;
    const char *env;
    snprintf(cfg.region, sizeof cfg.region, "%s",
             (env = getenv("AWS_REGION")) && *env ? env : "us-east-1");
    snprintf(cfg.access_key, sizeof cfg.access_key, "%s",
             (env = getenv("AWS_ACCESS_KEY_ID")) && *env ? env : "AKIDSLUICEBENCH");
    snprintf(cfg.secret_key, sizeof cfg.secret_key, "%s",
             (env = getenv("AWS_SECRET_ACCESS_KEY")) && *env ? env : "sluice-bench-secret");
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define TAKE()                                                                                     \
    do {                                                                                           \
        if (!v) {                                                                                  \
            fprintf(stderr, "sluice bench: %s needs a value\n", a);                                \
            return 2;                                                                              \
        }                                                                                          \
        i++;                                                                                       \
    } while (0)
#define TAKE_INT(field)                                                                            \
    do {                                                                                           \
        TAKE();                                                                                    \
        if (parse_int(v, (field), NULL) != 0) {                                                    \
            fprintf(stderr, "sluice bench: bad number '%s' for %s\n", v, a);                       \
            return 2;                                                                              \
        }                                                                                          \
    } while (0)
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--endpoint") == 0) {
            TAKE();
            endpoint = v;
        } else if (strcmp(a, "--target") == 0) {
            TAKE();
            if (strcmp(v, "null") != 0) {
                fprintf(stderr, "sluice bench: --target supports only 'null'\n");
                return 2;
            }
            cfg.null_target = true;
        } else if (strcmp(a, "--workload") == 0) {
            TAKE();
            workload = v;
        } else if (strcmp(a, "--stream") == 0 || strcmp(a, "--streams") == 0) {
            TAKE();
            snprintf(cfg.stream, sizeof cfg.stream, "%s", v);
        } else if (strcmp(a, "--create") == 0) {
            cfg.create = true;
        } else if (strcmp(a, "--shards") == 0) {
            TAKE_INT(&cfg.shards);
        } else if (strcmp(a, "--consumers") == 0) {
            TAKE_INT(&cfg.consumers);
            if (cfg.consumers < 1 || cfg.consumers > SL_KINESIS_CONSUMERS_PER_STREAM_MAX) {
                fprintf(
                    stderr,
                    "sluice bench: --consumers must be 1..20 (the per-stream consumer limit)\n");
                return 2;
            }
        } else if (strcmp(a, "--connections") == 0) {
            TAKE_INT(&cfg.connections);
        } else if (strcmp(a, "--threads") == 0) {
            TAKE_INT(&cfg.threads);
        } else if (strcmp(a, "--http") == 0) {
            TAKE();
            if (strcmp(v, "2") == 0 || strcmp(v, "2.0") == 0 || strcmp(v, "h2c") == 0)
                cfg.http2 = 1;
            else if (strcmp(v, "1.1") == 0 || strcmp(v, "1") == 0)
                cfg.http2 = 0;
            else {
                fprintf(stderr, "sluice bench: --http must be 1.1 or 2\n");
                return 2;
            }
        } else if (strcmp(a, "--depth") == 0) {
            TAKE_INT(&cfg.depth);
        } else if (strcmp(a, "--duration") == 0 || strcmp(a, "--warmup") == 0) {
            TAKE();
            double t = parse_time(v);
            if (t < 0) {
                fprintf(stderr, "sluice bench: bad time '%s' for %s\n", v, a);
                return 2;
            }
            if (a[2] == 'd')
                cfg.duration_s = t;
            else
                cfg.warmup_s = t;
        } else if (strcmp(a, "--rate") == 0) {
            TAKE();
            cfg.rate = strtod(v, NULL);
        } else if (strcmp(a, "--record-size") == 0) {
            TAKE_INT(&cfg.record_size);
        } else if (strcmp(a, "--batch") == 0) {
            TAKE_INT(&cfg.batch);
        } else if (strcmp(a, "--fill") == 0 || strcmp(a, "--fill-records") == 0) {
            TAKE();
            fill_arg = v;
            fill_is_records = a[6] == '-';
        } else if (strcmp(a, "--get-limit") == 0) {
            TAKE_INT(&cfg.get_limit);
        } else if (strcmp(a, "--region") == 0) {
            TAKE();
            snprintf(cfg.region, sizeof cfg.region, "%s", v);
        } else if (strcmp(a, "--access-key") == 0) {
            TAKE();
            snprintf(cfg.access_key, sizeof cfg.access_key, "%s", v);
        } else if (strcmp(a, "--secret-key") == 0) {
            TAKE();
            snprintf(cfg.secret_key, sizeof cfg.secret_key, "%s", v);
        } else if (strcmp(a, "--json") == 0) {
            cfg.json = true;
        } else if (strcmp(a, "--quiet") == 0) {
            cfg.quiet = true;
        } else {
            fprintf(stderr, "sluice bench: unknown option '%s' (see --help)\n", a);
            return 2;
        }
#undef TAKE_INT
#undef TAKE
    }
    cfg.workload_name = workload;
    int def_size = 100, def_batch = SL_KINESIS_PUT_RECORDS_MAX;
    if (strcmp(workload, "put-record") == 0)
        cfg.workload = SL_BENCH_PUT_RECORD;
    else if (strcmp(workload, "put-records") == 0)
        cfg.workload = SL_BENCH_PUT_RECORDS;
    else if (strcmp(workload, "put-records-10k") == 0) {
        cfg.workload = SL_BENCH_PUT_RECORDS;
        def_size = 10240;
        def_batch = 100;
    } else if (strcmp(workload, "read") == 0)
        cfg.workload = SL_BENCH_READ;
    else if (strcmp(workload, "subscribe") == 0)
        cfg.workload = SL_BENCH_SUBSCRIBE;
    else if (strcmp(workload, "mixed") == 0)
        cfg.workload = SL_BENCH_MIXED;
    else {
        fprintf(stderr, "sluice bench: unknown workload '%s' (see --help)\n", workload);
        return 2;
    }
    if (cfg.record_size < 0) cfg.record_size = def_size;
    if (fill_arg) {
        int64_t n = fill_is_records ? strtoll(fill_arg, NULL, 10) : parse_size(fill_arg);
        if (cfg.workload != SL_BENCH_READ || n <= 0) {
            fprintf(stderr, "sluice bench: --fill and --fill-records take a size or count > 0, for "
                            "--workload read\n");
            return 2;
        }
        cfg.fill_records = fill_is_records ? n : (n + cfg.record_size - 1) / cfg.record_size;
        /* As many records as fit in SL_BENCH_FILL_REQUEST_BYTES with their 16-byte partition keys.
         */
        def_batch = (int)SL_MAX(1, SL_MIN(SL_KINESIS_PUT_RECORDS_MAX,
                                          SL_BENCH_FILL_REQUEST_BYTES / (cfg.record_size + 16)));
    }
    if (cfg.batch < 0) cfg.batch = def_batch;
    if (cfg.workload == SL_BENCH_SUBSCRIBE && cfg.record_size < 24) cfg.record_size = 24;
    if (cfg.connections < 1 || cfg.connections > SL_HTTP_CLIENT_CONNS_PER_ORIGIN_MAX ||
        cfg.threads < 1 || cfg.threads > SL_BENCH_THREADS_MAX || cfg.depth < 1 ||
        cfg.depth > SL_HTTP2_STREAMS_MAX || cfg.batch < 1 ||
        cfg.batch > SL_KINESIS_PUT_RECORDS_MAX || cfg.record_size < 1 ||
        cfg.record_size > (int)SL_KINESIS_RECORD_DATA_MAX || cfg.shards < 1 ||
        cfg.duration_s <= 0 || cfg.rate < 0 || cfg.get_limit < 1) {
        fprintf(stderr, "sluice bench: an option is out of range (see --help)\n");
        return 2;
    }
    if (cfg.threads > cfg.connections) cfg.threads = cfg.connections;
    char null_endpoint[64];
    if (cfg.null_target) {
        if (cfg.workload != SL_BENCH_PUT_RECORD && cfg.workload != SL_BENCH_PUT_RECORDS &&
            cfg.workload != SL_BENCH_READ) {
            fprintf(stderr,
                    "sluice bench: --target null supports the put workloads and read only\n");
            return 2;
        }
        if (cfg.fill_records) {
            fprintf(stderr, "sluice bench: --fill has no meaning with --target null\n");
            return 2;
        }
        if (cfg.workload == SL_BENCH_READ) {
            /* The responder's GetRecords never catches up: the run lasts --duration. */
            cfg.shard_ids = calloc((size_t)cfg.shards, sizeof *cfg.shard_ids);
            if (!cfg.shard_ids) return 1;
            for (int i = 0; i < cfg.shards; i++) {
                char id[32];
                snprintf(id, sizeof id, "shardId-%012d", i);
                cfg.shard_ids[cfg.shard_count++] = strdup(id);
            }
        }
        int port;
        if (sl_bench_null_start(&cfg, &port) != 0) {
            fprintf(stderr, "sluice bench: cannot start the null responder\n");
            return 1;
        }
        snprintf(null_endpoint, sizeof null_endpoint, "null (in-process, http://127.0.0.1:%d)",
                 port);
        snprintf(cfg.host, sizeof cfg.host, "127.0.0.1");
        cfg.port = port;
        snprintf(cfg.authority, sizeof cfg.authority, "127.0.0.1:%d", port);
        endpoint = null_endpoint;
    } else if (parse_endpoint(&cfg, endpoint) != 0) {
        fprintf(stderr, "sluice bench: bad --endpoint '%s' (want http://HOST:PORT)\n", endpoint);
        return 2;
    }
    if (!cfg.null_target && sl_bench_setup(&cfg) != 0) return 1;
    static sl_bench_stats_t total;
    double secs = 0;
    fill_t fill = {.verified = -1};
    int rc = 0;
    if (cfg.fill_records) {
        if (!cfg.quiet)
            fprintf(
                stderr,
                "sluice bench: writing %lld records of %d B (%d per PutRecords) before reading\n",
                (long long)cfg.fill_records, cfg.record_size, cfg.batch);
        rc = sl_bench_fill(&cfg, &fill.records, &fill.bytes, &fill.secs);
        if (rc != 0)
            fprintf(stderr, "sluice bench: the fill phase failed after %llu records\n",
                    (unsigned long long)fill.records);
    }
    if (rc == 0) rc = sl_bench_run(&cfg, &total, &secs);
    if (cfg.fill_records && rc == 0 && cfg.created && total.readers_left == 0 && cfg.warmup_s == 0)
        fill.verified = total.records == fill.records && total.bytes == fill.bytes;
    if (cfg.null_target)
        sl_bench_null_stop();
    else
        sl_bench_teardown(&cfg);
    for (int i = 0; i < cfg.shard_count; i++)
        free(cfg.shard_ids[i]);
    free(cfg.shard_ids);
    if (rc != 0) {
        fprintf(stderr, "sluice bench: run failed: %s\n", sl_strerror(rc));
        return 1;
    }
    report(&cfg, endpoint, &total, secs, &fill);
    fflush(stdout);
    if (fill.verified == 0) {
        fprintf(stderr,
                "sluice bench: read %llu records / %llu bytes, but the fill wrote %llu / %llu\n",
                (unsigned long long)total.records, (unsigned long long)total.bytes,
                (unsigned long long)fill.records, (unsigned long long)fill.bytes);
        return 1;
    }
    return total.requests == 0 && total.read_records == 0 ? 1 : 0;
}
