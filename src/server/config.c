/* The configuration table and its three sources (file, environment, command line). */
#include "server/config.h"

#include "core/limits.h"

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

typedef enum { OPT_STR, OPT_INT, OPT_SHARE } opt_type_t; /* OPT_SHARE: a double in [0, 1] */

typedef struct {
    const char *name; /* config-file key; the flag is --name with '_' -> '-' */
    opt_type_t type;
    size_t offset;
    size_t size;                /* for strings */
    const char *def;            /* default as text */
    int64_t min, max;           /* for ints */
    const char *const *choices; /* for enumerated strings, NULL-terminated */
    const char *help;
} opt_t;

static const char *const durability_choices[] = {"sync", "interval", "none", NULL};
static const char *const auth_choices[] = {"open", "sigv4", NULL};
static const char *const log_level_choices[] = {"debug", "info", "warn", "error", NULL};
static const char *const log_format_choices[] = {"text", "json", "logfmt", NULL};
static const char *const on_off_choices[] = {"on", "off", NULL};
static const char *const analytics_clock_choices[] = {"wall", "virtual", NULL};
static const char *const throughput_limits_choices[] = {"off", "aws", NULL};

#define S(field) OPT_STR, offsetof(sl_config_t, field), sizeof(((sl_config_t *)0)->field)
#define I(field) OPT_INT, offsetof(sl_config_t, field), 0
#define F(field) OPT_SHARE, offsetof(sl_config_t, field), 0

