/* Unit tests of the response encoder: exact compact JSON (commas, escaping, base64 blobs,
 * timestamps without exponents), exact CBOR bytes (indefinite containers, tag 1 + ms, byte
 * strings), round trips JSON -> tree -> JSON and JSON -> tree -> CBOR -> tree, the error body
 * helper, and a cross-check of our CBOR with python3-cbor2 (an independent decoder). */
#include "test.h"

#include "core/arena.h"
#include "core/buf.h"
#include "core/common.h"
#include "core/limits.h"
#include "wire/cbor.h"
#include "wire/enc.h"
#include "wire/json.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static sl_arena_t arena;

/* NUL-terminates the buffer's text for string comparison. */
static const char *text(sl_buf_t *b) {
    sl_buf_append_byte(b, 0);
    b->len--;
    return b->data;
}

static void test_json_basic(void) {
    sl_buf_t b = SL_BUF_INIT;
    sl_enc_t e;
    sl_enc_init(&e, &b, SL_FMT_JSON);
    sl_enc_map_begin(&e);
    sl_enc_kv_int(&e, "FailedRecordCount", 0);
    sl_enc_key(&e, "Records");
    sl_enc_array_begin(&e);
    sl_enc_map_begin(&e);
    sl_enc_kv_cstr(&e, "SequenceNumber", "4960");
    sl_enc_kv_str(&e, "ShardId", "shardId-000000000000xyz", 20);
    sl_enc_map_end(&e);
    sl_enc_map_begin(&e);
    sl_enc_kv_cstr(&e, "ErrorCode", "ProvisionedThroughputExceededException");
    sl_enc_map_end(&e);
    sl_enc_array_end(&e);
    sl_enc_kv_bool(&e, "HasMore", false);
    sl_enc_key(&e, "Empty");
    sl_enc_array_begin(&e);
    sl_enc_array_end(&e);
    sl_enc_key(&e, "E2");
    sl_enc_map_begin(&e);
    sl_enc_map_end(&e);
    sl_enc_key(&e, "Null");
    sl_enc_null(&e);
    sl_enc_kv_int(&e, "Min", INT64_MIN);
    sl_enc_kv_int(&e, "Max", INT64_MAX);
    sl_enc_key(&e, "Data");
    sl_enc_bytes(&e, "hello", 5);
    sl_enc_key(&e, "Nums");
    sl_enc_array_begin(&e);
    sl_enc_int(&e, -1);
    sl_enc_bool(&e, true);
    sl_enc_double(&e, 0.1);
    sl_enc_double(&e, 1.5);
    sl_enc_double(&e, 1.0 / 0.0);
    sl_enc_array_end(&e);
    sl_enc_map_end(&e);
    CHECK(!sl_buf_failed(&b));
    CHECK_EQ_STR(
        text(&b),
        "{\"FailedRecordCount\":0,\"Records\":[{\"SequenceNumber\":\"4960\",\"ShardId\":"
        "\"shardId-000000000000\"},{\"ErrorCode\":\"ProvisionedThroughputExceededException\"}],"
        "\"HasMore\":false,\"Empty\":[],\"E2\":{},\"Null\":null,\"Min\":-9223372036854775808,"
        "\"Max\":9223372036854775807,\"Data\":\"aGVsbG8=\",\"Nums\":[-1,true,0.1,1.5,null]}");
    CHECK(strstr(b.data, "\"FailedRecordCount\":0") != NULL);
    sl_buf_free(&b);
}

static void test_json_strings(void) {
    sl_buf_t b = SL_BUF_INIT;
    sl_enc_t e;
    sl_enc_init(&e, &b, SL_FMT_JSON);
    sl_enc_array_begin(&e);
    sl_enc_cstr(&e, "q\"b\\s/\n\t\x01\x1f\x7f \xc3\xa9\xf0\x9f\x98\x80");
    sl_enc_str(&e, "a\0b", 3);
    sl_enc_cstr(&e, "");
    sl_enc_array_end(&e);
    CHECK_EQ_STR(text(&b),
                 "[\"q\\\"b\\\\s/\\u000a\\u0009\\u0001\\u001f\x7f \xc3\xa9\xf0\x9f\x98\x80\","
                 "\"a\\u0000b\",\"\"]");
    sl_buf_free(&b);
}

static void test_json_timestamps(void) {
    static const struct {
        int64_t ms;
        const char *want;
    } cases[] = {
        {1716000000000LL, "1716000000"},
        {1716000000123LL, "1716000000.123"},
        {1716000000120LL, "1716000000.12"},
        {1716000000100LL, "1716000000.1"},
        {1716000000001LL, "1716000000.001"},
        {1716000000010LL, "1716000000.01"},
        {0, "0"},
        {5, "0.005"},
        {-1500, "-1.5"},
        {253402300799999LL, "253402300799.999"},
    };
    for (size_t i = 0; i < SL_ARRAY_LEN(cases); i++) {
        sl_buf_t b = SL_BUF_INIT;
        sl_enc_t e;
        sl_enc_init(&e, &b, SL_FMT_JSON);
        sl_enc_timestamp_ms(&e, cases[i].ms);
        CHECK_EQ_STR(text(&b), cases[i].want);
        CHECK(strchr(b.data, 'e') == NULL && strchr(b.data, 'E') == NULL);
        sl_buf_free(&b);
    }
}

