/* Compression containers (see compress.h), on zlib and libsnappy. */
#include "firehose/compress.h"

#include "core/bin.h"
#include "core/common.h"

#include <snappy-c.h>
#include <string.h>
#include <zlib.h>

/* snappy-java's SnappyOutputStream compresses blocks of this much input (its default). */
#define SNAPPY_JAVA_BLOCK_BYTES (32u * 1024)
/* Hadoop's SnappyCodec buffer (io.compression.codec.snappy.buffersize's default, 256 KiB). */
#define HADOOP_SNAPPY_BLOCK_BYTES (256u * 1024)

int sl_fh_compression_parse(const char *name) {
    if (!name || !strcmp(name, "UNCOMPRESSED")) return SL_FH_UNCOMPRESSED;
    if (!strcmp(name, "GZIP")) return SL_FH_GZIP;
    if (!strcmp(name, "ZIP")) return SL_FH_ZIP;
    if (!strcmp(name, "Snappy")) return SL_FH_SNAPPY;
    if (!strcmp(name, "HADOOP_SNAPPY")) return SL_FH_HADOOP_SNAPPY;
    return -1;
}

const char *sl_fh_compression_ext(sl_fh_compression_t c) {
    switch (c) {
    case SL_FH_GZIP:
        return ".gz";
    case SL_FH_ZIP:
        return ".zip";
    case SL_FH_SNAPPY:
    case SL_FH_HADOOP_SNAPPY:
        return ".snappy";
    default:
        return "";
    }
}

const char *sl_fh_compression_encoding(sl_fh_compression_t c) {
    switch (c) {
    case SL_FH_GZIP:
        return "gzip";
    case SL_FH_ZIP:
        return "zip";
    case SL_FH_SNAPPY:
        return "snappy-java";
    case SL_FH_HADOOP_SNAPPY:
        return "hadoop-snappy";
    default:
        return NULL;
    }
}

static void be32(sl_buf_t *out, uint32_t v) {
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    sl_buf_append(out, b, 4);
}

/* Deflates data into out: gzip (window bits 31) or raw (-15, for ZIP). */
static int deflate_into(const uint8_t *data, size_t len, int window_bits, sl_buf_t *out) {
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY) !=
        Z_OK)
        return SL_ENOMEM;
    size_t bound = deflateBound(&z, (uLong)len) + 64;
    char *dst = sl_buf_reserve(out, bound);
    if (!dst) {
        deflateEnd(&z);
        return SL_ENOMEM;
    }
    z.next_in = (Bytef *)data;
    z.avail_in = (uInt)len;
    z.next_out = (Bytef *)dst;
    z.avail_out = (uInt)bound;
    int zr = deflate(&z, Z_FINISH);
    size_t produced = bound - z.avail_out;
    deflateEnd(&z);
    if (zr != Z_STREAM_END) return SL_EINVAL;
    out->len += produced;
    return 0;
}

static int snappy_block(const uint8_t *data, size_t len, sl_buf_t *out, bool hadoop) {
    size_t max = snappy_max_compressed_length(len);
    if (hadoop) be32(out, (uint32_t)len);
    size_t at = out->len;
    be32(out, 0);
    char *dst = sl_buf_reserve(out, max);
    if (!dst || sl_buf_failed(out)) return SL_ENOMEM;
    size_t n = max;
    if (snappy_compress((const char *)data, len, dst, &n) != SNAPPY_OK) return SL_EINVAL;
    out->len += n;
    uint8_t *p = (uint8_t *)out->data + at;
    p[0] = (uint8_t)(n >> 24);
    p[1] = (uint8_t)(n >> 16);
    p[2] = (uint8_t)(n >> 8);
    p[3] = (uint8_t)n;
    return 0;
}

/* DOS date and time of a ZIP entry (UTC). */
static void dos_time(int64_t ms, uint16_t *date, uint16_t *time) {
    int64_t s = ms / 1000, days = s / 86400, rem = s % 86400;
    int64_t z = days + 719468, era = z / 146097, doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
    int d = (int)(doy - (153 * mp + 2) / 5 + 1), m = (int)(mp < 10 ? mp + 3 : mp - 9);
    int64_t y = yoe + era * 400 + (m <= 2);
    if (y < 1980) y = 1980;
    *date = (uint16_t)(((y - 1980) << 9) | (m << 5) | d);
    *time = (uint16_t)(((rem / 3600) << 11) | ((rem / 60 % 60) << 5) | (rem % 60 / 2));
}

