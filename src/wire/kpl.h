/* The KPL aggregated-record format (the Kinesis Producer Library's container for many user records
 * in one Kinesis record): magic F3 89 9A C2, a proto2 AggregatedRecord (partition-key table,
 * explicit-hash-key table, records), then the MD5 of the protobuf bytes. The encoder is what the
 * libsluice producer sends; the decoder is what its record reader and the CLI use to hand user
 * records out again, with the KCL's rule that anything that does not check out (magic, MD5,
 * protobuf, an index out of range) is not an aggregate and passes through raw.
 * Schema and test vector: docs/libsluice.md ("Aggregation format"). */
#ifndef SL_WIRE_KPL_H
#define SL_WIRE_KPL_H

#include "core/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SL_KPL_MAGIC_LEN 4
#define SL_KPL_DIGEST_LEN 16
/* Magic + digest: the bytes an aggregate adds around its protobuf. */
#define SL_KPL_OVERHEAD_BYTES (SL_KPL_MAGIC_LEN + SL_KPL_DIGEST_LEN)

extern const uint8_t sl_kpl_magic[SL_KPL_MAGIC_LEN];

/* One user record. Strings are not NUL-terminated; ehk may be NULL (no explicit hash key). */
typedef struct {
    const char *pk;
    size_t pk_len;
    const char *ehk; /* decimal 128-bit hash key or NULL */
    size_t ehk_len;
    const uint8_t *data;
    size_t data_len;
} sl_kpl_record_t;

/* ---- building an aggregate one record at a time ----
 * Tables are de-duplicated (the KPL does the same), so an aggregate of records sharing a key holds
 * the key once. The builder borrows the records' bytes until sl_kpl_builder_finish/reset. */
typedef struct sl_kpl_builder sl_kpl_builder_t;

/* Returns 0 or SL_ENOMEM. */
int sl_kpl_builder_create(sl_kpl_builder_t **out);
void sl_kpl_builder_destroy(sl_kpl_builder_t *b);
/* Forgets every record (keeps memory for reuse). */
void sl_kpl_builder_reset(sl_kpl_builder_t *b);
/* Records added so far. */
size_t sl_kpl_builder_count(const sl_kpl_builder_t *b);
/* Encoded size of the whole aggregate (magic + protobuf + MD5) if r were added now. */
size_t sl_kpl_builder_size_with(const sl_kpl_builder_t *b, const sl_kpl_record_t *r);
/* Encoded size of the aggregate as it is. */
size_t sl_kpl_builder_size(const sl_kpl_builder_t *b);
/* Adds r. Returns 0 or SL_ENOMEM. */
int sl_kpl_builder_add(sl_kpl_builder_t *b, const sl_kpl_record_t *r);
/* Appends the aggregate (magic, protobuf, MD5) to out and resets the builder. Returns 0 or
 * SL_ENOMEM (out failed). */
int sl_kpl_builder_finish(sl_kpl_builder_t *b, sl_buf_t *out);

/* ---- reading ---- */

/* True when data starts with the magic and is long enough to hold an aggregate (a cheap test; the
 * full check is sl_kpl_decode). */
bool sl_kpl_looks_aggregated(const uint8_t *data, size_t len);

/* Called once per user record, in order; index is the sub-sequence number. Strings point into the
 * decoded buffer (not NUL-terminated). Return non-zero to stop (sl_kpl_decode returns it). */
typedef int (*sl_kpl_record_fn)(const sl_kpl_record_t *r, uint64_t index, void *arg);

/* Checks data[0..len) completely (magic, MD5, protobuf well-formed with both required fields of
 * every record, every index inside its table) before calling fn for any record: either every user
 * record is delivered or none is. Returns 0 (aggregate, all delivered), SL_EINVAL with *reason a
 * static text (not an aggregate: the caller passes the record through raw), SL_ELIMIT (more than
 * SL_KPL_RECORDS_MAX records or keys), or fn's non-zero result. */
int sl_kpl_decode(const uint8_t *data, size_t len, sl_kpl_record_fn fn, void *arg,
                  const char **reason);

#endif