static const opt_t g_opts[] = {
    {"config", S(config), "", 0, 0, NULL, "Configuration file with `name = value` lines"},
    {"bind", S(bind), "127.0.0.1", 0, 0, NULL, "Address to listen on"},
    {"port", I(port), "4567", 0, 65535, NULL,
     "TCP port for HTTP/1.1 and HTTP/2 (0 = any free port)"},
    {"tls_port", I(tls_port), "0", 0, 65535, NULL,
     "TCP port for TLS (HTTP/1.1 and h2 via ALPN); 0 = off"},
    {"tls_cert", S(tls_cert), "", 0, 0, NULL,
     "PEM certificate for TLS (default: self-signed, generated in the data dir)"},
    {"tls_key", S(tls_key), "", 0, 0, NULL, "PEM private key for TLS"},
    {"data_dir", S(data_dir), "./sluice-data", 0, 0, NULL,
     "Directory for the catalog and the shard logs"},
    {"region", S(region), "us-east-1", 0, 0, NULL, "Region reported in ARNs"},
    {"account_id", S(account_id), "000000000000", 0, 0, NULL,
     "12-digit id of the default account (every request whose access key id is not a 12-digit "
     "account id), "
     "reported in ARNs and messages"},
    {"threads", I(threads), "0", 0, 256, NULL,
     "Network threads (0 = one per core, one on a machine of two cores or fewer)"},
    {"durability", S(durability), "sync", 0, 0, durability_choices,
     "sync: acknowledge after fdatasync (group commit); interval: fdatasync every "
     "flush_interval_ms; none: leave it to the OS"},
    {"flush_interval_ms", I(flush_interval_ms), "200", 1, 60000, NULL,
     "Flush interval for durability=interval"},
    {"commit_interval_us", I(commit_interval_us), "500", 0, 100000, NULL,
     "durability=sync: group commit window; under load a commit starts once as many writes are "
     "waiting as the previous one carried plus those that queued while it committed (less one), "
     "and at the latest this long after the previous one started; writes arriving meanwhile join "
     "it (no wait when idle)"},
    {"journal_bytes", I(journal_bytes), "536870912", 1048576, 1073741824, NULL,
     "durability=sync: size of the shared commit journal (a ring; see docs/storage-format.md); a "
     "new size takes effect at a start that finds the journal fully checkpointed"},
    {"segment_bytes", I(segment_bytes), "67108864", 1048576, 4294967296LL, NULL,
     "Roll shard log segments beyond this size"},
    {"create_stream_ms", I(create_stream_ms), "0", 0, 600000, NULL,
     "Time a new stream stays CREATING"},
    {"delete_stream_ms", I(delete_stream_ms), "0", 0, 600000, NULL,
     "Time a deleted stream stays DELETING"},
    {"update_stream_ms", I(update_stream_ms), "0", 0, 600000, NULL,
     "Time a stream stays UPDATING after resharding, mode or encryption changes"},
    {"consumer_ms", I(consumer_ms), "0", 0, 600000, NULL,
     "Time a consumer stays CREATING / DELETING"},
    {"create_table_ms", I(create_table_ms), "0", 0, 600000, NULL,
     "Time a new DynamoDB table stays CREATING"},
    {"iterator_ttl_ms", I(iterator_ttl_ms), "300000", 1000, 300000, NULL,
     "Lifetime of shard iterators (AWS: 5 minutes); lower only to test expiry handling"},
    {"shard_limit", I(shard_limit), "500", 1, 1000000, NULL,
     "Account shard limit (DescribeLimits ShardLimit)"},
    {"on_demand_stream_limit", I(on_demand_stream_limit), "50", 0, 1000000, NULL,
     "Account limit of ON_DEMAND streams"},
    {"throughput_limits", S(throughput_limits), "off", 0, 0, throughput_limits_choices,
     "off: no throttling; aws: AWS's per-shard limits (writes 1 MiB/s and 1,000 records/s, "
     "GetRecords 2 MiB/s and 5 calls/s) with ProvisionedThroughputExceededException "
     "(docs/compatibility.md)"},
    {"quotas", S(quotas), "off", 0, 0, throughput_limits_choices,
     "off: no control-plane rate quotas; aws: AWS's (UpdateShardCount 10 and "
     "Start/StopStreamEncryption 25 each per stream per rolling 24 h, SplitShard and MergeShards "
     "5 per second per account) with LimitExceededException (docs/capacity.md)"},
    {"shard_write_bytes_per_s", I(shard_write_bytes_per_s), "1048576", 1, 1099511627776LL, NULL,
     "With throughput limits: write bytes (data plus partition key) per second per shard"},
    {"shard_write_records_per_s", I(shard_write_records_per_s), "1000", 1, 1000000000, NULL,
     "With throughput limits: records written per second per shard"},
    {"shard_read_bytes_per_s", I(shard_read_bytes_per_s), "2097152", 1, 1099511627776LL, NULL,
     "With throughput limits: GetRecords bytes per second per shard"},
    {"shard_read_calls_per_s", I(shard_read_calls_per_s), "5", 1, 1000000, NULL,
     "With throughput limits: GetRecords calls per second per shard"},
    {"efo_bytes_per_s", I(efo_bytes_per_s), "2097152", 1, 1099511627776LL, NULL,
     "With throughput limits: SubscribeToShard bytes per second per consumer and shard (paced, "
     "not refused)"},
    {"on_demand_scaling", S(on_demand_scaling), "on", 0, 0, on_off_choices,
     "on: ON_DEMAND streams split hot shards and merge cold adjacent ones by themselves "
     "(docs/capacity.md); off: they keep their shards"},
    {"on_demand_scale_up_share", F(on_demand_scale_up_share), "0.5", 0, 0, NULL,
     "ON_DEMAND: split a shard whose writes stay above this share of a shard's capacity (1 MiB/s "
     "or 1,000 records/s) for --on-demand-window-s"},
    {"on_demand_scale_down_share", F(on_demand_scale_down_share), "0.1", 0, 0, NULL,
     "ON_DEMAND: merge two adjacent shards whose writes both stay below this share for "
     "--on-demand-window-s"},
    {"on_demand_window_s", I(on_demand_window_s), "60", 1, 86400, NULL,
     "ON_DEMAND: how long a shard must stay hot or cold before it is split or merged"},
    {"on_demand_shards_min", I(on_demand_shards_min), "4", 1, 10000, NULL,
     "ON_DEMAND: fewest open shards a stream scales down to (AWS: 4)"},
    {"on_demand_shards_max", I(on_demand_shards_max), "200", 1, 10000, NULL,
     "ON_DEMAND: most open shards a stream scales up to (AWS: 200 MiB/s of writes)"},
    {"fault", S(fault), "", 0, 0, NULL,
     "Fault injection for testing retry logic (docs/capacity.md): `;`-separated rules such as "
     "`stream=orders*,op=write,error=throughput,rate=0.1` (op: write, read, any; error: "
     "throughput, internal; latency_ms=N; rate: fraction hit); empty = none"},
    {"fault_admin", S(fault_admin), "off", 0, 0, on_off_choices,
     "on: the fault-injection admin API (GET, POST and DELETE /admin/faults, docs/capacity.md) "
     "changes the --fault rules while the server runs; off: no such routes"},
    {"accounts_max", I(accounts_max), "64", 1, SL_SERVER_ACCOUNTS_MAX, NULL,
     "Accounts the server holds, the default one included: a 12-digit access key id selects its "
     "own account "
     "(docs/security.md); a new one beyond this gets UnrecognizedClientException"},
    {"body_max_bytes", I(body_max_bytes), "16777216", 1048576, 1073741824, NULL,
     "Largest request body; larger gets 413"},
    {"cors_origins", S(cors_origins), "", 0, 0, NULL,
     "Comma-separated web origins (scheme://host[:port]) whose pages may call the API from a "
     "browser; empty = "
     "CORS off: requests carrying any other Origin are refused (docs/security.md)"},
    {"ingest_keys", S(ingest_keys), "", 0, 0, NULL,
     "API keys of the HTTP ingest front (POST /ingest/{stream}, docs/ingest.md): a file of "
     "`key stream-pattern records-per-second` lines, re-read when it changes; empty = no ingest "
     "routes"},
    {"audit_log", S(audit_log), "", 0, 0, NULL,
     "Audit log: one JSON line per API request with CloudTrail's field names (who, what, from "
     "where, the error), never a secret or a record's data (docs/security.md); empty = off"},
    {"auth", S(auth), "open", 0, 0, auth_choices,
     "open: any well-formed SigV4 signature is accepted (loopback only); sigv4: every signature is "
     "verified against --credentials (docs/security.md)"},
    {"credentials", S(credentials), "", 0, 0, NULL,
     "AWS shared-credentials INI file of the principals (aws_access_key_id, aws_secret_access_key, "
     "account_id, admin); re-read when it changes; needed by --auth sigv4"},
    {"insecure_open_network", I(insecure_open_network), "0", 0, 1, NULL,
     "1 = allow --auth open on a non-loopback --bind: anyone who reaches the port can call every "
     "operation (logged as a warning at start)"},
    {"master_key_file", S(master_key_file), "", 0, 0, NULL,
     "File of the 256-bit key that wraps IAM access-key secrets and KMS key material (created "
     "with mode 0600 when absent; empty = <data_dir>/master.key); keep a copy outside the data "
     "directory"},
    {"max_connections", I(max_connections), "0", 0, SL_HTTP_CONNECTIONS_MAX_LIMIT, NULL,
     "Open client connections, all threads (0 = 30% of the descriptor limit); at the bound the "
     "oldest idle one is "
     "closed for a new client, else the new one is refused and a warning logged"},
    {"idle_timeout_ms", I(idle_timeout_ms), "120000", 100, 3600000, NULL,
     "Close keep-alive connections idle this long, and connections whose output has not moved for "
     "this long "
     "(2 s near max_connections)"},
    {"header_timeout_ms", I(header_timeout_ms), "20000", 100, 3600000, NULL,
     "A request head must arrive within this time of its first byte (else 408 and close)"},
    {"body_timeout_ms", I(body_timeout_ms), "60000", 100, 3600000, NULL,
     "A request body must arrive within this time after its head (else 408 and close)"},
    {"tls_handshake_timeout_ms", I(tls_handshake_timeout_ms), "10000", 100, 3600000, NULL,
     "A TLS handshake must finish within this time of the connection"},
    {"request_buffer_max_bytes", I(request_buffer_max_bytes), "268435456", 1048576, 68719476736LL,
     NULL,
     "Request bodies buffered in memory, all connections; over it large bodies wait (HTTP/1.1) or "
     "get 503 (HTTP/2)"},
    {"response_buffer_max_bytes", I(response_buffer_max_bytes), "268435456", 1048576, 68719476736LL,
     NULL,
     "Unsent response bytes in memory, all connections; over it new requests wait until clients "
     "read"},
    {"functions", S(functions), "on", 0, 0, on_off_choices,
     "on: serve the Lambda API and run functions (their code runs on this host, "
     "docs/functions.md); off: refuse every Lambda operation"},
    {"functions_concurrency", I(functions_concurrency), "10", 1, SL_FN_ENVS_MAX, NULL,
     "Concurrent function executions per account; more are throttled (TooManyRequestsException)"},
    {"functions_retry_ms", I(functions_retry_ms), "60000", 10, 3600000, NULL,
     "Event invocations: first retry after this, the second after twice it (AWS: 1 and 2 minutes)"},
    {"functions_user", S(functions_user), "", 0, 0, NULL,
     "Run function processes as this user (name or uid; the server must run as root); their code "
     "is staged outside the data directory, which they cannot read; empty = the server's user"},
    {"firehose_fixed_time_ms", I(firehose_fixed_time_ms), "0", 0, 253402300799999LL, NULL,
     "Tests: the arrival time (ms since the epoch) of every Firehose record, which names its S3 "
     "objects and prefixes; 0 = the clock"},
    {"analytics_clock", S(analytics_clock), "wall", 0, 0, analytics_clock_choices,
     "Tests: the clock of Kinesis Analytics applications: wall, or virtual (starts at 0 and moves "
     "only by POST /admin/analytics/clock, docs/analytics.md)"},
    {"analytics_window_rows_max", I(analytics_window_rows_max), "100000", 1, 100000000, NULL,
     "Kinesis Analytics: rows one sliding-window partition (or join window, ORDER BY buffer) "
     "holds; a row beyond goes to error_stream (docs/analytics.md)"},
    {"analytics_window_groups_max", I(analytics_window_groups_max), "1000000", 1, 100000000, NULL,
     "Kinesis Analytics: groups of one tumbling window, open stagger windows, partitions of a "
     "sliding window; a row beyond goes to error_stream"},
    {"analytics_state_bytes_max", I(analytics_state_bytes_max), "1073741824", 65536,
     1099511627776LL, NULL,
     "Kinesis Analytics: bytes of window state one application holds in all; a row beyond goes "
     "to error_stream"},
    {"s3_external_buckets", S(s3_external_buckets), "", 0, 0, NULL,
     "File mapping Firehose destination buckets to external S3-compatible servers, one "
     "`bucket endpoint-url access-key secret [region]` a line (docs/firehose.md)"},
    {"log_level", S(log_level), "info", 0, 0, log_level_choices, "debug, info, warn or error"},
    {"log_format", S(log_format), "text", 0, 0, log_format_choices,
     "text, json (one JSON object a line) or logfmt; lines logged while a request is handled carry "
     "its request_id (the x-amzn-RequestId its client sees; docs/observability.md)"},
    {"metrics_port", I(metrics_port), "0", 0, 65535, NULL,
     "Also serve GET /metrics (Prometheus text) on this TCP port of --bind, and nothing else; "
     "0 = only on the main port (docs/observability.md)"},
    {"metrics_window_days", I(metrics_window_days), "15", 1, 455, NULL,
     "Days of 1-minute CloudWatch data kept for GetMetricStatistics and GetMetricData "
     "(CloudWatch keeps 15)"},
};

