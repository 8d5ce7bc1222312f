/* Unit tests of the JSON decoder: structure, strings (escapes, surrogates, UTF-8, in-place
 * termination), numbers (literal text, integer flag, doubles, saturation), depth and rejection of
 * malformed documents. */
#include "test.h"

#include "core/arena.h"
#include "core/common.h"
#include "core/limits.h"
#include "wire/json.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static sl_arena_t arena;
static char *body; /* the last parsed body, kept alive for zero-copy pointers */

/* Parses a copy of text (followed by the NUL the parser needs); returns the root or NULL. */
static sl_val_t *parse_n(const char *text, size_t n, const char **reason) {
    free(body);
    body = malloc(n + 1);
    memcpy(body, text, n);
    body[n] = '\0';
    sl_val_t *v = NULL;
    const char *r = NULL;
    int rc = sl_json_parse(body, n, &arena, &v, &r);
    if (reason) *reason = r;
    if (rc != 0) {
        CHECK(v == NULL);
        CHECK(r != NULL);
        return NULL;
    }
    CHECK(v != NULL);
    return v;
}

static sl_val_t *parse(const char *text) {
    return parse_n(text, strlen(text), NULL);
}

static bool rejects(const char *text) {
    return parse(text) == NULL;
}

static void test_structure(void) {
    sl_val_t *v =
        parse(" {\"StreamName\" : \"s1\", \"Limit\":10,\"On\":true,\"Off\":false,\"N\":null,"
              "\"A\":[1,[],{}], \"E\":{}}\n");
    CHECK(v && v->type == SL_VAL_MAP);
    if (!v) return;
    CHECK_EQ_INT(v->u.map.count, 7);
    /* Document order is kept. */
    CHECK_EQ_STR(v->u.map.items[0].key, "StreamName");
    CHECK_EQ_INT(v->u.map.items[0].key_len, 10);
    CHECK_EQ_STR(v->u.map.items[6].key, "E");
    size_t len;
    CHECK_EQ_STR(sl_val_get_str(v, "StreamName", &len), "s1");
    CHECK_EQ_INT(len, 2);
    int64_t lim = 0;
    CHECK(sl_val_get_int(v, "Limit", &lim));
    CHECK_EQ_INT(lim, 10);
    bool b = false;
    CHECK(sl_val_get_bool(v, "On", &b) && b);
    CHECK(sl_val_get_bool(v, "Off", &b) && !b);
    CHECK(sl_val_get(v, "N") == NULL); /* null counts as absent */
    CHECK(v->u.map.items[4].val->type == SL_VAL_NULL);
    sl_val_t *a = sl_val_get(v, "A");
    CHECK(a && a->type == SL_VAL_ARRAY && a->u.arr.count == 3);
    if (a && a->u.arr.count == 3) {
        CHECK(a->u.arr.items[1]->type == SL_VAL_ARRAY && a->u.arr.items[1]->u.arr.count == 0);
        CHECK(a->u.arr.items[2]->type == SL_VAL_MAP && a->u.arr.items[2]->u.map.count == 0);
    }
    /* Duplicate keys: both kept in order, the last one wins on lookup. */
    v = parse("{\"k\":1,\"k\":2}");
    CHECK(v && v->u.map.count == 2);
    CHECK(sl_val_get_int(v, "k", &lim) && lim == 2);
    /* Scalars are valid documents too (the API layer insists on an object). */
    v = parse("\"x\"");
    CHECK(v && v->type == SL_VAL_STRING);
    v = parse(" 42 ");
    CHECK(v && v->type == SL_VAL_NUMBER && v->u.num.i == 42);
    v = parse("true");
    CHECK(v && v->type == SL_VAL_BOOL && v->u.b);
}

