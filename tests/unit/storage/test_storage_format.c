/* Unit tests of the on-disk format: frames, headers, index entries, file names. */
#include "storage/format.h"
#include "storage/journal.h"

#include "core/bin.h"
#include "core/common.h"
#include "core/crc32c.h"
#include "test.h"

#include <stdlib.h>

static void test_frame_roundtrip(void) {
    uint8_t buf[256];
    const char *pk = "partition-1", *ehk = "12345678901234567890";
    uint8_t data[100];
    for (int i = 0; i < 100; i++)
        data[i] = (uint8_t)(i * 7);
    sl_record_t r = {.arrival_ms = 1700000000123,
                     .key = pk,
                     .key_len = strlen(pk),
                     .attributes = ehk,
                     .attributes_len = strlen(ehk),
                     .data = data,
                     .data_len = 100};
    size_t len = sl_frame_size(r.key_len, r.attributes_len, r.data_len);
    CHECK_EQ_INT(len, 32 + 11 + 20 + 100);
    sl_frame_prepare(buf, &r);
    sl_frame_t f;
    /* A prepared but unfinished frame does not pass the checksum. */
    CHECK_EQ_INT(sl_frame_decode(buf, len, &f), SL_FRAME_BAD_CRC);
    sl_frame_finish(buf, 42, 1700000000456);
    CHECK_EQ_INT(sl_frame_decode(buf, len, &f), SL_FRAME_OK);
    CHECK_EQ_INT(f.frame_len, len);
    CHECK_EQ_INT(f.seq, 42);
    CHECK_EQ_INT(f.arrival_ms, 1700000000456);
    CHECK_EQ_INT(f.key_len, 11);
    CHECK(memcmp(f.key, pk, 11) == 0);
    CHECK_EQ_INT(f.attr_len, 20);
    CHECK(memcmp(f.attr, ehk, 20) == 0);
    CHECK_EQ_INT(f.data_len, 100);
    CHECK(memcmp(f.data, data, 100) == 0);
    /* The checksum is the documented one: CRC32C of the payload, continued over header bytes 8..31.
     */
    uint32_t crc = sl_crc32c(sl_crc32c(0, buf + 32, len - 32), buf + 8, 24);
    CHECK_EQ_INT(crc, sl_le32_get(buf + 4));

    /* Every torn length is reported as torn, never as valid. */
    for (size_t cut = 0; cut < len; cut++) {
        sl_frame_status_t st = sl_frame_decode(buf, cut, &f);
        CHECK(st == (cut < 32 ? SL_FRAME_TORN_HEADER : SL_FRAME_TORN_BODY));
    }
    /* Any single flipped bit after the length field is detected. */
    int undetected = 0;
    for (size_t i = 4; i < len; i++) {
        for (int bit = 0; bit < 8; bit++) {
            buf[i] ^= (uint8_t)(1u << bit);
            if (sl_frame_decode(buf, len, &f) == SL_FRAME_OK) undetected++;
            buf[i] ^= (uint8_t)(1u << bit);
        }
    }
    CHECK_EQ_INT(undetected, 0);
    /* A corrupted length field is an invalid header or a torn frame, never OK. */
    buf[0] ^= 1;
    CHECK(sl_frame_decode(buf, len, &f) != SL_FRAME_OK);
    buf[0] ^= 1;
    /* Zeros are an invalid header. */
    uint8_t zeros[64] = {0};
    CHECK_EQ_INT(sl_frame_decode(zeros, sizeof zeros, &f), SL_FRAME_BAD_HEADER);
}

static void test_frame_empty_fields(void) {
    uint8_t buf[64];
    sl_record_t r = {.arrival_ms = 5};
    sl_frame_prepare(buf, &r);
    sl_frame_finish(buf, 1, 5);
    sl_frame_t f;
    CHECK_EQ_INT(sl_frame_decode(buf, 32, &f), SL_FRAME_OK);
    CHECK_EQ_INT(f.frame_len, 32);
    CHECK_EQ_INT(f.data_len, 0);
    CHECK_EQ_INT(f.attr_len, 0);
}