static int set_opt(sl_config_t *cfg, const opt_t *o, const char *value, const char *source,
                   FILE *err) {
    char *base = (char *)cfg + o->offset;
    if (o->type == OPT_STR) {
        if (strlen(value) >= o->size) {
            fprintf(err, "sluice: %s: value for '%s' is too long\n", source, o->name);
            return -1;
        }
        if (o->choices) {
            bool ok = false;
            for (const char *const *c = o->choices; *c; c++)
                ok |= strcmp(*c, value) == 0;
            if (!ok) {
                fprintf(err, "sluice: %s: '%s' is not a valid value for '%s'\n", source, value,
                        o->name);
                return -1;
            }
        }
        memcpy(base, value, strlen(value) + 1);
        return 0;
    }
    char *end;
    errno = 0;
    if (o->type == OPT_SHARE) {
        double d = strtod(value, &end);
        if (errno || end == value || *end || !(d >= 0 && d <= 1)) {
            fprintf(err, "sluice: %s: '%s' for '%s' must be a number from 0 to 1\n", source, value,
                    o->name);
            return -1;
        }
        *(double *)(void *)base = d;
        return 0;
    }
    long long v = strtoll(value, &end, 10);
    if (errno || end == value || *end || v < o->min || v > o->max) {
        fprintf(err, "sluice: %s: '%s' for '%s' must be an integer in [%lld, %lld]\n", source,
                value, o->name, (long long)o->min, (long long)o->max);
        return -1;
    }
    *(int64_t *)(void *)base = v;
    return 0;
}

