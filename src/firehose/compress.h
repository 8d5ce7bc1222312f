/* The object bodies of Firehose's CompressionFormat values, in the containers AWS writes
 * (docs/firehose.md, "Compression"): GZIP one gzip member; ZIP an archive with one deflated entry;
 * Snappy snappy-java's stream format (magic 82 'SNAPPY' 00, version 1, compatible version 1, then
 * big-endian length-prefixed Snappy blocks of at most 32 KiB of input); HADOOP_SNAPPY Hadoop's
 * block format (big-endian uncompressed length, then big-endian length-prefixed Snappy chunks). */
#ifndef SL_FIREHOSE_COMPRESS_H
#define SL_FIREHOSE_COMPRESS_H

#include "core/buf.h"

#include <stddef.h>
#include <stdint.h>

typedef enum {
    SL_FH_UNCOMPRESSED = 0,
    SL_FH_GZIP,
    SL_FH_ZIP,
    SL_FH_SNAPPY,
    SL_FH_HADOOP_SNAPPY,
} sl_fh_compression_t;

/* The format of a CompressionFormat value, or -1 for an unknown one. */
int sl_fh_compression_parse(const char *name);
/* The object name's extension (".gz", ".zip", ".snappy", "" when uncompressed). */
const char *sl_fh_compression_ext(sl_fh_compression_t c);
/* The Content-Encoding AWS stores the object with (NULL = none). */
const char *sl_fh_compression_encoding(sl_fh_compression_t c);

/* Compresses data[0..len) into out (appended). entry_name: the ZIP entry's name. mtime_ms: the
 * ZIP entry's time. Returns 0 or SL_ENOMEM / SL_EINVAL. */
int sl_fh_compress(sl_fh_compression_t c, const uint8_t *data, size_t len, const char *entry_name,
                   int64_t mtime_ms, sl_buf_t *out);

#endif
