/* Server configuration: one table drives the command line, the environment (SLUICE_<NAME>), the
 * config file (`name = value` lines), `--help` and validation (STYLE.md: configuration is one
 * table; unknown keys are errors). Precedence: command line > environment > file > default. */
#ifndef SL_SERVER_CONFIG_H
#define SL_SERVER_CONFIG_H

#include "core/limits.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

typedef struct {
    char bind[64];
    int64_t port;
    int64_t tls_port;
    char tls_cert[SL_CONFIG_PATH_BYTES_MAX];
    char tls_key[SL_CONFIG_PATH_BYTES_MAX];
    char data_dir[SL_CONFIG_PATH_BYTES_MAX];
    char region[64];
    char account_id[16];
    int64_t threads;
    char durability[16];
    int64_t flush_interval_ms;
    int64_t segment_bytes;
    int64_t commit_interval_us;
    int64_t journal_bytes;
    int64_t create_stream_ms;
    int64_t delete_stream_ms;
    int64_t update_stream_ms;
    int64_t consumer_ms;
    int64_t create_table_ms;
    int64_t iterator_ttl_ms;
    int64_t shard_limit;
    int64_t on_demand_stream_limit;
    char throughput_limits[8];
    char fault[SL_KINESIS_FAULT_SPEC_BYTES_MAX + 1];
    char fault_admin[4];
    char quotas[8];
    int64_t shard_write_bytes_per_s, shard_write_records_per_s;
    int64_t shard_read_bytes_per_s, shard_read_calls_per_s;
    int64_t efo_bytes_per_s;
    char on_demand_scaling[4];
    double on_demand_scale_up_share, on_demand_scale_down_share;
    int64_t on_demand_window_s, on_demand_shards_min, on_demand_shards_max;
    int64_t accounts_max;
    int64_t body_max_bytes;
    char cors_origins[SL_CONFIG_CORS_ORIGINS_BYTES_MAX];
    char ingest_keys[SL_CONFIG_PATH_BYTES_MAX];
    char auth[16];
    char audit_log[SL_CONFIG_PATH_BYTES_MAX];
    char credentials[SL_CONFIG_PATH_BYTES_MAX];
    int64_t insecure_open_network;
    char master_key_file[SL_CONFIG_PATH_BYTES_MAX];
    int64_t max_connections;
    int64_t idle_timeout_ms;
    int64_t header_timeout_ms;
    int64_t body_timeout_ms;
    int64_t tls_handshake_timeout_ms;
    int64_t request_buffer_max_bytes;
    int64_t response_buffer_max_bytes;
    char functions[8];
    int64_t functions_concurrency;
    int64_t functions_retry_ms;
    char functions_user[64];
    int64_t firehose_fixed_time_ms;
    char analytics_clock[8];
    int64_t analytics_window_rows_max;
    int64_t analytics_window_groups_max;
    int64_t analytics_state_bytes_max;
    char s3_external_buckets[SL_CONFIG_PATH_BYTES_MAX];
    char log_level[16];
    char log_format[16];
    int64_t metrics_port;
    int64_t metrics_window_days;
    char config[SL_CONFIG_PATH_BYTES_MAX];
} sl_config_t;

/* Fills defaults, then the config file (from --config or SLUICE_CONFIG), the environment and the
 * arguments. On error prints a message to `err` and returns -1. */
int sl_config_load(sl_config_t *cfg, int argc, char **argv, FILE *err);
void sl_config_print_help(FILE *out);
/* The option table as Markdown rows (docs/configuration.md embeds it; a test keeps them equal). */
void sl_config_print_markdown(FILE *out);

#endif
