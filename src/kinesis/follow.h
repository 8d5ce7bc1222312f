/* Following every shard of a stream from a service's own thread: the consumer side that services
 * built on the stream share (analytics applications' inputs; meant for Firehose's
 * KinesisStreamAsSource and the event-source mappings too). A follower lists the stream's shards,
 * reads each one in turn from its position through the reader, reads a child only once its
 * parents ended (so records of a key stay in order across a reshard), and keeps every shard's
 * position, which the caller saves and restores as text (a checkpoint).
 *
 * Blocking: every call waits for the reader pool, so it belongs on a thread of its own, never on
 * a network or storage thread. One follower is used by one thread. */
#ifndef SL_KINESIS_FOLLOW_H
#define SL_KINESIS_FOLLOW_H

#include "core/buf.h"
#include "kinesis/kinesis.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sl_kfollow sl_kfollow_t;

typedef struct {
    sl_kinesis_t *k;
    const char *stream; /* the stream's name or ARN */
    /* where a shard without a saved position starts: TRIM_HORIZON, LATEST or AT_TIMESTAMP
     * (start_ms); children of shards this follower read start at TRIM_HORIZON */
    sl_kstart_type_t start;
    int64_t start_ms;
    size_t records_max; /* per read (0: 10,000) */
    size_t bytes_max;   /* per read (0: 4 MiB) */
} sl_kfollow_config_t;

int sl_kfollow_create(const sl_kfollow_config_t *cfg, sl_kfollow_t **out);
void sl_kfollow_destroy(sl_kfollow_t *f);

/* The shard records come from: its id, index and creation time (a record's public sequence
 * number is sl_kinesis_seqnum(created_ms, index, record->seq, record->arrival_ms)). */
typedef struct {
    const char *shard_id;
    uint32_t index;
    int64_t created_ms;
} sl_kfollow_shard_t;

/* Records of one read of one shard, in order. A non-zero return stops the pass (it is returned)
 * and the shard's position does not move past these records. */
typedef int (*sl_kfollow_fn)(void *ctx, const sl_kfollow_shard_t *shard,
                             const sl_krecord_t *records, size_t count);

/* One pass: lists the shards when needed (first pass, after a shard ended, every few seconds)
 * and reads each readable shard once. *delivered counts the records handed to fn; *caught_up
 * says every shard was at its tip. Returns 0, SL_ENOTFOUND when the stream is gone, or fn's
 * non-zero return. */
int sl_kfollow_pass(sl_kfollow_t *f, sl_kfollow_fn fn, void *ctx, size_t *delivered,
                    bool *caught_up);

/* The positions as text ("<shard id> <position>|ended\n" per shard) and back (before the first
 * pass; shards not named start as the configuration says). */
int sl_kfollow_save(const sl_kfollow_t *f, sl_buf_t *out);
int sl_kfollow_restore(sl_kfollow_t *f, const char *text, size_t len);

#endif