static void test_strings(void) {
    sl_val_t *v = parse("[\"plain\",\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\",\"\\u0041\\u00e9\\u20AC\"]");
    CHECK(v && v->u.arr.count == 3);
    if (!v || v->u.arr.count != 3) return;
    sl_val_t *s = v->u.arr.items[0];
    CHECK_EQ_STR(s->u.str.ptr, "plain");
    /* Zero copy: the string lives in the body. */
    CHECK(s->u.str.ptr >= body && s->u.str.ptr < body + 40);
    CHECK_EQ_STR(v->u.arr.items[1]->u.str.ptr, "a\"b\\c/d\b\f\n\r\t");
    CHECK_EQ_INT(v->u.arr.items[1]->u.str.len, 12);
    CHECK_EQ_STR(v->u.arr.items[2]->u.str.ptr, "A\xc3\xa9\xe2\x82\xac");
    /* Surrogate pair -> one 4-byte UTF-8 character (U+1F600). */
    v = parse("\"x\\ud83d\\ude00y\"");
    CHECK(v && v->u.str.len == 6);
    if (v) CHECK_EQ_STR(v->u.str.ptr, "x\xf0\x9f\x98\x80y");
    /* Raw UTF-8 passes; a key with escapes is decoded too. */
    v = parse("{\"k\\u0065y\":\"\xc3\xa9\xf0\x9f\x98\x80\"}");
    CHECK(v && v->u.map.count == 1);
    if (v && v->u.map.count == 1) {
        CHECK_EQ_STR(v->u.map.items[0].key, "key");
        CHECK_EQ_INT(v->u.map.items[0].key_len, 3);
        CHECK_EQ_STR(v->u.map.items[0].val->u.str.ptr, "\xc3\xa9\xf0\x9f\x98\x80");
    }
    /* \u0000 is kept with its length. */
    v = parse("\"a\\u0000b\"");
    CHECK(v && v->u.str.len == 3 && memcmp(v->u.str.ptr, "a\0b", 3) == 0);
    /* Long strings exercise the 8-byte scan, with an escape late in the string. */
    char big[300];
    memset(big, 'Q', sizeof big);
    big[0] = '"';
    big[250] = '\\';
    big[251] = 'n';
    big[298] = '"';
    v = parse_n(big, 299, NULL);
    CHECK(v && v->type == SL_VAL_STRING && v->u.str.len == 296);
    if (v)
        CHECK(v->u.str.ptr[249] == '\n' && v->u.str.ptr[250] == 'Q' && v->u.str.ptr[296] == '\0');
    v = parse("\"\"");
    CHECK(v && v->u.str.len == 0 && v->u.str.ptr[0] == '\0');

    const char *r;
    CHECK(parse_n("\"a\x01\"", 4, &r) == NULL);
    CHECK_EQ_STR(r, "control character in string");
    CHECK(parse_n("\"tab\there\"", 10, NULL) == NULL);
    CHECK(parse_n("\"abc", 4, &r) == NULL);
    CHECK_EQ_STR(r, "unterminated string");
    CHECK(parse_n("\"abc\\", 5, &r) == NULL);
    CHECK_EQ_STR(r, "unterminated string");
    CHECK(parse_n("\"a\\x\"", 5, &r) == NULL);
    CHECK_EQ_STR(r, "invalid escape in string");
    CHECK(rejects("\"\\u12\""));
    CHECK(rejects("\"\\u12g4\""));
    CHECK(rejects("\"\\'\""));
    CHECK(parse_n("\"\\ud83d\"", 8, &r) == NULL); /* lone high surrogate */
    CHECK_EQ_STR(r, "unpaired UTF-16 surrogate escape");
    CHECK(rejects("\"\\ude00\""));        /* lone low surrogate */
    CHECK(rejects("\"\\ud83d\\u0041\"")); /* high surrogate + non-surrogate */
    CHECK(rejects("\"\\ud83dx\""));
    CHECK(parse_n("\"\xff\"", 3, &r) == NULL);
    CHECK_EQ_STR(r, "invalid UTF-8 in string");
    CHECK(rejects("\"\xc3\""));             /* truncated sequence at the quote */
    CHECK(rejects("\"\xc0\xaf\""));         /* overlong */
    CHECK(rejects("\"\xed\xa0\x80\""));     /* encoded surrogate */
    CHECK(rejects("\"\xf4\x90\x80\x80\"")); /* above U+10FFFF */
    CHECK(rejects("\"a\\n\xff\""));         /* invalid UTF-8 on the slow path */
    CHECK(parse_n("\"\xe2\x82", 3, NULL) == NULL);
}