static void test_headers(void) {
    uint8_t h[32];
    uint64_t base = 0;
    uint32_t interval = 0;
    sl_seg_header_encode(h, 123456789);
    CHECK_EQ_INT(sl_seg_header_decode(h, &base), 0);
    CHECK_EQ_INT(base, 123456789);
    CHECK(memcmp(h, "SLUICESG", 8) == 0);
    h[17] ^= 0x10;
    CHECK_EQ_INT(sl_seg_header_decode(h, &base), SL_ECORRUPT);
    sl_idx_header_encode(h, 77, 4096);
    CHECK_EQ_INT(sl_idx_header_decode(h, &base, &interval), 0);
    CHECK_EQ_INT(base, 77);
    CHECK_EQ_INT(interval, 4096);
    /* A segment header is not an index header. */
    sl_seg_header_encode(h, 77);
    CHECK_EQ_INT(sl_idx_header_decode(h, &base, &interval), SL_ECORRUPT);
    /* A future version is rejected even with a valid checksum. */
    sl_idx_header_encode(h, 77, 4096);
    sl_le32_put(h + 8, 2);
    sl_le32_put(h + 28, sl_crc32c(0, h, 28));
    CHECK_EQ_INT(sl_idx_header_decode(h, &base, &interval), SL_ECORRUPT);

    uint8_t e[32];
    sl_idx_entry_t in = {.seq = 9, .offset = 4128, .arrival_ms = -5, .kind = SL_IDX_SEAL}, out;
    sl_idx_entry_encode(e, &in);
    CHECK_EQ_INT(sl_idx_entry_decode(e, &out), 0);
    CHECK_EQ_INT(out.seq, 9);
    CHECK_EQ_INT(out.offset, 4128);
    CHECK_EQ_INT(out.arrival_ms, -5);
    CHECK_EQ_INT(out.kind, SL_IDX_SEAL);
    e[3] ^= 1;
    CHECK_EQ_INT(sl_idx_entry_decode(e, &out), SL_ECORRUPT);
}

static void test_names(void) {
    char name[SL_SEG_NAME_BYTES];
    sl_seg_name(name, 1, "log");
    CHECK_EQ_STR(name, "00000000000000000001.log");
    sl_seg_name(name, UINT64_MAX, "idx");
    CHECK_EQ_STR(name, "18446744073709551615.idx");
    uint64_t v = 0;
    CHECK(sl_seg_name_parse("00000000000000000001.log", "log", &v) && v == 1);
    CHECK(sl_seg_name_parse("18446744073709551615.idx", "idx", &v) && v == UINT64_MAX);
    CHECK(!sl_seg_name_parse("18446744073709551616.log", "log", &v)); /* overflow */
    CHECK(!sl_seg_name_parse("0000000000000000001.log", "log", &v));
    CHECK(!sl_seg_name_parse("00000000000000000001.idx", "log", &v));
    CHECK(!sl_seg_name_parse("0000000000000000000a.log", "log", &v));
    CHECK(!sl_seg_name_parse("00000000000000000001.log.tmp", "log", &v));
}

/* Commit journal: header, checkpoint slots, entries; every damaged or misplaced entry is refused.
 */
