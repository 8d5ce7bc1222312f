/* The KPL aggregate codec: the fixed vector of the format (built by aws-kinesis-agg), encode ->
 * decode round trips, and the KCL's pass-through rule for anything that does not check out. */
#include "core/buf.h"
#include "core/common.h"
#include "test.h"
#include "wire/kpl.h"

#include <openssl/evp.h>
#include <stdlib.h>

/* records pk1:"hello", pk2 (explicit hash key "123"):"world", pk1:"!" */
static const uint8_t vector[] = {0xf3, 0x89, 0x9a, 0xc2, 0x0a, 0x03, 0x70, 0x6b, 0x31, 0x0a, 0x03,
                                 0x70, 0x6b, 0x32, 0x12, 0x03, 0x31, 0x32, 0x33, 0x1a, 0x09, 0x08,
                                 0x00, 0x1a, 0x05, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x1a, 0x0b, 0x08,
                                 0x01, 0x10, 0x00, 0x1a, 0x05, 0x77, 0x6f, 0x72, 0x6c, 0x64, 0x1a,
                                 0x05, 0x08, 0x00, 0x1a, 0x01, 0x21, 0xad, 0xb0, 0xe9, 0x72, 0x2c,
                                 0x84, 0x52, 0x4d, 0x92, 0x5a, 0xbf, 0xbb, 0x4a, 0xee, 0x29, 0xc8};

typedef struct {
    char text[8][32];
    int n;
} seen_t;

static int collect(const sl_kpl_record_t *r, uint64_t index, void *arg) {
    seen_t *s = arg;
    CHECK_EQ_INT(index, s->n);
    snprintf(s->text[s->n++], 32, "%.*s|%.*s|%.*s", (int)r->pk_len, r->pk,
             r->ehk ? (int)r->ehk_len : 1, r->ehk ? r->ehk : "-", (int)r->data_len,
             (const char *)r->data);
    return 0;
}

static void test_vector_encode(void) {
    sl_kpl_builder_t *b;
    CHECK_EQ_INT(sl_kpl_builder_create(&b), 0);
    sl_kpl_record_t rs[3] = {
        {.pk = "pk1", .pk_len = 3, .data = (const uint8_t *)"hello", .data_len = 5},
        {.pk = "pk2",
         .pk_len = 3,
         .ehk = "123",
         .ehk_len = 3,
         .data = (const uint8_t *)"world",
         .data_len = 5},
        {.pk = "pk1", .pk_len = 3, .data = (const uint8_t *)"!", .data_len = 1},
    };
    for (int i = 0; i < 3; i++) {
        size_t predicted = sl_kpl_builder_size_with(b, &rs[i]);
        CHECK_EQ_INT(sl_kpl_builder_add(b, &rs[i]), 0);
        CHECK_EQ_INT(sl_kpl_builder_size(b), predicted);
    }
    CHECK_EQ_INT(sl_kpl_builder_count(b), 3);
    sl_buf_t out = SL_BUF_INIT;
    CHECK_EQ_INT(sl_kpl_builder_finish(b, &out), 0);
    CHECK_EQ_INT(out.len, sizeof vector);
    CHECK(out.len == sizeof vector && memcmp(out.data, vector, sizeof vector) == 0);
    CHECK_EQ_INT(sl_kpl_builder_count(b), 0);
    sl_buf_free(&out);
    sl_kpl_builder_destroy(b);
}

static void test_vector_decode(void) {
    seen_t s = {0};
    const char *reason = NULL;
    CHECK_EQ_INT(sl_kpl_decode(vector, sizeof vector, collect, &s, &reason), 0);
    CHECK_EQ_INT(s.n, 3);
    CHECK_EQ_STR(s.text[0], "pk1|-|hello");
    CHECK_EQ_STR(s.text[1], "pk2|123|world");
    CHECK_EQ_STR(s.text[2], "pk1|-|!");
    CHECK(sl_kpl_looks_aggregated(vector, sizeof vector));
}