static void test_numbers(void) {
    sl_val_t *v =
        parse("[0,-0,123,-45,1e3,1.5,-2.75,1E-2,12345678901234567890,-9223372036854775808,"
              "9223372036854775807,9223372036854775808,1e400,2.5e1,9007199254740993]");
    CHECK(v && v->u.arr.count == 15);
    if (!v || v->u.arr.count != 15) return;
    sl_val_t **n = v->u.arr.items;
    CHECK(n[0]->u.num.is_integer && n[0]->u.num.i == 0 && n[0]->u.num.d == 0.0);
    CHECK(n[1]->u.num.is_integer && n[1]->u.num.i == 0 && signbit(n[1]->u.num.d));
    CHECK_EQ_INT(n[1]->u.num.text_len, 2);
    CHECK(memcmp(n[1]->u.num.text, "-0", 2) == 0);
    CHECK(n[2]->u.num.i == 123 && n[2]->u.num.d == 123.0);
    CHECK(n[3]->u.num.i == -45);
    CHECK(!n[4]->u.num.is_integer && n[4]->u.num.d == 1000.0 && n[4]->u.num.i == 1000);
    CHECK(memcmp(n[4]->u.num.text, "1e3", 3) == 0 && n[4]->u.num.text_len == 3);
    CHECK(!n[5]->u.num.is_integer && n[5]->u.num.d == 1.5 && n[5]->u.num.i == 1);
    CHECK(n[6]->u.num.d == -2.75 && n[6]->u.num.i == -2); /* truncated toward zero */
    CHECK(fabs(n[7]->u.num.d - 0.01) < 1e-15 && n[7]->u.num.i == 0);
    CHECK(n[8]->u.num.is_integer && n[8]->u.num.i == INT64_MAX);
    CHECK(fabs(n[8]->u.num.d - 1.2345678901234567e19) < 1e5);
    CHECK_EQ_INT(n[8]->u.num.text_len, 20);
    CHECK(n[9]->u.num.i == INT64_MIN);
    CHECK(n[10]->u.num.i == INT64_MAX);
    CHECK(n[11]->u.num.i == INT64_MAX);
    CHECK(isinf(n[12]->u.num.d) && n[12]->u.num.i == INT64_MAX);
    CHECK(n[13]->u.num.i == 25 && !n[13]->u.num.is_integer);
    CHECK(n[14]->u.num.i == 9007199254740993LL); /* exact even beyond 2^53 */

    CHECK(rejects("01"));
    CHECK(rejects("-"));
    CHECK(rejects("1."));
    CHECK(rejects(".5"));
    CHECK(rejects("1e"));
    CHECK(rejects("1e+"));
    CHECK(rejects("+1"));
    CHECK(rejects("0x10"));
    CHECK(rejects("[1,]"));
    CHECK(rejects("NaN"));
    CHECK(rejects("Infinity"));
    CHECK(rejects("-Infinity"));
    CHECK(rejects("[--1]"));
}

static void test_depth(void) {
    char doc[2 * SL_WIRE_DEPTH_MAX + 8];
    size_t n = 0;
    for (int i = 0; i < SL_WIRE_DEPTH_MAX; i++)
        doc[n++] = '[';
    for (int i = 0; i < SL_WIRE_DEPTH_MAX; i++)
        doc[n++] = ']';
    CHECK(parse_n(doc, n, NULL) != NULL);
    n = 0;
    for (int i = 0; i < SL_WIRE_DEPTH_MAX + 1; i++)
        doc[n++] = '[';
    for (int i = 0; i < SL_WIRE_DEPTH_MAX + 1; i++)
        doc[n++] = ']';
    const char *r;
    CHECK(parse_n(doc, n, &r) == NULL);
    CHECK_EQ_STR(r, "nesting too deep");
    /* Deep hostile input fails fast without exhausting the stack. */
    size_t big = 1000000;
    char *deep = malloc(big);
    memset(deep, '{', big);
    CHECK(parse_n(deep, big, NULL) == NULL);
    memset(deep, '[', big);
    CHECK(parse_n(deep, big, NULL) == NULL);
    free(deep);
}

static void test_value_bound(void) {
    /* The array itself plus SL_WIRE_VALUES_MAX - 1 zeros is the most a document may hold. */
    size_t zeros = SL_WIRE_VALUES_MAX - 1;
    char *doc = malloc(2 * zeros + 3);
    size_t n = 0;
    doc[n++] = '[';
    for (size_t i = 0; i < zeros; i++) {
        doc[n++] = '0';
        doc[n++] = ',';
    }
    doc[n - 1] = ']';
    sl_val_t *v = parse_n(doc, n, NULL);
    CHECK(v && v->u.arr.count == zeros);
    doc[n - 1] = ',';
    doc[n++] = '0';
    doc[n++] = ']';
    const char *r;
    CHECK(parse_n(doc, n, &r) == NULL);
    CHECK_EQ_STR(r, "too many values");
    free(doc);
    sl_arena_reset(&arena);
}

