/* sl_enc_kv_plain (key and value known to need no escaping) must write exactly what
 * sl_enc_kv_str writes, and sl_enc_map_plain2 what a map of two of them writes, in JSON and in
 * CBOR, wherever it appears: first or later member of a map, in maps inside arrays, after nested
 * containers, after other kinds of values, with empty strings, across buffer growth, and on a
 * buffer that already failed. */
#include "test.h"

#include "core/buf.h"
#include "wire/enc.h"

#include <stdlib.h>
#include <string.h>

/* One script of encoder calls; `plain` selects which call writes the string members. */
static void script(sl_buf_t *b, sl_fmt_t fmt, bool plain, int entries) {
    sl_enc_t e;
    sl_enc_init(&e, b, fmt);
#define KV(key, s, n)                                                                              \
    do {                                                                                           \
        if (plain)                                                                                 \
            SL_ENC_KV_PLAIN(&e, key, (s), (n));                                                    \
        else                                                                                       \
            sl_enc_kv_str(&e, key, (s), (n));                                                      \
    } while (0)
    sl_enc_map_begin(&e);
    KV("First", "abc", 3);
    sl_enc_kv_int(&e, "FailedRecordCount", 7);
    sl_enc_key(&e, "Records");
    sl_enc_array_begin(&e);
    char seq[64];
    for (int i = 0; i < entries; i++) {
        int n = snprintf(seq, sizeof seq, "4961%052d", i);
        if (plain && i % 3 != 0) { /* the two-member map in one call */
            SL_ENC_MAP_PLAIN2(&e, "SequenceNumber", seq, (size_t)n, "ShardId",
                              "shardId-000000000003", i % 5 == 0 ? 0 : 20);
            continue;
        }
        sl_enc_map_begin(&e);
        KV("SequenceNumber", seq, (size_t)n);
        KV("ShardId", "shardId-000000000003", i % 5 == 0 ? 0 : 20);
        if (i % 3 == 0) KV("EncryptionType", "KMS", 3);
        sl_enc_map_end(&e);
    }
    /* a two-member map as a member's value and as the first item of an array */
    sl_enc_key(&e, "Pair");
    if (plain)
        SL_ENC_MAP_PLAIN2(&e, "A", "1", 1, "B", "", 0);
    else {
        sl_enc_map_begin(&e);
        sl_enc_kv_str(&e, "A", "1", 1);
        sl_enc_kv_str(&e, "B", "", 0);
        sl_enc_map_end(&e);
    }
    sl_enc_key(&e, "Pairs");
    sl_enc_array_begin(&e);
    for (int i = 0; i < 2; i++) {
        if (plain)
            SL_ENC_MAP_PLAIN2(&e, "A", "1", 1, "B", "2", 1);
        else {
            sl_enc_map_begin(&e);
            sl_enc_kv_str(&e, "A", "1", 1);
            sl_enc_kv_str(&e, "B", "2", 1);
            sl_enc_map_end(&e);
        }
    }
    sl_enc_array_end(&e);
    sl_enc_array_end(&e);
    KV("AfterArray", "", 0);
    sl_enc_key(&e, "Nested");
    sl_enc_map_begin(&e);
    sl_enc_key(&e, "Inner");
    sl_enc_map_begin(&e);
    sl_enc_map_end(&e);
    KV("AfterMap", "x-y_z.0:9/~ ", 12);
    sl_enc_kv_bool(&e, "B", true);
    KV("AfterBool", "v", 1);
    sl_enc_map_end(&e);
    KV("Last", "shardId-000000000000", 20);
    sl_enc_map_end(&e);
#undef KV
}

static void compare(sl_fmt_t fmt, int entries) {
    sl_buf_t a = SL_BUF_INIT, p = SL_BUF_INIT;
    script(&a, fmt, false, entries);
    script(&p, fmt, true, entries);
    CHECK(!sl_buf_failed(&a) && !sl_buf_failed(&p));
    CHECK_EQ_INT(a.len, p.len);
    CHECK(a.len == p.len && memcmp(a.data, p.data, a.len) == 0);
    sl_buf_free(&a);
    sl_buf_free(&p);
}

int main(void) {
    for (int entries = 0; entries < 40; entries++) {
        compare(SL_FMT_JSON, entries);
        compare(SL_FMT_CBOR, entries);
    }
    compare(SL_FMT_JSON, 2000); /* many buffer growths */
    compare(SL_FMT_CBOR, 2000);

    /* The exact JSON text of one PutRecords entry. */
    sl_buf_t b = SL_BUF_INIT;
    sl_enc_t e;
    sl_enc_init(&e, &b, SL_FMT_JSON);
    sl_enc_array_begin(&e);
    sl_enc_map_begin(&e);
    SL_ENC_KV_PLAIN(&e, "SequenceNumber", "1234", 4);
    SL_ENC_KV_PLAIN(&e, "ShardId", "shardId-000000000001", 20);
    sl_enc_map_end(&e);
    sl_enc_map_begin(&e);
    sl_enc_map_end(&e);
    SL_ENC_MAP_PLAIN2(&e, "SequenceNumber", "5678", 4, "ShardId", "shardId-000000000002", 20);
    sl_enc_array_end(&e);
    sl_buf_append_byte(&b, 0);
    CHECK_EQ_STR(b.data, "[{\"SequenceNumber\":\"1234\",\"ShardId\":\"shardId-000000000001\"},{},"
                         "{\"SequenceNumber\":\"5678\",\"ShardId\":\"shardId-000000000002\"}]");
    sl_buf_free(&b);

    /* A failed buffer stays failed and unchanged. */
    sl_buf_t f = SL_BUF_INIT;
    sl_enc_init(&e, &f, SL_FMT_JSON);
    sl_enc_map_begin(&e);
    f.failed = true;
    size_t len = f.len;
    SL_ENC_KV_PLAIN(&e, "K", "v", 1);
    SL_ENC_MAP_PLAIN2(&e, "K", "v", 1, "L", "w", 1);
    sl_enc_map_end(&e);
    CHECK(sl_buf_failed(&f));
    CHECK_EQ_INT(f.len, len);
    sl_buf_free(&f);
    TEST_MAIN_END();
}
