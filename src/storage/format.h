/* On-disk format of the segment-file engine, version 1 (docs/storage-format.md): segment headers,
 * record frames and sparse index files. Pure functions over byte buffers, shared by the engine,
 * its recovery scan and the tests. All integers are little-endian. */
#ifndef SL_STORAGE_FORMAT_H
#define SL_STORAGE_FORMAT_H

#include "core/bin.h"
#include "core/limits.h"
#include "core/common.h"
#include "storage/backend.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SL_FORMAT_VERSION 1u
#define SL_SEG_HEADER_BYTES                                                                        \
    32u /* "SLUICESG" u32 version u32 header_bytes u64 base_seq u32 0 u32 crc */
#define SL_FRAME_HEADER_BYTES                                                                      \
    32u /* u32 frame_len u32 crc u64 seq i64 arrival u16 key u16 attributes u32 data */
#define SL_IDX_HEADER_BYTES                                                                        \
    32u /* "SLUICEIX" u32 version u32 entry_bytes u64 base_seq u32 interval u32 crc */
#define SL_IDX_ENTRY_BYTES 32u /* u64 seq u64 offset i64 arrival u32 kind u32 crc */
#define SL_FRAME_KEY_BYTES_MAX 65535u

/* Largest frame the engine writes or accepts when reading: a 10 MiB blob plus both keys. */
#define SL_FRAME_BYTES_MAX                                                                         \
    ((uint64_t)SL_FRAME_HEADER_BYTES + 2u * SL_FRAME_KEY_BYTES_MAX + SL_KINESIS_RECORD_DATA_MAX)

enum { SL_IDX_POINT = 0, SL_IDX_SEAL = 1 };

typedef struct {
    uint64_t seq;
    uint64_t offset;    /* POINT: the frame's offset; SEAL: the segment's length */
    int64_t arrival_ms; /* POINT: the frame's arrival; SEAL: the last record's arrival */
    uint32_t kind;      /* SEAL: seq is the seq after the last record */
} sl_idx_entry_t;

/* A decoded frame; pointers point into the decoded buffer. */
typedef struct {
    uint32_t frame_len;
    uint64_t seq;
    int64_t arrival_ms;
    const uint8_t *key, *attr, *data;
    uint32_t key_len, attr_len, data_len;
} sl_frame_t;

/* Bytes of the frame of a record with these field lengths. */
static inline size_t sl_frame_size(size_t key_len, size_t attr_len, size_t data_len) {
    return SL_FRAME_HEADER_BYTES + key_len + attr_len + data_len;
}

/* Writes the frame of r into dst (sl_frame_size bytes) with seq 0 and r->arrival_ms; the crc field
 * temporarily holds the checksum of the payload alone, so that sl_frame_finish can complete it
 * cheaply once seq and arrival time are known. Key lengths must be <= SL_FRAME_KEY_BYTES_MAX. */
void sl_frame_prepare(uint8_t *dst, const sl_record_t *r);
/* Checks the n records of one append against the frame format's limits (key lengths, data size,
 * no NULL with a length) and sums their framed sizes into *bytes_out. Returns 0, or SL_EINVAL
 * (nothing is summed) when a record cannot be framed. Every backend's append starts with it. */
int sl_frame_batch_bytes(const sl_record_t *records, size_t n, size_t *bytes_out);
/* Sets seq and arrival time of a prepared frame and completes its checksum. */
void sl_frame_finish(uint8_t *frame, uint64_t seq, int64_t arrival_ms);
/* Reads the arrival time stored in a frame header. */
static inline int64_t sl_frame_arrival(const uint8_t *frame) {
    return (int64_t)sl_le64_get(frame + 16);
}
static inline uint32_t sl_frame_len(const uint8_t *frame) {
    return sl_le32_get(frame);
}

typedef enum {
    SL_FRAME_OK = 0,
    SL_FRAME_TORN_HEADER, /* fewer than SL_FRAME_HEADER_BYTES available */
    SL_FRAME_TORN_BODY,   /* the header is sane but the frame extends past the available bytes */
    SL_FRAME_BAD_HEADER,  /* lengths inconsistent (zeros, garbage) */
    SL_FRAME_BAD_CRC,
} sl_frame_status_t;

/* Decodes the frame at p with `avail` bytes readable. Returns SL_FRAME_OK and fills out, or the
 * reason it is not a valid frame (checksum included). Never reads past avail. */
sl_frame_status_t sl_frame_decode(const uint8_t *p, size_t avail, sl_frame_t *out);
/* Like sl_frame_decode without the checksum: only checks the header's lengths, to walk a region. */
sl_frame_status_t sl_frame_peek(const uint8_t *p, size_t avail, sl_frame_t *out);
const char *sl_frame_status_str(sl_frame_status_t s);

void sl_seg_header_encode(uint8_t out[SL_SEG_HEADER_BYTES], uint64_t base_seq);
/* 0 and *base_seq, or SL_ECORRUPT (bad magic, version, size or checksum). */
int sl_seg_header_decode(const uint8_t in[SL_SEG_HEADER_BYTES], uint64_t *base_seq);

void sl_idx_header_encode(uint8_t out[SL_IDX_HEADER_BYTES], uint64_t base_seq,
                          uint32_t interval_bytes);
int sl_idx_header_decode(const uint8_t in[SL_IDX_HEADER_BYTES], uint64_t *base_seq,
                         uint32_t *interval_bytes);
void sl_idx_entry_encode(uint8_t out[SL_IDX_ENTRY_BYTES], const sl_idx_entry_t *e);
int sl_idx_entry_decode(const uint8_t in[SL_IDX_ENTRY_BYTES], sl_idx_entry_t *e);

/* Segment and index file names: 20 zero-padded decimal digits of the base seq + ".log"/".idx". */
#define SL_SEG_NAME_BYTES 25
void sl_seg_name(char out[SL_SEG_NAME_BYTES], uint64_t base_seq, const char *ext);
/* Parses "<20 digits>.log" (or ext); false otherwise. */
bool sl_seg_name_parse(const char *name, const char *ext, uint64_t *base_seq);

#endif
