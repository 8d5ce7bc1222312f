/* Unit tests of base64: RFC 4648 vectors, round trips of every length and byte value, and every
 * AWS rejection reason with kinesalite's test inputs and the exact reason texts. */
#include "test.h"

#include "core/buf.h"
#include "wire/base64.h"

#include <stdlib.h>
#include <string.h>

static void check_vector(const char *plain, const char *enc) {
    size_t n = strlen(plain);
    char out[64];
    CHECK_EQ_INT(sl_base64_encoded_len(n), strlen(enc));
    sl_base64_encode(plain, n, out);
    out[sl_base64_encoded_len(n)] = '\0';
    CHECK_EQ_STR(out, enc);
    uint8_t dec[64];
    size_t dec_len = 99;
    CHECK_EQ_INT(sl_base64_decode(enc, strlen(enc), dec, &dec_len, NULL), SL_B64_OK);
    CHECK_EQ_INT(dec_len, n);
    CHECK(memcmp(dec, plain, n) == 0);
}

/* Decodes text and returns the status; *reason gets AWS's text. */
static sl_b64_status_t decode(const char *text, char **reason, char *bad) {
    size_t n = strlen(text);
    uint8_t *out = malloc(n / 4 * 3 + 1);
    size_t out_len = 0;
    char bad_char = 0;
    sl_b64_status_t st = sl_base64_decode(text, n, out, &out_len, &bad_char);
    sl_buf_t b = SL_BUF_INIT;
    sl_base64_reason(&b, st, text, n);
    sl_buf_append_byte(&b, 0);
    *reason = b.data;
    if (bad) *bad = bad_char;
    free(out);
    return st;
}

static void check_error(const char *text, sl_b64_status_t want, const char *want_reason) {
    char *reason;
    sl_b64_status_t st = decode(text, &reason, NULL);
    CHECK_EQ_INT(st, want);
    CHECK_EQ_STR(reason, want_reason);
    free(reason);
}

int main(void) {
    check_vector("", "");
    check_vector("f", "Zg==");
    check_vector("fo", "Zm8=");
    check_vector("foo", "Zm9v");
    check_vector("foob", "Zm9vYg==");
    check_vector("fooba", "Zm9vYmE=");
    check_vector("foobar", "Zm9vYmFy");
    check_vector("\xff\xfe\xfd", "//79");
    check_vector("\xfb\xff", "+/8=");

    /* Round trip of every length up to 300 with all byte values. */
    uint8_t data[300], dec[300];
    char enc[404];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 37 + 11);
    for (size_t n = 0; n <= sizeof data; n++) {
        sl_base64_encode(data, n, enc);
        size_t el = sl_base64_encoded_len(n), dl = 0;
        CHECK_EQ_INT(sl_base64_decode(enc, el, dec, &dl, NULL), SL_B64_OK);
        CHECK_EQ_INT(dl, n);
        CHECK(memcmp(dec, data, n) == 0);
    }

    /* Length first (kinesalite's and AWS's order). */
    check_error("23456", SL_B64_BAD_LENGTH,
                "Base64 encoded length is expected a multiple of 4 bytes but found: 5");
    check_error("a", SL_B64_BAD_LENGTH,
                "Base64 encoded length is expected a multiple of 4 bytes but found: 1");
    check_error("AB=", SL_B64_BAD_LENGTH,
                "Base64 encoded length is expected a multiple of 4 bytes but found: 3");
    check_error("!!!!!", SL_B64_BAD_LENGTH,
                "Base64 encoded length is expected a multiple of 4 bytes but found: 5");
    /* Lengths count UTF-16 units: "é" is 2 bytes but 1 character; an emoji is 2 units. */
    check_error("\xc3\xa9"
                "AAA",
                SL_B64_BAD_CHAR, "Invalid Base64 character: '\xc3\xa9'");
    check_error("\xc3\xa9"
                "AA",
                SL_B64_BAD_LENGTH,
                "Base64 encoded length is expected a multiple of 4 bytes but found: 3");
    check_error("\xf0\x9f\x98\x80"
                "AA",
                SL_B64_BAD_CHAR, "Invalid Base64 character: '\xf0\x9f\x98\x80'");

    /* Then the first invalid character, including '=' followed by a non-'='. */
    char bad = 0, *reason;
    CHECK_EQ_INT(decode("=+/=", &reason, &bad), SL_B64_BAD_CHAR);
    CHECK_EQ_STR(reason, "Invalid Base64 character: '='");
    CHECK(bad == '=');
    free(reason);
    CHECK_EQ_INT(decode("AAA!", &reason, &bad), SL_B64_BAD_CHAR);
    CHECK(bad == '!');
    CHECK_EQ_STR(reason, "Invalid Base64 character: '!'");
    free(reason);
    check_error("AA=A", SL_B64_BAD_CHAR, "Invalid Base64 character: '='");
    check_error("AA==AAAA", SL_B64_BAD_CHAR, "Invalid Base64 character: '='");
    check_error("Zm9v-_==", SL_B64_BAD_CHAR, "Invalid Base64 character: '-'"); /* URL alphabet */
    /* Whitespace is an invalid character (AWS and kinesalite do not skip it). */
    check_error("Zm9v Zm9v", SL_B64_BAD_LENGTH,
                "Base64 encoded length is expected a multiple of 4 bytes but found: 9");
    check_error("Zm9v\nZm9", SL_B64_BAD_CHAR, "Invalid Base64 character: '\n'");
    check_error("Zm 9", SL_B64_BAD_CHAR, "Invalid Base64 character: ' '");
    check_error("Zm9vYmFy\r\n  ", SL_B64_BAD_CHAR, "Invalid Base64 character: '\r'");

    /* Then padding and the unused low bits of the last character. */
    check_error("+/+=", SL_B64_BAD_LAST, "Invalid last non-pad Base64 character dectected");
    check_error("AB==", SL_B64_BAD_LAST, "Invalid last non-pad Base64 character dectected");
    check_error("Zm9=", SL_B64_BAD_LAST, "Invalid last non-pad Base64 character dectected");
    check_error("A===", SL_B64_BAD_LAST, "Invalid last non-pad Base64 character dectected");
    check_error("====", SL_B64_BAD_LAST, "Invalid last non-pad Base64 character dectected");
    check_error("AAAA====", SL_B64_BAD_LAST, "Invalid last non-pad Base64 character dectected");
    check_error("Zm9vZh==", SL_B64_BAD_LAST, "Invalid last non-pad Base64 character dectected");
    /* Zero low bits are fine and decode to the expected bytes. */
    uint8_t out[8];
    size_t out_len = 0;
    CHECK_EQ_INT(sl_base64_decode("AA==", 4, out, &out_len, NULL), SL_B64_OK);
    CHECK(out_len == 1 && out[0] == 0);
    CHECK_EQ_INT(sl_base64_decode("Zm8=", 4, out, &out_len, NULL), SL_B64_OK);
    CHECK(out_len == 2 && memcmp(out, "fo", 2) == 0);

    /* OK appends no reason. */
    sl_buf_t b = SL_BUF_INIT;
    sl_base64_reason(&b, SL_B64_OK, "", 0);
    CHECK_EQ_INT(b.len, 0);
    sl_buf_free(&b);
    TEST_MAIN_END();
}