static void test_cbor_bytes(void) {
    sl_buf_t b = SL_BUF_INIT;
    sl_enc_t e;
    sl_enc_init(&e, &b, SL_FMT_CBOR);
    sl_enc_map_begin(&e);
    sl_enc_key(&e, "T");
    sl_enc_timestamp_ms(&e, 1787036486712LL);
    sl_enc_key(&e, "D");
    sl_enc_bytes(&e, "\x01\x02", 2);
    sl_enc_key(&e, "A");
    sl_enc_array_begin(&e);
    sl_enc_int(&e, 500);
    sl_enc_int(&e, -1);
    sl_enc_bool(&e, true);
    sl_enc_null(&e);
    sl_enc_cstr(&e, "x");
    sl_enc_array_end(&e);
    sl_enc_map_end(&e);
    static const uint8_t want[] = {0xbf, 0x61, 'T',  0xc1, 0x1b, 0x00, 0x00, 0x01, 0xa0, 0x13, 0xac,
                                   0xcc, 0x38, 0x61, 'D',  0x42, 0x01, 0x02, 0x61, 'A',  0x9f, 0x19,
                                   0x01, 0xf4, 0x20, 0xf5, 0xf6, 0x61, 'x',  0xff, 0xff};
    CHECK_EQ_INT(b.len, sizeof want);
    CHECK(b.len == sizeof want && memcmp(b.data, want, sizeof want) == 0);
    sl_buf_free(&b);
}

static char *mutable_copy(const char *s) {
    size_t n = strlen(s);
    char *p = sl_arena_alloc(&arena, n + 1);
    memcpy(p, s, n + 1);
    return p;
}

static void test_round_trips(void) {
    const char *doc =
        "{\"a\":[1,-0,1e3,12345678901234567890,2.5,\"s\\u00e9\\n\",true,false,null,{}],"
        "\"b\":{\"c\":[]},\"\\\"k\":\"v\"}";
    char *body = mutable_copy(doc);
    sl_val_t *v = NULL;
    CHECK_EQ_INT(sl_json_parse(body, strlen(body), &arena, &v, NULL), 0);
    sl_buf_t b = SL_BUF_INIT;
    sl_enc_t e;
    sl_enc_init(&e, &b, SL_FMT_JSON);
    sl_enc_value(&e, v);
    /* Numbers are echoed verbatim; escapes re-encoded canonically. */
    CHECK_EQ_STR(
        text(&b),
        "{\"a\":[1,-0,1e3,12345678901234567890,2.5,\"s\xc3\xa9\\u000a\",true,false,null,{}],"
        "\"b\":{\"c\":[]},\"\\\"k\":\"v\"}");
    /* JSON -> CBOR -> tree: same logical document. */
    sl_buf_t c = SL_BUF_INIT;
    sl_enc_init(&e, &c, SL_FMT_CBOR);
    sl_enc_value(&e, v);
    CHECK(!sl_buf_failed(&c));
    sl_val_t *w = NULL;
    CHECK_EQ_INT(sl_cbor_parse((const uint8_t *)c.data, c.len, &arena, &w, NULL), 0);
    sl_val_t *a = sl_val_get(w, "a");
    CHECK(a && a->type == SL_VAL_ARRAY && a->u.arr.count == 10);
    if (a && a->u.arr.count == 10) {
        CHECK(a->u.arr.items[0]->u.num.i == 1 && a->u.arr.items[0]->u.num.is_integer);
        CHECK(a->u.arr.items[2]->u.num.d == 1000.0);
        CHECK(a->u.arr.items[3]->u.num.d > 1.2e19 && !a->u.arr.items[3]->u.num.is_integer);
        CHECK(a->u.arr.items[4]->u.num.d == 2.5);
        CHECK_EQ_STR(a->u.arr.items[5]->u.str.ptr, "s\xc3\xa9\n");
        CHECK(a->u.arr.items[8]->type == SL_VAL_NULL);
    }
    CHECK_EQ_STR(sl_val_get_str(w, "\"k", NULL), "v");
    /* CBOR tree -> JSON: ints from CBOR print as integers, floats shortest. */
    sl_buf_reset(&b);
    sl_enc_init(&e, &b, SL_FMT_JSON);
    sl_enc_value(&e, w);
    CHECK_EQ_STR(
        text(&b),
        "{\"a\":[1,0,1000,1.2345678901234567e+19,2.5,\"s\xc3\xa9\\u000a\",true,false,null,{}],"
        "\"b\":{\"c\":[]},\"\\\"k\":\"v\"}");
    /* Bytes and timestamps in a tree. */
    sl_val_t ts = {.type = SL_VAL_TIMESTAMP, .u.ts_ms = 1500};
    sl_val_t by = {.type = SL_VAL_BYTES, .u.str = {"\xff", 1}};
    sl_val_t *items[] = {&ts, &by};
    sl_val_t arr = {.type = SL_VAL_ARRAY, .u.arr = {items, 2}};
    sl_buf_reset(&b);
    sl_enc_init(&e, &b, SL_FMT_JSON);
    sl_enc_value(&e, &arr);
    CHECK_EQ_STR(text(&b), "[1.5,\"/w==\"]");
    sl_buf_free(&b);
    sl_buf_free(&c);
}

