/* Unit tests of the event-stream framing: the spec's initial-response vector byte for byte,
 * decoding of every header type, partial input (SL_EAGAIN), and each corruption the decoder must
 * reject (CRCs, lengths, unknown types, duplicates, truncated headers). */
#include "test.h"

#include "core/arena.h"
#include "core/buf.h"
#include "core/common.h"
#include "wire/eventstream.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static sl_arena_t arena;

static size_t unhex(const char *hex, uint8_t *out) {
    size_t n = 0;
    for (const char *p = hex; *p;) {
        if (*p == ' ') {
            p++;
            continue;
        }
        unsigned v;
        sscanf(p, "%2x", &v);
        out[n++] = (uint8_t)v;
        p += 2;
    }
    return n;
}

static void put32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8),
    p[3] = (uint8_t)v;
}

/* Frames a raw header block and payload with correct lengths and CRCs. */
static size_t frame(uint8_t *out, const uint8_t *headers, size_t hlen, const char *payload,
                    size_t plen) {
    size_t total = 16 + hlen + plen;
    put32(out, (uint32_t)total);
    put32(out + 4, (uint32_t)hlen);
    put32(out + 8, (uint32_t)crc32(0, out, 8));
    memcpy(out + 12, headers, hlen);
    memcpy(out + 12 + hlen, payload, plen);
    put32(out + total - 4, (uint32_t)crc32(0, out, (uInt)(total - 4)));
    return total;
}

static void test_spec_vector(void) {
    static const char *hex =
        "00000068 00000056 4e681724 0d3a6d6573736167652d74797065 07 0005 6576656e74 "
        "0b3a6576656e742d74797065 07 0010 696e697469616c2d726573706f6e7365 "
        "0d3a636f6e74656e742d74797065 "
        "07 0010 6170706c69636174696f6e2f6a736f6e 7b7d fe942c1d";
    uint8_t want[128];
    size_t want_len = unhex(hex, want);
    CHECK_EQ_INT(want_len, 104);
    sl_es_header_t h[] = {{":message-type", "event"},
                          {":event-type", "initial-response"},
                          {":content-type", "application/json"}};
    sl_buf_t b = SL_BUF_INIT;
    sl_buf_append(&b, "xy", 2); /* appends after existing content */
    CHECK_EQ_INT(sl_es_encode(&b, h, 3, "{}", 2), 0);
    CHECK_EQ_INT(b.len, 106);
    CHECK(b.len == 106 && memcmp(b.data + 2, want, 104) == 0);

    sl_es_message_t m;
    const char *r = NULL;
    CHECK_EQ_INT(sl_es_decode(want, want_len, &arena, &m, &r), 0);
    CHECK_EQ_INT(m.total_len, 104);
    CHECK_EQ_INT(m.header_count, 3);
    CHECK(m.payload_len == 2 && memcmp(m.payload, "{}", 2) == 0);
    if (m.header_count == 3) {
        CHECK_EQ_STR(m.headers[0].name, ":message-type");
        CHECK_EQ_INT(m.headers[0].type, 7);
        CHECK_EQ_STR(m.headers[0].str, "event");
        CHECK_EQ_STR(m.headers[1].str, "initial-response");
        CHECK_EQ_STR(m.headers[2].name, ":content-type");
        CHECK_EQ_INT(m.headers[2].str_len, 16);
    }
    /* Every strict prefix asks for more bytes. */
    for (size_t cut = 0; cut < want_len; cut++)
        CHECK_EQ_INT(sl_es_decode(want, cut, &arena, &m, &r), SL_EAGAIN);
    /* Two messages back to back: the first is consumed exactly. */
    uint8_t two[208];
    memcpy(two, want, 104);
    memcpy(two + 104, want, 104);
    CHECK_EQ_INT(sl_es_decode(two, sizeof two, &arena, &m, &r), 0);
    CHECK_EQ_INT(m.total_len, 104);
    sl_buf_free(&b);
}

