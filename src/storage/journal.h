/* On-disk format of the shared commit journal (docs/storage-format.md, "Commit journal"): the file
 * header, the two checkpoint slots and the entries. Pure functions over byte buffers, shared by
 * the file engine (src/storage/file_journal.c), its recovery and the tests. All integers
 * little-endian.
 *
 * The journal is one file used as a ring: byte `lsn` of the endless journal stream lives at file
 * offset SL_JNL_DATA_OFF + lsn % capacity. An entry never wraps: the rest of a lap too small for a
 * round is skipped (with a PAD entry when at least a header fits). */
#ifndef SL_STORAGE_JOURNAL_H
#define SL_STORAGE_JOURNAL_H

#include "core/limits.h"

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SL_JNL_VERSION 1u
#define SL_JNL_FILE_HEADER_BYTES                                                                   \
    32u                       /* "SLUICEJN" u32 version u32 data_off u64 capacity u32 0 u32 crc */
#define SL_JNL_SLOT_BYTES 32u /* "SLUICECP" u64 gen u64 lsn u32 0 u32 crc */
#define SL_JNL_SLOT0_OFF 512u
#define SL_JNL_SLOT1_OFF 1024u
#define SL_JNL_DATA_OFF 4096u /* entries start here */
#define SL_JNL_ENTRY_HEADER_BYTES 40u
#define SL_JNL_ALIGN 8u
/* sl_jnl_file_header_decode rejects a capacity that is not aligned: the clamped one must pass. */
static_assert(SL_JNL_CAPACITY_MIN % SL_JNL_ALIGN == 0 &&
                  SL_STORAGE_JOURNAL_BYTES_DEFAULT % SL_JNL_ALIGN == 0 &&
                  SL_STORAGE_JOURNAL_BYTES_MAX % SL_JNL_ALIGN == 0,
              "journal capacities not aligned");

enum {
    SL_JNL_RECORDS = 0x314e524au, /* "JRN1": frames of one shard (written by older versions) */
    SL_JNL_ROUND = 0x324e524au,   /* "JRN2": the shares of every shard of one commit round */
    SL_JNL_PAD = 0x4441504au,     /* "JPAD": skip to the next lap */
};

/* A ROUND entry's body is its shares back to back, each: first seq (8), frame count (4), frames
 * length (4), stream key length (2), shard key length (2), the two keys, then the frames. */
#define SL_JNL_SHARE_HEADER_BYTES 20u

/* A decoded entry header. For RECORDS the body is `body_len` bytes of segment frames (as written
 * to the shard's segment, seqs first_seq .. first_seq + nframes - 1) after the two keys. For
 * ROUND the body is `body_len` bytes of shares (nshares of them, nframes frames in all) right
 * after the header, and the key lengths are 0. */
typedef struct {
    uint32_t kind;
    uint64_t lsn;
    uint32_t len; /* whole entry, header included, a multiple of SL_JNL_ALIGN */
    uint32_t nframes;
    uint64_t first_seq; /* ROUND: the number of shares */
    uint16_t stream_key_len, shard_key_len;
    uint32_t body_len;
} sl_jnl_entry_t;

void sl_jnl_file_header_encode(uint8_t out[SL_JNL_FILE_HEADER_BYTES], uint64_t capacity);
/* 0 and *capacity, or SL_ECORRUPT. */
int sl_jnl_file_header_decode(const uint8_t in[SL_JNL_FILE_HEADER_BYTES], uint64_t *capacity);

void sl_jnl_slot_encode(uint8_t out[SL_JNL_SLOT_BYTES], uint64_t gen, uint64_t lsn);
/* 0 with gen and lsn, or SL_ECORRUPT (never written, torn, damaged). */
int sl_jnl_slot_decode(const uint8_t in[SL_JNL_SLOT_BYTES], uint64_t *gen, uint64_t *lsn);

/* Size of a RECORDS entry with these key and body lengths. */
static inline size_t sl_jnl_entry_size(size_t stream_key_len, size_t shard_key_len,
                                       size_t body_len) {
    size_t n = SL_JNL_ENTRY_HEADER_BYTES + stream_key_len + shard_key_len + body_len;
    return (n + SL_JNL_ALIGN - 1) & ~(size_t)(SL_JNL_ALIGN - 1);
}

/* Writes a RECORDS entry (sl_jnl_entry_size bytes) into out, checksummed. Keys are at most 65535
 * bytes; body_len at most UINT32_MAX - header. */
void sl_jnl_entry_encode(uint8_t *out, uint64_t lsn, const char *stream_key, size_t stream_key_len,
                         const char *shard_key, size_t shard_key_len, uint64_t first_seq,
                         uint32_t nframes, const uint8_t *body, size_t body_len);