static const opt_t *find_opt(const char *name, size_t len) {
    for (size_t i = 0; i < sizeof g_opts / sizeof g_opts[0]; i++) {
        const char *n = g_opts[i].name;
        if (strlen(n) != len) continue;
        bool eq = true;
        for (size_t k = 0; k < len && eq; k++) {
            char c = name[k] == '-' ? '_' : name[k];
            eq = c == n[k];
        }
        if (eq) return &g_opts[i];
    }
    return NULL;
}

static char *trim(char *s) {
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = 0;
    return s;
}

static int load_file(sl_config_t *cfg, const char *path, FILE *err) {
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(err, "sluice: cannot open config file %s: %s\n", path, strerror(errno));
        return -1;
    }
    char line[SL_CONFIG_LINE_BYTES_MAX];
    int lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        char *s = trim(line);
        if (!*s || *s == '#') continue;
        char *eq = strchr(s, '=');
        char where[SL_DATA_PATH_BYTES_MAX]; /* the config path, ":" and a line number */
        snprintf(where, sizeof where, "%s:%d", path, lineno);
        if (!eq) {
            fprintf(err, "sluice: %s: expected `name = value`\n", where);
            fclose(f);
            return -1;
        }
        *eq = 0;
        char *key = trim(s), *val = trim(eq + 1);
        size_t vl = strlen(val);
        if (vl >= 2 && val[0] == '"' && val[vl - 1] == '"') {
            val[vl - 1] = 0;
            val++;
        }
        const opt_t *o = find_opt(key, strlen(key));
        if (!o || strcmp(o->name, "config") == 0) {
            fprintf(err, "sluice: %s: unknown setting '%s'\n", where, key);
            fclose(f);
            return -1;
        }
        if (set_opt(cfg, o, val, where, err) != 0) {
            fclose(f);
            return -1;
        }
    }
    fclose(f);
    return 0;
}