static void test_all_header_types(void) {
    uint8_t h[256], msg[512];
    size_t n = 0;
#define NAME(s) (h[n++] = (uint8_t)strlen(s), memcpy(h + n, s, strlen(s)), n += strlen(s))
    NAME("t");
    h[n++] = 0;
    NAME("f");
    h[n++] = 1;
    NAME("b");
    h[n++] = 2;
    h[n++] = 0xfe;
    NAME("s");
    h[n++] = 3;
    h[n++] = 0x80;
    h[n++] = 0x00;
    NAME("i");
    h[n++] = 4;
    put32(h + n, 0xfffffffe);
    n += 4;
    NAME("l");
    h[n++] = 5;
    put32(h + n, 0x00000001);
    put32(h + n + 4, 0x00000002);
    n += 8;
    NAME("y");
    h[n++] = 6;
    h[n++] = 0;
    h[n++] = 3;
    memcpy(h + n, "\x00\x01\x02", 3);
    n += 3;
    NAME("str");
    h[n++] = 7;
    h[n++] = 0;
    h[n++] = 0;
    NAME("ts");
    h[n++] = 8;
    put32(h + n, 0);
    put32(h + n + 4, 1500);
    n += 8;
    NAME("u");
    h[n++] = 9;
    for (int i = 0; i < 16; i++)
        h[n++] = (uint8_t)i;
#undef NAME
    size_t len = frame(msg, h, n, "payload", 7);
    sl_es_message_t m;
    const char *r = NULL;
    CHECK_EQ_INT(sl_es_decode(msg, len, &arena, &m, &r), 0);
    CHECK_EQ_INT(m.header_count, 10);
    if (m.header_count != 10) return;
    CHECK(m.headers[0].type == 0 && m.headers[0].num == 1);
    CHECK(m.headers[1].type == 1 && m.headers[1].num == 0);
    CHECK(m.headers[2].num == -2);
    CHECK(m.headers[3].num == -32768);
    CHECK(m.headers[4].num == -2);
    CHECK(m.headers[5].num == 0x100000002LL);
    CHECK(m.headers[6].type == 6 && m.headers[6].str_len == 3 && m.headers[6].str[2] == 2);
    CHECK(m.headers[7].type == 7 && m.headers[7].str_len == 0 && m.headers[7].str[0] == 0);
    CHECK(m.headers[8].type == 8 && m.headers[8].num == 1500);
    CHECK(m.headers[9].type == 9 && m.headers[9].uuid[15] == 15);
    CHECK(m.payload_len == 7 && memcmp(m.payload, "payload", 7) == 0);
}

