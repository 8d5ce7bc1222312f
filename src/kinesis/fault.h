/* Fault injection (--fault; docs/capacity.md, "Fault injection"): rules that fail a chosen
 * fraction of a stream's writes or reads with ProvisionedThroughputExceededException or
 * InternalFailure, or hold their answers back, so that users can test their retry logic against
 * the errors AWS gives under load. Off unless rules are given; then one branch per call.
 *
 * A specification is rules separated by ';', each `key=value` pairs separated by ',':
 *   stream=NAME      the stream's name, '*' matching any run of characters (default '*')
 *   op=write|read|any  PutRecord/PutRecords, GetRecords, or both (default any)
 *   error=throughput|internal  the error to answer with
 *   latency_ms=N     hold the answer back N ms (0..SL_KINESIS_FAULT_LATENCY_MS_MAX)
 *   rate=F           the fraction of calls (records, for PutRecords' errors) hit, 0..1 (default 1)
 * A rule has an error, a latency or both. For PutRecords an error rule draws once per record, so
 * the call succeeds with per-record failures as on AWS; PutRecord and GetRecords draw once per
 * call. A latency rule draws once per call. Rules are tried in order and the first error drawn
 * wins; latencies of every rule drawn add up. Draws come from a counter hashed with splitmix64,
 * lock-free and uniform. */
#ifndef SL_KINESIS_FAULT_H
#define SL_KINESIS_FAULT_H

#include "core/limits.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { SL_KFAULT_WRITE = 1, SL_KFAULT_READ = 2 };

typedef enum {
    SL_KFAULT_ERROR_NONE = 0,
    SL_KFAULT_ERROR_THROUGHPUT, /* ProvisionedThroughputExceededException */
    SL_KFAULT_ERROR_INTERNAL,   /* InternalFailure */
} sl_kfault_error_t;

typedef struct {
    uint32_t id;      /* the admin API's handle (server/faults.c); 0 from the parser */
    char stream[129]; /* glob over the stream's name */
    unsigned ops;     /* SL_KFAULT_WRITE | SL_KFAULT_READ */
    sl_kfault_error_t error;
    int64_t latency_ms;
    uint64_t threshold; /* a draw (32 random bits) below it hits: rate * 2^32 */
    double rate;
} sl_kfault_rule_t;

typedef struct {
    sl_kfault_rule_t rules[SL_KINESIS_FAULT_RULES_MAX];
    size_t count;
} sl_kfaults_t;

/* Parses a specification (above) of `len` bytes; "" = no rules. Returns 0, or SL_EINVAL with
 * *reason a static text naming what is wrong (out is then unspecified). Allocates nothing. */
int sl_kfaults_parse(const char *text, size_t len, sl_kfaults_t *out, const char **reason);
/* Writes the rules back as a specification (NUL-terminated, truncated to cap). */
size_t sl_kfaults_format(const sl_kfaults_t *f, char *out, size_t cap);
/* Writes one rule as a specification (NUL-terminated, truncated to cap). */
size_t sl_kfault_rule_format(const sl_kfault_rule_t *r, char *out, size_t cap);
/* True when the glob (with '*') matches the whole name. */
bool sl_kfault_glob(const char *glob, const char *name, size_t name_len);

/* What the rules drew for one call or record. */
typedef struct {
    sl_kfault_error_t error;
    int64_t latency_ms;
} sl_kfault_hit_t;

/* A draw of 32 uniform bits from a shared counter (atomic; any thread). */
uint32_t sl_kfault_draw(uint64_t *counter);

#endif
