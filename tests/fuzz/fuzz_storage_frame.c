/* Fuzz target for the storage engine's on-disk decoders: record frames (as the recovery scan walks
 * a segment tail), segment headers, index entries and commit-journal headers, slots and entries.
 * Bytes from disk are input: any content must give a status, never a crash or an out-of-bounds
 * read. A decoded frame must re-encode to the same bytes. */
#include "storage/format.h"
#include "storage/journal.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* walk the buffer frame by frame like the recovery scan */
    size_t off = 0;
    while (off < size) {
        sl_frame_t f;
        sl_frame_status_t st = sl_frame_decode(data + off, size - off, &f);
        if (st != SL_FRAME_OK) break;
        if (f.frame_len == 0 || f.frame_len > size - off) abort();
        /* re-encode and compare */
        sl_record_t r = {.arrival_ms = f.arrival_ms,
                         .key = (const char *)f.key,
                         .key_len = f.key_len,
                         .attributes = (const char *)f.attr,
                         .attributes_len = f.attr_len,
                         .data = f.data,
                         .data_len = f.data_len};
        size_t n = sl_frame_size(f.key_len, f.attr_len, f.data_len);
        if (n != f.frame_len) abort();
        uint8_t *copy = malloc(n);
        if (!copy) return 0;
        sl_frame_prepare(copy, &r);
        sl_frame_finish(copy, f.seq, f.arrival_ms);
        if (memcmp(copy, data + off, n) != 0) abort();
        free(copy);
        off += f.frame_len;
    }
    if (size >= SL_JNL_ENTRY_HEADER_BYTES) {
        /* the journal scan: a header, then the whole entry's checksum */
        sl_jnl_entry_t je;
        if (sl_jnl_entry_decode(data, sl_le64_get(data + 8), size, &je) == 0) {
            if (je.len > size) abort();
            if (je.kind == SL_JNL_RECORDS) (void)sl_jnl_entry_check(data, &je);
            if (je.kind == SL_JNL_ROUND) {
                /* the shares of a round, each within the body */
                size_t pos = SL_JNL_ENTRY_HEADER_BYTES, end = pos + je.body_len;
                sl_jnl_share_t sh;
                while (pos < end && sl_jnl_share_decode(data + pos, end - pos, &sh) == 0) {
                    if (sh.size > end - pos || sh.frames + sh.frames_len > data + end) abort();
                    pos += sh.size;
                }
            }
        }
        uint64_t cap, gen, lsn;
        (void)sl_jnl_file_header_decode(data, &cap);
        (void)sl_jnl_slot_decode(data, &gen, &lsn);
    }
    if (size >= SL_SEG_HEADER_BYTES) {
        uint64_t base;
        (void)sl_seg_header_decode(data, &base);
    }
    if (size >= SL_IDX_HEADER_BYTES) {
        uint64_t base;
        uint32_t interval;
        (void)sl_idx_header_decode(data, &base, &interval);
    }
    if (size >= SL_IDX_ENTRY_BYTES) {
        sl_idx_entry_t e;
        (void)sl_idx_entry_decode(data, &e);
    }
    return 0;
}