static void test_depth_and_misuse(void) {
    sl_buf_t b = SL_BUF_INIT;
    sl_enc_t e;
    sl_enc_init(&e, &b, SL_FMT_JSON);
    for (int i = 0; i < SL_WIRE_DEPTH_MAX; i++)
        sl_enc_array_begin(&e);
    for (int i = 0; i < SL_WIRE_DEPTH_MAX; i++)
        sl_enc_array_end(&e);
    CHECK(!sl_buf_failed(&b));
    CHECK_EQ_INT(b.len, 2 * SL_WIRE_DEPTH_MAX);
    sl_enc_array_begin(&e);
    for (int i = 0; i < SL_WIRE_DEPTH_MAX; i++)
        sl_enc_array_begin(&e);
    CHECK(sl_buf_failed(&b)); /* refused, not crashed */
    sl_buf_free(&b);
    sl_enc_init(&e, &b, SL_FMT_CBOR);
    sl_enc_map_end(&e);
    CHECK(sl_buf_failed(&b));
    sl_buf_free(&b);
}

/* Decodes our CBOR with python3-cbor2 and compares its repr. */
static void test_cbor2_crosscheck(void) {
    if (access("/usr/bin/python3", X_OK) != 0 ||
        system("/usr/bin/python3 -c 'import cbor2' 2>/dev/null") != 0) {
        fprintf(stderr, "note: python3-cbor2 not available, cross-check skipped\n");
        return;
    }
    sl_buf_t b = SL_BUF_INIT;
    sl_enc_t e;
    sl_enc_init(&e, &b, SL_FMT_CBOR);
    sl_enc_map_begin(&e);
    sl_enc_key(&e, "Records");
    sl_enc_array_begin(&e);
    sl_enc_map_begin(&e);
    sl_enc_key(&e, "Data");
    sl_enc_bytes(&e, "\x00\xff", 2);
    sl_enc_key(&e, "ApproximateArrivalTimestamp");
    sl_enc_timestamp_ms(&e, 1787036486712LL);
    sl_enc_kv_cstr(&e, "PartitionKey", "p\xc3\xa9");
    sl_enc_map_end(&e);
    sl_enc_array_end(&e);
    sl_enc_kv_int(&e, "MillisBehindLatest", -5);
    sl_enc_kv_int(&e, "Big", INT64_MAX);
    sl_enc_key(&e, "F");
    sl_enc_double(&e, 0.25);
    sl_enc_map_end(&e);
    char path[] = "/tmp/sl_test_enc_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd < 0) return;
    CHECK(write(fd, b.data, b.len) == (ssize_t)b.len);
    close(fd);
    char cmd[1024];
    /* cbor2 decodes tag 1 as a datetime from *seconds* (year 58598 for our ms); drop that
     * semantic decoder so the raw tag and value are printed. */
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c 'import io,sys,cbor2.decoder as d\n"
             "d.semantic_decoders.pop(1, None)\n"
             "f=open(sys.argv[1],\"rb\")\n"
             "print(repr(d.CBORDecoder(f, tag_hook=lambda dec,t: "
             "(\"tag\",t.tag,t.value)).decode()))' %s 2>&1",
             path);
    FILE *p = popen(cmd, "r");
    char out[1024] = {0};
    size_t n = p ? fread(out, 1, sizeof out - 1, p) : 0;
    if (p) pclose(p);
    out[n] = 0;
    unlink(path);
    CHECK_EQ_STR(out,
                 "{'Records': [{'Data': b'\\x00\\xff', 'ApproximateArrivalTimestamp': ('tag', 1, "
                 "1787036486712), 'PartitionKey': 'p\xc3\xa9'}], 'MillisBehindLatest': -5, "
                 "'Big': 9223372036854775807, 'F': 0.25}\n");
    sl_buf_free(&b);
}

int main(void) {
    sl_arena_init(&arena, 4096);
    test_json_basic();
    test_json_strings();
    test_json_timestamps();
    test_cbor_bytes();
    test_round_trips();
    test_depth_and_misuse();
    test_cbor2_crosscheck();
    sl_arena_deinit(&arena);
    TEST_MAIN_END();
}