static void env_name(const char *name, char *out, size_t cap) {
    size_t n = (size_t)snprintf(out, cap, "SLUICE_");
    for (const char *p = name; *p && n + 1 < cap; p++)
        out[n++] = (char)toupper((unsigned char)*p);
    out[n] = 0;
}

int sl_config_load(sl_config_t *cfg, int argc, char **argv, FILE *err) {
    memset(cfg, 0, sizeof *cfg);
    for (size_t i = 0; i < sizeof g_opts / sizeof g_opts[0]; i++)
        if (set_opt(cfg, &g_opts[i], g_opts[i].def, "default", err) != 0) return -1;

    /* the config file path comes from the command line or the environment */
    const char *file = getenv("SLUICE_CONFIG");
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            file = argv[i + 1];
        else if (strncmp(argv[i], "--config=", 9) == 0)
            file = argv[i] + 9;
    }
    if (file && *file && load_file(cfg, file, err) != 0) return -1;

    for (size_t i = 0; i < sizeof g_opts / sizeof g_opts[0]; i++) {
        char env[96];
        env_name(g_opts[i].name, env, sizeof env);
        const char *v = getenv(env);
        if (v && set_opt(cfg, &g_opts[i], v, env, err) != 0) return -1;
    }

    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0) {
            fprintf(err, "sluice: unexpected argument '%s'\n", a);
            return -1;
        }
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const opt_t *o = find_opt(name, len);
        if (!o) {
            fprintf(err, "sluice: unknown option '%.*s' (see --help)\n", (int)len + 2, a);
            return -1;
        }
        const char *val = eq ? eq + 1 : NULL;
        if (!val) {
            if (i + 1 >= argc) {
                fprintf(err, "sluice: option '%s' needs a value\n", a);
                return -1;
            }
            val = argv[++i];
        }
        if (set_opt(cfg, o, val, "command line", err) != 0) return -1;
    }
    return 0;
}

