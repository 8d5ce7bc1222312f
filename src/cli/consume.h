/* `sluice consume`: a KCL-style worker (libsluice's consumer) whose record processor is a
 * command: --exec runs it once per batch, --multilang runs one per leased shard and speaks the
 * KCL MultiLangDaemon's JSON protocol with it. streams.c parses the options; docs/cli.md and
 * docs/consumer.md are the manual. */
#ifndef SL_CLI_CONSUME_H
#define SL_CLI_CONSUME_H

#include "client/sluice.h"

typedef struct {
    const char *stream, *application;
    const char *exec_cmd, *multilang_cmd;
    const char *worker_id;
    const char *dynamodb_endpoint_url;
    sl_read_start_t start;
    int64_t start_ms;
    sl_retrieval_t retrieval;
    int failover_time_ms, idle_time_ms, parent_poll_ms, shard_sync_ms, max_records;
    sl_client_config_t client_cfg; /* for a separate DynamoDB client */
} sl_cli_consume_opts_t;

/* Runs the worker until SIGTERM/SIGINT (graceful: shutdownRequested to every processor, then
 * the leases are given up). Returns the exit status (0, 1 service/processor error, 2 usage,
 * 3 unreachable). */
int sl_cli_consume(sl_client_t *c, const sl_cli_consume_opts_t *o);

#endif