static void test_garbage(void) {
    const char *r;
    CHECK(parse_n("", 0, &r) == NULL);
    CHECK_EQ_STR(r, "empty document");
    CHECK(parse_n("  \n", 3, &r) == NULL);
    CHECK(parse_n("{} x", 4, &r) == NULL);
    CHECK_EQ_STR(r, "trailing characters after the document");
    CHECK(rejects("{}{}"));
    CHECK(rejects("{"));
    CHECK(rejects("{\"a\""));
    CHECK(rejects("{\"a\":"));
    CHECK(rejects("{\"a\":1"));
    CHECK(rejects("{\"a\":1,}"));
    CHECK(rejects("{a:1}"));
    CHECK(rejects("{'a':1}"));
    CHECK(rejects("{\"a\" 1}"));
    CHECK(rejects("{,}"));
    CHECK(rejects("["));
    CHECK(rejects("[1 2]"));
    CHECK(rejects("[,1]"));
    CHECK(rejects("tru"));
    CHECK(rejects("nul"));
    CHECK(rejects("falsey"));
    CHECK(rejects("True"));
    CHECK(rejects("\v{}"));
    CHECK(rejects("{}\f"));
    CHECK(rejects("\xef\xbb\xbf{}")); /* a byte-order mark is not JSON */
    /* A NUL inside the body is not the end of the document. */
    CHECK(parse_n("{}\0", 3, NULL) == NULL);
    CHECK(parse_n("{\"a\":\0}", 7, NULL) == NULL);
    CHECK(parse_n("\"a\0b\"", 5, NULL) == NULL);
    /* Whitespace of all four kinds. */
    CHECK(parse(" \t\r\n{ \t\r\n\"a\" \t\r\n: \t\r\n[ 1 , 2 ] \t\r\n} \t\r\n") != NULL);
}

static void test_putrecords_shape(void) {
    const char *doc =
        "{\"Records\":[{\"Data\":\"aGVsbG8=\",\"PartitionKey\":\"pk1\"},"
        "{\"Data\":\"d29ybGQ=\",\"PartitionKey\":\"pk2\",\"ExplicitHashKey\":\"123\"}],"
        "\"StreamName\":\"orders\"}";
    sl_val_t *v = parse(doc);
    CHECK(v != NULL);
    sl_val_t *recs = sl_val_get(v, "Records");
    CHECK(recs && recs->type == SL_VAL_ARRAY && recs->u.arr.count == 2);
    if (!recs || recs->u.arr.count != 2) return;
    CHECK_EQ_STR(sl_val_get_str(recs->u.arr.items[0], "Data", NULL), "aGVsbG8=");
    CHECK_EQ_STR(sl_val_get_str(recs->u.arr.items[1], "ExplicitHashKey", NULL), "123");
    CHECK_EQ_STR(sl_val_get_str(v, "StreamName", NULL), "orders");
}

/* Every kind of byte the string scan must stop at (closing quote, escape, UTF-8, a control
 * character, a truncated body), at every position of strings up to 400 bytes: the scan runs 16
 * bytes per step, then 64 with AVX-512 where the CPU has it, then 8, then 1, and each end and
 * block boundary gives the same answers. */
static void test_scan_positions(void) {
    static char doc[420];
    size_t wrong = 0;
    for (size_t n = 0; n <= 400; n++) {
        for (size_t at = 0; at <= n; at++) {
            /* "QQQ...QQ" of n bytes with one special sequence at `at` */
            for (int kind = 0; kind < 5; kind++) {
                size_t len = 0;
                doc[len++] = '"';
                for (size_t k = 0; k < n; k++)
                    doc[len++] = (char)('A' + (k * 7) % 26);
                if (kind == 0) {
                    doc[len++] = '"'; /* plain string of n bytes */
                } else {
                    const char *ins = kind == 1 ? "\\n" : kind == 2 ? "\xc3\xa9" : "\x01";
                    size_t il = strlen(ins);
                    memmove(doc + 1 + at + il, doc + 1 + at, n - at);
                    memcpy(doc + 1 + at, ins, il);
                    len += il;
                    if (kind != 4) doc[len++] = '"';
                }
                const char *r = NULL;
                sl_val_t *v = parse_n(doc, len, &r);
                bool ok = v && v->type == SL_VAL_STRING;
                switch (kind) {
                case 0:
                    wrong += !ok || v->u.str.len != n;
                    break;
                case 1: /* "\n" decodes to one byte at `at` */
                    wrong += !ok || v->u.str.len != n + 1 || v->u.str.ptr[at] != '\n';
                    break;
                case 2: /* raw UTF-8 passes unchanged */
                    wrong +=
                        !ok || v->u.str.len != n + 2 || (unsigned char)v->u.str.ptr[at] != 0xc3;
                    break;
                case 3:
                    wrong += ok || !r || strcmp(r, "control character in string") != 0;
                    break;
                case 4: /* body ends inside the string (after the control character) */
                    wrong += ok;
                    break;
                }
            }
            if (n > 80 && at + 70 < n) at += 13; /* long strings: sample the middle */
        }
    }
    CHECK_EQ_INT(wrong, 0);
}

int main(void) {
    sl_arena_init(&arena, 4096);
    test_scan_positions();
    test_structure();
    test_strings();
    test_numbers();
    test_depth();
    test_garbage();
    test_value_bound();
    test_putrecords_shape();
    sl_arena_deinit(&arena);
    free(body);
    TEST_MAIN_END();
}
