/* Encoding and decoding of the version-1 on-disk format (see format.h, docs/storage-format.md). */
#include "storage/format.h"

#include "core/common.h"
#include "core/crc32c.h"
#include "core/limits.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static const char seg_magic[8] = {'S', 'L', 'U', 'I', 'C', 'E', 'S', 'G'};
static const char idx_magic[8] = {'S', 'L', 'U', 'I', 'C', 'E', 'I', 'X'};

void sl_frame_prepare(uint8_t *dst, const sl_record_t *r) {
    SL_ASSERT(r->key_len <= SL_FRAME_KEY_BYTES_MAX && r->attributes_len <= SL_FRAME_KEY_BYTES_MAX);
    size_t key = r->key_len, attr = r->attributes ? r->attributes_len : 0;
    size_t len = sl_frame_size(key, attr, r->data_len);
    uint8_t *body = dst + SL_FRAME_HEADER_BYTES;
    if (key) memcpy(body, r->key, key);
    if (attr) memcpy(body + key, r->attributes, attr);
    if (r->data_len) memcpy(body + key + attr, r->data, r->data_len);
    /* the checksum from the sources, which are in cache, rather than from the copy just written
     * (reading back fresh stores stalled: the CRC was 8% of a PutRecords' CPU, 4% this way) */
    uint32_t crc = key ? sl_crc32c(0, r->key, key) : 0;
    if (attr) crc = sl_crc32c(crc, r->attributes, attr);
    if (r->data_len) crc = sl_crc32c(crc, r->data, r->data_len);
    sl_le32_put(dst, (uint32_t)len);
    sl_le32_put(dst + 4, crc);
    sl_le64_put(dst + 8, 0);
    sl_le64_put(dst + 16, (uint64_t)r->arrival_ms);
    dst[24] = (uint8_t)key;
    dst[25] = (uint8_t)(key >> 8);
    dst[26] = (uint8_t)attr;
    dst[27] = (uint8_t)(attr >> 8);
    sl_le32_put(dst + 28, (uint32_t)r->data_len);
}

void sl_frame_finish(uint8_t *frame, uint64_t seq, int64_t arrival_ms) {
    sl_le64_put(frame + 8, seq);
    sl_le64_put(frame + 16, (uint64_t)arrival_ms);
    /* The checksum covers the payload first, then bytes 8..31 of the header. */
    uint32_t crc = sl_crc32c(sl_le32_get(frame + 4), frame + 8, SL_FRAME_HEADER_BYTES - 8);
    sl_le32_put(frame + 4, crc);
}

sl_frame_status_t sl_frame_peek(const uint8_t *p, size_t avail, sl_frame_t *out) {
    if (avail < SL_FRAME_HEADER_BYTES) return SL_FRAME_TORN_HEADER;
    uint32_t len = sl_le32_get(p);
    uint32_t key = (uint32_t)p[24] | (uint32_t)p[25] << 8;
    uint32_t attr = (uint32_t)p[26] | (uint32_t)p[27] << 8;
    uint32_t data = sl_le32_get(p + 28);
    if (data > SL_KINESIS_RECORD_DATA_MAX ||
        (uint64_t)len != (uint64_t)SL_FRAME_HEADER_BYTES + key + attr + data)
        return SL_FRAME_BAD_HEADER;
    out->frame_len = len;
    out->seq = sl_le64_get(p + 8);
    out->arrival_ms = (int64_t)sl_le64_get(p + 16);
    out->key_len = key;
    out->attr_len = attr;
    out->data_len = data;
    out->key = p + SL_FRAME_HEADER_BYTES;
    out->attr = out->key + key;
    out->data = out->attr + attr;
    if (avail < len) return SL_FRAME_TORN_BODY;
    return SL_FRAME_OK;
}

sl_frame_status_t sl_frame_decode(const uint8_t *p, size_t avail, sl_frame_t *out) {
    sl_frame_status_t s = sl_frame_peek(p, avail, out);
    if (s != SL_FRAME_OK) return s;
    uint32_t crc = sl_crc32c(0, p + SL_FRAME_HEADER_BYTES, out->frame_len - SL_FRAME_HEADER_BYTES);
    crc = sl_crc32c(crc, p + 8, SL_FRAME_HEADER_BYTES - 8);
    if (crc != sl_le32_get(p + 4)) return SL_FRAME_BAD_CRC;
    return SL_FRAME_OK;
}

const char *sl_frame_status_str(sl_frame_status_t s) {
    switch (s) {
    case SL_FRAME_OK:
        return "ok";
    case SL_FRAME_TORN_HEADER:
        return "torn record header";
    case SL_FRAME_TORN_BODY:
        return "torn record body";
    case SL_FRAME_BAD_HEADER:
        return "invalid record header";
    case SL_FRAME_BAD_CRC:
        return "record checksum mismatch";
    }
    return "?";
}

