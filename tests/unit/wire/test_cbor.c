/* Unit tests of the CBOR decoder: captured Java SDK bytes (spec §1.3), definite and indefinite
 * containers and strings, tag 1 timestamps in all forms, integers at the int64 edges, floats of all
 * widths, and rejection of malformed, truncated, trailing and hostile input. Inputs are
 * hand-written bytes or built with libcbor's encoder. */
#include "test.h"

#include "core/arena.h"
#include "core/common.h"
#include "core/limits.h"
#include "wire/cbor.h"

#include <cbor.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static sl_arena_t arena;

static sl_val_t *dec_n(const void *bytes, size_t n, const char **reason) {
    sl_val_t *v = NULL;
    const char *r = NULL;
    int rc = sl_cbor_parse(bytes, n, &arena, &v, &r);
    if (reason) *reason = r;
    if (rc != 0) {
        CHECK(v == NULL && r != NULL);
        return NULL;
    }
    CHECK(v != NULL);
    return v;
}

/* Decodes a byte array. */
static sl_val_t *dec_bytes(const uint8_t *b, size_t n) {
    return dec_n(b, n, NULL);
}
#define D(arr) dec_bytes(arr, sizeof arr)

static const char *reject_reason(const uint8_t *b, size_t n) {
    const char *r = NULL;
    CHECK(dec_n(b, n, &r) == NULL);
    return r ? r : "";
}
#define REJ(arr) reject_reason(arr, sizeof arr)

static void test_spec_timestamp(void) {
    /* floci #2368: {"Timestamp": tag1 + uint64 1787036486712}. */
    static const uint8_t b[] = {0xa1, 0x69, 'T',  'i',  'm',  'e',  's',  't',  'a',  'm', 'p',
                                0xc1, 0x1b, 0x00, 0x00, 0x01, 0xa0, 0x13, 0xac, 0xcc, 0x38};
    sl_val_t *v = D(b);
    CHECK(v && v->type == SL_VAL_MAP);
    sl_val_t *ts = sl_val_get(v, "Timestamp");
    CHECK(ts && ts->type == SL_VAL_TIMESTAMP);
    if (ts) CHECK(ts->u.ts_ms == 1787036486712LL);
}

static void test_indefinite(void) {
    /* Jackson style: indefinite map and array, chunked byte and text strings. */
    static const uint8_t b[] = {
        0xbf,                                           /* map(*) */
        0x64, 'D',  'a',  't',  'a',                    /* "Data" */
        0x5f, 0x42, 0x01, 0x02, 0x41, 0x03, 0x40, 0xff, /* bytes(*) 0102 03 '' */
        0x7f, 0x61, 'P',  0x62, 'a',  'r',  0xff,       /* text(*) "Par" */
        0x7f, 0x62, 'p',  'k',  0xff,                   /* "pk" via chunks */
        0x63, 'A',  'r',  'r',  0x9f, 0x01, 0x20, 0xf5,
        0xf4, 0xf6, 0xf7, 0x80, 0xa0, 0x9f, 0xff, 0xff, /* [1,-1,t,f,null,undef,[],{},[]] */
        0x65, 'E',  'm',  'p',  't',  'y',  0x5f, 0xff, /* bytes(*) with no chunks */
        0xff};
    sl_val_t *v = D(b);
    CHECK(v && v->type == SL_VAL_MAP && v->u.map.count == 4);
    if (!v || v->u.map.count != 4) return;
    sl_val_t *data = sl_val_get(v, "Data");
    CHECK(data && data->type == SL_VAL_BYTES && data->u.str.len == 3);
    if (data) CHECK(memcmp(data->u.str.ptr, "\x01\x02\x03", 3) == 0 && data->u.str.ptr[3] == 0);
    CHECK_EQ_STR(sl_val_get_str(v, "Par", NULL), "pk");
    CHECK_EQ_STR(v->u.map.items[1].key, "Par");
    sl_val_t *a = sl_val_get(v, "Arr");
    CHECK(a && a->type == SL_VAL_ARRAY && a->u.arr.count == 9);
    if (a && a->u.arr.count == 9) {
        CHECK(a->u.arr.items[0]->u.num.i == 1 && a->u.arr.items[0]->u.num.is_integer);
        CHECK(a->u.arr.items[1]->u.num.i == -1 && a->u.arr.items[1]->u.num.d == -1.0);
        CHECK(a->u.arr.items[2]->type == SL_VAL_BOOL && a->u.arr.items[2]->u.b);
        CHECK(a->u.arr.items[3]->type == SL_VAL_BOOL && !a->u.arr.items[3]->u.b);
        CHECK(a->u.arr.items[4]->type == SL_VAL_NULL);
        CHECK(a->u.arr.items[5]->type == SL_VAL_NULL);
        CHECK(a->u.arr.items[6]->type == SL_VAL_ARRAY && a->u.arr.items[6]->u.arr.count == 0);
        CHECK(a->u.arr.items[7]->type == SL_VAL_MAP && a->u.arr.items[7]->u.map.count == 0);
        CHECK(a->u.arr.items[8]->type == SL_VAL_ARRAY && a->u.arr.items[8]->u.arr.count == 0);
    }
    sl_val_t *e = sl_val_get(v, "Empty");
    CHECK(e && e->type == SL_VAL_BYTES && e->u.str.len == 0 && e->u.str.ptr &&
          e->u.str.ptr[0] == 0);
}