static int zip(const uint8_t *data, size_t len, const char *name, int64_t mtime_ms, sl_buf_t *out) {
    size_t name_len = strlen(name);
    uint32_t crc = (uint32_t)crc32(0, data, (uInt)len);
    uint16_t date, time;
    dos_time(mtime_ms, &date, &time);
    size_t local = out->len;
    sl_bin_put_u32(out, 0x04034b50);
    sl_bin_put_u16(out, 20); /* version needed: 2.0 (deflate) */
    sl_bin_put_u16(out, 0);  /* flags */
    sl_bin_put_u16(out, 8);  /* deflate */
    sl_bin_put_u16(out, time);
    sl_bin_put_u16(out, date);
    sl_bin_put_u32(out, crc);
    size_t sizes_at = out->len;
    sl_bin_put_u32(out, 0); /* compressed size, set below */
    sl_bin_put_u32(out, (uint32_t)len);
    sl_bin_put_u16(out, (uint32_t)name_len);
    sl_bin_put_u16(out, 0);
    sl_buf_append(out, name, name_len);
    size_t start = out->len;
    int rc = deflate_into(data, len, -15, out);
    if (rc) return rc;
    if (sl_buf_failed(out)) return SL_ENOMEM;
    uint32_t csize = (uint32_t)(out->len - start);
    uint8_t *p = (uint8_t *)out->data + sizes_at;
    p[0] = (uint8_t)csize;
    p[1] = (uint8_t)(csize >> 8);
    p[2] = (uint8_t)(csize >> 16);
    p[3] = (uint8_t)(csize >> 24);
    size_t central = out->len;
    sl_bin_put_u32(out, 0x02014b50);
    sl_bin_put_u16(out, 20); /* made by */
    sl_bin_put_u16(out, 20);
    sl_bin_put_u16(out, 0);
    sl_bin_put_u16(out, 8);
    sl_bin_put_u16(out, time);
    sl_bin_put_u16(out, date);
    sl_bin_put_u32(out, crc);
    sl_bin_put_u32(out, csize);
    sl_bin_put_u32(out, (uint32_t)len);
    sl_bin_put_u16(out, (uint32_t)name_len);
    sl_bin_put_u16(out, 0); /* extra */
    sl_bin_put_u16(out, 0); /* comment */
    sl_bin_put_u16(out, 0); /* disk */
    sl_bin_put_u16(out, 0); /* internal attributes */
    sl_bin_put_u32(out, 0); /* external attributes */
    sl_bin_put_u32(out, (uint32_t)(local));
    sl_buf_append(out, name, name_len);
    size_t end = out->len;
    sl_bin_put_u32(out, 0x06054b50);
    sl_bin_put_u16(out, 0);
    sl_bin_put_u16(out, 0);
    sl_bin_put_u16(out, 1);
    sl_bin_put_u16(out, 1);
    sl_bin_put_u32(out, (uint32_t)(end - central));
    sl_bin_put_u32(out, (uint32_t)central);
    sl_bin_put_u16(out, 0);
    return sl_buf_failed(out) ? SL_ENOMEM : 0;
}

int sl_fh_compress(sl_fh_compression_t c, const uint8_t *data, size_t len, const char *entry_name,
                   int64_t mtime_ms, sl_buf_t *out) {
    int rc = 0;
    switch (c) {
    case SL_FH_UNCOMPRESSED:
        sl_buf_append(out, data, len);
        break;
    case SL_FH_GZIP:
        rc = deflate_into(data, len, 31, out);
        break;
    case SL_FH_ZIP:
        rc = zip(data, len, entry_name, mtime_ms, out);
        break;
    case SL_FH_SNAPPY: {
        static const uint8_t magic[8] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};
        sl_buf_append(out, magic, sizeof magic);
        be32(out, 1); /* version */
        be32(out, 1); /* compatible version */
        for (size_t at = 0; rc == 0 && at < len; at += SNAPPY_JAVA_BLOCK_BYTES)
            rc = snappy_block(data + at, SL_MIN(len - at, SNAPPY_JAVA_BLOCK_BYTES), out, false);
        break;
    }
    case SL_FH_HADOOP_SNAPPY:
        for (size_t at = 0; rc == 0 && at < len; at += HADOOP_SNAPPY_BLOCK_BYTES)
            rc = snappy_block(data + at, SL_MIN(len - at, HADOOP_SNAPPY_BLOCK_BYTES), out, true);
        break;
    }
    if (rc == 0 && sl_buf_failed(out)) rc = SL_ENOMEM;
    return rc;
}
