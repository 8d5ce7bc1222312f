/* Encoding and checking of the shared commit journal's header, checkpoint slots and entries
 * (journal.h; docs/storage-format.md, "Commit journal"). */
#include "storage/journal.h"

#include "core/common.h"
#include "core/crc32c.h"
#include "storage/format.h"

#include <string.h>

static const char FILE_MAGIC[8] = {'S', 'L', 'U', 'I', 'C', 'E', 'J', 'N'};
static const char SLOT_MAGIC[8] = {'S', 'L', 'U', 'I', 'C', 'E', 'C', 'P'};

void sl_jnl_file_header_encode(uint8_t out[SL_JNL_FILE_HEADER_BYTES], uint64_t capacity) {
    memset(out, 0, SL_JNL_FILE_HEADER_BYTES);
    memcpy(out, FILE_MAGIC, 8);
    sl_le32_put(out + 8, SL_JNL_VERSION);
    sl_le32_put(out + 12, SL_JNL_DATA_OFF);
    sl_le64_put(out + 16, capacity);
    sl_le32_put(out + 28, sl_crc32c(0, out, 28));
}

int sl_jnl_file_header_decode(const uint8_t in[SL_JNL_FILE_HEADER_BYTES], uint64_t *capacity) {
    if (memcmp(in, FILE_MAGIC, 8) != 0 || sl_le32_get(in + 8) != SL_JNL_VERSION ||
        sl_le32_get(in + 12) != SL_JNL_DATA_OFF || sl_le32_get(in + 28) != sl_crc32c(0, in, 28))
        return SL_ECORRUPT;
    uint64_t cap = sl_le64_get(in + 16);
    if (cap < SL_JNL_CAPACITY_MIN || cap % SL_JNL_ALIGN != 0 || cap > ((uint64_t)1 << 40))
        return SL_ECORRUPT;
    *capacity = cap;
    return 0;
}

void sl_jnl_slot_encode(uint8_t out[SL_JNL_SLOT_BYTES], uint64_t gen, uint64_t lsn) {
    memset(out, 0, SL_JNL_SLOT_BYTES);
    memcpy(out, SLOT_MAGIC, 8);
    sl_le64_put(out + 8, gen);
    sl_le64_put(out + 16, lsn);
    sl_le32_put(out + 28, sl_crc32c(0, out, 28));
}

int sl_jnl_slot_decode(const uint8_t in[SL_JNL_SLOT_BYTES], uint64_t *gen, uint64_t *lsn) {
    if (memcmp(in, SLOT_MAGIC, 8) != 0 || sl_le32_get(in + 28) != sl_crc32c(0, in, 28))
        return SL_ECORRUPT;
    *gen = sl_le64_get(in + 8);
    *lsn = sl_le64_get(in + 16);
    return 0;
}

static void header_put(uint8_t *out, uint32_t kind, uint64_t lsn, uint32_t len, uint32_t nframes,
                       uint64_t first_seq, uint16_t skl, uint16_t hkl, uint32_t body_len) {
    sl_le32_put(out, kind);
    sl_le32_put(out + 4, 0);
    sl_le64_put(out + 8, lsn);
    sl_le32_put(out + 16, len);
    sl_le32_put(out + 20, nframes);
    sl_le64_put(out + 24, first_seq);
    out[32] = (uint8_t)skl;
    out[33] = (uint8_t)(skl >> 8);
    out[34] = (uint8_t)hkl;
    out[35] = (uint8_t)(hkl >> 8);
    sl_le32_put(out + 36, body_len);
}

/* The stream key, the shard key, then the body, from p; returns the end. */
static uint8_t *keys_body_put(uint8_t *p, const char *stream_key, size_t stream_key_len,
                              const char *shard_key, size_t shard_key_len, const uint8_t *body,
                              size_t body_len) {
    memcpy(p, stream_key, stream_key_len);
    p += stream_key_len;
    memcpy(p, shard_key, shard_key_len);
    p += shard_key_len;
    if (body_len) memcpy(p, body, body_len);
    return p + body_len;
}

void sl_jnl_entry_encode(uint8_t *out, uint64_t lsn, const char *stream_key, size_t stream_key_len,
                         const char *shard_key, size_t shard_key_len, uint64_t first_seq,
                         uint32_t nframes, const uint8_t *body, size_t body_len) {
    size_t len = sl_jnl_entry_size(stream_key_len, shard_key_len, body_len);
    header_put(out, SL_JNL_RECORDS, lsn, (uint32_t)len, nframes, first_seq,
               (uint16_t)stream_key_len, (uint16_t)shard_key_len, (uint32_t)body_len);
    uint8_t *p = keys_body_put(out + SL_JNL_ENTRY_HEADER_BYTES, stream_key, stream_key_len,
                               shard_key, shard_key_len, body, body_len);
    memset(p, 0, (size_t)(out + len - p));
    sl_le32_put(out + 4, sl_crc32c(0, out + 8, len - 8));
}

size_t sl_jnl_share_header_encode(uint8_t *out, const char *stream_key, size_t stream_key_len,
                                  const char *shard_key, size_t shard_key_len, uint64_t first_seq,
                                  uint32_t nframes, size_t frames_len) {
    sl_le64_put(out, first_seq);
    sl_le32_put(out + 8, nframes);
    sl_le32_put(out + 12, (uint32_t)frames_len);
    out[16] = (uint8_t)stream_key_len;
    out[17] = (uint8_t)(stream_key_len >> 8);
    out[18] = (uint8_t)shard_key_len;
    out[19] = (uint8_t)(shard_key_len >> 8);
    keys_body_put(out + SL_JNL_SHARE_HEADER_BYTES, stream_key, stream_key_len, shard_key,
                  shard_key_len, NULL, 0);
    return sl_jnl_share_size(stream_key_len, shard_key_len, 0);
}