static void test_definite_with_libcbor(void) {
    /* {"StreamName": "s", "Records": [{"Data": h'00ff', "PartitionKey": "k"}], "Limit": 500} */
    uint8_t buf[256];
    size_t n = 0;
    n += cbor_encode_map_start(3, buf + n, sizeof buf - n);
    n += cbor_encode_string_start(10, buf + n, sizeof buf - n);
    memcpy(buf + n, "StreamName", 10), n += 10;
    n += cbor_encode_string_start(1, buf + n, sizeof buf - n);
    buf[n++] = 's';
    n += cbor_encode_string_start(7, buf + n, sizeof buf - n);
    memcpy(buf + n, "Records", 7), n += 7;
    n += cbor_encode_array_start(1, buf + n, sizeof buf - n);
    n += cbor_encode_map_start(2, buf + n, sizeof buf - n);
    n += cbor_encode_string_start(4, buf + n, sizeof buf - n);
    memcpy(buf + n, "Data", 4), n += 4;
    n += cbor_encode_bytestring_start(2, buf + n, sizeof buf - n);
    buf[n++] = 0x00;
    buf[n++] = 0xff;
    n += cbor_encode_string_start(12, buf + n, sizeof buf - n);
    memcpy(buf + n, "PartitionKey", 12), n += 12;
    n += cbor_encode_string_start(1, buf + n, sizeof buf - n);
    buf[n++] = 'k';
    n += cbor_encode_string_start(5, buf + n, sizeof buf - n);
    memcpy(buf + n, "Limit", 5), n += 5;
    n += cbor_encode_uint(500, buf + n, sizeof buf - n);
    sl_val_t *v = dec_n(buf, n, NULL);
    CHECK(v && v->u.map.count == 3);
    CHECK_EQ_STR(sl_val_get_str(v, "StreamName", NULL), "s");
    int64_t lim = 0;
    CHECK(sl_val_get_int(v, "Limit", &lim) && lim == 500);
    sl_val_t *recs = sl_val_get(v, "Records");
    CHECK(recs && recs->u.arr.count == 1);
    if (recs && recs->u.arr.count == 1) {
        sl_val_t *d = sl_val_get(recs->u.arr.items[0], "Data");
        CHECK(d && d->type == SL_VAL_BYTES && d->u.str.len == 2 &&
              (uint8_t)d->u.str.ptr[1] == 0xff);
        CHECK_EQ_STR(sl_val_get_str(recs->u.arr.items[0], "PartitionKey", NULL), "k");
    }
    /* Every truncation of a valid document is rejected. */
    for (size_t cut = 0; cut < n; cut++)
        CHECK(dec_n(buf, cut, NULL) == NULL);
}

