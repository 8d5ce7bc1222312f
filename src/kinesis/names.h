/* Kinesis identifiers (spec §2): shard ids and the ARNs of streams and consumers.
 * Formatting and parsing only; validation of names against the API model's patterns is the API
 * layer's job, but the parsers here reject anything that does not have the documented shape. */
#ifndef SL_KINESIS_NAMES_H
#define SL_KINESIS_NAMES_H

#include "core/limits.h"

#include <stddef.h>
#include <stdint.h>

#define SL_SHARDID_CHARS 20 /* "shardId-" + 12 digits */
#define SL_ACCOUNT_CHARS 12

/* Writes "shardId-" + the 12-digit zero-padded index, NUL-terminated. Returns the length (20). */
int sl_shardid_format(uint32_t index, char out[24]);

/* Parses a shard id like kinesalite's resolveShardId: the part between the first '-' and the next
 * '-' (or the whole string when there is no '-' or that part is empty) must be decimal digits with
 * a value <= SL_SHARD_INDEX_MAX. So "shardId-000000000001", "shardId-1" and "1" all give 1.
 * Returns 0 or SL_EINVAL. The normalised id is sl_shardid_format(*index). */
int sl_shardid_parse(const char *s, size_t len, uint32_t *index);

/* Writes "arn:aws:kinesis:<region>:<account>:stream/<name>", NUL-terminated. Returns the length
 * or SL_ELIMIT when cap is too small. */
int sl_arn_stream(char *buf, size_t cap, const char *region, const char *account, const char *name);

/* A parsed ARN. Slices point into the parsed string (not NUL-terminated). */
typedef struct {
    const char *partition, *region, *account, *stream, *consumer;
    size_t partition_len, region_len, account_len, stream_len,
        consumer_len;           /* consumer_len 0 = none */
    int64_t consumer_created_s; /* consumer ARNs only */
} sl_arn_t;

/* Parses a stream ARN "arn:aws*:kinesis:<region>:<12 digits>:stream/<name>" (name without '/').
 * Returns 0 or SL_EINVAL. */
int sl_arn_parse_stream(const char *s, size_t len, sl_arn_t *out);

/* Writes "arn:aws:kinesis:<region>:<account>:stream/<stream>/consumer/<consumer>:<created_s>".
 * Returns the length or SL_ELIMIT. */
int sl_arn_consumer(char *buf, size_t cap, const char *region, const char *account,
                    const char *stream, const char *consumer, int64_t created_s);

/* Parses a consumer ARN (format above; created_s all digits). Returns 0 or SL_EINVAL. */
int sl_arn_parse_consumer(const char *s, size_t len, sl_arn_t *out);

/* Parses a ResourceARN: a stream ARN or a consumer ARN. out->consumer_len is 0 for a stream.
 * Returns 0 or SL_EINVAL. */
int sl_arn_parse_resource(const char *s, size_t len, sl_arn_t *out);

#endif