static void test_journal_format(void) {
    uint8_t h[SL_JNL_FILE_HEADER_BYTES];
    uint64_t cap = 0;
    sl_jnl_file_header_encode(h, 1u << 20);
    CHECK_EQ_INT(sl_jnl_file_header_decode(h, &cap), 0);
    CHECK_EQ_INT(cap, 1u << 20);
    h[17] ^= 1;
    CHECK_EQ_INT(sl_jnl_file_header_decode(h, &cap), SL_ECORRUPT);

    uint8_t slot[SL_JNL_SLOT_BYTES];
    uint64_t gen = 0, lsn = 0;
    sl_jnl_slot_encode(slot, 7, 123456);
    CHECK_EQ_INT(sl_jnl_slot_decode(slot, &gen, &lsn), 0);
    CHECK_EQ_INT(gen, 7);
    CHECK_EQ_INT(lsn, 123456);
    slot[16] ^= 0x80;
    CHECK_EQ_INT(sl_jnl_slot_decode(slot, &gen, &lsn), SL_ECORRUPT);
    memset(slot, 0, sizeof slot);
    CHECK_EQ_INT(sl_jnl_slot_decode(slot, &gen, &lsn), SL_ECORRUPT);

    /* A RECORDS entry holding two frames. */
    uint8_t body[2 * 64];
    size_t blen = 0;
    for (int i = 0; i < 2; i++) {
        uint8_t d[10];
        memset(d, 'a' + i, sizeof d);
        sl_record_t r = {
            .arrival_ms = 5, .key = "k", .key_len = 1, .data = d, .data_len = sizeof d};
        sl_frame_prepare(body + blen, &r);
        sl_frame_finish(body + blen, 40 + (uint64_t)i, 5);
        blen += sl_frame_size(1, 0, sizeof d);
    }
    size_t len = sl_jnl_entry_size(3, 2, blen);
    CHECK_EQ_INT(len % SL_JNL_ALIGN, 0);
    uint8_t *e = malloc(len);
    sl_jnl_entry_encode(e, 4096, "str", 3, "sh", 2, 40, 2, body, blen);
    sl_jnl_entry_t je;
    CHECK_EQ_INT(sl_jnl_entry_decode(e, 4096, len, &je), 0);
    CHECK_EQ_INT(sl_jnl_entry_check(e, &je), 0);
    CHECK_EQ_INT(je.kind, SL_JNL_RECORDS);
    CHECK_EQ_INT(je.len, len);
    CHECK_EQ_INT(je.nframes, 2);
    CHECK_EQ_INT(je.first_seq, 40);
    CHECK_EQ_INT(je.body_len, blen);
    CHECK(memcmp(sl_jnl_stream_key(e), "str", 3) == 0);
    CHECK(memcmp(sl_jnl_shard_key(e, &je), "sh", 2) == 0);
    CHECK(memcmp(sl_jnl_body(e, &je), body, blen) == 0);
    /* a stale entry of an earlier lap, an entry too long for the rest of the lap, a damaged byte */
    CHECK_EQ_INT(sl_jnl_entry_decode(e, 4096 + 65536, len, &je), SL_ECORRUPT);
    CHECK_EQ_INT(sl_jnl_entry_decode(e, 4096, len - 8, &je), SL_ECORRUPT);
    CHECK_EQ_INT(sl_jnl_entry_decode(e, 4096, len, &je), 0);
    e[len - 9] ^= 1;
    CHECK_EQ_INT(sl_jnl_entry_check(e, &je), SL_ECORRUPT);
    free(e);

    uint8_t pad[SL_JNL_ENTRY_HEADER_BYTES];
    sl_jnl_pad_encode(pad, 800, 200);
    CHECK_EQ_INT(sl_jnl_entry_decode(pad, 800, 200, &je), 0);
    CHECK_EQ_INT(je.kind, SL_JNL_PAD);
    CHECK_EQ_INT(je.len, 200);
    pad[20] = 1;
    CHECK_EQ_INT(sl_jnl_entry_decode(pad, 800, 200, &je), SL_ECORRUPT);
    memset(pad, 0, sizeof pad);
    CHECK_EQ_INT(sl_jnl_entry_decode(pad, 0, 200, &je), SL_ECORRUPT);
}

/* A ROUND entry written in pieces (its header, each share's header, the frames where they are,
 * the padding, with the checksum chained over them) has the same bytes as one encoded in one
 * buffer, and decodes. */