static void test_numbers(void) {
    static const uint8_t u64max[] = {0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    sl_val_t *v = D(u64max);
    CHECK(v && v->u.num.is_integer && v->u.num.i == INT64_MAX && v->u.num.d > 1.8e19);
    static const uint8_t i64min[] = {0x3b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    v = D(i64min);
    CHECK(v && v->u.num.i == INT64_MIN);
    static const uint8_t below[] = {0x3b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    v = D(below);
    CHECK(v && v->u.num.i == INT64_MIN && v->u.num.d < -1.8e19);
    static const uint8_t neg100[] = {0x38, 0x63};
    v = D(neg100);
    CHECK(v && v->u.num.i == -100 && v->u.num.text == NULL);
    static const uint8_t u32[] = {0x1a, 0x00, 0x01, 0x00, 0x00};
    v = D(u32);
    CHECK(v && v->u.num.i == 65536);
    static const uint8_t half[] = {0xf9, 0x3e, 0x00}; /* 1.5 */
    v = D(half);
    CHECK(v && !v->u.num.is_integer && v->u.num.d == 1.5 && v->u.num.i == 1);
    static const uint8_t single[] = {0xfa, 0xc0, 0x40, 0x00, 0x00}; /* -3.0 */
    v = D(single);
    CHECK(v && v->u.num.d == -3.0 && v->u.num.i == -3 && !v->u.num.is_integer);
    uint8_t dbl[9];
    cbor_encode_double(-2.75, dbl, sizeof dbl);
    v = D(dbl);
    CHECK(v && v->u.num.d == -2.75 && v->u.num.i == -2);
    cbor_encode_double(NAN, dbl, sizeof dbl);
    v = D(dbl);
    CHECK(v && isnan(v->u.num.d) && v->u.num.i == 0);
    cbor_encode_double(1e300, dbl, sizeof dbl);
    v = D(dbl);
    CHECK(v && v->u.num.i == INT64_MAX);
}

static void test_tags(void) {
    uint8_t b[16];
    size_t n;
    /* tag 1 + float seconds (below 1e11) -> ms, rounded. */
    n = cbor_encode_tag(1, b, sizeof b);
    n += cbor_encode_double(1716000000.123, b + n, sizeof b - n);
    sl_val_t *v = dec_n(b, n, NULL);
    CHECK(v && v->type == SL_VAL_TIMESTAMP && v->u.ts_ms == 1716000000123LL);
    /* tag 1 + float at or above 1e11 -> already ms. */
    n = cbor_encode_tag(1, b, sizeof b);
    n += cbor_encode_double(1716000000123.0, b + n, sizeof b - n);
    v = dec_n(b, n, NULL);
    CHECK(v && v->type == SL_VAL_TIMESTAMP && v->u.ts_ms == 1716000000123LL);
    /* tag 1 + single-precision float seconds. */
    n = cbor_encode_tag(1, b, sizeof b);
    n += cbor_encode_single(1024.5f, b + n, sizeof b - n);
    v = dec_n(b, n, NULL);
    CHECK(v && v->type == SL_VAL_TIMESTAMP && v->u.ts_ms == 1024500);
    /* tag 1 + small int is still ms. */
    static const uint8_t small[] = {0xc1, 0x18, 0x64};
    v = D(small);
    CHECK(v && v->type == SL_VAL_TIMESTAMP && v->u.ts_ms == 100);
    static const uint8_t negative[] = {0xc1, 0x38, 0x63};
    v = D(negative);
    CHECK(v && v->type == SL_VAL_TIMESTAMP && v->u.ts_ms == -100);
    /* tag 1 + non-number: passed through. */
    static const uint8_t str[] = {0xc1, 0x61, 'x'};
    v = D(str);
    CHECK(v && v->type == SL_VAL_STRING);
    /* Other tags pass their content; nested tags too. */
    static const uint8_t bignum[] = {0xc2, 0x42, 0x01, 0x02};
    v = D(bignum);
    CHECK(v && v->type == SL_VAL_BYTES && v->u.str.len == 2);
    static const uint8_t nested[] = {0xd8, 0x20, 0xc1, 0x19, 0x03, 0xe8};
    v = D(nested);
    CHECK(v && v->type == SL_VAL_TIMESTAMP && v->u.ts_ms == 1000);
    /* A tagged text key is still a text key. */
    static const uint8_t tagged_key[] = {0xa1, 0xc0, 0x61, 'k', 0x01};
    v = D(tagged_key);
    CHECK(v && v->u.map.count == 1 && sl_val_get(v, "k"));
    /* Out of range and non-finite timestamps are errors. */
    static const uint8_t huge[] = {0xc1, 0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    CHECK_EQ_STR(REJ(huge), "timestamp out of range");
    n = cbor_encode_tag(1, b, sizeof b);
    n += cbor_encode_double(INFINITY, b + n, sizeof b - n);
    CHECK(dec_n(b, n, NULL) == NULL);
    /* A tag with no content. */
    static const uint8_t bare[] = {0xc1};
    CHECK_EQ_STR(REJ(bare), "truncated document");
}

static void test_errors(void) {
    static const uint8_t int_key[] = {0xa1, 0x01, 0x02};
    CHECK_EQ_STR(REJ(int_key), "map key is not a text string");
    static const uint8_t bytes_key[] = {0xa1, 0x41, 'k', 0x02};
    CHECK_EQ_STR(REJ(bytes_key), "map key is not a text string");
    static const uint8_t trailing[] = {0xf6, 0xf6};
    CHECK_EQ_STR(REJ(trailing), "trailing bytes after the document");
    static const uint8_t trailing2[] = {0xa0, 0x00};
    CHECK_EQ_STR(REJ(trailing2), "trailing bytes after the document");
    static const uint8_t truncated[] = {0xa1, 0x61};
    CHECK_EQ_STR(REJ(truncated), "truncated document");
    static const uint8_t open_map[] = {0xbf, 0x61, 'a', 0x01};
    CHECK_EQ_STR(REJ(open_map), "truncated document");
    static const uint8_t top_break[] = {0xff};
    CHECK(strlen(REJ(top_break)) > 0);
    static const uint8_t def_break[] = {0x82, 0x01, 0xff};
    CHECK_EQ_STR(REJ(def_break), "unexpected break");
    static const uint8_t half_pair[] = {0xbf, 0x61, 'a', 0xff};
    CHECK_EQ_STR(REJ(half_pair), "map key without a value");
    static const uint8_t mixed_chunks[] = {0x5f, 0x61, 'A', 0xff};
    CHECK_EQ_STR(REJ(mixed_chunks), "invalid chunk in indefinite-length string");
    static const uint8_t nested_chunks[] = {0x7f, 0x7f, 0xff, 0xff};
    CHECK_EQ_STR(REJ(nested_chunks), "invalid chunk in indefinite-length string");
    static const uint8_t int_chunk[] = {0x7f, 0x01, 0xff};
    CHECK_EQ_STR(REJ(int_chunk), "invalid chunk in indefinite-length string");
    static const uint8_t bad_utf8[] = {0x62, 0xc3, 0x28};
    CHECK_EQ_STR(REJ(bad_utf8), "invalid UTF-8 in text string");
    static const uint8_t bad_utf8_chunks[] = {0x7f, 0x61, 0xc3, 0x61, 0xa9, 0xff};
    /* Chunks are validated once joined: a character split over two chunks is accepted. */
    sl_val_t *v = D(bad_utf8_chunks);
    CHECK(v && v->type == SL_VAL_STRING && v->u.str.len == 2);
    static const uint8_t simple[] = {0x81, 0xe0};
    CHECK_EQ_STR(REJ(simple), "malformed CBOR");
    static const uint8_t simple8[] = {0x9f, 0xf8, 0x20, 0xff};
    CHECK_EQ_STR(REJ(simple8), "malformed CBOR");
    static const uint8_t reserved[] = {0x1c};
    CHECK_EQ_STR(REJ(reserved), "malformed CBOR");
    static const uint8_t huge_array[] = {0x9b, 0xff, 0xff, 0xff, 0xff,
                                         0xff, 0xff, 0xff, 0xff, 0x01};
    CHECK_EQ_STR(REJ(huge_array), "truncated document");
    static const uint8_t huge_bytes[] = {0x5b, 0xff, 0xff, 0xff, 0xff,
                                         0xff, 0xff, 0xff, 0xff, 0x01};
    CHECK_EQ_STR(REJ(huge_bytes), "truncated document");
    static const uint8_t huge_map[] = {0xbb, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    CHECK(strlen(REJ(huge_map)) > 0);
    const char *r;
    CHECK(dec_n("", 0, &r) == NULL);
    CHECK_EQ_STR(r, "empty document");

    /* Depth: SL_WIRE_DEPTH_MAX nested arrays are fine, one more is not (tags count too). */
    uint8_t deep[SL_WIRE_DEPTH_MAX + 2];
    memset(deep, 0x81, sizeof deep);
    deep[SL_WIRE_DEPTH_MAX] = 0x00;
    CHECK(dec_n(deep, SL_WIRE_DEPTH_MAX + 1, NULL) != NULL);
    memset(deep, 0x81, sizeof deep);
    deep[SL_WIRE_DEPTH_MAX + 1] = 0x00;
    CHECK(dec_n(deep, SL_WIRE_DEPTH_MAX + 2, &r) == NULL);
    CHECK_EQ_STR(r, "nesting too deep");
    memset(deep, 0xc6, sizeof deep);
    deep[SL_WIRE_DEPTH_MAX + 1] = 0x00;
    CHECK(dec_n(deep, SL_WIRE_DEPTH_MAX + 2, &r) == NULL);
    static uint8_t empties[SL_WIRE_DEPTH_MAX + 1];
    memset(empties, 0x81, sizeof empties);
    empties[SL_WIRE_DEPTH_MAX] = 0x80; /* the innermost [] is level 65 */
    CHECK(dec_n(empties, sizeof empties, NULL) == NULL);
}

static void test_value_bound(void) {
    /* An indefinite array of SL_WIRE_VALUES_MAX - 1 empty arrays is allowed, one more is not:
     * a 1-byte item must not cost unbounded memory. */
    size_t items = SL_WIRE_VALUES_MAX - 1;
    uint8_t *b = malloc(items + 3);
    b[0] = 0x9f;
    memset(b + 1, 0x80, items + 1);
    b[items + 1] = 0xff;
    sl_val_t *v = dec_n(b, items + 2, NULL);
    CHECK(v && v->u.arr.count == items);
    b[items + 1] = 0x80;
    b[items + 2] = 0xff;
    const char *r;
    CHECK(dec_n(b, items + 3, &r) == NULL);
    CHECK_EQ_STR(r, "too many values");
    free(b);
    sl_arena_reset(&arena);
}

int main(void) {
    sl_arena_init(&arena, 4096);
    test_spec_timestamp();
    test_indefinite();
    test_definite_with_libcbor();
    test_numbers();
    test_tags();
    test_errors();
    test_value_bound();
    sl_arena_deinit(&arena);
    TEST_MAIN_END();
}