/* Anything that fails a check is not an aggregate, and no record is delivered. */
static void test_pass_through(void) {
    uint8_t bad[sizeof vector];
    const char *reason = NULL;
    seen_t s = {0};
    memcpy(bad, vector, sizeof bad);
    bad[sizeof bad - 1] ^= 1; /* digest */
    CHECK_EQ_INT(sl_kpl_decode(bad, sizeof bad, collect, &s, &reason), SL_EINVAL);
    CHECK_EQ_STR(reason, "MD5 checksum mismatch");
    memcpy(bad, vector, sizeof bad);
    bad[0] = 0;
    CHECK_EQ_INT(sl_kpl_decode(bad, sizeof bad, collect, &s, &reason), SL_EINVAL);
    CHECK_EQ_INT(sl_kpl_decode(vector, 20, collect, &s, &reason), SL_EINVAL);
    CHECK_EQ_INT(sl_kpl_decode((const uint8_t *)"hi", 2, collect, &s, &reason), SL_EINVAL);
    CHECK_EQ_INT(s.n, 0);

    /* Well-formed digests over bad protobuf: a record without data (field 3), an index past its
     * table, a truncated length. Each is refused as a whole. */
    static const uint8_t protos[][8] = {
        {0x0a, 0x01, 'k', 0x1a, 0x02, 0x08, 0x00},
        {0x0a, 0x01, 'k', 0x1a, 0x05, 0x08, 0x01, 0x1a},
        {0x0a, 0x09, 'k', 0x1a, 0x02, 0x08, 0x00},
    };
    static const size_t lens[] = {7, 8, 7};
    for (size_t i = 0; i < SL_ARRAY_LEN(protos); i++) {
        uint8_t rec[64];
        memcpy(rec, sl_kpl_magic, 4);
        memcpy(rec + 4, protos[i], lens[i]);
        unsigned int dl = 0;
        EVP_Digest(protos[i], lens[i], rec + 4 + lens[i], &dl, EVP_md5(), NULL);
        CHECK_EQ_INT(sl_kpl_decode(rec, 4 + lens[i] + 16, collect, &s, &reason), SL_EINVAL);
    }
    CHECK_EQ_INT(s.n, 0);
}

static int stop_after_five(const sl_kpl_record_t *r, uint64_t index, void *arg) {
    seen_t *s = arg;
    s->n++;
    return index == 4 ? 7 : 0;
}

static int check_many(const sl_kpl_record_t *r, uint64_t index, void *arg) {
    char key[8];
    snprintf(key, sizeof key, "k%d", (int)(index % 37));
    CHECK(r->pk_len == strlen(key) && memcmp(r->pk, key, r->pk_len) == 0);
    CHECK_EQ_INT(r->data_len, 1 + index % 100);
    CHECK_EQ_INT(r->data[0], 'a' + index % 26);
    CHECK(r->ehk == NULL);
    (*(int *)arg)++;
    return 0;
}

static void test_round_trip_many(void) {
    sl_kpl_builder_t *b;
    sl_kpl_builder_create(&b);
    char keys[1000][8];
    uint8_t data[1000][100];
    for (int i = 0; i < 1000; i++) {
        snprintf(keys[i], sizeof keys[i], "k%d", i % 37);
        memset(data[i], 'a' + i % 26, sizeof data[i]);
        sl_kpl_record_t r = {.pk = keys[i],
                             .pk_len = strlen(keys[i]),
                             .data = data[i],
                             .data_len = 1 + (size_t)i % 100};
        size_t predicted = sl_kpl_builder_size_with(b, &r);
        sl_kpl_builder_add(b, &r);
        CHECK_EQ_INT(sl_kpl_builder_size(b), predicted);
    }
    sl_buf_t out = SL_BUF_INIT;
    CHECK_EQ_INT(sl_kpl_builder_finish(b, &out), 0);
    int n = 0;
    const char *reason;
    CHECK_EQ_INT(sl_kpl_decode((const uint8_t *)out.data, out.len, check_many, &n, &reason), 0);
    CHECK_EQ_INT(n, 1000);
    seen_t s = {0};
    /* Stop after 5 records: the callback's result is returned. */
    CHECK_EQ_INT(sl_kpl_decode((const uint8_t *)out.data, out.len, stop_after_five, &s, &reason),
                 7);
    CHECK_EQ_INT(s.n, 5);
    sl_kpl_builder_destroy(b);
    sl_buf_free(&out);
}

int main(void) {
    test_vector_encode();
    test_vector_decode();
    test_pass_through();
    test_round_trip_many();
    TEST_MAIN_END();
}