static void test_rejections(void) {
    uint8_t msg[256];
    sl_es_message_t m;
    const char *r = NULL;
    static const uint8_t hdr[] = {1, 'a', 7, 0, 1, 'x'};
    size_t len = frame(msg, hdr, sizeof hdr, "p", 1);
    CHECK_EQ_INT(sl_es_decode(msg, len, &arena, &m, &r), 0);

    uint8_t bad[256];
    memcpy(bad, msg, len);
    bad[8] ^= 1; /* prelude CRC */
    CHECK_EQ_INT(sl_es_decode(bad, len, &arena, &m, &r), SL_EINVAL);
    CHECK_EQ_STR(r, "prelude CRC mismatch");
    /* A corrupt prelude is rejected even before the rest arrives. */
    CHECK_EQ_INT(sl_es_decode(bad, 12, &arena, &m, &r), SL_EINVAL);
    memcpy(bad, msg, len);
    bad[len - 1] ^= 1; /* message CRC */
    CHECK_EQ_INT(sl_es_decode(bad, len, &arena, &m, &r), SL_EINVAL);
    CHECK_EQ_STR(r, "message CRC mismatch");
    memcpy(bad, msg, len);
    bad[13] ^= 0x20; /* payload/header byte: caught by the message CRC */
    CHECK_EQ_INT(sl_es_decode(bad, len, &arena, &m, &r), SL_EINVAL);

    /* Lengths: total below 16, headers beyond the message. */
    uint8_t p[16] = {0};
    put32(p, 15);
    put32(p + 8, (uint32_t)crc32(0, p, 8));
    CHECK_EQ_INT(sl_es_decode(p, sizeof p, &arena, &m, &r), SL_EINVAL);
    CHECK_EQ_STR(r, "invalid message length");
    put32(p, 16);
    put32(p + 4, 1);
    put32(p + 8, (uint32_t)crc32(0, p, 8));
    CHECK_EQ_INT(sl_es_decode(p, sizeof p, &arena, &m, &r), SL_EINVAL);
    /* Payload above botocore's 24 MiB limit is refused without waiting for it. */
    put32(p, 16 + 25u * 1024 * 1024);
    put32(p + 4, 0);
    put32(p + 8, (uint32_t)crc32(0, p, 8));
    CHECK_EQ_INT(sl_es_decode(p, 12, &arena, &m, &r), SL_EINVAL);
    CHECK_EQ_STR(r, "payload too long");
    /* An empty message (no headers, no payload) is valid. */
    len = frame(msg, (const uint8_t *)"", 0, "", 0);
    CHECK_EQ_INT(sl_es_decode(msg, len, &arena, &m, &r), 0);
    CHECK(m.header_count == 0 && m.payload_len == 0 && m.total_len == 16);

    static const uint8_t unknown_type[] = {1, 'a', 10};
    len = frame(msg, unknown_type, sizeof unknown_type, "", 0);
    CHECK_EQ_INT(sl_es_decode(msg, len, &arena, &m, &r), SL_EINVAL);
    CHECK_EQ_STR(r, "unknown header type");
    static const uint8_t dup[] = {1, 'a', 0, 1, 'a', 1};
    len = frame(msg, dup, sizeof dup, "", 0);
    CHECK_EQ_INT(sl_es_decode(msg, len, &arena, &m, &r), SL_EINVAL);
    CHECK_EQ_STR(r, "duplicate header name");
    static const uint8_t short_name[] = {5, 'a', 'b'};
    len = frame(msg, short_name, sizeof short_name, "", 0);
    CHECK_EQ_INT(sl_es_decode(msg, len, &arena, &m, &r), SL_EINVAL);
    CHECK_EQ_STR(r, "truncated header");
    static const uint8_t short_str[] = {1, 'a', 7, 0, 9, 'x'};
    len = frame(msg, short_str, sizeof short_str, "", 0);
    CHECK_EQ_INT(sl_es_decode(msg, len, &arena, &m, &r), SL_EINVAL);
    static const uint8_t short_int[] = {1, 'a', 4, 0, 0};
    len = frame(msg, short_int, sizeof short_int, "", 0);
    CHECK_EQ_INT(sl_es_decode(msg, len, &arena, &m, &r), SL_EINVAL);
    static const uint8_t no_type[] = {1, 'a'};
    len = frame(msg, no_type, sizeof no_type, "", 0);
    CHECK_EQ_INT(sl_es_decode(msg, len, &arena, &m, &r), SL_EINVAL);
}

static void test_encode_limits(void) {
    sl_buf_t b = SL_BUF_INIT;
    char name[300];
    memset(name, 'n', sizeof name);
    name[256] = 0;
    sl_es_header_t h = {name, "v"};
    CHECK_EQ_INT(sl_es_encode(&b, &h, 1, "", 0), SL_EINVAL); /* name of 256 bytes */
    name[255] = 0;
    CHECK_EQ_INT(sl_es_encode(&b, &h, 1, "", 0), 0);
    char *big = malloc(70000);
    memset(big, 'v', 69999);
    big[69999] = 0;
    sl_es_header_t hv = {"n", big};
    CHECK_EQ_INT(sl_es_encode(&b, &hv, 1, "", 0), SL_EINVAL); /* value above 65535 */
    big[65535] = 0;
    size_t before = b.len;
    CHECK_EQ_INT(sl_es_encode(&b, &hv, 1, "", 0), 0);
    sl_es_message_t m;
    const char *r;
    CHECK_EQ_INT(sl_es_decode((const uint8_t *)b.data + before, b.len - before, &arena, &m, &r), 0);
    CHECK(m.header_count == 1 && m.headers[0].str_len == 65535);
    CHECK_EQ_INT(sl_es_encode(&b, NULL, 0, big, (size_t)25 * 1024 * 1024), SL_EINVAL);
    free(big);
    sl_buf_free(&b);
}

int main(void) {
    sl_arena_init(&arena, 4096);
    test_spec_vector();
    test_all_header_types();
    test_rejections();
    test_encode_limits();
    sl_arena_deinit(&arena);
    TEST_MAIN_END();
}