size_t sl_jnl_share_encode(uint8_t *out, const char *stream_key, size_t stream_key_len,
                           const char *shard_key, size_t shard_key_len, uint64_t first_seq,
                           uint32_t nframes, const uint8_t *frames, size_t frames_len) {
    size_t h = sl_jnl_share_header_encode(out, stream_key, stream_key_len, shard_key, shard_key_len,
                                          first_seq, nframes, frames_len);
    if (frames_len) memcpy(out + h, frames, frames_len);
    return h + frames_len;
}

void sl_jnl_round_header_encode(uint8_t out[SL_JNL_ENTRY_HEADER_BYTES], uint64_t lsn,
                                uint32_t nshares, uint32_t nframes, size_t body_len) {
    header_put(out, SL_JNL_ROUND, lsn, (uint32_t)sl_jnl_round_size(body_len), nframes, nshares, 0,
               0, (uint32_t)body_len);
}

void sl_jnl_round_finish(uint8_t *out, uint64_t lsn, uint32_t nshares, uint32_t nframes,
                         size_t body_len) {
    size_t len = sl_jnl_round_size(body_len);
    sl_jnl_round_header_encode(out, lsn, nshares, nframes, body_len);
    uint8_t *end = out + SL_JNL_ENTRY_HEADER_BYTES + body_len;
    memset(end, 0, (size_t)(out + len - end));
    sl_le32_put(out + 4, sl_crc32c(0, out + 8, len - 8));
}

int sl_jnl_share_decode(const uint8_t *in, size_t avail, sl_jnl_share_t *out) {
    if (avail < SL_JNL_SHARE_HEADER_BYTES) return SL_ECORRUPT;
    sl_jnl_share_t sh = {
        .first_seq = sl_le64_get(in),
        .nframes = sl_le32_get(in + 8),
        .frames_len = sl_le32_get(in + 12),
        .stream_key_len = (uint16_t)(in[16] | in[17] << 8),
        .shard_key_len = (uint16_t)(in[18] | in[19] << 8),
    };
    sh.size = sl_jnl_share_size(sh.stream_key_len, sh.shard_key_len, sh.frames_len);
    if (sh.stream_key_len == 0 || sh.shard_key_len == 0 || sh.nframes == 0 || sh.size > avail ||
        (uint64_t)sh.frames_len < (uint64_t)sh.nframes * SL_FRAME_HEADER_BYTES)
        return SL_ECORRUPT;
    sh.stream_key = (const char *)in + SL_JNL_SHARE_HEADER_BYTES;
    sh.shard_key = sh.stream_key + sh.stream_key_len;
    sh.frames = (const uint8_t *)sh.shard_key + sh.shard_key_len;
    *out = sh;
    return 0;
}

void sl_jnl_pad_encode(uint8_t out[SL_JNL_ENTRY_HEADER_BYTES], uint64_t lsn, uint32_t len) {
    header_put(out, SL_JNL_PAD, lsn, len, 0, 0, 0, 0, 0);
    sl_le32_put(out + 4, sl_crc32c(0, out + 8, SL_JNL_ENTRY_HEADER_BYTES - 8));
}

int sl_jnl_entry_decode(const uint8_t *in, uint64_t expect_lsn, uint64_t max_len,
                        sl_jnl_entry_t *out) {
    sl_jnl_entry_t e = {
        .kind = sl_le32_get(in),
        .lsn = sl_le64_get(in + 8),
        .len = sl_le32_get(in + 16),
        .nframes = sl_le32_get(in + 20),
        .first_seq = sl_le64_get(in + 24),
        .stream_key_len = (uint16_t)(in[32] | in[33] << 8),
        .shard_key_len = (uint16_t)(in[34] | in[35] << 8),
        .body_len = sl_le32_get(in + 36),
    };
    if (e.lsn != expect_lsn || e.len < SL_JNL_ENTRY_HEADER_BYTES || e.len % SL_JNL_ALIGN != 0 ||
        e.len > max_len)
        return SL_ECORRUPT;
    if (e.kind == SL_JNL_PAD) {
        if (e.nframes || e.body_len || e.stream_key_len || e.shard_key_len ||
            sl_le32_get(in + 4) != sl_crc32c(0, in + 8, SL_JNL_ENTRY_HEADER_BYTES - 8))
            return SL_ECORRUPT;
    } else if (e.kind == SL_JNL_RECORDS) {
        if (e.stream_key_len == 0 || e.shard_key_len == 0 || e.nframes == 0 ||
            (uint64_t)e.body_len < (uint64_t)e.nframes * SL_FRAME_HEADER_BYTES ||
            sl_jnl_entry_size(e.stream_key_len, e.shard_key_len, e.body_len) != e.len)
            return SL_ECORRUPT;
    } else if (e.kind == SL_JNL_ROUND) {
        if (e.stream_key_len || e.shard_key_len || e.nframes == 0 || e.first_seq == 0 ||
            e.first_seq > e.nframes ||
            (uint64_t)e.body_len < e.first_seq * SL_JNL_SHARE_HEADER_BYTES +
                                       (uint64_t)e.nframes * SL_FRAME_HEADER_BYTES ||
            sl_jnl_round_size(e.body_len) != e.len)
            return SL_ECORRUPT;
    } else {
        return SL_ECORRUPT;
    }
    *out = e;
    return 0;
}

int sl_jnl_entry_check(const uint8_t *in, const sl_jnl_entry_t *e) {
    return sl_le32_get(in + 4) == sl_crc32c(0, in + 8, e->len - 8) ? 0 : SL_ECORRUPT;
}