static void test_journal_round_pieces(void) {
    uint8_t f1[37], f2[64];
    for (size_t i = 0; i < sizeof f1; i++)
        f1[i] = (uint8_t)(i * 3 + 1);
    for (size_t i = 0; i < sizeof f2; i++)
        f2[i] = (uint8_t)(i * 5 + 2);
    size_t body = sl_jnl_share_size(3, 2, sizeof f1) + sl_jnl_share_size(3, 4, sizeof f2);
    size_t len = sl_jnl_round_size(body);
    CHECK(len > SL_JNL_ENTRY_HEADER_BYTES + body); /* padded */
    uint8_t *whole = calloc(1, len), *pieces = calloc(1, len);
    size_t at = SL_JNL_ENTRY_HEADER_BYTES;
    at += sl_jnl_share_encode(whole + at, "str", 3, "s1", 2, 7, 1, f1, sizeof f1);
    at += sl_jnl_share_encode(whole + at, "str", 3, "sh22", 4, 90, 2, f2, sizeof f2);
    CHECK_EQ_INT(at, SL_JNL_ENTRY_HEADER_BYTES + body);
    sl_jnl_round_finish(whole, 8192, 2, 3, body);

    uint8_t hdr[SL_JNL_ENTRY_HEADER_BYTES], h1[64], h2[64];
    static const uint8_t zeros[SL_JNL_ALIGN];
    sl_jnl_round_header_encode(hdr, 8192, 2, 3, body);
    size_t l1 = sl_jnl_share_header_encode(h1, "str", 3, "s1", 2, 7, 1, sizeof f1);
    size_t l2 = sl_jnl_share_header_encode(h2, "str", 3, "sh22", 4, 90, 2, sizeof f2);
    CHECK_EQ_INT(l1, sl_jnl_share_size(3, 2, 0));
    CHECK_EQ_INT(l2, sl_jnl_share_size(3, 4, 0));
    size_t padlen = len - SL_JNL_ENTRY_HEADER_BYTES - body;
    uint32_t crc = sl_crc32c(0, hdr + 8, sizeof hdr - 8);
    crc = sl_crc32c(crc, h1, l1);
    crc = sl_crc32c(crc, f1, sizeof f1);
    crc = sl_crc32c(crc, h2, l2);
    crc = sl_crc32c(crc, f2, sizeof f2);
    crc = sl_crc32c(crc, zeros, padlen);
    sl_le32_put(hdr + 4, crc);
    at = 0;
    memcpy(pieces + at, hdr, sizeof hdr), at += sizeof hdr;
    memcpy(pieces + at, h1, l1), at += l1;
    memcpy(pieces + at, f1, sizeof f1), at += sizeof f1;
    memcpy(pieces + at, h2, l2), at += l2;
    memcpy(pieces + at, f2, sizeof f2), at += sizeof f2;
    CHECK(memcmp(pieces, whole, len) == 0);

    sl_jnl_entry_t je;
    CHECK_EQ_INT(sl_jnl_entry_decode(pieces, 8192, len, &je), 0);
    CHECK_EQ_INT(sl_jnl_entry_check(pieces, &je), 0);
    CHECK_EQ_INT(je.kind, SL_JNL_ROUND);
    sl_jnl_share_t sh;
    CHECK_EQ_INT(sl_jnl_share_decode(pieces + SL_JNL_ENTRY_HEADER_BYTES, body, &sh), 0);
    CHECK_EQ_INT(sh.first_seq, 7);
    CHECK(sh.frames_len == sizeof f1 && memcmp(sh.frames, f1, sizeof f1) == 0);
    free(whole);
    free(pieces);
}

int main(void) {
    test_frame_roundtrip();
    test_frame_empty_fields();
    test_headers();
    test_names();
    test_journal_format();
    test_journal_round_pieces();
    TEST_MAIN_END();
}
