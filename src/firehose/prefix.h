/* Firehose's S3 prefix expressions (docs/firehose.md, "Object keys"): Prefix and ErrorOutputPrefix
 * with !{timestamp:<java.time.format.DateTimeFormatter pattern>}, !{firehose:random-string} and
 * !{firehose:error-output-type}, checked with AWS's rules at CreateDeliveryStream and
 * UpdateDestination and evaluated per delivered object. Pure functions: no allocation, no clock,
 * no global state (the random strings come from a caller's seed, so an object key can be
 * recomputed after a restart). */
#ifndef SL_FIREHOSE_PREFIX_H
#define SL_FIREHOSE_PREFIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The longest evaluated prefix AWS allows (512 characters). */
#define SL_FH_PREFIX_EVAL_MAX 512

/* Checks one Java DateTimeFormatter pattern (the subset Sluice formats: G u y Y D M L d Q q E a h
 * K k H m s S n A, quoted text, '' and punctuation). Returns NULL when valid, else a static
 * reason. */
const char *sl_fh_datetime_check(const char *pattern, size_t len);

/* Formats ts_ms (UTC, shifted by offset_s) with a pattern sl_fh_datetime_check accepted; appends
 * at most cap-1 bytes to out at *pos. Returns false when the result does not fit. */
bool sl_fh_datetime_format(const char *pattern, size_t len, int64_t ts_ms, char *out, size_t cap,
                           size_t *pos);

/* The Prefix / ErrorOutputPrefix pair of an S3 destination against AWS's rules: "!{" only starts
 * an expression of a known namespace with a valid value; error-output-type never in Prefix; an
 * ErrorOutputPrefix, when given, holds error-output-type; with expressions in Prefix an
 * ErrorOutputPrefix is needed. NULL/"" = not given. Returns NULL, or AWS's message (static). */
const char *sl_fh_prefix_check(const char *prefix, const char *error_prefix);

/* Does the expression text hold a !{timestamp:...} expression? */
bool sl_fh_prefix_has_timestamp(const char *prefix);

/* Evaluates a checked prefix for an object whose oldest record arrived at ts_ms: timestamps in
 * UTC, each !{firehose:random-string} 11 characters from seed (distinct per occurrence),
 * error-output-type replaced by `error_type` (NULL: left empty). Writes a NUL-terminated string
 * of at most cap-1 bytes. Returns 0, or -1 when the result is longer than SL_FH_PREFIX_EVAL_MAX or
 * does not fit. */
int sl_fh_prefix_eval(const char *prefix, int64_t ts_ms, const char *error_type, uint64_t seed,
                      char *out, size_t cap);

/* The key prefix of a delivered object as AWS builds it: the evaluated Prefix with
 * "!{timestamp:yyyy/MM/dd/HH/}" appended (plain concatenation) when it has no timestamp
 * expression. With error_type set, the error prefix instead: the evaluated ErrorOutputPrefix, or
 * when there is none <Prefix><error_type>/yyyy/MM/dd/HH/. Returns 0 or -1 (too long). */
int sl_fh_object_prefix(const char *prefix, const char *error_prefix, const char *error_type,
                        int64_t ts_ms, uint64_t seed, char *out, size_t cap);

#endif