static void header_encode(uint8_t out[32], const char magic[8], uint32_t word, uint64_t base,
                          uint32_t extra) {
    memcpy(out, magic, 8);
    sl_le32_put(out + 8, SL_FORMAT_VERSION);
    sl_le32_put(out + 12, word);
    sl_le64_put(out + 16, base);
    sl_le32_put(out + 24, extra);
    sl_le32_put(out + 28, sl_crc32c(0, out, 28));
}

static int header_decode(const uint8_t in[32], const char magic[8], uint32_t word, uint64_t *base,
                         uint32_t *extra) {
    if (memcmp(in, magic, 8) != 0) return SL_ECORRUPT;
    if (sl_le32_get(in + 28) != sl_crc32c(0, in, 28)) return SL_ECORRUPT;
    if (sl_le32_get(in + 8) != SL_FORMAT_VERSION || sl_le32_get(in + 12) != word)
        return SL_ECORRUPT;
    *base = sl_le64_get(in + 16);
    *extra = sl_le32_get(in + 24);
    return 0;
}

void sl_seg_header_encode(uint8_t out[SL_SEG_HEADER_BYTES], uint64_t base_seq) {
    header_encode(out, seg_magic, SL_SEG_HEADER_BYTES, base_seq, 0);
}

int sl_seg_header_decode(const uint8_t in[SL_SEG_HEADER_BYTES], uint64_t *base_seq) {
    uint32_t extra;
    return header_decode(in, seg_magic, SL_SEG_HEADER_BYTES, base_seq, &extra);
}

void sl_idx_header_encode(uint8_t out[SL_IDX_HEADER_BYTES], uint64_t base_seq,
                          uint32_t interval_bytes) {
    header_encode(out, idx_magic, SL_IDX_ENTRY_BYTES, base_seq, interval_bytes);
}

int sl_idx_header_decode(const uint8_t in[SL_IDX_HEADER_BYTES], uint64_t *base_seq,
                         uint32_t *interval_bytes) {
    return header_decode(in, idx_magic, SL_IDX_ENTRY_BYTES, base_seq, interval_bytes);
}

void sl_idx_entry_encode(uint8_t out[SL_IDX_ENTRY_BYTES], const sl_idx_entry_t *e) {
    sl_le64_put(out, e->seq);
    sl_le64_put(out + 8, e->offset);
    sl_le64_put(out + 16, (uint64_t)e->arrival_ms);
    sl_le32_put(out + 24, e->kind);
    sl_le32_put(out + 28, sl_crc32c(0, out, 28));
}

int sl_idx_entry_decode(const uint8_t in[SL_IDX_ENTRY_BYTES], sl_idx_entry_t *e) {
    if (sl_le32_get(in + 28) != sl_crc32c(0, in, 28)) return SL_ECORRUPT;
    e->seq = sl_le64_get(in);
    e->offset = sl_le64_get(in + 8);
    e->arrival_ms = (int64_t)sl_le64_get(in + 16);
    e->kind = sl_le32_get(in + 24);
    if (e->kind != SL_IDX_POINT && e->kind != SL_IDX_SEAL) return SL_ECORRUPT;
    return 0;
}

void sl_seg_name(char out[SL_SEG_NAME_BYTES], uint64_t base_seq, const char *ext) {
    snprintf(out, SL_SEG_NAME_BYTES, "%020" PRIu64 ".%.3s", base_seq, ext);
}

bool sl_seg_name_parse(const char *name, const char *ext, uint64_t *base_seq) {
    if (strlen(name) != 24 || name[20] != '.' || strcmp(name + 21, ext) != 0) return false;
    uint64_t v = 0;
    for (int i = 0; i < 20; i++) {
        if (name[i] < '0' || name[i] > '9') return false;
        uint64_t d = (uint64_t)(name[i] - '0');
        if (v > (UINT64_MAX - d) / 10) return false;
        v = v * 10 + d;
    }
    *base_seq = v;
    return true;
}

int sl_frame_batch_bytes(const sl_record_t *records, size_t n, size_t *bytes_out) {
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++) {
        const sl_record_t *r = &records[i];
        size_t attr = r->attributes ? r->attributes_len : 0;
        if (r->key_len > SL_FRAME_KEY_BYTES_MAX || attr > SL_FRAME_KEY_BYTES_MAX ||
            r->data_len > SL_KINESIS_RECORD_DATA_MAX || (r->data_len && !r->data) ||
            (r->key_len && !r->key))
            return SL_EINVAL;
        bytes += sl_frame_size(r->key_len, attr, r->data_len);
    }
    *bytes_out = bytes;
    return 0;
}