/* Size of one share of a ROUND entry. */
static inline size_t sl_jnl_share_size(size_t stream_key_len, size_t shard_key_len,
                                       size_t frames_len) {
    return SL_JNL_SHARE_HEADER_BYTES + stream_key_len + shard_key_len + frames_len;
}
/* Size of a ROUND entry whose shares take body_len bytes. */
static inline size_t sl_jnl_round_size(size_t body_len) {
    size_t n = SL_JNL_ENTRY_HEADER_BYTES + body_len;
    return (n + SL_JNL_ALIGN - 1) & ~(size_t)(SL_JNL_ALIGN - 1);
}
/* Writes one share (sl_jnl_share_size bytes) at out; returns its size. */
size_t sl_jnl_share_encode(uint8_t *out, const char *stream_key, size_t stream_key_len,
                           const char *shard_key, size_t shard_key_len, uint64_t first_seq,
                           uint32_t nframes, const uint8_t *frames, size_t frames_len);
/* Writes a share's header and keys (sl_jnl_share_size(..., 0) bytes, returned) at out, for
 * frames_len bytes of frames that follow it in the entry: a share written from where its frames
 * are (sl_jnl_share_encode copies them). */
size_t sl_jnl_share_header_encode(uint8_t *out, const char *stream_key, size_t stream_key_len,
                                  const char *shard_key, size_t shard_key_len, uint64_t first_seq,
                                  uint32_t nframes, size_t frames_len);
/* Writes a ROUND entry's header without its checksum (the entry's bytes may lie in many buffers):
 * the checksum, sl_crc32c over the entry's bytes from offset 8 to its end (padding included), goes
 * at offset 4 as a little-endian u32. */
void sl_jnl_round_header_encode(uint8_t out[SL_JNL_ENTRY_HEADER_BYTES], uint64_t lsn,
                                uint32_t nshares, uint32_t nframes, size_t body_len);
/* Completes a ROUND entry whose body_len bytes of shares are at out + SL_JNL_ENTRY_HEADER_BYTES:
 * writes the header and the zero padding, then the checksum (sl_jnl_round_size bytes in all). */
void sl_jnl_round_finish(uint8_t *out, uint64_t lsn, uint32_t nshares, uint32_t nframes,
                         size_t body_len);
/* One decoded share of a ROUND entry (pointers into the entry). */
typedef struct {
    uint64_t first_seq;
    uint32_t nframes, frames_len;
    uint16_t stream_key_len, shard_key_len;
    const char *stream_key, *shard_key;
    const uint8_t *frames;
    size_t size; /* the share's bytes, header included */
} sl_jnl_share_t;
/* Decodes the share at in (avail bytes readable): lengths consistent and within avail, keys not
 * empty, at least one frame header's worth of bytes per frame. 0 or SL_ECORRUPT. */
int sl_jnl_share_decode(const uint8_t *in, size_t avail, sl_jnl_share_t *out);

/* Writes a PAD entry header of total length len (>= SL_JNL_ENTRY_HEADER_BYTES, aligned); only its
 * header is written and checksummed. */
void sl_jnl_pad_encode(uint8_t out[SL_JNL_ENTRY_HEADER_BYTES], uint64_t lsn, uint32_t len);

/* Decodes the header at in (SL_JNL_ENTRY_HEADER_BYTES readable) and checks it is the entry at
 * expect_lsn: kind, lsn, lengths consistent, at most max_len long. Returns 0 or SL_ECORRUPT. A
 * PAD's checksum is checked here; a RECORDS or ROUND entry's with sl_jnl_entry_check once it is
 * read. */
int sl_jnl_entry_decode(const uint8_t *in, uint64_t expect_lsn, uint64_t max_len,
                        sl_jnl_entry_t *out);
/* Checks the checksum of a whole RECORDS or ROUND entry (e->len bytes at in). 0 or SL_ECORRUPT. */
int sl_jnl_entry_check(const uint8_t *in, const sl_jnl_entry_t *e);
/* Pointers into a checked RECORDS entry. */
static inline const char *sl_jnl_stream_key(const uint8_t *in) {
    return (const char *)in + SL_JNL_ENTRY_HEADER_BYTES;
}
static inline const char *sl_jnl_shard_key(const uint8_t *in, const sl_jnl_entry_t *e) {
    return (const char *)in + SL_JNL_ENTRY_HEADER_BYTES + e->stream_key_len;
}
static inline const uint8_t *sl_jnl_body(const uint8_t *in, const sl_jnl_entry_t *e) {
    return in + SL_JNL_ENTRY_HEADER_BYTES + e->stream_key_len + e->shard_key_len;
}

#endif