void sl_config_print_help(FILE *out) {
    fprintf(
        out,
        "Usage: sluice serve [options]\n\nOptions (also SLUICE_<NAME> environment variables and "
        "`name = value` lines in the --config file):\n");
    for (size_t i = 0; i < sizeof g_opts / sizeof g_opts[0]; i++) {
        const opt_t *o = &g_opts[i];
        char flag[64];
        size_t n = (size_t)snprintf(flag, sizeof flag, "--");
        for (const char *p = o->name; *p && n + 1 < sizeof flag; p++)
            flag[n++] = *p == '_' ? '-' : *p;
        flag[n] = 0;
        fprintf(out, "  %-26s %s", flag, o->help);
        if (*o->def) fprintf(out, " (default: %s)", o->def);
        fprintf(out, "\n");
    }
}

void sl_config_print_markdown(FILE *out) {
    fprintf(out,
            "| option | environment | type | default | description |\n|---|---|---|---|---|\n");
    for (size_t i = 0; i < sizeof g_opts / sizeof g_opts[0]; i++) {
        const opt_t *o = &g_opts[i];
        char flag[64], env[96];
        size_t n = 0;
        for (const char *p = o->name; *p && n + 1 < sizeof flag; p++)
            flag[n++] = *p == '_' ? '-' : *p;
        flag[n] = 0;
        env_name(o->name, env, sizeof env);
        const char *type = o->type == OPT_INT     ? "integer"
                           : o->type == OPT_SHARE ? "fraction"
                           : o->choices           ? "choice"
                                                  : "string";
        fprintf(out, "| `--%s` | `%s` | %s | %s%s%s | %s", flag, env, type, *o->def ? "`" : "",
                *o->def ? o->def : "", *o->def ? "`" : "", o->help);
        if (o->type == OPT_INT)
            fprintf(out, " (%lld to %lld)", (long long)o->min, (long long)o->max);
        if (o->type == OPT_SHARE) fprintf(out, " (0 to 1)");
        if (o->choices) {
            fprintf(out, " (one of:");
            for (const char *const *c = o->choices; *c; c++)
                fprintf(out, " `%s`", *c);
            fprintf(out, ")");
        }
        fprintf(out, " |\n");
    }
}
