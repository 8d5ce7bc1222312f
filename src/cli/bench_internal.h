/* Internals of `sluice bench` shared by its files: the configuration, the latency histogram, the
 * per-thread load loop (bench_run.c), the blocking control-plane calls (bench_ctl.c) - both on the
 * net layer's outbound HTTP client - and the
 * in-process trivial responder used to measure the tool's own ceiling (bench_null.c). */
#ifndef SL_CLI_BENCH_INTERNAL_H
#define SL_CLI_BENCH_INTERNAL_H

#include "core/buf.h"
#include "core/limits.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    SL_BENCH_PUT_RECORD = 0, /* PutRecord, one record per request */
    SL_BENCH_PUT_RECORDS,    /* PutRecords, --batch records per request */
    SL_BENCH_READ,           /* catch-up reads: TRIM_HORIZON, GetRecords until caught up */
    SL_BENCH_SUBSCRIBE,      /* put-to-consumer latency through SubscribeToShard */
    SL_BENCH_MIXED, /* half the request slots write PutRecords, half tail with GetRecords */
} sl_bench_workload_t;

/* ---- latency histogram: log-linear buckets (HDR style), values in nanoseconds ---- */

#define SL_BENCH_HIST_SUB_BITS 7
#define SL_BENCH_HIST_BUCKETS (128 + 57 * 64)

typedef struct {
    uint64_t counts[SL_BENCH_HIST_BUCKETS];
    uint64_t total;
    uint64_t max_ns;
} sl_bench_hist_t;

void sl_bench_hist_record(sl_bench_hist_t *h, uint64_t value_ns);
void sl_bench_hist_merge(sl_bench_hist_t *into, const sl_bench_hist_t *from);
/* Value at quantile q (0..1), the upper bound of its bucket (at most 0.8% above the true value). */
uint64_t sl_bench_hist_quantile(const sl_bench_hist_t *h, double q);

/* ---- configuration ---- */

typedef struct {
    char host[256];
    int port;
    char authority[300]; /* host:port, the Host / :authority value */
    sl_bench_workload_t workload;
    const char *workload_name;
    bool null_target; /* --target null: in-process trivial responder */
    char stream[129];
    char stream_arn[512];
    int shards; /* for --create, and the shard count read back */
    bool create;
    int connections;
    int threads;
    int http2; /* 0: HTTP/1.1, 1: HTTP/2 prior knowledge */
    int depth; /* concurrent requests per HTTP/2 connection */
    double duration_s;
    double warmup_s;
    double rate; /* records/s (0 = closed loop) */
    int record_size;
    int batch;
    int get_limit; /* GetRecords Limit */
    char region[64];
    char access_key[128];
    char secret_key[128];
    bool json;
    bool quiet;
    int64_t fill_records; /* read: PutRecords this many records before the measured phase */
    bool created;         /* setup created the stream (it was empty before this run) */
    /* Filled by setup: the shard ids (read, subscribe, mixed) and the consumer ARN (subscribe). */
    char **shard_ids;
    int shard_count;
    int consumers;              /* subscribe: consumers per shard (--consumers) */
    char (*consumer_arns)[600]; /* one ARN per consumer, filled by setup */
} sl_bench_cfg_t;

/* ---- results ---- */

typedef struct {
    char kind[96];
    uint64_t count;
} sl_bench_err_t;

/* Counters of one thread. The live ones are atomics read by the progress line. */
typedef struct {
    _Atomic uint64_t requests;     /* completed successfully (HTTP 200) in the measured window */
    _Atomic uint64_t records;      /* records written (put) or read (read/subscribe) successfully */
    _Atomic uint64_t bytes;        /* record data bytes of those records */
    _Atomic uint64_t read_records; /* mixed: records read by the tailing half */
    _Atomic uint64_t read_bytes;
    _Atomic uint64_t errors;
    sl_bench_err_t err[SL_BENCH_ERROR_KINDS_MAX];
    int err_count;
    uint64_t err_other;   /* errors beyond SL_BENCH_ERROR_KINDS_MAX kinds */
    sl_bench_hist_t lat;  /* request latency (put; read requests in the read workload) */
    sl_bench_hist_t e2e;  /* put-to-consumer latency (subscribe) */
    int64_t last_done_ns; /* completion time of the last counted request */
    int readers_left;     /* read: reader slots not caught up when the run ended */
} sl_bench_stats_t;

void sl_bench_stats_error(sl_bench_stats_t *st, const char *kind);

/* ---- the load run (bench_run.c) ---- */

/* Runs the workload of cfg with cfg->threads threads until the duration ends (or, for reads, every
 * shard is caught up); fills *total (merged) and *elapsed_s (the measured window). Prints the
 * progress line to stderr unless cfg->quiet. Returns 0 or a negative SL_E* code. */
int sl_bench_run(const sl_bench_cfg_t *cfg, sl_bench_stats_t *total, double *elapsed_s);

/* The fill phase of the read workload (--fill, --fill-records): PutRecords of exactly
 * cfg->fill_records records of cfg->record_size bytes, cfg->batch per request, with all
 * connections, retrying records that fail. *records and *bytes receive what was acknowledged,
 * *elapsed_s the time taken. Returns 0 or a negative SL_E* code. */
int sl_bench_fill(const sl_bench_cfg_t *cfg, uint64_t *records, uint64_t *bytes, double *elapsed_s);

/* ---- the control-plane client (bench_ctl.c) ---- */

/* The error kind of a non-200 answer: "<status> <__type>" with any "prefix#" cut from the type. */
void sl_bench_error_kind(int status, const char *body, size_t len, char *out, size_t cap);

/* One blocking, signed HTTP/1.1 call of Kinesis_20131202.<op> with JSON body, over a keep-alive
 * connection of the control-plane client (net/client.h on a private loop, 30 s timeout); *status
 * and *resp (NUL-terminated) receive the answer. Returns 0 or a negative SL_E* code (connection
 * failures, timeouts). */
int sl_bench_ctl_call(const sl_bench_cfg_t *cfg, const char *op, const char *body, int *status,
                      sl_buf_t *resp);

/* Creates the stream (when cfg->create) and waits until it is ACTIVE, records its ARN, lists its
 * shards (read, subscribe, mixed) and registers a consumer (subscribe). Prints the reason and
 * returns a negative SL_E* code on failure. */
int sl_bench_setup(sl_bench_cfg_t *cfg);

/* Deregisters the consumer registered by setup, if any. */
void sl_bench_teardown(const sl_bench_cfg_t *cfg);

/* Fills out with the signed request headers' date and Authorization for a request of `target`
 * with body hash `sha_hex`, signing with a key cached per day. */
typedef struct {
    char date8[9];
    uint8_t key[32];
    bool have_key;
} sl_bench_signer_t;
int sl_bench_sign(sl_bench_signer_t *s, const sl_bench_cfg_t *cfg, const char *target,
                  const char *sha_hex, int64_t unix_s, char amz_date[17], char *auth,
                  size_t auth_cap);

/* ---- the trivial responder (bench_null.c) ---- */

/* Starts a responder thread on 127.0.0.1 (any free port) that answers every HTTP/1.1 or h2c
 * request with 200 and a minimal Kinesis-shaped JSON body; GetRecords gets a canned answer of
 * min(--get-limit, 10 MiB / --record-size) records of cfg->record_size bytes that never catches
 * up. Returns 0 and *port. */
int sl_bench_null_start(const sl_bench_cfg_t *cfg, int *port);
void sl_bench_null_stop(void);

#endif
